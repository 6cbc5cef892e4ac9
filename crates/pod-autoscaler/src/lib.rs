//! stub
pub mod policy;
