//! Table and property tests for the per-metric replica arithmetic (`replicas.rs`).
//!
//! The expectations come from upstream kubernetes/kubernetes
//! `pkg/controller/podautoscaler/replica_calculator_test.go` (the `TestReplicaCalc*` cases and
//! `TestGroupPods`) and `replica_calculator.go`, restated as Rust tables. Upstream's fixtures give
//! every pod two containers with the same request and the same usage; here a pod's request and sample
//! are the per-pod sums (twice the container value), so upstream's expected raw averages appear here
//! unchanged. Container-metric cases use the one container's numbers. Times follow upstream's testing
//! flags: a 2 minute CPU initialization period, a 10 second initial readiness delay and a 1 minute
//! sample window. A "hot" pod started 30 seconds ago and became ready 20 seconds ago, so a fresh
//! 1 minute sample still covers time before it was ready (upstream reaches the same state with
//! zero-valued sample timestamps).

use jiff::{SignedDuration, Timestamp};
use proptest::prelude::*;
use swell_core::pod::{ConditionStatus, PodPhase, ReadyCondition};
use swell_pod_autoscaler::{
    input::{PodInfo, PodSample, PodSamples},
    policy::Tolerances,
    replicas::{self, NO_MATCHING_METRICS, NO_PODS, NO_READY_METRICS, PodCounts, Proposal, Readiness, Rule},
};

/// 2026-01-01T00:00:00Z, the decision's time.
const NOW: Timestamp = Timestamp::constant(1_767_225_600, 0);
/// One hour before [`NOW`]: pods that started and became ready this long ago are settled.
const LONG_AGO: Timestamp = Timestamp::constant(1_767_222_000, 0);
const CPU_INIT: SignedDuration = SignedDuration::from_mins(2);
const READINESS_DELAY: SignedDuration = SignedDuration::from_secs(10);
const WINDOW: SignedDuration = SignedDuration::from_mins(1);

/// The flag default, 10% both ways.
const TOL: Tolerances = Tolerances {
    scale_down: 0.1,
    scale_up: 0.1,
};
/// Readiness for a `cpu` Resource metric.
const CPU: Readiness = Readiness {
    cpu: true,
    cpu_initialization_period: CPU_INIT,
    initial_readiness_delay: READINESS_DELAY,
    now: NOW,
};
/// Readiness for every other per-pod metric: only the phase matters.
const NOT_CPU: Readiness = Readiness { cpu: false, ..CPU };

fn secs(s: i64) -> SignedDuration {
    SignedDuration::from_secs(s)
}

fn tol(scale_down: f64, scale_up: f64) -> Tolerances {
    Tolerances { scale_down, scale_up }
}

fn condition(status: ConditionStatus, since: Option<Timestamp>) -> ReadyCondition {
    ReadyCondition {
        status,
        last_transition_time: since,
    }
}

/// A settled pod: Running, Ready=True since long ago, started long ago, one request of 1 CPU.
fn pod(name: &str) -> PodInfo {
    PodInfo {
        name: name.to_string(),
        phase: PodPhase::Running,
        terminating: false,
        ready: Some(condition(ConditionStatus::True, Some(LONG_AGO))),
        start_time: Some(LONG_AGO),
        requests: vec![Ok(1000)],
    }
}

/// `pod-0` .. `pod-{n-1}`, each requesting `request` milli-units.
fn pods(n: usize, request: i64) -> Vec<PodInfo> {
    (0..n)
        .map(|i| pod(&format!("pod-{i}")).request(request))
        .collect()
}

/// Pods `pod-0` .. with the given requests.
fn pods_requesting(requests: &[i64]) -> Vec<PodInfo> {
    requests
        .iter()
        .enumerate()
        .map(|(i, r)| pod(&format!("pod-{i}")).request(*r))
        .collect()
}

/// Applies `f` to the pods at `indexes`.
fn with(mut pods: Vec<PodInfo>, indexes: &[usize], f: impl Fn(PodInfo) -> PodInfo) -> Vec<PodInfo> {
    for &i in indexes {
        pods[i] = f(pods[i].clone());
    }
    pods
}

/// Modifiers for [`pod`].
trait PodExt: Sized {
    fn request(self, milli: i64) -> Self;
    fn requests(self, requests: Vec<Result<i64, String>>) -> Self;
    fn phase(self, phase: PodPhase) -> Self;
    fn terminating(self) -> Self;
    /// Ready=False, and never ready: the transition is the start time.
    fn not_ready(self) -> Self;
    /// Started 30 s ago and became ready (or not) 20 s ago: inside the CPU initialization period.
    fn hot(self) -> Self;
    /// Started 3 minutes ago: past the CPU initialization period.
    fn cool(self) -> Self;
    fn started(self, at: Option<Timestamp>) -> Self;
    fn readiness(self, ready: Option<ReadyCondition>) -> Self;
}

impl PodExt for PodInfo {
    fn request(self, milli: i64) -> Self {
        self.requests(vec![Ok(milli)])
    }
    fn requests(self, requests: Vec<Result<i64, String>>) -> Self {
        PodInfo { requests, ..self }
    }
    fn phase(self, phase: PodPhase) -> Self {
        PodInfo { phase, ..self }
    }
    fn terminating(self) -> Self {
        PodInfo {
            terminating: true,
            ..self
        }
    }
    fn not_ready(self) -> Self {
        let since = self.start_time;
        self.readiness(Some(condition(ConditionStatus::False, since)))
    }
    fn hot(self) -> Self {
        let ready = self.ready.map(|r| condition(r.status, Some(NOW - secs(20))));
        self.started(Some(NOW - secs(30))).readiness(ready)
    }
    fn cool(self) -> Self {
        self.started(Some(NOW - SignedDuration::from_mins(3)))
    }
    fn started(self, start_time: Option<Timestamp>) -> Self {
        PodInfo { start_time, ..self }
    }
    fn readiness(self, ready: Option<ReadyCondition>) -> Self {
        PodInfo { ready, ..self }
    }
}

/// A sample taken at [`NOW`] over [`WINDOW`].
fn sample(pod: &str, value: i64) -> PodSample {
    PodSample {
        pod: pod.to_string(),
        value,
        timestamp: NOW,
        window: WINDOW,
    }
}

/// One sample per value, for `pod-0`, `pod-1`, ...
fn usage(values: &[i64]) -> Vec<PodSample> {
    values
        .iter()
        .enumerate()
        .map(|(i, v)| sample(&format!("pod-{i}"), *v))
        .collect()
}

fn plus(mut a: Vec<PodSample>, b: Vec<PodSample>) -> Vec<PodSample> {
    a.extend(b);
    a
}

fn counts(
    ready: usize,
    unready: usize,
    missing: usize,
    ignored: usize,
    extraneous_samples: usize,
) -> PodCounts {
    PodCounts {
        ready,
        unready,
        missing,
        ignored,
        extraneous_samples,
    }
}

fn sorted(mut pods: Vec<PodInfo>) -> Vec<PodInfo> {
    pods.sort_by(|a, b| a.name.cmp(&b.name));
    pods
}

/// Compares and records a mismatch as `case: field: got .. want ..`.
fn check<T: PartialEq + std::fmt::Debug>(
    failures: &mut Vec<String>,
    case: &str,
    field: &str,
    got: T,
    want: T,
) {
    if got != want {
        failures.push(format!("{case}: {field}: got {got:?}, want {want:?}"));
    }
}

fn report(failures: Vec<String>) {
    assert!(
        failures.is_empty(),
        "{} mismatches:\n{}",
        failures.len(),
        failures.join("\n")
    );
}

/// The second pass as the tables state it: what missing pods were filled with, whether unready pods
/// were counted at 0, and the number of samples behind the recomputed count.
#[derive(Clone, Copy, Debug, PartialEq)]
struct Rebalanced {
    missing_filled_with: Option<i64>,
    unready_at_zero: bool,
    samples: usize,
}

fn rebalanced(missing_filled_with: Option<i64>, unready_at_zero: bool, samples: usize) -> Option<Rebalanced> {
    Some(Rebalanced {
        missing_filled_with,
        unready_at_zero,
        samples,
    })
}

fn rebalance_of(p: &Proposal) -> Option<Rebalanced> {
    p.rebalance.map(|r| Rebalanced {
        missing_filled_with: r.missing_filled_with,
        unready_at_zero: r.unready_filled_with_zero,
        samples: r.samples,
    })
}

// ---------------------------------------------------------------------------------------------
// Resource / ContainerResource with a Utilization target
// ---------------------------------------------------------------------------------------------

#[derive(Debug)]
struct UtilWant {
    replicas: i32,
    utilization: i32,
    /// Raw average of the ready samples (milli-units), as the status reports it.
    usage: i64,
    rule: Rule,
    pods: PodCounts,
    rebalance: Option<Rebalanced>,
}

struct UtilCase {
    name: &'static str,
    current: i32,
    target: i32,
    tol: Tolerances,
    pods: Vec<PodInfo>,
    samples: Vec<PodSample>,
    want: Result<UtilWant, &'static str>,
}

fn util(replicas: i32, utilization: i32, usage: i64, rule: Rule, pods: PodCounts) -> UtilWant {
    UtilWant {
        replicas,
        utilization,
        usage,
        rule,
        pods,
        rebalance: None,
    }
}

impl UtilWant {
    fn after(self, rebalance: Option<Rebalanced>) -> Self {
        UtilWant { rebalance, ..self }
    }
}

fn run_utilization(c: &UtilCase) -> Result<Proposal, String> {
    let pods = sorted(c.pods.clone());
    let samples = PodSamples::new(c.samples.clone());
    replicas::resource_utilization(&pods, samples.as_slice(), 0, c.target, c.current, &c.tol, &CPU)
        .map_err(|e| e.to_string())
}

fn utilization_cases() -> Vec<UtilCase> {
    use Rule::*;
    vec![
        // --- upstream TestReplicaCalcResourceScale ---
        UtilCase {
            name: "scale up: three pods at 50% of request against a 30% target become five",
            current: 3,
            target: 30,
            tol: TOL,
            pods: pods(3, 2000),
            samples: usage(&[600, 1000, 1400]),
            want: Ok(util(5, 50, 1000, Scaled, counts(3, 0, 0, 0, 0))),
        },
        UtilCase {
            name: "scale up: a container metric uses that container's request and usage",
            current: 3,
            target: 30,
            tol: TOL,
            pods: pods(3, 1000),
            samples: usage(&[300, 500, 700]),
            want: Ok(util(5, 50, 500, Scaled, counts(3, 0, 0, 0, 0))),
        },
        UtilCase {
            name: "scale up: an unready pod counted at zero scales less",
            current: 3,
            target: 30,
            tol: TOL,
            pods: with(pods(3, 2000), &[0], PodExt::not_ready),
            samples: usage(&[600, 1000, 1400]),
            want: Ok(
                util(4, 60, 1200, RebalancedScaled, counts(2, 1, 0, 0, 0)).after(rebalanced(None, true, 3))
            ),
        },
        UtilCase {
            name: "scale up: a hot-CPU container counted at zero scales less",
            current: 3,
            target: 30,
            tol: TOL,
            pods: with(pods(3, 1000), &[0], PodExt::hot),
            samples: usage(&[300, 500, 700]),
            want: Ok(
                util(4, 60, 600, RebalancedScaled, counts(2, 1, 0, 0, 0)).after(rebalanced(None, true, 3))
            ),
        },
        UtilCase {
            name: "scale up: a hot-CPU pod counted at zero scales less",
            current: 3,
            target: 30,
            tol: TOL,
            pods: with(pods(3, 2000), &[0], PodExt::hot),
            samples: usage(&[600, 1000, 1400]),
            want: Ok(
                util(4, 60, 1200, RebalancedScaled, counts(2, 1, 0, 0, 0)).after(rebalanced(None, true, 3))
            ),
        },
        UtilCase {
            name: "no scale: two unready pods at zero would flip a scale-up into a scale-down",
            current: 3,
            target: 30,
            tol: TOL,
            pods: with(pods(3, 2000), &[1, 2], PodExt::not_ready),
            samples: usage(&[800, 1000, 1400]),
            want: Ok(util(3, 40, 800, RebalanceFlippedDirection, counts(1, 2, 0, 0, 0))
                .after(rebalanced(None, true, 3))),
        },
        UtilCase {
            name: "no scale: two hot unready pods at zero would flip a scale-up into a scale-down",
            current: 3,
            target: 30,
            tol: TOL,
            pods: with(pods(3, 2000), &[1, 2], |p| p.not_ready().hot()),
            samples: usage(&[800, 1000, 1400]),
            want: Ok(util(3, 40, 800, RebalanceFlippedDirection, counts(1, 2, 0, 0, 0))
                .after(rebalanced(None, true, 3))),
        },
        UtilCase {
            name: "scale up: failed pods without samples are ignored, not missing",
            current: 2,
            target: 30,
            tol: TOL,
            pods: with(pods(4, 2000), &[2, 3], |p| p.not_ready().phase(PodPhase::Failed)),
            samples: usage(&[1000, 1400]),
            want: Ok(util(4, 60, 1200, Scaled, counts(2, 0, 0, 2, 0))),
        },
        UtilCase {
            name: "scale up: failed pods with samples are ignored",
            current: 2,
            target: 30,
            tol: TOL,
            pods: with(pods(4, 1000), &[2, 3], |p| p.not_ready().phase(PodPhase::Failed)),
            samples: usage(&[500, 700, 9000, 9000]),
            want: Ok(util(4, 60, 600, Scaled, counts(2, 0, 0, 2, 0))),
        },
        UtilCase {
            name: "scale up: pods being deleted are ignored",
            current: 2,
            target: 30,
            tol: TOL,
            pods: with(pods(4, 2000), &[2, 3], |p| p.not_ready().terminating()),
            samples: usage(&[1000, 1400]),
            want: Ok(util(4, 60, 1200, Scaled, counts(2, 0, 0, 2, 0))),
        },
        UtilCase {
            name: "scale up: pods being deleted are ignored even with samples",
            current: 2,
            target: 30,
            tol: TOL,
            pods: with(pods(4, 1000), &[2, 3], |p| p.not_ready().terminating()),
            samples: usage(&[500, 700, 5000, 5000]),
            want: Ok(util(4, 60, 600, Scaled, counts(2, 0, 0, 2, 0))),
        },
        UtilCase {
            name: "scale down: five pods at 28% against a 50% target become three",
            current: 5,
            target: 50,
            tol: TOL,
            pods: pods(5, 2000),
            samples: usage(&[200, 600, 1000, 500, 500]),
            want: Ok(util(3, 28, 560, Scaled, counts(5, 0, 0, 0, 0))),
        },
        UtilCase {
            name: "scale down: a container metric at 28% becomes three",
            current: 5,
            target: 50,
            tol: TOL,
            pods: pods(5, 1000),
            samples: usage(&[100, 300, 500, 250, 250]),
            want: Ok(util(3, 28, 280, Scaled, counts(5, 0, 0, 0, 0))),
        },
        UtilCase {
            name: "scale down: unready pods are left out and not filled in",
            current: 5,
            target: 50,
            tol: TOL,
            pods: with(pods(5, 2000), &[3, 4], PodExt::not_ready),
            samples: usage(&[200, 600, 1000, 500, 500]),
            want: Ok(util(2, 30, 600, Scaled, counts(3, 2, 0, 0, 0))),
        },
        UtilCase {
            name: "scale down: a container metric leaves unready pods out",
            current: 5,
            target: 50,
            tol: TOL,
            pods: with(pods(5, 1000), &[3, 4], PodExt::not_ready),
            samples: usage(&[100, 300, 500, 250, 250]),
            want: Ok(util(2, 30, 300, Scaled, counts(3, 2, 0, 0, 0))),
        },
        UtilCase {
            name: "scale down: unscheduled pending pods are unready",
            current: 5,
            target: 50,
            tol: TOL,
            pods: with(pods(5, 2000), &[1, 2, 3, 4], |p| {
                p.not_ready().phase(PodPhase::Pending)
            }),
            samples: usage(&[200]),
            want: Ok(util(1, 10, 200, Scaled, counts(1, 4, 0, 0, 0))),
        },
        UtilCase {
            name: "scale down: pending pods are unready even when they have samples",
            current: 5,
            target: 50,
            tol: TOL,
            pods: with(pods(5, 1000), &[1, 2, 3, 4], |p| {
                p.not_ready().phase(PodPhase::Pending)
            }),
            samples: usage(&[100, 300, 500, 250, 250]),
            want: Ok(util(1, 10, 100, Scaled, counts(1, 4, 0, 0, 0))),
        },
        UtilCase {
            name: "scale down: hot-CPU pods are left out",
            current: 5,
            target: 50,
            tol: TOL,
            pods: with(pods(5, 2000), &[3, 4], PodExt::hot),
            samples: usage(&[200, 600, 1000, 500, 500]),
            want: Ok(util(2, 30, 600, Scaled, counts(3, 2, 0, 0, 0))),
        },
        UtilCase {
            name: "scale down: a container metric leaves hot-CPU pods out",
            current: 5,
            target: 50,
            tol: TOL,
            pods: with(pods(5, 1000), &[3, 4], PodExt::hot),
            samples: usage(&[100, 300, 500, 1000, 1000]),
            want: Ok(util(2, 30, 300, Scaled, counts(3, 2, 0, 0, 0))),
        },
        UtilCase {
            name: "scale down: failed pods are ignored",
            current: 5,
            target: 50,
            tol: TOL,
            pods: with(pods(7, 2000), &[5, 6], |p| p.not_ready().phase(PodPhase::Failed)),
            samples: usage(&[200, 600, 1000, 500, 500]),
            want: Ok(util(3, 28, 560, Scaled, counts(5, 0, 0, 2, 0))),
        },
        UtilCase {
            name: "scale down: pods being deleted are ignored",
            current: 5,
            target: 50,
            tol: TOL,
            pods: with(pods(7, 2000), &[5, 6], |p| p.not_ready().terminating()),
            samples: usage(&[200, 600, 1000, 500, 500]),
            want: Ok(util(3, 28, 560, Scaled, counts(5, 0, 0, 2, 0))),
        },
        UtilCase {
            // Regression test upstream for kubernetes/kubernetes#83561.
            name: "scale down: still-running pods being deleted are ignored (k/k#83561)",
            current: 5,
            target: 50,
            tol: TOL,
            pods: with(pods(7, 1000), &[5, 6], |p| p.not_ready().terminating()),
            samples: usage(&[100, 300, 500, 250, 250, 900, 900]),
            want: Ok(util(3, 28, 280, Scaled, counts(5, 0, 0, 2, 0))),
        },
        // --- upstream TestReplicaCalcDisjointResourcesMetrics ---
        UtilCase {
            name: "samples that match no listed pod leave no request to divide by",
            current: 1,
            target: 100,
            tol: TOL,
            pods: pods(1, 2000),
            samples: vec![sample("an-older-pod-name", 200)],
            want: Err(NO_MATCHING_METRICS),
        },
        // --- upstream TestReplicaCalcTolerance / TestReplicaCalcConfigurableTolerance ---
        UtilCase {
            name: "102% of a 100% target is inside the default band",
            current: 3,
            target: 100,
            tol: TOL,
            pods: pods_requesting(&[1800, 2000, 2200]),
            samples: usage(&[2020, 2060, 2040]),
            want: Ok(util(3, 102, 2040, WithinTolerance, counts(3, 0, 0, 0, 0))),
        },
        UtilCase {
            name: "101% is outside a 0% tolerance",
            current: 3,
            target: 100,
            tol: tol(0.0, 0.0),
            pods: pods_requesting(&[1800, 2000, 2200]),
            samples: usage(&[1818, 2020, 2222]),
            want: Ok(util(4, 101, 2020, Scaled, counts(3, 0, 0, 0, 0))),
        },
        UtilCase {
            name: "190% is inside a 200% scale-up tolerance",
            current: 3,
            target: 100,
            tol: tol(0.1, 2.0),
            pods: pods_requesting(&[1800, 2000, 2200]),
            samples: usage(&[3780, 3820, 3800]),
            want: Ok(util(3, 190, 3800, WithinTolerance, counts(3, 0, 0, 0, 0))),
        },
        UtilCase {
            name: "109% is outside an 8% scale-up tolerance whatever the scale-down tolerance",
            current: 3,
            target: 100,
            tol: tol(2.0, 0.08),
            pods: pods_requesting(&[1800, 2000, 2200]),
            samples: usage(&[2200, 2160, 2180]),
            want: Ok(util(4, 109, 2180, Scaled, counts(3, 0, 0, 0, 0))),
        },
        UtilCase {
            name: "65% is inside a 36% scale-down tolerance",
            current: 3,
            target: 100,
            tol: tol(0.36, 0.1),
            pods: pods_requesting(&[1800, 2000, 2200]),
            samples: usage(&[1320, 1280, 1300]),
            want: Ok(util(3, 65, 1300, WithinTolerance, counts(3, 0, 0, 0, 0))),
        },
        UtilCase {
            name: "65% is outside a 34% scale-down tolerance",
            current: 3,
            target: 100,
            tol: tol(0.34, 0.1),
            pods: pods_requesting(&[1800, 2000, 2200]),
            samples: usage(&[1320, 1280, 1300]),
            want: Ok(util(2, 65, 1300, Scaled, counts(3, 0, 0, 0, 0))),
        },
        // --- upstream TestReplicaCalcSuperfluousMetrics ---
        UtilCase {
            name: "samples for pods not listed are kept out of the utilization",
            current: 4,
            target: 100,
            tol: TOL,
            pods: pods(4, 2000),
            samples: usage(&[8000, 19000, 6000, 14000, 6400, 4000]),
            want: Ok(util(24, 587, 11750, Scaled, counts(4, 0, 0, 0, 2))),
        },
        // --- upstream TestReplicaCalcMissingMetrics* ---
        UtilCase {
            name: "missing pods on a scale-down are filled at 100% of their request",
            current: 4,
            target: 100,
            tol: TOL,
            pods: pods(4, 2000),
            samples: usage(&[800, 190]),
            want: Ok(
                util(3, 24, 495, RebalancedScaled, counts(2, 0, 2, 0, 0)).after(rebalanced(
                    Some(100),
                    false,
                    4,
                )),
            ),
        },
        UtilCase {
            name: "missing pods at exactly the target change nothing",
            current: 2,
            target: 100,
            tol: TOL,
            pods: pods(2, 2000),
            samples: usage(&[2000]),
            want: Ok(
                util(2, 100, 2000, RebalancedWithinTolerance, counts(1, 0, 1, 0, 0))
                    .after(rebalanced(None, false, 1)),
            ),
        },
        UtilCase {
            name: "a missing pod at zero pulls a 190% scale-up back into the band",
            current: 2,
            target: 100,
            tol: TOL,
            pods: pods(2, 2000),
            samples: usage(&[3800]),
            want: Ok(
                util(2, 190, 3800, RebalancedWithinTolerance, counts(1, 0, 1, 0, 0)).after(rebalanced(
                    Some(0),
                    false,
                    2,
                )),
            ),
        },
        UtilCase {
            name: "a missing pod at its request keeps a 60% scale-down at the current count",
            current: 2,
            target: 100,
            tol: TOL,
            pods: pods(2, 2000),
            samples: usage(&[1200]),
            want: Ok(
                util(2, 60, 1200, RebalancedScaled, counts(1, 0, 1, 0, 0)).after(rebalanced(
                    Some(100),
                    false,
                    2,
                )),
            ),
        },
        UtilCase {
            name: "a missing pod at its request would flip a scale-down into a scale-up",
            current: 3,
            target: 50,
            tol: TOL,
            pods: with(pods(3, 2000), &[0], PodExt::not_ready),
            samples: usage(&[200, 900]),
            want: Ok(
                util(3, 45, 900, RebalanceFlippedDirection, counts(1, 1, 1, 0, 0)).after(rebalanced(
                    Some(100),
                    false,
                    2,
                )),
            ),
        },
        UtilCase {
            name: "a missing pod beside a hot pod would flip a scale-down into a scale-up",
            current: 3,
            target: 50,
            tol: TOL,
            pods: with(pods(3, 2000), &[0], PodExt::hot),
            samples: usage(&[200, 900]),
            want: Ok(
                util(3, 45, 900, RebalanceFlippedDirection, counts(1, 1, 1, 0, 0)).after(rebalanced(
                    Some(100),
                    false,
                    2,
                )),
            ),
        },
        UtilCase {
            name: "missing and unready pods at zero still scale up",
            current: 3,
            target: 50,
            tol: TOL,
            pods: with(pods(3, 2000), &[0], PodExt::not_ready),
            samples: usage(&[200, 4000]),
            want: Ok(
                util(4, 200, 4000, RebalancedScaled, counts(1, 1, 1, 0, 0)).after(rebalanced(
                    Some(0),
                    true,
                    3,
                )),
            ),
        },
        UtilCase {
            name: "missing and hot unready pods at zero still scale up",
            current: 3,
            target: 50,
            tol: TOL,
            pods: with(pods(3, 2000), &[0], |p| p.not_ready().hot()),
            samples: usage(&[200, 4000]),
            want: Ok(
                util(4, 200, 4000, RebalancedScaled, counts(1, 1, 1, 0, 0)).after(rebalanced(
                    Some(0),
                    true,
                    3,
                )),
            ),
        },
        UtilCase {
            name: "a missing pod at its request scales down less, unready pods stay out",
            current: 4,
            target: 50,
            tol: TOL,
            pods: with(pods(4, 2000), &[0], PodExt::not_ready),
            samples: usage(&[200, 200, 200]),
            want: Ok(
                util(3, 10, 200, RebalancedScaled, counts(2, 1, 1, 0, 0)).after(rebalanced(
                    Some(100),
                    false,
                    3,
                )),
            ),
        },
        UtilCase {
            name: "a missing pod is filled at the target when the target is above 100%",
            current: 4,
            target: 300,
            tol: TOL,
            pods: with(
                pods_requesting(&[2000, 2000, 4000, 4000]),
                &[0],
                PodExt::not_ready,
            ),
            samples: usage(&[400, 200, 200]),
            want: Ok(
                util(2, 6, 200, RebalancedScaled, counts(2, 1, 1, 0, 0)).after(rebalanced(
                    Some(300),
                    false,
                    3,
                )),
            ),
        },
        UtilCase {
            name: "a surge pod without samples cannot turn a scale-down into more replicas",
            current: 2,
            target: 50,
            tol: TOL,
            pods: pods(3, 2000),
            samples: usage(&[200, 200]),
            want: Ok(
                util(2, 10, 200, ReplicaCountFlippedDirection, counts(2, 0, 1, 0, 0)).after(rebalanced(
                    Some(100),
                    false,
                    3,
                )),
            ),
        },
        // --- upstream TestReplicaCalcComputedToleranceAlgImplementation ---
        UtilCase {
            name: "50% against a 56% target is just outside the band and scales ten pods to nine",
            current: 10,
            target: 56,
            tol: TOL,
            pods: pods_requesting(&[800, 400, 620, 580, 604, 596, 602, 598, 600, 600]),
            samples: usage(&[300; 10]),
            want: Ok(util(9, 50, 300, Scaled, counts(10, 0, 0, 0, 0))),
        },
        UtilCase {
            name: "50% against a 55% target is just inside the band and keeps ten pods",
            current: 10,
            target: 55,
            tol: TOL,
            pods: pods_requesting(&[800, 400, 620, 580, 604, 596, 602, 598, 600, 600]),
            samples: usage(&[300; 10]),
            want: Ok(util(10, 50, 300, WithinTolerance, counts(10, 0, 0, 0, 0))),
        },
        // --- the band edges, per direction ---
        UtilCase {
            name: "a ratio of exactly 1.1 is inside the band",
            current: 3,
            target: 100,
            tol: TOL,
            pods: pods(3, 1000),
            samples: usage(&[1100, 1100, 1100]),
            want: Ok(util(3, 110, 1100, WithinTolerance, counts(3, 0, 0, 0, 0))),
        },
        UtilCase {
            name: "a ratio of exactly 0.9 is inside the band",
            current: 3,
            target: 100,
            tol: TOL,
            pods: pods(3, 1000),
            samples: usage(&[900, 900, 900]),
            want: Ok(util(3, 90, 900, WithinTolerance, counts(3, 0, 0, 0, 0))),
        },
        UtilCase {
            name: "a ratio of 1.11 is above the band",
            current: 3,
            target: 100,
            tol: TOL,
            pods: pods(3, 1000),
            samples: usage(&[1110, 1110, 1110]),
            want: Ok(util(4, 111, 1110, Scaled, counts(3, 0, 0, 0, 0))),
        },
        UtilCase {
            name: "a ratio of 0.89 is below the band",
            current: 10,
            target: 100,
            tol: TOL,
            pods: pods(10, 1000),
            samples: usage(&[890; 10]),
            want: Ok(util(9, 89, 890, Scaled, counts(10, 0, 0, 0, 0))),
        },
        UtilCase {
            name: "a wide scale-down tolerance does not widen the scale-up side",
            current: 3,
            target: 100,
            tol: tol(0.5, 0.05),
            pods: pods(3, 1000),
            samples: usage(&[1060, 1060, 1060]),
            want: Ok(util(4, 106, 1060, Scaled, counts(3, 0, 0, 0, 0))),
        },
        UtilCase {
            name: "a wide scale-down tolerance keeps 55%",
            current: 3,
            target: 100,
            tol: tol(0.5, 0.05),
            pods: pods(3, 1000),
            samples: usage(&[550, 550, 550]),
            want: Ok(util(3, 55, 550, WithinTolerance, counts(3, 0, 0, 0, 0))),
        },
        UtilCase {
            name: "the band applies to the rebalanced ratio with per-direction tolerances",
            current: 2,
            target: 100,
            tol: tol(0.1, 0.0),
            pods: pods(2, 2000),
            samples: usage(&[4400]),
            // 220% with one pod at 0 gives 110%: outside a 0% scale-up band, ceil(1.1 * 2) = 3.
            want: Ok(
                util(3, 220, 4400, RebalancedScaled, counts(1, 0, 1, 0, 0)).after(rebalanced(
                    Some(0),
                    false,
                    2,
                )),
            ),
        },
        // --- truncation of the utilization percentage ---
        UtilCase {
            name: "110.97% truncates to 110% and stays inside the band",
            current: 3,
            target: 100,
            tol: TOL,
            pods: pods(3, 1000),
            samples: usage(&[1110, 1110, 1109]),
            want: Ok(util(3, 110, 1109, WithinTolerance, counts(3, 0, 0, 0, 0))),
        },
        UtilCase {
            name: "50.9% truncates to 50% and halves four pods to two",
            current: 4,
            target: 100,
            tol: TOL,
            pods: pods(4, 1000),
            samples: usage(&[509, 509, 509, 509]),
            want: Ok(util(2, 50, 509, Scaled, counts(4, 0, 0, 0, 0))),
        },
        UtilCase {
            name: "utilization is total usage over total requests, not the mean of per-pod ratios",
            current: 3,
            target: 50,
            tol: TOL,
            pods: pods_requesting(&[250, 1000, 2750]),
            samples: usage(&[250, 500, 1250]),
            want: Ok(util(3, 50, 666, WithinTolerance, counts(3, 0, 0, 0, 0))),
        },
        UtilCase {
            name: "pods with requests of different sizes weigh by their request",
            current: 2,
            target: 50,
            tol: TOL,
            pods: pods_requesting(&[500, 3500]),
            // 200% and 20% of request; the mean of those (110%) would ask for five.
            samples: usage(&[1000, 700]),
            want: Ok(util(2, 42, 850, Scaled, counts(2, 0, 0, 0, 0))),
        },
        UtilCase {
            name: "extraneous samples count in the rebalanced sample count",
            current: 3,
            target: 100,
            tol: TOL,
            pods: pods(3, 1000),
            samples: plus(usage(&[3000, 3000]), vec![sample("zz-gone", 5000)]),
            want: Ok(
                util(8, 300, 3000, RebalancedScaled, counts(2, 0, 1, 0, 1)).after(rebalanced(
                    Some(0),
                    false,
                    4,
                )),
            ),
        },
        UtilCase {
            name: "succeeded pods with samples count as ready",
            current: 2,
            target: 50,
            tol: TOL,
            pods: with(pods(2, 1000), &[1], |p| p.phase(PodPhase::Succeeded)),
            samples: usage(&[1000, 1000]),
            want: Ok(util(4, 100, 1000, Scaled, counts(2, 0, 0, 0, 0))),
        },
        // --- errors ---
        UtilCase {
            name: "no pods is an error",
            current: 3,
            target: 50,
            tol: TOL,
            pods: vec![],
            samples: usage(&[100]),
            want: Err(NO_PODS),
        },
        UtilCase {
            name: "all pods unready is an error",
            current: 2,
            target: 50,
            tol: TOL,
            pods: with(pods(2, 1000), &[0, 1], |p| p.not_ready().phase(PodPhase::Pending)),
            samples: usage(&[100, 100]),
            want: Err(NO_READY_METRICS),
        },
        UtilCase {
            name: "pods without any samples is an error",
            current: 3,
            target: 50,
            tol: TOL,
            pods: pods(3, 1000),
            samples: vec![],
            want: Err(NO_READY_METRICS),
        },
        UtilCase {
            name: "only failed or deleted pods with samples is an error",
            current: 2,
            target: 50,
            tol: TOL,
            pods: vec![pod("pod-0").phase(PodPhase::Failed), pod("pod-1").terminating()],
            samples: usage(&[100, 100]),
            want: Err(NO_READY_METRICS),
        },
        UtilCase {
            name: "zero requests leave nothing to divide by",
            current: 1,
            target: 50,
            tol: TOL,
            pods: pods(1, 0),
            samples: usage(&[100]),
            want: Err(NO_MATCHING_METRICS),
        },
        UtilCase {
            name: "a container without the request is reported with upstream's message",
            current: 2,
            target: 50,
            tol: TOL,
            pods: with(pods(2, 1000), &[1], |p| {
                p.requests(vec![Err(
                    "missing request for cpu in container app of Pod pod-1".to_string()
                )])
            }),
            samples: usage(&[100, 100]),
            want: Err("missing request for cpu in container app of Pod pod-1"),
        },
        UtilCase {
            name: "a pod without the request index is a missing request",
            current: 1,
            target: 100,
            tol: TOL,
            pods: vec![pod("pod-0").requests(vec![])],
            samples: usage(&[200]),
            want: Err("missing request for"),
        },
        UtilCase {
            name: "a failed pod without a request still fails the metric",
            current: 1,
            target: 100,
            tol: TOL,
            pods: vec![
                pod("pod-0"),
                pod("pod-1").phase(PodPhase::Failed).requests(vec![Err(
                    "missing request for cpu in container app of Pod pod-1".to_string(),
                )]),
            ],
            samples: usage(&[200]),
            want: Err("missing request for cpu in container app of Pod pod-1"),
        },
        UtilCase {
            name: "no ready metrics is reported before a missing request",
            current: 1,
            target: 100,
            tol: TOL,
            pods: vec![pod("pod-0").phase(PodPhase::Pending).requests(vec![])],
            samples: usage(&[200]),
            want: Err(NO_READY_METRICS),
        },
    ]
}

#[test]
fn resource_utilization_matches_upstream_replica_calculator_cases() {
    let mut failures = Vec::new();
    let cases = utilization_cases();
    for c in &cases {
        let got = run_utilization(c);
        match (&got, &c.want) {
            (Ok(p), Ok(w)) => {
                check(&mut failures, c.name, "replicas", p.replicas, w.replicas);
                check(
                    &mut failures,
                    c.name,
                    "utilization",
                    p.utilization,
                    Some(w.utilization),
                );
                check(&mut failures, c.name, "usage", p.usage, w.usage);
                check(
                    &mut failures,
                    c.name,
                    "ratio",
                    p.ratio,
                    f64::from(w.utilization) / f64::from(c.target),
                );
                check(&mut failures, c.name, "rule", p.rule, w.rule);
                check(&mut failures, c.name, "pods", p.pods, Some(w.pods));
                check(
                    &mut failures,
                    c.name,
                    "ready_pods",
                    p.ready_pods,
                    Some(w.pods.ready),
                );
                check(&mut failures, c.name, "rebalance", rebalance_of(p), w.rebalance);
            }
            (Err(e), Err(w)) => {
                if !e.contains(w) {
                    failures.push(format!("{}: error {e:?} does not contain {w:?}", c.name));
                }
            }
            _ => failures.push(format!("{}: got {got:?}, want {:?}", c.name, c.want)),
        }
    }
    report(failures);
}

// ---------------------------------------------------------------------------------------------
// CPU readiness (upstream groupPods, the CPU branch)
// ---------------------------------------------------------------------------------------------

struct ReadinessCase {
    name: &'static str,
    /// Ready condition: status and transition time.
    ready: Option<(ConditionStatus, Option<Timestamp>)>,
    start: Option<Timestamp>,
    sample_at: Timestamp,
    window: SignedDuration,
    unready: bool,
}

fn ago(s: i64) -> Timestamp {
    NOW - secs(s)
}

fn readiness_cases() -> Vec<ReadinessCase> {
    use ConditionStatus::{False, True, Unknown};
    vec![
        ReadinessCase {
            name: "a pod without a Ready condition is unready",
            ready: None,
            start: Some(NOW),
            sample_at: NOW,
            window: WINDOW,
            unready: true,
        },
        ReadinessCase {
            name: "a pod without a start time is unready",
            ready: Some((True, Some(LONG_AGO))),
            start: None,
            sample_at: NOW,
            window: WINDOW,
            unready: true,
        },
        ReadinessCase {
            name: "inside the initialization period a sample taken a full window after readiness counts",
            ready: Some((True, Some(ago(30)))),
            start: Some(ago(60)),
            sample_at: NOW,
            window: secs(30),
            unready: false,
        },
        ReadinessCase {
            name: "inside the initialization period a sample whose window began before readiness is unready",
            ready: Some((True, Some(ago(30)))),
            start: Some(ago(60)),
            sample_at: NOW,
            window: secs(60),
            unready: true,
        },
        ReadinessCase {
            name: "inside the initialization period a sample one second short of a window is unready",
            ready: Some((True, Some(ago(30)))),
            start: Some(ago(60)),
            sample_at: NOW,
            window: secs(31),
            unready: true,
        },
        ReadinessCase {
            name: "inside the initialization period Ready=False is unready even with a fresh sample",
            ready: Some((False, Some(ago(50)))),
            start: Some(ago(60)),
            sample_at: NOW,
            window: secs(30),
            unready: true,
        },
        ReadinessCase {
            name: "inside the initialization period Ready=Unknown with a fresh sample counts",
            ready: Some((Unknown, Some(ago(50)))),
            start: Some(ago(60)),
            sample_at: NOW,
            window: secs(30),
            unready: false,
        },
        ReadinessCase {
            name: "a Ready condition without a transition time reads as long ago",
            ready: Some((True, None)),
            start: Some(ago(60)),
            sample_at: NOW,
            window: WINDOW,
            unready: false,
        },
        ReadinessCase {
            name: "one second before the period ends a stale sample is still unready",
            ready: Some((True, Some(ago(30)))),
            start: Some(ago(119)),
            sample_at: NOW,
            window: WINDOW,
            unready: true,
        },
        ReadinessCase {
            name: "exactly at the end of the period the after-period rule applies",
            ready: Some((True, Some(ago(30)))),
            start: Some(ago(120)),
            sample_at: NOW,
            window: WINDOW,
            unready: false,
        },
        ReadinessCase {
            name: "after the period a ready pod with an old sample counts",
            ready: Some((True, Some(ago(180)))),
            start: Some(ago(180)),
            sample_at: ago(120),
            window: WINDOW,
            unready: false,
        },
        ReadinessCase {
            name: "after the period a pod that was ready and then became unready counts",
            ready: Some((False, Some(ago(540)))),
            start: Some(ago(600)),
            sample_at: NOW,
            window: WINDOW,
            unready: false,
        },
        ReadinessCase {
            name: "after the period a pod that never became ready within the delay is unready",
            ready: Some((False, Some(ago(594)))),
            start: Some(ago(600)),
            sample_at: NOW,
            window: WINDOW,
            unready: true,
        },
        ReadinessCase {
            name: "after the period a transition exactly at start plus the delay counts",
            ready: Some((False, Some(ago(590)))),
            start: Some(ago(600)),
            sample_at: NOW,
            window: WINDOW,
            unready: false,
        },
        ReadinessCase {
            name: "after the period Ready=False without a transition time is unready",
            ready: Some((False, None)),
            start: Some(ago(600)),
            sample_at: NOW,
            window: WINDOW,
            unready: true,
        },
        ReadinessCase {
            name: "after the period Ready=Unknown counts",
            ready: Some((Unknown, Some(ago(600)))),
            start: Some(ago(600)),
            sample_at: NOW,
            window: WINDOW,
            unready: false,
        },
    ]
}

#[test]
fn cpu_samples_are_trusted_as_upstream_group_pods_decides() {
    let mut failures = Vec::new();
    for c in readiness_cases() {
        let p = pod("p")
            .started(c.start)
            .readiness(c.ready.map(|(s, t)| condition(s, t)));
        let s = PodSample {
            pod: "p".to_string(),
            value: 1,
            timestamp: c.sample_at,
            window: c.window,
        };
        let got = replicas::cpu_sample_unready(&p, &s, CPU_INIT, READINESS_DELAY, NOW);
        check(&mut failures, c.name, "unready", got, c.unready);
    }
    report(failures);
}

struct GroupCase {
    name: &'static str,
    cpu: bool,
    pods: Vec<PodInfo>,
    samples: Vec<PodSample>,
    /// Counts without the always-ready anchor pod the runner adds.
    want: PodCounts,
}

fn group_cases() -> Vec<GroupCase> {
    let bare = |name: &str| pod(name).readiness(None).phase(PodPhase::Succeeded);
    vec![
        GroupCase {
            name: "a succeeded pod with a sample counts as ready for memory",
            cpu: false,
            pods: vec![bare("bentham").started(None)],
            samples: vec![sample("bentham", 1)],
            want: counts(1, 0, 0, 0, 0),
        },
        GroupCase {
            name: "a pod without a Ready condition is unready for cpu",
            cpu: true,
            pods: vec![bare("lucretius").started(Some(NOW))],
            samples: vec![sample("lucretius", 1)],
            want: counts(0, 1, 0, 0, 0),
        },
        GroupCase {
            name: "a Ready=False pod counts for a non-cpu metric",
            cpu: false,
            pods: vec![pod("kant").not_ready().hot()],
            samples: vec![sample("kant", 1)],
            want: counts(1, 0, 0, 0, 0),
        },
        GroupCase {
            name: "a pod without a sample is missing, not unready",
            cpu: true,
            pods: vec![bare("epicurus").cool()],
            samples: vec![],
            want: counts(0, 0, 1, 0, 0),
        },
        GroupCase {
            name: "several pods are grouped one by one",
            cpu: true,
            pods: vec![
                bare("lucretius").started(Some(NOW)),
                bare("niccolo")
                    .cool()
                    .readiness(Some(condition(ConditionStatus::True, Some(ago(180))))),
                bare("epicurus").cool(),
            ],
            samples: vec![sample("lucretius", 1), sample("niccolo", 1)],
            want: counts(1, 1, 1, 0, 0),
        },
        GroupCase {
            name: "pending pods are unready even without a sample",
            cpu: true,
            pods: vec![pod("unscheduled").phase(PodPhase::Pending).readiness(None)],
            samples: vec![],
            want: counts(0, 1, 0, 0, 0),
        },
        GroupCase {
            name: "pending pods are unready for non-cpu metrics too",
            cpu: false,
            pods: vec![pod("unscheduled").phase(PodPhase::Pending)],
            samples: vec![sample("unscheduled", 1)],
            want: counts(0, 1, 0, 0, 0),
        },
        GroupCase {
            name: "pods with a deletion timestamp are ignored even when pending",
            cpu: true,
            pods: vec![pod("deleted").phase(PodPhase::Pending).terminating()],
            samples: vec![sample("deleted", 1)],
            want: counts(0, 0, 0, 1, 0),
        },
        GroupCase {
            name: "pods being deleted are ignored rather than missing",
            cpu: false,
            pods: vec![pod("deleted").terminating()],
            samples: vec![],
            want: counts(0, 0, 0, 1, 0),
        },
        GroupCase {
            name: "failed pods are ignored",
            cpu: true,
            pods: vec![pod("failed").phase(PodPhase::Failed)],
            samples: vec![sample("failed", 1)],
            want: counts(0, 0, 0, 1, 0),
        },
        GroupCase {
            name: "samples for pods the selector did not list are extraneous",
            cpu: true,
            pods: vec![pod("listed")],
            samples: vec![
                sample("listed", 1),
                sample("zz-unlisted", 1),
                sample("b-unlisted", 1),
            ],
            want: counts(1, 0, 0, 0, 2),
        },
    ]
}

#[test]
fn pods_are_grouped_as_upstream_group_pods_does() {
    let mut failures = Vec::new();
    for c in group_cases() {
        // An always-ready pod keeps the metric computable whatever the case does to its own pods.
        let mut all = c.pods.clone();
        all.push(pod("anchor"));
        let samples = PodSamples::new(plus(c.samples.clone(), vec![sample("anchor", 1)]));
        let readiness = if c.cpu { CPU } else { NOT_CPU };
        match replicas::plain_per_pod(&sorted(all), samples.as_slice(), 1, 1, &TOL, &readiness) {
            Ok(p) => {
                let want = PodCounts {
                    ready: c.want.ready + 1,
                    ..c.want
                };
                check(&mut failures, c.name, "pods", p.pods, Some(want));
            }
            Err(e) => failures.push(format!("{}: unexpected error {e}", c.name)),
        }
    }
    report(failures);
}

// ---------------------------------------------------------------------------------------------
// Plain per-pod values: Pods metrics and Resource AverageValue
// ---------------------------------------------------------------------------------------------

#[derive(Debug)]
struct PlainWant {
    replicas: i32,
    usage: i64,
    rule: Rule,
    pods: PodCounts,
    rebalance: Option<Rebalanced>,
}

fn plain(replicas: i32, usage: i64, rule: Rule, pods: PodCounts) -> PlainWant {
    PlainWant {
        replicas,
        usage,
        rule,
        pods,
        rebalance: None,
    }
}

impl PlainWant {
    fn after(self, rebalance: Option<Rebalanced>) -> Self {
        PlainWant { rebalance, ..self }
    }
}

struct PlainCase {
    name: &'static str,
    current: i32,
    target: i64,
    tol: Tolerances,
    readiness: Readiness,
    pods: Vec<PodInfo>,
    samples: Vec<PodSample>,
    want: Result<PlainWant, &'static str>,
}

fn plain_cases() -> Vec<PlainCase> {
    use Rule::*;
    vec![
        // --- upstream TestReplicaCalc*CM (Pods metrics) ---
        PlainCase {
            name: "an average of 20 against 15 scales three pods to four",
            current: 3,
            target: 15000,
            tol: TOL,
            readiness: NOT_CPU,
            pods: pods(3, 1000),
            samples: usage(&[20000, 10000, 30000]),
            want: Ok(plain(4, 20000, Scaled, counts(3, 0, 0, 0, 0))),
        },
        PlainCase {
            name: "a hot unready pod counts fully for a non-cpu metric",
            current: 3,
            target: 15000,
            tol: TOL,
            readiness: NOT_CPU,
            pods: with(pods(3, 1000), &[2], |p| p.not_ready().hot()),
            samples: usage(&[50000, 10000, 30000]),
            want: Ok(plain(6, 30000, Scaled, counts(3, 0, 0, 0, 0))),
        },
        PlainCase {
            name: "two hot unready pods count fully for a non-cpu metric",
            current: 3,
            target: 15000,
            tol: TOL,
            readiness: NOT_CPU,
            pods: with(pods(3, 1000), &[0, 2], |p| p.not_ready().hot()),
            samples: usage(&[50000, 15000, 30000]),
            want: Ok(plain(7, 31666, Scaled, counts(3, 0, 0, 0, 0))),
        },
        PlainCase {
            name: "an average of 12 against 20 scales five pods to three",
            current: 5,
            target: 20000,
            tol: TOL,
            readiness: NOT_CPU,
            pods: pods(5, 1000),
            samples: usage(&[12000; 5]),
            want: Ok(plain(3, 12000, Scaled, counts(5, 0, 0, 0, 0))),
        },
        PlainCase {
            name: "an average of 20.666 against 20 is inside the band",
            current: 3,
            target: 20000,
            tol: TOL,
            readiness: NOT_CPU,
            pods: pods(3, 1000),
            samples: usage(&[20000, 21000, 21000]),
            want: Ok(plain(3, 20666, WithinTolerance, counts(3, 0, 0, 0, 0))),
        },
        PlainCase {
            name: "an average of 20.666 against 20 is outside a 1% scale-up tolerance",
            current: 3,
            target: 20000,
            tol: tol(0.1, 0.01),
            readiness: NOT_CPU,
            pods: pods(3, 1000),
            samples: usage(&[20000, 21000, 21000]),
            want: Ok(plain(4, 20666, Scaled, counts(3, 0, 0, 0, 0))),
        },
        PlainCase {
            name: "missing pods with the ready average exactly at target change nothing",
            current: 5,
            target: 20000,
            tol: TOL,
            readiness: NOT_CPU,
            pods: pods(5, 1000),
            samples: usage(&[20000, 19000, 21000]),
            want: Ok(plain(5, 20000, RebalancedWithinTolerance, counts(3, 0, 2, 0, 0))
                .after(rebalanced(None, false, 3))),
        },
        PlainCase {
            name: "a surge pod at the target cannot turn a scale-down into more replicas",
            current: 2,
            target: 17000,
            tol: TOL,
            readiness: NOT_CPU,
            pods: pods(3, 1000),
            samples: usage(&[10000, 10000]),
            want: Ok(
                plain(2, 10000, ReplicaCountFlippedDirection, counts(2, 0, 1, 0, 0)).after(rebalanced(
                    Some(17000),
                    false,
                    3,
                )),
            ),
        },
        // --- the rebalance for plain values ---
        PlainCase {
            name: "missing pods on a scale-down are filled with exactly the target",
            current: 4,
            target: 2000,
            tol: TOL,
            readiness: NOT_CPU,
            pods: pods(4, 1000),
            samples: usage(&[1000, 1000]),
            want: Ok(
                plain(3, 1000, RebalancedScaled, counts(2, 0, 2, 0, 0)).after(rebalanced(
                    Some(2000),
                    false,
                    4,
                )),
            ),
        },
        PlainCase {
            name: "missing pods on a scale-up are filled with zero",
            current: 4,
            target: 2000,
            tol: TOL,
            readiness: NOT_CPU,
            pods: pods(4, 1000),
            samples: usage(&[6000, 6000]),
            want: Ok(
                plain(6, 6000, RebalancedScaled, counts(2, 0, 2, 0, 0)).after(rebalanced(Some(0), false, 4)),
            ),
        },
        PlainCase {
            name: "a pending pod on a scale-up is counted at zero",
            current: 3,
            target: 2000,
            tol: TOL,
            readiness: NOT_CPU,
            pods: with(pods(3, 1000), &[2], |p| p.phase(PodPhase::Pending)),
            samples: usage(&[4000, 4000]),
            want: Ok(plain(4, 4000, RebalancedScaled, counts(2, 1, 0, 0, 0)).after(rebalanced(None, true, 3))),
        },
        PlainCase {
            name: "a pending pod on a scale-down is left out",
            current: 3,
            target: 1000,
            tol: TOL,
            readiness: NOT_CPU,
            pods: with(pods(3, 1000), &[2], |p| p.phase(PodPhase::Pending)),
            samples: usage(&[500, 500]),
            want: Ok(plain(1, 500, Scaled, counts(2, 1, 0, 0, 0))),
        },
        PlainCase {
            name: "a cpu average value treats a hot pod as unready and counts it at zero",
            current: 3,
            target: 500,
            tol: TOL,
            readiness: CPU,
            pods: with(pods(3, 1000), &[0], PodExt::hot),
            samples: usage(&[3000, 1000, 1000]),
            want: Ok(plain(4, 1000, RebalancedScaled, counts(2, 1, 0, 0, 0)).after(rebalanced(None, true, 3))),
        },
        PlainCase {
            name: "a rebalanced average that falls back into the band keeps the count",
            current: 2,
            target: 1000,
            tol: TOL,
            readiness: NOT_CPU,
            pods: pods(2, 1000),
            samples: usage(&[2100]),
            want: Ok(
                plain(2, 2100, RebalancedWithinTolerance, counts(1, 0, 1, 0, 0)).after(rebalanced(
                    Some(0),
                    false,
                    2,
                )),
            ),
        },
        PlainCase {
            name: "unready pods at zero that flip a scale-up keep the count",
            current: 3,
            target: 1000,
            tol: TOL,
            readiness: NOT_CPU,
            pods: with(pods(3, 1000), &[1, 2], |p| p.phase(PodPhase::Pending)),
            samples: usage(&[1500]),
            want: Ok(plain(3, 1500, RebalanceFlippedDirection, counts(1, 2, 0, 0, 0))
                .after(rebalanced(None, true, 3))),
        },
        // --- integer average and the band ---
        PlainCase {
            name: "the average is integer division: 1100.33 reads as 1100, on the band edge",
            current: 3,
            target: 1000,
            tol: TOL,
            readiness: NOT_CPU,
            pods: pods(3, 1000),
            samples: usage(&[1100, 1100, 1101]),
            want: Ok(plain(3, 1100, WithinTolerance, counts(3, 0, 0, 0, 0))),
        },
        PlainCase {
            name: "an average of exactly 0.9 of the target is inside the band",
            current: 3,
            target: 1000,
            tol: TOL,
            readiness: NOT_CPU,
            pods: pods(3, 1000),
            samples: usage(&[900, 900, 900]),
            want: Ok(plain(3, 900, WithinTolerance, counts(3, 0, 0, 0, 0))),
        },
        PlainCase {
            name: "samples for unlisted pods count in the average but not as ready pods",
            current: 2,
            target: 1000,
            tol: TOL,
            readiness: NOT_CPU,
            pods: pods(2, 1000),
            samples: plus(usage(&[1000, 1000]), vec![sample("zz-gone", 4000)]),
            want: Ok(plain(4, 2000, Scaled, counts(2, 0, 0, 0, 1))),
        },
        // --- errors ---
        PlainCase {
            name: "plain values with no pods is an error",
            current: 3,
            target: 1000,
            tol: TOL,
            readiness: NOT_CPU,
            pods: vec![],
            samples: usage(&[1000]),
            want: Err(NO_PODS),
        },
        PlainCase {
            name: "plain values with only pending pods is an error",
            current: 3,
            target: 1000,
            tol: TOL,
            readiness: NOT_CPU,
            pods: with(pods(2, 1000), &[0, 1], |p| p.phase(PodPhase::Pending)),
            samples: usage(&[1000, 1000]),
            want: Err(NO_READY_METRICS),
        },
    ]
}

#[test]
fn plain_per_pod_values_match_upstream_calc_plain_metric_replicas() {
    let mut failures = Vec::new();
    for c in plain_cases() {
        let samples = PodSamples::new(c.samples.clone());
        let got = replicas::plain_per_pod(
            &sorted(c.pods.clone()),
            samples.as_slice(),
            c.target,
            c.current,
            &c.tol,
            &c.readiness,
        );
        match (&got, &c.want) {
            (Ok(p), Ok(w)) => {
                check(&mut failures, c.name, "replicas", p.replicas, w.replicas);
                check(&mut failures, c.name, "usage", p.usage, w.usage);
                check(&mut failures, c.name, "utilization", p.utilization, None);
                check(
                    &mut failures,
                    c.name,
                    "ratio",
                    p.ratio,
                    w.usage as f64 / c.target as f64,
                );
                check(&mut failures, c.name, "rule", p.rule, w.rule);
                check(&mut failures, c.name, "pods", p.pods, Some(w.pods));
                check(&mut failures, c.name, "rebalance", rebalance_of(p), w.rebalance);
            }
            (Err(e), Err(w)) => {
                if !e.to_string().contains(w) {
                    failures.push(format!("{}: error {e:?} does not contain {w:?}", c.name));
                }
            }
            _ => failures.push(format!("{}: got {got:?}, want {:?}", c.name, c.want)),
        }
    }
    report(failures);
}

// ---------------------------------------------------------------------------------------------
// Object / External with a Value target
// ---------------------------------------------------------------------------------------------

struct ValueCase {
    name: &'static str,
    usage: i64,
    target: i64,
    current: i32,
    tol: Tolerances,
    pods: Vec<PodInfo>,
    /// Replicas, rule, and the ready-pod multiplier when one was used.
    want: Result<(i32, Rule, Option<usize>), &'static str>,
}

fn value_cases() -> Vec<ValueCase> {
    use Rule::*;
    vec![
        ValueCase {
            name: "an object at 20 against 15 scales three ready pods to four",
            usage: 20000,
            target: 15000,
            current: 3,
            tol: TOL,
            pods: pods(3, 1000),
            want: Ok((4, Scaled, Some(3))),
        },
        ValueCase {
            name: "an object value multiplies only the ready pods",
            usage: 50000,
            target: 10000,
            current: 3,
            tol: TOL,
            pods: with(pods(3, 1000), &[0, 2], PodExt::not_ready),
            want: Ok((5, Scaled, Some(1))),
        },
        ValueCase {
            name: "an external value multiplies only the ready pods",
            usage: 8600,
            target: 4400,
            current: 3,
            tol: TOL,
            pods: with(pods(3, 1000), &[0, 2], PodExt::not_ready),
            want: Ok((2, Scaled, Some(1))),
        },
        ValueCase {
            name: "an object at 12 against 20 scales five pods to three",
            usage: 12000,
            target: 20000,
            current: 5,
            tol: TOL,
            pods: pods(5, 1000),
            want: Ok((3, Scaled, Some(5))),
        },
        ValueCase {
            name: "an external at 8.6 against 14.334 scales five pods to three",
            usage: 8600,
            target: 14334,
            current: 5,
            tol: TOL,
            pods: pods(5, 1000),
            want: Ok((3, Scaled, Some(5))),
        },
        ValueCase {
            name: "an object at 20.666 against 20 is inside the band",
            usage: 20666,
            target: 20000,
            current: 3,
            tol: TOL,
            pods: pods(3, 1000),
            want: Ok((3, WithinTolerance, None)),
        },
        ValueCase {
            name: "an external at 8.6 against 8.888 is inside the band",
            usage: 8600,
            target: 8888,
            current: 3,
            tol: TOL,
            pods: pods(3, 1000),
            want: Ok((3, WithinTolerance, None)),
        },
        ValueCase {
            name: "an object at 20.666 against 20 is outside a 1% scale-up tolerance",
            usage: 20666,
            target: 20000,
            current: 3,
            tol: tol(0.1, 0.01),
            pods: pods(3, 1000),
            want: Ok((4, Scaled, Some(3))),
        },
        ValueCase {
            name: "an external at 8.9 against 8.8 is outside a 1% scale-up tolerance",
            usage: 8900,
            target: 8800,
            current: 3,
            tol: tol(0.1, 0.01),
            pods: pods(3, 1000),
            want: Ok((4, Scaled, Some(3))),
        },
        ValueCase {
            name: "a huge ratio saturates at the int32 rail",
            usage: i64::MAX,
            target: 1,
            current: 3,
            tol: TOL,
            pods: pods(3, 1000),
            want: Ok((i32::MAX, Scaled, Some(3))),
        },
        ValueCase {
            name: "an external sum at the int64 rail against the same target is inside the band",
            usage: replicas::external_sum(&[i64::MAX / 2 + 1, i64::MAX / 2 + 1]),
            target: i64::MAX,
            current: 3,
            tol: TOL,
            pods: pods(3, 1000),
            want: Ok((3, WithinTolerance, None)),
        },
        ValueCase {
            name: "terminating pods that are running and ready count",
            usage: 3000,
            target: 500,
            current: 3,
            tol: TOL,
            pods: with(pods(3, 1000), &[1], PodExt::terminating),
            want: Ok((18, Scaled, Some(3))),
        },
        ValueCase {
            name: "pending pods do not count even when marked ready",
            usage: 2000,
            target: 1000,
            current: 3,
            tol: TOL,
            pods: with(pods(3, 1000), &[2], |p| p.phase(PodPhase::Pending)),
            want: Ok((4, Scaled, Some(2))),
        },
        ValueCase {
            name: "with no ready pods the value proposes zero",
            usage: 2000,
            target: 1000,
            current: 3,
            tol: TOL,
            pods: with(pods(3, 1000), &[0, 1, 2], PodExt::not_ready),
            want: Ok((0, Scaled, Some(0))),
        },
        ValueCase {
            name: "from zero replicas the count is ceil(ratio), tolerance ignored",
            usage: 1050,
            target: 1000,
            current: 0,
            tol: TOL,
            pods: vec![],
            want: Ok((2, FromZero, None)),
        },
        ValueCase {
            name: "from zero replicas a zero value stays at zero",
            usage: 0,
            target: 1000,
            current: 0,
            tol: TOL,
            pods: vec![],
            want: Ok((0, FromZero, None)),
        },
        ValueCase {
            name: "no pods is an error only outside the band",
            usage: 2000,
            target: 1000,
            current: 3,
            tol: TOL,
            pods: vec![],
            want: Err(
                "unable to calculate ready pods: no pods returned by selector while calculating replica count",
            ),
        },
        ValueCase {
            name: "no pods inside the band keeps the count",
            usage: 1000,
            target: 1000,
            current: 3,
            tol: TOL,
            pods: vec![],
            want: Ok((3, WithinTolerance, None)),
        },
    ]
}

#[test]
fn object_and_external_values_match_upstream_usage_ratio_replica_count() {
    let mut failures = Vec::new();
    for c in value_cases() {
        let got = replicas::total_value(c.usage, c.target, c.current, &sorted(c.pods.clone()), &c.tol);
        match (&got, &c.want) {
            (Ok(p), Ok((replicas, rule, ready))) => {
                check(&mut failures, c.name, "replicas", p.replicas, *replicas);
                check(&mut failures, c.name, "rule", p.rule, *rule);
                check(&mut failures, c.name, "ready_pods", p.ready_pods, *ready);
                check(&mut failures, c.name, "usage", p.usage, c.usage);
                check(
                    &mut failures,
                    c.name,
                    "ratio",
                    p.ratio,
                    c.usage as f64 / c.target as f64,
                );
                check(&mut failures, c.name, "pods", p.pods, None);
            }
            (Err(e), Err(w)) => check(&mut failures, c.name, "error", e.to_string().as_str(), *w),
            _ => failures.push(format!("{}: got {got:?}, want {:?}", c.name, c.want)),
        }
    }
    report(failures);
}

#[test]
fn ready_pod_count_is_running_and_ready_and_needs_pods() {
    let mixed = sorted(vec![
        pod("a-running"),
        pod("b-terminating").terminating(),
        pod("c-pending").phase(PodPhase::Pending),
        pod("d-not-ready").not_ready(),
        pod("e-succeeded").phase(PodPhase::Succeeded),
        pod("f-no-condition").readiness(None),
        pod("g-unknown").readiness(Some(condition(ConditionStatus::Unknown, Some(LONG_AGO)))),
    ]);
    assert_eq!(
        replicas::ready_pod_count(&mixed),
        Ok(2),
        "running+ready, terminating included"
    );
    assert_eq!(
        replicas::ready_pod_count(&[]).map_err(|e| e.to_string()),
        Err(NO_PODS.to_string()),
        "no pods"
    );
}

// ---------------------------------------------------------------------------------------------
// Object / External with an AverageValue target
// ---------------------------------------------------------------------------------------------

struct AverageCase {
    name: &'static str,
    usage: i64,
    target: i64,
    status_replicas: i32,
    tol: Tolerances,
    want_replicas: i32,
    want_rule: Rule,
    /// The per-pod usage the status reports: ceil(usage / status replicas).
    want_usage: i64,
}

fn average_cases() -> Vec<AverageCase> {
    use Rule::*;
    vec![
        AverageCase {
            name: "an object total of 20 at 5 per pod over three pods asks for four",
            usage: 20000,
            target: 5000,
            status_replicas: 3,
            tol: TOL,
            want_replicas: 4,
            want_rule: AverageOfTotal,
            want_usage: 6667,
        },
        AverageCase {
            name: "an object total of 6 at 2 per pod over five pods asks for three",
            usage: 6000,
            target: 2000,
            status_replicas: 5,
            tol: TOL,
            want_replicas: 3,
            want_rule: AverageOfTotal,
            want_usage: 1200,
        },
        AverageCase {
            name: "an object total of 20.166 at 5 per pod over four pods is inside the band",
            usage: 20166,
            target: 5000,
            status_replicas: 4,
            tol: TOL,
            want_replicas: 4,
            want_rule: WithinTolerance,
            want_usage: 5042,
        },
        AverageCase {
            name: "an object total of 20.208 at 5 per pod is outside a 1% scale-up tolerance",
            usage: 20208,
            target: 5000,
            status_replicas: 4,
            tol: tol(0.1, 0.01),
            want_replicas: 5,
            want_rule: AverageOfTotal,
            want_usage: 5052,
        },
        AverageCase {
            name: "an external total of 8.6 at 2.15 per pod over three pods asks for four",
            usage: 8600,
            target: 2150,
            status_replicas: 3,
            tol: TOL,
            want_replicas: 4,
            want_rule: AverageOfTotal,
            want_usage: 2867,
        },
        AverageCase {
            name: "an external total of 8.6 at 2.867 per pod over five pods asks for three",
            usage: 8600,
            target: 2867,
            status_replicas: 5,
            tol: TOL,
            want_replicas: 3,
            want_rule: AverageOfTotal,
            want_usage: 1720,
        },
        AverageCase {
            name: "an external total of 8.6 at 2.9 per pod over three pods is inside the band",
            usage: 8600,
            target: 2900,
            status_replicas: 3,
            tol: TOL,
            want_replicas: 3,
            want_rule: WithinTolerance,
            want_usage: 2867,
        },
        AverageCase {
            name: "an external total of 8.6 at 2.8 per pod is outside a 1% scale-up tolerance",
            usage: 8600,
            target: 2800,
            status_replicas: 3,
            tol: tol(0.1, 0.01),
            want_replicas: 4,
            want_rule: AverageOfTotal,
            want_usage: 2867,
        },
        AverageCase {
            name: "an int64-rail total at 1 per pod saturates the replicas at the int32 rail",
            usage: i64::MAX,
            target: 1,
            status_replicas: 1,
            tol: TOL,
            want_replicas: i32::MAX,
            want_rule: AverageOfTotal,
            want_usage: i64::MAX,
        },
        AverageCase {
            name: "an int64-rail total against an int64-rail target keeps one pod",
            usage: i64::MAX,
            target: i64::MAX,
            status_replicas: 1,
            tol: TOL,
            want_replicas: 1,
            want_rule: WithinTolerance,
            want_usage: i64::MAX,
        },
        AverageCase {
            name: "the band is taken against target times status replicas, not a ready count",
            usage: 10500,
            target: 1000,
            status_replicas: 10,
            tol: TOL,
            want_replicas: 10,
            want_rule: WithinTolerance,
            want_usage: 1050,
        },
        AverageCase {
            name: "a scale-down asks for ceil(total / target)",
            usage: 2001,
            target: 1000,
            status_replicas: 10,
            tol: TOL,
            want_replicas: 3,
            want_rule: AverageOfTotal,
            want_usage: 201,
        },
    ]
}

#[test]
fn object_and_external_averages_match_upstream_per_pod_metric_replicas() {
    let mut failures = Vec::new();
    for c in average_cases() {
        let p = replicas::total_average(c.usage, c.target, c.status_replicas, &c.tol);
        check(&mut failures, c.name, "replicas", p.replicas, c.want_replicas);
        check(&mut failures, c.name, "rule", p.rule, c.want_rule);
        check(&mut failures, c.name, "usage", p.usage, c.want_usage);
        let ratio = c.usage as f64 / (c.target as f64 * f64::from(c.status_replicas));
        check(&mut failures, c.name, "ratio", p.ratio, ratio);
    }
    report(failures);
}

#[test]
fn external_series_are_summed_saturating_at_the_int64_rail() {
    let cases: [(&str, &[i64], i64); 7] = [
        ("no series sum to zero", &[], 0),
        ("one series is its own sum", &[8600], 8600),
        ("every series is summed", &[1000, 2000, 3000], 6000),
        ("negative series subtract", &[-5, 3], -2),
        (
            "two halves of the rail saturate",
            &[i64::MAX / 2 + 1, i64::MAX / 2 + 1],
            i64::MAX,
        ),
        ("the rail plus one saturates", &[i64::MAX, 1], i64::MAX),
        (
            "a saturated sum stays saturated after a negative series",
            &[i64::MAX, 1, -5],
            i64::MAX,
        ),
    ];
    let mut failures = Vec::new();
    for (name, values, want) in cases {
        check(&mut failures, name, "sum", replicas::external_sum(values), want);
    }
    report(failures);
}

// ---------------------------------------------------------------------------------------------
// Regressions: mismatches with upstream found while writing these tables, now fixed
// ---------------------------------------------------------------------------------------------

/// Upstream `GetExternalPerPodMetricReplicas` sums the series with its own loop: `usage += val;
/// if usage < 0 { usage = MaxInt64; break }`, so any negative running sum reads as the int64 rail
/// (the Value path, `GetExternalMetricReplicas`, only guards positive overflow). `decide` once fed
/// [`replicas::external_sum`] to both paths, which kept -100 as -100.
#[test]
fn an_external_average_with_a_negative_sum_reads_as_the_int64_rail_upstream() {
    let p = replicas::total_average(replicas::external_average_sum(&[-100]), 1000, 3, &TOL);
    assert_eq!(p.usage, i64::MAX, "reported per-pod usage");
    assert_eq!(p.replicas, i32::MAX, "replicas");
}

/// Upstream keeps per-pod samples in a map (`PodMetricsInfo`) filled in the API's order, so a
/// second sample for the same pod overwrites the first; `PodSamples::new` once kept the first.
#[test]
fn a_duplicate_sample_keeps_the_last_one_the_api_returned() {
    let samples = PodSamples::new(vec![sample("pod-0", 100), sample("pod-0", 900)]);
    let values: Vec<i64> = samples.as_slice().iter().map(|s| s.value).collect();
    assert_eq!(values, vec![900]);
}

// ---------------------------------------------------------------------------------------------
// Properties
// ---------------------------------------------------------------------------------------------

/// A generated pod: its state, and the sample it has (if any).
#[derive(Clone, Debug)]
struct GenPod {
    phase: PodPhase,
    terminating: bool,
    /// 0: Ready=True long ago, 1: Ready=False never ready, 2: no condition.
    ready: u8,
    hot: bool,
    request: i64,
    sample: Option<i64>,
}

fn gen_pod() -> impl Strategy<Value = GenPod> {
    (
        prop_oneof![8 => Just(PodPhase::Running), 1 => Just(PodPhase::Pending), 1 => Just(PodPhase::Failed)],
        prop::bool::weighted(0.1),
        prop_oneof![6 => Just(0u8), 2 => Just(1u8), 1 => Just(2u8)],
        prop::bool::weighted(0.2),
        1i64..4000,
        prop::option::weighted(0.85, 0i64..8000),
    )
        .prop_map(|(phase, terminating, ready, hot, request, sample)| GenPod {
            phase,
            terminating,
            ready,
            hot,
            request,
            sample,
        })
}

/// Builds the sorted pods and the samples (in pod order, plus `extraneous` unlisted ones).
fn build(specs: &[GenPod], extraneous: &[i64]) -> (Vec<PodInfo>, Vec<PodSample>) {
    let mut pods = Vec::new();
    let mut samples = Vec::new();
    for (i, g) in specs.iter().enumerate() {
        let name = format!("pod-{i:03}");
        let mut p = pod(&name).request(g.request).phase(g.phase);
        p = match g.ready {
            0 => p,
            1 => p.not_ready(),
            _ => p.readiness(None),
        };
        if g.hot {
            p = p.hot();
        }
        if g.terminating {
            p = p.terminating();
        }
        pods.push(p);
        if let Some(v) = g.sample {
            samples.push(sample(&name, v));
        }
    }
    for (i, v) in extraneous.iter().enumerate() {
        samples.push(sample(&format!("zz-gone-{i}"), *v));
    }
    (pods, samples)
}

fn gen_tol() -> impl Strategy<Value = Tolerances> {
    (0.0f64..0.5, 0.0f64..0.5).prop_map(|(d, u)| tol(d, u))
}

/// Which per-pod function a property exercises.
#[derive(Clone, Copy, Debug)]
enum PerPod {
    Utilization(i32),
    Plain(i64),
}

fn gen_per_pod() -> impl Strategy<Value = PerPod> {
    prop_oneof![
        (1i32..400).prop_map(PerPod::Utilization),
        (1i64..6000).prop_map(PerPod::Plain)
    ]
}

fn per_pod(
    kind: PerPod,
    pods: &[PodInfo],
    samples: &[PodSample],
    current: i32,
    tol: &Tolerances,
    readiness: &Readiness,
) -> Result<Proposal, String> {
    match kind {
        PerPod::Utilization(target) => {
            replicas::resource_utilization(pods, samples, 0, target, current, tol, readiness)
        }
        PerPod::Plain(target) => replicas::plain_per_pod(pods, samples, target, current, tol, readiness),
    }
    .map_err(|e| e.to_string())
}

proptest! {
    /// Whenever missing or unready pods made the code take the second pass (`rebalance` is set),
    /// the proposal never moves against the first-pass ratio: ratio > 1 gives at least the current
    /// count, ratio < 1 at most the current count. (The first pass alone has no such guarantee
    /// against `current`, only against the ready pods it multiplies: `ceil(ratio * ready)` is at
    /// least `ready` when ratio > 1 and at most `ready` when ratio < 1.)
    #[test]
    fn the_rebalance_never_flips_the_direction(
        specs in prop::collection::vec(gen_pod(), 1..12),
        extraneous in prop::collection::vec(0i64..8000, 0..2),
        kind in gen_per_pod(),
        current in 1i32..20,
        tol in gen_tol(),
        cpu in any::<bool>(),
    ) {
        let (pods, samples) = build(&specs, &extraneous);
        let samples = PodSamples::new(samples);
        let readiness = if cpu { CPU } else { NOT_CPU };
        if let Ok(p) = per_pod(kind, &pods, samples.as_slice(), current, &tol, &readiness) {
            let counts = p.pods.unwrap_or_default();
            if p.rebalance.is_some() {
                prop_assert!(counts.missing > 0 || counts.unready > 0, "second pass without missing/unready: {p:?}");
                if p.ratio > 1.0 {
                    prop_assert!(p.replicas >= current, "scale-up ratio proposed fewer replicas: {p:?}");
                }
                if p.ratio < 1.0 {
                    prop_assert!(p.replicas <= current, "scale-down ratio proposed more replicas: {p:?}");
                }
            } else if p.rule == Rule::Scaled {
                if p.ratio > 1.0 {
                    prop_assert!(p.replicas as usize >= counts.ready, "{p:?}");
                }
                if p.ratio < 1.0 {
                    prop_assert!(p.replicas as usize <= counts.ready, "{p:?}");
                }
            }
        }
    }

    /// With every pod running, ready, settled and sampled, the band alone decides: inside it the
    /// count stays, outside it the count is `ceil(ratio * pods)`.
    #[test]
    fn inside_the_band_without_missing_or_unready_pods_the_count_stays(
        requests in prop::collection::vec(1i64..4000, 1..12),
        scale in 0.5f64..1.6,
        kind in gen_per_pod(),
        current in 1i32..20,
        tol in gen_tol(),
        cpu in any::<bool>(),
    ) {
        let specs: Vec<GenPod> = requests
            .iter()
            .map(|&request| GenPod {
                phase: PodPhase::Running,
                terminating: false,
                ready: 0,
                hot: false,
                request,
                // Usage near the target so both sides of the band are visited.
                sample: Some(match kind {
                    PerPod::Utilization(t) => (request as f64 * f64::from(t) / 100.0 * scale) as i64,
                    PerPod::Plain(t) => (t as f64 * scale) as i64,
                }),
            })
            .collect();
        let (pods, samples) = build(&specs, &[]);
        let readiness = if cpu { CPU } else { NOT_CPU };
        let p = per_pod(kind, &pods, PodSamples::new(samples).as_slice(), current, &tol, &readiness);
        let p = p.map_err(TestCaseError::fail)?;
        prop_assert_eq!(p.rebalance, None);
        if tol.is_within(p.ratio) {
            prop_assert_eq!(p.replicas, current);
            prop_assert_eq!(p.rule, Rule::WithinTolerance);
        } else {
            prop_assert_eq!(p.rule, Rule::Scaled);
            prop_assert_eq!(i64::from(p.replicas), (p.ratio * pods.len() as f64).ceil() as i64);
        }
    }

    /// Object and External Value targets: inside the band the current count stays, with or without pods.
    #[test]
    fn a_total_value_inside_the_band_keeps_the_count(
        usage in 0i64..1_000_000,
        target in 1i64..1_000_000,
        current in 1i32..50,
        tol in gen_tol(),
    ) {
        let p = replicas::total_value(usage, target, current, &[], &tol);
        if tol.is_within(usage as f64 / target as f64) {
            prop_assert_eq!(p, Ok(Proposal {
                replicas: current,
                usage,
                utilization: None,
                ratio: usage as f64 / target as f64,
                pods: None,
                rebalance: None,
                ready_pods: None,
                rule: Rule::WithinTolerance,
            }));
        } else {
            prop_assert!(p.is_err());
        }
    }

    /// The same inputs give the same proposal.
    #[test]
    fn the_same_inputs_give_the_same_proposal(
        specs in prop::collection::vec(gen_pod(), 0..12),
        extraneous in prop::collection::vec(0i64..8000, 0..2),
        kind in gen_per_pod(),
        current in 1i32..20,
        tol in gen_tol(),
        cpu in any::<bool>(),
    ) {
        let (pods, samples) = build(&specs, &extraneous);
        let readiness = if cpu { CPU } else { NOT_CPU };
        let first = per_pod(kind, &pods, PodSamples::new(samples.clone()).as_slice(), current, &tol, &readiness);
        let second = per_pod(kind, &pods.clone(), PodSamples::new(samples).as_slice(), current, &tol, &readiness);
        prop_assert_eq!(first, second);
    }

    /// Once wrapped in `PodSamples::new`, the order the metrics API returned the samples in does not matter.
    #[test]
    fn sample_order_does_not_matter_once_sorted(
        (specs, shuffled) in prop::collection::vec(gen_pod(), 1..12).prop_flat_map(|specs| {
            let (_, samples) = build(&specs, &[1, 7000]);
            (Just(specs), Just(samples).prop_shuffle())
        }),
        kind in gen_per_pod(),
        current in 1i32..20,
        tol in gen_tol(),
        cpu in any::<bool>(),
    ) {
        let (pods, in_order) = build(&specs, &[1, 7000]);
        let readiness = if cpu { CPU } else { NOT_CPU };
        let sorted_first = per_pod(kind, &pods, PodSamples::new(in_order).as_slice(), current, &tol, &readiness);
        let from_shuffled = per_pod(kind, &pods, PodSamples::new(shuffled).as_slice(), current, &tol, &readiness);
        prop_assert_eq!(sorted_first, from_shuffled);
    }
}
