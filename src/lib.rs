//! bgpsieve: a BGP route-leak and hijack filter.
//!
//! The library holds everything; `src/main.rs` only parses the command line and maps errors to
//! exit codes. The policy engine (`policy`) is pure and shared by the live daemon and the offline
//! `replay`; data sets (`rpki`, `irr`) are immutable snapshots the engine reads.

// Nothing on the wire, in a data file or on the command line may panic the daemon: reads go
// through `get`, fixed tables are indexed by enums (`PerAfi`), and the few places that index by
// an id bgpsieve assigned itself say why that cannot fail. Tests may unwrap.
#![cfg_attr(
    not(test),
    deny(
        clippy::indexing_slicing,
        clippy::unwrap_used,
        clippy::expect_used,
        clippy::panic,
        clippy::unreachable,
        clippy::todo,
        clippy::unimplemented
    )
)]

pub mod api;
pub mod bgp;
pub mod cli;
pub mod config;
pub mod ctl;
pub mod daemon;
pub mod irr;
pub mod metrics;
pub mod policy;
pub mod replay;
pub mod rib;
pub mod rpki;
pub mod setup;
pub mod types;

/// mimalloc's `purge_delay` option (enum `mi_option_e` index in the bundled mimalloc, whose
/// default is 10 ms; `libmimalloc-sys` exports no name for it).
pub const MI_OPTION_PURGE_DELAY: std::os::raw::c_int = 15;

/// Seconds since the Unix epoch (0 if the clock is before it): the time stamps of logs,
/// incidents, the API and `expires` checks.
pub fn unix_now() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_secs() as i64)
}

/// Tunes the global allocator (mimalloc, set by the binary and the benches): freed memory is
/// returned to the OS after 1 s instead of 10 ms. Replay and the daemon free and allocate batches
/// of records continuously; purging every 10 ms made the kernel zero the same pages again and
/// again (measured: replay 1.7× → 1.0× bgpkit-parser's bare iteration on a machine with
/// proactive reclaim).
pub fn tune_allocator() {
    // SAFETY: plain setter of a mimalloc option; any value is valid for this option.
    unsafe { libmimalloc_sys::mi_option_set(MI_OPTION_PURGE_DELAY, 1000) };
}

/// Gives the calling thread's freed memory back to the OS now. mimalloc purges freed pages only
/// when the thread that owns them allocates or frees again, so a RIB thread that goes idle right
/// after a full table was withdrawn would keep it (measured: ~250 MB above the idle figure for as
/// long as nothing happened).
pub fn release_free_memory() {
    // SAFETY: mi_collect walks only the calling thread's heap; any argument is valid.
    unsafe { libmimalloc_sys::mi_collect(true) };
}

pub use types::{Afi, AsPath, Asn, Attrs, Direction, Origin, PathOrigin, Role, Route, Segment};

#[cfg(test)]
mod testutil;

#[cfg(test)]
mod tests {
    #[test]
    fn the_purge_delay_option_index_is_mimallocs_purge_delay() {
        // Its documented default is 10 (ms): a wrong index would read another option.
        let v = unsafe { libmimalloc_sys::mi_option_get(super::MI_OPTION_PURGE_DELAY) };
        assert!(
            v == 10 || v == 1000,
            "option {} is {v}",
            super::MI_OPTION_PURGE_DELAY
        );
    }
}
