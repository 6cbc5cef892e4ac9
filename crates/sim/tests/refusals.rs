#![allow(clippy::unwrap_used, clippy::expect_used)]
//! A scenario with a typo or an impossible value is refused with the field and the line named.

use swell_sim::Scenario;

const GOOD: &str = "\
name: t
duration: 10m
nodeGroups:
  - name: a
    min: 1
    max: 5
    cpu: \"4\"
    memory: 16Gi
    pricePerHour: 0.1
workloads:
  - name: web
    replicas: 2
    cpu: 500m
    memory: 512Mi
    hpa: {maxReplicas: 10, targetCpuUtilization: 60}
";

fn refuse(text: &str) -> String {
    Scenario::parse(text, "t.yaml").unwrap_err().to_string()
}

#[test]
fn the_base_scenario_is_accepted() {
    Scenario::parse(GOOD, "t.yaml").unwrap();
}

#[test]
fn a_misspelt_field_is_named_with_its_line() {
    let e = refuse(&GOOD.replace("    min: 1", "    mni: 1"));
    assert!(e.contains("unknown field `mni`") && e.contains("line 5"), "{e}");
    assert!(e.contains("nodeGroups[0]"), "{e}");
}

#[test]
fn a_bad_quantity_or_duration_is_named_with_its_line() {
    let e = refuse(&GOOD.replace("cpu: 500m", "cpu: 500x"));
    assert!(e.contains("workloads[0].cpu") && e.contains("line 13"), "{e}");
    let e = refuse(&GOOD.replace("duration: 10m", "duration: -10m"));
    assert!(e.contains("negative") && e.contains("line 2"), "{e}");
}

#[test]
fn bounds_across_fields_are_named_with_the_fields_line() {
    let e = refuse(&GOOD.replace("    max: 5", "    max: 0"));
    assert!(
        e.contains("nodeGroups[0].max") && e.contains("below min") && e.contains("line 6"),
        "{e}"
    );
    let e = refuse(&GOOD.replace("replicas: 2", "replicas: 20"));
    assert!(
        e.contains("workloads[0].replicas") && e.contains("line 12"),
        "{e}"
    );
    let e = refuse(&GOOD.replace("maxReplicas: 10", "maxReplicas: 0"));
    assert!(
        e.contains("workloads[0].hpa.maxReplicas") && e.contains("line 15"),
        "{e}"
    );
}

#[test]
fn a_bad_setting_is_named_by_its_flag() {
    let text = GOOD.replace(
        "duration: 10m\n",
        "duration: 10m\nsettings:\n  expander: cheapest\n",
    );
    let e = refuse(&text);
    assert!(e.contains("settings.expander") && e.contains("line 4"), "{e}");
    let text = GOOD.replace(
        "duration: 10m\n",
        "duration: 10m\nsettings:\n  scan-intervall: 5s\n",
    );
    assert!(refuse(&text).contains("unknown field `scan-intervall`"));
}
