//! Tier 3: the metrics API clients against a scripted API server: paths, query parameters and JSON
//! of every metric type, the custom metrics version from discovery, routing, error statuses,
//! malformed answers, and the per-cycle namespace cache.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::time::Duration;

use http::Method;
use jiff::SignedDuration;
use k8s_openapi::api::autoscaling::v2::CrossVersionObjectReference;
use serde_json::json;
use swell_core::selector::Selector;
use swell_pod_autoscaler::metrics::{
    ApiMetricsClient, CycleCache, Endpoint, Error, MetricsRouting, MetricsSource, new_fetch_observer,
};
use swell_runtime::testing::{Reply, ScriptedApi};

type Server = ScriptedApi;

/// Answers `GET path?query` (the raw query must be exactly as given; none when absent) any number of times.
fn expect_get(server: &Server, path_and_query: &str, reply: Reply) {
    let (path, query) = match path_and_query.split_once('?') {
        Some((p, q)) => (p.to_string(), Some(q.to_string())),
        None => (path_and_query.to_string(), None),
    };
    let description = format!("exactly {query:?}");
    server
        .expect(Method::GET, &path)
        .query(&description, move |q| q.map(str::to_string) == query)
        .any_number_of_times()
        .reply(reply);
}

fn get(server: &Server, path_and_query: &str, status: u16, body: serde_json::Value) {
    expect_get(server, path_and_query, Reply::json(status, body));
}

fn status(server: &Server, path_and_query: &str, code: u16, reason: &str, message: &str) {
    expect_get(server, path_and_query, Reply::status(code, reason, message));
}

fn raw(server: &Server, path_and_query: &str, code: u16, body: &str) {
    expect_get(
        server,
        path_and_query,
        Reply::raw(code, "application/json", body.as_bytes().to_vec()),
    );
}

/// How many GETs went to `path` (any query).
fn count(server: &Server, path: &str) -> usize {
    server.requests_to(&Method::GET, path).len()
}

const PODS: &str = "/apis/metrics.k8s.io/v1beta1/namespaces/shop/pods";

fn client(server: &Server) -> ApiMetricsClient {
    ApiMetricsClient::new(
        MetricsRouting::aggregated(server.client()),
        server.client(),
        Duration::from_secs(15),
    )
}

fn pod_metrics(name: &str, labels: serde_json::Value, containers: serde_json::Value) -> serde_json::Value {
    json!({"metadata": {"name": name, "namespace": "shop", "labels": labels},
           "timestamp": "2026-01-01T00:00:00Z", "window": "30s", "containers": containers})
}

fn sel(s: &str) -> Selector {
    Selector::parse(s).unwrap()
}

fn discovery(server: &Server, preferred: &str) {
    get(
        server,
        "/apis/custom.metrics.k8s.io",
        200,
        json!({"kind": "APIGroup", "apiVersion": "v1", "name": "custom.metrics.k8s.io",
               "versions": [{"groupVersion": "custom.metrics.k8s.io/v1beta2", "version": "v1beta2"},
                            {"groupVersion": "custom.metrics.k8s.io/v1beta1", "version": "v1beta1"}],
               "preferredVersion": {"groupVersion": format!("custom.metrics.k8s.io/{preferred}"), "version": preferred}}),
    );
}

#[tokio::test]
async fn resource_metrics_list_pod_metrics_with_the_label_selector_and_sum_containers() {
    let server = Server::new();
    get(
        &server,
        &format!("{PODS}?labelSelector=app%3Dweb"),
        200,
        json!({"kind": "PodMetricsList", "apiVersion": "metrics.k8s.io/v1beta1", "items": [
            pod_metrics("web-a", json!({"app": "web"}), json!([{"name": "app", "usage": {"cpu": "250m", "memory": "10Mi"}},
                                                                {"name": "proxy", "usage": {"cpu": "50m", "memory": "5Mi"}}])),
            pod_metrics("web-b", json!({"app": "web"}), json!([{"name": "app", "usage": {"cpu": "1", "memory": "10Mi"}},
                                                                {"name": "proxy", "usage": {"memory": "5Mi"}}])),
        ]}),
    );
    let c = client(&server);
    let samples = c
        .resource_metric("shop", &sel("app=web"), "cpu", None)
        .await
        .unwrap();
    assert_eq!(samples.len(), 1, "web-b lacks the proxy's cpu and is dropped");
    assert_eq!((samples[0].pod.as_str(), samples[0].value), ("web-a", 300));
    assert_eq!(samples[0].window, SignedDuration::from_secs(30));
    assert_eq!(samples[0].timestamp.to_string(), "2026-01-01T00:00:00Z");

    let proxy = c
        .resource_metric("shop", &sel("app=web"), "memory", Some("proxy"))
        .await
        .unwrap();
    assert_eq!(
        proxy
            .iter()
            .map(|s| (s.pod.as_str(), s.value))
            .collect::<Vec<_>>(),
        [
            ("web-a", 5 * 1024 * 1024 * 1000),
            ("web-b", 5 * 1024 * 1024 * 1000)
        ]
    );
    assert!(server.unexpected().is_empty(), "{:?}", server.unexpected());
}

#[tokio::test]
async fn pods_metrics_use_the_discovered_version_and_both_selectors() {
    for version in ["v1beta2", "v1beta1"] {
        let server = Server::new();
        discovery(&server, version);
        let identity = if version == "v1beta2" {
            json!({"metric": {"name": "rps"}})
        } else {
            json!({"metricName": "rps"})
        };
        let item = |pod: &str, value: &str, window: Option<i64>| {
            let mut v = json!({"describedObject": {"kind": "Pod", "namespace": "shop", "name": pod, "apiVersion": "/v1"},
                               "timestamp": "2026-01-01T00:00:10Z", "value": value});
            v.as_object_mut()
                .unwrap()
                .extend(identity.as_object().unwrap().clone());
            if let Some(w) = window {
                v["windowSeconds"] = json!(w);
            }
            v
        };
        get(
            &server,
            &format!(
                "/apis/custom.metrics.k8s.io/{version}/namespaces/shop/pods/*/rps?labelSelector=app%3Dweb&metricLabelSelector=verb%3DGET"
            ),
            200,
            json!({"kind": "MetricValueList", "items": [item("web-b", "2500m", Some(30)), item("web-a", "7", None)]}),
        );
        let got = client(&server)
            .pods_metric("shop", &sel("app=web"), "rps", &sel("verb=GET"))
            .await
            .unwrap_or_else(|e| panic!("{version}: {e}; {:?}", server.unexpected()));
        let got: Vec<_> = got.iter().map(|s| (s.pod.as_str(), s.value, s.window)).collect();
        assert_eq!(
            got,
            [
                ("web-b", 2500, SignedDuration::from_secs(30)),
                ("web-a", 7000, SignedDuration::from_secs(60))
            ],
            "{version}"
        );
    }
}

#[tokio::test]
async fn object_metrics_map_the_kind_through_discovery_and_namespaces_use_the_metrics_path() {
    let server = Server::new();
    discovery(&server, "v1beta2");
    get(
        &server,
        "/apis/networking.k8s.io/v1",
        200,
        json!({"kind": "APIResourceList", "groupVersion": "networking.k8s.io/v1", "resources": [
            {"name": "ingresses", "singularName": "ingress", "namespaced": true, "kind": "Ingress", "verbs": ["get", "list"]},
            {"name": "ingresses/status", "singularName": "", "namespaced": true, "kind": "Ingress", "verbs": ["get"]}]}),
    );
    let value = |v: &str| {
        json!({"kind": "MetricValueList", "items": [{"describedObject": {"kind": "Ingress", "name": "main"},
               "metric": {"name": "hits"}, "timestamp": "2026-01-01T00:00:00Z", "value": v}]})
    };
    get(
        &server,
        "/apis/custom.metrics.k8s.io/v1beta2/namespaces/shop/ingresses.networking.k8s.io/main/hits",
        200,
        value("42"),
    );
    get(
        &server,
        "/apis/custom.metrics.k8s.io/v1beta2/namespaces/shop/metrics/queue?metricLabelSelector=q%3Dorders",
        200,
        value("3"),
    );
    let c = client(&server);
    let ingress = CrossVersionObjectReference {
        api_version: Some("networking.k8s.io/v1".into()),
        kind: "Ingress".into(),
        name: "main".into(),
    };
    let s = c
        .object_metric("shop", &ingress, "hits", &Selector::everything())
        .await
        .unwrap();
    assert_eq!((s.value, s.window), (42_000, SignedDuration::from_secs(60)));
    // Twice: discovery of the kind and of the version are cached.
    c.object_metric("shop", &ingress, "hits", &Selector::everything())
        .await
        .unwrap();
    assert_eq!(count(&server, "/apis/networking.k8s.io/v1"), 1);
    assert_eq!(count(&server, "/apis/custom.metrics.k8s.io"), 1);

    let ns = CrossVersionObjectReference {
        api_version: Some("v1".into()),
        kind: "Namespace".into(),
        name: "ignored".into(),
    };
    let s = c
        .object_metric("shop", &ns, "queue", &sel("q=orders"))
        .await
        .unwrap();
    assert_eq!(s.value, 3000);
    assert!(server.unexpected().is_empty(), "{:?}", server.unexpected());
}

#[tokio::test]
async fn an_object_metric_with_two_values_and_an_unknown_kind_are_errors() {
    let server = Server::new();
    discovery(&server, "v1beta2");
    get(
        &server,
        "/apis/apps/v1",
        200,
        json!({"kind": "APIResourceList", "groupVersion": "apps/v1", "resources": [
            {"name": "deployments", "singularName": "deployment", "namespaced": true, "kind": "Deployment", "verbs": ["get"]}]}),
    );
    let item = json!({"describedObject": {"kind": "Deployment", "name": "web"}, "metric": {"name": "m"},
                      "timestamp": "2026-01-01T00:00:00Z", "value": "1"});
    get(
        &server,
        "/apis/custom.metrics.k8s.io/v1beta2/namespaces/shop/deployments.apps/web/m",
        200,
        json!({"items": [item.clone(), item]}),
    );
    let c = client(&server);
    let dep = CrossVersionObjectReference {
        api_version: Some("apps/v1".into()),
        kind: "Deployment".into(),
        name: "web".into(),
    };
    let err = c
        .object_metric("shop", &dep, "m", &Selector::everything())
        .await
        .unwrap_err();
    assert_eq!(
        err.to_string(),
        "unable to fetch metrics from custom metrics API: the custom metrics API server returned 2 results when we asked for exactly one"
    );

    let widget = CrossVersionObjectReference {
        api_version: Some("apps/v1".into()),
        kind: "Widget".into(),
        name: "w".into(),
    };
    let err = c
        .object_metric("shop", &widget, "m", &Selector::everything())
        .await
        .unwrap_err();
    assert!(matches!(err, Error::UnknownKind { .. }), "{err}");
    assert!(!err.is_retryable());
}

#[tokio::test]
async fn external_metrics_go_to_the_provider_whose_prefix_matches() {
    let default = Server::new();
    let queues = Server::new();
    let body = |v: &str| {
        json!({"kind": "ExternalMetricValueList", "items": [
            {"metricName": "x", "metricLabels": {"q": "a"}, "timestamp": "2026-01-01T00:00:00Z", "value": v},
            {"metricName": "x", "metricLabels": {"q": "b"}, "timestamp": "2026-01-01T00:00:00Z", "window": 120, "value": "1"}]})
    };
    get(
        &queues,
        "/apis/external.metrics.k8s.io/v1beta1/namespaces/shop/sqs-depth?labelSelector=queue%3Dorders",
        200,
        body("5"),
    );
    get(
        &default,
        "/apis/external.metrics.k8s.io/v1beta1/namespaces/shop/rps",
        200,
        body("100m"),
    );
    let mut routing = MetricsRouting::aggregated(default.client());
    routing.external_by_prefix = vec![
        ("s".into(), Endpoint::with_client(default.client(), "wrong")),
        ("sqs-".into(), Endpoint::with_client(queues.client(), "queues")),
    ];
    let observer = new_fetch_observer();
    let c = ApiMetricsClient::new(routing, default.client(), Duration::from_secs(15))
        .with_observer(observer.clone());
    let got = c
        .external_metric("shop", "sqs-depth", &sel("queue=orders"))
        .await
        .unwrap();
    assert_eq!(got.iter().map(|s| s.value).collect::<Vec<_>>(), [5000, 1000]);
    assert_eq!(got[1].window, SignedDuration::from_secs(120));
    let got = c
        .external_metric("shop", "rps", &Selector::everything())
        .await
        .unwrap();
    assert_eq!(got[0].value, 100);
    assert_eq!(queues.requests().len(), 1);
    assert_eq!(default.requests().len(), 1);
    assert!(default.unexpected().is_empty() && queues.unexpected().is_empty());
}

#[tokio::test]
async fn a_missing_metric_an_unavailable_api_and_malformed_json_are_errors_not_panics() {
    let server = Server::new();
    status(
        &server,
        PODS,
        503,
        "ServiceUnavailable",
        "the server is currently unable to handle the request",
    );
    status(
        &server,
        "/apis/external.metrics.k8s.io/v1beta1/namespaces/shop/nope",
        404,
        "NotFound",
        "the server could not find the metric nope",
    );
    raw(
        &server,
        "/apis/external.metrics.k8s.io/v1beta1/namespaces/shop/garbled",
        200,
        "{\"items\": [1,",
    );
    get(
        &server,
        "/apis/external.metrics.k8s.io/v1beta1/namespaces/shop/empty",
        200,
        json!({"items": []}),
    );
    get(
        &server,
        "/apis/external.metrics.k8s.io/v1beta1/namespaces/shop/badqty",
        200,
        json!({"items": [{"metricName": "b", "timestamp": "2026-01-01T00:00:00Z", "value": "twelve"}]}),
    );
    let c = client(&server);
    let e = c
        .resource_metric("shop", &Selector::everything(), "cpu", None)
        .await
        .unwrap_err();
    assert_eq!(e.status_code(), Some(503));
    assert!(
        e.to_string()
            .starts_with("unable to fetch metrics from resource metrics API: "),
        "{e}"
    );

    let e = c
        .external_metric("shop", "nope", &Selector::everything())
        .await
        .unwrap_err();
    assert_eq!(e.status_code(), Some(404));
    assert!(
        e.to_string()
            .contains("the server could not find the metric nope"),
        "{e}"
    );

    let e = c
        .external_metric("shop", "garbled", &Selector::everything())
        .await
        .unwrap_err();
    assert!(matches!(e, Error::Decode { .. }), "{e}");

    let e = c
        .external_metric("shop", "empty", &Selector::everything())
        .await
        .unwrap_err();
    assert_eq!(e.to_string(), "no metrics returned from external metrics API");

    let e = c
        .external_metric("shop", "badqty", &Selector::everything())
        .await
        .unwrap_err();
    assert!(matches!(e, Error::InvalidValue { what: "quantity", .. }), "{e}");
}

#[tokio::test]
async fn one_cycle_lists_each_namespace_once_and_filters_by_selector_here() {
    let server = Server::new();
    get(
        &server,
        PODS,
        200,
        json!({"items": [
            pod_metrics("web-a", json!({"app": "web"}), json!([{"name": "c", "usage": {"cpu": "100m"}}])),
            pod_metrics("api-a", json!({"app": "api"}), json!([{"name": "c", "usage": {"cpu": "200m"}}])),
        ]}),
    );
    let c = client(&server);
    let cache = CycleCache::new(&c);
    let (web_sel, api_sel, db_sel) = (sel("app=web"), sel("app=api"), sel("app=db"));
    let (web, api, none) = tokio::join!(
        cache.resource_metric("shop", &web_sel, "cpu", None),
        cache.resource_metric("shop", &api_sel, "cpu", None),
        cache.resource_metric("shop", &db_sel, "cpu", None),
    );
    assert_eq!(web.unwrap()[0].value, 100);
    assert_eq!(api.unwrap()[0].pod, "api-a");
    assert_eq!(
        none.unwrap_err().to_string(),
        "no metrics returned from resource metrics API"
    );
    assert_eq!(count(&server, PODS), 1, "{:?}", server.requests());

    // A new cycle asks again.
    let cache = CycleCache::new(&c);
    cache
        .resource_metric("shop", &sel("app=web"), "cpu", None)
        .await
        .unwrap();
    assert_eq!(count(&server, PODS), 2);
}

#[tokio::test]
async fn a_failed_namespace_list_fails_every_hpa_of_the_namespace_with_one_request() {
    let server = Server::new();
    status(&server, PODS, 503, "ServiceUnavailable", "unavailable");
    let c = client(&server);
    let cache = CycleCache::new(&c);
    for app in ["app=web", "app=api"] {
        let e = cache
            .resource_metric("shop", &sel(app), "cpu", None)
            .await
            .unwrap_err();
        assert_eq!(e.status_code(), Some(503));
    }
    assert_eq!(count(&server, PODS), 1);
}

/// Runs `openssl` (the CLI) with `args` in `dir`.
fn openssl(dir: &std::path::Path, args: &[&str]) {
    let out = std::process::Command::new("openssl")
        .args(args)
        .current_dir(dir)
        .output()
        .expect("the openssl CLI is needed to make test certificates");
    assert!(
        out.status.success(),
        "openssl {args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
}

/// A CA and a server certificate for 127.0.0.1 signed by it, in `dir`; returns nothing, writes
/// `{prefix}ca.pem`, `server.pem`, `server.key` (the server files only when `server` is set).
fn make_ca(dir: &std::path::Path, prefix: &str, server: bool) {
    let ca_key = format!("{prefix}ca.key");
    let ca_pem = format!("{prefix}ca.pem");
    openssl(
        dir,
        &[
            "req",
            "-x509",
            "-newkey",
            "rsa:2048",
            "-nodes",
            "-keyout",
            &ca_key,
            "-out",
            &ca_pem,
            "-days",
            "1",
            "-subj",
            &format!("/CN={prefix}swell-test-ca"),
        ],
    );
    if server {
        std::fs::write(
            dir.join("san.ext"),
            "subjectAltName=IP:127.0.0.1\nbasicConstraints=CA:FALSE\nextendedKeyUsage=serverAuth\n",
        )
        .unwrap();
        openssl(
            dir,
            &[
                "req",
                "-newkey",
                "rsa:2048",
                "-nodes",
                "-keyout",
                "server.key",
                "-out",
                "server.csr",
                "-subj",
                "/CN=127.0.0.1",
            ],
        );
        openssl(
            dir,
            &[
                "x509",
                "-req",
                "-in",
                "server.csr",
                "-CA",
                &ca_pem,
                "-CAkey",
                &ca_key,
                "-CAcreateserial",
                "-out",
                "server.pem",
                "-days",
                "1",
                "-extfile",
                "san.ext",
            ],
        );
    }
}

#[tokio::test]
async fn a_direct_https_url_is_verified_with_the_given_ca_file() {
    let dir = std::env::temp_dir().join(format!("swell-direct-tls-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    make_ca(&dir, "", true);
    make_ca(&dir, "other-", false);
    std::fs::write(dir.join("token"), "secret-token").unwrap();
    std::fs::write(dir.join("token-with-newline"), "secret-token\n").unwrap();
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    // `s_server -www` answers any GET with an HTML status page: a completed handshake shows up as a
    // response that is not JSON, a refused certificate as a transport error.
    let mut server = std::process::Command::new("openssl")
        .args([
            "s_server",
            "-accept",
            &format!("127.0.0.1:{port}"),
            "-cert",
            "server.pem",
            "-key",
            "server.key",
            "-www",
            "-quiet",
        ])
        .current_dir(&dir)
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .spawn()
        .unwrap();
    let deadline = std::time::Instant::now() + Duration::from_secs(10);
    while std::net::TcpStream::connect(("127.0.0.1", port)).is_err() {
        assert!(std::time::Instant::now() < deadline, "s_server did not start");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let url = format!("https://127.0.0.1:{port}");
    let fetch = |ca: &str| {
        let (url, dir, ca) = (url.clone(), dir.clone(), ca.to_string());
        async move {
            let endpoint = Endpoint::direct(&swell_pod_autoscaler::metrics::EndpointOptions {
                url,
                ca_file: Some(dir.join(ca)),
                token_file: Some(dir.join("token")),
            })
            .await
            .unwrap();
            let server = ScriptedApi::new();
            let routing = MetricsRouting {
                resource: endpoint,
                ..MetricsRouting::aggregated(server.client())
            };
            ApiMetricsClient::new(routing, server.client(), Duration::from_secs(15))
                .pod_metrics("shop", &Selector::everything())
                .await
        }
    };
    let trusted = fetch("ca.pem").await;
    let untrusted = fetch("other-ca.pem").await;
    let missing = Endpoint::direct(&swell_pod_autoscaler::metrics::EndpointOptions {
        url: url.clone(),
        ca_file: Some(dir.join("absent.pem")),
        token_file: None,
    })
    .await;
    let newline = Endpoint::direct(&swell_pod_autoscaler::metrics::EndpointOptions {
        url: url.clone(),
        ca_file: Some(dir.join("ca.pem")),
        token_file: Some(dir.join("token-with-newline")),
    })
    .await;
    server.kill().ok();
    server.wait().ok();
    std::fs::remove_dir_all(&dir).ok();

    assert!(
        matches!(trusted, Err(Error::Decode { .. })),
        "handshake with the right CA: {trusted:?}"
    );
    assert!(
        matches!(untrusted, Err(Error::Fetch { .. })),
        "a server the CA did not sign: {untrusted:?}"
    );
    assert!(
        matches!(missing, Err(Error::Endpoint { .. })),
        "a CA file that is not there"
    );
    let Err(e) = newline else {
        panic!("a token file ending in a newline was accepted")
    };
    assert!(e.to_string().contains("trailing newline"), "{e}");
}
