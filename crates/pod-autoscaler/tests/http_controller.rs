//! Tier 3: the whole controller loop against a scripted API server under tokio's paused time:
//! reflectors list and watch HPAs (by `--hpa-selector`) and pods, `/readyz` turns ready once they
//! synced, the first cycle reconciles, a spec change seen on the watch is reconciled at once (long
//! before the next sync period), and shutdown stops the loop.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::{sync::Arc, time::Duration};

use http::Method;
use serde_json::{Value, json};
use swell_core::{
    clock::{Clock, ManualClock},
    selector::Selector,
};
use swell_pod_autoscaler::{
    controller::{Controller, DecisionStore, LoopOptions, Mode, Reconciler, Telemetry},
    metrics::{ApiMetricsClient, MetricsRouting},
    policy::ControllerConfig,
};
use swell_runtime::{
    events::{Recorder, Reporter},
    server::Readiness,
    testing::{Reply, ScriptedApi, with_resource_version},
};
use tokio_util::sync::CancellationToken;

const HPAS: &str = "/apis/autoscaling/v2/horizontalpodautoscalers";
const PODS: &str = "/api/v1/pods";
const SCALE: &str = "/apis/apps/v1/namespaces/shop/deployments/web/scale";
const STATUS: &str = "/apis/autoscaling/v2/namespaces/shop/horizontalpodautoscalers/web/status";
const NAMES: [&str; 2] = ["web-a", "web-b"];
const T0: &str = "2026-01-01T00:00:00Z";

fn hpa(generation: i64, max: i32) -> Value {
    json!({"apiVersion": "autoscaling/v2", "kind": "HorizontalPodAutoscaler",
           "metadata": {"name": "web", "namespace": "shop", "uid": "u1", "generation": generation,
                        "resourceVersion": format!("{}", 100 + generation), "labels": {"autoscaler": "swell"}},
           "spec": {"scaleTargetRef": {"apiVersion": "apps/v1", "kind": "Deployment", "name": "web"},
                    "minReplicas": 1, "maxReplicas": max,
                    "metrics": [{"type": "Resource", "resource": {"name": "cpu",
                                 "target": {"type": "Utilization", "averageUtilization": 50}}}]}})
}

fn pod(name: &str) -> Value {
    json!({"apiVersion": "v1", "kind": "Pod",
           "metadata": {"name": name, "namespace": "shop", "labels": {"app": "web"}, "resourceVersion": "5",
                        "managedFields": [{"manager": "kubectl", "operation": "Apply"}]},
           "spec": {"containers": [{"name": "app", "resources": {"requests": {"cpu": "1"}}}]},
           "status": {"phase": "Running", "startTime": T0,
                      "conditions": [{"type": "Ready", "status": "True", "lastTransitionTime": T0}]}})
}

fn is_watch(q: Option<&str>) -> bool {
    q.is_some_and(|q| q.contains("watch=true"))
}

/// Pods (listed, then a watch held open), discovery, the scale, resource metrics at 50% of
/// requests, status writes and events.
fn script_cluster(api: &ScriptedApi) {
    let day = Duration::from_secs(86_400);
    api.expect(Method::GET, PODS)
        .query("list", |q| !is_watch(q))
        .reply_json(
            200,
            json!({"kind": "PodList", "apiVersion": "v1", "metadata": {"resourceVersion": "7"},
                   "items": [pod("web-a"), pod("web-b")]}),
        );
    api.expect(Method::GET, PODS)
        .query("watch", is_watch)
        .any_number_of_times()
        .delay(day)
        .reply(Reply::watch([]));
    api.expect(Method::GET, "/apis/apps/v1")
        .any_number_of_times()
        .reply_json(
            200,
            json!({"kind": "APIResourceList", "groupVersion": "apps/v1", "resources": [
                {"name": "deployments", "singularName": "deployment", "namespaced": true, "kind": "Deployment", "verbs": ["get"]}]}),
        );
    api.expect(Method::GET, SCALE).any_number_of_times().reply_json(
        200,
        json!({"apiVersion": "autoscaling/v1", "kind": "Scale",
               "metadata": {"name": "web", "namespace": "shop", "resourceVersion": "1"},
               "spec": {"replicas": 2}, "status": {"replicas": 2, "selector": "app=web"}}),
    );
    api.expect(Method::GET, "/apis/metrics.k8s.io/v1beta1/namespaces/shop/pods")
        .any_number_of_times()
        .reply_json(
            200,
            json!({"items": NAMES.iter().map(|n| json!({
                "metadata": {"name": n, "namespace": "shop", "labels": {"app": "web"}},
                "timestamp": "2026-01-01T00:59:50Z", "window": "30s",
                "containers": [{"name": "app", "usage": {"cpu": "500m"}}]})).collect::<Vec<_>>()}),
        );
    api.expect(Method::PUT, STATUS)
        .any_number_of_times()
        .reply_with(|req| Reply::json(200, with_resource_version(req.json(), "200")));
    api.expect(Method::POST, "/api/v1/namespaces/shop/events")
        .any_number_of_times()
        .reply_with(|req| Reply::json(201, with_resource_version(req.json(), "1")));
}

fn controller_parts(api: &ScriptedApi) -> (Arc<Reconciler<Recorder>>, Arc<ApiMetricsClient>, DecisionStore) {
    let clock = Arc::new(ManualClock::new("2026-01-01T01:00:00Z".parse().unwrap()));
    let decisions = DecisionStore::default();
    let reconciler = Arc::new(Reconciler::new(
        api.client(),
        Recorder::new(
            api.client(),
            Reporter {
                component: "horizontal-pod-autoscaler".into(),
                instance: None,
            },
            clock.clone() as Arc<dyn Clock>,
        ),
        ControllerConfig::default(),
        Mode::Active,
        Telemetry::default(),
        decisions.clone(),
        clock as Arc<dyn Clock>,
    ));
    let metrics = Arc::new(ApiMetricsClient::new(
        MetricsRouting::aggregated(api.client()),
        api.client(),
        Duration::from_secs(15),
    ));
    (reconciler, metrics, decisions)
}

#[tokio::test(start_paused = true)]
async fn the_loop_syncs_reconciles_reacts_to_a_spec_change_at_once_and_stops_on_shutdown() {
    let api = ScriptedApi::new();
    let day = Duration::from_secs(86_400);
    // HPAs: listed with the selector; the first watch delivers a spec change after 10s, the next
    // one is held open.
    api.expect(Method::GET, HPAS)
        .query("list with labelSelector=autoscaler=swell", |q| {
            !is_watch(q) && q.is_some_and(|q| q.contains("labelSelector=autoscaler%3Dswell"))
        })
        .reply_json(
            200,
            json!({"kind": "HorizontalPodAutoscalerList", "apiVersion": "autoscaling/v2",
                   "metadata": {"resourceVersion": "101"}, "items": [hpa(1, 10)]}),
        );
    api.expect(Method::GET, HPAS)
        .query("watch", is_watch)
        .delay(Duration::from_secs(10))
        .reply(Reply::watch([("MODIFIED", hpa(2, 3))]));
    api.expect(Method::GET, HPAS)
        .query("watch", is_watch)
        .any_number_of_times()
        .delay(day)
        .reply(Reply::watch([]));
    script_cluster(&api);

    let (reconciler, metrics, decisions) = controller_parts(&api);
    let readiness = Readiness::new();
    let shutdown = CancellationToken::new();
    let (_leader_tx, leader) = tokio::sync::watch::channel(true);
    let sync_period = Duration::from_secs(3600);
    let controller = Controller {
        client: api.client(),
        reconciler,
        metrics,
        options: LoopOptions {
            sync_period,
            hpa_selector: Some(Selector::parse("autoscaler=swell").unwrap()),
            ..LoopOptions::default()
        },
        leader,
        readiness: readiness.clone(),
        shutdown: shutdown.clone(),
    };
    let started = tokio::time::Instant::now();
    let task = tokio::spawn(controller.run());

    let deadline = started + Duration::from_secs(120);
    let scale_reads = || api.requests_to(&Method::GET, SCALE).len();
    while scale_reads() < 1 && tokio::time::Instant::now() < deadline {
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert!(readiness.is_ready(), "ready once both caches synced");
    assert_eq!(scale_reads(), 1, "the first cycle reconciled the HPA");
    let first = decisions.list();
    assert_eq!(first.len(), 1);
    assert_eq!(first[0].desired_replicas, 2);

    // The watch brings generation 2 (maxReplicas 3) after 10s: reconciled at once, not after an hour.
    while scale_reads() < 2 && tokio::time::Instant::now() < deadline {
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert_eq!(scale_reads(), 2, "{:#?}", api.requests());
    assert!(
        started.elapsed() < Duration::from_secs(60),
        "{:?}",
        started.elapsed()
    );
    let explanation = decisions.list()[0].explanation.clone().unwrap();
    assert_eq!(explanation.max_replicas, 3, "the new spec was used");

    // The status write comes back on the watch only as a status change; nothing else is reconciled.
    let puts = api.requests_to(&Method::PUT, STATUS).len();
    assert!(puts >= 1);
    let pods_list = &api.requests_to(&Method::GET, PODS)[0];
    assert!(
        pods_list
            .query
            .as_deref()
            .is_some_and(|q| !q.contains("watch=true"))
    );

    shutdown.cancel();
    task.await.unwrap().unwrap();
    assert!(!readiness.is_ready(), "not ready once stopped");
    api.verify();
}

#[tokio::test(start_paused = true)]
async fn only_the_leader_reconciles_and_writes_stop_when_leadership_is_lost() {
    let api = ScriptedApi::new();
    let day = Duration::from_secs(86_400);
    api.expect(Method::GET, HPAS)
        .query("list", |q| !is_watch(q))
        .reply_json(
            200,
            json!({"kind": "HorizontalPodAutoscalerList", "apiVersion": "autoscaling/v2",
                   "metadata": {"resourceVersion": "101"}, "items": [hpa(1, 10)]}),
        );
    api.expect(Method::GET, HPAS)
        .query("watch", is_watch)
        .any_number_of_times()
        .delay(day)
        .reply(Reply::watch([]));
    script_cluster(&api);
    let (reconciler, metrics, decisions) = controller_parts(&api);
    let readiness = Readiness::new();
    let shutdown = CancellationToken::new();
    let (leader_tx, leader) = tokio::sync::watch::channel(false);
    let period = Duration::from_secs(15);
    let task = tokio::spawn(
        Controller {
            client: api.client(),
            reconciler,
            metrics,
            options: LoopOptions {
                sync_period: period,
                ..LoopOptions::default()
            },
            leader,
            readiness: readiness.clone(),
            shutdown: shutdown.clone(),
        }
        .run(),
    );
    let scale_reads = || api.requests_to(&Method::GET, SCALE).len();
    let writes = || api.requests().iter().filter(|r| r.method != Method::GET).count();

    // Standing by: synced and ready, but three periods pass without a reconcile. (Elected 5s
    // after a tick: the next regular tick would be 10s away.)
    tokio::time::sleep(period * 3 + Duration::from_secs(5)).await;
    assert!(readiness.is_ready());
    assert_eq!((scale_reads(), writes()), (0, 0));
    assert!(decisions.is_standby(), "a standby replica says so on /decisions");

    // Elected: a cycle runs at once (not a period later) and writes the status.
    leader_tx.send(true).unwrap();
    tokio::time::sleep(Duration::from_secs(1)).await;
    assert!(scale_reads() >= 1);
    let written = writes();
    assert!(written >= 1, "{:#?}", api.requests());

    assert!(!decisions.is_standby());

    // Lost: nothing more is read or written, however many periods pass.
    leader_tx.send(false).unwrap();
    let reads = scale_reads();
    tokio::time::sleep(period * 4).await;
    assert_eq!((scale_reads(), writes()), (reads, written));

    shutdown.cancel();
    task.await.unwrap().unwrap();
    api.verify();
}

#[tokio::test(start_paused = true)]
async fn with_the_runtimes_lease_election_writes_happen_while_the_lease_is_held_and_stop_once_it_is_lost() {
    use swell_runtime::leader::{LeaderConfig, LeaderElector};
    const LEASES: &str = "/apis/coordination.k8s.io/v1/namespaces/swell-system/leases";
    const LEASE: &str = "/apis/coordination.k8s.io/v1/namespaces/swell-system/leases/swell-pod-autoscaler";
    let api = ScriptedApi::new();
    let day = Duration::from_secs(86_400);
    api.expect(Method::GET, HPAS)
        .query("list", |q| !is_watch(q))
        .reply_json(
            200,
            json!({"kind": "HorizontalPodAutoscalerList", "apiVersion": "autoscaling/v2",
                   "metadata": {"resourceVersion": "101"}, "items": [hpa(1, 10)]}),
        );
    api.expect(Method::GET, HPAS)
        .query("watch", is_watch)
        .any_number_of_times()
        .delay(day)
        .reply(Reply::watch([]));
    script_cluster(&api);
    // The lease: absent, created by us, renewed 12 times (every 2s), then taken by another replica.
    api.expect(Method::GET, LEASE)
        .reply(Reply::not_found("leases", "swell-pod-autoscaler"));
    api.expect(Method::POST, LEASES)
        .reply_with(|req| Reply::json(201, with_resource_version(req.json(), "1")));
    api.expect(Method::PUT, LEASE)
        .times(12)
        .reply_with(|req| Reply::json(200, with_resource_version(req.json(), "2")));
    api.expect(Method::PUT, LEASE)
        .any_number_of_times()
        .reply(Reply::conflict("leases", "swell-pod-autoscaler"));
    api.expect(Method::GET, LEASE).any_number_of_times().reply_json(
        200,
        json!({"apiVersion": "coordination.k8s.io/v1", "kind": "Lease",
               "metadata": {"name": "swell-pod-autoscaler", "namespace": "swell-system", "resourceVersion": "50"},
               "spec": {"holderIdentity": "other", "leaseDurationSeconds": 15,
                        "acquireTime": "2026-01-01T01:00:00Z", "renewTime": "2026-01-01T01:00:00Z"}}),
    );

    let clock = Arc::new(ManualClock::new("2026-01-01T01:00:00Z".parse().unwrap()));
    let elector = LeaderElector::new(
        api.client(),
        LeaderConfig::new("swell-system", "swell-pod-autoscaler", "me"),
        clock as Arc<dyn Clock>,
    )
    .unwrap();
    let mut leading = elector.subscribe();
    let shutdown = CancellationToken::new();
    let elector_task = tokio::spawn(elector.run(shutdown.clone()));
    let (reconciler, metrics, _) = controller_parts(&api);
    let period = Duration::from_secs(15);
    let controller_task = tokio::spawn(
        Controller {
            client: api.client(),
            reconciler,
            metrics,
            options: LoopOptions {
                sync_period: period,
                ..LoopOptions::default()
            },
            leader: leading.clone(),
            readiness: Readiness::new(),
            shutdown: shutdown.clone(),
        }
        .run(),
    );
    let status_writes = || api.requests_to(&Method::PUT, STATUS).len();
    let scale_reads = || api.requests_to(&Method::GET, SCALE).len();

    // Acquired: the controller reconciles and writes while the lease is renewed.
    leading.wait_for(|l| *l).await.unwrap();
    tokio::time::sleep(period + Duration::from_secs(1)).await;
    assert!(status_writes() >= 1, "{:#?}", api.requests());
    assert!(api.requests_to(&Method::PUT, LEASE).len() >= 2, "renewed");

    // Lost: once the renewals conflict and another holder shows, leadership goes and so do writes.
    leading.wait_for(|l| !*l).await.unwrap();
    let (reads, writes) = (scale_reads(), status_writes());
    tokio::time::sleep(period * 4).await;
    assert_eq!(
        (scale_reads(), status_writes()),
        (reads, writes),
        "nothing after the lease was lost"
    );

    shutdown.cancel();
    controller_task.await.unwrap().unwrap();
    elector_task.await.unwrap();
}
