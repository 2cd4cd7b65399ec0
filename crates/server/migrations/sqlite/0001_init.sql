-- Ids and JSON are TEXT, times are integer milliseconds, flags are 0/1 integers:
-- the same queries then run unchanged on SQLite and PostgreSQL.
CREATE TABLE users (
    id          TEXT PRIMARY KEY,
    name        TEXT NOT NULL UNIQUE,
    is_admin    INTEGER NOT NULL DEFAULT 0,
    created_at  INTEGER NOT NULL
);

CREATE TABLE api_tokens (
    id           TEXT PRIMARY KEY,
    user_id      TEXT NOT NULL REFERENCES users(id) ON DELETE CASCADE,
    label        TEXT NOT NULL,
    token_hash   TEXT NOT NULL UNIQUE,
    created_at   INTEGER NOT NULL,
    last_used_at INTEGER
);

CREATE TABLE videos (
    id                TEXT PRIMARY KEY,
    owner_id          TEXT NOT NULL REFERENCES users(id),
    title             TEXT NOT NULL,
    original_filename TEXT NOT NULL,
    original_file     TEXT,
    source            TEXT NOT NULL,
    status            TEXT NOT NULL,
    progress          REAL,
    error             TEXT,
    size_bytes        INTEGER NOT NULL,
    sha256            TEXT NOT NULL,
    blake3            TEXT NOT NULL,
    dedup_key         TEXT,
    media_info        TEXT,
    duration_s        REAL,
    width             INTEGER,
    height            INTEGER,
    fps               REAL,
    video_codec       TEXT,
    audio_codec       TEXT,
    plan              TEXT,
    playable_file     TEXT,
    poster_file       TEXT,
    sprite_file       TEXT,
    sprite_geometry   TEXT,
    created_at        INTEGER NOT NULL,
    updated_at        INTEGER NOT NULL,
    ready_at          INTEGER,
    deleted_at        INTEGER
);
-- dedup_key is the content hash while the video counts as "already here"; NULL otherwise.
CREATE UNIQUE INDEX videos_owner_dedup ON videos (owner_id, dedup_key);
CREATE INDEX videos_newest ON videos (created_at, id);

CREATE TABLE jobs (
    id               TEXT PRIMARY KEY,
    kind             TEXT NOT NULL,
    video_id         TEXT,
    payload          TEXT NOT NULL,
    state            TEXT NOT NULL,
    priority         INTEGER NOT NULL DEFAULT 0,
    attempts         INTEGER NOT NULL DEFAULT 0,
    max_attempts     INTEGER NOT NULL,
    run_after        INTEGER NOT NULL,
    lease_owner      TEXT,
    lease_until      INTEGER,
    progress         REAL,
    speed            REAL,
    eta_s            REAL,
    error            TEXT,
    cancel_requested INTEGER NOT NULL DEFAULT 0,
    created_at       INTEGER NOT NULL,
    updated_at       INTEGER NOT NULL,
    finished_at      INTEGER
);
CREATE INDEX jobs_claimable ON jobs (kind, state, run_after);
CREATE INDEX jobs_video ON jobs (video_id);
