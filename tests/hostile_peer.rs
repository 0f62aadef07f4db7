//! A hostile peer (issue 6): a raw TCP speaker written here sends broken, truncated and
//! oversized messages, a wrong marker, bad OPENs (wrong AS, bad hold time, role mismatch),
//! UPDATEs whose lengths lie, and an UPDATE flood. bgpsieve answers each as RFC 4271 and
//! RFC 9234 say (the NOTIFICATION codes are asserted), while a real BIRD neighbor's session
//! and the routes it gave the real BIRD router stay untouched, and the daemon's memory stays
//! bounded through the flood. A second test sends malformed UPDATEs on an established session
//! and checks RFC 7606's action on the wire: treat-as-withdraw takes the route off the real BIRD
//! router and keeps the session, attribute discard keeps the route without the bad attribute,
//! session reset sends the NOTIFICATION and withdraws the session's routes (the per-rule
//! decoder tests are in `src/bgp/update/tests.rs`). All on loopback (127.0.0.80–93,
//! 127.0.0.140–142); every process stopped by PID.

mod common;

use bgpsieve::bgp::codec::{encode, encode_keepalive, Decoder, MessageType};
use bgpsieve::bgp::notification::Notification;
use bgpsieve::bgp::open::{LocalSpeaker, Open};
use bgpsieve::types::{Afi, Asn, Role};
use common::interop::{available, bgpsieve_daemon, bird_neighbor, bird_router, strings, wait_for};
use socket2::{Domain, Socket, Type};
use std::io::{Read, Write};
use std::net::{Ipv4Addr, SocketAddr, TcpStream};
use std::time::{Duration, Instant};

const T: Duration = Duration::from_secs(30);
const SIEVE: &str = "127.0.0.80:11479";
/// Hostile connections come from 127.0.0.83 upwards, one configured peer per case, so one
/// case's restart backoff (which grows with every error, as it should) never delays the next.
const HOSTILE_CASES: u8 = 11;

const CONFIG: &str = r#"
[global]
asn = 20001
router_id = "127.0.0.80"
listen = ["127.0.0.80:11479"]

[[peer]]
name = "customer-bird"
role = "customer"
asn = 20002
address = "127.0.0.81"
local_address = "127.0.0.80"
port = 11480
idle_hold = "1s"
connect_retry = "1s"
router = { address = "127.0.0.82", local_address = "127.0.1.81", port = 11482 }
"#;

/// The daemon's config: the BIRD neighbor, the hostile peers, the router.
fn config() -> String {
    let mut c = CONFIG.to_string();
    for i in 0..HOSTILE_CASES {
        c.push_str(&format!(
            "\n[[peer]]\nname = \"hostile-{i}\"\nrole = \"customer\"\nasn = 20003\n\
             address = \"127.0.0.{n}\"\nlocal_address = \"127.0.0.80\"\npassive = true\n\
             idle_hold = \"1s\"\n\
             connect_retry = \"1s\"\n\
             router = {{ address = \"127.0.0.82\", local_address = \"127.0.1.{n}\", port = 11482 }}\n",
            n = 83 + i
        ));
    }
    c
}

/// The hostile side of one TCP connection to bgpsieve.
struct Raw {
    s: TcpStream,
    buf: Vec<u8>,
    dec: Decoder,
}

impl Raw {
    /// Connects from the address of hostile case `case` (again while bgpsieve is not ready
    /// for it) until bgpsieve has sent its OPEN on the connection.
    fn connect(case: u8) -> Raw {
        Raw::connect_from(&format!("127.0.0.{}", 83 + case), SIEVE)
    }

    /// Connects from `local` to bgpsieve at `sieve` until bgpsieve has sent its OPEN.
    fn connect_from(local: &str, sieve: &str) -> Raw {
        let deadline = Instant::now() + T;
        loop {
            let sock = Socket::new(Domain::IPV4, Type::STREAM, None).unwrap();
            let local: SocketAddr = format!("{local}:0").parse().unwrap();
            sock.bind(&local.into()).unwrap();
            let remote: SocketAddr = sieve.parse().unwrap();
            if sock.connect(&remote.into()).is_ok() {
                let mut raw = Raw {
                    s: sock.into(),
                    buf: Vec::new(),
                    dec: Decoder::new(),
                };
                raw.s
                    .set_read_timeout(Some(Duration::from_millis(500)))
                    .unwrap();
                if raw.next().is_some_and(|(t, _)| t == MessageType::Open) {
                    return raw;
                }
            }
            assert!(Instant::now() < deadline, "bgpsieve never sent its OPEN");
            std::thread::sleep(Duration::from_millis(200));
        }
    }

    fn send(&mut self, bytes: &[u8]) {
        let _ = self.s.write_all(bytes);
    }

    /// The next whole message, or `None` when the connection is closed or silent.
    fn next(&mut self) -> Option<(MessageType, Vec<u8>)> {
        let deadline = Instant::now() + Duration::from_secs(5);
        loop {
            if let Ok(Some(f)) = self.dec.decode(&mut self.buf) {
                return Some((f.kind, f.body));
            }
            let mut chunk = [0u8; 4096];
            match self.s.read(&mut chunk) {
                Ok(0) => return None,
                Ok(n) => self.buf.extend_from_slice(&chunk[..n]),
                Err(_) if Instant::now() < deadline => continue,
                Err(_) => return None,
            }
        }
    }

    /// The NOTIFICATION bgpsieve ends the connection with (KEEPALIVEs before it skipped).
    fn notification(&mut self) -> Notification {
        while let Some((kind, body)) = self.next() {
            if kind == MessageType::Notification {
                return Notification::decode(&body).unwrap();
            }
        }
        panic!("the connection ended without a NOTIFICATION");
    }

    /// Completes the OPEN exchange as AS `asn`, ending with bgpsieve Established.
    fn establish(&mut self) {
        self.send(&open(20003, 90, Role::Provider));
        self.send(&encode_keepalive());
        let (kind, _) = self.next().expect("bgpsieve's KEEPALIVE");
        assert_eq!(kind, MessageType::Keepalive);
    }
}

/// An OPEN from AS `asn` offering `hold` seconds; `our_view` is the hostile peer's view of
/// bgpsieve (Provider: "bgpsieve is my provider", which makes it advertise role Customer).
fn open(asn: u32, hold: u16, our_view: Role) -> Vec<u8> {
    Open::new(&LocalSpeaker {
        asn: Asn(asn),
        router_id: Ipv4Addr::new(127, 0, 0, 83),
        hold_time: hold,
        families: vec![Afi::Ipv4],
        add_path: vec![],
        neighbor_role: Some(our_view),
        extended_message: false,
        enhanced_route_refresh: false,
    })
    .encode()
    .unwrap()
}

fn header(marker: u8, len: u16, kind: u8) -> Vec<u8> {
    let mut m = vec![marker; 16];
    m.extend(len.to_be_bytes());
    m.push(kind);
    m
}

/// An UPDATE announcing `prefix` (a /24 at 10.x rewritten to 100.64+ — any unicast prefix
/// the customer may send) with a one-hop path from AS20003.
fn update(a: u8, b: u8, c: u8) -> Vec<u8> {
    let mut attrs = vec![0x40, 1, 1, 0]; // ORIGIN IGP
    attrs.extend([0x40, 2, 6, 2, 1, 0, 0, 0x4e, 0x23]); // AS_PATH 20003
    attrs.extend([0x40, 3, 4, 192, 0, 2, 83]); // NEXT_HOP
    let mut body = vec![0, 0];
    body.extend(u16::try_from(attrs.len()).unwrap().to_be_bytes());
    body.extend(attrs);
    body.extend([24, a, b, c]);
    encode(MessageType::Update, &body).unwrap()
}

fn rss_kb(pid: u32) -> u64 {
    std::fs::read_to_string(format!("/proc/{pid}/status"))
        .unwrap_or_default()
        .lines()
        .find_map(|l| l.strip_prefix("VmRSS:"))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
        .unwrap_or(0)
}

#[test]
fn a_hostile_peer_gets_the_rfc_answers_and_harms_nobody_else() {
    if !available("bird") || !available("birdc") {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let routes = ["1.0.0.0/24", "5.0.0.0/24"];
    let neighbor = bird_neighbor(
        dir.path(),
        "127.0.0.81",
        11480,
        "127.0.0.80",
        11479,
        &routes,
    );
    // The router has a session for every pair: the hostile peers' router sides answer at once,
    // so bgpsieve's OPEN toward them (made from the router's) is not held back.
    let hostile: Vec<(String, String)> = (0..HOSTILE_CASES)
        .map(|i| (format!("hostile{i}"), format!("127.0.1.{}", 83 + i)))
        .collect();
    let mut pairs: Vec<(&str, &str, u32)> = vec![("sieve", "127.0.1.81", 20002)];
    pairs.extend(hostile.iter().map(|(n, a)| (n.as_str(), a.as_str(), 20003)));
    let router = bird_router(dir.path(), "127.0.0.82", 11482, &pairs);
    let sieve = bgpsieve_daemon(dir.path(), &config());
    let good = strings(&routes);
    let shown = || {
        format!(
            "router has {:?}\n{}",
            router.prefixes_from("sieve"),
            sieve.log_text()
        )
    };
    wait_for(T, || router.prefixes_from("sieve") == good, shown);
    let (router_since, neighbor_since) = (router.since("sieve"), neighbor.since("up"));

    let code = |n: &Notification| (n.code, n.subcode);
    // Message header errors (RFC 4271 §6.1).
    let mut r = Raw::connect(0);
    r.send(&header(0x00, 19, 4));
    assert_eq!(code(&r.notification()), (1, 1), "a marker not all ones");
    let mut r = Raw::connect(1);
    r.send(&header(0xff, 10, 4));
    assert_eq!(code(&r.notification()), (1, 2), "a length below 19");
    let mut r = Raw::connect(2);
    r.send(&header(0xff, 4097, 2));
    r.send(&vec![0u8; 4078]);
    assert_eq!(
        code(&r.notification()),
        (1, 2),
        "longer than 4096 without RFC 8654"
    );
    let mut r = Raw::connect(3);
    r.send(&header(0xff, 19, 9));
    assert_eq!(code(&r.notification()), (1, 3), "an unknown type");
    // OPEN errors (RFC 4271 §6.2, RFC 9234 §4.2).
    let mut r = Raw::connect(4);
    r.send(&open(65000, 90, Role::Provider));
    assert_eq!(code(&r.notification()), (2, 2), "the wrong AS");
    let mut r = Raw::connect(5);
    r.send(&open(20003, 2, Role::Provider));
    assert_eq!(code(&r.notification()), (2, 6), "a hold time of 2 s");
    let mut r = Raw::connect(6);
    // It claims bgpsieve is its customer (so it is our provider); we configured it as ours.
    r.send(&open(20003, 90, Role::Customer));
    assert_eq!(code(&r.notification()), (2, 11), "a role mismatch");
    // Truncated: half a header, then gone. Nothing to answer; the daemon goes on.
    let mut r = Raw::connect(7);
    r.send(&header(0xff, 19, 4)[..7]);
    drop(r);
    // UPDATE errors once Established (RFC 7606 §3 b: lengths beyond the message reset).
    let mut r = Raw::connect(8);
    r.establish();
    let mut lying = vec![0x00, 0x50]; // withdrawn routes length 80, but nothing follows
    lying.extend([0, 0]);
    r.send(&encode(MessageType::Update, &lying).unwrap());
    assert_eq!(
        code(&r.notification()),
        (3, 1),
        "withdrawn length past the message"
    );
    let mut r = Raw::connect(9);
    r.establish();
    r.send(&header(0xff, 19, 1)); // an OPEN without a body in Established
    let n = r.notification();
    assert!(
        matches!(code(&n), (1, 2) | (5, 3)),
        "a bodiless OPEN in Established: {n}"
    );

    // An UPDATE flood: 200k announcements of the same 20k prefixes, as fast as TCP takes
    // them. Memory stays bounded (the table is 20k routes; the RIB channel is bounded).
    let mut r = Raw::connect(10);
    r.establish();
    let before = rss_kb(sieve.pid());
    let mut batch = Vec::new();
    for round in 0..10u8 {
        for i in 0..20_000u32 {
            let [_, a, b, _] = i.to_be_bytes();
            batch.extend(update(100 + round % 2, a, b));
            if batch.len() > 1 << 16 {
                r.send(&batch);
                batch.clear();
            }
        }
    }
    r.send(&batch);
    r.send(&encode_keepalive());
    std::thread::sleep(Duration::from_secs(2));
    let after = rss_kb(sieve.pid());
    eprintln!("RSS before the flood {before} kB, after {after} kB");
    assert!(
        after < before + 100 * 1024,
        "memory grew by {} MB for a 40k-route table",
        (after - before) / 1024
    );
    drop(r);

    // Through all of it: the good neighbor's session and routes are where they were.
    wait_for(
        T,
        || router.prefixes_from("sieve").starts_with(&good),
        shown,
    );
    assert_eq!(router.since("sieve"), router_since, "router session kept");
    assert_eq!(
        neighbor.since("up"),
        neighbor_since,
        "neighbor session kept"
    );
    assert!(neighbor.established("up"));
    // And the daemon is still there.
    let mut sieve = sieve;
    assert!(
        matches!(sieve.child.try_wait(), Ok(None)),
        "bgpsieve is running"
    );
    assert!(sieve.terminate(), "bgpsieve exits cleanly on SIGTERM");
}

// ---- RFC 7606 on the wire -------------------------------------------------------------------

const RFC7606_CONFIG: &str = r#"
[global]
asn = 20001
router_id = "127.0.0.140"
listen = ["127.0.0.140:11950"]

[[peer]]
name = "raw"
role = "customer"
asn = 20003
address = "127.0.0.141"
local_address = "127.0.0.140"
passive = true
idle_hold = "0s"
connect_retry = "1s"
idle_hold_max = "100ms"
router = { address = "127.0.0.142", local_address = "127.0.1.141", port = 11952 }
"#;

fn attr(flags: u8, code: u8, value: &[u8]) -> Vec<u8> {
    let mut a = vec![flags, code, u8::try_from(value.len()).unwrap()];
    a.extend_from_slice(value);
    a
}
fn origin_igp() -> Vec<u8> {
    attr(0x40, 1, &[0])
}
fn path_20003() -> Vec<u8> {
    attr(0x40, 2, &[2, 1, 0, 0, 0x4e, 0x23])
}
fn next_hop() -> Vec<u8> {
    attr(0x40, 3, &[192, 0, 2, 83])
}
/// COMMUNITIES 20003:`n`.
fn community(n: u8) -> Vec<u8> {
    attr(0xc0, 8, &[0x4e, 0x23, 0, n])
}

/// An UPDATE with these attributes (their bytes as given) and NLRI 7.0.`k`.0/24.
fn update_with(attrs: &[Vec<u8>], k: u8) -> Vec<u8> {
    update_raw(&attrs.concat(), &[24, 7, 0, k])
}

fn update_raw(attrs: &[u8], nlri: &[u8]) -> Vec<u8> {
    let mut body = vec![0, 0];
    body.extend(u16::try_from(attrs.len()).unwrap().to_be_bytes());
    body.extend_from_slice(attrs);
    body.extend_from_slice(nlri);
    encode(MessageType::Update, &body).unwrap()
}

/// The good announcement of 7.0.`k`.0/24.
fn good(k: u8) -> Vec<u8> {
    update_with(&[origin_igp(), path_20003(), next_hop(), community(1)], k)
}

#[test]
fn malformed_updates_get_their_rfc_7606_action_on_the_wire() {
    if !available("bird") || !available("birdc") {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let router = bird_router(
        dir.path(),
        "127.0.0.142",
        11952,
        &[("sieve", "127.0.1.141", 20003)],
    );
    let sieve = bgpsieve_daemon(dir.path(), RFC7606_CONFIG);
    let has = |k: u8| {
        router
            .prefixes_from("sieve")
            .contains(&format!("7.0.{k}.0/24"))
    };
    let shown = || {
        format!(
            "router has {:?}\n{}",
            router.prefixes_from("sieve"),
            sieve.log_text()
        )
    };
    let mut r = Raw::connect_from("127.0.0.141", "127.0.0.140:11950");
    r.establish();
    let router_since = {
        r.send(&good(0));
        wait_for(T, || has(0), shown);
        router.since("sieve")
    };

    // Treat-as-withdraw (RFC 7606 §2): the route goes, the session stays.
    let withdraw: Vec<(&str, Vec<u8>)> = vec![
        // §7.1: an ORIGIN value that is not defined, and one of the wrong length.
        (
            "ORIGIN 3",
            [attr(0x40, 1, &[3]), path_20003(), next_hop()].concat(),
        ),
        (
            "ORIGIN of 2 octets",
            [attr(0x40, 1, &[0, 0]), path_20003(), next_hop()].concat(),
        ),
        // §7.2: a segment longer than the attribute; AS 0 (RFC 7607).
        (
            "AS_PATH segment overrun",
            [
                origin_igp(),
                attr(0x40, 2, &[2, 2, 0, 0, 0x4e, 0x23]),
                next_hop(),
            ]
            .concat(),
        ),
        (
            "AS_PATH with AS 0",
            [
                origin_igp(),
                attr(0x40, 2, &[2, 2, 0, 0, 0x4e, 0x23, 0, 0, 0, 0]),
                next_hop(),
            ]
            .concat(),
        ),
        // §7.3: NEXT_HOP of 5 octets.
        (
            "NEXT_HOP length 5",
            [
                origin_igp(),
                path_20003(),
                attr(0x40, 3, &[192, 0, 2, 83, 0]),
            ]
            .concat(),
        ),
        // §3.d: a mandatory attribute missing.
        ("NEXT_HOP missing", [origin_igp(), path_20003()].concat()),
        // §7.8: COMMUNITIES not a multiple of 4.
        (
            "COMMUNITIES of 3 octets",
            [
                origin_igp(),
                path_20003(),
                next_hop(),
                attr(0xc0, 8, &[0x4e, 0x23, 0]),
            ]
            .concat(),
        ),
        // RFC 9234 §5: OTC of the wrong length.
        (
            "OTC of 3 octets",
            [
                origin_igp(),
                path_20003(),
                next_hop(),
                attr(0xc0, 35, &[0, 0, 0x4e]),
            ]
            .concat(),
        ),
        // §4: the last attribute's length runs past the attribute section.
        (
            "attribute past the section",
            [
                origin_igp(),
                path_20003(),
                next_hop(),
                vec![0xc0, 8, 40, 0x4e, 0x23],
            ]
            .concat(),
        ),
        // §3.c: flags that contradict the attribute (ORIGIN marked optional).
        (
            "ORIGIN flagged optional",
            [attr(0xc0, 1, &[0]), path_20003(), next_hop()].concat(),
        ),
    ];
    for (i, (what, attrs)) in withdraw.iter().enumerate() {
        let k = u8::try_from(i).unwrap() + 1;
        r.send(&good(k));
        wait_for(T, || has(k), shown);
        r.send(&update_raw(attrs, &[24, 7, 0, k]));
        wait_for(T, || !has(k), || format!("{what}: {}", shown()));
    }
    // The session never dropped: the first route is still there and a new one arrives.
    r.send(&good(100));
    wait_for(T, || has(100), shown);
    assert!(
        has(0),
        "the session stayed up through every treat-as-withdraw"
    );

    // Attribute discard (§2, §3.g, §7.6): the route stays, with the bad attribute dropped.
    r.send(&update_with(
        &[
            origin_igp(),
            path_20003(),
            next_hop(),
            community(1),
            community(3),
            attr(0x40, 6, &[0]),
        ],
        101,
    ));
    wait_for(T, || has(101), shown);
    let route = router.cli("show route 7.0.101.0/24 all");
    assert!(
        route.contains("(20003,1)"),
        "the first COMMUNITIES kept: {route}"
    );
    assert!(
        !route.contains("(20003,3)"),
        "the repeated one discarded: {route}"
    );
    assert!(
        !route.contains("atomic_aggr"),
        "the ATOMIC_AGGREGATE of length 1 discarded: {route}"
    );

    // None of that reset the session: the router's session of the pair stayed up throughout.
    assert_eq!(
        router.since("sieve"),
        router_since,
        "treat-as-withdraw and attribute discard keep the sessions"
    );

    // Session reset (§3.b, §3.g, §5.3): NOTIFICATION, and every route of the session goes (the
    // router side of the pair closes with it).
    let code = |n: &Notification| (n.code, n.subcode);
    let reset: [(&str, Vec<u8>, (u8, u8)); 3] = [
        (
            "MP_REACH_NLRI shorter than 5 octets",
            update_raw(
                &[origin_igp(), path_20003(), attr(0x80, 14, &[0, 1, 1, 0])].concat(),
                &[],
            ),
            (3, 9),
        ),
        (
            "a /33 in the NLRI field",
            update_raw(
                &[origin_igp(), path_20003(), next_hop()].concat(),
                &[33, 7, 0, 9, 0, 0],
            ),
            (3, 10),
        ),
        (
            "MP_UNREACH_NLRI twice",
            update_raw(
                &[
                    attr(0x80, 15, &[0, 1, 1, 24, 7, 0, 9]),
                    attr(0x80, 15, &[0, 1, 1]),
                ]
                .concat(),
                &[],
            ),
            (3, 1),
        ),
    ];
    for (i, (what, bytes, want)) in reset.iter().enumerate() {
        if i > 0 {
            r = Raw::connect_from("127.0.0.141", "127.0.0.140:11950");
            r.establish();
            r.send(&good(0));
            wait_for(T, || has(0), shown);
        }
        r.send(bytes);
        assert_eq!(code(&r.notification()), *want, "{what}");
        wait_for(
            T,
            || router.prefixes_from("sieve").is_empty(),
            || format!("{what}: {}", shown()),
        );
    }
    let mut sieve = sieve;
    assert!(sieve.terminate(), "bgpsieve exits cleanly on SIGTERM");
}
