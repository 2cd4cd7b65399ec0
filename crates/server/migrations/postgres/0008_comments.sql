-- Time-coded comments on a video, with replies and an optional drawing (a file in the video's
-- folder). A deleted comment that still has replies stays as a marker of its thread, with its
-- text and drawing gone; without replies its row is removed.
CREATE TABLE comments (
    id            TEXT PRIMARY KEY,
    video_id      TEXT NOT NULL REFERENCES videos(id),
    -- Replies point at the first comment of their thread (threads are one level deep).
    parent_id     TEXT REFERENCES comments(id),
    -- NULL for an author without an account (a share-link guest); the name is kept as written.
    author_id     TEXT REFERENCES users(id),
    author_name   TEXT NOT NULL,
    text          TEXT NOT NULL,
    -- Seconds from the start, on the video's frame grid; NULL for a comment on the whole video.
    timecode_s    DOUBLE PRECISION,
    drawing_file  TEXT,
    created_at    BIGINT NOT NULL,
    edited_at     BIGINT,
    deleted       BIGINT NOT NULL DEFAULT 0
);
CREATE INDEX comments_video ON comments (video_id);
CREATE INDEX comments_parent ON comments (parent_id);
