//! The last loop's plan and its explanation, served as JSON on the metrics port.
//!
//! - `GET /decisions`: the whole last loop (plan, explanation text, caveats, skipped objects).
//! - `GET /decisions/nodes/{name}`: one node's verdict, or 404.
//! - `GET /decisions/pods/{namespace}/{name}`: one pending pod's verdict, or 404.
//!
//! `swell explain node` and `swell explain pod` read the last two and print their `text`.

use std::{
    collections::BTreeMap,
    sync::{Arc, PoisonError, RwLock},
};

use axum::{
    Json, Router,
    extract::{Path, State},
    http::StatusCode,
    response::{IntoResponse, Response},
    routing::get,
};
use jiff::Timestamp;
use serde::Serialize;
use serde_json::{Value, json};

use crate::{explain, plan::Plan};

/// One loop, as published.
#[derive(Clone, Debug, Serialize)]
pub struct LoopRecord {
    /// When the loop ran.
    pub time: Timestamp,
    /// Whether the controller runs with `--dry-run` (nothing acted on).
    pub dry_run: bool,
    /// The plan with every pod's and node's explanation.
    pub plan: Plan,
    /// The plan in words.
    pub text: String,
    /// What the simulation does not model about some pending pods.
    pub caveats: BTreeMap<String, Vec<String>>,
    /// Objects left out of the snapshot, with why.
    pub skipped: Vec<String>,
    /// What acting on the plan did (and what failed).
    pub actions: Vec<String>,
}

/// The last loop's record, shared between the loop and the HTTP handlers.
#[derive(Clone, Debug, Default)]
pub struct DecisionStore(Arc<RwLock<Option<Arc<LoopRecord>>>>);

impl DecisionStore {
    /// Publishes a loop.
    pub fn publish(&self, record: LoopRecord) {
        *self.0.write().unwrap_or_else(PoisonError::into_inner) = Some(Arc::new(record));
    }

    /// The last loop, if any.
    pub fn last(&self) -> Option<Arc<LoopRecord>> {
        self.0.read().unwrap_or_else(PoisonError::into_inner).clone()
    }

    /// One node's verdict as JSON (`node`, `group`, `utilization`, `outcome`, `text`).
    pub fn node(&self, name: &str) -> Option<Value> {
        let last = self.last()?;
        let n = last.plan.node(name)?;
        Some(json!({
            "time": last.time,
            "node": n.node,
            "group": n.group,
            "utilization": n.utilization,
            "outcome": n.outcome,
            "text": format!(
                "node {} (group {}, utilization {:.3}): {}",
                n.node,
                n.group.as_deref().unwrap_or("none"),
                n.utilization,
                explain::node_outcome(&n.outcome)
            ),
        }))
    }

    /// One pending pod's verdict as JSON (`pod`, `outcome`, `caveats`, `text`).
    pub fn pod(&self, key: &str) -> Option<Value> {
        let last = self.last()?;
        let p = last.plan.pod(key)?;
        let caveats = last.caveats.get(key).cloned().unwrap_or_default();
        let mut text = format!("pod {}: {}", p.pod, explain::pod_outcome(&p.outcome));
        for c in &caveats {
            text.push_str(&format!("\nnot modelled: {c}"));
        }
        Some(json!({
            "time": last.time,
            "pod": p.pod,
            "outcome": p.outcome,
            "caveats": caveats,
            "text": text,
        }))
    }

    /// The routes.
    pub fn router(&self) -> Router {
        Router::new()
            .route("/decisions", get(all))
            .route("/decisions/nodes/{name}", get(one_node))
            .route("/decisions/pods/{namespace}/{name}", get(one_pod))
            .with_state(self.clone())
    }
}

fn not_found(what: String) -> Response {
    (StatusCode::NOT_FOUND, Json(json!({ "error": what }))).into_response()
}

async fn all(State(store): State<DecisionStore>) -> Response {
    match store.last() {
        Some(r) => Json(r.as_ref().clone()).into_response(),
        None => not_found("no loop has run yet".into()),
    }
}

async fn one_node(State(store): State<DecisionStore>, Path(name): Path<String>) -> Response {
    match store.node(&name) {
        Some(v) => Json(v).into_response(),
        None => not_found(format!(
            "node {name} is not in the last plan (not autoscaled, or no loop yet)"
        )),
    }
}

async fn one_pod(
    State(store): State<DecisionStore>,
    Path((namespace, name)): Path<(String, String)>,
) -> Response {
    let key = format!("{namespace}/{name}");
    match store.pod(&key) {
        Some(v) => Json(v).into_response(),
        None => not_found(format!("pod {key} was not pending in the last loop")),
    }
}
