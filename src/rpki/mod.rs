//! RPKI data for the `rpki-invalid` and `aspa-invalid` checks: VRPs and ASPA records, their file
//! loaders (every common JSON dialect, SLURM local exceptions), and the two verifications —
//! RFC 6811 route origin validation and draft-ietf-sidrops-aspa-verification AS_PATH
//! verification. Data lives in an immutable [`RpkiData`] snapshot that the policy reads and the
//! daemon swaps whole; between rebuilds each source's VRPs are kept once, as a compact sorted
//! [`VrpSet`] (the RTR client's is shared with the feed), and the snapshot is merged from them.
//!
//! This module does no network I/O (the RTR client is elsewhere) and keeps no clock: callers pass
//! the time in [`LoadOptions`].

mod aspa;
mod delta;
pub mod feed;
mod json;
mod rov;
pub mod rtr;
mod slurm;
mod store;
mod vrp_set;

pub use aspa::AspaState;
pub use delta::RpkiDelta;
pub use json::{load_aspa_file, load_vrp_file, LoadError, LoadOptions, RpkiFile};
pub use rov::RovState;
pub use slurm::{load_slurm_file, PrefixFilter, Slurm, SlurmEffect};
pub use store::{Aspa, RpkiData, Vrp};
pub use vrp_set::VrpSet;

use std::path::PathBuf;

/// Loads every VRP file (which may carry ASPAs too), every ASPA file and every SLURM file, applies
/// the SLURM filters and then its assertions (RFC 8416 §4; several SLURM files act as one), and
/// builds the snapshot. Any bad file fails the whole load, so a caller keeps its previous snapshot.
pub fn load_rpki(
    vrp_files: &[PathBuf],
    aspa_files: &[PathBuf],
    slurm_files: &[PathBuf],
    opts: &LoadOptions,
) -> Result<RpkiData, LoadError> {
    load_rpki_counted(vrp_files, aspa_files, slurm_files, opts).map(|(data, _)| data)
}

/// What [`load_rpki_counted`] removed and added on the way to the snapshot.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct LoadCounts {
    /// VRPs in the files, after expiry, before SLURM.
    pub vrps_loaded: usize,
    /// Entries (VRPs and ASPAs) dropped as expired (only with `LoadOptions::now`).
    pub dropped_expired: usize,
    /// What SLURM removed and added.
    pub slurm: SlurmEffect,
}

/// [`load_rpki`], also saying what expiry and SLURM removed and added (replay's summary).
pub fn load_rpki_counted(
    vrp_files: &[PathBuf],
    aspa_files: &[PathBuf],
    slurm_files: &[PathBuf],
    opts: &LoadOptions,
) -> Result<(RpkiData, LoadCounts), LoadError> {
    let (mut files, dropped_expired) =
        load_files_counted(vrp_files, aspa_files, slurm_files, opts)?;
    let vrps_loaded = files.vrps.len();
    let slurm = files.slurm.apply(&mut files.vrps, &mut files.aspas);
    let counts = LoadCounts {
        vrps_loaded,
        dropped_expired,
        slurm,
    };
    Ok((RpkiData::new(files.vrps, files.aspas), counts))
}

/// Loads the files of [`load_rpki`] without applying SLURM (the feed applies it over every
/// source). Any bad file fails the whole load.
pub fn load_files(
    vrp_files: &[PathBuf],
    aspa_files: &[PathBuf],
    slurm_files: &[PathBuf],
    opts: &LoadOptions,
) -> Result<feed::FileData, LoadError> {
    load_files_counted(vrp_files, aspa_files, slurm_files, opts).map(|(files, _)| files)
}

/// [`load_files`], with the count of entries dropped as expired.
fn load_files_counted(
    vrp_files: &[PathBuf],
    aspa_files: &[PathBuf],
    slurm_files: &[PathBuf],
    opts: &LoadOptions,
) -> Result<(feed::FileData, usize), LoadError> {
    let mut vrps = Vec::new();
    let mut aspas = Vec::new();
    let mut dropped = 0;
    for path in vrp_files {
        let file = load_vrp_file(path, opts)?;
        dropped += file.dropped_expired;
        vrps.extend(file.vrps);
        aspas.extend(file.aspas);
    }
    for path in aspa_files {
        let file = json::load_aspas(path, opts)?;
        dropped += file.dropped_expired;
        aspas.extend(file.aspas);
    }
    let mut slurm = Slurm::default();
    for path in slurm_files {
        slurm.merge(load_slurm_file(path)?);
    }
    Ok((feed::FileData { vrps, aspas, slurm }, dropped))
}
