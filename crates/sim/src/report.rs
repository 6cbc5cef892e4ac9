//! The HTML report: the summary, four SVG charts over time (replicas per workload, nodes per group,
//! pending pods, cost), and every scale decision linked to its explanation. One self-contained file,
//! no JavaScript: the charts are inline SVG drawn with plotters, the links are anchors in the page.

use std::collections::BTreeMap;
use std::fmt::Write;

use plotters::prelude::*;
use serde::Serialize;

use crate::engine::{App, Group};
use crate::summary::{Summary, hms};

/// What kind of decision a record is.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
pub enum DecisionKind {
    /// An HPA changed a workload's replicas.
    Hpa,
    /// The node autoscaler grew a group.
    ScaleUp,
    /// A scale-up call failed.
    ScaleUpFailed,
    /// An instance failed to launch (capacity shortage).
    LaunchFailed,
    /// The node autoscaler removed a node.
    ScaleDown,
    /// A drain stopped (eviction refused).
    ScaleDownFailed,
}

impl DecisionKind {
    /// A short label.
    pub fn as_str(self) -> &'static str {
        match self {
            DecisionKind::Hpa => "HPA",
            DecisionKind::ScaleUp => "scale-up",
            DecisionKind::ScaleUpFailed => "scale-up failed",
            DecisionKind::LaunchFailed => "launch failed",
            DecisionKind::ScaleDown => "scale-down",
            DecisionKind::ScaleDownFailed => "drain stopped",
        }
    }
}

fn shared_str<S: serde::Serializer>(s: &std::sync::Arc<str>, ser: S) -> Result<S::Ok, S::Error> {
    ser.serialize_str(s)
}

/// One scale decision with its explanation.
#[derive(Clone, Debug, Serialize)]
pub struct DecisionRecord {
    /// 1-based, in order; the anchor is `d{id}`.
    pub id: usize,
    /// Virtual seconds.
    pub at: i64,
    /// Kind.
    pub kind: DecisionKind,
    /// The workload or node group.
    pub target: String,
    /// One line.
    pub summary: String,
    /// The decision core's explanation (`explain::render`), shared by the decisions of one plan.
    #[serde(serialize_with = "shared_str")]
    pub explanation: std::sync::Arc<str>,
}

/// Values over time, sampled at a fixed period.
#[derive(Clone, Debug, Default, Serialize)]
pub struct Series {
    /// Sampling period, seconds.
    pub every: i64,
    /// Sample times.
    pub t: Vec<i64>,
    /// Desired replicas per workload.
    pub replicas: BTreeMap<String, Vec<i32>>,
    /// Registered plus booting nodes per group.
    pub nodes: BTreeMap<String, Vec<usize>>,
    /// Pending pods.
    pub pending: Vec<u64>,
    /// Cost so far.
    pub cost: Vec<f64>,
}

impl Series {
    pub(crate) fn new(every: i64) -> Series {
        Series {
            every,
            ..Series::default()
        }
    }

    pub(crate) fn push(&mut self, t: i64, apps: &[App], groups: &[Group], pending: u64, cost: f64) {
        self.t.push(t);
        for a in apps {
            self.replicas
                .entry(a.name.clone())
                .or_default()
                .push(if a.active { a.desired.max(0) } else { 0 });
        }
        for g in groups {
            self.nodes
                .entry(g.spec.name.clone())
                .or_default()
                .push(g.instances);
        }
        self.pending.push(pending);
        self.cost.push(cost);
    }
}

fn esc(s: &str) -> String {
    s.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
}

const PALETTE: [RGBColor; 8] = [
    RGBColor(31, 119, 180),
    RGBColor(255, 127, 14),
    RGBColor(44, 160, 44),
    RGBColor(214, 39, 40),
    RGBColor(148, 103, 189),
    RGBColor(140, 86, 75),
    RGBColor(227, 119, 194),
    RGBColor(127, 127, 127),
];

/// Draws one chart of several lines as an SVG string. Charts with many lines show the first eight
/// by name and the rest in grey.
fn chart(title: &str, y_label: &str, t: &[i64], lines: &[(String, Vec<f64>)]) -> Result<String, String> {
    let mut svg = String::new();
    {
        let backend = SVGBackend::with_string(&mut svg, (900, 300));
        let root = backend.into_drawing_area();
        root.fill(&WHITE).map_err(|e| e.to_string())?;
        let x_max = t.last().copied().unwrap_or(1).max(1) as f64 / 60.0;
        let y_max = lines
            .iter()
            .flat_map(|(_, v)| v.iter().copied())
            .fold(0.0f64, f64::max);
        // Headroom above the highest value; an all-zero chart still gets an axis.
        let y_max = if y_max > 0.0 { y_max * 1.1 } else { 1.0 };
        let mut c = ChartBuilder::on(&root)
            .caption(title, ("sans-serif", 18))
            .margin(10)
            .x_label_area_size(35)
            .y_label_area_size(55)
            .build_cartesian_2d(0f64..x_max, 0f64..y_max)
            .map_err(|e| e.to_string())?;
        c.configure_mesh()
            .x_desc("minutes")
            .y_desc(y_label)
            .light_line_style(RGBColor(235, 235, 235))
            .draw()
            .map_err(|e| e.to_string())?;
        for (i, (name, v)) in lines.iter().enumerate() {
            let color = if i < PALETTE.len() {
                PALETTE[i]
            } else {
                RGBColor(190, 190, 190)
            };
            let points = t.iter().zip(v).map(|(&x, &y)| (x as f64 / 60.0, y));
            let s = c
                .draw_series(LineSeries::new(points, color.stroke_width(2)))
                .map_err(|e| e.to_string())?;
            if i < PALETTE.len() {
                s.label(name.clone())
                    .legend(move |(x, y)| PathElement::new(vec![(x, y), (x + 18, y)], color.stroke_width(2)));
            }
        }
        if !lines.is_empty() {
            c.configure_series_labels()
                .background_style(WHITE.mix(0.85))
                .border_style(BLACK)
                .position(SeriesLabelPosition::UpperRight)
                .draw()
                .map_err(|e| e.to_string())?;
        }
        root.present().map_err(|e| e.to_string())?;
    }
    Ok(svg)
}

/// The whole report as one HTML page.
pub fn html(summary: &Summary, series: &Series, decisions: &[DecisionRecord]) -> Result<String, String> {
    let f = |v: &[i32]| v.iter().map(|&x| f64::from(x)).collect::<Vec<f64>>();
    let replicas: Vec<(String, Vec<f64>)> = series.replicas.iter().map(|(k, v)| (k.clone(), f(v))).collect();
    let nodes: Vec<(String, Vec<f64>)> = series
        .nodes
        .iter()
        .map(|(k, v)| (k.clone(), v.iter().map(|&x| x as f64).collect()))
        .collect();
    let pending = vec![(
        "pending pods".to_string(),
        series.pending.iter().map(|&x| x as f64).collect(),
    )];
    let cost = vec![("cost so far".to_string(), series.cost.clone())];
    let mut out = String::new();
    let _ = write!(
        out,
        "<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">\
         <title>swell simulate: {name}</title>\n<style>\
         body{{font-family:sans-serif;max-width:960px;margin:1em auto;color:#222}}\
         table{{border-collapse:collapse}}td,th{{border-bottom:1px solid #ddd;padding:2px 8px;text-align:left;vertical-align:top}}\
         pre{{background:#f6f6f6;padding:8px;overflow-x:auto;font-size:12px}}\
         .chart{{margin:8px 0}} .bad{{color:#b00;font-weight:bold}}\
         </style></head><body>\n<h1>Simulation: {name}</h1>\n",
        name = esc(&summary.scenario)
    );
    let _ = writeln!(
        out,
        "<h2 id=\"summary\">Summary</h2>\n<pre>{}</pre>",
        esc(&crate::summary::render(summary))
    );
    if summary.pdb_violations > 0 || !summary.invariant_violations.is_empty() {
        let _ = writeln!(
            out,
            "<p class=\"bad\">Invariants were violated; see the summary.</p>"
        );
    }
    out.push_str("<h2 id=\"charts\">Over time</h2>\n");
    for (title, y, lines) in [
        ("Replicas per workload", "replicas", &replicas),
        ("Nodes per group", "nodes", &nodes),
        ("Pending pods", "pods", &pending),
        ("Cost", "USD", &cost),
    ] {
        let svg = chart(title, y, &series.t, lines)?;
        let _ = writeln!(out, "<div class=\"chart\">{svg}</div>");
    }
    let _ = writeln!(
        out,
        "<h2 id=\"decisions\">Scale decisions ({})</h2>\n<table><tr><th>#</th><th>time</th><th>kind</th><th>what</th></tr>",
        decisions.len()
    );
    for d in decisions {
        let _ = writeln!(
            out,
            "<tr><td><a href=\"#d{id}\">{id}</a></td><td>{t}</td><td>{k}</td><td><a href=\"#d{id}\">{s}</a></td></tr>",
            id = d.id,
            t = hms(d.at),
            k = d.kind.as_str(),
            s = esc(&d.summary)
        );
    }
    out.push_str("</table>\n<h2 id=\"explanations\">Explanations</h2>\n");
    for d in decisions {
        let _ = writeln!(
            out,
            "<section id=\"d{id}\"><h3>#{id} at {t}: {s}</h3><pre>{e}</pre><p><a href=\"#decisions\">back to the list</a></p></section>",
            id = d.id,
            t = hms(d.at),
            s = esc(&d.summary),
            e = esc(&d.explanation)
        );
    }
    out.push_str("</body></html>\n");
    Ok(out)
}
