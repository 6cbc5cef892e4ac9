//! [`AwsProvider`]: the node autoscaler's [`NodeGroupProvider`] over Auto Scaling Groups.
//!
//! ```text
//! refresh:  describe groups (one query per auto-discovery spec, one for the --nodes names)
//!           -> describe launch configurations not seen before (they never change)
//!           -> describe launch template versions (EC2; numbered ones once, $Latest/$Default every 10 min)
//!           -> describe scaling activities of groups whose desired capacity exceeds their instances
//!           -> one new cache: groups, instances (providerID aws:///<zone>/<id>), templates, options
//! reads:    from that cache (node_groups, node_group_for_node, template, instances)
//! acts:     set_target_size -> SetDesiredCapacity(HonorCooldown=false), bounds checked here first
//!           delete_nodes    -> TerminateInstanceInAutoScalingGroup(ShouldDecrementDesiredCapacity=true)
//!                              per instance, never below the minimum (refused before any call)
//! ```
//!
//! The bounds of a discovered group are its `MinSize`/`MaxSize`; a `--nodes` group uses the bounds
//! of its spec, as Cluster Autoscaler does. Only `DesiredCapacity` is ever changed.
//!
//! When desired capacity exceeds the group's instances, the missing ones are placeholders
//! (`aws:///<zone>/i-placeholder-<group>-<n>`), `Creating` while AWS may still launch them and
//! `FailedToCreate` (class `InsufficientCapacity`) once a scaling activity since the last size
//! change failed, so that the controller rolls back and backs the group off. Deleting a placeholder
//! lowers desired capacity by one.

use std::collections::{BTreeMap, HashMap};
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};

use jiff::Timestamp;
use swell_core::clock::{Clock, SystemClock};
use swell_node_autoscaler::model::{GroupOptions, Node};
use swell_node_autoscaler::provider::{
    ErrorClass, GroupInfo, Instance, InstanceState, NodeGroupProvider, ProviderError, Result,
};

use crate::api::{Activity, ApiError, AsgApi, AsgGroup, GroupQuery, LaunchTemplateRef};
use crate::instance_types;
use crate::options::{AwsOptions, Discovery, OptionsError};
use crate::sdk::{ClientSettings, ConnectError, SdkAsgApi};
use crate::template::{
    LABEL_INSTANCE_TYPE, TemplateInputs, build_template, labels_from_tags, options_from_tags, region_of_zone,
    tags_give_cpu_and_memory,
};

/// The id prefix of placeholder instances (Cluster Autoscaler's).
pub const PLACEHOLDER_PREFIX: &str = "i-placeholder";

/// How long the instance type of a `$Latest` or `$Default` launch template version is cached (a
/// numbered version never changes and is cached for good).
pub const LAUNCH_TEMPLATE_TTL: jiff::SignedDuration = jiff::SignedDuration::from_mins(10);

/// What this refresh could not describe, by launch configuration name or [`lt_key`].
#[derive(Debug, Default)]
struct Failures {
    launch_configurations: Option<ApiError>,
    launch_templates: HashMap<String, ApiError>,
}

/// The launch template a group's instance type comes from, when neither an override of its mixed
/// instances policy nor a launch configuration gives it.
fn launch_template_of(g: &AsgGroup) -> Option<&LaunchTemplateRef> {
    if g.launch_configuration.is_some() {
        return None;
    }
    match &g.mixed_instances {
        Some(m) if !m.override_types.is_empty() => None,
        Some(m) => m.launch_template.as_ref(),
        None => g.launch_template.as_ref(),
    }
}

/// The cache key of a launch template version.
fn lt_key(lt: &LaunchTemplateRef) -> String {
    format!(
        "{}@{}",
        lt.id.as_deref().or(lt.name.as_deref()).unwrap_or("?"),
        lt.version.as_deref().unwrap_or("$Default")
    )
}

/// Whether a cached launch template answer is still good at `now`.
fn lt_fresh(lt: &LaunchTemplateRef, described: Timestamp, now: Timestamp) -> bool {
    let numbered = lt.version.as_deref().is_some_and(|v| v.parse::<u64>().is_ok());
    numbered || now.duration_since(described) < LAUNCH_TEMPLATE_TTL
}

/// The provider id of an instance: `aws:///<zone>/<instance-id>`.
pub fn provider_id(zone: &str, instance_id: &str) -> String {
    format!("aws:///{zone}/{instance_id}")
}

/// The zone and instance id of an `aws:///<zone>/<instance-id>` provider id.
pub fn parse_provider_id(provider_id: &str) -> Option<(&str, &str)> {
    let rest = provider_id.strip_prefix("aws:///")?;
    let (zone, id) = rest.split_once('/')?;
    (!id.is_empty() && !id.contains('/')).then_some((zone, id))
}

/// The node autoscaler's view of an Auto Scaling lifecycle state.
pub fn instance_state(lifecycle_state: &str) -> InstanceState {
    match lifecycle_state {
        s if s.starts_with("Pending") => InstanceState::Creating,
        s if s.starts_with("Terminat") || s.starts_with("Detach") => InstanceState::Deleting,
        // InService, EnteringStandby, Standby: a node that exists. (Warmed:* instances sit in the
        // warm pool, which is not part of the group's instance list.)
        _ => InstanceState::Running,
    }
}

/// The failed scaling activity that makes the missing instances of a group count as failed: any
/// failed activity that started at or after the last size change, or, when this process has not
/// changed the size, the newest activity if it failed. Activities are newest first.
pub fn unfulfilled_activity(
    activities: &[Activity],
    last_size_change: Option<Timestamp>,
) -> Option<&Activity> {
    match last_size_change {
        Some(since) => activities
            .iter()
            .take_while(|a| a.start_time >= since)
            .find(|a| a.status_code == "Failed"),
        None => activities.first().filter(|a| a.status_code == "Failed"),
    }
}

/// The provider could not be set up.
#[derive(Debug, thiserror::Error)]
pub enum SetupError {
    /// A group spec is malformed.
    #[error(transparent)]
    Options(#[from] OptionsError),
    /// The SDK client could not be set up.
    #[error(transparent)]
    Connect(#[from] ConnectError),
}

#[derive(Debug)]
struct Group {
    info: GroupInfo,
    zone: String,
    instances: Vec<Instance>,
    template: std::result::Result<Node, (ErrorClass, String)>,
    options: std::result::Result<GroupOptions, String>,
}

#[derive(Debug, Default)]
struct State {
    groups: BTreeMap<String, Group>,
    /// Instance id to group name.
    by_instance: HashMap<String, String>,
    /// When this process last changed each group's desired capacity.
    last_size_change: HashMap<String, Timestamp>,
    /// Launch configuration name to instance type (launch configurations are immutable).
    launch_configurations: HashMap<String, String>,
    /// Launch template version (see [`lt_key`]) to its instance type and when it was described.
    launch_templates: HashMap<String, (Option<String>, Timestamp)>,
    /// The instance type last seen on each group's instances.
    seen_types: HashMap<String, String>,
    /// The last warning about each group's option tags, to warn once per change.
    option_warnings: HashMap<String, String>,
    /// Placeholder counter, so that new placeholders never reuse an id in one process.
    next_placeholder: usize,
}

/// The AWS node-group provider. Shared between tasks; mutations (`set_target_size`, `delete_nodes`)
/// are serialized so that two deletions cannot both pass the minimum-size check.
#[derive(Debug)]
pub struct AwsProvider<A = SdkAsgApi> {
    api: A,
    discovery: Discovery,
    region: Option<String>,
    clock: Arc<dyn Clock>,
    state: Mutex<State>,
    mutations: tokio::sync::Mutex<()>,
}

impl AwsProvider<SdkAsgApi> {
    /// Validates the options and builds the provider on the SDK (credentials from the default chain,
    /// adaptive retries). Nothing is sent to AWS until the first [`NodeGroupProvider::refresh`].
    pub async fn connect(options: &AwsOptions) -> std::result::Result<AwsProvider<SdkAsgApi>, SetupError> {
        let settings = ClientSettings {
            region: options.region.clone(),
            endpoint_url: options.endpoint_url.clone(),
            static_credentials: None,
            disable_retries: false,
        };
        AwsProvider::connect_with(options, &settings).await
    }

    /// Like [`AwsProvider::connect`] with explicit client settings (tests: static credentials, no
    /// retries); the region and endpoint come from the settings, not from the options.
    pub async fn connect_with(
        options: &AwsOptions,
        settings: &ClientSettings,
    ) -> std::result::Result<AwsProvider<SdkAsgApi>, SetupError> {
        let discovery = options.discovery()?;
        let api = SdkAsgApi::connect(settings).await?;
        let region = Some(api.region().to_string());
        Ok(AwsProvider::new(api, discovery, region, Arc::new(SystemClock)))
    }
}

impl<A: AsgApi> AwsProvider<A> {
    /// A provider over `api` managing the groups `discovery` selects. `region` labels the templates
    /// (derived from the zone when `None`).
    pub fn new(
        api: A,
        discovery: Discovery,
        region: Option<String>,
        clock: Arc<dyn Clock>,
    ) -> AwsProvider<A> {
        AwsProvider {
            api,
            discovery,
            region,
            clock,
            state: Mutex::new(State::default()),
            mutations: tokio::sync::Mutex::new(()),
        }
    }

    /// The API the provider calls.
    pub fn api(&self) -> &A {
        &self.api
    }

    /// The group's per-group options from its `autoscaling-options` tags, as of the last refresh.
    pub fn autoscaling_options(&self, group: &str) -> Result<GroupOptions> {
        let state = self.lock();
        let g = state
            .groups
            .get(group)
            .ok_or_else(|| no_group("read the options of", group))?;
        g.options.clone().map_err(|message| {
            ProviderError::new(
                ErrorClass::Fatal,
                format!("read the autoscaling options of group {group}"),
                message,
            )
        })
    }

    fn lock(&self) -> MutexGuard<'_, State> {
        // The state is replaced whole or updated field by field; a panic elsewhere leaves it usable.
        self.state.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Every group the specs select, with its bounds.
    async fn discover(&self) -> Result<BTreeMap<String, (AsgGroup, usize, usize)>> {
        let op = "refresh the Auto Scaling Groups";
        let mut found = BTreeMap::new();
        for spec in &self.discovery.tag_specs {
            let groups = self
                .api
                .describe_groups(&GroupQuery::Tags(spec.clone()))
                .await
                .map_err(|e| provider_error(op, e))?;
            for g in groups {
                let (min, max) = (g.min_size, g.max_size);
                found.insert(g.name.clone(), (g, min, max));
            }
        }
        let statics = &self.discovery.static_groups;
        if !statics.is_empty() {
            let names = statics.iter().map(|s| s.name.clone()).collect();
            let groups = self
                .api
                .describe_groups(&GroupQuery::Names(names))
                .await
                .map_err(|e| provider_error(op, e))?;
            for s in statics {
                match groups.iter().find(|g| g.name == s.name) {
                    Some(g) => {
                        found.insert(s.name.clone(), (g.clone(), s.min, s.max));
                    }
                    None => {
                        tracing::warn!(group = %s.name, "the Auto Scaling Group given by --nodes does not exist")
                    }
                }
            }
        }
        Ok(found)
    }
}

fn provider_error(operation: impl Into<String>, e: ApiError) -> ProviderError {
    let message = e.to_string();
    ProviderError {
        operation: operation.into(),
        class: e.class,
        message,
        source: Some(Box::new(e)),
    }
}

fn no_group(what: &str, group: &str) -> ProviderError {
    ProviderError::new(
        ErrorClass::NotFound,
        format!("{what} group {group}"),
        "no such Auto Scaling Group among the managed ones",
    )
}

fn describe_lt(lt: Option<&LaunchTemplateRef>) -> String {
    match lt {
        Some(lt) => {
            let id = lt.name.as_deref().or(lt.id.as_deref()).unwrap_or("?");
            format!(
                "launch template {id} (version {})",
                lt.version.as_deref().unwrap_or("$Default")
            )
        }
        None => "no launch template".into(),
    }
}

/// Where a group's instance type comes from, in Cluster Autoscaler's order: the first override of
/// a mixed instances policy, the launch configuration, the launch template; when the launch
/// template cannot tell (EC2 failed, or it sets no type), the instance-type label tag, then what
/// the group's instances run or last ran.
fn resolve_instance_type(
    g: &AsgGroup,
    state: &State,
    failures: &Failures,
) -> std::result::Result<Option<String>, (ErrorClass, String)> {
    if let Some(first) = g.mixed_instances.as_ref().and_then(|m| m.override_types.first()) {
        return Ok(Some(first.clone()));
    }
    if let Some(lc) = &g.launch_configuration {
        return match (
            state.launch_configurations.get(lc),
            &failures.launch_configurations,
        ) {
            (Some(t), _) => Ok(Some(t.clone())),
            (None, Some(e)) => Err((
                e.class,
                format!("failed to describe launch configuration {lc}: {e}"),
            )),
            (None, None) => Err((
                ErrorClass::NotFound,
                format!("launch configuration {lc} does not exist"),
            )),
        };
    }
    let lt = launch_template_of(g);
    if let Some(Some(t)) = lt
        .and_then(|lt| state.launch_templates.get(&lt_key(lt)))
        .map(|(t, _)| t)
    {
        return Ok(Some(t.clone()));
    }
    if let Ok(labels) = labels_from_tags(&g.tags)
        && let Some(t) = labels.get(LABEL_INSTANCE_TYPE)
    {
        return Ok(Some(t.clone()));
    }
    if let Some(t) = g.instances.iter().find_map(|i| i.instance_type.clone()) {
        return Ok(Some(t));
    }
    if let Some(t) = state.seen_types.get(&g.name) {
        return Ok(Some(t.clone()));
    }
    match lt.and_then(|lt| failures.launch_templates.get(&lt_key(lt))) {
        // The resource tags can still make a template.
        Some(e) if !tags_give_cpu_and_memory(&g.tags) => {
            Err((e.class, format!("failed to describe {}: {e}", describe_lt(lt))))
        }
        _ => Ok(None),
    }
}

impl<A: AsgApi> AwsProvider<A> {
    fn build_group(
        &self,
        g: &AsgGroup,
        (min, max): (usize, usize),
        state: &mut State,
        failures: &Failures,
        unfulfilled: Option<&Activity>,
        now: Timestamp,
    ) -> Group {
        let zone = g.zones.first().cloned().unwrap_or_else(|| "unknown".into());
        let mut instances: Vec<Instance> = g
            .instances
            .iter()
            .map(|i| Instance {
                provider_id: provider_id(&i.zone, &i.id),
                state: instance_state(&i.lifecycle_state),
            })
            .collect();
        for i in &g.instances {
            state.by_instance.insert(i.id.clone(), g.name.clone());
        }
        for n in g.instances.len()..g.desired_capacity {
            let id = format!("{PLACEHOLDER_PREFIX}-{}-{n}", g.name);
            let placeholder_state = match unfulfilled {
                Some(a) => InstanceState::FailedToCreate {
                    class: ErrorClass::InsufficientCapacity,
                    message: format!("{}: {}", a.description, a.status_message),
                },
                None => InstanceState::Creating,
            };
            state.by_instance.insert(id.clone(), g.name.clone());
            instances.push(Instance {
                provider_id: provider_id(&zone, &id),
                state: placeholder_state,
            });
        }
        if let Some(t) = g.instances.iter().find_map(|i| i.instance_type.clone()) {
            state.seen_types.insert(g.name.clone(), t);
        }
        let template = self.template_for(g, state, failures, now);
        // Warn once per change, not at every refresh.
        let (options, warning) = match options_from_tags(&g.tags) {
            Ok((options, ignored)) if ignored.is_empty() => (Ok(options), None),
            Ok((options, ignored)) => (
                Ok(options),
                Some(format!(
                    "ignoring autoscaling-options tags Swell has no setting for: {}",
                    ignored.join(", ")
                )),
            ),
            Err(e) => (
                Err(e.to_string()),
                Some(format!("ignoring the group's autoscaling-options tags: {e}")),
            ),
        };
        match warning {
            Some(w) if state.option_warnings.get(&g.name) != Some(&w) => {
                tracing::warn!(group = %g.name, "{w}");
                state.option_warnings.insert(g.name.clone(), w);
            }
            Some(_) => {}
            None => {
                state.option_warnings.remove(&g.name);
            }
        }
        Group {
            info: GroupInfo {
                id: g.name.clone(),
                min,
                max,
                target: g.desired_capacity,
                price_per_hour: None,
            },
            zone,
            instances,
            template,
            options,
        }
    }

    fn template_for(
        &self,
        g: &AsgGroup,
        state: &State,
        failures: &Failures,
        now: Timestamp,
    ) -> std::result::Result<Node, (ErrorClass, String)> {
        let type_name = resolve_instance_type(g, state, failures)?;
        let zone = g.zones.first().map(String::as_str);
        let region = self.region.as_deref().or_else(|| zone.and_then(region_of_zone));
        let known = type_name
            .as_deref()
            .and_then(|n| Some((n, instance_types::lookup(n)?)));
        let by_tags = tags_give_cpu_and_memory(&g.tags);
        if known.is_none() && !by_tags {
            let message = match &type_name {
                Some(t) => format!(
                    "instance type {t} of group {} is not in the instance-type table; regenerate it \
                     (crates/cloud-aws/data) or tag the group with \
                     k8s.io/cluster-autoscaler/node-template/resources/cpu and .../memory",
                    g.name
                ),
                None => {
                    let why = match launch_template_of(g) {
                        Some(lt) => format!(
                            "{} sets none (attribute-based instance selection is not supported)",
                            describe_lt(Some(lt))
                        ),
                        None => "it names no launch configuration or template".into(),
                    };
                    format!(
                        "cannot tell the instance type of group {}: {why}; tag the group with \
                         k8s.io/cluster-autoscaler/node-template/label/node.kubernetes.io/instance-type=<type> \
                         (or .../resources/cpu and .../memory)",
                        g.name
                    )
                }
            };
            return Err((ErrorClass::Fatal, message));
        }
        let mut node = build_template(&TemplateInputs {
            group: &g.name,
            instance_type: known,
            zone,
            region,
            tags: &g.tags,
            now,
        })
        .map_err(|e| (ErrorClass::Fatal, format!("group {}: {e}", g.name)))?;
        if let (None, Some(t)) = (known, &type_name) {
            node.labels
                .entry(LABEL_INSTANCE_TYPE.into())
                .or_insert_with(|| t.clone());
        }
        Ok(node)
    }
}

impl<A: AsgApi> NodeGroupProvider for AwsProvider<A> {
    async fn refresh(&self) -> Result<()> {
        let found = self.discover().await?;

        // Launch configurations never change: describe only the ones not seen yet.
        let unknown_lcs: Vec<String> = {
            let state = self.lock();
            let mut names: Vec<String> = found
                .values()
                .filter(|(g, _, _)| {
                    g.mixed_instances
                        .as_ref()
                        .is_none_or(|m| m.override_types.is_empty())
                })
                .filter_map(|(g, _, _)| g.launch_configuration.clone())
                .filter(|lc| !state.launch_configurations.contains_key(lc))
                .collect();
            names.sort();
            names.dedup();
            names
        };
        let mut failures = Failures::default();
        let lcs = match self.api.describe_launch_configurations(&unknown_lcs).await {
            Ok(lcs) => lcs,
            Err(e) => {
                tracing::warn!(error = %e, "failed to describe launch configurations");
                failures.launch_configurations = Some(e);
                Vec::new()
            }
        };

        // Launch templates: numbered versions never change, $Latest and $Default are looked at again
        // after LAUNCH_TEMPLATE_TTL.
        let now = self.clock.now();
        let stale: Vec<LaunchTemplateRef> = {
            let state = self.lock();
            let mut stale: Vec<LaunchTemplateRef> = found
                .values()
                .filter_map(|(g, _, _)| launch_template_of(g))
                .filter(|lt| {
                    state
                        .launch_templates
                        .get(&lt_key(lt))
                        .is_none_or(|(_, at)| !lt_fresh(lt, *at, now))
                })
                .cloned()
                .collect();
            stale.sort_by_key(lt_key);
            stale.dedup_by_key(|lt| lt_key(lt));
            stale
        };
        let mut described = Vec::new();
        for lt in stale {
            match self.api.describe_launch_template_instance_type(&lt).await {
                Ok(t) => described.push((lt_key(&lt), t)),
                Err(e) => {
                    tracing::warn!(template = %lt_key(&lt), error = %e, "failed to describe a launch template");
                    failures.launch_templates.insert(lt_key(&lt), e);
                }
            }
        }

        // Groups short of instances: did a launch fail since the size last changed?
        let last_changes = self.lock().last_size_change.clone();
        let mut unfulfilled: HashMap<String, Activity> = HashMap::new();
        for (name, (g, _, _)) in &found {
            if g.desired_capacity <= g.instances.len() {
                continue;
            }
            match self.api.describe_scaling_activities(name).await {
                Ok(activities) => {
                    if let Some(a) = unfulfilled_activity(&activities, last_changes.get(name).copied()) {
                        tracing::warn!(group = %name, activity = %a.description, status = %a.status_message, "the group failed to launch instances");
                        unfulfilled.insert(name.clone(), a.clone());
                    }
                }
                // Like Cluster Autoscaler: when in doubt the group is taken as able to launch.
                Err(e) => tracing::warn!(group = %name, error = %e, "failed to describe scaling activities"),
            }
        }

        let mut state = self.lock();
        for lc in lcs {
            state.launch_configurations.insert(lc.name, lc.instance_type);
        }
        for (key, t) in described {
            state.launch_templates.insert(key, (t, now));
        }
        state.by_instance.clear();
        let mut groups = BTreeMap::new();
        for (name, (g, min, max)) in &found {
            let group = self.build_group(g, (*min, *max), &mut state, &failures, unfulfilled.get(name), now);
            groups.insert(name.clone(), group);
        }
        state.groups = groups;
        Ok(())
    }

    fn node_groups(&self) -> Vec<GroupInfo> {
        self.lock().groups.values().map(|g| g.info.clone()).collect()
    }

    fn node_group_for_node(&self, provider_id: &str) -> Option<String> {
        let (_, id) = parse_provider_id(provider_id)?;
        self.lock().by_instance.get(id).cloned()
    }

    fn template(&self, group: &str) -> Result<Node> {
        let state = self.lock();
        let g = state
            .groups
            .get(group)
            .ok_or_else(|| no_group("build the template of", group))?;
        g.template.clone().map_err(|(class, message)| {
            ProviderError::new(class, format!("build the template of group {group}"), message)
        })
    }

    /// The `autoscaling-options` tags of the group; when they are malformed, the defaults (none): the
    /// refresh logged why, and [`AwsProvider::autoscaling_options`] returns the error.
    fn group_options(&self, group: &str) -> GroupOptions {
        self.autoscaling_options(group).unwrap_or_default()
    }

    fn instances(&self, group: &str) -> Result<Vec<Instance>> {
        let state = self.lock();
        let g = state
            .groups
            .get(group)
            .ok_or_else(|| no_group("list the instances of", group))?;
        Ok(g.instances.clone())
    }

    async fn set_target_size(&self, group: &str, size: usize) -> Result<()> {
        let _serial = self.mutations.lock().await;
        let op = format!("set the target size of group {group} to {size}");
        let (min, max) = {
            let state = self.lock();
            let g = state
                .groups
                .get(group)
                .ok_or_else(|| no_group("set the target size of", group))?;
            (g.info.min, g.info.max)
        };
        // AWS checks the group's own bounds, but not --nodes bounds (and moto checks neither).
        if size < min || size > max {
            return Err(ProviderError::new(
                ErrorClass::Fatal,
                op,
                format!("{size} is outside the group's bounds {min}..={max}"),
            ));
        }
        self.api
            .set_desired_capacity(group, size)
            .await
            .map_err(|e| provider_error(op, e))?;
        let now = self.clock.now();
        let mut guard = self.lock();
        let state = &mut *guard;
        state.last_size_change.insert(group.to_string(), now);
        let mut next = state.next_placeholder;
        let mut new_ids = Vec::new();
        if let Some(g) = state.groups.get_mut(group) {
            g.info.target = size;
            // Until the next refresh shows them, the new instances are placeholders being created.
            let mut live = g
                .instances
                .iter()
                .filter(|i| i.state != InstanceState::Deleting)
                .count();
            while live < size {
                let id = format!("{PLACEHOLDER_PREFIX}-{group}-n{next}");
                next += 1;
                g.instances.push(Instance {
                    provider_id: provider_id(&g.zone, &id),
                    state: InstanceState::Creating,
                });
                new_ids.push(id);
                live += 1;
            }
            // A lower target: placeholders go first, as AWS cancels launches before terminating.
            while live > size
                && let Some(pos) = g.instances.iter().rposition(|i| is_placeholder(&i.provider_id))
            {
                let removed = g.instances.remove(pos);
                if let Some((_, id)) = parse_provider_id(&removed.provider_id) {
                    state.by_instance.remove(id);
                }
                live -= 1;
            }
        }
        state.next_placeholder = next;
        for id in new_ids {
            state.by_instance.insert(id, group.to_string());
        }
        Ok(())
    }

    async fn delete_nodes(&self, group: &str, provider_ids: &[String]) -> Result<()> {
        let _serial = self.mutations.lock().await;
        let op = format!("delete {} node(s) of group {group}", provider_ids.len());
        let (mut target, min, victims) = {
            let state = self.lock();
            let g = state
                .groups
                .get(group)
                .ok_or_else(|| no_group("delete nodes of", group))?;
            let mut victims: Vec<(String, bool)> = Vec::new();
            for pid in provider_ids {
                let instance = parse_provider_id(pid).and_then(|(_, id)| {
                    g.instances
                        .iter()
                        .find(|i| parse_provider_id(&i.provider_id).is_some_and(|(_, other)| other == id))
                        .map(|i| (id, i))
                });
                let Some((id, instance)) = instance else {
                    return Err(ProviderError::new(
                        ErrorClass::NotFound,
                        op,
                        format!("{pid} is not an instance of the group"),
                    ));
                };
                // Already on its way out: terminating it again would lower desired capacity twice.
                if instance.state == InstanceState::Deleting || victims.iter().any(|(v, _)| v == id) {
                    continue;
                }
                victims.push((id.to_string(), is_placeholder(pid)));
            }
            (g.info.target, g.info.min, victims)
        };
        if victims.is_empty() {
            return Ok(());
        }
        if target < min + victims.len() {
            return Err(ProviderError::new(
                ErrorClass::Fatal,
                op,
                format!(
                    "deleting {} instance(s) would take the group from {target} below its minimum size {min}",
                    victims.len()
                ),
            ));
        }
        for (id, placeholder) in victims {
            let result = if placeholder {
                // Nothing to terminate: only the request for it goes.
                self.api.set_desired_capacity(group, target - 1).await
            } else {
                self.api.terminate_instance(&id, true).await
            };
            result.map_err(|e| provider_error(op.clone(), e))?;
            target -= 1;
            let now = self.clock.now();
            let mut state = self.lock();
            state.last_size_change.insert(group.to_string(), now);
            if let Some(g) = state.groups.get_mut(group) {
                g.info.target = target;
                let pos = g
                    .instances
                    .iter()
                    .position(|i| parse_provider_id(&i.provider_id).is_some_and(|(_, other)| other == id));
                if let Some(pos) = pos {
                    if placeholder {
                        g.instances.remove(pos);
                    } else {
                        g.instances[pos].state = InstanceState::Deleting;
                    }
                }
            }
            if placeholder {
                state.by_instance.remove(&id);
            }
        }
        Ok(())
    }
}

fn is_placeholder(provider_id: &str) -> bool {
    parse_provider_id(provider_id).is_some_and(|(_, id)| id.starts_with(PLACEHOLDER_PREFIX))
}
