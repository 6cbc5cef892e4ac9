//! Trace mode: per-workload load over time from a CSV file.
//!
//! ```text
//! time,workload,rps        header required; time in seconds from the start or a Go duration
//! 0,web,120
//! 5m,web,480
//! ```
//!
//! Each workload's rows become a [`crate::scenario::Load::Steps`] curve (straight lines between
//! rows), so a trace replays through the same code as a written curve.

use std::collections::BTreeMap;

use crate::scenario::{Dur, LoadPoint};

/// Parses a trace; errors name the line.
pub fn parse(text: &str, file: &str) -> Result<BTreeMap<String, Vec<LoadPoint>>, String> {
    let mut out: BTreeMap<String, Vec<LoadPoint>> = BTreeMap::new();
    let mut lines = text.lines().enumerate().filter(|(_, l)| !l.trim().is_empty());
    match lines.next() {
        Some((_, h)) if h.split(',').map(str::trim).eq(["time", "workload", "rps"]) => {}
        _ => return Err(format!("{file}: line 1: the header must be `time,workload,rps`")),
    }
    for (i, line) in lines {
        let n = i + 1;
        let cols: Vec<&str> = line.split(',').map(str::trim).collect();
        let [time, workload, rps] = cols.as_slice() else {
            return Err(format!(
                "{file}: line {n}: expected 3 columns, found {}",
                cols.len()
            ));
        };
        let at = match time.parse::<i64>() {
            Ok(s) if s >= 0 => Dur::from_secs(s),
            Ok(_) => return Err(format!("{file}: line {n}: time {time:?} is negative")),
            Err(_) => match swell_core::duration::parse_go_duration(time) {
                Ok(d) if !d.is_negative() && d.subsec_nanos() == 0 => Dur(d),
                _ => {
                    return Err(format!(
                        "{file}: line {n}: time {time:?} is not seconds or a duration"
                    ));
                }
            },
        };
        let rps: f64 = rps
            .parse()
            .ok()
            .filter(|r: &f64| r.is_finite() && *r >= 0.0)
            .ok_or_else(|| format!("{file}: line {n}: rps {rps:?} is not a number >= 0"))?;
        let points = out.entry((*workload).to_string()).or_default();
        if points.last().is_some_and(|p| p.at >= at) {
            return Err(format!("{file}: line {n}: times of {workload} must increase"));
        }
        points.push(LoadPoint { at, rps });
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rows_become_one_curve_per_workload() {
        let t = parse("time,workload,rps\n0,web,10\n5m,web,40\n60,api,3\n", "t.csv").unwrap();
        assert_eq!(t["web"].len(), 2);
        assert_eq!(t["web"][1].at.secs(), 300);
        assert_eq!(t["api"][0].rps, 3.0);
    }

    #[test]
    fn a_bad_row_is_refused_with_its_line() {
        let e = parse("time,workload,rps\n0,web,10\n30,web,x\n", "t.csv").unwrap_err();
        assert!(e.contains("line 3"), "{e}");
        let e = parse("time,workload,rps\n60,web,10\n30,web,1\n", "t.csv").unwrap_err();
        assert!(e.contains("line 3") && e.contains("increase"), "{e}");
        assert!(parse("t,w\n", "t.csv").unwrap_err().contains("header"));
    }
}
