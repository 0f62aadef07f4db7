//! OpenBGPD on both sides of a pair, on loopback (127.0.0.40–46, bgpsieve's addresses toward the
//! router 127.0.1.41/46, ports 12100–12114), every process stopped by PID. As a NEIGHBOR
//! (customer, RFC 9234 role enforced): OpenBGPD announces a mix from its config and `bgpctl
//! network add`, and the router (OpenBGPD, enforcing roles too) holds exactly the accepted
//! routes, then loses exactly the one withdrawn. As the ROUTER: OpenBGPD announces own and
//! non-announceable prefixes to the provider's pair, and the provider (OpenBGPD, role enforced)
//! receives only the announceable ones. bgpd needs root (its chroot); every instance runs with
//! `fib-update no`.

mod common;

use common::interop::{bgpsieve_daemon, wait_for, write_vrps, OpenBgpd};
use std::time::Duration;

const T: Duration = Duration::from_secs(30);

fn vrps(dir: &std::path::Path) -> std::path::PathBuf {
    write_vrps(
        dir,
        &[
            (20003, "1.0.0.0/24", 24),
            (999, "2.0.0.0/24", 24),
            (20003, "6.0.0.0/24", 24),
            (20001, "20.0.0.0/24", 24),
            (999, "24.0.0.0/24", 24),
        ],
    )
}

/// The neighbor: AS20003 at 127.0.0.41, our customer, announcing a mix. `announce policy
/// customer enforce`: OpenBGPD is the customer here and wants bgpsieve's Role capability
/// (RFC 9234) to say provider. Loopback next hops are martians to bgpsieve (rightly): OpenBGPD
/// sends a TEST-NET-1 one, which it does for an eBGP session only if it is multihop and told
/// `no-modify`.
const NEIGHBOR: &str = r#"
AS 20003
router-id 127.0.0.41
fib-update no
listen on 127.0.0.41 port 12101
network 1.0.0.0/24                     # RPKI valid
network 2.0.0.0/24                     # RPKI invalid: the ROA names AS999
network 10.1.0.0/24                    # bogon
network 3.0.0.0/25                     # too long
network 5.0.0.0/24                     # no ROA: NotFound, accepted
network 9.0.0.0/24 set prepend-self 2  # prepended: 20003 20003 20003, accepted
neighbor 127.0.0.40 {
    remote-as 20001
    descr "sieve"
    passive
    multihop 2
    local-address 127.0.0.41
    holdtime 30
    announce policy customer enforce
}
allow from any
allow to any
match to 127.0.0.40 set nexthop 192.0.2.41
match to 127.0.0.40 set nexthop no-modify
"#;

/// The router: AS20001 at 127.0.0.42, meeting the customer at bgpsieve's 127.0.1.41. It
/// enforces RFC 9234 roles: bgpsieve must advertise the customer's role, whatever the customer
/// sent.
const ROUTER_IN: &str = r#"
AS 20001
router-id 127.0.0.42
fib-update no
listen on 127.0.0.42 port 12102
neighbor 127.0.1.41 {
    remote-as 20003
    descr "customer"
    passive
    multihop 2
    local-address 127.0.0.42
    holdtime 30
    announce policy provider enforce
}
allow from any
allow to any
"#;

fn import_config(vrps: &std::path::Path) -> String {
    format!(
        r#"
[global]
asn = 20001
router_id = "127.0.0.40"
listen = ["127.0.0.40:12100"]
announce = ["20.0.0.0/24"]

[api]
listen = "127.0.0.40:12110"

[rpki]
vrp_files = ["{}"]

[[peer]]
name = "customer-openbgpd"
role = "customer"
asn = 20003
address = "127.0.0.41"
local_address = "127.0.0.40"
port = 12101
idle_hold = "1s"
connect_retry = "1s"
router = {{ address = "127.0.0.42", local_address = "127.0.1.41", port = 12102 }}
"#,
        vrps.display()
    )
}

/// The value of a route's `key` in `bgpctl -j show rib` output, for `prefix`.
fn route_field(routes: &[serde_json::Value], prefix: &str, key: &str) -> serde_json::Value {
    routes
        .iter()
        .find(|r| r["prefix"] == prefix)
        .map(|r| r[key].clone())
        .unwrap_or_default()
}

#[test]
fn openbgpd_neighbor_to_openbgpd_router_import_and_withdrawal() {
    if !OpenBgpd::available() {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let neighbor = OpenBgpd::start(dir.path(), "neighbor", NEIGHBOR);
    // Two more, added at run time so that one can be withdrawn (`network delete` only removes
    // what `network add` added).
    neighbor.cli_ok("network add 6.0.0.0/24"); // valid, withdrawn later
    neighbor.cli_ok("network add 7.0.0.0/24"); // NotFound
    let router = OpenBgpd::start(dir.path(), "router", ROUTER_IN);
    let vrps = vrps(dir.path());
    let sieve = bgpsieve_daemon(dir.path(), &import_config(&vrps));
    let logs = || {
        format!(
            "bgpsieve:\n{}\nneighbor:\n{}{}{}\nrouter:\n{}{}{}",
            sieve.log_text(),
            neighbor.cli("show neighbor 127.0.0.40"),
            neighbor.cli("show rib out neighbor 127.0.0.40"),
            neighbor.proc.log_text(),
            router.cli("show neighbor 127.0.1.41"),
            router.cli("show rib in neighbor 127.0.1.41"),
            router.proc.log_text(),
        )
    };
    wait_for(
        T,
        || router.established("127.0.1.41") && neighbor.established("127.0.0.40"),
        logs,
    );

    // Import: exactly the accepted routes reach the router.
    let accepted = [
        "1.0.0.0/24",
        "5.0.0.0/24",
        "6.0.0.0/24",
        "7.0.0.0/24",
        "9.0.0.0/24",
    ];
    wait_for(T, || router.prefixes_from("127.0.1.41") == accepted, logs);
    // The rejected ones did reach bgpsieve: OpenBGPD sent all eight.
    let sent = neighbor.cli("show rib out neighbor 127.0.0.40");
    for p in [
        "1.0.0.0/24",
        "2.0.0.0/24",
        "10.1.0.0/24",
        "3.0.0.0/25",
        "6.0.0.0/24",
    ] {
        assert!(sent.contains(p), "{p}: {sent}");
    }
    // The router sees the path and next hop as OpenBGPD sent them, and nothing added.
    let routes = router.routes_from("127.0.1.41");
    assert_eq!(
        route_field(&routes, "9.0.0.0/24", "aspath"),
        "20003 20003 20003",
        "{routes:?}"
    );
    assert_eq!(
        route_field(&routes, "9.0.0.0/24", "exit_nexthop"),
        "192.0.2.41",
        "{routes:?}"
    );
    let detail = router.cli("show rib in detail neighbor 127.0.1.41 1.0.0.0/24");
    assert!(!detail.contains("20001:1003:20003"), "{detail}");
    assert!(detail.contains("1.0.0.0/24"), "{detail}");

    // A withdrawal on the neighbor removes exactly that route from the router.
    neighbor.cli_ok("network delete 6.0.0.0/24");
    wait_for(
        T,
        || {
            router.prefixes_from("127.0.1.41")
                == ["1.0.0.0/24", "5.0.0.0/24", "7.0.0.0/24", "9.0.0.0/24"]
        },
        logs,
    );

    // The neighbor takes its session down: the router loses all of its routes.
    neighbor.cli_ok("neighbor 127.0.0.40 down");
    wait_for(T, || router.prefixes_from("127.0.1.41").is_empty(), logs);
    drop(sieve);
}

/// The router: AS20001 at 127.0.0.45, meeting the provider at bgpsieve's 127.0.1.46 (as its
/// customer, RFC 9234). Its next hop toward bgpsieve is its own address; bgpsieve sends the
/// provider the router's link address instead (`next_hop`).
const ROUTER_OUT: &str = r#"
AS 20001
router-id 127.0.0.45
fib-update no
listen on 127.0.0.45 port 12105
network 20.0.0.0/24     # own, announceable, RPKI valid
network 24.0.1.0/24     # announceable range (NotFound)
network 24.0.0.0/24     # announceable range, but RPKI invalid (ROA: AS999)
network 20.0.0.0/25     # more-specific of our own /24: not in the list
network 23.0.0.0/24     # not in the announce list
neighbor 127.0.1.46 {
    remote-as 20010
    descr "provider"
    passive
    multihop 2
    local-address 127.0.0.45
    holdtime 30
    announce policy customer enforce
}
allow from any
allow to any
"#;

/// A provider of ours: AS20010 at 127.0.0.46, enforcing RFC 9234 roles (it is our provider).
const PROVIDER: &str = r#"
AS 20010
router-id 127.0.0.46
fib-update no
listen on 127.0.0.46 port 12106
neighbor 127.0.0.44 {
    remote-as 20001
    descr "sieve"
    passive
    local-address 127.0.0.46
    holdtime 30
    announce policy provider enforce
}
allow from any
allow to any
"#;

fn export_config(vrps: &std::path::Path) -> String {
    format!(
        r#"
[global]
asn = 20001
router_id = "127.0.0.44"
listen = ["127.0.0.44:12104"]
announce = ["20.0.0.0/24", "21.0.0.0/24", "24.0.0.0/22-24"]

[api]
listen = "127.0.0.44:12114"

[rpki]
vrp_files = ["{}"]

[[peer]]
name = "provider-openbgpd"
role = "provider"
asn = 20010
address = "127.0.0.46"
local_address = "127.0.0.44"
port = 12106
idle_hold = "1s"
connect_retry = "1s"
next_hop = "192.0.2.45"   # the router's address on the link to this provider
router = {{ address = "127.0.0.45", local_address = "127.0.1.46", port = 12105 }}
"#,
        vrps.display()
    )
}

#[test]
fn openbgpd_router_to_openbgpd_provider_only_announceable() {
    if !OpenBgpd::available() {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let router = OpenBgpd::start(dir.path(), "router", ROUTER_OUT);
    router.cli_ok("network add 21.0.0.0/24"); // announceable, withdrawn later
    let provider = OpenBgpd::start(dir.path(), "provider", PROVIDER);
    let vrps = vrps(dir.path());
    let sieve = bgpsieve_daemon(dir.path(), &export_config(&vrps));
    let logs = || {
        format!(
            "bgpsieve:\n{}\nrouter:\n{}{}{}\nprovider:\n{}{}{}",
            sieve.log_text(),
            router.cli("show neighbor 127.0.1.46"),
            router.cli("show rib out neighbor 127.0.1.46"),
            router.proc.log_text(),
            provider.cli("show neighbor 127.0.0.44"),
            provider.cli("show rib in neighbor 127.0.0.44"),
            provider.proc.log_text(),
        )
    };
    wait_for(
        T,
        || router.established("127.0.1.46") && provider.established("127.0.0.44"),
        logs,
    );

    // Export: the provider gets only the announceable routes.
    let announceable = ["20.0.0.0/24", "21.0.0.0/24", "24.0.1.0/24"];
    wait_for(
        T,
        || provider.prefixes_from("127.0.0.44") == announceable,
        logs,
    );
    // With the router's path (its AS, prepended by the router), the router's link address as
    // next hop, and no OTC toward a provider (RFC 9234: OpenBGPD, enforcing roles, would take
    // one from its customer for a leak).
    let routes = provider.routes_from("127.0.0.44");
    for p in announceable {
        assert_eq!(route_field(&routes, p, "aspath"), "20001", "{routes:?}");
        assert_eq!(
            route_field(&routes, p, "exit_nexthop"),
            "192.0.2.45",
            "{routes:?}"
        );
    }
    let detail = provider.cli("show rib in detail neighbor 127.0.0.44");
    assert!(!detail.contains("OTC"), "{detail}");

    // A withdrawal on the router reaches the provider.
    router.cli_ok("network delete 21.0.0.0/24");
    wait_for(
        T,
        || provider.prefixes_from("127.0.0.44") == ["20.0.0.0/24", "24.0.1.0/24"],
        logs,
    );

    // The router's session drops: the provider loses everything the router announced.
    router.cli_ok("neighbor 127.0.1.46 down");
    wait_for(T, || provider.prefixes_from("127.0.0.44").is_empty(), logs);
    drop(sieve);
}
