//! The Grafana dashboard (`contrib/grafana/bgpsieve.json`) asks only for metrics bgpsieve
//! exports: every metric name in every panel's query is a series of a populated `/metrics`
//! page, and the dashboard is valid JSON with the panels and variables it needs.

mod common;

use std::collections::BTreeSet;

/// Every series name of a `/metrics` page with every metric touched.
fn exported() -> BTreeSet<String> {
    common::every_metric_touched()
        .render()
        .lines()
        .filter(|l| !l.starts_with('#') && !l.is_empty())
        .filter_map(|l| l.split(['{', ' ']).next())
        .map(str::to_string)
        .collect()
}

/// The metric names a PromQL expression mentions (`bgpsieve_…` and `process_…` identifiers).
fn names(expr: &str) -> Vec<String> {
    let mut out = Vec::new();
    let mut word = String::new();
    let mut in_string = false;
    for c in expr.chars().chain([' ']) {
        if c == '"' {
            in_string = !in_string;
        }
        if !in_string && (c.is_ascii_alphanumeric() || c == '_') {
            word.push(c);
            continue;
        }
        if word.starts_with("bgpsieve_") || word.starts_with("process_") {
            out.push(word.clone());
        }
        word.clear();
    }
    out
}

#[test]
fn every_panel_queries_metrics_that_exist() {
    let path = concat!(env!("CARGO_MANIFEST_DIR"), "/contrib/grafana/bgpsieve.json");
    let dash: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap();
    let exported = exported();
    let panels = dash["panels"].as_array().unwrap();
    assert!(panels.len() >= 15, "{} panels", panels.len());
    let mut used = BTreeSet::new();
    for p in panels {
        let targets = p["targets"].as_array().unwrap();
        assert!(!targets.is_empty(), "panel {} has no query", p["title"]);
        for t in targets {
            let expr = t["expr"].as_str().unwrap();
            let found = names(expr);
            assert!(!found.is_empty(), "{expr}");
            for n in found {
                assert!(
                    exported.contains(&n),
                    "panel {}: {n} is not exported",
                    p["title"]
                );
                used.insert(n);
            }
        }
    }
    // The metrics of DESIGN §6 all have a panel.
    for m in [
        "bgpsieve_peer_up",
        "bgpsieve_routes_received_total",
        "bgpsieve_routes_rejected_total",
        "bgpsieve_routes_current",
        "bgpsieve_vrps",
        "bgpsieve_aspas",
        "bgpsieve_rtr_up",
        "bgpsieve_rtr_serial",
        "bgpsieve_max_prefix_trips_total",
        "bgpsieve_update_processing_seconds_bucket",
    ] {
        assert!(used.contains(m), "no panel shows {m}");
    }
    let vars: Vec<&str> = dash["templating"]["list"]
        .as_array()
        .unwrap()
        .iter()
        .map(|v| v["name"].as_str().unwrap())
        .collect();
    assert_eq!(vars, ["datasource", "instance", "peer"]);
}

#[test]
fn names_are_read_out_of_queries_and_not_out_of_label_values() {
    assert_eq!(
        names(r#"sum by (reason) (rate(bgpsieve_routes_rejected_total{peer=~"bgpsieve_x"}[5m]))"#),
        vec!["bgpsieve_routes_rejected_total".to_string()]
    );
}
