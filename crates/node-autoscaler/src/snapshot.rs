//! The immutable, indexed cluster a plan is made on.
//!
//! [`Snapshot::new`] takes the model's plain lists and builds the indices every step needs (node by
//! name, group by id, pods per node, requested resources per node, pending pods, registered nodes per
//! group) once. The planner never changes a snapshot: what-if changes go to a [`crate::sim::Sim`],
//! an overlay that records only the differences.

use std::collections::{BTreeMap, HashMap};

use serde::Serialize;

use crate::model::{DaemonSet, Labels, Node, NodeGroup, Pdb, Pod};
use crate::resources::Resources;

/// Index of a node in [`Snapshot::nodes`].
pub type NodeId = usize;
/// Index of a pod in [`Snapshot::pods`].
pub type PodId = usize;
/// Index of a node group in [`Snapshot::groups`].
pub type GroupId = usize;

/// Everything the caller knows about the cluster, as plain lists.
#[derive(Clone, Debug, Default)]
pub struct ClusterInput {
    /// Registered nodes.
    pub nodes: Vec<Node>,
    /// Pods: bound, pending, terminal.
    pub pods: Vec<Pod>,
    /// PodDisruptionBudgets.
    pub pdbs: Vec<Pdb>,
    /// DaemonSets (their pods land on every new node they tolerate).
    pub daemonsets: Vec<DaemonSet>,
    /// Node groups.
    pub groups: Vec<NodeGroup>,
    /// Namespace labels (for pod affinity terms with a namespace selector).
    pub namespaces: BTreeMap<String, Labels>,
}

/// Something in the input the snapshot had to leave out; the planner goes on without it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub enum SnapshotWarning {
    /// A pod names a node that is not in the input (a race between caches); it is left out.
    PodOnUnknownNode {
        /// `namespace/name`.
        pod: String,
        /// The node it names.
        node: String,
    },
    /// A node names a group that is not in the input; it is treated as not autoscaled.
    NodeInUnknownGroup {
        /// The node.
        node: String,
        /// The group it names.
        group: String,
    },
    /// Two nodes share a name; the later one is left out.
    DuplicateNode {
        /// The name.
        node: String,
    },
    /// Two groups share an id; the later one is left out.
    DuplicateGroup {
        /// The id.
        group: String,
    },
    /// A group's bounds are inverted (min > max); it is left out.
    InvalidGroupBounds {
        /// The id.
        group: String,
        /// Its min.
        min: usize,
        /// Its max.
        max: usize,
    },
}

/// The cluster, indexed.
#[derive(Debug)]
pub struct Snapshot {
    nodes: Vec<Node>,
    pods: Vec<Pod>,
    pdbs: Vec<Pdb>,
    daemonsets: Vec<DaemonSet>,
    groups: Vec<NodeGroup>,
    namespaces: BTreeMap<String, Labels>,
    node_by_name: HashMap<String, NodeId>,
    group_by_id: HashMap<String, GroupId>,
    node_group: Vec<Option<GroupId>>,
    pods_on_node: Vec<Vec<PodId>>,
    pod_node: Vec<Option<NodeId>>,
    node_requested: Vec<Resources>,
    group_nodes: Vec<Vec<NodeId>>,
    pending: Vec<PodId>,
    any_anti_affinity: bool,
    warnings: Vec<SnapshotWarning>,
}

impl Snapshot {
    /// Indexes the input. Inconsistencies do not fail the snapshot: they are left out and listed in
    /// [`Snapshot::warnings`] so that one bad object cannot stop the autoscaler.
    pub fn new(input: ClusterInput) -> Snapshot {
        let ClusterInput {
            nodes: in_nodes,
            pods,
            pdbs,
            daemonsets,
            groups: in_groups,
            namespaces,
        } = input;
        let mut warnings = Vec::new();

        let mut groups = Vec::with_capacity(in_groups.len());
        let mut group_by_id = HashMap::with_capacity(in_groups.len());
        for g in in_groups {
            if g.min > g.max {
                warnings.push(SnapshotWarning::InvalidGroupBounds {
                    group: g.id.clone(),
                    min: g.min,
                    max: g.max,
                });
                continue;
            }
            if group_by_id.contains_key(&g.id) {
                warnings.push(SnapshotWarning::DuplicateGroup { group: g.id.clone() });
                continue;
            }
            group_by_id.insert(g.id.clone(), groups.len());
            groups.push(g);
        }

        let mut nodes = Vec::with_capacity(in_nodes.len());
        let mut node_by_name = HashMap::with_capacity(in_nodes.len());
        let mut node_group = Vec::with_capacity(in_nodes.len());
        let mut group_nodes = vec![Vec::new(); groups.len()];
        for n in in_nodes {
            if node_by_name.contains_key(&n.name) {
                warnings.push(SnapshotWarning::DuplicateNode { node: n.name.clone() });
                continue;
            }
            let id = nodes.len();
            let gid = match &n.group {
                Some(g) => match group_by_id.get(g) {
                    Some(&gid) => Some(gid),
                    None => {
                        warnings.push(SnapshotWarning::NodeInUnknownGroup {
                            node: n.name.clone(),
                            group: g.clone(),
                        });
                        None
                    }
                },
                None => None,
            };
            if let Some(gid) = gid {
                group_nodes[gid].push(id);
            }
            node_group.push(gid);
            node_by_name.insert(n.name.clone(), id);
            nodes.push(n);
        }

        let mut pods_on_node = vec![Vec::new(); nodes.len()];
        let mut node_requested = vec![Resources::default(); nodes.len()];
        let mut pod_node = Vec::with_capacity(pods.len());
        let mut pending = Vec::new();
        for (pid, p) in pods.iter().enumerate() {
            let mut placed = None;
            match &p.node_name {
                Some(name) => match node_by_name.get(name) {
                    Some(&nid) => {
                        // Terminal pods hold no resources and take no part in scheduling.
                        if !p.is_terminal() {
                            pods_on_node[nid].push(pid);
                            node_requested[nid].add(&p.requests);
                        }
                        placed = Some(nid);
                    }
                    None => warnings.push(SnapshotWarning::PodOnUnknownNode {
                        pod: p.key(),
                        node: name.clone(),
                    }),
                },
                None if !p.is_terminal() => pending.push(pid),
                None => {}
            }
            pod_node.push(placed);
        }

        let any_anti_affinity = pods.iter().any(|p| !p.scheduling.pod_anti_affinity.is_empty());
        Snapshot {
            any_anti_affinity,
            nodes,
            pods,
            pdbs,
            daemonsets,
            groups,
            namespaces,
            node_by_name,
            group_by_id,
            node_group,
            pods_on_node,
            pod_node,
            node_requested,
            group_nodes,
            pending,
            warnings,
        }
    }

    /// Gives the lists back, so that a caller that snapshots often (the simulator: every scan
    /// interval) can update them in place instead of building every object again. Pods come back
    /// exactly as given, in order; nodes and groups without those [`Snapshot::warnings`] left out.
    pub fn into_input(self) -> ClusterInput {
        ClusterInput {
            nodes: self.nodes,
            pods: self.pods,
            pdbs: self.pdbs,
            daemonsets: self.daemonsets,
            groups: self.groups,
            namespaces: self.namespaces,
        }
    }

    /// Nodes.
    pub fn nodes(&self) -> &[Node] {
        &self.nodes
    }

    /// Pods.
    pub fn pods(&self) -> &[Pod] {
        &self.pods
    }

    /// PDBs.
    pub fn pdbs(&self) -> &[Pdb] {
        &self.pdbs
    }

    /// DaemonSets.
    pub fn daemonsets(&self) -> &[DaemonSet] {
        &self.daemonsets
    }

    /// Node groups.
    pub fn groups(&self) -> &[NodeGroup] {
        &self.groups
    }

    /// Namespace labels.
    pub fn namespace_labels(&self, namespace: &str) -> Option<&Labels> {
        self.namespaces.get(namespace)
    }

    /// A node by name.
    pub fn node_id(&self, name: &str) -> Option<NodeId> {
        self.node_by_name.get(name).copied()
    }

    /// A group by id.
    pub fn group_id(&self, id: &str) -> Option<GroupId> {
        self.group_by_id.get(id).copied()
    }

    /// The group a node belongs to.
    pub fn group_of(&self, node: NodeId) -> Option<GroupId> {
        self.node_group[node]
    }

    /// Non-terminal pods bound to a node.
    pub fn pods_on(&self, node: NodeId) -> &[PodId] {
        &self.pods_on_node[node]
    }

    /// The node a pod is bound to.
    pub fn node_of(&self, pod: PodId) -> Option<NodeId> {
        self.pod_node[pod]
    }

    /// The sum of the requests of the non-terminal pods on a node.
    pub fn requested(&self, node: NodeId) -> &Resources {
        &self.node_requested[node]
    }

    /// Registered nodes of a group.
    pub fn group_nodes(&self, group: GroupId) -> &[NodeId] {
        &self.group_nodes[group]
    }

    /// Nodes requested from the group that have not registered yet (`target - registered`).
    pub fn upcoming(&self, group: GroupId) -> usize {
        self.groups[group]
            .target
            .saturating_sub(self.group_nodes[group].len())
    }

    /// Unbound, non-terminal pods.
    pub fn unbound(&self) -> &[PodId] {
        &self.pending
    }

    /// Whether any pod has a required anti-affinity term (when none has, the symmetric
    /// anti-affinity check is skipped: it would scan every pod).
    pub fn any_anti_affinity(&self) -> bool {
        self.any_anti_affinity
    }

    /// What had to be left out.
    pub fn warnings(&self) -> &[SnapshotWarning] {
        &self.warnings
    }
}
