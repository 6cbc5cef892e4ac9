//! Scale-down: which nodes can go, and what happens to their pods when they do.

pub mod drain;
pub mod pdb;
pub mod planner;
