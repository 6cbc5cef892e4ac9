//! Durations on the command line, written as Kubernetes flags write them: `5m`, `30s`, `1h30m`, `1.5m`.

use jiff::SignedDuration;
use swell_core::duration::{DurationError, parse_go_duration};

/// Parses a Go-style duration (`300ms`, `30s`, `5m`, `1h30m`, `1.5h`); a bare `0` is zero. Flags take
/// no sign: a period or a window is never negative.
pub fn parse(s: &str) -> Result<SignedDuration, String> {
    let input = s.trim();
    if input.is_empty() {
        return Err("empty duration: write it like 30s, 5m or 1h30m".to_string());
    }
    if input.starts_with(['+', '-']) {
        return Err(format!("invalid duration {s:?}: expected a number at {input:?}"));
    }
    parse_go_duration(input).map_err(|e| match e {
        DurationError::Invalid(_) => {
            format!("invalid duration {s:?}: expected a number with a unit, like 30s, 5m or 1h30m")
        }
        DurationError::MissingUnit(_) => {
            format!("invalid duration {s:?}: missing unit (ns, us, ms, s, m, h)")
        }
        DurationError::UnknownUnit { unit, .. } => {
            format!("invalid duration {s:?}: unknown unit {unit:?} (ns, us, ms, s, m, h)")
        }
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn go_style_durations_parse() {
        let cases = [
            ("5m", 300_000),
            ("30s", 30_000),
            ("1h30m", 5_400_000),
            ("1.5m", 90_000),
            ("300ms", 300),
            ("0", 0),
        ];
        for (input, millis) in cases {
            assert_eq!(parse(input).map(|d| d.as_millis()), Ok(millis), "{input}");
        }
    }

    #[test]
    fn malformed_durations_are_refused_with_the_reason() {
        for (input, want) in [
            ("5", "missing unit"),
            ("5x", "unknown unit"),
            ("", "empty"),
            ("m", "expected a number"),
        ] {
            let err = parse(input).unwrap_err();
            assert!(err.contains(want), "{input}: {err}");
        }
    }
}
