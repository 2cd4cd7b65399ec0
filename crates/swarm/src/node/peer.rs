//! A peer: mirrors the master's folder into its own, fetching the chunks the master tells it to
//! from whichever node holds them, and serves the chunks it has verified to the others.

use std::collections::HashMap;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use futures_util::{SinkExt, StreamExt};
use serde::Serialize;
use tokio::sync::mpsc;
use tokio_tungstenite::tungstenite::{self, Message, client::IntoClientRequest};
use tracing::Instrument;

use crate::chunk_hash::ChunkHash;
use crate::node::auth::Token;
use crate::node::chunk_server::{self, ChunkSource, ServerState};
use crate::node::error::NodeError;
use crate::node::fetch::{self, FetchError, FetchJob};
use crate::node::limiter::Limiter;
use crate::node::mirror::{self, Layout};
use crate::node::protocol::{
    self, MAX_CHUNK_SIZE, MAX_MASTER_MESSAGE, PROTOCOL_VERSION, ToMaster, ToPeer,
};
use crate::node::{bind, check_advertise, parse_base_url};
use crate::state::Slots;

#[derive(Debug, Clone)]
pub struct PeerConfig {
    /// The master's base URL, `http://HOST:PORT`.
    pub master: String,
    pub dir: PathBuf,
    pub token: String,
    pub listen: SocketAddr,
    pub advertise: Option<String>,
    pub up_limit: Option<f64>,
    pub down_limit: Option<f64>,
    pub slots: Slots,
    /// Stop once the master says every peer holds the whole folder.
    pub exit_when_synced: bool,
    /// Test knob: serve corrupted bytes, to play a hostile peer.
    #[doc(hidden)]
    pub serve_corrupt_chunks: bool,
}

impl PeerConfig {
    pub fn new(
        master: impl Into<String>,
        dir: impl Into<PathBuf>,
        listen: SocketAddr,
        token: impl Into<String>,
    ) -> Self {
        PeerConfig {
            master: master.into(),
            dir: dir.into(),
            token: token.into(),
            listen,
            advertise: None,
            up_limit: None,
            down_limit: None,
            slots: Slots {
                upload: 6,
                download: 6,
            },
            exit_when_synced: false,
            serve_corrupt_chunks: false,
        }
    }
}

/// What `GET /status` answers on a peer.
#[derive(Debug, Clone, Default, Serialize)]
pub struct PeerStatus {
    pub role: &'static str,
    /// connecting, preparing, syncing, synced or failed.
    pub state: &'static str,
    pub manifest: String,
    pub chunks: usize,
    pub chunks_held: usize,
    /// Bytes of distinct chunks, needed and held.
    pub bytes: u64,
    pub bytes_held: u64,
    pub transfers: usize,
    pub error: Option<String>,
}

struct Shared {
    root: PathBuf,
    view: Mutex<View>,
}

#[derive(Default)]
struct View {
    layout: Option<Arc<Layout>>,
    verified: Vec<bool>,
    status: PeerStatus,
}

impl Shared {
    fn with<R>(&self, f: impl FnOnce(&mut View) -> R) -> Option<R> {
        self.view.lock().ok().map(|mut v| f(&mut v))
    }
}

impl ChunkSource for Shared {
    fn locate(&self, hash: &ChunkHash) -> Option<(PathBuf, u64, u64)> {
        self.with(|v| {
            let layout = v.layout.as_ref()?;
            let i = *layout.index.get(hash)?;
            if !v.verified.get(i).copied().unwrap_or(false) {
                return None;
            }
            let (file, offset, len) = layout.first_location(i)?;
            Some((file.path.under(&self.root), offset, len))
        })
        .flatten()
    }

    fn status(&self) -> serde_json::Value {
        let s = self.with(|v| v.status.clone()).unwrap_or_default();
        serde_json::to_value(s).unwrap_or_default()
    }
}

/// A running peer.
pub struct PeerHandle {
    pub local_addr: SocketAddr,
    pub advertise: String,
    shared: Arc<Shared>,
    server: tokio::task::JoinHandle<()>,
    task: tokio::task::JoinHandle<Result<(), NodeError>>,
}

impl PeerHandle {
    pub fn status(&self) -> PeerStatus {
        self.shared.with(|v| v.status.clone()).unwrap_or_default()
    }

    /// Waits until the peer stops: `Ok` once synced with `exit_when_synced`, else its error.
    pub async fn wait(self) -> Result<(), NodeError> {
        let out = match self.task.await {
            Ok(r) => r,
            Err(e) => Err(NodeError::Protocol(format!("peer task: {e}"))),
        };
        self.server.abort();
        out
    }

    pub fn stop(self) {
        self.task.abort();
        self.server.abort();
    }

    pub fn is_finished(&self) -> bool {
        self.task.is_finished()
    }
}

type Socket =
    tokio_tungstenite::WebSocketStream<tokio_tungstenite::MaybeTlsStream<tokio::net::TcpStream>>;

/// Binds, starts serving, joins the master (errors here are the user's: wrong token, wrong
/// version, no master) and then runs in the background.
pub async fn start_peer(cfg: PeerConfig) -> Result<PeerHandle, NodeError> {
    let master_host = parse_base_url(&cfg.master)?.to_owned();
    std::fs::create_dir_all(&cfg.dir).map_err(|e| NodeError::write(&cfg.dir, e))?;
    let (listener, local_addr) = bind(cfg.listen).await?;
    let advertise = check_advertise(cfg.advertise.as_deref(), cfg.listen, local_addr)?;
    let token = Token::new(cfg.token.clone());
    let shared = Arc::new(Shared {
        root: cfg.dir.clone(),
        view: Mutex::new(View {
            status: PeerStatus {
                role: "peer",
                state: "connecting",
                ..PeerStatus::default()
            },
            ..View::default()
        }),
    });
    let router = chunk_server::router(ServerState {
        source: shared.clone(),
        token: token.clone(),
        limiter: Arc::new(Limiter::new(cfg.up_limit)),
        corrupt: cfg.serve_corrupt_chunks,
    });
    let server = tokio::spawn(async move {
        if let Err(e) = axum::serve(listener, router).await {
            tracing::error!(error = %e, "peer HTTP server stopped");
        }
    });
    let socket = match join(&master_host, &token, &advertise, cfg.slots).await {
        Ok(s) => s,
        Err(e) => {
            server.abort();
            return Err(e);
        }
    };
    let core = Core {
        down: Arc::new(Limiter::new(cfg.down_limit)),
        agent: fetch::agent(),
        token,
        shared: shared.clone(),
        layout: None,
        active: HashMap::new(),
        partials: HashMap::new(),
        cfg,
    };
    let span = tracing::info_span!("peer", url = %advertise);
    let task = tokio::spawn(core.run(socket).instrument(span));
    Ok(PeerHandle {
        local_addr,
        advertise,
        shared,
        server,
        task,
    })
}

async fn join(
    host: &str,
    token: &Token,
    advertise: &str,
    slots: Slots,
) -> Result<Socket, NodeError> {
    let url = format!("ws://{host}/ws");
    let mut req = url
        .as_str()
        .into_client_request()
        .map_err(|e| NodeError::BadUrl {
            url: url.clone(),
            why: e.to_string(),
        })?;
    let auth = token
        .header_value()
        .parse()
        .map_err(|_| NodeError::Refused("the token holds characters a header cannot".into()))?;
    req.headers_mut().insert("authorization", auth);
    let config = tungstenite::protocol::WebSocketConfig::default()
        .max_message_size(Some(MAX_MASTER_MESSAGE));
    let (mut socket, _) = tokio_tungstenite::connect_async_with_config(req, Some(config), true)
        .await
        .map_err(|e| match e {
            tungstenite::Error::Http(resp) if resp.status() == 401 || resp.status() == 403 => {
                NodeError::Refused(format!(
                    "wrong or missing token (HTTP {})",
                    resp.status().as_u16()
                ))
            }
            other => NodeError::Connect(format!("{url}: {other}")),
        })?;
    let hello = ToMaster::Hello {
        protocol: PROTOCOL_VERSION,
        advertise: advertise.to_owned(),
        upload_slots: slots.upload,
        download_slots: slots.download,
    };
    socket
        .send(Message::Text(protocol::encode(&hello).into()))
        .await
        .map_err(|e| NodeError::Connect(e.to_string()))?;
    match next_message(&mut socket).await? {
        ToPeer::Welcome { protocol, peer } => {
            if protocol != PROTOCOL_VERSION {
                return Err(NodeError::ProtocolMismatch {
                    ours: PROTOCOL_VERSION,
                    theirs: protocol,
                });
            }
            tracing::info!(peer, "joined the swarm");
            Ok(socket)
        }
        ToPeer::Refused { message } => Err(NodeError::Refused(message)),
        other => Err(NodeError::Protocol(format!(
            "expected welcome, got {other:?}"
        ))),
    }
}

async fn next_message(socket: &mut Socket) -> Result<ToPeer, NodeError> {
    loop {
        if let Some(msg) = next_frame(socket).await? {
            return Ok(msg);
        }
    }
}

/// One frame from the master: a message, or `None` for a ping or pong (answered by the library).
async fn next_frame(socket: &mut Socket) -> Result<Option<ToPeer>, NodeError> {
    match socket.next().await {
        Some(Ok(Message::Text(t))) => protocol::decode(&t).map(Some),
        Some(Ok(Message::Binary(_))) => {
            Err(NodeError::Protocol("binary message from the master".into()))
        }
        Some(Ok(Message::Close(_))) | None => Err(NodeError::MasterGone),
        Some(Ok(_)) => Ok(None),
        Some(Err(tungstenite::Error::Capacity(e))) => Err(NodeError::Protocol(format!(
            "message from the master too large: {e}"
        ))),
        Some(Err(e)) => Err(NodeError::Connect(e.to_string())),
    }
}

/// The master pings every 15 s; this long without a frame means it is gone.
const MASTER_SILENCE: Duration = Duration::from_secs(60);

enum FetchEvent {
    Progress {
        transfer: u64,
        bytes: u64,
    },
    Finished {
        transfer: u64,
        manifest: ChunkHash,
        chunk: usize,
        from: String,
        result: Result<Vec<u8>, FetchError>,
        partial: Vec<u8>,
    },
}

struct Active {
    cancel: Arc<AtomicBool>,
}

struct Core {
    cfg: PeerConfig,
    down: Arc<Limiter>,
    agent: ureq::Agent,
    token: Token,
    shared: Arc<Shared>,
    layout: Option<Arc<Layout>>,
    active: HashMap<u64, Active>,
    /// Bytes of chunks whose transfer broke, with the uploader they came from (at most
    /// [`MAX_PARTIALS`], to bound memory).
    partials: HashMap<ChunkHash, (Vec<u8>, String)>,
}

const MAX_PARTIALS: usize = 16;

impl Core {
    async fn run(mut self, mut socket: Socket) -> Result<(), NodeError> {
        let (tx, mut rx) = mpsc::unbounded_channel::<FetchEvent>();
        let mut last_seen = tokio::time::Instant::now();
        let result = loop {
            let step = tokio::select! {
                frame = next_frame(&mut socket) => {
                    last_seen = tokio::time::Instant::now();
                    match frame {
                        Ok(Some(msg)) => self.on_master(msg, &mut socket, &tx).await,
                        Ok(None) => Ok(false),
                        Err(e) => Err(e),
                    }
                }
                Some(ev) = rx.recv() => self.on_fetch(ev, &mut socket).await.map(|()| false),
                _ = tokio::time::sleep_until(last_seen + MASTER_SILENCE) => Err(NodeError::MasterGone),
            };
            match step {
                Ok(true) => break Ok(()),
                Ok(false) => {}
                Err(e) => break Err(e),
            }
        };
        for a in self.active.values() {
            a.cancel.store(true, Ordering::Relaxed);
        }
        if let Err(e) = &result {
            self.shared.with(|v| {
                v.status.state = "failed";
                v.status.error = Some(e.to_string());
            });
            if !matches!(e, NodeError::MasterGone | NodeError::Connect(_)) {
                let _ = send(
                    &mut socket,
                    &ToMaster::Fatal {
                        message: e.to_string(),
                    },
                )
                .await;
            }
        }
        let _ = socket.close(None).await;
        result
    }

    /// Handles one order; `true` means the peer is done.
    async fn on_master(
        &mut self,
        msg: ToPeer,
        socket: &mut Socket,
        tx: &mpsc::UnboundedSender<FetchEvent>,
    ) -> Result<bool, NodeError> {
        match msg {
            ToPeer::Manifest { id, manifest } => {
                manifest.validate()?;
                if manifest.chunk_size > MAX_CHUNK_SIZE {
                    return Err(NodeError::Protocol(format!(
                        "chunk size {} above the {MAX_CHUNK_SIZE} bytes a peer accepts",
                        manifest.chunk_size
                    )));
                }
                let layout = Arc::new(Layout::new(manifest));
                if layout.id != id {
                    return Err(NodeError::Protocol(
                        "the manifest does not match its id".into(),
                    ));
                }
                for a in self.active.drain() {
                    a.1.cancel.store(true, Ordering::Relaxed);
                }
                self.partials.retain(|h, _| layout.index.contains_key(h));
                self.shared.with(|v| {
                    v.layout = None;
                    v.verified.clear();
                    v.status.state = "preparing";
                    v.status.manifest = id.to_hex();
                });
                tracing::info!(manifest = %id, files = layout.manifest.files.len(), "applying a manifest");
                let root = self.cfg.dir.clone();
                let l = layout.clone();
                let present = tokio::task::spawn_blocking(move || mirror::prepare(&root, &l))
                    .await
                    .map_err(|e| NodeError::Protocol(format!("prepare task: {e}")))??;
                let chunks: Vec<u32> = present
                    .iter()
                    .enumerate()
                    .filter(|(_, p)| **p)
                    .map(|(i, _)| i as u32)
                    .collect();
                tracing::info!(
                    held = chunks.len(),
                    of = layout.chunks.len(),
                    "folder prepared"
                );
                self.shared.with(|v| {
                    v.layout = Some(layout.clone());
                    v.verified = present;
                });
                self.layout = Some(layout);
                self.refresh_status();
                send(
                    socket,
                    &ToMaster::Have {
                        manifest: id,
                        chunks,
                    },
                )
                .await?;
            }
            ToPeer::Fetch {
                transfer,
                manifest,
                chunk,
                hash,
                size,
                from,
            } => {
                let chunk = chunk as usize;
                let valid = self.layout.as_ref().is_some_and(|l| {
                    l.id == manifest
                        && l.chunks
                            .get(chunk)
                            .is_some_and(|c| c.hash == hash && c.size == size)
                }) && parse_base_url(&from).is_ok();
                if !valid {
                    send(
                        socket,
                        &ToMaster::Failed {
                            transfer,
                            bytes: 0,
                            corrupt: false,
                            message: "fetch order does not fit the current manifest".into(),
                        },
                    )
                    .await?;
                    return Ok(false);
                }
                if self.is_verified(chunk) {
                    send(socket, &ToMaster::Done { transfer }).await?;
                    return Ok(false);
                }
                let (partial, inherited) = match self.partials.remove(&hash) {
                    Some((buf, prev)) if prev == from => (buf, 0),
                    Some((buf, _)) => {
                        let n = buf.len();
                        (buf, n)
                    }
                    None => (Vec::new(), 0),
                };
                let cancel = Arc::new(AtomicBool::new(false));
                self.active.insert(
                    transfer,
                    Active {
                        cancel: cancel.clone(),
                    },
                );
                let job = FetchJob {
                    base_url: from.clone(),
                    hash,
                    size,
                    partial,
                    inherited,
                    cancel,
                };
                let (agent, token, down, tx) = (
                    self.agent.clone(),
                    self.token.clone(),
                    self.down.clone(),
                    tx.clone(),
                );
                tokio::task::spawn_blocking(move || {
                    let mut keep = Vec::new();
                    let progress_tx = tx.clone();
                    let result = fetch::fetch(
                        &agent,
                        &token,
                        &down,
                        job,
                        |bytes| {
                            let _ = progress_tx.send(FetchEvent::Progress { transfer, bytes });
                        },
                        &mut keep,
                    );
                    let _ = tx.send(FetchEvent::Finished {
                        transfer,
                        manifest,
                        chunk,
                        from,
                        result,
                        partial: keep,
                    });
                });
                self.refresh_status();
            }
            ToPeer::Cancel { transfer } => {
                if let Some(a) = self.active.remove(&transfer) {
                    a.cancel.store(true, Ordering::Relaxed);
                }
                self.refresh_status();
            }
            ToPeer::AllSynced { manifest } => {
                let synced =
                    self.layout.as_ref().is_some_and(|l| l.id == manifest) && self.all_verified();
                if synced {
                    tracing::info!("every peer holds the whole folder");
                    if self.cfg.exit_when_synced {
                        return Ok(true);
                    }
                }
            }
            ToPeer::Welcome { .. } => {
                return Err(NodeError::Protocol("a second welcome".into()));
            }
            ToPeer::Refused { message } => return Err(NodeError::Refused(message)),
        }
        Ok(false)
    }

    async fn on_fetch(&mut self, ev: FetchEvent, socket: &mut Socket) -> Result<(), NodeError> {
        match ev {
            FetchEvent::Progress { transfer, bytes } => {
                if self.active.contains_key(&transfer) {
                    send(socket, &ToMaster::Progress { transfer, bytes }).await?;
                }
            }
            FetchEvent::Finished {
                transfer,
                manifest,
                chunk,
                from,
                result,
                partial,
            } => {
                let active = self.active.remove(&transfer).is_some();
                let Some(layout) = self.layout.clone().filter(|l| l.id == manifest) else {
                    return Ok(());
                };
                match result {
                    Ok(data) => {
                        if self.is_verified(chunk) {
                            if active {
                                send(socket, &ToMaster::Done { transfer }).await?;
                            }
                            return Ok(());
                        }
                        let root = self.cfg.dir.clone();
                        let l = layout.clone();
                        tokio::task::spawn_blocking(move || {
                            mirror::write_chunk(&root, &l, chunk, &data)
                        })
                        .await
                        .map_err(|e| NodeError::Protocol(format!("write task: {e}")))??;
                        self.shared.with(|v| {
                            if let Some(x) = v.verified.get_mut(chunk) {
                                *x = true;
                            }
                        });
                        self.refresh_status();
                        let msg = if active {
                            ToMaster::Done { transfer }
                        } else {
                            ToMaster::Have {
                                manifest,
                                chunks: vec![chunk as u32],
                            }
                        };
                        send(socket, &msg).await?;
                    }
                    Err(FetchError::Cancelled) => {
                        self.keep_partial(&layout, chunk, partial, from);
                    }
                    Err(e) => {
                        let corrupt = matches!(e, FetchError::Corrupt { .. });
                        if corrupt {
                            tracing::warn!(error = %e, "discarding a corrupt chunk");
                        } else {
                            tracing::debug!(error = %e, "transfer failed");
                        }
                        let bytes = partial.len() as u64;
                        self.keep_partial(&layout, chunk, partial, from);
                        if active {
                            send(
                                socket,
                                &ToMaster::Failed {
                                    transfer,
                                    bytes,
                                    corrupt,
                                    message: e.to_string(),
                                },
                            )
                            .await?;
                        }
                    }
                }
            }
        }
        Ok(())
    }

    fn keep_partial(&mut self, layout: &Layout, chunk: usize, partial: Vec<u8>, from: String) {
        if partial.is_empty() || self.partials.len() >= MAX_PARTIALS {
            return;
        }
        if let Some(c) = layout.chunks.get(chunk) {
            self.partials.insert(c.hash, (partial, from));
        }
    }

    fn is_verified(&self, chunk: usize) -> bool {
        self.shared
            .with(|v| v.verified.get(chunk).copied().unwrap_or(false))
            .unwrap_or(false)
    }

    fn all_verified(&self) -> bool {
        self.shared
            .with(|v| v.layout.is_some() && v.verified.iter().all(|x| *x))
            .unwrap_or(false)
    }

    fn refresh_status(&self) {
        let transfers = self.active.len();
        self.shared.with(|v| {
            let Some(layout) = v.layout.clone() else {
                return;
            };
            let s = &mut v.status;
            s.chunks = layout.chunks.len();
            s.bytes = layout.chunks.iter().map(|c| c.size).sum();
            s.chunks_held = v.verified.iter().filter(|x| **x).count();
            s.bytes_held = layout
                .chunks
                .iter()
                .zip(&v.verified)
                .filter(|(_, ok)| **ok)
                .map(|(c, _)| c.size)
                .sum();
            s.transfers = transfers;
            s.state = if s.chunks_held == s.chunks {
                "synced"
            } else {
                "syncing"
            };
        });
    }
}

async fn send(socket: &mut Socket, msg: &ToMaster) -> Result<(), NodeError> {
    socket
        .send(Message::Text(protocol::encode(msg).into()))
        .await
        .map_err(|_| NodeError::MasterGone)
}
