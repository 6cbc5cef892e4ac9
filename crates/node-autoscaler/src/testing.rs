//! Builders for the model, and the generator of the benchmark scenarios S1-S4.
//!
//! Compiled for this crate's tests and, for other crates (the simulator, benches), with the
//! `test-util` feature. Builders start from a realistic default (a Ready node of 4 cores and 16 GiB,
//! a ReplicaSet pod of 100m and 128 MiB created at [`swell_core::testing::t0`]), are changed by
//! chained calls, and end with `.build()`.
//!
//! The scenario generators build exactly the inputs of `shared/reference/bench-scenarios.md`, so
//! that figures measured anywhere compare with Cluster Autoscaler's.

use std::sync::Arc;

use jiff::{SignedDuration, Timestamp};

use crate::model::{
    HostPort, LABEL_HOSTNAME, LABEL_ZONE, Labels, Node, NodeGroup, NodeSelectorTerm, Owner, Pdb, Pod,
    PodAffinityTerm, PodPhase, SafeToEvict, SchedulingSpec, Taint, TaintEffect, Toleration,
    TolerationOperator, Volume, VolumeKind,
};
use crate::resources::Resources;
use crate::snapshot::ClusterInput;

/// The fixed instant builders default to (2026-01-01T00:00:00Z).
pub fn t0() -> Timestamp {
    swell_core::testing::t0()
}

/// One gibibyte.
pub const GI: i64 = 1 << 30;
/// One mebibyte.
pub const MI: i64 = 1 << 20;

/// A node builder.
#[derive(Clone, Debug)]
pub struct NodeBuilder(Node);

/// A Ready node of 4 cores, 16 GiB and 110 pods, in no group.
pub fn node(name: &str) -> NodeBuilder {
    let alloc = Resources::cpu_mem(4000, 16 * GI).with_pods(110);
    let mut labels = Labels::new();
    labels.insert(LABEL_HOSTNAME.into(), name.into());
    NodeBuilder(Node {
        name: name.into(),
        group: None,
        capacity: alloc.clone(),
        allocatable: alloc,
        labels,
        taints: Vec::new(),
        ready: true,
        ready_transition: Some(t0()),
        unschedulable: false,
        created: t0(),
        scale_down_disabled: false,
    })
}

impl NodeBuilder {
    /// Allocatable (and capacity) cpu in millicores and memory in bytes.
    pub fn cpu_mem(mut self, cpu: i64, memory: i64) -> Self {
        self.0.allocatable.cpu = cpu;
        self.0.allocatable.memory = memory;
        self.0.capacity.cpu = cpu;
        self.0.capacity.memory = memory;
        self
    }
    /// Pod slots.
    pub fn pods(mut self, n: i64) -> Self {
        self.0.allocatable.pods = n;
        self.0.capacity.pods = n;
        self
    }
    /// An allocatable (and capacity) resource by name.
    pub fn resource(mut self, name: &str, amount: i64) -> Self {
        self.0.allocatable.set(name, amount);
        self.0.capacity.set(name, amount);
        self
    }
    /// The node group.
    pub fn group(mut self, group: &str) -> Self {
        self.0.group = Some(group.into());
        self
    }
    /// A label.
    pub fn label(mut self, k: &str, v: &str) -> Self {
        self.0.labels.insert(k.into(), v.into());
        self
    }
    /// The zone label.
    pub fn zone(self, zone: &str) -> Self {
        self.label(LABEL_ZONE, zone)
    }
    /// A taint.
    pub fn taint(mut self, key: &str, value: &str, effect: TaintEffect) -> Self {
        self.0.taints.push(Taint::new(key, value, effect));
        self
    }
    /// Cordoned.
    pub fn unschedulable(mut self) -> Self {
        self.0.unschedulable = true;
        self
    }
    /// Not Ready since `since`.
    pub fn not_ready_since(mut self, since: Timestamp) -> Self {
        self.0.ready = false;
        self.0.ready_transition = Some(since);
        self
    }
    /// The scale-down-disabled annotation.
    pub fn scale_down_disabled(mut self) -> Self {
        self.0.scale_down_disabled = true;
        self
    }
    /// The node.
    pub fn build(self) -> Node {
        self.0
    }
}

/// A pod builder.
#[derive(Clone, Debug)]
pub struct PodBuilder(Pod, SchedulingSpec);

/// The empty scheduling spec, one `Arc` shared by every pod built without constraints (as the
/// replicas of a workload share theirs after conversion).
fn default_spec() -> Arc<SchedulingSpec> {
    static DEFAULT: std::sync::OnceLock<Arc<SchedulingSpec>> = std::sync::OnceLock::new();
    Arc::clone(DEFAULT.get_or_init(|| Arc::new(SchedulingSpec::default())))
}

/// A Running pod of 100m and 128 MiB owned by ReplicaSet `rs` in namespace `default`, unbound.
pub fn pod(name: &str) -> PodBuilder {
    PodBuilder(
        Pod {
            namespace: "default".into(),
            name: name.into(),
            node_name: None,
            requests: Resources::cpu_mem(100, 128 * MI).with_pods(1),
            priority: 0,
            owner: Some(Owner {
                kind: "ReplicaSet".into(),
                name: "rs".into(),
                uid: "uid-rs".into(),
                exists: Some(true),
                replicas: Some(3),
            }),
            labels: Labels::new(),
            scheduling: default_spec(),
            volumes: Vec::new(),
            phase: PodPhase::Running,
            deletion_timestamp: None,
            termination_grace_seconds: 30,
            created: t0(),
            unschedulable: false,
            scheduling_gated: false,
            mirror: false,
            safe_to_evict: SafeToEvict::Unset,
            safe_to_evict_local_volumes: Vec::new(),
            scale_up_delay: None,
        },
        SchedulingSpec::default(),
    )
}

impl PodBuilder {
    /// Namespace.
    pub fn namespace(mut self, ns: &str) -> Self {
        self.0.namespace = ns.into();
        self
    }
    /// Requests: cpu in millicores, memory in bytes.
    pub fn req(mut self, cpu: i64, memory: i64) -> Self {
        self.0.requests.cpu = cpu;
        self.0.requests.memory = memory;
        self
    }
    /// A request by resource name.
    pub fn request(mut self, name: &str, amount: i64) -> Self {
        self.0.requests.set(name, amount);
        self
    }
    /// Bound to a node (Running).
    pub fn on(mut self, node: &str) -> Self {
        self.0.node_name = Some(node.into());
        self.0.phase = PodPhase::Running;
        self
    }
    /// Pending and marked unschedulable by the scheduler.
    pub fn pending(mut self) -> Self {
        self.0.node_name = None;
        self.0.phase = PodPhase::Pending;
        self.0.unschedulable = true;
        self
    }
    /// Pending, not (yet) marked unschedulable.
    pub fn pending_unmarked(mut self) -> Self {
        self.0.node_name = None;
        self.0.phase = PodPhase::Pending;
        self.0.unschedulable = false;
        self
    }
    /// Phase.
    pub fn phase(mut self, phase: PodPhase) -> Self {
        self.0.phase = phase;
        self
    }
    /// Owner (kind, name); the uid is derived from both.
    pub fn owner(mut self, kind: &str, name: &str) -> Self {
        self.0.owner = Some(Owner {
            kind: kind.into(),
            name: name.into(),
            uid: format!("uid-{kind}-{name}"),
            exists: Some(true),
            replicas: Some(3),
        });
        self
    }
    /// No controller.
    pub fn no_owner(mut self) -> Self {
        self.0.owner = None;
        self
    }
    /// A label.
    pub fn label(mut self, k: &str, v: &str) -> Self {
        self.0.labels.insert(k.into(), v.into());
        self
    }
    /// Priority.
    pub fn priority(mut self, p: i32) -> Self {
        self.0.priority = p;
        self
    }
    /// Creation time.
    pub fn created(mut self, at: Timestamp) -> Self {
        self.0.created = at;
        self
    }
    /// The per-pod scale-up delay annotation.
    pub fn scale_up_delay(mut self, d: SignedDuration) -> Self {
        self.0.scale_up_delay = Some(d);
        self
    }
    /// Scheduling gates.
    pub fn gated(mut self) -> Self {
        self.0.scheduling_gated = true;
        self
    }
    /// A mirror pod.
    pub fn mirror(mut self) -> Self {
        self.0.mirror = true;
        self.0.owner = None;
        self
    }
    /// Owned by a DaemonSet.
    pub fn daemonset(self, name: &str) -> Self {
        self.owner("DaemonSet", name)
    }
    /// The safe-to-evict annotation.
    pub fn safe_to_evict(mut self, v: SafeToEvict) -> Self {
        self.0.safe_to_evict = v;
        self
    }
    /// A volume.
    pub fn volume(mut self, name: &str, kind: VolumeKind) -> Self {
        self.0.volumes.push(Volume {
            name: name.into(),
            kind,
        });
        self
    }
    /// Deletion requested at `at`.
    pub fn deleting(mut self, at: Timestamp) -> Self {
        self.0.deletion_timestamp = Some(at);
        self
    }
    /// A nodeSelector entry.
    pub fn node_selector(mut self, k: &str, v: &str) -> Self {
        self.1.node_selector.insert(k.into(), v.into());
        self
    }
    /// Required node affinity terms (OR'ed).
    pub fn node_affinity(mut self, terms: Vec<NodeSelectorTerm>) -> Self {
        self.1.node_affinity = Some(terms);
        self
    }
    /// A toleration (`Equal` when `value` is given, else `Exists`).
    pub fn tolerate(mut self, key: &str, value: Option<&str>, effect: Option<TaintEffect>) -> Self {
        self.1.tolerations.push(Toleration {
            key: key.into(),
            operator: if value.is_some() {
                TolerationOperator::Equal
            } else {
                TolerationOperator::Exists
            },
            value: value.unwrap_or_default().into(),
            effect,
        });
        self
    }
    /// A host port (TCP, all addresses).
    pub fn host_port(mut self, port: i32) -> Self {
        self.1.host_ports.push(HostPort {
            port,
            protocol: "TCP".into(),
            ip: String::new(),
        });
        self
    }
    /// A required pod affinity term.
    pub fn affinity(mut self, term: PodAffinityTerm) -> Self {
        self.1.pod_affinity.push(term);
        self
    }
    /// A required pod anti-affinity term.
    pub fn anti_affinity(mut self, term: PodAffinityTerm) -> Self {
        self.1.pod_anti_affinity.push(term);
        self
    }
    /// The pod.
    pub fn build(mut self) -> Pod {
        if self.1 != SchedulingSpec::default() {
            self.0.scheduling = Arc::new(self.1);
        }
        self.0
    }
}

/// A required (anti-)affinity term selecting `key=value` pods of the pod's namespace.
pub fn term(key: &str, value: &str, topology_key: &str) -> PodAffinityTerm {
    let selector = swell_core::selector::Selector::parse(&format!("{key}={value}"))
        .unwrap_or_else(|_| swell_core::selector::Selector::nothing());
    PodAffinityTerm {
        selector,
        namespaces: Vec::new(),
        namespace_selector: None,
        topology_key: topology_key.into(),
    }
}

/// A node group whose template is `template` (its group set to the id), with `min`, `max` and
/// `target`.
pub fn group(id: &str, template: NodeBuilder, min: usize, max: usize, target: usize) -> NodeGroup {
    let mut t = template.group(id).build();
    t.name = format!("template-{id}");
    t.labels.insert(LABEL_HOSTNAME.into(), t.name.clone());
    NodeGroup {
        id: id.into(),
        min,
        max,
        target,
        template: t,
        price_per_hour: None,
        backoff_until: None,
        options: Default::default(),
    }
}

/// A PDB over `key=value` pods of `namespace` allowing `allowed` disruptions.
pub fn pdb(namespace: &str, name: &str, key: &str, value: &str, allowed: i32) -> Pdb {
    Pdb {
        namespace: namespace.into(),
        name: name.into(),
        selector: swell_core::selector::Selector::parse(&format!("{key}={value}"))
            .unwrap_or_else(|_| swell_core::selector::Selector::nothing()),
        disruptions_allowed: allowed,
    }
}

/// The benchmark scenarios of `bench-scenarios.md`.
pub mod scenarios {
    use super::*;

    /// S1: no nodes; one group `s1` (min 0, max 3,000, target 0) of 1000m / 5000 / 100 pods; 50,000
    /// pending pods of 50m / 100 and 1,000 of 95m / 190. Expected: 2,595 nodes, 51,000 pods placed.
    pub fn s1() -> ClusterInput {
        let mut pods = Vec::with_capacity(51_000);
        for i in 0..50_000 {
            pods.push(
                pod(&format!("small-{i}"))
                    .owner("ReplicaSet", "rs-0")
                    .req(50, 100)
                    .pending()
                    .build(),
            );
        }
        for i in 0..1_000 {
            pods.push(
                pod(&format!("big-{i}"))
                    .owner("ReplicaSet", "rs-1")
                    .req(95, 190)
                    .pending()
                    .build(),
            );
        }
        let template = node("x").cpu_mem(1000, 5000).pods(100);
        ClusterInput {
            pods,
            groups: vec![group("s1", template, 0, 3_000, 0)],
            ..ClusterInput::default()
        }
    }

    /// S2: 1,000 nodes of 2000m / 200,000 each holding one pod of 1000m / 200,000 (memory full);
    /// 12,000 pending pods of 1000m / 2,000,000. Expected: all 12,000 stay unschedulable. No node
    /// group can take them either (none is defined).
    pub fn s2() -> ClusterInput {
        let mut nodes = Vec::with_capacity(1_000);
        let mut pods = Vec::with_capacity(13_000);
        for i in 0..1_000 {
            let name = format!("s2-node-{i}");
            pods.push(
                pod(&format!("running-{i}"))
                    .owner("ReplicaSet", "rs-0")
                    .req(1000, 200_000)
                    .on(&name)
                    .build(),
            );
            nodes.push(node(&name).cpu_mem(2000, 200_000).build());
        }
        for i in 0..12_000 {
            pods.push(
                pod(&format!("pending-{i}"))
                    .owner("ReplicaSet", "rs-1")
                    .req(1000, 2_000_000)
                    .pending()
                    .build(),
            );
        }
        ClusterInput {
            nodes,
            pods,
            ..ClusterInput::default()
        }
    }

    /// S3: `n` nodes in `k` groups (node i in group i mod k; group g of 4000 x 2^(g mod 3) millicores
    /// and 16 GiB x 2^(g mod 3)), 30 pods per node at 90% of cpu and 256 MiB each, `m` pending pods of
    /// 500m / 1 GiB in 10 ReplicaSets. Groups: min 0, max 100,000, target = their node count.
    pub fn s3(n: usize, k: usize, m: usize) -> ClusterInput {
        let shape = |g: usize| {
            let f = 1i64 << (g % 3);
            (4000 * f, 16 * GI * f)
        };
        let mut nodes = Vec::with_capacity(n);
        let mut pods = Vec::with_capacity(n * 30 + m);
        for i in 0..n {
            let g = i % k;
            let (cpu, mem) = shape(g);
            let name = format!("s3-node-{i}");
            let per_pod = cpu * 9 / 10 / 30;
            let owner = format!("rs-{}", 100 + i);
            for j in 0..30 {
                pods.push(
                    pod(&format!("run-{i}-{j}"))
                        .owner("ReplicaSet", &owner)
                        .req(per_pod, 256 * MI)
                        .on(&name)
                        .build(),
                );
            }
            nodes.push(node(&name).cpu_mem(cpu, mem).group(&format!("group-{g}")).build());
        }
        for i in 0..m {
            let owner = format!("rs-{}", i % 10);
            pods.push(
                pod(&format!("pending-{i}"))
                    .owner("ReplicaSet", &owner)
                    .req(500, GI)
                    .pending()
                    .build(),
            );
        }
        let groups = (0..k)
            .map(|g| {
                let (cpu, mem) = shape(g);
                let target = (0..n).filter(|i| i % k == g).count();
                group(
                    &format!("group-{g}"),
                    node("x").cpu_mem(cpu, mem),
                    0,
                    100_000,
                    target,
                )
            })
            .collect();
        ClusterInput {
            nodes,
            pods,
            groups,
            ..ClusterInput::default()
        }
    }

    /// S4: `n` nodes of 8000m / 32 GiB in one group (min 0, max 100,000), 30 ReplicaSet pods per node
    /// of 256 MiB and 8000 x u / 30 millicores, u = 25% on the first 30% of the nodes and 70% on the
    /// rest. Expected with threshold 0.5 and unneeded time 0: the low 30% are removable.
    pub fn s4(n: usize) -> ClusterInput {
        let mut nodes = Vec::with_capacity(n);
        let mut pods = Vec::with_capacity(n * 30);
        let low = n * 3 / 10;
        for i in 0..n {
            let name = format!("s4-node-{i:05}");
            let u = if i < low { 25 } else { 70 };
            let per_pod = 8000 * u / 100 / 30;
            let owner = format!("rs-{i}");
            for j in 0..30 {
                pods.push(
                    pod(&format!("run-{i}-{j}"))
                        .owner("ReplicaSet", &owner)
                        .req(per_pod, 256 * MI)
                        .on(&name)
                        .build(),
                );
            }
            nodes.push(node(&name).cpu_mem(8000, 32 * GI).group("s4").build());
        }
        let groups = vec![group("s4", node("x").cpu_mem(8000, 32 * GI), 0, 100_000, n)];
        ClusterInput {
            nodes,
            pods,
            groups,
            ..ClusterInput::default()
        }
    }
}

/// A recorded call to the [`FakeProvider`].
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum ProviderCall {
    /// `refresh`.
    Refresh,
    /// `set_target_size(group, size)`.
    SetTargetSize(String, usize),
    /// `delete_nodes(group, ids)`.
    DeleteNodes(String, Vec<String>),
}

#[derive(Debug, Default)]
struct FakeState {
    groups: Vec<(crate::provider::GroupInfo, Node, Vec<crate::provider::Instance>)>,
    next_instance: usize,
    calls: Vec<ProviderCall>,
    fail_next: Vec<(&'static str, crate::provider::ErrorClass)>,
}

/// An in-memory [`crate::provider::NodeGroupProvider`] that records its calls and fails on request
/// (one-shot errors per method), for the controller's tier-2 tests and the simulator. New instances
/// are `Creating` until [`FakeProvider::boot_all`]; ids are `fake:///<group>/<n>`.
#[derive(Debug, Default)]
pub struct FakeProvider {
    state: std::sync::Mutex<FakeState>,
}

impl FakeProvider {
    fn lock(&self) -> std::sync::MutexGuard<'_, FakeState> {
        // A panic while holding the lock can only come from a test assertion; keep going.
        self.state
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    /// Adds a group with `target` running instances.
    pub fn with_group(self, id: &str, min: usize, max: usize, target: usize, template: Node) -> FakeProvider {
        {
            let mut s = self.lock();
            let mut instances = Vec::new();
            for _ in 0..target {
                let n = s.next_instance;
                s.next_instance += 1;
                instances.push(crate::provider::Instance {
                    provider_id: format!("fake:///{id}/{n}"),
                    state: crate::provider::InstanceState::Running,
                });
            }
            let info = crate::provider::GroupInfo {
                id: id.into(),
                min,
                max,
                target,
                price_per_hour: None,
            };
            s.groups.push((info, template, instances));
        }
        self
    }

    /// Makes the next call of `method` ("refresh", "set_target_size", "delete_nodes") fail once with
    /// `class`.
    pub fn fail_next(&self, method: &'static str, class: crate::provider::ErrorClass) {
        self.lock().fail_next.push((method, class));
    }

    /// The calls so far.
    pub fn calls(&self) -> Vec<ProviderCall> {
        self.lock().calls.clone()
    }

    /// Turns every `Creating` instance into `Running`.
    pub fn boot_all(&self) {
        for (_, _, instances) in &mut self.lock().groups {
            for i in instances.iter_mut() {
                if i.state == crate::provider::InstanceState::Creating {
                    i.state = crate::provider::InstanceState::Running;
                }
            }
        }
    }

    /// Marks every `Creating` instance of the group as failed with `class`.
    pub fn fail_creating(&self, group: &str, class: crate::provider::ErrorClass) {
        for (info, _, instances) in &mut self.lock().groups {
            if info.id == group {
                for i in instances.iter_mut() {
                    if i.state == crate::provider::InstanceState::Creating {
                        i.state = crate::provider::InstanceState::FailedToCreate {
                            class,
                            message: "the fake cloud is out of capacity".into(),
                        };
                    }
                }
            }
        }
    }

    fn take_failure(s: &mut FakeState, method: &str) -> Option<crate::provider::ErrorClass> {
        let i = s.fail_next.iter().position(|(m, _)| *m == method)?;
        Some(s.fail_next.remove(i).1)
    }
}

impl crate::provider::NodeGroupProvider for FakeProvider {
    async fn refresh(&self) -> crate::provider::Result<()> {
        let mut s = self.lock();
        s.calls.push(ProviderCall::Refresh);
        match FakeProvider::take_failure(&mut s, "refresh") {
            Some(class) => Err(crate::provider::ProviderError::new(
                class,
                "refresh node groups",
                "injected",
            )),
            None => Ok(()),
        }
    }

    fn node_groups(&self) -> Vec<crate::provider::GroupInfo> {
        self.lock().groups.iter().map(|(g, _, _)| g.clone()).collect()
    }

    fn node_group_for_node(&self, provider_id: &str) -> Option<String> {
        self.lock()
            .groups
            .iter()
            .find(|(_, _, instances)| instances.iter().any(|i| i.provider_id == provider_id))
            .map(|(g, _, _)| g.id.clone())
    }

    fn template(&self, group: &str) -> crate::provider::Result<Node> {
        self.lock()
            .groups
            .iter()
            .find(|(g, _, _)| g.id == group)
            .map(|(_, t, _)| t.clone())
            .ok_or_else(|| {
                crate::provider::ProviderError::new(
                    crate::provider::ErrorClass::NotFound,
                    format!("get the template of group {group}"),
                    "no such group",
                )
            })
    }

    fn instances(&self, group: &str) -> crate::provider::Result<Vec<crate::provider::Instance>> {
        self.lock()
            .groups
            .iter()
            .find(|(g, _, _)| g.id == group)
            .map(|(_, _, i)| i.clone())
            .ok_or_else(|| {
                crate::provider::ProviderError::new(
                    crate::provider::ErrorClass::NotFound,
                    format!("list the instances of group {group}"),
                    "no such group",
                )
            })
    }

    async fn set_target_size(&self, group: &str, size: usize) -> crate::provider::Result<()> {
        use crate::provider::{ErrorClass, Instance, InstanceState, ProviderError};
        let mut s = self.lock();
        s.calls.push(ProviderCall::SetTargetSize(group.into(), size));
        let op = format!("set the target size of group {group} to {size}");
        if let Some(class) = FakeProvider::take_failure(&mut s, "set_target_size") {
            return Err(ProviderError::new(class, op, "injected"));
        }
        let mut next = s.next_instance;
        let Some((info, _, instances)) = s.groups.iter_mut().find(|(g, _, _)| g.id == group) else {
            return Err(ProviderError::new(ErrorClass::NotFound, op, "no such group"));
        };
        if size < info.min || size > info.max {
            return Err(ProviderError::new(
                ErrorClass::Fatal,
                op,
                format!("outside the group's bounds {}..={}", info.min, info.max),
            ));
        }
        while instances.len() < size {
            instances.push(Instance {
                provider_id: format!("fake:///{group}/{next}"),
                state: InstanceState::Creating,
            });
            next += 1;
        }
        if instances.len() > size {
            // Like a cloud lowering desired capacity: the newest instances go.
            instances.truncate(size);
        }
        info.target = size;
        s.next_instance = next;
        Ok(())
    }

    async fn delete_nodes(&self, group: &str, provider_ids: &[String]) -> crate::provider::Result<()> {
        use crate::provider::{ErrorClass, ProviderError};
        let mut s = self.lock();
        s.calls
            .push(ProviderCall::DeleteNodes(group.into(), provider_ids.to_vec()));
        let op = format!("delete {} node(s) of group {group}", provider_ids.len());
        if let Some(class) = FakeProvider::take_failure(&mut s, "delete_nodes") {
            return Err(ProviderError::new(class, op, "injected"));
        }
        let Some((info, _, instances)) = s.groups.iter_mut().find(|(g, _, _)| g.id == group) else {
            return Err(ProviderError::new(ErrorClass::NotFound, op, "no such group"));
        };
        if let Some(missing) = provider_ids
            .iter()
            .find(|id| !instances.iter().any(|i| &i.provider_id == *id))
        {
            return Err(ProviderError::new(
                ErrorClass::NotFound,
                op,
                format!("{missing} is not in the group"),
            ));
        }
        if info.target < info.min + provider_ids.len() {
            return Err(ProviderError::new(
                ErrorClass::Fatal,
                op,
                format!("the group would go below its minimum size {}", info.min),
            ));
        }
        instances.retain(|i| !provider_ids.contains(&i.provider_id));
        info.target -= provider_ids.len();
        Ok(())
    }
}
