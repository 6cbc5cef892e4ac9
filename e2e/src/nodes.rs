//! Fake nodes: Node objects that look like kwok's, Ready, with a status heartbeat and a node Lease
//! renewed every few seconds so that the node lifecycle controller never marks them unreachable.

use std::time::Duration;

use k8s_openapi::api::{coordination::v1::Lease, core::v1::Node};
use kube::{
    Api, Client,
    api::{Patch, PatchParams, PostParams},
};
use serde_json::{Value, json};
use tokio_util::sync::CancellationToken;

use crate::{Result, api_error};

/// kwok's node annotation.
pub const KWOK_ANNOTATION: &str = "kwok.x-k8s.io/node";
/// The taint that keeps ordinary pods off the fake nodes.
pub const KWOK_TAINT: &str = "kwok.x-k8s.io/node";
/// How often the heartbeat runs (the node lifecycle controller's grace period is 40s).
pub const HEARTBEAT: Duration = Duration::from_secs(10);

/// The `nodeSelector` and `tolerations` a pod template needs to land on the fake nodes.
pub fn pod_placement() -> Value {
    json!({
        "nodeSelector": {"type": "kwok"},
        "tolerations": [{"key": KWOK_TAINT, "operator": "Exists", "effect": "NoSchedule"}]
    })
}

/// The Node object of a fake node.
pub fn node_object(name: &str) -> Value {
    json!({
        "apiVersion": "v1", "kind": "Node",
        "metadata": {"name": name,
                     "annotations": {KWOK_ANNOTATION: "fake", "node.alpha.kubernetes.io/ttl": "0"},
                     "labels": {"type": "kwok", "kubernetes.io/hostname": name, "kubernetes.io/os": "linux",
                                "kubernetes.io/arch": "amd64", "swell-e2e": "true"}},
        "spec": {"taints": [{"key": KWOK_TAINT, "value": "fake", "effect": "NoSchedule"}]}
    })
}

/// The status a fake node reports at `now`.
pub fn node_status(now: &str) -> Value {
    let capacity = json!({"cpu": "32", "memory": "256Gi", "pods": "110"});
    let condition = |type_: &str, status: &str, reason: &str| {
        json!({"type": type_, "status": status, "reason": reason,
               "lastHeartbeatTime": now, "lastTransitionTime": now})
    };
    json!({"status": {
        "capacity": capacity, "allocatable": capacity,
        "conditions": [condition("Ready", "True", "KubeletReady"),
                       condition("MemoryPressure", "False", "KubeletHasSufficientMemory"),
                       condition("DiskPressure", "False", "KubeletHasNoDiskPressure"),
                       condition("PIDPressure", "False", "KubeletHasSufficientPID")],
        "addresses": [{"type": "InternalIP", "address": "10.255.0.1"}],
        "nodeInfo": {"kubeletVersion": "fake", "kubeProxyVersion": "fake", "architecture": "amd64",
                     "operatingSystem": "linux", "containerRuntimeVersion": "fake", "kernelVersion": "",
                     "osImage": "", "machineID": "", "systemUUID": "", "bootID": ""},
        "phase": "Running"
    }})
}

fn now() -> String {
    jiff::Timestamp::from_second(jiff::Timestamp::now().as_second())
        .unwrap_or(jiff::Timestamp::UNIX_EPOCH)
        .to_string()
}

/// Creates a fake node and reports it Ready.
pub async fn register(client: &Client, name: &str) -> Result<()> {
    let nodes: Api<Node> = Api::all(client.clone());
    let node: Node =
        serde_json::from_value(node_object(name)).map_err(|e| crate::Error::Client(e.to_string()))?;
    nodes
        .create(&PostParams::default(), &node)
        .await
        .map_err(api_error(format!("create node {name}")))?;
    heartbeat(client, name).await
}

/// One heartbeat: the node's status and its Lease in `kube-node-lease`.
pub async fn heartbeat(client: &Client, name: &str) -> Result<()> {
    let t = now();
    Api::<Node>::all(client.clone())
        .patch_status(name, &PatchParams::default(), &Patch::Merge(node_status(&t)))
        .await
        .map_err(api_error(format!("report the status of node {name}")))?;
    let leases: Api<Lease> = Api::namespaced(client.clone(), "kube-node-lease");
    let renew = json!({"spec": {"holderIdentity": name, "leaseDurationSeconds": 40,
                                "renewTime": jiff::Timestamp::now().to_string()}});
    match leases
        .patch(name, &PatchParams::default(), &Patch::Merge(&renew))
        .await
    {
        Ok(_) => Ok(()),
        Err(kube::Error::Api(s)) if s.is_not_found() => {
            let mut lease = renew;
            lease["metadata"] = json!({"name": name, "namespace": "kube-node-lease"});
            let lease: Lease =
                serde_json::from_value(lease).map_err(|e| crate::Error::Client(e.to_string()))?;
            leases
                .create(&PostParams::default(), &lease)
                .await
                .map(|_| ())
                .map_err(api_error(format!("create the lease of node {name}")))
        }
        Err(e) => Err(api_error(format!("renew the lease of node {name}"))(e)),
    }
}

/// Heartbeats every node every [`HEARTBEAT`] until `stop`.
pub async fn keep_fresh(client: Client, names: Vec<String>, stop: CancellationToken) {
    loop {
        tokio::select! {
            () = stop.cancelled() => return,
            () = tokio::time::sleep(HEARTBEAT) => {}
        }
        for n in &names {
            if let Err(e) = heartbeat(&client, n).await {
                tracing::warn!(node = %n, error = %e, "fake node heartbeat failed");
            }
        }
    }
}
