//! Replays of real incidents through the `bgpsieve replay` command, with exact counts.

mod common;

use common::{jsonl, replay_json as run_json, td};
use serde_json::Value;
use std::collections::{HashMap, HashSet};
use std::path::PathBuf;

fn origin(path: &str) -> u32 {
    path.split_whitespace().last().unwrap().parse().unwrap()
}

#[test]
fn pakistan_telecom_hijack_of_youtube_2008_is_rpki_invalid() {
    let dir = tempfile::tempdir().unwrap();
    let verdicts = dir.path().join("verdicts.jsonl");
    let files: Vec<PathBuf> = ["1839", "1854", "2009", "2056"]
        .iter()
        .map(|t| {
            td(&format!(
                "incidents/2008-pakistan-youtube/updates.20080224.{t}.bz2"
            ))
        })
        .collect();
    let vrps = td("incidents/youtube-2008-vrps.json");
    let mut args: Vec<&std::ffi::OsStr> = vec![
        "--vrps".as_ref(),
        vrps.as_os_str(),
        "--verdicts".as_ref(),
        verdicts.as_os_str(),
    ];
    args.extend(files.iter().map(|f| f.as_os_str()));
    let summary = run_json(&args);
    // bgpdump -m over the four files: 38263 + 72048 + 52508 + 71092 announcements.
    assert_eq!(summary["routes"], 233_911);
    assert_eq!(summary["withdrawals"], 5669 + 10439 + 6277 + 8735);
    assert_eq!(summary["malformed_records"], 0);

    let youtube_space: ipnet::IpNet = "208.65.152.0/22".parse().unwrap();
    let mut seen: HashMap<(u32, String, String), usize> = HashMap::new();
    for v in jsonl(&verdicts) {
        let prefix: ipnet::IpNet = v["prefix"].as_str().unwrap().parse().unwrap();
        if !youtube_space.contains(&prefix) {
            continue;
        }
        let o = origin(v["path"].as_str().unwrap());
        let reasons: Vec<&str> = v["reasons"]
            .as_array()
            .unwrap()
            .iter()
            .map(|r| r.as_str().unwrap())
            .collect();
        let rpki = v["rpki"].as_str().unwrap().to_string();
        if o == 17557 {
            assert!(reasons.contains(&"rpki-invalid"), "{v}");
        } else {
            assert_eq!(o, 36561, "{v}");
            assert!(
                !reasons.contains(&"rpki-invalid") || prefix.prefix_len() > 24,
                "{v}"
            );
        }
        *seen.entry((o, prefix.to_string(), rpki)).or_default() += 1;
    }
    let count = |o, p: &str, s: &str| seen.get(&(o, p.to_string(), s.to_string())).copied();
    // Every one of Pakistan Telecom's 72 announcements of the /24 is Invalid.
    assert_eq!(count(17557, "208.65.153.0/24", "invalid"), Some(72));
    // YouTube's own /22 and /24 are Valid; its /25 counter-announcements exceed the ROA's
    // maxLength /24 and are Invalid by RFC 6811 (the maxLength trap; see PROVENANCE.md).
    assert_eq!(count(36561, "208.65.152.0/22", "valid"), Some(1));
    assert_eq!(count(36561, "208.65.153.0/24", "valid"), Some(5));
    assert_eq!(count(36561, "208.65.153.0/25", "invalid"), Some(5));
    assert_eq!(count(36561, "208.65.153.128/25", "invalid"), Some(5));
    assert_eq!(seen.values().sum::<usize>(), 88);
}

/// Independent oracle for upstream ASPA verification: a path is Invalid exactly when some hop's
/// customer has an ASPA record that does not name the AS to its left.
fn upstream_invalid(path: &[u32], aspa: &HashMap<u32, HashSet<u32>>) -> bool {
    path.windows(2)
        .any(|w| aspa.get(&w[1]).is_some_and(|provs| !provs.contains(&w[0])))
}

/// A config for the two rrc06 peers, lateral peers of the collector, each with a burst guard
/// (`rate` names its limit) that tears the session down for 10 minutes.
fn rrc06_config(dir: &std::path::Path, rate: &str) -> PathBuf {
    let guard =
        format!("burst_guard = {{ {rate}, action = \"teardown\", restart_after = \"10m\" }}");
    let text = format!(
        r#"
[global]
asn = 64500
router_id = "192.0.2.1"

[[peer]]
name = "iij"
role = "peer"
asn = 2497
address = "202.249.2.169"
{guard}

[[peer]]
name = "rrc06-25152"
role = "peer"
asn = 25152
address = "202.249.2.185"
{guard}
"#
    );
    let path = dir.join("bgpsieve.toml");
    std::fs::write(&path, text).unwrap();
    path
}

#[test]
fn google_leak_2017_is_aspa_invalid_and_trips_the_burst_guard() {
    let dir = tempfile::tempdir().unwrap();
    let verdicts = dir.path().join("verdicts.jsonl");
    // A burst guard as an operator would set it (DESIGN §7's example: 5000 new prefixes a minute).
    let config = rrc06_config(dir.path(), "new_prefixes_per_min = 5000");
    let aspa_file = td("incidents/google-2017-aspa.json");
    let csv = td("incidents/2017-google-japan-leak/googleleak_rrc06_updates.csv.gz");
    let summary = run_json(&[
        "--config".as_ref(),
        config.as_os_str(),
        "--aspa".as_ref(),
        aspa_file.as_os_str(),
        "--checks".as_ref(),
        "aspa,max-prefix".as_ref(),
        "--verdicts".as_ref(),
        verdicts.as_os_str(),
        csv.as_os_str(),
    ]);
    assert_eq!(summary["routes"], 233_342);
    assert_eq!(summary["withdrawals"], 99_316);

    // The burst guard fires once, on IIJ's session, in the leak's second minute (03:23 UTC),
    // and never on the other peer; after the 10-minute hold the leak is over.
    let trips = summary["max_prefix_trips"].as_array().unwrap();
    assert_eq!(trips.len(), 1, "{trips:?}");
    assert_eq!(trips[0]["peer"], "2497@202.249.2.169");
    assert_eq!(trips[0]["kind"], "burst-new");
    assert_eq!(trips[0]["action"], "teardown");
    let at = trips[0]["at"].as_u64().unwrap();
    assert!((1_503_631_380..1_503_631_440).contains(&at), "{at}");
    // While the session was down (10 minutes), IIJ's routes, the leak among them, were dropped.
    assert!(summary["by_reason"]["max-prefix"].as_u64().unwrap() > 100_000);

    let aspa: HashMap<u32, HashSet<u32>> = {
        let v: Value = serde_json::from_reader(std::fs::File::open(&aspa_file).unwrap()).unwrap();
        v["aspas"]
            .as_array()
            .unwrap()
            .iter()
            .map(|r| {
                let provs = r["providers"].as_array().unwrap().iter();
                (
                    r["customer_asid"].as_u64().unwrap() as u32,
                    provs.map(|p| p.as_u64().unwrap() as u32).collect(),
                )
            })
            .collect()
    };
    let (mut leaked, mut leaked_invalid, mut other_invalid, mut disagreements) = (0, 0, 0, 0);
    let mut with_set = 0;
    for v in jsonl(&verdicts) {
        let text = v["path"].as_str().unwrap();
        let invalid = v["aspa"] == "invalid";
        if text.contains('{') {
            // The draft makes any path with an AS_SET Invalid.
            with_set += 1;
            assert!(invalid, "{v}");
            continue;
        }
        let mut path: Vec<u32> = text
            .split_whitespace()
            .map(|a| a.parse().unwrap())
            .collect();
        path.dedup();
        if invalid != upstream_invalid(&path, &aspa) {
            disagreements += 1;
        }
        let leak = path.windows(3).any(|w| w[0] == 701 && w[1] == 15169);
        if leak {
            leaked += 1;
            leaked_invalid += usize::from(invalid);
        } else {
            other_invalid += usize::from(invalid);
        }
    }
    assert_eq!(disagreements, 0);
    // 143,117 leaked announcements (... 701 15169 X ...); 117,539 of them pass through a network
    // with an ASPA record and are Invalid; no other announcement is.
    assert_eq!(leaked, 143_117);
    assert_eq!(leaked_invalid, 117_539);
    assert_eq!(other_invalid, 0);
    assert_eq!(summary["aspa"]["invalid"], 117_539 + with_set);
}

#[test]
fn google_leak_2017_trips_the_more_specifics_burst_guard() {
    // The leak was mostly more-specifics of routes already in the table (Google passed on its
    // peers' internal de-aggregates). A guard on more-specifics alone, at 1000 a minute, never
    // fires in the 22 minutes before the leak and fires in its first minute.
    let dir = tempfile::tempdir().unwrap();
    let config = rrc06_config(dir.path(), "more_specifics_per_min = 1000");
    let csv = td("incidents/2017-google-japan-leak/googleleak_rrc06_updates.csv.gz");
    let s = run_json(&[
        "--config".as_ref(),
        config.as_os_str(),
        "--checks".as_ref(),
        "max-prefix".as_ref(),
        csv.as_os_str(),
    ]);
    let trips = s["max_prefix_trips"].as_array().unwrap();
    assert_eq!(trips.len(), 1, "{trips:?}");
    assert_eq!(trips[0]["peer"], "2497@202.249.2.169");
    assert_eq!(trips[0]["kind"], "burst-more-specific");
    let at = trips[0]["at"].as_u64().unwrap();
    // The leak's first announcements reach rrc06 at 1503631377 (03:22:57 UTC).
    assert!((1_503_631_377..1_503_631_440).contains(&at), "{at}");
    assert!(trips[0]["routes_withdrawn"].as_u64().unwrap() > 10_000);
}

/// The live side of incidents, with the real daemon on loopback (127.0.2.10–13, ports
/// 12270–12290): a neighbor (BIRD) trips its max-prefix limit; the incident's first report and
/// its follow-ups (the operator's `ctl clear`, the session's return) reach a webhook; the
/// operator marks and comments it with `ctl`; `ctl incident show` prints the report; bgpsieve
/// restarts (stopped by PID, started again on the same state directory) and the incident is
/// there with its marks and comment, and the next one takes the next id.
mod live {
    use super::common::interop::{
        available, bgpsieve_daemon, bird_router, bird_speaker, ctl, wait_for, Bird,
    };
    use serde_json::Value;
    use std::sync::mpsc;
    use std::time::Duration;

    const T: Duration = Duration::from_secs(30);
    const API: &str = "http://127.0.2.10:12280";
    const STEADY: [&str; 4] = ["1.0.0.0/24", "1.0.1.0/24", "1.0.2.0/24", "1.0.3.0/24"];
    const EXCESS: [&str; 3] = ["1.1.0.0/24", "1.1.1.0/24", "1.1.2.0/24"];

    const CONFIG: &str = r#"
[global]
asn = 20001
router_id = "127.0.2.10"
listen = ["127.0.2.10:12270"]
announce = ["20.0.0.0/24"]

[api]
listen = "127.0.2.10:12280"

[incidents]
webhook = "http://127.0.2.10:12290/incident"

[[peer]]
name = "customer-leak"
role = "customer"
asn = 20002
address = "127.0.2.11"
local_address = "127.0.2.10"
port = 12271
idle_hold = "1s"
connect_retry = "1s"
max_prefix_in = { ipv4 = 5, action = "teardown" }
router = { address = "127.0.2.12", local_address = "127.0.2.13", port = 12272 }
"#;

    /// A NOC's webhook on 127.0.2.10:12290: answers 204 to every POST and hands over each
    /// body as JSON.
    fn webhook() -> mpsc::Receiver<Value> {
        let hook = std::net::TcpListener::bind("127.0.2.10:12290").unwrap();
        let (tx, rx) = mpsc::channel();
        std::thread::spawn(move || {
            use std::io::{Read, Write};
            while let Ok((mut s, _)) = hook.accept() {
                s.set_read_timeout(Some(Duration::from_secs(5))).unwrap();
                let mut got = Vec::new();
                let mut buf = [0u8; 8192];
                let mut body = None;
                while let Ok(n) = s.read(&mut buf) {
                    if n == 0 {
                        break;
                    }
                    got.extend_from_slice(&buf[..n]);
                    let text = String::from_utf8_lossy(&got).into_owned();
                    if let Some((head, b)) = text.split_once("\r\n\r\n") {
                        let len = head
                            .lines()
                            .find_map(|l| l.strip_prefix("Content-Length: "))
                            .and_then(|v| v.trim().parse::<usize>().ok());
                        if len.is_some_and(|len| b.len() >= len) {
                            body = Some(b.to_string());
                            break;
                        }
                    }
                }
                let _ = s.write_all(b"HTTP/1.1 204 No Content\r\nContent-Length: 0\r\n\r\n");
                if let Some(b) = body {
                    if tx.send(serde_json::from_str(&b).unwrap()).is_err() {
                        return;
                    }
                }
            }
        });
        rx
    }

    /// Webhook bodies until one matches `want` (or `T` passes: panics with what came).
    fn until(posted: &mpsc::Receiver<Value>, seen: &mut Vec<Value>, want: impl Fn(&Value) -> bool) {
        let deadline = std::time::Instant::now() + T;
        while !seen.iter().any(&want) {
            let left = deadline.saturating_duration_since(std::time::Instant::now());
            match posted.recv_timeout(left) {
                Ok(v) => seen.push(v),
                Err(_) => panic!("webhook: not the report expected; got {seen:#?}"),
            }
        }
    }

    /// `ctl incident show ID -j` (`null` while the API's view does not have it yet).
    fn incident_json(id: u64) -> Value {
        let (_, out, _) = ctl(API, &["incident", "show", &id.to_string(), "-j"]);
        serde_json::from_str(&out).unwrap_or(Value::Null)
    }

    #[test]
    fn an_incident_is_reported_followed_up_marked_and_kept_across_a_restart() {
        if !available("bird") || !available("birdc") {
            return;
        }
        let dir = tempfile::tempdir().unwrap();
        let posted = webhook();
        let statics = [
            ("steady", STEADY.map(String::from).to_vec()),
            ("excess", EXCESS.map(String::from).to_vec()),
        ];
        let statics: Vec<(&str, &[String])> =
            statics.iter().map(|(n, r)| (*n, r.as_slice())).collect();
        let neighbor: Bird = bird_speaker(
            dir.path(),
            "neighbor",
            ("127.0.2.11", 12271, 20002),
            ("127.0.2.10", 12270),
            &statics,
        );
        neighbor.cli("disable excess");
        let router = bird_router(
            dir.path(),
            "127.0.2.12",
            12272,
            &[("sieve", "127.0.2.13", 20002)],
        );
        let mut sieve = bgpsieve_daemon(dir.path(), CONFIG);
        let steady: Vec<String> = STEADY.map(String::from).to_vec();
        wait_for(
            T,
            || router.prefixes_from("sieve") == steady,
            || sieve.log_text(),
        );

        // The leak: over the limit, the session is torn down and held down.
        neighbor.cli("enable excess");
        let mut seen = Vec::new();
        until(&posted, &mut seen, |v| v["report"] == "first");
        let first = seen
            .iter()
            .find(|v| v["report"] == "first")
            .unwrap()
            .clone();
        assert_eq!(first["id"], 1, "{first}");
        assert_eq!(first["kind"], "max-prefix");
        assert_eq!(first["action"], "teardown");
        assert_eq!(first["peer"], "customer-leak");
        assert_eq!(first["peer_asn"], 20002);
        assert_eq!(first["router"], "127.0.2.12");
        assert_eq!(first["router_asn"], 20001);
        let impact = &first["impact"];
        assert!(impact["prefixes"].as_u64().unwrap() >= 6, "{first}");
        assert!(impact["ipv4_slash24"].as_u64().unwrap() >= 6, "{first}");
        assert_eq!(impact["origin_ases"], 1, "{first}");
        // The steady routes and the first excess one reached the router before the trip.
        assert!(
            impact["reached_router_before_trip"].as_u64().unwrap() >= 5,
            "{first}"
        );
        wait_for(
            T,
            || router.prefixes_from("sieve").is_empty(),
            || sieve.log_text(),
        );

        // The neighbor fixes its leak; the operator clears the hold: follow-ups.
        neighbor.cli("disable excess");
        wait_for(
            T,
            || ctl(API, &["clear", "customer-leak"]).0 == 0,
            || sieve.log_text(),
        );
        until(&posted, &mut seen, |v| {
            v["report"] == "follow-up" && v["id"] == 1 && v["follow_up"]["kind"] == "cleared"
        });
        until(&posted, &mut seen, |v| {
            v["report"] == "follow-up" && v["follow_up"]["kind"] == "session-up"
        });
        wait_for(
            T,
            || router.prefixes_from("sieve") == steady,
            || sieve.log_text(),
        );

        // The operator marks and comments it.
        let (code, out, err) = ctl(
            API,
            &[
                "incident",
                "mark",
                "1",
                "--publish",
                "no",
                "--share-operators",
                "yes",
                "--share-regulator",
                "yes",
            ],
        );
        assert_eq!(code, 0, "{err}");
        assert_eq!(
            out,
            "incident 1: publish no, share with operators yes, share with the regulator yes\n"
        );
        let (code, out, err) = ctl(
            API,
            &[
                "incident", "comment", "1", "customer", "fixed", "its", "export", "filter",
            ],
        );
        assert_eq!(
            (code, out.as_str()),
            (0, "incident 1: comment set\n"),
            "{err}"
        );
        let (code, _, err) = ctl(API, &["incident", "mark", "99", "--publish", "yes"]);
        assert_eq!((code, err.as_str()), (1, "error: no incident 99\n"));

        // The report, as an operator pastes it.
        wait_for(
            T,
            || incident_json(1)["comment"]["text"] == "customer fixed its export filter",
            || format!("{}", incident_json(1)),
        );
        let (_, report, _) = ctl(API, &["incident", "show", "1"]);
        for line in [
            "Leak incident 1 (customer-leak, AS20002)",
            "  Router:   127.0.2.12, AS20001 (the reporting network)",
            "  max-prefix: ipv4 prefixes 6 over the limit of 5",
            "  Action:   teardown: the session with the neighbor was closed",
            "  State:    resolved",
            "  May be published:                    no",
            "  May be shared with other operators:  yes",
            "  May be shared with the regulator:    yes",
            "  customer fixed its export filter",
        ] {
            assert!(report.contains(line), "{line:?} not in\n{report}");
        }
        assert!(
            report.contains(" UTC  cleared: an operator cleared the hold"),
            "{report}"
        );
        assert!(report.contains(" UTC  session-up: "), "{report}");

        // A restart: the incident comes back from the state directory with its marks.
        let before = sieve.log_text();
        assert!(sieve.terminate(), "clean exit\n{before}");
        let file = dir.path().join("state").join("incidents.jsonl");
        let saved = std::fs::read_to_string(&file).unwrap();
        assert!(saved.lines().count() >= 1, "{saved}");
        sieve = bgpsieve_daemon(dir.path(), CONFIG);
        wait_for(
            T,
            || ctl(API, &["incident", "show", "1", "-j"]).0 == 0,
            || sieve.log_text(),
        );
        let back = incident_json(1);
        assert_eq!(back["marks"]["publish"], false, "{back}");
        assert_eq!(back["marks"]["share_operators"], true);
        assert_eq!(back["marks"]["share_regulator"], true);
        assert_eq!(back["comment"]["text"], "customer fixed its export filter");
        assert_eq!(back["state"], "resolved");
        assert!(sieve
            .log_text()
            .contains("incidents: 1 loaded from earlier runs"));

        // The next incident takes the next id.
        wait_for(
            T,
            || router.prefixes_from("sieve") == steady,
            || sieve.log_text(),
        );
        neighbor.cli("enable excess");
        until(&posted, &mut seen, |v| {
            v["report"] == "first" && v["id"] == 2
        });
        let ids = || {
            let (_, table, _) = ctl(API, &["incident", "list"]);
            table
                .lines()
                .skip(1)
                .filter_map(|l| l.split_whitespace().next().map(str::to_string))
                .filter(|w| w.parse::<u64>().is_ok())
                .collect::<Vec<String>>()
        };
        wait_for(
            T,
            || ids() == ["2", "1"],
            || ctl(API, &["incident", "list"]).1,
        );
        drop(sieve);
    }
}
