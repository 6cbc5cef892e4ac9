//! Tier 3: the kwok provider against a scripted API server: the LIST that builds groups and
//! instances, the POST and status PATCH of a scale-up, the DELETEs of a scale-down, error classes,
//! bounds, provider ids, templates and the declaration read from a ConfigMap.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::sync::Arc;

use http::Method;
use serde_json::{Value, json};
use swell_cloud_kwok::{KwokProvider, declaration, nodes};
use swell_core::clock::ManualClock;
use swell_node_autoscaler::model::{Taint, TaintEffect};
use swell_node_autoscaler::provider::{ErrorClass, GroupInfo, Instance, InstanceState, NodeGroupProvider};
use swell_runtime::testing::{RecordedRequest, Reply, ScriptedApi, with_resource_version};

const T0: &str = "2026-01-01T00:00:00Z";
const NODES: &str = "/api/v1/nodes";
const SELECTOR: &str = "swell.dev/kwok-node-group";

const GROUPS: &str = r#"
nodeGroups:
  small:
    minSize: 0
    maxSize: 5
    pricePerHour: 0.192
    template:
      cpu: "4"
      memory: 16Gi
      pods: 110
      labels: {type: kwok}
      taints:
        - {key: kwok.x-k8s.io/node, value: fake, effect: NoSchedule}
  big:
    minSize: 1
    maxSize: 3
    template:
      cpu: "16"
      memory: 64Gi
      pods: 110
      extendedResources: {nvidia.com/gpu: 2}
"#;

/// A provider over the script whose node names end in 1, 2, 3, ... instead of random characters.
fn provider(api: &ScriptedApi) -> KwokProvider {
    let clock = Arc::new(ManualClock::new(T0.parse().unwrap()));
    let mut n = 0;
    KwokProvider::new(api.client(), declaration::parse(GROUPS, "test").unwrap(), clock).with_name_suffixes(
        move || {
            n += 1;
            format!("n{n}")
        },
    )
}

/// A node of `group` as the API server lists it.
fn node(name: &str, group: &str, created: &str, ready: bool, deleting: bool) -> Value {
    let mut v = json!({
        "apiVersion": "v1", "kind": "Node",
        "metadata": {"name": name, "uid": format!("uid-{name}"), "creationTimestamp": created, "resourceVersion": "5",
                     "labels": {SELECTOR: group, "kubernetes.io/hostname": name},
                     "annotations": {"kwok.x-k8s.io/node": "fake"}},
        "spec": {"providerID": format!("kwok://{group}/{name}")},
    });
    if ready {
        v["status"] = json!({"conditions": [{"type": "Ready", "status": "True"}]});
    }
    if deleting {
        v["metadata"]["deletionTimestamp"] = json!("2026-01-01T00:30:00Z");
        v["metadata"]["finalizers"] = json!(["example.com/hold"]);
    }
    v
}

fn node_list(items: Vec<Value>) -> Value {
    json!({"apiVersion": "v1", "kind": "NodeList", "metadata": {"resourceVersion": "9"}, "items": items})
}

fn expect_list(api: &ScriptedApi, items: Vec<Value>) {
    api.expect(Method::GET, NODES)
        .query("labelSelector=swell.dev/kwok-node-group", |q| {
            q.is_some_and(|q| q.contains("labelSelector=swell.dev%2Fkwok-node-group"))
        })
        .reply_json(200, node_list(items));
}

fn status_success(name: &str) -> Reply {
    Reply::json(
        200,
        json!({"kind": "Status", "apiVersion": "v1", "metadata": {}, "status": "Success",
               "details": {"name": name, "kind": "nodes"}}),
    )
}

/// The API server's answer to a node POST: the node with a resourceVersion and creation time.
fn created(req: &RecordedRequest) -> Reply {
    let mut node = with_resource_version(req.json(), "10");
    node["metadata"]["creationTimestamp"] = json!("2026-01-01T01:00:00Z");
    Reply::json(201, node)
}

fn states(instances: &[Instance]) -> Vec<(String, InstanceState)> {
    instances
        .iter()
        .map(|i| (i.provider_id.clone(), i.state.clone()))
        .collect()
}

fn target(p: &KwokProvider, group: &str) -> usize {
    p.node_groups().iter().find(|g| g.id == group).unwrap().target
}

#[tokio::test]
async fn one_list_builds_every_group_with_its_instances_and_initial_target() {
    let api = ScriptedApi::new();
    expect_list(
        &api,
        vec![
            node("small-b", "small", "2026-01-01T00:00:02Z", false, false),
            node("small-a", "small", "2026-01-01T00:00:01Z", true, false),
            node("small-c", "small", "2026-01-01T00:00:03Z", true, true),
            node("big-a", "big", "2026-01-01T00:00:01Z", true, false),
            node("gone-a", "undeclared", "2026-01-01T00:00:01Z", true, false),
        ],
    );
    let p = provider(&api);
    p.refresh().await.unwrap();
    api.verify();
    assert_eq!(api.requests().len(), 1, "one LIST for all groups");

    assert_eq!(
        p.node_groups(),
        [
            GroupInfo {
                id: "big".into(),
                min: 1,
                max: 3,
                target: 1,
                price_per_hour: None
            },
            GroupInfo {
                id: "small".into(),
                min: 0,
                max: 5,
                target: 2,
                price_per_hour: Some(0.192)
            },
        ],
        "the first refresh sets the target to the nodes not being deleted"
    );
    assert_eq!(
        states(&p.instances("small").unwrap()),
        [
            ("kwok://small/small-a".into(), InstanceState::Running),
            ("kwok://small/small-b".into(), InstanceState::Creating),
            ("kwok://small/small-c".into(), InstanceState::Deleting),
        ]
    );
    assert_eq!(
        states(&p.instances("big").unwrap()),
        [("kwok://big/big-a".into(), InstanceState::Running)]
    );
    assert_eq!(p.instances("undeclared").unwrap_err().class, ErrorClass::NotFound);
}

#[tokio::test]
async fn provider_ids_map_back_to_declared_groups_only() {
    let p = provider(&ScriptedApi::new());
    assert_eq!(
        p.node_group_for_node("kwok://small/small-n1").as_deref(),
        Some("small")
    );
    assert_eq!(
        p.node_group_for_node("kwok://big/anything").as_deref(),
        Some("big")
    );
    assert_eq!(p.node_group_for_node("kwok://undeclared/x"), None);
    assert_eq!(p.node_group_for_node("kwok://small/"), None);
    assert_eq!(p.node_group_for_node("kwok://small/a/b"), None);
    assert_eq!(p.node_group_for_node("aws:///us-east-1a/i-0123"), None);
    assert_eq!(nodes::provider_id("small", "small-n1"), "kwok://small/small-n1");
}

#[tokio::test]
async fn a_later_refresh_keeps_the_target_that_was_set() {
    let api = ScriptedApi::new();
    expect_list(&api, vec![node("big-a", "big", T0, true, false)]);
    expect_list(&api, vec![]);
    let p = provider(&api);
    p.refresh().await.unwrap();
    assert_eq!(target(&p, "big"), 1);
    p.refresh().await.unwrap();
    api.verify();
    assert_eq!(
        target(&p, "big"),
        1,
        "a node deleted behind the provider's back is not forgotten by the target"
    );
    assert!(p.instances("big").unwrap().is_empty());
}

#[tokio::test]
async fn a_scale_up_posts_each_node_then_patches_its_status_ready() {
    let api = ScriptedApi::new();
    expect_list(&api, vec![node("small-a", "small", T0, true, false)]);
    api.expect(Method::POST, NODES).times(2).reply_with(created);
    for name in ["small-n1", "small-n2"] {
        api.expect(Method::PATCH, &format!("{NODES}/{name}/status"))
            .reply_json(200, node(name, "small", T0, true, false));
    }
    let p = provider(&api);
    p.refresh().await.unwrap();
    p.set_target_size("small", 3).await.unwrap();
    api.verify();

    let calls: Vec<String> = api
        .requests()
        .iter()
        .skip(1)
        .map(|r| format!("{} {}", r.method, r.path))
        .collect();
    assert_eq!(
        calls,
        [
            "POST /api/v1/nodes",
            "PATCH /api/v1/nodes/small-n1/status",
            "POST /api/v1/nodes",
            "PATCH /api/v1/nodes/small-n2/status"
        ]
    );
    let post = api.requests_to(&Method::POST, NODES)[0].json();
    assert_eq!(
        post,
        json!({
            "apiVersion": "v1", "kind": "Node",
            "metadata": {
                "name": "small-n1",
                "labels": {"kubernetes.io/arch": "amd64", "kubernetes.io/hostname": "small-n1",
                           "kubernetes.io/os": "linux", "swell.dev/kwok-node-group": "small", "type": "kwok"},
                "annotations": {"kwok.x-k8s.io/node": "fake", "node.alpha.kubernetes.io/ttl": "0"}
            },
            "spec": {"providerID": "kwok://small/small-n1",
                     "taints": [{"key": "kwok.x-k8s.io/node", "value": "fake", "effect": "NoSchedule"}]}
        }),
        "the POST carries no status: a real API server would drop it"
    );
    let patch = &api.requests_to(&Method::PATCH, "/api/v1/nodes/small-n1/status")[0];
    assert_eq!(
        patch.content_type.as_deref(),
        Some("application/merge-patch+json")
    );
    let status = &patch.json()["status"];
    let resources = json!({"cpu": "4", "memory": "16Gi", "pods": "110"});
    assert_eq!(status["capacity"], resources);
    assert_eq!(status["allocatable"], resources);
    let ready = status["conditions"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["type"] == "Ready")
        .unwrap();
    assert_eq!(ready["status"], "True");
    assert_eq!(ready["lastHeartbeatTime"], T0);
    assert_eq!(ready["lastTransitionTime"], T0);

    assert_eq!(target(&p, "small"), 3);
    assert_eq!(
        states(&p.instances("small").unwrap()),
        [
            ("kwok://small/small-a".into(), InstanceState::Running),
            ("kwok://small/small-n1".into(), InstanceState::Running),
            ("kwok://small/small-n2".into(), InstanceState::Running),
        ]
    );

    // The same size again is no change and no request.
    let before = api.requests().len();
    p.set_target_size("small", 3).await.unwrap();
    assert_eq!(api.requests().len(), before);
}

#[tokio::test]
async fn extended_resources_reach_the_status_of_a_new_node() {
    let api = ScriptedApi::new();
    expect_list(&api, vec![]);
    api.expect(Method::POST, NODES).reply_with(created);
    api.expect(Method::PATCH, "/api/v1/nodes/big-n1/status")
        .reply_json(200, node("big-n1", "big", T0, true, false));
    let p = provider(&api);
    p.refresh().await.unwrap();
    p.set_target_size("big", 1).await.unwrap();
    api.verify();
    let patch = api.requests_to(&Method::PATCH, "/api/v1/nodes/big-n1/status")[0].json();
    assert_eq!(
        patch["status"]["allocatable"],
        json!({"cpu": "16", "memory": "64Gi", "pods": "110", "nvidia.com/gpu": "2"})
    );
    let post = api.requests_to(&Method::POST, NODES)[0].json();
    assert_eq!(
        post["spec"].get("taints"),
        None,
        "no taint declared, none written"
    );
}

#[tokio::test]
async fn a_throttled_create_is_classified_and_the_target_falls_back_to_what_exists() {
    let api = ScriptedApi::new();
    expect_list(&api, vec![]);
    api.expect(Method::POST, NODES).reply_with(created);
    api.expect(Method::PATCH, "/api/v1/nodes/small-n1/status")
        .reply_json(200, node("small-n1", "small", T0, true, false));
    api.expect(Method::POST, NODES)
        .reply(Reply::status(429, "TooManyRequests", "too many requests"));
    let p = provider(&api);
    p.refresh().await.unwrap();
    let err = p.set_target_size("small", 3).await.unwrap_err();
    api.verify();
    assert_eq!(err.class, ErrorClass::Throttled);
    assert!(err.is_retryable());
    assert_eq!(
        err.to_string(),
        "failed to set the target size of node group small to 3: failed to create node small-n2: \
         too many requests (429)"
    );
    assert_eq!(target(&p, "small"), 1, "the one node that was made");
}

#[tokio::test]
async fn a_node_whose_status_patch_failed_stays_creating() {
    let api = ScriptedApi::new();
    expect_list(&api, vec![]);
    api.expect(Method::POST, NODES).reply_with(created);
    api.expect(Method::PATCH, "/api/v1/nodes/small-n1/status")
        .reply(Reply::status(503, "ServiceUnavailable", "etcd is slow"));
    let p = provider(&api);
    p.refresh().await.unwrap();
    let err = p.set_target_size("small", 1).await.unwrap_err();
    api.verify();
    assert_eq!(err.class, ErrorClass::Transient);
    assert_eq!(
        states(&p.instances("small").unwrap()),
        [("kwok://small/small-n1".into(), InstanceState::Creating)]
    );
    assert_eq!(target(&p, "small"), 1, "the node exists, so the target counts it");
}

#[tokio::test]
async fn api_errors_are_classified_by_status_code() {
    let cases = [
        (429, "TooManyRequests", ErrorClass::Throttled),
        (500, "InternalError", ErrorClass::Transient),
        (503, "ServiceUnavailable", ErrorClass::Transient),
        (409, "Conflict", ErrorClass::Transient),
        (404, "NotFound", ErrorClass::NotFound),
        (403, "Forbidden", ErrorClass::Fatal),
        (422, "Invalid", ErrorClass::Fatal),
        (401, "Unauthorized", ErrorClass::Fatal),
    ];
    for (code, reason, want) in cases {
        let api = ScriptedApi::new();
        api.expect(Method::GET, NODES)
            .reply(Reply::status(code, reason, "no"));
        let err = provider(&api).refresh().await.unwrap_err();
        assert_eq!(err.class, want, "HTTP {code}");
        assert_eq!(
            err.to_string(),
            format!("failed to refresh the kwok node groups: failed to list nodes: no ({code})")
        );
    }
}

#[tokio::test]
async fn delete_nodes_deletes_each_node_and_lowers_the_target() {
    let api = ScriptedApi::new();
    expect_list(
        &api,
        vec![
            node("small-a", "small", T0, true, false),
            node("small-b", "small", T0, true, false),
            node("small-c", "small", T0, true, false),
        ],
    );
    api.expect(Method::DELETE, "/api/v1/nodes/small-a")
        .reply(status_success("small-a"));
    api.expect(Method::DELETE, "/api/v1/nodes/small-c")
        .reply(Reply::not_found("nodes", "small-c"));
    let p = provider(&api);
    p.refresh().await.unwrap();
    p.delete_nodes(
        "small",
        &["kwok://small/small-a".into(), "kwok://small/small-c".into()],
    )
    .await
    .unwrap();
    api.verify();
    assert_eq!(target(&p, "small"), 1, "3 - 2, the 404 counted as deleted");
    assert_eq!(
        states(&p.instances("small").unwrap()),
        [("kwok://small/small-b".into(), InstanceState::Running)]
    );
}

#[tokio::test]
async fn a_node_held_by_a_finalizer_shows_as_deleting() {
    let api = ScriptedApi::new();
    expect_list(&api, vec![node("small-a", "small", T0, true, false)]);
    api.expect(Method::DELETE, "/api/v1/nodes/small-a")
        .reply_json(200, node("small-a", "small", T0, true, true));
    let p = provider(&api);
    p.refresh().await.unwrap();
    p.delete_nodes("small", &["kwok://small/small-a".into()])
        .await
        .unwrap();
    api.verify();
    assert_eq!(target(&p, "small"), 0);
    assert_eq!(
        states(&p.instances("small").unwrap()),
        [("kwok://small/small-a".into(), InstanceState::Deleting)]
    );
}

#[tokio::test]
async fn a_failed_delete_is_classified_and_lowers_the_target_only_for_what_was_deleted() {
    let api = ScriptedApi::new();
    expect_list(
        &api,
        vec![
            node("small-a", "small", T0, true, false),
            node("small-b", "small", T0, true, false),
        ],
    );
    api.expect(Method::DELETE, "/api/v1/nodes/small-a")
        .reply(status_success("small-a"));
    api.expect(Method::DELETE, "/api/v1/nodes/small-b")
        .reply(Reply::status(429, "TooManyRequests", "slow down"));
    let p = provider(&api);
    p.refresh().await.unwrap();
    let err = p
        .delete_nodes(
            "small",
            &["kwok://small/small-a".into(), "kwok://small/small-b".into()],
        )
        .await
        .unwrap_err();
    api.verify();
    assert_eq!(err.class, ErrorClass::Throttled);
    assert_eq!(target(&p, "small"), 1);
}

#[tokio::test]
async fn sizes_outside_the_bounds_are_refused_before_any_request() {
    let api = ScriptedApi::new();
    expect_list(&api, vec![node("big-a", "big", T0, true, false)]);
    let p = provider(&api);
    p.refresh().await.unwrap();

    let err = p.set_target_size("small", 6).await.unwrap_err();
    assert_eq!(err.class, ErrorClass::Fatal);
    assert_eq!(
        err.to_string(),
        "failed to set the target size of node group small to 6: 6 is outside the group's bounds 0..=5"
    );
    let err = p.set_target_size("big", 0).await.unwrap_err();
    assert_eq!(
        err.to_string(),
        "failed to set the target size of node group big to 0: 0 is outside the group's bounds 1..=3"
    );
    let err = p
        .delete_nodes("big", &["kwok://big/big-a".into()])
        .await
        .unwrap_err();
    assert_eq!(err.class, ErrorClass::Fatal);
    assert_eq!(
        err.to_string(),
        "failed to delete 1 node(s) of node group big: the target 1 would fall to 0 below the group's minimum 1"
    );
    let err = p
        .delete_nodes("big", &["kwok://small/small-a".into()])
        .await
        .unwrap_err();
    assert_eq!(
        err.to_string(),
        "failed to delete 1 node(s) of node group big: kwok://small/small-a is not a node of node group big"
    );
    let err = p.set_target_size("huge", 1).await.unwrap_err();
    assert_eq!(err.class, ErrorClass::NotFound);
    assert_eq!(target(&p, "big"), 1);
    api.verify();
    assert_eq!(api.requests().len(), 1, "only the LIST: {:?}", api.requests());
}

#[tokio::test]
async fn writes_before_the_first_refresh_are_refused() {
    let api = ScriptedApi::new();
    let p = provider(&api);
    let err = p.set_target_size("small", 1).await.unwrap_err();
    assert_eq!(err.class, ErrorClass::Transient);
    assert_eq!(
        err.to_string(),
        "failed to set the target size of node group small to 1: the provider has not been refreshed yet"
    );
    let err = p
        .delete_nodes("small", &["kwok://small/small-a".into()])
        .await
        .unwrap_err();
    assert_eq!(err.class, ErrorClass::Transient);
    assert!(api.requests().is_empty());
    assert_eq!(target(&p, "small"), 0);
}

#[tokio::test]
async fn a_lower_target_deletes_creating_nodes_first_then_the_youngest() {
    let api = ScriptedApi::new();
    expect_list(
        &api,
        vec![
            node("small-old", "small", "2026-01-01T00:00:01Z", true, false),
            node("small-young", "small", "2026-01-01T00:00:09Z", true, false),
            node("small-mid", "small", "2026-01-01T00:00:05Z", true, false),
            node("small-new", "small", "2026-01-01T00:00:10Z", false, false),
        ],
    );
    api.expect(Method::DELETE, "/api/v1/nodes/small-new")
        .reply(status_success("small-new"));
    api.expect(Method::DELETE, "/api/v1/nodes/small-young")
        .reply(status_success("small-young"));
    let p = provider(&api);
    p.refresh().await.unwrap();
    p.set_target_size("small", 2).await.unwrap();
    api.verify();
    let deleted: Vec<String> = api.requests().iter().skip(1).map(|r| r.path.clone()).collect();
    assert_eq!(deleted, ["/api/v1/nodes/small-new", "/api/v1/nodes/small-young"]);
    assert_eq!(target(&p, "small"), 2);
    assert_eq!(
        states(&p.instances("small").unwrap()),
        [
            ("kwok://small/small-mid".into(), InstanceState::Running),
            ("kwok://small/small-old".into(), InstanceState::Running),
        ]
    );
}

#[tokio::test]
async fn the_template_is_what_a_new_node_would_be() {
    let p = provider(&ScriptedApi::new());
    let t = p.template("small").unwrap();
    assert_eq!(t.group.as_deref(), Some("small"));
    assert_eq!(t.allocatable.cpu, 4000);
    assert_eq!(t.allocatable.memory, 16 << 30);
    assert_eq!(t.allocatable.pods, 110);
    assert_eq!(t.capacity, t.allocatable);
    assert!(t.ready && !t.unschedulable);
    assert_eq!(t.labels["type"], "kwok");
    assert_eq!(t.labels[SELECTOR], "small");
    assert_eq!(t.labels["kubernetes.io/os"], "linux");
    assert_eq!(
        t.taints,
        [Taint::new("kwok.x-k8s.io/node", "fake", TaintEffect::NoSchedule)]
    );
    assert_eq!(p.template("big").unwrap().allocatable.get("nvidia.com/gpu"), 2);
    assert_eq!(p.template("huge").unwrap_err().class, ErrorClass::NotFound);
}

const CM: &str = "/api/v1/namespaces/swell-system/configmaps/swell-kwok-node-groups";

#[tokio::test]
async fn the_declaration_is_read_from_a_configmap_key() {
    let api = ScriptedApi::new();
    api.expect(Method::GET, CM).reply_json(
        200,
        json!({"apiVersion": "v1", "kind": "ConfigMap",
               "metadata": {"name": "swell-kwok-node-groups", "namespace": "swell-system"},
               "data": {"node-groups.yaml": GROUPS}}),
    );
    let source = declaration::Source::ConfigMap {
        namespace: "swell-system".into(),
        name: "swell-kwok-node-groups".into(),
        key: declaration::DEFAULT_KEY.into(),
    };
    let d = source.load(&api.client()).await.unwrap();
    api.verify();
    assert_eq!(d, declaration::parse(GROUPS, "anything").unwrap());
}

#[tokio::test]
async fn a_missing_configmap_or_key_or_a_malformed_one_is_a_clear_error() {
    let api = ScriptedApi::new();
    api.expect(Method::GET, CM)
        .reply(Reply::not_found("configmaps", "swell-kwok-node-groups"));
    api.expect(Method::GET, CM).reply_json(
        200,
        json!({"apiVersion": "v1", "kind": "ConfigMap",
               "metadata": {"name": "swell-kwok-node-groups", "namespace": "swell-system"},
               "data": {"groups.yaml": GROUPS}}),
    );
    api.expect(Method::GET, CM).reply_json(
        200,
        json!({"apiVersion": "v1", "kind": "ConfigMap",
               "metadata": {"name": "swell-kwok-node-groups", "namespace": "swell-system"},
               "data": {"node-groups.yaml": GROUPS.replace("maxSize: 3", "maxSize: 0")}}),
    );
    api.expect(Method::GET, CM)
        .reply(Reply::status(403, "Forbidden", "configmaps is forbidden"));
    let client = api.client();
    let load = || {
        declaration::load_config_map(
            &client,
            "swell-system",
            "swell-kwok-node-groups",
            "node-groups.yaml",
        )
    };
    assert_eq!(
        load().await.unwrap_err().to_string(),
        "failed to load the node-group declaration: configmap swell-system/swell-kwok-node-groups not found"
    );
    assert_eq!(
        load().await.unwrap_err().to_string(),
        "failed to load the node-group declaration: configmap swell-system/swell-kwok-node-groups has no \
         key \"node-groups.yaml\" (keys: [\"groups.yaml\"])"
    );
    assert_eq!(
        load().await.unwrap_err().to_string(),
        "failed to parse the node-group declaration configmap swell-system/swell-kwok-node-groups key \
         node-groups.yaml: nodeGroups.big: minSize 1 is greater than maxSize 0 at line 15 column 5"
    );
    let err = load().await.unwrap_err();
    assert!(
        err.to_string().starts_with(
            "failed to get configmap swell-system/swell-kwok-node-groups with the node-group declaration: "
        ),
        "{err}"
    );
    api.verify();
}

const LEASES: &str = "/apis/coordination.k8s.io/v1/namespaces/kube-node-lease/leases";

#[tokio::test]
async fn a_heartbeat_renews_conditions_and_leases_of_the_nodes_not_being_deleted() {
    let api = ScriptedApi::new();
    expect_list(
        &api,
        vec![
            node("small-a", "small", T0, true, false),
            node("small-b", "small", T0, true, false),
            node("small-c", "small", T0, true, true),
            node("big-a", "big", T0, true, false),
        ],
    );
    for name in ["small-a", "small-b", "big-a"] {
        api.expect(Method::PATCH, &format!("{NODES}/{name}/status"))
            .reply_json(200, node(name, "small", T0, true, false));
    }
    api.expect(Method::PATCH, &format!("{LEASES}/small-a"))
        .reply_with(|req| Reply::json(200, with_resource_version(req.json(), "3")));
    api.expect(Method::PATCH, &format!("{LEASES}/big-a"))
        .reply_with(|req| Reply::json(200, with_resource_version(req.json(), "3")));
    api.expect(Method::PATCH, &format!("{LEASES}/small-b"))
        .reply(Reply::not_found("leases.coordination.k8s.io", "small-b"));
    api.expect(Method::POST, LEASES)
        .reply_with(|req| Reply::json(201, with_resource_version(req.json(), "1")));
    let p = provider(&api);
    p.refresh().await.unwrap();
    p.heartbeat().await.unwrap();
    api.verify();

    let status = &api.requests_to(&Method::PATCH, "/api/v1/nodes/small-a/status")[0];
    assert_eq!(
        status.content_type.as_deref(),
        Some("application/strategic-merge-patch+json"),
        "conditions merged by type, so their transition times stay"
    );
    let conditions = status.json()["status"]["conditions"].clone();
    assert_eq!(
        conditions[0],
        json!({"type": "Ready", "status": "True", "lastHeartbeatTime": T0})
    );
    assert_eq!(conditions.as_array().unwrap().len(), 4);

    let renewal = api.requests_to(&Method::PATCH, &format!("{LEASES}/small-a"))[0].json();
    assert_eq!(renewal["spec"]["renewTime"], "2026-01-01T00:00:00.000000Z");
    assert_eq!(renewal["spec"]["holderIdentity"], "small-a");

    let created = api.requests_to(&Method::POST, LEASES)[0].json();
    assert_eq!(created["metadata"]["name"], "small-b");
    assert_eq!(
        created["metadata"]["ownerReferences"],
        json!([{"apiVersion": "v1", "kind": "Node", "name": "small-b", "uid": "uid-small-b"}]),
        "the lease goes with its node"
    );
    assert_eq!(created["spec"]["leaseDurationSeconds"], 40);
    assert!(
        api.requests_to(&Method::PATCH, "/api/v1/nodes/small-c/status")
            .is_empty(),
        "a node being deleted gets no heartbeat"
    );
}

#[tokio::test]
async fn a_heartbeat_skips_a_node_gone_meanwhile_and_reports_a_failed_one() {
    let api = ScriptedApi::new();
    expect_list(
        &api,
        vec![
            node("small-a", "small", T0, true, false),
            node("small-b", "small", T0, true, false),
        ],
    );
    api.expect(Method::PATCH, "/api/v1/nodes/small-a/status")
        .reply(Reply::not_found("nodes", "small-a"));
    api.expect(Method::PATCH, "/api/v1/nodes/small-b/status")
        .reply(Reply::status(429, "TooManyRequests", "slow down"));
    let p = provider(&api);
    p.refresh().await.unwrap();
    let err = p.heartbeat().await.unwrap_err();
    api.verify();
    assert_eq!(err.class, ErrorClass::Throttled);
    assert_eq!(
        err.to_string(),
        "failed to renew the heartbeats of the kwok nodes: failed to write the heartbeat of node small-b: \
         slow down (429)"
    );
}
