//! `bgpsieve check-config FILE`: everything `load` checks, plus parsing every IRR file, turned
//! into the text the command prints.

use super::validate;
use crate::types::Role;
use std::path::Path;

/// Validates the file at `path` and returns `(ok, text to print)`. On success the text is a
/// one-line summary followed by the warnings; on failure, one `file:line:col: message` line per
/// error. Every line ends in a newline. The caller prints the text and exits 0 when `ok`, 1
/// otherwise.
pub fn check_config_report(path: &Path) -> (bool, String) {
    match validate::load_file(path, true, validate::Purpose::Daemon) {
        Err(errors) => (false, format!("{errors}\n")),
        Ok((loaded, summary)) => {
            let c = &loaded.config;
            let mut roles: Vec<String> = Vec::new();
            for role in [
                Role::Provider,
                Role::Peer,
                Role::Customer,
                Role::Rs,
                Role::RsClient,
            ] {
                let n = c.peers.iter().filter(|p| p.role == role).count();
                if n > 0 {
                    roles.push(format!("{n} {role}"));
                }
            }
            let peers = match c.peers.len() {
                1 => "1 peer".to_string(),
                n => format!("{n} peers"),
            };
            let roles = if roles.is_empty() {
                String::new()
            } else {
                format!(" ({})", roles.join(", "))
            };
            let mut out = format!(
                "{}: OK: AS{}, {peers}{roles}, {} data file{} referenced, {} IRR file{} with {} \
                 entries, {} warning{}",
                path.display(),
                c.global.asn.0,
                summary.data_files,
                plural(summary.data_files),
                summary.irr_files_parsed,
                plural(summary.irr_files_parsed),
                summary.irr_entries,
                loaded.warnings.len(),
                plural(loaded.warnings.len()),
            );
            out.push('\n');
            for w in &loaded.warnings {
                out.push_str(w);
                out.push('\n');
            }
            (true, out)
        }
    }
}

fn plural(n: usize) -> &'static str {
    if n == 1 {
        ""
    } else {
        "s"
    }
}
