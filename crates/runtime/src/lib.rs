//! `swell-runtime`: the I/O every Swell controller shares, kept out of the decision cores.
//!
//! - [`client`]: a `kube::Client` from `--kubeconfig`/`--context`, or inferred (KUBECONFIG, in-cluster).
//! - [`telemetry`]: tracing initialisation, human text or JSON lines.
//! - [`shutdown`]: SIGTERM and Ctrl-C turned into a cancellation token the controllers select on.
//! - [`server`]: `/healthz`, `/readyz` and `/metrics` on one port, plus the caller's own routes.
//! - [`events`]: a recorder of core/v1 Events with upstream's fields, repeat counting and spam filter.
//! - [`leader`]: Lease leader election with a watch flag that drops the moment leadership is lost.
//! - `testing` (feature `test-util`): a scripted in-process API server for HTTP-level tests.
//!
//! How a controller's `main` wires them (the binary parses the flags into these values):
//!
//! ```no_run
//! use std::sync::Arc;
//!
//! use swell_core::clock::{Clock, SystemClock};
//! use swell_runtime::{client, events, leader, server, shutdown, telemetry};
//!
//! # async fn main_() -> Result<(), Box<dyn std::error::Error>> {
//! telemetry::init(telemetry::LogFormat::Json, "info")?;
//! let kube = client::client(&client::ClientOptions::default()).await?;
//! let clock: Arc<dyn Clock> = Arc::new(SystemClock);
//!
//! let stop = shutdown::CancellationToken::new();
//! shutdown::cancel_on_signal(stop.clone())?;
//!
//! let readiness = server::Readiness::new();
//! let registry = prometheus_client::registry::Registry::default(); // metrics registered here
//! let addr = "0.0.0.0:8080".parse()?;
//! let ops = server::Server::bind(addr, readiness.clone(), Arc::new(registry), axum::Router::new()).await?;
//! let ops = tokio::spawn(ops.serve(stop.clone().cancelled_owned()));
//!
//! let identity = leader::unique_identity("swell-pod-autoscaler-0");
//! let config = leader::LeaderConfig::new("kube-system", "swell-pod-autoscaler", identity);
//! let elector = leader::LeaderElector::new(kube.clone(), config, clock.clone())?;
//! let leading = elector.subscribe(); // check `*leading.borrow()` before every write
//! let election = tokio::spawn(elector.run(stop.clone()));
//!
//! let reporter = events::Reporter { component: "horizontal-pod-autoscaler".into(), instance: None };
//! let recorder = events::Recorder::new(kube.clone(), reporter, clock.clone());
//!
//! // ... start the controller with `kube`, `recorder`, `leading` and `stop`;
//! // `readiness.set_ready(true)` once its caches have synced.
//! # drop((leading, recorder));
//!
//! stop.cancelled().await;
//! election.await?; // released the Lease if it held it
//! ops.await??;
//! # Ok(())
//! # }
//! ```

pub mod client;
pub mod events;
pub mod leader;
pub mod server;
pub mod shutdown;
pub mod telemetry;
#[cfg(any(test, feature = "test-util"))]
pub mod testing;
