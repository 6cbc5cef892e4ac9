//! The live node autoscaler: reads the cluster, asks the decision core for a plan, carries the plan
//! out safely.
//!
//! ```text
//! reflectors (fetch::Stores) ---- /readyz once all synced
//! at start (as leader): taints and cordons left by an earlier run are removed
//! every --scan-interval, and 2s after a new unschedulable pod appears, while leader:
//!     collect finished removals -> Memory (deleted / failed: cooldowns)
//!     provider.refresh
//!     cluster state: scale-ups that arrived, failed or timed out -> rollback + group backoff
//!     fetch -> Snapshot;  plan(&snapshot, &config, &mut memory, now, seed)  (the pure core)
//!     act:  scale-up   provider.set_target_size; recorded so the next loop counts the nodes as upcoming
//!           scale-down revalidate against fresh caches; one task per node (actuate::remove_node)
//!           soft taints on unneeded nodes (added and removed)
//!     publish: status ConfigMap (CA's schema), events (CA's reasons), metrics, /decisions
//! --dry-run: plan and publish on /decisions and /metrics; write nothing to the cluster or the cloud
//! on shutdown: removals under way finish their delete or are rolled back (untaint, uncordon)
//! ```

pub mod actuate;
pub mod clusterstate;
pub mod decisions;
pub mod fetch;
pub mod status;
pub mod telemetry;

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::sync::Arc;
use std::time::Duration;

use futures::{StreamExt, TryStreamExt};
use jiff::{SignedDuration, Timestamp};
use k8s_openapi::api::core::v1::{ConfigMap, ObjectReference, Pod};
use kube::{
    Api, Client,
    api::{Patch, PatchParams, PostParams},
    runtime::{WatchStreamExt, reflector, watcher},
};
use swell_core::clock::Clock;
use swell_runtime::events::{EventType, Recorder};
use tokio::{sync::watch, task::JoinSet};
use tokio_util::sync::CancellationToken;

pub use actuate::{ActuationOptions, Actuator, NodeWriter, PodToEvict, Removal, RemovalOutcome};
pub use clusterstate::{BackoffConfig, ClusterState, Verdict};
pub use decisions::{DecisionStore, LoopRecord};
pub use fetch::{Fetched, StoreWriters, Stores, empty_stores, load};
pub use telemetry::Telemetry;

use crate::config::{Config, Memory};
use crate::convert::Converter;
use crate::model::{TAINT_DELETION_CANDIDATE, TAINT_TO_BE_DELETED};
use crate::plan::{Plan, PodOutcome, RemovalKind, ScaleDownStatus};
use crate::provider::{ErrorClass, NodeGroupProvider, ProviderError};

/// The controller's errors.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// A reflector's store was dropped before it synced (the controller is shutting down).
    #[error("failed to sync the {0} cache")]
    Sync(&'static str),
}

/// How the loop runs (CA's flag names).
#[derive(Clone, Debug)]
pub struct LoopOptions {
    /// `--scan-interval` (10s).
    pub scan_interval: Duration,
    /// `--max-node-provision-time` (15m): a scale-up whose nodes have not registered by then is
    /// rolled back.
    pub max_node_provision_time: SignedDuration,
    /// The group backoff after a failed scale-up.
    pub backoff: BackoffConfig,
    /// `--dry-run`.
    pub dry_run: bool,
    /// The namespace of the status ConfigMap (the controller's own).
    pub namespace: String,
    /// `--status-config-map-name` (`swell-node-autoscaler-status`).
    pub status_config_map: String,
    /// `--write-status-configmap` (true).
    pub write_status_config_map: bool,
    /// `--max-bulk-soft-taint-count` (10): soft taints added or removed per loop.
    pub max_bulk_soft_taint_count: usize,
    /// The removal settings.
    pub actuation: ActuationOptions,
    /// The seed of the random expander; each loop uses it plus the loop's number.
    pub seed: u64,
}

impl Default for LoopOptions {
    fn default() -> Self {
        LoopOptions {
            scan_interval: Duration::from_secs(10),
            max_node_provision_time: SignedDuration::from_mins(15),
            backoff: BackoffConfig::default(),
            dry_run: false,
            namespace: "kube-system".into(),
            status_config_map: "swell-node-autoscaler-status".into(),
            write_status_config_map: true,
            max_bulk_soft_taint_count: 10,
            actuation: ActuationOptions::default(),
            seed: 0,
        }
    }
}

/// What one loop did, for logs and tests.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct LoopReport {
    /// The loop was skipped: why.
    pub skipped: Option<String>,
    /// Groups grown: `(group, from, to)`.
    pub scaled_up: Vec<(String, usize, usize)>,
    /// Groups whose scale-up was rolled back: `(group, reason)`.
    pub rolled_back: Vec<(String, String)>,
    /// Removals started.
    pub removals_started: Vec<String>,
    /// Removals that finished since the last loop: `(node, deleted)`.
    pub removals_finished: Vec<(String, bool)>,
    /// Nodes soft-tainted.
    pub soft_tainted: Vec<String>,
    /// Nodes whose soft taint was removed.
    pub soft_untainted: Vec<String>,
}

/// Pod events are not repeated within this window (CA's event deduplication).
const EVENT_DEDUP: SignedDuration = SignedDuration::from_mins(5);

/// The node autoscaler: the loop's state and what it acts through.
pub struct NodeAutoscaler<P> {
    client: Client,
    provider: Arc<P>,
    config: Config,
    options: LoopOptions,
    memory: Memory,
    state: ClusterState,
    converter: Converter,
    transitions: status::Transitions,
    recorder: Arc<Recorder>,
    actuator: Arc<Actuator<P>>,
    telemetry: Telemetry,
    decisions: DecisionStore,
    removals: JoinSet<(String, RemovalKind, RemovalOutcome)>,
    in_flight: HashMap<String, RemovalKind>,
    drains: CancellationToken,
    sent: HashMap<(String, String), Timestamp>,
    loops: u64,
}

impl<P> std::fmt::Debug for NodeAutoscaler<P> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("NodeAutoscaler")
            .field("options", &self.options)
            .field("in_flight", &self.in_flight)
            .finish_non_exhaustive()
    }
}

fn status_ref(options: &LoopOptions) -> ObjectReference {
    actuate::core_ref(
        "ConfigMap",
        Some(&options.namespace),
        &options.status_config_map,
        None,
    )
}

fn pod_ref(key: &str, uid: Option<&String>) -> ObjectReference {
    let (namespace, name) = key.split_once('/').unwrap_or(("", key));
    actuate::core_ref("Pod", Some(namespace), name, uid.cloned())
}

/// CA's error-class names for the status ConfigMap and the failed-scale-up metric.
fn failure_reason(class: ErrorClass) -> &'static str {
    match class {
        ErrorClass::InsufficientCapacity => "outOfResources",
        _ => "cloudProviderError",
    }
}

impl<P: NodeGroupProvider + 'static> NodeAutoscaler<P> {
    /// A node autoscaler over `provider`. `client` is used for node, pod, event and ConfigMap
    /// writes; `recorder` posts the events.
    pub fn new(
        client: Client,
        provider: Arc<P>,
        config: Config,
        options: LoopOptions,
        recorder: Arc<Recorder>,
        telemetry: Telemetry,
    ) -> Self {
        let actuator = Arc::new(Actuator {
            nodes: NodeWriter::new(client.clone()),
            client: client.clone(),
            provider: Arc::clone(&provider),
            recorder: Arc::clone(&recorder),
            options: options.actuation.clone(),
        });
        NodeAutoscaler {
            client,
            provider,
            config,
            options,
            memory: Memory::default(),
            state: ClusterState::default(),
            converter: Converter::new(),
            transitions: status::Transitions::default(),
            recorder,
            actuator,
            telemetry,
            decisions: DecisionStore::default(),
            removals: JoinSet::new(),
            in_flight: HashMap::new(),
            drains: CancellationToken::new(),
            sent: HashMap::new(),
            loops: 0,
        }
    }

    /// The store `/decisions` serves.
    pub fn decisions(&self) -> DecisionStore {
        self.decisions.clone()
    }

    /// The scale-up and backoff records.
    pub fn cluster_state(&self) -> &ClusterState {
        &self.state
    }

    /// The timers kept between loops.
    pub fn memory(&self) -> &Memory {
        &self.memory
    }

    /// Nodes being removed now.
    pub fn removals_in_flight(&self) -> Vec<String> {
        let mut v: Vec<String> = self.in_flight.keys().cloned().collect();
        v.sort();
        v
    }

    /// Removes the taints and cordons an earlier run left (CA's `CleanAllToBeDeleted` and
    /// `CleanAllDeletionCandidates`). Returns the nodes cleaned.
    pub async fn clean_leftovers(&self, stores: &Stores) -> Vec<String> {
        if self.options.dry_run {
            return Vec::new();
        }
        let mut cleaned = Vec::new();
        for node in stores.nodes.state() {
            let name = node.metadata.name.clone().unwrap_or_default();
            let tainted = node
                .spec
                .as_ref()
                .and_then(|s| s.taints.as_ref())
                .is_some_and(|t| {
                    t.iter()
                        .any(|t| t.key == TAINT_TO_BE_DELETED || t.key == TAINT_DELETION_CANDIDATE)
                });
            let cordoned_by_us = node
                .metadata
                .annotations
                .as_ref()
                .is_some_and(|a| a.contains_key(actuate::ANNOTATION_CORDONED));
            if !(tainted || cordoned_by_us) || self.in_flight.contains_key(&name) {
                continue;
            }
            match self.actuator.nodes.unmark(&name).await {
                Ok(_) => {
                    tracing::info!(node = %name, "removed a taint left by an earlier run");
                    cleaned.push(name);
                }
                Err(e) => {
                    self.telemetry.error("apiCallError");
                    tracing::warn!(node = %name, error = %e, "failed to clean a leftover taint");
                }
            }
        }
        cleaned
    }

    /// Runs one loop at `now` on the caches in `stores`.
    pub async fn run_once(&mut self, stores: &Stores, now: Timestamp) -> LoopReport {
        let started = std::time::Instant::now();
        self.loops += 1;
        let mut report = LoopReport::default();
        let mut actions = Vec::new();
        self.collect_finished(now, &mut report);

        if let Err(e) = self.provider.refresh().await {
            self.telemetry.error("cloudProviderError");
            tracing::warn!(error = %e, "failed to refresh the cloud provider; skipping the loop");
            report.skipped = Some(e.to_string());
            return report;
        }
        let fetch_started = std::time::Instant::now();
        let mut fetched = fetch::fetch(stores, &*self.provider, &self.state, &mut self.converter, now);
        self.telemetry
            .duration("fetch", fetch_started.elapsed().as_secs_f64());
        if self
            .reconcile_scale_ups(&fetched, now, &mut report, &mut actions)
            .await
        {
            if let Err(e) = self.provider.refresh().await {
                self.telemetry.error("cloudProviderError");
                report.skipped = Some(e.to_string());
                return report;
            }
            fetched = fetch::fetch(stores, &*self.provider, &self.state, &mut self.converter, now);
        }
        for s in &fetched.skipped {
            self.telemetry.error("conversionError");
            tracing::warn!(object = %s, "left out of the snapshot");
        }

        let plan_started = std::time::Instant::now();
        let seed = self.options.seed.wrapping_add(self.loops);
        let plan = crate::decide::plan(&fetched.snapshot, &self.config, &mut self.memory, now, seed);
        self.telemetry
            .duration("plan", plan_started.elapsed().as_secs_f64());

        if !self.options.dry_run {
            self.scale_up(&plan, &fetched, now, &mut report, &mut actions)
                .await;
            self.scale_down(&plan, stores, &fetched, now, &mut report, &mut actions)
                .await;
            self.soft_taints(&plan, &fetched, now, &mut report).await;
            self.pod_events(&plan, &fetched, now).await;
        }
        // One account of the nodes and groups after this loop's actions, for the status and metrics.
        let facts = self.status_facts(&plan, &fetched, now, &report.scaled_up);
        if !self.options.dry_run && self.options.write_status_config_map {
            self.write_status(&facts).await;
        }
        self.publish_metrics(&plan, &fetched, &facts);
        self.telemetry.duration("main", started.elapsed().as_secs_f64());
        self.telemetry.activity("main", now.as_second());
        self.decisions.publish(LoopRecord {
            time: now,
            dry_run: self.options.dry_run,
            text: crate::explain::render(&plan),
            plan,
            caveats: fetched.caveats,
            skipped: fetched.skipped,
            actions,
        });
        report
    }

    /// Folds finished removals into the memory (cooldowns) and the metrics.
    fn collect_finished(&mut self, now: Timestamp, report: &mut LoopReport) {
        while let Some(joined) = self.removals.try_join_next() {
            self.book(joined, now, report);
        }
    }

    fn book(
        &mut self,
        joined: Result<(String, RemovalKind, RemovalOutcome), tokio::task::JoinError>,
        now: Timestamp,
        report: &mut LoopReport,
    ) {
        let Ok((node, kind, outcome)) = joined else {
            // A removal task panicked: its node keeps its taint until the next start's clean-up.
            self.telemetry.error("internalError");
            return;
        };
        self.in_flight.remove(&node);
        match outcome {
            RemovalOutcome::Deleted { evicted } => {
                self.memory.deleted(&node, now);
                self.telemetry.evicted_pods.inc_by(evicted as u64);
                let reason = if kind == RemovalKind::Empty {
                    "empty"
                } else {
                    "underutilized"
                };
                self.telemetry
                    .scaled_down_nodes
                    .get_or_create(&telemetry::ReasonLabel {
                        reason: reason.into(),
                    })
                    .inc();
                self.telemetry.activity("scaleDown", now.as_second());
                report.removals_finished.push((node, true));
            }
            RemovalOutcome::Failed { evicted, .. } => {
                self.memory.failed(&node, now);
                self.telemetry.evicted_pods.inc_by(evicted as u64);
                self.telemetry.error("scaleDownError");
                report.removals_finished.push((node, false));
            }
        }
    }

    /// Checks every group's scale-up against what arrived; rolls back failures and timeouts and
    /// backs the group off. Returns whether anything was changed in the cloud.
    async fn reconcile_scale_ups(
        &mut self,
        fetched: &Fetched,
        now: Timestamp,
        report: &mut LoopReport,
        actions: &mut Vec<String>,
    ) -> bool {
        let mut registered: BTreeMap<&str, Vec<&str>> = BTreeMap::new();
        for f in fetched.nodes.values() {
            if let Some(g) = &f.group {
                registered
                    .entry(g.as_str())
                    .or_default()
                    .push(f.provider_id.as_str());
            }
        }
        let groups: Vec<(String, usize)> = fetched
            .snapshot
            .groups()
            .iter()
            .map(|g| (g.id.clone(), g.target))
            .collect();
        self.state.retain_groups(|g| groups.iter().any(|(id, _)| id == g));
        let mut changed = false;
        for (group, target) in groups {
            let empty = Vec::new();
            let instances = fetched.instances.get(&group).unwrap_or(&empty);
            let nodes = registered.get(group.as_str()).cloned().unwrap_or_default();
            let Some(verdict) = self.state.observe(&group, &nodes, target, instances, now) else {
                continue;
            };
            let (reason, class, message, delete, lower_by) = match verdict {
                Verdict::Done => {
                    tracing::info!(group = %group, "scale-up arrived");
                    continue;
                }
                Verdict::Failed {
                    instances,
                    class,
                    message,
                } => ("FailedToScaleUpGroup", class, message, instances, 0),
                Verdict::TimedOut {
                    unregistered,
                    lower_target_by,
                    missing,
                } => (
                    "ScaleUpTimedOut",
                    ErrorClass::Transient,
                    format!(
                        "{missing} node(s) of group {group} failed to register within {}",
                        self.options.max_node_provision_time
                    ),
                    unregistered,
                    lower_target_by,
                ),
            };
            if self.options.dry_run {
                continue;
            }
            let metric_reason = if reason == "ScaleUpTimedOut" {
                "timeout"
            } else {
                failure_reason(class)
            };
            self.telemetry
                .failed_scale_ups
                .get_or_create(&telemetry::ReasonLabel {
                    reason: metric_reason.into(),
                })
                .inc();
            let undo = self.roll_back(&group, &delete, lower_by, target).await;
            changed = true;
            let backoff = self
                .state
                .back_off(&group, class, &message, now, &self.options.backoff)
                .clone();
            let text = format!(
                "{message}; rolled back{}; group backed off for {}",
                match &undo {
                    Ok(()) => String::new(),
                    Err(e) => format!(" partly ({e})"),
                },
                backoff.duration
            );
            tracing::warn!(group = %group, reason, %text, "scale-up failed");
            self.event(&status_ref(&self.options), EventType::Warning, reason, &text)
                .await;
            actions.push(format!("{reason} {group}: {text}"));
            report.rolled_back.push((group.clone(), reason.into()));
        }
        changed
    }

    /// Deletes the instances that never became nodes and lowers the target by what never started.
    async fn roll_back(
        &self,
        group: &str,
        delete: &[String],
        lower_by: usize,
        target: usize,
    ) -> Result<(), ProviderError> {
        let mut first_error = None;
        if !delete.is_empty()
            && let Err(e) = self.provider.delete_nodes(group, delete).await
        {
            self.telemetry.error("cloudProviderError");
            first_error = Some(e);
        }
        if lower_by > 0 {
            let after_deletes = if first_error.is_none() {
                target - delete.len().min(target)
            } else {
                target
            };
            let to = after_deletes.saturating_sub(lower_by);
            if let Err(e) = self.provider.set_target_size(group, to).await {
                self.telemetry.error("cloudProviderError");
                first_error.get_or_insert(e);
            }
        }
        first_error.map_or(Ok(()), Err)
    }

    async fn scale_up(
        &mut self,
        plan: &Plan,
        fetched: &Fetched,
        now: Timestamp,
        report: &mut LoopReport,
        actions: &mut Vec<String>,
    ) {
        for up in &plan.scale_up {
            match self.provider.set_target_size(&up.group, up.to).await {
                Ok(()) => {
                    self.state
                        .record(&up.group, up.to, now, self.options.max_node_provision_time);
                    self.memory.scaled_up(now);
                    self.telemetry.scaled_up_nodes.inc_by((up.to - up.from) as u64);
                    self.telemetry.activity("scaleUp", now.as_second());
                    let message = format!(
                        "Scale-up: setting group {} size to {} instead of {} (max: {})",
                        up.group, up.to, up.from, up.max
                    );
                    tracing::info!(group = %up.group, from = up.from, to = up.to, "scale-up");
                    self.event(
                        &status_ref(&self.options),
                        EventType::Normal,
                        "ScaledUpGroup",
                        &message,
                    )
                    .await;
                    let pod_message = format!(
                        "pod triggered scale-up: [{{{} {}->{} (max: {})}}]",
                        up.group, up.from, up.to, up.max
                    );
                    for pod in &up.pods {
                        self.pod_event(
                            pod,
                            fetched,
                            now,
                            EventType::Normal,
                            "TriggeredScaleUp",
                            &pod_message,
                        )
                        .await;
                    }
                    actions.push(message);
                    report.scaled_up.push((up.group.clone(), up.from, up.to));
                }
                Err(e) => {
                    self.telemetry.error("cloudProviderError");
                    self.telemetry
                        .failed_scale_ups
                        .get_or_create(&telemetry::ReasonLabel {
                            reason: failure_reason(e.class).into(),
                        })
                        .inc();
                    // A refusal the cloud may lift later (throttling) is retried next loop; any
                    // other failure backs the group off so that the core picks another.
                    let text = if e.is_retryable() {
                        format!("{e}; retrying next loop")
                    } else {
                        let b = self.state.back_off(
                            &up.group,
                            e.class,
                            &e.to_string(),
                            now,
                            &self.options.backoff,
                        );
                        format!("{e}; group backed off for {}", b.duration)
                    };
                    tracing::warn!(group = %up.group, %text, "scale-up failed");
                    self.event(
                        &status_ref(&self.options),
                        EventType::Warning,
                        "FailedToScaleUpGroup",
                        &text,
                    )
                    .await;
                    actions.push(format!("FailedToScaleUpGroup {}: {text}", up.group));
                }
            }
        }
    }

    async fn scale_down(
        &mut self,
        plan: &Plan,
        stores: &Stores,
        fetched: &Fetched,
        now: Timestamp,
        report: &mut LoopReport,
        actions: &mut Vec<String>,
    ) {
        let wanted: Vec<_> = plan
            .scale_down
            .iter()
            .filter(|r| !self.in_flight.contains_key(&r.node))
            .collect();
        if wanted.is_empty() {
            return;
        }
        // Acting on a stale plan could evict pods that no longer fit elsewhere: check it again
        // against the caches as they are now.
        let fresh = fetch::fetch(stores, &*self.provider, &self.state, &mut self.converter, now);
        let mut to_check = plan.clone();
        to_check.scale_down = wanted.into_iter().cloned().collect();
        let checked = crate::decide::revalidate(&to_check, &fresh.snapshot, &self.config.scale_down, now);
        for d in &checked.dropped {
            tracing::info!(node = %d.node, reason = d.reason.as_str(), detail = %d.detail, "removal dropped on recheck");
            actions.push(format!(
                "not removing {}: {} ({})",
                d.node,
                d.reason.as_str(),
                d.detail
            ));
        }
        let cfg = &self.config.scale_down;
        let drains_now = self
            .in_flight
            .values()
            .filter(|k| **k == RemovalKind::Drain)
            .count();
        let mut total_slots = cfg
            .max_scale_down_parallelism
            .saturating_sub(self.in_flight.len());
        let mut drain_slots = cfg.max_drain_parallelism.saturating_sub(drains_now);
        for r in checked.keep {
            if total_slots == 0 || (r.kind == RemovalKind::Drain && drain_slots == 0) {
                actions.push(format!(
                    "not removing {} yet: removals already under way fill the budget",
                    r.node
                ));
                continue;
            }
            let Some(facts) = fetched.nodes.get(&r.node).filter(|f| !f.provider_id.is_empty()) else {
                continue;
            };
            total_slots -= 1;
            if r.kind == RemovalKind::Drain {
                drain_slots -= 1;
            }
            let pods = r
                .evict
                .iter()
                .filter_map(|m| {
                    let pod = fresh.snapshot.pods().iter().find(|p| p.key() == m.pod)?;
                    Some(PodToEvict {
                        namespace: pod.namespace.clone(),
                        name: pod.name.clone(),
                        uid: fresh.pod_uids.get(&m.pod).cloned().unwrap_or_default(),
                        grace_seconds: pod.termination_grace_seconds,
                    })
                })
                .collect();
            let removal = Removal {
                node: r.node.clone(),
                group: r.group.clone(),
                provider_id: facts.provider_id.clone(),
                kind: r.kind,
                pods,
            };
            let (reason, message) = match r.kind {
                RemovalKind::Empty => (
                    "ScaleDownEmpty",
                    format!("Scale-down: removing empty node {}", r.node),
                ),
                RemovalKind::Drain => (
                    "ScaleDown",
                    format!(
                        "Scale-down: removing node {}, utilization: {:.2}, pods to reschedule: {}",
                        r.node,
                        r.utilization,
                        r.evict
                            .iter()
                            .map(|m| m.pod.as_str())
                            .collect::<Vec<_>>()
                            .join(",")
                    ),
                ),
            };
            self.event(&status_ref(&self.options), EventType::Normal, reason, &message)
                .await;
            actions.push(message);
            let actuator = Arc::clone(&self.actuator);
            let token = self.drains.clone();
            self.in_flight.insert(r.node.clone(), r.kind);
            report.removals_started.push(r.node.clone());
            self.removals.spawn(async move {
                let outcome = actuator.remove_node(&removal, now, &token).await;
                (removal.node, removal.kind, outcome)
            });
        }
    }

    /// Soft-taints unneeded nodes and lifts the taint from nodes no longer unneeded, up to
    /// `--max-bulk-soft-taint-count` changes per loop.
    async fn soft_taints(&mut self, plan: &Plan, fetched: &Fetched, now: Timestamp, report: &mut LoopReport) {
        let unneeded: BTreeSet<&str> = plan.unneeded.iter().map(String::as_str).collect();
        let removing: BTreeSet<&str> = plan.scale_down.iter().map(|r| r.node.as_str()).collect();
        let mut budget = self.options.max_bulk_soft_taint_count;
        let mut names: Vec<(&String, &fetch::NodeFacts)> = fetched.nodes.iter().collect();
        names.sort_by(|a, b| a.0.cmp(b.0));
        for (name, facts) in names {
            if budget == 0 {
                break;
            }
            if self.in_flight.contains_key(name) || removing.contains(name.as_str()) {
                continue;
            }
            let want = unneeded.contains(name.as_str());
            if want == facts.soft_tainted {
                continue;
            }
            budget -= 1;
            let result = if want {
                self.actuator.nodes.add_soft_taint(name, now).await
            } else {
                self.actuator.nodes.remove_soft_taint(name).await
            };
            match result {
                Ok(true) if want => report.soft_tainted.push(name.clone()),
                Ok(true) => report.soft_untainted.push(name.clone()),
                Ok(false) => {}
                Err(e) => {
                    self.telemetry.error("apiCallError");
                    tracing::warn!(node = %name, error = %e, "failed to change the soft taint");
                }
            }
        }
    }

    /// `NotTriggerScaleUp` for pods no group can help (TriggeredScaleUp is sent with the scale-up).
    async fn pod_events(&mut self, plan: &Plan, fetched: &Fetched, now: Timestamp) {
        self.sent.retain(|_, at| now.duration_since(*at) < EVENT_DEDUP);
        for p in &plan.pods {
            if let PodOutcome::NoScaleUp { .. } = p.outcome {
                let message = crate::explain::pod_outcome(&p.outcome);
                self.pod_event(
                    &p.pod,
                    fetched,
                    now,
                    EventType::Normal,
                    "NotTriggerScaleUp",
                    &message,
                )
                .await;
            }
        }
    }

    async fn pod_event(
        &mut self,
        pod: &str,
        fetched: &Fetched,
        now: Timestamp,
        event_type: EventType,
        reason: &str,
        message: &str,
    ) {
        let key = (pod.to_owned(), format!("{reason}\n{message}"));
        if self.sent.contains_key(&key) {
            return;
        }
        self.sent.insert(key, now);
        let r = pod_ref(pod, fetched.pod_uids.get(pod));
        self.event(&r, event_type, reason, message).await;
    }

    async fn event(&self, regarding: &ObjectReference, event_type: EventType, reason: &str, message: &str) {
        if let Err(e) = self
            .recorder
            .publish(regarding, event_type, reason, message)
            .await
        {
            self.telemetry.error("apiCallError");
            tracing::warn!(reason, error = %e, "failed to post an event");
        }
    }

    /// The status facts after this loop's actions: groups grown now show their new target.
    fn status_facts(
        &self,
        plan: &Plan,
        fetched: &Fetched,
        now: Timestamp,
        grown: &[(String, usize, usize)],
    ) -> status::Facts {
        let snap = &fetched.snapshot;
        let count = |ids: &mut dyn Iterator<Item = usize>| {
            let mut c = status::NodeCounts::default();
            for id in ids {
                let n = &snap.nodes()[id];
                c.registered.total += 1;
                if n.is_being_deleted() {
                    c.registered.being_deleted += 1;
                }
                if n.ready {
                    c.registered.ready += 1;
                } else if now.duration_since(n.created) < status::NODE_STARTUP_TIME {
                    c.registered.not_started += 1;
                } else {
                    c.registered.unready.total += 1;
                }
            }
            c
        };
        let mut groups = Vec::new();
        let mut unregistered = 0;
        for (gid, g) in snap.groups().iter().enumerate() {
            let mut counts = count(&mut snap.group_nodes(gid).iter().copied());
            let target = grown
                .iter()
                .find(|(id, _, _)| *id == g.id)
                .map_or(g.target, |(_, _, to)| *to);
            counts.unregistered = target.saturating_sub(snap.group_nodes(gid).len());
            unregistered += counts.unregistered;
            let candidates = plan
                .unneeded
                .iter()
                .filter(|n| snap.node_id(n).and_then(|id| snap.group_of(id)) == Some(gid))
                .count();
            groups.push(status::GroupFacts {
                name: g.id.clone(),
                min: g.min,
                max: g.max,
                target,
                counts,
                scaling_up: self.state.request(&g.id).is_some(),
                backoff: self.state.backoff_until(&g.id, now).and_then(|_| {
                    self.state
                        .backoff(&g.id)
                        .map(|b| (b.class.as_str().to_owned(), b.message.clone()))
                }),
                candidates,
            });
        }
        let mut counts = count(&mut (0..snap.nodes().len()));
        counts.unregistered = unregistered;
        status::Facts { now, counts, groups }
    }

    async fn write_status(&mut self, facts: &status::Facts) {
        let doc = status::build(facts, &mut self.transitions);
        let api: Api<ConfigMap> = Api::namespaced(self.client.clone(), &self.options.namespace);
        let name = &self.options.status_config_map;
        let cm = ConfigMap {
            metadata: kube::core::ObjectMeta {
                name: Some(name.clone()),
                namespace: Some(self.options.namespace.clone()),
                annotations: Some(
                    [(
                        "cluster-autoscaler.kubernetes.io/last-updated".to_string(),
                        facts.now.to_string(),
                    )]
                    .into(),
                ),
                ..kube::core::ObjectMeta::default()
            },
            data: Some([("status".to_string(), doc.to_yaml())].into()),
            ..ConfigMap::default()
        };
        let result = match api.patch(name, &PatchParams::default(), &Patch::Merge(&cm)).await {
            Err(kube::Error::Api(s)) if s.code == 404 => {
                api.create(&PostParams::default(), &cm).await.map(|_| ())
            }
            other => other.map(|_| ()),
        };
        if let Err(e) = result {
            self.telemetry.error("apiCallError");
            tracing::warn!(error = %e, "failed to write the status ConfigMap");
        }
    }

    fn publish_metrics(&self, plan: &Plan, fetched: &Fetched, facts: &status::Facts) {
        let t = &self.telemetry;
        let set = |state: &str, v: usize| {
            t.nodes
                .get_or_create(&telemetry::StateLabel { state: state.into() })
                .set(v as i64)
        };
        set("ready", facts.counts.registered.ready);
        set("unready", facts.counts.registered.unready.total);
        set("notStarted", facts.counts.registered.not_started);
        set("unregistered", facts.counts.unregistered);
        let snap = &fetched.snapshot;
        let unschedulable = snap
            .unbound()
            .iter()
            .filter(|&&p| snap.pods()[p].unschedulable)
            .count();
        t.unschedulable_pods.set(unschedulable as i64);
        t.node_groups.set(snap.groups().len() as i64);
        let now = facts.now;
        for (g, f) in snap.groups().iter().zip(&facts.groups) {
            Telemetry::group(&t.group_min, &g.id, g.min as i64);
            Telemetry::group(&t.group_max, &g.id, g.max as i64);
            Telemetry::group(&t.group_target, &g.id, f.target as i64);
            Telemetry::group(&t.group_backoff, &g.id, i64::from(g.in_backoff(now)));
        }
        t.unneeded_nodes.set(plan.unneeded.len() as i64);
        t.pending_deletions.set(self.in_flight.len() as i64);
        t.scale_down_in_cooldown.set(i64::from(matches!(
            plan.scale_down_status,
            ScaleDownStatus::InCooldown(_)
        )));
    }

    /// Waits for the removals under way: with `cancel`, each stops and rolls back (untaint, uncordon)
    /// unless it is past its evictions; without, each runs to its end. Returns the outcomes.
    pub async fn finish_removals(&mut self, cancel: bool, now: Timestamp) -> Vec<(String, bool)> {
        if cancel {
            self.drains.cancel();
        }
        let mut report = LoopReport::default();
        while let Some(joined) = self.removals.join_next().await {
            self.book(joined, now, &mut report);
        }
        if cancel {
            self.drains = CancellationToken::new();
        }
        report.removals_finished
    }
}

/// Everything [`Controller::run`] needs from the outside.
pub struct Controller<P> {
    /// The API client (watches).
    pub client: Client,
    /// The loop.
    pub autoscaler: NodeAutoscaler<P>,
    /// `true` while this replica holds the lease.
    pub leader: watch::Receiver<bool>,
    /// Set once the caches have synced.
    pub readiness: swell_runtime::server::Readiness,
    /// Cancelled on SIGTERM.
    pub shutdown: CancellationToken,
    /// The clock the loop reads `now` from.
    pub clock: Arc<dyn Clock>,
}

impl<P> std::fmt::Debug for Controller<P> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Controller")
            .field("autoscaler", &self.autoscaler)
            .finish_non_exhaustive()
    }
}

/// Whether a watched pod is one the scheduler gave up on (a reason to run a loop soon).
fn newly_unschedulable(pod: &Pod) -> bool {
    pod.spec.as_ref().is_none_or(|s| s.node_name.is_none())
        && pod
            .status
            .as_ref()
            .and_then(|s| s.conditions.as_ref())
            .is_some_and(|c| {
                c.iter().any(|c| {
                    c.type_ == "PodScheduled"
                        && c.status == "False"
                        && c.reason.as_deref() == Some("Unschedulable")
                })
            })
}

/// A loop runs at most this soon after a new unschedulable pod (CA waits for pods 2s old).
const TRIGGER_DELAY: Duration = Duration::from_secs(2);

/// Feeds `writer` from a watch on `api`, passing each object through `strip` first.
fn spawn_watch<K>(
    api: Api<K>,
    writer: reflector::store::Writer<K>,
    strip: fn(&mut K),
) -> tokio::task::JoinHandle<()>
where
    K: kube::Resource + Clone + serde::de::DeserializeOwned + std::fmt::Debug + Send + Sync + 'static,
    K::DynamicType: Eq + std::hash::Hash + Clone + Default,
{
    tokio::spawn(async move {
        let stream = watcher(api, watcher::Config::default())
            .default_backoff()
            .modify(strip)
            .reflect(writer)
            .try_for_each(|_| async { Ok(()) });
        if let Err(e) = stream.await {
            tracing::error!(error = %e, kind = std::any::type_name::<K>(), "watch ended");
        }
    })
}

/// Keeps a watched object whole.
fn keep<K>(_: &mut K) {}

/// Waits until `store` has synced; `kind` names it in the error.
async fn synced<K>(store: &reflector::Store<K>, kind: &'static str) -> Result<(), Error>
where
    K: kube::Resource + Clone + 'static,
    K::DynamicType: Eq + std::hash::Hash + Clone,
{
    store.wait_until_ready().await.map_err(|_| Error::Sync(kind))
}

impl<P: NodeGroupProvider + 'static> Controller<P> {
    /// Runs until `shutdown` is cancelled.
    pub async fn run(self) -> Result<(), Error> {
        let Controller {
            client,
            mut autoscaler,
            mut leader,
            readiness,
            shutdown,
            clock,
        } = self;
        let (stores, w) = empty_stores();
        let trigger = Arc::new(tokio::sync::Notify::new());
        let mut tasks = vec![
            spawn_watch(Api::all(client.clone()), w.nodes, keep),
            spawn_watch(Api::all(client.clone()), w.pdbs, keep),
            spawn_watch(Api::all(client.clone()), w.daemonsets, keep),
            spawn_watch(Api::all(client.clone()), w.namespaces, keep),
            // Only the replica counts are read: the pod templates are dropped.
            spawn_watch(Api::all(client.clone()), w.replicasets, |rs| {
                rs.metadata.managed_fields = None;
                if let Some(spec) = rs.spec.as_mut() {
                    spec.template = None;
                }
            }),
            spawn_watch(Api::all(client.clone()), w.replicationcontrollers, |rc| {
                rc.metadata.managed_fields = None;
                if let Some(spec) = rc.spec.as_mut() {
                    spec.template = None;
                }
            }),
            // Only existence is read: metadata-only watches.
            spawn_watch(Api::all(client.clone()), w.statefulsets, keep),
            spawn_watch(Api::all(client.clone()), w.jobs, keep),
        ];
        let pod_writer = w.pods;
        let pod_trigger = Arc::clone(&trigger);
        let pod_api = Api::<Pod>::all(client.clone());
        tasks.push(tokio::spawn(async move {
            let events = watcher(pod_api, watcher::Config::default())
                .default_backoff()
                .modify(fetch::strip_pod)
                .reflect(pod_writer)
                .applied_objects();
            let mut events = std::pin::pin!(events);
            while let Some(item) = events.next().await {
                match item {
                    Ok(pod) if newly_unschedulable(&pod) => pod_trigger.notify_one(),
                    Ok(_) => {}
                    Err(e) => tracing::warn!(error = %e, "pod watch error"),
                }
            }
        }));

        let synced = async {
            synced(&stores.nodes, "Node").await?;
            synced(&stores.pods, "Pod").await?;
            synced(&stores.pdbs, "PodDisruptionBudget").await?;
            synced(&stores.daemonsets, "DaemonSet").await?;
            synced(&stores.namespaces, "Namespace").await?;
            synced(&stores.replicasets, "ReplicaSet").await?;
            synced(&stores.replicationcontrollers, "ReplicationController").await?;
            synced(&stores.statefulsets, "StatefulSet").await?;
            synced(&stores.jobs, "Job").await
        };
        tokio::select! {
            r = synced => r?,
            () = shutdown.cancelled() => {
                tasks.iter().for_each(tokio::task::JoinHandle::abort);
                return Ok(());
            }
        }
        readiness.set_ready(true);
        tracing::info!(
            nodes = stores.nodes.state().len(),
            pods = stores.pods.state().len(),
            "caches synced"
        );

        let mut cleaned = false;
        let mut tick = tokio::time::interval(autoscaler.options.scan_interval);
        tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        let mut last_loop = tokio::time::Instant::now();
        loop {
            tokio::select! {
                () = shutdown.cancelled() => break,
                _ = tick.tick() => {}
                () = trigger.notified() => {
                    let due = last_loop + TRIGGER_DELAY;
                    tokio::select! {
                        () = tokio::time::sleep_until(due.max(tokio::time::Instant::now() + TRIGGER_DELAY)) => {}
                        () = shutdown.cancelled() => break,
                    }
                }
                r = leader.changed() => {
                    if r.is_err() {
                        tracing::warn!("leader election ended; stopping");
                        break;
                    }
                    tracing::info!(leader = *leader.borrow(), "leadership changed");
                    if !*leader.borrow() {
                        // A replica that lost the lease must not go on draining.
                        autoscaler.finish_removals(true, clock.now()).await;
                    }
                    continue;
                }
            }
            if !*leader.borrow() {
                continue;
            }
            if !cleaned {
                let nodes = autoscaler.clean_leftovers(&stores).await;
                tracing::info!(cleaned = nodes.len(), "start-up clean-up of leftover taints done");
                cleaned = true;
            }
            last_loop = tokio::time::Instant::now();
            let report = autoscaler.run_once(&stores, clock.now()).await;
            tracing::info!(
                scaled_up = report.scaled_up.len(),
                removals_started = report.removals_started.len(),
                removals_in_flight = autoscaler.in_flight.len(),
                skipped = report.skipped.as_deref().unwrap_or(""),
                "loop done"
            );
        }
        readiness.set_ready(false);
        let finished = autoscaler.finish_removals(true, clock.now()).await;
        if !finished.is_empty() {
            tracing::info!(
                ?finished,
                "removals under way at shutdown were finished or rolled back"
            );
        }
        tasks.iter().for_each(tokio::task::JoinHandle::abort);
        Ok(())
    }
}
