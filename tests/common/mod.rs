//! Helpers shared by the integration tests: run the `bgpsieve` binary, read its outputs.
#![allow(dead_code)]

pub mod frr;
pub mod interop;

use serde_json::Value;
use std::io::BufRead;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

/// A path under the repository's `testdata/`.
pub fn td(p: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("testdata")
        .join(p)
}

/// Runs `bgpsieve ARGS` from the repository root.
pub fn bgpsieve<S: AsRef<std::ffi::OsStr>>(args: &[S]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_bgpsieve"))
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .args(args)
        .output()
        .unwrap()
}

/// Runs `bgpsieve replay --json --no-progress ARGS` and returns the summary.
pub fn replay_json<S: AsRef<std::ffi::OsStr>>(args: &[S]) -> Value {
    let mut all: Vec<&std::ffi::OsStr> = vec![
        "replay".as_ref(),
        "--json".as_ref(),
        "--no-progress".as_ref(),
    ];
    all.extend(args.iter().map(AsRef::as_ref));
    let out = bgpsieve(&all);
    assert!(
        out.status.success(),
        "replay failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    serde_json::from_slice(&out.stdout).unwrap()
}

/// Reads a JSON Lines file.
pub fn jsonl(path: &Path) -> Vec<Value> {
    std::io::BufReader::new(std::fs::File::open(path).unwrap())
        .lines()
        .map(|l| serde_json::from_str(&l.unwrap()).unwrap())
        .collect()
}

/// A metrics registry with every metric touched once (labels `peer = "p"`, cache
/// `127.0.0.1:3323`), so that its `/metrics` page shows every series bgpsieve can export.
pub fn every_metric_touched() -> bgpsieve::metrics::Metrics {
    use bgpsieve::metrics::{Metrics, PeerLabel};
    use bgpsieve::policy::Reason;
    use bgpsieve::{Afi, Direction};
    let m = Metrics::new(&[PeerLabel { name: "p".into() }]);
    m.peer_up(0, true);
    m.router_up(0, true);
    m.session_state(0, bgpsieve::types::Side::Neighbor, 6);
    m.session_flap(0, bgpsieve::types::Side::Router);
    m.received(0, Afi::Ipv4, 1);
    m.rejected(0, Direction::In, Reason::RpkiInvalid);
    m.routes_current(0, Direction::In, Afi::Ipv4, 1);
    m.max_prefix_trip(0, Direction::In);
    m.observe_update(0.001);
    m.vrps(Afi::Ipv4, 1);
    m.aspas(1);
    m.rtr("127.0.0.1:3323", true, Some(1));
    m.rpki_source_updated("rtr:127.0.0.1:3323", 1);
    m.reevaluation("rpki", 1, 1);
    m.reload_error("config");
    m.circuit_breaker_held(false);
    m.policy_generation(1);
    m
}
