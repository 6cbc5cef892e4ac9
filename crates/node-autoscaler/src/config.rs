//! The planner's settings, named and defaulted like Cluster Autoscaler's flags, and the state the
//! caller keeps between loops ([`Memory`]: the unneeded-since timers and the last scale events).

use std::collections::BTreeMap;

use jiff::{SignedDuration, Timestamp};
use serde::{Deserialize, Serialize};

use crate::scaledown::drain::DrainOptions;
use crate::scaleup::balance::BalanceOptions;
use crate::scaleup::expander::{ExpanderChain, PriorityConfig};

/// Everything the planner reads besides the snapshot.
#[derive(Clone, Debug, Default)]
pub struct Config {
    /// Scale-up settings.
    pub scale_up: ScaleUpConfig,
    /// Scale-down settings.
    pub scale_down: ScaleDownConfig,
    /// Cluster-wide limits.
    pub limits: ClusterLimits,
}

/// Cluster-wide limits (`--max-nodes-total`, `--cores-total`, `--memory-total`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ClusterLimits {
    /// `--max-nodes-total` (0: no limit).
    pub max_nodes_total: usize,
    /// `--cores-total` minimum, in cores.
    pub min_cores: i64,
    /// `--cores-total` maximum, in cores.
    pub max_cores: i64,
    /// `--memory-total` minimum, in bytes (the flag is in GiB).
    pub min_memory: i64,
    /// `--memory-total` maximum, in bytes.
    pub max_memory: i64,
}

impl Default for ClusterLimits {
    fn default() -> ClusterLimits {
        // CA's defaults: cores 0:320000, memory 0:6400000 GiB.
        ClusterLimits {
            max_nodes_total: 0,
            min_cores: 0,
            max_cores: 320_000,
            min_memory: 0,
            max_memory: 6_400_000 * (1 << 30),
        }
    }
}

/// Scale-up settings.
#[derive(Clone, Debug)]
pub struct ScaleUpConfig {
    /// `--expendable-pods-priority-cutoff` (-10): pods below it never trigger a scale-up.
    pub expendable_pods_priority_cutoff: i32,
    /// `--new-pod-scale-up-delay` (0): pods younger than this are not considered yet.
    pub new_pod_scale_up_delay: SignedDuration,
    /// `--max-nodes-per-scaleup` (1000).
    pub max_nodes_per_scaleup: usize,
    /// `--expander` (least-waste).
    pub expander: ExpanderChain,
    /// The priority expander's configuration, when `priority` is in the chain.
    pub priorities: Option<PriorityConfig>,
    /// `--balance-similar-node-groups` (false).
    pub balance_similar_node_groups: bool,
    /// What makes groups similar.
    pub balance: BalanceOptions,
}

impl Default for ScaleUpConfig {
    fn default() -> ScaleUpConfig {
        ScaleUpConfig {
            expendable_pods_priority_cutoff: -10,
            new_pod_scale_up_delay: SignedDuration::ZERO,
            max_nodes_per_scaleup: 1000,
            expander: ExpanderChain::default(),
            priorities: None,
            balance_similar_node_groups: false,
            balance: BalanceOptions::default(),
        }
    }
}

/// Scale-down settings.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct ScaleDownConfig {
    /// `--scale-down-enabled` (true).
    pub enabled: bool,
    /// `--scale-down-utilization-threshold` (0.5).
    pub utilization_threshold: f64,
    /// `--scale-down-unneeded-time` (10m).
    pub unneeded_time: SignedDuration,
    /// `--scale-down-unready-time` (20m).
    pub unready_time: SignedDuration,
    /// `--scale-down-unready-enabled` (true).
    pub unready_enabled: bool,
    /// `--scale-down-delay-after-add` (10m).
    pub delay_after_add: SignedDuration,
    /// `--scale-down-delay-after-delete` (0: the next loop).
    pub delay_after_delete: SignedDuration,
    /// `--scale-down-delay-after-failure` (3m).
    pub delay_after_failure: SignedDuration,
    /// `--ignore-daemonsets-utilization` (false).
    pub ignore_daemonsets_utilization: bool,
    /// `--ignore-mirror-pods-utilization` (false).
    pub ignore_mirror_pods_utilization: bool,
    /// `--max-scale-down-parallelism` (10): nodes removed at once, empty and drained together.
    pub max_scale_down_parallelism: usize,
    /// `--max-drain-parallelism` (1): non-empty nodes drained at once.
    pub max_drain_parallelism: usize,
    /// `--unremovable-node-recheck-timeout` (5m).
    pub unremovable_node_recheck_timeout: SignedDuration,
    /// The drain rules' options.
    pub drain: DrainOptions,
}

impl Default for ScaleDownConfig {
    fn default() -> ScaleDownConfig {
        ScaleDownConfig {
            enabled: true,
            utilization_threshold: 0.5,
            unneeded_time: SignedDuration::from_mins(10),
            unready_time: SignedDuration::from_mins(20),
            unready_enabled: true,
            delay_after_add: SignedDuration::from_mins(10),
            delay_after_delete: SignedDuration::ZERO,
            delay_after_failure: SignedDuration::from_mins(3),
            ignore_daemonsets_utilization: false,
            ignore_mirror_pods_utilization: false,
            max_scale_down_parallelism: 10,
            max_drain_parallelism: 1,
            unremovable_node_recheck_timeout: SignedDuration::from_mins(5),
            drain: DrainOptions::default(),
        }
    }
}

/// What the caller keeps between loops. The planner reads and updates the timers; the caller
/// records what acting did ([`Memory::scaled_up`], [`Memory::deleted`], [`Memory::failed`]).
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Memory {
    /// When each currently unneeded node was first found unneeded.
    pub unneeded_since: BTreeMap<String, Timestamp>,
    /// Nodes found unremovable because of their pods, and when to look at them again.
    pub unremovable_until: BTreeMap<String, Timestamp>,
    /// The last successful scale-up.
    pub last_scale_up: Option<Timestamp>,
    /// The last successful node deletion.
    pub last_scale_down_delete: Option<Timestamp>,
    /// The last failed scale-down.
    pub last_scale_down_failure: Option<Timestamp>,
}

impl Memory {
    /// A scale-up was carried out at `now`.
    pub fn scaled_up(&mut self, now: Timestamp) {
        self.last_scale_up = Some(now);
    }

    /// A node was deleted at `now`.
    pub fn deleted(&mut self, node: &str, now: Timestamp) {
        self.last_scale_down_delete = Some(now);
        self.unneeded_since.remove(node);
    }

    /// A scale-down failed at `now`.
    pub fn failed(&mut self, node: &str, now: Timestamp) {
        self.last_scale_down_failure = Some(now);
        self.unneeded_since.remove(node);
    }
}
