//! The planner's entry points: [`plan`] one loop, and [`revalidate`] a plan's removals against a
//! fresh snapshot before acting on them.

use jiff::Timestamp;
use serde::Serialize;

use crate::config::{Config, Memory, ScaleDownConfig};
use crate::plan::{Plan, PodOutcome, ScaleDown, ScaleDownStatus, UnremovableReason};
use crate::scaledown::planner::{self, Rescheduler};
use crate::scaleup::orchestrator;
use crate::sim::{Sim, SimNodeId};
use crate::snapshot::Snapshot;

/// Plans one loop: scale-up first; scale-down when no scale-up was decided, no pending pod is about
/// to be bound to an existing node, and no cooldown holds (the unneeded timers run either way, as in
/// CA). `mem` carries the timers between loops; `seed`
/// drives the random expander.
pub fn plan(snap: &Snapshot, cfg: &Config, mem: &mut Memory, now: Timestamp, seed: u64) -> Plan {
    let mut sim = Sim::new(snap);
    let up = orchestrator::scale_up(&mut sim, cfg, now, seed);

    let schedulable = up.pods.iter().any(|p| {
        matches!(
            p.outcome,
            PodOutcome::FitsExistingNode { .. } | PodOutcome::FitsUpcomingNode { .. }
        )
    });
    let status = scale_down_status(&cfg.scale_down, mem, !up.actions.is_empty(), schedulable, now);
    let mut plan = Plan {
        now: Some(now),
        scale_up: up.actions,
        pods: up.pods,
        scale_down_status: status.clone(),
        ..Plan::default()
    };
    if status != ScaleDownStatus::Disabled {
        let down = planner::scale_down(&mut sim, &cfg.scale_down, &cfg.limits, mem, &status, now);
        plan.scale_down = down.removals;
        plan.unneeded = down.unneeded;
        plan.nodes = down.nodes;
    }
    plan
}

fn scale_down_status(
    cfg: &ScaleDownConfig,
    mem: &Memory,
    scaled_up: bool,
    schedulable_pods: bool,
    now: Timestamp,
) -> ScaleDownStatus {
    if !cfg.enabled {
        return ScaleDownStatus::Disabled;
    }
    if scaled_up {
        return ScaleDownStatus::ScaleUpInThisLoop;
    }
    if schedulable_pods {
        return ScaleDownStatus::SchedulablePodsPresent;
    }
    let cooling =
        |last: Option<Timestamp>, delay: jiff::SignedDuration| last.is_some_and(|t| t + delay > now);
    if cooling(mem.last_scale_up, cfg.delay_after_add) {
        return ScaleDownStatus::InCooldown("scale-down-delay-after-add".into());
    }
    if cooling(mem.last_scale_down_delete, cfg.delay_after_delete) {
        return ScaleDownStatus::InCooldown("scale-down-delay-after-delete".into());
    }
    if cooling(mem.last_scale_down_failure, cfg.delay_after_failure) {
        return ScaleDownStatus::InCooldown("scale-down-delay-after-failure".into());
    }
    ScaleDownStatus::Ran
}

/// The outcome of [`revalidate`].
#[derive(Clone, Debug, Default, Serialize)]
pub struct Revalidation {
    /// Removals still safe, with their pods' new destinations.
    pub keep: Vec<ScaleDown>,
    /// Removals dropped, with why.
    pub dropped: Vec<Dropped>,
}

/// A removal that is no longer safe.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Dropped {
    /// The node.
    pub node: String,
    /// CA's reason.
    pub reason: UnremovableReason,
    /// Words for a person.
    pub detail: String,
}

/// Checks the removals of `plan` against a fresh snapshot, in the plan's order, as one plan: each node
/// must still exist in the same group, above the group's minimum, not annotated, its pods drainable
/// within the PDBs (spent across the kept removals) and movable onto nodes that stay. Nodes that fail
/// are dropped with the reason; the others are kept with their pods' destinations recomputed.
pub fn revalidate(plan: &Plan, fresh: &Snapshot, cfg: &ScaleDownConfig, now: Timestamp) -> Revalidation {
    let mut sim = Sim::new(fresh);
    let removing: Vec<Option<usize>> = plan.scale_down.iter().map(|r| fresh.node_id(&r.node)).collect();
    let destinations: Vec<SimNodeId> = (0..fresh.nodes().len())
        .filter(|&n| {
            let node = &fresh.nodes()[n];
            node.ready && !node.is_being_deleted() && !removing.contains(&Some(n))
        })
        .collect();
    let mut deletions = vec![0usize; fresh.groups().len()];
    let mut out = Revalidation::default();
    let mut kept_nodes = Vec::new();
    {
        let mut rs = Rescheduler::new(&mut sim, destinations);
        for (r, id) in plan.scale_down.iter().zip(&removing) {
            let drop = |reason, detail: String| Dropped {
                node: r.node.clone(),
                reason,
                detail,
            };
            let Some(id) = *id else {
                out.dropped.push(drop(
                    UnremovableReason::UnexpectedError,
                    "the node is gone".into(),
                ));
                continue;
            };
            let node = &fresh.nodes()[id];
            let Some(gid) = fresh.group_of(id).filter(|&g| fresh.groups()[g].id == r.group) else {
                out.dropped.push(drop(
                    UnremovableReason::NotAutoscaled,
                    format!("the node left group {}", r.group),
                ));
                continue;
            };
            let group = &fresh.groups()[gid];
            if node.scale_down_disabled {
                out.dropped.push(drop(
                    UnremovableReason::ScaleDownDisabledAnnotation,
                    "annotated since the plan".into(),
                ));
                continue;
            }
            if group.target.saturating_sub(deletions[gid]) <= group.min {
                out.dropped.push(drop(
                    UnremovableReason::NodeGroupMinSizeReached,
                    format!("node group {} is at its minimum size {}", group.id, group.min),
                ));
                continue;
            }
            match rs.try_remove(id, cfg, now) {
                Ok(removable) => {
                    deletions[gid] += 1;
                    kept_nodes.push((r, removable));
                }
                Err(refusal) => out.dropped.push(drop(refusal.reason, refusal.detail)),
            }
        }
    }
    let places = planner::final_places(&sim);
    for (r, removable) in kept_nodes {
        out.keep.push(planner::removal(
            &sim,
            &places,
            &r.node,
            &r.group,
            &removable,
            r.utilization,
        ));
    }
    out
}
