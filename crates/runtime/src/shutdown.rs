//! Graceful shutdown: SIGTERM (what the kubelet sends) or Ctrl-C, turned into one
//! [`CancellationToken`] that every controller task selects on.
//!
//! The binary creates a token, hands clones to the controller loops, the HTTP server and the leader
//! elector, and calls [`cancel_on_signal`]. On the first signal the token is cancelled: loops finish
//! the step they are in, the leader releases its Lease, the server stops accepting connections, and
//! `main` returns once the tasks have ended. A task can also cancel the token itself (a fatal error),
//! which stops the others the same way.
//!
//! Handlers are installed eagerly ([`Signals::install`]), not on first poll: a SIGTERM that arrives
//! between startup and the first `await` must not kill the process with the default action.

use tokio::signal::unix::{SignalKind, signal};
use tokio::task::JoinHandle;
pub use tokio_util::sync::CancellationToken;

/// What went wrong while setting up the signal handlers.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// The operating system refused a signal handler (or no tokio runtime is running).
    #[error("failed to install the {signal} handler: {source}")]
    Install {
        /// `SIGTERM` or `SIGINT`.
        signal: &'static str,
        /// The underlying I/O error.
        #[source]
        source: std::io::Error,
    },
}

/// A `Result` with this module's [`Error`].
pub type Result<T, E = Error> = std::result::Result<T, E>;

/// Which signal asked the process to stop.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Signal {
    /// SIGTERM: the kubelet (or systemd, or `kill`) asks for a graceful stop.
    Terminate,
    /// SIGINT: Ctrl-C at a terminal.
    Interrupt,
}

impl Signal {
    /// The conventional signal name, for logs.
    pub fn as_str(self) -> &'static str {
        match self {
            Signal::Terminate => "SIGTERM",
            Signal::Interrupt => "SIGINT",
        }
    }
}

/// Installed SIGTERM and SIGINT handlers. While this value (or any other tokio listener for the same
/// signal) exists, those signals no longer terminate the process.
#[derive(Debug)]
pub struct Signals {
    terminate: tokio::signal::unix::Signal,
    interrupt: tokio::signal::unix::Signal,
}

impl Signals {
    /// Installs the handlers now. Must be called inside a tokio runtime.
    pub fn install() -> Result<Self> {
        let terminate = signal(SignalKind::terminate()).map_err(|source| Error::Install {
            signal: "SIGTERM",
            source,
        })?;
        let interrupt = signal(SignalKind::interrupt()).map_err(|source| Error::Install {
            signal: "SIGINT",
            source,
        })?;
        Ok(Signals { terminate, interrupt })
    }

    /// Resolves at the next SIGTERM or SIGINT received after installation.
    pub async fn recv(&mut self) -> Signal {
        tokio::select! {
            // `None` would mean the signal driver is gone (runtime shutting down); there is nothing
            // left to wait for then, so it counts as a request to stop.
            _ = self.terminate.recv() => Signal::Terminate,
            _ = self.interrupt.recv() => Signal::Interrupt,
        }
    }
}

/// Installs the handlers and spawns a task that cancels `token` at the first SIGTERM or SIGINT.
///
/// The task also ends, without a signal, when the token is cancelled by someone else. Its result
/// is the signal that stopped the process, if any, for the exit log line.
pub fn cancel_on_signal(token: CancellationToken) -> Result<JoinHandle<Option<Signal>>> {
    let mut signals = Signals::install()?;
    Ok(tokio::spawn(async move {
        tokio::select! {
            signal = signals.recv() => {
                tracing::info!(signal = signal.as_str(), "shutting down");
                token.cancel();
                Some(signal)
            }
            () = token.cancelled() => None,
        }
    }))
}
