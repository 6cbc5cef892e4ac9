//! `swell node-autoscaler` and `swell explain node|pod` as a user runs them: bad input refused
//! before any cluster is needed (naming the culprit), `explain` against a real `/decisions`
//! endpoint served on loopback, and the shipped manifests passing only flags the binary knows.

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use common::swell;

use swell_node_autoscaler::{
    ClusterInput, Config, Memory, Snapshot,
    controller::{DecisionStore, LoopRecord},
    testing as t,
};

fn refused(args: &[&str], want: &str) {
    let (ok, _, stderr) = swell(args);
    assert!(!ok, "{args:?} was accepted");
    assert!(stderr.contains(want), "{args:?}: {stderr}");
}

#[test]
fn bad_input_is_refused_at_start_with_a_message_that_names_it() {
    refused(
        &["node-autoscaler", "--expander", "cheapest"],
        "--expander: unknown expander \"cheapest\"",
    );
    refused(
        &["node-autoscaler"],
        "--cloud-provider=kwok needs --kwok-node-groups-config-map",
    );
    refused(
        &[
            "node-autoscaler",
            "--kwok-node-groups-file",
            "x",
            "--scan-interval",
            "0s",
        ],
        "--scan-interval must be positive",
    );
    refused(
        &[
            "node-autoscaler",
            "--kwok-node-groups-file",
            "x",
            "--cores-total",
            "10",
        ],
        "--cores-total must be MIN:MAX",
    );
    refused(
        &["node-autoscaler", "--cloud-provider", "aws", "--nodes", "1:x:asg"],
        "1:x:asg",
    );

    let dir = std::env::temp_dir().join(format!("swell-na-cli-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let bad = dir.join("groups.yaml");
    std::fs::write(
        &bad,
        "nodeGroups:\n  pool-a:\n    minSize: 3\n    maxSize: 1\n    template: {cpu: \"4\", memory: 16Gi, pods: 110}\n",
    )
    .unwrap();
    let (ok, _, stderr) = swell(&[
        "node-autoscaler",
        "--kwok-node-groups-file",
        bad.to_str().unwrap(),
    ]);
    assert!(!ok);
    assert!(
        stderr.contains("pool-a") && stderr.contains("minSize"),
        "{stderr}"
    );
    assert!(stderr.contains("line"), "the line is named: {stderr}");
    std::fs::write(&bad, "nodeGroups:\n  pool-a:\n    minSize: 0\n    maxsize: 1\n").unwrap();
    let (ok, _, stderr) = swell(&[
        "node-autoscaler",
        "--kwok-node-groups-file",
        bad.to_str().unwrap(),
    ]);
    assert!(!ok);
    assert!(stderr.contains("maxsize"), "the typo is named: {stderr}");
    std::fs::remove_dir_all(&dir).unwrap();
}

fn published() -> DecisionStore {
    let now = t::t0();
    let snapshot = Snapshot::new(ClusterInput {
        nodes: vec![t::node("idle").group("a").build()],
        pods: vec![
            t::pod("web-1")
                .namespace("shop")
                .req(8000, 1 << 30)
                .pending()
                .build(),
        ],
        groups: vec![t::group("a", t::node("x"), 1, 3, 1)],
        ..ClusterInput::default()
    });
    let plan = swell_node_autoscaler::plan(&snapshot, &Config::default(), &mut Memory::default(), now, 0);
    let store = DecisionStore::default();
    store.publish(LoopRecord {
        time: now,
        dry_run: false,
        text: swell_node_autoscaler::explain::render(&plan),
        plan,
        caveats: [(
            "shop/web-1".to_string(),
            vec!["spec.resourceClaims: dynamic resource allocation is not simulated".to_string()],
        )]
        .into_iter()
        .collect(),
        skipped: vec![],
        actions: vec![],
    });
    store
}

#[test]
fn explain_node_and_pod_print_a_running_controllers_verdicts() {
    let rt = tokio::runtime::Runtime::new().unwrap();
    let listener = rt.block_on(tokio::net::TcpListener::bind("127.0.0.1:0")).unwrap();
    let addr = listener.local_addr().unwrap();
    let router = published().router();
    rt.spawn(async move { axum::serve(listener, router).await });
    let url = format!("http://{addr}");

    // The idle node is empty: unneeded, removable once the unneeded time has passed.
    let (ok, stdout, stderr) = swell(&["explain", "node", "idle", "--url", &url]);
    assert!(ok, "{stderr}");
    assert!(
        stdout.starts_with("node idle (group a, utilization 0.000): "),
        "{stdout}"
    );
    assert!(
        stdout.contains("unneeded since 2026-01-01T00:00:00Z, removable from 2026-01-01T00:10:00Z"),
        "{stdout}"
    );

    // The 8-cpu pod fits no 4-cpu node of any group.
    let (ok, stdout, stderr) = swell(&["explain", "pod", "shop/web-1", "--url", &url]);
    assert!(ok, "{stderr}");
    assert!(
        stdout.contains("pod shop/web-1: pod didn't trigger scale-up:"),
        "{stdout}"
    );
    assert!(stdout.contains("Insufficient cpu"), "{stdout}");
    assert!(stdout.contains("not modelled: spec.resourceClaims"), "{stdout}");

    let (ok, stdout, _) = swell(&["explain", "pod", "shop/web-1", "--url", &url, "--json"]);
    assert!(ok);
    let v: serde_json::Value = serde_json::from_str(&stdout).unwrap();
    assert_eq!(v["outcome"]["kind"], "NoScaleUp");

    let (ok, _, stderr) = swell(&["explain", "node", "nope", "--url", &url]);
    assert!(!ok);
    assert!(stderr.contains("node nope is not in the last plan"), "{stderr}");
    let (ok, _, stderr) = swell(&["explain", "pod", "web-1", "--url", &url]);
    assert!(!ok);
    assert!(stderr.contains("expected NAMESPACE/NAME"), "{stderr}");
}

#[test]
fn the_shipped_deployment_passes_only_flags_the_binary_knows() {
    let (container, args) =
        common::deployment_container("node-autoscaler/deployment.yaml", "node-autoscaler");
    // The ConfigMap the args name is the one shipped beside it, and it parses.
    let cm = common::manifest("node-autoscaler/kwok-node-groups.yaml");
    let named = format!(
        "--kwok-node-groups-config-map={}/{}",
        cm["metadata"]["namespace"].as_str().unwrap(),
        cm["metadata"]["name"].as_str().unwrap()
    );
    assert!(args.contains(&named), "{named}");
    swell_cloud_kwok_parse(cm["data"]["node-groups.yaml"].as_str().unwrap());
    assert_eq!(container["livenessProbe"]["httpGet"]["path"], "/healthz");
    assert_eq!(container["readinessProbe"]["httpGet"]["path"], "/readyz");
}

fn swell_cloud_kwok_parse(text: &str) {
    let dir = std::env::temp_dir().join(format!("swell-na-cm-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let f = dir.join("groups.yaml");
    std::fs::write(&f, text).unwrap();
    // The binary validates a file declaration before it needs a cluster: a valid one gets as far as
    // looking for the cluster.
    let (ok, _, stderr) = swell(&[
        "node-autoscaler",
        "--kwok-node-groups-file",
        f.to_str().unwrap(),
        "--kubeconfig",
        "/nonexistent/kubeconfig",
    ]);
    assert!(!ok);
    assert!(stderr.contains("failed to read kubeconfig"), "{stderr}");
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn every_flag_is_documented() {
    let (ok, help, _) = swell(&["node-autoscaler", "--help"]);
    assert!(ok);
    let doc = std::fs::read_to_string(format!(
        "{}/../../docs/node-autoscaler.md",
        env!("CARGO_MANIFEST_DIR")
    ))
    .unwrap();
    let flags: Vec<&str> = help
        .lines()
        .filter_map(|l| l.trim_start().strip_prefix("--"))
        .map(|l| l.split([' ', '=', '<']).next().unwrap())
        .filter(|f| *f != "help")
        .collect();
    assert!(flags.len() > 50, "{flags:?}");
    for f in flags {
        assert!(
            doc.contains(&format!("`--{f}`")),
            "--{f} is missing from docs/node-autoscaler.md"
        );
    }
}
