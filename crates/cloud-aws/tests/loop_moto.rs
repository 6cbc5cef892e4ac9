//! Tier 5: the node autoscaler's loop run with this provider against moto: a pending pod leads to a
//! larger desired capacity of the right Auto Scaling Group in the emulator, chosen from its
//! launch template's instance type (scale from zero), and the next loop does not ask again. The
//! cluster side is the scripted API server (events and the status ConfigMap are accepted).
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::sync::Arc;

use http::Method;
use k8s_openapi::api::{apps::v1::ReplicaSet, core::v1::Pod};
use serde_json::json;
use swell_cloud_aws::AwsOptions;
use swell_cloud_aws::api::{AsgApi, GroupQuery};
use swell_cloud_aws::testing::{
    ENABLED_TAG, GroupSpec, create_group, moto_api, moto_endpoint, moto_provider, unique_name,
};
use swell_core::clock::{Clock, ManualClock};
use swell_node_autoscaler::{
    Config,
    controller::{LoopOptions, NodeAutoscaler, Telemetry, empty_stores, load},
};
use swell_runtime::{
    events::{Recorder, Reporter},
    testing::{Reply, ScriptedApi, with_resource_version},
};

#[tokio::test]
async fn pending_pods_raise_the_desired_capacity_of_the_chosen_group_in_moto() {
    let Some(endpoint) = moto_endpoint("pending_pods_raise_the_desired_capacity_of_the_chosen_group_in_moto")
    else {
        return;
    };
    let api = moto_api(&endpoint).await;
    let cluster_tag = format!("k8s.io/cluster-autoscaler/{}", unique_name("loop"));
    // Two empty groups: 2-cpu m5.large and 4-cpu m5.xlarge. A pod asking for 3 cpus fits only the
    // second.
    let small = unique_name("small");
    let large = unique_name("large");
    for (name, instance_type) in [(&small, "m5.large"), (&large, "m5.xlarge")] {
        create_group(
            &api,
            &GroupSpec::new(name, 0, 5, 0)
                .tag(ENABLED_TAG, "true")
                .tag(&cluster_tag, "owned"),
            instance_type,
        )
        .await
        .unwrap();
    }
    let provider = Arc::new(
        moto_provider(
            &endpoint,
            &AwsOptions {
                auto_discovery: vec![format!("asg:tag={ENABLED_TAG},{cluster_tag}")],
                ..AwsOptions::default()
            },
        )
        .await,
    );

    let kube = ScriptedApi::new();
    for ns in ["default", "shop", "kube-system"] {
        kube.expect(Method::POST, &format!("/api/v1/namespaces/{ns}/events"))
            .any_number_of_times()
            .reply_with(|req| Reply::json(201, with_resource_version(req.json(), "1")));
    }
    kube.expect(
        Method::PATCH,
        "/api/v1/namespaces/kube-system/configmaps/swell-node-autoscaler-status",
    )
    .any_number_of_times()
    .reply_with(|req| Reply::json(200, with_resource_version(req.json(), "1")));
    let now: jiff::Timestamp = "2026-01-01T01:00:00Z".parse().unwrap();
    let recorder = Arc::new(Recorder::new(
        kube.client(),
        Reporter {
            component: "cluster-autoscaler".into(),
            instance: None,
        },
        Arc::new(ManualClock::new(now)) as Arc<dyn Clock>,
    ));
    let mut na = NodeAutoscaler::new(
        kube.client(),
        Arc::clone(&provider),
        Config::default(),
        LoopOptions::default(),
        recorder,
        Telemetry::default(),
    );
    let (stores, mut w) = empty_stores();
    let rs: ReplicaSet = serde_json::from_value(
        json!({"metadata": {"name": "web", "namespace": "shop", "uid": "uid-rs"},
        "spec": {"replicas": 1, "selector": {"matchLabels": {"app": "web"}}}}),
    )
    .unwrap();
    load(&mut w.replicasets, [rs]);
    let pod: Pod = serde_json::from_value(json!({
        "metadata": {"name": "web-1", "namespace": "shop", "uid": "uid-web-1", "creationTimestamp": "2026-01-01T00:00:00Z",
                     "labels": {"app": "web"},
                     "ownerReferences": [{"apiVersion": "apps/v1", "kind": "ReplicaSet", "name": "web", "uid": "uid-rs", "controller": true}]},
        "spec": {"containers": [{"name": "app", "resources": {"requests": {"cpu": "3", "memory": "1Gi"}}}]},
        "status": {"phase": "Pending", "conditions": [{"type": "PodScheduled", "status": "False", "reason": "Unschedulable"}]}
    }))
    .unwrap();
    load(&mut w.pods, [pod]);

    let report = na.run_once(&stores, now).await;
    assert!(report.skipped.is_none(), "{report:?}");
    assert_eq!(
        report.scaled_up,
        [(large.clone(), 0, 1)],
        "{:?}",
        na.decisions().last().map(|r| r.text.clone())
    );
    let desired = |name: String| {
        let api = &api;
        async move { api.describe_groups(&GroupQuery::Names(vec![name])).await.unwrap()[0].desired_capacity }
    };
    assert_eq!(
        desired(large.clone()).await,
        1,
        "the emulator's desired capacity went up"
    );
    assert_eq!(desired(small.clone()).await, 0);

    // moto starts the instance at once; it has not registered as a node, so the pod waits for it
    // and nothing more is asked.
    let report = na
        .run_once(&stores, now + jiff::SignedDuration::from_secs(10))
        .await;
    assert!(report.scaled_up.is_empty(), "{report:?}");
    assert_eq!(desired(large).await, 1);
}
