//! Carrying out scale-down safely: taints, cordon, evictions, waiting, deletion, and undoing all of
//! it when any step fails.
//!
//! ```text
//! remove_node(removal):
//!     mark      hard taint ToBeDeletedByClusterAutoscaler=<unix time>:NoSchedule, cordon
//!     evict     POST pods/<name>/eviction for every pod (grace capped by --max-graceful-termination-sec);
//!               429 (a PDB says not now) retried every 10s until --max-pod-eviction-time; 404 = gone
//!     wait      until every evicted pod is gone (its grace + 30s headroom)
//!     delete    provider.delete_nodes (which lowers the group's target)
//!     any failure, or shutdown before the delete: unmark (untaint, uncordon if we cordoned) + event
//! ```
//!
//! The steps and durations are Cluster Autoscaler's (`core/scaledown/actuation/`), except that the
//! cordon is always done (CA's `--cordon-node-before-terminating` defaults to false) and is marked
//! with an annotation so that only a cordon Swell made is ever undone. Node writes are merge patches
//! that carry the node's `resourceVersion`, retried on conflict with a fresh read.

use std::{sync::Arc, time::Duration};

use futures::future::join_all;
use jiff::Timestamp;
use k8s_openapi::api::core::v1::{Node, ObjectReference, Pod, Taint};
use kube::{
    Api, Client,
    api::{Patch, PatchParams, PostParams},
};
use serde_json::json;
use swell_runtime::events::{EventType, Recorder};
use tokio::time::Instant;
use tokio_util::sync::CancellationToken;

use crate::model::{TAINT_DELETION_CANDIDATE, TAINT_TO_BE_DELETED};
use crate::plan::RemovalKind;
use crate::provider::NodeGroupProvider;

/// The annotation Swell puts on a node it cordoned, so that a rollback (or the clean-up at start)
/// uncordons only nodes that an operator did not cordon.
pub const ANNOTATION_CORDONED: &str = "swell.dev/cordoned-by-node-autoscaler";

/// How many times a node write is retried after a conflict.
const CONFLICT_ATTEMPTS: usize = 5;

/// Errors of the node writes and the drain.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// Reading or patching a node failed.
    #[error("failed to {what} node {node}: {source}")]
    Node {
        /// What was being done.
        what: &'static str,
        /// The node.
        node: String,
        /// The API error.
        #[source]
        source: kube::Error,
    },
    /// A pod could not be evicted.
    #[error("failed to evict pod {pod}: {message}")]
    Evict {
        /// `namespace/name`.
        pod: String,
        /// Why.
        message: String,
    },
    /// Evicted pods were still there at the deadline.
    #[error("failed to drain node {node}: pods still present after {waited_s}s: {pods}")]
    PodsRemain {
        /// The node.
        node: String,
        /// How long was waited.
        waited_s: u64,
        /// `namespace/name`, comma-separated.
        pods: String,
    },
    /// The provider refused to delete the node.
    #[error(transparent)]
    Provider(#[from] crate::provider::ProviderError),
    /// The controller is shutting down.
    #[error("the controller is shutting down")]
    Shutdown,
}

/// `Result` with this module's [`Error`].
pub type Result<T, E = Error> = std::result::Result<T, E>;

/// The actuation settings (CA's flag names).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ActuationOptions {
    /// `--max-graceful-termination-sec` (600): the longest grace period given to an evicted pod.
    pub max_graceful_termination_sec: i64,
    /// `--max-pod-eviction-time` (2m): how long refused evictions are retried.
    pub max_pod_eviction_time: Duration,
    /// How often a refused eviction is retried (CA: 10s).
    pub eviction_retry: Duration,
    /// How often the drained pods are checked (CA: 5s).
    pub pod_gone_poll: Duration,
    /// Added to the longest grace period when waiting for pods to go (CA: 30s).
    pub pod_gone_headroom: Duration,
}

impl Default for ActuationOptions {
    fn default() -> Self {
        ActuationOptions {
            max_graceful_termination_sec: 600,
            max_pod_eviction_time: Duration::from_secs(120),
            eviction_retry: Duration::from_secs(10),
            pod_gone_poll: Duration::from_secs(5),
            pod_gone_headroom: Duration::from_secs(30),
        }
    }
}

/// A pod to evict.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PodToEvict {
    /// Namespace.
    pub namespace: String,
    /// Name.
    pub name: String,
    /// UID (a pod recreated under the same name is not the evicted one).
    pub uid: String,
    /// `spec.terminationGracePeriodSeconds`.
    pub grace_seconds: i64,
}

impl PodToEvict {
    fn key(&self) -> String {
        format!("{}/{}", self.namespace, self.name)
    }
}

/// One node to remove.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Removal {
    /// Node name.
    pub node: String,
    /// Its group.
    pub group: String,
    /// Its provider id.
    pub provider_id: String,
    /// Empty or drained.
    pub kind: RemovalKind,
    /// The pods to evict.
    pub pods: Vec<PodToEvict>,
}

/// How a removal ended.
#[derive(Debug)]
pub enum RemovalOutcome {
    /// The node was deleted; `evicted` pods were evicted.
    Deleted {
        /// Evicted pods.
        evicted: usize,
    },
    /// A step failed; the node was unmarked (or the unmark failed too: `unmark_error`).
    Failed {
        /// What failed.
        error: Box<Error>,
        /// Evicted pods before the failure.
        evicted: usize,
        /// The rollback's own failure, if any.
        unmark_error: Option<Box<Error>>,
    },
}

/// A reference to a core/v1 object (`kind`, and `namespace` for namespaced kinds), for events.
pub fn core_ref(kind: &str, namespace: Option<&str>, name: &str, uid: Option<String>) -> ObjectReference {
    ObjectReference {
        api_version: Some("v1".into()),
        kind: Some(kind.into()),
        namespace: namespace.map(str::to_string),
        name: Some(name.into()),
        uid,
        ..ObjectReference::default()
    }
}

/// Writes taints and cordons on nodes.
#[derive(Clone, Debug)]
pub struct NodeWriter {
    nodes: Api<Node>,
}

fn has_taint(node: &Node, key: &str) -> bool {
    taints(node).iter().any(|t| t.key == key)
}

fn taints(node: &Node) -> &[Taint] {
    node.spec
        .as_ref()
        .and_then(|s| s.taints.as_deref())
        .unwrap_or(&[])
}

/// What a change to one node sets.
#[derive(Debug, Default)]
struct NodeChange {
    taints: Option<Vec<Taint>>,
    unschedulable: Option<bool>,
    /// `Some(true)`: set the cordon annotation; `Some(false)`: remove it.
    cordon_annotation: Option<bool>,
}

impl NodeWriter {
    /// A writer over `client`.
    pub fn new(client: Client) -> Self {
        NodeWriter {
            nodes: Api::all(client),
        }
    }

    /// Reads the node, asks `change` what to write (nothing: `None`), and writes it with the read
    /// `resourceVersion`; a conflict reads again. Returns whether anything was written; a node
    /// that is gone is left alone (`Ok(false)`).
    async fn update(
        &self,
        name: &str,
        what: &'static str,
        change: impl Fn(&Node) -> Option<NodeChange>,
    ) -> Result<bool> {
        let err = |source| Error::Node {
            what,
            node: name.to_owned(),
            source,
        };
        let mut attempt = 0;
        loop {
            attempt += 1;
            let Some(node) = self.nodes.get_opt(name).await.map_err(err)? else {
                return Ok(false);
            };
            let Some(c) = change(&node) else {
                return Ok(false);
            };
            let mut patch = json!({"metadata": {"resourceVersion": node.metadata.resource_version}});
            if let Some(t) = c.taints {
                patch["spec"]["taints"] = json!(t);
            }
            if let Some(u) = c.unschedulable {
                patch["spec"]["unschedulable"] = json!(u);
            }
            if let Some(a) = c.cordon_annotation {
                patch["metadata"]["annotations"] =
                    json!({ ANNOTATION_CORDONED: if a { json!("true") } else { json!(null) } });
            }
            match self
                .nodes
                .patch(name, &PatchParams::default(), &Patch::Merge(&patch))
                .await
            {
                Ok(_) => return Ok(true),
                Err(kube::Error::Api(s)) if s.is_conflict() && attempt < CONFLICT_ATTEMPTS => {
                    tracing::debug!(node = name, attempt, "conflict writing node; reading it again");
                }
                Err(kube::Error::Api(s)) if s.code == 404 => return Ok(false),
                Err(e) => return Err(err(e)),
            }
        }
    }

    /// Adds the soft taint `DeletionCandidateOfClusterAutoscaler=<unix time>:PreferNoSchedule`.
    pub async fn add_soft_taint(&self, name: &str, now: Timestamp) -> Result<bool> {
        self.update(name, "soft-taint", |node| {
            (!has_taint(node, TAINT_DELETION_CANDIDATE)).then(|| {
                let mut t = taints(node).to_vec();
                t.push(Taint {
                    key: TAINT_DELETION_CANDIDATE.into(),
                    value: Some(now.as_second().to_string()),
                    effect: "PreferNoSchedule".into(),
                    time_added: None,
                });
                NodeChange {
                    taints: Some(t),
                    ..NodeChange::default()
                }
            })
        })
        .await
    }

    /// Removes the soft taint.
    pub async fn remove_soft_taint(&self, name: &str) -> Result<bool> {
        self.update(name, "remove the soft taint from", |node| {
            has_taint(node, TAINT_DELETION_CANDIDATE).then(|| NodeChange {
                taints: Some(without(node, &[TAINT_DELETION_CANDIDATE])),
                ..NodeChange::default()
            })
        })
        .await
    }

    /// Marks the node for deletion: the hard taint `ToBeDeletedByClusterAutoscaler=<unix
    /// time>:NoSchedule` and a cordon (annotated as Swell's when the node was not cordoned yet).
    pub async fn mark(&self, name: &str, now: Timestamp) -> Result<bool> {
        self.update(name, "taint", |node| {
            let cordoned = node.spec.as_ref().and_then(|s| s.unschedulable).unwrap_or(false);
            if has_taint(node, TAINT_TO_BE_DELETED) && cordoned {
                return None;
            }
            let mut t = without(node, &[TAINT_TO_BE_DELETED]);
            t.push(Taint {
                key: TAINT_TO_BE_DELETED.into(),
                value: Some(now.as_second().to_string()),
                effect: "NoSchedule".into(),
                time_added: None,
            });
            Some(NodeChange {
                taints: Some(t),
                unschedulable: Some(true),
                cordon_annotation: (!cordoned).then_some(true),
            })
        })
        .await
    }

    /// Undoes [`NodeWriter::mark`] and the soft taint: both taints removed, and the cordon lifted
    /// when Swell made it.
    pub async fn unmark(&self, name: &str) -> Result<bool> {
        self.update(name, "untaint", |node| {
            let ours = node
                .metadata
                .annotations
                .as_ref()
                .is_some_and(|a| a.contains_key(ANNOTATION_CORDONED));
            let tainted = has_taint(node, TAINT_TO_BE_DELETED) || has_taint(node, TAINT_DELETION_CANDIDATE);
            (tainted || ours).then(|| NodeChange {
                taints: Some(without(node, &[TAINT_TO_BE_DELETED, TAINT_DELETION_CANDIDATE])),
                unschedulable: ours.then_some(false),
                cordon_annotation: ours.then_some(false),
            })
        })
        .await
    }
}

fn without(node: &Node, keys: &[&str]) -> Vec<Taint> {
    taints(node)
        .iter()
        .filter(|t| !keys.contains(&t.key.as_str()))
        .cloned()
        .collect()
}

/// Carries out removals.
pub struct Actuator<P> {
    /// Node writes.
    pub nodes: NodeWriter,
    /// Pod reads and evictions.
    pub client: Client,
    /// The cloud.
    pub provider: Arc<P>,
    /// Events.
    pub recorder: Arc<Recorder>,
    /// Settings.
    pub options: ActuationOptions,
}

impl<P> std::fmt::Debug for Actuator<P> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Actuator")
            .field("options", &self.options)
            .finish_non_exhaustive()
    }
}

impl<P: NodeGroupProvider> Actuator<P> {
    /// Removes one node: mark, evict, wait, delete; on any failure, or on `shutdown` before the
    /// delete, the node is unmarked and a `ScaleDownFailed` event says why.
    pub async fn remove_node(
        &self,
        r: &Removal,
        now: Timestamp,
        shutdown: &CancellationToken,
    ) -> RemovalOutcome {
        let mut evicted = 0;
        let result = self.drain_and_delete(r, now, shutdown, &mut evicted).await;
        match result {
            Ok(()) => {
                self.event(
                    &r.node,
                    EventType::Normal,
                    "ScaleDown",
                    "node removed by cluster autoscaler",
                )
                .await;
                RemovalOutcome::Deleted { evicted }
            }
            Err(error) => {
                let unmark_error = self.nodes.unmark(&r.node).await.err().map(Box::new);
                if let Some(e) = &unmark_error {
                    tracing::error!(node = %r.node, error = %e, "failed to unmark a node after a failed scale-down");
                }
                tracing::warn!(node = %r.node, error = %error, evicted, "scale-down failed; node unmarked");
                self.event(
                    &r.node,
                    EventType::Warning,
                    "ScaleDownFailed",
                    &format!("failed to drain the node, aborting ScaleDown: {error}"),
                )
                .await;
                RemovalOutcome::Failed {
                    error: Box::new(error),
                    evicted,
                    unmark_error,
                }
            }
        }
    }

    async fn drain_and_delete(
        &self,
        r: &Removal,
        now: Timestamp,
        shutdown: &CancellationToken,
        evicted: &mut usize,
    ) -> Result<()> {
        self.nodes.mark(&r.node, now).await?;
        self.event(
            &r.node,
            EventType::Normal,
            "ScaleDown",
            "marked the node as toBeDeleted/unschedulable",
        )
        .await;
        if r.kind == RemovalKind::Drain && !r.pods.is_empty() {
            let deadline = Instant::now() + self.options.max_pod_eviction_time;
            let results = join_all(r.pods.iter().map(|p| self.evict(p, deadline, shutdown))).await;
            *evicted = results.iter().filter(|x| x.is_ok()).count();
            if let Some(e) = results.into_iter().find_map(Result::err) {
                return Err(e);
            }
            self.wait_gone(r, shutdown).await?;
        }
        if shutdown.is_cancelled() {
            return Err(Error::Shutdown);
        }
        self.provider
            .delete_nodes(&r.group, std::slice::from_ref(&r.provider_id))
            .await?;
        Ok(())
    }

    /// Evicts one pod, retrying refusals (429) until `deadline`. A pod already gone (404) counts.
    async fn evict(&self, p: &PodToEvict, deadline: Instant, shutdown: &CancellationToken) -> Result<()> {
        let api: Api<Pod> = Api::namespaced(self.client.clone(), &p.namespace);
        let grace = p
            .grace_seconds
            .min(self.options.max_graceful_termination_sec)
            .max(0);
        // The body is written out rather than built with kube's `Api::evict`: kube-core 5.0 sends
        // `delete_options` (snake case) and no kind, which the API server ignores as an unknown
        // field, dropping the grace period.
        let body = json!({
            "apiVersion": "policy/v1",
            "kind": "Eviction",
            "metadata": {"name": p.name, "namespace": p.namespace},
            "deleteOptions": {"gracePeriodSeconds": grace},
        });
        loop {
            let sent = api
                .create_subresource::<_, serde_json::Value>(
                    "eviction",
                    &p.name,
                    &PostParams::default(),
                    &body,
                )
                .await;
            match sent {
                Ok(_) => return Ok(()),
                Err(kube::Error::Api(s)) if s.code == 404 => return Ok(()),
                Err(kube::Error::Api(s)) if s.code == 429 => {
                    if Instant::now() + self.options.eviction_retry > deadline {
                        return Err(Error::Evict {
                            pod: p.key(),
                            message: format!(
                                "still refused after {}s: {}",
                                self.options.max_pod_eviction_time.as_secs(),
                                s.message
                            ),
                        });
                    }
                    tracing::debug!(pod = %p.key(), message = %s.message, "eviction refused; retrying");
                }
                Err(e) => {
                    return Err(Error::Evict {
                        pod: p.key(),
                        message: e.to_string(),
                    });
                }
            }
            tokio::select! {
                () = tokio::time::sleep(self.options.eviction_retry) => {}
                () = shutdown.cancelled() => return Err(Error::Shutdown),
            }
        }
    }

    /// Waits until every evicted pod is gone (or replaced by a pod with another UID).
    async fn wait_gone(&self, r: &Removal, shutdown: &CancellationToken) -> Result<()> {
        let longest = r.pods.iter().map(|p| p.grace_seconds).max().unwrap_or(0);
        let grace = longest.min(self.options.max_graceful_termination_sec).max(0) as u64;
        let wait = Duration::from_secs(grace) + self.options.pod_gone_headroom;
        let deadline = Instant::now() + wait;
        loop {
            let mut remaining = Vec::new();
            for p in &r.pods {
                let api: Api<Pod> = Api::namespaced(self.client.clone(), &p.namespace);
                match api.get_opt(&p.name).await {
                    Ok(Some(pod)) if pod.metadata.uid.as_deref() == Some(p.uid.as_str()) => {
                        remaining.push(p.key())
                    }
                    Ok(_) => {}
                    // A failed read is not proof that the pod is gone.
                    Err(e) => {
                        tracing::debug!(pod = %p.key(), error = %e, "failed to read an evicted pod");
                        remaining.push(p.key());
                    }
                }
            }
            if remaining.is_empty() {
                return Ok(());
            }
            if Instant::now() + self.options.pod_gone_poll > deadline {
                return Err(Error::PodsRemain {
                    node: r.node.clone(),
                    waited_s: wait.as_secs(),
                    pods: remaining.join(", "),
                });
            }
            tokio::select! {
                () = tokio::time::sleep(self.options.pod_gone_poll) => {}
                () = shutdown.cancelled() => return Err(Error::Shutdown),
            }
        }
    }

    async fn event(&self, node: &str, event_type: EventType, reason: &str, message: &str) {
        if let Err(e) = self
            .recorder
            .publish(&core_ref("Node", None, node, None), event_type, reason, message)
            .await
        {
            tracing::warn!(node, reason, error = %e, "failed to post an event");
        }
    }
}
