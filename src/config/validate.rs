//! From `schema` to [`Config`]: defaults, semantic checks, file checks. Every problem is
//! collected with the byte offset of the value it is about; nothing stops at the first one.

use super::error::{line_col, ConfigError, ConfigErrors};
use super::schema::{
    IntOrString, OneOrMany, RawBlackhole, RawConfig, RawMaxPrefix, RawPeer, Shutdown,
};
use super::{
    duration::parse_duration, ApiConfig, AsnRange, BogonsConfig, BurstGuardConfig, Config,
    GlobalConfig, IncidentsConfig, LoadedConfig, MaxPrefixConfig, NextHops, PeerConfig,
    PeerlockConfig, PrefixRange, RouterConfig, RpkiConfig, RtrCacheConfig, Secret,
};
use crate::irr::PrefixList;
use crate::policy::{blackhole, BlackholePolicy, Reason};
use crate::types::{Afi, Asn, Role, Side};
use ipnet::IpNet;
use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::ops::Range;
use std::path::{Path, PathBuf};
use std::time::Duration;
use toml::Spanned;

/// Linux `TCP_MD5SIG_MAXKEYLEN`.
const MD5_MAX_KEY_LEN: usize = 80;

/// What the configuration is read for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Purpose {
    /// The daemon (and `check-config`): every `[[peer]]` needs its router table.
    Daemon,
    /// `replay`: MRT peers are matched by AS and address; the router side is not used, so a
    /// `[[peer]]` may leave its router table out.
    Replay,
}

/// Filesystem checks done when loading from a file.
pub(super) struct FsCheck {
    /// Directory relative data-file paths are resolved against.
    pub base: PathBuf,
    /// Also parse every IRR file (check-config).
    pub parse_irr: bool,
}

/// Facts for the check-config summary.
#[derive(Debug, Default)]
pub(super) struct Summary {
    /// Data files referenced (VRP, ASPA, SLURM, IRR, announce_irr).
    pub data_files: usize,
    /// IRR files parsed and their entries, when `parse_irr` was set.
    pub irr_files_parsed: usize,
    pub irr_entries: usize,
}

pub(super) fn load_file(
    path: &Path,
    parse_irr: bool,
    purpose: Purpose,
) -> Result<(LoadedConfig, Summary), ConfigErrors> {
    let file = path.display().to_string();
    let text = std::fs::read_to_string(path).map_err(|e| {
        ConfigErrors(vec![ConfigError {
            file: file.clone(),
            position: None,
            message: format!("cannot read the configuration: {e}"),
        }])
    })?;
    let base = match path.parent() {
        Some(p) if !p.as_os_str().is_empty() => p.to_path_buf(),
        _ => PathBuf::from("."),
    };
    parse(&text, &file, Some(&FsCheck { base, parse_irr }), purpose)
}

pub(super) fn parse(
    text: &str,
    file: &str,
    fs: Option<&FsCheck>,
    purpose: Purpose,
) -> Result<(LoadedConfig, Summary), ConfigErrors> {
    let raw: RawConfig = toml::from_str(text).map_err(|e| {
        ConfigErrors(vec![ConfigError {
            file: file.to_string(),
            position: e.span().map(|s| line_col(text, s.start)),
            message: e.message().trim_end().to_string(),
        }])
    })?;
    let mut v = Validator {
        text,
        fs,
        purpose,
        errors: Vec::new(),
        warnings: Vec::new(),
        summary: Summary::default(),
    };
    let config = v.config(raw);
    let Validator {
        mut errors,
        warnings,
        summary,
        ..
    } = v;
    if !errors.is_empty() {
        errors.sort_by_key(|(offset, _)| *offset);
        return Err(ConfigErrors(
            errors
                .into_iter()
                .map(|(offset, message)| ConfigError {
                    file: file.to_string(),
                    position: Some(line_col(text, offset)),
                    message,
                })
                .collect(),
        ));
    }
    let mut warnings = warnings;
    warnings.sort_by_key(|(offset, _)| *offset);
    let warnings = warnings
        .into_iter()
        .map(|(offset, m)| match offset {
            Some(o) => {
                let (line, col) = line_col(text, o);
                format!("{file}:{line}:{col}: warning: {m}")
            }
            None => format!("{file}: warning: {m}"),
        })
        .collect();
    Ok((LoadedConfig { config, warnings }, summary))
}

/// What a referenced data file is, for messages.
#[derive(Clone, Copy)]
enum FileKind {
    Vrp,
    Aspa,
    Slurm,
    Irr,
}

impl FileKind {
    fn label(self) -> &'static str {
        match self {
            FileKind::Vrp => "VRP file",
            FileKind::Aspa => "ASPA file",
            FileKind::Slurm => "SLURM file",
            FileKind::Irr => "IRR file",
        }
    }
}

struct Validator<'a> {
    text: &'a str,
    fs: Option<&'a FsCheck>,
    purpose: Purpose,
    errors: Vec<(usize, String)>,
    warnings: Vec<(Option<usize>, String)>,
    summary: Summary,
}

impl Validator<'_> {
    fn err(&mut self, span: Range<usize>, message: impl Into<String>) {
        self.errors.push((span.start, message.into()));
    }

    fn warn(&mut self, span: Option<Range<usize>>, message: impl Into<String>) {
        self.warnings.push((span.map(|s| s.start), message.into()));
    }

    /// `line N` of a span, for "first defined at" notes.
    fn line_of(&self, span: &Range<usize>) -> usize {
        line_col(self.text, span.start).0
    }

    fn config(&mut self, raw: RawConfig) -> Config {
        let (global, local_asn) = self.global(raw.global);
        let api = ApiConfig {
            listen: match raw.api.listen {
                Some(l) => {
                    if !l.get_ref().ip().is_loopback() {
                        self.warn(
                            Some(l.span()),
                            format!(
                                "api.listen {} is not a loopback address: /metrics and /api/v1 \
                                 have no authentication",
                                l.get_ref()
                            ),
                        );
                    }
                    l.into_inner()
                }
                None => super::DEFAULT_API_LISTEN,
            },
            rejected_routes: match raw.api.rejected_routes {
                Some(n) if *n.get_ref() == 0 => {
                    self.err(
                        n.span(),
                        "api.rejected_routes must be at least 1".to_string(),
                    );
                    1
                }
                Some(n) => n.into_inner(),
                None => 10_000,
            },
        };
        let incidents = IncidentsConfig {
            webhook: raw.incidents.webhook.and_then(|w| {
                let url = w.get_ref();
                if url.is_empty() {
                    return None;
                }
                if !url.starts_with("http://") {
                    self.err(
                        w.span(),
                        format!(
                            "incidents.webhook {url:?} is not an http:// URL (for https, relay \
                             through a local proxy)"
                        ),
                    );
                }
                Some(w.into_inner())
            }),
            rejections_per_min: raw.incidents.rejections_per_min.map(Spanned::into_inner),
            keep: match raw.incidents.keep {
                Some(n) if !(1..=super::MAX_INCIDENTS_KEPT).contains(n.get_ref()) => {
                    self.err(
                        n.span(),
                        format!(
                            "incidents.keep must be between 1 and {}",
                            super::MAX_INCIDENTS_KEPT
                        ),
                    );
                    1
                }
                Some(n) => n.into_inner(),
                None => IncidentsConfig::default().keep,
            },
        };
        let graceful_restart = self.graceful_restart(raw.graceful_restart);
        let rpki = self.rpki(raw.rpki);
        let bogons = BogonsConfig {
            prefixes: raw.bogons.prefixes.map(|v| {
                v.iter()
                    .filter_map(|p| self.network(p, "bogons.prefixes"))
                    .collect()
            }),
            extra_prefixes: raw
                .bogons
                .extra_prefixes
                .iter()
                .filter_map(|p| self.network(p, "bogons.extra_prefixes"))
                .collect(),
            asns: raw
                .bogons
                .asns
                .map(|v| v.iter().filter_map(|a| self.asn_range(a)).collect()),
        };
        let peerlock = PeerlockConfig {
            protected: raw.peerlock.protected.map(|v| {
                v.iter()
                    .filter_map(|a| self.asn(a, "peerlock.protected"))
                    .collect()
            }),
        };
        let mut peers = Vec::with_capacity(raw.peers.len());
        let mut seen: Vec<SeenPeer> = Vec::with_capacity(raw.peers.len());
        for p in raw.peers {
            if let Some(peer) = self.peer(p, local_asn, &global.listen, &mut seen) {
                peers.push(peer);
            }
        }
        Config {
            global,
            api,
            incidents,
            graceful_restart,
            rpki,
            bogons,
            peerlock,
            peers,
        }
    }

    /// `[graceful_restart]`.
    fn graceful_restart(
        &mut self,
        raw: super::schema::RawGracefulRestart,
    ) -> super::GracefulRestartConfig {
        let default = super::GracefulRestartConfig::default();
        let restart_time = match &raw.restart_time {
            Some(t) => {
                let d = self.positive_duration(t, "graceful_restart.restart_time");
                if d.as_secs() > 4095 {
                    self.err(
                        t.span(),
                        "graceful_restart.restart_time is at most 4095s (a 12-bit field, RFC 4724 §3)"
                            .to_string(),
                    );
                }
                d
            }
            None => default.restart_time,
        };
        let stale_time = match &raw.stale_time {
            Some(t) => self.positive_duration(t, "graceful_restart.stale_time"),
            None => default.stale_time,
        };
        super::GracefulRestartConfig {
            enabled: raw.enabled.unwrap_or(default.enabled),
            restart_time,
            stale_time,
        }
    }

    /// `[global]`, and the local AS when it is valid (peers are compared with it).
    fn global(&mut self, g: super::schema::RawGlobal) -> (GlobalConfig, Option<Asn>) {
        let local_asn = self.session_asn(&g.asn, "global.asn");
        if g.router_id.get_ref().is_unspecified() {
            self.err(
                g.router_id.span(),
                "router_id must not be 0.0.0.0 (RFC 6286 §2.1)",
            );
        }
        let hold_time = match g.hold_time {
            Some(h) => {
                let t = *h.get_ref();
                if t == 1 || t == 2 {
                    self.err(
                        h.span(),
                        format!("hold_time {t} must be 0 or at least 3 seconds (RFC 4271 §4.2)"),
                    );
                }
                t
            }
            None => 90,
        };
        let mut announce = Vec::with_capacity(g.announce.len());
        for a in &g.announce {
            match PrefixList::parse_entry(a.get_ref()) {
                Ok((prefix, min_len, max_len)) => announce.push(PrefixRange {
                    prefix,
                    min_len,
                    max_len,
                }),
                Err(e) => self.err(a.span(), format!("announce: {e}")),
            }
        }
        let announce_irr = g
            .announce_irr
            .iter()
            .map(|p| self.data_file(p, FileKind::Irr))
            .collect();
        let state_dir = match &g.state_dir {
            Some(d) if d.get_ref().trim().is_empty() => {
                self.err(d.span(), "state_dir: empty directory name".to_string());
                PathBuf::from(super::DEFAULT_STATE_DIR)
            }
            Some(d) => match self.fs {
                Some(fs) => fs.base.join(d.get_ref()),
                None => PathBuf::from(d.get_ref()),
            },
            None => PathBuf::from(super::DEFAULT_STATE_DIR),
        };
        let config = GlobalConfig {
            state_dir,
            asn: local_asn.unwrap_or(Asn(0)),
            router_id: g.router_id.into_inner(),
            listen: g.listen.unwrap_or_else(|| {
                vec![
                    SocketAddr::from((Ipv4Addr::UNSPECIFIED, 179)),
                    SocketAddr::from((std::net::Ipv6Addr::UNSPECIFIED, 179)),
                ]
            }),
            announce,
            announce_irr,
            hold_time,
        };
        (config, local_asn)
    }

    fn rpki(&mut self, r: super::schema::RawRpki) -> RpkiConfig {
        let files = |v: &mut Self, list: &[Spanned<String>], kind| -> Vec<PathBuf> {
            list.iter().map(|p| v.data_file(p, kind)).collect()
        };
        let vrp_files = files(self, &r.vrp_files, FileKind::Vrp);
        let aspa_files = files(self, &r.aspa_files, FileKind::Aspa);
        let slurm_files = files(self, &r.slurm_files, FileKind::Slurm);
        let mut rtr = Vec::with_capacity(r.rtr.len());
        for c in r.rtr {
            if let Err(e) = check_host_port(c.address.get_ref()) {
                self.err(c.address.span(), format!("rtr address: {e}"));
            }
            rtr.push(RtrCacheConfig {
                address: c.address.into_inner(),
                preference: c.preference,
            });
        }
        if vrp_files.is_empty() && aspa_files.is_empty() && rtr.is_empty() {
            self.warn(
                None,
                "no RPKI source (rpki.vrp_files, rpki.aspa_files, rpki.rtr): rpki-invalid and \
                 aspa-invalid never reject anything",
            );
        }
        let expire = match &r.expire {
            Some(e) => self.positive_duration(e, "expire"),
            None => Duration::from_secs(7200),
        };
        let max_shrink_percent = match r.max_shrink_percent {
            Some(m) => {
                if *m.get_ref() > 100 {
                    self.err(
                        m.span(),
                        format!("max_shrink_percent {} is above 100", m.get_ref()),
                    );
                }
                m.into_inner()
            }
            None => 50,
        };
        let max_shrink_hold = match &r.max_shrink_hold {
            Some(e) => self.positive_duration(e, "max_shrink_hold"),
            None => Duration::from_secs(3600),
        };
        RpkiConfig {
            vrp_files,
            aspa_files,
            slurm_files,
            rtr,
            expire,
            max_shrink_percent,
            max_shrink_hold,
            fail_open: r.fail_open.unwrap_or(true),
        }
    }

    fn peer(
        &mut self,
        p: RawPeer,
        local_asn: Option<Asn>,
        listen: &[SocketAddr],
        seen: &mut Vec<SeenPeer>,
    ) -> Option<PeerConfig> {
        let name = p.name.get_ref().clone();
        let label = format!("peer {name:?}");
        if name.trim().is_empty() {
            self.err(p.name.span(), "peer name must not be empty");
        }
        let role = self.role(&p.role, &label);
        let asn = self.session_asn(&p.asn, &format!("{label}: asn"));
        if let (Some(asn), Some(local_asn)) = (asn, local_asn) {
            if asn == local_asn {
                self.err(
                    p.asn.span(),
                    format!(
                        "{label}: asn {} is the global asn: bgpsieve sits between the router and \
                         its eBGP neighbors, an iBGP session has no place in a pair",
                        asn.0
                    ),
                );
            }
        }
        let address = *p.address.get_ref();
        let local_address = p.local_address.as_ref().map(|l| *l.get_ref());
        if let Some(l) = &p.local_address {
            if l.get_ref().is_ipv4() != address.is_ipv4() {
                self.err(
                    l.span(),
                    format!(
                        "{label}: local_address {} and address {address} are of different \
                         address families",
                        l.get_ref()
                    ),
                );
            }
        }
        let router = self.router(&p, &label, local_asn);
        if let (Some(r), Some(raw)) = (&router, &p.router) {
            let covered = listen.iter().any(|l| {
                l.ip() == r.local_address
                    || (l.ip().is_unspecified() && l.is_ipv4() == r.local_address.is_ipv4())
            });
            if !covered {
                let msg = format!(
                    "{label}: router.local_address {} is not covered by global.listen, so the \
                     router cannot connect to it",
                    r.local_address
                );
                if r.passive {
                    self.err(
                        raw.span(),
                        format!("{msg} (and router.passive waits for it to)"),
                    );
                } else {
                    self.warn(Some(raw.span()), msg);
                }
            }
        }
        self.check_unique(&p, router.as_ref(), seen);
        let port = match &p.port {
            Some(port) if *port.get_ref() == 0 => {
                self.err(port.span(), format!("{label}: port must not be 0"));
                179
            }
            Some(port) => *port.get_ref(),
            None => 179,
        };
        let afi = match &p.afi {
            Some(a) => {
                let list = a.get_ref().clone();
                if list.is_empty() {
                    self.err(
                        a.span(),
                        format!("{label}: afi must list \"ipv4\", \"ipv6\" or both"),
                    );
                } else if list.contains(&Afi::Ipv4) as usize + list.contains(&Afi::Ipv6) as usize
                    != list.len()
                {
                    self.err(a.span(), format!("{label}: afi lists a family twice"));
                }
                list
            }
            None => vec![Afi::Ipv4, Afi::Ipv6],
        };
        let mut checks_disable = Vec::with_capacity(p.checks_disable.len());
        for c in &p.checks_disable {
            match c.get_ref().parse::<Reason>() {
                Ok(r) => {
                    if !checks_disable.contains(&r) {
                        checks_disable.push(r);
                    }
                }
                Err(e) => {
                    let codes: Vec<&str> = Reason::ALL.iter().map(|r| r.code()).collect();
                    self.err(
                        c.span(),
                        format!(
                            "{label}: checks_disable: {e} (one of: {})",
                            codes.join(", ")
                        ),
                    );
                }
            }
        }
        let irr: Vec<PathBuf> = p
            .irr
            .iter()
            .map(|f| self.data_file(f, FileKind::Irr))
            .collect();
        if irr.is_empty()
            && matches!(role, Some(Role::Customer | Role::Peer))
            && !checks_disable.contains(&Reason::IrrUnregistered)
        {
            self.warn(
                Some(p.name.span()),
                format!(
                    "{label} ({}) has no IRR data (irr = []): irr-unregistered is not \
                     checked for it",
                    role.map_or("", Role::as_str)
                ),
            );
        }
        let max_prefix_in = self.max_prefix(p.max_prefix_in.as_ref(), &label, "max_prefix_in");
        let max_prefix_out = self.max_prefix(p.max_prefix_out.as_ref(), &label, "max_prefix_out");
        let burst_guard = p.burst_guard.as_ref().map(|b| {
            let g = b.get_ref();
            if g.new_prefixes_per_min.is_none() && g.more_specifics_per_min.is_none() {
                self.err(
                    b.span(),
                    format!(
                        "{label}: burst_guard needs new_prefixes_per_min or \
                         more_specifics_per_min"
                    ),
                );
            }
            for rate in [&g.new_prefixes_per_min, &g.more_specifics_per_min]
                .into_iter()
                .flatten()
            {
                if *rate.get_ref() == 0 {
                    self.err(
                        rate.span(),
                        format!("{label}: burst_guard rates must be at least 1 per minute"),
                    );
                }
            }
            BurstGuardConfig {
                new_prefixes_per_min: g.new_prefixes_per_min.as_ref().map(|r| *r.get_ref()),
                more_specifics_per_min: g.more_specifics_per_min.as_ref().map(|r| *r.get_ref()),
                action: g.action.unwrap_or_default(),
                restart_after: g
                    .restart_after
                    .as_ref()
                    .map(|r| self.positive_duration(r, "burst_guard.restart_after")),
            }
        });
        let idle_hold = match &p.idle_hold {
            Some(d) => self.duration(d, "idle_hold").unwrap_or_default(),
            None => Duration::from_secs(5),
        };
        let idle_hold_max = match &p.idle_hold_max {
            Some(d) => self.duration(d, "idle_hold_max").unwrap_or_default(),
            None => super::IDLE_HOLD_MAX,
        };
        let connect_retry = match &p.connect_retry {
            Some(d) => self.positive_duration(d, "connect_retry"),
            None => Duration::from_secs(30),
        };
        let md5_password = self.md5(p.md5_password.as_ref(), &label);
        let prefix_length_v4 = self.length_bounds(
            p.prefix_length_v4.as_ref(),
            32,
            (8, 24),
            &label,
            "prefix_length_v4",
        );
        let prefix_length_v6 = self.length_bounds(
            p.prefix_length_v6.as_ref(),
            128,
            (16, 48),
            &label,
            "prefix_length_v6",
        );
        let max_path_length = match &p.max_path_length {
            Some(m) if *m.get_ref() == 0 => {
                self.err(
                    m.span(),
                    format!("{label}: max_path_length must be at least 1"),
                );
                64
            }
            Some(m) => usize::from(*m.get_ref()),
            None => 64,
        };
        let next_hop_is_neighbor = match &p.next_hop_is_neighbor {
            Some(n) => {
                if *n.get_ref() && role == Some(Role::Rs) {
                    self.warn(
                        Some(n.span()),
                        format!(
                            "{label}: next_hop_is_neighbor with role \"rs\": a route server \
                             passes its members' next hops, so nearly every route fails \
                             next-hop"
                        ),
                    );
                }
                *n.get_ref()
            }
            None => false,
        };
        let peerlock_allow = p
            .peerlock_allow
            .iter()
            .filter_map(|a| self.asn(a, &format!("{label}: peerlock_allow")))
            .collect();
        let blackhole = self.blackhole(
            p.blackhole.as_ref(),
            role,
            (prefix_length_v4, prefix_length_v6),
            &label,
        );
        Some(PeerConfig {
            name,
            role: role?,
            asn: asn?,
            address,
            local_address,
            port,
            passive: p.passive.unwrap_or(false),
            afi,
            mode: p.mode.unwrap_or_default(),
            checks_disable,
            allow_private_asn: p.allow_private_asn.unwrap_or(false),
            irr,
            max_prefix_in,
            max_prefix_out,
            burst_guard,
            role_strict: p.role_strict.unwrap_or(false),
            idle_hold,
            idle_hold_max,
            connect_retry,
            md5_password,
            ttl_security: p.ttl_security.unwrap_or(false),
            next_hop: self.next_hops(p.next_hop.as_ref(), &label),
            router: match (router, self.purpose) {
                (Some(r), _) => Some(r),
                (None, Purpose::Replay) => None,
                (None, Purpose::Daemon) => return None,
            },
            prefix_length_v4,
            prefix_length_v6,
            max_path_length,
            max_communities: p
                .max_communities
                .map(|m| usize::try_from(m).unwrap_or(usize::MAX)),
            next_hop_is_neighbor,
            peerlock_allow,
            irr_roas_as_routes: p.irr_roas_as_routes.unwrap_or(false),
            blackhole,
            shutdown: self.shutdown(p.shutdown.as_ref(), &label),
        })
    }

    /// `shutdown = true | false | "message"`: a message fits a NOTIFICATION's shutdown
    /// communication (RFC 9003: at most 255 bytes of UTF-8).
    fn shutdown(&mut self, s: Option<&Spanned<Shutdown>>, label: &str) -> Option<String> {
        let s = s?;
        match s.get_ref() {
            Shutdown::Flag(false) => None,
            Shutdown::Flag(true) => Some(String::new()),
            Shutdown::Message(m) => {
                if let Err(e) = super::check_shutdown_message(m) {
                    self.err(s.span(), format!("{label}: shutdown: {e}"));
                }
                Some(m.clone())
            }
        }
    }

    /// `blackhole = { accept, max_length_v4, max_length_v6 }`: `accept` only for the roles that
    /// may ask for a blackhole (RFC 7999 §3.2), each maximum no shorter than the longest
    /// ordinary prefix and no longer than the address.
    fn blackhole(
        &mut self,
        v: Option<&Spanned<RawBlackhole>>,
        role: Option<Role>,
        bounds: ((u8, u8), (u8, u8)),
        label: &str,
    ) -> BlackholePolicy {
        let mut b = BlackholePolicy::for_role(role.unwrap_or(Role::Provider));
        let Some(v) = v else {
            return b;
        };
        let raw = v.get_ref();
        if let Some(a) = &raw.accept {
            if *a.get_ref() && role.is_some_and(|r| !blackhole::role_may_blackhole(r)) {
                self.err(
                    a.span(),
                    format!(
                        "{label}: blackhole.accept = true with role \"{}\": only a customer or \
                         an rs-client may ask for a blackhole (RFC 7999 §3.2); BLACKHOLE routes \
                         from a provider, peer or route server are rejected as \
                         blackhole-unauthorized",
                        role.map_or("", Role::as_str)
                    ),
                );
            }
            b.accept = *a.get_ref();
        }
        for (m, bits, (_, longest), family, slot) in [
            (&raw.max_length_v4, 32, bounds.0, "v4", &mut b.max_length_v4),
            (
                &raw.max_length_v6,
                128,
                bounds.1,
                "v6",
                &mut b.max_length_v6,
            ),
        ] {
            let Some(m) = m else { continue };
            let n = *m.get_ref();
            if n > bits {
                self.err(
                    m.span(),
                    format!("{label}: blackhole.max_length_{family} /{n} exceeds /{bits}"),
                );
            } else if n < longest {
                self.err(
                    m.span(),
                    format!(
                        "{label}: blackhole.max_length_{family} /{n} is shorter than the longest \
                         prefix any route may have (prefix_length_{family} maximum /{longest})"
                    ),
                );
            } else {
                *slot = n;
            }
        }
        b
    }

    /// A peer's role; the `router` role of earlier versions gets a message saying what
    /// replaced it.
    fn role(&mut self, v: &Spanned<String>, label: &str) -> Option<Role> {
        match v.get_ref().as_str() {
            "router" => {
                self.err(
                    v.span(),
                    format!(
                        "{label}: role \"router\" is gone: the router is not a [[peer]] any more. \
                         Give each neighbor's [[peer]] a `router = {{ address = \"ROUTER\", \
                         local_address = \"OWN ADDRESS TOWARD THE ROUTER\" }}` table: bgpsieve \
                         speaks to the router as that neighbor (see config/bgpsieve.toml)"
                    ),
                );
                None
            }
            text => match text.parse::<Role>() {
                Ok(r) => Some(r),
                Err(e) => {
                    self.err(v.span(), format!("{label}: {e}"));
                    None
                }
            },
        }
    }

    /// A TCP-MD5 key: at most 80 bytes; "" means none.
    fn md5(&mut self, v: Option<&Spanned<String>>, label: &str) -> Option<Secret> {
        let s = v?;
        if s.get_ref().is_empty() {
            return None;
        }
        if s.get_ref().len() > MD5_MAX_KEY_LEN {
            self.err(
                s.span(),
                format!(
                    "{label}: md5_password is longer than {MD5_MAX_KEY_LEN} bytes (the TCP-MD5 key \
                     limit)"
                ),
            );
        } else {
            self.warn(
                Some(s.span()),
                format!("{label}: md5_password is set (TCP-MD5, RFC 2385)"),
            );
        }
        Some(Secret::new(s.get_ref().clone()))
    }

    /// The `router` table of a peer (required).
    fn router(&mut self, p: &RawPeer, label: &str, local_asn: Option<Asn>) -> Option<RouterConfig> {
        let Some(r) = &p.router else {
            if p.role.get_ref() == "router" || self.purpose == Purpose::Replay {
                // The role's own error says what replaced it; replay has no router side.
                return None;
            }
            self.err(
                p.name.span(),
                format!(
                    "{label} has no router table: add `router = {{ address = \"ROUTER\", \
                     local_address = \"OWN ADDRESS TOWARD THE ROUTER\" }}` (the session on \
                     which bgpsieve speaks to the router as this neighbor)"
                ),
            );
            return None;
        };
        let r = r.get_ref();
        let label = format!("{label}: router");
        let address = *r.address.get_ref();
        let local_address = *r.local_address.get_ref();
        if address.is_ipv4() != local_address.is_ipv4() {
            self.err(
                r.local_address.span(),
                format!(
                    "{label}: local_address {local_address} and address {address} are of \
                     different address families"
                ),
            );
        }
        if local_address.is_unspecified() {
            self.err(
                r.local_address.span(),
                format!(
                    "{label}: local_address must be an address of bgpsieve's own (the router \
                     configures it as the neighbor's address)"
                ),
            );
        }
        let port = match &r.port {
            Some(port) if *port.get_ref() == 0 => {
                self.err(port.span(), format!("{label}: port must not be 0"));
                179
            }
            Some(port) => *port.get_ref(),
            None => 179,
        };
        let asn = match &r.asn {
            Some(a) => self.session_asn(a, &format!("{label}: asn"))?,
            None => local_asn?,
        };
        Some(RouterConfig {
            address,
            local_address,
            port,
            passive: r.passive.unwrap_or(false),
            asn,
            md5_password: self.md5(r.md5_password.as_ref(), &label),
            ttl_security: r.ttl_security.unwrap_or(false),
        })
    }

    /// `next_hop`: at most one IPv4, one global IPv6 and one link-local IPv6 address.
    fn next_hops(&mut self, v: Option<&Spanned<OneOrMany<IpAddr>>>, label: &str) -> NextHops {
        let mut n = NextHops::default();
        let Some(v) = v else {
            return n;
        };
        for ip in v.get_ref().as_slice() {
            let taken = match ip {
                IpAddr::V4(a) if a.is_unspecified() => true,
                IpAddr::V4(a) => n.ipv4.replace(*a).is_some(),
                IpAddr::V6(a) if a.is_unspecified() => true,
                IpAddr::V6(a) if a.is_unicast_link_local() => {
                    n.ipv6_link_local.replace(*a).is_some()
                }
                IpAddr::V6(a) => n.ipv6.replace(*a).is_some(),
            };
            if taken {
                self.err(
                    v.span(),
                    format!(
                        "{label}: next_hop takes at most one IPv4, one IPv6 and one IPv6 \
                         link-local address, none of them unspecified"
                    ),
                );
                break;
            }
        }
        n
    }

    /// Names are unique; so are sessions, of both sides of every pair: a session is told
    /// apart by its remote and local address, so two on one remote address need distinct
    /// local addresses (how a passive connection is matched), and two pairs can never share
    /// their session toward the router.
    fn check_unique(
        &mut self,
        p: &RawPeer,
        router: Option<&RouterConfig>,
        seen: &mut Vec<SeenPeer>,
    ) {
        let name = p.name.get_ref();
        if let Some(first) = seen.iter().find(|s| &s.name == name) {
            let line = first.name_line;
            self.err(
                p.name.span(),
                format!("duplicate peer name {name:?} (first defined on line {line})"),
            );
        }
        let neighbor = SeenSession {
            side: Side::Neighbor,
            address: *p.address.get_ref(),
            local_address: p.local_address.as_ref().map(|l| *l.get_ref()),
        };
        let router_session = router.map(|r| SeenSession {
            side: Side::Router,
            address: r.address,
            local_address: Some(r.local_address),
        });
        let router_span = p.router.as_ref().map(|r| r.span());
        let mine = [
            Some((neighbor, p.address.span())),
            router_session.zip(router_span.clone()),
        ];
        for (session, span) in mine.into_iter().flatten() {
            for other in seen.iter() {
                for theirs in [&other.neighbor, &other.router].into_iter().flatten() {
                    if let Some(clash) = session.clash(theirs) {
                        self.err(
                            span.clone(),
                            format!(
                                "peer {name:?}: its {} session ({}) {clash} peer {:?}'s {} session \
                                 ({})",
                                session.side,
                                session.describe(),
                                other.name,
                                theirs.side,
                                theirs.describe()
                            ),
                        );
                    }
                }
            }
        }
        if let (Some(r), Some(span)) = (router_session, router_span) {
            if neighbor.clash(&r).is_some() {
                self.err(
                    span,
                    format!(
                        "peer {name:?}: its router session ({}) cannot be told apart from its \
                         neighbor session ({})",
                        r.describe(),
                        neighbor.describe()
                    ),
                );
            }
        }
        let name_line = self.line_of(&p.name.span());
        seen.push(SeenPeer {
            name: name.clone(),
            name_line,
            neighbor: Some(neighbor),
            router: router_session,
        });
    }

    fn max_prefix(&mut self, m: Option<&RawMaxPrefix>, label: &str, key: &str) -> MaxPrefixConfig {
        let Some(m) = m else {
            return MaxPrefixConfig::default();
        };
        let warn_at = match &m.warn_at {
            Some(w) => {
                if *w.get_ref() > 100 {
                    self.err(
                        w.span(),
                        format!(
                            "{label}: {key}.warn_at {} is above 100 (a percentage of the limit)",
                            w.get_ref()
                        ),
                    );
                }
                *w.get_ref()
            }
            None => 90,
        };
        MaxPrefixConfig {
            ipv4: m.ipv4,
            ipv6: m.ipv6,
            warn_at,
            count: m.count.unwrap_or_default(),
            action: m.action.unwrap_or_default(),
            restart_after: m
                .restart_after
                .as_ref()
                .map(|r| self.positive_duration(r, &format!("{key}.restart_after"))),
        }
    }

    fn length_bounds(
        &mut self,
        v: Option<&Spanned<Vec<u8>>>,
        max_bits: u8,
        default: (u8, u8),
        label: &str,
        key: &str,
    ) -> (u8, u8) {
        let Some(v) = v else {
            return default;
        };
        let [min, max] = v.get_ref()[..] else {
            self.err(
                v.span(),
                format!(
                    "{label}: {key} must be [SHORTEST, LONGEST], e.g. [{}, {}]",
                    default.0, default.1
                ),
            );
            return default;
        };
        if min > max {
            self.err(
                v.span(),
                format!("{label}: {key} minimum /{min} is longer than maximum /{max}"),
            );
        } else if max > max_bits {
            self.err(
                v.span(),
                format!("{label}: {key} maximum /{max} exceeds /{max_bits}"),
            );
        }
        (min, max)
    }

    fn network(&mut self, p: &Spanned<String>, key: &str) -> Option<IpNet> {
        let Ok(net) = p.get_ref().trim().parse::<IpNet>() else {
            self.err(
                p.span(),
                format!(
                    "{key}: invalid prefix {:?} (expected ADDRESS/LENGTH)",
                    p.get_ref()
                ),
            );
            return None;
        };
        match crate::irr::check_no_host_bits(&net) {
            Ok(()) => Some(net),
            Err(e) => {
                self.err(p.span(), format!("{key}: {e}"));
                None
            }
        }
    }

    fn asn(&mut self, v: &Spanned<IntOrString>, what: &str) -> Option<Asn> {
        match parse_asn(v.get_ref()) {
            Ok(a) => Some(a),
            Err(e) => {
                self.err(v.span(), format!("{what}: {e}"));
                None
            }
        }
    }

    /// An ASN a BGP session can use: not 0 (RFC 7607) and not AS_TRANS (RFC 6793).
    fn session_asn(&mut self, v: &Spanned<IntOrString>, what: &str) -> Option<Asn> {
        let asn = self.asn(v, what)?;
        if asn.0 == 0 || asn.0 == 23456 {
            self.err(
                v.span(),
                format!(
                    "{what}: {} cannot be used on a BGP session (RFC 7607, RFC 6793)",
                    asn.0
                ),
            );
            return None;
        }
        Some(asn)
    }

    fn asn_range(&mut self, v: &Spanned<IntOrString>) -> Option<AsnRange> {
        let range = match v.get_ref() {
            IntOrString::Str(s) if s.contains('-') => s.split_once('-').and_then(|(a, b)| {
                Some((a.trim().parse::<Asn>().ok()?, b.trim().parse::<Asn>().ok()?))
            }),
            other => parse_asn(other).ok().map(|a| (a, a)),
        };
        match range {
            Some((first, last)) if first <= last => Some(AsnRange { first, last }),
            Some((first, last)) => {
                self.err(
                    v.span(),
                    format!("bogons.asns: range {}-{} is inverted", first.0, last.0),
                );
                None
            }
            None => {
                self.err(
                    v.span(),
                    "bogons.asns: expected an ASN or a range \"FIRST-LAST\", e.g. \"64496-131071\"",
                );
                None
            }
        }
    }

    fn duration(&mut self, v: &Spanned<String>, key: &str) -> Option<Duration> {
        match parse_duration(v.get_ref()) {
            Ok(d) => Some(d),
            Err(e) => {
                self.err(v.span(), format!("{key}: {e}"));
                None
            }
        }
    }

    fn positive_duration(&mut self, v: &Spanned<String>, key: &str) -> Duration {
        match self.duration(v, key) {
            Some(d) if d.is_zero() => {
                self.err(v.span(), format!("{key} must be longer than zero"));
                d
            }
            Some(d) => d,
            None => Duration::ZERO,
        }
    }

    /// Resolves a data-file path and, when loading from a file, checks that it exists (and
    /// for IRR files in check mode, that it parses).
    fn data_file(&mut self, v: &Spanned<String>, kind: FileKind) -> PathBuf {
        self.summary.data_files += 1;
        let written = v.get_ref();
        if written.trim().is_empty() {
            self.err(v.span(), format!("{}: empty file name", kind.label()));
            return PathBuf::new();
        }
        let Some(fs) = self.fs else {
            return PathBuf::from(written);
        };
        let path = fs.base.join(written);
        match std::fs::metadata(&path) {
            Ok(m) if m.is_file() => {
                if fs.parse_irr && matches!(kind, FileKind::Irr) {
                    match crate::irr::load_irr_file(&path) {
                        Ok(list) => {
                            self.summary.irr_files_parsed += 1;
                            self.summary.irr_entries += list.len();
                        }
                        Err(e) => self.err(v.span(), format!("IRR file rejected: {e}")),
                    }
                }
            }
            Ok(_) => self.err(
                v.span(),
                format!("{} {written:?} is not a regular file", kind.label()),
            ),
            Err(e) => self.err(
                v.span(),
                format!(
                    "{} {written:?} cannot be opened ({}): {e}",
                    kind.label(),
                    path.display()
                ),
            ),
        }
        path
    }
}

struct SeenPeer {
    name: String,
    name_line: usize,
    neighbor: Option<SeenSession>,
    router: Option<SeenSession>,
}

/// One session of a pair, as the listener tells sessions apart: by remote address and, when
/// given, local address.
#[derive(Clone, Copy)]
struct SeenSession {
    side: Side,
    address: IpAddr,
    local_address: Option<IpAddr>,
}

impl SeenSession {
    fn describe(&self) -> String {
        match self.local_address {
            Some(l) => format!("address {}, local_address {l}", self.address),
            None => format!("address {}", self.address),
        }
    }

    /// How this session collides with `other`, if it does.
    fn clash(&self, other: &SeenSession) -> Option<&'static str> {
        if self.address != other.address {
            return None;
        }
        match (self.local_address, other.local_address) {
            (a, b) if a == b => Some("is the same as"),
            (None, _) | (_, None) => {
                Some("shares its remote address, without distinct local addresses, with")
            }
            _ => None,
        }
    }
}

fn parse_asn(v: &IntOrString) -> Result<Asn, String> {
    match v {
        IntOrString::Int(n) => u32::try_from(*n)
            .map(Asn)
            .map_err(|_| format!("AS number {n} is out of range (0..=4294967295)")),
        IntOrString::Str(s) => s.parse::<Asn>(),
    }
}

/// `IP:PORT`, `[IPv6]:PORT` or `HOSTNAME:PORT`, port not 0.
fn check_host_port(s: &str) -> Result<(), String> {
    let bad =
        || format!("{s:?} is not HOST:PORT (e.g. \"127.0.0.1:3323\", \"rtr.example.net:323\")");
    if let Ok(sa) = s.parse::<SocketAddr>() {
        return if sa.port() == 0 { Err(bad()) } else { Ok(()) };
    }
    let (host, port) = s.rsplit_once(':').ok_or_else(bad)?;
    let port: u16 = port.parse().map_err(|_| bad())?;
    let host_ok = !host.is_empty()
        && host
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'.')
        && !host.starts_with(['-', '.']);
    if port == 0 || !host_ok {
        return Err(bad());
    }
    Ok(())
}
