//! Flags and helpers both live controllers share: where the cluster is, leader election, logs,
//! and reading a running controller's `/decisions` for `swell explain`.

use std::{path::PathBuf, sync::Arc, time::Duration};

use clap::ArgAction;
use kube::Client;
use swell_core::clock::Clock;
use swell_runtime::{
    client::ClientOptions,
    leader::{LeaderConfig, LeaderElector, unique_identity},
    telemetry::LogFormat,
};
use tokio::{sync::watch, task::JoinHandle};
use tokio_util::sync::CancellationToken;

use crate::duration;

/// Where the cluster is.
#[derive(Debug, clap::Args)]
pub struct ClusterArgs {
    /// Path to a kubeconfig file; without it, KUBECONFIG or ~/.kube/config, then the in-cluster config.
    #[arg(long, env = "SWELL_KUBECONFIG")]
    kubeconfig: Option<PathBuf>,
    /// The kubeconfig context to use instead of its current context.
    #[arg(long, env = "SWELL_CONTEXT")]
    context: Option<String>,
}

impl ClusterArgs {
    /// A client for the cluster.
    pub async fn client(&self) -> Result<Client, String> {
        swell_runtime::client::client(&ClientOptions {
            kubeconfig: self.kubeconfig.clone(),
            context: self.context.clone(),
        })
        .await
        .map_err(|e| e.to_string())
    }
}

/// Leader election through a Lease (the Lease's name is each controller's own flag).
#[derive(Debug, clap::Args)]
pub struct LeaderArgs {
    /// Elect a leader through a Lease so that only one replica writes.
    #[arg(long, env = "SWELL_LEADER_ELECT", default_value_t = true, action = ArgAction::Set)]
    pub leader_elect: bool,
    /// How long others wait after the last renewal before taking over.
    #[arg(long, env = "SWELL_LEADER_ELECT_LEASE_DURATION", default_value = "15s", value_parser = duration::parse)]
    leader_elect_lease_duration: jiff::SignedDuration,
    /// How long the leader keeps trying to renew before it steps down.
    #[arg(long, env = "SWELL_LEADER_ELECT_RENEW_DEADLINE", default_value = "10s", value_parser = duration::parse)]
    leader_elect_renew_deadline: jiff::SignedDuration,
    /// How long between two attempts to acquire or renew.
    #[arg(long, env = "SWELL_LEADER_ELECT_RETRY_PERIOD", default_value = "2s", value_parser = duration::parse)]
    leader_elect_retry_period: jiff::SignedDuration,
    /// Namespace of the Lease; defaults to the pod's namespace (POD_NAMESPACE), else kube-system.
    #[arg(long, env = "SWELL_LEADER_ELECT_RESOURCE_NAMESPACE")]
    leader_elect_resource_namespace: Option<String>,
}

/// The election under way: the leadership flag and the elector's task (`None` without election).
pub type Election = (watch::Receiver<bool>, Option<JoinHandle<()>>, watch::Sender<bool>);

impl LeaderArgs {
    /// Checks the durations before anything starts.
    pub fn validate(&self) -> Result<(), String> {
        std_duration("leader-elect-lease-duration", self.leader_elect_lease_duration)?;
        std_duration("leader-elect-renew-deadline", self.leader_elect_renew_deadline)?;
        std_duration("leader-elect-retry-period", self.leader_elect_retry_period)?;
        Ok(())
    }

    /// Starts the election for the Lease `name` (or, without `--leader-elect`, a flag that stays
    /// true while the returned sender lives).
    pub fn start(
        &self,
        client: &Client,
        name: &str,
        clock: Arc<dyn Clock>,
        shutdown: &CancellationToken,
    ) -> Result<Election, String> {
        let (always, always_rx) = watch::channel(true);
        if !self.leader_elect {
            return Ok((always_rx, None, always));
        }
        let base = std::env::var("POD_NAME")
            .or_else(|_| std::env::var("HOSTNAME"))
            .unwrap_or_else(|_| name.to_string());
        let mut lc = LeaderConfig::new(
            own_namespace(self.leader_elect_resource_namespace.as_deref()),
            name,
            unique_identity(&base),
        );
        lc.lease_duration = std_duration("leader-elect-lease-duration", self.leader_elect_lease_duration)?;
        lc.renew_deadline = std_duration("leader-elect-renew-deadline", self.leader_elect_renew_deadline)?;
        lc.retry_period = std_duration("leader-elect-retry-period", self.leader_elect_retry_period)?;
        let elector = LeaderElector::new(client.clone(), lc, clock).map_err(|e| e.to_string())?;
        let rx = elector.subscribe();
        Ok((rx, Some(tokio::spawn(elector.run(shutdown.clone()))), always))
    }
}

/// `flag`, else the pod's namespace (POD_NAMESPACE), else `kube-system`.
pub fn own_namespace(flag: Option<&str>) -> String {
    flag.map(str::to_string)
        .or_else(|| std::env::var("POD_NAMESPACE").ok())
        .unwrap_or_else(|| "kube-system".to_string())
}

/// Log flags.
#[derive(Debug, clap::Args)]
pub struct LogArgs {
    /// `text` or `json`.
    #[arg(long, env = "SWELL_LOG_FORMAT", default_value = "text")]
    log_format: LogFormat,
    /// Log filter in RUST_LOG syntax (e.g. `info,swell_node_autoscaler=debug`).
    #[arg(long, env = "SWELL_LOG_FILTER", default_value = "info")]
    log_filter: String,
}

impl LogArgs {
    /// Installs the subscriber.
    pub fn init(&self) -> Result<(), String> {
        swell_runtime::telemetry::init(self.log_format, &self.log_filter).map_err(|e| e.to_string())
    }
}

/// A positive duration for tokio, or an error naming the flag.
pub fn std_duration(flag: &str, d: jiff::SignedDuration) -> Result<Duration, String> {
    Duration::try_from(d)
        .ok()
        .filter(|d| !d.is_zero())
        .ok_or_else(|| format!("--{flag} must be positive, got {d}"))
}

/// GETs `path` from a running controller's metrics port at `url` and parses the JSON answer; an
/// error answer's `error` field becomes the message.
pub async fn get_json<T: serde::de::DeserializeOwned>(url: &str, path: &str) -> Result<T, String> {
    let uri: http::Uri = url.parse().map_err(|e| format!("invalid --url {url:?}: {e}"))?;
    let client = Client::try_from(kube::Config::new(uri))
        .map_err(|e| format!("failed to build a client for {url}: {e}"))?;
    let request = http::Request::get(path)
        .body(kube::client::Body::empty())
        .map_err(|e| format!("failed to build the request: {e}"))?;
    let response = client
        .send(request)
        .await
        .map_err(|e| format!("failed to get {url}{path}: {e}"))?;
    let status = response.status();
    let body = response
        .into_body()
        .collect_bytes()
        .await
        .map_err(|e| format!("failed to read {url}{path}: {e}"))?;
    if !status.is_success() {
        let message = serde_json::from_slice::<serde_json::Value>(&body)
            .ok()
            .and_then(|v| v["error"].as_str().map(str::to_string))
            .unwrap_or_else(|| String::from_utf8_lossy(&body).into_owned());
        return Err(format!("{url}{path} answered {status}: {message}"));
    }
    serde_json::from_slice(&body).map_err(|e| format!("failed to read the answer of {url}{path}: {e}"))
}

/// A current-thread runtime for the short commands.
pub fn small_runtime() -> Result<tokio::runtime::Runtime, String> {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .map_err(|e| format!("failed to start the async runtime: {e}"))
}
