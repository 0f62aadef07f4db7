//! Live RPKI data (issue 4): a real StayRTR serves VRPs from a JSON file to bgpsieve over RTR;
//! BIRD 2 as neighbor → bgpsieve → BIRD 2 as router, on loopback (127.0.0.40–43). When the ROA
//! that makes a route valid disappears at the cache (a covering ROA makes it invalid), the
//! route leaves the router within seconds, with no session reset and the other routes
//! untouched; when the ROA comes back, so does the route. Likewise an IRR prefix list edited
//! on disk (seen by bgpsieve itself, or on SIGHUP) admits and drops exactly the routes whose
//! entries changed (127.0.0.44–46). Every process is stopped by PID.

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

/// The customer's IRR prefix list (bgpq4 -j) holding `prefixes`, exact.
fn write_irr(dir: &std::path::Path, prefixes: &[&str]) -> std::path::PathBuf {
    let entries: Vec<String> = prefixes
        .iter()
        .map(|p| format!(r#"{{ "prefix": "{p}", "exact": true }}"#))
        .collect();
    let f = dir.join("customer.json");
    let tmp = dir.join("customer.json.tmp");
    std::fs::write(
        &tmp,
        format!("{{ \"NN\": [\n{}\n] }}\n", entries.join(",\n")),
    )
    .unwrap();
    std::fs::rename(&tmp, &f).unwrap();
    f
}

const IRR_NEIGHBOR: &str = r#"
router id 127.0.0.45;
protocol device {}
protocol static announced {
  ipv4;
  route 1.0.0.0/24 blackhole;
  route 5.0.0.0/24 blackhole;
  route 6.0.0.0/24 blackhole;
}
protocol bgp up {
  local 127.0.0.45 port 11285 as 20002;
  neighbor 127.0.0.44 port 11284 as 20001;
  passive on;
  multihop;
  hold time 30;
  ipv4 { import none; export all; next hop address 192.0.2.45; };
}
"#;

const IRR_ROUTER: &str = r#"
router id 127.0.0.46;
protocol device {}
protocol static lo { ipv4; route 192.0.2.0/24 via "lo"; }
protocol bgp sieve {
  local 127.0.0.46 port 11286 as 20001;
  neighbor 127.0.0.44 port 11284 as 20001;
  passive on;
  hold time 30;
  ipv4 { import all; export none; };
}
"#;

fn irr_bgpsieve(irr: &std::path::Path) -> String {
    format!(
        r#"
[global]
asn = 20001
router_id = "127.0.0.44"
listen = ["127.0.0.44:11284"]

[[peer]]
name = "customer-bird"
role = "customer"
asn = 20002
address = "127.0.0.45"
local_address = "127.0.0.44"
port = 11285
idle_hold = "1s"
irr = ["{}"]

[[peer]]
name = "router"
role = "router"
asn = 20001
address = "127.0.0.46"
local_address = "127.0.0.44"
port = 11286
idle_hold = "1s"
"#,
        irr.display()
    )
}

#[test]
fn an_irr_list_change_is_applied_without_a_session_reset() {
    if !available("bird") || !available("birdc") {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let irr = write_irr(dir.path(), &["1.0.0.0/24", "6.0.0.0/24"]);
    let neighbor = Bird::start(dir.path(), "neighbor", IRR_NEIGHBOR);
    let router = Bird::start(dir.path(), "router", IRR_ROUTER);
    let sieve = bgpsieve_daemon(dir.path(), &irr_bgpsieve(&irr));
    let shown = || {
        format!(
            "router has {:?}\n{}",
            router.prefixes_from("sieve"),
            sieve.log_text()
        )
    };

    wait_for(
        T,
        || router.prefixes_from("sieve") == strings(&["1.0.0.0/24", "6.0.0.0/24"]),
        shown,
    );
    let (router_since, neighbor_since) = (since(&router, "sieve"), since(&neighbor, "up"));

    // The customer registers 5.0.0.0/24: the file changes, bgpsieve sees it by itself.
    write_irr(dir.path(), &["1.0.0.0/24", "5.0.0.0/24", "6.0.0.0/24"]);
    let all = strings(&["1.0.0.0/24", "5.0.0.0/24", "6.0.0.0/24"]);
    wait_for(T, || router.prefixes_from("sieve") == all, shown);

    // 1.0.0.0/24 is deregistered and the operator sends SIGHUP (what the IRR timer does).
    write_irr(dir.path(), &["5.0.0.0/24", "6.0.0.0/24"]);
    let hup = std::process::Command::new("kill")
        .args(["-HUP", &sieve.pid().to_string()])
        .status()
        .unwrap();
    assert!(hup.success());
    wait_for(
        Duration::from_secs(4),
        || router.prefixes_from("sieve") == strings(&["5.0.0.0/24", "6.0.0.0/24"]),
        shown,
    );

    assert_eq!(since(&router, "sieve"), router_since, "router session kept");
    assert_eq!(
        since(&neighbor, "up"),
        neighbor_since,
        "neighbor session kept"
    );
    let log = sieve.log_text();
    assert!(!log.contains("session down"), "{log}");
    assert!(log.contains("policy changed: routes re-checked"), "{log}");
    assert!(log.contains("SIGHUP: reloading"), "{log}");
}
