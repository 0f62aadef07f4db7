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
    let (code, out, _) = replay_raw(true, &["--checks", "bogon", rib.to_str().unwrap()]);
    // Exit 3: the summary is there, but not every file was read whole.
    assert_eq!(code, Some(3));
    let s: Value = serde_json::from_str(&out).unwrap();
    // bgpkit-parser reads 139,291 complete entries before the cut (PROVENANCE.md).
    assert_eq!(s["routes"], 139_291);
    assert_eq!(s["files"][0]["status"], "truncated");
    // `truncated` (the error text) stays for readers of the older shape.
    let truncated = s["files"][0]["truncated"].as_str().unwrap();
    assert!(!truncated.is_empty());
    assert_eq!(s["files"][0]["error"].as_str(), Some(truncated));
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
    // A missing input is a per-file outcome (exit 3, status "unreadable"), not a refusal.
    let missing = bgpsieve(&["replay", "--json", "/nonexistent.mrt"]);
    assert_eq!(missing.status.code(), Some(3));
    assert!(String::from_utf8_lossy(&missing.stderr).contains("/nonexistent.mrt"));
    let s: Value = serde_json::from_slice(&missing.stdout).unwrap();
    assert_eq!(s["files"][0]["status"], "unreadable");
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
        assert_eq!(s["files"][0]["status"], "complete", "{file}");
    }
}

// ---- Damaged inputs (issue #13 item 6) -------------------------------------------------------
//
// Exit status of `replay`: 0 when every input was read whole; 3 when the summary was printed but
// at least one input was not (truncated, corrupt, not MRT, empty, unreadable); 1 for usage and
// configuration errors and 2 for data files (VRPs, ...) or outputs that stop the run, as before.

/// The good file given with every damaged one, and its results when replayed alone.
const GOOD: &str = "mrt/lab/bird_bgp";

/// Runs `bgpsieve replay --no-progress [--json] ARGS`: (exit code, stdout, stderr).
fn replay_raw(json: bool, args: &[&str]) -> (Option<i32>, String, String) {
    let mut all = vec!["replay", "--no-progress"];
    if json {
        all.push("--json");
    }
    all.extend_from_slice(args);
    let out = bgpsieve(&all);
    (
        out.status.code(),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

/// The damaged variants of bundled files: (name, bytes, expected status).
fn damaged_inputs() -> Vec<(&'static str, Vec<u8>, &'static str)> {
    let gz = std::fs::read(td("mrt/ris/ris.rrc06.updates.1427846400.gz")).unwrap();
    let bz = std::fs::read(td("mrt/routeviews/updates.20161101.0000.bz2")).unwrap();
    let garbage: Vec<u8> = (0..600u32).map(|i| (i * 7919 % 251) as u8).collect();
    vec![
        // Cut short right after the 10-byte gzip header: no deflate data at all.
        ("cut-after-header.gz", gz[..10].to_vec(), "truncated"),
        // Cut short inside the first deflate block: it cannot yield a whole record.
        ("cut-early.gz", gz[..40].to_vec(), "truncated"),
        (
            "header-then-garbage.gz",
            [&gz[..10], &garbage[..]].concat(),
            "corrupt",
        ),
        ("cut-after-header.bz2", bz[..10].to_vec(), "truncated"),
        (
            "header-then-garbage.bz2",
            [&bz[..4], &garbage[..]].concat(),
            "corrupt",
        ),
        (
            "notes.txt",
            b"This is a text file, not an MRT dump.\nSecond line.\n".to_vec(),
            "not_mrt",
        ),
        ("empty.mrt", Vec::new(), "empty"),
    ]
}

#[test]
fn a_damaged_input_is_a_per_file_outcome_and_the_good_files_results_stay() {
    let good = td(GOOD);
    let alone = replay_json(&[good.to_str().unwrap()]);
    assert_eq!(alone["files"][0]["status"], "complete");
    let dir = tempfile::tempdir().unwrap();
    let mut cases = damaged_inputs();
    cases.push(("does-not-exist.mrt", Vec::new(), "unreadable"));
    for (name, bytes, status) in cases {
        let bad = dir.path().join(name);
        if status != "unreadable" {
            std::fs::write(&bad, &bytes).unwrap();
        }
        let bad = bad.to_str().unwrap();
        // The damaged file first and last: neither order loses the good file's results.
        for args in [[bad, good.to_str().unwrap()], [good.to_str().unwrap(), bad]] {
            let (code, out, err) = replay_raw(true, &args);
            assert_eq!(code, Some(3), "{name}: {err}");
            let s: Value =
                serde_json::from_str(&out).unwrap_or_else(|e| panic!("{name}: {e}: {out}"));
            for key in [
                "routes",
                "accepted",
                "rejected",
                "withdrawals",
                "by_peer",
                "rpki",
            ] {
                assert_eq!(s[key], alone[key], "{name}: {key}");
            }
            let files = s["files"].as_array().unwrap();
            assert_eq!(files.len(), 2, "{name}");
            let f = files.iter().find(|f| f["file"] == bad).unwrap();
            let g = files.iter().find(|f| f["file"] != bad).unwrap();
            assert_eq!(f["status"], status, "{name}: {f}");
            assert_eq!(f["records"], 0, "{name}: {f}");
            assert_eq!(f["bytes"], 0, "{name}: {f}");
            if status == "empty" {
                assert!(f.get("error").is_none(), "{name}: {f}");
            } else {
                assert!(!f["error"].as_str().unwrap().is_empty(), "{name}: {f}");
            }
            assert_eq!(g["status"], "complete", "{name}: {g}");
            assert_eq!(g["records"], alone["files"][0]["records"], "{name}");
            assert!(g.get("error").is_none(), "{name}: {g}");
            assert!(
                err.contains(name),
                "{name}: the warning names the file: {err}"
            );
        }
        // The table says it too, and the exit status is the same.
        let (code, out, _) = replay_raw(false, &[bad, good.to_str().unwrap()]);
        assert_eq!(code, Some(3), "{name}");
        let line = out.lines().find(|l| l.contains(name)).unwrap();
        assert!(
            line.contains(&status.to_uppercase().replace('_', " ")),
            "{name}: {line}"
        );
        assert!(
            out.contains(&format!("routes {}", alone["routes"])),
            "{name}: {out}"
        );
    }
}

#[test]
fn a_text_file_says_it_is_not_mrt() {
    let dir = tempfile::tempdir().unwrap();
    let txt = dir.path().join("readme.txt");
    std::fs::write(&txt, "route-views dumps are at archive.routeviews.org\n").unwrap();
    let (code, out, _) = replay_raw(true, &[txt.to_str().unwrap()]);
    assert_eq!(code, Some(3));
    let s: Value = serde_json::from_str(&out).unwrap();
    assert_eq!(s["files"][0]["status"], "not_mrt");
    assert!(
        s["files"][0]["error"]
            .as_str()
            .unwrap()
            .contains("not an MRT file"),
        "{s}"
    );
}

/// `ris.rrc06.updates.1427846400.gz` with bytes 976..980 set to 0xff: a deflate error ("invalid
/// block type"). Python's zlib, fed a byte at a time, hands out 3,697 good bytes before it
/// (30 whole records); miniz_oxide (flate2's backend) hands out 33 whole records (4,001
/// bytes, 51 announcements), byte for byte the intact file's first 33. Before the fix the first
/// 64 KiB read failed and the run ended with exit 2 and no summary; bgpdump prints nothing.
fn corrupt_small(dir: &Path) -> std::path::PathBuf {
    let mut gz = std::fs::read(td("mrt/ris/ris.rrc06.updates.1427846400.gz")).unwrap();
    gz[976..980].copy_from_slice(&[0xff; 4]);
    let p = dir.join("rrc06-corrupt.gz");
    std::fs::write(&p, gz).unwrap();
    p
}

/// `updates.20190101.0000.gz` with bytes 650,097..650,101 set to 0xff: a deflate error
/// ("invalid stored block lengths") after 3,696,367 decompressed bytes, which hold 28,092 whole
/// MRT records (3,696,080 bytes). Before the fix replay kept 27,885 records (75,334
/// announcements): the decoder's last read before the error was thrown away. Now it keeps all
/// 28,092 (75,865 announcements, 1,218 withdrawals).
fn corrupt_big(dir: &Path) -> std::path::PathBuf {
    let mut gz = std::fs::read(td("mrt/ris/updates.20190101.0000.gz")).unwrap();
    gz[650_097..650_101].copy_from_slice(&[0xff; 4]);
    let p = dir.join("ris-2019-corrupt.gz");
    std::fs::write(&p, gz).unwrap();
    p
}

#[test]
fn a_gzip_corrupt_in_its_middle_keeps_every_whole_record_before_the_corruption() {
    let dir = tempfile::tempdir().unwrap();
    let good = td(GOOD);
    let alone = replay_json(&[good.to_str().unwrap()]);
    for (path, records, bytes, routes) in [
        (corrupt_small(dir.path()), 33, 4_001, Some(51)),
        (corrupt_big(dir.path()), 28_092, 3_696_080, None),
    ] {
        let p = path.to_str().unwrap();
        let (code, out, err) = replay_raw(true, &["--checks", "bogon", p, good.to_str().unwrap()]);
        assert_eq!(code, Some(3), "{err}");
        let s: Value = serde_json::from_str(&out).unwrap();
        let f = &s["files"][0];
        assert_eq!(f["status"], "corrupt", "{f}");
        assert_eq!(f["records"], records, "{f}");
        assert_eq!(f["bytes"], bytes, "{f}");
        assert!(f["error"].as_str().unwrap().contains("deflate"), "{f}");
        assert_eq!(s["files"][1]["status"], "complete");
        if let Some(r) = routes {
            assert_eq!(
                s["routes"].as_u64().unwrap(),
                r + alone["routes"].as_u64().unwrap()
            );
        }
    }
    // The routes kept are the intact file's first ones, verdict for verdict.
    let bad = dir.path().join("bad.jsonl");
    let intact = dir.path().join("intact.jsonl");
    let small = corrupt_small(dir.path());
    let (code, _, _) = replay_raw(
        true,
        &["--verdicts", bad.to_str().unwrap(), small.to_str().unwrap()],
    );
    assert_eq!(code, Some(3));
    let orig = td("mrt/ris/ris.rrc06.updates.1427846400.gz");
    replay_json(&[
        "--verdicts",
        intact.to_str().unwrap(),
        orig.to_str().unwrap(),
    ]);
    let (bad, intact) = (jsonl(&bad), jsonl(&intact));
    assert_eq!(bad.len(), 51);
    assert_eq!(bad[..], intact[..51]);
}

/// Elements that `bgpdump -m` prints for a file: (announcements, withdrawals).
fn bgpdump_elements(path: &Path) -> (u64, u64) {
    let out = std::process::Command::new("bgpdump")
        .arg("-m")
        .arg(path)
        .output()
        .unwrap();
    let text = String::from_utf8_lossy(&out.stdout);
    let kind = |k: &str| {
        text.lines()
            .filter(|l| l.split('|').nth(2) == Some(k))
            .count() as u64
    };
    (kind("A"), kind("W"))
}

/// bgpdump reads a corrupt gzip with zlib's gzread and prints the elements of the records it got
/// whole. We compare elements: bgpdump's A lines with our routes, its W lines with our
/// withdrawals (both count one per prefix; STATE lines have no counterpart in the summary).
/// On the big file bgpdump prints 75,680 A and 1,218 W; on the small one nothing (its first
/// read fails).
#[test]
fn mid_gzip_corruption_keeps_at_least_what_bgpdump_keeps() {
    if !common::interop::available("bgpdump") {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    for path in [corrupt_small(dir.path()), corrupt_big(dir.path())] {
        let (a, w) = bgpdump_elements(&path);
        let (code, out, err) = replay_raw(true, &["--checks", "bogon", path.to_str().unwrap()]);
        assert_eq!(code, Some(3), "{err}");
        let s: Value = serde_json::from_str(&out).unwrap();
        let routes = s["routes"].as_u64().unwrap();
        let withdrawals = s["withdrawals"].as_u64().unwrap();
        assert!(
            routes >= a && withdrawals >= w,
            "{}: bgpdump {a} A / {w} W, bgpsieve {routes} routes / {withdrawals} withdrawals",
            path.display()
        );
    }
}

#[test]
fn rpki_counters_stay_when_slurm_and_expiry_leave_no_vrp() {
    let dir = tempfile::tempdir().unwrap();
    let vrps = dir.path().join("vrps.json");
    std::fs::write(
        &vrps,
        r#"{"roas":[
            {"asn":"AS65001","prefix":"10.0.0.0/8","maxLength":24,"ta":"test"},
            {"asn":"AS65002","prefix":"192.0.2.0/24","maxLength":24,"ta":"test","expires":1000},
            {"asn":"AS65003","prefix":"2001:db8::/32","maxLength":48,"ta":"test"}
        ]}"#,
    )
    .unwrap();
    let slurm = dir.path().join("slurm.json");
    std::fs::write(
        &slurm,
        r#"{"slurmVersion":1,
            "validationOutputFilters":{"prefixFilters":[{"asn":65001},{"prefix":"2001:db8::/32"}],
                                       "bgpsecFilters":[]},
            "locallyAddedAssertions":{"prefixAssertions":[],"bgpsecAssertions":[]}}"#,
    )
    .unwrap();
    let good = td(GOOD);
    let s = replay_json(&[
        "--vrps",
        vrps.to_str().unwrap(),
        "--slurm",
        slurm.to_str().unwrap(),
        "--drop-expired",
        good.to_str().unwrap(),
    ]);
    let routes = s["routes"].as_u64().unwrap();
    assert!(routes > 0);
    assert_eq!(s["rpki"]["not_found"], routes, "{s}");
    assert_eq!(s["rpki"]["valid"], 0);
    assert_eq!(s["rpki"]["invalid"], 0);
    assert_eq!(s["rpki_data"]["removed_expired"], 1, "{s}");
    assert_eq!(s["rpki_data"]["removed_by_slurm"], 2, "{s}");
    assert_eq!(s["rpki_data"]["vrps"], 0, "{s}");
    let out = bgpsieve(&[
        "replay",
        "--no-progress",
        "--vrps",
        vrps.to_str().unwrap(),
        "--slurm",
        slurm.to_str().unwrap(),
        "--drop-expired",
        good.to_str().unwrap(),
    ]);
    assert_eq!(out.status.code(), Some(0));
    let table = String::from_utf8_lossy(&out.stdout);
    assert!(
        table.contains(&format!("rpki   valid 0   invalid 0   not-found {routes}")),
        "{table}"
    );
    assert!(table.contains("removed by SLURM 2"), "{table}");
    assert!(table.contains("expired 1"), "{table}");
    // Without VRP files there is no RPKI section, as before.
    let none = replay_json(&[good.to_str().unwrap()]);
    assert_eq!(none["rpki"]["not_found"], 0);
    assert!(none.get("rpki_data").is_none());
}
