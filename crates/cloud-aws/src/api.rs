//! The narrow view of the Auto Scaling API that the provider needs, in the crate's own terms.
//!
//! [`AsgApi`] has one method per call the provider makes (describe groups, set desired capacity,
//! terminate an instance, describe scaling activities, describe launch configurations and launch
//! templates). The real implementation is [`crate::sdk::SdkAsgApi`], the only code that touches the
//! AWS SDK; the provider's logic is tested against a fake of this trait that records calls and
//! injects errors.
//!
//! Everything here is plain data: the SDK's types stop at the `sdk` module, and every SDK error
//! arrives as an [`ApiError`] already classified.

use std::collections::BTreeMap;
use std::future::Future;

use jiff::Timestamp;
use swell_node_autoscaler::provider::ErrorClass;

/// A failed Auto Scaling call, classified (see [`crate::error::classify`]).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{}{message}", code.as_deref().map(|c| format!("{c}: ")).unwrap_or_default())]
pub struct ApiError {
    /// What kind of failure it is.
    pub class: ErrorClass,
    /// The AWS error code (`ValidationError`, `Throttling`, ...), when the service answered with one.
    pub code: Option<String>,
    /// The service's message or a description of the transport failure.
    pub message: String,
}

impl ApiError {
    /// An error of `class` with no AWS error code.
    pub fn new(class: ErrorClass, message: impl Into<String>) -> ApiError {
        ApiError {
            class,
            code: None,
            message: message.into(),
        }
    }
}

/// Results of [`AsgApi`] calls.
pub type ApiResult<T> = std::result::Result<T, ApiError>;

/// One tag condition of a discovery query: the key must be present, with this value if one is given.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct TagFilter {
    /// Tag key.
    pub key: String,
    /// Required value; `None` means any value.
    pub value: Option<String>,
}

/// Which groups to describe.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum GroupQuery {
    /// These groups by name (missing ones are simply absent from the answer).
    Names(Vec<String>),
    /// The groups that carry every one of these tags.
    Tags(Vec<TagFilter>),
}

/// A launch template reference as the group describes it.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct LaunchTemplateRef {
    /// `lt-...` id, if given.
    pub id: Option<String>,
    /// Name, if given.
    pub name: Option<String>,
    /// Version (`$Default`, `$Latest` or a number), if given.
    pub version: Option<String>,
}

/// A group's mixed instances policy, as far as templates care.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct MixedInstances {
    /// The launch template the overrides apply to.
    pub launch_template: Option<LaunchTemplateRef>,
    /// The instance types of the overrides, in order (overrides without a type are left out).
    pub override_types: Vec<String>,
}

/// An instance of a group.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AsgInstance {
    /// `i-...`.
    pub id: String,
    /// Availability zone (`us-east-1a`).
    pub zone: String,
    /// Lifecycle state (`Pending`, `InService`, `Terminating:Wait`, ...).
    pub lifecycle_state: String,
    /// Health status (`Healthy`, `Unhealthy`).
    pub health_status: String,
    /// Instance type, when reported.
    pub instance_type: Option<String>,
}

/// An Auto Scaling Group.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct AsgGroup {
    /// Name (the node group id).
    pub name: String,
    /// `MinSize`.
    pub min_size: usize,
    /// `MaxSize`.
    pub max_size: usize,
    /// `DesiredCapacity`.
    pub desired_capacity: usize,
    /// Availability zones, in the order AWS lists them.
    pub zones: Vec<String>,
    /// Tags by key.
    pub tags: BTreeMap<String, String>,
    /// The launch configuration's name, if the group uses one.
    pub launch_configuration: Option<String>,
    /// The launch template, if the group uses one directly.
    pub launch_template: Option<LaunchTemplateRef>,
    /// The mixed instances policy, if any.
    pub mixed_instances: Option<MixedInstances>,
    /// The instances, in any state.
    pub instances: Vec<AsgInstance>,
}

/// A scaling activity.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Activity {
    /// When it started.
    pub start_time: Timestamp,
    /// `Successful`, `Failed`, `InProgress`, `Cancelled`, ...
    pub status_code: String,
    /// Why it has that status (for a failed launch: the EC2 error).
    pub status_message: String,
    /// What it did ("Launching a new EC2 instance: ...").
    pub description: String,
}

/// A launch configuration, as far as templates care.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LaunchConfiguration {
    /// Name.
    pub name: String,
    /// Instance type.
    pub instance_type: String,
}

/// The Auto Scaling calls the provider makes. Implementations are shared between tasks.
pub trait AsgApi: Send + Sync {
    /// Describes the groups the query selects, with their instances and tags (all pages).
    fn describe_groups(&self, query: &GroupQuery) -> impl Future<Output = ApiResult<Vec<AsgGroup>>> + Send;

    /// `SetDesiredCapacity` with `HonorCooldown=false`.
    fn set_desired_capacity(&self, group: &str, desired: usize)
    -> impl Future<Output = ApiResult<()>> + Send;

    /// `TerminateInstanceInAutoScalingGroup` with `ShouldDecrementDesiredCapacity=decrement`.
    fn terminate_instance(
        &self,
        instance_id: &str,
        decrement: bool,
    ) -> impl Future<Output = ApiResult<()>> + Send;

    /// The group's recent scaling activities, newest first (one page is enough: only activities since
    /// the last size change matter).
    fn describe_scaling_activities(
        &self,
        group: &str,
    ) -> impl Future<Output = ApiResult<Vec<Activity>>> + Send;

    /// The instance type a launch template version sets (EC2 `DescribeLaunchTemplateVersions`);
    /// `None` when it sets none (attribute-based instance selection).
    fn describe_launch_template_instance_type(
        &self,
        template: &LaunchTemplateRef,
    ) -> impl Future<Output = ApiResult<Option<String>>> + Send;

    /// The named launch configurations (missing ones are absent from the answer).
    fn describe_launch_configurations(
        &self,
        names: &[String],
    ) -> impl Future<Output = ApiResult<Vec<LaunchConfiguration>>> + Send;
}
