//! The cluster as the node autoscaler sees it: plain data, built by the caller (from reflector stores,
//! from a scenario, from a benchmark generator) and never mutated by the decision core.
//!
//! These types keep only what scheduling and draining decisions read. Conversions from the
//! Kubernetes API objects live in [`crate::convert`]. The scheduling-relevant part of a pod sits in an
//! [`Arc<SchedulingSpec>`], so that the thousands of replicas of one workload share one spec and
//! equivalence classes are found by comparing pointers first.

use std::collections::BTreeMap;
use std::sync::Arc;

use jiff::{SignedDuration, Timestamp};
use serde::{Deserialize, Serialize};
use swell_core::selector::Selector;

use crate::resources::Resources;

/// Labels or annotations.
pub type Labels = BTreeMap<String, String>;

/// The well-known hostname label; as a topology key it names a single node.
pub const LABEL_HOSTNAME: &str = "kubernetes.io/hostname";
/// The well-known zone label.
pub const LABEL_ZONE: &str = "topology.kubernetes.io/zone";
/// Cluster Autoscaler's node annotation that keeps a node from being scaled down.
pub const ANNOTATION_SCALE_DOWN_DISABLED: &str = "cluster-autoscaler.kubernetes.io/scale-down-disabled";
/// Cluster Autoscaler's pod annotation for eviction safety (`"true"`, `"false"`, `"on-completion"`).
pub const ANNOTATION_SAFE_TO_EVICT: &str = "cluster-autoscaler.kubernetes.io/safe-to-evict";
/// Cluster Autoscaler's pod annotation listing local volumes that may be lost on eviction.
pub const ANNOTATION_SAFE_TO_EVICT_LOCAL_VOLUMES: &str =
    "cluster-autoscaler.kubernetes.io/safe-to-evict-local-volumes";
/// Cluster Autoscaler's pod annotation delaying its scale-up (a Go duration).
pub const ANNOTATION_POD_SCALE_UP_DELAY: &str = "cluster-autoscaler.kubernetes.io/pod-scale-up-delay";
/// The hard taint put on a node before it is drained.
pub const TAINT_TO_BE_DELETED: &str = "ToBeDeletedByClusterAutoscaler";
/// The soft taint put on unneeded nodes.
pub const TAINT_DELETION_CANDIDATE: &str = "DeletionCandidateOfClusterAutoscaler";

/// A taint's effect.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub enum TaintEffect {
    /// New pods that do not tolerate it are not scheduled.
    NoSchedule,
    /// The scheduler avoids the node; not a filter.
    PreferNoSchedule,
    /// Running pods that do not tolerate it are evicted; new pods are not scheduled.
    NoExecute,
}

impl TaintEffect {
    /// The API spelling.
    pub fn as_str(self) -> &'static str {
        match self {
            TaintEffect::NoSchedule => "NoSchedule",
            TaintEffect::PreferNoSchedule => "PreferNoSchedule",
            TaintEffect::NoExecute => "NoExecute",
        }
    }

    /// Parses the API spelling.
    pub fn parse(s: &str) -> Option<TaintEffect> {
        match s {
            "NoSchedule" => Some(TaintEffect::NoSchedule),
            "PreferNoSchedule" => Some(TaintEffect::PreferNoSchedule),
            "NoExecute" => Some(TaintEffect::NoExecute),
            _ => None,
        }
    }
}

/// A node taint.
#[derive(Clone, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct Taint {
    /// Key.
    pub key: String,
    /// Value (may be empty).
    pub value: String,
    /// Effect.
    pub effect: TaintEffect,
}

impl Taint {
    /// A taint.
    pub fn new(key: &str, value: &str, effect: TaintEffect) -> Taint {
        Taint {
            key: key.into(),
            value: value.into(),
            effect,
        }
    }
}

/// A toleration's operator.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum TolerationOperator {
    /// Key and value must match.
    Equal,
    /// Key must match (any value); an empty key with Exists tolerates everything.
    Exists,
}

/// A pod toleration.
#[derive(Clone, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct Toleration {
    /// Key; empty matches every key (only with `Exists`).
    pub key: String,
    /// Operator.
    pub operator: TolerationOperator,
    /// Value for `Equal`.
    pub value: String,
    /// Effect; `None` matches every effect.
    pub effect: Option<TaintEffect>,
}

impl Toleration {
    /// Whether this toleration tolerates `taint` (the API's `ToleratesTaint`).
    pub fn tolerates(&self, taint: &Taint) -> bool {
        if self.effect.is_some_and(|effect| effect != taint.effect) {
            return false;
        }
        if !self.key.is_empty() && self.key != taint.key {
            return false;
        }
        match self.operator {
            TolerationOperator::Exists => true,
            TolerationOperator::Equal => self.value == taint.value,
        }
    }
}

/// A node-selector requirement's operator.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum NodeSelectorOperator {
    /// The label's value is one of the values.
    In,
    /// The label is absent or its value is none of the values.
    NotIn,
    /// The label is present.
    Exists,
    /// The label is absent.
    DoesNotExist,
    /// The label's value, as an integer, is greater than the single value.
    Gt,
    /// The label's value, as an integer, is less than the single value.
    Lt,
}

/// One requirement of a node-selector term.
#[derive(Clone, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct NodeSelectorRequirement {
    /// Label key (or field name for field requirements: only `metadata.name`).
    pub key: String,
    /// Operator.
    pub operator: NodeSelectorOperator,
    /// Values.
    pub values: Vec<String>,
}

impl NodeSelectorRequirement {
    /// Whether `value` (the label's value, `None` when absent) satisfies the requirement.
    pub fn matches(&self, value: Option<&str>) -> bool {
        match self.operator {
            NodeSelectorOperator::In => value.is_some_and(|v| self.values.iter().any(|x| x == v)),
            NodeSelectorOperator::NotIn => value.is_none_or(|v| !self.values.iter().any(|x| x == v)),
            NodeSelectorOperator::Exists => value.is_some(),
            NodeSelectorOperator::DoesNotExist => value.is_none(),
            NodeSelectorOperator::Gt | NodeSelectorOperator::Lt => {
                // Like the API: exactly one value, both sides integers; anything else does not match.
                let (Some(v), [bound]) = (value, self.values.as_slice()) else {
                    return false;
                };
                let (Ok(v), Ok(bound)) = (v.parse::<i64>(), bound.parse::<i64>()) else {
                    return false;
                };
                if self.operator == NodeSelectorOperator::Gt {
                    v > bound
                } else {
                    v < bound
                }
            }
        }
    }
}

/// A node-selector term: every expression and every field requirement must hold. A term with
/// neither matches nothing (as in the API).
#[derive(Clone, Debug, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct NodeSelectorTerm {
    /// Requirements on node labels.
    pub match_expressions: Vec<NodeSelectorRequirement>,
    /// Requirements on node fields (`metadata.name`).
    pub match_fields: Vec<NodeSelectorRequirement>,
}

/// A required (anti-)affinity term between pods.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct PodAffinityTerm {
    /// Which pods the term is about.
    pub selector: Selector,
    /// Namespaces the pods may be in; empty with no namespace selector means the pod's own.
    pub namespaces: Vec<String>,
    /// Namespaces by label (`{}` selects all namespaces).
    pub namespace_selector: Option<Selector>,
    /// The node label whose value defines "the same place".
    pub topology_key: String,
}

/// A host port a container binds.
#[derive(Clone, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct HostPort {
    /// Port number.
    pub port: i32,
    /// TCP, UDP or SCTP.
    pub protocol: String,
    /// Host IP; empty or `0.0.0.0` means every address.
    pub ip: String,
}

impl HostPort {
    /// Whether two host ports collide (same port and protocol, overlapping addresses).
    pub fn conflicts(&self, other: &HostPort) -> bool {
        fn wildcard(ip: &str) -> bool {
            ip.is_empty() || ip == "0.0.0.0"
        }
        self.port == other.port
            && self.protocol == other.protocol
            && (wildcard(&self.ip) || wildcard(&other.ip) || self.ip == other.ip)
    }
}

/// What the scheduler reads of a pod besides its requests: shared between the replicas of a
/// workload, so that equivalent pods are found and checked once.
#[derive(Clone, Debug, Default, PartialEq, Eq, Hash)]
pub struct SchedulingSpec {
    /// `spec.nodeSelector`.
    pub node_selector: Labels,
    /// `requiredDuringSchedulingIgnoredDuringExecution` node-selector terms (OR'ed); `None` = no
    /// required node affinity.
    pub node_affinity: Option<Vec<NodeSelectorTerm>>,
    /// Tolerations.
    pub tolerations: Vec<Toleration>,
    /// Host ports of all containers.
    pub host_ports: Vec<HostPort>,
    /// Required pod affinity terms.
    pub pod_affinity: Vec<PodAffinityTerm>,
    /// Required pod anti-affinity terms.
    pub pod_anti_affinity: Vec<PodAffinityTerm>,
}

/// How the pod relates to its controller.
#[derive(Clone, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct Owner {
    /// Kind (ReplicaSet, StatefulSet, Job, DaemonSet, ...).
    pub kind: String,
    /// Name.
    pub name: String,
    /// UID; equivalence classes are keyed on it.
    pub uid: String,
    /// Whether the owner object exists (`None`: not known to the caller, treated as existing).
    pub exists: Option<bool>,
    /// The owner's replica count when known (for the min-replica-count drain rule).
    pub replicas: Option<i32>,
}

/// A volume kind, as far as draining cares.
#[derive(Clone, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum VolumeKind {
    /// `hostPath`.
    HostPath,
    /// `emptyDir`, `memory` when its medium is Memory.
    EmptyDir {
        /// Backed by RAM (does not count as local storage).
        memory: bool,
    },
    /// Anything else (PVC, configMap, secret, projected, ...).
    Other,
}

/// A pod volume.
#[derive(Clone, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct Volume {
    /// Name.
    pub name: String,
    /// Kind.
    pub kind: VolumeKind,
}

/// `cluster-autoscaler.kubernetes.io/safe-to-evict` on a pod.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum SafeToEvict {
    /// No annotation. (Conversion refuses any value but `"true"`, `"false"` and `"on-completion"`.)
    #[default]
    Unset,
    /// `"true"`: evict even if another rule would block.
    True,
    /// `"false"`: never evict.
    False,
    /// `"on-completion"`: wait for the pod to finish.
    OnCompletion,
}

/// A pod's phase.
pub use swell_core::pod::PodPhase;

/// A pod.
#[derive(Clone, Debug)]
pub struct Pod {
    /// Namespace.
    pub namespace: String,
    /// Name.
    pub name: String,
    /// The node it is bound to.
    pub node_name: Option<String>,
    /// Effective requests (init containers, sidecars and overhead folded in), with `pods: 1`.
    pub requests: Resources,
    /// `spec.priority` (0 when unset).
    pub priority: i32,
    /// The controlling owner.
    pub owner: Option<Owner>,
    /// Labels.
    pub labels: Labels,
    /// Scheduling constraints, shared between equivalent pods.
    pub scheduling: Arc<SchedulingSpec>,
    /// Volumes.
    pub volumes: Vec<Volume>,
    /// Phase.
    pub phase: PodPhase,
    /// When deletion was requested.
    pub deletion_timestamp: Option<Timestamp>,
    /// `spec.terminationGracePeriodSeconds` (30 when unset).
    pub termination_grace_seconds: i64,
    /// Creation time.
    pub created: Timestamp,
    /// `PodScheduled=False` with reason `Unschedulable`.
    pub unschedulable: bool,
    /// `spec.schedulingGates` is not empty.
    pub scheduling_gated: bool,
    /// A static pod's mirror.
    pub mirror: bool,
    /// The safe-to-evict annotation.
    pub safe_to_evict: SafeToEvict,
    /// Volumes listed in the safe-to-evict-local-volumes annotation.
    pub safe_to_evict_local_volumes: Vec<String>,
    /// The per-pod scale-up delay annotation.
    pub scale_up_delay: Option<SignedDuration>,
}

impl Pod {
    /// `namespace/name`.
    pub fn key(&self) -> String {
        format!("{}/{}", self.namespace, self.name)
    }

    /// Whether a DaemonSet controls the pod.
    pub fn is_daemonset(&self) -> bool {
        self.owner.as_ref().is_some_and(|o| o.kind == "DaemonSet")
    }

    /// Succeeded or Failed.
    pub fn is_terminal(&self) -> bool {
        matches!(self.phase, PodPhase::Succeeded | PodPhase::Failed)
    }
}

/// A node.
#[derive(Clone, Debug)]
pub struct Node {
    /// Name.
    pub name: String,
    /// The node group it belongs to, if autoscaled.
    pub group: Option<String>,
    /// Allocatable resources (`pods` included).
    pub allocatable: Resources,
    /// Capacity (least-waste compares against it, as CA does).
    pub capacity: Resources,
    /// Labels.
    pub labels: Labels,
    /// Taints.
    pub taints: Vec<Taint>,
    /// `Ready=True`.
    pub ready: bool,
    /// When the Ready condition last changed.
    pub ready_transition: Option<Timestamp>,
    /// `spec.unschedulable` (cordoned).
    pub unschedulable: bool,
    /// Creation time.
    pub created: Timestamp,
    /// The scale-down-disabled annotation is `"true"`.
    pub scale_down_disabled: bool,
}

impl Node {
    /// Whether the node carries the hard deletion taint (a drain is under way).
    pub fn is_being_deleted(&self) -> bool {
        self.taints.iter().any(|t| t.key == TAINT_TO_BE_DELETED)
    }
}

/// A PodDisruptionBudget, reduced to what eviction checks.
#[derive(Clone, Debug)]
pub struct Pdb {
    /// Namespace.
    pub namespace: String,
    /// Name.
    pub name: String,
    /// Which pods it covers.
    pub selector: Selector,
    /// `status.disruptionsAllowed`.
    pub disruptions_allowed: i32,
}

impl Pdb {
    /// Whether the PDB covers `pod`.
    pub fn covers(&self, pod: &Pod) -> bool {
        // policy/v1: an empty selector selects every pod of the namespace; a missing one (converted
        // to `Selector::nothing`) selects none.
        self.namespace == pod.namespace && self.selector.matches(&pod.labels)
    }
}

/// A DaemonSet: the pod it would run on each new node it tolerates.
#[derive(Clone, Debug)]
pub struct DaemonSet {
    /// Namespace.
    pub namespace: String,
    /// Name.
    pub name: String,
    /// Requests of its pod template.
    pub requests: Resources,
    /// Its pod template's scheduling constraints.
    pub scheduling: Arc<SchedulingSpec>,
}

/// Per-group overrides of the scale-down options (CA's `autoscaling-options` tags).
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct GroupOptions {
    /// `scaledownutilizationthreshold`.
    pub scale_down_utilization_threshold: Option<f64>,
    /// `scaledownunneededtime`.
    pub scale_down_unneeded_time: Option<SignedDuration>,
    /// `scaledownunreadytime`.
    pub scale_down_unready_time: Option<SignedDuration>,
    /// `ignoredaemonsetsutilization`.
    pub ignore_daemonsets_utilization: Option<bool>,
}

/// A node group (an Auto Scaling Group, a kwok group, a simulated pool).
#[derive(Clone, Debug)]
pub struct NodeGroup {
    /// Provider id.
    pub id: String,
    /// Minimum size.
    pub min: usize,
    /// Maximum size.
    pub max: usize,
    /// Current target size (desired capacity).
    pub target: usize,
    /// What a new node of this group looks like (labels, taints, allocatable).
    pub template: Node,
    /// Price per node-hour, if known.
    pub price_per_hour: Option<f64>,
    /// When the group's backoff after a failed scale-up ends, if it is backed off.
    pub backoff_until: Option<Timestamp>,
    /// Per-group option overrides.
    pub options: GroupOptions,
}

impl NodeGroup {
    /// Whether the group is backed off at `now`.
    pub fn in_backoff(&self, now: Timestamp) -> bool {
        self.backoff_until.is_some_and(|until| until > now)
    }
}
