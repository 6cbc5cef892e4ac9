//! [`AsgApi`] over the AWS SDK: the only module of the workspace that imports it.
//!
//! [`SdkAsgApi::connect`] loads the SDK configuration (credentials from the default chain:
//! environment, profile, IRSA web identity, Pod Identity, IMDS; the region from the settings or the
//! same chain; an optional endpoint URL for emulators and VPC endpoints) with the SDK's adaptive
//! retry mode, which backs off and rate-limits the client itself when AWS throttles. Each call
//! translates the SDK's types into the crate's own ([`crate::api`]) and reduces every SDK error to an
//! [`ApiError`] classified by [`crate::error::classify`].

use aws_config::BehaviorVersion;
use aws_config::retry::RetryConfig;
use aws_sdk_autoscaling::Client;
use aws_sdk_autoscaling::config::{Credentials, Region};
use aws_sdk_autoscaling::error::{ProvideErrorMetadata, SdkError};
use aws_sdk_autoscaling::primitives::DateTime;
use aws_sdk_autoscaling::types::{self as sdk, Filter};
use jiff::Timestamp;

use crate::api::{
    Activity, ApiError, ApiResult, AsgApi, AsgGroup, AsgInstance, GroupQuery, LaunchConfiguration,
    LaunchTemplateRef, MixedInstances,
};
use crate::error::{Failure, FailureKind, classify};

/// Attempts per call in adaptive mode (the SDK's default is 3; throttling of a busy account's
/// Auto Scaling API is common enough to allow a few more).
const MAX_ATTEMPTS: u32 = 5;

/// How the SDK client is set up.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ClientSettings {
    /// The region; `None` uses the default chain.
    pub region: Option<String>,
    /// An endpoint URL for every call (an emulator, a VPC endpoint).
    pub endpoint_url: Option<String>,
    /// Fixed credentials instead of the default chain (tests against emulators).
    pub static_credentials: Option<StaticCredentials>,
    /// No retries at all (tests against emulators, whose HTML 500 pages the SDK would retry);
    /// otherwise the adaptive retry mode.
    pub disable_retries: bool,
}

/// An access key pair.
#[derive(Clone, PartialEq, Eq)]
pub struct StaticCredentials {
    /// Access key id.
    pub access_key_id: String,
    /// Secret access key.
    pub secret_access_key: String,
}

impl std::fmt::Debug for StaticCredentials {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("StaticCredentials")
            .field("access_key_id", &self.access_key_id)
            .field("secret_access_key", &"** redacted **")
            .finish()
    }
}

/// The SDK client could not be set up.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ConnectError {
    /// No region was given and the default chain has none.
    #[error("failed to determine the AWS region: give --aws-region or set AWS_REGION")]
    NoRegion,
}

/// [`AsgApi`] over `aws_sdk_autoscaling::Client`.
#[derive(Debug, Clone)]
pub struct SdkAsgApi {
    client: Client,
    region: String,
}

impl SdkAsgApi {
    /// Loads the SDK configuration and builds the client. Nothing is sent to AWS yet.
    pub async fn connect(settings: &ClientSettings) -> Result<SdkAsgApi, ConnectError> {
        let retry = if settings.disable_retries {
            RetryConfig::disabled()
        } else {
            RetryConfig::adaptive().with_max_attempts(MAX_ATTEMPTS)
        };
        let mut loader = aws_config::defaults(BehaviorVersion::latest()).retry_config(retry);
        if let Some(region) = &settings.region {
            loader = loader.region(Region::new(region.clone()));
        }
        if let Some(url) = &settings.endpoint_url {
            loader = loader.endpoint_url(url);
        }
        if let Some(c) = &settings.static_credentials {
            loader = loader.credentials_provider(Credentials::new(
                c.access_key_id.clone(),
                c.secret_access_key.clone(),
                None,
                None,
                "swell-static",
            ));
        }
        let conf = loader.load().await;
        let region = conf.region().ok_or(ConnectError::NoRegion)?.to_string();
        Ok(SdkAsgApi {
            client: Client::new(&conf),
            region,
        })
    }

    /// The region the client calls.
    pub fn region(&self) -> &str {
        &self.region
    }
}

/// Reduces an SDK error to a classified [`ApiError`].
fn api_error<E>(err: SdkError<E, aws_sdk_autoscaling::config::http::HttpResponse>) -> ApiError
where
    E: ProvideErrorMetadata + std::error::Error + 'static,
{
    let (kind, code, status, message) = match &err {
        SdkError::ConstructionFailure(_) => (FailureKind::Construction, None, None, detail(&err)),
        SdkError::TimeoutError(_) => (FailureKind::Timeout, None, None, detail(&err)),
        SdkError::DispatchFailure(d) => (
            FailureKind::Dispatch { user: d.is_user() },
            None,
            None,
            detail(&err),
        ),
        SdkError::ResponseError(r) => (
            FailureKind::Response,
            None,
            Some(r.raw().status().as_u16()),
            detail(&err),
        ),
        SdkError::ServiceError(s) => (
            FailureKind::Service,
            s.err().code().map(str::to_string),
            Some(s.raw().status().as_u16()),
            s.err().message().map_or_else(|| detail(&err), str::to_string),
        ),
        _ => (FailureKind::Response, None, None, detail(&err)),
    };
    let class = classify(&Failure {
        kind,
        code: code.as_deref(),
        status,
        message: &message,
    });
    ApiError { class, code, message }
}

/// The error with its sources, one line (the SDK's own Display is only "service error").
fn detail(err: &dyn std::error::Error) -> String {
    let mut out = err.to_string();
    let mut source = err.source();
    while let Some(s) = source {
        out.push_str(": ");
        out.push_str(&s.to_string());
        source = s.source();
    }
    out
}

fn timestamp(t: &DateTime) -> Timestamp {
    Timestamp::new(t.secs(), t.subsec_nanos() as i32).unwrap_or(Timestamp::UNIX_EPOCH)
}

fn size(v: Option<i32>) -> usize {
    usize::try_from(v.unwrap_or(0)).unwrap_or(0)
}

fn launch_template(s: &sdk::LaunchTemplateSpecification) -> LaunchTemplateRef {
    LaunchTemplateRef {
        id: s.launch_template_id().map(str::to_string),
        name: s.launch_template_name().map(str::to_string),
        version: s.version().map(str::to_string),
    }
}

fn group(g: &sdk::AutoScalingGroup) -> AsgGroup {
    AsgGroup {
        name: g.auto_scaling_group_name().unwrap_or_default().to_string(),
        min_size: size(g.min_size()),
        max_size: size(g.max_size()),
        desired_capacity: size(g.desired_capacity()),
        zones: g.availability_zones().to_vec(),
        tags: g
            .tags()
            .iter()
            .filter_map(|t| Some((t.key()?.to_string(), t.value().unwrap_or_default().to_string())))
            .collect(),
        launch_configuration: g.launch_configuration_name().map(str::to_string),
        launch_template: g.launch_template().map(launch_template),
        mixed_instances: g.mixed_instances_policy().map(|p| MixedInstances {
            launch_template: p
                .launch_template()
                .and_then(|lt| lt.launch_template_specification())
                .map(launch_template),
            override_types: p
                .launch_template()
                .map(|lt| {
                    lt.overrides()
                        .iter()
                        .filter_map(|o| o.instance_type().map(str::to_string))
                        .collect()
                })
                .unwrap_or_default(),
        }),
        instances: g
            .instances()
            .iter()
            .map(|i| AsgInstance {
                id: i.instance_id().unwrap_or_default().to_string(),
                zone: i.availability_zone().unwrap_or_default().to_string(),
                lifecycle_state: i
                    .lifecycle_state()
                    .map(|s| s.as_str().to_string())
                    .unwrap_or_default(),
                health_status: i.health_status().unwrap_or_default().to_string(),
                instance_type: i.instance_type().map(str::to_string),
            })
            .collect(),
    }
}

impl AsgApi for SdkAsgApi {
    async fn describe_groups(&self, query: &GroupQuery) -> ApiResult<Vec<AsgGroup>> {
        let mut request = self.client.describe_auto_scaling_groups().max_records(100);
        match query {
            GroupQuery::Names(names) => {
                if names.is_empty() {
                    return Ok(Vec::new());
                }
                request = request.set_auto_scaling_group_names(Some(names.clone()));
            }
            GroupQuery::Tags(tags) => {
                // Several filters are ANDed by the API.
                for t in tags {
                    let filter = match &t.value {
                        None => Filter::builder().name("tag-key").values(&t.key),
                        Some(v) => Filter::builder().name(format!("tag:{}", t.key)).values(v),
                    };
                    request = request.filters(filter.build());
                }
            }
        }
        let mut pages = request.into_paginator().send();
        let mut out = Vec::new();
        while let Some(page) = pages.next().await {
            let page = page.map_err(api_error)?;
            out.extend(page.auto_scaling_groups().iter().map(group));
        }
        Ok(out)
    }

    async fn set_desired_capacity(&self, group: &str, desired: usize) -> ApiResult<()> {
        let desired = i32::try_from(desired).map_err(|_| {
            ApiError::new(
                swell_node_autoscaler::provider::ErrorClass::Fatal,
                format!("desired capacity {desired} is out of range"),
            )
        })?;
        self.client
            .set_desired_capacity()
            .auto_scaling_group_name(group)
            .desired_capacity(desired)
            .honor_cooldown(false)
            .send()
            .await
            .map_err(api_error)?;
        Ok(())
    }

    async fn terminate_instance(&self, instance_id: &str, decrement: bool) -> ApiResult<()> {
        self.client
            .terminate_instance_in_auto_scaling_group()
            .instance_id(instance_id)
            .should_decrement_desired_capacity(decrement)
            .send()
            .await
            .map_err(api_error)?;
        Ok(())
    }

    async fn describe_scaling_activities(&self, group: &str) -> ApiResult<Vec<Activity>> {
        let out = self
            .client
            .describe_scaling_activities()
            .auto_scaling_group_name(group)
            .max_records(20)
            .send()
            .await
            .map_err(api_error)?;
        Ok(out
            .activities()
            .iter()
            .map(|a| Activity {
                start_time: a.start_time().map_or(Timestamp::UNIX_EPOCH, timestamp),
                status_code: a
                    .status_code()
                    .map(|s| s.as_str().to_string())
                    .unwrap_or_default(),
                status_message: a.status_message().unwrap_or_default().to_string(),
                description: a.description().unwrap_or_default().to_string(),
            })
            .collect())
    }

    async fn describe_launch_configurations(&self, names: &[String]) -> ApiResult<Vec<LaunchConfiguration>> {
        if names.is_empty() {
            return Ok(Vec::new());
        }
        let mut pages = self
            .client
            .describe_launch_configurations()
            .set_launch_configuration_names(Some(names.to_vec()))
            .into_paginator()
            .send();
        let mut out = Vec::new();
        while let Some(page) = pages.next().await {
            let page = page.map_err(api_error)?;
            out.extend(page.launch_configurations().iter().filter_map(|lc| {
                Some(LaunchConfiguration {
                    name: lc.launch_configuration_name()?.to_string(),
                    instance_type: lc.instance_type()?.to_string(),
                })
            }));
        }
        Ok(out)
    }
}

/// Calls that only tests make: building groups in an emulator.
#[cfg(feature = "test-util")]
impl SdkAsgApi {
    /// Creates a launch configuration.
    pub async fn create_launch_configuration(
        &self,
        name: &str,
        instance_type: &str,
        image_id: &str,
    ) -> ApiResult<()> {
        self.client
            .create_launch_configuration()
            .launch_configuration_name(name)
            .instance_type(instance_type)
            .image_id(image_id)
            .send()
            .await
            .map_err(api_error)?;
        Ok(())
    }

    /// Creates a group on a launch configuration, with tags.
    pub async fn create_group(
        &self,
        spec: &crate::testing::GroupSpec,
        launch_configuration: &str,
    ) -> ApiResult<()> {
        let mut request = self
            .client
            .create_auto_scaling_group()
            .auto_scaling_group_name(&spec.name)
            .launch_configuration_name(launch_configuration)
            .min_size(spec.min)
            .max_size(spec.max)
            .desired_capacity(spec.desired)
            .set_availability_zones(Some(spec.zones.clone()));
        for (key, value) in &spec.tags {
            request = request.tags(
                sdk::Tag::builder()
                    .resource_id(&spec.name)
                    .resource_type("auto-scaling-group")
                    .key(key)
                    .value(value)
                    .propagate_at_launch(true)
                    .build(),
            );
        }
        request.send().await.map_err(api_error)?;
        Ok(())
    }

    /// Deletes a group and its instances.
    pub async fn delete_group(&self, name: &str) -> ApiResult<()> {
        self.client
            .delete_auto_scaling_group()
            .auto_scaling_group_name(name)
            .force_delete(true)
            .send()
            .await
            .map_err(api_error)?;
        Ok(())
    }
}
