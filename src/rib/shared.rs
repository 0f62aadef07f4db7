//! What the checks read, as one snapshot: the RPKI data, the local policy and every peer's
//! policy, with a generation that counts the changes. Sessions check the routes they decode
//! with the snapshot in force (so policy work spreads over the I/O threads) and tag their
//! verdicts with its generation; the RIB makes again any verdict made with another generation
//! than its own. Swapped whole; readers clone the `Arc` and never hold the lock longer.

use crate::policy::{LocalPolicy, PeerPolicy};
use crate::rpki::RpkiData;
use std::sync::{Arc, PoisonError, RwLock};

/// The policy in force.
#[derive(Debug, Clone)]
pub struct PolicySnapshot {
    pub generation: u64,
    pub rpki: Arc<RpkiData>,
    pub local: LocalPolicy,
    /// By peer index (the daemon's peer list).
    pub peers: Vec<PeerPolicy>,
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
