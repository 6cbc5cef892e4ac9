//! The harness's own parts at tier 3 (no cluster needed): the metrics adapter over loopback, fake
//! node registration and heartbeat against a scripted API server, and the skip message.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use http::Method;
use serde_json::json;
use swell_e2e::{adapter::MetricsAdapter, nodes};
use swell_runtime::testing::{Reply, ScriptedApi, with_resource_version};
use tokio_util::sync::CancellationToken;

fn pod(name: &str, app: &str, phase: &str) -> serde_json::Value {
    json!({"metadata": {"name": name, "namespace": "e2e", "labels": {"app": app}},
           "spec": {"containers": [{"name": "a"}, {"name": "b"}]}, "status": {"phase": phase}})
}

#[tokio::test]
async fn the_adapter_serves_pod_metrics_for_running_pods_matching_the_selector() {
    let api = ScriptedApi::new();
    api.expect(Method::GET, "/api/v1/namespaces/e2e/pods")
        .any_number_of_times()
        .reply_json(
            200,
            json!({"kind": "PodList", "apiVersion": "v1", "metadata": {},
                   "items": [pod("web-1", "web", "Running"), pod("web-2", "web", "Pending"), pod("db-1", "db", "Running")]}),
        );
    let stop = CancellationToken::new();
    let adapter = MetricsAdapter::start(api.client(), stop.clone()).await.unwrap();
    adapter.set_cpu_milli(250);
    // Read it the way the controller does: a direct URL with the metrics client.
    let routing = swell_pod_autoscaler::metrics::MetricsRouting {
        resource: swell_pod_autoscaler::metrics::Endpoint::direct(
            &swell_pod_autoscaler::metrics::EndpointOptions {
                url: adapter.url(),
                ..Default::default()
            },
        )
        .await
        .unwrap(),
        ..swell_pod_autoscaler::metrics::MetricsRouting::aggregated(api.client())
    };
    let client = swell_pod_autoscaler::metrics::ApiMetricsClient::new(
        routing,
        api.client(),
        std::time::Duration::from_secs(15),
    );
    use swell_pod_autoscaler::metrics::MetricsSource;
    let samples = client
        .resource_metric(
            "e2e",
            &swell_core::selector::Selector::parse("app=web").unwrap(),
            "cpu",
            None,
        )
        .await
        .unwrap();
    assert_eq!(samples.len(), 1, "only the running web pod");
    assert_eq!(
        (samples[0].pod.as_str(), samples[0].value),
        ("web-1", 500),
        "two containers at 250m"
    );
    stop.cancel();
}

#[tokio::test]
async fn a_fake_node_is_created_reported_ready_and_its_lease_created_then_renewed() {
    let api = ScriptedApi::new();
    api.expect(Method::POST, "/api/v1/nodes")
        .reply_with(|req| Reply::json(201, with_resource_version(req.json(), "1")));
    api.expect(Method::PATCH, "/api/v1/nodes/n-0/status")
        .times(2)
        .reply_with(|req| {
            Reply::json(
                200,
                with_resource_version(
                    json!({"metadata": {"name": "n-0"}, "status": req.json()["status"]}),
                    "2",
                ),
            )
        });
    api.expect(
        Method::PATCH,
        "/apis/coordination.k8s.io/v1/namespaces/kube-node-lease/leases/n-0",
    )
    .reply(Reply::not_found("leases", "n-0"));
    api.expect(
        Method::POST,
        "/apis/coordination.k8s.io/v1/namespaces/kube-node-lease/leases",
    )
    .reply_with(|req| Reply::json(201, with_resource_version(req.json(), "1")));
    api.expect(
        Method::PATCH,
        "/apis/coordination.k8s.io/v1/namespaces/kube-node-lease/leases/n-0",
    )
    .reply_with(|req| {
        Reply::json(
            200,
            with_resource_version(
                json!({"metadata": {"name": "n-0"}, "spec": req.json()["spec"]}),
                "2",
            ),
        )
    });

    nodes::register(&api.client(), "n-0").await.unwrap();
    nodes::heartbeat(&api.client(), "n-0").await.unwrap();
    api.verify();

    let created = api.requests_to(&Method::POST, "/api/v1/nodes")[0].json();
    assert_eq!(created["metadata"]["annotations"][nodes::KWOK_ANNOTATION], "fake");
    assert_eq!(created["spec"]["taints"][0]["key"], nodes::KWOK_TAINT);
    let status = api.requests_to(&Method::PATCH, "/api/v1/nodes/n-0/status")[0].json();
    let ready = status["status"]["conditions"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["type"] == "Ready")
        .unwrap()
        .clone();
    assert_eq!(ready["status"], "True");
    let lease = api.requests_to(
        &Method::POST,
        "/apis/coordination.k8s.io/v1/namespaces/kube-node-lease/leases",
    )[0]
    .json();
    assert_eq!(lease["spec"]["holderIdentity"], "n-0");
    // A pod template with the placement lands on these nodes only.
    let placement = nodes::pod_placement();
    assert_eq!(
        placement["nodeSelector"]["type"],
        created["metadata"]["labels"]["type"]
    );
}

#[test]
fn without_kubeconfig_the_tests_say_they_are_skipped() {
    if std::env::var("KUBECONFIG").is_err() {
        assert!(
            swell_e2e::skip_reason()
                .unwrap()
                .contains("KUBECONFIG is not set")
        );
    } else {
        assert!(swell_e2e::skip_reason().is_none());
    }
}

#[tokio::test(start_paused = true)]
async fn the_kubelet_starts_pods_on_fake_nodes_only_and_removes_deleted_ones_after_their_grace() {
    let api = ScriptedApi::new();
    let bound = |name: &str, node: &str| {
        json!({"apiVersion": "v1", "kind": "Pod",
               "metadata": {"name": name, "namespace": "e2e", "resourceVersion": "1"},
               "spec": {"nodeName": node, "containers": [{"name": "c", "image": "pause"}]},
               "status": {"phase": "Pending"}})
    };
    let mut deleting = bound("old", "fake-0");
    deleting["metadata"]["deletionTimestamp"] = json!("2026-01-01T00:00:00Z");
    deleting["metadata"]["deletionGracePeriodSeconds"] = json!(30);
    api.expect(Method::GET, "/api/v1/namespaces/e2e/pods")
        .query("list", |q| !q.is_some_and(|q| q.contains("watch=true")))
        .reply_json(
            200,
            json!({"kind": "PodList", "apiVersion": "v1", "metadata": {"resourceVersion": "1"},
                   "items": [bound("mine", "fake-0"), bound("theirs", "real-node"), deleting]}),
        );
    api.expect(Method::GET, "/api/v1/namespaces/e2e/pods")
        .query("watch", |q| q.is_some_and(|q| q.contains("watch=true")))
        .any_number_of_times()
        .delay(std::time::Duration::from_secs(86_400))
        .reply(Reply::watch([]));
    api.expect(Method::PATCH, "/api/v1/namespaces/e2e/pods/mine/status")
        .reply_with(|req| {
            Reply::json(
                200,
                with_resource_version(
                    json!({"metadata": {"name": "mine"}, "status": req.json()["status"]}),
                    "2",
                ),
            )
        });
    api.expect(Method::DELETE, "/api/v1/namespaces/e2e/pods/old")
        .reply_json(200, json!({"kind": "Status", "status": "Success"}));

    let stop = CancellationToken::new();
    let task = tokio::spawn(swell_e2e::kubelet::run(
        api.client(),
        "e2e".into(),
        vec!["fake-0".into()],
        swell_e2e::kubelet::Timing::default(),
        stop.clone(),
    ));
    let start = tokio::time::Instant::now();
    // Started after the 2s start delay; removed only once the 30s grace period has passed.
    tokio::time::sleep(std::time::Duration::from_secs(3)).await;
    assert_eq!(
        api.requests_to(&Method::PATCH, "/api/v1/namespaces/e2e/pods/mine/status")
            .len(),
        1
    );
    assert!(
        api.requests_to(&Method::DELETE, "/api/v1/namespaces/e2e/pods/old")
            .is_empty()
    );
    tokio::time::sleep(std::time::Duration::from_secs(28)).await;
    let deletes = api.requests_to(&Method::DELETE, "/api/v1/namespaces/e2e/pods/old");
    assert_eq!(deletes.len(), 1, "after {:?}", start.elapsed());
    assert_eq!(deletes[0].json()["gracePeriodSeconds"], 0);
    let patch = api.requests_to(&Method::PATCH, "/api/v1/namespaces/e2e/pods/mine/status")[0].json();
    assert_eq!(patch["status"]["phase"], "Running");
    stop.cancel();
    task.await.unwrap();
    api.verify();
}
