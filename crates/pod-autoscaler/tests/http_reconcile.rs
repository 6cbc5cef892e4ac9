//! Tier 3: the per-HPA reconcile and one sync cycle against a scripted API server: scale GET and
//! PUT with a conflict, status written only when it changed, metric failures, events, shadow mode,
//! invalid specs, unknown target kinds with backoff, one resource-metrics request per namespace.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::{sync::Arc, time::Duration};

use http::Method;
use jiff::SignedDuration;
use k8s_openapi::api::{autoscaling::v2::HorizontalPodAutoscaler, core::v1::Pod};
use serde_json::{Value, json};
use swell_core::clock::{Clock, ManualClock};
use swell_pod_autoscaler::{
    History,
    controller::{
        ControllerState, DecisionStore, LoopOptions, Mode, Reconciler, Retry, Telemetry, run_cycle,
    },
    metrics::{ApiMetricsClient, MetricsRouting},
    policy::ControllerConfig,
};
use swell_runtime::{
    events::{Recorder, Reporter},
    testing::{Reply, ScriptedApi, with_resource_version},
};

const T0: &str = "2026-01-01T00:00:00Z";
const NOW: &str = "2026-01-01T01:00:00Z";
const SCALE: &str = "/apis/apps/v1/namespaces/shop/deployments/web/scale";
const STATUS: &str = "/apis/autoscaling/v2/namespaces/shop/horizontalpodautoscalers/web/status";
const PODS: &str = "/apis/metrics.k8s.io/v1beta1/namespaces/shop/pods";
const EVENTS: &str = "/api/v1/namespaces/shop/events";

struct Fixture {
    api: ScriptedApi,
    clock: Arc<ManualClock>,
    reconciler: Reconciler<Recorder>,
    metrics: ApiMetricsClient,
}

fn fixture(mode: Mode) -> Fixture {
    let api = ScriptedApi::new();
    let clock = Arc::new(ManualClock::new(NOW.parse().unwrap()));
    let recorder = Recorder::new(
        api.client(),
        Reporter {
            component: "horizontal-pod-autoscaler".into(),
            instance: None,
        },
        clock.clone() as Arc<dyn Clock>,
    );
    let reconciler = Reconciler::new(
        api.client(),
        recorder,
        ControllerConfig::default(),
        mode,
        Telemetry::default(),
        DecisionStore::default(),
        clock.clone() as Arc<dyn Clock>,
    );
    let metrics = ApiMetricsClient::new(
        MetricsRouting::aggregated(api.client()),
        api.client(),
        Duration::from_secs(15),
    );
    api.expect(Method::GET, "/apis/apps/v1")
        .any_number_of_times()
        .reply_json(
            200,
            json!({"kind": "APIResourceList", "groupVersion": "apps/v1", "resources": [
                {"name": "deployments", "singularName": "deployment", "namespaced": true, "kind": "Deployment", "verbs": ["get"]},
                {"name": "deployments/scale", "singularName": "", "namespaced": true, "group": "autoscaling", "version": "v1", "kind": "Scale", "verbs": ["get", "update"]}]}),
        );
    api.expect(Method::POST, EVENTS)
        .any_number_of_times()
        .reply_with(|req| Reply::json(201, with_resource_version(req.json(), "1")));
    Fixture {
        api,
        clock,
        reconciler,
        metrics,
    }
}

fn hpa_named(name: &str, target: &str, metrics: Value, status: Option<Value>) -> HorizontalPodAutoscaler {
    let mut v = json!({
        "apiVersion": "autoscaling/v2", "kind": "HorizontalPodAutoscaler",
        "metadata": {"name": name, "namespace": "shop", "uid": format!("uid-{name}"), "generation": 1, "resourceVersion": "10"},
        "spec": {"scaleTargetRef": {"apiVersion": "apps/v1", "kind": "Deployment", "name": target},
                 "minReplicas": 1, "maxReplicas": 10, "metrics": metrics}
    });
    if let Some(s) = status {
        v["status"] = s;
    }
    serde_json::from_value(v).unwrap()
}

fn cpu50() -> Value {
    json!([{"type": "Resource", "resource": {"name": "cpu", "target": {"type": "Utilization", "averageUtilization": 50}}}])
}

fn hpa(status: Option<Value>) -> HorizontalPodAutoscaler {
    hpa_named("web", "web", cpu50(), status)
}

fn scale(replicas: i32, rv: &str) -> Value {
    json!({"apiVersion": "autoscaling/v1", "kind": "Scale",
           "metadata": {"name": "web", "namespace": "shop", "resourceVersion": rv},
           "spec": {"replicas": replicas}, "status": {"replicas": replicas, "selector": "app=web"}})
}

fn pod(name: &str, app: &str) -> Arc<Pod> {
    Arc::new(
        serde_json::from_value(json!({
            "metadata": {"name": name, "namespace": "shop", "labels": {"app": app}},
            "spec": {"containers": [{"name": "app", "resources": {"requests": {"cpu": "1"}}}]},
            "status": {"phase": "Running", "startTime": T0,
                       "conditions": [{"type": "Ready", "status": "True", "lastTransitionTime": T0}]}
        }))
        .unwrap(),
    )
}

fn pod_metrics(pods: &[(&str, &str, &str)]) -> Value {
    json!({"kind": "PodMetricsList", "items": pods.iter().map(|(name, app, cpu)| json!({
        "metadata": {"name": name, "namespace": "shop", "labels": {"app": app}},
        "timestamp": "2026-01-01T00:59:50Z", "window": "30s",
        "containers": [{"name": "app", "usage": {"cpu": cpu}}]})).collect::<Vec<_>>()})
}

fn echo(req: &swell_runtime::testing::RecordedRequest) -> Reply {
    Reply::json(200, with_resource_version(req.json(), "11"))
}

fn condition<'a>(status: &'a Value, type_: &str) -> &'a Value {
    status["conditions"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["type"] == type_)
        .unwrap_or_else(|| panic!("no {type_} condition in {status}"))
}

fn event_reasons(api: &ScriptedApi) -> Vec<String> {
    api.requests_to(&Method::POST, EVENTS)
        .iter()
        .map(|r| r.json()["reason"].as_str().unwrap().to_string())
        .collect()
}

#[tokio::test]
async fn a_scale_up_reads_the_scale_retries_a_conflicting_put_then_writes_status_and_an_event() {
    let f = fixture(Mode::Active);
    f.api.expect(Method::GET, SCALE).reply_json(200, scale(2, "1"));
    f.api
        .expect(Method::PUT, SCALE)
        .reply(Reply::conflict("deployments.apps", "web"));
    f.api.expect(Method::GET, SCALE).reply_json(200, scale(2, "2"));
    f.api.expect(Method::PUT, SCALE).reply_with(echo);
    f.api.expect(Method::GET, PODS).reply_json(
        200,
        pod_metrics(&[("web-a", "web", "900m"), ("web-b", "web", "900m")]),
    );
    f.api.expect(Method::PUT, STATUS).reply_with(echo);

    let pods = [pod("web-a", "web"), pod("web-b", "web"), pod("api-a", "api")];
    let mut history = History::default();
    let out = f
        .reconciler
        .reconcile(&hpa(None), &pods, &[], &f.metrics, &mut history)
        .await;
    f.api.verify();
    assert_eq!(out.error, None);
    assert!(out.scale_written && out.status_written);

    let puts = f.api.requests_to(&Method::PUT, SCALE);
    assert_eq!(puts.len(), 2);
    assert_eq!(puts[0].json()["metadata"]["resourceVersion"], "1");
    assert_eq!(
        puts[1].json()["metadata"]["resourceVersion"],
        "2",
        "the retry writes over the re-read scale"
    );
    assert_eq!(puts[1].json()["spec"]["replicas"], 4);

    let status = f.api.requests_to(&Method::PUT, STATUS)[0].json()["status"].clone();
    assert_eq!(status["desiredReplicas"], 4);
    assert_eq!(status["currentReplicas"], 2);
    assert_eq!(status["lastScaleTime"], NOW);
    assert_eq!(condition(&status, "AbleToScale")["reason"], "SucceededRescale");
    assert_eq!(condition(&status, "ScalingActive")["reason"], "ValidMetricFound");
    assert_eq!(
        status["currentMetrics"][0]["resource"]["current"]["averageUtilization"],
        90
    );

    let events = f.api.requests_to(&Method::POST, EVENTS);
    assert_eq!(event_reasons(&f.api), ["SuccessfulRescale"]);
    let e = events[0].json();
    assert_eq!(
        e["message"],
        "New size: 4; reason: cpu resource utilization (percentage of request) above target"
    );
    assert_eq!(e["involvedObject"]["kind"], "HorizontalPodAutoscaler");
    assert_eq!(e["source"]["component"], "horizontal-pod-autoscaler");

    let record = f.reconciler.decisions().list().pop().unwrap();
    assert_eq!((record.desired_replicas, record.scale_written), (4, true));
    assert!(record.text.contains("cpu"), "{}", record.text);
}

#[tokio::test]
async fn an_unchanged_status_is_not_written_again() {
    let f = fixture(Mode::Active);
    f.api
        .expect(Method::GET, SCALE)
        .times(2)
        .reply_json(200, scale(2, "1"));
    f.api.expect(Method::GET, PODS).times(2).reply_json(
        200,
        pod_metrics(&[("web-a", "web", "500m"), ("web-b", "web", "510m")]),
    );
    f.api.expect(Method::PUT, STATUS).reply_with(echo);
    let pods = [pod("web-a", "web"), pod("web-b", "web")];
    let mut history = History::default();

    let first = f
        .reconciler
        .reconcile(&hpa(None), &pods, &[], &f.metrics, &mut history)
        .await;
    assert!(first.status_written && !first.scale_written);
    let written = f.api.requests_to(&Method::PUT, STATUS)[0].json()["status"].clone();

    f.clock.advance(SignedDuration::from_secs(15));
    let second = f
        .reconciler
        .reconcile(&hpa(Some(written)), &pods, &[], &f.metrics, &mut history)
        .await;
    f.api.verify();
    assert!(!second.status_written && !second.scale_written, "{second:?}");
    assert_eq!(f.api.requests_to(&Method::PUT, STATUS).len(), 1);
    assert!(
        f.api
            .requests()
            .iter()
            .all(|r| r.method == Method::GET || r.path == STATUS)
    );
}

#[tokio::test]
async fn an_unavailable_metrics_api_stops_scaling_with_upstreams_reason_and_no_scale_down() {
    for (label, reply) in [
        (
            "503",
            Reply::status(
                503,
                "ServiceUnavailable",
                "the server is currently unable to handle the request",
            ),
        ),
        ("404", Reply::not_found("pods.metrics.k8s.io", "")),
        (
            "malformed",
            Reply::raw(200, "application/json", b"{\"items\": [".to_vec()),
        ),
    ] {
        let f = fixture(Mode::Active);
        f.api.expect(Method::GET, SCALE).reply_json(200, scale(4, "1"));
        f.api.expect(Method::GET, PODS).reply(reply);
        f.api.expect(Method::PUT, STATUS).reply_with(echo);
        let pods = [
            pod("web-a", "web"),
            pod("web-b", "web"),
            pod("web-c", "web"),
            pod("web-d", "web"),
        ];
        let previous = json!({"currentReplicas": 4, "desiredReplicas": 4});
        let out = f
            .reconciler
            .reconcile(
                &hpa(Some(previous)),
                &pods,
                &[],
                &f.metrics,
                &mut History::default(),
            )
            .await;
        f.api.verify();
        assert!(!out.scale_written, "{label}");
        assert!(
            f.api.requests_to(&Method::PUT, SCALE).is_empty(),
            "{label}: no scale write"
        );
        let status = f.api.requests_to(&Method::PUT, STATUS)[0].json()["status"].clone();
        let active = condition(&status, "ScalingActive");
        assert_eq!(active["status"], "False", "{label}");
        assert_eq!(active["reason"], "FailedGetResourceMetric", "{label}");
        assert!(
            active["message"]
                .as_str()
                .unwrap()
                .contains("unable to fetch metrics from resource metrics API"),
            "{label}: {active}"
        );
        if label == "503" {
            // Upstream's words, layer by layer, ending in what the API server said.
            assert_eq!(
                active["message"],
                "the HPA was unable to compute the replica count: failed to get cpu utilization: unable to \
                 get metrics for resource cpu: unable to fetch metrics from resource metrics API: the server \
                 is currently unable to handle the request"
            );
        }
        assert_eq!(status["desiredReplicas"], 4, "{label}: desired replicas kept");
        assert!(
            event_reasons(&f.api).contains(&"FailedGetResourceMetric".to_string()),
            "{label}"
        );
        assert!(out.error.is_some(), "{label}");
    }
}

#[tokio::test]
async fn a_missing_external_metric_is_failed_get_external_metric() {
    let f = fixture(Mode::Active);
    let ext = json!([{"type": "External", "external": {"metric": {"name": "queue_depth"},
                      "target": {"type": "AverageValue", "averageValue": "10"}}}]);
    f.api.expect(Method::GET, SCALE).reply_json(200, scale(3, "1"));
    f.api
        .expect(
            Method::GET,
            "/apis/external.metrics.k8s.io/v1beta1/namespaces/shop/queue_depth",
        )
        .reply(Reply::status(
            404,
            "NotFound",
            "the server could not find the requested resource",
        ));
    f.api.expect(Method::PUT, STATUS).reply_with(echo);
    let out = f
        .reconciler
        .reconcile(
            &hpa_named("web", "web", ext, None),
            &[pod("web-a", "web")],
            &[],
            &f.metrics,
            &mut History::default(),
        )
        .await;
    f.api.verify();
    assert!(!out.scale_written);
    let status = f.api.requests_to(&Method::PUT, STATUS)[0].json()["status"].clone();
    assert_eq!(
        condition(&status, "ScalingActive")["reason"],
        "FailedGetExternalMetric"
    );
    // As upstream: the metric's event, then the one for the whole computation.
    assert_eq!(
        event_reasons(&f.api),
        ["FailedGetExternalMetric", "FailedComputeMetricsReplicas"]
    );
}

#[tokio::test]
async fn shadow_mode_writes_nothing_and_counts_a_disagreement() {
    let f = fixture(Mode::Shadow);
    f.api.expect(Method::GET, SCALE).reply_json(200, scale(2, "1"));
    f.api.expect(Method::GET, PODS).reply_json(
        200,
        pod_metrics(&[("web-a", "web", "900m"), ("web-b", "web", "900m")]),
    );
    let builtin = json!({"currentReplicas": 2, "desiredReplicas": 3,
                         "conditions": [{"type": "AbleToScale", "status": "True", "reason": "ReadyForNewScale", "lastTransitionTime": T0}]});
    let out = f
        .reconciler
        .reconcile(
            &hpa(Some(builtin)),
            &[pod("web-a", "web"), pod("web-b", "web")],
            &[],
            &f.metrics,
            &mut History::default(),
        )
        .await;
    f.api.verify();
    assert!(
        f.api.requests().iter().all(|r| r.method == Method::GET),
        "{:?}",
        f.api.requests()
    );
    assert!(!out.scale_written && !out.status_written);
    let record = f.reconciler.decisions().list().pop().unwrap();
    assert_eq!(record.mode, "shadow");
    assert_eq!(
        (record.desired_replicas, record.builtin_desired_replicas),
        (4, Some(3))
    );
    assert_eq!(event_reasons(&f.api), Vec::<String>::new());
    assert_eq!(
        record.events.last().unwrap().reason,
        "SuccessfulRescale",
        "published, not posted"
    );

    let mut text = String::new();
    let mut registry = prometheus_client::registry::Registry::default();
    f.reconciler.telemetry().register(&mut registry);
    prometheus_client::encoding::text::encode(&mut text, &registry).unwrap();
    assert!(
        text.contains(r#"swell_hpa_shadow_disagreements_total{namespace="shop",name="web"} 1"#),
        "{text}"
    );
}

#[tokio::test]
async fn an_invalid_spec_gets_a_condition_and_an_event_naming_the_field_while_others_reconcile() {
    let f = fixture(Mode::Active);
    let mut bad = hpa_named("bad", "web", cpu50(), None);
    bad.spec.max_replicas = 0;
    f.api
        .expect(
            Method::PUT,
            "/apis/autoscaling/v2/namespaces/shop/horizontalpodautoscalers/bad/status",
        )
        .reply_with(echo);
    f.api.expect(Method::GET, SCALE).reply_json(200, scale(2, "1"));
    f.api.expect(Method::GET, PODS).reply_json(
        200,
        pod_metrics(&[("web-a", "web", "500m"), ("web-b", "web", "500m")]),
    );
    f.api.expect(Method::PUT, STATUS).reply_with(echo);

    let state = ControllerState::default();
    let hpas = [Arc::new(bad), Arc::new(hpa(None))];
    let pods = [pod("web-a", "web"), pod("web-b", "web")];
    let outcomes = run_cycle(
        &f.reconciler,
        &state,
        &hpas,
        &pods,
        &f.metrics,
        &LoopOptions::default(),
        &|| true,
    )
    .await;
    f.api.verify();
    let bad_out = outcomes.iter().find(|o| o.key.name == "bad").unwrap();
    assert_eq!(bad_out.retry, Retry::Backoff);
    let good = outcomes.iter().find(|o| o.key.name == "web").unwrap();
    assert!(good.error.is_none() && good.status_written);

    let status = f.api.requests_to(
        &Method::PUT,
        "/apis/autoscaling/v2/namespaces/shop/horizontalpodautoscalers/bad/status",
    )[0]
    .json()["status"]
        .clone();
    let active = condition(&status, "ScalingActive");
    assert_eq!(
        (active["status"].as_str(), active["reason"].as_str()),
        (Some("False"), Some("InvalidSpec"))
    );
    assert!(
        active["message"].as_str().unwrap().contains("spec.maxReplicas"),
        "{active}"
    );
    let events = f.api.requests_to(&Method::POST, EVENTS);
    let invalid = events
        .iter()
        .map(|r| r.json())
        .find(|e| e["reason"] == "InvalidSpec")
        .unwrap();
    assert!(invalid["message"].as_str().unwrap().contains("spec.maxReplicas"));
}

#[tokio::test(start_paused = true)]
async fn an_unknown_target_kind_is_reported_and_backed_off_not_retried_every_cycle() {
    let f = fixture(Mode::Active);
    let mut widget = hpa_named("odd", "w", cpu50(), None);
    widget.spec.scale_target_ref.api_version = Some("example.com/v1".into());
    widget.spec.scale_target_ref.kind = "Widget".into();
    f.api
        .expect(Method::GET, "/apis/example.com/v1")
        .any_number_of_times()
        .reply(Reply::status(
            404,
            "NotFound",
            "the server could not find the requested resource",
        ));
    f.api
        .expect(
            Method::PUT,
            "/apis/autoscaling/v2/namespaces/shop/horizontalpodautoscalers/odd/status",
        )
        .any_number_of_times()
        .reply_with(echo);
    let state = ControllerState::default();
    let hpas = [Arc::new(widget)];
    let options = LoopOptions::default();
    let cycle = || run_cycle(&f.reconciler, &state, &hpas, &[], &f.metrics, &options, &|| true);

    let out = cycle().await;
    assert_eq!(out[0].retry, Retry::Backoff);
    let status = f.api.requests_to(
        &Method::PUT,
        "/apis/autoscaling/v2/namespaces/shop/horizontalpodautoscalers/odd/status",
    )[0]
    .json()["status"]
        .clone();
    let able = condition(&status, "AbleToScale");
    assert_eq!(able["reason"], "FailedGetScale");
    assert!(able["message"].as_str().unwrap().contains("Widget"), "{able}");
    assert_eq!(event_reasons(&f.api), ["FailedGetScale"]);

    // The next cycles come and go without touching it until the backoff (2 x 15s) has passed.
    tokio::time::advance(Duration::from_secs(15)).await;
    assert!(cycle().await.is_empty());
    assert_eq!(f.api.requests_to(&Method::GET, "/apis/example.com/v1").len(), 1);
    tokio::time::advance(Duration::from_secs(16)).await;
    assert_eq!(cycle().await.len(), 1);
    assert_eq!(f.api.requests_to(&Method::GET, "/apis/example.com/v1").len(), 2);
    // The second failure doubles the delay: not due after another 31s, due after 60s.
    tokio::time::advance(Duration::from_secs(31)).await;
    assert!(cycle().await.is_empty());
    tokio::time::advance(Duration::from_secs(30)).await;
    assert_eq!(cycle().await.len(), 1);
}

#[tokio::test]
async fn one_cycle_lists_resource_metrics_once_per_namespace_and_forgets_deleted_hpas() {
    let f = fixture(Mode::Active);
    let api_scale = "/apis/apps/v1/namespaces/shop/deployments/api/scale";
    f.api
        .expect(Method::GET, SCALE)
        .times(2)
        .reply_json(200, scale(2, "1"));
    let mut api_scale_body = scale(2, "1");
    api_scale_body["metadata"]["name"] = json!("api");
    api_scale_body["status"]["selector"] = json!("app=api");
    f.api
        .expect(Method::GET, api_scale)
        .reply_json(200, api_scale_body);
    f.api.expect(Method::GET, PODS).times(2).reply_json(
        200,
        pod_metrics(&[
            ("web-a", "web", "500m"),
            ("web-b", "web", "500m"),
            ("api-a", "api", "500m"),
        ]),
    );
    f.api.expect(Method::PUT, STATUS).times(1).reply_with(echo);
    f.api
        .expect(
            Method::PUT,
            "/apis/autoscaling/v2/namespaces/shop/horizontalpodautoscalers/api/status",
        )
        .reply_with(echo);

    let state = ControllerState::default();
    let web = Arc::new(hpa(None));
    let api = Arc::new(hpa_named("api", "api", cpu50(), None));
    let pods = [pod("web-a", "web"), pod("web-b", "web"), pod("api-a", "api")];
    let options = LoopOptions::default();
    let out = run_cycle(
        &f.reconciler,
        &state,
        &[web.clone(), api],
        &pods,
        &f.metrics,
        &options,
        &|| true,
    )
    .await;
    assert_eq!(out.len(), 2);
    assert!(out.iter().all(|o| o.error.is_none()), "{out:?}");
    assert_eq!(
        f.api.requests_to(&Method::GET, PODS).len(),
        1,
        "one list for the namespace"
    );
    assert_eq!(state.len(), 2);

    // The api HPA is gone: its history and its published decision go with it.
    let web_with_status = Arc::new(hpa(Some(
        f.api.requests_to(&Method::PUT, STATUS)[0].json()["status"].clone(),
    )));
    let out = run_cycle(
        &f.reconciler,
        &state,
        &[web_with_status],
        &pods,
        &f.metrics,
        &options,
        &|| true,
    )
    .await;
    f.api.verify();
    assert_eq!(out.len(), 1);
    assert_eq!(state.len(), 1);
    let names: Vec<String> = f
        .reconciler
        .decisions()
        .list()
        .into_iter()
        .map(|r| r.name)
        .collect();
    assert_eq!(names, ["web"]);
}

#[tokio::test]
async fn a_replica_that_is_not_the_leader_sends_nothing() {
    let f = fixture(Mode::Active);
    let state = ControllerState::default();
    let out = run_cycle(
        &f.reconciler,
        &state,
        &[Arc::new(hpa(None))],
        &[],
        &f.metrics,
        &LoopOptions::default(),
        &|| false,
    )
    .await;
    assert!(out.is_empty());
    assert!(f.api.requests().is_empty());
}

#[tokio::test]
async fn two_hpas_selecting_the_same_pods_are_ambiguous() {
    let f = fixture(Mode::Active);
    f.api.expect(Method::GET, SCALE).reply_json(200, scale(2, "1"));
    f.api.expect(Method::PUT, STATUS).reply_with(echo);
    let known = [(
        swell_pod_autoscaler::HpaKey::new("shop", "other"),
        swell_core::selector::Selector::parse("app=web").unwrap(),
    )];
    let out = f
        .reconciler
        .reconcile(
            &hpa(None),
            &[pod("web-a", "web")],
            &known,
            &f.metrics,
            &mut History::default(),
        )
        .await;
    f.api.verify();
    assert!(!out.scale_written);
    let status = f.api.requests_to(&Method::PUT, STATUS)[0].json()["status"].clone();
    assert_eq!(condition(&status, "ScalingActive")["reason"], "AmbiguousSelector");
    assert_eq!(
        event_reasons(&f.api),
        ["AmbiguousSelector", "FailedComputeMetricsReplicas"]
    );
}

#[tokio::test]
async fn prometheus_metrics_count_reconciles_errors_fetch_latency_writes_and_desired_replicas() {
    let f = fixture(Mode::Active);
    f.api
        .expect(Method::GET, SCALE)
        .times(2)
        .reply_json(200, scale(2, "1"));
    f.api
        .expect(Method::GET, PODS)
        .reply(Reply::status(503, "ServiceUnavailable", "unavailable"));
    f.api.expect(Method::GET, PODS).reply_json(
        200,
        pod_metrics(&[("web-a", "web", "900m"), ("web-b", "web", "900m")]),
    );
    f.api.expect(Method::PUT, SCALE).reply_with(echo);
    f.api.expect(Method::PUT, STATUS).times(2).reply_with(echo);
    let metrics = ApiMetricsClient::new(
        MetricsRouting::aggregated(f.api.client()),
        f.api.client(),
        Duration::from_secs(15),
    )
    .with_observer(f.reconciler.telemetry().fetch.clone());
    let pods = [pod("web-a", "web"), pod("web-b", "web")];
    let mut history = History::default();
    f.reconciler
        .reconcile(&hpa(None), &pods, &[], &metrics, &mut history)
        .await;
    f.reconciler
        .reconcile(&hpa(None), &pods, &[], &metrics, &mut history)
        .await;
    f.api.verify();

    let mut registry = prometheus_client::registry::Registry::default();
    f.reconciler.telemetry().register(&mut registry);
    let mut text = String::new();
    prometheus_client::encoding::text::encode(&mut text, &registry).unwrap();
    for line in [
        r#"swell_hpa_reconciliations_total{result="error"} 1"#,
        r#"swell_hpa_reconciliations_total{result="ok"} 1"#,
        r#"swell_hpa_errors_total{reason="FailedGetResourceMetric"} 1"#,
        r#"swell_hpa_metric_fetch_duration_seconds_count{api="resource"} 2"#,
        r#"swell_hpa_reconcile_duration_seconds_count 2"#,
        r#"swell_hpa_desired_replicas{namespace="shop",name="web"} 4"#,
        r#"swell_hpa_writes_total{kind="scale"} 1"#,
        r#"swell_hpa_writes_total{kind="status"} 2"#,
    ] {
        assert!(text.contains(line), "missing {line} in\n{text}");
    }
}

#[tokio::test]
async fn a_scale_write_that_keeps_conflicting_is_failed_rescale_after_three_writes() {
    let f = fixture(Mode::Active);
    f.api
        .expect(Method::GET, SCALE)
        .times(3)
        .reply_json(200, scale(2, "1"));
    f.api
        .expect(Method::PUT, SCALE)
        .times(3)
        .reply(Reply::conflict("deployments.apps", "web"));
    f.api.expect(Method::GET, PODS).reply_json(
        200,
        pod_metrics(&[("web-a", "web", "900m"), ("web-b", "web", "900m")]),
    );
    f.api.expect(Method::PUT, STATUS).reply_with(echo);
    let out = f
        .reconciler
        .reconcile(
            &hpa(None),
            &[pod("web-a", "web"), pod("web-b", "web")],
            &[],
            &f.metrics,
            &mut History::default(),
        )
        .await;
    f.api.verify();
    assert!(!out.scale_written);
    let error = out.error.unwrap();
    assert!(
        error.starts_with("failed to rescale Deployment/shop/web: "),
        "{error}"
    );
    let status = f.api.requests_to(&Method::PUT, STATUS)[0].json()["status"].clone();
    let able = condition(&status, "AbleToScale");
    assert_eq!(
        (able["status"].as_str(), able["reason"].as_str()),
        (Some("False"), Some("FailedUpdateScale"))
    );
    assert_eq!(
        status["desiredReplicas"], 0,
        "desiredReplicas stays as it was (none yet)"
    );
    assert_eq!(event_reasons(&f.api), ["FailedRescale"]);
}

#[tokio::test]
async fn a_conflicting_status_write_is_reported_and_left_for_the_next_cycle() {
    let f = fixture(Mode::Active);
    f.api.expect(Method::GET, SCALE).reply_json(200, scale(2, "1"));
    f.api.expect(Method::GET, PODS).reply_json(
        200,
        pod_metrics(&[("web-a", "web", "500m"), ("web-b", "web", "500m")]),
    );
    f.api
        .expect(Method::PUT, STATUS)
        .reply(Reply::conflict("horizontalpodautoscalers.autoscaling", "web"));
    let out = f
        .reconciler
        .reconcile(
            &hpa(None),
            &[pod("web-a", "web"), pod("web-b", "web")],
            &[],
            &f.metrics,
            &mut History::default(),
        )
        .await;
    f.api.verify();
    assert!(!out.status_written);
    let error = out.error.unwrap();
    assert!(
        error.starts_with("failed to update status for shop/web: "),
        "{error}"
    );
    assert_eq!(out.retry, Retry::NextCycle);
}
