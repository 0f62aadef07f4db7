//! A seeded random sequence against a small reference model, with real daemons: two neighbors
//! (a customer and a provider, BIRD 2) each through its pair to a BIRD 2 router that gives the
//! provider its own and the customer's routes and the customer everything (transit), on
//! loopback (127.0.0.200–203, bgpsieve's addresses toward the router 127.0.1.201/202), every
//! process stopped by PID.
//!
//! Each step changes one input: a neighbor or the router announces or withdraws a route, the
//! VRPs or the customer's IRR list change, a reload switches a pair between observe and enforce
//! or changes a check or a limit, a session on either side of a pair restarts or stays down.
//! After each step, the router's table from each pair and each neighbor's table must equal what
//! the model computes from the inputs alone. `BGPSIEVE_MODEL_STEPS` (default 200) and
//! `BGPSIEVE_MODEL_SEED` set the length and the seed; a failure names both and the steps so far.
//!
//! The sequence starts with the defects of issue #11 as fixed steps: a pair switched from
//! observe to enforce must take the rejected routes off the router, also when the neighbor then
//! withdraws them or its session goes down; enforce to observe must pass them at once.

mod common;

use common::interop::{available, bgpsieve_daemon, wait_for, Bird, Proc};
use std::collections::BTreeSet;
use std::path::{Path, PathBuf};
use std::time::Duration;

const T: Duration = Duration::from_secs(20);

/// The customer's routes (path 20002): a prefix whose ROA changes, one registered in the IRR
/// only in one of its two states, one too long unless the check is disabled, a bogon, and one
/// that is always fine.
const CUSTOMER: [&str; 5] = [
    "1.0.1.0/24",
    "1.0.2.0/24",
    "1.0.3.0/25",
    "10.1.0.0/24",
    "1.0.4.0/24",
];
/// The provider's routes (path 20010): a ROA that changes, no ROA, a bogon.
const PROVIDER: [&str; 3] = ["2.0.1.0/24", "2.0.2.0/24", "192.168.0.0/24"];
/// The router's own routes (path 20001): a ROA that changes, no ROA, one outside the announce
/// list.
const OWN: [&str; 3] = ["20.0.1.0/24", "20.0.2.0/24", "30.0.0.0/24"];

/// The two VRP sets the sequence switches between: `(prefix, max length, AS)`.
const ROAS: [&[(&str, u8, u32)]; 2] = [
    &[
        ("1.0.1.0/24", 24, 20002),
        ("2.0.1.0/24", 24, 20010),
        ("20.0.1.0/24", 24, 20001),
    ],
    &[
        ("1.0.1.0/24", 24, 999),
        ("2.0.1.0/24", 24, 999),
        ("20.0.1.0/24", 24, 999),
    ],
];

/// The customer's IRR list in its two states.
const IRR: [&[&str]; 2] = [
    &["1.0.1.0/24", "1.0.2.0/24", "1.0.3.0/25", "1.0.4.0/24"],
    &["1.0.1.0/24", "1.0.3.0/25", "1.0.4.0/24"],
];

/// The pairs, by index: 0 the customer, 1 the provider.
const PAIRS: [(&str, &str, u32, &[&str]); 2] = [
    ("customer", "customer", 20002, &CUSTOMER),
    ("provider", "provider", 20010, &PROVIDER),
];

/// Everything the model knows: the inputs.
#[derive(Clone, Debug)]
struct Model {
    /// Announced by each neighbor (a flag per route of its list), and by the router.
    announced: [Vec<bool>; 2],
    own: Vec<bool>,
    /// Which VRP set and which IRR state are in force.
    roas: usize,
    irr: usize,
    observe: [bool; 2],
    /// The customer's prefix-length check is disabled.
    long_ok: bool,
    /// The (warn-only) limits in force: they change nothing the model sees.
    limit: u32,
    /// Whether each pair's neighbor session and router session are up (enabled).
    neighbor_up: [bool; 2],
    router_up: [bool; 2],
}

/// RFC 6811 over one VRP set: `Some(true)` valid, `Some(false)` invalid, `None` not found.
fn rov(roas: &[(&str, u8, u32)], prefix: &str, origin: u32) -> Option<bool> {
    let p: ipnet::IpNet = prefix.parse().unwrap();
    let covering: Vec<_> = roas
        .iter()
        .filter(|(r, _, _)| r.parse::<ipnet::IpNet>().unwrap().contains(&p))
        .collect();
    if covering.is_empty() {
        return None;
    }
    Some(
        covering
            .iter()
            .any(|(_, max, asn)| *asn == origin && p.prefix_len() <= *max),
    )
}

fn bogon(prefix: &str) -> bool {
    prefix.starts_with("10.") || prefix.starts_with("192.168.")
}

impl Model {
    fn pair_up(&self, i: usize) -> bool {
        self.neighbor_up[i] && self.router_up[i]
    }

    /// The import checks of pair `i` for one of its neighbor's routes (origin = the neighbor).
    fn import_ok(&self, i: usize, prefix: &str) -> bool {
        let (_, _, asn, _) = PAIRS[i];
        if self.observe[i] {
            return true;
        }
        if bogon(prefix) || rov(ROAS[self.roas], prefix, asn) == Some(false) {
            return false;
        }
        if i == 0 {
            let too_long = prefix.ends_with("/25") && !self.long_ok;
            let registered = IRR[self.irr].contains(&prefix);
            return !too_long && registered;
        }
        true
    }

    /// What the router holds from pair `i`.
    fn router_from(&self, i: usize) -> BTreeSet<String> {
        let (_, _, _, routes) = PAIRS[i];
        if !self.pair_up(i) {
            return BTreeSet::new();
        }
        routes
            .iter()
            .zip(&self.announced[i])
            .filter(|(p, on)| **on && self.import_ok(i, p))
            .map(|(p, _)| p.to_string())
            .collect()
    }

    /// What the router exports toward pair `i`, with each route's origin: toward the provider
    /// its own routes and the customer's, toward the customer everything.
    fn router_exports(&self, i: usize) -> Vec<(String, u32)> {
        let mut v: Vec<(String, u32)> = OWN
            .iter()
            .zip(&self.own)
            .filter(|(_, on)| **on)
            .map(|(p, _)| (p.to_string(), 20001))
            .collect();
        let other = 1 - i;
        let (_, _, asn, _) = PAIRS[other];
        v.extend(self.router_from(other).into_iter().map(|p| (p, asn)));
        v
    }

    /// What neighbor `i` holds: what the router exports toward it that its pair's export
    /// checks pass.
    fn neighbor_has(&self, i: usize) -> BTreeSet<String> {
        if !self.pair_up(i) {
            return BTreeSet::new();
        }
        let provider = i == 1;
        self.router_exports(i)
            .into_iter()
            .filter(|(p, origin)| {
                // export-bogon (bounds included), export-rpki-invalid, and toward the provider
                // not-announceable.
                self.observe[i]
                    || (!bogon(p)
                        && !p.ends_with("/25")
                        && rov(ROAS[self.roas], p, *origin) != Some(false)
                        && (!provider || p.starts_with("20.0.") || p.starts_with("1.0.")))
            })
            .map(|(p, _)| p)
            .collect()
    }
}

/// A BIRD neighbor with one static protocol per route (`r0`, `r1`…), so that each can be
/// announced and withdrawn alone.
fn neighbor_config(i: usize) -> String {
    let (_, _, asn, routes) = PAIRS[i];
    let ip = format!("127.0.0.{}", 201 + i);
    let statics: String = routes
        .iter()
        .enumerate()
        .map(|(k, p)| format!("protocol static r{k} {{ ipv4; route {p} blackhole; }}\n"))
        .collect();
    format!(
        r#"
router id {ip};
protocol device {{}}
{statics}
protocol bgp sieve {{
  local {ip} port {port} as {asn};
  neighbor 127.0.0.200 port 14600 as 20001;
  passive on;
  multihop;
  hold time 30;
  ipv4 {{ import all; export where source = RTS_STATIC; next hop address 192.0.2.{nh}; }};
}}
"#,
        port = 14601 + i,
        nh = 201 + i,
    )
}

/// The router: one protocol per pair; its own routes one static protocol each (`o0`…).
fn router_config() -> String {
    let statics: String = OWN
        .iter()
        .enumerate()
        .map(|(k, p)| format!("protocol static o{k} {{ ipv4; route {p} blackhole; }}\n"))
        .collect();
    format!(
        r#"
router id 127.0.0.203;
protocol device {{}}
protocol static lo {{ ipv4; route 127.0.0.0/8 via "lo"; route 192.0.2.0/24 via "lo"; }}
{statics}
function own() {{ return proto = "o0" || proto = "o1" || proto = "o2"; }}
protocol bgp customer {{
  local 127.0.0.203 port 14603 as 20001;
  neighbor 127.0.1.201 as 20002;
  passive on;
  multihop;
  hold time 30;
  ipv4 {{ import all; export where own() || proto = "provider"; }};
}}
protocol bgp provider {{
  local 127.0.0.203 port 14603 as 20001;
  neighbor 127.0.1.202 as 20010;
  passive on;
  multihop;
  hold time 30;
  ipv4 {{ import all; export where own() || proto = "customer"; }};
}}
"#
    )
}

fn bgpsieve_config(m: &Model, vrps: &Path, irr: &Path) -> String {
    let mode = |i: usize| if m.observe[i] { "observe" } else { "enforce" };
    let disable = if m.long_ok {
        r#"["prefix-length"]"#
    } else {
        "[]"
    };
    format!(
        r#"
[global]
asn = 20001
router_id = "127.0.0.200"
listen = ["127.0.0.200:14600"]
announce = ["20.0.0.0/16-24", "1.0.0.0/16-25"]

[api]
listen = "127.0.0.200:14609"

[rpki]
vrp_files = ["{vrps}"]

[[peer]]
name = "customer"
role = "customer"
asn = 20002
address = "127.0.0.201"
local_address = "127.0.0.200"
port = 14601
mode = "{m0}"
checks_disable = {disable}
irr = ["{irr}"]
max_prefix_in = {{ ipv4 = {limit}, action = "warn" }}
max_prefix_out = {{ ipv4 = {limit}, action = "warn" }}
idle_hold = "0s"
idle_hold_max = "100ms"
connect_retry = "200ms"
next_hop = "192.0.2.203"
router = {{ address = "127.0.0.203", local_address = "127.0.1.201", port = 14603 }}

[[peer]]
name = "provider"
role = "provider"
asn = 20010
address = "127.0.0.202"
local_address = "127.0.0.200"
port = 14602
mode = "{m1}"
max_prefix_in = {{ ipv4 = {limit}, action = "warn" }}
idle_hold = "0s"
idle_hold_max = "100ms"
connect_retry = "200ms"
next_hop = "192.0.2.203"
router = {{ address = "127.0.0.203", local_address = "127.0.1.202", port = 14603 }}
"#,
        vrps = vrps.display(),
        irr = irr.display(),
        m0 = mode(0),
        m1 = mode(1),
        limit = m.limit,
    )
}

/// Writes a file whole, under a temporary name first (the daemon never reads half of it).
fn write(path: &Path, text: &str) {
    let tmp = path.with_extension("tmp");
    std::fs::write(&tmp, text).unwrap();
    std::fs::rename(&tmp, path).unwrap();
}

fn vrp_json(set: usize) -> String {
    let entries: Vec<String> = ROAS[set]
        .iter()
        .map(|(p, max, asn)| {
            format!(r#"{{"asn": {asn}, "prefix": "{p}", "maxLength": {max}, "ta": "test"}}"#)
        })
        .collect();
    format!("{{\"roas\": [{}]}}\n", entries.join(",\n"))
}

fn irr_json(state: usize) -> String {
    let entries: Vec<String> = IRR[state]
        .iter()
        .map(|p| format!(r#"{{ "prefix": "{p}", "exact": true }}"#))
        .collect();
    format!("{{ \"NN\": [\n{}\n] }}\n", entries.join(",\n"))
}

/// One input change.
#[derive(Debug, Clone)]
enum Step {
    Neighbor(usize, usize, bool),
    Own(usize, bool),
    Roas(usize),
    Irr(usize),
    Observe(usize, bool),
    LongOk(bool),
    Limit(u32),
    /// A session restarts: (pair, the router side?).
    Flap(usize, bool),
    /// A session stays down or comes back: (pair, the router side?, up).
    Session(usize, bool, bool),
}

struct World {
    neighbors: Vec<Bird>,
    router: Bird,
    sieve: Proc,
    conf: PathBuf,
    vrps: PathBuf,
    irr: PathBuf,
    model: Model,
}

impl World {
    fn hup(&self) {
        let ok = std::process::Command::new("kill")
            .args(["-HUP", &self.sieve.pid().to_string()])
            .status()
            .unwrap()
            .success();
        assert!(ok);
    }

    /// Rewrites the configuration from the model and reloads.
    fn reload(&self) {
        write(
            &self.conf,
            &bgpsieve_config(&self.model, &self.vrps, &self.irr),
        );
        self.hup();
    }

    fn apply(&mut self, step: &Step) {
        let m = &mut self.model;
        match *step {
            Step::Neighbor(i, k, on) => {
                m.announced[i][k] = on;
                let verb = if on { "enable" } else { "disable" };
                self.neighbors[i].cli(&format!("{verb} r{k}"));
            }
            Step::Own(k, on) => {
                m.own[k] = on;
                let verb = if on { "enable" } else { "disable" };
                self.router.cli(&format!("{verb} o{k}"));
            }
            Step::Roas(set) => {
                m.roas = set;
                write(&self.vrps, &vrp_json(set));
                self.hup();
            }
            Step::Irr(state) => {
                m.irr = state;
                write(&self.irr, &irr_json(state));
                self.hup();
            }
            Step::Observe(i, on) => {
                m.observe[i] = on;
                self.reload();
            }
            Step::LongOk(on) => {
                m.long_ok = on;
                self.reload();
            }
            Step::Limit(l) => {
                m.limit = l;
                self.reload();
            }
            Step::Flap(i, router) => {
                if router {
                    self.router.cli(&format!("restart {}", PAIRS[i].0));
                } else {
                    self.neighbors[i].cli("restart sieve");
                }
            }
            Step::Session(i, router, up) => {
                let verb = if up { "enable" } else { "disable" };
                if router {
                    m.router_up[i] = up;
                    self.router.cli(&format!("{verb} {}", PAIRS[i].0));
                } else {
                    m.neighbor_up[i] = up;
                    self.neighbors[i].cli(&format!("{verb} sieve"));
                }
            }
        }
    }

    /// Waits until both routers' and both neighbors' tables are what the model says.
    fn converge(&self, context: &dyn Fn() -> String) {
        let set = |v: Vec<String>| v.into_iter().collect::<BTreeSet<String>>();
        let m = &self.model;
        let want = [
            m.router_from(0),
            m.router_from(1),
            m.neighbor_has(0),
            m.neighbor_has(1),
        ];
        let have = || {
            [
                set(self.router.prefixes_from("customer")),
                set(self.router.prefixes_from("provider")),
                set(self.neighbors[0].prefixes_from("sieve")),
                set(self.neighbors[1].prefixes_from("sieve")),
            ]
        };
        wait_for(
            T,
            || have() == want,
            || {
                format!(
                    "{}\nwant (router from customer, router from provider, customer, provider):\n\
                 {want:?}\nhave:\n{:?}\nmodel: {m:?}\nbgpsieve:\n{}",
                    context(),
                    have(),
                    self.sieve
                        .log_text()
                        .lines()
                        .rev()
                        .take(60)
                        .collect::<Vec<_>>()
                        .join("\n")
                )
            },
        );
    }
}

/// A small deterministic generator (xorshift64*), so a seed replays the same sequence.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_f491_4f6c_dd1d)
    }
    fn below(&mut self, n: usize) -> usize {
        (self.next() % n as u64) as usize
    }
}

/// The next random step, given the model (so a session that is down may come back, and a
/// route's flag flips).
fn random_step(rng: &mut Rng, m: &Model) -> Step {
    match rng.below(100) {
        0..=34 => {
            let i = rng.below(2);
            let k = rng.below(PAIRS[i].3.len());
            Step::Neighbor(i, k, !m.announced[i][k])
        }
        35..=49 => {
            let k = rng.below(OWN.len());
            Step::Own(k, !m.own[k])
        }
        50..=57 => Step::Roas(1 - m.roas),
        58..=64 => Step::Irr(1 - m.irr),
        65..=74 => {
            let i = rng.below(2);
            Step::Observe(i, !m.observe[i])
        }
        75..=77 => Step::LongOk(!m.long_ok),
        78..=79 => Step::Limit(1 + rng.below(10) as u32),
        80..=89 => Step::Flap(rng.below(2), rng.below(2) == 1),
        _ => {
            let (i, router) = (rng.below(2), rng.below(2) == 1);
            let up = if router {
                m.router_up[i]
            } else {
                m.neighbor_up[i]
            };
            Step::Session(i, router, !up)
        }
    }
}

/// The defects of issue #11, as fixed steps before the random ones: the customer in observe
/// mode with its bogon and its too-long route at the router; switched to enforce, they must
/// leave; back to observe they return at once; switched to enforce again, a withdrawal and a
/// session going down must leave nothing behind.
fn prologue() -> Vec<Step> {
    vec![
        Step::Observe(0, true),
        Step::Neighbor(0, 3, true),
        Step::Neighbor(0, 2, true),
        Step::Observe(0, false),
        Step::Observe(0, true),
        Step::Observe(0, false),
        Step::Neighbor(0, 3, false),
        Step::Observe(0, true),
        Step::Neighbor(0, 3, true),
        Step::Observe(0, false),
        Step::Session(0, false, false),
        Step::Session(0, false, true),
        Step::Observe(1, true),
        Step::Neighbor(1, 2, true),
        Step::Session(1, true, false),
        Step::Session(1, true, true),
        Step::Observe(1, false),
    ]
}

#[test]
fn a_seeded_random_sequence_keeps_the_real_tables_equal_to_the_model() {
    if !available("bird") || !available("birdc") {
        return;
    }
    let steps: usize = std::env::var("BGPSIEVE_MODEL_STEPS")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(200);
    let seed: u64 = std::env::var("BGPSIEVE_MODEL_SEED")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(11);
    let dir = tempfile::tempdir().unwrap();
    let mut model = Model {
        announced: [vec![true; CUSTOMER.len()], vec![true; PROVIDER.len()]],
        own: vec![true; OWN.len()],
        roas: 0,
        irr: 0,
        observe: [false; 2],
        long_ok: false,
        limit: 5,
        neighbor_up: [true; 2],
        router_up: [true; 2],
    };
    // The bogon and the too-long route start withdrawn: the prologue announces them.
    model.announced[0][2] = false;
    model.announced[0][3] = false;
    model.announced[1][2] = false;
    let vrps = dir.path().join("vrps.json");
    let irr = dir.path().join("customer-irr.json");
    write(&vrps, &vrp_json(model.roas));
    write(&irr, &irr_json(model.irr));
    let neighbors: Vec<Bird> = (0..2)
        .map(|i| {
            let mut config = neighbor_config(i);
            for (k, on) in model.announced[i].iter().enumerate() {
                if !on {
                    config = config.replace(
                        &format!("protocol static r{k} {{ ipv4;"),
                        &format!("protocol static r{k} {{ disabled; ipv4;"),
                    );
                }
            }
            Bird::start(dir.path(), PAIRS[i].0, &config)
        })
        .collect();
    let router = Bird::start(dir.path(), "router", &router_config());
    let sieve = bgpsieve_daemon(dir.path(), &bgpsieve_config(&model, &vrps, &irr));
    let mut world = World {
        neighbors,
        router,
        sieve,
        conf: dir.path().join("bgpsieve.toml"),
        vrps,
        irr,
        model,
    };
    let mut history: Vec<String> = Vec::new();
    world.converge(&|| format!("seed {seed}: start"));
    let mut rng = Rng(seed.wrapping_mul(0x9e37_79b9_7f4a_7c15) | 1);
    let fixed = prologue();
    for n in 0..fixed.len() + steps {
        let step = match fixed.get(n) {
            Some(s) => s.clone(),
            None => random_step(&mut rng, &world.model),
        };
        history.push(format!("{n}: {step:?}"));
        world.apply(&step);
        let shown = history.join("\n");
        world.converge(&|| format!("seed {seed}, step {n} ({step:?}); steps so far:\n{shown}"));
    }
    // Nothing late arrives after the last step.
    std::thread::sleep(Duration::from_secs(2));
    world.converge(&|| format!("seed {seed}: 2 s after the last step"));
    eprintln!(
        "seed {seed}: {} steps, every one converged to the model",
        history.len()
    );
}
