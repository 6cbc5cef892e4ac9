//! Per-metric replica proposals: the arithmetic of upstream `replica_calculator.go`, pure.
//!
//! Each function takes what the fetch step got for one metric and returns a [`Proposal`]: the replica
//! count the metric asks for, with every number that led to it. The rules, all upstream's:
//!
//! - pods are grouped into ignored (terminating or Failed), unready (Pending, or for CPU not yet
//!   trustworthy: see [`cpu_sample_unready`]), missing (no sample) and ready;
//! - the usage ratio is computed over the ready samples (utilization is an integer percentage,
//!   truncated); inside the tolerance band nothing changes;
//! - when pods are missing or unready the ratio is recomputed with missing pods filled in the
//!   direction that dampens the change (at the request, or the target when it is above 100%, on a
//!   scale-down; at 0 on a scale-up) and unready pods at 0 on a scale-up; a recomputed ratio that
//!   lands in the band or flips the direction keeps the current count.
//!
//! Values are milli-units throughout (`Quantity::milli_value`). Where upstream's Go arithmetic could
//! overflow, this code uses 128-bit sums and saturates replica counts at `i32::MAX`, and says so.

use jiff::{SignedDuration, Timestamp};
use serde::{Deserialize, Serialize};
use swell_core::pod::{ConditionStatus, PodPhase};

use crate::{
    input::{PodInfo, PodSample},
    policy::Tolerances,
};

/// Message when the selector matches no pods.
pub const NO_PODS: &str = "no pods returned by selector while calculating replica count";
/// Message when every pod was unready, ignored or missing.
pub const NO_READY_METRICS: &str = "did not receive metrics for targeted pods (pods might be unready)";
/// Message when no sample matched a pod with requests.
pub const NO_MATCHING_METRICS: &str = "no metrics returned matched known pods";

/// Why a metric could not propose a replica count. Messages are upstream's, verbatim: they end up in
/// the `ScalingActive` condition and the `FailedGet*Metric` events. None of these heals by retrying
/// the computation; they change when the pods or the samples do.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error, Serialize, Deserialize)]
pub enum Error {
    /// The selector matches no pods.
    #[error("{}", NO_PODS)]
    NoPods,
    /// Every pod was unready, ignored or without a sample.
    #[error("{}", NO_READY_METRICS)]
    NoReadyMetrics,
    /// No sample belongs to a pod with a non-zero request.
    #[error("{}", NO_MATCHING_METRICS)]
    NoMatchingMetrics,
    /// A counted container has no request for the resource (the pod helper's message).
    #[error("{0}")]
    MissingRequest(String),
    /// Counting ready pods for an Object or External Value target failed.
    #[error("unable to calculate ready pods: {0}")]
    ReadyPods(Box<Error>),
}

/// Result of the per-metric functions.
pub type Result<T, E = Error> = std::result::Result<T, E>;

/// How pods were counted for one metric.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct PodCounts {
    /// Pods whose samples were used.
    pub ready: usize,
    /// Pending pods, and for CPU pods whose samples cannot be trusted yet.
    pub unready: usize,
    /// Running pods without a sample.
    pub missing: usize,
    /// Terminating or Failed pods.
    pub ignored: usize,
    /// Samples for pods the selector did not list (kept, as upstream keeps them in its map).
    pub extraneous_samples: usize,
}

/// Which rule produced the proposal.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum Rule {
    /// The ratio was inside the tolerance band: keep the current count.
    WithinTolerance,
    /// No missing or unready pods: `ceil(ratio * ready pods)`.
    Scaled,
    /// After filling missing/unready pods the ratio fell inside the band: keep the current count.
    RebalancedWithinTolerance,
    /// After filling, the ratio would have flipped the direction of the change: keep the current count.
    RebalanceFlippedDirection,
    /// The recomputed count would have moved against the ratio's direction: keep the current count.
    ReplicaCountFlippedDirection,
    /// `ceil(recomputed ratio * samples)` after filling missing/unready pods.
    RebalancedScaled,
    /// Object/External Value target with 0 current replicas: `ceil(ratio)`, no tolerance.
    FromZero,
    /// Object/External AverageValue: `ceil(usage / target)`.
    AverageOfTotal,
}

/// What missing and unready pods were assumed to use in the second pass.
#[derive(Clone, Copy, Debug, PartialEq, Serialize, Deserialize)]
pub struct Rebalance {
    /// Value each missing pod was filled with: for utilization, the percent of its request
    /// (`max(100, target)`); for plain values, milli-units. `None`: missing pods were left out.
    pub missing_filled_with: Option<i64>,
    /// Unready pods were counted at 0 (a scale-up with unready pods).
    pub unready_filled_with_zero: bool,
    /// The ratio recomputed with the filled values.
    pub ratio: f64,
    /// Number of samples the recomputed count is based on.
    pub samples: usize,
}

/// One metric's proposal and the numbers behind it.
#[derive(Clone, Copy, Debug, PartialEq, Serialize, Deserialize)]
pub struct Proposal {
    /// Replicas this metric asks for.
    pub replicas: i32,
    /// The current value: average per pod (milli), object value, external sum, or per-pod average of
    /// an Object/External total, as the status reports it.
    pub usage: i64,
    /// Utilization percent (Utilization targets only), truncated, as the status reports it.
    pub utilization: Option<i32>,
    /// usage / target before any rebalancing.
    pub ratio: f64,
    /// Pod grouping (per-pod metrics only).
    pub pods: Option<PodCounts>,
    /// The second pass, when there was one.
    pub rebalance: Option<Rebalance>,
    /// Ready pods used as the multiplier (Object/External Value), or ready samples.
    pub ready_pods: Option<usize>,
    /// The rule that decided.
    pub rule: Rule,
}

/// Upstream `math.Ceil` then `int32(...)`, saturating instead of wrapping for absurd values.
fn ceil_i32(x: f64) -> i32 {
    let c = x.ceil();
    if c.is_nan() {
        0
    } else if c >= f64::from(i32::MAX) {
        i32::MAX
    } else if c <= f64::from(i32::MIN) {
        i32::MIN
    } else {
        c as i32
    }
}

fn clamp_i64(x: i128) -> i64 {
    x.clamp(i128::from(i64::MIN), i128::from(i64::MAX)) as i64
}

/// Whether a CPU sample of a running pod must be treated as unready (upstream `groupPods`):
/// no Ready condition or no start time; inside the CPU initialization period, Ready=False or a
/// sample whose window started before the last readiness transition; after it, a pod that is
/// Ready=False and never became ready within the initial readiness delay.
pub fn cpu_sample_unready(
    pod: &PodInfo,
    sample: &PodSample,
    cpu_initialization_period: SignedDuration,
    initial_readiness_delay: SignedDuration,
    now: Timestamp,
) -> bool {
    let (Some(ready), Some(start)) = (pod.ready.as_ref(), pod.start_time) else {
        return true;
    };
    // A condition without lastTransitionTime reads as Go's zero time: long ago.
    let transition = ready.last_transition_time.unwrap_or(Timestamp::MIN);
    if start
        .saturating_add(cpu_initialization_period)
        .unwrap_or(Timestamp::MAX)
        > now
    {
        ready.status == ConditionStatus::False
            || sample.timestamp < transition.saturating_add(sample.window).unwrap_or(Timestamp::MAX)
    } else {
        ready.status == ConditionStatus::False
            && start
                .saturating_add(initial_readiness_delay)
                .unwrap_or(Timestamp::MAX)
                > transition
    }
}

/// Readiness rules for per-pod samples.
#[derive(Clone, Copy, Debug)]
pub struct Readiness {
    /// Apply the CPU rule ([`cpu_sample_unready`]): Resource and ContainerResource metrics on `cpu`.
    pub cpu: bool,
    /// `--horizontal-pod-autoscaler-cpu-initialization-period`.
    pub cpu_initialization_period: SignedDuration,
    /// `--horizontal-pod-autoscaler-initial-readiness-delay`.
    pub initial_readiness_delay: SignedDuration,
    /// The decision's time.
    pub now: Timestamp,
}

/// How one pod was classified.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Group {
    Ignored,
    Unready,
    Missing,
    Ready(i64),
}

/// Walks the pods (sorted by name) and the samples (sorted by pod name) together, calling `f` with
/// each pod's group, and returns the counts plus the sum of the samples no pod claimed.
fn group_pods(
    pods: &[PodInfo],
    samples: &[PodSample],
    readiness: &Readiness,
    mut f: impl FnMut(usize, Group),
) -> (PodCounts, i128) {
    let mut counts = PodCounts::default();
    let mut extraneous_sum: i128 = 0;
    let mut s = 0;
    for (i, pod) in pods.iter().enumerate() {
        // Samples that sort before this pod belong to no listed pod.
        while s < samples.len() && samples[s].pod.as_str() < pod.name.as_str() {
            counts.extraneous_samples += 1;
            extraneous_sum += i128::from(samples[s].value);
            s += 1;
        }
        let sample = if s < samples.len() && samples[s].pod == pod.name {
            s += 1;
            Some(&samples[s - 1])
        } else {
            None
        };
        let group = if pod.terminating || pod.phase == PodPhase::Failed {
            Group::Ignored
        } else if pod.phase == PodPhase::Pending {
            Group::Unready
        } else {
            match sample {
                None => Group::Missing,
                Some(sample)
                    if readiness.cpu
                        && cpu_sample_unready(
                            pod,
                            sample,
                            readiness.cpu_initialization_period,
                            readiness.initial_readiness_delay,
                            readiness.now,
                        ) =>
                {
                    Group::Unready
                }
                Some(sample) => Group::Ready(sample.value),
            }
        };
        match group {
            Group::Ignored => counts.ignored += 1,
            Group::Unready => counts.unready += 1,
            Group::Missing => counts.missing += 1,
            Group::Ready(_) => counts.ready += 1,
        }
        f(i, group);
    }
    for sample in &samples[s..] {
        counts.extraneous_samples += 1;
        extraneous_sum += i128::from(sample.value);
    }
    (counts, extraneous_sum)
}

/// The proposal of a per-pod metric before any rule has decided: keep the current count.
fn per_pod_base(current_replicas: i32, usage: i64, ratio: f64, counts: PodCounts) -> Proposal {
    Proposal {
        replicas: current_replicas,
        usage,
        utilization: None,
        ratio,
        pods: Some(counts),
        rebalance: None,
        ready_pods: Some(counts.ready),
        rule: Rule::WithinTolerance,
    }
}

/// Upstream's first pass, shared by both per-pod paths: with no missing pods and no unready pods
/// holding back a scale-up, the ratio decides alone (`None`: a second pass is needed).
fn first_pass(base: Proposal, counts: &PodCounts, tol: &Tolerances) -> Option<Proposal> {
    let scale_up_with_unready = counts.unready > 0 && base.ratio > 1.0;
    if scale_up_with_unready || counts.missing > 0 {
        return None;
    }
    if tol.is_within(base.ratio) {
        return Some(base);
    }
    Some(Proposal {
        replicas: ceil_i32(base.ratio * counts.ready as f64),
        rule: Rule::Scaled,
        ..base
    })
}

/// Upstream's last two guards: within the band or a flipped direction keeps `current`; otherwise
/// `ceil(new_ratio * samples)` unless that count moves against the ratio.
fn settle(current: i32, ratio: f64, new_ratio: f64, samples: usize, tol: &Tolerances) -> (i32, Rule) {
    if tol.is_within(new_ratio) {
        return (current, Rule::RebalancedWithinTolerance);
    }
    if (ratio < 1.0 && new_ratio > 1.0) || (ratio > 1.0 && new_ratio < 1.0) {
        return (current, Rule::RebalanceFlippedDirection);
    }
    let replicas = ceil_i32(new_ratio * samples as f64);
    if (new_ratio < 1.0 && replicas > current) || (new_ratio > 1.0 && replicas < current) {
        return (current, Rule::ReplicaCountFlippedDirection);
    }
    (replicas, Rule::RebalancedScaled)
}

/// Resource or ContainerResource metric with a Utilization target (upstream `GetResourceReplicas`).
///
/// `request_index` selects the pods' summed requests for this metric ([`PodInfo::requests`]).
pub fn resource_utilization(
    pods: &[PodInfo],
    samples: &[PodSample],
    request_index: usize,
    target_utilization: i32,
    current_replicas: i32,
    tol: &Tolerances,
    readiness: &Readiness,
) -> Result<Proposal> {
    if pods.is_empty() {
        return Err(Error::NoPods);
    }
    // Sums over ready samples, and what the second pass needs of missing and unready pods: their
    // requests, and what missing pods would use at `max(100, target)`% (truncated per pod, as
    // upstream fills each pod's metric before summing).
    let (mut usage_sum, mut request_sum, mut entries): (i128, i128, usize) = (0, 0, 0);
    let (mut missing_requests, mut missing_fill, mut unready_requests): (i128, i128, i128) = (0, 0, 0);
    let fallback = i64::from(target_utilization.max(100));
    let mut request_error: Option<Error> = None;
    let (counts, _) = group_pods(pods, samples, readiness, |i, group| {
        let request = match pods[i].requests.get(request_index) {
            Some(Ok(r)) => *r,
            Some(Err(e)) => {
                request_error.get_or_insert_with(|| Error::MissingRequest(e.clone()));
                0
            }
            None => {
                request_error.get_or_insert_with(|| {
                    Error::MissingRequest(format!("missing request for pod {}", pods[i].name))
                });
                0
            }
        };
        let request = i128::from(request);
        match group {
            Group::Ready(v) => {
                usage_sum += i128::from(v);
                request_sum += request;
                entries += 1;
            }
            Group::Missing => {
                missing_requests += request;
                missing_fill += request * i128::from(fallback) / 100;
            }
            Group::Unready => unready_requests += request,
            Group::Ignored => {}
        }
    });
    // Extraneous samples have no request: upstream skips them in the ratio but counts them in
    // len(metrics) below.
    let metrics_len = counts.ready + counts.extraneous_samples;
    if metrics_len == 0 {
        return Err(Error::NoReadyMetrics);
    }
    if let Some(e) = request_error {
        return Err(e);
    }
    if request_sum == 0 {
        return Err(Error::NoMatchingMetrics);
    }
    let utilization = utilization_percent(usage_sum, request_sum);
    let raw_average = clamp_i64(usage_sum / entries as i128);
    let ratio = f64::from(utilization) / f64::from(target_utilization);
    let base = Proposal {
        utilization: Some(utilization),
        ..per_pod_base(current_replicas, raw_average, ratio, counts)
    };
    if let Some(p) = first_pass(base, &counts, tol) {
        return Ok(p);
    }
    let scale_up_with_unready = counts.unready > 0 && ratio > 1.0;

    // Second pass.
    let fill_missing = counts.missing > 0 && ratio != 1.0;
    let (mut new_usage, mut new_request, mut len) = (usage_sum, request_sum, metrics_len);
    if fill_missing {
        if ratio < 1.0 {
            new_usage += missing_fill;
        }
        new_request += missing_requests;
        len += counts.missing;
    }
    if scale_up_with_unready {
        new_request += unready_requests;
        len += counts.unready;
    }
    if new_request == 0 {
        return Err(Error::NoMatchingMetrics);
    }
    let new_ratio = f64::from(utilization_percent(new_usage, new_request)) / f64::from(target_utilization);
    let (replicas, rule) = settle(current_replicas, ratio, new_ratio, len, tol);
    Ok(Proposal {
        replicas,
        rule,
        rebalance: Some(Rebalance {
            missing_filled_with: fill_missing.then_some(if ratio < 1.0 { fallback } else { 0 }),
            unready_filled_with_zero: scale_up_with_unready,
            ratio: new_ratio,
            samples: len,
        }),
        ..base
    })
}

/// `int32(sum(usage) * 100 / sum(requests))`, truncated; clamped to the int32 rails where upstream's
/// exact arithmetic would not fit.
fn utilization_percent(usage: i128, requests: i128) -> i32 {
    (usage.saturating_mul(100) / requests).clamp(i128::from(i32::MIN), i128::from(i32::MAX)) as i32
}

/// Per-pod metrics with an AverageValue target: Resource/ContainerResource AverageValue and Pods
/// metrics (upstream `calcPlainMetricReplicas`).
pub fn plain_per_pod(
    pods: &[PodInfo],
    samples: &[PodSample],
    target: i64,
    current_replicas: i32,
    tol: &Tolerances,
    readiness: &Readiness,
) -> Result<Proposal> {
    if pods.is_empty() {
        return Err(Error::NoPods);
    }
    let mut sum: i128 = 0;
    let (counts, extraneous_sum) = group_pods(pods, samples, readiness, |_, group| {
        if let Group::Ready(v) = group {
            sum += i128::from(v);
        }
    });
    sum += extraneous_sum;
    let len = counts.ready + counts.extraneous_samples;
    if len == 0 {
        return Err(Error::NoReadyMetrics);
    }
    let usage = clamp_i64(sum / len as i128);
    let ratio = usage as f64 / target as f64;
    let base = per_pod_base(current_replicas, usage, ratio, counts);
    if let Some(p) = first_pass(base, &counts, tol) {
        return Ok(p);
    }
    let scale_up_with_unready = counts.unready > 0 && ratio > 1.0;
    let fill_missing = counts.missing > 0 && ratio != 1.0;
    let (mut new_sum, mut new_len) = (sum, len);
    if fill_missing {
        if ratio < 1.0 {
            new_sum += i128::from(target) * counts.missing as i128;
        }
        new_len += counts.missing;
    }
    if scale_up_with_unready {
        new_len += counts.unready;
    }
    let new_ratio = clamp_i64(new_sum / new_len as i128) as f64 / target as f64;
    let (replicas, rule) = settle(current_replicas, ratio, new_ratio, new_len, tol);
    Ok(Proposal {
        replicas,
        rule,
        rebalance: Some(Rebalance {
            missing_filled_with: fill_missing.then_some(if ratio < 1.0 { target } else { 0 }),
            unready_filled_with_zero: scale_up_with_unready,
            ratio: new_ratio,
            samples: new_len,
        }),
        ..base
    })
}

/// Pods that are Running and Ready (upstream `getReadyPodsCount`; terminating pods count).
pub fn ready_pod_count(pods: &[PodInfo]) -> Result<usize> {
    if pods.is_empty() {
        return Err(Error::NoPods);
    }
    Ok(pods
        .iter()
        .filter(|p| p.phase == PodPhase::Running && p.is_ready())
        .count())
}

/// Object or External metric with a Value target (upstream `getUsageRatioReplicaCount`): within the
/// band keep the current count, else `ceil(ratio * ready pods)`; from zero replicas `ceil(ratio)`.
pub fn total_value(
    usage: i64,
    target: i64,
    current_replicas: i32,
    pods: &[PodInfo],
    tol: &Tolerances,
) -> Result<Proposal> {
    let ratio = usage as f64 / target as f64;
    let base = Proposal {
        replicas: current_replicas,
        usage,
        utilization: None,
        ratio,
        pods: None,
        rebalance: None,
        ready_pods: None,
        rule: Rule::WithinTolerance,
    };
    if current_replicas == 0 {
        return Ok(Proposal {
            replicas: ceil_i32(ratio),
            rule: Rule::FromZero,
            ..base
        });
    }
    if tol.is_within(ratio) {
        return Ok(base);
    }
    let ready = ready_pod_count(pods).map_err(|e| Error::ReadyPods(Box::new(e)))?;
    Ok(Proposal {
        replicas: ceil_i32(ratio * ready as f64),
        ready_pods: Some(ready),
        rule: Rule::Scaled,
        ..base
    })
}

/// Object or External metric with an AverageValue target (upstream `Get*PerPodMetricReplicas`):
/// the ratio is taken against `target * status replicas`; outside the band the count is
/// `ceil(usage / target)`. The reported usage is the per-pod average, rounded up.
pub fn total_average(usage: i64, target: i64, status_replicas: i32, tol: &Tolerances) -> Proposal {
    let ratio = usage as f64 / (target as f64 * f64::from(status_replicas));
    let (replicas, rule) = if tol.is_within(ratio) {
        (status_replicas, Rule::WithinTolerance)
    } else {
        (ceil_i32(usage as f64 / target as f64), Rule::AverageOfTotal)
    };
    let per_pod = if usage as f64 >= i64::MAX as f64 {
        i64::MAX
    } else {
        // With zero status replicas Go divides by zero in floating point; the conversion of the
        // resulting infinity is saturated here rather than left to the platform.
        let v = (usage as f64 / f64::from(status_replicas)).ceil();
        if v.is_nan() { 0 } else { v as i64 }
    };
    Proposal {
        replicas,
        usage: per_pod,
        utilization: None,
        ratio,
        pods: None,
        rebalance: None,
        ready_pods: None,
        rule,
    }
}

/// Sum of external series for an AverageValue target (upstream `GetExternalPerPodMetricReplicas`,
/// which sums on its own): a running sum that goes negative, as only an overflow would in upstream's
/// eyes, reads as `i64::MAX`. A negative series therefore scales to the int32 rail, as upstream does.
pub fn external_average_sum(values: &[i64]) -> i64 {
    let mut usage: i64 = 0;
    for &v in values {
        usage = usage.wrapping_add(v);
        if usage < 0 {
            return i64::MAX;
        }
    }
    usage
}

/// Sum of external series for a Value target, saturating at the `i64` rails on overflow as upstream does.
pub fn external_sum(values: &[i64]) -> i64 {
    let mut usage: i64 = 0;
    for &v in values {
        match usage.checked_add(v) {
            Some(s) => usage = s,
            None if v > 0 => return i64::MAX,
            None => return i64::MIN,
        }
    }
    usage
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ceil_saturates_instead_of_wrapping() {
        assert_eq!(ceil_i32(1e12), i32::MAX);
        assert_eq!(ceil_i32(2.0000001), 3);
        assert_eq!(ceil_i32(f64::NAN), 0);
    }

    #[test]
    fn utilization_is_truncated_not_rounded() {
        assert_eq!(utilization_percent(100, 300), 33);
        assert_eq!(utilization_percent(299, 300), 99);
    }

    #[test]
    fn external_sum_saturates_at_the_int64_rail() {
        assert_eq!(external_sum(&[i64::MAX, 1]), i64::MAX);
        assert_eq!(external_sum(&[1, 2, 3]), 6);
    }
}
