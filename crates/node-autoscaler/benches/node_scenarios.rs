//! The node autoscaler's benchmark scenarios S1-S4 (`shared/reference/bench-scenarios.md`), each run
//! in a process of its own so that its peak memory (VmHWM, the peak resident set) is its own.
//!
//! `cargo bench -p swell-node-autoscaler --bench node_scenarios` prints one line per scenario: the
//! time to index the snapshot, the time of one `plan` call (min and median of several runs), the
//! peak RSS of the process that built the scenario and planned, and the answer it found.
//! `-- S3b` runs a single scenario.
#![allow(clippy::expect_used, clippy::unwrap_used, missing_docs)]

use std::hint::black_box;
use std::process::Command;
use std::time::{Duration, Instant};

use swell_node_autoscaler::testing::{scenarios, t0};
use swell_node_autoscaler::{ClusterInput, Config, Memory, Plan, Snapshot, plan};

struct Scenario {
    name: &'static str,
    what: &'static str,
    build: fn() -> ClusterInput,
    config: fn() -> Config,
    runs: usize,
}

fn default_config() -> Config {
    Config::default()
}

fn s1_config() -> Config {
    let mut c = Config::default();
    c.scale_up.max_nodes_per_scaleup = 3000;
    c
}

fn s4_config() -> Config {
    let mut c = Config::default();
    c.scale_down.unneeded_time = jiff::SignedDuration::ZERO;
    c.scale_down.max_scale_down_parallelism = usize::MAX;
    c.scale_down.max_drain_parallelism = usize::MAX;
    c
}

const SCENARIOS: &[Scenario] = &[
    Scenario {
        name: "S1",
        what: "estimator, 51,000 pods",
        build: scenarios::s1,
        config: s1_config,
        runs: 7,
    },
    Scenario {
        name: "S2",
        what: "filter-out-schedulable, 1,000 nodes, 12,000 pending",
        build: scenarios::s2,
        config: default_config,
        runs: 7,
    },
    Scenario {
        name: "S3",
        what: "scale-up, 1,000 nodes, 3 groups, 3,000 pending",
        build: || scenarios::s3(1000, 3, 3000),
        config: default_config,
        runs: 7,
    },
    Scenario {
        name: "S3b",
        what: "scale-up, 1,000 nodes, 30 groups, 3,000 pending",
        build: || scenarios::s3(1000, 30, 3000),
        config: default_config,
        runs: 7,
    },
    Scenario {
        name: "S3c",
        what: "scale-up, 1,000 nodes, 3 groups, 30,000 pending",
        build: || scenarios::s3(1000, 3, 30_000),
        config: default_config,
        runs: 5,
    },
    Scenario {
        name: "S3d",
        what: "scale-up, 5,000 nodes, 3 groups, 10,000 pending",
        build: || scenarios::s3(5000, 3, 10_000),
        config: default_config,
        runs: 5,
    },
    Scenario {
        name: "S4",
        what: "scale-down, 1,000 nodes",
        build: || scenarios::s4(1000),
        config: s4_config,
        runs: 7,
    },
    Scenario {
        name: "S4b",
        what: "scale-down, 2,000 nodes",
        build: || scenarios::s4(2000),
        config: s4_config,
        runs: 5,
    },
    Scenario {
        name: "S4c",
        what: "scale-down, 5,000 nodes",
        build: || scenarios::s4(5000),
        config: s4_config,
        runs: 5,
    },
];

fn peak_rss_kib() -> Option<u64> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    let line = status.lines().find(|l| l.starts_with("VmHWM:"))?;
    line.split_whitespace().nth(1)?.parse().ok()
}

fn answer(p: &Plan) -> String {
    let up: Vec<String> = p
        .scale_up
        .iter()
        .map(|u| format!("{} +{}", u.group, u.to - u.from))
        .collect();
    format!(
        "scale-up [{}] pods for it {}, removable {}",
        up.join(", "),
        p.scale_up.first().map_or(0, |u| u.pods.len()),
        p.scale_down.len()
    )
}

fn ms(d: Duration) -> String {
    format!("{:.2} ms", d.as_secs_f64() * 1e3)
}

fn run_one(s: &Scenario) {
    let input = (s.build)();
    let cfg = (s.config)();
    let started = Instant::now();
    let snap = Snapshot::new(input);
    let index = started.elapsed();
    let mut times = Vec::with_capacity(s.runs);
    let mut last = None;
    for _ in 0..s.runs {
        let mut mem = Memory::default();
        let started = Instant::now();
        let p = plan(black_box(&snap), &cfg, &mut mem, t0(), 1);
        times.push(started.elapsed());
        last = Some(black_box(p));
    }
    times.sort();
    let rss = peak_rss_kib().map_or_else(|| "n/a".into(), |k| format!("{:.1} MiB", k as f64 / 1024.0));
    println!(
        "{:<4} {:<52} index {:>10}  plan min {:>10} median {:>10}  peak RSS {:>10}  {}",
        s.name,
        s.what,
        ms(index),
        ms(times[0]),
        ms(times[times.len() / 2]),
        rss,
        answer(&last.expect("at least one run"))
    );
}

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    if let Some(pos) = args.iter().position(|a| a == "--child") {
        let name = &args[pos + 1];
        let s = SCENARIOS.iter().find(|s| s.name == name).expect("known scenario");
        run_one(s);
        return;
    }
    // `cargo bench` passes `--bench`. Without it we run under `cargo test --all-targets` in a debug
    // build, where timings mean nothing: the answers are checked by tests/scenarios.rs instead.
    if !args.iter().any(|a| a == "--bench") {
        println!("node_scenarios: run it with `cargo bench -p swell-node-autoscaler --bench node_scenarios`");
        return;
    }
    // Any other argument names the scenarios to run.
    let wanted: Vec<&String> = args.iter().filter(|a| !a.starts_with("--")).collect();
    let exe = std::env::current_exe().expect("own path");
    for s in SCENARIOS {
        if !wanted.is_empty() && !wanted.iter().any(|w| w.eq_ignore_ascii_case(s.name)) {
            continue;
        }
        let status = Command::new(&exe)
            .args(["--child", s.name])
            .status()
            .expect("run scenario");
        assert!(status.success(), "scenario {} failed", s.name);
    }
}
