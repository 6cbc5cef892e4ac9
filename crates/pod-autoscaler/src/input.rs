//! The snapshot one decision reads: the scale subresource, the pods, the metric samples.
//!
//! The fetch step (the live controller, the simulator, a test) builds an [`HpaInput`] once per
//! reconcile; [`crate::decide()`] only reads it. Pods are digested on the way in ([`PodInfo::from_pod`]):
//! the requests every metric of the policy needs are summed once, so the decision does no quantity
//! parsing and no per-pod allocation. Pods and per-pod samples are kept sorted by pod name, which lets
//! the decision join them with one merge pass instead of a hash join.

use jiff::{SignedDuration, Timestamp};
use k8s_openapi::api::core::v1::Pod;
use serde::{Deserialize, Serialize};
use swell_core::{
    conditions::Condition,
    pod::{self, PodPhase, ReadyCondition},
};

use crate::policy::{ControllerConfig, HpaPolicy, MetricSource, Target};

/// `namespace/name` of an HPA.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub struct HpaKey {
    /// Namespace.
    pub namespace: String,
    /// Name.
    pub name: String,
}

impl HpaKey {
    /// Builds a key.
    pub fn new(namespace: impl Into<String>, name: impl Into<String>) -> Self {
        Self {
            namespace: namespace.into(),
            name: name.into(),
        }
    }
}

impl std::fmt::Display for HpaKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}/{}", self.namespace, self.name)
    }
}

/// What the scale subresource (`autoscaling/v1` Scale) of the target said.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ScaleTarget {
    /// `spec.replicas`: the controller's "current replicas".
    pub spec_replicas: i32,
    /// `status.replicas`: used by Object and External AverageValue targets.
    pub status_replicas: i32,
    /// `status.selector`, the label selector in string form ("" when the target has none).
    pub selector: String,
}

/// Which requests a metric divides by: a resource, optionally of one container.
#[derive(Clone, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct RequestKey {
    /// Resource name.
    pub resource: String,
    /// Container name for ContainerResource metrics.
    pub container: Option<String>,
}

impl RequestKey {
    /// The request keys a policy's Resource and ContainerResource utilization metrics need, deduplicated,
    /// in first-use order. [`PodInfo::requests`] is indexed the same way. AverageValue targets need no
    /// requests (upstream `GetRawResourceReplicas` never reads them).
    pub fn for_policy(policy: &HpaPolicy) -> Vec<RequestKey> {
        let mut keys: Vec<RequestKey> = Vec::new();
        for m in &policy.metrics {
            if !matches!(m.target, Target::Utilization(_)) {
                continue;
            }
            let key = match &m.source {
                MetricSource::Resource { name } => RequestKey {
                    resource: name.clone(),
                    container: None,
                },
                MetricSource::ContainerResource { name, container } => RequestKey {
                    resource: name.clone(),
                    container: Some(container.clone()),
                },
                _ => continue,
            };
            if !keys.contains(&key) {
                keys.push(key);
            }
        }
        keys
    }

    /// Where the key for `resource` (of `container`, for ContainerResource metrics) sits in `keys`,
    /// compared in place so that the decision allocates nothing to find it.
    pub fn position(keys: &[RequestKey], resource: &str, container: Option<&str>) -> Option<usize> {
        keys.iter()
            .position(|k| k.resource == resource && k.container.as_deref() == container)
    }
}

/// A pod as the decision sees it.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct PodInfo {
    /// `metadata.name`.
    pub name: String,
    /// `status.phase`.
    pub phase: PodPhase,
    /// `metadata.deletionTimestamp` is set.
    pub terminating: bool,
    /// The Ready condition, if the pod has one.
    pub ready: Option<ReadyCondition>,
    /// `status.startTime`.
    pub start_time: Option<Timestamp>,
    /// Summed requests in milli-units per [`RequestKey`] (same order as `RequestKey::for_policy`),
    /// or the upstream error message when a counted container has no such request.
    pub requests: Vec<Result<i64, String>>,
}

impl PodInfo {
    /// Digests a pod for a policy whose request keys are `keys`.
    pub fn from_pod(pod: &Pod, keys: &[RequestKey], cfg: &ControllerConfig) -> PodInfo {
        PodInfo {
            name: pod::name(pod).to_string(),
            phase: pod::phase(pod),
            terminating: pod::is_terminating(pod),
            ready: pod::ready_condition(pod),
            start_time: pod::start_time(pod),
            requests: keys
                .iter()
                .map(|k| {
                    pod::container_requests_milli(
                        pod,
                        &k.resource,
                        k.container.as_deref(),
                        cfg.pod_level_resources,
                    )
                    .map_err(|e| e.to_string())
                })
                .collect(),
        }
    }

    /// `podutil.IsPodReady`: a Ready condition with status True.
    pub fn is_ready(&self) -> bool {
        self.ready.as_ref().is_some_and(ReadyCondition::is_ready)
    }
}

/// One per-pod sample, as the metrics APIs return it (value in milli-units).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct PodSample {
    /// Pod name.
    pub pod: String,
    /// Value in milli-units (for resources: the sum over the pod's containers, or the one container).
    pub value: i64,
    /// When the sample was taken (end of its window).
    pub timestamp: Timestamp,
    /// The window the sample covers.
    pub window: SignedDuration,
}

/// Per-pod samples of one metric, sorted by pod name (the constructor sorts; duplicates keep the first).
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct PodSamples {
    samples: Vec<PodSample>,
}

impl PodSamples {
    /// Sorts the samples by pod name. When the API returned two samples for one pod, the later one
    /// wins, as it does in upstream's `PodMetricsInfo` map filled in response order.
    pub fn new(mut samples: Vec<PodSample>) -> Self {
        // Reverse, then a stable sort: among equal names the later sample comes first and survives
        // the dedup, which keeps the first of a run.
        samples.reverse();
        samples.sort_by(|a, b| a.pod.cmp(&b.pod));
        samples.dedup_by(|b, a| a.pod == b.pod);
        Self { samples }
    }

    /// The samples, sorted by pod name.
    pub fn as_slice(&self) -> &[PodSample] {
        &self.samples
    }

    /// Number of samples.
    pub fn len(&self) -> usize {
        self.samples.len()
    }

    /// No samples.
    pub fn is_empty(&self) -> bool {
        self.samples.is_empty()
    }
}

/// What the fetch step got for one entry of `spec.metrics` (same index). An `Err` carries the
/// fetch error's message, which ends up in the condition and events as upstream words it.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub enum MetricInput {
    /// Resource, ContainerResource and Pods metrics: one sample per pod.
    Pods(Result<PodSamples, String>),
    /// Object metrics: one value.
    Object(Result<i64, String>),
    /// External metrics: every series that matched the selector (they are summed).
    External(Result<Vec<i64>, String>),
}

/// Everything one decision for one HPA reads.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct HpaInput {
    /// The HPA.
    pub key: HpaKey,
    /// The scale subresource of the target.
    pub scale: ScaleTarget,
    /// Pods matching the scale selector, sorted by name (see [`HpaInput::new`]).
    pub pods: Vec<PodInfo>,
    /// One entry per `policy.metrics` entry.
    pub metrics: Vec<MetricInput>,
    /// HPAs in the namespace whose selectors match these pods (from the selector tracker), this one
    /// included; more than one makes the selector ambiguous and stops scaling.
    pub selecting_hpas: Vec<HpaKey>,
    /// The HPA's current `status.conditions` (transition times are kept while statuses hold).
    pub conditions: Vec<Condition>,
    /// `status.desiredReplicas` as it stands (kept when the metrics cannot be computed).
    pub previous_desired_replicas: i32,
    /// `status.lastScaleTime` as it stands.
    pub last_scale_time: Option<Timestamp>,
}

impl HpaInput {
    /// Builds an input, sorting the pods by name; the HPA selects its pods alone, and has no
    /// conditions or earlier status yet (set the public fields to change that).
    pub fn new(key: HpaKey, scale: ScaleTarget, mut pods: Vec<PodInfo>, metrics: Vec<MetricInput>) -> Self {
        pods.sort_by(|a, b| a.name.cmp(&b.name));
        let selecting_hpas = vec![key.clone()];
        Self {
            key,
            scale,
            pods,
            metrics,
            selecting_hpas,
            conditions: Vec::new(),
            previous_desired_replicas: 0,
            last_scale_time: None,
        }
    }
}
