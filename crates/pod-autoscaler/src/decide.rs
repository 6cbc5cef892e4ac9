//! One reconcile's decision: upstream `reconcileAutoscaler` from the scale read to the status write,
//! with the I/O taken out.
//!
//! ```text
//! HpaInput + HpaPolicy + ControllerConfig + &mut History + now
//!   -> gates (zero replicas, above max, below min)
//!   -> per-metric proposals (crate::replicas), max over metrics, partial-failure rule
//!   -> normalization (crate::behavior)
//!   -> Decision { desired, rescale, status, events, explanation }
//! the caller writes the scale (if rescale), then Decision::complete(result) -> final status + events
//! ```

use jiff::Timestamp;
use k8s_openapi::{
    api::autoscaling::v2::{
        ContainerResourceMetricStatus, ExternalMetricStatus, MetricIdentifier, MetricStatus,
        MetricValueStatus, ObjectMetricStatus, PodsMetricStatus, ResourceMetricStatus,
    },
    apimachinery::pkg::{api::resource::Quantity as K8sQuantity, apis::meta::v1::LabelSelector},
};
use serde::{Deserialize, Serialize};
use swell_core::{
    conditions::{Condition, find_condition, remove_condition, set_condition},
    pod::ConditionStatus,
    quantity::{Format, Quantity},
    selector::Selector,
};

use crate::{
    behavior::{History, Normalization, normalize_legacy, normalize_with_behavior},
    input::{HpaInput, HpaKey, MetricInput, RequestKey},
    policy::{ControllerConfig, HpaPolicy, MetricPolicy, MetricSource, Target, Tolerances},
    replicas::{self, Proposal, Readiness},
    status::{ABLE_TO_SCALE, Event, HpaStatus, SCALED_TO_ZERO, SCALING_ACTIVE, SCALING_LIMITED},
};

/// Why metrics were not consulted, or could not be.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum Gate {
    /// The target has 0 replicas and scale-from-zero does not apply: autoscaling is off.
    ScalingDisabled,
    /// Current replicas above `maxReplicas`: scale to max without metrics.
    AboveMaxReplicas,
    /// Current replicas below `minReplicas`: scale to min without metrics.
    BelowMinReplicas,
    /// The scale selector is missing or unparsable.
    InvalidSelector,
    /// Another HPA selects the same pods.
    AmbiguousSelector,
    /// Every metric failed, or some failed and the rest would scale down.
    MetricsFailed,
}

/// One metric's part in the decision.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct MetricExplanation {
    /// Index in `spec.metrics`.
    pub index: usize,
    /// `Resource`, `Pods`, ...
    pub source_type: String,
    /// Upstream's name for the metric in event messages, e.g. "cpu resource utilization (percentage of request)".
    pub name: String,
    /// The target.
    pub target: Target,
    /// The tolerance band `[1 - down, 1 + up]` that applied.
    pub tolerance_band: (f64, f64),
    /// The proposal, or why there is none.
    pub result: MetricResult,
}

/// A metric's outcome.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub enum MetricResult {
    /// The metric proposed a replica count.
    Proposed(Proposal),
    /// The metric failed: the condition reason and the message.
    Failed {
        /// Condition and event reason, e.g. `FailedGetResourceMetric`.
        reason: String,
        /// What went wrong.
        message: String,
    },
}

/// Everything behind a decision, as data: what `swell explain` prints and `/decisions` serves.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Explanation {
    /// The HPA.
    pub hpa: HpaKey,
    /// Decision time.
    pub time: Timestamp,
    /// `scale.spec.replicas`.
    pub current_replicas: i32,
    /// `minReplicas` in force.
    pub min_replicas: i32,
    /// `maxReplicas`.
    pub max_replicas: i32,
    /// Tolerances in force.
    pub tolerances: Tolerances,
    /// Set when the metrics were not consulted or could not decide.
    pub gate: Option<Gate>,
    /// Per metric, in spec order.
    pub metrics: Vec<MetricExplanation>,
    /// The highest proposal over the metrics that succeeded.
    pub proposal: Option<i32>,
    /// Name of the metric that gave it.
    pub proposal_metric: Option<String>,
    /// Stabilization and limits.
    pub normalization: Option<Normalization>,
    /// Scale-from-zero with a raised `minReplicas` lifted the result to min.
    pub lifted_to_min_from_zero: bool,
    /// The replica count decided.
    pub desired_replicas: i32,
    /// A scale write is needed.
    pub rescale: bool,
    /// The event reason text ("cpu resource utilization (percentage of request) above target").
    pub rescale_reason: String,
}

/// The result of [`decide`].
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Decision {
    /// The HPA.
    pub key: HpaKey,
    /// Decision time.
    pub now: Timestamp,
    /// `scale.spec.replicas`.
    pub current_replicas: i32,
    /// What to write to the scale subresource (when `rescale`), else the current count.
    pub desired_replicas: i32,
    /// Whether to write the scale subresource.
    pub rescale: bool,
    /// The reason for the `SuccessfulRescale` / `FailedRescale` event.
    pub rescale_reason: String,
    /// The status to write when there is no rescale; when there is, the status as it stands before
    /// the write's result is known ([`Decision::complete`] finishes it).
    pub status: HpaStatus,
    /// Events recorded while deciding (metric failures, selector problems).
    pub events: Vec<Event>,
    /// The error upstream's reconcile would return (logged, counted), if any.
    pub error: Option<String>,
    /// The numbers behind the decision.
    pub explanation: Explanation,
    scale_to_zero_gate: bool,
    min_replicas: i32,
    has_object_or_external: bool,
    previous_desired: i32,
}

/// The status and events once the scale write (if any) has been attempted.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Completion {
    /// The status to write (only if it differs from the current one).
    pub status: HpaStatus,
    /// Events to record, in order (the decision's, then the write's).
    pub events: Vec<Event>,
    /// The reconcile's error, if any.
    pub error: Option<String>,
}

impl Decision {
    /// Finishes the decision with the result of the scale write (`Ok(())` when there was none to
    /// do), recording the scale event in `history` on success as upstream `storeScaleEvent` does.
    pub fn complete(
        &self,
        write: Result<(), String>,
        history: &mut History,
        policy: &HpaPolicy,
    ) -> Completion {
        let mut events = self.events.clone();
        let mut status = self.status.clone();
        if !self.rescale {
            return Completion {
                status,
                events,
                error: self.error.clone(),
            };
        }
        match write {
            Ok(()) => {
                set_condition(
                    &mut status.conditions,
                    ABLE_TO_SCALE,
                    ConditionStatus::True,
                    "SucceededRescale",
                    format!(
                        "the HPA controller was able to update the target scale to {}",
                        self.desired_replicas
                    ),
                    self.now,
                );
                events.push(Event::normal(
                    "SuccessfulRescale",
                    format!(
                        "New size: {}; reason: {}",
                        self.desired_replicas, self.rescale_reason
                    ),
                ));
                history.record_scale_event(
                    policy.behavior.as_ref(),
                    self.current_replicas,
                    self.desired_replicas,
                    self.now,
                );
                if self.scale_to_zero_gate {
                    if self.current_replicas > 0
                        && self.desired_replicas == 0
                        && self.min_replicas == 0
                        && self.has_object_or_external
                    {
                        set_condition(
                            &mut status.conditions,
                            SCALED_TO_ZERO,
                            ConditionStatus::True,
                            "ScaledToZero",
                            "the HPA controller scaled the workload to zero".to_string(),
                            self.now,
                        );
                    } else {
                        set_condition(
                            &mut status.conditions,
                            SCALED_TO_ZERO,
                            ConditionStatus::False,
                            "NotScaledToZero",
                            "the HPA controller did not scale the workload to zero".to_string(),
                            self.now,
                        );
                    }
                } else {
                    remove_condition(&mut status.conditions, SCALED_TO_ZERO);
                }
                status.current_replicas = self.current_replicas;
                status.desired_replicas = self.desired_replicas;
                status.last_scale_time = Some(self.now);
                Completion {
                    status,
                    events,
                    error: self.error.clone(),
                }
            }
            Err(e) => {
                events.push(Event::warning(
                    "FailedRescale",
                    format!(
                        "New size: {}; reason: {}; error: {}",
                        self.desired_replicas, self.rescale_reason, e
                    ),
                ));
                set_condition(
                    &mut status.conditions,
                    ABLE_TO_SCALE,
                    ConditionStatus::False,
                    "FailedUpdateScale",
                    format!("the HPA controller was unable to update the target scale: {e}"),
                    self.now,
                );
                // Upstream setCurrentReplicasAndMetricsInStatus: desiredReplicas stays as it was.
                status.desired_replicas = self.previous_desired;
                let reference = format!(
                    "{}/{}/{}",
                    policy.scale_target_ref.kind, self.key.namespace, policy.scale_target_ref.name
                );
                Completion {
                    status,
                    events,
                    error: Some(format!("failed to rescale {reference}: {e}")),
                }
            }
        }
    }

    #[allow(clippy::too_many_arguments)]
    fn new(
        input: &HpaInput,
        now: Timestamp,
        status: HpaStatus,
        events: Vec<Event>,
        error: Option<String>,
        explanation: Explanation,
        cfg: &ControllerConfig,
        policy: &HpaPolicy,
    ) -> Self {
        Decision {
            key: input.key.clone(),
            now,
            current_replicas: input.scale.spec_replicas,
            desired_replicas: explanation.desired_replicas,
            rescale: explanation.rescale,
            rescale_reason: explanation.rescale_reason.clone(),
            status,
            events,
            error,
            explanation,
            scale_to_zero_gate: cfg.scale_to_zero,
            min_replicas: policy.min_replicas,
            has_object_or_external: has_object_or_external(policy),
            previous_desired: input.previous_desired_replicas,
        }
    }
}

fn has_object_or_external(policy: &HpaPolicy) -> bool {
    policy.metrics.iter().any(|m| {
        matches!(
            m.source,
            MetricSource::Object { .. } | MetricSource::External { .. }
        )
    })
}

/// Decides one reconcile of one HPA. Pure: the same arguments give the same decision; the only
/// effect is on `history` (the raw recommendation is recorded, as upstream records it).
pub fn decide(
    input: &HpaInput,
    policy: &HpaPolicy,
    cfg: &ControllerConfig,
    history: &mut History,
    now: Timestamp,
) -> Decision {
    let mut conditions = input.conditions.clone();
    let mut events = Vec::new();
    set_condition(
        &mut conditions,
        ABLE_TO_SCALE,
        ConditionStatus::True,
        "SucceededGetScale",
        "the HPA controller was able to get the target's current scale".to_string(),
        now,
    );
    let current = input.scale.spec_replicas;
    history.record_initial(current, now);
    let min = policy.min_replicas;
    let max = policy.max_replicas;

    let gate_on = cfg.scale_to_zero;
    let obj_ext = has_object_or_external(policy);
    let scaled_to_zero = gate_on
        && find_condition(&conditions, SCALED_TO_ZERO).is_some_and(|c| c.status == ConditionStatus::True);
    let can_scale_from_zero = scaled_to_zero && obj_ext;

    let mut explanation = Explanation {
        hpa: input.key.clone(),
        time: now,
        current_replicas: current,
        min_replicas: min,
        max_replicas: max,
        tolerances: policy.tolerances,
        gate: None,
        metrics: Vec::new(),
        proposal: None,
        proposal_metric: None,
        normalization: None,
        lifted_to_min_from_zero: false,
        desired_replicas: current,
        rescale: false,
        rescale_reason: String::new(),
    };
    let mut desired = 0;
    let mut rescale = true;
    let mut rescale_reason = String::new();
    let mut needs_metrics = true;
    let mut metric_statuses: Vec<MetricStatus> = Vec::new();
    let mut error = None;

    if current == 0 {
        if !((min != 0 && scaled_to_zero) || can_scale_from_zero) {
            needs_metrics = false;
            rescale = false;
            explanation.gate = Some(Gate::ScalingDisabled);
            set_condition(
                &mut conditions,
                SCALING_ACTIVE,
                ConditionStatus::False,
                "ScalingDisabled",
                "scaling is disabled since the replica count of the target is zero".to_string(),
                now,
            );
            if !gate_on {
                remove_condition(&mut conditions, SCALED_TO_ZERO);
            }
        }
    } else if current > max {
        rescale_reason = "Current number of replicas above Spec.MaxReplicas".to_string();
        desired = max;
        needs_metrics = false;
        explanation.gate = Some(Gate::AboveMaxReplicas);
    } else if current < min {
        rescale_reason = "Current number of replicas below Spec.MinReplicas".to_string();
        desired = min;
        needs_metrics = false;
        explanation.gate = Some(Gate::BelowMinReplicas);
    }

    if needs_metrics {
        let computed = compute_replicas_for_metrics(
            input,
            policy,
            cfg,
            now,
            &mut conditions,
            &mut events,
            &mut explanation,
        );
        metric_statuses = computed.statuses;
        match computed.replicas {
            None => {
                // Upstream: write current replicas and metrics, keep desiredReplicas, emit
                // FailedComputeMetricsReplicas, and stop.
                let message = computed.error.unwrap_or_default();
                events.push(Event::warning("FailedComputeMetricsReplicas", message.clone()));
                let status = HpaStatus {
                    current_replicas: current,
                    desired_replicas: input.previous_desired_replicas,
                    current_metrics: metric_statuses,
                    conditions,
                    last_scale_time: input.last_scale_time,
                };
                if explanation.gate.is_none() {
                    explanation.gate = Some(Gate::MetricsFailed);
                }
                explanation.desired_replicas = input.previous_desired_replicas;
                let err = format!(
                    "failed to compute desired number of replicas based on listed metrics for {}/{}/{}: {}",
                    policy.scale_target_ref.kind, input.key.namespace, policy.scale_target_ref.name, message
                );
                return Decision::new(input, now, status, events, Some(err), explanation, cfg, policy);
            }
            Some((metric_desired, metric_name)) => {
                error = computed.error;
                let mut rescale_metric = String::new();
                if metric_desired > desired {
                    desired = metric_desired;
                    rescale_metric = metric_name;
                }
                if desired > current {
                    rescale_reason = format!("{rescale_metric} above target");
                }
                if desired < current {
                    rescale_reason = "All metrics below target".to_string();
                }
                let normalization = match &policy.behavior {
                    None => normalize_legacy(
                        history,
                        desired,
                        current,
                        min,
                        max,
                        cfg.downscale_stabilization,
                        now,
                    ),
                    Some(b) => normalize_with_behavior(history, b, desired, current, min, max, now),
                };
                set_condition(
                    &mut conditions,
                    ABLE_TO_SCALE,
                    ConditionStatus::True,
                    normalization.stabilization_reason.as_str(),
                    normalization.stabilization_reason.message().to_string(),
                    now,
                );
                set_condition(
                    &mut conditions,
                    SCALING_LIMITED,
                    if normalization.limited {
                        ConditionStatus::True
                    } else {
                        ConditionStatus::False
                    },
                    normalization.limit_reason.as_str(),
                    normalization.limit_reason.message().to_string(),
                    now,
                );
                desired = normalization.desired;
                explanation.normalization = Some(normalization);
                if current == 0 && min != 0 && scaled_to_zero && desired < min {
                    desired = min;
                    explanation.lifted_to_min_from_zero = true;
                    if rescale_reason.is_empty() {
                        rescale_reason = "Current number of replicas below Spec.MinReplicas".to_string();
                    }
                }
                rescale = desired != current;
            }
        }
    }

    if !rescale {
        desired = current;
        // The reason only names a change that happens.
        rescale_reason.clear();
    }
    explanation.desired_replicas = desired;
    explanation.rescale = rescale;
    explanation.rescale_reason = rescale_reason;
    let status = HpaStatus {
        current_replicas: current,
        desired_replicas: desired,
        current_metrics: metric_statuses,
        conditions,
        last_scale_time: input.last_scale_time,
    };
    let mut decision = Decision::new(input, now, status, events, error, explanation, cfg, policy);
    decision.desired_replicas = desired;
    decision
}

struct Computed {
    /// `None` is upstream's -1: no scaling.
    replicas: Option<(i32, String)>,
    statuses: Vec<MetricStatus>,
    error: Option<String>,
}

/// Upstream `computeReplicasForMetrics`, selector validation included.
fn compute_replicas_for_metrics(
    input: &HpaInput,
    policy: &HpaPolicy,
    cfg: &ControllerConfig,
    now: Timestamp,
    conditions: &mut Vec<Condition>,
    events: &mut Vec<Event>,
    explanation: &mut Explanation,
) -> Computed {
    let selector_str = input.scale.selector.as_str();
    if selector_str.is_empty() {
        let msg = "selector is required";
        events.push(Event::warning("SelectorRequired", msg));
        set_condition(
            conditions,
            SCALING_ACTIVE,
            ConditionStatus::False,
            "InvalidSelector",
            "the HPA target's scale is missing a selector".to_string(),
            now,
        );
        explanation.gate = Some(Gate::InvalidSelector);
        return Computed {
            replicas: None,
            statuses: Vec::new(),
            error: Some(msg.to_string()),
        };
    }
    if let Err(e) = Selector::parse(selector_str) {
        let msg = format!("couldn't convert selector into a corresponding internal selector object: {e}");
        events.push(Event::warning("InvalidSelector", msg.clone()));
        set_condition(
            conditions,
            SCALING_ACTIVE,
            ConditionStatus::False,
            "InvalidSelector",
            msg.clone(),
            now,
        );
        explanation.gate = Some(Gate::InvalidSelector);
        return Computed {
            replicas: None,
            statuses: Vec::new(),
            error: Some(msg),
        };
    }
    if input.selecting_hpas.len() > 1 {
        let list: Vec<String> = input
            .selecting_hpas
            .iter()
            .take(2)
            .map(|k| format!("{{{} {}}}", k.name, k.namespace))
            .collect();
        let msg = format!(
            "pods by selector {} are controlled by more than one HPA (e.g. [{}])",
            selector_str,
            list.join(" ")
        );
        events.push(Event::warning("AmbiguousSelector", msg.clone()));
        set_condition(
            conditions,
            SCALING_ACTIVE,
            ConditionStatus::False,
            "AmbiguousSelector",
            msg.clone(),
            now,
        );
        explanation.gate = Some(Gate::AmbiguousSelector);
        return Computed {
            replicas: None,
            statuses: Vec::new(),
            error: Some(msg),
        };
    }

    let spec_replicas = input.scale.spec_replicas;
    let request_keys = RequestKey::for_policy(policy);
    let mut statuses = vec![MetricStatus::default(); policy.metrics.len()];
    let mut replicas: i32 = 0;
    let mut metric = String::new();
    let mut invalid = 0usize;
    let mut first_error: Option<(String, String, String)> = None; // (reason, condition message, error)
    let band = (
        1.0 - policy.tolerances.scale_down,
        1.0 + policy.tolerances.scale_up,
    );

    for (i, m) in policy.metrics.iter().enumerate() {
        let outcome = compute_metric(
            input,
            m,
            input.metrics.get(i),
            &request_keys,
            policy,
            cfg,
            now,
            &mut statuses[i],
        );
        let (result, name) = match outcome {
            Ok((proposal, name)) => {
                if replicas == 0 || proposal.replicas > replicas {
                    replicas = proposal.replicas;
                    metric = name.clone();
                }
                (MetricResult::Proposed(proposal), name)
            }
            Err(f) => {
                events.push(Event::warning(f.reason, f.event_message.clone()));
                invalid += 1;
                let condition_message = format!(
                    "the HPA was unable to compute the replica count: {}",
                    f.event_message
                );
                let result = MetricResult::Failed {
                    reason: f.reason.to_string(),
                    message: f.event_message.clone(),
                };
                if first_error.is_none() {
                    first_error = Some((f.reason.to_string(), condition_message, f.error));
                }
                (result, describe_metric(m))
            }
        };
        explanation.metrics.push(MetricExplanation {
            index: i,
            source_type: m.source.type_str().to_string(),
            name,
            target: m.target,
            tolerance_band: band,
            result,
        });
    }

    let error = first_error.as_ref().map(|(_, _, e)| {
        format!(
            "invalid metrics ({} invalid out of {}), first error is: {}",
            invalid,
            policy.metrics.len(),
            e
        )
    });
    if invalid > 0 && (invalid >= policy.metrics.len() || replicas < spec_replicas) {
        if let Some((reason, message, _)) = &first_error {
            set_condition(
                conditions,
                SCALING_ACTIVE,
                ConditionStatus::False,
                reason,
                message.clone(),
                now,
            );
        }
        return Computed {
            replicas: None,
            statuses,
            error,
        };
    }
    explanation.proposal = Some(replicas);
    explanation.proposal_metric = Some(metric.clone());
    set_condition(
        conditions,
        SCALING_ACTIVE,
        ConditionStatus::True,
        "ValidMetricFound",
        format!("the HPA was able to successfully calculate a replica count from {metric}"),
        now,
    );
    Computed {
        replicas: Some((replicas, metric)),
        statuses,
        error,
    }
}

/// A metric failure in upstream's three layers of words.
struct Failure {
    /// Condition and event reason.
    reason: &'static str,
    /// The event message (and, prefixed, the condition message).
    event_message: String,
    /// The error as `computeReplicasForMetric` returns it.
    error: String,
}

/// A name for a metric that failed (upstream has none; the explanation needs one).
fn describe_metric(m: &MetricPolicy) -> String {
    match &m.source {
        MetricSource::Resource { name } => format!("{name} resource"),
        MetricSource::ContainerResource { name, container } => {
            format!("{name} resource of container {container}")
        }
        MetricSource::Pods { metric } => format!("pods metric {}", metric.name),
        MetricSource::Object {
            described_object,
            metric,
        } => {
            format!("{} metric {}", described_object.kind, metric.name)
        }
        MetricSource::External { metric } => format!("external metric {}", metric.name),
    }
}

fn milli_quantity(milli: i64, format: Format) -> K8sQuantity {
    K8sQuantity::from(&Quantity::from_milli(milli, format))
}

/// Upstream `buildQuantity`: memory in binary SI, everything else decimal SI.
fn resource_quantity(resource: &str, milli: i64) -> K8sQuantity {
    milli_quantity(
        milli,
        if resource == "memory" {
            Format::BinarySI
        } else {
            Format::DecimalSI
        },
    )
}

fn identifier(metric: &MetricIdentifier) -> MetricIdentifier {
    MetricIdentifier {
        name: metric.name.clone(),
        selector: metric.selector.clone(),
    }
}

/// Upstream `computeReplicasForMetric` for one metric.
#[allow(clippy::too_many_arguments)]
fn compute_metric(
    input: &HpaInput,
    m: &MetricPolicy,
    metric_input: Option<&MetricInput>,
    request_keys: &[RequestKey],
    policy: &HpaPolicy,
    cfg: &ControllerConfig,
    now: Timestamp,
    status: &mut MetricStatus,
) -> Result<(Proposal, String), Failure> {
    let tol = &policy.tolerances;
    let spec_replicas = input.scale.spec_replicas;
    let status_replicas = input.scale.status_replicas;
    // The CPU readiness rule applies to Resource and ContainerResource metrics on cpu only.
    let readiness = Readiness {
        cpu: false,
        cpu_initialization_period: cfg.cpu_initialization_period,
        initial_readiness_delay: cfg.initial_readiness_delay,
        now,
    };
    match &m.source {
        MetricSource::Resource { name } | MetricSource::ContainerResource { name, .. } => {
            let container = match &m.source {
                MetricSource::ContainerResource { container, .. } => Some(container.as_str()),
                _ => None,
            };
            let (reason, outer) = match container {
                None => (
                    "FailedGetResourceMetric",
                    format!("failed to get {name} resource metric value"),
                ),
                Some(c) => (
                    "FailedGetContainerResourceMetric",
                    format!("failed to get {c} container metric value"),
                ),
            };
            let readiness = Readiness {
                cpu: name == "cpu",
                ..readiness
            };
            let samples = match metric_input {
                Some(MetricInput::Pods(Ok(s))) => Ok(s.as_slice()),
                Some(MetricInput::Pods(Err(e))) => {
                    Err(format!("unable to get metrics for resource {name}: {e}"))
                }
                _ => Err(format!(
                    "unable to get metrics for resource {name}: no samples were fetched"
                )),
            };
            let (calc, what) = match m.target {
                Target::AverageValue(t) => (
                    samples.and_then(|s| {
                        replicas::plain_per_pod(&input.pods, s, t, spec_replicas, tol, &readiness)
                            .map_err(|e| e.to_string())
                    }),
                    "usage",
                ),
                Target::Utilization(t) => {
                    let idx = RequestKey::position(request_keys, name, container).unwrap_or(usize::MAX);
                    (
                        samples.and_then(|s| {
                            replicas::resource_utilization(&input.pods, s, idx, t, spec_replicas, tol, &readiness)
                                .map_err(|e| e.to_string())
                        }),
                        "utilization",
                    )
                }
                Target::Value(_) => (
                    Err("invalid resource metric source: neither an average utilization target nor an average value (usage) target was set".to_string()),
                    "",
                ),
            };
            let p = calc.map_err(|e| {
                let event_message = if what.is_empty() {
                    e
                } else {
                    format!("failed to get {name} {what}: {e}")
                };
                Failure {
                    reason,
                    error: format!("{outer}: {event_message}"),
                    event_message,
                }
            })?;
            let value = MetricValueStatus {
                average_utilization: p.utilization,
                average_value: Some(resource_quantity(name, p.usage)),
                value: None,
            };
            let metric_name = match (m.target, container.is_some()) {
                (Target::Utilization(_), false) => {
                    format!("{name} resource utilization (percentage of request)")
                }
                (Target::Utilization(_), true) => {
                    format!("{name} container resource utilization (percentage of request)")
                }
                _ => format!("{name} resource"),
            };
            *status = match container {
                None => MetricStatus {
                    type_: "Resource".to_string(),
                    resource: Some(ResourceMetricStatus {
                        name: name.clone(),
                        current: value,
                    }),
                    ..Default::default()
                },
                Some(c) => MetricStatus {
                    type_: "ContainerResource".to_string(),
                    container_resource: Some(ContainerResourceMetricStatus {
                        name: name.clone(),
                        container: c.to_string(),
                        current: value,
                    }),
                    ..Default::default()
                },
            };
            Ok((p, metric_name))
        }
        MetricSource::Pods { metric } => {
            let fail = |event_message: String| Failure {
                reason: "FailedGetPodsMetric",
                error: format!("failed to get pods metric value: {event_message}"),
                event_message,
            };
            if let Some(sel) = &metric.selector {
                Selector::from_label_selector(sel).map_err(|e| fail(e.to_string()))?;
            }
            let target = match m.target {
                Target::AverageValue(t) => t,
                _ => {
                    return Err(fail(
                        "invalid pods metric source: an average value target must be set".to_string(),
                    ));
                }
            };
            let p = match metric_input {
                Some(MetricInput::Pods(Ok(s))) => {
                    replicas::plain_per_pod(&input.pods, s.as_slice(), target, spec_replicas, tol, &readiness)
                        .map_err(|e| e.to_string())
                }
                Some(MetricInput::Pods(Err(e))) => Err(format!("unable to get metric {}: {e}", metric.name)),
                _ => Err(format!(
                    "unable to get metric {}: no samples were fetched",
                    metric.name
                )),
            }
            .map_err(fail)?;
            *status = MetricStatus {
                type_: "Pods".to_string(),
                pods: Some(PodsMetricStatus {
                    metric: identifier(metric),
                    current: MetricValueStatus {
                        average_value: Some(milli_quantity(p.usage, Format::DecimalSI)),
                        ..Default::default()
                    },
                }),
                ..Default::default()
            };
            Ok((p, format!("pods metric {}", metric.name)))
        }
        MetricSource::Object {
            described_object,
            metric,
        } => {
            let fail = |event_message: String, error: String| Failure {
                reason: "FailedGetObjectMetric",
                error: format!("failed to get object metric value: {error}"),
                event_message,
            };
            if let Some(sel) = &metric.selector
                && let Err(e) = Selector::from_label_selector(sel)
            {
                return Err(fail(e.to_string(), e.to_string()));
            }
            let usage = match metric_input {
                Some(MetricInput::Object(Ok(v))) => Ok(*v),
                Some(MetricInput::Object(Err(e))) => Err(e.clone()),
                _ => Err("no value was fetched".to_string()),
            }
            .map_err(|e| {
                format!(
                    "unable to get metric {}: {} on {} {}/{}",
                    metric.name, e, described_object.kind, input.key.namespace, described_object.name
                )
            });
            let (p, value, name) = match m.target {
                Target::Value(t) => {
                    let p = usage
                        .and_then(|u| {
                            replicas::total_value(u, t, spec_replicas, &input.pods, tol)
                                .map_err(|e| e.to_string())
                        })
                        .map_err(|e| fail(e.clone(), e))?;
                    let v = MetricValueStatus {
                        value: Some(milli_quantity(p.usage, Format::DecimalSI)),
                        ..Default::default()
                    };
                    (p, v, format!("{} metric {}", described_object.kind, metric.name))
                }
                Target::AverageValue(t) => {
                    let p = usage
                        .map(|u| replicas::total_average(u, t, status_replicas, tol))
                        .map_err(|e| {
                            fail(
                                e.clone(),
                                format!("failed to get {} object metric: {e}", metric.name),
                            )
                        })?;
                    let v = MetricValueStatus {
                        average_value: Some(milli_quantity(p.usage, Format::DecimalSI)),
                        ..Default::default()
                    };
                    (
                        p,
                        v,
                        format!(
                            "external metric {}({})",
                            metric.name,
                            go_label_selector(metric.selector.as_ref())
                        ),
                    )
                }
                Target::Utilization(_) => {
                    let msg = "invalid object metric source: neither a value target nor an average value target was set";
                    return Err(fail(msg.to_string(), msg.to_string()));
                }
            };
            *status = MetricStatus {
                type_: "Object".to_string(),
                object: Some(ObjectMetricStatus {
                    described_object: described_object.clone(),
                    metric: identifier(metric),
                    current: value,
                }),
                ..Default::default()
            };
            Ok((p, name))
        }
        MetricSource::External { metric } => {
            let selector_text = go_label_selector(metric.selector.as_ref());
            let name = format!("external metric {}({})", metric.name, selector_text);
            let usage = (|| {
                Selector::from_optional_label_selector(metric.selector.as_ref())
                    .map_err(|e| e.to_string())?;
                match metric_input {
                    Some(MetricInput::External(Ok(values))) => Ok(match m.target {
                        Target::AverageValue(_) => replicas::external_average_sum(values),
                        _ => replicas::external_sum(values),
                    }),
                    Some(MetricInput::External(Err(e))) => Err(format!(
                        "unable to get external metric {}/{}/{}: {}",
                        input.key.namespace, metric.name, selector_text, e
                    )),
                    _ => Err(format!(
                        "unable to get external metric {}/{}/{}: no values were fetched",
                        input.key.namespace, metric.name, selector_text
                    )),
                }
            })();
            let (p, value) = match m.target {
                Target::AverageValue(t) => {
                    let p = usage.map(|u| replicas::total_average(u, t, status_replicas, tol)).map_err(|e| Failure {
                        reason: "FailedGetExternalMetric",
                        error: format!(
                            "failed to get {} external metric value: failed to get {} external metric: {e}",
                            metric.name, metric.name
                        ),
                        event_message: e,
                    })?;
                    let v = MetricValueStatus {
                        average_value: Some(milli_quantity(p.usage, Format::DecimalSI)),
                        ..Default::default()
                    };
                    (p, v)
                }
                Target::Value(t) => {
                    let p = usage.and_then(|u| replicas::total_value(u, t, spec_replicas, &input.pods, tol).map_err(|e| e.to_string())).map_err(
                        |e| Failure {
                            reason: "FailedGetExternalMetric",
                            error: format!(
                                "failed to get {} external metric value: failed to get external metric {}: {e}",
                                metric.name, metric.name
                            ),
                            event_message: e,
                        },
                    )?;
                    let v = MetricValueStatus {
                        value: Some(milli_quantity(p.usage, Format::DecimalSI)),
                        ..Default::default()
                    };
                    (p, v)
                }
                Target::Utilization(_) => {
                    let msg = "invalid external metric source: neither a value target nor an average value target was set";
                    return Err(Failure {
                        reason: "FailedGetExternalMetric",
                        error: format!("failed to get {} external metric value: {msg}", metric.name),
                        event_message: msg.to_string(),
                    });
                }
            };
            *status = MetricStatus {
                type_: "External".to_string(),
                external: Some(ExternalMetricStatus {
                    metric: identifier(metric),
                    current: value,
                }),
                ..Default::default()
            };
            Ok((p, name))
        }
    }
}

/// Go's `%+v` of a `*metav1.LabelSelector` (its generated `String()`), which upstream puts in
/// External and Object AverageValue metric names and error messages.
pub fn go_label_selector(selector: Option<&LabelSelector>) -> String {
    let Some(s) = selector else {
        return "nil".to_string();
    };
    let mut out = String::from("&LabelSelector{MatchLabels:map[string]string{");
    if let Some(labels) = &s.match_labels {
        // BTreeMap iterates in key order, as the generated code sorts keys.
        for (k, v) in labels {
            out.push_str(&format!("{k}: {v},"));
        }
    }
    out.push_str("},MatchExpressions:[]LabelSelectorRequirement{");
    for r in s.match_expressions.iter().flatten() {
        let values = r.values.as_deref().unwrap_or_default().join(" ");
        out.push_str(&format!(
            "LabelSelectorRequirement{{Key:{},Operator:{},Values:[{}],}},",
            r.key, r.operator, values
        ));
    }
    out.push_str("},}");
    out
}
