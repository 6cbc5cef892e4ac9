//! Conversion of API objects, written as users write them (JSON), to the model.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::sync::Arc;

use jiff::{SignedDuration, Timestamp};
use k8s_openapi::api::apps::v1::DaemonSet;
use k8s_openapi::api::core::v1::{Node, Pod};
use k8s_openapi::api::policy::v1::PodDisruptionBudget;
use serde_json::{Value, json};
use swell_core::pod::PodPhase;
use swell_node_autoscaler::convert::{
    ConvertError, ConvertOptions, Converter, DurationError, parse_go_duration, template_from_node,
};
use swell_node_autoscaler::model::{
    HostPort, NodeSelectorOperator, NodeSelectorRequirement, SafeToEvict, Taint, TaintEffect, Toleration,
    TolerationOperator, Volume, VolumeKind,
};
use swell_node_autoscaler::resources::Resources;

const CREATED: &str = "2026-11-25T10:00:00Z";
const SCALE_DOWN_DISABLED: &str = "cluster-autoscaler.kubernetes.io/scale-down-disabled";

/// Merges `patch` into `base`, objects key by key, anything else replaced.
fn merge(base: &mut Value, patch: Value) {
    match (base, patch) {
        (Value::Object(base), Value::Object(patch)) => {
            for (k, v) in patch {
                merge(base.entry(k).or_insert(Value::Null), v);
            }
        }
        (base, patch) => *base = patch,
    }
}

/// A pod `shop/web-1` with one container of 100m / 128Mi, patched by `patch`.
fn pod_json(patch: Value) -> Pod {
    let mut v = json!({
        "apiVersion": "v1",
        "kind": "Pod",
        "metadata": {"name": "web-1", "namespace": "shop", "creationTimestamp": CREATED},
        "spec": {"containers": [
            {"name": "app", "resources": {"requests": {"cpu": "100m", "memory": "128Mi"}}}
        ]}
    });
    merge(&mut v, patch);
    serde_json::from_value(v).unwrap()
}

fn pod(patch: Value) -> swell_node_autoscaler::model::Pod {
    Converter::new().pod(&pod_json(patch)).unwrap()
}

fn pod_err(patch: Value) -> ConvertError {
    Converter::new().pod(&pod_json(patch)).unwrap_err()
}

fn with_spec(spec: Value) -> Value {
    json!({"spec": spec})
}

fn annotated(key: &str, value: &str) -> Value {
    json!({"metadata": {"annotations": {key: value}}})
}

fn node_json(patch: Value) -> Node {
    let mut v = json!({
        "apiVersion": "v1",
        "kind": "Node",
        "metadata": {
            "name": "ip-10-0-0-1",
            "creationTimestamp": CREATED,
            "labels": {"kubernetes.io/hostname": "ip-10-0-0-1", "topology.kubernetes.io/zone": "eu-west-1a"}
        },
        "spec": {},
        "status": {
            "allocatable": {"cpu": "3920m", "memory": "15Gi", "pods": "110", "ephemeral-storage": "100Gi"},
            "capacity": {"cpu": "4", "memory": "16Gi", "pods": "110", "ephemeral-storage": "120Gi"},
            "conditions": [
                {"type": "MemoryPressure", "status": "False"},
                {"type": "Ready", "status": "True", "lastTransitionTime": "2026-11-25T10:01:00Z"}
            ]
        }
    });
    merge(&mut v, patch);
    serde_json::from_value(v).unwrap()
}

fn node(patch: Value) -> swell_node_autoscaler::model::Node {
    Converter::new()
        .node(&node_json(patch), Some("workers".into()))
        .unwrap()
}

fn daemonset_json(patch: Value) -> DaemonSet {
    let mut v = json!({
        "apiVersion": "apps/v1",
        "kind": "DaemonSet",
        "metadata": {"name": "fluentd", "namespace": "kube-system", "creationTimestamp": CREATED},
        "spec": {
            "selector": {"matchLabels": {"app": "fluentd"}},
            "template": {
                "metadata": {"labels": {"app": "fluentd"}},
                "spec": {
                    "containers": [
                        {"name": "fluentd", "resources": {"requests": {"cpu": "50m", "memory": "200Mi"}}}
                    ],
                    "tolerations": [{"key": "dedicated", "operator": "Exists"}]
                }
            }
        }
    });
    merge(&mut v, patch);
    serde_json::from_value(v).unwrap()
}

fn ts(s: &str) -> Timestamp {
    s.parse().unwrap()
}

const MI: i64 = 1 << 20;
const GI: i64 = 1 << 30;

// ---------------------------------------------------------------- requests

#[test]
fn a_pod_requests_its_containers_and_one_pod_slot() {
    let p = pod(with_spec(json!({"containers": [
        {"name": "app", "resources": {"requests": {"cpu": "100m", "memory": "128Mi"}}},
        {"name": "log", "resources": {"requests": {"cpu": "0.25", "memory": "64Mi"}}}
    ]})));
    assert_eq!(p.requests, Resources::cpu_mem(350, 192 * MI).with_pods(1));
    assert_eq!(
        (p.namespace.as_str(), p.name.as_str(), p.key()),
        ("shop", "web-1", "shop/web-1".into())
    );
    assert_eq!(p.created, ts(CREATED));
}

#[test]
fn init_containers_and_sidecars_fold_into_the_requests() {
    // Regular + sidecar = 150m; the plain init container runs beside the sidecar started before it:
    // 500m + 50m = 550m, the peak. Memory: 100Mi + 20Mi = 120Mi beats 10Mi + 20Mi.
    let p = pod(with_spec(json!({
        "containers": [{"name": "app", "resources": {"requests": {"cpu": "100m", "memory": "100Mi"}}}],
        "initContainers": [
            {"name": "proxy", "restartPolicy": "Always",
             "resources": {"requests": {"cpu": "50m", "memory": "20Mi"}}},
            {"name": "migrate", "resources": {"requests": {"cpu": "500m", "memory": "10Mi"}}}
        ]
    })));
    assert_eq!(p.requests, Resources::cpu_mem(550, 120 * MI).with_pods(1));
}

#[test]
fn the_overhead_is_added_to_the_requests() {
    let p = pod(with_spec(json!({"overhead": {"cpu": "250m", "memory": "120Mi"}})));
    assert_eq!(p.requests, Resources::cpu_mem(350, 248 * MI).with_pods(1));
}

#[test]
fn pod_level_requests_replace_the_container_sum_unless_the_gate_is_off() {
    let spec = with_spec(json!({"resources": {"requests": {"cpu": "2", "memory": "1Gi"}}}));
    assert!(
        ConvertOptions::default().pod_level_resources,
        "on by default in 1.36"
    );
    let on = Converter::new().pod(&pod_json(spec.clone())).unwrap();
    assert_eq!(on.requests, Resources::cpu_mem(2000, GI).with_pods(1));
    let mut off = Converter::with_options(ConvertOptions {
        pod_level_resources: false,
    });
    let off = off.pod(&pod_json(spec)).unwrap();
    assert_eq!(off.requests, Resources::cpu_mem(100, 128 * MI).with_pods(1));
}

#[test]
fn extended_resources_and_ephemeral_storage_are_kept() {
    let p = pod(with_spec(
        json!({"containers": [{"name": "app", "resources": {"requests": {
            "cpu": "1", "memory": "1Gi", "nvidia.com/gpu": "2", "ephemeral-storage": "2Gi"
        }}}]}),
    ));
    let want = Resources::cpu_mem(1000, GI)
        .with_pods(1)
        .with_extended("nvidia.com/gpu", 2)
        .with_ephemeral_storage(2 * GI);
    assert_eq!(p.requests, want);
}

#[test]
fn priority_is_zero_when_unset_and_read_when_set() {
    assert_eq!(pod(json!({})).priority, 0);
    assert_eq!(pod(with_spec(json!({"priority": 1000}))).priority, 1000);
    assert_eq!(pod(with_spec(json!({"priority": -10}))).priority, -10);
}

// ---------------------------------------------------------------- identity

#[test]
fn the_controlling_owner_is_kept_and_its_cached_facts_are_left_to_the_caller() {
    let p = pod(json!({"metadata": {"ownerReferences": [
        {"apiVersion": "v1", "kind": "ConfigMap", "name": "cfg", "uid": "u-0"},
        {"apiVersion": "apps/v1", "kind": "ReplicaSet", "name": "web-7d9f", "uid": "u-1", "controller": true}
    ]}}));
    let owner = p.owner.unwrap();
    assert_eq!(
        (owner.kind.as_str(), owner.name.as_str(), owner.uid.as_str()),
        ("ReplicaSet", "web-7d9f", "u-1")
    );
    assert_eq!((owner.exists, owner.replicas), (None, None));
    let orphan = pod(json!({"metadata": {"ownerReferences": [
        {"apiVersion": "v1", "kind": "ConfigMap", "name": "cfg", "uid": "u-0"}
    ]}}));
    assert!(orphan.owner.is_none(), "a non-controller reference is no owner");
}

#[test]
fn labels_phase_node_deletion_and_grace_period_are_read() {
    let p = pod(json!({
        "metadata": {"labels": {"app": "web"}, "deletionTimestamp": "2026-11-25T11:00:00Z"},
        "spec": {"nodeName": "ip-10-0-0-1", "terminationGracePeriodSeconds": 120},
        "status": {"phase": "Running"}
    }));
    assert_eq!(p.labels.get("app").map(String::as_str), Some("web"));
    assert_eq!(p.node_name.as_deref(), Some("ip-10-0-0-1"));
    assert_eq!(p.phase, PodPhase::Running);
    assert_eq!(p.deletion_timestamp, Some(ts("2026-11-25T11:00:00Z")));
    assert_eq!(p.termination_grace_seconds, 120);
    let bare = pod(json!({}));
    assert_eq!(bare.termination_grace_seconds, 30, "the API default");
    assert_eq!(
        (bare.node_name, bare.deletion_timestamp, bare.phase),
        (None, None, PodPhase::Unknown)
    );
    assert!(pod(json!({"status": {"phase": "Succeeded"}})).is_terminal());
}

#[test]
fn a_mirror_pod_is_recognised_by_its_annotation() {
    assert!(pod(annotated("kubernetes.io/config.mirror", "abc")).mirror);
    assert!(!pod(json!({})).mirror);
}

#[test]
fn an_unschedulable_pod_has_pod_scheduled_false_with_reason_unschedulable() {
    let cases = [
        (
            "false with reason unschedulable",
            json!([{"type": "PodScheduled", "status": "False", "reason": "Unschedulable"}]),
            true,
        ),
        (
            "false with another reason",
            json!([{"type": "PodScheduled", "status": "False", "reason": "SchedulerError"}]),
            false,
        ),
        ("true", json!([{"type": "PodScheduled", "status": "True"}]), false),
        (
            "another condition",
            json!([{"type": "Ready", "status": "False", "reason": "Unschedulable"}]),
            false,
        ),
        ("no conditions", json!([]), false),
    ];
    for (name, conditions, want) in cases {
        let p = pod(json!({"status": {"phase": "Pending", "conditions": conditions}}));
        assert_eq!(p.unschedulable, want, "{name}");
    }
}

#[test]
fn scheduling_gates_mark_the_pod_gated() {
    assert!(
        pod(with_spec(
            json!({"schedulingGates": [{"name": "example.com/quota"}]})
        ))
        .scheduling_gated
    );
    assert!(!pod(with_spec(json!({"schedulingGates": []}))).scheduling_gated);
    assert!(!pod(json!({})).scheduling_gated);
}

// ---------------------------------------------------------------- scheduling spec

#[test]
fn node_selector_and_every_node_affinity_operator_are_converted() {
    let p = pod(with_spec(json!({
        "nodeSelector": {"kubernetes.io/os": "linux"},
        "affinity": {"nodeAffinity": {"requiredDuringSchedulingIgnoredDuringExecution": {
          "nodeSelectorTerms": [
            {"matchExpressions": [
                {"key": "zone", "operator": "In", "values": ["a", "b"]},
                {"key": "arch", "operator": "NotIn", "values": ["arm64"]},
                {"key": "gpu", "operator": "Exists"},
                {"key": "spot", "operator": "DoesNotExist"},
                {"key": "cores", "operator": "Gt", "values": ["4"]},
                {"key": "gen", "operator": "Lt", "values": ["7"]}
            ]},
            {"matchFields": [{"key": "metadata.name", "operator": "NotIn", "values": ["ip-10-0-0-9"]}]}
          ]
        }}}
    })));
    let s = &p.scheduling;
    assert_eq!(
        s.node_selector.get("kubernetes.io/os").map(String::as_str),
        Some("linux")
    );
    let terms = s.node_affinity.as_ref().unwrap();
    let req = |key: &str, operator, values: &[&str]| NodeSelectorRequirement {
        key: key.into(),
        operator,
        values: values.iter().map(|v| (*v).to_string()).collect(),
    };
    assert_eq!(
        terms[0].match_expressions,
        vec![
            req("zone", NodeSelectorOperator::In, &["a", "b"]),
            req("arch", NodeSelectorOperator::NotIn, &["arm64"]),
            req("gpu", NodeSelectorOperator::Exists, &[]),
            req("spot", NodeSelectorOperator::DoesNotExist, &[]),
            req("cores", NodeSelectorOperator::Gt, &["4"]),
            req("gen", NodeSelectorOperator::Lt, &["7"]),
        ]
    );
    assert!(terms[0].match_fields.is_empty());
    assert!(terms[1].match_expressions.is_empty());
    assert_eq!(
        terms[1].match_fields,
        vec![req(
            "metadata.name",
            NodeSelectorOperator::NotIn,
            &["ip-10-0-0-9"]
        )]
    );
}

#[test]
fn preferred_node_affinity_alone_is_no_required_affinity() {
    let p = pod(with_spec(
        json!({"affinity": {"nodeAffinity": {"preferredDuringSchedulingIgnoredDuringExecution": [
            {"weight": 1,
             "preference": {"matchExpressions": [{"key": "zone", "operator": "In", "values": ["a"]}]}}
        ]}}}),
    ));
    assert_eq!(p.scheduling.node_affinity, None);
}

#[test]
fn tolerations_default_to_equal_and_to_every_effect() {
    let p = pod(with_spec(json!({"tolerations": [
        {"key": "dedicated", "value": "batch", "effect": "NoSchedule"},
        {"key": "spot", "operator": "Exists"},
        {"operator": "Exists"},
        {"key": "node.kubernetes.io/not-ready", "operator": "Exists", "effect": "NoExecute",
         "tolerationSeconds": 300}
    ]})));
    let t = |key: &str, operator, value: &str, effect| Toleration {
        key: key.into(),
        operator,
        value: value.into(),
        effect,
    };
    assert_eq!(
        p.scheduling.tolerations,
        vec![
            t(
                "dedicated",
                TolerationOperator::Equal,
                "batch",
                Some(TaintEffect::NoSchedule)
            ),
            t("spot", TolerationOperator::Exists, "", None),
            t("", TolerationOperator::Exists, "", None),
            t(
                "node.kubernetes.io/not-ready",
                TolerationOperator::Exists,
                "",
                Some(TaintEffect::NoExecute)
            ),
        ]
    );
    assert!(p.scheduling.tolerations[2].tolerates(&Taint::new("anything", "x", TaintEffect::NoExecute)));
}

#[test]
fn host_ports_come_from_containers_and_sidecars_with_tcp_by_default() {
    let p = pod(with_spec(json!({
        "containers": [{"name": "app", "ports": [
            {"containerPort": 8080},
            {"containerPort": 8080, "hostPort": 80},
            {"containerPort": 53, "hostPort": 53, "protocol": "UDP", "hostIP": "10.0.0.1"}
        ]}],
        "initContainers": [
            {"name": "setup", "ports": [{"containerPort": 9000, "hostPort": 9000}]},
            {"name": "proxy", "restartPolicy": "Always",
             "ports": [{"containerPort": 15001, "hostPort": 15001, "protocol": "SCTP"}]}
        ]
    })));
    let hp = |port, protocol: &str, ip: &str| HostPort {
        port,
        protocol: protocol.into(),
        ip: ip.into(),
    };
    assert_eq!(
        p.scheduling.host_ports,
        vec![
            hp(15001, "SCTP", ""),
            hp(80, "TCP", ""),
            hp(53, "UDP", "10.0.0.1")
        ],
        "sidecars first like the scheduler; a plain init container has exited and holds no port"
    );
}

#[test]
fn pod_affinity_and_anti_affinity_terms_keep_selectors_namespaces_and_topology() {
    let p = pod(with_spec(json!({"affinity": {
        "podAffinity": {"requiredDuringSchedulingIgnoredDuringExecution": [{
            "labelSelector": {"matchLabels": {"app": "cache"}},
            "namespaces": ["infra"],
            "topologyKey": "topology.kubernetes.io/zone"
        }]},
        "podAntiAffinity": {"requiredDuringSchedulingIgnoredDuringExecution": [{
            "labelSelector": {"matchExpressions": [
                {"key": "app", "operator": "In", "values": ["web", "api"]}
            ]},
            "namespaceSelector": {},
            "topologyKey": "kubernetes.io/hostname"
        }]}
    }})));
    let s = &p.scheduling;
    assert_eq!(s.pod_affinity.len(), 1);
    let a = &s.pod_affinity[0];
    assert_eq!(a.selector.to_string(), "app=cache");
    assert_eq!(a.namespaces, vec!["infra".to_string()]);
    assert!(a.namespace_selector.is_none());
    assert_eq!(a.topology_key, "topology.kubernetes.io/zone");
    let anti = &s.pod_anti_affinity[0];
    assert_eq!(anti.selector.to_string(), "app in (api,web)");
    assert!(
        anti.namespace_selector.as_ref().unwrap().is_empty(),
        "{{}} selects every namespace"
    );
    assert!(anti.namespaces.is_empty());
    assert_eq!(anti.topology_key, "kubernetes.io/hostname");
}

#[test]
fn an_affinity_term_without_a_label_selector_matches_no_pod() {
    let p = pod(with_spec(
        json!({"affinity": {"podAntiAffinity": {"requiredDuringSchedulingIgnoredDuringExecution": [
            {"topologyKey": "kubernetes.io/hostname"}
        ]}}}),
    ));
    let term = &p.scheduling.pod_anti_affinity[0];
    assert!(term.selector.is_nothing());
    assert!(!term.selector.matches(&p.labels));
}

#[test]
fn volumes_are_classified_by_kind() {
    let p = pod(with_spec(json!({"volumes": [
        {"name": "logs", "hostPath": {"path": "/var/log"}},
        {"name": "scratch", "emptyDir": {}},
        {"name": "shm", "emptyDir": {"medium": "Memory"}},
        {"name": "data", "persistentVolumeClaim": {"claimName": "data-0"}},
        {"name": "cfg", "configMap": {"name": "cfg"}}
    ]})));
    let v = |name: &str, kind| Volume {
        name: name.into(),
        kind,
    };
    assert_eq!(
        p.volumes,
        vec![
            v("logs", VolumeKind::HostPath),
            v("scratch", VolumeKind::EmptyDir { memory: false }),
            v("shm", VolumeKind::EmptyDir { memory: true }),
            v("data", VolumeKind::Other),
            v("cfg", VolumeKind::Other),
        ]
    );
}

// ---------------------------------------------------------------- annotations

#[test]
fn each_safe_to_evict_value_is_read() {
    let key = "cluster-autoscaler.kubernetes.io/safe-to-evict";
    assert_eq!(pod(json!({})).safe_to_evict, SafeToEvict::Unset);
    assert_eq!(pod(annotated(key, "true")).safe_to_evict, SafeToEvict::True);
    assert_eq!(pod(annotated(key, "false")).safe_to_evict, SafeToEvict::False);
    assert_eq!(
        pod(annotated(key, "on-completion")).safe_to_evict,
        SafeToEvict::OnCompletion
    );
}

#[test]
fn safe_to_evict_local_volumes_is_a_comma_list_with_spaces_and_empty_slots_ignored() {
    let p = pod(annotated(
        "cluster-autoscaler.kubernetes.io/safe-to-evict-local-volumes",
        "scratch, logs,,",
    ));
    assert_eq!(
        p.safe_to_evict_local_volumes,
        vec!["scratch".to_string(), "logs".to_string()]
    );
    assert!(pod(json!({})).safe_to_evict_local_volumes.is_empty());
}

#[test]
fn the_pod_scale_up_delay_is_a_go_duration() {
    let p = pod(annotated(
        "cluster-autoscaler.kubernetes.io/pod-scale-up-delay",
        "1m30s",
    ));
    assert_eq!(p.scale_up_delay, Some(SignedDuration::from_secs(90)));
    assert_eq!(pod(json!({})).scale_up_delay, None);
}

#[test]
fn go_durations_parse_like_time_parse_duration() {
    let cases = [
        ("0", 0),
        ("30s", 30_000_000_000),
        ("1m30s", 90_000_000_000),
        ("1h", 3_600_000_000_000),
        ("1.5h", 5_400_000_000_000),
        (".5s", 500_000_000),
        ("1.s", 1_000_000_000),
        ("300ms", 300_000_000),
        ("-2m", -120_000_000_000),
        ("+5s", 5_000_000_000),
        ("1us", 1_000),
        ("1µs", 1_000),
        ("1μs", 1_000),
        ("7ns", 7),
        ("1h2m3s4ms5us6ns", 3_723_004_005_006),
        ("0.0000000015s", 1),
        ("9223372036854775807ns", i64::MAX),
        ("-9223372036854775808ns", i64::MIN),
    ];
    for (input, nanos) in cases {
        assert_eq!(
            parse_go_duration(input),
            Ok(SignedDuration::from_nanos(nanos)),
            "{input}"
        );
    }
}

#[test]
fn malformed_go_durations_are_refused_with_go_messages() {
    let cases = [
        ("", "invalid duration \"\""),
        ("-", "invalid duration \"-\""),
        (".s", "invalid duration \".s\""),
        ("30", "missing unit in duration \"30\""),
        ("1m30", "missing unit in duration \"1m30\""),
        ("5 m", "unknown unit \" m\" in duration \"5 m\""),
        ("3d", "unknown unit \"d\" in duration \"3d\""),
        (
            "9223372036854775808ns",
            "invalid duration \"9223372036854775808ns\"",
        ),
        ("3000000h", "invalid duration \"3000000h\""),
    ];
    for (input, want) in cases {
        assert_eq!(parse_go_duration(input).unwrap_err().to_string(), want, "{input}");
    }
    assert!(matches!(
        parse_go_duration("1x"),
        Err(DurationError::UnknownUnit { .. })
    ));
}

// ---------------------------------------------------------------- interning

#[test]
fn replicas_with_equal_specs_share_one_arc() {
    let mut c = Converter::new();
    let spec = with_spec(
        json!({"tolerations": [{"key": "spot", "operator": "Exists"}], "nodeSelector": {"pool": "a"}}),
    );
    let mut a = spec.clone();
    merge(&mut a, json!({"metadata": {"name": "web-1"}}));
    let mut b = spec;
    merge(
        &mut b,
        json!({"metadata": {"name": "web-2"}, "spec": {"nodeName": "n1"}}),
    );
    let a = c.pod(&pod_json(a)).unwrap();
    let b = c.pod(&pod_json(b)).unwrap();
    assert!(Arc::ptr_eq(&a.scheduling, &b.scheduling));
    let other = c
        .pod(&pod_json(with_spec(json!({"nodeSelector": {"pool": "b"}}))))
        .unwrap();
    assert!(!Arc::ptr_eq(&a.scheduling, &other.scheduling));
    assert_eq!(c.interned(), 2);
}

#[test]
fn pruning_drops_only_the_specs_no_pod_holds() {
    let mut c = Converter::new();
    let kept = c
        .pod(&pod_json(with_spec(json!({"nodeSelector": {"pool": "a"}}))))
        .unwrap();
    drop(
        c.pod(&pod_json(with_spec(json!({"nodeSelector": {"pool": "b"}}))))
            .unwrap(),
    );
    assert_eq!(c.interned(), 2);
    c.prune();
    assert_eq!(c.interned(), 1);
    let again = c
        .pod(&pod_json(with_spec(json!({"nodeSelector": {"pool": "a"}}))))
        .unwrap();
    assert!(Arc::ptr_eq(&kept.scheduling, &again.scheduling));
}

// ---------------------------------------------------------------- nodes

#[test]
fn a_node_reads_allocatable_capacity_labels_taints_and_ready() {
    let n = Converter::new()
        .node(
            &node_json(json!({"spec": {"taints": [
                {"key": "dedicated", "value": "batch", "effect": "NoSchedule"},
                {"key": "spot", "effect": "PreferNoSchedule"}
            ]}})),
            Some("workers".into()),
        )
        .unwrap();
    assert_eq!(n.name, "ip-10-0-0-1");
    assert_eq!(n.group.as_deref(), Some("workers"));
    assert_eq!(
        n.allocatable,
        Resources::cpu_mem(3920, 15 * GI)
            .with_pods(110)
            .with_ephemeral_storage(100 * GI)
    );
    assert_eq!(
        n.capacity,
        Resources::cpu_mem(4000, 16 * GI)
            .with_pods(110)
            .with_ephemeral_storage(120 * GI)
    );
    assert_eq!(
        n.labels.get("topology.kubernetes.io/zone").map(String::as_str),
        Some("eu-west-1a")
    );
    assert_eq!(
        n.taints,
        vec![
            Taint::new("dedicated", "batch", TaintEffect::NoSchedule),
            Taint::new("spot", "", TaintEffect::PreferNoSchedule)
        ]
    );
    assert!(n.ready);
    assert_eq!(n.ready_transition, Some(ts("2026-11-25T10:01:00Z")));
    assert!(!n.unschedulable && !n.scale_down_disabled);
    assert_eq!(n.created, ts(CREATED));
    assert!(
        Converter::new()
            .node(&node_json(json!({})), None)
            .unwrap()
            .group
            .is_none()
    );
}

#[test]
fn node_capacity_defaults_to_allocatable_when_absent() {
    let mut v = serde_json::to_value(node_json(json!({}))).unwrap();
    v["status"].as_object_mut().unwrap().remove("capacity");
    let n = Converter::new()
        .node(&serde_json::from_value(v).unwrap(), None)
        .unwrap();
    assert_eq!(n.capacity, n.allocatable);
    assert_eq!(n.capacity.cpu, 3920);
}

#[test]
fn a_node_is_ready_only_with_ready_true() {
    let not_ready = node(json!({"status": {"conditions": [
        {"type": "Ready", "status": "Unknown", "lastTransitionTime": "2026-11-25T10:05:00Z"}
    ]}}));
    assert!(!not_ready.ready);
    assert_eq!(not_ready.ready_transition, Some(ts("2026-11-25T10:05:00Z")));
    let none = node(json!({"status": {"conditions": []}}));
    assert!(!none.ready);
    assert_eq!(none.ready_transition, None);
}

#[test]
fn a_cordoned_node_is_unschedulable_and_the_annotation_disables_scale_down() {
    let n = node(json!({
        "spec": {"unschedulable": true},
        "metadata": {"annotations": {SCALE_DOWN_DISABLED: "true"}}
    }));
    assert!(n.unschedulable);
    assert!(n.scale_down_disabled);
    let n = node(json!({"metadata": {"annotations": {SCALE_DOWN_DISABLED: "false"}}}));
    assert!(!n.scale_down_disabled);
}

#[test]
fn a_template_drops_what_belongs_to_the_example_node_only() {
    let n = node(json!({
        "spec": {"unschedulable": true, "taints": [
            {"key": "ToBeDeletedByClusterAutoscaler", "value": "1764064800", "effect": "NoSchedule"},
            {"key": "DeletionCandidateOfClusterAutoscaler", "value": "1764064800",
             "effect": "PreferNoSchedule"},
            {"key": "node.kubernetes.io/not-ready", "effect": "NoExecute"},
            {"key": "node.kubernetes.io/unschedulable", "effect": "NoSchedule"},
            {"key": "startup-taint.cluster-autoscaler.kubernetes.io/cni", "effect": "NoSchedule"},
            {"key": "dedicated", "value": "batch", "effect": "NoSchedule"}
        ]},
        "metadata": {"annotations": {SCALE_DOWN_DISABLED: "true"}},
        "status": {"conditions": [{"type": "Ready", "status": "False"}]}
    }));
    let t = template_from_node(&n, "spot-pool");
    assert_eq!(
        t.taints,
        vec![Taint::new("dedicated", "batch", TaintEffect::NoSchedule)]
    );
    assert!(!t.unschedulable);
    assert!(t.ready && t.ready_transition.is_none());
    assert!(!t.scale_down_disabled);
    assert!(!t.is_being_deleted());
    assert_eq!(t.name, "template-node-for-spot-pool");
    assert_eq!(t.group.as_deref(), Some("spot-pool"));
    assert_eq!(t.labels, n.labels, "the hostname label is kept");
    assert_eq!((t.allocatable, t.capacity), (n.allocatable, n.capacity));
}

// ---------------------------------------------------------------- PDBs and DaemonSets

fn pdb_json(patch: Value) -> PodDisruptionBudget {
    let mut v = json!({
        "apiVersion": "policy/v1",
        "kind": "PodDisruptionBudget",
        "metadata": {"name": "web", "namespace": "shop"},
        "spec": {"minAvailable": 2}
    });
    merge(&mut v, patch);
    serde_json::from_value(v).unwrap()
}

#[test]
fn a_pdb_without_a_selector_selects_nothing() {
    let status =
        json!({"disruptionsAllowed": 1, "currentHealthy": 3, "desiredHealthy": 2, "expectedPods": 3});
    let pdb = Converter::new()
        .pdb(&pdb_json(json!({"status": status})))
        .unwrap();
    assert!(pdb.selector.is_nothing());
    assert!(!pdb.covers(&pod(json!({"metadata": {"labels": {"app": "web"}}}))));
    assert_eq!(pdb.disruptions_allowed, 1);
}

#[test]
fn a_pdb_reads_its_selector_and_disruptions_allowed() {
    let pdb = Converter::new()
        .pdb(&pdb_json(json!({
            "spec": {"selector": {"matchLabels": {"app": "web"}}},
            "status": {"disruptionsAllowed": 2, "currentHealthy": 4, "desiredHealthy": 2, "expectedPods": 4}
        })))
        .unwrap();
    assert_eq!((pdb.namespace.as_str(), pdb.name.as_str()), ("shop", "web"));
    assert_eq!(pdb.disruptions_allowed, 2);
    assert!(pdb.covers(&pod(json!({"metadata": {"labels": {"app": "web"}}}))));
    assert!(!pdb.covers(&pod(json!({"metadata": {"labels": {"app": "api"}}}))));
    let empty = Converter::new()
        .pdb(&pdb_json(json!({"spec": {"selector": {}}})))
        .unwrap();
    assert!(
        empty.selector.is_empty(),
        "an empty selector is everything in policy/v1"
    );
    assert_eq!(empty.disruptions_allowed, 0, "no status yet allows no disruption");
}

#[test]
fn a_daemonset_yields_its_template_requests_and_spec_with_the_controller_tolerations() {
    let ds = Converter::new().daemonset(&daemonset_json(json!({}))).unwrap();
    assert_eq!(
        (ds.namespace.as_str(), ds.name.as_str()),
        ("kube-system", "fluentd")
    );
    assert_eq!(ds.requests, Resources::cpu_mem(50, 200 * MI).with_pods(1));
    let keys: Vec<_> = ds.scheduling.tolerations.iter().map(|t| t.key.as_str()).collect();
    assert_eq!(
        keys,
        [
            "dedicated",
            "node.kubernetes.io/not-ready",
            "node.kubernetes.io/unreachable",
            "node.kubernetes.io/disk-pressure",
            "node.kubernetes.io/memory-pressure",
            "node.kubernetes.io/pid-pressure",
            "node.kubernetes.io/unschedulable",
        ]
    );
    let host_network = Converter::new()
        .daemonset(&daemonset_json(
            json!({"spec": {"template": {"spec": {"hostNetwork": true}}}}),
        ))
        .unwrap();
    assert_eq!(
        host_network.scheduling.tolerations.last().unwrap().key,
        "node.kubernetes.io/network-unavailable"
    );
}

#[test]
fn a_daemonset_shares_its_spec_with_the_pods_its_controller_made() {
    let mut c = Converter::new();
    let ds = c.daemonset(&daemonset_json(json!({}))).unwrap();
    let exists = |key: &str, effect: &str| json!({"key": key, "operator": "Exists", "effect": effect});
    let p = c
        .pod(&pod_json(json!({
            "metadata": {"name": "fluentd-x7k2p", "namespace": "kube-system"},
            "spec": {"tolerations": [
                {"key": "dedicated", "operator": "Exists"},
                exists("node.kubernetes.io/not-ready", "NoExecute"),
                exists("node.kubernetes.io/unreachable", "NoExecute"),
                exists("node.kubernetes.io/disk-pressure", "NoSchedule"),
                exists("node.kubernetes.io/memory-pressure", "NoSchedule"),
                exists("node.kubernetes.io/pid-pressure", "NoSchedule"),
                exists("node.kubernetes.io/unschedulable", "NoSchedule")
            ]}
        })))
        .unwrap();
    assert!(Arc::ptr_eq(&ds.scheduling, &p.scheduling));
}

// ---------------------------------------------------------------- errors name their field

#[test]
fn an_invalid_anti_affinity_selector_names_its_path() {
    let err = pod_err(with_spec(
        json!({"affinity": {"podAntiAffinity": {"requiredDuringSchedulingIgnoredDuringExecution": [
            {"labelSelector": {"matchExpressions": [{"key": "app", "operator": "Near", "values": ["web"]}]},
             "topologyKey": "kubernetes.io/hostname"}
        ]}}}),
    ));
    assert_eq!(
        err.to_string(),
        "pod shop/web-1: \
         spec.affinity.podAntiAffinity.requiredDuringSchedulingIgnoredDuringExecution[0].labelSelector: \
         \"Near\" is not a valid label selector operator for key \"app\": \
         expected In, NotIn, Exists or DoesNotExist"
    );
    assert!(matches!(err, ConvertError::Selector { .. }));
    assert_eq!(err.object(), "pod shop/web-1");
    assert!(!err.is_retryable());
}

#[test]
fn an_invalid_namespace_selector_names_its_path() {
    let err = pod_err(with_spec(
        json!({"affinity": {"podAffinity": {"requiredDuringSchedulingIgnoredDuringExecution": [
            {"labelSelector": {}, "namespaceSelector": {"matchLabels": {"bad key!": "x"}},
             "topologyKey": "zone"}
        ]}}}),
    ));
    assert_eq!(
        err.field(),
        "spec.affinity.podAffinity.requiredDuringSchedulingIgnoredDuringExecution[0].namespaceSelector"
    );
}

#[test]
fn an_empty_topology_key_is_refused() {
    let err = pod_err(with_spec(
        json!({"affinity": {"podAffinity": {"requiredDuringSchedulingIgnoredDuringExecution": [
            {"labelSelector": {"matchLabels": {"app": "db"}}, "topologyKey": ""}
        ]}}}),
    ));
    assert_eq!(
        err.to_string(),
        "pod shop/web-1: \
         spec.affinity.podAffinity.requiredDuringSchedulingIgnoredDuringExecution[0].topologyKey: \
         must not be empty"
    );
}

#[test]
fn an_unparsable_request_names_its_container_and_resource() {
    let err = pod_err(with_spec(json!({
        "initContainers": [{"name": "init", "resources": {"requests": {"memory": "lots"}}}]
    })));
    assert_eq!(err.field(), "spec.initContainers[0].resources.requests[memory]");
    assert!(
        err.to_string().starts_with(
            "pod shop/web-1: spec.initContainers[0].resources.requests[memory]: invalid quantity \"lots\""
        ),
        "{err}"
    );
    let err = pod_err(with_spec(json!({"overhead": {"cpu": "1x"}})));
    assert_eq!(err.field(), "spec.overhead[cpu]");
    let err = pod_err(with_spec(json!({"resources": {"requests": {"cpu": "two"}}})));
    assert_eq!(err.field(), "spec.resources.requests[cpu]");
}

#[test]
fn a_negative_request_is_refused() {
    let err = pod_err(with_spec(
        json!({"containers": [{"name": "app", "resources": {"requests": {"cpu": "-1"}}}]}),
    ));
    assert_eq!(
        err.to_string(),
        "pod shop/web-1: spec.containers[0].resources.requests[cpu]: quantity \"-1\" must not be negative"
    );
}

#[test]
fn an_unknown_toleration_operator_or_effect_names_its_field() {
    let err = pod_err(with_spec(
        json!({"tolerations": [{"key": "a", "operator": "Exists"}, {"key": "b", "operator": "Matches"}]}),
    ));
    assert_eq!(
        err.to_string(),
        "pod shop/web-1: spec.tolerations[1].operator: unknown value \"Matches\", expected Equal or Exists"
    );
    let err = pod_err(with_spec(
        json!({"tolerations": [{"key": "a", "operator": "Exists", "effect": "NoEntry"}]}),
    ));
    assert_eq!(err.field(), "spec.tolerations[0].effect");
    assert!(matches!(err, ConvertError::UnknownValue { ref value, .. } if value == "NoEntry"));
}

#[test]
fn node_affinity_errors_name_the_term_and_the_requirement() {
    let affinity = |expr: Value| {
        with_spec(
            json!({"affinity": {"nodeAffinity": {"requiredDuringSchedulingIgnoredDuringExecution": {
                "nodeSelectorTerms": [{"matchExpressions": [{"key": "ok", "operator": "Exists"}]}, expr]
            }}}}),
        )
    };
    let base =
        "spec.affinity.nodeAffinity.requiredDuringSchedulingIgnoredDuringExecution.nodeSelectorTerms[1]";
    let cases = [
        (
            "an unknown operator",
            json!({"matchExpressions": [{"key": "zone", "operator": "Like", "values": ["a"]}]}),
            "matchExpressions[0].operator",
        ),
        (
            "gt with a word",
            json!({"matchExpressions": [{"key": "cores", "operator": "Gt", "values": ["four"]}]}),
            "matchExpressions[0].values[0]",
        ),
        (
            "lt with two values",
            json!({"matchExpressions": [{"key": "cores", "operator": "Lt", "values": ["1", "2"]}]}),
            "matchExpressions[0].values",
        ),
        (
            "in without values",
            json!({"matchExpressions": [{"key": "zone", "operator": "In", "values": []}]}),
            "matchExpressions[0].values",
        ),
        (
            "exists with values",
            json!({"matchExpressions": [{"key": "zone", "operator": "Exists", "values": ["a"]}]}),
            "matchExpressions[0].values",
        ),
        (
            "a field other than the name",
            json!({"matchFields": [{"key": "metadata.uid", "operator": "In", "values": ["x"]}]}),
            "matchFields[0].key",
        ),
        (
            "a field with exists",
            json!({"matchFields": [{"key": "metadata.name", "operator": "Exists"}]}),
            "matchFields[0].operator",
        ),
        (
            "a field with two names",
            json!({"matchFields": [{"key": "metadata.name", "operator": "In", "values": ["a", "b"]}]}),
            "matchFields[0].values",
        ),
    ];
    for (name, expr, field) in cases {
        let err = pod_err(affinity(expr));
        assert_eq!(err.field(), format!("{base}.{field}"), "{name}: {err}");
    }
}

#[test]
fn bad_host_ports_name_their_field() {
    let err = pod_err(with_spec(json!({"containers": [
        {"name": "app", "ports": [{"containerPort": 80, "hostPort": 80, "protocol": "HTTP"}]}
    ]})));
    assert_eq!(
        err.to_string(),
        "pod shop/web-1: spec.containers[0].ports[0].protocol: \
         unknown value \"HTTP\", expected TCP, UDP or SCTP"
    );
    let err = pod_err(with_spec(
        json!({"containers": [{"name": "app", "ports": [{"containerPort": 80, "hostPort": 70000}]}]}),
    ));
    assert_eq!(err.field(), "spec.containers[0].ports[0].hostPort");
}

#[test]
fn a_malformed_annotation_is_refused_with_its_key() {
    let err = pod_err(annotated("cluster-autoscaler.kubernetes.io/safe-to-evict", "yes"));
    assert_eq!(
        err.to_string(),
        "pod shop/web-1: metadata.annotations[cluster-autoscaler.kubernetes.io/safe-to-evict]: \
         unknown value \"yes\", \
         expected \"true\", \"false\" or \"on-completion\""
    );
    let err = pod_err(annotated(
        "cluster-autoscaler.kubernetes.io/pod-scale-up-delay",
        "10",
    ));
    assert_eq!(
        err.to_string(),
        "pod shop/web-1: metadata.annotations[cluster-autoscaler.kubernetes.io/pod-scale-up-delay]: \
         missing unit in duration \"10\""
    );
    let err = Converter::new()
        .node(
            &node_json(json!({"metadata": {"annotations": {SCALE_DOWN_DISABLED: "yes"}}})),
            None,
        )
        .unwrap_err();
    assert_eq!(
        err.field(),
        "metadata.annotations[cluster-autoscaler.kubernetes.io/scale-down-disabled]"
    );
}

#[test]
fn node_errors_name_the_node_and_its_field() {
    let c = Converter::new();
    let err = c
        .node(
            &node_json(json!({"spec": {"taints": [{"key": "a", "effect": "NoRun"}]}})),
            None,
        )
        .unwrap_err();
    assert_eq!(
        err.to_string(),
        "node ip-10-0-0-1: spec.taints[0].effect: unknown value \"NoRun\", \
         expected NoSchedule, PreferNoSchedule or NoExecute"
    );
    let err = c
        .node(
            &node_json(json!({"status": {"allocatable": {"memory": "16 GB"}}})),
            None,
        )
        .unwrap_err();
    assert_eq!(err.field(), "status.allocatable[memory]");
    assert!(matches!(err, ConvertError::Quantity { .. }));
    let err = c
        .node(&node_json(json!({"status": {"capacity": {"cpu": "x"}}})), None)
        .unwrap_err();
    assert_eq!(err.field(), "status.capacity[cpu]");
}

#[test]
fn missing_identity_fields_are_errors_not_defaults() {
    let mut v = serde_json::to_value(pod_json(json!({}))).unwrap();
    v["metadata"].as_object_mut().unwrap().remove("creationTimestamp");
    let err = Converter::new()
        .pod(&serde_json::from_value(v).unwrap())
        .unwrap_err();
    assert_eq!(
        err.to_string(),
        "pod shop/web-1: metadata.creationTimestamp: missing"
    );
    let mut v = serde_json::to_value(pod_json(json!({}))).unwrap();
    v["metadata"].as_object_mut().unwrap().remove("namespace");
    let err = Converter::new()
        .pod(&serde_json::from_value(v).unwrap())
        .unwrap_err();
    assert_eq!(err.to_string(), "pod web-1: metadata.namespace: missing");
    let mut v = serde_json::to_value(node_json(json!({}))).unwrap();
    v["metadata"].as_object_mut().unwrap().remove("name");
    let err = Converter::new()
        .node(&serde_json::from_value(v).unwrap(), None)
        .unwrap_err();
    assert_eq!(err.to_string(), "node: metadata.name: missing");
}

#[test]
fn daemonset_errors_point_into_the_pod_template() {
    let err = Converter::new()
        .daemonset(&daemonset_json(
            json!({"spec": {"template": {"spec": {"tolerations": [{"key": "a", "operator": "Any"}]}}}}),
        ))
        .unwrap_err();
    assert_eq!(
        err.to_string(),
        "daemonset kube-system/fluentd: spec.template.spec.tolerations[0].operator: \
         unknown value \"Any\", expected Equal or Exists"
    );
    let err = Converter::new()
        .daemonset(&daemonset_json(
            json!({"spec": {"template": {"spec": {"containers": [
                {"name": "fluentd", "resources": {"requests": {"cpu": "half"}}}
            ]}}}}),
        ))
        .unwrap_err();
    assert_eq!(
        err.field(),
        "spec.template.spec.containers[0].resources.requests[cpu]"
    );
}

#[test]
fn an_invalid_pdb_selector_names_the_pdb() {
    let err = Converter::new()
        .pdb(&pdb_json(
            json!({"spec": {"selector": {"matchExpressions": [{"key": "app", "operator": "In"}]}}}),
        ))
        .unwrap_err();
    assert_eq!(err.object(), "poddisruptionbudget shop/web");
    assert_eq!(err.field(), "spec.selector");
    assert!(
        err.to_string()
            .starts_with("poddisruptionbudget shop/web: spec.selector: "),
        "{err}"
    );
}
