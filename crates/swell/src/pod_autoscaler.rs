//! `swell pod-autoscaler`: the live controller, and `swell explain hpa`.
//!
//! Flags are named as kube-controller-manager names them where it has the same knob; every flag
//! also reads an environment variable (`SWELL_...`). The flags are turned into the crates' config
//! structs here and nowhere else.

use std::{net::SocketAddr, path::PathBuf, sync::Arc, time::Duration};

use kube::Client;
use swell_core::{clock::SystemClock, selector::Selector};
use swell_pod_autoscaler::{
    History,
    controller::{Controller, DecisionRecord, DecisionStore, LoopOptions, Mode, Reconciler, Telemetry},
    metrics::{ApiMetricsClient, Endpoint, EndpointOptions, MetricsRouting},
    policy::ControllerConfig,
};
use swell_runtime::{
    events::{Recorder, Reporter},
    server::{Readiness, Server},
};
use tokio_util::sync::CancellationToken;

use crate::{
    ControllerArgs,
    common::{ClusterArgs, LeaderArgs, LogArgs, get_json, small_runtime, std_duration},
    duration,
};

/// The component name upstream's HPA controller reports events as.
const COMPONENT: &str = "horizontal-pod-autoscaler";

/// `--mode`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, clap::ValueEnum)]
pub enum ModeArg {
    /// Write scale, status and events (the built-in HPA controller must be off).
    Active,
    /// Compute and publish decisions only; write nothing (beside the built-in controller).
    Shadow,
}

/// How the three metrics APIs are reached.
#[derive(Debug, clap::Args)]
pub struct MetricsArgs {
    /// Reach the resource metrics API (metrics.k8s.io) at this URL instead of through the API server.
    #[arg(long, env = "SWELL_RESOURCE_METRICS_URL")]
    resource_metrics_url: Option<String>,
    /// CA bundle (PEM) for --resource-metrics-url.
    #[arg(
        long,
        env = "SWELL_RESOURCE_METRICS_CA_FILE",
        requires = "resource_metrics_url"
    )]
    resource_metrics_ca_file: Option<PathBuf>,
    /// File with a bearer token for --resource-metrics-url.
    #[arg(
        long,
        env = "SWELL_RESOURCE_METRICS_TOKEN_FILE",
        requires = "resource_metrics_url"
    )]
    resource_metrics_token_file: Option<PathBuf>,
    /// Reach the custom metrics API (custom.metrics.k8s.io) at this URL instead of through the API server.
    #[arg(long, env = "SWELL_CUSTOM_METRICS_URL")]
    custom_metrics_url: Option<String>,
    /// CA bundle (PEM) for --custom-metrics-url.
    #[arg(long, env = "SWELL_CUSTOM_METRICS_CA_FILE", requires = "custom_metrics_url")]
    custom_metrics_ca_file: Option<PathBuf>,
    /// File with a bearer token for --custom-metrics-url.
    #[arg(
        long,
        env = "SWELL_CUSTOM_METRICS_TOKEN_FILE",
        requires = "custom_metrics_url"
    )]
    custom_metrics_token_file: Option<PathBuf>,
    /// Reach the external metrics API (external.metrics.k8s.io) at this URL instead of through the API
    /// server, for metric names no --external-metrics-provider claims.
    #[arg(long, env = "SWELL_EXTERNAL_METRICS_URL")]
    external_metrics_url: Option<String>,
    /// CA bundle (PEM) for --external-metrics-url and every --external-metrics-provider.
    #[arg(long, env = "SWELL_EXTERNAL_METRICS_CA_FILE")]
    external_metrics_ca_file: Option<PathBuf>,
    /// File with a bearer token for --external-metrics-url and every --external-metrics-provider.
    #[arg(long, env = "SWELL_EXTERNAL_METRICS_TOKEN_FILE")]
    external_metrics_token_file: Option<PathBuf>,
    /// PREFIX=URL: external metrics whose name starts with PREFIX go to the provider at URL (the
    /// longest matching prefix wins). Repeat for several providers; comma-separated in the env var.
    #[arg(long, env = "SWELL_EXTERNAL_METRICS_PROVIDER", value_delimiter = ',', value_parser = parse_provider)]
    external_metrics_provider: Vec<(String, String)>,
}

fn parse_provider(s: &str) -> Result<(String, String), String> {
    match s.split_once('=') {
        Some((prefix, url)) if !prefix.is_empty() && !url.is_empty() => {
            Ok((prefix.to_string(), url.to_string()))
        }
        _ => Err(format!("expected PREFIX=URL, got {s:?}")),
    }
}

impl MetricsArgs {
    async fn routing(&self, client: &Client) -> Result<MetricsRouting, String> {
        async fn endpoint(
            client: &Client,
            url: Option<&String>,
            ca: &Option<PathBuf>,
            token: &Option<PathBuf>,
        ) -> Result<Endpoint, String> {
            match url {
                Some(url) => Endpoint::direct(&EndpointOptions {
                    url: url.clone(),
                    ca_file: ca.clone(),
                    token_file: token.clone(),
                })
                .await
                .map_err(|e| e.to_string()),
                None => Ok(Endpoint::aggregated(client.clone())),
            }
        }
        let mut by_prefix = Vec::new();
        for (prefix, url) in &self.external_metrics_provider {
            let e = endpoint(
                client,
                Some(url),
                &self.external_metrics_ca_file,
                &self.external_metrics_token_file,
            )
            .await?;
            by_prefix.push((prefix.clone(), e));
        }
        Ok(MetricsRouting {
            resource: endpoint(
                client,
                self.resource_metrics_url.as_ref(),
                &self.resource_metrics_ca_file,
                &self.resource_metrics_token_file,
            )
            .await?,
            custom: endpoint(
                client,
                self.custom_metrics_url.as_ref(),
                &self.custom_metrics_ca_file,
                &self.custom_metrics_token_file,
            )
            .await?,
            external: endpoint(
                client,
                self.external_metrics_url.as_ref(),
                &self.external_metrics_ca_file,
                &self.external_metrics_token_file,
            )
            .await?,
            external_by_prefix: by_prefix,
        })
    }
}

/// The decision flags beyond those `swell hpa` shares.
#[derive(Debug, clap::Args)]
pub struct DecisionArgs {
    #[command(flatten)]
    controller: ControllerArgs,
    /// Period after a pod starts during which its CPU samples are treated with care (e.g. 5m).
    #[arg(long, env = "SWELL_HPA_CPU_INITIALIZATION_PERIOD", default_value = "5m", value_parser = duration::parse)]
    horizontal_pod_autoscaler_cpu_initialization_period: jiff::SignedDuration,
    /// Period after a pod starts during which a readiness change makes it count as not yet ready (e.g. 30s).
    #[arg(long, env = "SWELL_HPA_INITIAL_READINESS_DELAY", default_value = "30s", value_parser = duration::parse)]
    horizontal_pod_autoscaler_initial_readiness_delay: jiff::SignedDuration,
}

impl DecisionArgs {
    fn config(&self) -> Result<ControllerConfig, String> {
        Ok(ControllerConfig {
            cpu_initialization_period: self.horizontal_pod_autoscaler_cpu_initialization_period,
            initial_readiness_delay: self.horizontal_pod_autoscaler_initial_readiness_delay,
            ..self.controller.config()?
        })
    }
}

/// `swell pod-autoscaler`.
#[derive(Debug, clap::Args)]
pub struct PodAutoscalerArgs {
    #[command(flatten)]
    cluster: ClusterArgs,
    #[command(flatten)]
    decision: DecisionArgs,
    #[command(flatten)]
    metrics: MetricsArgs,
    /// How often every HPA is reconciled (an HPA created or edited is reconciled at once as well).
    #[arg(long, env = "SWELL_HPA_SYNC_PERIOD", default_value = "15s", value_parser = duration::parse)]
    horizontal_pod_autoscaler_sync_period: jiff::SignedDuration,
    /// How many HPAs are reconciled at the same time.
    #[arg(long, env = "SWELL_CONCURRENT_HPA_SYNCS", default_value_t = 5)]
    concurrent_horizontal_pod_autoscaler_syncs: usize,
    /// `active` writes scale, status and events; `shadow` only computes and publishes decisions.
    #[arg(long, env = "SWELL_MODE", value_enum, default_value = "active")]
    mode: ModeArg,
    /// Only reconcile HPAs whose labels match this selector (e.g. `autoscaler=swell`); all by default.
    #[arg(long, env = "SWELL_HPA_SELECTOR", value_parser = parse_selector)]
    hpa_selector: Option<Selector>,
    /// Address of /healthz, /readyz, /metrics and /decisions.
    #[arg(long, env = "SWELL_METRICS_BIND_ADDRESS", default_value = "0.0.0.0:8080")]
    metrics_bind_address: SocketAddr,
    #[command(flatten)]
    leader: LeaderArgs,
    /// Name of the Lease.
    #[arg(
        long,
        env = "SWELL_LEADER_ELECT_RESOURCE_NAME",
        default_value = "swell-pod-autoscaler"
    )]
    leader_elect_resource_name: String,
    #[command(flatten)]
    log: LogArgs,
}

fn parse_selector(s: &str) -> Result<Selector, String> {
    Selector::parse(s).map_err(|e| e.to_string())
}

/// Runs the controller until SIGTERM or SIGINT.
pub fn run(args: &PodAutoscalerArgs) -> Result<String, String> {
    // Validate every flag before anything starts.
    let config = args.decision.config()?;
    let sync_period = std_duration(
        "horizontal-pod-autoscaler-sync-period",
        args.horizontal_pod_autoscaler_sync_period,
    )?;
    if args.concurrent_horizontal_pod_autoscaler_syncs == 0 {
        return Err("--concurrent-horizontal-pod-autoscaler-syncs must be at least 1".to_string());
    }
    args.leader.validate()?;
    args.log.init()?;
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .map_err(|e| format!("failed to start the async runtime: {e}"))?;
    runtime.block_on(serve(args, config, sync_period))?;
    Ok("stopped".to_string())
}

async fn serve(
    args: &PodAutoscalerArgs,
    config: ControllerConfig,
    sync_period: Duration,
) -> Result<(), String> {
    let client = args.cluster.client().await?;
    let shutdown = CancellationToken::new();
    swell_runtime::shutdown::cancel_on_signal(shutdown.clone()).map_err(|e| e.to_string())?;
    let clock = Arc::new(SystemClock);

    let telemetry = Telemetry::default();
    let mut registry = prometheus_client::registry::Registry::default();
    telemetry.register(&mut registry);
    let routing = args.metrics.routing(&client).await?;
    tracing::info!(
        resource = routing.resource.target(),
        custom = routing.custom.target(),
        external = routing.external.target(),
        external_providers = routing.external_by_prefix.len(),
        "metrics APIs"
    );
    let metrics = Arc::new(
        ApiMetricsClient::new(routing, client.clone(), sync_period).with_observer(telemetry.fetch.clone()),
    );
    let recorder = Recorder::new(
        client.clone(),
        Reporter {
            component: COMPONENT.to_string(),
            instance: None,
        },
        clock.clone(),
    );
    let decisions = DecisionStore::default();
    let mode = match args.mode {
        ModeArg::Active => Mode::Active,
        ModeArg::Shadow => Mode::Shadow,
    };
    let reconciler = Arc::new(Reconciler::new(
        client.clone(),
        recorder,
        config,
        mode,
        telemetry,
        decisions.clone(),
        clock.clone(),
    ));

    let readiness = Readiness::new();
    let server = Server::bind(
        args.metrics_bind_address,
        readiness.clone(),
        Arc::new(registry),
        decisions.router(),
    )
    .await
    .map_err(|e| e.to_string())?;
    let server_shutdown = shutdown.clone();
    let server_task = tokio::spawn(async move { server.serve(server_shutdown.cancelled_owned()).await });

    let (leader, elector_task, _always) = args.leader.start(
        &client,
        &args.leader_elect_resource_name,
        clock.clone(),
        &shutdown,
    )?;

    tracing::info!(mode = mode.as_str(), sync_period_s = sync_period.as_secs(), leader_elect = args.leader.leader_elect,
                   addr = %args.metrics_bind_address, "starting the pod autoscaler");
    let result = Controller {
        client,
        reconciler,
        metrics,
        options: LoopOptions {
            sync_period,
            concurrency: args.concurrent_horizontal_pod_autoscaler_syncs,
            hpa_selector: args.hpa_selector.clone(),
            ..LoopOptions::default()
        },
        leader,
        readiness,
        shutdown: shutdown.clone(),
    }
    .run()
    .await;
    shutdown.cancel();
    if let Some(t) = elector_task {
        // The elector releases the Lease on shutdown so that another replica takes over at once.
        let _ = t.await;
    }
    let _ = server_task.await;
    result.map_err(|e| e.to_string())
}

/// `swell explain hpa NAMESPACE/NAME`.
#[derive(Debug, clap::Args)]
pub struct ExplainHpaArgs {
    /// The HPA, as NAMESPACE/NAME.
    hpa: String,
    /// Base URL of a running controller's metrics port (e.g. after `kubectl port-forward`).
    #[arg(
        long,
        env = "SWELL_EXPLAIN_URL",
        default_value = "http://127.0.0.1:8080",
        conflicts_with = "once"
    )]
    url: String,
    /// Compute one decision on the spot from the cluster instead (writes nothing; without the
    /// controller's history, so stabilization windows are empty).
    #[arg(long, env = "SWELL_EXPLAIN_ONCE")]
    once: bool,
    /// Print the decision record as JSON.
    #[arg(long, env = "SWELL_JSON")]
    json: bool,
    #[command(flatten)]
    cluster: ClusterArgs,
    #[command(flatten)]
    decision: DecisionArgs,
    #[command(flatten)]
    metrics: MetricsArgs,
}

/// Runs `swell explain hpa`.
pub fn explain(args: &ExplainHpaArgs) -> Result<String, String> {
    let Some((namespace, name)) = args
        .hpa
        .split_once('/')
        .filter(|(n, m)| !n.is_empty() && !m.is_empty())
    else {
        return Err(format!("expected NAMESPACE/NAME, got {:?}", args.hpa));
    };
    let runtime = small_runtime()?;
    let record = if args.once {
        runtime.block_on(explain_once(args, namespace, name))?
    } else {
        runtime.block_on(fetch_record(&args.url, namespace, name))?
    };
    if args.json {
        serde_json::to_string_pretty(&record).map_err(|e| format!("failed to print the decision: {e}"))
    } else {
        Ok(render_record(&record))
    }
}

/// The record for a person: a header, then the decision's own explanation.
pub fn render_record(r: &DecisionRecord) -> String {
    let mut out = format!(
        "{}/{} ({} mode, decided at {})\n",
        r.namespace, r.name, r.mode, r.time
    );
    if let Some(b) = r.builtin_desired_replicas {
        out.push_str(&format!(
            "status.desiredReplicas as written by the controller in charge: {b}; ours: {}\n",
            r.desired_replicas
        ));
    }
    if let Some(e) = &r.error {
        out.push_str(&format!("error: {e}\n"));
    }
    out.push_str(&r.text);
    for e in &r.events {
        out.push_str(&format!(
            "event {} {}: {}\n",
            e.type_.as_str(),
            e.reason,
            e.message
        ));
    }
    out.trim_end().to_string()
}

async fn fetch_record(url: &str, namespace: &str, name: &str) -> Result<DecisionRecord, String> {
    get_json(url, &format!("/decisions/{namespace}/{name}")).await
}

async fn explain_once(args: &ExplainHpaArgs, namespace: &str, name: &str) -> Result<DecisionRecord, String> {
    use k8s_openapi::api::{autoscaling::v2::HorizontalPodAutoscaler, core::v1::Pod};
    let config = args.decision.config()?;
    let client = args.cluster.client().await?;
    let hpa = kube::Api::<HorizontalPodAutoscaler>::namespaced(client.clone(), namespace)
        .get(name)
        .await
        .map_err(|e| format!("failed to get HorizontalPodAutoscaler {namespace}/{name}: {e}"))?;
    let pods: Vec<Arc<Pod>> = kube::Api::<Pod>::namespaced(client.clone(), namespace)
        .list(&Default::default())
        .await
        .map_err(|e| format!("failed to list pods in {namespace}: {e}"))?
        .items
        .into_iter()
        .map(Arc::new)
        .collect();
    let metrics = ApiMetricsClient::new(
        args.metrics.routing(&client).await?,
        client.clone(),
        Duration::from_secs(15),
    );
    let clock = Arc::new(SystemClock);
    let decisions = DecisionStore::default();
    // Shadow mode: computes and publishes, never writes (the recorder is never called).
    let reconciler = Reconciler::new(
        client.clone(),
        Recorder::new(
            client,
            Reporter {
                component: COMPONENT.to_string(),
                instance: None,
            },
            clock.clone(),
        ),
        config,
        Mode::Shadow,
        Telemetry::default(),
        decisions.clone(),
        clock,
    );
    let outcome = reconciler
        .reconcile(&hpa, &pods, &[], &metrics, &mut History::default())
        .await;
    decisions
        .get(&outcome.key)
        .ok_or_else(|| format!("no decision was made for {namespace}/{name}"))
}
