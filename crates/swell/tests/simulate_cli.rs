//! `swell simulate` as a user runs it: the summary, `--json`, `--report`, `--compare`, flags that
//! override the scenario's settings, and a scenario with a typo refused with its field and line.

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use common::swell;

fn scenario(name: &str) -> String {
    format!("{}/../../scenarios/{name}", env!("CARGO_MANIFEST_DIR"))
}

#[test]
fn a_scenario_prints_its_summary_and_writes_its_report() {
    let report = std::env::temp_dir().join(format!("swell-simulate-{}.html", std::process::id()));
    let report_arg = report.display().to_string();
    let (ok, out, err) = swell(&[
        "simulate",
        &scenario("scale-from-zero.yaml"),
        "--report",
        &report_arg,
    ]);
    assert!(ok, "{err}");
    assert!(
        out.contains("node-hours") && out.contains("invariants           all held"),
        "{out}"
    );
    assert!(out.contains(&format!("report: {report_arg}")), "{out}");
    let html = std::fs::read_to_string(&report).unwrap();
    assert!(html.contains("<svg") && html.contains("href=\"#d1\""));
    let _ = std::fs::remove_file(report);
}

#[test]
fn json_is_the_same_for_the_same_seed_and_flags_override_the_scenario() {
    let run = |extra: &[&str]| {
        let mut args = vec!["simulate", "--json"];
        let path = scenario("flash-crowd.yaml");
        args.push(&path);
        args.extend_from_slice(extra);
        let (ok, out, err) = swell(&args);
        assert!(ok, "{err}");
        out
    };
    let a = run(&[]);
    assert_eq!(a, run(&[]));
    let json: serde_json::Value = serde_json::from_str(&a).unwrap();
    assert_eq!(json["pdb_violations"], 0);
    assert_eq!(json["scenario"], "flash-crowd");
    let quick = run(&[
        "--scale-down-unneeded-time",
        "1m",
        "--scale-down-delay-after-add",
        "1m",
    ]);
    let quick: serde_json::Value = serde_json::from_str(&quick).unwrap();
    assert!(quick["node_hours"].as_f64().unwrap() < json["node_hours"].as_f64().unwrap());
    let other_seed = run(&["--seed", "43"]);
    assert_ne!(a, other_seed);
}

#[test]
fn compare_prints_two_runs_side_by_side() {
    let (ok, out, err) = swell(&[
        "simulate",
        "--compare",
        &scenario("flash-crowd.yaml"),
        &scenario("capacity-shortage.yaml"),
    ]);
    assert!(ok, "{err}");
    assert!(
        out.contains("flash-crowd (seed 42)") && out.contains("capacity-shortage (seed 11)"),
        "{out}"
    );
    assert!(
        out.lines().any(|l| l.starts_with("cost") && l.contains('*')),
        "{out}"
    );
}

#[test]
fn a_bad_scenario_or_flag_is_refused() {
    let bad = std::env::temp_dir().join(format!("swell-bad-{}.yaml", std::process::id()));
    let text = std::fs::read_to_string(scenario("scale-from-zero.yaml")).unwrap();
    std::fs::write(
        &bad,
        text.replace("    max: 10", "    max: 10\n    pricePerHuor: 1"),
    )
    .unwrap();
    let (ok, _, err) = swell(&["simulate", &bad.display().to_string()]);
    assert!(!ok);
    assert!(
        err.contains("unknown field `pricePerHuor`") && err.contains("line "),
        "{err}"
    );
    let _ = std::fs::remove_file(bad);
    let (ok, _, err) = swell(&[
        "simulate",
        &scenario("flash-crowd.yaml"),
        "--expander",
        "cheapest",
    ]);
    assert!(!ok);
    assert!(err.contains("--expander"), "{err}");
    let (ok, _, err) = swell(&[
        "simulate",
        &scenario("flash-crowd.yaml"),
        "--scan-interval",
        "-5s",
    ]);
    assert!(!ok, "{err}");
}
