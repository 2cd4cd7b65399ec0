-- Every running dailies process (API node, worker, or both) registers itself and heartbeats, so
-- admins see the deployment and running jobs can be traced to the node running them.
CREATE TABLE nodes (
    id           TEXT PRIMARY KEY,
    host         TEXT NOT NULL,
    pid          INTEGER NOT NULL,
    version      TEXT NOT NULL,
    roles        TEXT NOT NULL,
    kinds        TEXT NOT NULL,
    capabilities TEXT NOT NULL,
    listen       TEXT,
    started_at   INTEGER NOT NULL,
    heartbeat_at INTEGER NOT NULL,
    stopped_at   INTEGER
);
-- What a worker must be able to do to run the job ('codec:hevc', 'encoder:x265'); NULL = any.
ALTER TABLE jobs ADD COLUMN requires TEXT;
-- The lease holder of the latest attempt, kept after it ends: which node ran the job.
ALTER TABLE jobs ADD COLUMN last_owner TEXT;
