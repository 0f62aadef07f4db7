//! RTR client: VRPs and ASPAs from RPKI caches over the RPKI-to-Router protocol — RFC 6810
//! (version 0), RFC 8210 (version 1) and draft-ietf-sidrops-8210bis (version 2, with ASPA) — as
//! one tokio task that keeps a session with the most preferred cache that works and tells its
//! owner every complete change as an [`RtrEvent`].
//!
//! Layers: [`pdu`] is the wire codec, `session` the sans-IO state machine of one connection over
//! a persistent store (session ID, serial, data set), `client` the task (connect, timers,
//! failover, expiry). Our own codec rather than the `rpki` crate's client, because that one does
//! not reconnect or expire, refuses ASPA withdrawals without providers (8210bis ≥ -21), and does
//! not read the draft-10 ASPA layout that StayRTR 0.5.x sends (DESIGN §9).
//!
//! What it does, with the RFC sections:
//! - Version negotiation from 2 down (RFC 8210 §7): an Unsupported Protocol Version Error Report
//!   before the first answer means "reconnect one version lower"; an answer in a lower version is
//!   adopted. A session is continued in the version it was made with.
//! - A reconnect keeps `(session_id, serial, data)`: the next connection to the same cache sends
//!   a Serial Query (§8.2). Cache Reset, a stale session, or any protocol error → Reset Query, and
//!   its End of Data replaces the data whole (`RtrDelta::reset`).
//! - The data's VRPs are a compact sorted [`VrpSet`] that each delta shares with its receiver
//!   ([`RtrDelta::vrps`]): one copy for the session's checks (RFC 8210 §5.6) and the feed.
//! - Timers from End of Data (§6; v0: 3600/600/7200): a Serial Query every `refresh`, at once on
//!   Serial Notify (§5.2) or [`RtrHandle::refresh`]; `retry` between failed rounds.
//! - Failover over the caches in preference order; while on a less preferred cache, every `retry`
//!   it tries to sync the more preferred ones in the background and switches when one completes
//!   a reset (so the switch never leaves a gap).
//! - Expiry: no good End of Data for `expire` ([`RtrClientConfig::expire`], else the cache's) →
//!   [`RtrEvent::Expired`] once; the client then forgets its data, so the next data is a reset.
//!
//! It must not: emit anything but complete End-of-Data-consistent deltas, panic on any bytes a
//! cache sends (PDUs are bounded to [`pdu::MAX_PDU_LEN`]), or decide what expiry means for
//! routing (the owner fails open or holds, per config). Router Key PDUs are read and ignored.

pub mod pdu;

mod client;
mod session;

use crate::rpki::{Aspa, Vrp, VrpSet};
use crate::types::Asn;
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::mpsc;
use tokio::task::JoinHandle;

/// One cache in preference order.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RtrCache {
    /// `HOST:PORT` (`[IPv6]:PORT` for literals), resolved each time it is connected.
    pub address: String,
}

/// How the client runs.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RtrClientConfig {
    /// Most preferred first (see `RpkiConfig::rtr_in_preference_order`).
    pub caches: Vec<RtrCache>,
    /// Override of the caches' expire interval (`RpkiConfig::expire`).
    pub expire: Option<Duration>,
    /// TCP connect timeout, e.g. 10 s. A connection on which the cache stays silent for three
    /// times this while a query is out is dropped too.
    pub connect_timeout: Duration,
}

/// What the client tells its owner.
#[derive(Debug, Clone, PartialEq)]
pub enum RtrEvent {
    /// A complete, consistent change (one End of Data). Sent for every End of Data, also when
    /// nothing changed (the serial did).
    Data(RtrDelta),
    /// No cache delivered data for the expire interval. Sent once; the next `Data` after it is a
    /// reset.
    Expired,
    /// A connection state change, for logs/metrics/API.
    Status(RtrStatus),
}

/// A VRP as RTR carries it (RFC 8210 §5.6 identifies one by prefix, max length and origin): 24
/// bytes where a [`Vrp`] with its trust anchor and expiry is 64, which counts for a full set of
/// ~800k.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct RtrVrp {
    pub prefix: ipnet::IpNet,
    pub max_len: u8,
    pub asn: Asn,
}

impl From<RtrVrp> for Vrp {
    fn from(v: RtrVrp) -> Vrp {
        Vrp {
            prefix: v.prefix,
            max_len: v.max_len,
            asn: v.asn,
            ta: None,
            expires: None,
        }
    }
}

/// One End of Data's worth of change. Net: a record announced and withdrawn within one response
/// does not appear. Lists are sorted.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RtrDelta {
    /// Index in [`RtrClientConfig::caches`].
    pub cache: usize,
    /// `true`: `vrps_announced`/`aspas` are the whole data set (replace everything); the
    /// withdrawn lists are then empty.
    pub reset: bool,
    /// Protocol version of the session.
    pub version: u8,
    pub session_id: u16,
    pub serial: u32,
    pub vrps_announced: Vec<RtrVrp>,
    pub vrps_withdrawn: Vec<RtrVrp>,
    /// The cache's whole VRP set after this End of Data: the client's own, shared (not a copy),
    /// so that the receiver need not keep another one. A delta holds its set: one kept (or left
    /// queued) after a newer one arrived keeps that older set in memory too.
    pub vrps: Arc<VrpSet>,
    /// Announced or replaced, per customer ASN: the customer's whole provider set (the union of
    /// its per-AFI records for caches sending the draft-10 layout).
    pub aspas: Vec<Aspa>,
    /// Customers whose ASPA is gone.
    pub aspas_withdrawn: Vec<Asn>,
}

impl RtrDelta {
    /// Whether the delta changes nothing (a serial bump).
    pub fn is_empty(&self) -> bool {
        !self.reset
            && self.vrps_announced.is_empty()
            && self.vrps_withdrawn.is_empty()
            && self.aspas.is_empty()
            && self.aspas_withdrawn.is_empty()
    }
}

/// A connection state change.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RtrStatus {
    /// Index in [`RtrClientConfig::caches`].
    pub cache: usize,
    /// `true` once a connection delivered its first End of Data; `false` when it ended or an
    /// attempt failed.
    pub up: bool,
    pub version: Option<u8>,
    pub session_id: Option<u16>,
    pub serial: Option<u32>,
    /// Human-readable reason, for logs.
    pub message: String,
}

/// Orders the client task accepts.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Command {
    Refresh,
    Shutdown,
}

/// The running client. Dropping it detaches the task (it then runs until the event receiver is
/// dropped); call [`RtrHandle::shutdown`] to stop it.
#[derive(Debug)]
pub struct RtrHandle {
    task: JoinHandle<()>,
    commands: mpsc::Sender<Command>,
}

impl RtrHandle {
    /// Asks for new data now (`ctl reload`): a Serial Query on the live session, or an immediate
    /// connection attempt if there is none.
    pub fn refresh(&self) {
        // Full means a command is already queued, which serves as well.
        let _ = self.commands.try_send(Command::Refresh);
    }

    /// Stops the client (closing its connection) and waits for the task to end.
    pub async fn shutdown(self) {
        let _ = self.commands.send(Command::Shutdown).await;
        let _ = self.task.await;
    }

    /// Whether the task has ended (shut down, or its event receiver was dropped).
    pub fn is_finished(&self) -> bool {
        self.task.is_finished()
    }
}

/// Starts the client on the current tokio runtime; it runs until [`RtrHandle::shutdown`] or until
/// `events`' receiver is dropped. With no caches configured it ends at once.
pub fn spawn(cfg: RtrClientConfig, events: mpsc::Sender<RtrEvent>) -> RtrHandle {
    let (commands, rx) = mpsc::channel(8);
    let task = tokio::spawn(client::run(cfg, events, rx));
    RtrHandle { task, commands }
}
