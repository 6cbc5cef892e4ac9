//! The scheduler's filters, as the node autoscaler simulates them.
//!
//! In the scheduler's order: NodeUnschedulable, TaintToleration, NodeAffinity (nodeSelector and
//! required node affinity), NodePorts, NodeResourcesFit, InterPodAffinity (affinity, then the pod's
//! anti-affinity, then existing pods' anti-affinity). The first failing
//! filter is returned as an [`Unfit`] whose `Display` is the scheduler's own message, so that a
//! user reading an explanation sees the words `kubectl describe pod` shows.
//!
//! [`static_check`] covers what depends only on the pod's spec and the node object (not on other
//! pods): the planner runs it once per equivalence class and template. [`check`] runs everything.

use std::fmt;

use serde::{Serialize, Serializer};

use crate::model::{
    HostPort, LABEL_HOSTNAME, Node, NodeSelectorTerm, Pod, PodAffinityTerm, SchedulingSpec, TaintEffect,
    Toleration,
};
use crate::resources::Shortage;
use crate::sim::{Sim, SimNodeId};

/// The taint the node lifecycle controller puts on cordoned nodes; pods tolerating it may land on
/// an unschedulable node.
pub const TAINT_UNSCHEDULABLE: &str = "node.kubernetes.io/unschedulable";

/// Why a pod does not fit a node.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub enum Unfit {
    /// The node is cordoned.
    Unschedulable,
    /// nodeSelector or required node affinity.
    NodeAffinity,
    /// A NoSchedule/NoExecute taint the pod does not tolerate.
    Taint {
        /// Taint key.
        key: String,
        /// Taint value.
        value: String,
    },
    /// A host port is taken.
    HostPorts,
    /// Not enough of a resource.
    Resources(Shortage),
    /// No pod in the topology domain matches a required affinity term.
    PodAffinity,
    /// A pod in the topology domain matches a required anti-affinity term.
    PodAntiAffinity,
    /// A pod in the topology domain has an anti-affinity term that matches this pod.
    ExistingPodAntiAffinity,
}

impl Unfit {
    /// The scheduler plugin that reports it.
    pub fn plugin(&self) -> &'static str {
        match self {
            Unfit::Unschedulable => "NodeUnschedulable",
            Unfit::NodeAffinity => "NodeAffinity",
            Unfit::Taint { .. } => "TaintToleration",
            Unfit::HostPorts => "NodePorts",
            Unfit::Resources(_) => "NodeResourcesFit",
            Unfit::PodAffinity | Unfit::PodAntiAffinity | Unfit::ExistingPodAntiAffinity => {
                "InterPodAffinity"
            }
        }
    }

    /// Whether adding pods to the node can never cure it (every filter but affinity is monotonic:
    /// a node that lacks room or a port keeps lacking it as pods are added).
    pub fn is_monotonic(&self) -> bool {
        !matches!(self, Unfit::PodAffinity)
    }
}

impl fmt::Display for Unfit {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // The scheduler's messages (framework plugins, 1.36), in the form events aggregate them.
        match self {
            Unfit::Unschedulable => f.write_str("node(s) were unschedulable"),
            Unfit::NodeAffinity => f.write_str("node(s) didn't match Pod's node affinity/selector"),
            Unfit::Taint { key, value } => write!(f, "node(s) had untolerated taint {{{key}: {value}}}"),
            Unfit::HostPorts => f.write_str("node(s) didn't have free ports for the requested pod ports"),
            Unfit::Resources(s) => s.fmt(f),
            Unfit::PodAffinity => f.write_str("node(s) didn't match pod affinity rules"),
            Unfit::PodAntiAffinity => f.write_str("node(s) didn't match pod anti-affinity rules"),
            Unfit::ExistingPodAntiAffinity => {
                f.write_str("node(s) didn't satisfy existing pods anti-affinity rules")
            }
        }
    }
}

impl Serialize for Unfit {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(self)
    }
}

/// Whether the pod's nodeSelector and required node affinity accept the node.
pub fn matches_node_selector(spec: &SchedulingSpec, node: &Node) -> bool {
    if !spec
        .node_selector
        .iter()
        .all(|(k, v)| node.labels.get(k) == Some(v))
    {
        return false;
    }
    match &spec.node_affinity {
        None => true,
        Some(terms) => terms.iter().any(|t| term_matches(t, node)),
    }
}

fn term_matches(term: &NodeSelectorTerm, node: &Node) -> bool {
    // An empty term matches no objects (core/v1 NodeSelectorTerm).
    if term.match_expressions.is_empty() && term.match_fields.is_empty() {
        return false;
    }
    term.match_expressions
        .iter()
        .all(|r| r.matches(node.labels.get(&r.key).map(String::as_str)))
        && term.match_fields.iter().all(|r| {
            let value = (r.key == "metadata.name").then_some(node.name.as_str());
            r.matches(value)
        })
}

/// The first NoSchedule/NoExecute taint of the node that no toleration tolerates.
pub fn untolerated_taint<'n>(tolerations: &[Toleration], node: &'n Node) -> Option<&'n crate::model::Taint> {
    node.taints.iter().find(|t| {
        t.effect != TaintEffect::PreferNoSchedule && !tolerations.iter().any(|tol| tol.tolerates(t))
    })
}

/// The checks that depend only on the pod's spec and the node object.
pub fn static_check(spec: &SchedulingSpec, node: &Node) -> Result<(), Unfit> {
    if node.unschedulable {
        let cordon = crate::model::Taint::new(TAINT_UNSCHEDULABLE, "", TaintEffect::NoSchedule);
        if !spec.tolerations.iter().any(|t| t.tolerates(&cordon)) {
            return Err(Unfit::Unschedulable);
        }
    }
    // The scheduler's default plugin order: TaintToleration before NodeAffinity.
    if let Some(t) = untolerated_taint(&spec.tolerations, node) {
        return Err(Unfit::Taint {
            key: t.key.clone(),
            value: t.value.clone(),
        });
    }
    if !matches_node_selector(spec, node) {
        return Err(Unfit::NodeAffinity);
    }
    Ok(())
}

/// Every filter, for `pod` on the simulation's node `node`.
pub fn check(sim: &Sim<'_>, pod: &Pod, node: SimNodeId) -> Result<(), Unfit> {
    static_check(&pod.scheduling, sim.node(node))?;
    check_dynamic(sim, pod, node)
}

/// The filters that depend on the other pods: ports, resources, inter-pod affinity.
pub fn check_dynamic(sim: &Sim<'_>, pod: &Pod, node: SimNodeId) -> Result<(), Unfit> {
    if !pod.scheduling.host_ports.is_empty() && ports_taken(sim, &pod.scheduling.host_ports, node) {
        return Err(Unfit::HostPorts);
    }
    pod.requests
        .fits(sim.used(node), &sim.node(node).allocatable)
        .map_err(Unfit::Resources)?;
    inter_pod_affinity(sim, pod, node)
}

fn ports_taken(sim: &Sim<'_>, ports: &[HostPort], node: SimNodeId) -> bool {
    sim.pods_on(node).any(|q| {
        let q = sim.pod(q);
        q.scheduling
            .host_ports
            .iter()
            .any(|hp| ports.iter().any(|p| p.conflicts(hp)))
    })
}

/// Whether two simulation nodes are in the same domain of `key`. The hostname key names one node,
/// whatever the labels say (template copies share their template's labels but not a host).
fn same_domain(sim: &Sim<'_>, key: &str, a: SimNodeId, b: SimNodeId) -> bool {
    if key == LABEL_HOSTNAME {
        return a == b;
    }
    match (sim.node(a).labels.get(key), sim.node(b).labels.get(key)) {
        (Some(x), Some(y)) => x == y,
        _ => false,
    }
}

fn has_domain(sim: &Sim<'_>, key: &str, node: SimNodeId) -> bool {
    key == LABEL_HOSTNAME || sim.node(node).labels.contains_key(key)
}

/// Whether `term`, written in a pod of namespace `owner_ns`, selects pod `q`.
pub fn term_selects(sim: &Sim<'_>, term: &PodAffinityTerm, owner_ns: &str, q: &Pod) -> bool {
    let ns_ok = if term.namespaces.is_empty() && term.namespace_selector.is_none() {
        q.namespace == owner_ns
    } else {
        term.namespaces.contains(&q.namespace)
            || term.namespace_selector.as_ref().is_some_and(|sel| {
                sel.is_empty()
                    || sim
                        .snapshot()
                        .namespace_labels(&q.namespace)
                        .is_some_and(|labels| sel.matches(labels))
            })
    };
    ns_ok && term.selector.matches(&q.labels)
}

/// The nodes of the same domain as `node` for `key` (just `node` for the hostname key).
fn domain_nodes<'a>(
    sim: &'a Sim<'_>,
    key: &'a str,
    node: SimNodeId,
) -> Box<dyn Iterator<Item = SimNodeId> + 'a> {
    if key == LABEL_HOSTNAME {
        Box::new(std::iter::once(node).filter(move |&n| !sim.is_removed(n)))
    } else {
        Box::new((0..sim.len()).filter(move |&n| !sim.is_removed(n) && same_domain(sim, key, node, n)))
    }
}

fn inter_pod_affinity(sim: &Sim<'_>, pod: &Pod, node: SimNodeId) -> Result<(), Unfit> {
    let spec = &pod.scheduling;
    // The order of the scheduler's InterPodAffinity filter: affinity, anti-affinity, existing pods'
    // anti-affinity.
    if !spec.pod_affinity.is_empty() && !satisfies_affinity(sim, pod, node) {
        return Err(Unfit::PodAffinity);
    }
    // The incoming pod's anti-affinity: no selected pod in the domain. A node without the topology
    // label is in no domain, so the term cannot be violated there.
    for term in &spec.pod_anti_affinity {
        if !has_domain(sim, &term.topology_key, node) {
            continue;
        }
        let hit = domain_nodes(sim, &term.topology_key, node).any(|n| {
            sim.pods_on(n)
                .any(|q| term_selects(sim, term, &pod.namespace, sim.pod(q)))
        });
        if hit {
            return Err(Unfit::PodAntiAffinity);
        }
    }
    if existing_anti_affinity_blocks(sim, pod, node) {
        return Err(Unfit::ExistingPodAntiAffinity);
    }
    Ok(())
}

/// Required pod affinity as the scheduler counts it: only pods that match *all* the incoming pod's
/// terms count, each in the domain of each term's topology key; the node must carry every term's
/// topology label. When no such pod exists on any node carrying one of the keys and the pod matches
/// all its own terms, it is the first of a self-affine workload and may go anywhere that has the
/// labels.
fn satisfies_affinity(sim: &Sim<'_>, pod: &Pod, node: SimNodeId) -> bool {
    let terms = &pod.scheduling.pod_affinity;
    if !terms.iter().all(|t| has_domain(sim, &t.topology_key, node)) {
        return false;
    }
    let matches_all = |q: &Pod| terms.iter().all(|t| term_selects(sim, t, &pod.namespace, q));
    let met = terms.iter().all(|term| {
        domain_nodes(sim, &term.topology_key, node).any(|n| sim.pods_on(n).any(|q| matches_all(sim.pod(q))))
    });
    if met {
        return true;
    }
    let any_counted = (0..sim.len()).filter(|&n| !sim.is_removed(n)).any(|n| {
        terms.iter().any(|t| has_domain(sim, &t.topology_key, n))
            && sim.pods_on(n).any(|q| matches_all(sim.pod(q)))
    });
    !any_counted && matches_all(pod)
}

fn existing_anti_affinity_blocks(sim: &Sim<'_>, pod: &Pod, node: SimNodeId) -> bool {
    if !sim.snapshot().any_anti_affinity() {
        return false;
    }
    (0..sim.len()).filter(|&n| !sim.is_removed(n)).any(|n| {
        sim.pods_on(n).any(|q| {
            let q = sim.pod(q);
            q.scheduling.pod_anti_affinity.iter().any(|term| {
                has_domain(sim, &term.topology_key, n)
                    && same_domain(sim, &term.topology_key, n, node)
                    && term_selects(sim, term, &q.namespace, pod)
            })
        })
    })
}
