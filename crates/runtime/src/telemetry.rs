//! Log initialisation: one global `tracing` subscriber, human-readable text or JSON lines.
//!
//! The binary calls [`init`] once at startup with the `--log-format` and `--log-level` flags; every
//! crate then logs through `tracing` with structured fields. Text is for people at a terminal; JSON
//! (one object per line, the event's fields flattened to the top level next to `timestamp`, `level`,
//! `target` and the current span) is for log shippers. Logs go to stderr, as kube-controller-manager's
//! do, so stdout stays free for command output.

use std::fmt;
use std::io::IsTerminal;
use std::str::FromStr;

use tracing::Subscriber;
use tracing_subscriber::EnvFilter;
use tracing_subscriber::fmt::MakeWriter;
use tracing_subscriber::util::SubscriberInitExt;

/// What went wrong while setting up logging.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// The filter is not valid `RUST_LOG` syntax (`info`, `swell=debug,kube=warn`, ...).
    #[error("failed to parse log filter {filter:?}: {source}")]
    ParseFilter {
        /// The filter as given.
        filter: String,
        /// What the parser objected to.
        #[source]
        source: tracing_subscriber::filter::ParseError,
    },
    /// A global subscriber was already installed (by an earlier [`init`], or by a test harness).
    #[error("failed to install the log subscriber: {0}")]
    AlreadySet(#[source] tracing_subscriber::util::TryInitError),
    /// The log format is neither `text` nor `json`.
    #[error("failed to parse log format {0:?}: expected \"text\" or \"json\"")]
    ParseFormat(String),
}

/// A `Result` with this module's [`Error`].
pub type Result<T, E = Error> = std::result::Result<T, E>;

/// How log lines are written.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
pub enum LogFormat {
    /// Human-readable lines.
    #[default]
    Text,
    /// One JSON object per line.
    Json,
}

impl LogFormat {
    /// The flag value that selects this format: `text` or `json`.
    pub fn as_str(self) -> &'static str {
        match self {
            LogFormat::Text => "text",
            LogFormat::Json => "json",
        }
    }
}

impl fmt::Display for LogFormat {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for LogFormat {
    type Err = Error;

    fn from_str(s: &str) -> Result<Self> {
        match s {
            "text" => Ok(LogFormat::Text),
            "json" => Ok(LogFormat::Json),
            other => Err(Error::ParseFormat(other.to_owned())),
        }
    }
}

/// Builds a subscriber writing to `writer` without colours, and does not install it.
///
/// Tests use it with a buffer under `tracing::subscriber::with_default` to check what a component
/// logs; [`init`] builds the same subscriber on stderr.
pub fn subscriber<W>(format: LogFormat, filter: &str, writer: W) -> Result<Box<dyn Subscriber + Send + Sync>>
where
    W: for<'a> MakeWriter<'a> + Send + Sync + 'static,
{
    build(format, filter, writer, false)
}

fn build<W>(
    format: LogFormat,
    filter: &str,
    writer: W,
    ansi: bool,
) -> Result<Box<dyn Subscriber + Send + Sync>>
where
    W: for<'a> MakeWriter<'a> + Send + Sync + 'static,
{
    let env_filter = EnvFilter::try_new(filter).map_err(|source| Error::ParseFilter {
        filter: filter.to_owned(),
        source,
    })?;
    let builder = tracing_subscriber::fmt()
        .with_env_filter(env_filter)
        .with_writer(writer)
        .with_ansi(ansi);
    Ok(match format {
        LogFormat::Text => Box::new(builder.finish()),
        LogFormat::Json => Box::new(
            builder
                .json()
                .flatten_event(true)
                .with_current_span(true)
                .finish(),
        ),
    })
}

/// Installs the global subscriber, logging to stderr. Callable once per process: a second call
/// returns [`Error::AlreadySet`] and leaves the first subscriber in place.
///
/// Records of the `log` crate (from dependencies that do not use `tracing`) are forwarded too. Text
/// is coloured only when stderr is a terminal: escape codes in a pod's log are noise.
pub fn init(format: LogFormat, filter: &str) -> Result<()> {
    let ansi = format == LogFormat::Text && std::io::stderr().is_terminal();
    build(format, filter, std::io::stderr, ansi)?
        .try_init()
        .map_err(Error::AlreadySet)
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used)]

    use std::io::Write;
    use std::sync::{Arc, Mutex};

    use super::*;

    /// A writer that keeps everything in memory for the assertions.
    #[derive(Clone, Default)]
    struct Buffer(Arc<Mutex<Vec<u8>>>);

    impl Write for Buffer {
        fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
            self.0.lock().unwrap().extend_from_slice(buf);
            Ok(buf.len())
        }
        fn flush(&mut self) -> std::io::Result<()> {
            Ok(())
        }
    }

    impl<'a> MakeWriter<'a> for Buffer {
        type Writer = Buffer;
        fn make_writer(&'a self) -> Self::Writer {
            self.clone()
        }
    }

    impl Buffer {
        fn text(&self) -> String {
            String::from_utf8(self.0.lock().unwrap().clone()).unwrap()
        }
    }

    fn log_with(format: LogFormat, filter: &str) -> String {
        let buffer = Buffer::default();
        let subscriber = subscriber(format, filter, buffer.clone()).unwrap();
        tracing::subscriber::with_default(subscriber, || {
            let span = tracing::info_span!("reconcile", hpa = "default/web");
            let _entered = span.enter();
            tracing::info!(replicas = 3, "scaled");
            tracing::debug!("hidden below info");
        });
        buffer.text()
    }

    #[test]
    fn json_lines_carry_the_fields_the_message_and_the_span() {
        let out = log_with(LogFormat::Json, "info");
        let lines: Vec<&str> = out.lines().collect();
        assert_eq!(lines.len(), 1, "{out}");
        let line: serde_json::Value = serde_json::from_str(lines[0]).unwrap();
        assert_eq!(line["level"], "INFO");
        assert_eq!(line["message"], "scaled");
        assert_eq!(line["replicas"], 3);
        assert_eq!(line["span"]["name"], "reconcile");
        assert_eq!(line["span"]["hpa"], "default/web");
        assert!(line["timestamp"].is_string(), "{line}");
    }

    #[test]
    fn text_lines_are_not_json_and_carry_the_fields() {
        let out = log_with(LogFormat::Text, "info");
        assert_eq!(out.lines().count(), 1, "{out}");
        assert!(
            serde_json::from_str::<serde_json::Value>(out.trim()).is_err(),
            "{out}"
        );
        assert!(
            out.contains("scaled") && out.contains("replicas=3") && out.contains("hpa"),
            "{out}"
        );
    }

    #[test]
    fn the_filter_decides_what_is_written() {
        let out = log_with(LogFormat::Text, "debug");
        assert!(out.contains("hidden below info"), "{out}");
        let out = log_with(LogFormat::Text, "warn");
        assert_eq!(out, "");
    }

    #[test]
    fn an_invalid_filter_is_an_error_naming_it() {
        let err = subscriber(LogFormat::Text, "swell=loud", std::io::sink)
            .err()
            .unwrap();
        assert!(matches!(err, Error::ParseFilter { .. }), "{err:?}");
        assert!(
            err.to_string()
                .starts_with("failed to parse log filter \"swell=loud\""),
            "{err}"
        );
    }

    #[test]
    fn formats_parse_from_their_flag_values_and_nothing_else() {
        assert_eq!("text".parse::<LogFormat>().unwrap(), LogFormat::Text);
        assert_eq!("json".parse::<LogFormat>().unwrap(), LogFormat::Json);
        assert_eq!(LogFormat::Json.to_string(), "json");
        let err = "JSON".parse::<LogFormat>().unwrap_err();
        assert_eq!(
            err.to_string(),
            "failed to parse log format \"JSON\": expected \"text\" or \"json\""
        );
    }
}
