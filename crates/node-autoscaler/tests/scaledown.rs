//! Whole scale-down plans: eligibility, the rescheduling simulation, PDBs across the plan, every
//! timer (unneeded, unready, cooldowns, recheck), the budgets and minimums, and `revalidate`.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use jiff::{SignedDuration, Timestamp};
use swell_node_autoscaler::model::{Node, NodeGroup, Pod, TAINT_TO_BE_DELETED, TaintEffect, VolumeKind};
use swell_node_autoscaler::plan::{NodeOutcome, RemovalKind, ScaleDownStatus, UnremovableReason};
use swell_node_autoscaler::scaledown::drain::BlockingReason;
use swell_node_autoscaler::testing::{GI, group, node, pdb, pod, t0};
use swell_node_autoscaler::{ClusterInput, Config, Memory, Plan, Snapshot, plan, revalidate};

fn mins(m: i64) -> SignedDuration {
    SignedDuration::from_mins(m)
}

/// Scale-down with no waiting and generous budgets, unless a test says otherwise.
fn eager() -> Config {
    let mut c = Config::default();
    c.scale_down.unneeded_time = SignedDuration::ZERO;
    c.scale_down.max_drain_parallelism = 10;
    c
}

fn cluster(nodes: Vec<Node>, pods: Vec<Pod>, groups: Vec<NodeGroup>) -> ClusterInput {
    ClusterInput {
        nodes,
        pods,
        groups,
        ..ClusterInput::default()
    }
}

/// Group "a" (min 0, max 10) with its target equal to the nodes given.
fn ga(target: usize) -> NodeGroup {
    group("a", node("x"), 0, 10, target)
}

fn run_at(input: ClusterInput, cfg: &Config, mem: &mut Memory, now: Timestamp) -> Plan {
    plan(&Snapshot::new(input), cfg, mem, now, 1)
}

fn run(input: ClusterInput, cfg: &Config) -> Plan {
    run_at(input, cfg, &mut Memory::default(), t0())
}

fn removed(p: &Plan) -> Vec<&str> {
    p.scale_down.iter().map(|r| r.node.as_str()).collect()
}

fn reason(p: &Plan, n: &str) -> UnremovableReason {
    match &p.node(n).unwrap_or_else(|| panic!("no verdict for {n}")).outcome {
        NodeOutcome::Unremovable { reason, .. } => *reason,
        other => panic!("{n}: expected unremovable, got {other:?}"),
    }
}

/// Two 4-core nodes: "busy" at 75% and "light" at 25%; light's pod fits on busy.
fn two_nodes() -> ClusterInput {
    cluster(
        vec![node("busy").group("a").build(), node("light").group("a").build()],
        vec![
            pod("big").req(3000, GI).on("busy").build(),
            pod("small").req(1000, GI).on("light").build(),
        ],
        vec![ga(2)],
    )
}

#[test]
fn an_underutilized_node_whose_pods_fit_elsewhere_is_drained() {
    let p = run(two_nodes(), &eager());
    assert_eq!(removed(&p), vec!["light"]);
    assert_eq!(p.scale_down[0].kind, RemovalKind::Drain);
    assert_eq!(p.scale_down[0].evict[0].pod, "default/small");
    assert_eq!(p.scale_down[0].evict[0].to, "busy");
    assert_eq!(reason(&p, "busy"), UnremovableReason::NotUnderutilized);
}

#[test]
fn utilization_is_the_larger_of_cpu_and_memory_over_allocatable() {
    let p = run(two_nodes(), &eager());
    assert_eq!(p.node("busy").unwrap().utilization, 0.75);
    assert_eq!(p.node("light").unwrap().utilization, 0.25);
    let memory_heavy = cluster(
        vec![node("n").group("a").build()],
        vec![pod("m").req(100, 12 * GI).on("n").build()],
        vec![ga(1)],
    );
    let p = run(memory_heavy, &eager());
    assert_eq!(p.node("n").unwrap().utilization, 0.75);
}

#[test]
fn a_node_exactly_at_the_threshold_is_not_underutilized() {
    let i = cluster(
        vec![node("half").group("a").build(), node("other").group("a").build()],
        vec![pod("p").req(2000, GI).on("half").build()],
        vec![ga(2)],
    );
    let p = run(i, &eager());
    assert_eq!(reason(&p, "half"), UnremovableReason::NotUnderutilized);
}

#[test]
fn a_per_group_threshold_overrides_the_flag() {
    let mut i = two_nodes();
    i.groups[0].options.scale_down_utilization_threshold = Some(0.2);
    let p = run(i, &eager());
    assert!(removed(&p).is_empty());
    assert_eq!(reason(&p, "light"), UnremovableReason::NotUnderutilized);
}

#[test]
fn daemonset_pods_count_in_utilization_unless_ignored() {
    let mk = || {
        cluster(
            vec![node("n").group("a").build(), node("m").group("a").build()],
            vec![
                pod("ds").daemonset("agent").req(3000, GI).on("n").build(),
                pod("busy").req(3000, GI).on("m").build(),
            ],
            vec![ga(2)],
        )
    };
    let p = run(mk(), &eager());
    assert_eq!(reason(&p, "n"), UnremovableReason::NotUnderutilized);
    let mut cfg = eager();
    cfg.scale_down.ignore_daemonsets_utilization = true;
    let p = run(mk(), &cfg);
    assert!(removed(&p).contains(&"n"));
    assert_eq!(
        p.scale_down.iter().find(|r| r.node == "n").unwrap().kind,
        RemovalKind::Empty
    );
}

#[test]
fn a_node_with_only_daemonset_and_mirror_pods_is_empty() {
    let i = cluster(
        vec![node("n").group("a").build()],
        vec![
            pod("ds").daemonset("agent").on("n").build(),
            pod("static").mirror().on("n").build(),
        ],
        vec![ga(1)],
    );
    let p = run(i, &eager());
    assert_eq!(removed(&p), vec!["n"]);
    assert_eq!(p.scale_down[0].kind, RemovalKind::Empty);
    assert!(p.scale_down[0].evict.is_empty());
}

#[test]
fn nodes_outside_any_group_are_never_removed() {
    let i = cluster(vec![node("free").build()], vec![], vec![]);
    let p = run(i, &eager());
    assert_eq!(reason(&p, "free"), UnremovableReason::NotAutoscaled);
}

#[test]
fn the_scale_down_disabled_annotation_keeps_a_node() {
    let i = cluster(
        vec![node("n").group("a").scale_down_disabled().build()],
        vec![],
        vec![ga(1)],
    );
    let p = run(i, &eager());
    assert_eq!(reason(&p, "n"), UnremovableReason::ScaleDownDisabledAnnotation);
}

#[test]
fn a_node_already_being_deleted_is_not_planned_again() {
    let i = cluster(
        vec![
            node("n")
                .group("a")
                .taint(TAINT_TO_BE_DELETED, "1767225600", TaintEffect::NoSchedule)
                .build(),
        ],
        vec![],
        vec![ga(1)],
    );
    let p = run(i, &eager());
    assert_eq!(reason(&p, "n"), UnremovableReason::CurrentlyBeingDeleted);
}

#[test]
fn a_pod_with_nowhere_to_go_keeps_its_node_and_names_itself() {
    let i = cluster(
        vec![node("a1").group("a").build(), node("a2").group("a").build()],
        vec![
            pod("x").req(1500, GI).on("a1").build(),
            pod("y").req(3000, GI).on("a2").build(),
        ],
        vec![ga(2)],
    );
    let mut cfg = eager();
    cfg.scale_down.utilization_threshold = 0.8;
    let p = run(i, &cfg);
    assert_eq!(reason(&p, "a1"), UnremovableReason::NoPlaceToMovePods);
    let NodeOutcome::Unremovable { detail, .. } = &p.node("a1").unwrap().outcome else {
        unreachable!()
    };
    assert_eq!(
        detail,
        "pod default/x cannot move to any other node: Insufficient cpu"
    );
}

#[test]
fn a_pod_without_a_controller_blocks_its_node() {
    let i = cluster(
        vec![node("n").group("a").build(), node("m").group("a").build()],
        vec![
            pod("bare").no_owner().on("n").build(),
            pod("busy").req(3000, GI).on("m").build(),
        ],
        vec![ga(2)],
    );
    let p = run(i, &eager());
    assert_eq!(reason(&p, "n"), UnremovableReason::BlockedByPod);
    let NodeOutcome::Unremovable { blocking_pod, .. } = &p.node("n").unwrap().outcome else {
        unreachable!()
    };
    let b = blocking_pod.as_ref().unwrap();
    assert_eq!(
        (b.pod.as_str(), b.reason),
        ("default/bare", BlockingReason::NotReplicated)
    );
}

#[test]
fn local_storage_blocks_unless_the_pod_says_it_may_be_lost() {
    let mk = |safe: bool| {
        let mut p = pod("cache")
            .volume("scratch", VolumeKind::EmptyDir { memory: false })
            .on("n")
            .build();
        if safe {
            p.safe_to_evict_local_volumes = vec!["scratch".into()];
        }
        cluster(
            vec![node("n").group("a").build(), node("m").group("a").build()],
            vec![p, pod("busy").req(3000, GI).on("m").build()],
            vec![ga(2)],
        )
    };
    assert_eq!(
        reason(&run(mk(false), &eager()), "n"),
        UnremovableReason::BlockedByPod
    );
    assert_eq!(removed(&run(mk(true), &eager())), vec!["n"]);
}

#[test]
fn pdb_disruptions_are_shared_across_the_whole_plan() {
    // Two light nodes each with one web pod; the PDB allows one disruption: only one node goes.
    let i = ClusterInput {
        nodes: vec![
            node("busy").group("a").build(),
            node("l1").group("a").build(),
            node("l2").group("a").build(),
        ],
        pods: vec![
            pod("big").req(2500, GI).on("busy").build(),
            pod("w1").label("app", "web").req(500, GI).on("l1").build(),
            pod("w2").label("app", "web").req(500, GI).on("l2").build(),
        ],
        pdbs: vec![pdb("default", "web", "app", "web", 1)],
        groups: vec![ga(3)],
        ..ClusterInput::default()
    };
    let p = run(i, &eager());
    assert_eq!(removed(&p), vec!["l1"]);
    assert_eq!(reason(&p, "l2"), UnremovableReason::BlockedByPod);
    let NodeOutcome::Unremovable { blocking_pod, .. } = &p.node("l2").unwrap().outcome else {
        unreachable!()
    };
    assert_eq!(
        blocking_pod.as_ref().unwrap().reason,
        BlockingReason::NotEnoughPdb
    );
}

#[test]
fn pods_never_move_to_a_node_that_is_itself_being_removed() {
    let nodes: Vec<Node> = (0..6)
        .map(|i| node(&format!("n{i}")).group("a").build())
        .collect();
    let mut pods: Vec<Pod> = (0..3)
        .map(|i| pod(&format!("low{i}")).req(1000, GI).on(&format!("n{i}")).build())
        .collect();
    pods.extend((3..6).map(|i| {
        pod(&format!("high{i}"))
            .owner("ReplicaSet", "h")
            .req(2500, GI)
            .on(&format!("n{i}"))
            .build()
    }));
    let p = run(cluster(nodes, pods, vec![ga(6)]), &eager());
    let gone: Vec<&str> = removed(&p);
    assert_eq!(gone.len(), 3);
    for r in &p.scale_down {
        for m in &r.evict {
            assert!(
                !gone.contains(&m.to.as_str()),
                "{} moved to removed node {}",
                m.pod,
                m.to
            );
        }
    }
}

#[test]
fn a_group_never_goes_below_its_minimum() {
    let mut i = cluster(
        vec![
            node("e1").group("a").build(),
            node("e2").group("a").build(),
            node("e3").group("a").build(),
        ],
        vec![],
        vec![ga(3)],
    );
    i.groups[0].min = 2;
    let p = run(i, &eager());
    assert_eq!(removed(&p).len(), 1);
    let at_min = p
        .nodes
        .iter()
        .filter(|n| {
            matches!(
                n.outcome,
                NodeOutcome::Unremovable {
                    reason: UnremovableReason::NodeGroupMinSizeReached,
                    ..
                }
            )
        })
        .count();
    assert_eq!(at_min, 2);
}

#[test]
fn the_cluster_never_goes_below_the_minimum_cores() {
    let mut cfg = eager();
    cfg.limits.min_cores = 8;
    let i = cluster(
        vec![
            node("e1").group("a").build(),
            node("e2").group("a").build(),
            node("e3").group("a").build(),
        ],
        vec![],
        vec![ga(3)],
    );
    let p = run(i, &cfg);
    assert_eq!(removed(&p).len(), 1, "12 cores, at least 8 must stay");
    assert!(p.nodes.iter().any(|n| matches!(
        n.outcome,
        NodeOutcome::Unremovable {
            reason: UnremovableReason::MinimalResourceLimitExceeded,
            ..
        }
    )));
}

#[test]
fn empty_nodes_go_first_and_within_the_parallelism_budget() {
    let mut nodes: Vec<Node> = (0..4)
        .map(|i| node(&format!("empty{i}")).group("a").build())
        .collect();
    nodes.push(node("light").group("a").build());
    nodes.push(node("busy").group("a").build());
    let pods = vec![
        pod("s").req(500, GI).on("light").build(),
        pod("b").owner("ReplicaSet", "b").req(3000, GI).on("busy").build(),
    ];
    let mut cfg = eager();
    cfg.scale_down.max_scale_down_parallelism = 3;
    let p = run(cluster(nodes, pods, vec![ga(6)]), &cfg);
    assert_eq!(removed(&p), vec!["empty0", "empty1", "empty2"]);
    assert!(p.scale_down.iter().all(|r| r.kind == RemovalKind::Empty));
    assert!(p.unneeded.contains(&"light".to_string()) && p.unneeded.contains(&"empty3".to_string()));
}

#[test]
fn the_drain_budget_limits_how_many_nodes_are_drained_at_once() {
    let nodes: Vec<Node> = (0..4)
        .map(|i| node(&format!("n{i}")).group("a").build())
        .collect();
    let pods: Vec<Pod> = (0..4)
        .map(|i| pod(&format!("p{i}")).req(500, GI).on(&format!("n{i}")).build())
        .collect();
    let mut cfg = eager();
    cfg.scale_down.max_drain_parallelism = 1;
    let p = run(cluster(nodes, pods, vec![ga(4)]), &cfg);
    assert_eq!(p.scale_down.len(), 1);
    assert_eq!(p.unneeded.len(), 3, "the last node must keep the pods");
}

#[test]
fn a_node_becomes_removable_only_after_the_unneeded_time() {
    let cfg = {
        let mut c = eager();
        c.scale_down.unneeded_time = mins(10);
        c
    };
    let mut mem = Memory::default();
    let p = run_at(two_nodes(), &cfg, &mut mem, t0());
    assert!(removed(&p).is_empty());
    assert_eq!(
        p.node("light").unwrap().outcome,
        NodeOutcome::Unneeded {
            since: t0(),
            removable_at: t0() + mins(10)
        }
    );
    let p = run_at(two_nodes(), &cfg, &mut mem, t0() + mins(9));
    assert!(removed(&p).is_empty(), "the timer keeps its start");
    let p = run_at(two_nodes(), &cfg, &mut mem, t0() + mins(10));
    assert_eq!(removed(&p), vec!["light"]);
}

#[test]
fn the_unneeded_timer_restarts_when_the_node_is_needed_again() {
    let cfg = {
        let mut c = eager();
        c.scale_down.unneeded_time = mins(10);
        c
    };
    let mut mem = Memory::default();
    run_at(two_nodes(), &cfg, &mut mem, t0());
    let mut busy = two_nodes();
    busy.pods.push(
        pod("extra")
            .owner("ReplicaSet", "e")
            .req(2500, GI)
            .on("light")
            .build(),
    );
    run_at(busy, &cfg, &mut mem, t0() + mins(5));
    assert!(mem.unneeded_since.is_empty());
    let p = run_at(two_nodes(), &cfg, &mut mem, t0() + mins(12));
    assert_eq!(
        p.node("light").unwrap().outcome,
        NodeOutcome::Unneeded {
            since: t0() + mins(12),
            removable_at: t0() + mins(22)
        }
    );
}

#[test]
fn a_per_group_unneeded_time_overrides_the_flag() {
    let mut cfg = eager();
    cfg.scale_down.unneeded_time = mins(10);
    let mut i = two_nodes();
    i.groups[0].options.scale_down_unneeded_time = Some(SignedDuration::ZERO);
    let p = run(i, &cfg);
    assert_eq!(removed(&p), vec!["light"]);
}

#[test]
fn an_unready_node_waits_for_the_unready_time_instead() {
    let mut cfg = eager();
    cfg.scale_down.unneeded_time = mins(1);
    cfg.scale_down.unready_time = mins(20);
    let mk = || {
        cluster(
            vec![
                node("sick").group("a").not_ready_since(t0()).build(),
                node("ok").group("a").build(),
            ],
            vec![],
            vec![ga(2)],
        )
    };
    let mut mem = Memory::default();
    let p = run_at(mk(), &cfg, &mut mem, t0());
    assert_eq!(
        p.node("sick").unwrap().outcome,
        NodeOutcome::Unneeded {
            since: t0(),
            removable_at: t0() + mins(20)
        }
    );
    let p = run_at(mk(), &cfg, &mut mem, t0() + mins(20));
    assert!(removed(&p).contains(&"sick"));
}

#[test]
fn unready_nodes_are_kept_when_unready_scale_down_is_off() {
    let mut cfg = eager();
    cfg.scale_down.unready_enabled = false;
    let i = cluster(
        vec![node("sick").group("a").not_ready_since(t0()).build()],
        vec![],
        vec![ga(1)],
    );
    let p = run(i, &cfg);
    assert_eq!(reason(&p, "sick"), UnremovableReason::ScaleDownUnreadyDisabled);
}

#[test]
fn scale_down_waits_after_a_scale_up_but_the_timers_keep_running() {
    let mut mem = Memory {
        last_scale_up: Some(t0()),
        ..Memory::default()
    };
    let p = run_at(two_nodes(), &eager(), &mut mem, t0() + mins(9));
    assert_eq!(
        p.scale_down_status,
        ScaleDownStatus::InCooldown("scale-down-delay-after-add".into())
    );
    assert!(removed(&p).is_empty());
    assert_eq!(mem.unneeded_since.get("light"), Some(&(t0() + mins(9))));
    let p = run_at(two_nodes(), &eager(), &mut mem, t0() + mins(10));
    assert_eq!(p.scale_down_status, ScaleDownStatus::Ran);
    assert_eq!(removed(&p), vec!["light"]);
}

#[test]
fn scale_down_waits_after_a_failed_scale_down() {
    let mut mem = Memory::default();
    mem.failed("other", t0());
    let p = run_at(two_nodes(), &eager(), &mut mem, t0() + mins(2));
    assert_eq!(
        p.scale_down_status,
        ScaleDownStatus::InCooldown("scale-down-delay-after-failure".into())
    );
    let p = run_at(two_nodes(), &eager(), &mut mem, t0() + mins(3));
    assert_eq!(p.scale_down_status, ScaleDownStatus::Ran);
}

#[test]
fn a_delay_after_delete_holds_the_next_scale_down() {
    let mut cfg = eager();
    cfg.scale_down.delay_after_delete = mins(1);
    let mut mem = Memory::default();
    mem.deleted("gone", t0());
    let p = run_at(two_nodes(), &cfg, &mut mem, t0() + SignedDuration::from_secs(30));
    assert_eq!(
        p.scale_down_status,
        ScaleDownStatus::InCooldown("scale-down-delay-after-delete".into())
    );
    // The default (0) means the very next loop.
    let mut mem = Memory::default();
    mem.deleted("gone", t0());
    let p = run_at(
        two_nodes(),
        &eager(),
        &mut mem,
        t0() + SignedDuration::from_secs(10),
    );
    assert_eq!(p.scale_down_status, ScaleDownStatus::Ran);
}

#[test]
fn a_node_found_unremovable_is_rechecked_only_after_the_recheck_timeout() {
    let i = || {
        cluster(
            vec![node("n").group("a").build(), node("m").group("a").build()],
            vec![
                pod("bare").no_owner().on("n").build(),
                pod("busy").owner("ReplicaSet", "b").req(3000, GI).on("m").build(),
            ],
            vec![ga(2)],
        )
    };
    let mut mem = Memory::default();
    let p = run_at(i(), &eager(), &mut mem, t0());
    assert_eq!(reason(&p, "n"), UnremovableReason::BlockedByPod);
    let p = run_at(i(), &eager(), &mut mem, t0() + mins(4));
    assert_eq!(reason(&p, "n"), UnremovableReason::RecentlyUnremovable);
    let p = run_at(i(), &eager(), &mut mem, t0() + mins(5));
    assert_eq!(reason(&p, "n"), UnremovableReason::BlockedByPod);
}

#[test]
fn scale_down_can_be_switched_off() {
    let mut cfg = eager();
    cfg.scale_down.enabled = false;
    let p = run(two_nodes(), &cfg);
    assert_eq!(p.scale_down_status, ScaleDownStatus::Disabled);
    assert!(p.scale_down.is_empty() && p.nodes.is_empty());
}

#[test]
fn reasons_serialize_as_cas_names() {
    let p = run(two_nodes(), &eager());
    let json = serde_json::to_value(&p).unwrap();
    let busy = json["nodes"]
        .as_array()
        .unwrap()
        .iter()
        .find(|n| n["node"] == "busy")
        .unwrap();
    assert_eq!(busy["outcome"]["reason"], "NotUnderutilized");
    assert_eq!(UnremovableReason::NoPlaceToMovePods.as_str(), "NoPlaceToMovePods");
}

#[test]
fn revalidation_keeps_a_removal_that_is_still_safe() {
    let p = run(two_nodes(), &eager());
    let r = revalidate(&p, &Snapshot::new(two_nodes()), &eager().scale_down, t0());
    assert_eq!(r.keep.len(), 1);
    assert!(r.dropped.is_empty());
    assert_eq!(r.keep[0].evict[0].to, "busy");
}

#[test]
fn revalidation_drops_a_removal_whose_node_got_a_pod_that_blocks() {
    let p = run(two_nodes(), &eager());
    let mut fresh = two_nodes();
    fresh.pods.push(pod("bare").no_owner().on("light").build());
    let r = revalidate(&p, &Snapshot::new(fresh), &eager().scale_down, t0());
    assert!(r.keep.is_empty());
    assert_eq!(r.dropped[0].reason, UnremovableReason::BlockedByPod);
}

#[test]
fn revalidation_drops_a_removal_whose_pods_lost_their_destination() {
    let p = run(two_nodes(), &eager());
    let mut fresh = two_nodes();
    fresh.pods.push(
        pod("filler")
            .owner("ReplicaSet", "f")
            .req(1000, GI)
            .on("busy")
            .build(),
    );
    let r = revalidate(&p, &Snapshot::new(fresh), &eager().scale_down, t0());
    assert!(r.keep.is_empty());
    assert_eq!(r.dropped[0].reason, UnremovableReason::NoPlaceToMovePods);
}

#[test]
fn revalidation_drops_a_node_that_is_gone_or_annotated() {
    let p = run(two_nodes(), &eager());
    let mut gone = two_nodes();
    gone.nodes.retain(|n| n.name != "light");
    gone.pods.retain(|p| p.name != "small");
    let r = revalidate(&p, &Snapshot::new(gone), &eager().scale_down, t0());
    assert_eq!(r.dropped[0].detail, "the node is gone");
    let mut annotated = two_nodes();
    annotated.nodes[1].scale_down_disabled = true;
    let r = revalidate(&p, &Snapshot::new(annotated), &eager().scale_down, t0());
    assert_eq!(
        r.dropped[0].reason,
        UnremovableReason::ScaleDownDisabledAnnotation
    );
}

#[test]
fn revalidation_respects_the_group_minimum_on_fresh_data() {
    let p = run(two_nodes(), &eager());
    let mut fresh = two_nodes();
    fresh.groups[0].min = 2;
    let r = revalidate(&p, &Snapshot::new(fresh), &eager().scale_down, t0());
    assert_eq!(r.dropped[0].reason, UnremovableReason::NodeGroupMinSizeReached);
}

#[test]
fn two_pods_under_one_pdb_on_a_node_need_two_disruptions() {
    // Each pod alone passes the PDB rule (1 disruption allowed), together they need 2.
    let mk = |allowed: i32| ClusterInput {
        nodes: vec![node("busy").group("a").build(), node("light").group("a").build()],
        pods: vec![
            pod("big")
                .owner("ReplicaSet", "b")
                .req(2000, GI)
                .on("busy")
                .build(),
            pod("w1").label("app", "web").req(500, GI).on("light").build(),
            pod("w2").label("app", "web").req(500, GI).on("light").build(),
        ],
        pdbs: vec![pdb("default", "web", "app", "web", allowed)],
        groups: vec![ga(2)],
        ..ClusterInput::default()
    };
    let p = run(mk(1), &eager());
    assert!(removed(&p).is_empty());
    let NodeOutcome::Unremovable {
        blocking_pod, detail, ..
    } = &p.node("light").unwrap().outcome
    else {
        panic!("light must be unremovable")
    };
    assert_eq!(
        blocking_pod.as_ref().unwrap().reason,
        BlockingReason::NotEnoughPdb
    );
    assert_eq!(detail, "not enough pod disruption budget to move default/w2");
    assert_eq!(removed(&run(mk(2), &eager())), vec!["light"]);
}

#[test]
fn a_pod_moved_onto_a_later_candidate_is_not_evicted_again_by_that_candidates_removal() {
    // Regression (found by the plan properties): a1 moves from a to f in the simulation; when e is
    // removed later, a1 must not appear in e's eviction list, and when a stays (group at min), a1 is
    // not evicted at all.
    let mk = |a_alone: bool| {
        let mut groups = vec![group("g2", node("x"), 0, 10, 2)];
        if a_alone {
            groups.push(group("g1", node("x"), 1, 10, 1));
        } else {
            groups[0].target = 3;
        }
        let ga = if a_alone { "g1" } else { "g2" };
        ClusterInput {
            nodes: vec![
                node("a").group(ga).label("disk", "ssd").build(),
                node("c").build(),
                node("e").group("g2").label("disk", "ssd").build(),
                node("f").group("g2").label("disk", "ssd").build(),
            ],
            pods: vec![
                pod("a1")
                    .owner("ReplicaSet", "a")
                    .req(1000, GI)
                    .node_selector("disk", "ssd")
                    .on("a")
                    .build(),
                pod("e1").owner("ReplicaSet", "e").req(1800, GI).on("e").build(),
                pod("f1").no_owner().req(1500, GI).on("f").build(),
            ],
            groups,
            ..ClusterInput::default()
        }
    };
    let p = run(mk(false), &eager());
    for r in &p.scale_down {
        let own = format!("default/{}1", r.node);
        assert!(r.evict.iter().all(|m| m.pod == own), "{}: {:?}", r.node, r.evict);
    }
    let p = run(mk(true), &eager());
    assert_eq!(reason(&p, "a"), UnremovableReason::NodeGroupMinSizeReached);
    assert!(
        p.scale_down
            .iter()
            .flat_map(|r| &r.evict)
            .all(|m| m.pod != "default/a1"),
        "{:?}",
        p.scale_down
    );
}

#[test]
fn pending_pods_about_to_be_bound_hold_scale_down_for_the_loop() {
    // CA's filter-out-schedulable: "Schedulable pods present" disables scale-down for the loop, so
    // the room those pods need is not taken away; the unneeded timers still run.
    let mut i = two_nodes();
    i.nodes.push(node("spare").build());
    i.pods.push(
        pod("incoming")
            .owner("ReplicaSet", "i")
            .req(500, GI)
            .pending()
            .build(),
    );
    let mut mem = Memory::default();
    let p = run_at(i, &eager(), &mut mem, t0());
    assert_eq!(p.scale_down_status, ScaleDownStatus::SchedulablePodsPresent);
    assert!(p.scale_down.is_empty());
    assert!(mem.unneeded_since.contains_key("light"), "{:?}", p.nodes);
}
