//! The file as serde sees it. Every table denies unknown keys. Values that are checked after
//! deserialization (prefixes, durations, ASNs, reason codes, file names…) keep their byte span
//! so that `validate` can report each problem at its place; plain types (bool, integers, IP
//! addresses, enums) are checked by serde and reported by `toml` with its span.

use super::{CountMode, MaxPrefixAction, Mode};
use crate::types::Afi;
use serde::de::{self, Deserializer, Visitor};
use serde::Deserialize;
use std::fmt;
use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use toml::Spanned;

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct RawConfig {
    pub global: RawGlobal,
    #[serde(default)]
    pub api: RawApi,
    #[serde(default)]
    pub rpki: RawRpki,
    #[serde(default)]
    pub bogons: RawBogons,
    #[serde(default)]
    pub peerlock: RawPeerlock,
    #[serde(default)]
    pub incidents: RawIncidents,
    #[serde(default)]
    pub graceful_restart: RawGracefulRestart,
    #[serde(default, rename = "peer")]
    pub peers: Vec<RawPeer>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct RawGlobal {
    pub asn: Spanned<IntOrString>,
    pub router_id: Spanned<Ipv4Addr>,
    pub listen: Option<Vec<SocketAddr>>,
    #[serde(default)]
    pub announce: Vec<Spanned<String>>,
    #[serde(default)]
    pub announce_irr: Vec<Spanned<String>>,
    pub hold_time: Option<Spanned<u16>>,
    pub state_dir: Option<Spanned<String>>,
}

#[derive(Deserialize, Default)]
#[serde(deny_unknown_fields)]
pub(super) struct RawApi {
    pub listen: Option<Spanned<SocketAddr>>,
    pub rejected_routes: Option<Spanned<usize>>,
}

#[derive(Deserialize, Default)]
#[serde(deny_unknown_fields)]
pub(super) struct RawGracefulRestart {
    pub enabled: Option<bool>,
    pub restart_time: Option<Spanned<String>>,
    pub stale_time: Option<Spanned<String>>,
}

#[derive(Deserialize, Default)]
#[serde(deny_unknown_fields)]
pub(super) struct RawIncidents {
    pub webhook: Option<Spanned<String>>,
    pub rejections_per_min: Option<Spanned<u32>>,
    pub keep: Option<Spanned<usize>>,
}

#[derive(Deserialize, Default)]
#[serde(deny_unknown_fields)]
pub(super) struct RawRpki {
    #[serde(default)]
    pub vrp_files: Vec<Spanned<String>>,
    #[serde(default)]
    pub aspa_files: Vec<Spanned<String>>,
    #[serde(default)]
    pub slurm_files: Vec<Spanned<String>>,
    #[serde(default)]
    pub rtr: Vec<RawRtr>,
    pub expire: Option<Spanned<String>>,
    pub max_shrink_percent: Option<Spanned<u8>>,
    pub max_shrink_hold: Option<Spanned<String>>,
    pub fail_open: Option<bool>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct RawRtr {
    pub address: Spanned<String>,
    pub preference: Option<u8>,
}

#[derive(Deserialize, Default)]
#[serde(deny_unknown_fields)]
pub(super) struct RawBogons {
    pub prefixes: Option<Vec<Spanned<String>>>,
    #[serde(default)]
    pub extra_prefixes: Vec<Spanned<String>>,
    pub asns: Option<Vec<Spanned<IntOrString>>>,
}

#[derive(Deserialize, Default)]
#[serde(deny_unknown_fields)]
pub(super) struct RawPeerlock {
    pub protected: Option<Vec<Spanned<IntOrString>>>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct RawPeer {
    pub name: Spanned<String>,
    /// Read as text so that the removed `router` role gets its own message.
    pub role: Spanned<String>,
    pub asn: Spanned<IntOrString>,
    pub address: Spanned<IpAddr>,
    pub local_address: Option<Spanned<IpAddr>>,
    pub port: Option<Spanned<u16>>,
    pub passive: Option<bool>,
    pub afi: Option<Spanned<Vec<Afi>>>,
    pub mode: Option<Mode>,
    #[serde(default)]
    pub checks_disable: Vec<Spanned<String>>,
    pub allow_private_asn: Option<bool>,
    #[serde(default)]
    pub irr: Vec<Spanned<String>>,
    pub max_prefix_in: Option<RawMaxPrefix>,
    pub max_prefix_out: Option<RawMaxPrefix>,
    pub burst_guard: Option<Spanned<RawBurstGuard>>,
    pub role_strict: Option<bool>,
    pub idle_hold: Option<Spanned<String>>,
    pub idle_hold_max: Option<Spanned<String>>,
    pub connect_retry: Option<Spanned<String>>,
    pub md5_password: Option<Spanned<String>>,
    pub ttl_security: Option<bool>,
    pub next_hop: Option<Spanned<OneOrMany<IpAddr>>>,
    pub router: Option<Spanned<RawRouter>>,
    pub prefix_length_v4: Option<Spanned<Vec<u8>>>,
    pub prefix_length_v6: Option<Spanned<Vec<u8>>>,
    pub max_path_length: Option<Spanned<u16>>,
    pub max_communities: Option<u32>,
    pub next_hop_is_neighbor: Option<Spanned<bool>>,
    #[serde(default)]
    pub peerlock_allow: Vec<Spanned<IntOrString>>,
    pub irr_roas_as_routes: Option<bool>,
    pub blackhole: Option<Spanned<RawBlackhole>>,
    pub shutdown: Option<Spanned<Shutdown>>,
}

/// `blackhole = { accept = true, max_length_v4 = 32, max_length_v6 = 128 }`: RFC 7999.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct RawBlackhole {
    pub accept: Option<Spanned<bool>>,
    pub max_length_v4: Option<Spanned<u8>>,
    pub max_length_v6: Option<Spanned<u8>>,
}

/// The router side of a pair: where bgpsieve meets the operator's router as this neighbor.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct RawRouter {
    pub address: Spanned<IpAddr>,
    pub local_address: Spanned<IpAddr>,
    pub port: Option<Spanned<u16>>,
    pub passive: Option<bool>,
    pub asn: Option<Spanned<IntOrString>>,
    pub md5_password: Option<Spanned<String>>,
    pub ttl_security: Option<bool>,
}

/// A value or a list of values (`next_hop = "192.0.2.1"` or `next_hop = ["192.0.2.1", "2001:db8::1"]`).
#[derive(Deserialize)]
#[serde(untagged)]
pub(super) enum OneOrMany<T> {
    One(T),
    Many(Vec<T>),
}

impl<T> OneOrMany<T> {
    pub fn as_slice(&self) -> &[T] {
        match self {
            OneOrMany::One(v) => std::slice::from_ref(v),
            OneOrMany::Many(v) => v,
        }
    }
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct RawMaxPrefix {
    pub ipv4: Option<u32>,
    pub ipv6: Option<u32>,
    pub warn_at: Option<Spanned<u8>>,
    pub count: Option<CountMode>,
    pub action: Option<MaxPrefixAction>,
    pub restart_after: Option<Spanned<String>>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct RawBurstGuard {
    pub new_prefixes_per_min: Option<Spanned<u32>>,
    pub more_specifics_per_min: Option<Spanned<u32>>,
    pub action: Option<MaxPrefixAction>,
    pub restart_after: Option<Spanned<String>>,
}

/// `shutdown = true`, `false` or `"a message"` (RFC 8203/9003 shutdown communication).
pub(super) enum Shutdown {
    Flag(bool),
    Message(String),
}

impl<'de> Deserialize<'de> for Shutdown {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl Visitor<'_> for V {
            type Value = Shutdown;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("true, false or a shutdown message (\"maintenance until 14:00 UTC\")")
            }
            fn visit_bool<E: de::Error>(self, v: bool) -> Result<Shutdown, E> {
                Ok(Shutdown::Flag(v))
            }
            fn visit_str<E: de::Error>(self, v: &str) -> Result<Shutdown, E> {
                Ok(Shutdown::Message(v.to_string()))
            }
        }
        d.deserialize_any(V)
    }
}

/// ASNs may be written as integers (`64500`) or strings (`"AS64500"`, `"1.10"`, and ranges
/// `"64496-131071"` where a range is allowed); the text is interpreted by `validate`.
pub(super) enum IntOrString {
    Int(i64),
    Str(String),
}

impl<'de> Deserialize<'de> for IntOrString {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl Visitor<'_> for V {
            type Value = IntOrString;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("an AS number (64500 or \"AS64500\")")
            }
            fn visit_i64<E: de::Error>(self, v: i64) -> Result<IntOrString, E> {
                Ok(IntOrString::Int(v))
            }
            fn visit_u64<E: de::Error>(self, v: u64) -> Result<IntOrString, E> {
                Ok(IntOrString::Int(i64::try_from(v).unwrap_or(i64::MAX)))
            }
            fn visit_str<E: de::Error>(self, v: &str) -> Result<IntOrString, E> {
                Ok(IntOrString::Str(v.to_string()))
            }
        }
        d.deserialize_any(V)
    }
}
