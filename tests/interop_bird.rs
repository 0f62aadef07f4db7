//! BIRD 2 as neighbors and as the router, each neighbor through its pair, on loopback
//! (127.0.0.20–23, bgpsieve's addresses toward the router 127.0.1.21/23), every process stopped
//! by PID. Import: the router's table from the customer holds exactly the accepted routes, loses
//! exactly the withdrawn ones, and loses all of them when the customer's session drops. Export:
//! the customer's routes reach the provider by the router's own decision (transit), and the
//! provider receives only what the export checks let through.

mod common;

use common::interop::{
    api_address, available, bgpsieve_daemon, ctl, http_get, wait_for, write_vrps, Bird,
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
        ],
    )
}

/// The neighbor: AS20002 at 127.0.0.21, our customer, announcing a mix.
const NEIGHBOR: &str = r#"
router id 127.0.0.21;
protocol device {}
protocol static stable {
  ipv4;
  route 1.0.0.0/24 blackhole;    # RPKI valid
  route 2.0.0.0/24 blackhole;    # RPKI invalid: the ROA names AS999
  route 10.1.0.0/24 blackhole;   # bogon
  route 3.0.0.0/25 blackhole;    # too long
  route 4.0.0.0/24 blackhole;    # carries OTC: a leak from a customer
  route 5.0.0.0/24 blackhole;    # no ROA: NotFound, accepted
}
protocol static transient {
  ipv4;
  route 6.0.0.0/24 blackhole;    # valid, withdrawn later
  route 7.0.0.0/24 blackhole;    # NotFound, withdrawn later
}
protocol bgp up {
  local 127.0.0.21 port 11180 as 20002;
  neighbor 127.0.0.20 port 11179 as 20001;
  passive on;
  multihop;
  hold time 30;
  # Loopback next hops are martians to bgpsieve (rightly): announce a TEST-NET-1 address.
  ipv4 { import all; export filter { if net = 4.0.0.0/24 then bgp_otc = 7; accept; }; next hop address 192.0.2.21; };
}
"#;

/// The router: AS20001 at 127.0.0.22, with one eBGP session per neighbor, each to bgpsieve's
/// address for that neighbor. It announces its own prefix, a customer's, a route learned from
/// a peer (carrying OTC), one outside the announce list, and passes the customer's routes on to
/// the provider (transit, its own decision).
const ROUTER: &str = r#"
router id 127.0.0.22;
protocol device {}
protocol static lo { ipv4; route 127.0.0.0/8 via "lo"; route 192.0.2.0/24 via "lo"; }
protocol static own {
  ipv4;
  route 20.0.0.0/24 blackhole;                                   # own, announceable
  route 21.0.0.0/24 blackhole { bgp_path.prepend(20003); };      # customer route, announceable
  route 22.0.0.0/24 blackhole { bgp_path.prepend(20004); bgp_otc = 20004; };  # from a peer
  route 23.0.0.0/24 blackhole { bgp_path.prepend(20005); };      # not in the announce list
}
protocol bgp customer {
  local 127.0.0.22 port 11181 as 20001;
  neighbor 127.0.1.21 port 11179 as 20002;
  passive on;
  multihop;
  hold time 30;
  ipv4 { import all; export all; };
}
protocol bgp provider {
  local 127.0.0.22 port 11181 as 20001;
  neighbor 127.0.1.23 port 11179 as 20010;
  passive on;
  multihop;
  hold time 30;
  ipv4 { import all; export all; };
}
"#;

/// A provider of ours: AS20010 at 127.0.0.23.
const PROVIDER: &str = r#"
router id 127.0.0.23;
protocol device {}
protocol static lo { ipv4; route 127.0.0.0/8 via "lo"; route 192.0.2.0/24 via "lo"; }
protocol bgp sieve {
  local 127.0.0.23 port 11182 as 20010;
  neighbor 127.0.0.20 port 11179 as 20001;
  passive on;
  multihop;
  hold time 30;
  ipv4 { import all; export none; };
}
"#;

fn bgpsieve_config(vrps: &std::path::Path) -> String {
    format!(
        r#"
[global]
asn = 20001
router_id = "127.0.0.20"
listen = ["127.0.0.20:11179", "127.0.1.21:11179", "127.0.1.23:11179"]
announce = ["20.0.0.0/24", "21.0.0.0/24", "1.0.0.0/24", "5.0.0.0/24"]

[rpki]
vrp_files = ["{}"]

[[peer]]
name = "customer-bird"
role = "customer"
asn = 20002
address = "127.0.0.21"
local_address = "127.0.0.20"
port = 11180
idle_hold = "1s"
connect_retry = "1s"
next_hop = "192.0.2.22"   # the router's address on the link to this customer
router = {{ address = "127.0.0.22", local_address = "127.0.1.21", port = 11181 }}

[[peer]]
name = "provider-bird"
role = "provider"
asn = 20010
address = "127.0.0.23"
local_address = "127.0.0.20"
port = 11182
idle_hold = "1s"
connect_retry = "1s"
next_hop = "192.0.2.22"   # the router's address on the link to this provider
router = {{ address = "127.0.0.22", local_address = "127.0.1.23", port = 11181 }}
"#,
        vrps.display()
    )
}

#[test]
fn bird_neighbors_through_their_pairs_to_a_bird_router_import_export_and_withdrawals() {
    if !available("bird") || !available("birdc") {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let neighbor = Bird::start(dir.path(), "neighbor", NEIGHBOR);
    let router = Bird::start(dir.path(), "router", ROUTER);
    let provider = Bird::start(dir.path(), "provider", PROVIDER);
    let vrps = vrps(dir.path());
    let sieve = bgpsieve_daemon(dir.path(), &bgpsieve_config(&vrps));
    let logs = || {
        format!(
            "bgpsieve:\n{}\nneighbor:\n{}\nrouter:\n{}\nrouter table:\n{}",
            sieve.log_text(),
            neighbor.cli("show protocols all up"),
            router.cli("show protocols all"),
            router.cli("show route all")
        )
    };
    wait_for(
        T,
        || router.established("customer") && neighbor.established("up"),
        logs,
    );

    // Import: exactly the accepted routes reach the router, on the customer's session.
    let accepted = ["1.0.0.0/24", "5.0.0.0/24", "6.0.0.0/24", "7.0.0.0/24"];
    wait_for(T, || router.prefixes_from("customer") == accepted, logs);
    // The router sees the customer as itself: its AS, its path, its next hop, no community
    // added, and no OTC on a route from a customer (RFC 9234 sets it only from above).
    let all = router.cli("show route 1.0.0.0/24 all");
    assert!(all.contains("BGP.as_path: 20002"), "{all}");
    assert!(all.contains("BGP.next_hop: 192.0.2.21"), "{all}");
    assert!(!all.contains("large_community"), "{all}");
    assert!(!all.contains("BGP.otc"), "{all}");

    // Operators see why: the API and `bgpsieve ctl` show each rejected route with its reasons,
    // explain a route check by check, and a live /metrics scrape passes promtool.
    let address = api_address(&bgpsieve_config(&vrps));
    let api = format!("http://{address}");
    let args = [
        "rejected",
        "--peer",
        "customer-bird",
        "--direction",
        "in",
        "-j",
    ];
    let (code, out, err) = ctl(&api, &args);
    assert_eq!(code, 0, "{err}");
    let page: serde_json::Value = serde_json::from_str(&out).unwrap();
    let mut rejected: Vec<(String, Vec<String>)> = page["routes"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| {
            let reasons = r["reasons"].as_array().unwrap();
            let reasons = reasons.iter().map(|x| x.as_str().unwrap().to_string());
            (r["prefix"].as_str().unwrap().to_string(), reasons.collect())
        })
        .collect();
    rejected.sort();
    let want = |p: &str, r: &[&str]| (p.to_string(), r.iter().map(|x| x.to_string()).collect());
    assert_eq!(
        rejected,
        vec![
            want("10.1.0.0/24", &["bogon-prefix"]),
            want("2.0.0.0/24", &["rpki-invalid"]),
            want("3.0.0.0/25", &["prefix-length"]),
            want("4.0.0.0/24", &["otc-leak"]),
        ],
        "{out}"
    );
    let (code, table, _) = ctl(&api, &["rejected", "--reason", "rpki-invalid"]);
    assert_eq!(code, 0);
    assert!(
        table.contains("2.0.0.0/24") && table.contains("rpki-invalid"),
        "{table}"
    );
    assert!(!table.contains("10.1.0.0/24"), "{table}");
    let (code, out, err) = ctl(
        &api,
        &[
            "explain",
            "2.0.0.0/24",
            "20002",
            "--peer",
            "customer-bird",
            "-j",
        ],
    );
    assert_eq!(code, 0, "{err}");
    let e: serde_json::Value = serde_json::from_str(&out).unwrap();
    assert_eq!(
        (e["accepted"].as_bool(), e["rpki"].as_str()),
        (Some(false), Some("invalid")),
        "{out}"
    );
    wait_for(
        T,
        || {
            let (_, out, _) = ctl(&api, &["peers", "-j"]);
            let v: serde_json::Value = serde_json::from_str(&out).unwrap_or_default();
            let peer = v["peers"]
                .as_array()
                .and_then(|a| a.iter().find(|p| p["name"] == "customer-bird").cloned())
                .unwrap_or_default();
            peer["state"] == "established"
                && peer["routes_in"]["ipv4"] == 8
                && peer["accepted_in"]["ipv4"] == 4
                && peer["router"]["state"] == "established"
                && peer["router"]["routes_out"]["ipv4"] == 4
        },
        || ctl(&api, &["peers", "-j"]).1,
    );
    let metrics = http_get(&address, "/metrics");
    assert!(
        metrics.contains(
            "bgpsieve_routes_rejected_total{direction=\"in\",peer=\"customer-bird\",reason=\"rpki-invalid\"} 1"
        ),
        "{metrics}"
    );
    assert!(
        metrics.contains("bgpsieve_router_session_up{peer=\"customer-bird\"} 1"),
        "{metrics}"
    );
    if available("promtool") {
        let mut check = std::process::Command::new("promtool")
            .args(["check", "metrics"])
            .stdin(std::process::Stdio::piped())
            .stdout(std::process::Stdio::piped())
            .stderr(std::process::Stdio::piped())
            .spawn()
            .unwrap();
        use std::io::Write;
        check
            .stdin
            .take()
            .unwrap()
            .write_all(metrics.as_bytes())
            .unwrap();
        let out = check.wait_with_output().unwrap();
        assert!(
            out.status.success() && out.stdout.is_empty() && out.stderr.is_empty(),
            "promtool: {}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
    }

    // Withdrawals: the neighbor withdraws two routes; the router loses exactly those.
    neighbor.cli("disable transient");
    wait_for(
        T,
        || router.prefixes_from("customer") == ["1.0.0.0/24", "5.0.0.0/24"],
        logs,
    );

    // Export: the provider gets what the router exports to it (its own routes and the
    // customer's, by its own transit decision) less what the export checks stop: the route
    // from a peer (OTC) and the one outside the announce list.
    wait_for(T, || provider.established("sieve"), logs);
    wait_for(
        T,
        || {
            provider.prefixes_from("sieve")
                == ["1.0.0.0/24", "20.0.0.0/24", "21.0.0.0/24", "5.0.0.0/24"]
        },
        logs,
    );
    // The path is the router's own (bgpsieve adds no AS); the next hop is the router's link
    // address.
    let r = provider.cli("show route 21.0.0.0/24 all");
    assert!(r.contains("BGP.as_path: 20001 20003"), "{r}");
    assert!(r.contains("BGP.next_hop: 192.0.2.22"), "{r}");
    let r = provider.cli("show route 1.0.0.0/24 all");
    assert!(r.contains("BGP.as_path: 20001 20002"), "{r}");
    let (_, out, _) = ctl(&api, &["rejected", "--peer", "provider-bird", "-j"]);
    let page: serde_json::Value = serde_json::from_str(&out).unwrap();
    let reasons = |prefix: &str| -> Vec<String> {
        page["routes"]
            .as_array()
            .unwrap()
            .iter()
            .find(|r| r["direction"] == "out" && r["prefix"] == prefix)
            .map(|r| {
                let v = r["reasons"].as_array().unwrap();
                v.iter().map(|x| x.as_str().unwrap().to_string()).collect()
            })
            .unwrap_or_default()
    };
    assert_eq!(
        reasons("22.0.0.0/24"),
        ["not-announceable", "otc-egress"],
        "{out}"
    );
    assert_eq!(reasons("23.0.0.0/24"), ["not-announceable"], "{out}");

    // The neighbor's session drops: the router loses all of its routes (its session with
    // bgpsieve's address for that neighbor closes).
    neighbor.cli("disable up");
    wait_for(T, || router.prefixes_from("customer").is_empty(), logs);
    wait_for(T, || !router.established("customer"), logs);
    // Each side of the pair says it went down once, and why; the metrics count it.
    let customer = || -> serde_json::Value {
        let (_, out, _) = ctl(&api, &["peer", "customer-bird", "-j"]);
        serde_json::from_str(&out).unwrap_or_default()
    };
    wait_for(
        T,
        || {
            let p = customer();
            p["session"]["flaps"] == 1 && p["router"]["session"]["flaps"] == 1
        },
        || customer().to_string(),
    );
    let p = customer();
    for side in [&p["session"], &p["router"]["session"]] {
        assert_ne!(side["fsm_state"], "established", "{p}");
        assert!(side["fsm_since"].is_i64(), "{p}");
        assert!(side["last_error"]["error"].is_string(), "{p}");
    }
    let (code, detail, _) = ctl(&api, &["peer", "customer-bird"]);
    assert_eq!(code, 0);
    assert!(detail.contains("last error:"), "{detail}");
    let metrics = http_get(&address, "/metrics");
    for line in [
        "bgpsieve_session_flaps_total{peer=\"customer-bird\",side=\"neighbor\"} 1",
        "bgpsieve_session_flaps_total{peer=\"customer-bird\",side=\"router\"} 1",
        "bgpsieve_session_state{peer=\"provider-bird\",side=\"neighbor\"} 6",
        "bgpsieve_session_state{peer=\"provider-bird\",side=\"router\"} 6",
    ] {
        assert!(metrics.contains(line), "{line}\n{metrics}");
    }
    assert!(
        router.established("provider"),
        "the other pair stays: {}",
        logs()
    );

    // SIGTERM: bgpsieve ends every session so that the router keeps its routes through
    // bgpsieve's restart (graceful restart is on by default; BIRD has no RFC 8538 N bit, so
    // the connection is closed without a NOTIFICATION), and exits by itself.
    let mut sieve = sieve;
    let before = router.prefixes_from("provider");
    assert!(sieve.terminate(), "bgpsieve did not exit on SIGTERM");
    let info = router.cli("show protocols all provider");
    assert!(info.contains("Neighbor graceful restart active"), "{info}");
    assert_eq!(router.prefixes_from("provider"), before, "{info}");
}

/// Both sides open connections at once (neither is passive): one connection survives, chosen
/// by BGP identifier (RFC 4271 §6.8), and the session stays up.
#[test]
fn connection_collision_with_an_active_bird_settles_on_one_session() {
    if !available("bird") || !available("birdc") {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    // BIRD's identifier (127.0.0.26) is higher than bgpsieve's (127.0.0.24): its connection wins.
    let neighbor = Bird::start(
        dir.path(),
        "active",
        r#"
router id 127.0.0.26;
protocol device {}
protocol static statics { ipv4; route 1.0.0.0/24 blackhole; }
protocol bgp up {
  local 127.0.0.25 port 11185 as 20002;
  neighbor 127.0.0.24 port 11184 as 20001;
  multihop;
  hold time 30;
  connect delay time 1;
  ipv4 { import none; export all; next hop address 192.0.2.25; };
}
"#,
    );
    let sieve = bgpsieve_daemon(
        dir.path(),
        r#"
[global]
asn = 20001
router_id = "127.0.0.24"
listen = ["127.0.0.24:11184"]

[[peer]]
name = "active-bird"
role = "customer"
asn = 20002
address = "127.0.0.25"
local_address = "127.0.0.24"
port = 11185
idle_hold = "1s"
connect_retry = "1s"
# No router runs here: the neighbor side comes up with an OPEN made from the configuration.
router = { address = "127.0.0.27", local_address = "127.0.1.24", port = 11187 }
"#,
    );
    let logs = || {
        format!(
            "bgpsieve:\n{}\nneighbor:\n{}",
            sieve.log_text(),
            neighbor.cli("show protocols all up")
        )
    };
    wait_for(T, || neighbor.established("up"), logs);
    // Still up, on one session, a few hold-time-free seconds later.
    std::thread::sleep(Duration::from_secs(3));
    assert!(neighbor.established("up"), "{}", logs());
    let established = sieve
        .log_text()
        .lines()
        .filter(|l| l.contains("session established") && l.contains("side=neighbor"))
        .count();
    assert!(established <= 2, "the session flapped: {}", logs());
}
