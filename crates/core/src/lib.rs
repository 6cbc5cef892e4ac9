//! `swell-core`: the vocabulary shared by every Swell crate, with no I/O and no async.
//!
//! - [`quantity`]: exact Kubernetes `resource.Quantity` parsing, arithmetic and canonical formatting.
//! - [`clock`]: time as a parameter ([`clock::Clock`], a system clock and a manual clock for tests).
//! - [`pod`]: what controllers read off a Pod (phase, readiness, start time, deletion, requests).
//! - [`selector`]: label selectors, from the API object or from the string form the scale subresource returns.
//! - [`validation`]: Kubernetes name rules (qualified names, DNS-1123 labels and subdomains, label
//!   values) with upstream's messages.
//! - [`conditions`]: status conditions that keep `lastTransitionTime` while their status holds.
//! - [`duration`]: Go durations (`30s`, `1h30m`) as flags, annotations and `metav1.Duration` write them.
//! - `testing` (feature `test-util`): builders for the objects tests need.

pub mod clock;
pub mod conditions;
pub mod duration;
pub mod pod;
pub mod quantity;
pub mod selector;
#[cfg(any(test, feature = "test-util"))]
pub mod testing;
pub mod validation;

pub use jiff::{SignedDuration, Timestamp};
