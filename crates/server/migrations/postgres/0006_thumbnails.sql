-- Thumbnail requests: frames of a video at chosen times and width, made by a job.
CREATE TABLE thumbnail_sets (
    id          TEXT PRIMARY KEY,
    video_id    TEXT NOT NULL REFERENCES videos(id),
    owner_id    TEXT NOT NULL REFERENCES users(id),
    plan        TEXT NOT NULL,
    job_id      TEXT,
    state       TEXT NOT NULL,
    error       TEXT,
    created_at  BIGINT NOT NULL,
    updated_at  BIGINT NOT NULL
);
CREATE INDEX thumbnail_sets_video ON thumbnail_sets (video_id);
