//! TCP-MD5 (RFC 2385) and GTSM (RFC 5082) with a real BIRD 2 neighbor on loopback
//! (127.0.0.110–112, 120–122): with the same password on both sides the session comes up and
//! the routes flow, with a wrong one the kernel drops every segment and no session comes up;
//! with GTSM, a neighbor that requires TTL 255 (BIRD `ttl security on`) accepts ours, and one
//! that sends TTL 64 cannot keep a session. Every process is stopped by PID.

mod common;

use common::interop::{available, bgpsieve_daemon, bird_router, strings, wait_for, Bird};
use std::time::Duration;

const T: Duration = Duration::from_secs(30);

fn neighbor(password: &str, extra: &str) -> String {
    format!(
        r#"
log stderr all;
router id 127.0.0.111;
protocol device {{}}
protocol static announced {{ ipv4; route 1.0.0.0/24 blackhole; }}
protocol bgp up {{
  local 127.0.0.111 port 11701 as 20002;
  neighbor 127.0.0.110 port 11700 as 20001;
  multihop;
  password "{password}";
  {extra}
  hold time 30;
  connect delay time 1;
  connect retry time 2;
  ipv4 {{ import none; export all; next hop address 192.0.2.41; }};
}}
"#
    )
}

fn config(password: &str) -> String {
    format!(
        r#"
[global]
asn = 20001
router_id = "127.0.0.110"
listen = ["127.0.0.110:11700"]

[[peer]]
name = "customer-bird"
role = "customer"
asn = 20002
address = "127.0.0.111"
local_address = "127.0.0.110"
port = 11701
passive = true
connect_retry = "1s"
md5_password = "{password}"
router = {{ address = "127.0.0.112", local_address = "127.0.1.111", port = 11702 }}
"#
    )
}

#[test]
fn tcp_md5_with_the_right_password_connects_and_with_a_wrong_one_does_not() {
    if !available("bird") || !available("birdc") {
        return;
    }
    // The wrong password first: no session.
    let dir = tempfile::tempdir().unwrap();
    let router = bird_router(
        dir.path(),
        "127.0.0.112",
        11702,
        &[("sieve", "127.0.1.111", 20002)],
    );
    let bad = Bird::start(dir.path(), "neighbor", &neighbor("not-the-one", ""));
    let sieve = bgpsieve_daemon(dir.path(), &config("s3cret"));
    std::thread::sleep(Duration::from_secs(5));
    assert!(
        !bad.established("up"),
        "{}",
        bad.cli("show protocols all up")
    );
    assert!(router.prefixes_from("sieve").is_empty());
    drop(bad);

    // The right one: the session comes up, signed, and the route reaches the router.
    let good = Bird::start(dir.path(), "neighbor-2", &neighbor("s3cret", ""));
    wait_for(
        T,
        || good.established("up") && router.prefixes_from("sieve") == strings(&["1.0.0.0/24"]),
        || {
            format!(
                "{}\n{}",
                good.cli("show protocols all up"),
                sieve.log_text()
            )
        },
    );
    assert!(
        !sieve.log_text().contains("s3cret"),
        "the password is never logged"
    );
}

/// The same setup on 127.0.0.120–122 (ports 118xx), for the GTSM test.
fn moved(text: &str) -> String {
    text.replace("127.0.0.11", "127.0.0.12")
        .replace("127.0.1.11", "127.0.1.12")
        .replace("1170", "1180")
}

#[test]
fn gtsm_takes_a_neighbor_that_sends_ttl_255_and_drops_one_that_does_not() {
    if !available("bird") || !available("birdc") {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let router = bird_router(
        dir.path(),
        "127.0.0.122",
        11802,
        &[("sieve", "127.0.1.121", 20002)],
    );
    let cfg = moved(&config("")).replace("md5_password = \"\"", "ttl_security = true");
    let sieve = bgpsieve_daemon(dir.path(), &cfg);
    let unsigned = |extra: &str| moved(&neighbor("", extra)).replace("  password \"\";\n", "");
    // A neighbor sending with the default TTL (64): once bgpsieve has the connection, the
    // kernel drops its segments (RFC 5082 §3), so the session cannot stay up: its OPEN may
    // have been queued before the accepted socket got the minimum TTL, its KEEPALIVEs are not.
    let far = Bird::start(
        dir.path(),
        "neighbor",
        &unsigned("").replace("hold time 30;", "hold time 9;"),
    );
    // Its hold time (9 s) passes without a KEEPALIVE getting through.
    std::thread::sleep(Duration::from_secs(14));
    let info = far.cli("show protocols all up");
    assert!(!far.established("up"), "{info}");
    assert!(router.prefixes_from("sieve").is_empty(), "{info}");
    drop(far);
    // One sending with TTL 255 (BIRD's `ttl security on`): the session comes up.
    let near = Bird::start(dir.path(), "neighbor-2", &unsigned("ttl security on;"));
    wait_for(
        T,
        || near.established("up") && router.prefixes_from("sieve") == strings(&["1.0.0.0/24"]),
        || {
            format!(
                "{}\n{}",
                near.cli("show protocols all up"),
                sieve.log_text()
            )
        },
    );
}
