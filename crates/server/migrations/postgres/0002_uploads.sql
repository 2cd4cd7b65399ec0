-- Resumable (tus) uploads: state in the database, bytes in data/uploads/<id>.part.
CREATE TABLE uploads (
    id             TEXT PRIMARY KEY,
    owner_id       TEXT NOT NULL REFERENCES users(id),
    length         BIGINT,
    offset_bytes   BIGINT NOT NULL DEFAULT 0,
    metadata       TEXT NOT NULL,
    filename       TEXT NOT NULL,
    claimed_sha256 TEXT,
    concat         TEXT NOT NULL,
    parts          TEXT,
    video_id       TEXT,
    created_at     BIGINT NOT NULL,
    updated_at     BIGINT NOT NULL,
    expires_at     BIGINT NOT NULL,
    completed_at   BIGINT
);
CREATE INDEX uploads_owner ON uploads (owner_id, claimed_sha256);
CREATE INDEX uploads_expiry ON uploads (expires_at);
