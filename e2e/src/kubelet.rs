//! A kubelet for the fake nodes: pods the scheduler binds to them become Running and Ready after a
//! short start delay; a pod being deleted is removed once its grace period has passed. Pods on any
//! other node are never touched.
//!
//! [`action`] decides what a pod needs (pure, table-tested); [`run`] watches the namespace's pods and
//! carries the actions out, one at a time per pod and state.

use std::{collections::HashSet, sync::Arc, time::Duration};

use futures::StreamExt;
use k8s_openapi::api::core::v1::Pod;
use kube::{
    Api, Client,
    api::{DeleteParams, Patch, PatchParams},
    runtime::{WatchStreamExt, watcher},
};
use serde_json::{Value, json};
use tokio::sync::Mutex;
use tokio_util::sync::CancellationToken;

/// Delays of the fake kubelet.
#[derive(Clone, Copy, Debug)]
pub struct Timing {
    /// From binding to Running and Ready.
    pub start_delay: Duration,
}

impl Default for Timing {
    fn default() -> Self {
        Self {
            start_delay: Duration::from_secs(2),
        }
    }
}

/// What a pod needs from the kubelet.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Action {
    /// Nothing: not on a fake node, not bound yet, or already running.
    None,
    /// Start it after the delay.
    Start,
    /// Remove it once its grace period (seconds) has passed.
    Remove {
        /// `metadata.deletionGracePeriodSeconds`.
        grace_seconds: u64,
    },
}

fn is_running_and_ready(pod: &Pod) -> bool {
    let Some(status) = &pod.status else {
        return false;
    };
    status.phase.as_deref() == Some("Running")
        && status
            .conditions
            .iter()
            .flatten()
            .any(|c| c.type_ == "Ready" && c.status == "True")
}

/// What `pod` needs, given the fake nodes' names.
pub fn action(pod: &Pod, nodes: &[String]) -> Action {
    action_matching(pod, &|n| nodes.iter().any(|m| m == n))
}

/// What `pod` needs, given which node names are fake (nodes a provider creates as it goes).
pub fn action_matching(pod: &Pod, is_fake: &dyn Fn(&str) -> bool) -> Action {
    let on_fake_node = pod
        .spec
        .as_ref()
        .and_then(|s| s.node_name.as_deref())
        .is_some_and(is_fake);
    if !on_fake_node {
        return Action::None;
    }
    if pod.metadata.deletion_timestamp.is_some() {
        let grace = pod.metadata.deletion_grace_period_seconds.unwrap_or(0).max(0);
        return Action::Remove {
            grace_seconds: u64::try_from(grace).unwrap_or(0),
        };
    }
    if is_running_and_ready(pod) {
        Action::None
    } else {
        Action::Start
    }
}

/// The status patch that makes a pod Running and Ready at `now` (`startTime` kept if set).
pub fn running_status(pod: &Pod, now: &str) -> Value {
    let start = pod
        .status
        .as_ref()
        .and_then(|s| s.start_time.as_ref())
        .map_or_else(|| now.to_string(), |t| t.0.to_string());
    let condition = |type_: &str| json!({"type": type_, "status": "True", "lastTransitionTime": now});
    let containers: Vec<Value> = pod
        .spec
        .iter()
        .flat_map(|s| s.containers.iter())
        .map(|c| {
            json!({"name": c.name, "image": c.image.clone().unwrap_or_default(), "imageID": "", "ready": true,
                   "restartCount": 0, "started": true, "state": {"running": {"startedAt": now}}})
        })
        .collect();
    json!({"status": {
        "phase": "Running", "startTime": start, "hostIP": "10.255.0.1", "podIP": "10.255.1.1",
        "conditions": [condition("PodScheduled"), condition("Initialized"), condition("ContainersReady"), condition("Ready")],
        "containerStatuses": containers
    }})
}

/// Plays the kubelet for the pods of `namespace` bound to `nodes`, until `stop`.
pub async fn run(
    client: Client,
    namespace: String,
    nodes: Vec<String>,
    timing: Timing,
    stop: CancellationToken,
) {
    run_matching(
        client,
        namespace,
        Arc::new(move |n: &str| nodes.iter().any(|m| m == n)),
        timing,
        stop,
    )
    .await;
}

/// Plays the kubelet for the pods of `namespace` bound to any node `is_fake` accepts, until `stop`.
pub async fn run_matching(
    client: Client,
    namespace: String,
    is_fake: Arc<dyn Fn(&str) -> bool + Send + Sync>,
    timing: Timing,
    stop: CancellationToken,
) {
    let api: Api<Pod> = Api::namespaced(client, &namespace);
    let in_flight: Arc<Mutex<HashSet<(String, bool)>>> = Arc::default();
    let mut events = std::pin::pin!(
        watcher(api.clone(), watcher::Config::default())
            .default_backoff()
            .applied_objects()
    );
    loop {
        let pod = tokio::select! {
            () = stop.cancelled() => return,
            next = events.next() => match next {
                Some(Ok(p)) => p,
                Some(Err(e)) => {
                    tracing::warn!(error = %e, "fake kubelet: pod watch error");
                    continue;
                }
                None => return,
            }
        };
        let act = action_matching(&pod, &*is_fake);
        if act == Action::None {
            continue;
        }
        let name = pod.metadata.name.clone().unwrap_or_default();
        let key = (name.clone(), matches!(act, Action::Remove { .. }));
        if !in_flight.lock().await.insert(key.clone()) {
            continue;
        }
        let api = api.clone();
        let in_flight = in_flight.clone();
        let stop = stop.clone();
        tokio::spawn(async move {
            let (delay, result) = match act {
                Action::Start => (timing.start_delay, None),
                Action::Remove { grace_seconds } => (Duration::from_secs(grace_seconds), Some(())),
                Action::None => return,
            };
            tokio::select! {
                () = stop.cancelled() => return,
                () = tokio::time::sleep(delay) => {}
            }
            let outcome = match result {
                None => {
                    let now = jiff::Timestamp::from_second(jiff::Timestamp::now().as_second())
                        .unwrap_or(jiff::Timestamp::UNIX_EPOCH)
                        .to_string();
                    api.patch_status(
                        &name,
                        &PatchParams::default(),
                        &Patch::Merge(running_status(&pod, &now)),
                    )
                    .await
                    .map(|_| ())
                }
                Some(()) => api
                    .delete(&name, &DeleteParams::default().grace_period(0))
                    .await
                    .map(|_| ()),
            };
            match outcome {
                Ok(()) => {}
                Err(kube::Error::Api(s)) if s.is_not_found() => {}
                Err(e) => tracing::warn!(pod = %name, error = %e, "fake kubelet: update failed"),
            }
            // Done (or failed): a later event about the pod, or a new pod of the same name, is
            // handled afresh; a running pod's events ask for nothing.
            in_flight.lock().await.remove(&key);
        });
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn pod(node: Option<&str>, deleting: bool, running: bool) -> Pod {
        let mut v = json!({"metadata": {"name": "p", "namespace": "ns"}, "spec": {"containers": [{"name": "c", "image": "pause"}]}});
        if let Some(n) = node {
            v["spec"]["nodeName"] = json!(n);
        }
        if deleting {
            v["metadata"]["deletionTimestamp"] = json!("2026-01-01T00:00:00Z");
            v["metadata"]["deletionGracePeriodSeconds"] = json!(30);
        }
        if running {
            v["status"] = json!({"phase": "Running", "conditions": [{"type": "Ready", "status": "True"}]});
        }
        serde_json::from_value(v).unwrap()
    }

    #[test]
    fn only_pods_bound_to_fake_nodes_are_started_or_removed() {
        let nodes = vec!["fake-0".to_string()];
        assert_eq!(
            action(&pod(None, false, false), &nodes),
            Action::None,
            "not bound yet"
        );
        assert_eq!(
            action(&pod(Some("real"), false, false), &nodes),
            Action::None,
            "someone else's node"
        );
        assert_eq!(action(&pod(Some("real"), true, false), &nodes), Action::None);
        assert_eq!(action(&pod(Some("fake-0"), false, false), &nodes), Action::Start);
        assert_eq!(
            action(&pod(Some("fake-0"), false, true), &nodes),
            Action::None,
            "already running"
        );
        assert_eq!(
            action(&pod(Some("fake-0"), true, true), &nodes),
            Action::Remove { grace_seconds: 30 }
        );
    }

    #[test]
    fn a_started_pod_is_running_and_ready_with_every_container_ready() {
        let patch = running_status(&pod(Some("fake-0"), false, false), "2026-01-01T00:00:05Z");
        let s = &patch["status"];
        assert_eq!(s["phase"], "Running");
        assert_eq!(s["startTime"], "2026-01-01T00:00:05Z");
        assert!(
            s["conditions"]
                .as_array()
                .unwrap()
                .iter()
                .any(|c| c["type"] == "Ready" && c["status"] == "True")
        );
        assert_eq!(s["containerStatuses"][0]["ready"], true);
        let back: Pod = serde_json::from_value(
            json!({"metadata": {"name": "p"}, "spec": {"containers": [], "nodeName": "fake-0"},
                                                      "status": s.clone()}),
        )
        .unwrap();
        assert_eq!(action(&back, &["fake-0".to_string()]), Action::None);
    }
}
