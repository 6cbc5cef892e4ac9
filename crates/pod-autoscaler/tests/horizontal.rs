//! Whole reconciles ported from upstream `pkg/controller/podautoscaler/horizontal_test.go`
//! (kubernetes/kubernetes, the 1.36/1.37 generation with `Tolerances`, `ScaledToZero` and
//! `AmbiguousSelector`), decided by [`decide`] and finished by [`Decision::complete`].
//!
//! Upstream drives a fake client: N pods with per-pod usage (`reportedLevels`), CPU requests,
//! readiness, start times and phases; a scale subresource with `specReplicas`/`statusReplicas`; and
//! checks the replica count written to the scale, the status `desiredReplicas`, the ordered list of
//! condition (type, status, reason) and, in some tests, the events. [`Fx`] rebuilds that fixture:
//!
//! - every upstream pod has two containers, each requesting `request / 2` and using `level / 2`
//!   (integer halves), so a pod's CPU sample is `2 * (level / 2)` and its request `2 * (request / 2)`;
//!   a ContainerResource metric sees one half of each;
//! - custom (Pods) metrics report `level` milli-units per pod, Object metrics `levels[0]`, External
//!   metrics one series per level (summed);
//! - a pod's Ready condition changed when it started; "hot" pods started now, "cool" pods 3 minutes
//!   ago, other pods long ago (Go's zero time in upstream);
//! - upstream's test constants are a CPU initialization period of 2 minutes and an initial readiness
//!   delay of 10 seconds ([`cfg`]); tolerance 0.1 and the 5 minute downscale window are production's.
//!
//! Two deliberate translations:
//!
//! - Upstream distinguishes a `nil` recommendation log (the first reconcile records the current
//!   replica count, which holds a scale-down for 5 minutes) from an empty one
//!   (`recommendations: []timestampedRecommendation{}`, nothing recorded). [`History`] has only
//!   "empty", which behaves as upstream's `nil`; upstream's empty log is [`emptied`]: one stale
//!   recommendation, outside every window, which the first decision overwrites.
//! - Upstream's `init()` sets `scaleUpLimitFactor = 8` for its tests; Swell uses production's
//!   `max(2 x current, 4)`. No ported case changes because of it except the pre-behavior
//!   `TestUpscaleCap` pair, which is kept twice: once as upstream has it now (with a 700% scale-up
//!   policy, factor-independent) and once recomputed with the production factor.
//!
//! Upstream's invalid metric type (`CheddarCheese`) has no representation in [`MetricSource`];
//! where a test mixes it with a valid metric, a metric whose fetch fails stands in (same rule:
//! partial failure), and `TestInvalidMetricSourceType` / `TestScaleUpBothMetricsEmpty` are not
//! ported. Tests about the work queue, Prometheus counters and the scale GET (`FailedGetScale`) are
//! outside the decision core.

// Fixture helpers outside #[test] functions unwrap constants (timestamps, JSON specs); a bad
// fixture should fail loudly.
#![allow(clippy::unwrap_used)]

use jiff::{SignedDuration, Timestamp};
use k8s_openapi::{
    api::autoscaling::v2::{CrossVersionObjectReference, HorizontalPodAutoscalerSpec, MetricIdentifier},
    apimachinery::pkg::apis::meta::v1::LabelSelector,
};
use swell_core::{
    conditions::Condition,
    pod::{ConditionStatus, PodPhase, ReadyCondition},
};
use swell_pod_autoscaler::{
    ControllerConfig, Decision, History, HpaInput, HpaKey, HpaPolicy, MetricInput, PodInfo, PodSample,
    PodSamples, ScaleTarget,
    behavior::{ScaleEvent, TimestampedRecommendation},
    decide,
    policy::{
        BehaviorPolicy, MetricPolicy, MetricSource, PolicyKind, ScalingPolicy, ScalingRules, SelectPolicy,
        Target, Tolerances,
    },
    status::{EventType, HpaStatus},
};

use ConditionStatus::{False, True};
use PodPhase::{Failed, Running};

// ---------------------------------------------------------------------------------------------
// Clock and controller configuration
// ---------------------------------------------------------------------------------------------

fn t0() -> Timestamp {
    "2026-01-01T00:00:00Z".parse().unwrap()
}

/// The decision time of every table case (an hour after `t0`, where "old" pods started).
fn now() -> Timestamp {
    t0() + SignedDuration::from_secs(3600)
}

fn secs_ago(secs: i64) -> Timestamp {
    now() - SignedDuration::from_secs(secs)
}

fn later(secs: i64) -> Timestamp {
    now() + SignedDuration::from_secs(secs)
}

/// Upstream's test controller: `defaultTestingCPUInitializationPeriod` (2m) and
/// `defaultTestingDelayOfInitialReadinessStatus` (10s); everything else as production.
fn cfg() -> ControllerConfig {
    ControllerConfig {
        cpu_initialization_period: SignedDuration::from_secs(120),
        initial_readiness_delay: SignedDuration::from_secs(10),
        ..ControllerConfig::default()
    }
}

/// [`cfg`] with feature gate `HPAScaleToZero` set.
fn cfg_zero(gate: bool) -> ControllerConfig {
    ControllerConfig {
        scale_to_zero: gate,
        ..cfg()
    }
}

// ---------------------------------------------------------------------------------------------
// Recommendation history
// ---------------------------------------------------------------------------------------------

/// Upstream's `recommendations: []timestampedRecommendation{}` (an empty, non-nil log): nothing is
/// recorded for the current count. One recommendation a day old, stale for every window, keeps
/// [`History::record_initial`] from recording and is overwritten by the decision.
fn emptied() -> History {
    History {
        recommendations: vec![TimestampedRecommendation {
            replicas: 1000,
            timestamp: secs_ago(86_400),
        }],
        ..History::default()
    }
}

/// A recommendation log of (replicas, seconds before now).
fn recommendations(recs: &[(i32, i64)]) -> History {
    History {
        recommendations: recs
            .iter()
            .map(|&(replicas, ago)| TimestampedRecommendation {
                replicas,
                timestamp: secs_ago(ago),
            })
            .collect(),
        ..History::default()
    }
}

// ---------------------------------------------------------------------------------------------
// The upstream fixture
// ---------------------------------------------------------------------------------------------

/// When a pod started (its Ready condition changed at the same moment, as upstream's fixture has it).
#[derive(Clone, Copy, Debug)]
enum Start {
    /// Long ago: past the CPU initialization period (upstream's zero `metav1.Time`).
    Old,
    /// Now: inside the CPU initialization period (`hotCPUCreationTime`).
    Hot,
    /// Three minutes ago: past the 2 minute test initialization period (`coolCPUCreationTime`).
    Cool,
}

impl Start {
    fn at(self) -> Timestamp {
        match self {
            Start::Old => t0(),
            Start::Hot => now(),
            Start::Cool => secs_ago(180),
        }
    }
}

use Start::{Cool, Hot};

/// Upstream's `testCase` / `horizontalScenario` fields that shape the world.
#[derive(Clone, Debug)]
struct Fx {
    min: i32,
    max: i32,
    spec: i32,
    status: i32,
    /// `reportedLevels`.
    levels: Vec<i64>,
    /// `reportedCPURequests` in milli; `None` gives `status` pods requesting 1 cpu.
    requests: Option<Vec<i64>>,
    /// `reportedPodReadiness` (default True).
    readiness: Option<Vec<ConditionStatus>>,
    /// `reportedPodStartTime` (default long ago).
    start: Option<Vec<Start>>,
    /// `reportedPodPhase` (default Running).
    phase: Option<Vec<PodPhase>>,
    /// `reportedPodDeletionTimestamp` (default false).
    deleting: Option<Vec<bool>>,
}

fn fx(min: i32, max: i32, spec: i32, status: i32) -> Fx {
    Fx {
        min,
        max,
        spec,
        status,
        levels: Vec::new(),
        requests: None,
        readiness: None,
        start: None,
        phase: None,
        deleting: None,
    }
}

impl Fx {
    fn levels(mut self, levels: &[i64]) -> Self {
        self.levels = levels.to_vec();
        self
    }

    fn requests(mut self, requests: &[i64]) -> Self {
        self.requests = Some(requests.to_vec());
        self
    }

    fn readiness(mut self, readiness: &[ConditionStatus]) -> Self {
        self.readiness = Some(readiness.to_vec());
        self
    }

    fn start(mut self, start: &[Start]) -> Self {
        self.start = Some(start.to_vec());
        self
    }

    fn phase(mut self, phase: &[PodPhase]) -> Self {
        self.phase = Some(phase.to_vec());
        self
    }

    fn deleting(mut self, deleting: &[bool]) -> Self {
        self.deleting = Some(deleting.to_vec());
        self
    }

    fn pod_count(&self) -> usize {
        match &self.requests {
            Some(r) => r.len(),
            None => usize::try_from(self.status).unwrap(),
        }
    }

    /// The pods; `per_container` gives each the request of one of its two containers (for a
    /// ContainerResource metric), otherwise the pod's sum.
    fn pods(&self, per_container: bool) -> Vec<PodInfo> {
        (0..self.pod_count())
            .map(|i| {
                let half = self.requests.as_ref().map_or(1000, |r| r[i]) / 2;
                let start = self.start.as_ref().map_or(Start::Old, |s| s[i]).at();
                PodInfo {
                    name: pod_name(i),
                    phase: self.phase.as_ref().map_or(Running, |p| p[i]),
                    terminating: self.deleting.as_ref().is_some_and(|d| d[i]),
                    ready: Some(ReadyCondition {
                        status: self.readiness.as_ref().map_or(True, |r| r[i]),
                        last_transition_time: Some(start),
                    }),
                    start_time: Some(start),
                    requests: vec![Ok(if per_container { half } else { 2 * half })],
                }
            })
            .collect()
    }

    fn samples(&self, value: impl Fn(i64) -> i64) -> MetricInput {
        MetricInput::Pods(Ok(PodSamples::new(
            self.levels
                .iter()
                .enumerate()
                .map(|(i, level)| PodSample {
                    pod: pod_name(i),
                    value: value(*level),
                    timestamp: now(),
                    window: SignedDuration::from_secs(60),
                })
                .collect(),
        )))
    }

    /// metrics.k8s.io CPU of the whole pod: two containers each using `level / 2`.
    fn cpu_samples(&self) -> MetricInput {
        self.samples(|level| level / 2 * 2)
    }

    /// metrics.k8s.io CPU of one container.
    fn container_samples(&self) -> MetricInput {
        self.samples(|level| level / 2)
    }

    /// custom.metrics.k8s.io per-pod values.
    fn custom_samples(&self) -> MetricInput {
        self.samples(|level| level)
    }

    /// custom.metrics.k8s.io object value: the first level.
    fn object_value(&self) -> MetricInput {
        MetricInput::Object(Ok(self.levels[0]))
    }

    /// external.metrics.k8s.io: one series per level.
    fn external_values(&self) -> MetricInput {
        MetricInput::External(Ok(self.levels.clone()))
    }

    fn build_input(&self, per_container: bool, metrics: Vec<MetricInput>) -> HpaInput {
        let mut input = HpaInput::new(
            HpaKey::new("test-namespace", "test-hpa"),
            ScaleTarget {
                spec_replicas: self.spec,
                status_replicas: self.status,
                selector: "name=test-pod".into(),
            },
            self.pods(per_container),
            metrics,
        );
        // Upstream's fixture status: desiredReplicas = specReplicas.
        input.previous_desired_replicas = self.spec;
        input
    }

    fn input(&self, metrics: Vec<MetricInput>) -> HpaInput {
        self.build_input(false, metrics)
    }

    fn container_input(&self, metrics: Vec<MetricInput>) -> HpaInput {
        self.build_input(true, metrics)
    }
}

fn pod_name(i: usize) -> String {
    format!("test-pod-{i}")
}

fn failing_pods() -> MetricInput {
    MetricInput::Pods(Err("something went wrong".into()))
}

fn failing_object() -> MetricInput {
    MetricInput::Object(Err("something went wrong".into()))
}

fn failing_external() -> MetricInput {
    MetricInput::External(Err("something went wrong".into()))
}

fn tweak<T>(mut value: T, f: impl FnOnce(&mut T)) -> T {
    f(&mut value);
    value
}

// ---------------------------------------------------------------------------------------------
// Policies
// ---------------------------------------------------------------------------------------------

/// The fixture's HPA: target `v1 ReplicationController test-rc`, no behavior, the flag tolerance.
fn hpa(f: &Fx, metrics: Vec<MetricPolicy>) -> HpaPolicy {
    HpaPolicy {
        scale_target_ref: CrossVersionObjectReference {
            api_version: Some("v1".into()),
            kind: "ReplicationController".into(),
            name: "test-rc".into(),
        },
        min_replicas: f.min,
        max_replicas: f.max,
        metrics,
        behavior: None,
        tolerances: Tolerances::symmetric(0.1),
    }
}

fn with_behavior(policy: HpaPolicy, behavior: BehaviorPolicy) -> HpaPolicy {
    HpaPolicy {
        behavior: Some(behavior),
        ..policy
    }
}

fn cpu(target: i32) -> MetricPolicy {
    MetricPolicy {
        source: MetricSource::Resource { name: "cpu".into() },
        target: Target::Utilization(target),
    }
}

fn container_cpu(container: &str, target: i32) -> MetricPolicy {
    MetricPolicy {
        source: MetricSource::ContainerResource {
            name: "cpu".into(),
            container: container.into(),
        },
        target: Target::Utilization(target),
    }
}

fn qps_pods(average_milli: i64) -> MetricPolicy {
    MetricPolicy {
        source: MetricSource::Pods {
            metric: MetricIdentifier {
                name: "qps".into(),
                selector: None,
            },
        },
        target: Target::AverageValue(average_milli),
    }
}

fn qps_object(target: Target) -> MetricPolicy {
    MetricPolicy {
        source: MetricSource::Object {
            described_object: CrossVersionObjectReference {
                api_version: Some("apps/v1".into()),
                kind: "Deployment".into(),
                name: "some-deployment".into(),
            },
            metric: MetricIdentifier {
                name: "qps".into(),
                selector: None,
            },
        },
        target,
    }
}

fn qps_external(target: Target) -> MetricPolicy {
    MetricPolicy {
        source: MetricSource::External {
            metric: MetricIdentifier {
                name: "qps".into(),
                selector: Some(LabelSelector::default()),
            },
        },
        target,
    }
}

/// Upstream's `generateScalingRules`: selectPolicy Max, the given window, a Pods and/or a Percent
/// policy (each `(value, periodSeconds)`).
fn rules(pods: Option<(i32, i32)>, percent: Option<(i32, i32)>, window: i32) -> ScalingRules {
    let mut policies = Vec::new();
    if let Some((value, period_seconds)) = pods {
        policies.push(ScalingPolicy {
            kind: PolicyKind::Pods,
            value,
            period_seconds,
        });
    }
    if let Some((value, period_seconds)) = percent {
        policies.push(ScalingPolicy {
            kind: PolicyKind::Percent,
            value,
            period_seconds,
        });
    }
    ScalingRules {
        stabilization_window_seconds: window,
        select_policy: SelectPolicy::Max,
        policies,
    }
}

/// API defaults for a direction the spec leaves unset (scale-down window: the 5m controller flag).
fn default_scale_up() -> ScalingRules {
    rules(Some((4, 15)), Some((100, 15)), 0)
}

fn default_scale_down() -> ScalingRules {
    rules(None, Some((100, 15)), 300)
}

// ---------------------------------------------------------------------------------------------
// Expected conditions, in upstream's words
// ---------------------------------------------------------------------------------------------

type Cond = (&'static str, ConditionStatus, &'static str);

/// Upstream's `statusOk`.
fn status_ok() -> Vec<Cond> {
    vec![
        ("AbleToScale", True, "SucceededRescale"),
        ("ScalingActive", True, "ValidMetricFound"),
        ("ScalingLimited", False, "DesiredWithinRange"),
    ]
}

/// Upstream's `statusOkWithOverrides`: replace a condition of the same type in place, else append.
fn ok_with(overrides: &[Cond]) -> Vec<Cond> {
    let mut list = status_ok();
    for o in overrides {
        match list.iter_mut().find(|c| c.0 == o.0) {
            Some(c) => *c = *o,
            None => list.push(*o),
        }
    }
    list
}

/// `statusOk` with `AbleToScale=True/ReadyForNewScale`: metrics computed, nothing to do.
fn not_scaled() -> Vec<Cond> {
    ok_with(&[("AbleToScale", True, "ReadyForNewScale")])
}

fn disabled() -> Vec<Cond> {
    vec![
        ("AbleToScale", True, "SucceededGetScale"),
        ("ScalingActive", False, "ScalingDisabled"),
    ]
}

fn failed(reason: &'static str) -> Vec<Cond> {
    vec![
        ("AbleToScale", True, "SucceededGetScale"),
        ("ScalingActive", False, reason),
    ]
}

fn scaled_to_zero_condition() -> Condition {
    Condition {
        type_: "ScaledToZero".into(),
        status: True,
        reason: "ScaledToZero".into(),
        message: "the HPA controller scaled the workload to zero".into(),
        last_transition_time: Some(secs_ago(600)),
    }
}

fn conditions_of(status: &HpaStatus) -> Vec<(String, ConditionStatus, String)> {
    status
        .conditions
        .iter()
        .map(|c| (c.type_.clone(), c.status, c.reason.clone()))
        .collect()
}

fn owned(conds: &[Cond]) -> Vec<(String, ConditionStatus, String)> {
    conds
        .iter()
        .map(|(t, s, r)| (t.to_string(), *s, r.to_string()))
        .collect()
}

fn cpu_utilization(status: &HpaStatus) -> Option<i32> {
    status
        .current_metrics
        .iter()
        .filter_map(|m| m.resource.as_ref())
        .find(|r| r.name == "cpu")
        .and_then(|r| r.current.average_utilization)
}

// ---------------------------------------------------------------------------------------------
// The case table
// ---------------------------------------------------------------------------------------------

/// One upstream reconcile: decide on `history`, write the scale (with `write`), complete.
struct Case {
    name: &'static str,
    /// The upstream test (and subtest) this ports.
    upstream: &'static str,
    policy: HpaPolicy,
    input: HpaInput,
    cfg: ControllerConfig,
    history: History,
    /// The scale write's result when there is one.
    write: Result<(), String>,
    /// The replica count written to the scale subresource, if any.
    want_scale: Option<i32>,
    /// `status.desiredReplicas` as written.
    want_desired: i32,
    /// `status.conditions` as written: (type, status, reason), in order.
    want_conditions: Vec<Cond>,
    /// Event reasons, in order, when the case pins them.
    want_events: Option<Vec<&'static str>>,
    /// `status.currentMetrics` cpu `averageUtilization`, when the case pins it (`verifyCPUCurrent`).
    want_utilization: Option<i32>,
}

fn base(name: &'static str, upstream: &'static str, policy: HpaPolicy, input: HpaInput) -> Case {
    let spec = input.scale.spec_replicas;
    Case {
        name,
        upstream,
        policy,
        input,
        cfg: cfg(),
        history: History::default(),
        write: Ok(()),
        want_scale: None,
        want_desired: spec,
        want_conditions: Vec::new(),
        want_events: None,
        want_utilization: None,
    }
}

fn run(cases: Vec<Case>) -> usize {
    let n = cases.len();
    for c in cases {
        let label = format!("{} [{}]", c.name, c.upstream);
        assert!(
            !c.want_conditions.is_empty(),
            "{label}: the case pins no conditions"
        );
        let mut history = c.history.clone();
        let d = decide(&c.input, &c.policy, &c.cfg, &mut history, now());
        assert_eq!(
            d.rescale.then_some(d.desired_replicas),
            c.want_scale,
            "{label}: scale write"
        );
        let done = d.complete(c.write.clone(), &mut history, &c.policy);
        assert_eq!(
            done.status.desired_replicas, c.want_desired,
            "{label}: status desiredReplicas"
        );
        assert_eq!(
            done.status.current_replicas, c.input.scale.spec_replicas,
            "{label}: status currentReplicas"
        );
        assert_eq!(
            conditions_of(&done.status),
            owned(&c.want_conditions),
            "{label}: conditions"
        );
        if let Some(events) = &c.want_events {
            let got: Vec<&str> = done.events.iter().map(|e| e.reason.as_str()).collect();
            assert_eq!(&got, events, "{label}: events");
        }
        if let Some(u) = c.want_utilization {
            assert_eq!(cpu_utilization(&done.status), Some(u), "{label}: cpu utilization");
        }
        let scaled = d.rescale && c.write.is_ok();
        let want_time = if scaled {
            Some(now())
        } else {
            c.input.last_scale_time
        };
        assert_eq!(done.status.last_scale_time, want_time, "{label}: lastScaleTime");
    }
    n
}

// ---------------------------------------------------------------------------------------------
// CPU utilization
// ---------------------------------------------------------------------------------------------

fn cpu_scale_up_cases() -> Vec<Case> {
    let up = fx(2, 6, 3, 3).levels(&[300, 500, 700]).requests(&[1000; 3]);
    let two_of_four = fx(2, 6, 2, 2)
        .levels(&[500, 700])
        .requests(&[1000; 4])
        .readiness(&[True, True, False, False]);
    let within = fx(2, 6, 3, 3)
        .levels(&[400, 500, 700])
        .requests(&[1000; 3])
        .readiness(&[True, False, False]);
    vec![
        Case {
            want_scale: Some(5),
            want_desired: 5,
            want_conditions: status_ok(),
            want_events: Some(vec!["SuccessfulRescale"]),
            want_utilization: Some(50),
            ..base(
                "three pods at 50% of request against a 30% target scale to five",
                "TestScaleUpCPU/scale up",
                hpa(&up, vec![cpu(30)]),
                up.input(vec![up.cpu_samples()]),
            )
        },
        {
            let f = up.clone().readiness(&[False, True, True]);
            Case {
                want_scale: Some(4),
                want_desired: 4,
                want_conditions: status_ok(),
                want_utilization: Some(60),
                ..base(
                    "an unready pod counts as idle on a scale-up, so three pods go to four, not six",
                    "TestScaleUpCPU/scale up with unready pods results in less scale",
                    hpa(&f, vec![cpu(30)]),
                    f.input(vec![f.cpu_samples()]),
                )
            }
        },
        {
            let f = up.clone().start(&[Hot, Cool, Cool]);
            Case {
                want_scale: Some(4),
                want_desired: 4,
                want_conditions: status_ok(),
                want_utilization: Some(60),
                ..base(
                    "a pod inside the cpu initialization period counts as idle on a scale-up",
                    "TestScaleUpCPU/scale up with hot cpu pods results in less scale",
                    hpa(&f, vec![cpu(30)]),
                    f.input(vec![f.cpu_samples()]),
                )
            }
        },
        {
            let f = two_of_four.clone().phase(&[Running, Running, Failed, Failed]);
            Case {
                want_scale: Some(4),
                want_desired: 4,
                want_conditions: status_ok(),
                want_utilization: Some(60),
                ..base(
                    "failed pods are ignored: two running pods at 60% against 30% scale to four",
                    "TestScaleUpCPU/scale up ignores failed pods (TestScaleUpIgnoresFailedPods)",
                    hpa(&f, vec![cpu(30)]),
                    f.input(vec![f.cpu_samples()]),
                )
            }
        },
        {
            let f = two_of_four.clone().deleting(&[false, false, true, true]);
            Case {
                want_scale: Some(4),
                want_desired: 4,
                want_conditions: status_ok(),
                want_utilization: Some(60),
                ..base(
                    "pods being deleted are ignored like failed ones",
                    "TestScaleUpCPU/scale up ignores deletion pods",
                    hpa(&f, vec![cpu(30)]),
                    f.input(vec![f.cpu_samples()]),
                )
            }
        },
        Case {
            want_scale: Some(5),
            want_desired: 5,
            want_conditions: status_ok(),
            ..base(
                "a Deployment target scales like a ReplicationController",
                "TestScaleUpCPU/scale up deployment",
                tweak(hpa(&up, vec![cpu(30)]), |p| {
                    p.scale_target_ref = CrossVersionObjectReference {
                        api_version: Some("apps/v1".into()),
                        kind: "Deployment".into(),
                        name: "test-dep".into(),
                    };
                }),
                up.input(vec![up.cpu_samples()]),
            )
        },
        Case {
            want_conditions: not_scaled(),
            want_events: Some(vec![]),
            want_utilization: Some(40),
            ..base(
                "no scale-up when counting the unready pods as idle brings the ratio back below one",
                "TestScaleUpCPU/no scale up when all unready pods bring utilization within target",
                hpa(&within, vec![cpu(30)]),
                within.input(vec![within.cpu_samples()]),
            )
        },
        {
            let f = within.clone().start(&[Cool, Hot, Hot]);
            Case {
                want_conditions: not_scaled(),
                want_utilization: Some(40),
                ..base(
                    "no scale-up when hot unready pods, counted as idle, flip the direction",
                    "TestScaleUpUnreadyOrHotCpuNoScale/hot CPU pods excluded from scaling",
                    hpa(&f, vec![cpu(30)]),
                    f.input(vec![f.cpu_samples()]),
                )
            }
        },
    ]
}

fn cpu_scale_down_cases() -> Vec<Case> {
    let down = fx(2, 6, 5, 5)
        .levels(&[100, 300, 500, 250, 250])
        .requests(&[1000; 5]);
    let seven = down
        .clone()
        .requests(&[1000; 7])
        .readiness(&[True, True, True, True, True, False, False]);
    vec![
        Case {
            history: emptied(),
            want_scale: Some(3),
            want_desired: 3,
            want_conditions: status_ok(),
            want_events: Some(vec!["SuccessfulRescale"]),
            want_utilization: Some(28),
            ..base(
                "five pods at 28% against 50% scale down to three",
                "TestScaleDownCPU/scale down",
                hpa(&down, vec![cpu(50)]),
                down.input(vec![down.cpu_samples()]),
            )
        },
        {
            let f = down.clone().readiness(&[True, True, True, False, False]);
            Case {
                history: emptied(),
                want_scale: Some(2),
                want_desired: 2,
                want_conditions: status_ok(),
                want_utilization: Some(30),
                ..base(
                    "on a scale-down unready pods are left out: three ready pods at 30% give two",
                    "TestScaleDownCPU/scale down includes unready pods (TestScaleDownIncludeUnreadyPods)",
                    hpa(&f, vec![cpu(50)]),
                    f.input(vec![f.cpu_samples()]),
                )
            }
        },
        {
            let f = down.clone().start(&[Cool, Cool, Cool, Hot, Hot]);
            Case {
                history: emptied(),
                want_scale: Some(2),
                want_desired: 2,
                want_conditions: status_ok(),
                want_utilization: Some(30),
                ..base(
                    "on a scale-down hot pods are left out too",
                    "TestScaleDownCPU/scale down ignores hot cpu pods",
                    hpa(&f, vec![cpu(50)]),
                    f.input(vec![f.cpu_samples()]),
                )
            }
        },
        {
            let f = seven
                .clone()
                .phase(&[Running, Running, Running, Running, Running, Failed, Failed]);
            Case {
                history: emptied(),
                want_scale: Some(3),
                want_desired: 3,
                want_conditions: status_ok(),
                want_utilization: Some(28),
                ..base(
                    "failed pods do not drag a scale-down further",
                    "TestScaleDownCPU/scale down ignores failed pods",
                    hpa(&f, vec![cpu(50)]),
                    f.input(vec![f.cpu_samples()]),
                )
            }
        },
        {
            let f = seven
                .clone()
                .deleting(&[false, false, false, false, false, true, true]);
            Case {
                history: emptied(),
                want_scale: Some(3),
                want_desired: 3,
                want_conditions: status_ok(),
                want_utilization: Some(28),
                ..base(
                    "pods being deleted do not drag a scale-down further",
                    "TestScaleDownCPU/scale down ignores deletion pods",
                    hpa(&f, vec![cpu(50)]),
                    f.input(vec![f.cpu_samples()]),
                )
            }
        },
        Case {
            want_conditions: ok_with(&[("AbleToScale", True, "ScaleDownStabilized")]),
            want_events: Some(vec![]),
            want_utilization: Some(28),
            ..base(
                "on first sight the current count is a recommendation that holds a scale-down",
                "TestScaleDownStabilizeInitialSize",
                hpa(&down, vec![cpu(50)]),
                down.input(vec![down.cpu_samples()]),
            )
        },
    ]
}

fn container_resource_cases() -> Vec<Case> {
    let up = fx(2, 6, 3, 3).levels(&[300, 500, 700]).requests(&[1000; 3]);
    let down = fx(2, 6, 5, 5)
        .levels(&[100, 300, 500, 250, 250])
        .requests(&[1000; 5]);
    vec![
        Case {
            want_scale: Some(5),
            want_desired: 5,
            want_conditions: status_ok(),
            ..base(
                "one container at 50% of its request against 30% scales three pods to five",
                "TestScaleContainerResource/scale up container resource (TestScaleUpContainer)",
                hpa(&up, vec![container_cpu("container1", 30)]),
                up.container_input(vec![up.container_samples()]),
            )
        },
        Case {
            history: emptied(),
            want_scale: Some(3),
            want_desired: 3,
            want_conditions: status_ok(),
            ..base(
                "one container at 28% of its request against 50% scales five pods to three",
                "TestScaleContainerResource/scale down container resource",
                hpa(&down, vec![container_cpu("container2", 50)]),
                down.container_input(vec![down.container_samples()]),
            )
        },
    ]
}

// ---------------------------------------------------------------------------------------------
// Pods, Object and External metrics
// ---------------------------------------------------------------------------------------------

fn custom_metric_cases() -> Vec<Case> {
    let cm = fx(2, 6, 3, 3).requests(&[1000; 3]);
    let a = cm.clone().levels(&[20_000, 10_000, 30_000]);
    let b = cm
        .clone()
        .levels(&[50_000, 10_000, 30_000])
        .readiness(&[True, True, False])
        .start(&[Cool, Cool, Hot]);
    let c = cm
        .clone()
        .levels(&[50_000, 15_000, 30_000])
        .readiness(&[False, True, False])
        .start(&[Hot, Cool, Hot]);
    let d = cm
        .clone()
        .levels(&[50_000, 15_000, 30_000])
        .start(&[Hot, Cool, Hot]);
    vec![
        Case {
            want_scale: Some(4),
            want_desired: 4,
            want_conditions: status_ok(),
            ..base(
                "a per-pod custom metric averaging 20 against 15 scales three pods to four",
                "TestScaleUpCM/scale up custom metric",
                hpa(&a, vec![qps_pods(15_000)]),
                a.input(vec![a.custom_samples()]),
            )
        },
        Case {
            want_scale: Some(6),
            want_desired: 6,
            want_conditions: status_ok(),
            ..base(
                "unready and hot pods count fully for a custom metric: 30 against 15 gives six",
                "TestScaleUpCM/unready and hot cpu pods do not reduce scale for custom metric (TestScaleUpCMUnreadyAndHotCpuNoLessScale)",
                hpa(&b, vec![qps_pods(15_000)]),
                b.input(vec![b.custom_samples()]),
            )
        },
        Case {
            want_scale: Some(6),
            want_desired: 6,
            want_conditions: ok_with(&[("ScalingLimited", True, "TooManyReplicas")]),
            ..base(
                "a custom metric asking for seven is clamped to the six allowed",
                "TestScaleUpCM/unready and hot cpu pods scale to max with scaling limited condition (TestScaleUpCMUnreadyandCpuHot)",
                hpa(&c, vec![qps_pods(15_000)]),
                c.input(vec![c.custom_samples()]),
            )
        },
        Case {
            want_scale: Some(6),
            want_desired: 6,
            want_conditions: ok_with(&[("ScalingLimited", True, "TooManyReplicas")]),
            ..base(
                "hot pods are not dropped for a custom metric, so it still scales up to max",
                "TestScaleUpHotCpuNoScaleWouldScaleDown",
                hpa(&d, vec![qps_pods(15_000)]),
                d.input(vec![d.custom_samples()]),
            )
        },
    ]
}

fn object_and_external_scale_up_cases() -> Vec<Case> {
    let base_fx = fx(2, 6, 3, 3);
    let obj = base_fx.clone().levels(&[20_000]);
    let obj_avg = base_fx.clone().levels(&[40_000]);
    let ext = base_fx.clone().levels(&[8600]);
    vec![
        Case {
            want_scale: Some(4),
            want_desired: 4,
            want_conditions: status_ok(),
            ..base(
                "an object value of 20 against 15 scales three ready pods to four",
                "TestScaleUpCMObject/scale up object metric with value target",
                hpa(&obj, vec![qps_object(Target::Value(15_000))]),
                obj.input(vec![obj.object_value()]),
            )
        },
        Case {
            want_scale: Some(4),
            want_desired: 4,
            want_conditions: status_ok(),
            ..base(
                "an object total of 40 against an average of 10 per pod asks for four",
                "TestScaleUpCMObject/scale up per-pod object metric with average value target (TestScaleUpPerPodCMObject)",
                hpa(&obj_avg, vec![qps_object(Target::AverageValue(10_000))]),
                obj_avg.input(vec![obj_avg.object_value()]),
            )
        },
        Case {
            want_scale: Some(4),
            want_desired: 4,
            want_conditions: status_ok(),
            ..base(
                "an external value of 8.6 against 6.666 scales three pods to four",
                "TestScaleUpCMExternal/scale up external metric with value target",
                hpa(&ext, vec![qps_external(Target::Value(6666))]),
                ext.input(vec![ext.external_values()]),
            )
        },
        Case {
            want_scale: Some(4),
            want_desired: 4,
            want_conditions: status_ok(),
            ..base(
                "an external total of 8.6 against 2.222 per pod asks for four",
                "TestScaleUpCMExternal/scale up external metric with per-pod average value target (TestScaleUpPerPodCMExternal)",
                hpa(&ext, vec![qps_external(Target::AverageValue(2222))]),
                ext.input(vec![ext.external_values()]),
            )
        },
    ]
}

fn custom_metric_scale_down_cases() -> Vec<Case> {
    let five = fx(2, 6, 5, 5).requests(&[1000; 5]);
    let pods = five.clone().levels(&[12_000; 5]);
    let obj = five.clone().levels(&[12_000]);
    let obj_avg = five.clone().levels(&[60_000]);
    let ext = fx(2, 6, 5, 5).levels(&[8600]);
    vec![
        Case {
            history: emptied(),
            want_scale: Some(3),
            want_desired: 3,
            want_conditions: status_ok(),
            ..base(
                "a per-pod custom metric at 12 against 20 scales five pods to three",
                "TestScaleDownCM/scale down pods metric",
                hpa(&pods, vec![qps_pods(20_000)]),
                pods.input(vec![pods.custom_samples()]),
            )
        },
        Case {
            history: emptied(),
            want_scale: Some(3),
            want_desired: 3,
            want_conditions: status_ok(),
            ..base(
                "an object value of 12 against 20 scales five ready pods to three",
                "TestScaleDownCM/scale down object metric with value target",
                hpa(&obj, vec![qps_object(Target::Value(20_000))]),
                obj.input(vec![obj.object_value()]),
            )
        },
        Case {
            history: emptied(),
            want_scale: Some(3),
            want_desired: 3,
            want_conditions: status_ok(),
            ..base(
                "an object total of 60 against 20 per pod asks for three",
                "TestScaleDownCM/scale down per-pod object metric with average value target (TestScaleDownPerPodObjectMetric)",
                hpa(&obj_avg, vec![qps_object(Target::AverageValue(20_000))]),
                obj_avg.input(vec![obj_avg.object_value()]),
            )
        },
        Case {
            history: emptied(),
            want_scale: Some(3),
            want_desired: 3,
            want_conditions: status_ok(),
            ..base(
                "an external value of 8.6 against 14.4 scales five pods to three",
                "TestScaleDownCM/scale down external metric with value target",
                hpa(&ext, vec![qps_external(Target::Value(14_400))]),
                ext.input(vec![ext.external_values()]),
            )
        },
        Case {
            history: emptied(),
            want_scale: Some(3),
            want_desired: 3,
            want_conditions: status_ok(),
            ..base(
                "an external total of 8.6 against 3 per pod asks for three",
                "TestScaleDownCM/scale down per-pod external metric with average value target",
                hpa(&ext, vec![qps_external(Target::AverageValue(3000))]),
                ext.input(vec![ext.external_values()]),
            )
        },
    ]
}

// ---------------------------------------------------------------------------------------------
// Scale to zero (HPAScaleToZero, KEP-2021 condition logic)
// ---------------------------------------------------------------------------------------------

fn scale_to_zero_cases() -> Vec<Case> {
    let from_zero = |level: i64| fx(0, 6, 0, 0).levels(&[level]);
    let with_stz = |input: HpaInput| tweak(input, |i| i.conditions = vec![scaled_to_zero_condition()]);
    let up20 = from_zero(20_000);
    let up1 = from_zero(1000);
    let raised = fx(2, 6, 0, 0).levels(&[10_000]);
    let rescale = fx(1, 6, 3, 3).levels(&[300, 500, 700]).requests(&[1000; 3]);
    let manual = fx(1, 6, 0, 0).requests(&[]);
    let cpu_from_zero = fx(0, 6, 0, 0).levels(&[300, 400, 500]).requests(&[1000; 3]);
    let obj_to_zero = fx(0, 6, 5, 5).levels(&[0]).requests(&[1000; 5]);
    let ext_to_zero = fx(0, 6, 5, 5).levels(&[0]);
    let from_zero_ok = vec![
        ("ScaledToZero", False, "NotScaledToZero"),
        ("AbleToScale", True, "SucceededRescale"),
        ("ScalingActive", True, "ValidMetricFound"),
        ("ScalingLimited", False, "DesiredWithinRange"),
    ];
    vec![
        Case {
            cfg: cfg_zero(true),
            want_scale: Some(2),
            want_desired: 2,
            want_conditions: from_zero_ok.clone(),
            ..base(
                "scaled to zero by the HPA, an object value of 20 against 15 brings back ceil(20/15) = 2",
                "TestScaleUpCMObject/scale up from zero with feature gate enabled (TestScaleUpFromZeroCMObject)",
                hpa(&up20, vec![qps_object(Target::Value(15_000))]),
                with_stz(up20.input(vec![up20.object_value()])),
            )
        },
        Case {
            cfg: cfg_zero(false),
            want_desired: 0,
            want_conditions: disabled(),
            ..base(
                "with the gate off a target at zero is not autoscaled and ScaledToZero is dropped",
                "TestScaleUpCMObject/scale up from zero with feature gate disabled",
                hpa(&up20, vec![qps_object(Target::Value(15_000))]),
                with_stz(up20.input(vec![up20.object_value()])),
            )
        },
        Case {
            cfg: cfg_zero(true),
            want_scale: Some(1),
            want_desired: 1,
            want_conditions: from_zero_ok.clone(),
            ..base(
                "from zero the tolerance does not apply: a ratio of exactly one brings back one pod",
                "TestScaleUpCMObject/scale up from zero ignores tolerance with feature gate enabled (TestScaleUpFromZeroIgnoresToleranceCMObject)",
                hpa(&up1, vec![qps_object(Target::Value(1000))]),
                with_stz(up1.input(vec![up1.object_value()])),
            )
        },
        Case {
            cfg: cfg_zero(false),
            want_desired: 0,
            want_conditions: disabled(),
            ..base(
                "with the gate off a ratio of one at zero replicas changes nothing",
                "TestScaleUpCMObject/scale up from zero ignores tolerance with feature gate disabled",
                hpa(&up1, vec![qps_object(Target::Value(1000))]),
                with_stz(up1.input(vec![up1.object_value()])),
            )
        },
        Case {
            cfg: cfg_zero(true),
            want_desired: 0,
            want_conditions: disabled(),
            ..base(
                "without the ScaledToZero condition zero replicas means scaled by hand: no autoscaling",
                "TestScaleUpFromZeroWithoutCondition/HPAScaleToZero=true",
                hpa(&up20, vec![qps_object(Target::Value(15_000))]),
                up20.input(vec![up20.object_value()]),
            )
        },
        Case {
            cfg: cfg_zero(false),
            want_desired: 0,
            want_conditions: disabled(),
            ..base(
                "without the condition and without the gate zero replicas is left alone",
                "TestScaleUpFromZeroWithoutCondition/HPAScaleToZero=false",
                hpa(&up20, vec![qps_object(Target::Value(15_000))]),
                up20.input(vec![up20.object_value()]),
            )
        },
        Case {
            cfg: cfg_zero(true),
            want_scale: Some(2),
            want_desired: 2,
            want_conditions: vec![
                ("ScaledToZero", False, "NotScaledToZero"),
                ("AbleToScale", True, "SucceededRescale"),
                ("ScalingActive", True, "ValidMetricFound"),
                ("ScalingLimited", True, "TooFewReplicas"),
            ],
            ..base(
                "minReplicas raised to 2 while at zero lifts a one-pod recommendation to two",
                "TestScaleUpFromZeroWhenMinReplicasIncreased/HPAScaleToZero=true",
                hpa(&raised, vec![qps_object(Target::Value(15_000))]),
                with_stz(raised.input(vec![raised.object_value()])),
            )
        },
        Case {
            cfg: cfg_zero(false),
            want_desired: 0,
            want_conditions: disabled(),
            ..base(
                "with the gate off a raised minReplicas does not wake a target at zero",
                "TestScaleUpFromZeroWhenMinReplicasIncreased/HPAScaleToZero=false",
                hpa(&raised, vec![qps_object(Target::Value(15_000))]),
                with_stz(raised.input(vec![raised.object_value()])),
            )
        },
        Case {
            cfg: cfg_zero(true),
            want_scale: Some(5),
            want_desired: 5,
            want_conditions: vec![
                ("ScaledToZero", False, "NotScaledToZero"),
                ("AbleToScale", True, "SucceededRescale"),
                ("ScalingActive", True, "ValidMetricFound"),
                ("ScalingLimited", False, "DesiredWithinRange"),
            ],
            ..base(
                "an ordinary rescale turns a stale ScaledToZero=True into False",
                "TestScaledToZeroConditionHandledOnNormalRescale/HPAScaleToZero=true",
                hpa(&rescale, vec![cpu(30)]),
                with_stz(rescale.input(vec![rescale.cpu_samples()])),
            )
        },
        Case {
            cfg: cfg_zero(false),
            want_scale: Some(5),
            want_desired: 5,
            want_conditions: status_ok(),
            ..base(
                "with the gate off an ordinary rescale removes a stale ScaledToZero condition",
                "TestScaledToZeroConditionHandledOnNormalRescale/HPAScaleToZero=false",
                hpa(&rescale, vec![cpu(30)]),
                with_stz(rescale.input(vec![rescale.cpu_samples()])),
            )
        },
        Case {
            cfg: cfg_zero(true),
            want_desired: 0,
            want_conditions: disabled(),
            ..base(
                "a target scaled to zero by hand pauses an HPA with minReplicas 1 (gate on)",
                "TestManualScaleToZeroDisablesHPA/HPAScaleToZero=true",
                hpa(&manual, vec![cpu(50)]),
                manual.input(vec![manual.cpu_samples()]),
            )
        },
        Case {
            cfg: cfg_zero(false),
            want_desired: 0,
            want_conditions: disabled(),
            ..base(
                "a target scaled to zero by hand pauses an HPA with minReplicas 1 (gate off)",
                "TestManualScaleToZeroDisablesHPA/HPAScaleToZero=false",
                hpa(&manual, vec![cpu(50)]),
                manual.input(vec![manual.cpu_samples()]),
            )
        },
        Case {
            cfg: cfg_zero(true),
            want_desired: 0,
            want_conditions: disabled(),
            ..base(
                "cpu and pods metrics cannot wake a target from zero, even with the gate on",
                "TestScaleUpFromZeroOneMetricInvalid/HPAScaleToZero=true (adapted: a failing Pods metric for CheddarCheese)",
                hpa(&cpu_from_zero, vec![cpu(30), qps_pods(15_000)]),
                cpu_from_zero.input(vec![cpu_from_zero.cpu_samples(), failing_pods()]),
            )
        },
        Case {
            cfg: cfg_zero(false),
            want_desired: 0,
            want_conditions: disabled(),
            ..base(
                "cpu and pods metrics cannot wake a target from zero with the gate off",
                "TestScaleUpFromZeroOneMetricInvalid/HPAScaleToZero=false (adapted: a failing Pods metric for CheddarCheese)",
                hpa(&cpu_from_zero, vec![cpu(30), qps_pods(15_000)]),
                cpu_from_zero.input(vec![cpu_from_zero.cpu_samples(), failing_pods()]),
            )
        },
        Case {
            cfg: cfg_zero(true),
            history: emptied(),
            want_scale: Some(0),
            want_desired: 0,
            want_conditions: ok_with(&[("ScaledToZero", True, "ScaledToZero")]),
            ..base(
                "an idle object metric with minReplicas 0 scales to zero and says so",
                "TestScaleDownCM/scale down to zero object metric with feature gate enabled",
                hpa(&obj_to_zero, vec![qps_object(Target::Value(20_000))]),
                obj_to_zero.input(vec![obj_to_zero.object_value()]),
            )
        },
        Case {
            cfg: cfg_zero(false),
            history: emptied(),
            want_scale: Some(0),
            want_desired: 0,
            want_conditions: status_ok(),
            ..base(
                "with the gate off the scale to zero happens but no ScaledToZero condition is kept",
                "TestScaleDownCM/scale down to zero object metric with feature gate disabled",
                hpa(&obj_to_zero, vec![qps_object(Target::Value(20_000))]),
                obj_to_zero.input(vec![obj_to_zero.object_value()]),
            )
        },
        Case {
            cfg: cfg_zero(true),
            history: emptied(),
            want_scale: Some(0),
            want_desired: 0,
            want_conditions: ok_with(&[("ScaledToZero", True, "ScaledToZero")]),
            ..base(
                "an idle external metric with minReplicas 0 scales to zero and says so",
                "TestScaleDownCM/scale down to zero external metric with feature gate enabled",
                hpa(&ext_to_zero, vec![qps_external(Target::Value(14_400))]),
                ext_to_zero.input(vec![ext_to_zero.external_values()]),
            )
        },
        Case {
            cfg: cfg_zero(false),
            history: emptied(),
            want_scale: Some(0),
            want_desired: 0,
            want_conditions: status_ok(),
            ..base(
                "an idle external metric scales to zero with the gate off, without the condition",
                "TestScaleDownCM/scale down to zero external metric with feature gate disabled",
                hpa(&ext_to_zero, vec![qps_external(Target::Value(14_400))]),
                ext_to_zero.input(vec![ext_to_zero.external_values()]),
            )
        },
    ]
}

// ---------------------------------------------------------------------------------------------
// Tolerance
// ---------------------------------------------------------------------------------------------

fn tolerance_cases() -> Vec<Case> {
    let three = fx(1, 5, 3, 3).requests(&[900, 1000, 1100]);
    let c = three.clone().levels(&[1010, 1030, 1020]);
    let p = three.clone().levels(&[20_000, 20_001, 21_000]);
    let o = three.clone().levels(&[20_050]);
    let four = fx(2, 6, 4, 4).levels(&[8600]);
    vec![
        Case {
            want_conditions: not_scaled(),
            want_utilization: Some(102),
            ..base(
                "cpu at 102% of a 100% target is inside the 10% band",
                "TestTolerance/CPU resource metric within tolerance",
                hpa(&c, vec![cpu(100)]),
                c.input(vec![c.cpu_samples()]),
            )
        },
        Case {
            want_conditions: not_scaled(),
            ..base(
                "a custom metric averaging 20.333 against 20 is inside the band",
                "TestTolerance/pods metric within tolerance",
                hpa(&p, vec![qps_pods(20_000)]),
                p.input(vec![p.custom_samples()]),
            )
        },
        Case {
            want_conditions: not_scaled(),
            ..base(
                "an object value of 20.05 against 20 is inside the band",
                "TestTolerance/object metric with value target within tolerance",
                hpa(&o, vec![qps_object(Target::Value(20_000))]),
                o.input(vec![o.object_value()]),
            )
        },
        Case {
            want_conditions: not_scaled(),
            ..base(
                "an external value of 8.6 against 8.666 is inside the band",
                "TestTolerance/external metric with value target within tolerance",
                hpa(&four, vec![qps_external(Target::Value(8666))]),
                four.input(vec![four.external_values()]),
            )
        },
        Case {
            want_conditions: not_scaled(),
            ..base(
                "an object total of 8.6 against 2.2 for each of four pods is inside the band",
                "TestTolerance/per-pod object metric with average value target within tolerance",
                hpa(
                    &four,
                    vec![tweak(qps_object(Target::AverageValue(2200)), |m| {
                        if let MetricSource::Object { metric, .. } = &mut m.source {
                            metric.selector = Some(LabelSelector::default());
                        }
                    })],
                ),
                four.input(vec![four.object_value()]),
            )
        },
        Case {
            want_conditions: not_scaled(),
            ..base(
                "an external total of 8.6 against 2.2 for each of four pods is inside the band",
                "TestTolerance/per-pod external metric with average value target within tolerance",
                hpa(&four, vec![qps_external(Target::AverageValue(2200))]),
                four.input(vec![four.external_values()]),
            )
        },
    ]
}

/// `TestConfigurableTolerance` goes through the API: the spec is validated and defaulted by
/// [`HpaPolicy::from_spec`], where the `HPAConfigurableTolerance` gate decides whether the
/// per-direction tolerances survive.
fn configurable_tolerance_cases() -> Vec<Case> {
    let policy = |behavior: Option<serde_json::Value>, gate: bool| {
        let mut spec = serde_json::json!({
            "scaleTargetRef": {"apiVersion": "v1", "kind": "ReplicationController", "name": "test-rc"},
            "minReplicas": 1,
            "maxReplicas": 5,
            "metrics": [{"type": "Resource",
                         "resource": {"name": "cpu", "target": {"type": "Utilization", "averageUtilization": 100}}}]
        });
        if let Some(b) = behavior {
            spec["behavior"] = b;
        }
        let spec: HorizontalPodAutoscalerSpec = serde_json::from_value(spec).unwrap();
        let cfg = ControllerConfig {
            configurable_tolerance: gate,
            ..cfg()
        };
        (HpaPolicy::from_spec(&spec, &cfg).unwrap(), cfg)
    };
    let hot = fx(1, 5, 3, 3)
        .levels(&[1010, 1030, 1020])
        .requests(&[900, 1000, 1100]);
    let idle = fx(1, 5, 3, 3).levels(&[300, 300, 300]).requests(&[1000; 3]);
    let up_one_percent = Some(serde_json::json!({"scaleUp": {"tolerance": "0.01"}}));
    let down_ninety_percent = Some(serde_json::json!({"scaleDown": {"tolerance": "0.9"}}));
    let mut cases = Vec::new();
    {
        let (p, c) = policy(up_one_percent.clone(), true);
        // API defaulting filled the rest of the behavior as upstream's SetDefaults does.
        assert_eq!(
            p.behavior,
            Some(BehaviorPolicy {
                scale_up: default_scale_up(),
                scale_down: default_scale_down(),
            })
        );
        assert_eq!(
            p.tolerances,
            Tolerances {
                scale_down: 0.1,
                scale_up: 0.01
            }
        );
        cases.push(Case {
            cfg: c,
            want_scale: Some(4),
            want_desired: 4,
            want_conditions: status_ok(),
            ..base(
                "a 1% scale-up tolerance turns 102% of target into a scale-up to four",
                "TestConfigurableTolerance/Scaling up because of a 1% configurable tolerance",
                p,
                hot.input(vec![hot.cpu_samples()]),
            )
        });
    }
    {
        let (p, c) = policy(down_ninety_percent, true);
        cases.push(Case {
            cfg: c,
            want_conditions: not_scaled(),
            ..base(
                "a 90% scale-down tolerance keeps three pods at 30% of target",
                "TestConfigurableTolerance/No scale-down because of a 90% configurable tolerance",
                p,
                idle.input(vec![idle.cpu_samples()]),
            )
        });
    }
    {
        let (p, c) = policy(None, true);
        cases.push(Case {
            cfg: c,
            want_conditions: not_scaled(),
            ..base(
                "without per-HPA tolerances the 10% flag keeps 102% of target as it is",
                "TestConfigurableTolerance/No scaling because of the large default tolerance",
                p,
                hot.input(vec![hot.cpu_samples()]),
            )
        });
    }
    {
        let (p, c) = policy(up_one_percent, false);
        cases.push(Case {
            cfg: c,
            want_conditions: not_scaled(),
            ..base(
                "with the HPAConfigurableTolerance gate off a 1% tolerance is ignored",
                "TestConfigurableTolerance/No scaling because the configurable tolerance is ignored as the feature gate is disabled",
                p,
                hot.input(vec![hot.cpu_samples()]),
            )
        });
    }
    cases
}

// ---------------------------------------------------------------------------------------------
// Replica limits
// ---------------------------------------------------------------------------------------------

fn replica_limit_cases() -> Vec<Case> {
    let uneven = [900, 1000, 1100];
    let low = fx(2, 5, 3, 3).levels(&[10, 95, 10]).requests(&uneven);
    let idle_min0 = fx(0, 5, 3, 3).levels(&[0, 0, 0]).requests(&uneven);
    let idle_min2 = fx(2, 5, 3, 3).levels(&[0, 0, 0]).requests(&uneven);
    let at_zero = fx(3, 5, 0, 0).requests(&[]);
    let below = fx(3, 5, 2, 2).requests(&[]);
    let above = fx(3, 5, 10, 10).requests(&[]);
    let hot = fx(2, 5, 3, 3).levels(&[8000, 9500, 1000]).requests(&uneven);
    let rc_below = fx(2, 6, 1, 1).levels(&[0, 0, 0, 0]).requests(&[1000; 4]);
    let rc_above = fx(2, 5, 6, 6).levels(&[8000, 9500, 1000]).requests(&uneven);
    let cap = fx(1, 100, 3, 3).levels(&[100, 200, 300]).requests(&[100; 3]);
    let cap20 = fx(1, 20, 3, 3).levels(&[100, 200, 300]).requests(&[100; 3]);
    let seven_hundred = BehaviorPolicy {
        scale_up: rules(None, Some((700, 60)), 0),
        scale_down: default_scale_down(),
    };
    let rescaled_only = vec![("AbleToScale", True, "SucceededRescale")];
    vec![
        Case {
            history: emptied(),
            want_scale: Some(2),
            want_desired: 2,
            want_conditions: ok_with(&[("ScalingLimited", True, "TooFewReplicas")]),
            ..base(
                "a scale-down to one is clamped to minReplicas 2",
                "TestReplicaLimits/scale down clamped to min replicas (TestMinReplicas)",
                hpa(&low, vec![cpu(90)]),
                low.input(vec![low.cpu_samples()]),
            )
        },
        Case {
            history: emptied(),
            want_scale: Some(0),
            want_desired: 0,
            want_conditions: status_ok(),
            ..base(
                "with minReplicas 0 an idle workload scales to zero",
                "TestReplicaLimits/scale down to zero when min replicas is zero (TestZeroMinReplicasDesiredZero)",
                hpa(&idle_min0, vec![cpu(90)]),
                idle_min0.input(vec![idle_min0.cpu_samples()]),
            )
        },
        Case {
            history: emptied(),
            want_scale: Some(2),
            want_desired: 2,
            want_conditions: ok_with(&[("ScalingLimited", True, "TooFewReplicas")]),
            ..base(
                "an idle workload asking for zero is clamped to minReplicas 2",
                "TestReplicaLimits/scale down clamped to min when desired is zero (TestMinReplicasDesiredZero)",
                hpa(&idle_min2, vec![cpu(90)]),
                idle_min2.input(vec![idle_min2.cpu_samples()]),
            )
        },
        Case {
            want_desired: 0,
            want_conditions: disabled(),
            ..base(
                "a target at zero replicas is not scaled even below minReplicas",
                "TestReplicaLimits/no scaling when spec replicas is zero (TestZeroReplicas)",
                hpa(&at_zero, vec![cpu(90)]),
                at_zero.input(vec![at_zero.cpu_samples()]),
            )
        },
        Case {
            want_scale: Some(3),
            want_desired: 3,
            want_conditions: rescaled_only.clone(),
            want_events: Some(vec!["SuccessfulRescale"]),
            ..base(
                "below minReplicas the target goes to min without consulting metrics",
                "TestReplicaLimits/scale up to min when below min replicas (TestTooFewReplicas)",
                hpa(&below, vec![cpu(90)]),
                below.input(vec![below.cpu_samples()]),
            )
        },
        Case {
            want_scale: Some(5),
            want_desired: 5,
            want_conditions: rescaled_only.clone(),
            want_events: Some(vec!["SuccessfulRescale"]),
            ..base(
                "above maxReplicas the target goes to max without consulting metrics",
                "TestReplicaLimits/scale down to max when above max replicas (TestTooManyReplicas)",
                hpa(&above, vec![cpu(90)]),
                above.input(vec![above.cpu_samples()]),
            )
        },
        Case {
            want_scale: Some(5),
            want_desired: 5,
            want_conditions: ok_with(&[("ScalingLimited", True, "TooManyReplicas")]),
            ..base(
                "a scale-up to 21 is clamped to maxReplicas 5",
                "TestReplicaLimits/scale up clamped to max replicas (TestMaxReplicas)",
                hpa(&hot, vec![cpu(90)]),
                hot.input(vec![hot.cpu_samples()]),
            )
        },
        Case {
            want_scale: Some(2),
            want_desired: 2,
            want_conditions: rescaled_only.clone(),
            ..base(
                "below min the rescale is immediate even right after the last one",
                "TestScaleRCImmediately/scale up to min when below min replicas (TestScaleUpRCImmediately)",
                hpa(&rc_below, vec![cpu(80)]),
                tweak(rc_below.input(vec![rc_below.cpu_samples()]), |i| {
                    i.last_scale_time = Some(now());
                }),
            )
        },
        Case {
            want_scale: Some(5),
            want_desired: 5,
            want_conditions: rescaled_only,
            ..base(
                "above max the rescale is immediate even right after the last one",
                "TestScaleRCImmediately/scale down to max when above max replicas (TestScaleDownRCImmediately)",
                hpa(&rc_above, vec![cpu(50)]),
                tweak(rc_above.input(vec![rc_above.cpu_samples()]), |i| {
                    i.last_scale_time = Some(now());
                }),
            )
        },
        Case {
            want_scale: Some(24),
            want_desired: 24,
            want_conditions: ok_with(&[("ScalingLimited", True, "ScaleUpLimit")]),
            ..base(
                "a 700% per minute scale-up policy caps three pods asking for sixty at 24",
                "TestUpscaleCap/capped by scale up rules",
                with_behavior(hpa(&cap, vec![cpu(10)]), seven_hundred.clone()),
                cap.input(vec![cap.cpu_samples()]),
            )
        },
        Case {
            want_scale: Some(20),
            want_desired: 20,
            want_conditions: ok_with(&[("ScalingLimited", True, "TooManyReplicas")]),
            ..base(
                "when the scale-up policy allows more than maxReplicas, max is the limit",
                "TestUpscaleCap/capped by max replicas when scale up limit exceeds max (TestUpscaleCapGreaterThanMaxReplicas)",
                with_behavior(hpa(&cap20, vec![cpu(10)]), seven_hundred),
                cap20.input(vec![cap20.cpu_samples()]),
            )
        },
        Case {
            want_scale: Some(6),
            want_desired: 6,
            want_conditions: ok_with(&[("ScalingLimited", True, "ScaleUpLimit")]),
            ..base(
                "without behavior the legacy cap max(2 x 3, 4) = 6 applies (production factor 2; upstream's tests patch it to 8 and expect 24)",
                "TestUpscaleCap, pre-behavior version, recomputed with scaleUpLimitFactor 2",
                hpa(&cap, vec![cpu(10)]),
                cap.input(vec![cap.cpu_samples()]),
            )
        },
        Case {
            want_scale: Some(6),
            want_desired: 6,
            want_conditions: ok_with(&[("ScalingLimited", True, "ScaleUpLimit")]),
            ..base(
                "without behavior the legacy cap of 6 binds before maxReplicas 20 (upstream's factor 8 gives 20, TooManyReplicas)",
                "TestUpscaleCapGreaterThanMaxReplicas, pre-behavior version, recomputed with scaleUpLimitFactor 2",
                hpa(&cap20, vec![cpu(10)]),
                cap20.input(vec![cap20.cpu_samples()]),
            )
        },
    ]
}

// ---------------------------------------------------------------------------------------------
// Edge cases of the metrics
// ---------------------------------------------------------------------------------------------

fn metric_edge_cases() -> Vec<Case> {
    let superfluous = fx(2, 6, 4, 4)
        .levels(&[4000, 9500, 3000, 7000, 3200, 2000])
        .requests(&[1000; 4]);
    let missing = fx(2, 6, 4, 4).levels(&[400, 95]).requests(&[1000; 4]);
    let empty = fx(2, 6, 4, 4).requests(&[1000; 4]);
    let no_pods = fx(1, 5, 1, 1).levels(&[200]).requests(&[]);
    let one = fx(1, 5, 1, 1).levels(&[200]).requests(&[200]);
    let steady = fx(1, 5, 2, 2).levels(&[200, 200]).requests(&[400, 400]);
    let reports = fx(1, 5, 4, 4).levels(&[200]).requests(&[200]);
    let surge = fx(1, 8, 4, 5).levels(&[500; 5]).requests(&[1000; 5]);
    let conflict = fx(2, 6, 3, 3).levels(&[600, 700, 800]).requests(&[1000; 3]);
    vec![
        Case {
            want_scale: Some(6),
            want_desired: 6,
            want_conditions: ok_with(&[("ScalingLimited", True, "TooManyReplicas")]),
            ..base(
                "samples for pods the selector did not list do not stop a scale-up to max",
                "TestMetricsEdgeCases/superfluous metrics reported (TestSuperfluousMetrics)",
                hpa(&superfluous, vec![cpu(100)]),
                superfluous.input(vec![superfluous.cpu_samples()]),
            )
        },
        Case {
            history: emptied(),
            want_scale: Some(3),
            want_desired: 3,
            want_conditions: status_ok(),
            ..base(
                "pods without samples count at their full request on a scale-down: four go to three",
                "TestMetricsEdgeCases/missing metrics from some pods (TestMissingMetrics)",
                hpa(&missing, vec![cpu(100)]),
                missing.input(vec![missing.cpu_samples()]),
            )
        },
        Case {
            want_conditions: failed("FailedGetResourceMetric"),
            want_events: Some(vec!["FailedGetResourceMetric", "FailedComputeMetricsReplicas"]),
            ..base(
                "no samples at all stop scaling and keep the desired count",
                "TestMetricsEdgeCases/empty metrics from all pods (TestEmptyMetrics)",
                hpa(&empty, vec![cpu(100)]),
                empty.input(vec![empty.cpu_samples()]),
            )
        },
        Case {
            want_conditions: failed("FailedGetResourceMetric"),
            want_events: Some(vec!["FailedGetResourceMetric", "FailedComputeMetricsReplicas"]),
            ..base(
                "a selector that lists no pods stops scaling",
                "TestMetricsEdgeCases/empty CPU requests (TestEmptyCPURequest)",
                hpa(&no_pods, vec![cpu(100)]),
                no_pods.input(vec![no_pods.cpu_samples()]),
            )
        },
        Case {
            want_scale: Some(2),
            want_desired: 2,
            want_conditions: status_ok(),
            want_events: Some(vec!["SuccessfulRescale"]),
            ..base(
                "a rescale records a SuccessfulRescale event",
                "TestEventCreated",
                hpa(&one, vec![cpu(50)]),
                one.input(vec![one.cpu_samples()]),
            )
        },
        Case {
            want_conditions: not_scaled(),
            want_events: Some(vec![]),
            ..base(
                "no rescale, no event",
                "TestEventNotCreated",
                hpa(&steady, vec![cpu(50)]),
                steady.input(vec![steady.cpu_samples()]),
            )
        },
        Case {
            history: emptied(),
            want_scale: Some(2),
            want_desired: 2,
            want_conditions: status_ok(),
            ..base(
                "one pod at twice the target decides for a target of four replicas: two",
                "TestCPUScalingEdgeCases/missing reports from some pods (TestMissingReports)",
                hpa(&reports, vec![cpu(50)]),
                reports.input(vec![reports.cpu_samples()]),
            )
        },
        Case {
            want_conditions: not_scaled(),
            ..base(
                "a surge pod (status 5, spec 4) at target does not change spec replicas",
                "TestCPUScalingEdgeCases/more replicas than spec no scale (TestMoreReplicasThanSpecNoScale)",
                hpa(&surge, vec![cpu(50)]),
                surge.input(vec![surge.cpu_samples()]),
            )
        },
        Case {
            want_scale: Some(5),
            want_desired: 5,
            want_conditions: status_ok(),
            ..base(
                "70% against 50% scales three pods to five (the conflict retry is the caller's)",
                "TestHPARescaleWithSuccessfulConflictRetry",
                hpa(&conflict, vec![cpu(50)]),
                conflict.input(vec![conflict.cpu_samples()]),
            )
        },
    ]
}

fn computed_tolerance_cases() -> Vec<Case> {
    // Upstream's derivation: ten pods using 150m each and requesting twice that on average,
    // with a target set just past the tolerance (0.01 above it) and just inside (0.004 above).
    let start_pods = 10;
    let used: i64 = 10 * 150;
    let requested = 2 * used;
    let requested_to_used = (requested / used) as f64;
    let per_pod = requested / 10;
    let tolerance = 0.1;
    let target_past = (1.0 / (requested_to_used * (1.0 - tolerance))).abs() + 0.01;
    let target_inside = (1.0 / (requested_to_used * (1.0 - tolerance))).abs() + 0.004;
    let final_pods = (used as f64 / (requested as f64 * target_past) * f64::from(start_pods)).ceil() as i32;
    assert_eq!(
        (
            (target_past * 100.0) as i32,
            (target_inside * 100.0) as i32,
            final_pods
        ),
        (56, 55, 9)
    );
    let f = fx(0, 1000, start_pods, start_pods)
        .levels(&[used / 10; 10])
        .requests(&[
            per_pod + 100,
            per_pod - 100,
            per_pod + 10,
            per_pod - 10,
            per_pod + 2,
            per_pod - 2,
            per_pod + 1,
            per_pod - 1,
            per_pod,
            per_pod,
        ]);
    vec![
        Case {
            history: emptied(),
            want_scale: Some(final_pods),
            want_desired: final_pods,
            want_conditions: status_ok(),
            ..base(
                "a target just past the tolerance scales ten pods down to nine",
                "TestComputedToleranceAlgImplementation/tc1",
                hpa(&f, vec![cpu((target_past * 100.0) as i32)]),
                f.input(vec![f.cpu_samples()]),
            )
        },
        Case {
            history: emptied(),
            want_conditions: not_scaled(),
            ..base(
                "a target just inside the tolerance keeps ten pods",
                "TestComputedToleranceAlgImplementation/tc2",
                hpa(&f, vec![cpu((target_inside * 100.0) as i32)]),
                f.input(vec![f.cpu_samples()]),
            )
        },
    ]
}

// ---------------------------------------------------------------------------------------------
// Several metrics, failures, timing
// ---------------------------------------------------------------------------------------------

fn multi_metric_cases() -> Vec<Case> {
    let up = fx(2, 6, 3, 3).levels(&[300, 400, 500]).requests(&[1000; 3]);
    let down = fx(2, 6, 5, 5)
        .levels(&[100, 300, 500, 250, 250])
        .requests(&[1000; 5]);
    let cm = fx(1, 5, 3, 3)
        .levels(&[20_000, 10_000, 30_000])
        .requests(&[1000; 3]);
    let stab = fx(1, 5, 4, 4).levels(&[50, 50, 50]).requests(&[100; 3]);
    let recently = |input: HpaInput| tweak(input, |i| i.last_scale_time = Some(now()));
    vec![
        Case {
            want_scale: Some(4),
            want_desired: 4,
            want_conditions: status_ok(),
            want_events: Some(vec!["FailedGetPodsMetric", "SuccessfulRescale"]),
            want_utilization: Some(40),
            ..base(
                "a metric that cannot be computed does not stop the scale-up another asks for",
                "TestScaleUpOneMetricInvalid (adapted: a failing Pods metric for CheddarCheese)",
                hpa(&up, vec![cpu(30), qps_pods(15_000)]),
                up.input(vec![up.cpu_samples(), failing_pods()]),
            )
        },
        Case {
            want_scale: Some(4),
            want_desired: 4,
            want_conditions: status_ok(),
            want_events: Some(vec!["FailedGetExternalMetric", "SuccessfulRescale"]),
            want_utilization: Some(40),
            ..base(
                "an external metric that fails does not stop the cpu scale-up",
                "TestScaleUpOneMetricEmpty",
                hpa(&up, vec![cpu(30), qps_external(Target::Value(100))]),
                up.input(vec![up.cpu_samples(), failing_external()]),
            )
        },
        Case {
            history: emptied(),
            want_conditions: failed("FailedGetExternalMetric"),
            want_events: Some(vec!["FailedGetExternalMetric", "FailedComputeMetricsReplicas"]),
            ..base(
                "a failing external metric blocks the scale-down the cpu metric asks for",
                "TestNoScaleDownOneMetricEmpty (TestScaleDownOneMetricEmpty)",
                hpa(&down, vec![cpu(50), qps_external(Target::Value(1000))]),
                down.input(vec![down.cpu_samples(), failing_external()]),
            )
        },
        Case {
            want_scale: Some(4),
            want_desired: 4,
            want_conditions: status_ok(),
            ..base(
                "a scale-up right after the last scale is not delayed (custom metric)",
                "TestScaleTimingBehavior/no backoff upscale custom metric only (TestNoBackoffUpscaleCM)",
                hpa(&cm, vec![qps_pods(15_000)]),
                recently(cm.input(vec![cm.custom_samples()])),
            )
        },
        Case {
            want_scale: Some(5),
            want_desired: 5,
            want_conditions: ok_with(&[("ScalingLimited", True, "TooManyReplicas")]),
            ..base(
                "the highest of cpu (600) and custom (4) wins and is clamped to max 5",
                "TestScaleTimingBehavior/no backoff upscale custom metric and CPU (TestNoBackoffUpscaleCMNoBackoffCpu)",
                hpa(&cm, vec![cpu(10), qps_pods(15_000)]),
                recently(cm.input(vec![cm.cpu_samples(), cm.custom_samples()])),
            )
        },
        Case {
            history: recommendations(&[(10, 600), (4, 60)]),
            want_conditions: ok_with(&[("AbleToScale", True, "ScaleDownStabilized")]),
            ..base(
                "a recommendation of 4 a minute ago holds a scale-down to 2; one of 10 ten minutes ago has expired",
                "TestScaleTimingBehavior/stabilize downscale (TestStabilizeDownscale)",
                hpa(&stab, vec![cpu(100)]),
                stab.input(vec![stab.cpu_samples()]),
            )
        },
    ]
}

fn failed_metric_cases() -> Vec<Case> {
    let f = fx(1, 100, 3, 3).levels(&[100, 200, 300]).requests(&[100; 3]);
    let spec = |reason: &'static str, name: &'static str, metric: MetricPolicy, input: MetricInput| Case {
        want_conditions: failed(reason),
        want_events: Some(vec![reason, "FailedComputeMetricsReplicas"]),
        ..base(
            name,
            "TestConditionFailedGetMetrics",
            hpa(&f, vec![metric]),
            f.input(vec![input]),
        )
    };
    vec![
        spec(
            "FailedGetResourceMetric",
            "a resource metrics API error sets ScalingActive=False/FailedGetResourceMetric",
            cpu(10),
            failing_pods(),
        ),
        spec(
            "FailedGetPodsMetric",
            "a custom metrics API error on a Pods metric sets FailedGetPodsMetric",
            qps_pods(15_000),
            failing_pods(),
        ),
        spec(
            "FailedGetObjectMetric",
            "a custom metrics API error on an Object metric sets FailedGetObjectMetric",
            qps_object(Target::Value(15_000)),
            failing_object(),
        ),
        spec(
            "FailedGetExternalMetric",
            "an external metrics API error sets FailedGetExternalMetric",
            qps_external(Target::Value(300)),
            failing_external(),
        ),
    ]
}

fn selector_and_write_cases() -> Vec<Case> {
    let f = fx(1, 100, 3, 3).levels(&[100, 200, 300]).requests(&[100; 3]);
    let g = fx(2, 6, 3, 3).levels(&[300, 500, 700]).requests(&[1000; 3]);
    let w = fx(1, 5, 3, 3).levels(&[150, 150, 150]).requests(&[100; 3]);
    vec![
        Case {
            want_conditions: failed("InvalidSelector"),
            want_events: Some(vec!["SelectorRequired", "FailedComputeMetricsReplicas"]),
            ..base(
                "a scale without a selector sets ScalingActive=False/InvalidSelector",
                "TestConditionInvalidSelectorMissing",
                hpa(&f, vec![cpu(10)]),
                tweak(f.input(vec![f.cpu_samples()]), |i| {
                    i.scale.selector = String::new()
                }),
            )
        },
        Case {
            want_conditions: failed("InvalidSelector"),
            want_events: Some(vec!["InvalidSelector", "FailedComputeMetricsReplicas"]),
            ..base(
                "an unparsable scale selector sets ScalingActive=False/InvalidSelector",
                "TestConditionInvalidSelectorUnparsable",
                hpa(&f, vec![cpu(10)]),
                tweak(f.input(vec![f.cpu_samples()]), |i| {
                    i.scale.selector = "cheddar cheese".into();
                }),
            )
        },
        Case {
            want_scale: Some(5),
            want_desired: 5,
            want_conditions: status_ok(),
            ..base(
                "another HPA whose selector matches none of these pods changes nothing",
                "TestConditionNoAmbiguousSelectorWhenNoSelectorOverlapBetweenHPAs",
                hpa(&g, vec![cpu(30)]),
                g.input(vec![g.cpu_samples()]),
            )
        },
        Case {
            want_conditions: failed("AmbiguousSelector"),
            want_events: Some(vec!["AmbiguousSelector", "FailedComputeMetricsReplicas"]),
            ..base(
                "pods matched by a second HPA stop scaling with AmbiguousSelector",
                "TestConditionAmbiguousSelectorWhenFullSelectorOverlapBetweenHPAs (and ...PartialSelectorOverlap...)",
                hpa(&g, vec![cpu(30)]),
                tweak(g.input(vec![g.cpu_samples()]), |i| {
                    i.selecting_hpas.push(HpaKey::new("test-namespace", "test-hpa-2"));
                }),
            )
        },
        Case {
            write: Err("something went wrong".into()),
            want_scale: Some(5),
            want_desired: 3,
            want_conditions: ok_with(&[("AbleToScale", False, "FailedUpdateScale")]),
            want_events: Some(vec!["FailedRescale"]),
            ..base(
                "a failed scale write keeps the old desired count and sets AbleToScale=False",
                "TestConditionFailedUpdateScale",
                hpa(&w, vec![cpu(100)]),
                w.input(vec![w.cpu_samples()]),
            )
        },
    ]
}

// ---------------------------------------------------------------------------------------------
// The table tests
// ---------------------------------------------------------------------------------------------

#[test]
fn cpu_utilization_scale_ups_follow_upstream() {
    assert_eq!(run(cpu_scale_up_cases()), 8);
}

#[test]
fn cpu_utilization_scale_downs_follow_upstream() {
    assert_eq!(run(cpu_scale_down_cases()), 6);
}

#[test]
fn container_resource_metrics_follow_upstream() {
    assert_eq!(run(container_resource_cases()), 2);
}

#[test]
fn custom_metrics_follow_upstream() {
    assert_eq!(run(custom_metric_cases()), 4);
    assert_eq!(run(custom_metric_scale_down_cases()), 5);
}

#[test]
fn object_and_external_metrics_follow_upstream() {
    assert_eq!(run(object_and_external_scale_up_cases()), 4);
}

#[test]
fn scale_to_zero_follows_upstream() {
    assert_eq!(run(scale_to_zero_cases()), 18);
}

#[test]
fn tolerances_follow_upstream() {
    assert_eq!(run(tolerance_cases()), 6);
    assert_eq!(run(configurable_tolerance_cases()), 4);
    assert_eq!(run(computed_tolerance_cases()), 2);
}

#[test]
fn replica_limits_follow_upstream() {
    assert_eq!(run(replica_limit_cases()), 13);
}

#[test]
fn metric_edge_cases_follow_upstream() {
    assert_eq!(run(metric_edge_cases()), 9);
}

#[test]
fn several_metrics_and_failures_follow_upstream() {
    assert_eq!(run(multi_metric_cases()), 6);
    assert_eq!(run(failed_metric_cases()), 4);
}

#[test]
fn selectors_and_scale_writes_follow_upstream() {
    assert_eq!(run(selector_and_write_cases()), 5);
}

// ---------------------------------------------------------------------------------------------
// Messages
// ---------------------------------------------------------------------------------------------

#[test]
fn the_rescale_event_names_the_new_size_and_the_metric() {
    // TestEventCreated: verifyEvents checks the SuccessfulRescale message.
    let f = fx(1, 5, 1, 1).levels(&[200]).requests(&[200]);
    let p = hpa(&f, vec![cpu(50)]);
    let mut history = History::default();
    let d = decide(&f.input(vec![f.cpu_samples()]), &p, &cfg(), &mut history, now());
    let done = d.complete(Ok(()), &mut history, &p);
    let event = done.events.last().unwrap();
    assert_eq!(event.type_, EventType::Normal);
    assert_eq!(event.reason, "SuccessfulRescale");
    assert_eq!(
        event.message,
        "New size: 2; reason: cpu resource utilization (percentage of request) above target"
    );
}

/// `TestAvoidUnnecessaryUpdates`: two pods wanted, one cool pod at 40% of an 80% target and two hot
/// ones; the HPA's status already says exactly what this reconcile concludes, so upstream writes no
/// status. Returns the decision and the status the HPA had.
fn unchanged_status_decision() -> (Decision, HpaStatus) {
    let f = fx(2, 6, 2, 2)
        .levels(&[400, 500, 700])
        .requests(&[1000; 3])
        .start(&[Cool, Hot, Hot]);
    let p = hpa(&f, vec![cpu(80)]);
    let an_hour_ago = secs_ago(3600);
    let condition = |type_: &str, reason: &str, message: &str| Condition {
        type_: type_.into(),
        status: True,
        reason: reason.into(),
        message: message.into(),
        last_transition_time: Some(an_hour_ago),
    };
    let old_conditions = vec![
        condition(
            "AbleToScale",
            "ReadyForNewScale",
            "recommended size matches current size",
        ),
        condition(
            "ScalingActive",
            "ValidMetricFound",
            "the HPA was able to successfully calculate a replica count from cpu resource utilization (percentage of request)",
        ),
        condition(
            "ScalingLimited",
            "TooFewReplicas",
            "the desired replica count is less than the minimum replica count",
        ),
    ];
    let input = tweak(f.input(vec![f.cpu_samples()]), |i| {
        i.conditions = old_conditions.clone();
        i.last_scale_time = Some(an_hour_ago);
    });
    let d = decide(&input, &p, &cfg(), &mut emptied(), now());
    let old = HpaStatus {
        current_replicas: 2,
        desired_replicas: 2,
        current_metrics: d.status.current_metrics.clone(),
        conditions: old_conditions,
        last_scale_time: Some(an_hour_ago),
    };
    (d, old)
}

#[test]
// Regression: ScalingActive once said "the HPA controller was able to ...", which made every status
// written by kube-controller-manager differ and be rewritten once.
fn avoid_unnecessary_updates_leaves_the_status_exactly_as_it_was() {
    let (d, old) = unchanged_status_decision();
    assert!(!d.rescale);
    assert_eq!(d.desired_replicas, 2);
    assert!(d.events.is_empty());
    // The metric status upstream had: 40% and 400m.
    let cpu = d.status.current_metrics[0].resource.as_ref().unwrap();
    assert_eq!(cpu.current.average_utilization, Some(40));
    assert_eq!(cpu.current.average_value.as_ref().unwrap().0, "400m");
    assert_eq!(d.status, old, "upstream would skip the status write");
}

// ---------------------------------------------------------------------------------------------
// Sequences over several reconciles, with the clock advanced by hand
// ---------------------------------------------------------------------------------------------

#[test]
fn a_scale_down_waits_out_the_window_from_the_first_recommendation() {
    // TestScaleDownStabilizeInitialSize carried forward: the count seen on first sight (5) holds
    // the scale-down to 3 for the 5 minute window; a sample exactly at the cutoff still counts.
    let f = fx(2, 6, 5, 5)
        .levels(&[100, 300, 500, 250, 250])
        .requests(&[1000; 5]);
    let p = hpa(&f, vec![cpu(50)]);
    let input = f.input(vec![f.cpu_samples()]);
    let mut history = History::default();
    for at in [0, 60, 120, 240, 300] {
        let d = decide(&input, &p, &cfg(), &mut history, later(at));
        assert!(!d.rescale, "at +{at}s the scale-down is still held");
        assert_eq!(d.desired_replicas, 5);
        assert_eq!(
            d.explanation.normalization.as_ref().unwrap().proposal,
            3,
            "at +{at}s the metrics ask for 3"
        );
        let able = d.status.conditions.iter().find(|c| c.type_ == "AbleToScale");
        assert_eq!(able.unwrap().reason, "ScaleDownStabilized", "at +{at}s");
    }
    let d = decide(&input, &p, &cfg(), &mut history, later(301));
    assert!(d.rescale);
    assert_eq!(d.desired_replicas, 3);
    assert_eq!(d.rescale_reason, "All metrics below target");
    let done = d.complete(Ok(()), &mut history, &p);
    assert_eq!(done.status.desired_replicas, 3);
    assert_eq!(done.status.last_scale_time, Some(later(301)));
    // The legacy path keeps no scale events.
    assert!(history.scale_up_events.is_empty() && history.scale_down_events.is_empty());
}

/// `qps` per pod for `n` pods, target 10 per pod, on a behavior that adds at most 2 pods and removes
/// at most half the pods per minute, with no stabilization windows.
fn rate_limited() -> (HpaPolicy, impl Fn(i32, i64) -> HpaInput) {
    let f = fx(1, 10, 0, 0);
    let p = with_behavior(
        hpa(&f, vec![qps_pods(10_000)]),
        BehaviorPolicy {
            scale_up: rules(Some((2, 60)), None, 0),
            scale_down: rules(None, Some((50, 60)), 0),
        },
    );
    let input = |n: i32, per_pod: i64| {
        let g = fx(1, 10, n, n)
            .levels(&vec![per_pod; usize::try_from(n).unwrap()])
            .requests(&vec![1000; usize::try_from(n).unwrap()]);
        g.input(vec![g.custom_samples()])
    };
    (p, input)
}

fn limit_reason(d: &Decision) -> (ConditionStatus, String) {
    let c = d
        .status
        .conditions
        .iter()
        .find(|c| c.type_ == "ScalingLimited")
        .unwrap();
    (c.status, c.reason.clone())
}

#[test]
fn scale_events_recorded_on_completion_pace_a_scale_up_and_the_scale_down_after_it() {
    let (p, input) = rate_limited();
    let mut history = History::default();

    // +0s: 2 pods at 50 against 10 ask for 10; the Pods policy allows 2 + 2.
    let d = decide(&input(2, 50_000), &p, &cfg(), &mut history, later(0));
    assert_eq!((d.rescale, d.desired_replicas), (true, 4));
    assert_eq!(limit_reason(&d), (True, "ScaleUpLimit".into()));
    let done = d.complete(Ok(()), &mut history, &p);
    assert_eq!(
        done.events.last().unwrap().message,
        "New size: 4; reason: pods metric qps above target"
    );
    assert_eq!(
        history.scale_up_events,
        vec![ScaleEvent {
            change: 2,
            timestamp: later(0),
            outdated: false
        }]
    );

    // +15s: still asking for 10, but the 2 added within the minute use up the policy.
    let d = decide(&input(4, 25_000), &p, &cfg(), &mut history, later(15));
    assert_eq!((d.rescale, d.desired_replicas), (false, 4));
    assert_eq!(limit_reason(&d), (True, "ScaleUpLimit".into()));
    d.complete(Ok(()), &mut history, &p);

    // +61s: the first event left the period; 2 more, and its slot is reused.
    let d = decide(&input(4, 25_000), &p, &cfg(), &mut history, later(61));
    assert_eq!((d.rescale, d.desired_replicas), (true, 6));
    d.complete(Ok(()), &mut history, &p);
    assert_eq!(
        history.scale_up_events,
        vec![ScaleEvent {
            change: 2,
            timestamp: later(61),
            outdated: false
        }]
    );

    // +120s: load collapses, the metrics ask for 1. The period started at 6 - 2 (added at +61s) = 4
    // replicas; 50% of 4 leaves 2.
    let d = decide(&input(6, 1000), &p, &cfg(), &mut history, later(120));
    assert_eq!((d.rescale, d.desired_replicas), (true, 2));
    assert_eq!(limit_reason(&d), (True, "ScaleDownLimit".into()));
    assert_eq!(d.rescale_reason, "All metrics below target");
    d.complete(Ok(()), &mut history, &p);
    assert_eq!(
        history.scale_down_events,
        vec![ScaleEvent {
            change: 4,
            timestamp: later(120),
            outdated: false
        }]
    );

    // +150s: the 4 removed within the minute make the period start at 6; 50% of 6 is 3, above the
    // current 2, so nothing more may go.
    let d = decide(&input(2, 1000), &p, &cfg(), &mut history, later(150));
    assert_eq!((d.rescale, d.desired_replicas), (false, 2));
    assert_eq!(limit_reason(&d), (True, "ScaleDownLimit".into()));

    // +181s: the removal left the period: down to 1, reusing the outdated slot.
    let d = decide(&input(2, 1000), &p, &cfg(), &mut history, later(181));
    assert_eq!((d.rescale, d.desired_replicas), (true, 1));
    assert_eq!(limit_reason(&d), (False, "DesiredWithinRange".into()));
    d.complete(Ok(()), &mut history, &p);
    assert_eq!(
        history.scale_down_events,
        vec![ScaleEvent {
            change: 1,
            timestamp: later(181),
            outdated: false
        }]
    );
}

#[test]
fn a_failed_scale_write_records_no_scale_event() {
    let (p, input) = rate_limited();
    let mut history = History::default();
    let d = decide(&input(2, 50_000), &p, &cfg(), &mut history, later(0));
    assert_eq!(d.desired_replicas, 4);
    let done = d.complete(Err("conflict".into()), &mut history, &p);
    assert_eq!(done.status.desired_replicas, 2, "the old desired count stays");
    assert_eq!(
        done.error.as_deref(),
        Some("failed to rescale ReplicationController/test-namespace/test-rc: conflict")
    );
    assert!(history.scale_up_events.is_empty());
    // The next reconcile is not held back by the attempt that did not happen.
    let d = decide(&input(2, 50_000), &p, &cfg(), &mut history, later(15));
    assert_eq!((d.rescale, d.desired_replicas), (true, 4));
}

#[test]
fn repeated_reconciles_inside_the_tolerance_keep_status_and_transition_times() {
    // TestReconciliationsTotalCountMultipleReconciliations: three reconciles at 102% of target.
    let f = fx(1, 5, 3, 3)
        .levels(&[1010, 1030, 1020])
        .requests(&[900, 1000, 1100]);
    let p = hpa(&f, vec![cpu(100)]);
    let mut history = History::default();
    let mut conditions = Vec::new();
    let mut first: Option<HpaStatus> = None;
    for at in [0, 15, 30] {
        let input = tweak(f.input(vec![f.cpu_samples()]), |i| {
            i.conditions = conditions.clone()
        });
        let d = decide(&input, &p, &cfg(), &mut history, later(at));
        assert!(!d.rescale, "+{at}s");
        let done = d.complete(Ok(()), &mut history, &p);
        assert_eq!(conditions_of(&done.status), owned(&not_scaled()), "+{at}s");
        match &first {
            None => first = Some(done.status.clone()),
            Some(s) => assert_eq!(&done.status, s, "+{at}s: the status does not change"),
        }
        conditions = done.status.conditions.clone();
    }
}

#[test]
fn many_hpas_decide_on_their_own_histories() {
    // TestMultipleHPAs: each HPA has one pod at 50% of its request against a 10% target, a
    // behavior (up: 100 pods per minute; down: 2 pods or 1% per minute, 5 minute window) and its
    // own earlier scale events: +8, +12, +9, +11 spread over the last two minutes and -10 three times.
    let behavior = BehaviorPolicy {
        scale_up: rules(Some((100, 60)), None, 0),
        scale_down: rules(Some((2, 60)), Some((1, 60)), 300),
    };
    let event = |change: i32, ago: i64| ScaleEvent {
        change,
        timestamp: secs_ago(ago),
        outdated: false,
    };
    let seeded = || History {
        scale_up_events: vec![event(8, 105), event(12, 75), event(9, 45), event(11, 15)],
        scale_down_events: vec![event(10, 100), event(10, 60), event(10, 20)],
        ..History::default()
    };
    let mut histories: Vec<(HpaKey, History)> = (0..50)
        .map(|i| (HpaKey::new("dummy-namespace", format!("dummy-hpa-{i}")), seeded()))
        .collect();
    let f = fx(1, 10, 1, 1).levels(&[500]).requests(&[1000]);
    for (key, history) in &mut histories {
        let p = with_behavior(hpa(&f, vec![cpu(10)]), behavior.clone());
        let input = tweak(f.input(vec![f.cpu_samples()]), |i| {
            i.key = key.clone();
            i.selecting_hpas = vec![key.clone()];
        });
        let d = decide(&input, &p, &cfg(), history, now());
        // The period started at 1 - 20 + 10 = -9 replicas; +100 allows 91, so 5 it is.
        assert_eq!((d.rescale, d.desired_replicas), (true, 5), "{key}");
        d.complete(Ok(()), history, &p);
    }
    for (key, history) in &histories {
        // The last slot older than the longest scale-up period (60s) was reused.
        let mut want = seeded().scale_up_events;
        want[0].outdated = true;
        want[1] = ScaleEvent {
            change: 4,
            timestamp: now(),
            outdated: false,
        };
        assert_eq!(history.scale_up_events, want, "{key}");
        assert_eq!(history.scale_down_events, seeded().scale_down_events, "{key}");
        assert_eq!(history.recommendations.len(), 2, "{key}: initial and this one");
    }
}

#[test]
fn a_workload_scaled_to_zero_by_the_hpa_comes_back_when_its_metric_does() {
    // TestScaleDownCM (to zero, gate on) followed by TestScaleUpCMObject (from zero, gate on): the
    // ScaledToZero condition written by the first reconcile is what lets the second one act.
    let cfg = cfg_zero(true);
    let f = fx(0, 6, 5, 5).levels(&[0]);
    let p = hpa(&f, vec![qps_external(Target::Value(15_000))]);
    let mut history = emptied();
    let d = decide(&f.input(vec![f.external_values()]), &p, &cfg, &mut history, now());
    assert_eq!((d.rescale, d.desired_replicas), (true, 0));
    let done = d.complete(Ok(()), &mut history, &p);
    assert_eq!(
        conditions_of(&done.status),
        owned(&ok_with(&[("ScaledToZero", True, "ScaledToZero")]))
    );

    // A minute later: zero replicas, no pods, the external metric is back at 20 against 15.
    let g = fx(0, 6, 0, 0).levels(&[20_000]);
    let input = tweak(g.input(vec![g.external_values()]), |i| {
        i.conditions = done.status.conditions.clone();
        i.previous_desired_replicas = 0;
        i.last_scale_time = done.status.last_scale_time;
    });
    let d = decide(&input, &p, &cfg, &mut history, later(60));
    assert_eq!((d.rescale, d.desired_replicas), (true, 2));
    assert_eq!(
        d.rescale_reason,
        "external metric qps(&LabelSelector{MatchLabels:map[string]string{},MatchExpressions:[]LabelSelectorRequirement{},}) above target"
    );
    let done = d.complete(Ok(()), &mut history, &p);
    assert_eq!(
        conditions_of(&done.status),
        owned(&ok_with(&[("ScaledToZero", False, "NotScaledToZero")]))
    );

    // Had the workload been scaled to zero by hand (no condition), nothing would happen.
    let manual = tweak(g.input(vec![g.external_values()]), |i| {
        i.previous_desired_replicas = 0
    });
    let d = decide(&manual, &p, &cfg, &mut emptied(), later(60));
    assert!(!d.rescale);
    assert_eq!(conditions_of(&d.status), owned(&disabled()));
}
