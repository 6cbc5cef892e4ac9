//! Equivalence classes of pending pods, first-fit placement, and the bin-packing estimator.
//!
//! Pods of one owner with the same requests, labels and scheduling spec are interchangeable: the
//! planner groups them into a [`Class`] and checks a class against a node once. For classes whose
//! pods do not interact through ports or affinity, first-fit places as many copies on a node as its
//! free resources allow in one step, which gives exactly the answer of placing them one by one
//! (fitting is monotonic: a node that cannot take the n-th copy cannot take the (n+1)-th) at the cost
//! of one check per node instead of one per pod.
//!
//! The estimator is Cluster Autoscaler's binpacking estimator with first-fit-decreasing order
//! (`estimator/binpacking_estimator.go`, `decreasing_pod_orderer.go`): classes sorted by
//! `cpu/allocatable.cpu + memory/allocatable.memory` of the template, descending; each pod goes to the
//! first new node that takes it, else to a new node, until the node limit.

use std::collections::HashMap;

use crate::model::{Pod, SchedulingSpec};
use crate::predicates::{self, Unfit};
use crate::resources::Resources;
use crate::sim::{Sim, SimNodeId};
use crate::snapshot::{GroupId, PodId, Snapshot};

/// Interchangeable pending pods.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Class {
    /// The pods, in input order; the first is the representative.
    pub pods: Vec<PodId>,
}

impl Class {
    /// The representative pod.
    pub fn representative<'s>(&self, snap: &'s Snapshot) -> &'s Pod {
        &snap.pods()[self.pods[0]]
    }
}

type ClassKey<'a> = (
    &'a str,
    Option<&'a str>,
    &'a Resources,
    &'a crate::model::Labels,
    &'a SchedulingSpec,
);

/// Groups pods into equivalence classes: same namespace, same controller (by UID), same requests,
/// labels and scheduling spec. Pods without a controller are classes of their own. Classes come out
/// in the order of their first pod.
pub fn classes(snap: &Snapshot, pods: impl IntoIterator<Item = PodId>) -> Vec<Class> {
    let mut index: HashMap<ClassKey<'_>, usize> = HashMap::new();
    let mut out: Vec<Class> = Vec::new();
    for pid in pods {
        let p = &snap.pods()[pid];
        let Some(owner) = p.owner.as_ref() else {
            out.push(Class { pods: vec![pid] });
            continue;
        };
        let key: ClassKey<'_> = (
            &p.namespace,
            Some(&owner.uid),
            &p.requests,
            &p.labels,
            &p.scheduling,
        );
        match index.get(&key) {
            Some(&c) => out[c].pods.push(pid),
            None => {
                index.insert(key, out.len());
                out.push(Class { pods: vec![pid] });
            }
        }
    }
    out
}

/// Whether copies of the pod can be placed in bulk: no host ports, no inter-pod affinity of its own
/// and none in the cluster that could point at it.
pub fn is_batchable(snap: &Snapshot, pod: &Pod) -> bool {
    let s = &pod.scheduling;
    s.host_ports.is_empty()
        && s.pod_affinity.is_empty()
        && s.pod_anti_affinity.is_empty()
        && !snap.any_anti_affinity()
}

/// Places as many of `pods` (one class) as fit onto `nodes`, first fit, in order. Returns how many
/// were placed (always a prefix of `pods`), and the first reason a node refused the next pod.
pub fn first_fit(sim: &mut Sim<'_>, pods: &[PodId], nodes: &[SimNodeId]) -> (usize, Option<Unfit>) {
    let r = first_fit_from(sim, pods, nodes, 0);
    (r.placed, r.unfit)
}

/// The outcome of [`first_fit_from`].
#[derive(Clone, Debug, PartialEq)]
pub struct FirstFit {
    /// How many pods were placed (a prefix of the input).
    pub placed: usize,
    /// The first reason a node refused the next pod.
    pub unfit: Option<Unfit>,
    /// The index (into `nodes`) of the last node that took a pod. For a batchable class, every node
    /// before it is full or unfit for the class, and stays so as pods are added: a later search
    /// for the same class can start there.
    pub last_used: Option<usize>,
}

/// [`first_fit`] starting at `nodes[start]`.
pub fn first_fit_from(sim: &mut Sim<'_>, pods: &[PodId], nodes: &[SimNodeId], start: usize) -> FirstFit {
    let mut out = FirstFit {
        placed: 0,
        unfit: None,
        last_used: None,
    };
    let Some(&first) = pods.first() else {
        return out;
    };
    let snap = sim.snapshot();
    let rep = &snap.pods()[first];
    let batch = is_batchable(snap, rep);
    for (i, &n) in nodes.iter().enumerate().skip(start) {
        if out.placed == pods.len() {
            break;
        }
        if sim.is_removed(n) {
            continue;
        }
        if batch {
            match predicates::check(sim, rep, n) {
                Ok(()) => {
                    let remaining = (pods.len() - out.placed) as i64;
                    let node = sim.node(n);
                    let k = rep
                        .requests
                        .copies_that_fit(sim.used(n), &node.allocatable, remaining)
                        .max(1) as usize;
                    sim.place_many(&pods[out.placed..out.placed + k], n);
                    out.placed += k;
                    out.last_used = Some(i);
                }
                Err(u) => {
                    out.unfit.get_or_insert(u);
                }
            }
        } else {
            while out.placed < pods.len() {
                match predicates::check(sim, &snap.pods()[pods[out.placed]], n) {
                    Ok(()) => {
                        sim.place(pods[out.placed], n);
                        out.placed += 1;
                        out.last_used = Some(i);
                    }
                    Err(u) => {
                        out.unfit.get_or_insert(u);
                        break;
                    }
                }
            }
        }
    }
    out
}

/// The estimator's result for one group.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Estimate {
    /// New nodes it needs (simulation ids, in the order they were added).
    pub nodes: Vec<SimNodeId>,
    /// The pods it places, per class (index into the input classes), in placement order.
    pub placed: Vec<(usize, Vec<PodId>)>,
    /// For classes that cannot use the group at all, why.
    pub unfit: Vec<(usize, Unfit)>,
    /// Whether the node limit stopped it with pods left over.
    pub limited: bool,
    /// The sum of the requests of the placed pods.
    pub requested: Resources,
}

impl Estimate {
    /// Placed pods in all.
    pub fn pod_count(&self) -> usize {
        self.placed.iter().map(|(_, p)| p.len()).sum()
    }
}

/// The first-fit-decreasing score of a pod on a template (CA's `decreasing_pod_orderer`).
fn score(requests: &Resources, allocatable: &Resources) -> f64 {
    let part = |r: i64, a: i64| if a > 0 { r as f64 / a as f64 } else { 0.0 };
    part(requests.cpu, allocatable.cpu) + part(requests.memory, allocatable.memory)
}

/// Estimates how many new nodes of `group` the pods of `classes` (each a slice of not yet placed
/// pods of one class) need, at most `max_nodes`. New nodes and placements are left in `sim`; the
/// caller marks and rolls back to try other groups.
pub fn estimate(sim: &mut Sim<'_>, group: GroupId, classes: &[&[PodId]], max_nodes: usize) -> Estimate {
    let snap = sim.snapshot();
    let template = &snap.groups()[group].template;
    let mut order: Vec<usize> = (0..classes.len()).filter(|&c| !classes[c].is_empty()).collect();
    let scores: Vec<f64> = classes
        .iter()
        .map(|pods| {
            pods.first()
                .map_or(0.0, |&p| score(&snap.pods()[p].requests, &template.allocatable))
        })
        .collect();
    // Stable: equal scores keep the input order, so the result is deterministic.
    order.sort_by(|&a, &b| scores[b].total_cmp(&scores[a]));

    let mut est = Estimate::default();
    for c in order {
        let pods = classes[c];
        let rep = &snap.pods()[pods[0]];
        if let Err(u) = predicates::static_check(&rep.scheduling, template) {
            est.unfit.push((c, u));
            continue;
        }
        if let Err(s) = rep
            .requests
            .fits(sim.template_overhead(group), &template.allocatable)
        {
            est.unfit.push((c, Unfit::Resources(s)));
            continue;
        }
        let (mut placed, _) = first_fit(sim, pods, &est.nodes);
        while placed < pods.len() {
            if est.nodes.len() >= max_nodes {
                est.limited = true;
                break;
            }
            let mark = sim.mark();
            let n = sim.add_node(group);
            let (k, why) = first_fit(sim, &pods[placed..], &[n]);
            if k == 0 {
                // A fresh node refuses the pod: something dynamic (anti-affinity with pods of the
                // same zone, say). More nodes would not help.
                sim.rollback(mark);
                if placed == 0 {
                    est.unfit.push((c, why.unwrap_or(Unfit::PodAntiAffinity)));
                }
                break;
            }
            est.nodes.push(n);
            placed += k;
        }
        if placed > 0 {
            let done = pods[..placed].to_vec();
            for &p in &done {
                est.requested.add(&snap.pods()[p].requests);
            }
            est.placed.push((c, done));
        }
    }
    est
}
