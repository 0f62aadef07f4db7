//! Re-evaluation after an RPKI change (issue 4): a 1 % VRP delta against a table in the RIB,
//! compared with re-checking the whole table, in the same run.
//!
//! The table: one route per distinct prefix of the RIPE prepdev export (424k VRPs), each from
//! its VRP's origin, learned from a provider and passed to the router (both sessions of the pair
//! up), so every route is checked on import and the changed verdicts go out as routes. The delta: the VRPs
//! of every hundredth prefix removed (those routes turn NotFound), then put back. One
//! iteration applies the delta and its reverse, so the RIB ends as it began.
//!
//! `cargo bench --bench reevaluate` prints the routes each variant checks and the times;
//! the figure is the ratio of the two times.

use bgpsieve::bgp::open::Negotiated;
use bgpsieve::bgp::session::FromSession;
use bgpsieve::bgp::update::{DecodedUpdate, Nlri, PathAttributes};
use bgpsieve::policy::{LocalPolicy, PeerPolicy};
use bgpsieve::rib::{Pair, Rib};
use bgpsieve::rpki::{load_rpki, LoadOptions, RpkiData, RpkiDelta, Vrp};
use bgpsieve::types::{AsPath, Asn, Attrs, Role, SessionId, Side};
use criterion::{criterion_group, criterion_main, Criterion};
use std::collections::BTreeMap;
use std::path::Path;
use std::sync::Arc;

const NEIGHBOR_AS: u32 = 174;
const LOCAL_AS: u32 = 64500;

fn negotiated(asn: u32) -> Negotiated {
    Negotiated {
        peer_asn: Asn(asn),
        peer_router_id: "192.0.2.9".parse().unwrap(),
        hold_time: 90,
        keepalive: 30,
        four_octet_asn: true,
        families: vec![bgpsieve::types::Afi::Ipv4, bgpsieve::types::Afi::Ipv6],
        add_path_receive: vec![],
        add_path_send: vec![],
        extended_message: false,
        route_refresh: true,
        enhanced_route_refresh: false,
        peer_role: None,
        graceful_restart: None,
    }
}

fn vrps() -> Vec<Vrp> {
    let path = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("testdata/vrps/rpki-client_ripe-prepdev_20230504.json.gz");
    load_rpki(&[path], &[], &[], &LoadOptions { now: None })
        .expect("prepdev VRPs")
        .iter_vrps()
        .collect()
}

/// A RIB holding one route per distinct VRP prefix, from its first VRP's origin.
fn rib(data: Arc<RpkiData>, vrps: &[Vrp]) -> Rib {
    let mut policy = PeerPolicy::new("provider", Role::Provider, Asn(NEIGHBOR_AS), None);
    policy.enabled.remove(bgpsieve::policy::Reason::NextHop);
    let pairs = vec![Pair::new(
        "provider".into(),
        Role::Provider,
        Asn(NEIGHBOR_AS),
        Asn(LOCAL_AS),
        policy,
    )];
    let mut rib = Rib::new(pairs, LocalPolicy::new(Asn(LOCAL_AS)), data);
    for (side, asn) in [(Side::Router, LOCAL_AS), (Side::Neighbor, NEIGHBOR_AS)] {
        rib.handle(FromSession::Up {
            id: SessionId::new(0, side),
            generation: 1,
            negotiated: Box::new(negotiated(asn)),
        });
    }
    // One attribute set per origin, as a real table shares them.
    let mut by_origin: BTreeMap<u32, Vec<Nlri>> = BTreeMap::new();
    let mut last = None;
    for v in vrps {
        if last == Some(v.prefix) {
            continue;
        }
        last = Some(v.prefix);
        by_origin
            .entry(v.asn.0)
            .or_default()
            .push(Nlri::new(v.prefix));
    }
    for (origin, nlri) in by_origin {
        let attrs = Arc::new(PathAttributes {
            attrs: Arc::new(Attrs {
                as_path: AsPath::from_sequence([NEIGHBOR_AS, 3356, origin]),
                next_hop: Some("198.51.100.1".parse().unwrap()),
                ..Attrs::default()
            }),
            other: vec![],
        });
        for chunk in nlri.chunks(500) {
            rib.handle(FromSession::Update {
                id: SessionId::new(0, Side::Neighbor),
                update: DecodedUpdate {
                    announced: chunk.to_vec(),
                    attrs: Some(attrs.clone()),
                    ..DecodedUpdate::default()
                },
                verdicts: None,
            });
        }
    }
    rib
}

fn benches(c: &mut Criterion) {
    bgpsieve::tune_allocator();
    let all = vrps();
    let full = Arc::new(RpkiData::new(all.clone(), vec![]));
    // Every hundredth distinct prefix loses its VRPs.
    let mut prefixes: Vec<_> = all.iter().map(|v| v.prefix).collect();
    prefixes.dedup();
    let dropped: std::collections::HashSet<_> = prefixes.iter().step_by(100).copied().collect();
    let less = Arc::new(RpkiData::new(
        all.iter()
            .filter(|v| !dropped.contains(&v.prefix))
            .cloned()
            .collect(),
        vec![],
    ));
    let delta_out = RpkiDelta::between(&full, &less);
    let delta_back = RpkiDelta::between(&less, &full);
    let everything = RpkiDelta {
        all: true,
        ..RpkiDelta::default()
    };
    let mut rib = rib(full.clone(), &all);
    let routes = rib.pairs[0].flows.inbound.table.len();

    let (_, a) = rib.set_rpki(less.clone(), &delta_out, 2);
    let (_, b) = rib.set_rpki(full.clone(), &delta_back, 3);
    let (_, c1) = rib.set_rpki(less.clone(), &everything, 4);
    let (_, c2) = rib.set_rpki(full.clone(), &everything, 5);
    eprintln!(
        "{} VRPs on {} prefixes, {routes} routes in the RIB; delta: {} prefixes",
        all.len(),
        prefixes.len(),
        delta_out.vrp_prefixes.len()
    );
    eprintln!(
        "1% delta: checked {} + {}, changed {} + {}; full: checked {} + {}, changed {} + {}",
        a.checked, b.checked, a.changed, b.changed, c1.checked, c2.checked, c1.changed, c2.changed
    );

    let mut g = c.benchmark_group("reevaluate");
    g.sample_size(10);
    let mut generation = 10;
    g.bench_function("delta_1pct_and_back", |bch| {
        bch.iter(|| {
            generation += 2;
            let (o1, _) = rib.set_rpki(less.clone(), &delta_out, generation);
            let (o2, _) = rib.set_rpki(full.clone(), &delta_back, generation + 1);
            (o1.len(), o2.len())
        })
    });
    g.bench_function("full_table_and_back", |bch| {
        bch.iter(|| {
            generation += 2;
            let (o1, _) = rib.set_rpki(less.clone(), &everything, generation);
            let (o2, _) = rib.set_rpki(full.clone(), &everything, generation + 1);
            (o1.len(), o2.len())
        })
    });
    g.finish();
}

criterion_group!(reevaluate, benches);
criterion_main!(reevaluate);
