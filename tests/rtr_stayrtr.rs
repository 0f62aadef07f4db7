//! The RTR client against the real Debian `stayrtr` (0.5.1, v2 = draft-ietf-sidrops-8210bis-10)
//! and against tiny RTR caches written here (a TcpListener speaking hand-made PDUs, for what
//! StayRTR 0.5.1 cannot send: the current ASPA layout with an empty-provider withdrawal, version
//! fallback by Error Report, a duplicate announcement). Data: StayRTR's own fixture and a real
//! rpki-client export of 424k ROAs and 6.6k ASPAs (`testdata/vrps/`, see PROVENANCE.md), edited
//! where a test says so. All on 127.0.0.1, ports 43101–43199; every
//! stayrtr is stopped by PID. Without stayrtr the StayRTR tests skip, or fail when
//! `BGPSIEVE_REQUIRE_INTEROP=1`.

mod common;

use bgpsieve::rpki::rtr::{self, RtrCache, RtrClientConfig, RtrDelta, RtrEvent, RtrHandle};
use bgpsieve::rpki::Aspa;
use bgpsieve::types::Asn;
use common::interop::{available, Proc};
use serde_json::{json, Value};
use std::collections::BTreeSet;
use std::path::Path;
use std::time::{Duration, Instant};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::mpsc;

const T: Duration = Duration::from_secs(10);

/// The StayRTR fixture (19 ROAs, router keys, 2 customers × 2 AFIs of ASPA).
fn fixture() -> Value {
    let text = std::fs::read_to_string(common::td("vrps/stayrtr_test.rpki.json")).unwrap();
    serde_json::from_str(&text).unwrap()
}

type Key = (String, u8, u32);

/// The (prefix, maxLength, asn) set of a StayRTR JSON file.
fn file_vrps(v: &Value) -> BTreeSet<Key> {
    v["roas"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| {
            let asn = match &r["asn"] {
                Value::String(s) => s.trim_start_matches("AS").parse().unwrap(),
                n => n.as_u64().unwrap() as u32,
            };
            (
                r["prefix"].as_str().unwrap().to_string(),
                r["maxLength"].as_u64().unwrap() as u8,
                asn,
            )
        })
        .collect()
}

/// Per customer, the union of its providers over both AFIs.
fn file_aspas(v: &Value) -> Vec<Aspa> {
    let mut m: std::collections::BTreeMap<u32, Vec<Asn>> = Default::default();
    for afi in ["ipv4", "ipv6"] {
        for a in v["provider_authorizations"][afi]
            .as_array()
            .into_iter()
            .flatten()
        {
            m.entry(a["customer_asid"].as_u64().unwrap() as u32)
                .or_default()
                .extend(
                    a["providers"]
                        .as_array()
                        .unwrap()
                        .iter()
                        .map(|p| Asn(p.as_u64().unwrap() as u32)),
                );
        }
    }
    m.into_iter()
        .map(|(c, p)| Aspa::new(Asn(c), p, None))
        .collect()
}

fn keys(v: &[bgpsieve::rpki::rtr::RtrVrp]) -> BTreeSet<Key> {
    v.iter()
        .map(|v| (v.prefix.to_string(), v.max_len, v.asn.0))
        .collect()
}

/// Writes `v` to `path` atomically (StayRTR rereads it every second).
fn write_json(path: &Path, v: &Value) {
    let tmp = path.with_extension("tmp");
    std::fs::write(&tmp, serde_json::to_vec_pretty(v).unwrap()).unwrap();
    std::fs::rename(&tmp, path).unwrap();
}

/// A stayrtr serving `json` on 127.0.0.1:`port` (our expire override is what the tests use).
fn stayrtr(dir: &Path, name: &str, port: u16, json: &Path, extra: &[&str]) -> Proc {
    common::interop::stayrtr(dir, name, &format!("127.0.0.1:{port}"), json, extra)
}

fn client(ports: &[u16], expire: Option<Duration>) -> (RtrHandle, mpsc::Receiver<RtrEvent>) {
    let (tx, rx) = mpsc::channel(1024);
    let cfg = RtrClientConfig {
        caches: ports
            .iter()
            .map(|p| RtrCache {
                address: format!("127.0.0.1:{p}"),
            })
            .collect(),
        expire,
        connect_timeout: Duration::from_secs(2),
    };
    (rtr::spawn(cfg, tx), rx)
}

/// Events until one matches `pred` (returned with everything before it).
async fn until(
    rx: &mut mpsc::Receiver<RtrEvent>,
    timeout: Duration,
    what: &str,
    mut pred: impl FnMut(&RtrEvent) -> bool,
) -> (RtrEvent, Vec<RtrEvent>) {
    let deadline = tokio::time::Instant::now() + timeout;
    let mut seen = Vec::new();
    loop {
        match tokio::time::timeout_at(deadline, rx.recv()).await {
            Ok(Some(ev)) if pred(&ev) => return (ev, seen),
            Ok(Some(ev)) => seen.push(ev),
            Ok(None) => panic!("client ended while waiting for {what}"),
            Err(_) => panic!("timed out waiting for {what}; saw {seen:#?}"),
        }
    }
}

/// The next delta that changes something.
async fn next_change(rx: &mut mpsc::Receiver<RtrEvent>, what: &str) -> (RtrDelta, Vec<RtrEvent>) {
    let (ev, seen) = until(
        rx,
        T,
        what,
        |e| matches!(e, RtrEvent::Data(d) if !d.is_empty()),
    )
    .await;
    let RtrEvent::Data(d) = ev else {
        unreachable!()
    };
    (d, seen)
}

fn is_status(e: &RtrEvent, up: bool) -> bool {
    matches!(e, RtrEvent::Status(s) if s.up == up)
}

fn accepted(p: &Proc) -> usize {
    p.log_text().matches("Accepted tcp connection").count()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn first_sync_has_exactly_the_files_vrps_and_aspas() {
    if !available("stayrtr") {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let json = dir.path().join("rpki.json");
    let data = fixture();
    write_json(&json, &data);
    let _v2 = stayrtr(dir.path(), "stayrtr-v2", 43101, &json, &[]);
    let _v1 = stayrtr(dir.path(), "stayrtr-v1", 43102, &json, &["-protocol", "1"]);
    let _v0 = stayrtr(dir.path(), "stayrtr-v0", 43103, &json, &["-protocol", "0"]);

    let want = file_vrps(&data);
    assert_eq!(want.len(), 19);
    let want_aspas = file_aspas(&data);
    assert_eq!(want_aspas.len(), 2);
    for (port, version) in [(43101, 2u8), (43102, 1), (43103, 0)] {
        let (h, mut rx) = client(&[port], None);
        let (d, seen) = next_change(&mut rx, "first sync").await;
        assert!(seen.iter().any(|e| is_status(e, true)), "{seen:?}");
        assert!(d.reset);
        assert_eq!((d.cache, d.version), (0, version), "port {port}");
        assert_eq!(d.vrps_announced.len(), want.len());
        assert_eq!(keys(&d.vrps_announced), want);
        // ASPA only exists in version 2; the router keys of the file were read and ignored.
        let aspas = if version == 2 {
            want_aspas.clone()
        } else {
            vec![]
        };
        assert_eq!(d.aspas, aspas, "port {port}");
        h.shutdown().await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn real_rpki_client_export_of_424k_roas_syncs_whole() {
    if !available("stayrtr") {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let json = dir.path().join("rpki.json");
    let gz =
        std::fs::File::open(common::td("vrps/rpki-client_ripe-prepdev_20230504.json.gz")).unwrap();
    let mut data: Value = serde_json::from_reader(flate2::read::GzDecoder::new(gz)).unwrap();
    // The per-entry `expires` (May 2023) have passed, and StayRTR drops expired entries.
    for e in data["roas"].as_array_mut().unwrap() {
        e.as_object_mut().unwrap().remove("expires");
    }
    for afi in ["ipv4", "ipv6"] {
        for a in data["provider_authorizations"][afi].as_array_mut().unwrap() {
            a.as_object_mut().unwrap().remove("expires");
        }
    }
    write_json(&json, &data);
    let _s = stayrtr(dir.path(), "stayrtr", 43105, &json, &[]);
    let (h, mut rx) = client(&[43105], None);
    let (d, _) = until(&mut rx, Duration::from_secs(25), "first sync", |e| {
        matches!(e, RtrEvent::Data(_))
    })
    .await;
    let RtrEvent::Data(d) = d else { unreachable!() };
    let want = file_vrps(&data);
    assert!(want.len() > 400_000, "{}", want.len());
    assert!(d.reset);
    assert_eq!(d.vrps_announced.len(), want.len());
    assert_eq!(keys(&d.vrps_announced), want);
    assert_eq!(d.aspas, file_aspas(&data));
    h.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn removed_then_restored_roa_arrives_as_serial_deltas_on_one_connection() {
    if !available("stayrtr") {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let json = dir.path().join("rpki.json");
    let mut data = fixture();
    write_json(&json, &data);
    let s = stayrtr(dir.path(), "stayrtr", 43111, &json, &[]);
    let (h, mut rx) = client(&[43111], None);
    let (first, _) = next_change(&mut rx, "first sync").await;
    assert_eq!(first.vrps_announced.len(), 19);

    let removed = data["roas"].as_array_mut().unwrap().remove(1);
    write_json(&json, &data);
    let (d, seen) = next_change(&mut rx, "withdrawal").await;
    assert!(!d.reset);
    assert_eq!(d.session_id, first.session_id);
    assert!(d.serial > first.serial);
    assert_eq!(
        keys(&d.vrps_withdrawn),
        BTreeSet::from([("1.0.4.0/24".to_string(), 24, 38803)])
    );
    assert!(d.vrps_announced.is_empty() && d.aspas.is_empty() && d.aspas_withdrawn.is_empty());
    assert!(
        !seen.iter().any(|e| matches!(e, RtrEvent::Status(_))),
        "{seen:?}"
    );

    data["roas"].as_array_mut().unwrap().insert(1, removed);
    write_json(&json, &data);
    let (d, seen) = next_change(&mut rx, "re-announcement").await;
    assert!(!d.reset);
    assert_eq!(
        keys(&d.vrps_announced),
        BTreeSet::from([("1.0.4.0/24".to_string(), 24, 38803)])
    );
    assert!(d.vrps_withdrawn.is_empty());
    assert!(
        !seen.iter().any(|e| matches!(e, RtrEvent::Status(_))),
        "{seen:?}"
    );
    // Serial Queries on the one connection, no reconnect.
    assert_eq!(accepted(&s), 1, "{}", s.log_text());
    h.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn stopped_cache_keeps_state_then_expires_and_a_restarted_one_is_reconnected() {
    if !available("stayrtr") {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let json = dir.path().join("rpki.json");
    let data = fixture();
    write_json(&json, &data);
    let expire = Duration::from_secs(4);
    let launched = Instant::now();
    let mut s = stayrtr(dir.path(), "stayrtr-1", 43121, &json, &[]);
    let (h, mut rx) = client(&[43121], Some(expire));
    let (first, _) = next_change(&mut rx, "first sync").await;
    assert!(first.reset);

    // Stopped and back within the expire interval: no Expired; the new StayRTR has a new session
    // ID, rejects our Serial Query, and the client resets from it. (StayRTR 0.5.1 seeds its
    // session ID from the clock's second: two started within one second share it.)
    s.terminate();
    until(&mut rx, T, "down", |e| is_status(e, false)).await;
    tokio::time::sleep_until((launched + Duration::from_millis(1500)).into()).await;
    let s = stayrtr(dir.path(), "stayrtr-2", 43121, &json, &[]);
    let (d, seen) = next_change(&mut rx, "resync").await;
    assert!(
        !seen.iter().any(|e| matches!(e, RtrEvent::Expired)),
        "{seen:?}"
    );
    assert!(seen.iter().any(|e| is_status(e, true)));
    assert!(d.reset);
    assert_ne!(d.session_id, first.session_id);
    assert_eq!(keys(&d.vrps_announced), file_vrps(&data));
    drop(s);

    // Stopped for longer: down, the data is kept (no event) until the expire interval has passed
    // since the last End of Data, then Expired once.
    let stopped = Instant::now();
    let (_, seen) = until(&mut rx, T, "down", |e| is_status(e, false)).await;
    assert!(!seen.iter().any(|e| matches!(e, RtrEvent::Expired)));
    let (_, seen) = until(&mut rx, T, "Expired", |e| matches!(e, RtrEvent::Expired)).await;
    let waited = stopped.elapsed();
    // The last End of Data came at most ~1 s (StayRTR's refresh) before the stop.
    assert!(
        waited >= expire - Duration::from_millis(1500) && waited < expire + Duration::from_secs(3),
        "{waited:?}"
    );
    assert!(
        !seen.iter().any(|e| matches!(e, RtrEvent::Data(_))),
        "{seen:?}"
    );

    // Restarted on the same port: reconnected, and after expiry the data comes whole.
    let _s = stayrtr(dir.path(), "stayrtr-3", 43121, &json, &[]);
    let (d, seen) = next_change(&mut rx, "reconnect").await;
    assert!(seen.iter().any(|e| is_status(e, true)), "{seen:?}");
    assert!(d.reset);
    assert_eq!(keys(&d.vrps_announced), file_vrps(&data));
    assert_eq!(d.aspas, file_aspas(&data));
    h.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn stayrtr_aspa_changes_and_removals_over_version_2() {
    if !available("stayrtr") {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let json = dir.path().join("rpki.json");
    let mut data = fixture();
    write_json(&json, &data);
    let _s = stayrtr(dir.path(), "stayrtr", 43131, &json, &[]);
    let (h, mut rx) = client(&[43131], None);
    let (first, _) = next_change(&mut rx, "first sync").await;
    assert_eq!(first.version, 2);
    assert_eq!(first.aspas, file_aspas(&data));

    // AS15562 changes its IPv4 providers (StayRTR sends "announce new, withdraw old"); AS64496
    // disappears from both AFIs.
    let pa = &mut data["provider_authorizations"];
    pa["ipv4"] = json!([{"customer_asid": 15562, "providers": [2914, 3356]}]);
    pa["ipv6"] = json!([{"customer_asid": 15562, "providers": [2914, 8283, 51088, 206238]}]);
    write_json(&json, &data);
    let (d, _) = next_change(&mut rx, "ASPA change").await;
    assert!(!d.reset);
    assert_eq!(
        d.aspas,
        vec![Aspa::new(
            Asn(15562),
            [2914, 3356, 8283, 51088, 206238].map(Asn),
            None
        )]
    );
    assert_eq!(d.aspas_withdrawn, vec![Asn(64496)]);
    assert!(d.vrps_announced.is_empty() && d.vrps_withdrawn.is_empty());
    h.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn fails_over_to_the_second_cache_and_returns_to_the_first() {
    if !available("stayrtr") {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let (ja, jb) = (dir.path().join("a.json"), dir.path().join("b.json"));
    let a = fixture();
    let mut b = fixture();
    b["roas"].as_array_mut().unwrap().truncate(10);
    write_json(&ja, &a);
    write_json(&jb, &b);
    let mut sa = stayrtr(dir.path(), "stayrtr-a", 43141, &ja, &[]);
    let _sb = stayrtr(dir.path(), "stayrtr-b", 43142, &jb, &[]);
    let (h, mut rx) = client(&[43141, 43142], None);
    let (d, _) = next_change(&mut rx, "sync with A").await;
    assert_eq!((d.cache, d.reset), (0, true));
    assert_eq!(keys(&d.vrps_announced), file_vrps(&a));

    sa.terminate();
    let (d, seen) = next_change(&mut rx, "failover to B").await;
    assert!(seen
        .iter()
        .any(|e| matches!(e, RtrEvent::Status(s) if s.cache == 0 && !s.up)));
    assert!(seen
        .iter()
        .any(|e| matches!(e, RtrEvent::Status(s) if s.cache == 1 && s.up)));
    assert_eq!((d.cache, d.reset), (1, true));
    assert_eq!(keys(&d.vrps_announced), file_vrps(&b));

    // A is back: within a retry interval (1 s) the client syncs with it and switches.
    let _sa = stayrtr(dir.path(), "stayrtr-a2", 43141, &ja, &[]);
    let (d, seen) = next_change(&mut rx, "back to A").await;
    assert_eq!((d.cache, d.reset), (0, true));
    assert_eq!(keys(&d.vrps_announced), file_vrps(&a));
    assert!(seen
        .iter()
        .any(|e| matches!(e, RtrEvent::Status(s) if s.cache == 1 && !s.up)));
    h.shutdown().await;
}

// ---- A tiny RTR cache, for what StayRTR 0.5.1 does not send ----

fn pdu(version: u8, ty: u8, field: u16, body: &[u8]) -> Vec<u8> {
    let mut b = vec![version, ty];
    b.extend_from_slice(&field.to_be_bytes());
    b.extend_from_slice(&(8 + body.len() as u32).to_be_bytes());
    b.extend_from_slice(body);
    b
}

fn cache_response(v: u8, session: u16) -> Vec<u8> {
    pdu(v, 3, session, &[])
}

fn ipv4(v: u8, announce: bool, addr: [u8; 4], len: u8, asn: u32) -> Vec<u8> {
    let mut body = vec![u8::from(announce), len, len, 0];
    body.extend_from_slice(&addr);
    body.extend_from_slice(&asn.to_be_bytes());
    pdu(v, 4, 0, &body)
}

fn end_of_data(v: u8, session: u16, serial: u32) -> Vec<u8> {
    let mut body = serial.to_be_bytes().to_vec();
    if v > 0 {
        for t in [1u32, 1, 600] {
            body.extend_from_slice(&t.to_be_bytes());
        }
    }
    pdu(v, 7, session, &body)
}

/// ASPA in the 8210bis ≥ -12 layout: flags in header byte 2, customer, providers.
fn aspa_current(announce: bool, customer: u32, providers: &[u32]) -> Vec<u8> {
    let mut body = customer.to_be_bytes().to_vec();
    for p in providers {
        body.extend_from_slice(&p.to_be_bytes());
    }
    pdu(2, 11, u16::from(announce) << 8, &body)
}

fn error_report(v: u8, code: u16, text: &str) -> Vec<u8> {
    let mut body = 0u32.to_be_bytes().to_vec();
    body.extend_from_slice(&(text.len() as u32).to_be_bytes());
    body.extend_from_slice(text.as_bytes());
    pdu(v, 10, code, &body)
}

/// Reads one PDU from the router: (version, type, field, body).
async fn read_pdu(s: &mut TcpStream) -> (u8, u8, u16, Vec<u8>) {
    let mut h = [0u8; 8];
    tokio::time::timeout(T, s.read_exact(&mut h))
        .await
        .expect("router sent nothing")
        .unwrap();
    let len = u32::from_be_bytes(h[4..8].try_into().unwrap()) as usize;
    let mut body = vec![0; len - 8];
    s.read_exact(&mut body).await.unwrap();
    (h[0], h[1], u16::from_be_bytes([h[2], h[3]]), body)
}

async fn accept(l: &TcpListener) -> TcpStream {
    tokio::time::timeout(T, l.accept())
        .await
        .expect("router did not connect")
        .unwrap()
        .0
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn current_layout_aspa_with_empty_provider_withdrawal() {
    let l = TcpListener::bind("127.0.0.1:43151").await.unwrap();
    let (h, mut rx) = client(&[43151], None);
    let mut s = accept(&l).await;
    assert_eq!(read_pdu(&mut s).await, (2, 2, 0, vec![]), "Reset Query v2");
    let mut resp = cache_response(2, 77);
    resp.extend(ipv4(2, true, [192, 0, 2, 0], 24, 64500));
    resp.extend(aspa_current(true, 64500, &[64511, 64510]));
    resp.extend(aspa_current(true, 64501, &[0]));
    resp.extend(end_of_data(2, 77, 1));
    s.write_all(&resp).await.unwrap();
    let (d, _) = next_change(&mut rx, "reset").await;
    assert_eq!(
        d.aspas,
        vec![
            Aspa::new(Asn(64500), [Asn(64510), Asn(64511)], None),
            Aspa::new(Asn(64501), [Asn(0)], None)
        ]
    );

    // Serial Notify → Serial Query → a withdrawal without providers (8210bis ≥ -21).
    s.write_all(&pdu(2, 0, 77, &2u32.to_be_bytes()))
        .await
        .unwrap();
    assert_eq!(
        read_pdu(&mut s).await,
        (2, 1, 77, 1u32.to_be_bytes().to_vec())
    );
    let mut resp = cache_response(2, 77);
    resp.extend(aspa_current(false, 64500, &[]));
    resp.extend(end_of_data(2, 77, 2));
    s.write_all(&resp).await.unwrap();
    let (d, _) = next_change(&mut rx, "withdrawal").await;
    assert_eq!((d.reset, d.serial), (false, 2));
    assert_eq!(d.aspas_withdrawn, vec![Asn(64500)]);
    assert!(d.aspas.is_empty());
    h.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn unsupported_version_reconnects_lower_and_reconnect_sends_serial_query() {
    let l = TcpListener::bind("127.0.0.1:43161").await.unwrap();
    let (h, mut rx) = client(&[43161], None);
    // A version 1 cache: it refuses version 2 (RFC 8210 §7) and closes.
    let mut s = accept(&l).await;
    assert_eq!(read_pdu(&mut s).await.0, 2);
    s.write_all(&error_report(1, 4, "version 1 only"))
        .await
        .unwrap();
    drop(s);
    let mut s = accept(&l).await;
    assert_eq!(read_pdu(&mut s).await, (1, 2, 0, vec![]), "Reset Query v1");
    let mut resp = cache_response(1, 9);
    resp.extend(ipv4(1, true, [192, 0, 2, 0], 24, 64500));
    resp.extend(end_of_data(1, 9, 5));
    s.write_all(&resp).await.unwrap();
    let (d, _) = next_change(&mut rx, "v1 reset").await;
    assert_eq!((d.version, d.session_id, d.serial), (1, 9, 5));
    // The cache goes away; the reconnect continues the session with a Serial Query.
    drop(s);
    until(&mut rx, T, "down", |e| is_status(e, false)).await;
    let mut s = accept(&l).await;
    assert_eq!(
        read_pdu(&mut s).await,
        (1, 1, 9, 5u32.to_be_bytes().to_vec()),
        "Serial Query v1 for session 9 serial 5"
    );
    let mut resp = cache_response(1, 9);
    resp.extend(ipv4(1, false, [192, 0, 2, 0], 24, 64500));
    resp.extend(end_of_data(1, 9, 6));
    s.write_all(&resp).await.unwrap();
    let (d, _) = next_change(&mut rx, "serial delta").await;
    assert!(!d.reset);
    assert_eq!(
        keys(&d.vrps_withdrawn),
        BTreeSet::from([("192.0.2.0/24".to_string(), 24, 64500)])
    );
    h.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn duplicate_announcement_gets_an_error_report_then_a_reset() {
    let l = TcpListener::bind("127.0.0.1:43171").await.unwrap();
    let (h, mut rx) = client(&[43171], None);
    let mut s = accept(&l).await;
    read_pdu(&mut s).await;
    let mut resp = cache_response(2, 3);
    resp.extend(ipv4(2, true, [192, 0, 2, 0], 24, 64500));
    resp.extend(end_of_data(2, 3, 1));
    s.write_all(&resp).await.unwrap();
    next_change(&mut rx, "reset").await;

    s.write_all(&pdu(2, 0, 3, &2u32.to_be_bytes()))
        .await
        .unwrap();
    assert_eq!(read_pdu(&mut s).await.1, 1, "Serial Query");
    let dup = ipv4(2, true, [192, 0, 2, 0], 24, 64500);
    let mut resp = cache_response(2, 3);
    resp.extend(&dup);
    s.write_all(&resp).await.unwrap();
    let (v, ty, code, body) = read_pdu(&mut s).await;
    assert_eq!(
        (v, ty, code),
        (2, 10, 7),
        "Error Report: Duplicate Announcement"
    );
    assert_eq!(
        &body[4..4 + dup.len()],
        &dup[..],
        "the offending PDU is copied in"
    );
    // The client drops the connection and the session: the next query is a Reset Query.
    let mut s = accept(&l).await;
    assert_eq!(read_pdu(&mut s).await, (2, 2, 0, vec![]));
    let mut resp = cache_response(2, 4);
    resp.extend(ipv4(2, true, [198, 51, 100, 0], 24, 64501));
    resp.extend(end_of_data(2, 4, 1));
    s.write_all(&resp).await.unwrap();
    let (d, seen) = next_change(&mut rx, "reset after error").await;
    assert!(!seen
        .iter()
        .any(|e| matches!(e, RtrEvent::Data(d) if !d.is_empty())));
    assert!(d.reset);
    assert_eq!(
        keys(&d.vrps_announced),
        BTreeSet::from([("198.51.100.0/24".to_string(), 24, 64501)])
    );
    h.shutdown().await;
}
