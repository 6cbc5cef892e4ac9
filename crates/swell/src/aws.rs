//! The AWS flags of `swell node-autoscaler --cloud-provider=aws`, named as Cluster Autoscaler names
//! them (see docs/aws.md).

use swell_cloud_aws::{AwsOptions, AwsProvider};

/// The AWS provider's flags.
#[derive(Debug, clap::Args)]
pub struct AwsArgs {
    /// Auto Scaling Groups to manage, found by tags:
    /// `asg:tag=k8s.io/cluster-autoscaler/enabled,k8s.io/cluster-autoscaler/<cluster>` (keys, or key=value).
    /// Repeatable.
    #[arg(long, env = "SWELL_NODE_GROUP_AUTO_DISCOVERY", value_delimiter = ';')]
    node_group_auto_discovery: Vec<String>,
    /// An Auto Scaling Group named with its bounds, `MIN:MAX:NAME`. Repeatable.
    #[arg(long, env = "SWELL_NODES", value_delimiter = ';')]
    nodes: Vec<String>,
    /// The AWS region; without it, the default chain (AWS_REGION, the profile, instance metadata).
    #[arg(long, env = "SWELL_AWS_REGION")]
    aws_region: Option<String>,
    /// Another endpoint for the AWS calls (Auto Scaling and the EC2 launch-template lookup): an
    /// emulator, a VPC endpoint.
    #[arg(long, env = "SWELL_AWS_ENDPOINT_URL")]
    aws_endpoint_url: Option<String>,
}

impl AwsArgs {
    /// The provider's options, validated.
    pub fn options(&self) -> Result<AwsOptions, String> {
        let options = AwsOptions {
            region: self.aws_region.clone(),
            endpoint_url: self.aws_endpoint_url.clone(),
            auto_discovery: self.node_group_auto_discovery.clone(),
            nodes: self.nodes.clone(),
        };
        options.discovery().map_err(|e| e.to_string())?;
        Ok(options)
    }
}

/// Builds the provider (credentials from the default chain; nothing is sent until the first refresh).
pub async fn connect(args: &AwsArgs) -> Result<AwsProvider, String> {
    AwsProvider::connect(&args.options()?)
        .await
        .map_err(|e| e.to_string())
}
