//! Template nodes for scale-from-zero, built from a group's instance type and Cluster Autoscaler's
//! `node-template` tags, and the per-group options of its `autoscaling-options` tags.
//!
//! ```text
//! instance type --instance_types--> cpu, memory, GPUs, arch --+
//! group zones, region --> zone/region labels ------------------+--> template Node
//! k8s.io/cluster-autoscaler/node-template/label/<name>     = <value>          (labels, override the above)
//! k8s.io/cluster-autoscaler/node-template/taint/<key>      = <value>:<Effect> (taints)
//! k8s.io/cluster-autoscaler/node-template/resources/<name> = <quantity>       (capacity, override the above)
//! k8s.io/cluster-autoscaler/node-template/autoscaling-options/<option> = ...  (GroupOptions)
//! ```
//!
//! Malformed tags are errors that name the group and the tag; nothing is silently dropped (Cluster
//! Autoscaler skips them). Allocatable equals capacity, as in Cluster Autoscaler's AWS templates.

use std::collections::BTreeMap;

use jiff::Timestamp;
use swell_core::duration::parse_go_duration;
use swell_core::quantity::Quantity;
use swell_node_autoscaler::model::{
    GroupOptions, LABEL_HOSTNAME, LABEL_ZONE, Labels, Node, Taint, TaintEffect,
};
use swell_node_autoscaler::resources::{CPU, Resources};

use crate::instance_types::InstanceType;

/// Prefix of the label tags.
pub const LABEL_TAG_PREFIX: &str = "k8s.io/cluster-autoscaler/node-template/label/";
/// Prefix of the taint tags.
pub const TAINT_TAG_PREFIX: &str = "k8s.io/cluster-autoscaler/node-template/taint/";
/// Prefix of the resource tags.
pub const RESOURCE_TAG_PREFIX: &str = "k8s.io/cluster-autoscaler/node-template/resources/";
/// Prefix of the per-group option tags.
pub const OPTIONS_TAG_PREFIX: &str = "k8s.io/cluster-autoscaler/node-template/autoscaling-options/";

/// The instance-type label.
pub const LABEL_INSTANCE_TYPE: &str = "node.kubernetes.io/instance-type";
/// The architecture label.
pub const LABEL_ARCH: &str = "kubernetes.io/arch";
/// The OS label.
pub const LABEL_OS: &str = "kubernetes.io/os";
/// The region label.
pub const LABEL_REGION: &str = "topology.kubernetes.io/region";
/// The EBS CSI driver's zone label.
pub const LABEL_EBS_ZONE: &str = "topology.ebs.csi.aws.com/zone";
/// The resource name of NVIDIA GPUs.
pub const NVIDIA_GPU: &str = "nvidia.com/gpu";
/// The resource name of AMD GPUs.
pub const AMD_GPU: &str = "amd.com/gpu";

/// Pods a template node accepts (Cluster Autoscaler's AWS templates use 110 too).
pub const TEMPLATE_PODS: i64 = 110;

/// A tag that cannot be turned into part of a template or an option.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum TemplateError {
    /// A taint tag's value is not `<value>:<Effect>`.
    #[error(
        "failed to read taint tag {key:?}={value:?}: expected <value>:NoSchedule|PreferNoSchedule|NoExecute"
    )]
    Taint {
        /// Tag key.
        key: String,
        /// Tag value.
        value: String,
    },
    /// A resource tag's value is not a quantity.
    #[error("failed to read resource tag {key:?}={value:?}: {reason}")]
    Resource {
        /// Tag key.
        key: String,
        /// Tag value.
        value: String,
        /// Why.
        reason: String,
    },
    /// A template tag names nothing (`.../label/` with no name).
    #[error("failed to read tag {key:?}: nothing after the prefix")]
    EmptyName {
        /// Tag key.
        key: String,
    },
    /// An autoscaling-options tag's value does not parse.
    #[error("failed to read option tag {key:?}={value:?}: {reason}")]
    Option {
        /// Tag key.
        key: String,
        /// Tag value.
        value: String,
        /// Why.
        reason: String,
    },
}

/// What the template is built from besides the tags.
#[derive(Debug, Clone, Copy)]
pub struct TemplateInputs<'a> {
    /// The group's name.
    pub group: &'a str,
    /// The instance type's name and shape, if known.
    pub instance_type: Option<(&'a str, InstanceType)>,
    /// The zone of the template (the group's first).
    pub zone: Option<&'a str>,
    /// The region.
    pub region: Option<&'a str>,
    /// The group's tags.
    pub tags: &'a BTreeMap<String, String>,
    /// The node's creation time.
    pub now: Timestamp,
}

/// The node labels the label tags give.
pub fn labels_from_tags(tags: &BTreeMap<String, String>) -> Result<Labels, TemplateError> {
    let mut labels = Labels::new();
    for (key, value) in tags {
        if let Some(name) = key.strip_prefix(LABEL_TAG_PREFIX) {
            if name.is_empty() {
                return Err(TemplateError::EmptyName { key: key.clone() });
            }
            labels.insert(name.to_string(), value.clone());
        }
    }
    Ok(labels)
}

/// The taints the taint tags give, in tag-key order.
pub fn taints_from_tags(tags: &BTreeMap<String, String>) -> Result<Vec<Taint>, TemplateError> {
    let mut taints = Vec::new();
    for (key, value) in tags {
        let Some(name) = key.strip_prefix(TAINT_TAG_PREFIX) else {
            continue;
        };
        if name.is_empty() {
            return Err(TemplateError::EmptyName { key: key.clone() });
        }
        let bad = || TemplateError::Taint {
            key: key.clone(),
            value: value.clone(),
        };
        let (taint_value, effect) = value.rsplit_once(':').ok_or_else(bad)?;
        let effect = TaintEffect::parse(effect).ok_or_else(bad)?;
        taints.push(Taint::new(name, taint_value, effect));
    }
    Ok(taints)
}

/// The resources the resource tags give (cpu in millicores, others in whole units).
pub fn resources_from_tags(tags: &BTreeMap<String, String>) -> Result<Vec<(String, i64)>, TemplateError> {
    let mut out = Vec::new();
    for (key, value) in tags {
        let Some(name) = key.strip_prefix(RESOURCE_TAG_PREFIX) else {
            continue;
        };
        if name.is_empty() {
            return Err(TemplateError::EmptyName { key: key.clone() });
        }
        let bad = |reason: String| TemplateError::Resource {
            key: key.clone(),
            value: value.clone(),
            reason,
        };
        let q = Quantity::parse(value).map_err(|e| bad(e.to_string()))?;
        if q.sign() < 0 {
            return Err(bad("negative".into()));
        }
        let amount = if name == CPU { q.milli_value() } else { q.value() };
        out.push((name.to_string(), amount));
    }
    Ok(out)
}

/// Whether the resource tags alone give cpu and memory (enough for a template with no known
/// instance type).
pub fn tags_give_cpu_and_memory(tags: &BTreeMap<String, String>) -> bool {
    tags.contains_key(&format!("{RESOURCE_TAG_PREFIX}cpu"))
        && tags.contains_key(&format!("{RESOURCE_TAG_PREFIX}memory"))
}

/// Builds the template node. Labels: architecture and instance type (when known), `linux`, region,
/// zone, hostname, then the label tags on top; capacity: the instance type's, 110 pods, then the
/// resource tags on top; taints from the taint tags.
pub fn build_template(inputs: &TemplateInputs<'_>) -> Result<Node, TemplateError> {
    let name = format!("{}-template", inputs.group);
    let mut labels = Labels::new();
    let mut capacity = Resources::default().with_pods(TEMPLATE_PODS);
    if let Some((type_name, t)) = inputs.instance_type {
        labels.insert(LABEL_INSTANCE_TYPE.into(), type_name.into());
        if !t.arch.is_empty() {
            labels.insert(LABEL_ARCH.into(), t.arch.into());
        }
        capacity.cpu = t.vcpus.saturating_mul(1000);
        capacity.memory = t.memory_mib.saturating_mul(1 << 20);
        capacity.set(NVIDIA_GPU, t.nvidia_gpus);
        capacity.set(AMD_GPU, t.amd_gpus);
    }
    labels.insert(LABEL_OS.into(), "linux".into());
    if let Some(zone) = inputs.zone {
        labels.insert(LABEL_ZONE.into(), zone.into());
        labels.insert(LABEL_EBS_ZONE.into(), zone.into());
    }
    if let Some(region) = inputs.region {
        labels.insert(LABEL_REGION.into(), region.into());
    }
    labels.insert(LABEL_HOSTNAME.into(), name.clone());
    labels.extend(labels_from_tags(inputs.tags)?);
    for (resource, amount) in resources_from_tags(inputs.tags)? {
        capacity.set(&resource, amount);
    }
    Ok(Node {
        name,
        group: Some(inputs.group.to_string()),
        allocatable: capacity.clone(),
        capacity,
        labels,
        taints: taints_from_tags(inputs.tags)?,
        ready: true,
        ready_transition: None,
        unschedulable: false,
        created: inputs.now,
        scale_down_disabled: false,
    })
}

/// The per-group options the `autoscaling-options` tags give, and the option names that were
/// ignored (unknown to Swell, or `scaledowngpuutilizationthreshold`, which it has no knob for).
pub fn options_from_tags(
    tags: &BTreeMap<String, String>,
) -> Result<(GroupOptions, Vec<String>), TemplateError> {
    let mut options = GroupOptions::default();
    let mut ignored = Vec::new();
    for (key, value) in tags {
        let Some(option) = key.strip_prefix(OPTIONS_TAG_PREFIX) else {
            continue;
        };
        let bad = |reason: String| TemplateError::Option {
            key: key.clone(),
            value: value.clone(),
            reason,
        };
        match option {
            "scaledownutilizationthreshold" => {
                let v: f64 = value
                    .parse()
                    .map_err(|_| bad("not a number".into()))
                    .and_then(|v: f64| {
                        if v.is_finite() && v >= 0.0 {
                            Ok(v)
                        } else {
                            Err(bad("not a finite non-negative number".into()))
                        }
                    })?;
                options.scale_down_utilization_threshold = Some(v);
            }
            "scaledownunneededtime" => {
                options.scale_down_unneeded_time =
                    Some(parse_go_duration(value).map_err(|e| bad(e.to_string()))?);
            }
            "scaledownunreadytime" => {
                options.scale_down_unready_time =
                    Some(parse_go_duration(value).map_err(|e| bad(e.to_string()))?);
            }
            "ignoredaemonsetsutilization" => {
                options.ignore_daemonsets_utilization =
                    Some(parse_go_bool(value).ok_or_else(|| bad("not a boolean".into()))?);
            }
            _ => ignored.push(option.to_string()),
        }
    }
    Ok((options, ignored))
}

/// Go's `strconv.ParseBool`.
fn parse_go_bool(s: &str) -> Option<bool> {
    match s {
        "1" | "t" | "T" | "TRUE" | "true" | "True" => Some(true),
        "0" | "f" | "F" | "FALSE" | "false" | "False" => Some(false),
        _ => None,
    }
}

/// The region of an availability zone (`us-east-1a` → `us-east-1`), as Cluster Autoscaler derives
/// it when no region is configured.
pub fn region_of_zone(zone: &str) -> Option<&str> {
    let last = zone.chars().last()?;
    last.is_ascii_lowercase().then(|| &zone[..zone.len() - 1])
}

#[cfg(test)]
mod tests {
    use jiff::SignedDuration;

    use super::*;
    use crate::instance_types;

    fn tags(pairs: &[(&str, &str)]) -> BTreeMap<String, String> {
        pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect()
    }

    fn inputs<'a>(tags: &'a BTreeMap<String, String>, t: Option<&'a str>) -> TemplateInputs<'a> {
        TemplateInputs {
            group: "g",
            instance_type: t.map(|n| (n, instance_types::lookup(n).unwrap())),
            zone: Some("eu-west-1b"),
            region: Some("eu-west-1"),
            tags,
            now: Timestamp::UNIX_EPOCH,
        }
    }

    #[test]
    fn template_has_the_instance_types_shape_and_generic_labels() {
        let t = tags(&[]);
        let node = build_template(&inputs(&t, Some("g4dn.xlarge"))).unwrap();
        assert_eq!(node.capacity.cpu, 4000);
        assert_eq!(node.capacity.memory, 16384 << 20);
        assert_eq!(node.capacity.pods, 110);
        assert_eq!(node.capacity.get(NVIDIA_GPU), 1);
        assert_eq!(node.allocatable, node.capacity);
        assert_eq!(node.group.as_deref(), Some("g"));
        for (k, v) in [
            (LABEL_INSTANCE_TYPE, "g4dn.xlarge"),
            (LABEL_ARCH, "amd64"),
            (LABEL_OS, "linux"),
            (LABEL_ZONE, "eu-west-1b"),
            (LABEL_EBS_ZONE, "eu-west-1b"),
            (LABEL_REGION, "eu-west-1"),
            (LABEL_HOSTNAME, "g-template"),
        ] {
            assert_eq!(node.labels.get(k).map(String::as_str), Some(v), "{k}");
        }
        assert!(node.taints.is_empty());
    }

    #[test]
    fn tags_add_labels_taints_and_resources_over_the_instance_type() {
        let t = tags(&[
            ("k8s.io/cluster-autoscaler/node-template/label/pool", "gpu"),
            (
                "k8s.io/cluster-autoscaler/node-template/label/kubernetes.io/arch",
                "arm64",
            ),
            (
                "k8s.io/cluster-autoscaler/node-template/taint/dedicated",
                "ml:NoSchedule",
            ),
            (
                "k8s.io/cluster-autoscaler/node-template/taint/spot",
                ":PreferNoSchedule",
            ),
            (
                "k8s.io/cluster-autoscaler/node-template/resources/ephemeral-storage",
                "100Gi",
            ),
            ("k8s.io/cluster-autoscaler/node-template/resources/cpu", "3500m"),
            (
                "k8s.io/cluster-autoscaler/node-template/resources/example.com/dongle",
                "2",
            ),
            ("unrelated", "x"),
        ]);
        let node = build_template(&inputs(&t, Some("m5.large"))).unwrap();
        assert_eq!(node.labels["pool"], "gpu");
        assert_eq!(
            node.labels[LABEL_ARCH], "arm64",
            "tags win over the instance type"
        );
        assert!(!node.labels.contains_key("unrelated"));
        assert_eq!(
            node.taints,
            vec![
                Taint::new("dedicated", "ml", TaintEffect::NoSchedule),
                Taint::new("spot", "", TaintEffect::PreferNoSchedule),
            ]
        );
        assert_eq!(node.capacity.ephemeral_storage, 100 << 30);
        assert_eq!(node.capacity.cpu, 3500);
        assert_eq!(node.capacity.memory, 8192 << 20);
        assert_eq!(node.capacity.get("example.com/dongle"), 2);
    }

    #[test]
    fn template_from_tags_alone_has_no_instance_type_labels() {
        let t = tags(&[
            ("k8s.io/cluster-autoscaler/node-template/resources/cpu", "4"),
            ("k8s.io/cluster-autoscaler/node-template/resources/memory", "16Gi"),
        ]);
        assert!(tags_give_cpu_and_memory(&t));
        let node = build_template(&inputs(&t, None)).unwrap();
        assert_eq!((node.capacity.cpu, node.capacity.memory), (4000, 16 << 30));
        assert!(!node.labels.contains_key(LABEL_INSTANCE_TYPE));
        assert!(!node.labels.contains_key(LABEL_ARCH));
    }

    #[test]
    fn malformed_template_tags_are_errors_naming_the_tag() {
        for (key, value, want) in [
            (
                "k8s.io/cluster-autoscaler/node-template/taint/a",
                "b",
                "taint tag",
            ),
            (
                "k8s.io/cluster-autoscaler/node-template/taint/a",
                "b:Sometimes",
                "taint tag",
            ),
            (
                "k8s.io/cluster-autoscaler/node-template/resources/memory",
                "lots",
                "resource tag",
            ),
            (
                "k8s.io/cluster-autoscaler/node-template/resources/memory",
                "-1Gi",
                "negative",
            ),
            (
                "k8s.io/cluster-autoscaler/node-template/label/",
                "x",
                "nothing after the prefix",
            ),
        ] {
            let t = tags(&[(key, value)]);
            let err = build_template(&inputs(&t, Some("m5.large")))
                .unwrap_err()
                .to_string();
            assert!(err.contains(key) && err.contains(want), "{err}");
        }
    }

    #[test]
    fn autoscaling_option_tags_become_group_options() {
        let t = tags(&[
            (
                "k8s.io/cluster-autoscaler/node-template/autoscaling-options/scaledownutilizationthreshold",
                "0.4",
            ),
            (
                "k8s.io/cluster-autoscaler/node-template/autoscaling-options/scaledownunneededtime",
                "1m30s",
            ),
            (
                "k8s.io/cluster-autoscaler/node-template/autoscaling-options/scaledownunreadytime",
                "1h",
            ),
            (
                "k8s.io/cluster-autoscaler/node-template/autoscaling-options/ignoredaemonsetsutilization",
                "True",
            ),
            (
                "k8s.io/cluster-autoscaler/node-template/autoscaling-options/scaledowngpuutilizationthreshold",
                "0.2",
            ),
        ]);
        let (options, ignored) = options_from_tags(&t).unwrap();
        assert_eq!(
            options,
            GroupOptions {
                scale_down_utilization_threshold: Some(0.4),
                scale_down_unneeded_time: Some(SignedDuration::from_secs(90)),
                scale_down_unready_time: Some(SignedDuration::from_hours(1)),
                ignore_daemonsets_utilization: Some(true),
            }
        );
        assert_eq!(ignored, vec!["scaledowngpuutilizationthreshold".to_string()]);
        assert_eq!(options_from_tags(&tags(&[])).unwrap().0, GroupOptions::default());
    }

    #[test]
    fn malformed_option_tags_are_errors_naming_the_tag() {
        for (option, value) in [
            ("scaledownutilizationthreshold", "half"),
            ("scaledownutilizationthreshold", "NaN"),
            ("scaledownunneededtime", "10"),
            ("ignoredaemonsetsutilization", "yes"),
        ] {
            let key = format!("{OPTIONS_TAG_PREFIX}{option}");
            let err = options_from_tags(&tags(&[(&key, value)]))
                .unwrap_err()
                .to_string();
            assert!(err.contains(&key) && err.contains(value), "{err}");
        }
    }

    #[test]
    fn region_comes_from_the_zone() {
        assert_eq!(region_of_zone("us-east-1a"), Some("us-east-1"));
        assert_eq!(region_of_zone(""), None);
    }
}
