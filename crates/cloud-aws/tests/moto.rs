//! Tier-5 tests: the provider with the real SDK client against moto (`scripts/moto.sh start`, which
//! `make test` runs). They read `SWELL_MOTO_ENDPOINT`; without it they fail under CI and say they are
//! skipped elsewhere. moto's state is global per server, so every test uses its own group names and
//! its own cluster tag.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use swell_cloud_aws::AwsOptions;
use swell_cloud_aws::api::{AsgApi, GroupQuery, LaunchTemplateRef};
use swell_cloud_aws::provider::parse_provider_id;
use swell_cloud_aws::testing::{
    ENABLED_TAG, GroupSpec, create_group, create_group_on_launch_template, moto_api, moto_endpoint,
    moto_provider, unique_name,
};
use swell_node_autoscaler::provider::{ErrorClass, InstanceState, NodeGroupProvider};

async fn desired_in_moto(endpoint: &str, group: &str) -> (usize, Vec<String>) {
    let api = moto_api(endpoint).await;
    let groups = api
        .describe_groups(&GroupQuery::Names(vec![group.into()]))
        .await
        .unwrap();
    let g = &groups[0];
    let mut live: Vec<String> = g
        .instances
        .iter()
        .filter(|i| !i.lifecycle_state.starts_with("Terminat"))
        .map(|i| i.id.clone())
        .collect();
    live.sort();
    (g.desired_capacity, live)
}

fn static_options(name: &str, min: usize, max: usize) -> AwsOptions {
    AwsOptions {
        nodes: vec![format!("{min}:{max}:{name}")],
        ..AwsOptions::default()
    }
}

#[tokio::test]
async fn discovers_tagged_groups_and_static_groups_in_moto() {
    let Some(endpoint) = moto_endpoint("discovers_tagged_groups_and_static_groups_in_moto") else {
        return;
    };
    let api = moto_api(&endpoint).await;
    let cluster_tag = format!("k8s.io/cluster-autoscaler/{}", unique_name("cluster"));
    let owned = unique_name("owned");
    let other = unique_name("other-cluster");
    let untagged = unique_name("untagged");
    let pool_label = "k8s.io/cluster-autoscaler/node-template/label/pool";
    create_group(
        &api,
        &GroupSpec::new(&owned, 0, 10, 1)
            .tag(ENABLED_TAG, "true")
            .tag(&cluster_tag, "owned")
            .tag(pool_label, "general"),
        "m5.large",
    )
    .await
    .unwrap();
    create_group(
        &api,
        &GroupSpec::new(&other, 0, 10, 0)
            .tag(ENABLED_TAG, "true")
            .tag(&cluster_tag, "shared"),
        "m5.large",
    )
    .await
    .unwrap();
    create_group(&api, &GroupSpec::new(&untagged, 0, 10, 0), "g4dn.xlarge")
        .await
        .unwrap();

    let options = AwsOptions {
        auto_discovery: vec![format!("asg:tag={ENABLED_TAG},{cluster_tag}=owned")],
        nodes: vec![format!("1:3:{untagged}")],
        ..AwsOptions::default()
    };
    let p = moto_provider(&endpoint, &options).await;
    p.refresh().await.unwrap();
    let mut groups: Vec<_> = p
        .node_groups()
        .into_iter()
        .map(|g| (g.id, g.min, g.max, g.target))
        .collect();
    groups.sort();
    let mut want = vec![(owned.clone(), 0, 10, 1), (untagged.clone(), 1, 3, 0)];
    want.sort();
    assert_eq!(groups, want, "the group tagged for another cluster is left out");

    // Templates from the launch configuration, the tags and the zone.
    let t = p.template(&owned).unwrap();
    assert_eq!((t.capacity.cpu, t.capacity.memory), (2000, 8192 << 20));
    assert_eq!(t.labels["pool"], "general");
    assert_eq!(t.labels["topology.kubernetes.io/zone"], "us-east-1a");
    assert_eq!(p.template(&untagged).unwrap().capacity.get("nvidia.com/gpu"), 1);

    // The instance moto launched maps back to its group.
    let instances = p.instances(&owned).unwrap();
    assert_eq!(instances.len(), 1);
    assert_eq!(instances[0].state, InstanceState::Running);
    let (zone, id) = parse_provider_id(&instances[0].provider_id).unwrap();
    assert_eq!(zone, "us-east-1a");
    assert!(id.starts_with("i-"), "{id}");
    assert_eq!(p.node_group_for_node(&instances[0].provider_id), Some(owned));
}

#[tokio::test]
async fn scales_a_group_up_and_sees_its_instances() {
    let Some(endpoint) = moto_endpoint("scales_a_group_up_and_sees_its_instances") else {
        return;
    };
    let api = moto_api(&endpoint).await;
    let name = unique_name("up");
    create_group(&api, &GroupSpec::new(&name, 0, 5, 1), "m5.large")
        .await
        .unwrap();
    let p = moto_provider(&endpoint, &static_options(&name, 0, 5)).await;
    p.refresh().await.unwrap();
    assert_eq!(p.instances(&name).unwrap().len(), 1);

    p.set_target_size(&name, 3).await.unwrap();
    assert_eq!(desired_in_moto(&endpoint, &name).await.0, 3);
    p.refresh().await.unwrap();
    assert_eq!(p.node_groups()[0].target, 3);
    let instances = p.instances(&name).unwrap();
    assert_eq!(instances.len(), 3);
    for i in &instances {
        assert_eq!(i.state, InstanceState::Running, "{i:?}");
        assert!(i.provider_id.starts_with("aws:///us-east-1a/i-"), "{i:?}");
        assert_eq!(
            p.node_group_for_node(&i.provider_id).as_deref(),
            Some(name.as_str())
        );
    }
}

#[tokio::test]
async fn terminates_an_instance_with_decrement_and_desired_capacity_drops() {
    let Some(endpoint) = moto_endpoint("terminates_an_instance_with_decrement_and_desired_capacity_drops")
    else {
        return;
    };
    let api = moto_api(&endpoint).await;
    let name = unique_name("down");
    create_group(&api, &GroupSpec::new(&name, 1, 5, 3), "m5.large")
        .await
        .unwrap();
    let p = moto_provider(&endpoint, &static_options(&name, 1, 5)).await;
    p.refresh().await.unwrap();
    let (_, before) = desired_in_moto(&endpoint, &name).await;
    assert_eq!(before.len(), 3);
    let victim = p.instances(&name).unwrap()[0].provider_id.clone();
    let victim_id = parse_provider_id(&victim).unwrap().1.to_string();

    p.delete_nodes(&name, std::slice::from_ref(&victim))
        .await
        .unwrap();
    let (desired, live) = desired_in_moto(&endpoint, &name).await;
    assert_eq!(desired, 2, "desired capacity decremented");
    assert_eq!(live.len(), 2, "no replacement launched: {live:?}");
    assert!(!live.contains(&victim_id), "{victim_id} is gone: {live:?}");
    p.refresh().await.unwrap();
    assert_eq!(p.node_groups()[0].target, 2);
    assert_eq!(p.node_group_for_node(&victim), None);
}

#[tokio::test]
async fn refuses_to_go_below_min_or_above_max_in_moto() {
    let Some(endpoint) = moto_endpoint("refuses_to_go_below_min_or_above_max_in_moto") else {
        return;
    };
    let api = moto_api(&endpoint).await;
    let name = unique_name("bounds");
    create_group(
        &api,
        &GroupSpec::new(&name, 2, 4, 2).tag(ENABLED_TAG, "true"),
        "m5.large",
    )
    .await
    .unwrap();
    let options = AwsOptions {
        auto_discovery: vec![format!("asg:tag={ENABLED_TAG}=true")],
        ..AwsOptions::default()
    };
    let p = moto_provider(&endpoint, &options).await;
    p.refresh().await.unwrap();
    let info = p.node_groups().into_iter().find(|g| g.id == name).unwrap();
    assert_eq!((info.min, info.max), (2, 4), "the ASG's own MinSize and MaxSize");
    let before = desired_in_moto(&endpoint, &name).await;

    let victim = p.instances(&name).unwrap()[0].provider_id.clone();
    let err = p.delete_nodes(&name, &[victim]).await.unwrap_err();
    assert_eq!(err.class, ErrorClass::Fatal);
    assert!(err.message.contains("below its minimum size 2"), "{err}");
    // moto would accept a desired capacity above MaxSize; the provider does not send it.
    let err = p.set_target_size(&name, 5).await.unwrap_err();
    assert_eq!(err.class, ErrorClass::Fatal);
    assert_eq!(
        desired_in_moto(&endpoint, &name).await,
        before,
        "nothing changed in moto"
    );
}

#[tokio::test]
async fn template_from_a_launch_template_through_the_signed_ec2_call() {
    let Some(endpoint) = moto_endpoint("template_from_a_launch_template_through_the_signed_ec2_call") else {
        return;
    };
    let api = moto_api(&endpoint).await;
    let name = unique_name("lt");
    // At zero: no instance to learn the type from, so only EC2 can tell.
    create_group_on_launch_template(&api, &GroupSpec::new(&name, 0, 5, 0), "c5.xlarge")
        .await
        .unwrap();
    let p = moto_provider(&endpoint, &static_options(&name, 0, 5)).await;
    p.refresh().await.unwrap();
    let t = p.template(&name).unwrap();
    assert_eq!(t.labels["node.kubernetes.io/instance-type"], "c5.xlarge");
    assert_eq!((t.capacity.cpu, t.capacity.memory), (4000, 8192 << 20));

    // EC2's own error answer, read and classified.
    let missing = LaunchTemplateRef {
        id: None,
        name: Some(unique_name("missing")),
        version: None,
    };
    let err = api
        .describe_launch_template_instance_type(&missing)
        .await
        .unwrap_err();
    assert_eq!(err.class, ErrorClass::NotFound, "{err}");
    assert!(
        err.code.as_deref().is_some_and(|c| c.contains("NotFound")),
        "{err:?}"
    );
}

#[tokio::test]
async fn describes_more_static_groups_than_one_call_may_name() {
    let Some(endpoint) = moto_endpoint("describes_more_static_groups_than_one_call_may_name") else {
        return;
    };
    let api = moto_api(&endpoint).await;
    let prefix = unique_name("many");
    let names: Vec<String> = (0..60).map(|i| format!("{prefix}-{i:02}")).collect();
    for name in &names {
        create_group(&api, &GroupSpec::new(name, 0, 3, 0), "m5.large")
            .await
            .unwrap();
    }
    let options = AwsOptions {
        nodes: names.iter().map(|n| format!("0:3:{n}")).collect(),
        ..AwsOptions::default()
    };
    let p = moto_provider(&endpoint, &options).await;
    p.refresh().await.unwrap();
    let found: Vec<String> = p.node_groups().into_iter().map(|g| g.id).collect();
    // Two calls of at most 50 names each, merged. (moto does not enforce AWS's limit of 50, so this
    // shows the merge, not the limit.)
    assert_eq!(found, names);
    // Their 60 launch configurations too: every template is built.
    for name in &names {
        assert_eq!(p.template(name).unwrap().capacity.cpu, 2000, "{name}");
    }
}
