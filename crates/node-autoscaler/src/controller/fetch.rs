//! Fetch: the reflector caches the loop reads, and the snapshot built from them and the provider.
//!
//! ```text
//! Stores (kube-runtime reflectors): Nodes, Pods (managed fields stripped), PodDisruptionBudgets,
//!     DaemonSets, Namespaces, and the owners the drain rules ask about: ReplicaSets and
//!     ReplicationControllers (replica counts), StatefulSets and Jobs (metadata only)
//! fetch(stores, provider, cluster state, now) -> Fetched
//!     nodes -> group by providerID (provider.node_group_for_node)
//!     groups -> provider.node_groups + template (a registered Ready node of the group when there is
//!               one, as CA does, else provider.template) + backoff from the cluster state
//!     pods -> model (owner existence and replicas filled from the owner caches)
//!     objects that fail conversion are left out and listed (the loop turns them into warnings)
//! ```

use std::collections::{BTreeMap, HashMap};

use jiff::Timestamp;
use k8s_openapi::api::{
    apps::v1::{DaemonSet, ReplicaSet, StatefulSet},
    batch::v1::Job,
    core::v1::{Namespace, Node, Pod, ReplicationController},
    policy::v1::PodDisruptionBudget,
};
use kube::{core::PartialObjectMeta, runtime::reflector::Store};

use crate::controller::clusterstate::ClusterState;
use crate::convert::{self, Converter};
use crate::model::{self, NodeGroup};
use crate::provider::{Instance, NodeGroupProvider};
use crate::snapshot::{ClusterInput, Snapshot};

/// The reflector stores the loop reads.
#[derive(Clone)]
pub struct Stores {
    /// Nodes.
    pub nodes: Store<Node>,
    /// Pods.
    pub pods: Store<Pod>,
    /// PodDisruptionBudgets.
    pub pdbs: Store<PodDisruptionBudget>,
    /// DaemonSets.
    pub daemonsets: Store<DaemonSet>,
    /// Namespaces (their labels, for affinity namespace selectors).
    pub namespaces: Store<Namespace>,
    /// ReplicaSets (template stripped).
    pub replicasets: Store<ReplicaSet>,
    /// ReplicationControllers (template stripped).
    pub replicationcontrollers: Store<ReplicationController>,
    /// StatefulSets, metadata only.
    pub statefulsets: Store<PartialObjectMeta<StatefulSet>>,
    /// Jobs, metadata only.
    pub jobs: Store<PartialObjectMeta<Job>>,
}

impl std::fmt::Debug for Stores {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Stores")
            .field("nodes", &self.nodes.state().len())
            .field("pods", &self.pods.state().len())
            .finish_non_exhaustive()
    }
}

/// What one fetch produced.
#[derive(Debug)]
pub struct Fetched {
    /// The snapshot to plan on.
    pub snapshot: Snapshot,
    /// Per pending pod (`namespace/name`), what the simulation does not model about it.
    pub caveats: BTreeMap<String, Vec<String>>,
    /// Objects left out because they could not be converted, with why.
    pub skipped: Vec<String>,
    /// Registered nodes by name: their provider id and group.
    pub nodes: HashMap<String, NodeFacts>,
    /// Each group's instances as the provider lists them.
    pub instances: BTreeMap<String, Vec<Instance>>,
    /// Pod UIDs by `namespace/name` (for evictions).
    pub pod_uids: HashMap<String, String>,
}

/// A registered node as the loop needs it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct NodeFacts {
    /// `spec.providerID` (empty when unset).
    pub provider_id: String,
    /// Its group, when autoscaled.
    pub group: Option<String>,
    /// Its UID.
    pub uid: Option<String>,
    /// It carries the soft taint.
    pub soft_tainted: bool,
}

/// What the owner caches know about a controller, by UID.
type Owners = HashMap<String, Option<i32>>;

fn owners(stores: &Stores) -> Owners {
    let mut out = Owners::new();
    for rs in stores.replicasets.state() {
        if let Some(uid) = &rs.metadata.uid {
            out.insert(
                uid.clone(),
                Some(rs.spec.as_ref().and_then(|s| s.replicas).unwrap_or(1)),
            );
        }
    }
    for rc in stores.replicationcontrollers.state() {
        if let Some(uid) = &rc.metadata.uid {
            out.insert(
                uid.clone(),
                Some(rc.spec.as_ref().and_then(|s| s.replicas).unwrap_or(1)),
            );
        }
    }
    for uid in stores
        .statefulsets
        .state()
        .iter()
        .filter_map(|s| s.metadata.uid.clone())
        .chain(stores.jobs.state().iter().filter_map(|j| j.metadata.uid.clone()))
    {
        out.insert(uid, None);
    }
    out
}

/// The kinds whose existence the owner caches can tell.
const KNOWN_OWNER_KINDS: [&str; 4] = ["ReplicaSet", "ReplicationController", "StatefulSet", "Job"];

/// Builds the snapshot from the stores and the provider's last refresh.
pub fn fetch<P: NodeGroupProvider>(
    stores: &Stores,
    provider: &P,
    state: &ClusterState,
    converter: &mut Converter,
    now: Timestamp,
) -> Fetched {
    let mut skipped = Vec::new();
    let mut nodes = Vec::new();
    let mut facts = HashMap::new();
    for n in stores.nodes.state() {
        let provider_id = n
            .spec
            .as_ref()
            .and_then(|s| s.provider_id.clone())
            .unwrap_or_default();
        let group = (!provider_id.is_empty())
            .then(|| provider.node_group_for_node(&provider_id))
            .flatten();
        match converter.node(&n, group.clone()) {
            Ok(node) => {
                facts.insert(
                    node.name.clone(),
                    NodeFacts {
                        provider_id,
                        group,
                        uid: n.metadata.uid.clone(),
                        soft_tainted: node
                            .taints
                            .iter()
                            .any(|t| t.key == model::TAINT_DELETION_CANDIDATE),
                    },
                );
                nodes.push(node);
            }
            Err(e) => skipped.push(e.to_string()),
        }
    }

    let mut groups = Vec::new();
    let mut instances = BTreeMap::new();
    for info in provider.node_groups() {
        let registered_template = nodes
            .iter()
            .filter(|n| n.group.as_deref() == Some(info.id.as_str()) && n.ready && !n.is_being_deleted())
            .min_by(|a, b| a.name.cmp(&b.name))
            .map(|n| convert::template_from_node(n, &info.id));
        let template = match registered_template
            .map(Ok)
            .unwrap_or_else(|| provider.template(&info.id))
        {
            Ok(t) => t,
            Err(e) => {
                skipped.push(format!("node group {}: {e}", info.id));
                continue;
            }
        };
        match provider.instances(&info.id) {
            Ok(list) => {
                instances.insert(info.id.clone(), list);
            }
            Err(e) => skipped.push(format!("node group {}: {e}", info.id)),
        }
        groups.push(NodeGroup {
            backoff_until: state.backoff_until(&info.id, now),
            options: provider.group_options(&info.id),
            id: info.id,
            min: info.min,
            max: info.max,
            target: info.target,
            template,
            price_per_hour: info.price_per_hour,
        });
    }

    let owner_facts = owners(stores);
    let mut pods = Vec::new();
    let mut caveats = BTreeMap::new();
    let mut pod_uids = HashMap::new();
    for p in stores.pods.state() {
        match converter.pod(&p) {
            Ok(mut pod) => {
                if let Some(owner) = pod
                    .owner
                    .as_mut()
                    .filter(|o| KNOWN_OWNER_KINDS.contains(&o.kind.as_str()))
                {
                    match owner_facts.get(&owner.uid) {
                        Some(replicas) => {
                            owner.exists = Some(true);
                            owner.replicas = *replicas;
                        }
                        None => owner.exists = Some(false),
                    }
                }
                let key = pod.key();
                if pod.node_name.is_none() {
                    let notes = convert::unmodelled(&p);
                    if !notes.is_empty() {
                        caveats.insert(key.clone(), notes);
                    }
                }
                if let Some(uid) = &p.metadata.uid {
                    pod_uids.insert(key, uid.clone());
                }
                pods.push(pod);
            }
            Err(e) => skipped.push(e.to_string()),
        }
    }
    let pdbs = stores
        .pdbs
        .state()
        .iter()
        .filter_map(|p| converter.pdb(p).map_err(|e| skipped.push(e.to_string())).ok())
        .collect();
    let daemonsets = stores
        .daemonsets
        .state()
        .iter()
        .filter_map(|d| {
            converter
                .daemonset(d)
                .map_err(|e| skipped.push(e.to_string()))
                .ok()
        })
        .collect();
    let namespaces = stores
        .namespaces
        .state()
        .iter()
        .filter_map(|n| {
            Some((
                n.metadata.name.clone()?,
                n.metadata.labels.clone().unwrap_or_default(),
            ))
        })
        .collect();
    converter.prune();
    Fetched {
        snapshot: Snapshot::new(ClusterInput {
            nodes,
            pods,
            pdbs,
            daemonsets,
            groups,
            namespaces,
        }),
        caveats,
        skipped,
        nodes: facts,
        instances,
        pod_uids,
    }
}

/// Strips what the node autoscaler never reads from a watched pod, to keep the cache small (the
/// scheduling fields, volumes and annotations stay: the predicates and drain rules read them).
pub fn strip_pod(pod: &mut Pod) {
    swell_core::pod::strip_for_cache(pod);
}

/// Empty stores and their writers: the watches feed the writers (tests may too).
pub fn empty_stores() -> (Stores, StoreWriters) {
    use kube::runtime::reflector::store;
    let (nodes, w_nodes) = store();
    let (pods, w_pods) = store();
    let (pdbs, w_pdbs) = store();
    let (daemonsets, w_ds) = store();
    let (namespaces, w_ns) = store();
    let (replicasets, w_rs) = store();
    let (replicationcontrollers, w_rc) = store();
    let (statefulsets, w_sts) = store();
    let (jobs, w_jobs) = store();
    (
        Stores {
            nodes,
            pods,
            pdbs,
            daemonsets,
            namespaces,
            replicasets,
            replicationcontrollers,
            statefulsets,
            jobs,
        },
        StoreWriters {
            nodes: w_nodes,
            pods: w_pods,
            pdbs: w_pdbs,
            daemonsets: w_ds,
            namespaces: w_ns,
            replicasets: w_rs,
            replicationcontrollers: w_rc,
            statefulsets: w_sts,
            jobs: w_jobs,
        },
    )
}

/// The writing halves of [`Stores`]: the watches feed them (tests may too).
#[allow(missing_debug_implementations)]
pub struct StoreWriters {
    /// Nodes.
    pub nodes: kube::runtime::reflector::store::Writer<Node>,
    /// Pods.
    pub pods: kube::runtime::reflector::store::Writer<Pod>,
    /// PDBs.
    pub pdbs: kube::runtime::reflector::store::Writer<PodDisruptionBudget>,
    /// DaemonSets.
    pub daemonsets: kube::runtime::reflector::store::Writer<DaemonSet>,
    /// Namespaces.
    pub namespaces: kube::runtime::reflector::store::Writer<Namespace>,
    /// ReplicaSets.
    pub replicasets: kube::runtime::reflector::store::Writer<ReplicaSet>,
    /// ReplicationControllers.
    pub replicationcontrollers: kube::runtime::reflector::store::Writer<ReplicationController>,
    /// StatefulSets.
    pub statefulsets: kube::runtime::reflector::store::Writer<PartialObjectMeta<StatefulSet>>,
    /// Jobs.
    pub jobs: kube::runtime::reflector::store::Writer<PartialObjectMeta<Job>>,
}

/// Applies `objects` to a writer as one initial listing, so that its store reads them and counts as
/// synced (for tests and for feeding a store by hand).
pub fn load<K>(writer: &mut kube::runtime::reflector::store::Writer<K>, objects: impl IntoIterator<Item = K>)
where
    K: kube::Resource + Clone + 'static,
    K::DynamicType: Eq + std::hash::Hash + Clone + Default,
{
    use kube::runtime::watcher::Event;
    writer.apply_watcher_event(&Event::Init);
    for o in objects {
        writer.apply_watcher_event(&Event::InitApply(o));
    }
    writer.apply_watcher_event(&Event::InitDone);
}
