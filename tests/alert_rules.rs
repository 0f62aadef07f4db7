//! The Prometheus alerting rules (`contrib/prometheus/bgpsieve-alerts.yml`) ask only for metrics
//! and labels bgpsieve exports, pass `promtool check rules`, and pass their own unit tests
//! (`promtool test rules contrib/prometheus/bgpsieve-alerts.test.yml`), in which every alert
//! fires once and stays quiet once. The promtool tests skip without promtool and fail with
//! `BGPSIEVE_REQUIRE_INTEROP=1`; the name checks need nothing installed.

mod common;

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};
use std::process::Command;

fn contrib() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("contrib/prometheus")
}

fn read(name: &str) -> String {
    std::fs::read_to_string(contrib().join(name)).unwrap()
}

/// Labels every scraped series gets from Prometheus (target labels), and series Prometheus
/// makes itself: not bgpsieve's to export.
const TARGET_LABELS: &[&str] = &["instance", "job"];
const PROMETHEUS_SERIES: &[&str] = &["up"];

/// Every series name of a `/metrics` page with every metric touched, with its label names.
fn exported() -> BTreeMap<String, BTreeSet<String>> {
    let m = common::every_metric_touched();
    let mut out: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
    for line in m.render().lines() {
        if line.starts_with('#') || line.is_empty() {
            continue;
        }
        let name_end = line.find(['{', ' ']).unwrap();
        let labels = out.entry(line[..name_end].to_string()).or_default();
        if line[name_end..].starts_with('{') {
            let body = &line[name_end + 1..line.find('}').unwrap()];
            for pair in body.split("\",") {
                labels.insert(pair.split('=').next().unwrap().to_string());
            }
        }
    }
    out
}

/// The metric names registered in `src/metrics.rs` (its string literals `"bgpsieve_…"` outside
/// the unit tests): the page above must show each, or it would not be the whole list.
fn registered_in_source() -> BTreeSet<String> {
    let src = std::fs::read_to_string(Path::new(env!("CARGO_MANIFEST_DIR")).join("src/metrics.rs"))
        .unwrap();
    let code = src.split("#[cfg(test)]").next().unwrap();
    code.split('"')
        .skip(1)
        .step_by(2)
        .filter(|s| {
            s.starts_with("bgpsieve_") && s.chars().all(|c| c.is_ascii_alphanumeric() || c == '_')
        })
        .map(str::to_string)
        .collect()
}

/// A token of a PromQL expression that matters here: an identifier (outside strings, numbers
/// and durations) or a bracket.
#[derive(Debug, PartialEq)]
enum Tok {
    Ident(String),
    Punct(char),
}

fn tokens(expr: &str) -> Vec<Tok> {
    let chars: Vec<char> = expr.chars().collect();
    let mut out = Vec::new();
    let mut i = 0;
    while let Some(&c) = chars.get(i) {
        if c == '"' || c == '\'' || c == '`' {
            // A string (a label value, a regex), escapes included.
            i += 1;
            while chars.get(i).is_some_and(|x| *x != c) {
                i += if chars[i] == '\\' { 2 } else { 1 };
            }
            i += 1;
        } else if c == '[' {
            // A range or subquery duration: `[5m]`, `[1h:1m]`.
            while chars.get(i).is_some_and(|x| *x != ']') {
                i += 1;
            }
            i += 1;
        } else if c.is_ascii_digit() {
            // A number or a duration (`10m`, `1e3`).
            while chars
                .get(i)
                .is_some_and(|x| x.is_ascii_alphanumeric() || *x == '.')
            {
                i += 1;
            }
        } else if c.is_ascii_alphabetic() || c == '_' || c == ':' {
            let start = i;
            while chars
                .get(i)
                .is_some_and(|x| x.is_ascii_alphanumeric() || *x == '_' || *x == ':')
            {
                i += 1;
            }
            out.push(Tok::Ident(chars[start..i].iter().collect()));
        } else {
            if "(){}".contains(c) {
                out.push(Tok::Punct(c));
            }
            i += 1;
        }
    }
    out
}

/// What an expression asks for: metric names, label names in selectors (per metric) and label
/// names in `by`, `without`, `on`, `ignoring`, `group_left` and `group_right` lists.
#[derive(Debug, Default, PartialEq)]
struct Uses {
    metrics: BTreeSet<String>,
    matchers: Vec<(String, String)>,
    grouping: BTreeSet<String>,
}

/// Keywords that are neither metrics nor functions followed by `(`: binary operators, modifiers,
/// and aggregations, which may be followed by `by (…)` / `without (…)` before their `(`.
const KEYWORDS: &[&str] = &[
    "and",
    "or",
    "unless",
    "bool",
    "offset",
    "sum",
    "min",
    "max",
    "avg",
    "group",
    "stddev",
    "stdvar",
    "count",
    "count_values",
    "bottomk",
    "topk",
    "quantile",
];
const GROUPING: &[&str] = &[
    "by",
    "without",
    "on",
    "ignoring",
    "group_left",
    "group_right",
];

fn uses(expr: &str) -> Uses {
    let mut u = Uses::default();
    let toks = tokens(expr);
    let mut selector_of: Option<String> = None;
    let mut label_list = false;
    let mut last_metric: Option<String> = None;
    for (i, t) in toks.iter().enumerate() {
        let next = toks.get(i + 1);
        match t {
            Tok::Punct('{') => selector_of = last_metric.clone(),
            Tok::Punct('}') => selector_of = None,
            Tok::Punct(')') => label_list = false,
            Tok::Punct(_) => {}
            Tok::Ident(w) => {
                if let Some(m) = &selector_of {
                    u.matchers.push((m.clone(), w.clone()));
                } else if label_list {
                    u.grouping.insert(w.clone());
                } else if GROUPING.contains(&w.as_str()) {
                    label_list = next == Some(&Tok::Punct('('));
                } else if next == Some(&Tok::Punct('(')) || KEYWORDS.contains(&w.as_str()) {
                    // A function, an aggregation or an operator.
                } else {
                    u.metrics.insert(w.clone());
                    last_metric = Some(w.clone());
                }
            }
        }
    }
    u
}

/// `(alert name, expr)` of every rule, read line by line: each rule is `- alert: NAME` followed
/// by a one-line `expr:`. A rule without a one-line expr fails the test rather than escaping it.
fn rules() -> Vec<(String, String)> {
    let text = read("bgpsieve-alerts.yml");
    let mut out: Vec<(String, String)> = Vec::new();
    let mut pending: Option<String> = None;
    for line in text.lines().map(str::trim) {
        if let Some(name) = line.strip_prefix("- alert:") {
            assert!(pending.is_none(), "rule {pending:?} has no expr line");
            pending = Some(name.trim().to_string());
        } else if let Some(expr) = line.strip_prefix("expr:") {
            let name = pending.take().expect("an expr outside an alert rule");
            let expr = expr.trim();
            assert!(
                !expr.is_empty() && !expr.starts_with(['|', '>']),
                "{name}: write the expr on one line"
            );
            out.push((name, expr.to_string()));
        } else if line.starts_with("- record:") {
            panic!("recording rules are not checked here: {line}");
        }
    }
    assert!(pending.is_none(), "rule {pending:?} has no expr line");
    out
}

#[test]
fn the_page_the_rules_are_checked_against_is_every_registered_metric() {
    let exported = exported();
    for name in registered_in_source() {
        let shown =
            exported.contains_key(&name) || exported.contains_key(&format!("{name}_bucket"));
        assert!(
            shown,
            "{name} is registered in src/metrics.rs but not on the page"
        );
    }
}

#[test]
fn every_rule_asks_for_metrics_and_labels_bgpsieve_exports() {
    let exported = exported();
    let rules = rules();
    assert!(rules.len() >= 9, "{} rules", rules.len());
    for (alert, expr) in &rules {
        let u = uses(expr);
        assert!(!u.metrics.is_empty(), "{alert}: no metric in {expr}");
        let mut labels: BTreeSet<String> = TARGET_LABELS.iter().map(|s| s.to_string()).collect();
        for m in &u.metrics {
            if PROMETHEUS_SERIES.contains(&m.as_str()) {
                continue;
            }
            let Some(l) = exported.get(m) else {
                panic!("{alert}: {m} is not a metric bgpsieve exports ({expr})");
            };
            labels.extend(l.iter().cloned());
        }
        for (m, label) in &u.matchers {
            // Prometheus' own series (`up`) have only the target labels.
            let known = TARGET_LABELS.contains(&label.as_str())
                || exported.get(m).is_some_and(|l| l.contains(label));
            assert!(known, "{alert}: {m} has no label {label} ({expr})");
        }
        for label in &u.grouping {
            assert!(
                labels.contains(label),
                "{alert}: groups by {label}, which none of {:?} has ({expr})",
                u.metrics
            );
        }
    }
}

#[test]
fn every_alert_has_a_test_where_it_fires_and_one_where_it_does_not() {
    let tests = read("bgpsieve-alerts.test.yml");
    let lines: Vec<&str> = tests.lines().map(str::trim).collect();
    let mut fires = BTreeSet::new();
    let mut quiet = BTreeSet::new();
    for (i, line) in lines.iter().enumerate() {
        if let Some(name) = line.strip_prefix("alertname:") {
            let name = name.trim().to_string();
            match lines.get(i + 1).copied() {
                Some("exp_alerts: []") => quiet.insert(name),
                Some("exp_alerts:") => fires.insert(name),
                other => panic!("{name}: expected exp_alerts after alertname, got {other:?}"),
            };
        }
    }
    for (alert, _) in rules() {
        assert!(fires.contains(&alert), "no test where {alert} fires");
        assert!(quiet.contains(&alert), "no test where {alert} stays quiet");
    }
}

fn promtool(args: &[&str]) {
    let out = Command::new("promtool")
        .args(args)
        .current_dir(contrib())
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        out.status.success(),
        "promtool {args:?}: {:?}\nstdout: {stdout}\nstderr: {stderr}",
        out.status
    );
}

#[test]
fn promtool_checks_the_rules() {
    if !common::interop::available("promtool") {
        return;
    }
    promtool(&["check", "rules", "bgpsieve-alerts.yml"]);
}

#[test]
fn promtool_unit_tests_pass() {
    if !common::interop::available("promtool") {
        return;
    }
    promtool(&["test", "rules", "bgpsieve-alerts.test.yml"]);
}

#[test]
fn expressions_are_read_for_names_labels_and_groupings() {
    let u = uses(
        r#"sum without (afi) (bgpsieve_vrps{afi="ipv4"}) == 0 and on (instance, job) count without (cache) (bgpsieve_rtr_up{cache=~"bgpsieve_x.*"}[5m]) > 0"#,
    );
    assert_eq!(
        u.metrics,
        BTreeSet::from(["bgpsieve_vrps".to_string(), "bgpsieve_rtr_up".to_string()])
    );
    assert_eq!(
        u.matchers,
        vec![
            ("bgpsieve_vrps".to_string(), "afi".to_string()),
            ("bgpsieve_rtr_up".to_string(), "cache".to_string())
        ]
    );
    assert_eq!(
        u.grouping,
        BTreeSet::from(["afi", "instance", "job", "cache"].map(String::from))
    );
    // Durations and numbers are not names; functions and aggregations are not metrics.
    let u = uses("max without (cache) (increase(bgpsieve_max_prefix_trips_total[10m])) > 1e3");
    assert_eq!(
        u.metrics,
        BTreeSet::from(["bgpsieve_max_prefix_trips_total".to_string()])
    );
}
