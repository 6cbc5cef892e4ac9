//! The operations port: `/healthz`, `/readyz` and `/metrics`, plus the caller's own routes.
//!
//! - `/healthz` answers 200 `ok` for as long as the process serves HTTP: the liveness probe.
//! - `/readyz` answers 503 until the controller marks its [`Readiness`] (once its caches have synced),
//!   then 200; it can be marked unready again. The readiness probe.
//! - `/metrics` renders the shared prometheus-client [`Registry`] in the text exposition format.
//!   Metrics are registered before the server starts; their values are atomics updated in place.
//! - Anything else comes from the `extra` router the caller passes (the pod autoscaler's
//!   `/decisions`). Its paths must not repeat the three above (axum panics on overlapping routes).
//!
//! [`Server::bind`] binds first and [`Server::serve`] runs until the shutdown future resolves, so a
//! caller can bind port 0, read [`Server::local_addr`], and then serve.

use std::future::Future;
use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

use axum::Router;
use axum::extract::State;
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use prometheus_client::registry::Registry;

/// What went wrong with the operations server.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// The address is taken or not ours to bind. Retrying helps only if the other process goes away.
    #[error("failed to bind the metrics server to {addr}: {source}")]
    Bind {
        /// The address asked for.
        addr: SocketAddr,
        /// The I/O error.
        #[source]
        source: std::io::Error,
    },
    /// The listener failed while serving.
    #[error("failed to serve http: {0}")]
    Serve(#[source] std::io::Error),
}

/// A `Result` with this module's [`Error`].
pub type Result<T, E = Error> = std::result::Result<T, E>;

/// The ready flag behind `/readyz`, shared between the controller that sets it and the server.
///
/// Clones share one flag. It starts not ready.
#[derive(Clone, Debug, Default)]
pub struct Readiness(Arc<AtomicBool>);

impl Readiness {
    /// A new flag, not ready.
    pub fn new() -> Self {
        Readiness::default()
    }

    /// Marks the process ready (or, with `false`, not ready any more).
    pub fn set_ready(&self, ready: bool) {
        self.0.store(ready, Ordering::Release);
    }

    /// Whether `/readyz` currently answers 200.
    pub fn is_ready(&self) -> bool {
        self.0.load(Ordering::Acquire)
    }
}

/// The content type prometheus-client's text encoder produces (OpenMetrics 1.0, which Prometheus
/// scrapes natively).
pub const METRICS_CONTENT_TYPE: &str = "application/openmetrics-text; version=1.0.0; charset=utf-8";

#[derive(Clone)]
struct OpsState {
    readiness: Readiness,
    registry: Arc<Registry>,
}

/// The router with the three operations routes merged with `extra`.
pub fn router(readiness: Readiness, registry: Arc<Registry>, extra: Router) -> Router {
    Router::new()
        .route("/healthz", get(healthz))
        .route("/readyz", get(readyz))
        .route("/metrics", get(metrics))
        .with_state(OpsState { readiness, registry })
        .merge(extra)
}

async fn healthz() -> &'static str {
    "ok"
}

async fn readyz(State(state): State<OpsState>) -> Response {
    if state.readiness.is_ready() {
        (StatusCode::OK, "ok").into_response()
    } else {
        (StatusCode::SERVICE_UNAVAILABLE, "not ready").into_response()
    }
}

async fn metrics(State(state): State<OpsState>) -> Response {
    let mut body = String::new();
    match prometheus_client::encoding::text::encode(&mut body, &state.registry) {
        Ok(()) => ([(header::CONTENT_TYPE, METRICS_CONTENT_TYPE)], body).into_response(),
        Err(err) => {
            tracing::error!(error = %err, "failed to encode metrics");
            (StatusCode::INTERNAL_SERVER_ERROR, "failed to encode metrics").into_response()
        }
    }
}

/// A bound, not yet serving, operations server.
#[derive(Debug)]
pub struct Server {
    listener: tokio::net::TcpListener,
    local_addr: SocketAddr,
    router: Router,
}

impl Server {
    /// Binds `addr` (port 0 picks a free port) for the routes of [`router`].
    pub async fn bind(
        addr: SocketAddr,
        readiness: Readiness,
        registry: Arc<Registry>,
        extra: Router,
    ) -> Result<Self> {
        let bind_error = |source| Error::Bind { addr, source };
        let listener = tokio::net::TcpListener::bind(addr).await.map_err(bind_error)?;
        let local_addr = listener.local_addr().map_err(bind_error)?;
        Ok(Server {
            listener,
            local_addr,
            router: router(readiness, registry, extra),
        })
    }

    /// The address actually bound (the chosen port when 0 was asked for).
    pub fn local_addr(&self) -> SocketAddr {
        self.local_addr
    }

    /// Serves until `shutdown` resolves, then stops accepting and waits for in-flight requests.
    pub async fn serve<F>(self, shutdown: F) -> Result<()>
    where
        F: Future<Output = ()> + Send + 'static,
    {
        tracing::info!(addr = %self.local_addr, "serving /healthz, /readyz and /metrics");
        axum::serve(self.listener, self.router)
            .with_graceful_shutdown(shutdown)
            .await
            .map_err(Error::Serve)
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used)]

    use std::time::Duration;

    use prometheus_client::metrics::counter::Counter;
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    use tokio_util::sync::CancellationToken;

    use super::*;

    /// One HTTP/1.1 GET over a fresh connection; returns (status, content type, body).
    async fn http_get(addr: SocketAddr, path: &str) -> (u16, String, String) {
        let mut stream = tokio::net::TcpStream::connect(addr).await.unwrap();
        let request = format!("GET {path} HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\n\r\n");
        stream.write_all(request.as_bytes()).await.unwrap();
        let mut raw = String::new();
        stream.read_to_string(&mut raw).await.unwrap();
        let (head, body) = raw.split_once("\r\n\r\n").unwrap();
        let status = head.split(' ').nth(1).unwrap().parse().unwrap();
        let content_type = head
            .lines()
            .find_map(|l| {
                l.to_ascii_lowercase()
                    .strip_prefix("content-type: ")
                    .map(str::to_owned)
            })
            .unwrap_or_default();
        (status, content_type, body.to_owned())
    }

    struct Running {
        addr: SocketAddr,
        readiness: Readiness,
        counter: Counter,
        stop: CancellationToken,
        task: tokio::task::JoinHandle<Result<()>>,
    }

    async fn start() -> Running {
        let mut registry = Registry::default();
        let counter = Counter::<u64>::default();
        registry.register(
            "swell_test_reconciliations",
            "Reconciliations done",
            counter.clone(),
        );
        let readiness = Readiness::new();
        let extra = Router::new().route("/decisions", get(|| async { "[]" }));
        let server = Server::bind(
            "127.0.0.1:0".parse().unwrap(),
            readiness.clone(),
            Arc::new(registry),
            extra,
        )
        .await
        .unwrap();
        let addr = server.local_addr();
        assert_ne!(addr.port(), 0);
        let stop = CancellationToken::new();
        let shutdown = stop.clone().cancelled_owned();
        let task = tokio::spawn(server.serve(shutdown));
        Running {
            addr,
            readiness,
            counter,
            stop,
            task,
        }
    }

    #[tokio::test]
    async fn healthz_is_ok_while_running() {
        let server = start().await;
        assert_eq!(http_get(server.addr, "/healthz").await.0, 200);
        assert_eq!(http_get(server.addr, "/healthz").await.2, "ok");
    }

    #[tokio::test]
    async fn readyz_is_unavailable_until_marked_ready_and_again_when_unmarked() {
        let server = start().await;
        assert_eq!(http_get(server.addr, "/readyz").await.0, 503);
        server.readiness.set_ready(true);
        assert_eq!(http_get(server.addr, "/readyz").await.0, 200);
        server.readiness.set_ready(false);
        assert_eq!(http_get(server.addr, "/readyz").await.0, 503);
    }

    #[tokio::test]
    async fn metrics_renders_the_registry_with_current_values() {
        let server = start().await;
        server.counter.inc_by(7);
        let (status, content_type, body) = http_get(server.addr, "/metrics").await;
        assert_eq!(status, 200);
        assert_eq!(content_type, METRICS_CONTENT_TYPE);
        assert!(
            body.contains("# HELP swell_test_reconciliations Reconciliations done."),
            "{body}"
        );
        assert!(body.contains("swell_test_reconciliations_total 7\n"), "{body}");
        assert!(body.ends_with("# EOF\n"), "{body}");
    }

    #[tokio::test]
    async fn extra_routes_are_served_and_unknown_paths_are_not_found() {
        let server = start().await;
        assert_eq!(
            http_get(server.addr, "/decisions").await,
            (200, "text/plain; charset=utf-8".into(), "[]".into())
        );
        assert_eq!(http_get(server.addr, "/nope").await.0, 404);
    }

    #[tokio::test]
    async fn serve_returns_after_the_shutdown_future_and_the_port_closes() {
        let server = start().await;
        assert_eq!(http_get(server.addr, "/healthz").await.0, 200);
        server.stop.cancel();
        // A deadline against a hang only: shutdown with no open connection is immediate.
        tokio::time::timeout(Duration::from_secs(10), server.task)
            .await
            .unwrap()
            .unwrap()
            .unwrap();
        assert!(tokio::net::TcpStream::connect(server.addr).await.is_err());
    }

    #[tokio::test]
    async fn binding_a_taken_port_is_an_error_naming_the_address() {
        let server = start().await;
        let err = Server::bind(
            server.addr,
            Readiness::new(),
            Arc::new(Registry::default()),
            Router::new(),
        )
        .await
        .unwrap_err();
        assert!(matches!(err, Error::Bind { .. }), "{err:?}");
        assert!(
            err.to_string()
                .starts_with(&format!("failed to bind the metrics server to {}", server.addr))
        );
    }
}
