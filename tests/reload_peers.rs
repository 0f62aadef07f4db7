//! Neighbors added, removed and renamed by a configuration reload (SIGHUP), through real BIRD 2
//! neighbors and a BIRD router, on loopback (127.0.7.1–127.0.7.99, ports 12700–12799): an
//! added pair comes up and its routes reach the router without touching the other pair; a
//! removed pair's neighbor is sent Cease/3 Peer De-configured and its routes leave the router;
//! a renamed pair comes back under its new name, in the views and in `/metrics`. Every process
//! is stopped by PID.

mod common;

use common::interop::{
    available, bgpsieve_daemon, bird_router, bird_speaker, http_get, strings, wait_for, Proc,
};
use std::time::Duration;

const T: Duration = Duration::from_secs(30);
const API: &str = "127.0.7.1:12701";

/// One `[[peer]]`: `name`, its neighbor at `127.0.7.N:127N` with AS `asn`, bgpsieve's address
/// toward the router `127.0.7.(N+20)`.
fn peer(name: &str, n: u8, asn: u32) -> String {
    let toward_router = n + 20;
    format!(
        r#"
[[peer]]
name = "{name}"
role = "customer"
asn = {asn}
address = "127.0.7.{n}"
local_address = "127.0.7.1"
port = 127{n}
idle_hold = "1s"
connect_retry = "1s"
router = {{ address = "127.0.7.2", local_address = "127.0.7.{toward_router}", port = 12702 }}
"#
    )
}

fn config(peers: &[String]) -> String {
    format!(
        r#"
[global]
asn = 20001
router_id = "127.0.7.1"
listen = ["127.0.7.1:12700"]

[api]
listen = "{API}"
{}"#,
        peers.concat()
    )
}

fn hup(p: &Proc) {
    let ok = std::process::Command::new("kill")
        .args(["-HUP", &p.pid().to_string()])
        .status()
        .unwrap()
        .success();
    assert!(ok);
}

/// The names in `/api/v1/peers`, sorted.
fn view_names() -> Vec<String> {
    let body = http_get(API, "/api/v1/peers");
    let v: serde_json::Value = serde_json::from_str(&body).unwrap_or_default();
    let list = v
        .get("peers")
        .and_then(|p| p.as_array())
        .or_else(|| v.as_array())
        .cloned()
        .unwrap_or_default();
    let mut names: Vec<String> = list
        .iter()
        .filter_map(|p| p.get("name")?.as_str().map(str::to_string))
        .collect();
    names.sort();
    names
}

/// Whether `/metrics` has a `bgpsieve_peer_up` series for `name`.
fn metrics_peer(name: &str) -> bool {
    http_get(API, "/metrics").contains(&format!("bgpsieve_peer_up{{peer=\"{name}\"}}"))
}

#[test]
fn a_reload_adds_removes_and_renames_pairs_without_touching_the_others() {
    if !available("bird") || !available("birdc") {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let a_routes = strings(&["1.0.0.0/24"]);
    let b_routes = strings(&["1.0.4.0/24"]);
    let na = bird_speaker(
        dir.path(),
        "na",
        ("127.0.7.21", 12721, 20002),
        ("127.0.7.1", 12700),
        &[("announced", &a_routes)],
    );
    let nb = bird_speaker(
        dir.path(),
        "nb",
        ("127.0.7.22", 12722, 20003),
        ("127.0.7.1", 12700),
        &[("announced", &b_routes)],
    );
    let router = bird_router(
        dir.path(),
        "127.0.7.2",
        12702,
        &[("pa", "127.0.7.41", 20002), ("pb", "127.0.7.42", 20003)],
    );
    let (a, b) = (peer("a", 21, 20002), peer("b", 22, 20003));
    let sieve = bgpsieve_daemon(dir.path(), &config(std::slice::from_ref(&a)));
    let conf = dir.path().join("bgpsieve.toml");
    let shown = || {
        format!(
            "router has {:?} from pa, {:?} from pb\n{}",
            router.prefixes_from("pa"),
            router.prefixes_from("pb"),
            sieve.log_text()
        )
    };
    wait_for(T, || router.prefixes_from("pa") == a_routes, shown);
    wait_for(T, || view_names() == strings(&["a"]), shown);
    let a_since = (router.since("pa"), na.since("up"));

    // Pair b added: it comes up, its routes reach the router, pair a is not touched.
    std::fs::write(&conf, config(&[a.clone(), b.clone()])).unwrap();
    hup(&sieve);
    wait_for(T, || router.prefixes_from("pb") == b_routes, shown);
    assert_eq!((router.since("pa"), na.since("up")), a_since, "pair a kept");
    assert_eq!(router.prefixes_from("pa"), a_routes);
    wait_for(T, || view_names() == strings(&["a", "b"]), shown);
    assert!(metrics_peer("a") && metrics_peer("b"));
    let log = sieve.log_text();
    assert!(log.contains("1 pair(s) added, 0 removed"), "{log}");
    let b_since = (router.since("pb"), nb.since("up"));

    // Pair a removed, b now first in the file: a's neighbor is sent Peer De-configured, a's
    // routes leave the router, b is not touched.
    std::fs::write(&conf, config(std::slice::from_ref(&b))).unwrap();
    hup(&sieve);
    wait_for(T, || router.prefixes_from("pa").is_empty(), shown);
    wait_for(
        T,
        || {
            na.proc
                .log_text()
                .to_lowercase()
                .contains("peer de-configured")
        },
        || format!("{}\n{}", na.proc.log_text(), sieve.log_text()),
    );
    assert!(
        !router.established("pa"),
        "{}",
        router.cli("show protocols pa")
    );
    assert_eq!((router.since("pb"), nb.since("up")), b_since, "pair b kept");
    assert_eq!(router.prefixes_from("pb"), b_routes);
    wait_for(T, || view_names() == strings(&["b"]), shown);
    assert!(!metrics_peer("a") && metrics_peer("b"));
    // Nothing comes back: a's slot stays retired.
    std::thread::sleep(Duration::from_secs(3));
    assert!(!na.established("up") && router.prefixes_from("pa").is_empty());

    // Pair b renamed b2 (same addresses): a removal and an addition; its routes come back at
    // the router, and the views and /metrics follow the name.
    std::fs::write(&conf, config(&[b.replace("name = \"b\"", "name = \"b2\"")])).unwrap();
    hup(&sieve);
    wait_for(T, || view_names() == strings(&["b2"]), shown);
    wait_for(
        T,
        || router.established("pb") && router.prefixes_from("pb") == b_routes,
        shown,
    );
    assert!(!metrics_peer("b") && metrics_peer("b2"));
    assert!(router.prefixes_from("pa").is_empty());
    let log = sieve.log_text();
    assert!(
        log.lines().any(|l| l.contains("sending NOTIFICATION")
            && l.contains("side=neighbor")
            && l.contains("(6/3)")),
        "{log}"
    );
}
