//! Route views with real daemons (issue #12 item 3): a BIRD neighbor (a customer) sends
//! accepted and rejected routes, a BIRD router sends one route the customer may get and one it
//! may not; `ctl routes` and `GET /api/v1/peers/NAME/routes` show them in the four views with
//! their verdicts, what BIRD holds on each side is what the views say was sent, the counts equal
//! `bgpsieve_routes_current` on `/metrics`, and `ctl route` finds a prefix exactly, by longest
//! match and with its more-specifics.
//!
//! Loopback 127.0.5.10–13 and ports 12500–12510 only; every process is stopped by PID.

mod common;

use common::interop::{available, bgpsieve_daemon, ctl, http_get, strings, wait_for, Bird};
use serde_json::Value;
use std::time::Duration;

const T: Duration = Duration::from_secs(30);
const API: &str = "127.0.5.10:12510";

/// The customer, AS20002 at 127.0.5.11: three routes to accept (one a more-specific of
/// another), a bogon and a /25 to reject.
const NEIGHBOR: &str = r#"
log stderr all;
router id 127.0.5.11;
protocol device {}
protocol static own {
  ipv4;
  route 1.0.0.0/24 blackhole { bgp_community.add((65000, 1)); bgp_large_community.add((20002, 1, 2)); };
  route 1.0.4.0/22 blackhole;
  route 1.0.4.0/24 blackhole;
  route 10.0.0.0/24 blackhole;
  route 1.0.8.0/25 blackhole;
}
protocol bgp sieve {
  local 127.0.5.11 port 12501 as 20002;
  neighbor 127.0.5.10 port 12500 as 20001;
  passive on;
  multihop;
  hold time 30;
  ipv4 { import all; export where proto = "own"; next hop address 192.0.2.41; };
}
"#;

/// The router, AS20001 at 127.0.5.12 (port 12502), meeting the customer at bgpsieve's
/// 127.0.5.13: it sends 20.0.0.0/24 (ours to announce) and 10.1.0.0/24 (a bogon, which export
/// policy stops).
const ROUTER: &str = r#"
log stderr all;
router id 127.0.5.12;
protocol device {}
protocol static lo { ipv4; route 192.0.2.0/24 via "lo"; }
protocol static own {
  ipv4;
  route 20.0.0.0/24 blackhole;
  route 10.1.0.0/24 blackhole;
}
protocol bgp sieve {
  local 127.0.5.12 port 12502 as 20001;
  neighbor 127.0.5.13 as 20002;
  passive on;
  multihop;
  hold time 30;
  ipv4 { import all; export where proto = "own"; };
}
"#;

const CONFIG: &str = r#"
[global]
asn = 20001
router_id = "127.0.5.10"
listen = ["127.0.5.10:12500"]
announce = ["20.0.0.0/24"]

[api]
listen = "127.0.5.10:12510"

[[peer]]
name = "customer"
role = "customer"
asn = 20002
address = "127.0.5.11"
local_address = "127.0.5.10"
port = 12501
idle_hold = "1s"
connect_retry = "1s"
next_hop = "192.0.2.12"
router = { address = "127.0.5.12", local_address = "127.0.5.13", port = 12502 }
"#;

/// `GET PATH` on the API, as JSON.
fn api(path: &str) -> Value {
    serde_json::from_str(&http_get(API, path)).unwrap()
}

/// `bgpsieve_routes_current{afi="ipv4",direction=D,peer="customer"}` on `/metrics`.
fn routes_current(direction: &str) -> Option<u64> {
    let key = format!(
        "bgpsieve_routes_current{{afi=\"ipv4\",direction=\"{direction}\",peer=\"customer\"}} "
    );
    http_get(API, "/metrics")
        .lines()
        .find_map(|l| l.strip_prefix(&key).and_then(|v| v.trim().parse().ok()))
}

/// (prefix, reasons joined by commas, passed) of every route of a view's answer.
fn verdicts(body: &Value) -> Vec<(String, String, bool)> {
    body["routes"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| {
            let reasons: Vec<&str> = r["reasons"]
                .as_array()
                .unwrap()
                .iter()
                .map(|x| x.as_str().unwrap())
                .collect();
            (
                r["prefix"].as_str().unwrap().to_string(),
                reasons.join(","),
                r["passed"].as_bool().unwrap(),
            )
        })
        .collect()
}

fn v(prefix: &str, reasons: &str, passed: bool) -> (String, String, bool) {
    (prefix.into(), reasons.into(), passed)
}

/// The prefixes of a view's answer, in its order.
fn prefixes(body: &Value) -> Vec<String> {
    verdicts(body).into_iter().map(|(p, _, _)| p).collect()
}

/// `ctl ARGS` that must succeed: its stdout.
fn ok(args: &[&str]) -> String {
    let (code, out, err) = ctl(&format!("http://{API}"), args);
    assert_eq!(code, 0, "ctl {args:?}: {out}{err}");
    out
}

#[test]
fn views_show_each_sides_routes_with_verdicts_and_counts_equal_the_metric() {
    if !available("bird") || !available("birdc") {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let neighbor = Bird::start(dir.path(), "neighbor", NEIGHBOR);
    let router = Bird::start(dir.path(), "router", ROUTER);
    let sieve = bgpsieve_daemon(dir.path(), CONFIG);
    let logs = || {
        format!(
            "bgpsieve:\n{}\nneighbor:\n{}\nrouter:\n{}",
            sieve.log_text(),
            neighbor.cli("show protocols all"),
            router.cli("show protocols all")
        )
    };
    let accepted = strings(&["1.0.0.0/24", "1.0.4.0/22", "1.0.4.0/24"]);
    wait_for(
        T,
        || {
            router.prefixes_from("sieve") == accepted
                && neighbor.prefixes_from("sieve") == strings(&["20.0.0.0/24"])
                && routes_current("in") == Some(3)
                && routes_current("out") == Some(1)
        },
        logs,
    );

    // in: every route the customer sent, before policy, with its verdict.
    let inbound = api("/api/v1/peers/customer/routes");
    assert_eq!(inbound["view"], "in");
    assert_eq!(
        verdicts(&inbound),
        [
            v("1.0.0.0/24", "", true),
            v("1.0.4.0/22", "", true),
            v("1.0.4.0/24", "", true),
            v("1.0.8.0/25", "prefix-length", false),
            v("10.0.0.0/24", "bogon-prefix", false),
        ],
        "{inbound:#}"
    );
    let first = &inbound["routes"][0];
    assert_eq!(first["as_path"], "20002");
    assert_eq!(first["next_hop"], "192.0.2.41");
    assert_eq!(first["communities"], serde_json::json!(["65000:1"]));
    assert_eq!(first["large_communities"], serde_json::json!(["20002:1:2"]));
    assert_eq!(first["origin"], "igp");
    assert_eq!(
        inbound["counts"]["ipv4"],
        serde_json::json!({"held": 5, "accepted": 3, "rejected": 2, "passed": 3})
    );
    assert_eq!(inbound["truncated"], false);

    // to-router is what the router holds from the pair; out what the customer holds.
    let to_router = api("/api/v1/peers/customer/routes?view=to-router");
    assert_eq!(prefixes(&to_router), router.prefixes_from("sieve"));
    let out = api("/api/v1/peers/customer/routes?view=out");
    assert_eq!(prefixes(&out), neighbor.prefixes_from("sieve"));
    assert_eq!(
        out["routes"][0]["next_hop"], "192.0.2.12",
        "the router's link"
    );
    assert_eq!(
        out["routes"][0]["otc"], 20001,
        "OTC on egress to a customer"
    );
    let from_router = api("/api/v1/peers/customer/routes?view=from-router");
    assert_eq!(
        verdicts(&from_router),
        [
            v("10.1.0.0/24", "export-bogon", false),
            v("20.0.0.0/24", "", true)
        ],
        "{from_router:#}"
    );

    // The counts are the metric's, and the peer view's.
    let metric_in = routes_current("in").unwrap();
    let metric_out = routes_current("out").unwrap();
    assert_eq!(inbound["counts"]["ipv4"]["accepted"], metric_in);
    assert_eq!(out["counts"]["ipv4"]["passed"], metric_out);
    let peer = api("/api/v1/peers/customer");
    assert_eq!(
        peer["accepted_in"]["ipv4"],
        inbound["counts"]["ipv4"]["accepted"]
    );
    assert_eq!(peer["routes_in"]["ipv4"], inbound["counts"]["ipv4"]["held"]);
    assert_eq!(peer["routes_out"]["ipv4"], out["counts"]["ipv4"]["passed"]);

    // ctl: a table for people, JSON with -j, filters, a limit that says it cut.
    let table = ok(&["routes", "customer"]);
    assert!(
        table.starts_with("customer, in: routes the neighbor sent, before policy\nPREFIX"),
        "{table}"
    );
    let line = |text: &str, prefix: &str| {
        text.lines()
            .find(|l| l.starts_with(prefix))
            .unwrap_or_else(|| panic!("no {prefix} in\n{text}"))
            .split_whitespace()
            .collect::<Vec<_>>()
            .join(" ")
    };
    assert_eq!(
        line(&table, "10.0.0.0/24"),
        "10.0.0.0/24 192.0.2.41 20002 rejected: bogon-prefix no"
    );
    assert_eq!(
        line(&table, "1.0.0.0/24"),
        "1.0.0.0/24 192.0.2.41 20002 accepted yes"
    );
    assert!(
        table.contains("ipv4: 5 held, 3 accepted, 2 rejected, 3 passed to the router\n"),
        "{table}"
    );
    let rejected: Value =
        serde_json::from_str(&ok(&["-j", "routes", "customer", "--rejected"])).unwrap();
    assert_eq!(prefixes(&rejected), strings(&["1.0.8.0/25", "10.0.0.0/24"]));
    let cut = ok(&["routes", "customer", "--accepted", "--limit", "2"]);
    assert!(cut.contains("2 of 3 matching routes shown"), "{cut}");
    let outbound = ok(&["routes", "customer", "out"]);
    assert_eq!(
        line(&outbound, "20.0.0.0/24"),
        "20.0.0.0/24 192.0.2.12 20001 accepted"
    );
    let detail = ok(&["routes", "customer", "from-router", "--detail"]);
    assert!(
        detail.contains("10.1.0.0/24 from customer (from-router)\n"),
        "{detail}"
    );
    assert!(detail.contains("export-bogon"), "{detail}");

    // A prefix across the pairs: longest match, exact, more-specifics.
    let longest = ok(&["route", "1.0.4.1"]);
    assert!(
        longest.starts_with("1.0.4.1/32: longest match 1.0.4.0/24\n"),
        "{longest}"
    );
    assert_eq!(
        line(&longest, "1.0.4.0/24"),
        "1.0.4.0/24 customer neighbor 192.0.2.41 20002 accepted yes"
    );
    let longest: Value = serde_json::from_str(&ok(&["-j", "route", "1.0.5.1"])).unwrap();
    assert_eq!(longest["matched_prefix"], "1.0.4.0/22");
    assert_eq!(prefixes(&longest), strings(&["1.0.4.0/22"]));
    let exact: Value =
        serde_json::from_str(&ok(&["-j", "route", "1.0.4.0/22", "--exact"])).unwrap();
    assert_eq!(prefixes(&exact), strings(&["1.0.4.0/22"]));
    let longer: Value =
        serde_json::from_str(&ok(&["-j", "route", "1.0.0.0/16", "--longer"])).unwrap();
    assert_eq!(
        prefixes(&longer),
        strings(&["1.0.0.0/24", "1.0.4.0/22", "1.0.4.0/24", "1.0.8.0/25"])
    );
    let from_router: Value = serde_json::from_str(&ok(&["-j", "route", "10.1.0.9"])).unwrap();
    assert_eq!(from_router["routes"][0]["view"], "from-router");
    assert_eq!(from_router["routes"][0]["peer"], "customer");
    let none = ok(&["route", "192.0.2.1"]);
    assert!(
        none.starts_with("192.0.2.1/32: no route covers it\n"),
        "{none}"
    );

    let (code, _, err) = ctl(&format!("http://{API}"), &["routes", "nobody"]);
    assert_eq!(code, 1, "{err}");
    assert!(err.contains("no peer named \"nobody\""), "{err}");
}
