//! The provider's settings and Cluster Autoscaler's spellings of them.
//!
//! [`AwsOptions`] is what the binary's flags fill in (`--aws-region`, `--aws-endpoint-url`,
//! `--node-group-auto-discovery`, `--nodes`); [`AwsOptions::discovery`] validates the two group specs
//! into a [`Discovery`]:
//!
//! - `asg:tag=<key>[=<value>],<key>[=<value>]...`: every group that carries all these tags (a key
//!   alone matches any value). Several specs add up: a group is managed if any spec selects it.
//! - `<min>:<max>:<name>`: that group, with these bounds instead of the group's own.

use std::fmt;

use crate::api::TagFilter;

/// How to reach AWS and which groups to manage.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct AwsOptions {
    /// `--aws-region`; `None` uses the default chain (`AWS_REGION`, the profile, IMDS).
    pub region: Option<String>,
    /// `--aws-endpoint-url`: an emulator or a VPC endpoint; `None` uses the public endpoints.
    pub endpoint_url: Option<String>,
    /// `--node-group-auto-discovery` values (`asg:tag=k8s.io/cluster-autoscaler/enabled,...`).
    pub auto_discovery: Vec<String>,
    /// `--nodes` values (`1:10:my-asg`).
    pub nodes: Vec<String>,
}

/// A group named on the command line with its bounds.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StaticGroup {
    /// The group's name.
    pub name: String,
    /// Minimum size (used instead of the group's `MinSize`, as Cluster Autoscaler does).
    pub min: usize,
    /// Maximum size (used instead of the group's `MaxSize`).
    pub max: usize,
}

/// Validated group selection.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Discovery {
    /// One entry per `--node-group-auto-discovery` spec: the tags a group must all carry.
    pub tag_specs: Vec<Vec<TagFilter>>,
    /// The `--nodes` groups.
    pub static_groups: Vec<StaticGroup>,
}

/// A group spec that cannot be used.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum OptionsError {
    /// A `--node-group-auto-discovery` value is malformed.
    #[error("invalid --node-group-auto-discovery {spec:?}: {reason}")]
    AutoDiscovery {
        /// The whole value.
        spec: String,
        /// What is wrong with it.
        reason: String,
    },
    /// A `--nodes` value is malformed.
    #[error("invalid --nodes {spec:?}: {reason}")]
    Nodes {
        /// The whole value.
        spec: String,
        /// What is wrong with it.
        reason: String,
    },
    /// Neither flag selects any group.
    #[error("no node groups: give --node-group-auto-discovery=asg:tag=... or --nodes=<min>:<max>:<name>")]
    NoGroups,
}

impl AwsOptions {
    /// Validates the group specs. Every spec is checked; the first bad one is reported by value.
    pub fn discovery(&self) -> Result<Discovery, OptionsError> {
        let tag_specs = self
            .auto_discovery
            .iter()
            .map(|s| parse_auto_discovery(s))
            .collect::<Result<Vec<_>, _>>()?;
        let static_groups = self
            .nodes
            .iter()
            .map(|s| parse_nodes(s))
            .collect::<Result<Vec<_>, _>>()?;
        if tag_specs.is_empty() && static_groups.is_empty() {
            return Err(OptionsError::NoGroups);
        }
        if let Some(dup) = static_groups
            .iter()
            .enumerate()
            .find(|(i, g)| static_groups[..*i].iter().any(|o| o.name == g.name))
        {
            return Err(OptionsError::Nodes {
                spec: self.nodes[dup.0].clone(),
                reason: format!("group {} is given twice", dup.1.name),
            });
        }
        Ok(Discovery {
            tag_specs,
            static_groups,
        })
    }
}

/// Parses one `--node-group-auto-discovery` value: `asg:tag=<key>[=<value>][,<key>[=<value>]...]`.
pub fn parse_auto_discovery(spec: &str) -> Result<Vec<TagFilter>, OptionsError> {
    let bad = |reason: &str| OptionsError::AutoDiscovery {
        spec: spec.to_string(),
        reason: reason.to_string(),
    };
    let Some((discoverer, param)) = spec.split_once(':') else {
        return Err(bad("expected asg:tag=<key>[=<value>],..."));
    };
    if discoverer != "asg" {
        return Err(bad(&format!(
            "unsupported discoverer {discoverer:?}; the AWS provider supports \"asg\""
        )));
    }
    let Some((key, tags)) = param.split_once('=') else {
        return Err(bad("expected tag=<key>[=<value>],... after asg:"));
    };
    if key != "tag" {
        return Err(bad(&format!(
            "unsupported parameter {key:?}; the only one is \"tag\""
        )));
    }
    if tags.is_empty() {
        return Err(bad("no tags given"));
    }
    let mut filters: Vec<TagFilter> = Vec::new();
    for item in tags.split(',') {
        let (key, value) = match item.split_once('=') {
            Some((k, v)) => (k, Some(v.to_string())),
            None => (item, None),
        };
        if key.is_empty() {
            return Err(bad("a tag key is empty"));
        }
        if filters.iter().any(|f| f.key == key) {
            return Err(bad(&format!("tag key {key:?} is given twice")));
        }
        filters.push(TagFilter {
            key: key.to_string(),
            value,
        });
    }
    Ok(filters)
}

/// Parses one `--nodes` value: `<min>:<max>:<name>` with `0 <= min <= max`.
pub fn parse_nodes(spec: &str) -> Result<StaticGroup, OptionsError> {
    let bad = |reason: String| OptionsError::Nodes {
        spec: spec.to_string(),
        reason,
    };
    let mut parts = spec.splitn(3, ':');
    let (Some(min), Some(max), Some(name)) = (parts.next(), parts.next(), parts.next()) else {
        return Err(bad("expected <min>:<max>:<name>".into()));
    };
    let min: usize = min
        .parse()
        .map_err(|_| bad(format!("minimum size {min:?} is not a non-negative integer")))?;
    let max: usize = max
        .parse()
        .map_err(|_| bad(format!("maximum size {max:?} is not a non-negative integer")))?;
    if max < min {
        return Err(bad(format!("maximum size {max} is below minimum size {min}")));
    }
    if max == 0 {
        return Err(bad("maximum size must be at least 1".into()));
    }
    if name.is_empty() {
        return Err(bad("the group name is empty".into()));
    }
    Ok(StaticGroup {
        name: name.to_string(),
        min,
        max,
    })
}

impl fmt::Display for TagFilter {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.value {
            Some(v) => write!(f, "{}={v}", self.key),
            None => f.write_str(&self.key),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn tag(key: &str, value: Option<&str>) -> TagFilter {
        TagFilter {
            key: key.into(),
            value: value.map(Into::into),
        }
    }

    #[test]
    fn auto_discovery_takes_keys_and_key_value_pairs() {
        let got = parse_auto_discovery(
            "asg:tag=k8s.io/cluster-autoscaler/enabled,k8s.io/cluster-autoscaler/prod=owned",
        )
        .unwrap();
        assert_eq!(
            got,
            vec![
                tag("k8s.io/cluster-autoscaler/enabled", None),
                tag("k8s.io/cluster-autoscaler/prod", Some("owned")),
            ]
        );
        // An empty value after `=` is a required empty value, not "any value".
        assert_eq!(
            parse_auto_discovery("asg:tag=k=").unwrap(),
            vec![tag("k", Some(""))]
        );
    }

    #[test]
    fn bad_auto_discovery_specs_are_refused_by_value() {
        for (spec, reason) in [
            ("asg", "expected asg:tag="),
            ("mig:tag=a", "unsupported discoverer \"mig\""),
            ("asg:label=a", "unsupported parameter \"label\""),
            ("asg:tag", "expected tag="),
            ("asg:tag=", "no tags given"),
            ("asg:tag=a,,b", "a tag key is empty"),
            ("asg:tag=a,a=1", "given twice"),
        ] {
            let err = parse_auto_discovery(spec).unwrap_err().to_string();
            assert!(err.contains(&format!("{spec:?}")), "{err}");
            assert!(err.contains(reason), "{spec}: {err}");
        }
    }

    #[test]
    fn nodes_specs_give_bounds_and_name() {
        assert_eq!(
            parse_nodes("0:10:my-asg").unwrap(),
            StaticGroup {
                name: "my-asg".into(),
                min: 0,
                max: 10,
            }
        );
        // Names may contain colons (only the first two separate).
        assert_eq!(parse_nodes("1:2:a:b").unwrap().name, "a:b");
    }

    #[test]
    fn bad_nodes_specs_are_refused_by_value() {
        for (spec, reason) in [
            ("my-asg", "expected <min>:<max>:<name>"),
            ("1:10", "expected <min>:<max>:<name>"),
            ("-1:10:a", "minimum size \"-1\""),
            ("1:x:a", "maximum size \"x\""),
            ("5:2:a", "maximum size 2 is below minimum size 5"),
            ("0:0:a", "at least 1"),
            ("1:2:", "name is empty"),
        ] {
            let err = parse_nodes(spec).unwrap_err().to_string();
            assert!(err.starts_with(&format!("invalid --nodes {spec:?}")), "{err}");
            assert!(err.contains(reason), "{spec}: {err}");
        }
    }

    #[test]
    fn discovery_needs_at_least_one_group_and_no_duplicates() {
        assert_eq!(AwsOptions::default().discovery(), Err(OptionsError::NoGroups));
        let options = AwsOptions {
            nodes: vec!["1:2:a".into(), "0:3:a".into()],
            ..AwsOptions::default()
        };
        assert!(options.discovery().unwrap_err().to_string().contains("\"0:3:a\""));
        let options = AwsOptions {
            auto_discovery: vec!["asg:tag=x".into()],
            nodes: vec!["1:2:a".into()],
            ..AwsOptions::default()
        };
        let d = options.discovery().unwrap();
        assert_eq!(d.tag_specs, vec![vec![tag("x", None)]]);
        assert_eq!(d.static_groups.len(), 1);
    }
}
