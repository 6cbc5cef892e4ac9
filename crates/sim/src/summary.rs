//! The run's figures: collected as the clock advances, summed up at the end, printed as a table
//! (`render`), as JSON (serde), or side by side for two runs (`compare`).

use std::collections::BTreeMap;
use std::fmt::Write;

use serde::{Deserialize, Serialize};

use crate::check::Checker;
use crate::engine::{App, AppKind, Group, SimNode, SimPod};

/// What the run cost and how well it served.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Summary {
    /// The scenario's name.
    pub scenario: String,
    /// The seed.
    pub seed: u64,
    /// Virtual seconds simulated.
    pub duration_s: i64,
    /// Instance-hours billed (from launch to deletion, booting included).
    pub node_hours: f64,
    /// Their cost.
    pub cost: f64,
    /// Per node group.
    pub groups: BTreeMap<String, GroupSummary>,
    /// Pod pending times.
    pub pending: PendingSummary,
    /// Per workload (Deployments and Jobs).
    pub workloads: BTreeMap<String, WorkloadSummary>,
    /// Pods evicted by scale-down drains.
    pub evictions: u64,
    /// Evictions a PDB did not allow (must be 0).
    pub pdb_violations: u64,
    /// Nodes a scale-up added that no pod used before they were removed.
    pub overshoot_nodes: u64,
    /// Direction changes within 10 minutes (an HPA's replicas, a group's size).
    pub flaps: u64,
    /// Calls to the cloud API (set target size, delete instances).
    pub cloud_calls: u64,
    /// Of which failed (throttled).
    pub cloud_call_failures: u64,
    /// Decisions made.
    pub decisions: DecisionCounts,
    /// Invariant violations (empty when all held).
    pub invariant_violations: Vec<String>,
}

/// One node group's figures.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct GroupSummary {
    /// Instance-hours.
    pub node_hours: f64,
    /// Cost.
    pub cost: f64,
    /// Most instances at once.
    pub peak_nodes: usize,
    /// Instances at the end.
    pub final_nodes: usize,
}

/// How long pods waited for a node.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct PendingSummary {
    /// Pods created during the run (the starting cluster's are not counted).
    pub pods: u64,
    /// Median wait from creation to binding, seconds.
    pub p50_s: i64,
    /// 95th percentile.
    pub p95_s: i64,
    /// Longest.
    pub max_s: i64,
    /// Pending pods integrated over time.
    pub pod_seconds: i64,
    /// Pods still pending at the end (their wait so far is counted).
    pub still_pending: u64,
}

/// One workload's figures.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct WorkloadSummary {
    /// Most desired replicas.
    pub peak_replicas: i32,
    /// Time-weighted mean of the desired replicas while it existed.
    pub mean_replicas: f64,
    /// Desired replicas at the end.
    pub final_replicas: i32,
    /// HPA rescales.
    pub rescales: u64,
}

/// How many decisions of each kind.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct DecisionCounts {
    /// HPA evaluations (`decide` calls).
    pub hpa_evaluations: u64,
    /// HPA rescales.
    pub hpa_rescales: u64,
    /// Node-autoscaler loops (`plan` calls).
    pub plans: u64,
    /// Scale-ups carried out.
    pub scale_ups: u64,
    /// Nodes removed by scale-down.
    pub scale_downs: u64,
}

/// Running totals.
#[derive(Debug, Default)]
pub(crate) struct Collector {
    pub(crate) pending_now: u64,
    pending_seconds: i64,
    waits: Vec<i64>,
    pub(crate) hpa_evaluations: u64,
    rescales: Vec<u64>,
    pub(crate) scale_ups: u64,
    pub(crate) scale_downs: u64,
    pub(crate) evictions: u64,
    pub(crate) overshoot: u64,
    pub(crate) flaps: u64,
    calls: u64,
    failed_calls: u64,
    group_seconds: Vec<i64>,
    group_live: Vec<usize>,
    group_peak: Vec<usize>,
    price: Vec<f64>,
    replica_seconds: Vec<f64>,
    active_seconds: Vec<i64>,
    peak: Vec<i32>,
}

fn round(x: f64, digits: i32) -> f64 {
    let f = 10f64.powi(digits);
    (x * f).round() / f
}

impl Collector {
    pub(crate) fn init(&mut self, apps: &[App], groups: &[Group]) {
        self.rescales = vec![0; apps.len()];
        self.replica_seconds = vec![0.0; apps.len()];
        self.active_seconds = vec![0; apps.len()];
        self.peak = vec![0; apps.len()];
        self.group_seconds = vec![0; groups.len()];
        self.group_live = vec![0; groups.len()];
        self.group_peak = vec![0; groups.len()];
        self.price = groups.iter().map(|g| g.spec.price_per_hour).collect();
    }

    pub(crate) fn instance_up(&mut self, i: usize) {
        self.group_live[i] += 1;
        self.group_peak[i] = self.group_peak[i].max(self.group_live[i]);
    }

    pub(crate) fn instance_down(&mut self, i: usize) {
        self.group_live[i] -= 1;
    }

    pub(crate) fn cloud_call(&mut self, failed: bool) {
        self.calls += 1;
        if failed {
            self.failed_calls += 1;
        }
    }

    pub(crate) fn bound(&mut self, wait: i64, created: i64) {
        if created >= 0 {
            self.waits.push(wait);
        }
    }

    pub(crate) fn reset_pending_times(&mut self) {
        self.waits.clear();
    }

    pub(crate) fn rescaled(&mut self, app: usize) {
        self.rescales[app] += 1;
    }

    pub(crate) fn integrate(&mut self, dt: i64, apps: &[App], _groups: &[Group]) {
        self.pending_seconds += self.pending_now as i64 * dt;
        for (i, live) in self.group_live.iter().enumerate() {
            self.group_seconds[i] += *live as i64 * dt;
        }
        for (i, a) in apps.iter().enumerate() {
            if a.active {
                self.replica_seconds[i] += f64::from(a.desired) * dt as f64;
                self.active_seconds[i] += dt;
                self.peak[i] = self.peak[i].max(a.desired);
            }
        }
    }

    pub(crate) fn cost_so_far(&self) -> f64 {
        self.group_seconds
            .iter()
            .zip(&self.price)
            .map(|(s, p)| *s as f64 / 3600.0 * p)
            .sum()
    }

    #[allow(clippy::too_many_arguments)]
    pub(crate) fn summary(
        &self,
        name: &str,
        seed: u64,
        end: i64,
        apps: &[App],
        groups: &[Group],
        _nodes: &[SimNode],
        pods: &[SimPod],
        plans: u64,
        checker: &Checker,
    ) -> Summary {
        let mut waits = self.waits.clone();
        let mut still = 0;
        for p in pods {
            if !p.gone && p.node.is_none() && p.created >= 0 {
                waits.push(end - p.created);
                still += 1;
            }
        }
        waits.sort_unstable();
        let pct = |q: f64| -> i64 {
            if waits.is_empty() {
                return 0;
            }
            let rank = ((q * waits.len() as f64).ceil() as usize).clamp(1, waits.len());
            waits[rank - 1]
        };
        let mut gs = BTreeMap::new();
        for (i, g) in groups.iter().enumerate() {
            let hours = self.group_seconds[i] as f64 / 3600.0;
            gs.insert(
                g.spec.name.clone(),
                GroupSummary {
                    node_hours: round(hours, 3),
                    cost: round(hours * self.price[i], 4),
                    peak_nodes: self.group_peak[i],
                    final_nodes: self.group_live[i],
                },
            );
        }
        let mut ws = BTreeMap::new();
        for (i, a) in apps.iter().enumerate() {
            let final_replicas = match a.kind {
                AppKind::Job { .. } => a.desired.max(0),
                AppKind::Deployment { .. } => a.desired,
            };
            ws.insert(
                a.name.clone(),
                WorkloadSummary {
                    peak_replicas: self.peak[i],
                    mean_replicas: if self.active_seconds[i] > 0 {
                        round(self.replica_seconds[i] / self.active_seconds[i] as f64, 2)
                    } else {
                        0.0
                    },
                    final_replicas,
                    rescales: self.rescales[i],
                },
            );
        }
        let node_hours: f64 = self.group_seconds.iter().map(|s| *s as f64 / 3600.0).sum();
        Summary {
            scenario: name.to_string(),
            seed,
            duration_s: end,
            node_hours: round(node_hours, 3),
            cost: round(self.cost_so_far(), 4),
            groups: gs,
            pending: PendingSummary {
                pods: waits.len() as u64,
                p50_s: pct(0.5),
                p95_s: pct(0.95),
                max_s: waits.last().copied().unwrap_or(0),
                pod_seconds: self.pending_seconds,
                still_pending: still,
            },
            workloads: ws,
            evictions: self.evictions,
            pdb_violations: checker.pdb_violations,
            overshoot_nodes: self.overshoot,
            flaps: self.flaps,
            cloud_calls: self.calls,
            cloud_call_failures: self.failed_calls,
            decisions: DecisionCounts {
                hpa_evaluations: self.hpa_evaluations,
                hpa_rescales: self.rescales.iter().sum(),
                plans,
                scale_ups: self.scale_ups,
                scale_downs: self.scale_downs,
            },
            invariant_violations: checker.violations.clone(),
        }
    }
}

/// Seconds as `1h02m03s`.
pub fn hms(s: i64) -> String {
    let (h, m, sec) = (s / 3600, s % 3600 / 60, s % 60);
    if h > 0 {
        format!("{h}h{m:02}m{sec:02}s")
    } else if m > 0 {
        format!("{m}m{sec:02}s")
    } else {
        format!("{sec}s")
    }
}

fn rows(s: &Summary) -> Vec<(String, String)> {
    let mut r = vec![
        ("scenario".into(), format!("{} (seed {})", s.scenario, s.seed)),
        ("simulated".into(), hms(s.duration_s)),
        ("node-hours".into(), format!("{:.2}", s.node_hours)),
        ("cost".into(), format!("${:.2}", s.cost)),
    ];
    for (name, g) in &s.groups {
        r.push((
            format!("  group {name}"),
            format!(
                "{:.2} node-h, ${:.2}, peak {} nodes, {} at the end",
                g.node_hours, g.cost, g.peak_nodes, g.final_nodes
            ),
        ));
    }
    r.push((
        "pending time".into(),
        format!(
            "p50 {}  p95 {}  max {}  ({} pods)",
            hms(s.pending.p50_s),
            hms(s.pending.p95_s),
            hms(s.pending.max_s),
            s.pending.pods
        ),
    ));
    r.push((
        "pending pod-seconds".into(),
        format!(
            "{} ({} still pending)",
            s.pending.pod_seconds, s.pending.still_pending
        ),
    ));
    for (name, w) in &s.workloads {
        r.push((
            format!("  replicas {name}"),
            format!(
                "peak {}, mean {:.1}, final {}, {} rescale(s)",
                w.peak_replicas, w.mean_replicas, w.final_replicas, w.rescales
            ),
        ));
    }
    r.push(("evictions".into(), s.evictions.to_string()));
    r.push(("PDB violations".into(), s.pdb_violations.to_string()));
    r.push((
        "scale-up overshoot".into(),
        format!("{} node(s) removed unused", s.overshoot_nodes),
    ));
    r.push(("flaps".into(), s.flaps.to_string()));
    r.push((
        "cloud calls".into(),
        format!("{} ({} failed)", s.cloud_calls, s.cloud_call_failures),
    ));
    let d = &s.decisions;
    r.push((
        "decisions".into(),
        format!(
            "{} HPA rescales of {} evaluations; {} scale-ups, {} node removals in {} plans",
            d.hpa_rescales, d.hpa_evaluations, d.scale_ups, d.scale_downs, d.plans
        ),
    ));
    r.push((
        "invariants".into(),
        if s.invariant_violations.is_empty() {
            "all held".into()
        } else {
            format!("{} VIOLATED", s.invariant_violations.len())
        },
    ));
    r
}

/// The summary as a two-column table for a terminal.
pub fn render(s: &Summary) -> String {
    let rows = rows(s);
    let w = rows.iter().map(|(k, _)| k.len()).max().unwrap_or(0);
    let mut out = String::new();
    for (k, v) in rows {
        let _ = writeln!(out, "{k:<w$}  {v}");
    }
    for v in &s.invariant_violations {
        let _ = writeln!(out, "  violation: {v}");
    }
    out
}

/// Two runs side by side: every row of the table, with the second run's value where it differs.
pub fn compare(a: &Summary, b: &Summary, a_name: &str, b_name: &str) -> String {
    let (ra, rb) = (rows(a), rows(b));
    let mut keys: Vec<String> = ra.iter().map(|(k, _)| k.clone()).collect();
    for (k, _) in &rb {
        if !keys.contains(k) {
            keys.push(k.clone());
        }
    }
    let get = |r: &[(String, String)], k: &str| {
        r.iter()
            .find(|(x, _)| x == k)
            .map_or_else(|| "-".to_string(), |(_, v)| v.clone())
    };
    let w = keys.iter().map(String::len).max().unwrap_or(0);
    let va: Vec<String> = keys.iter().map(|k| get(&ra, k)).collect();
    let wa = va.iter().map(String::len).max().unwrap_or(0).max(a_name.len());
    let mut out = String::new();
    let _ = writeln!(out, "{:<w$}  {a_name:<wa$}  {b_name}", "");
    for (k, x) in keys.iter().zip(va) {
        let y = get(&rb, k);
        let mark = if x == y { " " } else { "*" };
        let _ = writeln!(out, "{k:<w$}  {x:<wa$} {mark}{y}");
    }
    out
}
