//! The live pod autoscaler: reconciles `autoscaling/v2` HorizontalPodAutoscalers against a cluster.
//!
//! ```text
//! kube-runtime reflectors: HPAs (optionally by --hpa-selector), Pods (managed fields and unused
//!                          fields stripped)                   -> /readyz once both have synced
//! every --horizontal-pod-autoscaler-sync-period, while leader:
//!     one CycleCache (resource metrics once per namespace)
//!     for every HPA (N at a time): reconcile::Reconciler::reconcile   (fetch, decide, act, publish)
//! an HPA created, or whose spec changed (metadata.generation): reconciled at once
//! per-HPA state: History (dropped when the HPA goes or is recreated), the selector last read,
//!                backoff for what retrying cannot fix (invalid spec, unknown target kind)
//! ```
//!
//! Upstream's controller works the same way in outline (a resync of every HPA each period, plus
//! immediate work on add/update); the cycle is explicit here so that a cycle can share one
//! namespace-wide resource metrics list between the HPAs of a namespace.

pub mod decisions;
pub mod reconcile;
pub mod scale;
pub mod telemetry;

use std::{
    collections::HashMap,
    sync::{Arc, Mutex, PoisonError},
    time::Duration,
};

use futures::{StreamExt, TryStreamExt, stream};
use k8s_openapi::api::{autoscaling::v2::HorizontalPodAutoscaler, core::v1::Pod};
use kube::{
    Api, Client, ResourceExt,
    runtime::{
        WatchStreamExt,
        reflector::{self, Store},
        watcher,
    },
};
use swell_core::selector::Selector;
use tokio::{sync::watch, time::Instant};
use tokio_util::sync::CancellationToken;

pub use decisions::{DecisionRecord, DecisionStore};
pub use reconcile::{EventSink, NamespacePods, Outcome, Reconciler, Retry};
pub use telemetry::Telemetry;

use crate::{
    History,
    input::HpaKey,
    metrics::{CycleCache, MetricsSource},
};

/// The controller's errors.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// `scaleTargetRef` names a kind discovery does not know (upstream's wording).
    #[error("unable to determine resource for scale target reference: {0}")]
    UnknownKind(String),
    /// Reading the scale subresource failed.
    #[error(
        "failed to query scale subresource for {reference}: {}",
        crate::metrics::api_message(source)
    )]
    GetScale {
        /// `Kind/name`.
        reference: String,
        /// The API error.
        #[source]
        source: kube::Error,
    },
    /// Writing the scale subresource failed (after the conflict retries).
    #[error(
        "failed to update scale subresource for {reference}: {}",
        crate::metrics::api_message(source)
    )]
    UpdateScale {
        /// `Kind/name`.
        reference: String,
        /// The API error.
        #[source]
        source: kube::Error,
    },
    /// Writing the HPA status failed.
    #[error("failed to update status for {key}: {}", crate::metrics::api_message(source))]
    UpdateStatus {
        /// `namespace/name`.
        key: String,
        /// The API error.
        #[source]
        source: kube::Error,
    },
    /// A reflector's store was dropped before it synced (the controller is shutting down).
    #[error("failed to sync the {0} cache")]
    Sync(&'static str),
}

/// `Result` with this module's [`Error`].
pub type Result<T, E = Error> = std::result::Result<T, E>;

impl Error {
    /// The message without the outer "failed to ..." wrapper, as upstream puts it in events and
    /// conditions (`the HPA controller was unable to get the target's current scale: <cause>`).
    pub fn cause(&self) -> String {
        match self {
            Error::GetScale { source, .. } | Error::UpdateScale { source, .. } => {
                crate::metrics::api_message(source)
            }
            other => other.to_string(),
        }
    }

    /// Whether retrying can help without anyone changing anything.
    pub fn is_retryable(&self) -> bool {
        !matches!(self, Error::UnknownKind(_))
    }
}

/// `--mode`: act on decisions, or only compute and publish them.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
pub enum Mode {
    /// Write scale, status and events (in place of the built-in controller).
    #[default]
    Active,
    /// Write nothing; publish decisions and compare them with the built-in controller's status.
    Shadow,
}

impl Mode {
    /// `active` or `shadow`.
    pub fn as_str(&self) -> &'static str {
        match self {
            Mode::Active => "active",
            Mode::Shadow => "shadow",
        }
    }
}

/// How the loop runs.
#[derive(Clone, Debug)]
pub struct LoopOptions {
    /// `--horizontal-pod-autoscaler-sync-period`.
    pub sync_period: Duration,
    /// `--concurrent-horizontal-pod-autoscaler-syncs`: HPAs reconciled at once.
    pub concurrency: usize,
    /// `--hpa-selector`: only HPAs whose labels match (a server-side label selector), or all.
    pub hpa_selector: Option<Selector>,
    /// Longest backoff for an HPA that cannot be reconciled until someone edits something.
    pub max_backoff: Duration,
}

impl Default for LoopOptions {
    fn default() -> Self {
        Self {
            sync_period: Duration::from_secs(15),
            concurrency: 5,
            hpa_selector: None,
            max_backoff: Duration::from_secs(300),
        }
    }
}

/// What the controller remembers about one HPA between reconciles.
#[derive(Debug, Default)]
struct HpaState {
    uid: String,
    history: History,
    generation: Option<i64>,
    selector: Option<Selector>,
    backoff: Option<(Instant, Duration)>,
}

/// The per-HPA state and the loop's bookkeeping, shared by the cycle and the immediate triggers.
#[derive(Debug, Default)]
pub struct ControllerState {
    hpas: Mutex<HashMap<HpaKey, HpaState>>,
}

impl ControllerState {
    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<HpaKey, HpaState>> {
        self.hpas.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Number of HPAs with state (history) kept.
    pub fn len(&self) -> usize {
        self.lock().len()
    }

    /// No HPA has state.
    pub fn is_empty(&self) -> bool {
        self.lock().is_empty()
    }
}

fn key_of(hpa: &HorizontalPodAutoscaler) -> HpaKey {
    HpaKey::new(hpa.namespace().unwrap_or_default(), hpa.name_any())
}

/// Reconciles the given HPAs once, sharing one [`CycleCache`] over `metrics`: one sync cycle.
///
/// `pods` are every pod the controller sees (they are grouped by namespace once). HPAs in backoff
/// are skipped until due; `still_leader` is asked before each HPA so that writes stop as soon as
/// leadership is lost. State of HPAs not in `hpas` is dropped (they were deleted).
pub async fn run_cycle<M: MetricsSource, E: EventSink>(
    reconciler: &Reconciler<E>,
    state: &ControllerState,
    hpas: &[Arc<HorizontalPodAutoscaler>],
    pods: &[Arc<Pod>],
    metrics: &M,
    options: &LoopOptions,
    still_leader: &(dyn Fn() -> bool + Sync),
) -> Vec<Outcome> {
    let mut grouped: HashMap<&str, Vec<Arc<Pod>>> = HashMap::new();
    for p in pods {
        grouped
            .entry(p.metadata.namespace.as_deref().unwrap_or(""))
            .or_default()
            .push(p.clone());
    }
    let by_namespace: HashMap<&str, NamespacePods> = grouped
        .into_iter()
        .map(|(ns, pods)| (ns, NamespacePods::new(pods)))
        .collect();
    let present: std::collections::HashSet<HpaKey> = hpas.iter().map(|h| key_of(h)).collect();
    forget_missing(reconciler, state, &present);

    let known = known_selectors(state);
    let cache = CycleCache::new(metrics);
    let now = Instant::now();
    let due: Vec<&Arc<HorizontalPodAutoscaler>> = {
        let map = state.lock();
        hpas.iter()
            .filter(|h| {
                map.get(&key_of(h))
                    .and_then(|s| s.backoff)
                    .is_none_or(|(at, _)| at <= now)
            })
            .collect()
    };
    let empty = NamespacePods::default();
    let cache = &cache;
    // The futures are built first (not in a stream's map closure) so that the cycle's future is
    // Send for any caller lifetime and can be spawned.
    let mut work = Vec::with_capacity(due.len());
    for hpa in due {
        let namespace = hpa.metadata.namespace.as_deref().unwrap_or("");
        let pods = by_namespace.get(namespace).unwrap_or(&empty);
        let known = known.get(namespace).map_or(&[][..], Vec::as_slice);
        work.push(async move {
            if !still_leader() {
                return None;
            }
            Some(reconcile_one(reconciler, state, hpa, pods, known, cache, options).await)
        });
    }
    stream::iter(work)
        .buffer_unordered(options.concurrency.max(1))
        .filter_map(|o| async move { o })
        .collect()
        .await
}

fn forget_missing<E>(
    reconciler: &Reconciler<E>,
    state: &ControllerState,
    present: &std::collections::HashSet<HpaKey>,
) {
    let mut gone = Vec::new();
    state.lock().retain(|k, _| {
        let keep = present.contains(k);
        if !keep {
            gone.push(k.clone());
        }
        keep
    });
    for k in gone {
        tracing::debug!(namespace = %k.namespace, name = %k.name, "HPA gone; dropping its history");
        reconciler.decisions().remove(&k);
        reconciler.telemetry().forget(&k.namespace, &k.name);
    }
}

fn known_selectors(state: &ControllerState) -> HashMap<String, Vec<(HpaKey, Selector)>> {
    let mut out: HashMap<String, Vec<(HpaKey, Selector)>> = HashMap::new();
    for (k, s) in state.lock().iter() {
        if let Some(sel) = &s.selector {
            out.entry(k.namespace.clone())
                .or_default()
                .push((k.clone(), sel.clone()));
        }
    }
    out
}

/// Reconciles one HPA with its kept state, and updates the state from the outcome.
async fn reconcile_one<M: MetricsSource, E: EventSink>(
    reconciler: &Reconciler<E>,
    state: &ControllerState,
    hpa: &HorizontalPodAutoscaler,
    pods: &NamespacePods,
    known: &[(HpaKey, Selector)],
    metrics: &M,
    options: &LoopOptions,
) -> Outcome {
    let key = key_of(hpa);
    let uid = hpa.metadata.uid.clone().unwrap_or_default();
    let mut s = state.lock().remove(&key).unwrap_or_default();
    if s.uid != uid {
        // A new object under an old name starts with a clean history, as upstream's would.
        s = HpaState {
            uid,
            ..HpaState::default()
        };
    }
    let outcome = reconciler
        .reconcile_in(hpa, pods, known, metrics, &mut s.history)
        .await;
    s.generation = hpa.metadata.generation;
    if outcome.selector.is_some() {
        s.selector = outcome.selector.clone();
    }
    s.backoff = match outcome.retry {
        Retry::NextCycle => None,
        Retry::Backoff => {
            let previous = s.backoff.map_or(options.sync_period, |(_, d)| d);
            let delay = (previous * 2).min(options.max_backoff).max(options.sync_period);
            tracing::info!(namespace = %key.namespace, name = %key.name, retry_in_s = delay.as_secs(), "backing off");
            Some((Instant::now() + delay, delay))
        }
    };
    state.lock().insert(key, s);
    outcome
}

/// Whether an HPA seen on the watch needs a reconcile now: new, or its spec (generation) changed.
fn needs_immediate(state: &ControllerState, hpa: &HorizontalPodAutoscaler) -> bool {
    let map = state.lock();
    match map.get(&key_of(hpa)) {
        None => true,
        Some(s) => {
            s.uid != hpa.metadata.uid.clone().unwrap_or_default() || s.generation != hpa.metadata.generation
        }
    }
}

/// Strips what the controller never reads from a watched pod, to keep the cache small.
fn strip_pod(pod: &mut Pod) {
    swell_core::pod::strip_for_cache(pod);
    pod.metadata.annotations = None;
    if let Some(spec) = pod.spec.as_mut() {
        spec.volumes = None;
        spec.affinity = None;
        spec.tolerations = None;
    }
}

/// Everything [`Controller::run`] needs from the outside.
pub struct Controller<M, E> {
    /// The API server client (watches; the reconciler holds its own for writes).
    pub client: Client,
    /// The reconciler.
    pub reconciler: Arc<Reconciler<E>>,
    /// The metrics APIs.
    pub metrics: M,
    /// Loop options.
    pub options: LoopOptions,
    /// `true` while this replica holds the lease (always `true` without leader election).
    pub leader: watch::Receiver<bool>,
    /// Set once the caches have synced (`/readyz`).
    pub readiness: swell_runtime::server::Readiness,
    /// Cancelled on SIGTERM.
    pub shutdown: CancellationToken,
}

impl<M, E> std::fmt::Debug for Controller<M, E> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Controller")
            .field("options", &self.options)
            .finish_non_exhaustive()
    }
}

impl<M: MetricsSource + 'static, E: EventSink + 'static> Controller<M, E> {
    /// Runs until `shutdown` is cancelled.
    pub async fn run(self) -> Result<()> {
        let Controller {
            client,
            reconciler,
            metrics,
            options,
            mut leader,
            readiness,
            shutdown,
        } = self;
        let mut hpa_config = watcher::Config::default();
        if let Some(sel) = &options.hpa_selector {
            hpa_config = hpa_config.labels(&sel.to_string());
        }
        let (hpa_store, hpa_writer) = reflector::store::<HorizontalPodAutoscaler>();
        let (pod_store, pod_writer) = reflector::store::<Pod>();
        let hpa_events = watcher(Api::<HorizontalPodAutoscaler>::all(client.clone()), hpa_config)
            .default_backoff()
            .reflect(hpa_writer)
            .applied_objects();
        let pod_watch = watcher(Api::<Pod>::all(client.clone()), watcher::Config::default())
            .default_backoff()
            .modify(strip_pod)
            .reflect(pod_writer)
            .try_for_each(|_| async { Ok(()) });
        let pod_task = tokio::spawn(async move {
            if let Err(e) = pod_watch.await {
                tracing::error!(error = %e, "pod watch ended");
            }
        });
        let (trigger_tx, mut trigger_rx) =
            tokio::sync::mpsc::unbounded_channel::<Arc<HorizontalPodAutoscaler>>();
        let hpa_task = tokio::spawn(async move {
            let mut events = std::pin::pin!(hpa_events);
            while let Some(item) = events.next().await {
                match item {
                    Ok(hpa) => {
                        if trigger_tx.send(Arc::new(hpa)).is_err() {
                            break;
                        }
                    }
                    Err(e) => tracing::warn!(error = %e, "HPA watch error"),
                }
            }
        });

        tokio::select! {
            r = wait_ready(&hpa_store, &pod_store) => r?,
            () = shutdown.cancelled() => {
                pod_task.abort();
                hpa_task.abort();
                return Ok(());
            }
        }
        readiness.set_ready(true);
        tracing::info!(
            hpas = hpa_store.state().len(),
            pods = pod_store.state().len(),
            "caches synced"
        );

        let state = ControllerState::default();
        reconciler.decisions().set_standby(!*leader.borrow());
        let mut tick = tokio::time::interval(options.sync_period);
        tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        let mut first_cycle_done = false;
        loop {
            tokio::select! {
                () = shutdown.cancelled() => break,
                _ = tick.tick() => {
                    if !*leader.borrow() {
                        tracing::debug!("not the leader; standing by");
                        continue;
                    }
                    let hpas = hpa_store.state();
                    let pods = pod_store.state();
                    let is_leader = || *leader.borrow();
                    let started = Instant::now();
                    let outcomes = run_cycle(&reconciler, &state, &hpas, &pods, &metrics, &options, &is_leader).await;
                    first_cycle_done = true;
                    let errors = outcomes.iter().filter(|o| o.error.is_some()).count();
                    tracing::info!(hpas = hpas.len(), reconciled = outcomes.len(), errors,
                                   elapsed_ms = started.elapsed().as_millis() as u64, "sync cycle done");
                }
                Some(hpa) = trigger_rx.recv() => {
                    if !first_cycle_done || !*leader.borrow() || !needs_immediate(&state, &hpa) {
                        continue;
                    }
                    let key = key_of(&hpa);
                    if let Some(s) = state.lock().get_mut(&key) {
                        s.backoff = None;
                    }
                    let pods = NamespacePods::new(
                        pod_store
                            .state()
                            .into_iter()
                            .filter(|p| p.metadata.namespace == hpa.metadata.namespace)
                            .collect(),
                    );
                    let known = known_selectors(&state).remove(&key.namespace).unwrap_or_default();
                    let cache = CycleCache::new(&metrics);
                    reconcile_one(&reconciler, &state, &hpa, &pods, &known, &cache, &options).await;
                }
                r = leader.changed() => {
                    if r.is_err() {
                        tracing::warn!("leader election ended; stopping");
                        break;
                    }
                    let leading = *leader.borrow();
                    tracing::info!(leader = leading, "leadership changed");
                    reconciler.decisions().set_standby(!leading);
                    if leading {
                        // A new leader syncs every HPA at once rather than a period after taking over.
                        tick.reset_immediately();
                    }
                }
            }
        }
        readiness.set_ready(false);
        pod_task.abort();
        hpa_task.abort();
        Ok(())
    }
}

async fn wait_ready(hpas: &Store<HorizontalPodAutoscaler>, pods: &Store<Pod>) -> Result<()> {
    hpas.wait_until_ready()
        .await
        .map_err(|_| Error::Sync("HorizontalPodAutoscaler"))?;
    pods.wait_until_ready().await.map_err(|_| Error::Sync("Pod"))?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{
        input::{PodInfo, RequestKey},
        policy::ControllerConfig,
    };

    #[test]
    fn a_stripped_pod_digests_exactly_as_the_full_pod() {
        let full: Pod = serde_json::from_value(serde_json::json!({
            "metadata": {"name": "web-a", "namespace": "shop", "labels": {"app": "web"},
                         "annotations": {"big": "x".repeat(1000)},
                         "managedFields": [{"manager": "kubectl", "operation": "Apply"}]},
            "spec": {"volumes": [{"name": "v", "emptyDir": {}}],
                     "initContainers": [{"name": "init", "env": [{"name": "A", "value": "1"}],
                                         "resources": {"requests": {"cpu": "50m"}}}],
                     "containers": [{"name": "app", "command": ["run"], "env": [{"name": "B", "value": "2"}],
                                     "readinessProbe": {"exec": {"command": ["true"]}},
                                     "resources": {"requests": {"cpu": "500m", "memory": "1Gi"}}},
                                    {"name": "side", "resources": {"requests": {"cpu": "100m"}}}]},
            "status": {"phase": "Running", "startTime": "2026-01-01T00:00:00Z",
                       "conditions": [{"type": "Ready", "status": "True", "lastTransitionTime": "2026-01-01T00:00:30Z"}],
                       "containerStatuses": [{"name": "app", "ready": true, "restartCount": 0, "image": "i", "imageID": ""}]}
        }))
        .unwrap();
        let mut stripped = full.clone();
        strip_pod(&mut stripped);
        assert!(stripped.metadata.managed_fields.is_none() && stripped.metadata.annotations.is_none());
        assert!(stripped.spec.as_ref().unwrap().volumes.is_none());
        assert_eq!(stripped.metadata.labels, full.metadata.labels);

        let cfg = ControllerConfig::default();
        let keys = vec![
            RequestKey {
                resource: "cpu".into(),
                container: None,
            },
            RequestKey {
                resource: "cpu".into(),
                container: Some("side".into()),
            },
            RequestKey {
                resource: "memory".into(),
                container: None,
            },
        ];
        assert_eq!(
            PodInfo::from_pod(&stripped, &keys, &cfg),
            PodInfo::from_pod(&full, &keys, &cfg)
        );
    }
}
