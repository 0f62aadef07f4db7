//! The RIB: every route bgpsieve holds, and what moves where. Sans-IO: `Rib::handle` takes one
//! event from a session and returns what to send to which sessions; the daemon's RIB task owns
//! it and does the I/O. Neighbor routes are checked on import and kept pre-policy with their
//! verdict (Adj-RIB-In), accepted ones go to the router (ADD-PATH when the router negotiated it,
//! else the best path of RFC 4271 §9.1.2.2); the router's routes are checked on export toward
//! each neighbor (Adj-RIB-Out records what each neighbor was sent).

use crate::bgp::fsm::DownReason;
use crate::bgp::notification::Notification;
use crate::bgp::open::Negotiated;
use crate::bgp::session::FromSession;
use crate::bgp::update::{
    encode_announcements, encode_end_of_rib, encode_withdrawals, DecodedUpdate, EncodeCtx, Nlri,
    Outgoing, PathAttributes,
};
use crate::policy::{
    apply_limit, evaluate,
    max_prefix::{Announcement, KnownPrefixes},
    LocalPolicy, MaxPrefixState, PeerPolicy, Reason, Verdict,
};
use crate::rpki::RpkiData;
use crate::unix_now;

mod adj_in;
mod incident;
mod ops;
mod reevaluate;
mod shared;
use crate::types::{Afi, Asn, Direction, PerAfi, Role, Route};
pub use adj_in::AdjRibIn;
pub use incident::{Incident, Incidents};
pub use ops::Ops;
pub use reevaluate::{PeerReconfig, PolicyUpdate, Reconfigure, Reevaluation};
use rustc_hash::FxHashMap as HashMap;
pub use shared::{PolicySnapshot, SharedPolicy};
use std::net::IpAddr;
use std::sync::Arc;

/// Large-community function numbers (`LOCAL_AS:FUNCTION:VALUE`) on routes sent to the router.
pub mod community {
    use crate::types::Role;
    /// `LOCAL_AS:1001..1005:NEIGHBOR_ASN`: the neighbor's role and AS, for the router's policy.
    pub fn role_function(role: Role) -> u32 {
        match role {
            Role::Provider => 1001,
            Role::Peer => 1002,
            Role::Customer => 1003,
            Role::Rs => 1004,
            Role::RsClient => 1005,
            Role::Router => 1000,
        }
    }
    /// `LOCAL_AS:1101:REASON_NUMBER` on a route passed in observe mode despite failing a check.
    pub const REJECT_REASON: u32 = 1101;
}

/// One route in an Adj-RIB-In, with the verdict it got.
#[derive(Debug, Clone)]
pub struct InRoute {
    pub attrs: Arc<PathAttributes>,
    pub verdict: Verdict,
}

impl InRoute {
    /// Passed on: accepted, or failing only in observe mode.
    fn passes(&self, observe: bool) -> bool {
        self.verdict.accepted() || observe
    }
}

/// One route in an Adj-RIB-Out.
#[derive(Debug, Clone)]
pub struct Sent {
    pub from: u32,
    pub attrs: Arc<PathAttributes>,
}

/// A peer as the RIB sees it.
pub struct RibPeer {
    pub name: String,
    pub role: Role,
    pub asn: Asn,
    pub policy: PeerPolicy,
    /// The next hop to send to this neighbor (`next_hop` key), if any.
    pub next_hop: Option<IpAddr>,
    pub mp_in: MaxPrefixState,
    pub mp_out: MaxPrefixState,
    pub session: Option<Negotiated>,
    /// The session generation of `session` (what `ToSession::Send` must name).
    pub generation: u64,
    pub adj_in: AdjRibIn,
    /// What this peer was sent, by the NLRI it was sent under: the source route's attributes
    /// (shared with the source's Adj-RIB-In, so this costs no attribute memory) and the index
    /// of the peer it came from. What went on the wire is derived from them again when needed.
    pub adj_out: HashMap<Nlri, Sent>,
    /// Counters for metrics and the API.
    pub rejected_in: u64,
    pub rejected_out: u64,
}

impl RibPeer {
    pub fn new(name: String, role: Role, asn: Asn, policy: PeerPolicy) -> RibPeer {
        RibPeer {
            name,
            role,
            asn,
            policy,
            next_hop: None,
            mp_in: MaxPrefixState::new(None, None),
            mp_out: MaxPrefixState::new(None, None),
            session: None,
            generation: 0,
            adj_in: AdjRibIn::default(),
            adj_out: HashMap::default(),
            rejected_in: 0,
            rejected_out: 0,
        }
    }

    fn is_router(&self) -> bool {
        self.role == Role::Router
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
    /// A second has passed (the peer views are refreshed even when nothing else happens).
    Tick,
    /// An operator clears the named peer (`bgpsieve ctl clear`): a session held down by a
    /// limit starts again. The answer says what happened, or why nothing did.
    Clear {
        peer: String,
        answer: tokio::sync::oneshot::Sender<Result<String, String>>,
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
    /// Send these encoded messages to a peer.
    Send { peer: usize, msgs: Vec<Vec<u8>> },
    /// End a session with this NOTIFICATION; start it again after `restart_after` (`None`:
    /// stay down until an operator clears it).
    Stop {
        peer: usize,
        notification: Notification,
        restart_after: Option<std::time::Duration>,
    },
    /// Start a session an operator cleared.
    Start { peer: usize },
}

/// How many routes of a neighbor whose session went down are withdrawn per batch.
const WITHDRAW_CHUNK: usize = 1 << 16;

/// All routes and the policy that moves them.
pub struct Rib {
    pub peers: Vec<RibPeer>,
    /// Every neighbor prefix: the routes a VRP change touches are found here, and so are the
    /// more-specifics of known prefixes that burst guards count.
    known: KnownPrefixes,
    /// Every router prefix, for the export side of a VRP change.
    known_router: KnownPrefixes,
    pub local: LocalPolicy,
    pub rpki: Arc<RpkiData>,
    /// Seconds since start, for the limits' timeline (set by the caller before `handle`).
    pub now: u64,
    /// Leak incidents: trips and rejection spikes, with what came in before them.
    pub incidents: Incidents,
    /// Metrics, the rejected-route store and the peer views (`None`: nobody is watching).
    pub ops: Option<Ops>,
    /// Incidents opened since the caller last took them (for the webhook).
    pub new_incidents: Vec<Incident>,
    /// The generation of the policy snapshot the RIB holds (see [`SharedPolicy`]); a session's
    /// verdicts made with another one are made again here.
    pub policy_generation: u64,
}

/// Routes to announce to one peer, grouped by attribute set, and NLRI to withdraw.
#[derive(Default)]
struct Batch {
    announce: Vec<(Arc<PathAttributes>, Vec<Nlri>)>,
    /// Index in `announce` by attribute set, so a walk in hash order still packs prefixes of
    /// one attribute set into the same UPDATEs.
    index: HashMap<*const PathAttributes, usize>,
    withdraw: Vec<Nlri>,
    /// End the session after sending (an outbound limit with `action = "teardown"`).
    stop: Option<(Notification, Option<std::time::Duration>)>,
}

impl Batch {
    fn announce(&mut self, attrs: Arc<PathAttributes>, nlri: Nlri) {
        if let Some((a, v)) = self.announce.last_mut() {
            if Arc::ptr_eq(a, &attrs) {
                v.push(nlri);
                return;
            }
        }
        let key = Arc::as_ptr(&attrs);
        match self.index.get(&key).and_then(|i| self.announce.get_mut(*i)) {
            Some((_, v)) => v.push(nlri),
            None => {
                self.index.insert(key, self.announce.len());
                self.announce.push((attrs, vec![nlri]));
            }
        }
    }
    fn is_empty(&self) -> bool {
        self.announce.is_empty() && self.withdraw.is_empty() && self.stop.is_none()
    }
}

/// Whether two views of a route are the same route: same neighbor, same attribute set, same
/// verdict (in observe mode the verdict shows in the communities sent).
fn same_route(a: &Option<(usize, InRoute)>, b: &Option<(usize, InRoute)>) -> bool {
    match (a, b) {
        (None, None) => true,
        (Some((ai, ar)), Some((bi, br))) => {
            ai == bi && Arc::ptr_eq(&ar.attrs, &br.attrs) && ar.verdict == br.verdict
        }
        _ => false,
    }
}

/// Announcements and withdrawals queued for each router, with the attribute transform of the
/// last source attribute set cached (all prefixes of one UPDATE share it).
#[derive(Default)]
struct RouterBatches {
    batches: Vec<(usize, Batch)>,
    /// (source neighbor, source attributes, failing reasons, what the router is sent).
    cache: Option<(
        usize,
        Arc<PathAttributes>,
        crate::policy::ReasonSet,
        Arc<PathAttributes>,
    )>,
}

impl RouterBatches {
    fn queue(&mut self, router: usize, key: Nlri, route: &Option<(usize, InRoute)>, rib: &Rib) {
        let i = match self.batches.iter().position(|(r, _)| *r == router) {
            Some(i) => i,
            None => {
                self.batches.push((router, Batch::default()));
                self.batches.len() - 1
            }
        };
        let Some((_, batch)) = self.batches.get_mut(i) else {
            return;
        };
        match route {
            None => batch.withdraw.push(key),
            Some((from, r)) => {
                let attrs = match &self.cache {
                    // The failing reasons (observe mode) show in the communities; RPKI states do not.
                    Some((f, src, reasons, t))
                        if f == from
                            && Arc::ptr_eq(src, &r.attrs)
                            && *reasons == r.verdict.failed =>
                    {
                        t.clone()
                    }
                    _ => {
                        let t = rib.to_router_attrs(*from, r);
                        self.cache = Some((*from, r.attrs.clone(), r.verdict.failed, t.clone()));
                        t
                    }
                };
                batch.announce(attrs, key);
            }
        }
    }

    fn flush(self, rib: &Rib, out: &mut Vec<Output>) {
        for (r, batch) in self.batches {
            if let Some(neg) = rib.peers.get(r).and_then(|p| p.session.as_ref()) {
                rib.flush(r, neg, batch, out);
            }
        }
    }
}

/// Logs a new incident as one JSON line (a NOC forwards it as it is) and queues it for the
/// webhook.
fn report_incident(queue: &mut Vec<Incident>, incident: Incident) {
    tracing::warn!(target: "bgpsieve::incident", "leak incident {}", incident.to_json());
    queue.push(incident);
}

fn encode_ctx(n: &Negotiated, ibgp: bool) -> EncodeCtx {
    EncodeCtx::new(n, ibgp)
}

/// The RFC 4271 §9.1.2.2 tie-breaks that apply among neighbor routes: shorter AS path, lower
/// ORIGIN, lower MED between routes from the same neighbor AS, then the lower peer index
/// (stable, like the lowest BGP identifier). `true` when `a` is better than `b`.
fn better(a: (&PathAttributes, usize, Asn), b: (&PathAttributes, usize, Asn)) -> bool {
    let (aa, ai, aasn) = a;
    let (ba, bi, basn) = b;
    let key = |p: &PathAttributes| (p.attrs.as_path.asn_count(), p.attrs.origin as u8);
    if key(aa) != key(ba) {
        return key(aa) < key(ba);
    }
    if aasn == basn {
        let (am, bm) = (aa.attrs.med.unwrap_or(0), ba.attrs.med.unwrap_or(0));
        if am != bm {
            return am < bm;
        }
    }
    ai < bi
}

// `self.peers[id]`: peer ids are positions in the configured peer table, which bgpsieve hands to
// its own session tasks and never changes while it runs; none comes from the wire, and `handle`
// drops an event whose id it does not know. Every other index here is checked.
#[allow(clippy::indexing_slicing)]
impl Rib {
    pub fn new(peers: Vec<RibPeer>, local: LocalPolicy, rpki: Arc<RpkiData>) -> Rib {
        Rib {
            known: KnownPrefixes::default(),
            known_router: KnownPrefixes::default(),
            incidents: Incidents::new(peers.len(), None),
            ops: None,
            new_incidents: Vec::new(),
            peers,
            local,
            rpki,
            now: 0,
            policy_generation: 0,
        }
    }

    fn routers(&self) -> Vec<usize> {
        (0..self.peers.len())
            .filter(|i| self.peers[*i].is_router() && self.peers[*i].session.is_some())
            .collect()
    }

    fn neighbors(&self) -> Vec<usize> {
        (0..self.peers.len())
            .filter(|i| !self.peers[*i].is_router() && self.peers[*i].session.is_some())
            .collect()
    }

    /// Handles one event of the RIB thread.
    pub fn handle_event(&mut self, ev: RibEvent) -> Vec<Output> {
        if let (false, Some(ops)) = (matches!(ev, RibEvent::Tick), self.ops.as_mut()) {
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
            RibEvent::Tick => {
                self.incidents.tick(unix_now());
                let names: Vec<String> = self.peers.iter().map(|p| p.name.clone()).collect();
                if let Some(ops) = self.ops.as_mut() {
                    ops.summarize(&names);
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

    /// Routes held from every peer (the sum of the Adj-RIBs-In).
    pub fn routes_held(&self) -> usize {
        self.peers.iter().map(|p| p.adj_in.len()).sum()
    }

    /// `bgpsieve ctl clear NAME`: forgets the trip that holds the named peer's session down and
    /// asks for the session to start.
    pub fn clear(&mut self, name: &str) -> (Result<String, String>, Vec<Output>) {
        let now = self.now;
        let Some((i, p)) = self
            .peers
            .iter_mut()
            .enumerate()
            .find(|(_, p)| p.name == name)
        else {
            return (Err(format!("no peer named {name:?}")), Vec::new());
        };
        if p.mp_in.down_until().is_none() && p.mp_out.down_until().is_none() {
            return (
                Err(format!("{name} is not held down by a limit")),
                Vec::new(),
            );
        }
        p.mp_in.clear(now);
        p.mp_out.clear(now);
        (
            Ok(format!("{name}: limit cleared, the session starts again")),
            vec![Output::Start { peer: i }],
        )
    }

    /// Handles one session event.
    pub fn handle(&mut self, ev: FromSession) -> Vec<Output> {
        let (FromSession::Up { peer, .. }
        | FromSession::Down { peer, .. }
        | FromSession::Update { peer, .. }
        | FromSession::RouteRefresh { peer, .. }) = &ev;
        if *peer >= self.peers.len() {
            tracing::error!(peer, "session event for an unknown peer id dropped");
            return Vec::new();
        }
        match ev {
            FromSession::Up {
                peer,
                generation,
                negotiated,
            } => {
                if let Some(p) = self.peers.get_mut(peer) {
                    p.generation = generation;
                }
                self.up(peer, *negotiated)
            }
            FromSession::Down { peer, reason } => self.down(peer, &reason),
            FromSession::Update {
                peer,
                update,
                verdicts,
            } => {
                if self.peers.get(peer).is_some_and(RibPeer::is_router) {
                    self.router_update(peer, update)
                } else {
                    self.neighbor_update(peer, update, verdicts)
                }
            }
            FromSession::RouteRefresh { peer, .. } => self.full_table(peer),
        }
    }

    // ---- neighbor → router -------------------------------------------------------------

    /// The attributes a router receives for a neighbor route: OTC set on ingress (RFC 9234 §5),
    /// the neighbor's role community, the reject reasons of a route passed in observe mode.
    fn to_router_attrs(&self, from: usize, r: &InRoute) -> Arc<PathAttributes> {
        let p = &self.peers[from];
        let mut a = (*r.attrs).clone();
        // Our AS's large communities are ours to set: a neighbor must not be able to claim a
        // role (and the local-pref that goes with it) or a verdict at the router.
        if a.attrs
            .large_communities
            .iter()
            .any(|c| c[0] == self.local.asn.0)
        {
            Arc::make_mut(&mut a.attrs)
                .large_communities
                .retain(|c| c[0] != self.local.asn.0);
        }
        if let Some(otc) = crate::policy::otc::otc_to_set_on_import(&a.attrs, p.role, p.asn) {
            a = a.with_otc(otc);
        }
        a = a.with_large_community([self.local.asn.0, community::role_function(p.role), p.asn.0]);
        for reason in r.verdict.reasons() {
            a = a.with_large_community([
                self.local.asn.0,
                community::REJECT_REASON,
                u32::from(reason.number()),
            ]);
        }
        Arc::new(a)
    }

    /// The path id a neighbor's route gets toward an ADD-PATH router: one per neighbor.
    fn router_path_id(from: usize, nlri: &Nlri) -> Nlri {
        Nlri {
            prefix: nlri.prefix,
            path_id: Some(from as u32 + 1),
        }
    }

    /// Keeps `r` (neighbor `i`) in `best` if it passes and beats what is there.
    fn consider<'a>(
        &'a self,
        best: &mut Option<(usize, Nlri, &'a InRoute)>,
        i: usize,
        nlri: &Nlri,
        r: &'a InRoute,
    ) {
        let p = &self.peers[i];
        if !r.passes(p.policy.observe) {
            return;
        }
        let replace = match best {
            None => true,
            Some((bi, _, br)) => {
                better((&r.attrs, i, p.asn), (&br.attrs, *bi, self.peers[*bi].asn))
            }
        };
        if replace {
            *best = Some((i, *nlri, r));
        }
    }

    /// The routers that are up, split by whether they take every path (ADD-PATH) or the best
    /// one for a family.
    fn router_modes(&self, afi: Afi) -> (Vec<usize>, Vec<usize>) {
        let (mut add_path, mut best) = (Vec::new(), Vec::new());
        for r in self.routers() {
            match &self.peers[r].session {
                Some(n) if n.add_path_send.contains(&afi) => add_path.push(r),
                Some(_) => best.push(r),
                None => {}
            }
        }
        (add_path, best)
    }

    /// The route of neighbor `from` for `nlri` if it is passed on (what an ADD-PATH router has).
    fn passing(&self, from: usize, nlri: &Nlri) -> Option<(usize, InRoute)> {
        let p = &self.peers[from];
        p.session.as_ref()?;
        p.adj_in
            .get(nlri)
            .filter(|r| r.passes(p.policy.observe))
            .map(|r| (from, r.clone()))
    }

    /// The best passed-on route for a prefix (what a router without ADD-PATH has).
    fn best_route(&self, prefix: &ipnet::IpNet) -> Option<(usize, InRoute)> {
        self.best_excluding(prefix, usize::MAX)
    }

    /// The best passed-on route for a prefix among the neighbors other than `exclude`.
    fn best_excluding(&self, prefix: &ipnet::IpNet, exclude: usize) -> Option<(usize, InRoute)> {
        let mut best: Option<(usize, Nlri, &InRoute)> = None;
        let direct = Nlri::new(*prefix);
        for (i, p) in self.peers.iter().enumerate() {
            if i == exclude || p.is_router() || p.session.is_none() {
                continue;
            }
            // Without ADD-PATH from this neighbor its route is keyed by the prefix alone; with
            // it (rare on a neighbor session) every path of the prefix is looked at.
            let add_path = p
                .session
                .as_ref()
                .is_some_and(|s| s.add_path_receive.contains(&direct.afi()));
            if add_path {
                for (n, r) in p.adj_in.iter().filter(|(n, _)| n.prefix == *prefix) {
                    self.consider(&mut best, i, &n, r);
                }
            } else if let Some(r) = p.adj_in.get(&direct) {
                self.consider(&mut best, i, &direct, r);
            }
        }
        best.map(|(i, _, r)| (i, r.clone()))
    }

    /// The better of two candidate routes for the same prefix (`a` wins ties).
    fn pick(
        &self,
        a: Option<(usize, InRoute)>,
        b: Option<(usize, InRoute)>,
    ) -> Option<(usize, InRoute)> {
        match (a, b) {
            (Some(a), Some(b)) => {
                let (ai, bi) = (a.0, b.0);
                if better(
                    (&b.1.attrs, bi, self.peers[bi].asn),
                    (&a.1.attrs, ai, self.peers[ai].asn),
                ) {
                    Some(b)
                } else {
                    Some(a)
                }
            }
            (a, None) => a,
            (None, b) => b,
        }
    }

    /// Applies one change to neighbor `from`'s Adj-RIB-In (`Some` = new or replaced route,
    /// `None` = withdrawn) and queues what the routers must be told. Routers keep no
    /// Adj-RIB-Out: what they have is derived from the Adj-RIBs-In, so the view before and
    /// after the change tells what to send. One hash operation on `from`'s table; the other
    /// neighbors' tables are looked at only when a router takes the best path.
    fn change(
        &mut self,
        from: usize,
        nlri: Nlri,
        new: Option<InRoute>,
        targets: &(Vec<usize>, Vec<usize>),
        batches: &mut RouterBatches,
    ) -> Option<InRoute> {
        let (add_path, best) = targets;
        let old = match &new {
            Some(r) => self.peers[from].adj_in.insert(nlri, r.clone()),
            None => self.peers[from].adj_in.remove(&nlri),
        };
        match (&old, &new) {
            (None, Some(_)) => self.known.add(&nlri.prefix),
            (Some(_), None) => self.known.remove(&nlri.prefix),
            _ => {}
        }
        let p = &self.peers[from];
        let up = p.session.is_some();
        let observe = p.policy.observe;
        let own = |r: &Option<InRoute>| {
            r.as_ref()
                .filter(|r| up && r.passes(observe))
                .map(|r| (from, r.clone()))
        };
        let (before_own, after_own) = (own(&old), own(&new));
        if !add_path.is_empty() && !same_route(&before_own, &after_own) {
            let key = Self::router_path_id(from, &nlri);
            for r in add_path {
                batches.queue(*r, key, &after_own, self);
            }
        }
        if !best.is_empty() && nlri.path_id.is_none() {
            let others = self.best_excluding(&nlri.prefix, from);
            let before = self.pick(others.clone(), before_own);
            let after = self.pick(others, after_own);
            if !same_route(&before, &after) {
                let key = Nlri::new(nlri.prefix);
                for r in best {
                    batches.queue(*r, key, &after, self);
                }
            }
        } else if !best.is_empty() {
            // A neighbor sending several paths: compare the whole best before and after.
            let after = self.best_route(&nlri.prefix);
            let before = self.pick(
                self.best_excluding(&nlri.prefix, from),
                old.as_ref()
                    .filter(|r| up && r.passes(observe))
                    .map(|r| (from, r.clone())),
            );
            if !same_route(&before, &after) {
                let key = Nlri::new(nlri.prefix);
                for r in best {
                    batches.queue(*r, key, &after, self);
                }
            }
        }
        old
    }

    fn flush(&self, to: usize, neg: &Negotiated, batch: Batch, out: &mut Vec<Output>) {
        if batch.is_empty() {
            return;
        }
        let p = &self.peers[to];
        let ctx = encode_ctx(neg, p.is_router());
        let mut msgs = Vec::new();
        // Only the families this session negotiated go on it.
        let mut withdraw: Vec<Nlri> = batch
            .withdraw
            .into_iter()
            .filter(|n| neg.families.contains(&n.afi()))
            .collect();
        for (attrs, nlri) in &batch.announce {
            for afi in [Afi::Ipv4, Afi::Ipv6] {
                if !neg.families.contains(&afi) {
                    continue;
                }
                let part: Vec<Nlri> = nlri.iter().filter(|n| n.afi() == afi).copied().collect();
                if part.is_empty() {
                    continue;
                }
                // What cannot be announced is withdrawn: the peer must not keep an older route
                // for the prefix that we believe replaced.
                let Some(nh) = self.next_hop_for(to, attrs, afi) else {
                    tracing::warn!(peer = %p.name, "no {afi} next hop: withdrawn instead");
                    withdraw.extend(part);
                    continue;
                };
                if let Err(e) =
                    encode_announcements(&Outgoing { attrs, nlri: &part }, &ctx, nh, &mut msgs)
                {
                    tracing::warn!(peer = %p.name, "cannot be announced ({e}): withdrawn instead");
                    withdraw.extend(part);
                }
            }
        }
        if !withdraw.is_empty() {
            let mut w = Vec::new();
            encode_withdrawals(&withdraw, &ctx, &mut w);
            w.append(&mut msgs);
            msgs = w;
        }
        if !msgs.is_empty() {
            out.push(Output::Send { peer: to, msgs });
        }
        if let Some((notification, restart_after)) = batch.stop {
            out.push(Output::Stop {
                peer: to,
                notification,
                restart_after,
            });
        }
    }

    /// The next hop sent to `to`: its configured `next_hop` (the router's address on the link,
    /// RFC 4271 §5.1.3) when it is of the route's family, else the next hop the route came
    /// with. An IPv6 route that only has an IPv4 next hop gets it IPv4-mapped; an IPv4 route
    /// with only an IPv6 next hop (RFC 8950, not negotiated here) is not sent.
    fn next_hop_for(&self, to: usize, attrs: &PathAttributes, afi: Afi) -> Option<IpAddr> {
        let of_family = |ip: &IpAddr| {
            matches!(
                (afi, ip),
                (Afi::Ipv4, IpAddr::V4(_)) | (Afi::Ipv6, IpAddr::V6(_))
            )
        };
        let configured = self.peers[to].next_hop;
        let own = attrs.attrs.next_hop;
        if let Some(nh) = configured.filter(of_family).or(own.filter(of_family)) {
            return Some(nh);
        }
        match (afi, own.or(configured)?) {
            (Afi::Ipv6, IpAddr::V4(v4)) => Some(IpAddr::V6(v4.to_ipv6_mapped())),
            _ => None,
        }
    }

    fn neighbor_update(
        &mut self,
        from: usize,
        u: DecodedUpdate,
        verdicts: Option<(u64, Vec<Verdict>)>,
    ) -> Vec<Output> {
        // Verdicts made with other RPKI data than the RIB's are made again here.
        let verdicts = verdicts
            .filter(|(generation, _)| *generation == self.policy_generation)
            .map(|(_, v)| v);
        let mut out = Vec::new();
        let treat_as_withdraw = u.action == Some(crate::bgp::rfc7606::ErrorAction::Withdraw);
        let now = self.now;
        let mut batches = RouterBatches::default();
        let targets = PerAfi::new(|afi| self.router_modes(afi));
        let targets_for = |n: &Nlri| &targets[n.afi()];
        if u.end_of_rib.is_some() {
            self.peers[from].mp_in.end_of_rib(now);
        }
        for n in &u.withdrawn {
            if let Some(old) = self.change(from, *n, None, targets_for(n), &mut batches) {
                // A route dropped as excess was never counted.
                if !old.verdict.failed.contains(Reason::MaxPrefix) {
                    self.peers[from]
                        .mp_in
                        .withdraw(n.afi(), old.verdict.accepted());
                }
            }
        }
        if let Some(ops) = &self.ops {
            let v6 = u.announced.iter().filter(|n| n.afi() == Afi::Ipv6).count() as u64;
            let v4 = u.announced.len() as u64 - v6;
            for (afi, n) in [(Afi::Ipv4, v4), (Afi::Ipv6, v6)] {
                if n > 0 {
                    ops.metrics.received(from, afi, n);
                }
            }
        }
        if let Some(attrs) = &u.attrs {
            let route_attrs = attrs.attrs.clone();
            let mut teardown: Option<Notification> = None;
            let mut restart_after = None;
            for (i, n) in u.announced.iter().enumerate() {
                // The session made the stateless verdicts (on another thread) when it could.
                let mut verdict = match verdicts.as_ref().and_then(|v| v.get(i)) {
                    Some(v) => *v,
                    None => {
                        let route = Route {
                            prefix: n.prefix,
                            path_id: n.path_id,
                            attrs: route_attrs.clone(),
                        };
                        let p = &self.peers[from];
                        evaluate(Direction::In, &route, &p.policy, &self.local, &self.rpki)
                    }
                };
                if treat_as_withdraw {
                    verdict.reject(Reason::Malformed);
                }
                // Before the limits: a trip's incident lists the route that made it.
                let origin = match attrs.attrs.as_path.origin() {
                    Some(crate::types::PathOrigin::Asn(a)) => Some(a),
                    _ => None,
                };
                self.incidents.announced(from, now, n.prefix, origin);
                let more_specific = self.peers[from].mp_in.counts_more_specifics()
                    && self.known.more_specific_of_known(&n.prefix);
                // A route dropped as excess was never counted: its re-announcement is new.
                let prev = self.peers[from]
                    .adj_in
                    .get(n)
                    .filter(|r| !r.verdict.failed.contains(Reason::MaxPrefix))
                    .map(|r| r.verdict.accepted());
                if let Some((n, r)) = self.import_limit(from, n, &mut verdict, prev, more_specific)
                {
                    teardown = Some(n);
                    restart_after = r;
                }
                let p = &mut self.peers[from];
                if !verdict.accepted() {
                    if let Some(i) = self
                        .incidents
                        .rejected(from, &p.name, p.asn, now, unix_now())
                    {
                        report_incident(&mut self.new_incidents, i);
                    }
                }
                let p = &mut self.peers[from];
                if !verdict.accepted() {
                    if let Some(ops) = &self.ops {
                        let path = &attrs.attrs.as_path;
                        ops.rejected(from, &p.name, Direction::In, n, path, &verdict);
                    }
                    p.rejected_in += 1;
                    tracing::debug!(peer = %p.name, prefix = %n.prefix, reasons = ?verdict.reasons().collect::<Vec<_>>(), "rejected");
                }
                let r = InRoute {
                    attrs: attrs.clone(),
                    verdict,
                };
                self.change(from, *n, Some(r), targets_for(n), &mut batches);
                if teardown.is_some() {
                    break;
                }
            }
            if let Some(notification) = teardown {
                out.push(Output::Stop {
                    peer: from,
                    notification,
                    restart_after,
                });
            }
        }
        batches.flush(self, &mut out);
        out
    }

    /// The inbound limits' step for one announcement of neighbor `from` (`prev`: whether the
    /// route it replaces was accepted, `None` for a new one); marks the verdict when the route
    /// is dropped as excess, and returns the NOTIFICATION and restart delay of a teardown.
    fn import_limit(
        &mut self,
        from: usize,
        n: &Nlri,
        verdict: &mut Verdict,
        prev: Option<bool>,
        more_specific: bool,
    ) -> Option<(Notification, Option<std::time::Duration>)> {
        let now = self.now;
        let p = &mut self.peers[from];
        if !p.policy.enabled.contains(Reason::MaxPrefix) || !p.mp_in.is_active() {
            return None;
        }
        let step = p.mp_in.announce(Announcement {
            afi: n.afi(),
            now,
            is_new: prev.is_none(),
            was_accepted: prev.unwrap_or(false),
            passes_policy: verdict.accepted(),
            more_specific_of_known: more_specific,
        });
        apply_limit(verdict, &step, Direction::In);
        let trip = step.trip?;
        tracing::warn!(peer = %p.name, ?trip, "max-prefix limit exceeded");
        if let Some(ops) = self.ops.as_mut() {
            ops.tripped(from, Direction::In, &trip);
        }
        let incident = self.incidents.tripped(
            from,
            &p.name,
            p.asn,
            now,
            unix_now(),
            trip.kind,
            trip.action,
        );
        report_incident(&mut self.new_incidents, incident);
        let p = &mut self.peers[from];
        if step.teardown && p.policy.observe {
            // Observe mode is a rollout without risk: the trip is logged and counted, the
            // session stays.
            tracing::warn!(peer = %p.name, "observe mode: no teardown");
            p.mp_in.clear(now);
            return None;
        }
        if !step.teardown {
            return None;
        }
        let limit = match trip.kind {
            crate::policy::TripKind::Limit { limit, .. } => limit as u32,
            crate::policy::TripKind::BurstNew { limit, .. }
            | crate::policy::TripKind::BurstMoreSpecific { limit, .. } => limit,
        };
        let restart_after = p
            .mp_in
            .down_until()
            .flatten()
            .map(|t| std::time::Duration::from_secs(t.saturating_sub(now)));
        Some((Notification::max_prefixes(n.afi(), limit), restart_after))
    }

    // ---- router → neighbors ------------------------------------------------------------

    fn to_neighbor_attrs(&self, to: usize, attrs: &PathAttributes) -> PathAttributes {
        let p = &self.peers[to];
        let mut a = attrs.clone().without_ibgp_only();
        if p.role != Role::RsClient {
            a = a.prepend(self.local.asn);
        }
        if let Some(otc) =
            crate::policy::otc::otc_to_set_on_export(&a.attrs, p.role, self.local.asn)
        {
            a = a.with_otc(otc);
        }
        a
    }

    /// Export of router routes to one neighbor; returns the batch. With `only_changes`, a route
    /// the neighbor already has as it is is not sent again (a re-evaluation).
    fn export_to(
        &mut self,
        to: usize,
        routes: &[(Nlri, Option<Arc<PathAttributes>>)],
        only_changes: bool,
    ) -> Batch {
        let mut batch = Batch::default();
        // One transform per source attribute set, whatever order the routes come in.
        let mut cache: HashMap<*const PathAttributes, Arc<PathAttributes>> = HashMap::default();
        let now = self.now;
        let families = self.peers[to]
            .session
            .as_ref()
            .map(|s| s.families.clone())
            .unwrap_or_default();
        for (nlri, attrs) in routes {
            if !families.contains(&nlri.afi()) {
                continue;
            }
            // Toward a neighbor there is one path per prefix.
            let key = Nlri {
                prefix: nlri.prefix,
                path_id: None,
            };
            let Some(attrs) = attrs else {
                let p = &mut self.peers[to];
                if p.adj_out.remove(&key).is_some() {
                    p.mp_out.withdraw(Afi::of(&key.prefix), true);
                    batch.withdraw.push(key);
                }
                continue;
            };
            let route = Route {
                prefix: nlri.prefix,
                path_id: None,
                attrs: attrs.attrs.clone(),
            };
            let p = &self.peers[to];
            let mut v = evaluate(Direction::Out, &route, &p.policy, &self.local, &self.rpki);
            let was_sent = p.adj_out.contains_key(&key);
            // The outbound limit counts what is exported: a route the checks stop never counts
            // (else a full table of non-announceable routes would use up the limit).
            if (v.accepted() || p.policy.observe)
                && p.mp_out.is_active()
                && p.policy.enabled.contains(Reason::ExportMaxPrefix)
            {
                let p = &mut self.peers[to];
                let step = p.mp_out.announce(Announcement {
                    afi: Afi::of(&key.prefix),
                    now,
                    is_new: !was_sent,
                    was_accepted: was_sent,
                    passes_policy: v.accepted(),
                    more_specific_of_known: false,
                });
                apply_limit(&mut v, &step, Direction::Out);
                if let Some(trip) = step.trip {
                    tracing::warn!(peer = %p.name, ?trip, "export max-prefix limit exceeded");
                    if let Some(ops) = self.ops.as_mut() {
                        ops.tripped(to, Direction::Out, &trip);
                    }
                    if step.teardown && !p.policy.observe && batch.stop.is_none() {
                        // We are the one about to leak: close the session rather than send a
                        // table the neighbor should never get (Cease/2 names the reason).
                        let text =
                            format!("bgpsieve: outbound prefix limit exceeded ({:?})", trip.kind);
                        let restart = p
                            .mp_out
                            .down_until()
                            .flatten()
                            .map(|t| std::time::Duration::from_secs(t.saturating_sub(now)));
                        batch.stop = Some((Notification::admin_shutdown(&text), restart));
                    }
                }
            }
            let p = &self.peers[to];
            if v.accepted() || p.policy.observe {
                let unchanged = p
                    .adj_out
                    .get(&key)
                    .is_some_and(|s| Arc::ptr_eq(&s.attrs, attrs));
                if only_changes && unchanged {
                    continue;
                }
                let t = match cache.get(&Arc::as_ptr(attrs)) {
                    Some(t) => t.clone(),
                    None => {
                        let t = Arc::new(self.to_neighbor_attrs(to, attrs));
                        cache.insert(Arc::as_ptr(attrs), t.clone());
                        t
                    }
                };
                self.peers[to].adj_out.insert(
                    key,
                    Sent {
                        from: u32::MAX,
                        attrs: attrs.clone(),
                    },
                );
                batch.announce(t, key);
            } else {
                let p = &mut self.peers[to];
                p.rejected_out += 1;
                tracing::debug!(peer = %p.name, prefix = %key.prefix, reasons = ?v.reasons().collect::<Vec<_>>(), "export rejected");
                if let Some(ops) = &self.ops {
                    let path = &attrs.attrs.as_path;
                    ops.rejected(to, &p.name, Direction::Out, &key, path, &v);
                }
                if p.adj_out.remove(&key).is_some() {
                    batch.withdraw.push(key);
                }
            }
        }
        batch
    }

    /// The same route from another router that is up, if one announces it: what neighbors
    /// keep when one of two routers withdraws a prefix or goes down.
    fn other_router_route(&self, nlri: &Nlri, except: usize) -> Option<Arc<PathAttributes>> {
        self.peers
            .iter()
            .enumerate()
            .filter(|(i, p)| *i != except && p.is_router() && p.session.is_some())
            .find_map(|(_, p)| p.adj_in.get(nlri).map(|r| r.attrs.clone()))
    }

    fn router_update(&mut self, from: usize, u: DecodedUpdate) -> Vec<Output> {
        let mut routes: Vec<(Nlri, Option<Arc<PathAttributes>>)> = Vec::new();
        {
            // RFC 7606 treat-as-withdraw: the announced routes are withdrawn too.
            let malformed = u.action == Some(crate::bgp::rfc7606::ErrorAction::Withdraw);
            let gone = u
                .withdrawn
                .iter()
                .chain(u.announced.iter().filter(|_| malformed));
            for n in gone {
                if self.peers[from].adj_in.remove(n).is_some() {
                    self.known_router.remove(&n.prefix);
                    routes.push((*n, self.other_router_route(n, from)));
                }
            }
            let p = &mut self.peers[from];
            if let Some(attrs) = u.attrs.as_ref().filter(|_| !malformed) {
                for n in &u.announced {
                    let old = p.adj_in.insert(
                        *n,
                        InRoute {
                            attrs: attrs.clone(),
                            verdict: Verdict::default(),
                        },
                    );
                    if old.is_none() {
                        self.known_router.add(&n.prefix);
                    }
                    routes.push((*n, Some(attrs.clone())));
                }
            }
        }
        let mut out = Vec::new();
        for n in self.neighbors() {
            let batch = self.export_to(n, &routes, false);
            if let Some(neg) = self.peers[n].session.clone() {
                self.flush(n, &neg, batch, &mut out);
            }
        }
        out
    }

    // ---- sessions ----------------------------------------------------------------------

    fn up(&mut self, peer: usize, neg: Negotiated) -> Vec<Output> {
        let Some(p) = self.peers.get_mut(peer) else {
            return vec![];
        };
        p.session = Some(neg);
        p.adj_out.clear();
        self.incidents.session_up(&p.name, unix_now());
        if let Some(ops) = self.ops.as_mut() {
            ops.session(peer, true);
        }
        let p = &mut self.peers[peer];
        p.mp_in.session_up(self.now);
        p.mp_out.session_up(self.now);
        self.full_table(peer)
    }

    /// Everything a peer should have, then End-of-RIB (after a session came up or a refresh).
    fn full_table(&mut self, peer: usize) -> Vec<Output> {
        let mut out = Vec::new();
        let Some(neg) = self.peers.get(peer).and_then(|p| p.session.clone()) else {
            return out;
        };
        if self.peers[peer].is_router() {
            let mut batches = RouterBatches::default();
            let mut done: rustc_hash::FxHashSet<ipnet::IpNet> = Default::default();
            let several = self.neighbors().len() > 1;
            for from in self.neighbors() {
                for nlri in self.peers[from].adj_in.keys().collect::<Vec<_>>() {
                    if neg.add_path_send.contains(&nlri.afi()) {
                        let route = self.passing(from, &nlri);
                        if route.is_some() {
                            batches.queue(peer, Self::router_path_id(from, &nlri), &route, self);
                        }
                    } else if !several || done.insert(nlri.prefix) {
                        let route = self.best_route(&nlri.prefix);
                        if route.is_some() {
                            batches.queue(peer, Nlri::new(nlri.prefix), &route, self);
                        }
                    }
                }
            }
            batches.flush(self, &mut out);
        } else {
            // Start the outbound count over, and withdraw afterwards whatever was sent before
            // and is not sent again (a route refresh after a policy change).
            let before: Vec<Nlri> = self.peers[peer].adj_out.drain().map(|(n, _)| n).collect();
            let now = self.now;
            self.peers[peer].mp_out.session_up(now);
            let mut routes: Vec<(Nlri, Option<Arc<PathAttributes>>)> = Vec::new();
            for r in (0..self.peers.len()).filter(|i| self.peers[*i].is_router()) {
                routes.extend(
                    self.peers[r]
                        .adj_in
                        .iter()
                        .map(|(n, ir)| (n, Some(ir.attrs.clone()))),
                );
            }
            let mut batch = self.export_to(peer, &routes, false);
            let p = &self.peers[peer];
            batch
                .withdraw
                .extend(before.into_iter().filter(|n| !p.adj_out.contains_key(n)));
            self.flush(peer, &neg, batch, &mut out);
        }
        let ctx = encode_ctx(&neg, self.peers[peer].is_router());
        let eor: Vec<Vec<u8>> = neg
            .families
            .iter()
            .map(|afi| encode_end_of_rib(*afi, &ctx))
            .collect();
        out.push(Output::Send { peer, msgs: eor });
        out
    }

    fn down(&mut self, peer: usize, reason: &DownReason) -> Vec<Output> {
        let mut out = Vec::new();
        let Some(p) = self.peers.get_mut(peer) else {
            return out;
        };
        tracing::info!(peer = %p.name, %reason, routes = p.adj_in.len(), "session down: withdrawing its routes");
        if let Some(ops) = self.ops.as_mut() {
            ops.session(peer, false);
        }
        let p = &mut self.peers[peer];
        if p.is_router() {
            p.session = None;
            p.adj_out.clear();
            let gone: Vec<Nlri> = std::mem::take(&mut p.adj_in).keys().collect();
            for n in &gone {
                self.known_router.remove(&n.prefix);
            }
            let routes: Vec<(Nlri, Option<Arc<PathAttributes>>)> = gone
                .into_iter()
                .map(|n| (n, self.other_router_route(&n, peer)))
                .collect();
            for n in self.neighbors() {
                let batch = self.export_to(n, &routes, false);
                if let Some(neg) = self.peers[n].session.clone() {
                    self.flush(n, &neg, batch, &mut out);
                }
            }
        } else {
            // Withdraw route by route while the session still counts as up, so each router
            // learns exactly what it loses (or the next best path). A chunk at a time, so a
            // full table going away never holds a second copy of its prefixes in flight.
            let targets = PerAfi::new(|afi| self.router_modes(afi));
            loop {
                let gone: Vec<Nlri> = self.peers[peer]
                    .adj_in
                    .keys()
                    .take(WITHDRAW_CHUNK)
                    .collect();
                if gone.is_empty() {
                    break;
                }
                let mut batches = RouterBatches::default();
                for n in gone {
                    let t = &targets[n.afi()];
                    self.change(peer, n, None, t, &mut batches);
                }
                batches.flush(self, &mut out);
            }
            let p = &mut self.peers[peer];
            p.session = None;
            p.adj_out.clear();
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::bgp::update::{decode_update, DecodeCtx};
    use crate::policy::{Action, BurstLimits};
    use crate::types::{AsPath, Attrs};

    fn negotiated(asn: u32) -> Negotiated {
        Negotiated {
            peer_asn: Asn(asn),
            peer_router_id: "192.0.2.9".parse().unwrap(),
            hold_time: 90,
            keepalive: 30,
            four_octet_asn: true,
            families: vec![Afi::Ipv4, Afi::Ipv6],
            add_path_receive: vec![],
            add_path_send: vec![],
            extended_message: false,
            route_refresh: true,
            enhanced_route_refresh: false,
            peer_role: None,
        }
    }

    /// A RIB with neighbor 0 (customer AS20002) and router 1 (AS20001), both up.
    fn rib(burst: Option<BurstLimits>) -> Rib {
        let mut n = RibPeer::new(
            "customer".into(),
            Role::Customer,
            Asn(20002),
            PeerPolicy::new("customer", Role::Customer, Asn(20002), None),
        );
        n.mp_in = MaxPrefixState::new(None, burst);
        let r = RibPeer::new(
            "router".into(),
            Role::Router,
            Asn(20001),
            PeerPolicy::new("router", Role::Router, Asn(20001), None),
        );
        let mut rib = Rib::new(
            vec![n, r],
            LocalPolicy::new(Asn(20001)),
            Arc::new(RpkiData::empty()),
        );
        rib.handle(FromSession::Up {
            peer: 1,
            generation: 1,
            negotiated: Box::new(negotiated(20001)),
        });
        rib.handle(FromSession::Up {
            peer: 0,
            generation: 1,
            negotiated: Box::new(negotiated(20002)),
        });
        rib
    }

    fn update(prefixes: &[&str], path: &str, withdrawn: &[&str]) -> FromSession {
        let attrs = Attrs {
            as_path: AsPath::parse(path).unwrap(),
            next_hop: Some("192.0.2.21".parse().unwrap()),
            ..Attrs::default()
        };
        let nlri = |v: &[&str]| v.iter().map(|p| Nlri::new(p.parse().unwrap())).collect();
        FromSession::Update {
            peer: 0,
            update: DecodedUpdate {
                announced: nlri(prefixes),
                withdrawn: nlri(withdrawn),
                attrs: Some(Arc::new(PathAttributes {
                    attrs: Arc::new(attrs),
                    other: vec![],
                })),
                ..DecodedUpdate::default()
            },
            verdicts: None,
        }
    }

    /// (announced, withdrawn) prefixes the router is sent.
    fn to_router(out: &[Output]) -> (Vec<String>, Vec<String>) {
        let ctx = DecodeCtx::new(&negotiated(20001), false);
        let (mut a, mut w) = (Vec::new(), Vec::new());
        for o in out {
            if let Output::Send { peer: 1, msgs } = o {
                for m in msgs {
                    let u = decode_update(&m[19..], &ctx).unwrap();
                    a.extend(u.announced.iter().map(|n| n.prefix.to_string()));
                    w.extend(u.withdrawn.iter().map(|n| n.prefix.to_string()));
                }
            }
        }
        (a, w)
    }

    #[test]
    fn accepted_routes_reach_the_router_and_rejected_ones_do_not() {
        let mut rib = rib(None);
        let out = rib.handle(update(
            &["8.8.8.0/24", "10.0.0.0/24", "9.9.9.0/25"],
            "20002 15169",
            &[],
        ));
        assert_eq!(to_router(&out), (vec!["8.8.8.0/24".to_string()], vec![]));
        assert_eq!(
            rib.peers[0].adj_in.len(),
            3,
            "pre-policy: every route is kept"
        );
        assert_eq!(rib.peers[0].rejected_in, 2);
        let out = rib.handle(update(&[], "20002", &["8.8.8.0/24", "10.0.0.0/24"]));
        assert_eq!(to_router(&out), (vec![], vec!["8.8.8.0/24".to_string()]));
    }

    #[test]
    fn a_neighbor_going_down_withdraws_its_routes_from_the_router() {
        let mut rib = rib(None);
        rib.handle(update(&["8.8.8.0/24", "8.8.4.0/24"], "20002 15169", &[]));
        let out = rib.handle(FromSession::Down {
            peer: 0,
            reason: DownReason::ConnectionLost,
        });
        let (a, mut w) = to_router(&out);
        w.sort();
        assert!(a.is_empty());
        assert_eq!(w, vec!["8.8.4.0/24".to_string(), "8.8.8.0/24".to_string()]);
    }

    #[test]
    fn a_table_larger_than_a_withdrawal_chunk_goes_away_whole() {
        let mut rib = rib(None);
        let n = WITHDRAW_CHUNK * 2 + 7;
        let prefixes: Vec<String> = (0..n)
            .map(|i| format!("{}.{}.{}.0/24", 20 + i / 65536, (i / 256) % 256, i % 256))
            .collect();
        let refs: Vec<&str> = prefixes.iter().map(String::as_str).collect();
        rib.handle(update(&refs, "20002 15169", &[]));
        assert_eq!(rib.peers[0].adj_in.len(), n);
        let out = rib.handle(FromSession::Down {
            peer: 0,
            reason: DownReason::ConnectionLost,
        });
        let (a, mut w) = to_router(&out);
        w.sort();
        let mut want = prefixes.clone();
        want.sort();
        assert!(a.is_empty());
        assert_eq!(w, want, "every route withdrawn once");
        assert!(rib.peers[0].adj_in.is_empty());
    }

    #[test]
    fn a_burst_of_more_specifics_of_known_prefixes_tears_the_session_down() {
        let mut rib = rib(Some(BurstLimits {
            new_prefixes_per_min: None,
            more_specifics_per_min: Some(2),
            action: Action::Teardown,
            restart_after: Some(600),
        }));
        rib.handle(update(&["20.0.0.0/16", "21.0.0.0/16"], "20002", &[]));
        // The initial table is not a burst: counting starts at End-of-RIB.
        rib.handle(update(
            &["20.0.9.0/24", "20.0.8.0/24", "20.0.7.0/24"],
            "20002",
            &[],
        ));
        rib.handle(FromSession::Update {
            peer: 0,
            update: DecodedUpdate {
                end_of_rib: Some(Afi::Ipv4),
                ..DecodedUpdate::default()
            },
            verdicts: None,
        });
        let out = rib.handle(update(&["20.0.1.0/24", "20.0.2.0/24"], "20002", &[]));
        assert!(
            !out.iter().any(|o| matches!(o, Output::Stop { .. })),
            "two are allowed"
        );
        let out = rib.handle(update(&["21.0.1.0/24"], "20002", &[]));
        let stop = out.iter().find_map(|o| match o {
            Output::Stop {
                peer: 0,
                notification,
                restart_after,
            } => Some((notification.clone(), *restart_after)),
            _ => None,
        });
        let (n, restart) = stop.expect("teardown");
        assert_eq!(
            (n.code, n.subcode),
            (6, 1),
            "Cease / maximum number of prefixes reached"
        );
        assert_eq!(restart, Some(std::time::Duration::from_secs(600)));
        // The trip is an incident, with the more-specifics that made it.
        let incidents = std::mem::take(&mut rib.new_incidents);
        assert_eq!(incidents.len(), 1);
        let i = &incidents[0];
        assert_eq!(
            (i.kind, i.action, i.peer.as_str()),
            ("burst-more-specific", "teardown", "customer")
        );
        assert!(
            i.prefixes.contains(&"21.0.1.0/24".parse().unwrap()),
            "{:?}",
            i.prefixes
        );
        assert_eq!(i.origins.first().map(|o| o.0), Some(20002));
        assert_eq!(rib.incidents.list().len(), 1);
    }

    #[test]
    fn a_malformed_router_update_withdraws_what_it_announces() {
        let mut rib = rib(None);
        let announce = |action| {
            let FromSession::Update { update, .. } = update(&["8.8.8.0/24"], "15169", &[]) else {
                unreachable!()
            };
            FromSession::Update {
                peer: 1,
                update: DecodedUpdate { action, ..update },
                verdicts: None,
            }
        };
        let ctx = DecodeCtx::new(&negotiated(20002), true);
        let sent_to_customer = |out: &[Output]| -> (usize, usize) {
            let mut n = (0, 0);
            for o in out {
                if let Output::Send { peer: 0, msgs } = o {
                    for m in msgs {
                        let u = decode_update(&m[19..], &ctx).unwrap();
                        n.0 += u.announced.len();
                        n.1 += u.withdrawn.len();
                    }
                }
            }
            n
        };
        let out = rib.handle(announce(None));
        assert_eq!(sent_to_customer(&out), (1, 0));
        // RFC 7606 treat-as-withdraw: the same NLRI with broken attributes is a withdrawal.
        let out = rib.handle(announce(Some(crate::bgp::rfc7606::ErrorAction::Withdraw)));
        assert_eq!(sent_to_customer(&out), (0, 1));
        assert!(rib.peers[1].adj_in.is_empty());
    }

    #[test]
    fn a_neighbor_cannot_set_our_role_or_verdict_communities() {
        let mut rib = rib(None);
        let FromSession::Update { mut update, .. } = update(&["8.8.8.0/24"], "20002", &[]) else {
            unreachable!()
        };
        if let Some(a) = update.attrs.as_mut() {
            let mut pa = (**a).clone();
            Arc::make_mut(&mut pa.attrs).large_communities =
                vec![[20001, 1001, 20002], [20001, 1101, 11], [3356, 1, 2]];
            *a = Arc::new(pa);
        }
        let out = rib.handle(FromSession::Update {
            peer: 0,
            update,
            verdicts: None,
        });
        let ctx = DecodeCtx::new(&negotiated(20001), false);
        let Some(Output::Send { msgs, .. }) = out
            .iter()
            .find(|o| matches!(o, Output::Send { peer: 1, .. }))
        else {
            panic!("nothing sent to the router")
        };
        let u = decode_update(&msgs[0][19..], &ctx).unwrap();
        let mut got = u.attrs.unwrap().attrs.large_communities.clone();
        got.sort();
        assert_eq!(
            got,
            vec![[3356, 1, 2], [20001, 1003, 20002]],
            "only our customer tag"
        );
    }

    #[test]
    fn a_route_dropped_as_excess_stays_dropped_when_announced_again() {
        let mut rib = rib(None);
        rib.peers[0].mp_in = MaxPrefixState::new(
            Some(crate::policy::Limits {
                ipv4: Some(1),
                ipv6: None,
                warn_at: 90,
                count: crate::policy::CountMode::Received,
                action: Action::DropExcess,
                restart_after: None,
            }),
            None,
        );
        let (a, _) = to_router(&rib.handle(update(&["8.8.8.0/24", "8.8.4.0/24"], "20002", &[])));
        assert_eq!(a, vec!["8.8.8.0/24".to_string()]);
        let (a, _) = to_router(&rib.handle(update(&["8.8.4.0/24"], "20002", &[])));
        assert!(
            a.is_empty(),
            "re-announcing the excess route must not slip it through"
        );
        // Withdrawing the excess route does not make room: it was never counted.
        rib.handle(update(&[], "20002", &["8.8.4.0/24"]));
        let (a, _) = to_router(&rib.handle(update(&["9.9.9.0/24"], "20002", &[])));
        assert!(a.is_empty());
    }

    #[test]
    fn routes_stopped_by_export_checks_do_not_use_up_the_outbound_limit() {
        let mut rib = rib(None);
        // Neighbor 0 becomes a provider with room for 1 route; only 20.0.0.0/24 is ours.
        rib.peers[0].role = Role::Provider;
        rib.peers[0].policy.role = Role::Provider;
        rib.peers[0].mp_out = MaxPrefixState::new(
            Some(crate::policy::Limits {
                ipv4: Some(1),
                ipv6: None,
                warn_at: 90,
                count: crate::policy::CountMode::Received,
                action: Action::DropExcess,
                restart_after: None,
            }),
            None,
        );
        let mut own = crate::irr::PrefixList::new();
        own.insert("20.0.0.0/24".parse().unwrap(), 24, 24, None);
        rib.local.announce = Arc::new(own);
        let router = |prefixes: &[&str]| {
            let FromSession::Update { update, .. } = update(prefixes, "", &[]) else {
                unreachable!()
            };
            FromSession::Update {
                peer: 1,
                update,
                verdicts: None,
            }
        };
        rib.handle(router(&["8.8.8.0/24", "8.8.4.0/24", "9.9.9.0/24"]));
        let out = rib.handle(router(&["20.0.0.0/24"]));
        let sent = out
            .iter()
            .any(|o| matches!(o, Output::Send { peer: 0, .. }));
        assert!(
            sent,
            "our own prefix is exported: the refused routes did not count"
        );
    }

    #[test]
    fn with_two_routers_one_withdrawing_leaves_the_other_routes_in_place() {
        let mut rib = rib(None);
        // A second router (peer 2), up.
        rib.peers.push(RibPeer::new(
            "router-b".into(),
            Role::Router,
            Asn(20001),
            PeerPolicy::new("router-b", Role::Router, Asn(20001), None),
        ));
        rib.handle(FromSession::Up {
            peer: 2,
            generation: 1,
            negotiated: Box::new(negotiated(20001)),
        });
        let from_router = |peer, prefixes: &[&str], withdrawn: &[&str]| {
            let FromSession::Update { update, .. } = update(prefixes, "", withdrawn) else {
                unreachable!()
            };
            FromSession::Update {
                peer,
                update,
                verdicts: None,
            }
        };
        let ctx = DecodeCtx::new(&negotiated(20002), true);
        let to_customer = |out: &[Output]| -> (usize, usize) {
            let mut n = (0, 0);
            for o in out {
                if let Output::Send { peer: 0, msgs } = o {
                    for m in msgs {
                        let u = decode_update(&m[19..], &ctx).unwrap();
                        n.0 += u.announced.len();
                        n.1 += u.withdrawn.len();
                    }
                }
            }
            n
        };
        rib.handle(from_router(1, &["20.0.0.0/24"], &[]));
        rib.handle(from_router(2, &["20.0.0.0/24"], &[]));
        let out = rib.handle(from_router(2, &[], &["20.0.0.0/24"]));
        assert_eq!(
            to_customer(&out),
            (1, 0),
            "router 1 still has it: re-announced, not withdrawn"
        );
        let out = rib.handle(FromSession::Down {
            peer: 1,
            reason: DownReason::ConnectionLost,
        });
        assert_eq!(
            to_customer(&out),
            (0, 1),
            "the last router that had it is gone"
        );
    }

    #[test]
    fn an_outbound_limit_with_teardown_closes_the_session_before_the_leak() {
        let mut rib = rib(None);
        rib.peers[0].mp_out = MaxPrefixState::new(
            Some(crate::policy::Limits {
                ipv4: Some(2),
                ipv6: None,
                warn_at: 90,
                count: crate::policy::CountMode::Received,
                action: Action::Teardown,
                restart_after: Some(60),
            }),
            None,
        );
        let FromSession::Update { update, .. } =
            update(&["20.0.0.0/24", "20.0.1.0/24", "20.0.2.0/24"], "", &[])
        else {
            unreachable!()
        };
        let out = rib.handle(FromSession::Update {
            peer: 1,
            update,
            verdicts: None,
        });
        let stop = out.iter().find_map(|o| match o {
            Output::Stop {
                peer: 0,
                notification,
                restart_after,
            } => Some((notification.clone(), *restart_after)),
            _ => None,
        });
        let (n, restart) = stop.expect("the customer session is closed");
        assert_eq!((n.code, n.subcode), (6, 2));
        assert_eq!(restart, Some(std::time::Duration::from_secs(60)));
    }

    fn vrps(list: &[(&str, u8, u32)]) -> Arc<RpkiData> {
        let v = list
            .iter()
            .map(|(p, max_len, asn)| crate::rpki::Vrp {
                prefix: p.parse().unwrap(),
                max_len: *max_len,
                asn: Asn(*asn),
                ta: None,
                expires: None,
            })
            .collect();
        Arc::new(RpkiData::new(v, vec![]))
    }

    /// Installs `data` the way the daemon does: with the delta from what the RIB holds.
    fn install(rib: &mut Rib, data: Arc<RpkiData>) -> (Vec<Output>, Reevaluation) {
        let delta = crate::rpki::RpkiDelta::between(&rib.rpki, &data);
        let generation = rib.policy_generation + 1;
        rib.set_rpki(data, &delta, generation)
    }

    const BASE: &[(&str, u8, u32)] = &[
        ("8.8.8.0/24", 24, 15169),
        ("1.1.1.0/24", 24, 13335),
        ("203.0.112.0/22", 24, 64999),
    ];

    #[test]
    fn a_roa_that_goes_and_comes_back_withdraws_and_restores_only_its_route() {
        let mut rib = rib(None);
        install(&mut rib, vrps(BASE));
        rib.handle(update(&["8.8.8.0/24"], "20002 15169", &[]));
        rib.handle(update(&["1.1.1.0/24"], "20002 13335", &[]));
        let out = rib.handle(update(&["9.9.9.0/24"], "20002 19281", &[]));
        assert_eq!(to_router(&out).0, vec!["9.9.9.0/24".to_string()]);

        // The ROA for 8.8.8.0/24 now names another AS: its route turns invalid.
        let mut changed = BASE.to_vec();
        changed[0] = ("8.8.8.0/24", 24, 64998);
        let (out, stats) = install(&mut rib, vrps(&changed));
        assert_eq!(to_router(&out), (vec![], vec!["8.8.8.0/24".to_string()]));
        assert_eq!(
            stats,
            Reevaluation {
                checked: 1,
                changed: 1
            }
        );
        assert!(rib.peers[0]
            .adj_in
            .get(&Nlri::new("8.8.8.0/24".parse().unwrap()))
            .unwrap()
            .verdict
            .failed
            .contains(Reason::RpkiInvalid));

        // Back as it was: the route returns; nothing else is sent or checked.
        let (out, stats) = install(&mut rib, vrps(BASE));
        assert_eq!(to_router(&out), (vec!["8.8.8.0/24".to_string()], vec![]));
        assert_eq!(
            stats,
            Reevaluation {
                checked: 1,
                changed: 1
            }
        );
    }

    #[test]
    fn a_new_covering_roa_touches_its_more_specifics_and_nothing_else() {
        let mut rib = rib(None);
        install(&mut rib, vrps(BASE));
        rib.handle(update(&["8.8.8.0/24", "8.8.9.0/24"], "20002 15169", &[]));
        rib.handle(update(&["9.9.9.0/24"], "20002 19281", &[]));
        let mut more = BASE.to_vec();
        more.push(("8.8.8.0/23", 23, 64998));
        let (out, stats) = install(&mut rib, vrps(&more));
        // 8.8.8.0/24 keeps its own valid ROA; 8.8.9.0/24 is now covered and invalid.
        assert_eq!(to_router(&out), (vec![], vec!["8.8.9.0/24".to_string()]));
        assert_eq!(
            stats,
            Reevaluation {
                checked: 2,
                changed: 1
            }
        );
    }

    #[test]
    fn verdicts_a_session_made_with_older_data_are_made_again() {
        let mut rib = rib(None);
        install(&mut rib, vrps(BASE));
        let FromSession::Update {
            peer, update: u, ..
        } = update(&["8.8.8.0/24"], "20002 64666", &[])
        else {
            unreachable!()
        };
        // The session still had generation 0 (no data): it found nothing wrong.
        let stale = Some((0, vec![Verdict::default()]));
        let out = rib.handle(FromSession::Update {
            peer,
            update: u,
            verdicts: stale,
        });
        assert_eq!(to_router(&out), (vec![], vec![]));
        assert!(!rib.peers[0]
            .adj_in
            .get(&Nlri::new("8.8.8.0/24".parse().unwrap()))
            .unwrap()
            .verdict
            .accepted());
    }

    #[test]
    fn a_router_route_turning_invalid_is_withdrawn_from_the_neighbor() {
        let mut rib = rib(None);
        install(&mut rib, vrps(BASE));
        let announce =
            |prefixes: &[&str], withdrawn: &[&str]| match update(prefixes, "15169", withdrawn) {
                FromSession::Update { update, .. } => FromSession::Update {
                    peer: 1,
                    update,
                    verdicts: None,
                },
                _ => unreachable!(),
            };
        let out = rib.handle(announce(&["8.8.8.0/24", "9.9.9.0/24"], &[]));
        let sent_to_customer = |out: &[Output]| {
            let ctx = DecodeCtx::new(&negotiated(20002), true);
            let (mut a, mut w) = (Vec::new(), Vec::new());
            for o in out {
                if let Output::Send { peer: 0, msgs } = o {
                    for m in msgs {
                        let u = decode_update(&m[19..], &ctx).unwrap();
                        a.extend(u.announced.iter().map(|n| n.prefix.to_string()));
                        w.extend(u.withdrawn.iter().map(|n| n.prefix.to_string()));
                    }
                }
            }
            (a, w)
        };
        assert_eq!(sent_to_customer(&out).0.len(), 2);
        let mut changed = BASE.to_vec();
        changed[0] = ("8.8.8.0/24", 24, 64998);
        let (out, stats) = install(&mut rib, vrps(&changed));
        assert_eq!(
            sent_to_customer(&out),
            (vec![], vec!["8.8.8.0/24".to_string()])
        );
        assert_eq!(
            stats,
            Reevaluation {
                checked: 1,
                changed: 1
            }
        );
        // The ROA returns: only that route is sent again.
        let (out, _) = install(&mut rib, vrps(BASE));
        assert_eq!(
            sent_to_customer(&out),
            (vec!["8.8.8.0/24".to_string()], vec![])
        );
    }
}
