//! Normalization (`behavior.rs`): the legacy path, the behavior path (stabilization windows, rate
//! policies, min/max) and the history both read and write.
//!
//! The tables follow upstream `pkg/controller/podautoscaler/horizontal_test.go`
//! (`TestConvertDesiredReplicasWithRules`, `TestNormalizeDesiredReplicas`, `TestScalingWithRules`,
//! `TestStoreScaleEvents`, `TestNormalizeDesiredReplicasWithBehavior`,
//! `TestCalculateScaleUpLimitWithScalingRules`, `TestCalculateScaleDownLimitWithBehaviors`) and
//! karmada's port of them, with upstream's production constants (legacy scale-up factor 2, where
//! upstream's test binary raises it to 8). Every time is relative to one fixed `now`, so that the
//! edges upstream can only approximate with `time.Now()` (a sample exactly at a cutoff) are exact.

use jiff::{SignedDuration, Timestamp};
use proptest::collection::vec;
use proptest::prelude::*;
use swell_pod_autoscaler::behavior::{
    History, LimitReason, Normalization, ScaleEvent, StabilizationReason, TimestampedRecommendation,
    legacy_scale_up_limit, normalize_legacy, normalize_with_behavior,
};
use swell_pod_autoscaler::policy::{BehaviorPolicy, PolicyKind, ScalingPolicy, ScalingRules, SelectPolicy};

use LimitReason::{DesiredWithinRange, ScaleDownLimit, ScaleUpLimit, TooFewReplicas, TooManyReplicas};
use SelectPolicy::{Disabled, Max, Min};
use StabilizationReason::{ReadyForNewScale, ScaleDownStabilized, ScaleUpStabilized};

// ---- time ----

/// 2026-01-01T00:00:00Z.
const NOW: Timestamp = Timestamp::constant(1_767_225_600, 0);

fn ago(seconds: i64) -> Timestamp {
    NOW - SignedDuration::from_secs(seconds)
}

/// The controller's `--horizontal-pod-autoscaler-downscale-stabilization` default.
fn five_minutes() -> SignedDuration {
    SignedDuration::from_secs(300)
}

// ---- policies ----

fn pods(value: i32, period_seconds: i32) -> ScalingPolicy {
    ScalingPolicy {
        kind: PolicyKind::Pods,
        value,
        period_seconds,
    }
}

fn percent(value: i32, period_seconds: i32) -> ScalingPolicy {
    ScalingPolicy {
        kind: PolicyKind::Percent,
        value,
        period_seconds,
    }
}

fn rules(window: i32, select_policy: SelectPolicy, policies: &[ScalingPolicy]) -> ScalingRules {
    ScalingRules {
        stabilization_window_seconds: window,
        select_policy,
        policies: policies.to_vec(),
    }
}

/// API defaults for `behavior.scaleUp`: no window, Max of 4 pods or 100% per 15 s.
fn default_up() -> ScalingRules {
    rules(0, Max, &[pods(4, 15), percent(100, 15)])
}

/// API defaults for `behavior.scaleDown` with the controller's 300 s window substituted.
fn default_down() -> ScalingRules {
    rules(300, Max, &[percent(100, 15)])
}

fn behavior(scale_up: ScalingRules, scale_down: ScalingRules) -> BehaviorPolicy {
    BehaviorPolicy { scale_up, scale_down }
}

// ---- history ----

/// `(replicas, seconds ago)`.
fn recs(list: &[(i32, i64)]) -> Vec<TimestampedRecommendation> {
    list.iter()
        .map(|&(replicas, secs)| TimestampedRecommendation {
            replicas,
            timestamp: ago(secs),
        })
        .collect()
}

/// `(change, seconds ago)`, not yet marked outdated.
fn events(list: &[(i32, i64)]) -> Vec<ScaleEvent> {
    list.iter()
        .map(|&(change, secs)| ScaleEvent {
            change,
            timestamp: ago(secs),
            outdated: false,
        })
        .collect()
}

fn history(recommendations: &[(i32, i64)], up: &[(i32, i64)], down: &[(i32, i64)]) -> History {
    History {
        recommendations: recs(recommendations),
        scale_up_events: events(up),
        scale_down_events: events(down),
    }
}

fn replicas_of(h: &History) -> Vec<i32> {
    h.recommendations.iter().map(|r| r.replicas).collect()
}

// Upstream's `generateEventsUniformDistribution(changes, 120)`: each event in the middle of its
// share of the last 120 s.
/// `[1, 5, 9]` over 120 s: 100 s, 60 s and 20 s ago (15 replicas in all).
const SPREAD_1_5_9: &[(i32, i64)] = &[(1, 100), (5, 60), (9, 20)];
/// `[2, 4, 6]` over 120 s.
const SPREAD_2_4_6: &[(i32, i64)] = &[(2, 100), (4, 60), (6, 20)];
/// `[10, 10, 10]` over 120 s.
const SPREAD_10_10_10: &[(i32, i64)] = &[(10, 100), (10, 60), (10, 20)];
/// `[8, 12, 9, 11]` over 120 s: 105, 75, 45 and 15 s ago.
const SPREAD_8_12_9_11: &[(i32, i64)] = &[(8, 105), (12, 75), (9, 45), (11, 15)];

// ---- legacy path ----

#[test]
fn legacy_scale_up_limit_is_twice_current_and_never_below_four() {
    struct Case {
        name: &'static str,
        current: i32,
        want: i32,
    }
    let cases = [
        Case {
            name: "zero replicas may still grow to four",
            current: 0,
            want: 4,
        },
        Case {
            name: "one replica may grow to four",
            current: 1,
            want: 4,
        },
        Case {
            name: "two replicas may grow to four",
            current: 2,
            want: 4,
        },
        Case {
            name: "three replicas may double to six",
            current: 3,
            want: 6,
        },
        Case {
            name: "ten replicas may double to twenty",
            current: 10,
            want: 20,
        },
        Case {
            name: "a hundred replicas may double to two hundred",
            current: 100,
            want: 200,
        },
        Case {
            name: "doubling past the int32 range saturates (Swell's guard)",
            current: i32::MAX,
            want: i32::MAX,
        },
    ];
    for c in &cases {
        assert_eq!(legacy_scale_up_limit(c.current), c.want, "{}", c.name);
    }
}

#[test]
fn legacy_clamp_applies_min_max_and_the_doubling_rate() {
    struct Case {
        name: &'static str,
        current: i32,
        proposal: i32,
        min: i32,
        max: i32,
        want: i32,
        want_reason: LimitReason,
    }
    let cases = [
        Case {
            name: "a proposal within range is applied as is",
            current: 5,
            proposal: 7,
            min: 3,
            max: 8,
            want: 7,
            want_reason: DesiredWithinRange,
        },
        Case {
            name: "a proposal below min is raised to min",
            current: 3,
            proposal: 1,
            min: 2,
            max: 8,
            want: 2,
            want_reason: TooFewReplicas,
        },
        Case {
            name: "zero is within range when min is zero",
            current: 1,
            proposal: 0,
            min: 0,
            max: 10,
            want: 0,
            want_reason: DesiredWithinRange,
        },
        Case {
            name: "max replicas is the limit when it is below the doubling limit",
            current: 20,
            proposal: 1000,
            min: 1,
            max: 10,
            want: 10,
            want_reason: TooManyReplicas,
        },
        Case {
            name: "the doubling limit is the limit when it is below max replicas",
            current: 3,
            proposal: 1000,
            min: 1,
            max: 2000,
            want: 6,
            want_reason: ScaleUpLimit,
        },
        Case {
            name: "scale up is limited to four pods when current is one and max is large",
            current: 1,
            proposal: 100,
            min: 1,
            max: 1000,
            want: 4,
            want_reason: ScaleUpLimit,
        },
        Case {
            name: "scale up from zero is limited to four pods",
            current: 0,
            proposal: 10,
            min: 0,
            max: 100,
            want: 4,
            want_reason: ScaleUpLimit,
        },
        Case {
            name: "max equal to the doubling limit is reported as too many replicas",
            current: 5,
            proposal: 50,
            min: 1,
            max: 10,
            want: 10,
            want_reason: TooManyReplicas,
        },
        Case {
            name: "max one above the doubling limit is reported as the scale-up limit",
            current: 5,
            proposal: 50,
            min: 1,
            max: 11,
            want: 10,
            want_reason: ScaleUpLimit,
        },
        Case {
            name: "a proposal exactly at the doubling limit is not limited",
            current: 5,
            proposal: 10,
            min: 1,
            max: 20,
            want: 10,
            want_reason: DesiredWithinRange,
        },
        Case {
            name: "a proposal above max at max is held at max",
            current: 10,
            proposal: 12,
            min: 1,
            max: 10,
            want: 10,
            want_reason: TooManyReplicas,
        },
        Case {
            name: "min wins over the doubling limit because it is checked first",
            current: 1,
            proposal: 2,
            min: 10,
            max: 20,
            want: 10,
            want_reason: TooFewReplicas,
        },
    ];
    for c in &cases {
        let mut h = History::default();
        let n = normalize_legacy(&mut h, c.proposal, c.current, c.min, c.max, five_minutes(), NOW);
        assert_eq!(n.desired, c.want, "{}: desired", c.name);
        assert_eq!(n.limit_reason, c.want_reason, "{}: limit reason", c.name);
        assert_eq!(n.limited, c.want != c.proposal, "{}: limited", c.name);
        assert_eq!(
            n.stabilized, c.proposal,
            "{}: an empty history does not stabilize",
            c.name
        );
        assert_eq!(
            n.stabilization_reason, ReadyForNewScale,
            "{}: stabilization reason",
            c.name
        );
        assert!(n.legacy, "{}: legacy flag", c.name);
        assert_eq!(
            n.rate_limit,
            Some(legacy_scale_up_limit(c.current)),
            "{}: rate limit",
            c.name
        );
        assert_eq!(
            n.up_recommendation, None,
            "{}: no scale-up window on the legacy path",
            c.name
        );
        assert_eq!(n.scale_down_window_seconds, 300, "{}: window", c.name);
        assert_eq!(
            n.select_policy, None,
            "{}: no selectPolicy on the legacy path",
            c.name
        );
        assert!(
            n.policies.is_empty(),
            "{}: no policies on the legacy path",
            c.name
        );
        assert_eq!(
            replicas_of(&h),
            [c.proposal],
            "{}: the proposal is recorded",
            c.name
        );
    }
}

#[test]
fn legacy_stabilization_takes_the_highest_recommendation_of_the_window() {
    struct Case {
        name: &'static str,
        /// `(replicas, seconds ago)`.
        history: &'static [(i32, i64)],
        current: i32,
        proposal: i32,
        min: i32,
        max: i32,
        want_stabilized: i32,
        want_reason: StabilizationReason,
        want: i32,
        want_limit: LimitReason,
        /// Recommendation replicas after recording, in slot order.
        want_recorded: &'static [i32],
    }
    let cases = [
        Case {
            name: "an empty log records the proposal and applies it",
            history: &[],
            current: 5,
            proposal: 5,
            min: 1,
            max: 100,
            want_stabilized: 5,
            want_reason: ReadyForNewScale,
            want: 5,
            want_limit: DesiredWithinRange,
            want_recorded: &[5],
        },
        Case {
            name: "a scale-down is held at the highest recent recommendation",
            history: &[(4, 120), (5, 60)],
            current: 5,
            proposal: 3,
            min: 1,
            max: 100,
            want_stabilized: 5,
            want_reason: ScaleDownStabilized,
            want: 5,
            want_limit: DesiredWithinRange,
            want_recorded: &[4, 5, 3],
        },
        Case {
            name: "lower recent recommendations do not hold the proposal",
            history: &[(1, 120), (2, 60)],
            current: 3,
            proposal: 3,
            min: 1,
            max: 100,
            want_stabilized: 3,
            want_reason: ReadyForNewScale,
            want: 3,
            want_limit: DesiredWithinRange,
            want_recorded: &[1, 2, 3],
        },
        Case {
            name: "recommendations older than the window are ignored and the last stale slot is reused",
            history: &[(10, 600), (9, 540)],
            current: 10,
            proposal: 3,
            min: 1,
            max: 100,
            want_stabilized: 3,
            want_reason: ReadyForNewScale,
            want: 3,
            want_limit: DesiredWithinRange,
            want_recorded: &[10, 3],
        },
        Case {
            name: "fresh recommendations hold the scale-down while the last stale slot is reused",
            history: &[(10, 600), (4, 60), (5, 120), (9, 540)],
            current: 10,
            proposal: 3,
            min: 1,
            max: 100,
            want_stabilized: 5,
            want_reason: ScaleDownStabilized,
            want: 5,
            want_limit: DesiredWithinRange,
            want_recorded: &[10, 4, 5, 3],
        },
        Case {
            name: "a recommendation exactly at the window's edge still counts on the legacy path",
            history: &[(7, 300)],
            current: 7,
            proposal: 3,
            min: 1,
            max: 100,
            want_stabilized: 7,
            want_reason: ScaleDownStabilized,
            want: 7,
            want_limit: DesiredWithinRange,
            want_recorded: &[7, 3],
        },
        Case {
            name: "a recommendation one second past the window's edge is stale and reused",
            history: &[(7, 301)],
            current: 7,
            proposal: 3,
            min: 1,
            max: 100,
            want_stabilized: 3,
            want_reason: ReadyForNewScale,
            want: 3,
            want_limit: DesiredWithinRange,
            want_recorded: &[3],
        },
        Case {
            name: "a low proposal scales up towards a higher recent recommendation, at the doubling rate",
            history: &[(6, 60)],
            current: 2,
            proposal: 1,
            min: 1,
            max: 100,
            want_stabilized: 6,
            want_reason: ScaleDownStabilized,
            want: 4,
            want_limit: ScaleUpLimit,
            want_recorded: &[6, 1],
        },
        Case {
            name: "a stabilized value above max is clamped to max",
            history: &[(12, 30)],
            current: 10,
            proposal: 3,
            min: 1,
            max: 8,
            want_stabilized: 12,
            want_reason: ScaleDownStabilized,
            want: 8,
            want_limit: TooManyReplicas,
            want_recorded: &[12, 3],
        },
        Case {
            name: "a recent recommendation equal to the proposal is ready for a new scale",
            history: &[(5, 60)],
            current: 8,
            proposal: 5,
            min: 1,
            max: 100,
            want_stabilized: 5,
            want_reason: ReadyForNewScale,
            want: 5,
            want_limit: DesiredWithinRange,
            want_recorded: &[5, 5],
        },
        Case {
            name: "a proposal above every recent recommendation is applied",
            history: &[(2, 60), (3, 30)],
            current: 3,
            proposal: 6,
            min: 1,
            max: 100,
            want_stabilized: 6,
            want_reason: ReadyForNewScale,
            want: 6,
            want_limit: DesiredWithinRange,
            want_recorded: &[2, 3, 6],
        },
        Case {
            name: "a stabilized value below min is raised to min",
            history: &[(1, 30)],
            current: 2,
            proposal: 0,
            min: 2,
            max: 100,
            want_stabilized: 1,
            want_reason: ScaleDownStabilized,
            want: 2,
            want_limit: TooFewReplicas,
            want_recorded: &[1, 0],
        },
    ];
    for c in &cases {
        let mut h = history(c.history, &[], &[]);
        let before = h.recommendations.clone();
        let n = normalize_legacy(&mut h, c.proposal, c.current, c.min, c.max, five_minutes(), NOW);
        assert_eq!(n.stabilized, c.want_stabilized, "{}: stabilized", c.name);
        assert_eq!(
            n.down_recommendation, c.want_stabilized,
            "{}: down recommendation",
            c.name
        );
        assert_eq!(
            n.stabilization_reason, c.want_reason,
            "{}: stabilization reason",
            c.name
        );
        assert_eq!(n.desired, c.want, "{}: desired", c.name);
        assert_eq!(n.limit_reason, c.want_limit, "{}: limit reason", c.name);
        assert_eq!(n.limited, c.want != c.want_stabilized, "{}: limited", c.name);
        assert_eq!(
            n.window, before,
            "{}: the window shows the history before recording",
            c.name
        );
        assert_eq!(
            replicas_of(&h),
            c.want_recorded,
            "{}: recorded recommendations",
            c.name
        );
        assert!(
            h.recommendations.contains(&TimestampedRecommendation {
                replicas: c.proposal,
                timestamp: NOW
            }),
            "{}: the raw proposal is recorded at now",
            c.name
        );
    }
}

// ---- behavior path: rate limits ----

#[test]
fn behavior_rate_limits_follow_the_policies_and_the_bounds() {
    struct Case {
        name: &'static str,
        up: ScalingRules,
        down: ScalingRules,
        /// `(change, seconds ago)`.
        up_events: &'static [(i32, i64)],
        down_events: &'static [(i32, i64)],
        min: i32,
        max: i32,
        current: i32,
        proposal: i32,
        want: i32,
        want_reason: LimitReason,
        /// The rate bound in force, when the case is about it.
        want_bound: Option<i32>,
    }
    let base = || Case {
        name: "",
        up: default_up(),
        down: default_down(),
        up_events: &[],
        down_events: &[],
        min: 1,
        max: 1000,
        current: 0,
        proposal: 0,
        want: 0,
        want_reason: DesiredWithinRange,
        want_bound: None,
    };
    let cases = [
        // Upstream TestScalingWithRules, policies without events.
        Case {
            name: "a scale-up within range is applied as proposed",
            min: 3,
            max: 8,
            current: 5,
            proposal: 7,
            want: 7,
            want_bound: Some(10),
            ..base()
        },
        Case {
            name: "a scale-down below min stops at min",
            min: 2,
            max: 8,
            current: 3,
            proposal: 1,
            want: 2,
            want_reason: TooFewReplicas,
            want_bound: Some(0),
            ..base()
        },
        Case {
            name: "scaling down to zero is within range when min is zero",
            min: 0,
            max: 10,
            current: 1,
            proposal: 0,
            want: 0,
            ..base()
        },
        Case {
            name: "max replicas is the limit when it is below the policies' limit",
            max: 10,
            current: 20,
            proposal: 1000,
            want: 10,
            want_reason: TooManyReplicas,
            want_bound: Some(40),
            ..base()
        },
        Case {
            name: "a proposal far above max is held at max",
            min: 100,
            max: 150,
            current: 100,
            proposal: 1000,
            want: 150,
            want_reason: TooManyReplicas,
            ..base()
        },
        Case {
            name: "a one percent policy still adds one pod to three",
            up: rules(0, Max, &[percent(1, 60)]),
            max: 2000,
            current: 3,
            proposal: 1000,
            want: 4,
            want_reason: ScaleUpLimit,
            want_bound: Some(4),
            ..base()
        },
        Case {
            name: "a twenty pod scale-down policy removes twenty of a thousand",
            down: rules(0, Max, &[pods(20, 60)]),
            min: 3,
            max: 2000,
            current: 1000,
            proposal: 3,
            want: 980,
            want_reason: ScaleDownLimit,
            want_bound: Some(980),
            ..base()
        },
        Case {
            name: "the default scale-up doubles ten pods",
            current: 10,
            proposal: 50,
            want: 20,
            want_reason: ScaleUpLimit,
            want_bound: Some(20),
            ..base()
        },
        Case {
            name: "max selects the pods policy when it allows more than the percent policy",
            up: rules(0, Max, &[pods(100, 60), percent(100, 60)]),
            current: 10,
            proposal: 500,
            want: 110,
            want_reason: ScaleUpLimit,
            ..base()
        },
        Case {
            name: "max selects the percent policy when it allows more than the pods policy",
            up: rules(0, Max, &[pods(2, 60), percent(100, 60)]),
            current: 10,
            proposal: 500,
            want: 20,
            want_reason: ScaleUpLimit,
            ..base()
        },
        Case {
            name: "a large pods policy lets the proposal through",
            up: rules(0, Max, &[pods(100, 60)]),
            current: 10,
            proposal: 50,
            want: 50,
            ..base()
        },
        Case {
            name: "a huge pods policy lets the proposal through",
            up: rules(0, Max, &[pods(10_000, 60)]),
            current: 10,
            proposal: 50,
            want: 50,
            ..base()
        },
        Case {
            name: "a thirty pod policy limits ten pods to forty",
            up: rules(0, Max, &[pods(30, 60)]),
            current: 10,
            proposal: 50,
            want: 40,
            want_reason: ScaleUpLimit,
            ..base()
        },
        Case {
            name: "a two hundred percent policy limits ten pods to thirty",
            up: rules(0, Max, &[percent(200, 60)]),
            current: 10,
            proposal: 50,
            want: 30,
            want_reason: ScaleUpLimit,
            ..base()
        },
        Case {
            name: "max on scale-down selects the pods policy when it removes more",
            down: rules(300, Max, &[pods(20, 60), percent(1, 60)]),
            current: 100,
            proposal: 2,
            want: 80,
            want_reason: ScaleDownLimit,
            want_bound: Some(80),
            ..base()
        },
        Case {
            name: "max on scale-down selects the two pod policy over one percent",
            down: rules(300, Max, &[pods(2, 60), percent(1, 60)]),
            current: 100,
            proposal: 2,
            want: 98,
            want_reason: ScaleDownLimit,
            ..base()
        },
        Case {
            name: "a large scale-down pods policy stops at min",
            down: rules(300, Max, &[pods(100, 60)]),
            current: 10,
            proposal: 0,
            want: 1,
            want_reason: TooFewReplicas,
            want_bound: Some(-90),
            ..base()
        },
        Case {
            name: "a hundred percent scale-down stops at a min of five",
            down: rules(300, Max, &[percent(100, 60)]),
            min: 5,
            current: 10,
            proposal: 2,
            want: 5,
            want_reason: TooFewReplicas,
            ..base()
        },
        Case {
            name: "a five pod scale-down policy limits ten pods to five",
            down: rules(300, Max, &[pods(5, 60)]),
            current: 10,
            proposal: 2,
            want: 5,
            want_reason: ScaleDownLimit,
            ..base()
        },
        Case {
            name: "a fifty percent scale-down policy allows halving",
            down: rules(300, Max, &[percent(50, 60)]),
            current: 10,
            proposal: 5,
            want: 5,
            ..base()
        },
        // Upstream TestScalingWithRules, with scale events.
        Case {
            name: "max replicas bounds a large pods policy after recent scale-ups",
            up: rules(0, Max, &[pods(300, 60)]),
            up_events: SPREAD_1_5_9,
            max: 200,
            current: 100,
            proposal: 500,
            want: 200,
            want_reason: TooManyReplicas,
            // Only the event 20 s ago is inside 60 s; the one exactly 60 s ago is not.
            want_bound: Some(100 - 9 + 300),
            ..base()
        },
        Case {
            name: "max replicas bounds a large percent policy after recent scale-ups",
            up: rules(0, Max, &[percent(10_000, 60)]),
            up_events: SPREAD_1_5_9,
            max: 200,
            current: 100,
            proposal: 500,
            want: 200,
            want_reason: TooManyReplicas,
            ..base()
        },
        Case {
            name: "the scale-up limit never goes below current after many recent scale-ups",
            up: rules(0, Max, &[pods(5, 120)]),
            up_events: SPREAD_1_5_9,
            current: 100,
            proposal: 500,
            want: 100,
            want_reason: ScaleUpLimit,
            want_bound: Some(100),
            ..base()
        },
        Case {
            name: "a pods policy counts from the replicas at the start of its period",
            up: rules(0, Max, &[pods(150, 120)]),
            up_events: SPREAD_1_5_9,
            current: 100,
            proposal: 500,
            want: 235,
            want_reason: ScaleUpLimit,
            ..base()
        },
        Case {
            name: "a percent policy counts from the replicas at the start of its period",
            up: rules(0, Max, &[percent(200, 120)]),
            up_events: SPREAD_1_5_9,
            current: 100,
            proposal: 500,
            want: 255,
            want_reason: ScaleUpLimit,
            ..base()
        },
        Case {
            name: "a scale-up period start subtracts additions and adds back removals",
            up: rules(0, Max, &[percent(300, 300)]),
            up_events: &[(4, 60)],
            down_events: &[(2, 60)],
            current: 6,
            proposal: 24,
            want: 16,
            want_reason: ScaleUpLimit,
            ..base()
        },
        Case {
            name: "the default scale-down ignores events older than its fifteen seconds",
            down_events: SPREAD_1_5_9,
            current: 10,
            proposal: 5,
            want: 5,
            ..base()
        },
        Case {
            name: "a pods scale-down policy with recent removals stops at a min of one",
            down: rules(300, Max, &[pods(115, 120)]),
            down_events: SPREAD_1_5_9,
            current: 100,
            proposal: 0,
            want: 1,
            want_reason: TooFewReplicas,
            ..base()
        },
        Case {
            name: "a pods scale-down policy with recent removals stops at a min of five",
            down: rules(300, Max, &[pods(130, 120)]),
            down_events: SPREAD_1_5_9,
            min: 5,
            current: 100,
            proposal: 0,
            want: 5,
            want_reason: TooFewReplicas,
            ..base()
        },
        Case {
            name: "a hundred percent scale-down with recent removals stops at min",
            down: rules(300, Max, &[percent(100, 120)]),
            down_events: SPREAD_1_5_9,
            min: 5,
            current: 100,
            proposal: 2,
            want: 5,
            want_reason: TooFewReplicas,
            ..base()
        },
        Case {
            name: "the scale-down limit never goes above current after many recent removals",
            down: rules(300, Max, &[pods(5, 120)]),
            down_events: SPREAD_1_5_9,
            current: 100,
            proposal: 2,
            want: 100,
            want_reason: ScaleDownLimit,
            want_bound: Some(100),
            ..base()
        },
        Case {
            name: "a percent scale-down counts from the replicas at the start of its period",
            down: rules(300, Max, &[percent(50, 120)]),
            down_events: SPREAD_2_4_6,
            current: 100,
            proposal: 0,
            want: 56,
            want_reason: ScaleDownLimit,
            ..base()
        },
        Case {
            name: "a scale-down period start subtracts additions and adds back removals",
            down: rules(0, Max, &[percent(50, 180)]),
            up_events: &[(2, 60)],
            down_events: &[(4, 60)],
            current: 10,
            proposal: 1,
            want: 6,
            want_reason: ScaleDownLimit,
            ..base()
        },
        Case {
            name: "recent removals prevent any further scale-down",
            down: rules(300, Max, &[percent(10, 120)]),
            down_events: SPREAD_10_10_10,
            current: 100,
            proposal: 0,
            want: 100,
            want_reason: ScaleDownLimit,
            ..base()
        },
        Case {
            name: "a policy limit below zero lets the proposal through",
            down: rules(300, Max, &[percent(1000, 120)]),
            down_events: SPREAD_10_10_10,
            current: 10,
            proposal: 5,
            want: 5,
            want_bound: Some(-360),
            ..base()
        },
        Case {
            name: "only the scale-ups inside the period reduce a pods allowance",
            up: rules(0, Max, &[pods(1000, 60)]),
            up_events: SPREAD_8_12_9_11,
            current: 100,
            proposal: 200,
            want: 200,
            want_bound: Some(100 - 20 + 1000),
            ..base()
        },
        Case {
            name: "only the scale-downs inside the period count against a pods allowance",
            down: rules(300, Max, &[pods(1000, 60)]),
            down_events: SPREAD_8_12_9_11,
            current: 100,
            proposal: 5,
            want: 5,
            ..base()
        },
        // Upstream TestCalculateScaleUpLimitWithScalingRules / TestCalculateScaleDownLimitWithBehaviors.
        Case {
            name: "min on scale-up selects the policy adding the fewest pods",
            up: rules(300, Min, &[pods(2, 60), percent(50, 60)]),
            max: 100,
            current: 1,
            proposal: 10,
            want: 2,
            want_reason: ScaleUpLimit,
            want_bound: Some(2),
            ..base()
        },
        Case {
            name: "min on scale-down selects the policy removing the fewest pods",
            down: rules(300, Min, &[pods(2, 60), percent(50, 60)]),
            current: 5,
            proposal: 1,
            want: 3,
            want_reason: ScaleDownLimit,
            want_bound: Some(3),
            ..base()
        },
        Case {
            name: "max on scale-down selects the policy removing the most pods",
            down: rules(300, Max, &[pods(2, 60), percent(50, 60)]),
            current: 5,
            proposal: 1,
            want: 2,
            want_reason: ScaleDownLimit,
            want_bound: Some(2),
            ..base()
        },
        Case {
            name: "min with two pods policies picks the smaller addition",
            up: rules(0, Min, &[pods(4, 60), pods(2, 60)]),
            current: 5,
            proposal: 20,
            want: 7,
            want_reason: ScaleUpLimit,
            ..base()
        },
        Case {
            name: "a disabled scale-up keeps current",
            up: rules(0, Disabled, &[pods(4, 60)]),
            max: 100,
            current: 5,
            proposal: 10,
            want: 5,
            want_reason: ScaleUpLimit,
            want_bound: Some(5),
            ..base()
        },
        Case {
            name: "a disabled scale-down keeps current",
            down: rules(300, Disabled, &[percent(20, 60)]),
            current: 10,
            proposal: 2,
            want: 10,
            want_reason: ScaleDownLimit,
            want_bound: Some(10),
            ..base()
        },
        Case {
            name: "a disabled scale-up at max is reported as too many replicas",
            up: rules(0, Disabled, &[pods(4, 60)]),
            max: 5,
            current: 5,
            proposal: 10,
            want: 5,
            want_reason: TooManyReplicas,
            ..base()
        },
        // Rounding.
        Case {
            name: "a percent scale-up rounds up: ten percent of three adds one",
            up: rules(0, Max, &[percent(10, 60)]),
            current: 3,
            proposal: 10,
            want: 4,
            want_reason: ScaleUpLimit,
            ..base()
        },
        Case {
            name: "a one percent scale-up of one pod still adds one",
            up: rules(0, Max, &[percent(1, 60)]),
            current: 1,
            proposal: 5,
            want: 2,
            want_reason: ScaleUpLimit,
            ..base()
        },
        Case {
            name: "ten percent of fifty allows fifty-six, as upstream's float64 product is just above fifty-five",
            up: rules(0, Max, &[percent(10, 60)]),
            current: 50,
            proposal: 100,
            want: 56,
            want_reason: ScaleUpLimit,
            ..base()
        },
        Case {
            name: "a percent scale-down truncates: twenty percent off eleven at the period start leaves eight",
            down: rules(0, Max, &[percent(20, 60)]),
            down_events: &[(1, 30)],
            current: 10,
            proposal: 1,
            want: 8,
            want_reason: ScaleDownLimit,
            want_bound: Some(8),
            ..base()
        },
        Case {
            name: "a percent scale-down truncates: a quarter off ten leaves seven",
            down: rules(0, Max, &[percent(25, 60)]),
            current: 10,
            proposal: 1,
            want: 7,
            want_reason: ScaleDownLimit,
            ..base()
        },
        Case {
            name: "ninety percent off ten truncates to zero, as upstream's float64 product is just below one",
            down: rules(0, Max, &[percent(90, 60)]),
            min: 0,
            current: 10,
            proposal: 0,
            want: 0,
            want_bound: Some(0),
            ..base()
        },
        // Periods.
        Case {
            name: "an event exactly one period ago is outside the period",
            up: rules(0, Max, &[pods(4, 60)]),
            up_events: &[(4, 60)],
            current: 10,
            proposal: 30,
            want: 14,
            want_reason: ScaleUpLimit,
            ..base()
        },
        Case {
            name: "an event one second inside the period uses up the allowance",
            up: rules(0, Max, &[pods(4, 60)]),
            up_events: &[(4, 59)],
            current: 10,
            proposal: 30,
            want: 10,
            want_reason: ScaleUpLimit,
            ..base()
        },
        Case {
            name: "a scale-up inside a scale-down period lets those pods be removed on top of the allowance",
            down: rules(0, Max, &[pods(2, 60)]),
            up_events: &[(3, 30)],
            current: 10,
            proposal: 1,
            want: 5,
            want_reason: ScaleDownLimit,
            ..base()
        },
        Case {
            name: "a scale-down inside a scale-up period lets those pods come back on top of the allowance",
            up: rules(0, Max, &[pods(4, 60)]),
            down_events: &[(3, 30)],
            current: 10,
            proposal: 30,
            want: 17,
            want_reason: ScaleUpLimit,
            ..base()
        },
        Case {
            name: "each policy counts only the events inside its own period",
            up: rules(0, Max, &[pods(4, 15), percent(100, 60)]),
            up_events: &[(5, 30)],
            current: 10,
            proposal: 100,
            want: 14,
            want_reason: ScaleUpLimit,
            ..base()
        },
        Case {
            name: "the default scale-down may remove everything down to min",
            current: 100,
            proposal: 1,
            want: 1,
            want_bound: Some(0),
            ..base()
        },
    ];
    for c in &cases {
        let b = behavior(c.up.clone(), c.down.clone());
        let mut h = history(&[], c.up_events, c.down_events);
        let n = normalize_with_behavior(&mut h, &b, c.proposal, c.current, c.min, c.max, NOW);
        assert_eq!(
            n.stabilized, c.proposal,
            "{}: an empty history does not stabilize",
            c.name
        );
        assert_eq!(n.desired, c.want, "{}: desired", c.name);
        assert_eq!(n.limit_reason, c.want_reason, "{}: limit reason", c.name);
        assert_eq!(n.limited, c.want != c.proposal, "{}: limited", c.name);
        assert!(!n.legacy, "{}: behavior path", c.name);
        if let Some(bound) = c.want_bound {
            assert_eq!(n.rate_limit, Some(bound), "{}: rate bound", c.name);
        }
        let direction = if c.proposal > c.current { &c.up } else { &c.down };
        assert_eq!(
            n.select_policy,
            Some(direction.select_policy),
            "{}: selectPolicy of the direction",
            c.name
        );
        let want_policies = if direction.select_policy == Disabled {
            0
        } else {
            direction.policies.len()
        };
        assert_eq!(
            n.policies.len(),
            want_policies,
            "{}: one bound per policy",
            c.name
        );
        assert_eq!(
            h.scale_up_events,
            events(c.up_events),
            "{}: normalizing stores no scale-up event",
            c.name
        );
        assert_eq!(
            h.scale_down_events,
            events(c.down_events),
            "{}: normalizing stores no scale-down event",
            c.name
        );
    }
}

// ---- behavior path: stabilization windows ----

#[test]
fn behavior_stabilization_clamps_current_between_the_two_windows() {
    struct Case {
        name: &'static str,
        /// `(replicas, seconds ago)`.
        history: &'static [(i32, i64)],
        current: i32,
        proposal: i32,
        up_window: i32,
        down_window: i32,
        want_up: i32,
        want_down: i32,
        want: i32,
        want_reason: StabilizationReason,
        /// Recommendation replicas after recording, in slot order.
        want_recorded: &'static [i32],
    }
    let cases = [
        // Upstream TestNormalizeDesiredReplicasWithBehavior.
        Case {
            name: "an empty history lets a scale-down through",
            history: &[],
            current: 100,
            proposal: 5,
            up_window: 0,
            down_window: 0,
            want_up: 5,
            want_down: 5,
            want: 5,
            want_reason: ReadyForNewScale,
            want_recorded: &[5],
        },
        Case {
            name: "a scale-down is held at the highest recommendation of the scale-down window",
            history: &[(4, 120), (5, 60)],
            current: 100,
            proposal: 3,
            up_window: 0,
            down_window: 180,
            want_up: 3,
            want_down: 5,
            want: 5,
            want_reason: ScaleDownStabilized,
            want_recorded: &[4, 5, 3],
        },
        Case {
            name: "a scale-up is held at the lowest recommendation of the scale-up window",
            history: &[(4, 120), (5, 60)],
            current: 1,
            proposal: 7,
            up_window: 300,
            down_window: 0,
            want_up: 4,
            want_down: 7,
            want: 4,
            want_reason: ScaleUpStabilized,
            want_recorded: &[4, 5, 7],
        },
        Case {
            name: "a scale-up window does not hold a scale-down",
            history: &[(1, 120), (2, 60)],
            current: 100,
            proposal: 3,
            up_window: 300,
            down_window: 0,
            want_up: 1,
            want_down: 3,
            want: 3,
            want_reason: ReadyForNewScale,
            want_recorded: &[1, 2, 3],
        },
        Case {
            name: "a scale-down window does not hold a scale-up",
            history: &[(4, 120), (5, 60)],
            current: 1,
            proposal: 3,
            up_window: 0,
            down_window: 300,
            want_up: 3,
            want_down: 5,
            want: 3,
            want_reason: ReadyForNewScale,
            want_recorded: &[4, 5, 3],
        },
        Case {
            name: "with both windows zero a scale-down reuses the last stale slot",
            history: &[(10, 600), (9, 540)],
            current: 100,
            proposal: 3,
            up_window: 0,
            down_window: 0,
            want_up: 3,
            want_down: 3,
            want: 3,
            want_reason: ReadyForNewScale,
            want_recorded: &[10, 3],
        },
        Case {
            name: "with both windows zero a scale-up reuses the last stale slot",
            history: &[(10, 600), (9, 540)],
            current: 1,
            proposal: 100,
            up_window: 0,
            down_window: 0,
            want_up: 100,
            want_down: 100,
            want: 100,
            want_reason: ReadyForNewScale,
            want_recorded: &[10, 100],
        },
        Case {
            name: "a held scale-down reuses the last slot older than both windows",
            history: &[(10, 600), (4, 60), (5, 120), (9, 540)],
            current: 100,
            proposal: 3,
            up_window: 0,
            down_window: 180,
            want_up: 3,
            want_down: 5,
            want: 5,
            want_reason: ScaleDownStabilized,
            want_recorded: &[10, 4, 5, 3],
        },
        Case {
            name: "a held scale-up reuses the only slot older than both windows",
            history: &[(10, 6000), (6, 60), (5, 120), (9, 180)],
            current: 1,
            proposal: 100,
            up_window: 300,
            down_window: 0,
            want_up: 5,
            want_down: 100,
            want: 5,
            want_reason: ScaleUpStabilized,
            want_recorded: &[100, 6, 5, 9],
        },
        Case {
            name: "with both windows a falling proposal does not scale up",
            history: &[(2, 6000), (3, 180)],
            current: 2,
            proposal: 1,
            up_window: 300,
            down_window: 300,
            want_up: 1,
            want_down: 3,
            want: 2,
            want_reason: ScaleDownStabilized,
            want_recorded: &[1, 3],
        },
        Case {
            name: "with both windows a rising proposal does not scale down",
            history: &[(2, 6000), (1, 180)],
            current: 2,
            proposal: 3,
            up_window: 300,
            down_window: 300,
            want_up: 1,
            want_down: 3,
            want: 2,
            want_reason: ScaleUpStabilized,
            want_recorded: &[3, 1],
        },
        // Karmada's TestStabilizeRecommendationWithBehaviors.
        Case {
            name: "a scale-up to ten is held at the lowest of eight and seven",
            history: &[(8, 120), (7, 240)],
            current: 5,
            proposal: 10,
            up_window: 300,
            down_window: 600,
            want_up: 7,
            want_down: 10,
            want: 7,
            want_reason: ScaleUpStabilized,
            want_recorded: &[8, 7, 10],
        },
        Case {
            name: "a scale-down to three is held at the highest of five and four",
            history: &[(5, 300), (4, 480)],
            current: 8,
            proposal: 3,
            up_window: 300,
            down_window: 600,
            want_up: 3,
            want_down: 5,
            want: 5,
            want_reason: ScaleDownStabilized,
            want_recorded: &[5, 4, 3],
        },
        Case {
            name: "a proposal equal to current and the window is ready for a new scale",
            history: &[(5, 60)],
            current: 5,
            proposal: 5,
            up_window: 300,
            down_window: 600,
            want_up: 5,
            want_down: 5,
            want: 5,
            want_reason: ReadyForNewScale,
            want_recorded: &[5, 5],
        },
        // Edges.
        Case {
            name: "a sample exactly at the scale-down cutoff is outside the window on the behavior path",
            history: &[(9, 300)],
            current: 10,
            proposal: 3,
            up_window: 0,
            down_window: 300,
            want_up: 3,
            want_down: 3,
            want: 3,
            want_reason: ReadyForNewScale,
            // Neither inside nor strictly older than the cutoff: not reused either.
            want_recorded: &[9, 3],
        },
        Case {
            name: "a sample one second inside the scale-down cutoff holds the scale-down",
            history: &[(9, 299)],
            current: 10,
            proposal: 3,
            up_window: 0,
            down_window: 300,
            want_up: 3,
            want_down: 9,
            want: 9,
            want_reason: ScaleDownStabilized,
            want_recorded: &[9, 3],
        },
        Case {
            name: "a sample exactly at the scale-up cutoff is outside the window",
            history: &[(2, 120)],
            current: 1,
            proposal: 7,
            up_window: 120,
            down_window: 0,
            want_up: 7,
            want_down: 7,
            want: 7,
            want_reason: ReadyForNewScale,
            want_recorded: &[2, 7],
        },
        Case {
            name: "a recommendation lower than every recent one still scales up when it is above current",
            history: &[(5, 60), (6, 30)],
            current: 2,
            proposal: 3,
            up_window: 300,
            down_window: 300,
            want_up: 3,
            want_down: 6,
            want: 3,
            want_reason: ReadyForNewScale,
            want_recorded: &[5, 6, 3],
        },
        Case {
            name: "a recommendation below current never scales up even when the scale-down window remembers higher ones (k8s#98174)",
            history: &[(21, 60), (25, 120)],
            current: 17,
            proposal: 14,
            up_window: 300,
            down_window: 600,
            want_up: 14,
            want_down: 25,
            want: 17,
            want_reason: ScaleDownStabilized,
            want_recorded: &[21, 25, 14],
        },
        Case {
            name: "a sample older than the scale-up window only is kept",
            history: &[(3, 200)],
            current: 5,
            proposal: 5,
            up_window: 60,
            down_window: 300,
            want_up: 5,
            want_down: 5,
            want: 5,
            want_reason: ReadyForNewScale,
            want_recorded: &[3, 5],
        },
        Case {
            name: "of the samples older than both windows the last one is reused",
            history: &[(4, 200), (8, 400), (7, 500)],
            current: 5,
            proposal: 5,
            up_window: 60,
            down_window: 300,
            want_up: 5,
            want_down: 5,
            want: 5,
            want_reason: ReadyForNewScale,
            want_recorded: &[4, 8, 5],
        },
        Case {
            name: "with both windows zero even a sample seconds old is ignored and reused",
            history: &[(50, 10), (1, 5)],
            current: 10,
            proposal: 20,
            up_window: 0,
            down_window: 0,
            want_up: 20,
            want_down: 20,
            want: 20,
            want_reason: ReadyForNewScale,
            want_recorded: &[50, 20],
        },
    ];
    for c in &cases {
        // Policies wide enough that the rate limit never bites: these cases are about the windows.
        let b = behavior(
            rules(c.up_window, Max, &[pods(100_000, 15)]),
            rules(c.down_window, Max, &[percent(100, 15)]),
        );
        let mut h = history(c.history, &[], &[]);
        let before = h.recommendations.clone();
        let n = normalize_with_behavior(&mut h, &b, c.proposal, c.current, 0, 100_000, NOW);
        assert_eq!(
            n.up_recommendation,
            Some(c.want_up),
            "{}: lowest of the scale-up window",
            c.name
        );
        assert_eq!(
            n.down_recommendation, c.want_down,
            "{}: highest of the scale-down window",
            c.name
        );
        assert_eq!(n.stabilized, c.want, "{}: stabilized", c.name);
        assert_eq!(
            n.stabilization_reason, c.want_reason,
            "{}: stabilization reason",
            c.name
        );
        assert_eq!(n.desired, c.want, "{}: desired", c.name);
        assert_eq!(n.limit_reason, DesiredWithinRange, "{}: limit reason", c.name);
        assert!(!n.limited, "{}: not limited", c.name);
        assert_eq!(
            n.scale_up_window_seconds,
            i64::from(c.up_window),
            "{}: up window",
            c.name
        );
        assert_eq!(
            n.scale_down_window_seconds,
            i64::from(c.down_window),
            "{}: down window",
            c.name
        );
        assert_eq!(
            n.window, before,
            "{}: the window shows the history before recording",
            c.name
        );
        if c.want == c.current {
            assert_eq!(n.rate_limit, None, "{}: no rate bound without a change", c.name);
            assert_eq!(
                n.select_policy, None,
                "{}: no selectPolicy without a change",
                c.name
            );
        }
        assert_eq!(
            replicas_of(&h),
            c.want_recorded,
            "{}: recorded recommendations",
            c.name
        );
        assert!(
            h.recommendations.contains(&TimestampedRecommendation {
                replicas: c.proposal,
                timestamp: NOW
            }),
            "{}: the raw proposal is recorded at now",
            c.name
        );
    }
}

// ---- history ----

#[test]
fn record_initial_counts_current_replicas_only_for_a_new_history() {
    struct Case {
        name: &'static str,
        history: &'static [(i32, i64)],
        current: i32,
        want: &'static [(i32, i64)],
    }
    let cases = [
        Case {
            name: "an empty history records current at now",
            history: &[],
            current: 10,
            want: &[(10, 0)],
        },
        Case {
            name: "a history with recommendations is left alone",
            history: &[(3, 60)],
            current: 10,
            want: &[(3, 60)],
        },
        Case {
            name: "a history with only stale recommendations is left alone",
            history: &[(3, 6000)],
            current: 10,
            want: &[(3, 6000)],
        },
    ];
    for c in &cases {
        let mut h = history(c.history, &[], &[]);
        h.record_initial(c.current, NOW);
        assert_eq!(h.recommendations, recs(c.want), "{}", c.name);
        assert!(
            h.scale_up_events.is_empty() && h.scale_down_events.is_empty(),
            "{}: no events",
            c.name
        );
    }
}

#[test]
fn record_initial_holds_a_scale_down_right_after_a_restart() {
    let mut h = History::default();
    h.record_initial(10, ago(60));
    let n = normalize_legacy(&mut h, 3, 10, 1, 100, five_minutes(), NOW);
    assert_eq!(
        n.desired, 10,
        "legacy: the initial recommendation holds the scale-down"
    );
    assert_eq!(n.stabilization_reason, ScaleDownStabilized, "legacy: reason");

    let mut h = History::default();
    h.record_initial(10, ago(60));
    let b = behavior(default_up(), default_down());
    let n = normalize_with_behavior(&mut h, &b, 3, 10, 1, 100, NOW);
    assert_eq!(
        n.desired, 10,
        "behavior: the initial recommendation holds the scale-down"
    );
    assert_eq!(n.stabilization_reason, ScaleDownStabilized, "behavior: reason");
}

#[test]
fn record_scale_event_reuses_the_last_outdated_slot() {
    struct Case {
        name: &'static str,
        /// `None`: the legacy path, nothing is stored.
        rules: Option<ScalingRules>,
        /// `(change, seconds ago, outdated)`.
        before: &'static [(i32, i64, bool)],
        /// `(change, seconds ago, outdated)`, 0 seconds ago being the new event.
        want: &'static [(i32, i64, bool)],
    }
    let two_policies = || Some(rules(0, Max, &[pods(10, 60), percent(100, 60)]));
    let cases = [
        // Upstream TestStoreScaleEvents, each case run for both directions.
        Case {
            name: "without behavior nothing is stored",
            rules: None,
            before: &[],
            want: &[],
        },
        Case {
            name: "with behavior the first event is appended",
            rules: two_policies(),
            before: &[],
            want: &[(5, 0, false)],
        },
        Case {
            name: "without behavior an outdated event is left untouched",
            rules: None,
            before: &[(7, 61, false)],
            want: &[(7, 61, false)],
        },
        Case {
            name: "with behavior an outdated event is replaced",
            rules: two_policies(),
            before: &[(7, 61, false)],
            want: &[(5, 0, false)],
        },
        Case {
            name: "with behavior an event inside the period is kept",
            rules: two_policies(),
            before: &[(7, 58, false)],
            want: &[(7, 58, false), (5, 0, false)],
        },
        Case {
            name: "of two events only the outdated one is replaced",
            rules: Some(rules(0, Max, &[pods(10, 60)])),
            before: &[(7, 61, false), (6, 59, false)],
            want: &[(5, 0, false), (6, 59, false)],
        },
        Case {
            name: "the longest period decides and the last outdated slot is reused",
            rules: Some(rules(0, Max, &[pods(10, 60), percent(100, 30)])),
            before: &[(8, 29, false), (6, 59, false), (7, 61, false), (9, 61, false)],
            want: &[(8, 29, false), (6, 59, false), (7, 61, true), (5, 0, false)],
        },
        Case {
            name: "events inside the longest period are all kept",
            rules: Some(rules(0, Max, &[pods(10, 120), percent(100, 30)])),
            before: &[(7, 58, false), (6, 59, false)],
            want: &[(7, 58, false), (6, 59, false), (5, 0, false)],
        },
        // Edges.
        Case {
            name: "an event exactly one longest period old is not outdated",
            rules: Some(rules(0, Max, &[pods(10, 60)])),
            before: &[(7, 60, false)],
            want: &[(7, 60, false), (5, 0, false)],
        },
        Case {
            name: "a slot marked outdated earlier stays reusable after the period grows",
            rules: Some(rules(0, Max, &[pods(10, 600)])),
            before: &[(7, 100, true), (6, 50, false)],
            want: &[(5, 0, false), (6, 50, false)],
        },
    ];
    let to_events = |list: &[(i32, i64, bool)]| -> Vec<ScaleEvent> {
        list.iter()
            .map(|&(change, secs, outdated)| ScaleEvent {
                change,
                timestamp: ago(secs),
                outdated,
            })
            .collect()
    };
    for c in &cases {
        // The same rules on both sides, so that each direction is checked with the same table.
        let b = c.rules.clone().map(|r| behavior(r.clone(), r));

        let mut up = History {
            scale_up_events: to_events(c.before),
            ..History::default()
        };
        up.record_scale_event(b.as_ref(), 10, 15, NOW);
        assert_eq!(up.scale_up_events, to_events(c.want), "{}: scale-up list", c.name);
        assert!(
            up.scale_down_events.is_empty(),
            "{}: a scale-up touches no scale-down event",
            c.name
        );

        let mut down = History {
            scale_down_events: to_events(c.before),
            ..History::default()
        };
        down.record_scale_event(b.as_ref(), 10, 5, NOW);
        assert_eq!(
            down.scale_down_events,
            to_events(c.want),
            "{}: scale-down list",
            c.name
        );
        assert!(
            down.scale_up_events.is_empty(),
            "{}: a scale-down touches no scale-up event",
            c.name
        );

        assert!(
            up.recommendations.is_empty() && down.recommendations.is_empty(),
            "{}: no recs",
            c.name
        );
    }
}

#[test]
fn record_scale_event_uses_the_direction_of_the_change_and_its_rules() {
    struct Case {
        name: &'static str,
        previous: i32,
        new: i32,
        /// `(change, seconds ago)` before, in both lists.
        before: &'static [(i32, i64)],
        want_up: &'static [(i32, i64)],
        want_down: &'static [(i32, i64)],
    }
    // Scale-up events expire after 60 s, scale-down events after 600 s.
    let b = behavior(rules(0, Max, &[pods(4, 60)]), rules(300, Max, &[pods(4, 600)]));
    let cases = [
        Case {
            name: "a scale-up is stored as a positive change in the scale-up list only",
            previous: 3,
            new: 8,
            before: &[],
            want_up: &[(5, 0)],
            want_down: &[],
        },
        Case {
            name: "a scale-down is stored as a positive change in the scale-down list only",
            previous: 8,
            new: 3,
            before: &[],
            want_up: &[],
            want_down: &[(5, 0)],
        },
        Case {
            name: "an unchanged count is stored as a zero scale-down, as upstream's else branch does",
            previous: 4,
            new: 4,
            before: &[],
            want_up: &[],
            want_down: &[(0, 0)],
        },
        Case {
            name: "a scale-up reuses a slot older than the scale-up period",
            previous: 3,
            new: 8,
            before: &[(2, 100)],
            want_up: &[(5, 0)],
            want_down: &[(2, 100)],
        },
        Case {
            name: "a scale-down keeps an event still inside the longer scale-down period",
            previous: 8,
            new: 3,
            before: &[(2, 100)],
            want_up: &[(2, 100)],
            want_down: &[(2, 100), (5, 0)],
        },
    ];
    for c in &cases {
        let mut h = history(&[], c.before, c.before);
        h.record_scale_event(Some(&b), c.previous, c.new, NOW);
        assert_eq!(h.scale_up_events, events(c.want_up), "{}: scale-up list", c.name);
        assert_eq!(
            h.scale_down_events,
            events(c.want_down),
            "{}: scale-down list",
            c.name
        );
    }
}

// ---- properties ----

fn policy_strategy() -> impl Strategy<Value = ScalingPolicy> {
    (
        prop_oneof![Just(PolicyKind::Pods), Just(PolicyKind::Percent)],
        1..=300i32,
        1..=600i32,
    )
        .prop_map(|(kind, value, period_seconds)| ScalingPolicy {
            kind,
            value,
            period_seconds,
        })
}

fn rules_strategy() -> impl Strategy<Value = ScalingRules> {
    (
        0..=600i32,
        prop_oneof![Just(Max), Just(Min), Just(Disabled)],
        vec(policy_strategy(), 1..=3),
    )
        .prop_map(
            |(stabilization_window_seconds, select_policy, policies)| ScalingRules {
                stabilization_window_seconds,
                select_policy,
                policies,
            },
        )
}

fn behavior_strategy() -> impl Strategy<Value = BehaviorPolicy> {
    (rules_strategy(), rules_strategy())
        .prop_map(|(scale_up, scale_down)| BehaviorPolicy { scale_up, scale_down })
}

fn history_strategy() -> impl Strategy<Value = History> {
    let event = (1..=50i32, 0..=900i64, any::<bool>()).prop_map(|(change, secs, outdated)| ScaleEvent {
        change,
        timestamp: ago(secs),
        outdated,
    });
    (
        vec((0..=150i32, 0..=900i64), 0..8),
        vec(event.clone(), 0..6),
        vec(event, 0..6),
    )
        .prop_map(|(recommendations, scale_up_events, scale_down_events)| History {
            recommendations: recommendations
                .into_iter()
                .map(|(replicas, secs)| TimestampedRecommendation {
                    replicas,
                    timestamp: ago(secs),
                })
                .collect(),
            scale_up_events,
            scale_down_events,
        })
}

/// `(min, max, current)` with `min <= current <= max`.
fn bounds_strategy() -> impl Strategy<Value = (i32, i32, i32)> {
    (0..=20i32, 0..=60i32).prop_flat_map(|(min, span)| (Just(min), Just(min + span), min..=min + span))
}

/// Sums of `(time, change)` over every window `(t - period, t]` that ends at an entry.
fn window_sums(log: &[(Timestamp, i32)], period_seconds: i32) -> impl Iterator<Item = (Timestamp, i32)> + '_ {
    let period = SignedDuration::from_secs(i64::from(period_seconds));
    log.iter().map(move |&(end, _)| {
        let sum = log
            .iter()
            .filter(|&&(t, _)| t > end - period && t <= end)
            .map(|&(_, c)| c)
            .sum();
        (end, sum)
    })
}

fn check_behavior_bounds(
    n: &Normalization,
    b: &BehaviorPolicy,
    proposal: i32,
    current: i32,
    min: i32,
    max: i32,
) -> Result<(), TestCaseError> {
    prop_assert!(
        min <= n.desired && n.desired <= max,
        "desired {} outside [{min}, {max}]",
        n.desired
    );
    prop_assert!(
        proposal.min(current) <= n.stabilized && n.stabilized <= proposal.max(current),
        "stabilized {} is not between current {current} and proposal {proposal}",
        n.stabilized
    );
    prop_assert_eq!(n.limited, n.desired != n.stabilized);
    let bounds: Vec<i32> = n.policies.iter().map(|p| p.limit).collect();
    if n.stabilized > current {
        let bound = n.rate_limit.unwrap_or(i32::MIN);
        prop_assert!(
            current <= n.desired && n.desired <= n.stabilized,
            "scale-up overshoots: {n:?}"
        );
        prop_assert!(
            n.desired <= bound && bound >= current,
            "scale-up above its rate bound: {n:?}"
        );
        match b.scale_up.select_policy {
            Disabled => prop_assert_eq!(n.desired, current),
            _ => {
                let largest = bounds.iter().copied().max().unwrap_or(current).max(current);
                prop_assert!(
                    n.desired <= largest,
                    "scale-up above the largest policy bound: {n:?}"
                );
            }
        }
    } else if n.stabilized < current {
        let bound = n.rate_limit.unwrap_or(i32::MAX);
        prop_assert!(
            n.stabilized <= n.desired && n.desired <= current,
            "scale-down overshoots: {n:?}"
        );
        prop_assert!(
            n.desired >= bound && bound <= current,
            "scale-down below its rate bound: {n:?}"
        );
        match b.scale_down.select_policy {
            Disabled => prop_assert_eq!(n.desired, current),
            _ => {
                let smallest = bounds.iter().copied().min().unwrap_or(current).min(current);
                prop_assert!(
                    n.desired >= smallest,
                    "scale-down below the smallest policy bound: {n:?}"
                );
            }
        }
    } else {
        prop_assert_eq!(n.desired, current);
        prop_assert_eq!(n.rate_limit, None);
    }
    Ok(())
}

proptest! {
    #[test]
    fn behavior_path_stays_within_min_max_and_the_policy_bounds(
        (min, max, current) in bounds_strategy(),
        proposal in 0..=150i32,
        b in behavior_strategy(),
        h in history_strategy(),
    ) {
        let mut h = h;
        let len_before = h.recommendations.len();
        let n = normalize_with_behavior(&mut h, &b, proposal, current, min, max, NOW);
        check_behavior_bounds(&n, &b, proposal, current, min, max)?;
        prop_assert!(h.recommendations.len() <= len_before + 1, "at most one slot is added");
        let recorded = TimestampedRecommendation { replicas: proposal, timestamp: NOW };
        prop_assert!(h.recommendations.contains(&recorded), "the raw proposal is recorded at now");
    }

    #[test]
    fn legacy_path_stays_within_min_max_and_the_doubling_limit(
        (min, max, current) in bounds_strategy(),
        proposal in 0..=150i32,
        h in history_strategy(),
    ) {
        let mut h = h;
        let n = normalize_legacy(&mut h, proposal, current, min, max, five_minutes(), NOW);
        prop_assert!(min <= n.desired && n.desired <= max, "desired {} outside [{min}, {max}]", n.desired);
        prop_assert!(n.desired <= legacy_scale_up_limit(current), "desired {} above the doubling limit", n.desired);
        prop_assert!(n.stabilized >= proposal, "legacy stabilization only raises: {n:?}");
        prop_assert_eq!(n.limited, n.desired != n.stabilized);
    }

    /// With scale-down disabled, the pods added within any `period` never exceed the policy's value.
    #[test]
    fn scale_ups_within_any_period_never_exceed_the_pods_allowance(
        value in 1..=10i32,
        period in 1..=300i32,
        up_window in 0..=120i32,
        start in 0..=50i32,
        steps in vec((0..=300i32, 1..=60i64), 1..60),
    ) {
        let b = behavior(rules(up_window, Max, &[pods(value, period)]), rules(0, Disabled, &[percent(100, 15)]));
        let mut h = History::default();
        let (mut current, mut t) = (start, NOW);
        let mut log = Vec::new();
        for &(proposal, advance) in &steps {
            t += SignedDuration::from_secs(advance);
            let n = normalize_with_behavior(&mut h, &b, proposal, current, 0, 100_000, t);
            if n.desired != current {
                prop_assert!(n.desired > current, "scale-down is disabled: {n:?}");
                h.record_scale_event(Some(&b), current, n.desired, t);
                log.push((t, n.desired - current));
                current = n.desired;
            }
        }
        for (end, added) in window_sums(&log, period) {
            prop_assert!(added <= value, "{added} pods added in the {period} s up to {end}, allowance {value}");
        }
    }

    /// With both directions active, upstream's period start (`current - added + removed`) bounds
    /// the net change: within a period ending at a scale-up, added minus removed is at most the
    /// scale-up value, and symmetrically for a scale-down.
    #[test]
    fn net_changes_within_a_period_never_exceed_the_pods_allowance(
        (up_value, up_period) in (1..=10i32, 1..=300i32),
        (down_value, down_period) in (1..=10i32, 1..=300i32),
        windows in (0..=120i32, 0..=120i32),
        start in 0..=50i32,
        steps in vec((0..=100i32, 1..=60i64), 1..60),
    ) {
        let b = behavior(
            rules(windows.0, Max, &[pods(up_value, up_period)]),
            rules(windows.1, Max, &[pods(down_value, down_period)]),
        );
        let mut h = History::default();
        let (mut current, mut t) = (start, NOW);
        let mut log = Vec::new();
        for &(proposal, advance) in &steps {
            t += SignedDuration::from_secs(advance);
            let n = normalize_with_behavior(&mut h, &b, proposal, current, 0, 100_000, t);
            if n.desired != current {
                h.record_scale_event(Some(&b), current, n.desired, t);
                log.push((t, n.desired - current));
                current = n.desired;
            }
        }
        let ups: Vec<_> = window_sums(&log, up_period).filter(|&(end, _)| {
            log.iter().any(|&(t, c)| t == end && c > 0)
        }).collect();
        for (end, net) in ups {
            prop_assert!(net <= up_value, "net +{net} in the {up_period} s up to {end}, allowance {up_value}");
        }
        let downs: Vec<_> = window_sums(&log, down_period).filter(|&(end, _)| {
            log.iter().any(|&(t, c)| t == end && c < 0)
        }).collect();
        for (end, net) in downs {
            prop_assert!(-net <= down_value, "net {net} in the {down_period} s up to {end}, allowance {down_value}");
        }
    }

    #[test]
    fn the_same_inputs_give_the_same_output(
        (min, max, current) in bounds_strategy(),
        proposal in 0..=150i32,
        b in behavior_strategy(),
        h in history_strategy(),
    ) {
        let (mut h1, mut h2) = (h.clone(), h.clone());
        let n1 = normalize_with_behavior(&mut h1, &b, proposal, current, min, max, NOW);
        let n2 = normalize_with_behavior(&mut h2, &b, proposal, current, min, max, NOW);
        prop_assert_eq!(&n1, &n2);
        prop_assert_eq!(&h1, &h2);

        let (mut l1, mut l2) = (h.clone(), h);
        let m1 = normalize_legacy(&mut l1, proposal, current, min, max, five_minutes(), NOW);
        let m2 = normalize_legacy(&mut l2, proposal, current, min, max, five_minutes(), NOW);
        prop_assert_eq!(&m1, &m2);
        prop_assert_eq!(&l1, &l2);

        h1.record_scale_event(Some(&b), current, n1.desired, NOW);
        h2.record_scale_event(Some(&b), current, n2.desired, NOW);
        prop_assert_eq!(h1, h2);
    }
}
