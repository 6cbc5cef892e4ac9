//! `swell-sim`: a deterministic cluster and cloud that runs the real decision cores of Swell's two
//! autoscalers on a scenario, so that a person can see what Swell would do, with which settings and
//! at what cost, without a cluster or a cloud account.
//!
//! ```text
//! scenario YAML --scenario::Scenario::parse--> Scenario (+ trace CSV)
//!     --engine::run(settings overlay, options)--> Outcome { summary, series, decisions }
//!         summary::render (table), serde JSON, report::html (SVG charts, decisions -> explanations)
//! ```
//!
//! Pure and deterministic: a virtual clock, one seeded random source ([`rng::Rng`]), no wall clock,
//! no async runtime, no Kubernetes client. The same scenario and seed give byte-identical JSON.

pub mod check;
pub mod engine;
pub mod report;
pub mod rng;
pub mod scenario;
pub mod settings;
pub mod summary;
pub mod trace;

pub use engine::{Options, Outcome, run};
pub use scenario::{Scenario, Settings};
pub use summary::Summary;
