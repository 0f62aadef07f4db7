//! The route state of every pair (DESIGN §1), and what moves where. Sans-IO: `Rib::handle` takes
//! one event from a session and returns what to send to which session; the daemon's RIB thread
//! owns it and does the I/O. No wire format lives here: routes go out as values and each session
//! encodes them for its own negotiated parameters.
//!
//! A pair holds two flows, one per direction: the routes the neighbor sent (import: checked on
//! the way to the router) and the routes the router sent for this neighbor (export: checked on
//! the way to the neighbor). Each flow keeps every route pre-policy with its verdict (an
//! Adj-RIB-In) and its limits; what the other side was sent is derived from it (a route passes
//! when accepted, or in observe mode), so a data or policy change checks the stored routes again
//! and sends only the differences. Pairs are independent: no route crosses from one pair to
//! another here, no best path is chosen, and transit between neighbors is the router's own
//! decision, made on its own sessions.
//!
//! Module map: `pair` (one pair's state), `flow` (a route received on one side, on its way to
//! the other: checks, what the limits' outcome means for the daemon, what to send), `import`
//! (the import step shared with replay: the table, its limits, the index of known prefixes),
//! `reevaluate` (data and policy changes), `ops` (metrics and API views), `incident` (leak
//! incidents), `adj_in` (the route table).

use crate::bgp::fsm::DownReason;
use crate::bgp::notification::Notification;
use crate::bgp::open::Negotiated;
use crate::bgp::session::FromSession;
use crate::bgp::update::{Nlri, Outbound, PathAttributes};
use crate::policy::{LocalPolicy, Verdict};
use crate::rpki::RpkiData;
use crate::types::{Afi, Direction, SessionId, Side};
use crate::unix_now;
use std::sync::Arc;

mod adj_in;
mod control;
mod flow;
mod graceful;
pub mod import;
mod incident;
mod ops;
mod pair;
mod reevaluate;
pub mod rejected;
pub mod routes;
mod table;
#[cfg(test)]
mod tests;
pub mod views;

pub use adj_in::AdjRibIn;
pub use control::{NeighborError, NeighborOrder, Refresh, Shutdown};
pub use import::{ImportTable, KnownIndex};
pub use incident::{
    check_comment, yes_no, Changes as IncidentChanges, Comment, FollowUp, Impact, Incident,
    IncidentOrder, Incidents, Marks, OrderError, Report, Space, Who,
};
pub use ops::Ops;
pub use pair::{Flow, Pair};
pub use reevaluate::{PairReconfig, PolicyUpdate, Reconfigure, Reevaluation};

/// Large-community function numbers (`LOCAL_AS:FUNCTION:VALUE`) on routes sent to the router.
pub mod community {
    /// `LOCAL_AS:1101:REASON_NUMBER` on a route passed in observe mode despite failing a check.
    pub const REJECT_REASON: u32 = 1101;
}

/// One route in a flow, with the verdict it got.
#[derive(Debug, Clone)]
pub struct InRoute {
    pub attrs: Arc<PathAttributes>,
    pub verdict: Verdict,
}

impl InRoute {
    /// Passed on to the other side: accepted, or failing only in observe mode.
    pub fn passes(&self, observe: bool) -> bool {
        self.verdict.accepted() || observe
    }
}

/// The pairs a reload adds (each in the next slot, in order) and removes (by slot).
pub struct PairsChange {
    pub added: Vec<Pair>,
    pub removed: Vec<usize>,
}

impl std::fmt::Debug for PairsChange {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let added: Vec<&str> = self.added.iter().map(|p| p.name.as_str()).collect();
        f.debug_struct("PairsChange")
            .field("added", &added)
            .field("removed", &self.removed)
            .finish()
    }
}

/// What the RIB thread receives.
#[derive(Debug)]
pub enum RibEvent {
    Session(FromSession),
    /// New RPKI data in force: the routes its delta touches are checked again.
    Rpki(crate::rpki::feed::Update),
    /// New policies in force (IRR prefix lists reloaded): the routes they touch are checked
    /// again.
    Policy(PolicyUpdate),
    /// A reloaded configuration's policy changes.
    Reconfigure(Reconfigure),
    /// A reload added pairs (each in the next slot, in order) or removed them (their slots).
    /// The removed pairs' sessions have been told to close (Cease/3 Peer De-configured), which
    /// takes their routes off the router and the neighbor.
    Pairs(PairsChange),
    /// A second has passed (the views are refreshed even when nothing else happens).
    Tick,
    /// An operator clears the named pair (`bgpsieve ctl clear`): a session held down by a
    /// limit starts again. The answer says what happened, or why nothing did.
    Clear {
        peer: String,
        answer: tokio::sync::oneshot::Sender<Result<String, String>>,
    },
    /// An operator's order for one pair (`bgpsieve ctl neighbor NAME down|up|refresh`), or a
    /// reload that changed its `shutdown` key. The answer says what happened, or why not.
    Neighbor {
        peer: String,
        order: NeighborOrder,
        answer: tokio::sync::oneshot::Sender<Result<String, NeighborError>>,
    },
    /// An operator marks or comments an incident (`bgpsieve ctl incident mark|comment`).
    Incident {
        order: IncidentOrder,
        answer: tokio::sync::oneshot::Sender<Result<String, OrderError>>,
    },
    /// An operator asks for routes (`bgpsieve ctl routes|route`): a bounded query, answered
    /// with owned results (see [`routes`]).
    Routes {
        query: routes::RouteQuery,
        answer: tokio::sync::oneshot::Sender<Result<routes::Found, routes::QueryError>>,
    },
}

impl From<FromSession> for RibEvent {
    fn from(ev: FromSession) -> RibEvent {
        RibEvent::Session(ev)
    }
}

/// What the RIB asks the daemon to do.
#[derive(Debug)]
pub enum Output {
    /// Send these routes on a session (its generation is in `out`).
    Routes { to: SessionId, out: Outbound },
    /// End a session with this NOTIFICATION; start it again after `restart_after` (`None`:
    /// stay down until an operator clears it).
    Stop {
        to: SessionId,
        notification: Notification,
        restart_after: Option<std::time::Duration>,
    },
    /// Start a session an operator cleared.
    Start { to: SessionId },
    /// Take a session administratively down with this shutdown message, until `AdminUp`.
    AdminDown { to: SessionId, message: String },
    /// End a session's administrative shutdown: it starts again.
    AdminUp { to: SessionId },
    /// Ask a session's remote for its routes of these families again (ROUTE-REFRESH).
    RouteRefresh { to: SessionId, afis: Vec<Afi> },
}

/// How many routes go in one `Output::Routes` when a whole table moves (a session came up or
/// went down), so a full table never sits in memory a second time.
const TABLE_CHUNK: usize = 1 << 16;

/// `[graceful_restart] stale_time` when the RIB is not told otherwise, seconds.
const STALE_TIME: u64 = 360;

/// All pairs and the policy that moves their routes.
pub struct Rib {
    pub pairs: Vec<Pair>,
    /// Every prefix held in the inbound flows (over all pairs): the more-specifics of known
    /// prefixes that burst guards count are found here. Kept only while some pair's guard
    /// counts them: built when an UPDATE for such a pair comes, dropped by a reload that leaves
    /// no such guard.
    known: KnownIndex,
    pub local: LocalPolicy,
    pub rpki: Arc<RpkiData>,
    /// Seconds since start, for the limits' timeline (set by the caller before `handle`).
    pub now: u64,
    /// Leak incidents: trips and rejection spikes, with what came in before them.
    pub incidents: Incidents,
    /// Metrics, the rejected-route store and the views (`None`: nobody is watching).
    pub ops: Option<Ops>,
    /// The generation of the policy snapshot the RIB holds (see
    /// [`crate::policy::SharedPolicy`]); a session's verdicts made with another one are made
    /// again here.
    pub policy_generation: u64,
    /// How long End-of-RIB is waited for, seconds (`[graceful_restart] stale_time`).
    pub stale_time: u64,
}

/// Logs a new incident as one JSON line (a NOC forwards it as it is); the caller takes it with
/// the other changes ([`Incidents::take_changes`]) for the file and the webhook.
fn report_incident(incident: &Incident) {
    tracing::warn!(target: "bgpsieve::incident", "leak incident {}", incident.to_json());
}

// `self.pairs[id]`: pair ids are slots (the configured peer table at start, then appended by
// reloads, never removed), which bgpsieve hands to its own session tasks; none comes from the wire, and `handle` drops an event whose id it does
// not know.
#[allow(clippy::indexing_slicing)]
impl Rib {
    pub fn new(pairs: Vec<Pair>, local: LocalPolicy, rpki: Arc<RpkiData>) -> Rib {
        Rib {
            known: KnownIndex::default(),
            incidents: Incidents::new(pairs.len(), None),
            ops: None,
            pairs,
            local,
            rpki,
            now: 0,
            policy_generation: 0,
            stale_time: STALE_TIME,
        }
    }

    /// A pair added by a reload, in the next slot; returns the slot.
    pub fn add_pair(&mut self, pair: Pair) -> usize {
        tracing::info!(peer = %pair.name, slot = self.pairs.len(), "pair added by a reload");
        self.pairs.push(pair);
        self.incidents.add_peer();
        if let Some(ops) = self.ops.as_mut() {
            ops.add_pair();
        }
        self.pairs.len() - 1
    }

    /// A pair removed by a reload: its routes are dropped, its slot retired (never reused),
    /// its metrics series and its view go. Nothing is sent: its sessions close on their own
    /// order, and every other pair is left as it is.
    pub fn remove_pair(&mut self, slot: usize) {
        let Some(p) = self.pairs.get_mut(slot).filter(|p| !p.gone) else {
            return;
        };
        let mut empty = Pair::new(p.name.clone(), p.role, p.asn, p.local_asn, p.policy.clone());
        empty.gone = true;
        let old = std::mem::replace(p, empty);
        tracing::info!(
            peer = %old.name,
            slot,
            routes_in = old.flows.inbound.table.len(),
            routes_out = old.flows.outbound.table.len(),
            "pair removed by a reload"
        );
        drop(old);
        // The index of known prefixes spans every pair: it is built again when needed.
        self.known.release();
        if let Some(ops) = self.ops.as_mut() {
            ops.metrics.remove_peer(slot);
            ops.dirty = true;
        }
    }

    /// Handles one event of the RIB thread.
    pub fn handle_event(&mut self, ev: RibEvent) -> Vec<Output> {
        // A tick or a route query changes nothing the views show.
        let quiet = matches!(ev, RibEvent::Tick | RibEvent::Routes { .. });
        if let (false, Some(ops)) = (quiet, self.ops.as_mut()) {
            ops.dirty = true;
        }
        match ev {
            RibEvent::Session(ev) => {
                let update = matches!(ev, FromSession::Update { .. });
                let started = std::time::Instant::now();
                let out = self.handle(ev);
                if let (true, Some(ops)) = (update, &self.ops) {
                    ops.metrics.observe_update(started.elapsed().as_secs_f64());
                }
                out
            }
            RibEvent::Rpki(u) => {
                let started = std::time::Instant::now();
                let (out, stats) = self.set_rpki(u.data, &u.delta, u.generation);
                tracing::info!(
                    generation = u.generation,
                    vrp_prefixes = u.delta.vrp_prefixes.len(),
                    aspa_customers = u.delta.aspa_customers.len(),
                    all = u.delta.all,
                    checked = stats.checked,
                    changed = stats.changed,
                    ms = started.elapsed().as_millis() as u64,
                    "RPKI data changed: routes re-checked"
                );
                self.count_reevaluation("rpki", stats);
                out
            }
            RibEvent::Clear { peer, answer } => {
                let (result, out) = self.clear(&peer);
                match &result {
                    Ok(m) => tracing::info!(peer, "{m}"),
                    Err(e) => tracing::warn!(peer, "clear refused: {e}"),
                }
                let _ = answer.send(result);
                out
            }
            RibEvent::Neighbor {
                peer,
                order,
                answer,
            } => {
                let (result, out) = self.neighbor(&peer, order, unix_now());
                match &result {
                    Ok(m) => tracing::info!(peer, "{m}"),
                    Err(e) => tracing::warn!(peer, "neighbor order refused: {e}"),
                }
                let _ = answer.send(result);
                out
            }
            RibEvent::Incident { order, answer } => {
                let result = self.incidents.order(order, unix_now());
                match &result {
                    Ok(m) => tracing::info!("{m}"),
                    Err(e) => tracing::warn!("incident order refused: {e}"),
                }
                let _ = answer.send(result);
                Vec::new()
            }
            RibEvent::Routes { query, answer } => {
                let started = std::time::Instant::now();
                let result = self.query_routes(&query);
                tracing::debug!(
                    ?query,
                    ms = started.elapsed().as_millis() as u64,
                    "route query answered"
                );
                let _ = answer.send(result);
                Vec::new()
            }
            RibEvent::Tick => {
                self.incidents.tick(unix_now());
                if let (true, Some(ops)) = (self.incidents.has_changes(), self.ops.as_mut()) {
                    ops.dirty = true;
                }
                let names: Vec<String> = self.pairs.iter().map(|p| p.name.clone()).collect();
                if let Some(ops) = self.ops.as_mut() {
                    ops.summarize(&names);
                }
                self.graceful_tick()
            }
            RibEvent::Pairs(PairsChange { added, removed }) => {
                for slot in removed {
                    self.remove_pair(slot);
                }
                for pair in added {
                    self.add_pair(pair);
                }
                Vec::new()
            }
            RibEvent::Reconfigure(r) => {
                let started = std::time::Instant::now();
                let generation = r.generation;
                let (out, stats) = self.reconfigure(r);
                tracing::info!(
                    generation,
                    checked = stats.checked,
                    changed = stats.changed,
                    ms = started.elapsed().as_millis() as u64,
                    "configuration reloaded: routes re-checked"
                );
                self.count_reevaluation("policy", stats);
                out
            }
            RibEvent::Policy(u) => {
                let started = std::time::Instant::now();
                let generation = u.generation;
                let (out, stats) = self.set_policy(u);
                tracing::info!(
                    generation,
                    checked = stats.checked,
                    changed = stats.changed,
                    ms = started.elapsed().as_millis() as u64,
                    "policy changed: routes re-checked"
                );
                self.count_reevaluation("policy", stats);
                out
            }
        }
    }

    fn count_reevaluation(&self, cause: &str, stats: Reevaluation) {
        if let Some(ops) = &self.ops {
            ops.metrics
                .reevaluation(cause, stats.checked as u64, stats.changed as u64);
            ops.metrics.policy_generation(self.policy_generation);
        }
    }

    /// Routes held in every flow of every pair.
    pub fn routes_held(&self) -> usize {
        self.pairs
            .iter()
            .map(|p| p.flows.inbound.table.len() + p.flows.outbound.table.len())
            .sum()
    }

    /// `bgpsieve ctl clear NAME`: forgets the trip that holds the named pair down and asks for
    /// its neighbor session to start (the router side follows it).
    pub fn clear(&mut self, name: &str) -> (Result<String, String>, Vec<Output>) {
        let now = self.now;
        let Some((i, p)) = self
            .pairs
            .iter_mut()
            .enumerate()
            .find(|(_, p)| p.name == name && !p.gone)
        else {
            return (Err(format!("no peer named {name:?}")), Vec::new());
        };
        if p.shutdown.is_some() {
            return (
                Err(format!(
                    "{name} is administratively down: `bgpsieve ctl neighbor {name} up` starts it"
                )),
                Vec::new(),
            );
        }
        let held = |f: &Flow| f.table.down_until().is_some();
        if !held(&p.flows.inbound) && !held(&p.flows.outbound) {
            return (
                Err(format!("{name} is not held down by a limit")),
                Vec::new(),
            );
        }
        p.flows.inbound.table.clear_trip(now);
        p.flows.outbound.table.clear_trip(now);
        self.incidents.cleared(name, unix_now());
        (
            Ok(format!("{name}: limit cleared, the session starts again")),
            vec![Output::Start {
                to: SessionId::new(i, Side::Neighbor),
            }],
        )
    }

    /// Handles one session event.
    pub fn handle(&mut self, ev: FromSession) -> Vec<Output> {
        let id = ev.id();
        match self.pairs.get(id.pair) {
            None => {
                tracing::error!(pair = id.pair, "session event for an unknown pair dropped");
                return Vec::new();
            }
            // Its sessions' last words after the reload that removed it.
            Some(p) if p.gone => return Vec::new(),
            Some(_) => {}
        }
        match ev {
            FromSession::Up {
                id,
                generation,
                negotiated,
            } => self.up(id, generation, *negotiated),
            FromSession::Down {
                id,
                reason,
                retained,
            } => self.down(id, &reason, retained.as_ref()),
            FromSession::Update {
                id,
                update,
                verdicts,
            } => self.update(id, update, verdicts),
            FromSession::RouteRefresh { id, .. } => self.full_table(id),
        }
    }

    fn up(&mut self, id: SessionId, generation: u64, neg: Negotiated) -> Vec<Output> {
        let now = self.now;
        let Some(p) = self.pairs.get_mut(id.pair) else {
            return Vec::new();
        };
        let keep = crate::bgp::graceful::still_forwarding(&neg);
        p.sessions[id.side] = Some(neg);
        p.generation[id.side] = generation;
        p.flows[id.side.received()].end_of_rib.clear();
        if id.side == Side::Neighbor {
            // The neighbor's table starts over, and so does what it is sent.
            let observe = p.policy.observe;
            p.flows.inbound.table.session_up(now, observe);
            p.flows.outbound.table.session_up(now, observe);
            self.incidents.session_up(&p.name, unix_now());
        }
        if let Some(ops) = self.ops.as_mut() {
            ops.session(id, true);
        }
        let mut out = Vec::new();
        self.stale_session_back(id.pair, id.side.received(), &keep, &mut out);
        out.extend(self.full_table(id));
        out
    }

    /// Everything a session should have, then End-of-RIB (after it came up, or a refresh):
    /// the routes the other side sent that pass. End-of-RIB of a family whose End-of-RIB the
    /// other side has not sent yet is owed until it comes.
    fn full_table(&mut self, to: SessionId) -> Vec<Output> {
        let mut out = Vec::new();
        let Some(p) = self.pairs.get(to.pair) else {
            return out;
        };
        if p.sessions[to.side].is_none() {
            return out;
        }
        let d = flow::toward(to.side);
        let keys: Vec<Nlri> = p.flows[d].table.keys().collect();
        for chunk in keys.chunks(TABLE_CHUNK) {
            let mut sends = flow::Sends::default();
            for n in chunk {
                self.resend(to.pair, d, *n, &mut sends);
            }
            sends.flush(self, &mut out);
        }
        let end_of_rib = self.end_of_rib_toward(to);
        if !end_of_rib.is_empty() {
            out.push(Output::Routes {
                to,
                out: Outbound {
                    generation: self.pairs[to.pair].generation[to.side],
                    end_of_rib,
                    ..Outbound::default()
                },
            });
        }
        out
    }

    fn down(
        &mut self,
        id: SessionId,
        reason: &DownReason,
        retained: Option<&crate::bgp::graceful::Retained>,
    ) -> Vec<Output> {
        let mut out = Vec::new();
        let Some(p) = self.pairs.get_mut(id.pair) else {
            return out;
        };
        let d = id.side.received();
        p.flows[d].end_of_rib.clear();
        p.eor_owed[id.side] = None;
        if let Some(retained) = retained {
            if let Some(ops) = self.ops.as_mut() {
                ops.session(id, false);
            }
            out = self.keep_stale(id, retained);
            self.pairs[id.pair].sessions[id.side] = None;
            return out;
        }
        p.flows[d].stale = None;
        tracing::info!(
            peer = %p.name,
            side = %id.side,
            %reason,
            routes = p.flows[d].table.len(),
            "session down: its routes leave the other side"
        );
        if let Some(ops) = self.ops.as_mut() {
            ops.session(id, false);
        }
        // Withdrawn a chunk at a time, so a full table going away never holds a second copy of
        // its prefixes in flight. The session still counts as up meanwhile, so the other side
        // learns exactly what it loses.
        loop {
            let gone: Vec<Nlri> = self.pairs[id.pair].flows[d]
                .table
                .keys()
                .take(TABLE_CHUNK)
                .collect();
            if gone.is_empty() {
                break;
            }
            let mut sends = flow::Sends::default();
            for n in gone {
                self.withdraw(id.pair, d, n, &mut sends);
            }
            sends.flush(self, &mut out);
        }
        let (table, known) = self.table_mut(id.pair, d);
        // Empty by now: its memory goes, and nothing counts.
        table.session_down(known);
        self.pairs[id.pair].sessions[id.side] = None;
        // Nothing more comes from it: the other side's End-of-RIB need not wait.
        self.release_owed(id.side.other(), id.pair, None, &mut out);
        out
    }

    /// The routes of one family a flow holds, (held, accepted).
    pub fn counts(&self, pair: usize, d: Direction, afi: Afi) -> (usize, usize) {
        let Some(p) = self.pairs.get(pair) else {
            return (0, 0);
        };
        p.flows[d]
            .table
            .iter()
            .filter(|(n, _)| n.afi() == afi)
            .fold((0, 0), |(all, ok), (_, r)| {
                (all + 1, ok + usize::from(r.verdict.accepted()))
            })
    }
}
