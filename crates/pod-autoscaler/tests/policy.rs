//! `HpaPolicy::from_spec`: API validation (upstream `pkg/apis/autoscaling/validation`, 1.36), API
//! defaulting (`pkg/apis/autoscaling/v2/defaults.go`), the registry strategy's tolerance drop, and the
//! controller's reading of targets and its substitutions.
//!
//! Specs are written as JSON over a valid base (`scaleTargetRef` apps/v1 Deployment `web`,
//! `maxReplicas: 10`); a `null` in the override removes a base key.

#![allow(
    clippy::expect_used,
    reason = "test helpers: a malformed fixture must fail loudly"
)]

use jiff::SignedDuration;
use k8s_openapi::api::autoscaling::v2::{CrossVersionObjectReference, HorizontalPodAutoscalerSpec};
use proptest::prelude::*;
use serde_json::{Value, json};
use swell_pod_autoscaler::policy::{
    BehaviorPolicy, ControllerConfig, FieldError, FieldErrorKind, HpaPolicy, MetricPolicy, MetricSource,
    PolicyError, PolicyKind, ScalingPolicy, ScalingRules, SelectPolicy, Target, Tolerances,
};

use FieldErrorKind::{Forbidden, Invalid, NotSupported, Required};

// ---- builders ----

fn spec(overrides: Value) -> HorizontalPodAutoscalerSpec {
    let mut base = json!({
        "scaleTargetRef": {"apiVersion": "apps/v1", "kind": "Deployment", "name": "web"},
        "maxReplicas": 10,
    });
    let base_map = base.as_object_mut().expect("base is an object");
    for (key, value) in overrides.as_object().expect("overrides are an object") {
        if value.is_null() {
            base_map.remove(key);
        } else {
            base_map.insert(key.clone(), value.clone());
        }
    }
    serde_json::from_value(base).expect("a well-formed HorizontalPodAutoscalerSpec")
}

fn cfg() -> ControllerConfig {
    ControllerConfig::default()
}

fn cfg_with(f: impl FnOnce(&mut ControllerConfig)) -> ControllerConfig {
    let mut c = cfg();
    f(&mut c);
    c
}

fn web() -> CrossVersionObjectReference {
    CrossVersionObjectReference {
        api_version: Some("apps/v1".to_owned()),
        kind: "Deployment".to_owned(),
        name: "web".to_owned(),
    }
}

fn cpu(target: Target) -> MetricPolicy {
    MetricPolicy {
        source: MetricSource::Resource {
            name: "cpu".to_owned(),
        },
        target,
    }
}

fn policy(kind: PolicyKind, value: i32, period_seconds: i32) -> ScalingPolicy {
    ScalingPolicy {
        kind,
        value,
        period_seconds,
    }
}

fn default_scale_up() -> ScalingRules {
    ScalingRules {
        stabilization_window_seconds: 0,
        select_policy: SelectPolicy::Max,
        policies: vec![
            policy(PolicyKind::Pods, 4, 15),
            policy(PolicyKind::Percent, 100, 15),
        ],
    }
}

fn default_scale_down() -> ScalingRules {
    ScalingRules {
        stabilization_window_seconds: 300,
        select_policy: SelectPolicy::Max,
        policies: vec![policy(PolicyKind::Percent, 100, 15)],
    }
}

fn default_behavior() -> BehaviorPolicy {
    BehaviorPolicy {
        scale_up: default_scale_up(),
        scale_down: default_scale_down(),
    }
}

/// What a minimal spec becomes.
fn base_policy() -> HpaPolicy {
    HpaPolicy {
        scale_target_ref: web(),
        min_replicas: 1,
        max_replicas: 10,
        metrics: vec![cpu(Target::Utilization(80))],
        behavior: None,
        tolerances: Tolerances::symmetric(0.1),
    }
}

fn with(f: impl FnOnce(&mut HpaPolicy)) -> HpaPolicy {
    let mut p = base_policy();
    f(&mut p);
    p
}

fn with_behavior(f: impl FnOnce(&mut BehaviorPolicy)) -> HpaPolicy {
    with(|p| {
        let mut b = default_behavior();
        f(&mut b);
        p.behavior = Some(b);
    })
}

fn external_metric(target: Value) -> Value {
    json!({"type": "External", "external": {"metric": {"name": "queue_depth"}, "target": target}})
}

fn object_metric(target: Value) -> Value {
    json!({"type": "Object", "object": {
        "describedObject": {"apiVersion": "networking.k8s.io/v1", "kind": "Ingress", "name": "main"},
        "metric": {"name": "requests_per_second"},
        "target": target,
    }})
}

/// `v` with the value at the JSON pointer `pointer` set (its parent must exist).
fn set(mut v: Value, pointer: &str, new: Value) -> Value {
    let (parent, key) = pointer.rsplit_once('/').expect("a JSON pointer");
    let parent = v
        .pointer_mut(parent)
        .and_then(Value::as_object_mut)
        .expect("the parent is an object");
    parent.insert(key.to_owned(), new);
    v
}

fn run(spec: &HorizontalPodAutoscalerSpec, cfg: &ControllerConfig) -> Result<HpaPolicy, PolicyError> {
    HpaPolicy::from_spec(spec, cfg)
}

// ---- accepted specs: defaulting and the controller's reading ----

struct OkCase {
    name: &'static str,
    spec: HorizontalPodAutoscalerSpec,
    cfg: ControllerConfig,
    want: HpaPolicy,
}

#[test]
fn accepted_specs_are_defaulted_like_the_api_server_and_the_controller() {
    let cases = [
        OkCase {
            name: "a minimal spec gets minReplicas 1, the cpu 80% metric, no behavior and the flag tolerance",
            spec: spec(json!({})),
            cfg: cfg(),
            want: base_policy(),
        },
        OkCase {
            name: "an explicit minReplicas is kept",
            spec: spec(json!({"minReplicas": 3})),
            cfg: cfg(),
            want: with(|p| p.min_replicas = 3),
        },
        OkCase {
            name: "minReplicas equal to maxReplicas is accepted",
            spec: spec(json!({"minReplicas": 10})),
            cfg: cfg(),
            want: with(|p| p.min_replicas = 10),
        },
        OkCase {
            name: "an empty metrics list is defaulted like an absent one",
            spec: spec(json!({"metrics": []})),
            cfg: cfg(),
            want: base_policy(),
        },
        OkCase {
            name: "spec metrics replace the default cpu metric and keep spec order",
            spec: spec(json!({"metrics": [
                {"type": "Resource", "resource": {"name": "memory", "target": {"type": "AverageValue", "averageValue": "1Gi"}}},
                {"type": "Resource", "resource": {"name": "cpu", "target": {"type": "Utilization", "averageUtilization": 50}}},
            ]})),
            cfg: cfg(),
            want: with(|p| {
                p.metrics = vec![
                    MetricPolicy {
                        source: MetricSource::Resource {
                            name: "memory".to_owned(),
                        },
                        target: Target::AverageValue(1024 * 1024 * 1024 * 1000),
                    },
                    cpu(Target::Utilization(50)),
                ]
            }),
        },
        OkCase {
            name: "behavior absent stays absent so the legacy normalization path applies",
            spec: spec(json!({"behavior": null})),
            cfg: cfg(),
            want: base_policy(),
        },
        OkCase {
            name: "an empty behavior gets both directions' API defaults and the flag's scale-down window",
            spec: spec(json!({"behavior": {}})),
            cfg: cfg(),
            want: with_behavior(|_| {}),
        },
        OkCase {
            name: "the scale-down window falls back to the downscale-stabilization flag in whole seconds",
            spec: spec(json!({"behavior": {"scaleDown": {"selectPolicy": "Min"}}})),
            cfg: cfg_with(|c| c.downscale_stabilization = SignedDuration::from_millis(90_900)),
            want: with_behavior(|b| {
                b.scale_down.stabilization_window_seconds = 90;
                b.scale_down.select_policy = SelectPolicy::Min;
            }),
        },
        OkCase {
            name: "a scale-down window set in the spec wins over the flag, zero included",
            spec: spec(json!({"behavior": {"scaleDown": {"stabilizationWindowSeconds": 0}}})),
            cfg: cfg(),
            want: with_behavior(|b| b.scale_down.stabilization_window_seconds = 0),
        },
        OkCase {
            name: "a scale-up selectPolicy alone keeps the default scale-up window and policies",
            spec: spec(json!({"behavior": {"scaleUp": {"selectPolicy": "Disabled"}}})),
            cfg: cfg(),
            want: with_behavior(|b| b.scale_up.select_policy = SelectPolicy::Disabled),
        },
        OkCase {
            name: "spec policies replace the whole default list, in spec order",
            spec: spec(json!({"behavior": {"scaleUp": {"policies": [
                {"type": "Percent", "value": 50, "periodSeconds": 60},
            ]}}})),
            cfg: cfg(),
            want: with_behavior(|b| b.scale_up.policies = vec![policy(PolicyKind::Percent, 50, 60)]),
        },
        OkCase {
            name: "scale-down rules alone leave scale-up on its defaults",
            spec: spec(json!({"behavior": {"scaleDown": {
                "stabilizationWindowSeconds": 60,
                "selectPolicy": "Min",
                "policies": [{"type": "Pods", "value": 1, "periodSeconds": 30}, {"type": "Percent", "value": 10, "periodSeconds": 60}],
            }}})),
            cfg: cfg(),
            want: with_behavior(|b| {
                b.scale_down = ScalingRules {
                    stabilization_window_seconds: 60,
                    select_policy: SelectPolicy::Min,
                    policies: vec![
                        policy(PolicyKind::Pods, 1, 30),
                        policy(PolicyKind::Percent, 10, 60),
                    ],
                }
            }),
        },
        OkCase {
            name: "a window of 3600 s and a period of 1800 s are the largest accepted",
            spec: spec(json!({"behavior": {"scaleUp": {
                "stabilizationWindowSeconds": 3600,
                "policies": [{"type": "Pods", "value": 1, "periodSeconds": 1800}],
            }}})),
            cfg: cfg(),
            want: with_behavior(|b| {
                b.scale_up.stabilization_window_seconds = 3600;
                b.scale_up.policies = vec![policy(PolicyKind::Pods, 1, 1800)];
            }),
        },
        OkCase {
            name: "the tolerance flag applies to both directions when behavior is unset",
            spec: spec(json!({})),
            cfg: cfg_with(|c| c.tolerance = 0.25),
            want: with(|p| p.tolerances = Tolerances::symmetric(0.25)),
        },
        OkCase {
            name: "per-direction tolerances override the flag when the gate is on",
            spec: spec(json!({"behavior": {
                "scaleUp": {"tolerance": "0.5"},
                "scaleDown": {"tolerance": "250m"},
            }})),
            cfg: cfg(),
            want: with_behavior(|_| {}).tap(|p| {
                p.tolerances = Tolerances {
                    scale_up: 0.5,
                    scale_down: 0.25,
                }
            }),
        },
        OkCase {
            name: "a tolerance set on one direction leaves the other on the flag",
            spec: spec(json!({"behavior": {"scaleDown": {"tolerance": "0"}}})),
            cfg: cfg(),
            want: with_behavior(|_| {}).tap(|p| {
                p.tolerances = Tolerances {
                    scale_up: 0.1,
                    scale_down: 0.0,
                }
            }),
        },
        OkCase {
            name: "with the tolerance gate off tolerances are dropped, even a negative one",
            spec: spec(json!({"behavior": {
                "scaleUp": {"tolerance": "-1"},
                "scaleDown": {"tolerance": "0.5"},
            }})),
            cfg: cfg_with(|c| c.configurable_tolerance = false),
            want: with_behavior(|_| {}),
        },
        OkCase {
            name: "with scale to zero on, minReplicas 0 with an External metric is accepted",
            spec: spec(
                json!({"minReplicas": 0, "metrics": [external_metric(json!({"type": "Value", "value": "100"}))]}),
            ),
            cfg: cfg_with(|c| c.scale_to_zero = true),
            want: with(|p| {
                p.min_replicas = 0;
                p.metrics = vec![MetricPolicy {
                    source: MetricSource::External {
                        metric: serde_json::from_value(json!({"name": "queue_depth"})).expect("identifier"),
                    },
                    target: Target::Value(100_000),
                }];
            }),
        },
        OkCase {
            name: "a ReplicationController target may omit the API group",
            spec: spec(
                json!({"scaleTargetRef": {"apiVersion": "v1", "kind": "ReplicationController", "name": "rc"}}),
            ),
            cfg: cfg(),
            want: with(|p| {
                p.scale_target_ref = CrossVersionObjectReference {
                    api_version: Some("v1".to_owned()),
                    kind: "ReplicationController".to_owned(),
                    name: "rc".to_owned(),
                }
            }),
        },
        OkCase {
            name: "an Object metric may describe a core-group object",
            spec: spec(json!({"metrics": [{"type": "Object", "object": {
                "describedObject": {"apiVersion": "v1", "kind": "Service", "name": "front"},
                "metric": {"name": "rps"},
                "target": {"type": "Value", "value": "10"},
            }}]})),
            cfg: cfg(),
            want: with(|p| {
                p.metrics = vec![MetricPolicy {
                    source: MetricSource::Object {
                        described_object: CrossVersionObjectReference {
                            api_version: Some("v1".to_owned()),
                            kind: "Service".to_owned(),
                            name: "front".to_owned(),
                        },
                        metric: serde_json::from_value(json!({"name": "rps"})).expect("identifier"),
                    },
                    target: Target::Value(10_000),
                }]
            }),
        },
        OkCase {
            name: "ContainerResource accepts hugepages and vendor-prefixed extended resources",
            spec: spec(json!({"metrics": [
                {"type": "ContainerResource", "containerResource": {"name": "hugepages-2Mi", "container": "app", "target": {"type": "AverageValue", "averageValue": "1"}}},
                {"type": "ContainerResource", "containerResource": {"name": "example.com/gpu", "container": "app", "target": {"type": "AverageValue", "averageValue": "1"}}},
            ]})),
            cfg: cfg(),
            want: with(|p| {
                p.metrics = ["hugepages-2Mi", "example.com/gpu"]
                    .map(|name| MetricPolicy {
                        source: MetricSource::ContainerResource {
                            name: name.to_owned(),
                            container: "app".to_owned(),
                        },
                        target: Target::AverageValue(1000),
                    })
                    .to_vec()
            }),
        },
        OkCase {
            name: "upstream is lax: a metric selector with an unknown operator is accepted (the controller fails the metric at fetch time)",
            spec: spec(json!({"metrics": [set(
                external_metric(json!({"type": "AverageValue", "averageValue": "5"})),
                "/external/metric/selector",
                json!({"matchExpressions": [{"key": "queue", "operator": "Near", "values": ["a"]}]}),
            )]})),
            cfg: cfg(),
            want: with(|p| {
                p.metrics = vec![MetricPolicy {
                    source: MetricSource::External {
                        metric: serde_json::from_value(json!({"name": "queue_depth", "selector": {"matchExpressions": [{"key": "queue", "operator": "Near", "values": ["a"]}]}}))
                            .expect("identifier"),
                    },
                    target: Target::AverageValue(5000),
                }]
            }),
        },
        OkCase {
            name: "upstream is lax: a Resource metric's name is not checked, unlike a ContainerResource's",
            spec: spec(
                json!({"metrics": [{"type": "Resource", "resource": {"name": "gpu", "target": {"type": "Utilization", "averageUtilization": 70}}}]}),
            ),
            cfg: cfg(),
            want: with(|p| {
                p.metrics = vec![MetricPolicy {
                    source: MetricSource::Resource {
                        name: "gpu".to_owned(),
                    },
                    target: Target::Utilization(70),
                }]
            }),
        },
        OkCase {
            name: "upstream is lax: a Resource target of type Value is accepted and read as the utilization it carries",
            spec: spec(
                json!({"metrics": [{"type": "Resource", "resource": {"name": "cpu", "target": {"type": "Value", "averageUtilization": 60}}}]}),
            ),
            cfg: cfg(),
            want: with(|p| p.metrics = vec![cpu(Target::Utilization(60))]),
        },
    ];
    assert!(cases.len() >= 20);
    for case in cases {
        let got = run(&case.spec, &case.cfg);
        assert_eq!(got.as_ref(), Ok(&case.want), "{}", case.name);
    }
}

/// `tap` on a finished value, to adjust one field of a builder's result inside a table.
trait Tap: Sized {
    fn tap(mut self, f: impl FnOnce(&mut Self)) -> Self {
        f(&mut self);
        self
    }
}
impl Tap for HpaPolicy {}

// ---- target resolution: how the controller reads the fields ----

struct TargetCase {
    name: &'static str,
    metric: Value,
    want: Target,
}

#[test]
fn targets_are_read_the_way_the_controller_reads_them() {
    let resource = |target: Value| json!({"type": "Resource", "resource": {"name": "cpu", "target": target}});
    let cases = [
        TargetCase {
            name: "Resource averageUtilization is a utilization target",
            metric: resource(json!({"type": "Utilization", "averageUtilization": 60})),
            want: Target::Utilization(60),
        },
        TargetCase {
            name: "Resource averageValue is an average value in milli-units",
            metric: resource(json!({"type": "AverageValue", "averageValue": "500m"})),
            want: Target::AverageValue(500),
        },
        TargetCase {
            name: "Resource averageValue is read even when the type says Utilization",
            metric: resource(json!({"type": "Utilization", "averageValue": "2"})),
            want: Target::AverageValue(2000),
        },
        TargetCase {
            name: "ContainerResource averageValue is an average value",
            metric: json!({"type": "ContainerResource", "containerResource": {"name": "memory", "container": "app", "target": {"type": "AverageValue", "averageValue": "1Mi"}}}),
            want: Target::AverageValue(1024 * 1024 * 1000),
        },
        TargetCase {
            name: "Pods averageValue is an average value",
            metric: json!({"type": "Pods", "pods": {"metric": {"name": "rps"}, "target": {"type": "AverageValue", "averageValue": "10"}}}),
            want: Target::AverageValue(10_000),
        },
        TargetCase {
            name: "upstream is lax: Pods with type Utilization is accepted and its averageValue read",
            metric: json!({"type": "Pods", "pods": {"metric": {"name": "rps"}, "target": {"type": "Utilization", "averageValue": "3"}}}),
            want: Target::AverageValue(3000),
        },
        TargetCase {
            name: "Object type Value reads value",
            metric: object_metric(json!({"type": "Value", "value": "2"})),
            want: Target::Value(2000),
        },
        TargetCase {
            name: "Object type AverageValue reads averageValue",
            metric: object_metric(json!({"type": "AverageValue", "averageValue": "0.5"})),
            want: Target::AverageValue(500),
        },
        TargetCase {
            name: "upstream is lax: Object with both value and averageValue is accepted and the type picks",
            metric: object_metric(json!({"type": "AverageValue", "value": "7", "averageValue": "3"})),
            want: Target::AverageValue(3000),
        },
        TargetCase {
            name: "External averageValue is an average value",
            metric: external_metric(json!({"type": "AverageValue", "averageValue": "30"})),
            want: Target::AverageValue(30_000),
        },
        TargetCase {
            name: "External value is a value",
            metric: external_metric(json!({"type": "Value", "value": "1k"})),
            want: Target::Value(1_000_000),
        },
        TargetCase {
            name: "External averageValue is read even when the type says Value",
            metric: external_metric(json!({"type": "Value", "averageValue": "4"})),
            want: Target::AverageValue(4000),
        },
        TargetCase {
            name: "a sub-milli target rounds up like upstream MilliValue",
            metric: external_metric(json!({"type": "Value", "value": "100u"})),
            want: Target::Value(1),
        },
    ];
    for case in cases {
        let got = run(&spec(json!({"metrics": [case.metric]})), &cfg());
        let targets = got.map(|p| p.metrics.into_iter().map(|m| m.target).collect::<Vec<_>>());
        assert_eq!(targets, Ok(vec![case.want]), "{}", case.name);
    }
}

// ---- refused specs: every error, with upstream's field path and words ----

/// A message of `*` matches any message: the quantity parser owns those words.
struct InvalidCase {
    name: &'static str,
    spec: HorizontalPodAutoscalerSpec,
    cfg: ControllerConfig,
    want: &'static [(&'static str, FieldErrorKind, &'static str)],
}

const SCALE_TO_ZERO: &str =
    "must specify at least one Object or External metric to support scaling to zero replicas";
const POPULATE: &str = "must populate information for the given metric source";
const ONLY: &str = "must populate the given metric source only";
const TYPES: &str = r#"supported values: "ContainerResource", "External", "Object", "Pods", "Resource""#;
const MIN_REPLICAS_MSG: &str = "must be greater than or equal to `minReplicas`";
const CONTAINER_LABEL: &str = "a lowercase RFC 1123 label must consist of lower case alphanumeric characters or '-', and must start and end with an alphanumeric character (e.g. 'my-name',  or '123-abc', regex used for validation is '[a-z0-9]([-a-z0-9]*[a-z0-9])?')";
const OBJECT_TYPE: &str = "the controller reads only type Value with value or type AverageValue with averageValue (upstream accepts this spec, then fails the metric on every reconcile: invalid object metric source: neither a value target nor an average value target was set)";

#[test]
fn refused_specs_name_every_invalid_field() {
    let resource = |target: Value| json!({"metrics": [{"type": "Resource", "resource": {"name": "cpu", "target": target}}]});
    let scale_up = |rules: Value| json!({"behavior": {"scaleUp": rules}});
    let cases = [
        // replicas
        InvalidCase {
            name: "minReplicas 0 is refused naming spec.minReplicas when scale to zero is off, and the cpu default is no scale-to-zero metric",
            spec: spec(json!({"minReplicas": 0})),
            cfg: cfg(),
            want: &[
                ("spec.minReplicas", Invalid, "must be greater than or equal to 1"),
                ("spec.metrics", Forbidden, SCALE_TO_ZERO),
            ],
        },
        InvalidCase {
            name: "minReplicas 0 with only a Resource metric is refused even with scale to zero on",
            spec: spec(
                json!({"minReplicas": 0, "metrics": [{"type": "Resource", "resource": {"name": "cpu", "target": {"type": "Utilization", "averageUtilization": 50}}}]}),
            ),
            cfg: cfg_with(|c| c.scale_to_zero = true),
            want: &[("spec.metrics", Forbidden, SCALE_TO_ZERO)],
        },
        InvalidCase {
            name: "a negative minReplicas with scale to zero on is told the lower bound is 0",
            spec: spec(
                json!({"minReplicas": -1, "metrics": [external_metric(json!({"type": "Value", "value": "1"}))]}),
            ),
            cfg: cfg_with(|c| c.scale_to_zero = true),
            want: &[("spec.minReplicas", Invalid, "must be greater than or equal to 0")],
        },
        InvalidCase {
            name: "maxReplicas unset is required and also below the defaulted minReplicas",
            spec: spec(json!({"maxReplicas": null})),
            cfg: cfg(),
            want: &[
                ("spec.maxReplicas", Required, "must be set and greater than 0"),
                ("spec.maxReplicas", Invalid, MIN_REPLICAS_MSG),
            ],
        },
        InvalidCase {
            name: "a negative maxReplicas must be at least 1",
            spec: spec(json!({"maxReplicas": -3})),
            cfg: cfg(),
            want: &[
                ("spec.maxReplicas", Invalid, "must be greater than or equal to 1"),
                ("spec.maxReplicas", Invalid, MIN_REPLICAS_MSG),
            ],
        },
        InvalidCase {
            name: "min replicas above max replicas is refused naming spec.maxReplicas",
            spec: spec(json!({"minReplicas": 5, "maxReplicas": 4})),
            cfg: cfg(),
            want: &[("spec.maxReplicas", Invalid, MIN_REPLICAS_MSG)],
        },
        // scaleTargetRef
        InvalidCase {
            name: "a scaleTargetRef without kind and name requires both",
            spec: spec(json!({"scaleTargetRef": {"apiVersion": "apps/v1"}})),
            cfg: cfg(),
            want: &[
                ("spec.scaleTargetRef.kind", Required, ""),
                ("spec.scaleTargetRef.name", Required, ""),
            ],
        },
        InvalidCase {
            name: "a scaleTargetRef apiVersion without a group is refused for a Deployment",
            spec: spec(json!({"scaleTargetRef": {"apiVersion": "v1", "kind": "Deployment", "name": "web"}})),
            cfg: cfg(),
            want: &[(
                "spec.scaleTargetRef.apiVersion",
                Invalid,
                "apiVersion must specify API group",
            )],
        },
        InvalidCase {
            name: "a scaleTargetRef without apiVersion is refused for a Deployment",
            spec: spec(json!({"scaleTargetRef": {"kind": "Deployment", "name": "web"}})),
            cfg: cfg(),
            want: &[(
                "spec.scaleTargetRef.apiVersion",
                Invalid,
                "apiVersion must specify API group",
            )],
        },
        InvalidCase {
            name: "an apiVersion with two slashes does not parse",
            spec: spec(
                json!({"scaleTargetRef": {"apiVersion": "apps/v1/x", "kind": "Deployment", "name": "web"}}),
            ),
            cfg: cfg(),
            want: &[(
                "spec.scaleTargetRef.apiVersion",
                Invalid,
                "unexpected GroupVersion string: apps/v1/x",
            )],
        },
        InvalidCase {
            name: "kind and name must be path segments",
            spec: spec(json!({"scaleTargetRef": {"apiVersion": "apps/v1", "kind": "a/b%", "name": ".."}})),
            cfg: cfg(),
            want: &[
                ("spec.scaleTargetRef.kind", Invalid, "may not contain '/'"),
                ("spec.scaleTargetRef.kind", Invalid, "may not contain '%'"),
                ("spec.scaleTargetRef.name", Invalid, "may not be '..'"),
            ],
        },
        // metric source types
        InvalidCase {
            name: "an unknown metric type is refused naming spec.metrics[i].type",
            spec: spec(json!({"metrics": [
                {"type": "Resource", "resource": {"name": "cpu", "target": {"type": "Utilization", "averageUtilization": 50}}},
                {"type": "Prometheus", "resource": {"name": "cpu", "target": {"type": "Utilization", "averageUtilization": 50}}},
            ]})),
            cfg: cfg(),
            want: &[("spec.metrics[1].type", NotSupported, TYPES)],
        },
        InvalidCase {
            name: "an empty metric type is required and unsupported",
            spec: spec(
                json!({"metrics": [{"resource": {"name": "cpu", "target": {"type": "Utilization", "averageUtilization": 50}}}]}),
            ),
            cfg: cfg(),
            want: &[
                (
                    "spec.metrics[0].type",
                    Required,
                    "must specify a metric source type",
                ),
                ("spec.metrics[0].type", NotSupported, TYPES),
            ],
        },
        InvalidCase {
            name: "type Pods without a pods source is refused naming spec.metrics[0].pods",
            spec: spec(json!({"metrics": [{"type": "Pods"}]})),
            cfg: cfg(),
            want: &[("spec.metrics[0].pods", Required, POPULATE)],
        },
        InvalidCase {
            name: "a source other than the one the type names is forbidden",
            spec: spec(json!({"metrics": [{
                "type": "Resource",
                "resource": {"name": "cpu", "target": {"type": "Utilization", "averageUtilization": 50}},
                "containerResource": {"name": "cpu", "container": "app", "target": {"type": "Utilization", "averageUtilization": 50}},
            }]})),
            cfg: cfg(),
            want: &[("spec.metrics[0].containerResource", Forbidden, ONLY)],
        },
        InvalidCase {
            name: "with two sources upstream validates the first in its fixed order, not the one the type names",
            spec: spec(json!({"metrics": [{
                "type": "Resource",
                "resource": {"name": "", "target": {"type": "Utilization", "averageUtilization": 0}},
                "pods": {"metric": {"name": ""}, "target": {"type": "AverageValue", "averageValue": "1"}},
            }]})),
            cfg: cfg(),
            want: &[
                (
                    "spec.metrics[0].pods.metric.name",
                    Required,
                    "must specify a metric name",
                ),
                ("spec.metrics[0].pods", Forbidden, ONLY),
            ],
        },
        // Resource and ContainerResource
        InvalidCase {
            name: "a Resource metric needs a resource name",
            spec: spec(
                json!({"metrics": [{"type": "Resource", "resource": {"name": "", "target": {"type": "Utilization", "averageUtilization": 50}}}]}),
            ),
            cfg: cfg(),
            want: &[(
                "spec.metrics[0].resource.name",
                Required,
                "must specify a resource name",
            )],
        },
        InvalidCase {
            name: "a Resource target needs a utilization or an average value",
            spec: spec(resource(json!({"type": "Utilization"}))),
            cfg: cfg(),
            want: &[(
                "spec.metrics[0].resource.target.averageUtilization",
                Required,
                "must set either a target raw value or a target utilization",
            )],
        },
        InvalidCase {
            name: "a Resource target may not set both a utilization and an average value",
            spec: spec(resource(
                json!({"type": "Utilization", "averageUtilization": 50, "averageValue": "100m"}),
            )),
            cfg: cfg(),
            want: &[(
                "spec.metrics[0].resource.target.averageValue",
                Forbidden,
                "may not set both a target raw value and a target utilization",
            )],
        },
        InvalidCase {
            name: "averageUtilization must be at least 1",
            spec: spec(resource(json!({"type": "Utilization", "averageUtilization": 0}))),
            cfg: cfg(),
            want: &[(
                "spec.metrics[0].resource.target.averageUtilization",
                Invalid,
                "must be greater than 0",
            )],
        },
        InvalidCase {
            name: "a target type is required and must be one of Utilization, Value, AverageValue",
            spec: spec(json!({"metrics": [
                {"type": "Resource", "resource": {"name": "cpu", "target": {"averageUtilization": 50}}},
                {"type": "Resource", "resource": {"name": "cpu", "target": {"type": "Percent", "averageUtilization": 50}}},
            ]})),
            cfg: cfg(),
            want: &[
                (
                    "spec.metrics[0].resource.target.type",
                    Required,
                    "must specify a metric target type",
                ),
                (
                    "spec.metrics[0].resource.target.type",
                    Invalid,
                    "must be either Utilization, Value, or AverageValue",
                ),
                (
                    "spec.metrics[1].resource.target.type",
                    Invalid,
                    "must be either Utilization, Value, or AverageValue",
                ),
            ],
        },
        InvalidCase {
            name: "target quantities must be positive: zero and negative are refused",
            spec: spec(json!({"metrics": [
                {"type": "Resource", "resource": {"name": "cpu", "target": {"type": "AverageValue", "averageValue": "0"}}},
                external_metric(json!({"type": "Value", "value": "-1"})),
            ]})),
            cfg: cfg(),
            want: &[
                (
                    "spec.metrics[0].resource.target.averageValue",
                    Invalid,
                    "must be positive",
                ),
                (
                    "spec.metrics[1].external.target.value",
                    Invalid,
                    "must be positive",
                ),
            ],
        },
        InvalidCase {
            name: "an unparsable quantity is refused naming its field",
            spec: spec(json!({"metrics": [external_metric(json!({"type": "Value", "value": "lots"}))]})),
            cfg: cfg(),
            want: &[("spec.metrics[0].external.target.value", Invalid, "*")],
        },
        InvalidCase {
            name: "a ContainerResource metric needs a container",
            spec: spec(
                json!({"metrics": [{"type": "ContainerResource", "containerResource": {"name": "cpu", "container": "", "target": {"type": "Utilization", "averageUtilization": 50}}}]}),
            ),
            cfg: cfg(),
            want: &[(
                "spec.metrics[0].containerResource.container",
                Required,
                "must specify a container",
            )],
        },
        InvalidCase {
            name: "a ContainerResource container must be a DNS-1123 label",
            spec: spec(json!({"metrics": [
                {"type": "ContainerResource", "containerResource": {"name": "cpu", "container": "App_1", "target": {"type": "Utilization", "averageUtilization": 50}}},
                {"type": "ContainerResource", "containerResource": {"name": "cpu", "container": "a.b", "target": {"type": "Utilization", "averageUtilization": 50}}},
            ]})),
            cfg: cfg(),
            want: &[
                (
                    "spec.metrics[0].containerResource.container",
                    Invalid,
                    CONTAINER_LABEL,
                ),
                (
                    "spec.metrics[1].containerResource.container",
                    Invalid,
                    "must not contain dots",
                ),
            ],
        },
        InvalidCase {
            name: "a ContainerResource name must be a standard container resource or extended resource",
            spec: spec(json!({"metrics": [
                {"type": "ContainerResource", "containerResource": {"name": "gpu", "container": "app", "target": {"type": "AverageValue", "averageValue": "1"}}},
                {"type": "ContainerResource", "containerResource": {"name": "pods", "container": "app", "target": {"type": "AverageValue", "averageValue": "1"}}},
                {"type": "ContainerResource", "containerResource": {"name": "requests.example.com/gpu", "container": "app", "target": {"type": "AverageValue", "averageValue": "1"}}},
            ]})),
            cfg: cfg(),
            want: &[
                (
                    "spec.metrics[0].containerResource.name",
                    Invalid,
                    "must be a standard resource type or fully qualified",
                ),
                (
                    "spec.metrics[0].containerResource.name",
                    Invalid,
                    "must be a standard resource for containers",
                ),
                (
                    "spec.metrics[1].containerResource.name",
                    Invalid,
                    "must be a standard resource for containers",
                ),
                (
                    "spec.metrics[2].containerResource.name",
                    Invalid,
                    "doesn't follow extended resource name standard",
                ),
            ],
        },
        // Pods, Object, External
        InvalidCase {
            name: "a Pods metric needs an averageValue",
            spec: spec(
                json!({"metrics": [{"type": "Pods", "pods": {"metric": {"name": "rps"}, "target": {"type": "Value", "value": "10"}}}]}),
            ),
            cfg: cfg(),
            want: &[(
                "spec.metrics[0].pods.target.averageValue",
                Required,
                "must specify a positive target averageValue",
            )],
        },
        InvalidCase {
            name: "a metric name is required and must be a path segment",
            spec: spec(json!({"metrics": [
                set(external_metric(json!({"type": "Value", "value": "1"})), "/external/metric/name", json!("")),
                set(external_metric(json!({"type": "Value", "value": "1"})), "/external/metric/name", json!("jobs/s")),
            ]})),
            cfg: cfg(),
            want: &[
                (
                    "spec.metrics[0].external.metric.name",
                    Required,
                    "must specify a metric name",
                ),
                (
                    "spec.metrics[1].external.metric.name",
                    Invalid,
                    "may not contain '/'",
                ),
            ],
        },
        InvalidCase {
            name: "an Object describedObject needs kind and name but may omit the group",
            spec: spec(json!({"metrics": [set(
                object_metric(json!({"type": "Value", "value": "1"})),
                "/object/describedObject",
                json!({"apiVersion": "a/b/c"}),
            )]})),
            cfg: cfg(),
            want: &[
                ("spec.metrics[0].object.describedObject.kind", Required, ""),
                ("spec.metrics[0].object.describedObject.name", Required, ""),
                (
                    "spec.metrics[0].object.describedObject.apiVersion",
                    Invalid,
                    "unexpected GroupVersion string: a/b/c",
                ),
            ],
        },
        InvalidCase {
            name: "an Object target needs a value or an averageValue",
            spec: spec(json!({"metrics": [object_metric(json!({"type": "Value"}))]})),
            cfg: cfg(),
            want: &[(
                "spec.metrics[0].object.target.averageValue",
                Required,
                "must set either a target value or averageValue",
            )],
        },
        InvalidCase {
            name: "an External target needs a value or an averageValue",
            spec: spec(json!({"metrics": [external_metric(json!({"type": "AverageValue"}))]})),
            cfg: cfg(),
            want: &[(
                "spec.metrics[0].external.target.averageValue",
                Required,
                "must set either a target value for metric or a per-pod target",
            )],
        },
        InvalidCase {
            name: "an External target may not set both a value and an averageValue",
            spec: spec(
                json!({"metrics": [external_metric(json!({"type": "Value", "value": "1", "averageValue": "1"}))]}),
            ),
            cfg: cfg(),
            want: &[(
                "spec.metrics[0].external.target.value",
                Forbidden,
                "may not set both a target value for metric and a per-pod target",
            )],
        },
        InvalidCase {
            name: "beyond the API server: an Object target of type Utilization is one the controller cannot read",
            spec: spec(json!({"metrics": [object_metric(json!({"type": "Utilization", "value": "1"}))]})),
            cfg: cfg(),
            want: &[("spec.metrics[0].object.target.type", Invalid, OBJECT_TYPE)],
        },
        InvalidCase {
            name: "beyond the API server: an Object target of type Value with only an averageValue is one the controller cannot read",
            spec: spec(json!({"metrics": [object_metric(json!({"type": "Value", "averageValue": "1"}))]})),
            cfg: cfg(),
            want: &[("spec.metrics[0].object.target.type", Invalid, OBJECT_TYPE)],
        },
        // behavior
        InvalidCase {
            name: "stabilization windows must lie within 0..=3600",
            spec: spec(json!({"behavior": {
                "scaleUp": {"stabilizationWindowSeconds": -1},
                "scaleDown": {"stabilizationWindowSeconds": 3601},
            }})),
            cfg: cfg(),
            want: &[
                (
                    "spec.behavior.scaleUp.stabilizationWindowSeconds",
                    Invalid,
                    "must be greater than or equal to zero",
                ),
                (
                    "spec.behavior.scaleDown.stabilizationWindowSeconds",
                    Invalid,
                    "must be less than or equal to 3600",
                ),
            ],
        },
        InvalidCase {
            name: "selectPolicy must be Max, Min or Disabled",
            spec: spec(scale_up(json!({"selectPolicy": "Average"}))),
            cfg: cfg(),
            want: &[(
                "spec.behavior.scaleUp.selectPolicy",
                NotSupported,
                r#"supported values: "Disabled", "Max", "Min""#,
            )],
        },
        InvalidCase {
            name: "an explicitly empty policies list is refused (only an absent one is defaulted)",
            spec: spec(json!({"behavior": {"scaleDown": {"policies": []}}})),
            cfg: cfg(),
            want: &[(
                "spec.behavior.scaleDown.policies",
                Required,
                "must specify at least one Policy",
            )],
        },
        InvalidCase {
            name: "each policy needs a known type, a positive value and a period within 1..=1800",
            spec: spec(scale_up(json!({"policies": [
                {"type": "Replicas", "value": 0, "periodSeconds": 0},
                {"type": "Pods", "value": -1, "periodSeconds": 1801},
            ]}))),
            cfg: cfg(),
            want: &[
                (
                    "spec.behavior.scaleUp.policies[0].type",
                    NotSupported,
                    r#"supported values: "Percent", "Pods""#,
                ),
                (
                    "spec.behavior.scaleUp.policies[0].value",
                    Invalid,
                    "must be greater than zero",
                ),
                (
                    "spec.behavior.scaleUp.policies[0].periodSeconds",
                    Invalid,
                    "must be greater than zero",
                ),
                (
                    "spec.behavior.scaleUp.policies[1].value",
                    Invalid,
                    "must be greater than zero",
                ),
                (
                    "spec.behavior.scaleUp.policies[1].periodSeconds",
                    Invalid,
                    "must be less than or equal to 1800",
                ),
            ],
        },
        InvalidCase {
            name: "a negative tolerance is refused when the tolerance gate is on",
            spec: spec(json!({"behavior": {"scaleDown": {"tolerance": "-0.001"}}})),
            cfg: cfg(),
            want: &[(
                "spec.behavior.scaleDown.tolerance",
                Invalid,
                "must be greater than or equal to 0",
            )],
        },
        InvalidCase {
            name: "an unparsable tolerance is refused when the tolerance gate is on",
            spec: spec(json!({"behavior": {"scaleUp": {"tolerance": "ten percent"}}})),
            cfg: cfg(),
            want: &[("spec.behavior.scaleUp.tolerance", Invalid, "*")],
        },
        // everything at once
        InvalidCase {
            name: "errors across the whole spec are reported together in upstream's order",
            spec: spec(json!({
                "minReplicas": 4,
                "maxReplicas": 2,
                "scaleTargetRef": {"apiVersion": "apps/v1", "name": "web"},
                "metrics": [
                    {"type": "Pods", "pods": {"metric": {"name": "rps"}, "target": {"type": "AverageValue", "averageValue": "0"}}},
                    {"type": "Unknown"},
                ],
                "behavior": {"scaleUp": {"selectPolicy": "max"}, "scaleDown": {"policies": [{"type": "Percent", "value": 0, "periodSeconds": 15}]}},
            })),
            cfg: cfg(),
            want: &[
                ("spec.maxReplicas", Invalid, MIN_REPLICAS_MSG),
                ("spec.scaleTargetRef.kind", Required, ""),
                (
                    "spec.metrics[0].pods.target.averageValue",
                    Invalid,
                    "must be positive",
                ),
                ("spec.metrics[1].type", NotSupported, TYPES),
                (
                    "spec.behavior.scaleUp.selectPolicy",
                    NotSupported,
                    r#"supported values: "Disabled", "Max", "Min""#,
                ),
                (
                    "spec.behavior.scaleDown.policies[0].value",
                    Invalid,
                    "must be greater than zero",
                ),
            ],
        },
    ];
    assert!(cases.len() >= 30);
    for case in cases {
        let errors = match run(&case.spec, &case.cfg) {
            Ok(policy) => panic!("{}: accepted as {policy:?}", case.name),
            Err(e) => e.errors,
        };
        let got: Vec<(&str, FieldErrorKind, &str)> = errors
            .iter()
            .zip(case.want.iter().map(|w| w.2).chain(std::iter::repeat("")))
            .map(|(e, want_msg)| {
                let msg = if want_msg == "*" { "*" } else { e.message.as_str() };
                (e.field.as_str(), e.kind, msg)
            })
            .collect();
        assert_eq!(got, case.want.to_vec(), "{}", case.name);
        if case.want.iter().any(|w| w.2 == "*") {
            assert!(
                errors.iter().all(|e| !e.message.is_empty()),
                "{}: a parser error says why",
                case.name
            );
        }
    }
}

// ---- how errors read ----

#[test]
fn errors_display_like_the_api_server_joined_by_semicolons() {
    let err = run(
        &spec(json!({
            "minReplicas": 0,
            "scaleTargetRef": {"apiVersion": "apps/v1", "kind": "Deployment"},
            "metrics": [set(external_metric(json!({"type": "Value", "value": "-5"})), "/type", json!("Extern"))],
        })),
        &cfg(),
    )
    .expect_err("invalid");
    assert_eq!(
        err.to_string(),
        "invalid HorizontalPodAutoscaler spec: \
         spec.minReplicas: Invalid value: 0: must be greater than or equal to 1; \
         spec.scaleTargetRef.name: Required value; \
         spec.metrics[0].type: Unsupported value: \"Extern\": supported values: \"ContainerResource\", \"External\", \"Object\", \"Pods\", \"Resource\"; \
         spec.metrics[0].external.target.value: Invalid value: \"-5\": must be positive; \
         spec.metrics: Forbidden: must specify at least one Object or External metric to support scaling to zero replicas"
    );
    assert!(!err.is_retryable());
}

#[test]
fn a_field_error_carries_the_offending_value_apart_from_the_message() {
    let err = run(&spec(json!({"minReplicas": 7, "maxReplicas": 3})), &cfg()).expect_err("invalid");
    assert_eq!(
        err.errors,
        vec![FieldError {
            field: "spec.maxReplicas".to_owned(),
            kind: Invalid,
            value: Some("3".to_owned()),
            message: MIN_REPLICAS_MSG.to_owned(),
        }]
    );
    let round_trip: FieldError =
        serde_json::from_value(serde_json::to_value(&err.errors[0]).expect("serialize"))
            .expect("deserialize");
    assert_eq!(round_trip, err.errors[0]);
}

// ---- invariants ----

proptest! {
    #[test]
    fn replica_bounds_are_accepted_exactly_when_upstream_accepts_them(
        min in proptest::option::of(-3i32..6),
        max in -3i32..6,
        scale_to_zero in any::<bool>(),
    ) {
        let metrics = json!([external_metric(json!({"type": "Value", "value": "1"}))]);
        let spec = spec(json!({"minReplicas": min, "maxReplicas": max, "metrics": metrics}));
        let got = run(&spec, &cfg_with(|c| c.scale_to_zero = scale_to_zero));
        let effective_min = min.unwrap_or(1);
        let floor = if scale_to_zero { 0 } else { 1 };
        let valid = effective_min >= floor && max >= 1 && max >= effective_min;
        prop_assert_eq!(got.is_ok(), valid, "min {:?} max {} gate {}: {:?}", min, max, scale_to_zero, got);
        match got {
            Ok(p) => prop_assert_eq!((p.min_replicas, p.max_replicas), (effective_min, max)),
            Err(e) => prop_assert!(e.errors.iter().all(|f| f.field == "spec.minReplicas" || f.field == "spec.maxReplicas")),
        }
    }

    #[test]
    fn any_window_and_period_is_accepted_exactly_within_upstream_bounds(window in -10i32..3700, period in -10i32..1900) {
        let spec = spec(json!({"behavior": {"scaleDown": {
            "stabilizationWindowSeconds": window,
            "policies": [{"type": "Pods", "value": 1, "periodSeconds": period}],
        }}}));
        let got = run(&spec, &cfg());
        let valid = (0..=3600).contains(&window) && (1..=1800).contains(&period);
        prop_assert_eq!(got.is_ok(), valid);
        if let Ok(p) = got {
            let down = p.behavior.expect("behavior").scale_down;
            prop_assert_eq!(down.stabilization_window_seconds, window);
            prop_assert_eq!(down.policies, vec![policy(PolicyKind::Pods, 1, period)]);
        }
    }
}
