#![allow(clippy::unwrap_used, clippy::expect_used)]
//! Each shipped scenario, run through the real decision cores with every invariant checked at every
//! step, and assertions about its outcome.

use std::path::Path;

use swell_sim::engine::{Options, Outcome, load_trace, run};
use swell_sim::{Scenario, Settings};

fn scenario(name: &str) -> Scenario {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../scenarios").join(name);
    let text = std::fs::read_to_string(&path).unwrap();
    Scenario::parse(&text, name).unwrap()
}

fn run_scenario(name: &str) -> Outcome {
    let s = scenario(name);
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../scenarios");
    let trace = load_trace(&s, &dir, None).unwrap();
    let out = run(&s, &Settings::default(), Options::default(), trace.as_ref(), &mut |_, _| {}).unwrap();
    eprintln!("{}", swell_sim::summary::render(&out.summary));
    assert_eq!(out.summary.invariant_violations, Vec::<String>::new(), "{name}");
    assert_eq!(out.summary.pdb_violations, 0, "{name}");
    out
}

#[test]
fn flash_crowd() {
    let out = run_scenario("flash-crowd.yaml");
    let _ = out;
}

#[test]
fn all_the_others_smoke() {
    for name in ["diurnal-day.yaml", "batch-burst.yaml", "capacity-shortage.yaml", "scale-from-zero.yaml", "trace-replay.yaml"] {
        let t = std::time::Instant::now();
        let _ = run_scenario(name);
        eprintln!("{name}: {:?}", t.elapsed());
    }
}
