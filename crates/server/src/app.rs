//! What every part of a running process shares: configuration, database, data layout, tools.

use std::sync::Arc;

use anyhow::Result;
use dailies_media::Tools;
use tokio::sync::Notify;

use crate::config::Config;
use crate::db::Db;
use crate::layout::Layout;

#[derive(Clone)]
pub struct App {
    pub config: Arc<Config>,
    pub db: Db,
    pub layout: Layout,
    /// Where the library's files live ([`crate::storage`]).
    pub storage: crate::storage::Storage,
    pub tools: Tools,
    /// Wakes idle workers when this process enqueues a job, so they need not wait for a poll.
    pub jobs_added: Arc<Notify>,
    /// One writer per resumable upload, with its running hash state.
    pub upload_locks: Arc<crate::ingest::tus::UploadLocks>,
    /// Live updates: publish here, subscribe for SSE and WebSocket clients.
    pub events: Arc<crate::events::bus::EventBus>,
    /// Wakes running jobs' lease keepers so a cancel requested here stops them at once.
    pub cancels_requested: Arc<Notify>,
    /// What `/metrics` reports of this process.
    pub metrics: Arc<crate::metrics::Metrics>,
    /// This process in the `nodes` table; also the prefix of its workers' lease names.
    pub node_id: Arc<str>,
    /// The BitTorrent tracker for this server's torrents ([`crate::torrents::tracker`]).
    pub tracker: Arc<dailies_torrent::tracker::Tracker>,
    /// The swarm master serving `media/`, when `swarm_listen` is set (`serve` only).
    pub swarm: Arc<std::sync::OnceLock<dailies_swarm::node::MasterHandle>>,
    /// Failed sign-ins per address and per user name ([`crate::api::login_limit`]).
    pub login_limit: Arc<crate::api::login_limit::LoginLimit>,
    /// The installed ffmpeg's encoders, probed on first use.
    encoders: Arc<tokio::sync::OnceCell<Arc<dailies_media::Encoders>>>,
}

impl App {
    /// What the installed ffmpeg can encode. A failed probe counts as "nothing" (and is logged):
    /// encode requests then get a clear refusal instead of a failing job.
    pub async fn encoders(&self) -> Arc<dailies_media::Encoders> {
        self.encoders
            .get_or_init(|| async {
                match dailies_media::probe_encoders(&self.tools).await {
                    Ok(e) => Arc::new(e),
                    Err(e) => {
                        tracing::error!(error = %e, "cannot list ffmpeg's encoders");
                        Arc::default()
                    }
                }
            })
            .await
            .clone()
    }

    /// Publishes an event (see [`crate::events`]); never fails the caller.
    pub async fn publish(&self, event: crate::events::NewEvent) {
        self.events.publish(&self.db, event).await;
    }

    /// Creates the data folders, opens the database and runs its migrations.
    pub async fn open(config: Config) -> Result<Self> {
        let layout = config.layout();
        layout.create_all()?;
        let db = Db::connect(&config.database_url()).await?;
        let tools = config.tools();
        let storage =
            crate::storage::Storage::open_setting(&config.storage_setting()?, &layout.media())
                .await?;
        Ok(App {
            storage,
            config: Arc::new(config),
            db,
            layout,
            tools,
            jobs_added: Arc::new(Notify::new()),
            upload_locks: Arc::default(),
            events: Arc::default(),
            cancels_requested: Arc::new(Notify::new()),
            encoders: Arc::default(),
            tracker: Arc::new(crate::torrents::tracker::new_tracker()),
            node_id: crate::ids::new_id().into(),
            metrics: Arc::default(),
            swarm: Arc::default(),
            login_limit: Arc::default(),
        })
    }
}
