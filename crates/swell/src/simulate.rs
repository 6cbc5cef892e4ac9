//! `swell simulate`: runs a scenario through the simulator (`swell-sim`), which drives the real
//! decision cores of both autoscalers, and prints the summary (a table, or JSON with `--json`),
//! writes the HTML report (`--report`), or compares two scenarios (`--compare a.yaml b.yaml`).
//!
//! The autoscalers' settings take the live controllers' flag names; a flag given here overrides
//! the scenario's `settings:` entry of the same name.

use std::io::IsTerminal;
use std::path::{Path, PathBuf};

use swell_sim::scenario::{Dur, Settings};
use swell_sim::{Options, Outcome, Scenario};

fn dur(s: &str) -> Result<Dur, String> {
    let d = crate::duration::parse(s)?;
    if d.subsec_nanos() != 0 {
        return Err(format!("{s:?}: the simulator counts whole seconds"));
    }
    Ok(Dur(d))
}

/// `swell simulate` arguments.
#[derive(Debug, clap::Args)]
pub struct SimulateArgs {
    /// The scenario (YAML, see scenarios/); with --compare, two scenarios.
    #[arg(required = true, num_args = 1..=2)]
    scenarios: Vec<PathBuf>,
    /// Run both scenarios and print their summaries side by side (differences marked with *).
    #[arg(long)]
    compare: bool,
    /// Print the summary as JSON (with --compare: both, as {"a": ..., "b": ...}).
    #[arg(long, env = "SWELL_JSON")]
    json: bool,
    /// Write the HTML report (charts and every scale decision with its explanation) here.
    #[arg(long, value_name = "FILE")]
    report: Option<PathBuf>,
    /// Replace the scenario's seed.
    #[arg(long, env = "SWELL_SIM_SEED")]
    seed: Option<u64>,
    /// Replay this CSV (time,workload,rps) instead of the scenario's `trace`.
    #[arg(long, value_name = "CSV")]
    trace: Option<PathBuf>,
    /// Do not check the invariants at every step (faster on very large scenarios).
    #[arg(long)]
    no_invariants: bool,
    #[command(flatten)]
    flags: SettingFlags,
}

/// The live controllers' flags that the simulated autoscalers take (each also from `SWELL_SIM_<FLAG>`).
#[derive(Debug, clap::Args)]
struct SettingFlags {
    /// How often the node autoscaler plans (default 10s).
    #[arg(long, env = "SWELL_SIM_SCAN_INTERVAL", value_parser = dur)]
    scan_interval: Option<Dur>,
    /// Node-group expander chain: random, most-pods, least-waste, least-nodes, price (default least-waste).
    #[arg(long, env = "SWELL_SIM_EXPANDER")]
    expander: Option<String>,
    /// Whether the node autoscaler removes nodes (default true).
    #[arg(long, env = "SWELL_SIM_SCALE_DOWN_ENABLED")]
    scale_down_enabled: Option<bool>,
    /// How long a node must be unneeded before it is removed (default 10m).
    #[arg(long, env = "SWELL_SIM_SCALE_DOWN_UNNEEDED_TIME", value_parser = dur)]
    scale_down_unneeded_time: Option<Dur>,
    /// Node utilization below which a node may be removed (default 0.5).
    #[arg(long, env = "SWELL_SIM_SCALE_DOWN_UTILIZATION_THRESHOLD")]
    scale_down_utilization_threshold: Option<f64>,
    /// No scale-down this long after a scale-up (default 10m).
    #[arg(long, env = "SWELL_SIM_SCALE_DOWN_DELAY_AFTER_ADD", value_parser = dur)]
    scale_down_delay_after_add: Option<Dur>,
    /// No scale-down this long after a node deletion (default 0s).
    #[arg(long, env = "SWELL_SIM_SCALE_DOWN_DELAY_AFTER_DELETE", value_parser = dur)]
    scale_down_delay_after_delete: Option<Dur>,
    /// No scale-down this long after a failed one (default 3m).
    #[arg(long, env = "SWELL_SIM_SCALE_DOWN_DELAY_AFTER_FAILURE", value_parser = dur)]
    scale_down_delay_after_failure: Option<Dur>,
    /// Nodes removed at once (default 10).
    #[arg(long, env = "SWELL_SIM_MAX_SCALE_DOWN_PARALLELISM")]
    max_scale_down_parallelism: Option<usize>,
    /// Non-empty nodes drained at once (default 1).
    #[arg(long, env = "SWELL_SIM_MAX_DRAIN_PARALLELISM")]
    max_drain_parallelism: Option<usize>,
    /// Most nodes in the cluster (default 0: no limit).
    #[arg(long, env = "SWELL_SIM_MAX_NODES_TOTAL")]
    max_nodes_total: Option<usize>,
    /// Pods younger than this do not trigger a scale-up (default 0s).
    #[arg(long, env = "SWELL_SIM_NEW_POD_SCALE_UP_DELAY", value_parser = dur)]
    new_pod_scale_up_delay: Option<Dur>,
    /// Spread scale-ups across similar node groups (default false).
    #[arg(long, env = "SWELL_SIM_BALANCE_SIMILAR_NODE_GROUPS")]
    balance_similar_node_groups: Option<bool>,
    /// Backoff of a node group after a failed scale-up (default 5m).
    #[arg(long, env = "SWELL_SIM_INITIAL_NODE_GROUP_BACKOFF_DURATION", value_parser = dur)]
    initial_node_group_backoff_duration: Option<Dur>,
    /// Longest backoff of a node group (default 30m).
    #[arg(long, env = "SWELL_SIM_MAX_NODE_GROUP_BACKOFF_DURATION", value_parser = dur)]
    max_node_group_backoff_duration: Option<Dur>,
    /// How often the pod autoscaler evaluates every HPA (default 15s).
    #[arg(long, env = "SWELL_SIM_HORIZONTAL_POD_AUTOSCALER_SYNC_PERIOD", value_parser = dur)]
    horizontal_pod_autoscaler_sync_period: Option<Dur>,
    /// Minimum change from 1.0 in the metric ratio for the pod autoscaler to act (default 0.1).
    #[arg(long, env = "SWELL_SIM_HORIZONTAL_POD_AUTOSCALER_TOLERANCE")]
    horizontal_pod_autoscaler_tolerance: Option<f64>,
    /// Scale-down stabilization window of HPAs without behavior (default 5m).
    #[arg(long, env = "SWELL_SIM_HORIZONTAL_POD_AUTOSCALER_DOWNSCALE_STABILIZATION", value_parser = dur)]
    horizontal_pod_autoscaler_downscale_stabilization: Option<Dur>,
    /// Period after a pod starts in which its cpu samples are not trusted (default 5m).
    #[arg(long, env = "SWELL_SIM_HORIZONTAL_POD_AUTOSCALER_CPU_INITIALIZATION_PERIOD", value_parser = dur)]
    horizontal_pod_autoscaler_cpu_initialization_period: Option<Dur>,
    /// Period after a pod starts in which readiness changes count as its first (default 30s).
    #[arg(long, env = "SWELL_SIM_HORIZONTAL_POD_AUTOSCALER_INITIAL_READINESS_DELAY", value_parser = dur)]
    horizontal_pod_autoscaler_initial_readiness_delay: Option<Dur>,
}

impl SettingFlags {
    fn settings(&self) -> Settings {
        Settings {
            scan_interval: self.scan_interval,
            expander: self.expander.clone(),
            scale_down_enabled: self.scale_down_enabled,
            scale_down_unneeded_time: self.scale_down_unneeded_time,
            scale_down_utilization_threshold: self.scale_down_utilization_threshold,
            scale_down_delay_after_add: self.scale_down_delay_after_add,
            scale_down_delay_after_delete: self.scale_down_delay_after_delete,
            scale_down_delay_after_failure: self.scale_down_delay_after_failure,
            max_scale_down_parallelism: self.max_scale_down_parallelism,
            max_drain_parallelism: self.max_drain_parallelism,
            max_nodes_total: self.max_nodes_total,
            new_pod_scale_up_delay: self.new_pod_scale_up_delay,
            balance_similar_node_groups: self.balance_similar_node_groups,
            initial_node_group_backoff_duration: self.initial_node_group_backoff_duration,
            max_node_group_backoff_duration: self.max_node_group_backoff_duration,
            horizontal_pod_autoscaler_sync_period: self.horizontal_pod_autoscaler_sync_period,
            horizontal_pod_autoscaler_tolerance: self.horizontal_pod_autoscaler_tolerance,
            horizontal_pod_autoscaler_downscale_stabilization: self
                .horizontal_pod_autoscaler_downscale_stabilization,
            horizontal_pod_autoscaler_cpu_initialization_period: self
                .horizontal_pod_autoscaler_cpu_initialization_period,
            horizontal_pod_autoscaler_initial_readiness_delay: self
                .horizontal_pod_autoscaler_initial_readiness_delay,
        }
    }
}

fn simulate(path: &Path, args: &SimulateArgs) -> Result<Outcome, String> {
    let text =
        std::fs::read_to_string(path).map_err(|e| format!("failed to read {}: {e}", path.display()))?;
    let mut scenario = Scenario::parse(&text, &path.display().to_string()).map_err(|e| e.to_string())?;
    if let Some(seed) = args.seed {
        scenario.seed = seed;
    }
    let dir = path.parent().unwrap_or(Path::new("."));
    let trace = swell_sim::engine::load_trace(&scenario, dir, args.trace.as_deref())?;
    let opts = Options {
        check_invariants: !args.no_invariants,
        ..Options::default()
    };
    // A progress bar on a terminal only; indicatif also hides itself when stderr is redirected.
    let bar = std::io::stderr().is_terminal().then(|| {
        let bar = indicatif::ProgressBar::new(scenario.duration.secs().unsigned_abs());
        bar.set_style(
            indicatif::ProgressStyle::with_template("{prefix} [{bar:40}] {msg} ({elapsed})")
                .unwrap_or_else(|_| indicatif::ProgressStyle::default_bar())
                .progress_chars("=> "),
        );
        bar.set_prefix(scenario.name.clone());
        bar
    });
    let mut progress = |now: i64, _end: i64| {
        if let Some(bar) = &bar {
            bar.set_position(now.unsigned_abs());
            bar.set_message(format!("{} simulated", swell_sim::summary::hms(now)));
        }
    };
    let out = swell_sim::run(
        &scenario,
        &args.flags.settings(),
        opts,
        trace.as_ref(),
        &mut progress,
    );
    if let Some(bar) = bar {
        bar.finish_and_clear();
    }
    out
}

/// Runs the command; the returned text goes to standard output.
pub fn run(args: &SimulateArgs) -> Result<String, String> {
    if args.compare != (args.scenarios.len() == 2) {
        return Err("give one scenario, or two with --compare".into());
    }
    if args.compare && args.report.is_some() {
        return Err("--report writes one run's report; run each scenario with its own --report".into());
    }
    let a = simulate(&args.scenarios[0], args)?;
    if args.compare {
        let b = simulate(&args.scenarios[1], args)?;
        let (na, nb) = (
            args.scenarios[0].display().to_string(),
            args.scenarios[1].display().to_string(),
        );
        return if args.json {
            serde_json::to_string_pretty(&serde_json::json!({"a": a.summary, "b": b.summary}))
                .map_err(|e| format!("failed to print the summaries: {e}"))
        } else {
            Ok(swell_sim::summary::compare(&a.summary, &b.summary, &na, &nb))
        };
    }
    let mut out = if args.json {
        serde_json::to_string_pretty(&a.summary).map_err(|e| format!("failed to print the summary: {e}"))?
    } else {
        swell_sim::summary::render(&a.summary)
    };
    if let Some(path) = &args.report {
        let html = swell_sim::report::html(&a.summary, &a.series, &a.decisions)?;
        if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
            std::fs::create_dir_all(dir).map_err(|e| format!("failed to create {}: {e}", dir.display()))?;
        }
        std::fs::write(path, html).map_err(|e| format!("failed to write {}: {e}", path.display()))?;
        if !args.json {
            out.push_str(&format!("\nreport: {}\n", path.display()));
        }
    }
    if !a.summary.invariant_violations.is_empty() {
        println!("{out}");
        return Err(format!(
            "{} invariant violation(s)",
            a.summary.invariant_violations.len()
        ));
    }
    Ok(out.trim_end().to_string())
}
