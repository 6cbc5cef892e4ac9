//! Durations on the command line, written as Kubernetes flags write them: `5m`, `30s`, `1h30m`, `1.5m`.

use jiff::SignedDuration;

/// Parses a Go-style duration (`300ms`, `30s`, `5m`, `1h30m`, `1.5h`); a bare `0` is zero.
pub fn parse(s: &str) -> Result<SignedDuration, String> {
    let input = s.trim();
    if input == "0" {
        return Ok(SignedDuration::ZERO);
    }
    if input.is_empty() {
        return Err("empty duration: write it like 30s, 5m or 1h30m".to_string());
    }
    let mut total_nanos: f64 = 0.0;
    let mut rest = input;
    while !rest.is_empty() {
        let num_end = rest
            .find(|c: char| !(c.is_ascii_digit() || c == '.'))
            .unwrap_or(rest.len());
        if num_end == 0 {
            return Err(format!("invalid duration {s:?}: expected a number at {rest:?}"));
        }
        let value: f64 = rest[..num_end]
            .parse()
            .map_err(|_| format!("invalid duration {s:?}: bad number"))?;
        rest = &rest[num_end..];
        let unit_end = rest
            .find(|c: char| c.is_ascii_digit() || c == '.')
            .unwrap_or(rest.len());
        let unit = &rest[..unit_end];
        rest = &rest[unit_end..];
        let scale = match unit {
            "ns" => 1.0,
            "us" | "µs" => 1e3,
            "ms" => 1e6,
            "s" => 1e9,
            "m" => 60e9,
            "h" => 3600e9,
            "" => {
                return Err(format!(
                    "invalid duration {s:?}: missing unit (ns, us, ms, s, m, h)"
                ));
            }
            other => {
                return Err(format!(
                    "invalid duration {s:?}: unknown unit {other:?} (ns, us, ms, s, m, h)"
                ));
            }
        };
        total_nanos += value * scale;
    }
    if !total_nanos.is_finite() || total_nanos > i64::MAX as f64 {
        return Err(format!("invalid duration {s:?}: too large"));
    }
    Ok(SignedDuration::from_nanos(total_nanos.round() as i64))
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
