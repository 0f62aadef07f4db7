//! Profiling aid: pushes a file of encoded UPDATEs (the e2e bench's `updates.bin`) through the
//! daemon's import path in-process — framing, decoding, import policy, the pair's RIB step,
//! encoding toward the router — without sockets. `cargo run --release --example pipeline -- UPDATES.bin VRPS.json`.

use bgpsieve::bgp::codec::{Decoder, MessageType};
use bgpsieve::bgp::open::Negotiated;
use bgpsieve::bgp::session::FromSession;
use bgpsieve::bgp::update::{decode_update, encode_outbound, DecodeCtx};
use bgpsieve::policy::{LocalPolicy, PeerPolicy, PolicySnapshot, Reason};
use bgpsieve::rib::{Output, Pair, Rib};
use bgpsieve::rpki::{load_rpki, LoadOptions};
use bgpsieve::types::{Afi, Asn, Direction, Role, SessionId, Side};
use std::sync::Arc;
use std::time::Instant;

#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

fn negotiated(asn: u32) -> Negotiated {
    Negotiated {
        peer_asn: Asn(asn),
        peer_router_id: "127.0.0.1".parse().unwrap(),
        hold_time: 90,
        keepalive: 30,
        four_octet_asn: true,
        families: vec![Afi::Ipv4],
        add_path_receive: vec![],
        add_path_send: vec![],
        extended_message: false,
        route_refresh: true,
        enhanced_route_refresh: false,
        peer_role: None,
        graceful_restart: None,
    }
}

fn rss_mb() -> u64 {
    status_mb("VmRSS:")
}

fn status_mb(key: &str) -> u64 {
    std::fs::read_to_string("/proc/self/status")
        .unwrap_or_default()
        .lines()
        .find(|l| l.starts_with(key))
        .and_then(|l| l.split_whitespace().nth(1)?.parse::<u64>().ok())
        .unwrap_or(0)
        / 1024
}

fn main() {
    let args: Vec<String> = std::env::args().collect();
    let updates = std::fs::read(&args[1]).expect("updates file");
    let t = Instant::now();
    let rpki = load_rpki(
        &[args[2].clone().into()],
        &[],
        &[],
        &LoadOptions { now: None },
    )
    .unwrap();
    eprintln!("VRPs loaded in {:?}, RSS {} MB", t.elapsed(), rss_mb());
    let mut blaster = PeerPolicy::new("blaster", Role::Provider, Asn(64601), None);
    blaster.allow_private_asn = true;
    blaster.enabled.remove(Reason::NextHop);
    let pairs = vec![Pair::new(
        "blaster".into(),
        Role::Provider,
        Asn(64601),
        Asn(64700),
        blaster,
    )];
    let rpki = Arc::new(rpki);
    let snapshot = PolicySnapshot {
        generation: 0,
        rpki: rpki.clone(),
        local: LocalPolicy::new(Asn(64700)),
        peers: pairs.iter().map(|p| p.policy.clone()).collect(),
    };
    let mut rib = Rib::new(pairs, LocalPolicy::new(Asn(64700)), rpki);
    let (neighbor, router) = (
        SessionId::new(0, Side::Neighbor),
        SessionId::new(0, Side::Router),
    );
    for (id, asn) in [(router, 64700), (neighbor, 64601)] {
        rib.handle(FromSession::Up {
            id,
            generation: 1,
            negotiated: Box::new(negotiated(asn)),
        });
    }
    let to_router = negotiated(64601);
    let ctx = DecodeCtx::new(&negotiated(64601), true);

    let t = Instant::now();
    let mut buf = updates;
    let mut dec = Decoder::new();
    let (mut n_updates, mut out_msgs, mut out_bytes) = (0usize, 0usize, 0usize);
    let mut t_decode = std::time::Duration::ZERO;
    let mut t_rib = std::time::Duration::ZERO;
    let mut t_policy = std::time::Duration::ZERO;
    let mut frames = Vec::new();
    dec.decode_all(&mut buf, &mut frames).expect("framing");
    eprintln!(
        "framed {} messages in {:?}, RSS {} MB",
        frames.len(),
        t.elapsed(),
        rss_mb()
    );
    for f in frames {
        if f.kind != MessageType::Update {
            continue;
        }
        let a = Instant::now();
        let u = decode_update(&f.body, &ctx).expect("decode");
        let b = Instant::now();
        t_decode += b - a;
        // What the session task does on an I/O thread in the daemon.
        let verdicts = match &u.attrs {
            Some(a) => snapshot.evaluate(
                0,
                Direction::In,
                &a.attrs,
                u.announced.iter().map(|n| (&n.prefix, n.path_id)),
            ),
            None => Vec::new(),
        };
        let b = Instant::now();
        t_policy += b - a;
        n_updates += 1;
        for o in rib.handle(FromSession::Update {
            id: neighbor,
            update: u,
            verdicts: Some((0, verdicts)),
        }) {
            // What the router side's session does with what it is sent.
            if let Output::Routes { out, .. } = o {
                let (msgs, _) = encode_outbound(&out, &to_router, false);
                out_msgs += msgs.len();
                out_bytes += msgs.iter().map(Vec::len).sum::<usize>();
            }
        }
        t_rib += b.elapsed();
    }
    eprintln!(
        "{n_updates} UPDATEs in {:?} (session side: decode {:?} + policy {:?}; RIB thread and encoding: {:?}); out: {out_msgs} messages, {out_bytes} bytes; adj_in {} routes",
        t.elapsed(),
        t_decode,
        t_policy - t_decode,
        t_rib,
        rib.pairs[0].flows.inbound.table.len(),
    );
    eprintln!(
        "RSS at the end: {} MB, peak {} MB",
        rss_mb(),
        status_mb("VmHWM:")
    );
}
