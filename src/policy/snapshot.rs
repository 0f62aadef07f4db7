//! What the checks read, as one snapshot: the RPKI data, the local policy and every pair's
//! policy, with a generation that counts the changes. Sessions check the routes they decode
//! with the snapshot in force (so policy work spreads over the I/O threads) and tag their
//! verdicts with its generation; the RIB makes again any verdict made with another generation
//! than its own. Swapped whole; readers clone the `Arc` and never hold the lock longer.

use super::{LocalPolicy, PeerPolicy, Verdict};
use crate::rpki::RpkiData;
use crate::types::Direction;
use ipnet::IpNet;
use std::sync::{Arc, PoisonError, RwLock};

/// The policy in force.
#[derive(Debug, Clone)]
pub struct PolicySnapshot {
    pub generation: u64,
    pub rpki: Arc<RpkiData>,
    pub local: LocalPolicy,
    /// By pair slot (the `[[peer]]` order at start; a reload appends the pairs it adds and
    /// leaves a removed pair's entry in its retired slot).
    pub peers: Vec<PeerPolicy>,
}

impl PolicySnapshot {
    /// The stateless verdicts of routes sharing one attribute set, for pair `pair` in
    /// `direction`, in order; empty for an unknown pair.
    pub fn evaluate<'a>(
        &self,
        pair: usize,
        direction: Direction,
        attrs: &Arc<crate::types::Attrs>,
        prefixes: impl Iterator<Item = (&'a IpNet, Option<u32>)>,
    ) -> Vec<Verdict> {
        let Some(peer) = self.peers.get(pair) else {
            return Vec::new();
        };
        super::evaluate_batch(direction, attrs, prefixes, peer, &self.local, &self.rpki)
    }
}

/// The snapshot in force, shared by every session.
#[derive(Debug)]
pub struct SharedPolicy(RwLock<Arc<PolicySnapshot>>);

impl SharedPolicy {
    pub fn new(snapshot: PolicySnapshot) -> SharedPolicy {
        SharedPolicy(RwLock::new(Arc::new(snapshot)))
    }

    /// The snapshot in force.
    pub fn load(&self) -> Arc<PolicySnapshot> {
        self.0
            .read()
            .unwrap_or_else(PoisonError::into_inner)
            .clone()
    }

    /// Puts a snapshot in force.
    pub fn store(&self, snapshot: PolicySnapshot) {
        *self.0.write().unwrap_or_else(PoisonError::into_inner) = Arc::new(snapshot);
    }
}
