//! Memory and rebuild time of the RPKI data path with a full VRP set, as the daemon runs it:
//! a real StayRTR serves the JSON over RTR to the RTR client, its End of Data goes into the
//! feed (as `daemon::data` hands it over) and a rebuild puts the snapshot in force; then a
//! serial delta (1 % withdrawn, 1 % announced) and its rebuild. The file path: the same JSON
//! loaded as a VRP file into the feed and rebuilt. Prints VmRSS / VmHWM from /proc/self/status
//! with mimalloc as the global allocator, as the daemon has it.
//!
//! Each snapshot's answers are printed as fingerprints (every VRP with its trust anchor, VRPs
//! per trust anchor, the ROV state of ~3.9M lookups, the delta's prefixes), to compare two
//! builds of the code on the same data; `rov_speed` times the lookups alone.
//!
//! Not a criterion bench: ignored tests, one process per path, so each reads its own RSS:
//! `cargo test --release --bench rpki_memory -- --ignored --exact rtr_path --nocapture` (and
//! `file_path`, `rov_speed`). Data: `BGPSIEVE_MEM_VRPS` (default: the e2e bench's 757k VRPs,
//! with its `all.txt` of route prefixes beside it) and `BGPSIEVE_MEM_VRPS_DELTA`, the same
//! VRPs with every 100th left out and as many others added, made beforehand (the serial delta
//! step is skipped without it). Needs `stayrtr` for `rtr_path`.

use bgpsieve::rpki::feed::{FeedConfig, Outcome, RpkiFeed, RtrChange};
use bgpsieve::rpki::rtr::{self, RtrCache, RtrClientConfig, RtrEvent};
use bgpsieve::rpki::{load_files, LoadOptions, RovState, RpkiData};
use bgpsieve::types::{Asn, PathOrigin};
use ipnet::IpNet;
use std::collections::hash_map::DefaultHasher;
use std::hash::{Hash, Hasher};
use std::io::BufRead;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::Arc;
use std::time::{Duration, Instant};

#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

const DEFAULT_VRPS: &str = "/tmp/bgpbench/data/1000000-v6200000/vrps.json";
const DEFAULT_DELTA: &str = "/tmp/bgpbench-vrps-delta.json";

/// The VRPs with every 100th withdrawn and as many new ones (`BGPSIEVE_MEM_VRPS_DELTA`).
fn delta_path() -> PathBuf {
    std::env::var_os("BGPSIEVE_MEM_VRPS_DELTA")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from(DEFAULT_DELTA))
}

fn vrps_path() -> PathBuf {
    std::env::var_os("BGPSIEVE_MEM_VRPS")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from(DEFAULT_VRPS))
}

fn status_kb(key: &str) -> u64 {
    std::fs::read_to_string("/proc/self/status")
        .unwrap_or_default()
        .lines()
        .find(|l| l.starts_with(key))
        .and_then(|l| l.split_whitespace().nth(1)?.parse::<u64>().ok())
        .unwrap_or(0)
}

fn report(what: &str) {
    println!(
        "{what:<44} VmRSS {:>6.1} MB  VmHWM {:>6.1} MB",
        status_kb("VmRSS:") as f64 / 1024.0,
        status_kb("VmHWM:") as f64 / 1024.0,
    );
}

fn cfg() -> FeedConfig {
    FeedConfig {
        max_shrink_percent: 50,
        max_shrink_hold_secs: 600,
        fail_open: true,
    }
}

/// What `daemon::data` does with an End of Data.
fn apply(feed: &mut RpkiFeed, d: rtr::RtrDelta) {
    feed.apply_rtr(RtrChange::from(d));
}

/// Rebuilds and returns the data in force (as the RIB and the policy would hold it).
fn rebuild(feed: &mut RpkiFeed, now: u64, what: &str) -> Arc<RpkiData> {
    let t = Instant::now();
    let outcome = feed.rebuild(now);
    let took = t.elapsed();
    // As `daemon::data` does after a rebuild.
    bgpsieve::release_free_memory();
    let kind = match &outcome {
        Outcome::Apply(u) => format!(
            "apply, delta {} prefixes{} #{:016x}",
            u.delta.vrp_prefixes.len(),
            if u.delta.all { " (all)" } else { "" },
            fingerprint(u.delta.vrp_prefixes.iter().chain(&[]))
        ),
        Outcome::Unchanged => "unchanged".into(),
        Outcome::Held { why } => format!("held: {why}"),
    };
    let data = feed.current().0.clone();
    println!(
        "rebuild {what:<36} {:>8.1} ms  ({kind}; {:?} VRPs, snapshot mem_size {:.1} MB)",
        took.as_secs_f64() * 1000.0,
        data.vrp_count(),
        data.mem_size() as f64 / 1048576.0
    );
    data
}

fn fingerprint<T: Hash>(items: impl Iterator<Item = T>) -> u64 {
    let mut h = DefaultHasher::new();
    for i in items {
        i.hash(&mut h);
    }
    h.finish()
}

/// Adds one ROV answer to the fingerprint and to the count of its state.
fn tally(s: RovState, h: &mut DefaultHasher, states: &mut [usize; 3]) {
    s.hash(h);
    states[match s {
        RovState::Valid => 0,
        RovState::Invalid => 1,
        RovState::NotFound => 2,
    }] += 1;
}

/// What the snapshot answers: every VRP with its trust anchor, the VRPs per trust anchor, and
/// the ROV state of every prefix of the e2e bench's routes (`all.txt` beside the VRPs) for two
/// origins, with the time those lookups took.
fn answers(data: &RpkiData) {
    let vrps = fingerprint(data.iter_vrps());
    let tas = fingerprint(data.vrps_per_trust_anchor().into_iter());
    // Read line by line: the lookups take no memory of their own.
    let file = std::fs::File::open(vrps_path().with_file_name("all.txt")).unwrap();
    let mut lines = std::io::BufReader::new(file);
    let mut line = String::new();
    let mut h = DefaultHasher::new();
    let mut states = [0usize; 3];
    let (mut n, mut spent) = (0usize, Duration::ZERO);
    while lines.read_line(&mut line).unwrap() > 0 {
        let Ok(p) = line.trim().parse::<IpNet>() else {
            line.clear();
            continue;
        };
        line.clear();
        let t = Instant::now();
        for origin in [64601, (n as u32).wrapping_mul(2_654_435_761) % 400_000] {
            tally(
                data.rov(&p, PathOrigin::Asn(Asn(origin))),
                &mut h,
                &mut states,
            );
        }
        spent += t.elapsed();
        n += 1;
    }
    // Each VRP's own origin, for its prefix and one bit longer: Valid and Invalid answers.
    for v in data.iter_vrps() {
        let longer = match v.prefix {
            IpNet::V4(p) => {
                IpNet::V4(ipnet::Ipv4Net::new(p.addr(), (p.prefix_len() + 1).min(32)).unwrap())
            }
            IpNet::V6(p) => {
                IpNet::V6(ipnet::Ipv6Net::new(p.addr(), (p.prefix_len() + 1).min(128)).unwrap())
            }
        };
        let t = Instant::now();
        for p in [v.prefix, longer] {
            tally(data.rov(&p, PathOrigin::Asn(v.asn)), &mut h, &mut states);
        }
        spent += t.elapsed();
        n += 1;
    }
    println!(
        "answers: VRPs #{vrps:016x}, per TA #{tas:016x}, ROV #{:016x} {states:?} \
         ({} lookups in {:.1} ms)",
        h.finish(),
        n * 2,
        spent.as_secs_f64() * 1000.0
    );
}

/// Waits past mimalloc's purge delay (1 s with `tune_allocator`).
fn settle() {
    std::thread::sleep(Duration::from_millis(2500));
}

/// Gives this thread's freed memory back now.
fn collect(what: &str) {
    let t = Instant::now();
    bgpsieve::release_free_memory();
    let took = t.elapsed();
    report(what);
    println!("  (mi_collect took {:.1} ms)", took.as_secs_f64() * 1000.0);
}

struct Stayrtr(Child);

impl Stayrtr {
    /// Stops (`false`) or continues (`true`) the cache, so that it takes no CPU while a rebuild
    /// is timed (it re-reads its file every second).
    fn run(&self, run: bool) {
        let sig = if run { "-CONT" } else { "-STOP" };
        let _ = Command::new("kill")
            .args([sig, &self.0.id().to_string()])
            .status();
    }
}

impl Drop for Stayrtr {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

fn stayrtr(dir: &Path, json: &Path, port: u16) -> Stayrtr {
    let log = dir.join("stayrtr.log");
    let child = Command::new("stayrtr")
        .arg("-bind")
        .arg(format!("127.0.0.1:{port}"))
        .arg("-cache")
        .arg(json)
        .args(["-checktime=false", "-refresh", "1", "-metrics.addr", ""])
        .args([
            "-rtr.refresh",
            "3600",
            "-rtr.retry",
            "600",
            "-rtr.expire",
            "7200",
        ])
        .args(["-log.verbose=false"])
        .stdout(std::fs::File::create(&log).unwrap())
        .stderr(Stdio::from(
            std::fs::File::create(dir.join("stayrtr.err")).unwrap(),
        ))
        .spawn()
        .expect("stayrtr");
    let p = Stayrtr(child);
    let t = Instant::now();
    while t.elapsed() < Duration::from_secs(120) {
        let text = std::fs::read_to_string(&log).unwrap_or_default()
            + &std::fs::read_to_string(dir.join("stayrtr.err")).unwrap_or_default();
        if text.contains("Server started") {
            return p;
        }
        std::thread::sleep(Duration::from_millis(100));
    }
    panic!("stayrtr did not start");
}

async fn next_data(rx: &mut tokio::sync::mpsc::Receiver<RtrEvent>) -> rtr::RtrDelta {
    loop {
        match tokio::time::timeout(Duration::from_secs(120), rx.recv()).await {
            Ok(Some(RtrEvent::Data(d))) if !d.is_empty() => return d,
            Ok(Some(_)) => {}
            other => panic!("no RTR data: {other:?}"),
        }
    }
}

#[test]
#[ignore]
fn rtr_path() {
    bgpsieve::tune_allocator();
    let src = vrps_path();
    let dir = tempfile::tempdir().unwrap();
    let json = dir.path().join("vrps.json");
    std::fs::copy(&src, &json).unwrap();
    let port = 43_900;
    let cache = stayrtr(dir.path(), &json, port);
    report("start (stayrtr up)");

    let rt = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .unwrap();
    rt.block_on(async {
        let (tx, mut rx) = tokio::sync::mpsc::channel(64);
        let handle = rtr::spawn(
            RtrClientConfig {
                caches: vec![RtrCache {
                    address: format!("127.0.0.1:{port}"),
                }],
                expire: Some(Duration::from_secs(7200)),
                connect_timeout: Duration::from_secs(10),
            },
            tx,
        );
        let mut feed = RpkiFeed::new(cfg());
        let t = Instant::now();
        let d = next_data(&mut rx).await;
        println!(
            "RTR reset: {} VRPs announced in {:.2} s (the client's set: {:.1} MB)",
            d.vrps_announced.len(),
            t.elapsed().as_secs_f64(),
            d.vrps.mem_size() as f64 / 1048576.0
        );
        let t = Instant::now();
        apply(&mut feed, d);
        println!(
            "apply_rtr (reset)                            {:>8.1} ms",
            t.elapsed().as_secs_f64() * 1000.0
        );
        report("RTR set in client and feed");
        cache.run(false);
        let in_force = tokio::task::block_in_place(|| rebuild(&mut feed, 0, "(first, all VRPs)"));
        report("after the first rebuild");
        answers(&in_force);
        settle();
        report("loaded, 2.5 s later (VRPs in force)");
        collect("  and after mi_collect on this thread");
        let again = tokio::task::block_in_place(|| rebuild(&mut feed, 1, "(nothing changed)"));
        drop(again);
        cache.run(true);

        // A serial delta: 1 % withdrawn, 1 % announced (the file is made beforehand, so that
        // parsing it does not count here).
        if !delta_path().exists() {
            println!("no {}: no serial delta", delta_path().display());
            handle.shutdown().await;
            return;
        }
        let tmp = json.with_extension("tmp");
        std::fs::copy(delta_path(), &tmp).unwrap();
        std::fs::rename(&tmp, &json).unwrap();
        settle();
        report("before the serial delta");
        let d = next_data(&mut rx).await;
        println!(
            "RTR serial delta: {} announced, {} withdrawn",
            d.vrps_announced.len(),
            d.vrps_withdrawn.len()
        );
        cache.run(false);
        let t = Instant::now();
        apply(&mut feed, d);
        println!(
            "apply_rtr (serial delta)                     {:>8.1} ms",
            t.elapsed().as_secs_f64() * 1000.0
        );
        let in_force2 = tokio::task::block_in_place(|| rebuild(&mut feed, 2, "(serial delta)"));
        answers(&in_force2);
        drop(in_force);
        report("after the serial delta's rebuild");
        settle();
        report("after the serial delta, 2.5 s later");
        collect("  and after mi_collect on this thread");
        cache.run(true);
        drop(in_force2);
        handle.shutdown().await;
    });
}

#[test]
#[ignore]
fn file_path() {
    bgpsieve::tune_allocator();
    let src = vrps_path();
    report("start");
    let mut feed = RpkiFeed::new(cfg());
    let t = Instant::now();
    let files = load_files(
        std::slice::from_ref(&src),
        &[],
        &[],
        &LoadOptions { now: None },
    )
    .unwrap();
    println!(
        "load_files                                   {:>8.1} ms  ({} VRPs)",
        t.elapsed().as_secs_f64() * 1000.0,
        files.vrps.len()
    );
    feed.set_files(files);
    report("files loaded into the feed");
    let in_force = rebuild(&mut feed, 0, "(first, all VRPs)");
    report("after the first rebuild");
    answers(&in_force);
    settle();
    report("loaded, 2.5 s later (VRPs in force)");
    collect("  and after mi_collect on this thread");
    // A reload of the same files.
    let files = load_files(
        std::slice::from_ref(&src),
        &[],
        &[],
        &LoadOptions { now: None },
    )
    .unwrap();
    feed.set_files(files);
    let again = rebuild(&mut feed, 1, "(reload, nothing changed)");
    drop(again);
    settle();
    report("after a reload, 2.5 s later");
    collect("  and after mi_collect on this thread");
    drop(in_force);
}

/// ROV lookups only: the e2e bench's route prefixes against the VRP file's snapshot, best of 7.
#[test]
#[ignore]
fn rov_speed() {
    let data =
        bgpsieve::rpki::load_rpki(&[vrps_path()], &[], &[], &LoadOptions { now: None }).unwrap();
    let text = std::fs::read_to_string(vrps_path().with_file_name("all.txt")).unwrap();
    let routes: Vec<IpNet> = text.lines().filter_map(|l| l.trim().parse().ok()).collect();
    let vrps: Vec<(IpNet, Asn)> = data.iter_vrps().map(|v| (v.prefix, v.asn)).collect();
    let mut best = Duration::MAX;
    let mut h = 0u64;
    for _ in 0..7 {
        let t = Instant::now();
        for (i, p) in routes.iter().enumerate() {
            h = h.wrapping_add(data.rov(p, PathOrigin::Asn(Asn(i as u32 % 400_000))) as u64);
        }
        for (p, a) in &vrps {
            h = h.wrapping_add(data.rov(p, PathOrigin::Asn(*a)) as u64);
        }
        best = best.min(t.elapsed());
    }
    let n = routes.len() + vrps.len();
    println!(
        "ROV: {n} lookups, best {:.1} ms ({:.2} M/s) [{h}]",
        best.as_secs_f64() * 1000.0,
        n as f64 / best.as_secs_f64() / 1e6
    );
}
