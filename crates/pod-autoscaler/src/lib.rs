//! `swell-pod-autoscaler`: the pure decision core of Swell's pod autoscaler.
//!
//! It reproduces the HorizontalPodAutoscaler controller of kube-controller-manager (1.36) without
//! its I/O: the caller fetches, this crate decides, the caller acts.
//!
//! ```text
//! HorizontalPodAutoscalerSpec --policy::HpaPolicy::from_spec--> HpaPolicy
//! scale + pods + metric samples --input--> HpaInput
//! decide(&HpaInput, &HpaPolicy, &ControllerConfig, &mut History, now) -> Decision
//!     replicas: per-metric proposals (tolerance, pod grouping, rebalance)
//!     behavior: stabilization windows and rate limits (legacy or behavior path)
//!     status:   conditions and events in upstream's words
//!     explain:  the decision as text for a person
//! caller writes the scale, then Decision::complete(result) -> status to write + events
//! ```
//!
//! Every decision carries an [`decide::Explanation`]: the numbers behind it, serializable.
//!
//! ```
//! use jiff::{SignedDuration, Timestamp};
//! use swell_core::pod::{ConditionStatus, PodPhase, ReadyCondition};
//! use swell_pod_autoscaler::{
//!     decide, ControllerConfig, History, HpaInput, HpaKey, HpaPolicy, MetricInput, PodInfo, PodSample,
//!     PodSamples, ScaleTarget,
//! };
//!
//! let spec = serde_json::from_value(serde_json::json!({
//!     "scaleTargetRef": {"apiVersion": "apps/v1", "kind": "Deployment", "name": "web"},
//!     "maxReplicas": 10,
//!     "metrics": [{"type": "Resource",
//!                  "resource": {"name": "cpu", "target": {"type": "Utilization", "averageUtilization": 50}}}]
//! }))?;
//! let cfg = ControllerConfig::default();
//! let policy = HpaPolicy::from_spec(&spec, &cfg)?;
//!
//! let t0: Timestamp = "2026-01-01T00:00:00Z".parse()?;
//! let now = t0 + SignedDuration::from_secs(600);
//! // Two ready pods requesting 1 cpu each (1000m), using 900m each: 90% against 50%.
//! let pod = |name: &str| PodInfo {
//!     name: name.into(),
//!     phase: PodPhase::Running,
//!     terminating: false,
//!     ready: Some(ReadyCondition { status: ConditionStatus::True, last_transition_time: Some(t0) }),
//!     start_time: Some(t0),
//!     requests: vec![Ok(1000)],
//! };
//! let sample = |name: &str| PodSample {
//!     pod: name.into(), value: 900, timestamp: now, window: SignedDuration::from_secs(30),
//! };
//! let input = HpaInput::new(
//!     HpaKey::new("shop", "web"),
//!     ScaleTarget { spec_replicas: 2, status_replicas: 2, selector: "app=web".into() },
//!     vec![pod("web-a"), pod("web-b")],
//!     vec![MetricInput::Pods(Ok(PodSamples::new(vec![sample("web-a"), sample("web-b")])))],
//! );
//!
//! let mut history = History::default();
//! let decision = decide(&input, &policy, &cfg, &mut history, now);
//! assert!(decision.rescale);
//! assert_eq!(decision.desired_replicas, 4); // ceil(2 x 90 / 50)
//! assert_eq!(decision.rescale_reason, "cpu resource utilization (percentage of request) above target");
//!
//! // After writing the scale subresource, finish the decision with the write's result.
//! let done = decision.complete(Ok(()), &mut history, &policy);
//! assert_eq!(done.events.last().map(|e| e.reason.as_str()), Some("SuccessfulRescale"));
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```

pub mod behavior;
#[cfg(feature = "controller")]
pub mod controller;
pub mod decide;
pub mod explain;
pub mod input;
#[cfg(feature = "controller")]
pub mod metrics;
pub mod policy;
pub mod replicas;
pub mod status;

pub use behavior::History;
pub use decide::{Completion, Decision, Explanation, decide};
pub use input::{HpaInput, HpaKey, MetricInput, PodInfo, PodSample, PodSamples, ScaleTarget};
pub use policy::{ControllerConfig, HpaPolicy};
