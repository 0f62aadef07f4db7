//! More BIRD 2 interop, on loopback (127.0.0.60–79 and ::1, ports 13000–13999), every process
//! stopped by PID:
//! - IPv6 unicast end to end: a neighbor on an IPv6 session (::1) announces a mix of IPv6
//!   routes; the router (IPv6 NLRI over the IPv4 session of the pair's router side) holds
//!   exactly the accepted ones and loses exactly the withdrawn one.
//! - Observe mode: a neighbor's failing routes reach the router, tagged with the reject reasons.
//! - IPv6 export to a dual-stack neighbor whose `next_hop` is IPv4 only.

mod common;

use common::interop::{available, bgpsieve_daemon, wait_for, Bird};
use std::time::Duration;

const T: Duration = Duration::from_secs(20);

fn interop() -> bool {
    available("bird") && available("birdc")
}

/// Replaces the config of the BIRD started in `dir` as `name` and applies it (no restart).
fn reconfigure(bird: &Bird, dir: &std::path::Path, name: &str, config: &str) {
    std::fs::write(dir.join(format!("{name}.conf")), config).unwrap();
    let out = bird.cli("configure");
    assert!(out.contains("Reconfigured"), "{name}: {out}");
}

fn write(dir: &std::path::Path, name: &str, text: &str) -> std::path::PathBuf {
    let f = dir.join(name);
    std::fs::write(&f, text).unwrap();
    f
}

// ---- 1. IPv6 unicast ------------------------------------------------------------------------

/// The neighbor: AS20062, our customer, on an IPv6 session over ::1.
const V6_NEIGHBOR: &str = r#"
router id 127.0.0.61;
protocol device {}
protocol static stable {
  ipv6;
  route 2a01:1000::/32 blackhole;      # RPKI valid
  route 2a01:2000::/32 blackhole;      # RPKI invalid: the ROA names AS999
  route 2001:db8:1000::/36 blackhole;  # bogon: documentation more-specific
  route fc00::/7 blackhole;            # bogon: ULA
  route 2a01:3000::/49 blackhole;      # too long
  route 4000::/16 blackhole;           # outside 2000::/3
  route 2a01:4000::/32 blackhole;      # no ROA: NotFound, accepted
}
protocol static transient {
  ipv6;
  route 2a01:5000::/32 blackhole;      # valid, withdrawn later
}
protocol bgp up {
  local ::1 port 13180 as 20062;
  neighbor ::1 port 13179 as 20061;
  passive on;
  multihop;
  hold time 30;
  ipv6 { import none; export all; next hop address 2001:db8::21; };
}
"#;

/// The router: AS20061, meeting the IPv6 customer at bgpsieve's 127.0.1.61, taking IPv6 NLRI
/// over that IPv4 session.
const V6_ROUTER: &str = r#"
router id 127.0.0.62;
protocol device {}
protocol static lo4 { ipv4; route 127.0.0.0/8 via "lo"; }
protocol static lo6 { ipv6; route 2001:db8::/32 via "lo"; }
protocol bgp sieve {
  local 127.0.0.62 port 13181 as 20061;
  neighbor 127.0.1.61 as 20062;
  passive on;
  multihop;
  hold time 30;
  ipv6 { import all; export none; };
}
"#;

fn v6_config(vrps: &std::path::Path) -> String {
    format!(
        r#"
[global]
asn = 20061
router_id = "127.0.0.60"
listen = ["[::1]:13179", "127.0.0.60:13179"]

[api]
listen = "127.0.0.60:13900"

[rpki]
vrp_files = ["{}"]

[[peer]]
name = "customer-v6"
role = "customer"
asn = 20062
address = "::1"
local_address = "::1"
port = 13180
idle_hold = "1s"
connect_retry = "1s"
router = {{ address = "127.0.0.62", local_address = "127.0.1.61", port = 13181 }}
"#,
        vrps.display()
    )
}

#[test]
fn ipv6_unicast_end_to_end() {
    if !interop() {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let vrps = write(
        dir.path(),
        "vrps.json",
        r#"{"roas": [
  {"asn": 20062, "prefix": "2a01:1000::/32", "maxLength": 48, "ta": "test"},
  {"asn": 999,   "prefix": "2a01:2000::/32", "maxLength": 48, "ta": "test"},
  {"asn": 20062, "prefix": "2a01:5000::/32", "maxLength": 32, "ta": "test"}
]}"#,
    );
    let neighbor = Bird::start(dir.path(), "neighbor", V6_NEIGHBOR);
    let router = Bird::start(dir.path(), "router", V6_ROUTER);
    let sieve = bgpsieve_daemon(dir.path(), &v6_config(&vrps));
    let logs = || {
        format!(
            "bgpsieve:\n{}\nneighbor:\n{}\nrouter:\n{}\nrouter table:\n{}",
            sieve.log_text(),
            neighbor.cli("show protocols all up"),
            router.cli("show protocols all sieve"),
            router.cli("show route all")
        )
    };
    wait_for(
        T,
        || neighbor.established("up") && router.established("sieve"),
        logs,
    );

    // Exactly the accepted routes reach the router.
    let accepted = ["2a01:1000::/32", "2a01:4000::/32", "2a01:5000::/32"];
    wait_for(T, || router.prefixes_from("sieve") == accepted, logs);
    // With the neighbor's next hop (bgpsieve stays out of the forwarding path), its AS path
    // untouched, nothing added.
    let r = router.cli("show route 2a01:1000::/32 all");
    assert!(r.contains("BGP.next_hop: 2001:db8::21"), "{r}");
    assert!(r.contains("BGP.as_path: 20062\n"), "{r}");
    assert!(!r.contains("large_community"), "{r}");
    assert!(!r.contains("unreachable"), "{r}");

    // A withdrawal removes exactly that route.
    neighbor.cli("disable transient");
    wait_for(
        T,
        || router.prefixes_from("sieve") == ["2a01:1000::/32", "2a01:4000::/32"],
        logs,
    );
    // The neighbor changes two routes' origins: the valid one turns RPKI-invalid and goes, the
    // invalid one turns valid and comes (re-announcements, no withdrawal in between). A
    // reconfiguration would re-enable `transient`: it stays disabled in the new config.
    let changed = V6_NEIGHBOR
        .replace(
            "protocol static transient {",
            "protocol static transient {\n  disabled yes;",
        )
        .replace(
            "route 2a01:1000::/32 blackhole;",
            "route 2a01:1000::/32 blackhole { bgp_path.prepend(20099); };",
        )
        .replace(
            "route 2a01:2000::/32 blackhole;",
            "route 2a01:2000::/32 blackhole { bgp_path.prepend(999); };",
        );
    reconfigure(&neighbor, dir.path(), "neighbor", &changed);
    wait_for(
        T,
        || router.prefixes_from("sieve") == ["2a01:2000::/32", "2a01:4000::/32"],
        logs,
    );
    let r = router.cli("show route 2a01:2000::/32 all");
    assert!(r.contains("BGP.as_path: 20062 999\n"), "{r}");

    // And the session dropping removes the rest.
    neighbor.cli("disable up");
    wait_for(T, || router.prefixes_from("sieve").is_empty(), logs);
    drop(sieve);
}

// ---- 2. Observe mode ------------------------------------------------------------------------

/// A provider of ours, AS20071, in observe mode.
const OBS_NEIGHBOR: &str = r#"
router id 127.0.0.71;
protocol device {}
protocol static own {
  ipv4;
  route 1.0.0.0/24 blackhole;    # RPKI valid
  route 2.0.0.0/24 blackhole;    # RPKI invalid: the ROA names AS999
  route 3.0.0.0/25 blackhole;    # too long
}
protocol bgp up {
  local 127.0.0.71 port 13380 as 20071;
  neighbor 127.0.0.70 port 13379 as 20070;
  passive on;
  multihop;
  hold time 30;
  ipv4 { import none; export all; next hop address 192.0.2.71; };
}
"#;

const OBS_ROUTER: &str = r#"
router id 127.0.0.72;
protocol device {}
protocol static lo { ipv4; route 127.0.0.0/8 via "lo"; route 192.0.2.0/24 via "lo"; }
protocol bgp sieve {
  local 127.0.0.72 port 13381 as 20070;
  neighbor 127.0.1.71 as 20071;
  passive on;
  multihop;
  hold time 30;
  ipv4 { import all; export none; };
}
"#;

fn obs_config(vrps: &std::path::Path) -> String {
    format!(
        r#"
[global]
asn = 20070
router_id = "127.0.0.70"
listen = ["127.0.0.70:13379"]

[api]
listen = "127.0.0.70:13902"

[rpki]
vrp_files = ["{}"]

[[peer]]
name = "provider-observed"
role = "provider"
asn = 20071
address = "127.0.0.71"
local_address = "127.0.0.70"
port = 13380
idle_hold = "1s"
connect_retry = "1s"
mode = "observe"
router = {{ address = "127.0.0.72", local_address = "127.0.1.71", port = 13381 }}
"#,
        vrps.display()
    )
}

#[test]
fn observe_mode_passes_and_tags_failing_routes() {
    if !interop() {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let vrps = write(
        dir.path(),
        "vrps.json",
        r#"{"roas": [
  {"asn": 20071, "prefix": "1.0.0.0/24", "maxLength": 24, "ta": "test"},
  {"asn": 999,   "prefix": "2.0.0.0/24", "maxLength": 24, "ta": "test"}
]}"#,
    );
    let neighbor = Bird::start(dir.path(), "neighbor", OBS_NEIGHBOR);
    let router = Bird::start(dir.path(), "router", OBS_ROUTER);
    let sieve = bgpsieve_daemon(dir.path(), &obs_config(&vrps));
    let logs = || {
        format!(
            "bgpsieve:\n{}\nneighbor:\n{}\nrouter:\n{}\nrouter table:\n{}",
            sieve.log_text(),
            neighbor.cli("show protocols all up"),
            router.cli("show protocols all sieve"),
            router.cli("show route all")
        )
    };
    wait_for(
        T,
        || neighbor.established("up") && router.established("sieve"),
        logs,
    );

    // Everything passes.
    wait_for(
        T,
        || router.prefixes_from("sieve") == ["1.0.0.0/24", "2.0.0.0/24", "3.0.0.0/25"],
        logs,
    );
    // The RPKI-invalid route carries reason 11; OTC is set on ingress from a provider (RFC
    // 9234); nothing else is added.
    let invalid = router.cli("show route 2.0.0.0/24 all");
    assert!(invalid.contains("(20070, 1101, 11)"), "{invalid}");
    assert!(!invalid.contains("(20070, 1001, 20071)"), "{invalid}");
    assert!(invalid.contains("BGP.otc: 20071"), "{invalid}");
    assert_eq!(invalid.matches(", 1101, ").count(), 1, "{invalid}");
    // The too-long route carries reason 3 (prefix-length) only.
    let long = router.cli("show route 3.0.0.0/25 all");
    assert!(long.contains("(20070, 1101, 3)"), "{long}");
    assert_eq!(long.matches(", 1101, ").count(), 1, "{long}");
    // The valid route carries no reject reason.
    let valid = router.cli("show route 1.0.0.0/24 all");
    assert!(!valid.contains("large_community"), "{valid}");
    drop(sieve);
}

// ---- 3. Export of IPv6 routes with an IPv4 `next_hop` ----------------------------------------

/// The router, AS20075: one IPv4 and one IPv6 route of its own, both sent to the provider's
/// pair (bgpsieve's 127.0.1.77) over one IPv4 session.
const NH_ROUTER: &str = r#"
router id 127.0.0.76;
protocol device {}
protocol static lo4 { ipv4; route 127.0.0.0/8 via "lo"; route 192.0.2.0/24 via "lo"; }
protocol static own4 { ipv4; route 40.0.0.0/24 blackhole; }
protocol static own6 { ipv6; route 2a02:1000::/32 blackhole; }
protocol bgp sieve {
  local 127.0.0.76 port 13481 as 20075;
  neighbor 127.0.1.77 as 20077;
  passive on;
  multihop;
  hold time 30;
  ipv4 { import none; export all; next hop self; };
  ipv6 { import none; export all; next hop address 2a02:1000::76; };
}
"#;

/// A provider of ours, AS20077, taking both families on one IPv4 session.
const NH_PROVIDER: &str = r#"
router id 127.0.0.77;
protocol device {}
protocol static lo4 { ipv4; route 127.0.0.0/8 via "lo"; route 192.0.2.0/24 via "lo"; }
protocol bgp sieve {
  local 127.0.0.77 port 13482 as 20077;
  neighbor 127.0.0.75 port 13479 as 20075;
  passive on;
  multihop;
  hold time 30;
  ipv4 { import all; export none; };
  ipv6 { import all; export none; };
}
"#;

const NH_CONFIG: &str = r#"
[global]
asn = 20075
router_id = "127.0.0.75"
listen = ["127.0.0.75:13479"]
announce = ["40.0.0.0/24", "2a02:1000::/32"]

[api]
listen = "127.0.0.75:13903"

[[peer]]
name = "provider"
role = "provider"
asn = 20077
address = "127.0.0.77"
local_address = "127.0.0.75"
port = 13482
idle_hold = "1s"
connect_retry = "1s"
next_hop = "192.0.2.76"
router = { address = "127.0.0.76", local_address = "127.0.1.77", port = 13481 }
"#;

/// A dual-stack neighbor session with an IPv4 `next_hop`: the IPv4 routes get it, the IPv6
/// routes keep their own IPv6 next hop (an IPv4-mapped one, which bgpsieve once sent, is refused
/// by BIRD: "Invalid NEXT_HOP attribute - mismatched address family").
#[test]
fn ipv6_export_to_a_dual_stack_neighbor_with_an_ipv4_next_hop() {
    if !interop() {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let router = Bird::start(dir.path(), "router", NH_ROUTER);
    let provider = Bird::start(dir.path(), "provider", NH_PROVIDER);
    let sieve = bgpsieve_daemon(dir.path(), NH_CONFIG);
    let logs = || {
        format!(
            "bgpsieve:\n{}\nprovider:\n{}\nprovider table:\n{}",
            sieve.log_text(),
            provider.cli("show protocols all sieve"),
            provider.cli("show route all table all")
        )
    };
    wait_for(
        T,
        || router.established("sieve") && provider.established("sieve"),
        logs,
    );
    wait_for(
        T,
        || provider.prefixes_from("sieve") == ["2a02:1000::/32", "40.0.0.0/24"],
        logs,
    );
    let r = provider.cli("show route 40.0.0.0/24 all");
    assert!(r.contains("BGP.next_hop: 192.0.2.76"), "{r}");
    assert!(r.contains("BGP.as_path: 20075\n"), "{r}");
    let r = provider.cli("show route 2a02:1000::/32 all");
    assert!(r.contains("BGP.next_hop: 2a02:1000::76"), "{r}");
    drop(sieve);
}
