//! Builders for the Kubernetes objects that tests, benches and the simulator need.
//!
//! Compiled for this crate's tests and, for other crates, with the `test-util` feature. Each builder
//! starts from a realistic default, is changed by chained calls that consume and return it, and ends
//! with `.build()`, which returns the plain `k8s-openapi` object:
//!
//! ```text
//! let p = pod("web-1").label("app", "web").cpu("250m").unready_since(at("2026-01-01T00:01:00Z")).build();
//! let n = node("n1").cpu("8").taint("dedicated", "gpu", "NoSchedule").build();
//! ```
//!
//! Times default to [`t0`], a fixed instant, so tests never depend on the wall clock.

use std::collections::BTreeMap;

use jiff::{SignedDuration, Timestamp};
use k8s_openapi::api::core::v1::{
    Container, Node, NodeCondition, NodeSpec, NodeStatus, Pod, PodCondition, PodSpec, PodStatus,
    ResourceRequirements, Taint,
};
use k8s_openapi::apimachinery::pkg::api::resource::Quantity;
use k8s_openapi::apimachinery::pkg::apis::meta::v1::{ObjectMeta, OwnerReference, Time};

/// The fixed instant every builder defaults to: 2026-01-01T00:00:00Z.
pub fn t0() -> Timestamp {
    // 2026-01-01T00:00:00Z in Unix seconds; `constant` checks the range at compile time.
    const T0: Timestamp = Timestamp::constant(1_767_225_600, 0);
    T0
}

/// Parses an RFC 3339 timestamp such as `2026-01-01T00:05:00Z`.
///
/// # Panics
///
/// On input that is not a valid timestamp: this is a test helper, and a typo in a test should stop
/// it loudly.
pub fn at(rfc3339: &str) -> Timestamp {
    match rfc3339.parse() {
        Ok(ts) => ts,
        Err(err) => panic!("invalid RFC 3339 timestamp {rfc3339:?} in a test: {err}"),
    }
}

/// A duration of `n` seconds.
pub fn secs(n: i64) -> SignedDuration {
    SignedDuration::from_secs(n)
}

/// Starts a [`PodBuilder`] for a pod called `name`.
pub fn pod(name: &str) -> PodBuilder {
    PodBuilder::new(name)
}

/// Starts a [`NodeBuilder`] for a node called `name`.
pub fn node(name: &str) -> NodeBuilder {
    NodeBuilder::new(name)
}

fn quantities(pairs: &[(&str, &str)]) -> BTreeMap<String, Quantity> {
    pairs
        .iter()
        .map(|(k, v)| (k.to_string(), Quantity(v.to_string())))
        .collect()
}

fn container(name: &str, requests: &[(&str, &str)]) -> Container {
    Container {
        name: name.to_string(),
        resources: (!requests.is_empty()).then(|| ResourceRequirements {
            requests: Some(quantities(requests)),
            ..Default::default()
        }),
        ..Default::default()
    }
}

/// What the pod's `Ready` condition will say.
#[derive(Debug, Clone, Copy)]
enum Readiness {
    /// Decided at build time from the phase (see [`PodBuilder`]).
    Default,
    /// `Ready=True` since the start time.
    ReadySinceStart,
    /// `Ready=True` since the given time.
    ReadySince(Timestamp),
    /// `Ready=False` since the given time.
    UnreadySince(Timestamp),
    /// No `Ready` condition at all.
    Absent,
}

/// Builds a [`Pod`].
///
/// By default the pod is in namespace `default`, `Running`, started at [`t0`], scheduled
/// (`PodScheduled=True`), `Ready=True` since its start time, created at its start time, with one
/// container `app` that has no requests. Unless readiness is set explicitly, a pod whose phase is not
/// `Running` gets `Ready=False` (since its start time) and an [`PodBuilder::unschedulable`] pod gets
/// no `Ready` condition.
#[derive(Debug, Clone)]
pub struct PodBuilder {
    meta: ObjectMeta,
    spec: PodSpec,
    phase: String,
    start_time: Option<Timestamp>,
    created_at: Option<Timestamp>,
    readiness: Readiness,
    unschedulable: bool,
}

impl PodBuilder {
    /// A default pod called `name` (see the type's documentation).
    pub fn new(name: &str) -> PodBuilder {
        PodBuilder {
            meta: ObjectMeta {
                name: Some(name.to_string()),
                namespace: Some("default".to_string()),
                ..Default::default()
            },
            spec: PodSpec::default(),
            phase: "Running".to_string(),
            start_time: Some(t0()),
            created_at: None,
            readiness: Readiness::Default,
            unschedulable: false,
        }
    }

    /// Sets `metadata.namespace` (default `default`).
    pub fn namespace(mut self, ns: &str) -> PodBuilder {
        self.meta.namespace = Some(ns.to_string());
        self
    }

    /// Adds one label.
    pub fn label(mut self, key: &str, value: &str) -> PodBuilder {
        self.meta
            .labels
            .get_or_insert_with(BTreeMap::new)
            .insert(key.to_string(), value.to_string());
        self
    }

    /// Adds several labels.
    pub fn labels<'a>(mut self, labels: impl IntoIterator<Item = (&'a str, &'a str)>) -> PodBuilder {
        for (k, v) in labels {
            self = self.label(k, v);
        }
        self
    }

    /// Adds one annotation.
    pub fn annotation(mut self, key: &str, value: &str) -> PodBuilder {
        self.meta
            .annotations
            .get_or_insert_with(BTreeMap::new)
            .insert(key.to_string(), value.to_string());
        self
    }

    /// Sets the CPU request of the first container (created as `app` if there is none).
    pub fn cpu(self, qty: &str) -> PodBuilder {
        self.request("cpu", qty)
    }

    /// Sets the memory request of the first container (created as `app` if there is none).
    pub fn memory(self, qty: &str) -> PodBuilder {
        self.request("memory", qty)
    }

    /// Sets the request for `resource` on the first container (created as `app` if there is none).
    pub fn request(mut self, resource: &str, qty: &str) -> PodBuilder {
        if self.spec.containers.is_empty() {
            self.spec.containers.push(container("app", &[]));
        }
        if let Some(first) = self.spec.containers.first_mut() {
            first
                .resources
                .get_or_insert_with(ResourceRequirements::default)
                .requests
                .get_or_insert_with(BTreeMap::new)
                .insert(resource.to_string(), Quantity(qty.to_string()));
        }
        self
    }

    /// Adds a regular container with these requests, after any existing ones. The first container
    /// added this way replaces the implicit `app` container.
    pub fn container(mut self, name: &str, requests: &[(&str, &str)]) -> PodBuilder {
        self.spec.containers.push(container(name, requests));
        self
    }

    /// Adds a classic init container (runs to completion before the app containers start).
    pub fn init_container(mut self, name: &str, requests: &[(&str, &str)]) -> PodBuilder {
        self.spec
            .init_containers
            .get_or_insert_with(Vec::new)
            .push(container(name, requests));
        self
    }

    /// Adds a sidecar: an init container with `restartPolicy: Always` that keeps running beside the
    /// app containers.
    pub fn sidecar(mut self, name: &str, requests: &[(&str, &str)]) -> PodBuilder {
        let sidecar = Container {
            restart_policy: Some("Always".to_string()),
            ..container(name, requests)
        };
        self.spec
            .init_containers
            .get_or_insert_with(Vec::new)
            .push(sidecar);
        self
    }

    /// Sets pod-level requests (`spec.resources.requests`).
    pub fn pod_level_requests(mut self, requests: &[(&str, &str)]) -> PodBuilder {
        self.spec.resources = Some(ResourceRequirements {
            requests: Some(quantities(requests)),
            ..Default::default()
        });
        self
    }

    /// Sets the runtime-class overhead (`spec.overhead`).
    pub fn overhead(mut self, overhead: &[(&str, &str)]) -> PodBuilder {
        self.spec.overhead = Some(quantities(overhead));
        self
    }

    /// Sets `status.phase` (default `Running`).
    pub fn phase(mut self, phase: &str) -> PodBuilder {
        self.phase = phase.to_string();
        self
    }

    /// Sets the phase to `Pending`.
    pub fn pending(self) -> PodBuilder {
        self.phase("Pending")
    }

    /// Sets the phase to `Failed`.
    pub fn failed(self) -> PodBuilder {
        self.phase("Failed")
    }

    /// Sets the phase to `Succeeded`.
    pub fn succeeded(self) -> PodBuilder {
        self.phase("Succeeded")
    }

    /// `Ready=True` with `lastTransitionTime` equal to the start time (or [`t0`] if there is none).
    pub fn ready(mut self) -> PodBuilder {
        self.readiness = Readiness::ReadySinceStart;
        self
    }

    /// `Ready=True` with `lastTransitionTime` `ts`.
    pub fn ready_since(mut self, ts: Timestamp) -> PodBuilder {
        self.readiness = Readiness::ReadySince(ts);
        self
    }

    /// `Ready=False` with `lastTransitionTime` `ts`.
    pub fn unready_since(mut self, ts: Timestamp) -> PodBuilder {
        self.readiness = Readiness::UnreadySince(ts);
        self
    }

    /// No `Ready` condition at all.
    pub fn no_ready_condition(mut self) -> PodBuilder {
        self.readiness = Readiness::Absent;
        self
    }

    /// Sets `status.startTime` (default [`t0`]).
    pub fn started_at(mut self, ts: Timestamp) -> PodBuilder {
        self.start_time = Some(ts);
        self
    }

    /// Sets `metadata.creationTimestamp` (default: the start time, or [`t0`] if there is none).
    pub fn created_at(mut self, ts: Timestamp) -> PodBuilder {
        self.created_at = Some(ts);
        self
    }

    /// Sets `metadata.deletionTimestamp`: the pod is terminating.
    pub fn deleting_at(mut self, ts: Timestamp) -> PodBuilder {
        self.meta.deletion_timestamp = Some(Time(ts));
        self
    }

    /// Makes `kind`/`name` the pod's controller (an owner reference with `controller: true`),
    /// replacing any previous controller reference. The API version is guessed from the kind
    /// (`apps/v1` for workloads, `batch/v1` for Job, `v1` otherwise).
    pub fn owned_by(mut self, kind: &str, name: &str) -> PodBuilder {
        let api_version = match kind {
            "ReplicaSet" | "Deployment" | "StatefulSet" | "DaemonSet" => "apps/v1",
            "Job" | "CronJob" => "batch/v1",
            _ => "v1",
        };
        let refs = self.meta.owner_references.get_or_insert_with(Vec::new);
        refs.retain(|r| r.controller != Some(true));
        refs.push(OwnerReference {
            api_version: api_version.to_string(),
            kind: kind.to_string(),
            name: name.to_string(),
            uid: format!("uid-{}-{name}", kind.to_lowercase()),
            controller: Some(true),
            block_owner_deletion: Some(true),
        });
        self
    }

    /// Sets `spec.nodeName`: the pod is bound to that node.
    pub fn on_node(mut self, node: &str) -> PodBuilder {
        self.spec.node_name = Some(node.to_string());
        self
    }

    /// Sets `spec.priority`.
    pub fn priority(mut self, priority: i32) -> PodBuilder {
        self.spec.priority = Some(priority);
        self
    }

    /// Adds one `spec.nodeSelector` entry.
    pub fn node_selector(mut self, key: &str, value: &str) -> PodBuilder {
        self.spec
            .node_selector
            .get_or_insert_with(BTreeMap::new)
            .insert(key.to_string(), value.to_string());
        self
    }

    /// Makes the pod unschedulable as the scheduler reports it: phase `Pending`,
    /// `PodScheduled=False` with reason `Unschedulable`, no start time (until
    /// [`PodBuilder::started_at`] sets one) and, unless set explicitly, no `Ready` condition.
    pub fn unschedulable(mut self) -> PodBuilder {
        self.phase = "Pending".to_string();
        self.start_time = None;
        self.unschedulable = true;
        self
    }

    /// The pod.
    pub fn build(self) -> Pod {
        let PodBuilder {
            mut meta,
            mut spec,
            phase,
            start_time,
            created_at,
            readiness,
            unschedulable,
        } = self;
        let since_start = start_time.unwrap_or_else(t0);
        if spec.containers.is_empty() {
            spec.containers.push(container("app", &[]));
        }
        meta.creation_timestamp = Some(Time(created_at.unwrap_or(since_start)));
        let namespace = meta.namespace.clone().unwrap_or_default();
        let name = meta.name.clone().unwrap_or_default();
        meta.uid = Some(format!("uid-{namespace}-{name}"));

        let condition = |type_: &str, status: &str, reason: Option<&str>, ts: Timestamp| PodCondition {
            type_: type_.to_string(),
            status: status.to_string(),
            reason: reason.map(str::to_string),
            last_transition_time: Some(Time(ts)),
            ..Default::default()
        };
        let mut conditions = vec![if unschedulable {
            condition("PodScheduled", "False", Some("Unschedulable"), since_start)
        } else {
            condition("PodScheduled", "True", None, since_start)
        }];
        let ready = match readiness {
            Readiness::Default if unschedulable => None,
            Readiness::Default if phase == "Running" => Some(("True", since_start)),
            Readiness::Default => Some(("False", since_start)),
            Readiness::ReadySinceStart => Some(("True", since_start)),
            Readiness::ReadySince(ts) => Some(("True", ts)),
            Readiness::UnreadySince(ts) => Some(("False", ts)),
            Readiness::Absent => None,
        };
        if let Some((status, ts)) = ready {
            conditions.push(condition("Ready", status, None, ts));
        }

        Pod {
            metadata: meta,
            spec: Some(spec),
            status: Some(PodStatus {
                phase: Some(phase),
                start_time: start_time.map(Time),
                conditions: Some(conditions),
                ..Default::default()
            }),
        }
    }
}

/// Builds a [`Node`].
///
/// By default the node has 4 CPUs, 16Gi of memory and room for 110 pods (allocatable equal to
/// capacity), the label `kubernetes.io/hostname` set to its name, `Ready=True` since [`t0`], was
/// created at [`t0`], is schedulable, untainted and has no provider ID.
#[derive(Debug, Clone)]
pub struct NodeBuilder {
    meta: ObjectMeta,
    spec: NodeSpec,
    resources: BTreeMap<String, Quantity>,
    ready: bool,
}

impl NodeBuilder {
    /// A default node called `name` (see the type's documentation).
    pub fn new(name: &str) -> NodeBuilder {
        NodeBuilder {
            meta: ObjectMeta {
                name: Some(name.to_string()),
                labels: Some(BTreeMap::from([(
                    "kubernetes.io/hostname".to_string(),
                    name.to_string(),
                )])),
                creation_timestamp: Some(Time(t0())),
                uid: Some(format!("uid-node-{name}")),
                ..Default::default()
            },
            spec: NodeSpec::default(),
            resources: quantities(&[("cpu", "4"), ("memory", "16Gi"), ("pods", "110")]),
            ready: true,
        }
    }

    /// Sets allocatable and capacity CPU.
    pub fn cpu(self, qty: &str) -> NodeBuilder {
        self.resource("cpu", qty)
    }

    /// Sets allocatable and capacity memory.
    pub fn memory(self, qty: &str) -> NodeBuilder {
        self.resource("memory", qty)
    }

    /// Sets how many pods fit (allocatable and capacity `pods`).
    pub fn pods(self, n: u32) -> NodeBuilder {
        self.resource("pods", &n.to_string())
    }

    /// Sets allocatable and capacity for any resource, e.g. `nvidia.com/gpu`.
    pub fn resource(mut self, resource: &str, qty: &str) -> NodeBuilder {
        self.resources
            .insert(resource.to_string(), Quantity(qty.to_string()));
        self
    }

    /// Adds one label.
    pub fn label(mut self, key: &str, value: &str) -> NodeBuilder {
        self.meta
            .labels
            .get_or_insert_with(BTreeMap::new)
            .insert(key.to_string(), value.to_string());
        self
    }

    /// Adds a taint; `effect` is `NoSchedule`, `PreferNoSchedule` or `NoExecute`. An empty value
    /// is left out.
    pub fn taint(mut self, key: &str, value: &str, effect: &str) -> NodeBuilder {
        self.spec.taints.get_or_insert_with(Vec::new).push(Taint {
            key: key.to_string(),
            value: (!value.is_empty()).then(|| value.to_string()),
            effect: effect.to_string(),
            time_added: None,
        });
        self
    }

    /// Cordons the node (`spec.unschedulable: true`).
    pub fn unschedulable(mut self) -> NodeBuilder {
        self.spec.unschedulable = Some(true);
        self
    }

    /// `Ready=True` (the default).
    pub fn ready(mut self) -> NodeBuilder {
        self.ready = true;
        self
    }

    /// `Ready=False`.
    pub fn not_ready(mut self) -> NodeBuilder {
        self.ready = false;
        self
    }

    /// Sets `spec.providerID`, e.g. `aws:///us-east-1a/i-0123`.
    pub fn provider_id(mut self, id: &str) -> NodeBuilder {
        self.spec.provider_id = Some(id.to_string());
        self
    }

    /// Sets `metadata.creationTimestamp` (default [`t0`]).
    pub fn created_at(mut self, ts: Timestamp) -> NodeBuilder {
        self.meta.creation_timestamp = Some(Time(ts));
        self
    }

    /// The node.
    pub fn build(self) -> Node {
        let ready = NodeCondition {
            type_: "Ready".to_string(),
            status: if self.ready { "True" } else { "False" }.to_string(),
            reason: Some(
                if self.ready {
                    "KubeletReady"
                } else {
                    "KubeletNotReady"
                }
                .to_string(),
            ),
            last_transition_time: Some(Time(t0())),
            last_heartbeat_time: Some(Time(t0())),
            ..Default::default()
        };
        Node {
            metadata: self.meta,
            spec: Some(self.spec),
            status: Some(NodeStatus {
                allocatable: Some(self.resources.clone()),
                capacity: Some(self.resources),
                conditions: Some(vec![ready]),
                ..Default::default()
            }),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn q(s: &str) -> Quantity {
        Quantity(s.to_string())
    }

    fn status(p: &Pod) -> &PodStatus {
        p.status.as_ref().expect("status")
    }

    fn spec(p: &Pod) -> &PodSpec {
        p.spec.as_ref().expect("spec")
    }

    fn condition<'a>(p: &'a Pod, type_: &str) -> Option<&'a PodCondition> {
        status(p).conditions.as_ref()?.iter().find(|c| c.type_ == type_)
    }

    fn ready(p: &Pod) -> Option<(String, Timestamp)> {
        condition(p, "Ready").map(|c| (c.status.clone(), c.last_transition_time.as_ref().expect("time").0))
    }

    fn requests(c: &Container) -> BTreeMap<String, Quantity> {
        c.resources
            .as_ref()
            .and_then(|r| r.requests.clone())
            .unwrap_or_default()
    }

    #[test]
    fn helpers_give_fixed_times_and_durations() {
        assert_eq!(t0(), at("2026-01-01T00:00:00Z"));
        assert_eq!(
            secs(90),
            SignedDuration::from_mins(1) + SignedDuration::from_secs(30)
        );
        assert_eq!(t0() + secs(60), at("2026-01-01T00:01:00Z"));
    }

    #[test]
    #[should_panic(expected = "invalid RFC 3339 timestamp")]
    fn at_panics_on_a_typo() {
        at("2026-13-01");
    }

    #[test]
    fn default_pod_is_running_ready_and_started_at_t0() {
        let p = pod("web-1").build();
        assert_eq!(p.metadata.name.as_deref(), Some("web-1"));
        assert_eq!(p.metadata.namespace.as_deref(), Some("default"));
        assert_eq!(p.metadata.uid.as_deref(), Some("uid-default-web-1"));
        assert_eq!(p.metadata.creation_timestamp, Some(Time(t0())));
        assert_eq!(status(&p).phase.as_deref(), Some("Running"));
        assert_eq!(status(&p).start_time, Some(Time(t0())));
        assert_eq!(ready(&p), Some(("True".to_string(), t0())));
        assert_eq!(
            condition(&p, "PodScheduled").map(|c| c.status.as_str()),
            Some("True")
        );
        assert_eq!(spec(&p).containers.len(), 1);
        assert_eq!(spec(&p).containers[0].name, "app");
        assert!(spec(&p).containers[0].resources.is_none());
        assert!(p.metadata.deletion_timestamp.is_none() && p.metadata.owner_references.is_none());
    }

    #[test]
    fn metadata_setters_set_namespace_labels_and_annotations() {
        let p = pod("p")
            .namespace("prod")
            .label("app", "web")
            .labels([("tier", "front"), ("app", "api")])
            .annotation("a", "1")
            .build();
        assert_eq!(p.metadata.namespace.as_deref(), Some("prod"));
        let labels = p.metadata.labels.expect("labels");
        assert_eq!(labels.get("app").map(String::as_str), Some("api"));
        assert_eq!(labels.get("tier").map(String::as_str), Some("front"));
        assert_eq!(
            p.metadata
                .annotations
                .expect("annotations")
                .get("a")
                .map(String::as_str),
            Some("1")
        );
    }

    #[test]
    fn cpu_memory_and_request_set_requests_on_the_app_container() {
        let p = pod("p")
            .cpu("250m")
            .memory("64Mi")
            .request("nvidia.com/gpu", "1")
            .build();
        let containers = &spec(&p).containers;
        assert_eq!(containers.len(), 1);
        assert_eq!(containers[0].name, "app");
        assert_eq!(
            requests(&containers[0]),
            BTreeMap::from([
                ("cpu".to_string(), q("250m")),
                ("memory".to_string(), q("64Mi")),
                ("nvidia.com/gpu".to_string(), q("1")),
            ])
        );
    }

    #[test]
    fn container_adds_regular_containers_and_cpu_targets_the_first() {
        let p = pod("p")
            .container("main", &[("cpu", "100m")])
            .container("helper", &[("memory", "1Gi")])
            .cpu("300m")
            .build();
        let containers = &spec(&p).containers;
        let names: Vec<&str> = containers.iter().map(|c| c.name.as_str()).collect();
        assert_eq!(names, ["main", "helper"]);
        assert_eq!(requests(&containers[0]).get("cpu"), Some(&q("300m")));
        assert_eq!(requests(&containers[1]).get("memory"), Some(&q("1Gi")));
    }

    #[test]
    fn cpu_then_container_keeps_app_first() {
        let p = pod("p").cpu("1").container("second", &[]).build();
        let names: Vec<&str> = spec(&p).containers.iter().map(|c| c.name.as_str()).collect();
        assert_eq!(names, ["app", "second"]);
        assert!(spec(&p).containers[1].resources.is_none());
    }

    #[test]
    fn init_containers_and_sidecars_go_to_init_containers() {
        let p = pod("p")
            .init_container("migrate", &[("cpu", "2")])
            .sidecar("proxy", &[("cpu", "50m")])
            .build();
        let init = spec(&p).init_containers.as_ref().expect("init containers");
        assert_eq!(init.len(), 2);
        assert_eq!(
            (init[0].name.as_str(), init[0].restart_policy.as_deref()),
            ("migrate", None)
        );
        assert_eq!(requests(&init[0]).get("cpu"), Some(&q("2")));
        assert_eq!(
            (init[1].name.as_str(), init[1].restart_policy.as_deref()),
            ("proxy", Some("Always"))
        );
        assert_eq!(requests(&init[1]).get("cpu"), Some(&q("50m")));
    }

    #[test]
    fn pod_level_requests_and_overhead_are_set_on_the_spec() {
        let p = pod("p")
            .pod_level_requests(&[("cpu", "1"), ("memory", "2Gi")])
            .overhead(&[("cpu", "10m")])
            .build();
        let pod_requests = spec(&p)
            .resources
            .as_ref()
            .and_then(|r| r.requests.clone())
            .expect("pod requests");
        assert_eq!(
            pod_requests,
            BTreeMap::from([("cpu".to_string(), q("1")), ("memory".to_string(), q("2Gi"))])
        );
        assert_eq!(
            spec(&p).overhead,
            Some(BTreeMap::from([("cpu".to_string(), q("10m"))]))
        );
    }

    #[test]
    fn phase_helpers_set_the_phase() {
        for (builder, want) in [
            (pod("p").phase("Unknown"), "Unknown"),
            (pod("p").pending(), "Pending"),
            (pod("p").failed(), "Failed"),
            (pod("p").succeeded(), "Succeeded"),
        ] {
            assert_eq!(status(&builder.build()).phase.as_deref(), Some(want));
        }
    }

    #[test]
    fn a_pod_that_is_not_running_defaults_to_not_ready() {
        assert_eq!(
            ready(&pod("p").pending().build()),
            Some(("False".to_string(), t0()))
        );
        assert_eq!(
            ready(&pod("p").failed().ready().build()),
            Some(("True".to_string(), t0()))
        );
    }

    #[test]
    fn readiness_setters_set_the_ready_condition() {
        let t1 = at("2026-01-01T00:03:00Z");
        let start = at("2025-12-31T23:00:00Z");
        assert_eq!(
            ready(&pod("p").ready_since(t1).build()),
            Some(("True".to_string(), t1))
        );
        assert_eq!(
            ready(&pod("p").unready_since(t1).build()),
            Some(("False".to_string(), t1))
        );
        assert_eq!(ready(&pod("p").no_ready_condition().build()), None);
        // ready() follows the start time whichever order the calls come in.
        assert_eq!(
            ready(&pod("p").ready().started_at(start).build()),
            Some(("True".to_string(), start))
        );
        assert_eq!(
            ready(&pod("p").started_at(start).build()),
            Some(("True".to_string(), start))
        );
    }

    #[test]
    fn started_at_and_created_at_set_their_times() {
        let start = at("2026-01-01T00:10:00Z");
        let created = at("2026-01-01T00:09:00Z");
        let p = pod("p").started_at(start).build();
        assert_eq!(status(&p).start_time, Some(Time(start)));
        assert_eq!(p.metadata.creation_timestamp, Some(Time(start)));
        let p = pod("p").started_at(start).created_at(created).build();
        assert_eq!(p.metadata.creation_timestamp, Some(Time(created)));
    }

    #[test]
    fn deleting_at_sets_the_deletion_timestamp() {
        let t = at("2026-01-01T01:00:00Z");
        assert_eq!(
            pod("p").deleting_at(t).build().metadata.deletion_timestamp,
            Some(Time(t))
        );
    }

    #[test]
    fn owned_by_sets_one_controller_reference() {
        let p = pod("p")
            .owned_by("Job", "old")
            .owned_by("ReplicaSet", "web-abc")
            .build();
        let refs = p.metadata.owner_references.expect("owner references");
        assert_eq!(refs.len(), 1);
        assert_eq!(refs[0].kind, "ReplicaSet");
        assert_eq!(refs[0].name, "web-abc");
        assert_eq!(refs[0].api_version, "apps/v1");
        assert_eq!(refs[0].controller, Some(true));
        assert!(!refs[0].uid.is_empty());
    }

    #[test]
    fn scheduling_setters_set_node_priority_and_node_selector() {
        let p = pod("p")
            .on_node("n1")
            .priority(1000)
            .node_selector("zone", "a")
            .node_selector("gpu", "yes")
            .build();
        assert_eq!(spec(&p).node_name.as_deref(), Some("n1"));
        assert_eq!(spec(&p).priority, Some(1000));
        let sel = spec(&p).node_selector.clone().expect("node selector");
        assert_eq!(sel.len(), 2);
        assert_eq!(sel.get("zone").map(String::as_str), Some("a"));
    }

    #[test]
    fn unschedulable_pod_is_pending_with_pod_scheduled_false() {
        let p = pod("p")
            .started_at(at("2026-01-01T00:10:00Z"))
            .unschedulable()
            .build();
        assert_eq!(status(&p).phase.as_deref(), Some("Pending"));
        assert_eq!(status(&p).start_time, None);
        let scheduled = condition(&p, "PodScheduled").expect("PodScheduled");
        assert_eq!(
            (scheduled.status.as_str(), scheduled.reason.as_deref()),
            ("False", Some("Unschedulable"))
        );
        assert_eq!(ready(&p), None);
    }

    #[test]
    fn default_node_has_capacity_labels_and_is_ready() {
        let n = node("n1").build();
        assert_eq!(n.metadata.name.as_deref(), Some("n1"));
        assert_eq!(
            n.metadata
                .labels
                .as_ref()
                .and_then(|l| l.get("kubernetes.io/hostname"))
                .map(String::as_str),
            Some("n1")
        );
        let st = n.status.as_ref().expect("status");
        let want = BTreeMap::from([
            ("cpu".to_string(), q("4")),
            ("memory".to_string(), q("16Gi")),
            ("pods".to_string(), q("110")),
        ]);
        assert_eq!(st.allocatable.as_ref(), Some(&want));
        assert_eq!(st.capacity.as_ref(), Some(&want));
        let conditions = st.conditions.as_ref().expect("conditions");
        assert_eq!(
            (conditions[0].type_.as_str(), conditions[0].status.as_str()),
            ("Ready", "True")
        );
        let spec = n.spec.as_ref().expect("spec");
        assert!(spec.taints.is_none() && spec.unschedulable.is_none() && spec.provider_id.is_none());
    }

    #[test]
    fn node_resource_setters_set_allocatable_and_capacity() {
        let n = node("n1")
            .cpu("8")
            .memory("32Gi")
            .pods(58)
            .resource("nvidia.com/gpu", "1")
            .build();
        let st = n.status.expect("status");
        for map in [
            st.allocatable.expect("allocatable"),
            st.capacity.expect("capacity"),
        ] {
            assert_eq!(map.get("cpu"), Some(&q("8")));
            assert_eq!(map.get("memory"), Some(&q("32Gi")));
            assert_eq!(map.get("pods"), Some(&q("58")));
            assert_eq!(map.get("nvidia.com/gpu"), Some(&q("1")));
        }
    }

    #[test]
    fn node_spec_setters_set_taints_cordon_and_provider_id() {
        let n = node("n1")
            .label("topology.kubernetes.io/zone", "a")
            .taint("dedicated", "gpu", "NoSchedule")
            .taint("ToBeDeletedByClusterAutoscaler", "", "NoSchedule")
            .unschedulable()
            .provider_id("aws:///us-east-1a/i-0123")
            .created_at(at("2026-01-02T00:00:00Z"))
            .build();
        assert_eq!(
            n.metadata
                .labels
                .as_ref()
                .and_then(|l| l.get("topology.kubernetes.io/zone"))
                .map(String::as_str),
            Some("a")
        );
        assert_eq!(
            n.metadata.creation_timestamp,
            Some(Time(at("2026-01-02T00:00:00Z")))
        );
        let spec = n.spec.expect("spec");
        let taints = spec.taints.expect("taints");
        assert_eq!(
            (
                taints[0].key.as_str(),
                taints[0].value.as_deref(),
                taints[0].effect.as_str()
            ),
            ("dedicated", Some("gpu"), "NoSchedule")
        );
        assert_eq!(taints[1].value, None);
        assert_eq!(spec.unschedulable, Some(true));
        assert_eq!(spec.provider_id.as_deref(), Some("aws:///us-east-1a/i-0123"));
    }

    #[test]
    fn node_readiness_setters_set_the_ready_condition() {
        let status_of = |n: Node| {
            n.status.and_then(|s| s.conditions).expect("conditions")[0]
                .status
                .clone()
        };
        assert_eq!(status_of(node("n").not_ready().build()), "False");
        assert_eq!(status_of(node("n").not_ready().ready().build()), "True");
    }
}
