//! The replay benchmarks' baseline: bgpkit-parser's bare element iteration over the MRT files
//! given (`into_elem_iter().count()`, one file after another on one thread), printing the
//! element count. Compare its CPU time (`/usr/bin/time`) with `bgpsieve replay` over the same
//! files: `cargo run --release --example bgpkit_count -- FILE...`.

use bgpkit_parser::BgpkitParser;
use bgpsieve::replay::input;
use std::path::Path;
use std::sync::atomic::AtomicU64;
use std::sync::Arc;

// The same allocator as the binary.
#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

fn main() {
    let mut total = 0usize;
    for path in std::env::args().skip(1) {
        // Decompressed as replay does (gzip or bzip2 by their magic bytes).
        let read = Arc::new(AtomicU64::new(0));
        match input::open(Path::new(&path), read) {
            Ok(r) => {
                let n = BgpkitParser::from_reader(r).into_elem_iter().count();
                eprintln!("{path}: {n} elements");
                total += n;
            }
            Err(e) => eprintln!("{path}: {e}"),
        }
    }
    println!("{total}");
}
