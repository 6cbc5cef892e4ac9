//! Whole scale-up plans: which pods count, what fits where, which group grows and by how much, and
//! the verdict every pending pod gets. Each case is a small cluster and the plan's expected actions.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use jiff::SignedDuration;
use swell_node_autoscaler::model::{DaemonSet, LABEL_HOSTNAME, LABEL_ZONE, SchedulingSpec, TaintEffect};
use swell_node_autoscaler::plan::{GroupRejection, PodOutcome, ScaleDownStatus};
use swell_node_autoscaler::resources::Resources;
use swell_node_autoscaler::scaleup::expander::{ExpanderChain, PriorityConfig};
use swell_node_autoscaler::testing::{GI, group, node, pod, t0, term};
use swell_node_autoscaler::{ClusterInput, Config, Memory, Plan, Snapshot, plan};

fn run(input: ClusterInput, cfg: &Config) -> Plan {
    let snap = Snapshot::new(input);
    assert!(snap.warnings().is_empty(), "{:?}", snap.warnings());
    plan(
        &snap,
        cfg,
        &mut Memory::default(),
        t0() + SignedDuration::from_mins(5),
        7,
    )
}

/// (group, nodes added) of each scale-up.
fn ups(p: &Plan) -> Vec<(String, usize)> {
    p.scale_up
        .iter()
        .map(|u| (u.group.clone(), u.to - u.from))
        .collect()
}

fn outcome<'p>(p: &'p Plan, pod: &str) -> &'p PodOutcome {
    &p.pod(&format!("default/{pod}"))
        .unwrap_or_else(|| panic!("no verdict for {pod}"))
        .outcome
}

fn rejection(p: &Plan, pod: &str, group: &str) -> GroupRejection {
    match outcome(p, pod) {
        PodOutcome::NoScaleUp { groups } => groups
            .iter()
            .find(|g| g.group == group)
            .unwrap_or_else(|| panic!("{group} not in {groups:?}"))
            .reason
            .clone(),
        other => panic!("{pod}: expected NoScaleUp, got {other:?}"),
    }
}

/// A 4-core, 16 GiB group "a" (min 0, max 10, target 0).
fn group_a() -> swell_node_autoscaler::model::NodeGroup {
    group("a", node("x").cpu_mem(4000, 16 * GI), 0, 10, 0)
}

fn input(
    nodes: Vec<swell_node_autoscaler::model::Node>,
    pods: Vec<swell_node_autoscaler::model::Pod>,
) -> ClusterInput {
    ClusterInput {
        nodes,
        pods,
        groups: vec![group_a()],
        ..ClusterInput::default()
    }
}

#[test]
fn a_pending_pod_that_fits_a_registered_node_needs_no_new_node() {
    let p = run(
        input(
            vec![node("n1").build()],
            vec![pod("p").req(1000, GI).pending().build()],
        ),
        &Config::default(),
    );
    assert!(p.scale_up.is_empty());
    assert_eq!(
        outcome(&p, "p"),
        &PodOutcome::FitsExistingNode { node: "n1".into() }
    );
}

#[test]
fn a_pending_pod_that_fits_a_node_on_its_way_needs_no_new_node() {
    let mut i = input(vec![], vec![pod("p").req(1000, GI).pending().build()]);
    i.groups[0].target = 1; // one node requested, none registered yet
    let p = run(i, &Config::default());
    assert!(p.scale_up.is_empty());
    assert_eq!(
        outcome(&p, "p"),
        &PodOutcome::FitsUpcomingNode { group: "a".into() }
    );
}

#[test]
fn a_pod_too_big_for_the_registered_nodes_grows_the_group_by_one() {
    let p = run(
        input(
            vec![node("n1").cpu_mem(1000, GI).build()],
            vec![pod("p").req(2000, GI).pending().build()],
        ),
        &Config::default(),
    );
    assert_eq!(ups(&p), vec![("a".into(), 1)]);
    assert_eq!(p.scale_up[0].pods, vec!["default/p".to_string()]);
    assert_eq!(
        outcome(&p, "p"),
        &PodOutcome::TriggeredScaleUp { group: "a".into() }
    );
    assert_eq!(p.scale_down_status, ScaleDownStatus::ScaleUpInThisLoop);
}

#[test]
fn pods_are_packed_first_fit_decreasing_onto_as_few_nodes_as_the_template_allows() {
    // 4 pods of 3 cores and 4 of 1 core onto 4-core nodes: 4 nodes (3+1 each).
    let mut pods: Vec<_> = (0..4)
        .map(|i| pod(&format!("small-{i}")).req(1000, GI).pending().build())
        .collect();
    pods.extend((0..4).map(|i| {
        pod(&format!("big-{i}"))
            .owner("ReplicaSet", "big")
            .req(3000, GI)
            .pending()
            .build()
    }));
    let p = run(input(vec![], pods), &Config::default());
    assert_eq!(ups(&p), vec![("a".into(), 4)]);
}

#[test]
fn pods_the_scheduler_has_not_marked_unschedulable_are_left_alone() {
    let p = run(
        input(vec![], vec![pod("p").req(100, GI).pending_unmarked().build()]),
        &Config::default(),
    );
    assert!(p.scale_up.is_empty());
    assert_eq!(outcome(&p, "p"), &PodOutcome::NotUnschedulable);
}

#[test]
fn pods_with_scheduling_gates_are_not_considered() {
    let p = run(
        input(vec![], vec![pod("p").pending().gated().build()]),
        &Config::default(),
    );
    assert!(p.scale_up.is_empty());
    assert_eq!(outcome(&p, "p"), &PodOutcome::SchedulingGated);
}

#[test]
fn pods_below_the_expendable_priority_cutoff_never_trigger_a_scale_up() {
    let p = run(
        input(vec![], vec![pod("low").priority(-11).pending().build()]),
        &Config::default(),
    );
    assert!(p.scale_up.is_empty());
    assert_eq!(
        outcome(&p, "low"),
        &PodOutcome::Expendable {
            priority: -11,
            cutoff: -10
        }
    );
}

#[test]
fn a_pod_exactly_at_the_cutoff_is_not_expendable() {
    let p = run(
        input(vec![], vec![pod("edge").priority(-10).pending().build()]),
        &Config::default(),
    );
    assert_eq!(ups(&p), vec![("a".into(), 1)]);
}

#[test]
fn a_pod_younger_than_the_scale_up_delay_waits() {
    let mut cfg = Config::default();
    cfg.scale_up.new_pod_scale_up_delay = SignedDuration::from_mins(10);
    let p = run(input(vec![], vec![pod("young").pending().build()]), &cfg);
    assert!(p.scale_up.is_empty());
    assert_eq!(
        outcome(&p, "young"),
        &PodOutcome::TooYoung {
            until: t0() + SignedDuration::from_mins(10)
        }
    );
}

#[test]
fn the_per_pod_scale_up_delay_annotation_overrides_the_flag() {
    let mut cfg = Config::default();
    cfg.scale_up.new_pod_scale_up_delay = SignedDuration::from_mins(10);
    let p = run(
        input(
            vec![],
            vec![
                pod("eager")
                    .pending()
                    .scale_up_delay(SignedDuration::from_secs(30))
                    .build(),
            ],
        ),
        &cfg,
    );
    assert_eq!(ups(&p), vec![("a".into(), 1)]);
}

#[test]
fn pending_daemonset_pods_do_not_trigger_a_scale_up() {
    let p = run(
        input(vec![], vec![pod("ds").daemonset("agent").pending().build()]),
        &Config::default(),
    );
    assert!(p.scale_up.is_empty());
    assert_eq!(outcome(&p, "ds"), &PodOutcome::DaemonSetPod);
}

#[test]
fn a_group_in_backoff_is_skipped_and_another_group_grows() {
    let mut i = input(vec![], vec![pod("p").pending().build()]);
    i.groups[0].backoff_until = Some(t0() + SignedDuration::from_mins(30));
    i.groups.push(group("b", node("x"), 0, 10, 0));
    let p = run(i, &Config::default());
    assert_eq!(ups(&p), vec![("b".into(), 1)]);
}

#[test]
fn a_group_whose_backoff_has_ended_can_grow_again() {
    let mut i = input(vec![], vec![pod("p").pending().build()]);
    i.groups[0].backoff_until = Some(t0());
    let p = run(i, &Config::default());
    assert_eq!(ups(&p), vec![("a".into(), 1)]);
}

#[test]
fn a_backed_off_group_is_named_in_the_pods_verdict() {
    let mut i = input(vec![], vec![pod("p").pending().build()]);
    i.groups[0].backoff_until = Some(t0() + SignedDuration::from_mins(30));
    let p = run(i, &Config::default());
    assert_eq!(rejection(&p, "p", "a"), GroupRejection::Backoff);
    assert_eq!(
        GroupRejection::Backoff.message(),
        "in backoff after failed scale-up"
    );
}

#[test]
fn a_group_at_its_max_is_skipped_with_cas_reason() {
    let mut i = input(
        vec![node("a-1").group("a").cpu_mem(100, GI).build()],
        vec![pod("p").req(1000, GI).pending().build()],
    );
    i.groups[0].max = 1;
    i.groups[0].target = 1;
    let p = run(i, &Config::default());
    assert!(p.scale_up.is_empty());
    assert_eq!(rejection(&p, "p", "a"), GroupRejection::MaxSizeReached);
    assert_eq!(
        GroupRejection::MaxSizeReached.message(),
        "max node group size reached"
    );
}

#[test]
fn a_scale_up_stops_at_the_groups_max_and_the_rest_wait() {
    let pods: Vec<_> = (0..5)
        .map(|i| pod(&format!("p{i}")).req(3000, GI).pending().build())
        .collect();
    let mut i = input(vec![], pods);
    i.groups[0].max = 3;
    let p = run(i, &Config::default());
    assert_eq!(ups(&p), vec![("a".into(), 3)]);
    assert_eq!(p.scale_up[0].pods.len(), 3);
    assert_eq!(rejection(&p, "p4", "a"), GroupRejection::NodeLimitReached);
}

#[test]
fn max_nodes_per_scale_up_caps_one_decision() {
    let pods: Vec<_> = (0..5)
        .map(|i| pod(&format!("p{i}")).req(3000, GI).pending().build())
        .collect();
    let mut cfg = Config::default();
    cfg.scale_up.max_nodes_per_scaleup = 2;
    let p = run(input(vec![], pods), &cfg);
    assert_eq!(ups(&p), vec![("a".into(), 2)]);
}

#[test]
fn max_nodes_total_counts_registered_and_upcoming_nodes() {
    let mut cfg = Config::default();
    cfg.limits.max_nodes_total = 2;
    let mut i = input(
        vec![node("n1").cpu_mem(100, GI).build()],
        vec![pod("p").req(1000, GI).pending().build()],
    );
    i.groups[0].target = 1; // one upcoming (too small? no: template is 4 cores, the pod fits it)
    let p = run(i, &cfg);
    assert_eq!(
        outcome(&p, "p"),
        &PodOutcome::FitsUpcomingNode { group: "a".into() }
    );

    let pods: Vec<_> = (0..3)
        .map(|i| pod(&format!("p{i}")).req(3000, GI).pending().build())
        .collect();
    let mut i = input(vec![node("n1").cpu_mem(100, GI).build()], pods);
    i.groups[0].target = 1;
    let p = run(i, &cfg);
    assert!(p.scale_up.is_empty(), "{:?}", p.scale_up);
    assert_eq!(rejection(&p, "p1", "a"), GroupRejection::MaxNodesTotalReached);
}

#[test]
fn the_cores_limit_caps_how_many_nodes_a_group_may_add() {
    let mut cfg = Config::default();
    cfg.limits.max_cores = 9; // one 1-core node registered + two 4-core nodes
    let pods: Vec<_> = (0..4)
        .map(|i| pod(&format!("p{i}")).req(3000, GI).pending().build())
        .collect();
    let p = run(input(vec![node("n1").cpu_mem(1000, GI).build()], pods), &cfg);
    assert_eq!(ups(&p), vec![("a".into(), 2)]);
}

#[test]
fn a_cluster_at_its_memory_limit_cannot_grow() {
    let mut cfg = Config::default();
    cfg.limits.max_memory = 16 * GI;
    let p = run(
        input(
            vec![node("n1").cpu_mem(100, 16 * GI).build()],
            vec![pod("p").req(1000, GI).pending().build()],
        ),
        &cfg,
    );
    assert!(p.scale_up.is_empty());
    assert_eq!(rejection(&p, "p", "a"), GroupRejection::MaxResourceLimitReached);
}

#[test]
fn a_node_selector_picks_the_only_group_whose_template_matches() {
    let mut i = input(
        vec![],
        vec![pod("p").node_selector("disk", "ssd").pending().build()],
    );
    i.groups
        .push(group("b", node("x").label("disk", "ssd"), 0, 10, 0));
    let p = run(i, &Config::default());
    assert_eq!(ups(&p), vec![("b".into(), 1)]);
}

#[test]
fn a_pod_no_template_accepts_gets_the_schedulers_message_per_group() {
    let p = run(
        input(
            vec![],
            vec![pod("p").node_selector("disk", "ssd").pending().build()],
        ),
        &Config::default(),
    );
    assert!(p.scale_up.is_empty());
    assert_eq!(
        rejection(&p, "p", "a").message(),
        "node(s) didn't match Pod's node affinity/selector"
    );
}

#[test]
fn a_tainted_template_is_refused_to_pods_that_do_not_tolerate_it() {
    let mut i = input(
        vec![],
        vec![
            pod("p").pending().build(),
            pod("gpu")
                .owner("ReplicaSet", "g")
                .pending()
                .tolerate("gpu", None, None)
                .build(),
        ],
    );
    i.groups[0] = group(
        "a",
        node("x").taint("gpu", "true", TaintEffect::NoSchedule),
        0,
        10,
        0,
    );
    let p = run(i, &Config::default());
    assert_eq!(
        rejection(&p, "p", "a").message(),
        "node(s) had untolerated taint {gpu: true}"
    );
    assert_eq!(
        outcome(&p, "gpu"),
        &PodOutcome::TriggeredScaleUp { group: "a".into() }
    );
}

#[test]
fn an_extended_resource_only_one_template_offers_picks_that_group() {
    let mut i = input(
        vec![],
        vec![pod("p").request("nvidia.com/gpu", 1).pending().build()],
    );
    i.groups
        .push(group("gpu", node("x").resource("nvidia.com/gpu", 4), 0, 10, 0));
    let p = run(i, &Config::default());
    assert_eq!(ups(&p), vec![("gpu".into(), 1)]);
    assert_eq!(rejection_of_other(&p), None);
}

fn rejection_of_other(p: &Plan) -> Option<String> {
    p.pods
        .iter()
        .find(|e| matches!(e.outcome, PodOutcome::NoScaleUp { .. }))
        .map(|e| e.pod.clone())
}

#[test]
fn daemonset_overhead_is_reserved_on_every_new_node() {
    // 4 cores with a 1-core DaemonSet pod leave 3: one 2-core pod per node.
    let mut i = input(
        vec![],
        (0..3)
            .map(|n| pod(&format!("p{n}")).req(2000, GI).pending().build())
            .collect(),
    );
    i.daemonsets.push(DaemonSet {
        namespace: "kube-system".into(),
        name: "agent".into(),
        requests: Resources::cpu_mem(1000, GI).with_pods(1),
        scheduling: Default::default(),
    });
    let p = run(i, &Config::default());
    assert_eq!(ups(&p), vec![("a".into(), 3)]);
}

#[test]
fn a_daemonset_that_does_not_tolerate_the_template_adds_no_overhead() {
    let mut i = input(
        vec![],
        (0..4)
            .map(|n| pod(&format!("p{n}")).req(2000, GI).pending().build())
            .collect(),
    );
    i.groups[0] = group(
        "a",
        node("x")
            .cpu_mem(4000, 16 * GI)
            .taint("dedicated", "x", TaintEffect::NoSchedule),
        0,
        10,
        0,
    );
    for p in &mut i.pods {
        let mut spec = SchedulingSpec::clone(&p.scheduling);
        spec.tolerations.push(swell_node_autoscaler::model::Toleration {
            key: "dedicated".into(),
            operator: swell_node_autoscaler::model::TolerationOperator::Exists,
            value: String::new(),
            effect: None,
        });
        p.scheduling = std::sync::Arc::new(spec);
    }
    i.daemonsets.push(DaemonSet {
        namespace: "kube-system".into(),
        name: "agent".into(),
        requests: Resources::cpu_mem(1000, GI).with_pods(1),
        scheduling: Default::default(),
    });
    let p = run(i, &Config::default());
    assert_eq!(ups(&p), vec![("a".into(), 2)]);
}

#[test]
fn least_waste_prefers_the_template_the_pods_fill_best() {
    // Pods of 2 cores / 2 GiB: the 2-core group wastes nothing on cpu, the 8-core one wastes little
    // on cpu too (4 per node), but memory decides: 4 GiB vs 32 GiB nodes.
    let pods: Vec<_> = (0..4)
        .map(|n| pod(&format!("p{n}")).req(2000, 2 * GI).pending().build())
        .collect();
    let mut i = input(vec![], pods);
    i.groups = vec![
        group("big", node("x").cpu_mem(8000, 32 * GI), 0, 10, 0),
        group("small", node("x").cpu_mem(2000, 4 * GI), 0, 10, 0),
    ];
    let p = run(i, &Config::default());
    assert_eq!(ups(&p), vec![("small".into(), 4)]);
    assert_eq!(rejection_of_other(&p), None);
}

#[test]
fn least_nodes_prefers_the_group_needing_the_fewest_nodes() {
    let pods: Vec<_> = (0..4)
        .map(|n| pod(&format!("p{n}")).req(2000, 2 * GI).pending().build())
        .collect();
    let mut i = input(vec![], pods);
    i.groups = vec![
        group("big", node("x").cpu_mem(8000, 32 * GI), 0, 10, 0),
        group("small", node("x").cpu_mem(2000, 4 * GI), 0, 10, 0),
    ];
    let mut cfg = Config::default();
    cfg.scale_up.expander = ExpanderChain::parse("least-nodes").unwrap();
    let p = run(i, &cfg);
    assert_eq!(ups(&p), vec![("big".into(), 1)]);
}

#[test]
fn most_pods_prefers_the_group_that_schedules_the_most_pods() {
    // Two pods need 4 GiB: only "roomy" can take those.
    let mut pods: Vec<_> = (0..2)
        .map(|n| pod(&format!("small{n}")).req(500, GI).pending().build())
        .collect();
    pods.extend((0..2).map(|n| {
        pod(&format!("fat{n}"))
            .owner("ReplicaSet", "fat")
            .req(500, 5 * GI)
            .pending()
            .build()
    }));
    let mut i = input(vec![], pods);
    i.groups = vec![
        group("lean", node("x").cpu_mem(4000, 4 * GI), 0, 10, 0),
        group("roomy", node("x").cpu_mem(4000, 16 * GI), 0, 10, 0),
    ];
    let mut cfg = Config::default();
    cfg.scale_up.expander = ExpanderChain::parse("most-pods").unwrap();
    let p = run(i, &cfg);
    assert_eq!(ups(&p), vec![("roomy".into(), 1)]);
    assert_eq!(p.scale_up[0].pods.len(), 4);
}

#[test]
fn the_priority_expander_picks_the_highest_priority_matching_group() {
    let mut i = input(vec![], vec![pod("p").pending().build()]);
    i.groups = vec![
        group("spot-a", node("x"), 0, 10, 0),
        group("on-demand-a", node("x"), 0, 10, 0),
    ];
    let mut cfg = Config::default();
    cfg.scale_up.expander = ExpanderChain::parse("priority,least-waste").unwrap();
    cfg.scale_up.priorities =
        Some(PriorityConfig::parse("10:\n  - on-demand-.*\n50:\n  - spot-.*\n").unwrap());
    let p = run(i, &cfg);
    assert_eq!(ups(&p), vec![("spot-a".into(), 1)]);
}

#[test]
fn the_group_the_expander_did_not_choose_is_named_in_the_leftover_pods_verdict() {
    // "small" takes 1 node of the 2 the pods need (max 1); "big" would have taken both.
    let pods: Vec<_> = (0..2)
        .map(|n| pod(&format!("p{n}")).req(2000, 2 * GI).pending().build())
        .collect();
    let mut i = input(vec![], pods);
    i.groups = vec![
        group("big", node("x").cpu_mem(4000, 32 * GI), 0, 10, 0),
        group("small", node("x").cpu_mem(2000, 2 * GI), 0, 1, 0),
    ];
    let mut cfg = Config::default();
    cfg.scale_up.expander = ExpanderChain::parse("least-waste").unwrap();
    let p = run(i, &cfg);
    assert_eq!(ups(&p), vec![("small".into(), 1)]);
    let left: Vec<_> = p
        .pods
        .iter()
        .filter(|e| matches!(e.outcome, PodOutcome::NoScaleUp { .. }))
        .collect();
    assert_eq!(left.len(), 1);
    let PodOutcome::NoScaleUp { groups } = &left[0].outcome else {
        unreachable!()
    };
    assert!(groups.contains(&swell_node_autoscaler::plan::GroupVerdict {
        group: "big".into(),
        reason: GroupRejection::NotChosen {
            chosen: "small".into()
        }
    }));
}

#[test]
fn the_random_expander_gives_the_same_choice_for_the_same_seed() {
    let mk = || {
        let mut i = input(vec![], vec![pod("p").pending().build()]);
        i.groups = (0..6)
            .map(|g| group(&format!("g{g}"), node("x"), 0, 10, 0))
            .collect();
        Snapshot::new(i)
    };
    let mut cfg = Config::default();
    cfg.scale_up.expander = ExpanderChain::parse("random").unwrap();
    let pick = |seed: u64| {
        let p = plan(&mk(), &cfg, &mut Memory::default(), t0(), seed);
        p.scale_up[0].group.clone()
    };
    assert_eq!(pick(3), pick(3));
    let picks: std::collections::BTreeSet<String> = (0..40).map(pick).collect();
    assert!(picks.len() > 1, "the seed must matter: {picks:?}");
}

#[test]
fn balancing_splits_a_scale_up_across_similar_groups() {
    let pods: Vec<_> = (0..4)
        .map(|n| pod(&format!("p{n}")).req(3000, GI).pending().build())
        .collect();
    let mut i = input(vec![], pods);
    i.groups = vec![
        group("zone-a", node("x").zone("a"), 0, 10, 0),
        group("zone-b", node("x").zone("b"), 0, 10, 0),
    ];
    let mut cfg = Config::default();
    cfg.scale_up.balance_similar_node_groups = true;
    let p = run(i, &cfg);
    let mut got = ups(&p);
    got.sort();
    assert_eq!(got, vec![("zone-a".into(), 2), ("zone-b".into(), 2)]);
}

#[test]
fn without_balancing_one_group_takes_the_whole_scale_up() {
    let pods: Vec<_> = (0..4)
        .map(|n| pod(&format!("p{n}")).req(3000, GI).pending().build())
        .collect();
    let mut i = input(vec![], pods);
    i.groups = vec![
        group("zone-a", node("x").zone("a"), 0, 10, 0),
        group("zone-b", node("x").zone("b"), 0, 10, 0),
    ];
    let p = run(i, &Config::default());
    assert_eq!(p.scale_up.len(), 1);
    assert_eq!(p.scale_up[0].to - p.scale_up[0].from, 4);
}

#[test]
fn balancing_leaves_dissimilar_groups_alone() {
    let pods: Vec<_> = (0..4)
        .map(|n| pod(&format!("p{n}")).req(3000, GI).pending().build())
        .collect();
    let mut i = input(vec![], pods);
    i.groups = vec![
        group("a", node("x").cpu_mem(4000, 16 * GI), 0, 10, 0),
        group("b", node("x").cpu_mem(4000, 32 * GI), 0, 10, 0),
    ];
    let mut cfg = Config::default();
    cfg.scale_up.balance_similar_node_groups = true;
    let p = run(i, &cfg);
    assert_eq!(p.scale_up.len(), 1);
}

#[test]
fn hostname_anti_affinity_puts_one_replica_per_new_node() {
    let pods: Vec<_> = (0..3)
        .map(|n| {
            pod(&format!("p{n}"))
                .label("app", "db")
                .anti_affinity(term("app", "db", LABEL_HOSTNAME))
                .pending()
                .build()
        })
        .collect();
    let p = run(input(vec![], pods), &Config::default());
    assert_eq!(ups(&p), vec![("a".into(), 3)]);
}

#[test]
fn a_host_port_puts_one_replica_per_new_node() {
    let pods: Vec<_> = (0..3)
        .map(|n| pod(&format!("p{n}")).host_port(8080).pending().build())
        .collect();
    let p = run(input(vec![], pods), &Config::default());
    assert_eq!(ups(&p), vec![("a".into(), 3)]);
}

#[test]
fn zone_anti_affinity_against_a_running_pod_rules_out_that_zones_group() {
    let running = pod("db-0").label("app", "db").on("n1").build();
    let pending = pod("db-1")
        .label("app", "db")
        .anti_affinity(term("app", "db", LABEL_ZONE))
        .pending()
        .req(3000, GI)
        .build();
    let mut i = input(
        vec![node("n1").zone("a").cpu_mem(1000, GI).build()],
        vec![running, pending],
    );
    i.groups = vec![
        group("zone-a", node("x").zone("a"), 0, 10, 0),
        group("zone-b", node("x").zone("b"), 0, 10, 0),
    ];
    let p = run(i, &Config::default());
    assert_eq!(ups(&p), vec![("zone-b".into(), 1)]);
}

#[test]
fn a_pod_no_group_can_take_gets_a_verdict_for_every_group() {
    let mut i = input(vec![], vec![pod("huge").req(64_000, GI).pending().build()]);
    i.groups
        .push(group("b", node("x").cpu_mem(8000, 32 * GI), 0, 10, 0));
    let p = run(i, &Config::default());
    assert!(p.scale_up.is_empty());
    assert_eq!(rejection(&p, "huge", "a").message(), "Insufficient cpu");
    assert_eq!(rejection(&p, "huge", "b").message(), "Insufficient cpu");
}

#[test]
fn a_cluster_with_no_groups_explains_that_nothing_could_grow() {
    let mut i = input(vec![], vec![pod("p").pending().build()]);
    i.groups.clear();
    let p = run(i, &Config::default());
    assert!(p.scale_up.is_empty());
    assert_eq!(outcome(&p, "p"), &PodOutcome::NoScaleUp { groups: vec![] });
}

#[test]
fn replicas_of_one_owner_are_estimated_together_and_two_owners_separately() {
    let snap = Snapshot::new(input(
        vec![],
        vec![
            pod("a1").pending().build(),
            pod("a2").pending().build(),
            pod("b1").owner("ReplicaSet", "other").pending().build(),
            pod("c1").no_owner().pending().build(),
            pod("c2").no_owner().pending().build(),
        ],
    ));
    let classes = swell_node_autoscaler::scaleup::estimator::classes(&snap, snap.unbound().iter().copied());
    let sizes: Vec<usize> = classes.iter().map(|c| c.pods.len()).collect();
    assert_eq!(
        sizes,
        vec![2, 1, 1, 1],
        "pods without a controller are classes of their own"
    );
}

#[test]
fn a_scale_up_in_this_loop_holds_scale_down_but_still_lists_verdicts() {
    let p = run(
        input(
            vec![node("idle").group("a").build()],
            vec![pod("p").req(8000, GI).pending().build()],
        ),
        &{
            let mut c = Config::default();
            c.scale_up.max_nodes_per_scaleup = 10;
            c
        },
    );
    // The pod is too big for any node: no scale-up, so scale-down runs and the idle node is unneeded.
    assert!(p.scale_up.is_empty());
    assert_eq!(p.scale_down_status, ScaleDownStatus::Ran);
    assert_eq!(p.unneeded, vec!["idle".to_string()]);
}

#[test]
fn the_cores_limit_counts_fractional_cores_of_small_templates() {
    // 1.5-core template, a 1-core registered node, limit 4 cores: 3 cores left = 2 new nodes.
    let mut cfg = Config::default();
    cfg.limits.max_cores = 4;
    let pods: Vec<_> = (0..4)
        .map(|i| pod(&format!("p{i}")).req(1200, GI).pending().build())
        .collect();
    let mut i = input(vec![node("n1").cpu_mem(1000, GI).build()], pods);
    i.groups[0] = group("a", node("x").cpu_mem(1500, 16 * GI), 0, 10, 0);
    let p = run(i, &cfg);
    assert_eq!(ups(&p), vec![("a".into(), 2)]);
}
