//! `swell-cloud-kwok`: a node-group provider for clusters where fake nodes are acceptable (kind with
//! kwok, e2e tests): its "instances" are Node objects it creates and deletes itself.
//!
//! ```text
//! YAML (file or ConfigMap) --declaration::parse--> Declaration (groups: bounds, price, template)
//! Declaration + kube::Client --KwokProvider::new--> impl NodeGroupProvider
//!     refresh: one LIST of the labelled nodes; set_target_size: POST nodes + PATCH their status;
//!     delete_nodes: DELETE nodes; heartbeat (without kwok): renew node conditions and Leases
//! ```
//!
//! See `docs/kwok.md` for the declaration format and how to run it with kind and kwok.

pub mod declaration;
pub mod nodes;
pub mod provider;

pub use declaration::{Declaration, Source, load_config_map, load_file, parse};
pub use provider::KwokProvider;
