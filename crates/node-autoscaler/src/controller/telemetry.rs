//! The node autoscaler's Prometheus metrics: Cluster Autoscaler's `cluster_autoscaler_*` set under
//! `swell_node_autoscaler_*`, with CA's label names and values, so that dashboards carry over by
//! renaming the prefix.
//!
//! | name | type | labels |
//! |---|---|---|
//! | `swell_node_autoscaler_nodes_count` | gauge | `state` (`ready`, `unready`, `notStarted`, `unregistered`) |
//! | `swell_node_autoscaler_unschedulable_pods_count` | gauge | |
//! | `swell_node_autoscaler_node_groups_count` | gauge | |
//! | `swell_node_autoscaler_node_group_{min,max,target}_count` | gauge | `node_group` |
//! | `swell_node_autoscaler_node_group_backoff_status` | gauge | `node_group` |
//! | `swell_node_autoscaler_scaled_up_nodes_total` | counter | |
//! | `swell_node_autoscaler_scaled_down_nodes_total` | counter | `reason` (`empty`, `underutilized`) |
//! | `swell_node_autoscaler_failed_scale_ups_total` | counter | `reason` (`cloudProviderError`, `timeout`, `outOfResources`) |
//! | `swell_node_autoscaler_evicted_pods_total` | counter | |
//! | `swell_node_autoscaler_unneeded_nodes_count` | gauge | |
//! | `swell_node_autoscaler_pending_node_deletions` | gauge | |
//! | `swell_node_autoscaler_scale_down_in_cooldown` | gauge | |
//! | `swell_node_autoscaler_errors_total` | counter | `type` (`cloudProviderError`, `apiCallError`, `conversionError`) |
//! | `swell_node_autoscaler_last_activity` | gauge | `activity` (`main`, `scaleUp`, `scaleDown`) |
//! | `swell_node_autoscaler_function_duration_seconds` | histogram | `function` (`main`, `fetch`, `plan`) |

use prometheus_client::{
    encoding::EncodeLabelSet,
    metrics::{
        counter::Counter,
        family::Family,
        gauge::Gauge,
        histogram::{Histogram, exponential_buckets},
    },
    registry::Registry,
};

/// A single label, named as CA names it.
macro_rules! label_set {
    ($name:ident, $field:ident, $doc:literal) => {
        #[doc = $doc]
        #[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
        pub struct $name {
            #[doc = $doc]
            pub $field: String,
        }
    };
}

label_set!(StateLabel, state, "`state` label.");
label_set!(GroupLabel, node_group, "`node_group` label.");
label_set!(ReasonLabel, reason, "`reason` label.");
label_set!(ActivityLabel, activity, "`activity` label.");
label_set!(FunctionLabel, function, "`function` label.");

/// `type` label (a Rust keyword, so spelled out by hand).
#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct TypeLabel {
    /// The error type.
    pub r#type: String,
}

/// The metrics. Cloning shares them.
#[derive(Clone, Debug)]
pub struct Telemetry {
    /// Registered nodes by state.
    pub nodes: Family<StateLabel, Gauge>,
    /// Pending pods marked unschedulable.
    pub unschedulable_pods: Gauge,
    /// Node groups.
    pub node_groups: Gauge,
    /// Per-group min.
    pub group_min: Family<GroupLabel, Gauge>,
    /// Per-group max.
    pub group_max: Family<GroupLabel, Gauge>,
    /// Per-group target.
    pub group_target: Family<GroupLabel, Gauge>,
    /// Per-group backoff (1 backed off).
    pub group_backoff: Family<GroupLabel, Gauge>,
    /// Nodes requested.
    pub scaled_up_nodes: Counter,
    /// Nodes removed by reason.
    pub scaled_down_nodes: Family<ReasonLabel, Counter>,
    /// Failed scale-ups by reason.
    pub failed_scale_ups: Family<ReasonLabel, Counter>,
    /// Pods evicted.
    pub evicted_pods: Counter,
    /// Unneeded nodes.
    pub unneeded_nodes: Gauge,
    /// Removals under way.
    pub pending_deletions: Gauge,
    /// Scale-down in cooldown (1).
    pub scale_down_in_cooldown: Gauge,
    /// Errors by type.
    pub errors: Family<TypeLabel, Counter>,
    /// Last activity, unix seconds.
    pub last_activity: Family<ActivityLabel, Gauge>,
    /// Durations by function.
    pub durations: Family<FunctionLabel, Histogram>,
}

impl Default for Telemetry {
    fn default() -> Self {
        Telemetry {
            nodes: Family::default(),
            unschedulable_pods: Gauge::default(),
            node_groups: Gauge::default(),
            group_min: Family::default(),
            group_max: Family::default(),
            group_target: Family::default(),
            group_backoff: Family::default(),
            scaled_up_nodes: Counter::default(),
            scaled_down_nodes: Family::default(),
            failed_scale_ups: Family::default(),
            evicted_pods: Counter::default(),
            unneeded_nodes: Gauge::default(),
            pending_deletions: Gauge::default(),
            scale_down_in_cooldown: Gauge::default(),
            errors: Family::default(),
            last_activity: Family::default(),
            durations: Family::new_with_constructor(|| Histogram::new(exponential_buckets(0.001, 2.0, 16))),
        }
    }
}

impl Telemetry {
    /// Registers every metric under `swell_node_autoscaler_`.
    pub fn register(&self, registry: &mut Registry) {
        let r = registry.sub_registry_with_prefix("swell_node_autoscaler");
        r.register("nodes_count", "Registered nodes by state", self.nodes.clone());
        r.register(
            "unschedulable_pods_count",
            "Pending pods the scheduler marked unschedulable",
            self.unschedulable_pods.clone(),
        );
        r.register(
            "node_groups_count",
            "Autoscaled node groups",
            self.node_groups.clone(),
        );
        r.register(
            "node_group_min_count",
            "Minimum size per node group",
            self.group_min.clone(),
        );
        r.register(
            "node_group_max_count",
            "Maximum size per node group",
            self.group_max.clone(),
        );
        r.register(
            "node_group_target_count",
            "Target size per node group",
            self.group_target.clone(),
        );
        r.register(
            "node_group_backoff_status",
            "1 when the node group is backed off after a failed scale-up",
            self.group_backoff.clone(),
        );
        r.register(
            "scaled_up_nodes",
            "Nodes requested by scale-ups",
            self.scaled_up_nodes.clone(),
        );
        r.register(
            "scaled_down_nodes",
            "Nodes removed, by reason",
            self.scaled_down_nodes.clone(),
        );
        r.register(
            "failed_scale_ups",
            "Failed scale-ups, by reason",
            self.failed_scale_ups.clone(),
        );
        r.register(
            "evicted_pods",
            "Pods evicted by scale-down",
            self.evicted_pods.clone(),
        );
        r.register(
            "unneeded_nodes_count",
            "Nodes found unneeded",
            self.unneeded_nodes.clone(),
        );
        r.register(
            "pending_node_deletions",
            "Node removals under way",
            self.pending_deletions.clone(),
        );
        r.register(
            "scale_down_in_cooldown",
            "1 when scale-down is in cooldown",
            self.scale_down_in_cooldown.clone(),
        );
        r.register("errors", "Errors by type", self.errors.clone());
        r.register(
            "last_activity",
            "Unix time of the last activity of each kind",
            self.last_activity.clone(),
        );
        r.register(
            "function_duration_seconds",
            "Duration of the loop's steps",
            self.durations.clone(),
        );
    }

    /// Counts an error of `kind`.
    pub fn error(&self, kind: &str) {
        self.errors
            .get_or_create(&TypeLabel {
                r#type: kind.to_owned(),
            })
            .inc();
    }

    /// Records `activity` at unix time `at`.
    pub fn activity(&self, activity: &str, at: i64) {
        self.last_activity
            .get_or_create(&ActivityLabel {
                activity: activity.to_owned(),
            })
            .set(at);
    }

    /// Records the duration of `function`.
    pub fn duration(&self, function: &str, seconds: f64) {
        self.durations
            .get_or_create(&FunctionLabel {
                function: function.to_owned(),
            })
            .observe(seconds);
    }

    /// Sets a per-group gauge.
    pub fn group(family: &Family<GroupLabel, Gauge>, group: &str, value: i64) {
        family
            .get_or_create(&GroupLabel {
                node_group: group.to_owned(),
            })
            .set(value);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn metrics_are_exposed_with_cas_names_under_our_prefix() {
        let t = Telemetry::default();
        let mut registry = Registry::default();
        t.register(&mut registry);
        t.scaled_up_nodes.inc_by(2);
        t.error("cloudProviderError");
        Telemetry::group(&t.group_target, "pool-a", 3);
        t.duration("main", 0.01);
        let mut text = String::new();
        prometheus_client::encoding::text::encode(&mut text, &registry).unwrap();
        assert!(
            text.contains("swell_node_autoscaler_scaled_up_nodes_total 2"),
            "{text}"
        );
        assert!(
            text.contains("swell_node_autoscaler_errors_total{type=\"cloudProviderError\"} 1"),
            "{text}"
        );
        assert!(
            text.contains("swell_node_autoscaler_node_group_target_count{node_group=\"pool-a\"} 3"),
            "{text}"
        );
        assert!(
            text.contains("swell_node_autoscaler_function_duration_seconds_count{function=\"main\"} 1"),
            "{text}"
        );
    }
}
