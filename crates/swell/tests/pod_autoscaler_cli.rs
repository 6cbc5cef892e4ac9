//! `swell pod-autoscaler` and `swell explain hpa` as a user runs them: flag validation before any
//! cluster is needed, and `explain` against a real `/decisions` endpoint served on loopback.

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use common::swell;
use std::process::Command;

use swell_pod_autoscaler::controller::{DecisionRecord, DecisionStore};

#[test]
fn bad_controller_flags_are_refused_before_connecting() {
    let (ok, _, stderr) = swell(&["pod-autoscaler", "--horizontal-pod-autoscaler-sync-period", "0s"]);
    assert!(!ok);
    assert!(
        stderr.contains("--horizontal-pod-autoscaler-sync-period must be positive"),
        "{stderr}"
    );

    let (ok, _, stderr) = swell(&["pod-autoscaler", "--external-metrics-provider", "no-url"]);
    assert!(!ok);
    assert!(stderr.contains("expected PREFIX=URL"), "{stderr}");

    let (ok, _, stderr) = swell(&["pod-autoscaler", "--mode", "dry"]);
    assert!(!ok);
    assert!(stderr.contains("active") && stderr.contains("shadow"), "{stderr}");

    let (ok, _, stderr) = swell(&["pod-autoscaler", "--hpa-selector", "a in"]);
    assert!(!ok, "{stderr}");
}

#[test]
fn explain_hpa_refuses_a_name_without_namespace() {
    let (ok, _, stderr) = swell(&["explain", "hpa", "web"]);
    assert!(!ok);
    assert!(stderr.contains("expected NAMESPACE/NAME"), "{stderr}");
}

fn record() -> DecisionRecord {
    DecisionRecord {
        namespace: "shop".into(),
        name: "web".into(),
        mode: "shadow".into(),
        time: "2026-01-01T00:00:00Z".parse().unwrap(),
        current_replicas: 2,
        desired_replicas: 4,
        rescale: true,
        rescale_reason: "cpu resource utilization (percentage of request) above target".into(),
        scale_written: false,
        status_written: false,
        builtin_desired_replicas: Some(3),
        error: None,
        events: vec![],
        explanation: None,
        text: "shop/web: 2 -> 4 replicas\n".into(),
        decision: None,
    }
}

#[test]
fn explain_hpa_prints_a_running_controllers_decision_and_says_when_there_is_none() {
    let rt = tokio::runtime::Runtime::new().unwrap();
    let store = DecisionStore::default();
    store.insert(record());
    let listener = rt.block_on(tokio::net::TcpListener::bind("127.0.0.1:0")).unwrap();
    let addr = listener.local_addr().unwrap();
    let router = store.router();
    rt.spawn(async move { axum::serve(listener, router).await });
    let url = format!("http://{addr}");

    let (ok, stdout, stderr) = swell(&["explain", "hpa", "shop/web", "--url", &url]);
    assert!(ok, "{stderr}");
    assert!(stdout.contains("shop/web (shadow mode"), "{stdout}");
    assert!(
        stdout.contains("status.desiredReplicas as written by the controller in charge: 3; ours: 4"),
        "{stdout}"
    );
    assert!(stdout.contains("2 -> 4 replicas"), "{stdout}");

    let (ok, stdout, _) = swell(&["explain", "hpa", "shop/web", "--url", &url, "--json"]);
    assert!(ok);
    let back: DecisionRecord = serde_json::from_str(&stdout).unwrap();
    assert_eq!(back, record());

    let (ok, _, stderr) = swell(&["explain", "hpa", "shop/nope", "--url", &url]);
    assert!(!ok);
    assert!(stderr.contains("no decision for shop/nope"), "{stderr}");

    // A standby replica (behind the same Service as the leader) says where to ask.
    store.set_standby(true);
    let (ok, _, stderr) = swell(&["explain", "hpa", "shop/nope", "--url", &url]);
    assert!(!ok);
    assert!(
        stderr.contains("standing by") && stderr.contains("ask the leader"),
        "{stderr}"
    );
}

#[test]
fn the_shipped_deployment_passes_only_flags_the_binary_knows() {
    let (container, args) = common::deployment_container("pod-autoscaler/deployment.yaml", "pod-autoscaler");
    assert_eq!(
        common::manifest("pod-autoscaler/deployment.yaml")["spec"]["replicas"],
        2
    );
    assert!(args.iter().any(|a| a == "--leader-elect=true"));
    // The probes point at the routes the operations server serves.
    assert_eq!(container["livenessProbe"]["httpGet"]["path"], "/healthz");
    assert_eq!(container["readinessProbe"]["httpGet"]["path"], "/readyz");
}

const POD_NAMES: [&str; 2] = ["web-a", "web-b"];

/// A loopback API server with one HPA, its Deployment's scale, two pods and their metrics; it
/// records every request's method and path.
fn serve_cluster(rt: &tokio::runtime::Runtime) -> (String, std::sync::Arc<std::sync::Mutex<Vec<String>>>) {
    use axum::{extract::Request, routing::any};
    let seen = std::sync::Arc::new(std::sync::Mutex::new(Vec::<String>::new()));
    let log = seen.clone();
    let t0 = "2026-01-01T00:00:00Z";
    let pod = |n: &str| {
        serde_json::json!({"metadata": {"name": n, "namespace": "shop", "labels": {"app": "web"}},
               "spec": {"containers": [{"name": "app", "resources": {"requests": {"cpu": "1"}}}]},
               "status": {"phase": "Running", "startTime": t0,
                          "conditions": [{"type": "Ready", "status": "True", "lastTransitionTime": t0}]}})
    };
    let pods = serde_json::json!({"kind": "PodList", "apiVersion": "v1", "metadata": {}, "items": [pod("web-a"), pod("web-b")]});
    let router = axum::Router::new().fallback(any(move |req: Request| {
        let log = log.clone();
        let pods = pods.clone();
        async move {
            let path = req.uri().path().to_string();
            let method = req.method().clone();
            let watch = req.uri().query().is_some_and(|q| q.contains("watch=true"));
            log.lock().unwrap().push(format!("{method} {path}"));
            if watch {
                // Hold watches open; the controller under test is stopped long before.
                tokio::time::sleep(std::time::Duration::from_secs(3600)).await;
            }
            if method != axum::http::Method::GET {
                // Writes (scale, status, events) are echoed back as the API server would.
                let bytes = axum::body::to_bytes(req.into_body(), usize::MAX).await.unwrap();
                let mut v: serde_json::Value = serde_json::from_slice(&bytes).unwrap();
                v["metadata"]["resourceVersion"] = serde_json::json!("2");
                let code = if method == axum::http::Method::POST { 201 } else { 200 };
                return (axum::http::StatusCode::from_u16(code).unwrap(), axum::Json(v));
            }
            let hpa = serde_json::json!({
                "apiVersion": "autoscaling/v2", "kind": "HorizontalPodAutoscaler",
                "metadata": {"name": "web", "namespace": "shop", "uid": "u", "resourceVersion": "1", "generation": 1},
                "spec": {"scaleTargetRef": {"apiVersion": "apps/v1", "kind": "Deployment", "name": "web"},
                         "maxReplicas": 10,
                         "metrics": [{"type": "Resource", "resource": {"name": "cpu",
                                      "target": {"type": "Utilization", "averageUtilization": 50}}}]},
                "status": {"currentReplicas": 2, "desiredReplicas": 2}});
            let body = match path.as_str() {
                "/apis/autoscaling/v2/horizontalpodautoscalers" => serde_json::json!({
                    "kind": "HorizontalPodAutoscalerList", "apiVersion": "autoscaling/v2",
                    "metadata": {"resourceVersion": "1"}, "items": [hpa]}),
                "/api/v1/pods" => {
                    let mut p = pods.clone();
                    p["metadata"]["resourceVersion"] = serde_json::json!("1");
                    p
                }
                "/apis/autoscaling/v2/namespaces/shop/horizontalpodautoscalers/web" => hpa,
                "/api/v1/namespaces/shop/pods" => pods,
                "/apis/apps/v1" => serde_json::json!({"kind": "APIResourceList", "groupVersion": "apps/v1",
                    "resources": [{"name": "deployments", "singularName": "deployment", "namespaced": true,
                                   "kind": "Deployment", "verbs": ["get"]}]}),
                "/apis/apps/v1/namespaces/shop/deployments/web/scale" => serde_json::json!({
                    "apiVersion": "autoscaling/v1", "kind": "Scale", "metadata": {"name": "web", "namespace": "shop"},
                    "spec": {"replicas": 2}, "status": {"replicas": 2, "selector": "app=web"}}),
                "/apis/metrics.k8s.io/v1beta1/namespaces/shop/pods" => serde_json::json!({"items": POD_NAMES.iter().map(|n| serde_json::json!({
                    "metadata": {"name": n, "namespace": "shop", "labels": {"app": "web"}},
                    "timestamp": "2026-01-01T00:59:50Z", "window": "30s",
                    "containers": [{"name": "app", "usage": {"cpu": "900m"}}]})).collect::<Vec<_>>()}),
                _ => {
                    return (axum::http::StatusCode::NOT_FOUND, axum::Json(serde_json::json!({
                        "kind": "Status", "status": "Failure", "code": 404, "reason": "NotFound", "message": "not scripted"})))
                }
            };
            (axum::http::StatusCode::OK, axum::Json(body))
        }
    }));
    let listener = rt.block_on(tokio::net::TcpListener::bind("127.0.0.1:0")).unwrap();
    let addr = listener.local_addr().unwrap();
    rt.spawn(async move { axum::serve(listener, router).await });
    (format!("http://{addr}"), seen)
}

fn write_kubeconfig(name: &str, server: &str) -> std::path::PathBuf {
    let dir = std::env::temp_dir().join(format!("swell-{name}-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let kubeconfig = dir.join("kubeconfig");
    std::fs::write(
        &kubeconfig,
        format!(
            "apiVersion: v1\nkind: Config\nclusters:\n- name: c\n  cluster:\n    server: {server}\n\
             contexts:\n- name: c\n  context:\n    cluster: c\n    user: u\ncurrent-context: c\n\
             users:\n- name: u\n  user:\n    token: t\n"
        ),
    )
    .unwrap();
    kubeconfig
}

#[test]
fn explain_hpa_once_computes_a_decision_from_the_cluster_and_writes_nothing() {
    let rt = tokio::runtime::Runtime::new().unwrap();
    let (server, seen) = serve_cluster(&rt);
    let kubeconfig = write_kubeconfig("explain-once", &server);
    let dir = kubeconfig.parent().unwrap().to_path_buf();
    let (ok, stdout, stderr) = swell(&[
        "explain",
        "hpa",
        "shop/web",
        "--once",
        "--kubeconfig",
        kubeconfig.to_str().unwrap(),
    ]);
    std::fs::remove_dir_all(&dir).ok();
    assert!(ok, "{stderr}");
    // Two pods at 90% of their request against 50%: ceil(2 x 1.8) = 4.
    assert!(
        stdout.contains("status.desiredReplicas as written by the controller in charge: 2; ours: 4"),
        "{stdout}"
    );
    assert!(stdout.contains("SuccessfulRescale"), "{stdout}");
    let seen = seen.lock().unwrap().clone();
    assert!(seen.iter().all(|r| r.starts_with("GET ")), "{seen:?}");
    assert!(
        seen.contains(&"GET /apis/metrics.k8s.io/v1beta1/namespaces/shop/pods".to_string()),
        "{seen:?}"
    );
}

/// GET on loopback; `None` when the server is not up yet.
fn http_get(rt: &tokio::runtime::Runtime, url: &str) -> Option<(u16, String)> {
    let uri: http::Uri = url.parse().unwrap();
    rt.block_on(async {
        let client = kube::Client::try_from(kube::Config::new(
            format!("http://{}", uri.authority().unwrap()).parse().unwrap(),
        ))
        .ok()?;
        let req = http::Request::get(uri.path())
            .body(kube::client::Body::empty())
            .ok()?;
        let res = client.send(req).await.ok()?;
        let code = res.status().as_u16();
        let body = res.into_body().collect_bytes().await.ok()?;
        Some((code, String::from_utf8_lossy(&body).into_owned()))
    })
}

#[test]
fn the_controller_binary_serves_probes_decisions_and_metrics_scales_and_stops_on_sigterm() {
    let rt = tokio::runtime::Runtime::new().unwrap();
    let (server, seen) = serve_cluster(&rt);
    let kubeconfig = write_kubeconfig("controller", &server);
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let base = format!("http://127.0.0.1:{port}");
    let mut child = Command::new(env!("CARGO_BIN_EXE_swell"))
        .args([
            "pod-autoscaler",
            "--leader-elect=false",
            "--kubeconfig",
            kubeconfig.to_str().unwrap(),
            "--metrics-bind-address",
            &format!("127.0.0.1:{port}"),
            "--log-format=json",
        ])
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();

    // Poll with a deadline until the first cycle has published the decision.
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(30);
    let decision = loop {
        if let Some((200, body)) = http_get(&rt, &format!("{base}/decisions/shop/web")) {
            break body;
        }
        assert!(std::time::Instant::now() < deadline, "no decision within 30s");
        std::thread::sleep(std::time::Duration::from_millis(100));
    };
    let record: DecisionRecord = serde_json::from_str(&decision).unwrap();
    assert_eq!((record.mode.as_str(), record.desired_replicas), ("active", 4));
    assert!(record.scale_written && record.status_written, "{record:?}");
    assert!(record.text.contains("HPA shop/web"), "{}", record.text);
    assert_eq!(http_get(&rt, &format!("{base}/readyz")).unwrap().0, 200);
    assert_eq!(http_get(&rt, &format!("{base}/healthz")).unwrap().0, 200);
    let metrics = http_get(&rt, &format!("{base}/metrics")).unwrap().1;
    assert!(
        metrics.contains(r#"swell_hpa_desired_replicas{namespace="shop",name="web"} 4"#),
        "{metrics}"
    );
    let list: Vec<DecisionRecord> =
        serde_json::from_str(&http_get(&rt, &format!("{base}/decisions")).unwrap().1).unwrap();
    assert_eq!(list.len(), 1);
    let seen_now = seen.lock().unwrap().clone();
    assert!(
        seen_now.contains(&"PUT /apis/apps/v1/namespaces/shop/deployments/web/scale".to_string()),
        "{seen_now:?}"
    );
    assert!(
        seen_now.contains(&"POST /api/v1/namespaces/shop/events".to_string()),
        "{seen_now:?}"
    );

    let killed = Command::new("kill")
        .args(["-TERM", &child.id().to_string()])
        .status()
        .unwrap();
    assert!(killed.success());
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(20);
    let status = loop {
        if let Some(s) = child.try_wait().unwrap() {
            break s;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "still running 20s after SIGTERM"
        );
        std::thread::sleep(std::time::Duration::from_millis(100));
    };
    std::fs::remove_dir_all(kubeconfig.parent().unwrap()).ok();
    let mut stderr = String::new();
    std::io::Read::read_to_string(child.stderr.as_mut().unwrap(), &mut stderr).unwrap();
    assert!(status.success(), "exit {status:?}; stderr:\n{stderr}");
    assert!(
        stderr.contains("\"message\":\"shutting down\""),
        "json logs with the shutdown line: {stderr}"
    );
}
