//! What the controller remembers about its scale-ups between loops, as pure data: the requests still
//! on their way, the groups' backoff, and what to undo when a cloud does not deliver.
//!
//! ```text
//! record(group, from, to, now)        a scale-up was requested (set_target_size succeeded)
//! observe(group, registered, target, instances, now) -> Vec<Verdict>
//!     registered >= requested         Done: the nodes came
//!     an instance FailedToCreate      Failed: undo those instances, back the group off at once
//!     past --max-node-provision-time  TimedOut: undo what has not registered, back the group off
//! backoff_until(group, now)           5m, doubling to 30m, forgotten 3h after the last failure
//! ```
//!
//! Cluster Autoscaler keeps the same records in its cluster-state registry
//! (`clusterstate/clusterstate.go`) and its exponential backoff (`utils/backoff/`); the durations are
//! its defaults. Nothing here reads a clock: every method takes `now`.

use std::collections::BTreeMap;

use jiff::{SignedDuration, Timestamp};
use serde::Serialize;

use crate::provider::{ErrorClass, Instance, InstanceState};

/// The backoff durations (`--initial-node-group-backoff-duration`, `--max-node-group-backoff-duration`,
/// `--node-group-backoff-reset-timeout`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct BackoffConfig {
    /// The first backoff (5m).
    pub initial: SignedDuration,
    /// The longest backoff (30m).
    pub max: SignedDuration,
    /// A failure this long after the previous one starts again from `initial` (3h).
    pub reset_after: SignedDuration,
}

impl Default for BackoffConfig {
    fn default() -> Self {
        BackoffConfig {
            initial: SignedDuration::from_mins(5),
            max: SignedDuration::from_mins(30),
            reset_after: SignedDuration::from_hours(3),
        }
    }
}

/// A scale-up on its way.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct ScaleUpRequest {
    /// The registered-node count the group is expected to reach.
    pub to: usize,
    /// When it was asked for (the latest increase).
    pub at: Timestamp,
    /// When it times out.
    pub deadline: Timestamp,
}

/// A group's backoff.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct GroupBackoff {
    /// The backoff's length.
    pub duration: SignedDuration,
    /// When it ends.
    pub until: Timestamp,
    /// When the failure that caused it happened.
    pub failed_at: Timestamp,
    /// The error class (CA's `errorCode` in the status ConfigMap).
    pub class: ErrorClass,
    /// What went wrong.
    pub message: String,
}

/// What [`ClusterState::observe`] found for a group.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Verdict {
    /// The requested nodes have registered.
    Done,
    /// Instances failed to be created: delete them (lowering the target) and back the group off.
    Failed {
        /// The failed instances' provider ids.
        instances: Vec<String>,
        /// The first failure's class.
        class: ErrorClass,
        /// The first failure's message.
        message: String,
    },
    /// The requested nodes did not register in time: delete the instances that never registered
    /// and lower the target by the nodes the cloud never even started.
    TimedOut {
        /// Instances of the group that exist but never registered as nodes.
        unregistered: Vec<String>,
        /// How far to lower the target beyond those deletions (nodes with no instance at all).
        lower_target_by: usize,
        /// How many nodes were missing.
        missing: usize,
    },
}

/// The controller's memory of scale-ups and backoffs, keyed by group id.
#[derive(Clone, Debug, Default, Serialize)]
pub struct ClusterState {
    requests: BTreeMap<String, ScaleUpRequest>,
    backoff: BTreeMap<String, GroupBackoff>,
}

impl ClusterState {
    /// A scale-up of `group` to `to` nodes was requested at `now`; it must arrive within
    /// `provision_time`. A later increase of a request still on its way moves its deadline, as CA's
    /// registry does.
    pub fn record(&mut self, group: &str, to: usize, now: Timestamp, provision_time: SignedDuration) {
        self.requests.insert(
            group.to_owned(),
            ScaleUpRequest {
                to,
                at: now,
                deadline: now + provision_time,
            },
        );
    }

    /// The request on its way for `group`, if any.
    pub fn request(&self, group: &str) -> Option<&ScaleUpRequest> {
        self.requests.get(group)
    }

    /// Whether any scale-up is on its way.
    pub fn scaling_up(&self) -> bool {
        !self.requests.is_empty()
    }

    /// Checks `group`'s request against what the cloud and the cluster show now. `registered` are
    /// the provider ids of the group's registered nodes; `instances` what the provider lists.
    /// Returns `None` when no request is on its way and no instance has failed.
    pub fn observe(
        &mut self,
        group: &str,
        registered: &[&str],
        target: usize,
        instances: &[Instance],
        now: Timestamp,
    ) -> Option<Verdict> {
        let failed: Vec<&Instance> = instances
            .iter()
            .filter(|i| matches!(i.state, InstanceState::FailedToCreate { .. }))
            .collect();
        if let Some(first) = failed.first() {
            let InstanceState::FailedToCreate { class, message } = &first.state else {
                return None;
            };
            self.requests.remove(group);
            return Some(Verdict::Failed {
                instances: failed.iter().map(|i| i.provider_id.clone()).collect(),
                class: *class,
                message: message.clone(),
            });
        }
        let request = self.requests.get(group)?;
        // The target may have been lowered since (a scale-down, an operator): expect no more than it.
        let expected = request.to.min(target);
        if registered.len() >= expected {
            self.requests.remove(group);
            return Some(Verdict::Done);
        }
        if now < request.deadline {
            return None;
        }
        self.requests.remove(group);
        let unregistered: Vec<String> = instances
            .iter()
            .filter(|i| !matches!(i.state, InstanceState::Deleting))
            .filter(|i| !registered.contains(&i.provider_id.as_str()))
            .map(|i| i.provider_id.clone())
            .collect();
        let missing = target.saturating_sub(registered.len());
        Some(Verdict::TimedOut {
            lower_target_by: missing.saturating_sub(unregistered.len()),
            missing,
            unregistered,
        })
    }

    /// Forgets requests of groups that no longer exist.
    pub fn retain_groups(&mut self, exists: impl Fn(&str) -> bool) {
        self.requests.retain(|g, _| exists(g));
        self.backoff.retain(|g, _| exists(g));
    }

    /// Backs `group` off after a failed scale-up at `now`: the first failure (or the first after
    /// `reset_after` without one) for `initial`, each further one for twice the last, up to `max`.
    pub fn back_off(
        &mut self,
        group: &str,
        class: ErrorClass,
        message: &str,
        now: Timestamp,
        cfg: &BackoffConfig,
    ) -> &GroupBackoff {
        let duration = match self.backoff.get(group) {
            Some(b) if now.duration_since(b.failed_at) < cfg.reset_after => (b.duration * 2).min(cfg.max),
            _ => cfg.initial,
        };
        let entry = self.backoff.entry(group.to_owned()).or_insert(GroupBackoff {
            duration,
            until: now,
            failed_at: now,
            class,
            message: String::new(),
        });
        *entry = GroupBackoff {
            duration,
            until: now + duration,
            failed_at: now,
            class,
            message: message.to_owned(),
        };
        entry
    }

    /// When `group`'s backoff ends, if it is backed off at `now`.
    pub fn backoff_until(&self, group: &str, now: Timestamp) -> Option<Timestamp> {
        self.backoff.get(group).map(|b| b.until).filter(|&u| u > now)
    }

    /// The group's backoff record (kept after it ends, for the doubling), if any.
    pub fn backoff(&self, group: &str) -> Option<&GroupBackoff> {
        self.backoff.get(group)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn t(mins: i64) -> Timestamp {
        Timestamp::from_second(1_800_000_000).unwrap() + SignedDuration::from_mins(mins)
    }

    fn running(id: &str) -> Instance {
        Instance {
            provider_id: id.into(),
            state: InstanceState::Running,
        }
    }

    fn creating(id: &str) -> Instance {
        Instance {
            provider_id: id.into(),
            state: InstanceState::Creating,
        }
    }

    const FIFTEEN: SignedDuration = SignedDuration::from_mins(15);

    #[test]
    fn a_request_is_done_once_enough_nodes_registered() {
        let mut s = ClusterState::default();
        s.record("a", 3, t(0), FIFTEEN);
        let inst = [running("i1"), creating("i2"), creating("i3")];
        assert_eq!(s.observe("a", &["i1"], 3, &inst, t(1)), None);
        assert!(s.scaling_up());
        assert_eq!(
            s.observe("a", &["i1", "i2", "i3"], 3, &inst, t(2)),
            Some(Verdict::Done)
        );
        assert!(!s.scaling_up());
        assert_eq!(s.observe("a", &["i1", "i2", "i3"], 3, &inst, t(3)), None);
    }

    #[test]
    fn a_lowered_target_counts_as_delivered() {
        let mut s = ClusterState::default();
        s.record("a", 5, t(0), FIFTEEN);
        assert_eq!(
            s.observe("a", &["i1", "i2"], 2, &[running("i1"), running("i2")], t(1)),
            Some(Verdict::Done)
        );
    }

    #[test]
    fn a_request_past_its_deadline_times_out_with_what_never_registered() {
        let mut s = ClusterState::default();
        s.record("a", 4, t(0), FIFTEEN);
        // Target 4: one registered, one instance running but never registered, one creating, one
        // the cloud never started.
        let inst = [running("i1"), running("i2"), creating("i3")];
        assert_eq!(s.observe("a", &["i1"], 4, &inst, t(14)), None);
        assert_eq!(
            s.observe("a", &["i1"], 4, &inst, t(15)),
            Some(Verdict::TimedOut {
                unregistered: vec!["i2".into(), "i3".into()],
                lower_target_by: 1,
                missing: 3,
            })
        );
        assert!(!s.scaling_up(), "a timed-out request is forgotten");
    }

    #[test]
    fn a_later_increase_moves_the_deadline() {
        let mut s = ClusterState::default();
        s.record("a", 2, t(0), FIFTEEN);
        s.record("a", 3, t(10), FIFTEEN);
        assert_eq!(s.observe("a", &[], 3, &[], t(20)), None);
        assert!(matches!(
            s.observe("a", &[], 3, &[], t(25)),
            Some(Verdict::TimedOut { .. })
        ));
    }

    #[test]
    fn failed_instances_are_reported_at_once_even_without_a_request() {
        let mut s = ClusterState::default();
        let failed = Instance {
            provider_id: "i9".into(),
            state: InstanceState::FailedToCreate {
                class: ErrorClass::InsufficientCapacity,
                message: "no m5.large in us-east-1a".into(),
            },
        };
        assert_eq!(
            s.observe("a", &[], 1, &[failed], t(0)),
            Some(Verdict::Failed {
                instances: vec!["i9".into()],
                class: ErrorClass::InsufficientCapacity,
                message: "no m5.large in us-east-1a".into(),
            })
        );
    }

    #[test]
    fn backoff_doubles_to_its_max_and_resets_after_quiet_hours() {
        let cfg = BackoffConfig::default();
        let mut s = ClusterState::default();
        let mut lengths = Vec::new();
        for (i, at) in [0, 10, 30, 70, 110, 150].into_iter().enumerate() {
            let b = s.back_off("a", ErrorClass::Transient, &format!("failure {i}"), t(at), &cfg);
            lengths.push(b.duration.as_mins());
        }
        assert_eq!(lengths, [5, 10, 20, 30, 30, 30]);
        assert_eq!(s.backoff_until("a", t(151)), Some(t(180)));
        assert_eq!(s.backoff_until("a", t(180)), None, "the backoff ends at its end");
        assert_eq!(s.backoff_until("b", t(151)), None);
        // Three hours after the last failure the next one starts from 5 minutes again.
        let b = s.back_off("a", ErrorClass::Transient, "again", t(150 + 180), &cfg);
        assert_eq!(b.duration.as_mins(), 5);
    }

    #[test]
    fn groups_that_disappear_are_forgotten() {
        let mut s = ClusterState::default();
        s.record("a", 2, t(0), FIFTEEN);
        s.back_off("b", ErrorClass::Fatal, "x", t(0), &BackoffConfig::default());
        s.retain_groups(|g| g == "c");
        assert!(!s.scaling_up());
        assert!(s.backoff("b").is_none());
    }
}
