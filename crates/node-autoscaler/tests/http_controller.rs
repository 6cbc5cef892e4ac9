//! Tier 3: `Controller::run` against the scripted API server: the reflectors list and watch every
//! resource the snapshot needs, `/readyz` turns ready only once all of them synced, the taints an
//! earlier run left are removed before the first loop, the first loop plans on the synced caches
//! (a pending pod grows the group), and shutdown stops the controller cleanly.

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::{sync::Arc, time::Duration};

use common::*;
use http::Method;
use serde_json::{Value, json};
use swell_core::clock::{Clock, ManualClock};
use swell_node_autoscaler::{
    Config,
    controller::{Controller, LoopOptions, NodeAutoscaler, Telemetry},
    testing::{self as t, FakeProvider, ProviderCall},
};
use swell_runtime::{
    events::{Recorder, Reporter},
    server::Readiness,
    testing::{Reply, ScriptedApi, with_resource_version},
};
use tokio_util::sync::CancellationToken;

fn is_watch(q: Option<&str>) -> bool {
    q.is_some_and(|q| q.contains("watch=true"))
}

/// A list answered (after `delay`), then a watch held open for a day.
fn list_and_watch(api: &ScriptedApi, path: &str, kind: &str, items: Vec<Value>, delay: Duration) {
    api.expect(Method::GET, path)
        .query("list", |q| !is_watch(q))
        .delay(delay)
        .reply_json(
            200,
            json!({"kind": kind, "apiVersion": "v1", "metadata": {"resourceVersion": "5"}, "items": items}),
        );
    api.expect(Method::GET, path)
        .query("watch", is_watch)
        .any_number_of_times()
        .delay(Duration::from_secs(86_400))
        .reply(Reply::watch([]));
}

#[tokio::test(start_paused = true)]
async fn run_syncs_every_cache_cleans_leftovers_then_plans_and_stops_on_shutdown() {
    let api = ScriptedApi::new();
    let leftover = {
        let mut n = node(
            "a-0",
            "fake:///a/0",
            json!([{"key": "ToBeDeletedByClusterAutoscaler", "value": "1", "effect": "NoSchedule"}]),
            true,
        );
        n["metadata"]["annotations"] = json!({"swell.dev/cordoned-by-node-autoscaler": "true"});
        n
    };
    let nodes = NodeServer::install(&api, vec![leftover.clone()]);
    accept_events(&api);
    api.expect(
        Method::PATCH,
        "/api/v1/namespaces/kube-system/configmaps/swell-node-autoscaler-status",
    )
    .any_number_of_times()
    .reply_with(|req| Reply::json(200, with_resource_version(req.json(), "3")));

    let quick = Duration::ZERO;
    list_and_watch(&api, "/api/v1/nodes", "NodeList", vec![leftover], quick);
    list_and_watch(
        &api,
        "/api/v1/pods",
        "PodList",
        vec![
            pod("shop", "busy", Some("a-0"), "2", "web"),
            pod("shop", "web-1", None, "3", "web"),
        ],
        quick,
    );
    list_and_watch(
        &api,
        "/apis/policy/v1/poddisruptionbudgets",
        "PodDisruptionBudgetList",
        vec![],
        quick,
    );
    list_and_watch(&api, "/apis/apps/v1/daemonsets", "DaemonSetList", vec![], quick);
    // The namespaces answer late: nothing may be planned before.
    list_and_watch(
        &api,
        "/api/v1/namespaces",
        "NamespaceList",
        vec![],
        Duration::from_secs(30),
    );
    list_and_watch(
        &api,
        "/apis/apps/v1/replicasets",
        "ReplicaSetList",
        vec![replicaset("web", 2)],
        quick,
    );
    list_and_watch(
        &api,
        "/api/v1/replicationcontrollers",
        "ReplicationControllerList",
        vec![],
        quick,
    );
    list_and_watch(
        &api,
        "/apis/apps/v1/statefulsets",
        "PartialObjectMetadataList",
        vec![],
        quick,
    );
    list_and_watch(
        &api,
        "/apis/batch/v1/jobs",
        "PartialObjectMetadataList",
        vec![],
        quick,
    );

    let provider = Arc::new(FakeProvider::default().with_group("a", 0, 5, 1, t::node("t").build()));
    let clock: Arc<dyn Clock> = Arc::new(ManualClock::new("2026-01-01T01:00:00Z".parse().unwrap()));
    let recorder = Arc::new(Recorder::new(
        api.client(),
        Reporter {
            component: "cluster-autoscaler".into(),
            instance: None,
        },
        clock.clone(),
    ));
    let autoscaler = NodeAutoscaler::new(
        api.client(),
        Arc::clone(&provider),
        Config::default(),
        LoopOptions::default(),
        recorder,
        Telemetry::default(),
    );
    let decisions = autoscaler.decisions();
    let readiness = Readiness::new();
    let shutdown = CancellationToken::new();
    let (_leader_tx, leader) = tokio::sync::watch::channel(true);
    let task = tokio::spawn(
        Controller {
            client: api.client(),
            autoscaler,
            leader,
            readiness: readiness.clone(),
            shutdown: shutdown.clone(),
            clock,
        }
        .run(),
    );

    tokio::time::sleep(Duration::from_secs(20)).await;
    assert!(
        !readiness.is_ready(),
        "not ready while the namespaces have not synced"
    );
    assert!(provider.calls().is_empty(), "no loop before every cache synced");

    tokio::time::sleep(Duration::from_secs(15)).await;
    assert!(readiness.is_ready());
    assert!(nodes.taint_keys("a-0").is_empty(), "the leftover taint is gone");
    assert!(!nodes.unschedulable("a-0"), "Swell's cordon is lifted");
    assert!(
        provider
            .calls()
            .contains(&ProviderCall::SetTargetSize("a".into(), 2)),
        "{:?}",
        provider.calls()
    );
    let grows = provider
        .calls()
        .iter()
        .filter(|c| matches!(c, ProviderCall::SetTargetSize(..)))
        .count();
    assert_eq!(grows, 1, "later loops count the requested node as upcoming");
    let record = decisions.last().expect("the loops published");
    assert!(record.text.contains("web-1"), "{}", record.text);

    shutdown.cancel();
    task.await.unwrap().unwrap();
    assert!(!readiness.is_ready());
    assert!(api.unexpected().is_empty(), "{:?}", api.unexpected());
}
