//! RFC 7999 BLACKHOLE through real BIRD 2 daemons on loopback (127.0.1.10–14, bgpsieve's
//! addresses toward the router 127.0.1.21–23, ports 12100–12110), every process stopped by PID:
//! - a customer's blackhole host routes (65535:666) inside the space its IRR list or its ROAs
//!   authorize reach the router, community and all, past the /24 bound; the same length without
//!   the community, and a blackhole outside its space, do not, and the latter is rejected as
//!   `blackhole-unauthorized` (API, ctl, metrics);
//! - a provider's blackhole of the customer's space is `blackhole-unauthorized`;
//! - a peer in observe mode: its blackhole reaches the router tagged `20001:1101:16`;
//! - export: the router's RTBH request for its own address reaches the provider with the
//!   community although the ROA's maxLength and the /24 bound would refuse the same host route
//!   without it, which is refused.

mod common;

use common::interop::{available, bgpsieve_daemon, ctl, http_get, wait_for, write_vrps, Bird};
use serde_json::Value;
use std::path::Path;
use std::time::Duration;

const T: Duration = Duration::from_secs(30);
const API: &str = "127.0.1.10:12110";

/// The customer, AS20002 at 127.0.1.11. Its IRR list holds 145.0.10.0/24 exactly; a ROA gives
/// it 91.200.0.0/24 (maxLength 24).
const CUSTOMER: &str = r#"
router id 127.0.1.11;
protocol device {}
protocol static announced {
  ipv4;
  route 145.0.10.0/24 blackhole;                                          # its /24
  route 145.0.10.7/32 blackhole { bgp_community.add((65535, 666)); };     # RTBH in its IRR space
  route 145.0.10.16/28 blackhole {                                        # not a host route
    bgp_community.add((20002, 9)); bgp_community.add((65535, 666));
  };
  route 91.200.0.9/32 blackhole { bgp_community.add((65535, 666)); };     # RTBH in its ROA space
  route 145.0.10.8/32 blackhole;                                          # no BLACKHOLE
  route 8.8.8.8/32 blackhole { bgp_community.add((65535, 666)); };        # not its space
}
protocol bgp up {
  local 127.0.1.11 port 12101 as 20002;
  neighbor 127.0.1.10 port 12100 as 20001;
  passive on;
  multihop;
  hold time 30;
  ipv4 { import none; export all; next hop address 192.0.2.11; };
}
"#;

/// A provider, AS20003 at 127.0.1.12: an ordinary route, and a blackhole of the customer's
/// space, which only the customer may ask for. It imports what the router sends it.
const PROVIDER: &str = r#"
router id 127.0.1.12;
protocol device {}
protocol static lo { ipv4; route 192.0.2.0/24 via "lo"; }
protocol static announced {
  ipv4;
  route 9.9.9.0/24 blackhole { bgp_path.prepend(19281); };
  route 145.0.10.9/32 blackhole { bgp_path.prepend(20002); bgp_community.add((65535, 666)); };
}
protocol bgp sieve {
  local 127.0.1.12 port 12102 as 20003;
  neighbor 127.0.1.10 port 12100 as 20001;
  passive on;
  multihop;
  hold time 30;
  ipv4 { import all; export where proto = "announced"; next hop address 192.0.2.12; };
}
"#;

/// A lateral peer, AS20004 at 127.0.1.13, in observe mode on bgpsieve's side.
const PEER: &str = r#"
router id 127.0.1.13;
protocol device {}
protocol static announced {
  ipv4;
  route 145.0.10.10/32 blackhole { bgp_path.prepend(20002); bgp_community.add((65535, 666)); };
}
protocol bgp up {
  local 127.0.1.13 port 12103 as 20004;
  neighbor 127.0.1.10 port 12100 as 20001;
  passive on;
  multihop;
  hold time 30;
  ipv4 { import none; export all; next hop address 192.0.2.13; };
}
"#;

/// The router, AS20001 at 127.0.1.14, one session per pair. It announces its own /24 to the
/// provider, and a blackhole host route of it (an RTBH request to the upstream), and the same
/// length without the community.
const ROUTER: &str = r#"
router id 127.0.1.14;
protocol device {}
protocol static lo { ipv4; route 192.0.2.0/24 via "lo"; }
protocol static own {
  ipv4;
  route 145.0.20.0/24 blackhole;
  route 145.0.20.66/32 blackhole { bgp_community.add((65535, 666)); };
  route 145.0.20.67/32 blackhole;
}
template bgp sieve_pair {
  local 127.0.1.14 port 12104 as 20001;
  passive on;
  multihop;
  hold time 30;
}
protocol bgp customer from sieve_pair {
  neighbor 127.0.1.21 as 20002;
  ipv4 { import all; export none; };
}
protocol bgp provider from sieve_pair {
  neighbor 127.0.1.22 as 20003;
  ipv4 { import all; export where proto = "own"; };
}
protocol bgp peer from sieve_pair {
  neighbor 127.0.1.23 as 20004;
  ipv4 { import all; export none; };
}
"#;

fn config(vrps: &Path, irr: &Path) -> String {
    format!(
        r#"
[global]
asn = 20001
router_id = "127.0.1.10"
listen = ["127.0.1.10:12100", "127.0.1.21:12100", "127.0.1.22:12100", "127.0.1.23:12100"]
announce = ["145.0.20.0/24"]

[api]
listen = "{API}"

[rpki]
vrp_files = ["{}"]

[[peer]]
name = "customer"
role = "customer"
asn = 20002
address = "127.0.1.11"
local_address = "127.0.1.10"
port = 12101
idle_hold = "1s"
connect_retry = "1s"
next_hop = "192.0.2.14"
irr = ["{}"]
irr_roas_as_routes = true
blackhole = {{ accept = true, max_length_v4 = 32 }}
router = {{ address = "127.0.1.14", local_address = "127.0.1.21", port = 12104 }}

[[peer]]
name = "provider"
role = "provider"
asn = 20003
address = "127.0.1.12"
local_address = "127.0.1.10"
port = 12102
idle_hold = "1s"
connect_retry = "1s"
next_hop = "192.0.2.14"
router = {{ address = "127.0.1.14", local_address = "127.0.1.22", port = 12104 }}

[[peer]]
name = "peer"
role = "peer"
asn = 20004
address = "127.0.1.13"
local_address = "127.0.1.10"
port = 12103
idle_hold = "1s"
connect_retry = "1s"
mode = "observe"
checks_disable = ["irr-unregistered"]
next_hop = "192.0.2.14"
router = {{ address = "127.0.1.14", local_address = "127.0.1.23", port = 12104 }}
"#,
        vrps.display(),
        irr.display()
    )
}

/// The BGP attribute line `BGP.NAME: …` BIRD shows for `prefix` from `protocol`.
fn attribute(bird: &Bird, prefix: &str, protocol: &str, name: &str) -> String {
    bird.cli(&format!("show route {prefix} protocol {protocol} all"))
        .lines()
        .map(str::trim)
        .find_map(|l| l.strip_prefix(&format!("BGP.{name}:")))
        .unwrap_or_default()
        .trim()
        .to_string()
}

/// (prefix, reasons) of the routes the API holds as rejected for `peer` in `direction`, sorted.
fn rejected(peer: &str, direction: &str) -> Vec<(String, Vec<String>)> {
    let page: Value = serde_json::from_str(&http_get(
        API,
        &format!("/api/v1/rejected?peer={peer}&direction={direction}"),
    ))
    .unwrap();
    let mut v: Vec<(String, Vec<String>)> = page["routes"]
        .as_array()
        .map(Vec::as_slice)
        .unwrap_or_default()
        .iter()
        .map(|r| {
            let reasons = r["reasons"]
                .as_array()
                .map(Vec::as_slice)
                .unwrap_or_default();
            (
                r["prefix"].as_str().unwrap_or_default().to_string(),
                reasons
                    .iter()
                    .map(|x| x.as_str().unwrap_or_default().to_string())
                    .collect(),
            )
        })
        .collect();
    v.sort();
    v
}

fn want(prefix: &str, reasons: &[&str]) -> (String, Vec<String>) {
    (
        prefix.to_string(),
        reasons.iter().map(|r| r.to_string()).collect(),
    )
}

#[test]
fn a_customer_blackhole_inside_its_space_reaches_the_router_and_others_are_refused() {
    if !available("bird") || !available("birdc") {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let vrps = write_vrps(
        dir.path(),
        &[(20002, "91.200.0.0/24", 24), (20001, "145.0.20.0/24", 24)],
    );
    let irr = dir.path().join("customer.json");
    std::fs::write(
        &irr,
        r#"{ "NN": [ { "prefix": "145.0.10.0/24", "exact": true } ] }"#,
    )
    .unwrap();
    let customer = Bird::start(dir.path(), "customer", CUSTOMER);
    let provider = Bird::start(dir.path(), "provider", PROVIDER);
    let peer = Bird::start(dir.path(), "peer", PEER);
    let router = Bird::start(dir.path(), "router", ROUTER);
    let sieve = bgpsieve_daemon(dir.path(), &config(&vrps, &irr));
    let logs = || {
        format!(
            "bgpsieve:\n{}\nrouter:\n{}\n{}\nprovider:\n{}",
            sieve.log_text(),
            router.cli("show protocols"),
            router.cli("show route all"),
            provider.cli("show route all")
        )
    };
    let customer_routes = [
        "145.0.10.0/24",
        "145.0.10.16/28",
        "145.0.10.7/32",
        "91.200.0.9/32",
    ];
    wait_for(
        T,
        || {
            customer.established("up")
                && peer.established("up")
                && router.prefixes_from("customer") == customer_routes
                && router.prefixes_from("provider") == ["9.9.9.0/24"]
                && router.prefixes_from("peer") == ["145.0.10.10/32"]
                && provider.prefixes_from("sieve") == ["145.0.20.0/24", "145.0.20.66/32"]
        },
        logs,
    );

    // Import: the customer's blackholes reach the router unchanged, with the community; the
    // /24 carries none. bgpsieve adds no NO_EXPORT (the router's business).
    for (prefix, communities) in [
        ("145.0.10.7/32", "(65535,666)"),
        ("145.0.10.16/28", "(20002,9) (65535,666)"),
        ("91.200.0.9/32", "(65535,666)"),
    ] {
        assert_eq!(
            attribute(&router, prefix, "customer", "community"),
            communities,
            "{prefix}\n{}",
            logs()
        );
        assert_eq!(
            attribute(&router, prefix, "customer", "large_community"),
            ""
        );
    }
    assert_eq!(
        attribute(&router, "145.0.10.0/24", "customer", "community"),
        ""
    );

    // What was refused, and why: the blackhole outside its space for its own reason, first.
    let expected_in = vec![
        want("145.0.10.8/32", &["prefix-length", "irr-unregistered"]),
        want(
            "8.8.8.8/32",
            &[
                "blackhole-unauthorized",
                "prefix-length",
                "irr-unregistered",
            ],
        ),
    ];
    wait_for(
        T,
        || rejected("customer", "in") == expected_in,
        || format!("{:?}\n{}", rejected("customer", "in"), logs()),
    );
    assert_eq!(
        rejected("provider", "in"),
        [want(
            "145.0.10.9/32",
            &["blackhole-unauthorized", "prefix-length"]
        )]
    );
    // In observe mode the peer's blackhole passes, tagged with both reasons' numbers.
    assert_eq!(
        rejected("peer", "in"),
        [want(
            "145.0.10.10/32",
            &["blackhole-unauthorized", "prefix-length"]
        )]
    );
    assert_eq!(
        attribute(&router, "145.0.10.10/32", "peer", "large_community"),
        "(20001, 1101, 16) (20001, 1101, 3)",
        "{}",
        logs()
    );
    assert_eq!(
        attribute(&router, "145.0.10.10/32", "peer", "community"),
        "(65535,666)"
    );

    // Export: the RTBH request reaches the provider with its community; the same host route
    // without it is refused (outside the /24 entry, past the bounds, beyond the ROA's maxLength).
    assert_eq!(
        attribute(&provider, "145.0.20.66/32", "sieve", "community"),
        "(65535,666)"
    );
    assert_eq!(
        rejected("provider", "out"),
        [want(
            "145.0.20.67/32",
            &["not-announceable", "export-rpki-invalid", "export-bogon"]
        )]
    );

    // The operator's tools say the same.
    let (code, table, err) = ctl(
        &format!("http://{API}"),
        &["rejected", "--reason", "blackhole-unauthorized"],
    );
    assert_eq!(code, 0, "{err}");
    for prefix in ["8.8.8.8/32", "145.0.10.9/32", "145.0.10.10/32"] {
        assert!(table.contains(prefix), "{prefix}: {table}");
    }
    assert!(!table.contains("145.0.10.8/32"), "{table}");
    // explain, for a route the customer could send (its next hop there is the customer's
    // loopback address, a martian: next-hop fails, nothing else).
    let explain = |prefix: &str| {
        let (code, out, err) = ctl(
            &format!("http://{API}"),
            &[
                "explain",
                prefix,
                "20002",
                "--peer",
                "customer",
                "--community",
                "65535:666",
                "-j",
            ],
        );
        assert_eq!(code, 0, "{err}");
        let e: Value = serde_json::from_str(&out).unwrap();
        let failed: Vec<String> = e["checks"]
            .as_array()
            .map(Vec::as_slice)
            .unwrap_or_default()
            .iter()
            .filter(|c| c["failed"] == Value::Bool(true))
            .map(|c| c["reason"].as_str().unwrap_or_default().to_string())
            .collect();
        failed
    };
    assert_eq!(explain("145.0.10.99/32"), ["next-hop"]);
    assert_eq!(
        explain("145.0.11.99/32"),
        [
            "blackhole-unauthorized",
            "prefix-length",
            "next-hop",
            "irr-unregistered"
        ]
    );
    let metrics = http_get(API, "/metrics");
    for (peer, n) in [("customer", 1), ("provider", 1), ("peer", 1)] {
        let line = format!(
            "bgpsieve_routes_rejected_total{{direction=\"in\",peer=\"{peer}\",\
             reason=\"blackhole-unauthorized\"}} {n}"
        );
        assert!(metrics.contains(&line), "{line}\n{metrics}");
    }
}
