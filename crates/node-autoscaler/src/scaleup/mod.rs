//! Scale-up: from pending pods to the node groups that grow, and by how much.
//!
//! The estimator says how many nodes each group would need; the expander chain picks a group; the
//! balancing step spreads the delta across groups similar to the chosen one.

pub mod balance;
pub mod estimator;
pub mod expander;
pub mod orchestrator;
