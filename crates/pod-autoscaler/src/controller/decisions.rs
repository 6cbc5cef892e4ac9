//! The last decision of every HPA, with its explanation, served as JSON on the metrics port.
//!
//! - `GET /decisions`: every HPA's last record, sorted by namespace and name.
//! - `GET /decisions/{namespace}/{name}`: one record, or 404.
//!
//! `swell explain hpa` reads the second route and prints its `text` for a person.

use std::{
    collections::BTreeMap,
    sync::{
        Arc, PoisonError, RwLock,
        atomic::{AtomicBool, Ordering},
    },
};

use axum::{
    Json, Router,
    extract::{Path, State},
    http::StatusCode,
    response::{IntoResponse, Response},
    routing::get,
};
use jiff::Timestamp;
use serde::{Deserialize, Serialize};

use crate::{
    decide::{Decision, Explanation},
    explain,
    input::HpaKey,
    status::Event,
};

/// One HPA's last reconcile, as published.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct DecisionRecord {
    /// Namespace.
    pub namespace: String,
    /// Name.
    pub name: String,
    /// `active` or `shadow`.
    pub mode: String,
    /// When it was decided.
    pub time: Timestamp,
    /// `scale.spec.replicas` when read (0 when the scale could not be read).
    pub current_replicas: i32,
    /// What the controller decided (or, in shadow mode, would have written).
    pub desired_replicas: i32,
    /// Whether the decision was to write the scale.
    pub rescale: bool,
    /// Why.
    pub rescale_reason: String,
    /// Whether the scale subresource was written.
    pub scale_written: bool,
    /// Whether the status was written.
    pub status_written: bool,
    /// The built-in controller's `status.desiredReplicas` (shadow mode).
    pub builtin_desired_replicas: Option<i32>,
    /// The reconcile's error, if any.
    pub error: Option<String>,
    /// The events of the reconcile (recorded in active mode, only published in shadow mode).
    pub events: Vec<Event>,
    /// The numbers behind the decision; absent when no decision could be made (invalid spec,
    /// unreadable scale).
    pub explanation: Option<Explanation>,
    /// The decision explained for a person.
    pub text: String,
    /// The decision itself, kept so that `explanation` and `text` are produced when someone asks
    /// rather than on every reconcile (see [`DecisionStore::get`]).
    #[serde(skip)]
    pub decision: Option<Arc<Decision>>,
}

impl DecisionRecord {
    /// The record with `explanation` and `text` filled in from the kept decision.
    fn materialized(&self) -> DecisionRecord {
        let mut r = self.clone();
        if let Some(d) = r.decision.take() {
            r.explanation = Some(d.explanation.clone());
            r.text = explain::render(&d);
        }
        r
    }
}

/// The records, shared between the controller and the HTTP routes.
#[derive(Clone, Debug, Default)]
pub struct DecisionStore {
    records: Arc<RwLock<BTreeMap<HpaKey, DecisionRecord>>>,
    standby: Arc<AtomicBool>,
}

impl DecisionStore {
    /// Marks this replica as standing by (not the leader, so deciding nothing) or not; a 404 then
    /// says to ask the leader.
    pub fn set_standby(&self, standby: bool) {
        self.standby.store(standby, Ordering::Relaxed);
    }

    /// Whether this replica stands by.
    pub fn is_standby(&self) -> bool {
        self.standby.load(Ordering::Relaxed)
    }

    /// Stores `record` as the last of its HPA.
    pub fn insert(&self, record: DecisionRecord) {
        let key = HpaKey::new(record.namespace.clone(), record.name.clone());
        self.records
            .write()
            .unwrap_or_else(PoisonError::into_inner)
            .insert(key, record);
    }

    /// Forgets an HPA.
    pub fn remove(&self, key: &HpaKey) {
        self.records
            .write()
            .unwrap_or_else(PoisonError::into_inner)
            .remove(key);
    }

    /// One HPA's last record, with its explanation and text.
    pub fn get(&self, key: &HpaKey) -> Option<DecisionRecord> {
        self.records
            .read()
            .unwrap_or_else(PoisonError::into_inner)
            .get(key)
            .map(DecisionRecord::materialized)
    }

    /// Every record, sorted by namespace and name, with explanations and texts.
    pub fn list(&self) -> Vec<DecisionRecord> {
        self.records
            .read()
            .unwrap_or_else(PoisonError::into_inner)
            .values()
            .map(DecisionRecord::materialized)
            .collect()
    }

    /// The `/decisions` routes, to merge into the operations server.
    pub fn router(&self) -> Router {
        Router::new()
            .route("/decisions", get(list))
            .route("/decisions/{namespace}/{name}", get(one))
            .with_state(self.clone())
    }
}

async fn list(State(store): State<DecisionStore>) -> Json<Vec<DecisionRecord>> {
    Json(store.list())
}

async fn one(
    State(store): State<DecisionStore>,
    Path((namespace, name)): Path<(String, String)>,
) -> Response {
    match store.get(&HpaKey::new(namespace.clone(), name.clone())) {
        Some(r) => Json(r).into_response(),
        None => {
            let why = if store.is_standby() {
                "this replica is standing by and decides nothing; ask the leader (the holder of the Lease)"
            } else {
                "the HPA is unknown, not owned by this controller, or not reconciled yet"
            };
            (
                StatusCode::NOT_FOUND,
                Json(serde_json::json!({"error": format!("no decision for {namespace}/{name}: {why}")})),
            )
                .into_response()
        }
    }
}
