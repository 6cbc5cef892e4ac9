//! Scenario files: what the simulated cluster holds, how load arrives, and the autoscalers'
//! settings, as YAML.
//!
//! ```text
//! YAML text --serde (deny_unknown_fields; leaf types refuse bad values)--> Scenario
//!           --Scenario::validate (bounds across fields)--> a scenario the engine can run
//! ```
//!
//! Every error names the field and the line: serde_yaml_ng gives the line of a typo or of a value a
//! leaf type refuses (`"-5s"`, `"2x"`); the checks across fields (`min` above `max`) find the line of
//! the field they name with [`locate`].

use std::collections::BTreeMap;
use std::fmt;

use jiff::SignedDuration;
use k8s_openapi::api::autoscaling::v2::HorizontalPodAutoscalerBehavior;
use serde::{Deserialize, Deserializer, Serialize};
use swell_core::duration::parse_go_duration;
use swell_core::quantity::Quantity;

/// Why a scenario is refused.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// Not valid YAML for a scenario (a typo, a wrong type, a value a field refuses).
    #[error("{file}: {message}")]
    Parse {
        /// The scenario's name for messages (its path).
        file: String,
        /// serde_yaml_ng's message, with the field and the line.
        message: String,
    },
    /// A value impossible together with the others.
    #[error("{file}: {field}: {message}{}", line.map(|l| format!(" (line {l})")).unwrap_or_default())]
    Invalid {
        /// The scenario's name for messages.
        file: String,
        /// The field's path, e.g. `nodeGroups[1].max`.
        field: String,
        /// What is wrong.
        message: String,
        /// The field's line, when found.
        line: Option<usize>,
    },
    /// The trace CSV could not be read or parsed.
    #[error("{0}")]
    Trace(String),
}

/// A duration written like a Go duration (`30s`, `1h30m`), never negative.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Serialize)]
#[serde(into = "String")]
pub struct Dur(pub SignedDuration);

impl Dur {
    /// Whole seconds.
    pub fn secs(self) -> i64 {
        self.0.as_secs()
    }
    /// From seconds.
    pub fn from_secs(s: i64) -> Dur {
        Dur(SignedDuration::from_secs(s))
    }
}

impl From<Dur> for String {
    fn from(d: Dur) -> String {
        format!("{}s", d.0.as_secs())
    }
}

impl<'de> Deserialize<'de> for Dur {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Dur, D::Error> {
        let s = String::deserialize(d)?;
        let v = parse_go_duration(&s).map_err(serde::de::Error::custom)?;
        if v.is_negative() {
            return Err(serde::de::Error::custom(format!("duration {s:?} is negative")));
        }
        if v.subsec_nanos() != 0 {
            return Err(serde::de::Error::custom(format!(
                "duration {s:?} is not a whole number of seconds (the simulator's resolution)"
            )));
        }
        Ok(Dur(v))
    }
}

/// A cpu amount (`500m`, `2`), in millicores, positive.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
pub struct Cpu(pub i64);

/// A memory amount (`512Mi`, `16Gi`), in bytes, positive.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
pub struct Mem(pub i64);

fn quantity<'de, D: Deserializer<'de>>(d: D, what: &str) -> Result<Quantity, D::Error> {
    #[derive(Deserialize)]
    #[serde(untagged)]
    enum Raw {
        S(String),
        I(i64),
        F(f64),
    }
    let s = match Raw::deserialize(d)? {
        Raw::S(s) => s,
        Raw::I(i) => i.to_string(),
        Raw::F(f) => f.to_string(),
    };
    let q = Quantity::parse(&s)
        .map_err(|e| serde::de::Error::custom(format!("{what} {s:?} is not a quantity: {e}")))?;
    if q.sign() <= 0 {
        return Err(serde::de::Error::custom(format!(
            "{what} {s:?} must be above zero"
        )));
    }
    Ok(q)
}

impl<'de> Deserialize<'de> for Cpu {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Cpu, D::Error> {
        Ok(Cpu(quantity(d, "cpu")?.milli_value()))
    }
}

impl<'de> Deserialize<'de> for Mem {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Mem, D::Error> {
        Ok(Mem(quantity(d, "memory")?.value()))
    }
}

/// A uniform distribution of durations.
#[derive(Clone, Copy, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Delay {
    /// Shortest.
    pub min: Dur,
    /// Longest.
    pub max: Dur,
}

/// A window of virtual time, from the start of the run.
#[derive(Clone, Copy, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Window {
    /// Start (inclusive).
    pub from: Dur,
    /// End (exclusive).
    pub to: Dur,
}

impl Window {
    /// Whether `t` seconds from the start falls in the window.
    pub fn contains(&self, t: i64) -> bool {
        self.from.secs() <= t && t < self.to.secs()
    }
}

/// The autoscalers' settings, keyed by the live controllers' flag names. Every one is optional: the
/// default is the flag's default; the command line overrides the file.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
pub struct Settings {
    /// `--scan-interval` (10s): how often the node autoscaler plans.
    pub scan_interval: Option<Dur>,
    /// `--expander` (least-waste).
    pub expander: Option<String>,
    /// `--scale-down-enabled` (true).
    pub scale_down_enabled: Option<bool>,
    /// `--scale-down-unneeded-time` (10m).
    pub scale_down_unneeded_time: Option<Dur>,
    /// `--scale-down-utilization-threshold` (0.5).
    pub scale_down_utilization_threshold: Option<f64>,
    /// `--scale-down-delay-after-add` (10m).
    pub scale_down_delay_after_add: Option<Dur>,
    /// `--scale-down-delay-after-delete` (0s).
    pub scale_down_delay_after_delete: Option<Dur>,
    /// `--scale-down-delay-after-failure` (3m).
    pub scale_down_delay_after_failure: Option<Dur>,
    /// `--max-scale-down-parallelism` (10).
    pub max_scale_down_parallelism: Option<usize>,
    /// `--max-drain-parallelism` (1).
    pub max_drain_parallelism: Option<usize>,
    /// `--max-nodes-total` (0: no limit).
    pub max_nodes_total: Option<usize>,
    /// `--new-pod-scale-up-delay` (0s).
    pub new_pod_scale_up_delay: Option<Dur>,
    /// `--balance-similar-node-groups` (false).
    pub balance_similar_node_groups: Option<bool>,
    /// `--initial-node-group-backoff-duration` (5m): backoff after a failed scale-up.
    pub initial_node_group_backoff_duration: Option<Dur>,
    /// `--max-node-group-backoff-duration` (30m).
    pub max_node_group_backoff_duration: Option<Dur>,
    /// `--horizontal-pod-autoscaler-sync-period` (15s).
    pub horizontal_pod_autoscaler_sync_period: Option<Dur>,
    /// `--horizontal-pod-autoscaler-tolerance` (0.1).
    pub horizontal_pod_autoscaler_tolerance: Option<f64>,
    /// `--horizontal-pod-autoscaler-downscale-stabilization` (5m).
    pub horizontal_pod_autoscaler_downscale_stabilization: Option<Dur>,
    /// `--horizontal-pod-autoscaler-cpu-initialization-period` (5m).
    pub horizontal_pod_autoscaler_cpu_initialization_period: Option<Dur>,
    /// `--horizontal-pod-autoscaler-initial-readiness-delay` (30s).
    pub horizontal_pod_autoscaler_initial_readiness_delay: Option<Dur>,
}

impl Settings {
    /// These settings with every field `over` sets replaced by its value.
    pub fn overlay(&self, over: &Settings) -> Settings {
        macro_rules! pick {
            ($($f:ident),*) => { Settings { $($f: over.$f.clone().or_else(|| self.$f.clone()),)* } };
        }
        pick!(
            scan_interval,
            expander,
            scale_down_enabled,
            scale_down_unneeded_time,
            scale_down_utilization_threshold,
            scale_down_delay_after_add,
            scale_down_delay_after_delete,
            scale_down_delay_after_failure,
            max_scale_down_parallelism,
            max_drain_parallelism,
            max_nodes_total,
            new_pod_scale_up_delay,
            balance_similar_node_groups,
            initial_node_group_backoff_duration,
            max_node_group_backoff_duration,
            horizontal_pod_autoscaler_sync_period,
            horizontal_pod_autoscaler_tolerance,
            horizontal_pod_autoscaler_downscale_stabilization,
            horizontal_pod_autoscaler_cpu_initialization_period,
            horizontal_pod_autoscaler_initial_readiness_delay
        )
    }
}

/// A node taint on a group's nodes.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TaintSpec {
    /// Key.
    pub key: String,
    /// Value.
    #[serde(default)]
    pub value: String,
    /// `NoSchedule`, `PreferNoSchedule` or `NoExecute`.
    pub effect: String,
}

/// A toleration on a workload's pods.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TolerationSpec {
    /// Key (empty with `Exists`: every taint).
    #[serde(default)]
    pub key: String,
    /// `Equal` (default) or `Exists`.
    #[serde(default)]
    pub operator: Option<String>,
    /// Value for `Equal`.
    #[serde(default)]
    pub value: String,
    /// Effect; absent matches every effect.
    #[serde(default)]
    pub effect: Option<String>,
}

/// A node group of the simulated cloud.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct GroupSpec {
    /// Group id.
    pub name: String,
    /// Minimum size.
    pub min: usize,
    /// Maximum size.
    pub max: usize,
    /// Nodes at the start (default: `min`), Ready from the first second.
    #[serde(default)]
    pub initial: Option<usize>,
    /// Allocatable cpu of a node.
    pub cpu: Cpu,
    /// Allocatable memory of a node.
    pub memory: Mem,
    /// Pod slots of a node (110).
    #[serde(default = "default_pods")]
    pub pods: i64,
    /// Price per node-hour.
    pub price_per_hour: f64,
    /// From the cloud call to the node Ready (30-90s).
    #[serde(default = "default_boot")]
    pub boot_delay: Delay,
    /// Node labels.
    #[serde(default)]
    pub labels: BTreeMap<String, String>,
    /// Node taints.
    #[serde(default)]
    pub taints: Vec<TaintSpec>,
    /// Windows in which the cloud has no capacity for this group: instances fail to launch.
    #[serde(default)]
    pub shortages: Vec<Window>,
    /// Windows in which the cloud's API refuses this group's calls (throttling).
    #[serde(default)]
    pub throttling: Vec<Window>,
}

fn default_pods() -> i64 {
    110
}

fn default_boot() -> Delay {
    Delay {
        min: Dur::from_secs(30),
        max: Dur::from_secs(90),
    }
}

fn default_start() -> Delay {
    Delay {
        min: Dur::from_secs(5),
        max: Dur::from_secs(15),
    }
}

fn default_grace() -> Dur {
    Dur::from_secs(30)
}

fn default_namespace() -> String {
    "default".into()
}

/// A point of a load curve.
#[derive(Clone, Copy, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LoadPoint {
    /// When, from the start.
    pub at: Dur,
    /// Requests per second.
    pub rps: f64,
}

/// A day-shaped load: a cosine between `min` and `max` peaking at `peak`.
#[derive(Clone, Copy, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Diurnal {
    /// Requests per second at the trough.
    pub min: f64,
    /// Requests per second at the peak.
    pub max: f64,
    /// When the peak comes, from the start.
    pub peak: Dur,
    /// The period (24h).
    #[serde(default = "default_day")]
    pub period: Dur,
}

fn default_day() -> Dur {
    Dur::from_secs(86_400)
}

/// How requests per second vary over time.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub enum Load {
    /// The same all along.
    Constant(f64),
    /// Straight lines between points (flat before the first and after the last).
    Steps(Vec<LoadPoint>),
    /// A day.
    Diurnal(Diurnal),
    /// The scenario's trace CSV, by the workload's name.
    Trace,
}

/// A load curve as written: exactly one of the keys (`{constant: 100}`, `{steps: [...]}`,
/// `{diurnal: {...}}`, `{trace: true}`).
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LoadSpec {
    /// Requests per second all along.
    #[serde(default)]
    pub constant: Option<f64>,
    /// Points joined by straight lines.
    #[serde(default)]
    pub steps: Option<Vec<LoadPoint>>,
    /// A day-shaped curve.
    #[serde(default)]
    pub diurnal: Option<Diurnal>,
    /// Replay the scenario's trace CSV.
    #[serde(default)]
    pub trace: bool,
}

impl LoadSpec {
    /// The curve, or `None` unless exactly one key is given.
    pub fn load(&self) -> Option<Load> {
        match (&self.constant, &self.steps, &self.diurnal, self.trace) {
            (Some(c), None, None, false) => Some(Load::Constant(*c)),
            (None, Some(s), None, false) => Some(Load::Steps(s.clone())),
            (None, None, Some(d), false) => Some(Load::Diurnal(*d)),
            (None, None, None, true) => Some(Load::Trace),
            _ => None,
        }
    }
}

/// A workload's HorizontalPodAutoscaler (cpu utilization target).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct HpaSpec {
    /// `spec.minReplicas` (1).
    #[serde(default)]
    pub min_replicas: Option<i32>,
    /// `spec.maxReplicas`.
    pub max_replicas: i32,
    /// The cpu `averageUtilization` target, in percent of the request.
    pub target_cpu_utilization: i32,
    /// `spec.behavior`, as in an autoscaling/v2 manifest.
    #[serde(default)]
    pub behavior: Option<HorizontalPodAutoscalerBehavior>,
}

/// A PodDisruptionBudget over a workload's pods: exactly one of the two.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct PdbSpec {
    /// Pods that must stay available.
    #[serde(default)]
    pub min_available: Option<i32>,
    /// Pods that may be unavailable.
    #[serde(default)]
    pub max_unavailable: Option<i32>,
}

/// A Deployment.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct WorkloadSpec {
    /// Name (also the `app` label of its pods).
    pub name: String,
    /// Namespace.
    #[serde(default = "default_namespace")]
    pub namespace: String,
    /// When it is created, from the start (0).
    #[serde(default)]
    pub at: Option<Dur>,
    /// Replicas at creation.
    pub replicas: i32,
    /// cpu request per pod.
    pub cpu: Cpu,
    /// Memory request per pod.
    pub memory: Mem,
    /// cpu (millicores) one request per second costs, shared by the ready pods.
    #[serde(default)]
    pub cpu_per_rps: f64,
    /// cpu a pod uses with no load.
    #[serde(default)]
    pub base_cpu: Option<Cpu>,
    /// Relative noise on each pod's usage sample (0.05: within ±5%).
    #[serde(default)]
    pub noise: f64,
    /// The load curve (none: no load-driven usage).
    #[serde(default)]
    pub load: Option<LoadSpec>,
    /// From binding to Ready (5-15s).
    #[serde(default = "default_start")]
    pub start_delay: Delay,
    /// `terminationGracePeriodSeconds` (30s).
    #[serde(default = "default_grace")]
    pub termination_grace_period: Dur,
    /// `spec.nodeSelector`.
    #[serde(default)]
    pub node_selector: BTreeMap<String, String>,
    /// Tolerations.
    #[serde(default)]
    pub tolerations: Vec<TolerationSpec>,
    /// `cluster-autoscaler.kubernetes.io/safe-to-evict` on its pods.
    #[serde(default)]
    pub safe_to_evict: Option<bool>,
    /// Its HPA.
    #[serde(default)]
    pub hpa: Option<HpaSpec>,
    /// Its PDB.
    #[serde(default)]
    pub pdb: Option<PdbSpec>,
}

/// A batch Job: `pods` pods created at `at`, each done `runFor` after it is Ready.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct JobSpec {
    /// Name.
    pub name: String,
    /// Namespace.
    #[serde(default = "default_namespace")]
    pub namespace: String,
    /// When it is created.
    pub at: Dur,
    /// Pods (parallelism = completions).
    pub pods: i32,
    /// cpu request per pod.
    pub cpu: Cpu,
    /// Memory request per pod.
    pub memory: Mem,
    /// How long each pod works once Ready (an evicted pod starts over).
    pub run_for: Dur,
    /// From binding to Ready (5-15s).
    #[serde(default = "default_start")]
    pub start_delay: Delay,
    /// `spec.nodeSelector`.
    #[serde(default)]
    pub node_selector: BTreeMap<String, String>,
    /// Tolerations.
    #[serde(default)]
    pub tolerations: Vec<TolerationSpec>,
}

/// A scenario.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct Scenario {
    /// Name.
    pub name: String,
    /// What it shows.
    #[serde(default)]
    pub description: String,
    /// The random seed (boot and start delays, usage noise, the random expander).
    #[serde(default)]
    pub seed: u64,
    /// How long it runs.
    pub duration: Dur,
    /// Autoscaler settings by flag name.
    #[serde(default)]
    pub settings: Settings,
    /// Node groups.
    pub node_groups: Vec<GroupSpec>,
    /// Deployments.
    #[serde(default)]
    pub workloads: Vec<WorkloadSpec>,
    /// Batch jobs.
    #[serde(default)]
    pub jobs: Vec<JobSpec>,
    /// A CSV of per-workload load (`time,workload,rps`), relative to the scenario file; workloads
    /// with `load: trace` replay it.
    #[serde(default)]
    pub trace: Option<String>,
}

/// A field path for messages and [`locate`].
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Seg {
    /// A mapping key.
    Key(&'static str),
    /// A sequence index.
    Index(usize),
}

struct FieldPath(Vec<Seg>);

impl fmt::Display for FieldPath {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (i, s) in self.0.iter().enumerate() {
            match s {
                Seg::Key(k) if i == 0 => write!(f, "{k}")?,
                Seg::Key(k) => write!(f, ".{k}")?,
                Seg::Index(n) => write!(f, "[{n}]")?,
            }
        }
        Ok(())
    }
}

/// The 1-based line of a field in block-style YAML (`a: / - b: / c: ...`), or of its nearest
/// ancestor found. A flow-style value on one line (`{min: 1, max: 2}`) resolves to that line.
pub fn locate(text: &str, path: &[Seg]) -> Option<usize> {
    let lines: Vec<&str> = text.lines().collect();
    let indent = |l: &str| l.len() - l.trim_start().len();
    let blank = |l: &str| {
        let t = l.trim_start();
        t.is_empty() || t.starts_with('#')
    };
    // The block being searched: lines [from, to), whose keys sit at column `col` (for a sequence
    // item, the column after its "- ").
    let (mut from, mut to) = (0usize, lines.len());
    let mut found = None;
    for seg in path {
        let Some(first) = (from..to).find(|&i| !blank(lines[i])) else {
            break;
        };
        let hit = match seg {
            Seg::Key(k) => {
                let col = key_column(lines[first]);
                let needle = format!("{k}:");
                (from..to).find(|&i| {
                    !blank(lines[i]) && key_column(lines[i]) == col && lines[i][col..].starts_with(&needle)
                })
            }
            Seg::Index(n) => {
                let col = indent(lines[first]);
                (from..to)
                    .filter(|&i| indent(lines[i]) == col && lines[i].trim_start().starts_with('-'))
                    .nth(*n)
            }
        };
        let Some(j) = hit else { break };
        found = Some(j + 1);
        let own = indent(lines[j]);
        match seg {
            Seg::Index(_) => {
                // The item: its first line (after "- ") and the lines until the next item.
                let end = (j + 1..to)
                    .find(|&i| !blank(lines[i]) && indent(lines[i]) <= own)
                    .unwrap_or(to);
                (from, to) = (j, end);
            }
            Seg::Key(_) => {
                let col = key_column(lines[j]);
                let rest = lines[j][col..].split_once(':').map_or("", |(_, v)| v.trim());
                if !rest.is_empty() && !rest.starts_with('#') {
                    // An inline value: whatever is below lives on this line.
                    return found;
                }
                let end = (j + 1..to)
                    .find(|&i| {
                        !blank(lines[i])
                            && (indent(lines[i]) < col
                                || (indent(lines[i]) == col && !lines[i].trim_start().starts_with('-')))
                    })
                    .unwrap_or(to);
                (from, to) = (j + 1, end);
            }
        }
    }
    found
}

/// The column where a line's key starts (after the indentation and any "- ").
fn key_column(line: &str) -> usize {
    let mut col = line.len() - line.trim_start().len();
    while line[col..].starts_with('-') && line[col + 1..].starts_with(' ') {
        col += 1;
        col += line[col..].len() - line[col..].trim_start().len();
    }
    col
}

/// For a parse error whose message quotes the refused value (`cpu "500x" is not a quantity`),
/// the first line at or after the reported one holding that value, and its key.
fn refine(text: &str, message: &str) -> Option<(usize, String)> {
    let reported: usize = match message.rsplit_once(" at line ") {
        Some((_, at)) => at.split(' ').next()?.parse().ok()?,
        None => 1,
    };
    let value = message.split('"').nth(1)?;
    let (i, line) = text
        .lines()
        .enumerate()
        .skip(reported.saturating_sub(1))
        .find(|(_, l)| l.contains(value))?;
    let col = key_column(line);
    let key = line[col..].split_once(':')?.0.trim().to_string();
    Some((i + 1, key))
}

impl Scenario {
    /// Parses and validates a scenario. `file` names it in messages.
    pub fn parse(text: &str, file: &str) -> Result<Scenario, Error> {
        let s: Scenario = serde_yaml_ng::from_str(text).map_err(|e| {
            let mut message = e.to_string();
            // serde_yaml_ng places a refused leaf value at its mapping's first line and names the
            // mapping; name the field and its own line instead.
            if let Some((line, key)) = refine(text, &message) {
                let what = message
                    .rsplit_once(" at line ")
                    .map_or(message.as_str(), |(w, _)| w);
                message = match what.split_once(": ") {
                    Some((path, what)) if !path.contains(' ') => {
                        format!("{path}.{key}: {what} at line {line}")
                    }
                    _ => format!("{key}: {what} at line {line}"),
                };
            }
            Error::Parse {
                file: file.to_string(),
                message,
            }
        })?;
        s.validate().map_err(|(path, message)| Error::Invalid {
            file: file.to_string(),
            line: locate(text, &path),
            field: FieldPath(path).to_string(),
            message,
        })?;
        Ok(s)
    }

    /// Checks what no single field can check alone. Returns the field's path and the message.
    pub fn validate(&self) -> Result<(), (Vec<Seg>, String)> {
        use Seg::{Index, Key};
        let err = |path: Vec<Seg>, m: String| Err((path, m));
        if self.duration.secs() == 0 {
            return err(vec![Key("duration")], "must be above zero".into());
        }
        if self.duration.secs() > 31 * 86_400 {
            return err(vec![Key("duration")], "must be at most 31 days".into());
        }
        if self.node_groups.is_empty() {
            return err(
                vec![Key("nodeGroups")],
                "at least one node group is needed".into(),
            );
        }
        let mut names = std::collections::BTreeSet::new();
        for (i, g) in self.node_groups.iter().enumerate() {
            let at = |k| vec![Key("nodeGroups"), Index(i), Key(k)];
            if !valid_name(&g.name) {
                return err(at("name"), format!("{:?} is not a lowercase DNS label", g.name));
            }
            if !names.insert(g.name.clone()) {
                return err(at("name"), format!("node group {:?} is defined twice", g.name));
            }
            if g.min > g.max {
                return err(at("max"), format!("max ({}) is below min ({})", g.max, g.min));
            }
            if g.max > 100_000 {
                return err(at("max"), format!("max ({}) is above 100000", g.max));
            }
            if let Some(n) = g.initial
                && !(g.min..=g.max).contains(&n)
            {
                return err(
                    at("initial"),
                    format!("{n} is outside min..max ({}..{})", g.min, g.max),
                );
            }
            if g.pods <= 0 {
                return err(at("pods"), "must be above zero".into());
            }
            if !(g.price_per_hour.is_finite() && g.price_per_hour >= 0.0) {
                return err(at("pricePerHour"), "must be a number >= 0".into());
            }
            if g.boot_delay.min > g.boot_delay.max {
                return err(at("bootDelay"), "min is above max".into());
            }
            for (j, t) in g.taints.iter().enumerate() {
                if swell_node_autoscaler::model::TaintEffect::parse(&t.effect).is_none() {
                    return err(
                        vec![
                            Key("nodeGroups"),
                            Index(i),
                            Key("taints"),
                            Index(j),
                            Key("effect"),
                        ],
                        format!("{:?} is not NoSchedule, PreferNoSchedule or NoExecute", t.effect),
                    );
                }
            }
            for (k, list) in [("shortages", &g.shortages), ("throttling", &g.throttling)] {
                for (j, w) in list.iter().enumerate() {
                    if w.from >= w.to {
                        return err(
                            vec![Key("nodeGroups"), Index(i), Key(k), Index(j), Key("to")],
                            "must be after from".into(),
                        );
                    }
                }
            }
        }
        let mut names = std::collections::BTreeSet::new();
        for (i, w) in self.workloads.iter().enumerate() {
            let at = |k| vec![Key("workloads"), Index(i), Key(k)];
            if !valid_name(&w.name) {
                return err(at("name"), format!("{:?} is not a lowercase DNS label", w.name));
            }
            if !names.insert((w.namespace.clone(), w.name.clone())) {
                return err(at("name"), format!("workload {:?} is defined twice", w.name));
            }
            if w.replicas < 0 {
                return err(at("replicas"), "must be >= 0".into());
            }
            if !(w.cpu_per_rps.is_finite() && w.cpu_per_rps >= 0.0) {
                return err(at("cpuPerRps"), "must be a number >= 0".into());
            }
            if !(w.noise.is_finite() && (0.0..1.0).contains(&w.noise)) {
                return err(at("noise"), "must be in [0, 1)".into());
            }
            if w.start_delay.min > w.start_delay.max {
                return err(at("startDelay"), "min is above max".into());
            }
            check_tolerations(&w.tolerations, &|j, k| {
                vec![Key("workloads"), Index(i), Key("tolerations"), Index(j), Key(k)]
            })?;
            let load = match &w.load {
                None => None,
                Some(l) => match l.load() {
                    Some(load) => Some(load),
                    None => {
                        return err(
                            at("load"),
                            "give exactly one of constant, steps, diurnal and trace".into(),
                        );
                    }
                },
            };
            match &load {
                Some(Load::Constant(r)) if !(r.is_finite() && *r >= 0.0) => {
                    return err(at("load"), "rps must be a number >= 0".into());
                }
                Some(Load::Steps(points)) => {
                    if points.is_empty() {
                        return err(at("load"), "steps needs at least one point".into());
                    }
                    for (j, p) in points.iter().enumerate() {
                        if !(p.rps.is_finite() && p.rps >= 0.0) {
                            return err(
                                vec![Key("workloads"), Index(i), Key("load"), Key("steps"), Index(j)],
                                "rps must be a number >= 0".into(),
                            );
                        }
                        if j > 0 && p.at <= points[j - 1].at {
                            return err(
                                vec![Key("workloads"), Index(i), Key("load"), Key("steps"), Index(j)],
                                "points must be in increasing time order".into(),
                            );
                        }
                    }
                }
                Some(Load::Diurnal(d)) => {
                    if !(d.min.is_finite() && d.max.is_finite() && 0.0 <= d.min && d.min <= d.max) {
                        return err(at("load"), "diurnal needs 0 <= min <= max".into());
                    }
                    if d.period.secs() == 0 {
                        return err(at("load"), "diurnal period must be above zero".into());
                    }
                }
                Some(Load::Trace) if self.trace.is_none() => {
                    return err(at("load"), "load: trace needs the scenario's `trace` CSV".into());
                }
                _ => {}
            }
            if let Some(h) = &w.hpa {
                let min = h.min_replicas.unwrap_or(1);
                if h.max_replicas < min.max(1) {
                    return err(
                        vec![Key("workloads"), Index(i), Key("hpa"), Key("maxReplicas")],
                        format!("{} is below minReplicas ({min}) or 1", h.max_replicas),
                    );
                }
                if min < 1 {
                    return err(
                        vec![Key("workloads"), Index(i), Key("hpa"), Key("minReplicas")],
                        "must be >= 1 (a cpu HPA cannot scale from zero)".into(),
                    );
                }
                if h.target_cpu_utilization <= 0 {
                    return err(
                        vec![
                            Key("workloads"),
                            Index(i),
                            Key("hpa"),
                            Key("targetCpuUtilization"),
                        ],
                        "must be above zero".into(),
                    );
                }
                if !(min..=h.max_replicas).contains(&w.replicas) {
                    return err(
                        at("replicas"),
                        format!("{} is outside the HPA's {min}..{}", w.replicas, h.max_replicas),
                    );
                }
            }
            if let Some(p) = &w.pdb {
                match (p.min_available, p.max_unavailable) {
                    (Some(v), None) | (None, Some(v)) if v >= 0 => {}
                    _ => {
                        return err(
                            at("pdb"),
                            "give exactly one of minAvailable and maxUnavailable, >= 0".into(),
                        );
                    }
                }
            }
        }
        for (i, j) in self.jobs.iter().enumerate() {
            let at = |k| vec![Key("jobs"), Index(i), Key(k)];
            if !valid_name(&j.name) {
                return err(at("name"), format!("{:?} is not a lowercase DNS label", j.name));
            }
            if !names.insert((j.namespace.clone(), j.name.clone())) {
                return err(at("name"), format!("{:?} is defined twice", j.name));
            }
            if j.pods <= 0 {
                return err(at("pods"), "must be above zero".into());
            }
            if j.run_for.secs() == 0 {
                return err(at("runFor"), "must be above zero".into());
            }
            if j.start_delay.min > j.start_delay.max {
                return err(at("startDelay"), "min is above max".into());
            }
            check_tolerations(&j.tolerations, &|n, k| {
                vec![Key("jobs"), Index(i), Key("tolerations"), Index(n), Key(k)]
            })?;
        }
        if let Err(m) = crate::settings::Resolved::new(&self.settings) {
            return err(vec![Key("settings"), Key(m.0)], m.1);
        }
        Ok(())
    }
}

fn check_tolerations(
    list: &[TolerationSpec],
    at: &dyn Fn(usize, &'static str) -> Vec<Seg>,
) -> Result<(), (Vec<Seg>, String)> {
    for (j, t) in list.iter().enumerate() {
        if let Some(op) = &t.operator
            && op != "Equal"
            && op != "Exists"
        {
            return Err((at(j, "operator"), format!("{op:?} is not Equal or Exists")));
        }
        if let Some(e) = &t.effect
            && swell_node_autoscaler::model::TaintEffect::parse(e).is_none()
        {
            return Err((at(j, "effect"), format!("{e:?} is not a taint effect")));
        }
    }
    Ok(())
}

fn valid_name(s: &str) -> bool {
    !s.is_empty()
        && s.len() <= 63
        && s.bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-')
        && !s.starts_with('-')
        && !s.ends_with('-')
}
