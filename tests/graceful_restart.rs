//! Graceful restart (RFC 4724) through a pair, with real daemons on loopback (127.0.3.1–127.0.3.31,
//! ports 12300–12330), every process stopped by PID. The router's table of the neighbor's
//! routes and the neighbor's table of the router's are sampled every 100 ms:
//! - bgpsieve stopped for a restart (SIGTERM) and crashed (SIGKILL): no route leaves either
//!   table, but for the one the neighbor withdrew meanwhile, which goes once the neighbor's
//!   End-of-RIB has passed; with BIRD 2 and with FRR as the router;
//! - the neighbor crashing and coming back: bgpsieve keeps its routes at the router (the
//!   router's session stays up) until its End-of-RIB, then removes the one it no longer sends;
//!   the router crashing and coming back: the same toward the neighbor.

mod common;

use common::frr::{frr_neighbor, Frr};
use common::interop::{available, bgpsieve_daemon, wait_for, Bird, Proc};
use std::path::Path;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

const T: Duration = Duration::from_secs(60);
/// Routes the neighbor sends, and the router.
const NEIGHBOR_ROUTES: usize = 2000;
const ROUTER_ROUTES: usize = 20;

/// The neighbor, AS20002 (a customer), passive at `ip`:`port`, restarting gracefully itself
/// (`graceful restart on`): 2000 routes, and `gone` (5.5.5.0/24), withdrawn in the tests.
fn neighbor_conf(ip: &str, port: u16, sieve: &str, with_gone: bool) -> String {
    let mut routes = String::new();
    for i in 0..NEIGHBOR_ROUTES {
        routes.push_str(&format!(
            "  route 1.{}.{}.0/24 blackhole;\n",
            i / 256,
            i % 256
        ));
    }
    let gone = if with_gone {
        "protocol static gone { ipv4; route 5.5.5.0/24 blackhole; }"
    } else {
        ""
    };
    format!(
        r#"
router id {ip};
protocol device {{}}
protocol static lo {{ ipv4; route 127.0.0.0/8 via "lo"; }}
protocol static big {{
  ipv4;
{routes}}}
{gone}
protocol bgp sieve {{
  local {ip} port {port} as 20002;
  neighbor {sieve} as 20001;
  multihop;
  passive on;
  hold time 30;
  graceful restart on;
  ipv4 {{ import all; export where proto = "big" || proto = "gone"; next hop address 192.0.2.2; }};
}}
"#
    )
}

/// The router, AS20001, a BIRD 2 passive at `ip`:`port` for the pair's router side at
/// `toward`, with graceful restart on: 20 routes of its own.
fn bird_router_conf(ip: &str, port: u16, toward: &str) -> String {
    let routes: String = (0..ROUTER_ROUTES)
        .map(|k| format!("  route 20.0.{k}.0/24 blackhole;\n"))
        .collect();
    format!(
        r#"
router id {ip};
protocol device {{}}
protocol static lo {{ ipv4; route 127.0.0.0/8 via "lo"; route 192.0.2.0/24 via "lo"; }}
protocol static own {{
  ipv4;
{routes}}}
protocol bgp sieve {{
  local {ip} port {port} as 20001;
  neighbor {toward} as 20002;
  multihop;
  passive on;
  hold time 30;
  graceful restart on;
  ipv4 {{ import all; export where proto = "own"; gateway recursive; }};
}}
"#
    )
}

/// The router as FRR bgpd at `ip`:`port`, graceful restart on.
fn frr_router_conf(ip: &str, port: u16, toward: &str) -> String {
    let networks: String = (0..ROUTER_ROUTES)
        .map(|k| format!("  network 20.0.{k}.0/24\n"))
        .collect();
    let neighbor = frr_neighbor(toward, 0, 20002, ip)
        .lines()
        .filter(|l| !l.contains(" port "))
        .map(|l| format!("{l}\n"))
        .collect::<String>();
    format!(
        r#"frr defaults traditional
hostname router
! listen {ip} {port}
router bgp 20001
 bgp router-id {ip}
 no bgp ebgp-requires-policy
 no bgp network import-check
 bgp graceful-restart
{neighbor} neighbor {toward} passive
 address-family ipv4 unicast
{networks} exit-address-family
"#
    )
}

/// bgpsieve at `ip(1)` toward the neighbor at `ip(2)` and at `ip(11)` toward the router at
/// `ip(3)`.
fn sieve_conf(
    ip: impl Fn(u8) -> String,
    port: u16,
    neighbor_port: u16,
    router_port: u16,
) -> String {
    let (me, neighbor, router, toward) = (ip(1), ip(2), ip(3), ip(11));
    format!(
        r#"
[global]
asn = 20001
router_id = "{me}"
listen = ["{me}:{port}", "{toward}:{port}"]
announce = ["20.0.0.0/16-24"]

[api]
listen = "{me}:{api}"

[graceful_restart]
restart_time = "60s"
stale_time = "60s"

[[peer]]
name = "customer"
role = "customer"
asn = 20002
address = "{neighbor}"
local_address = "{me}"
port = {neighbor_port}
idle_hold = "1s"
connect_retry = "1s"
next_hop = "192.0.2.3"
prefix_length_v4 = [8, 24]
router = {{ address = "{router}", local_address = "{toward}", port = {router_port} }}
"#,
        api = port + 10
    )
}

/// What a table held over a run: the fewest routes seen, and how many samples.
#[derive(Debug, Default, Clone, Copy)]
struct Seen {
    min: Option<usize>,
    samples: usize,
}

/// Samples `count` every 100 ms on a thread until the returned guard is finished.
struct Sampler {
    stop: Arc<AtomicBool>,
    seen: Arc<Mutex<Seen>>,
    thread: Option<std::thread::JoinHandle<()>>,
}

impl Sampler {
    fn start(count: impl Fn() -> Option<usize> + Send + 'static) -> Sampler {
        let stop = Arc::new(AtomicBool::new(false));
        let seen = Arc::new(Mutex::new(Seen::default()));
        let (s, v) = (stop.clone(), seen.clone());
        let thread = std::thread::spawn(move || {
            while !s.load(Ordering::Relaxed) {
                if let Some(n) = count() {
                    let mut v = v.lock().unwrap();
                    v.min = Some(v.min.map_or(n, |m| m.min(n)));
                    v.samples += 1;
                }
                std::thread::sleep(Duration::from_millis(100));
            }
        });
        Sampler {
            stop,
            seen,
            thread: Some(thread),
        }
    }

    fn finish(mut self) -> Seen {
        self.stop.store(true, Ordering::Relaxed);
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
        *self.seen.lock().unwrap()
    }
}

/// `show route count protocol P`: "N of M routes for K networks in table master4".
fn bird_count(socket: &Path, protocol: &str) -> Option<usize> {
    let out = std::process::Command::new("birdc")
        .arg("-s")
        .arg(socket)
        .args(["show", "route", "count", "protocol", protocol])
        .output()
        .ok()?;
    let text = String::from_utf8_lossy(&out.stdout);
    text.lines()
        .find(|l| l.contains(" of ") && l.contains("routes"))
        .and_then(|l| l.split_whitespace().next())
        .and_then(|n| n.parse().ok())
}

/// Prefixes FRR received from `neighbor` (stale ones included).
fn frr_count(vty: &Path, neighbor: &str) -> Option<usize> {
    let out = std::process::Command::new("vtysh")
        .arg("--vty_socket")
        .arg(vty)
        .args(["-d", "bgpd", "-c", "show bgp ipv4 unicast summary json"])
        .output()
        .ok()?;
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).ok()?;
    let peers = if v["peers"].is_object() {
        &v["peers"]
    } else {
        &v["ipv4Unicast"]["peers"]
    };
    peers[neighbor]["pfxRcd"].as_u64().map(|n| n as usize)
}

fn kill(p: &mut Proc) {
    let _ = std::process::Command::new("kill")
        .args(["-KILL", &p.pid().to_string()])
        .status();
    let _ = p.child.wait();
}

/// One stop of bgpsieve (`crash`: SIGKILL, else SIGTERM) with the neighbor withdrawing `gone`
/// meanwhile, and its start again; the router's and the neighbor's tables are sampled all
/// along. Returns the new bgpsieve and what the tables held.
fn restart_bgpsieve(
    dir: &Path,
    config: &str,
    mut sieve: Proc,
    crash: bool,
    router_count: impl Fn() -> Option<usize> + Send + Clone + 'static,
    neighbor: &Bird,
) -> (Proc, Seen, Seen) {
    let at_router = Sampler::start(router_count.clone());
    let neighbor_socket = neighbor.socket.clone();
    let at_neighbor = Sampler::start(move || bird_count(&neighbor_socket, "sieve"));
    std::thread::sleep(Duration::from_millis(500));
    if crash {
        kill(&mut sieve);
    } else {
        assert!(sieve.terminate(), "bgpsieve did not stop on SIGTERM");
    }
    let log = sieve.log_text();
    drop(sieve);
    // Meanwhile the neighbor withdraws one route.
    neighbor.cli("disable gone");
    std::thread::sleep(Duration::from_secs(1));
    let sieve = bgpsieve_daemon(dir, config);
    let diag = || format!("before:\n{log}\nafter:\n{}", sieve.log_text());
    wait_for(
        T,
        || router_count() == Some(NEIGHBOR_ROUTES),
        || format!("the withdrawn route did not leave the router\n{}", diag()),
    );
    let socket = neighbor.socket.clone();
    wait_for(
        T,
        || bird_count(&socket, "sieve") == Some(ROUTER_ROUTES),
        diag,
    );
    std::thread::sleep(Duration::from_millis(500));
    let (r, n) = (at_router.finish(), at_neighbor.finish());
    // Back as before for the next round.
    neighbor.cli("enable gone");
    wait_for(
        T,
        || router_count() == Some(NEIGHBOR_ROUTES + 1),
        || sieve.log_text(),
    );
    (sieve, r, n)
}

fn check(seen: Seen, want: usize, what: &str) {
    assert!(seen.samples >= 10, "{what}: only {} samples", seen.samples);
    assert!(
        seen.min.is_some_and(|m| m >= want),
        "{what}: routes were removed during bgpsieve's restart: {seen:?}, want at least {want}"
    );
}

#[test]
fn bgpsieve_restarting_removes_no_route_from_a_bird_router_or_the_neighbor() {
    if !available("bird") || !available("birdc") {
        return;
    }
    let ip = |k: u8| format!("127.0.3.{k}");
    let dir = tempfile::tempdir().unwrap();
    let neighbor = Bird::start(
        dir.path(),
        "neighbor",
        &neighbor_conf(&ip(2), 12302, &ip(1), true),
    );
    let router = Bird::start(
        dir.path(),
        "router",
        &bird_router_conf(&ip(3), 12303, &ip(11)),
    );
    let config = sieve_conf(ip, 12300, 12302, 12303);
    let mut sieve = bgpsieve_daemon(dir.path(), &config);
    let socket = router.socket.clone();
    let router_count = move || bird_count(&socket, "sieve");
    wait_for(
        T,
        || {
            router_count() == Some(NEIGHBOR_ROUTES + 1)
                && bird_count(&neighbor.socket, "sieve") == Some(ROUTER_ROUTES)
        },
        || {
            format!(
                "{}\n{}",
                sieve.log_text(),
                router.cli("show protocols all sieve")
            )
        },
    );
    let caps = router.cli("show protocols all sieve");
    assert!(caps.contains("Graceful restart"), "{caps}");

    for crash in [false, true] {
        let what = if crash { "SIGKILL" } else { "SIGTERM" };
        let (s, at_router, at_neighbor) = restart_bgpsieve(
            dir.path(),
            &config,
            sieve,
            crash,
            router_count.clone(),
            &neighbor,
        );
        sieve = s;
        check(at_router, NEIGHBOR_ROUTES, &format!("router, {what}"));
        check(at_neighbor, ROUTER_ROUTES, &format!("neighbor, {what}"));
    }

    // The neighbor crashes and comes back without `gone`: its routes stay at the router, whose
    // session with bgpsieve stays up, until its End-of-RIB has passed.
    let since = router.since("sieve");
    let at_router = Sampler::start(router_count.clone());
    std::thread::sleep(Duration::from_millis(500));
    let mut n = neighbor;
    kill(&mut n.proc);
    std::thread::sleep(Duration::from_secs(2));
    let conf = neighbor_conf(&ip(2), 12302, &ip(1), false);
    // `-R`: BIRD comes back in graceful restart recovery, saying R and F (RFC 4724).
    let neighbor = Bird::start_with(dir.path(), "neighbor2", &conf, &["-R"]);
    wait_for(
        T,
        || router_count() == Some(NEIGHBOR_ROUTES),
        || sieve.log_text(),
    );
    let seen = at_router.finish();
    check(seen, NEIGHBOR_ROUTES, "router, neighbor restarting");
    assert_eq!(
        router.since("sieve"),
        since,
        "the router's session stayed up"
    );
    assert!(neighbor.established("sieve"));

    // The router crashes and comes back (in recovery, `-R`) without one of its routes: the
    // neighbor keeps the router's routes, its session with bgpsieve stays up, and the route the
    // router no longer has goes after the router's End-of-RIB.
    let neighbor_since = neighbor.since("sieve");
    let socket = neighbor.socket.clone();
    let at_neighbor = Sampler::start(move || bird_count(&socket, "sieve"));
    std::thread::sleep(Duration::from_millis(500));
    let mut r = router;
    kill(&mut r.proc);
    std::thread::sleep(Duration::from_secs(2));
    let fewer =
        bird_router_conf(&ip(3), 12303, &ip(11)).replace("  route 20.0.19.0/24 blackhole;\n", "");
    let router = Bird::start_with(dir.path(), "router2", &fewer, &["-R"]);
    wait_for(
        T,
        || {
            router.established("sieve")
                && bird_count(&neighbor.socket, "sieve") == Some(ROUTER_ROUTES - 1)
                && bird_count(&router.socket, "sieve") == Some(NEIGHBOR_ROUTES)
        },
        || sieve.log_text(),
    );
    let seen = at_neighbor.finish();
    check(seen, ROUTER_ROUTES - 1, "neighbor, router restarting");
    assert_eq!(
        neighbor.since("sieve"),
        neighbor_since,
        "the neighbor's session stayed up"
    );
}

#[test]
fn bgpsieve_restarting_removes_no_route_from_an_frr_router() {
    if !available("bird") || !available("birdc") || !Frr::available() {
        return;
    }
    // Addresses 127.0.3.21 (bgpsieve), .22 (neighbor), .23 (router), .31 (toward the router).
    let ip = |k: u8| format!("127.0.3.{}", 20 + k);
    let dir = tempfile::tempdir().unwrap();
    let neighbor = Bird::start(
        dir.path(),
        "neighbor",
        &neighbor_conf(&ip(2), 12322, &ip(1), true),
    );
    let router = Frr::start(
        dir.path(),
        "router",
        &frr_router_conf(&ip(3), 12323, &ip(11)),
    );
    let config = sieve_conf(ip, 12320, 12322, 12323);
    let mut sieve = bgpsieve_daemon(dir.path(), &config);
    let (vty, toward) = (router.vty.clone(), ip(11));
    let router_count = move || frr_count(&vty, &toward);
    wait_for(
        T,
        || {
            router_count() == Some(NEIGHBOR_ROUTES + 1)
                && bird_count(&neighbor.socket, "sieve") == Some(ROUTER_ROUTES)
        },
        || {
            format!(
                "router has {:?}, the neighbor {:?}\n{}\n{}",
                router_count(),
                bird_count(&neighbor.socket, "sieve"),
                sieve.log_text(),
                router.cli("show bgp ipv4 unicast summary")
            )
        },
    );
    for crash in [false, true] {
        let what = if crash { "SIGKILL" } else { "SIGTERM" };
        let (s, at_router, at_neighbor) = restart_bgpsieve(
            dir.path(),
            &config,
            sieve,
            crash,
            router_count.clone(),
            &neighbor,
        );
        sieve = s;
        check(at_router, NEIGHBOR_ROUTES, &format!("FRR router, {what}"));
        check(at_neighbor, ROUTER_ROUTES, &format!("neighbor, {what}"));
    }
    drop(sieve);
}
