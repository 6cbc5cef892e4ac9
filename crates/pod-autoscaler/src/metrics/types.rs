//! Wire types of the three metrics APIs, as their servers send them.
//!
//! k8s-openapi has none of these groups, so they are declared here with exactly the fields the
//! controller reads: `metrics.k8s.io/v1beta1` `PodMetricsList`, `custom.metrics.k8s.io`
//! `MetricValueList` (v1beta2, and v1beta1 whose metric identity sits in flat fields), and
//! `external.metrics.k8s.io/v1beta1` `ExternalMetricValueList`. Quantities stay strings until
//! [`crate::metrics`] turns them into milli-units with [`swell_core::quantity::Quantity`], so a bad
//! quantity is reported as an error for that sample rather than failing the whole decode.

use std::collections::BTreeMap;

use jiff::{SignedDuration, Timestamp};
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

/// Parses a Go `time.Duration` string as `metav1.Duration` serializes it (`1h2m3.5s`, `300ms`,
/// `-1.5s`, `0`). `None` when the text is not a Go duration.
pub fn parse_go_duration(s: &str) -> Option<SignedDuration> {
    let (negative, mut rest) = match s.strip_prefix('-') {
        Some(r) => (true, r),
        None => (false, s.strip_prefix('+').unwrap_or(s)),
    };
    if rest == "0" {
        return Some(SignedDuration::ZERO);
    }
    if rest.is_empty() {
        return None;
    }
    let mut total_nanos: i128 = 0;
    while !rest.is_empty() {
        let num_end = rest
            .find(|c: char| !(c.is_ascii_digit() || c == '.'))
            .unwrap_or(rest.len());
        let (num, tail) = rest.split_at(num_end);
        if num.is_empty() || num == "." {
            return None;
        }
        let unit_end = tail
            .find(|c: char| c.is_ascii_digit() || c == '.')
            .unwrap_or(tail.len());
        let (unit, tail) = tail.split_at(unit_end);
        let unit_nanos: i128 = match unit {
            "ns" => 1,
            "us" | "µs" | "μs" => 1_000,
            "ms" => 1_000_000,
            "s" => 1_000_000_000,
            "m" => 60_000_000_000,
            "h" => 3_600_000_000_000,
            _ => return None,
        };
        let (int_part, frac_part) = num.split_once('.').unwrap_or((num, ""));
        let int: i128 = if int_part.is_empty() {
            0
        } else {
            int_part.parse().ok()?
        };
        let mut frac_nanos: i128 = 0;
        let mut scale: i128 = 1;
        for d in frac_part.chars() {
            let digit = i128::from(d.to_digit(10)?);
            if scale < 1_000_000_000_000_000_000 {
                frac_nanos = frac_nanos * 10 + digit;
                scale *= 10;
            }
        }
        total_nanos = total_nanos
            .checked_add(int.checked_mul(unit_nanos)?)?
            .checked_add(frac_nanos * unit_nanos / scale)?;
        rest = tail;
    }
    if negative {
        total_nanos = -total_nanos;
    }
    let secs = i64::try_from(total_nanos / 1_000_000_000).ok()?;
    let nanos = i32::try_from(total_nanos % 1_000_000_000).ok()?;
    Some(SignedDuration::new(secs, nanos))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn go_durations_parse_as_metav1_writes_them() {
        let cases = [
            ("30s", Some(SignedDuration::from_secs(30))),
            ("1m0s", Some(SignedDuration::from_secs(60))),
            ("15.002s", Some(SignedDuration::from_millis(15_002))),
            ("1h2m3s", Some(SignedDuration::from_secs(3723))),
            ("300ms", Some(SignedDuration::from_millis(300))),
            ("0", Some(SignedDuration::ZERO)),
            ("-1.5s", Some(SignedDuration::from_millis(-1500))),
            ("", None),
            ("30", None),
            ("1x", None),
        ];
        for (text, want) in cases {
            assert_eq!(parse_go_duration(text), want, "{text}");
        }
    }
}
