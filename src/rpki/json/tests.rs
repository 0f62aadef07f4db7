//! Loader tests on real files (testdata/vrps, see testdata/PROVENANCE.md) and on broken input.
//! Expected counts were computed independently with python3's `json` and `ipaddress` modules.

use super::*;
use crate::rpki::{AspaState, RovState, RpkiData};
use crate::types::{AsPath, PathOrigin};
use std::sync::OnceLock;

fn testdata(name: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("testdata/vrps")
        .join(name)
}

fn all() -> LoadOptions {
    LoadOptions::default()
}

fn load(name: &str) -> RpkiFile {
    load_vrp_file(&testdata(name), &all()).unwrap()
}

fn write(dir: &tempfile::TempDir, name: &str, text: &str) -> PathBuf {
    let path = dir.path().join(name);
    std::fs::write(&path, text).unwrap();
    path
}

const PREPDEV: &str = "rpki-client_ripe-prepdev_20230504.json.gz";

/// The 424k-VRP file, loaded once for all tests (it takes seconds in a debug build).
fn prepdev() -> &'static (RpkiFile, RpkiData) {
    static DATA: OnceLock<(RpkiFile, RpkiData)> = OnceLock::new();
    DATA.get_or_init(|| {
        let f = load(PREPDEV);
        let d = RpkiData::new(f.vrps.clone(), f.aspas.clone());
        (f, d)
    })
}

#[test]
fn rpki_client_prepdev_gzip_loads_every_vrp_and_aspa() {
    let (f, d) = prepdev();
    // 424,223 ROAs (323,603 IPv4, 100,620 IPv6), all distinct; 6,647 ASPAs per address family
    // in "provider_authorizations", 13,294 records for 6,647 customers.
    assert_eq!(f.vrps.len(), 424_223);
    assert_eq!(f.aspas.len(), 13_294);
    assert_eq!(f.dropped_expired, 0);
    assert_eq!(d.vrp_count(), (323_603, 100_620));
    assert_eq!(d.aspa_count(), 6_647);
    assert_eq!(d.iter_aspas().map(|(_, p)| p.len()).sum::<usize>(), 26_852);
    assert_eq!(f.vrps.iter().filter(|v| v.asn == Asn(0)).count(), 466);
    // The first entry, field by field.
    assert_eq!(
        f.vrps[0],
        Vrp {
            prefix: "1.178.112.0/20".parse().unwrap(),
            max_len: 20,
            asn: Asn(12975),
            ta: Some("ripe-prepdev-https".into()),
            expires: Some(1_683_277_596),
        }
    );
    assert_eq!(d.trust_anchors(), &[Arc::<str>::from("ripe-prepdev-https")]);
    // Memory guard for ~1M production VRPs: under 32 bytes per VRP (about 18 today).
    assert!(d.mem_size() < 424_223 * 32, "{} bytes", d.mem_size());
    // AS28 has different ipv4 and ipv6 provider sets; the snapshot holds their union.
    let p = |v: &[u32]| v.iter().map(|a| Asn(*a)).collect::<Vec<_>>();
    assert_eq!(
        d.aspa_providers(Asn(28)).map(<[Asn]>::to_vec),
        Some(p(&[41881, 57485, 60637, 61036, 204096, 210051]))
    );
    assert_eq!(
        d.aspa_providers(Asn(513)).map(<[Asn]>::to_vec),
        Some(p(&[0, 204694]))
    );
}

#[test]
fn rov_on_the_prepdev_snapshot_matches_a_naive_rfc6811_implementation() {
    use RovState::*;
    let (_, d) = prepdev();
    // Expected states from a straightforward python loop over all 424,223 VRPs.
    let cases: &[(&str, u32, RovState)] = &[
        ("1.178.112.0/20", 12975, Valid),
        ("1.178.112.0/20", 64496, Invalid),
        ("1.178.112.0/21", 12975, Invalid),
        ("2.59.174.0/24", 20473, Valid),
        ("2.59.174.0/24", 64496, Invalid),
        ("2.59.174.255/32", 20473, Valid),
        ("77.75.224.64/26", 6453, Valid),
        ("77.75.224.64/26", 64496, Invalid),
        ("77.75.224.64/27", 6453, Invalid),
        ("185.128.249.0/24", 50763, Valid),
        ("185.128.249.0/24", 64496, Invalid),
        ("185.128.249.0/25", 50763, Invalid),
        ("2001:7f8:fa:4000::/50", 49451, Valid),
        ("2001:7f8:fa:4000::/50", 64496, Invalid),
        ("2001:7f8:fa:4000::/51", 49451, Invalid),
        ("2a0e:ec07:8000::/33", 41944, Valid),
        ("2a0e:ec07:8000::/33", 64496, Invalid),
        ("2a0e:ec07:8000::/34", 41944, Invalid),
        ("2a13:fe06::/31", 56884, Valid),
        ("2a13:fe06::/31", 64496, Invalid),
        ("2a13:fe06::/32", 56884, Invalid),
        ("2.57.180.0/22", 0, Invalid),
        ("2.57.180.0/22", 3333, Invalid),
        ("8.8.8.0/24", 15169, NotFound),
        ("1.1.1.0/24", 13335, NotFound),
        ("193.0.0.0/21", 3333, NotFound),
        ("2001:67c:2e8::/48", 3333, Valid),
        ("2a00:1450:4001::/48", 15169, NotFound),
        ("192.0.2.0/24", 64496, NotFound),
        ("2001:db8::/32", 64496, NotFound),
    ];
    for (prefix, asn, want) in cases {
        let p: IpNet = prefix.parse().unwrap();
        assert_eq!(
            d.rov(&p, PathOrigin::Asn(Asn(*asn))),
            *want,
            "{prefix} AS{asn}"
        );
    }
}

#[test]
fn aspa_on_the_prepdev_snapshot_matches_a_naive_implementation_of_the_draft() {
    use AspaState::*;
    let (_, d) = prepdev();
    // (path, upstream, downstream), computed in python straight from the -27 §5.3/§5.4 text.
    let cases: &[(&str, AspaState, AspaState)] = &[
        ("15701 204096 28", Valid, Valid),
        ("41606 61164 137", Valid, Valid),
        ("20677 33924 378", Valid, Valid),
        ("29300 5520 559", Valid, Valid),
        ("41881 28", Valid, Valid),
        ("64496 28", Invalid, Valid),
        ("28 41881", Unknown, Valid),
        ("204096 28 513", Invalid, Invalid),
        ("204694 513", Valid, Valid),
        ("0 513", Invalid, Valid),
        ("64496 64497", Unknown, Valid),
        ("57485 28 41881", Unknown, Unknown),
    ];
    for (path, want_up, want_down) in cases {
        let p = AsPath::parse(path).unwrap();
        assert_eq!(d.aspa_upstream(&p), *want_up, "upstream {path}");
        assert_eq!(d.aspa_downstream(&p), *want_down, "downstream {path}");
    }
}

#[test]
fn expired_entries_are_dropped_only_when_a_time_is_given() {
    // rpki-client's own `expires`: 90,869 VRPs and 4,942 of the 13,294 ASPA records expire at or
    // before 1683275000; the 8,352 remaining records cover 4,176 customers.
    let now = LoadOptions {
        now: Some(1_683_275_000),
    };
    let f = load_vrp_file(&testdata(PREPDEV), &now).unwrap();
    assert_eq!(f.vrps.len(), 333_354);
    assert_eq!(f.aspas.len(), 8_352);
    assert_eq!(f.dropped_expired, 90_869 + 4_942);
    assert!(f.vrps.iter().all(|v| v.expires.unwrap() > 1_683_275_000));
    let d = RpkiData::new(f.vrps, f.aspas);
    assert_eq!(d.vrp_count(), (253_729, 333_354 - 253_729));
    assert_eq!(d.aspa_count(), 4_176);
}

#[test]
fn expiry_on_a_small_rpki_client_file() {
    // rtrtr's fixture: 192.0.2.0/24 expires 1637371167, 2001:DB8::/32 at 1637407864.
    let path = testdata("rtrtr_vrps.rpki-client.json");
    let f = load_vrp_file(
        &path,
        &LoadOptions {
            now: Some(1_637_400_000),
        },
    )
    .unwrap();
    assert_eq!(f.dropped_expired, 1);
    assert_eq!(f.vrps.len(), 1);
    assert_eq!(f.vrps[0].asn, Asn(4_200_000_000));
    assert_eq!(f.vrps[0].prefix, "2001:db8::/32".parse::<IpNet>().unwrap());
    let f = load_vrp_file(
        &path,
        &LoadOptions {
            now: Some(1_637_371_167),
        },
    )
    .unwrap();
    assert_eq!(
        (f.vrps.len(), f.dropped_expired),
        (1, 1),
        "expired at its exact expiry"
    );
    let f = load_vrp_file(&path, &all()).unwrap();
    assert_eq!((f.vrps.len(), f.dropped_expired), (2, 0));
    assert!(f.aspas.is_empty());
}

#[test]
fn stayrtr_test_file_with_provider_authorizations() {
    let f = load("stayrtr_test.rpki.json");
    assert_eq!(f.vrps.len(), 19);
    let d = RpkiData::new(f.vrps.clone(), f.aspas.clone());
    assert_eq!(d.vrp_count(), (5, 14));
    assert_eq!(f.aspas.len(), 4);
    assert_eq!(d.aspa_count(), 2);
    let p = |v: &[u32]| v.iter().map(|a| Asn(*a)).collect::<Vec<_>>();
    assert_eq!(
        d.aspa_providers(Asn(15562)).map(<[Asn]>::to_vec),
        Some(p(&[2914, 8283, 51088, 206238]))
    );
    assert_eq!(
        d.aspa_providers(Asn(64496)).map(<[Asn]>::to_vec),
        Some(p(&[1299, 6939, 7480, 32097, 50058, 61138]))
    );
    let last = f.vrps.last().unwrap();
    assert_eq!(
        (
            last.prefix.to_string(),
            last.asn,
            last.ta.as_deref(),
            last.expires
        ),
        (
            "192.0.2.0/24".to_string(),
            Asn(1),
            Some("lmao"),
            Some(1_827_665_407)
        )
    );
    // 2001:4248::/32 maxLength 64 and 2800:38::/32 maxLength 128 are legal IPv6 entries.
    assert!(f.vrps.iter().any(|v| v.max_len == 128));
}

#[test]
fn routinator_json_and_jsonext_give_the_same_data() {
    for name in ["routinator_111.json", "routinator_111.jsonext"] {
        let f = load(name);
        assert_eq!(f.vrps.len(), 2, "{name}");
        assert_eq!(f.aspas.len(), 2, "{name}");
        let d = RpkiData::new(f.vrps.clone(), f.aspas.clone());
        assert_eq!(d.vrp_count(), (1, 0), "{name}");
        assert_eq!(d.aspa_count(), 1, "{name}");
        assert_eq!(
            d.aspa_providers(Asn(1234)),
            Some(&[Asn(1), Asn(2), Asn(3), Asn(4)][..]),
            "{name}"
        );
        let v = &f.vrps[0];
        assert_eq!(
            (v.prefix.to_string(), v.max_len, v.asn, v.expires),
            ("12.34.56.0/24".to_string(), 24, Asn(1234), None),
            "{name}"
        );
        // json names the TA "N/A"; jsonext's exception sources name none.
        let want_ta = if name.ends_with("jsonext") {
            None
        } else {
            Some("N/A")
        };
        assert_eq!(v.ta.as_deref(), want_ta, "{name}");
    }
}

#[test]
fn gortr_style_files_with_string_and_number_asns() {
    let f = load("rtrtr_vrps-metadata.json");
    assert_eq!(
        f.vrps
            .iter()
            .map(|v| (v.prefix.to_string(), v.max_len, v.asn.0))
            .collect::<Vec<_>>(),
        vec![
            ("192.0.2.0/24".to_string(), 24, 64512),
            ("2001:db8::/32".to_string(), 32, 4_200_000_000),
        ]
    );
    // One number and one "AS…" string in the same file.
    let f = load("stayrtr_smalltest.rpki.json");
    assert_eq!(
        f.vrps.iter().map(|v| v.asn.0).collect::<Vec<_>>(),
        vec![13335, 9367]
    );
}

#[test]
fn dn42_export_is_rejected_whole_at_its_null_prefix() {
    // The dn42 export has three bad entries: roas[123] has "prefix": null (line 866) and
    // roas[1560] and roas[3311] have "asn": "AS". The first one rejects the file.
    let path = testdata("export_dn42.json");
    let err = load_vrp_file(&path, &all()).unwrap_err();
    match &err {
        LoadError::Parse {
            path: p,
            line,
            entry,
            msg,
            ..
        } => {
            assert_eq!(p, &path);
            assert_eq!(*line, 866, "{err}");
            assert_eq!(entry.as_deref(), Some("roas[123]"));
            assert!(msg.contains("invalid type: null"), "{msg}");
        }
        other => panic!("unexpected {other:?}"),
    }
    assert!(err
        .to_string()
        .starts_with(&format!("{}:866:", path.display())));
}

#[test]
fn dn42_export_without_its_bad_entries_loads() {
    // Same real data with the three bad entries removed: 3,309 VRPs, 3,308 distinct (1,756 IPv4),
    // ASNs as "AS…" strings, extra "mnt-by" members, four trust anchors.
    let text = std::fs::read_to_string(testdata("export_dn42.json")).unwrap();
    let mut doc: serde_json::Value = serde_json::from_str(&text).unwrap();
    let roas = doc["roas"].as_array_mut().unwrap();
    for i in [3311, 1560, 123] {
        roas.remove(i);
    }
    let dir = tempfile::tempdir().unwrap();
    let path = write(&dir, "dn42.json", &doc.to_string());
    let f = load_vrp_file(&path, &all()).unwrap();
    assert_eq!(f.vrps.len(), 3_309);
    let d = RpkiData::new(f.vrps, f.aspas);
    assert_eq!(d.vrp_count(), (1_756, 1_552));
    let mut tas: Vec<&str> = d.trust_anchors().iter().map(|t| &**t).collect();
    tas.sort();
    assert_eq!(tas, ["CHAOSVPN", "DN42", "ICVPN", "NEONETWORK"]);
}

#[test]
fn truncated_json_names_file_and_position() {
    let text = std::fs::read_to_string(testdata("stayrtr_test.rpki.json")).unwrap();
    // Cut inside the prefix string of roas[4], on line 33 after 32 characters.
    let cut = text.find("\"2001:200:136::/48\"").unwrap() + 5;
    let dir = tempfile::tempdir().unwrap();
    let path = write(&dir, "truncated.json", &text[..cut]);
    let err = load_vrp_file(&path, &all()).unwrap_err();
    match &err {
        LoadError::Parse {
            path: p,
            line,
            column,
            entry,
            msg,
        } => {
            assert_eq!(p, &path);
            assert_eq!((*line, *column), (33, 32), "{err}");
            assert_eq!(entry.as_deref(), Some("roas[4]"));
            assert!(msg.contains("EOF while parsing"), "{msg}");
        }
        other => panic!("unexpected {other:?}"),
    }
}

#[test]
fn truncated_gzip_is_an_io_error_naming_the_file() {
    let bytes = std::fs::read(testdata(PREPDEV)).unwrap();
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("cut.json.gz");
    std::fs::write(&path, &bytes[..50_000]).unwrap();
    let err = load_vrp_file(&path, &all()).unwrap_err();
    assert!(matches!(err, LoadError::Io { .. }), "{err:?}");
    assert_eq!(err.path(), path);
    assert!(err.to_string().starts_with(&path.display().to_string()));
}

#[test]
fn semantic_errors_name_the_entry_and_its_line() {
    let dir = tempfile::tempdir().unwrap();
    // (file text, line of the bad entry's closing brace or value, entry, message fragment)
    let cases: &[(&str, usize, &str, &str)] = &[
        (
            "{\"roas\": [\n {\"asn\": 1, \"prefix\": \"192.0.2.0/24\", \"maxLength\": 24},\n \
             {\"asn\": 2, \"prefix\": \"192.0.2.1/24\", \"maxLength\": 24}\n]}",
            3,
            "roas[1]",
            "host bits set",
        ),
        (
            "{\"roas\": [\n {\"asn\": 1, \"prefix\": \"192.0.2.0/24\", \"maxLength\": 33}\n]}",
            2,
            "roas[0]",
            "maxLength 33 out of range for 192.0.2.0/24 (must be 24..=32)",
        ),
        (
            "{\"roas\": [\n {\"asn\": 1, \"prefix\": \"192.0.2.0/24\", \"maxLength\": 23}\n]}",
            2,
            "roas[0]",
            "maxLength 23 out of range",
        ),
        (
            "[\n{\"asn\": \"AS1\", \"prefix\": \"2001:db8::/32\",\n \"maxLength\": 129\n}\n]",
            4,
            "[0]",
            "maxLength 129 out of range for 2001:db8::/32 (must be 32..=128)",
        ),
        (
            "{\"roas\": [{\"asn\": 4294967296, \"prefix\": \"192.0.2.0/24\"}]}",
            1,
            "roas[0]",
            "AS number 4294967296 out of range",
        ),
        (
            "{\"roas\": [{\"asn\": \"ASX\", \"prefix\": \"192.0.2.0/24\"}]}",
            1,
            "roas[0]",
            "invalid ASN",
        ),
        (
            "{\"roas\": [{\"asn\": 1, \"prefix\": \"192.0.2.0/33\"}]}",
            1,
            "roas[0]",
            "invalid prefix",
        ),
        (
            "{\"roas\": [{\"asn\": 1, \"maxLength\": 24}]}",
            1,
            "roas[0]",
            "missing field `prefix`",
        ),
        (
            "{\"roas\": [],\n \"aspas\": [{\"customer_asid\": 1, \"providers\": [2]},\n \
             {\"customer_asid\": 3, \"providers\": []}]}",
            3,
            "aspas[1]",
            "empty provider list",
        ),
        (
            "{\"provider_authorizations\": {\"ipv4\": [],\n \"ipv6\": [{\"customer_asid\": 1}]}}",
            2,
            "provider_authorizations.ipv6[0]",
            "missing field `providers`",
        ),
    ];
    for (i, (text, line, entry, needle)) in cases.iter().enumerate() {
        let path = write(&dir, &format!("bad{i}.json"), text);
        let err = load_vrp_file(&path, &all()).unwrap_err();
        let shown = err.to_string();
        match &err {
            LoadError::Parse {
                path: p,
                line: l,
                entry: e,
                msg,
                ..
            } => {
                assert_eq!(p, &path, "{shown}");
                assert_eq!(l, line, "{shown}");
                assert_eq!(e.as_deref(), Some(*entry), "{shown}");
                assert!(msg.contains(needle), "{shown}");
            }
            other => panic!("case {i}: unexpected {other:?}"),
        }
        let prefix = format!("{}:{line}:", path.display());
        assert!(shown.starts_with(&prefix), "{shown}");
        assert!(shown.contains(&format!(": {entry}: ")), "{shown}");
    }
}

#[test]
fn files_that_are_not_vrp_json_are_rejected() {
    let dir = tempfile::tempdir().unwrap();
    let empty = write(&dir, "empty.json", "");
    assert!(matches!(
        load_vrp_file(&empty, &all()),
        Err(LoadError::Parse { line: 1, .. })
    ));
    let junk = write(&dir, "junk.json", "roas: []");
    assert!(matches!(
        load_vrp_file(&junk, &all()),
        Err(LoadError::Parse {
            line: 1,
            column: 1,
            ..
        })
    ));
    let trailing = write(&dir, "trailing.json", "{\"roas\": []} {");
    let err = load_vrp_file(&trailing, &all()).unwrap_err();
    assert!(err.to_string().contains("trailing characters"), "{err}");
    let other = write(&dir, "other.json", "{\"foo\": [1, 2]}");
    let err = load_vrp_file(&other, &all()).unwrap_err();
    assert!(matches!(err, LoadError::Format { .. }), "{err:?}");
    let slurm = testdata("slurm_example.json");
    let err = load_vrp_file(&slurm, &all()).unwrap_err();
    assert!(err.to_string().contains("SLURM"), "{err}");
    let missing = dir.path().join("missing.json");
    let err = load_vrp_file(&missing, &all()).unwrap_err();
    assert!(matches!(err, LoadError::Io { .. }));
    assert_eq!(err.path(), missing);
}

#[test]
fn aspa_files_in_every_shape() {
    let dir = tempfile::tempdir().unwrap();
    let want = |c: u32, p: &[u32]| Aspa::new(Asn(c), p.iter().map(|a| Asn(*a)), None);
    // Routinator: "AS…" strings; a bare array; older rpki-client provider_set objects.
    let routinator = load_aspa_file(&testdata("routinator_111.json"), &all()).unwrap();
    assert_eq!(routinator, vec![want(1234, &[1, 2, 3, 4]); 2]);
    let bare = write(
        &dir,
        "bare.json",
        r#"[{"customer": "AS64500", "providers": ["AS64502", 64501, "AS64501"]}]"#,
    );
    assert_eq!(
        load_aspa_file(&bare, &all()).unwrap(),
        vec![want(64500, &[64501, 64502])]
    );
    let old = write(
        &dir,
        "old.json",
        r#"{"provider_authorizations": {"ipv4": [{"customer_asid": 64500, "expires": 10,
            "provider_set": [{"provider_asid": 64501, "afi_limit": "ipv4"}, 64502]}]}}"#,
    );
    let got = load_aspa_file(&old, &all()).unwrap();
    assert_eq!(got.len(), 1);
    assert_eq!(got[0].providers, vec![Asn(64501), Asn(64502)]);
    assert_eq!(got[0].expires, Some(10));
    assert!(load_aspa_file(&old, &LoadOptions { now: Some(10) })
        .unwrap()
        .is_empty());
    // A VRP-only file is not an ASPA file.
    let err = load_aspa_file(&testdata("rtrtr_vrps.rpki-client.json"), &all()).unwrap_err();
    assert!(matches!(err, LoadError::Format { .. }), "{err:?}");
    // ROAs in an ASPA file are skipped, even broken ones.
    let mixed = write(
        &dir,
        "mixed.json",
        r#"{"roas": [{"asn": "bad"}], "aspas": [{"customer_asid": 1, "providers": [2]}]}"#,
    );
    assert_eq!(load_aspa_file(&mixed, &all()).unwrap(), vec![want(1, &[2])]);
}

#[test]
fn jsonext_sources_give_the_latest_expiry_and_the_tal() {
    let dir = tempfile::tempdir().unwrap();
    let text = r#"{"roas": [
      {"asn": "AS64500", "prefix": "192.0.2.0/24", "maxLength": 24, "source": [
        {"type": "roa", "uri": "rsync://a/1.roa", "tal": "ripe",
         "validity": {"notBefore": "2021-11-01T00:00:00Z", "notAfter": "2021-11-20T00:00:00Z"},
         "chainValidity": {"notBefore": "2021-11-01T00:00:00Z", "notAfter": "2021-11-18T12:56:53Z"}},
        {"type": "roa", "uri": "rsync://b/2.roa",
         "validity": {"notBefore": "2021-11-01T00:00:00Z", "notAfter": "2021-11-10T00:00:00Z"},
         "chainValidity": {"notBefore": "2021-11-01T00:00:00Z", "notAfter": "2021-12-01T00:00:00Z"}}
      ]},
      {"asn": "AS64500", "prefix": "198.51.100.0/24", "maxLength": 24, "source": [
        {"type": "roa", "uri": "rsync://a/3.roa",
         "validity": {"notAfter": "2021-11-20T00:00:00Z"}},
        {"type": "exception", "path": "/etc/slurm.json"}
      ]}
    ]}"#;
    let path = write(&dir, "ext.jsonext", text);
    let f = load_vrp_file(&path, &all()).unwrap();
    // Source 1 ends at min(2021-11-20, 2021-11-18T12:56:53) = 1637240213, source 2 at
    // min(2021-11-10, 2021-12-01) = 1636502400; the VRP lives until the later one.
    assert_eq!(f.vrps[0].expires, Some(1_637_240_213));
    assert_eq!(f.vrps[0].ta.as_deref(), Some("ripe"));
    // A local exception never expires.
    assert_eq!(f.vrps[1].expires, None);
    let bad = write(
        &dir,
        "bad.jsonext",
        r#"{"roas": [{"asn": 1, "prefix": "192.0.2.0/24", "source": [
            {"type": "roa", "validity": {"notAfter": "yesterday"}}]}]}"#,
    );
    let err = load_vrp_file(&bad, &all()).unwrap_err();
    assert!(
        err.to_string().contains("invalid timestamp \"yesterday\""),
        "{err}"
    );
}

#[test]
fn rfc3339_timestamps() {
    assert_eq!(parse_rfc3339("1970-01-01T00:00:00Z"), Some(0));
    assert_eq!(parse_rfc3339("2021-11-18T12:56:53Z"), Some(1_637_240_213));
    assert_eq!(
        parse_rfc3339("2021-11-18T12:56:53.250Z"),
        Some(1_637_240_213)
    );
    assert_eq!(
        parse_rfc3339("2000-02-29T23:59:59+01:00"),
        Some(951_865_199)
    );
    assert_eq!(parse_rfc3339("1969-12-31T23:59:59Z"), Some(-1));
    for bad in [
        "",
        "2021-11-18",
        "2021-13-01T00:00:00Z",
        "2021-11-18T12:56:53",
        "x021-11-18T12:56:53Z",
    ] {
        assert_eq!(parse_rfc3339(bad), None, "{bad}");
    }
}

#[test]
fn gzip_is_detected_by_content_not_name() {
    use flate2::write::GzEncoder;
    use std::io::Write;
    let dir = tempfile::tempdir().unwrap();
    let plain = std::fs::read(testdata("stayrtr_test.rpki.json")).unwrap();
    let mut enc = GzEncoder::new(Vec::new(), flate2::Compression::fast());
    enc.write_all(&plain).unwrap();
    let path = dir.path().join("no-extension");
    std::fs::write(&path, enc.finish().unwrap()).unwrap();
    let f = load_vrp_file(&path, &all()).unwrap();
    assert_eq!(f, load("stayrtr_test.rpki.json"));
}

#[test]
fn load_rpki_combines_vrp_and_aspa_files() {
    let d = crate::rpki::load_rpki(
        &[
            testdata("stayrtr_test.rpki.json"),
            testdata("rtrtr_vrps.rpki-client.json"),
        ],
        &[testdata("routinator_111.json")],
        &[],
        &all(),
    )
    .unwrap();
    // 19 + 2 VRPs, of which 192.0.2.0/24 appears with AS1 and AS64512: all distinct.
    assert_eq!(d.vrp_count(), (6, 15));
    assert_eq!(d.aspa_count(), 3);
    let err = crate::rpki::load_rpki(
        &[
            testdata("stayrtr_test.rpki.json"),
            testdata("export_dn42.json"),
        ],
        &[],
        &[],
        &all(),
    )
    .unwrap_err();
    assert!(err.path().ends_with("export_dn42.json"));
}

/// Release-mode measurements, run by hand:
/// `cargo test --release --lib rpki::json::tests::timing -- --ignored --nocapture`.
#[test]
#[ignore]
fn timing() {
    use std::time::Instant;
    let t = Instant::now();
    let f = load(PREPDEV);
    let load_time = t.elapsed();
    let t = Instant::now();
    let d = RpkiData::new(f.vrps.clone(), f.aspas.clone());
    let build_time = t.elapsed();
    // Lookups: every VRP prefix with its own ASN and with another one, plus one-bit-longer
    // prefixes, cycling until 2M lookups.
    let routes: Vec<(IpNet, PathOrigin)> = f
        .vrps
        .iter()
        .flat_map(|v| {
            [
                (v.prefix, PathOrigin::Asn(v.asn)),
                (v.prefix, PathOrigin::Asn(Asn(64496))),
            ]
        })
        .collect();
    let n = 2_000_000;
    let t = Instant::now();
    let mut valid = 0usize;
    for (p, o) in routes.iter().cycle().take(n) {
        valid += usize::from(d.rov(p, *o) == RovState::Valid);
    }
    let rov_time = t.elapsed();
    let paths: Vec<AsPath> = [
        "15701 204096 28",
        "41606 61164 137",
        "3356 1299 174 64500 28",
    ]
    .iter()
    .map(|p| AsPath::parse(p).unwrap())
    .collect();
    let t = Instant::now();
    let mut invalid = 0usize;
    for p in paths.iter().cycle().take(n) {
        invalid += usize::from(d.aspa_downstream(p) == AspaState::Invalid);
    }
    let aspa_time = t.elapsed();
    println!(
        "load {load_time:?}, build {build_time:?}, snapshot {:.1} MB, \
         {:.2} M ROV lookups/s ({valid} valid), {:.2} M ASPA downstream/s ({invalid} invalid)",
        d.mem_size() as f64 / 1e6,
        n as f64 / rov_time.as_secs_f64() / 1e6,
        n as f64 / aspa_time.as_secs_f64() / 1e6,
    );
}
