//! UPDATE layer speed. The target (DESIGN §9, the speaker must move a full table in well under a
//! second): decoding a full IPv4 table, 1 M prefixes in 193 k UPDATEs, in under 0.25 s on one
//! core. The table is synthetic but shaped like a real one (one attribute set per UPDATE, 1–10
//! prefixes each, mostly /24s, 2–7 ASNs, a few communities); it is produced by our own encoder,
//! which is measured too. A real RIS update stream (testdata/mrt/ris) is decoded as well.

use bgpsieve::bgp::update::{
    decode_update, encode_announcements, DecodeCtx, EncodeCtx, Nlri, Outgoing, PathAttributes,
};
use bgpsieve::types::{AsPath, Asn, Attrs, Origin};
use criterion::{criterion_group, criterion_main, Criterion, Throughput};
use ipnet::{IpNet, Ipv4Net};
use std::hint::black_box;
use std::net::{IpAddr, Ipv4Addr};
use std::path::Path;

// The same allocator as the binary.
#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

const PREFIXES: usize = 1_000_000;

struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }
    fn below(&mut self, n: u64) -> u64 {
        self.next() % n
    }
}

/// (attributes, prefixes) of a full table: about 193 k attribute sets for 1 M prefixes.
fn table() -> Vec<(PathAttributes, Vec<Nlri>)> {
    let mut r = Rng(0x2545_f491_4f6c_dd1d);
    let next_hop = IpAddr::V4(Ipv4Addr::new(198, 51, 100, 1));
    let mut out = Vec::new();
    let mut base: u32 = 0x0100_0000;
    let mut total = 0;
    while total < PREFIXES {
        let hops = 2 + r.below(6) as usize;
        let mut asns = vec![64501];
        asns.extend((1..hops).map(|_| {
            if r.below(4) == 0 {
                200_000 + r.below(200_000) as u32
            } else {
                1 + r.below(64_000) as u32
            }
        }));
        let attrs = Attrs {
            origin: Origin::Igp,
            as_path: AsPath::from_sequence(asns),
            next_hop: Some(next_hop),
            med: (r.below(10) < 4).then(|| r.below(1000) as u32),
            communities: (0..r.below(7)).map(|_| r.next() as u32).collect(),
            large_communities: (0..if r.below(5) == 0 { 2 } else { 0 })
                .map(|_| [64501, r.next() as u32, r.next() as u32])
                .collect(),
            ..Attrs::default()
        };
        // 5.2 prefixes per UPDATE on average, as in a real table transfer.
        let n = if r.below(15) == 0 {
            1
        } else {
            1 + r.below(10) as usize
        };
        let n = n.min(PREFIXES - total);
        let nlri = (0..n)
            .map(|_| {
                let len = if r.below(10) < 7 {
                    24
                } else {
                    16 + r.below(8) as u8
                };
                base = base.wrapping_add(1 << (32 - u32::from(len)));
                Nlri::new(IpNet::V4(
                    Ipv4Net::new(Ipv4Addr::from(base), len)
                        .expect("len")
                        .trunc(),
                ))
            })
            .collect();
        total += n;
        out.push((
            PathAttributes {
                attrs: std::sync::Arc::new(attrs),
                other: vec![],
            },
            nlri,
        ));
    }
    out
}

fn encode_ctx() -> EncodeCtx {
    EncodeCtx {
        four_octet_asn: true,
        add_path_send: vec![],
        max_len: 4096,
        ibgp: false,
    }
}

fn decode_ctx() -> DecodeCtx {
    DecodeCtx {
        four_octet_asn: true,
        add_path_receive: vec![],
        ebgp: true,
        peer_asn: Asn(64501),
    }
}

fn encode_all(table: &[(PathAttributes, Vec<Nlri>)], out: &mut Vec<Vec<u8>>) {
    let ctx = encode_ctx();
    let nh = IpAddr::V4(Ipv4Addr::new(198, 51, 100, 1));
    for (attrs, nlri) in table {
        encode_announcements(&Outgoing { attrs, nlri }, &ctx, nh, out).expect("fits");
    }
}

fn decode_all(msgs: &[Vec<u8>], ctx: &DecodeCtx) -> usize {
    let mut n = 0;
    for m in msgs {
        let u = decode_update(m.get(19..).unwrap_or_default(), ctx).expect("valid");
        n += u.announced.len();
        black_box(u);
    }
    n
}

/// The UPDATE bodies (with their 4-octet-AS flag) of a BGP4MP file.
fn ris_updates(path: &Path) -> Vec<(Vec<u8>, bool)> {
    let f = std::fs::File::open(path).expect("open");
    let gz = flate2::read::MultiGzDecoder::new(std::io::BufReader::new(f));
    let mut out = Vec::new();
    for rec in bgpkit_parser::BgpkitParser::from_reader(gz).into_raw_record_iter() {
        let four = match (
            rec.common_header.entry_type as u16,
            rec.common_header.entry_subtype,
        ) {
            (16 | 17, 1 | 6) => false,
            (16 | 17, 4 | 7) => true,
            _ => continue,
        };
        let m = &rec.message_bytes;
        let asn_len = if four { 8 } else { 4 };
        let ip_len = match m.get(asn_len + 2..asn_len + 4) {
            Some([0, 1]) => 8,
            Some(_) => 32,
            None => continue,
        };
        match m.get(asn_len + 4 + ip_len..) {
            Some(msg) if msg.len() > 19 && msg[18] == 2 => out.push((msg[19..].to_vec(), four)),
            _ => {}
        }
    }
    out
}

fn benches(c: &mut Criterion) {
    let table = table();
    let mut msgs = Vec::new();
    encode_all(&table, &mut msgs);
    let dctx = decode_ctx();
    assert_eq!(decode_all(&msgs, &dctx), PREFIXES);
    eprintln!(
        "full table: {} prefixes, {} attribute sets, {} UPDATEs, {} MB",
        PREFIXES,
        table.len(),
        msgs.len(),
        msgs.iter().map(Vec::len).sum::<usize>() / 1_000_000
    );

    let mut g = c.benchmark_group("update");
    g.sample_size(10);
    g.throughput(Throughput::Elements(PREFIXES as u64));
    g.bench_function("decode_full_table_1M_prefixes", |b| {
        b.iter(|| black_box(decode_all(&msgs, &dctx)))
    });
    g.bench_function("encode_full_table_1M_prefixes", |b| {
        let mut out = Vec::with_capacity(msgs.len());
        b.iter(|| {
            out.clear();
            encode_all(&table, &mut out);
            black_box(out.len())
        })
    });

    let ris = ris_updates(
        &Path::new(env!("CARGO_MANIFEST_DIR")).join("testdata/mrt/ris/updates.20190101.0000.gz"),
    );
    let ctx2 = DecodeCtx {
        four_octet_asn: false,
        ..decode_ctx()
    };
    g.throughput(Throughput::Elements(ris.len() as u64));
    g.bench_function("decode_ris_rrc00_updates", |b| {
        b.iter(|| {
            let mut n = 0;
            for (body, four) in &ris {
                let ctx = if *four { &dctx } else { &ctx2 };
                if let Ok(u) = decode_update(body, ctx) {
                    n += u.announced.len() + u.withdrawn.len();
                }
            }
            black_box(n)
        })
    });
    g.finish();
}

criterion_group!(update, benches);
criterion_main!(update);
