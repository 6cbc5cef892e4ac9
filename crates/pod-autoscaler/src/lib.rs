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
//! caller writes the scale, then Decision::complete(result) -> status to write + events
//! ```
//!
//! Every decision carries an [`decide::Explanation`]: the numbers behind it, serializable.

pub mod behavior;
pub mod decide;
pub mod input;
pub mod policy;
pub mod replicas;
pub mod status;

pub use behavior::History;
pub use decide::{Completion, Decision, Explanation, decide};
pub use input::{HpaInput, HpaKey, MetricInput, PodInfo, PodSample, PodSamples, ScaleTarget};
pub use policy::{ControllerConfig, HpaPolicy};
