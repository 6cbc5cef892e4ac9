//! e2e: the node autoscaler with the kwok provider against the cluster KUBECONFIG names (skipped,
//! saying so, without one).
//!
//! A node group of 2-cpu fake nodes (unique to the test) starts empty. A Deployment of 450m pods
//! (four fit a node) is scaled past capacity: the group grows and every pod is bound and running.
//! Scaled back, the under-used nodes are drained and deleted, while a watch on the pods checks at
//! every change that the PodDisruptionBudget (`maxUnavailable: 1`) is never violated: never fewer
//! than `replicas - 1` ready pods once the Deployment has settled.
//!
//! The test runs the controller in-process (the same `Controller::run` as `swell node-autoscaler`),
//! renews the fake nodes' heartbeats through the provider, and plays the kubelet for pods bound to
//! the group's nodes. On a cluster that runs kwok, set `SWELL_E2E_KWOK=1` and kwok plays both.
//!
//! `KUBECONFIG=... cargo test -p swell-e2e --test node_autoscaler -- --ignored --nocapture`

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::{
    collections::BTreeMap,
    sync::{Arc, Mutex},
    time::Duration,
};

use futures::StreamExt;
use jiff::SignedDuration;
use k8s_openapi::api::{
    apps::v1::Deployment,
    core::v1::{Node, Pod},
    policy::v1::PodDisruptionBudget,
};
use kube::{
    Api, Client,
    api::{DeleteParams, ListParams, Patch, PatchParams, PostParams},
    runtime::{WatchStreamExt, watcher},
};
use serde_json::json;
use swell_cloud_kwok::{KwokProvider, declaration, nodes::GROUP_LABEL};
use swell_core::clock::{Clock, SystemClock};
use swell_e2e::{Harness, kubelet, nodes, wait_for};
use swell_node_autoscaler::{
    Config,
    controller::{Controller, LoopOptions, NodeAutoscaler, Telemetry},
};
use swell_runtime::{
    events::{Recorder, Reporter},
    server::Readiness,
};
use tokio_util::sync::CancellationToken;

const POD_CPU: &str = "450m";

fn declaration_text(group: &str) -> String {
    format!(
        "nodeGroups:\n  {group}:\n    minSize: 0\n    maxSize: 4\n    template:\n      cpu: \"2\"\n      memory: 8Gi\n      pods: 110\n      labels:\n        type: kwok\n      taints:\n        - key: {taint}\n          value: fake\n          effect: NoSchedule\n",
        taint = nodes::KWOK_TAINT
    )
}

async fn scale(client: &Client, ns: &str, replicas: i32) {
    Api::<Deployment>::namespaced(client.clone(), ns)
        .patch(
            "web",
            &PatchParams::default(),
            &Patch::Merge(json!({"spec": {"replicas": replicas}})),
        )
        .await
        .unwrap();
}

fn is_ready(p: &Pod) -> bool {
    p.metadata.deletion_timestamp.is_none()
        && p.status
            .as_ref()
            .and_then(|s| s.conditions.as_ref())
            .is_some_and(|c| c.iter().any(|c| c.type_ == "Ready" && c.status == "True"))
}

async fn group_nodes(client: &Client, group: &str) -> Vec<String> {
    Api::<Node>::all(client.clone())
        .list(&ListParams::default().labels(&format!("{GROUP_LABEL}={group}")))
        .await
        .unwrap()
        .items
        .into_iter()
        .filter(|n| n.metadata.deletion_timestamp.is_none())
        .filter_map(|n| n.metadata.name)
        .collect()
}

async fn ready_pods_on_group(client: &Client, ns: &str, group: &str) -> usize {
    let nodes = group_nodes(client, group).await;
    Api::<Pod>::namespaced(client.clone(), ns)
        .list(&ListParams::default().labels("app=web"))
        .await
        .unwrap()
        .items
        .iter()
        .filter(|p| is_ready(p))
        .filter(|p| {
            p.spec
                .as_ref()
                .and_then(|s| s.node_name.as_ref())
                .is_some_and(|n| nodes.contains(n))
        })
        .count()
}

#[tokio::test]
#[ignore = "needs a cluster: set KUBECONFIG and run with --ignored"]
async fn scale_up_adds_nodes_and_scale_down_drains_them_within_the_pdb() {
    let Some(h) = Harness::start("na-drain", 0).await.unwrap() else {
        return;
    };
    let client = h.client.clone();
    let ns = h.namespace.clone();
    // A group name of our own, so that nothing else in the cluster is touched.
    let group = format!("e2e-{}", ns.rsplit('-').next().unwrap());
    let stop = CancellationToken::new();
    let clock: Arc<dyn Clock> = Arc::new(SystemClock);

    let provider = Arc::new(KwokProvider::new(
        client.clone(),
        declaration::parse(&declaration_text(&group), "e2e").unwrap(),
        clock.clone(),
    ));
    let kwok_in_cluster = std::env::var("SWELL_E2E_KWOK").is_ok_and(|v| v == "1");
    if !kwok_in_cluster {
        let prefix = format!("{group}-");
        tokio::spawn(kubelet::run_matching(
            client.clone(),
            ns.clone(),
            Arc::new(move |n: &str| n.starts_with(&prefix)),
            kubelet::Timing::default(),
            stop.clone(),
        ));
        let p = Arc::clone(&provider);
        let token = stop.clone();
        tokio::spawn(async move {
            let mut tick = tokio::time::interval(nodes::HEARTBEAT);
            loop {
                tokio::select! {
                    () = token.cancelled() => break,
                    _ = tick.tick() => { let _ = p.heartbeat().await; }
                }
            }
        });
    }

    let mut config = Config::default();
    config.scale_down.unneeded_time = SignedDuration::from_secs(20);
    config.scale_down.delay_after_add = SignedDuration::from_secs(20);
    config.scale_down.unremovable_node_recheck_timeout = SignedDuration::from_secs(20);
    let recorder = Arc::new(Recorder::new(
        client.clone(),
        Reporter {
            component: "cluster-autoscaler".into(),
            instance: None,
        },
        clock.clone(),
    ));
    let autoscaler = NodeAutoscaler::new(
        client.clone(),
        Arc::clone(&provider),
        config,
        LoopOptions {
            scan_interval: Duration::from_secs(5),
            namespace: ns.clone(),
            ..LoopOptions::default()
        },
        recorder,
        Telemetry::default(),
    );
    let decisions = autoscaler.decisions();
    let (_leader_tx, leader) = tokio::sync::watch::channel(true);
    let controller = tokio::spawn(
        Controller {
            client: client.clone(),
            autoscaler,
            leader,
            readiness: Readiness::new(),
            shutdown: stop.clone(),
            clock,
        }
        .run(),
    );

    // A Deployment of one 450m pod, and its PDB.
    let mut pod_spec = nodes::pod_placement();
    pod_spec["containers"] = json!([{"name": "app", "image": "registry.k8s.io/pause:3.10",
                                     "resources": {"requests": {"cpu": POD_CPU, "memory": "256Mi"}}}]);
    pod_spec["terminationGracePeriodSeconds"] = json!(1);
    let deployment: Deployment = serde_json::from_value(json!({
        "metadata": {"name": "web", "namespace": ns},
        "spec": {"replicas": 1, "selector": {"matchLabels": {"app": "web"}},
                 "template": {"metadata": {"labels": {"app": "web"}}, "spec": pod_spec}}
    }))
    .unwrap();
    Api::<Deployment>::namespaced(client.clone(), &ns)
        .create(&PostParams::default(), &deployment)
        .await
        .unwrap();
    let pdb: PodDisruptionBudget = serde_json::from_value(json!({
        "metadata": {"name": "web", "namespace": ns},
        "spec": {"maxUnavailable": 1, "selector": {"matchLabels": {"app": "web"}}}
    }))
    .unwrap();
    Api::<PodDisruptionBudget>::namespaced(client.clone(), &ns)
        .create(&PostParams::default(), &pdb)
        .await
        .unwrap();

    // Past capacity: 9 pods need 3 nodes (4 + 4 + 1).
    scale(&client, &ns, 9).await;
    wait_for(
        "9 ready pods on the group's nodes",
        Duration::from_secs(240),
        || async { (ready_pods_on_group(&client, &ns, &group).await == 9).then_some(()) },
    )
    .await
    .unwrap();
    let grown = group_nodes(&client, &group).await;
    eprintln!("grown to {} nodes: {grown:?}", grown.len());
    assert!(grown.len() >= 3, "{grown:?}");
    assert!(grown.len() <= 4, "no more than the max: {grown:?}");

    // Back to 4: once settled, watch every pod change during the consolidation.
    scale(&client, &ns, 4).await;
    wait_for("4 ready pods", Duration::from_secs(120), || async {
        (ready_pods_on_group(&client, &ns, &group).await == 4).then_some(())
    })
    .await
    .unwrap();
    let ready: Arc<Mutex<BTreeMap<String, bool>>> = Arc::default();
    let lowest = Arc::new(Mutex::new(usize::MAX));
    {
        let ready = Arc::clone(&ready);
        let lowest = Arc::clone(&lowest);
        let api = Api::<Pod>::namespaced(client.clone(), &ns);
        let token = stop.clone();
        tokio::spawn(async move {
            let mut events =
                std::pin::pin!(watcher(api, watcher::Config::default().labels("app=web")).default_backoff());
            loop {
                let event = tokio::select! {
                    () = token.cancelled() => break,
                    e = events.next() => match e { Some(Ok(e)) => e, Some(Err(_)) => continue, None => break },
                };
                let mut r = ready.lock().unwrap();
                match event {
                    watcher::Event::Apply(p) | watcher::Event::InitApply(p) => {
                        r.insert(p.metadata.name.clone().unwrap_or_default(), is_ready(&p));
                    }
                    watcher::Event::Delete(p) => {
                        r.remove(&p.metadata.name.clone().unwrap_or_default());
                    }
                    watcher::Event::Init => r.clear(),
                    watcher::Event::InitDone => {}
                }
                let now_ready = r.values().filter(|v| **v).count();
                let mut low = lowest.lock().unwrap();
                *low = (*low).min(now_ready);
            }
        });
    }

    let before = group_nodes(&client, &group).await.len();
    wait_for(
        "the group to shrink to one node",
        Duration::from_secs(400),
        || async {
            let n = group_nodes(&client, &group).await.len();
            let ready = ready_pods_on_group(&client, &ns, &group).await;
            (n == 1 && ready == 4).then_some(())
        },
    )
    .await
    .unwrap_or_else(|e| {
        let text = decisions.last().map(|r| r.text.clone()).unwrap_or_default();
        panic!("{e}\nlast plan:\n{text}");
    });
    let lowest = *lowest.lock().unwrap();
    eprintln!("shrunk from {before} nodes to 1; fewest ready pods during the drains: {lowest}");
    assert!(
        lowest >= 3,
        "the PDB (maxUnavailable: 1 of 4) was violated: {lowest} ready"
    );

    // Events in CA's words on the status ConfigMap.
    let events = Api::<k8s_openapi::api::core::v1::Event>::namespaced(client.clone(), &ns)
        .list(&ListParams::default())
        .await
        .unwrap()
        .items;
    assert!(
        events
            .iter()
            .any(|e| e.reason.as_deref() == Some("ScaledUpGroup"))
    );

    stop.cancel();
    let _ = controller.await;
    for n in group_nodes(&client, &group).await {
        let _ = Api::<Node>::all(client.clone())
            .delete(&n, &DeleteParams::default())
            .await;
    }
    h.cleanup().await;
}
