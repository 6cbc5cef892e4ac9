//! Go durations (`time.ParseDuration`): how Kubernetes writes them in flags (`--sync-period=15s`),
//! annotations (`pod-scale-up-delay: 30s`) and `metav1.Duration` fields (`window: 1m0s`). One parser
//! for the whole workspace, exact to the nanosecond, with Go's error messages.

use jiff::SignedDuration;

/// Why a string is not a Go duration; the messages are Go's `time.ParseDuration` ones.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum DurationError {
    /// Not a sequence of numbers with units, or out of the `int64` nanosecond range.
    #[error("invalid duration {0:?}")]
    Invalid(String),
    /// A number without a unit (only a bare `0` may go without).
    #[error("missing unit in duration {0:?}")]
    MissingUnit(String),
    /// A unit other than ns, us, µs, ms, s, m, h.
    #[error("unknown unit {unit:?} in duration {input:?}")]
    UnknownUnit {
        /// The offending unit.
        unit: String,
        /// The whole input.
        input: String,
    },
}

/// Parses a Go duration (`time.ParseDuration`): an optional sign, then one or more decimal numbers
/// each with a unit (`ns`, `us`/`µs`, `ms`, `s`, `m`, `h`), e.g. `30s`, `1m30s`, `1.5h`, `-2m`; a bare
/// `0` is zero. Fractions are truncated to the nanosecond, as Go does.
pub fn parse_go_duration(input: &str) -> Result<SignedDuration, DurationError> {
    // Go's bound: the magnitude may reach 2^63 so that the most negative duration parses.
    const LIMIT: u64 = 1 << 63;
    let invalid = || DurationError::Invalid(input.to_owned());
    let (negative, mut s) = match input.as_bytes().first() {
        Some(b'-') => (true, &input[1..]),
        Some(b'+') => (false, &input[1..]),
        _ => (false, input),
    };
    if s == "0" {
        return Ok(SignedDuration::ZERO);
    }
    if s.is_empty() {
        return Err(invalid());
    }
    let mut total: u64 = 0;
    while !s.is_empty() {
        let int_len = s.bytes().take_while(u8::is_ascii_digit).count();
        let mut value: u64 = 0;
        for d in s[..int_len].bytes() {
            value = value
                .checked_mul(10)
                .and_then(|v| v.checked_add(u64::from(d - b'0')))
                .filter(|v| *v <= LIMIT)
                .ok_or_else(invalid)?;
        }
        s = &s[int_len..];
        // The fraction keeps as many digits as fit; the rest cannot change the nanoseconds.
        let (mut fraction, mut scale, mut frac_len) = (0u64, 1u128, 0usize);
        if let Some(rest) = s.strip_prefix('.') {
            frac_len = rest.bytes().take_while(u8::is_ascii_digit).count();
            for d in rest[..frac_len].bytes() {
                if let Some(f) = fraction
                    .checked_mul(10)
                    .and_then(|f| f.checked_add(u64::from(d - b'0')))
                    .filter(|f| *f <= LIMIT)
                {
                    fraction = f;
                    scale *= 10;
                }
            }
            s = &rest[frac_len..];
        }
        if int_len == 0 && frac_len == 0 {
            return Err(invalid());
        }
        let unit_len = s
            .find(|c: char| c == '.' || c.is_ascii_digit())
            .unwrap_or(s.len());
        if unit_len == 0 {
            return Err(DurationError::MissingUnit(input.to_owned()));
        }
        let unit: u64 = match &s[..unit_len] {
            "ns" => 1,
            // Go accepts both the micro sign (U+00B5) and the Greek mu (U+03BC).
            "us" | "\u{b5}s" | "\u{3bc}s" => 1_000,
            "ms" => 1_000_000,
            "s" => 1_000_000_000,
            "m" => 60_000_000_000,
            "h" => 3_600_000_000_000,
            other => {
                return Err(DurationError::UnknownUnit {
                    unit: other.to_owned(),
                    input: input.to_owned(),
                });
            }
        };
        s = &s[unit_len..];
        if value > LIMIT / unit {
            return Err(invalid());
        }
        let mut nanos = value * unit;
        if fraction > 0 {
            // At most `unit` (< 2^42), so the conversion back to u64 is lossless.
            let extra =
                u64::try_from(u128::from(fraction) * u128::from(unit) / scale).map_err(|_| invalid())?;
            nanos = nanos
                .checked_add(extra)
                .filter(|n| *n <= LIMIT)
                .ok_or_else(invalid)?;
        }
        total = total
            .checked_add(nanos)
            .filter(|t| *t <= LIMIT)
            .ok_or_else(invalid)?;
    }
    let nanos = if negative {
        // -2^63 is representable; the magnitude was capped at 2^63 above.
        i64::try_from(-i128::from(total)).map_err(|_| invalid())?
    } else {
        i64::try_from(total).map_err(|_| invalid())?
    };
    Ok(SignedDuration::from_nanos(nanos))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn go_durations_parse_as_metav1_writes_them() {
        // The forms metav1.Duration serializes (PodMetrics windows).
        let cases = [
            ("30s", Some(SignedDuration::from_secs(30))),
            ("1m0s", Some(SignedDuration::from_secs(60))),
            ("15.002s", Some(SignedDuration::from_millis(15_002))),
            ("1h2m3s", Some(SignedDuration::from_secs(3723))),
            ("300ms", Some(SignedDuration::from_millis(300))),
            ("0", Some(SignedDuration::ZERO)),
            ("-1.5s", Some(SignedDuration::from_millis(-1500))),
            ("", None),
            ("30", None),
            ("1x", None),
        ];
        for (text, want) in cases {
            assert_eq!(parse_go_duration(text).ok(), want, "{text}");
        }
    }
}
