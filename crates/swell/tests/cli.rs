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
