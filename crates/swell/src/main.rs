//! `swell`: the command-line entry point of the Swell autoscalers.
//!
//! It offers the offline tools built on the pod autoscaler's decision core (`swell hpa`), the live
//! pod autoscaler (`swell pod-autoscaler`), the live node autoscaler (`swell node-autoscaler`), the
//! simulator (`swell simulate`) and `swell explain hpa|node|pod`.

use std::{io::Read, path::PathBuf, process::ExitCode};

use clap::{Parser, Subcommand};
use k8s_openapi::api::autoscaling::v2::HorizontalPodAutoscaler;
use swell_pod_autoscaler::policy::{ControllerConfig, HpaPolicy};

mod aws;
mod common;
mod duration;
mod hpa_decide;
mod node_autoscaler;
mod pod_autoscaler;
mod simulate;

/// Kubernetes autoscalers that explain every decision.
#[derive(Debug, Parser)]
#[command(name = "swell", version, about, long_about = None)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Offline tools for HorizontalPodAutoscaler objects.
    #[command(subcommand)]
    Hpa(HpaCommand),
    /// Run the pod autoscaler: reconcile autoscaling/v2 HorizontalPodAutoscalers in place of the
    /// built-in controller (--mode=active) or beside it without writing (--mode=shadow).
    PodAutoscaler(Box<pod_autoscaler::PodAutoscalerArgs>),
    /// Run the node autoscaler: grow node groups for pods that cannot be scheduled and remove
    /// unneeded nodes with a drain that respects PodDisruptionBudgets (Cluster Autoscaler's flags).
    NodeAutoscaler(Box<node_autoscaler::NodeAutoscalerArgs>),
    /// Explain a decision for a person.
    #[command(subcommand)]
    Explain(ExplainCommand),
    /// Run a scenario (scenarios/*.yaml) through a simulated cluster and cloud with the real
    /// decision cores of both autoscalers; print the summary, write an HTML report, or compare two.
    Simulate(Box<simulate::SimulateArgs>),
}

#[derive(Debug, Subcommand)]
enum ExplainCommand {
    /// The last decision for an HPA, from a running controller (--url) or computed once (--once).
    Hpa(Box<pod_autoscaler::ExplainHpaArgs>),
    /// Why a node is or is not being removed, from a running node autoscaler.
    Node(Box<node_autoscaler::ExplainNodeArgs>),
    /// Why a pending pod did or did not trigger a scale-up, from a running node autoscaler.
    Pod(Box<node_autoscaler::ExplainPodArgs>),
}

#[derive(Debug, Subcommand)]
enum HpaCommand {
    /// Validate an autoscaling/v2 HorizontalPodAutoscaler manifest (YAML or JSON) the way the API
    /// server and the controller would, and print the policy Swell derives from it (every default
    /// applied) as JSON. Exits 1 and names each invalid field when the manifest is refused.
    Check(CheckArgs),
    /// Make one decision offline, as the controller would, from a file holding the HPA, its target's
    /// scale, the pods and the fetched metric values (see docs/examples/decision.yaml), and explain it.
    Decide(DecideArgs),
}

#[derive(Debug, clap::Args)]
struct DecideArgs {
    /// The decision input (YAML or JSON); `-` reads standard input.
    file: PathBuf,
    /// Print the decision, its explanation and the status it would write as JSON.
    #[arg(long, env = "SWELL_JSON")]
    json: bool,
    #[command(flatten)]
    controller: ControllerArgs,
}

#[derive(Debug, clap::Args)]
struct CheckArgs {
    /// The manifest to read; `-` reads standard input.
    file: PathBuf,
    #[command(flatten)]
    controller: ControllerArgs,
}

/// The controller flags that change how a spec is read, named as kube-controller-manager names them.
#[derive(Debug, clap::Args)]
struct ControllerArgs {
    /// Minimum change (from 1.0) in the desired-to-actual metric ratio for the autoscaler to act.
    #[arg(long, env = "SWELL_HPA_TOLERANCE", default_value_t = 0.1)]
    horizontal_pod_autoscaler_tolerance: f64,
    /// Scale-down stabilization window used when an HPA's behavior does not set one (e.g. 5m, 90s).
    #[arg(long, env = "SWELL_HPA_DOWNSCALE_STABILIZATION", default_value = "5m", value_parser = duration::parse)]
    horizontal_pod_autoscaler_downscale_stabilization: jiff::SignedDuration,
    /// Allow minReplicas: 0 with Object or External metrics (feature gate HPAScaleToZero).
    #[arg(long, env = "SWELL_HPA_SCALE_TO_ZERO", default_value_t = false)]
    scale_to_zero: bool,
}

impl ControllerArgs {
    fn config(&self) -> Result<ControllerConfig, String> {
        let t = self.horizontal_pod_autoscaler_tolerance;
        if !(t.is_finite() && t >= 0.0) {
            return Err(format!(
                "--horizontal-pod-autoscaler-tolerance must be a number >= 0, got {t}"
            ));
        }
        Ok(ControllerConfig {
            tolerance: t,
            downscale_stabilization: self.horizontal_pod_autoscaler_downscale_stabilization,
            scale_to_zero: self.scale_to_zero,
            ..ControllerConfig::default()
        })
    }
}

fn read_input(path: &PathBuf) -> Result<String, String> {
    if path.as_os_str() == "-" {
        let mut s = String::new();
        std::io::stdin()
            .read_to_string(&mut s)
            .map_err(|e| format!("failed to read standard input: {e}"))?;
        Ok(s)
    } else {
        std::fs::read_to_string(path).map_err(|e| format!("failed to read {}: {e}", path.display()))
    }
}

fn check(args: &CheckArgs) -> Result<String, String> {
    let cfg = args.controller.config()?;
    let text = read_input(&args.file)?;
    let hpa: HorizontalPodAutoscaler = serde_yaml_ng::from_str(&text).map_err(|e| {
        format!(
            "{} is not an autoscaling/v2 HorizontalPodAutoscaler: {e}",
            args.file.display()
        )
    })?;
    let policy = HpaPolicy::from_spec(&hpa.spec, &cfg).map_err(|e| e.to_string())?;
    serde_json::to_string_pretty(&policy).map_err(|e| format!("failed to print the policy: {e}"))
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    let result = match &cli.command {
        Command::Hpa(HpaCommand::Check(args)) => check(args),
        Command::Hpa(HpaCommand::Decide(args)) => args
            .controller
            .config()
            .and_then(|cfg| read_input(&args.file).and_then(|text| hpa_decide::run(&text, &cfg, args.json))),
        Command::PodAutoscaler(args) => pod_autoscaler::run(args),
        Command::NodeAutoscaler(args) => node_autoscaler::run(args),
        Command::Explain(ExplainCommand::Node(args)) => node_autoscaler::explain_node(args),
        Command::Explain(ExplainCommand::Pod(args)) => node_autoscaler::explain_pod(args),
        Command::Explain(ExplainCommand::Hpa(args)) => pod_autoscaler::explain(args),
        Command::Simulate(args) => simulate::run(args),
    };
    match result {
        Ok(out) => {
            println!("{out}");
            ExitCode::SUCCESS
        }
        Err(e) => {
            eprintln!("error: {e}");
            ExitCode::FAILURE
        }
    }
}

#[cfg(test)]
mod tests {
    use clap::CommandFactory;

    use super::*;

    #[test]
    fn the_command_line_definition_is_consistent() {
        Cli::command().debug_assert();
    }
}
