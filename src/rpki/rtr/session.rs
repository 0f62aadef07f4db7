//! The RTR router-side state machine, without sockets or clocks (sans-IO): bytes from the cache go
//! in, bytes to send and complete deltas come out. [`Store`] is what survives a connection (the
//! session ID, serial, negotiated version, timers and the data set of one cache); [`Session`] is
//! one connection's progress through a query and its response.
//!
//! It must not emit anything before an End of Data (RFC 8210 §5.8: the data is consistent only
//! then), and must never panic on cache input.

use super::pdu::{self, AspaAfi, AspaLayout, DecodeError, ErrorCode, Pdu, Timers};
use super::RtrDelta;
use crate::rpki::{Aspa, VrpSet};
use crate::types::Asn;
use std::collections::{HashMap, HashSet};
use std::sync::Arc;

/// A VRP as RTR identifies it (RFC 8210 §5.6: prefix, max length and origin).
pub(crate) type VrpKey = super::RtrVrp;

/// An ASPA record as the cache identifies it: per customer and, in the draft-10 layout, per
/// address family (`None` for the current layout, which has one record per customer).
pub(crate) type AspaKey = (Asn, Option<AspaAfi>);

/// What the client holds from the cache it last synchronised with.
#[derive(Debug, Default)]
pub(crate) struct Store {
    /// Index of the cache the data came from.
    pub(crate) cache: Option<usize>,
    /// `(version, session_id, serial)` of the last End of Data; `None` = the next query must be a
    /// Reset Query (never synced, or the session was dropped after an error).
    pub(crate) session: Option<(u8, u16, u32)>,
    /// Timers of the last End of Data (the RFC 8210 §6 defaults for version 0).
    pub(crate) timers: Option<Timers>,
    /// Shared with the deltas sent out (and so with their receiver): a change makes a new set.
    pub(crate) vrps: Arc<VrpSet>,
    /// Providers are sorted and deduplicated.
    pub(crate) aspas: HashMap<AspaKey, Vec<Asn>>,
}

impl Store {
    /// An empty store for `cache`.
    pub(crate) fn for_cache(cache: usize) -> Store {
        Store {
            cache: Some(cache),
            ..Store::default()
        }
    }

    /// Whether a Serial Query can continue the session with `cache`.
    pub(crate) fn can_serial_query(&self, cache: usize) -> bool {
        self.cache == Some(cache) && self.session.is_some()
    }

    /// Forget the session (not the data): the next query is a Reset Query, whose End of Data
    /// replaces the data whole (RFC 8210 §5.6: after a protocol error the router drops the
    /// session; §8.2 after a Cache Reset).
    pub(crate) fn forget_session(&mut self) {
        self.session = None;
    }

    /// The union of providers per customer over its records (one per AFI in the draft-10 layout),
    /// as the policy wants it (draft-ietf-sidrops-aspa-verification §5.3 uses one provider set).
    fn customer_aspa(&self, customer: Asn) -> Option<Vec<Asn>> {
        let mut found = false;
        let mut providers = Vec::new();
        for afi in [None, Some(AspaAfi::Ipv4), Some(AspaAfi::Ipv6)] {
            if let Some(p) = self.aspas.get(&(customer, afi)) {
                found = true;
                providers.extend_from_slice(p);
            }
        }
        providers.sort_unstable();
        providers.dedup();
        found.then_some(providers)
    }
}

/// Why a session ended. The session has already updated the [`Store`] (dropped the session where
/// the RFC says so) and queued any Error Report to send.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub(crate) enum SessionEnd {
    /// The cache does not speak our version: reconnect with `to` (RFC 8210 §7).
    #[error("cache does not support protocol version {from}; falling back to version {to}")]
    Downgrade { from: u8, to: u8 },
    /// The cache sent an Error Report.
    #[error("cache sent Error Report {code}: {text:?}")]
    CacheError { code: ErrorCode, text: String },
    /// The cache broke the protocol; we sent an Error Report with `code`.
    #[error("protocol error, sent Error Report {code}: {msg}")]
    Protocol { code: ErrorCode, msg: String },
}

/// What the session asks its driver to do.
#[derive(Debug, PartialEq)]
pub(crate) enum Output {
    Send(Vec<u8>),
    Data(RtrDelta),
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Query {
    Serial,
    Reset,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Phase {
    /// Synced, nothing outstanding.
    Idle,
    /// A query is out, no Cache Response yet.
    Awaiting(Query),
    /// Between Cache Response and End of Data.
    Receiving { query: Query, session_id: u16 },
    /// Ended; further input is ignored.
    Closed,
}

/// The net change of one response, against the store (or against nothing, for a reset).
#[derive(Debug, Default)]
struct Pending {
    vrp_add: HashSet<VrpKey>,
    vrp_del: HashSet<VrpKey>,
    /// `Some(providers)` = announced (replacing), `None` = withdrawn.
    aspa: HashMap<AspaKey, Option<Vec<Asn>>>,
}

/// One connection to one cache.
#[derive(Debug)]
pub(crate) struct Session {
    cache: usize,
    version: u8,
    negotiated: bool,
    phase: Phase,
    pending: Pending,
    /// A Serial Notify or a refresh arrived while a query was out: query again after it.
    query_again: bool,
    aspa_hint: Option<AspaLayout>,
    rx: Vec<u8>,
}

impl Session {
    /// Starts a connection to `cache`: a Serial Query if `store` holds a session with it
    /// (RFC 8210 §8.2), else a Reset Query at `version` (§8.1). Returns the query to send.
    pub(crate) fn start(cache: usize, version: u8, store: &Store) -> (Session, Vec<u8>) {
        let mut s = Session {
            cache,
            version: version.min(pdu::MAX_VERSION),
            negotiated: false,
            phase: Phase::Closed,
            pending: Pending::default(),
            query_again: false,
            aspa_hint: None,
            rx: Vec::new(),
        };
        let query = match store.session {
            Some((v, _, _)) if store.can_serial_query(cache) => {
                // The session belongs to the version it was made with.
                s.version = v;
                s.query(store)
            }
            _ => s.reset_query(),
        };
        (s, query)
    }

    /// The version this session speaks (or proposes, before the first answer).
    pub(crate) fn version(&self) -> u8 {
        self.version
    }

    /// Whether nothing is outstanding.
    pub(crate) fn is_idle(&self) -> bool {
        self.phase == Phase::Idle
    }

    fn query(&mut self, store: &Store) -> Vec<u8> {
        match store.session {
            Some((_, session_id, serial)) if store.can_serial_query(self.cache) => {
                self.phase = Phase::Awaiting(Query::Serial);
                Pdu::SerialQuery {
                    version: self.version,
                    session_id,
                    serial,
                }
                .encode()
            }
            _ => self.reset_query(),
        }
    }

    fn reset_query(&mut self) -> Vec<u8> {
        self.phase = Phase::Awaiting(Query::Reset);
        Pdu::ResetQuery {
            version: self.version,
        }
        .encode()
    }

    /// Asks for new data now (refresh timer, `ctl reload`): a query to send, or `None` if one is
    /// out already (then another follows its End of Data).
    pub(crate) fn refresh(&mut self, store: &Store) -> Option<Vec<u8>> {
        match self.phase {
            Phase::Idle => Some(self.query(store)),
            Phase::Closed => None,
            _ => {
                self.query_again = true;
                None
            }
        }
    }

    /// Feeds bytes from the cache. Outputs go to `out` in order (also when the session ends: an
    /// Error Report to send comes before the error).
    pub(crate) fn receive(
        &mut self,
        bytes: &[u8],
        store: &mut Store,
        out: &mut Vec<Output>,
    ) -> Result<(), SessionEnd> {
        if self.phase == Phase::Closed {
            return Ok(());
        }
        self.rx.extend_from_slice(bytes);
        let mut used = 0;
        let result = loop {
            let rest = self.rx.get(used..).unwrap_or_default();
            let n = match pdu::frame_len(rest) {
                Ok(Some(n)) => n,
                Ok(None) => break Ok(()),
                Err(e) => {
                    let rest = rest.to_vec();
                    break Err(self.decode_error(e, &rest, out, store));
                }
            };
            let frame = rest.get(..n).unwrap_or_default().to_vec();
            used += n;
            let res = match Pdu::decode(&frame, self.aspa_hint) {
                Ok(p) => self.handle(p, &frame, store, out),
                Err(e) => Err(self.decode_error(e, &frame, out, store)),
            };
            if let Err(e) = res {
                break Err(e);
            }
        };
        self.rx.drain(..used.min(self.rx.len()));
        if result.is_err() {
            self.phase = Phase::Closed;
            self.rx.clear();
        }
        result
    }

    fn decode_error(
        &mut self,
        e: DecodeError,
        frame: &[u8],
        out: &mut Vec<Output>,
        store: &mut Store,
    ) -> SessionEnd {
        // RFC 8210 §5.11: never answer an Error Report with one.
        if e.pdu_type == Some(pdu::kind::ERROR_REPORT) {
            store.forget_session();
            return SessionEnd::CacheError {
                code: ErrorCode::CORRUPT_DATA,
                text: format!("unreadable Error Report: {}", e.msg),
            };
        }
        self.protocol_error(e.code, e.msg, frame, out, store)
    }

    /// Queues an Error Report (RFC 8210 §5.11) and drops the session (§5.6: a router getting a
    /// bad withdrawal or a duplicate drops the session and resets its data from that cache).
    fn protocol_error(
        &mut self,
        code: ErrorCode,
        msg: String,
        frame: &[u8],
        out: &mut Vec<Output>,
        store: &mut Store,
    ) -> SessionEnd {
        let copy = frame
            .get(..frame.len().min(pdu::MAX_PDU_LEN / 2))
            .unwrap_or_default();
        out.push(Output::Send(
            Pdu::ErrorReport {
                version: self.version,
                code,
                pdu: copy.to_vec(),
                text: msg.clone(),
            }
            .encode(),
        ));
        store.forget_session();
        SessionEnd::Protocol { code, msg }
    }

    fn handle(
        &mut self,
        p: Pdu,
        frame: &[u8],
        store: &mut Store,
        out: &mut Vec<Output>,
    ) -> Result<(), SessionEnd> {
        if let Pdu::ErrorReport { code, text, .. } = p {
            // RFC 8210 §7: before a version is agreed, Unsupported Protocol Version means "try a
            // lower one". Any other Error Report ends the connection.
            if code == ErrorCode::UNSUPPORTED_PROTOCOL_VERSION
                && !self.negotiated
                && self.version > 0
            {
                store.forget_session();
                return Err(SessionEnd::Downgrade {
                    from: self.version,
                    to: self.version - 1,
                });
            }
            // No Data Available is transient (the cache is still loading); anything else means
            // the cache no longer agrees with our session (StayRTR answers a stale session ID
            // with Corrupt Data), so the next query is a reset.
            if code != ErrorCode::NO_DATA_AVAILABLE {
                store.forget_session();
            }
            return Err(SessionEnd::CacheError { code, text });
        }
        let v = p.version();
        if !self.negotiated {
            if matches!(p, Pdu::SerialNotify { .. }) {
                // A notify before our query is answered says nothing about versions (it may be
                // in the cache's highest). It may announce more than the answer will carry, so
                // ask again after it.
                self.query_again = true;
                return Ok(());
            }
            if v > self.version {
                return Err(self.protocol_error(
                    ErrorCode::UNEXPECTED_PROTOCOL_VERSION,
                    format!("answer in version {v} to a version {} query", self.version),
                    frame,
                    out,
                    store,
                ));
            }
            if v < self.version {
                // RFC 8210 §7: a cache answering in a lower version is accepted at that version.
                // A session belongs to its version, so a Serial Query answered lower restarts
                // with a reset.
                if self.phase == Phase::Awaiting(Query::Reset) {
                    self.version = v;
                } else {
                    store.forget_session();
                    return Err(SessionEnd::Downgrade {
                        from: self.version,
                        to: v,
                    });
                }
            }
            self.negotiated = true;
        } else if v != self.version {
            return Err(self.protocol_error(
                ErrorCode::UNEXPECTED_PROTOCOL_VERSION,
                format!("PDU in version {v} on a version {} session", self.version),
                frame,
                out,
                store,
            ));
        }
        match p {
            Pdu::SerialNotify { .. } => {
                // RFC 8210 §5.2: the cache has new data; ask for it when we may.
                if self.phase == Phase::Idle {
                    out.push(Output::Send(self.query(store)));
                } else {
                    self.query_again = true;
                }
                Ok(())
            }
            Pdu::CacheResponse { session_id, .. } => {
                let Phase::Awaiting(query) = self.phase else {
                    return Err(self.unexpected("Cache Response", frame, out, store));
                };
                if query == Query::Serial && store.session.map(|(_, id, _)| id) != Some(session_id)
                {
                    return Err(self.protocol_error(
                        ErrorCode::CORRUPT_DATA,
                        format!("Cache Response for session {session_id} to a Serial Query"),
                        frame,
                        out,
                        store,
                    ));
                }
                self.pending = Pending::default();
                self.phase = Phase::Receiving { query, session_id };
                Ok(())
            }
            Pdu::Prefix {
                announce,
                prefix,
                max_len,
                asn,
                ..
            } => {
                let Phase::Receiving { query, .. } = self.phase else {
                    return Err(self.unexpected("Prefix", frame, out, store));
                };
                let key = VrpKey {
                    prefix,
                    max_len,
                    asn,
                };
                let in_base = query == Query::Serial && store.vrps.contains(&key);
                let pending = &mut self.pending;
                let ok = if announce {
                    // Re-announcing what this response withdrew cancels the withdrawal.
                    if pending.vrp_del.remove(&key) {
                        true
                    } else if in_base || pending.vrp_add.contains(&key) {
                        return Err(self.protocol_error(
                            ErrorCode::DUPLICATE_ANNOUNCEMENT,
                            format!("{prefix}-{max_len} {asn} announced twice"),
                            frame,
                            out,
                            store,
                        ));
                    } else {
                        pending.vrp_add.insert(key)
                    }
                } else if pending.vrp_add.remove(&key) {
                    true
                } else if in_base && !pending.vrp_del.contains(&key) {
                    pending.vrp_del.insert(key)
                } else {
                    false
                };
                if !ok {
                    return Err(self.protocol_error(
                        ErrorCode::WITHDRAWAL_OF_UNKNOWN_RECORD,
                        format!("withdrawal of unknown {prefix}-{max_len} {asn}"),
                        frame,
                        out,
                        store,
                    ));
                }
                Ok(())
            }
            Pdu::RouterKey { .. } => {
                // BGPsec is not ours: read and ignored (also outside a response: harmless).
                Ok(())
            }
            Pdu::Aspa {
                announce,
                layout,
                afi,
                customer,
                mut providers,
                ..
            } => {
                let Phase::Receiving { query, .. } = self.phase else {
                    return Err(self.unexpected("ASPA", frame, out, store));
                };
                if layout == AspaLayout::Current {
                    self.aspa_hint = Some(AspaLayout::Current);
                }
                providers.sort_unstable();
                providers.dedup();
                let key = (customer, afi);
                let base = if query == Query::Serial {
                    store.aspas.get(&key)
                } else {
                    None
                };
                if announce {
                    // 8210bis §5.12: an announcement replaces the customer's record.
                    self.pending.aspa.insert(key, Some(providers));
                    return Ok(());
                }
                let current = match self.pending.aspa.get(&key) {
                    Some(p) => p.as_ref(),
                    None => base,
                };
                let matches = match current {
                    None => false,
                    // ≥ -21 withdrawals carry no providers; older ones name the record.
                    Some(cur) => providers.is_empty() || *cur == providers,
                };
                if matches {
                    self.pending.aspa.insert(key, None);
                    return Ok(());
                }
                // StayRTR 0.5.1 sends a changed record as "announce new, withdraw old" in that
                // order; the announcement already replaced the old one, so this withdrawal is
                // spent.
                let replaced = current.is_some()
                    && self.pending.aspa.contains_key(&key)
                    && base == Some(&providers);
                if replaced {
                    return Ok(());
                }
                Err(self.protocol_error(
                    ErrorCode::WITHDRAWAL_OF_UNKNOWN_RECORD,
                    format!("withdrawal of unknown ASPA of {customer}"),
                    frame,
                    out,
                    store,
                ))
            }
            Pdu::EndOfData {
                session_id,
                serial,
                timers,
                ..
            } => {
                let Phase::Receiving {
                    query,
                    session_id: expected,
                } = self.phase
                else {
                    return Err(self.unexpected("End of Data", frame, out, store));
                };
                if session_id != expected {
                    return Err(self.protocol_error(
                        ErrorCode::CORRUPT_DATA,
                        format!("End of Data for session {session_id} in session {expected}"),
                        frame,
                        out,
                        store,
                    ));
                }
                let ours = store.session.map(|(_, _, s)| s);
                if query == Query::Serial && ours.is_some_and(|ours| serial_lt(serial, ours)) {
                    // RFC 8210 §5.1: serials only grow within a session (RFC 1982 arithmetic).
                    // A lower one means the cache lost its history under the same session ID
                    // (StayRTR restarted within a second reuses it): its diff is meaningless, so
                    // start over with a reset on this connection, as after a Cache Reset.
                    tracing::warn!(
                        cache = self.cache,
                        serial,
                        ours = ?ours,
                        "RTR cache serial went backwards; resetting"
                    );
                    self.pending = Pending::default();
                    store.forget_session();
                    out.push(Output::Send(self.reset_query()));
                    return Ok(());
                }
                let delta = self.commit(query == Query::Reset, session_id, serial, store);
                store.timers = Some(timers.unwrap_or(Timers::DEFAULT));
                out.push(Output::Data(delta));
                self.phase = Phase::Idle;
                if std::mem::take(&mut self.query_again) {
                    out.push(Output::Send(self.query(store)));
                }
                Ok(())
            }
            Pdu::CacheReset { .. } => {
                // RFC 8210 §5.9: the cache cannot serve our serial; start over with a reset.
                if self.phase != Phase::Awaiting(Query::Serial) {
                    return Err(self.unexpected("Cache Reset", frame, out, store));
                }
                store.forget_session();
                out.push(Output::Send(self.reset_query()));
                Ok(())
            }
            Pdu::SerialQuery { .. } | Pdu::ResetQuery { .. } => Err(self.protocol_error(
                ErrorCode::UNSUPPORTED_PDU_TYPE,
                "a router query sent by the cache".into(),
                frame,
                out,
                store,
            )),
            Pdu::ErrorReport { .. } => Ok(()), // handled above
        }
    }

    fn unexpected(
        &mut self,
        what: &str,
        frame: &[u8],
        out: &mut Vec<Output>,
        store: &mut Store,
    ) -> SessionEnd {
        let msg = format!("unexpected {what} PDU ({:?})", self.phase);
        self.protocol_error(ErrorCode::CORRUPT_DATA, msg, frame, out, store)
    }

    /// Applies the pending change to the store and returns it as a delta.
    fn commit(&mut self, reset: bool, session_id: u16, serial: u32, store: &mut Store) -> RtrDelta {
        let pending = std::mem::take(&mut self.pending);
        let mut delta = RtrDelta {
            cache: self.cache,
            reset,
            version: self.version,
            session_id,
            serial,
            vrps_announced: Vec::new(),
            vrps_withdrawn: Vec::new(),
            vrps: Arc::default(),
            aspas: Vec::new(),
            aspas_withdrawn: Vec::new(),
        };
        store.cache = Some(self.cache);
        store.session = Some((self.version, session_id, serial));
        if reset {
            // The compact set is made and the hash set freed before the delta's list is made.
            store.vrps = Arc::new(VrpSet::from_keys(&pending.vrp_add));
            drop(pending.vrp_add);
            store.aspas = pending
                .aspa
                .into_iter()
                .filter_map(|(k, p)| p.map(|p| (k, p)))
                .collect();
            delta.vrps_announced = store.vrps.iter().collect();
            delta.vrps = store.vrps.clone();
            let mut customers: Vec<Asn> = store.aspas.keys().map(|(c, _)| *c).collect();
            customers.sort_unstable();
            customers.dedup();
            delta.aspas = customers
                .into_iter()
                .filter_map(|c| store.customer_aspa(c).map(|p| Aspa::new(c, p, None)))
                .collect();
            return delta;
        }
        let mut del: Vec<VrpKey> = pending.vrp_del.into_iter().collect();
        del.sort_unstable();
        let mut add: Vec<VrpKey> = pending.vrp_add.into_iter().collect();
        add.sort_unstable();
        if !del.is_empty() || !add.is_empty() {
            store.vrps = Arc::new(store.vrps.apply(&del, &add));
        }
        delta.vrps = store.vrps.clone();
        delta.vrps_withdrawn = del;
        delta.vrps_announced = add;

        let mut customers: Vec<Asn> = pending.aspa.keys().map(|(c, _)| *c).collect();
        customers.sort_unstable();
        customers.dedup();
        let before: Vec<Option<Vec<Asn>>> =
            customers.iter().map(|c| store.customer_aspa(*c)).collect();
        for (k, p) in pending.aspa {
            match p {
                Some(p) => store.aspas.insert(k, p),
                None => store.aspas.remove(&k),
            };
        }
        for (c, old) in customers.into_iter().zip(before) {
            match (old, store.customer_aspa(c)) {
                (Some(_), None) => delta.aspas_withdrawn.push(c),
                (old, Some(new)) if old.as_ref() != Some(&new) => {
                    delta.aspas.push(Aspa::new(c, new, None));
                }
                _ => {} // an announce and its withdrawal, or the same providers again
            }
        }
        delta
    }
}

/// `a < b` in RFC 1982 serial number arithmetic (32 bits).
fn serial_lt(a: u32, b: u32) -> bool {
    a != b && b.wrapping_sub(a) < 1 << 31
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::rpki::rtr::pdu::tests::XorShift;

    const V4: &str = "192.0.2.0/24";

    fn prefix(v: u8, announce: bool, p: &str, max_len: u8, asn: u32) -> Pdu {
        Pdu::Prefix {
            version: v,
            announce,
            prefix: p.parse().unwrap(),
            max_len,
            asn: Asn(asn),
        }
    }

    fn eod(v: u8, session_id: u16, serial: u32) -> Pdu {
        Pdu::EndOfData {
            version: v,
            session_id,
            serial,
            timers: (v > 0).then_some(Timers {
                refresh: 10,
                retry: 5,
                expire: 600,
            }),
        }
    }

    fn cr(v: u8, session_id: u16) -> Pdu {
        Pdu::CacheResponse {
            version: v,
            session_id,
        }
    }

    fn aspa(announce: bool, layout: AspaLayout, afi: Option<AspaAfi>, c: u32, p: &[u32]) -> Pdu {
        Pdu::Aspa {
            version: 2,
            announce,
            layout,
            afi,
            customer: Asn(c),
            providers: p.iter().map(|a| Asn(*a)).collect(),
        }
    }

    fn bytes(pdus: &[Pdu]) -> Vec<u8> {
        pdus.iter().flat_map(Pdu::encode).collect()
    }

    fn feed(
        s: &mut Session,
        store: &mut Store,
        pdus: &[Pdu],
    ) -> (Vec<Output>, Result<(), SessionEnd>) {
        let mut out = Vec::new();
        let r = s.receive(&bytes(pdus), store, &mut out);
        (out, r)
    }

    fn deltas(out: &[Output]) -> Vec<&RtrDelta> {
        out.iter()
            .filter_map(|o| match o {
                Output::Data(d) => Some(d),
                Output::Send(_) => None,
            })
            .collect()
    }

    fn sent(out: &[Output]) -> Vec<Pdu> {
        out.iter()
            .filter_map(|o| match o {
                Output::Send(b) => Some(Pdu::decode(b, None).unwrap()),
                Output::Data(_) => None,
            })
            .collect()
    }

    fn keys(v: &[VrpKey]) -> Vec<(String, u8, u32)> {
        v.iter()
            .map(|v| (v.prefix.to_string(), v.max_len, v.asn.0))
            .collect()
    }

    /// A store synced with cache 0 at session 7, serial 1, holding V4 AS64500 and 2001:db8::/32.
    fn synced() -> Store {
        let mut store = Store::default();
        let (mut s, q) = Session::start(0, 2, &store);
        assert_eq!(Pdu::decode(&q, None), Ok(Pdu::ResetQuery { version: 2 }));
        let (out, r) = feed(
            &mut s,
            &mut store,
            &[
                cr(2, 7),
                prefix(2, true, V4, 24, 64500),
                prefix(2, true, "2001:db8::/32", 48, 64501),
                eod(2, 7, 1),
            ],
        );
        r.unwrap();
        let d = deltas(&out);
        assert_eq!(d.len(), 1);
        assert!(d[0].reset);
        assert_eq!(d[0].vrps_announced.len(), 2);
        store
    }

    #[test]
    fn reset_sync_emits_whole_set_only_at_end_of_data() {
        let mut store = Store::default();
        let (mut s, _) = Session::start(3, 2, &store);
        let (out, r) = feed(
            &mut s,
            &mut store,
            &[cr(2, 9), prefix(2, true, V4, 24, 64500)],
        );
        r.unwrap();
        assert!(out.is_empty(), "nothing before End of Data");
        assert!(store.vrps.is_empty());
        let (out, r) = feed(&mut s, &mut store, &[eod(2, 9, 42)]);
        r.unwrap();
        let d = deltas(&out);
        assert_eq!(
            (
                d[0].cache,
                d[0].reset,
                d[0].version,
                d[0].session_id,
                d[0].serial
            ),
            (3, true, 2, 9, 42)
        );
        assert_eq!(keys(&d[0].vrps_announced), vec![(V4.into(), 24, 64500)]);
        assert_eq!(store.session, Some((2, 9, 42)));
        assert!(s.is_idle());
    }

    #[test]
    fn pdus_split_across_reads_are_reassembled() {
        let mut store = Store::default();
        let (mut s, _) = Session::start(0, 2, &store);
        let all = bytes(&[cr(2, 1), prefix(2, true, V4, 24, 64500), eod(2, 1, 5)]);
        let mut out = Vec::new();
        for b in all.chunks(3) {
            s.receive(b, &mut store, &mut out).unwrap();
        }
        assert_eq!(deltas(&out).len(), 1);
        assert_eq!(store.vrps.len(), 1);
    }

    #[test]
    fn reconnect_sends_serial_query_and_applies_net_delta() {
        let mut store = synced();
        let (mut s, q) = Session::start(0, 2, &store);
        assert_eq!(
            Pdu::decode(&q, None),
            Ok(Pdu::SerialQuery {
                version: 2,
                session_id: 7,
                serial: 1
            })
        );
        let (out, r) = feed(
            &mut s,
            &mut store,
            &[
                cr(2, 7),
                prefix(2, false, V4, 24, 64500),
                prefix(2, true, "198.51.100.0/24", 24, 64502),
                // announced then withdrawn within the update: cancels out
                prefix(2, true, "203.0.113.0/24", 24, 64503),
                prefix(2, false, "203.0.113.0/24", 24, 64503),
                // withdrawn then announced again: cancels out
                prefix(2, false, "2001:db8::/32", 48, 64501),
                prefix(2, true, "2001:db8::/32", 48, 64501),
                eod(2, 7, 2),
            ],
        );
        r.unwrap();
        let d = deltas(&out);
        assert!(!d[0].reset);
        assert_eq!(keys(&d[0].vrps_withdrawn), vec![(V4.into(), 24, 64500)]);
        assert_eq!(
            keys(&d[0].vrps_announced),
            vec![("198.51.100.0/24".into(), 24, 64502)]
        );
        assert_eq!(store.vrps.len(), 2);
        assert_eq!(store.session, Some((2, 7, 2)));
        assert!(
            Arc::ptr_eq(&d[0].vrps, &store.vrps),
            "the delta shares the set"
        );
        assert_eq!(
            keys(&d[0].vrps.iter().collect::<Vec<_>>()),
            vec![
                ("198.51.100.0/24".into(), 24, 64502),
                ("2001:db8::/32".into(), 48, 64501)
            ]
        );
    }

    #[test]
    fn serial_going_backwards_restarts_with_a_reset() {
        assert!(serial_lt(1, 2) && serial_lt(u32::MAX, 0) && !serial_lt(2, 1) && !serial_lt(3, 3));
        let mut store = synced(); // serial 1
        let (mut s, _) = Session::start(0, 2, &store);
        let (out, r) = feed(&mut s, &mut store, &[cr(2, 7), eod(2, 7, 0)]);
        r.unwrap();
        assert!(deltas(&out).is_empty());
        assert_eq!(sent(&out), vec![Pdu::ResetQuery { version: 2 }]);
        assert_eq!(store.session, None);
        let (out, r) = feed(
            &mut s,
            &mut store,
            &[cr(2, 7), prefix(2, true, V4, 24, 64500), eod(2, 7, 0)],
        );
        r.unwrap();
        assert!(deltas(&out)[0].reset);
        assert_eq!(store.session, Some((2, 7, 0)));
    }

    #[test]
    fn other_cache_gets_a_reset_query() {
        let store = synced();
        let (_, q) = Session::start(1, 2, &store);
        assert_eq!(Pdu::decode(&q, None), Ok(Pdu::ResetQuery { version: 2 }));
    }

    #[test]
    fn cache_reset_answer_leads_to_reset_query_and_full_replacement() {
        let mut store = synced();
        let (mut s, _) = Session::start(0, 2, &store);
        let (out, r) = feed(&mut s, &mut store, &[Pdu::CacheReset { version: 2 }]);
        r.unwrap();
        assert_eq!(sent(&out), vec![Pdu::ResetQuery { version: 2 }]);
        assert_eq!(store.session, None);
        assert_eq!(store.vrps.len(), 2, "data kept until the reset completes");
        let (out, r) = feed(
            &mut s,
            &mut store,
            &[cr(2, 8), prefix(2, true, V4, 24, 64500), eod(2, 8, 1)],
        );
        r.unwrap();
        let d = deltas(&out);
        assert!(d[0].reset);
        assert_eq!(keys(&d[0].vrps_announced), vec![(V4.into(), 24, 64500)]);
        assert_eq!(store.vrps.len(), 1);
    }

    #[test]
    fn duplicate_announcement_is_an_error_and_drops_the_session() {
        let mut store = synced();
        let (mut s, _) = Session::start(0, 2, &store);
        let (out, r) = feed(
            &mut s,
            &mut store,
            &[cr(2, 7), prefix(2, true, V4, 24, 64500)],
        );
        assert!(matches!(
            r,
            Err(SessionEnd::Protocol {
                code: ErrorCode::DUPLICATE_ANNOUNCEMENT,
                ..
            })
        ));
        let sent = sent(&out);
        let [Pdu::ErrorReport { code, pdu, .. }] = &sent[..] else {
            panic!("{sent:?}")
        };
        assert_eq!(*code, ErrorCode::DUPLICATE_ANNOUNCEMENT);
        assert_eq!(*pdu, prefix(2, true, V4, 24, 64500).encode());
        assert_eq!(store.session, None);
        assert_eq!(store.vrps.len(), 2, "no partial update applied");
        // The next connection resets.
        let (_, q) = Session::start(0, 2, &store);
        assert_eq!(Pdu::decode(&q, None), Ok(Pdu::ResetQuery { version: 2 }));
    }

    #[test]
    fn duplicate_within_a_reset_is_an_error() {
        let mut store = Store::default();
        let (mut s, _) = Session::start(0, 2, &store);
        let (_, r) = feed(
            &mut s,
            &mut store,
            &[
                cr(2, 1),
                prefix(2, true, V4, 24, 64500),
                prefix(2, true, V4, 24, 64500),
            ],
        );
        assert!(matches!(
            r,
            Err(SessionEnd::Protocol {
                code: ErrorCode::DUPLICATE_ANNOUNCEMENT,
                ..
            })
        ));
    }

    #[test]
    fn withdrawal_of_unknown_is_an_error() {
        let mut store = synced();
        let (mut s, _) = Session::start(0, 2, &store);
        let (out, r) = feed(
            &mut s,
            &mut store,
            &[cr(2, 7), prefix(2, false, V4, 25, 64500)],
        );
        assert!(matches!(
            r,
            Err(SessionEnd::Protocol {
                code: ErrorCode::WITHDRAWAL_OF_UNKNOWN_RECORD,
                ..
            })
        ));
        assert!(matches!(
            sent(&out)[..],
            [Pdu::ErrorReport {
                code: ErrorCode::WITHDRAWAL_OF_UNKNOWN_RECORD,
                ..
            }]
        ));
        assert_eq!(store.session, None);
        // Withdrawing twice is also unknown the second time.
        let mut store = synced();
        let (mut s, _) = Session::start(0, 2, &store);
        let (_, r) = feed(
            &mut s,
            &mut store,
            &[
                cr(2, 7),
                prefix(2, false, V4, 24, 64500),
                prefix(2, false, V4, 24, 64500),
            ],
        );
        assert!(r.is_err());
    }

    #[test]
    fn serial_notify_triggers_serial_query_and_is_deferred_while_busy() {
        let mut store = synced();
        let (mut s, _) = Session::start(0, 2, &store);
        let notify = Pdu::SerialNotify {
            version: 2,
            session_id: 7,
            serial: 2,
        };
        // Busy (our query is out): the notify is remembered.
        let (out, r) = feed(&mut s, &mut store, std::slice::from_ref(&notify));
        r.unwrap();
        assert!(out.is_empty());
        let (out, r) = feed(&mut s, &mut store, &[cr(2, 7), eod(2, 7, 2)]);
        r.unwrap();
        assert_eq!(deltas(&out).len(), 1);
        assert_eq!(
            sent(&out),
            vec![Pdu::SerialQuery {
                version: 2,
                session_id: 7,
                serial: 2
            }]
        );
        let (_, r) = feed(&mut s, &mut store, &[cr(2, 7), eod(2, 7, 3)]);
        r.unwrap();
        // Idle: the notify sends a query at once.
        let (out, r) = feed(&mut s, &mut store, &[notify]);
        r.unwrap();
        assert_eq!(
            sent(&out),
            vec![Pdu::SerialQuery {
                version: 2,
                session_id: 7,
                serial: 3
            }]
        );
        assert_eq!(s.refresh(&store), None, "already querying");
    }

    #[test]
    fn unsupported_version_falls_back_one_step() {
        let mut store = Store::default();
        let (mut s, _) = Session::start(0, 2, &store);
        let err = Pdu::ErrorReport {
            version: 1,
            code: ErrorCode::UNSUPPORTED_PROTOCOL_VERSION,
            pdu: vec![],
            text: String::new(),
        };
        let (out, r) = feed(&mut s, &mut store, std::slice::from_ref(&err));
        assert_eq!(r, Err(SessionEnd::Downgrade { from: 2, to: 1 }));
        assert!(out.is_empty(), "no Error Report answers an Error Report");
        let (mut s, q) = Session::start(0, 1, &store);
        assert_eq!(Pdu::decode(&q, None), Ok(Pdu::ResetQuery { version: 1 }));
        let (_, r) = feed(&mut s, &mut store, std::slice::from_ref(&err));
        assert_eq!(r, Err(SessionEnd::Downgrade { from: 1, to: 0 }));
        let (mut s, _) = Session::start(0, 0, &store);
        let (_, r) = feed(&mut s, &mut store, &[err]);
        assert!(matches!(r, Err(SessionEnd::CacheError { .. })));
    }

    #[test]
    fn lower_version_answer_is_adopted() {
        // StayRTR -protocol 1 answers a version 2 Reset Query in version 1; version 0 has no
        // timers in End of Data.
        for v in [1u8, 0] {
            let mut store = Store::default();
            let (mut s, _) = Session::start(0, 2, &store);
            let (out, r) = feed(
                &mut s,
                &mut store,
                &[cr(v, 5), prefix(v, true, V4, 24, 64500), eod(v, 5, 1)],
            );
            r.unwrap();
            assert_eq!(deltas(&out)[0].version, v);
            assert_eq!(s.version(), v);
            assert_eq!(store.session, Some((v, 5, 1)));
            let want = if v == 0 {
                Timers::DEFAULT
            } else {
                Timers {
                    refresh: 10,
                    retry: 5,
                    expire: 600,
                }
            };
            assert_eq!(store.timers, Some(want));
            // The next connection continues that session in that version.
            let (_, q) = Session::start(0, 2, &store);
            assert_eq!(
                Pdu::decode(&q, None),
                Ok(Pdu::SerialQuery {
                    version: v,
                    session_id: 5,
                    serial: 1
                })
            );
        }
    }

    #[test]
    fn version_change_mid_session_is_an_error() {
        let mut store = Store::default();
        let (mut s, _) = Session::start(0, 2, &store);
        let (out, r) = feed(&mut s, &mut store, &[cr(2, 5), prefix(1, true, V4, 24, 1)]);
        assert!(matches!(
            r,
            Err(SessionEnd::Protocol {
                code: ErrorCode::UNEXPECTED_PROTOCOL_VERSION,
                ..
            })
        ));
        assert_eq!(sent(&out).len(), 1);
        // A higher version than we asked for, too.
        let mut store = Store::default();
        let (mut s, _) = Session::start(0, 1, &store);
        let (_, r) = feed(&mut s, &mut store, &[cr(2, 5)]);
        assert!(matches!(
            r,
            Err(SessionEnd::Protocol {
                code: ErrorCode::UNEXPECTED_PROTOCOL_VERSION,
                ..
            })
        ));
    }

    #[test]
    fn cache_error_report_ends_the_session_and_forgets_it() {
        let mut store = synced();
        let (mut s, _) = Session::start(0, 2, &store);
        let (out, r) = feed(
            &mut s,
            &mut store,
            &[Pdu::ErrorReport {
                version: 2,
                code: ErrorCode::CORRUPT_DATA,
                pdu: vec![],
                text: "Session ID mismatch: client is desynchronized".into(),
            }],
        );
        assert!(
            matches!(r, Err(SessionEnd::CacheError { code, .. }) if code == ErrorCode::CORRUPT_DATA)
        );
        assert!(out.is_empty());
        assert_eq!(store.session, None);
        // No Data Available keeps the session.
        let mut store = synced();
        let (mut s, _) = Session::start(0, 2, &store);
        let (_, r) = feed(
            &mut s,
            &mut store,
            &[Pdu::ErrorReport {
                version: 2,
                code: ErrorCode::NO_DATA_AVAILABLE,
                pdu: vec![],
                text: String::new(),
            }],
        );
        assert!(r.is_err());
        assert!(store.session.is_some());
    }

    #[test]
    fn router_keys_are_ignored() {
        let mut store = Store::default();
        let (mut s, _) = Session::start(0, 1, &store);
        let (out, r) = feed(
            &mut s,
            &mut store,
            &[
                cr(1, 1),
                Pdu::RouterKey {
                    version: 1,
                    announce: true,
                    asn: Asn(64500),
                },
                eod(1, 1, 1),
            ],
        );
        r.unwrap();
        let d = deltas(&out);
        assert!(d[0].vrps_announced.is_empty() && d[0].aspas.is_empty());
    }

    #[test]
    fn unexpected_pdus_are_protocol_errors() {
        let mut store = Store::default();
        let (mut s, _) = Session::start(0, 2, &store);
        // A prefix before any Cache Response.
        let (_, r) = feed(&mut s, &mut store, &[prefix(2, true, V4, 24, 1)]);
        assert!(matches!(r, Err(SessionEnd::Protocol { .. })));
        // An oversized PDU.
        let mut store = Store::default();
        let (mut s, _) = Session::start(0, 2, &store);
        let mut out = Vec::new();
        let r = s.receive(&[2, 4, 0, 0, 0, 2, 0, 0], &mut store, &mut out);
        assert!(
            matches!(r, Err(SessionEnd::Protocol { code, .. }) if code == ErrorCode::CORRUPT_DATA)
        );
        assert_eq!(out.len(), 1);
    }

    #[test]
    fn stayrtr_aspa_sequence_as_captured() {
        // What StayRTR 0.5.1 sent, in order, for: reset; then AS64500/IPv4 providers changed from
        // {64510, 64511} to {64510, 64520} and AS64502 removed.
        use AspaLayout::Draft10;
        let v4 = Some(AspaAfi::Ipv4);
        let v6 = Some(AspaAfi::Ipv6);
        let mut store = Store::default();
        let (mut s, _) = Session::start(0, 2, &store);
        let (out, r) = feed(
            &mut s,
            &mut store,
            &[
                cr(2, 0x8a98),
                aspa(true, Draft10, v4, 64500, &[64510, 64511]),
                aspa(true, Draft10, v6, 64500, &[64512]),
                aspa(true, Draft10, v6, 64502, &[0]),
                eod(2, 0x8a98, 1),
            ],
        );
        r.unwrap();
        let d = deltas(&out)[0];
        assert_eq!(
            d.aspas,
            vec![
                Aspa::new(Asn(64500), [Asn(64510), Asn(64511), Asn(64512)], None),
                Aspa::new(Asn(64502), [Asn(0)], None),
            ]
        );
        s.refresh(&store).unwrap();
        let (out, r) = feed(
            &mut s,
            &mut store,
            &[
                cr(2, 0x8a98),
                aspa(true, Draft10, v4, 64500, &[64510, 64520]),
                aspa(false, Draft10, v4, 64500, &[64510, 64511]),
                aspa(false, Draft10, v6, 64502, &[0]),
                eod(2, 0x8a98, 4),
            ],
        );
        r.unwrap();
        let d = deltas(&out)[0];
        assert_eq!(
            d.aspas,
            vec![Aspa::new(
                Asn(64500),
                [Asn(64510), Asn(64512), Asn(64520)],
                None
            )]
        );
        assert_eq!(d.aspas_withdrawn, vec![Asn(64502)]);
    }

    #[test]
    fn current_layout_aspa_with_empty_withdrawal() {
        use AspaLayout::Current;
        let mut store = Store::default();
        let (mut s, _) = Session::start(0, 2, &store);
        let (_, r) = feed(
            &mut s,
            &mut store,
            &[
                cr(2, 1),
                aspa(true, Current, None, 64500, &[64511, 64510, 64511]),
                aspa(true, Current, None, 64501, &[64510]),
                eod(2, 1, 1),
            ],
        );
        r.unwrap();
        s.refresh(&store).unwrap();
        let (out, r) = feed(
            &mut s,
            &mut store,
            &[
                cr(2, 1),
                aspa(false, Current, None, 64500, &[]),
                // replaced, then replaced back: no net change
                aspa(true, Current, None, 64501, &[64999]),
                aspa(true, Current, None, 64501, &[64510]),
                eod(2, 1, 2),
            ],
        );
        r.unwrap();
        let d = deltas(&out)[0];
        assert_eq!(d.aspas_withdrawn, vec![Asn(64500)]);
        assert!(d.aspas.is_empty());
        // Withdrawing it again: unknown.
        s.refresh(&store).unwrap();
        let (_, r) = feed(
            &mut s,
            &mut store,
            &[cr(2, 1), aspa(false, Current, None, 64500, &[])],
        );
        assert!(matches!(
            r,
            Err(SessionEnd::Protocol {
                code: ErrorCode::WITHDRAWAL_OF_UNKNOWN_RECORD,
                ..
            })
        ));
    }

    #[test]
    fn garbage_sessions_never_panic() {
        let good = bytes(&[
            cr(2, 1),
            prefix(2, true, V4, 24, 64500),
            aspa(true, AspaLayout::Current, None, 1, &[2]),
            aspa(true, AspaLayout::Draft10, Some(AspaAfi::Ipv6), 1, &[2]),
            eod(2, 1, 1),
            Pdu::SerialNotify {
                version: 2,
                session_id: 1,
                serial: 2,
            },
        ]);
        let mut rng = XorShift(42);
        for _ in 0..20_000 {
            let mut b = good.clone();
            for _ in 0..1 + rng.next() % 3 {
                let i = (rng.next() as usize) % b.len();
                b[i] = rng.next() as u8;
            }
            b.truncate((rng.next() as usize) % (b.len() + 1));
            let mut store = synced();
            let (mut s, _) = Session::start(0, 2, &store);
            let mut out = Vec::new();
            for chunk in b.chunks(1 + (rng.next() % 40) as usize) {
                if s.receive(chunk, &mut store, &mut out).is_err() {
                    break;
                }
            }
        }
    }
}
