//! `telemetry::init` installs a process-wide subscriber, so it gets a test binary of its own.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use swell_runtime::telemetry::{self, Error, LogFormat};

#[test]
fn init_installs_once_and_refuses_a_second_subscriber() {
    // A bad filter fails before anything is installed, so the next call can still succeed.
    assert!(matches!(
        telemetry::init(LogFormat::Json, "swell=loud"),
        Err(Error::ParseFilter { .. })
    ));
    telemetry::init(LogFormat::Json, "info").unwrap();
    assert!(tracing::dispatcher::has_been_set());
    let err = telemetry::init(LogFormat::Text, "debug").unwrap_err();
    assert!(matches!(err, Error::AlreadySet(_)), "{err:?}");
    assert!(
        err.to_string()
            .starts_with("failed to install the log subscriber"),
        "{err}"
    );
}
