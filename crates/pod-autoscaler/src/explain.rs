//! A decision told to a person: [`render`] turns a [`Decision`] into plain text.
//!
//! The text follows the decision's order: the gate (if one stopped the metrics), each metric with
//! its numbers and the rule that decided, the proposal, the stabilization window, the rate and
//! min/max limits, and the outcome with its events and conditions. Every number comes from the
//! [`crate::decide::Explanation`]; nothing is recomputed here.

use std::fmt::Write as _;

use swell_core::quantity::{Format, Quantity};

use crate::{
    behavior::Normalization,
    decide::{Decision, Gate, MetricExplanation, MetricResult},
    policy::Target,
    replicas::{Proposal, Rule},
};

fn milli(v: i64) -> String {
    Quantity::from_milli(v, Format::DecimalSI).to_string()
}

fn target_text(t: &Target) -> String {
    match t {
        Target::Utilization(u) => format!("{u}% of requests"),
        Target::AverageValue(v) => format!("average {}", milli(*v)),
        Target::Value(v) => format!("value {}", milli(*v)),
    }
}

fn rule_text(p: &Proposal) -> String {
    match p.rule {
        Rule::WithinTolerance => "within tolerance: keep the current count".to_string(),
        Rule::Scaled => match p.ready_pods {
            Some(n) => format!("ceil({:.3} x {n} ready pods)", p.ratio),
            None => format!("ceil({:.3})", p.ratio),
        },
        Rule::RebalancedWithinTolerance => {
            "after filling missing/unready pods the ratio is within tolerance: keep the current count"
                .to_string()
        }
        Rule::RebalanceFlippedDirection => {
            "filling missing/unready pods would flip the direction: keep the current count".to_string()
        }
        Rule::ReplicaCountFlippedDirection => {
            "the recomputed count moves against the ratio: keep the current count".to_string()
        }
        Rule::RebalancedScaled => match p.rebalance {
            Some(r) => format!("ceil({:.3} x {} samples after filling)", r.ratio, r.samples),
            None => "recomputed after filling".to_string(),
        },
        Rule::FromZero => format!("from zero replicas: ceil({:.3})", p.ratio),
        Rule::AverageOfTotal => "ceil(total / target)".to_string(),
    }
}

fn metric(out: &mut String, m: &MetricExplanation) {
    let _ = writeln!(
        out,
        "metric {}  {} \"{}\"  target {}",
        m.index + 1,
        m.source_type,
        m.name,
        target_text(&m.target)
    );
    match &m.result {
        MetricResult::Failed { reason, message } => {
            let _ = writeln!(out, "  failed ({reason}): {message}");
        }
        MetricResult::Proposed(p) => {
            let usage = match p.utilization {
                Some(u) => format!("utilization {u}% (average {})", milli(p.usage)),
                None => format!("current {}", milli(p.usage)),
            };
            let _ = writeln!(
                out,
                "  {usage}, ratio {:.3} (tolerance band {:.3}..{:.3})",
                p.ratio, m.tolerance_band.0, m.tolerance_band.1
            );
            if let Some(c) = p.pods {
                let _ = writeln!(
                    out,
                    "  pods: {} ready, {} unready, {} missing, {} ignored{}",
                    c.ready,
                    c.unready,
                    c.missing,
                    c.ignored,
                    if c.extraneous_samples > 0 {
                        format!(", {} samples for unlisted pods", c.extraneous_samples)
                    } else {
                        String::new()
                    }
                );
            }
            if let Some(r) = p.rebalance {
                let missing = match r.missing_filled_with {
                    Some(v) if p.utilization.is_some() => format!("missing pods counted at {v}% of request"),
                    Some(v) => format!("missing pods counted at {}", milli(v)),
                    None => "missing pods left out".to_string(),
                };
                let unready = if r.unready_filled_with_zero {
                    ", unready pods counted at 0"
                } else {
                    ""
                };
                let _ = writeln!(out, "  second pass: {missing}{unready}; ratio {:.3}", r.ratio);
            }
            let _ = writeln!(out, "  -> {} replicas: {}", p.replicas, rule_text(p));
        }
    }
}

fn normalization(out: &mut String, n: &Normalization, current: i32) {
    if n.legacy {
        let _ = writeln!(
            out,
            "stabilization (no behavior: highest recommendation of the last {}s): {} recommendation(s) in memory, highest {} -> {} ({})",
            n.scale_down_window_seconds,
            n.window.len(),
            n.down_recommendation,
            n.stabilized,
            n.stabilization_reason.as_str()
        );
        if let Some(limit) = n.rate_limit {
            let _ = writeln!(out, "scale-up limit: max(2 x {current}, 4) = {limit}");
        }
    } else {
        let _ = writeln!(
            out,
            "stabilization (scale-up window {}s, scale-down window {}s): lowest recent {}, highest recent {} -> {} ({})",
            n.scale_up_window_seconds,
            n.scale_down_window_seconds,
            n.up_recommendation
                .map_or_else(|| "-".to_string(), |v| v.to_string()),
            n.down_recommendation,
            n.stabilized,
            n.stabilization_reason.as_str()
        );
        for p in &n.policies {
            let _ = writeln!(
                out,
                "policy {} {} per {}s: {} replicas at the start of the period -> bound {}",
                p.kind.as_str(),
                p.value,
                p.period_seconds,
                p.period_start_replicas,
                p.limit
            );
        }
        if let (Some(select), Some(limit)) = (n.select_policy, n.rate_limit) {
            let _ = writeln!(out, "selectPolicy {}: rate bound {limit}", select.as_str());
        }
    }
    let clamp = if n.limited {
        format!("clamped {} -> {}", n.stabilized, n.desired)
    } else {
        "not clamped".to_string()
    };
    let _ = writeln!(
        out,
        "limits: {} ({}), {}",
        n.desired,
        n.limit_reason.as_str(),
        clamp
    );
}

/// The decision as text for a person, in the order the controller reasoned.
pub fn render(d: &Decision) -> String {
    let e = &d.explanation;
    let mut out = String::new();
    let _ = writeln!(out, "HPA {} at {}", e.hpa, e.time);
    let _ = writeln!(
        out,
        "current replicas {} (min {}, max {}), tolerance -{}/+{}",
        e.current_replicas, e.min_replicas, e.max_replicas, e.tolerances.scale_down, e.tolerances.scale_up
    );
    match &e.gate {
        Some(Gate::ScalingDisabled) => {
            let _ = writeln!(
                out,
                "gate: the target has 0 replicas; autoscaling is disabled until it is scaled up"
            );
        }
        Some(Gate::AboveMaxReplicas) => {
            let _ = writeln!(
                out,
                "gate: current replicas above maxReplicas; scaling to max without reading metrics"
            );
        }
        Some(Gate::BelowMinReplicas) => {
            let _ = writeln!(
                out,
                "gate: current replicas below minReplicas; scaling to min without reading metrics"
            );
        }
        Some(Gate::InvalidSelector) => {
            let _ = writeln!(
                out,
                "gate: the target's selector is missing or invalid; no scaling"
            );
        }
        Some(Gate::AmbiguousSelector) => {
            let _ = writeln!(out, "gate: another HPA selects the same pods; no scaling");
        }
        Some(Gate::MetricsFailed) => {
            let _ = writeln!(
                out,
                "gate: metrics failed (all of them, or some while the rest would scale down); no scaling"
            );
        }
        None => {}
    }
    for m in &e.metrics {
        metric(&mut out, m);
    }
    if let (Some(p), Some(name)) = (e.proposal, &e.proposal_metric) {
        let _ = writeln!(out, "proposal: {p} replicas (highest, from \"{name}\")");
    }
    if let Some(n) = &e.normalization {
        normalization(&mut out, n, e.current_replicas);
    }
    if e.lifted_to_min_from_zero {
        let _ = writeln!(
            out,
            "from zero with minReplicas {}: lifted to min",
            e.min_replicas
        );
    }
    if d.rescale {
        let _ = writeln!(
            out,
            "decision: scale {} -> {} ({})",
            e.current_replicas, d.desired_replicas, d.rescale_reason
        );
    } else {
        let _ = writeln!(out, "decision: keep {} replicas", e.current_replicas);
    }
    for ev in &d.events {
        let _ = writeln!(out, "event {} {}: {}", ev.type_.as_str(), ev.reason, ev.message);
    }
    for c in &d.status.conditions {
        let _ = writeln!(
            out,
            "condition {}={} {}: {}",
            c.type_,
            c.status.as_str(),
            c.reason,
            c.message
        );
    }
    out
}
