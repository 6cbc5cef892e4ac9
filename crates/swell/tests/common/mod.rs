//! Running the `swell` binary as a user does.

use std::process::Command;

/// Runs `swell args` without KUBECONFIG: (success, stdout, stderr).
pub fn swell(args: &[&str]) -> (bool, String, String) {
    let out = Command::new(env!("CARGO_BIN_EXE_swell"))
        .args(args)
        .env_remove("KUBECONFIG")
        .output()
        .expect("swell runs");
    (
        out.status.success(),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

/// A shipped manifest under `deploy/`, parsed.
#[allow(dead_code)]
pub fn manifest(path: &str) -> serde_json::Value {
    let full = format!("{}/../../deploy/{path}", env!("CARGO_MANIFEST_DIR"));
    serde_yaml_ng::from_str(&std::fs::read_to_string(&full).expect("the manifest exists"))
        .expect("valid YAML")
}

/// The first container of a shipped Deployment and its args, after checking that the first arg is
/// `subcommand` and every other is a flag `swell <subcommand> --help` lists.
#[allow(dead_code)]
pub fn deployment_container(path: &str, subcommand: &str) -> (serde_json::Value, Vec<String>) {
    let deployment = manifest(path);
    let container = deployment["spec"]["template"]["spec"]["containers"][0].clone();
    let args: Vec<String> = container["args"]
        .as_array()
        .expect("the container has args")
        .iter()
        .map(|a| a.as_str().expect("string args").to_string())
        .collect();
    assert_eq!(args[0], subcommand);
    let (ok, help, _) = swell(&[subcommand, "--help"]);
    assert!(ok);
    for arg in &args[1..] {
        let flag = arg.split('=').next().unwrap_or_default();
        assert!(
            help.contains(&format!("{flag} ")),
            "{flag} is not a flag of swell {subcommand}"
        );
    }
    (container, args)
}
