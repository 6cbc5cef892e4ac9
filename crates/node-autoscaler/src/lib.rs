//! `swell-node-autoscaler`: the pure decision core of Swell's node autoscaler.
//!
//! It reproduces the decisions of Cluster Autoscaler (1.36) without its I/O: the caller builds a
//! [`snapshot::Snapshot`] of the cluster, this crate plans, the caller acts.
//!
//! ```text
//! nodes, pods, PDBs, DaemonSets, node groups --model/convert--> Snapshot (indexed, immutable)
//! plan(&Snapshot, &Config, &mut Memory, now, seed) -> Plan
//!     sim:        a what-if overlay on the snapshot (add template nodes, move pods, remove nodes)
//!     predicates: the scheduler's filters with its messages
//!     scaleup:    pending pods -> equivalence classes -> estimator per group -> expander chain
//!     scaledown:  utilization -> drainability rules -> rescheduling simulation -> timers -> budgets
//! every pod and node carries the reason for what was (not) done
//! ```
//!
//! Nothing here reads a clock or a random source: `now` and the seed are parameters.

pub mod config;
#[cfg(feature = "controller")]
pub mod controller;
pub mod convert;
pub mod decide;
pub mod explain;
pub mod model;
pub mod plan;
pub mod predicates;
pub mod provider;
pub mod resources;
pub mod scaledown;
pub mod scaleup;
pub mod sim;
pub mod snapshot;
#[cfg(any(test, feature = "test-util"))]
pub mod testing;

pub use config::{ClusterLimits, Config, Memory, ScaleDownConfig, ScaleUpConfig};
pub use decide::{Revalidation, plan, revalidate};
pub use plan::Plan;
pub use snapshot::{ClusterInput, Snapshot};
