//! Property tests of whole plans on random small clusters: the invariants every plan keeps whatever
//! the cluster (bounds of the groups, no blocking pod removed with its node, every evicted pod has
//! room where the plan sends it, PDBs across the plan, scale-ups sized for their pods, determinism).
//!
//! A generated cluster is built twice from the same description when a property needs it; bound pods
//! are only kept where the scheduler would have put them (the predicates pass), so that the cluster
//! starts consistent and a violation can only come from the plan.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::sync::Arc;

use jiff::{SignedDuration, Timestamp};
use proptest::prelude::*;
use proptest::test_runner::TestCaseError;
use swell_node_autoscaler::config::{Config, Memory, ScaleDownConfig};
use swell_node_autoscaler::model::{
    DaemonSet, LABEL_HOSTNAME, SafeToEvict, SchedulingSpec, TaintEffect, Toleration, TolerationOperator,
    VolumeKind,
};
use swell_node_autoscaler::plan::{Plan, PodOutcome, RemovalKind};
use swell_node_autoscaler::predicates;
use swell_node_autoscaler::resources::Resources;
use swell_node_autoscaler::scaledown::drain::{Drainability, drainability};
use swell_node_autoscaler::scaledown::pdb::PdbTracker;
use swell_node_autoscaler::scaleup::estimator;
use swell_node_autoscaler::sim::Sim;
use swell_node_autoscaler::snapshot::{NodeId, PodId};
use swell_node_autoscaler::testing::*;
use swell_node_autoscaler::{ClusterInput, Snapshot, plan};

/// Node shapes: cpu (millicores), memory, pod slots.
const SHAPES: [(i64, i64, i64); 3] = [(2000, 4 * GI, 6), (4000, 8 * GI, 10), (8000, 16 * GI, 16)];
const ZONES: [&str; 3] = ["a", "b", "c"];
const NAMESPACES: [&str; 3] = ["default", "shop", "kube-system"];
const THRESHOLDS: [f64; 3] = [0.5, 0.8, 1.0];
const TAINT_KEY: &str = "dedicated";

#[derive(Clone, Debug)]
struct GenGroup {
    shape: usize,
    zone: usize,
    taint: bool,
    /// max - target.
    headroom: usize,
    /// target - registered nodes.
    upcoming: usize,
    /// min = target * min_pct / 100.
    min_pct: usize,
}

#[derive(Clone, Debug)]
struct GenNode {
    /// Index into the groups (modulo their number); `None`: not autoscaled.
    group: Option<usize>,
    zone: usize,
    ssd: bool,
    scale_down_disabled: bool,
}

#[derive(Clone, Debug)]
struct GenPod {
    cpu: i64,
    memory: i64,
    /// For bound pods, the node (modulo the node count).
    node: usize,
    /// 0: none, 1: disk=ssd, 2: zone a.
    selector: u8,
    tolerate: bool,
    /// 0: none, else host port 8080 or 9090.
    port: u8,
    /// Required anti-affinity on the hostname key against pods of its own app.
    anti: bool,
    app: u8,
    /// 0-3: ReplicaSet rs0-rs3; 4: DaemonSet; 5: mirror; 6: no controller.
    kind: u8,
    namespace: usize,
    local_storage: bool,
    /// 0: unset, 1: "true", 2: "false".
    safe_to_evict: u8,
}

#[derive(Clone, Debug)]
struct GenPdb {
    namespace: usize,
    app: u8,
    allowed: i32,
}

#[derive(Clone, Debug)]
struct GenDaemonSet {
    cpu: i64,
    tolerate: bool,
}

#[derive(Clone, Debug)]
struct Gen {
    groups: Vec<GenGroup>,
    nodes: Vec<GenNode>,
    bound: Vec<GenPod>,
    pending: Vec<GenPod>,
    pdbs: Vec<GenPdb>,
    daemonsets: Vec<GenDaemonSet>,
    threshold: usize,
    seed: u64,
}

fn gen_group() -> impl Strategy<Value = GenGroup> {
    (
        0..3usize,
        0..3usize,
        prop::bool::weighted(0.25),
        0..5usize,
        0..2usize,
        0..=100usize,
    )
        .prop_map(|(shape, zone, taint, headroom, upcoming, min_pct)| GenGroup {
            shape,
            zone,
            taint,
            headroom,
            upcoming,
            min_pct,
        })
}

fn gen_node() -> impl Strategy<Value = GenNode> {
    (
        prop_oneof![9 => (0..3usize).prop_map(Some), 1 => Just(None)],
        0..3usize,
        any::<bool>(),
        prop::bool::weighted(0.1),
    )
        .prop_map(|(group, zone, ssd, scale_down_disabled)| GenNode {
            group,
            zone,
            ssd,
            scale_down_disabled,
        })
}

fn gen_pod() -> impl Strategy<Value = GenPod> {
    (
        prop_oneof![1 => Just(0i64), 9 => (1..=30i64).prop_map(|x| x * 50)],
        (0..=24i64).prop_map(|x| x * 128 * MI),
        any::<usize>(),
        prop_oneof![6 => Just(0u8), 1 => Just(1u8), 1 => Just(2u8)],
        prop::bool::weighted(0.3),
        prop_oneof![8 => Just(0u8), 1 => Just(1u8), 1 => Just(2u8)],
        prop::bool::weighted(0.15),
        0..3u8,
        prop_oneof![14 => 0..4u8, 1 => Just(4u8), 1 => Just(5u8), 1 => Just(6u8)],
        prop_oneof![8 => Just(0usize), 1 => Just(1usize), 1 => Just(2usize)],
        prop::bool::weighted(0.1),
        prop_oneof![8 => Just(0u8), 1 => Just(1u8), 1 => Just(2u8)],
    )
        .prop_map(
            |(
                cpu,
                memory,
                node,
                selector,
                tolerate,
                port,
                anti,
                app,
                kind,
                namespace,
                local_storage,
                safe,
            )| {
                GenPod {
                    cpu,
                    memory,
                    node,
                    selector,
                    tolerate,
                    port,
                    anti,
                    app,
                    kind,
                    namespace,
                    local_storage,
                    safe_to_evict: safe,
                }
            },
        )
}

fn gen_cluster() -> impl Strategy<Value = Gen> {
    (
        prop::collection::vec(gen_group(), 1..=3),
        prop::collection::vec(gen_node(), 2..=12),
        prop::collection::vec(gen_pod(), 0..=40),
        prop_oneof![1 => Just(Vec::new()), 3 => prop::collection::vec(gen_pod(), 0..=40)],
        prop::collection::vec(
            (0..3usize, 0..3u8, 0..=3i32).prop_map(|(namespace, app, allowed)| GenPdb {
                namespace,
                app,
                allowed,
            }),
            0..=3,
        ),
        prop::collection::vec(
            (1..=6i64, any::<bool>()).prop_map(|(c, tolerate)| GenDaemonSet {
                cpu: c * 50,
                tolerate,
            }),
            0..=2,
        ),
        0..3usize,
        any::<u64>(),
    )
        .prop_map(
            |(groups, nodes, bound, pending, pdbs, daemonsets, threshold, seed)| Gen {
                groups,
                nodes,
                bound,
                pending,
                pdbs,
                daemonsets,
                threshold,
                seed,
            },
        )
}

fn now() -> Timestamp {
    t0() + SignedDuration::from_hours(1)
}

/// Scale-down that removes whatever may go: no unneeded time, budgets larger than any cluster here.
fn config(g: &Gen) -> Config {
    Config {
        scale_down: ScaleDownConfig {
            utilization_threshold: THRESHOLDS[g.threshold],
            unneeded_time: SignedDuration::ZERO,
            unready_time: SignedDuration::ZERO,
            max_scale_down_parallelism: 1000,
            max_drain_parallelism: 1000,
            ..ScaleDownConfig::default()
        },
        ..Config::default()
    }
}

fn template_node(name: &str, shape: usize, zone: usize, taint: bool) -> NodeBuilder {
    let (cpu, memory, pods) = SHAPES[shape];
    let mut b = node(name).cpu_mem(cpu, memory).pods(pods).zone(ZONES[zone]);
    // The larger shapes have local SSDs.
    if shape > 0 {
        b = b.label("disk", "ssd");
    }
    if taint {
        b = b.taint(TAINT_KEY, "batch", TaintEffect::NoSchedule);
    }
    b
}

fn pod_builder(name: &str, p: &GenPod) -> PodBuilder {
    let app = format!("a{}", p.app);
    let mut b = pod(name)
        .namespace(NAMESPACES[p.namespace])
        .req(p.cpu, p.memory)
        .label("app", &app);
    b = match p.kind {
        0..=3 => b.owner("ReplicaSet", &format!("rs{}", p.kind)),
        4 => b.daemonset("ds"),
        5 => b.mirror(),
        _ => b.no_owner(),
    };
    b = match p.selector {
        1 => b.node_selector("disk", "ssd"),
        2 => b.node_selector(swell_node_autoscaler::model::LABEL_ZONE, "a"),
        _ => b,
    };
    if p.tolerate {
        b = b.tolerate(TAINT_KEY, None, Some(TaintEffect::NoSchedule));
    }
    if p.port > 0 {
        b = b.host_port(if p.port == 1 { 8080 } else { 9090 });
    }
    if p.anti {
        b = b.anti_affinity(term("app", &app, LABEL_HOSTNAME));
    }
    if p.local_storage {
        b = b.volume("scratch", VolumeKind::EmptyDir { memory: false });
    }
    b.safe_to_evict(match p.safe_to_evict {
        1 => SafeToEvict::True,
        2 => SafeToEvict::False,
        _ => SafeToEvict::Unset,
    })
}

/// The cluster a description stands for. Deterministic: the same description gives the same input.
fn build(g: &Gen, with_pending: bool) -> ClusterInput {
    let group_of = |n: &GenNode| n.group.map(|k| k % g.groups.len());
    let nodes: Vec<_> = g
        .nodes
        .iter()
        .enumerate()
        .map(|(i, n)| {
            let name = format!("n{i}");
            let mut b = match group_of(n) {
                Some(k) => {
                    let gg = &g.groups[k];
                    template_node(&name, gg.shape, n.zone, gg.taint).group(&format!("g{k}"))
                }
                None => template_node(&name, 1, n.zone, false),
            };
            // Nodes of a group share its shape; the disk label varies per node.
            if n.ssd {
                b = b.label("disk", "ssd");
            }
            if n.scale_down_disabled {
                b = b.scale_down_disabled();
            }
            b.build()
        })
        .collect();

    let groups = g
        .groups
        .iter()
        .enumerate()
        .map(|(k, gg)| {
            let registered = g.nodes.iter().filter(|n| group_of(n) == Some(k)).count();
            let target = registered + gg.upcoming;
            let max = target + gg.headroom;
            let min = target * gg.min_pct / 100;
            group(
                &format!("g{k}"),
                template_node("t", gg.shape, gg.zone, gg.taint),
                min,
                max,
                target,
            )
        })
        .collect();

    // Bind each pod to its node only where the scheduler would have: the predicates pass given the
    // pods bound before it. The others are left out.
    let candidates: Vec<_> = g
        .bound
        .iter()
        .enumerate()
        .map(|(i, p)| pod_builder(&format!("b{i}"), p).pending_unmarked().build())
        .collect();
    let mut bound = Vec::new();
    {
        let pre = Snapshot::new(ClusterInput {
            nodes: nodes.clone(),
            pods: candidates.clone(),
            ..ClusterInput::default()
        });
        let mut sim = Sim::new(&pre);
        for (i, (p, gp)) in candidates.iter().zip(&g.bound).enumerate() {
            let n = gp.node % nodes.len();
            if predicates::check(&sim, p, n).is_ok() {
                sim.place(i, n);
                let mut p = p.clone();
                p.node_name = Some(nodes[n].name.clone());
                p.phase = swell_node_autoscaler::model::PodPhase::Running;
                bound.push(p);
            }
        }
    }
    let mut pods = bound;
    if with_pending {
        pods.extend(
            g.pending
                .iter()
                .enumerate()
                .map(|(i, p)| pod_builder(&format!("q{i}"), p).pending().build()),
        );
    }

    let pdbs = g
        .pdbs
        .iter()
        .enumerate()
        .map(|(i, p)| {
            pdb(
                NAMESPACES[p.namespace],
                &format!("pdb{i}"),
                "app",
                &format!("a{}", p.app),
                p.allowed,
            )
        })
        .collect();
    let daemonsets = g
        .daemonsets
        .iter()
        .enumerate()
        .map(|(i, d)| DaemonSet {
            namespace: "kube-system".into(),
            name: format!("ds{i}"),
            requests: Resources::cpu_mem(d.cpu, 64 * MI).with_pods(1),
            scheduling: Arc::new(SchedulingSpec {
                tolerations: if d.tolerate {
                    vec![Toleration {
                        key: TAINT_KEY.into(),
                        operator: TolerationOperator::Exists,
                        value: String::new(),
                        effect: None,
                    }]
                } else {
                    Vec::new()
                },
                ..SchedulingSpec::default()
            }),
        })
        .collect();
    ClusterInput {
        nodes,
        pods,
        pdbs,
        daemonsets,
        groups,
        namespaces: BTreeMap::new(),
    }
}

/// The plans a description gives: with its pending pods (scale-up usually runs), and without them
/// (scale-down runs).
fn plans(g: &Gen) -> Vec<(Snapshot, Plan)> {
    [true, false]
        .into_iter()
        .map(|with_pending| {
            let snap = Snapshot::new(build(g, with_pending));
            assert!(snap.warnings().is_empty(), "{:?}", snap.warnings());
            let p = plan(&snap, &config(g), &mut Memory::default(), now(), g.seed);
            (snap, p)
        })
        .collect()
}

fn pod_ids(snap: &Snapshot) -> HashMap<String, PodId> {
    snap.pods()
        .iter()
        .enumerate()
        .map(|(i, p)| (p.key(), i))
        .collect()
}

fn removed_nodes(snap: &Snapshot, p: &Plan) -> Result<BTreeSet<NodeId>, TestCaseError> {
    let mut out = BTreeSet::new();
    for r in &p.scale_down {
        let id = snap.node_id(&r.node);
        prop_assert!(id.is_some(), "removal of unknown node {}", r.node);
        prop_assert!(out.insert(id.unwrap()), "node {} removed twice", r.node);
    }
    Ok(out)
}

fn within(used: &Resources, alloc: &Resources) -> bool {
    used.cpu <= alloc.cpu
        && used.memory <= alloc.memory
        && used.ephemeral_storage <= alloc.ephemeral_storage
        && used.pods <= alloc.pods
        && used.extended.iter().all(|(name, v)| *v <= alloc.get(name))
}

fn check_bounds(snap: &Snapshot, p: &Plan) -> Result<(), TestCaseError> {
    for up in &p.scale_up {
        let gid = snap.group_id(&up.group);
        prop_assert!(gid.is_some(), "scale-up of unknown group {}", up.group);
        let g = &snap.groups()[gid.unwrap()];
        prop_assert_eq!(up.from, g.target, "group {} scaled up from a stale size", &g.id);
        prop_assert!(
            up.to > up.from,
            "group {}: scale-up from {} to {}",
            &g.id,
            up.from,
            up.to
        );
        prop_assert!(
            up.to <= g.max,
            "group {}: scale-up to {} above max {}",
            &g.id,
            up.to,
            g.max
        );
        prop_assert_eq!(up.max, g.max);
    }
    if !p.scale_up.is_empty() {
        prop_assert!(p.scale_down.is_empty(), "scale-up and scale-down in one loop");
    }
    let mut removals: HashMap<&str, usize> = HashMap::new();
    for r in &p.scale_down {
        *removals.entry(r.group.as_str()).or_default() += 1;
    }
    for (group, n) in removals {
        let g = &snap.groups()[snap.group_id(group).unwrap()];
        prop_assert!(
            g.target - n >= g.min,
            "group {}: {} removals from target {} go below min {}",
            group,
            n,
            g.target,
            g.min
        );
    }
    Ok(())
}

fn check_removed_nodes_are_safe(snap: &Snapshot, p: &Plan, cfg: &Config) -> Result<(), TestCaseError> {
    let fresh = PdbTracker::new(snap.pdbs());
    removed_nodes(snap, p)?;
    let mut evicted_anywhere: BTreeSet<&str> = BTreeSet::new();
    for r in &p.scale_down {
        let id = snap.node_id(&r.node).unwrap();
        let node = &snap.nodes()[id];
        let gid = snap.group_of(id);
        prop_assert!(gid.is_some(), "removed node {} is not autoscaled", r.node);
        prop_assert_eq!(&snap.groups()[gid.unwrap()].id, &r.group);
        prop_assert!(!node.scale_down_disabled, "removed node {} is annotated", r.node);
        prop_assert!(!node.is_being_deleted());
        let evicted: BTreeSet<&str> = r.evict.iter().map(|m| m.pod.as_str()).collect();
        prop_assert_eq!(
            evicted.len(),
            r.evict.len(),
            "node {}: a pod evicted twice",
            &r.node
        );
        if r.kind == RemovalKind::Empty {
            prop_assert!(r.evict.is_empty(), "empty node {} has evictions", r.node);
        }
        // Only the node's own pods are evicted by its removal, and no pod twice in the plan.
        let own: BTreeSet<String> = snap.pods_on(id).iter().map(|&q| snap.pods()[q].key()).collect();
        for pod in &evicted {
            prop_assert!(
                own.contains(*pod),
                "node {}: evicts {}, which runs elsewhere",
                r.node,
                pod
            );
            prop_assert!(
                evicted_anywhere.insert(pod),
                "pod {} is evicted twice in the plan",
                pod
            );
        }
        for &pid in snap.pods_on(id) {
            let pod = &snap.pods()[pid];
            let key = pod.key();
            match drainability(pod, &fresh, &cfg.scale_down.drain, now()) {
                Drainability::Drain => {
                    prop_assert!(
                        evicted.contains(key.as_str()),
                        "node {}: pod {} is not evicted",
                        r.node,
                        key
                    )
                }
                Drainability::Skip(_) => {
                    prop_assert!(
                        !evicted.contains(key.as_str()),
                        "node {}: pod {} is evicted",
                        r.node,
                        key
                    )
                }
                other => prop_assert!(
                    false,
                    "node {} removed with blocking pod {}: {:?}",
                    r.node,
                    key,
                    other
                ),
            }
        }
    }
    Ok(())
}

fn check_moves(snap: &Snapshot, p: &Plan) -> Result<(), TestCaseError> {
    let ids = pod_ids(snap);
    let removed = removed_nodes(snap, p)?;
    let mut sim = Sim::new(snap);
    for &n in &removed {
        sim.remove_node(n);
    }
    // The pending pods the plan leaves to the scheduler on nodes that stay.
    for e in &p.pods {
        if let PodOutcome::FitsExistingNode { node } = &e.outcome {
            let n = snap.node_id(node).unwrap();
            if removed.contains(&n) {
                continue;
            }
            let pid = ids[&e.pod];
            let pod = &snap.pods()[pid];
            prop_assert!(pod.node_name.is_none(), "{} is bound", e.pod);
            prop_assert_eq!(
                predicates::check(&sim, pod, n),
                Ok(()),
                "pending pod {} on {}",
                &e.pod,
                node
            );
            sim.place(pid, n);
        }
    }
    let mut destination: HashMap<PodId, &str> = HashMap::new();
    for r in &p.scale_down {
        for m in &r.evict {
            let pid = ids[&m.pod];
            let pod = &snap.pods()[pid];
            prop_assert_eq!(
                snap.node_of(pid),
                snap.node_id(&r.node),
                "{} is evicted by the removal of {}, where it does not run",
                &m.pod,
                &r.node
            );
            prop_assert!(
                destination.insert(pid, &m.to).is_none(),
                "{} is evicted twice",
                &m.pod
            );
            let to = snap.node_id(&m.to);
            prop_assert!(to.is_some(), "{} moves to unknown node {:?}", m.pod, m.to);
            let to = to.unwrap();
            prop_assert!(!removed.contains(&to), "{} moves to {}, removed too", m.pod, m.to);
            prop_assert!(snap.nodes()[to].ready);
            prop_assert_eq!(
                predicates::check(&sim, pod, to),
                Ok(()),
                "{} moved from {} to {}",
                &m.pod,
                &r.node,
                &m.to
            );
            sim.place(pid, to);
        }
    }
    for n in 0..snap.nodes().len() {
        if !removed.contains(&n) {
            let node = &snap.nodes()[n];
            prop_assert!(
                within(sim.used(n), &node.allocatable),
                "node {} over-committed: {:?} of {:?}",
                node.name,
                sim.used(n),
                node.allocatable
            );
        }
    }
    Ok(())
}

fn check_pdbs(snap: &Snapshot, p: &Plan) -> Result<(), TestCaseError> {
    let ids = pod_ids(snap);
    for pdb in snap.pdbs() {
        let spent = p
            .scale_down
            .iter()
            .flat_map(|r| &r.evict)
            .filter(|m| pdb.covers(&snap.pods()[ids[&m.pod]]))
            .count();
        prop_assert!(
            spent as i64 <= i64::from(pdb.disruptions_allowed.max(0)),
            "PDB {} allows {} disruptions, the plan evicts {} of its pods",
            pdb.name,
            pdb.disruptions_allowed,
            spent
        );
    }
    Ok(())
}

fn check_scale_up_pods(snap: &Snapshot, p: &Plan) -> Result<(), TestCaseError> {
    let ids = pod_ids(snap);
    let sim = Sim::new(snap);
    for up in &p.scale_up {
        let gid = snap.group_id(&up.group).unwrap();
        let g = &snap.groups()[gid];
        let template = &g.template;
        let overhead = sim.template_overhead(gid);
        let new_nodes = (up.to - up.from) as i64;
        let mut pods: Vec<PodId> = Vec::new();
        let mut total = Resources::default();
        for key in &up.pods {
            let pid = ids[key];
            let pod = &snap.pods()[pid];
            prop_assert!(
                pod.node_name.is_none() && pod.unschedulable,
                "{} is not pending",
                key
            );
            prop_assert_eq!(
                predicates::static_check(&pod.scheduling, template),
                Ok(()),
                "{} on the template of {}",
                key,
                &g.id
            );
            prop_assert_eq!(
                pod.requests.fits(overhead, &template.allocatable),
                Ok(()),
                "{}",
                key
            );
            total.add(&pod.requests);
            pods.push(pid);
        }
        // All new nodes together have room for all the pods.
        let mut room = template.allocatable.clone();
        room.sub(overhead);
        let mut capacity = Resources::default();
        capacity.add_times(&room, new_nodes);
        prop_assert!(
            within(&total, &capacity),
            "{} pods need {:?}, {} new nodes of {} offer {:?}",
            pods.len(),
            total,
            new_nodes,
            g.id,
            capacity
        );
        // Unless the group's max cut the estimate short, packing the same pods again gives the
        // same node count.
        if up.to < g.max && new_nodes < 1000 {
            pods.sort_unstable();
            let classes = estimator::classes(snap, pods.iter().copied());
            let slices: Vec<&[PodId]> = classes.iter().map(|c| c.pods.as_slice()).collect();
            let mut sim = Sim::new(snap);
            let est = estimator::estimate(&mut sim, gid, &slices, up.to - up.from);
            prop_assert_eq!(est.pod_count(), pods.len(), "re-estimating the pods of {}", &g.id);
            prop_assert_eq!(
                est.nodes.len(),
                up.to - up.from,
                "re-estimating the pods of {}",
                &g.id
            );
        }
    }
    Ok(())
}

proptest! {
    // No regression files: a failure prints its minimal input.
    #![proptest_config(ProptestConfig { failure_persistence: None, ..ProptestConfig::with_cases(128) })]

    #[test]
    fn a_plan_never_takes_a_group_above_its_max_or_below_its_min(g in gen_cluster()) {
        for (snap, p) in plans(&g) {
            check_bounds(&snap, &p)?;
        }
    }

    #[test]
    fn a_removed_node_is_autoscaled_unannotated_and_holds_no_blocking_pod(g in gen_cluster()) {
        let cfg = config(&g);
        for (snap, p) in plans(&g) {
            check_removed_nodes_are_safe(&snap, &p, &cfg)?;
        }
    }

    #[test]
    fn every_evicted_pod_fits_where_the_plan_sends_it(g in gen_cluster()) {
        for (snap, p) in plans(&g) {
            check_moves(&snap, &p)?;
        }
    }

    #[test]
    fn a_plan_never_evicts_more_pods_than_a_pdb_allows(g in gen_cluster()) {
        for (snap, p) in plans(&g) {
            check_pdbs(&snap, &p)?;
        }
    }

    #[test]
    fn the_pods_of_a_scale_up_fit_the_new_nodes(g in gen_cluster()) {
        for (snap, p) in plans(&g) {
            check_scale_up_pods(&snap, &p)?;
        }
    }

    #[test]
    fn the_same_input_and_seed_give_the_same_plan(g in gen_cluster()) {
        let cfg = config(&g);
        for with_pending in [true, false] {
            let snap = Snapshot::new(build(&g, with_pending));
            let first = plan(&snap, &cfg, &mut Memory::default(), now(), g.seed);
            let again = plan(&snap, &cfg, &mut Memory::default(), now(), g.seed);
            let rebuilt = Snapshot::new(build(&g, with_pending));
            let other = plan(&rebuilt, &cfg, &mut Memory::default(), now(), g.seed);
            let json = serde_json::to_string(&first).unwrap();
            prop_assert_eq!(&json, &serde_json::to_string(&again).unwrap());
            prop_assert_eq!(&json, &serde_json::to_string(&other).unwrap());
        }
    }
}

/// The generator makes clusters where plans do something: not every property above may hold
/// vacuously.
#[test]
fn the_generator_exercises_scale_up_and_scale_down() {
    use proptest::strategy::ValueTree;
    use proptest::test_runner::{Config as RunnerConfig, RngAlgorithm, TestRng, TestRunner};
    let mut runner = TestRunner::new_with_rng(
        RunnerConfig::default(),
        TestRng::from_seed(RngAlgorithm::ChaCha, &[7; 32]),
    );
    let (mut ups, mut drains, mut empties, mut evictions) = (0, 0, 0, 0);
    for _ in 0..128 {
        let g = gen_cluster().new_tree(&mut runner).unwrap().current();
        for (_, p) in plans(&g) {
            ups += p.scale_up.len();
            for r in &p.scale_down {
                match r.kind {
                    RemovalKind::Empty => empties += 1,
                    RemovalKind::Drain => drains += 1,
                }
                evictions += r.evict.len();
            }
        }
    }
    assert!(ups >= 20, "{ups} scale-ups");
    assert!(drains >= 20, "{drains} drains");
    assert!(empties >= 5, "{empties} empty removals");
    assert!(evictions >= 20, "{evictions} evictions");
}
