-- Resumable (tus) uploads: state in the database, bytes in data/uploads/<id>.part.
CREATE TABLE uploads (
    id             TEXT PRIMARY KEY,
    owner_id       TEXT NOT NULL REFERENCES users(id),
    length         INTEGER,
    offset_bytes   INTEGER NOT NULL DEFAULT 0,
    metadata       TEXT NOT NULL,
    filename       TEXT NOT NULL,
    claimed_sha256 TEXT,
    concat         TEXT NOT NULL,
    parts          TEXT,
    video_id       TEXT,
    created_at     INTEGER NOT NULL,
    updated_at     INTEGER NOT NULL,
    expires_at     INTEGER NOT NULL,
    completed_at   INTEGER
);
CREATE INDEX uploads_owner ON uploads (owner_id, claimed_sha256);
CREATE INDEX uploads_expiry ON uploads (expires_at);
