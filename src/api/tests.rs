//! Parameter parsing and explain, without HTTP (tests/api_http.rs runs the server).

use super::*;
use crate::policy::PolicySnapshot;
use crate::policy::{LocalPolicy, PeerPolicy};
use crate::rpki::{self, LoadOptions, RovState};
use crate::types::{Asn, Role};
use std::path::PathBuf;

fn bad(r: Result<RejectedQuery, ApiError>) -> String {
    match r {
        Err(ApiError::BadRequest(m)) => m,
        other => panic!("expected a 400, got {other:?}"),
    }
}

#[test]
fn rejected_query_parses_every_parameter() {
    let q = rejected_query(Some(
        "peer=transit-a&direction=in&reason=rpki-invalid&prefix=192.0.2.0%2F24&match=more-specific&limit=5&offset=2&cursor=77",
    ))
    .unwrap();
    assert_eq!(
        q,
        RejectedQuery {
            peer: Some("transit-a".into()),
            direction: Some(Direction::In),
            reason: Some(Reason::RpkiInvalid),
            prefix: "192.0.2.0/24".parse().ok(),
            prefix_match: PrefixMatch::MoreSpecific,
            limit: 5,
            offset: 2,
            cursor: Some(77),
        }
    );
    assert_eq!(rejected_query(None).unwrap(), RejectedQuery::default());
    // The empty template of DESIGN §6 means: no filter.
    assert_eq!(
        rejected_query(Some("peer=&reason=")).unwrap(),
        RejectedQuery::default()
    );
}

#[test]
fn bad_rejected_parameters_say_which_and_why() {
    assert_eq!(
        bad(rejected_query(Some("reason=rpki"))),
        format!(
            "reason: unknown reason code \"rpki\" (one of: {})",
            Reason::ALL
                .iter()
                .map(|r| r.code())
                .collect::<Vec<_>>()
                .join(", ")
        )
    );
    assert_eq!(
        bad(rejected_query(Some("limit=0"))),
        "limit: 0 is not between 1 and 1000"
    );
    assert_eq!(
        bad(rejected_query(Some("limit=1001"))),
        "limit: 1001 is not between 1 and 1000"
    );
    assert_eq!(
        bad(rejected_query(Some("limit=-1"))),
        "limit: \"-1\" is not a non-negative integer"
    );
    assert_eq!(
        bad(rejected_query(Some("offset=99999999999999999999999"))),
        "offset: \"99999999999999999999999\" is not a non-negative integer"
    );
    assert_eq!(
        bad(rejected_query(Some("prefix=192.0.2.1/24"))),
        "prefix: 192.0.2.1/24 has host bits set (did you mean 192.0.2.0/24?)"
    );
    assert_eq!(
        bad(rejected_query(Some("prefix=example"))),
        "prefix: \"example\" is not a prefix (like 192.0.2.0/24 or 2001:db8::/32)"
    );
    assert_eq!(
        bad(rejected_query(Some("match=more-specific"))),
        "match: needs a prefix"
    );
    assert_eq!(
        bad(rejected_query(Some("prefix=192.0.2.0/24&match=orlonger"))),
        "match: \"orlonger\" is neither \"exact\" nor \"more-specific\""
    );
    assert_eq!(
        bad(rejected_query(Some("direction=both"))),
        "direction: \"both\" is neither \"in\" nor \"out\""
    );
    assert_eq!(
        bad(rejected_query(Some("peer=a&peer=b"))),
        "parameter \"peer\" given twice"
    );
    assert_eq!(
        bad(rejected_query(Some("per=a"))),
        "unknown parameter \"per\" (known: peer, direction, reason, prefix, match, limit, offset, cursor)"
    );
}

#[test]
fn no_query_string_panics() {
    for raw in [
        "%",
        "%zz",
        "&&&",
        "=",
        "==",
        "peer",
        "prefix=%FF%FE",
        "prefix=::/129",
        "prefix=1.2.3.4/33",
        "limit=%00",
        "cursor=18446744073709551616",
        "reason=%E2%80%8B",
        "prefix=0.0.0.0/0&match=more-specific&offset=18446744073709551615",
    ] {
        let _ = rejected_query(Some(raw));
    }
}

fn td(p: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("testdata")
        .join(p)
}

fn snapshot() -> PolicySnapshot {
    let data = rpki::load_rpki(
        &[td("vrps/stayrtr_test.rpki.json")],
        &[],
        &[],
        &LoadOptions::default(),
    )
    .unwrap();
    let mut b = PeerPolicy::new(
        "customer-b",
        Role::Customer,
        Asn(13335),
        "203.0.113.9".parse().ok(),
    );
    b.enabled.remove(Reason::IrrUnregistered);
    PolicySnapshot {
        generation: 3,
        rpki: Arc::new(data),
        local: LocalPolicy::new(Asn(64500)),
        peers: vec![
            PeerPolicy::new(
                "transit-a",
                Role::Provider,
                Asn(2914),
                "198.51.100.1".parse().ok(),
            ),
            b,
        ],
    }
}

fn explain_err(r: Result<ExplainView, ApiError>) -> String {
    match r {
        Err(ApiError::BadRequest(m)) => m,
        other => panic!("expected a 400, got {other:?}"),
    }
}

#[test]
fn explain_finds_an_rpki_invalid_origin() {
    let s = snapshot();
    let e = explain::explain(&s, "1.0.0.0/24", "2914 4134", None, Some("transit-a")).unwrap();
    assert!(!e.accepted);
    assert_eq!(e.rpki, Some(RovState::Invalid));
    let failed: Vec<Reason> = e
        .checks
        .iter()
        .filter(|c| c.failed)
        .map(|c| c.reason)
        .collect();
    assert_eq!(failed, [Reason::RpkiInvalid]);
    assert_eq!(e.checks.len(), policy_checks());
    assert!(e.checks.iter().all(|c| c.enabled));
}

fn policy_checks() -> usize {
    crate::policy::IMPORT_CHECKS.len()
}

#[test]
fn explain_passes_a_valid_route_and_shows_disabled_checks() {
    let s = snapshot();
    let e = explain::explain(&s, "1.0.0.0/24", "2914  13335", None, Some("transit-a")).unwrap();
    assert!(e.accepted, "{e:?}");
    assert_eq!(e.rpki, Some(RovState::Valid));
    assert_eq!(e.path, "2914 13335");
    assert!(e.checks.iter().all(|c| !c.failed));

    let e = explain::explain(&s, "1.0.0.0/24", "13335", None, Some("customer-b")).unwrap();
    let irr = e
        .checks
        .iter()
        .find(|c| c.reason == Reason::IrrUnregistered)
        .unwrap();
    assert_eq!((irr.enabled, irr.number), (false, 13));
}

#[test]
fn explain_takes_communities_and_judges_a_blackhole_host_route() {
    let s = snapshot();
    // 1.0.0.0/24 has a ROA for AS13335 (maxLength 24): customer-b's host route with BLACKHOLE
    // is inside its ROA space.
    let e = explain::explain(
        &s,
        "1.0.0.1/32",
        "13335",
        Some("64500:1, 65535:666"),
        Some("customer-b"),
    )
    .unwrap();
    assert!(e.accepted, "{e:?}");
    assert_eq!(e.communities, ["64500:1", "65535:666"]);
    assert_eq!(e.rpki, Some(RovState::Invalid), "for its length only");
    let failed = |e: &ExplainView| -> Vec<Reason> {
        e.checks
            .iter()
            .filter(|c| c.failed)
            .map(|c| c.reason)
            .collect()
    };
    // Without the community it is an ordinary /32.
    let e = explain::explain(&s, "1.0.0.1/32", "13335", None, Some("customer-b")).unwrap();
    assert_eq!(failed(&e), [Reason::PrefixLength, Reason::RpkiInvalid]);
    // From a provider it is refused for its own reason, first.
    let e = explain::explain(
        &s,
        "1.0.0.1/32",
        "2914 13335",
        Some("65535:666"),
        Some("transit-a"),
    )
    .unwrap();
    // And unauthorized, its maxLength is no excuse: rpki-invalid too.
    assert_eq!(
        failed(&e),
        [
            Reason::BlackholeUnauthorized,
            Reason::PrefixLength,
            Reason::RpkiInvalid
        ]
    );
    let bh = e
        .checks
        .iter()
        .find(|c| c.reason == Reason::BlackholeUnauthorized)
        .unwrap();
    assert_eq!(bh.number, 16);
    for bad in ["65535", "65536:1", "a:b", "1:2:3"] {
        assert_eq!(
            explain_err(explain::explain(
                &s,
                "1.0.0.0/24",
                "2914",
                Some(bad),
                Some("transit-a")
            )),
            format!(
                "communities: {bad:?} is not a standard community (ASN:VALUE, each 0-65535, \
                 e.g. 65535:666)"
            )
        );
    }
}

#[test]
fn explain_rejects_bad_input_with_a_message() {
    let s = snapshot();
    assert_eq!(
        explain_err(explain::explain(&s, "1.0.0.0/24", "2914", None, None)),
        "peer: required when several peers are configured (peers: transit-a, customer-b)"
    );
    assert_eq!(
        explain_err(explain::explain(&s, "1.0.0.0/24", "2914", None, Some("x"))),
        "peer: no peer named \"x\" (peers: transit-a, customer-b)"
    );
    assert!(explain_err(explain::explain(
        &s,
        "1.0.0.0/24",
        "2914 {",
        None,
        Some("transit-a")
    ))
    .starts_with("path: "));
    assert_eq!(
        explain_err(explain::explain(
            &s,
            "1.0.0.1/24",
            "2914",
            None,
            Some("transit-a")
        )),
        "prefix: 1.0.0.1/24 has host bits set (did you mean 1.0.0.0/24?)"
    );
}

#[test]
fn incident_marks_are_yes_or_no_and_at_least_one() {
    assert_eq!(
        mark_order(Some("publish=no&share_regulator=yes"), 4).unwrap(),
        crate::rib::IncidentOrder::Mark {
            id: 4,
            publish: Some(false),
            share_operators: None,
            share_regulator: Some(true),
        }
    );
    let bad = |q| match mark_order(Some(q), 4) {
        Err(ApiError::BadRequest(m)) => m,
        other => panic!("expected a 400, got {other:?}"),
    };
    assert_eq!(
        bad("publish=maybe"),
        "publish: \"maybe\" is neither \"yes\" nor \"no\""
    );
    assert_eq!(
        bad(""),
        "give at least one of publish, share_operators, share_regulator (yes or no)"
    );
    assert!(bad("share=yes").starts_with("unknown parameter \"share\""));
}
