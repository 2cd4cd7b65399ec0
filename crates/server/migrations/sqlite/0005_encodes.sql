-- Encode requests: a video encoded with options a user chose (checked and normalised). The same
-- source with the same options is encoded once: (video_id, options_key) is unique.
CREATE TABLE encodes (
    id          TEXT PRIMARY KEY,
    video_id    TEXT NOT NULL REFERENCES videos(id),
    owner_id    TEXT NOT NULL REFERENCES users(id),
    options     TEXT NOT NULL,
    options_key TEXT NOT NULL,
    job_id      TEXT,
    state       TEXT NOT NULL,
    output_file TEXT,
    size_bytes  INTEGER,
    error       TEXT,
    created_at  INTEGER NOT NULL,
    updated_at  INTEGER NOT NULL
);
CREATE UNIQUE INDEX encodes_same ON encodes (video_id, options_key);
