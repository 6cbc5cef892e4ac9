//! Which nodes can go: utilization, eligibility, drainability, the rescheduling simulation, the
//! unneeded timers and the deletion budgets (Cluster Autoscaler's `core/scaledown/{eligibility,
//! planner,unneeded,budgets}`).
//!
//! Every autoscaled node is checked in turn. Eligible nodes (in a group, not annotated, not being
//! deleted, under the utilization threshold) are candidates; for each candidate, in order (empty
//! nodes first, then the least utilized), the drain rules decide which pods must move, the PDB
//! tracker checks their disruptions against what the plan has already spent, and the simulation
//! removes the node and places its pods on the nodes that stay (nodes that are not candidates first).
//! A candidate whose pods all find room is unneeded; the simulation keeps it removed, so that the
//! next candidates cannot count on its room and every unneeded node's pods have a place on a node
//! that stays. Unneeded nodes become removable when their timer runs out; removable nodes are taken,
//! empty ones first, within the parallelism budgets and the group minimums.

use std::collections::HashMap;

use jiff::Timestamp;

use crate::config::{ClusterLimits, Memory, ScaleDownConfig};
use crate::model::Pod;
use crate::plan::{
    BlockingPod, Move, NodeExplanation, NodeOutcome, RemovalKind, ScaleDown, ScaleDownStatus,
    UnremovableReason,
};
use crate::resources::Resources;
use crate::scaledown::drain::{self, BlockingReason, Drainability};
use crate::scaledown::pdb::PdbTracker;
use crate::scaleup::estimator::{classes, first_fit_from, is_batchable};
use crate::sim::{Sim, SimNodeId};
use crate::snapshot::{NodeId, PodId, Snapshot};

/// What the scale-down part of a plan decided.
#[derive(Clone, Debug, Default)]
pub struct ScaleDownResult {
    /// Nodes to remove now.
    pub removals: Vec<ScaleDown>,
    /// All unneeded nodes (removed now or later).
    pub unneeded: Vec<String>,
    /// A verdict per registered node.
    pub nodes: Vec<NodeExplanation>,
}

/// Why a node cannot go.
#[derive(Clone, Debug, PartialEq)]
pub struct Refusal {
    /// CA's reason.
    pub reason: UnremovableReason,
    /// The pod that blocks it, if one does.
    pub blocking_pod: Option<BlockingPod>,
    /// Words for a person.
    pub detail: String,
}

impl Refusal {
    fn new(reason: UnremovableReason, detail: impl Into<String>) -> Refusal {
        Refusal {
            reason,
            blocking_pod: None,
            detail: detail.into(),
        }
    }
}

impl From<Refusal> for NodeOutcome {
    fn from(r: Refusal) -> NodeOutcome {
        NodeOutcome::Unremovable {
            reason: r.reason,
            blocking_pod: r.blocking_pod,
            detail: r.detail,
        }
    }
}

/// A node whose pods all found room.
#[derive(Clone, Debug, PartialEq)]
pub struct Removable {
    /// Bound pods to evict.
    pub evict: Vec<PodId>,
    /// Whether nothing needs evicting.
    pub empty: bool,
}

/// The utilization CA compares with the threshold: the larger of the cpu and memory requests over
/// allocatable, counting DaemonSet and mirror pods unless told to ignore them. `None` when the
/// node's allocatable cpu or memory is zero (CA reports an error for such a node).
pub fn utilization(
    snap: &Snapshot,
    node: NodeId,
    ignore_daemonsets: bool,
    ignore_mirror: bool,
) -> Option<f64> {
    let n = &snap.nodes()[node];
    if n.allocatable.cpu <= 0 || n.allocatable.memory <= 0 {
        return None;
    }
    let (mut cpu, mut mem) = (0i64, 0i64);
    for &p in snap.pods_on(node) {
        let pod = &snap.pods()[p];
        if (ignore_daemonsets && pod.is_daemonset()) || (ignore_mirror && pod.mirror) {
            continue;
        }
        cpu = cpu.saturating_add(pod.requests.cpu);
        mem = mem.saturating_add(pod.requests.memory);
    }
    Some((cpu as f64 / n.allocatable.cpu as f64).max(mem as f64 / n.allocatable.memory as f64))
}

/// The state of one removal simulation: the overlay, the PDB budgets and the nodes that may
/// receive pods.
#[derive(Debug)]
pub struct Rescheduler<'a, 's> {
    sim: &'a mut Sim<'s>,
    pdbs: PdbTracker,
    destinations: Vec<SimNodeId>,
    /// Per batchable pod shape (requests and scheduling spec), where in `destinations` the next
    /// first-fit search may start: destinations only gain pods while candidates succeed, so nodes
    /// that were full for a shape stay full. Cleared on every rollback, which frees room.
    cursors: HashMap<(Resources, usize), usize>,
}

impl<'a, 's> Rescheduler<'a, 's> {
    /// A rescheduler over `sim`. `destinations` are the nodes pods may move to, in preference order.
    pub fn new(sim: &'a mut Sim<'s>, destinations: Vec<SimNodeId>) -> Rescheduler<'a, 's> {
        let pdbs = PdbTracker::new(sim.snapshot().pdbs());
        Rescheduler {
            sim,
            pdbs,
            destinations,
            cursors: HashMap::new(),
        }
    }

    /// The simulation.
    pub fn sim(&self) -> &Sim<'s> {
        self.sim
    }

    /// Simulates removing `node`: its pods are checked by the drain rules and the PDBs, then moved
    /// to the destinations. On success the node stays removed in the simulation and the PDB budget
    /// is spent; on failure nothing changes.
    pub fn try_remove(
        &mut self,
        node: NodeId,
        cfg: &ScaleDownConfig,
        now: Timestamp,
    ) -> Result<Removable, Refusal> {
        let snap = self.sim.snapshot();
        let mut to_move: Vec<PodId> = Vec::new();
        let mut evict: Vec<PodId> = Vec::new();
        for p in self.sim.pods_on(node) {
            let pod = &snap.pods()[p];
            if snap.node_of(p) != Some(node) {
                // A pod the simulation put here (pending, or moved from a node removed earlier in
                // the plan, whose removal evicts it): it only needs room elsewhere. Evicting it or
                // spending PDB budget for it again would be wrong.
                to_move.push(p);
                continue;
            }
            match drain::drainability(pod, &self.pdbs, &cfg.drain, now) {
                Drainability::Drain => {
                    to_move.push(p);
                    evict.push(p);
                }
                Drainability::Skip(_) => {}
                Drainability::WaitForCompletion => {
                    return Err(Refusal {
                        reason: UnremovableReason::BlockedByOnCompletionPod,
                        blocking_pod: None,
                        detail: format!("pod {} is annotated to be evicted only on completion", pod.key()),
                    });
                }
                Drainability::Block { reason, message, .. } => {
                    return Err(Refusal {
                        reason: UnremovableReason::BlockedByPod,
                        blocking_pod: Some(BlockingPod {
                            pod: pod.key(),
                            reason,
                        }),
                        detail: message,
                    });
                }
            }
        }
        let evict_pods: Vec<&Pod> = evict.iter().map(|&p| &snap.pods()[p]).collect();
        if let Err(block) = self.pdbs.can_evict(&evict_pods) {
            let pod = evict_pods[block.pod];
            return Err(Refusal {
                reason: UnremovableReason::BlockedByPod,
                blocking_pod: Some(BlockingPod {
                    pod: pod.key(),
                    reason: BlockingReason::NotEnoughPdb,
                }),
                detail: format!("not enough pod disruption budget to move {}", pod.key()),
            });
        }

        let mark = self.sim.mark();
        self.sim.remove_node(node);
        for class in classes(snap, to_move.iter().copied()) {
            let rep = class.representative(snap);
            // The spec's address identifies it: equivalent pods share one Arc.
            let key = is_batchable(snap, rep).then(|| {
                (
                    rep.requests.clone(),
                    std::sync::Arc::as_ptr(&rep.scheduling) as usize,
                )
            });
            let start = key
                .as_ref()
                .and_then(|k| self.cursors.get(k))
                .copied()
                .unwrap_or(0);
            let fit = first_fit_from(self.sim, &class.pods, &self.destinations, start);
            if fit.placed < class.pods.len() {
                self.sim.rollback(mark);
                self.cursors.clear();
                let pod = &snap.pods()[class.pods[fit.placed]];
                let why = fit
                    .unfit
                    .map_or_else(|| "no node left to take it".to_string(), |u| u.to_string());
                return Err(Refusal::new(
                    UnremovableReason::NoPlaceToMovePods,
                    format!("pod {} cannot move to any other node: {why}", pod.key()),
                ));
            }
            if let (Some(k), Some(last)) = (key, fit.last_used) {
                self.cursors.insert(k, last);
            }
        }
        self.pdbs.evict(&evict_pods);
        Ok(Removable {
            empty: evict.is_empty() && to_move.is_empty(),
            evict,
        })
    }
}

/// Where each pod the simulation moved ended up: a map from pod to its node, over the nodes that
/// stay.
pub fn final_places(sim: &Sim<'_>) -> HashMap<PodId, SimNodeId> {
    let mut at = HashMap::new();
    for n in 0..sim.len() {
        if !sim.is_removed(n) {
            for &p in sim.placed_on(n) {
                at.insert(p, n);
            }
        }
    }
    at
}

/// The plan entry for removing a node the simulation found removable, with each evicted pod's final
/// destination from `places` ([`final_places`]).
pub fn removal(
    sim: &Sim<'_>,
    places: &HashMap<PodId, SimNodeId>,
    node: &str,
    group: &str,
    r: &Removable,
    utilization: f64,
) -> ScaleDown {
    let snap = sim.snapshot();
    ScaleDown {
        node: node.to_string(),
        group: group.to_string(),
        kind: if r.empty {
            RemovalKind::Empty
        } else {
            RemovalKind::Drain
        },
        evict: r
            .evict
            .iter()
            .map(|p| Move {
                pod: snap.pods()[*p].key(),
                to: places.get(p).map_or_else(String::new, |&d| sim.node_name(d)),
            })
            .collect(),
        utilization,
    }
}

struct Candidate {
    node: NodeId,
    utilization: f64,
    empty_hint: bool,
}

/// Runs scale-down over the simulation: verdicts for every registered node, the unneeded set, the
/// timers in `mem`, and (when `status` is [`ScaleDownStatus::Ran`]) the nodes to remove now.
pub fn scale_down(
    sim: &mut Sim<'_>,
    cfg: &ScaleDownConfig,
    limits: &ClusterLimits,
    mem: &mut Memory,
    status: &ScaleDownStatus,
    now: Timestamp,
) -> ScaleDownResult {
    let snap = sim.snapshot();
    let base = snap.nodes().len();
    let mut verdicts: Vec<Option<(f64, NodeOutcome)>> = vec![None; base];
    let mut candidates: Vec<Candidate> = Vec::new();

    for (id, node) in snap.nodes().iter().enumerate() {
        let group = snap.group_of(id).map(|g| &snap.groups()[g]);
        let opts = group.map(|g| &g.options);
        let ignore_ds = opts
            .and_then(|o| o.ignore_daemonsets_utilization)
            .unwrap_or(cfg.ignore_daemonsets_utilization);
        let util = utilization(snap, id, ignore_ds, cfg.ignore_mirror_pods_utilization);
        let u = util.unwrap_or(0.0);
        // CA's order (`core/scaledown/eligibility`): recently unremovable, being deleted, annotated,
        // not autoscaled, unready with unready scale-down off, then the threshold (at or above it
        // is not underutilized, unready nodes included).
        let outcome = if let Some(until) = mem.unremovable_until.get(&node.name).filter(|&&t| t > now) {
            Some(Refusal::new(
                UnremovableReason::RecentlyUnremovable,
                format!("found unremovable recently; rechecked at {until}"),
            ))
        } else if node.is_being_deleted() {
            Some(Refusal::new(
                UnremovableReason::CurrentlyBeingDeleted,
                "the node is already being deleted",
            ))
        } else if node.scale_down_disabled {
            Some(Refusal::new(
                UnremovableReason::ScaleDownDisabledAnnotation,
                "the node is annotated cluster-autoscaler.kubernetes.io/scale-down-disabled=true",
            ))
        } else if group.is_none() {
            Some(Refusal::new(
                UnremovableReason::NotAutoscaled,
                "the node is in no autoscaled node group",
            ))
        } else if !node.ready && !cfg.unready_enabled {
            Some(Refusal::new(
                UnremovableReason::ScaleDownUnreadyDisabled,
                "the node is unready",
            ))
        } else if util.is_none() {
            Some(Refusal::new(
                UnremovableReason::UnexpectedError,
                "the node's allocatable cpu or memory is zero",
            ))
        } else {
            let threshold = opts
                .and_then(|o| o.scale_down_utilization_threshold)
                .unwrap_or(cfg.utilization_threshold);
            if u >= threshold {
                Some(Refusal::new(
                    UnremovableReason::NotUnderutilized,
                    format!("utilization {u:.3} is not below the threshold {threshold}"),
                ))
            } else {
                None
            }
        };
        match outcome {
            Some(refusal) => verdicts[id] = Some((u, refusal.into())),
            None => candidates.push(Candidate {
                node: id,
                utilization: u,
                empty_hint: sim.pods_on(id).all(|p| {
                    let pod = sim.pod(p);
                    snap.node_of(p).is_some() && (pod.is_daemonset() || pod.mirror)
                }),
            }),
        }
    }

    // Empty nodes first, then the least utilized; names break ties so the order is stable.
    candidates.sort_by(|a, b| {
        b.empty_hint
            .cmp(&a.empty_hint)
            .then(a.utilization.total_cmp(&b.utilization))
            .then_with(|| snap.nodes()[a.node].name.cmp(&snap.nodes()[b.node].name))
    });

    // Destinations: ready registered nodes that are not candidates, in order, then the candidates
    // from the last to the first (a candidate late in the order is the least likely to go).
    let is_candidate: Vec<bool> = {
        let mut v = vec![false; base];
        for c in &candidates {
            v[c.node] = true;
        }
        v
    };
    let mut destinations: Vec<SimNodeId> = (0..base)
        .filter(|&n| !is_candidate[n] && snap.nodes()[n].ready && !snap.nodes()[n].is_being_deleted())
        .collect();
    destinations.extend(
        candidates
            .iter()
            .rev()
            .filter(|c| snap.nodes()[c.node].ready)
            .map(|c| c.node),
    );

    let mut unneeded: Vec<(NodeId, f64, Removable)> = Vec::new();
    {
        let mut rs = Rescheduler::new(sim, destinations);
        for c in &candidates {
            match rs.try_remove(c.node, cfg, now) {
                Ok(r) => unneeded.push((c.node, c.utilization, r)),
                Err(refusal) => {
                    if matches!(
                        refusal.reason,
                        UnremovableReason::BlockedByPod
                            | UnremovableReason::NoPlaceToMovePods
                            | UnremovableReason::BlockedByOnCompletionPod
                    ) {
                        mem.unremovable_until.insert(
                            snap.nodes()[c.node].name.clone(),
                            now + cfg.unremovable_node_recheck_timeout,
                        );
                    }
                    verdicts[c.node] = Some((c.utilization, refusal.into()));
                }
            }
        }
    }

    // Timers: keep the first time a node was found unneeded; forget nodes that no longer are.
    let mut since_map = std::collections::BTreeMap::new();
    for (n, _, _) in &unneeded {
        let name = &snap.nodes()[*n].name;
        let since = mem.unneeded_since.get(name).copied().unwrap_or(now);
        since_map.insert(name.clone(), since);
    }
    mem.unneeded_since = since_map;
    mem.unremovable_until
        .retain(|name, until| *until > now && snap.node_id(name).is_some());

    // Selection: removable nodes, empty first, within the budgets, group minimums and limits.
    let places = final_places(sim);
    let mut group_deletions = vec![0usize; snap.groups().len()];
    let mut cpu_milli: i64 = snap.nodes().iter().map(|n| n.capacity.cpu).sum();
    let mut memory: i64 = snap.nodes().iter().map(|n| n.capacity.memory).sum();
    let mut budget_total = cfg.max_scale_down_parallelism;
    let mut budget_drain = cfg.max_drain_parallelism;
    let mut removals = Vec::new();
    let running = *status == ScaleDownStatus::Ran;
    let mut order: Vec<usize> = (0..unneeded.len()).collect();
    order.sort_by_key(|&i| !unneeded[i].2.empty);
    for i in order {
        let (n, u, r) = &unneeded[i];
        let node = &snap.nodes()[*n];
        let Some(gid) = snap.group_of(*n) else { continue };
        let group = &snap.groups()[gid];
        let since = mem.unneeded_since.get(&node.name).copied().unwrap_or(now);
        let wait = if node.ready {
            group
                .options
                .scale_down_unneeded_time
                .unwrap_or(cfg.unneeded_time)
        } else {
            group.options.scale_down_unready_time.unwrap_or(cfg.unready_time)
        };
        let removable_at = since + wait;
        let unneeded_outcome = NodeOutcome::Unneeded { since, removable_at };
        let outcome = if !running || removable_at > now {
            unneeded_outcome
        } else if group.target.saturating_sub(group_deletions[gid]) <= group.min {
            Refusal::new(
                UnremovableReason::NodeGroupMinSizeReached,
                format!("node group {} is at its minimum size {}", group.id, group.min),
            )
            .into()
        } else if cpu_milli - node.capacity.cpu < limits.min_cores.saturating_mul(1000)
            || memory - node.capacity.memory < limits.min_memory
        {
            Refusal::new(
                UnremovableReason::MinimalResourceLimitExceeded,
                "removing it would take the cluster below --cores-total or --memory-total",
            )
            .into()
        } else if budget_total == 0 || (!r.empty && budget_drain == 0) {
            unneeded_outcome
        } else {
            budget_total -= 1;
            if !r.empty {
                budget_drain -= 1;
            }
            group_deletions[gid] += 1;
            cpu_milli -= node.capacity.cpu;
            memory -= node.capacity.memory;
            let removal = removal(sim, &places, &node.name, &group.id, r, *u);
            let kind = removal.kind;
            removals.push(removal);
            NodeOutcome::Removed { removal: kind }
        };
        verdicts[*n] = Some((*u, outcome));
    }

    let nodes = verdicts
        .into_iter()
        .enumerate()
        .filter_map(|(id, v)| {
            v.map(|(utilization, outcome)| NodeExplanation {
                node: snap.nodes()[id].name.clone(),
                group: snap.group_of(id).map(|g| snap.groups()[g].id.clone()),
                utilization,
                outcome,
            })
        })
        .collect();
    ScaleDownResult {
        removals,
        unneeded: unneeded
            .iter()
            .map(|(n, _, _)| snap.nodes()[*n].name.clone())
            .collect(),
        nodes,
    }
}
