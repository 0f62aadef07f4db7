//! What a reloaded configuration changes, decided without touching anything: which sessions
//! must restart (their parameters changed), which peers get a new policy or new limits (routes
//! checked again, sessions kept), whether the local policy changed, and what only a restart of
//! the daemon can apply. Pure: compares two validated configurations.

use crate::config::{Config, PeerConfig};
use crate::types::{SessionId, Side};

/// The plan for one reload.
#[derive(Debug, Default, PartialEq, Eq)]
pub(super) struct ReloadPlan {
    /// Sessions whose parameters changed: each ends with Cease/6 and starts again (a neighbor
    /// side's restart takes its router side down and up with it).
    pub restart: Vec<SessionId>,
    /// Peers whose policy or limits changed (restarted ones included).
    pub policy: Vec<usize>,
    /// The announce list, bogons or Peerlock changed: every route is checked again.
    pub local: bool,
    /// The RPKI file lists or the circuit breaker settings changed.
    pub rpki_files: bool,
    /// Changes this reload does not apply (they need a restart), in words, for the log.
    pub not_applied: Vec<String>,
    /// Peers whose `shutdown` key changed, with its new value: the pair goes administratively
    /// down (`Some(message)`) or up (`None`); nothing else of it restarts.
    pub shutdown: Vec<(usize, Option<String>)>,
}

/// Why a reload is refused as a whole.
#[derive(Debug, PartialEq, Eq, thiserror::Error)]
pub(super) enum RefuseReload {
    #[error(
        "the [[peer]] sections changed in number, names or order ({0}): restart bgpsieve to apply"
    )]
    Peers(String),
    #[error(
        "peer {0}: address, local_address or a router address changed: restart bgpsieve to apply"
    )]
    Address(String),
}

/// What the neighbor side's session is configured with: a change means it starts again.
fn neighbor_key(p: &PeerConfig) -> impl PartialEq + '_ {
    (
        (p.role, p.asn, p.port, p.passive, &p.afi),
        p.router.as_ref().map(|r| r.asn),
        (p.role_strict, p.idle_hold, p.idle_hold_max, p.connect_retry),
        (&p.md5_password, p.ttl_security),
    )
}

/// What the router side's session is configured with (the pair's role, ASNs and families are
/// in the neighbor side's key, whose change restarts both).
fn router_key(p: &PeerConfig) -> impl PartialEq + '_ {
    p.router
        .as_ref()
        .map(|r| (r.port, r.passive, &r.md5_password, r.ttl_security))
}

pub(super) fn plan(old: &Config, new: &Config) -> Result<ReloadPlan, RefuseReload> {
    let names = |c: &Config| c.peers.iter().map(|p| p.name.clone()).collect::<Vec<_>>();
    if names(old) != names(new) {
        return Err(RefuseReload::Peers(format!(
            "{} -> {}",
            names(old).join(","),
            names(new).join(",")
        )));
    }
    let mut plan = ReloadPlan::default();
    let (g, h) = (&old.global, &new.global);
    if (g.asn, g.router_id, &g.listen) != (h.asn, h.router_id, &h.listen) {
        plan.not_applied
            .push("global asn, router_id or listen changed: restart bgpsieve to apply".into());
    }
    if old.graceful_restart != new.graceful_restart {
        plan.not_applied
            .push("[graceful_restart] changed: restart bgpsieve to apply".into());
    }
    if old.api != new.api {
        plan.not_applied
            .push("[api] changed: restart bgpsieve to apply".into());
    }
    if (&g.state_dir, &old.incidents) != (&h.state_dir, &new.incidents) {
        plan.not_applied
            .push("global state_dir or [incidents] changed: restart bgpsieve to apply".into());
    }
    if (&old.rpki.rtr, old.rpki.expire) != (&new.rpki.rtr, new.rpki.expire) {
        plan.not_applied
            .push("[rpki] rtr or expire changed: restart bgpsieve to apply".into());
    }
    let global_session = g.hold_time != h.hold_time;
    for (i, (o, n)) in old.peers.iter().zip(&new.peers).enumerate() {
        let addresses = |p: &PeerConfig| {
            (
                p.address,
                p.local_address,
                p.router.as_ref().map(|r| (r.address, r.local_address)),
            )
        };
        if addresses(o) != addresses(n) {
            return Err(RefuseReload::Address(n.name.clone()));
        }
        let neighbor = global_session || neighbor_key(o) != neighbor_key(n);
        let router = neighbor || router_key(o) != router_key(n);
        if neighbor {
            plan.restart.push(SessionId::new(i, Side::Neighbor));
        }
        if router {
            plan.restart.push(SessionId::new(i, Side::Router));
        }
        if o.shutdown != n.shutdown {
            plan.shutdown.push((i, n.shutdown.clone()));
        }
        // The `shutdown` key alone is no policy change.
        let policy_of = |p: &PeerConfig| PeerConfig {
            shutdown: None,
            ..p.clone()
        };
        if neighbor || router || policy_of(o) != policy_of(n) {
            plan.policy.push(i);
        }
    }
    plan.local = (&g.announce, &g.announce_irr, &old.bogons, &old.peerlock)
        != (&h.announce, &h.announce_irr, &new.bogons, &new.peerlock);
    let (r, s) = (&old.rpki, &new.rpki);
    plan.rpki_files = (
        &r.vrp_files,
        &r.aspa_files,
        &r.slurm_files,
        r.max_shrink_percent,
        r.max_shrink_hold,
        r.fail_open,
    ) != (
        &s.vrp_files,
        &s.aspa_files,
        &s.slurm_files,
        s.max_shrink_percent,
        s.max_shrink_hold,
        s.fail_open,
    );
    Ok(plan)
}

#[cfg(test)]
mod tests {
    use super::*;

    const BASE: &str = r#"
[global]
asn = 64500
router_id = "192.0.2.1"
listen = ["127.0.0.1:1179"]
announce = ["203.0.113.0/24"]

[[peer]]
name = "a"
role = "customer"
asn = 64501
address = "127.0.0.2"
router = { address = "127.0.0.3", local_address = "127.0.0.12" }

[[peer]]
name = "b"
role = "provider"
asn = 64502
address = "127.0.0.4"
router = { address = "127.0.0.3", local_address = "127.0.0.14" }
"#;

    fn cfg(text: &str) -> Config {
        crate::config::parse_str(text, "t.toml").unwrap().config
    }

    #[test]
    fn the_same_file_changes_nothing() {
        assert_eq!(plan(&cfg(BASE), &cfg(BASE)), Ok(ReloadPlan::default()));
    }

    #[test]
    fn a_policy_key_changes_the_policy_and_keeps_the_session() {
        let new = BASE.replace(
            "address = \"127.0.0.2\"",
            "address = \"127.0.0.2\"\nprefix_length_v4 = [8, 25]",
        );
        let p = plan(&cfg(BASE), &cfg(&new)).unwrap();
        assert_eq!((p.restart, p.policy, p.local), (vec![], vec![0], false));
    }

    #[test]
    fn a_session_key_restarts_that_session() {
        let new = BASE.replace("asn = 64501", "asn = 64503");
        let p = plan(&cfg(BASE), &cfg(&new)).unwrap();
        let both = vec![
            SessionId::new(0, Side::Neighbor),
            SessionId::new(0, Side::Router),
        ];
        assert_eq!((p.restart, p.policy), (both, vec![0]));
    }

    #[test]
    fn a_router_side_key_restarts_only_the_router_side() {
        let new = BASE.replace(
            "local_address = \"127.0.0.14\" }",
            "local_address = \"127.0.0.14\", port = 1179 }",
        );
        let p = plan(&cfg(BASE), &cfg(&new)).unwrap();
        assert_eq!(
            (p.restart, p.policy),
            (vec![SessionId::new(1, Side::Router)], vec![1])
        );
    }

    #[test]
    fn the_announce_list_is_the_local_policy() {
        let new = BASE.replace("203.0.113.0/24", "198.51.100.0/24");
        let p = plan(&cfg(BASE), &cfg(&new)).unwrap();
        assert!(p.local && p.restart.is_empty() && p.policy.is_empty());
    }

    #[test]
    fn peers_added_or_moved_and_addresses_need_a_restart() {
        let fewer = &BASE[..BASE.find("[[peer]]\nname = \"b\"").unwrap()];
        assert!(matches!(
            plan(&cfg(BASE), &cfg(fewer)),
            Err(RefuseReload::Peers(_))
        ));
        let moved = BASE.replace("127.0.0.2", "127.0.0.9");
        assert_eq!(
            plan(&cfg(BASE), &cfg(&moved)),
            Err(RefuseReload::Address("a".into()))
        );
        let router_moved = BASE.replace("127.0.0.14", "127.0.0.15");
        assert_eq!(
            plan(&cfg(BASE), &cfg(&router_moved)),
            Err(RefuseReload::Address("b".into()))
        );
        let id = BASE.replace("192.0.2.1", "192.0.2.9");
        let p = plan(&cfg(BASE), &cfg(&id)).unwrap();
        assert_eq!(p.not_applied.len(), 1);
    }

    #[test]
    fn the_shutdown_key_takes_only_its_pair_down_or_up() {
        let down = BASE.replace(
            "address = \"127.0.0.2\"",
            "address = \"127.0.0.2\"\nshutdown = \"maintenance\"",
        );
        let p = plan(&cfg(BASE), &cfg(&down)).unwrap();
        assert_eq!(p.shutdown, vec![(0, Some("maintenance".to_string()))]);
        assert!(
            p.restart.is_empty() && p.policy.is_empty() && !p.local,
            "{p:?}"
        );
        let p = plan(&cfg(&down), &cfg(BASE)).unwrap();
        assert_eq!(p.shutdown, vec![(0, None)]);
        assert!(p.restart.is_empty() && p.policy.is_empty(), "{p:?}");
        // A new message is a change; the same key is none.
        let other = down.replace("maintenance", "fibre cut");
        let p = plan(&cfg(&down), &cfg(&other)).unwrap();
        assert_eq!(p.shutdown, vec![(0, Some("fibre cut".to_string()))]);
        assert_eq!(plan(&cfg(&down), &cfg(&down)), Ok(ReloadPlan::default()));
        // With a session key changed as well, the session restarts too.
        let both = down.replace("asn = 64501", "asn = 64503");
        let p = plan(&cfg(BASE), &cfg(&both)).unwrap();
        assert_eq!(p.shutdown.len(), 1);
        assert_eq!(p.restart.len(), 2);
    }

    #[test]
    fn the_state_directory_and_incidents_need_a_restart() {
        let moved = BASE.replace("[global]\n", "[global]\nstate_dir = \"/srv/b\"\n");
        let kept = format!("{BASE}\n[incidents]\nkeep = 10\n");
        for changed in [moved, kept] {
            let p = plan(&cfg(BASE), &cfg(&changed)).unwrap();
            assert_eq!(
                p.not_applied,
                ["global state_dir or [incidents] changed: restart bgpsieve to apply"]
            );
        }
    }
}
