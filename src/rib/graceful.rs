//! Graceful restart in the RIB (RFC 4724 §4.2, DESIGN §1). The routes of a side that restarts
//! gracefully stay on the other side, stale, until it has sent them again and its End-of-RIB
//! has come, or until its restart time (before it is back) or the stale time (after) runs out.
//! End-of-RIB goes to one side only once the other side's has come and everything before it
//! has been relayed, so a peer helping bgpsieve through its own restart keeps its stale routes
//! until bgpsieve has passed on the whole table. Sans-IO, timed by the RIB's clock (`Rib::now`,
//! seconds) on its once-a-second tick.

use super::flow::{self, Sends};
use super::{Output, Rib, TABLE_CHUNK};
use crate::bgp::graceful::Retained;
use crate::bgp::update::{DecodedUpdate, Nlri, Outbound};
use crate::types::{Afi, Direction, SessionId, Side};
use rustc_hash::FxHashSet;

/// The routes of a flow kept from a session that ended gracefully.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Stale {
    /// The routes not sent again since.
    pub keys: FxHashSet<Nlri>,
    /// When they go at the latest (`Rib::now`).
    pub deadline: u64,
}

/// End-of-RIB owed to a side, for these families, sent at the latest at `deadline`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Owed {
    pub families: Vec<Afi>,
    pub deadline: u64,
}

/// The side whose routes flow `d` holds.
fn source(d: Direction) -> Side {
    match d {
        Direction::In => Side::Neighbor,
        Direction::Out => Side::Router,
    }
}

// `self.pairs[i]`: pair ids are positions in the configured peer table (see `Rib::handle`).
#[allow(clippy::indexing_slicing)]
impl Rib {
    /// Withdraws `routes` of flow `d` of pair `i`, a chunk at a time.
    fn withdraw_all(&mut self, i: usize, d: Direction, routes: Vec<Nlri>, out: &mut Vec<Output>) {
        for chunk in routes.chunks(TABLE_CHUNK) {
            let mut sends = Sends::default();
            for n in chunk {
                self.withdraw(i, d, *n, &mut sends);
            }
            sends.flush(self, out);
        }
    }

    /// Session `id` ended gracefully: the routes it sent in the retained families stay, stale,
    /// for its restart time; the others go now.
    pub(super) fn keep_stale(&mut self, id: SessionId, retained: &Retained) -> Vec<Output> {
        let mut out = Vec::new();
        let (i, d) = (id.pair, id.side.received());
        let gone: Vec<Nlri> = self.pairs[i].flows[d]
            .table
            .keys()
            .filter(|n| !retained.families.contains(&n.afi()))
            .collect();
        self.withdraw_all(i, d, gone, &mut out);
        let keys: FxHashSet<Nlri> = self.pairs[i].flows[d].table.keys().collect();
        tracing::info!(
            peer = %self.pairs[i].name,
            side = %id.side,
            routes = keys.len(),
            seconds = retained.restart_time.as_secs(),
            "graceful restart: routes kept, stale, while the session comes back"
        );
        let deadline = self.now + retained.restart_time.as_secs();
        self.pairs[i].flows[d].stale = (!keys.is_empty()).then_some(Stale { keys, deadline });
        out
    }

    /// The stale routes of flow `d` in `families` (`None`: all) go.
    pub(super) fn flush_stale(
        &mut self,
        i: usize,
        d: Direction,
        families: Option<&[Afi]>,
        why: &str,
        out: &mut Vec<Output>,
    ) {
        let Some(st) = self.pairs[i].flows[d].stale.as_mut() else {
            return;
        };
        let goes = |n: &Nlri| families.is_none_or(|f| f.contains(&n.afi()));
        let gone: Vec<Nlri> = st.keys.iter().filter(|n| goes(n)).copied().collect();
        st.keys.retain(|n| !goes(n));
        if st.keys.is_empty() {
            self.pairs[i].flows[d].stale = None;
        }
        if !gone.is_empty() {
            tracing::info!(
                peer = %self.pairs[i].name,
                side = %source(d),
                routes = gone.len(),
                "graceful restart: stale routes removed ({why})"
            );
        }
        self.withdraw_all(i, d, gone, out);
    }

    /// The sending side of flow `d` is back on `neg`: the stale routes of the families it no
    /// longer keeps forwarding for go at once, the others wait for its End-of-RIB until the
    /// stale time runs out (RFC 4724 §4.2).
    pub(super) fn stale_session_back(
        &mut self,
        i: usize,
        d: Direction,
        keep: &[Afi],
        out: &mut Vec<Output>,
    ) {
        if self.pairs[i].flows[d].stale.is_none() {
            return;
        }
        let dropped: Vec<Afi> = [Afi::Ipv4, Afi::Ipv6]
            .into_iter()
            .filter(|a| !keep.contains(a))
            .collect();
        self.flush_stale(i, d, Some(&dropped), "forwarding state not kept", out);
        let deadline = self.now + self.stale_time;
        if let Some(st) = self.pairs[i].flows[d].stale.as_mut() {
            st.deadline = deadline;
        }
    }

    /// Routes of an UPDATE on flow `d` are no longer stale.
    pub(super) fn stale_refreshed(&mut self, i: usize, d: Direction, u: &DecodedUpdate) {
        if let Some(st) = self.pairs[i].flows[d].stale.as_mut() {
            for n in u.withdrawn.iter().chain(&u.announced) {
                st.keys.remove(n);
            }
            if st.keys.is_empty() {
                self.pairs[i].flows[d].stale = None;
            }
        }
    }

    /// End-of-RIB for `afi` came on flow `d`'s sending side: what it did not send again goes,
    /// and the other side gets its End-of-RIB if it was waiting for this one.
    pub(super) fn end_of_rib_received(
        &mut self,
        i: usize,
        d: Direction,
        afi: Afi,
        out: &mut Vec<Output>,
    ) {
        self.flush_stale(i, d, Some(&[afi]), "End-of-RIB received", out);
        let eor = &mut self.pairs[i].flows[d].end_of_rib;
        if !eor.contains(&afi) {
            eor.push(afi);
        }
        self.release_owed(flow::target(d), i, Some(afi), out);
    }

    /// End-of-RIB owed to side `to` of pair `i` goes now, for `afi` (`None`: all owed).
    pub(super) fn release_owed(
        &mut self,
        to: Side,
        i: usize,
        afi: Option<Afi>,
        out: &mut Vec<Output>,
    ) {
        let p = &mut self.pairs[i];
        let Some(owed) = p.eor_owed[to].as_mut() else {
            return;
        };
        let now: Vec<Afi> = owed
            .families
            .iter()
            .copied()
            .filter(|f| afi.is_none_or(|a| a == *f))
            .collect();
        owed.families.retain(|f| !now.contains(f));
        if owed.families.is_empty() {
            p.eor_owed[to] = None;
        }
        if !now.is_empty() && p.is_up(to) {
            out.push(Output::Routes {
                to: SessionId::new(i, to),
                out: Outbound {
                    generation: p.generation[to],
                    end_of_rib: now,
                    ..Outbound::default()
                },
            });
        }
    }

    /// The families whose End-of-RIB side `to` gets now, after its full table; the others are
    /// owed until the other side's End-of-RIB comes (or the stale time runs out). The other
    /// side must be up, not holding stale routes of that family, and have sent its End-of-RIB
    /// (or not negotiated the family, so none will come).
    pub(super) fn end_of_rib_toward(&mut self, to: SessionId) -> Vec<Afi> {
        let deadline = self.now + self.stale_time;
        let p = &mut self.pairs[to.pair];
        let Some(neg) = p.sessions[to.side].as_ref() else {
            return Vec::new();
        };
        let from = to.side.other();
        let d = flow::toward(to.side);
        let flow = &p.flows[d];
        let ready = |afi: &Afi| {
            let stale = flow
                .stale
                .as_ref()
                .is_some_and(|s| s.keys.iter().any(|n| n.afi() == *afi));
            let source_done = p.sessions[from]
                .as_ref()
                .is_some_and(|s| !s.families.contains(afi) || flow.end_of_rib.contains(afi));
            !stale && source_done
        };
        let (now, later): (Vec<Afi>, Vec<Afi>) = neg.families.iter().partition(|a| ready(a));
        p.eor_owed[to.side] = (!later.is_empty()).then_some(Owed {
            families: later,
            deadline,
        });
        now
    }

    /// Once a second: stale routes and owed End-of-RIBs whose time ran out.
    pub(super) fn graceful_tick(&mut self) -> Vec<Output> {
        let mut out = Vec::new();
        let now = self.now;
        for i in 0..self.pairs.len() {
            for d in [Direction::In, Direction::Out] {
                if self.pairs[i].flows[d]
                    .stale
                    .as_ref()
                    .is_some_and(|s| s.deadline <= now)
                {
                    self.flush_stale(i, d, None, "restart or stale time over", &mut out);
                }
            }
            for side in Side::BOTH {
                if self.pairs[i].eor_owed[side]
                    .as_ref()
                    .is_some_and(|o| o.deadline <= now)
                {
                    tracing::info!(peer = %self.pairs[i].name, %side, "End-of-RIB sent without the other side's: stale time over");
                    self.release_owed(side, i, None, &mut out);
                }
            }
        }
        out
    }
}
