//! The contract between the node autoscaler and a cloud: [`NodeGroupProvider`].
//!
//! The decision core never calls a provider; the controller does, to build the snapshot (groups,
//! templates, instances) and to act on a plan (set a target size, delete nodes). Providers live in
//! their own crates (`cloud-aws`, `cloud-kwok`) and implement this trait; the simulator and the
//! tests use `testing::FakeProvider` (feature `test-util`).
//!
//! Methods that read return what the last [`NodeGroupProvider::refresh`] cached, so that one loop
//! sees one consistent state of the cloud. Errors carry an [`ErrorClass`] that says whether retrying
//! can help and whether the group should be backed off.

use std::fmt;
use std::future::Future;

use serde::Serialize;

use crate::model::{GroupOptions, Node};

/// What kind of failure a provider error is.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize)]
pub enum ErrorClass {
    /// The group, node or instance does not exist (any more).
    NotFound,
    /// The cloud's API rate limit; retry after a backoff.
    Throttled,
    /// The cloud has no capacity for the instance type or zone; back the group off and try another.
    InsufficientCapacity,
    /// A network error or a 5xx; retry.
    Transient,
    /// Bad configuration or permissions; retrying will not help.
    Fatal,
}

impl ErrorClass {
    /// The class name, for metrics labels and events.
    pub fn as_str(self) -> &'static str {
        match self {
            ErrorClass::NotFound => "NotFound",
            ErrorClass::Throttled => "Throttled",
            ErrorClass::InsufficientCapacity => "InsufficientCapacity",
            ErrorClass::Transient => "Transient",
            ErrorClass::Fatal => "Fatal",
        }
    }
}

/// A failed provider call.
#[derive(Debug, thiserror::Error)]
#[error("failed to {operation}: {message}")]
pub struct ProviderError {
    /// What was attempted ("set the target size of group a", ...).
    pub operation: String,
    /// The class.
    pub class: ErrorClass,
    /// What the cloud said.
    pub message: String,
    /// The underlying error, if any.
    #[source]
    pub source: Option<Box<dyn std::error::Error + Send + Sync>>,
}

impl ProviderError {
    /// An error of `class` for `operation`.
    pub fn new(class: ErrorClass, operation: impl Into<String>, message: impl Into<String>) -> ProviderError {
        ProviderError {
            operation: operation.into(),
            class,
            message: message.into(),
            source: None,
        }
    }

    /// Whether retrying the same call can succeed (throttling, transient failures).
    pub fn is_retryable(&self) -> bool {
        matches!(self.class, ErrorClass::Throttled | ErrorClass::Transient)
    }
}

/// Results of provider calls.
pub type Result<T, E = ProviderError> = std::result::Result<T, E>;

/// A node group as the cloud reports it.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct GroupInfo {
    /// Provider id of the group.
    pub id: String,
    /// Minimum size.
    pub min: usize,
    /// Maximum size.
    pub max: usize,
    /// Target (desired) size.
    pub target: usize,
    /// Price of one node for an hour, if the provider knows it.
    pub price_per_hour: Option<f64>,
}

/// An instance's lifecycle state.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub enum InstanceState {
    /// Running (its node may or may not have registered yet).
    Running,
    /// Being created.
    Creating,
    /// Being deleted.
    Deleting,
    /// The cloud failed to create it.
    FailedToCreate {
        /// Why, classified.
        class: ErrorClass,
        /// The cloud's words.
        message: String,
    },
}

/// An instance of a group.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Instance {
    /// Its id as Kubernetes knows it (the node's `spec.providerID`).
    pub provider_id: String,
    /// Its state.
    pub state: InstanceState,
}

/// A cloud's node groups. Implementations are shared between tasks (`Send + Sync`); mutating calls
/// take `&self` and synchronize inside.
pub trait NodeGroupProvider: Send + Sync {
    /// Reloads the groups, instances and templates from the cloud. Idempotent; the read methods
    /// return what it loaded.
    fn refresh(&self) -> impl Future<Output = Result<()>> + Send;

    /// The groups, as of the last refresh.
    fn node_groups(&self) -> Vec<GroupInfo>;

    /// The group that owns the node with this provider id, if any. Pure lookup.
    fn node_group_for_node(&self, provider_id: &str) -> Option<String>;

    /// What a new node of the group looks like (labels, taints, allocatable), for scale-up from zero.
    fn template(&self, group: &str) -> Result<Node>;

    /// The group's instances with their states, as of the last refresh.
    fn instances(&self, group: &str) -> Result<Vec<Instance>>;

    /// Sets the group's target size. Idempotent: setting the same size twice is one change.
    fn set_target_size(&self, group: &str, size: usize) -> impl Future<Output = Result<()>> + Send;

    /// The group's option overrides (CA's per-group `autoscaling-options`), as of the last refresh.
    /// Providers without per-group options keep the default: none.
    fn group_options(&self, group: &str) -> GroupOptions {
        let _ = group;
        GroupOptions::default()
    }

    /// Deletes the instances behind these provider ids and lowers the target by as many. Not
    /// idempotent: callers must not retry a call that may have succeeded without refreshing first.
    fn delete_nodes(&self, group: &str, provider_ids: &[String]) -> impl Future<Output = Result<()>> + Send;
}

impl fmt::Display for ErrorClass {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}
