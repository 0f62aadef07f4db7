//! Real daemons for interop tests: start BIRD, GoBGP, OpenBGPD (and bgpsieve itself) as child
//! processes on loopback addresses, talk to them through their CLIs, and stop every one of them
//! by PID when the test ends (also when it fails). A missing binary skips the test, or fails it
//! when `BGPSIEVE_REQUIRE_INTEROP=1` (CI sets it).
#![allow(dead_code)]

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

/// Owned strings, to compare with a BIRD table.
pub fn strings(v: &[&str]) -> Vec<String> {
    v.iter().map(|s| s.to_string()).collect()
}

/// Whether `bin` can be run; panics if it cannot and interop is required.
pub fn available(bin: &str) -> bool {
    let found = Command::new("sh")
        .args(["-c", &format!("command -v {bin}")])
        .stdout(Stdio::null())
        .status()
        .is_ok_and(|s| s.success());
    if !found {
        if std::env::var("BGPSIEVE_REQUIRE_INTEROP").as_deref() == Ok("1") {
            panic!("{bin} is required (BGPSIEVE_REQUIRE_INTEROP=1) but not installed");
        }
        eprintln!("SKIP: {bin} not installed");
    }
    found
}

/// A child process stopped by PID on drop: SIGTERM, then SIGKILL if it lingers.
pub struct Proc {
    pub name: String,
    pub child: Child,
    pub log: PathBuf,
}

impl Proc {
    pub fn spawn(name: &str, mut cmd: Command, dir: &Path) -> Proc {
        let log = dir.join(format!("{name}.log"));
        let out = std::fs::File::create(&log).unwrap();
        let err = out.try_clone().unwrap();
        let child = cmd
            .stdout(Stdio::from(out))
            .stderr(Stdio::from(err))
            .spawn()
            .unwrap_or_else(|e| panic!("start {name}: {e}"));
        Proc {
            name: name.to_string(),
            child,
            log,
        }
    }

    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    pub fn log_text(&self) -> String {
        std::fs::read_to_string(&self.log).unwrap_or_default()
    }

    /// SIGTERM and wait (up to 5 s); returns whether it exited by itself.
    pub fn terminate(&mut self) -> bool {
        let _ = Command::new("kill")
            .args(["-TERM", &self.pid().to_string()])
            .status();
        let deadline = Instant::now() + Duration::from_secs(5);
        while Instant::now() < deadline {
            if let Ok(Some(_)) = self.child.try_wait() {
                return true;
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        let _ = self.child.kill();
        let _ = self.child.wait();
        false
    }
}

impl Drop for Proc {
    fn drop(&mut self) {
        if let Ok(None) = self.child.try_wait() {
            self.terminate();
        }
    }
}

/// A BIRD 2 instance in the foreground with its own control socket.
pub struct Bird {
    pub proc: Proc,
    pub socket: PathBuf,
}

impl Bird {
    pub fn start(dir: &Path, name: &str, config: &str) -> Bird {
        Bird::start_with(dir, name, config, &[])
    }

    /// As [`Bird::start`], with more command line arguments (`-R`: graceful restart recovery).
    pub fn start_with(dir: &Path, name: &str, config: &str, args: &[&str]) -> Bird {
        let conf = dir.join(format!("{name}.conf"));
        std::fs::write(&conf, config).unwrap();
        let socket = dir.join(format!("{name}.ctl"));
        let mut cmd = Command::new("bird");
        cmd.arg("-f")
            .arg("-c")
            .arg(&conf)
            .arg("-s")
            .arg(&socket)
            .args(args);
        let proc = Proc::spawn(name, cmd, dir);
        let mut b = Bird { proc, socket };
        let deadline = Instant::now() + Duration::from_secs(10);
        while !b.cli("show status").contains("Daemon is up") {
            if !matches!(b.proc.child.try_wait(), Ok(None)) || Instant::now() > deadline {
                panic!("{name} did not start: {}", b.proc.log_text());
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        b
    }

    pub fn cli(&self, cmd: &str) -> String {
        let out = Command::new("birdc")
            .arg("-s")
            .arg(&self.socket)
            .args(cmd.split_whitespace())
            .output()
            .unwrap();
        String::from_utf8_lossy(&out.stdout).into_owned()
    }

    /// The prefixes in BIRD's table learned from `protocol`.
    pub fn prefixes_from(&self, protocol: &str) -> Vec<String> {
        let out = self.cli(&format!("show route protocol {protocol}"));
        let mut v: Vec<String> = out
            .lines()
            .filter_map(|l| l.split_whitespace().next())
            .filter(|w| w.contains('/') && w.chars().next().is_some_and(|c| c.is_ascii_hexdigit()))
            .map(str::to_string)
            .collect();
        v.sort();
        v.dedup();
        v
    }

    /// The prefixes in BIRD's table learned from any of `protocols`, sorted.
    pub fn prefixes_from_all(&self, protocols: &[&str]) -> Vec<String> {
        let mut v: Vec<String> = protocols
            .iter()
            .flat_map(|p| self.prefixes_from(p))
            .collect();
        v.sort();
        v
    }

    /// When `protocol` last changed state (the Since column of `show protocols`): the same
    /// value before and after means its session was not reset in between.
    ///
    /// Read until two reads a second apart agree: BIRD stamps it again when a graceful restart
    /// it helps with ends, at the End-of-RIB that follows a session's routes by a few
    /// milliseconds (bgpsieve announces a restart on its first sessions).
    pub fn since(&self, protocol: &str) -> String {
        let read = || {
            self.cli(&format!("show protocols {protocol}"))
                .lines()
                .find(|l| l.starts_with(protocol))
                .and_then(|l| l.split_whitespace().nth(4).map(str::to_string))
                .unwrap_or_default()
        };
        let mut last = read();
        for _ in 0..5 {
            std::thread::sleep(Duration::from_secs(1));
            let now = read();
            if now == last {
                break;
            }
            last = now;
        }
        last
    }

    /// Whether `protocol` is Established.
    pub fn established(&self, protocol: &str) -> bool {
        self.cli(&format!("show protocols {protocol}"))
            .lines()
            .any(|l| l.starts_with(protocol) && l.contains("Established"))
    }
}

/// A GoBGP instance (`gobgpd` in the foreground) with its own config; its gRPC API listens on a
/// Unix socket in `dir` (no TCP port, no pprof listener), driven through the `gobgp` CLI.
/// GoBGP has no static routes in its config: announce with `cli_ok("global rib add ...")`.
pub struct GoBgp {
    pub proc: Proc,
    pub socket: PathBuf,
}

impl GoBgp {
    pub fn start(dir: &Path, name: &str, config: &str) -> GoBgp {
        let conf = dir.join(format!("{name}.toml"));
        std::fs::write(&conf, config).unwrap();
        let socket = dir.join(format!("{name}.sock"));
        let mut cmd = Command::new("gobgpd");
        cmd.arg("-f")
            .arg(&conf)
            .args(["-t", "toml", "--log-plain", "--pprof-disable"])
            .arg(format!("--api-hosts=unix://{}", socket.display()));
        let proc = Proc::spawn(name, cmd, dir);
        let mut g = GoBgp { proc, socket };
        let deadline = Instant::now() + Duration::from_secs(10);
        // Until its socket exists, the CLI would wait out gRPC's reconnect backoff (~1 s).
        while !(g.socket.exists() && g.cli("global").contains("Router-ID")) {
            if !matches!(g.proc.child.try_wait(), Ok(None)) || Instant::now() > deadline {
                panic!("{name} did not start: {}", g.proc.log_text());
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        g
    }

    fn command(&self, cmd: &str) -> std::process::Output {
        Command::new("gobgp")
            .arg(format!("--target=unix://{}", self.socket.display()))
            .args(cmd.split_whitespace())
            .output()
            .unwrap()
    }

    /// `gobgp CMD` (split on whitespace, no shell: `aspath 20003,{20004,20005}` needs no
    /// quoting); stdout, then stderr.
    pub fn cli(&self, cmd: &str) -> String {
        let out = self.command(cmd);
        let mut s = String::from_utf8_lossy(&out.stdout).into_owned();
        s.push_str(&String::from_utf8_lossy(&out.stderr));
        s
    }

    /// `gobgp CMD`, which must succeed (for changes such as `global rib add ...`).
    pub fn cli_ok(&self, cmd: &str) -> String {
        let out = self.command(cmd);
        assert!(
            out.status.success(),
            "gobgp {cmd}: {}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
        String::from_utf8_lossy(&out.stdout).into_owned()
    }

    /// GoBGP's IPv4 Adj-RIB-In from `neighbor` (an address), as `gobgp -j neighbor X adj-in`
    /// gives it: prefix → paths, each with `attrs` (`{"type": 2, "as_paths": [{"segment_type":
    /// 2, "asns": [..]}]}`, `{"type": 3, "nexthop": ".."}`, …). Null if the CLI fails, or
    /// answers `{"error": ...}` (e.g. the session is not established: nothing is held).
    pub fn adj_in(&self, neighbor: &str) -> serde_json::Value {
        let out = self.command(&format!("-j neighbor {neighbor} adj-in -a ipv4"));
        match serde_json::from_slice(&out.stdout) {
            Ok(v @ serde_json::Value::Object(_)) if v.get("error").is_none() => v,
            _ => serde_json::Value::Null,
        }
    }

    /// The IPv4 prefixes in GoBGP's Adj-RIB-In from `neighbor` (an address), sorted.
    pub fn prefixes_from(&self, neighbor: &str) -> Vec<String> {
        let mut v: Vec<String> = match self.adj_in(neighbor) {
            serde_json::Value::Object(m) => m.keys().cloned().collect(),
            _ => Vec::new(),
        };
        v.sort();
        v
    }

    /// Whether the session with `neighbor` (an address) is Established.
    pub fn established(&self, neighbor: &str) -> bool {
        self.cli(&format!("neighbor {neighbor}"))
            .contains("BGP state = ESTABLISHED")
    }
}

/// An ExaBGP instance in the foreground with its own config, run from `dir` (no control FIFOs:
/// its routes come from the config's `static` sections). A neighbor's `connect PORT;` sets the
/// port it connects to.
pub struct ExaBgp {
    pub proc: Proc,
}

impl ExaBgp {
    pub fn start(dir: &Path, name: &str, config: &str) -> ExaBgp {
        let conf = dir.join(format!("{name}.conf"));
        std::fs::write(&conf, config).unwrap();
        let mut cmd = Command::new("exabgp");
        cmd.arg(&conf)
            .current_dir(dir)
            .env("exabgp.daemon.daemonize", "false")
            .env("exabgp.log.destination", "stdout")
            .env("exabgp.api.cli", "false");
        let proc = Proc::spawn(name, cmd, dir);
        wait_for(
            Duration::from_secs(10),
            || {
                proc.log_text()
                    .contains("loaded new configuration successfully")
            },
            || format!("{name} did not start: {}", proc.log_text()),
        );
        ExaBgp { proc }
    }
}

/// The directory OpenBGPD chroots its session engine into (systemd creates it on a host).
const OPENBGPD_CHROOT: &str = "/run/openbgpd";

/// An OpenBGPD instance (`bgpd -d`, foreground) with its own config and control socket in
/// `dir`, driven through `bgpctl`. Needs root: bgpd chroots into /run/openbgpd and drops to its
/// own user. `config` should say `fib-update no` (the kernel's table is not the test's to touch)
/// and `listen on ADDR port PORT`; the helper adds the `socket` line.
pub struct OpenBgpd {
    pub proc: Proc,
    pub socket: PathBuf,
}

impl OpenBgpd {
    /// Whether bgpd and bgpctl can be run and we are root (bgpd needs it); like [`available`],
    /// panics if not and interop is required.
    pub fn available() -> bool {
        if !available("bgpd") || !available("bgpctl") {
            return false;
        }
        let uid = Command::new("id").arg("-u").output();
        let root = uid.is_ok_and(|o| String::from_utf8_lossy(&o.stdout).trim() == "0");
        if !root {
            if std::env::var("BGPSIEVE_REQUIRE_INTEROP").as_deref() == Ok("1") {
                panic!("bgpd needs root (BGPSIEVE_REQUIRE_INTEROP=1)");
            }
            eprintln!("SKIP: bgpd needs root");
        }
        root
    }

    pub fn start(dir: &Path, name: &str, config: &str) -> OpenBgpd {
        std::fs::create_dir_all(OPENBGPD_CHROOT).unwrap();
        let conf = dir.join(format!("{name}.conf"));
        let socket = dir.join(format!("{name}.sock"));
        std::fs::write(&conf, format!("socket \"{}\"\n{config}", socket.display())).unwrap();
        // bgpd refuses a config file others can read (it may hold MD5 keys).
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(&conf, std::fs::Permissions::from_mode(0o600)).unwrap();
        let mut cmd = Command::new("bgpd");
        cmd.arg("-d").arg("-v").arg("-f").arg(&conf);
        let proc = Proc::spawn(name, cmd, dir);
        let mut b = OpenBgpd { proc, socket };
        let deadline = Instant::now() + Duration::from_secs(10);
        while !b.cli("show summary").contains("Neighbor") {
            if !matches!(b.proc.child.try_wait(), Ok(None)) || Instant::now() > deadline {
                panic!("{name} did not start: {}", b.proc.log_text());
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        b
    }

    fn command(&self, cmd: &str) -> std::process::Output {
        Command::new("bgpctl")
            .arg("-s")
            .arg(&self.socket)
            .args(cmd.split_whitespace())
            .output()
            .unwrap()
    }

    /// `bgpctl CMD`; stdout, then stderr.
    pub fn cli(&self, cmd: &str) -> String {
        let out = self.command(cmd);
        let mut s = String::from_utf8_lossy(&out.stdout).into_owned();
        s.push_str(&String::from_utf8_lossy(&out.stderr));
        s
    }

    /// `bgpctl CMD`, which must succeed (for changes such as `network add ...`).
    pub fn cli_ok(&self, cmd: &str) -> String {
        let out = self.command(cmd);
        assert!(
            out.status.success(),
            "bgpctl {cmd}: {}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
        String::from_utf8_lossy(&out.stdout).into_owned()
    }

    /// The routes in OpenBGPD's Adj-RIB-In from `neighbor` (an address), as
    /// `bgpctl -j show rib in` gives them (`prefix`, `aspath`, `exit_nexthop`, communities…).
    pub fn routes_from(&self, neighbor: &str) -> Vec<serde_json::Value> {
        let out = self.command(&format!("-j show rib in neighbor {neighbor}"));
        let json: serde_json::Value =
            serde_json::from_slice(&out.stdout).unwrap_or(serde_json::Value::Null);
        json["rib"].as_array().cloned().unwrap_or_default()
    }

    /// The IPv4 and IPv6 prefixes in OpenBGPD's Adj-RIB-In from `neighbor`, sorted.
    pub fn prefixes_from(&self, neighbor: &str) -> Vec<String> {
        let mut v: Vec<String> = self
            .routes_from(neighbor)
            .iter()
            .filter_map(|r| r["prefix"].as_str().map(str::to_string))
            .collect();
        v.sort();
        v.dedup();
        v
    }

    /// Whether the session with `neighbor` (an address) is Established.
    pub fn established(&self, neighbor: &str) -> bool {
        self.cli(&format!("show neighbor {neighbor}"))
            .contains("BGP state = Established")
    }
}

/// Polls `cond` every 50 ms until it holds or `timeout` passes (then panics with `msg()`).
pub fn wait_for(timeout: Duration, mut cond: impl FnMut() -> bool, msg: impl Fn() -> String) {
    let deadline = Instant::now() + timeout;
    while Instant::now() < deadline {
        if cond() {
            return;
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    panic!("timed out: {}", msg());
}

/// The API address of a daemon config: its `[api] listen`, else port 9179 on its router id
/// (each test's daemon has a loopback address of its own), which [`bgpsieve_daemon`] adds.
pub fn api_address(config: &str) -> String {
    let value = |key: &str| {
        config
            .lines()
            .find_map(|l| l.trim().strip_prefix(key))
            .map(|v| {
                v.trim_start_matches([' ', '='])
                    .trim()
                    .trim_matches('"')
                    .to_string()
            })
    };
    if config.contains("[api]") {
        return value("listen").unwrap_or_default();
    }
    format!(
        "{}:9179",
        value("router_id").unwrap_or_else(|| "127.0.0.1".into())
    )
}

/// bgpsieve's daemon as a child process. A config without `[api]` gets one on its router id
/// (see [`api_address`]), so daemons of tests running side by side do not share a port; one
/// without `state_dir` gets `DIR/state`, so none writes to /var/lib/bgpsieve.
pub fn bgpsieve_daemon(dir: &Path, config: &str) -> Proc {
    let conf = dir.join("bgpsieve.toml");
    let config = if config.contains("[api]") {
        config.to_string()
    } else {
        format!("{config}\n[api]\nlisten = \"{}\"\n", api_address(config))
    };
    let config = if config.contains("state_dir") {
        config
    } else {
        let state = format!(
            "[global]\nstate_dir = {:?}\n",
            dir.join("state").display().to_string()
        );
        config.replacen("[global]\n", &state, 1)
    };
    std::fs::write(&conf, config).unwrap();
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_bgpsieve"));
    cmd.arg("run")
        .arg("--config")
        .arg(&conf)
        .env("BGPSIEVE_LOG", "debug");
    Proc::spawn("bgpsieve", cmd, dir)
}

/// Writes a VRP file (StayRTR/rpki-client JSON) of `(asn, prefix, max_length)` into `dir`.
pub fn write_vrps(dir: &Path, roas: &[(u32, &str, u8)]) -> PathBuf {
    let entries: Vec<String> = roas
        .iter()
        .map(|(asn, prefix, max)| {
            format!(r#"{{"asn": {asn}, "prefix": "{prefix}", "maxLength": {max}, "ta": "test"}}"#)
        })
        .collect();
    let f = dir.join("vrps.json");
    std::fs::write(&f, format!("{{\"roas\": [{}]}}\n", entries.join(",\n"))).unwrap();
    f
}

/// A GoBGP configuration of one passive IPv4 session: AS `asn` at `address:port`, waiting for
/// `neighbor` (AS `peer_as`) to connect.
pub fn gobgp_passive_config(
    asn: u32,
    address: &str,
    port: u16,
    neighbor: &str,
    peer_as: u32,
) -> String {
    format!(
        r#"
[global.config]
  as = {asn}
  router-id = "{address}"
  port = {port}
  local-address-list = ["{address}"]

[[neighbors]]
  [neighbors.config]
    neighbor-address = "{neighbor}"
    peer-as = {peer_as}
  [neighbors.timers.config]
    hold-time = 30
  [neighbors.transport.config]
    passive-mode = true
    local-address = "{address}"
  [[neighbors.afi-safis]]
    [neighbors.afi-safis.config]
      afi-safi-name = "ipv4-unicast"
"#
    )
}

/// A StayRTR cache serving the JSON file `json` at `address` (`IP:PORT`), started: the file is
/// read again every second and clients are notified of a change; RTR timers refresh 1 / retry
/// 1 / expire 600; no metrics listener; `extra` flags after those.
pub fn stayrtr(dir: &Path, name: &str, address: &str, json: &Path, extra: &[&str]) -> Proc {
    let mut cmd = Command::new("stayrtr");
    cmd.arg("-bind")
        .arg(address)
        .arg("-cache")
        .arg(json)
        .args(["-checktime=false", "-refresh", "1", "-metrics.addr", ""])
        .args(["-rtr.refresh", "1", "-rtr.retry", "1", "-rtr.expire", "600"])
        .args(extra);
    let p = Proc::spawn(name, cmd, dir);
    wait_for(
        Duration::from_secs(10),
        || p.log_text().contains("StayRTR Server started"),
        || format!("{name} did not start: {}", p.log_text()),
    );
    p
}

/// `bgpsieve ctl --api URL ARGS…`: (exit code, stdout, stderr).
pub fn ctl(api: &str, args: &[&str]) -> (i32, String, String) {
    let out = Command::new(env!("CARGO_BIN_EXE_bgpsieve"))
        .arg("ctl")
        .arg("--api")
        .arg(api)
        .args(args)
        .output()
        .unwrap();
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

/// The whole answer (head and body) to `GET http://ADDRESS/PATH`, plain HTTP/1.1 over std.
fn http_answer(address: &str, path: &str, timeout: Duration) -> std::io::Result<String> {
    use std::io::{Read, Write};
    let mut s = std::net::TcpStream::connect(address)?;
    s.set_read_timeout(Some(timeout))?;
    write!(
        s,
        "GET {path} HTTP/1.1\r\nHost: {address}\r\nConnection: close\r\n\r\n"
    )?;
    let mut answer = String::new();
    s.read_to_string(&mut answer)?;
    Ok(answer)
}

/// The status code of `GET http://ADDRESS/PATH`, or None while nothing listens.
pub fn http_status(address: &str, path: &str) -> Option<u16> {
    let answer = http_answer(address, path, Duration::from_secs(5)).ok()?;
    answer.get(9..12)?.parse().ok()
}

/// The body of `GET http://ADDRESS/PATH` (for scraping `/metrics`); the answer must be a 200.
pub fn http_get(address: &str, path: &str) -> String {
    let answer = http_answer(address, path, Duration::from_secs(10)).unwrap();
    let (head, body) = answer.split_once("\r\n\r\n").unwrap_or((&answer, ""));
    assert!(head.starts_with("HTTP/1.1 200"), "{head}");
    body.to_string()
}

/// A BIRD neighbor, AS20002 at `ip`:`port`, passive, announcing `routes` (blackholes) to
/// bgpsieve at `sieve`:`sieve_port` with next hop 192.0.2.41 (loopback next hops are martians).
pub fn bird_neighbor(
    dir: &Path,
    ip: &str,
    port: u16,
    sieve: &str,
    sieve_port: u16,
    routes: &[&str],
) -> Bird {
    let routes: Vec<String> = routes.iter().map(|r| r.to_string()).collect();
    bird_speaker(
        dir,
        "neighbor",
        (ip, port, 20002),
        (sieve, sieve_port),
        &[("announced", &routes)],
    )
}

/// A passive BIRD neighbor `name` at `ip`:`port` with AS `asn`, its BGP protocol `up`,
/// announcing to bgpsieve at `sieve`:`sieve_port` the routes (blackholes, next hop 192.0.2.41)
/// of one static protocol per `(protocol name, routes)`, which `birdc disable/enable` switch.
pub fn bird_speaker(
    dir: &Path,
    name: &str,
    (ip, port, asn): (&str, u16, u32),
    (sieve, sieve_port): (&str, u16),
    statics: &[(&str, &[String])],
) -> Bird {
    let statics: String = statics
        .iter()
        .map(|(proto, routes)| {
            let routes: String = routes
                .iter()
                .map(|r| format!("  route {r} blackhole;\n"))
                .collect();
            format!("protocol static {proto} {{\n  ipv4;\n{routes}}}\n")
        })
        .collect();
    let config = format!(
        r#"
log stderr all;
router id {ip};
protocol device {{}}
{statics}
protocol bgp up {{
  local {ip} port {port} as {asn};
  neighbor {sieve} port {sieve_port} as 20001;
  passive on;
  multihop;
  hold time 30;
  ipv4 {{ import none; export all; next hop address 192.0.2.41; }};
}}
"#
    );
    Bird::start(dir, name, &config)
}

/// A BIRD router, AS20001 at `ip`:`port`, passive, with one eBGP session per pair: protocol
/// `name` toward bgpsieve's own address for that neighbor (`sieve`), where bgpsieve speaks as
/// the neighbor's AS (`asn`). It imports everything and exports nothing: a sink that shows
/// what each neighbor's pair passed. Its own prefix 192.0.2.0/24 resolves the neighbors' next
/// hops.
pub fn bird_router(dir: &Path, ip: &str, port: u16, pairs: &[(&str, &str, u32)]) -> Bird {
    let protocols: String = pairs
        .iter()
        .map(|(name, sieve, asn)| {
            format!(
                r#"
protocol bgp {name} {{
  local {ip} port {port} as 20001;
  neighbor {sieve} as {asn};
  passive on;
  multihop;
  hold time 30;
  ipv4 {{ import all; export none; }};
}}
"#
            )
        })
        .collect();
    let config = format!(
        r#"
router id {ip};
protocol device {{}}
protocol static lo {{ ipv4; route 192.0.2.0/24 via "lo"; }}
{protocols}"#
    );
    Bird::start(dir, "router", &config)
}

/// bgpsieve's address toward the router for the neighbor at `127.0.0.X`: `127.0.1.X`, the
/// convention of these tests.
pub fn toward_router(neighbor: &str) -> String {
    neighbor.replacen("127.0.0.", "127.0.1.", 1)
}
