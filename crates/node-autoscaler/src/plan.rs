//! What the planner decided, and why, as data.
//!
//! A [`Plan`] holds the actions (grow these groups, remove these nodes) and an explanation for every
//! pending pod and every autoscaled node. Reason strings are Cluster Autoscaler's where it has one
//! (its skip reasons for node groups, its unremovable-node reasons, its drain blocking reasons), so
//! that alerts and dashboards written for CA keep matching. Everything serializes with serde.

use jiff::Timestamp;
use serde::Serialize;

use crate::predicates::Unfit;
use crate::scaledown::drain::BlockingReason;

/// The plan of one loop.
#[derive(Clone, Debug, Default, Serialize)]
pub struct Plan {
    /// When it was made.
    pub now: Option<Timestamp>,
    /// Node groups to grow (one, or several when balancing similar groups).
    pub scale_up: Vec<ScaleUp>,
    /// Nodes to remove now (empty ones first, then drains).
    pub scale_down: Vec<ScaleDown>,
    /// Nodes found unneeded (all of them, including those removed now): candidates for the soft
    /// `DeletionCandidateOfClusterAutoscaler` taint.
    pub unneeded: Vec<String>,
    /// Whether scale-down ran, and if not why.
    pub scale_down_status: ScaleDownStatus,
    /// Why each pending pod did or did not cause a scale-up.
    pub pods: Vec<PodExplanation>,
    /// Why each autoscaled node is or is not being removed.
    pub nodes: Vec<NodeExplanation>,
}

/// Grow one node group.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct ScaleUp {
    /// Group id.
    pub group: String,
    /// Its target size before.
    pub from: usize,
    /// Its target size after.
    pub to: usize,
    /// The group's max, for messages ("max: N").
    pub max: usize,
    /// The pending pods the new nodes are for (`namespace/name`).
    pub pods: Vec<String>,
}

/// How a node is removed.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
pub enum RemovalKind {
    /// Nothing to evict (DaemonSet and mirror pods go with the node).
    Empty,
    /// Pods must be evicted first.
    Drain,
}

/// Remove one node.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct ScaleDown {
    /// Node name.
    pub node: String,
    /// Its group.
    pub group: String,
    /// Empty or drain.
    pub kind: RemovalKind,
    /// The pods to evict (`namespace/name`), with where the simulation moved them.
    pub evict: Vec<Move>,
    /// Its utilization when chosen.
    pub utilization: f64,
}

/// One pod moved by the scale-down simulation.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Move {
    /// `namespace/name`.
    pub pod: String,
    /// The node the simulation moved it to.
    pub to: String,
}

/// Whether scale-down ran this loop.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize)]
#[serde(tag = "status", content = "reason")]
pub enum ScaleDownStatus {
    /// It ran (the plan may still remove nothing).
    #[default]
    Ran,
    /// Switched off (`--scale-down-enabled=false`).
    Disabled,
    /// This loop scaled up; CA never scales down in the same loop.
    ScaleUpInThisLoop,
    /// Pending pods fit on registered or upcoming nodes: the scheduler is about to bind them, so the
    /// room they need is not free (CA's "Schedulable pods present" disables scale-down for the loop).
    SchedulablePodsPresent,
    /// In cooldown after a scale-up, a deletion or a failure.
    InCooldown(String),
}

/// A pending pod's fate.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct PodExplanation {
    /// `namespace/name`.
    pub pod: String,
    /// What happened.
    pub outcome: PodOutcome,
}

/// What the planner did with a pending pod.
#[derive(Clone, Debug, PartialEq, Serialize)]
#[serde(tag = "kind")]
pub enum PodOutcome {
    /// The scheduler has not marked it unschedulable (yet).
    NotUnschedulable,
    /// It has scheduling gates.
    SchedulingGated,
    /// Its priority is under `--expendable-pods-priority-cutoff`.
    Expendable {
        /// Its priority.
        priority: i32,
        /// The cutoff.
        cutoff: i32,
    },
    /// A DaemonSet pod: new nodes do not help it.
    DaemonSetPod,
    /// Younger than the scale-up delay.
    TooYoung {
        /// When it becomes old enough.
        until: Timestamp,
    },
    /// It fits on a registered node; the scheduler will bind it.
    FitsExistingNode {
        /// The node.
        node: String,
    },
    /// It fits on a node already requested from the group.
    FitsUpcomingNode {
        /// The group.
        group: String,
    },
    /// A new node of the group is for it.
    TriggeredScaleUp {
        /// The group.
        group: String,
    },
    /// No scale-up is for it; why, per group.
    NoScaleUp {
        /// The reason per node group.
        groups: Vec<GroupVerdict>,
    },
}

/// Why one node group was not used for a pod.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct GroupVerdict {
    /// Group id.
    pub group: String,
    /// Why.
    pub reason: GroupRejection,
}

/// Why a node group was not used for a pod (CA's skip reasons where CA has one).
#[derive(Clone, Debug, PartialEq, Serialize)]
#[serde(tag = "kind", content = "detail")]
pub enum GroupRejection {
    /// The group is backed off after a failed scale-up.
    Backoff,
    /// The group is at its max.
    MaxSizeReached,
    /// `--max-nodes-total` is reached.
    MaxNodesTotalReached,
    /// `--cores-total` or `--memory-total` is reached.
    MaxResourceLimitReached,
    /// The pod would not fit a new node of the group.
    Predicate(Unfit),
    /// The group could take it, but the expander chose another group.
    NotChosen {
        /// The chosen group.
        chosen: String,
    },
    /// The group could take it, but the estimate stopped at the node limit before reaching it.
    NodeLimitReached,
}

impl GroupRejection {
    /// The words CA uses in `NotTriggerScaleUp` events (`skippedreasons.go`, the scheduler's
    /// messages for predicates).
    pub fn message(&self) -> String {
        match self {
            GroupRejection::Backoff => "in backoff after failed scale-up".into(),
            GroupRejection::MaxSizeReached => "max node group size reached".into(),
            GroupRejection::MaxNodesTotalReached => "max total nodes in cluster reached".into(),
            GroupRejection::MaxResourceLimitReached => "max cluster cpu, memory limit reached".into(),
            GroupRejection::Predicate(u) => u.to_string(),
            GroupRejection::NotChosen { chosen } => format!("expander chose node group {chosen}"),
            GroupRejection::NodeLimitReached => "max nodes per scale-up reached".into(),
        }
    }
}

/// Why a node is or is not removed.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct NodeExplanation {
    /// Node name.
    pub node: String,
    /// Its group, if autoscaled.
    pub group: Option<String>,
    /// max(cpu, memory) requests over allocatable, as used for the threshold.
    pub utilization: f64,
    /// The verdict.
    pub outcome: NodeOutcome,
}

/// A node's verdict.
#[derive(Clone, Debug, PartialEq, Serialize)]
#[serde(tag = "kind")]
pub enum NodeOutcome {
    /// It is removed in this plan.
    Removed {
        /// Empty or drain.
        removal: RemovalKind,
    },
    /// It is unneeded and will be removed when its timer runs out and a slot is free.
    Unneeded {
        /// Unneeded since.
        since: Timestamp,
        /// When it becomes removable.
        removable_at: Timestamp,
    },
    /// It cannot be removed.
    Unremovable {
        /// CA's reason.
        reason: UnremovableReason,
        /// The pod that blocks it, with the drain rule's reason, when a pod does.
        #[serde(skip_serializing_if = "Option::is_none")]
        blocking_pod: Option<BlockingPod>,
        /// Words for a person.
        detail: String,
    },
}

/// A pod that keeps its node.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct BlockingPod {
    /// `namespace/name`.
    pub pod: String,
    /// The drain rule's reason.
    pub reason: BlockingReason,
}

/// CA's `UnremovableReason` (`simulator/cluster.go`), verbatim.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize)]
pub enum UnremovableReason {
    /// The scale-down-disabled annotation.
    ScaleDownDisabledAnnotation,
    /// Unready and `--scale-down-unready-enabled=false`.
    ScaleDownUnreadyDisabled,
    /// In no autoscaled group.
    NotAutoscaled,
    /// Unneeded, but not for long enough yet.
    NotUnneededLongEnough,
    /// Unready, but not for long enough yet.
    NotUnreadyLongEnough,
    /// Its group is at min.
    NodeGroupMinSizeReached,
    /// The deletion budgets are used up this loop.
    NodeGroupMaxDeletionCountReached,
    /// Removing it would take the cluster below `--cores-total`/`--memory-total` minimums.
    MinimalResourceLimitExceeded,
    /// A drain is already under way (deletion taint).
    CurrentlyBeingDeleted,
    /// Utilization above the threshold.
    NotUnderutilized,
    /// Found unremovable recently; rechecked after `--unremovable-node-recheck-timeout`.
    RecentlyUnremovable,
    /// Some pod would not fit anywhere else.
    NoPlaceToMovePods,
    /// A pod cannot be evicted.
    BlockedByPod,
    /// A pod annotated `safe-to-evict: "on-completion"` is still running.
    BlockedByOnCompletionPod,
    /// Anything else.
    UnexpectedError,
}

impl UnremovableReason {
    /// CA's name.
    pub fn as_str(self) -> &'static str {
        match self {
            UnremovableReason::ScaleDownDisabledAnnotation => "ScaleDownDisabledAnnotation",
            UnremovableReason::ScaleDownUnreadyDisabled => "ScaleDownUnreadyDisabled",
            UnremovableReason::NotAutoscaled => "NotAutoscaled",
            UnremovableReason::NotUnneededLongEnough => "NotUnneededLongEnough",
            UnremovableReason::NotUnreadyLongEnough => "NotUnreadyLongEnough",
            UnremovableReason::NodeGroupMinSizeReached => "NodeGroupMinSizeReached",
            UnremovableReason::NodeGroupMaxDeletionCountReached => "NodeGroupMaxDeletionCountReached",
            UnremovableReason::MinimalResourceLimitExceeded => "MinimalResourceLimitExceeded",
            UnremovableReason::CurrentlyBeingDeleted => "CurrentlyBeingDeleted",
            UnremovableReason::NotUnderutilized => "NotUnderutilized",
            UnremovableReason::RecentlyUnremovable => "RecentlyUnremovable",
            UnremovableReason::NoPlaceToMovePods => "NoPlaceToMovePods",
            UnremovableReason::BlockedByPod => "BlockedByPod",
            UnremovableReason::BlockedByOnCompletionPod => "BlockedByOnCompletionPod",
            UnremovableReason::UnexpectedError => "UnexpectedError",
        }
    }
}

impl Plan {
    /// The explanation of one pod.
    pub fn pod(&self, key: &str) -> Option<&PodExplanation> {
        self.pods.iter().find(|p| p.pod == key)
    }

    /// The explanation of one node.
    pub fn node(&self, name: &str) -> Option<&NodeExplanation> {
        self.nodes.iter().find(|n| n.node == name)
    }

    /// Whether the plan changes anything.
    pub fn is_noop(&self) -> bool {
        self.scale_up.is_empty() && self.scale_down.is_empty()
    }
}
