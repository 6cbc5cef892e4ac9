//! The status and events a decision produces, in upstream's words.
//!
//! [`HpaStatus`] mirrors `autoscaling/v2` `HorizontalPodAutoscalerStatus`; [`HpaStatus::to_k8s`]
//! gives the API object to write. Condition types, reasons and messages are upstream's strings
//! verbatim: alerts and dashboards match them.

use jiff::Timestamp;
use k8s_openapi::{
    api::autoscaling::v2::{HorizontalPodAutoscalerCondition, HorizontalPodAutoscalerStatus, MetricStatus},
    apimachinery::pkg::apis::meta::v1::Time,
};
use serde::{Deserialize, Serialize};
use swell_core::conditions::Condition;

/// Condition type `AbleToScale`.
pub const ABLE_TO_SCALE: &str = "AbleToScale";
/// Condition type `ScalingActive`.
pub const SCALING_ACTIVE: &str = "ScalingActive";
/// Condition type `ScalingLimited`.
pub const SCALING_LIMITED: &str = "ScalingLimited";
/// Condition type `ScaledToZero` (feature gate `HPAScaleToZero`).
pub const SCALED_TO_ZERO: &str = "ScaledToZero";

/// The status the controller would write.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct HpaStatus {
    /// `status.currentReplicas`.
    pub current_replicas: i32,
    /// `status.desiredReplicas`.
    pub desired_replicas: i32,
    /// `status.currentMetrics`, one per spec metric. Upstream leaves an empty entry (type "") for a
    /// metric that failed; so does this.
    pub current_metrics: Vec<MetricStatus>,
    /// `status.conditions`.
    pub conditions: Vec<Condition>,
    /// `status.lastScaleTime`.
    pub last_scale_time: Option<Timestamp>,
}

impl HpaStatus {
    /// The API object. An empty `currentMetrics` list is written as absent, as Go's `omitempty` does.
    pub fn to_k8s(&self) -> HorizontalPodAutoscalerStatus {
        HorizontalPodAutoscalerStatus {
            current_replicas: Some(self.current_replicas),
            desired_replicas: self.desired_replicas,
            current_metrics: (!self.current_metrics.is_empty()).then(|| self.current_metrics.clone()),
            conditions: (!self.conditions.is_empty()).then(|| {
                self.conditions
                    .iter()
                    .map(HorizontalPodAutoscalerCondition::from)
                    .collect()
            }),
            last_scale_time: self.last_scale_time.map(Time),
            observed_generation: None,
        }
    }
}

/// `Normal` or `Warning`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum EventType {
    /// Normal.
    Normal,
    /// Warning.
    Warning,
}

impl EventType {
    /// The API string.
    pub fn as_str(&self) -> &'static str {
        match self {
            EventType::Normal => "Normal",
            EventType::Warning => "Warning",
        }
    }
}

/// An event the controller would record on the HPA.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Event {
    /// Normal or Warning.
    pub type_: EventType,
    /// Upstream reason, e.g. `SuccessfulRescale`, `FailedGetResourceMetric`.
    pub reason: String,
    /// Message.
    pub message: String,
}

impl Event {
    /// A Warning event.
    pub fn warning(reason: impl Into<String>, message: impl Into<String>) -> Self {
        Self {
            type_: EventType::Warning,
            reason: reason.into(),
            message: message.into(),
        }
    }

    /// A Normal event.
    pub fn normal(reason: impl Into<String>, message: impl Into<String>) -> Self {
        Self {
            type_: EventType::Normal,
            reason: reason.into(),
            message: message.into(),
        }
    }
}
