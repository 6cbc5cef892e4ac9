//! Tier 3: the node autoscaler's writes against a scripted API server: the taint and cordon
//! patches, conflicts, evictions (429 then success, 404 counted as done, 429 past the deadline
//! rolled back), the grace cap, provider failures and shutdown rolled back, leftover taints cleaned
//! at start.

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::{sync::Arc, time::Duration};

use common::*;
use http::Method;
use jiff::Timestamp;
use serde_json::json;
use swell_core::clock::{Clock, ManualClock};
use swell_node_autoscaler::{
    controller::{ActuationOptions, Actuator, NodeWriter, PodToEvict, Removal, RemovalOutcome, actuate},
    plan::RemovalKind,
    provider::ErrorClass,
    testing::{FakeProvider, ProviderCall},
};
use swell_runtime::{
    events::{Recorder, Reporter},
    testing::{Reply, ScriptedApi},
};
use tokio_util::sync::CancellationToken;

const NOW: &str = "2026-01-01T01:00:00Z";
const EVICT_A: &str = "/api/v1/namespaces/shop/pods/web-a/eviction";
const EVICT_B: &str = "/api/v1/namespaces/shop/pods/web-b/eviction";

fn now() -> Timestamp {
    NOW.parse().unwrap()
}

fn recorder(api: &ScriptedApi) -> Arc<Recorder> {
    let clock = Arc::new(ManualClock::new(now()));
    Arc::new(Recorder::new(
        api.client(),
        Reporter {
            component: "cluster-autoscaler".into(),
            instance: None,
        },
        clock as Arc<dyn Clock>,
    ))
}

struct Fixture {
    api: ScriptedApi,
    nodes: NodeServer,
    provider: Arc<FakeProvider>,
    actuator: Actuator<FakeProvider>,
}

fn fixture(node_taints: serde_json::Value, cordoned: bool) -> Fixture {
    let api = ScriptedApi::new();
    let nodes = NodeServer::install(&api, vec![node("n1", "fake:///a/0", node_taints, cordoned)]);
    accept_events(&api);
    let template = swell_node_autoscaler::testing::node("t").build();
    let provider = Arc::new(FakeProvider::default().with_group("a", 0, 5, 2, template));
    let actuator = Actuator {
        nodes: NodeWriter::new(api.client()),
        client: api.client(),
        provider: Arc::clone(&provider),
        recorder: recorder(&api),
        options: ActuationOptions::default(),
    };
    Fixture {
        api,
        nodes,
        provider,
        actuator,
    }
}

fn pod_to_evict(name: &str, grace: i64) -> PodToEvict {
    PodToEvict {
        namespace: "shop".into(),
        name: name.into(),
        uid: format!("uid-{name}"),
        grace_seconds: grace,
    }
}

fn drain(pods: Vec<PodToEvict>) -> Removal {
    Removal {
        node: "n1".into(),
        group: "a".into(),
        provider_id: "fake:///a/0".into(),
        kind: RemovalKind::Drain,
        pods,
    }
}

/// The pod is gone once evicted.
fn pods_gone(api: &ScriptedApi, name: &str) {
    api.expect(Method::GET, &format!("/api/v1/namespaces/shop/pods/{name}"))
        .any_number_of_times()
        .reply(Reply::not_found("pods", name));
}

fn evicted() -> Reply {
    Reply::json(
        201,
        json!({"kind": "Status", "apiVersion": "v1", "status": "Success", "metadata": {}}),
    )
}

fn too_many_requests() -> Reply {
    Reply::status(
        429,
        "TooManyRequests",
        "Cannot evict pod as it would violate the pod's disruption budget.",
    )
}

#[tokio::test]
async fn marking_a_node_taints_and_cordons_it_with_a_merge_patch_carrying_its_resource_version() {
    let f = fixture(
        json!([{"key": "other", "value": "x", "effect": "NoSchedule"}]),
        false,
    );
    assert!(f.actuator.nodes.mark("n1", now()).await.unwrap());
    let patches = f.api.requests_to(&Method::PATCH, "/api/v1/nodes/n1");
    assert_eq!(patches.len(), 1);
    assert_eq!(
        patches[0].content_type.as_deref(),
        Some("application/merge-patch+json")
    );
    let body = patches[0].json();
    assert_eq!(body["metadata"]["resourceVersion"], "1");
    assert_eq!(body["spec"]["unschedulable"], true);
    assert_eq!(
        body["metadata"]["annotations"][actuate::ANNOTATION_CORDONED],
        "true"
    );
    assert_eq!(
        body["spec"]["taints"],
        json!([{"key": "other", "value": "x", "effect": "NoSchedule"},
               {"key": "ToBeDeletedByClusterAutoscaler", "value": now().as_second().to_string(), "effect": "NoSchedule"}])
    );
    // Marking again changes nothing.
    assert!(!f.actuator.nodes.mark("n1", now()).await.unwrap());
    assert_eq!(f.api.requests_to(&Method::PATCH, "/api/v1/nodes/n1").len(), 1);
}

#[tokio::test]
async fn a_conflict_reads_the_node_again_and_writes_on_the_new_version() {
    let f = fixture(json!([]), false);
    *f.nodes.conflicts.lock().unwrap() = 2;
    assert!(f.actuator.nodes.add_soft_taint("n1", now()).await.unwrap());
    assert_eq!(f.api.requests_to(&Method::GET, "/api/v1/nodes/n1").len(), 3);
    assert_eq!(f.api.requests_to(&Method::PATCH, "/api/v1/nodes/n1").len(), 3);
    assert_eq!(f.nodes.taint_keys("n1"), ["DeletionCandidateOfClusterAutoscaler"]);
    assert_eq!(
        f.nodes.get("n1")["spec"]["taints"][0]["effect"],
        "PreferNoSchedule"
    );
}

#[tokio::test]
async fn conflicts_that_never_end_give_up_with_an_error_naming_the_node() {
    let f = fixture(json!([]), false);
    *f.nodes.conflicts.lock().unwrap() = 100;
    let err = f.actuator.nodes.mark("n1", now()).await.unwrap_err();
    assert!(err.to_string().starts_with("failed to taint node n1:"), "{err}");
    assert_eq!(f.api.requests_to(&Method::PATCH, "/api/v1/nodes/n1").len(), 5);
}

#[tokio::test]
async fn unmarking_lifts_only_a_cordon_swell_made() {
    // An operator cordoned n1 before Swell tainted it: the taint goes, the cordon stays.
    let f = fixture(
        json!([{"key": "ToBeDeletedByClusterAutoscaler", "value": "1", "effect": "NoSchedule"}]),
        true,
    );
    assert!(f.actuator.nodes.unmark("n1").await.unwrap());
    assert!(f.nodes.taint_keys("n1").is_empty());
    assert!(f.nodes.unschedulable("n1"), "the operator's cordon is kept");

    // A node Swell cordoned is uncordoned.
    let g = fixture(json!([]), false);
    g.actuator.nodes.mark("n1", now()).await.unwrap();
    assert!(g.nodes.unschedulable("n1"));
    g.actuator.nodes.unmark("n1").await.unwrap();
    assert!(!g.nodes.unschedulable("n1"));
    assert!(g.nodes.taint_keys("n1").is_empty());
    assert!(
        g.nodes.get("n1")["metadata"]["annotations"]
            .get(actuate::ANNOTATION_CORDONED)
            .is_none()
    );
}

#[tokio::test(start_paused = true)]
async fn an_eviction_refused_once_by_a_pdb_is_retried_and_the_node_deleted() {
    let f = fixture(json!([]), false);
    f.api.expect(Method::POST, EVICT_A).reply(too_many_requests());
    f.api.expect(Method::POST, EVICT_A).reply(evicted());
    pods_gone(&f.api, "web-a");
    let out = f
        .actuator
        .remove_node(
            &drain(vec![pod_to_evict("web-a", 30)]),
            now(),
            &CancellationToken::new(),
        )
        .await;
    assert!(matches!(out, RemovalOutcome::Deleted { evicted: 1 }), "{out:?}");
    assert_eq!(f.api.requests_to(&Method::POST, EVICT_A).len(), 2);
    assert!(
        f.provider
            .calls()
            .contains(&ProviderCall::DeleteNodes("a".into(), vec!["fake:///a/0".into()]))
    );
    let reasons: Vec<String> = events(&f.api).into_iter().map(|e| e.1).collect();
    assert_eq!(reasons, ["ScaleDown", "ScaleDown"], "marked, then removed");
    assert_eq!(f.nodes.taint_keys("n1"), ["ToBeDeletedByClusterAutoscaler"]);
    f.api.verify();
}

#[tokio::test(start_paused = true)]
async fn an_eviction_answered_404_counts_as_done() {
    let f = fixture(json!([]), false);
    f.api
        .expect(Method::POST, EVICT_A)
        .reply(Reply::not_found("pods", "web-a"));
    pods_gone(&f.api, "web-a");
    let out = f
        .actuator
        .remove_node(
            &drain(vec![pod_to_evict("web-a", 30)]),
            now(),
            &CancellationToken::new(),
        )
        .await;
    assert!(matches!(out, RemovalOutcome::Deleted { .. }), "{out:?}");
    assert!(matches!(
        f.provider.calls().last(),
        Some(ProviderCall::DeleteNodes(..))
    ));
}

#[tokio::test(start_paused = true)]
async fn evictions_refused_past_max_pod_eviction_time_untaint_and_uncordon_the_node() {
    let f = fixture(json!([]), false);
    f.api.expect(Method::POST, EVICT_A).reply(evicted());
    f.api
        .expect(Method::POST, EVICT_B)
        .any_number_of_times()
        .reply(too_many_requests());
    let started = tokio::time::Instant::now();
    let out = f
        .actuator
        .remove_node(
            &drain(vec![pod_to_evict("web-a", 30), pod_to_evict("web-b", 30)]),
            now(),
            &CancellationToken::new(),
        )
        .await;
    let RemovalOutcome::Failed {
        error,
        evicted,
        unmark_error,
    } = out
    else {
        panic!("expected a failure, got {out:?}");
    };
    assert_eq!(evicted, 1);
    assert!(unmark_error.is_none());
    assert!(
        error
            .to_string()
            .contains("failed to evict pod shop/web-b: still refused after 120s"),
        "{error}"
    );
    // Retried every 10s until --max-pod-eviction-time (2m): at 0s, 10s, ..., 120s.
    assert_eq!(f.api.requests_to(&Method::POST, EVICT_B).len(), 13);
    assert_eq!(started.elapsed(), Duration::from_secs(120));
    assert!(f.nodes.taint_keys("n1").is_empty(), "untainted");
    assert!(!f.nodes.unschedulable("n1"), "uncordoned");
    assert!(
        f.provider
            .calls()
            .iter()
            .all(|c| !matches!(c, ProviderCall::DeleteNodes(..)))
    );
    let failed: Vec<_> = events(&f.api)
        .into_iter()
        .filter(|e| e.1 == "ScaleDownFailed")
        .collect();
    assert_eq!(failed.len(), 1);
    assert_eq!(failed[0].0, "n1");
    assert!(failed[0].2.contains("web-b"), "{}", failed[0].2);
}

#[tokio::test(start_paused = true)]
async fn the_grace_period_is_capped_by_max_graceful_termination_sec() {
    let f = fixture(json!([]), false);
    f.api.expect(Method::POST, EVICT_A).reply(evicted());
    f.api.expect(Method::POST, EVICT_B).reply(evicted());
    pods_gone(&f.api, "web-a");
    pods_gone(&f.api, "web-b");
    f.actuator
        .remove_node(
            &drain(vec![pod_to_evict("web-a", 3600), pod_to_evict("web-b", 20)]),
            now(),
            &CancellationToken::new(),
        )
        .await;
    let grace = |path| {
        f.api.requests_to(&Method::POST, path)[0].json()["deleteOptions"]["gracePeriodSeconds"].clone()
    };
    assert_eq!(grace(EVICT_A), 600);
    assert_eq!(grace(EVICT_B), 20);
    let body = f.api.requests_to(&Method::POST, EVICT_A)[0].json();
    // kube-core's own Api::evict writes `delete_options`, which the API server ignores.
    assert_eq!(body["apiVersion"], "policy/v1");
    assert_eq!(body["kind"], "Eviction");
    assert_eq!(body["metadata"]["name"], "web-a");
    assert!(body.get("delete_options").is_none());
}

#[tokio::test(start_paused = true)]
async fn pods_that_do_not_go_away_fail_the_drain_after_their_grace_and_headroom() {
    let f = fixture(json!([]), false);
    f.api.expect(Method::POST, EVICT_A).reply(evicted());
    // The pod stays (same UID): a finalizer, a kubelet that is gone.
    f.api
        .expect(Method::GET, "/api/v1/namespaces/shop/pods/web-a")
        .any_number_of_times()
        .reply_json(200, pod("shop", "web-a", Some("n1"), "1", "web"));
    let started = tokio::time::Instant::now();
    let out = f
        .actuator
        .remove_node(
            &drain(vec![pod_to_evict("web-a", 30)]),
            now(),
            &CancellationToken::new(),
        )
        .await;
    let RemovalOutcome::Failed { error, .. } = out else {
        panic!("expected a failure");
    };
    assert_eq!(
        error.to_string(),
        "failed to drain node n1: pods still present after 60s: shop/web-a"
    );
    assert!(started.elapsed() <= Duration::from_secs(60));
    assert!(f.nodes.taint_keys("n1").is_empty());
}

#[tokio::test(start_paused = true)]
async fn a_pod_replaced_under_the_same_name_counts_as_gone() {
    let f = fixture(json!([]), false);
    f.api.expect(Method::POST, EVICT_A).reply(evicted());
    let mut replacement = pod("shop", "web-a", None, "1", "web");
    replacement["metadata"]["uid"] = json!("uid-new");
    f.api
        .expect(Method::GET, "/api/v1/namespaces/shop/pods/web-a")
        .any_number_of_times()
        .reply_json(200, replacement);
    let out = f
        .actuator
        .remove_node(
            &drain(vec![pod_to_evict("web-a", 30)]),
            now(),
            &CancellationToken::new(),
        )
        .await;
    assert!(matches!(out, RemovalOutcome::Deleted { .. }), "{out:?}");
}

#[tokio::test(start_paused = true)]
async fn a_provider_that_refuses_the_delete_leaves_the_node_untainted() {
    let f = fixture(json!([]), false);
    f.provider.fail_next("delete_nodes", ErrorClass::Throttled);
    let empty = Removal {
        kind: RemovalKind::Empty,
        ..drain(vec![])
    };
    let out = f
        .actuator
        .remove_node(&empty, now(), &CancellationToken::new())
        .await;
    let RemovalOutcome::Failed { error, .. } = out else {
        panic!("expected a failure");
    };
    assert!(error.to_string().contains("injected"), "{error}");
    assert!(f.nodes.taint_keys("n1").is_empty());
    assert!(!f.nodes.unschedulable("n1"));
}

#[tokio::test(start_paused = true)]
async fn shutdown_during_a_drain_rolls_it_back() {
    let f = fixture(json!([]), false);
    f.api
        .expect(Method::POST, EVICT_A)
        .any_number_of_times()
        .reply(too_many_requests());
    let token = CancellationToken::new();
    let cancel = token.clone();
    tokio::spawn(async move {
        tokio::time::sleep(Duration::from_secs(25)).await;
        cancel.cancel();
    });
    let started = tokio::time::Instant::now();
    let out = f
        .actuator
        .remove_node(&drain(vec![pod_to_evict("web-a", 30)]), now(), &token)
        .await;
    let RemovalOutcome::Failed { error, .. } = out else {
        panic!("expected a rollback");
    };
    assert_eq!(error.to_string(), "the controller is shutting down");
    assert!(started.elapsed() < Duration::from_secs(30), "stopped at once");
    assert!(f.nodes.taint_keys("n1").is_empty());
    assert!(!f.nodes.unschedulable("n1"));
    assert!(
        f.provider
            .calls()
            .iter()
            .all(|c| !matches!(c, ProviderCall::DeleteNodes(..)))
    );
}

#[tokio::test]
async fn a_node_that_is_gone_is_left_alone() {
    let f = fixture(json!([]), false);
    assert!(!f.actuator.nodes.mark("n9", now()).await.unwrap());
    assert!(f.api.requests_to(&Method::PATCH, "/api/v1/nodes/n9").is_empty());
}
