//! Transit behind one router (DESIGN §1): a customer, two providers and a peer, each through
//! its own pair, with BIRD 2 and with FRR as the router, on loopback (BIRD router: 127.0.0.180–
//! 185, FRR router: 127.0.0.190–195; bgpsieve's addresses toward the router 127.0.1.X), every
//! process stopped by PID. The neighbors are BIRD 2.
//!
//! The customer's routes reach both providers and the peer by the router's own decision; the
//! router's per-neighbor export policy is exactly what each neighbor sees (a prepend toward one
//! provider only, the customer's NO_EXPORT route kept from every neighbor, a MED toward the peer
//! only); and a route the router wrongly exports (its policy toward the second provider sends
//! everything, the first provider's and the peer's routes too) is stopped by that pair's export
//! checks, with its reasons in the API.

mod common;

use common::frr::{frr_neighbor, Frr};
use common::interop::{available, bgpsieve_daemon, ctl, strings, wait_for, Bird};
use std::time::Duration;

const T: Duration = Duration::from_secs(30);

/// The neighbors: (name, role, AS, last octet of its address, its routes as BIRD static lines).
const NEIGHBORS: [(&str, &str, u32, u8, &str); 4] = [
    (
        "customer",
        "customer",
        20002,
        2,
        "route 1.0.0.0/24 blackhole { bgp_med = 50; bgp_community.add((20002, 1)); };\n  \
         route 1.0.5.0/24 blackhole { bgp_community.add((65535, 65281)); };",
    ),
    (
        "provider1",
        "provider",
        20010,
        3,
        "route 31.0.0.0/24 blackhole;",
    ),
    (
        "provider2",
        "provider",
        20011,
        4,
        "route 32.0.0.0/24 blackhole;",
    ),
    ("peer", "peer", 20012, 5, "route 33.0.0.0/24 blackhole;"),
];

/// The addresses of one run: bgpsieve at 127.0.0.`base`, the router at `base` + 1, neighbor
/// `k` at `base` + `k`; ports from `port`.
struct Plan {
    base: u8,
    port: u16,
}

impl Plan {
    fn ip(&self, k: u8) -> String {
        format!("127.0.0.{}", self.base + k)
    }
    /// bgpsieve's address toward the router for neighbor `k`.
    fn toward_router(&self, k: u8) -> String {
        format!("127.0.1.{}", self.base + k)
    }
    fn sieve_port(&self) -> u16 {
        self.port
    }
    fn router_port(&self) -> u16 {
        self.port + 1
    }
    fn neighbor_port(&self, k: u8) -> u16 {
        self.port + u16::from(k)
    }

    /// A BIRD neighbor: passive toward bgpsieve, importing everything, announcing `routes`
    /// with next hop 192.0.2.(base + k).
    fn neighbor(&self, k: u8, asn: u32, routes: &str) -> String {
        format!(
            r#"
router id {ip};
protocol device {{}}
protocol static lo {{ ipv4; route 127.0.0.0/8 via "lo"; route 192.0.2.0/24 via "lo"; }}
protocol static own {{
  ipv4;
  {routes}
}}
protocol bgp sieve {{
  local {ip} port {port} as {asn};
  neighbor {sieve} port {sieve_port} as 20001;
  passive on;
  multihop;
  hold time 30;
  ipv4 {{ import all; export where proto = "own"; next hop address 192.0.2.{nh}; }};
}}
"#,
            ip = self.ip(k),
            port = self.neighbor_port(k),
            sieve = self.ip(0),
            sieve_port = self.sieve_port(),
            nh = self.base + k,
        )
    }

    fn bgpsieve(&self) -> String {
        let peers: String = NEIGHBORS
            .iter()
            .map(|(name, role, asn, k, _)| {
                format!(
                    r#"
[[peer]]
name = "{name}"
role = "{role}"
asn = {asn}
address = "{ip}"
local_address = "{sieve}"
port = {port}
idle_hold = "1s"
connect_retry = "1s"
next_hop = "192.0.2.{router_nh}"
router = {{ address = "{router}", local_address = "{toward}", port = {router_port} }}
"#,
                    ip = self.ip(*k),
                    sieve = self.ip(0),
                    port = self.neighbor_port(*k),
                    router_nh = self.base + 1,
                    router = self.ip(1),
                    toward = self.toward_router(*k),
                    router_port = self.router_port(),
                )
            })
            .collect();
        format!(
            r#"
[global]
asn = 20001
router_id = "{sieve}"
listen = ["{sieve}:{port}"]
announce = ["20.0.0.0/24", "1.0.0.0/16-24"]

[api]
listen = "{sieve}:{api}"
{peers}"#,
            sieve = self.ip(0),
            port = self.sieve_port(),
            api = self.port + 9,
        )
    }

    /// The BIRD router: one protocol per pair, named after the neighbor. Its policy: toward
    /// provider1 own and customer routes, prepended once; toward provider2 everything (the
    /// mistake the export checks must catch); toward the peer own and customer routes with MED
    /// 77; toward the customer everything.
    fn bird_router(&self) -> String {
        let protocols: String = NEIGHBORS
            .iter()
            .map(|(name, _, asn, k, _)| {
                let export = match *name {
                    "provider1" => {
                        "filter { if !ours() then reject; bgp_path.prepend(20001); accept; }"
                    }
                    "peer" => "filter { if !ours() then reject; bgp_med = 77; accept; }",
                    _ => "all",
                };
                format!(
                    r#"
protocol bgp {name} {{
  local {ip} port {port} as 20001;
  neighbor {toward} as {asn};
  passive on;
  multihop;
  hold time 30;
  ipv4 {{ import all; export {export}; }};
}}
"#,
                    ip = self.ip(1),
                    port = self.router_port(),
                    toward = self.toward_router(*k),
                )
            })
            .collect();
        format!(
            r#"
router id {ip};
protocol device {{}}
protocol static lo {{ ipv4; route 127.0.0.0/8 via "lo"; route 192.0.2.0/24 via "lo"; }}
protocol static own {{ ipv4; route 20.0.0.0/24 blackhole; }}
function ours() {{ return proto = "own" || proto = "customer"; }}
{protocols}"#,
            ip = self.ip(1)
        )
    }

    /// The same router and policy in FRR.
    fn frr_router(&self) -> String {
        let mut neighbors = String::new();
        let mut families = String::new();
        for (name, _, asn, k, _) in NEIGHBORS {
            let toward = self.toward_router(k);
            neighbors.push_str(&frr_neighbor(&toward, self.sieve_port(), asn, &self.ip(1)));
            neighbors.push_str(&format!(" neighbor {toward} passive\n"));
            let out = match name {
                "provider1" => "TO-PROVIDER1",
                "peer" => "TO-PEER",
                "provider2" => "EVERYTHING",
                _ => "EVERYTHING",
            };
            families.push_str(&format!(
                "  neighbor {toward} route-map FROM-NEIGHBOR in\n  neighbor {toward} route-map {out} out\n"
            ));
        }
        format!(
            r#"frr defaults traditional
hostname router
! listen {ip} {port}
ip prefix-list OURS seq 5 permit 20.0.0.0/24
ip prefix-list OURS seq 10 permit 1.0.0.0/16 le 24
route-map FROM-NEIGHBOR permit 10
exit
route-map EVERYTHING permit 10
 set ip next-hop {ip}
exit
route-map TO-PROVIDER1 permit 10
 match ip address prefix-list OURS
 set as-path prepend 20001
 set ip next-hop {ip}
exit
route-map TO-PEER permit 10
 match ip address prefix-list OURS
 set metric 77
 set ip next-hop {ip}
exit
router bgp 20001
 bgp router-id {ip}
 no bgp ebgp-requires-policy
 bgp allow-martian-nexthop
{neighbors} address-family ipv4 unicast
  network 20.0.0.0/24
{families} exit-address-family
exit
"#,
            ip = self.ip(1),
            port = self.router_port(),
        )
    }
}

/// What the neighbors must see, and the checks common to both routers. `routes` gives a
/// neighbor's table, `attrs` a route's attributes at a neighbor as `(AS path, MED)`.
fn check_transit(
    plan: &Plan,
    neighbors: &[Bird],
    router_has: &dyn Fn(&str) -> Vec<String>,
    logs: &dyn Fn() -> String,
) {
    let table = |k: usize| neighbors[k].prefixes_from("sieve");
    let path = |k: usize, prefix: &str| -> (String, Option<String>) {
        let out = neighbors[k].cli(&format!("show route {prefix} protocol sieve all"));
        let get = |attr: &str| {
            out.lines()
                .find_map(|l| l.trim().strip_prefix(&format!("BGP.{attr}: ")))
                .map(|v| v.trim().to_string())
        };
        (get("as_path").unwrap_or_default(), get("med"))
    };
    // The router has each neighbor's routes (the customer's NO_EXPORT one too).
    wait_for(
        T,
        || router_has("customer") == strings(&["1.0.0.0/24", "1.0.5.0/24"]),
        logs,
    );
    wait_for(T, || router_has("provider1") == ["31.0.0.0/24"], logs);
    // Each provider and the peer gets the router's own route and the customer's, never the
    // customer's NO_EXPORT route; provider2 gets nothing the router should not have sent it.
    let ours = strings(&["1.0.0.0/24", "20.0.0.0/24"]);
    for k in 1..=3 {
        wait_for(T, || table(k) == ours, logs);
    }
    // Prepended toward provider1 only; a MED toward the peer only (the customer's MED 50 is
    // not passed to another AS).
    assert_eq!(path(1, "1.0.0.0/24").0, "20001 20001 20002");
    assert_eq!(path(1, "20.0.0.0/24").0, "20001 20001");
    assert_eq!(path(2, "1.0.0.0/24").0, "20001 20002");
    assert_eq!(
        path(3, "1.0.0.0/24"),
        ("20001 20002".into(), Some("77".into()))
    );
    assert_eq!(path(1, "1.0.0.0/24").1, None, "{}", logs());
    assert_eq!(path(2, "1.0.0.0/24").1, None, "{}", logs());
    // The customer gets everything from upstream (its table is the full table).
    wait_for(
        T,
        || table(0) == strings(&["20.0.0.0/24", "31.0.0.0/24", "32.0.0.0/24", "33.0.0.0/24"]),
        logs,
    );
    // What the router wrongly sent provider2 (the other provider's and the peer's routes) was
    // stopped at its pair, with the reasons.
    let api = format!("http://{}:{}", plan.ip(0), plan.port + 9);
    let reasons = |prefix: &str| -> Vec<String> {
        let (_, out, _) = ctl(
            &api,
            &[
                "rejected",
                "--peer",
                "provider2",
                "--direction",
                "out",
                "-j",
            ],
        );
        let page: serde_json::Value = serde_json::from_str(&out).unwrap_or_default();
        page["routes"]
            .as_array()
            .cloned()
            .unwrap_or_default()
            .iter()
            .find(|r| r["prefix"] == prefix)
            .map(|r| {
                let v = r["reasons"].as_array().cloned().unwrap_or_default();
                v.iter()
                    .filter_map(|x| x.as_str().map(str::to_string))
                    .collect()
            })
            .unwrap_or_default()
    };
    wait_for(T, || !reasons("31.0.0.0/24").is_empty(), logs);
    assert_eq!(reasons("31.0.0.0/24"), ["not-announceable", "otc-egress"]);
    assert_eq!(reasons("33.0.0.0/24"), ["not-announceable", "otc-egress"]);
}

fn start_neighbors(dir: &std::path::Path, plan: &Plan) -> Vec<Bird> {
    NEIGHBORS
        .iter()
        .map(|(name, _, asn, k, routes)| {
            Bird::start(dir, &format!("n-{name}"), &plan.neighbor(*k, *asn, routes))
        })
        .collect()
}

#[test]
fn transit_behind_a_bird_router_is_the_routers_decision_and_leaks_are_stopped() {
    if !available("bird") || !available("birdc") {
        return;
    }
    let plan = Plan {
        base: 180,
        port: 14400,
    };
    let dir = tempfile::tempdir().unwrap();
    let neighbors = start_neighbors(dir.path(), &plan);
    let router = Bird::start(dir.path(), "router", &plan.bird_router());
    let sieve = bgpsieve_daemon(dir.path(), &plan.bgpsieve());
    let logs = || {
        format!(
            "bgpsieve:\n{}\nrouter:\n{}\n{}",
            sieve.log_text(),
            router.cli("show protocols all"),
            router.cli("show route all")
        )
    };
    let router_has = |name: &str| router.prefixes_from(name);
    check_transit(&plan, &neighbors, &router_has, &logs);
    // The customer's NO_EXPORT route is at the router, with its community as sent.
    let r = router.cli("show route 1.0.5.0/24 all");
    assert!(r.contains("(65535,65281)"), "{r}");
    drop(sieve);
}

#[test]
fn transit_behind_an_frr_router_is_the_routers_decision_and_leaks_are_stopped() {
    if !available("bird") || !available("birdc") || !Frr::available() {
        return;
    }
    let plan = Plan {
        base: 190,
        port: 14500,
    };
    let dir = tempfile::tempdir().unwrap();
    let neighbors = start_neighbors(dir.path(), &plan);
    let router = Frr::start(dir.path(), "router", &plan.frr_router());
    let sieve = bgpsieve_daemon(dir.path(), &plan.bgpsieve());
    let logs = || {
        format!(
            "bgpsieve:\n{}\nrouter:\n{}\n{}",
            sieve.log_text(),
            router.cli("show bgp summary"),
            router.cli("show bgp ipv4 unicast")
        )
    };
    let address = |name: &str| {
        let k = NEIGHBORS.iter().find(|n| n.0 == name).map_or(0, |n| n.3);
        plan.toward_router(k)
    };
    let router_has = |name: &str| router.prefixes_from(&address(name));
    check_transit(&plan, &neighbors, &router_has, &logs);
    let r = router.route("1.0.5.0/24");
    assert!(r.to_string().contains("noExport"), "{r}");
    drop(sieve);
}
