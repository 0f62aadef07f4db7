//! FRR (8.4, bgpd run directly) as a NEIGHBOR through its pair, with a BIRD 2 router, on
//! loopback (127.0.0.170–172, bgpsieve's address toward the router 127.0.1.171, ports
//! 14700–14710), every process stopped by PID. FRR, our customer with its RFC 9234 role,
//! announces a mix; the router holds exactly the accepted routes, sees FRR's own capabilities
//! (its host name) and identifier, loses exactly the route FRR withdraws, and FRR receives the
//! router's route with the router's link address as next hop. (FRR as the ROUTER: see
//! `transit.rs`.)

mod common;

use common::frr::{frr_neighbor, Frr};
use common::interop::{available, bgpsieve_daemon, strings, wait_for, write_vrps, Bird};
use std::time::Duration;

const T: Duration = Duration::from_secs(30);

/// The customer: AS20005 at 127.0.0.171, passive toward bgpsieve, announcing a mix with a
/// third-party next hop (loopback ones are martians to bgpsieve).
fn neighbor() -> String {
    format!(
        r#"frr defaults traditional
hostname customer-frr
! listen 127.0.0.171 14701
route-map OUT permit 10
 set ip next-hop 192.0.2.171
exit
route-map IN permit 10
exit
router bgp 20005
 bgp router-id 127.0.0.171
 no bgp ebgp-requires-policy
 no bgp network import-check
 bgp allow-martian-nexthop
{neighbor} neighbor 127.0.0.170 passive
 neighbor 127.0.0.170 local-role customer
 address-family ipv4 unicast
  network 1.0.0.0/24
  network 2.0.0.0/24
  network 10.1.0.0/24
  network 3.0.0.0/25
  network 5.0.0.0/24
  neighbor 127.0.0.170 route-map OUT out
  neighbor 127.0.0.170 route-map IN in
 exit-address-family
exit
"#,
        neighbor = frr_neighbor("127.0.0.170", 14700, 20001, "127.0.0.171")
    )
}

/// The router: AS20001 at 127.0.0.172, meeting the customer at bgpsieve's 127.0.1.171 and
/// announcing its own prefix to it.
const ROUTER: &str = r#"
router id 127.0.0.172;
protocol device {}
protocol static lo { ipv4; route 127.0.0.0/8 via "lo"; route 192.0.2.0/24 via "lo"; }
protocol static own { ipv4; route 20.0.0.0/24 blackhole; }
protocol bgp sieve {
  local 127.0.0.172 port 14702 as 20001;
  neighbor 127.0.1.171 as 20005;
  passive on;
  multihop;
  hold time 30;
  local role provider;
  ipv4 { import all; export where proto = "own"; };
}
"#;

fn config(vrps: &std::path::Path) -> String {
    format!(
        r#"
[global]
asn = 20001
router_id = "127.0.0.170"
listen = ["127.0.0.170:14700"]

[api]
listen = "127.0.0.170:14709"

[rpki]
vrp_files = ["{}"]

[[peer]]
name = "customer-frr"
role = "customer"
asn = 20005
address = "127.0.0.171"
local_address = "127.0.0.170"
port = 14701
idle_hold = "1s"
connect_retry = "1s"
next_hop = "192.0.2.172"
router = {{ address = "127.0.0.172", local_address = "127.0.1.171", port = 14702 }}
"#,
        vrps.display()
    )
}

#[test]
fn frr_neighbor_through_its_pair_to_a_bird_router() {
    if !available("bird") || !available("birdc") || !Frr::available() {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let vrps = write_vrps(
        dir.path(),
        &[(20005, "1.0.0.0/24", 24), (999, "2.0.0.0/24", 24)],
    );
    let frr = Frr::start(dir.path(), "customer", &neighbor());
    let router = Bird::start(dir.path(), "router", ROUTER);
    let sieve = bgpsieve_daemon(dir.path(), &config(&vrps));
    let logs = || {
        format!(
            "bgpsieve:\n{}\nfrr:\n{}\nrouter:\n{}\n{}",
            sieve.log_text(),
            frr.cli("show bgp summary"),
            router.cli("show protocols all sieve"),
            router.cli("show route all")
        )
    };
    // Exactly the accepted routes reach the router.
    wait_for(
        T,
        || router.prefixes_from("sieve") == strings(&["1.0.0.0/24", "5.0.0.0/24"]),
        logs,
    );
    // The router sees FRR itself: its identifier, its host name, its role; the path and next
    // hop as FRR sent them.
    let info = router.cli("show protocols all sieve");
    assert!(info.contains("Neighbor ID:      127.0.0.171"), "{info}");
    assert!(info.contains("Hostname: customer-frr"), "{info}");
    assert!(info.contains("Role: customer"), "{info}");
    let r = router.cli("show route 1.0.0.0/24 all");
    assert!(r.contains("BGP.as_path: 20005\n"), "{r}");
    assert!(r.contains("BGP.next_hop: 192.0.2.171"), "{r}");
    // The roles negotiated on FRR's side too: it sees the router's role.
    let n = frr.neighbor("127.0.0.170");
    assert_eq!(n["remoteRole"], "provider", "{n}");
    // FRR gets the router's route with the router's link address as next hop.
    wait_for(
        T,
        || frr.prefixes_from("127.0.0.170") == strings(&["20.0.0.0/24"]),
        logs,
    );
    let path = frr.routes_from("127.0.0.170")["20.0.0.0/24"][0].clone();
    assert_eq!(path["nexthops"][0]["ip"], "192.0.2.172", "{path}");
    assert_eq!(path["path"], "20001", "{path}");

    // A withdrawal on FRR removes exactly that route from the router.
    frr.configure(
        "router bgp 20005\naddress-family ipv4 unicast\nno network 5.0.0.0/24\nexit-address-family",
    );
    wait_for(
        T,
        || router.prefixes_from("sieve") == strings(&["1.0.0.0/24"]),
        logs,
    );
    // FRR shuts its session down: the router loses the rest, and its session to bgpsieve's
    // address for FRR closes.
    frr.configure("router bgp 20005\nneighbor 127.0.0.170 shutdown");
    wait_for(
        T,
        || router.prefixes_from("sieve").is_empty() && !router.established("sieve"),
        logs,
    );
    drop(sieve);
}
