//! Server configuration: command-line flag > `DAILIES_*` environment variable > TOML file >
//! built-in default.
//!
//! Every setting has one name used everywhere: `max_height` in the file is
//! `DAILIES_MAX_HEIGHT` in the environment. The layers are merged as TOML tables and then
//! deserialised once, so a wrong type in any layer is reported with the setting's name.

use std::net::SocketAddr;
use std::path::{Path, PathBuf};

use anyhow::{Context, Result, bail};
use serde::{Deserialize, Serialize};

use crate::layout::Layout;

#[derive(Clone, Debug, Serialize, Deserialize, PartialEq)]
#[serde(deny_unknown_fields, default)]
pub struct Config {
    /// Address the HTTP server listens on.
    pub listen: SocketAddr,
    /// Root of everything the server stores.
    pub data_dir: PathBuf,
    /// Database URL; empty means SQLite inside the data dir.
    pub database: String,
    /// Where the library's files live: empty (or `local`) = `media/` in the data dir; or
    /// `s3://bucket/prefix` (endpoint, region and credentials from the `AWS_*` environment, as
    /// AWS tools read them).
    pub storage: String,
    /// Owner of files dropped at the top level of `incoming/`.
    pub default_user: String,
    /// Watch `incoming/` at all (disable on API-only nodes).
    pub watch_incoming: bool,
    /// Use change notifications (inotify) to notice drops sooner; rescans happen either way.
    pub watch_events: bool,
    /// Full rescan interval of `incoming/`, for file systems that send no change events.
    pub rescan_secs: f64,
    /// A dropped file is taken once its size and mtime have not changed for this long.
    pub settle_secs: f64,
    /// Playable renditions are at most this tall.
    pub max_height: u32,
    /// Sources declaring more pixels per frame than this are rejected.
    pub max_pixels: u64,
    /// Longest accepted duration in seconds (0 = no limit).
    pub max_duration_s: f64,
    /// How many videos are processed at once; 0 = chosen from the core count.
    pub process_concurrency: usize,
    /// Run job workers in this process (false = API-only node).
    pub workers: bool,
    /// Job kinds this process's workers claim (`--kinds process,encode`); empty = all.
    pub job_kinds: Vec<String>,
    /// A worker that stops renewing its lease for this long loses the job to another.
    pub job_lease_secs: f64,
    /// Attempts per job before it is given up.
    pub job_max_attempts: i64,
    /// First retry delay; each further retry waits four times longer.
    pub job_retry_base_secs: f64,
    /// Upper bound on one ffprobe run.
    pub probe_timeout_secs: f64,
    /// Upper bound on one ffmpeg run, at least; long sources get proportionally more.
    pub ffmpeg_timeout_secs: f64,
    /// Deleted videos stay in `trash/` this long.
    pub trash_retention_days: f64,
    /// Recovery leaves a `media/` folder alone until it has been untouched this long (it may be
    /// a registration still in progress in another process).
    pub recovery_quiet_secs: f64,
    /// Largest upload accepted, in bytes (announced in `Upload-Length`).
    pub max_upload_bytes: u64,
    /// Largest raw YUV / Y4M upload (uncompressed video is much bigger).
    pub max_raw_upload_bytes: u64,
    /// Bytes each user may have on the server, videos plus unfinished uploads (0 = no limit).
    pub user_quota_bytes: u64,
    /// New uploads are refused (507) when the data disk has less free space than this.
    pub min_free_disk_bytes: u64,
    /// An unfinished upload is forgotten this long after it was created.
    pub upload_expiry_secs: f64,
    /// ffmpeg executable (an admin setting, never taken from a request).
    pub ffmpeg: PathBuf,
    /// ffprobe executable.
    pub ffprobe: PathBuf,
    /// A closing clip that encode requests may append (`"outro": true`); empty = none.
    pub outro_clip: PathBuf,
    /// External encoders users may name in encode requests: `[encoders.NAME]` with `program`,
    /// `codec` (what it writes) and `args` (`{crf}`, `{bitrate_kbps}`, `{preset}` are filled in).
    pub encoders: std::collections::BTreeMap<String, dailies_media::ExternalEncoder>,
    /// The address other machines reach this server at (`https://dailies.example`), written
    /// into torrents, magnet links and web-seed URLs; empty = `http://` + `listen`.
    pub public_url: String,
    /// Make torrents of ready videos (false: no torrent jobs, no new torrents).
    pub torrents: bool,
    /// Run the BitTorrent tracker (`/announce`, `/scrape`) for this server's own torrents.
    pub tracker: bool,
    /// Make torrents v1 only (every client reads them) or hybrid v1+v2 (`"hybrid"`).
    pub torrent_version: TorrentVersionSetting,
    /// Serve the library (`media/`) as a swarm master on this address, so review stations can
    /// mirror it with `dailies swarm peer`; empty = off.
    pub swarm_listen: String,
    /// The swarm's shared secret (at least 16 characters); required with `swarm_listen`.
    pub swarm_token: String,
    /// The swarm master's URL as peers reach it; empty = `http://` + `swarm_listen` (which
    /// must then be a specific address).
    pub swarm_advertise: String,
    /// Reverse proxies (CIDR blocks, `"127.0.0.1/32"`) whose `X-Remote-User-*` headers are
    /// believed; the headers from any other address are ignored. Empty = no proxy sign-in.
    pub trusted_proxies: Vec<String>,
    /// How long a browser session lasts after signing in.
    pub session_days: f64,
}

/// Shortest swarm token accepted: guessing it must be out of reach.
const MIN_SWARM_TOKEN: usize = 16;

/// Which torrents the server makes (see [`dailies_torrent::TorrentVersion`]).
#[derive(Clone, Copy, Debug, Serialize, Deserialize, PartialEq, Eq, Default)]
#[serde(rename_all = "lowercase")]
pub enum TorrentVersionSetting {
    #[default]
    V1,
    Hybrid,
}

impl Default for Config {
    fn default() -> Self {
        Config {
            listen: SocketAddr::from(([127, 0, 0, 1], 8080)),
            data_dir: PathBuf::from("./data"),
            database: String::new(),
            storage: String::new(),
            default_user: "admin".into(),
            watch_incoming: true,
            watch_events: true,
            rescan_secs: 10.0,
            settle_secs: 3.0,
            max_height: 1080,
            max_pixels: 8192 * 8192,
            max_duration_s: 0.0,
            process_concurrency: 0,
            workers: true,
            job_kinds: Vec::new(),
            job_lease_secs: 60.0,
            job_max_attempts: 3,
            job_retry_base_secs: 10.0,
            probe_timeout_secs: 60.0,
            ffmpeg_timeout_secs: 600.0,
            trash_retention_days: 30.0,
            recovery_quiet_secs: 600.0,
            max_upload_bytes: 100 << 30,
            max_raw_upload_bytes: 1 << 40,
            user_quota_bytes: 0,
            min_free_disk_bytes: 1 << 30,
            upload_expiry_secs: 7.0 * 86_400.0,
            ffmpeg: PathBuf::from("ffmpeg"),
            ffprobe: PathBuf::from("ffprobe"),
            encoders: Default::default(),
            outro_clip: PathBuf::new(),
            public_url: String::new(),
            torrents: true,
            tracker: true,
            torrent_version: TorrentVersionSetting::V1,
            swarm_listen: String::new(),
            swarm_token: String::new(),
            swarm_advertise: String::new(),
            trusted_proxies: Vec::new(),
            session_days: 30.0,
        }
    }
}

/// Values given on the command line; `None` means "not given here".
#[derive(Default, Debug, Clone)]
pub struct Overrides {
    pub config_file: Option<PathBuf>,
    pub data_dir: Option<PathBuf>,
    pub database: Option<String>,
    pub storage: Option<String>,
    pub listen: Option<SocketAddr>,
    pub public_url: Option<String>,
    /// `--workers N`: 0 = no workers, else the processing concurrency.
    pub workers: Option<usize>,
    pub job_kinds: Option<Vec<String>>,
}

impl Config {
    /// Builds the configuration from all layers, reading the process environment.
    pub fn load(flags: &Overrides) -> Result<Self> {
        let env: Vec<(String, String)> = std::env::vars().collect();
        Self::load_from(flags, &env)
    }

    /// Same as [`Config::load`] with an explicit environment (for tests).
    pub fn load_from(flags: &Overrides, env: &[(String, String)]) -> Result<Self> {
        let env_value = |key: &str| env.iter().find(|(k, _)| k == key).map(|(_, v)| v.clone());
        let defaults = toml::Table::try_from(Config::default()).context("defaults")?;
        let mut merged = defaults.clone();

        // The file: named by flag or DAILIES_CONFIG, else dailies.toml in the data dir if present.
        let data_dir_hint = flags
            .data_dir
            .clone()
            .or_else(|| env_value("DAILIES_DATA_DIR").map(PathBuf::from))
            .unwrap_or_else(|| Config::default().data_dir);
        let explicit = flags
            .config_file
            .clone()
            .or_else(|| env_value("DAILIES_CONFIG").map(PathBuf::from));
        let file = explicit
            .clone()
            .or_else(|| Some(data_dir_hint.join("dailies.toml")).filter(|p| p.exists()));
        if let Some(path) = file {
            let text = std::fs::read_to_string(&path)
                .with_context(|| format!("cannot read config file {}", path.display()))?;
            let table: toml::Table = text
                .parse()
                .with_context(|| format!("config file {} is not valid TOML", path.display()))?;
            for (key, value) in table {
                if !defaults.contains_key(&key) {
                    bail!("unknown setting '{key}' in {}", path.display());
                }
                merged.insert(key, value);
            }
        }

        // The environment: DAILIES_<SETTING>.
        for (key, default) in &defaults {
            let var = format!("DAILIES_{}", key.to_ascii_uppercase());
            if let Some(raw) = env_value(&var) {
                merged.insert(key.clone(), env_to_toml(&raw, default));
            }
        }

        // The flags.
        if let Some(d) = &flags.data_dir {
            merged.insert("data_dir".into(), toml::Value::String(path_str(d)?));
        }
        if let Some(db) = &flags.database {
            merged.insert("database".into(), toml::Value::String(db.clone()));
        }
        if let Some(st) = &flags.storage {
            merged.insert("storage".into(), toml::Value::String(st.clone()));
        }
        if let Some(l) = &flags.listen {
            merged.insert("listen".into(), toml::Value::String(l.to_string()));
        }
        match flags.workers {
            Some(0) => {
                merged.insert("workers".into(), toml::Value::Boolean(false));
            }
            Some(n) => {
                merged.insert("workers".into(), toml::Value::Boolean(true));
                merged.insert("process_concurrency".into(), toml::Value::Integer(n as i64));
            }
            None => {}
        }
        if let Some(kinds) = &flags.job_kinds {
            let list = kinds
                .iter()
                .map(|k| toml::Value::String(k.trim().to_owned()));
            merged.insert("job_kinds".into(), toml::Value::Array(list.collect()));
        }
        if let Some(u) = &flags.public_url {
            merged.insert("public_url".into(), toml::Value::String(u.clone()));
        }

        let mut config: Config = toml::Value::Table(merged)
            .try_into()
            .context("invalid configuration")?;
        config.data_dir = std::path::absolute(&config.data_dir)
            .with_context(|| format!("bad data dir {}", config.data_dir.display()))?;
        config.validate()?;
        Ok(config)
    }

    /// Where the swarm master listens, if it is on (checked with its token).
    pub fn swarm_address(&self) -> Result<Option<SocketAddr>> {
        if self.swarm_listen.is_empty() {
            return Ok(None);
        }
        let addr: SocketAddr = self.swarm_listen.parse().with_context(|| {
            format!(
                "swarm_listen '{}' is not an address like 0.0.0.0:7700",
                self.swarm_listen
            )
        })?;
        if self.swarm_token.chars().count() < MIN_SWARM_TOKEN
            || !self.swarm_token.bytes().all(|b| b.is_ascii_graphic())
        {
            bail!(
                "swarm_listen needs swarm_token: at least {MIN_SWARM_TOKEN} visible ASCII characters, \
                 no spaces (peers give it with --token)"
            );
        }
        Ok(Some(addr))
    }

    fn validate(&self) -> Result<()> {
        self.storage_setting()?;
        for (name, e) in &self.encoders {
            if name.is_empty()
                || name.len() > 32
                || !name
                    .bytes()
                    .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_'))
            {
                bail!("encoder name '{name}' must be 1 to 32 letters, digits, '-' or '_'");
            }
            if let Err(why) = e.validate() {
                bail!("encoders.{name}: {why}");
            }
        }
        if !crate::db::users::is_valid_user_name(&self.default_user) {
            bail!(
                "default_user '{}' is not a valid user name",
                self.default_user
            );
        }
        for (name, v) in [
            ("settle_secs", self.settle_secs),
            ("rescan_secs", self.rescan_secs),
            ("job_lease_secs", self.job_lease_secs),
            ("probe_timeout_secs", self.probe_timeout_secs),
            ("ffmpeg_timeout_secs", self.ffmpeg_timeout_secs),
            ("upload_expiry_secs", self.upload_expiry_secs),
        ] {
            if !(v.is_finite() && v > 0.0) {
                bail!("{name} must be a positive number of seconds");
            }
        }
        if self.max_height < 144 || !self.max_height.is_multiple_of(2) {
            bail!("max_height must be an even number of at least 144");
        }
        for (name, v) in [
            ("job_retry_base_secs", self.job_retry_base_secs),
            ("trash_retention_days", self.trash_retention_days),
            ("recovery_quiet_secs", self.recovery_quiet_secs),
            ("max_duration_s", self.max_duration_s),
        ] {
            if !(v.is_finite() && v >= 0.0) {
                bail!("{name} must be a number of at least 0");
            }
        }
        for kind in &self.job_kinds {
            if !crate::jobs::worker::ALL_KINDS.contains(&kind.as_str()) {
                bail!(
                    "unknown job kind '{kind}' in job_kinds: use {}",
                    crate::jobs::worker::ALL_KINDS.join(", ")
                );
            }
        }
        if self.job_max_attempts < 1 {
            bail!("job_max_attempts must be at least 1");
        }
        if !self.public_url.is_empty() {
            check_public_url(&self.public_url)?;
        }
        self.swarm_address()?;
        for p in &self.trusted_proxies {
            if crate::api::proxy::Cidr::parse(p).is_none() {
                bail!(
                    "trusted_proxies: '{p}' is not an address block like \"127.0.0.1/32\" or \"::1/128\""
                );
            }
        }
        if !(self.session_days.is_finite() && self.session_days > 0.0) {
            bail!("session_days must be a positive number of days");
        }
        Ok(())
    }

    /// What the media crate may accept, from the settings.
    pub fn limits(&self) -> dailies_media::Limits {
        dailies_media::Limits {
            max_height: self.max_height,
            max_pixels: self.max_pixels,
            max_duration_s: (self.max_duration_s > 0.0).then_some(self.max_duration_s),
        }
    }

    /// The external tools, with this process's share of the CPU budget as ffmpeg threads.
    pub fn tools(&self) -> dailies_media::Tools {
        let (_, threads) = self.cpu_budget();
        dailies_media::Tools::new(&self.ffmpeg, &self.ffprobe, threads)
    }

    pub fn layout(&self) -> Layout {
        Layout::new(&self.data_dir)
    }

    /// What `storage` names (checked when the configuration is loaded).
    pub fn storage_setting(&self) -> Result<crate::storage::StorageSetting> {
        crate::storage::StorageSetting::parse(&self.storage)
    }

    /// The database URL to use: the configured one, or SQLite in the data dir.
    pub fn database_url(&self) -> String {
        if self.database.is_empty() {
            self.layout().default_sqlite_url()
        } else {
            self.database.clone()
        }
    }

    /// The public base URL without a trailing slash: `public_url`, or `http://` + `listen`
    /// (with 127.0.0.1 for an unspecified address, which then only works on this machine).
    pub fn public_base(&self) -> String {
        if !self.public_url.is_empty() {
            return self.public_url.trim_end_matches('/').to_owned();
        }
        let mut addr = self.listen;
        if addr.ip().is_unspecified() {
            addr.set_ip(std::net::Ipv4Addr::LOCALHOST.into());
        }
        format!("http://{addr}")
    }

    /// Concurrent processing jobs and ffmpeg threads per job, so that together they use about
    /// the machine's cores and no more.
    pub fn cpu_budget(&self) -> (usize, usize) {
        let cores = std::thread::available_parallelism().map_or(2, |n| n.get());
        let jobs = if self.process_concurrency > 0 {
            self.process_concurrency
        } else {
            (cores / 4).max(1)
        };
        (jobs, (cores / jobs).max(1))
    }
}

/// A public URL is a scheme, a host and at most a path prefix: BitTorrent clients are given
/// URLs built from it, so a query, a fragment, credentials or spaces would break them.
fn check_public_url(url: &str) -> Result<()> {
    let rest = url
        .strip_prefix("https://")
        .or_else(|| url.strip_prefix("http://"))
        .with_context(|| format!("public_url '{url}' must start with http:// or https://"))?;
    let host = rest.split('/').next().unwrap_or_default();
    if host.is_empty()
        || host.contains('@')
        || rest.contains(['?', '#'])
        || !rest.bytes().all(|b| b.is_ascii_graphic())
    {
        bail!(
            "public_url '{url}' must be a plain http(s)://host[:port][/path] without spaces, user, query or fragment"
        );
    }
    Ok(())
}

/// An environment string read with the type of the setting's default.
fn env_to_toml(raw: &str, default: &toml::Value) -> toml::Value {
    let parsed = match default {
        toml::Value::Integer(_) => raw.trim().parse().ok().map(toml::Value::Integer),
        toml::Value::Float(_) => raw.trim().parse().ok().map(toml::Value::Float),
        // A list from the environment: comma-separated.
        toml::Value::Array(_) => Some(toml::Value::Array(
            raw.split(',')
                .map(str::trim)
                .filter(|s| !s.is_empty())
                .map(|s| toml::Value::String(s.to_owned()))
                .collect(),
        )),
        toml::Value::Boolean(_) => match raw.trim().to_ascii_lowercase().as_str() {
            "1" | "true" | "yes" | "on" => Some(toml::Value::Boolean(true)),
            "0" | "false" | "no" | "off" => Some(toml::Value::Boolean(false)),
            _ => None,
        },
        _ => None,
    };
    // A value that does not parse stays a string, so deserialisation names the bad setting.
    parsed.unwrap_or_else(|| toml::Value::String(raw.to_owned()))
}

fn path_str(p: &Path) -> Result<String> {
    p.to_str()
        .map(str::to_owned)
        .with_context(|| format!("path is not valid UTF-8: {}", p.display()))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn env(pairs: &[(&str, &str)]) -> Vec<(String, String)> {
        pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect()
    }

    #[test]
    fn defaults_apply() {
        let c = Config::load_from(&Overrides::default(), &[]).unwrap();
        assert_eq!(c.listen.to_string(), "127.0.0.1:8080");
        assert!(c.data_dir.is_absolute());
        assert!(c.database_url().starts_with("sqlite://"));
    }

    #[test]
    fn flag_beats_env_beats_file() {
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("c.toml");
        std::fs::write(
            &file,
            "max_height = 720\nlisten = \"127.0.0.1:9000\"\nsettle_secs = 1.5\n",
        )
        .unwrap();
        let flags = Overrides {
            config_file: Some(file.clone()),
            listen: Some("127.0.0.1:9100".parse().unwrap()),
            ..Default::default()
        };
        let c = Config::load_from(
            &flags,
            &env(&[
                ("DAILIES_MAX_HEIGHT", "480"),
                ("DAILIES_LISTEN", "127.0.0.1:9200"),
            ]),
        )
        .unwrap();
        assert_eq!(c.listen.to_string(), "127.0.0.1:9100", "flag wins");
        assert_eq!(c.max_height, 480, "env beats file");
        assert_eq!(c.settle_secs, 1.5, "file beats default");
    }

    #[test]
    fn data_dir_file_is_found() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(
            dir.path().join("dailies.toml"),
            "default_user = \"editor\"\n",
        )
        .unwrap();
        let c = Config::load_from(
            &Overrides::default(),
            &env(&[("DAILIES_DATA_DIR", dir.path().to_str().unwrap())]),
        )
        .unwrap();
        assert_eq!(c.default_user, "editor");
    }

    #[test]
    fn bad_values_are_named() {
        let err = Config::load_from(
            &Overrides::default(),
            &env(&[("DAILIES_MAX_HEIGHT", "tall")]),
        )
        .unwrap_err();
        assert!(format!("{err:#}").contains("max_height"), "{err:#}");
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("c.toml");
        std::fs::write(&file, "max_hieght = 720\n").unwrap();
        let flags = Overrides {
            config_file: Some(file),
            ..Default::default()
        };
        let err = Config::load_from(&flags, &[]).unwrap_err();
        assert!(format!("{err:#}").contains("max_hieght"), "{err:#}");
        let err = Config::load_from(
            &Overrides::default(),
            &env(&[("DAILIES_DEFAULT_USER", "../root")]),
        )
        .unwrap_err();
        assert!(format!("{err:#}").contains("default_user"), "{err:#}");
    }
}
