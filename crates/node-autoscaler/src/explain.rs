//! A plan in words, for a person: what grows, what goes, and why each pending pod and each node got
//! its verdict. Machines read the [`Plan`] itself (serde); this is the text `swell explain` and the
//! simulator's report print.

use std::fmt::Write;

use crate::plan::{NodeOutcome, Plan, PodOutcome, RemovalKind, ScaleDownStatus};

/// The whole plan.
pub fn render(plan: &Plan) -> String {
    let mut out = String::new();
    if let Some(now) = plan.now {
        let _ = writeln!(out, "plan at {now}");
    }
    if plan.scale_up.is_empty() {
        out.push_str("scale-up: none\n");
    }
    for up in &plan.scale_up {
        let _ = writeln!(
            out,
            "scale-up: node group {} {} -> {} (max: {}) for {} pod(s)",
            up.group,
            up.from,
            up.to,
            up.max,
            up.pods.len()
        );
    }
    match &plan.scale_down_status {
        ScaleDownStatus::Ran => {}
        ScaleDownStatus::Disabled => out.push_str("scale-down: disabled\n"),
        ScaleDownStatus::ScaleUpInThisLoop => out.push_str("scale-down: not this loop (scaled up)\n"),
        ScaleDownStatus::SchedulablePodsPresent => {
            out.push_str("scale-down: not this loop (pending pods fit on existing nodes)\n")
        }
        ScaleDownStatus::InCooldown(why) => {
            let _ = writeln!(out, "scale-down: in cooldown ({why})");
        }
    }
    for r in &plan.scale_down {
        let kind = match r.kind {
            RemovalKind::Empty => "empty",
            RemovalKind::Drain => "drain",
        };
        let _ = writeln!(
            out,
            "scale-down: node {} of group {} ({kind}, utilization {:.3}), evicting {} pod(s)",
            r.node,
            r.group,
            r.utilization,
            r.evict.len()
        );
        for m in &r.evict {
            let _ = writeln!(out, "    {} -> {}", m.pod, m.to);
        }
    }
    if !plan.pods.is_empty() {
        out.push_str("pending pods:\n");
        for p in &plan.pods {
            let _ = writeln!(out, "  {}: {}", p.pod, pod_outcome(&p.outcome));
        }
    }
    if !plan.nodes.is_empty() {
        out.push_str("nodes:\n");
        for n in &plan.nodes {
            let _ = writeln!(
                out,
                "  {} (utilization {:.3}): {}",
                n.node,
                n.utilization,
                node_outcome(&n.outcome)
            );
        }
    }
    out
}

/// One pod's verdict, in the words of CA's pod events where CA has them.
pub fn pod_outcome(o: &PodOutcome) -> String {
    match o {
        PodOutcome::NotUnschedulable => "not marked unschedulable by the scheduler (yet)".into(),
        PodOutcome::SchedulingGated => "has scheduling gates".into(),
        PodOutcome::Expendable { priority, cutoff } => {
            format!("expendable: priority {priority} is under the cutoff {cutoff}")
        }
        PodOutcome::DaemonSetPod => "a DaemonSet pod: new nodes do not help it".into(),
        PodOutcome::TooYoung { until } => format!("too young: considered from {until}"),
        PodOutcome::FitsExistingNode { node } => format!("fits on node {node}"),
        PodOutcome::FitsUpcomingNode { group } => {
            format!("fits on a node already requested from group {group}")
        }
        PodOutcome::TriggeredScaleUp { group } => format!("pod triggered scale-up: group {group}"),
        PodOutcome::NoScaleUp { groups } => {
            if groups.is_empty() {
                return "pod didn't trigger scale-up: no node group".into();
            }
            // CA's NotTriggerScaleUp: each distinct reason with the number of groups giving it.
            let mut counts: Vec<(String, usize)> = Vec::new();
            for g in groups {
                let msg = g.reason.message();
                match counts.iter_mut().find(|(m, _)| *m == msg) {
                    Some((_, n)) => *n += 1,
                    None => counts.push((msg, 1)),
                }
            }
            let reasons: Vec<String> = counts.iter().map(|(m, n)| format!("{n} {m}")).collect();
            let detail: Vec<String> = groups
                .iter()
                .map(|g| format!("{}: {}", g.group, g.reason.message()))
                .collect();
            format!(
                "pod didn't trigger scale-up: {} [{}]",
                reasons.join(", "),
                detail.join("; ")
            )
        }
    }
}

/// One node's verdict.
pub fn node_outcome(o: &NodeOutcome) -> String {
    match o {
        NodeOutcome::Removed {
            removal: RemovalKind::Empty,
        } => "removed now (empty)".into(),
        NodeOutcome::Removed {
            removal: RemovalKind::Drain,
        } => "removed now (drained)".into(),
        NodeOutcome::Unneeded { since, removable_at } => {
            format!("unneeded since {since}, removable from {removable_at}")
        }
        NodeOutcome::Unremovable {
            reason,
            blocking_pod,
            detail,
        } => match blocking_pod {
            Some(b) => format!(
                "{}: {detail} (pod {}, {})",
                reason.as_str(),
                b.pod,
                b.reason.as_str()
            ),
            None => format!("{}: {detail}", reason.as_str()),
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::plan::{GroupRejection, GroupVerdict, PodExplanation};
    use crate::predicates::Unfit;

    #[test]
    fn a_pod_without_scale_up_counts_groups_per_reason_like_cas_event() {
        let o = PodOutcome::NoScaleUp {
            groups: vec![
                GroupVerdict {
                    group: "a".into(),
                    reason: GroupRejection::Predicate(Unfit::NodeAffinity),
                },
                GroupVerdict {
                    group: "b".into(),
                    reason: GroupRejection::Predicate(Unfit::NodeAffinity),
                },
                GroupVerdict {
                    group: "c".into(),
                    reason: GroupRejection::MaxSizeReached,
                },
            ],
        };
        let s = pod_outcome(&o);
        assert!(
            s.starts_with(
                "pod didn't trigger scale-up: 2 node(s) didn't match Pod's node affinity/selector, \
                 1 max node group size reached"
            ),
            "{s}"
        );
        assert!(s.contains("c: max node group size reached"), "{s}");
    }

    #[test]
    fn the_plan_text_lists_actions_then_verdicts() {
        let plan = Plan {
            scale_up: vec![crate::plan::ScaleUp {
                group: "a".into(),
                from: 1,
                to: 3,
                max: 10,
                pods: vec!["default/p".into()],
            }],
            scale_down_status: ScaleDownStatus::ScaleUpInThisLoop,
            pods: vec![PodExplanation {
                pod: "default/p".into(),
                outcome: PodOutcome::TriggeredScaleUp { group: "a".into() },
            }],
            ..Plan::default()
        };
        let text = render(&plan);
        assert_eq!(
            text,
            "scale-up: node group a 1 -> 3 (max: 10) for 1 pod(s)\n\
             scale-down: not this loop (scaled up)\n\
             pending pods:\n  default/p: pod triggered scale-up: group a\n"
        );
    }
}
