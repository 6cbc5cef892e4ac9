//! What controllers read off a Pod: phase, readiness, start and deletion times, owner, and requests.
//!
//! Every function takes a `k8s_openapi` [`Pod`] as the API returns it and answers one question the
//! way the upstream helper does, so the decision cores never poke at the optional fields themselves:
//!
//! - phase and readiness as `podutil.IsPodReady` and the HPA read them ([`phase`], [`ready_condition`],
//!   [`is_ready`], [`start_time`]);
//! - identity and ownership as `metav1.GetControllerOf` and the Cluster Autoscaler's `pod_util` read
//!   them ([`controller_owner`], [`is_mirror_pod`], [`is_daemonset_pod`]);
//! - effective requests as `k8s.io/component-helpers/resource.PodRequests` computes them
//!   ([`pod_requests`]: regular containers, sidecars, init containers, pod-level resources, overhead),
//!   and the per-pod request the HPA divides usage by ([`container_requests_milli`], upstream
//!   `calculateRequests` in `replica_calculator.go`).
//!
//! Requests are computed from the Pod spec only (upstream `UseStatusResources: false`, no DRA
//! node-allocatable claims): the in-place resize branches that read `status.containerStatuses[].resources`
//! and `status.resources` are not modelled. That is what the HPA and the scheduler's pre-resize
//! callers see.

use std::collections::BTreeMap;

use jiff::Timestamp;
use k8s_openapi::api::core::v1::{Container, Pod, PodSpec};
use k8s_openapi::apimachinery::pkg::api::resource::Quantity as ApiQuantity;
use k8s_openapi::apimachinery::pkg::apis::meta::v1::OwnerReference;
use serde::{Deserialize, Serialize};

use crate::quantity::{self, Quantity};

/// Annotation the kubelet puts on the API mirror of a static pod (`kubetypes.ConfigMirrorAnnotationKey`).
pub const MIRROR_POD_ANNOTATION: &str = "kubernetes.io/config.mirror";

/// Annotation that makes the Cluster Autoscaler treat a pod as a DaemonSet pod
/// (`pod_util.DaemonSetPodAnnotationKey`), when its value is `"true"`.
pub const DAEMONSET_POD_ANNOTATION: &str = "cluster-autoscaler.kubernetes.io/daemonset-pod";

/// Prefix of the huge page resources, which pod-level resources support (`v1.ResourceHugePagesPrefix`).
pub const HUGE_PAGES_PREFIX: &str = "hugepages-";

/// Why the requests of a Pod could not be read. A retry cannot help: the spec itself is wrong.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum Error {
    /// A request or the overhead in the Pod spec is not a valid quantity.
    #[error("failed to parse the {resource} {place} of Pod {pod}: {source}")]
    InvalidQuantity {
        /// The Pod's name.
        pod: String,
        /// The resource name, e.g. `cpu`.
        resource: String,
        /// Where the quantity sits, e.g. `request of container app` or `overhead`.
        place: String,
        /// Why it does not parse.
        #[source]
        source: quantity::Error,
    },
}

impl Error {
    /// Whether trying again with the same Pod can succeed: never, the spec has to change.
    pub fn is_retryable(&self) -> bool {
        false
    }
}

/// Result of the fallible functions of this module.
pub type Result<T, E = Error> = std::result::Result<T, E>;

/// Why the HPA cannot compute a Pod's request for a resource ([`container_requests_milli`]).
///
/// The messages are upstream's verbatim: they surface in the `ScalingActive` condition of the HPA.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum RequestError {
    /// Pod-level requests are in use but do not cover the resource.
    #[error("missing pod-level request for {resource} in Pod {pod}")]
    MissingPodLevelRequest {
        /// The resource name.
        resource: String,
        /// The Pod's name.
        pod: String,
    },
    /// A container that counts has no request for the resource.
    #[error("missing request for {resource} in container {container} of Pod {pod}")]
    MissingContainerRequest {
        /// The resource name.
        resource: String,
        /// The container without the request.
        container: String,
        /// The Pod's name.
        pod: String,
    },
    /// The HPA names a container the Pod does not have.
    #[error("container {container} not found in Pod {pod}")]
    ContainerNotFound {
        /// The container the HPA names.
        container: String,
        /// The Pod's name.
        pod: String,
    },
    /// A request in the Pod spec is not a valid quantity.
    #[error(transparent)]
    Invalid(#[from] Error),
}

impl RequestError {
    /// Whether trying again with the same Pod can succeed: never, the Pod spec or the HPA has to
    /// change (a new Pod from a fixed template does).
    pub fn is_retryable(&self) -> bool {
        false
    }
}

/// The lifecycle phase of a Pod (`status.phase`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum PodPhase {
    /// Accepted, but not all containers are running yet.
    Pending,
    /// Bound to a node, all containers created, at least one running.
    Running,
    /// All containers terminated successfully and will not restart.
    Succeeded,
    /// All containers terminated, at least one in failure.
    Failed,
    /// The state could not be obtained, or the phase is missing or not one the API defines.
    Unknown,
}

impl PodPhase {
    /// Reads the API string; anything the API does not define is [`PodPhase::Unknown`].
    pub fn parse(s: &str) -> PodPhase {
        match s {
            "Pending" => PodPhase::Pending,
            "Running" => PodPhase::Running,
            "Succeeded" => PodPhase::Succeeded,
            "Failed" => PodPhase::Failed,
            _ => PodPhase::Unknown,
        }
    }

    /// The API spelling.
    pub fn as_str(self) -> &'static str {
        match self {
            PodPhase::Pending => "Pending",
            PodPhase::Running => "Running",
            PodPhase::Succeeded => "Succeeded",
            PodPhase::Failed => "Failed",
            PodPhase::Unknown => "Unknown",
        }
    }
}

impl From<&str> for PodPhase {
    /// Same as [`PodPhase::parse`].
    fn from(s: &str) -> Self {
        PodPhase::parse(s)
    }
}

/// The status of a condition (`v1.ConditionStatus`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum ConditionStatus {
    /// `"True"`.
    True,
    /// `"False"`.
    False,
    /// `"Unknown"`, and any string the API does not define.
    Unknown,
}

impl ConditionStatus {
    /// Reads the API string, case-sensitively as upstream compares it; anything but `"True"` and
    /// `"False"` is [`ConditionStatus::Unknown`].
    pub fn parse(s: &str) -> ConditionStatus {
        match s {
            "True" => ConditionStatus::True,
            "False" => ConditionStatus::False,
            _ => ConditionStatus::Unknown,
        }
    }

    /// The API spelling.
    pub fn as_str(self) -> &'static str {
        match self {
            ConditionStatus::True => "True",
            ConditionStatus::False => "False",
            ConditionStatus::Unknown => "Unknown",
        }
    }
}

impl From<&str> for ConditionStatus {
    /// Same as [`ConditionStatus::parse`].
    fn from(s: &str) -> Self {
        ConditionStatus::parse(s)
    }
}

/// The Pod's `Ready` condition, as the HPA reads it to tell unready pods apart.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct ReadyCondition {
    /// Whether the pod is ready.
    pub status: ConditionStatus,
    /// When the status last changed, if the API says.
    pub last_transition_time: Option<Timestamp>,
}

impl ReadyCondition {
    /// `podutil.IsPodReady` on the condition: its status is True.
    pub fn is_ready(&self) -> bool {
        self.status == ConditionStatus::True
    }
}

/// Which parts of the spec [`pod_requests`] adds up (a subset of upstream `PodResourcesOptions`).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct PodResourcesOptions {
    /// Leave `spec.overhead` out.
    pub exclude_overhead: bool,
    /// Ignore `spec.resources` (pod-level resources) even when set.
    pub skip_pod_level_resources: bool,
}

/// The Pod's phase; a missing status or phase is [`PodPhase::Unknown`].
pub fn phase(pod: &Pod) -> PodPhase {
    pod.status
        .as_ref()
        .and_then(|s| s.phase.as_deref())
        .map_or(PodPhase::Unknown, PodPhase::parse)
}

/// The first `Ready` entry of `status.conditions`, if any (upstream `GetPodReadyCondition`).
pub fn ready_condition(pod: &Pod) -> Option<ReadyCondition> {
    let conditions = pod.status.as_ref()?.conditions.as_ref()?;
    let ready = conditions.iter().find(|c| c.type_ == "Ready")?;
    Some(ReadyCondition {
        status: ConditionStatus::parse(&ready.status),
        last_transition_time: ready.last_transition_time.as_ref().map(|t| t.0),
    })
}

/// Whether the Pod has a `Ready` condition with status `True` (upstream `podutil.IsPodReady`).
pub fn is_ready(pod: &Pod) -> bool {
    ready_condition(pod).is_some_and(|c| c.is_ready())
}

/// When the kubelet acknowledged the Pod (`status.startTime`).
pub fn start_time(pod: &Pod) -> Option<Timestamp> {
    pod.status.as_ref()?.start_time.as_ref().map(|t| t.0)
}

/// When deletion was requested (`metadata.deletionTimestamp`).
pub fn deletion_timestamp(pod: &Pod) -> Option<Timestamp> {
    pod.metadata.deletion_timestamp.as_ref().map(|t| t.0)
}

/// Whether the Pod is being deleted (it has a deletion timestamp).
pub fn is_terminating(pod: &Pod) -> bool {
    pod.metadata.deletion_timestamp.is_some()
}

/// The Pod's name, `""` if unset (as Go reads `pod.Name`).
pub fn name(pod: &Pod) -> &str {
    pod.metadata.name.as_deref().unwrap_or("")
}

/// The Pod's namespace, `""` if unset.
pub fn namespace(pod: &Pod) -> &str {
    pod.metadata.namespace.as_deref().unwrap_or("")
}

static NO_LABELS: BTreeMap<String, String> = BTreeMap::new();

/// The Pod's labels; an empty map if it has none.
pub fn labels(pod: &Pod) -> &BTreeMap<String, String> {
    pod.metadata.labels.as_ref().unwrap_or(&NO_LABELS)
}

/// The first owner reference with `controller: true` (upstream `metav1.GetControllerOf`).
pub fn controller_owner(pod: &Pod) -> Option<&OwnerReference> {
    pod.metadata
        .owner_references
        .as_ref()?
        .iter()
        .find(|r| r.controller == Some(true))
}

/// Whether the Pod is the API mirror of a static pod: it has the [`MIRROR_POD_ANNOTATION`], whatever
/// its value.
pub fn is_mirror_pod(pod: &Pod) -> bool {
    pod.metadata
        .annotations
        .as_ref()
        .is_some_and(|a| a.contains_key(MIRROR_POD_ANNOTATION))
}

/// Whether the Cluster Autoscaler treats the Pod as a DaemonSet pod (`pod_util.IsDaemonSetPod`): its
/// controller is a `DaemonSet`, or it carries [`DAEMONSET_POD_ANNOTATION`] set to `"true"`.
pub fn is_daemonset_pod(pod: &Pod) -> bool {
    controller_owner(pod).is_some_and(|owner| owner.kind == "DaemonSet")
        || pod
            .metadata
            .annotations
            .as_ref()
            .and_then(|a| a.get(DAEMONSET_POD_ANNOTATION))
            .is_some_and(|v| v == "true")
}

/// Whether an init container is a sidecar: its `restartPolicy` is `Always`.
pub fn is_restartable_init_container(c: &Container) -> bool {
    c.restart_policy.as_deref() == Some("Always")
}

/// Whether a resource can be set at the pod level: `cpu`, `memory` and `hugepages-*`
/// (upstream `IsSupportedPodLevelResource`).
pub fn is_supported_pod_level_resource(resource: &str) -> bool {
    resource == "cpu" || resource == "memory" || resource.starts_with(HUGE_PAGES_PREFIX)
}

/// Whether `spec.resources.requests` names at least one resource supported at the pod level
/// (upstream `IsPodLevelRequestsSet`).
pub fn is_pod_level_requests_set(pod: &Pod) -> bool {
    pod_level_requests(pod).is_some_and(|r| r.keys().any(|name| is_supported_pod_level_resource(name)))
}

fn pod_level_requests(pod: &Pod) -> Option<&BTreeMap<String, ApiQuantity>> {
    pod.spec.as_ref()?.resources.as_ref()?.requests.as_ref()
}

/// The Pod's effective requests, exactly as upstream `resource.PodRequests` computes them from the spec.
///
/// Per resource: the larger of (regular containers + all sidecars) and, for each init container in
/// order, what is running while it runs (a regular init container plus the sidecars started before
/// it, or a sidecar plus the sidecars started up to and including it). Then supported pod-level
/// requests replace those values, unless skipped; then `spec.overhead` is added, unless excluded.
pub fn pod_requests(pod: &Pod, opts: PodResourcesOptions) -> Result<BTreeMap<String, Quantity>> {
    let pod_name = name(pod);
    let Some(spec) = pod.spec.as_ref() else {
        return Ok(BTreeMap::new());
    };
    let mut requests = aggregate_container_requests(spec, pod_name)?;
    if !opts.skip_pod_level_resources && is_pod_level_requests_set(pod) {
        for (resource, q) in pod_level_requests(pod).into_iter().flatten() {
            if is_supported_pod_level_resource(resource) {
                requests.insert(
                    resource.clone(),
                    parse(q, pod_name, resource, || "pod-level request".to_owned())?,
                );
            }
        }
    }
    if !opts.exclude_overhead
        && let Some(overhead) = spec.overhead.as_ref()
    {
        let overhead = parse_list(overhead, pod_name, || "overhead".to_owned())?;
        add_resource_list(&mut requests, &overhead);
    }
    Ok(requests)
}

/// Upstream `AggregateContainerRequests` with spec requests only.
fn aggregate_container_requests(spec: &PodSpec, pod_name: &str) -> Result<BTreeMap<String, Quantity>> {
    let mut result = BTreeMap::new();
    for c in &spec.containers {
        add_resource_list(&mut result, &container_requests(c, pod_name, "container")?);
    }
    let mut sidecars = BTreeMap::new();
    let mut init_peak = BTreeMap::new();
    for c in spec.init_containers.iter().flatten() {
        let own = container_requests(c, pod_name, "init container")?;
        let running = if is_restartable_init_container(c) {
            add_resource_list(&mut result, &own);
            add_resource_list(&mut sidecars, &own);
            sidecars.clone()
        } else {
            let mut combined = BTreeMap::new();
            add_resource_list(&mut combined, &own);
            add_resource_list(&mut combined, &sidecars);
            combined
        };
        max_resource_list(&mut init_peak, &running);
    }
    max_resource_list(&mut result, &init_peak);
    Ok(result)
}

fn container_requests(c: &Container, pod_name: &str, kind: &str) -> Result<BTreeMap<String, Quantity>> {
    match c.resources.as_ref().and_then(|r| r.requests.as_ref()) {
        Some(requests) => parse_list(requests, pod_name, || format!("request of {kind} {}", c.name)),
        None => Ok(BTreeMap::new()),
    }
}

fn parse(q: &ApiQuantity, pod: &str, resource: &str, place: impl FnOnce() -> String) -> Result<Quantity> {
    Quantity::try_from(q).map_err(|source| Error::InvalidQuantity {
        pod: pod.to_owned(),
        resource: resource.to_owned(),
        place: place(),
        source,
    })
}

fn parse_list(
    list: &BTreeMap<String, ApiQuantity>,
    pod: &str,
    place: impl Fn() -> String,
) -> Result<BTreeMap<String, Quantity>> {
    list.iter()
        .map(|(resource, q)| Ok((resource.clone(), parse(q, pod, resource, &place)?)))
        .collect()
}

/// Upstream `addResourceList`: sums per resource; a new resource is copied in.
fn add_resource_list(list: &mut BTreeMap<String, Quantity>, new: &BTreeMap<String, Quantity>) {
    for (resource, q) in new {
        match list.get_mut(resource) {
            Some(total) => *total += q,
            None => {
                list.insert(resource.clone(), q.clone());
            }
        }
    }
}

/// Upstream `maxResourceList`: keeps the larger value per resource; ties keep the old one.
fn max_resource_list(list: &mut BTreeMap<String, Quantity>, new: &BTreeMap<String, Quantity>) {
    for (resource, q) in new {
        if list.get(resource).is_none_or(|current| q > current) {
            list.insert(resource.clone(), q.clone());
        }
    }
}

/// One Pod's request for `resource` in milli units, exactly as the HPA's `calculateRequests` computes it.
///
/// - With no container filter, when `pod_level_resources_enabled` (the `PodLevelResources` feature
///   gate) and [`is_pod_level_requests_set`]: the resource's entry of [`pod_requests`] with default
///   options (so overhead included), or [`RequestError::MissingPodLevelRequest`].
/// - Otherwise the sum over the regular containers, then the sidecars, of their requests, counting
///   only the container named by the filter when there is one. A counted container without the
///   request is [`RequestError::MissingContainerRequest`]; a filter that names no such container is
///   [`RequestError::ContainerNotFound`].
///
/// `Some("")` means no filter, as the empty string does upstream. The sum saturates at `i64::MAX`
/// where upstream's `int64` addition would wrap.
pub fn container_requests_milli(
    pod: &Pod,
    resource: &str,
    container: Option<&str>,
    pod_level_resources_enabled: bool,
) -> Result<i64, RequestError> {
    let pod_name = name(pod);
    let container = container.filter(|c| !c.is_empty());
    if container.is_none() && pod_level_resources_enabled && is_pod_level_requests_set(pod) {
        let requests = pod_requests(pod, PodResourcesOptions::default())?;
        return requests.get(resource).map(Quantity::milli_value).ok_or_else(|| {
            RequestError::MissingPodLevelRequest {
                resource: resource.to_owned(),
                pod: pod_name.to_owned(),
            }
        });
    }

    let (regular, init) = match pod.spec.as_ref() {
        Some(spec) => (
            spec.containers.as_slice(),
            spec.init_containers.as_deref().unwrap_or_default(),
        ),
        None => (&[][..], &[][..]),
    };
    let counted = regular
        .iter()
        .chain(init.iter().filter(|c| is_restartable_init_container(c)));
    let mut total: i64 = 0;
    for c in counted {
        if container.is_none_or(|wanted| wanted == c.name) {
            let request = c
                .resources
                .as_ref()
                .and_then(|r| r.requests.as_ref())
                .and_then(|r| r.get(resource))
                .ok_or_else(|| RequestError::MissingContainerRequest {
                    resource: resource.to_owned(),
                    container: c.name.clone(),
                    pod: pod_name.to_owned(),
                })?;
            let request = parse(request, pod_name, resource, || {
                format!("request of container {}", c.name)
            })?;
            total = total.saturating_add(request.milli_value());
        }
        // Container names are unique inside a Pod.
        if container == Some(c.name.as_str()) {
            return Ok(total);
        }
    }
    match container {
        Some(wanted) => Err(RequestError::ContainerNotFound {
            container: wanted.to_owned(),
            pod: pod_name.to_owned(),
        }),
        None => Ok(total),
    }
}

/// Clears what no controller of ours reads from a watched pod and what makes pods big: managed
/// fields, the containers' command, args, environment, mounts and probes, and the container
/// statuses. Requests, ownership, phase, conditions and the scheduling fields stay. Controllers strip
/// more on top of this where they read less.
pub fn strip_for_cache(pod: &mut Pod) {
    pod.metadata.managed_fields = None;
    if let Some(spec) = pod.spec.as_mut() {
        for c in spec
            .containers
            .iter_mut()
            .chain(spec.init_containers.iter_mut().flatten())
        {
            c.env = None;
            c.env_from = None;
            c.volume_mounts = None;
            c.command = None;
            c.args = None;
            c.liveness_probe = None;
            c.readiness_probe = None;
            c.startup_probe = None;
        }
    }
    if let Some(status) = pod.status.as_mut() {
        status.container_statuses = None;
        status.init_container_statuses = None;
    }
}

#[cfg(test)]
mod tests {
    use k8s_openapi::api::core::v1::{PodCondition, PodStatus, ResourceRequirements};
    use k8s_openapi::apimachinery::pkg::apis::meta::v1::{ObjectMeta, Time};

    use super::*;

    const POD: &str = "test-pod";

    fn list(pairs: &[(&str, &str)]) -> BTreeMap<String, ApiQuantity> {
        pairs
            .iter()
            .map(|(k, v)| ((*k).to_owned(), ApiQuantity((*v).to_owned())))
            .collect()
    }

    fn container(name: &str, requests: &[(&str, &str)]) -> Container {
        Container {
            name: name.to_owned(),
            resources: Some(ResourceRequirements {
                requests: Some(list(requests)),
                ..Default::default()
            }),
            ..Default::default()
        }
    }

    fn sidecar(name: &str, requests: &[(&str, &str)]) -> Container {
        Container {
            restart_policy: Some("Always".to_owned()),
            ..container(name, requests)
        }
    }

    fn bare(name: &str) -> Container {
        Container {
            name: name.to_owned(),
            ..Default::default()
        }
    }

    fn pod_with(spec: PodSpec) -> Pod {
        Pod {
            metadata: ObjectMeta {
                name: Some(POD.to_owned()),
                namespace: Some("default".to_owned()),
                ..Default::default()
            },
            spec: Some(spec),
            ..Default::default()
        }
    }

    fn pod_level(requests: &[(&str, &str)]) -> Option<ResourceRequirements> {
        Some(ResourceRequirements {
            requests: Some(list(requests)),
            ..Default::default()
        })
    }

    fn pod_with_status(status: PodStatus) -> Pod {
        Pod {
            status: Some(status),
            ..pod_with(PodSpec::default())
        }
    }

    fn at(s: &str) -> Timestamp {
        s.parse().unwrap()
    }

    fn time(s: &str) -> Option<Time> {
        Some(Time(at(s)))
    }

    fn condition(type_: &str, status: &str, last_transition_time: Option<Time>) -> PodCondition {
        PodCondition {
            type_: type_.to_owned(),
            status: status.to_owned(),
            last_transition_time,
            ..Default::default()
        }
    }

    fn meta(f: impl FnOnce(&mut ObjectMeta)) -> Pod {
        let mut pod = pod_with(PodSpec::default());
        f(&mut pod.metadata);
        pod
    }

    fn owner(kind: &str, name: &str, controller: Option<bool>) -> OwnerReference {
        OwnerReference {
            api_version: "apps/v1".to_owned(),
            kind: kind.to_owned(),
            name: name.to_owned(),
            uid: format!("uid-{name}"),
            controller,
            ..Default::default()
        }
    }

    fn annotations(pairs: &[(&str, &str)]) -> Option<BTreeMap<String, String>> {
        Some(
            pairs
                .iter()
                .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
                .collect(),
        )
    }

    #[test]
    fn phase_reads_the_api_string() {
        struct Case {
            name: &'static str,
            input: Option<&'static str>,
            want: PodPhase,
        }
        let cases = [
            Case {
                name: "pending is pending",
                input: Some("Pending"),
                want: PodPhase::Pending,
            },
            Case {
                name: "running is running",
                input: Some("Running"),
                want: PodPhase::Running,
            },
            Case {
                name: "succeeded is succeeded",
                input: Some("Succeeded"),
                want: PodPhase::Succeeded,
            },
            Case {
                name: "failed is failed",
                input: Some("Failed"),
                want: PodPhase::Failed,
            },
            Case {
                name: "unknown is unknown",
                input: Some("Unknown"),
                want: PodPhase::Unknown,
            },
            Case {
                name: "an empty phase is unknown",
                input: Some(""),
                want: PodPhase::Unknown,
            },
            Case {
                name: "a misspelt phase is unknown",
                input: Some("running"),
                want: PodPhase::Unknown,
            },
            Case {
                name: "a missing phase is unknown",
                input: None,
                want: PodPhase::Unknown,
            },
        ];
        for case in &cases {
            let pod = pod_with_status(PodStatus {
                phase: case.input.map(str::to_owned),
                ..Default::default()
            });
            assert_eq!(phase(&pod), case.want, "{}", case.name);
            if let Some(input) = case.input.filter(|_| case.want != PodPhase::Unknown) {
                assert_eq!(case.want.as_str(), input, "{}: as_str", case.name);
            }
        }
        assert_eq!(
            phase(&pod_with(PodSpec::default())),
            PodPhase::Unknown,
            "a pod without status is unknown"
        );
        assert_eq!(PodPhase::Unknown.as_str(), "Unknown");
        assert_eq!(
            (PodPhase::parse("Failed"), PodPhase::from("Running")),
            (PodPhase::Failed, PodPhase::Running)
        );
    }

    #[test]
    fn ready_condition_is_the_first_ready_entry() {
        struct Case {
            name: &'static str,
            conditions: Option<Vec<PodCondition>>,
            want: Option<ReadyCondition>,
        }
        let t0 = "2024-05-01T10:00:00Z";
        let t1 = "2024-05-01T10:05:00Z";
        let cases = [
            Case {
                name: "no conditions means no ready condition",
                conditions: None,
                want: None,
            },
            Case {
                name: "an empty list means no ready condition",
                conditions: Some(vec![]),
                want: None,
            },
            Case {
                name: "other condition types are ignored",
                conditions: Some(vec![
                    condition("PodScheduled", "True", time(t0)),
                    condition("ContainersReady", "True", None),
                ]),
                want: None,
            },
            Case {
                name: "a false ready condition keeps its transition time",
                conditions: Some(vec![condition("Ready", "False", time(t0))]),
                want: Some(ReadyCondition {
                    status: ConditionStatus::False,
                    last_transition_time: Some(at(t0)),
                }),
            },
            Case {
                name: "a true ready condition keeps its transition time",
                conditions: Some(vec![
                    condition("PodScheduled", "True", time(t0)),
                    condition("Ready", "True", time(t1)),
                ]),
                want: Some(ReadyCondition {
                    status: ConditionStatus::True,
                    last_transition_time: Some(at(t1)),
                }),
            },
            Case {
                name: "a true ready condition may lack a time",
                conditions: Some(vec![condition("Ready", "True", None)]),
                want: Some(ReadyCondition {
                    status: ConditionStatus::True,
                    last_transition_time: None,
                }),
            },
            Case {
                name: "an unknown ready condition is unknown",
                conditions: Some(vec![condition("Ready", "Unknown", time(t0))]),
                want: Some(ReadyCondition {
                    status: ConditionStatus::Unknown,
                    last_transition_time: Some(at(t0)),
                }),
            },
            Case {
                name: "a lowercase status is not true",
                conditions: Some(vec![condition("Ready", "true", None)]),
                want: Some(ReadyCondition {
                    status: ConditionStatus::Unknown,
                    last_transition_time: None,
                }),
            },
            Case {
                name: "the first ready entry wins",
                conditions: Some(vec![
                    condition("Ready", "False", time(t0)),
                    condition("Ready", "True", time(t1)),
                ]),
                want: Some(ReadyCondition {
                    status: ConditionStatus::False,
                    last_transition_time: Some(at(t0)),
                }),
            },
        ];
        for case in cases {
            let pod = pod_with_status(PodStatus {
                conditions: case.conditions,
                ..Default::default()
            });
            assert_eq!(ready_condition(&pod), case.want, "{}", case.name);
            let ready = case.want.is_some_and(|c| c.status == ConditionStatus::True);
            assert_eq!(is_ready(&pod), ready, "{}: is_ready", case.name);
        }
        assert!(
            !is_ready(&pod_with(PodSpec::default())),
            "a pod without status is not ready"
        );
        for (s, want) in [
            ("True", ConditionStatus::True),
            ("False", ConditionStatus::False),
            ("Unknown", ConditionStatus::Unknown),
        ] {
            assert_eq!(ConditionStatus::parse(s), want);
            assert_eq!(ConditionStatus::from(s), want);
            assert_eq!(want.as_str(), s);
        }
    }

    #[test]
    fn times_come_from_status_and_metadata() {
        let started = pod_with_status(PodStatus {
            start_time: time("2024-05-01T09:59:30Z"),
            ..Default::default()
        });
        assert_eq!(
            start_time(&started),
            Some(at("2024-05-01T09:59:30Z")),
            "a started pod has a start time"
        );
        assert_eq!(
            start_time(&pod_with(PodSpec::default())),
            None,
            "a pod without status has none"
        );
        assert_eq!(
            start_time(&pod_with_status(PodStatus::default())),
            None,
            "a pending pod may have none"
        );

        let deleting = meta(|m| m.deletion_timestamp = time("2024-05-01T11:00:00Z"));
        assert_eq!(deletion_timestamp(&deleting), Some(at("2024-05-01T11:00:00Z")));
        assert!(
            is_terminating(&deleting),
            "a pod with a deletion timestamp is terminating"
        );
        let alive = pod_with(PodSpec::default());
        assert_eq!(deletion_timestamp(&alive), None);
        assert!(!is_terminating(&alive), "a pod without one is not");
    }

    #[test]
    fn identity_defaults_to_empty() {
        let named = meta(|m| m.labels = annotations(&[("app", "web")]));
        assert_eq!((name(&named), namespace(&named)), (POD, "default"));
        assert_eq!(labels(&named).get("app").map(String::as_str), Some("web"));
        let anonymous = Pod::default();
        assert_eq!(
            (name(&anonymous), namespace(&anonymous)),
            ("", ""),
            "unset name and namespace read as empty"
        );
        assert!(
            labels(&anonymous).is_empty(),
            "a pod without labels has an empty map"
        );
    }

    #[test]
    fn controller_owner_is_the_first_controller_reference() {
        struct Case {
            name: &'static str,
            owners: Option<Vec<OwnerReference>>,
            want: Option<&'static str>,
        }
        let cases = [
            Case {
                name: "no owners means no controller",
                owners: None,
                want: None,
            },
            Case {
                name: "an owner without the flag is not the controller",
                owners: Some(vec![owner("ReplicaSet", "a", None)]),
                want: None,
            },
            Case {
                name: "an owner flagged false is not the controller",
                owners: Some(vec![owner("ReplicaSet", "a", Some(false))]),
                want: None,
            },
            Case {
                name: "the flagged owner is found after others",
                owners: Some(vec![
                    owner("ConfigMap", "a", None),
                    owner("ReplicaSet", "b", Some(true)),
                ]),
                want: Some("b"),
            },
            Case {
                name: "the first of two controllers wins",
                owners: Some(vec![
                    owner("ReplicaSet", "first", Some(true)),
                    owner("StatefulSet", "second", Some(true)),
                ]),
                want: Some("first"),
            },
        ];
        for case in cases {
            let pod = meta(|m| m.owner_references = case.owners);
            assert_eq!(
                controller_owner(&pod).map(|o| o.name.as_str()),
                case.want,
                "{}",
                case.name
            );
        }
    }

    #[test]
    fn mirror_and_daemonset_pods_are_recognized() {
        struct Case {
            name: &'static str,
            pod: Pod,
            mirror: bool,
            daemonset: bool,
        }
        let cases = [
            Case {
                name: "a plain pod is neither",
                pod: pod_with(PodSpec::default()),
                mirror: false,
                daemonset: false,
            },
            Case {
                name: "the mirror annotation marks a mirror pod",
                pod: meta(|m| m.annotations = annotations(&[(MIRROR_POD_ANNOTATION, "abc123")])),
                mirror: true,
                daemonset: false,
            },
            Case {
                name: "an empty mirror annotation still counts",
                pod: meta(|m| m.annotations = annotations(&[(MIRROR_POD_ANNOTATION, "")])),
                mirror: true,
                daemonset: false,
            },
            Case {
                name: "other annotations do not make a mirror pod",
                pod: meta(|m| m.annotations = annotations(&[("kubernetes.io/config.source", "file")])),
                mirror: false,
                daemonset: false,
            },
            Case {
                name: "a daemonset controller makes a daemonset pod",
                pod: meta(|m| m.owner_references = Some(vec![owner("DaemonSet", "ds", Some(true))])),
                mirror: false,
                daemonset: true,
            },
            Case {
                name: "a daemonset owner that is not the controller does not",
                pod: meta(|m| m.owner_references = Some(vec![owner("DaemonSet", "ds", None)])),
                mirror: false,
                daemonset: false,
            },
            Case {
                name: "a replicaset controller does not",
                pod: meta(|m| m.owner_references = Some(vec![owner("ReplicaSet", "rs", Some(true))])),
                mirror: false,
                daemonset: false,
            },
            Case {
                name: "the cluster autoscaler annotation set to true does",
                pod: meta(|m| m.annotations = annotations(&[(DAEMONSET_POD_ANNOTATION, "true")])),
                mirror: false,
                daemonset: true,
            },
            Case {
                name: "the cluster autoscaler annotation set to anything else does not",
                pod: meta(|m| m.annotations = annotations(&[(DAEMONSET_POD_ANNOTATION, "True")])),
                mirror: false,
                daemonset: false,
            },
        ];
        for case in &cases {
            assert_eq!(is_mirror_pod(&case.pod), case.mirror, "{}: mirror", case.name);
            assert_eq!(
                is_daemonset_pod(&case.pod),
                case.daemonset,
                "{}: daemonset",
                case.name
            );
        }
    }

    #[test]
    fn sidecars_are_init_containers_that_restart_always() {
        let with_policy = |p: Option<&str>| Container {
            restart_policy: p.map(str::to_owned),
            ..bare("c")
        };
        assert!(
            is_restartable_init_container(&with_policy(Some("Always"))),
            "Always is a sidecar"
        );
        assert!(
            !is_restartable_init_container(&with_policy(None)),
            "no policy is a plain init container"
        );
        assert!(
            !is_restartable_init_container(&with_policy(Some("OnFailure"))),
            "other policies are not sidecars"
        );
        assert!(
            !is_restartable_init_container(&with_policy(Some("always"))),
            "the comparison is case-sensitive"
        );
    }

    #[test]
    fn pod_level_requests_need_a_supported_resource() {
        struct Case {
            name: &'static str,
            resources: Option<ResourceRequirements>,
            want: bool,
        }
        let cases = [
            Case {
                name: "no pod-level resources",
                resources: None,
                want: false,
            },
            Case {
                name: "an empty resources struct",
                resources: Some(ResourceRequirements::default()),
                want: false,
            },
            Case {
                name: "an empty requests map",
                resources: pod_level(&[]),
                want: false,
            },
            Case {
                name: "only unsupported requests",
                resources: pod_level(&[("ephemeral-storage", "1Mi")]),
                want: false,
            },
            Case {
                name: "only limits",
                resources: Some(ResourceRequirements {
                    limits: Some(list(&[("cpu", "1")])),
                    ..Default::default()
                }),
                want: false,
            },
            Case {
                name: "a cpu request",
                resources: pod_level(&[("ephemeral-storage", "1Mi"), ("cpu", "1m")]),
                want: true,
            },
            Case {
                name: "a memory request",
                resources: pod_level(&[("memory", "1Mi")]),
                want: true,
            },
            Case {
                name: "a huge pages request",
                resources: pod_level(&[("hugepages-2Mi", "2Mi")]),
                want: true,
            },
        ];
        for case in cases {
            let pod = pod_with(PodSpec {
                resources: case.resources,
                ..Default::default()
            });
            assert_eq!(is_pod_level_requests_set(&pod), case.want, "{}", case.name);
        }
        assert!(!is_pod_level_requests_set(&Pod::default()), "a pod without spec");
    }

    struct RequestsCase {
        name: &'static str,
        spec: PodSpec,
        opts: PodResourcesOptions,
        want: &'static [(&'static str, &'static str)],
    }

    /// Facts of upstream `TestPodRequestsAndLimits*`, `TestPodResourceRequests`,
    /// `TestPodResourceLimits` (the sidecar rows, applied to requests) and `TestPodLevelResourceRequests`.
    #[test]
    fn pod_requests_match_upstream() {
        let default = PodResourcesOptions::default();
        let no_overhead = PodResourcesOptions {
            exclude_overhead: true,
            ..default
        };
        let skip_pod_level = PodResourcesOptions {
            skip_pod_level_resources: true,
            ..default
        };
        let mem_cpu = |m: &'static str, c: &'static str| [("memory", m), ("cpu", c)];
        let cases = [
            RequestsCase {
                name: "a pod without containers requests nothing",
                spec: PodSpec::default(),
                opts: default,
                want: &[],
            },
            RequestsCase {
                name: "a larger init container wins",
                spec: PodSpec {
                    init_containers: Some(vec![container("i", &[("cpu", "4")])]),
                    containers: vec![container("c", &[("cpu", "1")])],
                    ..Default::default()
                },
                opts: default,
                want: &[("cpu", "4")],
            },
            RequestsCase {
                name: "larger containers win over an init container",
                spec: PodSpec {
                    init_containers: Some(vec![container("i", &[("cpu", "2")])]),
                    containers: vec![container("a", &[("cpu", "2")]), container("b", &[("cpu", "3")])],
                    ..Default::default()
                },
                opts: default,
                want: &[("cpu", "5")],
            },
            RequestsCase {
                name: "overhead is left out when excluded",
                spec: PodSpec {
                    overhead: Some(list(&[("cpu", "1")])),
                    init_containers: Some(vec![container("i", &[("cpu", "2")])]),
                    containers: vec![container("a", &[("cpu", "2")]), container("b", &[("cpu", "3")])],
                    ..Default::default()
                },
                opts: no_overhead,
                want: &[("cpu", "5")],
            },
            RequestsCase {
                name: "overhead is added by default, even for a resource no container requests",
                spec: PodSpec {
                    overhead: Some(list(&[("cpu", "1"), ("memory", "1Gi")])),
                    init_containers: Some(vec![container("i", &[("cpu", "2")])]),
                    containers: vec![container("a", &[("cpu", "2")]), container("b", &[("cpu", "3")])],
                    ..Default::default()
                },
                opts: default,
                want: &[("cpu", "6"), ("memory", "1Gi")],
            },
            RequestsCase {
                name: "overhead alone is the request",
                spec: PodSpec {
                    overhead: Some(list(&[("cpu", "5"), ("memory", "5")])),
                    containers: vec![bare("c")],
                    ..Default::default()
                },
                opts: default,
                want: &[("cpu", "5"), ("memory", "5")],
            },
            RequestsCase {
                name: "requests and overhead add up",
                spec: PodSpec {
                    overhead: Some(list(&[("cpu", "5"), ("memory", "5")])),
                    containers: vec![container("c", &[("cpu", "1"), ("memory", "10")])],
                    ..Default::default()
                },
                opts: default,
                want: &[("cpu", "6"), ("memory", "15")],
            },
            RequestsCase {
                name: "a massive init container is the request",
                spec: PodSpec {
                    overhead: Some(list(&[("cpu", "3"), ("memory", "8")])),
                    containers: vec![
                        container("a", &[("cpu", "1"), ("memory", "5")]),
                        container("b", &[("cpu", "4"), ("memory", "12")]),
                    ],
                    init_containers: Some(vec![
                        container("small", &[("cpu", "1"), ("memory", "5")]),
                        container("big", &[("cpu", "40"), ("memory", "120")]),
                    ]),
                    ..Default::default()
                },
                opts: no_overhead,
                want: &[("cpu", "40"), ("memory", "120")],
            },
            RequestsCase {
                name: "a sidecar adds to the regular containers",
                spec: PodSpec {
                    init_containers: Some(vec![sidecar("s", &[("cpu", "1")])]),
                    containers: vec![container("c", &[("cpu", "1")])],
                    ..Default::default()
                },
                opts: default,
                want: &[("cpu", "2")],
            },
            RequestsCase {
                name: "sidecars started after a large init container add up past it",
                spec: PodSpec {
                    init_containers: Some(vec![
                        container("init-1", &[("cpu", "5")]),
                        sidecar("s1", &[("cpu", "1")]),
                        sidecar("s2", &[("cpu", "2")]),
                        sidecar("s3", &[("cpu", "3")]),
                    ]),
                    containers: vec![container("c", &[("cpu", "1")])],
                    ..Default::default()
                },
                opts: default,
                want: &[("cpu", "7")],
            },
            RequestsCase {
                name: "an init container counts only the sidecars started before it",
                spec: PodSpec {
                    init_containers: Some(vec![
                        container("init-1", &[("cpu", "5")]),
                        sidecar("s1", &[("cpu", "1")]),
                        sidecar("s2", &[("cpu", "2")]),
                        container("init-2", &[("cpu", "5")]),
                        sidecar("s3", &[("cpu", "3")]),
                    ]),
                    containers: vec![container("c", &[("cpu", "1")])],
                    ..Default::default()
                },
                opts: default,
                want: &[("cpu", "8")],
            },
            RequestsCase {
                name: "a sidecar before a huge init container runs beside it",
                spec: PodSpec {
                    init_containers: Some(vec![
                        sidecar("s", &[("cpu", "10")]),
                        container("init", &[("cpu", "200")]),
                    ]),
                    containers: vec![container("c", &[("cpu", "100")])],
                    ..Default::default()
                },
                opts: default,
                want: &[("cpu", "210")],
            },
            RequestsCase {
                name: "a resource only an init container requests is still reported",
                spec: PodSpec {
                    init_containers: Some(vec![container("init", &[("ephemeral-storage", "1Gi")])]),
                    containers: vec![container("c", &[("cpu", "1")])],
                    ..Default::default()
                },
                opts: default,
                want: &[("cpu", "1"), ("ephemeral-storage", "1Gi")],
            },
            RequestsCase {
                name: "pod-level memory is skipped when asked",
                spec: PodSpec {
                    resources: pod_level(&[("memory", "2Mi")]),
                    ..Default::default()
                },
                opts: skip_pod_level,
                want: &[],
            },
            RequestsCase {
                name: "pod-level memory is the request",
                spec: PodSpec {
                    resources: pod_level(&[("memory", "2Mi")]),
                    ..Default::default()
                },
                opts: default,
                want: &[("memory", "2Mi")],
            },
            RequestsCase {
                name: "pod-level memory and container cpu combine",
                spec: PodSpec {
                    resources: pod_level(&[("memory", "2Mi")]),
                    containers: vec![container("c", &[("cpu", "2m")])],
                    ..Default::default()
                },
                opts: default,
                want: &[("memory", "2Mi"), ("cpu", "2m")],
            },
            RequestsCase {
                name: "an unsupported pod-level resource is ignored",
                spec: PodSpec {
                    resources: pod_level(&[("storage", "2Mi")]),
                    containers: vec![container("c", &[("storage", "3Mi")])],
                    ..Default::default()
                },
                opts: default,
                want: &[("storage", "3Mi")],
            },
            RequestsCase {
                name: "an unsupported pod-level resource does not add a key",
                spec: PodSpec {
                    resources: pod_level(&[("storage", "2Mi")]),
                    containers: vec![container("c", &[("memory", "3Mi")])],
                    ..Default::default()
                },
                opts: default,
                want: &[("memory", "3Mi")],
            },
            RequestsCase {
                name: "pod-level requests replace container requests",
                spec: PodSpec {
                    resources: pod_level(&mem_cpu("6Mi", "8m")),
                    containers: vec![container("c", &mem_cpu("3Mi", "2m"))],
                    ..Default::default()
                },
                opts: default,
                want: &[("memory", "6Mi"), ("cpu", "8m")],
            },
            RequestsCase {
                name: "skipping pod-level requests keeps the init container peak",
                spec: PodSpec {
                    containers: vec![container("c", &mem_cpu("3Mi", "2m"))],
                    init_containers: Some(vec![container("i", &mem_cpu("5Mi", "4m"))]),
                    ..Default::default()
                },
                opts: skip_pod_level,
                want: &[("memory", "5Mi"), ("cpu", "4m")],
            },
            RequestsCase {
                name: "a sidecar and a container add up",
                spec: PodSpec {
                    containers: vec![container("c", &mem_cpu("3Mi", "2m"))],
                    init_containers: Some(vec![sidecar("s", &mem_cpu("5Mi", "4m"))]),
                    ..Default::default()
                },
                opts: default,
                want: &[("memory", "8Mi"), ("cpu", "6m")],
            },
            RequestsCase {
                name: "an init container after a sidecar can set the peak",
                spec: PodSpec {
                    containers: vec![container("c", &mem_cpu("3Mi", "2m"))],
                    init_containers: Some(vec![
                        sidecar("s", &mem_cpu("5Mi", "4m")),
                        container("i", &mem_cpu("6Mi", "8m")),
                    ]),
                    ..Default::default()
                },
                opts: default,
                want: &[("memory", "11Mi"), ("cpu", "12m")],
            },
            RequestsCase {
                name: "pod-level requests win over sidecars and init containers",
                spec: PodSpec {
                    resources: pod_level(&mem_cpu("15Mi", "18m")),
                    containers: vec![container("c", &mem_cpu("3Mi", "2m"))],
                    init_containers: Some(vec![
                        sidecar("s", &mem_cpu("5Mi", "4m")),
                        container("i", &mem_cpu("6Mi", "8m")),
                    ]),
                    ..Default::default()
                },
                opts: default,
                want: &[("memory", "15Mi"), ("cpu", "18m")],
            },
            RequestsCase {
                name: "pod-level huge pages are supported",
                spec: PodSpec {
                    resources: pod_level(&[("memory", "10Mi"), ("hugepages-2Mi", "2Mi")]),
                    ..Default::default()
                },
                opts: default,
                want: &[("memory", "10Mi"), ("hugepages-2Mi", "2Mi")],
            },
            RequestsCase {
                name: "pod-level huge pages replace the container's",
                spec: PodSpec {
                    resources: pod_level(&[("cpu", "1"), ("hugepages-2Mi", "10Mi")]),
                    containers: vec![container("c", &[("hugepages-2Mi", "6Mi")])],
                    ..Default::default()
                },
                opts: default,
                want: &[("cpu", "1"), ("hugepages-2Mi", "10Mi")],
            },
            RequestsCase {
                name: "page sizes set only on containers are kept",
                spec: PodSpec {
                    resources: pod_level(&[("cpu", "1"), ("hugepages-2Mi", "10Mi")]),
                    containers: vec![container("c", &[("memory", "4Mi"), ("hugepages-1Gi", "1Gi")])],
                    ..Default::default()
                },
                opts: default,
                want: &[
                    ("cpu", "1"),
                    ("memory", "4Mi"),
                    ("hugepages-2Mi", "10Mi"),
                    ("hugepages-1Gi", "1Gi"),
                ],
            },
            RequestsCase {
                name: "overhead is added on top of pod-level requests",
                spec: PodSpec {
                    resources: pod_level(&[("cpu", "1")]),
                    overhead: Some(list(&[("cpu", "100m")])),
                    ..Default::default()
                },
                opts: default,
                want: &[("cpu", "1100m")],
            },
        ];
        for case in cases {
            let got = pod_requests(&pod_with(case.spec), case.opts)
                .unwrap_or_else(|e| panic!("{}: {e}", case.name));
            let want: BTreeMap<String, Quantity> = case
                .want
                .iter()
                .map(|(k, v)| ((*k).to_owned(), Quantity::parse(v).unwrap()))
                .collect();
            assert_eq!(got, want, "{}", case.name);
        }
        assert!(
            pod_requests(&Pod::default(), PodResourcesOptions::default())
                .unwrap()
                .is_empty(),
            "a pod without spec"
        );
    }

    #[test]
    fn pod_requests_keep_the_first_format_and_reject_bad_quantities() {
        let pod = pod_with(PodSpec {
            containers: vec![
                container("a", &[("memory", "1Gi")]),
                container("b", &[("memory", "512Mi")]),
            ],
            ..Default::default()
        });
        let memory = &pod_requests(&pod, PodResourcesOptions::default()).unwrap()["memory"];
        assert_eq!(memory.to_string(), "1536Mi", "binary requests add up in binary");

        let bad = pod_with(PodSpec {
            containers: vec![container("app", &[("cpu", "one")])],
            ..Default::default()
        });
        let err = pod_requests(&bad, PodResourcesOptions::default()).unwrap_err();
        assert_eq!(
            err.to_string(),
            "failed to parse the cpu request of container app of Pod test-pod: invalid quantity \"one\": \
             quantities must match the regular expression '^([+-]?[0-9.]+)([eEinumkKMGTP]*[-+]?[0-9]*)$'"
        );
        assert!(!err.is_retryable());
        let bad_overhead = pod_with(PodSpec {
            overhead: Some(list(&[("cpu", "1 ")])),
            ..Default::default()
        });
        assert!(
            pod_requests(&bad_overhead, PodResourcesOptions::default()).is_ok(),
            "surrounding whitespace is trimmed"
        );
        let bad_overhead = pod_with(PodSpec {
            overhead: Some(list(&[("cpu", "1x")])),
            ..Default::default()
        });
        let err = pod_requests(&bad_overhead, PodResourcesOptions::default()).unwrap_err();
        assert!(
            err.to_string()
                .starts_with("failed to parse the cpu overhead of Pod test-pod: "),
            "{err}"
        );
        let excluded = pod_requests(
            &bad_overhead,
            PodResourcesOptions {
                exclude_overhead: true,
                ..Default::default()
            },
        );
        assert!(excluded.is_ok(), "excluded overhead is not read");
    }

    struct HpaCase {
        name: &'static str,
        spec: PodSpec,
        container: Option<&'static str>,
        pod_level_enabled: bool,
        want: Result<i64, &'static str>,
    }

    /// Facts of upstream `TestCalculateRequests` and
    /// `TestCalculatePodRequestsFromContainers_NonExistentContainer`, plus the branches around them.
    #[test]
    fn container_requests_milli_matches_the_hpa() {
        let two = || {
            vec![
                container("container1", &[("cpu", "100m")]),
                container("container2", &[("cpu", "50m")]),
            ]
        };
        let cases = [
            HpaCase {
                name: "container requests are summed when the feature is off",
                spec: PodSpec {
                    containers: two(),
                    ..Default::default()
                },
                container: None,
                pod_level_enabled: false,
                want: Ok(150),
            },
            HpaCase {
                name: "container requests are summed when pod-level requests are not set",
                spec: PodSpec {
                    containers: two(),
                    ..Default::default()
                },
                container: None,
                pod_level_enabled: true,
                want: Ok(150),
            },
            HpaCase {
                name: "pod-level requests override container requests",
                spec: PodSpec {
                    resources: pod_level(&[("cpu", "800m")]),
                    containers: two(),
                    ..Default::default()
                },
                container: None,
                pod_level_enabled: true,
                want: Ok(800),
            },
            HpaCase {
                name: "pod-level requests are ignored when the feature is off",
                spec: PodSpec {
                    resources: pod_level(&[("cpu", "800m")]),
                    containers: two(),
                    ..Default::default()
                },
                container: None,
                pod_level_enabled: false,
                want: Ok(150),
            },
            HpaCase {
                name: "a container without the request fails",
                spec: PodSpec {
                    containers: vec![bare("container1"), container("container2", &[("cpu", "50m")])],
                    ..Default::default()
                },
                container: None,
                pod_level_enabled: false,
                want: Err("missing request for cpu in container container1 of Pod test-pod"),
            },
            HpaCase {
                name: "pod-level requests cover a container without requests",
                spec: PodSpec {
                    resources: pod_level(&[("cpu", "800m")]),
                    containers: vec![bare("container1"), container("container2", &[("cpu", "50m")])],
                    ..Default::default()
                },
                container: None,
                pod_level_enabled: true,
                want: Ok(800),
            },
            HpaCase {
                name: "the pod-level path adds the overhead",
                spec: PodSpec {
                    resources: pod_level(&[("cpu", "800m")]),
                    overhead: Some(list(&[("cpu", "100m")])),
                    containers: two(),
                    ..Default::default()
                },
                container: None,
                pod_level_enabled: true,
                want: Ok(900),
            },
            HpaCase {
                name: "pod-level memory alone leaves cpu to the container sum",
                spec: PodSpec {
                    resources: pod_level(&[("memory", "1Gi")]),
                    containers: two(),
                    ..Default::default()
                },
                container: None,
                pod_level_enabled: true,
                want: Ok(150),
            },
            HpaCase {
                name: "pod-level memory alone with no cpu anywhere fails",
                spec: PodSpec {
                    resources: pod_level(&[("memory", "1Gi")]),
                    containers: vec![bare("container1")],
                    ..Default::default()
                },
                container: None,
                pod_level_enabled: true,
                want: Err("missing pod-level request for cpu in Pod test-pod"),
            },
            HpaCase {
                name: "a container filter counts only that container",
                spec: PodSpec {
                    containers: two(),
                    ..Default::default()
                },
                container: Some("container1"),
                pod_level_enabled: false,
                want: Ok(100),
            },
            HpaCase {
                name: "a container filter takes precedence over pod-level requests",
                spec: PodSpec {
                    resources: pod_level(&[("cpu", "800m")]),
                    containers: two(),
                    ..Default::default()
                },
                container: Some("container1"),
                pod_level_enabled: true,
                want: Ok(100),
            },
            HpaCase {
                name: "an empty container filter is no filter",
                spec: PodSpec {
                    containers: two(),
                    ..Default::default()
                },
                container: Some(""),
                pod_level_enabled: false,
                want: Ok(150),
            },
            HpaCase {
                name: "sidecars count and plain init containers do not",
                spec: PodSpec {
                    containers: vec![container("container1", &[("cpu", "100m")])],
                    init_containers: Some(vec![
                        container("init-container1", &[("cpu", "20m")]),
                        sidecar("restartable-container1", &[("cpu", "50m")]),
                    ]),
                    ..Default::default()
                },
                container: None,
                pod_level_enabled: false,
                want: Ok(150),
            },
            HpaCase {
                name: "a plain init container without the request does not fail",
                spec: PodSpec {
                    containers: two(),
                    init_containers: Some(vec![bare("init")]),
                    ..Default::default()
                },
                container: None,
                pod_level_enabled: false,
                want: Ok(150),
            },
            HpaCase {
                name: "a sidecar without the request fails",
                spec: PodSpec {
                    containers: two(),
                    init_containers: Some(vec![Container {
                        restart_policy: Some("Always".to_owned()),
                        ..bare("proxy")
                    }]),
                    ..Default::default()
                },
                container: None,
                pod_level_enabled: false,
                want: Err("missing request for cpu in container proxy of Pod test-pod"),
            },
            HpaCase {
                name: "a sidecar can be the filtered container",
                spec: PodSpec {
                    containers: two(),
                    init_containers: Some(vec![sidecar("proxy", &[("cpu", "30m")])]),
                    ..Default::default()
                },
                container: Some("proxy"),
                pod_level_enabled: false,
                want: Ok(30),
            },
            HpaCase {
                name: "a plain init container cannot be filtered",
                spec: PodSpec {
                    containers: two(),
                    init_containers: Some(vec![container("init", &[("cpu", "20m")])]),
                    ..Default::default()
                },
                container: Some("init"),
                pod_level_enabled: false,
                want: Err("container init not found in Pod test-pod"),
            },
            HpaCase {
                name: "a missing container is an error",
                spec: PodSpec {
                    containers: vec![container("container1", &[("cpu", "100m")])],
                    ..Default::default()
                },
                container: Some("non-existent-container"),
                pod_level_enabled: false,
                want: Err("container non-existent-container not found in Pod test-pod"),
            },
            HpaCase {
                name: "the filter stops before later containers without requests",
                spec: PodSpec {
                    containers: vec![container("container1", &[("cpu", "100m")]), bare("container2")],
                    ..Default::default()
                },
                container: Some("container1"),
                pod_level_enabled: false,
                want: Ok(100),
            },
            HpaCase {
                name: "the filtered container without the request fails",
                spec: PodSpec {
                    containers: vec![container("container1", &[("memory", "1Gi")])],
                    ..Default::default()
                },
                container: Some("container1"),
                pod_level_enabled: false,
                want: Err("missing request for cpu in container container1 of Pod test-pod"),
            },
            HpaCase {
                name: "each request is rounded up to a milli before summing",
                spec: PodSpec {
                    containers: vec![container("a", &[("cpu", "1n")]), container("b", &[("cpu", "1n")])],
                    ..Default::default()
                },
                container: None,
                pod_level_enabled: false,
                want: Ok(2),
            },
            HpaCase {
                name: "a pod without containers requests zero",
                spec: PodSpec::default(),
                container: None,
                pod_level_enabled: false,
                want: Ok(0),
            },
        ];
        for case in cases {
            let got = container_requests_milli(
                &pod_with(case.spec),
                "cpu",
                case.container,
                case.pod_level_enabled,
            );
            let got = got.map_err(|e| e.to_string());
            assert_eq!(got, case.want.map_err(str::to_owned), "{}", case.name);
        }
    }

    #[test]
    fn container_requests_milli_handles_memory_and_odd_pods() {
        let pod = pod_with(PodSpec {
            containers: vec![container("c", &[("memory", "1.5Gi")])],
            ..Default::default()
        });
        assert_eq!(
            container_requests_milli(&pod, "memory", None, false),
            Ok(1_610_612_736_000)
        );
        let err = container_requests_milli(&Pod::default(), "cpu", Some("c"), false).unwrap_err();
        assert_eq!(
            err,
            RequestError::ContainerNotFound {
                container: "c".to_owned(),
                pod: String::new()
            }
        );
        assert!(!err.is_retryable());
        let bad = pod_with(PodSpec {
            containers: vec![container("c", &[("cpu", "lots")])],
            ..Default::default()
        });
        let err = container_requests_milli(&bad, "cpu", None, false).unwrap_err();
        assert!(
            matches!(err, RequestError::Invalid(Error::InvalidQuantity { .. })),
            "{err:?}"
        );
        assert!(
            err.to_string()
                .starts_with("failed to parse the cpu request of container c of Pod test-pod"),
            "{err}"
        );
        let saturating = pod_with(PodSpec {
            containers: vec![
                container("a", &[("cpu", "9223372036854775807m")]),
                container("b", &[("cpu", "1m")]),
            ],
            ..Default::default()
        });
        assert_eq!(
            container_requests_milli(&saturating, "cpu", None, false),
            Ok(i64::MAX),
            "the sum saturates"
        );
    }
}
