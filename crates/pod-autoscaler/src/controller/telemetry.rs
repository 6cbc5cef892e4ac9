//! The controller's Prometheus metrics, registered into the operations server's registry.
//!
//! | name | type | labels |
//! |---|---|---|
//! | `swell_hpa_reconciliations_total` | counter | `result` (`ok`, `error`) |
//! | `swell_hpa_reconcile_duration_seconds` | histogram | |
//! | `swell_hpa_errors_total` | counter | `reason` (upstream's event reason, e.g. `FailedGetResourceMetric`) |
//! | `swell_hpa_metric_fetch_duration_seconds` | histogram | `api` (`resource`, `custom`, `external`) |
//! | `swell_hpa_desired_replicas` | gauge | `namespace`, `name` |
//! | `swell_hpa_shadow_disagreements_total` | counter | `namespace`, `name` |
//! | `swell_hpa_writes_total` | counter | `kind` (`scale`, `status`, `event`) |

use prometheus_client::{
    encoding::EncodeLabelSet,
    metrics::{
        counter::Counter,
        family::Family,
        gauge::Gauge,
        histogram::{Histogram, exponential_buckets},
    },
    registry::Registry,
};

use crate::metrics::{FetchObserver, new_fetch_observer};

/// `result` label.
#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct ResultLabels {
    /// `ok` or `error`.
    pub result: String,
}

/// `reason` label.
#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct ReasonLabels {
    /// An upstream event reason.
    pub reason: String,
}

/// `namespace` and `name` of an HPA.
#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct HpaLabels {
    /// Namespace.
    pub namespace: String,
    /// Name.
    pub name: String,
}

/// `kind` of a write.
#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct WriteLabels {
    /// `scale`, `status` or `event`.
    pub kind: String,
}

/// The controller's metrics. Cloning shares them.
#[derive(Clone, Debug)]
pub struct Telemetry {
    /// Reconciliations by result.
    pub reconciliations: Family<ResultLabels, Counter>,
    /// Reconcile duration.
    pub reconcile_duration: Histogram,
    /// Errors by reason.
    pub errors: Family<ReasonLabels, Counter>,
    /// Metric fetch latency by API.
    pub fetch: FetchObserver,
    /// Desired replicas per HPA.
    pub desired_replicas: Family<HpaLabels, Gauge>,
    /// Shadow-mode disagreements with the built-in controller per HPA.
    pub shadow_disagreements: Family<HpaLabels, Counter>,
    /// Writes by kind.
    pub writes: Family<WriteLabels, Counter>,
}

impl Default for Telemetry {
    fn default() -> Self {
        Self {
            reconciliations: Family::default(),
            reconcile_duration: Histogram::new(exponential_buckets(0.0005, 2.0, 16)),
            errors: Family::default(),
            fetch: new_fetch_observer(),
            desired_replicas: Family::default(),
            shadow_disagreements: Family::default(),
            writes: Family::default(),
        }
    }
}

impl Telemetry {
    /// Registers every metric in `registry`.
    pub fn register(&self, registry: &mut Registry) {
        registry.register(
            "swell_hpa_reconciliations",
            "HPA reconciliations by result",
            self.reconciliations.clone(),
        );
        registry.register(
            "swell_hpa_reconcile_duration_seconds",
            "Duration of one HPA reconcile",
            self.reconcile_duration.clone(),
        );
        registry.register(
            "swell_hpa_errors",
            "HPA reconcile problems by upstream event reason",
            self.errors.clone(),
        );
        registry.register(
            "swell_hpa_metric_fetch_duration_seconds",
            "Latency of metrics API requests by API",
            self.fetch.clone(),
        );
        registry.register(
            "swell_hpa_desired_replicas",
            "Desired replicas of each HPA at its last reconcile",
            self.desired_replicas.clone(),
        );
        registry.register(
            "swell_hpa_shadow_disagreements",
            "Shadow mode: reconciles whose desired replicas differed from the built-in controller's status.desiredReplicas",
            self.shadow_disagreements.clone(),
        );
        registry.register(
            "swell_hpa_writes",
            "Writes to the API server by kind",
            self.writes.clone(),
        );
    }

    pub(crate) fn count_write(&self, kind: &str) {
        self.writes
            .get_or_create(&WriteLabels {
                kind: kind.to_string(),
            })
            .inc();
    }

    pub(crate) fn count_error(&self, reason: &str) {
        self.errors
            .get_or_create(&ReasonLabels {
                reason: reason.to_string(),
            })
            .inc();
    }

    /// Forgets an HPA's per-HPA series (it was deleted).
    pub fn forget(&self, namespace: &str, name: &str) {
        let labels = HpaLabels {
            namespace: namespace.to_string(),
            name: name.to_string(),
        };
        self.desired_replicas.remove(&labels);
        self.shadow_disagreements.remove(&labels);
    }
}
