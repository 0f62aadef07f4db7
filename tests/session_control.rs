//! Session control (issue 12 item 4) with real daemons on loopback (127.0.4.1–127.0.4.39,
//! ports 12400–12429), every process stopped by PID:
//!
//! - FRR as the neighbor, BIRD 2 as the router: `ctl neighbor NAME refresh in` sends FRR a
//!   ROUTE-REFRESH (its counter grows), `refresh out` sends it its table again (its UPDATE
//!   counter grows), neither resets a session; `ctl neighbor NAME down "maintenance"` ends
//!   FRR's session with Cease/Administrative Shutdown and the message, the router loses the
//!   routes and sees the same message, the pair stays down, `ctl peers` shows it; `up` brings
//!   it back.
//! - BIRD neighbors and router, two pairs: a pair whose configuration says `shutdown` never
//!   connects; a reload that clears the key brings it up and one that sets it takes it down,
//!   each without resetting the other pair.

mod common;

use common::frr::{frr_neighbor, Frr};
use common::interop::{
    available, bgpsieve_daemon, bird_router, bird_speaker, ctl, http_get, strings, wait_for,
    write_vrps, Bird,
};
use serde_json::Value;
use std::time::Duration;

const T: Duration = Duration::from_secs(30);

/// The customer: FRR, AS20005 at 127.0.4.2, passive toward bgpsieve (127.0.4.1:12400),
/// announcing two prefixes with a third-party next hop.
fn frr_config() -> String {
    format!(
        r#"frr defaults traditional
hostname customer-frr
! listen 127.0.4.2 12401
route-map OUT permit 10
 set ip next-hop 192.0.2.2
exit
route-map IN permit 10
exit
router bgp 20005
 bgp router-id 127.0.4.2
 no bgp ebgp-requires-policy
 no bgp network import-check
 bgp allow-martian-nexthop
{neighbor} neighbor 127.0.4.1 passive
 neighbor 127.0.4.1 local-role customer
 address-family ipv4 unicast
  network 1.0.0.0/24
  network 5.0.0.0/24
  neighbor 127.0.4.1 route-map OUT out
  neighbor 127.0.4.1 route-map IN in
 exit-address-family
exit
"#,
        neighbor = frr_neighbor("127.0.4.1", 12400, 20001, "127.0.4.2")
    )
}

/// The router: BIRD, AS20001 at 127.0.4.3, meeting the customer at bgpsieve's 127.0.4.12 and
/// announcing its own prefix to it.
const ROUTER: &str = r#"
router id 127.0.4.3;
protocol device {}
protocol static lo { ipv4; route 192.0.2.0/24 via "lo"; }
protocol static own { ipv4; route 20.0.0.0/24 blackhole; }
protocol bgp sieve {
  local 127.0.4.3 port 12402 as 20001;
  neighbor 127.0.4.12 as 20005;
  passive on;
  multihop;
  hold time 30;
  local role provider;
  ipv4 { import all; export where proto = "own"; };
}
"#;

fn frr_pair_config(vrps: &std::path::Path) -> String {
    format!(
        r#"
[global]
asn = 20001
router_id = "127.0.4.1"
listen = ["127.0.4.1:12400"]

[api]
listen = "127.0.4.1:12409"

[rpki]
vrp_files = ["{}"]

[[peer]]
name = "customer-frr"
role = "customer"
asn = 20005
address = "127.0.4.2"
local_address = "127.0.4.1"
port = 12401
idle_hold = "1s"
connect_retry = "1s"
next_hop = "192.0.2.3"
router = {{ address = "127.0.4.3", local_address = "127.0.4.12", port = 12402 }}
"#,
        vrps.display()
    )
}

/// A counter of `messageStats` in FRR's view of its neighbor bgpsieve.
fn frr_stat(frr: &Frr, key: &str) -> u64 {
    frr.neighbor("127.0.4.1")["messageStats"][key]
        .as_u64()
        .unwrap_or(0)
}

/// The API's view of one peer.
fn peer_view(api: &str, name: &str) -> Value {
    serde_json::from_str(&http_get(api, &format!("/api/v1/peers/{name}"))).unwrap()
}

#[test]
fn ctl_neighbor_refresh_down_and_up_with_an_frr_neighbor_and_a_bird_router() {
    if !available("bird") || !available("birdc") || !Frr::available() {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let vrps = write_vrps(dir.path(), &[(20005, "1.0.0.0/24", 24)]);
    let frr = Frr::start(dir.path(), "customer", &frr_config());
    let router = Bird::start(dir.path(), "router", ROUTER);
    let sieve = bgpsieve_daemon(dir.path(), &frr_pair_config(&vrps));
    let api = "127.0.4.1:12409";
    let url = format!("http://{api}");
    let logs = || {
        format!(
            "bgpsieve:\n{}\nfrr:\n{}\nrouter:\n{}",
            sieve.log_text(),
            frr.neighbor("127.0.4.1"),
            router.cli("show protocols all sieve"),
        )
    };
    let both = strings(&["1.0.0.0/24", "5.0.0.0/24"]);
    wait_for(T, || router.prefixes_from("sieve") == both, logs);
    wait_for(
        T,
        || frr.prefixes_from("127.0.4.1") == strings(&["20.0.0.0/24"]),
        logs,
    );
    let connections = frr.connections("127.0.4.1");
    let router_since = router.since("sieve");

    // refresh in: FRR is asked for its routes again (it negotiated route refresh).
    let refresh_recv = frr_stat(&frr, "routeRefreshRecv");
    let (code, out, err) = ctl(&url, &["neighbor", "customer-frr", "refresh", "in"]);
    assert_eq!(code, 0, "{out}{err}");
    assert!(
        out.contains("ROUTE-REFRESH sent to the neighbor (ipv4"),
        "{out}"
    );
    wait_for(
        T,
        || frr_stat(&frr, "routeRefreshRecv") > refresh_recv,
        || format!("FRR got no ROUTE-REFRESH\n{}", logs()),
    );

    // refresh out: FRR gets its table again, and the router is asked for its routes.
    let updates_recv = frr_stat(&frr, "updatesRecv");
    let (code, out, err) = ctl(&url, &["neighbor", "customer-frr", "refresh", "out"]);
    assert_eq!(code, 0, "{out}{err}");
    assert!(
        out.contains("the neighbor is sent its 1 routes again"),
        "{out}"
    );
    assert!(out.contains("ROUTE-REFRESH sent to the router"), "{out}");
    wait_for(
        T,
        || frr_stat(&frr, "updatesRecv") > updates_recv,
        || format!("FRR got no UPDATE again\n{}", logs()),
    );
    // Neither refresh reset a session.
    assert_eq!(frr.connections("127.0.4.1"), connections);
    assert_eq!(router.since("sieve"), router_since);
    assert_eq!(router.prefixes_from("sieve"), both);
    assert_eq!(frr.prefixes_from("127.0.4.1"), strings(&["20.0.0.0/24"]));

    // down "maintenance": FRR sees the administrative shutdown with the message, the router
    // loses the routes and sees the message too.
    let (code, out, err) = ctl(
        &url,
        &["neighbor", "customer-frr", "down", "maintenance", "window"],
    );
    assert_eq!(code, 0, "{out}{err}");
    assert!(out.contains("administratively down"), "{out}");
    wait_for(
        T,
        || !frr.established("127.0.4.1") && router.prefixes_from("sieve").is_empty(),
        logs,
    );
    let n = frr.neighbor("127.0.4.1").to_string();
    assert!(
        n.contains("Administrative Shutdown") && n.contains("maintenance window"),
        "FRR shows the shutdown and its message: {n}"
    );
    wait_for(
        T,
        || {
            let r = router.cli("show protocols all sieve");
            !router.established("sieve") && r.contains("maintenance window")
        },
        || format!("the router did not see the message\n{}", logs()),
    );
    // It stays down: bgpsieve does not connect again (FRR is passive), whatever its timers.
    std::thread::sleep(Duration::from_secs(4));
    assert!(!frr.established("127.0.4.1"), "{}", logs());
    assert_eq!(frr.connections("127.0.4.1"), connections);
    let view = peer_view(api, "customer-frr");
    assert_eq!(view["state"], "stopped", "{view}");
    assert_eq!(view["shutdown"]["message"], "maintenance window", "{view}");
    assert_eq!(view["shutdown"]["configured"], false, "{view}");
    let (_, table, _) = ctl(&url, &["peers"]);
    assert!(
        table
            .lines()
            .any(|l| l.starts_with("customer-frr") && l.contains("shutdown")),
        "{table}"
    );
    let (_, detail, _) = ctl(&url, &["peer", "customer-frr"]);
    assert!(
        detail.contains("shutdown:") && detail.contains("\"maintenance window\""),
        "{detail}"
    );
    // Nothing to refresh while it is down.
    let (code, _, err) = ctl(&url, &["neighbor", "customer-frr", "refresh"]);
    assert_eq!(code, 1);
    assert!(err.contains("administratively down"), "{err}");
    assert!(
        sieve.log_text().contains("administratively down"),
        "logged: {}",
        sieve.log_text()
    );

    // up: everything comes back.
    let (code, out, err) = ctl(&url, &["neighbor", "customer-frr", "up"]);
    assert_eq!(code, 0, "{out}{err}");
    wait_for(T, || router.prefixes_from("sieve") == both, logs);
    wait_for(
        T,
        || frr.prefixes_from("127.0.4.1") == strings(&["20.0.0.0/24"]),
        logs,
    );
    assert_eq!(frr.connections("127.0.4.1"), connections + 1);
    assert!(peer_view(api, "customer-frr")["shutdown"].is_null());
    // An unknown peer is a clear error.
    let (code, _, err) = ctl(&url, &["neighbor", "nobody", "up"]);
    assert_eq!(
        (code, err.as_str()),
        (1, "error: no peer named \"nobody\"\n")
    );
    drop(sieve);
}

/// Two pairs of BIRD neighbors (AS20002 at 127.0.4.21, AS20003 at 127.0.4.22) behind a BIRD
/// router at 127.0.4.23; `a_extra` goes into pair a's table.
fn two_pairs(a_extra: &str) -> String {
    format!(
        r#"
[global]
asn = 20001
router_id = "127.0.4.20"
listen = ["127.0.4.20:12420"]

[api]
listen = "127.0.4.20:12429"

[[peer]]
name = "a"
role = "customer"
asn = 20002
address = "127.0.4.21"
local_address = "127.0.4.20"
port = 12421
idle_hold = "1s"
connect_retry = "1s"
router = {{ address = "127.0.4.23", local_address = "127.0.4.31", port = 12423 }}
{a_extra}

[[peer]]
name = "b"
role = "customer"
asn = 20003
address = "127.0.4.22"
local_address = "127.0.4.20"
port = 12422
idle_hold = "1s"
connect_retry = "1s"
router = {{ address = "127.0.4.23", local_address = "127.0.4.32", port = 12423 }}
"#
    )
}

#[test]
fn a_pair_configured_down_never_connects_and_a_reload_brings_it_up_and_down_alone() {
    if !available("bird") || !available("birdc") {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let routes = |r: &[&str]| r.iter().map(|s| s.to_string()).collect::<Vec<_>>();
    let a = bird_speaker(
        dir.path(),
        "neighbor-a",
        ("127.0.4.21", 12421, 20002),
        ("127.0.4.20", 12420),
        &[("announced", &routes(&["1.0.0.0/24"]))],
    );
    let _b = bird_speaker(
        dir.path(),
        "neighbor-b",
        ("127.0.4.22", 12422, 20003),
        ("127.0.4.20", 12420),
        &[("announced", &routes(&["5.0.0.0/24"]))],
    );
    let router = bird_router(
        dir.path(),
        "127.0.4.23",
        12423,
        &[("pa", "127.0.4.31", 20002), ("pb", "127.0.4.32", 20003)],
    );
    let sieve = bgpsieve_daemon(dir.path(), &two_pairs("shutdown = \"not yet\""));
    let conf = dir.path().join("bgpsieve.toml");
    let api = "127.0.4.20:12429";
    let url = format!("http://{api}");
    let logs = || {
        format!(
            "bgpsieve:\n{}\na:\n{}\nrouter:\n{}",
            sieve.log_text(),
            a.cli("show protocols all up"),
            router.cli("show protocols")
        )
    };
    wait_for(
        T,
        || router.prefixes_from("pb") == strings(&["5.0.0.0/24"]),
        logs,
    );
    // Pair a never connects: its neighbor and the router never see it.
    std::thread::sleep(Duration::from_secs(4));
    assert!(
        !a.established("up") && !router.established("pa"),
        "{}",
        logs()
    );
    assert!(router.prefixes_from("pa").is_empty());
    let view = peer_view(api, "a");
    assert_eq!(view["shutdown"]["message"], "not yet", "{view}");
    assert_eq!(view["shutdown"]["configured"], true, "{view}");
    let b_since = router.since("pb");

    // A reload without the key brings it up; b keeps its session.
    let text = std::fs::read_to_string(&conf).unwrap();
    std::fs::write(&conf, text.replace("shutdown = \"not yet\"", "")).unwrap();
    let (code, out, err) = ctl(&url, &["reload"]);
    assert_eq!(code, 0, "{out}{err}");
    wait_for(
        T,
        || router.prefixes_from("pa") == strings(&["1.0.0.0/24"]),
        logs,
    );
    assert!(peer_view(api, "a")["shutdown"].is_null());

    // A reload with the key takes it down with its message; b still keeps its session.
    let text = std::fs::read_to_string(&conf).unwrap();
    let down = text.replacen(
        "router = { address = \"127.0.4.23\", local_address = \"127.0.4.31\"",
        "shutdown = \"moving to a new port\"\nrouter = { address = \"127.0.4.23\", local_address = \"127.0.4.31\"",
        1,
    );
    assert_ne!(down, text);
    std::fs::write(&conf, down).unwrap();
    let (code, out, err) = ctl(&url, &["reload"]);
    assert_eq!(code, 0, "{out}{err}");
    wait_for(
        T,
        || {
            router.prefixes_from("pa").is_empty()
                && a.cli("show protocols all up")
                    .contains("moving to a new port")
        },
        || format!("neighbor a did not get the shutdown message\n{}", logs()),
    );
    assert!(!a.established("up"), "{}", logs());
    assert_eq!(router.since("pb"), b_since, "pair b was not reset");
    assert!(router.established("pb"));
    assert_eq!(router.prefixes_from("pb"), strings(&["5.0.0.0/24"]));
    drop(sieve);
}
