//! From configuration to policy: builds the policy engine's inputs (`LocalPolicy`,
//! `PeerPolicy`, limits) from a validated `Config`, loading the IRR files it names. Shared by
//! `replay` and the daemon, so both apply exactly the same policy to the same config.

use crate::config::{BurstGuardConfig, Config, MaxPrefixConfig, Mode, PeerConfig};
use crate::irr::{self, IrrError, PrefixList};
use crate::policy::{Bogons, BurstLimits, Limits, LocalPolicy, PeerPolicy};
use crate::types::Asn;
use std::path::PathBuf;
use std::sync::Arc;

/// Loads and merges IRR files into one prefix list.
pub fn load_irr_files(files: &[PathBuf]) -> Result<PrefixList, IrrError> {
    let mut list = PrefixList::new();
    for f in files {
        list.merge(&irr::load_irr_file(f)?);
    }
    Ok(list)
}

/// The operator's side of the policy: AS, bogons, protected ASNs, announceable prefixes.
pub fn local_policy(cfg: &Config) -> Result<LocalPolicy, IrrError> {
    let mut local = LocalPolicy::new(cfg.global.asn);
    let mut announce = cfg.global.announce_list();
    announce.merge(&load_irr_files(&cfg.global.announce_irr)?);
    local.announce = Arc::new(announce);
    let b = &cfg.bogons;
    if b.prefixes.is_some() || b.asns.is_some() || !b.extra_prefixes.is_empty() {
        let defaults = Bogons::default();
        let mut bogons = match (&b.prefixes, &b.asns) {
            (Some(p), Some(a)) => {
                Bogons::new(p.iter().copied(), a.iter().map(|r| (r.first.0, r.last.0)))
            }
            (Some(p), None) => Bogons::new(
                p.iter().copied(),
                crate::policy::bogon::DEFAULT_ASN_RANGES.iter().copied(),
            ),
            (None, Some(a)) => Bogons::new(
                crate::policy::bogon::DEFAULT_V4
                    .iter()
                    .chain(crate::policy::bogon::DEFAULT_V6)
                    .filter_map(|s| s.parse().ok()),
                a.iter().map(|r| (r.first.0, r.last.0)),
            ),
            (None, None) => defaults,
        };
        bogons.extend(b.extra_prefixes.iter().copied());
        local.bogons = Arc::new(bogons);
    }
    if let Some(p) = &cfg.peerlock.protected {
        let mut v: Vec<Asn> = p.clone();
        v.sort();
        v.dedup();
        local.protected_asns = v.into();
    }
    Ok(local)
}

/// The import limits of a `max_prefix_*` section; `None` when it limits nothing.
pub fn limits(c: &MaxPrefixConfig) -> Option<Limits> {
    (c.ipv4.is_some() || c.ipv6.is_some()).then(|| Limits {
        ipv4: c.ipv4.map(|n| n as usize),
        ipv6: c.ipv6.map(|n| n as usize),
        warn_at: c.warn_at,
        count: c.count,
        action: c.action,
        restart_after: c.restart_after.map(|d| d.as_secs()),
    })
}

/// The burst guard of a peer.
pub fn burst(c: &BurstGuardConfig) -> BurstLimits {
    BurstLimits {
        new_prefixes_per_min: c.new_prefixes_per_min,
        more_specifics_per_min: c.more_specifics_per_min,
        action: c.action,
        restart_after: c.restart_after.map(|d| d.as_secs()),
    }
}

/// A neighbor's policy from its `[[peer]]` section (loads its IRR files).
pub fn peer_policy(p: &PeerConfig) -> Result<PeerPolicy, IrrError> {
    let mut pol = PeerPolicy::new(p.name.clone(), p.role, p.asn, Some(p.address));
    pol.enabled = p.enabled_checks();
    pol.observe = p.mode == Mode::Observe;
    pol.allow_private_asn = p.allow_private_asn;
    pol.prefix_len_v4 = p.prefix_length_v4;
    pol.prefix_len_v6 = p.prefix_length_v6;
    pol.max_path_length = p.max_path_length;
    pol.max_communities = p.max_communities;
    pol.next_hop_is_neighbor = p.next_hop_is_neighbor;
    pol.peerlock_allow = p.peerlock_allow.clone();
    pol.irr_roas_as_routes = p.irr_roas_as_routes;
    pol.blackhole = p.blackhole;
    if !p.irr.is_empty() {
        pol.irr = Some(Arc::new(load_irr_files(&p.irr)?));
    }
    Ok(pol)
}
