//! Shared fixtures of the controller's tests: k8s objects as JSON, and a scripted API server that
//! keeps nodes (GET, merge PATCH with resourceVersion checks) so that a test reads the node as the
//! controller left it.

#![allow(dead_code)]

use std::{
    collections::BTreeMap,
    sync::{Arc, Mutex},
};

use http::Method;
use k8s_openapi::api::core::v1::{Node, Pod};
use serde_json::{Value, json};
use swell_runtime::testing::{Reply, ScriptedApi, with_resource_version};

pub const T0: &str = "2026-01-01T00:00:00Z";

/// A Ready node of `group` with a fake provider id, 4 cpu / 16Gi / 110 pods.
pub fn node(name: &str, provider_id: &str, taints: Value, unschedulable: bool) -> Value {
    json!({
        "apiVersion": "v1", "kind": "Node",
        "metadata": {"name": name, "uid": format!("uid-{name}"), "resourceVersion": "1",
                     "creationTimestamp": T0, "labels": {"kubernetes.io/hostname": name}},
        "spec": {"providerID": provider_id, "taints": taints, "unschedulable": unschedulable},
        "status": {"allocatable": {"cpu": "4", "memory": "16Gi", "pods": "110"},
                   "capacity": {"cpu": "4", "memory": "16Gi", "pods": "110"},
                   "conditions": [{"type": "Ready", "status": "True", "lastTransitionTime": T0}]}
    })
}

/// A pod of ReplicaSet `rs` (uid `uid-rs-<rs>`), bound to `node` or pending and unschedulable.
pub fn pod(ns: &str, name: &str, node: Option<&str>, cpu: &str, rs: &str) -> Value {
    let mut p = json!({
        "apiVersion": "v1", "kind": "Pod",
        "metadata": {"name": name, "namespace": ns, "uid": format!("uid-{name}"), "creationTimestamp": T0,
                     "labels": {"app": rs},
                     "ownerReferences": [{"apiVersion": "apps/v1", "kind": "ReplicaSet", "name": rs,
                                          "uid": format!("uid-rs-{rs}"), "controller": true}]},
        "spec": {"containers": [{"name": "app", "resources": {"requests": {"cpu": cpu, "memory": "1Gi"}}}],
                 "terminationGracePeriodSeconds": 30},
        "status": {"phase": "Running"}
    });
    match node {
        Some(n) => p["spec"]["nodeName"] = json!(n),
        None => {
            p["status"] = json!({"phase": "Pending", "conditions": [
                {"type": "PodScheduled", "status": "False", "reason": "Unschedulable", "lastTransitionTime": T0}]});
        }
    }
    p
}

pub fn replicaset(name: &str, replicas: i32) -> Value {
    json!({"apiVersion": "apps/v1", "kind": "ReplicaSet",
           "metadata": {"name": name, "namespace": "shop", "uid": format!("uid-rs-{name}")},
           "spec": {"replicas": replicas, "selector": {"matchLabels": {"app": name}}}})
}

pub fn typed<T: serde::de::DeserializeOwned>(v: Value) -> T {
    serde_json::from_value(v).unwrap()
}

pub fn as_node(v: Value) -> Node {
    typed(v)
}

pub fn as_pod(v: Value) -> Pod {
    typed(v)
}

/// RFC 7386 merge patch.
pub fn merge(target: &mut Value, patch: &Value) {
    match patch {
        Value::Object(p) => {
            if !target.is_object() {
                *target = json!({});
            }
            let t = target.as_object_mut().unwrap();
            for (k, v) in p {
                if v.is_null() {
                    t.remove(k);
                } else {
                    merge(t.entry(k.clone()).or_insert(Value::Null), v);
                }
            }
        }
        other => *target = other.clone(),
    }
}

/// Nodes kept by the scripted API: GET answers the current object; a merge PATCH whose
/// `metadata.resourceVersion` differs answers 409, otherwise applies and bumps the version.
#[derive(Clone, Default)]
pub struct NodeServer {
    pub nodes: Arc<Mutex<BTreeMap<String, Value>>>,
    /// Answer the next N PATCHes with 409 (another writer got there first).
    pub conflicts: Arc<Mutex<usize>>,
}

impl NodeServer {
    pub fn install(api: &ScriptedApi, nodes: Vec<Value>) -> NodeServer {
        let server = NodeServer::default();
        for n in nodes {
            let name = n["metadata"]["name"].as_str().unwrap().to_owned();
            server.nodes.lock().unwrap().insert(name, n);
        }
        let s = server.clone();
        api.expect_prefix(Method::GET, "/api/v1/nodes/")
            .any_number_of_times()
            .reply_with(move |req| {
                let name = req.path.trim_start_matches("/api/v1/nodes/");
                match s.nodes.lock().unwrap().get(name) {
                    Some(n) => Reply::json(200, n.clone()),
                    None => Reply::not_found("nodes", name),
                }
            });
        let s = server.clone();
        api.expect_prefix(Method::PATCH, "/api/v1/nodes/")
            .any_number_of_times()
            .reply_with(move |req| {
                let name = req.path.trim_start_matches("/api/v1/nodes/").to_owned();
                {
                    let mut c = s.conflicts.lock().unwrap();
                    if *c > 0 {
                        *c -= 1;
                        return Reply::conflict("nodes", &name);
                    }
                }
                let patch = req.json();
                let mut nodes = s.nodes.lock().unwrap();
                let Some(n) = nodes.get_mut(&name) else {
                    return Reply::not_found("nodes", &name);
                };
                let rv = n["metadata"]["resourceVersion"]
                    .as_str()
                    .unwrap()
                    .parse::<u64>()
                    .unwrap();
                if let Some(sent) = patch["metadata"]["resourceVersion"].as_str()
                    && sent != rv.to_string()
                {
                    return Reply::conflict("nodes", &name);
                }
                merge(n, &patch);
                *n = with_resource_version(n.clone(), &(rv + 1).to_string());
                Reply::json(200, n.clone())
            });
        server
    }

    pub fn get(&self, name: &str) -> Value {
        self.nodes.lock().unwrap()[name].clone()
    }

    pub fn taint_keys(&self, name: &str) -> Vec<String> {
        self.get(name)["spec"]["taints"]
            .as_array()
            .map(|t| t.iter().map(|t| t["key"].as_str().unwrap().to_owned()).collect())
            .unwrap_or_default()
    }

    pub fn unschedulable(&self, name: &str) -> bool {
        self.get(name)["spec"]["unschedulable"].as_bool().unwrap_or(false)
    }
}

/// Accepts every event POST (and PATCH, for repeats) in the namespaces the tests use.
pub fn accept_events(api: &ScriptedApi) {
    for ns in ["default", "shop", "kube-system"] {
        api.expect(Method::POST, &format!("/api/v1/namespaces/{ns}/events"))
            .any_number_of_times()
            .reply_with(|req| Reply::json(201, with_resource_version(req.json(), "1")));
        api.expect_prefix(Method::PATCH, &format!("/api/v1/namespaces/{ns}/events/"))
            .any_number_of_times()
            .reply_with(|req| Reply::json(200, with_resource_version(req.json(), "2")));
    }
}

/// The events posted so far: `(object name, reason, message)`.
pub fn events(api: &ScriptedApi) -> Vec<(String, String, String)> {
    api.requests()
        .iter()
        .filter(|r| r.method == Method::POST && r.path.ends_with("/events"))
        .map(|r| {
            let e = r.json();
            (
                e["involvedObject"]["name"]
                    .as_str()
                    .unwrap_or_default()
                    .to_owned(),
                e["reason"].as_str().unwrap_or_default().to_owned(),
                e["message"].as_str().unwrap_or_default().to_owned(),
            )
        })
        .collect()
}
