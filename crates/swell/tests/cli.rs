//! The `swell` binary as a user runs it.

// Helpers outside #[test] functions expect their fixtures to work; a failure should be loud.
#![allow(clippy::expect_used)]

use std::process::Command;

fn swell(args: &[&str]) -> (bool, String, String) {
    let out = Command::new(env!("CARGO_BIN_EXE_swell"))
        .args(args)
        .output()
        .expect("swell runs");
    (
        out.status.success(),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

fn example(name: &str) -> String {
    format!("{}/../../docs/examples/{name}", env!("CARGO_MANIFEST_DIR"))
}

#[test]
fn hpa_check_prints_the_defaulted_policy_of_the_shipped_example() {
    let (ok, stdout, stderr) = swell(&["hpa", "check", &example("hpa.yaml")]);
    assert!(ok, "stderr: {stderr}");
    let policy: serde_json::Value = serde_json::from_str(&stdout).expect("json on stdout");
    assert_eq!(policy["min_replicas"], 2);
    assert_eq!(policy["max_replicas"], 20);
    // behavior.scaleUp was left out: the API defaults apply (0 s window, Pods 4 and Percent 100 per 15 s).
    assert_eq!(policy["behavior"]["scale_up"]["stabilization_window_seconds"], 0);
    assert_eq!(
        policy["behavior"]["scale_up"]["policies"]
            .as_array()
            .map(Vec::len),
        Some(2)
    );
    assert_eq!(
        policy["behavior"]["scale_down"]["stabilization_window_seconds"],
        120
    );
    assert_eq!(policy["tolerances"]["scale_down"], 0.05);
    assert_eq!(policy["tolerances"]["scale_up"], 0.1);
}

#[test]
fn hpa_check_refuses_an_invalid_manifest_naming_each_field() {
    let dir = std::env::temp_dir().join(format!("swell-cli-{}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("temp dir");
    let path = dir.join("bad.yaml");
    std::fs::write(
        &path,
        "apiVersion: autoscaling/v2\nkind: HorizontalPodAutoscaler\nmetadata: {name: web}\nspec:\n  scaleTargetRef: {apiVersion: apps/v1, kind: Deployment, name: web}\n  minReplicas: 5\n  maxReplicas: 3\n  behavior:\n    scaleUp:\n      policies: [{type: Pods, value: 0, periodSeconds: 15}]\n",
    )
    .expect("write manifest");
    let (ok, _, stderr) = swell(&["hpa", "check", path.to_str().expect("utf-8 path")]);
    assert!(!ok);
    assert!(stderr.contains("spec.maxReplicas"), "{stderr}");
    assert!(
        stderr.contains("spec.behavior.scaleUp.policies[0].value"),
        "{stderr}"
    );
}

#[test]
fn hpa_check_says_what_is_wrong_with_a_file_that_is_not_an_hpa() {
    let (ok, _, stderr) = swell(&["hpa", "check", "/nonexistent/hpa.yaml"]);
    assert!(!ok);
    assert!(
        stderr.contains("failed to read /nonexistent/hpa.yaml"),
        "{stderr}"
    );
}

#[test]
fn a_bad_duration_flag_is_refused_by_the_parser() {
    let (ok, _, stderr) = swell(&[
        "hpa",
        "check",
        &example("hpa.yaml"),
        "--horizontal-pod-autoscaler-downscale-stabilization",
        "5x",
    ]);
    assert!(!ok);
    assert!(stderr.contains("unknown unit"), "{stderr}");
}

#[test]
fn hpa_decide_explains_the_shipped_example() {
    let (ok, stdout, stderr) = swell(&["hpa", "decide", &example("decision.yaml")]);
    assert!(ok, "stderr: {stderr}");
    // cpu: 930m of 1000m requested by the two pods with samples = 93% against 60%; the pod without a
    // sample counts at 0 on a scale-up: 930m of 1500m = 62% -> within tolerance, keep 3.
    assert!(
        stdout.contains("utilization 93% (average 465m), ratio 1.550"),
        "{stdout}"
    );
    assert!(
        stdout.contains("second pass: missing pods counted at 0% of request; ratio 1.033"),
        "{stdout}"
    );
    // External AverageValue: 195 over a target of 30 -> 7; the legacy rate max(2 x 3, 4) clamps to 6.
    assert!(stdout.contains("-> 7 replicas: ceil(total / target)"), "{stdout}");
    assert!(
        stdout.contains("limits: 6 (ScaleUpLimit), clamped 7 -> 6"),
        "{stdout}"
    );
    assert!(stdout.contains("decision: scale 3 -> 6"), "{stdout}");
}

#[test]
fn hpa_decide_json_carries_the_status_it_would_write() {
    let (ok, stdout, stderr) = swell(&["hpa", "decide", "--json", &example("decision.yaml")]);
    assert!(ok, "stderr: {stderr}");
    let v: serde_json::Value = serde_json::from_str(&stdout).expect("json");
    assert_eq!(v["decision"]["desired_replicas"], 6);
    assert_eq!(v["statusIfWritten"]["desiredReplicas"], 6);
    assert_eq!(
        v["statusIfWritten"]["currentMetrics"][0]["resource"]["current"]["averageUtilization"],
        93
    );
    assert_eq!(v["events"][0]["reason"], "SuccessfulRescale");
}

#[test]
fn hpa_decide_refuses_a_metric_entry_with_two_values() {
    let text = std::fs::read_to_string(example("decision.yaml")).expect("example");
    let bad = text.replace(
        "  - external: [\"120\", \"75\"]",
        "  - external: [\"120\", \"75\"]\n    object: \"3\"",
    );
    let dir = std::env::temp_dir().join(format!("swell-cli-decide-{}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("temp dir");
    let path = dir.join("bad.yaml");
    std::fs::write(&path, bad).expect("write");
    let (ok, _, stderr) = swell(&["hpa", "decide", path.to_str().expect("utf-8 path")]);
    assert!(!ok);
    assert!(
        stderr.contains("metrics[1]: give exactly one of pods, object, external or error"),
        "{stderr}"
    );
}
