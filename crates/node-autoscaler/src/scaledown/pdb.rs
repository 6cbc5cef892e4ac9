//! PodDisruptionBudgets as a budget that a scale-down plan spends.
//!
//! Cluster Autoscaler's `RemainingPdbTracker` (`core/scaledown/pdb/basic.go`): it starts from each
//! PDB's `status.disruptionsAllowed` and, as the planner picks nodes to drain, takes one disruption
//! per evicted pod from every PDB covering that pod. So a budget of 1 lets one node with one covered
//! pod go, not every such node in the cluster: the disruptions are tracked across the whole plan,
//! not per node.
//!
//! ```text
//! &[Pdb] --new--> PdbTracker (remaining per PDB, PDBs indexed by namespace)
//!   covering(pod)          which PDBs cover a pod (the system and PDB drain rules read it)
//!   can_evict(node pods)   strict: every covered pod of the node fits in what remains
//!   can_remove(node pods)  CA's CanRemovePods: blocked only by an exhausted PDB
//!   evict(node pods)       the node is in the plan: spend its pods' disruptions
//! ```
//!
//! Which pods a PDB covers is [`Pdb::covers`]: same namespace and a matching selector. As in
//! policy/v1, an empty selector (`{}`) covers every pod of the namespace; a PDB with no selector at
//! all is converted to one that selects nothing.

use std::collections::HashMap;

use serde::Serialize;

use crate::model::{Pdb, Pod};

/// The PDBs of a cluster with the disruptions each still allows.
#[derive(Clone, Debug, Default)]
pub struct PdbTracker {
    pdbs: Vec<Pdb>,
    remaining: Vec<i32>,
    /// PDB indices per namespace, ascending: a PDB only ever covers pods of its own namespace.
    by_namespace: HashMap<String, Vec<usize>>,
}

/// A pod that a PDB keeps from being evicted.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct PdbBlock {
    /// Index of the pod in the slice that was checked.
    pub pod: usize,
    /// Index of the PDB in the tracker ([`PdbTracker::pdb`]).
    pub pdb: usize,
    /// The PDB's name (it is in the pod's namespace).
    pub name: String,
    /// Disruptions the PDB still allowed when the pods were checked.
    pub remaining: i32,
}

/// What Cluster Autoscaler's `CanRemovePods` says of a set of pods.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub enum Removal {
    /// Every covering PDB allows at least as many disruptions as it covers pods: evict them all at once.
    InParallel,
    /// Every covering PDB allows at least one disruption, but some cover more pods than they allow:
    /// the node can still be drained, its evictions retried as the budget recovers. The block names
    /// the last such pod, as upstream does.
    Sequential(PdbBlock),
    /// A covering PDB allows no disruption at all: the node cannot be drained.
    Blocked(PdbBlock),
}

impl PdbTracker {
    /// A tracker starting from each PDB's `disruptionsAllowed`.
    pub fn new(pdbs: &[Pdb]) -> PdbTracker {
        let mut by_namespace: HashMap<String, Vec<usize>> = HashMap::new();
        for (i, pdb) in pdbs.iter().enumerate() {
            by_namespace.entry(pdb.namespace.clone()).or_default().push(i);
        }
        PdbTracker {
            pdbs: pdbs.to_vec(),
            remaining: pdbs.iter().map(|p| p.disruptions_allowed).collect(),
            by_namespace,
        }
    }

    /// The number of PDBs.
    pub fn len(&self) -> usize {
        self.pdbs.len()
    }

    /// Whether there is no PDB at all.
    pub fn is_empty(&self) -> bool {
        self.pdbs.is_empty()
    }

    /// The PDB at `index` (as returned by [`PdbTracker::covering`]).
    ///
    /// # Panics
    /// If `index` is out of range; indices come from this tracker.
    pub fn pdb(&self, index: usize) -> &Pdb {
        &self.pdbs[index]
    }

    /// The disruptions the PDB at `index` still allows; negative once more pods were evicted than
    /// it allowed (upstream lets it go below zero too).
    ///
    /// # Panics
    /// If `index` is out of range; indices come from this tracker.
    pub fn remaining(&self, index: usize) -> i32 {
        self.remaining[index]
    }

    /// The indices of the PDBs covering `pod`, ascending (upstream's `MatchingPdbs`).
    pub fn covering<'a>(&'a self, pod: &'a Pod) -> impl Iterator<Item = usize> + 'a {
        self.by_namespace
            .get(&pod.namespace)
            .map_or(&[][..], Vec::as_slice)
            .iter()
            .copied()
            .filter(move |&i| self.pdbs[i].covers(pod))
    }

    /// Whether any PDB covers `pod`, whatever its budget.
    pub fn is_covered(&self, pod: &Pod) -> bool {
        self.covering(pod).next().is_some()
    }

    /// Whether all of `pods` (say, one node's pods to evict) can be evicted together within what
    /// the PDBs still allow: each pod takes one disruption from every PDB covering it. On failure,
    /// the first pod (in slice order) that a PDB has no disruption left for.
    pub fn can_evict(&self, pods: &[&Pod]) -> Result<(), PdbBlock> {
        // A node has a handful of PDBs among its pods: a short list beats a map.
        let mut spent: Vec<(usize, i32)> = Vec::new();
        for (p, pod) in pods.iter().enumerate() {
            for i in self.covering(pod) {
                let count = match spent.iter_mut().find(|(j, _)| *j == i) {
                    Some((_, count)) => {
                        *count += 1;
                        *count
                    }
                    None => {
                        spent.push((i, 1));
                        1
                    }
                };
                if count > self.remaining[i] {
                    return Err(self.block(p, i));
                }
            }
        }
        Ok(())
    }

    /// Cluster Autoscaler's `CanRemovePods`, verbatim: blocked when a PDB covering one of `pods`
    /// allows no disruption; sequential when one covers more of them than it allows; in parallel
    /// otherwise. PDBs are visited in order, and pods in slice order within each, as upstream does,
    /// so the pod named is upstream's.
    pub fn can_remove(&self, pods: &[&Pod]) -> Removal {
        let mut pairs: Vec<(usize, usize)> = Vec::new();
        for (p, pod) in pods.iter().enumerate() {
            pairs.extend(self.covering(pod).map(|i| (i, p)));
        }
        // Upstream loops over PDBs outside and pods inside: the same order.
        pairs.sort_unstable();
        let mut sequential = None;
        let mut current = usize::MAX;
        let mut count = 0;
        for (i, p) in pairs {
            if i != current {
                current = i;
                count = 0;
            }
            count += 1;
            if self.remaining[i] < 1 {
                return Removal::Blocked(self.block(p, i));
            }
            if self.remaining[i] < count {
                sequential = Some(self.block(p, i));
            }
        }
        sequential.map_or(Removal::InParallel, Removal::Sequential)
    }

    /// Spends the disruptions of evicting `pods`: one from every PDB covering each pod
    /// (upstream's `RemovePods`). Call it once a node is in the plan.
    pub fn evict(&mut self, pods: &[&Pod]) {
        for pod in pods {
            let Some(indices) = self.by_namespace.get(&pod.namespace) else {
                continue;
            };
            for &i in indices {
                if self.pdbs[i].covers(pod) {
                    self.remaining[i] -= 1;
                }
            }
        }
    }

    fn block(&self, pod: usize, pdb: usize) -> PdbBlock {
        PdbBlock {
            pod,
            pdb,
            name: self.pdbs[pdb].name.clone(),
            remaining: self.remaining[pdb],
        }
    }
}
