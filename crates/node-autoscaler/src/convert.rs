//! Conversion from the Kubernetes API objects (`k8s-openapi`, v1.36) to the [`crate::model`].
//!
//! The live controller feeds its reflector stores through a [`Converter`] once per loop:
//!
//! ```text
//! k8s Pod        --Converter::pod-------> model::Pod        (requests, scheduling spec, drain facts)
//! k8s Node       --Converter::node------> model::Node       (allocatable, capacity, taints, Ready)
//! k8s PDB        --Converter::pdb-------> model::Pdb        (selector, disruptions allowed)
//! k8s DaemonSet  --Converter::daemonset-> model::DaemonSet  (its pod template's requests and spec)
//! model::Node    --template_from_node---> model::Node       (a sanitized template for a node group)
//! ```
//!
//! The converter interns [`SchedulingSpec`]s: equal specs (the replicas of one workload) come back as
//! the same [`Arc`], so the decision core compares pointers before it compares values. Keep one
//! converter across loops and call [`Converter::prune`] after a snapshot is dropped, so that specs of
//! deleted workloads are freed.
//!
//! Bad input is an error naming the object and the field path, never a panic or a silent default.
//! A pod that does not convert is not in the snapshot: the caller must treat its node as unremovable
//! (something unknown runs there) and report the error (an event on the object), rather than plan
//! around a hole.
//!
//! What the converter cannot know is left for the caller: [`Owner::exists`] and [`Owner::replicas`]
//! are `None`; the caller fills them from its own caches of ReplicaSets, StatefulSets, Jobs and so
//! on, after conversion.

use std::collections::{BTreeMap, HashSet};
use std::sync::Arc;

use jiff::Timestamp;
use k8s_openapi::api::apps::v1::DaemonSet as K8sDaemonSet;
use k8s_openapi::api::core::v1::{
    Container, Node as K8sNode, NodeSelectorRequirement as K8sNodeSelectorRequirement,
    NodeSelectorTerm as K8sNodeSelectorTerm, Pod as K8sPod, PodAffinityTerm as K8sPodAffinityTerm, PodSpec,
};
use k8s_openapi::api::policy::v1::PodDisruptionBudget;
use k8s_openapi::apimachinery::pkg::api::resource::Quantity as ApiQuantity;
use k8s_openapi::apimachinery::pkg::apis::meta::v1::{ObjectMeta, Time};
use swell_core::pod::{self as core_pod, PodResourcesOptions};
use swell_core::quantity::{self, Quantity};
use swell_core::selector::{self, Selector};

use crate::model::{
    self, ANNOTATION_POD_SCALE_UP_DELAY, ANNOTATION_SAFE_TO_EVICT, ANNOTATION_SAFE_TO_EVICT_LOCAL_VOLUMES,
    ANNOTATION_SCALE_DOWN_DISABLED, HostPort, NodeSelectorOperator, NodeSelectorRequirement,
    NodeSelectorTerm, Owner, PodAffinityTerm, SafeToEvict, SchedulingSpec, TAINT_DELETION_CANDIDATE,
    TAINT_TO_BE_DELETED, Taint, TaintEffect, Toleration, TolerationOperator, Volume, VolumeKind,
};
use crate::resources::{self, Resources};

/// Why an API object could not be converted. A retry cannot help: the object has to change.
///
/// Every variant names the object (`pod shop/web-1`, `node ip-10-0-0-1`, ...) and the field path in
/// the API's spelling, so that the message can go straight into an event.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ConvertError {
    /// A field the model needs is absent.
    #[error("{object}: {field}: missing")]
    Missing {
        /// The object, e.g. `pod shop/web-1`.
        object: String,
        /// The field path, e.g. `metadata.creationTimestamp`.
        field: String,
    },
    /// A quantity does not parse, or is negative where the API forbids it.
    #[error("{object}: {field}: {source}")]
    Quantity {
        /// The object.
        object: String,
        /// The field path, e.g. `spec.containers[0].resources.requests[cpu]`.
        field: String,
        /// Why it does not parse.
        #[source]
        source: Box<quantity::Error>,
    },
    /// A label selector is invalid.
    #[error("{object}: {field}: {source}")]
    Selector {
        /// The object.
        object: String,
        /// The field path of the selector.
        field: String,
        /// Why it is invalid.
        #[source]
        source: Box<selector::Error>,
    },
    /// A duration annotation is not a Go duration.
    #[error("{object}: {field}: {source}")]
    Duration {
        /// The object.
        object: String,
        /// The field path, e.g. `metadata.annotations[cluster-autoscaler.kubernetes.io/pod-scale-up-delay]`.
        field: String,
        /// Why it does not parse.
        #[source]
        source: DurationError,
    },
    /// An enumerated field holds a value the API does not define (an operator, an effect, a protocol,
    /// an annotation value).
    #[error("{object}: {field}: unknown value {value:?}, expected {expected}")]
    UnknownValue {
        /// The object.
        object: String,
        /// The field path.
        field: String,
        /// The offending value.
        value: String,
        /// What is allowed there.
        expected: &'static str,
    },
    /// A field is present but breaks a rule of the API (a value count, a range, an empty key).
    #[error("{object}: {field}: {reason}")]
    Invalid {
        /// The object.
        object: String,
        /// The field path.
        field: String,
        /// What is wrong, in lowercase.
        reason: String,
    },
    /// The effective requests could not be computed.
    #[error("{object}: spec: {source}")]
    Requests {
        /// The object.
        object: String,
        /// Why.
        #[source]
        source: Box<core_pod::Error>,
    },
}

impl ConvertError {
    /// The object the error is about, e.g. `pod shop/web-1`.
    pub fn object(&self) -> &str {
        match self {
            ConvertError::Missing { object, .. }
            | ConvertError::Quantity { object, .. }
            | ConvertError::Selector { object, .. }
            | ConvertError::Duration { object, .. }
            | ConvertError::UnknownValue { object, .. }
            | ConvertError::Invalid { object, .. }
            | ConvertError::Requests { object, .. } => object,
        }
    }

    /// The field path the error is about.
    pub fn field(&self) -> &str {
        match self {
            ConvertError::Missing { field, .. }
            | ConvertError::Quantity { field, .. }
            | ConvertError::Selector { field, .. }
            | ConvertError::Duration { field, .. }
            | ConvertError::UnknownValue { field, .. }
            | ConvertError::Invalid { field, .. } => field,
            ConvertError::Requests { .. } => "spec",
        }
    }

    /// Whether converting the same object again can succeed: never, the object has to change.
    pub fn is_retryable(&self) -> bool {
        false
    }
}

/// The result of conversions.
pub type Result<T, E = ConvertError> = std::result::Result<T, E>;

/// Go durations (the `pod-scale-up-delay` annotation) are parsed by the workspace's one parser.
pub use swell_core::duration::{DurationError, parse_go_duration};

/// What the converter reads besides the objects: the cluster's feature gates that change them.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ConvertOptions {
    /// The `PodLevelResources` feature gate: when on, `spec.resources.requests` (cpu, memory,
    /// hugepages) replaces the container sum. On by default since Kubernetes 1.34 (beta), as in 1.36.
    pub pod_level_resources: bool,
}

impl Default for ConvertOptions {
    fn default() -> Self {
        ConvertOptions {
            pod_level_resources: true,
        }
    }
}

/// Converts API objects to the model, interning the scheduling specs of pods and DaemonSets.
#[derive(Debug, Default)]
pub struct Converter {
    options: ConvertOptions,
    specs: HashSet<Arc<SchedulingSpec>>,
}

/// Where the errors of one object point: its name and the path prefix of its pod spec.
struct Ctx<'a> {
    object: &'a str,
    /// `spec` for a pod, `spec.template.spec` for a DaemonSet.
    spec: &'a str,
}

impl Ctx<'_> {
    fn missing(&self, field: impl Into<String>) -> ConvertError {
        ConvertError::Missing {
            object: self.object.to_owned(),
            field: field.into(),
        }
    }

    fn invalid(&self, field: impl Into<String>, reason: impl Into<String>) -> ConvertError {
        ConvertError::Invalid {
            object: self.object.to_owned(),
            field: field.into(),
            reason: reason.into(),
        }
    }

    fn unknown(&self, field: impl Into<String>, value: &str, expected: &'static str) -> ConvertError {
        ConvertError::UnknownValue {
            object: self.object.to_owned(),
            field: field.into(),
            value: value.to_owned(),
            expected,
        }
    }

    fn selector(&self, field: impl Into<String>, source: selector::Error) -> ConvertError {
        ConvertError::Selector {
            object: self.object.to_owned(),
            field: field.into(),
            source: Box::new(source),
        }
    }

    /// A field path under the pod spec.
    fn at(&self, path: impl std::fmt::Display) -> String {
        format!("{}.{path}", self.spec)
    }
}

impl Converter {
    /// A converter with the default options.
    pub fn new() -> Converter {
        Converter::default()
    }

    /// A converter with the given options.
    pub fn with_options(options: ConvertOptions) -> Converter {
        Converter {
            options,
            specs: HashSet::new(),
        }
    }

    /// The options in use.
    pub fn options(&self) -> ConvertOptions {
        self.options
    }

    /// How many distinct scheduling specs the converter holds.
    pub fn interned(&self) -> usize {
        self.specs.len()
    }

    /// Drops the specs no converted object refers to any more (those only the converter holds).
    pub fn prune(&mut self) {
        self.specs.retain(|spec| Arc::strong_count(spec) > 1);
    }

    /// The shared copy of `spec`: the same [`Arc`] for every equal spec.
    pub fn intern(&mut self, spec: SchedulingSpec) -> Arc<SchedulingSpec> {
        if let Some(shared) = self.specs.get(&spec) {
            return Arc::clone(shared);
        }
        let shared = Arc::new(spec);
        self.specs.insert(Arc::clone(&shared));
        shared
    }

    /// Converts a pod.
    ///
    /// [`Owner::exists`] and [`Owner::replicas`] are left `None`: the caller fills them from its
    /// owner caches.
    pub fn pod(&mut self, pod: &K8sPod) -> Result<model::Pod> {
        let meta = &pod.metadata;
        let (namespace, name) = namespaced_name("pod", meta)?;
        let object = format!("pod {namespace}/{name}");
        let ctx = Ctx {
            object: &object,
            spec: "spec",
        };
        let spec = pod.spec.as_ref().ok_or_else(|| ctx.missing("spec"))?;
        let requests = self.requests(&ctx, pod, spec)?;
        let scheduling = self.intern(scheduling_spec(&ctx, spec)?);
        let created = creation_time(&ctx, meta)?;
        let annotations = meta.annotations.as_ref();
        let annotation = |key: &str| annotations.and_then(|a| a.get(key)).map(String::as_str);
        let annotation_field = |key: &str| format!("metadata.annotations[{key}]");

        let safe_to_evict = match annotation(ANNOTATION_SAFE_TO_EVICT) {
            None => SafeToEvict::Unset,
            Some("true") => SafeToEvict::True,
            Some("false") => SafeToEvict::False,
            Some("on-completion") => SafeToEvict::OnCompletion,
            Some(other) => {
                return Err(ctx.unknown(
                    annotation_field(ANNOTATION_SAFE_TO_EVICT),
                    other,
                    "\"true\", \"false\" or \"on-completion\"",
                ));
            }
        };
        // Volume names are DNS labels, so trimming spaces never changes a name that could match.
        let safe_to_evict_local_volumes = annotation(ANNOTATION_SAFE_TO_EVICT_LOCAL_VOLUMES)
            .map(|list| {
                list.split(',')
                    .map(str::trim)
                    .filter(|v| !v.is_empty())
                    .map(String::from)
                    .collect()
            })
            .unwrap_or_default();
        let scale_up_delay = annotation(ANNOTATION_POD_SCALE_UP_DELAY)
            .map(|value| {
                parse_go_duration(value).map_err(|source| ConvertError::Duration {
                    object: object.clone(),
                    field: annotation_field(ANNOTATION_POD_SCALE_UP_DELAY),
                    source,
                })
            })
            .transpose()?;

        let conditions = pod.status.as_ref().and_then(|s| s.conditions.as_ref());
        // CA reads the first PodScheduled condition, as `podutil.GetPodCondition` returns it.
        let unschedulable = conditions
            .and_then(|c| c.iter().find(|c| c.type_ == "PodScheduled"))
            .is_some_and(|c| c.status == "False" && c.reason.as_deref() == Some("Unschedulable"));

        Ok(model::Pod {
            namespace: namespace.to_owned(),
            name: name.to_owned(),
            node_name: spec.node_name.clone().filter(|n| !n.is_empty()),
            requests,
            priority: spec.priority.unwrap_or(0),
            owner: core_pod::controller_owner(pod).map(|o| Owner {
                kind: o.kind.clone(),
                name: o.name.clone(),
                uid: o.uid.clone(),
                exists: None,
                replicas: None,
            }),
            labels: meta.labels.clone().unwrap_or_default(),
            scheduling,
            volumes: volumes(spec),
            phase: core_pod::phase(pod),
            deletion_timestamp: core_pod::deletion_timestamp(pod),
            termination_grace_seconds: spec.termination_grace_period_seconds.unwrap_or(30),
            created,
            unschedulable,
            scheduling_gated: spec.scheduling_gates.as_ref().is_some_and(|g| !g.is_empty()),
            mirror: core_pod::is_mirror_pod(pod),
            safe_to_evict,
            safe_to_evict_local_volumes,
            scale_up_delay,
        })
    }

    /// Converts a node; `group` is the node group the provider says it belongs to.
    ///
    /// A node without `status.allocatable` offers nothing (as the scheduler reads it); capacity
    /// defaults to allocatable when absent.
    pub fn node(&self, node: &K8sNode, group: Option<String>) -> Result<model::Node> {
        let meta = &node.metadata;
        let name = meta
            .name
            .as_deref()
            .filter(|n| !n.is_empty())
            .ok_or_else(|| ConvertError::Missing {
                object: "node".to_owned(),
                field: "metadata.name".to_owned(),
            })?;
        let object = format!("node {name}");
        let ctx = Ctx {
            object: &object,
            spec: "spec",
        };
        let status = node.status.as_ref();
        let allocatable = match status.and_then(|s| s.allocatable.as_ref()) {
            Some(list) => resource_list(&ctx, "status.allocatable", list)?,
            None => Resources::default(),
        };
        let capacity = match status.and_then(|s| s.capacity.as_ref()) {
            Some(list) => resource_list(&ctx, "status.capacity", list)?,
            None => allocatable.clone(),
        };
        let spec = node.spec.as_ref();
        let taints = spec
            .and_then(|s| s.taints.as_ref())
            .into_iter()
            .flatten()
            .enumerate()
            .map(|(i, t)| {
                let effect = TaintEffect::parse(&t.effect).ok_or_else(|| {
                    ctx.unknown(
                        format!("spec.taints[{i}].effect"),
                        &t.effect,
                        "NoSchedule, PreferNoSchedule or NoExecute",
                    )
                })?;
                Ok(Taint {
                    key: t.key.clone(),
                    value: t.value.clone().unwrap_or_default(),
                    effect,
                })
            })
            .collect::<Result<Vec<_>>>()?;
        let ready = status
            .and_then(|s| s.conditions.as_ref())
            .and_then(|c| c.iter().find(|c| c.type_ == "Ready"));
        let field = format!("metadata.annotations[{ANNOTATION_SCALE_DOWN_DISABLED}]");
        let scale_down_disabled = match meta
            .annotations
            .as_ref()
            .and_then(|a| a.get(ANNOTATION_SCALE_DOWN_DISABLED))
        {
            None => false,
            Some(v) if v == "true" => true,
            Some(v) if v == "false" => false,
            Some(v) => return Err(ctx.unknown(field, v, "\"true\" or \"false\"")),
        };
        Ok(model::Node {
            name: name.to_owned(),
            group,
            allocatable,
            capacity,
            labels: meta.labels.clone().unwrap_or_default(),
            taints,
            ready: ready.is_some_and(|c| c.status == "True"),
            ready_transition: ready.and_then(|c| c.last_transition_time.as_ref()).map(|t| t.0),
            unschedulable: spec.and_then(|s| s.unschedulable).unwrap_or(false),
            created: creation_time(&ctx, meta)?,
            scale_down_disabled,
        })
    }

    /// Converts a PodDisruptionBudget.
    ///
    /// A PDB without a selector selects nothing and an empty selector (`{}`) selects every pod of
    /// its namespace, as in `policy/v1`. A PDB without status allows no disruption, as the eviction
    /// API reads it.
    pub fn pdb(&self, pdb: &PodDisruptionBudget) -> Result<model::Pdb> {
        let (namespace, name) = namespaced_name("poddisruptionbudget", &pdb.metadata)?;
        let object = format!("poddisruptionbudget {namespace}/{name}");
        let ctx = Ctx {
            object: &object,
            spec: "spec",
        };
        let selector =
            Selector::from_optional_label_selector(pdb.spec.as_ref().and_then(|s| s.selector.as_ref()))
                .map_err(|e| ctx.selector("spec.selector", e))?;
        Ok(model::Pdb {
            namespace: namespace.to_owned(),
            name: name.to_owned(),
            selector,
            disruptions_allowed: pdb
                .status
                .as_ref()
                .and_then(|s| s.disruptions_allowed)
                .unwrap_or(0),
        })
    }

    /// Converts a DaemonSet: the requests and scheduling spec of the pod it would run on a new node.
    ///
    /// The tolerations the DaemonSet controller adds to every pod it creates are added here too, so
    /// that the spec equals the one of its running pods and the template taints are judged as the
    /// controller's pods would be.
    pub fn daemonset(&mut self, ds: &K8sDaemonSet) -> Result<model::DaemonSet> {
        let (namespace, name) = namespaced_name("daemonset", &ds.metadata)?;
        let object = format!("daemonset {namespace}/{name}");
        let ctx = Ctx {
            object: &object,
            spec: "spec.template.spec",
        };
        let template = ds
            .spec
            .as_ref()
            .map(|s| &s.template)
            .ok_or_else(|| ctx.missing("spec"))?;
        let spec = template
            .spec
            .as_ref()
            .ok_or_else(|| ctx.missing("spec.template.spec"))?;
        // `pod_requests` reads a Pod; the template is one without status, as the controller makes it.
        let pod = K8sPod {
            metadata: ObjectMeta {
                name: Some(name.to_owned()),
                namespace: Some(namespace.to_owned()),
                ..template.metadata.clone().unwrap_or_default()
            },
            spec: Some(spec.clone()),
            status: None,
        };
        let requests = self.requests(&ctx, &pod, spec)?;
        let mut scheduling = scheduling_spec(&ctx, spec)?;
        add_daemon_pod_tolerations(&mut scheduling.tolerations, spec.host_network.unwrap_or(false));
        Ok(model::DaemonSet {
            namespace: namespace.to_owned(),
            name: name.to_owned(),
            requests,
            scheduling: self.intern(scheduling),
        })
    }

    /// The pod's effective requests with `pods: 1`. Every quantity that `pod_requests` reads is parsed
    /// here first so that an error names its exact field.
    fn requests(&self, ctx: &Ctx<'_>, pod: &K8sPod, spec: &PodSpec) -> Result<Resources> {
        let check = |field: String, list: Option<&BTreeMap<String, ApiQuantity>>| -> Result<()> {
            for (resource, q) in list.into_iter().flatten() {
                parse_quantity(ctx, &format!("{field}[{resource}]"), q)?;
            }
            Ok(())
        };
        let containers = |kind: &str, list: &[Container]| -> Result<()> {
            for (i, c) in list.iter().enumerate() {
                let requests = c.resources.as_ref().and_then(|r| r.requests.as_ref());
                check(ctx.at(format_args!("{kind}[{i}].resources.requests")), requests)?;
            }
            Ok(())
        };
        containers("containers", &spec.containers)?;
        containers(
            "initContainers",
            spec.init_containers.as_deref().unwrap_or_default(),
        )?;
        check(ctx.at("overhead"), spec.overhead.as_ref())?;
        if self.options.pod_level_resources {
            check(
                ctx.at("resources.requests"),
                spec.resources.as_ref().and_then(|r| r.requests.as_ref()),
            )?;
        }
        let options = PodResourcesOptions {
            exclude_overhead: false,
            skip_pod_level_resources: !self.options.pod_level_resources,
        };
        let requests = core_pod::pod_requests(pod, options).map_err(|source| ConvertError::Requests {
            object: ctx.object.to_owned(),
            source: Box::new(source),
        })?;
        let mut r = Resources::from_quantities(requests.iter().map(|(name, q)| (name.as_str(), q)));
        r.set(resources::PODS, 1);
        Ok(r)
    }
}

/// Removes from a node what belongs to that node only, so that it can stand for a new node of
/// `group`, as Cluster Autoscaler sanitizes a template node.
///
/// Taints: CA's deletion taints (`ToBeDeletedByClusterAutoscaler`, `DeletionCandidateOfClusterAutoscaler`),
/// the node-condition taints (not-ready, unreachable, unschedulable, pressures, network-unavailable,
/// cloud-provider uninitialized and shutdown, and two provider ones CA lists) and the
/// `ignore-taint.`/`startup-taint.`/`status-taint.cluster-autoscaler.kubernetes.io/` prefixes go;
/// taints given by CA's `--startup-taint`/`--status-taint` flags are not known here. The node is
/// uncordoned, Ready (a new node is expected to become Ready), not scale-down-disabled (an operator's
/// choice for one node), renamed `template-node-for-<group>` and put in `group`. The hostname label
/// keeps its value: the scheduling simulation treats hostname as naming each node on its own.
pub fn template_from_node(node: &model::Node, group: &str) -> model::Node {
    let mut template = node.clone();
    template.name = format!("template-node-for-{group}");
    template.group = Some(group.to_owned());
    template.taints.retain(|t| !is_sanitized_taint(&t.key));
    template.unschedulable = false;
    template.ready = true;
    template.ready_transition = None;
    template.scale_down_disabled = false;
    template
}

/// What in a pod's spec the scheduling simulation does not model, in words for its explanation: a
/// verdict on such a pod may differ from the scheduler's, and the explanation says so instead of
/// guessing. Empty for a pod the simulation models fully.
pub fn unmodelled(pod: &K8sPod) -> Vec<String> {
    let Some(spec) = pod.spec.as_ref() else {
        return Vec::new();
    };
    let mut out = Vec::new();
    let hard_spread = spec
        .topology_spread_constraints
        .iter()
        .flatten()
        .filter(|c| c.when_unsatisfiable == "DoNotSchedule")
        .count();
    if hard_spread > 0 {
        out.push(format!(
            "spec.topologySpreadConstraints: {hard_spread} constraint(s) with whenUnsatisfiable: DoNotSchedule are not \
             simulated; the scheduler may refuse a node the simulation accepted"
        ));
    }
    if spec.resource_claims.as_ref().is_some_and(|c| !c.is_empty()) {
        out.push("spec.resourceClaims: dynamic resource allocation is not simulated".into());
    }
    if let Some(name) = spec
        .scheduler_name
        .as_deref()
        .filter(|n| *n != "default-scheduler")
    {
        out.push(format!(
            "spec.schedulerName: {name:?} is not the default scheduler, whose filters the simulation reproduces"
        ));
    }
    out
}

/// The taints CA's `SanitizeTaints` drops from a template node (without the flag-configured ones).
fn is_sanitized_taint(key: &str) -> bool {
    const CONDITION_TAINTS: [&str; 11] = [
        "node.kubernetes.io/not-ready",
        "node.kubernetes.io/unreachable",
        "node.kubernetes.io/unschedulable",
        "node.kubernetes.io/memory-pressure",
        "node.kubernetes.io/disk-pressure",
        "node.kubernetes.io/network-unavailable",
        "node.kubernetes.io/pid-pressure",
        "node.cloudprovider.kubernetes.io/uninitialized",
        "node.cloudprovider.kubernetes.io/shutdown",
        "cloud.google.com/impending-node-termination",
        "NodeWithImpairedVolumes",
    ];
    const PREFIXES: [&str; 3] = [
        "ignore-taint.cluster-autoscaler.kubernetes.io/",
        "startup-taint.cluster-autoscaler.kubernetes.io/",
        "status-taint.cluster-autoscaler.kubernetes.io/",
    ];
    key == TAINT_TO_BE_DELETED
        || key == TAINT_DELETION_CANDIDATE
        || CONDITION_TAINTS.contains(&key)
        || PREFIXES.iter().any(|p| key.starts_with(p))
}

/// The tolerations the DaemonSet controller adds to its pods (`AddOrUpdateDaemonPodTolerations`),
/// each unless an identical one is there already.
fn add_daemon_pod_tolerations(tolerations: &mut Vec<Toleration>, host_network: bool) {
    let mut wanted = vec![
        ("node.kubernetes.io/not-ready", TaintEffect::NoExecute),
        ("node.kubernetes.io/unreachable", TaintEffect::NoExecute),
        ("node.kubernetes.io/disk-pressure", TaintEffect::NoSchedule),
        ("node.kubernetes.io/memory-pressure", TaintEffect::NoSchedule),
        ("node.kubernetes.io/pid-pressure", TaintEffect::NoSchedule),
        ("node.kubernetes.io/unschedulable", TaintEffect::NoSchedule),
    ];
    if host_network {
        wanted.push(("node.kubernetes.io/network-unavailable", TaintEffect::NoSchedule));
    }
    for (key, effect) in wanted {
        let toleration = Toleration {
            key: key.to_owned(),
            operator: TolerationOperator::Exists,
            value: String::new(),
            effect: Some(effect),
        };
        if !tolerations.contains(&toleration) {
            tolerations.push(toleration);
        }
    }
}

/// `metadata.namespace` and `metadata.name`, both required.
fn namespaced_name<'a>(kind: &str, meta: &'a ObjectMeta) -> Result<(&'a str, &'a str)> {
    let name = meta.name.as_deref().filter(|n| !n.is_empty());
    let namespace = meta.namespace.as_deref().filter(|n| !n.is_empty());
    match (namespace, name) {
        (Some(namespace), Some(name)) => Ok((namespace, name)),
        (_, None) => Err(ConvertError::Missing {
            object: namespace.map_or_else(|| kind.to_owned(), |ns| format!("{kind} in namespace {ns}")),
            field: "metadata.name".to_owned(),
        }),
        (None, Some(name)) => Err(ConvertError::Missing {
            object: format!("{kind} {name}"),
            field: "metadata.namespace".to_owned(),
        }),
    }
}

fn creation_time(ctx: &Ctx<'_>, meta: &ObjectMeta) -> Result<Timestamp> {
    meta.creation_timestamp
        .as_ref()
        .map(|Time(t)| *t)
        .ok_or_else(|| ctx.missing("metadata.creationTimestamp"))
}

/// Parses one quantity; negative amounts are refused, as API validation refuses them.
fn parse_quantity(ctx: &Ctx<'_>, field: &str, q: &ApiQuantity) -> Result<Quantity> {
    let parsed = Quantity::parse(&q.0).map_err(|source| ConvertError::Quantity {
        object: ctx.object.to_owned(),
        field: field.to_owned(),
        source: Box::new(source),
    })?;
    if parsed.sign() < 0 {
        return Err(ctx.invalid(field, format!("quantity {:?} must not be negative", q.0)));
    }
    Ok(parsed)
}

/// A resource list (allocatable, capacity), cpu in millicores and the rest in units.
fn resource_list(ctx: &Ctx<'_>, field: &str, list: &BTreeMap<String, ApiQuantity>) -> Result<Resources> {
    let mut parsed = Vec::with_capacity(list.len());
    for (name, q) in list {
        parsed.push((
            name.as_str(),
            parse_quantity(ctx, &format!("{field}[{name}]"), q)?,
        ));
    }
    Ok(Resources::from_quantities(
        parsed.iter().map(|(name, q)| (*name, q)),
    ))
}

fn volumes(spec: &PodSpec) -> Vec<Volume> {
    spec.volumes
        .iter()
        .flatten()
        .map(|v| {
            let kind = if v.host_path.is_some() {
                VolumeKind::HostPath
            } else if let Some(dir) = &v.empty_dir {
                VolumeKind::EmptyDir {
                    memory: dir.medium.as_deref() == Some("Memory"),
                }
            } else {
                VolumeKind::Other
            };
            Volume {
                name: v.name.clone(),
                kind,
            }
        })
        .collect()
}

/// Where the required node-selector terms sit in a pod spec.
const NODE_TERMS: &str =
    "affinity.nodeAffinity.requiredDuringSchedulingIgnoredDuringExecution.nodeSelectorTerms";

/// The scheduling-relevant part of a pod spec.
fn scheduling_spec(ctx: &Ctx<'_>, spec: &PodSpec) -> Result<SchedulingSpec> {
    let affinity = spec.affinity.as_ref();
    let required_node = affinity
        .and_then(|a| a.node_affinity.as_ref())
        .and_then(|n| n.required_during_scheduling_ignored_during_execution.as_ref());
    let node_affinity = required_node
        .map(|selector| {
            selector
                .node_selector_terms
                .iter()
                .enumerate()
                .map(|(i, term)| {
                    let path = ctx.at(format_args!("{NODE_TERMS}[{i}]"));
                    node_selector_term(ctx, &path, term)
                })
                .collect::<Result<Vec<_>>>()
        })
        .transpose()?;
    let pod_affinity = affinity
        .and_then(|a| a.pod_affinity.as_ref())
        .and_then(|p| p.required_during_scheduling_ignored_during_execution.as_deref());
    let pod_anti_affinity = affinity
        .and_then(|a| a.pod_anti_affinity.as_ref())
        .and_then(|p| p.required_during_scheduling_ignored_during_execution.as_deref());
    Ok(SchedulingSpec {
        node_selector: spec.node_selector.clone().unwrap_or_default(),
        node_affinity,
        tolerations: tolerations(ctx, spec)?,
        host_ports: host_ports(ctx, spec)?,
        pod_affinity: pod_affinity_terms(ctx, "podAffinity", pod_affinity)?,
        pod_anti_affinity: pod_affinity_terms(ctx, "podAntiAffinity", pod_anti_affinity)?,
    })
}

fn node_selector_term(ctx: &Ctx<'_>, path: &str, term: &K8sNodeSelectorTerm) -> Result<NodeSelectorTerm> {
    let expressions = term.match_expressions.iter().flatten().enumerate();
    let fields = term.match_fields.iter().flatten().enumerate();
    Ok(NodeSelectorTerm {
        match_expressions: expressions
            .map(|(j, r)| node_selector_requirement(ctx, &format!("{path}.matchExpressions[{j}]"), r))
            .collect::<Result<_>>()?,
        match_fields: fields
            .map(|(j, r)| field_selector_requirement(ctx, &format!("{path}.matchFields[{j}]"), r))
            .collect::<Result<_>>()?,
    })
}

/// A label requirement, with the value rules of API validation for each operator.
fn node_selector_requirement(
    ctx: &Ctx<'_>,
    path: &str,
    r: &K8sNodeSelectorRequirement,
) -> Result<NodeSelectorRequirement> {
    let operator = match r.operator.as_str() {
        "In" => NodeSelectorOperator::In,
        "NotIn" => NodeSelectorOperator::NotIn,
        "Exists" => NodeSelectorOperator::Exists,
        "DoesNotExist" => NodeSelectorOperator::DoesNotExist,
        "Gt" => NodeSelectorOperator::Gt,
        "Lt" => NodeSelectorOperator::Lt,
        other => {
            return Err(ctx.unknown(
                format!("{path}.operator"),
                other,
                "In, NotIn, Exists, DoesNotExist, Gt or Lt",
            ));
        }
    };
    if r.key.is_empty() {
        return Err(ctx.invalid(format!("{path}.key"), "must not be empty"));
    }
    let values = r.values.clone().unwrap_or_default();
    let field = format!("{path}.values");
    match operator {
        NodeSelectorOperator::In | NodeSelectorOperator::NotIn if values.is_empty() => {
            return Err(ctx.invalid(field, format!("must be non-empty with operator {}", r.operator)));
        }
        NodeSelectorOperator::Exists | NodeSelectorOperator::DoesNotExist if !values.is_empty() => {
            return Err(ctx.invalid(field, format!("must be empty with operator {}", r.operator)));
        }
        NodeSelectorOperator::Gt | NodeSelectorOperator::Lt => {
            let [value] = values.as_slice() else {
                return Err(ctx.invalid(
                    field,
                    format!("must have exactly one value with operator {}", r.operator),
                ));
            };
            if value.parse::<i64>().is_err() {
                return Err(ctx.invalid(
                    format!("{field}[0]"),
                    format!("{value:?} is not an integer, as operator {} needs", r.operator),
                ));
            }
        }
        _ => {}
    }
    Ok(NodeSelectorRequirement {
        key: r.key.clone(),
        operator,
        values,
    })
}

/// A field requirement: only `metadata.name`, with In or NotIn and exactly one value, as the API allows.
fn field_selector_requirement(
    ctx: &Ctx<'_>,
    path: &str,
    r: &K8sNodeSelectorRequirement,
) -> Result<NodeSelectorRequirement> {
    if r.key != "metadata.name" {
        return Err(ctx.unknown(format!("{path}.key"), &r.key, "metadata.name"));
    }
    let operator = match r.operator.as_str() {
        "In" => NodeSelectorOperator::In,
        "NotIn" => NodeSelectorOperator::NotIn,
        other => return Err(ctx.unknown(format!("{path}.operator"), other, "In or NotIn")),
    };
    let values = r.values.clone().unwrap_or_default();
    if values.len() != 1 {
        return Err(ctx.invalid(
            format!("{path}.values"),
            "must have exactly one value for a node field selector",
        ));
    }
    Ok(NodeSelectorRequirement {
        key: r.key.clone(),
        operator,
        values,
    })
}

fn tolerations(ctx: &Ctx<'_>, spec: &PodSpec) -> Result<Vec<Toleration>> {
    spec.tolerations
        .iter()
        .flatten()
        .enumerate()
        .map(|(i, t)| {
            // An empty operator is Equal, an empty effect matches every effect (API defaults).
            let operator = match t.operator.as_deref().unwrap_or_default() {
                "" | "Equal" => TolerationOperator::Equal,
                "Exists" => TolerationOperator::Exists,
                other => {
                    return Err(ctx.unknown(
                        ctx.at(format_args!("tolerations[{i}].operator")),
                        other,
                        "Equal or Exists",
                    ));
                }
            };
            let effect = match t.effect.as_deref().unwrap_or_default() {
                "" => None,
                effect => Some(TaintEffect::parse(effect).ok_or_else(|| {
                    ctx.unknown(
                        ctx.at(format_args!("tolerations[{i}].effect")),
                        effect,
                        "NoSchedule, PreferNoSchedule, NoExecute or empty",
                    )
                })?),
            };
            Ok(Toleration {
                key: t.key.clone().unwrap_or_default(),
                operator,
                value: t.value.clone().unwrap_or_default(),
                effect,
            })
        })
        .collect()
}

/// Host ports as the scheduler's `GetHostPorts` reads them: sidecars (init containers with
/// `restartPolicy: Always`) first, then the regular containers. Plain init containers are left out:
/// they have exited before the pod's containers start.
fn host_ports(ctx: &Ctx<'_>, spec: &PodSpec) -> Result<Vec<HostPort>> {
    let sidecars = spec
        .init_containers
        .iter()
        .flatten()
        .enumerate()
        .filter(|(_, c)| core_pod::is_restartable_init_container(c))
        .map(|(i, c)| ("initContainers", i, c));
    let regular = spec
        .containers
        .iter()
        .enumerate()
        .map(|(i, c)| ("containers", i, c));
    let mut out = Vec::new();
    for (kind, i, c) in sidecars.chain(regular) {
        for (j, p) in c.ports.iter().flatten().enumerate() {
            let port = p.host_port.unwrap_or(0);
            if port == 0 {
                continue;
            }
            if !(1..=65535).contains(&port) {
                return Err(ctx.invalid(
                    ctx.at(format_args!("{kind}[{i}].ports[{j}].hostPort")),
                    format!("{port} is not a port number (1-65535)"),
                ));
            }
            let protocol = match p.protocol.as_deref().unwrap_or_default() {
                "" => "TCP",
                known @ ("TCP" | "UDP" | "SCTP") => known,
                other => {
                    return Err(ctx.unknown(
                        ctx.at(format_args!("{kind}[{i}].ports[{j}].protocol")),
                        other,
                        "TCP, UDP or SCTP",
                    ));
                }
            };
            out.push(HostPort {
                port,
                protocol: protocol.to_owned(),
                ip: p.host_ip.clone().unwrap_or_default(),
            });
        }
    }
    Ok(out)
}

fn pod_affinity_terms(
    ctx: &Ctx<'_>,
    kind: &str,
    terms: Option<&[K8sPodAffinityTerm]>,
) -> Result<Vec<PodAffinityTerm>> {
    terms
        .into_iter()
        .flatten()
        .enumerate()
        .map(|(i, term)| {
            let path = ctx.at(format_args!(
                "affinity.{kind}.requiredDuringSchedulingIgnoredDuringExecution[{i}]"
            ));
            // A term without a label selector matches no pod, like upstream's nil selector.
            let selector = Selector::from_optional_label_selector(term.label_selector.as_ref())
                .map_err(|e| ctx.selector(format!("{path}.labelSelector"), e))?;
            let namespace_selector = term
                .namespace_selector
                .as_ref()
                .map(Selector::from_label_selector)
                .transpose()
                .map_err(|e| ctx.selector(format!("{path}.namespaceSelector"), e))?;
            if term.topology_key.is_empty() {
                return Err(ctx.invalid(format!("{path}.topologyKey"), "must not be empty"));
            }
            Ok(PodAffinityTerm {
                selector,
                namespaces: term.namespaces.clone().unwrap_or_default(),
                namespace_selector,
                topology_key: term.topology_key.clone(),
            })
        })
        .collect()
}
