#![allow(clippy::unwrap_used, clippy::expect_used)]
//! The HTML report looked at as a person would: opened in headless Chromium (Debian's `chromium`),
//! screenshotted, and the screenshot checked for drawn charts (the chart lines' colours, in each of
//! the four charts' bands). CI installs Chromium (.ci/run) and fails without it; elsewhere the test
//! says it is skipped when no Chromium is found.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant};

use swell_sim::engine::{Options, run};
use swell_sim::{Scenario, Settings};

fn chromium() -> Option<&'static str> {
    ["chromium", "chromium-browser", "google-chrome"]
        .into_iter()
        .find(|b| {
            Command::new(b)
                .arg("--version")
                .output()
                .is_ok_and(|o| o.status.success())
        })
}

fn screenshot(browser: &str, html: &Path, png: &Path) {
    let mut child = Command::new(browser)
        .args([
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--hide-scrollbars",
            "--window-size=1000,1500",
        ])
        .arg(format!("--screenshot={}", png.display()))
        .arg(format!("file://{}", html.display()))
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .spawn()
        .unwrap();
    let deadline = Instant::now() + Duration::from_secs(90);
    loop {
        if let Some(status) = child.try_wait().unwrap() {
            assert!(status.success(), "{browser} failed: {status}");
            return;
        }
        if Instant::now() > deadline {
            let _ = child.kill();
            panic!("{browser} did not finish the screenshot in 90 s");
        }
        std::thread::sleep(Duration::from_millis(100));
    }
}

#[test]
fn the_report_renders_its_charts_in_headless_chromium() {
    let Some(browser) = chromium() else {
        assert!(
            std::env::var_os("CI").is_none(),
            "CI must have Chromium for this test (.ci/run installs Debian's chromium)"
        );
        eprintln!("skipped: no chromium on PATH (apt-get install -y chromium to run it)");
        return;
    };
    let dir = PathBuf::from(env!("CARGO_TARGET_TMPDIR"));
    let scenarios = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../scenarios");
    let text = std::fs::read_to_string(scenarios.join("flash-crowd.yaml")).unwrap();
    let s = Scenario::parse(&text, "flash-crowd.yaml").unwrap();
    let out = run(&s, &Settings::default(), Options::default(), None, &mut |_, _| {}).unwrap();
    let html = swell_sim::report::html(&out.summary, &out.series, &out.decisions).unwrap();
    // Readable without JavaScript, every decision linked to its explanation in the page.
    assert!(!html.contains("<script"));
    assert_eq!(html.matches("<svg").count(), 4);
    for d in &out.decisions {
        assert!(html.contains(&format!("href=\"#d{}\"", d.id)));
        assert!(html.contains(&format!("<section id=\"d{}\">", d.id)));
    }
    let html_path = dir.join("flash-crowd-report.html");
    let png_path = dir.join("flash-crowd-report.png");
    std::fs::write(&html_path, html).unwrap();
    let _ = std::fs::remove_file(&png_path);
    screenshot(browser, &html_path, &png_path);
    eprintln!("screenshot: {}", png_path.display());

    let decoder = png::Decoder::new(std::io::BufReader::new(std::fs::File::open(&png_path).unwrap()));
    let mut reader = decoder.read_info().unwrap();
    let mut buf = vec![0; reader.output_buffer_size().unwrap()];
    let info = reader.next_frame(&mut buf).unwrap();
    let channels = info.color_type.samples();
    let (w, h) = (info.width as usize, info.height as usize);
    assert_eq!((w, h), (1000, 1500));
    let near = |p: &[u8], c: (u8, u8, u8)| {
        p[0].abs_diff(c.0) < 40 && p[1].abs_diff(c.1) < 40 && p[2].abs_diff(c.2) < 40
    };
    // Count, per band of 300 rows, the pixels of the first two series colours (blue, orange).
    let mut blue = vec![0usize; h / 300 + 1];
    let mut orange = vec![0usize; h / 300 + 1];
    let mut white = 0usize;
    for y in 0..h {
        for x in 0..w {
            let p = &buf[(y * w + x) * channels..][..3];
            if near(p, (31, 119, 180)) {
                blue[y / 300] += 1;
            }
            if near(p, (255, 127, 14)) {
                orange[y / 300] += 1;
            }
            if p == [255, 255, 255] {
                white += 1;
            }
        }
    }
    assert!(
        white > w * h / 2,
        "a mostly white page, not a blank or error screen"
    );
    // The replicas chart (web in orange, api in blue) sits in the second band of 300 rows, the
    // nodes chart in the third, the pending chart in the fourth: lines drawn in each.
    assert!(orange[1] + orange[2] > 300, "the web replicas line: {orange:?}");
    assert!(blue[1] + blue[2] > 300, "the api replicas line: {blue:?}");
    assert!(blue[2] + blue[3] > 300, "the nodes line: {blue:?}");
    assert!(blue[3] + blue[4] > 300, "the pending pods line: {blue:?}");
}
