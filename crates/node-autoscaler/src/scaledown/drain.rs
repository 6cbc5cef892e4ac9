//! Drainability: what happens to one pod when its node is scaled down.
//!
//! Cluster Autoscaler's rule chain (`simulator/drainability/rules/rules.go`, 1.36), in its order.
//! Each rule either decides or passes the pod on to the next; the first decision wins, and a pod no
//! rule decides on is drained.
//!
//! | rule            | when                                                        | outcome                        |
//! |-----------------|-------------------------------------------------------------|--------------------------------|
//! | mirror          | a static pod's mirror                                       | skip                           |
//! | long-terminating| deleted more than its grace period + 30 s ago               | skip                           |
//! | replica count   | owner gone; RC/RS with fewer replicas than the minimum      | block (only with custom-controller skipping on) |
//! | DaemonSet       | owned by a DaemonSet                                        | skip                           |
//! | safe-to-evict   | `safe-to-evict: "true"`                                     | drain (nothing after it runs)  |
//! | terminal        | Succeeded or Failed                                         | skip                           |
//! | on-completion   | `safe-to-evict: "on-completion"`                            | wait for completion            |
//! | replicated      | no controller (or, by default, not RC/RS/Job/StatefulSet)   | block                          |
//! | system          | in kube-system and no PDB covers it                         | block (if system pods skip)    |
//! | not-safe-to-evict | `safe-to-evict: "false"`                                  | block                          |
//! | local storage   | hostPath or disk-backed emptyDir not listed as safe         | block (if local storage skips) |
//! | PDB             | a covering PDB has no disruption left                       | block                          |
//!
//! Where upstream's outcome is "drain OK" for a pod that never needs a new home (a DaemonSet pod,
//! which upstream sets aside for optional eviction; a terminal pod, which upstream's snapshot never
//! even lists), the outcome here is [`Drainability::Skip`]: the planner reads Skip as "goes away
//! with the node, needs no room elsewhere".
//!
//! The PDB rule reads a [`PdbTracker`], so a plan that already spent a PDB's disruptions on other
//! nodes sees it exhausted here.

use std::fmt;

use jiff::{SignedDuration, Timestamp};
use serde::{Deserialize, Serialize, Serializer};

use crate::model::{Pod, SafeToEvict, VolumeKind};
use crate::scaledown::pdb::PdbTracker;

/// How long past its grace period a deleted pod is still waited for; after that it is considered
/// gone (upstream's `PodLongTerminatingExtraThreshold`).
pub const POD_LONG_TERMINATING_EXTRA_THRESHOLD: SignedDuration = SignedDuration::from_secs(30);

/// The namespace whose pods the system rule protects.
const KUBE_SYSTEM: &str = "kube-system";

/// The options of the drain rules, with Cluster Autoscaler's flag names and defaults.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct DrainOptions {
    /// `--skip-nodes-with-system-pods` (true): a kube-system pod no PDB covers blocks its node.
    pub skip_nodes_with_system_pods: bool,
    /// `--skip-nodes-with-local-storage` (true): a pod with hostPath or disk-backed emptyDir volumes
    /// blocks its node.
    pub skip_nodes_with_local_storage: bool,
    /// `--skip-nodes-with-custom-controller-pods` (true): only ReplicationController, ReplicaSet,
    /// Job and StatefulSet count as controllers. Upstream also runs the replica-count rule (owner
    /// existence, `--min-replica-count`) only when this is on.
    pub skip_nodes_with_custom_controller_pods: bool,
    /// `--min-replica-count` (0): a ReplicationController or ReplicaSet with fewer replicas than
    /// this keeps its pods where they are.
    pub min_replica_count: i32,
}

impl Default for DrainOptions {
    fn default() -> DrainOptions {
        DrainOptions {
            skip_nodes_with_system_pods: true,
            skip_nodes_with_local_storage: true,
            skip_nodes_with_custom_controller_pods: true,
            min_replica_count: 0,
        }
    }
}

/// Why a pod blocks the scale-down of its node (upstream's `drain.BlockingPodReason`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum BlockingReason {
    /// The pod's controller does not exist.
    ControllerNotFound,
    /// The pod's ReplicationController or ReplicaSet has fewer replicas than `--min-replica-count`.
    MinReplicasReached,
    /// The pod has no controller (or one that does not count, see
    /// [`DrainOptions::skip_nodes_with_custom_controller_pods`]).
    NotReplicated,
    /// The pod has local storage that would be lost.
    LocalStorageRequested,
    /// The pod is annotated `safe-to-evict: "false"`.
    NotSafeToEvictAnnotation,
    /// A kube-system pod that no PDB covers.
    UnmovableKubeSystemPod,
    /// A PDB covering the pod allows no more disruptions.
    NotEnoughPdb,
    /// Anything else; kept for parity with upstream's reasons.
    UnexpectedError,
}

impl BlockingReason {
    /// Upstream's name, verbatim.
    pub fn as_str(self) -> &'static str {
        match self {
            BlockingReason::ControllerNotFound => "ControllerNotFound",
            BlockingReason::MinReplicasReached => "MinReplicasReached",
            BlockingReason::NotReplicated => "NotReplicated",
            BlockingReason::LocalStorageRequested => "LocalStorageRequested",
            BlockingReason::NotSafeToEvictAnnotation => "NotSafeToEvictAnnotation",
            BlockingReason::UnmovableKubeSystemPod => "UnmovableKubeSystemPod",
            BlockingReason::NotEnoughPdb => "NotEnoughPdb",
            BlockingReason::UnexpectedError => "UnexpectedError",
        }
    }
}

impl fmt::Display for BlockingReason {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl Serialize for BlockingReason {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(self.as_str())
    }
}

/// A rule of the chain: the one that decided a pod's fate.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Rule {
    /// Mirror pods of static pods.
    Mirror,
    /// Pods deleted long ago that are still terminating.
    LongTerminating,
    /// Owner existence and `--min-replica-count`.
    ReplicaCount,
    /// DaemonSet pods.
    DaemonSet,
    /// `safe-to-evict: "true"`.
    SafeToEvict,
    /// Succeeded or Failed pods.
    Terminal,
    /// `safe-to-evict: "on-completion"`.
    OnCompletion,
    /// Pods without a (counted) controller.
    Replicated,
    /// kube-system pods without a PDB.
    System,
    /// `safe-to-evict: "false"`.
    NotSafeToEvict,
    /// Local storage.
    LocalStorage,
    /// PodDisruptionBudgets.
    Pdb,
}

impl Rule {
    /// Every rule, in the order of the chain.
    pub const ALL: [Rule; 12] = [
        Rule::Mirror,
        Rule::LongTerminating,
        Rule::ReplicaCount,
        Rule::DaemonSet,
        Rule::SafeToEvict,
        Rule::Terminal,
        Rule::OnCompletion,
        Rule::Replicated,
        Rule::System,
        Rule::NotSafeToEvict,
        Rule::LocalStorage,
        Rule::Pdb,
    ];

    /// Upstream's rule name (`Rule.Name()`), verbatim.
    pub fn as_str(self) -> &'static str {
        match self {
            Rule::Mirror => "Mirror",
            Rule::LongTerminating => "LongTerminating",
            Rule::ReplicaCount => "ReplicaCount",
            Rule::DaemonSet => "DaemonSet",
            Rule::SafeToEvict => "SafeToEvict",
            Rule::Terminal => "Terminal",
            Rule::OnCompletion => "OnCompletion",
            Rule::Replicated => "Replicated",
            Rule::System => "System",
            Rule::NotSafeToEvict => "NotSafeToEvict",
            Rule::LocalStorage => "LocalStorage",
            Rule::Pdb => "PDB",
        }
    }
}

impl fmt::Display for Rule {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl Serialize for Rule {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(self.as_str())
    }
}

/// What happens to a pod when its node goes.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub enum Drainability {
    /// Evict it; it needs room on another node.
    Drain,
    /// Leave it: it goes away with the node and needs no room elsewhere (mirror, long-terminating,
    /// DaemonSet and terminal pods). The rule says which.
    Skip(Rule),
    /// `safe-to-evict: "on-completion"` on a running pod: the node may be found unneeded, but is not
    /// removed until the pod has finished (upstream's `WaitForCompletion`; the node is unremovable
    /// with `BlockedByOnCompletionPod` meanwhile).
    WaitForCompletion,
    /// The pod keeps its node from being scaled down.
    Block {
        /// The rule that blocked.
        rule: Rule,
        /// Upstream's reason.
        reason: BlockingReason,
        /// Upstream's message.
        message: String,
    },
}

impl Drainability {
    /// Whether the pod blocks its node.
    pub fn is_blocking(&self) -> bool {
        matches!(self, Drainability::Block { .. })
    }

    /// The blocking reason, if the pod blocks its node.
    pub fn blocking_reason(&self) -> Option<BlockingReason> {
        match self {
            Drainability::Block { reason, .. } => Some(*reason),
            _ => None,
        }
    }

    /// Whether the pod must be given room on another node.
    pub fn needs_rescheduling(&self) -> bool {
        matches!(self, Drainability::Drain)
    }

    fn block(rule: Rule, reason: BlockingReason, message: String) -> Drainability {
        Drainability::Block {
            rule,
            reason,
            message,
        }
    }
}

/// Runs the rule chain on `pod`: what happens to it if its node is scaled down at `now`, given the
/// disruptions `pdbs` still allow.
pub fn drainability(pod: &Pod, pdbs: &PdbTracker, options: &DrainOptions, now: Timestamp) -> Drainability {
    if pod.mirror {
        return Drainability::Skip(Rule::Mirror);
    }
    if is_long_terminating(pod, now) {
        return Drainability::Skip(Rule::LongTerminating);
    }
    // Upstream registers this rule only with custom-controller skipping on.
    if options.skip_nodes_with_custom_controller_pods
        && let Some(blocked) = replica_count(pod, options.min_replica_count)
    {
        return blocked;
    }
    if pod.is_daemonset() {
        return Drainability::Skip(Rule::DaemonSet);
    }
    // Before every blocking rule, so it overrides them all, the PDB rule included.
    if pod.safe_to_evict == SafeToEvict::True {
        return Drainability::Drain;
    }
    if pod.is_terminal() {
        return Drainability::Skip(Rule::Terminal);
    }
    if pod.safe_to_evict == SafeToEvict::OnCompletion {
        return Drainability::WaitForCompletion;
    }
    if !is_replicated(pod, options.skip_nodes_with_custom_controller_pods) {
        return Drainability::block(
            Rule::Replicated,
            BlockingReason::NotReplicated,
            format!("{}/{} is not replicated", pod.namespace, pod.name),
        );
    }
    if options.skip_nodes_with_system_pods && pod.namespace == KUBE_SYSTEM && !pdbs.is_covered(pod) {
        return Drainability::block(
            Rule::System,
            BlockingReason::UnmovableKubeSystemPod,
            format!(
                "non-daemonset, non-mirrored, non-pdb-assigned kube-system pod present: {}",
                pod.name
            ),
        );
    }
    if pod.safe_to_evict == SafeToEvict::False {
        return Drainability::block(
            Rule::NotSafeToEvict,
            BlockingReason::NotSafeToEvictAnnotation,
            format!("pod annotated as not safe to evict present: {}", pod.name),
        );
    }
    if options.skip_nodes_with_local_storage && has_blocking_local_storage(pod) {
        return Drainability::block(
            Rule::LocalStorage,
            BlockingReason::LocalStorageRequested,
            format!("pod with local storage present: {}", pod.name),
        );
    }
    if pdbs.covering(pod).any(|i| pdbs.remaining(i) < 1) {
        return Drainability::block(
            Rule::Pdb,
            BlockingReason::NotEnoughPdb,
            format!(
                "not enough pod disruption budget to move {}/{}",
                pod.namespace, pod.name
            ),
        );
    }
    Drainability::Drain
}

/// Whether `pod` was deleted and is still around more than its grace period plus
/// [`POD_LONG_TERMINATING_EXTRA_THRESHOLD`] later (upstream's `IsPodLongTerminating`). Such a pod is
/// treated as gone.
pub fn is_long_terminating(pod: &Pod, now: Timestamp) -> bool {
    let Some(deleted) = pod.deletion_timestamp else {
        return false;
    };
    // An overflowing deadline lies beyond any `now`.
    deleted
        .checked_add(SignedDuration::from_secs(pod.termination_grace_seconds))
        .and_then(|t| t.checked_add(POD_LONG_TERMINATING_EXTRA_THRESHOLD))
        .is_ok_and(|deadline| deadline < now)
}

/// Whether `pod` has a volume whose data lives on the node (hostPath, or an emptyDir not backed by
/// memory) that its `safe-to-evict-local-volumes` annotation does not list (upstream's
/// `HasBlockingLocalStorage`).
pub fn has_blocking_local_storage(pod: &Pod) -> bool {
    pod.volumes.iter().any(|v| {
        matches!(
            v.kind,
            VolumeKind::HostPath | VolumeKind::EmptyDir { memory: false }
        ) && !pod.safe_to_evict_local_volumes.contains(&v.name)
    })
}

/// The kinds that count as controllers when custom controllers do not.
const REPLICATED_KINDS: [&str; 4] = ["ReplicationController", "Job", "ReplicaSet", "StatefulSet"];

fn is_replicated(pod: &Pod, skip_custom_controllers: bool) -> bool {
    match &pod.owner {
        None => false,
        Some(owner) => !skip_custom_controllers || REPLICATED_KINDS.contains(&owner.kind.as_str()),
    }
}

/// The replica-count rule: the owner must exist, and a ReplicationController or ReplicaSet must
/// have at least `min` replicas. Unknown existence (`None`) counts as existing, unknown replicas as
/// enough, as upstream does with a nil `spec.replicas`.
fn replica_count(pod: &Pod, min: i32) -> Option<Drainability> {
    let owner = pod.owner.as_ref()?;
    let gone = owner.exists == Some(false);
    let (ns, name) = (&pod.namespace, &pod.name);
    let not_found = |what: &str, verb: &str| {
        Some(Drainability::block(
            Rule::ReplicaCount,
            BlockingReason::ControllerNotFound,
            format!("{what} for {ns}/{name} is {verb}"),
        ))
    };
    let too_few = || match owner.replicas {
        Some(replicas) if replicas < min => Some(Drainability::block(
            Rule::ReplicaCount,
            BlockingReason::MinReplicasReached,
            // Upstream says "replication controller" for ReplicaSets too.
            format!(
                "replication controller for {ns}/{name} has too few replicas spec: {replicas} min: {min}"
            ),
        )),
        _ => None,
    };
    match owner.kind.as_str() {
        "ReplicationController" | "ReplicaSet" if gone => {
            not_found("replication controller", "not available")
        }
        "ReplicationController" | "ReplicaSet" => too_few(),
        "DaemonSet" if gone => not_found("daemonset", "not present"),
        "Job" if gone => not_found("job", "not available"),
        "StatefulSet" if gone => not_found("statefulset", "not available"),
        _ => None,
    }
}
