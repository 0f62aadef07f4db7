//! The `replay` and `check-config` commands end to end: independent RFC 6811 cross-check on real
//! data, diff mode, `--checks`, truncated and malformed inputs, bad data files, exit codes.

mod common;

use common::{bgpsieve, jsonl, replay_json, td};
use serde_json::Value;
use std::collections::HashMap;
use std::path::Path;

/// A deliberately naive RFC 6811 implementation: every covering prefix is found by masking the
/// route's prefix to each shorter length and looking it up in a hash map.
struct NaiveRov(HashMap<ipnet::IpNet, Vec<(u8, u32)>>);

impl NaiveRov {
    fn load(path: &Path) -> NaiveRov {
        let f = flate2::read::GzDecoder::new(std::fs::File::open(path).unwrap());
        let v: Value = serde_json::from_reader(f).unwrap();
        let mut m: HashMap<ipnet::IpNet, Vec<(u8, u32)>> = HashMap::new();
        for r in v["roas"].as_array().unwrap() {
            let asn = match &r["asn"] {
                Value::Number(n) => n.as_u64().unwrap() as u32,
                Value::String(s) => s.trim_start_matches("AS").parse().unwrap(),
                other => panic!("asn {other}"),
            };
            let p: ipnet::IpNet = r["prefix"].as_str().unwrap().parse().unwrap();
            m.entry(p)
                .or_default()
                .push((r["maxLength"].as_u64().unwrap() as u8, asn));
        }
        NaiveRov(m)
    }

    fn state(&self, prefix: ipnet::IpNet, origin: Option<u32>) -> &'static str {
        let mut covered = false;
        for len in 0..=prefix.prefix_len() {
            let cover = ipnet::IpNet::new(prefix.addr(), len).unwrap().trunc();
            for (max, asn) in self.0.get(&cover).into_iter().flatten() {
                covered = true;
                if Some(*asn) == origin && *asn != 0 && prefix.prefix_len() <= *max {
                    return "valid";
                }
            }
        }
        if covered {
            "invalid"
        } else {
            "not_found"
        }
    }
}

#[test]
fn rpki_states_agree_with_a_naive_rfc6811_on_real_data() {
    let vrps = td("vrps/rpki-client_ripe-prepdev_20230504.json.gz");
    let naive = NaiveRov::load(&vrps);
    let dir = tempfile::tempdir().unwrap();
    let verdicts = dir.path().join("v.jsonl");
    let files = [
        td("mrt/ris/updates.20190101.0000.gz"),
        td("mrt/ris/ris.rrc06.updates.1427846400.gz"),
    ];
    let mut args = vec![
        "--vrps",
        vrps.to_str().unwrap(),
        "--verdicts",
        verdicts.to_str().unwrap(),
    ];
    args.extend(files.iter().map(|f| f.to_str().unwrap()));
    let summary = replay_json(&args);
    let mut counts: HashMap<&str, u64> = HashMap::new();
    let mut checked = 0u64;
    for v in jsonl(&verdicts) {
        let prefix: ipnet::IpNet = v["prefix"].as_str().unwrap().parse().unwrap();
        let path = v["path"].as_str().unwrap();
        // RFC 6811 §2: the origin is the last ASN of a final AS_SEQUENCE, NONE after an AS_SET.
        let origin = if path.ends_with('}') {
            None
        } else {
            path.split_whitespace().last().map(|a| a.parse().unwrap())
        };
        let want = naive.state(prefix, origin);
        assert_eq!(v["rpki"], want, "{v}");
        *counts.entry(want).or_default() += 1;
        checked += 1;
    }
    assert_eq!(checked, summary["routes"].as_u64().unwrap());
    assert_eq!(checked, 159_948 + 1_435);
    for state in ["valid", "invalid", "not_found"] {
        assert_eq!(summary["rpki"][state], counts[state], "{state}");
    }
}

#[test]
fn diff_mode_lists_routes_whose_verdict_changes() {
    let dir = tempfile::tempdir().unwrap();
    // Data set B allows YouTube's /25s: its counter-announcements turn Valid.
    let b = dir.path().join("b.json");
    std::fs::write(
        &b,
        r#"{"roas":[{"asn":"AS36561","prefix":"208.65.152.0/22","maxLength":25,"ta":"test"}]}"#,
    )
    .unwrap();
    let diff = dir.path().join("diff.jsonl");
    let a = td("incidents/youtube-2008-vrps.json");
    let mrt = td("incidents/2008-pakistan-youtube/updates.20080224.2009.bz2");
    let summary = replay_json(&[
        "--vrps",
        a.to_str().unwrap(),
        "--vrps-b",
        b.to_str().unwrap(),
        "--diff",
        diff.to_str().unwrap(),
        mrt.to_str().unwrap(),
    ]);
    assert_eq!(summary["diff"]["changed"], 10);
    assert_eq!(summary["diff"]["transitions"]["rpki invalid->valid"], 10);
    let lines = jsonl(&diff);
    assert_eq!(lines.len(), 10);
    for l in &lines {
        assert_eq!(l["rpki"], "invalid");
        assert_eq!(l["b"]["rpki"], "valid");
        assert!(l["prefix"].as_str().unwrap().ends_with("/25"), "{l}");
    }
}

#[test]
fn checks_flag_runs_only_the_named_families() {
    let a = td("incidents/youtube-2008-vrps.json");
    let mrt = td("incidents/2008-pakistan-youtube/updates.20080224.2009.bz2");
    let all = replay_json(&["--vrps", a.to_str().unwrap(), mrt.to_str().unwrap()]);
    let only = replay_json(&[
        "--vrps",
        a.to_str().unwrap(),
        "--checks",
        "rpki",
        mrt.to_str().unwrap(),
    ]);
    assert!(all["by_reason"]["prefix-length"].as_u64().unwrap() > 0);
    for (reason, n) in only["by_reason"].as_object().unwrap() {
        if reason != "rpki-invalid" {
            assert_eq!(n, 0, "{reason}");
        }
    }
    assert_eq!(
        only["by_reason"]["rpki-invalid"],
        all["by_reason"]["rpki-invalid"]
    );
    assert_eq!(only["rejected"], only["by_reason"]["rpki-invalid"]);
    // The RPKI counters are filled whatever --checks says.
    let no_rpki = replay_json(&[
        "--vrps",
        a.to_str().unwrap(),
        "--checks",
        "bogon",
        mrt.to_str().unwrap(),
    ]);
    assert_eq!(no_rpki["rpki"], all["rpki"]);
    assert_eq!(no_rpki["by_reason"]["rpki-invalid"], 0);

    let out = bgpsieve(&["replay", "--checks", "nonsense", mrt.to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&out.stderr).contains("unknown check family \"nonsense\""));
}

#[test]
fn a_truncated_file_keeps_what_was_read_and_says_so() {
    let rib = td("mrt/routeviews/rib.20080501.0644_firstMB.bz2");
    let s = replay_json(&["--checks", "bogon", rib.to_str().unwrap()]);
    // bgpkit-parser reads 139,291 complete entries before the cut (PROVENANCE.md).
    assert_eq!(s["routes"], 139_291);
    let truncated = s["files"][0]["truncated"].as_str().unwrap();
    assert!(!truncated.is_empty());
}

#[test]
fn malformed_and_unsupported_records_are_counted_not_fatal() {
    let nlri = td("mrt/ris/updates.nlri_mask_trailing_bits.gz");
    let s = replay_json(&[nlri.to_str().unwrap()]);
    assert_eq!(s["malformed_records"], 1);
    assert_eq!(s["routes"], 0);
    let mp = td("mrt/lab/openbgpd_rib_table-mp");
    let s = replay_json(&[mp.to_str().unwrap()]);
    assert_eq!(s["malformed_records"], 31);
}

#[test]
fn bad_data_files_are_refused_with_their_position() {
    let dir = tempfile::tempdir().unwrap();
    let bad = dir.path().join("bad.json");
    std::fs::write(
        &bad,
        "{\"roas\": [\n  {\"asn\": 1, \"prefix\": \"192.0.2.77/24\", \"maxLength\": 24}\n]}\n",
    )
    .unwrap();
    let mrt = td("mrt/lab/bird_bgp");
    let out = bgpsieve(&[
        "replay",
        "--vrps",
        bad.to_str().unwrap(),
        mrt.to_str().unwrap(),
    ]);
    assert_eq!(out.status.code(), Some(2));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("bad.json:2:"), "{err}");
    let missing = bgpsieve(&["replay", "/nonexistent.mrt"]);
    assert_eq!(missing.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&missing.stderr).contains("/nonexistent.mrt"));
}

#[test]
fn check_config_reports_file_line_col_and_exit_codes() {
    let ok = bgpsieve(&["check-config", "-c", "config/bgpsieve.toml"]);
    assert!(
        ok.status.success(),
        "{}",
        String::from_utf8_lossy(&ok.stderr)
    );
    assert!(String::from_utf8_lossy(&ok.stdout).contains("OK"));
    let dir = tempfile::tempdir().unwrap();
    let bad = dir.path().join("bad.toml");
    std::fs::write(
        &bad,
        "[global]\nasn = 64500\nrouter_id = \"192.0.2.1\"\nannounce = [\"203.0.113.7/24\"]\n",
    )
    .unwrap();
    let out = bgpsieve(&["check-config", "--config", bad.to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(1));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("bad.toml:4:"), "{err}");
}

#[test]
fn every_mrt_record_type_replays_with_the_parsers_counts() {
    // (file, announcements, withdrawals): the bgpkit-parser element counts of PROVENANCE.md.
    let cases = [
        ("mrt/lab/openbgpd_rib_table", 31, 0), // TABLE_DUMP (v1)
        ("mrt/routeviews/rib.20161101.0000_pick.bz2", 4, 0), // TABLE_DUMP_V2
        ("mrt/ris/bview.ipv6_unicast_add_path.gz", 62, 0), // TABLE_DUMP_V2 ADD-PATH
        ("mrt/ris/updates.19990903.1041.gz", 65_286, 25), // legacy BGP (type 5)
        ("mrt/ris/updates.20190101.0000.gz", 159_948, 2_626), // BGP4MP, IPv4 + IPv6
        ("mrt/ris/updates.et-header.2015.gz", 577_737, 3), // BGP4MP_ET
        ("mrt/lab/bird_bgp", 14, 0),           // BGP4MP with ADD-PATH
        ("mrt/lab/quagga_bgp", 18, 0),         // BGP4MP, MP-BGP IPv6
    ];
    for (file, announced, withdrawn) in cases {
        let s = replay_json(&["--checks", "bogon", td(file).to_str().unwrap()]);
        assert_eq!(s["routes"], announced, "{file}");
        assert_eq!(s["withdrawals"], withdrawn, "{file}");
        assert!(s["files"][0].get("truncated").is_none(), "{file}");
    }
}
