//! `swell node-autoscaler`: the live node autoscaler, and `swell explain node` / `swell explain pod`.
//!
//! Flags are named as Cluster Autoscaler names them where it has the same knob, with CA's defaults;
//! every flag also reads an environment variable (`SWELL_...`). Everything is validated before the
//! controller starts: a malformed node-group declaration, an unknown expander, a priority map with a
//! bad regex stop it with a message that names the culprit.

use std::{net::SocketAddr, path::PathBuf, sync::Arc, time::Duration};

use clap::ArgAction;
use jiff::SignedDuration;
use k8s_openapi::api::core::v1::ConfigMap;
use kube::{Api, Client};
use swell_cloud_kwok::{KwokProvider, declaration::Source};
use swell_core::clock::{Clock, SystemClock};
use swell_node_autoscaler::{
    ClusterLimits, Config, ScaleDownConfig, ScaleUpConfig,
    controller::{ActuationOptions, BackoffConfig, Controller, LoopOptions, NodeAutoscaler, Telemetry},
    provider::NodeGroupProvider,
    scaledown::drain::DrainOptions,
    scaleup::{
        balance::{BalanceOptions, Provider as BalanceProvider},
        expander::{ExpanderChain, PriorityConfig},
    },
};
use swell_runtime::{
    events::{Recorder, Reporter},
    server::{Readiness, Server},
};
use tokio_util::sync::CancellationToken;

use crate::{
    common::{ClusterArgs, LeaderArgs, LogArgs, get_json, own_namespace, small_runtime, std_duration},
    duration,
};

/// The component name Cluster Autoscaler reports events as (alerts match it).
const COMPONENT: &str = "cluster-autoscaler";
/// CA's priority expander ConfigMap.
const PRIORITY_CONFIG_MAP: &str = "cluster-autoscaler-priority-expander";

/// `--cloud-provider`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, clap::ValueEnum)]
pub enum CloudProvider {
    /// Fake nodes: Node objects created and deleted in the cluster (kwok conventions).
    Kwok,
    /// AWS Auto Scaling Groups.
    Aws,
}

/// The kwok provider's flags.
#[derive(Debug, clap::Args)]
pub struct KwokArgs {
    /// The node-group declaration as NAMESPACE/NAME of a ConfigMap (key node-groups.yaml); see docs/kwok.md.
    #[arg(
        long,
        env = "SWELL_KWOK_NODE_GROUPS_CONFIG_MAP",
        conflicts_with = "kwok_node_groups_file"
    )]
    kwok_node_groups_config_map: Option<String>,
    /// The node-group declaration as a file; see docs/kwok.md.
    #[arg(long, env = "SWELL_KWOK_NODE_GROUPS_FILE")]
    kwok_node_groups_file: Option<PathBuf>,
    /// Renew the fake nodes' heartbeats (conditions and node Lease) every 10s, for clusters where no
    /// kwok controller does it.
    #[arg(long, env = "SWELL_KWOK_HEARTBEAT", default_value_t = false, action = ArgAction::Set)]
    kwok_heartbeat: bool,
}

impl KwokArgs {
    fn source(&self) -> Result<Source, String> {
        match (&self.kwok_node_groups_config_map, &self.kwok_node_groups_file) {
            (Some(cm), None) => {
                let (namespace, name) = cm
                    .split_once('/')
                    .filter(|(n, m)| !n.is_empty() && !m.is_empty())
                    .ok_or_else(|| format!("--kwok-node-groups-config-map: expected NAMESPACE/NAME, got {cm:?}"))?;
                Ok(Source::ConfigMap {
                    namespace: namespace.to_string(),
                    name: name.to_string(),
                    key: swell_cloud_kwok::declaration::DEFAULT_KEY.to_string(),
                })
            }
            (None, Some(path)) => Ok(Source::File(path.clone())),
            _ => Err(
                "--cloud-provider=kwok needs --kwok-node-groups-config-map=NAMESPACE/NAME or --kwok-node-groups-file=PATH"
                    .to_string(),
            ),
        }
    }
}

/// `swell node-autoscaler`.
#[derive(Debug, clap::Args)]
pub struct NodeAutoscalerArgs {
    #[command(flatten)]
    cluster: ClusterArgs,
    /// Which cloud the node groups live in.
    #[arg(long, env = "SWELL_CLOUD_PROVIDER", value_enum, default_value = "kwok")]
    cloud_provider: CloudProvider,
    #[command(flatten)]
    kwok: KwokArgs,
    #[command(flatten)]
    aws: crate::aws::AwsArgs,
    #[command(flatten)]
    decision: NodeDecisionArgs,
    /// How often the loop runs (also 2s after a new unschedulable pod appears).
    #[arg(long, env = "SWELL_SCAN_INTERVAL", default_value = "10s", value_parser = duration::parse)]
    scan_interval: SignedDuration,
    /// A scale-up whose nodes have not registered within this time is rolled back and its group
    /// backed off.
    #[arg(long, env = "SWELL_MAX_NODE_PROVISION_TIME", default_value = "15m", value_parser = duration::parse)]
    max_node_provision_time: SignedDuration,
    /// The first backoff of a node group after a failed scale-up.
    #[arg(long, env = "SWELL_INITIAL_NODE_GROUP_BACKOFF_DURATION", default_value = "5m", value_parser = duration::parse)]
    initial_node_group_backoff_duration: SignedDuration,
    /// The longest backoff (each failure doubles it).
    #[arg(long, env = "SWELL_MAX_NODE_GROUP_BACKOFF_DURATION", default_value = "30m", value_parser = duration::parse)]
    max_node_group_backoff_duration: SignedDuration,
    /// After this long without a failure the backoff starts again from its first length.
    #[arg(long, env = "SWELL_NODE_GROUP_BACKOFF_RESET_TIMEOUT", default_value = "3h", value_parser = duration::parse)]
    node_group_backoff_reset_timeout: SignedDuration,
    /// The longest grace period given to a pod evicted by scale-down, in seconds.
    #[arg(long, env = "SWELL_MAX_GRACEFUL_TERMINATION_SEC", default_value_t = 600)]
    max_graceful_termination_sec: i64,
    /// How long evictions refused by a PodDisruptionBudget are retried before the drain is given up.
    #[arg(long, env = "SWELL_MAX_POD_EVICTION_TIME", default_value = "2m", value_parser = duration::parse)]
    max_pod_eviction_time: SignedDuration,
    /// Soft taints added or removed per loop.
    #[arg(long, env = "SWELL_MAX_BULK_SOFT_TAINT_COUNT", default_value_t = 10)]
    max_bulk_soft_taint_count: usize,
    /// Plan, publish and explain (on /decisions and /metrics); change nothing in the cluster or cloud.
    #[arg(long, env = "SWELL_DRY_RUN", default_value_t = false, action = ArgAction::Set)]
    dry_run: bool,
    /// The namespace of the status ConfigMap and the priority expander ConfigMap; defaults to the
    /// pod's namespace (POD_NAMESPACE), else kube-system.
    #[arg(long, env = "SWELL_NAMESPACE")]
    namespace: Option<String>,
    /// Name of the status ConfigMap (Cluster Autoscaler's schema).
    #[arg(
        long,
        env = "SWELL_STATUS_CONFIG_MAP_NAME",
        default_value = "swell-node-autoscaler-status"
    )]
    status_config_map_name: String,
    /// Write the status ConfigMap.
    #[arg(long, env = "SWELL_WRITE_STATUS_CONFIGMAP", default_value_t = true, action = ArgAction::Set)]
    write_status_configmap: bool,
    /// Address of /healthz, /readyz, /metrics and /decisions.
    #[arg(long, env = "SWELL_METRICS_BIND_ADDRESS", default_value = "0.0.0.0:8085")]
    metrics_bind_address: SocketAddr,
    #[command(flatten)]
    leader: LeaderArgs,
    /// Name of the Lease.
    #[arg(
        long,
        env = "SWELL_LEADER_ELECT_RESOURCE_NAME",
        default_value = "swell-node-autoscaler"
    )]
    leader_elect_resource_name: String,
    #[command(flatten)]
    log: LogArgs,
}

/// The decision core's flags (Cluster Autoscaler's names and defaults).
#[derive(Debug, clap::Args)]
pub struct NodeDecisionArgs {
    /// Expander chain: comma-separated from random, most-pods, least-waste, least-nodes, price, priority.
    #[arg(long, env = "SWELL_EXPANDER", default_value = "least-waste")]
    expander: String,
    /// Pods with a priority below this never trigger a scale-up and do not keep nodes.
    #[arg(long, env = "SWELL_EXPENDABLE_PODS_PRIORITY_CUTOFF", default_value_t = -10, allow_negative_numbers = true)]
    expendable_pods_priority_cutoff: i32,
    /// Pods younger than this are not considered for scale-up yet.
    #[arg(long, env = "SWELL_NEW_POD_SCALE_UP_DELAY", default_value = "0s", value_parser = duration::parse)]
    new_pod_scale_up_delay: SignedDuration,
    /// Nodes added by one scale-up at most.
    #[arg(long, env = "SWELL_MAX_NODES_PER_SCALEUP", default_value_t = 1000)]
    max_nodes_per_scaleup: usize,
    /// Split scale-ups between similar node groups.
    #[arg(long, env = "SWELL_BALANCE_SIMILAR_NODE_GROUPS", default_value_t = false, action = ArgAction::Set)]
    balance_similar_node_groups: bool,
    /// Labels not compared when looking for similar node groups (repeatable).
    #[arg(long, env = "SWELL_BALANCING_IGNORE_LABEL", value_delimiter = ',')]
    balancing_ignore_label: Vec<String>,
    /// Only these labels decide which node groups are similar (repeatable).
    #[arg(long, env = "SWELL_BALANCING_LABEL", value_delimiter = ',')]
    balancing_label: Vec<String>,
    /// Most nodes in the cluster (0: no limit).
    #[arg(long, env = "SWELL_MAX_NODES_TOTAL", default_value_t = 0)]
    max_nodes_total: usize,
    /// Cluster cores as MIN:MAX.
    #[arg(long, env = "SWELL_CORES_TOTAL", default_value = "0:320000")]
    cores_total: String,
    /// Cluster memory in GiB as MIN:MAX.
    #[arg(long, env = "SWELL_MEMORY_TOTAL", default_value = "0:6400000")]
    memory_total: String,
    /// Remove unneeded nodes.
    #[arg(long, env = "SWELL_SCALE_DOWN_ENABLED", default_value_t = true, action = ArgAction::Set)]
    scale_down_enabled: bool,
    /// A node whose requests over allocatable (cpu or memory) are below this may be removed.
    #[arg(long, env = "SWELL_SCALE_DOWN_UTILIZATION_THRESHOLD", default_value_t = 0.5)]
    scale_down_utilization_threshold: f64,
    /// How long a node must be unneeded before it is removed.
    #[arg(long, env = "SWELL_SCALE_DOWN_UNNEEDED_TIME", default_value = "10m", value_parser = duration::parse)]
    scale_down_unneeded_time: SignedDuration,
    /// How long an unready node must be unneeded before it is removed.
    #[arg(long, env = "SWELL_SCALE_DOWN_UNREADY_TIME", default_value = "20m", value_parser = duration::parse)]
    scale_down_unready_time: SignedDuration,
    /// Remove unready nodes too.
    #[arg(long, env = "SWELL_SCALE_DOWN_UNREADY_ENABLED", default_value_t = true, action = ArgAction::Set)]
    scale_down_unready_enabled: bool,
    /// No scale-down this long after a scale-up.
    #[arg(long, env = "SWELL_SCALE_DOWN_DELAY_AFTER_ADD", default_value = "10m", value_parser = duration::parse)]
    scale_down_delay_after_add: SignedDuration,
    /// No scale-down this long after a node removal (0: the next loop).
    #[arg(long, env = "SWELL_SCALE_DOWN_DELAY_AFTER_DELETE", default_value = "0s", value_parser = duration::parse)]
    scale_down_delay_after_delete: SignedDuration,
    /// No scale-down this long after a failed one.
    #[arg(long, env = "SWELL_SCALE_DOWN_DELAY_AFTER_FAILURE", default_value = "3m", value_parser = duration::parse)]
    scale_down_delay_after_failure: SignedDuration,
    /// Leave DaemonSet pods out of utilization.
    #[arg(long, env = "SWELL_IGNORE_DAEMONSETS_UTILIZATION", default_value_t = false, action = ArgAction::Set)]
    ignore_daemonsets_utilization: bool,
    /// Leave mirror pods out of utilization.
    #[arg(long, env = "SWELL_IGNORE_MIRROR_PODS_UTILIZATION", default_value_t = false, action = ArgAction::Set)]
    ignore_mirror_pods_utilization: bool,
    /// Nodes removed at once (empty and drained together).
    #[arg(long, env = "SWELL_MAX_SCALE_DOWN_PARALLELISM", default_value_t = 10)]
    max_scale_down_parallelism: usize,
    /// Non-empty nodes drained at once.
    #[arg(long, env = "SWELL_MAX_DRAIN_PARALLELISM", default_value_t = 1)]
    max_drain_parallelism: usize,
    /// How long a node found unremovable is left before it is checked again.
    #[arg(long, env = "SWELL_UNREMOVABLE_NODE_RECHECK_TIMEOUT", default_value = "5m", value_parser = duration::parse)]
    unremovable_node_recheck_timeout: SignedDuration,
    /// A kube-system pod no PDB covers keeps its node.
    #[arg(long, env = "SWELL_SKIP_NODES_WITH_SYSTEM_PODS", default_value_t = true, action = ArgAction::Set)]
    skip_nodes_with_system_pods: bool,
    /// A pod with local storage (hostPath, disk emptyDir) keeps its node.
    #[arg(long, env = "SWELL_SKIP_NODES_WITH_LOCAL_STORAGE", default_value_t = true, action = ArgAction::Set)]
    skip_nodes_with_local_storage: bool,
    /// Only ReplicationController, ReplicaSet, Job and StatefulSet count as controllers.
    #[arg(long, env = "SWELL_SKIP_NODES_WITH_CUSTOM_CONTROLLER_PODS", default_value_t = true, action = ArgAction::Set)]
    skip_nodes_with_custom_controller_pods: bool,
    /// A ReplicaSet or ReplicationController with fewer replicas keeps its pods where they are.
    #[arg(long, env = "SWELL_MIN_REPLICA_COUNT", default_value_t = 0)]
    min_replica_count: i32,
}

fn min_max(flag: &str, s: &str) -> Result<(i64, i64), String> {
    let parsed = s
        .split_once(':')
        .and_then(|(a, b)| Some((a.trim().parse::<i64>().ok()?, b.trim().parse::<i64>().ok()?)));
    match parsed {
        Some((min, max)) if 0 <= min && min <= max => Ok((min, max)),
        _ => Err(format!(
            "--{flag} must be MIN:MAX with 0 <= MIN <= MAX, got {s:?}"
        )),
    }
}

impl NodeDecisionArgs {
    /// The core's config; `priorities` is the priority expander's ConfigMap text when the chain
    /// uses it.
    pub fn config(&self, priorities: Option<&str>, provider: BalanceProvider) -> Result<Config, String> {
        let expander = ExpanderChain::parse(&self.expander).map_err(|e| format!("--expander: {e}"))?;
        let priorities = match (expander.uses_priority(), priorities) {
            (true, Some(text)) => Some(
                PriorityConfig::parse(text)
                    .map_err(|e| format!("ConfigMap {PRIORITY_CONFIG_MAP}, key priorities: {e}"))?,
            ),
            (true, None) => {
                return Err(format!(
                    "--expander uses priority, but the ConfigMap {PRIORITY_CONFIG_MAP} has no key priorities"
                ));
            }
            (false, _) => None,
        };
        let t = self.scale_down_utilization_threshold;
        if !(t.is_finite() && (0.0..=1.0).contains(&t)) {
            return Err(format!(
                "--scale-down-utilization-threshold must be within 0..1, got {t}"
            ));
        }
        for (flag, n) in [
            ("max-scale-down-parallelism", self.max_scale_down_parallelism),
            ("max-nodes-per-scaleup", self.max_nodes_per_scaleup),
        ] {
            if n == 0 {
                return Err(format!("--{flag} must be at least 1"));
            }
        }
        for (flag, d) in [
            ("new-pod-scale-up-delay", self.new_pod_scale_up_delay),
            ("scale-down-unneeded-time", self.scale_down_unneeded_time),
            ("scale-down-unready-time", self.scale_down_unready_time),
            ("scale-down-delay-after-add", self.scale_down_delay_after_add),
            (
                "scale-down-delay-after-delete",
                self.scale_down_delay_after_delete,
            ),
            (
                "scale-down-delay-after-failure",
                self.scale_down_delay_after_failure,
            ),
            (
                "unremovable-node-recheck-timeout",
                self.unremovable_node_recheck_timeout,
            ),
        ] {
            if d.is_negative() {
                return Err(format!("--{flag} must not be negative, got {d}"));
            }
        }
        let (min_cores, max_cores) = min_max("cores-total", &self.cores_total)?;
        let (min_gib, max_gib) = min_max("memory-total", &self.memory_total)?;
        let gib = |n: i64| {
            n.checked_mul(1 << 30)
                .ok_or_else(|| format!("--memory-total: {n} GiB is too large"))
        };
        Ok(Config {
            scale_up: ScaleUpConfig {
                expendable_pods_priority_cutoff: self.expendable_pods_priority_cutoff,
                new_pod_scale_up_delay: self.new_pod_scale_up_delay,
                max_nodes_per_scaleup: self.max_nodes_per_scaleup,
                expander,
                priorities,
                balance_similar_node_groups: self.balance_similar_node_groups,
                balance: BalanceOptions {
                    provider,
                    ignored_labels: self.balancing_ignore_label.clone(),
                    balancing_labels: self.balancing_label.clone(),
                    ..BalanceOptions::default()
                },
            },
            scale_down: ScaleDownConfig {
                enabled: self.scale_down_enabled,
                utilization_threshold: t,
                unneeded_time: self.scale_down_unneeded_time,
                unready_time: self.scale_down_unready_time,
                unready_enabled: self.scale_down_unready_enabled,
                delay_after_add: self.scale_down_delay_after_add,
                delay_after_delete: self.scale_down_delay_after_delete,
                delay_after_failure: self.scale_down_delay_after_failure,
                ignore_daemonsets_utilization: self.ignore_daemonsets_utilization,
                ignore_mirror_pods_utilization: self.ignore_mirror_pods_utilization,
                max_scale_down_parallelism: self.max_scale_down_parallelism,
                max_drain_parallelism: self.max_drain_parallelism,
                unremovable_node_recheck_timeout: self.unremovable_node_recheck_timeout,
                drain: DrainOptions {
                    skip_nodes_with_system_pods: self.skip_nodes_with_system_pods,
                    skip_nodes_with_local_storage: self.skip_nodes_with_local_storage,
                    skip_nodes_with_custom_controller_pods: self.skip_nodes_with_custom_controller_pods,
                    min_replica_count: self.min_replica_count,
                },
            },
            limits: ClusterLimits {
                max_nodes_total: self.max_nodes_total,
                min_cores,
                max_cores,
                min_memory: gib(min_gib)?,
                max_memory: gib(max_gib)?,
            },
        })
    }

    fn uses_priority(&self) -> bool {
        ExpanderChain::parse(&self.expander).is_ok_and(|c| c.uses_priority())
    }
}

impl NodeAutoscalerArgs {
    fn loop_options(&self, namespace: String) -> Result<LoopOptions, String> {
        if self.max_graceful_termination_sec < 0 {
            return Err(format!(
                "--max-graceful-termination-sec must not be negative, got {}",
                self.max_graceful_termination_sec
            ));
        }
        Ok(LoopOptions {
            scan_interval: std_duration("scan-interval", self.scan_interval)?,
            max_node_provision_time: positive("max-node-provision-time", self.max_node_provision_time)?,
            backoff: BackoffConfig {
                initial: positive(
                    "initial-node-group-backoff-duration",
                    self.initial_node_group_backoff_duration,
                )?,
                max: positive(
                    "max-node-group-backoff-duration",
                    self.max_node_group_backoff_duration,
                )?,
                reset_after: positive(
                    "node-group-backoff-reset-timeout",
                    self.node_group_backoff_reset_timeout,
                )?,
            },
            dry_run: self.dry_run,
            namespace,
            status_config_map: self.status_config_map_name.clone(),
            write_status_config_map: self.write_status_configmap,
            max_bulk_soft_taint_count: self.max_bulk_soft_taint_count,
            actuation: ActuationOptions {
                max_graceful_termination_sec: self.max_graceful_termination_sec,
                max_pod_eviction_time: std_duration("max-pod-eviction-time", self.max_pod_eviction_time)?,
                ..ActuationOptions::default()
            },
            seed: 0,
        })
    }
}

fn positive(flag: &str, d: SignedDuration) -> Result<SignedDuration, String> {
    std_duration(flag, d).map(|_| d)
}

/// Reads the priority expander's ConfigMap (`priorities` key), as CA does at start.
async fn priorities(client: &Client, namespace: &str) -> Result<Option<String>, String> {
    let api: Api<ConfigMap> = Api::namespaced(client.clone(), namespace);
    let cm = api
        .get_opt(PRIORITY_CONFIG_MAP)
        .await
        .map_err(|e| format!("failed to read ConfigMap {namespace}/{PRIORITY_CONFIG_MAP}: {e}"))?;
    Ok(cm.and_then(|c| c.data).and_then(|d| d.get("priorities").cloned()))
}

/// Runs the controller until SIGTERM or SIGINT.
pub fn run(args: &NodeAutoscalerArgs) -> Result<String, String> {
    // Everything that needs no cluster is checked before anything starts.
    let balance = match args.cloud_provider {
        CloudProvider::Kwok => BalanceProvider::Generic,
        CloudProvider::Aws => BalanceProvider::Aws,
    };
    if !args.decision.uses_priority() {
        args.decision.config(None, balance)?;
    }
    let namespace = own_namespace(args.namespace.as_deref());
    let options = args.loop_options(namespace.clone())?;
    args.leader.validate()?;
    // A kwok declaration file is read now, so that a malformed one stops the start with its message;
    // a ConfigMap is read once connected.
    let kwok_source = match args.cloud_provider {
        CloudProvider::Kwok => Some(args.kwok.source()?),
        CloudProvider::Aws => {
            args.aws.options()?;
            None
        }
    };
    let kwok_file = match &kwok_source {
        Some(Source::File(path)) => {
            Some(swell_cloud_kwok::declaration::load_file(path).map_err(|e| e.to_string())?)
        }
        _ => None,
    };
    args.log.init()?;
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .map_err(|e| format!("failed to start the async runtime: {e}"))?;
    runtime.block_on(async {
        let client = args.cluster.client().await?;
        let prio = if args.decision.uses_priority() {
            priorities(&client, &namespace).await?
        } else {
            None
        };
        let config = args.decision.config(prio.as_deref(), balance)?;
        let clock: Arc<dyn Clock> = Arc::new(SystemClock);
        match args.cloud_provider {
            CloudProvider::Kwok => {
                let declaration = match kwok_file {
                    Some(declaration) => declaration,
                    None => args
                        .kwok
                        .source()?
                        .load(&client)
                        .await
                        .map_err(|e| e.to_string())?,
                };
                tracing::info!(groups = declaration.node_groups.len(), "kwok node groups loaded");
                let provider = Arc::new(KwokProvider::new(client.clone(), declaration, clock.clone()));
                let heartbeat = args.kwok.kwok_heartbeat.then(|| Arc::clone(&provider));
                serve(args, client, provider, config, options, clock, heartbeat).await
            }
            CloudProvider::Aws => {
                let provider = Arc::new(crate::aws::connect(&args.aws).await?);
                serve(args, client, provider, config, options, clock, None).await
            }
        }
    })?;
    Ok("stopped".to_string())
}

async fn serve<P: NodeGroupProvider + 'static>(
    args: &NodeAutoscalerArgs,
    client: Client,
    provider: Arc<P>,
    config: Config,
    options: LoopOptions,
    clock: Arc<dyn Clock>,
    kwok_heartbeat: Option<Arc<KwokProvider>>,
) -> Result<(), String> {
    let shutdown = CancellationToken::new();
    swell_runtime::shutdown::cancel_on_signal(shutdown.clone()).map_err(|e| e.to_string())?;
    let telemetry = Telemetry::default();
    let mut registry = prometheus_client::registry::Registry::default();
    telemetry.register(&mut registry);
    let recorder = Arc::new(Recorder::new(
        client.clone(),
        Reporter {
            component: COMPONENT.to_string(),
            instance: None,
        },
        clock.clone(),
    ));
    let autoscaler = NodeAutoscaler::new(client.clone(), provider, config, options, recorder, telemetry);
    let readiness = Readiness::new();
    let server = Server::bind(
        args.metrics_bind_address,
        readiness.clone(),
        Arc::new(registry),
        autoscaler.decisions().router(),
    )
    .await
    .map_err(|e| e.to_string())?;
    let server_shutdown = shutdown.clone();
    let server_task = tokio::spawn(async move { server.serve(server_shutdown.cancelled_owned()).await });
    let heartbeat_task = kwok_heartbeat.map(|p| {
        let token = shutdown.clone();
        tokio::spawn(async move {
            let mut tick = tokio::time::interval(Duration::from_secs(10));
            loop {
                tokio::select! {
                    () = token.cancelled() => break,
                    _ = tick.tick() => {
                        if let Err(e) = p.heartbeat().await {
                            tracing::warn!(error = %e, "failed to renew the fake nodes' heartbeats");
                        }
                    }
                }
            }
        })
    });
    let (leader, elector_task, _always) = args.leader.start(
        &client,
        &args.leader_elect_resource_name,
        clock.clone(),
        &shutdown,
    )?;
    tracing::info!(cloud_provider = ?args.cloud_provider, dry_run = args.dry_run, addr = %args.metrics_bind_address,
                   "starting the node autoscaler");
    let result = Controller {
        client,
        autoscaler,
        leader,
        readiness,
        shutdown: shutdown.clone(),
        clock,
    }
    .run()
    .await;
    shutdown.cancel();
    if let Some(t) = elector_task {
        let _ = t.await;
    }
    if let Some(t) = heartbeat_task {
        let _ = t.await;
    }
    let _ = server_task.await;
    result.map_err(|e| e.to_string())
}

/// `swell explain node NAME`.
#[derive(Debug, clap::Args)]
pub struct ExplainNodeArgs {
    /// The node.
    node: String,
    #[command(flatten)]
    target: ExplainTarget,
}

/// `swell explain pod NAMESPACE/NAME`.
#[derive(Debug, clap::Args)]
pub struct ExplainPodArgs {
    /// The pending pod, as NAMESPACE/NAME.
    pod: String,
    #[command(flatten)]
    target: ExplainTarget,
}

/// Where the running node autoscaler is.
#[derive(Debug, clap::Args)]
pub struct ExplainTarget {
    /// Base URL of a running node autoscaler's metrics port (e.g. after `kubectl port-forward`).
    #[arg(long, env = "SWELL_NODE_EXPLAIN_URL", default_value = "http://127.0.0.1:8085")]
    url: String,
    /// Print the verdict as JSON.
    #[arg(long, env = "SWELL_JSON")]
    json: bool,
}

fn explain(target: &ExplainTarget, path: &str) -> Result<String, String> {
    let value: serde_json::Value = small_runtime()?.block_on(get_json(&target.url, path))?;
    if target.json {
        return serde_json::to_string_pretty(&value).map_err(|e| format!("failed to print the verdict: {e}"));
    }
    Ok(value["text"].as_str().unwrap_or_default().to_string())
}

/// Runs `swell explain node`.
pub fn explain_node(args: &ExplainNodeArgs) -> Result<String, String> {
    explain(&args.target, &format!("/decisions/nodes/{}", args.node))
}

/// Runs `swell explain pod`.
pub fn explain_pod(args: &ExplainPodArgs) -> Result<String, String> {
    let Some((namespace, name)) = args
        .pod
        .split_once('/')
        .filter(|(n, m)| !n.is_empty() && !m.is_empty())
    else {
        return Err(format!("expected NAMESPACE/NAME, got {:?}", args.pod));
    };
    explain(&args.target, &format!("/decisions/pods/{namespace}/{name}"))
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::Parser;

    #[derive(Debug, Parser)]
    struct Cli {
        #[command(flatten)]
        d: NodeDecisionArgs,
    }

    fn config(args: &[&str], priorities: Option<&str>) -> Result<Config, String> {
        let mut argv = vec!["swell"];
        argv.extend_from_slice(args);
        Cli::try_parse_from(argv)
            .map_err(|e| e.to_string())?
            .d
            .config(priorities, BalanceProvider::Generic)
    }

    #[test]
    fn defaults_are_cluster_autoscalers() {
        let c = config(&[], None).unwrap();
        assert_eq!(c.scale_down, ScaleDownConfig::default());
        assert_eq!(c.limits, ClusterLimits::default());
        assert_eq!(c.scale_up.max_nodes_per_scaleup, 1000);
        assert_eq!(c.scale_up.expendable_pods_priority_cutoff, -10);
    }

    #[test]
    fn bad_input_is_refused_with_a_message_that_names_it() {
        let cases: &[(&[&str], Option<&str>, &str)] = &[
            (&["--expander", "cheapest"], None, "--expander: "),
            (&["--expander", "priority"], None, "has no key priorities"),
            (
                &["--expander", "priority"],
                Some("10:\n  - '(unclosed'\n"),
                "ConfigMap cluster-autoscaler-priority-expander, key priorities: ",
            ),
            (&["--cores-total", "8"], None, "--cores-total must be MIN:MAX"),
            (
                &["--memory-total", "10:5"],
                None,
                "--memory-total must be MIN:MAX",
            ),
            (
                &["--scale-down-utilization-threshold", "1.5"],
                None,
                "--scale-down-utilization-threshold must be within 0..1",
            ),
            (
                &["--max-scale-down-parallelism", "0"],
                None,
                "--max-scale-down-parallelism must be at least 1",
            ),
        ];
        for (args, prio, want) in cases {
            let err = config(args, *prio).unwrap_err();
            assert!(err.contains(want), "{args:?}: {err}");
        }
        let err = config(&["--expander", "priority"], Some("10:\n  - '(unclosed'\n")).unwrap_err();
        assert!(err.contains("(unclosed"), "the bad pattern is named: {err}");
    }

    #[test]
    fn a_valid_priority_map_is_taken() {
        let c = config(
            &["--expander", "priority,least-waste"],
            Some("10:\n  - spot-.*\n1:\n  - .*\n"),
        )
        .unwrap();
        assert_eq!(c.scale_up.priorities.unwrap().priority_of("spot-a"), Some(10));
    }

    #[test]
    fn kwok_needs_exactly_one_declaration_source() {
        #[derive(Debug, Parser)]
        struct K {
            #[command(flatten)]
            k: KwokArgs,
        }
        let parse = |a: &[&str]| {
            let mut v = vec!["swell"];
            v.extend_from_slice(a);
            K::try_parse_from(v)
        };
        assert!(
            parse(&[])
                .unwrap()
                .k
                .source()
                .unwrap_err()
                .contains("--kwok-node-groups-config-map")
        );
        assert!(
            parse(&["--kwok-node-groups-config-map", "nogroup"])
                .unwrap()
                .k
                .source()
                .unwrap_err()
                .contains("NAMESPACE/NAME")
        );
        assert!(matches!(
            parse(&["--kwok-node-groups-config-map", "kube-system/groups"])
                .unwrap()
                .k
                .source()
                .unwrap(),
            Source::ConfigMap { .. }
        ));
        assert!(
            parse(&[
                "--kwok-node-groups-config-map",
                "a/b",
                "--kwok-node-groups-file",
                "x"
            ])
            .is_err()
        );
    }
}
