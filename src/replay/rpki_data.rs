//! Loading replay's RPKI data while counting what `--drop-expired` and SLURM filters removed,
//! for the summary's `rpki_data` ([`crate::rpki::load_rpki_counted`]).

use super::report::RpkiDataSummary;
use crate::rpki::{self, LoadError, LoadOptions, RpkiData};
use std::path::PathBuf;

/// Loads VRP, ASPA and SLURM files, applies SLURM, and says what was removed on the way.
pub fn load(
    vrp_files: &[PathBuf],
    aspa_files: &[PathBuf],
    slurm_files: &[PathBuf],
    opts: &LoadOptions,
) -> Result<(RpkiData, RpkiDataSummary), LoadError> {
    let (data, counts) = rpki::load_rpki_counted(vrp_files, aspa_files, slurm_files, opts)?;
    let (v4, v6) = data.vrp_count();
    let summary = RpkiDataSummary {
        vrps_loaded: counts.vrps_loaded as u64,
        removed_expired: counts.dropped_expired as u64,
        removed_by_slurm: counts.slurm.removed as u64,
        added_by_slurm: counts.slurm.added as u64,
        vrps: (v4 + v6) as u64,
    };
    Ok((data, summary))
}
