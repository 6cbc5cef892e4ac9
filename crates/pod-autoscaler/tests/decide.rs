//! Whole decisions: gates, metrics, partial failure, normalization, status, events, completion.
//!
//! Expected values follow upstream `horizontal.go` (kube-controller-manager 1.36); each case says
//! which rule it pins.

// Fixture helpers outside #[test] functions unwrap constants; a bad fixture should fail loudly.
#![allow(clippy::unwrap_used)]

use jiff::{SignedDuration, Timestamp};
use k8s_openapi::{
    api::autoscaling::v2::{CrossVersionObjectReference, MetricIdentifier},
    apimachinery::pkg::apis::meta::v1::{LabelSelector, LabelSelectorRequirement},
};
use swell_core::{
    conditions::{Condition, find_condition},
    pod::{ConditionStatus, PodPhase, ReadyCondition},
};
use swell_pod_autoscaler::{
    ControllerConfig, Decision, History, HpaInput, HpaKey, HpaPolicy, MetricInput, PodInfo, PodSample,
    PodSamples, ScaleTarget,
    behavior::{LimitReason, StabilizationReason},
    decide,
    decide::{Gate, MetricResult, go_label_selector},
    policy::{
        BehaviorPolicy, MetricPolicy, MetricSource, PolicyKind, ScalingPolicy, ScalingRules, SelectPolicy,
        Target, Tolerances,
    },
    status::EventType,
};

fn t0() -> Timestamp {
    "2026-01-01T00:00:00Z".parse().unwrap()
}

fn at(secs: i64) -> Timestamp {
    t0() + SignedDuration::from_secs(secs)
}

/// The decision time of every case: one hour after t0, so pods started at t0 are past the CPU
/// initialization period.
fn now() -> Timestamp {
    at(3600)
}

/// A running pod, ready since t0, requesting 1 cpu (1000m) for every request key.
fn pod(name: &str) -> PodInfo {
    PodInfo {
        name: name.to_string(),
        phase: PodPhase::Running,
        terminating: false,
        ready: Some(ReadyCondition {
            status: ConditionStatus::True,
            last_transition_time: Some(t0()),
        }),
        start_time: Some(t0()),
        requests: vec![Ok(1000)],
    }
}

fn pods(n: usize) -> Vec<PodInfo> {
    (0..n).map(|i| pod(&format!("web-{i}"))).collect()
}

fn samples(values: &[i64]) -> MetricInput {
    MetricInput::Pods(Ok(PodSamples::new(
        values
            .iter()
            .enumerate()
            .map(|(i, v)| PodSample {
                pod: format!("web-{i}"),
                value: *v,
                timestamp: now(),
                window: SignedDuration::from_secs(30),
            })
            .collect(),
    )))
}

fn cpu(target: i32) -> MetricPolicy {
    MetricPolicy {
        source: MetricSource::Resource { name: "cpu".into() },
        target: Target::Utilization(target),
    }
}

fn memory_average(milli: i64) -> MetricPolicy {
    MetricPolicy {
        source: MetricSource::Resource {
            name: "memory".into(),
        },
        target: Target::AverageValue(milli),
    }
}

fn pods_metric(name: &str, milli: i64) -> MetricPolicy {
    MetricPolicy {
        source: MetricSource::Pods {
            metric: MetricIdentifier {
                name: name.into(),
                selector: None,
            },
        },
        target: Target::AverageValue(milli),
    }
}

fn object(name: &str, target: Target) -> MetricPolicy {
    MetricPolicy {
        source: MetricSource::Object {
            described_object: CrossVersionObjectReference {
                api_version: Some("networking.k8s.io/v1".into()),
                kind: "Ingress".into(),
                name: "main".into(),
            },
            metric: MetricIdentifier {
                name: name.into(),
                selector: None,
            },
        },
        target,
    }
}

fn external(name: &str, selector: Option<LabelSelector>, target: Target) -> MetricPolicy {
    MetricPolicy {
        source: MetricSource::External {
            metric: MetricIdentifier {
                name: name.into(),
                selector,
            },
        },
        target,
    }
}

fn policy(min: i32, max: i32, metrics: Vec<MetricPolicy>) -> HpaPolicy {
    HpaPolicy {
        scale_target_ref: CrossVersionObjectReference {
            api_version: Some("apps/v1".into()),
            kind: "Deployment".into(),
            name: "web".into(),
        },
        min_replicas: min,
        max_replicas: max,
        metrics,
        behavior: None,
        tolerances: Tolerances::symmetric(0.1),
    }
}

fn default_behavior() -> BehaviorPolicy {
    BehaviorPolicy {
        scale_up: ScalingRules {
            stabilization_window_seconds: 0,
            select_policy: SelectPolicy::Max,
            policies: vec![
                ScalingPolicy {
                    kind: PolicyKind::Pods,
                    value: 4,
                    period_seconds: 15,
                },
                ScalingPolicy {
                    kind: PolicyKind::Percent,
                    value: 100,
                    period_seconds: 15,
                },
            ],
        },
        scale_down: ScalingRules {
            stabilization_window_seconds: 300,
            select_policy: SelectPolicy::Max,
            policies: vec![ScalingPolicy {
                kind: PolicyKind::Percent,
                value: 100,
                period_seconds: 15,
            }],
        },
    }
}

fn input(current: i32, pods: Vec<PodInfo>, metrics: Vec<MetricInput>) -> HpaInput {
    HpaInput::new(
        HpaKey::new("shop", "web"),
        ScaleTarget {
            spec_replicas: current,
            status_replicas: current,
            selector: "app=web".into(),
        },
        pods,
        metrics,
    )
}

fn cond(d: &Decision, type_: &str) -> Option<(ConditionStatus, String)> {
    find_condition(&d.status.conditions, type_).map(|c| (c.status, c.reason.clone()))
}

fn event_reasons(d: &Decision) -> Vec<String> {
    d.events.iter().map(|e| e.reason.clone()).collect()
}

/// A case: build the inputs, decide once on a fresh history, check the outcome.
struct Case {
    name: &'static str,
    policy: HpaPolicy,
    input: HpaInput,
    cfg: ControllerConfig,
    want_desired: i32,
    want_rescale: bool,
    want_reason: &'static str,
    /// (condition type, status, reason) that must be present.
    want_conditions: Vec<(&'static str, ConditionStatus, &'static str)>,
    /// Event reasons in order (before the scale write).
    want_events: Vec<&'static str>,
}

fn base(name: &'static str, policy: HpaPolicy, input: HpaInput) -> Case {
    Case {
        name,
        policy,
        input,
        cfg: ControllerConfig::default(),
        want_desired: 0,
        want_rescale: false,
        want_reason: "",
        want_conditions: Vec::new(),
        want_events: Vec::new(),
    }
}

use ConditionStatus::{False, True};

fn cases() -> Vec<Case> {
    vec![
        Case {
            want_desired: 5,
            want_rescale: true,
            want_reason: "cpu resource utilization (percentage of request) above target",
            want_conditions: vec![
                ("AbleToScale", True, "ReadyForNewScale"),
                ("ScalingActive", True, "ValidMetricFound"),
                ("ScalingLimited", False, "DesiredWithinRange"),
            ],
            ..base(
                "cpu at 50 percent against a 30 percent target scales three pods to five",
                policy(1, 10, vec![cpu(30)]),
                input(3, pods(3), vec![samples(&[300, 500, 700])]),
            )
        },
        Case {
            want_desired: 3,
            want_rescale: false,
            want_conditions: vec![("ScalingActive", True, "ValidMetricFound")],
            ..base(
                "cpu within the ten percent band keeps the current count",
                policy(1, 10, vec![cpu(50)]),
                input(3, pods(3), vec![samples(&[500, 520, 540])]),
            )
        },
        Case {
            want_desired: 4,
            want_rescale: false,
            want_conditions: vec![
                ("AbleToScale", True, "ScaleDownStabilized"),
                ("ScalingLimited", False, "DesiredWithinRange"),
            ],
            ..base(
                "a scale-down right after start is held by the initial recommendation in the legacy window",
                policy(1, 10, vec![cpu(50)]),
                input(4, pods(4), vec![samples(&[100, 100, 100, 100])]),
            )
        },
        Case {
            want_desired: 10,
            want_rescale: true,
            want_reason: "Current number of replicas above Spec.MaxReplicas",
            want_conditions: vec![("AbleToScale", True, "SucceededGetScale")],
            ..base(
                "current replicas above max scale to max without reading metrics",
                policy(1, 10, vec![cpu(50)]),
                input(12, pods(12), vec![MetricInput::Pods(Err("metrics down".into()))]),
            )
        },
        Case {
            want_desired: 2,
            want_rescale: true,
            want_reason: "Current number of replicas below Spec.MinReplicas",
            ..base(
                "current replicas below min scale to min without reading metrics",
                policy(2, 10, vec![cpu(50)]),
                input(1, pods(1), vec![MetricInput::Pods(Err("metrics down".into()))]),
            )
        },
        Case {
            want_desired: 0,
            want_rescale: false,
            want_conditions: vec![("ScalingActive", False, "ScalingDisabled")],
            ..base(
                "a target scaled to zero by hand disables autoscaling",
                policy(1, 10, vec![cpu(50)]),
                input(0, vec![], vec![samples(&[])]),
            )
        },
        Case {
            want_desired: 7,
            want_rescale: false,
            want_conditions: vec![("ScalingActive", False, "InvalidSelector")],
            want_events: vec!["SelectorRequired", "FailedComputeMetricsReplicas"],
            ..base(
                "a scale without a selector stops scaling and keeps the old desired count",
                policy(1, 10, vec![cpu(50)]),
                {
                    let mut i = input(3, pods(3), vec![samples(&[900, 900, 900])]);
                    i.scale.selector = String::new();
                    i.previous_desired_replicas = 7;
                    i
                },
            )
        },
        Case {
            want_desired: 0,
            want_rescale: false,
            want_conditions: vec![("ScalingActive", False, "InvalidSelector")],
            want_events: vec!["InvalidSelector", "FailedComputeMetricsReplicas"],
            ..base(
                "an unparsable scale selector stops scaling",
                policy(1, 10, vec![cpu(50)]),
                {
                    let mut i = input(3, pods(3), vec![samples(&[900, 900, 900])]);
                    i.scale.selector = "app in (web".into();
                    i
                },
            )
        },
        Case {
            want_desired: 0,
            want_rescale: false,
            want_conditions: vec![("ScalingActive", False, "AmbiguousSelector")],
            want_events: vec!["AmbiguousSelector", "FailedComputeMetricsReplicas"],
            ..base(
                "pods selected by two HPAs stop both from scaling",
                policy(1, 10, vec![cpu(50)]),
                {
                    let mut i = input(3, pods(3), vec![samples(&[900, 900, 900])]);
                    i.selecting_hpas.push(HpaKey::new("shop", "web-old"));
                    i
                },
            )
        },
        Case {
            want_desired: 0,
            want_rescale: false,
            want_conditions: vec![("ScalingActive", False, "FailedGetResourceMetric")],
            want_events: vec!["FailedGetResourceMetric", "FailedComputeMetricsReplicas"],
            ..base(
                "when the only metric fails nothing scales",
                policy(1, 10, vec![cpu(50)]),
                input(
                    3,
                    pods(3),
                    vec![MetricInput::Pods(Err(
                        "the server is currently unable to handle the request".into(),
                    ))],
                ),
            )
        },
        Case {
            want_desired: 6,
            want_rescale: true,
            want_reason: "pods metric queue_depth above target",
            want_conditions: vec![("ScalingActive", True, "ValidMetricFound")],
            want_events: vec!["FailedGetResourceMetric"],
            ..base(
                "a partial failure still scales up on the metrics that worked",
                policy(1, 10, vec![cpu(50), pods_metric("queue_depth", 10_000)]),
                input(
                    3,
                    pods(3),
                    vec![
                        MetricInput::Pods(Err("metrics-server down".into())),
                        samples(&[20_000, 20_000, 20_000]),
                    ],
                ),
            )
        },
        Case {
            want_desired: 0,
            want_rescale: false,
            want_conditions: vec![("ScalingActive", False, "FailedGetResourceMetric")],
            want_events: vec!["FailedGetResourceMetric", "FailedComputeMetricsReplicas"],
            ..base(
                "a partial failure never scales down",
                policy(1, 10, vec![cpu(50), pods_metric("queue_depth", 10_000)]),
                input(
                    6,
                    pods(6),
                    vec![
                        MetricInput::Pods(Err("metrics-server down".into())),
                        samples(&[1000; 6]),
                    ],
                ),
            )
        },
        Case {
            want_desired: 8,
            want_rescale: true,
            want_reason: "pods metric queue_depth above target",
            ..base(
                "several metrics give the highest proposal",
                policy(1, 10, vec![cpu(50), pods_metric("queue_depth", 10_000)]),
                input(
                    4,
                    pods(4),
                    vec![samples(&[600, 600, 600, 600]), samples(&[20_000; 4])],
                ),
            )
        },
        Case {
            want_desired: 4,
            want_rescale: true,
            want_reason: "cpu resource utilization (percentage of request) above target",
            want_conditions: vec![("ScalingLimited", True, "ScaleUpLimit")],
            ..base(
                "the legacy path adds at most up to four replicas from one",
                policy(1, 100, vec![cpu(10)]),
                input(1, pods(1), vec![samples(&[1000])]),
            )
        },
        Case {
            want_desired: 6,
            want_rescale: true,
            want_conditions: vec![("ScalingLimited", True, "TooManyReplicas")],
            want_reason: "cpu resource utilization (percentage of request) above target",
            ..base(
                "the legacy path stops at max replicas",
                policy(1, 6, vec![cpu(10)]),
                input(4, pods(4), vec![samples(&[1000; 4])]),
            )
        },
        Case {
            want_desired: 6,
            want_rescale: true,
            want_reason: "cpu resource utilization (percentage of request) above target",
            want_conditions: vec![("ScalingLimited", True, "ScaleUpLimit")],
            ..base(
                "the default scale-up policies allow doubling or four pods, whichever is more",
                HpaPolicy {
                    behavior: Some(default_behavior()),
                    ..policy(1, 100, vec![cpu(10)])
                },
                input(2, pods(2), vec![samples(&[1000, 1000])]),
            )
        },
        Case {
            want_desired: 3,
            want_rescale: false,
            want_conditions: vec![("AbleToScale", True, "ScaleDownStabilized")],
            ..base(
                "the behavior path holds a scale-down for the scale-down window",
                HpaPolicy {
                    behavior: Some(default_behavior()),
                    ..policy(1, 10, vec![cpu(50)])
                },
                input(3, pods(3), vec![samples(&[100, 100, 100])]),
            )
        },
        Case {
            want_desired: 1,
            want_rescale: true,
            want_reason: "All metrics below target",
            want_conditions: vec![("AbleToScale", True, "ReadyForNewScale")],
            ..base(
                "a zero scale-down window scales down at once",
                HpaPolicy {
                    behavior: Some(BehaviorPolicy {
                        scale_down: ScalingRules {
                            stabilization_window_seconds: 0,
                            ..default_behavior().scale_down
                        },
                        ..default_behavior()
                    }),
                    ..policy(1, 10, vec![cpu(50)])
                },
                input(3, pods(3), vec![samples(&[100, 100, 100])]),
            )
        },
        Case {
            want_desired: 3,
            want_rescale: false,
            want_conditions: vec![("ScalingLimited", True, "ScaleDownLimit")],
            ..base(
                "selectPolicy Disabled on scale-down keeps the count",
                HpaPolicy {
                    behavior: Some(BehaviorPolicy {
                        scale_down: ScalingRules {
                            stabilization_window_seconds: 0,
                            select_policy: SelectPolicy::Disabled,
                            ..default_behavior().scale_down
                        },
                        ..default_behavior()
                    }),
                    ..policy(1, 10, vec![cpu(50)])
                },
                input(3, pods(3), vec![samples(&[100, 100, 100])]),
            )
        },
        Case {
            want_desired: 2,
            want_rescale: true,
            want_reason: "All metrics below target",
            ..base(
                "an external value below target scales down by ready pods times the ratio",
                HpaPolicy {
                    behavior: Some(BehaviorPolicy {
                        scale_down: ScalingRules {
                            stabilization_window_seconds: 0,
                            ..default_behavior().scale_down
                        },
                        ..default_behavior()
                    }),
                    ..policy(
                        1,
                        10,
                        vec![external("queue_messages", None, Target::Value(10_000))],
                    )
                },
                input(4, pods(4), vec![MetricInput::External(Ok(vec![2_000, 3_000]))]),
            )
        },
        Case {
            want_desired: 4,
            want_rescale: true,
            want_reason: "external metric queue_messages(nil) above target",
            want_conditions: vec![("ScalingLimited", True, "ScaleUpLimit")],
            ..base(
                "an external average value asks for the summed series over the target, capped by the legacy rate",
                policy(
                    1,
                    10,
                    vec![external("queue_messages", None, Target::AverageValue(10_000))],
                ),
                input(2, pods(2), vec![MetricInput::External(Ok(vec![20_000, 30_000]))]),
            )
        },
        Case {
            want_desired: 4,
            want_rescale: true,
            want_reason: "Ingress metric requests_per_second above target",
            ..base(
                "an object value above target multiplies the ready pods by the ratio",
                policy(1, 10, vec![object("requests_per_second", Target::Value(100_000))]),
                input(2, pods(2), vec![MetricInput::Object(Ok(200_000))]),
            )
        },
        Case {
            want_desired: 2,
            want_rescale: false,
            want_conditions: vec![("ScalingActive", False, "FailedGetObjectMetric")],
            want_events: vec!["FailedGetObjectMetric", "FailedComputeMetricsReplicas"],
            ..base(
                "an object metric that cannot be fetched stops scaling",
                policy(1, 10, vec![object("requests_per_second", Target::Value(100_000))]),
                input(2, pods(2), vec![MetricInput::Object(Err("not found".into()))]),
            )
            .with_previous_desired(2)
        },
        Case {
            want_desired: 0,
            want_rescale: true,
            want_reason: "All metrics below target",
            cfg: ControllerConfig {
                scale_to_zero: true,
                ..ControllerConfig::default()
            },
            ..base(
                "with the scale-to-zero gate an idle queue scales to zero",
                HpaPolicy {
                    behavior: Some(BehaviorPolicy {
                        scale_down: ScalingRules {
                            stabilization_window_seconds: 0,
                            ..default_behavior().scale_down
                        },
                        ..default_behavior()
                    }),
                    ..policy(
                        0,
                        10,
                        vec![external("queue_messages", None, Target::Value(10_000))],
                    )
                },
                input(2, pods(2), vec![MetricInput::External(Ok(vec![0]))]),
            )
        },
        Case {
            want_desired: 3,
            want_rescale: true,
            want_reason: "external metric queue_messages(nil) above target",
            cfg: ControllerConfig {
                scale_to_zero: true,
                ..ControllerConfig::default()
            },
            ..base(
                "from zero a queue scales to the ceiling of the ratio",
                HpaPolicy {
                    behavior: Some(default_behavior()),
                    ..policy(
                        0,
                        10,
                        vec![external("queue_messages", None, Target::Value(10_000))],
                    )
                },
                {
                    let mut i = input(0, vec![], vec![MetricInput::External(Ok(vec![25_000]))]);
                    i.conditions.push(scaled_to_zero_condition());
                    i
                },
            )
        },
        Case {
            want_desired: 2,
            want_rescale: true,
            want_reason: "Current number of replicas below Spec.MinReplicas",
            cfg: ControllerConfig {
                scale_to_zero: true,
                ..ControllerConfig::default()
            },
            ..base(
                "from zero with minReplicas raised the target is lifted to min",
                HpaPolicy {
                    behavior: Some(default_behavior()),
                    ..policy(
                        2,
                        10,
                        vec![external("queue_messages", None, Target::Value(10_000))],
                    )
                },
                {
                    let mut i = input(0, vec![], vec![MetricInput::External(Ok(vec![0]))]);
                    i.conditions.push(scaled_to_zero_condition());
                    i
                },
            )
        },
        Case {
            want_desired: 0,
            want_rescale: false,
            want_conditions: vec![("ScalingActive", False, "ScalingDisabled")],
            ..base(
                "without the gate a ScaledToZero condition does not bring a target back",
                policy(
                    1,
                    10,
                    vec![external("queue_messages", None, Target::Value(10_000))],
                ),
                {
                    let mut i = input(0, vec![], vec![MetricInput::External(Ok(vec![25_000]))]);
                    i.conditions.push(scaled_to_zero_condition());
                    i
                },
            )
        },
        Case {
            want_desired: 3,
            want_rescale: true,
            want_reason: "memory resource above target",
            ..base(
                "a memory average value target scales on the mean per pod",
                policy(1, 10, vec![memory_average(100 * 1024 * 1024 * 1000)]),
                input(
                    2,
                    pods(2),
                    vec![samples(&[150 * 1024 * 1024 * 1000, 150 * 1024 * 1024 * 1000])],
                ),
            )
        },
    ]
}

trait WithPrevious {
    fn with_previous_desired(self, n: i32) -> Self;
}

impl WithPrevious for Case {
    fn with_previous_desired(mut self, n: i32) -> Self {
        self.input.previous_desired_replicas = n;
        self
    }
}

fn scaled_to_zero_condition() -> Condition {
    Condition {
        type_: "ScaledToZero".into(),
        status: ConditionStatus::True,
        reason: "ScaledToZero".into(),
        message: "the HPA controller scaled the workload to zero".into(),
        last_transition_time: Some(t0()),
    }
}

#[test]
fn whole_decisions_follow_upstream() {
    let cases = cases();
    assert!(cases.len() >= 25);
    for c in cases {
        let mut history = History::default();
        let d = decide(&c.input, &c.policy, &c.cfg, &mut history, now());
        assert_eq!(d.desired_replicas, c.want_desired, "{}: desired", c.name);
        assert_eq!(d.rescale, c.want_rescale, "{}: rescale", c.name);
        assert_eq!(d.rescale_reason, c.want_reason, "{}: reason", c.name);
        for (type_, status, reason) in &c.want_conditions {
            assert_eq!(
                cond(&d, type_),
                Some((*status, reason.to_string())),
                "{}: condition {type_}",
                c.name
            );
        }
        assert_eq!(event_reasons(&d), c.want_events, "{}: events", c.name);
        // The status always reports the current replicas.
        assert_eq!(
            d.status.current_replicas, c.input.scale.spec_replicas,
            "{}: status current",
            c.name
        );
    }
}

#[test]
fn a_failed_metric_is_reported_in_upstream_words_at_every_layer() {
    let p = policy(1, 10, vec![cpu(50)]);
    let i = input(3, pods(3), vec![MetricInput::Pods(Err("boom".into()))]);
    let d = decide(
        &i,
        &p,
        &ControllerConfig::default(),
        &mut History::default(),
        now(),
    );
    assert_eq!(d.events[0].type_, EventType::Warning);
    assert_eq!(
        d.events[0].message,
        "failed to get cpu utilization: unable to get metrics for resource cpu: boom"
    );
    let c = find_condition(&d.status.conditions, "ScalingActive").unwrap();
    assert_eq!(
        c.message,
        "the HPA was unable to compute the replica count: failed to get cpu utilization: unable to get metrics for resource cpu: boom"
    );
    assert_eq!(
        d.events[1].message,
        "invalid metrics (1 invalid out of 1), first error is: failed to get cpu resource metric value: failed to get cpu utilization: unable to get metrics for resource cpu: boom"
    );
    assert_eq!(
        d.error.as_deref(),
        Some(
            "failed to compute desired number of replicas based on listed metrics for Deployment/shop/web: invalid metrics (1 invalid out of 1), first error is: failed to get cpu resource metric value: failed to get cpu utilization: unable to get metrics for resource cpu: boom"
        )
    );
    assert_eq!(d.explanation.gate, Some(Gate::MetricsFailed));
}

#[test]
fn a_failed_metric_leaves_an_empty_entry_in_current_metrics_as_upstream_does() {
    let p = policy(1, 10, vec![cpu(50), pods_metric("queue_depth", 10_000)]);
    let i = input(
        3,
        pods(3),
        vec![MetricInput::Pods(Err("down".into())), samples(&[20_000; 3])],
    );
    let d = decide(
        &i,
        &p,
        &ControllerConfig::default(),
        &mut History::default(),
        now(),
    );
    assert_eq!(d.status.current_metrics.len(), 2);
    assert_eq!(d.status.current_metrics[0].type_, "");
    assert_eq!(d.status.current_metrics[1].type_, "Pods");
    assert_eq!(
        d.status.current_metrics[1]
            .pods
            .as_ref()
            .unwrap()
            .current
            .average_value
            .as_ref()
            .unwrap()
            .0,
        "20"
    );
    // Partial failure with a scale-up: scales, and still reports the error.
    assert!(d.rescale);
    assert!(
        d.error
            .as_deref()
            .unwrap()
            .starts_with("invalid metrics (1 invalid out of 2)")
    );
}

#[test]
fn resource_status_reports_truncated_utilization_and_the_raw_average() {
    let p = policy(1, 10, vec![cpu(30)]);
    let i = input(3, pods(3), vec![samples(&[300, 500, 701])]);
    let d = decide(
        &i,
        &p,
        &ControllerConfig::default(),
        &mut History::default(),
        now(),
    );
    let r = d.status.current_metrics[0].resource.as_ref().unwrap();
    assert_eq!(r.name, "cpu");
    assert_eq!(r.current.average_utilization, Some(50)); // 1501 * 100 / 3000 = 50.03 -> 50
    assert_eq!(r.current.average_value.as_ref().unwrap().0, "500m"); // 1501 / 3 = 500
}

#[test]
fn memory_status_is_formatted_in_binary_units() {
    let p = policy(1, 10, vec![memory_average(100 * 1024 * 1024 * 1000)]);
    let i = input(
        2,
        pods(2),
        vec![samples(&[64 * 1024 * 1024 * 1000, 64 * 1024 * 1024 * 1000])],
    );
    let d = decide(
        &i,
        &p,
        &ControllerConfig::default(),
        &mut History::default(),
        now(),
    );
    let r = d.status.current_metrics[0].resource.as_ref().unwrap();
    assert_eq!(r.current.average_value.as_ref().unwrap().0, "64Mi");
}

#[test]
fn object_and_external_statuses_carry_their_identifiers_and_values() {
    let sel = LabelSelector {
        match_labels: Some([("queue".to_string(), "orders".to_string())].into()),
        match_expressions: None,
    };
    let p = policy(
        1,
        10,
        vec![
            object("requests_per_second", Target::AverageValue(50_000)),
            external("messages", Some(sel.clone()), Target::Value(10_000)),
        ],
    );
    let i = input(
        2,
        pods(2),
        vec![
            MetricInput::Object(Ok(100_000)),
            MetricInput::External(Ok(vec![5_000, 5_000])),
        ],
    );
    let d = decide(
        &i,
        &p,
        &ControllerConfig::default(),
        &mut History::default(),
        now(),
    );
    let o = d.status.current_metrics[0].object.as_ref().unwrap();
    assert_eq!(o.described_object.kind, "Ingress");
    assert_eq!(o.current.average_value.as_ref().unwrap().0, "50"); // ceil(100 / 2 status replicas)
    let e = d.status.current_metrics[1].external.as_ref().unwrap();
    assert_eq!(e.metric.selector.as_ref(), Some(&sel));
    assert_eq!(e.current.value.as_ref().unwrap().0, "10");
    assert_eq!(
        d.explanation.metrics[0].name, "external metric requests_per_second(nil)",
        "upstream names an Object AverageValue metric 'external metric'"
    );
    assert_eq!(
        d.explanation.metrics[1].name,
        "external metric messages(&LabelSelector{MatchLabels:map[string]string{queue: orders,},MatchExpressions:[]LabelSelectorRequirement{},})"
    );
}

#[test]
fn label_selectors_print_as_go_prints_them() {
    assert_eq!(go_label_selector(None), "nil");
    let sel = LabelSelector {
        match_labels: Some(
            [
                ("b".to_string(), "2".to_string()),
                ("a".to_string(), "1".to_string()),
            ]
            .into(),
        ),
        match_expressions: Some(vec![LabelSelectorRequirement {
            key: "tier".into(),
            operator: "In".into(),
            values: Some(vec!["x".into(), "y".into()]),
        }]),
    };
    assert_eq!(
        go_label_selector(Some(&sel)),
        "&LabelSelector{MatchLabels:map[string]string{a: 1,b: 2,},MatchExpressions:[]LabelSelectorRequirement{LabelSelectorRequirement{Key:tier,Operator:In,Values:[x y],},},}"
    );
}

#[test]
fn a_successful_rescale_records_the_event_and_the_scale_time() {
    let p = HpaPolicy {
        behavior: Some(default_behavior()),
        ..policy(1, 10, vec![cpu(30)])
    };
    let i = input(3, pods(3), vec![samples(&[300, 500, 700])]);
    let mut history = History::default();
    let d = decide(&i, &p, &ControllerConfig::default(), &mut history, now());
    let done = d.complete(Ok(()), &mut history, &p);
    assert_eq!(done.events.last().unwrap().reason, "SuccessfulRescale");
    assert_eq!(
        done.events.last().unwrap().message,
        "New size: 5; reason: cpu resource utilization (percentage of request) above target"
    );
    let able = find_condition(&done.status.conditions, "AbleToScale").unwrap();
    assert_eq!((able.reason.as_str(), able.status), ("SucceededRescale", True));
    assert_eq!(
        able.message,
        "the HPA controller was able to update the target scale to 5"
    );
    assert_eq!(done.status.last_scale_time, Some(now()));
    assert_eq!(done.status.desired_replicas, 5);
    assert_eq!(history.scale_up_events.len(), 1);
    assert_eq!(history.scale_up_events[0].change, 2);
    assert!(
        find_condition(&done.status.conditions, "ScaledToZero").is_none(),
        "gate off removes the condition"
    );
}

#[test]
fn the_legacy_path_records_no_scale_events() {
    let p = policy(1, 10, vec![cpu(30)]);
    let i = input(3, pods(3), vec![samples(&[300, 500, 700])]);
    let mut history = History::default();
    let d = decide(&i, &p, &ControllerConfig::default(), &mut history, now());
    d.complete(Ok(()), &mut history, &p);
    assert!(history.scale_up_events.is_empty() && history.scale_down_events.is_empty());
    // The initial recommendation and this one.
    assert_eq!(history.recommendations.len(), 2);
}

#[test]
fn a_failed_scale_write_keeps_the_old_desired_count_and_says_why() {
    let p = policy(1, 10, vec![cpu(30)]);
    let mut i = input(3, pods(3), vec![samples(&[300, 500, 700])]);
    i.previous_desired_replicas = 3;
    let mut history = History::default();
    let d = decide(&i, &p, &ControllerConfig::default(), &mut history, now());
    let done = d.complete(
        Err("Operation cannot be fulfilled: the object has been modified".into()),
        &mut history,
        &p,
    );
    let last = done.events.last().unwrap();
    assert_eq!(last.reason, "FailedRescale");
    assert_eq!(
        last.message,
        "New size: 5; reason: cpu resource utilization (percentage of request) above target; error: Operation cannot be fulfilled: the object has been modified"
    );
    let able = find_condition(&done.status.conditions, "AbleToScale").unwrap();
    assert_eq!((able.reason.as_str(), able.status), ("FailedUpdateScale", False));
    assert_eq!(done.status.desired_replicas, 3);
    assert_eq!(done.status.last_scale_time, None);
    assert_eq!(
        done.error.as_deref(),
        Some(
            "failed to rescale Deployment/shop/web: Operation cannot be fulfilled: the object has been modified"
        )
    );
}

#[test]
fn scaling_to_zero_sets_the_scaled_to_zero_condition_and_leaving_zero_clears_it() {
    let cfg = ControllerConfig {
        scale_to_zero: true,
        ..ControllerConfig::default()
    };
    let behavior = BehaviorPolicy {
        scale_down: ScalingRules {
            stabilization_window_seconds: 0,
            ..default_behavior().scale_down
        },
        ..default_behavior()
    };
    let p = HpaPolicy {
        behavior: Some(behavior),
        ..policy(
            0,
            10,
            vec![external("queue_messages", None, Target::Value(10_000))],
        )
    };
    let mut history = History::default();
    let down = input(2, pods(2), vec![MetricInput::External(Ok(vec![0]))]);
    let d = decide(&down, &p, &cfg, &mut history, now());
    assert_eq!(d.desired_replicas, 0);
    let done = d.complete(Ok(()), &mut history, &p);
    let c = find_condition(&done.status.conditions, "ScaledToZero").unwrap();
    assert_eq!((c.status, c.reason.as_str()), (True, "ScaledToZero"));

    let mut up = input(0, vec![], vec![MetricInput::External(Ok(vec![25_000]))]);
    up.conditions = done.status.conditions.clone();
    let later = now() + SignedDuration::from_secs(60);
    let d = decide(&up, &p, &cfg, &mut history, later);
    assert_eq!(d.desired_replicas, 3);
    let done = d.complete(Ok(()), &mut history, &p);
    let c = find_condition(&done.status.conditions, "ScaledToZero").unwrap();
    assert_eq!((c.status, c.reason.as_str()), (False, "NotScaledToZero"));
    assert_eq!(c.last_transition_time, Some(later));
}

#[test]
fn unchanged_conditions_keep_their_transition_time() {
    let p = policy(1, 10, vec![cpu(50)]);
    let mut i = input(3, pods(3), vec![samples(&[500, 500, 500])]);
    let mut history = History::default();
    let first = decide(&i, &p, &ControllerConfig::default(), &mut history, now());
    i.conditions = first.status.conditions.clone();
    let later = now() + SignedDuration::from_secs(15);
    let second = decide(&i, &p, &ControllerConfig::default(), &mut history, later);
    for c in &second.status.conditions {
        assert_eq!(c.last_transition_time, Some(now()), "{} kept its time", c.type_);
    }
}

#[test]
fn the_explanation_carries_every_number() {
    let p = policy(1, 10, vec![cpu(30)]);
    let mut ps = pods(4);
    ps[3].phase = PodPhase::Pending;
    let i = input(4, ps, vec![samples(&[300, 500, 700])]);
    let d = decide(
        &i,
        &p,
        &ControllerConfig::default(),
        &mut History::default(),
        now(),
    );
    let e = &d.explanation;
    assert_eq!(e.current_replicas, 4);
    assert_eq!(e.proposal, Some(5));
    let MetricResult::Proposed(prop) = &e.metrics[0].result else {
        panic!("metric failed")
    };
    assert_eq!(prop.utilization, Some(50));
    let counts = prop.pods.unwrap();
    assert_eq!(
        (counts.ready, counts.unready, counts.missing, counts.ignored),
        (3, 1, 0, 0)
    );
    let rb = prop.rebalance.unwrap();
    assert!(rb.unready_filled_with_zero);
    assert_eq!(rb.samples, 4);
    assert_eq!(e.metrics[0].tolerance_band, (0.9, 1.1));
    let n = e.normalization.as_ref().unwrap();
    assert!(n.legacy);
    assert_eq!(n.proposal, 5);
    assert_eq!(n.window.len(), 1, "the initial recommendation");
    assert_eq!(n.stabilization_reason, StabilizationReason::ReadyForNewScale);
    assert_eq!(n.limit_reason, LimitReason::DesiredWithinRange);
    // It serializes for `swell explain` and /decisions.
    let json = serde_json::to_string(&d).unwrap();
    let back: Decision = serde_json::from_str(&json).unwrap();
    assert_eq!(back, d);
}

#[test]
fn the_same_input_gives_the_same_decision() {
    let p = HpaPolicy {
        behavior: Some(default_behavior()),
        ..policy(1, 10, vec![cpu(30), pods_metric("q", 5_000)])
    };
    let i = input(
        3,
        pods(3),
        vec![samples(&[300, 500, 700]), samples(&[4_000, 6_000, 9_000])],
    );
    let mut h1 = History::default();
    h1.record_initial(5, at(3500));
    let mut h2 = h1.clone();
    let a = decide(&i, &p, &ControllerConfig::default(), &mut h1, now());
    let b = decide(&i, &p, &ControllerConfig::default(), &mut h2, now());
    assert_eq!(a, b);
    assert_eq!(h1, h2);
}

#[test]
fn to_k8s_writes_an_autoscaling_v2_status() {
    let p = policy(1, 10, vec![cpu(30)]);
    let i = input(3, pods(3), vec![samples(&[300, 500, 700])]);
    let mut history = History::default();
    let d = decide(&i, &p, &ControllerConfig::default(), &mut history, now());
    let done = d.complete(Ok(()), &mut history, &p);
    let s = done.status.to_k8s();
    assert_eq!(s.current_replicas, Some(3));
    assert_eq!(s.desired_replicas, 5);
    assert_eq!(s.last_scale_time.map(|t| t.0), Some(now()));
    let conds = s.conditions.unwrap();
    let types: Vec<&str> = conds.iter().map(|c| c.type_.as_str()).collect();
    assert_eq!(
        types,
        ["AbleToScale", "ScalingActive", "ScalingLimited"],
        "upstream's order of first appearance"
    );
}

mod properties {
    use proptest::prelude::*;

    use super::*;

    proptest! {
        #![proptest_config(ProptestConfig { cases: 256, ..ProptestConfig::default() })]

        /// Within [min, max] whenever the current count is; at exactly the violated bound otherwise.
        #[test]
        fn desired_stays_within_bounds(
            min in 1i32..5,
            span in 0i32..20,
            current in 1i32..40,
            usage in proptest::collection::vec(0i64..5_000, 1..30),
            target in 1i32..200,
            with_behavior in any::<bool>(),
        ) {
            let max = min + span;
            let n = usage.len();
            let mut p = policy(min, max, vec![cpu(target)]);
            if with_behavior { p.behavior = Some(default_behavior()); }
            let i = input(current, pods(n), vec![samples(&usage)]);
            let d = decide(&i, &p, &ControllerConfig::default(), &mut History::default(), now());
            if current > max {
                prop_assert_eq!(d.desired_replicas, max);
            } else if current < min {
                prop_assert_eq!(d.desired_replicas, min);
            } else {
                prop_assert!(d.desired_replicas >= min && d.desired_replicas <= max,
                    "desired {} outside [{}, {}]", d.desired_replicas, min, max);
            }
        }

        /// Deciding twice from cloned histories gives identical decisions and histories.
        #[test]
        fn decisions_are_deterministic(
            current in 1i32..20,
            usage in proptest::collection::vec(0i64..3_000, 1..20),
            prior in proptest::collection::vec((1i32..30, 0i64..600), 0..8),
        ) {
            let p = HpaPolicy { behavior: Some(default_behavior()), ..policy(1, 30, vec![cpu(50)]) };
            let i = input(current, pods(usage.len()), vec![samples(&usage)]);
            let mut h = History::default();
            for (r, ago) in prior {
                h.recommendations.push(swell_pod_autoscaler::behavior::TimestampedRecommendation {
                    replicas: r,
                    timestamp: now() - SignedDuration::from_secs(ago),
                });
            }
            let mut h2 = h.clone();
            let a = decide(&i, &p, &ControllerConfig::default(), &mut h, now());
            let b = decide(&i, &p, &ControllerConfig::default(), &mut h2, now());
            prop_assert_eq!(a, b);
            prop_assert_eq!(h, h2);
        }
    }
}

/// From API objects to a decision: an HPA spec through `HpaPolicy::from_spec`, k8s Pods through
/// `PodInfo::from_pod` (requests summed over containers and sidecars), samples, `decide`.
#[test]
fn api_objects_flow_through_policy_digest_and_decision() {
    use k8s_openapi::api::autoscaling::v2::HorizontalPodAutoscalerSpec;
    use swell_core::testing;
    use swell_pod_autoscaler::input::RequestKey;

    let spec: HorizontalPodAutoscalerSpec = serde_json::from_value(serde_json::json!({
        "scaleTargetRef": {"apiVersion": "apps/v1", "kind": "Deployment", "name": "web"},
        "maxReplicas": 10,
        "metrics": [{"type": "Resource", "resource": {"name": "cpu", "target": {"type": "Utilization", "averageUtilization": 50}}}]
    }))
    .unwrap();
    let cfg = ControllerConfig::default();
    let p = HpaPolicy::from_spec(&spec, &cfg).unwrap();
    let keys = RequestKey::for_policy(&p);
    // 400m in the app container plus a 100m sidecar: 500m per pod.
    let k8s_pods: Vec<_> = (0..4)
        .map(|i| {
            testing::pod(&format!("web-{i}"))
                .container("app", &[("cpu", "400m")])
                .sidecar("proxy", &[("cpu", "100m")])
                .started_at(t0())
                .ready_since(t0())
                .build()
        })
        .collect();
    let infos: Vec<PodInfo> = k8s_pods
        .iter()
        .map(|pod| PodInfo::from_pod(pod, &keys, &cfg))
        .collect();
    assert_eq!(infos[0].requests, vec![Ok(500)]);
    // 400m used of 500m requested: 80% against 50% -> ratio 1.6 -> ceil(1.6 * 4) = 7.
    let i = input(4, infos, vec![samples(&[400, 400, 400, 400])]);
    let d = decide(&i, &p, &cfg, &mut History::default(), now());
    assert_eq!(d.desired_replicas, 7);
    assert_eq!(
        d.status.current_metrics[0]
            .resource
            .as_ref()
            .unwrap()
            .current
            .average_utilization,
        Some(80)
    );
}

/// A pod without a cpu request makes the utilization metric fail with upstream's message.
#[test]
fn a_container_without_a_request_fails_the_utilization_metric() {
    use swell_core::testing;
    use swell_pod_autoscaler::input::RequestKey;

    let cfg = ControllerConfig::default();
    let p = policy(1, 10, vec![cpu(50)]);
    let keys = RequestKey::for_policy(&p);
    let k8s_pod = testing::pod("web-0")
        .container("app", &[("memory", "64Mi")])
        .build();
    let info = PodInfo::from_pod(&k8s_pod, &keys, &cfg);
    let i = input(1, vec![info], vec![samples(&[100])]);
    let d = decide(&i, &p, &cfg, &mut History::default(), now());
    assert!(!d.rescale);
    assert_eq!(
        d.events[0].message,
        "failed to get cpu utilization: missing request for cpu in container app of Pod web-0"
    );
}

#[test]
fn the_text_explanation_walks_through_the_numbers() {
    let p = HpaPolicy {
        behavior: Some(default_behavior()),
        ..policy(1, 10, vec![cpu(30)])
    };
    let mut ps = pods(4);
    ps[3].phase = PodPhase::Pending;
    let i = input(4, ps, vec![samples(&[300, 500, 700])]);
    let d = decide(
        &i,
        &p,
        &ControllerConfig::default(),
        &mut History::default(),
        now(),
    );
    let text = swell_pod_autoscaler::explain::render(&d);
    for want in [
        "HPA shop/web at 2026-01-01T01:00:00Z",
        "current replicas 4 (min 1, max 10), tolerance -0.1/+0.1",
        "metric 1  Resource \"cpu resource utilization (percentage of request)\"  target 30% of requests",
        "utilization 50% (average 500m), ratio 1.667 (tolerance band 0.900..1.100)",
        "pods: 3 ready, 1 unready, 0 missing, 0 ignored",
        "second pass: missing pods left out, unready pods counted at 0; ratio 1.233",
        "-> 5 replicas: ceil(1.233 x 4 samples after filling)",
        "proposal: 5 replicas (highest, from \"cpu resource utilization (percentage of request)\")",
        "policy Pods 4 per 15s: 4 replicas at the start of the period -> bound 8",
        "limits: 5 (DesiredWithinRange), not clamped",
        "decision: scale 4 -> 5 (cpu resource utilization (percentage of request) above target)",
        "condition ScalingActive=True ValidMetricFound",
    ] {
        assert!(text.contains(want), "missing {want:?} in:\n{text}");
    }
}

#[test]
fn the_text_explanation_names_the_gate_and_the_failure() {
    let p = policy(1, 10, vec![cpu(50)]);
    let i = input(3, pods(3), vec![MetricInput::Pods(Err("boom".into()))]);
    let d = decide(
        &i,
        &p,
        &ControllerConfig::default(),
        &mut History::default(),
        now(),
    );
    let text = swell_pod_autoscaler::explain::render(&d);
    assert!(text.contains("gate: metrics failed"), "{text}");
    assert!(
        text.contains("failed (FailedGetResourceMetric): failed to get cpu utilization"),
        "{text}"
    );
    assert!(text.contains("decision: keep 3 replicas"), "{text}");
}
