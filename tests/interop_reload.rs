//! Configuration reload (issue 5) through real BIRD 2 on both sides, on loopback
//! (127.0.0.50–52): SIGHUP with a policy change admits the routes it now accepts without a
//! session reset; an invalid file is refused with FILE:LINE:COL and everything stays as it
//! was; a changed session parameter restarts exactly that pair with Cease/6 (Other
//! Configuration Change), and its routes come back. Every process is stopped by PID.

mod common;

use common::interop::{
    available, bgpsieve_daemon, bird_neighbor, bird_router, strings, wait_for, Proc,
};
use std::time::Duration;

const T: Duration = Duration::from_secs(30);

fn config(neighbor_extra: &str) -> String {
    format!(
        r#"
[global]
asn = 20001
router_id = "127.0.0.50"
listen = ["127.0.0.50:11379", "127.0.1.51:11379"]

[api]
listen = "127.0.0.50:9179"

[[peer]]
name = "customer-bird"
role = "customer"
asn = 20002
address = "127.0.0.51"
local_address = "127.0.0.50"
port = 11380
router = {{ address = "127.0.0.52", local_address = "127.0.1.51", port = 11381 }}
{neighbor_extra}
"#
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

#[test]
fn sighup_applies_a_new_policy_refuses_a_bad_file_and_restarts_a_changed_session() {
    if !available("bird") || !available("birdc") {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    // 3.0.0.0/25 is longer than /24: rejected until the reload allows /25.
    let routes = ["1.0.0.0/24", "3.0.0.0/25"];
    let neighbor = bird_neighbor(
        dir.path(),
        "127.0.0.51",
        11380,
        "127.0.0.50",
        11379,
        &routes,
    );
    let router = bird_router(
        dir.path(),
        "127.0.0.52",
        11381,
        &[("sieve", "127.0.1.51", 20002)],
    );
    let sieve = bgpsieve_daemon(
        dir.path(),
        &config("idle_hold = \"1s\"\nconnect_retry = \"1s\""),
    );
    let conf = dir.path().join("bgpsieve.toml");
    let shown = || {
        format!(
            "router has {:?}\n{}",
            router.prefixes_from("sieve"),
            sieve.log_text()
        )
    };

    wait_for(
        T,
        || router.prefixes_from("sieve") == strings(&["1.0.0.0/24"]),
        shown,
    );
    let (router_since, neighbor_since) = (router.since("sieve"), neighbor.since("up"));

    // A policy change: /25 is now accepted from this customer.
    std::fs::write(
        &conf,
        config("idle_hold = \"1s\"\nconnect_retry = \"1s\"\nprefix_length_v4 = [8, 25]"),
    )
    .unwrap();
    hup(&sieve);
    let both = strings(&["1.0.0.0/24", "3.0.0.0/25"]);
    wait_for(T, || router.prefixes_from("sieve") == both, shown);
    assert_eq!(router.since("sieve"), router_since, "router session kept");
    assert_eq!(
        neighbor.since("up"),
        neighbor_since,
        "neighbor session kept"
    );
    assert!(sieve
        .log_text()
        .contains("configuration reloaded: 1 peer(s) with new policy"));

    // An invalid file: refused with its position, nothing changes.
    std::fs::write(
        &conf,
        config("idle_hold = \"1s\"\nconnect_retry = \"1s\"\nprefix_length_v4 = [8, 25]\nno_such_key = 1"),
    )
    .unwrap();
    hup(&sieve);
    wait_for(
        T,
        || sieve.log_text().contains("configuration reload refused"),
        || sieve.log_text(),
    );
    let log = sieve.log_text();
    let refused = log
        .lines()
        .find(|l| l.contains("configuration reload refused"))
        .unwrap_or_default();
    assert!(refused.contains("bgpsieve.toml:"), "{refused}");
    assert!(refused.contains("no_such_key"), "{refused}");
    // `bgpsieve ctl reload` says the same to the operator, and exits 1.
    let (code, out, err) = common::interop::ctl("http://127.0.0.50:9179", &["reload"]);
    assert_eq!(code, 1, "{out}{err}");
    assert!(
        err.contains("bgpsieve.toml:") && err.contains("no_such_key"),
        "{err}"
    );
    std::thread::sleep(Duration::from_millis(500));
    assert_eq!(router.prefixes_from("sieve"), both);
    assert_eq!(
        neighbor.since("up"),
        neighbor_since,
        "neighbor session kept"
    );

    // A session parameter (connect_retry): that pair restarts with Cease/6 toward the neighbor,
    // its router side with it (DESIGN §1), and its routes come back.
    std::fs::write(
        &conf,
        config("idle_hold = \"1s\"\nprefix_length_v4 = [8, 25]\nconnect_retry = \"5s\""),
    )
    .unwrap();
    hup(&sieve);
    wait_for(
        T,
        || sieve.log_text().contains("Other Configuration Change"),
        || sieve.log_text(),
    );
    wait_for(
        T,
        || {
            neighbor.established("up")
                && neighbor.since("up") != neighbor_since
                && router.prefixes_from("sieve") == both
        },
        shown,
    );
    // Cease/6 went to the neighbor. BIRD, with graceful restart negotiated, may take the new
    // connection that follows at once for the restart it announces (RFC 4724 §4.2) before it
    // reads that NOTIFICATION, so its own log is no witness; bgpsieve's is.
    let log = sieve.log_text();
    assert!(
        log.lines().any(|l| l.contains("sending NOTIFICATION")
            && l.contains("side=neighbor")
            && l.contains("Other Configuration Change (6/6)")),
        "{log}"
    );
    assert_ne!(router.since("sieve"), router_since, "router side restarted");
    assert!(sieve
        .log_text()
        .contains("session parameters changed: restarting the session"));
}
