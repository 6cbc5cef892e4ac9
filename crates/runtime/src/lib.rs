//! `swell-runtime`: the I/O every Swell controller shares, kept out of the decision cores.
//!
//! - [`client`]: a `kube::Client` from `--kubeconfig`/`--context`, or inferred (KUBECONFIG, in-cluster).
//! - [`telemetry`]: tracing initialisation, human text or JSON lines.
//! - [`shutdown`]: SIGTERM and Ctrl-C turned into a cancellation token the controllers select on.
//! - [`server`]: `/healthz`, `/readyz` and `/metrics` on one port, plus the caller's own routes.
//! - [`events`]: a recorder of core/v1 Events with upstream's fields, repeat counting and spam filter.
//! - [`leader`]: Lease leader election with a watch flag that drops the moment leadership is lost.
//! - `testing` (feature `test-util`): a scripted in-process API server for HTTP-level tests.

pub mod client;
pub mod events;
pub mod leader;
pub mod server;
pub mod shutdown;
pub mod telemetry;
#[cfg(any(test, feature = "test-util"))]
pub mod testing;
