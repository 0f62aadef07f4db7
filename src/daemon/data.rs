//! The daemon's data task: it owns the [`RpkiFeed`], runs the RTR client, reloads the RPKI and
//! IRR files when they change or on SIGHUP, and puts each change in force — in the sessions'
//! [`SharedPolicy`] and, with what it touches, in the RIB, which re-checks only those routes.
//! It owns the policy generation: every change counts one. Building a snapshot is CPU work
//! (~1M VRPs): it runs off the I/O threads.
//!
//! A bad file never replaces good data: the error is logged with the file and position and the
//! data in force stays.

use crate::config::{Config, RpkiConfig};
use crate::irr::PrefixList;
use crate::policy::{PolicySnapshot, SharedPolicy};
use crate::rib::{PolicyUpdate, RibEvent};
use crate::rpki::feed::{FeedConfig, Outcome, RpkiFeed, RtrChange, Update};
use crate::rpki::rtr::{self, RtrCache, RtrClientConfig, RtrEvent, RtrHandle};
use crate::rpki::{load_files, LoadError, LoadOptions, RpkiData};
use crate::setup;
use crate::types::SessionId;
use crate::unix_now;
use ipnet::IpNet;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::{Duration, Instant, SystemTime};
use tokio::sync::mpsc;

/// How long the daemon waits at start for the first complete data set from an RTR cache before
/// it opens sessions anyway (routes checked before the data arrives are checked again then).
const INITIAL_RTR_WAIT: Duration = Duration::from_secs(10);

/// How often the data files' modification times are looked at.
const FILE_POLL: Duration = Duration::from_secs(5);

/// Modification times of a set of files, to see when one changed.
struct Stamps(Vec<Option<SystemTime>>);

impl Stamps {
    fn read<'a>(files: impl Iterator<Item = &'a PathBuf>) -> Stamps {
        Stamps(
            files
                .map(|p| std::fs::metadata(p).and_then(|m| m.modified()).ok())
                .collect(),
        )
    }

    /// Whether a file changed since the last look (and remembers the new times).
    fn changed<'a>(&mut self, files: impl Iterator<Item = &'a PathBuf>) -> bool {
        let now = Stamps::read(files);
        if now.0 == self.0 {
            return false;
        }
        *self = now;
        true
    }
}

/// The RPKI files the feed reads.
struct Files {
    vrp: Vec<PathBuf>,
    aspa: Vec<PathBuf>,
    slurm: Vec<PathBuf>,
    stamps: Stamps,
}

impl Files {
    fn new(cfg: &RpkiConfig) -> Files {
        let mut f = Files {
            vrp: cfg.vrp_files.clone(),
            aspa: cfg.aspa_files.clone(),
            slurm: cfg.slurm_files.clone(),
            stamps: Stamps(Vec::new()),
        };
        f.stamps = Stamps::read(f.all());
        f
    }

    fn all(&self) -> impl Iterator<Item = &PathBuf> {
        self.vrp.iter().chain(&self.aspa).chain(&self.slurm)
    }

    fn changed(&mut self) -> bool {
        let files: Vec<PathBuf> = self.all().cloned().collect();
        self.stamps.changed(files.iter())
    }

    fn load(&self) -> Result<crate::rpki::feed::FileData, LoadError> {
        load_files(
            &self.vrp,
            &self.aspa,
            &self.slurm,
            &LoadOptions {
                now: Some(unix_now()),
            },
        )
    }
}

/// The IRR files of the policy: each neighbor's prefix lists and the operator's announce list.
struct IrrFiles {
    peers: Vec<(usize, Vec<PathBuf>)>,
    /// The `announce` entries of the config, to which the `announce_irr` files add.
    announce_static: PrefixList,
    announce: Vec<PathBuf>,
    stamps: Stamps,
}

impl IrrFiles {
    /// The files of `cfg`, each peer's by its pair slot.
    fn new(cfg: &Config, slots: &super::reload::Slots) -> IrrFiles {
        let mut f = IrrFiles {
            peers: cfg
                .peers
                .iter()
                .filter(|p| !p.irr.is_empty())
                .filter_map(|p| Some((slots.of(&p.name)?, p.irr.clone())))
                .collect(),
            announce_static: cfg.global.announce_list(),
            announce: cfg.global.announce_irr.clone(),
            stamps: Stamps(Vec::new()),
        };
        f.stamps = Stamps::read(f.all().iter());
        f
    }

    fn all(&self) -> Vec<PathBuf> {
        let peers = self.peers.iter().flat_map(|(_, f)| f.iter());
        peers.chain(&self.announce).cloned().collect()
    }

    fn changed(&mut self) -> bool {
        let files = self.all();
        self.stamps.changed(files.iter())
    }

    /// What the files change against the policy in force: `None` when nothing; an error for
    /// a bad file (then nothing is changed at all).
    fn reload(&self, snap: &PolicySnapshot) -> Result<Option<PolicyUpdate>, crate::irr::IrrError> {
        let mut update = PolicyUpdate {
            generation: 0,
            local: snap.local.clone(),
            peers: Vec::new(),
            import: Vec::new(),
            export: Vec::new(),
        };
        let empty = PrefixList::new();
        for (i, files) in &self.peers {
            let new = setup::load_irr_files(files)?;
            let Some(old) = snap.peers.get(*i) else {
                continue;
            };
            let changed: Vec<IpNet> = old.irr.as_deref().unwrap_or(&empty).changed_prefixes(&new);
            if changed.is_empty() {
                continue;
            }
            tracing::info!(peer = %old.name, entries = new.len(), changed = changed.len(), "IRR prefix list changed");
            let mut policy = old.clone();
            policy.irr = Some(Arc::new(new));
            update.peers.push((*i, policy));
            update.import.push((*i, changed));
        }
        if !self.announce.is_empty() {
            let mut list = self.announce_static.clone();
            list.merge(&setup::load_irr_files(&self.announce)?);
            let changed = snap.local.announce.changed_prefixes(&list);
            if !changed.is_empty() {
                tracing::info!(
                    entries = list.len(),
                    changed = changed.len(),
                    "announce list changed"
                );
                update.local.announce = Arc::new(list);
                update.export = changed;
            }
        }
        Ok((!update.peers.is_empty() || !update.export.is_empty()).then_some(update))
    }
}

/// What the data task reports to operators, and the API's orders it answers.
pub(super) struct DataOps {
    pub metrics: Arc<crate::metrics::Metrics>,
    pub status: Arc<std::sync::Mutex<crate::api::views::RpkiStatus>>,
    pub control: mpsc::Receiver<crate::api::Control>,
    /// The configured RTR caches in preference order (the client's cache indices).
    pub caches: Vec<String>,
}

impl DataOps {
    fn status(&self) -> std::sync::MutexGuard<'_, crate::api::views::RpkiStatus> {
        self.status
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    /// Operator-facing state before the first data: every RTR cache not connected yet, and
    /// `starting` while the daemon waits for them.
    pub fn starting(&self) {
        self.status().starting = true;
        for (cache, address) in self.caches.iter().enumerate() {
            self.rtr(&crate::rpki::rtr::RtrStatus {
                cache,
                up: false,
                version: None,
                session_id: None,
                serial: None,
                message: format!("{address}: not connected yet"),
            });
        }
    }

    /// The data now in force.
    fn in_force(&self, data: &RpkiData, generation: u64) {
        let (v4, v6) = data.vrp_count();
        self.metrics.vrps(crate::types::Afi::Ipv4, v4 as u64);
        self.metrics.vrps(crate::types::Afi::Ipv6, v6 as u64);
        self.metrics.aspas(data.aspa_count() as u64);
        let mut s = self.status();
        s.starting = false;
        s.vrps_v4 = v4 as u64;
        s.vrps_v6 = v6 as u64;
        s.aspas = data.aspa_count() as u64;
        s.generation = generation;
        s.last_update = Some(unix_now());
    }

    fn breaker(&self, held: Option<&crate::rpki::feed::Held>, started: i64) {
        self.metrics.circuit_breaker_held(held.is_some());
        let mut s = self.status();
        s.circuit_breaker = crate::api::views::CircuitBreakerStatus {
            held: held.is_some(),
            since: held.map(|h| started + h.since as i64),
            why: held.map(|h| h.why.clone()),
        };
    }

    fn rtr(&self, st: &crate::rpki::rtr::RtrStatus) {
        let Some(address) = self.caches.get(st.cache).cloned() else {
            return;
        };
        self.metrics.rtr(&address, st.up, st.serial);
        let mut s = self.status();
        let now = Some(unix_now());
        let mut entry = crate::api::views::CacheStatus {
            address: address.clone(),
            up: st.up,
            version: st.version,
            session_id: st.session_id,
            serial: st.serial,
            last_change: now,
            ..Default::default()
        };
        match s.caches.iter_mut().find(|c| c.address == address) {
            Some(c) => {
                // What the data told: kept across state changes.
                entry.last_sync = c.last_sync;
                entry.last_update = c.last_update;
                entry.data_serial = c.data_serial;
                *c = entry;
            }
            None => s.caches.push(entry),
        }
    }

    /// A cache's End of Data: its data is confirmed current now, and changed if its session or
    /// serial is new.
    fn rtr_synced(&self, d: &crate::rpki::rtr::RtrDelta) {
        let Some(address) = self.caches.get(d.cache) else {
            return;
        };
        let now = unix_now();
        let mut s = self.status();
        let Some(c) = s.caches.iter_mut().find(|c| &c.address == address) else {
            return;
        };
        c.last_sync = Some(now);
        let serial = Some((d.session_id, d.serial));
        if c.data_serial != serial {
            c.data_serial = serial;
            c.last_update = Some(now);
            self.metrics
                .rpki_source_updated(&format!("rtr:{address}"), now);
        }
    }

    /// What an RTR event tells operators.
    fn rtr_event(&self, ev: &RtrEvent) {
        match ev {
            RtrEvent::Status(st) => self.rtr(st),
            RtrEvent::Data(d) => self.rtr_synced(d),
            RtrEvent::Expired => {}
        }
    }

    fn files(&self, files: &Files, error: Option<&str>) {
        let now = unix_now();
        let mut s = self.status();
        let before: std::collections::HashMap<String, Option<i64>> = s
            .files
            .iter()
            .map(|f| (f.path.clone(), f.modified))
            .collect();
        s.files = files
            .all()
            .map(|p| {
                let path = p.display().to_string();
                // A failed load keeps the data before, and with it its age.
                let modified = match error {
                    None => modified_unix(p),
                    Some(_) => before.get(&path).copied().flatten(),
                };
                if let (None, Some(m)) = (error, modified) {
                    self.metrics.rpki_source_updated(&format!("file:{path}"), m);
                }
                crate::api::views::FileStatus {
                    path,
                    loaded_at: error.is_none().then_some(now),
                    modified,
                    age_s: None,
                    error: error.map(str::to_string),
                }
            })
            .collect();
    }
}

/// A file's modification time in unix seconds.
fn modified_unix(path: &std::path::Path) -> Option<i64> {
    let t = std::fs::metadata(path).and_then(|m| m.modified()).ok()?;
    let secs = t.duration_since(std::time::UNIX_EPOCH).ok()?.as_secs();
    i64::try_from(secs).ok()
}

/// What a configuration reload needs: where the file is, what runs, and the sessions to tell.
pub(super) struct ReloadCtx {
    pub path: PathBuf,
    pub config: Config,
    /// The session channels and the listeners' table.
    pub wiring: super::SharedWiring,
    /// Which pair slot each configured peer lives in.
    pub slots: super::reload::Slots,
    /// The listening sockets, for the TCP-MD5 keys of added and removed pairs.
    pub listeners: Vec<(std::net::SocketAddr, Arc<tokio::net::TcpListener>)>,
    /// The session tasks, awaited when the daemon stops.
    pub handles: Arc<std::sync::Mutex<Vec<tokio::task::JoinHandle<()>>>>,
    pub metrics: Arc<crate::metrics::Metrics>,
}

fn feed_config(cfg: &RpkiConfig) -> FeedConfig {
    FeedConfig {
        max_shrink_percent: cfg.max_shrink_percent,
        max_shrink_hold_secs: cfg.max_shrink_hold.as_secs(),
        fail_open: cfg.fail_open,
    }
}

/// The running data task's parts that the daemon keeps.
pub(super) struct DataTask {
    /// The data the RIB starts with, and its generation.
    pub initial: (Arc<RpkiData>, u64),
    feed: RpkiFeed,
    files: Files,
    irr: IrrFiles,
    rtr: Option<(RtrHandle, mpsc::Receiver<RtrEvent>)>,
    started: Instant,
    /// The generation of the policy snapshot in force.
    generation: u64,
}

impl DataTask {
    /// Loads the files, starts the RTR client and waits a little for its first data, showing
    /// the caches' state in `ops` meanwhile; a bad file at start is an error (there is no data
    /// in force to keep).
    pub async fn start(config: &Config, ops: &DataOps) -> Result<DataTask, LoadError> {
        let cfg = &config.rpki;
        let files = Files::new(cfg);
        let mut feed = RpkiFeed::new(feed_config(cfg));
        feed.set_files(files.load()?);
        let mut rtr = None;
        if !cfg.rtr.is_empty() {
            let (tx, mut rx) = mpsc::channel(64);
            let caches = cfg
                .rtr_in_preference_order()
                .into_iter()
                .map(|c| RtrCache {
                    address: c.address.clone(),
                })
                .collect();
            let handle = rtr::spawn(
                RtrClientConfig {
                    caches,
                    expire: Some(cfg.expire),
                    connect_timeout: Duration::from_secs(10),
                },
                tx,
            );
            let deadline = tokio::time::Instant::now() + INITIAL_RTR_WAIT;
            loop {
                match tokio::time::timeout_at(deadline, rx.recv()).await {
                    Ok(Some(ev)) => {
                        ops.rtr_event(&ev);
                        if handle_rtr(&mut feed, ev) {
                            break;
                        }
                    }
                    Ok(None) => break,
                    Err(_) => {
                        tracing::warn!(
                            wait_s = INITIAL_RTR_WAIT.as_secs(),
                            "no RTR cache has answered yet: starting with the file data only"
                        );
                        break;
                    }
                }
            }
            rtr = Some((handle, rx));
        }
        let started = Instant::now();
        let initial = match feed.rebuild(0) {
            Outcome::Apply(u) => (u.data, u.generation),
            _ => {
                let (d, g) = feed.current();
                (d.clone(), g)
            }
        };
        // What the build freed, and the first delta (every prefix) just dropped.
        crate::release_free_memory();
        let (v4, v6) = initial.0.vrp_count();
        tracing::info!(
            vrps_v4 = v4,
            vrps_v6 = v6,
            aspas = initial.0.aspa_count(),
            "RPKI data loaded"
        );
        Ok(DataTask {
            generation: initial.1,
            initial,
            feed,
            files,
            irr: IrrFiles::new(config, &super::reload::Slots::new(config)),
            rtr,
            started,
        })
    }

    /// Runs until the RIB is gone: RTR events, file changes, SIGHUP, the circuit breaker's
    /// hold time. `shared` holds the snapshot of generation `self.initial.1`.
    pub async fn run(
        mut self,
        shared: Arc<SharedPolicy>,
        rib: mpsc::Sender<RibEvent>,
        mut reload: Option<ReloadCtx>,
        mut ops: DataOps,
    ) {
        let started = unix_now() - self.started.elapsed().as_secs() as i64;
        ops.in_force(&self.initial.0, self.initial.1);
        ops.files(&self.files, None);
        let mut hup = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::hangup()).ok();
        let mut poll = tokio::time::interval(FILE_POLL);
        poll.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        loop {
            let mut dirty = false;
            let mut reloading = false;
            tokio::select! {
                ev = next_rtr(&mut self.rtr) => match ev {
                    Some(ev) => {
                        ops.rtr_event(&ev);
                        dirty = handle_rtr(&mut self.feed, ev);
                        // Take every End of Data already waiting: one rebuild for all of them.
                        while let Some(ev) = self.rtr.as_mut().and_then(|(_, rx)| rx.try_recv().ok()) {
                            ops.rtr_event(&ev);
                            dirty |= handle_rtr(&mut self.feed, ev);
                        }
                    }
                    None => self.rtr = None,
                },
                order = ops.control.recv() => match order {
                    Some(crate::api::Control::Reload(answer)) => {
                        super::notify::reloading("reloading on request of the API");
                        reloading = true;
                        if let Some((h, _)) = &self.rtr {
                            h.refresh();
                        }
                        let result = match reload.as_mut() {
                            Some(ctx) => self.reload_config(ctx, &shared, &rib).await,
                            None => Ok("data files reloaded (no configuration file to read)".into()),
                        };
                        if let Err(e) = &result {
                            ops.metrics.reload_error("config");
                            tracing::error!("configuration reload refused, the running configuration stays: {e}");
                        }
                        dirty = self.reload_files(&ops);
                        if !self.reload_irr(&shared, &rib, &ops).await {
                            return;
                        }
                        let _ = answer.send(result);
                    }
                    Some(crate::api::Control::Clear { peer, answer }) => {
                        // The RIB holds the limits; it answers (if it is gone, the dropped
                        // sender tells the API so).
                        let _ = rib.send(RibEvent::Clear { peer, answer }).await;
                    }
                    Some(crate::api::Control::Neighbor { peer, order, answer }) => {
                        // The RIB holds the pairs' administrative state and routes.
                        let _ = rib.send(RibEvent::Neighbor { peer, order, answer }).await;
                    }
                    Some(crate::api::Control::Incident { order, answer }) => {
                        // The RIB holds the incidents.
                        let _ = rib.send(RibEvent::Incident { order, answer }).await;
                    }
                    Some(crate::api::Control::Routes { query, answer }) => {
                        // The RIB holds the routes.
                        let _ = rib.send(RibEvent::Routes { query, answer }).await;
                    }
                    Some(crate::api::Control::RpkiAccept(answer)) => {
                        match self.feed.accept_held() {
                            Some(u) => {
                                let summary = format!("held update accepted: generation {}", self.generation + 1);
                                if !self.put_in_force(u, &shared, &rib, &ops).await {
                                    return;
                                }
                                let _ = answer.send(Ok(summary));
                            }
                            None => {
                                let _ = answer.send(Err("the circuit breaker holds nothing".into()));
                            }
                        }
                        ops.breaker(self.feed.held(), started);
                    }
                    None => {}
                },
                _ = next_hup(&mut hup) => {
                    super::notify::reloading("reloading on SIGHUP");
                    reloading = true;
                    tracing::info!("SIGHUP: reloading the configuration, the RPKI and IRR files, and asking the RTR cache");
                    if let Some((h, _)) = &self.rtr {
                        h.refresh();
                    }
                    if let Some(ctx) = reload.as_mut() {
                        match self.reload_config(ctx, &shared, &rib).await {
                            Ok(summary) => tracing::info!("configuration reloaded: {summary}"),
                            Err(e) => {
                                ops.metrics.reload_error("config");
                                tracing::error!("configuration reload refused, the running configuration stays: {e}");
                            }
                        }
                    }
                    dirty = self.reload_files(&ops);
                    if !self.reload_irr(&shared, &rib, &ops).await {
                        return;
                    }
                }
                _ = poll.tick() => {
                    if self.files.changed() {
                        tracing::info!("an RPKI data file changed: reloading");
                        dirty = self.reload_files(&ops);
                    }
                    if self.irr.changed() {
                        tracing::info!("an IRR file changed: reloading");
                        if !self.reload_irr(&shared, &rib, &ops).await {
                            return;
                        }
                    }
                    let now = self.started.elapsed().as_secs();
                    if let Some(u) = self.feed.tick(now) {
                        if !self.put_in_force(u, &shared, &rib, &ops).await {
                            return;
                        }
                        ops.breaker(self.feed.held(), started);
                    }
                }
            }
            if dirty {
                let now = self.started.elapsed().as_secs();
                let outcome = tokio::task::block_in_place(|| rebuild(&mut self.feed, now));
                if let Outcome::Apply(u) = outcome {
                    if !self.put_in_force(u, &shared, &rib, &ops).await {
                        return;
                    }
                }
                ops.breaker(self.feed.held(), started);
            }
            if reloading {
                // Also after a refused reload: what was in force stays, the daemon runs on.
                super::notify::ready("running; reloaded on SIGHUP");
            }
        }
    }

    /// Loads the files into the feed; on error keeps what was loaded before.
    fn reload_files(&mut self, ops: &DataOps) -> bool {
        match tokio::task::block_in_place(|| self.files.load()) {
            Ok(f) => {
                self.feed.set_files(f);
                ops.files(&self.files, None);
                true
            }
            Err(e) => {
                tracing::error!("RPKI file reload failed, the data in force stays: {e}");
                ops.metrics.reload_error("rpki-files");
                ops.files(&self.files, Some(&e.to_string()));
                false
            }
        }
    }

    /// Reads the configuration file again and applies what it changes: pairs added and
    /// removed, policies and limits (routes checked again, sessions kept), session parameters
    /// (that session restarts), the RPKI file lists. An invalid file (or a policy file that
    /// does not load) is refused whole and the running configuration stays.
    async fn reload_config(
        &mut self,
        ctx: &mut ReloadCtx,
        shared: &Arc<SharedPolicy>,
        rib: &mpsc::Sender<RibEvent>,
    ) -> Result<String, String> {
        let path = ctx.path.clone();
        let loaded = tokio::task::block_in_place(|| crate::config::load(&path))
            .map_err(|e| e.to_string())?;
        for w in &loaded.warnings {
            tracing::warn!("{w}");
        }
        let new = loaded.config;
        let plan = super::reload::plan(&ctx.config, &new);
        for w in &plan.not_applied {
            tracing::warn!("{w}");
        }
        // Everything that can fail comes first: a bad IRR file refuses the whole reload.
        let mut added_pairs = Vec::new();
        for &i in &plan.added {
            let Some(p) = new.peers.get(i) else { continue };
            added_pairs.push((i, super::rib_pair(p).map_err(|e| e.to_string())?));
        }
        // Pairs come and go first (slots retired and appended); the plan names peers by their
        // position in the new file, everything else by slot.
        let pairs_changed = !plan.added.is_empty() || !plan.removed.is_empty();
        let mut slots = ctx.slots.clone();
        let (retired, appended) = slots.apply(&plan, &new);
        let slot = |i: usize| slots.of_new(&new, i);
        let local = if plan.local {
            Some(setup::local_policy(&new).map_err(|e| e.to_string())?)
        } else {
            None
        };
        let mut peers = Vec::new();
        for &i in &plan.policy {
            let (Some(p), Some(pair)) = (new.peers.get(i), slot(i)) else {
                continue;
            };
            peers.push(crate::rib::PairReconfig {
                pair,
                policy: setup::peer_policy(p).map_err(|e| e.to_string())?,
                local_asn: p.router.as_ref().map(|r| r.asn),
                next_hop: p.next_hop,
                limits_in: setup::limits(&p.max_prefix_in),
                burst: p.burst_guard.as_ref().map(setup::burst),
                limits_out: setup::limits(&p.max_prefix_out),
            });
        }
        if pairs_changed {
            ctx.slots = slots.clone();
            let gone = (retired.as_slice(), plan.removed.as_slice());
            self.change_pairs(ctx, &new, shared, rib, gone, &appended, added_pairs)
                .await?;
        }
        let summary = format!(
            "{} peer(s) with new policy, {} session(s) restarted{}{}{}",
            plan.policy.len(),
            plan.restart.len(),
            if pairs_changed {
                format!(
                    ", {} pair(s) added, {} removed",
                    appended.len(),
                    retired.len()
                )
            } else {
                String::new()
            },
            if plan.local {
                ", local policy changed"
            } else {
                ""
            },
            if plan.not_applied.is_empty() {
                ""
            } else {
                ", some changes need a restart"
            }
        );
        if local.is_some() || !peers.is_empty() {
            let changed: Vec<(usize, crate::policy::PeerPolicy)> = peers
                .iter()
                .map(|pr| (pr.pair, pr.policy.clone()))
                .collect();
            let generation = self.publish(shared, |next| {
                if let Some(l) = &local {
                    next.local = l.clone();
                }
                set_peers(next, &changed);
            });
            let event = RibEvent::Reconfigure(crate::rib::Reconfigure {
                generation,
                local,
                peers,
            });
            if rib.send(event).await.is_err() {
                return Err("the RIB is gone".into());
            }
        }
        for (i, shutdown) in &plan.shutdown {
            // The `shutdown` key changed: the pair goes down or up (the RIB logs it).
            let Some(p) = new.peers.get(*i) else { continue };
            let (answer, _) = tokio::sync::oneshot::channel();
            let order = crate::rib::NeighborOrder::Configured {
                shutdown: shutdown.clone(),
            };
            let event = RibEvent::Neighbor {
                peer: p.name.clone(),
                order,
                answer,
            };
            if rib.send(event).await.is_err() {
                return Err("the RIB is gone".into());
            }
        }
        for id in &plan.restart {
            let peer = new.peers.get(id.pair).zip(slot(id.pair));
            if let Some((p, r, s)) = peer.and_then(|(p, s)| Some((p, p.router.as_ref()?, s))) {
                let sc = super::session_configs(&new, s, (p, r), shared).into_side(id.side);
                let order = crate::bgp::session::ToSession::Reconfigure(Box::new(sc));
                ctx.wiring.send_to(SessionId::new(s, id.side), order);
            }
        }
        if plan.rpki_files {
            self.files = Files::new(&new.rpki);
            self.feed.set_config(feed_config(&new.rpki));
        }
        self.irr = IrrFiles::new(&new, &ctx.slots);
        ctx.config = new;
        Ok(summary)
    }

    /// Removes the pairs in the `retired` slots (their sessions close with Cease/3 Peer
    /// De-configured, the RIB drops their routes, their series and views go) and starts the
    /// `appended` ones ((slot, index in `new`), with their RIB pairs in `added`): listener
    /// table and TCP-MD5 keys, metrics series, policy, sessions. No other pair is touched.
    #[allow(clippy::too_many_arguments)]
    async fn change_pairs(
        &mut self,
        ctx: &mut ReloadCtx,
        new: &Config,
        shared: &Arc<SharedPolicy>,
        rib: &mpsc::Sender<RibEvent>,
        (retired, removed): (&[usize], &[String]),
        appended: &[(usize, usize)],
        added: Vec<(usize, crate::rib::Pair)>,
    ) -> Result<(), String> {
        for &slot in retired {
            for side in crate::types::Side::BOTH {
                let order = crate::bgp::session::ToSession::Deconfigure;
                ctx.wiring.send_to(SessionId::new(slot, side), order);
            }
        }
        ctx.wiring
            .change(|w| w.table.retain(|(_, _, id)| !retired.contains(&id.pair)));
        // Each new pair: its metrics series, its diagnostics, its RIB pair, its policy.
        let mut rib_pairs = Vec::new();
        let mut policies = Vec::new();
        let mut starts = Vec::new();
        for ((slot, i), (_, mut pair)) in appended.iter().zip(added) {
            let Some(p) = new.peers.get(*i) else { continue };
            let label = crate::metrics::PeerLabel {
                name: p.name.clone(),
            };
            let at = ctx.metrics.add_peer(&label);
            if at != *slot {
                return Err(format!(
                    "pair {}: slot {slot} but metrics slot {at}",
                    p.name
                ));
            }
            let diag = crate::types::PerSide::new(|side| {
                crate::bgp::diag::DiagHandle::with_metrics(
                    ctx.metrics.clone(),
                    SessionId::new(*slot, side),
                )
            });
            pair.diag = diag.clone();
            policies.push(pair.policy.clone());
            rib_pairs.push(pair);
            starts.push((*slot, p, diag));
        }
        let generation = self.publish(shared, |next| next.peers.extend(policies));
        let event = RibEvent::Pairs(crate::rib::PairsChange {
            added: rib_pairs,
            removed: retired.to_vec(),
        });
        if rib.send(event).await.is_err() {
            return Err("the RIB is gone".into());
        }
        // The RIB takes the new generation (nothing to re-check: no other policy changed).
        let event = RibEvent::Reconfigure(crate::rib::Reconfigure {
            generation,
            local: None,
            peers: Vec::new(),
        });
        if rib.send(event).await.is_err() {
            return Err("the RIB is gone".into());
        }
        let added: Vec<usize> = appended.iter().map(|(_, i)| *i).collect();
        super::set_listener_keys(&ctx.listeners, (&ctx.config, removed), (new, &added));
        for (slot, p, diag) in starts {
            let (channels, tasks) =
                super::spawn_pair(new, slot, p, shared, rib, &diag).map_err(|e| e.to_string())?;
            ctx.handles
                .lock()
                .unwrap_or_else(std::sync::PoisonError::into_inner)
                .extend(tasks);
            ctx.wiring.change(|w| {
                w.sessions.push(channels);
                w.table.extend(super::pair_table(slot, p));
            });
            tracing::info!(peer = %p.name, slot, "pair added by a reload: sessions started");
        }
        Ok(())
    }

    /// Loads the IRR files and puts what changed in force; a bad file keeps the lists in
    /// force. `false` when the RIB is gone.
    async fn reload_irr(
        &mut self,
        shared: &SharedPolicy,
        rib: &mpsc::Sender<RibEvent>,
        ops: &DataOps,
    ) -> bool {
        let snap = shared.load();
        match tokio::task::block_in_place(|| self.irr.reload(&snap)) {
            Ok(Some(mut u)) => {
                u.generation = self.publish(shared, |next| {
                    next.local = u.local.clone();
                    set_peers(next, &u.peers);
                });
                rib.send(RibEvent::Policy(u)).await.is_ok()
            }
            Ok(None) => true,
            Err(e) => {
                tracing::error!("IRR file reload failed, the lists in force stay: {e}");
                ops.metrics.reload_error("irr-files");
                true
            }
        }
    }

    /// Puts new RPKI data in force for the sessions and the RIB; `false` when the RIB is gone.
    async fn put_in_force(
        &mut self,
        mut u: Update,
        shared: &SharedPolicy,
        rib: &mpsc::Sender<RibEvent>,
        ops: &DataOps,
    ) -> bool {
        u.generation = self.publish(shared, |next| next.rpki = u.data.clone());
        ops.in_force(&u.data, u.generation);
        let (v4, v6) = u.data.vrp_count();
        tracing::info!(
            generation = u.generation,
            vrps_v4 = v4,
            vrps_v6 = v6,
            aspas = u.data.aspa_count(),
            "new RPKI data in force"
        );
        rib.send(RibEvent::Rpki(u)).await.is_ok()
    }

    /// Puts in force, for the sessions, the snapshot in force changed by `change`, under the
    /// next generation; returns it (what the RIB is to be told).
    fn publish(&mut self, shared: &SharedPolicy, change: impl FnOnce(&mut PolicySnapshot)) -> u64 {
        self.generation += 1;
        let mut next = (*shared.load()).clone();
        next.generation = self.generation;
        change(&mut next);
        shared.store(next);
        self.generation
    }
}

/// Replaces the policies of the given peers in a snapshot.
fn set_peers(snap: &mut PolicySnapshot, peers: &[(usize, crate::policy::PeerPolicy)]) {
    for (i, p) in peers {
        if let Some(slot) = snap.peers.get_mut(*i) {
            *slot = p.clone();
        }
    }
}

/// Rebuilds the feed's snapshot, then gives back to the OS what the build freed on this thread
/// (mimalloc purges a thread's freed pages only when that thread allocates or frees again, and
/// the data task may stay idle for hours after building ~1M VRPs).
fn rebuild(feed: &mut RpkiFeed, now: u64) -> Outcome {
    let outcome = feed.rebuild(now);
    crate::release_free_memory();
    outcome
}

/// Feeds one RTR event to the feed; `true` when the data changed.
fn handle_rtr(feed: &mut RpkiFeed, ev: RtrEvent) -> bool {
    match ev {
        RtrEvent::Data(d) => {
            tracing::debug!(
                cache = d.cache,
                serial = d.serial,
                reset = d.reset,
                announced = d.vrps_announced.len(),
                withdrawn = d.vrps_withdrawn.len(),
                "RTR data"
            );
            if d.is_empty() {
                return false;
            }
            // The client's VRP set is shared, not copied: the feed keeps no other.
            feed.apply_rtr(RtrChange::from(d));
            true
        }
        RtrEvent::Expired => {
            tracing::error!(
                "RTR data expired: no cache has delivered data for the expire interval"
            );
            feed.rtr_expired();
            true
        }
        RtrEvent::Status(s) => {
            if s.up {
                tracing::info!(cache = s.cache, version = ?s.version, serial = ?s.serial, "RTR cache up: {}", s.message);
            } else {
                tracing::warn!(cache = s.cache, "RTR cache down: {}", s.message);
            }
            false
        }
    }
}

async fn next_rtr(rtr: &mut Option<(RtrHandle, mpsc::Receiver<RtrEvent>)>) -> Option<RtrEvent> {
    match rtr {
        Some((_, rx)) => rx.recv().await,
        None => std::future::pending().await,
    }
}

async fn next_hup(hup: &mut Option<tokio::signal::unix::Signal>) {
    match hup {
        Some(s) => {
            s.recv().await;
        }
        None => std::future::pending().await,
    }
}
