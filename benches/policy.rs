//! Policy micro-benchmarks on real data: ROV lookups against the 424k-VRP RIPE prepdev export,
//! ASPA verification against its 6.6k ASPAs, and the full import policy per route, over the
//! announcements of a real RIS update file.

use bgpsieve::policy::{evaluate_import, LocalPolicy, PeerPolicy};
use bgpsieve::replay::convert::Update;
use bgpsieve::replay::input::{self, Event, PeerTable};
use bgpsieve::rpki::{load_rpki, LoadOptions, RpkiData};
use bgpsieve::types::{Asn, PathOrigin, Role, Route};
use criterion::{criterion_group, criterion_main, Criterion, Throughput};
use std::hint::black_box;
use std::path::{Path, PathBuf};
use std::sync::atomic::AtomicU64;
use std::sync::Arc;

fn td(p: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("testdata")
        .join(p)
}

fn rpki() -> RpkiData {
    load_rpki(
        &[td("vrps/rpki-client_ripe-prepdev_20230504.json.gz")],
        &[],
        &[],
        &LoadOptions { now: None },
    )
    .expect("prepdev VRPs")
}

/// Every announcement of a RIS update file, as (route, peer ASN).
fn routes() -> Vec<(Route, Asn)> {
    let mut r = input::open(
        &td("mrt/ris/updates.20190101.0000.gz"),
        Arc::new(AtomicU64::new(0)),
    )
    .expect("open");
    let mut out = Vec::new();
    let mut ev = Vec::new();
    while let Ok(raw) = bgpkit_parser::chunk_mrt_record(&mut r) {
        input::parse(raw, &PeerTable::default(), &mut ev);
    }
    for e in ev {
        if let Event::Update(Update {
            peer,
            attrs,
            announced,
            ..
        }) = e
        {
            for (prefix, path_id) in announced {
                out.push((
                    Route {
                        prefix,
                        path_id,
                        attrs: attrs.clone(),
                    },
                    peer.asn,
                ));
            }
        }
    }
    out
}

fn benches(c: &mut Criterion) {
    let data = rpki();
    let routes = routes();
    let (v4, v6) = data.vrp_count();
    eprintln!(
        "{} VRPs, {} ASPAs, {} routes",
        v4 + v6,
        data.aspa_count(),
        routes.len()
    );
    let n = routes.len() as u64;

    let mut g = c.benchmark_group("policy");
    g.throughput(Throughput::Elements(n));
    g.bench_function("rov_lookup", |b| {
        b.iter(|| {
            for (r, _) in &routes {
                let o = r.attrs.as_path.origin().unwrap_or(PathOrigin::None);
                black_box(data.rov(&r.prefix, o));
            }
        })
    });
    g.bench_function("aspa_upstream", |b| {
        b.iter(|| {
            for (r, _) in &routes {
                black_box(data.aspa_upstream(&r.attrs.as_path));
            }
        })
    });
    let local = LocalPolicy::new(Asn(64500));
    let mut peers: std::collections::HashMap<Asn, PeerPolicy> = Default::default();
    for (_, a) in &routes {
        peers
            .entry(*a)
            .or_insert_with(|| PeerPolicy::new(a.to_string(), Role::Peer, *a, None));
    }
    g.bench_function("import_policy_all_checks", |b| {
        b.iter(|| {
            for (r, a) in &routes {
                black_box(evaluate_import(r, &peers[a], &local, &data));
            }
        })
    });
    g.finish();
}

criterion_group! {
    name = policy;
    config = Criterion::default().sample_size(20);
    targets = benches
}
criterion_main!(policy);
