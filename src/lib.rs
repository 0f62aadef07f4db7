//! bgpsieve: a BGP route-leak and hijack filter.
//!
//! The library holds everything; `src/main.rs` only parses the command line and maps errors to
//! exit codes. The policy engine (`policy`) is pure and shared by the live daemon and the offline
//! `replay`; data sets (`rpki`, `irr`) are immutable snapshots the engine reads.

pub mod bgp;
pub mod cli;
pub mod config;
pub mod daemon;
pub mod irr;
pub mod policy;
pub mod replay;
pub mod rib;
pub mod rpki;
pub mod setup;
pub mod types;

pub use types::{Afi, AsPath, Asn, Attrs, Direction, Origin, PathOrigin, Role, Route, Segment};
