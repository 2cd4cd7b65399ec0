//! The database layer: one code path for SQLite and PostgreSQL through sqlx's `Any` driver.
//!
//! Queries are written once with `$1` placeholders; ids and JSON are TEXT, times are integer
//! milliseconds and flags are 0/1 integers, so both backends accept the same statements. The few
//! places where the dialects differ ask [`Db::kind`].

pub mod comments;
pub mod encodes;
pub mod events;
pub mod nodes;
pub mod notify;
pub mod sessions;
pub mod shares;
pub mod thumbnails;
pub mod torrents;
pub mod uploads;
pub mod users;
pub mod videos;

use std::borrow::Cow;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use anyhow::{Context, Result};
use sqlx::any::{AnyPoolOptions, install_default_drivers};
use sqlx::migrate::{Migration, MigrationType, Migrator};
use sqlx::{AnyPool, Executor, SqlSafeStr};

/// Which SQL dialect is behind the pool.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum DbKind {
    Sqlite,
    Postgres,
}

impl DbKind {
    pub fn from_url(url: &str) -> Result<Self> {
        if url.starts_with("sqlite:") {
            Ok(DbKind::Sqlite)
        } else if url.starts_with("postgres:") || url.starts_with("postgresql:") {
            Ok(DbKind::Postgres)
        } else {
            anyhow::bail!("unsupported database URL (expected sqlite:// or postgres://): {url}")
        }
    }

    pub fn name(self) -> &'static str {
        match self {
            DbKind::Sqlite => "sqlite",
            DbKind::Postgres => "postgres",
        }
    }
}

/// A connection pool plus the dialect it speaks.
#[derive(Clone, Debug)]
pub struct Db {
    pub pool: AnyPool,
    pub kind: DbKind,
    /// On PostgreSQL, connections for locks held as long as a request (an upload's advisory
    /// lock, see `ingest::tus::locks`), kept apart so they can never starve `pool`. Opened
    /// lazily: a node that takes no such lock opens none.
    pub lock_pool: Option<AnyPool>,
}

/// Connections for long-held locks: one per upload body received at once, plus a few waiting.
const LOCK_CONNECTIONS: u32 = 72;

impl Db {
    /// Connects and runs the migrations of the matching dialect.
    pub async fn connect(url: &str) -> Result<Self> {
        install_default_drivers();
        let kind = DbKind::from_url(url)?;
        let options = AnyPoolOptions::new()
            .max_connections(match kind {
                DbKind::Sqlite => 8,
                DbKind::Postgres => 10,
            })
            .acquire_timeout(Duration::from_secs(30));
        let options = if kind == DbKind::Sqlite {
            options.after_connect(|conn, _meta| {
                Box::pin(async move {
                    // WAL lets readers proceed while a worker writes; the busy timeout makes
                    // concurrent writers (server + `dailies import`) wait instead of failing.
                    conn.execute("PRAGMA journal_mode = WAL").await?;
                    conn.execute("PRAGMA busy_timeout = 10000").await?;
                    conn.execute("PRAGMA foreign_keys = ON").await?;
                    conn.execute("PRAGMA synchronous = NORMAL").await?;
                    Ok(())
                })
            })
        } else {
            options
        };
        let pool = options
            .connect(url)
            .await
            .with_context(|| format!("cannot open the {} database", kind.name()))?;
        let lock_pool = match kind {
            DbKind::Sqlite => None,
            DbKind::Postgres => Some(
                AnyPoolOptions::new()
                    .max_connections(LOCK_CONNECTIONS)
                    .acquire_timeout(Duration::from_secs(30))
                    .connect_lazy(url)?,
            ),
        };
        let db = Db {
            pool,
            kind,
            lock_pool,
        };
        db.migrate().await?;
        Ok(db)
    }

    /// Applies the embedded migrations for this dialect; already-applied ones are skipped.
    pub async fn migrate(&self) -> Result<()> {
        // Each migration as `version "name" "file"`, embedded for both dialects from
        // `migrations/<dialect>/<file>`.
        macro_rules! embedded {
            ($($version:literal $name:literal $file:literal),* $(,)?) => {
                (
                    &[$(($version, $name, include_str!(concat!("../../migrations/sqlite/", $file)))),*],
                    &[$(($version, $name, include_str!(concat!("../../migrations/postgres/", $file)))),*],
                )
            };
        }
        type Source = (i64, &'static str, &'static str);
        let (sqlite, postgres): (&[Source], &[Source]) = embedded![
            1 "init" "0001_init.sql",
            2 "uploads" "0002_uploads.sql",
            3 "upload_content_hash" "0003_upload_content_hash.sql",
            4 "events" "0004_events.sql",
            5 "encodes" "0005_encodes.sql",
            6 "thumbnails" "0006_thumbnails.sql",
            8 "comments" "0008_comments.sql",
            9 "torrents" "0009_torrents.sql",
            10 "nodes" "0010_nodes.sql",
            11 "accounts" "0011_accounts.sql",
        ];
        let sources = match self.kind {
            DbKind::Sqlite => sqlite,
            DbKind::Postgres => postgres,
        };
        let migrations = sources
            .iter()
            .map(|(version, name, sql)| {
                Migration::new(
                    *version,
                    Cow::Borrowed(*name),
                    MigrationType::Simple,
                    sql.into_sql_str(),
                    false,
                )
            })
            .collect();
        Migrator::with_migrations(migrations)
            .run(&self.pool)
            .await
            .context("database migration failed")?;
        Ok(())
    }
}

/// Milliseconds since the Unix epoch: the one time format stored in the database.
pub fn now_ms() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_millis() as i64)
        .unwrap_or(0)
}

/// True when the error is a foreign-key violation (both dialects): a row referred to went away
/// while this statement ran.
pub fn is_foreign_key_violation(err: &sqlx::Error) -> bool {
    match err {
        sqlx::Error::Database(db) => {
            db.is_foreign_key_violation()
                || db.code().as_deref() == Some("23503")
                || db.message().contains("FOREIGN KEY constraint failed")
        }
        _ => false,
    }
}

/// True when the error is a unique-constraint violation (both dialects).
pub fn is_unique_violation(err: &sqlx::Error) -> bool {
    match err {
        sqlx::Error::Database(db) => {
            db.is_unique_violation()
                || db.code().as_deref() == Some("23505")
                || db.message().contains("UNIQUE constraint failed")
        }
        _ => false,
    }
}

/// Binding an optional float. sqlx 0.9's `Any` driver sends a NULL `f64` to PostgreSQL as FLOAT4
/// (its NULL mapping swaps the two float types); a statement first prepared with such a NULL
/// keeps FLOAT4 for that parameter on its connection and then refuses every real `f64` value
/// ("incorrect binary data format"). A NULL `f32` takes the swapped path to FLOAT8, so NULLs are
/// sent as that. SQLite stores either NULL the same way.
pub trait BindOptF64 {
    fn bind_opt_f64(self, value: Option<f64>) -> Self;
}

impl<'q> BindOptF64 for sqlx::query::Query<'q, sqlx::Any, sqlx::any::AnyArguments> {
    fn bind_opt_f64(self, value: Option<f64>) -> Self {
        match value {
            Some(v) => self.bind(v),
            None => self.bind(None::<f32>),
        }
    }
}
