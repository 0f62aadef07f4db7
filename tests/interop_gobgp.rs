//! GoBGP on both sides of a pair, on loopback (127.0.0.30–35, bgpsieve's addresses toward the
//! router 127.0.1.31/35, ports 12000–12013), every process stopped by PID. As a NEIGHBOR
//! (customer): GoBGP announces a mix built with its CLI, including an AS_SET path and a wrong
//! first AS, and the router (BIRD) holds exactly the accepted routes, then loses exactly the one
//! withdrawn. As the ROUTER: GoBGP announces own, customer and non-announceable prefixes to the
//! provider's pair, and the provider (GoBGP) receives only the announceable ones, with the
//! router's path and the configured next hop.

mod common;

use common::interop::{
    available, bgpsieve_daemon, gobgp_passive_config, wait_for, write_vrps, Bird, GoBgp,
};
use std::time::Duration;

const T: Duration = Duration::from_secs(30);

fn vrps(dir: &std::path::Path) -> std::path::PathBuf {
    write_vrps(
        dir,
        &[
            (20002, "1.0.0.0/24", 24),
            (999, "2.0.0.0/24", 24),
            (20002, "6.0.0.0/24", 24),
            (20001, "20.0.0.0/24", 24),
            (999, "24.0.0.0/24", 24),
        ],
    )
}

/// The neighbor: AS20002 at 127.0.0.31, our customer. Its export policy prepends AS20099 to
/// 8.0.0.0/24 after its own AS, so that route arrives with a first AS that is not the neighbor's.
const NEIGHBOR: &str = r#"
[global.config]
  as = 20002
  router-id = "127.0.0.31"
  port = 12001
  local-address-list = ["127.0.0.31"]
[global.apply-policy.config]
  export-policy-list = ["wrong-first-as"]
  default-export-policy = "accept-route"

[[neighbors]]
  [neighbors.config]
    neighbor-address = "127.0.0.30"
    peer-as = 20001
  [neighbors.timers.config]
    hold-time = 30
  [neighbors.transport.config]
    passive-mode = true
    local-address = "127.0.0.31"
  [[neighbors.afi-safis]]
    [neighbors.afi-safis.config]
      afi-safi-name = "ipv4-unicast"

[[defined-sets.prefix-sets]]
  prefix-set-name = "leaked"
  [[defined-sets.prefix-sets.prefix-list]]
    ip-prefix = "8.0.0.0/24"

[[policy-definitions]]
  name = "wrong-first-as"
  [[policy-definitions.statements]]
    name = "prepend-another-as"
    [policy-definitions.statements.conditions.match-prefix-set]
      prefix-set = "leaked"
    [policy-definitions.statements.actions]
      route-disposition = "accept-route"
      [policy-definitions.statements.actions.bgp-actions.set-as-path-prepend]
        as = "20099"
        repeat-n = 1
"#;

/// What the neighbor announces (`gobgp global rib add` arguments after the prefix). GoBGP
/// prepends its AS (20002) on the way out; loopback next hops are martians to bgpsieve (rightly),
/// so every route names a TEST-NET-1 next hop, which GoBGP passes on for its own routes.
const ANNOUNCED: &[(&str, &str)] = &[
    ("1.0.0.0/24", ""),                           // RPKI valid
    ("2.0.0.0/24", ""),                           // RPKI invalid: the ROA names AS999
    ("10.1.0.0/24", ""),                          // bogon
    ("3.0.0.0/25", ""),                           // too long
    ("4.0.0.0/24", "aspath 20003,{20004,20005}"), // AS_SET (RFC 9774)
    ("8.0.0.0/24", ""),                           // first AS 20099 (export policy above)
    ("9.0.0.0/24", "aspath 65001"),               // private ASN in the path: bogon ASN
    ("5.0.0.0/24", ""),                           // no ROA: NotFound, accepted
    ("6.0.0.0/24", ""),                           // valid, withdrawn later
    ("7.0.0.0/24", "aspath 20005"),               // a customer's customer, NotFound
];

/// The router: AS20001 at 127.0.0.32, meeting the customer at bgpsieve's 127.0.1.31.
const BIRD_ROUTER: &str = r#"
router id 127.0.0.32;
protocol device {}
protocol static lo { ipv4; route 127.0.0.0/8 via "lo"; route 192.0.2.0/24 via "lo"; }
protocol bgp sieve {
  local 127.0.0.32 port 12002 as 20001;
  neighbor 127.0.1.31 as 20002;
  passive on;
  multihop;
  hold time 30;
  ipv4 { import all; export none; };
}
"#;

fn import_config(vrps: &std::path::Path) -> String {
    format!(
        r#"
[global]
asn = 20001
router_id = "127.0.0.30"
listen = ["127.0.0.30:12000"]
announce = ["20.0.0.0/24"]

[api]
listen = "127.0.0.30:12010"

[rpki]
vrp_files = ["{}"]

[[peer]]
name = "customer-gobgp"
role = "customer"
asn = 20002
address = "127.0.0.31"
local_address = "127.0.0.30"
port = 12001
idle_hold = "1s"
connect_retry = "1s"
router = {{ address = "127.0.0.32", local_address = "127.0.1.31", port = 12002 }}
"#,
        vrps.display()
    )
}

#[test]
fn gobgp_neighbor_to_bird_router_import_and_withdrawal() {
    if !available("gobgpd") || !available("gobgp") || !available("bird") || !available("birdc") {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let neighbor = GoBgp::start(dir.path(), "neighbor", NEIGHBOR);
    for (prefix, attrs) in ANNOUNCED {
        neighbor.cli_ok(&format!(
            "global rib add {prefix} nexthop 192.0.2.31 {attrs} -a ipv4"
        ));
    }
    let router = Bird::start(dir.path(), "router", BIRD_ROUTER);
    let vrps = vrps(dir.path());
    let sieve = bgpsieve_daemon(dir.path(), &import_config(&vrps));
    let logs = || {
        format!(
            "bgpsieve:\n{}\nneighbor:\n{}{}\nrouter:\n{}\nrouter table:\n{}",
            sieve.log_text(),
            neighbor.cli("neighbor 127.0.0.30"),
            neighbor.cli("neighbor 127.0.0.30 adj-out -a ipv4"),
            router.cli("show protocols all sieve"),
            router.cli("show route all")
        )
    };
    wait_for(
        T,
        || router.established("sieve") && neighbor.established("127.0.0.30"),
        logs,
    );

    // Import: exactly the accepted routes reach the router.
    let accepted = ["1.0.0.0/24", "5.0.0.0/24", "6.0.0.0/24", "7.0.0.0/24"];
    wait_for(T, || router.prefixes_from("sieve") == accepted, logs);
    // The rejected ones did reach bgpsieve: GoBGP sent all ten.
    let sent = neighbor.cli("-j neighbor 127.0.0.30 adj-out -a ipv4");
    for (prefix, _) in ANNOUNCED {
        assert!(sent.contains(&format!("\"{prefix}\"")), "{prefix}: {sent}");
    }
    // The router sees the path as GoBGP sent it, and nothing added.
    let r = router.cli("show route 7.0.0.0/24 all");
    assert!(!r.contains("large_community"), "{r}");
    assert!(r.contains("BGP.as_path: 20002 20005"), "{r}");
    assert!(r.contains("BGP.next_hop: 192.0.2.31"), "{r}");

    // A withdrawal on the neighbor removes exactly that route from the router.
    neighbor.cli_ok("global rib del 6.0.0.0/24 -a ipv4");
    wait_for(
        T,
        || router.prefixes_from("sieve") == ["1.0.0.0/24", "5.0.0.0/24", "7.0.0.0/24"],
        logs,
    );

    // The neighbor shuts its session down: the router loses all of its routes.
    neighbor.cli_ok("neighbor 127.0.0.30 disable");
    wait_for(T, || router.prefixes_from("sieve").is_empty(), logs);
    drop(sieve);
}

/// The router: AS20001 at 127.0.0.34, meeting the provider at bgpsieve's 127.0.1.35.
fn gobgp_router() -> String {
    gobgp_passive_config(20001, "127.0.0.34", 12004, "127.0.1.35", 20010)
}

/// What the router announces to the provider's pair (GoBGP prepends its own AS, 20001).
const ROUTER_ROUTES: &[(&str, &str)] = &[
    ("20.0.0.0/24", ""),             // own, announceable, RPKI valid
    ("21.0.0.0/24", "aspath 20003"), // a customer's, announceable
    ("24.0.1.0/24", "aspath 20003"), // a customer's more-specific, announceable (NotFound)
    ("24.0.0.0/24", "aspath 20003"), // announceable range, but RPKI invalid (ROA: AS999)
    ("20.0.0.0/25", ""),             // more-specific of our own /24: not in the list
    ("23.0.0.0/24", "aspath 20005"), // not in the announce list (a peer's route)
];

/// A provider of ours: AS20010 at 127.0.0.35.
fn provider() -> String {
    gobgp_passive_config(20010, "127.0.0.35", 12005, "127.0.0.33", 20001)
}

fn export_config(vrps: &std::path::Path) -> String {
    format!(
        r#"
[global]
asn = 20001
router_id = "127.0.0.33"
listen = ["127.0.0.33:12003"]
announce = ["20.0.0.0/24", "21.0.0.0/24", "24.0.0.0/22-24"]

[api]
listen = "127.0.0.33:12013"

[rpki]
vrp_files = ["{}"]

[[peer]]
name = "provider-gobgp"
role = "provider"
asn = 20010
address = "127.0.0.35"
local_address = "127.0.0.33"
port = 12005
idle_hold = "1s"
connect_retry = "1s"
next_hop = "192.0.2.36"   # the router's address on the link to this provider
router = {{ address = "127.0.0.34", local_address = "127.0.1.35", port = 12004 }}
"#,
        vrps.display()
    )
}

/// A GoBGP path's AS_PATH (every segment's ASNs, in order) and NEXT_HOP.
fn path_and_next_hop(path: &serde_json::Value) -> (Vec<u64>, String) {
    let attrs = path["attrs"].as_array().cloned().unwrap_or_default();
    let asns = attrs
        .iter()
        .filter(|a| a["type"] == 2)
        .flat_map(|a| a["as_paths"].as_array().cloned().unwrap_or_default())
        .flat_map(|seg| seg["asns"].as_array().cloned().unwrap_or_default())
        .filter_map(|n| n.as_u64())
        .collect();
    let next_hop = attrs
        .iter()
        .find(|a| a["type"] == 3)
        .and_then(|a| a["nexthop"].as_str())
        .unwrap_or_default()
        .to_string();
    (asns, next_hop)
}

#[test]
fn gobgp_router_to_gobgp_provider_only_announceable() {
    if !available("gobgpd") || !available("gobgp") {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let router = GoBgp::start(dir.path(), "router", &gobgp_router());
    for (prefix, attrs) in ROUTER_ROUTES {
        router.cli_ok(&format!(
            "global rib add {prefix} nexthop 192.0.2.34 {attrs} -a ipv4"
        ));
    }
    let provider = GoBgp::start(dir.path(), "provider", &provider());
    let vrps = vrps(dir.path());
    let sieve = bgpsieve_daemon(dir.path(), &export_config(&vrps));
    let logs = || {
        format!(
            "bgpsieve:\n{}\nrouter:\n{}{}\nprovider:\n{}{}",
            sieve.log_text(),
            router.cli("neighbor 127.0.1.35"),
            router.cli("neighbor 127.0.1.35 adj-out -a ipv4"),
            provider.cli("neighbor 127.0.0.33"),
            provider.cli("neighbor 127.0.0.33 adj-in -a ipv4")
        )
    };
    wait_for(
        T,
        || router.established("127.0.1.35") && provider.established("127.0.0.33"),
        logs,
    );

    // Export: the provider gets only the announceable routes.
    let announceable = ["20.0.0.0/24", "21.0.0.0/24", "24.0.1.0/24"];
    wait_for(
        T,
        || provider.prefixes_from("127.0.0.33") == announceable,
        logs,
    );
    // With the router's path (its AS prepended by the router, none by bgpsieve), and the next
    // hop configured for this provider.
    let adj_in = provider.adj_in("127.0.0.33");
    let path = |prefix: &str| path_and_next_hop(&adj_in[prefix][0]);
    assert_eq!(
        path("20.0.0.0/24"),
        (vec![20001], "192.0.2.36".into()),
        "{adj_in}"
    );
    assert_eq!(
        path("21.0.0.0/24"),
        (vec![20001, 20003], "192.0.2.36".into()),
        "{adj_in}"
    );

    // A withdrawal on the router reaches the provider.
    router.cli_ok("global rib del 21.0.0.0/24 -a ipv4");
    wait_for(
        T,
        || provider.prefixes_from("127.0.0.33") == ["20.0.0.0/24", "24.0.1.0/24"],
        logs,
    );

    // The router's session drops: the provider loses everything the router announced.
    router.cli_ok("neighbor 127.0.1.35 disable");
    wait_for(T, || provider.prefixes_from("127.0.0.33").is_empty(), logs);
    drop(sieve);
}
