//! Tier 2 and 3: the node autoscaler's loop with a recording fake provider and the scripted API:
//! one scale-up for pending pods, not repeated while the nodes come; the nodes arrive and the pods
//! fit; a group that never delivers (or fails to create, or refuses) is rolled back and backed off
//! and the next choice is another group; scale-down with soft taints and a removal; dry-run writes
//! nothing; leftover taints cleaned at start; the status ConfigMap; explanations of pods the
//! simulation does not fully model.

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::sync::Arc;

use common::*;
use http::Method;
use jiff::{SignedDuration, Timestamp};
use serde_json::{Value, json};
use swell_core::clock::{Clock, ManualClock};
use swell_node_autoscaler::{
    Config,
    controller::{LoopOptions, NodeAutoscaler, StoreWriters, Stores, Telemetry, empty_stores, load},
    provider::ErrorClass,
    testing::{self as t, FakeProvider, ProviderCall},
};
use swell_runtime::{
    events::{Recorder, Reporter},
    testing::{Reply, ScriptedApi, with_resource_version},
};

const STATUS_CM: &str = "/api/v1/namespaces/kube-system/configmaps/swell-node-autoscaler-status";
const GI: i64 = 1 << 30;

fn t0() -> Timestamp {
    "2026-01-01T01:00:00Z".parse().unwrap()
}

fn at(secs: i64) -> Timestamp {
    t0() + SignedDuration::from_secs(secs)
}

struct Fixture {
    api: ScriptedApi,
    nodes: NodeServer,
    provider: Arc<FakeProvider>,
    stores: Stores,
    writers: StoreWriters,
    na: NodeAutoscaler<FakeProvider>,
}

/// Groups `a` (4 cpu nodes) and `b` (8 cpu nodes), both 0..5 with the given targets; least-waste
/// prefers `a` for a 3-cpu pod.
fn fixture(a_target: usize, options: LoopOptions) -> Fixture {
    let api = ScriptedApi::new();
    let nodes = NodeServer::install(&api, vec![]);
    accept_events(&api);
    api.expect(Method::PATCH, STATUS_CM)
        .any_number_of_times()
        .reply_with(|req| Reply::json(200, with_resource_version(req.json(), "7")));
    let provider = Arc::new(
        FakeProvider::default()
            .with_group(
                "a",
                0,
                5,
                a_target,
                t::node("template-a").cpu_mem(4000, 16 * GI).build(),
            )
            .with_group("b", 0, 5, 0, t::node("template-b").cpu_mem(8000, 32 * GI).build()),
    );
    let clock = Arc::new(ManualClock::new(t0()));
    let recorder = Arc::new(Recorder::new(
        api.client(),
        Reporter {
            component: "cluster-autoscaler".into(),
            instance: None,
        },
        clock as Arc<dyn Clock>,
    ));
    let na = NodeAutoscaler::new(
        api.client(),
        Arc::clone(&provider),
        Config::default(),
        options,
        recorder,
        Telemetry::default(),
    );
    let (stores, mut writers) = empty_stores();
    load(&mut writers.replicasets, [typed(replicaset("web", 3))]);
    Fixture {
        api,
        nodes,
        provider,
        stores,
        writers,
        na,
    }
}

fn set_target_calls(p: &FakeProvider) -> Vec<(String, usize)> {
    p.calls()
        .into_iter()
        .filter_map(|c| match c {
            ProviderCall::SetTargetSize(g, n) => Some((g, n)),
            _ => None,
        })
        .collect()
}

fn reasons(api: &ScriptedApi) -> Vec<String> {
    events(api).into_iter().map(|e| e.1).collect()
}

fn last_status(api: &ScriptedApi) -> serde_yaml_ng::Value {
    let req = api
        .requests_to(&Method::PATCH, STATUS_CM)
        .pop()
        .expect("a status write");
    let body: Value = req.json();
    assert!(body["metadata"]["annotations"]["cluster-autoscaler.kubernetes.io/last-updated"].is_string());
    serde_yaml_ng::from_str(body["data"]["status"].as_str().unwrap()).unwrap()
}

#[tokio::test]
async fn pending_pods_lead_to_one_scale_up_not_repeated_while_the_nodes_come() {
    let mut f = fixture(0, LoopOptions::default());
    load(
        &mut f.writers.pods,
        [as_pod(pod("shop", "web-1", None, "3", "web"))],
    );

    let r1 = f.na.run_once(&f.stores, at(0)).await;
    assert_eq!(r1.scaled_up, [("a".to_string(), 0, 1)]);
    assert_eq!(set_target_calls(&f.provider), [("a".to_string(), 1)]);
    let ev = events(&f.api);
    assert!(ev.contains(&(
        "swell-node-autoscaler-status".into(),
        "ScaledUpGroup".into(),
        "Scale-up: setting group a size to 1 instead of 0 (max: 5)".into()
    )));
    assert!(ev.contains(&(
        "web-1".into(),
        "TriggeredScaleUp".into(),
        "pod triggered scale-up: [{a 0->1 (max: 5)}]".into()
    )));
    let status = last_status(&f.api);
    assert_eq!(status["clusterWide"]["scaleUp"]["status"], "InProgress");
    assert_eq!(status["nodeGroups"][0]["name"], "a");
    assert_eq!(status["nodeGroups"][0]["health"]["nodeCounts"]["unregistered"], 1);

    // Ten seconds later the node is still booting: the pod waits for it, nothing is asked again.
    let r2 = f.na.run_once(&f.stores, at(10)).await;
    assert!(r2.scaled_up.is_empty(), "{r2:?}");
    assert_eq!(set_target_calls(&f.provider).len(), 1);
    let explained = f.na.decisions().pod("shop/web-1").unwrap();
    assert_eq!(explained["outcome"]["kind"], "FitsUpcomingNode");

    // The node registers; the pod fits on it; the request is done.
    f.provider.boot_all();
    load(
        &mut f.writers.nodes,
        [as_node(node("a-0", "fake:///a/0", json!([]), false))],
    );
    let r3 = f.na.run_once(&f.stores, at(60)).await;
    assert!(r3.scaled_up.is_empty() && r3.rolled_back.is_empty(), "{r3:?}");
    assert!(!f.na.cluster_state().scaling_up());
    assert_eq!(
        f.na.decisions().pod("shop/web-1").unwrap()["outcome"]["kind"],
        "FitsExistingNode"
    );
    assert_eq!(set_target_calls(&f.provider).len(), 1);
    assert_eq!(
        last_status(&f.api)["clusterWide"]["scaleUp"]["status"],
        "NoActivity"
    );
}

#[tokio::test]
async fn a_group_that_never_delivers_is_rolled_back_and_backed_off_and_another_group_is_chosen() {
    let mut f = fixture(0, LoopOptions::default());
    load(
        &mut f.writers.pods,
        [as_pod(pod("shop", "web-1", None, "3", "web"))],
    );
    f.na.run_once(&f.stores, at(0)).await;
    assert_eq!(set_target_calls(&f.provider), [("a".to_string(), 1)]);

    // Just before --max-node-provision-time (15m) nothing happens.
    let r = f.na.run_once(&f.stores, at(899)).await;
    assert!(r.rolled_back.is_empty() && r.scaled_up.is_empty(), "{r:?}");

    // At the deadline: the instance that never registered is deleted, `a` backs off for 5 minutes,
    // and the same loop grows `b`.
    let r = f.na.run_once(&f.stores, at(900)).await;
    assert_eq!(r.rolled_back, [("a".to_string(), "ScaleUpTimedOut".to_string())]);
    assert!(
        f.provider
            .calls()
            .contains(&ProviderCall::DeleteNodes("a".into(), vec!["fake:///a/0".into()]))
    );
    assert_eq!(r.scaled_up, [("b".to_string(), 0, 1)]);
    assert_eq!(
        f.na.cluster_state().backoff_until("a", at(900)),
        Some(at(900 + 300))
    );
    assert!(reasons(&f.api).contains(&"ScaleUpTimedOut".to_string()));
    let status = last_status(&f.api);
    assert_eq!(status["nodeGroups"][0]["scaleUp"]["status"], "Backoff");
    assert_eq!(status["nodeGroups"][1]["scaleUp"]["status"], "InProgress");
    let explained = f.na.decisions().pod("shop/web-1").unwrap();
    assert_eq!(explained["outcome"]["kind"], "TriggeredScaleUp");
    assert_eq!(explained["outcome"]["group"], "b");
}

#[tokio::test]
async fn instances_that_fail_to_create_back_the_group_off_at_once() {
    let mut f = fixture(0, LoopOptions::default());
    load(
        &mut f.writers.pods,
        [as_pod(pod("shop", "web-1", None, "3", "web"))],
    );
    f.na.run_once(&f.stores, at(0)).await;
    f.provider.fail_creating("a", ErrorClass::InsufficientCapacity);
    let r = f.na.run_once(&f.stores, at(30)).await;
    assert_eq!(
        r.rolled_back,
        [("a".to_string(), "FailedToScaleUpGroup".to_string())]
    );
    assert_eq!(r.scaled_up, [("b".to_string(), 0, 1)]);
    let status = last_status(&f.api);
    assert_eq!(
        status["nodeGroups"][0]["scaleUp"]["backoffInfo"]["errorCode"],
        "InsufficientCapacity"
    );
}

#[tokio::test]
async fn a_refused_scale_up_backs_off_but_throttling_is_retried() {
    let mut f = fixture(0, LoopOptions::default());
    load(
        &mut f.writers.pods,
        [as_pod(pod("shop", "web-1", None, "3", "web"))],
    );

    f.provider.fail_next("set_target_size", ErrorClass::Throttled);
    let r = f.na.run_once(&f.stores, at(0)).await;
    assert!(r.scaled_up.is_empty());
    assert_eq!(
        f.na.cluster_state().backoff_until("a", at(0)),
        None,
        "throttling does not back off"
    );
    let r = f.na.run_once(&f.stores, at(10)).await;
    assert_eq!(r.scaled_up, [("a".to_string(), 0, 1)], "retried next loop");

    let mut g = fixture(0, LoopOptions::default());
    load(
        &mut g.writers.pods,
        [as_pod(pod("shop", "web-1", None, "3", "web"))],
    );
    g.provider.fail_next("set_target_size", ErrorClass::Fatal);
    g.na.run_once(&g.stores, at(0)).await;
    assert!(reasons(&g.api).contains(&"FailedToScaleUpGroup".to_string()));
    let r = g.na.run_once(&g.stores, at(10)).await;
    assert_eq!(r.scaled_up, [("b".to_string(), 0, 1)]);
}

#[tokio::test]
async fn a_provider_that_cannot_refresh_skips_the_loop() {
    let mut f = fixture(0, LoopOptions::default());
    load(
        &mut f.writers.pods,
        [as_pod(pod("shop", "web-1", None, "3", "web"))],
    );
    f.provider.fail_next("refresh", ErrorClass::Transient);
    let r = f.na.run_once(&f.stores, at(0)).await;
    assert!(r.skipped.as_deref().unwrap().contains("refresh node groups"));
    assert!(set_target_calls(&f.provider).is_empty());
    assert!(f.api.requests().is_empty(), "nothing written on a skipped loop");
}

#[tokio::test(start_paused = true)]
async fn an_unneeded_node_is_soft_tainted_then_removed_after_the_unneeded_time() {
    let mut f = fixture(1, LoopOptions::default());
    let empty = node("a-0", "fake:///a/0", json!([]), false);
    f.nodes.nodes.lock().unwrap().insert("a-0".into(), empty.clone());
    load(&mut f.writers.nodes, [as_node(empty)]);

    let r = f.na.run_once(&f.stores, at(0)).await;
    assert_eq!(r.soft_tainted, ["a-0"]);
    assert_eq!(
        f.nodes.taint_keys("a-0"),
        ["DeletionCandidateOfClusterAutoscaler"]
    );
    assert_eq!(
        last_status(&f.api)["clusterWide"]["scaleDown"]["status"],
        "CandidatesPresent"
    );

    // The cache now shows the soft taint.
    load(&mut f.writers.nodes, [as_node(f.nodes.get("a-0"))]);
    let r = f.na.run_once(&f.stores, at(600)).await;
    assert_eq!(r.removals_started, ["a-0"]);
    assert!(events(&f.api).contains(&(
        "swell-node-autoscaler-status".into(),
        "ScaleDownEmpty".into(),
        "Scale-down: removing empty node a-0".into()
    )));
    let finished = f.na.finish_removals(false, at(605)).await;
    assert_eq!(finished, [("a-0".to_string(), true)]);
    assert!(
        f.provider
            .calls()
            .contains(&ProviderCall::DeleteNodes("a".into(), vec!["fake:///a/0".into()]))
    );
    assert_eq!(f.na.memory().last_scale_down_delete, Some(at(605)));
}

#[tokio::test]
async fn a_node_needed_again_loses_its_soft_taint() {
    let mut f = fixture(1, LoopOptions::default());
    let tainted = node(
        "a-0",
        "fake:///a/0",
        json!([{"key": "DeletionCandidateOfClusterAutoscaler", "value": "1", "effect": "PreferNoSchedule"}]),
        false,
    );
    f.nodes
        .nodes
        .lock()
        .unwrap()
        .insert("a-0".into(), tainted.clone());
    load(&mut f.writers.nodes, [as_node(tainted)]);
    // 3.5 of 4 cpu requested: above the 0.5 threshold.
    load(
        &mut f.writers.pods,
        [as_pod(pod("shop", "web-1", Some("a-0"), "3500m", "web"))],
    );
    let r = f.na.run_once(&f.stores, at(0)).await;
    assert_eq!(r.soft_untainted, ["a-0"]);
    assert!(f.nodes.taint_keys("a-0").is_empty());
}

#[tokio::test]
async fn dry_run_plans_and_explains_but_writes_nothing() {
    let mut f = fixture(
        0,
        LoopOptions {
            dry_run: true,
            ..LoopOptions::default()
        },
    );
    load(
        &mut f.writers.pods,
        [as_pod(pod("shop", "web-1", None, "3", "web"))],
    );
    let r = f.na.run_once(&f.stores, at(0)).await;
    assert!(r.scaled_up.is_empty());
    assert_eq!(f.provider.calls(), [ProviderCall::Refresh]);
    assert!(f.api.requests().is_empty(), "{:?}", f.api.requests());
    let record = f.na.decisions().last().unwrap();
    assert!(record.dry_run);
    assert_eq!(
        record.plan.scale_up.len(),
        1,
        "the plan is still made and published"
    );
    assert!(f.na.clean_leftovers(&f.stores).await.is_empty());
}

#[tokio::test]
async fn taints_left_by_an_earlier_run_are_removed_at_start() {
    let mut f = fixture(2, LoopOptions::default());
    let left = vec![
        node(
            "a-0",
            "fake:///a/0",
            json!([{"key": "ToBeDeletedByClusterAutoscaler", "value": "1", "effect": "NoSchedule"}]),
            true,
        ),
        node(
            "a-1",
            "fake:///a/1",
            json!([{"key": "DeletionCandidateOfClusterAutoscaler", "value": "1", "effect": "PreferNoSchedule"}]),
            false,
        ),
        node(
            "c-0",
            "other:///c/0",
            json!([{"key": "dedicated", "value": "x", "effect": "NoSchedule"}]),
            false,
        ),
    ];
    let mut left = left;
    left[0]["metadata"]["annotations"] = json!({"swell.dev/cordoned-by-node-autoscaler": "true"});
    for n in &left {
        f.nodes
            .nodes
            .lock()
            .unwrap()
            .insert(n["metadata"]["name"].as_str().unwrap().into(), n.clone());
    }
    load(&mut f.writers.nodes, left.into_iter().map(as_node));
    let mut cleaned = f.na.clean_leftovers(&f.stores).await;
    cleaned.sort();
    assert_eq!(cleaned, ["a-0", "a-1"]);
    assert!(f.nodes.taint_keys("a-0").is_empty() && !f.nodes.unschedulable("a-0"));
    assert!(f.nodes.taint_keys("a-1").is_empty());
    assert_eq!(
        f.nodes.taint_keys("c-0"),
        ["dedicated"],
        "other taints are not touched"
    );
    assert!(f.api.requests_to(&Method::PATCH, "/api/v1/nodes/c-0").is_empty());
}

#[tokio::test]
async fn the_status_config_map_is_created_when_missing() {
    let api = ScriptedApi::new();
    accept_events(&api);
    api.expect(Method::PATCH, STATUS_CM)
        .reply(Reply::not_found("configmaps", "swell-node-autoscaler-status"));
    api.expect(Method::POST, "/api/v1/namespaces/kube-system/configmaps")
        .reply_with(|req| Reply::json(201, with_resource_version(req.json(), "1")));
    let provider = Arc::new(FakeProvider::default().with_group("a", 0, 5, 0, t::node("t").build()));
    let recorder = Arc::new(Recorder::new(
        api.client(),
        Reporter {
            component: "cluster-autoscaler".into(),
            instance: None,
        },
        Arc::new(ManualClock::new(t0())) as Arc<dyn Clock>,
    ));
    let mut na = NodeAutoscaler::new(
        api.client(),
        provider,
        Config::default(),
        LoopOptions::default(),
        recorder,
        Telemetry::default(),
    );
    let (stores, _writers) = empty_stores();
    na.run_once(&stores, at(0)).await;
    let created = api.requests_to(&Method::POST, "/api/v1/namespaces/kube-system/configmaps");
    assert_eq!(created.len(), 1);
    let body = created[0].json();
    assert_eq!(body["metadata"]["name"], "swell-node-autoscaler-status");
    let status: serde_yaml_ng::Value =
        serde_yaml_ng::from_str(body["data"]["status"].as_str().unwrap()).unwrap();
    assert_eq!(status["autoscalerStatus"], "Running");
    assert_eq!(status["nodeGroups"][0]["health"]["cloudProviderTarget"], 0);
    api.verify();
}

#[tokio::test]
async fn a_pod_with_constraints_the_simulation_does_not_model_says_so_in_its_explanation() {
    let mut f = fixture(0, LoopOptions::default());
    let mut spread = pod("shop", "web-1", None, "3", "web");
    spread["spec"]["topologySpreadConstraints"] = json!([{"maxSkew": 1, "topologyKey": "topology.kubernetes.io/zone",
        "whenUnsatisfiable": "DoNotSchedule", "labelSelector": {"matchLabels": {"app": "web"}}}]);
    load(
        &mut f.writers.pods,
        [as_pod(spread), as_pod(pod("shop", "web-2", None, "1", "web"))],
    );
    f.na.run_once(&f.stores, at(0)).await;
    let one = f.na.decisions().pod("shop/web-1").unwrap();
    let text = one["text"].as_str().unwrap();
    assert!(
        text.contains("not modelled: spec.topologySpreadConstraints: 1 constraint(s) with whenUnsatisfiable: DoNotSchedule"),
        "{text}"
    );
    let other = f.na.decisions().pod("shop/web-2").unwrap();
    assert_eq!(other["caveats"], json!([]));
}

#[tokio::test]
async fn an_object_that_cannot_be_converted_is_left_out_and_listed() {
    let mut f = fixture(0, LoopOptions::default());
    let mut bad = pod("shop", "web-1", None, "3", "web");
    bad["spec"]["containers"][0]["resources"]["requests"]["cpu"] = json!("lots");
    load(
        &mut f.writers.pods,
        [as_pod(bad), as_pod(pod("shop", "web-2", None, "3", "web"))],
    );
    let r = f.na.run_once(&f.stores, at(0)).await;
    assert_eq!(
        r.scaled_up,
        [("a".to_string(), 0, 1)],
        "the valid pod is still served"
    );
    let record = f.na.decisions().last().unwrap();
    assert_eq!(record.skipped.len(), 1);
    assert!(
        record.skipped[0].starts_with("pod shop/web-1: spec.containers[0].resources.requests[cpu]"),
        "{}",
        record.skipped[0]
    );
}
