//! Normalization: from the metrics' proposal to the replica count the controller writes.
//!
//! Two paths, as upstream `horizontal.go`:
//!
//! - **legacy** (`spec.behavior` unset): the proposal is stabilized to the highest recommendation of
//!   the downscale-stabilization window, then clamped to `[minReplicas, min(maxReplicas, max(2 x current, 4))]`;
//! - **behavior**: the proposal is stabilized between the lowest recommendation of the scale-up
//!   window and the highest of the scale-down window, then limited by the direction's policies
//!   (replicas added or removed within each policy's period, from the recorded scale events), the
//!   selectPolicy, and the min/max bounds.
//!
//! The memory both paths need, the recommendations and the scale events, is a plain
//! [`History`] the caller owns: the live controller keeps one per HPA, the simulator one per
//! workload, a test builds one by hand. Normalizing records the raw recommendation (as upstream does
//! whether or not the scale write later succeeds); the caller records a scale event with
//! [`History::record_scale_event`] only after a successful write.

use jiff::{SignedDuration, Timestamp};
use serde::{Deserialize, Serialize};

use crate::policy::{BehaviorPolicy, PolicyKind, ScalingRules, SelectPolicy};

/// A recorded raw (pre-normalization) recommendation.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct TimestampedRecommendation {
    /// Replicas recommended by the metrics.
    pub replicas: i32,
    /// When.
    pub timestamp: Timestamp,
}

/// A recorded scale change.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ScaleEvent {
    /// Replicas added (scale-up list) or removed (scale-down list), positive.
    pub change: i32,
    /// When.
    pub timestamp: Timestamp,
    /// Older than the direction's longest policy period at the last store: the slot may be reused.
    pub outdated: bool,
}

/// What the controller remembers about one HPA between reconciles.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct History {
    /// Raw recommendations; stale slots are overwritten in place, as upstream does.
    pub recommendations: Vec<TimestampedRecommendation>,
    /// Scale-up events (behavior path only).
    pub scale_up_events: Vec<ScaleEvent>,
    /// Scale-down events (behavior path only).
    pub scale_down_events: Vec<ScaleEvent>,
}

impl History {
    /// Upstream `recordInitialRecommendation`: the first time an HPA is seen, its current replica
    /// count counts as a recommendation, so that a restart does not allow an immediate scale-down.
    pub fn record_initial(&mut self, current_replicas: i32, now: Timestamp) {
        if self.recommendations.is_empty() {
            self.recommendations.push(TimestampedRecommendation {
                replicas: current_replicas,
                timestamp: now,
            });
        }
    }

    /// Records a raw recommendation in the stale slot the window scan found, or appends it.
    fn record_recommendation(&mut self, stale: Option<usize>, replicas: i32, now: Timestamp) {
        let fresh = TimestampedRecommendation {
            replicas,
            timestamp: now,
        };
        match stale.and_then(|i| self.recommendations.get_mut(i)) {
            Some(slot) => *slot = fresh,
            None => self.recommendations.push(fresh),
        }
    }

    /// Upstream `storeScaleEvent`: after a successful rescale on the behavior path, remember the change,
    /// reusing the last slot older than the direction's longest policy period. Nothing is stored on
    /// the legacy path (`behavior` is `None`).
    pub fn record_scale_event(
        &mut self,
        behavior: Option<&BehaviorPolicy>,
        previous: i32,
        new: i32,
        now: Timestamp,
    ) {
        let Some(behavior) = behavior else { return };
        let (events, rules, change) = if new > previous {
            (&mut self.scale_up_events, &behavior.scale_up, new - previous)
        } else {
            (&mut self.scale_down_events, &behavior.scale_down, previous - new)
        };
        let cutoff = before(now, i64::from(rules.longest_period_seconds()));
        let mut reuse = None;
        for (i, e) in events.iter_mut().enumerate() {
            if e.timestamp < cutoff {
                e.outdated = true;
            }
            if e.outdated {
                reuse = Some(i);
            }
        }
        let event = ScaleEvent {
            change,
            timestamp: now,
            outdated: false,
        };
        match reuse {
            Some(i) => events[i] = event,
            None => events.push(event),
        }
    }
}

fn before(now: Timestamp, seconds: i64) -> Timestamp {
    now.saturating_sub(SignedDuration::from_secs(seconds))
        .unwrap_or(Timestamp::MIN)
}

/// `AbleToScale` reasons set by normalization.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum StabilizationReason {
    /// The stabilized value equals the proposal.
    ReadyForNewScale,
    /// A scale-up was held back by the scale-up window (behavior path).
    ScaleUpStabilized,
    /// A scale-down was held back by the scale-down window.
    ScaleDownStabilized,
}

impl StabilizationReason {
    /// The upstream reason string.
    pub fn as_str(&self) -> &'static str {
        match self {
            StabilizationReason::ReadyForNewScale => "ReadyForNewScale",
            StabilizationReason::ScaleUpStabilized => "ScaleUpStabilized",
            StabilizationReason::ScaleDownStabilized => "ScaleDownStabilized",
        }
    }

    /// The upstream condition message.
    pub fn message(&self) -> &'static str {
        match self {
            StabilizationReason::ReadyForNewScale => "recommended size matches current size",
            StabilizationReason::ScaleUpStabilized => {
                "recent recommendations were lower than current one, applying the lowest recent recommendation"
            }
            StabilizationReason::ScaleDownStabilized => {
                "recent recommendations were higher than current one, applying the highest recent recommendation"
            }
        }
    }
}

/// `ScalingLimited` reasons.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum LimitReason {
    /// Not limited.
    DesiredWithinRange,
    /// Limited by the scale-up rate (legacy `max(2 x current, 4)` or the scale-up policies).
    ScaleUpLimit,
    /// Limited by the scale-down policies.
    ScaleDownLimit,
    /// Limited by `maxReplicas`.
    TooManyReplicas,
    /// Limited by `minReplicas`.
    TooFewReplicas,
}

impl LimitReason {
    /// The upstream reason string.
    pub fn as_str(&self) -> &'static str {
        match self {
            LimitReason::DesiredWithinRange => "DesiredWithinRange",
            LimitReason::ScaleUpLimit => "ScaleUpLimit",
            LimitReason::ScaleDownLimit => "ScaleDownLimit",
            LimitReason::TooManyReplicas => "TooManyReplicas",
            LimitReason::TooFewReplicas => "TooFewReplicas",
        }
    }

    /// The upstream condition message.
    pub fn message(&self) -> &'static str {
        match self {
            LimitReason::DesiredWithinRange => "the desired count is within the acceptable range",
            LimitReason::ScaleUpLimit => {
                "the desired replica count is increasing faster than the maximum scale rate"
            }
            LimitReason::ScaleDownLimit => {
                "the desired replica count is decreasing faster than the maximum scale rate"
            }
            LimitReason::TooManyReplicas => {
                "the desired replica count is more than the maximum replica count"
            }
            LimitReason::TooFewReplicas => "the desired replica count is less than the minimum replica count",
        }
    }
}

/// What one policy allowed in a rate-limited step.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct PolicyLimit {
    /// Pods or Percent.
    pub kind: PolicyKind,
    /// The policy value.
    pub value: i32,
    /// The policy period.
    pub period_seconds: i32,
    /// Replicas at the start of the period: current - added + removed within it.
    pub period_start_replicas: i32,
    /// The bound this policy proposes.
    pub limit: i32,
}

/// How the proposal became the desired count, number by number.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Normalization {
    /// True on the legacy path (`behavior` unset).
    pub legacy: bool,
    /// The metrics' proposal.
    pub proposal: i32,
    /// Scale-up window in seconds (0 on the legacy path).
    pub scale_up_window_seconds: i64,
    /// Scale-down window in seconds.
    pub scale_down_window_seconds: i64,
    /// The recommendations the windows looked at (before this one was recorded).
    pub window: Vec<TimestampedRecommendation>,
    /// Lowest recommendation within the scale-up window (behavior path), the proposal included.
    pub up_recommendation: Option<i32>,
    /// Highest recommendation within the scale-down window, the proposal included.
    pub down_recommendation: i32,
    /// The stabilized value.
    pub stabilized: i32,
    /// `AbleToScale` reason.
    pub stabilization_reason: StabilizationReason,
    /// The rate bound in force for the direction of change (legacy: `max(2 x current, 4)`), if any.
    pub rate_limit: Option<i32>,
    /// selectPolicy of the direction (behavior path).
    pub select_policy: Option<SelectPolicy>,
    /// Each policy's bound (behavior path).
    pub policies: Vec<PolicyLimit>,
    /// The desired count after limits.
    pub desired: i32,
    /// `ScalingLimited` reason.
    pub limit_reason: LimitReason,
    /// The limit changed the stabilized value (`ScalingLimited=True`).
    pub limited: bool,
}

/// Upstream `calculateScaleUpLimit` (legacy): `max(2 x current, 4)`.
pub fn legacy_scale_up_limit(current: i32) -> i32 {
    let v = (2.0 * f64::from(current)).max(4.0);
    if v >= f64::from(i32::MAX) {
        i32::MAX
    } else {
        v as i32
    }
}

/// The legacy path: stabilize over the downscale window, then `convertDesiredReplicasWithRules`.
pub fn normalize_legacy(
    history: &mut History,
    proposal: i32,
    current: i32,
    min_replicas: i32,
    max_replicas: i32,
    downscale_window: SignedDuration,
    now: Timestamp,
) -> Normalization {
    let window = history.recommendations.clone();
    // Upstream stabilizeRecommendation: a sample exactly at the cutoff still counts (Before is strict).
    let cutoff = now.saturating_sub(downscale_window).unwrap_or(Timestamp::MIN);
    let mut max_rec = proposal;
    let mut stale = None;
    for (i, rec) in history.recommendations.iter().enumerate() {
        if rec.timestamp < cutoff {
            stale = Some(i);
        } else if rec.replicas > max_rec {
            max_rec = rec.replicas;
        }
    }
    history.record_recommendation(stale, proposal, now);
    let stabilized = max_rec;
    let stabilization_reason = if stabilized != proposal {
        StabilizationReason::ScaleDownStabilized
    } else {
        StabilizationReason::ReadyForNewScale
    };

    let scale_up_limit = legacy_scale_up_limit(current);
    let (max_allowed, over_reason) = if max_replicas > scale_up_limit {
        (scale_up_limit, LimitReason::ScaleUpLimit)
    } else {
        (max_replicas, LimitReason::TooManyReplicas)
    };
    let (desired, limit_reason) = if stabilized < min_replicas {
        (min_replicas, LimitReason::TooFewReplicas)
    } else if stabilized > max_allowed {
        (max_allowed, over_reason)
    } else {
        (stabilized, LimitReason::DesiredWithinRange)
    };
    Normalization {
        legacy: true,
        proposal,
        scale_up_window_seconds: 0,
        scale_down_window_seconds: downscale_window.as_secs(),
        window,
        up_recommendation: None,
        down_recommendation: max_rec,
        stabilized,
        stabilization_reason,
        rate_limit: Some(scale_up_limit),
        select_policy: None,
        policies: Vec::new(),
        desired,
        limit_reason,
        limited: desired != stabilized,
    }
}

/// The behavior path: `stabilizeRecommendationWithBehaviors` then `convertDesiredReplicasWithBehaviorRate`.
pub fn normalize_with_behavior(
    history: &mut History,
    behavior: &BehaviorPolicy,
    proposal: i32,
    current: i32,
    min_replicas: i32,
    max_replicas: i32,
    now: Timestamp,
) -> Normalization {
    let window = history.recommendations.clone();
    let up_secs = i64::from(behavior.scale_up.stabilization_window_seconds);
    let down_secs = i64::from(behavior.scale_down.stabilization_window_seconds);
    let up_cutoff = before(now, up_secs);
    let down_cutoff = before(now, down_secs);
    // Upstream uses After(cutoff): a sample exactly at the cutoff is outside the window here,
    // unlike the legacy path.
    let (mut up_rec, mut down_rec) = (proposal, proposal);
    let mut stale = None;
    for (i, rec) in history.recommendations.iter().enumerate() {
        if rec.timestamp > up_cutoff {
            up_rec = up_rec.min(rec.replicas);
        }
        if rec.timestamp > down_cutoff {
            down_rec = down_rec.max(rec.replicas);
        }
        if rec.timestamp < up_cutoff && rec.timestamp < down_cutoff {
            stale = Some(i);
        }
    }
    let mut stabilized = current;
    if stabilized < up_rec {
        stabilized = up_rec;
    }
    if stabilized > down_rec {
        stabilized = down_rec;
    }
    history.record_recommendation(stale, proposal, now);
    let stabilization_reason = if stabilized == proposal {
        StabilizationReason::ReadyForNewScale
    } else if proposal >= current {
        StabilizationReason::ScaleUpStabilized
    } else {
        StabilizationReason::ScaleDownStabilized
    };

    let mut policies = Vec::new();
    let (desired, limit_reason, rate_limit, select_policy) = if stabilized > current {
        let rules = &behavior.scale_up;
        let limit = policy_limit(current, history, rules, true, now, &mut policies).max(current);
        let (max_allowed, reason) = if max_replicas > limit {
            (limit, LimitReason::ScaleUpLimit)
        } else {
            (max_replicas, LimitReason::TooManyReplicas)
        };
        if stabilized > max_allowed {
            (max_allowed, reason, Some(limit), Some(rules.select_policy))
        } else {
            (
                stabilized,
                LimitReason::DesiredWithinRange,
                Some(limit),
                Some(rules.select_policy),
            )
        }
    } else if stabilized < current {
        let rules = &behavior.scale_down;
        let limit = policy_limit(current, history, rules, false, now, &mut policies).min(current);
        let (min_allowed, reason) = if min_replicas < limit {
            (limit, LimitReason::ScaleDownLimit)
        } else {
            (min_replicas, LimitReason::TooFewReplicas)
        };
        if stabilized < min_allowed {
            (min_allowed, reason, Some(limit), Some(rules.select_policy))
        } else {
            (
                stabilized,
                LimitReason::DesiredWithinRange,
                Some(limit),
                Some(rules.select_policy),
            )
        }
    } else {
        (stabilized, LimitReason::DesiredWithinRange, None, None)
    };
    Normalization {
        legacy: false,
        proposal,
        scale_up_window_seconds: up_secs,
        scale_down_window_seconds: down_secs,
        window,
        up_recommendation: Some(up_rec),
        down_recommendation: down_rec,
        stabilized,
        stabilization_reason,
        rate_limit,
        select_policy,
        policies,
        desired,
        limit_reason,
        limited: desired != stabilized,
    }
}

/// Sum of the changes recorded within the last `period_seconds` (upstream `getReplicasChangePerPeriod`).
fn change_in_period(events: &[ScaleEvent], period_seconds: i32, now: Timestamp) -> i32 {
    let cutoff = before(now, i64::from(period_seconds));
    events
        .iter()
        .filter(|e| e.timestamp > cutoff)
        .fold(0i32, |acc, e| acc.saturating_add(e.change))
}

/// Upstream `calculateScaleUpLimitWithScalingRules` / `calculateScaleDownLimitWithBehaviors`.
fn policy_limit(
    current: i32,
    history: &History,
    rules: &ScalingRules,
    up: bool,
    now: Timestamp,
    out: &mut Vec<PolicyLimit>,
) -> i32 {
    if rules.select_policy == SelectPolicy::Disabled {
        return current;
    }
    // For a scale-up the largest change is the largest bound; for a scale-down the smallest.
    let pick_larger = (rules.select_policy == SelectPolicy::Max) == up;
    let mut result = if pick_larger { i32::MIN } else { i32::MAX };
    for p in &rules.policies {
        let added = change_in_period(&history.scale_up_events, p.period_seconds, now);
        let removed = change_in_period(&history.scale_down_events, p.period_seconds, now);
        let start = current.saturating_sub(added).saturating_add(removed);
        let limit = match (p.kind, up) {
            (PolicyKind::Pods, true) => start.saturating_add(p.value),
            (PolicyKind::Pods, false) => start.saturating_sub(p.value),
            // Rounded up so that a small percentage of a small count still adds a pod.
            (PolicyKind::Percent, true) => {
                saturate(f64::from(start) * (1.0 + f64::from(p.value) / 100.0), f64::ceil)
            }
            // Truncated towards zero, as Go's int32() conversion does.
            (PolicyKind::Percent, false) => {
                saturate(f64::from(start) * (1.0 - f64::from(p.value) / 100.0), f64::trunc)
            }
        };
        out.push(PolicyLimit {
            kind: p.kind,
            value: p.value,
            period_seconds: p.period_seconds,
            period_start_replicas: start,
            limit,
        });
        result = if pick_larger {
            result.max(limit)
        } else {
            result.min(limit)
        };
    }
    result
}

fn saturate(x: f64, round: fn(f64) -> f64) -> i32 {
    let r = round(x);
    if r >= f64::from(i32::MAX) {
        i32::MAX
    } else if r <= f64::from(i32::MIN) {
        i32::MIN
    } else {
        r as i32
    }
}
