//! `swell-cloud-aws`: Swell's node-group provider for AWS Auto Scaling Groups, compatible with
//! Cluster Autoscaler's AWS provider (its discovery tags, `--nodes` specs, node-template and
//! autoscaling-options tags, and `aws:///<zone>/<instance-id>` provider ids), so a cluster can move
//! from Cluster Autoscaler without retagging anything.
//!
//! ```text
//! AwsOptions (flags) --options--> Discovery
//!                                     |
//! AwsProvider (provider) -- NodeGroupProvider for the node autoscaler
//!     | logic: discovery, bounds, placeholders, unfulfilled capacity, templates (template,
//!     |        instance_types), min-size guard
//!     v
//! AsgApi (api): describe groups, set desired capacity, terminate instance,
//!               describe scaling activities, describe launch configurations and launch templates
//!     |-- SdkAsgApi (sdk): aws-sdk-autoscaling (plus one hand-signed EC2 call), the only module
//!     |                    that imports the SDK; errors classified by `error`
//!     `-- testing::FakeAsgApi (feature test-util): records calls, fails once on request
//! ```
//!
//! Wiring: `AwsProvider::connect(&AwsOptions { region, endpoint_url, auto_discovery, nodes }).await`,
//! then use it as any [`swell_node_autoscaler::provider::NodeGroupProvider`] (its `group_options`
//! gives each group's `autoscaling-options` tags; [`AwsProvider::autoscaling_options`] also says
//! why malformed ones were ignored).

pub mod api;
pub mod error;
pub mod instance_types;
pub mod options;
pub mod provider;
pub mod sdk;
pub mod template;
#[cfg(feature = "test-util")]
pub mod testing;

pub use options::{AwsOptions, Discovery, OptionsError};
pub use provider::{AwsProvider, SetupError};
pub use sdk::{ClientSettings, ConnectError, SdkAsgApi};
