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
