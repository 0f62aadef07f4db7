//! Max-prefix teardown as the real neighbor sees it, on loopback (127.0.0.50–55, ports
//! 12200–12213), every process stopped by PID. A neighbor within its limit has its routes at the
//! router; it announces more than `max_prefix_in` allows; bgpsieve sends NOTIFICATION Cease/1
//! (RFC 4486: data AFI/SAFI/limit), the neighbor reports exactly that, the router loses the
//! neighbor's routes, and after `restart_after` (not before) bgpsieve brings the session back by
//! itself. BIRD shows the Cease subcode in `show protocols all`; GoBGP logs the data too. Without
//! `restart_after` the session stays down until `bgpsieve ctl clear` (127.0.0.150–152).

mod common;

use common::interop::{available, bgpsieve_daemon, gobgp_passive_config, wait_for, Bird, GoBgp};
use std::time::{Duration, Instant};

const T: Duration = Duration::from_secs(30);

/// The neighbor's limit.
const LIMIT: usize = 5;
/// How long bgpsieve waits before it restarts the session: longer than GoBGP refuses connections
/// after a session went down (a fixed 5 s idle hold; BIRD, after a Cease, none). bgpsieve's
/// attempt must find the neighbor ready: after a refused one it waits ConnectRetryTime (120 s).
const RESTART_AFTER: Duration = Duration::from_secs(8);

/// The prefixes the neighbor announces all along (within the limit), and the ones that take it
/// over the limit.
const STEADY: [&str; 4] = ["1.0.0.0/24", "1.0.1.0/24", "1.0.2.0/24", "1.0.3.0/24"];
const EXCESS: [&str; 3] = ["1.1.0.0/24", "1.1.1.0/24", "1.1.2.0/24"];

/// bgpsieve at 127.0.0.`first`:`port` (its API on `port` + 10), with one customer, limited,
/// at `first` + 1 (port + 1), and the router at `first` + 2 (port + 2), which meets the
/// customer at bgpsieve's 127.0.1.(`first` + 1).
fn config(first: u8, port: u16, name: &str, asn: u32) -> String {
    let (sieve, neighbor, router) = (first, first + 1, first + 2);
    format!(
        r#"
[global]
asn = 20001
router_id = "127.0.0.{sieve}"
listen = ["127.0.0.{sieve}:{port}"]
announce = ["20.0.0.0/24"]

[api]
listen = "127.0.0.{sieve}:{}"

[incidents]
webhook = "http://127.0.0.{sieve}:{}/incident"

[[peer]]
name = "{name}"
role = "customer"
asn = {asn}
address = "127.0.0.{neighbor}"
local_address = "127.0.0.{sieve}"
port = {}
idle_hold = "1s"
connect_retry = "1s"
max_prefix_in = {{ ipv4 = {LIMIT}, action = "teardown", restart_after = "{}s" }}
router = {{ address = "127.0.0.{router}", local_address = "127.0.1.{neighbor}", port = {} }}
"#,
        port + 10,
        port + 20,
        port + 1,
        RESTART_AFTER.as_secs(),
        port + 2,
    )
}

/// The neighbor: AS20002 at 127.0.0.51, our customer. Passive, so only bgpsieve brings the
/// session back.
const BIRD_NEIGHBOR: &str = r#"
router id 127.0.0.51;
protocol device {}
protocol static steady {
  ipv4;
  route 1.0.0.0/24 blackhole;
  route 1.0.1.0/24 blackhole;
  route 1.0.2.0/24 blackhole;
  route 1.0.3.0/24 blackhole;
}
protocol static excess {
  disabled;
  ipv4;
  route 1.1.0.0/24 blackhole;
  route 1.1.1.0/24 blackhole;
  route 1.1.2.0/24 blackhole;
}
protocol bgp up {
  local 127.0.0.51 port 12201 as 20002;
  neighbor 127.0.0.50 port 12200 as 20001;
  passive on;
  multihop;
  hold time 30;
  ipv4 { import none; export all; next hop address 192.0.2.51; };
}
"#;

/// The router: AS20001 at 127.0.0.52, meeting the customer at bgpsieve's 127.0.1.51.
const BIRD_ROUTER: &str = r#"
router id 127.0.0.52;
protocol device {}
protocol static lo { ipv4; route 192.0.2.0/24 via "lo"; }
protocol bgp sieve {
  local 127.0.0.52 port 12202 as 20001;
  neighbor 127.0.1.51 as 20002;
  passive on;
  multihop;
  hold time 30;
  ipv4 { import all; export none; };
}
"#;

#[test]
fn max_prefix_teardown_seen_by_bird_neighbor_and_restart_after() {
    if !available("bird") || !available("birdc") {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    // The NOC's webhook: takes one POST and hands over its body.
    let hook = std::net::TcpListener::bind("127.0.0.50:12220").unwrap();
    let (posted_tx, posted) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        use std::io::{Read, Write};
        if let Ok((mut s, _)) = hook.accept() {
            s.set_read_timeout(Some(Duration::from_secs(5))).unwrap();
            let mut got = Vec::new();
            let mut buf = [0u8; 4096];
            while let Ok(n) = s.read(&mut buf) {
                if n == 0 {
                    break;
                }
                got.extend_from_slice(&buf[..n]);
                let text = String::from_utf8_lossy(&got);
                if let Some((head, body)) = text.split_once("\r\n\r\n") {
                    let len = head
                        .lines()
                        .find_map(|l| l.strip_prefix("Content-Length: "))
                        .and_then(|v| v.trim().parse::<usize>().ok());
                    if len.is_some_and(|len| body.len() >= len) {
                        break;
                    }
                }
            }
            let _ = s.write_all(b"HTTP/1.1 204 No Content\r\nContent-Length: 0\r\n\r\n");
            let _ = posted_tx.send(String::from_utf8_lossy(&got).into_owned());
        }
    });
    let neighbor = Bird::start(dir.path(), "neighbor", BIRD_NEIGHBOR);
    let router = Bird::start(dir.path(), "router", BIRD_ROUTER);
    let sieve = bgpsieve_daemon(dir.path(), &config(50, 12200, "customer-bird", 20002));
    let api = "http://127.0.0.50:12210";
    let logs = || {
        format!(
            "bgpsieve:\n{}\nneighbor:\n{}\nrouter:\n{}{}",
            sieve.log_text(),
            neighbor.cli("show protocols all up"),
            router.cli("show protocols all sieve"),
            router.cli("show route")
        )
    };

    // Within the limit: the router has the neighbor's routes.
    wait_for(
        T,
        || router.established("sieve") && neighbor.established("up"),
        logs,
    );
    wait_for(T, || router.prefixes_from("sieve") == STEADY, logs);

    // Over the limit: BIRD reports the Cease subcode it received (RFC 4486 subcode 1).
    neighbor.cli("enable excess");
    let received = "Received: Maximum number of prefixes reached";
    wait_for(
        T,
        || neighbor.cli("show protocols all up").contains(received),
        logs,
    );
    let torn_down = Instant::now();
    assert!(!neighbor.established("up"), "{}", logs());
    // The router loses every route of that neighbor.
    wait_for(T, || router.prefixes_from("sieve").is_empty(), logs);

    // A leak incident: logged as one JSON line, POSTed to the webhook, shown by ctl.
    let request = posted
        .recv_timeout(Duration::from_secs(10))
        .expect("the webhook was called");
    assert!(
        request.starts_with("POST /incident HTTP/1.1\r\n"),
        "{request}"
    );
    let body = request
        .split_once("\r\n\r\n")
        .map(|x| x.1)
        .unwrap_or_default();
    let incident: serde_json::Value = serde_json::from_str(body).unwrap();
    assert_eq!(incident["kind"], "max-prefix", "{body}");
    assert_eq!(incident["action"], "teardown");
    assert_eq!(incident["peer"], "customer-bird");
    assert_eq!(incident["peer_asn"], 20002);
    assert_eq!(incident["detail"], "ipv4 prefixes 6 over the limit of 5");
    let prefixes = incident["prefixes"].as_array().unwrap();
    assert!(
        prefixes
            .iter()
            .any(|p| p.as_str().unwrap().starts_with("1.1.")),
        "{body}"
    );
    assert!(sieve.log_text().contains("leak incident {\"id\":1,"));
    // The API's view is refreshed every second.
    wait_for(
        T,
        || {
            let (code, table, _) = common::interop::ctl(api, &["incidents"]);
            code == 0
                && table.contains("max-prefix")
                && table.contains("teardown")
                && table.contains("open")
        },
        || common::interop::ctl(api, &["incidents"]).1,
    );

    // The neighbor's operator fixes the leak; bgpsieve restarts the session by itself after
    // `restart_after` (BIRD is passive: nobody else could), and not before.
    neighbor.cli("disable excess");
    wait_for(T, || neighbor.established("up"), logs);
    let waited = torn_down.elapsed();
    assert!(
        waited >= RESTART_AFTER - Duration::from_millis(500),
        "back after {waited:?}, restart_after is {RESTART_AFTER:?}\n{}",
        logs()
    );
    wait_for(T, || router.prefixes_from("sieve") == STEADY, logs);
    // The session is back: the incident is resolved.
    wait_for(
        T,
        || {
            let (_, out, _) = common::interop::ctl(api, &["incidents", "-j"]);
            out.contains("\"state\": \"resolved\"")
        },
        || common::interop::ctl(api, &["incidents", "-j"]).1,
    );
    drop(sieve);
}

/// The neighbor: AS20004 at 127.0.0.54, our customer. Passive, so only bgpsieve brings the
/// session back.
fn gobgp_neighbor() -> String {
    gobgp_passive_config(20004, "127.0.0.54", 12204, "127.0.0.53", 20001)
}

/// The router: AS20001 at 127.0.0.55, meeting the customer at bgpsieve's 127.0.1.54.
fn gobgp_router() -> String {
    gobgp_passive_config(20001, "127.0.0.55", 12205, "127.0.1.54", 20004)
}

#[test]
fn max_prefix_teardown_notification_data_seen_by_gobgp_neighbor() {
    if !available("gobgpd") || !available("gobgp") {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let neighbor = GoBgp::start(dir.path(), "neighbor", &gobgp_neighbor());
    for p in STEADY {
        neighbor.cli_ok(&format!("global rib add {p} nexthop 192.0.2.54 -a ipv4"));
    }
    let router = GoBgp::start(dir.path(), "router", &gobgp_router());
    let sieve = bgpsieve_daemon(dir.path(), &config(53, 12203, "customer-gobgp", 20004));
    let logs = || {
        format!(
            "bgpsieve:\n{}\nneighbor:\n{}{}\nrouter:\n{}{}",
            sieve.log_text(),
            neighbor.cli("neighbor 127.0.0.53"),
            neighbor.proc.log_text(),
            router.cli("neighbor 127.0.1.54"),
            router.cli("-j neighbor 127.0.1.54 adj-in -a ipv4")
        )
    };

    // Within the limit: the router has the neighbor's routes.
    wait_for(
        T,
        || router.established("127.0.1.54") && neighbor.established("127.0.0.53"),
        logs,
    );
    wait_for(T, || router.prefixes_from("127.0.1.54") == STEADY, logs);

    // Over the limit: GoBGP logs the NOTIFICATION it received, Cease/1 with the RFC 4486 data:
    // AFI 1 (IPv4), SAFI 1 (unicast), the limit as four octets.
    for p in EXCESS {
        neighbor.cli_ok(&format!("global rib add {p} nexthop 192.0.2.54 -a ipv4"));
    }
    let data = format!("Data=\"[0 1 1 0 0 0 {LIMIT}]\"");
    let notification = || {
        neighbor
            .proc
            .log_text()
            .lines()
            .find(|l| l.contains("received notification"))
            .map(str::to_string)
    };
    wait_for(T, || notification().is_some(), logs);
    let torn_down = Instant::now();
    let line = notification().unwrap();
    assert!(
        line.contains("Code=6") && line.contains("Subcode=1") && line.contains(&data),
        "{line}"
    );
    let down = "subcode 1(maximum number of prefixes reached)";
    assert!(neighbor.proc.log_text().contains(down), "{}", logs());
    // The router loses every route of that neighbor.
    wait_for(T, || router.prefixes_from("127.0.1.54").is_empty(), logs);

    // The neighbor withdraws the excess; bgpsieve restarts the session after `restart_after`.
    for p in EXCESS {
        neighbor.cli_ok(&format!("global rib del {p} -a ipv4"));
    }
    wait_for(T, || neighbor.established("127.0.0.53"), logs);
    let waited = torn_down.elapsed();
    assert!(
        waited >= RESTART_AFTER - Duration::from_millis(500),
        "back after {waited:?}, restart_after is {RESTART_AFTER:?}\n{}",
        logs()
    );
    wait_for(T, || router.prefixes_from("127.0.1.54") == STEADY, logs);
    drop(sieve);
}

/// Without `restart_after` a teardown holds the session down until `bgpsieve ctl clear`; bgpsieve
/// at 127.0.0.150, the BIRD neighbor at .151 and the router at .152 (ports 12250–12260).
#[test]
fn a_teardown_without_restart_after_stays_down_until_ctl_clear() {
    if !available("bird") || !available("birdc") {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let moved = |s: &str| {
        s.replace("127.0.0.50", "127.0.0.150")
            .replace("127.0.0.51", "127.0.0.151")
            .replace("127.0.1.51", "127.0.1.151")
            .replace("127.0.0.52", "127.0.0.152")
            .replace("port 12200", "port 12250")
            .replace("port 12201", "port 12251")
            .replace("port 12202", "port 12252")
    };
    let neighbor = Bird::start(dir.path(), "neighbor", &moved(BIRD_NEIGHBOR));
    let router = Bird::start(dir.path(), "router", &moved(BIRD_ROUTER));
    let cfg = config(150, 12250, "held-bird", 20002).replace(
        &format!(", restart_after = \"{}s\"", RESTART_AFTER.as_secs()),
        "",
    );
    assert!(!cfg.contains("restart_after"));
    let sieve = bgpsieve_daemon(dir.path(), &cfg);
    let api = "http://127.0.0.150:12260";
    let logs = || {
        format!(
            "bgpsieve:\n{}\nneighbor:\n{}",
            sieve.log_text(),
            neighbor.cli("show protocols all up")
        )
    };
    let clear = |name: &str| common::interop::ctl(api, &["clear", name]);
    wait_for(T, || router.prefixes_from("sieve") == STEADY, logs);
    let (code, _, err) = clear("held-bird");
    assert_eq!(
        (code, err.as_str()),
        (1, "error: held-bird is not held down by a limit\n"),
        "a session that is up has nothing to clear"
    );

    neighbor.cli("enable excess");
    wait_for(T, || router.prefixes_from("sieve").is_empty(), logs);
    neighbor.cli("disable excess");
    // Down, and it stays down: the API says why.
    wait_for(
        T,
        || {
            common::interop::ctl(api, &["peer", "held-bird", "-j"])
                .1
                .contains("\"stopped\"")
        },
        || common::interop::ctl(api, &["peer", "held-bird", "-j"]).1,
    );
    std::thread::sleep(RESTART_AFTER + Duration::from_secs(2));
    assert!(
        !neighbor.established("up"),
        "restarted without a clear\n{}",
        logs()
    );

    // The operator clears it: the session comes back with the neighbor's (now fixed) table.
    let (code, out, err) = clear("held-bird");
    assert_eq!(
        (code, out.as_str()),
        (0, "held-bird: limit cleared, the session starts again\n"),
        "{err}"
    );
    wait_for(T, || neighbor.established("up"), logs);
    wait_for(T, || router.prefixes_from("sieve") == STEADY, logs);
    let (code, _, err) = clear("nobody");
    assert_eq!(
        (code, err.as_str()),
        (1, "error: no peer named \"nobody\"\n")
    );
    drop(sieve);
}
