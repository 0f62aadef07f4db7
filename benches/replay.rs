//! Replay speed against its baseline, measured in the same run: bgpkit-parser's bare element
//! iteration (`into_elem_iter().count()`) over a RIS update file, and `bgpsieve replay` with every
//! check on (424k VRPs and 6.6k ASPAs loaded) over the same file. `benches/ratio.py` prints the
//! ratio of the two medians.

use bgpkit_parser::BgpkitParser;
use bgpsieve::policy::{LocalPolicy, PeerPolicy};
use bgpsieve::replay::{self, PeerResolver, PeerSetup, Setup, Sinks};
use bgpsieve::rpki::{load_rpki, LoadOptions};
use bgpsieve::types::{Asn, Role};
use criterion::{criterion_group, criterion_main, Criterion};
use std::hint::black_box;
use std::path::{Path, PathBuf};
use std::sync::Arc;

// The same allocator as the binary.
#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

fn td(p: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("testdata")
        .join(p)
}

fn benches(c: &mut Criterion) {
    bgpsieve::tune_allocator();
    let file = td("mrt/ris/updates.20190101.0000.gz");
    let data = load_rpki(
        &[td("vrps/rpki-client_ripe-prepdev_20230504.json.gz")],
        &[],
        &[],
        &LoadOptions { now: None },
    )
    .expect("prepdev VRPs");
    let setup = Setup {
        local: LocalPolicy::new(Asn(64500)),
        rpki: Arc::new(data),
        rpki_b: None,
        rpki_data: None,
        peers: PeerResolver::new(
            vec![],
            PeerSetup {
                policy: PeerPolicy::new("", Role::Provider, Asn(0), None),
                max_prefix: None,
                burst: None,
            },
        ),
    };
    let mut g = c.benchmark_group("replay");
    g.sample_size(10);
    g.bench_function("bgpkit_elem_iter", |b| {
        b.iter(|| {
            let f = std::fs::File::open(&file).expect("open");
            let gz = flate2::read::MultiGzDecoder::new(std::io::BufReader::new(f));
            black_box(BgpkitParser::from_reader(gz).into_elem_iter().count())
        })
    });
    g.bench_function("bgpsieve_replay_all_checks", |b| {
        b.iter(|| {
            let r = replay::run(std::slice::from_ref(&file), &setup, Sinks::default(), false)
                .expect("replay");
            black_box(r.total.routes)
        })
    });
    g.finish();
}

criterion_group!(replay_bench, benches);
criterion_main!(replay_bench);
