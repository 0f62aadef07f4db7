//! Live RPKI data (issue 4): a real StayRTR serves VRPs from a JSON file to bgpsieve over RTR;
//! BIRD 2 as neighbor → bgpsieve (a pair) → BIRD 2 as router, on loopback (127.0.0.40–43). When the ROA
//! that makes a route valid disappears at the cache (a covering ROA makes it invalid), the
//! route leaves the router within seconds, with no session reset and the other routes
//! untouched; when the ROA comes back, so does the route. Likewise an IRR prefix list edited
//! on disk (seen by bgpsieve itself, or on SIGHUP) admits and drops exactly the routes whose
//! entries changed (127.0.0.44–46). Every process is stopped by PID.

mod common;

use common::interop::{
    available, bgpsieve_daemon, bird_neighbor, bird_router, stayrtr, strings, toward_router,
    wait_for, write_vrps, Bird,
};
use std::time::{Duration, Instant};

const T: Duration = Duration::from_secs(30);

/// The neighbor (announcing 1.0.0.0/24, 5.0.0.0/24 and 6.0.0.0/24) and the router of a test,
/// with bgpsieve at `sieve`:`port`, the neighbor at `port + 1`, the router at `port + 2`.
fn birds(
    dir: &std::path::Path,
    sieve: &str,
    neighbor: &str,
    router: &str,
    port: u16,
) -> (Bird, Bird) {
    let routes = ["1.0.0.0/24", "5.0.0.0/24", "6.0.0.0/24"];
    (
        bird_neighbor(dir, neighbor, port + 1, sieve, port, &routes),
        bird_router(
            dir,
            router,
            port + 2,
            &[("sieve", &toward_router(neighbor), 20002)],
        ),
    )
}

/// 1.0.0.0/24 is valid only by its own ROA: the /16 covering it names another AS.
const WITH_ROA: &[(u32, &str, u8)] = &[
    (999, "1.0.0.0/16", 16),
    (20002, "1.0.0.0/24", 24),
    (20002, "6.0.0.0/24", 24),
];
const WITHOUT_ROA: &[(u32, &str, u8)] = &[(999, "1.0.0.0/16", 16), (20002, "6.0.0.0/24", 24)];

const BGPSIEVE: &str = r#"
[global]
asn = 20001
router_id = "127.0.0.40"
listen = ["127.0.0.40:11279"]

[rpki]
rtr = [{ address = "127.0.0.43:11283" }]

[[peer]]
name = "customer-bird"
role = "customer"
asn = 20002
address = "127.0.0.41"
local_address = "127.0.0.40"
port = 11280
idle_hold = "1s"
connect_retry = "1s"
router = { address = "127.0.0.42", local_address = "127.0.1.41", port = 11281 }
"#;

#[test]
fn a_roa_disappearing_at_the_rtr_cache_withdraws_the_route_without_a_session_reset() {
    if !available("bird") || !available("birdc") || !available("stayrtr") {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let json = write_vrps(dir.path(), WITH_ROA);
    let _cache = stayrtr(dir.path(), "stayrtr", "127.0.0.43:11283", &json, &[]);
    let (neighbor, router) = birds(dir.path(), "127.0.0.40", "127.0.0.41", "127.0.0.42", 11279);
    let sieve = bgpsieve_daemon(dir.path(), BGPSIEVE);

    let all = strings(&["1.0.0.0/24", "5.0.0.0/24", "6.0.0.0/24"]);
    wait_for(
        T,
        || router.prefixes_from("sieve") == all,
        || {
            format!(
                "router has {:?}\n{}",
                router.prefixes_from("sieve"),
                sieve.log_text()
            )
        },
    );
    assert!(
        sieve.log_text().contains("RTR cache up"),
        "the data came over RTR:\n{}",
        sieve.log_text()
    );
    let (router_since, neighbor_since) = (router.since("sieve"), neighbor.since("up"));

    // The ROA of 1.0.0.0/24 disappears at the cache: the route turns invalid.
    let t = Instant::now();
    write_vrps(dir.path(), WITHOUT_ROA);
    let rest = strings(&["5.0.0.0/24", "6.0.0.0/24"]);
    wait_for(
        T,
        || router.prefixes_from("sieve") == rest,
        || {
            format!(
                "router has {:?}\n{}",
                router.prefixes_from("sieve"),
                sieve.log_text()
            )
        },
    );
    let gone_after = t.elapsed();

    // The ROA comes back: so does the route.
    let t = Instant::now();
    write_vrps(dir.path(), WITH_ROA);
    wait_for(
        T,
        || router.prefixes_from("sieve") == all,
        || format!("router has {:?}", router.prefixes_from("sieve")),
    );
    let back_after = t.elapsed();
    eprintln!("withdrawn after {gone_after:?}, back after {back_after:?}");
    assert!(gone_after < Duration::from_secs(10) && back_after < Duration::from_secs(10));

    // No session was reset on either side.
    assert_eq!(router.since("sieve"), router_since, "router session kept");
    assert_eq!(
        neighbor.since("up"),
        neighbor_since,
        "neighbor session kept"
    );
    let log = sieve.log_text();
    assert!(!log.contains("session down"), "{log}");
    assert!(
        log.contains("RPKI data changed: routes re-checked"),
        "{log}"
    );
}

/// The customer's IRR prefix list (bgpq4 -j) holding `prefixes`, exact.
fn write_irr(dir: &std::path::Path, prefixes: &[&str]) -> std::path::PathBuf {
    let entries: Vec<String> = prefixes
        .iter()
        .map(|p| format!(r#"{{ "prefix": "{p}", "exact": true }}"#))
        .collect();
    let f = dir.join("customer.json");
    let tmp = dir.join("customer.json.tmp");
    std::fs::write(
        &tmp,
        format!("{{ \"NN\": [\n{}\n] }}\n", entries.join(",\n")),
    )
    .unwrap();
    std::fs::rename(&tmp, &f).unwrap();
    f
}

fn irr_bgpsieve(irr: &std::path::Path) -> String {
    format!(
        r#"
[global]
asn = 20001
router_id = "127.0.0.44"
listen = ["127.0.0.44:11284"]

[[peer]]
name = "customer-bird"
role = "customer"
asn = 20002
address = "127.0.0.45"
local_address = "127.0.0.44"
port = 11285
idle_hold = "1s"
connect_retry = "1s"
irr = ["{}"]
router = {{ address = "127.0.0.46", local_address = "127.0.1.45", port = 11286 }}
"#,
        irr.display()
    )
}

#[test]
fn an_irr_list_change_is_applied_without_a_session_reset() {
    if !available("bird") || !available("birdc") {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let irr = write_irr(dir.path(), &["1.0.0.0/24", "6.0.0.0/24"]);
    let (neighbor, router) = birds(dir.path(), "127.0.0.44", "127.0.0.45", "127.0.0.46", 11284);
    let sieve = bgpsieve_daemon(dir.path(), &irr_bgpsieve(&irr));
    let shown = || {
        format!(
            "router has {:?}\n{}",
            router.prefixes_from("sieve"),
            sieve.log_text()
        )
    };

    wait_for(
        T,
        || router.prefixes_from("sieve") == strings(&["1.0.0.0/24", "6.0.0.0/24"]),
        shown,
    );
    let (router_since, neighbor_since) = (router.since("sieve"), neighbor.since("up"));

    // The customer registers 5.0.0.0/24: the file changes, bgpsieve sees it by itself.
    write_irr(dir.path(), &["1.0.0.0/24", "5.0.0.0/24", "6.0.0.0/24"]);
    let all = strings(&["1.0.0.0/24", "5.0.0.0/24", "6.0.0.0/24"]);
    wait_for(T, || router.prefixes_from("sieve") == all, shown);

    // 1.0.0.0/24 is deregistered and the operator sends SIGHUP (what the IRR timer does).
    write_irr(dir.path(), &["5.0.0.0/24", "6.0.0.0/24"]);
    let hup = std::process::Command::new("kill")
        .args(["-HUP", &sieve.pid().to_string()])
        .status()
        .unwrap();
    assert!(hup.success());
    wait_for(
        Duration::from_secs(4),
        || router.prefixes_from("sieve") == strings(&["5.0.0.0/24", "6.0.0.0/24"]),
        shown,
    );

    assert_eq!(router.since("sieve"), router_since, "router session kept");
    assert_eq!(
        neighbor.since("up"),
        neighbor_since,
        "neighbor session kept"
    );
    let log = sieve.log_text();
    assert!(!log.contains("session down"), "{log}");
    assert!(log.contains("policy changed: routes re-checked"), "{log}");
    assert!(log.contains("SIGHUP: reloading"), "{log}");
}

/// A bgpsieve config with one customer (BIRD) and one router, its VRPs over RTR from `cache`,
/// on `sieve` (its listen port `port`; the neighbor's `port + 1`, the router's `port + 2`).
fn rtr_config(
    sieve: &str,
    neighbor: &str,
    router: &str,
    port: u16,
    cache: &str,
    extra: &str,
) -> String {
    format!(
        r#"
[global]
asn = 20001
router_id = "{sieve}"
listen = ["{sieve}:{port}"]

[rpki]
rtr = [{{ address = "{cache}" }}]
{extra}

[[peer]]
name = "customer-bird"
role = "customer"
asn = 20002
address = "{neighbor}"
local_address = "{sieve}"
port = {}
idle_hold = "1s"
connect_retry = "1s"
router = {{ address = "{router}", local_address = "{}", port = {} }}
"#,
        port + 1,
        toward_router(neighbor),
        port + 2
    )
}

#[test]
fn when_the_rtr_cache_is_gone_past_expire_its_data_is_dropped_and_routes_are_not_found() {
    if !available("bird") || !available("birdc") || !available("stayrtr") {
        return;
    }
    let (sieve_ip, cache) = ("127.0.0.53", "127.0.0.56:11293");
    let dir = tempfile::tempdir().unwrap();
    let json = write_vrps(dir.path(), WITHOUT_ROA);
    let mut stayrtr_proc = stayrtr(dir.path(), "stayrtr", cache, &json, &[]);
    let (_neighbor, router) = birds(dir.path(), sieve_ip, "127.0.0.54", "127.0.0.55", 11290);
    let cfg = rtr_config(
        sieve_ip,
        "127.0.0.54",
        "127.0.0.55",
        11290,
        cache,
        "expire = \"3s\"",
    );
    let sieve = bgpsieve_daemon(dir.path(), &cfg);
    let shown = || {
        format!(
            "router has {:?}\n{}",
            router.prefixes_from("sieve"),
            sieve.log_text()
        )
    };
    // 1.0.0.0/24 is invalid (only the covering /16 of AS999 exists).
    wait_for(
        T,
        || router.prefixes_from("sieve") == strings(&["5.0.0.0/24", "6.0.0.0/24"]),
        shown,
    );

    // The cache goes away: the data stays in force until `expire`, then (fail_open, the
    // default) it is dropped and every route is NotFound.
    let t = Instant::now();
    stayrtr_proc.terminate();
    std::thread::sleep(Duration::from_millis(1500));
    assert_eq!(
        router.prefixes_from("sieve"),
        strings(&["5.0.0.0/24", "6.0.0.0/24"]),
        "kept until expiry"
    );
    let all = strings(&["1.0.0.0/24", "5.0.0.0/24", "6.0.0.0/24"]);
    wait_for(T, || router.prefixes_from("sieve") == all, shown);
    let after = t.elapsed();
    assert!(
        after >= Duration::from_secs(2),
        "not before the expire interval: {after:?}"
    );
    let log = sieve.log_text();
    assert!(log.contains("RTR data expired"), "{log}");
    assert!(!log.contains("session down"), "{log}");
}

#[test]
fn the_circuit_breaker_holds_a_60_percent_shrink_until_ctl_rpki_accept() {
    if !available("bird") || !available("birdc") || !available("stayrtr") {
        return;
    }
    let (sieve_ip, cache) = ("127.0.0.57", "127.0.0.61:11297");
    let dir = tempfile::tempdir().unwrap();
    // 100 VRPs: the three of WITH_ROA and 97 others.
    let fillers: Vec<String> = (0..97).map(|i| format!("11.0.{i}.0/24")).collect();
    let mut full: Vec<(u32, &str, u8)> = WITH_ROA.to_vec();
    full.extend(fillers.iter().map(|p| (64999, p.as_str(), 24)));
    let json = write_vrps(dir.path(), &full);
    let _cache = stayrtr(dir.path(), "stayrtr", cache, &json, &[]);
    let (_neighbor, router) = birds(dir.path(), sieve_ip, "127.0.0.58", "127.0.0.59", 11294);
    let sieve = bgpsieve_daemon(
        dir.path(),
        &rtr_config(sieve_ip, "127.0.0.58", "127.0.0.59", 11294, cache, ""),
    );
    let api_addr = common::interop::api_address(&rtr_config(sieve_ip, "", "", 11294, cache, ""));
    let api = format!("http://{api_addr}");
    let rpki = || -> serde_json::Value {
        serde_json::from_str(&common::interop::ctl(&api, &["rpki", "-j"]).1).unwrap_or_default()
    };
    let all = strings(&["1.0.0.0/24", "5.0.0.0/24", "6.0.0.0/24"]);
    let shown = || {
        format!(
            "router has {:?}\n{}",
            router.prefixes_from("sieve"),
            sieve.log_text()
        )
    };
    wait_for(T, || router.prefixes_from("sieve") == all, shown);
    wait_for(T, || rpki()["vrps_v4"] == 100, || rpki().to_string());

    // 60 of the 100 VRPs go, among them the ROA of 1.0.0.0/24: held, nothing changes.
    let kept: Vec<(u32, &str, u8)> = full
        .iter()
        .filter(|(_, p, _)| *p != "1.0.0.0/24")
        .take(40)
        .copied()
        .collect();
    write_vrps(dir.path(), &kept);
    wait_for(
        T,
        || rpki()["circuit_breaker"]["held"] == true,
        || rpki().to_string(),
    );
    let status = rpki();
    assert_eq!(status["vrps_v4"], 100, "the data in force stays: {status}");
    let why = status["circuit_breaker"]["why"]
        .as_str()
        .unwrap_or_default();
    assert!(why.contains("60% of the VRPs (100 -> 40)"), "{why}");
    let metrics = common::interop::http_get(&api_addr, "/metrics");
    assert!(
        metrics.contains("bgpsieve_rpki_circuit_breaker_held 1"),
        "{metrics}"
    );
    assert_eq!(router.prefixes_from("sieve"), all, "no route moved");

    // The operator accepts it: it goes in force, and the route it invalidates leaves.
    let (code, out, err) = common::interop::ctl(&api, &["rpki", "accept"]);
    assert_eq!(code, 0, "{out}{err}");
    wait_for(
        T,
        || router.prefixes_from("sieve") == strings(&["5.0.0.0/24", "6.0.0.0/24"]),
        shown,
    );
    let status = rpki();
    assert_eq!(
        (
            status["vrps_v4"].clone(),
            status["circuit_breaker"]["held"].clone()
        ),
        (40.into(), false.into()),
        "{status}"
    );
    let (code, _, _) = common::interop::ctl(&api, &["rpki", "accept"]);
    assert_eq!(code, 1, "nothing is held any more");
}

/// A daemon of one pair (whose neighbor and router never come) fed by the RTR cache `cache`.
fn lone_rtr_daemon(
    dir: &std::path::Path,
    sieve: &str,
    cache: &str,
) -> (common::interop::Proc, String) {
    let cfg = rtr_config(sieve, "127.0.0.66", "127.0.0.67", 11300, cache, "");
    let api = common::interop::api_address(&cfg);
    (bgpsieve_daemon(dir, &cfg), api)
}

#[test]
fn the_api_answers_during_the_wait_for_rtr_data_and_says_it_is_starting() {
    // A "cache" that accepts connections and never answers: the daemon waits 10 s for data.
    let silent = std::net::TcpListener::bind("127.0.0.65:11301").unwrap();
    let dir = tempfile::tempdir().unwrap();
    let t = Instant::now();
    let (sieve, api) = lone_rtr_daemon(dir.path(), "127.0.0.63", "127.0.0.65:11301");
    wait_for(
        Duration::from_secs(5),
        || common::interop::http_status(&api, "/api/v1/rpki") == Some(200),
        || format!("no API within 5 s of the start\n{}", sieve.log_text()),
    );
    assert!(
        t.elapsed() < Duration::from_secs(8),
        "API up only after the wait"
    );
    let status: serde_json::Value =
        serde_json::from_str(&common::interop::http_get(&api, "/api/v1/rpki")).unwrap();
    assert_eq!(status["starting"], true, "{status}");
    assert_eq!(status["caches"][0]["up"], false, "{status}");
    assert_eq!(
        common::interop::http_status(&api, "/api/v1/explain?prefix=192.0.2.0/24&path=64500"),
        Some(503),
        "explain has no RPKI data to explain with yet"
    );
    assert_eq!(common::interop::http_status(&api, "/metrics"), Some(200));
    wait_for(
        Duration::from_secs(20),
        || {
            serde_json::from_str::<serde_json::Value>(&common::interop::http_get(
                &api,
                "/api/v1/rpki",
            ))
            .is_ok_and(|s| s["starting"] == false)
        },
        || sieve.log_text(),
    );
    assert_eq!(
        common::interop::http_status(&api, "/api/v1/explain?prefix=192.0.2.0/24&path=64500"),
        Some(200)
    );
    drop(silent);
}

#[test]
fn a_cache_that_answers_during_the_start_up_wait_shows_up_with_its_serial() {
    if !available("stayrtr") {
        return;
    }
    let (sieve_ip, cache) = ("127.0.0.68", "127.0.0.64:11302");
    let dir = tempfile::tempdir().unwrap();
    let json = write_vrps(dir.path(), WITH_ROA);
    let _cache = stayrtr(dir.path(), "stayrtr", cache, &json, &[]);
    std::thread::sleep(Duration::from_millis(500));
    let (sieve, api) = lone_rtr_daemon(dir.path(), sieve_ip, cache);
    let rpki = || -> serde_json::Value {
        match common::interop::http_status(&api, "/api/v1/rpki") {
            Some(200) => serde_json::from_str(&common::interop::http_get(&api, "/api/v1/rpki"))
                .unwrap_or_default(),
            _ => serde_json::Value::Null,
        }
    };
    wait_for(
        T,
        || rpki()["vrps_v4"] == WITH_ROA.len(),
        || format!("{}\n{}", rpki(), sieve.log_text()),
    );
    let status = rpki();
    let c = &status["caches"][0];
    assert_eq!(
        (c["address"].as_str(), c["up"].as_bool()),
        (Some(cache), Some(true)),
        "{status}"
    );
    assert!(c["serial"].is_u64(), "{status}");
    assert_eq!(status["starting"], false, "{status}");
    // Freshness: when the data last changed and was last confirmed, and its age.
    assert!(
        c["last_update"].is_i64() && c["last_sync"].is_i64(),
        "{status}"
    );
    assert!(
        c["age_s"].as_i64().is_some_and(|a| (0..60).contains(&a)),
        "{status}"
    );
    let metrics = common::interop::http_get(&api, "/metrics");
    let line = |name: &str| {
        metrics
            .lines()
            .find(|l| l.starts_with(name) && l.contains(cache))
            .map(str::to_string)
    };
    assert_eq!(
        line("bgpsieve_rtr_up").as_deref(),
        Some(format!("bgpsieve_rtr_up{{cache=\"{cache}\"}} 1").as_str()),
        "{metrics}"
    );
    assert!(line("bgpsieve_rtr_serial").is_some(), "{metrics}");
    let updated = line("bgpsieve_rpki_source_updated_timestamp_seconds").unwrap_or_default();
    assert!(
        updated.starts_with(&format!(
            "bgpsieve_rpki_source_updated_timestamp_seconds{{source=\"rtr:{cache}\"}} "
        )),
        "{metrics}"
    );
}
