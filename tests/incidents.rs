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
