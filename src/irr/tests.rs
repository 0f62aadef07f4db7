//! IRR loader tests on the real bgpq4 reference outputs and RIPE database objects in
//! testdata/irr, and on small hand-written bad inputs.

use super::*;
use crate::types::Asn;
use ipnet::IpNet;
use std::io::Write;

fn testdata(rel: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("testdata/irr")
        .join(rel)
}

fn net(s: &str) -> IpNet {
    s.parse().unwrap()
}

fn temp_file(contents: &[u8]) -> tempfile::NamedTempFile {
    let mut f = tempfile::NamedTempFile::new().unwrap();
    f.write_all(contents).unwrap();
    f.flush().unwrap();
    f
}

fn gzip(bytes: &[u8]) -> Vec<u8> {
    let mut enc = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
    enc.write_all(bytes).unwrap();
    enc.finish().unwrap()
}

/// The error text without the (temporary) path in front.
fn message_after_path(e: &IrrError) -> String {
    let full = e.to_string();
    let path = e.path().display().to_string();
    full.strip_prefix(&path).unwrap_or(&full).to_string()
}

fn json_err(text: &str) -> String {
    let f = temp_file(text.as_bytes());
    let e = load_bgpq4_json(f.path()).unwrap_err();
    assert!(matches!(e, IrrError::Json { .. }), "{e:?}");
    message_after_path(&e)
}

fn rpsl_err(text: &str) -> String {
    let f = temp_file(text.as_bytes());
    let e = load_rpsl(f.path()).unwrap_err();
    message_after_path(&e)
}

// ---- bgpq4 JSON, real reference outputs ----

#[test]
fn bgpq4_reference_ipv4_list_has_both_as112_prefixes_exact() {
    let l = load_bgpq4_json(&testdata("bgpq4/json--4.txt")).unwrap();
    assert_eq!(l.len(), 2);
    assert_eq!(
        l.iter().collect::<Vec<_>>(),
        vec![
            (net("192.31.196.0/24"), 24, 24, None),
            (net("192.175.48.0/24"), 24, 24, None)
        ]
    );
    // No origin in bgpq4 output: any origin passes, more-specifics do not.
    assert!(l.permits(&net("192.175.48.0/24"), Some(Asn(112))));
    assert!(l.permits(&net("192.175.48.0/24"), Some(Asn(64511))));
    assert!(!l.permits(&net("192.175.48.0/25"), Some(Asn(112))));
}

#[test]
fn bgpq4_reference_ipv6_list_has_both_as112_prefixes_exact() {
    let l = load_bgpq4_json(&testdata("bgpq4/json--6.txt")).unwrap();
    assert_eq!(l.len(), 2);
    assert!(l.permits(&net("2001:4:112::/48"), None));
    assert!(l.permits(&net("2620:4f:8000::/48"), None));
    assert!(!l.permits(&net("2620:4f:8000::/47"), None));
}

#[test]
fn bgpq4_ranges_with_and_without_greater_equal() {
    // Shape of bgpq4 -A output (printer.c): greater-equal only when above the prefix length.
    let text = r#"{ "NN": [
    { "prefix": "198.51.100.0\/22", "exact": false,
      "greater-equal": 23, "less-equal": 24 },
    { "prefix": "203.0.113.0\/24", "exact": false, "less-equal": 25 },
    { "prefix": "192.0.2.0\/24", "exact": true }
] }"#;
    let f = temp_file(text.as_bytes());
    let l = load_bgpq4_json(f.path()).unwrap();
    assert_eq!(l.len(), 3);
    assert!(!l.permits(&net("198.51.100.0/22"), None));
    assert!(l.permits(&net("198.51.101.0/24"), None));
    assert!(l.permits(&net("203.0.113.0/24"), None));
    assert!(l.permits(&net("203.0.113.128/25"), None));
    assert!(!l.permits(&net("203.0.113.128/26"), None));
}

#[test]
fn bgpq4_empty_list_is_valid_and_empty() {
    let f = temp_file(b"{ \"NN\": [\n] }\n");
    assert!(load_bgpq4_json(f.path()).unwrap().is_empty());
}

// ---- bgpq4 JSON, bad input: the whole file is rejected, with line:col ----

#[test]
fn bgpq4_host_bits_reject_the_file_at_the_entry() {
    let text = "{ \"NN\": [\n    { \"prefix\": \"192.0.2.0/24\", \"exact\": true },\n    { \"prefix\": \"192.0.2.77/24\", \"exact\": true }\n] }\n";
    assert_eq!(
        json_err(text),
        ":3:31: host bits set in prefix 192.0.2.77/24 (the network is 192.0.2.0/24)"
    );
}

#[test]
fn bgpq4_inverted_range_is_rejected() {
    let text = "{\"NN\": [{\"prefix\": \"198.51.100.0/22\", \"exact\": false, \"greater-equal\": 24, \"less-equal\": 23}]}";
    assert_eq!(
        json_err(text),
        ":1:92: entry 198.51.100.0/22: greater-equal 24 and less-equal 23 must satisfy \
         22 <= greater-equal <= less-equal <= 32"
    );
}

#[test]
fn bgpq4_range_beyond_address_length_is_rejected() {
    let text = "{\"NN\": [{\"prefix\": \"2001:db8::/32\", \"exact\": false, \"less-equal\": 129}]}";
    assert!(json_err(text)
        .ends_with("less-equal 129 must satisfy 32 <= greater-equal <= less-equal <= 128"));
}

#[test]
fn bgpq4_not_exact_without_less_equal_is_rejected() {
    let text = "{\"NN\": [{\"prefix\": \"192.0.2.0/24\", \"exact\": false}]}";
    assert_eq!(
        json_err(text),
        ":1:50: entry 192.0.2.0/24 is not exact but has no less-equal"
    );
}

#[test]
fn bgpq4_unknown_key_is_rejected_with_its_position() {
    let text = "{\"NN\": [\n{\"prefix\": \"192.0.2.0/24\", \"exact\": true, \"origin\": 64500}]}";
    let e = json_err(text);
    assert!(e.starts_with(":2:50: unknown field `origin`"), "{e}");
}

#[test]
fn bgpq4_as_path_list_is_not_a_prefix_list() {
    // `bgpq4 -j -f 112` (tests/reference/json--asp.txt) lists ASNs, not prefixes.
    let e = json_err("{\"NN\": [\n  112\n]}\n");
    assert!(
        e.starts_with(":2:5: invalid type: integer `112`, expected a bgpq4 prefix entry"),
        "{e}"
    );
}

#[test]
fn bgpq4_truncated_output_is_rejected() {
    let e = json_err("{ \"NN\": [\n    { \"prefix\": \"192.0.2.0\\/24\", \"exact\": true },\n");
    assert!(e.starts_with(":3:0: EOF while parsing a value"), "{e}");
}

// ---- RPSL, real RIPE database objects ----

#[test]
fn ripe_route_dump_yields_all_62_objects_with_origins() {
    // Counted independently: `grep -c '^route:'` = 62, one origin each.
    let l = load_rpsl(&testdata("ripe-db-route.txt")).unwrap();
    assert_eq!(l.len(), 62);
    assert_eq!(l.iter().filter(|e| e.3.is_some()).count(), 62);
    assert!(l
        .iter()
        .all(|(p, min, max, _)| min == p.prefix_len() && max == min));
    // First object, last object, and the one with a continued `member-of:`.
    assert!(l.permits(&net("193.254.30.0/24"), Some(Asn(12726))));
    assert!(!l.permits(&net("193.254.30.0/24"), Some(Asn(12727))));
    assert!(!l.permits(&net("193.254.30.0/25"), Some(Asn(12726))));
    assert!(l.permits(&net("212.180.11.128/25"), Some(Asn(16048))));
    assert!(l.permits(&net("194.113.52.0/23"), Some(Asn(702))));
    let origins: std::collections::BTreeSet<_> = l.iter().filter_map(|e| e.3).collect();
    assert_eq!(origins.len(), 50);
}

#[test]
fn ripe_route6_dump_yields_all_62_objects_with_origins() {
    let l = load_rpsl(&testdata("ripe-db-route6.txt")).unwrap();
    assert_eq!(l.len(), 62);
    assert!(l.permits(&net("2001:1578:200::/40"), Some(Asn(12817))));
    assert!(l.permits(&net("2001:15a8::/32"), Some(Asn(29449))));
    assert!(!l.permits(&net("2001:15a8::/33"), Some(Asn(29449))));
    let origins: std::collections::BTreeSet<_> = l.iter().filter_map(|e| e.3).collect();
    assert_eq!(origins.len(), 57);
}

#[test]
fn auto_detection_reads_every_sample_like_the_specific_loader() {
    for rel in ["bgpq4/json--4.txt", "bgpq4/json--6.txt"] {
        let a = load_irr_file(&testdata(rel)).unwrap();
        assert_eq!(a, load_bgpq4_json(&testdata(rel)).unwrap(), "{rel}");
    }
    for rel in ["ripe-db-route.txt", "ripe-db-route6.txt"] {
        let a = load_irr_file(&testdata(rel)).unwrap();
        assert_eq!(a, load_rpsl(&testdata(rel)).unwrap(), "{rel}");
    }
}

#[test]
fn gzip_files_are_detected_by_magic_bytes() {
    let rpsl = std::fs::read(testdata("ripe-db-route6.txt")).unwrap();
    let f = temp_file(&gzip(&rpsl));
    assert_eq!(load_irr_file(f.path()).unwrap().len(), 62);
    assert_eq!(load_rpsl(f.path()).unwrap().len(), 62);
    let json = std::fs::read(testdata("bgpq4/json--4.txt")).unwrap();
    let g = temp_file(&gzip(&json));
    assert_eq!(load_irr_file(g.path()).unwrap().len(), 2);
}

#[test]
fn merged_v4_and_v6_lists_answer_for_both_families() {
    let mut l = load_irr_file(&testdata("ripe-db-route.txt")).unwrap();
    l.merge(&load_irr_file(&testdata("ripe-db-route6.txt")).unwrap());
    l.merge(&load_irr_file(&testdata("bgpq4/json--4.txt")).unwrap());
    assert_eq!(l.len(), 62 + 62 + 2);
    assert!(l.permits(&net("193.254.30.0/24"), Some(Asn(12726))));
    assert!(l.permits(&net("2001:1578:200::/40"), Some(Asn(12817))));
    assert!(l.permits(&net("192.31.196.0/24"), Some(Asn(112))));
}

// ---- RPSL, bad input ----

#[test]
fn rpsl_comments_continuations_and_other_classes() {
    let text = "% whois header\n\
                # comment\n\
                aut-num: AS64500\n\
                as-name: EXAMPLE\n\
                \n\
                route:   192.0.2.0/24 # trailing comment\n\
                descr:   x\n\
                +        continued\n\
                origin:  AS64501\n\
                \n\
                \n\
                ROUTE6:  2001:db8::/32\n\
                origin:  as64502\n";
    let f = temp_file(text.as_bytes());
    let l = load_rpsl(f.path()).unwrap();
    assert_eq!(
        l.iter().collect::<Vec<_>>(),
        vec![
            (net("192.0.2.0/24"), 24, 24, Some(Asn(64501))),
            (net("2001:db8::/32"), 32, 32, Some(Asn(64502)))
        ]
    );
}

#[test]
fn rpsl_route_without_origin_is_rejected_at_the_object() {
    let text =
        "route: 192.0.2.0/24\norigin: AS64501\n\n\nroute: 198.51.100.0/24\ndescr: no origin\n";
    assert_eq!(
        rpsl_err(text),
        ":5: route object 198.51.100.0/24 has no origin attribute"
    );
}

#[test]
fn rpsl_route_with_two_origins_is_rejected() {
    let text = "route: 192.0.2.0/24\norigin: AS64501\norigin: AS64502\n";
    assert_eq!(
        rpsl_err(text),
        ":3: route object 192.0.2.0/24 has more than one origin attribute"
    );
}

#[test]
fn rpsl_host_bits_and_bad_prefixes_are_rejected() {
    assert_eq!(
        rpsl_err("route: 192.0.2.1/24\norigin: AS64501\n"),
        ":1: route: host bits set in prefix 192.0.2.1/24 (the network is 192.0.2.0/24)"
    );
    assert_eq!(
        rpsl_err("route6: 2001:db8::/33x\norigin: AS64501\n"),
        ":1: route6: invalid prefix \"2001:db8::/33x\""
    );
    assert_eq!(
        rpsl_err("route6: 192.0.2.0/24\norigin: AS64501\n"),
        ":1: route6: 192.0.2.0/24 is of the wrong address family for this class"
    );
}

#[test]
fn rpsl_bad_origin_is_rejected() {
    assert_eq!(
        rpsl_err("route: 192.0.2.0/24\norigin: AS-FOO\n"),
        ":2: origin: invalid ASN \"AS-FOO\""
    );
}

#[test]
fn rpsl_garbage_lines_are_rejected() {
    assert_eq!(
        rpsl_err("route: 192.0.2.0/24\nthis is not rpsl\n"),
        ":2: expected \"attribute: value\", found \"this is not rpsl\""
    );
    assert_eq!(
        rpsl_err("  continued: nothing\n"),
        ":1: continuation line outside an object"
    );
}

#[test]
fn rpsl_without_route_objects_is_rejected() {
    assert_eq!(
        rpsl_err("# only a comment\naut-num: AS64500\n"),
        ":2: no route or route6 objects in the file"
    );
}

#[test]
fn one_bad_object_rejects_a_real_dump() {
    let mut text = std::fs::read(testdata("ripe-db-route.txt")).unwrap();
    text.extend_from_slice(b"\nroute: 10.0.0.0/8\n");
    let f = temp_file(&text);
    let e = load_irr_file(f.path()).unwrap_err();
    assert!(
        message_after_path(&e).ends_with("route object 10.0.0.0/8 has no origin attribute"),
        "{e}"
    );
}

#[test]
fn empty_and_missing_files_are_errors() {
    let f = temp_file(b"  \n\n");
    assert_eq!(
        message_after_path(&load_irr_file(f.path()).unwrap_err()),
        ": empty file (neither bgpq4 JSON nor RPSL)"
    );
    let e = load_irr_file(Path::new("/nonexistent/bgpsieve/irr.json")).unwrap_err();
    assert!(matches!(e, IrrError::Io { .. }));
    assert!(e
        .to_string()
        .starts_with("/nonexistent/bgpsieve/irr.json: "));
}

#[test]
fn corrupt_gzip_is_an_error_not_an_empty_list() {
    let mut gz = gzip(b"route: 192.0.2.0/24\norigin: AS64501\n");
    let n = gz.len();
    gz.truncate(n - 12);
    let f = temp_file(&gz);
    assert!(load_irr_file(f.path()).is_err());
}
