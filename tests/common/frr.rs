//! FRR (8.4) for interop tests: its `bgpd` run directly as a child process on a loopback
//! address, with its own config, PID file and vty socket in the test's directory, driven through
//! `vtysh --vty_socket DIR -d bgpd -c CMD` (JSON output), and stopped by PID (SIGTERM) when the
//! test ends, like the daemons of [`super::interop`]. Several instances run side by side; none
//! touches /etc/frr, /var/run/frr, the host's zebra or the kernel's routing table.
//!
//! The command line, checked against FRR 8.4.4 (Debian package `frr`):
//!
//! `/usr/lib/frr/bgpd -f DIR/NAME.conf -i DIR/NAME.pid --vty_socket DIR/NAME-vty -Z -S -P 0
//! -l ADDRESS -p PORT --log stdout --log-level debug`
//!
//! - no `-d`: bgpd stays in the foreground, a child that [`Proc`] stops by PID; no watchfrr, no
//!   init script, no systemd.
//! - `-i`, `--vty_socket`: its own PID file (bgpd locks it; the default is the host's
//!   /var/run/frr/bgpd.pid) and its own `bgpd.vty` socket, which `vtysh
//!   --vty_socket` of this instance only talks to. A Unix socket path must stay under 108 bytes.
//! - `-Z` (`--no_zebra`): no zebra at all. bgpd then sets `bgp no-rib`, considers every next hop
//!   reachable (`"accessible": true` in the JSON) and marks routes valid and best, so a
//!   third-party next hop such as 192.0.2.41 (not on any connected subnet) is accepted and
//!   re-advertised with no `disable-connected-check`, static route or `lo` address. (Without
//!   `-Z` and no zebra listening on `-z SOCKET` it behaves the same but keeps retrying zebra; a
//!   zebra would resolve next hops against the host's kernel table, read the host's interfaces
//!   and need its own socket, so none is run.) Each update logs a harmless
//!   `sendmsg_nexthop: zclient_send_message() failed`. Never configure
//!   `bgp suppress-fib-pending` under -Z: routes learned while it is set are never advertised
//!   (no FIB will ever acknowledge them), even after `no bgp suppress-fib-pending`.
//! - `-S` (`--skip_runas`): stay the calling user. Without it bgpd run by root drops to user
//!   `frr`, which cannot write the PID file in the test's directory, and `-u root -g root` is
//!   refused (root is not in group `frrvty`). With `-S` root is not needed at all (a non-root
//!   user runs it the same way: ports above 1023).
//! - `-P 0`: no TCP vty (the default listens on port 2605, which instances would share).
//! - `-l ADDRESS -p PORT`: BGP listens on that address and port only (`-l` also implies `-n`,
//!   no kernel routes). Outgoing connections do NOT use it: the config needs
//!   `neighbor X update-source ADDRESS` or bgpd connects from 127.0.0.1 (see
//!   [`frr_neighbor`]).
//! - `--log stdout --log-level debug`: the log goes to the [`Proc`] log file; `debug bgp ...`
//!   lines in the config then show. A `log ...` line in the config overrides these.
//!
//! bgpd still keeps a crash-log directory /var/tmp/frr/bgpd.PID (compiled in); it removes it
//! when it exits cleanly, and [`Frr`]'s drop removes it if it was killed.
//!
//! What a config needs (FRR 8.4 defaults): `no bgp ebgp-requires-policy` (RFC 8212 is on by
//! default: an eBGP session without in/out policy accepts and sends nothing and shows
//! `(Policy)`); `address-family ipv6 unicast` + `neighbor X activate` for IPv6 (not on by
//! default); `neighbor X timers connect 1` (else bgpd waits up to 120 s before reconnecting);
//! `bgp allow-martian-nexthop` to accept loopback (127/8) next hops: without it bgpd answers an
//! UPDATE with next hop 127.x with NOTIFICATION 3/8 (Invalid NEXT_HOP) and drops the session.
//! On eBGP bgpd sends itself (the update-source, a 127.x address) as next hop; a route-map out
//! with `set ip next-hop 192.0.2.41` sends a third-party one instead. A config line bgpd
//! rejects makes [`Frr::start`] panic (bgpd itself only logs `... on config line N`).
#![allow(dead_code)]

use super::interop::{available, Proc};
use serde_json::Value;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::time::{Duration, Instant};

/// Where distributions install bgpd (FRR's daemons are not on PATH; `bgpd` on PATH may be
/// OpenBGPD's).
const BGPD_PATHS: [&str; 2] = ["/usr/lib/frr/bgpd", "/usr/libexec/frr/bgpd"];

/// FRR's bgpd binary: the first of [`BGPD_PATHS`] that exists (else the Debian one).
pub fn bgpd_path() -> &'static str {
    BGPD_PATHS
        .iter()
        .copied()
        .find(|p| Path::new(p).exists())
        .unwrap_or(BGPD_PATHS[0])
}

/// The lines, under `router bgp`, of a neighbor at `address`:`port` with AS `asn`, reached from
/// `local` (the instance's own address): `remote-as`, `port`, `update-source` (else bgpd
/// connects from 127.0.0.1), `ebgp-multihop 2` (ignored by FRR for an iBGP neighbor), hold time
/// 30 s and a 1 s connect retry (FRR's default is 120 s).
pub fn frr_neighbor(address: &str, port: u16, asn: u32, local: &str) -> String {
    format!(
        " neighbor {address} remote-as {asn}\n \
         neighbor {address} port {port}\n \
         neighbor {address} update-source {local}\n \
         neighbor {address} ebgp-multihop 2\n \
         neighbor {address} timers 10 30\n \
         neighbor {address} timers connect 1\n"
    )
}

/// The listen address and port of a config: a comment line `! listen ADDRESS PORT`, else its
/// `bgp router-id` and port 179.
pub fn frr_listen(config: &str) -> (String, u16) {
    let directive = config.lines().find_map(|l| {
        let mut w = l.trim().strip_prefix('!')?.split_whitespace();
        (w.next()? == "listen").then_some(())?;
        Some((w.next()?.to_string(), w.next()?.parse().ok()?))
    });
    directive.unwrap_or_else(|| {
        let id = config
            .lines()
            .find_map(|l| l.trim().strip_prefix("bgp router-id"))
            .map(|v| v.trim().to_string())
            .unwrap_or_else(|| "127.0.0.1".into());
        (id, 179)
    })
}

/// An FRR bgpd instance (see the module doc for its command line), driven through vtysh.
pub struct Frr {
    pub proc: Proc,
    pub name: String,
    /// The directory of its `bgpd.vty` socket (`vtysh --vty_socket`).
    pub vty: PathBuf,
    pub address: String,
    pub port: u16,
}

impl Frr {
    /// Whether FRR's bgpd and vtysh can be run; like [`available`], panics if not and interop
    /// is required. Root is not needed.
    pub fn available() -> bool {
        available(bgpd_path()) && available("vtysh")
    }

    /// Starts bgpd `name` with `config` (frr.conf text), listening where [`frr_listen`] says
    /// (`! listen ADDRESS PORT`, else the router id, port 179). See [`Frr::start_on`].
    pub fn start(dir: &Path, name: &str, config: &str) -> Frr {
        let (address, port) = frr_listen(config);
        Frr::start_on(dir, name, &address, port, config)
    }

    /// Starts bgpd `name` with `config` (frr.conf text) listening on `address`:`port`, its
    /// files in `dir`; waits until vtysh answers (panics with the log after 10 s or if bgpd
    /// exits) and panics if bgpd rejected a config line.
    pub fn start_on(dir: &Path, name: &str, address: &str, port: u16, config: &str) -> Frr {
        let conf = dir.join(format!("{name}.conf"));
        std::fs::write(&conf, config).unwrap();
        let vty = dir.join(format!("{name}-vty"));
        std::fs::create_dir_all(&vty).unwrap();
        assert!(
            vty.join("bgpd.vty").as_os_str().len() < 108,
            "vty socket path too long for a Unix socket: {}",
            vty.display()
        );
        let mut cmd = Command::new(bgpd_path());
        cmd.arg("-f")
            .arg(&conf)
            .arg("-i")
            .arg(dir.join(format!("{name}.pid")))
            .arg("--vty_socket")
            .arg(&vty)
            .args(["-Z", "-S", "-P", "0", "-l", address])
            .arg("-p")
            .arg(port.to_string())
            .args(["--log", "stdout", "--log-level", "debug"]);
        let proc = Proc::spawn(name, cmd, dir);
        let mut f = Frr {
            proc,
            name: name.to_string(),
            vty,
            address: address.to_string(),
            port,
        };
        let deadline = Instant::now() + Duration::from_secs(10);
        while !f.vtysh(&["show bgp summary json"]).status.success() {
            if !matches!(f.proc.child.try_wait(), Ok(None)) || Instant::now() > deadline {
                panic!("{name} did not start: {}", f.proc.log_text());
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        // bgpd reads its config before it serves the vty; it logs each line it rejects.
        let log = f.proc.log_text();
        if log.contains("on config line") {
            panic!("{name} rejected part of its config:\n{log}");
        }
        f
    }

    /// `vtysh` of this instance (`-d bgpd`), one `-c` per command, in one session.
    fn vtysh(&self, cmds: &[&str]) -> Output {
        let mut c = Command::new("vtysh");
        c.arg("--vty_socket").arg(&self.vty).args(["-d", "bgpd"]);
        for cmd in cmds {
            c.arg("-c").arg(cmd);
        }
        c.output().unwrap()
    }

    /// `vtysh -c CMD`; stdout, then stderr.
    pub fn cli(&self, cmd: &str) -> String {
        let out = self.vtysh(&[cmd]);
        let mut s = String::from_utf8_lossy(&out.stdout).into_owned();
        s.push_str(&String::from_utf8_lossy(&out.stderr));
        s
    }

    /// `vtysh -c CMD`, which must succeed and print no `%` error (`clear bgp` of an unknown
    /// neighbor prints `% BGP: Unknown neighbor` yet exits 0); stdout.
    pub fn cli_ok(&self, cmd: &str) -> String {
        let out = self.vtysh(&[cmd]);
        let stdout = String::from_utf8_lossy(&out.stdout).into_owned();
        assert!(
            out.status.success() && !stdout.lines().any(|l| l.starts_with('%')),
            "vtysh -c '{cmd}': {stdout}{}",
            String::from_utf8_lossy(&out.stderr)
        );
        stdout
    }

    /// Applies config `lines` in one `configure terminal` session (one line per command, as in
    /// frr.conf: `router bgp 20001`, then ` neighbor ...`, `address-family ipv4 unicast`, …);
    /// panics on the first line vtysh rejects (it stops there). Route-map edits reach
    /// established sessions only after `bgp route-map delay-timer` (5 s) or a soft clear.
    pub fn configure(&self, lines: &str) {
        let mut cmds = vec!["configure terminal"];
        cmds.extend(lines.lines().map(str::trim).filter(|l| !l.is_empty()));
        let out = self.vtysh(&cmds);
        let stdout = String::from_utf8_lossy(&out.stdout);
        assert!(
            out.status.success() && !stdout.lines().any(|l| l.starts_with('%')),
            "{}: configure failed: {stdout}{}",
            self.name,
            String::from_utf8_lossy(&out.stderr)
        );
    }

    /// The JSON answer of `CMD json` (`json` is appended unless CMD has it); Null if vtysh fails
    /// or prints no JSON. One command per call: several would print concatenated documents.
    pub fn json(&self, cmd: &str) -> Value {
        let cmd = if cmd.split_whitespace().any(|w| w == "json") {
            cmd.to_string()
        } else {
            format!("{cmd} json")
        };
        let out = self.vtysh(&[&cmd]);
        serde_json::from_slice(&out.stdout).unwrap_or(Value::Null)
    }

    /// `show bgp neighbors NEIGHBOR json` for that neighbor (Null if unknown): `bgpState`,
    /// `connectionsEstablished`, `localRole`/`remoteRole`, `lastResetDueTo`,
    /// `lastNotificationReason`, `neighborCapabilities`, `addressFamilyInfo`, `messageStats`…
    pub fn neighbor(&self, neighbor: &str) -> Value {
        self.json(&format!("show bgp neighbors {neighbor}"))[neighbor].clone()
    }

    /// The FSM state of the session with `neighbor` (`Established`, `Active`, `Idle`, …; empty
    /// if unknown).
    pub fn state(&self, neighbor: &str) -> String {
        self.neighbor(neighbor)["bgpState"]
            .as_str()
            .unwrap_or_default()
            .to_string()
    }

    /// Whether the session with `neighbor` (an address) is Established.
    pub fn established(&self, neighbor: &str) -> bool {
        self.state(neighbor) == "Established"
    }

    /// How many times the session with `neighbor` came up: the same value before and after
    /// means it was not reset in between.
    pub fn connections(&self, neighbor: &str) -> u64 {
        self.neighbor(neighbor)["connectionsEstablished"]
            .as_u64()
            .unwrap_or(0)
    }

    /// Why the session with `neighbor` last went down: `lastResetDueTo`, then the
    /// NOTIFICATION's `lastNotificationReason` if any (e.g. `BGP Notification send: OPEN
    /// Message Error/Role Mismatch`).
    pub fn last_reset(&self, neighbor: &str) -> String {
        let n = self.neighbor(neighbor);
        let due = n["lastResetDueTo"].as_str().unwrap_or_default();
        match n["lastNotificationReason"].as_str() {
            Some(r) => format!("{due}: {r}"),
            None => due.to_string(),
        }
    }

    /// The capabilities of the session with `neighbor` (`neighborCapabilities`), each
    /// `"advertised"`, `"received"` or `"advertisedAndReceived"`: `4byteAs`,
    /// `extendedMessage`, `role`, `routeRefresh` (`…New`/`…OldNew`), `enhancedRouteRefresh`,
    /// `gracefulRestart`, `longLivedGracefulRestart`, `dynamic`; objects `multiprotocolExtensions`
    /// (`{"ipv4Unicast": {"advertisedAndReceived": true}}`), `addPath` (`{"ipv4Unicast":
    /// {"rxAdvertisedAndReceived": true}}`), `hostName` (`advHostName`, `rcvHostName`). Only
    /// the advertised ones show until the session is up.
    pub fn neighbor_caps(&self, neighbor: &str) -> Value {
        self.neighbor(neighbor)["neighborCapabilities"].clone()
    }

    /// The routes in FRR's table learned from `neighbor` (after its import policy), `afi`
    /// `ipv4` or `ipv6`: prefix → paths (`path`, `origin`, `metric`, `nexthops`, …).
    fn routes(&self, afi: &str, neighbor: &str) -> Value {
        self.json(&format!(
            "show bgp {afi} unicast neighbors {neighbor} routes"
        ))["routes"]
            .clone()
    }

    /// The IPv4 routes FRR accepted from `neighbor`, as [`Frr::routes`] gives them.
    pub fn routes_from(&self, neighbor: &str) -> Value {
        self.routes("ipv4", neighbor)
    }

    /// The IPv4 prefixes FRR accepted from `neighbor` (in its table, after import policy),
    /// sorted.
    pub fn prefixes_from(&self, neighbor: &str) -> Vec<String> {
        keys(&self.routes("ipv4", neighbor))
    }

    /// The IPv6 prefixes FRR accepted from `neighbor`, sorted (the neighbor needs `neighbor X
    /// activate` under `address-family ipv6 unicast`).
    pub fn prefixes6_from(&self, neighbor: &str) -> Vec<String> {
        keys(&self.routes("ipv6", neighbor))
    }

    /// The IPv4 prefixes `neighbor` sent, before import policy (its Adj-RIB-In), sorted; needs
    /// `neighbor X soft-reconfiguration inbound` (panics without it).
    pub fn received_from(&self, neighbor: &str) -> Vec<String> {
        let v = self.json(&format!(
            "show bgp ipv4 unicast neighbors {neighbor} received-routes"
        ));
        assert!(
            v.get("warning").is_none(),
            "{}: received-routes from {neighbor}: {}",
            self.name,
            v["warning"]
        );
        keys(&v["receivedRoutes"])
    }

    /// The `advertisedRoutes` of `afi` to `neighbor`: prefix → `nextHop` (`0.0.0.0` = itself),
    /// `path` (before its own AS is prepended), `metric`, `bgpOriginCode`, after out policy.
    fn advertised(&self, afi: &str, neighbor: &str) -> Value {
        self.json(&format!(
            "show bgp {afi} unicast neighbors {neighbor} advertised-routes"
        ))["advertisedRoutes"]
            .clone()
    }

    /// The IPv4 prefixes FRR advertises to `neighbor` (its Adj-RIB-Out), sorted. Note that FRR
    /// also lists (and sends) routes back to the eBGP neighbor they came from.
    pub fn advertised_to(&self, neighbor: &str) -> Vec<String> {
        keys(&self.advertised("ipv4", neighbor))
    }

    /// The IPv6 prefixes FRR advertises to `neighbor`, sorted.
    pub fn advertised6_to(&self, neighbor: &str) -> Vec<String> {
        keys(&self.advertised("ipv6", neighbor))
    }

    /// `show bgp ipv4|ipv6 unicast PREFIX json` (by the prefix's family): `{"prefix",
    /// "paths": [..], "advertisedTo": {..}}`, `{}` if FRR has no route for it. Each path has
    /// `aspath` (`string`, `segments`: `[{"type": "as-sequence", "list": [..]}]`, `length`),
    /// `origin` (`IGP`/`EGP`/`incomplete`), `metric` (MED, absent if none), `locPrf`,
    /// `community` / `largeCommunity` (`string`, `list`: `["65000:1", "noExport"]`),
    /// `extendedCommunity` (`string`), `otc`, `nexthops` (`[{"ip", "accessible", "used"}]`),
    /// `peer` (`peerId`, `routerId`, `type`), `valid`, `bestpath.overall`. Unknown attributes
    /// do not show (FRR passes optional transitive ones on, drops the others).
    pub fn route(&self, prefix: &str) -> Value {
        let afi = if prefix.contains(':') { "ipv6" } else { "ipv4" };
        self.json(&format!("show bgp {afi} unicast {prefix}"))
    }

    /// The paths of `prefix` (see [`Frr::route`]); empty if none.
    pub fn paths(&self, prefix: &str) -> Vec<Value> {
        self.route(prefix)["paths"]
            .as_array()
            .cloned()
            .unwrap_or_default()
    }

    /// The best path of `prefix` (Null if none).
    pub fn best(&self, prefix: &str) -> Value {
        self.paths(prefix)
            .into_iter()
            .find(|p| p["bestpath"]["overall"].as_bool() == Some(true))
            .unwrap_or(Value::Null)
    }

    /// `clear bgp NEIGHBOR`: a hard reset (NOTIFICATION Cease/Administrative Reset, sent as a
    /// Hard Reset when graceful restart is negotiated), then bgpd reconnects.
    pub fn clear(&self, neighbor: &str) {
        self.cli_ok(&format!("clear bgp {neighbor}"));
    }

    /// `clear bgp NEIGHBOR soft`: re-applies policies in (ROUTE-REFRESH, or the stored
    /// Adj-RIB-In with soft-reconfiguration inbound) and out (re-sends), session kept.
    pub fn clear_soft(&self, neighbor: &str) {
        self.cli_ok(&format!("clear bgp {neighbor} soft"));
    }

    /// `clear bgp NEIGHBOR soft in`: only the inbound side of [`Frr::clear_soft`].
    pub fn clear_soft_in(&self, neighbor: &str) {
        self.cli_ok(&format!("clear bgp {neighbor} soft in"));
    }

    /// `clear bgp NEIGHBOR soft out`: only the outbound side of [`Frr::clear_soft`].
    pub fn clear_soft_out(&self, neighbor: &str) {
        self.cli_ok(&format!("clear bgp {neighbor} soft out"));
    }

    /// bgpd's log so far (stdout and stderr).
    pub fn log_text(&self) -> String {
        self.proc.log_text()
    }
}

impl Drop for Frr {
    /// Stops bgpd by PID, then removes its crash-log directory if it was left behind.
    fn drop(&mut self) {
        let pid = self.proc.pid();
        if let Ok(None) = self.proc.child.try_wait() {
            self.proc.terminate();
        }
        let _ = std::fs::remove_dir_all(format!("/var/tmp/frr/bgpd.{pid}"));
    }
}

/// The keys of a JSON object, sorted (empty for anything else).
fn keys(v: &Value) -> Vec<String> {
    let mut k: Vec<String> = v
        .as_object()
        .map(|m| m.keys().cloned().collect())
        .unwrap_or_default();
    k.sort();
    k
}
