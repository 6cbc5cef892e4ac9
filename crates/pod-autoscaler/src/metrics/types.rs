//! Wire types of the three metrics APIs, as their servers send them.
//!
//! k8s-openapi has none of these groups, so they are declared here with exactly the fields the
//! controller reads: `metrics.k8s.io/v1beta1` `PodMetricsList`, `custom.metrics.k8s.io`
//! `MetricValueList` (v1beta2, and v1beta1 whose metric identity sits in flat fields), and
//! `external.metrics.k8s.io/v1beta1` `ExternalMetricValueList`. Quantities stay strings until
//! [`crate::metrics`] turns them into milli-units with [`swell_core::quantity::Quantity`], so a bad
//! quantity is reported as an error for that sample rather than failing the whole decode.

use std::collections::BTreeMap;

use jiff::Timestamp;
use serde::{Deserialize, Serialize};

/// `metrics.k8s.io/v1beta1` `PodMetricsList`.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct PodMetricsList {
    /// The pods' metrics.
    #[serde(default)]
    pub items: Vec<PodMetrics>,
}

/// The object metadata the controller reads from a `PodMetrics`.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct PodMetricsMeta {
    /// The pod's name.
    #[serde(default)]
    pub name: String,
    /// The pod's namespace.
    #[serde(default)]
    pub namespace: String,
    /// The pod's labels (metrics-server copies them from the pod), used to share one namespace-wide
    /// list between the HPAs of a namespace.
    #[serde(default)]
    pub labels: BTreeMap<String, String>,
}

/// `metrics.k8s.io/v1beta1` `PodMetrics`: one pod's usage per container.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct PodMetrics {
    /// Name, namespace and labels of the pod.
    pub metadata: PodMetricsMeta,
    /// End of the window the usage was averaged over.
    pub timestamp: Timestamp,
    /// The window, as a Go duration string (`30s`, `1m0s`, `15.002s`).
    pub window: String,
    /// Usage per container.
    #[serde(default)]
    pub containers: Vec<ContainerMetrics>,
}

/// One container's usage in a [`PodMetrics`].
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct ContainerMetrics {
    /// Container name.
    pub name: String,
    /// Usage per resource name, as quantity strings.
    #[serde(default)]
    pub usage: BTreeMap<String, String>,
}

/// `custom.metrics.k8s.io` `MetricValueList` (v1beta1 and v1beta2 decode into the same shape).
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct MetricValueList {
    /// The values.
    #[serde(default)]
    pub items: Vec<MetricValue>,
}

/// The object a custom metric value describes.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct DescribedObject {
    /// Kind.
    #[serde(default)]
    pub kind: String,
    /// Name (the pod's name for Pods metrics).
    #[serde(default)]
    pub name: String,
    /// Namespace.
    #[serde(default)]
    pub namespace: String,
    /// API version.
    #[serde(default)]
    pub api_version: String,
}

/// The metric identity of a v1beta2 value.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct MetricIdentifier {
    /// Metric name.
    #[serde(default)]
    pub name: String,
}

/// `custom.metrics.k8s.io` `MetricValue`.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct MetricValue {
    /// The object the value describes.
    pub described_object: DescribedObject,
    /// v1beta2: the metric's identity.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub metric: Option<MetricIdentifier>,
    /// v1beta1: the metric's name.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub metric_name: Option<String>,
    /// When the value was produced.
    pub timestamp: Timestamp,
    /// The window the value covers; absent means the server's default (one minute upstream).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub window_seconds: Option<i64>,
    /// The value, a quantity string.
    pub value: String,
}

/// `external.metrics.k8s.io/v1beta1` `ExternalMetricValueList`.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct ExternalMetricValueList {
    /// The series that matched.
    #[serde(default)]
    pub items: Vec<ExternalMetricValue>,
}

/// `external.metrics.k8s.io/v1beta1` `ExternalMetricValue`.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ExternalMetricValue {
    /// The metric's name.
    #[serde(default)]
    pub metric_name: String,
    /// The series' labels.
    #[serde(default)]
    pub metric_labels: BTreeMap<String, String>,
    /// When the value was produced.
    pub timestamp: Timestamp,
    /// The window the value covers, if the provider says.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub window: Option<i64>,
    /// The value, a quantity string.
    pub value: String,
}
