//! What one session shows operators beyond up and down: its FSM state and since when, how many
//! times it left Established, and its last error (a NOTIFICATION sent or received with its
//! text, or the connection error). The session task writes it; the RIB's views and the API
//! read it; the metrics `bgpsieve_session_state` and `bgpsieve_session_flaps_total` follow it.

use super::fsm::State;
use crate::metrics::Metrics;
use crate::types::SessionId;
use serde::{Deserialize, Serialize};
use std::sync::{Arc, Mutex, PoisonError};

/// A session's diagnostics, as the API shows them.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct SessionDiag {
    /// The FSM state (RFC 4271 §8.2.2): idle, connect, active, opensent, openconfirm or
    /// established.
    pub fsm_state: String,
    /// Unix seconds of the last FSM state change.
    pub fsm_since: Option<i64>,
    /// Times the session left Established.
    pub flaps: u64,
    /// The last error.
    pub last_error: Option<LastError>,
}

/// An error with its time.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct LastError {
    /// Unix seconds.
    pub at: i64,
    /// What happened, e.g. `NOTIFICATION received: Cease/Administrative Shutdown (6/2)` or
    /// `connection attempt failed: Connection refused (os error 111)`.
    pub error: String,
}

/// BGP4-MIB's bgpPeerState number of an FSM state.
pub fn mib_state(s: State) -> u8 {
    match s {
        State::Idle => 1,
        State::Connect => 2,
        State::Active => 3,
        State::OpenSent => 4,
        State::OpenConfirm => 5,
        State::Established => 6,
    }
}

/// The shared diagnostics of one session, and the metrics they feed.
#[derive(Debug, Clone, Default)]
pub struct DiagHandle {
    diag: Arc<Mutex<SessionDiag>>,
    metrics: Option<(Arc<Metrics>, SessionId)>,
}

impl DiagHandle {
    /// Diagnostics that also set the session's metrics (`id` names the peer and side).
    pub fn with_metrics(metrics: Arc<Metrics>, id: SessionId) -> DiagHandle {
        DiagHandle {
            diag: Arc::default(),
            metrics: Some((metrics, id)),
        }
    }

    /// A copy of the current diagnostics.
    pub fn snapshot(&self) -> SessionDiag {
        self.lock().clone()
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, SessionDiag> {
        self.diag.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// The FSM is in `state` at unix time `now` (a call without a change changes nothing).
    pub fn state(&self, state: State, now: i64) {
        let mut d = self.lock();
        if d.fsm_state != state.as_str() {
            d.fsm_state = state.as_str().to_string();
            d.fsm_since = Some(now);
            if let Some((m, id)) = &self.metrics {
                m.session_state(id.pair, id.side, mib_state(state));
            }
        }
    }

    /// The session left Established at `now` for `reason`.
    pub fn down(&self, now: i64, reason: String) {
        let mut d = self.lock();
        d.flaps += 1;
        d.last_error = Some(LastError {
            at: now,
            error: reason,
        });
        if let Some((m, id)) = &self.metrics {
            m.session_flap(id.pair, id.side);
        }
    }

    /// An error at `now` that did not end an Established session (a failed connection, a
    /// NOTIFICATION before Established).
    pub fn error(&self, now: i64, error: String) {
        self.lock().last_error = Some(LastError { at: now, error });
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::metrics::PeerLabel;
    use crate::types::Side;

    #[test]
    fn state_changes_flaps_and_errors_are_recorded_and_counted() {
        let metrics = Arc::new(Metrics::new(&[PeerLabel { name: "p".into() }]));
        let d = DiagHandle::with_metrics(metrics.clone(), SessionId::new(0, Side::Router));
        d.state(State::Connect, 10);
        d.error(11, "connection attempt failed: refused".into());
        d.state(State::Established, 20);
        d.state(State::Established, 25);
        let s = d.snapshot();
        assert_eq!(
            (s.fsm_state.as_str(), s.fsm_since),
            ("established", Some(20))
        );
        assert_eq!(s.last_error.map(|e| e.at), Some(11));
        d.down(
            30,
            "NOTIFICATION received: Cease/Administrative Shutdown (6/2)".into(),
        );
        d.state(State::Idle, 30);
        let s = d.snapshot();
        assert_eq!(s.flaps, 1);
        assert_eq!(s.fsm_state, "idle");
        assert!(s.last_error.unwrap().error.contains("6/2"));
        let page = metrics.render();
        assert!(
            page.contains(r#"bgpsieve_session_state{peer="p",side="router"} 1"#),
            "{page}"
        );
        assert!(
            page.contains(r#"bgpsieve_session_state{peer="p",side="neighbor"} 1"#),
            "{page}"
        );
        assert!(
            page.contains(r#"bgpsieve_session_flaps_total{peer="p",side="router"} 1"#),
            "{page}"
        );
    }
}
