//! What the API shows of the daemon's state, as plain data: the RIB thread and the data task
//! fill these, the API serializes them as they are, and `ctl` reads them back.
//! No logic beyond small conversions; field names are part of the API (DESIGN §7).

use crate::policy::{Action, Trip, TripKind};
use crate::types::{Afi, Asn, Direction, PerAfi, Role};
use serde::{Deserialize, Serialize};
use std::net::IpAddr;

/// Route counts by address family (`{"ipv4": N, "ipv6": N}`).
pub type AfiCounts = PerAfi<u64>;

/// The BGP session's state as an operator sees it.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum SessionState {
    Established,
    /// Not Established: connecting, or waiting to reconnect.
    #[default]
    Down,
    /// Held down on purpose: a max-prefix teardown without restart, or an administrative
    /// shutdown (`shutdown` of the [`PeerView`] says which).
    Stopped,
}

impl SessionState {
    pub fn as_str(self) -> &'static str {
        match self {
            SessionState::Established => "established",
            SessionState::Down => "down",
            SessionState::Stopped => "stopped",
        }
    }
}

/// The max-prefix / burst-guard state of a peer (both directions folded: the worse one).
pub use crate::policy::LimitState;

/// The last time a limit was exceeded.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct LastTrip {
    /// Unix seconds.
    pub at: i64,
    pub direction: Direction,
    /// `limit`, `burst-new` or `burst-more-specific` (the `TripKind` names).
    pub kind: String,
    /// The family whose count passed its limit (`limit` trips only).
    pub afi: Option<Afi>,
    pub limit: u64,
    pub count: u64,
    pub action: Action,
}

impl LastTrip {
    /// The view of a trip of the limit state machine (whose clock is unix seconds in the daemon).
    pub fn from_trip(trip: &Trip, direction: Direction) -> LastTrip {
        let (kind, afi, limit, count) = match trip.kind {
            TripKind::Limit { afi, limit, count } => {
                ("limit", Some(afi), limit as u64, count as u64)
            }
            TripKind::BurstNew { limit, count } => {
                ("burst-new", None, u64::from(limit), u64::from(count))
            }
            TripKind::BurstMoreSpecific { limit, count } => (
                "burst-more-specific",
                None,
                u64::from(limit),
                u64::from(count),
            ),
        };
        LastTrip {
            at: i64::try_from(trip.at).unwrap_or(i64::MAX),
            direction,
            kind: kind.to_string(),
            afi,
            limit,
            count,
            action: trip.action,
        }
    }
}

/// `max_prefix` of a [`PeerView`].
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct MaxPrefixView {
    pub state: LimitState,
    /// When a session torn down by a limit may come back (unix s); `null` with state `down`
    /// means: until `bgpsieve ctl clear`.
    pub down_until: Option<i64>,
    pub last_trip: Option<LastTrip>,
}

/// The router side of a pair: the session on which bgpsieve speaks to the router as the
/// neighbor.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RouterView {
    /// The router's address.
    pub address: IpAddr,
    /// bgpsieve's own address toward the router for this neighbor.
    pub local_address: IpAddr,
    pub state: SessionState,
    /// Unix seconds of the last state change (`null`: never up since start).
    pub since: Option<i64>,
    /// Routes the router announced for this neighbor, before the export checks.
    pub routes_in: AfiCounts,
    /// Routes sent to the router: the neighbor's routes that pass.
    pub routes_out: AfiCounts,
    /// The router side's session: FSM state, flaps, last error.
    #[serde(default)]
    pub session: crate::bgp::diag::SessionDiag,
}

impl RouterView {
    pub fn new(address: IpAddr, local_address: IpAddr) -> RouterView {
        RouterView {
            address,
            local_address,
            state: SessionState::Down,
            since: None,
            routes_in: AfiCounts::default(),
            routes_out: AfiCounts::default(),
            session: crate::bgp::diag::SessionDiag::default(),
        }
    }
}

/// One configured peer (a pair): `GET /api/v1/peers` and `/api/v1/peers/{name}`. The top-level
/// session fields are the neighbor side's.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PeerView {
    pub name: String,
    pub role: Role,
    pub asn: Asn,
    pub address: IpAddr,
    pub state: SessionState,
    /// Unix seconds of the last state change (`null`: never up since start).
    pub since: Option<i64>,
    /// Routes held from the neighbor, before policy.
    pub routes_in: AfiCounts,
    /// Of those, the accepted ones.
    pub accepted_in: AfiCounts,
    /// Routes announced to the neighbor (the router's routes that pass).
    pub routes_out: AfiCounts,
    /// Routes held from the neighbor that policy rejects.
    pub rejected_in: u64,
    /// Routes of the router withheld from this neighbor by export policy.
    pub rejected_out: u64,
    pub max_prefix: MaxPrefixView,
    /// The neighbor side's session: FSM state, flaps, last error.
    #[serde(default)]
    pub session: crate::bgp::diag::SessionDiag,
    pub router: RouterView,
    /// The administrative shutdown in force (`bgpsieve ctl neighbor NAME down`, or the
    /// `shutdown` key); `null` when there is none.
    #[serde(default)]
    pub shutdown: Option<ShutdownView>,
}

/// An administrative shutdown in force.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ShutdownView {
    /// The shutdown communication sent to the neighbor (RFC 8203/9003; empty: none).
    pub message: String,
    /// Unix seconds since when.
    pub since: i64,
    /// Set by the configuration's `shutdown` key (else by `bgpsieve ctl neighbor NAME down`).
    pub configured: bool,
}

impl PeerView {
    /// A pair as configured, before its sessions have done anything.
    pub fn new(
        name: impl Into<String>,
        role: Role,
        asn: Asn,
        address: IpAddr,
        router: RouterView,
    ) -> PeerView {
        PeerView {
            name: name.into(),
            role,
            asn,
            address,
            state: SessionState::Down,
            since: None,
            routes_in: AfiCounts::default(),
            accepted_in: AfiCounts::default(),
            routes_out: AfiCounts::default(),
            rejected_in: 0,
            rejected_out: 0,
            max_prefix: MaxPrefixView::default(),
            session: crate::bgp::diag::SessionDiag::default(),
            router,
            shutdown: None,
        }
    }
}

/// One RTR cache.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct CacheStatus {
    /// As configured (`host:port`).
    pub address: String,
    pub up: bool,
    /// Negotiated RTR protocol version.
    pub version: Option<u8>,
    pub session_id: Option<u16>,
    pub serial: Option<u32>,
    /// Unix seconds of the last state or serial change.
    pub last_change: Option<i64>,
    /// Unix seconds of the last End of Data from this cache (the data confirmed current).
    #[serde(default)]
    pub last_sync: Option<i64>,
    /// Unix seconds when this cache's data last changed (a new serial or session).
    #[serde(default)]
    pub last_update: Option<i64>,
    /// Seconds since `last_update`, at the time of the answer.
    #[serde(default)]
    pub age_s: Option<i64>,
    /// The session and serial of the last End of Data, to tell a change from a confirmation.
    #[serde(skip)]
    pub data_serial: Option<(u16, u32)>,
}

/// One RPKI file (VRPs, ASPAs, SLURM).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct FileStatus {
    pub path: String,
    /// Unix seconds of the last successful load.
    pub loaded_at: Option<i64>,
    /// Unix seconds of the file's modification time at that load: how old its data is.
    #[serde(default)]
    pub modified: Option<i64>,
    /// Seconds since `modified`, at the time of the answer.
    #[serde(default)]
    pub age_s: Option<i64>,
    /// The last load's error; the data of the load before stays in use.
    pub error: Option<String>,
}

/// The circuit breaker's state (DESIGN §4: `max_shrink_percent`).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct CircuitBreakerStatus {
    pub held: bool,
    /// Unix seconds since when an update is held.
    pub since: Option<i64>,
    pub why: Option<String>,
}

/// `GET /api/v1/rpki`.
impl RpkiStatus {
    /// Fills each source's `age_s` for an answer at unix time `now`.
    pub fn with_ages(mut self, now: i64) -> RpkiStatus {
        for c in &mut self.caches {
            c.age_s = c.last_update.map(|t| now.saturating_sub(t));
        }
        for f in &mut self.files {
            f.age_s = f.modified.map(|t| now.saturating_sub(t));
        }
        self
    }
}

#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct RpkiStatus {
    /// The daemon is in its start-up wait for the first RTR data (at most 10 s): no session
    /// has started yet and `explain` answers 503.
    #[serde(default)]
    pub starting: bool,
    pub vrps_v4: u64,
    pub vrps_v6: u64,
    pub aspas: u64,
    /// Generation of the RPKI data in force.
    pub generation: u64,
    /// Unix seconds when the data in force was put in force.
    pub last_update: Option<i64>,
    pub caches: Vec<CacheStatus>,
    pub files: Vec<FileStatus>,
    pub circuit_breaker: CircuitBreakerStatus,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ages_are_seconds_since_the_last_change_at_the_time_of_the_answer() {
        let status = RpkiStatus {
            caches: vec![
                CacheStatus {
                    last_update: Some(1_000),
                    ..CacheStatus::default()
                },
                CacheStatus::default(),
            ],
            files: vec![FileStatus {
                modified: Some(400),
                ..FileStatus::default()
            }],
            ..RpkiStatus::default()
        }
        .with_ages(1_600);
        assert_eq!(status.caches[0].age_s, Some(600));
        assert_eq!(status.caches[1].age_s, None, "no data yet: no age");
        assert_eq!(status.files[0].age_s, Some(1_200));
    }
}
