//! The status ConfigMap (`swell-node-autoscaler-status`) in Cluster Autoscaler's schema.
//!
//! CA writes `data.status` as YAML (`clusterstate/api/types.go`): `time`, `autoscalerStatus`,
//! `clusterWide{health, scaleUp, scaleDown}` and `nodeGroups[]{name, health, scaleUp, scaleDown}`,
//! with the statuses `Healthy`/`Unhealthy`, `InProgress`/`NoActivity`/`Backoff` and
//! `CandidatesPresent`/`NoCandidates`, plus the annotation
//! `cluster-autoscaler.kubernetes.io/last-updated`. Tools that read CA's ConfigMap read this one.
//! Building the document is pure ([`build`]); [`Transitions`] keeps each condition's
//! `lastTransitionTime` between loops.

use std::collections::BTreeMap;

use jiff::{SignedDuration, Timestamp};
use serde::Serialize;

/// Node counts of the cluster or a group (`NodeCount`).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct NodeCounts {
    /// Registered nodes.
    pub registered: Registered,
    /// Requested nodes with no registered node past `--max-node-provision-time`. Swell rolls a
    /// scale-up back at that deadline, so this stays 0 unless a rollback failed.
    pub long_unregistered: usize,
    /// Requested nodes (target size) that have not registered yet.
    pub unregistered: usize,
}

/// Registered nodes by state (`RegisteredNodeCount`).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Registered {
    /// All registered nodes.
    pub total: usize,
    /// Ready.
    pub ready: usize,
    /// Not ready, and younger than the startup allowance (15 minutes).
    pub not_started: usize,
    /// Carrying the deletion taint.
    pub being_deleted: usize,
    /// Not ready and past the startup allowance.
    pub unready: Unready,
}

/// Unready nodes (`RegisteredUnreadyNodeCount`).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Unready {
    /// All unready nodes.
    pub total: usize,
    /// Ready but missing resources (not tracked by Swell: always 0).
    pub resource_unready: usize,
}

/// A group as the status shows it.
#[derive(Clone, Debug, PartialEq)]
pub struct GroupFacts {
    /// Group id.
    pub name: String,
    /// Min size.
    pub min: usize,
    /// Max size.
    pub max: usize,
    /// The provider's target size.
    pub target: usize,
    /// Its node counts.
    pub counts: NodeCounts,
    /// A scale-up is on its way.
    pub scaling_up: bool,
    /// Backed off: the error code and message.
    pub backoff: Option<(String, String)>,
    /// Unneeded nodes of the group.
    pub candidates: usize,
}

/// Everything [`build`] needs.
#[derive(Clone, Debug, PartialEq)]
pub struct Facts {
    /// When.
    pub now: Timestamp,
    /// Cluster-wide counts (every registered node, autoscaled or not).
    pub counts: NodeCounts,
    /// The groups.
    pub groups: Vec<GroupFacts>,
}

/// A condition's status with its probe and transition times.
#[derive(Clone, Debug, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Condition {
    /// The status word.
    pub status: &'static str,
    /// Unneeded nodes (scale-down conditions only).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub candidates: Option<usize>,
    /// Why the group is backed off (group scale-up conditions only).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub backoff_info: Option<BackoffInfo>,
    /// This loop.
    pub last_probe_time: Timestamp,
    /// When the status last changed.
    pub last_transition_time: Timestamp,
}

/// `BackoffInfo`.
#[derive(Clone, Debug, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct BackoffInfo {
    /// The error class.
    pub error_code: String,
    /// The error.
    pub error_message: String,
}

/// A health condition.
#[derive(Clone, Debug, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Health {
    /// `Healthy` or `Unhealthy`.
    pub status: &'static str,
    /// Node counts.
    pub node_counts: NodeCounts,
    /// Group target size (groups only).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub cloud_provider_target: Option<usize>,
    /// Group min size (groups only).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub min_size: Option<usize>,
    /// Group max size (groups only).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub max_size: Option<usize>,
    /// This loop.
    pub last_probe_time: Timestamp,
    /// When the status last changed.
    pub last_transition_time: Timestamp,
}

/// `clusterWide`.
#[derive(Clone, Debug, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct ClusterWide {
    /// Health.
    pub health: Health,
    /// Scale-up.
    pub scale_up: Condition,
    /// Scale-down.
    pub scale_down: Condition,
}

/// One entry of `nodeGroups`.
#[derive(Clone, Debug, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct GroupStatus {
    /// Group id.
    pub name: String,
    /// Health.
    pub health: Health,
    /// Scale-up.
    pub scale_up: Condition,
    /// Scale-down.
    pub scale_down: Condition,
}

/// The document in `data.status`.
#[derive(Clone, Debug, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Status {
    /// When it was written.
    pub time: Timestamp,
    /// `Running` (CA also has `Initializing`, before its first loop; Swell writes nothing then).
    pub autoscaler_status: &'static str,
    /// Cluster-wide conditions.
    pub cluster_wide: ClusterWide,
    /// Per-group conditions.
    pub node_groups: Vec<GroupStatus>,
}

impl Status {
    /// The YAML CA writes to `data.status`.
    pub fn to_yaml(&self) -> String {
        // Serializing plain structs of strings, numbers and timestamps cannot fail.
        serde_yaml_ng::to_string(self).unwrap_or_default()
    }
}

/// The last status of each condition and since when, so that `lastTransitionTime` only moves when
/// the status changes.
#[derive(Clone, Debug, Default)]
pub struct Transitions(BTreeMap<String, (&'static str, Timestamp)>);

impl Transitions {
    fn since(&mut self, key: String, status: &'static str, now: Timestamp) -> Timestamp {
        let entry = self.0.entry(key).or_insert((status, now));
        if entry.0 != status {
            *entry = (status, now);
        }
        entry.1
    }
}

/// CA's `--ok-total-unready-count` (3) and `--max-total-unready-percentage` (45): more unready
/// nodes than both makes the cluster (or the group) `Unhealthy`.
fn healthy(counts: &NodeCounts) -> bool {
    let unready = counts.registered.unready.total;
    unready <= 3 || (unready as f64) <= 0.45 * counts.registered.total as f64
}

/// Builds the status document.
pub fn build(facts: &Facts, transitions: &mut Transitions) -> Status {
    let now = facts.now;
    let health = |t: &mut Transitions, key: String, counts: NodeCounts, group: Option<&GroupFacts>| {
        let status = if healthy(&counts) { "Healthy" } else { "Unhealthy" };
        Health {
            status,
            node_counts: counts,
            cloud_provider_target: group.map(|g| g.target),
            min_size: group.map(|g| g.min),
            max_size: group.map(|g| g.max),
            last_probe_time: now,
            last_transition_time: t.since(key, status, now),
        }
    };
    let condition = |t: &mut Transitions,
                     key: String,
                     status: &'static str,
                     candidates: Option<usize>,
                     backoff_info: Option<BackoffInfo>| Condition {
        status,
        candidates,
        backoff_info,
        last_probe_time: now,
        last_transition_time: t.since(key, status, now),
    };
    let scale_down_word = |n: usize| {
        if n > 0 {
            "CandidatesPresent"
        } else {
            "NoCandidates"
        }
    };

    let mut groups = Vec::with_capacity(facts.groups.len());
    for g in &facts.groups {
        let up = if g.backoff.is_some() {
            "Backoff"
        } else if g.scaling_up {
            "InProgress"
        } else {
            "NoActivity"
        };
        let backoff_info = g.backoff.as_ref().map(|(code, message)| BackoffInfo {
            error_code: code.clone(),
            error_message: message.clone(),
        });
        groups.push(GroupStatus {
            name: g.name.clone(),
            health: health(transitions, format!("{}/health", g.name), g.counts, Some(g)),
            scale_up: condition(transitions, format!("{}/scaleUp", g.name), up, None, backoff_info),
            scale_down: condition(
                transitions,
                format!("{}/scaleDown", g.name),
                scale_down_word(g.candidates),
                Some(g.candidates),
                None,
            ),
        });
    }
    let candidates: usize = facts.groups.iter().map(|g| g.candidates).sum();
    let scaling_up = facts.groups.iter().any(|g| g.scaling_up);
    Status {
        time: now,
        autoscaler_status: "Running",
        cluster_wide: ClusterWide {
            health: health(transitions, "health".into(), facts.counts, None),
            scale_up: condition(
                transitions,
                "scaleUp".into(),
                if scaling_up { "InProgress" } else { "NoActivity" },
                None,
                None,
            ),
            scale_down: condition(
                transitions,
                "scaleDown".into(),
                scale_down_word(candidates),
                Some(candidates),
                None,
            ),
        },
        node_groups: groups,
    }
}

/// How long a node may stay not-ready after creation and still count as "not started" (CA's
/// `MaxNodeStartupTime`).
pub const NODE_STARTUP_TIME: SignedDuration = SignedDuration::from_mins(15);

#[cfg(test)]
mod tests {
    use super::*;

    fn t(s: i64) -> Timestamp {
        Timestamp::from_second(1_800_000_000 + s).unwrap()
    }

    fn counts(total: usize, ready: usize, unready: usize) -> NodeCounts {
        NodeCounts {
            registered: Registered {
                total,
                ready,
                unready: Unready {
                    total: unready,
                    resource_unready: 0,
                },
                ..Registered::default()
            },
            ..NodeCounts::default()
        }
    }

    fn group(name: &str, scaling_up: bool, backoff: bool, candidates: usize) -> GroupFacts {
        GroupFacts {
            name: name.into(),
            min: 1,
            max: 10,
            target: 3,
            counts: counts(2, 2, 0),
            scaling_up,
            backoff: backoff.then(|| ("InsufficientCapacity".into(), "no capacity".into())),
            candidates,
        }
    }

    #[test]
    fn the_document_has_cas_fields_and_words() {
        let facts = Facts {
            now: t(0),
            counts: counts(10, 6, 4),
            groups: vec![group("a", true, false, 0), group("b", false, true, 2)],
        };
        let yaml = build(&facts, &mut Transitions::default()).to_yaml();
        let v: serde_yaml_ng::Value = serde_yaml_ng::from_str(&yaml).unwrap();
        assert_eq!(v["autoscalerStatus"], "Running");
        // 4 unready of 10: more than 3, but within 45 %.
        assert_eq!(v["clusterWide"]["health"]["status"], "Healthy");
        assert_eq!(
            v["clusterWide"]["health"]["nodeCounts"]["registered"]["unready"]["total"],
            4
        );
        assert_eq!(v["clusterWide"]["scaleUp"]["status"], "InProgress");
        assert_eq!(v["clusterWide"]["scaleDown"]["status"], "CandidatesPresent");
        assert_eq!(v["clusterWide"]["scaleDown"]["candidates"], 2);
        assert_eq!(v["nodeGroups"][0]["name"], "a");
        assert_eq!(v["nodeGroups"][0]["health"]["cloudProviderTarget"], 3);
        assert_eq!(v["nodeGroups"][0]["health"]["minSize"], 1);
        assert_eq!(v["nodeGroups"][0]["scaleUp"]["status"], "InProgress");
        assert_eq!(v["nodeGroups"][0]["scaleDown"]["status"], "NoCandidates");
        assert_eq!(v["nodeGroups"][1]["scaleUp"]["status"], "Backoff");
        assert_eq!(
            v["nodeGroups"][1]["scaleUp"]["backoffInfo"]["errorCode"],
            "InsufficientCapacity"
        );
        assert_eq!(v["time"], "2027-01-15T08:00:00Z");
    }

    #[test]
    fn more_unready_nodes_than_three_and_45_percent_is_unhealthy() {
        for (total, unready, want) in [
            (10, 3, "Healthy"),
            (10, 4, "Healthy"),
            (10, 5, "Unhealthy"),
            (4, 4, "Unhealthy"),
        ] {
            let facts = Facts {
                now: t(0),
                counts: counts(total, total - unready, unready),
                groups: vec![],
            };
            let s = build(&facts, &mut Transitions::default());
            assert_eq!(s.cluster_wide.health.status, want, "{unready} of {total} unready");
        }
    }

    #[test]
    fn the_transition_time_moves_only_when_the_status_changes() {
        let mut tr = Transitions::default();
        let at = |now, up| Facts {
            now,
            counts: counts(1, 1, 0),
            groups: vec![group("a", up, false, 0)],
        };
        let s0 = build(&at(t(0), false), &mut tr);
        let s1 = build(&at(t(10), false), &mut tr);
        let s2 = build(&at(t(20), true), &mut tr);
        assert_eq!(s0.node_groups[0].scale_up.last_transition_time, t(0));
        assert_eq!(s1.node_groups[0].scale_up.last_transition_time, t(0));
        assert_eq!(s1.node_groups[0].scale_up.last_probe_time, t(10));
        assert_eq!(s2.node_groups[0].scale_up.last_transition_time, t(20));
        assert_eq!(s2.node_groups[0].health.last_transition_time, t(0));
    }
}
