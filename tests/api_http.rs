//! The HTTP API and `bgpsieve ctl` over real HTTP: `api::serve` on 127.0.0.1:0 with a real
//! policy snapshot (VRPs and ASPAs from testdata), a rejected store with routes in it, peer and
//! RPKI views, metrics, and a control channel answered by a task standing in for the daemon.
//! Every endpoint's JSON is checked exactly, and `ctl`'s tables and `-j` output too.

mod common;

use bgpsieve::api::views::RouterView;
use bgpsieve::api::{
    self, AfiCounts, ApiState, CacheStatus, CircuitBreakerStatus, Control, FileStatus, LastTrip,
    LimitState, MaxPrefixView, PeerView, RejectedRoute, RejectedStore, RpkiStatus, SessionState,
};
use bgpsieve::metrics::{Metrics, PeerLabel};
use bgpsieve::policy::{Action, LocalPolicy, PeerPolicy, Reason};
use bgpsieve::policy::{PolicySnapshot, SharedPolicy};
use bgpsieve::rib::{IncidentOrder, NeighborError, NeighborOrder, OrderError};
use bgpsieve::rpki::{self, AspaState, LoadOptions, RovState};
use bgpsieve::{Afi, Asn, Direction, Role};
use serde_json::{json, Value};
use std::net::SocketAddr;
use std::process::Command;
use std::sync::{Arc, Mutex};
use std::time::{SystemTime, UNIX_EPOCH};

/// A running API: its address and when "now" was for the views.
struct Server {
    addr: SocketAddr,
    now: i64,
    store: Arc<RejectedStore>,
}

impl Server {
    fn url(&self, path: &str) -> String {
        format!("http://{}{path}", self.addr)
    }
}

const UP_FOR: i64 = 3 * 86400 + 4 * 3600 + 30 * 60;
const TRIP_AT: i64 = 1_700_000_000;
const B_DOWN_FOR: i64 = 2 * 3600 + 15 * 60 + 30;

fn peers(now: i64) -> Vec<PeerView> {
    let mut a = PeerView::new(
        "transit-a",
        Role::Provider,
        Asn(2914),
        "198.51.100.1".parse().unwrap(),
        RouterView::new("10.0.0.1".parse().unwrap(), "10.0.0.101".parse().unwrap()),
    );
    a.state = SessionState::Established;
    a.since = Some(now - UP_FOR);
    a.routes_in = AfiCounts {
        ipv4: 1000,
        ipv6: 200,
    };
    a.accepted_in = AfiCounts {
        ipv4: 990,
        ipv6: 200,
    };
    a.routes_out = AfiCounts { ipv4: 5, ipv6: 1 };
    a.rejected_in = 10;
    a.router.state = SessionState::Established;
    a.router.since = Some(now - UP_FOR);
    a.router.routes_in = AfiCounts { ipv4: 7, ipv6: 1 };
    a.router.routes_out = AfiCounts {
        ipv4: 990,
        ipv6: 200,
    };
    let mut b = PeerView::new(
        "customer-b",
        Role::Customer,
        Asn(13335),
        "203.0.113.9".parse().unwrap(),
        RouterView::new("10.0.0.1".parse().unwrap(), "10.0.0.102".parse().unwrap()),
    );
    b.state = SessionState::Stopped;
    b.since = Some(now - B_DOWN_FOR);
    b.max_prefix = MaxPrefixView {
        state: LimitState::Down,
        down_until: None,
        last_trip: Some(LastTrip {
            at: TRIP_AT,
            direction: Direction::In,
            kind: "limit".into(),
            afi: Some(Afi::Ipv4),
            limit: 100,
            count: 101,
            action: Action::Teardown,
        }),
    };
    vec![a, b]
}

fn rejected(time: i64, peer: &str, prefix: &str, path: &str, reasons: &[Reason]) -> RejectedRoute {
    RejectedRoute {
        time,
        peer: peer.into(),
        direction: Direction::In,
        prefix: prefix.parse().unwrap(),
        path_id: None,
        path: path.into(),
        reasons: reasons.to_vec(),
        rpki: None,
        aspa: None,
    }
}

/// The incident the API's view holds: transit-a tripped its limit.
fn incident() -> bgpsieve::api::Incident {
    serde_json::from_value(json!({
        "id": 1,
        "start": TRIP_AT,
        "peer": "transit-a",
        "peer_asn": 2914,
        "kind": "max-prefix",
        "detail": "ipv4 prefixes 1001 over the limit of 1000",
        "action": "teardown",
        "announcements_last_minute": 1001,
        "prefixes": ["192.0.2.0/24"],
        "origins": [[2914, 1001]],
        "state": "open",
        "resolved_at": null,
        "router": "10.0.0.1",
        "router_asn": 64500
    }))
    .unwrap()
}

fn start() -> Server {
    let now = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_secs() as i64;
    let data = rpki::load_rpki(
        &[common::td("vrps/stayrtr_test.rpki.json")],
        &[],
        &[],
        &LoadOptions::default(),
    )
    .unwrap();
    let (v4, v6) = data.vrp_count();
    let aspas = data.aspa_count();
    let mut b = PeerPolicy::new(
        "customer-b",
        Role::Customer,
        Asn(13335),
        "203.0.113.9".parse().ok(),
    );
    b.enabled.remove(Reason::IrrUnregistered);
    let policy = SharedPolicy::new(PolicySnapshot {
        generation: 7,
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
    });

    let store = Arc::new(RejectedStore::new(1000));
    store.push(rejected(
        1_700_000_001,
        "transit-a",
        "1.0.0.0/24",
        "2914 4134",
        &[Reason::RpkiInvalid],
    ));
    store.push(RejectedRoute {
        rpki: Some(RovState::Invalid),
        aspa: Some(AspaState::Unknown),
        path_id: Some(3),
        ..rejected(
            1_700_000_002,
            "customer-b",
            "1.0.4.0/24",
            "13335 64512",
            &[Reason::BogonAsn, Reason::RpkiInvalid],
        )
    });
    store.push(rejected(
        1_700_000_003,
        "transit-a",
        "10.0.0.0/8",
        "2914 15169",
        &[Reason::BogonPrefix],
    ));

    let metrics = Metrics::new(&[
        PeerLabel {
            name: "transit-a".into(),
        },
        PeerLabel {
            name: "customer-b".into(),
        },
    ]);
    metrics.peer_up(0, true);
    metrics.received(0, Afi::Ipv4, 1000);
    metrics.rejected(0, Direction::In, Reason::RpkiInvalid);
    metrics.vrps(Afi::Ipv4, v4 as u64);
    metrics.vrps(Afi::Ipv6, v6 as u64);

    let rpki_status = RpkiStatus {
        starting: false,
        vrps_v4: v4 as u64,
        vrps_v6: v6 as u64,
        aspas: aspas as u64,
        generation: 7,
        last_update: Some(1_700_000_100),
        caches: vec![CacheStatus {
            address: "127.0.0.1:3323".into(),
            up: true,
            version: Some(1),
            session_id: Some(4242),
            serial: Some(17),
            last_change: Some(1_700_000_050),
            ..Default::default()
        }],
        files: vec![FileStatus {
            path: "/var/lib/rpki/vrps.json".into(),
            loaded_at: Some(1_700_000_000),
            error: Some("line 3: expected value".into()),
            ..Default::default()
        }],
        circuit_breaker: CircuitBreakerStatus {
            held: true,
            since: Some(1_700_000_060),
            why: Some("VRPs would shrink by 80% (limit 50%)".into()),
        },
    };

    let (control, mut requests) = tokio::sync::mpsc::channel(4);
    let state = ApiState {
        policy: Arc::new(policy),
        rejected: store.clone(),
        peers: Arc::new(Mutex::new(peers(now))),
        rpki: Arc::new(Mutex::new(rpki_status)),
        metrics: Arc::new(metrics),
        control,
        incidents: Arc::new(Mutex::new(vec![incident()])),
    };
    let (tx, rx) = std::sync::mpsc::channel();
    // The server's runtime lives on its own thread for the whole test process.
    std::thread::spawn(move || {
        let rt = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .unwrap();
        rt.block_on(async move {
            let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
            tx.send(listener.local_addr().unwrap()).unwrap();
            // The daemon's part: answer control requests.
            tokio::spawn(async move {
                while let Some(req) = requests.recv().await {
                    match req {
                        Control::Reload(answer) => {
                            let _ = answer.send(Ok(
                                "configuration reloaded: 2 peers, policy generation 8".into(),
                            ));
                        }
                        Control::RpkiAccept(answer) => {
                            let _ = answer.send(Err(
                                "nothing is held... yet: data from 127.0.0.1:3323 still arriving"
                                    .into(),
                            ));
                        }
                        // Incident 1 exists, no other.
                        Control::Incident { order, answer } => {
                            let _ = answer.send(match order {
                                IncidentOrder::Mark { id: 1, .. } => {
                                    Ok("incident 1: marked".into())
                                }
                                IncidentOrder::Comment { id: 1, text } => {
                                    Ok(format!("incident 1: comment {text:?}"))
                                }
                                IncidentOrder::Mark { id, .. }
                                | IncidentOrder::Comment { id, .. } => {
                                    Err(OrderError::NotFound(id))
                                }
                            });
                        }
                        // The daemon's answers to neighbor orders, saying what it was asked.
                        Control::Neighbor {
                            peer,
                            order,
                            answer,
                        } => {
                            let _ = answer.send(match (peer.as_str(), order) {
                                ("customer-b", NeighborOrder::Refresh(_)) => {
                                    Err(NeighborError::Conflict(format!(
                                        "{peer} is administratively down: nothing to refresh"
                                    )))
                                }
                                ("transit-a" | "customer-b", order) => {
                                    Ok(format!("{peer}: {order:?}"))
                                }
                                (_, _) => Err(NeighborError::NotFound(peer.clone())),
                            });
                        }
                        Control::Routes { query, answer } => {
                            let _ = answer.send(routes_answer(&query));
                        }
                        // transit-a is held down, customer-b is not.
                        Control::Clear { peer, answer } => {
                            let _ = answer.send(if peer == "transit-a" {
                                Ok(format!("{peer}: limit cleared, the session starts again"))
                            } else {
                                Err(format!("{peer} is not held down by a limit"))
                            });
                        }
                    }
                }
            });
            api::serve(listener, state).await.unwrap();
        });
    });
    Server {
        addr: rx.recv().unwrap(),
        now,
        store,
    }
}

fn agent() -> ureq::Agent {
    ureq::Agent::config_builder()
        .http_status_as_error(false)
        .proxy(None)
        .build()
        .into()
}

/// (status, content type, body).
fn get(s: &Server, path: &str) -> (u16, String, String) {
    let mut r = agent().get(s.url(path)).call().unwrap();
    let ct = r
        .headers()
        .get("content-type")
        .and_then(|v| v.to_str().ok())
        .unwrap_or("")
        .to_string();
    (
        r.status().as_u16(),
        ct,
        r.body_mut().read_to_string().unwrap(),
    )
}

fn get_json(s: &Server, path: &str) -> (u16, Value) {
    let (status, ct, body) = get(s, path);
    assert_eq!(ct, "application/json", "{path}");
    (status, serde_json::from_str(&body).unwrap())
}

fn post_json(s: &Server, path: &str) -> (u16, Value) {
    let mut r = agent().post(s.url(path)).send_empty().unwrap();
    let status = r.status().as_u16();
    (
        status,
        serde_json::from_str(&r.body_mut().read_to_string().unwrap()).unwrap(),
    )
}

/// A session's diagnostics as the fixture leaves them (never reported).
fn no_session() -> Value {
    json!({"fsm_state": "", "fsm_since": null, "flaps": 0, "last_error": null})
}

fn peer_a_json(now: i64) -> Value {
    json!({
        "name": "transit-a", "role": "provider", "asn": 2914, "address": "198.51.100.1",
        "state": "established", "since": now - UP_FOR,
        "routes_in": {"ipv4": 1000, "ipv6": 200}, "accepted_in": {"ipv4": 990, "ipv6": 200},
        "routes_out": {"ipv4": 5, "ipv6": 1}, "rejected_in": 10, "rejected_out": 0,
        "max_prefix": {"state": "ok", "down_until": null, "last_trip": null},
        "session": no_session(),
        "router": {
            "address": "10.0.0.1", "local_address": "10.0.0.101", "state": "established",
            "since": now - UP_FOR, "routes_in": {"ipv4": 7, "ipv6": 1},
            "routes_out": {"ipv4": 990, "ipv6": 200}, "session": no_session()
        },
        "shutdown": null
    })
}

fn peer_b_json(now: i64) -> Value {
    json!({
        "name": "customer-b", "role": "customer", "asn": 13335, "address": "203.0.113.9",
        "state": "stopped", "since": now - B_DOWN_FOR,
        "routes_in": {"ipv4": 0, "ipv6": 0}, "accepted_in": {"ipv4": 0, "ipv6": 0},
        "routes_out": {"ipv4": 0, "ipv6": 0}, "rejected_in": 0, "rejected_out": 0,
        "max_prefix": {"state": "down", "down_until": null, "last_trip": {
            "at": TRIP_AT, "direction": "in", "kind": "limit", "afi": "ipv4",
            "limit": 100, "count": 101, "action": "teardown"
        }},
        "session": no_session(),
        "router": {
            "address": "10.0.0.1", "local_address": "10.0.0.102", "state": "down",
            "since": null, "routes_in": {"ipv4": 0, "ipv6": 0},
            "routes_out": {"ipv4": 0, "ipv6": 0}, "session": no_session()
        },
        "shutdown": null
    })
}

#[test]
fn peers_and_one_peer() {
    let s = start();
    assert_eq!(
        get_json(&s, "/api/v1/peers"),
        (
            200,
            json!({"peers": [peer_a_json(s.now), peer_b_json(s.now)]})
        )
    );
    assert_eq!(
        get_json(&s, "/api/v1/peers/customer-b"),
        (200, peer_b_json(s.now))
    );
    assert_eq!(
        get_json(&s, "/api/v1/peers/nobody"),
        (404, json!({"error": "no peer named \"nobody\""}))
    );
    assert_eq!(
        get_json(&s, "/api/v1/peers?x=1"),
        (
            400,
            json!({"error": "unknown parameter \"x\" (this endpoint takes none)"})
        )
    );
}

fn route_1() -> Value {
    json!({"time": 1_700_000_001, "peer": "transit-a", "direction": "in",
           "prefix": "1.0.0.0/24", "path": "2914 4134", "reasons": ["rpki-invalid"]})
}
fn route_2() -> Value {
    json!({"time": 1_700_000_002, "peer": "customer-b", "direction": "in",
           "prefix": "1.0.4.0/24", "path_id": 3, "path": "13335 64512",
           "reasons": ["bogon-asn", "rpki-invalid"], "rpki": "invalid", "aspa": "unknown"})
}
fn route_3() -> Value {
    json!({"time": 1_700_000_003, "peer": "transit-a", "direction": "in",
           "prefix": "10.0.0.0/8", "path": "2914 15169", "reasons": ["bogon-prefix"]})
}

#[test]
fn rejected_filters_and_pages() {
    let s = start();
    let page = |total, offset, limit, next: Value, routes: Vec<Value>| {
        json!({"total": total, "dropped": 0, "offset": offset, "limit": limit,
               "next_cursor": next, "routes": routes})
    };
    assert_eq!(
        get_json(&s, "/api/v1/rejected"),
        (
            200,
            page(
                3,
                0,
                100,
                Value::Null,
                vec![route_3(), route_2(), route_1()]
            )
        )
    );
    assert_eq!(
        get_json(&s, "/api/v1/rejected?peer=transit-a"),
        (
            200,
            page(2, 0, 100, Value::Null, vec![route_3(), route_1()])
        )
    );
    assert_eq!(
        get_json(&s, "/api/v1/rejected?reason=rpki-invalid&peer="),
        (
            200,
            page(2, 0, 100, Value::Null, vec![route_2(), route_1()])
        )
    );
    assert_eq!(
        get_json(&s, "/api/v1/rejected?prefix=1.0.0.0/24"),
        (200, page(1, 0, 100, Value::Null, vec![route_1()]))
    );
    assert_eq!(
        get_json(&s, "/api/v1/rejected?prefix=1.0.0.0/16&match=more-specific"),
        (
            200,
            page(2, 0, 100, Value::Null, vec![route_2(), route_1()])
        )
    );
    // Paging: by cursor (stable while routes arrive) and by offset.
    let (_, first) = get_json(&s, "/api/v1/rejected?limit=2");
    assert_eq!(first, page(3, 0, 2, json!(1), vec![route_3(), route_2()]));
    assert_eq!(
        get_json(&s, "/api/v1/rejected?limit=2&cursor=1"),
        (200, page(3, 0, 2, Value::Null, vec![route_1()]))
    );
    assert_eq!(
        get_json(&s, "/api/v1/rejected?limit=1&offset=1"),
        (200, page(3, 1, 1, json!(1), vec![route_2()]))
    );
    // Bad parameters.
    for (q, error) in [
        ("limit=5000", "limit: 5000 is not between 1 and 1000"),
        ("limit=ten", "limit: \"ten\" is not a non-negative integer"),
        ("reason=nope", "reason: unknown reason code \"nope\""),
        (
            "prefix=1.0.0.1/24",
            "prefix: 1.0.0.1/24 has host bits set (did you mean 1.0.0.0/24?)",
        ),
        ("match=more-specific", "match: needs a prefix"),
        ("peer=a&peer=b", "parameter \"peer\" given twice"),
    ] {
        let (status, body) = get_json(&s, &format!("/api/v1/rejected?{q}"));
        assert_eq!(status, 400, "{q}");
        let got = body["error"].as_str().unwrap();
        assert!(got.starts_with(error), "{q}: {got}");
    }
    // A route pushed now comes first; the store counts nothing dropped below capacity.
    s.store.push(rejected(
        1_700_000_004,
        "customer-b",
        "1.0.5.0/24",
        "13335",
        &[Reason::RpkiInvalid],
    ));
    let (_, all) = get_json(&s, "/api/v1/rejected?limit=1");
    assert_eq!(all["routes"][0]["time"], json!(1_700_000_004));
    assert_eq!(all["total"], json!(4));
}

fn checks(failed: &[&str], disabled: &[&str]) -> Value {
    let all = [
        ("malformed", 1),
        ("bogon-prefix", 2),
        ("blackhole-unauthorized", 16),
        ("prefix-length", 3),
        ("bogon-asn", 4),
        ("as-set", 5),
        ("as-path-length", 6),
        ("first-as", 7),
        ("next-hop", 8),
        ("otc-leak", 9),
        ("peerlock", 10),
        ("rpki-invalid", 11),
        ("aspa-invalid", 12),
        ("irr-unregistered", 13),
        ("too-many-communities", 15),
    ];
    Value::Array(
        all.iter()
            .map(|(code, n)| {
                json!({"reason": code, "number": n, "enabled": !disabled.contains(code),
                       "failed": failed.contains(code)})
            })
            .collect(),
    )
}

#[test]
fn explain_an_invalid_and_a_valid_route() {
    let s = start();
    assert_eq!(
        get_json(
            &s,
            "/api/v1/explain?prefix=1.0.0.0/24&path=2914%204134&peer=transit-a"
        ),
        (
            200,
            json!({"prefix": "1.0.0.0/24", "path": "2914 4134", "peer": "transit-a",
                   "accepted": false, "rpki": "invalid", "aspa": "valid",
                   "checks": checks(&["rpki-invalid"], &[])})
        )
    );
    assert_eq!(
        get_json(
            &s,
            "/api/v1/explain?prefix=1.0.0.0/24&path=2914+13335&peer=transit-a"
        ),
        (
            200,
            json!({"prefix": "1.0.0.0/24", "path": "2914 13335", "peer": "transit-a",
                   "accepted": true, "rpki": "valid", "aspa": "valid",
                   "checks": checks(&[], &[])})
        )
    );
    // Through a customer whose customer 15562 attests providers that 13335 is not among
    // (the real ASPA in the data): a leak.
    assert_eq!(
        get_json(
            &s,
            "/api/v1/explain?prefix=8.8.8.0/24&path=13335%2015562&peer=customer-b"
        ),
        (
            200,
            json!({"prefix": "8.8.8.0/24", "path": "13335 15562", "peer": "customer-b",
                   "accepted": false, "rpki": "not_found", "aspa": "invalid",
                   "checks": checks(&["aspa-invalid"], &["irr-unregistered"])})
        )
    );
    // A customer's route with an AS_SET (RFC 9774): no origin to match the VRP of
    // 2001:200:136::/48, and ASPA-Invalid; its IRR check is off but still shown.
    assert_eq!(
        get_json(
            &s,
            "/api/v1/explain?prefix=2001:200:136::/48&path=13335%20{9367,64496}&peer=customer-b"
        ),
        (
            200,
            json!({"prefix": "2001:200:136::/48", "path": "13335 {9367,64496}",
                   "peer": "customer-b", "accepted": false, "rpki": "invalid",
                   "aspa": "invalid",
                   "checks": checks(&["bogon-asn", "as-set", "rpki-invalid", "aspa-invalid"],
                                    &["irr-unregistered"])})
        )
    );
    // With BLACKHOLE: customer-b's host route inside its ROA space (AS13335's 1.0.0.0/24,
    // maxLength 24) passes although ROV says Invalid for its length.
    assert_eq!(
        get_json(
            &s,
            "/api/v1/explain?prefix=1.0.0.1/32&path=13335&communities=65535:666&peer=customer-b"
        ),
        (
            200,
            json!({"prefix": "1.0.0.1/32", "path": "13335", "communities": ["65535:666"],
                   "peer": "customer-b", "accepted": true, "rpki": "invalid", "aspa": "valid",
                   "checks": checks(&[], &["irr-unregistered"])})
        )
    );
    assert_eq!(
        get_json(
            &s,
            "/api/v1/explain?prefix=1.0.0.1/32&path=2914%2013335&communities=65535:666&peer=transit-a"
        ),
        (
            200,
            json!({"prefix": "1.0.0.1/32", "path": "2914 13335", "communities": ["65535:666"],
                   "peer": "transit-a", "accepted": false, "rpki": "invalid", "aspa": "valid",
                   "checks": checks(&["blackhole-unauthorized", "prefix-length", "rpki-invalid"],
                                    &[])})
        )
    );
    for (q, status, error) in [
        ("path=2914", 400, "prefix: required"),
        (
            "prefix=1.0.0.0/24&path=2914&peer=transit-a&communities=666",
            400,
            "communities: \"666\" is not a standard community",
        ),
        (
            "prefix=1.0.0.0/24&path=2914",
            400,
            "peer: required when several peers are configured (peers: transit-a, customer-b)",
        ),
        (
            "prefix=1.0.0.0/24&path=2914&peer=z",
            400,
            "peer: no peer named \"z\" (peers: transit-a, customer-b)",
        ),
        ("prefix=1.0.0.0/24&path=29x4&peer=transit-a", 400, "path: "),
        (
            "prefix=bad&path=2914&peer=transit-a",
            400,
            "prefix: \"bad\" is not a prefix",
        ),
    ] {
        let (got_status, body) = get_json(&s, &format!("/api/v1/explain?{q}"));
        assert_eq!(got_status, status, "{q}");
        let got = body["error"].as_str().unwrap();
        assert!(got.starts_with(error), "{q}: {got}");
    }
}

fn rpki_json() -> Value {
    json!({
        "starting": false, "vrps_v4": 5, "vrps_v6": 14, "aspas": 2, "generation": 7,
        "last_update": 1_700_000_100,
        "caches": [{"address": "127.0.0.1:3323", "up": true, "version": 1, "session_id": 4242,
                    "serial": 17, "last_change": 1_700_000_050, "last_sync": null,
                    "last_update": null, "age_s": null}],
        "files": [{"path": "/var/lib/rpki/vrps.json", "loaded_at": 1_700_000_000,
                   "modified": null, "age_s": null, "error": "line 3: expected value"}],
        "circuit_breaker": {"held": true, "since": 1_700_000_060,
                            "why": "VRPs would shrink by 80% (limit 50%)"}
    })
}

#[test]
fn rpki_status_and_control_requests() {
    let s = start();
    assert_eq!(get_json(&s, "/api/v1/rpki"), (200, rpki_json()));
    assert_eq!(
        post_json(&s, "/api/v1/reload"),
        (
            200,
            json!({"message": "configuration reloaded: 2 peers, policy generation 8"})
        )
    );
    assert_eq!(
        post_json(&s, "/api/v1/rpki/accept"),
        (
            500,
            json!({"error": "nothing is held... yet: data from 127.0.0.1:3323 still arriving"})
        )
    );
    assert_eq!(
        get_json(&s, "/api/v1/reload"),
        (
            405,
            json!({"error": "GET is not allowed on /api/v1/reload"})
        )
    );
    assert_eq!(
        post_json(&s, "/api/v1/peers/transit-a/clear"),
        (
            200,
            json!({"message": "transit-a: limit cleared, the session starts again"})
        )
    );
    assert_eq!(
        post_json(&s, "/api/v1/peers/customer-b/clear"),
        (
            409,
            json!({"error": "customer-b is not held down by a limit"})
        )
    );
    assert_eq!(
        post_json(&s, "/api/v1/peers/nobody/clear"),
        (404, json!({"error": "no peer named \"nobody\""}))
    );
    assert_eq!(
        get_json(&s, "/api/v2/nothing"),
        (404, json!({"error": "no such endpoint: /api/v2/nothing"}))
    );
}

#[test]
fn incidents_one_by_id_marks_and_comments() {
    let s = start();
    let (status, one) = get_json(&s, "/api/v1/incidents/1");
    assert_eq!(status, 200);
    assert_eq!(
        (one["id"].clone(), one["peer"].clone()),
        (json!(1), json!("transit-a"))
    );
    assert_eq!(one["marks"]["publish"], Value::Null, "not decided");
    assert_eq!(
        get_json(&s, "/api/v1/incidents/2"),
        (404, json!({"error": "no incident 2"}))
    );
    assert_eq!(
        get_json(&s, "/api/v1/incidents/x"),
        (400, json!({"error": "incident id: \"x\" is not a number"}))
    );
    assert_eq!(
        post_json(
            &s,
            "/api/v1/incidents/1/mark?publish=yes&share_regulator=no"
        ),
        (200, json!({"message": "incident 1: marked"}))
    );
    assert_eq!(
        post_json(&s, "/api/v1/incidents/3/mark?publish=yes"),
        (404, json!({"error": "no incident 3"}))
    );
    assert_eq!(
        post_json(&s, "/api/v1/incidents/1/mark"),
        (
            400,
            json!({"error": "give at least one of publish, share_operators, share_regulator (yes or no)"})
        )
    );
    assert_eq!(
        post_json(
            &s,
            "/api/v1/incidents/1/comment?text=ticket%204711%0Asee%20NOC"
        ),
        (
            200,
            json!({"message": "incident 1: comment \"ticket 4711\\nsee NOC\""})
        )
    );
    assert_eq!(
        post_json(&s, "/api/v1/incidents/1/comment"),
        (400, json!({"error": "text: required"}))
    );
    assert_eq!(
        get_json(&s, "/api/v1/incidents/1/mark"),
        (
            405,
            json!({"error": "GET is not allowed on /api/v1/incidents/1/mark"})
        )
    );
}

#[test]
fn ctl_incident_list_show_mark_and_comment() {
    let s = start();
    let table = ok(ctl(&s, &["incidents"]));
    assert!(table.starts_with("ID  START (UTC)"), "{table}");
    assert!(table.contains("transit-a (AS2914)"), "{table}");
    assert_eq!(ok(ctl(&s, &["incident", "list"])), table);
    assert_eq!(ok(ctl(&s, &["incident"])), table);
    let report = ok(ctl(&s, &["incident", "show", "1"]));
    assert!(
        report.starts_with("Leak incident 1 (transit-a, AS2914)\n"),
        "{report}"
    );
    assert!(report.contains("  Router:   10.0.0.1, AS64500 (the reporting network)\n"));
    assert!(report.contains("  May be published:                    not decided\n"));
    assert_eq!(
        ok(ctl(
            &s,
            &[
                "incident",
                "mark",
                "1",
                "--publish",
                "yes",
                "--share-regulator",
                "no"
            ]
        )),
        "incident 1: marked\n"
    );
    assert_eq!(
        ok(ctl(
            &s,
            &["incident", "comment", "1", "ticket", "4711", "(see NOC)"]
        )),
        "incident 1: comment \"ticket 4711 (see NOC)\"\n"
    );
    let (code, _, err) = ctl(&s, &["incident", "show", "9"]);
    assert_eq!((code, err.as_str()), (1, "error: no incident 9\n"));
    let (code, _, err) = ctl(&s, &["incident", "mark", "1"]);
    assert_eq!(code, 2, "a mark is required: {err}");
    assert!(err.contains("--publish"), "{err}");
    let (code, _, err) = ctl(&s, &["incident", "mark", "1", "--publish", "maybe"]);
    assert_eq!(code, 2, "{err}");
}

#[test]
fn metrics_are_prometheus_text() {
    let s = start();
    let (status, ct, body) = get(&s, "/metrics");
    assert_eq!((status, ct.as_str()), (200, "text/plain; version=0.0.4"));
    for line in [
        r#"bgpsieve_peer_up{peer="transit-a"} 1"#,
        r#"bgpsieve_peer_up{peer="customer-b"} 0"#,
        r#"bgpsieve_routes_received_total{afi="ipv4",peer="transit-a"} 1000"#,
        r#"bgpsieve_routes_rejected_total{direction="in",peer="transit-a",reason="rpki-invalid"} 1"#,
        r#"bgpsieve_vrps{afi="ipv4"} 5"#,
        r#"bgpsieve_vrps{afi="ipv6"} 14"#,
    ] {
        assert!(body.lines().any(|l| l == line), "{line} missing in\n{body}");
    }
    assert!(body
        .lines()
        .any(|l| l.starts_with("process_resident_memory_bytes ")));
}

// ---- bgpsieve ctl, the real binary against the server ----

fn ctl(s: &Server, args: &[&str]) -> (i32, String, String) {
    let api = format!("http://{}", s.addr);
    let out = Command::new(env!("CARGO_BIN_EXE_bgpsieve"))
        .args(["ctl", "--api", &api])
        .args(args)
        .env_remove("http_proxy")
        .env_remove("HTTP_PROXY")
        .output()
        .unwrap();
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8(out.stdout).unwrap(),
        String::from_utf8(out.stderr).unwrap(),
    )
}

fn ok(r: (i32, String, String)) -> String {
    assert_eq!(r.0, 0, "stderr: {}", r.2);
    assert_eq!(r.2, "");
    r.1
}

#[test]
fn ctl_peers_table() {
    let s = start();
    assert_eq!(
        ok(ctl(&s, &["peers"])),
        "\
NAME        ROLE        ASN  ADDRESS       STATE          FOR  ROUTER       RECV4  RECV6  ACPT4  ACPT6  SENT4  SENT6  REJ-IN  REJ-OUT  MAX-PREFIX
transit-a   provider   2914  198.51.100.1  established   3d4h  established   1000    200    990    200      5      1      10        0  ok
customer-b  customer  13335  203.0.113.9   stopped      2h15m  down             0      0      0      0      0      0       0        0  down
"
    );
}

#[test]
fn ctl_peer_detail() {
    let s = start();
    assert_eq!(
        ok(ctl(&s, &["peer", "customer-b"])),
        format!(
            "\
name:          customer-b
role:          customer
asn:           13335
address:       203.0.113.9
state:         stopped for 2h15m (since {} UTC)
received:      ipv4 0, ipv6 0
accepted:      ipv4 0, ipv6 0
rejected in:   0
sent:          ipv4 0, ipv6 0
rejected out:  0
router:        10.0.0.1 from 10.0.0.102, down
from router:   ipv4 0, ipv6 0
to router:     ipv4 0, ipv6 0
max-prefix:    down
last trip:     2023-11-14 22:13:20 UTC, in, limit ipv4 101/100, teardown
",
            bgpsieve::ctl::utc(s.now - B_DOWN_FOR)
        )
    );
    let (code, out, err) = ctl(&s, &["peer", "nobody"]);
    assert_eq!(
        (code, out.as_str(), err.as_str()),
        (1, "", "error: no peer named \"nobody\"\n")
    );
}

#[test]
fn ctl_rejected_table_and_filters() {
    let s = start();
    assert_eq!(
        ok(ctl(&s, &["rejected"])),
        "\
TIME (UTC)           PEER        DIR  PREFIX                  PATH         REASONS                 RPKI     ASPA
2023-11-14 22:13:23  transit-a   in   10.0.0.0/8              2914 15169   bogon-prefix            -        -
2023-11-14 22:13:22  customer-b  in   1.0.4.0/24 (path id 3)  13335 64512  bogon-asn,rpki-invalid  invalid  unknown
2023-11-14 22:13:21  transit-a   in   1.0.0.0/24              2914 4134    rpki-invalid            -        -
3 of 3 matching rejected routes
"
    );
    assert_eq!(
        ok(ctl(
            &s,
            &[
                "rejected",
                "--peer",
                "transit-a",
                "--reason",
                "rpki-invalid"
            ]
        )),
        "\
TIME (UTC)           PEER       DIR  PREFIX      PATH       REASONS       RPKI  ASPA
2023-11-14 22:13:21  transit-a  in   1.0.0.0/24  2914 4134  rpki-invalid  -     -
1 of 1 matching rejected routes
"
    );
    assert_eq!(
        ok(ctl(
            &s,
            &[
                "rejected",
                "--prefix",
                "1.0.0.0/16",
                "--more-specific",
                "--limit",
                "1",
                "--offset",
                "1"
            ]
        )),
        "\
TIME (UTC)           PEER       DIR  PREFIX      PATH       REASONS       RPKI  ASPA
2023-11-14 22:13:21  transit-a  in   1.0.0.0/24  2914 4134  rpki-invalid  -     -
1 of 2 matching rejected routes (after the newest 1)
"
    );
    let (code, out, err) = ctl(&s, &["rejected", "--reason", "leak"]);
    assert_eq!(code, 1);
    assert_eq!(out, "");
    assert!(
        err.starts_with("error: reason: unknown reason code \"leak\" (one of: malformed, "),
        "{err}"
    );
}

#[test]
fn ctl_json_is_the_apis_json_indented() {
    let s = start();
    let (_, _, body) = get(&s, "/api/v1/rejected?peer=transit-a&limit=1");
    let out = ok(ctl(
        &s,
        &["-j", "rejected", "--peer", "transit-a", "--limit", "1"],
    ));
    assert_eq!(
        out,
        "\
{
  \"total\": 2,
  \"dropped\": 0,
  \"offset\": 0,
  \"limit\": 1,
  \"next_cursor\": 2,
  \"routes\": [
    {
      \"time\": 1700000003,
      \"peer\": \"transit-a\",
      \"direction\": \"in\",
      \"prefix\": \"10.0.0.0/8\",
      \"path\": \"2914 15169\",
      \"reasons\": [
        \"bogon-prefix\"
      ]
    }
  ]
}
"
    );
    // Unchanged: the same JSON as the API's, only indented.
    assert_eq!(
        serde_json::from_str::<Value>(&out).unwrap(),
        serde_json::from_str::<Value>(&body).unwrap()
    );
    // -j also after the subcommand, for every command.
    let rpki: Value = serde_json::from_str(&ok(ctl(&s, &["rpki", "-j"]))).unwrap();
    assert_eq!(rpki, rpki_json());
    let peers: Value = serde_json::from_str(&ok(ctl(&s, &["peers", "--json"]))).unwrap();
    assert_eq!(
        peers,
        json!({"peers": [peer_a_json(s.now), peer_b_json(s.now)]})
    );
}

#[test]
fn ctl_explain_table() {
    let s = start();
    assert_eq!(
        ok(ctl(
            &s,
            &[
                "explain",
                "1.0.0.0/24",
                "2914",
                "4134",
                "--peer",
                "transit-a"
            ]
        )),
        "\
1.0.0.0/24 path 2914 4134 from transit-a: REJECTED (rpki-invalid)
rpki invalid, aspa valid

CHECK                   NUM  ENABLED  RESULT
malformed                 1  yes      pass
bogon-prefix              2  yes      pass
blackhole-unauthorized   16  yes      pass
prefix-length             3  yes      pass
bogon-asn                 4  yes      pass
as-set                    5  yes      pass
as-path-length            6  yes      pass
first-as                  7  yes      pass
next-hop                  8  yes      pass
otc-leak                  9  yes      pass
peerlock                 10  yes      pass
rpki-invalid             11  yes      FAIL
aspa-invalid             12  yes      pass
irr-unregistered         13  yes      pass
too-many-communities     15  yes      pass
"
    );
    let out = ok(ctl(
        &s,
        &["explain", "1.0.0.0/24", "13335", "--peer", "customer-b"],
    ));
    assert!(
        out.starts_with(
            "1.0.0.0/24 path 13335 from customer-b: accepted\nrpki valid, aspa valid\n"
        ),
        "{out}"
    );
    assert!(
        out.contains("\nirr-unregistered         13  no       pass\n"),
        "{out}"
    );
    // An RFC 7999 blackhole host route: inside customer-b's ROA space it passes; from the
    // provider it is refused for its own reason.
    let out = ok(ctl(
        &s,
        &[
            "explain",
            "1.0.0.1/32",
            "13335",
            "--peer",
            "customer-b",
            "--community",
            "65535:666",
        ],
    ));
    assert!(
        out.starts_with(
            "1.0.0.1/32 path 13335 communities 65535:666 from customer-b: accepted\n\
             rpki invalid, aspa valid\n"
        ),
        "{out}"
    );
    let out = ok(ctl(
        &s,
        &[
            "explain",
            "1.0.0.1/32",
            "2914",
            "13335",
            "--peer",
            "transit-a",
            "--community",
            "65535:666",
            "--community",
            "2914:666",
        ],
    ));
    assert!(
        out.starts_with(
            "1.0.0.1/32 path 2914 13335 communities 65535:666 2914:666 from transit-a: \
             REJECTED (blackhole-unauthorized,prefix-length,rpki-invalid)\n"
        ),
        "{out}"
    );
    assert!(
        out.contains("\nblackhole-unauthorized   16  yes      FAIL\n"),
        "{out}"
    );
    let (code, _, err) = ctl(&s, &["explain", "1.0.0.0/24", "13335"]);
    assert_eq!(code, 1);
    assert_eq!(
        err,
        "error: peer: required when several peers are configured (peers: transit-a, customer-b)\n"
    );
}

#[test]
fn ctl_rpki_reload_and_accept() {
    let s = start();
    assert_eq!(
        ok(ctl(&s, &["rpki"])),
        "\
VRPs:             ipv4 5, ipv6 14
ASPAs:            2
generation:       7
last update:      2023-11-14 22:15:00 UTC
circuit breaker:  HOLDING an update since 2023-11-14 22:14:20 UTC: VRPs would shrink by 80% (limit 50%) (bgpsieve ctl rpki accept puts it in force)

CACHE           UP   VERSION  SESSION  SERIAL  LAST CHANGE (UTC)    DATA AGE
127.0.0.1:3323  yes        1     4242      17  2023-11-14 22:14:10         -

FILE                     LOADED (UTC)         DATA AGE  ERROR
/var/lib/rpki/vrps.json  2023-11-14 22:13:20         -  line 3: expected value
"
    );
    assert_eq!(
        ok(ctl(&s, &["reload"])),
        "configuration reloaded: 2 peers, policy generation 8\n"
    );
    let (code, out, err) = ctl(&s, &["rpki", "accept"]);
    assert_eq!(
        (code, out.as_str(), err.as_str()),
        (
            1,
            "",
            "error: nothing is held... yet: data from 127.0.0.1:3323 still arriving\n"
        )
    );
    assert_eq!(
        ok(ctl(&s, &["clear", "transit-a"])),
        "transit-a: limit cleared, the session starts again\n"
    );
    let (code, out, err) = ctl(&s, &["clear", "customer-b"]);
    assert_eq!(
        (code, out.as_str(), err.as_str()),
        (1, "", "error: customer-b is not held down by a limit\n")
    );
}

#[test]
fn ctl_without_an_api_exits_2_naming_the_url() {
    // A port that was just free: nothing listens there.
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let api = format!("http://127.0.0.1:{port}");
    let out = Command::new(env!("CARGO_BIN_EXE_bgpsieve"))
        .args(["ctl", "--api", &api, "peers"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert!(out.stdout.is_empty());
    let err = String::from_utf8(out.stderr).unwrap();
    assert!(
        err.starts_with(&format!(
            "cannot reach the bgpsieve API at {api}/api/v1/peers: "
        )),
        "{err}"
    );
}

#[test]
fn neighbor_down_up_and_refresh_over_http_and_ctl() {
    let s = start();
    assert_eq!(
        post_json(
            &s,
            "/api/v1/peers/transit-a/down?message=maintenance%20until%2014%3A00"
        ),
        (
            200,
            json!({"message": "transit-a: Down { message: \"maintenance until 14:00\" }"})
        )
    );
    assert_eq!(
        post_json(&s, "/api/v1/peers/transit-a/down"),
        (200, json!({"message": "transit-a: Down { message: \"\" }"}))
    );
    assert_eq!(
        post_json(&s, "/api/v1/peers/transit-a/up"),
        (200, json!({"message": "transit-a: Up"}))
    );
    assert_eq!(
        post_json(&s, "/api/v1/peers/transit-a/refresh?direction=out"),
        (200, json!({"message": "transit-a: Refresh(Out)"}))
    );
    assert_eq!(
        post_json(&s, "/api/v1/peers/transit-a/refresh"),
        (200, json!({"message": "transit-a: Refresh(Both)"}))
    );
    assert_eq!(
        post_json(&s, "/api/v1/peers/customer-b/refresh?direction=in"),
        (
            409,
            json!({"error": "customer-b is administratively down: nothing to refresh"})
        )
    );
    assert_eq!(
        post_json(&s, "/api/v1/peers/nobody/up"),
        (404, json!({"error": "no peer named \"nobody\""}))
    );
    // Bad parameters never reach the daemon.
    let long = "x".repeat(256);
    assert_eq!(
        post_json(&s, &format!("/api/v1/peers/transit-a/down?message={long}")),
        (
            400,
            json!({"error": "message: the message is 256 bytes; a shutdown communication holds at most 255 (RFC 9003)"})
        )
    );
    assert_eq!(
        post_json(&s, "/api/v1/peers/transit-a/refresh?direction=sideways"),
        (
            400,
            json!({"error": "direction: \"sideways\" is neither in nor out"})
        )
    );
    assert_eq!(post_json(&s, "/api/v1/peers/transit-a/up?force=1").0, 400);
    assert_eq!(get_json(&s, "/api/v1/peers/transit-a/down").0, 405);

    // ctl: the words of the message joined; the answer printed; errors exit 1.
    assert_eq!(
        ok(ctl(
            &s,
            &[
                "neighbor",
                "transit-a",
                "down",
                "maintenance",
                "until",
                "14:00"
            ]
        )),
        "transit-a: Down { message: \"maintenance until 14:00\" }\n"
    );
    assert_eq!(
        ok(ctl(&s, &["neighbor", "transit-a", "up"])),
        "transit-a: Up\n"
    );
    assert_eq!(
        ok(ctl(&s, &["neighbor", "transit-a", "refresh", "in"])),
        "transit-a: Refresh(In)\n"
    );
    assert_eq!(
        ok(ctl(&s, &["-j", "neighbor", "transit-a", "refresh"])),
        "{\n  \"message\": \"transit-a: Refresh(Both)\"\n}\n"
    );
    let (code, out, err) = ctl(&s, &["neighbor", "nobody", "down"]);
    assert_eq!(
        (code, out.as_str(), err.as_str()),
        (1, "", "error: no peer named \"nobody\"\n")
    );
    let (code, _, err) = ctl(&s, &["neighbor", "customer-b", "refresh", "out"]);
    assert_eq!(code, 1);
    assert!(err.contains("administratively down"), "{err}");
    let (code, _, err) = ctl(&s, &["neighbor", "transit-a", "refresh", "sideways"]);
    assert_eq!(code, 2, "a usage error: {err}");
}

// ---- route views: the RIB's answers as the daemon would hand them over ----

use bgpsieve::rib::routes::{
    FlowCounts, Found, PeerQuery, PrefixQuery, QueryError, RouteMatch, RouteQuery, Row, Status,
    View,
};

/// A route of transit-a, rejected as RPKI invalid.
fn invalid_row(view: View) -> Row {
    let attrs = bgpsieve::types::Attrs {
        origin: bgpsieve::types::Origin::Igp,
        as_path: bgpsieve::types::AsPath::parse("2914 64500").unwrap(),
        next_hop: Some("198.51.100.1".parse().unwrap()),
        med: Some(10),
        communities: vec![(2914 << 16) | 410],
        large_communities: vec![[2914, 1, 2]],
        ..Default::default()
    };
    let mut verdict = bgpsieve::policy::Verdict {
        rov: Some(RovState::Invalid),
        ..Default::default()
    };
    verdict.reject(Reason::RpkiInvalid);
    Row {
        peer: "transit-a".into(),
        view,
        nlri: bgpsieve::bgp::update::Nlri::new("192.0.2.0/24".parse().unwrap()),
        attrs: Arc::new(bgpsieve::bgp::update::PathAttributes {
            attrs: Arc::new(attrs),
            other: vec![],
        }),
        verdict,
        passed: false,
    }
}

/// The stand-in RIB: transit-a's rejected routes in view `in` (limit 5) are one route of the
/// three held; the longest match of 192.0.2.1 is that route; nobody else exists.
fn routes_answer(q: &RouteQuery) -> Result<Found, QueryError> {
    let expected = PeerQuery {
        peer: "transit-a".into(),
        view: View::In,
        status: Some(Status::Rejected),
        afi: None,
        limit: 5,
    };
    match q {
        RouteQuery::Peer(p) if *p == expected => Ok(Found {
            counts: Some(bgpsieve::types::PerAfi {
                ipv4: FlowCounts {
                    held: 3,
                    accepted: 2,
                    rejected: 1,
                    passed: 2,
                },
                ipv6: FlowCounts::default(),
            }),
            matched: 1,
            matched_prefix: None,
            rows: vec![invalid_row(View::In)],
        }),
        RouteQuery::Peer(p) => Err(QueryError::NoPeer(p.peer.clone())),
        RouteQuery::Prefix(PrefixQuery {
            how: RouteMatch::Longest,
            limit: 1000,
            ..
        }) => Ok(Found {
            counts: None,
            matched: 2,
            matched_prefix: Some("192.0.2.0/24".parse().unwrap()),
            rows: vec![invalid_row(View::In)],
        }),
        RouteQuery::Prefix(_) => Ok(Found::default()),
    }
}

fn invalid_route_json() -> Value {
    json!({
        "peer": "transit-a", "view": "in", "prefix": "192.0.2.0/24", "as_path": "2914 64500",
        "origin": "igp", "next_hop": "198.51.100.1", "med": 10,
        "communities": ["2914:410"], "large_communities": ["2914:1:2"],
        "accepted": false, "reasons": ["rpki-invalid"], "rpki": "invalid", "passed": false
    })
}

#[test]
fn route_views_of_a_peer_and_of_a_prefix() {
    let s = start();
    let (status, body) = get_json(&s, "/api/v1/peers/transit-a/routes?status=rejected&limit=5");
    assert_eq!(status, 200, "{body}");
    assert_eq!(
        body,
        json!({
            "peer": "transit-a", "view": "in",
            "counts": {
                "ipv4": {"held": 3, "accepted": 2, "rejected": 1, "passed": 2},
                "ipv6": {"held": 0, "accepted": 0, "rejected": 0, "passed": 0}
            },
            "matched": 1, "limit": 5, "truncated": false,
            "routes": [invalid_route_json()]
        })
    );
    let (status, body) = get_json(&s, "/api/v1/routes?prefix=192.0.2.1");
    assert_eq!(status, 200, "{body}");
    assert_eq!(
        body,
        json!({
            "prefix": "192.0.2.1/32", "match": "longest", "matched_prefix": "192.0.2.0/24",
            "matched": 2, "limit": 1000, "truncated": true,
            "routes": [invalid_route_json()]
        })
    );
    let (status, body) = get_json(&s, "/api/v1/peers/nobody/routes");
    assert_eq!(
        (status, body),
        (404, json!({"error": "no peer named \"nobody\""}))
    );
    let (status, body) = get_json(&s, "/api/v1/peers/transit-a/routes?view=sideways");
    assert_eq!(status, 400);
    assert_eq!(
        body["error"],
        "view: \"sideways\" is not one of in, to-router, from-router, out"
    );
    let (status, _) = get_json(&s, "/api/v1/routes");
    assert_eq!(status, 400, "a prefix is required");

    assert_eq!(
        ok(ctl(
            &s,
            &["routes", "transit-a", "--rejected", "--limit", "5"]
        )),
        "\
transit-a, in: routes the neighbor sent, before policy
PREFIX        NEXT HOP      AS PATH     VERDICT                 TO ROUTER
192.0.2.0/24  198.51.100.1  2914 64500  rejected: rpki-invalid  no
ipv4: 3 held, 2 accepted, 1 rejected, 2 passed to the router
ipv6: 0 held, 0 accepted, 0 rejected, 0 passed to the router
1 matching routes
"
    );
    assert_eq!(
        ok(ctl(&s, &["route", "192.0.2.1"])),
        "\
192.0.2.1/32: longest match 192.0.2.0/24
PREFIX        PEER       FROM      NEXT HOP      AS PATH     VERDICT                 PASSED
192.0.2.0/24  transit-a  neighbor  198.51.100.1  2914 64500  rejected: rpki-invalid  no
1 of 2 matching routes shown (the first 1000 in prefix order; --limit up to 10000 for more)
"
    );
    let json_out = ok(ctl(
        &s,
        &["-j", "routes", "transit-a", "--rejected", "--limit", "5"],
    ));
    let v: Value = serde_json::from_str(&json_out).unwrap();
    assert_eq!(v["routes"][0], invalid_route_json());
}
