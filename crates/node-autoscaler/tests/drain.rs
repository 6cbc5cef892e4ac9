//! The drainability rule chain and the PDB tracker, one table per rule.
//!
//! Each case builds a pod from a default that every rule lets through (a running ReplicaSet pod in
//! `default` with no volumes and no annotation) and changes what the case is about.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::sync::Arc;

use jiff::{SignedDuration, Timestamp};
use swell_core::selector::Selector;
use swell_node_autoscaler::model::{Owner, Pdb, Pod, PodPhase, SafeToEvict, Volume, VolumeKind};
use swell_node_autoscaler::resources::Resources;
use swell_node_autoscaler::scaledown::drain::{
    BlockingReason, DrainOptions, Drainability, Rule, drainability, has_blocking_local_storage,
    is_long_terminating,
};
use swell_node_autoscaler::scaledown::pdb::{PdbBlock, PdbTracker, Removal};

// ---------------------------------------------------------------------------------------------
// Builders

fn now() -> Timestamp {
    "2026-01-01T12:00:00Z".parse().unwrap()
}

fn ago(secs: i64) -> Timestamp {
    now().checked_sub(SignedDuration::from_secs(secs)).unwrap()
}

fn owner(kind: &str) -> Owner {
    Owner {
        kind: kind.into(),
        name: format!("{}-owner", kind.to_lowercase()),
        uid: format!("uid-{kind}"),
        exists: Some(true),
        replicas: Some(3),
    }
}

/// A running ReplicaSet pod in `default`, labelled `app=web`: drained by the chain.
fn pod(name: &str) -> Pod {
    Pod {
        namespace: "default".into(),
        name: name.into(),
        node_name: Some("n1".into()),
        requests: Resources::cpu_mem(100, 1 << 20).with_pods(1),
        priority: 0,
        owner: Some(owner("ReplicaSet")),
        labels: [("app".to_string(), "web".to_string())].into(),
        scheduling: Arc::default(),
        volumes: Vec::new(),
        phase: PodPhase::Running,
        deletion_timestamp: None,
        termination_grace_seconds: 30,
        created: ago(3600),
        unschedulable: false,
        scheduling_gated: false,
        mirror: false,
        safe_to_evict: SafeToEvict::Unset,
        safe_to_evict_local_volumes: Vec::new(),
        scale_up_delay: None,
    }
}

/// [`pod`] changed by `f`.
fn pod_with(name: &str, f: impl FnOnce(&mut Pod)) -> Pod {
    let mut p = pod(name);
    f(&mut p);
    p
}

fn pdb(namespace: &str, name: &str, selector: &str, allowed: i32) -> Pdb {
    Pdb {
        namespace: namespace.into(),
        name: name.into(),
        selector: Selector::parse(selector).unwrap(),
        disruptions_allowed: allowed,
    }
}

fn volume(name: &str, kind: VolumeKind) -> Volume {
    Volume {
        name: name.into(),
        kind,
    }
}

fn disk() -> VolumeKind {
    VolumeKind::EmptyDir { memory: false }
}

fn all_off() -> DrainOptions {
    DrainOptions {
        skip_nodes_with_system_pods: false,
        skip_nodes_with_local_storage: false,
        skip_nodes_with_custom_controller_pods: false,
        min_replica_count: 0,
    }
}

// ---------------------------------------------------------------------------------------------
// The table runner

/// The outcome without the message (messages have their own table).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Want {
    Drain,
    Skip(Rule),
    Wait,
    Block(Rule, BlockingReason),
}

fn outcome(d: &Drainability) -> Want {
    match d {
        Drainability::Drain => Want::Drain,
        Drainability::Skip(rule) => Want::Skip(*rule),
        Drainability::WaitForCompletion => Want::Wait,
        Drainability::Block { rule, reason, .. } => Want::Block(*rule, *reason),
    }
}

struct Case {
    name: &'static str,
    pod: Pod,
    options: DrainOptions,
    pdbs: Vec<Pdb>,
    want: Want,
}

impl Case {
    /// A case with default options and no PDB.
    fn new(name: &'static str, pod: Pod, want: Want) -> Case {
        Case {
            name,
            pod,
            options: DrainOptions::default(),
            pdbs: Vec::new(),
            want,
        }
    }

    fn options(mut self, options: DrainOptions) -> Case {
        self.options = options;
        self
    }

    fn pdbs(mut self, pdbs: Vec<Pdb>) -> Case {
        self.pdbs = pdbs;
        self
    }
}

/// Runs every case and reports all failures at once, by name.
fn run(cases: Vec<Case>) {
    let mut failures = Vec::new();
    for case in &cases {
        let tracker = PdbTracker::new(&case.pdbs);
        let got = drainability(&case.pod, &tracker, &case.options, now());
        if outcome(&got) != case.want {
            failures.push(format!("{}: want {:?}, got {:?}", case.name, case.want, got));
        }
    }
    assert!(
        failures.is_empty(),
        "{} of {} cases failed:\n{}",
        failures.len(),
        cases.len(),
        failures.join("\n")
    );
}

use Want::{Block, Drain, Skip, Wait};

// ---------------------------------------------------------------------------------------------
// One table per rule

#[test]
fn mirror_rule() {
    run(vec![
        Case::new(
            "a mirror pod is skipped",
            pod_with("m", |p| p.mirror = true),
            Skip(Rule::Mirror),
        ),
        Case::new(
            "a mirror pod in kube-system with no controller is skipped, not blocked",
            pod_with("m", |p| {
                p.mirror = true;
                p.namespace = "kube-system".into();
                p.owner = None;
            }),
            Skip(Rule::Mirror),
        ),
        Case::new(
            "a mirror pod annotated not safe to evict is still skipped",
            pod_with("m", |p| {
                p.mirror = true;
                p.safe_to_evict = SafeToEvict::False;
            }),
            Skip(Rule::Mirror),
        ),
        Case::new(
            "a pod that is not a mirror goes on down the chain and drains",
            pod("p"),
            Drain,
        ),
    ]);
}

#[test]
fn long_terminating_rule() {
    run(vec![
        Case::new(
            "a pod deleted 61s ago with the default 30s grace period is long terminating",
            pod_with("p", |p| p.deletion_timestamp = Some(ago(61))),
            Skip(Rule::LongTerminating),
        ),
        Case::new(
            "a pod deleted exactly grace plus 30s ago is not long terminating yet",
            pod_with("p", |p| p.deletion_timestamp = Some(ago(60))),
            Drain,
        ),
        Case::new(
            "a pod deleted 10s ago is still terminating and drains like any other",
            pod_with("p", |p| p.deletion_timestamp = Some(ago(10))),
            Drain,
        ),
        Case::new(
            "with a zero grace period a pod deleted 31s ago is long terminating",
            pod_with("p", |p| {
                p.termination_grace_seconds = 0;
                p.deletion_timestamp = Some(ago(31));
            }),
            Skip(Rule::LongTerminating),
        ),
        Case::new(
            "a six-minute grace period keeps a pod deleted five minutes ago terminating",
            pod_with("p", |p| {
                p.termination_grace_seconds = 360;
                p.deletion_timestamp = Some(ago(300));
            }),
            Drain,
        ),
        Case::new(
            "a long-terminating pod with no controller is skipped, not blocked",
            pod_with("p", |p| {
                p.owner = None;
                p.deletion_timestamp = Some(ago(120));
            }),
            Skip(Rule::LongTerminating),
        ),
        Case::new(
            "a still-terminating pod with no controller blocks",
            pod_with("p", |p| {
                p.owner = None;
                p.deletion_timestamp = Some(ago(5));
            }),
            Block(Rule::Replicated, BlockingReason::NotReplicated),
        ),
    ]);
}

#[test]
fn long_terminating_threshold_is_grace_plus_thirty_seconds_strictly() {
    let deleted = |secs| pod_with("p", |p| p.deletion_timestamp = Some(ago(secs)));
    assert!(
        !is_long_terminating(&pod("p"), now()),
        "a pod never deleted is not terminating"
    );
    assert!(!is_long_terminating(&deleted(60), now()));
    assert!(is_long_terminating(
        &deleted(60),
        now().checked_add(SignedDuration::from_nanos(1)).unwrap()
    ));
    assert!(is_long_terminating(&deleted(61), now()));
}

#[test]
fn replica_count_rule() {
    let gone = |kind: &str| {
        let kind = kind.to_string();
        pod_with("p", move |p| {
            let mut o = owner(&kind);
            o.exists = Some(false);
            p.owner = Some(o);
        })
    };
    let replicas = |kind: &str, n: Option<i32>| {
        let kind = kind.to_string();
        pod_with("p", move |p| {
            let mut o = owner(&kind);
            o.replicas = n;
            p.owner = Some(o);
        })
    };
    let min3 = DrainOptions {
        min_replica_count: 3,
        ..DrainOptions::default()
    };
    let not_found = Block(Rule::ReplicaCount, BlockingReason::ControllerNotFound);
    let too_few = Block(Rule::ReplicaCount, BlockingReason::MinReplicasReached);
    run(vec![
        Case::new(
            "a pod whose ReplicaSet no longer exists blocks",
            gone("ReplicaSet"),
            not_found,
        ),
        Case::new(
            "a pod whose ReplicationController no longer exists blocks",
            gone("ReplicationController"),
            not_found,
        ),
        Case::new("a pod whose Job no longer exists blocks", gone("Job"), not_found),
        Case::new(
            "a pod whose StatefulSet no longer exists blocks",
            gone("StatefulSet"),
            not_found,
        ),
        Case::new(
            "a pod whose DaemonSet no longer exists blocks instead of being skipped",
            gone("DaemonSet"),
            not_found,
        ),
        Case::new(
            "a pod whose custom controller no longer exists is not checked here and blocks as not replicated",
            gone("Rollout"),
            Block(Rule::Replicated, BlockingReason::NotReplicated),
        ),
        Case::new(
            "an owner whose existence is unknown counts as existing",
            pod_with("p", |p| p.owner.as_mut().unwrap().exists = None),
            Drain,
        ),
        Case::new(
            "a ReplicaSet with fewer replicas than the minimum blocks",
            replicas("ReplicaSet", Some(2)),
            too_few,
        )
        .options(min3),
        Case::new(
            "a ReplicaSet with exactly the minimum number of replicas drains",
            replicas("ReplicaSet", Some(3)),
            Drain,
        )
        .options(min3),
        Case::new(
            "a ReplicationController with fewer replicas than the minimum blocks",
            replicas("ReplicationController", Some(1)),
            too_few,
        )
        .options(min3),
        Case::new(
            "a StatefulSet below the minimum is not held to it",
            replicas("StatefulSet", Some(1)),
            Drain,
        )
        .options(min3),
        Case::new(
            "a ReplicaSet whose replica count is unknown is not held to the minimum",
            replicas("ReplicaSet", None),
            Drain,
        )
        .options(min3),
        Case::new(
            "a single-replica ReplicaSet drains under the default minimum of zero",
            replicas("ReplicaSet", Some(1)),
            Drain,
        ),
        Case::new(
            "with custom-controller skipping off a missing owner does not block",
            gone("ReplicaSet"),
            Drain,
        )
        .options(all_off()),
        Case::new(
            "with custom-controller skipping off the minimum replica count is not applied",
            replicas("ReplicaSet", Some(1)),
            Drain,
        )
        .options(DrainOptions {
            min_replica_count: 3,
            ..all_off()
        }),
        Case::new(
            "a missing owner blocks even a pod annotated safe to evict, which comes later",
            pod_with("p", |p| {
                p.owner.as_mut().unwrap().exists = Some(false);
                p.safe_to_evict = SafeToEvict::True;
            }),
            not_found,
        ),
        Case::new(
            "a mirror pod whose owner is gone is skipped before the owner is checked",
            pod_with("p", |p| {
                p.mirror = true;
                p.owner.as_mut().unwrap().exists = Some(false);
            }),
            Skip(Rule::Mirror),
        ),
    ]);
}

#[test]
fn daemonset_rule() {
    let ds = |f: fn(&mut Pod)| {
        pod_with("ds", move |p| {
            p.owner = Some(owner("DaemonSet"));
            f(p);
        })
    };
    run(vec![
        Case::new("a DaemonSet pod is skipped", ds(|_| {}), Skip(Rule::DaemonSet)),
        Case::new(
            "a kube-system DaemonSet pod without a PDB is skipped, not blocked",
            ds(|p| p.namespace = "kube-system".into()),
            Skip(Rule::DaemonSet),
        ),
        Case::new(
            "a DaemonSet pod with a hostPath volume is skipped",
            ds(|p| p.volumes = vec![volume("logs", VolumeKind::HostPath)]),
            Skip(Rule::DaemonSet),
        ),
        Case::new(
            "a DaemonSet pod annotated not safe to evict is skipped",
            ds(|p| p.safe_to_evict = SafeToEvict::False),
            Skip(Rule::DaemonSet),
        ),
        Case::new(
            "a DaemonSet pod annotated safe to evict is skipped, the DaemonSet rule coming first",
            ds(|p| p.safe_to_evict = SafeToEvict::True),
            Skip(Rule::DaemonSet),
        ),
        Case::new(
            "a DaemonSet pod with custom-controller skipping off is skipped",
            ds(|_| {}),
            Skip(Rule::DaemonSet),
        )
        .options(all_off()),
        Case::new(
            "a DaemonSet pod under an exhausted PDB is skipped",
            ds(|_| {}),
            Skip(Rule::DaemonSet),
        )
        .pdbs(vec![pdb("default", "web", "app=web", 0)]),
    ]);
}

#[test]
fn safe_to_evict_rule() {
    let safe = |f: fn(&mut Pod)| {
        pod_with("p", move |p| {
            p.safe_to_evict = SafeToEvict::True;
            f(p);
        })
    };
    run(vec![
        Case::new(
            "safe to evict drains a pod with no controller",
            safe(|p| p.owner = None),
            Drain,
        ),
        Case::new(
            "safe to evict drains a pod of a custom controller",
            safe(|p| p.owner = Some(owner("Rollout"))),
            Drain,
        ),
        Case::new(
            "safe to evict drains a kube-system pod no PDB covers",
            safe(|p| p.namespace = "kube-system".into()),
            Drain,
        ),
        Case::new(
            "safe to evict drains a pod with a hostPath volume",
            safe(|p| p.volumes = vec![volume("data", VolumeKind::HostPath)]),
            Drain,
        ),
        Case::new(
            "safe to evict drains a pod under an exhausted PDB",
            safe(|_| {}),
            Drain,
        )
        .pdbs(vec![pdb("default", "web", "app=web", 0)]),
        Case::new(
            "safe to evict comes before the terminal rule, so a succeeded pod drains",
            safe(|p| p.phase = PodPhase::Succeeded),
            Drain,
        ),
        Case::new(
            "without the annotation the same pod with no controller blocks",
            pod_with("p", |p| p.owner = None),
            Block(Rule::Replicated, BlockingReason::NotReplicated),
        ),
    ]);
}

#[test]
fn terminal_rule() {
    run(vec![
        Case::new(
            "a succeeded pod is skipped",
            pod_with("p", |p| p.phase = PodPhase::Succeeded),
            Skip(Rule::Terminal),
        ),
        Case::new(
            "a failed pod is skipped",
            pod_with("p", |p| p.phase = PodPhase::Failed),
            Skip(Rule::Terminal),
        ),
        Case::new(
            "a succeeded pod with no controller is skipped, not blocked",
            pod_with("p", |p| {
                p.phase = PodPhase::Succeeded;
                p.owner = None;
            }),
            Skip(Rule::Terminal),
        ),
        Case::new(
            "a failed kube-system pod with local storage annotated not safe to evict is skipped",
            pod_with("p", |p| {
                p.phase = PodPhase::Failed;
                p.namespace = "kube-system".into();
                p.volumes = vec![volume("data", VolumeKind::HostPath)];
                p.safe_to_evict = SafeToEvict::False;
            }),
            Skip(Rule::Terminal),
        ),
        Case::new(
            "a succeeded on-completion pod has completed and is skipped",
            pod_with("p", |p| {
                p.phase = PodPhase::Succeeded;
                p.safe_to_evict = SafeToEvict::OnCompletion;
            }),
            Skip(Rule::Terminal),
        ),
        Case::new(
            "a pending pod is not terminal",
            pod_with("p", |p| p.phase = PodPhase::Pending),
            Drain,
        ),
        Case::new(
            "a pod in an unknown phase is not terminal",
            pod_with("p", |p| p.phase = PodPhase::Unknown),
            Drain,
        ),
    ]);
}

#[test]
fn on_completion_rule() {
    let on_completion = |f: fn(&mut Pod)| {
        pod_with("job-1", move |p| {
            p.owner = Some(owner("Job"));
            p.safe_to_evict = SafeToEvict::OnCompletion;
            f(p);
        })
    };
    run(vec![
        Case::new(
            "a running on-completion pod waits for completion",
            on_completion(|_| {}),
            Wait,
        ),
        Case::new(
            "an on-completion pod with no controller waits rather than blocking",
            on_completion(|p| p.owner = None),
            Wait,
        ),
        Case::new(
            "an on-completion pod with local storage waits",
            on_completion(|p| p.volumes = vec![volume("scratch", disk())]),
            Wait,
        ),
        Case::new(
            "an on-completion kube-system pod without a PDB waits",
            on_completion(|p| p.namespace = "kube-system".into()),
            Wait,
        ),
        Case::new(
            "an on-completion pod under an exhausted PDB waits",
            on_completion(|_| {}),
            Wait,
        )
        .pdbs(vec![pdb("default", "web", "app=web", 0)]),
        Case::new(
            "an on-completion DaemonSet pod is skipped as a DaemonSet pod",
            on_completion(|p| p.owner = Some(owner("DaemonSet"))),
            Skip(Rule::DaemonSet),
        ),
        Case::new(
            "an on-completion pod whose Job is gone blocks on the replica-count rule",
            on_completion(|p| p.owner.as_mut().unwrap().exists = Some(false)),
            Block(Rule::ReplicaCount, BlockingReason::ControllerNotFound),
        ),
    ]);
}

#[test]
fn replicated_rule() {
    let owned_by = |kind: &'static str| pod_with("p", move |p| p.owner = Some(owner(kind)));
    let not_replicated = Block(Rule::Replicated, BlockingReason::NotReplicated);
    run(vec![
        Case::new(
            "a pod with no controller blocks",
            pod_with("p", |p| p.owner = None),
            not_replicated,
        ),
        Case::new(
            "a pod of a custom controller blocks by default",
            owned_by("Rollout"),
            not_replicated,
        ),
        Case::new(
            "a pod of a custom controller drains with custom-controller skipping off",
            owned_by("Rollout"),
            Drain,
        )
        .options(all_off()),
        Case::new(
            "a pod with no controller blocks with custom-controller skipping off too",
            pod_with("p", |p| p.owner = None),
            not_replicated,
        )
        .options(all_off()),
        Case::new(
            "a ReplicationController pod is replicated",
            owned_by("ReplicationController"),
            Drain,
        ),
        Case::new("a Job pod is replicated", owned_by("Job"), Drain),
        Case::new("a StatefulSet pod is replicated", owned_by("StatefulSet"), Drain),
        Case::new("a ReplicaSet pod is replicated", owned_by("ReplicaSet"), Drain),
        Case::new(
            "a pod with no controller annotated not safe to evict blocks as not replicated, which comes first",
            pod_with("p", |p| {
                p.owner = None;
                p.safe_to_evict = SafeToEvict::False;
            }),
            not_replicated,
        ),
    ]);
}

#[test]
fn system_rule() {
    let system = |f: fn(&mut Pod)| {
        pod_with("coredns-1", move |p| {
            p.namespace = "kube-system".into();
            p.labels = [("k8s-app".to_string(), "kube-dns".to_string())].into();
            f(p);
        })
    };
    let unmovable = Block(Rule::System, BlockingReason::UnmovableKubeSystemPod);
    run(vec![
        Case::new(
            "a kube-system pod no PDB covers blocks",
            system(|_| {}),
            unmovable,
        ),
        Case::new(
            "a kube-system pod covered by a PDB with budget left drains",
            system(|_| {}),
            Drain,
        )
        .pdbs(vec![pdb("kube-system", "dns", "k8s-app=kube-dns", 1)]),
        Case::new(
            "a kube-system pod covered by an exhausted PDB passes the system rule and blocks on the PDB rule",
            system(|_| {}),
            Block(Rule::Pdb, BlockingReason::NotEnoughPdb),
        )
        .pdbs(vec![pdb("kube-system", "dns", "k8s-app=kube-dns", 0)]),
        Case::new(
            "a matching PDB in another namespace does not cover a kube-system pod",
            system(|_| {}),
            unmovable,
        )
        .pdbs(vec![pdb("default", "dns", "k8s-app=kube-dns", 5)]),
        Case::new(
            "a kube-system PDB selecting other pods does not cover it",
            system(|_| {}),
            unmovable,
        )
        .pdbs(vec![pdb("kube-system", "metrics", "k8s-app=metrics-server", 5)]),
        Case::new(
            "a kube-system PDB with an empty selector covers every kube-system pod (policy/v1)",
            system(|_| {}),
            Drain,
        )
        .pdbs(vec![pdb("kube-system", "all", "", 5)]),
        Case::new(
            "with system-pod skipping off a kube-system pod without a PDB drains",
            system(|_| {}),
            Drain,
        )
        .options(DrainOptions {
            skip_nodes_with_system_pods: false,
            ..DrainOptions::default()
        }),
        Case::new("a pod outside kube-system needs no PDB", pod("p"), Drain),
        Case::new(
            "a kube-system pod without a PDB annotated not safe to evict blocks on the system rule first",
            system(|p| p.safe_to_evict = SafeToEvict::False),
            unmovable,
        ),
    ]);
}

#[test]
fn not_safe_to_evict_rule() {
    let not_safe = |f: fn(&mut Pod)| {
        pod_with("p", move |p| {
            p.safe_to_evict = SafeToEvict::False;
            f(p);
        })
    };
    let blocked = Block(Rule::NotSafeToEvict, BlockingReason::NotSafeToEvictAnnotation);
    run(vec![
        Case::new(
            "a pod annotated not safe to evict blocks",
            not_safe(|_| {}),
            blocked,
        ),
        Case::new(
            "the annotation blocks whatever the options",
            not_safe(|_| {}),
            blocked,
        )
        .options(all_off()),
        Case::new(
            "the annotation blocks before local storage is looked at",
            not_safe(|p| p.volumes = vec![volume("data", VolumeKind::HostPath)]),
            blocked,
        ),
        Case::new(
            "a covered kube-system pod annotated not safe to evict blocks on the annotation",
            not_safe(|p| p.namespace = "kube-system".into()),
            blocked,
        )
        .pdbs(vec![pdb("kube-system", "web", "app=web", 1)]),
        Case::new("an unset annotation does not block", pod("p"), Drain),
    ]);
}

#[test]
fn local_storage_rule() {
    let with_volumes = |volumes: Vec<Volume>, safe: &[&str]| {
        let safe: Vec<String> = safe.iter().map(|s| s.to_string()).collect();
        pod_with("p", move |p| {
            p.volumes = volumes;
            p.safe_to_evict_local_volumes = safe;
        })
    };
    let blocked = Block(Rule::LocalStorage, BlockingReason::LocalStorageRequested);
    run(vec![
        Case::new(
            "a hostPath volume blocks",
            with_volumes(vec![volume("data", VolumeKind::HostPath)], &[]),
            blocked,
        ),
        Case::new(
            "a disk-backed emptyDir blocks",
            with_volumes(vec![volume("scratch", disk())], &[]),
            blocked,
        ),
        Case::new(
            "a memory-backed emptyDir does not block",
            with_volumes(vec![volume("shm", VolumeKind::EmptyDir { memory: true })], &[]),
            Drain,
        ),
        Case::new(
            "a persistent volume claim or config map does not block",
            with_volumes(
                vec![
                    volume("pvc", VolumeKind::Other),
                    volume("config", VolumeKind::Other),
                ],
                &[],
            ),
            Drain,
        ),
        Case::new(
            "an emptyDir listed as safe to evict does not block",
            with_volumes(vec![volume("scratch", disk())], &["scratch"]),
            Drain,
        ),
        Case::new(
            "one local volume left off the safe list blocks",
            with_volumes(
                vec![volume("scratch", disk()), volume("cache", disk())],
                &["scratch"],
            ),
            blocked,
        ),
        Case::new(
            "every local volume on the safe list does not block",
            with_volumes(
                vec![volume("scratch", disk()), volume("data", VolumeKind::HostPath)],
                &["data", "scratch"],
            ),
            Drain,
        ),
        Case::new(
            "a safe list naming another volume does not help",
            with_volumes(vec![volume("data", VolumeKind::HostPath)], &["other"]),
            blocked,
        ),
        Case::new(
            "with local-storage skipping off a hostPath volume does not block",
            with_volumes(vec![volume("data", VolumeKind::HostPath)], &[]),
            Drain,
        )
        .options(DrainOptions {
            skip_nodes_with_local_storage: false,
            ..DrainOptions::default()
        }),
    ]);
}

#[test]
fn pdb_rule() {
    let not_enough = Block(Rule::Pdb, BlockingReason::NotEnoughPdb);
    run(vec![
        Case::new(
            "a pod covered by a PDB with one disruption left drains",
            pod("p"),
            Drain,
        )
        .pdbs(vec![pdb("default", "web", "app=web", 1)]),
        Case::new(
            "a pod covered by a PDB with no disruption left blocks",
            pod("p"),
            not_enough,
        )
        .pdbs(vec![pdb("default", "web", "app=web", 0)]),
        Case::new("a PDB below zero blocks", pod("p"), not_enough)
            .pdbs(vec![pdb("default", "web", "app=web", -1)]),
        Case::new(
            "an exhausted PDB selecting other pods does not block",
            pod("p"),
            Drain,
        )
        .pdbs(vec![pdb("default", "db", "app=db", 0)]),
        Case::new(
            "an exhausted PDB in another namespace does not block",
            pod("p"),
            Drain,
        )
        .pdbs(vec![pdb("other", "web", "app=web", 0)]),
        Case::new(
            "an exhausted PDB with an empty selector blocks every pod of its namespace (policy/v1)",
            pod("p"),
            not_enough,
        )
        .pdbs(vec![pdb("default", "all", "", 0)]),
        Case::new(
            "one exhausted PDB among two covering the pod blocks",
            pod("p"),
            not_enough,
        )
        .pdbs(vec![
            pdb("default", "web", "app=web", 3),
            pdb("default", "web-strict", "app in (web,api)", 0),
        ]),
    ]);
}

// ---------------------------------------------------------------------------------------------
// Messages, names and options

#[test]
fn blocking_messages_are_upstreams() {
    let cases: Vec<(&str, Pod, DrainOptions, Vec<Pdb>, &str)> = vec![
        (
            "a missing ReplicaSet",
            pod_with("web-1", |p| p.owner.as_mut().unwrap().exists = Some(false)),
            DrainOptions::default(),
            vec![],
            "replication controller for default/web-1 is not available",
        ),
        (
            "a missing Job",
            pod_with("job-1", |p| {
                p.owner = Some(Owner {
                    exists: Some(false),
                    ..owner("Job")
                });
            }),
            DrainOptions::default(),
            vec![],
            "job for default/job-1 is not available",
        ),
        (
            "a missing DaemonSet",
            pod_with("ds-1", |p| {
                p.owner = Some(Owner {
                    exists: Some(false),
                    ..owner("DaemonSet")
                })
            }),
            DrainOptions::default(),
            vec![],
            "daemonset for default/ds-1 is not present",
        ),
        (
            "too few replicas",
            pod_with("web-1", |p| p.owner.as_mut().unwrap().replicas = Some(1)),
            DrainOptions {
                min_replica_count: 2,
                ..DrainOptions::default()
            },
            vec![],
            "replication controller for default/web-1 has too few replicas spec: 1 min: 2",
        ),
        (
            "no controller",
            pod_with("bare", |p| p.owner = None),
            DrainOptions::default(),
            vec![],
            "default/bare is not replicated",
        ),
        (
            "a kube-system pod without PDB",
            pod_with("coredns-1", |p| p.namespace = "kube-system".into()),
            DrainOptions::default(),
            vec![],
            "non-daemonset, non-mirrored, non-pdb-assigned kube-system pod present: coredns-1",
        ),
        (
            "not safe to evict",
            pod_with("db-0", |p| p.safe_to_evict = SafeToEvict::False),
            DrainOptions::default(),
            vec![],
            "pod annotated as not safe to evict present: db-0",
        ),
        (
            "local storage",
            pod_with("cache-0", |p| {
                p.volumes = vec![volume("data", VolumeKind::HostPath)]
            }),
            DrainOptions::default(),
            vec![],
            "pod with local storage present: cache-0",
        ),
        (
            "an exhausted PDB",
            pod_with("foo", |p| p.namespace = "kube-system".into()),
            DrainOptions::default(),
            vec![pdb("kube-system", "foo", "app=web", 0)],
            "not enough pod disruption budget to move kube-system/foo",
        ),
    ];
    for (name, pod, options, pdbs, want) in cases {
        match drainability(&pod, &PdbTracker::new(&pdbs), &options, now()) {
            Drainability::Block { message, .. } => assert_eq!(message, want, "{name}"),
            other => panic!("{name}: want a block, got {other:?}"),
        }
    }
}

#[test]
fn reasons_and_rules_use_upstream_names() {
    let reasons = [
        (BlockingReason::ControllerNotFound, "ControllerNotFound"),
        (BlockingReason::MinReplicasReached, "MinReplicasReached"),
        (BlockingReason::NotReplicated, "NotReplicated"),
        (BlockingReason::LocalStorageRequested, "LocalStorageRequested"),
        (
            BlockingReason::NotSafeToEvictAnnotation,
            "NotSafeToEvictAnnotation",
        ),
        (BlockingReason::UnmovableKubeSystemPod, "UnmovableKubeSystemPod"),
        (BlockingReason::NotEnoughPdb, "NotEnoughPdb"),
        (BlockingReason::UnexpectedError, "UnexpectedError"),
    ];
    for (reason, want) in reasons {
        assert_eq!(reason.as_str(), want);
        assert_eq!(serde_json::to_value(reason).unwrap(), want);
    }
    let names: Vec<&str> = Rule::ALL.iter().map(|r| r.as_str()).collect();
    assert_eq!(
        names,
        [
            "Mirror",
            "LongTerminating",
            "ReplicaCount",
            "DaemonSet",
            "SafeToEvict",
            "Terminal",
            "OnCompletion",
            "Replicated",
            "System",
            "NotSafeToEvict",
            "LocalStorage",
            "PDB"
        ]
    );
}

#[test]
fn drainability_serializes_with_rule_and_reason_names() {
    let tracker = PdbTracker::new(&[]);
    let blocked = drainability(
        &pod_with("bare", |p| p.owner = None),
        &tracker,
        &DrainOptions::default(),
        now(),
    );
    assert_eq!(
        serde_json::to_value(&blocked).unwrap(),
        serde_json::json!({"Block": {"rule": "Replicated", "reason": "NotReplicated", "message": "default/bare is not replicated"}})
    );
    let skipped = drainability(
        &pod_with("m", |p| p.mirror = true),
        &tracker,
        &DrainOptions::default(),
        now(),
    );
    assert_eq!(
        serde_json::to_value(&skipped).unwrap(),
        serde_json::json!({"Skip": "Mirror"})
    );
    assert_eq!(
        serde_json::to_value(Drainability::Drain).unwrap(),
        serde_json::json!("Drain")
    );
}

#[test]
fn default_options_are_cluster_autoscalers() {
    let options = DrainOptions::default();
    assert!(options.skip_nodes_with_system_pods);
    assert!(options.skip_nodes_with_local_storage);
    assert!(options.skip_nodes_with_custom_controller_pods);
    assert_eq!(options.min_replica_count, 0);
    let parsed: DrainOptions = serde_json::from_str(r#"{"min_replica_count": 2}"#).unwrap();
    assert_eq!(
        parsed,
        DrainOptions {
            min_replica_count: 2,
            ..DrainOptions::default()
        }
    );
}

#[test]
fn local_storage_helper_ignores_memory_and_listed_volumes() {
    assert!(!has_blocking_local_storage(&pod("p")));
    let listed = pod_with("p", |p| {
        p.volumes = vec![
            volume("a", disk()),
            volume("b", VolumeKind::EmptyDir { memory: true }),
        ];
        p.safe_to_evict_local_volumes = vec!["a".into()];
    });
    assert!(!has_blocking_local_storage(&listed));
}

// ---------------------------------------------------------------------------------------------
// The PDB tracker

fn web(name: &str) -> Pod {
    pod(name)
}

fn api(name: &str) -> Pod {
    pod_with(name, |p| {
        p.labels = [("app".to_string(), "api".to_string())].into()
    })
}

#[test]
fn covering_finds_the_pdbs_of_the_pods_namespace_that_select_it() {
    let tracker = PdbTracker::new(&[
        pdb("default", "web", "app=web", 1),
        pdb("other", "web", "app=web", 1),
        pdb("default", "all", "", 1),
        pdb("default", "api", "app=api", 1),
        pdb("default", "front", "app in (web,api)", 1),
    ]);
    assert_eq!(
        tracker.covering(&web("w")).collect::<Vec<_>>(),
        [0, 2, 4],
        "web pod in default"
    );
    assert_eq!(
        tracker.covering(&api("a")).collect::<Vec<_>>(),
        [2, 3, 4],
        "api pod in default"
    );
    let elsewhere = pod_with("x", |p| p.namespace = "third".into());
    assert_eq!(
        tracker.covering(&elsewhere).count(),
        0,
        "a namespace without PDBs"
    );
    let unlabelled = pod_with("x", |p| p.labels.clear());
    assert_eq!(
        tracker.covering(&unlabelled).collect::<Vec<_>>(),
        [2],
        "the empty selector covers every pod of its namespace (policy/v1)"
    );
    assert!(tracker.is_covered(&web("w")));
    assert!(tracker.is_covered(&unlabelled));
    let nothing = PdbTracker::new(&[Pdb {
        selector: Selector::nothing(),
        ..pdb("default", "none", "", 1)
    }]);
    assert!(
        !nothing.is_covered(&unlabelled),
        "a missing selector (nothing) covers no pod"
    );
}

struct EvictCase {
    name: &'static str,
    pdbs: Vec<Pdb>,
    pods: Vec<Pod>,
    /// The blocked pod's index and the PDB's name.
    want: Result<(), (usize, &'static str)>,
}

#[test]
fn can_evict_checks_a_nodes_pods_together() {
    let cases = vec![
        EvictCase {
            name: "two pods under a PDB allowing two can go together",
            pdbs: vec![pdb("default", "web", "app=web", 2)],
            pods: vec![web("w1"), web("w2")],
            want: Ok(()),
        },
        EvictCase {
            name: "two pods under a PDB allowing one cannot: the second is blocked",
            pdbs: vec![pdb("default", "web", "app=web", 1)],
            pods: vec![web("w1"), web("w2")],
            want: Err((1, "web")),
        },
        EvictCase {
            name: "three pods under a PDB allowing two: the third is blocked",
            pdbs: vec![pdb("default", "web", "app=web", 2)],
            pods: vec![web("w1"), api("a1"), web("w2"), web("w3")],
            want: Err((3, "web")),
        },
        EvictCase {
            name: "a pod under an exhausted PDB is blocked on its own",
            pdbs: vec![pdb("default", "web", "app=web", 0)],
            pods: vec![api("a1"), web("w1")],
            want: Err((1, "web")),
        },
        EvictCase {
            name: "pods under different PDBs each allowing one can go together",
            pdbs: vec![
                pdb("default", "web", "app=web", 1),
                pdb("default", "api", "app=api", 1),
            ],
            pods: vec![web("w1"), api("a1")],
            want: Ok(()),
        },
        EvictCase {
            name: "a PDB in another namespace does not count",
            pdbs: vec![pdb("other", "web", "app=web", 0)],
            pods: vec![web("w1"), web("w2")],
            want: Ok(()),
        },
        EvictCase {
            name: "an exhausted PDB with an empty selector blocks the first pod of its namespace",
            pdbs: vec![pdb("default", "all", "", 0)],
            pods: vec![web("w1"), api("a1")],
            want: Err((0, "all")),
        },
        EvictCase {
            name: "pods no PDB covers can always go",
            pdbs: vec![],
            pods: vec![web("w1"), web("w2"), web("w3")],
            want: Ok(()),
        },
        EvictCase {
            name: "a pod under two PDBs takes one from each: the tighter one blocks",
            pdbs: vec![
                pdb("default", "front", "app in (web,api)", 3),
                pdb("default", "web", "app=web", 1),
            ],
            pods: vec![api("a1"), web("w1"), web("w2")],
            want: Err((2, "web")),
        },
        EvictCase {
            name: "a PDB covering pods of several apps counts them all",
            pdbs: vec![
                pdb("default", "front", "app in (web,api)", 2),
                pdb("default", "web", "app=web", 5),
            ],
            pods: vec![api("a1"), web("w1"), web("w2")],
            want: Err((2, "front")),
        },
    ];
    let mut failures = Vec::new();
    for case in &cases {
        let tracker = PdbTracker::new(&case.pdbs);
        let pods: Vec<&Pod> = case.pods.iter().collect();
        let got = tracker.can_evict(&pods).map_err(|b| (b.pod, b.name.clone()));
        let want = case.want.map_err(|(p, n)| (p, n.to_string()));
        if got != want {
            failures.push(format!("{}: want {want:?}, got {got:?}", case.name));
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

#[test]
fn budget_spent_on_one_node_is_gone_for_the_next() {
    let mut tracker = PdbTracker::new(&[pdb("default", "web", "app=web", 1)]);
    let (node_a, node_b) = (web("on-a"), web("on-b"));
    let options = DrainOptions::default();

    assert_eq!(tracker.can_evict(&[&node_a]), Ok(()));
    assert_eq!(
        drainability(&node_a, &tracker, &options, now()),
        Drainability::Drain
    );
    tracker.evict(&[&node_a]);
    assert_eq!(tracker.remaining(0), 0);

    let blocked = tracker.can_evict(&[&node_b]).unwrap_err();
    assert_eq!(
        blocked,
        PdbBlock {
            pod: 0,
            pdb: 0,
            name: "web".into(),
            remaining: 0
        }
    );
    assert_eq!(
        outcome(&drainability(&node_b, &tracker, &options, now())),
        Block(Rule::Pdb, BlockingReason::NotEnoughPdb)
    );
}

#[test]
fn evicting_takes_one_disruption_per_covered_pod_and_may_go_below_zero() {
    let mut tracker = PdbTracker::new(&[
        pdb("default", "web", "app=web", 1),
        pdb("default", "api", "app=api", 5),
        pdb("other", "web", "app=web", 1),
    ]);
    tracker.evict(&[
        &web("w1"),
        &web("w2"),
        &api("a1"),
        &pod_with("x", |p| p.labels.clear()),
    ]);
    assert_eq!(
        [tracker.remaining(0), tracker.remaining(1), tracker.remaining(2)],
        [-1, 4, 1]
    );
    assert_eq!(tracker.pdb(1).name, "api");
    assert_eq!(tracker.len(), 3);
}

#[test]
fn can_remove_mirrors_cluster_autoscalers_can_remove_pods() {
    let one = PdbTracker::new(&[pdb("default", "web", "app=web", 1)]);
    let two = PdbTracker::new(&[pdb("default", "web", "app=web", 2)]);
    let none = PdbTracker::new(&[
        pdb("default", "api", "app=api", 1),
        pdb("default", "web", "app=web", 0),
    ]);
    let pods = [web("w1"), api("a1"), web("w2")];
    let refs: Vec<&Pod> = pods.iter().collect();

    assert_eq!(
        two.can_remove(&refs),
        Removal::InParallel,
        "a budget of two covers both web pods"
    );
    assert_eq!(
        one.can_remove(&refs),
        Removal::Sequential(PdbBlock {
            pod: 2,
            pdb: 0,
            name: "web".into(),
            remaining: 1
        }),
        "a budget of one lets the node drain one pod at a time"
    );
    assert_eq!(
        none.can_remove(&refs),
        Removal::Blocked(PdbBlock {
            pod: 0,
            pdb: 1,
            name: "web".into(),
            remaining: 0
        }),
        "an exhausted PDB blocks on the first pod it covers"
    );
    assert_eq!(
        PdbTracker::new(&[]).can_remove(&refs),
        Removal::InParallel,
        "no PDB at all"
    );
}
