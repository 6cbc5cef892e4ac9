//! A 24-hour diurnal day of 200 workloads on up to 2,000 nodes, through the real decision cores:
//! every HPA every 15 s (1.15 million `decide` calls), `plan` every 10 s (8,640 calls), the
//! scheduler binding every pod with the node autoscaler's predicates. Goal: under 60 s on the
//! reference machine (docs/benchmarks.md).
//!
//! `cargo bench -p swell-sim --bench diurnal_day` runs it and prints the figures. Without `--bench`
//! (as `cargo test --all-targets` runs it) it runs a one-hour day of 4 workloads and exits.
#![allow(clippy::expect_used, missing_docs)]

use std::fmt::Write;
use std::time::Instant;

use swell_sim::engine::{Options, run};
use swell_sim::{Scenario, Settings};

/// The scenario: `n` workloads of 500m pods on one group of 8-cpu nodes (at most `max_nodes`),
/// each on its own diurnal curve (peaks spread from 12:00 to 16:00, peak load 2-6x apart).
fn scenario(n: usize, max_nodes: usize, duration: &str) -> Scenario {
    let mut y = String::new();
    let _ = write!(
        y,
        "name: bench-diurnal\nseed: 1\nduration: {duration}\nnodeGroups:\n  - {{name: general, min: 20, max: {max_nodes}, \
         initial: 20, cpu: \"8\", memory: 32Gi, pricePerHour: 0.384}}\nworkloads:\n"
    );
    for i in 0..n {
        let peak_rps = 2000 + (i * 37) % 4000;
        let peak_h = 12 + i % 5;
        let _ = writeln!(
            y,
            "  - {{name: w{i}, replicas: 4, cpu: 500m, memory: 1Gi, cpuPerRps: 10, baseCpu: 10m, noise: 0.05, \
             load: {{diurnal: {{min: 150, max: {peak_rps}, peak: {peak_h}h}}}}, \
             hpa: {{minReplicas: 2, maxReplicas: 200, targetCpuUtilization: 70}}, pdb: {{maxUnavailable: 1}}}}"
        );
    }
    Scenario::parse(&y, "bench").expect("the bench scenario is valid")
}

fn main() {
    let bench = std::env::args().any(|a| a == "--bench");
    // `--duration=14h` shortens the day (for profiling).
    let custom = std::env::args().find_map(|a| a.strip_prefix("--duration=").map(str::to_string));
    let (n, max_nodes, duration) = if bench { (200, 2000, "24h") } else { (4, 50, "1h") };
    let duration = custom.as_deref().unwrap_or(duration);
    let s = scenario(n, max_nodes, duration);
    let opts = Options {
        check_invariants: !bench,
        record_explanations: true,
        sample_every: 0,
    };
    let start = Instant::now();
    let out = run(&s, &Settings::default(), opts, None, &mut |_, _| {}).expect("the bench runs");
    let elapsed = start.elapsed();
    let sm = &out.summary;
    assert!(
        sm.invariant_violations.is_empty(),
        "{:?}",
        sm.invariant_violations
    );
    let peak_pods: i32 = sm.workloads.values().map(|w| w.peak_replicas).sum();
    println!("diurnal_day: {n} workloads, {duration}, group max {max_nodes} nodes");
    println!(
        "  wall time          {:.2} s (goal < 60 s)",
        elapsed.as_secs_f64()
    );
    println!("  peak nodes         {}", sm.groups["general"].peak_nodes);
    println!("  sum of peak pods   {peak_pods}");
    println!("  node-hours         {:.1} (${:.2})", sm.node_hours, sm.cost);
    println!(
        "  decide calls       {} ({} rescales)",
        sm.decisions.hpa_evaluations, sm.decisions.hpa_rescales
    );
    println!(
        "  plan calls         {} ({} scale-ups, {} removals)",
        sm.decisions.plans, sm.decisions.scale_ups, sm.decisions.scale_downs
    );
    println!(
        "  pending            p50 {} s, p95 {} s, max {} s over {} pods",
        sm.pending.p50_s, sm.pending.p95_s, sm.pending.max_s, sm.pending.pods
    );
    println!("  decisions recorded {}", out.decisions.len());
}
