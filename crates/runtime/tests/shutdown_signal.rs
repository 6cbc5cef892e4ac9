//! Real signals sent to this test process. Signals are process-wide, so every case lives in one
//! test function of a test binary of its own, in order.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::time::Duration;

use swell_runtime::shutdown::{self, CancellationToken, Signal, Signals};

fn send(signal: &str) {
    let status = std::process::Command::new("kill")
        .arg(format!("-{signal}"))
        .arg(std::process::id().to_string())
        .status()
        .unwrap();
    assert!(status.success());
}

#[tokio::test]
async fn signals_are_received_and_cancel_the_token() {
    // Deadlines only guard against a hang; a delivered signal arrives in microseconds.
    let deadline = Duration::from_secs(10);

    let mut signals = Signals::install().unwrap();
    send("TERM");
    assert_eq!(
        tokio::time::timeout(deadline, signals.recv()).await.unwrap(),
        Signal::Terminate
    );
    send("INT");
    assert_eq!(
        tokio::time::timeout(deadline, signals.recv()).await.unwrap(),
        Signal::Interrupt
    );

    let token = CancellationToken::new();
    let task = shutdown::cancel_on_signal(token.clone()).unwrap();
    assert!(!token.is_cancelled());
    send("TERM");
    tokio::time::timeout(deadline, token.cancelled()).await.unwrap();
    assert_eq!(task.await.unwrap(), Some(Signal::Terminate));

    // Cancelled from inside (a fatal error elsewhere): the task ends without a signal.
    let token = CancellationToken::new();
    let task = shutdown::cancel_on_signal(token.clone()).unwrap();
    token.cancel();
    assert_eq!(tokio::time::timeout(deadline, task).await.unwrap().unwrap(), None);
}
