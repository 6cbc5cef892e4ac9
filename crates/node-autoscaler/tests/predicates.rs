//! Table tests for every scheduling predicate of `src/predicates.rs`, checked through
//! `predicates::check` on a simulation over a snapshot, with the kube-scheduler's messages.
//!
//! Each table is a list of cases named as sentences; a failing case prints its name (all failing cases
//! of a table are listed at once).
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::collections::BTreeMap;
use std::sync::Arc;

use swell_core::selector::Selector;
use swell_node_autoscaler::model::{
    DaemonSet, HostPort, LABEL_HOSTNAME, LABEL_ZONE, Labels, NodeSelectorOperator, NodeSelectorRequirement,
    NodeSelectorTerm, Pod, PodAffinityTerm, PodPhase, SchedulingSpec, TaintEffect,
};
use swell_node_autoscaler::predicates::{self, TAINT_UNSCHEDULABLE, Unfit};
use swell_node_autoscaler::resources::{EPHEMERAL_STORAGE, Resources, Shortage};
use swell_node_autoscaler::sim::{Sim, SimNodeId};
use swell_node_autoscaler::testing::*;
use swell_node_autoscaler::{ClusterInput, Snapshot};

use NodeSelectorOperator::{DoesNotExist, Exists, Gt, In, Lt, NotIn};
use TaintEffect::{NoExecute, NoSchedule, PreferNoSchedule};

const GPU: &str = "nvidia.com/gpu";

/// Where the incoming pod is checked: a registered node by name, or the k-th node added by the
/// simulation.
#[derive(Clone, Copy, Debug)]
enum At {
    Node(&'static str),
    Added(usize),
}

/// A change made to the simulation before the check.
#[derive(Clone, Debug)]
enum Step {
    /// Place the (unbound) input pod of that name on a node.
    Place(&'static str, At),
    /// Remove a registered node.
    Remove(&'static str),
    /// Add a copy of the group's template.
    Add(&'static str),
}

struct Case {
    name: &'static str,
    input: ClusterInput,
    steps: Vec<Step>,
    pod: Pod,
    at: At,
    want: Result<(), Unfit>,
}

/// A case with no simulation steps.
fn case(
    name: &'static str,
    input: ClusterInput,
    pod: PodBuilder,
    at: &'static str,
    want: Result<(), Unfit>,
) -> Case {
    Case {
        name,
        input,
        steps: Vec::new(),
        pod: pod.build(),
        at: At::Node(at),
        want,
    }
}

impl Case {
    fn steps(mut self, steps: Vec<Step>) -> Case {
        self.steps = steps;
        self
    }

    fn at(mut self, at: At) -> Case {
        self.at = at;
        self
    }
}

fn cluster(nodes: Vec<NodeBuilder>, pods: Vec<PodBuilder>) -> ClusterInput {
    ClusterInput {
        nodes: nodes.into_iter().map(NodeBuilder::build).collect(),
        pods: pods.into_iter().map(PodBuilder::build).collect(),
        ..ClusterInput::default()
    }
}

/// Runs the cases, then fails listing every case whose result differs from `want`.
fn run(cases: Vec<Case>) {
    let mut failures = Vec::new();
    let total = cases.len();
    for c in cases {
        let snap = Snapshot::new(c.input);
        assert!(
            snap.warnings().is_empty(),
            "{}: bad input: {:?}",
            c.name,
            snap.warnings()
        );
        let mut sim = Sim::new(&snap);
        let mut added: Vec<SimNodeId> = Vec::new();
        let resolve = |at: At, added: &[SimNodeId]| -> SimNodeId {
            match at {
                At::Node(name) => snap
                    .node_id(name)
                    .unwrap_or_else(|| panic!("{}: no node {name}", c.name)),
                At::Added(k) => added[k],
            }
        };
        for step in &c.steps {
            match step {
                Step::Place(pod, at) => {
                    let id = snap
                        .pods()
                        .iter()
                        .position(|p| p.name == *pod)
                        .unwrap_or_else(|| panic!("{}: no pod {pod}", c.name));
                    let node = resolve(*at, &added);
                    sim.place(id, node);
                }
                Step::Remove(node) => sim.remove_node(resolve(At::Node(node), &added)),
                Step::Add(group) => {
                    let gid = snap
                        .group_id(group)
                        .unwrap_or_else(|| panic!("{}: no group {group}", c.name));
                    added.push(sim.add_node(gid));
                }
            }
        }
        let node = resolve(c.at, &added);
        let got = predicates::check(&sim, &c.pod, node);
        if got != c.want {
            failures.push(format!("{}: want {:?}, got {:?}", c.name, c.want, got));
        }
    }
    assert!(
        failures.is_empty(),
        "{} of {total} cases failed:\n  {}",
        failures.len(),
        failures.join("\n  ")
    );
}

fn cpu_short() -> Result<(), Unfit> {
    Err(Unfit::Resources(Shortage::Cpu))
}

fn taint_err(key: &str, value: &str) -> Result<(), Unfit> {
    Err(Unfit::Taint {
        key: key.into(),
        value: value.into(),
    })
}

fn req(key: &str, op: NodeSelectorOperator, values: &[&str]) -> NodeSelectorRequirement {
    NodeSelectorRequirement {
        key: key.into(),
        operator: op,
        values: values.iter().map(|v| v.to_string()).collect(),
    }
}

fn exprs(e: Vec<NodeSelectorRequirement>) -> NodeSelectorTerm {
    NodeSelectorTerm {
        match_expressions: e,
        match_fields: Vec::new(),
    }
}

fn fields(f: Vec<NodeSelectorRequirement>) -> NodeSelectorTerm {
    NodeSelectorTerm {
        match_expressions: Vec::new(),
        match_fields: f,
    }
}

/// One node `n1` with labels, and a pod whose required node affinity is one term of `e`.
fn affinity_case(
    name: &'static str,
    labels: &[(&str, &str)],
    e: Vec<NodeSelectorRequirement>,
    want: Result<(), Unfit>,
) -> Case {
    let mut n = node("n1");
    for (k, v) in labels {
        n = n.label(k, v);
    }
    case(
        name,
        cluster(vec![n], vec![]),
        pod("p").node_affinity(vec![exprs(e)]),
        "n1",
        want,
    )
}

fn with_port(p: PodBuilder, port: i32, protocol: &str, ip: &str) -> Pod {
    let mut pod = p.build();
    let mut spec = SchedulingSpec::clone(&pod.scheduling);
    spec.host_ports.push(HostPort {
        port,
        protocol: protocol.into(),
        ip: ip.into(),
    });
    pod.scheduling = Arc::new(spec);
    pod
}

/// The affinity topology: n1 and n2 in zone a, n3 in zone b, n4 without a zone label.
fn topo(pods: Vec<PodBuilder>) -> ClusterInput {
    cluster(
        vec![
            node("n1").zone("a"),
            node("n2").zone("a"),
            node("n3").zone("b"),
            node("n4"),
        ],
        pods,
    )
}

fn web() -> PodBuilder {
    pod("web").label("app", "web")
}

fn hostname_anti(p: PodBuilder) -> PodBuilder {
    p.anti_affinity(term("app", "web", LABEL_HOSTNAME))
}

fn zone_anti(p: PodBuilder) -> PodBuilder {
    p.anti_affinity(term("app", "web", LABEL_ZONE))
}

fn in_namespaces(mut t: PodAffinityTerm, namespaces: &[&str]) -> PodAffinityTerm {
    t.namespaces = namespaces.iter().map(|n| n.to_string()).collect();
    t
}

fn with_namespace_selector(mut t: PodAffinityTerm, selector: Selector) -> PodAffinityTerm {
    t.namespace_selector = Some(selector);
    t
}

fn namespaces(input: ClusterInput) -> ClusterInput {
    let mut ns = BTreeMap::new();
    let team = |v: &str| Labels::from([("team".to_string(), v.to_string())]);
    ns.insert("default".to_string(), team("core"));
    ns.insert("shop".to_string(), team("a"));
    ns.insert("blog".to_string(), team("b"));
    ClusterInput {
        namespaces: ns,
        ..input
    }
}

#[test]
fn resources() {
    run(vec![
        case(
            "a pod that fits the free room passes",
            cluster(vec![node("n1")], vec![pod("b").req(1000, GI).on("n1")]),
            pod("p").req(1000, GI),
            "n1",
            Ok(()),
        ),
        case(
            "a pod asking for more cpu than is left is refused for cpu",
            cluster(vec![node("n1")], vec![pod("b").req(3500, GI).on("n1")]),
            pod("p").req(600, GI),
            "n1",
            cpu_short(),
        ),
        case(
            "a pod asking for more memory than is left is refused for memory",
            cluster(vec![node("n1")], vec![pod("b").req(100, 15 * GI).on("n1")]),
            pod("p").req(100, 2 * GI),
            "n1",
            Err(Unfit::Resources(Shortage::Memory)),
        ),
        case(
            "cpu and memory exactly up to allocatable fit",
            cluster(vec![node("n1")], vec![pod("b").req(3000, 12 * GI).on("n1")]),
            pod("p").req(1000, 4 * GI),
            "n1",
            Ok(()),
        ),
        case(
            "one millicore over allocatable does not fit",
            cluster(vec![node("n1")], vec![pod("b").req(3000, 12 * GI).on("n1")]),
            pod("p").req(1001, 4 * GI),
            "n1",
            cpu_short(),
        ),
        case(
            "one byte of memory over allocatable does not fit",
            cluster(vec![node("n1")], vec![pod("b").req(3000, 12 * GI).on("n1")]),
            pod("p").req(1000, 4 * GI + 1),
            "n1",
            Err(Unfit::Resources(Shortage::Memory)),
        ),
        case(
            "a pod asking for more ephemeral storage than is left is refused for ephemeral-storage",
            cluster(
                vec![node("n1").resource(EPHEMERAL_STORAGE, 10 * GI)],
                vec![pod("b").request(EPHEMERAL_STORAGE, 8 * GI).on("n1")],
            ),
            pod("p").request(EPHEMERAL_STORAGE, 3 * GI),
            "n1",
            Err(Unfit::Resources(Shortage::EphemeralStorage)),
        ),
        case(
            "ephemeral storage exactly up to allocatable fits",
            cluster(
                vec![node("n1").resource(EPHEMERAL_STORAGE, 10 * GI)],
                vec![pod("b").request(EPHEMERAL_STORAGE, 8 * GI).on("n1")],
            ),
            pod("p").request(EPHEMERAL_STORAGE, 2 * GI),
            "n1",
            Ok(()),
        ),
        case(
            "a node whose pod slots are all taken has too many pods",
            cluster(
                vec![node("n1").pods(2)],
                vec![pod("b1").on("n1"), pod("b2").on("n1")],
            ),
            pod("p"),
            "n1",
            Err(Unfit::Resources(Shortage::Pods)),
        ),
        case(
            "the last pod slot can be taken",
            cluster(vec![node("n1").pods(2)], vec![pod("b1").on("n1")]),
            pod("p"),
            "n1",
            Ok(()),
        ),
        case(
            "the pod count is reported before cpu when both are short",
            cluster(vec![node("n1").pods(1)], vec![pod("b1").req(4000, GI).on("n1")]),
            pod("p").req(500, GI),
            "n1",
            Err(Unfit::Resources(Shortage::Pods)),
        ),
        case(
            "cpu is reported before memory when both are short",
            cluster(vec![node("n1")], vec![pod("b").req(4000, 16 * GI).on("n1")]),
            pod("p").req(1, 1),
            "n1",
            cpu_short(),
        ),
        case(
            "a gpu pod does not fit a node without gpus",
            cluster(vec![node("n1")], vec![]),
            pod("p").request(GPU, 1),
            "n1",
            Err(Unfit::Resources(Shortage::Extended(GPU.into()))),
        ),
        case(
            "a gpu pod fits a node with a free gpu",
            cluster(
                vec![node("n1").resource(GPU, 2)],
                vec![pod("b").request(GPU, 1).on("n1")],
            ),
            pod("p").request(GPU, 1),
            "n1",
            Ok(()),
        ),
        case(
            "a gpu pod does not fit a node whose gpus are taken",
            cluster(
                vec![node("n1").resource(GPU, 1)],
                vec![pod("b").request(GPU, 1).on("n1")],
            ),
            pod("p").request(GPU, 1),
            "n1",
            Err(Unfit::Resources(Shortage::Extended(GPU.into()))),
        ),
        case(
            "a pod without gpu requests ignores the node's gpus being taken",
            cluster(
                vec![node("n1").resource(GPU, 1)],
                vec![pod("b").request(GPU, 1).on("n1")],
            ),
            pod("p"),
            "n1",
            Ok(()),
        ),
        case(
            "a pod requesting nothing fits an over-committed node",
            cluster(
                vec![node("n1")],
                vec![
                    pod("b1").req(3000, 10 * GI).on("n1"),
                    pod("b2").req(3000, 10 * GI).on("n1"),
                ],
            ),
            pod("p").req(0, 0),
            "n1",
            Ok(()),
        ),
        case(
            "a pod requesting nothing still needs a pod slot",
            cluster(vec![node("n1").pods(1)], vec![pod("b1").req(0, 0).on("n1")]),
            pod("p").req(0, 0),
            "n1",
            Err(Unfit::Resources(Shortage::Pods)),
        ),
        case(
            "a pod requesting only memory fits a node whose cpu is over-committed",
            cluster(vec![node("n1")], vec![pod("b1").req(5000, GI).on("n1")]),
            pod("p").req(0, GI),
            "n1",
            Ok(()),
        ),
        case(
            "a terminal pod holds no resources",
            cluster(
                vec![node("n1")],
                vec![pod("done").req(4000, 16 * GI).on("n1").phase(PodPhase::Succeeded)],
            ),
            pod("p").req(2000, GI),
            "n1",
            Ok(()),
        ),
        case(
            "pods bound to another node take nothing from this one",
            cluster(
                vec![node("n1"), node("n2")],
                vec![pod("b").req(4000, 16 * GI).on("n2")],
            ),
            pod("p").req(4000, 16 * GI),
            "n1",
            Ok(()),
        ),
    ]);
}

#[test]
fn node_selector() {
    run(vec![
        case(
            "a pod whose nodeSelector matches the node's labels passes",
            cluster(vec![node("n1").label("disk", "ssd")], vec![]),
            pod("p").node_selector("disk", "ssd"),
            "n1",
            Ok(()),
        ),
        case(
            "a nodeSelector on a label the node lacks does not match",
            cluster(vec![node("n1")], vec![]),
            pod("p").node_selector("disk", "ssd"),
            "n1",
            Err(Unfit::NodeAffinity),
        ),
        case(
            "a nodeSelector with another value does not match",
            cluster(vec![node("n1").label("disk", "hdd")], vec![]),
            pod("p").node_selector("disk", "ssd"),
            "n1",
            Err(Unfit::NodeAffinity),
        ),
        case(
            "every nodeSelector entry must match",
            cluster(vec![node("n1").label("disk", "ssd").zone("a")], vec![]),
            pod("p")
                .node_selector("disk", "ssd")
                .node_selector(LABEL_ZONE, "b"),
            "n1",
            Err(Unfit::NodeAffinity),
        ),
        case(
            "a nodeSelector on the hostname label picks that node",
            cluster(vec![node("n1"), node("n2")], vec![]),
            pod("p").node_selector(LABEL_HOSTNAME, "n2"),
            "n2",
            Ok(()),
        ),
        case(
            "nodeSelector and node affinity must both match",
            cluster(vec![node("n1").label("disk", "ssd").zone("a")], vec![]),
            pod("p")
                .node_selector("disk", "ssd")
                .node_affinity(vec![exprs(vec![req(LABEL_ZONE, In, &["b"])])]),
            "n1",
            Err(Unfit::NodeAffinity),
        ),
    ]);
}

#[test]
fn required_node_affinity() {
    let z = LABEL_ZONE;
    let zone_a = &[(LABEL_ZONE, "a")][..];
    let cores8 = &[("cores", "8")][..];
    run(vec![
        affinity_case(
            "In matches a listed value",
            zone_a,
            vec![req(z, In, &["b", "a"])],
            Ok(()),
        ),
        affinity_case(
            "In does not match an unlisted value",
            zone_a,
            vec![req(z, In, &["b", "c"])],
            Err(Unfit::NodeAffinity),
        ),
        affinity_case(
            "In does not match a node without the label",
            &[],
            vec![req(z, In, &["a"])],
            Err(Unfit::NodeAffinity),
        ),
        affinity_case(
            "NotIn does not match a listed value",
            zone_a,
            vec![req(z, NotIn, &["a"])],
            Err(Unfit::NodeAffinity),
        ),
        affinity_case(
            "NotIn matches an unlisted value",
            zone_a,
            vec![req(z, NotIn, &["b"])],
            Ok(()),
        ),
        affinity_case(
            "NotIn matches a node without the label",
            &[],
            vec![req(z, NotIn, &["a"])],
            Ok(()),
        ),
        affinity_case(
            "Exists matches a node with the label",
            zone_a,
            vec![req(z, Exists, &[])],
            Ok(()),
        ),
        affinity_case(
            "Exists does not match a node without the label",
            &[],
            vec![req(z, Exists, &[])],
            Err(Unfit::NodeAffinity),
        ),
        affinity_case(
            "DoesNotExist matches a node without the label",
            &[],
            vec![req(z, DoesNotExist, &[])],
            Ok(()),
        ),
        affinity_case(
            "DoesNotExist does not match a node with the label",
            zone_a,
            vec![req(z, DoesNotExist, &[])],
            Err(Unfit::NodeAffinity),
        ),
        affinity_case(
            "Gt matches a greater integer",
            cores8,
            vec![req("cores", Gt, &["4"])],
            Ok(()),
        ),
        affinity_case(
            "Gt does not match an equal integer",
            cores8,
            vec![req("cores", Gt, &["8"])],
            Err(Unfit::NodeAffinity),
        ),
        affinity_case(
            "Gt compares as integers, not as strings",
            cores8,
            vec![req("cores", Gt, &["10"])],
            Err(Unfit::NodeAffinity),
        ),
        affinity_case(
            "Gt works with negative integers",
            &[("offset", "-1")],
            vec![req("offset", Gt, &["-5"])],
            Ok(()),
        ),
        affinity_case(
            "Gt does not match a node without the label",
            &[],
            vec![req("cores", Gt, &["1"])],
            Err(Unfit::NodeAffinity),
        ),
        affinity_case(
            "Gt does not match a non-integer label value",
            &[("cores", "eight")],
            vec![req("cores", Gt, &["4"])],
            Err(Unfit::NodeAffinity),
        ),
        affinity_case(
            "Gt with a non-integer bound matches nothing",
            cores8,
            vec![req("cores", Gt, &["4.5"])],
            Err(Unfit::NodeAffinity),
        ),
        affinity_case(
            "Lt matches a smaller integer",
            cores8,
            vec![req("cores", Lt, &["16"])],
            Ok(()),
        ),
        affinity_case(
            "Lt does not match an equal integer",
            cores8,
            vec![req("cores", Lt, &["8"])],
            Err(Unfit::NodeAffinity),
        ),
        affinity_case(
            "Lt does not match a non-integer label value",
            &[("cores", "8.0")],
            vec![req("cores", Lt, &["16"])],
            Err(Unfit::NodeAffinity),
        ),
        affinity_case(
            "Lt with a non-integer bound matches nothing",
            cores8,
            vec![req("cores", Lt, &["1e3"])],
            Err(Unfit::NodeAffinity),
        ),
        affinity_case(
            "expressions of one term are AND'ed",
            &[(LABEL_ZONE, "a"), ("disk", "hdd")],
            vec![req(z, In, &["a"]), req("disk", In, &["ssd"])],
            Err(Unfit::NodeAffinity),
        ),
        affinity_case(
            "a term whose expressions all hold matches",
            &[(LABEL_ZONE, "a"), ("disk", "ssd")],
            vec![req(z, In, &["a"]), req("disk", Exists, &[])],
            Ok(()),
        ),
        case(
            "terms are OR'ed: the second term matching is enough",
            cluster(vec![node("n1").zone("b")], vec![]),
            pod("p").node_affinity(vec![
                exprs(vec![req(z, In, &["a"])]),
                exprs(vec![req(z, In, &["b"])]),
            ]),
            "n1",
            Ok(()),
        ),
        case(
            "no term matching is a mismatch",
            cluster(vec![node("n1").zone("c")], vec![]),
            pod("p").node_affinity(vec![
                exprs(vec![req(z, In, &["a"])]),
                exprs(vec![req(z, In, &["b"])]),
            ]),
            "n1",
            Err(Unfit::NodeAffinity),
        ),
        case(
            "an empty term matches no node",
            cluster(vec![node("n1").zone("a")], vec![]),
            pod("p").node_affinity(vec![NodeSelectorTerm::default()]),
            "n1",
            Err(Unfit::NodeAffinity),
        ),
        case(
            "an empty term next to a matching term does not spoil it",
            cluster(vec![node("n1").zone("a")], vec![]),
            pod("p").node_affinity(vec![NodeSelectorTerm::default(), exprs(vec![req(z, In, &["a"])])]),
            "n1",
            Ok(()),
        ),
        case(
            "matchFields on metadata.name In the node's name matches",
            cluster(vec![node("n1"), node("n2")], vec![]),
            pod("p").node_affinity(vec![fields(vec![req("metadata.name", In, &["n1"])])]),
            "n1",
            Ok(()),
        ),
        case(
            "matchFields on metadata.name In another name does not match",
            cluster(vec![node("n1"), node("n2")], vec![]),
            pod("p").node_affinity(vec![fields(vec![req("metadata.name", In, &["n1"])])]),
            "n2",
            Err(Unfit::NodeAffinity),
        ),
        case(
            "matchFields on metadata.name NotIn the node's name does not match",
            cluster(vec![node("n1")], vec![]),
            pod("p").node_affinity(vec![fields(vec![req("metadata.name", NotIn, &["n1"])])]),
            "n1",
            Err(Unfit::NodeAffinity),
        ),
        case(
            "matchFields and matchExpressions of one term must both hold",
            cluster(vec![node("n1").zone("b")], vec![]),
            pod("p").node_affinity(vec![NodeSelectorTerm {
                match_expressions: vec![req(z, In, &["a"])],
                match_fields: vec![req("metadata.name", In, &["n1"])],
            }]),
            "n1",
            Err(Unfit::NodeAffinity),
        ),
        case(
            "node affinity on the template's labels decides for nodes added by the simulation",
            ClusterInput {
                groups: vec![
                    group("ga", node("t").zone("a"), 0, 5, 0),
                    group("gb", node("t").zone("b"), 0, 5, 0),
                ],
                ..ClusterInput::default()
            },
            pod("p").node_affinity(vec![exprs(vec![req(z, In, &["b"])])]),
            "unused",
            Err(Unfit::NodeAffinity),
        )
        .steps(vec![Step::Add("ga"), Step::Add("gb")])
        .at(At::Added(0)),
        case(
            "a node added from a matching template passes node affinity",
            ClusterInput {
                groups: vec![
                    group("ga", node("t").zone("a"), 0, 5, 0),
                    group("gb", node("t").zone("b"), 0, 5, 0),
                ],
                ..ClusterInput::default()
            },
            pod("p").node_affinity(vec![exprs(vec![req(z, In, &["b"])])]),
            "unused",
            Ok(()),
        )
        .steps(vec![Step::Add("ga"), Step::Add("gb")])
        .at(At::Added(1)),
    ]);
}

#[test]
fn taints_and_tolerations() {
    let tainted = |effect| cluster(vec![node("n1").taint("dedicated", "gpu", effect)], vec![]);
    run(vec![
        case(
            "an untolerated NoSchedule taint refuses the pod",
            tainted(NoSchedule),
            pod("p"),
            "n1",
            taint_err("dedicated", "gpu"),
        ),
        case(
            "an untolerated NoExecute taint refuses the pod",
            tainted(NoExecute),
            pod("p"),
            "n1",
            taint_err("dedicated", "gpu"),
        ),
        case(
            "a PreferNoSchedule taint is not a filter",
            tainted(PreferNoSchedule),
            pod("p"),
            "n1",
            Ok(()),
        ),
        case(
            "an Equal toleration with the key, value and effect tolerates the taint",
            tainted(NoSchedule),
            pod("p").tolerate("dedicated", Some("gpu"), Some(NoSchedule)),
            "n1",
            Ok(()),
        ),
        case(
            "an Equal toleration with another value does not tolerate the taint",
            tainted(NoSchedule),
            pod("p").tolerate("dedicated", Some("cpu"), Some(NoSchedule)),
            "n1",
            taint_err("dedicated", "gpu"),
        ),
        case(
            "an Exists toleration on the key tolerates any value",
            tainted(NoSchedule),
            pod("p").tolerate("dedicated", None, Some(NoSchedule)),
            "n1",
            Ok(()),
        ),
        case(
            "an Exists toleration with an empty key tolerates every taint",
            cluster(
                vec![
                    node("n1")
                        .taint("dedicated", "gpu", NoSchedule)
                        .taint("other", "x", NoExecute),
                ],
                vec![],
            ),
            pod("p").tolerate("", None, None),
            "n1",
            Ok(()),
        ),
        case(
            "an Exists toleration with an empty key and an effect tolerates only that effect",
            cluster(
                vec![
                    node("n1")
                        .taint("dedicated", "gpu", NoSchedule)
                        .taint("other", "x", NoExecute),
                ],
                vec![],
            ),
            pod("p").tolerate("", None, Some(NoSchedule)),
            "n1",
            taint_err("other", "x"),
        ),
        case(
            "a toleration without an effect tolerates NoSchedule",
            tainted(NoSchedule),
            pod("p").tolerate("dedicated", Some("gpu"), None),
            "n1",
            Ok(()),
        ),
        case(
            "a toleration without an effect tolerates NoExecute",
            tainted(NoExecute),
            pod("p").tolerate("dedicated", Some("gpu"), None),
            "n1",
            Ok(()),
        ),
        case(
            "a NoSchedule toleration does not tolerate a NoExecute taint of the same key",
            tainted(NoExecute),
            pod("p").tolerate("dedicated", Some("gpu"), Some(NoSchedule)),
            "n1",
            taint_err("dedicated", "gpu"),
        ),
        case(
            "a toleration of another key does not tolerate the taint",
            tainted(NoSchedule),
            pod("p").tolerate("spot", None, None),
            "n1",
            taint_err("dedicated", "gpu"),
        ),
        case(
            "the first taint no toleration covers is reported",
            cluster(
                vec![
                    node("n1")
                        .taint("dedicated", "gpu", NoSchedule)
                        .taint("spot", "true", NoSchedule),
                ],
                vec![],
            ),
            pod("p").tolerate("dedicated", None, None),
            "n1",
            taint_err("spot", "true"),
        ),
        case(
            "a taint with an empty value is reported with it",
            cluster(vec![node("n1").taint("maintenance", "", NoSchedule)], vec![]),
            pod("p"),
            "n1",
            taint_err("maintenance", ""),
        ),
        case(
            "an Equal toleration with an empty value tolerates a taint with an empty value",
            cluster(vec![node("n1").taint("maintenance", "", NoSchedule)], vec![]),
            pod("p").tolerate("maintenance", Some(""), Some(NoSchedule)),
            "n1",
            Ok(()),
        ),
        case(
            "a template's taint refuses pods on nodes added by the simulation",
            ClusterInput {
                groups: vec![group(
                    "g",
                    node("t").taint("dedicated", "gpu", NoSchedule),
                    0,
                    5,
                    0,
                )],
                ..ClusterInput::default()
            },
            pod("p"),
            "unused",
            taint_err("dedicated", "gpu"),
        )
        .steps(vec![Step::Add("g")])
        .at(At::Added(0)),
    ]);
}

#[test]
fn unschedulable_nodes() {
    run(vec![
        case(
            "a cordoned node refuses the pod",
            cluster(vec![node("n1").unschedulable()], vec![]),
            pod("p"),
            "n1",
            Err(Unfit::Unschedulable),
        ),
        case(
            "a pod tolerating the unschedulable taint may land on a cordoned node",
            cluster(vec![node("n1").unschedulable()], vec![]),
            pod("p").tolerate(TAINT_UNSCHEDULABLE, None, Some(NoSchedule)),
            "n1",
            Ok(()),
        ),
        case(
            "a pod tolerating everything may land on a cordoned node",
            cluster(vec![node("n1").unschedulable()], vec![]),
            pod("p").tolerate("", None, None),
            "n1",
            Ok(()),
        ),
        case(
            "a NoExecute toleration of the unschedulable key does not tolerate the cordon",
            cluster(vec![node("n1").unschedulable()], vec![]),
            pod("p").tolerate(TAINT_UNSCHEDULABLE, None, Some(NoExecute)),
            "n1",
            Err(Unfit::Unschedulable),
        ),
        case(
            "the cordon is reported before node affinity",
            cluster(vec![node("n1").unschedulable()], vec![]),
            pod("p").node_selector("disk", "ssd"),
            "n1",
            Err(Unfit::Unschedulable),
        ),
        case(
            "the cordon is reported before a taint",
            cluster(
                vec![node("n1").unschedulable().taint("dedicated", "gpu", NoSchedule)],
                vec![],
            ),
            pod("p"),
            "n1",
            Err(Unfit::Unschedulable),
        ),
        case(
            "a cordoned node still counts its resources for a pod tolerating the cordon",
            cluster(
                vec![node("n1").unschedulable()],
                vec![pod("b").req(4000, GI).on("n1")],
            ),
            pod("p").tolerate(TAINT_UNSCHEDULABLE, None, None),
            "n1",
            cpu_short(),
        ),
    ]);
}

#[test]
fn host_ports() {
    let on_n1 = |p: Pod| {
        let mut p = p;
        p.node_name = Some("n1".into());
        p
    };
    let ported = |existing: Pod, nodes: Vec<NodeBuilder>| ClusterInput {
        nodes: nodes.into_iter().map(NodeBuilder::build).collect(),
        pods: vec![existing],
        ..ClusterInput::default()
    };
    let port_case = |name, existing: Pod, incoming: Pod, want| Case {
        name,
        input: ported(on_n1(existing), vec![node("n1"), node("n2")]),
        steps: Vec::new(),
        pod: incoming,
        at: At::Node("n1"),
        want,
    };
    run(vec![
        port_case(
            "the same TCP port on all addresses conflicts",
            with_port(pod("b"), 8080, "TCP", ""),
            with_port(pod("p"), 8080, "TCP", ""),
            Err(Unfit::HostPorts),
        ),
        port_case(
            "another port does not conflict",
            with_port(pod("b"), 8080, "TCP", ""),
            with_port(pod("p"), 8081, "TCP", ""),
            Ok(()),
        ),
        port_case(
            "the same port with another protocol does not conflict",
            with_port(pod("b"), 53, "TCP", ""),
            with_port(pod("p"), 53, "UDP", ""),
            Ok(()),
        ),
        port_case(
            "the same port on two different specific addresses does not conflict",
            with_port(pod("b"), 8080, "TCP", "10.0.0.1"),
            with_port(pod("p"), 8080, "TCP", "10.0.0.2"),
            Ok(()),
        ),
        port_case(
            "the same port on the same specific address conflicts",
            with_port(pod("b"), 8080, "TCP", "10.0.0.1"),
            with_port(pod("p"), 8080, "TCP", "10.0.0.1"),
            Err(Unfit::HostPorts),
        ),
        port_case(
            "a specific address conflicts with a port taken on all addresses",
            with_port(pod("b"), 8080, "TCP", "0.0.0.0"),
            with_port(pod("p"), 8080, "TCP", "10.0.0.1"),
            Err(Unfit::HostPorts),
        ),
        port_case(
            "all addresses conflict with a port taken on a specific address",
            with_port(pod("b"), 8080, "TCP", "10.0.0.1"),
            with_port(pod("p"), 8080, "TCP", ""),
            Err(Unfit::HostPorts),
        ),
        port_case(
            "0.0.0.0 and an empty host IP both mean all addresses",
            with_port(pod("b"), 8080, "TCP", ""),
            with_port(pod("p"), 8080, "TCP", "0.0.0.0"),
            Err(Unfit::HostPorts),
        ),
        port_case(
            "a pod without host ports ignores the ports taken",
            with_port(pod("b"), 8080, "TCP", ""),
            pod("p").build(),
            Ok(()),
        ),
        port_case(
            "one conflicting port among several is enough",
            with_port(pod("b"), 9090, "UDP", ""),
            with_port(pod("p").host_port(8080), 9090, "UDP", ""),
            Err(Unfit::HostPorts),
        ),
        Case {
            name: "a port taken on another node does not conflict",
            input: ported(
                {
                    let mut b = pod("b").host_port(8080).build();
                    b.node_name = Some("n2".into());
                    b
                },
                vec![node("n1"), node("n2")],
            ),
            steps: Vec::new(),
            pod: pod("p").host_port(8080).build(),
            at: At::Node("n1"),
            want: Ok(()),
        },
        case(
            "a port taken by a terminal pod is free",
            cluster(
                vec![node("n1")],
                vec![pod("done").host_port(8080).on("n1").phase(PodPhase::Failed)],
            ),
            pod("p").host_port(8080),
            "n1",
            Ok(()),
        ),
        case(
            "host ports are checked before resources",
            cluster(
                vec![node("n1")],
                vec![pod("b").req(4000, GI).host_port(8080).on("n1")],
            ),
            pod("p").host_port(8080),
            "n1",
            Err(Unfit::HostPorts),
        ),
        case(
            "a taint is reported before a port conflict",
            cluster(
                vec![node("n1").taint("dedicated", "gpu", NoSchedule)],
                vec![pod("b").host_port(8080).on("n1")],
            ),
            pod("p").host_port(8080),
            "n1",
            taint_err("dedicated", "gpu"),
        ),
    ]);
}

#[test]
fn pod_anti_affinity() {
    run(vec![
        case(
            "a pod selected by a hostname anti-affinity term on the node refuses the pod",
            topo(vec![web().on("n1")]),
            hostname_anti(pod("p")),
            "n1",
            Err(Unfit::PodAntiAffinity),
        ),
        case(
            "a selected pod on another node of the zone does not matter for the hostname key",
            topo(vec![web().on("n2")]),
            hostname_anti(pod("p")),
            "n1",
            Ok(()),
        ),
        case(
            "a selected pod on another node of the zone refuses the pod for the zone key",
            topo(vec![web().on("n2")]),
            zone_anti(pod("p")),
            "n1",
            Err(Unfit::PodAntiAffinity),
        ),
        case(
            "a selected pod in another zone does not matter for the zone key",
            topo(vec![web().on("n3")]),
            zone_anti(pod("p")),
            "n1",
            Ok(()),
        ),
        case(
            "a node without the topology label is in no domain and cannot violate the term",
            topo(vec![web().on("n4"), web().on("n1")]),
            zone_anti(pod("p")),
            "n4",
            Ok(()),
        ),
        case(
            "a pod on a node without the topology label is in no domain",
            topo(vec![web().on("n4")]),
            zone_anti(pod("p")),
            "n1",
            Ok(()),
        ),
        case(
            "a pod the selector does not select does not matter",
            topo(vec![pod("api").label("app", "api").on("n1")]),
            hostname_anti(pod("p")),
            "n1",
            Ok(()),
        ),
        case(
            "a term without namespaces only selects pods of the pod's own namespace",
            topo(vec![web().namespace("shop").on("n1")]),
            hostname_anti(pod("p")),
            "n1",
            Ok(()),
        ),
        case(
            "a term listing a namespace selects pods there",
            topo(vec![web().namespace("shop").on("n1")]),
            pod("p").anti_affinity(in_namespaces(term("app", "web", LABEL_HOSTNAME), &["shop"])),
            "n1",
            Err(Unfit::PodAntiAffinity),
        ),
        case(
            "a term listing namespaces does not select pods of the pod's own namespace",
            topo(vec![web().on("n1")]),
            pod("p").anti_affinity(in_namespaces(term("app", "web", LABEL_HOSTNAME), &["shop"])),
            "n1",
            Ok(()),
        ),
        case(
            "a namespace selector selects pods of the namespaces whose labels match",
            namespaces(topo(vec![web().namespace("shop").on("n1")])),
            pod("p").anti_affinity(with_namespace_selector(
                term("app", "web", LABEL_HOSTNAME),
                Selector::parse("team=a").unwrap(),
            )),
            "n1",
            Err(Unfit::PodAntiAffinity),
        ),
        case(
            "a namespace selector does not select pods of namespaces whose labels differ",
            namespaces(topo(vec![web().namespace("blog").on("n1")])),
            pod("p").anti_affinity(with_namespace_selector(
                term("app", "web", LABEL_HOSTNAME),
                Selector::parse("team=a").unwrap(),
            )),
            "n1",
            Ok(()),
        ),
        case(
            "an empty namespace selector selects pods of every namespace",
            namespaces(topo(vec![web().namespace("blog").on("n1")])),
            pod("p").anti_affinity(with_namespace_selector(
                term("app", "web", LABEL_HOSTNAME),
                Selector::everything(),
            )),
            "n1",
            Err(Unfit::PodAntiAffinity),
        ),
        case(
            "namespaces and a namespace selector are OR'ed",
            namespaces(topo(vec![web().namespace("blog").on("n1")])),
            pod("p").anti_affinity(with_namespace_selector(
                in_namespaces(term("app", "web", LABEL_HOSTNAME), &["blog"]),
                Selector::parse("team=a").unwrap(),
            )),
            "n1",
            Err(Unfit::PodAntiAffinity),
        ),
        case(
            "any of several anti-affinity terms refuses the pod",
            topo(vec![pod("api").label("tier", "api").on("n2")]),
            zone_anti(pod("p")).anti_affinity(term("tier", "api", LABEL_ZONE)),
            "n1",
            Err(Unfit::PodAntiAffinity),
        ),
    ]);
}

#[test]
fn existing_pods_anti_affinity() {
    run(vec![
        case(
            "an existing pod whose hostname anti-affinity selects the pod refuses it on its node",
            topo(vec![hostname_anti(pod("guard")).on("n1")]),
            web(),
            "n1",
            Err(Unfit::ExistingPodAntiAffinity),
        ),
        case(
            "an existing pod's hostname anti-affinity does not reach other nodes",
            topo(vec![hostname_anti(pod("guard")).on("n1")]),
            web(),
            "n2",
            Ok(()),
        ),
        case(
            "an existing pod's zone anti-affinity refuses the pod on every node of the zone",
            topo(vec![zone_anti(pod("guard")).on("n1")]),
            web(),
            "n2",
            Err(Unfit::ExistingPodAntiAffinity),
        ),
        case(
            "an existing pod's zone anti-affinity does not reach another zone",
            topo(vec![zone_anti(pod("guard")).on("n1")]),
            web(),
            "n3",
            Ok(()),
        ),
        case(
            "an existing pod's zone anti-affinity does not reach a node without the zone label",
            topo(vec![zone_anti(pod("guard")).on("n1")]),
            web(),
            "n4",
            Ok(()),
        ),
        case(
            "an existing pod on a node without the zone label has no zone to protect",
            topo(vec![zone_anti(pod("guard")).on("n4")]),
            web(),
            "n1",
            Ok(()),
        ),
        case(
            "an existing pod's term without namespaces only selects pods of its own namespace",
            topo(vec![hostname_anti(pod("guard")).namespace("shop").on("n1")]),
            web(),
            "n1",
            Ok(()),
        ),
        case(
            "an existing pod's term listing the pod's namespace selects it",
            topo(vec![
                pod("guard")
                    .namespace("shop")
                    .anti_affinity(in_namespaces(term("app", "web", LABEL_HOSTNAME), &["default"]))
                    .on("n1"),
            ]),
            web(),
            "n1",
            Err(Unfit::ExistingPodAntiAffinity),
        ),
        case(
            "an existing pod's namespace selector is matched against the incoming pod's namespace",
            namespaces(topo(vec![
                pod("guard")
                    .namespace("blog")
                    .anti_affinity(with_namespace_selector(
                        term("app", "web", LABEL_HOSTNAME),
                        Selector::parse("team=a").unwrap(),
                    ))
                    .on("n1"),
            ])),
            web().namespace("shop"),
            "n1",
            Err(Unfit::ExistingPodAntiAffinity),
        ),
        case(
            "an existing pod whose anti-affinity does not select the pod does not matter",
            topo(vec![hostname_anti(pod("guard")).on("n1")]),
            pod("p").label("app", "api"),
            "n1",
            Ok(()),
        ),
        case(
            "the incoming pod's own anti-affinity is reported before the existing pods'",
            topo(vec![hostname_anti(web()).on("n1")]),
            hostname_anti(web()),
            "n1",
            Err(Unfit::PodAntiAffinity),
        ),
    ]);
}

#[test]
fn pod_affinity() {
    run(vec![
        case(
            "a selected pod on the node satisfies a hostname affinity term",
            topo(vec![web().on("n1")]),
            pod("p").affinity(term("app", "web", LABEL_HOSTNAME)),
            "n1",
            Ok(()),
        ),
        case(
            "a selected pod on another node does not satisfy a hostname affinity term",
            topo(vec![web().on("n2")]),
            pod("p").affinity(term("app", "web", LABEL_HOSTNAME)),
            "n1",
            Err(Unfit::PodAffinity),
        ),
        case(
            "a selected pod on another node of the zone satisfies a zone affinity term",
            topo(vec![web().on("n2")]),
            pod("p").affinity(term("app", "web", LABEL_ZONE)),
            "n1",
            Ok(()),
        ),
        case(
            "a selected pod only in another zone does not satisfy a zone affinity term",
            topo(vec![web().on("n3")]),
            pod("p").affinity(term("app", "web", LABEL_ZONE)),
            "n1",
            Err(Unfit::PodAffinity),
        ),
        case(
            "a node without the topology label never satisfies an affinity term",
            topo(vec![web().on("n4"), web().on("n1")]),
            pod("p").affinity(term("app", "web", LABEL_ZONE)),
            "n4",
            Err(Unfit::PodAffinity),
        ),
        case(
            "the first pod of a self-affine workload may land anywhere",
            topo(vec![]),
            web().affinity(term("app", "web", LABEL_ZONE)),
            "n3",
            Ok(()),
        ),
        case(
            "the first pod of a self-affine workload still needs the topology label",
            topo(vec![]),
            web().affinity(term("app", "web", LABEL_ZONE)),
            "n4",
            Err(Unfit::PodAffinity),
        ),
        case(
            "a self-affine pod must join its workload once a replica exists",
            topo(vec![web().on("n3")]),
            web().affinity(term("app", "web", LABEL_ZONE)),
            "n1",
            Err(Unfit::PodAffinity),
        ),
        case(
            "a pod whose affinity selects no pod anywhere and not itself has no place",
            topo(vec![]),
            pod("p").affinity(term("app", "web", LABEL_ZONE)),
            "n1",
            Err(Unfit::PodAffinity),
        ),
        case(
            "a term listing a namespace is satisfied by a selected pod there",
            topo(vec![web().namespace("shop").on("n1")]),
            pod("p").affinity(in_namespaces(term("app", "web", LABEL_HOSTNAME), &["shop"])),
            "n1",
            Ok(()),
        ),
        case(
            "a term without namespaces is not satisfied by a pod of another namespace",
            topo(vec![web().namespace("shop").on("n1")]),
            pod("p").affinity(term("app", "web", LABEL_HOSTNAME)),
            "n1",
            Err(Unfit::PodAffinity),
        ),
        case(
            "a namespace selector term is satisfied by a selected pod of a matching namespace",
            namespaces(topo(vec![web().namespace("shop").on("n2")])),
            pod("p").affinity(with_namespace_selector(
                term("app", "web", LABEL_ZONE),
                Selector::parse("team=a").unwrap(),
            )),
            "n1",
            Ok(()),
        ),
        case(
            "every affinity term must be satisfied",
            topo(vec![
                web().label("tier", "front").on("n2"),
                pod("db").label("tier", "db").on("n3"),
            ]),
            pod("p")
                .affinity(term("app", "web", LABEL_ZONE))
                .affinity(term("tier", "db", LABEL_ZONE)),
            "n1",
            Err(Unfit::PodAffinity),
        ),
        case(
            "two affinity terms satisfied by one pod in the domain pass",
            topo(vec![web().label("tier", "front").on("n2")]),
            pod("p")
                .affinity(term("app", "web", LABEL_ZONE))
                .affinity(term("tier", "front", LABEL_HOSTNAME)),
            "n2",
            Ok(()),
        ),
    ]);
}

#[test]
fn the_simulation_changes_what_fits() {
    run(vec![
        case(
            "a pod placed by the simulation takes its resources",
            cluster(vec![node("n1")], vec![pod("q").req(3500, GI).pending()]),
            pod("p").req(600, GI),
            "n1",
            cpu_short(),
        )
        .steps(vec![Step::Place("q", At::Node("n1"))]),
        case(
            "a pod placed by the simulation takes a pod slot",
            cluster(vec![node("n1").pods(1)], vec![pod("q").pending()]),
            pod("p"),
            "n1",
            Err(Unfit::Resources(Shortage::Pods)),
        )
        .steps(vec![Step::Place("q", At::Node("n1"))]),
        case(
            "a pod placed by the simulation takes its host ports",
            cluster(vec![node("n1")], vec![pod("q").host_port(8080).pending()]),
            pod("p").host_port(8080),
            "n1",
            Err(Unfit::HostPorts),
        )
        .steps(vec![Step::Place("q", At::Node("n1"))]),
        case(
            "a pod placed by the simulation counts for the incoming pod's anti-affinity",
            topo(vec![web().pending()]),
            zone_anti(pod("p")),
            "n1",
            Err(Unfit::PodAntiAffinity),
        )
        .steps(vec![Step::Place("web", At::Node("n2"))]),
        case(
            "a pod placed by the simulation enforces its own anti-affinity",
            topo(vec![zone_anti(pod("guard")).pending()]),
            web(),
            "n1",
            Err(Unfit::ExistingPodAntiAffinity),
        )
        .steps(vec![Step::Place("guard", At::Node("n2"))]),
        case(
            "a pod placed by the simulation satisfies affinity",
            topo(vec![web().pending(), web().on("n3")]),
            pod("p").affinity(term("app", "web", LABEL_HOSTNAME)),
            "n1",
            Ok(()),
        )
        .steps(vec![Step::Place("web", At::Node("n1"))]),
        case(
            "an unplaced pending pod takes nothing",
            cluster(
                vec![node("n1")],
                vec![pod("q").req(4000, GI).host_port(8080).pending()],
            ),
            pod("p").req(4000, GI).host_port(8080),
            "n1",
            Ok(()),
        ),
        case(
            "an unplaced pending pod does not count for anti-affinity",
            topo(vec![zone_anti(pod("guard")).pending(), web().pending()]),
            hostname_anti(web()),
            "n1",
            Ok(()),
        ),
        case(
            "pods of a removed node do not count for zone anti-affinity",
            topo(vec![web().on("n2")]),
            zone_anti(pod("p")),
            "n1",
            Ok(()),
        )
        .steps(vec![Step::Remove("n2")]),
        case(
            "anti-affinity of pods on a removed node does not count",
            topo(vec![zone_anti(pod("guard")).on("n2")]),
            web(),
            "n1",
            Ok(()),
        )
        .steps(vec![Step::Remove("n2")]),
        case(
            "a pod on a removed node no longer satisfies affinity",
            topo(vec![web().on("n2"), web().on("n3")]),
            pod("p").affinity(term("app", "web", LABEL_ZONE)),
            "n1",
            Err(Unfit::PodAffinity),
        )
        .steps(vec![Step::Remove("n2")]),
        case(
            "removing another node keeps the pods of this one",
            cluster(
                vec![node("n1"), node("n2")],
                vec![pod("b").req(4000, GI).on("n1")],
            ),
            pod("p").req(100, GI),
            "n1",
            cpu_short(),
        )
        .steps(vec![Step::Remove("n2")]),
    ]);
}

fn daemonset(name: &str, cpu: i64, spec: SchedulingSpec) -> DaemonSet {
    DaemonSet {
        namespace: "kube-system".into(),
        name: name.into(),
        requests: Resources::cpu_mem(cpu, 100 * MI).with_pods(1),
        scheduling: Arc::new(spec),
    }
}

fn template_cluster(template: NodeBuilder, daemonsets: Vec<DaemonSet>) -> ClusterInput {
    ClusterInput {
        groups: vec![group("g", template, 0, 10, 0)],
        daemonsets,
        ..ClusterInput::default()
    }
}

#[test]
fn nodes_added_by_the_simulation() {
    let small = || node("t").cpu_mem(1000, 4 * GI).zone("a");
    let ds = || vec![daemonset("logs", 300, SchedulingSpec::default())];
    let tolerating = || SchedulingSpec {
        tolerations: vec![swell_node_autoscaler::model::Toleration {
            key: "dedicated".into(),
            operator: swell_node_autoscaler::model::TolerationOperator::Exists,
            value: String::new(),
            effect: None,
        }],
        ..SchedulingSpec::default()
    };
    let add = |n: usize| vec![Step::Add("g"); n];
    run(vec![
        case(
            "a new node's DaemonSet pods leave the rest of its allocatable",
            template_cluster(small(), ds()),
            pod("p").req(700, GI),
            "",
            Ok(()),
        )
        .steps(add(1))
        .at(At::Added(0)),
        case(
            "a new node's DaemonSet pods take their share of cpu",
            template_cluster(small(), ds()),
            pod("p").req(701, GI),
            "",
            cpu_short(),
        )
        .steps(add(1))
        .at(At::Added(0)),
        case(
            "a new node's DaemonSet pods take pod slots",
            template_cluster(small().pods(1), ds()),
            pod("p").req(10, MI),
            "",
            Err(Unfit::Resources(Shortage::Pods)),
        )
        .steps(add(1))
        .at(At::Added(0)),
        case(
            "a DaemonSet that does not tolerate the template's taint adds no overhead",
            template_cluster(
                small().taint("dedicated", "x", NoSchedule),
                vec![daemonset("logs", 300, SchedulingSpec::default())],
            ),
            pod("p").req(1000, GI).tolerate("dedicated", None, None),
            "",
            Ok(()),
        )
        .steps(add(1))
        .at(At::Added(0)),
        case(
            "a DaemonSet that tolerates the template's taint adds its overhead",
            template_cluster(
                small().taint("dedicated", "x", NoSchedule),
                vec![daemonset("logs", 300, tolerating())],
            ),
            pod("p").req(1000, GI).tolerate("dedicated", None, None),
            "",
            cpu_short(),
        )
        .steps(add(1))
        .at(At::Added(0)),
        case(
            "a DaemonSet whose nodeSelector the template does not match adds no overhead",
            template_cluster(
                small(),
                vec![daemonset(
                    "gpu-driver",
                    300,
                    SchedulingSpec {
                        node_selector: Labels::from([("gpu".to_string(), "true".to_string())]),
                        ..SchedulingSpec::default()
                    },
                )],
            ),
            pod("p").req(1000, GI),
            "",
            Ok(()),
        )
        .steps(add(1))
        .at(At::Added(0)),
        case(
            "a pod placed on one new node leaves the next new node empty",
            template_cluster(small(), vec![]),
            pod("p").req(1000, GI),
            "",
            Ok(()),
        )
        .steps(vec![
            Step::Add("g"),
            Step::Place("q", At::Added(0)),
            Step::Add("g"),
        ])
        .at(At::Added(1)),
        case(
            "a pod placed on a new node takes its resources",
            template_cluster(small(), vec![]),
            pod("p").req(1000, GI),
            "",
            cpu_short(),
        )
        .steps(vec![
            Step::Add("g"),
            Step::Place("q", At::Added(0)),
            Step::Add("g"),
        ])
        .at(At::Added(0)),
        case(
            "each new node is its own hostname domain for anti-affinity",
            template_cluster(small(), vec![]),
            hostname_anti(pod("p")),
            "",
            Ok(()),
        )
        .steps(vec![
            Step::Add("g"),
            Step::Place("web", At::Added(0)),
            Step::Add("g"),
        ])
        .at(At::Added(1)),
        case(
            "a new node holding a selected pod refuses a hostname anti-affine pod",
            template_cluster(small(), vec![]),
            hostname_anti(pod("p")),
            "",
            Err(Unfit::PodAntiAffinity),
        )
        .steps(vec![
            Step::Add("g"),
            Step::Place("web", At::Added(0)),
            Step::Add("g"),
        ])
        .at(At::Added(0)),
        case(
            "new nodes share their template's zone for zone anti-affinity",
            template_cluster(small(), vec![]),
            zone_anti(pod("p")),
            "",
            Err(Unfit::PodAntiAffinity),
        )
        .steps(vec![
            Step::Add("g"),
            Step::Place("web", At::Added(0)),
            Step::Add("g"),
        ])
        .at(At::Added(1)),
        case(
            "a hostname affinity term is not satisfied by a pod on another new node",
            template_cluster(small(), vec![]),
            pod("p").affinity(term("app", "web", LABEL_HOSTNAME)),
            "",
            Err(Unfit::PodAffinity),
        )
        .steps(vec![
            Step::Add("g"),
            Step::Place("web", At::Added(0)),
            Step::Add("g"),
        ])
        .at(At::Added(1)),
        case(
            "an existing pod's hostname anti-affinity on one new node does not reach the next",
            template_cluster(small(), vec![]),
            web(),
            "",
            Ok(()),
        )
        .steps(vec![
            Step::Add("g"),
            Step::Place("guard", At::Added(0)),
            Step::Add("g"),
        ])
        .at(At::Added(1)),
    ]
    .into_iter()
    .map(|mut c| {
        // The pods the steps place, pending in the input.
        c.input.pods = vec![
            pod("q").req(300, GI).pending().build(),
            web().pending().build(),
            hostname_anti(pod("guard")).pending().build(),
        ];
        c
    })
    .collect());
}

#[test]
fn the_template_overhead_sums_the_daemonsets_that_would_run_on_a_new_node() {
    let input = ClusterInput {
        groups: vec![
            group("plain", node("t"), 0, 5, 0),
            group("tainted", node("t").taint("dedicated", "x", NoSchedule), 0, 5, 0),
        ],
        daemonsets: vec![
            daemonset("logs", 100, SchedulingSpec::default()),
            daemonset("metrics", 200, SchedulingSpec::default()),
        ],
        ..ClusterInput::default()
    };
    let snap = Snapshot::new(input);
    let sim = Sim::new(&snap);
    let plain = snap.group_id("plain").unwrap();
    let tainted = snap.group_id("tainted").unwrap();
    assert_eq!(
        sim.template_overhead(plain),
        &Resources::cpu_mem(300, 200 * MI).with_pods(2)
    );
    assert_eq!(sim.template_daemonsets(plain), 2);
    assert_eq!(sim.template_overhead(tainted), &Resources::default());
    assert_eq!(sim.template_daemonsets(tainted), 0);
}

#[test]
fn rolling_back_the_simulation_frees_what_it_took() {
    let input = cluster(
        vec![node("n1")],
        vec![pod("q").req(4000, GI).host_port(8080).pending()],
    );
    let snap = Snapshot::new(input);
    let mut sim = Sim::new(&snap);
    let n1 = snap.node_id("n1").unwrap();
    let incoming = pod("p").req(100, GI).host_port(8080).build();
    let mark = sim.mark();
    sim.place(0, n1);
    assert_eq!(predicates::check(&sim, &incoming, n1), Err(Unfit::HostPorts));
    sim.rollback(mark);
    assert_eq!(predicates::check(&sim, &incoming, n1), Ok(()));
    sim.remove_node(n1);
    let big = pod("big").req(4000, GI).build();
    let mark = sim.mark();
    sim.place(0, n1);
    sim.rollback(mark);
    assert!(sim.is_removed(n1));
    assert_eq!(sim.used(n1), &Resources::default());
    assert_eq!(predicates::check(&sim, &big, n1), Ok(()));
}

#[test]
fn messages_are_the_schedulers() {
    let cases: Vec<(&str, Unfit, &str)> = vec![
        (
            "node affinity",
            Unfit::NodeAffinity,
            "node(s) didn't match Pod's node affinity/selector",
        ),
        (
            "a taint",
            Unfit::Taint {
                key: "dedicated".into(),
                value: "gpu".into(),
            },
            "node(s) had untolerated taint {dedicated: gpu}",
        ),
        (
            "a taint with no value",
            Unfit::Taint {
                key: "maintenance".into(),
                value: String::new(),
            },
            "node(s) had untolerated taint {maintenance: }",
        ),
        ("cpu", Unfit::Resources(Shortage::Cpu), "Insufficient cpu"),
        (
            "memory",
            Unfit::Resources(Shortage::Memory),
            "Insufficient memory",
        ),
        (
            "ephemeral storage",
            Unfit::Resources(Shortage::EphemeralStorage),
            "Insufficient ephemeral-storage",
        ),
        (
            "an extended resource",
            Unfit::Resources(Shortage::Extended(GPU.into())),
            "Insufficient nvidia.com/gpu",
        ),
        ("the pod count", Unfit::Resources(Shortage::Pods), "Too many pods"),
        (
            "host ports",
            Unfit::HostPorts,
            "node(s) didn't have free ports for the requested pod ports",
        ),
        (
            "pod affinity",
            Unfit::PodAffinity,
            "node(s) didn't match pod affinity rules",
        ),
        (
            "pod anti-affinity",
            Unfit::PodAntiAffinity,
            "node(s) didn't match pod anti-affinity rules",
        ),
        (
            "existing pods' anti-affinity",
            Unfit::ExistingPodAntiAffinity,
            "node(s) didn't satisfy existing pods anti-affinity rules",
        ),
        ("a cordon", Unfit::Unschedulable, "node(s) were unschedulable"),
    ];
    let mut failures = Vec::new();
    for (name, unfit, want) in &cases {
        if unfit.to_string() != *want {
            failures.push(format!(
                "the message for {name}: want {want:?}, got {:?}",
                unfit.to_string()
            ));
        }
        // Plans serialize the reason as its message.
        let json = serde_json::to_string(unfit).unwrap();
        if json != serde_json::to_string(want).unwrap() {
            failures.push(format!("the JSON for {name}: {json}"));
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

#[test]
fn plugins_are_named_like_the_schedulers() {
    let cases = [
        (Unfit::Unschedulable, "NodeUnschedulable"),
        (Unfit::NodeAffinity, "NodeAffinity"),
        (
            Unfit::Taint {
                key: "k".into(),
                value: "v".into(),
            },
            "TaintToleration",
        ),
        (Unfit::HostPorts, "NodePorts"),
        (Unfit::Resources(Shortage::Cpu), "NodeResourcesFit"),
        (Unfit::PodAffinity, "InterPodAffinity"),
        (Unfit::PodAntiAffinity, "InterPodAffinity"),
        (Unfit::ExistingPodAntiAffinity, "InterPodAffinity"),
    ];
    for (unfit, plugin) in cases {
        assert_eq!(unfit.plugin(), plugin, "{unfit:?}");
    }
    // Only pod affinity can be cured by adding pods to the node.
    assert!(!Unfit::PodAffinity.is_monotonic());
    assert!(Unfit::PodAntiAffinity.is_monotonic());
    assert!(Unfit::Resources(Shortage::Pods).is_monotonic());
}

#[test]
fn static_check_agrees_with_check_on_what_does_not_depend_on_other_pods() {
    let nodes = [
        node("plain").build(),
        node("cordoned").unschedulable().build(),
        node("ssd").label("disk", "ssd").build(),
        node("tainted").taint("dedicated", "gpu", NoSchedule).build(),
    ];
    let pods = [
        pod("plain").build(),
        pod("picky").node_selector("disk", "ssd").build(),
        pod("tolerant").tolerate("", None, None).build(),
    ];
    let snap = Snapshot::new(ClusterInput {
        nodes: nodes.to_vec(),
        ..ClusterInput::default()
    });
    let sim = Sim::new(&snap);
    for p in &pods {
        for (id, n) in nodes.iter().enumerate() {
            assert_eq!(
                predicates::static_check(&p.scheduling, n),
                predicates::check(&sim, p, id),
                "pod {} on node {}",
                p.name,
                n.name
            );
        }
    }
}

/// Cases where an earlier version differed from the kube-scheduler (found while writing the tables
/// above): the filter order, the order inside InterPodAffinity, and how affinity terms are counted.
#[test]
fn scheduler_semantics_that_once_differed() {
    run(vec![
        case(
            "an untolerated taint is reported before a node selector mismatch (TaintToleration runs first)",
            cluster(
                vec![node("n1").taint("dedicated", "gpu", TaintEffect::NoSchedule)],
                vec![],
            ),
            pod("p").node_selector("disk", "ssd"),
            "n1",
            taint_err("dedicated", "gpu"),
        ),
        case(
            "pod affinity is checked before the pod's own anti-affinity",
            topo(vec![web().on("n1")]),
            pod("p")
                .anti_affinity(term("app", "web", LABEL_HOSTNAME))
                .affinity(term("app", "db", LABEL_ZONE)),
            "n1",
            Err(Unfit::PodAffinity),
        ),
        case(
            "pod affinity is checked before existing pods' anti-affinity",
            topo(vec![
                pod("guard")
                    .label("app", "db")
                    .anti_affinity(term("app", "web", LABEL_HOSTNAME))
                    .on("n3"),
                pod("guard2")
                    .anti_affinity(term("app", "web", LABEL_HOSTNAME))
                    .on("n1"),
            ]),
            pod("p")
                .label("app", "web")
                .affinity(term("app", "db", LABEL_ZONE)),
            "n1",
            Err(Unfit::PodAffinity),
        ),
        case(
            "with two affinity terms only a pod matching both counts, not one pod per term",
            topo(vec![web().on("n1"), pod("front").label("tier", "front").on("n1")]),
            pod("p")
                .affinity(term("app", "web", LABEL_HOSTNAME))
                .affinity(term("tier", "front", LABEL_HOSTNAME)),
            "n1",
            Err(Unfit::PodAffinity),
        ),
        case(
            "a pod matching both terms satisfies both",
            topo(vec![web().label("tier", "front").on("n1")]),
            pod("p")
                .affinity(term("app", "web", LABEL_HOSTNAME))
                .affinity(term("tier", "front", LABEL_HOSTNAME)),
            "n1",
            Ok(()),
        ),
        case(
            "the first pod of a self-affine workload may land when no pod matches all its terms",
            topo(vec![web().on("n3")]),
            pod("p")
                .label("app", "web")
                .label("tier", "front")
                .affinity(term("app", "web", LABEL_HOSTNAME))
                .affinity(term("tier", "front", LABEL_HOSTNAME)),
            "n1",
            Ok(()),
        ),
        case(
            "matching pods on nodes without the topology label do not count against the first pod",
            topo(vec![web().on("n4")]),
            pod("p")
                .label("app", "web")
                .affinity(term("app", "web", LABEL_ZONE)),
            "n1",
            Ok(()),
        ),
    ]);
}
