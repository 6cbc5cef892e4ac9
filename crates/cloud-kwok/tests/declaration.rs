//! The node-group declaration: a good file read field by field, and each kind of bad input refused
//! with a message that names the group, the field and the line.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use swell_cloud_kwok::declaration::{self, Error};
use swell_node_autoscaler::model::TaintEffect;

const GOOD: &str = r#"
nodeGroups:
  small:
    minSize: 0
    maxSize: 10
    pricePerHour: 0.096
    template:
      cpu: "4"
      memory: 16Gi
      pods: 110
      labels:
        type: kwok
      taints:
        - {key: kwok.x-k8s.io/node, value: fake, effect: NoSchedule}
  gpu:
    minSize: 1
    maxSize: 3
    template:
      cpu: 7500m
      memory: "64Gi"
      pods: "58"
      ephemeralStorage: 100Gi
      extendedResources:
        nvidia.com/gpu: 1
"#;

fn err(text: &str) -> String {
    declaration::parse(text, "groups.yaml").unwrap_err().to_string()
}

/// `GOOD` with one line replaced.
fn good_with(line: &str, replacement: &str) -> String {
    assert!(GOOD.contains(line), "{line:?} is not in the good declaration");
    GOOD.replacen(line, replacement, 1)
}

#[test]
fn a_good_declaration_reads_every_field_exactly() {
    let d = declaration::parse(GOOD, "groups.yaml").unwrap();
    let names: Vec<&str> = d.node_groups.keys().map(|n| n.as_str()).collect();
    assert_eq!(names, ["gpu", "small"]);

    let small = d.group("small").unwrap();
    assert_eq!((small.min_size, small.max_size), (0, 10));
    assert_eq!(small.price_per_hour, Some(0.096));
    let r = &small.template.resources;
    assert_eq!(r["cpu"].text, "4");
    assert_eq!(r["cpu"].quantity.milli_value(), 4000);
    assert_eq!(r["memory"].quantity.value(), 16 * 1024 * 1024 * 1024);
    assert_eq!(r["pods"].quantity.value(), 110);
    assert_eq!(
        r.len(),
        3,
        "no ephemeral storage or extended resources declared: {r:?}"
    );
    assert_eq!(small.template.labels["type"], "kwok");
    assert_eq!(small.template.taints.len(), 1);
    assert_eq!(small.template.taints[0].key, "kwok.x-k8s.io/node");
    assert_eq!(small.template.taints[0].value, "fake");
    assert_eq!(small.template.taints[0].effect, TaintEffect::NoSchedule);

    let gpu = d.group("gpu").unwrap();
    assert_eq!(gpu.price_per_hour, None);
    let r = &gpu.template.resources;
    assert_eq!(r["cpu"].quantity.milli_value(), 7500);
    assert_eq!(r["pods"].text, "58");
    assert_eq!(r["ephemeral-storage"].quantity.value(), 100 * 1024 * 1024 * 1024);
    assert_eq!(r["nvidia.com/gpu"].text, "1");
    assert!(gpu.template.labels.is_empty() && gpu.template.taints.is_empty());
}

#[test]
fn the_shipped_example_configmap_parses() {
    let manifest = include_str!("../../../deploy/node-autoscaler/kwok-node-groups.yaml");
    let cm: serde_yaml_ng::Value = serde_yaml_ng::from_str(manifest).unwrap();
    assert_eq!(cm["kind"], "ConfigMap");
    let text = cm["data"][declaration::DEFAULT_KEY].as_str().unwrap();
    let d = declaration::parse(text, "example").unwrap();
    assert!(!d.node_groups.is_empty());
}

#[test]
fn a_file_is_read_and_a_missing_file_is_named() {
    let dir = std::env::temp_dir().join(format!("swell-kwok-decl-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let path = dir.join("groups.yaml");
    std::fs::write(&path, GOOD).unwrap();
    assert_eq!(declaration::load_file(&path).unwrap().node_groups.len(), 2);

    std::fs::write(&path, good_with("      cpu: \"4\"", "      cpus: \"4\"")).unwrap();
    let message = declaration::load_file(&path).unwrap_err().to_string();
    assert!(
        message.starts_with(&format!(
            "failed to parse the node-group declaration {}: nodeGroups.small.template: unknown field `cpus`",
            path.display()
        )),
        "{message}"
    );

    let missing = dir.join("nope.yaml");
    let e = declaration::load_file(&missing).unwrap_err();
    assert!(matches!(e, Error::Read { .. }), "{e:?}");
    assert!(
        e.to_string().starts_with(&format!(
            "failed to read the node-group declaration {}: ",
            missing.display()
        )),
        "{e}"
    );
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn each_kind_of_bad_input_is_refused_naming_the_group_the_field_and_the_line() {
    struct Case {
        name: &'static str,
        text: String,
        want: &'static str,
    }
    let p = "failed to parse the node-group declaration groups.yaml: ";
    let cases = [
        Case {
            name: "an unknown template field",
            text: good_with("      cpu: \"4\"", "      cpus: \"4\""),
            want: "nodeGroups.small.template: unknown field `cpus`, expected one of `cpu`, `memory`, `pods`, \
                   `ephemeralStorage`, `extendedResources`, `labels`, `taints` at line 8 column 7",
        },
        Case {
            name: "an unknown group field",
            text: good_with("    pricePerHour: 0.096", "    price: 0.096"),
            want: "nodeGroups.small: unknown field `price`, expected one of `minSize`, `maxSize`, \
                   `pricePerHour`, `template` at line 6 column 5",
        },
        Case {
            name: "an unknown top-level field",
            text: format!("nodeGroup: {{}}\n{GOOD}"),
            // The top level has no path, and serde_yaml_ng gives it no line.
            want: "unknown field `nodeGroup`, expected `nodeGroups`",
        },
        Case {
            name: "an unknown taint field",
            text: good_with("effect: NoSchedule}", "effect: NoSchedule, time: now}"),
            want: "nodeGroups.small.template.taints[0]: unknown field `time`, expected one of `key`, `value`, \
                   `effect` at line 14 column 70",
        },
        Case {
            name: "a group name that is not a DNS-1123 label",
            text: good_with("  gpu:", "  GPU_nodes:"),
            want: "nodeGroups: invalid node group name \"GPU_nodes\": a lowercase RFC 1123 label must consist \
                   of lower case alphanumeric characters or '-', and must start and end with an alphanumeric \
                   character (e.g. 'my-name',  or '123-abc', regex used for validation is \
                   '[a-z0-9]([-a-z0-9]*[a-z0-9])?') at line 15 column 3",
        },
        Case {
            name: "a group name too long for its node names",
            text: good_with("  gpu:", &format!("  {}:", "g".repeat(58))),
            want: "nodeGroups: invalid node group name \"gggggggggggggggggggggggggggggggggggggggggggggggggggggggggg\": \
                   must be no more than 57 characters, so that node names <group>-<5 characters> fit the \
                   hostname label at line 15 column 3",
        },
        Case {
            name: "a group declared twice",
            text: format!("{GOOD}  small:\n    minSize: 0\n"),
            want: "nodeGroups: node group \"small\" is declared twice at line 25 column 3",
        },
        Case {
            name: "minSize above maxSize",
            text: good_with("    minSize: 1", "    minSize: 4"),
            want: "nodeGroups.gpu: minSize 4 is greater than maxSize 3 at line 16 column 5",
        },
        Case {
            name: "a negative size",
            text: good_with("    minSize: 1", "    minSize: -1"),
            want: "nodeGroups.gpu.minSize: invalid type: integer `-1`, expected usize at line 16 column 14",
        },
        Case {
            name: "a negative price",
            text: good_with("    pricePerHour: 0.096", "    pricePerHour: -1.5"),
            want: "nodeGroups.small: pricePerHour: -1.5 is not a price (a finite number, zero or more) \
                   at line 4 column 5",
        },
        Case {
            name: "a quantity that does not parse",
            text: good_with("      memory: 16Gi", "      memory: 16GB"),
            want: "nodeGroups.small.template.memory: invalid quantity \"16GB\": quantities must match the \
                   regular expression '^([+-]?[0-9.]+)([eEinumkKMGTP]*[-+]?[0-9]*)$' at line 9 column 15",
        },
        Case {
            name: "a quantity written as a YAML float",
            text: good_with("      cpu: 7500m", "      cpu: 7.5"),
            want: "nodeGroups.gpu.template.cpu: 7.5 is a YAML float; write the quantity as a string (\"7.5\") \
                   so that it is read exactly at line 19 column 12",
        },
        Case {
            name: "a negative quantity",
            text: good_with("      ephemeralStorage: 100Gi", "      ephemeralStorage: -1Gi"),
            want: "nodeGroups.gpu.template.ephemeralStorage: quantity \"-1Gi\" must not be negative \
                   at line 22 column 25",
        },
        Case {
            name: "zero pods",
            text: good_with("      pods: 110", "      pods: 0"),
            want: "nodeGroups.small.template: pods: must be greater than zero at line 8 column 7",
        },
        Case {
            name: "a missing required field",
            text: good_with("      memory: \"64Gi\"\n", ""),
            want: "nodeGroups.gpu.template: missing field `memory` at line 19 column 7",
        },
        Case {
            name: "a standard resource among the extended ones",
            text: good_with("        nvidia.com/gpu: 1", "        memory: 1Gi"),
            want: "nodeGroups.gpu.template: extendedResources[memory]: memory has its own field \
                   at line 19 column 7",
        },
        Case {
            name: "a label the provider sets itself",
            text: good_with("        type: kwok", "        kubernetes.io/hostname: x"),
            want: "nodeGroups.small.template: labels[kubernetes.io/hostname]: set by the provider on every \
                   node at line 8 column 7",
        },
        Case {
            name: "an invalid label value",
            text: good_with("        type: kwok", "        type: \"fake nodes\""),
            want: "nodeGroups.small.template: labels[type]: invalid label value \"fake nodes\": a valid label \
                   must be an empty string or consist of alphanumeric characters, '-', '_' or '.', and must \
                   start and end with an alphanumeric character (e.g. 'MyValue',  or 'my_value',  or '12345', \
                   regex used for validation is '(([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9])?') \
                   at line 8 column 7",
        },
        Case {
            name: "an unknown taint effect",
            text: good_with("effect: NoSchedule}", "effect: NoScheduling}"),
            want: "nodeGroups.small.template.taints[0].effect: unknown variant `NoScheduling`, expected one of \
                   `NoSchedule`, `PreferNoSchedule`, `NoExecute` at line 14 column 58",
        },
        Case {
            name: "a taint declared twice",
            text: good_with(
                "        - {key: kwok.x-k8s.io/node, value: fake, effect: NoSchedule}",
                "        - {key: a, effect: NoSchedule}\n        - {key: a, value: b, effect: NoSchedule}",
            ),
            want: "nodeGroups.small.template: taints[1]: taint a:NoSchedule is declared twice \
                   at line 8 column 7",
        },
        Case {
            name: "no groups at all",
            text: "nodeGroups: {}\n".to_owned(),
            want: "nodeGroups: declares no node group",
        },
        Case {
            name: "not YAML",
            text: "nodeGroups:\n  small: {minSize: 1\n".to_owned(),
            want: "did not find expected ',' or '}' at line 3 column 1, while parsing a flow mapping at line 2 column 10",
        },
    ];
    let mut failures = Vec::new();
    for case in &cases {
        let got = err(&case.text);
        let want = format!("{p}{}", case.want);
        if got != want {
            failures.push(format!("{}:\n   got: {got}\n  want: {want}", case.name));
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}
