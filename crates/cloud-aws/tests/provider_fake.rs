//! Tier-2 tests of the provider's logic over the fake Auto Scaling API: discovery, bounds,
//! providerID mapping, templates from every launch source and from tags, unfulfilled capacity, the
//! minimum-size guard and error classes.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::sync::Arc;

use jiff::{SignedDuration, Timestamp};
use swell_cloud_aws::api::{Activity, ApiError, GroupQuery, TagFilter};
use swell_cloud_aws::provider::{instance_state, parse_provider_id, provider_id, unfulfilled_activity};
use swell_cloud_aws::testing::{ApiCall, AsgGroupExt, ENABLED_TAG, FakeAsgApi, asg};
use swell_cloud_aws::{AwsOptions, AwsProvider};
use swell_core::clock::ManualClock;
use swell_node_autoscaler::model::{GroupOptions, Taint, TaintEffect};
use swell_node_autoscaler::provider::{ErrorClass, Instance, InstanceState, NodeGroupProvider};

const CLUSTER_TAG: &str = "k8s.io/cluster-autoscaler/prod";

fn t0() -> Timestamp {
    "2026-11-25T12:00:00Z".parse().unwrap()
}

fn provider(api: FakeAsgApi, auto: &[&str], nodes: &[&str]) -> (AwsProvider<FakeAsgApi>, Arc<ManualClock>) {
    let options = AwsOptions {
        auto_discovery: auto.iter().map(|s| s.to_string()).collect(),
        nodes: nodes.iter().map(|s| s.to_string()).collect(),
        ..AwsOptions::default()
    };
    let clock = Arc::new(ManualClock::new(t0()));
    let p = AwsProvider::new(
        api,
        options.discovery().unwrap(),
        Some("us-east-1".into()),
        clock.clone(),
    );
    (p, clock)
}

fn discovered(group: swell_cloud_aws::api::AsgGroup) -> swell_cloud_aws::api::AsgGroup {
    group.tag(ENABLED_TAG, "true").tag(CLUSTER_TAG, "owned")
}

const AUTO: &str = "asg:tag=k8s.io/cluster-autoscaler/enabled,k8s.io/cluster-autoscaler/prod=owned";

fn mutations(p: &AwsProvider<FakeAsgApi>) -> Vec<ApiCall> {
    p.api().calls().into_iter().filter(ApiCall::is_mutation).collect()
}

fn activity(at: Timestamp, status: &str, message: &str) -> Activity {
    Activity {
        start_time: at,
        status_code: status.into(),
        status_message: message.into(),
        description: "Launching a new EC2 instance.  Status Reason: ...".into(),
    }
}

#[tokio::test]
async fn discovers_groups_carrying_all_tags_and_static_groups_with_their_spec_bounds() {
    let api = FakeAsgApi::default()
        .with_group(discovered(asg("a", 0, 10, 0)))
        .with_group(asg("b", 0, 10, 0).tag(ENABLED_TAG, "true"))
        .with_group(
            asg("w", 0, 10, 0)
                .tag(ENABLED_TAG, "true")
                .tag(CLUSTER_TAG, "shared"),
        )
        .with_group(asg("c", 0, 10, 0));
    let (p, _) = provider(api, &[AUTO], &["1:4:c", "1:4:missing"]);
    p.refresh().await.unwrap();
    let groups: Vec<_> = p
        .node_groups()
        .into_iter()
        .map(|g| (g.id, g.min, g.max, g.target))
        .collect();
    assert_eq!(groups, vec![("a".into(), 0, 10, 0), ("c".into(), 1, 4, 0)]);
    assert_eq!(
        p.api().calls()[..2],
        [
            ApiCall::DescribeGroups(GroupQuery::Tags(vec![
                TagFilter {
                    key: ENABLED_TAG.into(),
                    value: None
                },
                TagFilter {
                    key: CLUSTER_TAG.into(),
                    value: Some("owned".into())
                },
            ])),
            ApiCall::DescribeGroups(GroupQuery::Names(vec!["c".into(), "missing".into()])),
        ]
    );
}

#[tokio::test]
async fn a_failed_refresh_is_classified_and_keeps_the_last_view() {
    let api = FakeAsgApi::default().with_group(discovered(asg("a", 0, 10, 0)));
    let (p, _) = provider(api, &["asg:tag=k8s.io/cluster-autoscaler/enabled=true"], &[]);
    p.refresh().await.unwrap();
    assert_eq!(p.node_groups().len(), 1);
    p.api().fail_next(
        "describe_groups",
        ApiError::new(ErrorClass::Throttled, "Rate exceeded"),
    );
    let err = p.refresh().await.unwrap_err();
    assert_eq!(err.class, ErrorClass::Throttled);
    assert!(err.is_retryable());
    assert!(
        err.to_string()
            .starts_with("failed to refresh the Auto Scaling Groups"),
        "{err}"
    );
    // The failed refresh kept the last good view.
    assert_eq!(p.node_groups().len(), 1);
}

#[tokio::test]
async fn instances_map_to_provider_ids_and_lifecycle_states() {
    let api = FakeAsgApi::default().with_group(
        discovered(asg("a", 0, 10, 3))
            .launch_configuration("lc")
            .instance("i-1", "InService", "m5.large")
            .instance("i-2", "Pending:Wait", "m5.large")
            .instance("i-3", "Terminating:Wait", "m5.large"),
    );
    let (p, _) = provider(api.with_launch_configuration("lc", "m5.large"), &[AUTO], &[]);
    p.refresh().await.unwrap();
    assert_eq!(
        p.instances("a").unwrap(),
        vec![
            Instance {
                provider_id: "aws:///us-east-1a/i-1".into(),
                state: InstanceState::Running
            },
            Instance {
                provider_id: "aws:///us-east-1a/i-2".into(),
                state: InstanceState::Creating
            },
            Instance {
                provider_id: "aws:///us-east-1a/i-3".into(),
                state: InstanceState::Deleting
            },
        ]
    );
    assert_eq!(
        p.node_group_for_node("aws:///us-east-1a/i-2").as_deref(),
        Some("a")
    );
    assert_eq!(p.node_group_for_node("aws:///us-east-1a/i-9"), None);
    assert_eq!(p.node_group_for_node("gce://x/y/i-1"), None);
    assert_eq!(p.instances("nope").unwrap_err().class, ErrorClass::NotFound);
}

#[test]
fn provider_ids_and_lifecycle_states_round_trip() {
    assert_eq!(provider_id("eu-west-1c", "i-0abc"), "aws:///eu-west-1c/i-0abc");
    assert_eq!(
        parse_provider_id("aws:///eu-west-1c/i-0abc"),
        Some(("eu-west-1c", "i-0abc"))
    );
    for bad in [
        "aws://eu-west-1c/i-1",
        "aws:///i-1",
        "aws:///z/",
        "aws:///z/a/b",
        "kwok://x",
    ] {
        assert_eq!(parse_provider_id(bad), None, "{bad}");
    }
    for (state, want) in [
        ("Pending", InstanceState::Creating),
        ("Pending:Proceed", InstanceState::Creating),
        ("InService", InstanceState::Running),
        ("Standby", InstanceState::Running),
        ("Terminating", InstanceState::Deleting),
        ("Terminating:Proceed", InstanceState::Deleting),
        ("Terminated", InstanceState::Deleting),
        ("Detaching", InstanceState::Deleting),
    ] {
        assert_eq!(instance_state(state), want, "{state}");
    }
}

#[tokio::test]
async fn template_from_a_launch_configuration_is_described_once() {
    let api = FakeAsgApi::default()
        .with_group(discovered(asg("a", 0, 10, 0)).launch_configuration("lc-1"))
        .with_launch_configuration("lc-1", "m6g.large");
    let (p, _) = provider(api, &[AUTO], &[]);
    p.refresh().await.unwrap();
    p.refresh().await.unwrap();
    let t = p.template("a").unwrap();
    assert_eq!((t.capacity.cpu, t.capacity.memory), (2000, 8192 << 20));
    assert_eq!(t.labels["kubernetes.io/arch"], "arm64");
    assert_eq!(t.labels["node.kubernetes.io/instance-type"], "m6g.large");
    assert_eq!(t.labels["topology.kubernetes.io/zone"], "us-east-1a");
    assert_eq!(t.labels["topology.kubernetes.io/region"], "us-east-1");
    assert_eq!(t.group.as_deref(), Some("a"));
    let lc_calls = p
        .api()
        .calls()
        .into_iter()
        .filter(|c| matches!(c, ApiCall::DescribeLaunchConfigurations(n) if !n.is_empty()))
        .count();
    assert_eq!(lc_calls, 1, "launch configurations never change: described once");
}

#[tokio::test]
async fn template_from_a_missing_launch_configuration_is_not_found() {
    let api = FakeAsgApi::default().with_group(discovered(asg("a", 0, 10, 0)).launch_configuration("gone"));
    let (p, _) = provider(api, &[AUTO], &[]);
    p.refresh().await.unwrap();
    let err = p.template("a").unwrap_err();
    assert_eq!(err.class, ErrorClass::NotFound);
    assert!(
        err.message.contains("launch configuration gone does not exist"),
        "{err}"
    );
}

#[tokio::test]
async fn template_from_the_first_override_of_a_mixed_instances_policy() {
    let api = FakeAsgApi::default()
        .with_group(discovered(asg("gpu", 0, 10, 0)).mixed("lt-gpu", &["g4dn.xlarge", "g4dn.2xlarge"]));
    let (p, _) = provider(api, &[AUTO], &[]);
    p.refresh().await.unwrap();
    let t = p.template("gpu").unwrap();
    assert_eq!(t.labels["node.kubernetes.io/instance-type"], "g4dn.xlarge");
    assert_eq!(t.capacity.get("nvidia.com/gpu"), 1);
    assert_eq!(t.capacity.cpu, 4000);
}

#[tokio::test]
async fn template_from_a_launch_template_described_in_ec2_and_cached() {
    let api = FakeAsgApi::default()
        .with_group(discovered(asg("latest", 0, 10, 0)).launch_template("lt-c5"))
        .with_group(discovered(asg("mixed", 0, 10, 0)).mixed("lt-c5", &[]))
        .with_launch_template("lt-c5", Some("c5.xlarge"));
    let (p, clock) = provider(api, &[AUTO], &[]);
    p.refresh().await.unwrap();
    for group in ["latest", "mixed"] {
        let t = p.template(group).unwrap();
        assert_eq!(
            t.labels["node.kubernetes.io/instance-type"], "c5.xlarge",
            "{group}"
        );
        assert_eq!((t.capacity.cpu, t.capacity.memory), (4000, 8192 << 20), "{group}");
    }
    let described = |p: &AwsProvider<FakeAsgApi>| {
        p.api()
            .calls()
            .into_iter()
            .filter(|c| matches!(c, ApiCall::DescribeLaunchTemplate(..)))
            .collect::<Vec<_>>()
    };
    // Two groups, two versions ($Latest and $Default) of one template: each described once.
    assert_eq!(
        described(&p),
        vec![
            ApiCall::DescribeLaunchTemplate("lt-c5".into(), None),
            ApiCall::DescribeLaunchTemplate("lt-c5".into(), Some("$Latest".into())),
        ]
    );
    clock.advance(SignedDuration::from_mins(9));
    p.refresh().await.unwrap();
    assert_eq!(described(&p).len(), 2, "cached for ten minutes");
    clock.advance(SignedDuration::from_mins(2));
    p.refresh().await.unwrap();
    assert_eq!(
        described(&p).len(),
        4,
        "$Latest and $Default may have moved: described again"
    );
}

#[tokio::test]
async fn when_ec2_cannot_tell_the_label_tag_or_the_instances_give_the_type() {
    let api = FakeAsgApi::default()
        .with_group(discovered(asg("tagged", 0, 10, 0)).launch_template("gone").tag(
            "k8s.io/cluster-autoscaler/node-template/label/node.kubernetes.io/instance-type",
            "c5.xlarge",
        ))
        .with_group(
            discovered(asg("running", 0, 10, 1))
                .launch_template("gone")
                .instance("i-1", "InService", "r5.large"),
        )
        .with_group(discovered(asg("blind", 0, 10, 0)).launch_template("gone"))
        .with_group(discovered(asg("attributes", 0, 10, 0)).launch_template("no-type"))
        .with_launch_template("no-type", None);
    let (p, _) = provider(api, &[AUTO], &[]);
    p.refresh().await.unwrap();
    assert_eq!(p.template("tagged").unwrap().capacity.cpu, 4000);
    assert_eq!(p.template("running").unwrap().capacity.memory, 16384 << 20);
    let err = p.template("blind").unwrap_err();
    assert_eq!(err.class, ErrorClass::NotFound, "EC2's answer, classified: {err}");
    assert!(
        err.message.contains("failed to describe launch template gone"),
        "{err}"
    );
    let err = p.template("attributes").unwrap_err();
    assert_eq!(err.class, ErrorClass::Fatal);
    assert!(err.message.contains("attribute-based"), "{err}");
    assert!(
        err.message
            .contains("node-template/label/node.kubernetes.io/instance-type"),
        "the error says which tag fixes it: {err}"
    );
}

#[tokio::test]
async fn a_throttled_launch_template_description_is_retried_on_the_next_refresh() {
    let api = FakeAsgApi::default()
        .with_group(discovered(asg("a", 0, 10, 0)).launch_template("lt"))
        .with_launch_template("lt", Some("m5.large"));
    let (p, _) = provider(api, &[AUTO], &[]);
    p.api().fail_next(
        "describe_launch_template",
        ApiError::new(ErrorClass::Throttled, "Request limit exceeded."),
    );
    p.refresh().await.unwrap();
    assert_eq!(p.template("a").unwrap_err().class, ErrorClass::Throttled);
    p.refresh().await.unwrap();
    assert_eq!(p.template("a").unwrap().capacity.cpu, 2000);
}

#[tokio::test]
async fn a_launch_template_group_scaled_to_zero_keeps_the_instance_type_it_ran() {
    let api = FakeAsgApi::default().with_group(
        discovered(asg("a", 0, 10, 1))
            .launch_template("lt")
            .instance("i-1", "InService", "r5.large"),
    );
    let (p, _) = provider(api, &[AUTO], &[]);
    p.refresh().await.unwrap();
    p.delete_nodes("a", &["aws:///us-east-1a/i-1".into()])
        .await
        .unwrap();
    // AWS has removed the instance by the next refresh.
    p.api().reap();
    p.refresh().await.unwrap();
    assert!(p.instances("a").unwrap().is_empty());
    assert_eq!(
        p.template("a").unwrap().labels["node.kubernetes.io/instance-type"],
        "r5.large"
    );
}

#[tokio::test]
async fn template_from_tags_alone_and_tags_on_top_of_the_instance_type() {
    let api = FakeAsgApi::default().with_group(
        discovered(asg("a", 0, 10, 0))
            .launch_template("lt")
            .tag("k8s.io/cluster-autoscaler/node-template/resources/cpu", "8")
            .tag("k8s.io/cluster-autoscaler/node-template/resources/memory", "32Gi")
            .tag(
                "k8s.io/cluster-autoscaler/node-template/resources/ephemeral-storage",
                "50Gi",
            )
            .tag("k8s.io/cluster-autoscaler/node-template/label/team", "data")
            .tag(
                "k8s.io/cluster-autoscaler/node-template/taint/dedicated",
                "data:NoExecute",
            ),
    );
    let (p, _) = provider(api, &[AUTO], &[]);
    p.refresh().await.unwrap();
    let t = p.template("a").unwrap();
    assert_eq!(
        (t.capacity.cpu, t.capacity.memory, t.capacity.ephemeral_storage),
        (8000, 32 << 30, 50 << 30)
    );
    assert_eq!(t.labels["team"], "data");
    assert_eq!(
        t.taints,
        vec![Taint::new("dedicated", "data", TaintEffect::NoExecute)]
    );
}

#[tokio::test]
async fn a_malformed_template_tag_fails_that_groups_template_only() {
    let api = FakeAsgApi::default()
        .with_group(
            discovered(asg("bad", 0, 10, 0))
                .mixed("lt", &["m5.large"])
                .tag("k8s.io/cluster-autoscaler/node-template/taint/x", "NoSchedule"),
        )
        .with_group(discovered(asg("good", 0, 10, 0)).mixed("lt", &["m5.large"]));
    let (p, _) = provider(api, &[AUTO], &[]);
    p.refresh().await.unwrap();
    let err = p.template("bad").unwrap_err();
    assert_eq!(err.class, ErrorClass::Fatal);
    assert!(err.message.contains("node-template/taint/x"), "{err}");
    assert!(p.template("good").is_ok());
}

#[tokio::test]
async fn autoscaling_option_tags_become_the_groups_options() {
    let prefix = "k8s.io/cluster-autoscaler/node-template/autoscaling-options/";
    let api = FakeAsgApi::default()
        .with_group(
            discovered(asg("a", 0, 10, 0))
                .tag(&format!("{prefix}scaledownunneededtime"), "2m")
                .tag(&format!("{prefix}scaledownutilizationthreshold"), "0.7"),
        )
        .with_group(discovered(asg("b", 0, 10, 0)).tag(&format!("{prefix}scaledownunreadytime"), "soon"));
    let (p, _) = provider(api, &[AUTO], &[]);
    p.refresh().await.unwrap();
    assert_eq!(
        p.autoscaling_options("a").unwrap(),
        GroupOptions {
            scale_down_unneeded_time: Some(SignedDuration::from_mins(2)),
            scale_down_utilization_threshold: Some(0.7),
            ..GroupOptions::default()
        }
    );
    let err = p.autoscaling_options("b").unwrap_err();
    assert_eq!(err.class, ErrorClass::Fatal);
    assert!(
        err.message.contains("scaledownunreadytime") && err.message.contains("soon"),
        "{err}"
    );
    // What the controller reads through the trait: the options, or none when the tags are malformed.
    assert_eq!(
        NodeGroupProvider::group_options(&p, "a"),
        p.autoscaling_options("a").unwrap()
    );
    assert_eq!(NodeGroupProvider::group_options(&p, "b"), GroupOptions::default());
}

#[tokio::test]
async fn scale_up_sets_desired_capacity_and_shows_the_new_instances_as_creating() {
    let api = FakeAsgApi::default().with_group(discovered(asg("a", 0, 10, 1)).instance(
        "i-1",
        "InService",
        "m5.large",
    ));
    let (p, _) = provider(api, &[AUTO], &[]);
    p.refresh().await.unwrap();
    p.set_target_size("a", 3).await.unwrap();
    assert_eq!(mutations(&p), vec![ApiCall::SetDesiredCapacity("a".into(), 3)]);
    assert_eq!(p.node_groups()[0].target, 3);
    let states: Vec<_> = p.instances("a").unwrap().into_iter().map(|i| i.state).collect();
    assert_eq!(
        states,
        vec![
            InstanceState::Running,
            InstanceState::Creating,
            InstanceState::Creating
        ]
    );
    // AWS launches them; the next refresh shows the real instances.
    p.api().fulfil("a", "m5.large");
    p.refresh().await.unwrap();
    let ids: Vec<_> = p
        .instances("a")
        .unwrap()
        .into_iter()
        .map(|i| i.provider_id)
        .collect();
    assert_eq!(
        ids,
        vec![
            "aws:///us-east-1a/i-1",
            "aws:///us-east-1a/i-a-1",
            "aws:///us-east-1a/i-a-2"
        ]
    );
}

#[tokio::test]
async fn target_sizes_outside_the_bounds_are_refused_before_any_call() {
    let api = FakeAsgApi::default()
        .with_group(discovered(asg("a", 1, 5, 2)))
        .with_group(asg("s", 0, 100, 2));
    let (p, _) = provider(api, &[AUTO], &["2:4:s"]);
    p.refresh().await.unwrap();
    for (group, size) in [("a", 6), ("a", 0), ("s", 5), ("s", 1)] {
        let err = p.set_target_size(group, size).await.unwrap_err();
        assert_eq!(err.class, ErrorClass::Fatal, "{group} {size}");
        assert!(err.message.contains("outside the group's bounds"), "{err}");
    }
    assert_eq!(mutations(&p), vec![]);
    assert_eq!(
        p.set_target_size("nope", 1).await.unwrap_err().class,
        ErrorClass::NotFound
    );
}

#[tokio::test]
async fn scale_down_terminates_each_instance_with_decrement_and_skips_terminating_ones() {
    let api = FakeAsgApi::default().with_group(
        discovered(asg("a", 1, 10, 4))
            .instance("i-1", "InService", "m5.large")
            .instance("i-2", "InService", "m5.large")
            .instance("i-3", "Terminating", "m5.large")
            .instance("i-4", "InService", "m5.large"),
    );
    let (p, _) = provider(api, &[AUTO], &[]);
    p.refresh().await.unwrap();
    let ids: Vec<String> = ["i-1", "i-3", "i-4"]
        .iter()
        .map(|i| provider_id("us-east-1a", i))
        .collect();
    p.delete_nodes("a", &ids).await.unwrap();
    assert_eq!(
        mutations(&p),
        vec![
            ApiCall::TerminateInstance("i-1".into(), true),
            ApiCall::TerminateInstance("i-4".into(), true),
        ]
    );
    assert_eq!(p.node_groups()[0].target, 2);
    assert_eq!(p.api().group("a").unwrap().desired_capacity, 2);
    assert!(
        p.instances("a").unwrap()[0].state == InstanceState::Deleting,
        "marked deleting at once"
    );
    // Asking again for the same (now terminating) nodes changes nothing.
    p.delete_nodes("a", &ids).await.unwrap();
    assert_eq!(mutations(&p).len(), 2);
}

#[tokio::test]
async fn scale_down_never_goes_below_the_minimum() {
    let api = FakeAsgApi::default().with_group(
        discovered(asg("a", 2, 10, 3))
            .instance("i-1", "InService", "m5.large")
            .instance("i-2", "InService", "m5.large")
            .instance("i-3", "InService", "m5.large"),
    );
    let (p, _) = provider(api, &[AUTO], &[]);
    p.refresh().await.unwrap();
    let two = vec![provider_id("us-east-1a", "i-1"), provider_id("us-east-1a", "i-2")];
    let err = p.delete_nodes("a", &two).await.unwrap_err();
    assert_eq!(err.class, ErrorClass::Fatal);
    assert!(err.message.contains("below its minimum size 2"), "{err}");
    assert_eq!(mutations(&p), vec![], "refused before any call");
    p.delete_nodes("a", &two[..1]).await.unwrap();
    let err = p.delete_nodes("a", &two[1..]).await.unwrap_err();
    assert!(err.message.contains("below its minimum size 2"), "{err}");
    assert_eq!(
        mutations(&p),
        vec![ApiCall::TerminateInstance("i-1".into(), true)]
    );
}

#[tokio::test]
async fn deleting_a_node_of_another_group_is_not_found_and_calls_nothing() {
    let api = FakeAsgApi::default()
        .with_group(discovered(asg("a", 0, 10, 1)).instance("i-1", "InService", "m5.large"))
        .with_group(discovered(asg("b", 0, 10, 1)).instance("i-2", "InService", "m5.large"));
    let (p, _) = provider(api, &[AUTO], &[]);
    p.refresh().await.unwrap();
    let err = p
        .delete_nodes(
            "a",
            &[provider_id("us-east-1a", "i-1"), provider_id("us-east-1a", "i-2")],
        )
        .await
        .unwrap_err();
    assert_eq!(err.class, ErrorClass::NotFound);
    assert!(err.message.contains("i-2"), "{err}");
    assert_eq!(mutations(&p), vec![]);
}

#[tokio::test]
async fn unfulfilled_capacity_after_a_failed_launch_is_reported_as_failed_to_create() {
    let api = FakeAsgApi::default().with_group(
        discovered(asg("a", 0, 10, 1))
            .mixed("lt", &["p4d.24xlarge"])
            .instance("i-1", "InService", "p4d.24xlarge"),
    );
    let (p, clock) = provider(api, &[AUTO], &[]);
    p.refresh().await.unwrap();
    clock.advance(SignedDuration::from_secs(10));
    p.set_target_size("a", 3).await.unwrap();
    // An older failure (before our size change) does not count...
    p.api().set_activities(
        "a",
        vec![activity(
            t0(),
            "Failed",
            "We currently do not have sufficient p4d.24xlarge capacity",
        )],
    );
    p.refresh().await.unwrap();
    let creating = p.instances("a").unwrap();
    assert_eq!(creating.len(), 3);
    assert!(
        creating[1..].iter().all(|i| i.state == InstanceState::Creating),
        "{creating:?}"
    );
    assert!(
        creating[1]
            .provider_id
            .starts_with("aws:///us-east-1a/i-placeholder-a-")
    );
    // ...a failure since then does.
    p.api().set_activities(
        "a",
        vec![
            activity(
                t0() + SignedDuration::from_secs(20),
                "Failed",
                "We currently do not have sufficient p4d.24xlarge capacity in the Availability Zone you requested",
            ),
            activity(t0(), "Successful", ""),
        ],
    );
    p.refresh().await.unwrap();
    let instances = p.instances("a").unwrap();
    assert_eq!(instances[0].state, InstanceState::Running);
    for i in &instances[1..] {
        let InstanceState::FailedToCreate { class, message } = &i.state else {
            panic!("{i:?}")
        };
        assert_eq!(*class, ErrorClass::InsufficientCapacity);
        assert!(
            message.contains("do not have sufficient p4d.24xlarge capacity"),
            "{message}"
        );
    }
    // The controller undoes the failed instances: deleting a placeholder lowers desired capacity.
    p.delete_nodes("a", &[instances[2].provider_id.clone()])
        .await
        .unwrap();
    assert_eq!(
        mutations(&p).last(),
        Some(&ApiCall::SetDesiredCapacity("a".into(), 2))
    );
    assert_eq!(p.instances("a").unwrap().len(), 2);
}

#[tokio::test]
async fn activities_are_only_described_for_groups_short_of_instances() {
    let api = FakeAsgApi::default()
        .with_group(discovered(asg("full", 0, 10, 1)).instance("i-1", "InService", "m5.large"))
        .with_group(discovered(asg("short", 0, 10, 1)));
    let (p, _) = provider(api, &[AUTO], &[]);
    p.api().fail_next(
        "describe_scaling_activities",
        ApiError::new(ErrorClass::Throttled, "Rate exceeded"),
    );
    p.refresh().await.unwrap();
    let described: Vec<_> = p
        .api()
        .calls()
        .into_iter()
        .filter_map(|c| match c {
            ApiCall::DescribeScalingActivities(g) => Some(g),
            _ => None,
        })
        .collect();
    assert_eq!(described, vec!["short".to_string()]);
    // Could not tell: the missing instance is taken as still being created.
    assert_eq!(p.instances("short").unwrap()[0].state, InstanceState::Creating);
}

#[test]
fn without_a_size_change_only_the_newest_activity_counts() {
    let old_failure = activity(t0(), "Failed", "x");
    let success = activity(t0() + SignedDuration::from_secs(5), "Successful", "");
    assert_eq!(
        unfulfilled_activity(&[success.clone(), old_failure.clone()], None),
        None
    );
    assert_eq!(
        unfulfilled_activity(std::slice::from_ref(&old_failure), None),
        Some(&old_failure)
    );
    assert_eq!(
        unfulfilled_activity(&[success, old_failure.clone()], Some(t0())),
        Some(&old_failure)
    );
}

#[tokio::test]
async fn api_errors_keep_their_class() {
    let api = FakeAsgApi::default().with_group(discovered(asg("a", 0, 10, 2)).instance(
        "i-1",
        "InService",
        "m5.large",
    ));
    let (p, _) = provider(api, &[AUTO], &[]);
    p.refresh().await.unwrap();
    for (class, retryable) in [
        (ErrorClass::Throttled, true),
        (ErrorClass::Transient, true),
        (ErrorClass::NotFound, false),
        (ErrorClass::InsufficientCapacity, false),
        (ErrorClass::Fatal, false),
    ] {
        p.api()
            .fail_next("set_desired_capacity", ApiError::new(class, "injected"));
        let err = p.set_target_size("a", 4).await.unwrap_err();
        assert_eq!((err.class, err.is_retryable()), (class, retryable));
        assert!(
            err.to_string()
                .starts_with("failed to set the target size of group a to 4"),
            "{err}"
        );
    }
    p.api().fail_next(
        "terminate_instance",
        ApiError::new(ErrorClass::Throttled, "Rate exceeded"),
    );
    let err = p
        .delete_nodes("a", &[provider_id("us-east-1a", "i-1")])
        .await
        .unwrap_err();
    assert_eq!(err.class, ErrorClass::Throttled);
    // Nothing was terminated: the cache still has the instance running and the target unchanged.
    assert_eq!(p.instances("a").unwrap()[0].state, InstanceState::Running);
    assert_eq!(p.node_groups()[0].target, 2);
}
