//! The most recent rejected routes, for `GET /api/v1/rejected`: a bounded ring the RIB thread
//! pushes every rejection into and the API queries, newest first.
//!
//! `push` is on the RIB thread's path for every rejected route: it takes one short lock (no
//! allocation, no search) and never blocks on a query for longer than that query's scan of the
//! ring. Nothing here decides what is rejected; it only remembers.

use crate::policy::Reason;
use crate::rpki::{AspaState, RovState};
use crate::types::Direction;
use ipnet::IpNet;
use serde::{Deserialize, Serialize};
use std::collections::VecDeque;
use std::sync::{Mutex, PoisonError};

/// One rejected route. Shaped like replay's `--rejected` lines: absent optional values are left
/// out.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RejectedRoute {
    /// Unix seconds of the rejection.
    pub time: i64,
    /// The peer's configured name.
    pub peer: String,
    pub direction: Direction,
    pub prefix: IpNet,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub path_id: Option<u32>,
    /// The AS path as `AsPath`'s `Display` writes it (`64501 64502 {64503}`).
    pub path: String,
    /// Every failing check, in evaluation order (reason codes).
    pub reasons: Vec<Reason>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub rpki: Option<RovState>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub aspa: Option<AspaState>,
}

/// How a query's `prefix` selects routes.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum PrefixMatch {
    /// That prefix only.
    #[default]
    Exact,
    /// That prefix and every more-specific of it (`match=more-specific`).
    MoreSpecific,
}

/// Default and largest page size.
pub const DEFAULT_LIMIT: usize = 100;
pub const MAX_LIMIT: usize = 1000;

/// A query: filters (all optional, all must match) and a page.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RejectedQuery {
    pub peer: Option<String>,
    pub direction: Option<Direction>,
    /// Routes that failed this reason (among others).
    pub reason: Option<Reason>,
    pub prefix: Option<IpNet>,
    pub prefix_match: PrefixMatch,
    /// Page size, 1–[`MAX_LIMIT`].
    pub limit: usize,
    /// Matching routes to skip (after `cursor`).
    pub offset: usize,
    /// Only routes older than the one with this id: the `next_cursor` of the page before.
    pub cursor: Option<u64>,
}

impl Default for RejectedQuery {
    fn default() -> Self {
        RejectedQuery {
            peer: None,
            direction: None,
            reason: None,
            prefix: None,
            prefix_match: PrefixMatch::Exact,
            limit: DEFAULT_LIMIT,
            offset: 0,
            cursor: None,
        }
    }
}

impl RejectedQuery {
    fn matches(&self, r: &RejectedRoute) -> bool {
        self.peer.as_ref().is_none_or(|p| *p == r.peer)
            && self.direction.is_none_or(|d| d == r.direction)
            && self.reason.is_none_or(|x| r.reasons.contains(&x))
            && self.prefix.is_none_or(|p| match self.prefix_match {
                PrefixMatch::Exact => p == r.prefix,
                PrefixMatch::MoreSpecific => p.contains(&r.prefix),
            })
    }
}

/// One page of a query's answer, newest first.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RejectedPage {
    /// Routes in the store that match the filters (all pages).
    pub total: usize,
    /// Routes dropped from the store since start to make room (the oldest go first).
    pub dropped: u64,
    pub offset: usize,
    pub limit: usize,
    /// Pass as `cursor` to get the page after this one; `null` on the last page.
    pub next_cursor: Option<u64>,
    pub routes: Vec<RejectedRoute>,
}

struct Ring {
    routes: VecDeque<(u64, RejectedRoute)>,
    next_id: u64,
    dropped: u64,
}

/// The bounded store.
pub struct RejectedStore {
    capacity: usize,
    ring: Mutex<Ring>,
}

impl std::fmt::Debug for RejectedStore {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RejectedStore")
            .field("capacity", &self.capacity)
            .field("len", &self.len())
            .finish()
    }
}

impl RejectedStore {
    /// A store keeping the `capacity` most recent rejections (0 keeps none).
    pub fn new(capacity: usize) -> RejectedStore {
        RejectedStore {
            capacity,
            ring: Mutex::new(Ring {
                // Allocated up front so that push never reallocates on the RIB thread.
                routes: VecDeque::with_capacity(capacity),
                next_id: 0,
                dropped: 0,
            }),
        }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Ring> {
        // A panic while holding the lock leaves the ring consistent (every change is one
        // VecDeque call), so a poisoned lock is used as it is.
        self.ring.lock().unwrap_or_else(PoisonError::into_inner)
    }

    pub fn capacity(&self) -> usize {
        self.capacity
    }

    /// Routes held now.
    pub fn len(&self) -> usize {
        self.lock().routes.len()
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Routes dropped so far to make room.
    pub fn dropped(&self) -> u64 {
        self.lock().dropped
    }

    /// Remembers a rejection; the oldest one goes if the store is full.
    pub fn push(&self, r: RejectedRoute) {
        let mut ring = self.lock();
        let id = ring.next_id;
        ring.next_id += 1;
        if self.capacity == 0 {
            ring.dropped += 1;
            return;
        }
        let old = if ring.routes.len() >= self.capacity {
            ring.dropped += 1;
            ring.routes.pop_front()
        } else {
            None
        };
        ring.routes.push_back((id, r));
        drop(ring);
        // The evicted route's strings are freed after the lock is released.
        drop(old);
    }

    /// The routes matching `q`, newest first, one page of them.
    pub fn query(&self, q: &RejectedQuery) -> RejectedPage {
        let limit = q.limit.clamp(1, MAX_LIMIT);
        let ring = self.lock();
        let mut total = 0;
        let mut after_cursor = 0;
        let mut routes = Vec::new();
        let mut last_id = None;
        let mut more = false;
        for (id, r) in ring.routes.iter().rev() {
            if !q.matches(r) {
                continue;
            }
            total += 1;
            if q.cursor.is_some_and(|c| *id >= c) {
                continue;
            }
            after_cursor += 1;
            if after_cursor <= q.offset {
                continue;
            }
            if routes.len() < limit {
                routes.push(r.clone());
                last_id = Some(*id);
            } else {
                more = true;
            }
        }
        RejectedPage {
            total,
            dropped: ring.dropped,
            offset: q.offset,
            limit,
            next_cursor: if more { last_id } else { None },
            routes,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn route(time: i64, peer: &str, prefix: &str, reasons: &[Reason]) -> RejectedRoute {
        RejectedRoute {
            time,
            peer: peer.into(),
            direction: Direction::In,
            prefix: prefix.parse().unwrap(),
            path_id: None,
            path: "64501 64502".into(),
            reasons: reasons.to_vec(),
            rpki: None,
            aspa: None,
        }
    }

    fn times(p: &RejectedPage) -> Vec<i64> {
        p.routes.iter().map(|r| r.time).collect()
    }

    #[test]
    fn a_full_store_drops_the_oldest_and_counts_them() {
        let s = RejectedStore::new(3);
        for t in 0..5 {
            s.push(route(t, "a", "192.0.2.0/24", &[Reason::RpkiInvalid]));
        }
        assert_eq!(s.len(), 3);
        assert_eq!(s.dropped(), 2);
        let p = s.query(&RejectedQuery::default());
        assert_eq!(times(&p), [4, 3, 2]);
        assert_eq!((p.total, p.dropped, p.next_cursor), (3, 2, None));
    }

    #[test]
    fn a_store_of_capacity_zero_keeps_nothing() {
        let s = RejectedStore::new(0);
        s.push(route(0, "a", "192.0.2.0/24", &[]));
        assert!(s.is_empty());
        assert_eq!(s.dropped(), 1);
        assert_eq!(s.query(&RejectedQuery::default()).routes, []);
    }

    #[test]
    fn filters_combine() {
        let s = RejectedStore::new(100);
        s.push(route(1, "a", "192.0.2.0/24", &[Reason::RpkiInvalid]));
        s.push(route(2, "b", "192.0.2.0/25", &[Reason::BogonPrefix]));
        s.push(route(
            3,
            "a",
            "192.0.2.128/25",
            &[Reason::FirstAs, Reason::RpkiInvalid],
        ));
        s.push(route(4, "a", "198.51.100.0/24", &[Reason::RpkiInvalid]));
        s.push(route(5, "a", "2001:db8::/32", &[Reason::RpkiInvalid]));
        let q = |f: &dyn Fn(&mut RejectedQuery)| {
            let mut q = RejectedQuery::default();
            f(&mut q);
            times(&s.query(&q))
        };
        assert_eq!(q(&|q| q.peer = Some("a".into())), [5, 4, 3, 1]);
        assert_eq!(q(&|q| q.reason = Some(Reason::RpkiInvalid)), [5, 4, 3, 1]);
        assert_eq!(q(&|q| q.reason = Some(Reason::FirstAs)), [3]);
        assert_eq!(q(&|q| q.prefix = "192.0.2.0/24".parse().ok()), [1]);
        assert_eq!(
            q(&|q| {
                q.prefix = "192.0.2.0/24".parse().ok();
                q.prefix_match = PrefixMatch::MoreSpecific;
            }),
            [3, 2, 1]
        );
        assert_eq!(
            q(&|q| {
                q.prefix = "0.0.0.0/0".parse().ok();
                q.prefix_match = PrefixMatch::MoreSpecific;
                q.peer = Some("a".into());
            }),
            [4, 3, 1]
        );
        assert_eq!(
            q(&|q| q.direction = Some(Direction::Out)),
            Vec::<i64>::new()
        );
        assert_eq!(q(&|q| q.peer = Some("nobody".into())), Vec::<i64>::new());
    }

    #[test]
    fn offset_and_cursor_page_through_newest_first() {
        let s = RejectedStore::new(100);
        for t in 0..10 {
            s.push(route(t, "a", "192.0.2.0/24", &[Reason::RpkiInvalid]));
        }
        let mut q = RejectedQuery {
            limit: 4,
            ..RejectedQuery::default()
        };
        let p1 = s.query(&q);
        assert_eq!(times(&p1), [9, 8, 7, 6]);
        assert_eq!((p1.total, p1.next_cursor), (10, Some(6)));
        q.cursor = p1.next_cursor;
        let p2 = s.query(&q);
        assert_eq!(times(&p2), [5, 4, 3, 2]);
        q.cursor = p2.next_cursor;
        let p3 = s.query(&q);
        assert_eq!(times(&p3), [1, 0]);
        assert_eq!(p3.next_cursor, None);
        // New routes arriving between pages do not shift a cursor's pages.
        s.push(route(10, "a", "192.0.2.0/24", &[]));
        q.cursor = p1.next_cursor;
        assert_eq!(times(&s.query(&q)), [5, 4, 3, 2]);

        let by_offset = s.query(&RejectedQuery {
            limit: 3,
            offset: 9,
            ..RejectedQuery::default()
        });
        assert_eq!(times(&by_offset), [1, 0]);
        assert_eq!(by_offset.total, 11);
    }

    #[test]
    fn serializes_reasons_as_codes_and_leaves_absent_values_out() {
        let mut r = route(1700000000, "a", "192.0.2.0/24", &[Reason::RpkiInvalid]);
        assert_eq!(
            serde_json::to_string(&r).unwrap(),
            r#"{"time":1700000000,"peer":"a","direction":"in","prefix":"192.0.2.0/24","path":"64501 64502","reasons":["rpki-invalid"]}"#
        );
        r.path_id = Some(7);
        r.rpki = Some(RovState::Invalid);
        r.aspa = Some(AspaState::Unknown);
        let text = serde_json::to_string(&r).unwrap();
        assert_eq!(
            text,
            r#"{"time":1700000000,"peer":"a","direction":"in","prefix":"192.0.2.0/24","path_id":7,"path":"64501 64502","reasons":["rpki-invalid"],"rpki":"invalid","aspa":"unknown"}"#
        );
        assert_eq!(serde_json::from_str::<RejectedRoute>(&text).unwrap(), r);
    }
}
