//! Lease leader election on `coordination.k8s.io/v1`, with client-go's rules.
//!
//! Every replica runs a [`LeaderElector`]; the one holding the Lease is the leader and the only one
//! that writes. Leadership is published on a `tokio::sync::watch` channel ([`LeaderElector::subscribe`]):
//! the controller checks it before every write and stops writing the moment it turns `false`.
//!
//! Each round (every `retry_period`) the elector reads the Lease and decides with the pure
//! [`decide`]: create it when absent, renew it when it holds it, take it over when its holder has
//! not renewed for the holder's `leaseDurationSeconds`, wait otherwise. Expiry is judged as
//! client-go judges it, by how long *this process* has seen the same record unchanged (not by
//! comparing `renewTime` with the local clock), so clock skew between nodes cannot make a replica
//! take a Lease early. Writes carry the resourceVersion read, so two candidates cannot both win.
//!
//! While leading, the elector renews by writing its last copy directly (one request per round) and
//! falls back to a read when that fails. It steps down (the flag goes `false`) when the Lease has
//! been taken by another holder, or when no renewal has succeeded for `renew_deadline`: that is
//! shorter than `lease_duration`, so the old leader has stopped writing before anyone else may
//! take over. After stepping down it keeps running as a candidate. On shutdown a leader releases
//! the Lease as client-go's `ReleaseOnCancel` does (empty holder, `leaseDurationSeconds: 1`), so a
//! standby takes over in one round instead of waiting for expiry.
//!
//! Durations run on tokio's clock (`tokio::time`), so tests use paused time; timestamps written
//! into the Lease come from a [`Clock`]. Rounds are not jittered: a controller runs a handful of
//! replicas, not enough to make their requests collide.

use std::sync::Arc;
use std::time::Duration;

use k8s_openapi::api::coordination::v1::{Lease, LeaseSpec};
use k8s_openapi::apimachinery::pkg::apis::meta::v1::{MicroTime, ObjectMeta};
use kube::api::{Api, PostParams};
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::registry::Registry;
use swell_core::clock::Clock;
use tokio::sync::watch;
use tokio::time::Instant;
use tokio_util::sync::CancellationToken;

/// What went wrong in leader election.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// The configuration breaks client-go's ordering rules or names nothing.
    #[error("failed to validate leader election config: {0}")]
    InvalidConfig(String),
    /// Reading the Lease failed.
    #[error("failed to get lease {lease}: {source}")]
    Get {
        /// `namespace/name`.
        lease: String,
        /// The API error.
        #[source]
        source: kube::Error,
    },
    /// Creating, renewing, taking over or releasing the Lease failed.
    #[error("failed to write lease {lease}: {source}")]
    Write {
        /// `namespace/name`.
        lease: String,
        /// The API error.
        #[source]
        source: kube::Error,
    },
    /// The API server did not answer within the time left before the renew deadline.
    #[error("failed to reach the api server about lease {lease} within {budget:?}")]
    Timeout {
        /// `namespace/name`.
        lease: String,
        /// How long was waited.
        budget: Duration,
    },
}

/// A `Result` with this module's [`Error`].
pub type Result<T, E = Error> = std::result::Result<T, E>;

/// Where the Lease is, who this replica is, and the timing (client-go's names and defaults).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct LeaderConfig {
    /// The Lease's namespace.
    pub namespace: String,
    /// The Lease's name (`swell-pod-autoscaler`).
    pub name: String,
    /// This replica's identity, unique among the candidates (pod name plus a random suffix).
    pub identity: String,
    /// How long others wait after the last renewal they saw before taking over (15s).
    pub lease_duration: Duration,
    /// How long the leader keeps trying to renew before it steps down (10s).
    pub renew_deadline: Duration,
    /// How long between two rounds (2s).
    pub retry_period: Duration,
}

impl LeaderConfig {
    /// A config with kube-controller-manager's defaults: 15s lease, 10s renew deadline, 2s retry.
    pub fn new(namespace: impl Into<String>, name: impl Into<String>, identity: impl Into<String>) -> Self {
        LeaderConfig {
            namespace: namespace.into(),
            name: name.into(),
            identity: identity.into(),
            lease_duration: Duration::from_secs(15),
            renew_deadline: Duration::from_secs(10),
            retry_period: Duration::from_secs(2),
        }
    }

    /// Checks client-go's rules: names set, `lease_duration > renew_deadline > 1.2 × retry_period`,
    /// whole seconds of lease (the Lease stores seconds).
    pub fn validate(&self) -> Result<()> {
        let fail = |msg: String| Err(Error::InvalidConfig(msg));
        if self.namespace.is_empty() || self.name.is_empty() {
            return fail("the lease namespace and name must be set".into());
        }
        if self.identity.is_empty() {
            return fail("the identity must be set".into());
        }
        if self.retry_period.is_zero() {
            return fail("the retry period must be positive".into());
        }
        if self.lease_duration <= self.renew_deadline {
            return fail(format!(
                "the lease duration ({:?}) must be greater than the renew deadline ({:?})",
                self.lease_duration, self.renew_deadline
            ));
        }
        if self.renew_deadline <= self.retry_period.mul_f64(1.2) {
            return fail(format!(
                "the renew deadline ({:?}) must be greater than 1.2 times the retry period ({:?})",
                self.renew_deadline, self.retry_period
            ));
        }
        if lease_seconds(self.lease_duration).is_none() {
            return fail(format!(
                "the lease duration ({:?}) must be at least 1s",
                self.lease_duration
            ));
        }
        Ok(())
    }

    fn lease(&self) -> String {
        format!("{}/{}", self.namespace, self.name)
    }
}

/// A candidate identity unique to this process: `base` (the pod's name) plus a random suffix, as
/// kube-controller-manager's `hostname_uuid`. The suffix keeps a restarted pod with the same name
/// from mistaking its predecessor's Lease for its own.
pub fn unique_identity(base: &str) -> String {
    use std::hash::{BuildHasher, RandomState};
    // RandomState is seeded from the operating system's randomness: enough for a suffix that only
    // has to differ between processes, with no RNG dependency.
    let suffix = RandomState::new().hash_one((std::process::id(), std::time::SystemTime::now()));
    format!("{base}_{suffix:016x}")
}

/// Whole seconds for `leaseDurationSeconds`, `None` below one second or beyond `i32`.
fn lease_seconds(d: Duration) -> Option<i32> {
    i32::try_from(d.as_secs()).ok().filter(|s| *s >= 1)
}

/// What one round should do.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Action {
    /// No Lease exists: create it with this replica as holder.
    Create,
    /// The Lease is free (released) or expired: take it over with an update at its resourceVersion.
    Acquire,
    /// This replica holds the Lease: renew it.
    Renew,
    /// Another holder's Lease is still valid: stand by.
    Wait,
    /// This replica was leading but the Lease now names another holder: step down.
    Lost,
}

/// What a round knows when it decides.
#[derive(Clone, Copy, Debug)]
pub struct Observation<'a> {
    /// The Lease as just read, `None` when it does not exist.
    pub lease: Option<&'a Lease>,
    /// How long this process has seen the Lease's current record (its spec) unchanged; zero when it
    /// just changed or was seen for the first time. client-go's `observedTime`.
    pub unchanged_for: Duration,
    /// Whether this replica believed it was leading before this round.
    pub leading: bool,
}

/// The decision of one round: pure, so every case is a table row.
///
/// A holder's Lease expires `leaseDurationSeconds` (the holder's own, else `default_lease_duration`)
/// after this process first saw its current record.
pub fn decide(observation: &Observation<'_>, identity: &str, default_lease_duration: Duration) -> Action {
    let Some(lease) = observation.lease else {
        return Action::Create;
    };
    let spec = lease.spec.as_ref();
    let holder = spec.and_then(|s| s.holder_identity.as_deref()).unwrap_or("");
    if holder.is_empty() {
        return Action::Acquire;
    }
    if holder == identity {
        return Action::Renew;
    }
    if observation.leading {
        return Action::Lost;
    }
    let duration = spec
        .and_then(|s| s.lease_duration_seconds)
        .and_then(|s| u64::try_from(s).ok())
        .filter(|s| *s > 0)
        .map_or(default_lease_duration, Duration::from_secs);
    if observation.unchanged_for >= duration {
        Action::Acquire
    } else {
        Action::Wait
    }
}

/// Runs the election for one replica. Create with [`LeaderElector::new`], take receivers with
/// [`LeaderElector::subscribe`], then drive it with [`LeaderElector::run`].
pub struct LeaderElector {
    api: Api<Lease>,
    config: LeaderConfig,
    clock: Arc<dyn Clock>,
    leading: watch::Sender<bool>,
    /// The record last read and since when it has been seen unchanged.
    observed: Option<(Option<LeaseSpec>, Instant)>,
    /// The Lease as last written by this replica while leading: the base of the next renewal.
    mine: Option<Lease>,
    /// When the last renewal (or acquisition) succeeded.
    renewed_at: Option<Instant>,
    /// `leader_election_master_status{name}`, once registered.
    status: Option<Family<Vec<(String, String)>, Gauge>>,
}

impl std::fmt::Debug for LeaderElector {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("LeaderElector")
            .field("config", &self.config)
            .field("leading", &*self.leading.borrow())
            .finish_non_exhaustive()
    }
}

/// What a round ended with.
enum Round {
    Leading,
    NotLeading { holder: Option<String>, lost: bool },
}

impl LeaderElector {
    /// An elector for `config` (validated here), not yet running and not leading.
    pub fn new(client: kube::Client, config: LeaderConfig, clock: Arc<dyn Clock>) -> Result<Self> {
        config.validate()?;
        let (leading, _) = watch::channel(false);
        Ok(LeaderElector {
            api: Api::namespaced(client, &config.namespace),
            config,
            clock,
            leading,
            observed: None,
            mine: None,
            renewed_at: None,
            status: None,
        })
    }

    /// Registers client-go's `leader_election_master_status` gauge (1 while leading, else 0) with a
    /// `name` label set to the Lease name, as kube-controller-manager exposes it.
    pub fn register_metrics(&mut self, registry: &mut Registry) {
        let family = Family::<Vec<(String, String)>, Gauge>::default();
        registry.register(
            "leader_election_master_status",
            "Whether this replica is the leader (1) or a standby (0) of the named lease",
            family.clone(),
        );
        family
            .get_or_create(&self.status_labels())
            .set(i64::from(*self.leading.borrow()));
        self.status = Some(family);
    }

    fn status_labels(&self) -> Vec<(String, String)> {
        vec![("name".to_owned(), self.config.name.clone())]
    }

    /// A receiver of the leadership flag: `true` while this replica leads.
    pub fn subscribe(&self) -> watch::Receiver<bool> {
        self.leading.subscribe()
    }

    /// Runs rounds until `shutdown` is cancelled, then releases the Lease if leading.
    pub async fn run(mut self, shutdown: CancellationToken) {
        loop {
            self.step_down_if_past_deadline();
            let budget = self.attempt_budget();
            let round = tokio::select! {
                () = shutdown.cancelled() => break,
                round = tokio::time::timeout(budget, self.round()) => round,
            };
            let round = round.unwrap_or_else(|_| {
                Err(Error::Timeout {
                    lease: self.config.lease(),
                    budget,
                })
            });
            match round {
                Ok(Round::Leading) => {
                    self.renewed_at = Some(Instant::now());
                    self.set_leading(true, None);
                }
                Ok(Round::NotLeading { holder, lost }) => {
                    if lost {
                        tracing::warn!(
                            lease = %self.config.lease(),
                            holder = holder.as_deref(),
                            "lease taken by another holder"
                        );
                    }
                    self.set_leading(false, holder.as_deref());
                }
                Err(err) => {
                    tracing::warn!(
                        lease = %self.config.lease(),
                        error = %err,
                        "leader election round failed"
                    );
                    self.step_down_if_past_deadline();
                }
            }
            tokio::select! {
                () = shutdown.cancelled() => break,
                () = tokio::time::sleep(self.config.retry_period) => {}
            }
        }
        self.release().await;
    }

    /// The time an attempt may take: while leading, what is left before the renew deadline, so a
    /// hung API server cannot keep a stale leader writing.
    fn attempt_budget(&self) -> Duration {
        match self.renewed_at {
            Some(at) if *self.leading.borrow() => self.config.renew_deadline.saturating_sub(at.elapsed()),
            _ => self.config.renew_deadline,
        }
    }

    fn step_down_if_past_deadline(&mut self) {
        let past = self
            .renewed_at
            .is_some_and(|at| at.elapsed() >= self.config.renew_deadline);
        if past && *self.leading.borrow() {
            tracing::warn!(
                lease = %self.config.lease(),
                deadline = ?self.config.renew_deadline,
                "failed to renew the lease before the renew deadline; stepping down"
            );
            self.set_leading(false, None);
        }
    }

    fn set_leading(&mut self, leading: bool, holder: Option<&str>) {
        if !leading {
            self.mine = None;
            self.renewed_at = None;
        }
        // The gauge first: whoever wakes on the flag sees the metric already agree with it.
        if let Some(status) = &self.status {
            status
                .get_or_create(&self.status_labels())
                .set(i64::from(leading));
        }
        let changed = self.leading.send_if_modified(|current| {
            let changed = *current != leading;
            *current = leading;
            changed
        });
        if changed {
            if leading {
                tracing::info!(
                    lease = %self.config.lease(),
                    identity = %self.config.identity,
                    "became leader"
                );
            } else {
                tracing::info!(lease = %self.config.lease(), holder, "stopped leading");
            }
        }
    }

    async fn round(&mut self) -> Result<Round> {
        let now = self.clock.now();
        let leading = *self.leading.borrow();
        // Fast path: renew from the copy last written, one request instead of two.
        if leading && let Some(mine) = self.mine.clone() {
            match self.write(&renewed(&mine, &self.config, now)).await {
                Ok(lease) => {
                    self.remember(lease);
                    return Ok(Round::Leading);
                }
                Err(err) => tracing::debug!(error = %err, "fast lease renewal failed; reading the lease"),
            }
        }
        let current = self
            .api
            .get_opt(&self.config.name)
            .await
            .map_err(|source| Error::Get {
                lease: self.config.lease(),
                source,
            })?;
        let unchanged_for = self.observe(current.as_ref());
        let observation = Observation {
            lease: current.as_ref(),
            unchanged_for,
            leading,
        };
        let holder = current
            .as_ref()
            .and_then(|l| l.spec.as_ref())
            .and_then(|s| s.holder_identity.clone());
        let next = match (
            decide(&observation, &self.config.identity, self.config.lease_duration),
            current,
        ) {
            (Action::Wait, _) => return Ok(Round::NotLeading { holder, lost: false }),
            (Action::Lost, _) => return Ok(Round::NotLeading { holder, lost: true }),
            (Action::Create, _) => {
                let created = self
                    .api
                    .create(&PostParams::default(), &created(&self.config, now))
                    .await;
                return self.written(created, holder);
            }
            (Action::Acquire, Some(lease)) => acquired(&lease, &self.config, now),
            (Action::Renew, Some(lease)) => renewed(&lease, &self.config, now),
            // decide() answers Acquire and Renew only about an existing Lease.
            (Action::Acquire | Action::Renew, None) => return Ok(Round::NotLeading { holder, lost: false }),
        };
        let result = self
            .api
            .replace(&self.config.name, &PostParams::default(), &next)
            .await;
        self.written(result, holder)
    }

    /// Turns a create or update answer into the round's outcome: a 409 means another candidate
    /// wrote first, which is losing this round, not an error.
    fn written(&mut self, result: kube::Result<Lease>, holder: Option<String>) -> Result<Round> {
        match result {
            Ok(lease) => {
                self.remember(lease);
                Ok(Round::Leading)
            }
            Err(kube::Error::Api(status)) if status.code == 409 => Ok(Round::NotLeading {
                holder,
                lost: *self.leading.borrow(),
            }),
            Err(source) => Err(Error::Write {
                lease: self.config.lease(),
                source,
            }),
        }
    }

    async fn write(&self, lease: &Lease) -> Result<Lease> {
        self.api
            .replace(&self.config.name, &PostParams::default(), lease)
            .await
            .map_err(|source| Error::Write {
                lease: self.config.lease(),
                source,
            })
    }

    /// Keeps what this replica wrote as the base of the next renewal, and as an observed record
    /// (it is what the others see too).
    fn remember(&mut self, lease: Lease) {
        self.observed = Some((lease.spec.clone(), Instant::now()));
        self.mine = Some(lease);
    }

    /// Updates the observed record and returns how long it has been unchanged.
    fn observe(&mut self, lease: Option<&Lease>) -> Duration {
        let spec = lease.and_then(|l| l.spec.clone());
        match &self.observed {
            Some((seen, since)) if *seen == spec && lease.is_some() => since.elapsed(),
            _ => {
                self.observed = Some((spec, Instant::now()));
                Duration::ZERO
            }
        }
    }

    /// Hands the Lease over at shutdown: leadership off first (no more writes), then the release.
    async fn release(&mut self) {
        let Some(mine) = self.mine.clone().filter(|_| *self.leading.borrow()) else {
            return;
        };
        self.set_leading(false, None);
        let now = self.clock.now();
        let mut result = self.write(&released(&mine, now)).await;
        if let Err(Error::Write {
            source: kube::Error::Api(status),
            ..
        }) = &result
            && status.code == 409
        {
            // Written since our last renewal (by us, in a round cut short): release the current
            // copy if it is still ours.
            match self.api.get_opt(&self.config.name).await {
                Ok(Some(current)) if holder_of(&current) == Some(self.config.identity.as_str()) => {
                    result = self.write(&released(&current, now)).await;
                }
                _ => return,
            }
        }
        match result {
            Ok(_) => tracing::info!(lease = %self.config.lease(), "released the lease"),
            Err(err) => {
                tracing::warn!(error = %err, "failed to release the lease; others take over when it expires")
            }
        }
    }
}

fn holder_of(lease: &Lease) -> Option<&str> {
    lease.spec.as_ref().and_then(|s| s.holder_identity.as_deref())
}

fn created(config: &LeaderConfig, now: jiff::Timestamp) -> Lease {
    Lease {
        metadata: ObjectMeta {
            name: Some(config.name.clone()),
            namespace: Some(config.namespace.clone()),
            ..ObjectMeta::default()
        },
        spec: Some(LeaseSpec {
            holder_identity: Some(config.identity.clone()),
            lease_duration_seconds: lease_seconds(config.lease_duration),
            acquire_time: Some(MicroTime(now)),
            renew_time: Some(MicroTime(now)),
            lease_transitions: Some(0),
            ..LeaseSpec::default()
        }),
    }
}

/// Taken over from another (or no) holder: a new acquireTime and one more transition.
fn acquired(current: &Lease, config: &LeaderConfig, now: jiff::Timestamp) -> Lease {
    let old = current.spec.clone().unwrap_or_default();
    Lease {
        metadata: current.metadata.clone(),
        spec: Some(LeaseSpec {
            holder_identity: Some(config.identity.clone()),
            lease_duration_seconds: lease_seconds(config.lease_duration),
            acquire_time: Some(MicroTime(now)),
            renew_time: Some(MicroTime(now)),
            lease_transitions: Some(old.lease_transitions.unwrap_or(0).saturating_add(1)),
            ..old
        }),
    }
}

/// Renewed by its holder: only renewTime moves (and the duration follows the config).
fn renewed(current: &Lease, config: &LeaderConfig, now: jiff::Timestamp) -> Lease {
    let old = current.spec.clone().unwrap_or_default();
    Lease {
        metadata: current.metadata.clone(),
        spec: Some(LeaseSpec {
            holder_identity: Some(config.identity.clone()),
            lease_duration_seconds: lease_seconds(config.lease_duration),
            renew_time: Some(MicroTime(now)),
            ..old
        }),
    }
}

/// client-go's `ReleaseOnCancel` record: no holder, a one-second lease, transitions kept.
fn released(current: &Lease, now: jiff::Timestamp) -> Lease {
    let old = current.spec.clone().unwrap_or_default();
    Lease {
        metadata: current.metadata.clone(),
        spec: Some(LeaseSpec {
            holder_identity: Some(String::new()),
            lease_duration_seconds: Some(1),
            acquire_time: Some(MicroTime(now)),
            renew_time: Some(MicroTime(now)),
            ..old
        }),
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used)]

    use http::Method;
    use jiff::Timestamp;
    use serde_json::{Value, json};

    use super::*;
    use crate::testing::{Reply, ScriptedApi, with_resource_version};

    const ME: &str = "swell-a";
    const LEASES: &str = "/apis/coordination.k8s.io/v1/namespaces/swell-system/leases";
    const LEASE: &str = "/apis/coordination.k8s.io/v1/namespaces/swell-system/leases/swell-pod-autoscaler";

    fn secs(n: u64) -> Duration {
        Duration::from_secs(n)
    }

    fn lease(holder: Option<&str>, duration: Option<i32>) -> Lease {
        Lease {
            metadata: ObjectMeta::default(),
            spec: Some(LeaseSpec {
                holder_identity: holder.map(str::to_owned),
                lease_duration_seconds: duration,
                ..LeaseSpec::default()
            }),
        }
    }

    struct Case {
        name: &'static str,
        lease: Option<Lease>,
        unchanged_for: Duration,
        leading: bool,
        want: Action,
    }

    #[test]
    fn decide_table() {
        let cases = [
            Case {
                name: "no lease is created",
                lease: None,
                unchanged_for: secs(0),
                leading: false,
                want: Action::Create,
            },
            Case {
                name: "a deleted lease is created again by its leader",
                lease: None,
                unchanged_for: secs(0),
                leading: true,
                want: Action::Create,
            },
            Case {
                name: "our own lease is renewed",
                lease: Some(lease(Some(ME), Some(15))),
                unchanged_for: secs(3),
                leading: true,
                want: Action::Renew,
            },
            Case {
                name: "our own lease found after a restart is renewed",
                lease: Some(lease(Some(ME), Some(15))),
                unchanged_for: secs(0),
                leading: false,
                want: Action::Renew,
            },
            Case {
                name: "a released lease (empty holder) is acquired at once",
                lease: Some(lease(Some(""), Some(1))),
                unchanged_for: secs(0),
                leading: false,
                want: Action::Acquire,
            },
            Case {
                name: "a lease without holder or spec is acquired at once",
                lease: Some(Lease::default()),
                unchanged_for: secs(0),
                leading: false,
                want: Action::Acquire,
            },
            Case {
                name: "another holder's fresh lease is waited on",
                lease: Some(lease(Some("b"), Some(15))),
                unchanged_for: secs(0),
                leading: false,
                want: Action::Wait,
            },
            Case {
                name: "another holder's lease one second before expiry is waited on",
                lease: Some(lease(Some("b"), Some(15))),
                unchanged_for: secs(14),
                leading: false,
                want: Action::Wait,
            },
            Case {
                name: "another holder's lease unchanged for its duration is acquired",
                lease: Some(lease(Some("b"), Some(15))),
                unchanged_for: secs(15),
                leading: false,
                want: Action::Acquire,
            },
            Case {
                name: "the holder's own duration counts, not ours",
                lease: Some(lease(Some("b"), Some(60))),
                unchanged_for: secs(30),
                leading: false,
                want: Action::Wait,
            },
            Case {
                name: "a holder's short duration expires early",
                lease: Some(lease(Some("b"), Some(5))),
                unchanged_for: secs(5),
                leading: false,
                want: Action::Acquire,
            },
            Case {
                name: "a lease without duration uses ours",
                lease: Some(lease(Some("b"), None)),
                unchanged_for: secs(15),
                leading: false,
                want: Action::Acquire,
            },
            Case {
                name: "a zero duration uses ours",
                lease: Some(lease(Some("b"), Some(0))),
                unchanged_for: secs(10),
                leading: false,
                want: Action::Wait,
            },
            Case {
                name: "a leader finding another holder has lost",
                lease: Some(lease(Some("b"), Some(15))),
                unchanged_for: secs(0),
                leading: true,
                want: Action::Lost,
            },
            Case {
                name: "a leader finding another holder's expired lease has still lost",
                lease: Some(lease(Some("b"), Some(15))),
                unchanged_for: secs(20),
                leading: true,
                want: Action::Lost,
            },
        ];
        for case in &cases {
            let observation = Observation {
                lease: case.lease.as_ref(),
                unchanged_for: case.unchanged_for,
                leading: case.leading,
            };
            assert_eq!(decide(&observation, ME, secs(15)), case.want, "{}", case.name);
        }
    }

    #[test]
    fn unique_identities_keep_the_base_and_differ() {
        let a = unique_identity("swell-pod-autoscaler-7d9f-abcde");
        let b = unique_identity("swell-pod-autoscaler-7d9f-abcde");
        assert!(a.starts_with("swell-pod-autoscaler-7d9f-abcde_"), "{a}");
        assert_eq!(a.len(), "swell-pod-autoscaler-7d9f-abcde_".len() + 16, "{a}");
        assert_ne!(a, b);
    }

    #[test]
    fn config_validation_follows_client_go() {
        let ok = LeaderConfig::new("ns", "l", ME);
        ok.validate().unwrap();
        let bad = [
            (
                "identity",
                LeaderConfig {
                    identity: String::new(),
                    ..ok.clone()
                },
            ),
            (
                "namespace",
                LeaderConfig {
                    namespace: String::new(),
                    ..ok.clone()
                },
            ),
            (
                "lease duration",
                LeaderConfig {
                    lease_duration: secs(10),
                    ..ok.clone()
                },
            ),
            (
                "renew deadline",
                LeaderConfig {
                    renew_deadline: Duration::from_millis(2400),
                    ..ok.clone()
                },
            ),
            (
                "retry period",
                LeaderConfig {
                    retry_period: Duration::ZERO,
                    ..ok.clone()
                },
            ),
        ];
        for (what, config) in bad {
            let err = config.validate().unwrap_err();
            assert!(
                err.to_string()
                    .starts_with("failed to validate leader election config"),
                "{err}"
            );
            assert!(err.to_string().contains(what), "{what}: {err}");
        }
    }

    /// Wall time that follows tokio's (paused) clock, so Lease timestamps move with the rounds.
    #[derive(Debug)]
    struct TokioClock {
        base: Timestamp,
        start: Instant,
    }

    impl Clock for TokioClock {
        fn now(&self) -> Timestamp {
            self.base.checked_add(self.start.elapsed()).unwrap()
        }
    }

    fn t0() -> Timestamp {
        "2026-03-01T10:00:00Z".parse().unwrap()
    }

    /// The MicroTime string of `t0 + secs`.
    fn at(secs: i64) -> String {
        let t = t0().checked_add(jiff::SignedDuration::from_secs(secs)).unwrap();
        jiff::fmt::strtime::format("%Y-%m-%dT%H:%M:%S%.6fZ", t).unwrap()
    }

    struct Running {
        api: ScriptedApi,
        leading: watch::Receiver<bool>,
        stop: CancellationToken,
        task: tokio::task::JoinHandle<()>,
        start: Instant,
    }

    impl Running {
        fn elapsed(&self) -> Duration {
            self.start.elapsed()
        }
        async fn until_leading(&mut self, want: bool) {
            self.leading.wait_for(|l| *l == want).await.unwrap();
        }
        async fn stop(self) -> ScriptedApi {
            self.stop.cancel();
            self.task.await.unwrap();
            self.api
        }
    }

    fn start(api: ScriptedApi) -> Running {
        let clock = Arc::new(TokioClock {
            base: t0(),
            start: Instant::now(),
        });
        let config = LeaderConfig::new("swell-system", "swell-pod-autoscaler", ME);
        let elector = LeaderElector::new(api.client(), config, clock).unwrap();
        let leading = elector.subscribe();
        let stop = CancellationToken::new();
        let task = tokio::spawn(elector.run(stop.clone()));
        Running {
            api,
            leading,
            stop,
            task,
            start: Instant::now(),
        }
    }

    fn other_lease(holder: &str, rv: &str, renew: &str, transitions: i32) -> Value {
        json!({
            "apiVersion": "coordination.k8s.io/v1", "kind": "Lease",
            "metadata": {"name": "swell-pod-autoscaler", "namespace": "swell-system", "resourceVersion": rv},
            "spec": {"holderIdentity": holder, "leaseDurationSeconds": 15, "acquireTime": renew,
                     "renewTime": renew, "leaseTransitions": transitions},
        })
    }

    /// Echo a written Lease back with resourceVersion `rv`.
    fn echo(status: u16, rv: &'static str) -> impl FnMut(&crate::testing::RecordedRequest) -> Reply + Send {
        move |req| Reply::json(status, with_resource_version(req.json(), rv))
    }

    #[tokio::test(start_paused = true)]
    async fn an_absent_lease_is_created_then_renewed_with_its_resource_version_then_released() {
        let api = ScriptedApi::new();
        api.expect(Method::GET, LEASE)
            .reply(Reply::not_found("leases", "swell-pod-autoscaler"));
        api.expect(Method::POST, LEASES).reply_with(echo(201, "1"));
        api.expect(Method::PUT, LEASE).reply_with(echo(200, "2"));
        let mut run = start(api.clone());

        run.until_leading(true).await;
        assert_eq!(run.elapsed(), secs(0));
        let create = api.requests()[1].json();
        assert_eq!(create["metadata"]["name"], "swell-pod-autoscaler");
        assert_eq!(create["metadata"]["namespace"], "swell-system");
        assert_eq!(
            create["spec"],
            json!({
                "holderIdentity": ME, "leaseDurationSeconds": 15,
                "acquireTime": at(0), "renewTime": at(0), "leaseTransitions": 0,
            })
        );

        api.wait_for_requests(3).await;
        assert_eq!(run.elapsed(), secs(2), "renewed one retry period later");
        let renew = api.requests()[2].json();
        assert_eq!(renew["metadata"]["resourceVersion"], "1");
        assert_eq!(
            renew["spec"],
            json!({
                "holderIdentity": ME, "leaseDurationSeconds": 15,
                "acquireTime": at(0), "renewTime": at(2), "leaseTransitions": 0,
            })
        );
        assert!(*run.leading.borrow());

        // Shutdown hands the lease over: no holder, a one-second lease, at the last resourceVersion.
        api.expect(Method::PUT, LEASE).reply_with(echo(200, "3"));
        let mut leading = run.leading.clone();
        let api = run.stop().await;
        api.verify();
        assert!(!*leading.borrow_and_update());
        let release = api.requests()[3].json();
        assert_eq!(release["metadata"]["resourceVersion"], "2");
        assert_eq!(
            release["spec"],
            json!({
                "holderIdentity": "", "leaseDurationSeconds": 1,
                "acquireTime": at(2), "renewTime": at(2), "leaseTransitions": 0,
            })
        );
    }

    #[tokio::test(start_paused = true)]
    async fn the_status_gauge_follows_leadership() {
        let api = ScriptedApi::new();
        api.expect(Method::GET, LEASE)
            .reply(Reply::not_found("leases", "swell-pod-autoscaler"));
        api.expect(Method::POST, LEASES).reply_with(echo(201, "1"));
        api.expect(Method::PUT, LEASE)
            .reply(Reply::conflict("leases", "swell-pod-autoscaler"));
        api.expect(Method::GET, LEASE)
            .any_number_of_times()
            .reply_json(200, other_lease("swell-b", "5", &at(1), 1));
        let clock = Arc::new(TokioClock {
            base: t0(),
            start: Instant::now(),
        });
        let config = LeaderConfig::new("swell-system", "swell-pod-autoscaler", ME);
        let mut elector = LeaderElector::new(api.client(), config, clock).unwrap();
        let mut registry = Registry::default();
        elector.register_metrics(&mut registry);
        let render = |registry: &Registry| {
            let mut text = String::new();
            prometheus_client::encoding::text::encode(&mut text, registry).unwrap();
            text
        };
        let line = |v: u8| format!("leader_election_master_status{{name=\"swell-pod-autoscaler\"}} {v}\n");
        assert!(render(&registry).contains(&line(0)), "{}", render(&registry));

        let mut leading = elector.subscribe();
        let stop = CancellationToken::new();
        let task = tokio::spawn(elector.run(stop.clone()));
        leading.wait_for(|l| *l).await.unwrap();
        assert!(render(&registry).contains(&line(1)), "{}", render(&registry));
        leading.wait_for(|l| !*l).await.unwrap();
        assert!(render(&registry).contains(&line(0)), "{}", render(&registry));
        stop.cancel();
        task.await.unwrap();
    }

    #[tokio::test(start_paused = true)]
    async fn a_conflict_on_renewal_with_another_holder_is_lost_at_once() {
        let api = ScriptedApi::new();
        api.expect(Method::GET, LEASE)
            .reply(Reply::not_found("leases", "swell-pod-autoscaler"));
        api.expect(Method::POST, LEASES).reply_with(echo(201, "1"));
        api.expect(Method::PUT, LEASE)
            .reply(Reply::conflict("leases", "swell-pod-autoscaler"));
        api.expect(Method::GET, LEASE)
            .any_number_of_times()
            .reply_json(200, other_lease("swell-b", "5", &at(1), 1));
        let mut run = start(api.clone());
        run.until_leading(true).await;
        run.until_leading(false).await;
        assert_eq!(
            run.elapsed(),
            secs(2),
            "stepped down in the round whose renewal failed"
        );
        let requests = api.requests();
        assert_eq!(requests[2].method, Method::PUT);
        assert_eq!(requests[3].method, Method::GET);

        // Standing by: reads only, and no release at shutdown since it no longer leads.
        api.wait_for_requests(8).await;
        let api = run.stop().await;
        api.verify();
        assert_eq!(api.requests_to(&Method::PUT, LEASE).len(), 1);
    }

    #[tokio::test(start_paused = true)]
    async fn a_leader_that_cannot_renew_steps_down_at_the_renew_deadline() {
        let api = ScriptedApi::new();
        api.expect(Method::GET, LEASE)
            .reply(Reply::not_found("leases", "swell-pod-autoscaler"));
        api.expect(Method::POST, LEASES).reply_with(echo(201, "1"));
        api.expect(Method::PUT, LEASE)
            .any_number_of_times()
            .reply(Reply::status(
                500,
                "InternalError",
                "etcdserver: request timed out",
            ));
        api.expect(Method::GET, LEASE)
            .any_number_of_times()
            .reply(Reply::status(
                500,
                "InternalError",
                "etcdserver: request timed out",
            ));
        let mut run = start(api.clone());
        run.until_leading(true).await;
        run.until_leading(false).await;
        assert_eq!(run.elapsed(), secs(10));
        // Rounds at 2, 4, 6 and 8 s each tried a renewal, then a read.
        assert_eq!(api.requests_to(&Method::PUT, LEASE).len(), 4);
        let api = run.stop().await;
        api.verify();
    }

    #[tokio::test(start_paused = true)]
    async fn a_hung_api_server_cannot_keep_a_leader_past_the_renew_deadline() {
        let api = ScriptedApi::new();
        api.expect(Method::GET, LEASE)
            .reply(Reply::not_found("leases", "swell-pod-autoscaler"));
        api.expect(Method::POST, LEASES).reply_with(echo(201, "1"));
        // From the first renewal on, answers come an hour late.
        let hour = secs(3600);
        api.expect(Method::PUT, LEASE)
            .any_number_of_times()
            .delay(hour)
            .reply_with(echo(200, "2"));
        api.expect(Method::GET, LEASE)
            .any_number_of_times()
            .delay(hour)
            .reply(Reply::not_found("leases", "x"));
        let mut run = start(api.clone());
        run.until_leading(true).await;
        run.until_leading(false).await;
        // The renewal sent at 2 s is given up at the deadline, 10 s after the last success.
        assert_eq!(run.elapsed(), secs(10));
        assert_eq!(api.requests_to(&Method::PUT, LEASE).len(), 1);
        run.stop().await.verify();
    }

    #[tokio::test(start_paused = true)]
    async fn another_holders_lease_is_taken_over_once_unchanged_for_its_duration() {
        let api = ScriptedApi::new();
        // A holder that died: the same record on every read.
        api.expect(Method::GET, LEASE)
            .any_number_of_times()
            .reply_json(200, other_lease("swell-b", "7", "2026-03-01T09:59:59.000000Z", 3));
        api.expect(Method::PUT, LEASE).reply_with(echo(200, "8"));
        let mut run = start(api.clone());
        run.until_leading(true).await;
        // Seen first at 0 s; rounds at 2, 4, ..., 14 s find it valid; at 16 s it has been unchanged
        // for more than its 15 s.
        assert_eq!(run.elapsed(), secs(16));
        let puts = api.requests_to(&Method::PUT, LEASE);
        let takeover = puts[0].json();
        assert_eq!(takeover["metadata"]["resourceVersion"], "7");
        assert_eq!(
            takeover["spec"],
            json!({
                "holderIdentity": ME, "leaseDurationSeconds": 15,
                "acquireTime": at(16), "renewTime": at(16), "leaseTransitions": 4,
            })
        );
        api.expect(Method::PUT, LEASE)
            .any_number_of_times()
            .reply_with(echo(200, "9"));
        run.stop().await.verify();
    }

    #[tokio::test(start_paused = true)]
    async fn a_lease_its_holder_keeps_renewing_is_never_taken() {
        let api = ScriptedApi::new();
        let mut reads = 0;
        api.expect(Method::GET, LEASE)
            .any_number_of_times()
            .reply_with(move |_| {
                reads += 1;
                let renew = format!("2026-03-01T10:00:{:02}.000000Z", (reads * 2) % 60);
                Reply::json(200, other_lease("swell-b", &reads.to_string(), &renew, 1))
            });
        let run = start(api.clone());
        api.wait_for_requests(30).await;
        assert_eq!(run.elapsed(), secs(58));
        assert!(!*run.leading.borrow());
        let api = run.stop().await;
        api.verify();
        assert!(api.requests().iter().all(|r| r.method == Method::GET));
    }

    #[tokio::test(start_paused = true)]
    async fn a_released_lease_is_acquired_in_the_first_round() {
        let api = ScriptedApi::new();
        api.expect(Method::GET, LEASE)
            .reply_json(200, other_lease("", "12", &at(-1), 2));
        api.expect(Method::PUT, LEASE).reply_with(echo(200, "13"));
        let mut run = start(api.clone());
        run.until_leading(true).await;
        assert_eq!(run.elapsed(), secs(0));
        let takeover = api.requests()[1].json();
        assert_eq!(takeover["spec"]["holderIdentity"], ME);
        assert_eq!(takeover["spec"]["leaseTransitions"], 3);
        api.expect(Method::PUT, LEASE)
            .any_number_of_times()
            .reply_with(echo(200, "14"));
        run.stop().await.verify();
    }

    #[tokio::test(start_paused = true)]
    async fn losing_the_create_race_is_standing_by_not_an_error() {
        let api = ScriptedApi::new();
        api.expect(Method::GET, LEASE)
            .reply(Reply::not_found("leases", "swell-pod-autoscaler"));
        api.expect(Method::POST, LEASES)
            .reply(Reply::already_exists("leases", "swell-pod-autoscaler"));
        api.expect(Method::GET, LEASE)
            .reply_json(200, other_lease("swell-b", "1", &at(0), 0));
        let run = start(api.clone());
        api.wait_for_requests(3).await;
        assert_eq!(
            run.elapsed(),
            secs(2),
            "the second read is one retry period later"
        );
        assert!(!*run.leading.borrow());
        run.stop().await.verify();
    }
}
