//! What a reloaded configuration changes, decided without touching anything: which sessions
//! must restart (their parameters changed), which peers get a new policy or new limits (routes
//! checked again, sessions kept), whether the local policy changed, and what only a restart of
//! the daemon can apply, and which pairs come and go (peers are matched by name: a renamed peer,
//! or one whose addresses changed, is a removal and an addition). Pure: compares two validated
//! configurations.

use crate::config::{Config, PeerConfig};
use crate::types::{SessionId, Side};

/// The plan for one reload. Peers are matched by name; indices are positions in the new
/// configuration (the order of the `[[peer]]` sections alone changes nothing).
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
    /// Peers that get a pair of their own (indices in the new configuration): a new name, or a
    /// changed address (`address`, `local_address`, the router's `address`/`local_address`).
    pub added: Vec<usize>,
    /// Pairs that go away (names in the old configuration): a name no longer configured, or a
    /// changed address (the peer is then in `added` as well). A renamed peer is a removal and an
    /// addition.
    pub removed: Vec<String>,
}

/// Which pair slot each peer lives in. A pair's slot is its id everywhere in the daemon
/// (`SessionId.pair`, its session channels, its RIB pair, its policy in the snapshot, its
/// metrics handles) and never changes while the daemon runs: the order of the `[[peer]]`
/// sections in a reloaded file moves nothing, a removed pair's slot is retired (never reused),
/// an added pair gets the next one.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) struct Slots(Vec<Option<String>>);

impl Slots {
    /// The slots of the configuration the daemon starts with: its `[[peer]]` order.
    pub fn new(cfg: &Config) -> Slots {
        Slots(cfg.peers.iter().map(|p| Some(p.name.clone())).collect())
    }

    /// The live slot of the peer named `name`.
    pub fn of(&self, name: &str) -> Option<usize> {
        self.0.iter().position(|s| s.as_deref() == Some(name))
    }

    /// The slot of the new configuration's peer `i`.
    pub fn of_new(&self, new: &Config, i: usize) -> Option<usize> {
        self.of(&new.peers.get(i)?.name)
    }

    /// Retires the slots of the plan's removed peers and appends one per added peer, in the
    /// new configuration's order: (retired slots, (new slot, index in `new`)).
    pub fn apply(&mut self, plan: &ReloadPlan, new: &Config) -> (Vec<usize>, Vec<(usize, usize)>) {
        let mut retired = Vec::new();
        for name in &plan.removed {
            if let Some(slot) = self.of(name) {
                if let Some(s) = self.0.get_mut(slot) {
                    *s = None;
                }
                retired.push(slot);
            }
        }
        let mut added = Vec::new();
        for &i in &plan.added {
            if let Some(p) = new.peers.get(i) {
                added.push((self.0.len(), i));
                self.0.push(Some(p.name.clone()));
            }
        }
        (retired, added)
    }

    /// Every slot, retired ones included.
    #[cfg(test)]
    pub fn len(&self) -> usize {
        self.0.len()
    }
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

/// The addresses that identify a pair's sessions: a change gives the peer a new pair.
fn addresses(p: &PeerConfig) -> impl PartialEq {
    (
        p.address,
        p.local_address,
        p.router.as_ref().map(|r| (r.address, r.local_address)),
    )
}

pub(super) fn plan(old: &Config, new: &Config) -> ReloadPlan {
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
    for o in &old.peers {
        let kept = new.peers.iter().find(|n| n.name == o.name);
        if kept.is_none_or(|n| addresses(o) != addresses(n)) {
            plan.removed.push(o.name.clone());
        }
    }
    for (i, n) in new.peers.iter().enumerate() {
        let Some(o) = old.peers.iter().find(|o| o.name == n.name) else {
            plan.added.push(i);
            continue;
        };
        if addresses(o) != addresses(n) {
            plan.added.push(i);
            continue;
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
    plan
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
        assert_eq!(plan(&cfg(BASE), &cfg(BASE)), ReloadPlan::default());
    }

    #[test]
    fn a_policy_key_changes_the_policy_and_keeps_the_session() {
        let new = BASE.replace(
            "address = \"127.0.0.2\"",
            "address = \"127.0.0.2\"\nprefix_length_v4 = [8, 25]",
        );
        let p = plan(&cfg(BASE), &cfg(&new));
        assert_eq!((p.restart, p.policy, p.local), (vec![], vec![0], false));
    }

    #[test]
    fn a_session_key_restarts_that_session() {
        let new = BASE.replace("asn = 64501", "asn = 64503");
        let p = plan(&cfg(BASE), &cfg(&new));
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
        let p = plan(&cfg(BASE), &cfg(&new));
        assert_eq!(
            (p.restart, p.policy),
            (vec![SessionId::new(1, Side::Router)], vec![1])
        );
    }

    #[test]
    fn the_announce_list_is_the_local_policy() {
        let new = BASE.replace("203.0.113.0/24", "198.51.100.0/24");
        let p = plan(&cfg(BASE), &cfg(&new));
        assert!(p.local && p.restart.is_empty() && p.policy.is_empty());
    }

    /// `BASE` with peer `b` only, and with `b` before `a`.
    fn only_b() -> String {
        let a = BASE.find("[[peer]]\nname = \"a\"").unwrap();
        let b = BASE.find("[[peer]]\nname = \"b\"").unwrap();
        format!("{}{}", &BASE[..a], &BASE[b..])
    }

    fn b_then_a() -> String {
        let a = BASE.find("[[peer]]\nname = \"a\"").unwrap();
        let b = BASE.find("[[peer]]\nname = \"b\"").unwrap();
        format!("{}{}\n{}", &BASE[..a], &BASE[b..], &BASE[a..b])
    }

    #[test]
    fn the_order_of_the_peers_alone_changes_nothing() {
        assert_eq!(plan(&cfg(BASE), &cfg(&b_then_a())), ReloadPlan::default());
        // A change of `a`, now second in the file, names its new position.
        let changed = b_then_a().replace("asn = 64501", "asn = 64503");
        let p = plan(&cfg(BASE), &cfg(&changed));
        assert_eq!(p.policy, vec![1]);
        assert_eq!(p.restart[0], SessionId::new(1, Side::Neighbor));
        assert!(p.added.is_empty() && p.removed.is_empty());
    }

    #[test]
    fn a_peer_added_or_removed_touches_no_other() {
        let p = plan(&cfg(&only_b()), &cfg(BASE));
        assert_eq!((p.added, p.removed), (vec![0], vec![]));
        assert!(p.restart.is_empty() && p.policy.is_empty() && p.shutdown.is_empty());
        let p = plan(&cfg(BASE), &cfg(&only_b()));
        assert_eq!((p.added, p.removed), (vec![], vec!["a".to_string()]));
        assert!(p.restart.is_empty() && p.policy.is_empty() && p.not_applied.is_empty());
    }

    #[test]
    fn a_renamed_peer_is_a_removal_and_an_addition() {
        let renamed = BASE.replace("name = \"b\"", "name = \"b2\"");
        let p = plan(&cfg(BASE), &cfg(&renamed));
        assert_eq!((p.added, p.removed), (vec![1], vec!["b".to_string()]));
        assert!(p.restart.is_empty() && p.policy.is_empty());
    }

    #[test]
    fn a_changed_address_is_a_removal_and_an_addition() {
        for moved in [
            BASE.replace("127.0.0.2", "127.0.0.9"),
            BASE.replace(
                "\"127.0.0.3\", local_address = \"127.0.0.12\"",
                "\"127.0.0.5\", local_address = \"127.0.0.12\"",
            ),
        ] {
            let p = plan(&cfg(BASE), &cfg(&moved));
            assert!(p.restart.is_empty() && p.policy.is_empty(), "{p:?}");
            assert_eq!((p.added, p.removed), (vec![0], vec!["a".to_string()]));
        }
        let router_moved = BASE.replace("127.0.0.14", "127.0.0.15");
        let p = plan(&cfg(BASE), &cfg(&router_moved));
        assert_eq!((p.added, p.removed), (vec![1], vec!["b".to_string()]));
    }

    #[test]
    fn the_router_id_is_not_applied_live() {
        let id = BASE.replace("192.0.2.1", "192.0.2.9");
        let p = plan(&cfg(BASE), &cfg(&id));
        assert_eq!(p.not_applied.len(), 1);
    }

    #[test]
    fn slots_stay_put_retire_and_grow() {
        let mut slots = Slots::new(&cfg(BASE));
        assert_eq!((slots.of("a"), slots.of("b")), (Some(0), Some(1)));
        // Reordered: nobody moves.
        let reordered = cfg(&b_then_a());
        let p = plan(&cfg(BASE), &reordered);
        assert_eq!(slots.apply(&p, &reordered), (vec![], vec![]));
        assert_eq!(slots.of_new(&reordered, 0), Some(1));
        assert_eq!(slots.of_new(&reordered, 1), Some(0));
        // `a` removed: its slot is retired; `b` stays in slot 1.
        let fewer = cfg(&only_b());
        let p = plan(&reordered, &fewer);
        assert_eq!(slots.apply(&p, &fewer), (vec![0], vec![]));
        assert_eq!((slots.of("a"), slots.of("b")), (None, Some(1)));
        // `a` back: a new slot, never the retired one.
        let p = plan(&fewer, &cfg(BASE));
        assert_eq!(slots.apply(&p, &cfg(BASE)), (vec![], vec![(2, 0)]));
        assert_eq!((slots.of("a"), slots.len()), (Some(2), 3));
        // `b`'s address changes: same name, a new slot.
        let moved = cfg(&BASE.replace("127.0.0.14", "127.0.0.15"));
        let p = plan(&cfg(BASE), &moved);
        assert_eq!(slots.apply(&p, &moved), (vec![1], vec![(3, 1)]));
        assert_eq!(slots.of("b"), Some(3));
    }

    #[test]
    fn the_shutdown_key_takes_only_its_pair_down_or_up() {
        let down = BASE.replace(
            "address = \"127.0.0.2\"",
            "address = \"127.0.0.2\"\nshutdown = \"maintenance\"",
        );
        let p = plan(&cfg(BASE), &cfg(&down));
        assert_eq!(p.shutdown, vec![(0, Some("maintenance".to_string()))]);
        assert!(
            p.restart.is_empty() && p.policy.is_empty() && !p.local,
            "{p:?}"
        );
        let p = plan(&cfg(&down), &cfg(BASE));
        assert_eq!(p.shutdown, vec![(0, None)]);
        assert!(p.restart.is_empty() && p.policy.is_empty(), "{p:?}");
        // A new message is a change; the same key is none.
        let other = down.replace("maintenance", "fibre cut");
        let p = plan(&cfg(&down), &cfg(&other));
        assert_eq!(p.shutdown, vec![(0, Some("fibre cut".to_string()))]);
        assert_eq!(plan(&cfg(&down), &cfg(&down)), ReloadPlan::default());
        // With a session key changed as well, the session restarts too.
        let both = down.replace("asn = 64501", "asn = 64503");
        let p = plan(&cfg(BASE), &cfg(&both));
        assert_eq!(p.shutdown.len(), 1);
        assert_eq!(p.restart.len(), 2);
    }

    #[test]
    fn the_state_directory_and_incidents_need_a_restart() {
        let moved = BASE.replace("[global]\n", "[global]\nstate_dir = \"/srv/b\"\n");
        let kept = format!("{BASE}\n[incidents]\nkeep = 10\n");
        for changed in [moved, kept] {
            let p = plan(&cfg(BASE), &cfg(&changed));
            assert_eq!(
                p.not_applied,
                ["global state_dir or [incidents] changed: restart bgpsieve to apply"]
            );
        }
    }
}
