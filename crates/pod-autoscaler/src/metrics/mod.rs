//! Where metric samples come from: the [`MetricsSource`] trait, the API clients behind it, and the
//! per-cycle cache that shares resource metrics between the HPAs of a namespace.
//!
//! ```text
//! controller fetch step
//!   -> CycleCache (one per sync cycle; resource metrics once per namespace)
//!        -> MetricsSource (ApiMetricsClient: metrics.k8s.io, custom.metrics.k8s.io, external.metrics.k8s.io,
//!                          each through the aggregation layer or a direct URL; external by name prefix)
//!   -> samples with timestamp and window -> crate::input::{PodSamples, MetricInput}
//! ```
//!
//! The conversions from the wire types follow upstream's `pkg/controller/podautoscaler/metrics`:
//! a pod missing one container's resource usage is dropped from a Resource metric (its usage is the
//! sum over containers); a ContainerResource metric reads that one container and fails when a pod's
//! metrics lack the container; an empty answer is an error ("no metrics returned from ... API").
//! Error messages are upstream's, because they end up in conditions and events.

mod cache;
mod client;
pub mod index;
pub mod types;

use std::{future::Future, sync::Arc};

use jiff::{SignedDuration, Timestamp};
use k8s_openapi::api::autoscaling::v2::CrossVersionObjectReference;
use swell_core::{quantity::Quantity, selector::Selector};

pub use cache::CycleCache;
pub use client::{
    ApiLabels, ApiMetricsClient, Endpoint, EndpointOptions, FetchObserver, MetricsRouting, new_fetch_observer,
};

use crate::input::PodSample;
use types::PodMetrics;

/// Which metrics API a request went to.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum MetricsApi {
    /// `metrics.k8s.io`.
    Resource,
    /// `custom.metrics.k8s.io`.
    Custom,
    /// `external.metrics.k8s.io`.
    External,
}

impl MetricsApi {
    /// A short label: `resource`, `custom`, `external` (Prometheus label values).
    pub fn as_str(&self) -> &'static str {
        match self {
            MetricsApi::Resource => "resource",
            MetricsApi::Custom => "custom",
            MetricsApi::External => "external",
        }
    }
}

impl std::fmt::Display for MetricsApi {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A metrics fetch error. Messages are upstream's (they reach conditions and events).
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// The request failed: transport, or an error status (404 metric unknown, 503 API unavailable).
    #[error("unable to fetch metrics from {api} metrics API: {}", api_message(source))]
    Fetch {
        /// The API.
        api: MetricsApi,
        /// What kube reported (an `Error::Api` carries the HTTP status).
        #[source]
        source: kube::Error,
    },
    /// The response was not the JSON the API defines.
    #[error("unable to fetch metrics from {api} metrics API: failed to decode the response: {source}")]
    Decode {
        /// The API.
        api: MetricsApi,
        /// The decode error.
        #[source]
        source: serde_json::Error,
    },
    /// A value in the response could not be read (a bad quantity or window).
    #[error("unable to fetch metrics from {api} metrics API: invalid {what} {value:?}")]
    InvalidValue {
        /// The API.
        api: MetricsApi,
        /// What the value is (`quantity`, `window`).
        what: &'static str,
        /// The text received.
        value: String,
    },
    /// The API answered with no items.
    #[error("no metrics returned from {api} metrics API")]
    Empty {
        /// The API.
        api: MetricsApi,
    },
    /// A pod's metrics lack the container a ContainerResource metric names.
    #[error(
        "failed to get container metrics: container {container} not present in metrics for pod {namespace}/{pod}"
    )]
    ContainerMissing {
        /// The container.
        container: String,
        /// The pod's namespace.
        namespace: String,
        /// The pod.
        pod: String,
    },
    /// An object metric answered with other than one value.
    #[error(
        "unable to fetch metrics from custom metrics API: the custom metrics API server returned {0} results when we asked for exactly one"
    )]
    NotExactlyOne(usize),
    /// The object kind of an Object metric has no resource in discovery.
    #[error(
        "unable to fetch metrics from custom metrics API: unable to map kind {kind} to resource: {message}"
    )]
    UnknownKind {
        /// `group/Kind`.
        kind: String,
        /// Why.
        message: String,
    },
    /// A direct metrics URL could not be turned into a client.
    #[error("failed to build the metrics client for {url}: {message}")]
    Endpoint {
        /// The URL.
        url: String,
        /// Why.
        message: String,
    },
    /// The error of a namespace-wide fetch shared by several HPAs in one cycle.
    #[error("{0}")]
    Shared(Arc<Error>),
}

/// `Result` with this module's [`Error`].
pub type Result<T, E = Error> = std::result::Result<T, E>;

/// What the server said, as client-go's errors print it: the `Status` message of an error answer
/// (`the server could not find the requested resource`), else the transport error.
pub fn api_message(e: &kube::Error) -> String {
    match e {
        kube::Error::Api(s) if !s.message.is_empty() => s.message.clone(),
        kube::Error::Api(s) => format!("the server responded with status {}", s.code),
        other => other.to_string(),
    }
}

impl Error {
    /// The HTTP status the API answered with, when it answered with an error status.
    pub fn status_code(&self) -> Option<u16> {
        match self {
            Error::Fetch {
                source: kube::Error::Api(s),
                ..
            } => Some(s.code),
            Error::Shared(e) => e.status_code(),
            _ => None,
        }
    }

    /// Whether asking again can help without anyone changing anything: transport errors, error
    /// statuses (an adapter coming up, a metric appearing), empty answers. A kind that does not
    /// map to a resource needs a CRD installed first; retrying it soon does not help.
    pub fn is_retryable(&self) -> bool {
        match self {
            Error::UnknownKind { .. } | Error::Endpoint { .. } => false,
            Error::Shared(e) => e.is_retryable(),
            _ => true,
        }
    }
}

/// One metric value with the time it was taken and the window it covers.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Sample {
    /// Value in milli-units.
    pub value: i64,
    /// End of the window.
    pub timestamp: Timestamp,
    /// The window (upstream's default of one minute when the API does not say).
    pub window: SignedDuration,
}

/// The metrics the pod autoscaler reads, in the shape the APIs serve them (DESIGN.md contract).
///
/// Implementations: [`ApiMetricsClient`] (the real APIs), [`CycleCache`] (shares resource metrics
/// per namespace within one sync cycle), and test fakes.
pub trait MetricsSource: Send + Sync {
    /// `metrics.k8s.io/v1beta1` PodMetrics of the pods in `namespace` matching `selector`, as listed.
    fn pod_metrics(
        &self,
        namespace: &str,
        selector: &Selector,
    ) -> impl Future<Output = Result<Vec<PodMetrics>>> + Send;

    /// A `custom.metrics.k8s.io` metric of every pod in `namespace` matching `selector`, filtered by
    /// `metric_selector`; one sample per pod.
    fn pods_metric(
        &self,
        namespace: &str,
        selector: &Selector,
        metric: &str,
        metric_selector: &Selector,
    ) -> impl Future<Output = Result<Vec<PodSample>>> + Send;

    /// A `custom.metrics.k8s.io` metric describing one object in `namespace`.
    fn object_metric(
        &self,
        namespace: &str,
        object: &CrossVersionObjectReference,
        metric: &str,
        metric_selector: &Selector,
    ) -> impl Future<Output = Result<Sample>> + Send;

    /// Every series of an `external.metrics.k8s.io` metric matching `selector`.
    fn external_metric(
        &self,
        namespace: &str,
        metric: &str,
        selector: &Selector,
    ) -> impl Future<Output = Result<Vec<Sample>>> + Send;

    /// Resource usage per pod (upstream `GetResourceMetric`): the sum over containers, or the one
    /// `container`; in milli-units.
    fn resource_metric(
        &self,
        namespace: &str,
        selector: &Selector,
        resource: &str,
        container: Option<&str>,
    ) -> impl Future<Output = Result<Vec<PodSample>>> + Send {
        async move {
            let items = self.pod_metrics(namespace, selector).await?;
            resource_samples(&items, resource, container)
        }
    }
}

/// Upstream's `getPodMetrics` / `getContainerMetrics` over a PodMetrics list: per pod, the sum of
/// `resource` over its containers (a pod with no containers or missing the resource in one of them
/// is left out), or the usage of the one `container` (a pod whose metrics lack the container fails
/// the whole metric; a container without the resource leaves the pod out).
pub fn resource_samples(
    items: &[PodMetrics],
    resource: &str,
    container: Option<&str>,
) -> Result<Vec<PodSample>> {
    if items.is_empty() {
        return Err(Error::Empty {
            api: MetricsApi::Resource,
        });
    }
    let mut out = Vec::with_capacity(items.len());
    for m in items {
        let window = swell_core::duration::parse_go_duration(&m.window).map_err(|_| Error::InvalidValue {
            api: MetricsApi::Resource,
            what: "window",
            value: m.window.clone(),
        })?;
        let sample = |value| PodSample {
            pod: m.metadata.name.clone(),
            value,
            timestamp: m.timestamp,
            window,
        };
        match container {
            Some(name) => {
                let Some(c) = m.containers.iter().find(|c| c.name == name) else {
                    return Err(Error::ContainerMissing {
                        container: name.to_string(),
                        namespace: m.metadata.namespace.clone(),
                        pod: m.metadata.name.clone(),
                    });
                };
                if let Some(q) = c.usage.get(resource) {
                    out.push(sample(milli(q, MetricsApi::Resource)?));
                }
            }
            None => {
                if m.containers.is_empty() {
                    continue;
                }
                let mut sum: i64 = 0;
                let mut missing = false;
                for c in &m.containers {
                    match c.usage.get(resource) {
                        Some(q) => sum = sum.saturating_add(milli(q, MetricsApi::Resource)?),
                        None => {
                            missing = true;
                            break;
                        }
                    }
                }
                if !missing {
                    out.push(sample(sum));
                }
            }
        }
    }
    Ok(out)
}

/// A quantity string in milli-units.
pub(crate) fn milli(text: &str, api: MetricsApi) -> Result<i64> {
    Quantity::parse(text.trim())
        .map(|q| q.milli_value())
        .map_err(|_| Error::InvalidValue {
            api,
            what: "quantity",
            value: text.to_string(),
        })
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeMap;

    use super::types::{ContainerMetrics, PodMetricsMeta};
    use super::*;

    fn pod(name: &str, containers: &[(&str, &[(&str, &str)])]) -> PodMetrics {
        PodMetrics {
            metadata: PodMetricsMeta {
                name: name.into(),
                namespace: "ns".into(),
                labels: BTreeMap::new(),
            },
            timestamp: Timestamp::UNIX_EPOCH,
            window: "30s".into(),
            containers: containers
                .iter()
                .map(|(c, usage)| ContainerMetrics {
                    name: (*c).into(),
                    usage: usage.iter().map(|(k, v)| ((*k).into(), (*v).into())).collect(),
                })
                .collect(),
        }
    }

    #[test]
    fn a_resource_metric_sums_containers_and_drops_pods_missing_one() {
        let items = [
            pod("a", &[("app", &[("cpu", "300m")]), ("side", &[("cpu", "200m")])]),
            pod("b", &[("app", &[("cpu", "1")]), ("side", &[("memory", "1Mi")])]),
            pod("c", &[]),
        ];
        let got = resource_samples(&items, "cpu", None).unwrap();
        assert_eq!(got.len(), 1);
        assert_eq!((got[0].pod.as_str(), got[0].value), ("a", 500));
        assert_eq!(got[0].window, SignedDuration::from_secs(30));
    }

    #[test]
    fn a_container_metric_reads_one_container_and_fails_when_a_pod_lacks_it() {
        let items = [
            pod("a", &[("app", &[("cpu", "300m")]), ("side", &[("cpu", "200m")])]),
            pod("b", &[("app", &[("memory", "1Mi")])]),
        ];
        let got = resource_samples(&items, "cpu", Some("app")).unwrap();
        assert_eq!(
            got.iter().map(|s| (s.pod.as_str(), s.value)).collect::<Vec<_>>(),
            [("a", 300)]
        );

        let err = resource_samples(&items, "cpu", Some("side")).unwrap_err();
        assert_eq!(
            err.to_string(),
            "failed to get container metrics: container side not present in metrics for pod ns/b"
        );
    }

    #[test]
    fn an_empty_list_and_a_bad_quantity_are_errors() {
        assert_eq!(
            resource_samples(&[], "cpu", None).unwrap_err().to_string(),
            "no metrics returned from resource metrics API"
        );
        let items = [pod("a", &[("app", &[("cpu", "lots")])])];
        assert!(matches!(
            resource_samples(&items, "cpu", None),
            Err(Error::InvalidValue { what: "quantity", .. })
        ));
    }
}
