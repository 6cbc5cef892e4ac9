//! One reconcile of one HPA: fetch, decide, act, publish.
//!
//! ```text
//! HPA spec --HpaPolicy::from_spec--> policy            (invalid: ScalingActive=False InvalidSpec + event)
//! scale subresource GET                                (fails: AbleToScale=False FailedGetScale + event)
//! pods (reflector, this namespace) filtered by the scale's selector -> PodInfo
//! metrics (MetricsSource, shared per cycle) -> MetricInput per spec metric
//! decide(...) -> Decision
//! active: PUT scale (409 -> re-read, retry) ; shadow: nothing
//! Decision::complete -> status + events
//! active: PUT status only when it changed ; events through the EventSink
//! shadow: compare with status.desiredReplicas, count and log a disagreement
//! DecisionStore <- the record, with its explanation
//! ```
//!
//! The function is async over a [`MetricsSource`] and an [`EventSink`] so tier-3 tests drive it
//! directly against a scripted API server.

use std::{future::Future, sync::Arc};

use jiff::Timestamp;
use k8s_openapi::api::{
    autoscaling::v2::{HorizontalPodAutoscaler, HorizontalPodAutoscalerStatus},
    core::v1::{ObjectReference, Pod},
};
use kube::{Api, Client, Resource, api::PostParams};
use swell_core::{
    clock::Clock,
    conditions::{Condition, set_condition},
    pod::ConditionStatus,
    selector::Selector,
};
use tracing::Instrument;

use super::{
    Error, Mode,
    decisions::{DecisionRecord, DecisionStore},
    scale::ScaleClient,
    telemetry::{HpaLabels, Telemetry},
};
use crate::{
    History,
    decide::decide,
    explain,
    input::{HpaInput, HpaKey, MetricInput, PodInfo, PodSamples, RequestKey, ScaleTarget},
    metrics::{MetricsSource, index::LabelIndex},
    policy::{ControllerConfig, HpaPolicy, MetricSource},
    status::{ABLE_TO_SCALE, Event, EventType, SCALING_ACTIVE},
};

/// Where events go: the runtime's recorder in the controller, a recording fake in tests.
pub trait EventSink: Send + Sync {
    /// Records `event` about the HPA `regarding`.
    fn publish(
        &self,
        regarding: &ObjectReference,
        event: &Event,
    ) -> impl Future<Output = Result<(), String>> + Send;
}

impl EventSink for swell_runtime::events::Recorder {
    async fn publish(&self, regarding: &ObjectReference, event: &Event) -> Result<(), String> {
        let t = match event.type_ {
            EventType::Normal => swell_runtime::events::EventType::Normal,
            EventType::Warning => swell_runtime::events::EventType::Warning,
        };
        swell_runtime::events::Recorder::publish(self, regarding, t, &event.reason, &event.message)
            .await
            .map(|_| ())
            .map_err(|e| e.to_string())
    }
}

impl<S: EventSink> EventSink for Arc<S> {
    fn publish(
        &self,
        regarding: &ObjectReference,
        event: &Event,
    ) -> impl Future<Output = Result<(), String>> + Send {
        (**self).publish(regarding, event)
    }
}

/// Whether the next attempt should come at the normal sync period or after a backoff.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Retry {
    /// Reconcile again next cycle.
    NextCycle,
    /// Nothing changes until someone edits something (invalid spec, unknown kind): back off.
    Backoff,
}

/// What one reconcile did.
#[derive(Clone, Debug)]
pub struct Outcome {
    /// The HPA.
    pub key: HpaKey,
    /// The scale subresource was written.
    pub scale_written: bool,
    /// The status was written.
    pub status_written: bool,
    /// The reconcile's error (the decision's, or an I/O failure).
    pub error: Option<String>,
    /// When to come back.
    pub retry: Retry,
    /// The target's pod selector as read from the scale (for the selecting-HPAs tracker).
    pub selector: Option<Selector>,
}

/// The HPAs of one namespace and the pod selectors their last reconciles read.
pub type KnownSelectors = [(HpaKey, Selector)];

/// One namespace's pods with a label index, built once per cycle and shared by its HPAs.
#[derive(Debug, Default)]
pub struct NamespacePods {
    pods: Vec<Arc<Pod>>,
    index: LabelIndex,
}

impl NamespacePods {
    /// Indexes `pods` (all of one namespace).
    pub fn new(pods: Vec<Arc<Pod>>) -> Self {
        let index = LabelIndex::new(pods.iter().map(|p| p.metadata.labels.as_ref()));
        Self { pods, index }
    }

    /// The pods `selector` selects.
    pub fn matching(&self, selector: &Selector) -> Vec<&Arc<Pod>> {
        let empty = Default::default();
        self.index
            .candidates(selector)
            .into_iter()
            .map(|i| &self.pods[i])
            .filter(|p| selector.matches(p.metadata.labels.as_ref().unwrap_or(&empty)))
            .collect()
    }
}

/// What every reconcile shares.
pub struct Reconciler<E> {
    client: Client,
    scales: ScaleClient,
    events: E,
    config: ControllerConfig,
    mode: Mode,
    telemetry: Telemetry,
    decisions: DecisionStore,
    clock: Arc<dyn Clock>,
}

impl<E> std::fmt::Debug for Reconciler<E> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Reconciler")
            .field("mode", &self.mode)
            .field("config", &self.config)
            .finish_non_exhaustive()
    }
}

impl<E> Reconciler<E> {
    /// The published decisions.
    pub fn decisions(&self) -> &DecisionStore {
        &self.decisions
    }

    /// The metrics.
    pub fn telemetry(&self) -> &Telemetry {
        &self.telemetry
    }
}

impl<E: EventSink> Reconciler<E> {
    /// A reconciler writing through `client` (scale and status) and `events`.
    #[allow(clippy::too_many_arguments)]
    pub fn new(
        client: Client,
        events: E,
        config: ControllerConfig,
        mode: Mode,
        telemetry: Telemetry,
        decisions: DecisionStore,
        clock: Arc<dyn Clock>,
    ) -> Self {
        Self {
            scales: ScaleClient::new(client.clone()),
            client,
            events,
            config,
            mode,
            telemetry,
            decisions,
            clock,
        }
    }

    /// Reconciles `hpa` once. `pods` are the pods of its namespace (from the reflector), `known`
    /// the selectors of the namespace's HPAs from their last reconciles, `history` this HPA's
    /// recommendations and scale events.
    pub async fn reconcile<M: MetricsSource>(
        &self,
        hpa: &HorizontalPodAutoscaler,
        pods: &[Arc<Pod>],
        known: &KnownSelectors,
        metrics: &M,
        history: &mut History,
    ) -> Outcome {
        self.reconcile_in(hpa, &NamespacePods::new(pods.to_vec()), known, metrics, history)
            .await
    }

    /// [`Self::reconcile`] with the namespace's pods already indexed (what a cycle does).
    pub async fn reconcile_in<M: MetricsSource>(
        &self,
        hpa: &HorizontalPodAutoscaler,
        pods: &NamespacePods,
        known: &KnownSelectors,
        metrics: &M,
        history: &mut History,
    ) -> Outcome {
        let key = HpaKey::new(
            hpa.metadata.namespace.clone().unwrap_or_default(),
            hpa.metadata.name.clone().unwrap_or_default(),
        );
        let span = tracing::info_span!("reconcile", namespace = %key.namespace, name = %key.name, mode = self.mode.as_str());
        let started = tokio::time::Instant::now();
        let outcome = self
            .reconcile_inner(key, hpa, pods, known, metrics, history)
            .instrument(span)
            .await;
        self.telemetry
            .reconcile_duration
            .observe(started.elapsed().as_secs_f64());
        let result = if outcome.error.is_some() { "error" } else { "ok" };
        self.telemetry
            .reconciliations
            .get_or_create(&super::telemetry::ResultLabels {
                result: result.to_string(),
            })
            .inc();
        outcome
    }

    async fn reconcile_inner<M: MetricsSource>(
        &self,
        key: HpaKey,
        hpa: &HorizontalPodAutoscaler,
        pods: &NamespacePods,
        known: &KnownSelectors,
        metrics: &M,
        history: &mut History,
    ) -> Outcome {
        // The API server keeps whole seconds; deciding on a finer `now` would make every
        // transition time differ from what is read back, and the status be rewritten every cycle.
        let now = Timestamp::from_second(self.clock.now().as_second()).unwrap_or(Timestamp::UNIX_EPOCH);
        let status = hpa.status.clone().unwrap_or_default();
        let conditions: Vec<Condition> = status.conditions.iter().flatten().map(Condition::from).collect();

        let policy = match HpaPolicy::from_spec(&hpa.spec, &self.config) {
            Ok(p) => p,
            Err(e) => {
                tracing::warn!(error = %e, "invalid HorizontalPodAutoscaler spec");
                let mut conditions = conditions;
                set_condition(
                    &mut conditions,
                    SCALING_ACTIVE,
                    ConditionStatus::False,
                    "InvalidSpec",
                    e.to_string(),
                    now,
                );
                let event = Event::warning("InvalidSpec", e.to_string());
                return self
                    .finish_without_decision(key, hpa, &status, conditions, event, now, Retry::Backoff, 0)
                    .await;
            }
        };

        let target = &policy.scale_target_ref;
        let scale = match self.scales.get(&key.namespace, target).await {
            Ok(s) => s,
            Err(e) => {
                tracing::warn!(error = %e, "failed to get the target's scale");
                let retry = if matches!(e, Error::UnknownKind(_)) {
                    Retry::Backoff
                } else {
                    Retry::NextCycle
                };
                let mut conditions = conditions;
                set_condition(
                    &mut conditions,
                    ABLE_TO_SCALE,
                    ConditionStatus::False,
                    "FailedGetScale",
                    format!(
                        "the HPA controller was unable to get the target's current scale: {}",
                        e.cause()
                    ),
                    now,
                );
                let event = Event::warning("FailedGetScale", e.cause());
                return self
                    .finish_without_decision(key, hpa, &status, conditions, event, now, retry, 0)
                    .await;
            }
        };
        let scale_status = scale.status.clone().unwrap_or_default();
        let scale_target = ScaleTarget {
            spec_replicas: scale.spec.as_ref().and_then(|s| s.replicas).unwrap_or(0),
            status_replicas: scale_status.replicas,
            selector: scale_status.selector.clone().unwrap_or_default(),
        };

        // Pods and metrics are read only with a usable selector; decide() gates on the rest.
        let selector = (!scale_target.selector.is_empty())
            .then(|| Selector::parse(&scale_target.selector).ok())
            .flatten();
        let request_keys = RequestKey::for_policy(&policy);
        let mut matched: Vec<&Arc<Pod>> = Vec::new();
        let mut infos = Vec::new();
        let mut inputs = Vec::with_capacity(policy.metrics.len());
        let mut selecting = vec![key.clone()];
        if let Some(sel) = &selector {
            for p in pods.matching(sel) {
                matched.push(p);
                infos.push(PodInfo::from_pod(p, &request_keys, &self.config));
            }
            for (other, other_sel) in known {
                if *other != key
                    && matched
                        .iter()
                        .any(|p| other_sel.matches(p.metadata.labels.as_ref().unwrap_or(&Default::default())))
                {
                    selecting.push(other.clone());
                }
            }
            // Upstream reads no metric when a gate decides without them (zero replicas, outside
            // [min, max], an ambiguous selector); neither does this, to spare the metrics APIs.
            let current = scale_target.spec_replicas;
            let gated = selecting.len() > 1
                || current > policy.max_replicas
                || current < policy.min_replicas
                || (current == 0 && !self.config.scale_to_zero);
            if !gated {
                for m in &policy.metrics {
                    inputs.push(fetch_metric(metrics, &key.namespace, sel, &m.source).await);
                }
            }
        }

        let mut input = HpaInput::new(key.clone(), scale_target, infos, inputs);
        input.selecting_hpas = selecting;
        input.conditions = conditions;
        input.previous_desired_replicas = status.desired_replicas;
        input.last_scale_time = status.last_scale_time.as_ref().map(|t| t.0);

        let decision = decide(&input, &policy, &self.config, history, now);
        let mut scale_written = false;
        let write_result = if decision.rescale && self.mode == Mode::Active {
            match self
                .scales
                .update(&key.namespace, target, scale, decision.desired_replicas)
                .await
            {
                Ok(_) => {
                    scale_written = true;
                    self.telemetry.count_write("scale");
                    Ok(())
                }
                Err(e) => {
                    tracing::warn!(error = %e, "failed to update the target's scale");
                    Err(e.cause())
                }
            }
        } else {
            Ok(())
        };
        let completion = decision.complete(write_result, history, &policy);

        let mut new_status = completion.status.to_k8s();
        new_status.observed_generation = status.observed_generation;
        let mut status_written = false;
        let mut error = completion.error.clone();
        if self.mode == Mode::Active {
            match self.write_status_if_changed(hpa, &status, new_status).await {
                Ok(w) => status_written = w,
                Err(e) => {
                    tracing::warn!(error = %e, "failed to update the HPA status");
                    error.get_or_insert_with(|| e.to_string());
                }
            }
            self.publish_events(hpa, &completion.events).await;
        }
        for e in completion.events.iter().filter(|e| e.type_ == EventType::Warning) {
            self.telemetry.count_error(&e.reason);
        }

        let labels = HpaLabels {
            namespace: key.namespace.clone(),
            name: key.name.clone(),
        };
        self.telemetry
            .desired_replicas
            .get_or_create(&labels)
            .set(i64::from(completion.status.desired_replicas));

        let builtin = (self.mode == Mode::Shadow).then_some(status.desired_replicas);
        if self.mode == Mode::Shadow && status.desired_replicas != completion.status.desired_replicas {
            self.telemetry.shadow_disagreements.get_or_create(&labels).inc();
            tracing::info!(
                ours = completion.status.desired_replicas,
                builtin = status.desired_replicas,
                our_explanation = %explain::render(&decision),
                builtin_status = %builtin_explanation(&status),
                "shadow decision differs from the built-in controller's"
            );
        }
        if let Some(e) = &error {
            tracing::warn!(error = %e, desired = completion.status.desired_replicas, "reconciled with an error");
        } else {
            tracing::debug!(
                desired = completion.status.desired_replicas,
                rescale = decision.rescale,
                "reconciled"
            );
        }
        self.decisions.insert(DecisionRecord {
            namespace: key.namespace.clone(),
            name: key.name.clone(),
            mode: self.mode.as_str().to_string(),
            time: now,
            current_replicas: decision.current_replicas,
            desired_replicas: completion.status.desired_replicas,
            rescale: decision.rescale,
            rescale_reason: decision.rescale_reason.clone(),
            scale_written,
            status_written,
            builtin_desired_replicas: builtin,
            error: error.clone(),
            events: completion.events,
            explanation: None,
            text: String::new(),
            decision: Some(Arc::new(decision)),
        });
        Outcome {
            key,
            scale_written,
            status_written,
            error,
            retry: Retry::NextCycle,
            selector,
        }
    }

    /// The end of a reconcile that could not decide: status with the new condition, one event.
    #[allow(clippy::too_many_arguments)]
    async fn finish_without_decision(
        &self,
        key: HpaKey,
        hpa: &HorizontalPodAutoscaler,
        status: &HorizontalPodAutoscalerStatus,
        conditions: Vec<Condition>,
        event: Event,
        now: Timestamp,
        retry: Retry,
        current_replicas: i32,
    ) -> Outcome {
        let mut new_status = status.clone();
        new_status.conditions = Some(
            conditions
                .iter()
                .map(k8s_openapi::api::autoscaling::v2::HorizontalPodAutoscalerCondition::from)
                .collect(),
        );
        let mut status_written = false;
        if self.mode == Mode::Active {
            match self.write_status_if_changed(hpa, status, new_status).await {
                Ok(w) => status_written = w,
                Err(e) => tracing::warn!(error = %e, "failed to update the HPA status"),
            }
            self.publish_events(hpa, std::slice::from_ref(&event)).await;
        }
        self.telemetry.count_error(&event.reason);
        self.decisions.insert(DecisionRecord {
            namespace: key.namespace.clone(),
            name: key.name.clone(),
            mode: self.mode.as_str().to_string(),
            time: now,
            current_replicas,
            desired_replicas: status.desired_replicas,
            rescale: false,
            rescale_reason: String::new(),
            scale_written: false,
            status_written,
            builtin_desired_replicas: (self.mode == Mode::Shadow).then_some(status.desired_replicas),
            error: Some(event.message.clone()),
            events: vec![event.clone()],
            explanation: None,
            text: format!("{key}: no decision: {}: {}\n", event.reason, event.message),
            decision: None,
        });
        Outcome {
            key,
            scale_written: false,
            status_written,
            error: Some(event.message),
            retry,
            selector: None,
        }
    }

    /// Writes `new` as the HPA's status unless it equals `old` (upstream `updateStatusIfNeeded`).
    async fn write_status_if_changed(
        &self,
        hpa: &HorizontalPodAutoscaler,
        old: &HorizontalPodAutoscalerStatus,
        new: HorizontalPodAutoscalerStatus,
    ) -> Result<bool, Error> {
        if *old == new {
            return Ok(false);
        }
        let namespace = hpa.metadata.namespace.clone().unwrap_or_default();
        let name = hpa.metadata.name.clone().unwrap_or_default();
        let mut object = hpa.clone();
        object.status = Some(new);
        let api: Api<HorizontalPodAutoscaler> = Api::namespaced(self.client.clone(), &namespace);
        api.replace_status(&name, &PostParams::default(), &object)
            .await
            .map_err(|source| Error::UpdateStatus {
                key: format!("{namespace}/{name}"),
                source,
            })?;
        self.telemetry.count_write("status");
        Ok(true)
    }

    async fn publish_events(&self, hpa: &HorizontalPodAutoscaler, events: &[Event]) {
        if events.is_empty() {
            return;
        }
        let regarding = hpa.object_ref(&());
        for e in events {
            match self.events.publish(&regarding, e).await {
                Ok(()) => self.telemetry.count_write("event"),
                Err(err) => tracing::warn!(error = %err, reason = %e.reason, "failed to record an event"),
            }
        }
    }
}

/// The built-in controller's view, from its status, for the shadow-mode log line.
fn builtin_explanation(status: &HorizontalPodAutoscalerStatus) -> String {
    let mut out = format!(
        "desiredReplicas={} currentReplicas={}",
        status.desired_replicas,
        status.current_replicas.unwrap_or(0)
    );
    for c in status.conditions.iter().flatten() {
        out.push_str(&format!(
            "; {}={} {}: {}",
            c.type_,
            c.status,
            c.reason.as_deref().unwrap_or(""),
            c.message.as_deref().unwrap_or("")
        ));
    }
    out
}

/// Fetches one spec metric's samples for the decision.
pub async fn fetch_metric<M: MetricsSource>(
    metrics: &M,
    namespace: &str,
    selector: &Selector,
    source: &MetricSource,
) -> MetricInput {
    match source {
        MetricSource::Resource { name } => MetricInput::Pods(
            metrics
                .resource_metric(namespace, selector, name, None)
                .await
                .map(PodSamples::new)
                .map_err(|e| e.to_string()),
        ),
        MetricSource::ContainerResource { name, container } => MetricInput::Pods(
            metrics
                .resource_metric(namespace, selector, name, Some(container))
                .await
                .map(PodSamples::new)
                .map_err(|e| e.to_string()),
        ),
        MetricSource::Pods { metric } => {
            let result = match Selector::from_optional_label_selector(metric.selector.as_ref()) {
                Ok(ms) => metrics
                    .pods_metric(namespace, selector, &metric.name, &ms)
                    .await
                    .map(PodSamples::new)
                    .map_err(|e| e.to_string()),
                Err(e) => Err(e.to_string()),
            };
            MetricInput::Pods(result)
        }
        MetricSource::Object {
            described_object,
            metric,
        } => {
            let result = match Selector::from_optional_label_selector(metric.selector.as_ref()) {
                Ok(ms) => metrics
                    .object_metric(namespace, described_object, &metric.name, &ms)
                    .await
                    .map(|s| s.value)
                    .map_err(|e| e.to_string()),
                Err(e) => Err(e.to_string()),
            };
            MetricInput::Object(result)
        }
        MetricSource::External { metric } => {
            let result = match Selector::from_optional_label_selector(metric.selector.as_ref()) {
                Ok(ms) => metrics
                    .external_metric(namespace, &metric.name, &ms)
                    .await
                    .map(|v| v.into_iter().map(|s| s.value).collect())
                    .map_err(|e| e.to_string()),
                Err(e) => Err(e.to_string()),
            };
            MetricInput::External(result)
        }
    }
}
