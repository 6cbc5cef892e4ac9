//! Similar node groups and the split of a scale-up, against Cluster Autoscaler 1.36's
//! `processors/nodegroupset/{compare_nodegroups.go,aws_nodegroups.go,gce_nodegroups.go,
//! label_nodegroups.go,balancing_processor.go}` and their tests.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use jiff::Timestamp;
use swell_node_autoscaler::model::{GroupOptions, Labels, Node, NodeGroup};
use swell_node_autoscaler::resources::Resources;
use swell_node_autoscaler::scaleup::balance::{
    BalanceOptions, Dissimilarity, Provider, Split, find_similar, similar, similar_with_requests, split,
};

const KI: i64 = 1024;

/// A group whose template has `cpu` millicores and `mem` bytes of capacity and allocatable, 110 pods.
fn group(id: &str, cpu: i64, mem: i64) -> NodeGroup {
    let resources = Resources::cpu_mem(cpu, mem).with_pods(110);
    NodeGroup {
        id: id.to_string(),
        min: 0,
        max: 10,
        target: 0,
        template: Node {
            name: format!("{id}-template"),
            group: Some(id.to_string()),
            allocatable: resources.clone(),
            capacity: resources,
            labels: Labels::from([("kubernetes.io/os".to_string(), "linux".to_string())]),
            taints: Vec::new(),
            ready: true,
            ready_transition: None,
            unschedulable: false,
            created: Timestamp::UNIX_EPOCH,
            scale_down_disabled: false,
        },
        price_per_hour: None,
        backoff_until: None,
        options: GroupOptions::default(),
    }
}

fn label(mut g: NodeGroup, key: &str, value: &str) -> NodeGroup {
    g.template.labels.insert(key.to_string(), value.to_string());
    g
}

fn alloc(mut g: NodeGroup, cpu: i64, mem: i64) -> NodeGroup {
    g.template.allocatable.cpu = cpu;
    g.template.allocatable.memory = mem;
    g
}

fn capacity_mem(mut g: NodeGroup, mem: i64) -> NodeGroup {
    g.template.capacity.memory = mem;
    g
}

struct SimilarCase {
    name: &'static str,
    a: NodeGroup,
    b: NodeGroup,
    /// Requests of the pods each template starts with (DaemonSets).
    requested: (Resources, Resources),
    opts: BalanceOptions,
    /// `Ok` or the start of the dissimilarity message.
    want: Result<(), &'static str>,
}

fn case(name: &'static str, a: NodeGroup, b: NodeGroup, want: Result<(), &'static str>) -> SimilarCase {
    SimilarCase {
        name,
        a,
        b,
        requested: (Resources::default(), Resources::default()),
        opts: BalanceOptions::default(),
        want,
    }
}

fn similar_cases() -> Vec<SimilarCase> {
    let base = || group("a", 1000, 2000);
    let aws = BalanceOptions {
        provider: Provider::Aws,
        ..BalanceOptions::default()
    };
    let by_label = |labels: &[&str]| BalanceOptions {
        balancing_labels: labels.iter().map(|s| s.to_string()).collect(),
        ..BalanceOptions::default()
    };
    vec![
        case(
            "identical templates are similar",
            base(),
            group("b", 1000, 2000),
            Ok(()),
        ),
        case(
            "a cpu capacity that differs by one millicore is not similar",
            base(),
            group("b", 1001, 2000),
            Err("cpu capacity differs: 1000 vs 1001"),
        ),
        case(
            "a memory capacity 1.4% lower is within the 1.5% memory ratio",
            capacity_mem(group("a", 1000, 1000), 1000),
            capacity_mem(group("b", 1000, 1000), 986),
            Ok(()),
        ),
        case(
            "a memory capacity 1.6% lower is outside the 1.5% memory ratio",
            capacity_mem(group("a", 1000, 1000), 1000),
            capacity_mem(group("b", 1000, 1000), 984),
            Err("memory capacity differs"),
        ),
        case(
            "two m5.xlarge from different zones (16116152Ki vs 15944120Ki) are similar",
            group("a", 1000, 16116152 * KI),
            group("b", 1000, 15944120 * KI),
            Ok(()),
        ),
        case(
            "an m5.xlarge with 2% more memory (16438475Ki) is not similar",
            group("a", 1000, 16116152 * KI),
            group("b", 1000, 16438475 * KI),
            Err("memory capacity differs"),
        ),
        case(
            "a GPU on one template only is not similar",
            base(),
            {
                let mut g = group("b", 1000, 2000);
                g.template.capacity.set("nvidia.com/gpu", 1);
                g.template.allocatable.set("nvidia.com/gpu", 1);
                g
            },
            Err("nvidia.com/gpu capacity differs: 0 vs 1"),
        ),
        case(
            "allocatable cpu 999m against 1000m is similar",
            base(),
            alloc(group("b", 1000, 2000), 999, 2000),
            Ok(()),
        ),
        case(
            "allocatable cpu 4.9% lower is within the 5% allocatable ratio",
            base(),
            alloc(group("b", 1000, 2000), 951, 2000),
            Ok(()),
        ),
        case(
            "allocatable cpu 5.1% lower is outside the 5% allocatable ratio",
            base(),
            alloc(group("b", 1000, 2000), 949, 2000),
            Err("cpu allocatable differs by more than 0.05: 1000 vs 949"),
        ),
        case(
            "allocatable memory half as large is not similar",
            base(),
            alloc(group("b", 1000, 2000), 1000, 1000),
            Err("memory allocatable differs"),
        ),
        SimilarCase {
            requested: (Resources::cpu_mem(40, 0), Resources::default()),
            ..case(
                "free cpu 4% lower because of a DaemonSet is within the 5% free ratio",
                base(),
                group("b", 1000, 2000),
                Ok(()),
            )
        },
        SimilarCase {
            requested: (Resources::cpu_mem(60, 0), Resources::default()),
            ..case(
                "free cpu 6% lower because of a DaemonSet is outside the 5% free ratio",
                base(),
                group("b", 1000, 2000),
                Err("free cpu differs by more than 0.05: 940 vs 1000"),
            )
        },
        SimilarCase {
            requested: (Resources::cpu_mem(60, 0), Resources::default()),
            opts: BalanceOptions {
                max_free_difference_ratio: 0.1,
                ..BalanceOptions::default()
            },
            ..case(
                "a larger --max-free-difference-ratio admits the 6% free difference",
                base(),
                group("b", 1000, 2000),
                Ok(()),
            )
        },
        SimilarCase {
            requested: (Resources::cpu_mem(500, 1000), Resources::cpu_mem(501, 1001)),
            ..case(
                "similar allocatable with similar DaemonSet requests is similar (CA's pod4 case)",
                base(),
                alloc(group("b", 1000, 2000), 999, 2000),
                Ok(()),
            )
        },
        SimilarCase {
            requested: (
                Resources::default().with_extended("example.com/dongle", 1),
                Resources::default(),
            ),
            ..case(
                "an extended resource requested on one template only is not similar",
                {
                    let mut g = base();
                    g.template.allocatable.set("example.com/dongle", 4);
                    g.template.capacity.set("example.com/dongle", 4);
                    g
                },
                {
                    let mut g = group("b", 1000, 2000);
                    g.template.allocatable.set("example.com/dongle", 4);
                    g.template.capacity.set("example.com/dongle", 4);
                    g
                },
                Err("free example.com/dongle differs"),
            )
        },
        SimilarCase {
            requested: (Resources::default().with_pods(30), Resources::default()),
            ..case(
                "requested pod slots do not count against free pods (NodeInfo does not sum them)",
                base(),
                group("b", 1000, 2000),
                Ok(()),
            )
        },
        SimilarCase {
            opts: BalanceOptions {
                memory_difference_ratio: 0.05,
                ..BalanceOptions::default()
            },
            ..case(
                "a larger --memory-difference-ratio admits a 3% memory capacity difference",
                capacity_mem(group("a", 1000, 1000), 1000),
                capacity_mem(group("b", 1000, 1000), 970),
                Ok(()),
            )
        },
        case(
            "a label with another value is not similar",
            label(base(), "team", "web"),
            label(group("b", 1000, 2000), "team", "batch"),
            Err("label team differs: Some(\"web\") vs Some(\"batch\")"),
        ),
        case(
            "a label present on one template only is not similar",
            base(),
            label(group("b", 1000, 2000), "character", "winnie the pooh"),
            Err("label character differs: None vs Some(\"winnie the pooh\")"),
        ),
        case(
            "hostname, zone and region labels (beta and GA) are ignored",
            [
                "kubernetes.io/hostname",
                "topology.kubernetes.io/zone",
                "topology.kubernetes.io/region",
            ]
            .into_iter()
            .chain([
                "failure-domain.beta.kubernetes.io/zone",
                "failure-domain.beta.kubernetes.io/region",
            ])
            .fold(base(), |g, k| label(g, k, "one")),
            [
                "kubernetes.io/hostname",
                "topology.kubernetes.io/zone",
                "topology.kubernetes.io/region",
            ]
            .into_iter()
            .chain([
                "failure-domain.beta.kubernetes.io/zone",
                "failure-domain.beta.kubernetes.io/region",
            ])
            .fold(group("b", 1000, 2000), |g, k| label(g, k, "two")),
            Ok(()),
        ),
        case(
            "an ignored label present on one template only does not matter (fluentd-ds-ready)",
            label(base(), "beta.kubernetes.io/fluentd-ds-ready", "true"),
            group("b", 1000, 2000),
            Ok(()),
        ),
        case(
            "kops' instance group label is ignored",
            label(base(), "kops.k8s.io/instancegroup", "nodes-a"),
            label(group("b", 1000, 2000), "kops.k8s.io/instancegroup", "nodes-b"),
            Ok(()),
        ),
        case(
            "the generic comparator compares the EKS node group label",
            label(base(), "eks.amazonaws.com/nodegroup", "ng-a"),
            label(group("b", 1000, 2000), "eks.amazonaws.com/nodegroup", "ng-b"),
            Err("label eks.amazonaws.com/nodegroup differs"),
        ),
        SimilarCase {
            opts: aws.clone(),
            ..case(
                "the AWS comparator ignores eksctl, EKS, ENIConfig, lifecycle and EBS CSI zone labels",
                [
                    "alpha.eksctl.io/instance-id",
                    "alpha.eksctl.io/nodegroup-name",
                    "eks.amazonaws.com/nodegroup",
                    "k8s.amazonaws.com/eniConfig",
                    "lifecycle",
                    "topology.ebs.csi.aws.com/zone",
                ]
                .into_iter()
                .fold(base(), |g, k| label(g, k, "one")),
                [
                    "alpha.eksctl.io/instance-id",
                    "alpha.eksctl.io/nodegroup-name",
                    "eks.amazonaws.com/nodegroup",
                    "k8s.amazonaws.com/eniConfig",
                    "lifecycle",
                    "topology.ebs.csi.aws.com/zone",
                ]
                .into_iter()
                .fold(group("b", 1000, 2000), |g, k| label(g, k, "two")),
                Ok(()),
            )
        },
        SimilarCase {
            opts: aws,
            ..case(
                "the AWS comparator still compares the instance type",
                label(base(), "node.kubernetes.io/instance-type", "m5.xlarge"),
                label(
                    group("b", 1000, 2000),
                    "node.kubernetes.io/instance-type",
                    "m5a.xlarge",
                ),
                Err("label node.kubernetes.io/instance-type differs"),
            )
        },
        SimilarCase {
            opts: BalanceOptions {
                provider: Provider::Gce,
                ..BalanceOptions::default()
            },
            ..case(
                "the GCE comparator ignores GKE's zone label",
                label(base(), "topology.gke.io/zone", "us-central1-a"),
                label(group("b", 1000, 2000), "topology.gke.io/zone", "us-central1-b"),
                Ok(()),
            )
        },
        SimilarCase {
            opts: BalanceOptions {
                ignored_labels: vec!["example.com/ready".into()],
                ..BalanceOptions::default()
            },
            ..case(
                "a --balancing-ignore-label label is ignored",
                label(base(), "example.com/ready", "true"),
                label(group("b", 1000, 2000), "example.com/ready", "false"),
                Ok(()),
            )
        },
        SimilarCase {
            opts: by_label(&["pool"]),
            ..case(
                "with --balancing-label only those labels are compared, not resources",
                label(group("a", 1000, 2000), "pool", "web"),
                label(group("b", 8000, 64000), "pool", "web"),
                Ok(()),
            )
        },
        SimilarCase {
            opts: by_label(&["pool", "arch"]),
            ..case(
                "with --balancing-label a differing value is not similar",
                label(label(base(), "pool", "web"), "arch", "amd64"),
                label(label(group("b", 1000, 2000), "pool", "web"), "arch", "arm64"),
                Err("label arch differs: Some(\"amd64\") vs Some(\"arm64\")"),
            )
        },
        SimilarCase {
            opts: by_label(&["pool"]),
            ..case(
                "with --balancing-label a label missing on both templates is not similar",
                base(),
                group("b", 1000, 2000),
                Err("label pool differs: None vs None"),
            )
        },
        SimilarCase {
            opts: by_label(&["pool"]),
            ..case(
                "with --balancing-label other labels may differ",
                label(label(base(), "pool", "web"), "team", "x"),
                label(group("b", 1000, 2000), "pool", "web"),
                Ok(()),
            )
        },
    ]
}

#[test]
fn similarity_cases() {
    let mut failures = Vec::new();
    for c in similar_cases() {
        for (x, y, rx, ry) in [
            (&c.a, &c.b, &c.requested.0, &c.requested.1),
            (&c.b, &c.a, &c.requested.1, &c.requested.0),
        ] {
            let got = similar_with_requests(x, rx, y, ry, &c.opts);
            let ok = match (&got, &c.want) {
                (Ok(()), Ok(())) => true,
                // The message names the first template first; check it in the order given.
                (Err(e), Err(want)) => !std::ptr::eq(x, &c.a) || e.to_string().starts_with(want),
                _ => false,
            };
            if !ok {
                failures.push(format!("{}: got {got:?}, want {:?}", c.name, c.want));
            }
        }
    }
    assert!(
        failures.is_empty(),
        "{} failing:\n{}",
        failures.len(),
        failures.join("\n")
    );
}

#[test]
fn similar_compares_templates_without_pods_and_find_similar_skips_the_group_itself() {
    let groups = vec![
        label(
            group("web-a", 4000, 16 * KI * KI * KI),
            "topology.kubernetes.io/zone",
            "a",
        ),
        label(
            group("web-b", 4000, 16 * KI * KI * KI),
            "topology.kubernetes.io/zone",
            "b",
        ),
        group("big", 8000, 32 * KI * KI * KI),
        label(
            group("web-c", 4000, 16 * KI * KI * KI),
            "topology.kubernetes.io/zone",
            "c",
        ),
    ];
    let opts = BalanceOptions::default();
    assert_eq!(similar(&groups[0], &groups[1], &opts), Ok(()));
    assert!(matches!(
        similar(&groups[0], &groups[2], &opts),
        Err(Dissimilarity::Capacity { .. })
    ));
    assert_eq!(find_similar(&groups[0], &groups, &opts), ["web-b", "web-c"]);
    let json = serde_json::to_value(similar(&groups[0], &groups[2], &opts).unwrap_err()).unwrap();
    assert_eq!(json["kind"], "capacity");
    assert_eq!(json["resource"], "cpu");
}

struct SplitCase {
    name: &'static str,
    total: usize,
    groups: Vec<(&'static str, usize, usize)>,
    want: Vec<(&'static str, usize)>,
    unplaced: usize,
}

#[test]
fn split_cases() {
    let cases = [
        SplitCase {
            name: "equal groups grow evenly",
            total: 6,
            groups: vec![("a", 1, 10), ("b", 1, 10), ("c", 1, 10)],
            want: vec![("a", 3), ("b", 3), ("c", 3)],
            unplaced: 0,
        },
        SplitCase {
            name: "the smallest group is filled first until sizes even out",
            total: 4,
            groups: vec![("a", 1, 10), ("b", 3, 10), ("c", 5, 10)],
            want: vec![("a", 4), ("b", 4)],
            unplaced: 0,
        },
        SplitCase {
            name: "a remainder goes to the equal-sized groups in the order given",
            total: 4,
            groups: vec![("a", 0, 10), ("b", 0, 10), ("c", 0, 10)],
            want: vec![("a", 2), ("b", 1), ("c", 1)],
            unplaced: 0,
        },
        SplitCase {
            name: "no group grows past its max; the rest goes to the others",
            total: 6,
            groups: vec![("a", 0, 2), ("b", 0, 10)],
            want: vec![("a", 2), ("b", 4)],
            unplaced: 0,
        },
        SplitCase {
            name: "a group already at max is left alone",
            total: 3,
            groups: vec![("full", 5, 5), ("b", 1, 10)],
            want: vec![("b", 4)],
            unplaced: 0,
        },
        SplitCase {
            name: "what does not fit under the maxima is reported as unplaced",
            total: 10,
            groups: vec![("a", 0, 2), ("b", 1, 3)],
            want: vec![("a", 2), ("b", 3)],
            unplaced: 6,
        },
        SplitCase {
            name: "every group at max places nothing",
            total: 3,
            groups: vec![("a", 2, 2), ("b", 4, 4)],
            want: vec![],
            unplaced: 3,
        },
        SplitCase {
            name: "a zero delta changes nothing",
            total: 0,
            groups: vec![("a", 0, 2)],
            want: vec![],
            unplaced: 0,
        },
        SplitCase {
            name: "no group places nothing",
            total: 2,
            groups: vec![],
            want: vec![],
            unplaced: 2,
        },
        SplitCase {
            name: "a group above its max is not grown and does not break the loop",
            total: 2,
            groups: vec![("over", 7, 5), ("b", 0, 3)],
            want: vec![("b", 2)],
            unplaced: 0,
        },
        SplitCase {
            name: "targets come back in the order the groups were given",
            total: 6,
            groups: vec![("z", 4, 10), ("a", 0, 10)],
            want: vec![("z", 5), ("a", 5)],
            unplaced: 0,
        },
        SplitCase {
            name: "a group that fills up mid-way drops out and the others keep evening out",
            total: 7,
            groups: vec![("a", 0, 1), ("b", 0, 10), ("c", 2, 10)],
            want: vec![("a", 1), ("b", 4), ("c", 4)],
            unplaced: 0,
        },
    ];
    for c in cases {
        let groups: Vec<(String, usize, usize)> =
            c.groups.iter().map(|(n, t, m)| (n.to_string(), *t, *m)).collect();
        let want = Split {
            targets: c.want.iter().map(|(n, t)| (n.to_string(), *t)).collect(),
            unplaced: c.unplaced,
        };
        assert_eq!(split(c.total, &groups), want, "{}", c.name);
    }
}

#[test]
fn split_places_everything_it_can_and_keeps_sizes_within_one() {
    // Exhaustive over small inputs: nothing exceeds a max, every node is placed or counted, and the
    // groups that grew differ by at most one from each other unless a max or a larger start size
    // stopped them.
    let sizes = [(0usize, 3usize), (2, 6), (5, 5), (1, 9)];
    for total in 0..25 {
        for n in 1..=sizes.len() {
            let groups: Vec<(String, usize, usize)> = sizes[..n]
                .iter()
                .enumerate()
                .map(|(i, (t, m))| (format!("g{i}"), *t, *m))
                .collect();
            let out = split(total, &groups);
            let capacity: usize = groups.iter().map(|(_, t, m)| m.saturating_sub(*t)).sum();
            let placed: usize = out
                .targets
                .iter()
                .map(|(id, new)| {
                    let (_, t, m) = groups.iter().find(|(g, _, _)| g == id).unwrap();
                    assert!(new <= m && new > t, "total {total}: {id} {t} -> {new} (max {m})");
                    new - t
                })
                .sum();
            assert_eq!(placed, total.min(capacity), "total {total}, {n} groups");
            assert_eq!(out.unplaced, total - placed);
            let grown_below_max: Vec<usize> = out
                .targets
                .iter()
                .filter(|(id, new)| groups.iter().any(|(g, _, m)| g == id && new < m))
                .map(|(_, new)| *new)
                .collect();
            if let (Some(lo), Some(hi)) = (grown_below_max.iter().min(), grown_below_max.iter().max()) {
                assert!(hi - lo <= 1, "total {total}: uneven {:?}", out.targets);
            }
        }
    }
}
