//! The benchmark scenarios S1-S4 (`shared/reference/bench-scenarios.md`) with their expected answers:
//! the benches time these exact inputs, the tests check the answers.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use swell_node_autoscaler::plan::{NodeOutcome, PodOutcome, RemovalKind};
use swell_node_autoscaler::sim::Sim;
use swell_node_autoscaler::testing::{scenarios, t0};
use swell_node_autoscaler::{Config, Memory, Snapshot, plan};

#[test]
fn s1_packs_51000_pods_onto_exactly_2595_nodes() {
    let snap = Snapshot::new(scenarios::s1());
    let mut cfg = Config::default();
    // The scenario's cap: at most 3,000 new nodes (CA's --max-nodes-per-scaleup defaults to 1,000).
    cfg.scale_up.max_nodes_per_scaleup = 3000;
    let p = plan(&snap, &cfg, &mut Memory::default(), t0(), 1);
    assert_eq!(p.scale_up.len(), 1);
    let up = &p.scale_up[0];
    assert_eq!((up.group.as_str(), up.from, up.to), ("s1", 0, 2595));
    assert_eq!(up.pods.len(), 51_000);
}

#[test]
fn s2_leaves_all_12000_pending_pods_unschedulable() {
    let snap = Snapshot::new(scenarios::s2());
    let p = plan(&snap, &Config::default(), &mut Memory::default(), t0(), 1);
    assert!(p.scale_up.is_empty());
    let pending: Vec<_> = p
        .pods
        .iter()
        .filter(|e| e.pod.starts_with("default/pending-"))
        .collect();
    assert_eq!(pending.len(), 12_000);
    assert!(
        pending
            .iter()
            .all(|e| matches!(e.outcome, PodOutcome::NoScaleUp { .. }))
    );
}

#[test]
fn s3_fills_the_free_room_of_existing_nodes_then_scales_up_one_group_for_the_rest() {
    let snap = Snapshot::new(scenarios::s3(1000, 3, 3000));
    let p = plan(&snap, &Config::default(), &mut Memory::default(), t0(), 1);
    // The 8-core nodes (333) have 800m free: one 500m pod each; the 16-core nodes (333) have 1600m
    // free: three each; the 4-core nodes (334) have 400m: none. 1,332 pods need no new node.
    let on_existing = p
        .pods
        .iter()
        .filter(|e| matches!(e.outcome, PodOutcome::FitsExistingNode { .. }))
        .count();
    assert_eq!(on_existing, 333 + 3 * 333);
    assert_eq!(p.scale_up.len(), 1, "{:?}", p.scale_up);
    let up = &p.scale_up[0];
    let added = up.to - up.from;
    // 1,668 pods of 500m: 8 per 4-core node, 16 per 8-core node, 32 per 16-core node (cpu-bound).
    // least-waste prefers the 4-core group: its cpu waste is the smallest, memory waste is 50% in all.
    assert_eq!((up.group.as_str(), added), ("group-0", 209));
    assert_eq!(up.pods.len(), 3000 - 1332);
}

#[test]
fn s3_with_the_existing_nodes_full_needs_188_eight_core_nodes_as_in_ca() {
    // CA's figure (188 nodes of the 8-core shape) is the estimate for all 3,000 pods; the same
    // estimate from our estimator on the 8-core template:
    let snap = Snapshot::new(scenarios::s3(1000, 3, 3000));
    let mut sim = Sim::new(&snap);
    let pending: Vec<usize> = snap.unbound().to_vec();
    let classes = swell_node_autoscaler::scaleup::estimator::classes(&snap, pending);
    let slices: Vec<&[usize]> = classes.iter().map(|c| c.pods.as_slice()).collect();
    let g1 = snap.group_id("group-1").unwrap();
    let est = swell_node_autoscaler::scaleup::estimator::estimate(&mut sim, g1, &slices, 100_000);
    assert_eq!((est.nodes.len(), est.pod_count()), (188, 3000));
}

#[test]
fn s4_finds_the_low_30_percent_of_nodes_removable() {
    let snap = Snapshot::new(scenarios::s4(1000));
    let mut cfg = Config::default();
    cfg.scale_down.unneeded_time = jiff::SignedDuration::ZERO;
    cfg.scale_down.max_scale_down_parallelism = usize::MAX;
    cfg.scale_down.max_drain_parallelism = usize::MAX;
    let p = plan(&snap, &cfg, &mut Memory::default(), t0(), 1);
    assert_eq!(p.unneeded.len(), 300);
    assert!(p.unneeded.iter().all(|n| n.as_str() < "s4-node-00300"));
    assert_eq!(p.scale_down.len(), 300);
    assert!(
        p.scale_down
            .iter()
            .all(|r| r.kind == RemovalKind::Drain && r.evict.len() == 30)
    );
    // Every evicted pod goes to a node that stays.
    assert!(
        p.scale_down
            .iter()
            .flat_map(|r| &r.evict)
            .all(|m| m.to.as_str() >= "s4-node-00300")
    );
    let high = p.node("s4-node-00500").unwrap();
    assert!(matches!(high.outcome, NodeOutcome::Unremovable { .. }));
}
