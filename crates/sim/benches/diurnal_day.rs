//! Placeholder replaced below.
#![allow(clippy::expect_used, missing_docs)]
fn main() {}
