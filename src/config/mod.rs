//! Configuration: the TOML file of DESIGN §7, read into typed, validated structs.
//!
//! Reading happens in two steps. `schema` mirrors the file with serde (`deny_unknown_fields`
//! everywhere, values that need checking kept with their byte spans); `validate` turns that into
//! the [`Config`] below, collecting every semantic error at the offending value as
//! `FILE:LINE:COL: message`. Syntax and type errors come from the `toml` crate with its span.
//! The structs here hold no spans and no raw strings: the daemon, `replay` and the policy engine
//! read them directly. Loading never touches the network and never loads VRP data; it checks that
//! referenced data files exist (and `check-config` also parses the IRR files, which it owns).

mod check;
mod duration;
mod error;
mod schema;
mod validate;

pub use check::check_config_report;
pub use duration::parse_duration;
pub use error::{ConfigError, ConfigErrors};
pub use validate::Purpose;

use crate::irr::PrefixList;
use crate::policy::{BlackholePolicy, Reason, ReasonSet};
use crate::types::{Afi, Asn, Role};
use ipnet::IpNet;
use serde::Deserialize;
use std::fmt;
use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::path::{Path, PathBuf};
use std::time::Duration;

/// A validated configuration and the warnings `check-config` prints (each already located,
/// `FILE:LINE:COL: warning: …`).
#[derive(Debug, Clone, PartialEq)]
pub struct LoadedConfig {
    pub config: Config,
    pub warnings: Vec<String>,
}

/// Reads and validates the configuration file at `path`. Relative data-file paths are resolved
/// against the directory of `path` (so a config works whatever the daemon's working directory),
/// and every referenced data file must exist.
pub fn load(path: &Path) -> Result<LoadedConfig, ConfigErrors> {
    validate::load_file(path, false, Purpose::Daemon).map(|(loaded, _)| loaded)
}

/// [`load`] for `replay`: a `[[peer]]` may leave out its router table (replay matches MRT peers
/// by AS and address and has no router side); a daemon configuration works as it is.
pub fn load_for_replay(path: &Path) -> Result<LoadedConfig, ConfigErrors> {
    validate::load_file(path, false, Purpose::Replay).map(|(loaded, _)| loaded)
}

/// Validates configuration text; `file_name` is only used in messages. Paths are kept as
/// written and not checked: this touches no file.
pub fn parse_str(text: &str, file_name: &str) -> Result<LoadedConfig, ConfigErrors> {
    validate::parse(text, file_name, None, Purpose::Daemon).map(|(loaded, _)| loaded)
}

/// The whole file.
#[derive(Debug, Clone, PartialEq)]
pub struct Config {
    pub global: GlobalConfig,
    pub api: ApiConfig,
    pub incidents: IncidentsConfig,
    pub graceful_restart: GracefulRestartConfig,
    pub rpki: RpkiConfig,
    pub bogons: BogonsConfig,
    pub peerlock: PeerlockConfig,
    /// `[[peer]]` sections, in file order.
    pub peers: Vec<PeerConfig>,
}

impl Config {
    pub fn peer(&self, name: &str) -> Option<&PeerConfig> {
        self.peers.iter().find(|p| p.name == name)
    }
}

/// `[global]`: who bgpsieve speaks as.
#[derive(Debug, Clone, PartialEq)]
pub struct GlobalConfig {
    /// The operator's AS.
    pub asn: Asn,
    /// BGP identifier (RFC 6286: non-zero).
    pub router_id: Ipv4Addr,
    /// Where to accept BGP connections. Default `0.0.0.0:179` and `[::]:179`.
    pub listen: Vec<SocketAddr>,
    /// Own prefixes that may be exported to providers, peers and route servers.
    pub announce: Vec<PrefixRange>,
    /// bgpq4 JSON / RPSL files listing the customer cone, same meaning as `announce`.
    pub announce_irr: Vec<PathBuf>,
    /// Hold time offered in OPEN, seconds (0, or at least 3; RFC 4271 §4.2). Default 90.
    pub hold_time: u16,
    /// Where the daemon keeps what must survive a restart (the leak incidents). Default
    /// [`DEFAULT_STATE_DIR`]; a relative path is relative to the configuration's directory.
    pub state_dir: PathBuf,
}

/// `[global] state_dir`'s default: the systemd unit's `StateDirectory=bgpsieve`.
pub const DEFAULT_STATE_DIR: &str = "/var/lib/bgpsieve";

impl GlobalConfig {
    /// `announce` as a prefix list (without `announce_irr`, which the caller loads and merges).
    pub fn announce_list(&self) -> PrefixList {
        let mut l = PrefixList::new();
        for r in &self.announce {
            l.insert(r.prefix, r.min_len, r.max_len, None);
        }
        l
    }
}

/// One `announce` entry: `prefix` itself and its more-specifics down to `max_len`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct PrefixRange {
    pub prefix: IpNet,
    pub min_len: u8,
    pub max_len: u8,
}

/// `[api] listen` when the configuration does not say.
pub const DEFAULT_API_LISTEN: SocketAddr = SocketAddr::V4(std::net::SocketAddrV4::new(
    std::net::Ipv4Addr::LOCALHOST,
    9179,
));

/// `[api]`: the HTTP listener for `/metrics` and `/api/v1`.
#[derive(Debug, Clone, PartialEq)]
pub struct ApiConfig {
    /// Default [`DEFAULT_API_LISTEN`], `127.0.0.1:9179`.
    pub listen: SocketAddr,
    /// How many of the latest rejected routes the API keeps. Default 10000.
    pub rejected_routes: usize,
}

/// `[graceful_restart]`: RFC 4724 on both sides of every pair.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct GracefulRestartConfig {
    /// Advertise graceful restart (and help peers that restart). Default true.
    pub enabled: bool,
    /// How long the router and the neighbors keep bgpsieve's routes while it restarts (the
    /// capability's restart time, at most 4095 s). Default 120 s.
    pub restart_time: std::time::Duration,
    /// How long End-of-RIB is waited for: the stale routes of a peer that came back are
    /// removed this long after it did at the latest, and End-of-RIB goes to one side at the
    /// latest this long after it came up, even when the other side's has not come. Default
    /// 360 s.
    pub stale_time: std::time::Duration,
}

impl Default for GracefulRestartConfig {
    fn default() -> GracefulRestartConfig {
        GracefulRestartConfig {
            enabled: true,
            restart_time: std::time::Duration::from_secs(120),
            stale_time: std::time::Duration::from_secs(360),
        }
    }
}

impl GracefulRestartConfig {
    /// What the sessions advertise; `None` when it is off.
    pub fn local(&self) -> Option<crate::bgp::graceful::GrLocal> {
        self.enabled.then(|| crate::bgp::graceful::GrLocal {
            restart_time: u16::try_from(self.restart_time.as_secs())
                .unwrap_or(u16::MAX)
                .min(crate::bgp::capability::GracefulRestart::MAX_RESTART_TIME),
        })
    }
}

/// `[incidents]`: leak incidents (a limit or burst guard tripped, or a rejection spike).
#[derive(Debug, Clone, PartialEq)]
pub struct IncidentsConfig {
    /// `http://HOST:PORT/PATH` that each new incident is POSTed to as JSON; `None` = none.
    /// Plain HTTP only.
    pub webhook: Option<String>,
    /// More rejections than this from one neighbor within a minute open an incident; `None`
    /// = not watched.
    pub rejections_per_min: Option<u32>,
    /// How many incidents are kept (API, `STATE_DIR/incidents.jsonl`), the oldest dropped
    /// first. Default 100, at most [`MAX_INCIDENTS_KEPT`].
    pub keep: usize,
}

/// `[incidents] keep`'s default.
pub const DEFAULT_INCIDENTS_KEPT: usize = 100;
/// The most incidents `[incidents] keep` may ask for.
pub const MAX_INCIDENTS_KEPT: usize = 100_000;

impl Default for IncidentsConfig {
    fn default() -> IncidentsConfig {
        IncidentsConfig {
            webhook: None,
            rejections_per_min: None,
            keep: DEFAULT_INCIDENTS_KEPT,
        }
    }
}

/// `[rpki]`: VRP and ASPA sources.
#[derive(Debug, Clone, PartialEq)]
pub struct RpkiConfig {
    pub vrp_files: Vec<PathBuf>,
    pub aspa_files: Vec<PathBuf>,
    pub slurm_files: Vec<PathBuf>,
    /// RTR caches, in the order written; see [`RpkiConfig::rtr_in_preference_order`].
    pub rtr: Vec<RtrCacheConfig>,
    /// Drop cache data this long after the last good update. Default 2 h.
    pub expire: Duration,
    /// Circuit breaker: hold an update that removes more than this share of VRPs. Default 50.
    pub max_shrink_percent: u8,
    /// How long an update held by the circuit breaker waits before it is applied anyway
    /// (unless an operator accepts it earlier). Default 1 h.
    pub max_shrink_hold: Duration,
    /// When data has expired, treat every route as NotFound (true, default) or keep the last
    /// data (false).
    pub fail_open: bool,
}

impl RpkiConfig {
    /// Caches by ascending `preference` (absent = after every explicit one), then file order.
    pub fn rtr_in_preference_order(&self) -> Vec<&RtrCacheConfig> {
        let mut v: Vec<&RtrCacheConfig> = self.rtr.iter().collect();
        v.sort_by_key(|c| c.preference.map_or(256, u16::from));
        v
    }
}

/// One RTR cache.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RtrCacheConfig {
    /// `IP:PORT`, `[IPv6]:PORT` or `HOSTNAME:PORT` (resolved when connecting).
    pub address: String,
    /// Lower is preferred.
    pub preference: Option<u8>,
}

/// `[bogons]`: overrides of the built-in bogon lists. `None` = the built-in list.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct BogonsConfig {
    /// Replaces the built-in prefix list when given.
    pub prefixes: Option<Vec<IpNet>>,
    /// Added to the (built-in or replaced) prefix list.
    pub extra_prefixes: Vec<IpNet>,
    /// Replaces the built-in bogon ASN ranges when given.
    pub asns: Option<Vec<AsnRange>>,
}

/// An inclusive ASN range; a single ASN has `first == last`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct AsnRange {
    pub first: Asn,
    pub last: Asn,
}

impl AsnRange {
    pub fn contains(&self, asn: Asn) -> bool {
        self.first <= asn && asn <= self.last
    }
}

/// `[peerlock]`.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct PeerlockConfig {
    /// Protected (transit-free) ASNs; replaces the built-in list when given.
    pub protected: Option<Vec<Asn>>,
}

/// Whether a peer's verdicts are applied.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Deserialize, Default)]
#[serde(rename_all = "kebab-case")]
pub enum Mode {
    /// Rejected routes are dropped.
    #[default]
    Enforce,
    /// Every check runs and rejections are counted, logged and tagged, but routes pass.
    Observe,
}

/// What a tripped max-prefix limit or burst guard does (DESIGN §3): `warn`, `drop-excess` or
/// `teardown` (default). One type with the policy engine's, so a config value needs no mapping.
pub use crate::policy::max_prefix::Action as MaxPrefixAction;
/// Which routes count toward a max-prefix limit: `received` (default, pre-policy) or `accepted`.
pub use crate::policy::max_prefix::CountMode;

/// The default cap of a session's restart backoff (peer key `idle_hold_max`): BIRD's default
/// `error wait time 60, 300` caps at the same 300 s.
pub const IDLE_HOLD_MAX: Duration = Duration::from_secs(300);

/// `max_prefix_in` / `max_prefix_out`. The default (key absent) has no limit for either family.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MaxPrefixConfig {
    pub ipv4: Option<u32>,
    pub ipv6: Option<u32>,
    /// Percent of the limit at which a warning is logged. Default 90.
    pub warn_at: u8,
    pub count: CountMode,
    pub action: MaxPrefixAction,
    /// After a teardown, reconnect after this long; `None` = stay down until cleared by hand.
    pub restart_after: Option<Duration>,
}

impl Default for MaxPrefixConfig {
    fn default() -> Self {
        MaxPrefixConfig {
            ipv4: None,
            ipv6: None,
            warn_at: 90,
            count: CountMode::Received,
            action: MaxPrefixAction::Teardown,
            restart_after: None,
        }
    }
}

impl MaxPrefixConfig {
    pub fn limit(&self, afi: Afi) -> Option<u32> {
        match afi {
            Afi::Ipv4 => self.ipv4,
            Afi::Ipv6 => self.ipv6,
        }
    }
}

/// `burst_guard`: the shape of the 2017 leak — many new prefixes, or many more-specifics of
/// known prefixes, in one minute. At least one of the two rates is set.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BurstGuardConfig {
    pub new_prefixes_per_min: Option<u32>,
    pub more_specifics_per_min: Option<u32>,
    pub action: MaxPrefixAction,
    pub restart_after: Option<Duration>,
}

/// A secret that never shows in `Debug` output or logs.
#[derive(Clone, PartialEq, Eq)]
pub struct Secret(String);

impl Secret {
    pub fn new(s: impl Into<String>) -> Secret {
        Secret(s.into())
    }
    /// The secret itself, for the one place that hands it to the kernel.
    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Secret(***)")
    }
}

/// The next hops a neighbor is sent, per family: the router's own addresses on the link to that
/// neighbor (RFC 4271 §5.1.3 third-party next hop), so traffic never passes through bgpsieve.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct NextHops {
    pub ipv4: Option<std::net::Ipv4Addr>,
    pub ipv6: Option<std::net::Ipv6Addr>,
    /// The router's link-local address on the link (RFC 2545 §3), sent beside `ipv6`.
    pub ipv6_link_local: Option<std::net::Ipv6Addr>,
}

impl NextHops {
    pub fn is_empty(&self) -> bool {
        self.ipv4.is_none() && self.ipv6.is_none() && self.ipv6_link_local.is_none()
    }
}

/// `router = { ... }` of a `[[peer]]`: the session toward the operator's router on which
/// bgpsieve speaks as this neighbor (DESIGN §1). The router keeps its whole configuration for
/// the neighbor and only changes the neighbor's address to `local_address`.
#[derive(Debug, Clone, PartialEq)]
pub struct RouterConfig {
    /// The router's address.
    pub address: IpAddr,
    /// bgpsieve's own address toward the router for this neighbor: the address the router
    /// configures as the neighbor's. One per pair (BIRD matches sessions by remote address,
    /// GoBGP holds one session per remote host).
    pub local_address: IpAddr,
    /// The router's port. Default 179.
    pub port: u16,
    /// Wait for the router to connect. Default false.
    pub passive: bool,
    /// The operator's AS as the router uses it toward this neighbor (a `local-as` migration).
    /// Default the global asn.
    pub asn: Asn,
    pub md5_password: Option<Secret>,
    pub ttl_security: bool,
}

/// One `[[peer]]`: a neighbor, the pair of sessions bgpsieve holds for it (toward the neighbor
/// and toward the router) and the policy applied to it.
#[derive(Debug, Clone, PartialEq)]
pub struct PeerConfig {
    /// Label in logs, metrics and the API; unique.
    pub name: String,
    pub role: Role,
    pub asn: Asn,
    pub address: IpAddr,
    pub local_address: Option<IpAddr>,
    /// The neighbor's port. Default 179.
    pub port: u16,
    /// Wait for the neighbor to connect. Default false.
    pub passive: bool,
    /// Families offered on the session. Default IPv4 and IPv6.
    pub afi: Vec<Afi>,
    pub mode: Mode,
    /// Reason codes whose checks do not run for this peer.
    pub checks_disable: Vec<Reason>,
    /// 64512–65534 and 4200000000–4294967294 in paths are not bogons. Default false.
    pub allow_private_asn: bool,
    /// bgpq4 JSON / RPSL files; empty = no `irr-unregistered` check.
    pub irr: Vec<PathBuf>,
    pub max_prefix_in: MaxPrefixConfig,
    pub max_prefix_out: MaxPrefixConfig,
    pub burst_guard: Option<BurstGuardConfig>,
    /// RFC 9234 strict mode. Default false.
    pub role_strict: bool,
    /// Wait before reconnecting after an error. Default 5 s.
    pub idle_hold: Duration,
    /// The cap of the restart backoff: each failure after the OPEN exchange doubles the wait,
    /// up to this. Default 300 s; a value below `idle_hold` means `idle_hold` (no growth).
    pub idle_hold_max: Duration,
    /// ConnectRetryTime (RFC 4271 §10): the wait before the next connection attempt after one
    /// failed or was closed before the OPEN exchange. Default 30 s (the RFC suggests 120 s,
    /// which leaves a neighbor that briefly refuses connections down for two minutes).
    pub connect_retry: Duration,
    /// TCP-MD5 key (RFC 2385); an empty string in the file means none.
    pub md5_password: Option<Secret>,
    /// GTSM (RFC 5082). Default false.
    pub ttl_security: bool,
    /// Next hops sent to this neighbor (the router's addresses on the link to it); a family
    /// without one keeps the router's next hop, unchanged.
    pub next_hop: NextHops,
    /// The router side of this neighbor's pair; always there in a configuration loaded for the
    /// daemon, possibly absent in one loaded for `replay`.
    pub router: Option<RouterConfig>,
    /// Accepted IPv4 prefix lengths, inclusive. Default (8, 24).
    pub prefix_length_v4: (u8, u8),
    /// Accepted IPv6 prefix lengths, inclusive. Default (16, 48).
    pub prefix_length_v6: (u8, u8),
    /// Most ASNs allowed in a path. Default 64.
    pub max_path_length: usize,
    /// Most communities (standard + large + extended) allowed; `None` = no limit.
    pub max_communities: Option<usize>,
    /// The `next-hop` check also requires the next hop to be the neighbor's address.
    pub next_hop_is_neighbor: bool,
    /// Protected ASNs allowed as this neighbor's upstreams.
    pub peerlock_allow: Vec<Asn>,
    /// RPKI-Valid routes count as registered for `irr-unregistered`.
    pub irr_roas_as_routes: bool,
    /// RFC 7999 BLACKHOLE (`blackhole = { … }`). Default: accepted from a customer or an RS
    /// client inside its authorized space, up to /32 and /128.
    pub blackhole: BlackholePolicy,
    /// Administratively down (`shutdown = true` or `"message"`): the pair starts down and
    /// stays down until `bgpsieve ctl neighbor NAME up` or a reload that clears the key; the
    /// text is the RFC 8203/9003 shutdown communication sent to the neighbor (empty: none).
    pub shutdown: Option<String>,
}

/// The most bytes of a shutdown communication (RFC 9003 §2: up to 255 octets of UTF-8).
pub const MAX_SHUTDOWN_MESSAGE: usize = 255;

/// Whether `message` can go whole in an Administrative Shutdown NOTIFICATION: at most
/// [`MAX_SHUTDOWN_MESSAGE`] bytes, no control characters (they would garble the peer's logs).
pub fn check_shutdown_message(message: &str) -> Result<(), String> {
    if message.len() > MAX_SHUTDOWN_MESSAGE {
        return Err(format!(
            "the message is {} bytes; a shutdown communication holds at most {MAX_SHUTDOWN_MESSAGE} \
             (RFC 9003)",
            message.len()
        ));
    }
    if message.chars().any(char::is_control) {
        return Err("the message holds a control character (a line break, a tab…)".into());
    }
    Ok(())
}

impl PeerConfig {
    /// Every reason code whose check runs for this peer (all but `checks_disable`).
    pub fn enabled_checks(&self) -> ReasonSet {
        let mut s = ReasonSet::all();
        for r in &self.checks_disable {
            s.remove(*r);
        }
        s
    }

    pub fn max_prefix(&self, direction: crate::types::Direction) -> &MaxPrefixConfig {
        match direction {
            crate::types::Direction::In => &self.max_prefix_in,
            crate::types::Direction::Out => &self.max_prefix_out,
        }
    }
}

#[cfg(test)]
mod tests;
