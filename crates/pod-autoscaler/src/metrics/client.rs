//! The HTTP clients of the three metrics APIs, with upstream's paths and query parameters, and the
//! routing of each API to the aggregation layer or to a direct URL.
//!
//! Paths (as client-go's metrics clients build them; empty selectors are left out):
//!
//! ```text
//! resource  GET /apis/metrics.k8s.io/v1beta1/namespaces/{ns}/pods?labelSelector={sel}
//! pods      GET /apis/custom.metrics.k8s.io/{v}/namespaces/{ns}/pods/*/{metric}?labelSelector={sel}&metricLabelSelector={msel}
//! object    GET /apis/custom.metrics.k8s.io/{v}/namespaces/{ns}/{resource[.group]}/{name}/{metric}?metricLabelSelector={msel}
//! namespace GET /apis/custom.metrics.k8s.io/{v}/namespaces/{ns}/metrics/{metric}?metricLabelSelector={msel}
//! external  GET /apis/external.metrics.k8s.io/v1beta1/namespaces/{ns}/{metric}?labelSelector={sel}
//! ```
//!
//! `{v}` is the custom metrics API's preferred version from discovery (`GET /apis/custom.metrics.k8s.io`),
//! v1beta2 or v1beta1, refreshed once per `version_ttl` as upstream re-reads discovery each resync.
//! An Object metric's kind is mapped to its resource through discovery on the API server.

use std::{
    path::PathBuf,
    sync::{Arc, Mutex},
    time::Duration,
};

use http::Request;
use k8s_openapi::{
    api::autoscaling::v2::CrossVersionObjectReference, apimachinery::pkg::apis::meta::v1::APIGroup,
};
use kube::{
    Client,
    api::GroupVersionKind,
    config::{
        AuthInfo, Cluster, Config, Context, KubeConfigOptions, Kubeconfig, NamedAuthInfo, NamedCluster,
        NamedContext,
    },
};
use prometheus_client::{
    encoding::EncodeLabelSet,
    metrics::{family::Family, histogram::Histogram},
};
use serde::de::DeserializeOwned;
use swell_core::selector::Selector;
use tokio::time::Instant;

use super::{
    Error, MetricsApi, MetricsSource, Result, Sample, milli,
    types::{ExternalMetricValueList, MetricValueList, PodMetrics, PodMetricsList},
};
use crate::input::PodSample;

/// Labels of the fetch latency histogram: the API (`resource`, `custom`, `external`).
#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct ApiLabels {
    /// The API.
    pub api: String,
}

/// Fetch latency by API, in seconds (registered by the controller as
/// `swell_hpa_metric_fetch_duration_seconds`).
pub type FetchObserver = Family<ApiLabels, Histogram, fn() -> Histogram>;

/// The buckets of [`FetchObserver`]: 1 ms to about 8 s.
pub fn new_fetch_observer() -> FetchObserver {
    fn histogram() -> Histogram {
        Histogram::new(prometheus_client::metrics::histogram::exponential_buckets(
            0.001, 2.0, 14,
        ))
    }
    Family::new_with_constructor(histogram as fn() -> Histogram)
}

/// A direct URL for one metrics API (instead of the API server's aggregation layer).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct EndpointOptions {
    /// Base URL, e.g. `https://metrics-server.kube-system.svc:443`; the API paths are appended.
    pub url: String,
    /// PEM file with the CA bundle that signed the server's certificate (system roots otherwise).
    pub ca_file: Option<PathBuf>,
    /// File holding a bearer token, re-read as it changes (a projected service account token).
    pub token_file: Option<PathBuf>,
}

/// Where one API's requests go.
#[derive(Clone)]
pub struct Endpoint {
    client: Client,
    target: String,
}

impl std::fmt::Debug for Endpoint {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Endpoint").field("target", &self.target).finish()
    }
}

impl Endpoint {
    /// Through the API server (the aggregation layer), with the controller's own client.
    pub fn aggregated(client: Client) -> Self {
        Self {
            client,
            target: "aggregation layer".to_string(),
        }
    }

    /// Straight to a metrics server at `opts.url`. Call inside a tokio runtime.
    ///
    /// The options go through kube's kubeconfig loading (`certificate-authority`, `tokenFile`), the
    /// path every kubeconfig user takes; the CA file is then also watched for rotation, as kube does
    /// for the in-cluster CA.
    pub async fn direct(opts: &EndpointOptions) -> Result<Self> {
        let fail = |message: String| Error::Endpoint {
            url: opts.url.clone(),
            message,
        };
        if let Some(path) = &opts.token_file {
            // kube sends the file's bytes as they are: a trailing newline (`echo token > file`)
            // would fail every request with an invalid header, so say so now.
            let token = std::fs::read_to_string(path)
                .map_err(|e| fail(format!("failed to read the token file {}: {e}", path.display())))?;
            if token.trim() != token || token.is_empty() {
                return Err(fail(format!(
                    "the token file {} is empty or has surrounding whitespace (a trailing newline?); \
                     write the token alone, e.g. with printf",
                    path.display()
                )));
            }
        }
        let kubeconfig = Kubeconfig {
            clusters: vec![NamedCluster {
                name: "metrics".to_string(),
                cluster: Some(Cluster {
                    server: Some(opts.url.clone()),
                    certificate_authority: opts.ca_file.as_ref().map(|p| p.display().to_string()),
                    ..Cluster::default()
                }),
                other: Default::default(),
            }],
            auth_infos: vec![NamedAuthInfo {
                name: "metrics".to_string(),
                auth_info: Some(AuthInfo {
                    token_file: opts.token_file.as_ref().map(|p| p.display().to_string()),
                    ..AuthInfo::default()
                }),
                other: Default::default(),
            }],
            contexts: vec![NamedContext {
                name: "metrics".to_string(),
                context: Some(Context {
                    cluster: "metrics".to_string(),
                    user: Some("metrics".to_string()),
                    ..Context::default()
                }),
                other: Default::default(),
            }],
            current_context: Some("metrics".to_string()),
            ..Kubeconfig::default()
        };
        let mut config = Config::from_custom_kubeconfig(kubeconfig, &KubeConfigOptions::default())
            .await
            .map_err(|e| fail(e.to_string()))?;
        config.root_cert_file = opts.ca_file.clone();
        let client = Client::try_from(config).map_err(|e| fail(e.to_string()))?;
        Ok(Self {
            client,
            target: opts.url.clone(),
        })
    }

    /// An endpoint over any client (tests use a scripted server).
    pub fn with_client(client: Client, target: impl Into<String>) -> Self {
        Self {
            client,
            target: target.into(),
        }
    }

    /// Where the requests go (for logs).
    pub fn target(&self) -> &str {
        &self.target
    }
}

/// Which endpoint serves each API; external metrics can go to several providers by name prefix.
#[derive(Clone, Debug)]
pub struct MetricsRouting {
    /// `metrics.k8s.io`.
    pub resource: Endpoint,
    /// `custom.metrics.k8s.io`.
    pub custom: Endpoint,
    /// `external.metrics.k8s.io` for metric names no prefix claims.
    pub external: Endpoint,
    /// `(prefix, endpoint)`: an external metric whose name starts with the prefix goes there; the
    /// longest matching prefix wins.
    pub external_by_prefix: Vec<(String, Endpoint)>,
}

impl MetricsRouting {
    /// Every API through the aggregation layer of `client`'s API server.
    pub fn aggregated(client: Client) -> Self {
        let e = Endpoint::aggregated(client);
        Self {
            resource: e.clone(),
            custom: e.clone(),
            external: e,
            external_by_prefix: Vec::new(),
        }
    }

    /// The endpoint for an external metric name.
    pub fn external_for(&self, metric: &str) -> &Endpoint {
        self.external_by_prefix
            .iter()
            .filter(|(p, _)| metric.starts_with(p.as_str()))
            .max_by_key(|(p, _)| p.len())
            .map_or(&self.external, |(_, e)| e)
    }
}

/// The real [`MetricsSource`]: the three APIs over HTTP.
pub struct ApiMetricsClient {
    routing: MetricsRouting,
    discovery: Client,
    custom_version: Mutex<Option<(String, Instant)>>,
    resources: Mutex<std::collections::HashMap<(String, String), String>>,
    version_ttl: Duration,
    observer: Option<FetchObserver>,
}

impl std::fmt::Debug for ApiMetricsClient {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ApiMetricsClient")
            .field("routing", &self.routing)
            .field("version_ttl", &self.version_ttl)
            .finish_non_exhaustive()
    }
}

/// Upstream's window for custom metrics that do not state one.
const DEFAULT_WINDOW: jiff::SignedDuration = jiff::SignedDuration::from_secs(60);

impl ApiMetricsClient {
    /// A client over `routing`; `discovery` is the API server client that maps Object metric kinds
    /// to resources; discovery of the custom metrics version is re-read every `version_ttl`.
    pub fn new(routing: MetricsRouting, discovery: Client, version_ttl: Duration) -> Self {
        Self {
            routing,
            discovery,
            custom_version: Mutex::new(None),
            resources: Mutex::new(std::collections::HashMap::new()),
            version_ttl,
            observer: None,
        }
    }

    /// Records each request's latency in `observer`.
    #[must_use]
    pub fn with_observer(mut self, observer: FetchObserver) -> Self {
        self.observer = Some(observer);
        self
    }

    async fn get<T: DeserializeOwned>(
        &self,
        api: MetricsApi,
        endpoint: &Endpoint,
        path: String,
    ) -> Result<T> {
        let started = Instant::now();
        let result = fetch(api, &endpoint.client, path).await;
        if let Some(o) = &self.observer {
            o.get_or_create(&ApiLabels {
                api: api.as_str().to_string(),
            })
            .observe(started.elapsed().as_secs_f64());
        }
        result
    }

    /// The custom metrics API version to use, from discovery (cached for `version_ttl`).
    async fn custom_version(&self) -> Result<String> {
        if let Ok(guard) = self.custom_version.lock()
            && let Some((v, at)) = guard.as_ref()
            && at.elapsed() < self.version_ttl
        {
            return Ok(v.clone());
        }
        let group: APIGroup = self
            .get(
                MetricsApi::Custom,
                &self.routing.custom,
                "/apis/custom.metrics.k8s.io".to_string(),
            )
            .await?;
        let supported = ["v1beta2", "v1beta1"];
        let preferred = group
            .preferred_version
            .as_ref()
            .map(|p| p.version.as_str())
            .filter(|v| supported.contains(v));
        let version = preferred
            .or_else(|| {
                supported
                    .iter()
                    .copied()
                    .find(|s| group.versions.iter().any(|v| v.version == *s))
            })
            .ok_or_else(|| Error::Empty {
                api: MetricsApi::Custom,
            })?
            .to_string();
        if let Ok(mut guard) = self.custom_version.lock() {
            *guard = Some((version.clone(), Instant::now()));
        }
        Ok(version)
    }

    /// `resource[.group]` of an object reference, from discovery (cached; kinds do not move).
    async fn group_resource(&self, object: &CrossVersionObjectReference) -> Result<String> {
        let api_version = object.api_version.clone().unwrap_or_default();
        let key = (api_version.clone(), object.kind.clone());
        if let Ok(guard) = self.resources.lock()
            && let Some(r) = guard.get(&key)
        {
            return Ok(r.clone());
        }
        let (group, version) = match api_version.split_once('/') {
            Some((g, v)) => (g.to_string(), v.to_string()),
            None => (String::new(), api_version.clone()),
        };
        let gvk = GroupVersionKind::gvk(&group, &version, &object.kind);
        let (resource, _) = kube::discovery::pinned_kind(&self.discovery, &gvk)
            .await
            .map_err(|e| Error::UnknownKind {
                kind: if group.is_empty() {
                    object.kind.clone()
                } else {
                    format!("{}.{}", object.kind, group)
                },
                message: e.to_string(),
            })?;
        let qualified = if group.is_empty() {
            resource.plural
        } else {
            format!("{}.{}", resource.plural, group)
        };
        if let Ok(mut guard) = self.resources.lock() {
            guard.insert(key, qualified.clone());
        }
        Ok(qualified)
    }
}

async fn fetch<T: DeserializeOwned>(api: MetricsApi, client: &Client, path: String) -> Result<T> {
    let request = Request::get(path)
        .header(http::header::ACCEPT, "application/json")
        .body(Vec::new())
        .map_err(|e| Error::Fetch {
            api,
            source: kube::Error::HttpError(e),
        })?;
    let text = client
        .request_text(request)
        .await
        .map_err(|source| Error::Fetch { api, source })?;
    serde_json::from_str(&text).map_err(|source| Error::Decode { api, source })
}

/// Appends `?a=x&b=y` for the non-empty parameters.
fn with_query(mut path: String, params: &[(&str, String)]) -> String {
    let mut first = true;
    for (k, v) in params {
        if v.is_empty() {
            continue;
        }
        path.push(if first { '?' } else { '&' });
        first = false;
        path.push_str(k);
        path.push('=');
        path.push_str(&encode(v));
    }
    path
}

/// Percent-encoding of a path segment or query value (RFC 3986 unreserved characters kept).
pub(crate) fn encode(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for b in s.bytes() {
        if b.is_ascii_alphanumeric() || matches!(b, b'-' | b'.' | b'_' | b'~') {
            out.push(char::from(b));
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

impl MetricsSource for ApiMetricsClient {
    async fn pod_metrics(&self, namespace: &str, selector: &Selector) -> Result<Vec<PodMetrics>> {
        let path = with_query(
            format!(
                "/apis/metrics.k8s.io/v1beta1/namespaces/{}/pods",
                encode(namespace)
            ),
            &[("labelSelector", selector.to_string())],
        );
        let list: PodMetricsList = self
            .get(MetricsApi::Resource, &self.routing.resource, path)
            .await?;
        Ok(list.items)
    }

    async fn pods_metric(
        &self,
        namespace: &str,
        selector: &Selector,
        metric: &str,
        metric_selector: &Selector,
    ) -> Result<Vec<PodSample>> {
        let version = self.custom_version().await?;
        let path = with_query(
            format!(
                "/apis/custom.metrics.k8s.io/{version}/namespaces/{}/pods/*/{}",
                encode(namespace),
                encode(metric)
            ),
            &[
                ("labelSelector", selector.to_string()),
                ("metricLabelSelector", metric_selector.to_string()),
            ],
        );
        let list: MetricValueList = self.get(MetricsApi::Custom, &self.routing.custom, path).await?;
        if list.items.is_empty() {
            return Err(Error::Empty {
                api: MetricsApi::Custom,
            });
        }
        list.items
            .into_iter()
            .map(|m| {
                Ok(PodSample {
                    value: milli(&m.value, MetricsApi::Custom)?,
                    pod: m.described_object.name,
                    timestamp: m.timestamp,
                    window: m
                        .window_seconds
                        .map_or(DEFAULT_WINDOW, jiff::SignedDuration::from_secs),
                })
            })
            .collect()
    }

    async fn object_metric(
        &self,
        namespace: &str,
        object: &CrossVersionObjectReference,
        metric: &str,
        metric_selector: &Selector,
    ) -> Result<Sample> {
        let version = self.custom_version().await?;
        let core_group = object.api_version.as_deref().is_none_or(|v| !v.contains('/'));
        let base = if object.kind == "Namespace" && core_group {
            // Upstream ignores the reference's name: an HPA cannot reach outside its namespace.
            format!(
                "/apis/custom.metrics.k8s.io/{version}/namespaces/{}/metrics/{}",
                encode(namespace),
                encode(metric)
            )
        } else {
            let resource = self.group_resource(object).await?;
            format!(
                "/apis/custom.metrics.k8s.io/{version}/namespaces/{}/{}/{}/{}",
                encode(namespace),
                encode(&resource),
                encode(&object.name),
                encode(metric)
            )
        };
        let path = with_query(base, &[("metricLabelSelector", metric_selector.to_string())]);
        let list: MetricValueList = self.get(MetricsApi::Custom, &self.routing.custom, path).await?;
        if list.items.len() != 1 {
            return Err(Error::NotExactlyOne(list.items.len()));
        }
        let m = &list.items[0];
        Ok(Sample {
            value: milli(&m.value, MetricsApi::Custom)?,
            timestamp: m.timestamp,
            window: m
                .window_seconds
                .map_or(DEFAULT_WINDOW, jiff::SignedDuration::from_secs),
        })
    }

    async fn external_metric(
        &self,
        namespace: &str,
        metric: &str,
        selector: &Selector,
    ) -> Result<Vec<Sample>> {
        let path = with_query(
            format!(
                "/apis/external.metrics.k8s.io/v1beta1/namespaces/{}/{}",
                encode(namespace),
                encode(metric)
            ),
            &[("labelSelector", selector.to_string())],
        );
        let endpoint = self.routing.external_for(metric);
        let list: ExternalMetricValueList = self.get(MetricsApi::External, endpoint, path).await?;
        if list.items.is_empty() {
            return Err(Error::Empty {
                api: MetricsApi::External,
            });
        }
        list.items
            .into_iter()
            .map(|m| {
                Ok(Sample {
                    value: milli(&m.value, MetricsApi::External)?,
                    timestamp: m.timestamp,
                    window: m.window.map_or(DEFAULT_WINDOW, jiff::SignedDuration::from_secs),
                })
            })
            .collect()
    }
}

/// Shared ownership: the controller holds the client in an `Arc`.
impl<S: MetricsSource> MetricsSource for Arc<S> {
    fn pod_metrics(
        &self,
        namespace: &str,
        selector: &Selector,
    ) -> impl Future<Output = Result<Vec<PodMetrics>>> + Send {
        (**self).pod_metrics(namespace, selector)
    }

    fn pods_metric(
        &self,
        namespace: &str,
        selector: &Selector,
        metric: &str,
        metric_selector: &Selector,
    ) -> impl Future<Output = Result<Vec<PodSample>>> + Send {
        (**self).pods_metric(namespace, selector, metric, metric_selector)
    }

    fn object_metric(
        &self,
        namespace: &str,
        object: &CrossVersionObjectReference,
        metric: &str,
        metric_selector: &Selector,
    ) -> impl Future<Output = Result<Sample>> + Send {
        (**self).object_metric(namespace, object, metric, metric_selector)
    }

    fn external_metric(
        &self,
        namespace: &str,
        metric: &str,
        selector: &Selector,
    ) -> impl Future<Output = Result<Vec<Sample>>> + Send {
        (**self).external_metric(namespace, metric, selector)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn queries_leave_out_empty_selectors_and_encode_the_rest() {
        assert_eq!(
            with_query(
                "/p".into(),
                &[
                    ("labelSelector", "app=web,tier in (a,b)".into()),
                    ("metricLabelSelector", String::new())
                ]
            ),
            "/p?labelSelector=app%3Dweb%2Ctier%20in%20%28a%2Cb%29"
        );
        assert_eq!(with_query("/p".into(), &[("labelSelector", String::new())]), "/p");
    }
}
