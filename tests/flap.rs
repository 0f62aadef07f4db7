//! A neighbor that flaps 100 times (issue 6), with real BIRD 2 and StayRTR on loopback
//! (127.0.0.130–134): the flaps come at every point of the session (right after a restart,
//! during the OPEN exchange, in the middle of the table, after convergence), the neighbor's
//! table changes between them, and at the end the router holds exactly the routes policy
//! accepts from both neighbors. The flapping neighbor's router session goes down and up with it
//! (DESIGN §1); the other neighbor's sessions, on both sides, are never reset. Every process is
//! stopped by PID.

mod common;

use common::interop::{
    api_address, available, bgpsieve_daemon, bird_router, bird_speaker, http_get, stayrtr,
    wait_for, write_vrps,
};
use std::time::Duration;

const T: Duration = Duration::from_secs(60);
const FLAPS: usize = 100;
/// bgpsieve's listener, where the BIRD neighbors send their routes.
const SIEVE: (&str, u16) = ("127.0.0.130", 11900);

const CONFIG: &str = r#"
[global]
asn = 20001
router_id = "127.0.0.130"
listen = ["127.0.0.130:11900", "127.0.1.131:11900", "127.0.1.133:11900"]

[rpki]
rtr = [{ address = "127.0.0.134:11904" }]

[[peer]]
name = "flappy"
role = "customer"
asn = 20002
address = "127.0.0.131"
local_address = "127.0.0.130"
port = 11901
# The restart backoff would otherwise grow to 300 s (as BIRD's error wait time): a flapping
# neighbor is paced, not lost; here the pace is fast so that 100 flaps take a minute.
idle_hold = "0s"
idle_hold_max = "100ms"
connect_retry = "200ms"
router = { address = "127.0.0.132", local_address = "127.0.1.131", port = 11902 }

[[peer]]
name = "steady"
role = "peer"
asn = 20003
address = "127.0.0.133"
local_address = "127.0.0.130"
port = 11903
router = { address = "127.0.0.132", local_address = "127.0.1.133", port = 11902 }
"#;

/// `n` /24s under `a.b.0.0/16` counting up from `a.b.0.0`.
fn block(a: u8, b: u8, n: usize) -> Vec<String> {
    (0..n)
        .map(|i| format!("{a}.{}.{}.0/24", usize::from(b) + i / 256, i % 256))
        .collect()
}

#[test]
fn a_neighbor_flapping_100_times_leaves_the_router_with_exactly_the_right_routes() {
    if !available("bird") || !available("birdc") || !available("stayrtr") {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    // 11/8 is the customer's (valid), 12/8 is AS999's (invalid from it), 13/8, 14/8 and 15/8
    // have no ROA (not found), 10/8 is a bogon.
    let json = write_vrps(
        dir.path(),
        &[(20002, "11.0.0.0/8", 24), (999, "12.0.0.0/8", 24)],
    );
    let _cache = stayrtr(dir.path(), "stayrtr", "127.0.0.134:11904", &json, &[]);
    let (valid, invalid, not_found, bogon) = (
        block(11, 0, 600),
        block(12, 0, 400),
        block(13, 0, 600),
        block(10, 0, 100),
    );
    let base: Vec<String> = [&valid, &invalid, &not_found, &bogon]
        .into_iter()
        .flatten()
        .cloned()
        .collect();
    // A second part of the table, withdrawn and announced again during the flaps.
    let (extra_ok, extra_invalid) = (block(14, 0, 300), block(12, 200, 100));
    let extra: Vec<String> = extra_ok.iter().chain(&extra_invalid).cloned().collect();
    let steady_routes = block(15, 0, 50);

    let flappy = bird_speaker(
        dir.path(),
        "flappy",
        ("127.0.0.131", 11901, 20002),
        SIEVE,
        &[("fixed", &base), ("toggled", &extra)],
    );
    let steady = bird_speaker(
        dir.path(),
        "steady",
        ("127.0.0.133", 11903, 20003),
        SIEVE,
        &[("fixed", &steady_routes)],
    );
    let router = bird_router(
        dir.path(),
        "127.0.0.132",
        11902,
        &[
            ("flappy", "127.0.1.131", 20002),
            ("steady", "127.0.1.133", 20003),
        ],
    );
    let held = || router.prefixes_from_all(&["flappy", "steady"]);
    let sieve = bgpsieve_daemon(dir.path(), CONFIG);

    let right = |extra_on: bool| {
        let mut v: Vec<String> = valid
            .iter()
            .chain(&not_found)
            .chain(&steady_routes)
            .chain(if extra_on { &extra_ok[..] } else { &[] })
            .cloned()
            .collect();
        v.sort();
        v
    };
    let shown = |want: &[String]| {
        let have = held();
        let missing: Vec<_> = want.iter().filter(|p| !have.contains(p)).take(5).collect();
        let unwanted: Vec<_> = have.iter().filter(|p| !want.contains(p)).take(5).collect();
        format!(
            "router has {} routes, {} wanted; missing e.g. {missing:?}, unwanted e.g. {unwanted:?}",
            have.len(),
            want.len()
        )
    };
    let converged = |extra_on: bool| {
        let want = right(extra_on);
        wait_for(T, || held() == want, || shown(&want));
    };
    converged(true);
    let router_since = router.since("steady");
    let steady_since = steady.since("up");

    let mut extra_on = true;
    for i in 0..FLAPS {
        flappy.cli("restart up");
        match i % 4 {
            // Down and converged: the router holds exactly the right routes again.
            0 => converged(extra_on),
            // Again at once: the next flap hits bgpsieve while it reconnects.
            1 => {}
            // Just up: the next flap comes in the middle of the table.
            2 => wait_for(
                T,
                || flappy.established("up"),
                || flappy.cli("show protocols"),
            ),
            _ => std::thread::sleep(Duration::from_millis(30 * (i as u64 % 7))),
        }
        // Part of the table goes and comes back, in whatever state the session is.
        if i % 10 == 5 {
            extra_on = !extra_on;
            let verb = if extra_on { "enable" } else { "disable" };
            flappy.cli(&format!("{verb} toggled"));
        }
    }
    converged(extra_on);
    // Stays right: nothing late arrives after convergence.
    std::thread::sleep(Duration::from_secs(2));
    assert_eq!(held(), right(extra_on), "{}", shown(&right(extra_on)));

    let ups = sieve
        .log_text()
        .lines()
        .filter(|l| {
            l.contains("session established") && l.contains("flappy") && l.contains("neighbor")
        })
        .count();
    eprintln!("{ups} sessions established over {FLAPS} flaps");
    assert!(
        ups > FLAPS / 2,
        "the flaps were real: {ups} sessions established"
    );
    assert_eq!(
        router.since("steady"),
        router_since,
        "the other pair's router session never reset"
    );
    assert_eq!(
        steady.since("up"),
        steady_since,
        "the other neighbor's session never reset"
    );

    // bgpsieve's own account agrees: everything the neighbor holds, nothing more.
    let view = || -> serde_json::Value {
        serde_json::from_str(&http_get(&api_address(CONFIG), "/api/v1/peers/flappy")).unwrap()
    };
    let held = base.len() + if extra_on { extra.len() } else { 0 };
    let accepted = valid.len() + not_found.len() + if extra_on { extra_ok.len() } else { 0 };
    wait_for(
        Duration::from_secs(5),
        || {
            let peer = view();
            peer["routes_in"]["ipv4"] == held && peer["accepted_in"]["ipv4"] == accepted
        },
        || format!("held {held}, accepted {accepted}: {}", view()),
    );
}
