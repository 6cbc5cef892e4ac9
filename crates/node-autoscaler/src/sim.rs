//! A what-if overlay on a [`Snapshot`]: add template nodes, place pods, remove nodes, and undo.
//!
//! The snapshot is never copied. The overlay keeps, per node, the requested resources (copied once
//! when the overlay is made: one small vector per node), the pods placed on it by the simulation and
//! a removed flag; new nodes are copies of a group's template that exist only as an index. Every
//! change is journaled, so [`Sim::rollback`] to a [`Sim::mark`] undoes a failed attempt (a node whose
//! pods could not all move) in time proportional to the attempt, not to the cluster.

use crate::model::{Node, Pod};
use crate::predicates;
use crate::resources::Resources;
use crate::snapshot::{GroupId, NodeId, PodId, Snapshot};

/// A node of the simulation: `id < snapshot.nodes().len()` is a registered node with the same
/// index; above are template copies added by the simulation.
pub type SimNodeId = usize;

#[derive(Clone, Copy, Debug)]
enum Undo {
    Place { node: SimNodeId },
    Remove { node: SimNodeId },
    AddNode,
}

/// A node added by the simulation.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct AddedNode {
    /// The group whose template it copies.
    pub group: GroupId,
    /// Its ordinal among the group's added nodes (for names in explanations).
    pub ordinal: usize,
}

/// The overlay.
#[derive(Debug)]
pub struct Sim<'s> {
    snap: &'s Snapshot,
    used: Vec<Resources>,
    placed: Vec<Vec<PodId>>,
    removed: Vec<bool>,
    added: Vec<AddedNode>,
    added_per_group: Vec<usize>,
    template_overhead: Vec<Resources>,
    template_daemonsets: Vec<usize>,
    journal: Vec<Undo>,
}

/// A point to roll back to.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Mark(usize);

impl<'s> Sim<'s> {
    /// An overlay with no changes. Computes each group's DaemonSet overhead on a new node (the
    /// DaemonSets whose pods would schedule on its template).
    pub fn new(snap: &'s Snapshot) -> Sim<'s> {
        let n = snap.nodes().len();
        let mut template_overhead = Vec::with_capacity(snap.groups().len());
        let mut template_daemonsets = Vec::with_capacity(snap.groups().len());
        for g in snap.groups() {
            let mut overhead = Resources::default();
            let mut count = 0;
            for ds in snap.daemonsets() {
                if predicates::static_check(&ds.scheduling, &g.template).is_ok() {
                    overhead.add(&ds.requests);
                    count += 1;
                }
            }
            template_overhead.push(overhead);
            template_daemonsets.push(count);
        }
        Sim {
            snap,
            used: (0..n).map(|i| snap.requested(i).clone()).collect(),
            placed: vec![Vec::new(); n],
            removed: vec![false; n],
            added: Vec::new(),
            added_per_group: vec![0; snap.groups().len()],
            template_overhead,
            template_daemonsets,
            journal: Vec::new(),
        }
    }

    /// The snapshot under the overlay.
    pub fn snapshot(&self) -> &'s Snapshot {
        self.snap
    }

    /// All nodes, live or removed, registered or added.
    pub fn len(&self) -> usize {
        self.used.len()
    }

    /// Whether there are no nodes at all.
    pub fn is_empty(&self) -> bool {
        self.used.is_empty()
    }

    /// The node's object: the registered node, or the group's template for an added node.
    pub fn node(&self, id: SimNodeId) -> &'s Node {
        let base = self.snap.nodes().len();
        if id < base {
            &self.snap.nodes()[id]
        } else {
            &self.snap.groups()[self.added[id - base].group].template
        }
    }

    /// The added node behind `id`, if it was added by the simulation.
    pub fn added(&self, id: SimNodeId) -> Option<AddedNode> {
        id.checked_sub(self.snap.nodes().len()).map(|i| self.added[i])
    }

    /// A name for the node: its own, or `<template name>-<ordinal>` for an added node.
    pub fn node_name(&self, id: SimNodeId) -> String {
        match self.added(id) {
            Some(a) => format!("{}-{}", self.node(id).name, a.ordinal),
            None => self.node(id).name.clone(),
        }
    }

    /// Requested resources on the node in the simulation.
    pub fn used(&self, id: SimNodeId) -> &Resources {
        &self.used[id]
    }

    /// Whether the node was removed by the simulation.
    pub fn is_removed(&self, id: SimNodeId) -> bool {
        self.removed[id]
    }

    /// The pods on a live node: those bound in the snapshot and those placed by the simulation.
    pub fn pods_on(&self, id: SimNodeId) -> impl Iterator<Item = PodId> + '_ {
        let base: &[PodId] = if id < self.snap.nodes().len() {
            self.snap.pods_on(id)
        } else {
            &[]
        };
        base.iter().chain(self.placed[id].iter()).copied()
    }

    /// The pods the simulation placed on a node.
    pub fn placed_on(&self, id: SimNodeId) -> &[PodId] {
        &self.placed[id]
    }

    /// A pod by id.
    pub fn pod(&self, id: PodId) -> &'s Pod {
        &self.snap.pods()[id]
    }

    /// The DaemonSet requests on a new node of the group.
    pub fn template_overhead(&self, group: GroupId) -> &Resources {
        &self.template_overhead[group]
    }

    /// How many DaemonSets would run a pod on a new node of the group.
    pub fn template_daemonsets(&self, group: GroupId) -> usize {
        self.template_daemonsets[group]
    }

    /// Adds a copy of the group's template, with its DaemonSet pods' requests already used.
    pub fn add_node(&mut self, group: GroupId) -> SimNodeId {
        let id = self.used.len();
        self.used.push(self.template_overhead[group].clone());
        self.placed.push(Vec::new());
        self.removed.push(false);
        self.added.push(AddedNode {
            group,
            ordinal: self.added_per_group[group],
        });
        self.added_per_group[group] += 1;
        self.journal.push(Undo::AddNode);
        id
    }

    /// Places a pod on a node (the caller checked the predicates).
    pub fn place(&mut self, pod: PodId, node: SimNodeId) {
        self.used[node].add(&self.snap.pods()[pod].requests);
        self.placed[node].push(pod);
        self.journal.push(Undo::Place { node });
    }

    /// Places `n` copies of equivalent pods at once: `pods` are their ids.
    pub fn place_many(&mut self, pods: &[PodId], node: SimNodeId) {
        if let Some(&first) = pods.first() {
            self.used[node].add_times(&self.snap.pods()[first].requests, pods.len() as i64);
            self.placed[node].extend_from_slice(pods);
            self.journal
                .extend(std::iter::repeat_n(Undo::Place { node }, pods.len()));
        }
    }

    /// Removes a node: it takes no pods, and its own pods no longer count anywhere.
    pub fn remove_node(&mut self, node: NodeId) {
        self.removed[node] = true;
        self.journal.push(Undo::Remove { node });
    }

    /// The current point of the journal.
    pub fn mark(&self) -> Mark {
        Mark(self.journal.len())
    }

    /// Undoes every change made after `mark`.
    pub fn rollback(&mut self, mark: Mark) {
        while self.journal.len() > mark.0 {
            let Some(undo) = self.journal.pop() else { break };
            match undo {
                Undo::Place { node } => {
                    if let Some(pod) = self.placed[node].pop() {
                        self.used[node].sub(&self.snap.pods()[pod].requests);
                    }
                }
                Undo::Remove { node } => self.removed[node] = false,
                Undo::AddNode => {
                    self.used.pop();
                    self.placed.pop();
                    self.removed.pop();
                    if let Some(a) = self.added.pop() {
                        self.added_per_group[a.group] -= 1;
                    }
                }
            }
        }
    }
}
