//! The master: holds the swarm's state, runs the planner (the one the simulator runs) and tells
//! each peer what to fetch from whom over a WebSocket. It serves chunks from its own folder,
//! which it only reads, and rescans that folder to publish a new manifest when it changes.

use std::collections::{BTreeMap, HashMap};
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, RwLock};
use std::time::{Duration, Instant};

use axum::Router;
use axum::extract::State;
use axum::extract::ws::{Message, WebSocket, WebSocketUpgrade};
use axum::http::HeaderMap;
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use futures_util::{SinkExt, StreamExt};
use serde::Serialize;
use tokio::sync::{mpsc, oneshot};
use tracing::Instrument;

use crate::chunk_hash::ChunkHash;
use crate::chunk_set::ChunkSet;
use crate::error::SwarmError;
use crate::hash_cache::HashCache;
use crate::manifest::Manifest;
use crate::node::auth::Token;
use crate::node::chunk_server::{self, ChunkSource, ServerState};
use crate::node::error::NodeError;
use crate::node::limiter::Limiter;
use crate::node::mirror::Layout;
use crate::node::protocol::{
    self, MAX_PEER_MESSAGE, PROTOCOL_VERSION, ToMaster, ToPeer, claimed_version,
};
use crate::node::{bind, check_advertise};
use crate::planner::{Order, PlannerConfig, plan};
use crate::state::{Failure, PeerId, Slots, SwarmState, TransferId};

/// The master is node 0 in the planner's state.
const SOURCE: PeerId = PeerId(0);
/// A peer that sent nothing, not even a pong, for this long is gone.
const PEER_SILENCE: Duration = Duration::from_secs(60);
/// How often the planner runs even without news (deadlines) and the status is refreshed.
const TICK: Duration = Duration::from_millis(200);

#[derive(Debug, Clone)]
pub struct MasterConfig {
    pub dir: PathBuf,
    pub listen: SocketAddr,
    pub advertise: Option<String>,
    pub token: String,
    pub up_limit: Option<f64>,
    pub chunk_size: u64,
    pub rescan_every: Duration,
    /// Where chunk hashes are kept between runs (outside `dir`), so a restart rehashes only
    /// changed files; in memory only when `None`.
    pub hash_cache: Option<PathBuf>,
    pub slots: Slots,
    pub planner: PlannerConfig,
}

impl MasterConfig {
    pub fn new(dir: impl Into<PathBuf>, listen: SocketAddr, token: impl Into<String>) -> Self {
        MasterConfig {
            dir: dir.into(),
            listen,
            advertise: None,
            token: token.into(),
            up_limit: None,
            chunk_size: crate::manifest::DEFAULT_CHUNK_SIZE,
            rescan_every: Duration::from_secs(2),
            hash_cache: None,
            slots: Slots {
                upload: 6,
                download: 0,
            },
            planner: PlannerConfig::default(),
        }
    }
}

/// What `GET /status` answers on the master.
#[derive(Debug, Clone, Default, Serialize)]
pub struct MasterStatus {
    pub role: &'static str,
    pub manifest: String,
    pub files: usize,
    pub bytes: u64,
    /// Bytes of distinct chunks: what each peer needs to receive at most.
    pub bytes_unique: u64,
    pub chunks: usize,
    pub peers: Vec<PeerReport>,
    /// Peers that left with an error (disk full...), with what they said.
    pub failed_peers: Vec<FailedPeer>,
    pub transfers: usize,
    /// Chunks peers received that did not match their hash (never passed on).
    pub corrupt_reports: u64,
    /// Every connected peer holds the whole manifest.
    pub all_synced: bool,
}

#[derive(Debug, Clone, Serialize)]
pub struct PeerReport {
    pub id: u32,
    pub url: String,
    pub bytes_held: u64,
    pub complete: bool,
    pub banned: bool,
    /// The peer's chunks in at most [`CHUNK_MAP_COLUMNS`] characters (see
    /// [`crate::holding_bar`]), for a nodes × chunks picture.
    pub chunk_map: String,
}

/// Width of [`PeerReport::chunk_map`].
pub const CHUNK_MAP_COLUMNS: usize = 120;

#[derive(Debug, Clone, Serialize)]
pub struct FailedPeer {
    pub url: String,
    pub message: String,
}

/// A running master.
pub struct MasterHandle {
    pub local_addr: SocketAddr,
    pub advertise: String,
    status: Arc<Mutex<MasterStatus>>,
    server: tokio::task::JoinHandle<()>,
    core: tokio::task::JoinHandle<()>,
}

impl MasterHandle {
    pub fn status(&self) -> MasterStatus {
        self.status.lock().map(|s| s.clone()).unwrap_or_default()
    }

    pub fn stop(self) {
        self.server.abort();
        self.core.abort();
    }
}

struct Shared {
    root: PathBuf,
    layout: RwLock<Arc<Layout>>,
    status: Arc<Mutex<MasterStatus>>,
}

impl ChunkSource for Shared {
    fn locate(&self, hash: &ChunkHash) -> Option<(PathBuf, u64, u64)> {
        let layout = self.layout.read().ok()?.clone();
        let i = *layout.index.get(hash)?;
        let (file, offset, len) = layout.first_location(i)?;
        Some((file.path.under(&self.root), offset, len))
    }

    fn status(&self) -> serde_json::Value {
        let s = self.status.lock().map(|s| s.clone()).unwrap_or_default();
        serde_json::to_value(s).unwrap_or_default()
    }
}

enum Event {
    Joined {
        advertise: String,
        slots: Slots,
        tx: mpsc::UnboundedSender<ToPeer>,
        reply: oneshot::Sender<(PeerId, u64)>,
    },
    Message {
        peer: PeerId,
        session: u64,
        msg: ToMaster,
    },
    Left {
        peer: PeerId,
        session: u64,
    },
}

#[derive(Clone)]
struct App {
    token: Token,
    events: mpsc::UnboundedSender<Event>,
}

/// Scans the folder, binds, and starts serving and planning.
pub async fn start_master(cfg: MasterConfig) -> Result<MasterHandle, NodeError> {
    if cfg.chunk_size == 0 || cfg.chunk_size > protocol::MAX_CHUNK_SIZE {
        return Err(NodeError::Protocol(format!(
            "chunk size must be between 1 byte and {} bytes",
            protocol::MAX_CHUNK_SIZE
        )));
    }
    let cache = match &cfg.hash_cache {
        None => HashCache::in_memory(),
        Some(path) => {
            let inside = std::path::absolute(path)
                .ok()
                .zip(std::path::absolute(&cfg.dir).ok())
                .is_some_and(|(p, d)| p.starts_with(d));
            if inside {
                return Err(NodeError::Protocol(format!(
                    "the hash cache {} must not be inside the shared folder",
                    path.display()
                )));
            }
            HashCache::load(path)?
        }
    };
    let dir = cfg.dir.clone();
    let chunk_size = cfg.chunk_size;
    let (cache, manifest) = tokio::task::spawn_blocking(move || scan(&dir, chunk_size, cache))
        .await
        .map_err(|e| NodeError::Protocol(format!("scan task: {e}")))?;
    let manifest = manifest?;
    let (listener, local_addr) = bind(cfg.listen).await?;
    let advertise = check_advertise(cfg.advertise.as_deref(), cfg.listen, local_addr)?;
    let layout = Arc::new(Layout::new(manifest));
    tracing::info!(
        files = layout.manifest.files.len(),
        bytes = layout.manifest.total_bytes(),
        chunks = layout.chunks.len(),
        %advertise,
        "master ready"
    );
    let status = Arc::new(Mutex::new(MasterStatus::default()));
    let shared = Arc::new(Shared {
        root: cfg.dir.clone(),
        layout: RwLock::new(layout.clone()),
        status: status.clone(),
    });
    let token = Token::new(cfg.token.clone());
    let (events_tx, events_rx) = mpsc::unbounded_channel();
    let app = App {
        token: token.clone(),
        events: events_tx,
    };
    let router: Router = chunk_server::router(ServerState {
        source: shared.clone(),
        token,
        limiter: Arc::new(Limiter::new(cfg.up_limit)),
        corrupt: false,
    })
    .merge(Router::new().route("/ws", get(ws_upgrade)).with_state(app));
    let server = tokio::spawn(async move {
        if let Err(e) = axum::serve(listener, router).await {
            tracing::error!(error = %e, "master HTTP server stopped");
        }
    });
    let mut state = SwarmState::new(layout.chunks.iter().map(|c| c.meta()).collect());
    state.add_peer(SOURCE, ChunkSet::empty(0), true, cfg.slots);
    let core = Core {
        start: Instant::now(),
        state,
        layout,
        shared,
        sessions: BTreeMap::new(),
        ids_by_url: HashMap::new(),
        next_peer: 1,
        next_session: 1,
        seed: 0,
        failed: Vec::new(),
        corrupt_reports: 0,
        synced_sent: false,
        self_url: advertise.clone(),
        cache: Some(cache),
        cfg,
    };
    let core = tokio::spawn(
        core.run(events_rx)
            .instrument(tracing::info_span!("master")),
    );
    Ok(MasterHandle {
        local_addr,
        advertise,
        status,
        server,
        core,
    })
}

/// Builds the folder's manifest, saving the hash cache when it has a file and anything was
/// hashed. The cache comes back even when the scan fails.
fn scan(
    dir: &Path,
    chunk_size: u64,
    mut cache: HashCache,
) -> (HashCache, Result<Manifest, SwarmError>) {
    let result = Manifest::build(dir, chunk_size, &mut cache).map(|(manifest, stats)| {
        if stats.hashed_files > 0
            && cache.path().is_some()
            && let Err(e) = cache.save()
        {
            tracing::warn!(error = %e, "cannot save the hash cache");
        }
        manifest
    });
    (cache, result)
}

async fn ws_upgrade(State(app): State<App>, headers: HeaderMap, ws: WebSocketUpgrade) -> Response {
    if let Err(code) = app.token.check(&headers) {
        return code.into_response();
    }
    ws.max_message_size(MAX_PEER_MESSAGE)
        .on_upgrade(move |socket| session(socket, app.events))
}

async fn send(socket: &mut WebSocket, msg: &ToPeer) -> bool {
    socket
        .send(Message::Text(protocol::encode(msg).into()))
        .await
        .is_ok()
}

async fn refuse(socket: &mut WebSocket, message: String) {
    tracing::warn!(%message, "refusing a peer");
    send(socket, &ToPeer::Refused { message }).await;
    let _ = socket.close().await;
}

/// One peer's connection: the hello, then messages both ways until either side stops.
async fn session(mut socket: WebSocket, events: mpsc::UnboundedSender<Event>) {
    let first = tokio::time::timeout(Duration::from_secs(30), socket.next()).await;
    let text = match first {
        Ok(Some(Ok(Message::Text(t)))) => t,
        Ok(Some(Ok(_))) => {
            return refuse(&mut socket, "expected a hello text message".into()).await;
        }
        _ => return,
    };
    match claimed_version(&text) {
        Some(PROTOCOL_VERSION) => {}
        Some(theirs) => {
            let e = NodeError::ProtocolMismatch {
                ours: PROTOCOL_VERSION,
                theirs,
            };
            return refuse(&mut socket, e.to_string()).await;
        }
        None => {
            return refuse(
                &mut socket,
                "the first message must be a hello with a protocol version".into(),
            )
            .await;
        }
    }
    let (advertise, slots) = match protocol::decode::<ToMaster>(&text) {
        Ok(ToMaster::Hello {
            advertise,
            upload_slots,
            download_slots,
            ..
        }) => {
            if let Err(e) = crate::node::parse_base_url(&advertise) {
                return refuse(&mut socket, e.to_string()).await;
            }
            let slots = Slots {
                upload: upload_slots.clamp(1, 64),
                download: download_slots.clamp(1, 64),
            };
            (advertise, slots)
        }
        Ok(_) => return refuse(&mut socket, "the first message must be a hello".into()).await,
        Err(e) => return refuse(&mut socket, e.to_string()).await,
    };
    let (tx, mut rx) = mpsc::unbounded_channel();
    let (reply_tx, reply_rx) = oneshot::channel();
    if events
        .send(Event::Joined {
            advertise: advertise.clone(),
            slots,
            tx,
            reply: reply_tx,
        })
        .is_err()
    {
        return;
    }
    let Ok((peer, session)) = reply_rx.await else {
        return;
    };
    let span = tracing::info_span!("peer", %peer, url = %advertise);
    async {
        tracing::info!("peer joined");
        let mut ping = tokio::time::interval(crate::node::PING_EVERY);
        let mut last_seen = Instant::now();
        loop {
            tokio::select! {
                _ = ping.tick() => {
                    if last_seen.elapsed() > PEER_SILENCE {
                        tracing::warn!("peer silent for too long; dropping it");
                        break;
                    }
                    if socket.send(Message::Ping(axum::body::Bytes::new())).await.is_err() {
                        break;
                    }
                }
                out = rx.recv() => match out {
                    Some(msg) => if !send(&mut socket, &msg).await { break },
                    None => break,
                },
                inc = socket.next() => {
                    last_seen = Instant::now();
                    match inc {
                        Some(Ok(Message::Text(t))) => match protocol::decode::<ToMaster>(&t) {
                            Ok(msg) => {
                                if events.send(Event::Message { peer, session, msg }).is_err() {
                                    break;
                                }
                            }
                            Err(e) => {
                                refuse(&mut socket, e.to_string()).await;
                                break;
                            }
                        },
                        Some(Ok(Message::Binary(_))) => {
                            refuse(&mut socket, "binary messages are not part of the protocol".into()).await;
                            break;
                        }
                        Some(Ok(Message::Close(_))) | None => break,
                        Some(Ok(_)) => {}
                        Some(Err(e)) => {
                            tracing::warn!(error = %e, "peer connection broke");
                            break;
                        }
                    }
                }
            }
        }
        tracing::info!("peer left");
        let _ = events.send(Event::Left { peer, session });
    }
    .instrument(span)
    .await
}

struct Session {
    id: u64,
    url: String,
    slots: Slots,
    tx: mpsc::UnboundedSender<ToPeer>,
}

struct Core {
    cfg: MasterConfig,
    start: Instant,
    state: SwarmState,
    layout: Arc<Layout>,
    shared: Arc<Shared>,
    sessions: BTreeMap<PeerId, Session>,
    ids_by_url: HashMap<String, PeerId>,
    next_peer: u32,
    next_session: u64,
    seed: u64,
    failed: Vec<FailedPeer>,
    corrupt_reports: u64,
    synced_sent: bool,
    self_url: String,
    cache: Option<HashCache>,
}

impl Core {
    async fn run(mut self, mut events: mpsc::UnboundedReceiver<Event>) {
        let mut tick = tokio::time::interval(TICK);
        let mut rescan = tokio::time::interval(self.cfg.rescan_every);
        rescan.tick().await;
        let mut scanning: Option<
            tokio::task::JoinHandle<(HashCache, Result<Manifest, SwarmError>)>,
        > = None;
        loop {
            tokio::select! {
                ev = events.recv() => match ev {
                    Some(ev) => self.handle(ev),
                    None => return,
                },
                _ = tick.tick() => self.update_status(),
                _ = rescan.tick(), if scanning.is_none() => {
                    if let Some(cache) = self.cache.take() {
                        let dir = self.cfg.dir.clone();
                        let size = self.cfg.chunk_size;
                        scanning = Some(tokio::task::spawn_blocking(move || scan(&dir, size, cache)));
                    }
                }
                done = async { scanning.as_mut().expect("guarded").await }, if scanning.is_some() => {
                    scanning = None;
                    match done {
                        Ok((cache, Ok(manifest))) => {
                            self.cache = Some(cache);
                            if manifest.id() != self.layout.id {
                                self.publish(manifest);
                            }
                        }
                        Ok((cache, Err(e))) => {
                            tracing::warn!(error = %e, "rescanning the folder failed; keeping the last manifest");
                            self.cache = Some(cache);
                        }
                        Err(e) => {
                            tracing::error!(error = %e, "rescan task failed");
                            let reload = self.cfg.hash_cache.as_ref().and_then(|p| HashCache::load(p).ok());
                            self.cache = Some(reload.unwrap_or_else(HashCache::in_memory));
                        }
                    }
                }
            }
            self.plan();
        }
    }

    fn now(&self) -> f64 {
        self.start.elapsed().as_secs_f64()
    }

    fn send(&self, peer: PeerId, msg: ToPeer) {
        if let Some(s) = self.sessions.get(&peer) {
            let _ = s.tx.send(msg);
        }
    }

    fn handle(&mut self, ev: Event) {
        match ev {
            Event::Joined {
                advertise,
                slots,
                tx,
                reply,
            } => {
                // A peer reconnecting from the same address is the same machine: its rates stay.
                let id = match self.ids_by_url.get(&advertise) {
                    Some(&id) => id,
                    None => {
                        let id = PeerId(self.next_peer);
                        self.next_peer += 1;
                        self.ids_by_url.insert(advertise.clone(), id);
                        id
                    }
                };
                self.drop_peer(id);
                let session = self.next_session;
                self.next_session += 1;
                let _ = tx.send(ToPeer::Welcome {
                    protocol: PROTOCOL_VERSION,
                    peer: id.0,
                });
                let _ = tx.send(ToPeer::Manifest {
                    id: self.layout.id,
                    manifest: self.layout.manifest.clone(),
                });
                self.sessions.insert(
                    id,
                    Session {
                        id: session,
                        url: advertise,
                        slots,
                        tx,
                    },
                );
                let _ = reply.send((id, session));
            }
            Event::Left { peer, session } => {
                if self.sessions.get(&peer).is_some_and(|s| s.id == session) {
                    self.sessions.remove(&peer);
                    self.drop_peer(peer);
                }
            }
            Event::Message { peer, session, msg } => {
                if self.sessions.get(&peer).is_some_and(|s| s.id == session) {
                    self.message(peer, msg);
                }
            }
        }
    }

    /// Removes a peer from the plan; the other ends of its transfers are told to stop.
    fn drop_peer(&mut self, id: PeerId) {
        let others: Vec<(TransferId, PeerId)> = self
            .state
            .transfers()
            .filter(|t| t.from == id)
            .map(|t| (t.id, t.to))
            .collect();
        self.state.remove_peer(id);
        for (t, to) in others {
            self.send(to, ToPeer::Cancel { transfer: t.0 });
        }
        self.synced_sent = false;
    }

    fn owned(&self, peer: PeerId, transfer: u64) -> bool {
        self.state
            .transfer(TransferId(transfer))
            .is_some_and(|t| t.to == peer)
    }

    fn message(&mut self, peer: PeerId, msg: ToMaster) {
        let now = self.now();
        match msg {
            ToMaster::Hello { .. } => {
                tracing::warn!(%peer, "second hello ignored");
            }
            ToMaster::Have { manifest, chunks } => {
                if manifest != self.layout.id {
                    return; // It will get the current one.
                }
                let n = self.layout.chunks.len();
                let mut has = ChunkSet::empty(n);
                for c in chunks {
                    if (c as usize) < n {
                        has.insert(c as usize);
                    } else {
                        tracing::warn!(%peer, chunk = c, "have names a chunk beyond the manifest");
                    }
                }
                if self.state.peer(peer).is_some() {
                    for c in has.iter() {
                        self.state.mark_has(peer, c);
                    }
                } else if let Some(s) = self.sessions.get(&peer) {
                    let slots = s.slots;
                    self.state.add_peer(peer, has, false, slots);
                }
            }
            ToMaster::Progress { transfer, bytes } => {
                if self.owned(peer, transfer) {
                    self.state.progress(TransferId(transfer), bytes, now);
                }
            }
            ToMaster::Done { transfer } => {
                if self.owned(peer, transfer) {
                    for order in self.state.complete(TransferId(transfer), now) {
                        if let Order::Cancel { id, .. } = order {
                            self.send(peer, ToPeer::Cancel { transfer: id.0 });
                        }
                    }
                }
            }
            ToMaster::Failed {
                transfer,
                bytes,
                corrupt,
                message,
            } => {
                if !self.owned(peer, transfer) {
                    return;
                }
                let from = self.state.transfer(TransferId(transfer)).map(|t| t.from);
                if corrupt {
                    self.corrupt_reports += 1;
                    tracing::warn!(%peer, ?from, %message, "a chunk failed verification; its uploader is suspected");
                } else {
                    tracing::debug!(%peer, ?from, %message, "transfer failed");
                }
                let why = if corrupt {
                    Failure::Corrupt
                } else {
                    Failure::Error
                };
                self.state.fail(TransferId(transfer), now, bytes, why);
            }
            ToMaster::Fatal { message } => {
                let url = self
                    .sessions
                    .get(&peer)
                    .map(|s| s.url.clone())
                    .unwrap_or_default();
                tracing::error!(%peer, %url, %message, "peer gave up");
                self.failed.push(FailedPeer { url, message });
                self.sessions.remove(&peer);
                self.drop_peer(peer);
            }
        }
    }

    fn plan(&mut self) {
        let now = self.now();
        self.seed += 1;
        let orders = plan(&self.state, &self.cfg.planner, now, self.seed);
        for order in orders {
            let cancelled_to = match &order {
                Order::Cancel { id, .. } => self.state.transfer(*id).map(|t| t.to),
                Order::Start(_) => None,
            };
            self.state.apply(&order, now);
            match order {
                Order::Start(s) => {
                    if self.state.transfer(s.id).is_none() {
                        continue;
                    }
                    let Some(chunk) = self.layout.chunks.get(s.chunk) else {
                        continue;
                    };
                    let from = if s.from == SOURCE {
                        self.self_url.clone()
                    } else {
                        match self.sessions.get(&s.from) {
                            Some(sess) => sess.url.clone(),
                            None => continue,
                        }
                    };
                    self.send(
                        s.to,
                        ToPeer::Fetch {
                            transfer: s.id.0,
                            manifest: self.layout.id,
                            chunk: s.chunk as u32,
                            hash: chunk.hash,
                            size: chunk.size,
                            from,
                        },
                    );
                }
                Order::Cancel { id, .. } => {
                    if let Some(to) = cancelled_to {
                        self.send(to, ToPeer::Cancel { transfer: id.0 });
                    }
                }
            }
        }
        let peers = self.state.peers().filter(|p| !p.source).count();
        if !self.synced_sent && peers > 0 && peers == self.sessions.len() && self.state.is_done() {
            self.synced_sent = true;
            tracing::info!(peers, "every peer holds the whole folder");
            for s in self.sessions.values() {
                let _ = s.tx.send(ToPeer::AllSynced {
                    manifest: self.layout.id,
                });
            }
            self.update_status();
        }
    }

    /// The folder changed: peers get the new manifest and are planned again once they say what
    /// they still hold of it (transfers of the old one are dropped).
    fn publish(&mut self, manifest: Manifest) {
        let layout = Arc::new(Layout::new(manifest));
        tracing::info!(
            manifest = %layout.id,
            files = layout.manifest.files.len(),
            bytes = layout.manifest.total_bytes(),
            "the folder changed: publishing a new manifest"
        );
        self.state
            .replace_chunks(layout.chunks.iter().map(|c| c.meta()).collect());
        let peers: Vec<PeerId> = self
            .state
            .peers()
            .filter(|p| !p.source)
            .map(|p| p.id)
            .collect();
        for p in peers {
            self.state.remove_peer(p);
        }
        if let Ok(mut l) = self.shared.layout.write() {
            *l = layout.clone();
        }
        self.layout = layout;
        self.synced_sent = false;
        for s in self.sessions.values() {
            let _ = s.tx.send(ToPeer::Manifest {
                id: self.layout.id,
                manifest: self.layout.manifest.clone(),
            });
        }
        self.update_status();
    }

    fn update_status(&self) {
        let sizes: Vec<u64> = self.layout.chunks.iter().map(|c| c.size).collect();
        let peers = self
            .sessions
            .iter()
            .map(|(id, s)| {
                let p = self.state.peer(*id);
                PeerReport {
                    id: id.0,
                    url: s.url.clone(),
                    bytes_held: p.map_or(0, |p| p.has.iter().map(|c| sizes[c]).sum()),
                    complete: p.is_some_and(|p| p.is_complete()),
                    banned: p.is_some_and(|p| p.corrupt_served >= self.cfg.planner.max_corrupt),
                    chunk_map: p.map_or_else(String::new, |p| {
                        let n = sizes.len();
                        crate::holding_bar(p, n, n.clamp(1, CHUNK_MAP_COLUMNS))
                    }),
                }
            })
            .collect();
        let status = MasterStatus {
            role: "master",
            manifest: self.layout.id.to_hex(),
            files: self.layout.manifest.files.len(),
            bytes: self.layout.manifest.total_bytes(),
            bytes_unique: sizes.iter().sum(),
            chunks: self.layout.chunks.len(),
            peers,
            failed_peers: self.failed.clone(),
            transfers: self.state.transfers().count(),
            corrupt_reports: self.corrupt_reports,
            all_synced: self.synced_sent,
        };
        if let Ok(mut s) = self.shared.status.lock() {
            *s = status;
        }
    }
}
