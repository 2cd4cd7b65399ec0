-- The event log: every job state change, progress tick and video change, in id order, so a
-- client that reconnects is sent exactly what it missed. Pruned by age and count.
CREATE TABLE events (
    id       BIGSERIAL PRIMARY KEY,
    at       BIGINT NOT NULL,
    kind     TEXT NOT NULL,
    owner_id TEXT,
    video_id TEXT,
    job_id   TEXT,
    data     TEXT NOT NULL
);
CREATE INDEX events_video ON events (video_id, id);
