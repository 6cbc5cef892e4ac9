//! The `NodeGroupProvider` contract, shown on the recording fake that the controller's tests and the
//! simulator use: bounds, decrementing deletes, one-shot injected errors and their classes.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use futures::executor::block_on;
use swell_node_autoscaler::provider::{ErrorClass, InstanceState, NodeGroupProvider, ProviderError};
use swell_node_autoscaler::testing::{FakeProvider, ProviderCall, node};

fn fake() -> FakeProvider {
    FakeProvider::default().with_group("a", 1, 5, 2, node("template-a").group("a").build())
}

#[test]
fn only_throttling_and_transient_errors_are_retryable() {
    let cases = [
        (ErrorClass::NotFound, false),
        (ErrorClass::Throttled, true),
        (ErrorClass::InsufficientCapacity, false),
        (ErrorClass::Transient, true),
        (ErrorClass::Fatal, false),
    ];
    for (class, want) in cases {
        assert_eq!(
            ProviderError::new(class, "x", "y").is_retryable(),
            want,
            "{class}"
        );
    }
}

#[test]
fn an_error_says_what_failed_in_lowercase() {
    let e = ProviderError::new(
        ErrorClass::Throttled,
        "set the target size of group a to 3",
        "rate exceeded",
    );
    assert_eq!(
        e.to_string(),
        "failed to set the target size of group a to 3: rate exceeded"
    );
}

#[test]
fn growing_a_group_adds_creating_instances_that_boot_later() {
    let p = fake();
    block_on(p.set_target_size("a", 4)).unwrap();
    let states: Vec<_> = p.instances("a").unwrap().into_iter().map(|i| i.state).collect();
    assert_eq!(
        states.iter().filter(|s| **s == InstanceState::Creating).count(),
        2
    );
    p.boot_all();
    assert!(
        p.instances("a")
            .unwrap()
            .iter()
            .all(|i| i.state == InstanceState::Running)
    );
    assert_eq!(p.node_groups()[0].target, 4);
}

#[test]
fn setting_the_same_size_twice_is_one_change() {
    let p = fake();
    block_on(p.set_target_size("a", 3)).unwrap();
    block_on(p.set_target_size("a", 3)).unwrap();
    assert_eq!(p.instances("a").unwrap().len(), 3);
}

#[test]
fn a_size_outside_the_bounds_is_refused_as_fatal() {
    let p = fake();
    let e = block_on(p.set_target_size("a", 6)).unwrap_err();
    assert_eq!(e.class, ErrorClass::Fatal);
    assert_eq!(p.node_groups()[0].target, 2, "nothing half-applied");
}

#[test]
fn deleting_nodes_decrements_the_target_and_maps_ids_back() {
    let p = fake();
    let ids: Vec<String> = p
        .instances("a")
        .unwrap()
        .into_iter()
        .map(|i| i.provider_id)
        .collect();
    assert_eq!(p.node_group_for_node(&ids[0]).as_deref(), Some("a"));
    block_on(p.delete_nodes("a", &ids[..1])).unwrap();
    assert_eq!(p.node_groups()[0].target, 1);
    assert_eq!(p.node_group_for_node(&ids[0]), None);
}

#[test]
fn deleting_below_the_minimum_is_refused_and_changes_nothing() {
    let p = fake();
    let ids: Vec<String> = p
        .instances("a")
        .unwrap()
        .into_iter()
        .map(|i| i.provider_id)
        .collect();
    let e = block_on(p.delete_nodes("a", &ids)).unwrap_err();
    assert_eq!(e.class, ErrorClass::Fatal);
    assert_eq!(p.instances("a").unwrap().len(), 2);
}

#[test]
fn deleting_an_unknown_instance_is_not_found() {
    let p = fake();
    let e = block_on(p.delete_nodes("a", &["fake:///a/99".to_string()])).unwrap_err();
    assert_eq!(e.class, ErrorClass::NotFound);
    let e = block_on(p.set_target_size("nope", 1)).unwrap_err();
    assert_eq!(e.class, ErrorClass::NotFound);
    assert_eq!(p.template("nope").unwrap_err().class, ErrorClass::NotFound);
}

#[test]
fn an_injected_error_fails_exactly_one_call_and_every_call_is_recorded() {
    let p = fake();
    p.fail_next("set_target_size", ErrorClass::Throttled);
    let e = block_on(p.set_target_size("a", 3)).unwrap_err();
    assert!(e.is_retryable());
    block_on(p.set_target_size("a", 3)).unwrap();
    p.fail_next("refresh", ErrorClass::Transient);
    assert!(block_on(p.refresh()).is_err());
    assert!(block_on(p.refresh()).is_ok());
    assert_eq!(
        p.calls(),
        vec![
            ProviderCall::SetTargetSize("a".into(), 3),
            ProviderCall::SetTargetSize("a".into(), 3),
            ProviderCall::Refresh,
            ProviderCall::Refresh,
        ]
    );
}

#[test]
fn instances_that_could_not_be_created_carry_the_error_class() {
    let p = fake();
    block_on(p.set_target_size("a", 3)).unwrap();
    p.fail_creating("a", ErrorClass::InsufficientCapacity);
    let failed: Vec<_> = p
        .instances("a")
        .unwrap()
        .into_iter()
        .filter(|i| {
            matches!(
                i.state,
                InstanceState::FailedToCreate {
                    class: ErrorClass::InsufficientCapacity,
                    ..
                }
            )
        })
        .collect();
    assert_eq!(failed.len(), 1);
}
