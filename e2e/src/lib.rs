//! `swell-e2e`: the end-to-end harness the controllers' e2e tests share (DESIGN.md test tier 6).
//!
//! It runs against the cluster the `KUBECONFIG` environment variable names and nothing else: with
//! `KUBECONFIG` unset, [`Harness::start`] prints that the test was skipped and why, and returns
//! `None`. A started harness:
//!
//! - creates a namespace of its own (`swell-e2e-<test>-<suffix>`), deleted by [`Harness::cleanup`];
//! - registers fake nodes ([`nodes`]): Node objects with kwok's annotation, label and taint, Ready,
//!   their status heartbeat and node Lease kept fresh so the node lifecycle controller leaves them be;
//! - plays the kubelet ([`kubelet`]) for pods bound to those nodes only: Running and Ready after a
//!   short start delay, and a deleted pod removed once its grace period has passed. On a cluster that
//!   runs kwok itself, set `SWELL_E2E_KWOK=1` and the harness leaves both nodes and pods to kwok;
//! - serves a small metrics adapter on 127.0.0.1 ([`adapter`]) answering `metrics.k8s.io` PodMetrics
//!   for the namespace's running pods with the CPU usage the test sets; the controller under test is
//!   pointed at it with a direct URL (`--resource-metrics-url`);
//! - detects a second HPA writer ([`writer`]): the tests that need the cluster's built-in HPA
//!   controller off say so when it is on.
//!
//! Workloads that should land on the fake nodes use [`nodes::pod_placement`].

pub mod adapter;
pub mod kubelet;
pub mod nodes;
pub mod writer;

use std::time::Duration;

use k8s_openapi::api::core::v1::Namespace;
use kube::{
    Api, Client,
    api::{DeleteParams, PostParams},
};
use tokio_util::sync::CancellationToken;

/// The harness's errors.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// Building a client from KUBECONFIG failed.
    #[error("failed to build a client from KUBECONFIG: {0}")]
    Client(String),
    /// A call to the cluster failed.
    #[error("failed to {what}: {source}")]
    Api {
        /// What was being done.
        what: String,
        /// The error.
        #[source]
        source: kube::Error,
    },
    /// The metrics adapter could not bind its port.
    #[error("failed to bind the metrics adapter: {0}")]
    Bind(#[source] std::io::Error),
    /// Another controller writes HPA status in this cluster.
    #[error("{0}")]
    SecondWriter(String),
    /// A condition was not reached in time.
    #[error("timed out after {after:?} waiting for {what}")]
    Timeout {
        /// What was awaited.
        what: String,
        /// How long.
        after: Duration,
    },
}

/// `Result` with this crate's [`Error`].
pub type Result<T, E = Error> = std::result::Result<T, E>;

pub(crate) fn api_error(what: impl Into<String>) -> impl FnOnce(kube::Error) -> Error {
    let what = what.into();
    move |source| Error::Api { what, source }
}

/// Why the e2e tests cannot run here, if they cannot.
pub fn skip_reason() -> Option<String> {
    match std::env::var("KUBECONFIG") {
        Ok(v) if !v.is_empty() => None,
        _ => Some("KUBECONFIG is not set: the e2e tests need a cluster to run against".to_string()),
    }
}

/// A running harness: namespace, fake nodes, kubelet, metrics adapter.
pub struct Harness {
    /// A client for the cluster.
    pub client: Client,
    /// The test's namespace.
    pub namespace: String,
    /// The fake nodes' names (empty when kwok plays them).
    pub nodes: Vec<String>,
    /// The metrics adapter.
    pub adapter: adapter::MetricsAdapter,
    stop: CancellationToken,
}

impl std::fmt::Debug for Harness {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Harness")
            .field("namespace", &self.namespace)
            .field("nodes", &self.nodes)
            .field("adapter", &self.adapter)
            .finish_non_exhaustive()
    }
}

impl Harness {
    /// Starts a harness for the test `test` with `node_count` fake nodes, or prints why the test
    /// is skipped and returns `None`.
    pub async fn start(test: &str, node_count: usize) -> Result<Option<Harness>> {
        if let Some(reason) = skip_reason() {
            eprintln!("skipped {test}: {reason}");
            return Ok(None);
        }
        let client = Client::try_default()
            .await
            .map_err(|e| Error::Client(e.to_string()))?;
        let suffix = format!(
            "{:x}",
            std::process::id() ^ (jiff::Timestamp::now().as_second() as u32)
        );
        let namespace = format!("swell-e2e-{test}-{suffix}")
            .to_lowercase()
            .replace('_', "-");
        let ns: Namespace = serde_json::from_value(serde_json::json!({
            "metadata": {"name": namespace, "labels": {"swell-e2e": "true"}}
        }))
        .map_err(|e| Error::Client(e.to_string()))?;
        Api::<Namespace>::all(client.clone())
            .create(&PostParams::default(), &ns)
            .await
            .map_err(api_error(format!("create namespace {namespace}")))?;
        let stop = CancellationToken::new();
        let kwok = std::env::var("SWELL_E2E_KWOK").is_ok_and(|v| v == "1");
        let mut node_names = Vec::new();
        if !kwok {
            for i in 0..node_count {
                let name = format!("{namespace}-node-{i}");
                nodes::register(&client, &name).await?;
                node_names.push(name);
            }
            tokio::spawn(nodes::keep_fresh(
                client.clone(),
                node_names.clone(),
                stop.clone(),
            ));
            tokio::spawn(kubelet::run(
                client.clone(),
                namespace.clone(),
                node_names.clone(),
                kubelet::Timing::default(),
                stop.clone(),
            ));
        }
        let adapter = adapter::MetricsAdapter::start(client.clone(), stop.clone()).await?;
        Ok(Some(Harness {
            client,
            namespace,
            nodes: node_names,
            adapter,
            stop,
        }))
    }

    /// Stops the background tasks and deletes the namespace and the fake nodes.
    pub async fn cleanup(self) {
        self.stop.cancel();
        let _ = Api::<Namespace>::all(self.client.clone())
            .delete(&self.namespace, &DeleteParams::default())
            .await;
        for n in &self.nodes {
            let _ = Api::<k8s_openapi::api::core::v1::Node>::all(self.client.clone())
                .delete(n, &DeleteParams::default())
                .await;
        }
    }
}

/// Polls `check` every second until it returns `Some`, for at most `timeout`.
pub async fn wait_for<T, F, Fut>(what: &str, timeout: Duration, mut check: F) -> Result<T>
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = Option<T>>,
{
    let deadline = tokio::time::Instant::now() + timeout;
    loop {
        if let Some(v) = check().await {
            return Ok(v);
        }
        if tokio::time::Instant::now() >= deadline {
            return Err(Error::Timeout {
                what: what.to_string(),
                after: timeout,
            });
        }
        tokio::time::sleep(Duration::from_secs(1)).await;
    }
}
