//! A small resource metrics adapter served on 127.0.0.1: `GET
//! /apis/metrics.k8s.io/v1beta1/namespaces/{ns}/pods[?labelSelector=...]` answers a PodMetricsList
//! for the namespace's Running pods, every container using the CPU the test set with
//! [`MetricsAdapter::set_cpu_milli`]. The controller under test reaches it with a direct URL
//! (`--resource-metrics-url`), so no APIService has to be registered in the cluster.

use std::{
    collections::HashMap,
    net::SocketAddr,
    sync::{
        Arc,
        atomic::{AtomicI64, Ordering},
    },
};

use axum::{
    Json, Router,
    extract::{Path, Query, State},
    http::StatusCode,
    response::{IntoResponse, Response},
    routing::get,
};
use k8s_openapi::api::core::v1::Pod;
use kube::{Api, Client, api::ListParams};
use serde_json::{Value, json};
use swell_core::selector::Selector;
use tokio_util::sync::CancellationToken;

use crate::{Error, Result};

#[derive(Clone)]
struct AdapterState {
    client: Client,
    cpu_milli: Arc<AtomicI64>,
}

/// The running adapter.
#[derive(Clone, Debug)]
pub struct MetricsAdapter {
    addr: SocketAddr,
    cpu_milli: Arc<AtomicI64>,
}

impl MetricsAdapter {
    /// Binds 127.0.0.1 on a free port and serves until `stop`; pods are read through `client`.
    pub async fn start(client: Client, stop: CancellationToken) -> Result<Self> {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .map_err(Error::Bind)?;
        let addr = listener.local_addr().map_err(Error::Bind)?;
        let cpu_milli = Arc::new(AtomicI64::new(0));
        let router = Router::new()
            .route(
                "/apis/metrics.k8s.io/v1beta1/namespaces/{namespace}/pods",
                get(pod_metrics),
            )
            .with_state(AdapterState {
                client,
                cpu_milli: cpu_milli.clone(),
            });
        tokio::spawn(async move {
            let served = axum::serve(listener, router)
                .with_graceful_shutdown(stop.cancelled_owned())
                .await;
            if let Err(e) = served {
                tracing::warn!(error = %e, "metrics adapter stopped");
            }
        });
        Ok(Self { addr, cpu_milli })
    }

    /// The base URL to give the controller (`http://127.0.0.1:<port>`).
    pub fn url(&self) -> String {
        format!("http://{}", self.addr)
    }

    /// Sets the CPU usage every container of every running pod reports, in millicores.
    pub fn set_cpu_milli(&self, milli: i64) {
        self.cpu_milli.store(milli, Ordering::SeqCst);
    }
}

async fn pod_metrics(
    State(state): State<AdapterState>,
    Path(namespace): Path<String>,
    Query(query): Query<HashMap<String, String>>,
) -> Response {
    let selector = match query.get("labelSelector").map(|s| Selector::parse(s)) {
        None => Selector::everything(),
        Some(Ok(s)) => s,
        Some(Err(e)) => return (StatusCode::BAD_REQUEST, e.to_string()).into_response(),
    };
    let pods = match Api::<Pod>::namespaced(state.client.clone(), &namespace)
        .list(&ListParams::default())
        .await
    {
        Ok(list) => list.items,
        Err(e) => return (StatusCode::SERVICE_UNAVAILABLE, e.to_string()).into_response(),
    };
    let cpu = state.cpu_milli.load(Ordering::SeqCst);
    Json(pod_metrics_list(&pods, &selector, cpu, jiff::Timestamp::now())).into_response()
}

/// The PodMetricsList for `pods`: Running pods matching `selector`, each container at `cpu_milli`.
pub fn pod_metrics_list(pods: &[Pod], selector: &Selector, cpu_milli: i64, now: jiff::Timestamp) -> Value {
    let now = jiff::Timestamp::from_second(now.as_second()).unwrap_or(jiff::Timestamp::UNIX_EPOCH);
    let items: Vec<Value> = pods
        .iter()
        .filter(|p| p.status.as_ref().and_then(|s| s.phase.as_deref()) == Some("Running"))
        .filter(|p| p.metadata.deletion_timestamp.is_none())
        .filter(|p| selector.matches(p.metadata.labels.as_ref().unwrap_or(&Default::default())))
        .map(|p| {
            let containers: Vec<Value> = p
                .spec
                .iter()
                .flat_map(|s| s.containers.iter())
                .map(|c| json!({"name": c.name, "usage": {"cpu": format!("{cpu_milli}m"), "memory": "10Mi"}}))
                .collect();
            json!({"metadata": {"name": p.metadata.name, "namespace": p.metadata.namespace,
                                "labels": p.metadata.labels.clone().unwrap_or_default()},
                   "timestamp": now.to_string(), "window": "30s", "containers": containers})
        })
        .collect();
    json!({"kind": "PodMetricsList", "apiVersion": "metrics.k8s.io/v1beta1", "metadata": {}, "items": items})
}
