//! One scale-up decision (Cluster Autoscaler's `core/scaleup/orchestrator` with the pod list
//! processors before it).
//!
//! 1. Pending pods are sorted out: gated, not yet marked unschedulable by the scheduler, DaemonSet
//!    pods, expendable (priority under the cutoff) and too young pods are left alone, each with its
//!    reason.
//! 2. The rest are grouped into equivalence classes and placed, first fit, on registered nodes and on
//!    the nodes already requested from the groups (upcoming): those that fit need no new node.
//! 3. For every node group that may grow (not backed off, under its max, within the cluster limits),
//!    the estimator packs the remaining pods onto copies of its template; each group with pods placed
//!    is an expansion option.
//! 4. The expander chain picks one option; with balancing on, its node count is split across the
//!    similar groups that are options too.
//!
//! Every pod left pending gets a verdict per group: the predicate that failed, the limit that was
//! hit, or the group the expander preferred.

use jiff::Timestamp;

use crate::config::Config;
use crate::plan::{GroupRejection, GroupVerdict, PodExplanation, PodOutcome, ScaleUp};
use crate::scaleup::balance;
use crate::scaleup::estimator::{self, Estimate};
use crate::scaleup::expander::{self, Choice, ExpansionOption};
use crate::sim::{Sim, SimNodeId};
use crate::snapshot::{GroupId, PodId};

/// The scale-up part of a plan.
#[derive(Clone, Debug, Default)]
pub struct ScaleUpResult {
    /// Groups to grow (empty when none).
    pub actions: Vec<ScaleUp>,
    /// A verdict per pending pod.
    pub pods: Vec<PodExplanation>,
    /// The options the expander saw.
    pub options: Vec<ExpansionOption>,
    /// What the expander chain did.
    pub choice: Option<Choice>,
}

/// Decides one scale-up on `sim` (which it leaves with the pending pods that fit on registered and
/// upcoming nodes placed; each group's estimate is rolled back).
pub fn scale_up(sim: &mut Sim<'_>, cfg: &Config, now: Timestamp, seed: u64) -> ScaleUpResult {
    let snap = sim.snapshot();
    let up = &cfg.scale_up;
    let mut verdicts: Vec<(PodId, PodOutcome)> = Vec::new();
    let mut candidates: Vec<PodId> = Vec::new();
    for &pid in snap.unbound() {
        let p = &snap.pods()[pid];
        let delay = p.scale_up_delay.unwrap_or(up.new_pod_scale_up_delay);
        let outcome = if p.scheduling_gated {
            Some(PodOutcome::SchedulingGated)
        } else if !p.unschedulable {
            Some(PodOutcome::NotUnschedulable)
        } else if p.is_daemonset() {
            Some(PodOutcome::DaemonSetPod)
        } else if p.priority < up.expendable_pods_priority_cutoff {
            Some(PodOutcome::Expendable {
                priority: p.priority,
                cutoff: up.expendable_pods_priority_cutoff,
            })
        } else if p.created + delay > now {
            Some(PodOutcome::TooYoung {
                until: p.created + delay,
            })
        } else {
            None
        };
        match outcome {
            Some(o) => verdicts.push((pid, o)),
            None => candidates.push(pid),
        }
    }

    // The nodes that exist or are on their way.
    let base = snap.nodes().len();
    let mut destinations: Vec<SimNodeId> = (0..base)
        .filter(|&n| snap.nodes()[n].ready && !sim.is_removed(n))
        .collect();
    for g in 0..snap.groups().len() {
        for _ in 0..snap.upcoming(g) {
            destinations.push(sim.add_node(g));
        }
    }
    let classes = estimator::classes(snap, candidates);
    let mut remaining: Vec<&[PodId]> = Vec::with_capacity(classes.len());
    for class in &classes {
        let (placed, _) = estimator::first_fit(sim, &class.pods, &destinations);
        remaining.push(&class.pods[placed..]);
    }
    // Where the pods that fit went.
    for &n in &destinations {
        for &p in sim.placed_on(n) {
            let outcome = match sim.added(n) {
                Some(a) => PodOutcome::FitsUpcomingNode {
                    group: snap.groups()[a.group].id.clone(),
                },
                None => PodOutcome::FitsExistingNode {
                    node: snap.nodes()[n].name.clone(),
                },
            };
            verdicts.push((p, outcome));
        }
    }

    let mut result = ScaleUpResult::default();
    if remaining.iter().all(|r| r.is_empty()) {
        result.pods = explanations(sim, verdicts);
        return result;
    }

    // Cluster totals, counting the nodes on their way.
    let nodes_total = sim.len();
    // In millicores and bytes: the limits are whole cores, but templates may have fractions.
    let (mut cpu_milli, mut memory) = (0i64, 0i64);
    for n in 0..sim.len() {
        cpu_milli = cpu_milli.saturating_add(sim.node(n).capacity.cpu);
        memory = memory.saturating_add(sim.node(n).capacity.memory);
    }

    // Per class, the verdict of each group; per group, its option.
    let mut rejections: Vec<Vec<GroupVerdict>> = vec![Vec::new(); classes.len()];
    let mut options: Vec<ExpansionOption> = Vec::new();
    // Aligned with `options`: the group and its estimate (made on the simulation, then rolled back).
    let mut option_groups: Vec<GroupId> = Vec::new();
    let mut estimates: Vec<Estimate> = Vec::new();
    for (gid, group) in snap.groups().iter().enumerate() {
        let reject_all = |rejections: &mut Vec<Vec<GroupVerdict>>, reason: GroupRejection| {
            for (c, r) in remaining.iter().enumerate() {
                if !r.is_empty() {
                    rejections[c].push(GroupVerdict {
                        group: group.id.clone(),
                        reason: reason.clone(),
                    });
                }
            }
        };
        if group.in_backoff(now) {
            reject_all(&mut rejections, GroupRejection::Backoff);
            continue;
        }
        if group.target >= group.max {
            reject_all(&mut rejections, GroupRejection::MaxSizeReached);
            continue;
        }
        let mut limit = (group.max - group.target).min(up.max_nodes_per_scaleup);
        if cfg.limits.max_nodes_total > 0 {
            let left = cfg.limits.max_nodes_total.saturating_sub(nodes_total);
            if left == 0 {
                reject_all(&mut rejections, GroupRejection::MaxNodesTotalReached);
                continue;
            }
            limit = limit.min(left);
        }
        let t = &group.template.capacity;
        let by_cores = if t.cpu > 0 {
            (cfg.limits
                .max_cores
                .saturating_mul(1000)
                .saturating_sub(cpu_milli)
                .max(0)
                / t.cpu) as usize
        } else {
            limit
        };
        let by_memory = if t.memory > 0 {
            ((cfg.limits.max_memory - memory).max(0) / t.memory) as usize
        } else {
            limit
        };
        limit = limit.min(by_cores).min(by_memory);
        if limit == 0 {
            reject_all(&mut rejections, GroupRejection::MaxResourceLimitReached);
            continue;
        }

        let mark = sim.mark();
        let est = estimator::estimate(sim, gid, &remaining, limit);
        sim.rollback(mark);
        for (c, u) in &est.unfit {
            rejections[*c].push(GroupVerdict {
                group: group.id.clone(),
                reason: GroupRejection::Predicate(u.clone()),
            });
        }
        if est.pod_count() == 0 {
            for c in (0..classes.len()).filter(|&c| left_by_limit(&est, c, &remaining)) {
                rejections[c].push(GroupVerdict {
                    group: group.id.clone(),
                    reason: GroupRejection::NodeLimitReached,
                });
            }
            continue;
        }
        options.push(ExpansionOption {
            group: group.id.clone(),
            node_count: est.nodes.len(),
            pod_count: est.pod_count(),
            node_capacity: group.template.capacity.clone(),
            node_allocatable: group.template.allocatable.clone(),
            requested: est.requested.clone(),
            price_per_hour: group.price_per_hour,
        });
        option_groups.push(gid);
        estimates.push(est);
    }

    let choice = expander::choose(&up.expander, &options, up.priorities.as_ref(), seed);
    if let Some(best) = choice.best {
        let gid = option_groups[best];
        let group = &snap.groups()[gid];
        let est = &estimates[best];
        let mut triggered: Vec<PodId> = Vec::new();
        let mut placed_per_class = vec![0usize; classes.len()];
        for (c, pods) in &est.placed {
            placed_per_class[*c] = pods.len();
            triggered.extend_from_slice(pods);
        }
        for &p in &triggered {
            verdicts.push((
                p,
                PodOutcome::TriggeredScaleUp {
                    group: group.id.clone(),
                },
            ));
        }
        let pod_keys: Vec<String> = triggered.iter().map(|&p| snap.pods()[p].key()).collect();

        // Balancing: split the node count across the similar groups that are options as well.
        let mut targets: Vec<(GroupId, usize)> = vec![(gid, group.target + est.nodes.len())];
        if up.balance_similar_node_groups {
            let similar: Vec<GroupId> = option_groups
                .iter()
                .copied()
                .filter(|&o| {
                    o != gid
                        && balance::similar_with_requests(
                            group,
                            sim.template_overhead(gid),
                            &snap.groups()[o],
                            sim.template_overhead(o),
                            &up.balance,
                        )
                        .is_ok()
                })
                .collect();
            if !similar.is_empty() {
                let mut members = vec![gid];
                members.extend(similar);
                let sizes: Vec<(String, usize, usize)> = members
                    .iter()
                    .map(|&m| {
                        let g = &snap.groups()[m];
                        (g.id.clone(), g.target, g.max)
                    })
                    .collect();
                let split = balance::split(est.nodes.len(), &sizes);
                targets = split
                    .targets
                    .iter()
                    .filter_map(|(id, to)| snap.group_id(id).map(|m| (m, *to)))
                    .filter(|&(m, to)| to > snap.groups()[m].target)
                    .collect();
            }
        }
        for (i, &(m, to)) in targets.iter().enumerate() {
            let g = &snap.groups()[m];
            result.actions.push(ScaleUp {
                group: g.id.clone(),
                from: g.target,
                to,
                max: g.max,
                pods: if i == 0 { pod_keys.clone() } else { Vec::new() },
            });
        }

        // Pods left over: the chosen group did not take them.
        for c in 0..classes.len() {
            let left = &remaining[c][placed_per_class[c]..];
            if left.is_empty() {
                continue;
            }
            let mut v = rejections[c].clone();
            for (o, &og) in option_groups.iter().enumerate() {
                let id = snap.groups()[og].id.clone();
                if v.iter().any(|x| x.group == id) {
                    continue;
                }
                let reason = if og == gid || left_by_limit(&estimates[o], c, &remaining) {
                    GroupRejection::NodeLimitReached
                } else {
                    GroupRejection::NotChosen {
                        chosen: group.id.clone(),
                    }
                };
                v.push(GroupVerdict { group: id, reason });
            }
            for &p in left {
                verdicts.push((p, PodOutcome::NoScaleUp { groups: v.clone() }));
            }
        }
    } else {
        for (c, r) in remaining.iter().enumerate() {
            let mut v = rejections[c].clone();
            for o in &options {
                if !v.iter().any(|x| x.group == o.group) {
                    v.push(GroupVerdict {
                        group: o.group.clone(),
                        reason: GroupRejection::NotChosen {
                            chosen: "none (the expander chain kept no option)".into(),
                        },
                    });
                }
            }
            for &p in r.iter() {
                verdicts.push((p, PodOutcome::NoScaleUp { groups: v.clone() }));
            }
        }
    }
    result.options = options;
    result.choice = Some(choice);
    result.pods = explanations(sim, verdicts);
    result
}

/// Whether the estimate left some of class `c`'s pods without a node although they fit the group's
/// template: the node limit stopped it.
fn left_by_limit(est: &Estimate, c: usize, remaining: &[&[PodId]]) -> bool {
    let placed = est
        .placed
        .iter()
        .find(|(pc, _)| *pc == c)
        .map_or(0, |(_, p)| p.len());
    !remaining[c].is_empty() && !est.unfit.iter().any(|(uc, _)| *uc == c) && placed < remaining[c].len()
}

/// Verdicts in a stable order: by pod key.
fn explanations(sim: &Sim<'_>, mut verdicts: Vec<(PodId, PodOutcome)>) -> Vec<PodExplanation> {
    verdicts.sort_by_key(|(p, _)| *p);
    verdicts.dedup_by_key(|(p, _)| *p);
    let mut out: Vec<PodExplanation> = verdicts
        .into_iter()
        .map(|(p, outcome)| PodExplanation {
            pod: sim.pod(p).key(),
            outcome,
        })
        .collect();
    out.sort_by(|a, b| a.pod.cmp(&b.pod));
    out
}
