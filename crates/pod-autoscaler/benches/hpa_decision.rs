//! `hpa_decision`: one decision for an HPA with three metrics (cpu utilization, memory utilization,
//! a Pods metric) over 1,000 pods. Goal: under 50 us on the project's 2-core machine.
//!
//! Two figures: `decide` alone on a built snapshot (what runs every sync period per HPA), and
//! `digest_pods` (turning 1,000 k8s Pods into the snapshot's `PodInfo`s, done once per fetch).

// A benchmark is a test harness: a bad fixture should stop it loudly.
#![allow(clippy::expect_used, missing_docs)]

use criterion::{BatchSize, Criterion, criterion_group, criterion_main};
use jiff::{SignedDuration, Timestamp};
use k8s_openapi::api::autoscaling::v2::MetricIdentifier;
use swell_core::testing;
use swell_pod_autoscaler::{
    ControllerConfig, History, HpaInput, HpaKey, MetricInput, PodInfo, PodSample, PodSamples, ScaleTarget,
    decide,
    input::RequestKey,
    policy::{HpaPolicy, MetricPolicy, MetricSource, Target, Tolerances},
};

const PODS: usize = 1_000;

fn policy() -> HpaPolicy {
    HpaPolicy {
        scale_target_ref: k8s_openapi::api::autoscaling::v2::CrossVersionObjectReference {
            api_version: Some("apps/v1".into()),
            kind: "Deployment".into(),
            name: "web".into(),
        },
        min_replicas: 1,
        max_replicas: 5_000,
        metrics: vec![
            MetricPolicy {
                source: MetricSource::Resource { name: "cpu".into() },
                target: Target::Utilization(60),
            },
            MetricPolicy {
                source: MetricSource::Resource {
                    name: "memory".into(),
                },
                target: Target::Utilization(75),
            },
            MetricPolicy {
                source: MetricSource::Pods {
                    metric: MetricIdentifier {
                        name: "http_requests_per_second".into(),
                        selector: None,
                    },
                },
                target: Target::AverageValue(50_000),
            },
        ],
        behavior: None,
        tolerances: Tolerances::symmetric(0.1),
    }
}

fn k8s_pods(t0: Timestamp) -> Vec<k8s_openapi::api::core::v1::Pod> {
    (0..PODS)
        .map(|i| {
            testing::pod(&format!("web-{i:05}"))
                .namespace("shop")
                .label("app", "web")
                .cpu("500m")
                .memory("512Mi")
                .started_at(t0)
                .ready_since(t0)
                .build()
        })
        .collect()
}

fn samples(now: Timestamp, f: impl Fn(usize) -> i64) -> MetricInput {
    // Reversed, so that the constructor's sort does real work as it would on an API response.
    MetricInput::Pods(Ok(PodSamples::new(
        (0..PODS)
            .rev()
            .map(|i| PodSample {
                pod: format!("web-{i:05}"),
                value: f(i),
                timestamp: now,
                window: SignedDuration::from_secs(30),
            })
            .collect(),
    )))
}

fn bench(c: &mut Criterion) {
    let t0: Timestamp = "2026-01-01T00:00:00Z".parse().expect("valid timestamp");
    let now = t0 + SignedDuration::from_secs(3600);
    let cfg = ControllerConfig::default();
    let policy = policy();
    let keys = RequestKey::for_policy(&policy);
    let pods = k8s_pods(t0);
    let infos: Vec<PodInfo> = pods.iter().map(|p| PodInfo::from_pod(p, &keys, &cfg)).collect();
    let metrics = vec![
        samples(now, |i| 300 + (i as i64 % 400)),
        samples(now, |i| (300 + (i as i64 % 200)) * 1024 * 1024 * 1000),
        samples(now, |i| 40_000 + (i as i64 % 30) * 1000),
    ];
    let input = HpaInput::new(
        HpaKey::new("shop", "web"),
        ScaleTarget {
            spec_replicas: PODS as i32,
            status_replicas: PODS as i32,
            selector: "app=web".into(),
        },
        infos,
        metrics,
    );
    // Sanity: the decision is the one the inputs imply, so the benchmark measures real work.
    let mut h = History::default();
    let d = decide(&input, &policy, &cfg, &mut h, now);
    assert_eq!(d.explanation.metrics.len(), 3);
    assert!(d.explanation.proposal.is_some());

    let mut history = History::default();
    history.record_initial(PODS as i32, now - SignedDuration::from_secs(60));
    c.bench_function("hpa_decision/decide_3_metrics_1000_pods", |b| {
        b.iter_batched_ref(
            || history.clone(),
            |h| decide(&input, &policy, &cfg, h, now),
            BatchSize::SmallInput,
        )
    });
    c.bench_function("hpa_decision/digest_1000_pods", |b| {
        b.iter(|| {
            pods.iter()
                .map(|p| PodInfo::from_pod(p, &keys, &cfg))
                .collect::<Vec<_>>()
        })
    });
}

criterion_group!(benches, bench);
criterion_main!(benches);
