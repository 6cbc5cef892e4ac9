//! [`AsgApi`] over the AWS SDK: the only module of the workspace that imports it.
//!
//! [`SdkAsgApi::connect`] loads the SDK configuration (credentials from the default chain:
//! environment, profile, IRSA web identity, Pod Identity, IMDS; the region from the settings or the
//! same chain; an optional endpoint URL for emulators and VPC endpoints) with the SDK's adaptive
//! retry mode, which backs off and rate-limits the client itself when AWS throttles. Each call
//! translates the SDK's types into the crate's own ([`crate::api`]) and reduces every SDK error to an
//! [`ApiError`] classified by [`crate::error::classify`].
//!
//! A launch template's instance type is an EC2 object. Rather than aws-sdk-ec2 (which would more than
//! double the build), [`Ec2Query`] makes that one EC2 Query call (`DescribeLaunchTemplateVersions`)
//! by hand: form body, SigV4 signature with the same credentials chain, the SDK's own HTTPS
//! connector, and a few lines of XML reading.

use std::sync::Arc;
use std::time::{Duration, SystemTime};

use aws_config::BehaviorVersion;
use aws_config::retry::RetryConfig;
use aws_sdk_autoscaling::Client;
use aws_sdk_autoscaling::config::http::HttpRequest;
use aws_sdk_autoscaling::config::{Credentials, ProvideCredentials, Region, SharedCredentialsProvider};
use aws_sdk_autoscaling::error::{ProvideErrorMetadata, SdkError};
use aws_sdk_autoscaling::primitives::DateTime;
use aws_sdk_autoscaling::types::{self as sdk, Filter};
use aws_sigv4::http_request::{SignableBody, SignableRequest, SigningSettings, sign};
use aws_sigv4::sign::v4;
use aws_smithy_http_client::Connector;
use aws_smithy_http_client::tls::{Provider, rustls_provider::CryptoMode};
use aws_smithy_runtime_api::client::http::{HttpConnector, HttpConnectorSettings};
use aws_smithy_runtime_api::client::identity::Identity;
use aws_smithy_types::body::SdkBody;
use http_body_util::BodyExt;
use jiff::Timestamp;
use swell_node_autoscaler::provider::ErrorClass;

use crate::api::{
    Activity, ApiError, ApiResult, AsgApi, AsgGroup, AsgInstance, GroupQuery, LaunchConfiguration,
    LaunchTemplateRef, MixedInstances,
};
use crate::error::{Failure, FailureKind, classify};

/// Attempts per call in adaptive mode (the SDK's default is 3; throttling of a busy account's
/// Auto Scaling API is common enough to allow a few more).
const MAX_ATTEMPTS: u32 = 5;

/// Group and launch configuration names per describe call (the API's limit).
const MAX_NAMES_PER_CALL: usize = 50;

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

/// [`AsgApi`] over `aws_sdk_autoscaling::Client` (and [`Ec2Query`] for launch templates).
#[derive(Debug, Clone)]
pub struct SdkAsgApi {
    client: Client,
    region: String,
    ec2: Ec2Query,
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
        let ec2 = Ec2Query::new(
            conf.credentials_provider(),
            &region,
            settings.endpoint_url.as_deref(),
        );
        Ok(SdkAsgApi {
            client: Client::new(&conf),
            region,
            ec2,
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
    classified(kind, code, status, message)
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
        let base = self.client.describe_auto_scaling_groups().max_records(100);
        let requests = match query {
            GroupQuery::Names(names) => names
                .chunks(MAX_NAMES_PER_CALL)
                .map(|chunk| base.clone().set_auto_scaling_group_names(Some(chunk.to_vec())))
                .collect(),
            GroupQuery::Tags(tags) => {
                // Several filters are ANDed by the API.
                let mut request = base;
                for t in tags {
                    let filter = match &t.value {
                        None => Filter::builder().name("tag-key").values(&t.key),
                        Some(v) => Filter::builder().name(format!("tag:{}", t.key)).values(v),
                    };
                    request = request.filters(filter.build());
                }
                vec![request]
            }
        };
        let mut out = Vec::new();
        for request in requests {
            let mut pages = request.into_paginator().send();
            while let Some(page) = pages.next().await {
                let page = page.map_err(api_error)?;
                out.extend(page.auto_scaling_groups().iter().map(group));
            }
        }
        Ok(out)
    }

    async fn set_desired_capacity(&self, group: &str, desired: usize) -> ApiResult<()> {
        let desired = i32::try_from(desired).map_err(|_| {
            ApiError::new(
                ErrorClass::Fatal,
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

    async fn describe_launch_template_instance_type(
        &self,
        template: &LaunchTemplateRef,
    ) -> ApiResult<Option<String>> {
        let mut params = vec![("Action", "DescribeLaunchTemplateVersions".to_string())];
        match (&template.id, &template.name) {
            (Some(id), _) => params.push(("LaunchTemplateId", id.clone())),
            (None, Some(name)) => params.push(("LaunchTemplateName", name.clone())),
            (None, None) => {
                return Err(ApiError::new(
                    ErrorClass::Fatal,
                    "the launch template has neither id nor name",
                ));
            }
        }
        let version = template.version.clone().unwrap_or_else(|| "$Default".into());
        params.push(("LaunchTemplateVersion.1", version));
        let xml = self.ec2.call(&params).await?;
        // <launchTemplateVersionSet><item>...<launchTemplateData><instanceType>m5.large</instanceType>
        let Some(item) =
            xml_element(&xml, "launchTemplateVersionSet").and_then(|set| xml_element(set, "item"))
        else {
            return Err(ApiError::new(
                ErrorClass::NotFound,
                "DescribeLaunchTemplateVersions returned no version",
            ));
        };
        Ok(xml_element(item, "launchTemplateData")
            .and_then(|data| xml_element(data, "instanceType"))
            .map(|t| xml_unescape(t.trim())))
    }

    async fn describe_launch_configurations(&self, names: &[String]) -> ApiResult<Vec<LaunchConfiguration>> {
        let mut out = Vec::new();
        for chunk in names.chunks(MAX_NAMES_PER_CALL) {
            let mut pages = self
                .client
                .describe_launch_configurations()
                .set_launch_configuration_names(Some(chunk.to_vec()))
                .into_paginator()
                .send();
            while let Some(page) = pages.next().await {
                let page = page.map_err(api_error)?;
                out.extend(page.launch_configurations().iter().filter_map(|lc| {
                    Some(LaunchConfiguration {
                        name: lc.launch_configuration_name()?.to_string(),
                        instance_type: lc.instance_type()?.to_string(),
                    })
                }));
            }
        }
        Ok(out)
    }
}

/// One EC2 Query API call, signed by hand (see the module doc).
#[derive(Clone)]
pub struct Ec2Query {
    connector: Arc<Connector>,
    credentials: Option<SharedCredentialsProvider>,
    /// The last credentials, reused until shortly before they expire (the SDK clients cache theirs
    /// the same way; the raw chain would ask STS or IMDS at every call).
    cached: Arc<std::sync::Mutex<Option<Credentials>>>,
    region: String,
    endpoint: String,
}

impl std::fmt::Debug for Ec2Query {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Ec2Query")
            .field("region", &self.region)
            .field("endpoint", &self.endpoint)
            .finish_non_exhaustive()
    }
}

/// The EC2 API version of the Query calls.
const EC2_API_VERSION: &str = "2016-11-15";
/// A whole EC2 call (connect, send, read) gives up after this; the next refresh tries again.
const EC2_TIMEOUT: Duration = Duration::from_secs(30);

impl Ec2Query {
    /// Calls EC2 in `region` (at `endpoint_url` when given: one emulator or VPC endpoint for
    /// everything) with these credentials.
    pub fn new(
        credentials: Option<SharedCredentialsProvider>,
        region: &str,
        endpoint_url: Option<&str>,
    ) -> Ec2Query {
        let endpoint = match endpoint_url {
            Some(url) => url.trim_end_matches('/').to_string() + "/",
            None if region.starts_with("cn-") => format!("https://ec2.{region}.amazonaws.com.cn/"),
            None => format!("https://ec2.{region}.amazonaws.com/"),
        };
        let settings = HttpConnectorSettings::builder()
            .connect_timeout(Duration::from_millis(3100))
            .read_timeout(Duration::from_secs(20))
            .build();
        let connector = Connector::builder()
            .connector_settings(settings)
            .tls_provider(Provider::Rustls(CryptoMode::AwsLc))
            .build();
        Ec2Query {
            connector: Arc::new(connector),
            credentials,
            cached: Arc::default(),
            region: region.to_string(),
            endpoint,
        }
    }

    /// Sends `Action=...&Version=2016-11-15&<params>` and returns the response body of a 2xx answer;
    /// EC2 error responses are classified like the SDK's.
    pub async fn call(&self, params: &[(&str, String)]) -> ApiResult<String> {
        match tokio::time::timeout(EC2_TIMEOUT, self.call_once(params)).await {
            Ok(result) => result,
            Err(_) => Err(ApiError::new(
                ErrorClass::Transient,
                format!("EC2 did not answer within {EC2_TIMEOUT:?}"),
            )),
        }
    }

    async fn credentials(&self) -> ApiResult<Credentials> {
        const MARGIN: Duration = Duration::from_secs(300);
        let fresh = |c: &Credentials| {
            c.expiry().is_none_or(|at| {
                at.duration_since(SystemTime::now())
                    .is_ok_and(|left| left > MARGIN)
            })
        };
        let cached = self
            .cached
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .clone();
        if let Some(c) = cached.filter(fresh) {
            return Ok(c);
        }
        let provider = self
            .credentials
            .as_ref()
            .ok_or_else(|| ApiError::new(ErrorClass::Fatal, "no AWS credentials provider is configured"))?;
        // Mostly IMDS or STS hiccups at run time; a chain with nothing to offer fails the Auto
        // Scaling calls too, with their own classification.
        let credentials = provider.provide_credentials().await.map_err(|e| {
            ApiError::new(
                ErrorClass::Transient,
                format!("failed to load AWS credentials: {}", detail(&e)),
            )
        })?;
        *self
            .cached
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner) = Some(credentials.clone());
        Ok(credentials)
    }

    async fn call_once(&self, params: &[(&str, String)]) -> ApiResult<String> {
        let fatal =
            |what: &str, e: &dyn std::fmt::Display| ApiError::new(ErrorClass::Fatal, format!("{what}: {e}"));
        let mut body = format!("Version={EC2_API_VERSION}");
        for (k, v) in params {
            body.push('&');
            body.push_str(&form_encode(k));
            body.push('=');
            body.push_str(&form_encode(v));
        }
        let identity: Identity = self.credentials().await?.into();
        let signing: aws_sigv4::http_request::SigningParams<'_> = v4::SigningParams::builder()
            .identity(&identity)
            .region(&self.region)
            .name("ec2")
            .time(SystemTime::now())
            .settings(SigningSettings::default())
            .build()
            .map_err(|e| fatal("failed to sign the EC2 request", &e))?
            .into();
        let content_type = "application/x-www-form-urlencoded; charset=utf-8";
        let headers = [("content-type", content_type)];
        let signable = SignableRequest::new(
            "POST",
            &self.endpoint,
            headers.into_iter(),
            SignableBody::Bytes(body.as_bytes()),
        )
        .map_err(|e| fatal("failed to sign the EC2 request", &e))?;
        let (instructions, _) = sign(signable, &signing)
            .map_err(|e| fatal("failed to sign the EC2 request", &e))?
            .into_parts();
        let mut request = http::Request::builder()
            .method("POST")
            .uri(&self.endpoint)
            .header("content-type", content_type)
            .body(SdkBody::from(body))
            .map_err(|e| fatal("failed to build the EC2 request", &e))?;
        instructions.apply_to_request_http1x(&mut request);
        let request =
            HttpRequest::try_from(request).map_err(|e| fatal("failed to build the EC2 request", &e))?;
        let response = self.connector.call(request).await.map_err(|e| {
            let user = e.is_user();
            classified(
                FailureKind::Dispatch { user },
                None,
                None,
                format!("failed to reach EC2: {}", detail(&e)),
            )
        })?;
        let status = response.status().as_u16();
        let bytes = response
            .into_body()
            .collect()
            .await
            .map_err(|e| {
                classified(
                    FailureKind::Response,
                    None,
                    Some(status),
                    format!("failed to read EC2's answer: {e}"),
                )
            })?
            .to_bytes();
        let text = String::from_utf8_lossy(&bytes).into_owned();
        if (200..300).contains(&status) {
            return Ok(text);
        }
        // <Response><Errors><Error><Code>...</Code><Message>...</Message></Error></Errors>...
        let code = xml_element(&text, "Code").map(|c| xml_unescape(c.trim()));
        let message = xml_element(&text, "Message").map_or_else(
            || format!("EC2 answered HTTP {status}"),
            |m| xml_unescape(m.trim()),
        );
        let kind = if code.is_some() {
            FailureKind::Service
        } else {
            FailureKind::Response
        };
        Err(classified(kind, code, Some(status), message))
    }
}

fn classified(kind: FailureKind, code: Option<String>, status: Option<u16>, message: String) -> ApiError {
    let class = classify(&Failure {
        kind,
        code: code.as_deref(),
        status,
        message: &message,
    });
    ApiError { class, code, message }
}

/// `application/x-www-form-urlencoded` as SigV4 wants it: everything but RFC 3986's unreserved
/// characters percent-encoded.
fn form_encode(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for b in s.bytes() {
        if b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.' | b'~') {
            out.push(char::from(b));
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

/// The content of the first `<name>...</name>` element in `xml` (EC2's answers have no attributes
/// on the elements read here and no CDATA).
fn xml_element<'a>(xml: &'a str, name: &str) -> Option<&'a str> {
    let open = format!("<{name}>");
    let close = format!("</{name}>");
    let start = xml.find(&open)? + open.len();
    let end = start + xml[start..].find(&close)?;
    Some(&xml[start..end])
}

fn xml_unescape(s: &str) -> String {
    s.replace("&lt;", "<")
        .replace("&gt;", ">")
        .replace("&quot;", "\"")
        .replace("&apos;", "'")
        .replace("&amp;", "&")
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

    /// Creates an EC2 launch template (its first version) through the hand-signed Query call.
    pub async fn create_launch_template(
        &self,
        name: &str,
        instance_type: &str,
        image_id: &str,
    ) -> ApiResult<()> {
        self.ec2
            .call(&[
                ("Action", "CreateLaunchTemplate".into()),
                ("LaunchTemplateName", name.into()),
                ("LaunchTemplateData.InstanceType", instance_type.into()),
                ("LaunchTemplateData.ImageId", image_id.into()),
            ])
            .await?;
        Ok(())
    }

    /// Creates a group on a launch configuration or template, with tags.
    pub async fn create_group(
        &self,
        spec: &crate::testing::GroupSpec,
        launch: &crate::testing::Launch,
    ) -> ApiResult<()> {
        let mut request = self
            .client
            .create_auto_scaling_group()
            .auto_scaling_group_name(&spec.name);
        request = match launch {
            crate::testing::Launch::Configuration(name) => request.launch_configuration_name(name),
            crate::testing::Launch::Template(name) => request.launch_template(
                sdk::LaunchTemplateSpecification::builder()
                    .launch_template_name(name)
                    .version("$Latest")
                    .build(),
            ),
        };
        let mut request = request
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
