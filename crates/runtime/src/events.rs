//! Kubernetes Events about the objects a controller acts on, written the way upstream's do.
//!
//! **core/v1 Events, not events.k8s.io/v1.** The controllers Swell replaces write theirs through
//! client-go's `record.EventRecorder`, which posts core/v1 Events with `source.component` (for the
//! HPA controller `horizontal-pod-autoscaler`), `involvedObject`, `count`, `firstTimestamp` and
//! `lastTimestamp`. Users' alerts and `kubectl get events --field-selector source=...` match on
//! those fields, and a drop-in replacement has to produce the same objects.
//!
//! What the recorder does, after client-go's `EventCorrelator`:
//!
//! - **Repeat counting**: an event identical to one already written (same object, type, reason and
//!   message) is not created again; the existing Event gets `count + 1` and a new `lastTimestamp`
//!   through a strategic merge patch. If that Event has expired (404), it is created again, keeping
//!   the count. The cache remembers the last 4096 distinct events.
//! - **Spam filter**: per reporting source and object, a token bucket of 25 events refilled at one
//!   per 5 minutes; events beyond it are dropped ([`Outcome::Throttled`]) but still counted, so the
//!   next one that passes carries the full count.
//! - **Aggregation of similar events**: when one object gets events of the same type and reason
//!   with 10 different messages, each less than 10 minutes after the previous one, further ones
//!   go to a single Event whose message is `(combined from similar events): <latest message>`,
//!   counted like a repeat. Which remembered message makes room for the next is arbitrary in
//!   client-go (a Go map); here it is the smallest, so the outcome is reproducible.
//! - Naming: `<object name>.<first time in unix nanoseconds, hex>`, in the object's namespace, or in
//!   `default` for cluster-scoped objects (Nodes).
//!
//! Time comes from a [`Clock`], so tests drive the timestamps and the spam filter refill.

use std::collections::{BTreeSet, HashMap};
use std::sync::{Arc, Mutex, PoisonError};

use jiff::Timestamp;
use k8s_openapi::api::core::v1::{Event, EventSource, ObjectReference};
use k8s_openapi::apimachinery::pkg::apis::meta::v1::{ObjectMeta, Time};
use kube::api::{Api, Patch, PatchParams, PostParams};
use swell_core::clock::Clock;

/// What went wrong while writing an event.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// The POST of a new Event failed.
    #[error("failed to create event {namespace}/{name}: {source}")]
    Create {
        /// The Event's namespace.
        namespace: String,
        /// The Event's name.
        name: String,
        /// The API error.
        #[source]
        source: kube::Error,
    },
    /// The PATCH that counts a repeat failed (other than with 404, which recreates the Event).
    #[error("failed to update event {namespace}/{name}: {source}")]
    Update {
        /// The Event's namespace.
        namespace: String,
        /// The Event's name.
        name: String,
        /// The API error.
        #[source]
        source: kube::Error,
    },
}

impl Error {
    /// Whether publishing the same event again later may succeed: true for throttling, server
    /// errors and transport failures; false for answers that will not change (forbidden, invalid).
    pub fn is_retryable(&self) -> bool {
        let (Error::Create { source, .. } | Error::Update { source, .. }) = self;
        match source {
            kube::Error::Api(status) => status.code == 429 || status.code >= 500,
            kube::Error::HyperError(_) | kube::Error::Service(_) => true,
            _ => false,
        }
    }
}

/// A `Result` with this module's [`Error`].
pub type Result<T, E = Error> = std::result::Result<T, E>;

/// The `type` of an Event.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum EventType {
    /// Something happened as intended (`SuccessfulRescale`).
    Normal,
    /// Something needs attention (`FailedGetResourceMetric`).
    Warning,
}

impl EventType {
    /// The API string: `Normal` or `Warning`.
    pub fn as_str(self) -> &'static str {
        match self {
            EventType::Normal => "Normal",
            EventType::Warning => "Warning",
        }
    }
}

/// Who reports the events: `source.component`/`reportingComponent` and `source.host`/`reportingInstance`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Reporter {
    /// The controller's name as upstream spells it (`horizontal-pod-autoscaler`, `cluster-autoscaler`).
    pub component: String,
    /// The instance (pod or host name); upstream's HPA controller leaves it empty.
    pub instance: Option<String>,
}

/// What [`Recorder::publish`] did.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Outcome {
    /// A new Event was created.
    Created {
        /// Its name.
        name: String,
    },
    /// An existing Event's count was raised (or the Event recreated with its count after expiry).
    Counted {
        /// Its name.
        name: String,
        /// The count it now has.
        count: i32,
    },
    /// The spam filter dropped it; the repeat was still counted.
    Throttled,
}

/// Events remembered for repeat counting.
const CACHE_SIZE: usize = 4096;
/// Spam filter bucket size (client-go's `defaultSpamBurst`).
const SPAM_BURST: f64 = 25.0;
/// Seconds per token refilled (client-go's `defaultSpamQPS` = 1/300).
const SPAM_REFILL_SECS: f64 = 300.0;
/// Distinct messages of similar events that trigger aggregation (client-go's `defaultAggregateMaxEvents`).
const AGGREGATE_MAX_EVENTS: usize = 10;
/// Seconds after which a quiet group of similar events starts over (`defaultAggregateIntervalInSeconds`).
const AGGREGATE_INTERVAL_SECS: i64 = 600;
/// The prefix of an aggregated event's message (client-go's `EventAggregatorByReasonMessageFunc`).
const COMBINED_PREFIX: &str = "(combined from similar events): ";

#[derive(Clone, PartialEq, Eq, Hash)]
struct ObjectKey {
    kind: Option<String>,
    namespace: Option<String>,
    name: Option<String>,
    uid: Option<String>,
    api_version: Option<String>,
}

impl ObjectKey {
    fn of(r: &ObjectReference) -> Self {
        ObjectKey {
            kind: r.kind.clone(),
            namespace: r.namespace.clone(),
            name: r.name.clone(),
            uid: r.uid.clone(),
            api_version: r.api_version.clone(),
        }
    }
}

#[derive(Clone, PartialEq, Eq, Hash)]
struct EventKey {
    object: ObjectKey,
    field_path: Option<String>,
    event_type: EventType,
    reason: String,
    /// Empty for the aggregate of similar events, whose message changes with each one.
    message: String,
    combined: bool,
}

/// Events that differ only in their message.
#[derive(Clone, PartialEq, Eq, Hash)]
struct SimilarKey {
    object: ObjectKey,
    event_type: EventType,
    reason: String,
}

struct Similar {
    messages: BTreeSet<String>,
    last: Timestamp,
}

struct Seen {
    name: String,
    namespace: String,
    count: i32,
    first: Timestamp,
    last: Timestamp,
}

struct Bucket {
    tokens: f64,
    refilled_at: Timestamp,
}

#[derive(Default)]
struct Correlator {
    seen: HashMap<EventKey, Seen>,
    buckets: HashMap<ObjectKey, Bucket>,
    similar: HashMap<SimilarKey, Similar>,
}

/// What the correlator decided for one event.
struct Observed {
    name: String,
    /// The message to write: the one given, or the combined one.
    message: String,
    namespace: String,
    count: i32,
    first: Timestamp,
    allowed: bool,
}

/// Makes room for one more entry in a full cache by forgetting the least recently seen, as
/// client-go's LRU caches do.
fn evict_oldest<K: Clone + Eq + std::hash::Hash, V>(map: &mut HashMap<K, V>, last: impl Fn(&V) -> Timestamp) {
    if map.len() < CACHE_SIZE {
        return;
    }
    if let Some(oldest) = map.iter().min_by_key(|(_, v)| last(v)).map(|(k, _)| k.clone()) {
        map.remove(&oldest);
    }
}

impl Correlator {
    /// Replaces the event by the aggregate of its similar events once there are too many of them
    /// (client-go's `EventAggregate`); returns the key to count it under and the message to write.
    fn aggregate(&mut self, key: EventKey, now: Timestamp) -> (EventKey, String) {
        let similar_key = SimilarKey {
            object: key.object.clone(),
            event_type: key.event_type,
            reason: key.reason.clone(),
        };
        if !self.similar.contains_key(&similar_key) {
            evict_oldest(&mut self.similar, |s| s.last);
        }
        let similar = self.similar.entry(similar_key).or_insert_with(|| Similar {
            messages: BTreeSet::new(),
            last: now,
        });
        if now.duration_since(similar.last).as_secs() > AGGREGATE_INTERVAL_SECS {
            similar.messages.clear();
        }
        similar.messages.insert(key.message.clone());
        similar.last = now;
        if similar.messages.len() < AGGREGATE_MAX_EVENTS {
            let message = key.message.clone();
            return (key, message);
        }
        // Keep the set below the threshold, so only a new distinct message aggregates again.
        similar.messages.pop_first();
        let message = format!("{COMBINED_PREFIX}{}", key.message);
        let combined = EventKey {
            field_path: None,
            message: String::new(),
            combined: true,
            ..key
        };
        (combined, message)
    }

    fn observe(&mut self, key: EventKey, now: Timestamp) -> Observed {
        let (key, message) = self.aggregate(key, now);
        if !self.seen.contains_key(&key) {
            evict_oldest(&mut self.seen, |s| s.last);
        }
        let object = key.object.clone();
        let seen = self.seen.entry(key).or_insert_with_key(|key| Seen {
            name: format!(
                "{}.{:x}",
                key.object.name.as_deref().unwrap_or(""),
                now.as_nanosecond()
            ),
            namespace: key
                .object
                .namespace
                .clone()
                .filter(|ns| !ns.is_empty())
                .unwrap_or_else(|| "default".to_owned()),
            count: 0,
            first: now,
            last: now,
        });
        seen.count = seen.count.saturating_add(1);
        seen.last = now;
        let observed = Observed {
            name: seen.name.clone(),
            message,
            namespace: seen.namespace.clone(),
            count: seen.count,
            first: seen.first,
            allowed: false,
        };
        Observed {
            allowed: self.take_token(object, now),
            ..observed
        }
    }

    fn take_token(&mut self, object: ObjectKey, now: Timestamp) -> bool {
        if !self.buckets.contains_key(&object) && self.buckets.len() >= CACHE_SIZE {
            // A full bucket is what a forgotten object would start with anyway.
            self.buckets.retain(|_, b| b.tokens < SPAM_BURST);
        }
        let bucket = self.buckets.entry(object).or_insert(Bucket {
            tokens: SPAM_BURST,
            refilled_at: now,
        });
        let elapsed = now.duration_since(bucket.refilled_at).as_secs_f64().max(0.0);
        bucket.tokens = (bucket.tokens + elapsed / SPAM_REFILL_SECS).min(SPAM_BURST);
        bucket.refilled_at = now;
        if bucket.tokens >= 1.0 {
            bucket.tokens -= 1.0;
            true
        } else {
            false
        }
    }
}

/// Writes Events for one reporting controller. Cheap to share behind an `Arc`; `publish` takes `&self`.
pub struct Recorder {
    client: kube::Client,
    reporter: Reporter,
    clock: Arc<dyn Clock>,
    correlator: Mutex<Correlator>,
}

impl std::fmt::Debug for Recorder {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Recorder")
            .field("reporter", &self.reporter)
            .finish_non_exhaustive()
    }
}

impl Recorder {
    /// A recorder that reports as `reporter`, stamping events with `clock`'s time.
    pub fn new(client: kube::Client, reporter: Reporter, clock: Arc<dyn Clock>) -> Self {
        Recorder {
            client,
            reporter,
            clock,
            correlator: Mutex::new(Correlator::default()),
        }
    }

    /// Records that `event_type`/`reason` happened to `regarding`, with a human `message`.
    ///
    /// `regarding` should carry at least kind, name, namespace (if namespaced), uid and apiVersion,
    /// as `kube::Resource::object_ref` gives.
    pub async fn publish(
        &self,
        regarding: &ObjectReference,
        event_type: EventType,
        reason: &str,
        message: &str,
    ) -> Result<Outcome> {
        let now = self.clock.now();
        let key = EventKey {
            object: ObjectKey::of(regarding),
            field_path: regarding.field_path.clone(),
            event_type,
            reason: reason.to_owned(),
            message: message.to_owned(),
            combined: false,
        };
        let observed = self
            .correlator
            .lock()
            // The correlator holds plain counters; a panic mid-update cannot break an invariant
            // worse than a lost count.
            .unwrap_or_else(PoisonError::into_inner)
            .observe(key, now);
        if !observed.allowed {
            tracing::debug!(
                object = regarding.name.as_deref().unwrap_or(""),
                reason,
                "event dropped by the spam filter"
            );
            return Ok(Outcome::Throttled);
        }
        let api: Api<Event> = Api::namespaced(self.client.clone(), &observed.namespace);
        if observed.count > 1 {
            let patch = serde_json::json!({
                "count": observed.count,
                "lastTimestamp": Time(now),
                "message": observed.message,
            });
            match api
                .patch(&observed.name, &PatchParams::default(), &Patch::Strategic(patch))
                .await
            {
                Ok(_) => {
                    return Ok(Outcome::Counted {
                        name: observed.name,
                        count: observed.count,
                    });
                }
                // Expired (Events live an hour by default): write it again with the count kept.
                Err(kube::Error::Api(status)) if status.code == 404 => {}
                Err(source) => {
                    return Err(Error::Update {
                        namespace: observed.namespace,
                        name: observed.name,
                        source,
                    });
                }
            }
        }
        let event = self.event(regarding, event_type, reason, &observed, now);
        match api.create(&PostParams::default(), &event).await {
            Ok(_) => Ok(if observed.count > 1 {
                Outcome::Counted {
                    name: observed.name,
                    count: observed.count,
                }
            } else {
                Outcome::Created { name: observed.name }
            }),
            Err(source) => Err(Error::Create {
                namespace: observed.namespace,
                name: observed.name,
                source,
            }),
        }
    }

    fn event(
        &self,
        regarding: &ObjectReference,
        event_type: EventType,
        reason: &str,
        observed: &Observed,
        now: Timestamp,
    ) -> Event {
        Event {
            metadata: ObjectMeta {
                name: Some(observed.name.clone()),
                namespace: Some(observed.namespace.clone()),
                ..ObjectMeta::default()
            },
            involved_object: regarding.clone(),
            reason: Some(reason.to_owned()),
            message: Some(observed.message.clone()),
            type_: Some(event_type.as_str().to_owned()),
            first_timestamp: Some(Time(observed.first)),
            last_timestamp: Some(Time(now)),
            count: Some(observed.count),
            source: Some(EventSource {
                component: Some(self.reporter.component.clone()),
                host: self.reporter.instance.clone(),
            }),
            reporting_component: Some(self.reporter.component.clone()),
            reporting_instance: Some(self.reporter.instance.clone().unwrap_or_default()),
            ..Event::default()
        }
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used)]

    use http::Method;
    use jiff::SignedDuration;
    use serde_json::{Value, json};
    use swell_core::clock::ManualClock;

    use super::*;
    use crate::testing::{Reply, ScriptedApi, with_resource_version};

    const EVENTS: &str = "/api/v1/namespaces/shop/events";

    fn hpa() -> ObjectReference {
        ObjectReference {
            api_version: Some("autoscaling/v2".into()),
            kind: Some("HorizontalPodAutoscaler".into()),
            name: Some("web".into()),
            namespace: Some("shop".into()),
            uid: Some("0b5e-uid".into()),
            ..ObjectReference::default()
        }
    }

    fn start() -> Timestamp {
        "2026-03-01T10:00:00Z".parse().unwrap()
    }

    fn recorder(api: &ScriptedApi, clock: &Arc<ManualClock>) -> Recorder {
        let reporter = Reporter {
            component: "horizontal-pod-autoscaler".into(),
            instance: None,
        };
        Recorder::new(api.client(), reporter, clock.clone())
    }

    fn echo_created(api: &ScriptedApi, path: &str) {
        api.expect(Method::POST, path)
            .reply_with(|req| Reply::json(201, with_resource_version(req.json(), "100")));
    }

    #[tokio::test]
    async fn a_new_event_is_posted_with_upstreams_fields() {
        let api = ScriptedApi::new();
        echo_created(&api, EVENTS);
        let clock = Arc::new(ManualClock::new(start()));
        let outcome = recorder(&api, &clock)
            .publish(
                &hpa(),
                EventType::Normal,
                "SuccessfulRescale",
                "New size: 4; reason: cpu resource utilization (percentage of request) above target",
            )
            .await
            .unwrap();

        api.verify();
        let name = format!("web.{:x}", start().as_nanosecond());
        assert_eq!(outcome, Outcome::Created { name: name.clone() });
        let post = &api.requests()[0];
        assert_eq!(post.content_type.as_deref(), Some("application/json"));
        let body = post.json();
        assert_eq!(body["apiVersion"], "v1");
        assert_eq!(body["kind"], "Event");
        assert_eq!(body["metadata"], json!({"name": name, "namespace": "shop"}));
        assert_eq!(
            body["involvedObject"],
            json!({
                "apiVersion": "autoscaling/v2", "kind": "HorizontalPodAutoscaler",
                "name": "web", "namespace": "shop", "uid": "0b5e-uid",
            })
        );
        assert_eq!(body["type"], "Normal");
        assert_eq!(body["reason"], "SuccessfulRescale");
        assert_eq!(
            body["message"],
            "New size: 4; reason: cpu resource utilization (percentage of request) above target"
        );
        assert_eq!(body["source"], json!({"component": "horizontal-pod-autoscaler"}));
        assert_eq!(body["reportingComponent"], "horizontal-pod-autoscaler");
        assert_eq!(body["reportingInstance"], "");
        assert_eq!(body["count"], 1);
        assert_eq!(body["firstTimestamp"], "2026-03-01T10:00:00Z");
        assert_eq!(body["lastTimestamp"], "2026-03-01T10:00:00Z");
        assert!(body.get("eventTime").is_none(), "{body}");
    }

    #[tokio::test]
    async fn a_repeat_raises_the_count_of_the_existing_event_with_a_strategic_merge_patch() {
        let api = ScriptedApi::new();
        let name = format!("web.{:x}", start().as_nanosecond());
        let path = format!("{EVENTS}/{name}");
        echo_created(&api, EVENTS);
        api.expect(Method::PATCH, &path).times(2).reply_json(
            200,
            json!({"apiVersion": "v1", "kind": "Event", "metadata": {"name": name}, "involvedObject": {}}),
        );
        let clock = Arc::new(ManualClock::new(start()));
        let recorder = recorder(&api, &clock);
        let regarding = hpa();
        let publish = || {
            recorder.publish(
                &regarding,
                EventType::Warning,
                "FailedGetResourceMetric",
                "missing request for cpu",
            )
        };

        publish().await.unwrap();
        clock.advance(SignedDuration::from_secs(15));
        assert_eq!(
            publish().await.unwrap(),
            Outcome::Counted {
                name: name.clone(),
                count: 2
            }
        );
        clock.advance(SignedDuration::from_secs(15));
        assert_eq!(
            publish().await.unwrap(),
            Outcome::Counted {
                name: name.clone(),
                count: 3
            }
        );

        api.verify();
        let patches = api.requests_to(&Method::PATCH, &path);
        assert_eq!(
            patches[0].content_type.as_deref(),
            Some("application/strategic-merge-patch+json")
        );
        assert_eq!(
            patches[0].json(),
            json!({"count": 2, "lastTimestamp": "2026-03-01T10:00:15Z", "message": "missing request for cpu"})
        );
        assert_eq!(patches[1].json()["count"], 3);
        assert_eq!(patches[1].json()["lastTimestamp"], "2026-03-01T10:00:30Z");
    }

    #[tokio::test]
    async fn a_different_message_or_object_is_a_new_event() {
        let api = ScriptedApi::new();
        echo_created(&api, EVENTS);
        echo_created(&api, EVENTS);
        echo_created(&api, EVENTS);
        let clock = Arc::new(ManualClock::new(start()));
        let recorder = recorder(&api, &clock);
        recorder
            .publish(&hpa(), EventType::Normal, "SuccessfulRescale", "New size: 4")
            .await
            .unwrap();
        clock.advance(SignedDuration::from_secs(1));
        recorder
            .publish(&hpa(), EventType::Normal, "SuccessfulRescale", "New size: 6")
            .await
            .unwrap();
        clock.advance(SignedDuration::from_secs(1));
        let other = ObjectReference {
            name: Some("api".into()),
            uid: Some("other-uid".into()),
            ..hpa()
        };
        recorder
            .publish(&other, EventType::Normal, "SuccessfulRescale", "New size: 6")
            .await
            .unwrap();
        api.verify();
        let names: Vec<Value> = api
            .requests()
            .iter()
            .map(|r| r.json()["metadata"]["name"].clone())
            .collect();
        assert!(names[2].as_str().unwrap().starts_with("api."), "{names:?}");
        assert_eq!(
            names.iter().collect::<std::collections::HashSet<_>>().len(),
            3,
            "{names:?}"
        );
    }

    #[tokio::test]
    async fn an_event_about_a_cluster_scoped_object_goes_to_the_default_namespace() {
        let api = ScriptedApi::new();
        echo_created(&api, "/api/v1/namespaces/default/events");
        let clock = Arc::new(ManualClock::new(start()));
        let node = ObjectReference {
            api_version: Some("v1".into()),
            kind: Some("Node".into()),
            name: Some("ip-10-0-0-1".into()),
            uid: Some("node-uid".into()),
            ..ObjectReference::default()
        };
        recorder(&api, &clock)
            .publish(&node, EventType::Normal, "ScaleDown", "node removed")
            .await
            .unwrap();
        api.verify();
        assert_eq!(api.requests()[0].json()["metadata"]["namespace"], "default");
    }

    #[tokio::test]
    async fn an_expired_event_is_created_again_with_its_count() {
        let api = ScriptedApi::new();
        let name = format!("web.{:x}", start().as_nanosecond());
        echo_created(&api, EVENTS);
        api.expect(Method::PATCH, &format!("{EVENTS}/{name}"))
            .reply(Reply::not_found("events", &name));
        echo_created(&api, EVENTS);
        let clock = Arc::new(ManualClock::new(start()));
        let recorder = recorder(&api, &clock);
        recorder
            .publish(&hpa(), EventType::Warning, "FailedComputeMetricsReplicas", "boom")
            .await
            .unwrap();
        clock.advance(SignedDuration::from_hours(2));
        let outcome = recorder
            .publish(&hpa(), EventType::Warning, "FailedComputeMetricsReplicas", "boom")
            .await
            .unwrap();
        assert_eq!(
            outcome,
            Outcome::Counted {
                name: name.clone(),
                count: 2
            }
        );
        api.verify();
        let again = api.requests()[2].json();
        assert_eq!(again["metadata"]["name"], name);
        assert_eq!(again["count"], 2);
        assert_eq!(again["firstTimestamp"], "2026-03-01T10:00:00Z");
        assert_eq!(again["lastTimestamp"], "2026-03-01T12:00:00Z");
    }

    #[tokio::test]
    async fn the_spam_filter_lets_25_events_through_per_object_then_one_per_five_minutes() {
        let api = ScriptedApi::new();
        api.expect(Method::POST, EVENTS)
            .any_number_of_times()
            .reply_with(|req| Reply::json(201, with_resource_version(req.json(), "1")));
        let clock = Arc::new(ManualClock::new(start()));
        let recorder = recorder(&api, &clock);
        for i in 0..25 {
            let outcome = recorder
                .publish(&hpa(), EventType::Normal, &format!("R{i}"), "m")
                .await
                .unwrap();
            assert!(
                matches!(outcome, Outcome::Created { .. }),
                "event {i}: {outcome:?}"
            );
        }
        assert_eq!(
            recorder
                .publish(&hpa(), EventType::Normal, "R25", "m")
                .await
                .unwrap(),
            Outcome::Throttled
        );
        // Another object has its own bucket.
        let other = ObjectReference {
            name: Some("api".into()),
            ..hpa()
        };
        assert!(matches!(
            recorder
                .publish(&other, EventType::Normal, "R", "m")
                .await
                .unwrap(),
            Outcome::Created { .. }
        ));
        clock.advance(SignedDuration::from_secs(299));
        assert_eq!(
            recorder
                .publish(&hpa(), EventType::Normal, "R26", "m")
                .await
                .unwrap(),
            Outcome::Throttled
        );
        clock.advance(SignedDuration::from_secs(1));
        assert!(matches!(
            recorder
                .publish(&hpa(), EventType::Normal, "R27", "m")
                .await
                .unwrap(),
            Outcome::Created { .. }
        ));
        assert_eq!(
            recorder
                .publish(&hpa(), EventType::Normal, "R28", "m")
                .await
                .unwrap(),
            Outcome::Throttled
        );
        assert_eq!(api.requests().len(), 27);
    }

    #[tokio::test]
    async fn ten_similar_events_in_ten_minutes_are_combined_into_one() {
        let api = ScriptedApi::new();
        api.expect(Method::POST, EVENTS)
            .any_number_of_times()
            .reply_with(|req| Reply::json(201, with_resource_version(req.json(), "1")));
        api.expect_prefix(Method::PATCH, &format!("{EVENTS}/"))
            .any_number_of_times()
            .reply_json(
                200,
                json!({"apiVersion": "v1", "kind": "Event", "metadata": {}, "involvedObject": {}}),
            );
        let clock = Arc::new(ManualClock::new(start()));
        let recorder = recorder(&api, &clock);
        let publish = |message: String| {
            let recorder = &recorder;
            async move {
                recorder
                    .publish(&hpa(), EventType::Warning, "FailedGetPodsMetric", &message)
                    .await
                    .unwrap()
            }
        };
        for i in 0..9 {
            assert!(matches!(
                publish(format!("pod {i} missing")).await,
                Outcome::Created { .. }
            ));
            clock.advance(SignedDuration::from_secs(60));
        }
        // The tenth distinct message within ten minutes of the previous one: a combined event.
        let Outcome::Created { name: combined } = publish("pod 9 missing".into()).await else {
            panic!("the tenth similar event is a new, combined event");
        };
        let body = api.requests().last().unwrap().json();
        assert_eq!(body["message"], "(combined from similar events): pod 9 missing");
        assert_eq!(body["count"], 1);
        assert_eq!(body["reason"], "FailedGetPodsMetric");
        // The next new message is counted on the combined event, with its own text.
        clock.advance(SignedDuration::from_secs(60));
        assert_eq!(
            publish("pod 10 missing".into()).await,
            Outcome::Counted {
                name: combined.clone(),
                count: 2
            }
        );
        let patch = api.requests().last().unwrap().clone();
        assert_eq!(patch.path, format!("{EVENTS}/{combined}"));
        assert_eq!(
            patch.json()["message"],
            "(combined from similar events): pod 10 missing"
        );
        // More than ten quiet minutes start the group over.
        clock.advance(SignedDuration::from_secs(601));
        assert!(matches!(
            publish("pod 11 missing".into()).await,
            Outcome::Created { .. }
        ));
        assert_eq!(api.requests().last().unwrap().json()["message"], "pod 11 missing");
        api.verify();
    }

    #[tokio::test]
    async fn a_failed_post_is_an_error_that_says_whether_to_retry() {
        let api = ScriptedApi::new();
        api.expect(Method::POST, EVENTS)
            .reply(Reply::status(503, "ServiceUnavailable", "etcd down"));
        api.expect(Method::POST, EVENTS)
            .reply(Reply::status(403, "Forbidden", "events is forbidden"));
        let clock = Arc::new(ManualClock::new(start()));
        let recorder = recorder(&api, &clock);
        let err = recorder
            .publish(&hpa(), EventType::Normal, "R", "a")
            .await
            .unwrap_err();
        assert!(err.is_retryable(), "{err:?}");
        assert!(
            err.to_string().starts_with("failed to create event shop/web."),
            "{err}"
        );
        let err = recorder
            .publish(&hpa(), EventType::Normal, "R", "b")
            .await
            .unwrap_err();
        assert!(!err.is_retryable(), "{err:?}");
        api.verify();
    }
}
