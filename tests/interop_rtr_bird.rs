//! Live RPKI data (issue 4): a real StayRTR serves VRPs from a JSON file to bgpsieve over RTR;
//! BIRD 2 as neighbor → bgpsieve → BIRD 2 as router, on loopback (127.0.0.40–43). When the ROA
//! that makes a route valid disappears at the cache (a covering ROA makes it invalid), the
//! route leaves the router within seconds, with no session reset and the other routes
//! untouched; when the ROA comes back, so does the route. Every process is stopped by PID.

mod common;

use common::interop::{available, bgpsieve_daemon, stayrtr, wait_for, write_vrps, Bird};
use std::time::{Duration, Instant};

const T: Duration = Duration::from_secs(30);

/// 1.0.0.0/24 is valid only by its own ROA: the /16 covering it names another AS.
const WITH_ROA: &[(u32, &str, u8)] = &[
    (999, "1.0.0.0/16", 16),
    (20002, "1.0.0.0/24", 24),
    (20002, "6.0.0.0/24", 24),
];
const WITHOUT_ROA: &[(u32, &str, u8)] = &[(999, "1.0.0.0/16", 16), (20002, "6.0.0.0/24", 24)];

const NEIGHBOR: &str = r#"
router id 127.0.0.41;
protocol device {}
protocol static announced {
  ipv4;
  route 1.0.0.0/24 blackhole;    # valid while its ROA exists, invalid without it
  route 5.0.0.0/24 blackhole;    # no ROA: NotFound
  route 6.0.0.0/24 blackhole;    # valid throughout
}
protocol bgp up {
  local 127.0.0.41 port 11280 as 20002;
  neighbor 127.0.0.40 port 11279 as 20001;
  passive on;
  multihop;
  hold time 30;
  ipv4 { import none; export all; next hop address 192.0.2.41; };
}
"#;

const ROUTER: &str = r#"
router id 127.0.0.42;
protocol device {}
protocol static lo { ipv4; route 192.0.2.0/24 via "lo"; }
protocol bgp sieve {
  local 127.0.0.42 port 11281 as 20001;
  neighbor 127.0.0.40 port 11279 as 20001;
  passive on;
  hold time 30;
  ipv4 { import all; export none; };
}
"#;

const BGPSIEVE: &str = r#"
[global]
asn = 20001
router_id = "127.0.0.40"
listen = ["127.0.0.40:11279"]

[rpki]
rtr = [{ address = "127.0.0.43:11283" }]

[[peer]]
name = "customer-bird"
role = "customer"
asn = 20002
address = "127.0.0.41"
local_address = "127.0.0.40"
port = 11280
idle_hold = "1s"

[[peer]]
name = "router"
role = "router"
asn = 20001
address = "127.0.0.42"
local_address = "127.0.0.40"
port = 11281
idle_hold = "1s"
"#;

fn strings(v: &[&str]) -> Vec<String> {
    v.iter().map(|s| s.to_string()).collect()
}

/// The "established since" column of `birdc show protocols sieve`.
fn since(bird: &Bird, protocol: &str) -> String {
    bird.cli(&format!("show protocols {protocol}"))
        .lines()
        .find(|l| l.starts_with(protocol))
        .and_then(|l| l.split_whitespace().nth(4).map(str::to_string))
        .unwrap_or_default()
}

#[test]
fn a_roa_disappearing_at_the_rtr_cache_withdraws_the_route_without_a_session_reset() {
    if !available("bird") || !available("birdc") || !available("stayrtr") {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let json = write_vrps(dir.path(), WITH_ROA);
    let _cache = stayrtr(dir.path(), "stayrtr", "127.0.0.43:11283", &json, &[]);
    let neighbor = Bird::start(dir.path(), "neighbor", NEIGHBOR);
    let router = Bird::start(dir.path(), "router", ROUTER);
    let sieve = bgpsieve_daemon(dir.path(), BGPSIEVE);

    let all = strings(&["1.0.0.0/24", "5.0.0.0/24", "6.0.0.0/24"]);
    wait_for(
        T,
        || router.prefixes_from("sieve") == all,
        || {
            format!(
                "router has {:?}\n{}",
                router.prefixes_from("sieve"),
                sieve.log_text()
            )
        },
    );
    assert!(
        sieve.log_text().contains("RTR cache up"),
        "the data came over RTR:\n{}",
        sieve.log_text()
    );
    let (router_since, neighbor_since) = (since(&router, "sieve"), since(&neighbor, "up"));

    // The ROA of 1.0.0.0/24 disappears at the cache: the route turns invalid.
    let t = Instant::now();
    write_vrps(dir.path(), WITHOUT_ROA);
    let rest = strings(&["5.0.0.0/24", "6.0.0.0/24"]);
    wait_for(
        T,
        || router.prefixes_from("sieve") == rest,
        || {
            format!(
                "router has {:?}\n{}",
                router.prefixes_from("sieve"),
                sieve.log_text()
            )
        },
    );
    let gone_after = t.elapsed();

    // The ROA comes back: so does the route.
    let t = Instant::now();
    write_vrps(dir.path(), WITH_ROA);
    wait_for(
        T,
        || router.prefixes_from("sieve") == all,
        || format!("router has {:?}", router.prefixes_from("sieve")),
    );
    let back_after = t.elapsed();
    eprintln!("withdrawn after {gone_after:?}, back after {back_after:?}");
    assert!(gone_after < Duration::from_secs(10) && back_after < Duration::from_secs(10));

    // No session was reset on either side.
    assert_eq!(since(&router, "sieve"), router_since, "router session kept");
    assert_eq!(
        since(&neighbor, "up"),
        neighbor_since,
        "neighbor session kept"
    );
    let log = sieve.log_text();
    assert!(!log.contains("session down"), "{log}");
    assert!(
        log.contains("RPKI data changed: routes re-checked"),
        "{log}"
    );
}
