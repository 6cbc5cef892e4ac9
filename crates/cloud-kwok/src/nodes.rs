//! The Node objects of the kwok provider: how a declared group becomes a fake node, and back.
//!
//! ```text
//! GroupSpec + name --node_object--> k8s Node (metadata, spec)      POST /api/v1/nodes
//! GroupSpec + now  --status_patch-> {"status": ...} merge patch    PATCH /api/v1/nodes/<name>/status
//! GroupSpec + now  --template-----> model::Node                    what a new node of the group would be
//! ```
//!
//! Every node carries:
//! - the label [`GROUP_LABEL`]` = <group>` (how the provider finds its nodes),
//!   `kubernetes.io/hostname = <name>`, `kubernetes.io/os = linux` and `kubernetes.io/arch = amd64`
//!   (the last two unless the template sets them), and the template's labels;
//! - kwok's annotation [`KWOK_ANNOTATION`]` = fake`, so that a kwok controller in the cluster takes
//!   the node over (heartbeats, pod status), and `node.alpha.kubernetes.io/ttl = 0`, as on the nodes
//!   kwok creates itself;
//! - the template's taints, and no other: the kwok taint keeps ordinary pods off fake nodes only if
//!   the declaration lists it;
//! - `spec.providerID = kwok://<group>/<name>`, which [`parse_provider_id`] reads back.
//!
//! The status (Ready and the pressure conditions, capacity = allocatable = the template) is written
//! by a separate PATCH of the status subresource: a POST of a Node ignores its status on a real API
//! server, as kwok's own tools know.

use std::collections::BTreeMap;

use jiff::Timestamp;
use k8s_openapi::api::coordination::v1::{Lease, LeaseSpec};
use k8s_openapi::api::core::v1::{Node, NodeCondition, NodeSpec, NodeStatus, NodeSystemInfo, Taint};
use k8s_openapi::apimachinery::pkg::api::resource::Quantity as ApiQuantity;
use k8s_openapi::apimachinery::pkg::apis::meta::v1::{MicroTime, ObjectMeta, OwnerReference, Time};
use serde_json::{Value, json};
use swell_node_autoscaler::convert::{self, ConvertError, Converter};
use swell_node_autoscaler::model::{self, LABEL_HOSTNAME};

use crate::declaration::GroupSpec;

/// The label naming a node's group; the provider lists its nodes by it.
pub const GROUP_LABEL: &str = "swell.dev/kwok-node-group";
/// kwok's annotation for the nodes it manages.
pub const KWOK_ANNOTATION: &str = "kwok.x-k8s.io/node";
/// The value of [`KWOK_ANNOTATION`].
pub const KWOK_ANNOTATION_VALUE: &str = "fake";
/// The scheme of the provider ids: `kwok://<group>/<node>`.
pub const PROVIDER_ID_SCHEME: &str = "kwok://";

const LABEL_OS: &str = "kubernetes.io/os";
const LABEL_ARCH: &str = "kubernetes.io/arch";

/// The provider id of node `name` of `group`.
pub fn provider_id(group: &str, name: &str) -> String {
    format!("{PROVIDER_ID_SCHEME}{group}/{name}")
}

/// The group and node name in a provider id of this provider; `None` for any other id.
pub fn parse_provider_id(provider_id: &str) -> Option<(&str, &str)> {
    let rest = provider_id.strip_prefix(PROVIDER_ID_SCHEME)?;
    let (group, name) = rest.split_once('/')?;
    (!group.is_empty() && !name.is_empty() && !name.contains('/')).then_some((group, name))
}

/// The Node object for node `name` of `group`, without status (see [`status_patch`]).
pub fn node_object(group: &str, spec: &GroupSpec, name: &str) -> Node {
    let mut labels = BTreeMap::from([
        (LABEL_OS.to_owned(), "linux".to_owned()),
        (LABEL_ARCH.to_owned(), "amd64".to_owned()),
    ]);
    labels.extend(spec.template.labels.clone());
    labels.insert(LABEL_HOSTNAME.to_owned(), name.to_owned());
    labels.insert(GROUP_LABEL.to_owned(), group.to_owned());
    let taints: Vec<Taint> = spec
        .template
        .taints
        .iter()
        .map(|t| Taint {
            key: t.key.clone(),
            value: (!t.value.is_empty()).then(|| t.value.clone()),
            effect: t.effect.as_str().to_owned(),
            time_added: None,
        })
        .collect();
    Node {
        metadata: ObjectMeta {
            name: Some(name.to_owned()),
            labels: Some(labels),
            annotations: Some(BTreeMap::from([
                (KWOK_ANNOTATION.to_owned(), KWOK_ANNOTATION_VALUE.to_owned()),
                // As on kwok's own nodes (the TTL controller's cache hint to a kubelet, of which there is none).
                ("node.alpha.kubernetes.io/ttl".to_owned(), "0".to_owned()),
            ])),
            ..ObjectMeta::default()
        },
        spec: Some(NodeSpec {
            provider_id: Some(provider_id(group, name)),
            taints: (!taints.is_empty()).then_some(taints),
            ..NodeSpec::default()
        }),
        status: None,
    }
}

/// The node status a fake node of the group reports at `now`: capacity and allocatable from the
/// template, Ready and no pressure.
pub fn status(spec: &GroupSpec, now: Timestamp) -> NodeStatus {
    let resources: BTreeMap<String, ApiQuantity> = spec
        .template
        .resources
        .iter()
        .map(|(name, q)| (name.clone(), ApiQuantity(q.text.clone())))
        .collect();
    let condition = |type_: &str, status: &str, reason: &str, message: &str| NodeCondition {
        type_: type_.to_owned(),
        status: status.to_owned(),
        reason: Some(reason.to_owned()),
        message: Some(message.to_owned()),
        last_heartbeat_time: Some(Time(now)),
        last_transition_time: Some(Time(now)),
    };
    NodeStatus {
        capacity: Some(resources.clone()),
        allocatable: Some(resources),
        conditions: Some(vec![
            condition("Ready", "True", "KubeletReady", "fake node created by swell"),
            condition("MemoryPressure", "False", "KubeletHasSufficientMemory", ""),
            condition("DiskPressure", "False", "KubeletHasNoDiskPressure", ""),
            condition("PIDPressure", "False", "KubeletHasSufficientPID", ""),
        ]),
        node_info: Some(NodeSystemInfo {
            architecture: "amd64".to_owned(),
            operating_system: "linux".to_owned(),
            kubelet_version: "fake".to_owned(),
            kube_proxy_version: "fake".to_owned(),
            container_runtime_version: "fake".to_owned(),
            ..NodeSystemInfo::default()
        }),
        phase: Some("Running".to_owned()),
        ..NodeStatus::default()
    }
}

/// The merge patch of the status subresource that makes a new node Ready at `now`.
pub fn status_patch(spec: &GroupSpec, now: Timestamp) -> Value {
    json!({ "status": status(spec, now) })
}

/// The strategic merge patch of the status subresource that renews the conditions' heartbeats at
/// `now` (merged by condition type, so their transition times stay).
pub fn heartbeat_patch(now: Timestamp) -> Value {
    let beat =
        |type_: &str, status: &str| json!({"type": type_, "status": status, "lastHeartbeatTime": Time(now)});
    json!({"status": {"conditions": [
        beat("Ready", "True"),
        beat("MemoryPressure", "False"),
        beat("DiskPressure", "False"),
        beat("PIDPressure", "False"),
    ]}})
}

/// The node Lease a kubelet would hold for node `name` (`uid` makes the node its owner), renewed at
/// `now` for 40 seconds.
pub fn lease(name: &str, uid: Option<&str>, now: Timestamp) -> Lease {
    Lease {
        metadata: ObjectMeta {
            name: Some(name.to_owned()),
            namespace: Some("kube-node-lease".to_owned()),
            owner_references: uid.map(|uid| {
                vec![OwnerReference {
                    api_version: "v1".to_owned(),
                    kind: "Node".to_owned(),
                    name: name.to_owned(),
                    uid: uid.to_owned(),
                    ..OwnerReference::default()
                }]
            }),
            ..ObjectMeta::default()
        },
        spec: Some(LeaseSpec {
            holder_identity: Some(name.to_owned()),
            lease_duration_seconds: Some(40),
            renew_time: Some(MicroTime(now)),
            ..LeaseSpec::default()
        }),
    }
}

/// Whether the node reports a Ready condition at all: the provider wrote its status (or kwok did).
pub fn has_ready_condition(node: &Node) -> bool {
    node.status
        .as_ref()
        .and_then(|s| s.conditions.as_ref())
        .is_some_and(|c| c.iter().any(|c| c.type_ == "Ready"))
}

/// What a new node of `group` would be, through the same conversion the controller applies to the
/// nodes it reads, then sanitized as Cluster Autoscaler sanitizes a template node.
pub fn template(group: &str, spec: &GroupSpec, now: Timestamp) -> Result<model::Node, ConvertError> {
    let mut node = node_object(group, spec, &format!("template-node-for-{group}"));
    node.metadata.creation_timestamp = Some(Time(now));
    node.status = Some(status(spec, now));
    let converted = Converter::new().node(&node, Some(group.to_owned()))?;
    Ok(convert::template_from_node(&converted, group))
}
