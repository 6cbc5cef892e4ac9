//! `swell hpa decide FILE`: one decision of the pod autoscaler's core, offline, from a file.
//!
//! The file (YAML or JSON) holds what the live controller would have fetched: the HPA object, the
//! scale subresource, the pods, and one entry per `spec.metrics` entry. The decision and its
//! explanation are printed as text, or as JSON with `--json`. See docs/examples/decision.yaml.

use std::collections::BTreeMap;

use jiff::{SignedDuration, Timestamp};
use k8s_openapi::api::{autoscaling::v2::HorizontalPodAutoscaler, core::v1::Pod};
use serde::Deserialize;
use swell_core::{conditions::Condition, quantity::Quantity};
use swell_pod_autoscaler::{
    ControllerConfig, History, HpaInput, HpaKey, HpaPolicy, MetricInput, PodInfo, PodSample, PodSamples,
    ScaleTarget, behavior::TimestampedRecommendation, decide, input::RequestKey, policy::MetricSource,
};

/// The input file.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct DecisionFile {
    /// When the decision is made (RFC 3339).
    now: Timestamp,
    /// The HPA manifest; its status (conditions, desiredReplicas, lastScaleTime) is read if present.
    hpa: HorizontalPodAutoscaler,
    /// The target's scale subresource.
    scale: ScaleFile,
    /// Pods matching the selector.
    #[serde(default)]
    pods: Vec<Pod>,
    /// One entry per `spec.metrics` entry (or one for the default cpu metric).
    metrics: Vec<MetricFile>,
    /// Earlier raw recommendations the controller remembers.
    #[serde(default)]
    recommendations: Vec<RecommendationFile>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
struct ScaleFile {
    replicas: i32,
    status_replicas: Option<i32>,
    selector: String,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RecommendationFile {
    replicas: i32,
    timestamp: Timestamp,
}

/// One metric's fetched values: exactly one of the fields.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct MetricFile {
    /// Per-pod values (Resource, ContainerResource, Pods metrics): pod name -> quantity.
    pods: Option<BTreeMap<String, String>>,
    /// An Object metric's value.
    object: Option<String>,
    /// An External metric's series.
    external: Option<Vec<String>>,
    /// The fetch failed with this message.
    error: Option<String>,
}

fn milli(q: &str, what: &str) -> Result<i64, String> {
    Quantity::parse(q)
        .map(|q| q.milli_value())
        .map_err(|e| format!("{what}: {e}"))
}

/// Reads the file's text, decides, and renders the result.
pub fn run(text: &str, cfg: &ControllerConfig, json: bool) -> Result<String, String> {
    let file: DecisionFile =
        serde_yaml_ng::from_str(text).map_err(|e| format!("invalid decision input: {e}"))?;
    let policy = HpaPolicy::from_spec(&file.hpa.spec, cfg).map_err(|e| e.to_string())?;
    if file.metrics.len() != policy.metrics.len() {
        return Err(format!(
            "metrics: the HPA has {} metric(s) (after defaulting) but the file gives {}",
            policy.metrics.len(),
            file.metrics.len()
        ));
    }
    let keys = RequestKey::for_policy(&policy);
    let pods: Vec<PodInfo> = file
        .pods
        .iter()
        .map(|p| PodInfo::from_pod(p, &keys, cfg))
        .collect();
    let window = SignedDuration::from_secs(30);
    let mut metrics = Vec::with_capacity(file.metrics.len());
    for (i, m) in file.metrics.iter().enumerate() {
        let set = [
            m.pods.is_some(),
            m.object.is_some(),
            m.external.is_some(),
            m.error.is_some(),
        ];
        if set.iter().filter(|b| **b).count() != 1 {
            return Err(format!(
                "metrics[{i}]: give exactly one of pods, object, external or error"
            ));
        }
        let input = if let Some(values) = &m.pods {
            let mut samples = Vec::with_capacity(values.len());
            for (pod, q) in values {
                let value = milli(q, &format!("metrics[{i}].pods.{pod}"))?;
                samples.push(PodSample {
                    pod: pod.clone(),
                    value,
                    timestamp: file.now,
                    window,
                });
            }
            MetricInput::Pods(Ok(PodSamples::new(samples)))
        } else if let Some(q) = &m.object {
            MetricInput::Object(Ok(milli(q, &format!("metrics[{i}].object"))?))
        } else if let Some(qs) = &m.external {
            MetricInput::External(Ok(qs
                .iter()
                .enumerate()
                .map(|(j, q)| milli(q, &format!("metrics[{i}].external[{j}]")))
                .collect::<Result<_, _>>()?))
        } else {
            let e = m.error.clone().unwrap_or_default();
            match &policy.metrics[i].source {
                MetricSource::Object { .. } => MetricInput::Object(Err(e)),
                MetricSource::External { .. } => MetricInput::External(Err(e)),
                _ => MetricInput::Pods(Err(e)),
            }
        };
        metrics.push(input);
    }
    let meta = &file.hpa.metadata;
    let key = HpaKey::new(
        meta.namespace.clone().unwrap_or_else(|| "default".to_string()),
        meta.name.clone().unwrap_or_default(),
    );
    let mut input = HpaInput::new(
        key,
        ScaleTarget {
            spec_replicas: file.scale.replicas,
            status_replicas: file.scale.status_replicas.unwrap_or(file.scale.replicas),
            selector: file.scale.selector.clone(),
        },
        pods,
        metrics,
    );
    if let Some(status) = &file.hpa.status {
        input.conditions = status.conditions.iter().flatten().map(Condition::from).collect();
        input.previous_desired_replicas = status.desired_replicas;
        input.last_scale_time = status.last_scale_time.as_ref().map(|t| t.0);
    }
    let mut history = History {
        recommendations: file
            .recommendations
            .iter()
            .map(|r| TimestampedRecommendation {
                replicas: r.replicas,
                timestamp: r.timestamp,
            })
            .collect(),
        ..History::default()
    };
    let decision = decide(&input, &policy, cfg, &mut history, file.now);
    if json {
        let done = decision.complete(Ok(()), &mut history, &policy);
        let out = serde_json::json!({
            "decision": decision,
            "statusIfWritten": done.status.to_k8s(),
            "events": done.events,
        });
        serde_json::to_string_pretty(&out).map_err(|e| format!("failed to print the decision: {e}"))
    } else {
        Ok(swell_pod_autoscaler::explain::render(&decision))
    }
}
