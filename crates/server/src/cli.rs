//! The command line: `dailies serve | worker | user | token | import | probe | migrate | swarm`.

use std::net::SocketAddr;
use std::path::PathBuf;

use clap::{Args, Parser, Subcommand};

use crate::config::Overrides;

#[derive(Parser, Debug)]
#[command(
    name = "dailies",
    version,
    about = "A self-hosted home for a video team's footage"
)]
pub struct Cli {
    #[command(flatten)]
    pub global: GlobalArgs,
    #[command(subcommand)]
    pub command: Command,
}

/// Options every subcommand that touches the data honours.
#[derive(Args, Debug, Clone)]
pub struct GlobalArgs {
    /// Data directory [env: DAILIES_DATA_DIR] [default: ./data]
    #[arg(long, global = true, value_name = "DIR")]
    pub data_dir: Option<PathBuf>,
    /// Database URL, sqlite://… or postgres://… [env: DAILIES_DATABASE] [default: SQLite in the data dir]
    #[arg(long, global = true, value_name = "URL")]
    pub database: Option<String>,
    /// Where the library's files live: local or s3://bucket/prefix
    /// [env: DAILIES_STORAGE] [default: local, media/ in the data dir]
    #[arg(long, global = true, value_name = "WHERE")]
    pub storage: Option<String>,
    /// TOML configuration file [env: DAILIES_CONFIG] [default: DATA_DIR/dailies.toml if present]
    #[arg(long, global = true, value_name = "FILE")]
    pub config: Option<PathBuf>,
}

#[derive(Subcommand, Debug)]
pub enum Command {
    /// Run the server: HTTP API, web page, drop-folder watcher and job workers.
    Serve {
        /// Address to listen on [env: DAILIES_LISTEN] [default: 127.0.0.1:8080]
        #[arg(long, value_name = "ADDR")]
        listen: Option<SocketAddr>,
        /// The URL other machines reach this server at, used in torrents and magnet links
        /// [env: DAILIES_PUBLIC_URL] [default: http:// + the listen address]
        #[arg(long, value_name = "URL")]
        public_url: Option<String>,
        /// Videos processed at once by this node; 0 = an API-only node that runs no jobs
        /// [default: from the core count]
        #[arg(long, value_name = "N")]
        workers: Option<usize>,
        #[command(flatten)]
        kinds: KindsArg,
    },
    /// Run job workers only (for extra machines sharing the database and storage).
    Worker {
        #[command(flatten)]
        kinds: KindsArg,
        /// Serve this node's /metrics and /api/health at ADDR (nothing else)
        #[arg(long, value_name = "ADDR")]
        listen: Option<SocketAddr>,
    },
    /// Manage users.
    #[command(subcommand)]
    User(UserCommand),
    /// Manage API tokens.
    #[command(subcommand)]
    Token(TokenCommand),
    /// Ingest local files (copied, never moved) and wait until they are ready.
    Import {
        /// Files to ingest.
        #[arg(required = true)]
        files: Vec<PathBuf>,
        /// Owner of the new videos (created if missing).
        #[arg(long)]
        user: String,
        /// Register and queue only; do not process here.
        #[arg(long)]
        no_wait: bool,
    },
    /// Upload files to a dailies server (resumable; files it already has are not sent).
    Upload {
        /// Files to upload.
        #[arg(required = true)]
        files: Vec<PathBuf>,
        /// The server's address, e.g. https://dailies.example.com
        #[arg(long, env = "DAILIES_SERVER", default_value = "http://127.0.0.1:8080")]
        server: String,
        /// An API token (`dailies token create NAME`); better passed in the environment.
        #[arg(long, env = "DAILIES_TOKEN", hide_env_values = true)]
        token: String,
        /// For raw `.yuv` files: the frame width in pixels.
        #[arg(long)]
        raw_width: Option<String>,
        /// For raw `.yuv` files: the frame height in pixels.
        #[arg(long)]
        raw_height: Option<String>,
        /// For raw `.yuv` files: the frame rate (25, 29.97 or 30000/1001).
        #[arg(long)]
        raw_fps: Option<String>,
        /// For raw `.yuv` files: the pixel format (yuv420p, yuv422p, yuv444p, yuv420p10le, …).
        #[arg(long)]
        raw_pix_fmt: Option<String>,
    },
    /// Print what ffprobe finds in a file, as JSON, and what processing would do with it.
    Probe { file: PathBuf },
    /// Apply database migrations and exit.
    Migrate,
    /// The LAN swarm that mirrors a folder to many machines.
    #[command(subcommand)]
    Swarm(SwarmCommand),
    /// The library's storage.
    #[command(subcommand)]
    Storage(StorageCommand),
}

#[derive(Subcommand, Debug)]
pub enum StorageCommand {
    /// Copy the library from the configured storage to another (local or s3://bucket/prefix)
    /// while the server keeps serving; then switch `storage` over and run it again to copy
    /// what arrived meanwhile.
    Migrate {
        /// Where to: `local` (media/ in the data dir) or s3://bucket/prefix.
        #[arg(long, value_name = "WHERE")]
        to: String,
        /// From S3 to local: no node using this data dir is running (its media/ is their
        /// scratch space until then).
        #[arg(long)]
        servers_stopped: bool,
    },
}

#[derive(Subcommand, Debug)]
pub enum SwarmCommand {
    /// Simulate a swarm with the real planner; the last line compares the completion time with
    /// the theoretical bound (ratio=completion/bound).
    Simulate {
        /// Number of peers (besides the source).
        #[arg(long, default_value_t = 20)]
        peers: usize,
        /// Number of 64 MiB chunks.
        #[arg(long, default_value_t = 200)]
        chunks: usize,
        /// Seed for the scenario and the planner: the same seed gives the same run.
        #[arg(long, default_value_t = 1)]
        seed: u64,
        /// Kind of swarm: equal, mixed, slow, failing, churn or hostile.
        #[arg(long, default_value = "equal")]
        preset: String,
        /// A scenario file instead of a preset (see crates/swarm/src/scenario.rs).
        #[arg(long, value_name = "FILE", conflicts_with_all = ["peers", "chunks", "preset"])]
        scenario: Option<PathBuf>,
        /// Print only the last line.
        #[arg(long)]
        quiet: bool,
    },
    /// Share a folder with the swarm: plan who fetches which chunk from whom, serve chunks.
    /// The folder is only read; changes are published to the peers as they happen.
    Master {
        /// The folder to mirror.
        #[arg(long)]
        dir: PathBuf,
        /// Address to listen on (WebSocket control, chunks, /status).
        #[arg(long, default_value = "0.0.0.0:7700")]
        listen: SocketAddr,
        /// The swarm's shared secret; generated and printed when not given.
        #[arg(long, env = "DAILIES_SWARM_TOKEN", hide_env_values = true)]
        token: Option<String>,
        /// URL peers reach this node at, e.g. http://10.0.0.5:7700 (default: the listen
        /// address, when it is not 0.0.0.0 or ::).
        #[arg(long)]
        advertise: Option<String>,
        /// Upload limit with its unit, e.g. 50MB/s or 400Mbit/s.
        #[arg(long)]
        up_limit: Option<String>,
        /// Chunk size, e.g. 32MiB.
        #[arg(long, default_value = "32MiB")]
        chunk_size: String,
        /// How often the folder is rescanned for changes, e.g. 2s.
        #[arg(long, default_value = "2s")]
        rescan_every: String,
        /// Keep chunk hashes in this file (outside --dir) so a restart only rehashes changed files.
        #[arg(long, value_name = "FILE")]
        hash_cache: Option<PathBuf>,
    },
    /// Mirror a master's folder into --dir (one way: anything else in --dir is removed) and
    /// serve the chunks received to other peers.
    Peer {
        /// The master's URL, e.g. http://10.0.0.5:7700.
        #[arg(long)]
        master: String,
        /// The folder to write into (created if missing).
        #[arg(long)]
        dir: PathBuf,
        #[arg(long, env = "DAILIES_SWARM_TOKEN", hide_env_values = true)]
        token: String,
        /// Address to listen on for other peers' chunk requests.
        #[arg(long, default_value = "0.0.0.0:7701")]
        listen: SocketAddr,
        /// URL other peers reach this node at (default: the listen address, when it is not
        /// 0.0.0.0 or ::).
        #[arg(long)]
        advertise: Option<String>,
        /// Upload limit with its unit, e.g. 50MB/s or 400Mbit/s.
        #[arg(long)]
        up_limit: Option<String>,
        /// Download limit with its unit.
        #[arg(long)]
        down_limit: Option<String>,
        /// Exit once every peer holds the whole folder (otherwise keep following the master).
        #[arg(long)]
        exit_when_synced: bool,
    },
}

#[derive(Subcommand, Debug)]
pub enum UserCommand {
    /// Create a user.
    Add {
        name: String,
        /// Give the user administrator rights.
        #[arg(long)]
        admin: bool,
        /// Read the user's password from the first line of standard input.
        #[arg(long)]
        password_stdin: bool,
    },
    /// Set a user's password (read from the first line of standard input).
    Passwd {
        name: String,
        /// Read the password from standard input (the only way: never on the command line,
        /// where other users of the machine could see it).
        #[arg(long, required = true)]
        password_stdin: bool,
    },
    /// Print a one-time login link for a user (valid 24 hours, used once).
    LoginLink { name: String },
}

#[derive(Subcommand, Debug)]
pub enum TokenCommand {
    /// Create an API token for a user; the token is the last line printed.
    Create {
        /// The user the token acts as.
        name: String,
        /// A note to recognise the token by.
        #[arg(long, default_value = "cli")]
        label: String,
    },
}

/// `--kinds`: which job kinds a node's workers claim.
#[derive(Args, Debug, Clone, Default)]
pub struct KindsArg {
    /// Job kinds this node's workers claim, comma-separated (process, encode, thumbnails,
    /// torrent) [env: DAILIES_JOB_KINDS] [default: all]
    #[arg(long, value_name = "KINDS", value_delimiter = ',')]
    pub kinds: Option<Vec<String>>,
}

impl Cli {
    pub fn overrides(&self) -> Overrides {
        Overrides {
            config_file: self.global.config.clone(),
            data_dir: self.global.data_dir.clone(),
            database: self.global.database.clone(),
            storage: self.global.storage.clone(),
            listen: match &self.command {
                Command::Serve { listen, .. } => *listen,
                _ => None,
            },
            workers: match &self.command {
                Command::Serve { workers, .. } => *workers,
                _ => None,
            },
            job_kinds: match &self.command {
                Command::Serve { kinds, .. } | Command::Worker { kinds, .. } => kinds.kinds.clone(),
                _ => None,
            },
            public_url: match &self.command {
                Command::Serve { public_url, .. } => public_url.clone(),
                _ => None,
            },
        }
    }
}
