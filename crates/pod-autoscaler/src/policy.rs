//! The policy: an `autoscaling/v2` HorizontalPodAutoscaler spec, validated and defaulted.
//!
//! Data flow: `HorizontalPodAutoscalerSpec` (k8s-openapi) --[`HpaPolicy::from_spec`]--> [`HpaPolicy`],
//! which the decision ([`crate::decide()`]) reads. `from_spec` applies what the API server would have
//! applied (API defaulting of `behavior`, the default CPU 80% metric, `minReplicas` 1) and the
//! controller's own substitutions (the scale-down stabilization window from the controller flag when
//! the spec leaves it unset, per-direction tolerances falling back to the flag), and refuses what API
//! validation refuses, with an error that names the field.

use jiff::SignedDuration;
use k8s_openapi::api::autoscaling::v2::{CrossVersionObjectReference, MetricIdentifier};
use serde::{Deserialize, Serialize};

/// The controller's flags that shape decisions, with kube-controller-manager's names and defaults.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct ControllerConfig {
    /// `--horizontal-pod-autoscaler-tolerance` (default 0.1): the ratio band around 1.0 inside which
    /// nothing changes, for both directions unless an HPA sets its own.
    pub tolerance: f64,
    /// `--horizontal-pod-autoscaler-downscale-stabilization` (default 5m).
    pub downscale_stabilization: SignedDuration,
    /// `--horizontal-pod-autoscaler-cpu-initialization-period` (default 5m).
    pub cpu_initialization_period: SignedDuration,
    /// `--horizontal-pod-autoscaler-initial-readiness-delay` (default 30s).
    pub initial_readiness_delay: SignedDuration,
    /// Feature gate `HPAScaleToZero` (alpha, default off): `minReplicas: 0` with Object or External metrics.
    pub scale_to_zero: bool,
    /// Feature gate `HPAConfigurableTolerance` (beta, default on since 1.35): per-HPA
    /// `behavior.scaleUp/scaleDown.tolerance`. When off, the fields are ignored.
    pub configurable_tolerance: bool,
    /// Feature gate `PodLevelResources` (beta, default on since 1.34): pod-level requests, when set,
    /// are the denominator of utilization for Resource metrics.
    pub pod_level_resources: bool,
}

impl Default for ControllerConfig {
    fn default() -> Self {
        Self {
            tolerance: 0.1,
            downscale_stabilization: SignedDuration::from_secs(300),
            cpu_initialization_period: SignedDuration::from_secs(300),
            initial_readiness_delay: SignedDuration::from_secs(30),
            scale_to_zero: false,
            configurable_tolerance: true,
            pod_level_resources: true,
        }
    }
}

/// A validated HPA spec with every default applied: what the decision works from.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct HpaPolicy {
    /// `spec.scaleTargetRef`.
    pub scale_target_ref: CrossVersionObjectReference,
    /// `spec.minReplicas`, 1 when unset.
    pub min_replicas: i32,
    /// `spec.maxReplicas`.
    pub max_replicas: i32,
    /// `spec.metrics` in spec order; Resource cpu Utilization 80 when the spec has none.
    pub metrics: Vec<MetricPolicy>,
    /// `spec.behavior` with API defaults merged in; `None` selects the legacy normalization path
    /// (max over the downscale window, scale-up limit `max(2 x current, 4)`).
    pub behavior: Option<BehaviorPolicy>,
    /// The tolerance band in force for this HPA (per-direction fields, else the flag).
    pub tolerances: Tolerances,
}

/// The usage-ratio band inside which a metric proposes no change: `[1 - scale_down, 1 + scale_up]`, inclusive.
#[derive(Clone, Copy, Debug, PartialEq, Serialize, Deserialize)]
pub struct Tolerances {
    /// Allowed shortfall below 1.0 before scaling down.
    pub scale_down: f64,
    /// Allowed excess above 1.0 before scaling up.
    pub scale_up: f64,
}

impl Tolerances {
    /// The same tolerance for both directions.
    pub fn symmetric(t: f64) -> Self {
        Self {
            scale_down: t,
            scale_up: t,
        }
    }

    /// Upstream `Tolerances.isWithin`: `1 - down <= ratio <= 1 + up`.
    pub fn is_within(&self, ratio: f64) -> bool {
        (1.0 - self.scale_down) <= ratio && ratio <= (1.0 + self.scale_up)
    }
}

/// One entry of `spec.metrics`.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct MetricPolicy {
    /// Where the metric comes from.
    pub source: MetricSource,
    /// The value the controller steers towards, as the controller reads it (see [`Target`]).
    pub target: Target,
}

/// The metric source types of `autoscaling/v2`.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub enum MetricSource {
    /// `type: Resource`: a resource of every container of the pods (metrics.k8s.io).
    Resource {
        /// Resource name, e.g. `cpu`.
        name: String,
    },
    /// `type: ContainerResource`: a resource of one named container (metrics.k8s.io).
    ContainerResource {
        /// Resource name, e.g. `cpu`.
        name: String,
        /// Container name.
        container: String,
    },
    /// `type: Pods`: a per-pod custom metric (custom.metrics.k8s.io).
    Pods {
        /// Metric name and selector.
        metric: MetricIdentifier,
    },
    /// `type: Object`: a custom metric describing one object (custom.metrics.k8s.io).
    Object {
        /// The object the metric describes.
        described_object: CrossVersionObjectReference,
        /// Metric name and selector.
        metric: MetricIdentifier,
    },
    /// `type: External`: a metric from outside the cluster (external.metrics.k8s.io).
    External {
        /// Metric name and selector.
        metric: MetricIdentifier,
    },
}

impl MetricSource {
    /// The `spec.metrics[].type` string.
    pub fn type_str(&self) -> &'static str {
        match self {
            MetricSource::Resource { .. } => "Resource",
            MetricSource::ContainerResource { .. } => "ContainerResource",
            MetricSource::Pods { .. } => "Pods",
            MetricSource::Object { .. } => "Object",
            MetricSource::External { .. } => "External",
        }
    }
}

/// A metric target as the controller uses it. Values are in milli-units (`Quantity::milli_value`).
///
/// Which field the controller reads follows upstream, not `target.type`: for Resource and
/// ContainerResource `averageValue` wins over `averageUtilization`; for External `averageValue`
/// wins over `value`; for Object the type selects.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum Target {
    /// `averageUtilization`: percent of the pods' requests.
    Utilization(i32),
    /// `averageValue`, milli-units.
    AverageValue(i64),
    /// `value`, milli-units.
    Value(i64),
}

/// `spec.behavior` with the API defaults merged in and the controller's substitutions applied.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct BehaviorPolicy {
    /// `behavior.scaleUp` (defaults: window 0, selectPolicy Max, Pods 4/15s and Percent 100/15s).
    pub scale_up: ScalingRules,
    /// `behavior.scaleDown` (defaults: window = the downscale-stabilization flag, selectPolicy Max, Percent 100/15s).
    pub scale_down: ScalingRules,
}

/// One direction's rules.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct ScalingRules {
    /// `stabilizationWindowSeconds`, resolved.
    pub stabilization_window_seconds: i32,
    /// `selectPolicy`.
    pub select_policy: SelectPolicy,
    /// `policies`, in spec order.
    pub policies: Vec<ScalingPolicy>,
}

impl ScalingRules {
    /// The longest `periodSeconds` among the policies (0 when there are none): scale events older
    /// than this can be reused.
    pub fn longest_period_seconds(&self) -> i32 {
        self.policies
            .iter()
            .map(|p| p.period_seconds)
            .max()
            .unwrap_or(0)
            .max(0)
    }
}

/// `selectPolicy`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum SelectPolicy {
    /// The policy allowing the largest change.
    Max,
    /// The policy allowing the smallest change.
    Min,
    /// No scaling in this direction.
    Disabled,
}

impl SelectPolicy {
    /// The API string.
    pub fn as_str(&self) -> &'static str {
        match self {
            SelectPolicy::Max => "Max",
            SelectPolicy::Min => "Min",
            SelectPolicy::Disabled => "Disabled",
        }
    }
}

/// One `HPAScalingPolicy`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ScalingPolicy {
    /// `type`.
    pub kind: PolicyKind,
    /// `value` (> 0).
    pub value: i32,
    /// `periodSeconds` (1..=1800).
    pub period_seconds: i32,
}

/// `HPAScalingPolicy.type`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum PolicyKind {
    /// A number of pods per period.
    Pods,
    /// A percentage of the replicas at the start of the period.
    Percent,
}

impl PolicyKind {
    /// The API string.
    pub fn as_str(&self) -> &'static str {
        match self {
            PolicyKind::Pods => "Pods",
            PolicyKind::Percent => "Percent",
        }
    }
}

// ---- from_spec, validation and defaulting below (HpaPolicy::from_spec, PolicyError, FieldError) ----

use std::fmt;

use k8s_openapi::api::autoscaling::v2 as api;
use swell_core::quantity::Quantity;
use swell_core::validation::{is_dns1123_label, is_qualified_name};

/// `MaxPeriodSeconds` of upstream validation: the longest scaling-policy period.
const MAX_PERIOD_SECONDS: i32 = 1800;
/// `MaxStabilizationWindowSeconds` of upstream validation: the longest stabilization window.
const MAX_STABILIZATION_WINDOW_SECONDS: i32 = 3600;
/// `autoscaling.DefaultCPUUtilization`: the target of the metric defaulted in when a spec has none.
const DEFAULT_CPU_UTILIZATION: i32 = 80;

/// Upstream `validMetricSourceTypesList`: sorted, as `sets.String.List()` returns it.
const METRIC_SOURCE_TYPES: [&str; 5] = ["ContainerResource", "External", "Object", "Pods", "Resource"];
/// Upstream `validSelectPolicyTypesList`, sorted.
const SELECT_POLICY_TYPES: [&str; 3] = ["Disabled", "Max", "Min"];
/// Upstream `validPolicyTypesList`, sorted.
const POLICY_TYPES: [&str; 2] = ["Percent", "Pods"];

/// The kind of a [`FieldError`]: upstream's `field.ErrorType`, limited to those HPA validation uses.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum FieldErrorKind {
    /// A required field is unset or empty (`field.Required`).
    Required,
    /// The value is malformed or out of range (`field.Invalid`).
    Invalid,
    /// The field may not be set here (`field.Forbidden`).
    Forbidden,
    /// The value is not one of an enumerated set (`field.NotSupported`).
    NotSupported,
}

impl FieldErrorKind {
    /// The API server's wording (`ErrorType.String()`), e.g. `Invalid value`.
    pub fn as_str(&self) -> &'static str {
        match self {
            FieldErrorKind::Required => "Required value",
            FieldErrorKind::Invalid => "Invalid value",
            FieldErrorKind::Forbidden => "Forbidden",
            FieldErrorKind::NotSupported => "Unsupported value",
        }
    }
}

/// One invalid field, named as the API server names it (`spec.behavior.scaleUp.policies[0].value`).
///
/// Displays as the API server prints a `field.Error`:
/// `spec.minReplicas: Invalid value: 0: must be greater than or equal to 1`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct FieldError {
    /// The JSON path of the field, from `spec`.
    pub field: String,
    /// What is wrong with it.
    pub kind: FieldErrorKind,
    /// The offending value as upstream prints it (numbers bare, strings and quantities quoted);
    /// `None` for [`FieldErrorKind::Required`] and [`FieldErrorKind::Forbidden`], which print none.
    pub value: Option<String>,
    /// Upstream's detail message (empty where upstream gives none, e.g. a required `kind`).
    pub message: String,
}

impl FieldError {
    fn new(field: &Path, kind: FieldErrorKind, value: Option<String>, message: impl Into<String>) -> Self {
        Self {
            field: field.0.clone(),
            kind,
            value,
            message: message.into(),
        }
    }

    fn required(field: &Path, message: impl Into<String>) -> Self {
        Self::new(field, FieldErrorKind::Required, None, message)
    }

    fn invalid(field: &Path, value: String, message: impl Into<String>) -> Self {
        Self::new(field, FieldErrorKind::Invalid, Some(value), message)
    }

    fn forbidden(field: &Path, message: impl Into<String>) -> Self {
        Self::new(field, FieldErrorKind::Forbidden, None, message)
    }

    fn not_supported(field: &Path, value: &str, supported: &[&str]) -> Self {
        let supported: Vec<String> = supported.iter().map(|s| go_quote(s)).collect();
        Self::new(
            field,
            FieldErrorKind::NotSupported,
            Some(go_quote(value)),
            format!("supported values: {}", supported.join(", ")),
        )
    }
}

impl fmt::Display for FieldError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {}", self.field, self.kind.as_str())?;
        if let Some(value) = &self.value {
            write!(f, ": {value}")?;
        }
        if !self.message.is_empty() {
            write!(f, ": {}", self.message)?;
        }
        Ok(())
    }
}

/// An HPA spec the API server would refuse (or the controller could not use): every invalid field,
/// in upstream's order.
///
/// A spec error never heals by retrying; only a change to the object does (see [`Self::is_retryable`]).
#[derive(Debug, thiserror::Error, Clone, PartialEq)]
#[error("invalid HorizontalPodAutoscaler spec: {}", join_errors(.errors))]
pub struct PolicyError {
    /// The invalid fields, never empty.
    pub errors: Vec<FieldError>,
}

impl PolicyError {
    /// Always `false`: the same spec fails the same way until someone edits it.
    pub fn is_retryable(&self) -> bool {
        false
    }
}

fn join_errors(errors: &[FieldError]) -> String {
    errors
        .iter()
        .map(ToString::to_string)
        .collect::<Vec<_>>()
        .join("; ")
}

impl HpaPolicy {
    /// Validates an `autoscaling/v2` spec the way the API server does, then applies the API defaults
    /// and the controller's substitutions.
    ///
    /// Order, as upstream: defaulting (`minReplicas` 1, the CPU 80% metric, `behavior` defaults) runs
    /// before validation, so validation sees defaulted values (a spec without `minReplicas` and with
    /// `maxReplicas: 0` is told both that `maxReplicas` is required and that it is below
    /// `minReplicas`). With `cfg.configurable_tolerance` off, `tolerance` is dropped before validation
    /// (upstream's `dropDisabledFields`). Every error is reported, not just the first.
    ///
    /// Beyond API validation, one controller-level rule is enforced here because [`Target`] cannot
    /// carry it: an Object metric must have `type: Value` with `value` or `type: AverageValue` with
    /// `averageValue`; the API server accepts the other combinations but the controller then fails that
    /// metric on every reconcile.
    pub fn from_spec(
        spec: &api::HorizontalPodAutoscalerSpec,
        cfg: &ControllerConfig,
    ) -> Result<HpaPolicy, PolicyError> {
        let mut check = Check::default();
        let spec_path = Path::new("spec");

        let min_replicas = spec.min_replicas.unwrap_or(1);
        let default_metrics;
        let metrics: &[api::MetricSpec] = match spec.metrics.as_deref() {
            Some(metrics) if !metrics.is_empty() => metrics,
            _ => {
                default_metrics = [default_cpu_metric()];
                &default_metrics
            }
        };

        // validateHorizontalPodAutoscalerSpec
        let min_bound = if cfg.scale_to_zero { 0 } else { 1 };
        if min_replicas < min_bound {
            check.push(FieldError::invalid(
                &spec_path.child("minReplicas"),
                min_replicas.to_string(),
                format!("must be greater than or equal to {min_bound}"),
            ));
        }
        let max_path = spec_path.child("maxReplicas");
        if spec.max_replicas == 0 {
            check.push(FieldError::required(&max_path, "must be set and greater than 0"));
        } else if spec.max_replicas < 0 {
            check.push(FieldError::invalid(
                &max_path,
                spec.max_replicas.to_string(),
                "must be greater than or equal to 1",
            ));
        }
        if spec.max_replicas < min_replicas {
            check.push(FieldError::invalid(
                &max_path,
                spec.max_replicas.to_string(),
                "must be greater than or equal to `minReplicas`",
            ));
        }
        // Only ReplicationController, the one scalable kind of the core group, may omit the group.
        let allow_empty_group = spec.scale_target_ref.kind == "ReplicationController";
        cross_version_object_reference(
            &mut check,
            &spec.scale_target_ref,
            &spec_path.child("scaleTargetRef"),
            allow_empty_group,
        );

        // validateMetrics
        let metrics_path = spec_path.child("metrics");
        let mut metric_policies = Vec::with_capacity(metrics.len());
        for (i, metric) in metrics.iter().enumerate() {
            if let Some(policy) = metric_spec(&mut check, metric, &metrics_path.index(i)) {
                metric_policies.push(policy);
            }
        }
        if min_replicas == 0
            && !metrics
                .iter()
                .any(|m| m.type_ == "Object" || m.type_ == "External")
        {
            check.push(FieldError::forbidden(
                &metrics_path,
                "must specify at least one Object or External metric to support scaling to zero replicas",
            ));
        }

        // validateBehavior, on the defaulted rules
        let behavior_path = spec_path.child("behavior");
        let mut tolerances = Tolerances::symmetric(cfg.tolerance);
        let behavior = match &spec.behavior {
            None => None,
            Some(b) => {
                let up = scaling_rules(
                    &mut check,
                    b.scale_up.as_ref(),
                    Direction::Up,
                    cfg,
                    &behavior_path.child("scaleUp"),
                );
                let down = scaling_rules(
                    &mut check,
                    b.scale_down.as_ref(),
                    Direction::Down,
                    cfg,
                    &behavior_path.child("scaleDown"),
                );
                if let Some(t) = up.tolerance {
                    tolerances.scale_up = t;
                }
                if let Some(t) = down.tolerance {
                    tolerances.scale_down = t;
                }
                match (up.rules, down.rules) {
                    (Some(scale_up), Some(scale_down)) => Some(BehaviorPolicy { scale_up, scale_down }),
                    _ => None,
                }
            }
        };

        if !check.errors.is_empty() {
            return Err(PolicyError { errors: check.errors });
        }
        Ok(HpaPolicy {
            scale_target_ref: spec.scale_target_ref.clone(),
            min_replicas,
            max_replicas: spec.max_replicas,
            metrics: metric_policies,
            behavior,
            tolerances,
        })
    }
}

/// Collects errors, dropping exact duplicates: upstream reports an unknown metric type twice
/// (once by the set check, once by the switch); the API server's message dedups them too.
#[derive(Debug, Default)]
struct Check {
    errors: Vec<FieldError>,
}

impl Check {
    fn push(&mut self, error: FieldError) {
        if !self.errors.contains(&error) {
            self.errors.push(error);
        }
    }

    fn len(&self) -> usize {
        self.errors.len()
    }
}

/// A field path being built (`field.Path`).
#[derive(Clone, Debug)]
struct Path(String);

impl Path {
    fn new(root: &str) -> Self {
        Path(root.to_owned())
    }

    fn child(&self, name: &str) -> Self {
        Path(format!("{}.{name}", self.0))
    }

    fn index(&self, i: usize) -> Self {
        Path(format!("{}[{i}]", self.0))
    }
}

/// Go's `%q` for the strings that appear in field values (Rust's `{:?}` agrees on every printable string).
fn go_quote(s: &str) -> String {
    format!("{s:?}")
}

fn default_cpu_metric() -> api::MetricSpec {
    api::MetricSpec {
        type_: "Resource".to_owned(),
        resource: Some(api::ResourceMetricSource {
            name: "cpu".to_owned(),
            target: api::MetricTarget {
                type_: "Utilization".to_owned(),
                average_utilization: Some(DEFAULT_CPU_UTILIZATION),
                ..Default::default()
            },
        }),
        ..Default::default()
    }
}

/// `ValidateCrossVersionObjectReference` with `ValidateAPIVersion` (invalid versions never allowed:
/// that option only relaxes updates that keep an already-stored value).
fn cross_version_object_reference(
    check: &mut Check,
    r: &CrossVersionObjectReference,
    path: &Path,
    allow_empty_group: bool,
) {
    for (name, value) in [("kind", &r.kind), ("name", &r.name)] {
        let field = path.child(name);
        if value.is_empty() {
            check.push(FieldError::required(&field, ""));
        } else {
            for msg in path_segment_name(value) {
                check.push(FieldError::invalid(&field, go_quote(value), msg));
            }
        }
    }
    let api_version = r.api_version.as_deref().unwrap_or("");
    let problem = match parse_group_version(api_version) {
        Err(msg) => Some(msg),
        Ok(group) if group.is_empty() && !allow_empty_group => {
            Some("apiVersion must specify API group".to_owned())
        }
        Ok(_) => None,
    };
    if let Some(msg) = problem {
        check.push(FieldError::invalid(
            &path.child("apiVersion"),
            go_quote(api_version),
            msg,
        ));
    }
}

/// `schema.ParseGroupVersion`, returning the group: `""` and `"/"` parse to the empty group.
fn parse_group_version(gv: &str) -> Result<&str, String> {
    if gv.is_empty() || gv == "/" {
        return Ok("");
    }
    match gv.split('/').collect::<Vec<_>>().as_slice() {
        [_version] => Ok(""),
        [group, _version] => Ok(group),
        _ => Err(format!("unexpected GroupVersion string: {gv}")),
    }
}

/// `IsValidPathSegmentName`.
fn path_segment_name(name: &str) -> Vec<String> {
    for illegal in [".", ".."] {
        if name == illegal {
            return vec![format!("may not be '{illegal}'")];
        }
    }
    ["/", "%"]
        .into_iter()
        .filter(|illegal| name.contains(illegal))
        .map(|illegal| format!("may not contain '{illegal}'"))
        .collect()
}

/// `validateMetricSpec`, then (if the metric is clean) the target as the controller reads it.
fn metric_spec(check: &mut Check, spec: &api::MetricSpec, path: &Path) -> Option<MetricPolicy> {
    let before = check.len();
    let type_path = path.child("type");
    if spec.type_.is_empty() {
        check.push(FieldError::required(
            &type_path,
            "must specify a metric source type",
        ));
    }
    if !METRIC_SOURCE_TYPES.contains(&spec.type_.as_str()) {
        check.push(FieldError::not_supported(
            &type_path,
            &spec.type_,
            &METRIC_SOURCE_TYPES,
        ));
    }

    // Upstream validates only the first source present in this fixed order, whatever `type` says.
    let mut present: Vec<&str> = Vec::new();
    let mut target = None;
    if let Some(src) = &spec.object {
        present.push("object");
        target = Some(object_source(check, src, &path.child("object")));
    }
    if let Some(src) = &spec.external {
        present.push("external");
        if present.len() == 1 {
            target = Some(external_source(check, src, &path.child("external")));
        }
    }
    if let Some(src) = &spec.pods {
        present.push("pods");
        if present.len() == 1 {
            target = Some(pods_source(check, src, &path.child("pods")));
        }
    }
    if let Some(src) = &spec.resource {
        present.push("resource");
        if present.len() == 1 {
            target = Some(resource_source(check, src, &path.child("resource")));
        }
    }
    if let Some(src) = &spec.container_resource {
        present.push("containerResource");
        if present.len() == 1 {
            target = Some(container_resource_source(
                check,
                src,
                &path.child("containerResource"),
            ));
        }
    }

    let (expected, is_set) = match spec.type_.as_str() {
        "Object" => ("object", spec.object.is_some()),
        "Pods" => ("pods", spec.pods.is_some()),
        "Resource" => ("resource", spec.resource.is_some()),
        "External" => ("external", spec.external.is_some()),
        "ContainerResource" => ("containerResource", spec.container_resource.is_some()),
        _ => {
            check.push(FieldError::not_supported(
                &type_path,
                &spec.type_,
                &METRIC_SOURCE_TYPES,
            ));
            ("", true)
        }
    };
    if !is_set {
        check.push(FieldError::required(
            &path.child(expected),
            "must populate information for the given metric source",
        ));
    }
    if present.len() != 1 {
        for typ in present.iter().filter(|typ| **typ != expected) {
            check.push(FieldError::forbidden(
                &path.child(typ),
                "must populate the given metric source only",
            ));
        }
    }

    if check.len() != before {
        return None;
    }
    // Clean: exactly one source, the one `type` names, and it was the one validated.
    let target = target?;
    let source = match spec.type_.as_str() {
        "Resource" => MetricSource::Resource {
            name: spec.resource.as_ref()?.name.clone(),
        },
        "ContainerResource" => {
            let src = spec.container_resource.as_ref()?;
            MetricSource::ContainerResource {
                name: src.name.clone(),
                container: src.container.clone(),
            }
        }
        "Pods" => MetricSource::Pods {
            metric: spec.pods.as_ref()?.metric.clone(),
        },
        "Object" => {
            let src = spec.object.as_ref()?;
            MetricSource::Object {
                described_object: src.described_object.clone(),
                metric: src.metric.clone(),
            }
        }
        "External" => MetricSource::External {
            metric: spec.external.as_ref()?.metric.clone(),
        },
        _ => return None,
    };
    match target {
        Ok(target) => Some(MetricPolicy { source, target }),
        Err(error) => {
            check.push(error);
            None
        }
    }
}

/// A metric target with its quantities parsed (`None` where unset or unparsable).
#[derive(Debug)]
struct ParsedTarget {
    value: Option<i64>,
    average_value: Option<i64>,
}

/// What a source resolves to: the controller's [`Target`], or why the controller could not use it.
type Resolved = Result<Target, FieldError>;

/// `validateMetricTarget`.
fn metric_target(check: &mut Check, t: &api::MetricTarget, path: &Path) -> ParsedTarget {
    let type_path = path.child("type");
    if t.type_.is_empty() {
        check.push(FieldError::required(
            &type_path,
            "must specify a metric target type",
        ));
    }
    if !matches!(t.type_.as_str(), "Utilization" | "Value" | "AverageValue") {
        check.push(FieldError::invalid(
            &type_path,
            go_quote(&t.type_),
            "must be either Utilization, Value, or AverageValue",
        ));
    }
    let value = positive_quantity(check, t.value.as_ref(), &path.child("value"));
    let average_value = positive_quantity(check, t.average_value.as_ref(), &path.child("averageValue"));
    if let Some(u) = t.average_utilization
        && u < 1
    {
        check.push(FieldError::invalid(
            &path.child("averageUtilization"),
            u.to_string(),
            "must be greater than 0",
        ));
    }
    ParsedTarget { value, average_value }
}

/// Parses a quantity; an unparsable one is an Invalid error on its field.
fn parse_quantity(
    check: &mut Check,
    q: &k8s_openapi::apimachinery::pkg::api::resource::Quantity,
    path: &Path,
) -> Option<Quantity> {
    match Quantity::parse(&q.0) {
        Ok(parsed) => Some(parsed),
        Err(e) => {
            check.push(FieldError::invalid(path, go_quote(&q.0), e.to_string()));
            None
        }
    }
}

/// A target quantity: must parse and be > 0 (`Sign() != 1` is refused). Returns milli-units.
fn positive_quantity(
    check: &mut Check,
    q: Option<&k8s_openapi::apimachinery::pkg::api::resource::Quantity>,
    path: &Path,
) -> Option<i64> {
    let q = q?;
    let parsed = parse_quantity(check, q, path)?;
    if parsed.sign() != 1 {
        check.push(FieldError::invalid(path, go_quote(&q.0), "must be positive"));
        return None;
    }
    Some(parsed.milli_value())
}

/// `validateResourceSource`; the controller reads `averageValue` first, then `averageUtilization`.
fn resource_source(check: &mut Check, src: &api::ResourceMetricSource, path: &Path) -> Resolved {
    if src.name.is_empty() {
        check.push(FieldError::required(
            &path.child("name"),
            "must specify a resource name",
        ));
    }
    let target = resource_target(check, &src.target, &path.child("target"));
    resolve_resource_target(&src.target, &target, path)
}

/// `validateContainerResourceSource`: unlike Resource, the names are checked.
fn container_resource_source(
    check: &mut Check,
    src: &api::ContainerResourceMetricSource,
    path: &Path,
) -> Resolved {
    let name_path = path.child("name");
    if src.name.is_empty() {
        check.push(FieldError::required(&name_path, "must specify a resource name"));
    } else {
        for msg in container_resource_name(&src.name) {
            check.push(FieldError::invalid(&name_path, go_quote(&src.name), msg));
        }
    }
    let container_path = path.child("container");
    if src.container.is_empty() {
        check.push(FieldError::required(&container_path, "must specify a container"));
    } else {
        for msg in is_dns1123_label(&src.container) {
            check.push(FieldError::invalid(
                &container_path,
                go_quote(&src.container),
                msg,
            ));
        }
    }
    let target = resource_target(check, &src.target, &path.child("target"));
    resolve_resource_target(&src.target, &target, path)
}

/// The target checks Resource and ContainerResource share.
fn resource_target(check: &mut Check, t: &api::MetricTarget, path: &Path) -> ParsedTarget {
    let parsed = metric_target(check, t, path);
    if t.average_utilization.is_none() && t.average_value.is_none() {
        check.push(FieldError::required(
            &path.child("averageUtilization"),
            "must set either a target raw value or a target utilization",
        ));
    }
    if t.average_utilization.is_some() && t.average_value.is_some() {
        check.push(FieldError::forbidden(
            &path.child("averageValue"),
            "may not set both a target raw value and a target utilization",
        ));
    }
    parsed
}

/// `computeStatusForResourceMetricGeneric`: `averageValue` if set, else `averageUtilization`.
fn resolve_resource_target(t: &api::MetricTarget, parsed: &ParsedTarget, path: &Path) -> Resolved {
    if let Some(v) = parsed.average_value {
        return Ok(Target::AverageValue(v));
    }
    match t.average_utilization {
        Some(u) => Ok(Target::Utilization(u)),
        None => Err(FieldError::invalid(
            &path.child("target"),
            go_quote(&t.type_),
            "invalid resource metric source: neither an average utilization target nor an average value (usage) target was set",
        )),
    }
}

/// `validatePodsSource`; the controller reads only `averageValue`.
fn pods_source(check: &mut Check, src: &api::PodsMetricSource, path: &Path) -> Resolved {
    metric_identifier(check, &src.metric, &path.child("metric"));
    let target_path = path.child("target");
    let parsed = metric_target(check, &src.target, &target_path);
    if src.target.average_value.is_none() {
        check.push(FieldError::required(
            &target_path.child("averageValue"),
            "must specify a positive target averageValue",
        ));
    }
    parsed.average_value.map(Target::AverageValue).ok_or_else(|| {
        FieldError::required(
            &target_path.child("averageValue"),
            "must specify a positive target averageValue",
        )
    })
}

/// `validateObjectSource`; the controller reads `value` only with `type: Value` and `averageValue`
/// only with `type: AverageValue` (`computeStatusForObjectMetric`).
fn object_source(check: &mut Check, src: &api::ObjectMetricSource, path: &Path) -> Resolved {
    // Object metrics may name a core-group object (`apiVersion: v1`).
    cross_version_object_reference(check, &src.described_object, &path.child("describedObject"), true);
    metric_identifier(check, &src.metric, &path.child("metric"));
    let target_path = path.child("target");
    let parsed = metric_target(check, &src.target, &target_path);
    if src.target.value.is_none() && src.target.average_value.is_none() {
        check.push(FieldError::required(
            &target_path.child("averageValue"),
            "must set either a target value or averageValue",
        ));
    }
    match (src.target.type_.as_str(), parsed.value, parsed.average_value) {
        ("Value", Some(v), _) => Ok(Target::Value(v)),
        ("AverageValue", _, Some(v)) => Ok(Target::AverageValue(v)),
        _ => Err(FieldError::invalid(
            &target_path.child("type"),
            go_quote(&src.target.type_),
            "the controller reads only type Value with value or type AverageValue with averageValue \
             (upstream accepts this spec, then fails the metric on every reconcile: invalid object \
             metric source: neither a value target nor an average value target was set)",
        )),
    }
}

/// `validateExternalSource`; the controller reads `averageValue` first, then `value`.
fn external_source(check: &mut Check, src: &api::ExternalMetricSource, path: &Path) -> Resolved {
    metric_identifier(check, &src.metric, &path.child("metric"));
    let target_path = path.child("target");
    let parsed = metric_target(check, &src.target, &target_path);
    if src.target.value.is_none() && src.target.average_value.is_none() {
        check.push(FieldError::required(
            &target_path.child("averageValue"),
            "must set either a target value for metric or a per-pod target",
        ));
    }
    if src.target.value.is_some() && src.target.average_value.is_some() {
        check.push(FieldError::forbidden(
            &target_path.child("value"),
            "may not set both a target value for metric and a per-pod target",
        ));
    }
    match (parsed.average_value, parsed.value) {
        (Some(v), _) => Ok(Target::AverageValue(v)),
        (None, Some(v)) => Ok(Target::Value(v)),
        (None, None) => Err(FieldError::invalid(
            &target_path,
            go_quote(&src.target.type_),
            "invalid external metric source: neither a value target nor an average value target was set",
        )),
    }
}

/// `validateMetricIdentifier`. The selector is not validated upstream (see the tests).
fn metric_identifier(check: &mut Check, id: &MetricIdentifier, path: &Path) {
    let name_path = path.child("name");
    if id.name.is_empty() {
        check.push(FieldError::required(&name_path, "must specify a metric name"));
    } else {
        for msg in path_segment_name(&id.name) {
            check.push(FieldError::invalid(&name_path, go_quote(&id.name), msg));
        }
    }
}

/// Which `behavior` direction a set of rules belongs to.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Direction {
    Up,
    Down,
}

/// One direction's rules, defaulted, validated and resolved.
#[derive(Debug)]
struct ResolvedRules {
    /// `None` when the direction has errors.
    rules: Option<ScalingRules>,
    /// The per-HPA tolerance, when set, valid and the gate is on.
    tolerance: Option<f64>,
}

/// `GenerateHPAScaleUpRules` / `GenerateHPAScaleDownRules` (set fields replace defaults field by
/// field; `policies: []` replaces them too, `policies` unset does not), then `validateScalingRules`,
/// then the controller's scale-down window substitution.
fn scaling_rules(
    check: &mut Check,
    spec: Option<&api::HPAScalingRules>,
    direction: Direction,
    cfg: &ControllerConfig,
    path: &Path,
) -> ResolvedRules {
    let before = check.len();
    let default_policies = match direction {
        Direction::Up => vec![
            api::HPAScalingPolicy {
                type_: "Pods".to_owned(),
                value: 4,
                period_seconds: 15,
            },
            api::HPAScalingPolicy {
                type_: "Percent".to_owned(),
                value: 100,
                period_seconds: 15,
            },
        ],
        Direction::Down => {
            vec![api::HPAScalingPolicy {
                type_: "Percent".to_owned(),
                value: 100,
                period_seconds: 15,
            }]
        }
    };
    let window = spec
        .and_then(|s| s.stabilization_window_seconds)
        .or(match direction {
            Direction::Up => Some(0),
            // Upstream leaves it nil; the controller fills in its flag (maybeInitScaleDownStabilizationWindow).
            Direction::Down => None,
        });
    let select = spec.and_then(|s| s.select_policy.as_deref()).unwrap_or("Max");
    let policies = spec
        .and_then(|s| s.policies.as_ref())
        .unwrap_or(&default_policies);
    // With the gate off the API server drops the field before validation (dropDisabledFields).
    let tolerance = if cfg.configurable_tolerance {
        spec.and_then(|s| s.tolerance.as_ref())
    } else {
        None
    };

    let window_path = path.child("stabilizationWindowSeconds");
    if let Some(w) = window {
        if w < 0 {
            check.push(FieldError::invalid(
                &window_path,
                w.to_string(),
                "must be greater than or equal to zero",
            ));
        }
        if w > MAX_STABILIZATION_WINDOW_SECONDS {
            check.push(FieldError::invalid(
                &window_path,
                w.to_string(),
                format!("must be less than or equal to {MAX_STABILIZATION_WINDOW_SECONDS}"),
            ));
        }
    }
    let select_policy = match select {
        "Max" => Some(SelectPolicy::Max),
        "Min" => Some(SelectPolicy::Min),
        "Disabled" => Some(SelectPolicy::Disabled),
        other => {
            check.push(FieldError::not_supported(
                &path.child("selectPolicy"),
                other,
                &SELECT_POLICY_TYPES,
            ));
            None
        }
    };
    let policies_path = path.child("policies");
    if policies.is_empty() {
        check.push(FieldError::required(
            &policies_path,
            "must specify at least one Policy",
        ));
    }
    let mut resolved_policies = Vec::with_capacity(policies.len());
    for (i, p) in policies.iter().enumerate() {
        if let Some(p) = scaling_policy(check, p, &policies_path.index(i)) {
            resolved_policies.push(p);
        }
    }
    let mut tolerance_value = None;
    if let Some(q) = tolerance {
        let tolerance_path = path.child("tolerance");
        if let Some(parsed) = parse_quantity(check, q, &tolerance_path) {
            if parsed.sign() < 0 {
                check.push(FieldError::invalid(
                    &tolerance_path,
                    go_quote(&q.0),
                    "must be greater than or equal to 0",
                ));
            } else {
                tolerance_value = Some(parsed.as_approximate_f64());
            }
        }
    }

    if check.len() != before {
        return ResolvedRules {
            rules: None,
            tolerance: None,
        };
    }
    let stabilization_window_seconds = match window {
        Some(w) => w,
        // int32(d.Seconds()): whole seconds, truncated.
        None => {
            let secs = cfg
                .downscale_stabilization
                .as_secs()
                .clamp(i64::from(i32::MIN), i64::from(i32::MAX));
            // Infallible after the clamp.
            i32::try_from(secs).unwrap_or(i32::MAX)
        }
    };
    ResolvedRules {
        rules: select_policy.map(|select_policy| ScalingRules {
            stabilization_window_seconds,
            select_policy,
            policies: resolved_policies,
        }),
        tolerance: tolerance_value,
    }
}

/// `validateScalingPolicy`.
fn scaling_policy(check: &mut Check, p: &api::HPAScalingPolicy, path: &Path) -> Option<ScalingPolicy> {
    let kind = match p.type_.as_str() {
        "Pods" => Some(PolicyKind::Pods),
        "Percent" => Some(PolicyKind::Percent),
        other => {
            check.push(FieldError::not_supported(
                &path.child("type"),
                other,
                &POLICY_TYPES,
            ));
            None
        }
    };
    let mut ok = true;
    if p.value <= 0 {
        check.push(FieldError::invalid(
            &path.child("value"),
            p.value.to_string(),
            "must be greater than zero",
        ));
        ok = false;
    }
    let period_path = path.child("periodSeconds");
    if p.period_seconds <= 0 {
        check.push(FieldError::invalid(
            &period_path,
            p.period_seconds.to_string(),
            "must be greater than zero",
        ));
        ok = false;
    }
    if p.period_seconds > MAX_PERIOD_SECONDS {
        check.push(FieldError::invalid(
            &period_path,
            p.period_seconds.to_string(),
            format!("must be less than or equal to {MAX_PERIOD_SECONDS}"),
        ));
        ok = false;
    }
    let kind = kind.filter(|_| ok)?;
    Some(ScalingPolicy {
        kind,
        value: p.value,
        period_seconds: p.period_seconds,
    })
}

/// `helper.IsStandardResourceName` (single-segment names only reach it).
fn is_standard_resource_name(name: &str) -> bool {
    const STANDARD: [&str; 18] = [
        "cpu",
        "memory",
        "ephemeral-storage",
        "requests.cpu",
        "requests.memory",
        "requests.ephemeral-storage",
        "limits.cpu",
        "limits.memory",
        "limits.ephemeral-storage",
        "pods",
        "resourcequotas",
        "services",
        "replicationcontrollers",
        "secrets",
        "persistentvolumeclaims",
        "configmaps",
        "services.nodeports",
        "services.loadbalancers",
    ];
    STANDARD.contains(&name) || name.starts_with("hugepages-") || name.starts_with("requests.hugepages-")
}

/// `helper.IsStandardContainerResourceName`.
fn is_standard_container_resource_name(name: &str) -> bool {
    matches!(name, "cpu" | "memory" | "ephemeral-storage") || name.starts_with("hugepages-")
}

/// `helper.IsNativeResource`: no domain, or a `kubernetes.io/` one.
fn is_native_resource(name: &str) -> bool {
    !name.contains('/') || name.contains("kubernetes.io/")
}

/// `helper.IsExtendedResourceName`.
fn is_extended_resource_name(name: &str) -> bool {
    if is_native_resource(name) || name.starts_with("requests.") {
        return false;
    }
    is_qualified_name(&format!("requests.{name}")).is_empty()
}

/// `ValidateContainerResourceName` (core/v1 validation).
fn container_resource_name(value: &str) -> Vec<String> {
    let mut errs = is_qualified_name(value);
    if errs.is_empty() && !value.contains('/') && !is_standard_resource_name(value) {
        errs.push("must be a standard resource type or fully qualified".to_owned());
    }
    if !value.contains('/') {
        if !is_standard_container_resource_name(value) {
            errs.push("must be a standard resource for containers".to_owned());
        }
    } else if !is_native_resource(value) && !is_extended_resource_name(value) {
        errs.push("doesn't follow extended resource name standard".to_owned());
    }
    errs
}
