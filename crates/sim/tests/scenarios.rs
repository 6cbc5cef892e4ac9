#![allow(clippy::unwrap_used, clippy::expect_used)]
//! Each shipped scenario, run through the real decision cores with every invariant checked at every
//! step (replicas and group sizes within bounds, binds that pass the predicates, PDBs on every
//! eviction, no node deleted under a pod that could not be evicted), with assertions about its
//! outcome; and determinism: the same seed gives byte-identical JSON.

use std::path::{Path, PathBuf};

use swell_sim::engine::{Options, Outcome, load_trace, run};
use swell_sim::report::DecisionKind;
use swell_sim::{Scenario, Settings};

fn dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../scenarios")
}

fn scenario(name: &str) -> Scenario {
    let text = std::fs::read_to_string(dir().join(name)).unwrap();
    Scenario::parse(&text, name).unwrap()
}

fn run_with(s: &Scenario, settings: &Settings) -> Outcome {
    let trace = load_trace(s, &dir(), None).unwrap();
    let out = run(s, settings, Options::default(), trace.as_ref(), &mut |_, _| {}).unwrap();
    assert_eq!(
        out.summary.invariant_violations,
        Vec::<String>::new(),
        "{}",
        s.name
    );
    assert_eq!(out.summary.pdb_violations, 0, "{}", s.name);
    out
}

fn run_scenario(name: &str) -> Outcome {
    run_with(&scenario(name), &Settings::default())
}

/// The value of a series at virtual time `t` (the last sample at or before it).
fn at<T: Copy>(out: &Outcome, values: &[T], t: i64) -> T {
    let i = out.series.t.iter().rposition(|&x| x <= t).unwrap();
    values[i]
}

#[test]
fn flash_crowd_every_pod_is_bound_within_two_minutes_and_the_cluster_shrinks_after() {
    let out = run_scenario("flash-crowd.yaml");
    let s = &out.summary;
    // The crowd needs ~40 web pods where 3 ran: the HPA follows, and new nodes come.
    assert!(s.workloads["web"].peak_replicas >= 30, "{s:?}");
    assert!(s.groups["general"].peak_nodes >= 5, "{s:?}");
    // The stated service level: no pod waits more than 2 minutes for a node (boot is 30-90 s).
    assert!(s.pending.pods >= 25);
    assert!(s.pending.max_s <= 120, "max pending {}s", s.pending.max_s);
    assert_eq!(s.pending.still_pending, 0);
    // After the crowd leaves, replicas and nodes come back down.
    assert!(s.workloads["web"].final_replicas <= 5, "{s:?}");
    assert!(s.groups["general"].final_nodes < s.groups["general"].peak_nodes);
    assert_eq!(s.workloads["api"].final_replicas, 4);
    assert!(out.decisions.iter().any(|d| d.kind == DecisionKind::ScaleUp));
    assert!(out.decisions.iter().any(|d| d.kind == DecisionKind::ScaleDown));
}

#[test]
fn diurnal_day_scales_up_in_the_afternoon_and_down_at_night() {
    let out = run_scenario("diurnal-day.yaml");
    let shop = &out.series.replicas["shop"];
    let nodes = &out.series.nodes["general"];
    let h = 3600;
    // 03:00 (trough) against 14:00 (peak) against 23:30 (night again).
    assert!(at(&out, shop, 14 * h) >= 3 * at(&out, shop, 3 * h), "{shop:?}");
    assert!(at(&out, nodes, 15 * h) > at(&out, nodes, 3 * h));
    assert!(at(&out, shop, 23 * h + 1800) < at(&out, shop, 14 * h));
    assert!(
        at(&out, nodes, 23 * h + 1800) < at(&out, nodes, 15 * h),
        "{nodes:?}"
    );
    assert!(out.summary.workloads["search"].final_replicas <= 3);
}

#[test]
fn batch_burst_drains_through_the_pdbs_and_keeps_the_node_of_a_pod_that_refuses_eviction() {
    let out = run_scenario("batch-burst.yaml");
    let s = &out.summary;
    assert!(s.groups["general"].peak_nodes >= 12, "{s:?}");
    assert!(s.evictions > 0, "the drains evict service pods: {s:?}");
    assert_eq!(s.pdb_violations, 0);
    assert_eq!(
        s.workloads["nightly-report"].final_replicas, 0,
        "every batch pod completed"
    );
    assert_eq!(s.pending.still_pending, 0);
    // Back down, but not below what the services and the ledger pod hold.
    assert!(s.groups["general"].final_nodes <= 6, "{s:?}");
    assert!(s.groups["general"].final_nodes >= 2);
}

#[test]
fn capacity_shortage_falls_back_to_the_other_group_and_ends_there() {
    let out = run_scenario("capacity-shortage.yaml");
    let s = &out.summary;
    assert!(
        out.decisions
            .iter()
            .any(|d| d.kind == DecisionKind::LaunchFailed && d.target == "cheap")
    );
    assert!(
        out.decisions
            .iter()
            .any(|d| d.kind == DecisionKind::ScaleUp && d.target == "fallback"),
        "the autoscaler chose the other group once the cheap one was backed off"
    );
    assert_eq!(s.groups["cheap"].final_nodes, 0);
    assert!(s.groups["fallback"].final_nodes >= 2, "{s:?}");
    assert_eq!(s.pending.still_pending, 0);
    assert!(s.workloads["web"].final_replicas >= 10);
}

#[test]
fn scale_from_zero_grows_an_empty_group_for_the_job_and_shrinks_it_back_to_zero() {
    let out = run_scenario("scale-from-zero.yaml");
    let s = &out.summary;
    let nodes = &out.series.nodes["batch"];
    assert_eq!(nodes[0], 0);
    assert!(
        s.groups["batch"].peak_nodes >= 3,
        "12 pods of 2 cpu on 8-cpu nodes: {s:?}"
    );
    assert_eq!(s.groups["batch"].final_nodes, 0);
    assert_eq!(s.pending.pods, 12);
    assert_eq!(s.pending.still_pending, 0);
    assert_eq!(s.workloads["train"].final_replicas, 0);
}

#[test]
fn trace_replay_follows_the_recorded_load() {
    let out = run_scenario("trace-replay.yaml");
    let web = &out.series.replicas["web"];
    let api = &out.series.replicas["api"];
    // web's trace peaks around 50 minutes and falls back by 100; api's rises all along.
    assert!(at(&out, web, 55 * 60) >= 3 * at(&out, web, 5 * 60), "{web:?}");
    assert!(at(&out, web, 119 * 60) < at(&out, web, 55 * 60));
    assert!(at(&out, api, 119 * 60) > at(&out, api, 5 * 60), "{api:?}");
}

#[test]
fn the_same_seed_gives_byte_identical_json_and_another_seed_does_not() {
    let s = scenario("flash-crowd.yaml");
    let json =
        |s: &Scenario| serde_json::to_string_pretty(&run_with(s, &Settings::default()).summary).unwrap();
    let (a, b) = (json(&s), json(&s));
    assert_eq!(a, b);
    let mut other = s.clone();
    other.seed += 1;
    assert_ne!(
        a,
        json(&other),
        "the seed drives boot delays, start delays and usage noise"
    );
}

#[test]
fn settings_take_effect_a_shorter_unneeded_time_removes_nodes_sooner_and_cheaper() {
    let s = scenario("flash-crowd.yaml");
    let slow = run_with(&s, &Settings::default()).summary;
    let fast = run_with(
        &s,
        &Settings {
            scale_down_unneeded_time: Some(swell_sim::scenario::Dur::from_secs(60)),
            scale_down_delay_after_add: Some(swell_sim::scenario::Dur::from_secs(60)),
            ..Settings::default()
        },
    )
    .summary;
    assert!(
        fast.node_hours < slow.node_hours,
        "{} vs {}",
        fast.node_hours,
        slow.node_hours
    );
}

#[test]
fn every_shipped_scenario_parses() {
    let mut n = 0;
    for entry in std::fs::read_dir(dir()).unwrap() {
        let path = entry.unwrap().path();
        if path.extension().is_some_and(|e| e == "yaml") {
            let text = std::fs::read_to_string(&path).unwrap();
            Scenario::parse(&text, &path.display().to_string()).unwrap();
            n += 1;
        }
    }
    assert!(n >= 6);
}

#[test]
fn throttled_cloud_calls_fail_back_off_the_group_and_the_crowd_is_served_later() {
    let mut s = scenario("flash-crowd.yaml");
    s.node_groups[0].throttling.push(swell_sim::scenario::Window {
        from: swell_sim::scenario::Dur::from_secs(10 * 60),
        to: swell_sim::scenario::Dur::from_secs(13 * 60),
    });
    let calm = run_scenario("flash-crowd.yaml").summary;
    let out = run_with(&s, &Settings::default());
    assert!(out.summary.cloud_call_failures > 0);
    assert!(
        out.decisions
            .iter()
            .any(|d| d.kind == DecisionKind::ScaleUpFailed)
    );
    // The first scale-up waits for the throttling window and the group's backoff.
    assert!(
        out.summary.pending.max_s > calm.pending.max_s + 60,
        "{:?}",
        out.summary.pending
    );
    assert_eq!(out.summary.pending.still_pending, 0);
}
