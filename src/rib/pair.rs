//! One pair's state: its two sessions' negotiated parameters and its two flows, each an
//! Adj-RIB-In with its limits, split by direction (import: from the neighbor; export: from the
//! router). No wire format: the sessions encode.

use super::ImportTable;
use crate::bgp::open::Negotiated;
use crate::config::NextHops;
use crate::policy::{MaxPrefixState, PeerPolicy};
use crate::types::{Asn, Direction, PerDirection, PerSide, Role, Side};
use std::net::IpAddr;

/// The routes received on one side of a pair, on their way to the other side.
pub struct Flow {
    /// Every route received, pre-policy, with its verdict, and the limits counting them
    /// (`max_prefix_in` and the burst guard for the import flow, `max_prefix_out` for the
    /// export flow).
    pub table: ImportTable,
    /// Routes rejected so far, for the API.
    pub rejected: u64,
    /// Routes kept from a session that ended gracefully, until it sends them again (RFC 4724).
    pub stale: Option<super::graceful::Stale>,
    /// The families whose End-of-RIB came on the sending side's current session.
    pub end_of_rib: Vec<crate::types::Afi>,
}

impl Flow {
    /// An empty flow of direction `d`, without limits.
    pub fn new(d: Direction) -> Flow {
        Flow {
            table: ImportTable::new(d, MaxPrefixState::default()),
            rejected: 0,
            stale: None,
            end_of_rib: Vec::new(),
        }
    }
}

/// A neighbor, its pair of sessions and the routes flowing through it.
pub struct Pair {
    pub name: String,
    pub role: Role,
    /// The neighbor's AS.
    pub asn: Asn,
    /// The operator's AS as the router uses it toward this neighbor.
    pub local_asn: Asn,
    pub policy: PeerPolicy,
    /// The next hops the neighbor is sent (the router's link addresses).
    pub next_hop: NextHops,
    /// The router's address, and bgpsieve's own toward it for this pair (for the views).
    pub router_address: IpAddr,
    pub router_local_address: IpAddr,
    /// What each side's session negotiated, while it is up.
    pub sessions: PerSide<Option<Negotiated>>,
    /// Each side's session generation (what `Outbound::generation` must name).
    pub generation: PerSide<u64>,
    /// `inbound`: from the neighbor (import checks); `outbound`: from the router (export).
    pub flows: PerDirection<Flow>,
    /// Each side's session diagnostics (FSM state, flaps, last error), written by its task.
    pub diag: PerSide<crate::bgp::diag::DiagHandle>,
    /// End-of-RIB owed to each side: it goes once the other side's has come (DESIGN §1).
    pub eor_owed: PerSide<Option<super::graceful::Owed>>,
    /// Administratively down (`bgpsieve ctl neighbor NAME down`, or the `shutdown` key).
    pub shutdown: Option<super::control::Shutdown>,
    /// The configuration's `shutdown` key (its message) while it is set.
    pub shutdown_configured: Option<String>,
    /// Removed from the configuration by a reload: its slot is retired, it holds no routes and
    /// its sessions' events are dropped.
    pub gone: bool,
}

impl Pair {
    pub fn new(name: String, role: Role, asn: Asn, local_asn: Asn, policy: PeerPolicy) -> Pair {
        Pair {
            name,
            role,
            asn,
            local_asn,
            policy,
            next_hop: NextHops::default(),
            router_address: IpAddr::from([0, 0, 0, 0]),
            router_local_address: IpAddr::from([0, 0, 0, 0]),
            sessions: PerSide::default(),
            generation: PerSide::default(),
            flows: PerDirection::new(Flow::new),
            diag: PerSide::default(),
            eor_owed: PerSide::default(),
            shutdown: None,
            shutdown_configured: None,
            gone: false,
        }
    }

    pub fn is_up(&self, side: Side) -> bool {
        self.sessions[side].is_some()
    }

    /// Whether routes of flow `d` with path identifiers come from a session that sends them.
    pub fn add_path(&self, d: Direction) -> bool {
        let side = match d {
            Direction::In => Side::Neighbor,
            Direction::Out => Side::Router,
        };
        self.sessions[side]
            .as_ref()
            .is_some_and(|s| !s.add_path_receive.is_empty())
    }
}
