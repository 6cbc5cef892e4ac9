//! Test helpers (feature `test-util`): a fake [`AsgApi`] for tier-2 tests, and what a test in any
//! crate needs to run against moto (`scripts/moto.sh start` exports `SWELL_MOTO_ENDPOINT`).
//!
//! ```text
//! let Some(endpoint) = moto_endpoint("my_test") else { return };      // skips, or panics under CI
//! let api = moto_api(&endpoint).await;
//! let name = unique_name("web");                                      // moto's state is global
//! create_group(&api, &GroupSpec::new(&name, 0, 5, 1).tag(ENABLED_TAG, "true"), "m5.large").await?;
//! let provider = moto_provider(&endpoint, &AwsOptions { nodes: vec![format!("0:5:{name}")], ..Default::default() }).await;
//! ```

use std::collections::{BTreeMap, HashMap};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Mutex, MutexGuard, PoisonError};

use swell_node_autoscaler::provider::ErrorClass;

use crate::api::{
    Activity, ApiError, ApiResult, AsgApi, AsgGroup, AsgInstance, GroupQuery, LaunchConfiguration,
    LaunchTemplateRef, MixedInstances,
};
use crate::options::AwsOptions;
use crate::provider::AwsProvider;
use crate::sdk::{ClientSettings, SdkAsgApi, StaticCredentials};

/// The environment variable that holds moto's endpoint URL.
pub const MOTO_ENV: &str = "SWELL_MOTO_ENDPOINT";
/// The region the moto helpers use.
pub const MOTO_REGION: &str = "us-east-1";
/// An image id that moto knows (from its bundled AMI list).
pub const MOTO_IMAGE_ID: &str = "ami-03cf127a";
/// Cluster Autoscaler's discovery tag.
pub const ENABLED_TAG: &str = "k8s.io/cluster-autoscaler/enabled";

/// moto's endpoint from `SWELL_MOTO_ENDPOINT`. When it is unset: panics if `CI` is set (CI must run
/// these tests), otherwise prints that `test` is skipped and how to run it, and returns `None`.
pub fn moto_endpoint(test: &str) -> Option<String> {
    match std::env::var(MOTO_ENV) {
        Ok(url) if !url.is_empty() => Some(url),
        _ if std::env::var_os("CI").is_some() => {
            panic!(
                "{MOTO_ENV} is not set under CI: run the tests through `make test` (scripts/moto.sh start)"
            )
        }
        _ => {
            eprintln!(
                "SKIPPED {test}: {MOTO_ENV} is not set; run `eval \"$(scripts/moto.sh start)\"` first (or `make test`)"
            );
            None
        }
    }
}

/// Client settings for moto: its endpoint, [`MOTO_REGION`], dummy static credentials and no retries
/// (moto answers some errors with HTML 500 pages, which the SDK would retry with backoff).
pub fn moto_settings(endpoint: &str) -> ClientSettings {
    ClientSettings {
        region: Some(MOTO_REGION.into()),
        endpoint_url: Some(endpoint.into()),
        static_credentials: Some(StaticCredentials {
            access_key_id: "testing".into(),
            secret_access_key: "testing".into(),
        }),
        disable_retries: true,
    }
}

/// An SDK client for moto.
pub async fn moto_api(endpoint: &str) -> SdkAsgApi {
    match SdkAsgApi::connect(&moto_settings(endpoint)).await {
        Ok(api) => api,
        Err(e) => panic!("the moto settings always carry a region: {e}"),
    }
}

/// A provider on moto for these options (their region and endpoint are replaced by moto's).
pub async fn moto_provider(endpoint: &str, options: &AwsOptions) -> AwsProvider<SdkAsgApi> {
    match AwsProvider::connect_with(options, &moto_settings(endpoint)).await {
        Ok(p) => p,
        Err(e) => panic!("failed to set up the provider on moto: {e}"),
    }
}

/// A name no other test of any process on the same moto uses (moto's state is global).
pub fn unique_name(prefix: &str) -> String {
    static COUNTER: AtomicUsize = AtomicUsize::new(0);
    let nanos = jiff::Timestamp::now().subsec_nanosecond();
    format!(
        "{prefix}-{}-{}-{nanos}",
        std::process::id(),
        COUNTER.fetch_add(1, Ordering::Relaxed)
    )
}

/// A group to create in moto.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GroupSpec {
    /// Name.
    pub name: String,
    /// `MinSize`.
    pub min: i32,
    /// `MaxSize`.
    pub max: i32,
    /// `DesiredCapacity`.
    pub desired: i32,
    /// Availability zones.
    pub zones: Vec<String>,
    /// Tags.
    pub tags: BTreeMap<String, String>,
}

impl GroupSpec {
    /// A group in `us-east-1a` with no tags.
    pub fn new(name: &str, min: i32, max: i32, desired: i32) -> GroupSpec {
        GroupSpec {
            name: name.into(),
            min,
            max,
            desired,
            zones: vec![format!("{MOTO_REGION}a")],
            tags: BTreeMap::new(),
        }
    }

    /// Adds a tag.
    pub fn tag(mut self, key: &str, value: &str) -> GroupSpec {
        self.tags.insert(key.into(), value.into());
        self
    }
}

/// What a group launches from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Launch {
    /// A launch configuration of this name.
    Configuration(String),
    /// The `$Latest` version of the launch template of this name.
    Template(String),
}

/// Creates the group in moto on a new launch configuration (`<name>-lc`) of `instance_type`.
pub async fn create_group(api: &SdkAsgApi, spec: &GroupSpec, instance_type: &str) -> ApiResult<()> {
    let lc = format!("{}-lc", spec.name);
    api.create_launch_configuration(&lc, instance_type, MOTO_IMAGE_ID)
        .await?;
    api.create_group(spec, &Launch::Configuration(lc)).await
}

/// Creates the group in moto on a new launch template (`<name>-lt`) of `instance_type`.
pub async fn create_group_on_launch_template(
    api: &SdkAsgApi,
    spec: &GroupSpec,
    instance_type: &str,
) -> ApiResult<()> {
    let lt = format!("{}-lt", spec.name);
    api.create_launch_template(&lt, instance_type, MOTO_IMAGE_ID)
        .await?;
    api.create_group(spec, &Launch::Template(lt)).await
}

/// A call the [`FakeAsgApi`] received.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ApiCall {
    /// `describe_groups`.
    DescribeGroups(GroupQuery),
    /// `set_desired_capacity(group, desired)`.
    SetDesiredCapacity(String, usize),
    /// `terminate_instance(id, decrement)`.
    TerminateInstance(String, bool),
    /// `describe_scaling_activities(group)`.
    DescribeScalingActivities(String),
    /// `describe_launch_configurations(names)`.
    DescribeLaunchConfigurations(Vec<String>),
    /// `describe_launch_template_instance_type` of a template (by id, else name) and version.
    DescribeLaunchTemplate(String, Option<String>),
}

impl ApiCall {
    /// Whether the call changes anything.
    pub fn is_mutation(&self) -> bool {
        matches!(
            self,
            ApiCall::SetDesiredCapacity(..) | ApiCall::TerminateInstance(..)
        )
    }
}

#[derive(Debug, Default)]
struct FakeState {
    groups: Vec<AsgGroup>,
    activities: HashMap<String, Vec<Activity>>,
    launch_configurations: Vec<LaunchConfiguration>,
    launch_templates: Vec<(String, Option<String>)>,
    calls: Vec<ApiCall>,
    fail_next: Vec<(&'static str, ApiError)>,
}

/// An in-memory Auto Scaling API that behaves like AWS where the provider cares (tag filters ANDed,
/// desired capacity validated against the group's bounds, termination with decrement), records
/// every call and fails once on request. Instances are only launched by [`FakeAsgApi::fulfil`].
#[derive(Debug, Default)]
pub struct FakeAsgApi {
    state: Mutex<FakeState>,
}

impl FakeAsgApi {
    fn lock(&self) -> MutexGuard<'_, FakeState> {
        self.state.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Adds a group.
    pub fn with_group(self, group: AsgGroup) -> FakeAsgApi {
        self.lock().groups.push(group);
        self
    }

    /// Adds a launch configuration.
    pub fn with_launch_configuration(self, name: &str, instance_type: &str) -> FakeAsgApi {
        self.lock().launch_configurations.push(LaunchConfiguration {
            name: name.into(),
            instance_type: instance_type.into(),
        });
        self
    }

    /// Adds a launch template (matched by id or name, any version) that sets `instance_type`.
    pub fn with_launch_template(self, name: &str, instance_type: Option<&str>) -> FakeAsgApi {
        self.lock()
            .launch_templates
            .push((name.into(), instance_type.map(Into::into)));
        self
    }

    /// Sets the group's scaling activities (newest first).
    pub fn set_activities(&self, group: &str, activities: Vec<Activity>) {
        self.lock().activities.insert(group.into(), activities);
    }

    /// Makes the next call of `method` (`describe_groups`, `set_desired_capacity`,
    /// `terminate_instance`, `describe_scaling_activities`, `describe_launch_configurations`,
    /// `describe_launch_template`) fail once with `error`.
    pub fn fail_next(&self, method: &'static str, error: ApiError) {
        self.lock().fail_next.push((method, error));
    }

    /// The calls so far.
    pub fn calls(&self) -> Vec<ApiCall> {
        self.lock().calls.clone()
    }

    /// The group as the fake holds it.
    pub fn group(&self, name: &str) -> Option<AsgGroup> {
        self.lock().groups.iter().find(|g| g.name == name).cloned()
    }

    /// Launches `InService` instances until the group has as many as its desired capacity, in its
    /// first zone, of `instance_type`.
    pub fn fulfil(&self, name: &str, instance_type: &str) {
        let mut s = self.lock();
        if let Some(g) = s.groups.iter_mut().find(|g| g.name == name) {
            while g.instances.len() < g.desired_capacity {
                let n = g.instances.len();
                g.instances.push(AsgInstance {
                    id: format!("i-{name}-{n}"),
                    zone: g.zones.first().cloned().unwrap_or_default(),
                    lifecycle_state: "InService".into(),
                    health_status: "Healthy".into(),
                    instance_type: Some(instance_type.into()),
                });
            }
        }
    }

    /// Removes the instances that are terminating, as AWS does once they are gone.
    pub fn reap(&self) {
        for g in &mut self.lock().groups {
            g.instances.retain(|i| !i.lifecycle_state.starts_with("Terminat"));
        }
    }

    fn begin(&self, call: ApiCall, method: &str) -> ApiResult<MutexGuard<'_, FakeState>> {
        let mut s = self.lock();
        s.calls.push(call);
        if let Some(i) = s.fail_next.iter().position(|(m, _)| *m == method) {
            return Err(s.fail_next.remove(i).1);
        }
        Ok(s)
    }
}

fn validation(message: String) -> ApiError {
    let class = if message.contains("not found") {
        ErrorClass::NotFound
    } else {
        ErrorClass::Fatal
    };
    ApiError {
        class,
        code: Some("ValidationError".into()),
        message,
    }
}

impl AsgApi for FakeAsgApi {
    async fn describe_groups(&self, query: &GroupQuery) -> ApiResult<Vec<AsgGroup>> {
        let s = self.begin(ApiCall::DescribeGroups(query.clone()), "describe_groups")?;
        Ok(s.groups
            .iter()
            .filter(|g| match query {
                GroupQuery::Names(names) => names.contains(&g.name),
                GroupQuery::Tags(tags) => tags.iter().all(|t| match (g.tags.get(&t.key), &t.value) {
                    (Some(_), None) => true,
                    (Some(v), Some(want)) => v == want,
                    (None, _) => false,
                }),
            })
            .cloned()
            .collect())
    }

    async fn set_desired_capacity(&self, group: &str, desired: usize) -> ApiResult<()> {
        let mut s = self.begin(
            ApiCall::SetDesiredCapacity(group.into(), desired),
            "set_desired_capacity",
        )?;
        let Some(g) = s.groups.iter_mut().find(|g| g.name == group) else {
            return Err(validation(format!("AutoScalingGroup name not found - {group}")));
        };
        if desired < g.min_size || desired > g.max_size {
            return Err(validation(format!(
                "New SetDesiredCapacity value {desired} is outside {}..{}",
                g.min_size, g.max_size
            )));
        }
        g.desired_capacity = desired;
        Ok(())
    }

    async fn terminate_instance(&self, instance_id: &str, decrement: bool) -> ApiResult<()> {
        let mut s = self.begin(
            ApiCall::TerminateInstance(instance_id.into(), decrement),
            "terminate_instance",
        )?;
        for g in &mut s.groups {
            if let Some(i) = g.instances.iter_mut().find(|i| i.id == instance_id) {
                if decrement {
                    if g.desired_capacity <= g.min_size {
                        return Err(validation(format!(
                            "Currently, desiredSize equals minSize ({}). Terminating instance without \
                             replacement will violate group's min size constraint.",
                            g.min_size
                        )));
                    }
                    g.desired_capacity -= 1;
                }
                i.lifecycle_state = "Terminating".into();
                return Ok(());
            }
        }
        Err(validation(format!(
            "Instance Id not found - No managed instance found for instance ID: {instance_id}"
        )))
    }

    async fn describe_scaling_activities(&self, group: &str) -> ApiResult<Vec<Activity>> {
        let s = self.begin(
            ApiCall::DescribeScalingActivities(group.into()),
            "describe_scaling_activities",
        )?;
        Ok(s.activities.get(group).cloned().unwrap_or_default())
    }

    async fn describe_launch_template_instance_type(
        &self,
        template: &LaunchTemplateRef,
    ) -> ApiResult<Option<String>> {
        let key = template.id.clone().or(template.name.clone()).unwrap_or_default();
        let s = self.begin(
            ApiCall::DescribeLaunchTemplate(key.clone(), template.version.clone()),
            "describe_launch_template",
        )?;
        match s.launch_templates.iter().find(|(name, _)| *name == key) {
            Some((_, t)) => Ok(t.clone()),
            None => Err(ApiError {
                class: ErrorClass::NotFound,
                code: Some("InvalidLaunchTemplateName.NotFoundException".into()),
                message: format!(
                    "At least one of the launch templates specified in the request does not exist: {key}"
                ),
            }),
        }
    }

    async fn describe_launch_configurations(&self, names: &[String]) -> ApiResult<Vec<LaunchConfiguration>> {
        let s = self.begin(
            ApiCall::DescribeLaunchConfigurations(names.to_vec()),
            "describe_launch_configurations",
        )?;
        Ok(s.launch_configurations
            .iter()
            .filter(|lc| names.contains(&lc.name))
            .cloned()
            .collect())
    }
}

/// A group for the fake: `name` in `<region>a`, no launch source, no instances.
pub fn asg(name: &str, min: usize, max: usize, desired: usize) -> AsgGroup {
    AsgGroup {
        name: name.into(),
        min_size: min,
        max_size: max,
        desired_capacity: desired,
        zones: vec![format!("{MOTO_REGION}a"), format!("{MOTO_REGION}b")],
        ..AsgGroup::default()
    }
}

/// Builders on [`AsgGroup`] for tests.
pub trait AsgGroupExt {
    /// Adds a tag.
    fn tag(self, key: &str, value: &str) -> AsgGroup;
    /// Uses a launch configuration.
    fn launch_configuration(self, name: &str) -> AsgGroup;
    /// Uses a launch template by name.
    fn launch_template(self, name: &str) -> AsgGroup;
    /// Uses a mixed instances policy over a launch template with these override types.
    fn mixed(self, template: &str, override_types: &[&str]) -> AsgGroup;
    /// Adds an instance in the first zone.
    fn instance(self, id: &str, lifecycle_state: &str, instance_type: &str) -> AsgGroup;
}

impl AsgGroupExt for AsgGroup {
    fn tag(mut self, key: &str, value: &str) -> AsgGroup {
        self.tags.insert(key.into(), value.into());
        self
    }
    fn launch_configuration(mut self, name: &str) -> AsgGroup {
        self.launch_configuration = Some(name.into());
        self
    }
    fn launch_template(mut self, name: &str) -> AsgGroup {
        self.launch_template = Some(LaunchTemplateRef {
            id: None,
            name: Some(name.into()),
            version: Some("$Latest".into()),
        });
        self
    }
    fn mixed(mut self, template: &str, override_types: &[&str]) -> AsgGroup {
        self.mixed_instances = Some(MixedInstances {
            launch_template: Some(LaunchTemplateRef {
                id: None,
                name: Some(template.into()),
                version: None,
            }),
            override_types: override_types.iter().map(|t| t.to_string()).collect(),
        });
        self
    }
    fn instance(mut self, id: &str, lifecycle_state: &str, instance_type: &str) -> AsgGroup {
        self.instances.push(AsgInstance {
            id: id.into(),
            zone: self.zones.first().cloned().unwrap_or_default(),
            lifecycle_state: lifecycle_state.into(),
            health_status: "Healthy".into(),
            instance_type: Some(instance_type.into()),
        });
        self
    }
}
