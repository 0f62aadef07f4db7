//! Loading replay's RPKI data while counting what `--drop-expired` and SLURM filters removed,
//! for the summary's `rpki_data` (the same result as [`crate::rpki::load_rpki`]).

use super::report::RpkiDataSummary;
use crate::rpki::{self, LoadError, LoadOptions, RpkiData, Slurm};
use std::path::PathBuf;

/// Whether an entry with `expires` is dropped at `now` (the loader's rule: expired at or
/// before `now`).
fn expired(now: Option<i64>, expires: Option<i64>) -> bool {
    matches!((now, expires), (Some(now), Some(exp)) if exp <= now)
}

/// Loads VRP, ASPA and SLURM files, applies SLURM, and counts what was removed on the way.
pub fn load(
    vrp_files: &[PathBuf],
    aspa_files: &[PathBuf],
    slurm_files: &[PathBuf],
    opts: &LoadOptions,
) -> Result<(RpkiData, RpkiDataSummary), LoadError> {
    let mut summary = RpkiDataSummary::default();
    let (mut vrps, mut aspas) = (Vec::new(), Vec::new());
    for path in vrp_files {
        let file = rpki::load_vrp_file(path, opts)?;
        summary.removed_expired += file.dropped_expired as u64;
        vrps.extend(file.vrps);
        aspas.extend(file.aspas);
    }
    for path in aspa_files {
        // Loaded without a clock so that the expired ones can be counted here.
        let (gone, kept): (Vec<_>, Vec<_>) =
            rpki::load_aspa_file(path, &LoadOptions { now: None })?
                .into_iter()
                .partition(|a| expired(opts.now, a.expires));
        summary.removed_expired += gone.len() as u64;
        aspas.extend(kept);
    }
    let mut slurm = Slurm::default();
    for path in slurm_files {
        slurm.merge(rpki::load_slurm_file(path)?);
    }
    summary.vrps_loaded = vrps.len() as u64;
    let (v0, a0) = (vrps.len(), aspas.len());
    slurm.apply(&mut vrps, &mut aspas);
    let added = slurm.prefix_assertions.len() + slurm.aspa_assertions.len();
    summary.added_by_slurm = added as u64;
    summary.removed_by_slurm = (v0 + a0 + added).saturating_sub(vrps.len() + aspas.len()) as u64;
    let data = RpkiData::new(vrps, aspas);
    let (v4, v6) = data.vrp_count();
    summary.vrps = (v4 + v6) as u64;
    Ok((data, summary))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn expiry_is_at_or_before_now_and_only_with_a_clock() {
        assert!(expired(Some(10), Some(10)));
        assert!(!expired(Some(10), Some(11)));
        assert!(!expired(None, Some(1)));
        assert!(!expired(Some(10), None));
    }
}
