//! e2e: the pod autoscaler against the cluster KUBECONFIG names (skipped, saying so, without one).
//!
//! 1. A Deployment of 2 replicas on fake nodes, an HPA on CPU 50%: raising usage scales it up to
//!    the maximum, lowering it scales it down after the (flag-shortened) stabilization window; the
//!    status, conditions and events are upstream's. Needs the built-in HPA controller off.
//! 2. Shadow mode: decisions are published, neither the scale (the Deployment's generation) nor the
//!    HPA (its resourceVersion) changes, and no event is written.
//!
//! `KUBECONFIG=... cargo test -p swell-e2e -- --ignored --test-threads=1` (they are `#[ignore]`d so
//! that a plain `cargo test` counts them as not run rather than passed; run without KUBECONFIG they
//! print that they skipped and why).

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::{sync::Arc, time::Duration};

use jiff::SignedDuration;
use k8s_openapi::api::{apps::v1::Deployment, autoscaling::v2::HorizontalPodAutoscaler, core::v1::Event};
use kube::{
    Api, Client,
    api::{ListParams, PostParams},
};
use serde_json::json;
use swell_core::{clock::SystemClock, selector::Selector};
use swell_e2e::{Harness, nodes, wait_for, writer};
use swell_pod_autoscaler::{
    controller::{Controller, DecisionStore, LoopOptions, Mode, Reconciler, Telemetry},
    metrics::{ApiMetricsClient, Endpoint, EndpointOptions, MetricsRouting},
    policy::ControllerConfig,
};
use swell_runtime::{
    events::{Recorder, Reporter},
    server::Readiness,
};
use tokio_util::sync::CancellationToken;

const SYNC: Duration = Duration::from_secs(5);

async fn create_workload(client: &Client, ns: &str, label: &str) {
    let mut pod_spec = nodes::pod_placement();
    pod_spec["containers"] = json!([{"name": "app", "image": "registry.k8s.io/pause:3.10",
                                     "resources": {"requests": {"cpu": "100m"}}}]);
    let deployment: Deployment = serde_json::from_value(json!({
        "metadata": {"name": "web", "namespace": ns},
        "spec": {"replicas": 2, "selector": {"matchLabels": {"app": "web"}},
                 "template": {"metadata": {"labels": {"app": "web"}}, "spec": pod_spec}}
    }))
    .unwrap();
    Api::<Deployment>::namespaced(client.clone(), ns)
        .create(&PostParams::default(), &deployment)
        .await
        .unwrap();
    let hpa: HorizontalPodAutoscaler = serde_json::from_value(json!({
        "metadata": {"name": "web", "namespace": ns, "labels": {"swell-e2e": label}},
        "spec": {"scaleTargetRef": {"apiVersion": "apps/v1", "kind": "Deployment", "name": "web"},
                 "minReplicas": 1, "maxReplicas": 4,
                 "metrics": [{"type": "Resource", "resource": {"name": "cpu",
                              "target": {"type": "Utilization", "averageUtilization": 50}}}]}
    }))
    .unwrap();
    Api::<HorizontalPodAutoscaler>::namespaced(client.clone(), ns)
        .create(&PostParams::default(), &hpa)
        .await
        .unwrap();
}

/// Starts the controller in-process for the HPAs labelled `swell-e2e=<label>`.
async fn start_controller(h: &Harness, label: &str, mode: Mode) -> (DecisionStore, CancellationToken) {
    let clock = Arc::new(SystemClock);
    let decisions = DecisionStore::default();
    let config = ControllerConfig {
        downscale_stabilization: SignedDuration::from_secs(20),
        ..ControllerConfig::default()
    };
    let reconciler = Arc::new(Reconciler::new(
        h.client.clone(),
        Recorder::new(
            h.client.clone(),
            Reporter {
                component: "horizontal-pod-autoscaler".into(),
                instance: None,
            },
            clock.clone(),
        ),
        config,
        mode,
        Telemetry::default(),
        decisions.clone(),
        clock,
    ));
    let mut routing = MetricsRouting::aggregated(h.client.clone());
    routing.resource = Endpoint::direct(&EndpointOptions {
        url: h.adapter.url(),
        ..EndpointOptions::default()
    })
    .await
    .unwrap();
    let metrics = Arc::new(ApiMetricsClient::new(routing, h.client.clone(), SYNC));
    let shutdown = CancellationToken::new();
    let (leader_tx, leader) = tokio::sync::watch::channel(true);
    let controller = Controller {
        client: h.client.clone(),
        reconciler,
        metrics,
        options: LoopOptions {
            sync_period: SYNC,
            hpa_selector: Some(Selector::parse(&format!("swell-e2e={label}")).unwrap()),
            ..LoopOptions::default()
        },
        leader,
        readiness: Readiness::new(),
        shutdown: shutdown.clone(),
    };
    tokio::spawn(async move {
        let _keep = leader_tx;
        controller.run().await
    });
    (decisions, shutdown)
}

async fn replicas(client: &Client, ns: &str) -> i32 {
    Api::<Deployment>::namespaced(client.clone(), ns)
        .get("web")
        .await
        .unwrap()
        .spec
        .and_then(|s| s.replicas)
        .unwrap_or(0)
}

async fn hpa_events(client: &Client, ns: &str) -> Vec<(String, String)> {
    Api::<Event>::namespaced(client.clone(), ns)
        .list(&ListParams::default())
        .await
        .unwrap()
        .items
        .into_iter()
        .filter(|e| e.involved_object.kind.as_deref() == Some("HorizontalPodAutoscaler"))
        .map(|e| (e.reason.unwrap_or_default(), e.message.unwrap_or_default()))
        .collect()
}

#[tokio::test(flavor = "multi_thread")]
#[ignore = "needs a cluster: KUBECONFIG=... cargo test -p swell-e2e -- --ignored --test-threads=1"]
async fn raising_usage_scales_up_and_lowering_it_scales_down_after_the_window() {
    let Some(h) = Harness::start("scale", 2).await.unwrap() else {
        return;
    };
    let result = async {
        writer::assert_no_other_hpa_writer(&h.client, &h.namespace).await?;
        let label = h.namespace.clone();
        h.adapter.set_cpu_milli(30);
        create_workload(&h.client, &h.namespace, &label).await;
        let (_decisions, stop) = start_controller(&h, &label, Mode::Active).await;

        // 90% of the 100m request against a 50% target: 2 -> ceil(2 x 1.8) = 4 (the maximum).
        h.adapter.set_cpu_milli(90);
        wait_for("the scale-up to 4 replicas", Duration::from_secs(120), || async {
            (replicas(&h.client, &h.namespace).await == 4).then_some(())
        })
        .await?;
        let hpa = Api::<HorizontalPodAutoscaler>::namespaced(h.client.clone(), &h.namespace)
            .get("web")
            .await
            .unwrap();
        let status = hpa.status.unwrap();
        assert_eq!(status.desired_replicas, 4);
        let conditions = status.conditions.unwrap();
        let reason = |t: &str| {
            conditions
                .iter()
                .find(|c| c.type_ == t)
                .and_then(|c| c.reason.clone())
                .unwrap_or_default()
        };
        assert_eq!(reason("AbleToScale"), "SucceededRescale");
        assert_eq!(reason("ScalingActive"), "ValidMetricFound");
        let events = hpa_events(&h.client, &h.namespace).await;
        assert!(
            events.iter().any(|(r, m)| r == "SuccessfulRescale"
                && m == "New size: 4; reason: cpu resource utilization (percentage of request) above target"),
            "{events:?}"
        );

        // 10%: the recommendation is 1, held back for the 20s window, then applied.
        h.adapter.set_cpu_milli(10);
        let lowered = tokio::time::Instant::now();
        wait_for(
            "the scale-down to 1 replica",
            Duration::from_secs(180),
            || async { (replicas(&h.client, &h.namespace).await == 1).then_some(()) },
        )
        .await?;
        assert!(
            lowered.elapsed() >= Duration::from_secs(20),
            "scaled down before the window"
        );
        let events = hpa_events(&h.client, &h.namespace).await;
        assert!(
            events.iter().any(
                |(r, m)| r == "SuccessfulRescale" && m == "New size: 1; reason: All metrics below target"
            ),
            "{events:?}"
        );
        stop.cancel();
        Ok::<(), swell_e2e::Error>(())
    }
    .await;
    h.cleanup().await;
    result.unwrap();
}

#[tokio::test(flavor = "multi_thread")]
#[ignore = "needs a cluster: KUBECONFIG=... cargo test -p swell-e2e -- --ignored --test-threads=1"]
async fn shadow_mode_publishes_decisions_and_writes_neither_scale_nor_status() {
    let Some(h) = Harness::start("shadow", 1).await.unwrap() else {
        return;
    };
    let result = async {
        // The built-in controller would change the same objects: this test needs it off too.
        writer::assert_no_other_hpa_writer(&h.client, &h.namespace).await?;
        let label = h.namespace.clone();
        h.adapter.set_cpu_milli(90);
        create_workload(&h.client, &h.namespace, &label).await;
        wait_for("2 ready replicas", Duration::from_secs(60), || async {
            let d = Api::<Deployment>::namespaced(h.client.clone(), &h.namespace)
                .get("web")
                .await
                .ok()?;
            (d.status?.ready_replicas? == 2).then_some(())
        })
        .await?;
        let deployments = Api::<Deployment>::namespaced(h.client.clone(), &h.namespace);
        let hpas = Api::<HorizontalPodAutoscaler>::namespaced(h.client.clone(), &h.namespace);
        // A scale write bumps the Deployment's generation (its status keeps changing on its own,
        // so its resourceVersion proves nothing); nobody else writes the HPA.
        let before = (
            deployments.get("web").await.unwrap().metadata.generation,
            hpas.get("web").await.unwrap().metadata.resource_version,
        );
        let (decisions, stop) = start_controller(&h, &label, Mode::Shadow).await;
        let record = wait_for("a shadow decision", Duration::from_secs(60), || async {
            decisions.list().into_iter().find(|r| r.name == "web")
        })
        .await?;
        assert_eq!(record.desired_replicas, 4);
        assert!(!record.scale_written && !record.status_written);
        // Three more cycles.
        tokio::time::sleep(SYNC * 3).await;
        let after = (
            deployments.get("web").await.unwrap().metadata.generation,
            hpas.get("web").await.unwrap().metadata.resource_version,
        );
        assert_eq!(before, after, "shadow mode wrote the scale or the status");
        assert!(hpa_events(&h.client, &h.namespace).await.is_empty());
        stop.cancel();
        Ok::<(), swell_e2e::Error>(())
    }
    .await;
    h.cleanup().await;
    result.unwrap();
}
