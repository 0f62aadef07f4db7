//! Session behaviour over real loopback sockets, with a hand-driven neighbor on the other end.

use super::*;
use crate::bgp::codec::{encode, MessageType};
use crate::bgp::open::LocalSpeaker;
use crate::types::{Asn, Role};
use std::net::Ipv4Addr;
use tokio::net::TcpListener;

const OUR_AS: u32 = 64500;
const PEER_AS: u32 = 64501;

fn speaker(asn: u32, id: [u8; 4], hold_time: u16, neighbor_role: Role) -> LocalSpeaker {
    LocalSpeaker {
        asn: Asn(asn),
        router_id: Ipv4Addr::from(id),
        hold_time,
        families: vec![Afi::Ipv4],
        add_path: Vec::new(),
        neighbor_role: Some(neighbor_role),
        extended_message: false,
        enhanced_route_refresh: false,
    }
}

fn session_config(remote: SocketAddr, hold_time: u16) -> SessionConfig {
    SessionConfig {
        graceful_restart: None,
        id: SessionId::new(0, crate::types::Side::Neighbor),
        name: "test-neighbor".into(),
        remote,
        local_address: None,
        fsm: FsmConfig {
            hold_time,
            ..FsmConfig::default()
        },
        local_open: Open::new(&speaker(OUR_AS, [192, 0, 2, 1], hold_time, Role::Provider)),
        expect: PeerExpectation {
            asn: Asn(PEER_AS),
            local_asn: Asn(OUR_AS),
            role: Some(Role::Provider),
            role_strict: false,
        },
        mirror: None,
        follows_twin: false,
        checks: None,
        md5: None,
        gtsm: false,
        admin_down: None,
    }
}

/// An UPDATE announcing 10.N.M.0/24 (N, M from `i`) with ORIGIN, a one-hop 4-octet AS_PATH
/// and NEXT_HOP.
fn update(i: u16) -> Vec<u8> {
    let [hi, lo] = i.to_be_bytes();
    let asn = PEER_AS.to_be_bytes();
    let mut attrs = vec![0x40, 1, 1, 0];
    attrs.extend([0x40, 2, 6, 2, 1]);
    attrs.extend(asn);
    attrs.extend([0x40, 3, 4, 127, 0, 0, 2]);
    let mut body = vec![0, 0];
    body.extend(u16::try_from(attrs.len()).unwrap().to_be_bytes());
    body.extend(attrs);
    body.extend([24, 10, hi, lo]);
    encode(MessageType::Update, &body).unwrap()
}

/// Reads whole messages from `stream` for `for_how_long` and returns their type codes.
async fn read_types(stream: &mut TcpStream, for_how_long: Duration) -> Vec<u8> {
    let deadline = Instant::now() + for_how_long;
    let mut buf = Vec::new();
    let mut dec = Decoder::new();
    let mut types = Vec::new();
    loop {
        while let Ok(Some(f)) = dec.decode(&mut buf) {
            types.push(f.kind.code());
        }
        match tokio::time::timeout_at(deadline, stream.read_buf(&mut buf)).await {
            Ok(Ok(n)) if n > 0 => {}
            _ => return types,
        }
    }
}

/// Accepts the session's connection and completes the OPEN exchange as the neighbor.
async fn establish(listener: &TcpListener, hold_time: u16) -> TcpStream {
    let (mut stream, _) = listener.accept().await.unwrap();
    let open = Open::new(&speaker(PEER_AS, [192, 0, 2, 2], hold_time, Role::Customer));
    stream.write_all(&open.encode().unwrap()).await.unwrap();
    stream.write_all(&codec::encode_keepalive()).await.unwrap();
    // Our OPEN and KEEPALIVE.
    let types = read_types(&mut stream, Duration::from_millis(500)).await;
    assert_eq!(types.first(), Some(&1), "the session sends its OPEN first");
    stream
}

#[tokio::test]
async fn a_rib_that_falls_behind_does_not_stop_the_keepalives() {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    // A RIB channel of one slot that nobody reads for now.
    let (rib_tx, mut rib_rx) = mpsc::channel(1);
    let (cmd, task) = spawn(session_config(addr, 3), rib_tx);
    let mut stream = establish(&listener, 3).await;

    const UPDATES: u16 = 3000;
    let mut flood = Vec::new();
    for i in 0..UPDATES {
        flood.extend(update(i));
    }
    stream.write_all(&flood).await.unwrap();
    // Four seconds with the RIB stalled, the neighbor keeping its side alive: the session must
    // go on sending KEEPALIVEs (every second with a 3 s hold time) and never a NOTIFICATION.
    let mut seen = Vec::new();
    for _ in 0..4 {
        stream.write_all(&codec::encode_keepalive()).await.unwrap();
        seen.extend(read_types(&mut stream, Duration::from_secs(1)).await);
    }
    assert!(
        !seen.contains(&3),
        "no NOTIFICATION while the RIB is busy: {seen:?}"
    );
    let keepalives = seen.iter().filter(|t| **t == 4).count();
    assert!(keepalives >= 3, "KEEPALIVEs kept coming: {seen:?}");

    // The RIB catches up: it gets the session's Up, then every UPDATE, in order.
    assert!(matches!(rib_rx.recv().await, Some(FromSession::Up { .. })));
    for i in 0..UPDATES {
        let [hi, lo] = i.to_be_bytes();
        let want: ipnet::IpNet = format!("10.{hi}.{lo}.0/24").parse().unwrap();
        match tokio::time::timeout(Duration::from_secs(5), rib_rx.recv()).await {
            Ok(Some(FromSession::Update { update, .. })) => {
                let got: Vec<_> = update.announced.iter().map(|n| n.prefix).collect();
                assert_eq!(got, vec![want], "UPDATE {i}");
            }
            other => panic!("UPDATE {i}: got {other:?}"),
        }
    }
    cmd.send(ToSession::Shutdown("test over".into())).unwrap();
    task.await.unwrap();
}

#[tokio::test]
async fn a_neighbor_that_reads_nothing_trips_the_send_hold_timer() {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let client = TcpStream::connect(listener.local_addr().unwrap())
        .await
        .unwrap();
    // The neighbor's end: accepted and never read.
    let (_silent, _) = listener.accept().await.unwrap();
    let conn = attach_with(client, Duration::from_millis(300));
    // Far more than the loopback socket buffers hold.
    for _ in 0..256 {
        let _ = conn.writer.send(vec![0u8; 1 << 18]);
    }
    let mut conn = conn;
    let end = tokio::time::timeout(Duration::from_secs(20), &mut conn.writer_task)
        .await
        .expect("the writer gives up")
        .unwrap();
    assert!(matches!(end, WriterEnd::SendHoldExpired), "{end:?}");
}

#[tokio::test]
async fn a_writer_that_is_still_sending_ends_soon_after_its_connection_is_dropped() {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let client = TcpStream::connect(listener.local_addr().unwrap())
        .await
        .unwrap();
    let (_silent, _) = listener.accept().await.unwrap();
    let conn = attach_with(client, SEND_HOLD_TIME);
    for _ in 0..256 {
        let _ = conn.writer.send(vec![0u8; 1 << 18]);
    }
    let task = conn.writer_task.abort_handle();
    drop(conn);
    tokio::time::sleep(CLOSE_GRACE + Duration::from_millis(500)).await;
    assert!(task.is_finished(), "the writer outlived its connection");
}

#[test]
fn send_hold_time_is_eight_minutes_or_twice_the_hold_time() {
    assert_eq!(send_hold_time(90), Duration::from_secs(480));
    assert_eq!(send_hold_time(0), Duration::from_secs(480));
    assert_eq!(send_hold_time(300), Duration::from_secs(600));
}

#[test]
fn failed_connections_are_logged_first_then_once_a_minute_or_when_the_error_changes() {
    let t0 = Instant::now();
    let at = |s: u64| t0 + Duration::from_secs(s);
    let mut log = FailureLog::default();
    assert_eq!(log.failed(at(0), "refused"), Some(1), "the first is logged");
    assert_eq!(log.failed(at(5), "refused"), None);
    assert_eq!(log.failed(at(30), "refused"), None);
    assert_eq!(
        log.failed(at(60), "refused"),
        Some(3),
        "a minute on, with the count"
    );
    assert_eq!(
        log.failed(at(61), "timed out"),
        Some(1),
        "a new error at once"
    );
    assert_eq!(log.failed(at(62), "timed out"), None);
    log.connected();
    assert_eq!(
        log.failed(at(63), "timed out"),
        Some(1),
        "after a success, at once"
    );
}

/// Reads whole messages from `stream` for up to `for_how_long`, until it closes.
async fn read_frames(stream: &mut TcpStream, for_how_long: Duration) -> Vec<Frame> {
    let deadline = Instant::now() + for_how_long;
    let mut buf = Vec::new();
    let mut dec = Decoder::new();
    let mut frames = Vec::new();
    loop {
        while let Ok(Some(f)) = dec.decode(&mut buf) {
            frames.push(f);
        }
        match tokio::time::timeout_at(deadline, stream.read_buf(&mut buf)).await {
            Ok(Ok(n)) if n > 0 => {}
            _ => return frames,
        }
    }
}

/// The NOTIFICATION among `frames`.
fn notification_in(frames: &[Frame]) -> Option<Notification> {
    frames
        .iter()
        .find(|f| f.kind == MessageType::Notification)
        .and_then(|f| Notification::decode(&f.body).ok())
}

#[tokio::test]
async fn an_administrative_shutdown_holds_until_up_and_a_route_refresh_goes_out() {
    use crate::bgp::notification::ShutdownMessage;
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let (rib_tx, mut rib_rx) = mpsc::channel(64);
    let mut cfg = session_config(addr, 3);
    cfg.fsm.idle_hold = Duration::from_millis(100);
    cfg.fsm.connect_retry = Duration::from_millis(200);
    let (cmd, task) = spawn(cfg, rib_tx);
    let mut stream = establish(&listener, 3).await;
    assert!(matches!(rib_rx.recv().await, Some(FromSession::Up { .. })));

    // A ROUTE-REFRESH for IPv4 (RFC 2918), route refresh being negotiated.
    cmd.send(ToSession::RouteRefresh(vec![Afi::Ipv4])).unwrap();
    let frames = read_frames(&mut stream, Duration::from_millis(500)).await;
    let rr = frames
        .iter()
        .find(|f| f.kind == MessageType::RouteRefresh)
        .expect("a ROUTE-REFRESH");
    assert_eq!(
        codec::RouteRefresh::decode(&rr.body).unwrap(),
        codec::RouteRefresh::request(Afi::Ipv4)
    );

    // Down: Cease/Administrative Shutdown with the message, then the connection closes.
    cmd.send(ToSession::AdminDown("maintenance".into()))
        .unwrap();
    let frames = read_frames(&mut stream, Duration::from_secs(2)).await;
    let n = notification_in(&frames).expect("a NOTIFICATION");
    assert_eq!((n.code, n.subcode), (6, 2), "{n}");
    assert_eq!(
        n.shutdown_message(),
        Some(ShutdownMessage::Text("maintenance"))
    );
    match rib_rx.recv().await {
        Some(FromSession::Down {
            reason: DownReason::NotificationSent(sent),
            ..
        }) => assert_eq!(sent, n),
        other => panic!("{other:?}"),
    }
    // No reconnection, whatever the timers; a connection from the peer is refused with the
    // same NOTIFICATION.
    assert!(
        tokio::time::timeout(Duration::from_millis(1500), listener.accept())
            .await
            .is_err(),
        "an administratively down session must not connect"
    );
    let other = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let theirs = TcpStream::connect(other.local_addr().unwrap())
        .await
        .unwrap();
    let (mut ours, _) = other.accept().await.unwrap();
    cmd.send(ToSession::Incoming(theirs)).unwrap();
    let frames = read_frames(&mut ours, Duration::from_secs(2)).await;
    let refused = notification_in(&frames).expect("the refusal's NOTIFICATION");
    assert_eq!(refused, n);
    // A clear (max-prefix) does not start it either; up does.
    cmd.send(ToSession::Start).unwrap();
    assert!(
        tokio::time::timeout(Duration::from_millis(500), listener.accept())
            .await
            .is_err(),
        "a clear must not end an administrative shutdown"
    );
    cmd.send(ToSession::AdminUp).unwrap();
    let mut again = tokio::time::timeout(Duration::from_secs(3), establish(&listener, 3))
        .await
        .expect("up connects again");
    assert!(matches!(rib_rx.recv().await, Some(FromSession::Up { .. })));
    cmd.send(ToSession::Shutdown("test over".into())).unwrap();
    let _ = read_frames(&mut again, Duration::from_millis(300)).await;
    task.await.unwrap();
}

#[tokio::test]
async fn a_session_configured_down_never_connects() {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let (rib_tx, _rib_rx) = mpsc::channel::<FromSession>(64);
    let mut cfg = session_config(addr, 3);
    cfg.fsm.idle_hold = Duration::from_millis(100);
    cfg.admin_down = Some(String::new());
    let (cmd, task) = spawn(cfg, rib_tx);
    assert!(
        tokio::time::timeout(Duration::from_millis(1500), listener.accept())
            .await
            .is_err(),
        "a session configured down must not connect"
    );
    cmd.send(ToSession::AdminUp).unwrap();
    let _stream = tokio::time::timeout(Duration::from_secs(3), establish(&listener, 3))
        .await
        .expect("up connects");
    cmd.send(ToSession::Shutdown("test over".into())).unwrap();
    task.await.unwrap();
}
