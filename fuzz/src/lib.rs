//! The fuzz-target bodies, shared by the libFuzzer binaries in `fuzz_targets/`. Each takes
//! arbitrary bytes and must never panic; the few `assert!`s check invariants between two
//! decoding paths that must agree.

use bgpsieve::bgp::codec::Decoder;
use bgpsieve::bgp::notification::Notification;
use bgpsieve::bgp::open::{Negotiated, Open};
use bgpsieve::bgp::update::{decode_update, DecodeCtx};
use bgpsieve::rpki::rtr::pdu::{frame_len, AspaLayout, Pdu};
use bgpsieve::types::{Afi, Asn};
use std::io::Write;
use std::net::Ipv4Addr;
use std::path::PathBuf;

/// BGP framer. Byte 0: bit 0 = RFC 8654 extended messages, bits 1.. = the read size used to feed
/// the incremental decoder. `decode` in a loop, `decode_all` on the whole buffer and byte-wise
/// feeding must produce the same frames and the same error.
pub fn bgp_codec(data: &[u8]) {
    let Some((&ctl, stream)) = data.split_first() else {
        return;
    };
    let mk = || {
        let mut d = Decoder::new();
        if ctl & 1 != 0 {
            d.set_max_len(65535);
        }
        d
    };

    // decode_all on the whole buffer
    let mut buf = stream.to_vec();
    let mut all = Vec::new();
    let all_res = mk().decode_all(&mut buf, &mut all);

    // decode in a loop on the whole buffer
    let mut buf2 = stream.to_vec();
    let mut one = Vec::new();
    let mut d = mk();
    let one_res = loop {
        match d.decode(&mut buf2) {
            Ok(Some(f)) => one.push(f),
            Ok(None) => break Ok(()),
            Err(n) => break Err(n),
        }
    };
    assert_eq!(
        all.len(),
        one.len(),
        "decode_all and decode disagree on frame count"
    );
    for (a, b) in all.iter().zip(&one) {
        assert_eq!(a.kind, b.kind);
        assert_eq!(a.body, b.body);
    }
    assert_eq!(
        all_res, one_res,
        "decode_all and decode disagree on the error"
    );
    if all_res.is_ok() {
        assert_eq!(
            buf, buf2,
            "decode_all and decode leave different remainders"
        );
    }

    // incremental: feed `step` bytes at a time, as a socket would
    let step = usize::from(ctl >> 1).max(1);
    let mut d = mk();
    let mut pending = Vec::new();
    let mut inc = Vec::new();
    let mut inc_res = Ok(());
    'feed: for chunk in stream.chunks(step) {
        pending.extend_from_slice(chunk);
        loop {
            match d.decode(&mut pending) {
                Ok(Some(f)) => inc.push(f),
                Ok(None) => break,
                Err(n) => {
                    inc_res = Err(n);
                    break 'feed;
                }
            }
        }
    }
    assert_eq!(
        inc.len(),
        one.len(),
        "incremental decoding disagrees on frame count"
    );
    assert_eq!(
        inc_res, one_res,
        "incremental decoding disagrees on the error"
    );
}

/// OPEN body (after the 19-byte header). What we encode from a decoded OPEN must decode again.
pub fn bgp_open(data: &[u8]) {
    if let Ok(open) = Open::decode(data) {
        let _ = open.asn();
        let _ = open.unicast_families();
        let _ = open.add_path_mode(Afi::Ipv4);
        let _ = open.add_path_mode(Afi::Ipv6);
        if let Ok(body) = open.encode_body() {
            if let Err(e) = Open::decode(&body) {
                panic!("our encoding of a decoded OPEN does not decode: {e:?}\n{open:?}");
            }
        }
    }
}

/// The session variants an UPDATE can be decoded under, chosen by one control byte:
/// bit 0 = 4-octet AS, bit 1 = ADD-PATH receive IPv4, bit 2 = ADD-PATH receive IPv6,
/// bit 3 = eBGP, bit 4 = extended messages.
pub fn decode_ctx(ctl: u8) -> DecodeCtx {
    let mut add_path_receive = Vec::new();
    if ctl & 2 != 0 {
        add_path_receive.push(Afi::Ipv4);
    }
    if ctl & 4 != 0 {
        add_path_receive.push(Afi::Ipv6);
    }
    let n = Negotiated {
        peer_asn: Asn(64500),
        peer_router_id: Ipv4Addr::new(192, 0, 2, 1),
        hold_time: 90,
        keepalive: 30,
        four_octet_asn: ctl & 1 != 0,
        families: vec![Afi::Ipv4, Afi::Ipv6],
        add_path_receive,
        add_path_send: Vec::new(),
        extended_message: ctl & 16 != 0,
        route_refresh: true,
        enhanced_route_refresh: false,
        peer_role: None,
        graceful_restart: None,
    };
    DecodeCtx::new(&n, ctl & 8 != 0)
}

/// UPDATE body. Byte 0 picks the session (see [`decode_ctx`]), the rest is the body.
pub fn bgp_update(data: &[u8]) {
    let Some((&ctl, body)) = data.split_first() else {
        return;
    };
    let ctx = decode_ctx(ctl);
    if let Ok(u) = decode_update(body, &ctx) {
        // Touch what callers touch: Debug formatting walks every field.
        let _ = format!("{u:?}");
    }
}

/// NOTIFICATION body.
pub fn bgp_notification(data: &[u8]) {
    if let Ok(n) = Notification::decode(data) {
        let _ = format!("{n:?} {n}");
        let _ = n.shutdown_message();
    }
}

/// A stream of RTR PDUs. Byte 0 picks the ASPA layout hint (0 none, 1 draft-10, 2 current).
/// A decoded PDU, re-encoded, must decode to the same PDU.
pub fn rtr_pdu(data: &[u8]) {
    let Some((&ctl, mut stream)) = data.split_first() else {
        return;
    };
    let hint = match ctl % 3 {
        0 => None,
        1 => Some(AspaLayout::Draft10),
        _ => Some(AspaLayout::Current),
    };
    while let Ok(Some(n)) = frame_len(stream) {
        assert!(
            n <= stream.len(),
            "frame_len {n} beyond a {}-byte buffer",
            stream.len()
        );
        let (frame, rest) = stream.split_at(n);
        if let Ok(pdu) = Pdu::decode(frame, hint) {
            let enc = pdu.encode();
            match Pdu::decode(&enc, hint) {
                // Error Report text is lossy by design: invalid UTF-8 becomes U+FFFD and one
                // trailing NUL is stripped (StayRTR), so only its other fields must survive.
                Ok(Pdu::ErrorReport {
                    version,
                    code,
                    pdu: inner,
                    ..
                }) if matches!(&pdu, Pdu::ErrorReport { text, .. } if text.ends_with('\0')) => {
                    let Pdu::ErrorReport {
                        version: v0,
                        code: c0,
                        pdu: p0,
                        ..
                    } = &pdu
                    else {
                        unreachable!()
                    };
                    assert_eq!((v0, c0, p0), (&version, &code, &inner));
                }
                Ok(again) => assert_eq!(pdu, again, "re-encoded PDU decodes differently"),
                Err(e) => panic!("our encoding of {pdu:?} does not decode: {e:?}"),
            }
        }
        stream = rest;
    }
}

fn temp_file(data: &[u8]) -> PathBuf {
    let p = std::env::temp_dir().join(format!("bgpsieve-fuzz-{}.json", std::process::id()));
    let mut f = std::fs::File::create(&p).expect("temp file");
    f.write_all(data).expect("write temp file");
    p
}

/// The file loaders (VRP/ASPA/SLURM JSON, bgpq4 JSON or RPSL). Byte 0 picks the loader; the rest
/// is the file. Errors are fine, panics are not.
pub fn json_loaders(data: &[u8]) {
    use bgpsieve::rpki::{load_aspa_file, load_slurm_file, load_vrp_file, LoadOptions};
    let Some((&ctl, file)) = data.split_first() else {
        return;
    };
    let p = temp_file(file);
    let now = LoadOptions {
        now: Some(1_700_000_000),
    };
    let never = LoadOptions { now: None };
    match ctl % 4 {
        0 => {
            let _ = load_vrp_file(&p, &never);
            let _ = load_vrp_file(&p, &now);
        }
        1 => {
            let _ = load_aspa_file(&p, &never);
            let _ = load_aspa_file(&p, &now);
        }
        2 => {
            let _ = load_slurm_file(&p);
        }
        _ => {
            let _ = bgpsieve::irr::load_irr_file(&p);
        }
    }
}

/// An uncompressed MRT stream, framed and parsed the way `replay` does (PEER_INDEX_TABLE first).
pub fn mrt_input(data: &[u8]) {
    use bgpsieve::replay::input::{self, PeerTable};
    let mut r = std::io::Cursor::new(data);
    let mut peers = PeerTable::default();
    let mut ev = Vec::new();
    while let Ok(raw) = bgpkit_parser::chunk_mrt_record(&mut r) {
        if input::is_peer_index(&raw) {
            if let Some(t) = input::peer_table(raw) {
                peers = t;
            }
        } else {
            input::parse(raw, &peers, &mut ev);
        }
    }
    let _ = format!("{ev:?}");
}
