//! The pair mechanics of DESIGN §1 with real BIRD 2 daemons on loopback (127.0.0.160–166,
//! bgpsieve's address toward the router 127.0.1.161, ports 14100–14110), every process stopped
//! by PID:
//! - the OPENs are mirrored: the router sees the neighbor's AS, BGP Identifier, capabilities
//!   and role, the neighbor sees the router's, down to a capability only one side has;
//! - transparency: a route through the pair arrives with the same attributes as the same route
//!   sent directly (toward the router: all of them, next hop included; toward the neighbor: all
//!   but the next hop, which is the router's link address);
//! - coupling: the neighbor's session going down closes the router side (its routes leave the
//!   router), the router side going down withdraws the router's routes from the neighbor and
//!   keeps the neighbor's session, a max-prefix teardown closes both sides with the cause, and a
//!   router requiring RFC 9234 roles accepts bgpsieve's;
//! - an unknown optional transitive attribute (sent by ExaBGP) reaches the router as it would
//!   directly, flags included.

mod common;

use common::interop::{available, bgpsieve_daemon, strings, wait_for, Bird, ExaBgp};
use std::time::Duration;

const T: Duration = Duration::from_secs(30);

/// The lines of one BIRD protocol's `show protocols all` section between `from` and `to`.
fn section(info: &str, from: &str, to: &str) -> Vec<String> {
    info.lines()
        .skip_while(|l| !l.trim().starts_with(from))
        .skip(1)
        .take_while(|l| !l.trim().starts_with(to))
        .map(|l| l.trim().to_string())
        .collect()
}

/// The capabilities the other end of `protocol` advertised, as BIRD lists them.
fn neighbor_caps(bird: &Bird, protocol: &str) -> Vec<String> {
    section(
        &bird.cli(&format!("show protocols all {protocol}")),
        "Neighbor capabilities",
        "Session:",
    )
}

/// A `show protocols all` field of `protocol` (`Neighbor ID`, `Neighbor AS`, `Last error`…).
fn field(bird: &Bird, protocol: &str, name: &str) -> String {
    bird.cli(&format!("show protocols all {protocol}"))
        .lines()
        .find_map(|l| l.trim().strip_prefix(&format!("{name}:")))
        .map(|v| v.trim().to_string())
        .unwrap_or_default()
}

/// The BGP attributes BIRD holds for `prefix` as learned from `protocol`, one `BGP.x: v` line
/// each, sorted; `except` attributes left out.
fn attributes(bird: &Bird, prefix: &str, protocol: &str, except: &[&str]) -> Vec<String> {
    let mut v: Vec<String> = bird
        .cli(&format!("show route {prefix} protocol {protocol} all"))
        .lines()
        .map(str::trim)
        .filter(|l| l.starts_with("BGP."))
        .filter(|l| !except.iter().any(|e| l.starts_with(&format!("BGP.{e}:"))))
        .map(str::to_string)
        .collect();
    v.sort();
    v
}

/// The neighbor, AS20002 (our customer) at 127.0.0.161: protocol `sieve` goes through bgpsieve,
/// protocol `straight` goes straight to the router, both exporting the same routes with the same
/// attributes. No route refresh, a host name: capabilities the router lacks and has not.
const NEIGHBOR: &str = r#"
router id 127.0.0.161;
protocol device {}
protocol static lo { ipv4; route 127.0.0.0/8 via "lo"; route 192.0.2.0/24 via "lo"; }
protocol static own {
  ipv4;
  route 1.0.0.0/24 blackhole {
    bgp_community.add((65000, 1)); bgp_community.add((20002, 7));
    bgp_large_community.add((20002, 1, 2));
    bgp_med = 50;
    bgp_origin = ORIGIN_INCOMPLETE;
  };
  route 1.0.1.0/24 blackhole { bgp_path.prepend(20009); bgp_path.prepend(20002); };
  route 1.0.2.0/24 blackhole { bgp_ext_community.add((rt, 20002, 5)); bgp_origin = ORIGIN_EGP; };
}
protocol static excess {
  disabled;
  ipv4;
  route 1.1.0.0/24 blackhole;
  route 1.1.1.0/24 blackhole;
  route 1.1.2.0/24 blackhole;
}
template bgp neighbor_side {
  multihop;
  hold time 30;
  enable route refresh off;
  advertise hostname on;
  local role customer;
  ipv4 { import all; export where proto = "own" || proto = "excess"; next hop address 192.0.2.161; };
}
protocol bgp sieve from neighbor_side {
  local 127.0.0.161 port 14101 as 20002;
  neighbor 127.0.0.160 port 14100 as 20001;
  passive on;
}
protocol bgp straight from neighbor_side {
  local 127.0.0.161 port 14103 as 20002;
  neighbor 127.0.0.162 port 14102 as 20001;
  connect delay time 1;
}
"#;

/// The router, AS20001 at 127.0.0.162 (port 14102): protocol `sieve` meets the customer at
/// bgpsieve's 127.0.1.161, protocol `straight` at its own address; both with the same policy, the
/// router's role (provider) required, and extended messages (which the neighbor lacks).
const ROUTER: &str = r#"
log stderr all;
router id 127.0.0.162;
protocol device {}
protocol static lo { ipv4; route 127.0.0.0/8 via "lo"; route 192.0.2.0/24 via "lo"; }
protocol static own {
  ipv4;
  route 20.0.0.0/24 blackhole {
    bgp_community.add((20001, 100)); bgp_large_community.add((20001, 5, 6)); bgp_med = 7;
  };
  route 21.0.0.0/24 blackhole { bgp_path.prepend(20003); bgp_origin = ORIGIN_INCOMPLETE; };
}
template bgp router_side {
  local 127.0.0.162 port 14102 as 20001;
  multihop;
  hold time 30;
  enable extended messages on;
  local role provider;
  require roles on;
  ipv4 { import all; export where proto = "own"; };
}
protocol bgp sieve from router_side {
  neighbor 127.0.1.161 as 20002;
  passive on;
}
protocol bgp straight from router_side {
  neighbor 127.0.0.161 as 20002;
  passive on;
}
"#;

const CONFIG: &str = r#"
[global]
asn = 20001
router_id = "127.0.0.160"
listen = ["127.0.0.160:14100"]
announce = ["20.0.0.0/24", "21.0.0.0/24"]

[api]
listen = "127.0.0.160:14110"

[[peer]]
name = "customer"
role = "customer"
asn = 20002
address = "127.0.0.161"
local_address = "127.0.0.160"
port = 14101
idle_hold = "1s"
connect_retry = "1s"
next_hop = "192.0.2.162"   # the router's address on the link to this customer
max_prefix_in = { ipv4 = 5, action = "teardown", restart_after = "3s" }
router = { address = "127.0.0.162", local_address = "127.0.1.161", port = 14102 }
"#;

#[test]
fn the_pair_is_transparent_mirrors_the_opens_and_couples_its_sides() {
    if !available("bird") || !available("birdc") {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let neighbor = Bird::start(dir.path(), "neighbor", NEIGHBOR);
    let router = Bird::start(dir.path(), "router", ROUTER);
    let sieve = bgpsieve_daemon(dir.path(), CONFIG);
    let logs = || {
        format!(
            "bgpsieve:\n{}\nneighbor:\n{}\nrouter:\n{}\nrouter table:\n{}",
            sieve.log_text(),
            neighbor.cli("show protocols all"),
            router.cli("show protocols all"),
            router.cli("show route all")
        )
    };
    let own = strings(&["1.0.0.0/24", "1.0.1.0/24", "1.0.2.0/24"]);
    wait_for(
        T,
        || {
            router.established("sieve")
                && router.established("straight")
                && neighbor.established("sieve")
                && router.prefixes_from("sieve") == own
                && router.prefixes_from("straight") == own
        },
        logs,
    );

    // 1. The OPENs are mirrored. The router sees the customer itself: its AS and identifier,
    // no route refresh (the customer has none), no extended messages (the router has them, the
    // customer not), the customer's host name, the role required by the router; and graceful
    // restart as bgpsieve's own (its promise to the router, not the customer's).
    assert_eq!(field(&router, "sieve", "Neighbor ID"), "127.0.0.161");
    assert_eq!(field(&router, "sieve", "Neighbor AS"), "20002");
    let caps = neighbor_caps(&router, "sieve");
    let has = |caps: &[String], c: &str| caps.iter().any(|l| l.starts_with(c));
    assert!(has(&caps, "Multiprotocol"), "{caps:?}");
    assert!(has(&caps, "4-octet AS numbers"), "{caps:?}");
    assert!(has(&caps, "Hostname:"), "{caps:?}");
    assert!(has(&caps, "Role: customer"), "{caps:?}");
    assert!(!has(&caps, "Route refresh"), "{caps:?}");
    assert!(!has(&caps, "Extended message"), "{caps:?}");
    assert!(has(&caps, "Graceful restart"), "{caps:?}");
    // And what the router would see directly, but for the capabilities bgpsieve does not keep
    // and graceful restart, which is bgpsieve's own on each side.
    let not_mirrored = |c: &String| {
        ![
            "Graceful restart",
            "Enhanced refresh",
            "Long-lived",
            "Restart",
            "AF supported",
            "AF preserved",
        ]
        .iter()
        .any(|x| c.starts_with(x))
    };
    let direct: Vec<String> = neighbor_caps(&router, "straight")
        .into_iter()
        .filter(not_mirrored)
        .collect();
    let through: Vec<String> = caps
        .iter()
        .filter(|c| !c.starts_with("Hostname"))
        .filter(|c| not_mirrored(c))
        .cloned()
        .collect();
    let direct_no_host: Vec<String> = direct
        .into_iter()
        .filter(|c| !c.starts_with("Hostname"))
        .collect();
    assert_eq!(through, direct_no_host, "{}", logs());
    // The customer sees the router: its identifier, its role, its extended messages and route
    // refresh.
    assert_eq!(field(&neighbor, "sieve", "Neighbor ID"), "127.0.0.162");
    let caps = neighbor_caps(&neighbor, "sieve");
    assert!(has(&caps, "Route refresh"), "{caps:?}");
    assert!(has(&caps, "Extended message"), "{caps:?}");
    assert!(has(&caps, "Role: provider"), "{caps:?}");

    // 2. Transparency. At the router, every attribute of a route through the pair equals the
    // same route's sent directly: AS path, communities, large and extended communities, MED,
    // origin, next hop.
    for p in &own {
        let through = attributes(&router, p, "sieve", &[]);
        assert!(!through.is_empty(), "{p}: {}", logs());
        assert_eq!(through, attributes(&router, p, "straight", &[]), "{p}");
    }
    // At the customer, the router's routes through the pair carry the router's path,
    // communities, MED, origin and OTC (the router sets it, RFC 9234) as sent directly; only
    // the next hop is the router's link address.
    let theirs = strings(&["20.0.0.0/24", "21.0.0.0/24"]);
    wait_for(
        T,
        || {
            neighbor.prefixes_from("sieve") == theirs
                && neighbor.prefixes_from("straight") == theirs
        },
        logs,
    );
    for p in &theirs {
        let through = attributes(&neighbor, p, "sieve", &["next_hop"]);
        assert!(!through.is_empty(), "{p}: {}", logs());
        assert_eq!(
            through,
            attributes(&neighbor, p, "straight", &["next_hop"]),
            "{p}"
        );
        assert!(
            attributes(&neighbor, p, "sieve", &[]).contains(&"BGP.next_hop: 192.0.2.162".into()),
            "{p}"
        );
    }

    // 3. Coupling. The router side going down withdraws the router's routes from the customer;
    // the customer's session stays.
    let sieve_since = neighbor.since("sieve");
    router.cli("disable sieve");
    wait_for(T, || neighbor.prefixes_from("sieve").is_empty(), logs);
    assert_eq!(
        neighbor.since("sieve"),
        sieve_since,
        "the neighbor's session stays"
    );
    router.cli("enable sieve");
    wait_for(
        T,
        || router.prefixes_from("sieve") == own && neighbor.prefixes_from("sieve") == theirs,
        logs,
    );

    // The customer's session going down closes the router side: the router loses its routes
    // and sees why.
    neighbor.cli("disable sieve");
    wait_for(
        T,
        || !router.established("sieve") && router.prefixes_from("sieve").is_empty(),
        logs,
    );
    let error = field(&router, "sieve", "Last error");
    assert!(error.contains("Administrative shutdown"), "{error}");
    neighbor.cli("enable sieve");
    wait_for(
        T,
        || router.established("sieve") && router.prefixes_from("sieve") == own,
        logs,
    );

    // A max-prefix teardown closes both sides with the cause: Cease/1 to the customer, and the
    // router told why in the shutdown message.
    neighbor.cli("enable excess");
    wait_for(T, || !router.established("sieve"), logs);
    let error = field(&neighbor, "sieve", "Last error");
    assert!(error.contains("Maximum number of prefixes"), "{error}");
    let shutdown = router.proc.log_text();
    assert!(
        shutdown.contains("Maximum Number of Prefixes Reached"),
        "the router's log names the cause:\n{shutdown}"
    );
    assert!(router.prefixes_from("sieve").is_empty(), "{}", logs());
    neighbor.cli("disable excess");
    wait_for(
        T,
        || router.established("sieve") && router.prefixes_from("sieve") == own,
        logs,
    );
    drop(sieve);
}

/// ExaBGP, AS20004 at 127.0.0.164: the same route, with an unknown optional transitive
/// attribute (type 99), to bgpsieve and straight to the router.
const EXABGP: &str = r#"
neighbor 127.0.0.160 {
  router-id 127.0.0.164;
  local-address 127.0.0.164;
  local-as 20004;
  peer-as 20001;
  hold-time 30;
  connect 14120;
  family { ipv4 unicast; }
  static {
    route 4.0.9.0/24 next-hop 192.0.2.164 attribute [ 0x63 0xc0 0x0102030405 ] community [ 20004:1 ];
  }
}
neighbor 127.0.0.165 {
  router-id 127.0.0.164;
  local-address 127.0.0.164;
  local-as 20004;
  peer-as 20001;
  hold-time 30;
  connect 14122;
  family { ipv4 unicast; }
  static {
    route 4.0.9.0/24 next-hop 192.0.2.164 attribute [ 0x63 0xc0 0x0102030405 ] community [ 20004:1 ];
  }
}
"#;

const EXA_ROUTER: &str = r#"
router id 127.0.0.165;
protocol device {}
protocol static lo { ipv4; route 192.0.2.0/24 via "lo"; }
protocol bgp sieve {
  local 127.0.0.165 port 14122 as 20001;
  neighbor 127.0.1.164 as 20004;
  passive on;
  multihop;
  ipv4 { import all; export none; };
}
protocol bgp straight {
  local 127.0.0.165 port 14122 as 20001;
  neighbor 127.0.0.164 as 20004;
  passive on;
  multihop;
  ipv4 { import all; export none; };
}
"#;

const EXA_CONFIG: &str = r#"
[global]
asn = 20001
router_id = "127.0.0.166"
listen = ["127.0.0.160:14120"]

[api]
listen = "127.0.0.160:14121"

[[peer]]
name = "exabgp"
role = "customer"
asn = 20004
address = "127.0.0.164"
local_address = "127.0.0.160"
passive = true
idle_hold = "1s"
connect_retry = "1s"
router = { address = "127.0.0.165", local_address = "127.0.1.164", port = 14122 }
"#;

#[test]
fn an_unknown_transitive_attribute_reaches_the_router_as_it_would_directly() {
    if !available("bird") || !available("birdc") || !available("exabgp") {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let router = Bird::start(dir.path(), "router", EXA_ROUTER);
    let sieve = bgpsieve_daemon(dir.path(), EXA_CONFIG);
    let exa = ExaBgp::start(dir.path(), "exabgp", EXABGP);
    let logs = || {
        format!(
            "bgpsieve:\n{}\nexabgp:\n{}\nrouter:\n{}\n{}",
            sieve.log_text(),
            exa.proc.log_text(),
            router.cli("show protocols all"),
            router.cli("show route all")
        )
    };
    let one = strings(&["4.0.9.0/24"]);
    wait_for(
        T,
        || router.prefixes_from("sieve") == one && router.prefixes_from("straight") == one,
        logs,
    );
    let through = attributes(&router, "4.0.9.0/24", "sieve", &[]);
    assert!(
        through
            .iter()
            .any(|l| l.starts_with("BGP.63 [t]: 01 02 03 04 05")),
        "{through:?}"
    );
    assert_eq!(
        through,
        attributes(&router, "4.0.9.0/24", "straight", &[]),
        "{}",
        logs()
    );
}
