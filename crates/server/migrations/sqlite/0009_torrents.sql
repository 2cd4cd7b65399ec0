-- Torrents: one per video rendition ('playable', 'original', 'encode-<id>'), the .torrent itself
-- stored as media/<video>/torrents/<rendition>.torrent without tracker or web seed (those are
-- added when it is served, so a new public URL or a revoked token needs no rehash).
CREATE TABLE torrents (
    video_id     TEXT NOT NULL REFERENCES videos(id),
    rendition    TEXT NOT NULL,
    name         TEXT NOT NULL,
    size_bytes   INTEGER NOT NULL,
    piece_length INTEGER NOT NULL,
    info_hash_v1 TEXT,
    info_hash_v2 TEXT,
    created_at   INTEGER NOT NULL,
    PRIMARY KEY (video_id, rendition)
);
-- The owner lets the original be downloaded by everyone who may see the video (torrent included).
ALTER TABLE videos ADD COLUMN allow_downloads INTEGER NOT NULL DEFAULT 0;
-- The secret in the video's web-seed URLs; replacing it revokes every URL given out before.
ALTER TABLE videos ADD COLUMN webseed_token TEXT;
