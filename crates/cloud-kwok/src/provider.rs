//! [`KwokProvider`]: a [`NodeGroupProvider`] whose instances are Node objects it creates and deletes
//! in the cluster itself.
//!
//! ```text
//! refresh          LIST /api/v1/nodes?labelSelector=swell.dev/kwok-node-group   (one per refresh)
//!                  -> per declared group: its nodes (Running / Creating / Deleting) and its target
//! set_target_size  up:   POST /api/v1/nodes, then PATCH /api/v1/nodes/<name>/status (merge), per node
//!                  down: DELETE /api/v1/nodes/<name> for the surplus
//! delete_nodes     DELETE /api/v1/nodes/<name> per node (404 = already gone), target lowered
//! heartbeat        PATCH /api/v1/nodes/<name>/status (strategic) and the node's Lease, per node;
//!                  only needed where no kwok controller keeps the nodes fresh
//! ```
//!
//! **Target size.** There is no cloud to remember a desired size, so the provider keeps it in memory.
//! The first refresh sets each group's target to the number of its nodes that are not being deleted
//! (not clamped to the group's bounds: a group below its minimum shows as such); after that only
//! [`NodeGroupProvider::set_target_size`] and [`NodeGroupProvider::delete_nodes`] change it. A
//! restarted controller therefore starts from the nodes that exist. A node deleted behind the
//! provider's back is not replaced: the target keeps counting it until it is set again.
//!
//! **Instances.** A node with a deletion timestamp is `Deleting`; a node without a Ready condition
//! (created, but its status not yet written) is `Creating`; every other node is `Running`. Creation
//! is synchronous, so there are no instances that were asked for and do not exist yet: when a
//! creation fails, the target falls back to the nodes that exist and the error says why. A node
//! whose status write failed stays `Creating` (kwok, if it runs, writes the status itself); the
//! controller's provisioning timeout lowers the target, which deletes `Creating` nodes first.
//!
//! **Shrinking through the target.** A lower target deletes the surplus at once, without draining
//! (draining is the controller's job, which it does before [`NodeGroupProvider::delete_nodes`]):
//! nodes still `Creating` first, then the youngest, so that the nodes most likely to run pods stay.
//!
//! **Bounds.** A size outside `minSize..=maxSize`, or a deletion that would take the group below its
//! minimum, is refused with [`ErrorClass::Fatal`]: retrying the same call cannot succeed.
//!
//! **Errors.** API errors are classified: 429 `Throttled`; 5xx, 409 and transport failures
//! `Transient`; 404 `NotFound`; 400, 401, 403, 422 and anything else `Fatal`.

use std::collections::BTreeMap;
use std::fmt;
use std::hash::{BuildHasher, RandomState};
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};

use jiff::Timestamp;
use k8s_openapi::api::coordination::v1::Lease;
use k8s_openapi::api::core::v1::Node;
use k8s_openapi::apimachinery::pkg::apis::meta::v1::ObjectMeta;
use kube::api::{DeleteParams, ListParams, Patch, PatchParams, PostParams};
use kube::{Api, Client};
use swell_core::clock::Clock;
use swell_node_autoscaler::model;
use swell_node_autoscaler::provider::{
    ErrorClass, GroupInfo, Instance, InstanceState, NodeGroupProvider, ProviderError, Result,
};

use crate::declaration::{Declaration, GroupSpec};
use crate::nodes::{self, GROUP_LABEL};

/// Makes the suffix of a new node's name (`<group>-<suffix>`); five characters by default.
pub type SuffixGenerator = Box<dyn FnMut() -> String + Send>;

/// The kwok provider. Cheap to share behind an `Arc`; calls synchronize inside.
pub struct KwokProvider {
    client: Client,
    declaration: Declaration,
    clock: Arc<dyn Clock>,
    suffixes: Mutex<SuffixGenerator>,
    cache: Mutex<BTreeMap<String, GroupState>>,
    /// Serializes refresh and the calls that write (set_target_size, delete_nodes), so that no write
    /// computes its work from a state another one is changing, and no LIST misses a node being made.
    writing: tokio::sync::Mutex<()>,
}

impl fmt::Debug for KwokProvider {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("KwokProvider")
            .field("groups", &self.declaration.node_groups.keys().collect::<Vec<_>>())
            .finish_non_exhaustive()
    }
}

/// What the provider knows of one group.
#[derive(Debug, Default)]
struct GroupState {
    /// `None` until the first refresh.
    target: Option<usize>,
    nodes: Vec<Observed>,
}

impl GroupState {
    fn active(&self) -> impl Iterator<Item = &Observed> {
        self.nodes.iter().filter(|n| !n.deleting)
    }
}

/// One node of a group, as last seen.
#[derive(Clone, Debug)]
struct Observed {
    name: String,
    uid: Option<String>,
    created: Option<Timestamp>,
    deleting: bool,
    ready_reported: bool,
}

impl Observed {
    fn from_node(node: &Node) -> Option<Observed> {
        Some(Observed {
            name: node.metadata.name.clone()?,
            uid: node.metadata.uid.clone(),
            created: node.metadata.creation_timestamp.as_ref().map(|t| t.0),
            deleting: node.metadata.deletion_timestamp.is_some(),
            ready_reported: nodes::has_ready_condition(node),
        })
    }

    fn state(&self) -> InstanceState {
        if self.deleting {
            InstanceState::Deleting
        } else if self.ready_reported {
            InstanceState::Running
        } else {
            InstanceState::Creating
        }
    }
}

impl KwokProvider {
    /// A provider for the declared groups, writing Node objects through `client`, stamping the
    /// nodes' conditions with `clock`'s time. Nothing is read until the first refresh.
    pub fn new(client: Client, declaration: Declaration, clock: Arc<dyn Clock>) -> KwokProvider {
        let cache = declaration
            .node_groups
            .keys()
            .map(|name| (name.as_str().to_owned(), GroupState::default()))
            .collect();
        KwokProvider {
            client,
            declaration,
            clock,
            suffixes: Mutex::new(Box::new(random_suffix)),
            cache: Mutex::new(cache),
            writing: tokio::sync::Mutex::new(()),
        }
    }

    /// Replaces the generator of node name suffixes (random by default), e.g. with a counter in tests.
    pub fn with_name_suffixes(self, suffixes: impl FnMut() -> String + Send + 'static) -> KwokProvider {
        KwokProvider {
            suffixes: Mutex::new(Box::new(suffixes)),
            ..self
        }
    }

    /// The declaration the provider serves.
    pub fn declaration(&self) -> &Declaration {
        &self.declaration
    }

    fn nodes(&self) -> Api<Node> {
        Api::all(self.client.clone())
    }

    fn cache(&self) -> MutexGuard<'_, BTreeMap<String, GroupState>> {
        // Nothing panics while holding the lock; if something did, the cache is still a valid view.
        self.cache.lock().unwrap_or_else(PoisonError::into_inner)
    }

    fn spec(&self, group: &str, operation: &str) -> Result<&GroupSpec> {
        self.declaration.group(group).ok_or_else(|| {
            ProviderError::new(
                ErrorClass::NotFound,
                operation,
                format!("no node group {group:?} is declared"),
            )
        })
    }

    fn next_name(&self, group: &str) -> String {
        let mut suffixes = self.suffixes.lock().unwrap_or_else(PoisonError::into_inner);
        format!("{group}-{}", (suffixes)())
    }

    /// Creates one node and writes its status; on success it is in the cache as `Running`.
    async fn create_node(&self, group: &str, spec: &GroupSpec, operation: &str) -> Result<()> {
        let name = self.next_name(group);
        let node = nodes::node_object(group, spec, &name);
        let created = self
            .nodes()
            .create(&PostParams::default(), &node)
            .await
            .map_err(|err| api_error(operation, &format!("create node {name}"), err))?;
        let mut observed = Observed::from_node(&created).unwrap_or(Observed {
            name: name.clone(),
            uid: None,
            created: None,
            deleting: false,
            ready_reported: false,
        });
        if let Some(state) = self.cache().get_mut(group) {
            state.nodes.push(observed.clone());
        }
        tracing::info!(group, node = %name, "created kwok node");
        let patch = nodes::status_patch(spec, self.clock.now());
        self.nodes()
            .patch_status(&name, &PatchParams::default(), &Patch::Merge(&patch))
            .await
            .map_err(|err| api_error(operation, &format!("write the status of node {name}"), err))?;
        observed.ready_reported = true;
        if let Some(state) = self.cache().get_mut(group)
            && let Some(n) = state.nodes.iter_mut().find(|n| n.name == name)
        {
            *n = observed;
        }
        Ok(())
    }

    /// Deletes one node; `Ok` when it is gone or going, 404 included.
    async fn delete_node(&self, group: &str, name: &str, operation: &str) -> Result<()> {
        match self.nodes().delete(name, &DeleteParams::default()).await {
            Ok(answer) => {
                // The API answers with the object while finalizers hold it, with a Status when it is gone.
                let still_there = answer.left().and_then(|node| Observed::from_node(&node));
                let mut cache = self.cache();
                if let Some(state) = cache.get_mut(group) {
                    state.nodes.retain(|n| n.name != name);
                    if let Some(node) = still_there {
                        state.nodes.push(node);
                    }
                }
                tracing::info!(group, node = %name, "deleted kwok node");
                Ok(())
            }
            Err(kube::Error::Api(status)) if status.code == 404 => {
                if let Some(state) = self.cache().get_mut(group) {
                    state.nodes.retain(|n| n.name != name);
                }
                tracing::info!(group, node = %name, "kwok node already gone");
                Ok(())
            }
            Err(err) => Err(api_error(operation, &format!("delete node {name}"), err)),
        }
    }

    /// Renews what a kubelet renews, for clusters where no kwok controller does it: each node's
    /// condition heartbeats (a strategic merge patch of `status.conditions`, which merges by type and
    /// keeps the transition times) and its Lease in `kube-node-lease` (created when missing, owned by
    /// the node so that it goes with it). Without this or kwok, the node lifecycle controller marks
    /// the nodes unreachable after its grace period (40 s by default). Call it every 10 s or so.
    ///
    /// Covers the nodes of the last refresh and those created since, not the ones being deleted; a
    /// node gone meanwhile (404) is skipped. Every node is tried; the first error is returned.
    pub async fn heartbeat(&self) -> Result<()> {
        let operation = "renew the heartbeats of the kwok nodes";
        let nodes: Vec<Observed> = self
            .cache()
            .values()
            .flat_map(|s| s.active().cloned().collect::<Vec<_>>())
            .collect();
        let now = self.clock.now();
        let leases: Api<Lease> = Api::namespaced(self.client.clone(), NODE_LEASE_NAMESPACE);
        let mut first_error = None;
        for node in nodes {
            let name = node.name.as_str();
            let status = nodes::heartbeat_patch(now);
            let renewed = match self
                .nodes()
                .patch_status(name, &PatchParams::default(), &Patch::Strategic(&status))
                .await
            {
                Ok(_) => renew_lease(&leases, &node, now).await,
                Err(kube::Error::Api(status)) if status.code == 404 => Ok(()),
                Err(err) => Err(api_error(
                    operation,
                    &format!("write the heartbeat of node {name}"),
                    err,
                )),
            };
            if let Err(err) = renewed {
                tracing::warn!(node = %name, error = %err, "kwok node heartbeat failed");
                first_error.get_or_insert(err);
            }
        }
        first_error.map_or(Ok(()), Err)
    }

    fn set_target(&self, group: &str, target: usize) {
        if let Some(state) = self.cache().get_mut(group) {
            state.target = Some(target);
        }
    }

    fn active_count(&self, group: &str) -> usize {
        self.cache().get(group).map_or(0, |s| s.active().count())
    }
}

impl NodeGroupProvider for KwokProvider {
    /// One LIST of the nodes carrying [`GROUP_LABEL`]; nodes naming an undeclared group are ignored
    /// (with a warning). Idempotent.
    async fn refresh(&self) -> Result<()> {
        let operation = "refresh the kwok node groups";
        // A LIST answered while a write is under way could miss the node it is creating.
        let _writing = self.writing.lock().await;
        let list = self
            .nodes()
            .list(&ListParams::default().labels(GROUP_LABEL))
            .await
            .map_err(|err| api_error(operation, "list nodes", err))?;
        let mut seen: BTreeMap<String, Vec<Observed>> = BTreeMap::new();
        for node in &list.items {
            let Some(group) = node.metadata.labels.as_ref().and_then(|l| l.get(GROUP_LABEL)) else {
                continue;
            };
            let Some(observed) = Observed::from_node(node) else {
                continue;
            };
            if self.declaration.group(group).is_none() {
                tracing::warn!(node = %observed.name, group = %group, "node of an undeclared kwok node group ignored");
                continue;
            }
            seen.entry(group.clone()).or_default().push(observed);
        }
        let mut cache = self.cache();
        for (group, state) in cache.iter_mut() {
            state.nodes = seen.remove(group).unwrap_or_default();
            state.nodes.sort_by(|a, b| a.name.cmp(&b.name));
            if state.target.is_none() {
                state.target = Some(state.active().count());
            }
        }
        Ok(())
    }

    /// The declared groups with their bounds and price; the target as of the last refresh or write
    /// (0 before the first refresh).
    fn node_groups(&self) -> Vec<GroupInfo> {
        let cache = self.cache();
        self.declaration
            .node_groups
            .iter()
            .map(|(name, spec)| GroupInfo {
                id: name.as_str().to_owned(),
                min: spec.min_size,
                max: spec.max_size,
                target: cache.get(name.as_str()).and_then(|s| s.target).unwrap_or(0),
                price_per_hour: spec.price_per_hour,
            })
            .collect()
    }

    /// The group named in a `kwok://<group>/<node>` id, if it is declared. Pure: reads the id only.
    fn node_group_for_node(&self, provider_id: &str) -> Option<String> {
        let (group, _) = nodes::parse_provider_id(provider_id)?;
        self.declaration.group(group).map(|_| group.to_owned())
    }

    fn template(&self, group: &str) -> Result<model::Node> {
        let operation = format!("build the template of node group {group}");
        let spec = self.spec(group, &operation)?;
        nodes::template(group, spec, self.clock.now())
            .map_err(|err| ProviderError::new(ErrorClass::Fatal, operation, err.to_string()))
    }

    fn instances(&self, group: &str) -> Result<Vec<Instance>> {
        self.spec(group, &format!("list the instances of node group {group}"))?;
        let cache = self.cache();
        Ok(cache
            .get(group)
            .map(|s| {
                s.nodes
                    .iter()
                    .map(|n| Instance {
                        provider_id: nodes::provider_id(group, &n.name),
                        state: n.state(),
                    })
                    .collect()
            })
            .unwrap_or_default())
    }

    /// Creates nodes up to `size`, or deletes the surplus above it (see the module docs for which).
    /// Idempotent: a size equal to the nodes that exist changes nothing. Needs a refresh first.
    async fn set_target_size(&self, group: &str, size: usize) -> Result<()> {
        let operation = format!("set the target size of node group {group} to {size}");
        let spec = self.spec(group, &operation)?;
        if size < spec.min_size || size > spec.max_size {
            return Err(ProviderError::new(
                ErrorClass::Fatal,
                operation,
                format!(
                    "{size} is outside the group's bounds {}..={}",
                    spec.min_size, spec.max_size
                ),
            ));
        }
        let _writing = self.writing.lock().await;
        let (refreshed, surplus) = {
            let cache = self.cache();
            let state = cache.get(group);
            let refreshed = state.is_some_and(|s| s.target.is_some());
            let mut active: Vec<&Observed> = state.map(|s| s.active().collect()).unwrap_or_default();
            // Keep order: Ready first, then oldest (earliest creation, then name); the rest is surplus,
            // deleted youngest first.
            active.sort_by(|a, b| {
                b.ready_reported
                    .cmp(&a.ready_reported)
                    .then(a.created.cmp(&b.created))
                    .then(a.name.cmp(&b.name))
            });
            let surplus: Vec<String> = active.iter().skip(size).rev().map(|n| n.name.clone()).collect();
            (refreshed, surplus)
        };
        if !refreshed {
            return Err(ProviderError::new(
                ErrorClass::Transient,
                operation,
                "the provider has not been refreshed yet",
            ));
        }
        let mut result = Ok(());
        if surplus.is_empty() {
            let missing = size.saturating_sub(self.active_count(group));
            for _ in 0..missing {
                if let Err(err) = self.create_node(group, spec, &operation).await {
                    result = Err(err);
                    break;
                }
            }
        } else {
            for name in &surplus {
                if let Err(err) = self.delete_node(group, name, &operation).await {
                    result = Err(err);
                    break;
                }
            }
        }
        // On failure the target is what exists, so nothing stays asked for and never made.
        let target = if result.is_ok() {
            size
        } else {
            self.active_count(group)
        };
        self.set_target(group, target);
        result
    }

    /// Deletes the named nodes (404 counts as deleted) and lowers the target by the ones that were
    /// counted in it. Refused, before anything is deleted, if an id is not a node of this group or if
    /// the group would fall below its minimum. Not idempotent (see the trait).
    async fn delete_nodes(&self, group: &str, provider_ids: &[String]) -> Result<()> {
        let operation = format!("delete {} node(s) of node group {group}", provider_ids.len());
        let spec = self.spec(group, &operation)?;
        let mut names = Vec::with_capacity(provider_ids.len());
        for id in provider_ids {
            match nodes::parse_provider_id(id) {
                Some((g, name)) if g == group => names.push(name.to_owned()),
                _ => {
                    return Err(ProviderError::new(
                        ErrorClass::Fatal,
                        operation,
                        format!("{id} is not a node of node group {group}"),
                    ));
                }
            }
        }
        let _writing = self.writing.lock().await;
        let (target, counted) = {
            let cache = self.cache();
            let state = cache.get(group);
            let target = state.and_then(|s| s.target);
            let counted: Vec<bool> = names
                .iter()
                .map(|name| state.is_some_and(|s| s.active().any(|n| &n.name == name)))
                .collect();
            (target, counted)
        };
        let Some(target) = target else {
            return Err(ProviderError::new(
                ErrorClass::Transient,
                operation,
                "the provider has not been refreshed yet",
            ));
        };
        let lowering = counted.iter().filter(|c| **c).count();
        if target.saturating_sub(lowering) < spec.min_size {
            return Err(ProviderError::new(
                ErrorClass::Fatal,
                operation,
                format!(
                    "the target {target} would fall to {} below the group's minimum {}",
                    target.saturating_sub(lowering),
                    spec.min_size
                ),
            ));
        }
        let mut lowered = 0;
        let mut result = Ok(());
        for (name, counted) in names.iter().zip(counted) {
            if let Err(err) = self.delete_node(group, name, &operation).await {
                result = Err(err);
                break;
            }
            if counted {
                lowered += 1;
            }
        }
        self.set_target(group, target.saturating_sub(lowered));
        result
    }
}

/// Where kubelets keep their node Leases.
const NODE_LEASE_NAMESPACE: &str = "kube-node-lease";

/// Renews the node's Lease, creating it when it is missing.
async fn renew_lease(leases: &Api<Lease>, node: &Observed, now: Timestamp) -> Result<()> {
    let operation = "renew the heartbeats of the kwok nodes";
    let name = node.name.as_str();
    let renewal = nodes::lease(node.name.as_str(), node.uid.as_deref(), now);
    let spec_only = Lease {
        metadata: ObjectMeta::default(),
        spec: renewal.spec.clone(),
    };
    match leases
        .patch(name, &PatchParams::default(), &Patch::Merge(&spec_only))
        .await
    {
        Ok(_) => Ok(()),
        Err(kube::Error::Api(status)) if status.code == 404 => leases
            .create(&PostParams::default(), &renewal)
            .await
            .map(|_| ())
            .map_err(|err| api_error(operation, &format!("create the lease of node {name}"), err)),
        Err(err) => Err(api_error(
            operation,
            &format!("renew the lease of node {name}"),
            err,
        )),
    }
}

/// A provider error for a failed API call, classified by what the API said.
fn api_error(operation: &str, call: &str, err: kube::Error) -> ProviderError {
    let class = classify(&err);
    let message = match &err {
        kube::Error::Api(status) => format!("failed to {call}: {} ({})", status.message, status.code),
        other => format!("failed to {call}: {other}"),
    };
    ProviderError {
        operation: operation.to_owned(),
        class,
        message,
        source: Some(Box::new(err)),
    }
}

/// The class of a failed API call: 429 `Throttled`; 5xx, 409 (a name clash or a concurrent write)
/// and transport failures `Transient`; 404 `NotFound`; other answers (400, 401, 403, 422) `Fatal`.
pub fn classify(err: &kube::Error) -> ErrorClass {
    match err {
        kube::Error::Api(status) => match status.code {
            429 => ErrorClass::Throttled,
            404 => ErrorClass::NotFound,
            409 => ErrorClass::Transient,
            code if code >= 500 => ErrorClass::Transient,
            _ => ErrorClass::Fatal,
        },
        kube::Error::HyperError(_) | kube::Error::Service(_) | kube::Error::ReadEvents(_) => {
            ErrorClass::Transient
        }
        _ => ErrorClass::Fatal,
    }
}

/// Five characters of the alphabet Kubernetes uses for generated names (no vowels, no look-alikes),
/// from the standard library's randomly seeded hasher.
fn random_suffix() -> String {
    const ALPHABET: &[u8] = b"bcdfghjklmnpqrstvwxz2456789";
    let mut bits = RandomState::new().hash_one(Timestamp::now().as_nanosecond());
    let mut out = String::with_capacity(5);
    for _ in 0..5 {
        // The remainder is below the alphabet's length, so the index is in range.
        let i = usize::try_from(bits % ALPHABET.len() as u64).unwrap_or(0);
        out.push(char::from(ALPHABET[i]));
        bits /= ALPHABET.len() as u64;
    }
    out
}
