//! Status conditions that keep `lastTransitionTime` while their status holds.
//!
//! A controller recomputes its conditions on every reconcile, but `lastTransitionTime` must only move
//! when a condition's status actually changes, or every status write would look like a transition.
//! [`set_condition`] does what the HPA controller's `setConditionInList` does: find the condition by
//! type (appending it at the end if absent), stamp `now` only when the status differs (a new
//! condition counts as a change), and always overwrite reason and message.
//!
//! Data flows from the API object through `From<&HorizontalPodAutoscalerCondition>` into a
//! `Vec<Condition>`, is updated with `now` taken as a parameter, and goes back through
//! `From<&Condition>` when the status is written.

use jiff::Timestamp;
use k8s_openapi::api::autoscaling::v2::HorizontalPodAutoscalerCondition;
use k8s_openapi::apimachinery::pkg::apis::meta::v1::Time;
use serde::{Deserialize, Serialize};

use crate::pod::ConditionStatus;

/// One status condition, in the shape shared by the HPA and most other API objects.
///
/// Serializes like the API (`type`, `status`, `reason`, `message`, `lastTransitionTime`), leaving out
/// an empty reason or message and a missing time.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Condition {
    /// The condition type, e.g. `AbleToScale`, `ScalingActive`, `ScalingLimited`.
    #[serde(rename = "type")]
    pub type_: String,
    /// Whether the condition holds.
    pub status: ConditionStatus,
    /// A machine-readable CamelCase reason for the last update; empty when none.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub reason: String,
    /// A human-readable explanation of the last update; empty when none.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub message: String,
    /// When the status last changed; `None` when the API object carried no time.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub last_transition_time: Option<Timestamp>,
}

/// Sets a condition in `conditions`, keeping its `last_transition_time` unless the status changes.
///
/// The first condition of type `type_` is updated, or a new one is appended at the end; other
/// conditions and their order are untouched. `last_transition_time` becomes `now` only when the
/// status differs from the existing one or the condition is new. `reason` and `message` are always
/// overwritten.
pub fn set_condition(
    conditions: &mut Vec<Condition>,
    type_: &str,
    status: ConditionStatus,
    reason: &str,
    message: String,
    now: Timestamp,
) {
    match conditions.iter_mut().find(|c| c.type_ == type_) {
        Some(existing) => {
            if existing.status != status {
                existing.last_transition_time = Some(now);
            }
            existing.status = status;
            existing.reason = reason.to_string();
            existing.message = message;
        }
        None => conditions.push(Condition {
            type_: type_.to_string(),
            status,
            reason: reason.to_string(),
            message,
            last_transition_time: Some(now),
        }),
    }
}

/// Removes every condition of type `type_`, keeping the order of the others.
pub fn remove_condition(conditions: &mut Vec<Condition>, type_: &str) {
    conditions.retain(|c| c.type_ != type_);
}

/// The first condition of type `type_`, if any.
pub fn find_condition<'a>(conditions: &'a [Condition], type_: &str) -> Option<&'a Condition> {
    conditions.iter().find(|c| c.type_ == type_)
}

impl From<&HorizontalPodAutoscalerCondition> for Condition {
    /// Reads an HPA condition: a missing reason or message becomes empty, and a status other than
    /// `True` or `False` becomes `Unknown`.
    fn from(c: &HorizontalPodAutoscalerCondition) -> Condition {
        Condition {
            type_: c.type_.clone(),
            status: ConditionStatus::parse(&c.status),
            reason: c.reason.clone().unwrap_or_default(),
            message: c.message.clone().unwrap_or_default(),
            last_transition_time: c.last_transition_time.as_ref().map(|t| t.0),
        }
    }
}

impl From<&Condition> for HorizontalPodAutoscalerCondition {
    /// Writes an HPA condition: an empty reason or message is left out, as the API server would.
    fn from(c: &Condition) -> HorizontalPodAutoscalerCondition {
        let non_empty = |s: &str| (!s.is_empty()).then(|| s.to_string());
        HorizontalPodAutoscalerCondition {
            type_: c.type_.clone(),
            status: c.status.as_str().to_string(),
            reason: non_empty(&c.reason),
            message: non_empty(&c.message),
            last_transition_time: c.last_transition_time.map(Time),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use ConditionStatus::{False, True, Unknown};

    fn at(s: &str) -> Timestamp {
        s.parse().expect("valid timestamp")
    }

    fn cond(type_: &str, status: ConditionStatus, reason: &str, time: &str) -> Condition {
        Condition {
            type_: type_.into(),
            status,
            reason: reason.into(),
            message: format!("{reason} message"),
            last_transition_time: Some(at(time)),
        }
    }

    const T0: &str = "2026-01-01T00:00:00Z";
    const T1: &str = "2026-01-01T00:05:00Z";

    struct Case {
        name: &'static str,
        before: Vec<Condition>,
        set: (&'static str, ConditionStatus, &'static str),
        want: Vec<Condition>,
    }

    #[test]
    fn set_condition_behaves_like_set_condition_in_list() {
        let with_message = |mut c: Condition, m: &str| {
            c.message = m.into();
            c
        };
        let cases = [
            Case {
                name: "a new condition is appended with now",
                before: vec![],
                set: ("AbleToScale", True, "SucceededRescale"),
                want: vec![with_message(
                    cond("AbleToScale", True, "SucceededRescale", T1),
                    "msg",
                )],
            },
            Case {
                name: "the same status keeps the old time but takes the new reason and message",
                before: vec![cond("AbleToScale", True, "ReadyForNewScale", T0)],
                set: ("AbleToScale", True, "SucceededRescale"),
                want: vec![with_message(
                    cond("AbleToScale", True, "SucceededRescale", T0),
                    "msg",
                )],
            },
            Case {
                name: "a status flip moves the time to now",
                before: vec![cond("ScalingActive", True, "ValidMetricFound", T0)],
                set: ("ScalingActive", False, "FailedGetResourceMetric"),
                want: vec![with_message(
                    cond("ScalingActive", False, "FailedGetResourceMetric", T1),
                    "msg",
                )],
            },
            Case {
                name: "a flip to unknown is a transition too",
                before: vec![cond("ScalingActive", True, "ValidMetricFound", T0)],
                set: ("ScalingActive", Unknown, "Whatever"),
                want: vec![with_message(
                    cond("ScalingActive", Unknown, "Whatever", T1),
                    "msg",
                )],
            },
            Case {
                name: "an update in the middle keeps the order",
                before: vec![
                    cond("AbleToScale", True, "A", T0),
                    cond("ScalingActive", True, "B", T0),
                    cond("ScalingLimited", False, "C", T0),
                ],
                set: ("ScalingActive", False, "B2"),
                want: vec![
                    cond("AbleToScale", True, "A", T0),
                    with_message(cond("ScalingActive", False, "B2", T1), "msg"),
                    cond("ScalingLimited", False, "C", T0),
                ],
            },
            Case {
                name: "a new type goes after the existing ones",
                before: vec![
                    cond("AbleToScale", True, "A", T0),
                    cond("ScalingActive", True, "B", T0),
                ],
                set: ("ScalingLimited", True, "TooManyReplicas"),
                want: vec![
                    cond("AbleToScale", True, "A", T0),
                    cond("ScalingActive", True, "B", T0),
                    with_message(cond("ScalingLimited", True, "TooManyReplicas", T1), "msg"),
                ],
            },
            Case {
                name: "only the first of duplicate types is updated",
                before: vec![
                    cond("AbleToScale", True, "A", T0),
                    cond("AbleToScale", True, "A2", T0),
                ],
                set: ("AbleToScale", False, "X"),
                want: vec![
                    with_message(cond("AbleToScale", False, "X", T1), "msg"),
                    cond("AbleToScale", True, "A2", T0),
                ],
            },
            Case {
                name: "a condition without a time keeps none while its status holds",
                before: vec![Condition {
                    last_transition_time: None,
                    ..cond("AbleToScale", True, "A", T0)
                }],
                set: ("AbleToScale", True, "B"),
                want: vec![Condition {
                    last_transition_time: None,
                    ..with_message(cond("AbleToScale", True, "B", T0), "msg")
                }],
            },
        ];
        for case in cases {
            let mut conditions = case.before;
            let (type_, status, reason) = case.set;
            set_condition(&mut conditions, type_, status, reason, "msg".to_string(), at(T1));
            assert_eq!(conditions, case.want, "{}", case.name);
        }
    }

    #[test]
    fn repeated_sets_with_the_same_status_never_move_the_time() {
        let mut conditions = Vec::new();
        set_condition(&mut conditions, "AbleToScale", True, "A", String::new(), at(T0));
        for minute in 1..10 {
            let now = at(T0) + jiff::SignedDuration::from_mins(minute);
            set_condition(
                &mut conditions,
                "AbleToScale",
                True,
                "A",
                format!("tick {minute}"),
                now,
            );
        }
        assert_eq!(conditions.len(), 1);
        assert_eq!(conditions[0].last_transition_time, Some(at(T0)));
        assert_eq!(conditions[0].message, "tick 9");
    }

    #[test]
    fn remove_condition_drops_every_condition_of_that_type_and_keeps_order() {
        let mut conditions = vec![
            cond("A", True, "a", T0),
            cond("B", True, "b", T0),
            cond("C", True, "c", T0),
            cond("B", False, "b2", T0),
        ];
        remove_condition(&mut conditions, "B");
        assert_eq!(
            conditions,
            vec![cond("A", True, "a", T0), cond("C", True, "c", T0)]
        );
        remove_condition(&mut conditions, "Missing");
        assert_eq!(conditions.len(), 2);
    }

    #[test]
    fn find_condition_returns_the_first_of_that_type() {
        let conditions = vec![
            cond("A", True, "a", T0),
            cond("B", False, "b", T0),
            cond("B", True, "b2", T0),
        ];
        assert_eq!(
            find_condition(&conditions, "B").map(|c| c.reason.as_str()),
            Some("b")
        );
        assert!(find_condition(&conditions, "Z").is_none());
    }

    #[test]
    fn hpa_condition_round_trips_with_time_and_texts() {
        let api = HorizontalPodAutoscalerCondition {
            type_: "ScalingLimited".into(),
            status: "True".into(),
            reason: Some("TooManyReplicas".into()),
            message: Some("the desired replica count is more than the maximum replica count".into()),
            last_transition_time: Some(Time(at(T0))),
        };
        let ours = Condition::from(&api);
        assert_eq!(
            ours,
            Condition {
                type_: "ScalingLimited".into(),
                status: True,
                reason: "TooManyReplicas".into(),
                message: "the desired replica count is more than the maximum replica count".into(),
                last_transition_time: Some(at(T0)),
            }
        );
        assert_eq!(HorizontalPodAutoscalerCondition::from(&ours), api);
    }

    #[test]
    fn hpa_condition_missing_texts_and_time_map_to_empty_and_none() {
        let api = HorizontalPodAutoscalerCondition {
            type_: "AbleToScale".into(),
            status: "False".into(),
            reason: None,
            message: None,
            last_transition_time: None,
        };
        let ours = Condition::from(&api);
        assert_eq!(
            (
                ours.reason.as_str(),
                ours.message.as_str(),
                ours.last_transition_time
            ),
            ("", "", None)
        );
        assert_eq!(HorizontalPodAutoscalerCondition::from(&ours), api);
    }

    #[test]
    fn hpa_condition_empty_texts_are_written_as_absent() {
        let api = HorizontalPodAutoscalerCondition {
            type_: "AbleToScale".into(),
            status: "True".into(),
            reason: Some(String::new()),
            message: Some(String::new()),
            last_transition_time: None,
        };
        let back = HorizontalPodAutoscalerCondition::from(&Condition::from(&api));
        assert_eq!((back.reason, back.message), (None, None));
    }

    #[test]
    fn hpa_condition_with_an_odd_status_reads_as_unknown() {
        let api = HorizontalPodAutoscalerCondition {
            type_: "AbleToScale".into(),
            status: "Maybe".into(),
            ..Default::default()
        };
        assert_eq!(Condition::from(&api).status, Unknown);
    }

    #[test]
    fn condition_serializes_in_the_api_shape() {
        let c = cond("AbleToScale", True, "SucceededRescale", T0);
        let json = serde_json::to_value(&c).expect("serializes");
        assert_eq!(json["type"], "AbleToScale");
        assert_eq!(json["reason"], "SucceededRescale");
        assert_eq!(json["lastTransitionTime"], "2026-01-01T00:00:00Z");
        let back: Condition = serde_json::from_value(json).expect("deserializes");
        assert_eq!(back, c);

        let bare = Condition {
            reason: String::new(),
            message: String::new(),
            last_transition_time: None,
            ..c
        };
        let json = serde_json::to_value(&bare).expect("serializes");
        let object = json.as_object().expect("an object");
        assert!(
            !object.contains_key("reason")
                && !object.contains_key("message")
                && !object.contains_key("lastTransitionTime")
        );
        assert_eq!(
            serde_json::from_value::<Condition>(json).expect("deserializes"),
            bare
        );
    }
}
