//! Balancing similar node groups (`--balance-similar-node-groups`).
//!
//! Cluster Autoscaler (`processors/nodegroupset/`) treats node groups whose template nodes look
//! like the same machine as one set (typically one instance type in several zones), and spreads a
//! scale-up across the set so that the groups stay the same size. Two steps live here:
//!
//! ```text
//! chosen group + all groups --similar()--> the similar ones (find_similar)
//! delta + [(group, target, max)] --split()--> new targets, smallest groups first, and what did not fit
//! ```
//!
//! [`similar`] is CA's `IsCloudProviderNodeInfoSimilar` (capacity, allocatable, free resources and
//! labels, with the provider's ignored labels), or, when balancing labels are given, CA's label-only
//! comparator. [`split`] is `BalanceScaleUpBetweenGroups`. Both are deterministic: where CA iterates a
//! map or sorts unstably, this module uses a fixed order.

use serde::Serialize;

use crate::model::{Labels, NodeGroup};
use crate::resources::{CPU, EPHEMERAL_STORAGE, MEMORY, PODS, Resources};

/// Labels CA never compares (`BasicIgnoredLabels`): hostname, zone and region (beta and GA),
/// fluentd's migration label and kops' instance group.
pub const BASIC_IGNORED_LABELS: [&str; 7] = [
    "kubernetes.io/hostname",
    "failure-domain.beta.kubernetes.io/zone",
    "failure-domain.beta.kubernetes.io/region",
    "topology.kubernetes.io/zone",
    "topology.kubernetes.io/region",
    "beta.kubernetes.io/fluentd-ds-ready",
    "kops.k8s.io/instancegroup",
];

/// Labels CA's AWS comparator ignores on top of the basic ones (`aws_nodegroups.go`): eksctl's
/// instance id and node group name, EKS' node group, the VPC CNI's ENIConfig, spot `lifecycle`,
/// the EBS CSI driver's zone, and (as upstream does) GKE's zone.
pub const AWS_IGNORED_LABELS: [&str; 7] = [
    "alpha.eksctl.io/instance-id",
    "alpha.eksctl.io/nodegroup-name",
    "eks.amazonaws.com/nodegroup",
    "k8s.amazonaws.com/eniConfig",
    "lifecycle",
    "topology.ebs.csi.aws.com/zone",
    "topology.gke.io/zone",
];

/// Labels CA's GCE comparator ignores on top of the basic ones (`gce_nodegroups.go`).
pub const GCE_IGNORED_LABELS: [&str; 1] = ["topology.gke.io/zone"];

/// Which provider's comparator to reproduce: it decides the extra ignored labels.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Provider {
    /// CA's generic comparator: only [`BASIC_IGNORED_LABELS`].
    #[default]
    Generic,
    /// AWS: also [`AWS_IGNORED_LABELS`].
    Aws,
    /// GCE: also [`GCE_IGNORED_LABELS`].
    Gce,
}

impl Provider {
    /// The labels this provider's comparator ignores besides the basic ones.
    pub fn ignored_labels(self) -> &'static [&'static str] {
        match self {
            Provider::Generic => &[],
            Provider::Aws => &AWS_IGNORED_LABELS,
            Provider::Gce => &GCE_IGNORED_LABELS,
        }
    }
}

/// How similar two node groups must be, with CA's flag names and defaults.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct BalanceOptions {
    /// `--memory-difference-ratio` (0.015): how far memory capacity may differ; every other capacity
    /// must be equal.
    pub memory_difference_ratio: f64,
    /// `--max-allocatable-difference-ratio` (0.05).
    pub max_allocatable_difference_ratio: f64,
    /// `--max-free-difference-ratio` (0.05): free = allocatable minus the requests of the pods a
    /// template node starts with (DaemonSets).
    pub max_free_difference_ratio: f64,
    /// Whose ignored labels apply.
    pub provider: Provider,
    /// `--balancing-ignore-label` values: more labels not to compare.
    pub ignored_labels: Vec<String>,
    /// `--balancing-label` values. When any is given, groups are similar exactly when these labels
    /// are present on both templates with equal values, and nothing else is compared (as in CA).
    pub balancing_labels: Vec<String>,
}

impl Default for BalanceOptions {
    fn default() -> BalanceOptions {
        BalanceOptions {
            memory_difference_ratio: 0.015,
            max_allocatable_difference_ratio: 0.05,
            max_free_difference_ratio: 0.05,
            provider: Provider::Generic,
            ignored_labels: Vec::new(),
            balancing_labels: Vec::new(),
        }
    }
}

impl BalanceOptions {
    /// Whether the generic comparison skips `label`.
    pub fn is_ignored(&self, label: &str) -> bool {
        BASIC_IGNORED_LABELS.contains(&label)
            || self.provider.ignored_labels().contains(&label)
            || self.ignored_labels.iter().any(|l| l == label)
    }
}

/// Why two node groups are not similar: the first difference found, resources in the order cpu,
/// memory, ephemeral-storage, pods, extended resources by name, then labels by key.
#[derive(Clone, Debug, PartialEq, Serialize, thiserror::Error)]
#[serde(rename_all = "camelCase", tag = "kind")]
pub enum Dissimilarity {
    /// A capacity differs (memory: by more than the memory ratio; anything else: at all).
    #[error("{resource} capacity differs: {a} vs {b}")]
    Capacity {
        /// Resource name.
        resource: String,
        /// On the first group's template.
        a: i64,
        /// On the second group's template.
        b: i64,
    },
    /// An allocatable amount differs by more than the allocatable ratio.
    #[error("{resource} allocatable differs by more than {ratio}: {a} vs {b}")]
    Allocatable {
        /// Resource name.
        resource: String,
        /// On the first group's template.
        a: i64,
        /// On the second group's template.
        b: i64,
        /// The ratio allowed.
        ratio: f64,
    },
    /// A free amount differs by more than the free ratio, or only one template's pods request an
    /// extended resource.
    #[error("free {resource} differs by more than {ratio}: {a} vs {b}")]
    Free {
        /// Resource name.
        resource: String,
        /// On the first group's template.
        a: i64,
        /// On the second group's template.
        b: i64,
        /// The ratio allowed.
        ratio: f64,
    },
    /// A compared label is missing on one template or has another value.
    #[error("label {key} differs: {a:?} vs {b:?}")]
    Label {
        /// Label key.
        key: String,
        /// Value on the first group's template.
        a: Option<String>,
        /// Value on the second group's template.
        b: Option<String>,
    },
}

/// Whether `a` and `b` are similar enough to balance, comparing their template nodes as they are
/// (no pods on them, so free equals allocatable). See [`similar_with_requests`] to count the
/// DaemonSet pods a new node starts with, as CA does.
pub fn similar(a: &NodeGroup, b: &NodeGroup, opts: &BalanceOptions) -> Result<(), Dissimilarity> {
    let none = Resources::default();
    similar_with_requests(a, &none, b, &none, opts)
}

/// CA's comparator on the templates of `a` and `b`, with `a_requested` and `b_requested` the
/// requests of the pods each template node starts with (free = allocatable - requested).
///
/// Like CA's scheduler `NodeInfo`, the pod-count dimension of the requests is not counted: free
/// pods are allocatable pods.
pub fn similar_with_requests(
    a: &NodeGroup,
    a_requested: &Resources,
    b: &NodeGroup,
    b_requested: &Resources,
    opts: &BalanceOptions,
) -> Result<(), Dissimilarity> {
    let (ta, tb) = (&a.template, &b.template);
    if !opts.balancing_labels.is_empty() {
        return same_labels(&ta.labels, &tb.labels, &opts.balancing_labels);
    }

    for name in names(&[&ta.capacity, &tb.capacity]) {
        let (x, y) = (ta.capacity.get(&name), tb.capacity.get(&name));
        let ok = if name == MEMORY {
            within(&name, x, y, opts.memory_difference_ratio)
        } else {
            x == y
        };
        if !ok {
            return Err(Dissimilarity::Capacity {
                resource: name,
                a: x,
                b: y,
            });
        }
    }

    let ratio = opts.max_allocatable_difference_ratio;
    for name in names(&[&ta.allocatable, &tb.allocatable]) {
        let (x, y) = (ta.allocatable.get(&name), tb.allocatable.get(&name));
        if !within(&name, x, y, ratio) {
            return Err(Dissimilarity::Allocatable {
                resource: name,
                a: x,
                b: y,
                ratio,
            });
        }
    }

    // CA compares free amounts for the resources the pods request: cpu, memory, ephemeral storage
    // and pods always, extended resources only when requested; requested on one side only means
    // not similar.
    let ratio = opts.max_free_difference_ratio;
    let free = |alloc: &Resources, req: &Resources, name: &str| {
        if name == PODS {
            alloc.pods
        } else {
            alloc.get(name).saturating_sub(req.get(name))
        }
    };
    let mut free_names: Vec<String> = [CPU, MEMORY, EPHEMERAL_STORAGE, PODS].map(String::from).to_vec();
    for name in names(&[a_requested, b_requested]) {
        if !free_names.contains(&name) {
            free_names.push(name);
        }
    }
    for name in free_names {
        let (x, y) = (
            free(&ta.allocatable, a_requested, &name),
            free(&tb.allocatable, b_requested, &name),
        );
        let one_sided = !matches!(name.as_str(), CPU | MEMORY | EPHEMERAL_STORAGE | PODS)
            && ((a_requested.get(&name) == 0) != (b_requested.get(&name) == 0));
        if one_sided || !within(&name, x, y, ratio) {
            return Err(Dissimilarity::Free {
                resource: name,
                a: x,
                b: y,
                ratio,
            });
        }
    }

    for (key, va) in &ta.labels {
        if opts.is_ignored(key) {
            continue;
        }
        let vb = tb.labels.get(key);
        if vb != Some(va) {
            return Err(Dissimilarity::Label {
                key: key.clone(),
                a: Some(va.clone()),
                b: vb.cloned(),
            });
        }
    }
    for (key, vb) in &tb.labels {
        if !opts.is_ignored(key) && !ta.labels.contains_key(key) {
            return Err(Dissimilarity::Label {
                key: key.clone(),
                a: None,
                b: Some(vb.clone()),
            });
        }
    }
    Ok(())
}

/// The ids of the groups in `groups` similar to `group` (itself excluded), in the order given: CA's
/// `FindSimilarNodeGroups` on templates without pods.
pub fn find_similar<'a>(group: &NodeGroup, groups: &'a [NodeGroup], opts: &BalanceOptions) -> Vec<&'a str> {
    groups
        .iter()
        .filter(|g| g.id != group.id && similar(group, g, opts).is_ok())
        .map(|g| g.id.as_str())
        .collect()
}

/// CA's label comparator: every label in `keys` present on both with the same value.
fn same_labels(a: &Labels, b: &Labels, keys: &[String]) -> Result<(), Dissimilarity> {
    for key in keys {
        let (va, vb) = (a.get(key), b.get(key));
        if va.is_none() || va != vb {
            return Err(Dissimilarity::Label {
                key: key.clone(),
                a: va.cloned(),
                b: vb.cloned(),
            });
        }
    }
    Ok(())
}

/// The resource names that appear in any of `lists`, in a fixed order. An absent resource reads as
/// zero; comparing zero with an amount fails every check, as CA's "present on one node only" does.
fn names(lists: &[&Resources]) -> Vec<String> {
    let mut out: Vec<String> = [CPU, MEMORY, EPHEMERAL_STORAGE, PODS].map(String::from).to_vec();
    let mut extended: Vec<&str> = lists
        .iter()
        .flat_map(|r| r.extended.iter().map(|(n, _)| n.as_str()))
        .collect();
    extended.sort_unstable();
    extended.dedup();
    out.extend(extended.into_iter().map(String::from));
    out
}

/// CA's `resourceListWithinTolerance`: `larger - smaller <= larger * ratio` on milli-values as
/// float64 (cpu is already in millicores here; everything else is scaled by 1000 the same way).
fn within(name: &str, a: i64, b: i64, ratio: f64) -> bool {
    let milli = |v: i64| if name == CPU { v } else { v.saturating_mul(1000) };
    let (x, y) = (milli(a) as f64, milli(b) as f64);
    let (larger, smaller) = (x.max(y), x.min(y));
    larger - smaller <= larger * ratio
}

/// How a scale-up is spread across similar groups.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Split {
    /// The groups that grow, with their new targets, in the order they were given.
    pub targets: Vec<(String, usize)>,
    /// Nodes of the delta that did not fit under the groups' maxima.
    pub unplaced: usize,
}

/// Spreads `total_new` nodes over `groups` (`(id, current target, max)`): CA's
/// `BalanceScaleUpBetweenGroups`. Nodes go to the smallest groups first so that sizes even out;
/// no group goes past its max; groups already at max are left alone; what does not fit is counted in
/// [`Split::unplaced`]. Groups of equal size are served in the order given (CA's sort is not stable).
pub fn split(total_new: usize, groups: &[(String, usize, usize)]) -> Split {
    struct Info {
        index: usize,
        current: usize,
        new: usize,
        max: usize,
    }
    let mut infos = Vec::with_capacity(groups.len());
    let mut capacity = 0usize;
    for (index, (_, current, max)) in groups.iter().enumerate() {
        if current == max {
            continue;
        }
        capacity = capacity.saturating_add(max.saturating_sub(*current));
        infos.push(Info {
            index,
            current: *current,
            new: *current,
            max: *max,
        });
    }
    let mut left = total_new.min(capacity);
    let unplaced = total_new - left;
    infos.sort_by_key(|i| i.current);

    // CA's loop: walk the run of smallest groups adding one node each, drop a group that reaches its
    // max by swapping it to the front; each turn places a node or drops a group.
    let (mut start, mut current) = (0usize, 0usize);
    while left > 0 && current < infos.len() {
        if infos[current].new < infos[current].max {
            infos[current].new += 1;
            left -= 1;
        } else {
            infos.swap(start, current);
            start += 1;
        }
        if current + 1 < infos.len() && infos[current].new > infos[current + 1].new {
            current += 1;
        } else {
            current = start;
        }
    }

    let mut grown: Vec<&Info> = infos.iter().filter(|i| i.new != i.current).collect();
    grown.sort_by_key(|i| i.index);
    Split {
        targets: grown
            .into_iter()
            .map(|i| (groups[i.index].0.clone(), i.new))
            .collect(),
        // Nodes the loop could not place (only when maxima below current sizes confuse it) are
        // reported too rather than lost.
        unplaced: unplaced + left,
    }
}
