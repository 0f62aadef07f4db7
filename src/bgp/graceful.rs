//! Graceful restart (RFC 4724, with RFC 8538's NOTIFICATION support) as rules on values: the
//! capability bgpsieve advertises on each side of a pair, whether a session that ended leaves
//! its routes kept (stale) on the other side, which NOTIFICATIONs go out as Hard Reset, and how
//! a planned stop ends a session without ending its peer's graceful restart. bgpsieve forwards
//! no packets (next hops never point at it), so it may always say it kept its forwarding state
//! (F=1). Pure: no I/O, no clock.

use super::capability::{Capability, Family, GrFamily, GracefulRestart};
use super::fsm::DownReason;
use super::notification::{cease, code, Notification};
use super::open::{Negotiated, Open};
use crate::types::Afi;
use std::time::Duration;

/// What bgpsieve advertises on a session when graceful restart is on.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct GrLocal {
    /// Seconds its peers keep its routes while it restarts.
    pub restart_time: u16,
}

/// Graceful restart on an Established session where both sides advertised it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GrSession {
    /// The peer's capability: its restart time, R bit and families with F.
    pub peer: GracefulRestart,
    /// Both sides set N (RFC 8538): a NOTIFICATION other than Hard Reset keeps the routes.
    pub notification: bool,
}

/// The routes of a session that ended are kept, stale, for this long, in these families
/// (RFC 4724 §4.2).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Retained {
    pub restart_time: Duration,
    pub families: Vec<Afi>,
}

/// The session's graceful restart, when both OPENs carry the capability.
pub fn negotiate(local: &Open, remote: &Open) -> Option<GrSession> {
    let ours = local.graceful_restart()?;
    let peer = remote.graceful_restart()?.clone();
    Some(GrSession {
        notification: ours.notification && peer.notification,
        peer,
    })
}

/// `open` with bgpsieve's own graceful restart capability in place of any (long-lived)
/// graceful restart it carried: R when bgpsieve has just started (`restarting`), N, and every
/// unicast family the OPEN offers with F. Without `gr` the OPEN carries none.
pub fn with_own_capability(mut open: Open, gr: Option<GrLocal>, restarting: bool) -> Open {
    use super::capability::code::{GRACEFUL_RESTART, LONG_LIVED_GRACEFUL_RESTART};
    open.capabilities
        .retain(|c| !matches!(c.code(), GRACEFUL_RESTART | LONG_LIVED_GRACEFUL_RESTART));
    if let Some(gr) = gr {
        let families = open
            .unicast_families()
            .into_iter()
            .map(|afi| GrFamily {
                family: Family::unicast(afi),
                forwarding: true,
            })
            .collect();
        open.capabilities
            .push(Capability::GracefulRestart(GracefulRestart {
                restarting,
                notification: true,
                restart_time: gr.restart_time.min(GracefulRestart::MAX_RESTART_TIME),
                families,
            }));
    }
    open
}

/// RFC 8538 §5: the Cease subcodes sent as Hard Reset where N was negotiated (the session is
/// meant to end with its routes): Maximum Number of Prefixes Reached, Administrative Shutdown,
/// Peer De-configured, and Hard Reset itself. Administrative Reset is the sender's choice:
/// bgpsieve sends it for a planned restart, which keeps the routes.
pub fn wants_hard_reset(n: &Notification) -> bool {
    n.code == code::CEASE
        && matches!(
            n.subcode,
            cease::MAX_PREFIXES
                | cease::ADMIN_SHUTDOWN
                | cease::PEER_DECONFIGURED
                | cease::HARD_RESET
        )
}

fn is_hard_reset(n: &Notification) -> bool {
    n.code == code::CEASE && n.subcode == cease::HARD_RESET
}

/// The NOTIFICATION to put on the wire for `n` on a session that negotiated `gr`: wrapped in
/// a Hard Reset where N was negotiated and the session must end with its routes (`hard`, or a
/// subcode that calls for it). `n` unchanged otherwise.
pub fn outgoing(n: Notification, gr: Option<&GrSession>, hard: bool) -> Notification {
    let n_bit = gr.is_some_and(|g| g.notification);
    if n_bit && !is_hard_reset(&n) && (hard || wants_hard_reset(&n)) {
        Notification::hard_reset(&n)
    } else {
        n
    }
}

/// Whether the routes of session `neg` stay on the other side, stale, after it ended for
/// `reason` (RFC 4724 §4.2, RFC 8538 §3–4): only with graceful restart negotiated, a non-zero
/// restart time and families the peer listed; after a lost connection, or after a NOTIFICATION
/// other than Hard Reset where N was negotiated. `sent_hard` says a NOTIFICATION we sent went
/// out as a Hard Reset.
pub fn retained(neg: &Negotiated, reason: &DownReason, sent_hard: bool) -> Option<Retained> {
    let gr = neg.graceful_restart.as_ref()?;
    let graceful = match reason {
        DownReason::ConnectionLost => true,
        DownReason::NotificationReceived(n) => gr.notification && !is_hard_reset(n),
        DownReason::NotificationSent(n) => {
            gr.notification && !sent_hard && !is_hard_reset(n) && !wants_hard_reset(n)
        }
        DownReason::VersionErrorReceived => false,
    };
    let families: Vec<Afi> = neg
        .families
        .iter()
        .copied()
        .filter(|a| gr.peer.lists(*a))
        .collect();
    (graceful && gr.peer.restart_time > 0 && !families.is_empty()).then(|| Retained {
        restart_time: Duration::from_secs(u64::from(gr.peer.restart_time)),
        families,
    })
}

/// The families whose stale routes stay when the peer is back on `neg` (RFC 4724 §4.2): it
/// still lists them with F set. The stale routes of every other family go at once.
pub fn still_forwarding(neg: &Negotiated) -> Vec<Afi> {
    neg.graceful_restart.as_ref().map_or_else(Vec::new, |g| {
        neg.families
            .iter()
            .copied()
            .filter(|a| g.peer.forwarding(*a))
            .collect()
    })
}

/// How a session ends when bgpsieve stops for a restart.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PlannedStop {
    /// With this NOTIFICATION: the peer keeps the routes (N negotiated, Administrative Reset),
    /// or no graceful restart was negotiated and the session simply ends (Administrative
    /// Shutdown).
    Notify(Notification),
    /// Closing the connection without a NOTIFICATION: graceful restart without N, where any
    /// NOTIFICATION would end the peer's help (RFC 4724 §4.2).
    Close,
}

/// How to end session `neg` (`None`: not Established) for a planned stop with `message`.
pub fn planned_stop(neg: Option<&Negotiated>, message: &str) -> PlannedStop {
    match neg.and_then(|n| n.graceful_restart.as_ref()) {
        Some(g) if g.notification => PlannedStop::Notify(Notification::admin_reset(message)),
        Some(_) => PlannedStop::Close,
        None => PlannedStop::Notify(Notification::admin_shutdown(message)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::bgp::capability::Family;
    use crate::testutil::negotiated;

    fn gr(time: u16, n: bool, families: &[(Afi, bool)]) -> GracefulRestart {
        GracefulRestart {
            restarting: false,
            notification: n,
            restart_time: time,
            families: families
                .iter()
                .map(|&(a, f)| GrFamily {
                    family: Family::unicast(a),
                    forwarding: f,
                })
                .collect(),
        }
    }

    fn session(peer: GracefulRestart, notification: bool) -> Negotiated {
        Negotiated {
            graceful_restart: Some(GrSession { peer, notification }),
            ..negotiated(64501)
        }
    }

    fn open(caps: Vec<Capability>) -> Open {
        Open {
            version: 4,
            my_as: 64501,
            hold_time: 90,
            router_id: "192.0.2.1".parse().unwrap(),
            capabilities: caps,
        }
    }

    #[test]
    fn our_capability_replaces_any_other_and_lists_the_offered_families_with_f() {
        let theirs = open(vec![
            Capability::Multiprotocol(Family::IPV4_UNICAST),
            Capability::Multiprotocol(Family::IPV6_UNICAST),
            Capability::GracefulRestart(gr(300, false, &[(Afi::Ipv4, false)])),
            Capability::Unknown {
                code: 71,
                value: vec![0, 1, 1, 0x80, 0, 0, 10],
            },
        ]);
        let o = with_own_capability(theirs.clone(), Some(GrLocal { restart_time: 120 }), true);
        let got: Vec<_> = o
            .capabilities
            .iter()
            .filter(|c| c.code() == 64 || c.code() == 71)
            .collect();
        assert_eq!(
            got,
            vec![&Capability::GracefulRestart(GracefulRestart {
                restarting: true,
                ..gr(120, true, &[(Afi::Ipv4, true), (Afi::Ipv6, true)])
            })]
        );
        let none = with_own_capability(theirs, None, true);
        assert!(!none
            .capabilities
            .iter()
            .any(|c| c.code() == 64 || c.code() == 71));
    }

    #[test]
    fn negotiated_only_when_both_sides_advertise_it() {
        let with = |n| open(vec![Capability::GracefulRestart(gr(90, n, &[]))]);
        let without = open(vec![]);
        assert_eq!(negotiate(&with(true), &without), None);
        assert_eq!(negotiate(&without, &with(true)), None);
        assert!(negotiate(&with(true), &with(true)).unwrap().notification);
        assert!(!negotiate(&with(true), &with(false)).unwrap().notification);
    }

    #[test]
    fn a_lost_connection_keeps_the_routes_of_the_listed_families() {
        let neg = session(gr(120, false, &[(Afi::Ipv6, false)]), false);
        assert_eq!(
            retained(&neg, &DownReason::ConnectionLost, false),
            Some(Retained {
                restart_time: Duration::from_secs(120),
                families: vec![Afi::Ipv6]
            })
        );
        // Restart time 0, no family, or no graceful restart: nothing is kept.
        let zero = session(gr(0, false, &[(Afi::Ipv6, false)]), false);
        assert_eq!(retained(&zero, &DownReason::ConnectionLost, false), None);
        let helper = session(gr(120, false, &[]), false);
        assert_eq!(retained(&helper, &DownReason::ConnectionLost, false), None);
        assert_eq!(
            retained(&negotiated(64501), &DownReason::ConnectionLost, false),
            None
        );
    }

    #[test]
    fn a_notification_keeps_them_only_with_n_and_without_hard_reset() {
        let fam = [(Afi::Ipv4, true)];
        let hold = Notification::hold_timer_expired();
        let with_n = session(gr(120, true, &fam), true);
        let without_n = session(gr(120, false, &fam), false);
        let rx = |n: &Notification| DownReason::NotificationReceived(n.clone());
        let tx = |n: &Notification| DownReason::NotificationSent(n.clone());
        assert!(retained(&with_n, &rx(&hold), false).is_some());
        assert!(retained(&with_n, &tx(&hold), false).is_some());
        assert!(retained(&without_n, &rx(&hold), false).is_none());
        let hard = Notification::hard_reset(&Notification::admin_shutdown(""));
        assert!(retained(&with_n, &rx(&hard), false).is_none());
        // We ended it meaning it: a Hard Reset went out.
        assert!(retained(&with_n, &tx(&hold), true).is_none());
        assert!(retained(
            &with_n,
            &tx(&Notification::max_prefixes(Afi::Ipv4, 10)),
            false
        )
        .is_none());
        // A received Administrative Shutdown with N is the peer's choice not to hard reset.
        assert!(retained(&with_n, &rx(&Notification::admin_shutdown("x")), false).is_some());
        assert!(retained(&with_n, &DownReason::VersionErrorReceived, false).is_none());
    }

    #[test]
    fn hard_reset_wraps_what_must_end_the_routes_where_n_was_negotiated() {
        let fam = [(Afi::Ipv4, true)];
        let with_n = session(gr(120, true, &fam), true);
        let g = with_n.graceful_restart.as_ref();
        let shut = Notification::admin_shutdown("bye");
        assert_eq!(
            outgoing(shut.clone(), g, false),
            Notification::hard_reset(&shut)
        );
        assert_eq!(outgoing(shut.clone(), None, false), shut);
        let hold = Notification::hold_timer_expired();
        assert_eq!(outgoing(hold.clone(), g, false), hold);
        assert_eq!(
            outgoing(hold.clone(), g, true),
            Notification::hard_reset(&hold)
        );
        // Never a Hard Reset inside a Hard Reset.
        let hard = Notification::hard_reset(&hold);
        assert_eq!(outgoing(hard.clone(), g, true), hard);
        let reset = Notification::admin_reset("restart");
        assert_eq!(outgoing(reset.clone(), g, false), reset);
    }

    #[test]
    fn stale_routes_stay_only_for_families_still_listed_with_f() {
        let neg = session(
            gr(120, false, &[(Afi::Ipv4, true), (Afi::Ipv6, false)]),
            false,
        );
        assert_eq!(still_forwarding(&neg), vec![Afi::Ipv4]);
        assert_eq!(still_forwarding(&negotiated(1)), Vec::<Afi>::new());
    }

    #[test]
    fn a_planned_stop_keeps_the_peers_help() {
        let fam = [(Afi::Ipv4, true)];
        assert_eq!(
            planned_stop(Some(&session(gr(120, true, &fam), true)), "upgrade"),
            PlannedStop::Notify(Notification::admin_reset("upgrade"))
        );
        assert_eq!(
            planned_stop(Some(&session(gr(120, false, &fam), false)), "upgrade"),
            PlannedStop::Close
        );
        assert_eq!(
            planned_stop(Some(&negotiated(1)), "upgrade"),
            PlannedStop::Notify(Notification::admin_shutdown("upgrade"))
        );
        assert_eq!(
            planned_stop(None, "upgrade"),
            PlannedStop::Notify(Notification::admin_shutdown("upgrade"))
        );
    }
}
