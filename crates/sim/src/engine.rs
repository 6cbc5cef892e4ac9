//! The simulated cluster and cloud, and the loop that drives the two real decision cores.
//!
//! ```text
//! virtual clock: a queue of timed events (pod Ready, pod gone, node booted, launch failed, job done,
//!                workload created) and three periodic loops
//!   every --horizontal-pod-autoscaler-sync-period: per HPA, pods + 15 s usage windows -> HpaInput
//!       -> swell_pod_autoscaler::decide -> replicas written, Decision::complete
//!   ReplicaSet/Job controllers: create or delete pods to match the desired count
//!   scheduler: binds pending pods with swell_node_autoscaler::predicates (first fit, oldest node
//!       first); pods that fit nowhere are marked Unschedulable
//!   every --scan-interval: Snapshot::new(cluster) -> swell_node_autoscaler::plan -> cloud calls
//!       (set target size, delete nodes), drains through the eviction check (PDBs)
//! ```
//!
//! Everything random comes from one [`Rng`] seeded by the scenario; nothing reads the wall clock.
//! Invariants are checked as the run goes (see [`crate::check`]).

use std::cmp::Reverse;
use std::collections::{BTreeMap, BinaryHeap, HashMap};
use std::sync::Arc;

use jiff::{SignedDuration, Timestamp};
use k8s_openapi::api::autoscaling::v2 as api;
use swell_core::conditions::Condition;
use swell_core::pod::{ConditionStatus, PodPhase, ReadyCondition};
use swell_core::selector::Selector;
use swell_node_autoscaler::model::{
    self, LABEL_HOSTNAME, Node, NodeGroup, Owner, Pdb, Pod, SafeToEvict, SchedulingSpec, TAINT_TO_BE_DELETED,
    Taint, TaintEffect, Toleration, TolerationOperator,
};
use swell_node_autoscaler::resources::Resources;
use swell_node_autoscaler::sim::Sim;
use swell_node_autoscaler::{ClusterInput, Memory, Plan, Snapshot, predicates};
use swell_pod_autoscaler::{
    History, HpaInput, HpaKey, HpaPolicy, MetricInput, PodInfo, PodSample, PodSamples, ScaleTarget,
};

use crate::check::Checker;
use crate::report::{DecisionKind, DecisionRecord, Series};
use crate::rng::Rng;
use crate::scenario::{Delay, Load, LoadPoint, PdbSpec, Scenario, TolerationSpec};
use crate::settings::Resolved;
use crate::summary::{Collector, Summary};

/// The instant virtual time 0 stands for.
pub fn epoch() -> Timestamp {
    Timestamp::from_second(1_767_225_600).unwrap_or(Timestamp::UNIX_EPOCH) // 2026-01-01T00:00:00Z
}

/// Virtual seconds to an instant.
pub fn ts(t: i64) -> Timestamp {
    epoch() + SignedDuration::from_secs(t)
}

/// What the run records besides the summary.
#[derive(Clone, Copy, Debug)]
pub struct Options {
    /// Check the invariants at every step (costs a pass over the cluster per step).
    pub check_invariants: bool,
    /// Keep each scale decision's explanation text (for the HTML report).
    pub record_explanations: bool,
    /// Seconds between chart samples (0: about 720 samples over the run).
    pub sample_every: i64,
}

impl Default for Options {
    fn default() -> Options {
        Options {
            check_invariants: true,
            record_explanations: true,
            sample_every: 0,
        }
    }
}

/// Everything a run produces.
#[derive(Debug)]
pub struct Outcome {
    /// The figures.
    pub summary: Summary,
    /// The charts' data.
    pub series: Series,
    /// Every scale decision, in order.
    pub decisions: Vec<DecisionRecord>,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
enum Ev {
    AppCreated(usize),
    NodeBooted(usize),
    LaunchFailed(usize),
    PodReady(usize),
    JobPodDone(usize),
    PodGone(usize),
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum NodeState {
    Booting,
    Ready,
    Gone,
}

#[derive(Debug)]
pub(crate) struct SimNode {
    pub(crate) model: Node,
    pub(crate) group: usize,
    pub(crate) state: NodeState,
    pub(crate) draining: bool,
    pub(crate) ready_at: i64,
    pub(crate) pods: Vec<usize>,
    pub(crate) ever_used: bool,
}

#[derive(Debug)]
pub(crate) struct SimPod {
    pub(crate) name: String,
    pub(crate) app: usize,
    pub(crate) node: Option<usize>,
    pub(crate) created: i64,
    pub(crate) bound_at: Option<i64>,
    pub(crate) ready_at: Option<i64>,
    pub(crate) terminating: bool,
    /// When the termination started (the pod's deletionTimestamp).
    pub(crate) terminating_at: i64,
    pub(crate) gone: bool,
    pub(crate) unschedulable: bool,
}

impl SimPod {
    pub(crate) fn is_ready(&self, now: i64) -> bool {
        !self.terminating && !self.gone && self.ready_at.is_some_and(|r| r <= now)
    }
}

#[derive(Debug)]
struct HpaState {
    policy: HpaPolicy,
    history: History,
    conditions: Vec<Condition>,
    previous_desired: i32,
    last_scale_time: Option<Timestamp>,
    last_rescale: Option<(i64, i32)>,
}

#[derive(Debug)]
pub(crate) enum AppKind {
    Deployment {
        load: Vec<LoadPoint>,
        diurnal: Option<crate::scenario::Diurnal>,
        cpu_per_rps: f64,
        base_cpu: i64,
        noise: f64,
    },
    Job {
        run_for: i64,
        completed: i32,
    },
}

#[derive(Debug)]
pub(crate) struct App {
    pub(crate) name: String,
    pub(crate) namespace: String,
    pub(crate) kind: AppKind,
    pub(crate) active: bool,
    pub(crate) desired: i32,
    pub(crate) live: Vec<usize>,
    pub(crate) template: Pod,
    pub(crate) cpu: i64,
    pub(crate) start: Delay,
    pub(crate) grace: i64,
    pub(crate) pdb: Option<PdbSpec>,
    pub(crate) hpa_bounds: Option<(i32, i32)>,
    pub(crate) safe_to_evict: Option<bool>,
    hpa: Option<HpaState>,
    created_at: i64,
    /// `app=<name>`: the selector of its PDB and its scale subresource, parsed once.
    selector: String,
    pdb_selector: Selector,
}

#[derive(Debug)]
pub(crate) struct Group {
    pub(crate) spec: crate::scenario::GroupSpec,
    pub(crate) template: Node,
    pub(crate) target: usize,
    pub(crate) instances: usize,
    backoff_until: Option<i64>,
    backoff_level: u32,
    last_failure: Option<i64>,
    last_change: Option<(i64, i8)>,
}

/// The simulation's state.
#[derive(Debug)]
pub struct Engine {
    pub(crate) now: i64,
    end: i64,
    cfg: Resolved,
    opts: Options,
    rng: Rng,
    seed: u64,
    events: BinaryHeap<Reverse<(i64, u64, Ev)>>,
    seq: u64,
    pub(crate) nodes: Vec<SimNode>,
    node_by_name: HashMap<String, usize>,
    pub(crate) pods: Vec<SimPod>,
    pub(crate) apps: Vec<App>,
    pub(crate) groups: Vec<Group>,
    memory: Memory,
    sched_dirty: bool,
    sched_cursor: Vec<usize>,
    /// The node autoscaler's and the scheduler's last snapshots' pods with their sim ids
    /// (ascending), updated in place for the next ones: most pods stay from one snapshot to the next,
    /// so most are neither moved nor built (building 20,000 pods from their templates every scan
    /// interval was most of a day's run).
    na_pods: (Vec<usize>, Vec<Pod>),
    sched_pods: (Vec<usize>, Vec<Pod>),
    pub(crate) stats: Collector,
    pub(crate) checker: Checker,
    series: Series,
    decisions: Vec<DecisionRecord>,
    plans: u64,
    name: String,
}

fn ready_condition(pod: &SimPod, now: i64) -> ReadyCondition {
    let ready = pod.is_ready(now);
    ReadyCondition {
        status: if ready {
            ConditionStatus::True
        } else {
            ConditionStatus::False
        },
        last_transition_time: Some(ts(if ready {
            pod.ready_at.unwrap_or(pod.created)
        } else {
            pod.bound_at.unwrap_or(pod.created)
        })),
    }
}

fn tolerations(list: &[TolerationSpec]) -> Vec<Toleration> {
    list.iter()
        .map(|t| Toleration {
            key: t.key.clone(),
            operator: if t.operator.as_deref() == Some("Exists") {
                TolerationOperator::Exists
            } else {
                TolerationOperator::Equal
            },
            value: t.value.clone(),
            effect: t.effect.as_deref().and_then(TaintEffect::parse),
        })
        .collect()
}

fn rps_at(points: &[LoadPoint], diurnal: Option<&crate::scenario::Diurnal>, t: i64) -> f64 {
    if let Some(d) = diurnal {
        let phase = (t - d.peak.secs()) as f64 / d.period.secs() as f64 * std::f64::consts::TAU;
        return d.min + (d.max - d.min) * (1.0 + phase.cos()) / 2.0;
    }
    match points.iter().position(|p| p.at.secs() > t) {
        None => points.last().map_or(0.0, |p| p.rps),
        Some(0) => points[0].rps,
        Some(i) => {
            let (a, b) = (&points[i - 1], &points[i]);
            let f = (t - a.at.secs()) as f64 / (b.at.secs() - a.at.secs()) as f64;
            a.rps + (b.rps - a.rps) * f
        }
    }
}

impl Engine {
    /// Builds the cluster at time 0: the groups' initial nodes (Ready), the workloads present from
    /// the start with their pods bound and Ready (a running cluster), and the timers.
    pub fn new(
        scenario: &Scenario,
        cfg: Resolved,
        opts: Options,
        trace: Option<&BTreeMap<String, Vec<LoadPoint>>>,
    ) -> Result<Engine, String> {
        let end = scenario.duration.secs();
        let sample_every = if opts.sample_every > 0 {
            opts.sample_every
        } else {
            (end / 720).max(5)
        };
        let mut e = Engine {
            now: 0,
            end,
            cfg,
            opts,
            rng: Rng::new(scenario.seed),
            seed: scenario.seed,
            events: BinaryHeap::new(),
            seq: 0,
            nodes: Vec::new(),
            node_by_name: HashMap::new(),
            pods: Vec::new(),
            apps: Vec::new(),
            groups: Vec::new(),
            memory: Memory::default(),
            sched_dirty: true,
            sched_cursor: Vec::new(),
            na_pods: (Vec::new(), Vec::new()),
            sched_pods: (Vec::new(), Vec::new()),
            stats: Collector::default(),
            checker: Checker::default(),
            series: Series::new(sample_every),
            decisions: Vec::new(),
            plans: 0,
            name: scenario.name.clone(),
        };
        for g in &scenario.node_groups {
            let alloc = Resources::cpu_mem(g.cpu.0, g.memory.0).with_pods(g.pods);
            let mut labels = g.labels.clone();
            labels.insert("swell.dev/node-group".into(), g.name.clone());
            labels.insert(LABEL_HOSTNAME.into(), format!("template-{}", g.name));
            let template = Node {
                name: format!("template-{}", g.name),
                group: Some(g.name.clone()),
                capacity: alloc.clone(),
                allocatable: alloc,
                labels,
                taints: g
                    .taints
                    .iter()
                    .filter_map(|t| Some(Taint::new(&t.key, &t.value, TaintEffect::parse(&t.effect)?)))
                    .collect(),
                ready: true,
                ready_transition: Some(epoch()),
                unschedulable: false,
                created: epoch(),
                scale_down_disabled: false,
            };
            let initial = g.initial.unwrap_or(g.min);
            e.groups.push(Group {
                spec: g.clone(),
                template,
                target: initial,
                instances: 0,
                backoff_until: None,
                backoff_level: 0,
                last_failure: None,
                last_change: None,
            });
        }
        for w in &scenario.workloads {
            let (points, diurnal) = match w.load.as_ref().and_then(|l| l.load()).as_ref() {
                None => (vec![], None),
                Some(Load::Constant(r)) => (
                    vec![LoadPoint {
                        at: crate::scenario::Dur::from_secs(0),
                        rps: *r,
                    }],
                    None,
                ),
                Some(Load::Steps(p)) => (p.clone(), None),
                Some(Load::Diurnal(d)) => (vec![], Some(*d)),
                Some(Load::Trace) => {
                    let points = trace.and_then(|t| t.get(&w.name)).ok_or_else(|| {
                        format!(
                            "workloads {}: load: trace, but the trace has no rows for it",
                            w.name
                        )
                    })?;
                    (points.clone(), None)
                }
            };
            let hpa = match &w.hpa {
                None => None,
                Some(h) => {
                    let spec = api::HorizontalPodAutoscalerSpec {
                        scale_target_ref: api::CrossVersionObjectReference {
                            api_version: Some("apps/v1".into()),
                            kind: "Deployment".into(),
                            name: w.name.clone(),
                        },
                        min_replicas: h.min_replicas,
                        max_replicas: h.max_replicas,
                        metrics: Some(vec![api::MetricSpec {
                            type_: "Resource".into(),
                            resource: Some(api::ResourceMetricSource {
                                name: "cpu".into(),
                                target: api::MetricTarget {
                                    type_: "Utilization".into(),
                                    average_utilization: Some(h.target_cpu_utilization),
                                    ..Default::default()
                                },
                            }),
                            ..Default::default()
                        }]),
                        behavior: h.behavior.clone(),
                    };
                    let policy = HpaPolicy::from_spec(&spec, &e.cfg.hpa)
                        .map_err(|err| format!("workloads {}: hpa: {err}", w.name))?;
                    Some(HpaState {
                        policy,
                        history: History::default(),
                        conditions: Vec::new(),
                        previous_desired: w.replicas,
                        last_scale_time: None,
                        last_rescale: None,
                    })
                }
            };
            let spec = SchedulingSpec {
                node_selector: w.node_selector.clone(),
                tolerations: tolerations(&w.tolerations),
                ..SchedulingSpec::default()
            };
            let template = e.template_pod(
                &w.namespace,
                &w.name,
                "ReplicaSet",
                Resources::cpu_mem(w.cpu.0, w.memory.0).with_pods(1),
                spec,
                w.termination_grace_period.secs(),
                w.safe_to_evict,
            );
            e.apps.push(App {
                name: w.name.clone(),
                namespace: w.namespace.clone(),
                kind: AppKind::Deployment {
                    load: points,
                    diurnal,
                    cpu_per_rps: w.cpu_per_rps,
                    base_cpu: w.base_cpu.map_or(0, |c| c.0),
                    noise: w.noise,
                },
                active: false,
                desired: w.replicas,
                live: Vec::new(),
                template,
                cpu: w.cpu.0,
                start: w.start_delay,
                grace: w.termination_grace_period.secs(),
                pdb: w.pdb.clone(),
                hpa_bounds: w
                    .hpa
                    .as_ref()
                    .map(|h| (h.min_replicas.unwrap_or(1), h.max_replicas)),
                safe_to_evict: w.safe_to_evict,
                hpa,
                created_at: w.at.map_or(0, |a| a.secs()),
                selector: String::new(),
                pdb_selector: Selector::nothing(),
            });
        }
        for j in &scenario.jobs {
            let spec = SchedulingSpec {
                node_selector: j.node_selector.clone(),
                tolerations: tolerations(&j.tolerations),
                ..SchedulingSpec::default()
            };
            let template = e.template_pod(
                &j.namespace,
                &j.name,
                "Job",
                Resources::cpu_mem(j.cpu.0, j.memory.0).with_pods(1),
                spec,
                30,
                None,
            );
            e.apps.push(App {
                name: j.name.clone(),
                namespace: j.namespace.clone(),
                kind: AppKind::Job {
                    run_for: j.run_for.secs(),
                    completed: 0,
                },
                active: false,
                desired: j.pods,
                live: Vec::new(),
                template,
                cpu: j.cpu.0,
                start: j.start_delay,
                grace: 30,
                pdb: None,
                hpa_bounds: None,
                safe_to_evict: None,
                hpa: None,
                created_at: j.at.secs(),
                selector: String::new(),
                pdb_selector: Selector::nothing(),
            });
        }
        for app in &mut e.apps {
            app.selector = format!("app={}", app.name);
            app.pdb_selector = Selector::parse(&app.selector).unwrap_or_else(|_| Selector::nothing());
        }
        e.sched_cursor = vec![0; e.apps.len()];
        e.stats.init(&e.apps, &e.groups);
        for g in 0..e.groups.len() {
            for _ in 0..e.groups[g].target {
                let n = e.launch(g);
                e.node_ready(n);
            }
        }
        for a in 0..e.apps.len() {
            if e.apps[a].created_at == 0 {
                e.apps[a].active = true;
            } else {
                e.push(e.apps[a].created_at, Ev::AppCreated(a));
            }
        }
        // The starting cluster was running before time 0: its pods are bound and Ready already.
        e.reconcile();
        e.schedule();
        for p in 0..e.pods.len() {
            if e.pods[p].node.is_some() {
                e.pods[p].bound_at = Some(-600);
                e.pods[p].ready_at = Some(-600);
                e.pods[p].created = -600;
                e.on_ready(p);
            }
        }
        e.stats.reset_pending_times();
        Ok(e)
    }

    #[allow(clippy::too_many_arguments)]
    fn template_pod(
        &self,
        ns: &str,
        name: &str,
        owner_kind: &str,
        requests: Resources,
        spec: SchedulingSpec,
        grace: i64,
        safe: Option<bool>,
    ) -> Pod {
        let mut labels = model::Labels::new();
        labels.insert("app".into(), name.into());
        Pod {
            namespace: ns.into(),
            name: String::new(),
            node_name: None,
            requests,
            priority: 0,
            owner: Some(Owner {
                kind: owner_kind.into(),
                name: name.into(),
                uid: format!("uid-{ns}-{name}"),
                exists: Some(true),
                replicas: None,
            }),
            labels,
            scheduling: Arc::new(spec),
            volumes: Vec::new(),
            phase: PodPhase::Pending,
            deletion_timestamp: None,
            termination_grace_seconds: grace,
            created: epoch(),
            unschedulable: false,
            scheduling_gated: false,
            mirror: false,
            safe_to_evict: match safe {
                None => SafeToEvict::Unset,
                Some(true) => SafeToEvict::True,
                Some(false) => SafeToEvict::False,
            },
            safe_to_evict_local_volumes: Vec::new(),
            scale_up_delay: None,
        }
    }

    fn push(&mut self, at: i64, ev: Ev) {
        self.seq += 1;
        self.events.push(Reverse((at, self.seq, ev)));
    }

    /// Runs to the end; `progress(now, end)` is called after every node-autoscaler loop.
    pub fn run(mut self, progress: &mut dyn FnMut(i64, i64)) -> Outcome {
        let (scan, sync) = (self.cfg.scan_interval, self.cfg.hpa_sync_period);
        let (mut next_scan, mut next_sync, mut next_sample) = (0i64, 0i64, 0i64);
        loop {
            let next_ev = self.events.peek().map_or(i64::MAX, |Reverse((t, _, _))| *t);
            let next = next_ev
                .min(next_scan)
                .min(next_sync)
                .min(next_sample)
                .min(self.end);
            self.advance(next);
            if next_sample == self.now {
                self.sample();
                next_sample += self.series.every;
            }
            if self.now >= self.end {
                break;
            }
            while let Some(Reverse((t, _, ev))) = self.events.peek().copied() {
                if t > self.now {
                    break;
                }
                self.events.pop();
                self.handle(ev);
            }
            if next_sync == self.now {
                self.hpa_sync();
                next_sync += sync;
            }
            self.reconcile();
            self.schedule();
            if next_scan == self.now {
                self.node_autoscaler_loop();
                next_scan += scan;
                self.reconcile();
                self.schedule();
                progress(self.now, self.end);
            }
            if self.opts.check_invariants {
                self.checker
                    .step(self.now, &self.apps, &self.groups, &self.nodes, &self.pods);
            }
        }
        progress(self.end, self.end);
        let summary = self.stats.summary(
            &self.name,
            self.seed,
            self.end,
            &self.apps,
            &self.groups,
            &self.nodes,
            &self.pods,
            self.plans,
            &self.checker,
        );
        Outcome {
            summary,
            series: self.series,
            decisions: self.decisions,
        }
    }

    fn advance(&mut self, to: i64) {
        let dt = to - self.now;
        if dt > 0 {
            self.stats.integrate(dt, &self.apps, &self.groups);
        }
        self.now = to;
    }

    fn sample(&mut self) {
        let pending = self.stats.pending_now;
        let cost = self.stats.cost_so_far();
        self.series
            .push(self.now, &self.apps, &self.groups, pending, cost);
    }

    fn handle(&mut self, ev: Ev) {
        match ev {
            Ev::AppCreated(a) => {
                self.apps[a].active = true;
            }
            Ev::NodeBooted(n) => {
                if self.nodes[n].state == NodeState::Booting {
                    self.node_ready(n);
                }
            }
            Ev::LaunchFailed(n) => self.launch_failed(n),
            Ev::PodReady(p) => {
                let pod = &self.pods[p];
                if !pod.terminating && !pod.gone && pod.ready_at == Some(self.now) {
                    self.on_ready(p);
                }
            }
            Ev::JobPodDone(p) => {
                let pod = &self.pods[p];
                if !pod.terminating && !pod.gone {
                    let a = pod.app;
                    if let AppKind::Job { completed, .. } = &mut self.apps[a].kind {
                        *completed += 1;
                    }
                    self.apps[a].desired -= 1;
                    self.remove_pod(p);
                }
            }
            Ev::PodGone(p) => {
                if !self.pods[p].gone {
                    self.remove_pod(p);
                }
            }
        }
    }

    fn on_ready(&mut self, p: usize) {
        let a = self.pods[p].app;
        if let AppKind::Job { run_for, .. } = self.apps[a].kind {
            self.push(self.now + run_for, Ev::JobPodDone(p));
        }
    }

    // --- the cloud ---

    fn launch(&mut self, g: usize) -> usize {
        let group = &mut self.groups[g];
        group.instances += 1;
        let name = format!("{}-{}", group.spec.name, self.nodes.len());
        let mut model = group.template.clone();
        model.name = name.clone();
        model.labels.insert(LABEL_HOSTNAME.into(), name.clone());
        model.created = ts(self.now);
        self.node_by_name.insert(name, self.nodes.len());
        self.nodes.push(SimNode {
            model,
            group: g,
            state: NodeState::Booting,
            draining: false,
            ready_at: 0,
            pods: Vec::new(),
            ever_used: false,
        });
        self.stats.instance_up(g);
        self.nodes.len() - 1
    }

    fn node_ready(&mut self, n: usize) {
        let node = &mut self.nodes[n];
        node.state = NodeState::Ready;
        node.ready_at = self.now;
        node.model.ready_transition = Some(ts(self.now));
        self.sched_dirty = true;
    }

    fn throttled(&self, g: usize) -> bool {
        self.groups[g]
            .spec
            .throttling
            .iter()
            .any(|w| w.contains(self.now))
    }

    fn backoff(&mut self, g: usize) -> i64 {
        let (initial, max) = (self.cfg.initial_backoff, self.cfg.max_backoff);
        let now = self.now;
        let group = &mut self.groups[g];
        // Cluster Autoscaler forgets a group's failures 3 hours after the last one.
        if group.last_failure.is_some_and(|t| now - t > 3 * 3600) {
            group.backoff_level = 0;
        }
        if group.backoff_until.is_none_or(|u| u <= now) {
            let d = initial
                .saturating_mul(1i64 << group.backoff_level.min(20))
                .min(max);
            group.backoff_until = Some(now + d);
            group.backoff_level += 1;
        }
        group.last_failure = Some(now);
        group.backoff_until.unwrap_or(now)
    }

    fn launch_failed(&mut self, n: usize) {
        if self.nodes[n].state != NodeState::Booting {
            return;
        }
        let g = self.nodes[n].group;
        self.nodes[n].state = NodeState::Gone;
        self.groups[g].instances -= 1;
        self.stats.instance_down(g);
        // The autoscaler deletes the instance that failed to launch, decrementing the target.
        self.stats.cloud_call(false);
        self.groups[g].target = self.groups[g]
            .target
            .saturating_sub(1)
            .max(self.groups[g].spec.min);
        let until = self.backoff(g);
        let group = &self.groups[g].spec.name;
        let node = self.nodes[n].model.name.clone();
        let summary = format!("instance {node} of {group} failed to launch: InsufficientCapacity");
        let explanation = format!(
            "The cloud had no capacity for node group {group} (a shortage window of the scenario).\n\
             The autoscaler deleted the failed instance, set the group's target back to {}, and backed the\n\
             group off until {} (--initial-node-group-backoff-duration, doubling up to\n\
             --max-node-group-backoff-duration). While backed off, scale-up plans skip it with\n\
             \"in backoff after failed scale-up\" and the expander chooses among the other groups.",
            self.groups[g].target,
            ts(until)
        );
        self.record(
            DecisionKind::LaunchFailed,
            group.clone(),
            summary,
            explanation.into(),
        );
        if self.groups[g].instances < self.groups[g].target {
            // A target at the group's minimum stays: the cloud keeps trying to reach it.
            self.relaunch(g);
        }
    }

    fn relaunch(&mut self, g: usize) {
        while self.groups[g].instances < self.groups[g].target {
            let n = self.launch(g);
            self.start_boot(n);
        }
    }

    fn start_boot(&mut self, n: usize) {
        let g = self.nodes[n].group;
        if self.groups[g].spec.shortages.iter().any(|w| w.contains(self.now)) {
            self.push(self.now + 30, Ev::LaunchFailed(n));
        } else {
            let d = self.groups[g].spec.boot_delay;
            let delay = self.rng.between(d.min.secs(), d.max.secs());
            self.push(self.now + delay, Ev::NodeBooted(n));
        }
    }

    fn delete_node(&mut self, n: usize) -> bool {
        let g = self.nodes[n].group;
        if self.throttled(g) {
            self.stats.cloud_call(true);
            return false;
        }
        self.stats.cloud_call(false);
        self.checker
            .node_deleted(self.now, n, &self.nodes, &self.pods, &self.apps);
        let node = &mut self.nodes[n];
        node.state = NodeState::Gone;
        // Scale-up overshoot: a node a scale-up added that no pod ever used before it went.
        if !node.ever_used && node.model.created > epoch() {
            self.stats.overshoot += 1;
        }
        let name = node.model.name.clone();
        let group = &mut self.groups[g];
        group.instances -= 1;
        group.target = group.target.saturating_sub(1);
        self.stats.instance_down(g);
        self.flap_check_group(g, -1);
        self.memory.deleted(&name, ts(self.now));
        self.sched_dirty = true;
        true
    }

    fn flap_check_group(&mut self, g: usize, dir: i8) {
        let now = self.now;
        let group = &mut self.groups[g];
        if let Some((t, d)) = group.last_change
            && d != dir
            && now - t <= 600
        {
            self.stats.flaps += 1;
        }
        group.last_change = Some((now, dir));
    }

    // --- the pods ---

    fn create_pod(&mut self, a: usize) {
        let id = self.pods.len();
        let name = format!("{}-{}", self.apps[a].name, id);
        self.pods.push(SimPod {
            name,
            app: a,
            node: None,
            created: self.now,
            bound_at: None,
            ready_at: None,
            terminating: false,
            terminating_at: 0,
            gone: false,
            unschedulable: false,
        });
        self.apps[a].live.push(id);
        self.stats.pending_now += 1;
        self.sched_dirty = true;
    }

    fn bind(&mut self, p: usize, n: usize) {
        self.checker
            .bind(self.now, p, n, &self.nodes, &self.pods, &self.apps);
        let a = self.pods[p].app;
        let delay = self
            .rng
            .between(self.apps[a].start.min.secs(), self.apps[a].start.max.secs());
        let pod = &mut self.pods[p];
        pod.node = Some(n);
        pod.bound_at = Some(self.now);
        pod.unschedulable = false;
        pod.ready_at = Some(self.now + delay);
        self.stats.bound(self.now - pod.created, pod.created);
        self.nodes[n].pods.push(p);
        self.nodes[n].ever_used = true;
        self.push(self.now + delay, Ev::PodReady(p));
    }

    /// Starts a pod's graceful termination (or removes it at once if it is not bound).
    fn terminate(&mut self, p: usize) {
        let pod = &mut self.pods[p];
        if pod.terminating || pod.gone {
            return;
        }
        if pod.node.is_none() {
            self.remove_pod(p);
            return;
        }
        pod.terminating = true;
        pod.terminating_at = self.now;
        let grace = self.apps[pod.app].grace;
        self.push(self.now + grace, Ev::PodGone(p));
    }

    fn remove_pod(&mut self, p: usize) {
        let pod = &mut self.pods[p];
        if pod.gone {
            return;
        }
        pod.gone = true;
        pod.terminating = true;
        if pod.node.is_none() {
            self.stats.pending_now -= 1;
        }
        let a = pod.app;
        self.apps[a].live.retain(|&q| q != p);
        if let Some(n) = pod.node {
            self.nodes[n].pods.retain(|&q| q != p);
            self.sched_dirty = true;
            // A drained node goes once its last pod is gone; a refused delete call ends the drain.
            if self.nodes[n].draining
                && self.nodes[n].pods.is_empty()
                && self.nodes[n].state == NodeState::Ready
                && !self.delete_node(n)
            {
                self.untaint(n);
                self.memory
                    .failed(&self.nodes[n].model.name.clone(), ts(self.now));
            }
        }
    }

    /// The ReplicaSet and Job controllers: as many live pods as desired.
    fn reconcile(&mut self) {
        for a in 0..self.apps.len() {
            if !self.apps[a].active {
                continue;
            }
            let active: Vec<usize> = self.apps[a]
                .live
                .iter()
                .copied()
                .filter(|&p| !self.pods[p].terminating)
                .collect();
            let want = self.apps[a].desired.max(0) as usize;
            if active.len() < want {
                for _ in active.len()..want {
                    self.create_pod(a);
                }
            } else if active.len() > want {
                // The ReplicaSet's deletion order: unbound first, then not Ready, then the newest.
                let now = self.now;
                let mut ranked = active;
                ranked.sort_by_key(|&p| {
                    let pod = &self.pods[p];
                    (pod.node.is_some(), pod.is_ready(now), Reverse(p))
                });
                for &p in ranked.iter().take(ranked.len() - want) {
                    self.terminate(p);
                }
            }
        }
    }

    fn model_pod(&self, p: usize) -> Pod {
        let pod = &self.pods[p];
        let app = &self.apps[pod.app];
        let mut m = app.template.clone();
        m.name.clone_from(&pod.name);
        m.created = ts(pod.created);
        self.refresh_model_pod(p, &mut m);
        m
    }

    /// Sets the fields of a model pod that change over its life (binding, phase, termination, the
    /// scheduler's mark, its owner's replicas); everything else is fixed at creation.
    fn refresh_model_pod(&self, p: usize, m: &mut Pod) {
        let pod = &self.pods[p];
        let app = &self.apps[pod.app];
        let node = pod.node.map(|n| self.nodes[n].model.name.as_str());
        if m.node_name.as_deref() != node {
            m.node_name = node.map(str::to_string);
        }
        m.phase = if pod.node.is_some() {
            PodPhase::Running
        } else {
            PodPhase::Pending
        };
        m.deletion_timestamp = pod.terminating.then(|| ts(pod.terminating_at));
        m.unschedulable = pod.unschedulable;
        if let Some(o) = m.owner.as_mut() {
            o.replicas = Some(app.desired);
        }
    }

    /// The model pods of `ids` (ascending), updated in place from the `kept` pods of an earlier
    /// snapshot (with their ids, ascending): pods no longer listed are removed, new ones appended (or
    /// merged in when they are not the newest), every pod refreshed. The result is the same as
    /// building them all.
    fn updated_model_pods(&self, kept: (Vec<usize>, Vec<Pod>), ids: &[usize]) -> Vec<Pod> {
        let (mut old_ids, mut pods) = kept;
        // Drop the pods no longer listed (both lists ascending).
        let mut j = 0;
        let mut keep = Vec::with_capacity(old_ids.len());
        for &q in &old_ids {
            while j < ids.len() && ids[j] < q {
                j += 1;
            }
            keep.push(j < ids.len() && ids[j] == q);
        }
        if keep.iter().any(|k| !k) {
            let mut k = keep.iter();
            pods.retain(|_| *k.next().unwrap_or(&false));
            let mut k = keep.iter();
            old_ids.retain(|_| *k.next().unwrap_or(&false));
        }
        // Add the new ones: appended when they all come after the kept ones, else merged in order.
        if old_ids.len() < ids.len() {
            let last = old_ids.last().copied();
            let new: Vec<usize> = {
                let mut j = 0;
                ids.iter()
                    .copied()
                    .filter(|&p| {
                        while j < old_ids.len() && old_ids[j] < p {
                            j += 1;
                        }
                        !(j < old_ids.len() && old_ids[j] == p)
                    })
                    .collect()
            };
            if last.is_none_or(|l| new.first().is_some_and(|&f| f > l)) {
                for p in new {
                    pods.push(self.model_pod(p));
                }
            } else {
                let mut old = pods.into_iter();
                let mut merged = Vec::with_capacity(ids.len());
                let mut o = old_ids.iter().peekable();
                for &p in ids {
                    if o.next_if(|&&q| q == p).is_some() {
                        merged.extend(old.next());
                    } else {
                        merged.push(self.model_pod(p));
                    }
                }
                pods = merged;
            }
        }
        for (&p, m) in ids.iter().zip(pods.iter_mut()) {
            self.refresh_model_pod(p, m);
        }
        pods
    }

    /// The cluster as the API server would list it: registered nodes, live pods, PDBs.
    fn cluster_input(&mut self, pending_only_marked: bool) -> (ClusterInput, Vec<usize>) {
        let mut input = ClusterInput::default();
        for n in &self.nodes {
            if n.state == NodeState::Ready {
                input.nodes.push(n.model.clone());
            }
        }
        let mut pod_ids = Vec::new();
        for a in &self.apps {
            for &p in &a.live {
                let pod = &self.pods[p];
                if pending_only_marked && pod.node.is_none() && !pod.unschedulable {
                    continue;
                }
                pod_ids.push(p);
            }
        }
        pod_ids.sort_unstable();
        let kept = std::mem::take(&mut self.na_pods);
        input.pods = self.updated_model_pods(kept, &pod_ids);
        for (a, app) in self.apps.iter().enumerate() {
            if app.pdb.is_some() && app.active {
                input.pdbs.push(Pdb {
                    namespace: app.namespace.clone(),
                    name: app.name.clone(),
                    selector: app.pdb_selector.clone(),
                    disruptions_allowed: self.disruptions_allowed(a),
                });
            }
        }
        for g in &self.groups {
            input.groups.push(NodeGroup {
                id: g.spec.name.clone(),
                min: g.spec.min,
                max: g.spec.max,
                target: g.target,
                template: g.template.clone(),
                price_per_hour: Some(g.spec.price_per_hour),
                backoff_until: g.backoff_until.map(ts),
                options: Default::default(),
            });
        }
        (input, pod_ids)
    }

    /// What the scheduler needs to see: the pending pods, and the Ready, uncordoned nodes with room
    /// for the smallest of them (cpu, memory and a pod slot). Nodes without that room fail
    /// NodeResourcesFit for every pending pod. The bound pods themselves are left out: each node
    /// comes with its allocatable less their requests (pod slots included), which is all the filters
    /// read of them, since no scenario pod has inter-pod (anti-)affinity or host ports.
    fn scheduler_input(&mut self) -> (ClusterInput, Vec<usize>, Vec<usize>) {
        let mut pending = Vec::new();
        for a in &self.apps {
            for &p in &a.live {
                let pod = &self.pods[p];
                if pod.node.is_none() && !pod.terminating {
                    pending.push(p);
                }
            }
        }
        pending.sort_unstable();
        let (min_cpu, min_mem) = pending.iter().fold((i64::MAX, i64::MAX), |(c, m), &p| {
            let r = &self.apps[self.pods[p].app].template.requests;
            (c.min(r.cpu), m.min(r.memory))
        });
        let mut input = ClusterInput::default();
        let mut node_ids = Vec::new();
        for (i, n) in self.nodes.iter().enumerate() {
            if n.state != NodeState::Ready || n.draining {
                continue;
            }
            let mut used = Resources::default();
            for &p in &n.pods {
                used.add(&self.apps[self.pods[p].app].template.requests);
            }
            let al = &n.model.allocatable;
            if al.cpu - used.cpu < min_cpu || al.memory - used.memory < min_mem || al.pods - used.pods < 1 {
                continue;
            }
            let mut model = n.model.clone();
            model.allocatable.sub(&used);
            input.nodes.push(model);
            node_ids.push(i);
        }
        let kept = std::mem::take(&mut self.sched_pods);
        input.pods = self.updated_model_pods(kept, &pending);
        (input, pending, node_ids)
    }

    /// The disruption controller's `status.disruptionsAllowed`: healthy pods beyond the desired.
    pub(crate) fn disruptions_allowed(&self, a: usize) -> i32 {
        let app = &self.apps[a];
        let Some(pdb) = &app.pdb else { return i32::MAX };
        let healthy = app
            .live
            .iter()
            .filter(|&&p| self.pods[p].is_ready(self.now))
            .count() as i32;
        let desired_healthy = match (pdb.min_available, pdb.max_unavailable) {
            (Some(m), _) => m,
            (None, Some(u)) => (app.desired - u).max(0),
            (None, None) => 0,
        };
        (healthy - desired_healthy).max(0)
    }

    /// The scheduler: binds pending pods, oldest first, to the first node (oldest first) where every
    /// predicate of the node autoscaler's simulation passes; marks the others Unschedulable.
    fn schedule(&mut self) {
        if !self.sched_dirty || self.stats.pending_now == 0 {
            return;
        }
        self.sched_dirty = false;
        let (input, pod_ids, node_ids) = self.scheduler_input();
        let snap = Snapshot::new(input);
        let mut sim = Sim::new(&snap);
        let n_nodes = snap.nodes().len();
        self.sched_cursor.iter_mut().for_each(|c| *c = 0);
        let mut binds = Vec::new();
        let mut unschedulable = Vec::new();
        for (sid, &p) in pod_ids.iter().enumerate() {
            if self.pods[p].node.is_some() || self.pods[p].terminating {
                continue;
            }
            let a = self.pods[p].app;
            let pod = &snap.pods()[sid];
            // Nodes before the cursor already refused an equal pod of the same workload in this pass;
            // they only fill up as the pass goes (no pod affinity in scenarios), so they refuse again.
            let mut found = None;
            for n in self.sched_cursor[a]..n_nodes {
                if predicates::check(&sim, pod, n).is_ok() {
                    found = Some(n);
                    break;
                }
            }
            match found {
                Some(n) => {
                    self.sched_cursor[a] = n;
                    sim.place(sid, n);
                    binds.push((p, node_ids[n]));
                }
                None => {
                    self.sched_cursor[a] = n_nodes;
                    unschedulable.push(p);
                }
            }
        }
        drop(sim);
        self.sched_pods = (pod_ids, snap.into_input().pods);
        for (p, n) in binds {
            self.stats.pending_now -= 1;
            self.bind(p, n);
        }
        for p in unschedulable {
            self.pods[p].unschedulable = true;
        }
    }

    // --- the pod autoscaler ---

    fn hpa_sync(&mut self) {
        let now = self.now;
        for a in 0..self.apps.len() {
            if !self.apps[a].active || self.apps[a].hpa.is_none() {
                continue;
            }
            let Some(input) = self.hpa_input(a) else { continue };
            let from = self.apps[a].desired;
            let Some(h) = self.apps[a].hpa.as_mut() else {
                continue;
            };
            self.stats.hpa_evaluations += 1;
            let decision =
                swell_pod_autoscaler::decide(&input, &h.policy, &self.cfg.hpa, &mut h.history, ts(now));
            let status = if decision.rescale {
                decision.complete(Ok(()), &mut h.history, &h.policy).status
            } else {
                decision.status.clone()
            };
            h.conditions = status.conditions;
            h.previous_desired = status.desired_replicas;
            h.last_scale_time = status.last_scale_time;
            if decision.rescale {
                let to = decision.desired_replicas;
                let dir = if to > from { 1 } else { -1 };
                if let Some((t, d)) = h.last_rescale
                    && d != dir
                    && now - t <= 600
                {
                    self.stats.flaps += 1;
                }
                h.last_rescale = Some((now, dir));
                self.apps[a].desired = to;
                self.stats.rescaled(a);
                let explanation = if self.opts.record_explanations {
                    swell_pod_autoscaler::explain::render(&decision)
                } else {
                    String::new()
                };
                let summary = format!(
                    "{}: {} -> {} replicas ({})",
                    self.apps[a].name, from, to, decision.rescale_reason
                );
                self.record(
                    DecisionKind::Hpa,
                    self.apps[a].name.clone(),
                    summary,
                    explanation.into(),
                );
            }
        }
    }

    fn hpa_input(&mut self, a: usize) -> Option<HpaInput> {
        let now = self.now;
        let app = &self.apps[a];
        let AppKind::Deployment {
            load,
            diurnal,
            cpu_per_rps,
            base_cpu,
            noise,
        } = &app.kind
        else {
            return None;
        };
        let ready = app
            .live
            .iter()
            .filter(|&&p| self.pods[p].is_ready(now))
            .count()
            .max(1) as f64;
        // The metrics pipeline's resolution: each sample is the mean over the last 15 s window.
        let window = 15;
        let mean_rps = (0..window)
            .map(|i| rps_at(load, diurnal.as_ref(), now - i))
            .sum::<f64>()
            / window as f64;
        let per_pod = *base_cpu as f64 + cpu_per_rps * mean_rps / ready;
        let mut pods = Vec::with_capacity(app.live.len());
        let mut samples = Vec::with_capacity(app.live.len());
        let mut status_replicas = 0;
        for &p in &app.live {
            let pod = &self.pods[p];
            if !pod.terminating {
                status_replicas += 1;
            }
            pods.push(PodInfo {
                name: pod.name.clone(),
                phase: if pod.node.is_some() {
                    PodPhase::Running
                } else {
                    PodPhase::Pending
                },
                terminating: pod.terminating,
                ready: Some(ready_condition(pod, now)),
                start_time: pod.bound_at.map(ts),
                requests: vec![Ok(app.cpu)],
            });
            // Metrics exist for a container that has run a whole window.
            if pod.is_ready(now) && pod.ready_at.is_some_and(|r| r <= now - window) {
                let jitter = 1.0 + noise * (2.0 * self.rng.unit() - 1.0);
                samples.push(PodSample {
                    pod: pod.name.clone(),
                    value: (per_pod * jitter).round() as i64,
                    timestamp: ts(now),
                    window: SignedDuration::from_secs(window),
                });
            }
        }
        let h = app.hpa.as_ref();
        let mut input = HpaInput::new(
            HpaKey::new(app.namespace.clone(), app.name.clone()),
            ScaleTarget {
                spec_replicas: app.desired,
                status_replicas,
                selector: app.selector.clone(),
            },
            pods,
            vec![MetricInput::Pods(Ok(PodSamples::new(samples)))],
        );
        if let Some(h) = h {
            input.conditions = h.conditions.clone();
            input.previous_desired_replicas = h.previous_desired;
            input.last_scale_time = h.last_scale_time;
        }
        Some(input)
    }

    // --- the node autoscaler ---

    fn node_autoscaler_loop(&mut self) {
        let (input, pod_ids) = self.cluster_input(true);
        let snap = Snapshot::new(input);
        self.plans += 1;
        let seed = self.seed ^ (self.now as u64).wrapping_mul(0x9E37_79B9_7F4A_7C15);
        let plan = swell_node_autoscaler::plan(&snap, &self.cfg.node, &mut self.memory, ts(self.now), seed);
        self.na_pods = (pod_ids, snap.into_input().pods);
        if plan.is_noop() {
            return;
        }
        // One text per plan, shared by every decision the plan makes.
        let explanation: Arc<str> = if self.opts.record_explanations {
            swell_node_autoscaler::explain::render(&plan).into()
        } else {
            Arc::from("")
        };
        self.scale_up(&plan, &explanation);
        self.scale_down(&plan, &explanation);
    }

    fn group_index(&self, id: &str) -> Option<usize> {
        self.groups.iter().position(|g| g.spec.name == id)
    }

    fn scale_up(&mut self, plan: &Plan, explanation: &Arc<str>) {
        for up in &plan.scale_up {
            let Some(g) = self.group_index(&up.group) else {
                continue;
            };
            if self.throttled(g) {
                self.stats.cloud_call(true);
                let until = self.backoff(g);
                self.record(
                    DecisionKind::ScaleUpFailed,
                    up.group.clone(),
                    format!("{} {} -> {} refused: the cloud API throttled the call", up.group, up.from, up.to),
                    format!(
                        "{explanation}\nThe set-target-size call failed (Throttled); the group is backed off until {}.",
                        ts(until)
                    )
                    .into(),
                );
                continue;
            }
            self.stats.cloud_call(false);
            self.groups[g].target = up.to;
            self.stats.scale_ups += 1;
            self.flap_check_group(g, 1);
            self.relaunch(g);
            self.memory.scaled_up(ts(self.now));
            self.record(
                DecisionKind::ScaleUp,
                up.group.clone(),
                format!(
                    "{} {} -> {} nodes for {} pending pod(s)",
                    up.group,
                    up.from,
                    up.to,
                    up.pods.len()
                ),
                Arc::clone(explanation),
            );
        }
    }

    fn untaint(&mut self, n: usize) {
        let node = &mut self.nodes[n];
        node.draining = false;
        node.model.unschedulable = false;
        node.model.taints.retain(|t| t.key != TAINT_TO_BE_DELETED);
        self.sched_dirty = true;
    }

    fn scale_down(&mut self, plan: &Plan, explanation: &Arc<str>) {
        for r in &plan.scale_down {
            let Some(&n) = self.node_by_name.get(&r.node) else {
                continue;
            };
            if self.nodes[n].state != NodeState::Ready || self.nodes[n].draining {
                continue;
            }
            // Taint and cordon first, so that nothing new lands on it.
            let node = &mut self.nodes[n];
            node.draining = true;
            node.model.unschedulable = true;
            node.model
                .taints
                .push(Taint::new(TAINT_TO_BE_DELETED, "", TaintEffect::NoSchedule));
            let pods: Vec<usize> = node.pods.clone();
            let mut refused = None;
            for &p in &pods {
                if self.pods[p].terminating {
                    continue;
                }
                // The Eviction API: refused when the pod's PDB allows no disruption.
                let a = self.pods[p].app;
                if self.disruptions_allowed(a) <= 0 {
                    refused = Some(p);
                    break;
                }
                self.checker.eviction(self.now, p, &self.pods, &self.apps);
                self.stats.evictions += 1;
                self.terminate(p);
            }
            let group = r.group.clone();
            if let Some(p) = refused {
                self.untaint(n);
                self.memory.failed(&r.node, ts(self.now));
                self.record(
                    DecisionKind::ScaleDownFailed,
                    group,
                    format!(
                        "drain of {} stopped: eviction of {} refused by its PDB",
                        r.node, self.pods[p].name
                    ),
                    Arc::clone(explanation),
                );
                continue;
            }
            let summary = format!(
                "remove {} from {} ({}, utilization {:.2}, {} pod(s) evicted)",
                r.node,
                group,
                if pods.is_empty() { "empty" } else { "drain" },
                r.utilization,
                pods.len()
            );
            self.stats.scale_downs += 1;
            self.record(DecisionKind::ScaleDown, group, summary, Arc::clone(explanation));
            if self.nodes[n].pods.is_empty() && !self.delete_node(n) {
                self.untaint(n);
                self.memory.failed(&r.node, ts(self.now));
            }
        }
    }

    fn record(&mut self, kind: DecisionKind, target: String, summary: String, explanation: Arc<str>) {
        self.decisions.push(DecisionRecord {
            id: self.decisions.len() + 1,
            at: self.now,
            kind,
            target,
            summary,
            explanation,
        });
    }
}

/// Reads the trace a scenario names, relative to the scenario's directory.
pub fn load_trace(
    scenario: &Scenario,
    dir: &std::path::Path,
    override_path: Option<&std::path::Path>,
) -> Result<Option<BTreeMap<String, Vec<LoadPoint>>>, String> {
    let path = match (override_path, &scenario.trace) {
        (Some(p), _) => p.to_path_buf(),
        (None, Some(t)) => dir.join(t),
        (None, None) => return Ok(None),
    };
    let text =
        std::fs::read_to_string(&path).map_err(|e| format!("failed to read {}: {e}", path.display()))?;
    crate::trace::parse(&text, &path.display().to_string()).map(Some)
}

/// Runs a scenario with settings (the scenario's own, overlaid by `overrides`).
pub fn run(
    scenario: &Scenario,
    overrides: &crate::scenario::Settings,
    opts: Options,
    trace: Option<&BTreeMap<String, Vec<LoadPoint>>>,
    progress: &mut dyn FnMut(i64, i64),
) -> Result<Outcome, String> {
    let settings = scenario.settings.overlay(overrides);
    let cfg = Resolved::new(&settings).map_err(|e| e.to_string())?;
    let engine = Engine::new(scenario, cfg, opts, trace)?;
    Ok(engine.run(progress))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::scenario::Dur;

    #[test]
    fn model_pods_updated_in_place_equal_pods_built_afresh() {
        let path = concat!(env!("CARGO_MANIFEST_DIR"), "/../../scenarios/flash-crowd.yaml");
        let scenario = Scenario::parse(&std::fs::read_to_string(path).unwrap(), "flash-crowd").unwrap();
        let cfg = Resolved::new(&scenario.settings).unwrap();
        let mut e = Engine::new(&scenario, cfg, Options::default(), None).unwrap();
        for _ in 0..12 {
            e.create_pod(0);
        }
        let check = |e: &mut Engine, ids: &[usize]| {
            let kept = std::mem::take(&mut e.na_pods);
            let got = e.updated_model_pods(kept, ids);
            let want: Vec<Pod> = ids.iter().map(|&p| e.model_pod(p)).collect();
            assert_eq!(format!("{got:?}"), format!("{want:?}"), "{ids:?}");
            e.na_pods = (ids.to_vec(), got);
        };
        let all: Vec<usize> = (0..e.pods.len()).collect();
        check(&mut e, &all);
        // Some gone from the start and the middle; then back in the middle (the merge).
        let fewer: Vec<usize> = all.iter().copied().filter(|p| p % 3 != 0).collect();
        check(&mut e, &fewer);
        check(&mut e, &all);
        // Removed and appended in one loop.
        for _ in 0..3 {
            e.create_pod(0);
        }
        let more: Vec<usize> = (0..e.pods.len())
            .filter(|p| p % 3 != 0 || *p >= all.len())
            .collect();
        check(&mut e, &more);
        // A state change is seen by a pod kept in place.
        e.pods[1].unschedulable = true;
        e.pods[2].terminating = true;
        e.pods[2].terminating_at = 30;
        check(&mut e, &more);
        check(&mut e, &[]);
    }

    #[test]
    fn steps_are_straight_lines_between_points_and_flat_outside() {
        let p = |at, rps| LoadPoint {
            at: Dur::from_secs(at),
            rps,
        };
        let points = [p(60, 100.0), p(120, 200.0)];
        assert_eq!(rps_at(&points, None, 0), 100.0);
        assert_eq!(rps_at(&points, None, 90), 150.0);
        assert_eq!(rps_at(&points, None, 500), 200.0);
    }

    #[test]
    fn a_diurnal_curve_peaks_at_its_peak_and_bottoms_half_a_period_later() {
        let d = crate::scenario::Diurnal {
            min: 10.0,
            max: 110.0,
            peak: Dur::from_secs(14 * 3600),
            period: Dur::from_secs(86_400),
        };
        assert!((rps_at(&[], Some(&d), 14 * 3600) - 110.0).abs() < 1e-9);
        assert!((rps_at(&[], Some(&d), 2 * 3600) - 10.0).abs() < 1e-9);
    }
}
