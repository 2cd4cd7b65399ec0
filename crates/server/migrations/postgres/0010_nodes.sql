-- Every running dailies process (API node, worker, or both) registers itself and heartbeats, so
-- admins see the deployment and running jobs can be traced to the node running them.
CREATE TABLE nodes (
    id           TEXT PRIMARY KEY,
    host         TEXT NOT NULL,
    pid          BIGINT NOT NULL,
    version      TEXT NOT NULL,
    roles        TEXT NOT NULL,
    kinds        TEXT NOT NULL,
    capabilities TEXT NOT NULL,
    listen       TEXT,
    started_at   BIGINT NOT NULL,
    heartbeat_at BIGINT NOT NULL,
    stopped_at   BIGINT
);
-- What a worker must be able to do to run the job ('codec:hevc', 'encoder:x265'); NULL = any.
ALTER TABLE jobs ADD COLUMN requires TEXT;
-- The lease holder of the latest attempt, kept after it ends: which node ran the job.
ALTER TABLE jobs ADD COLUMN last_owner TEXT;
-- New events wake every node's event tail at once (LISTEN dailies_events) instead of at its
-- next poll: SSE and WebSocket clients on any node see workers' progress without delay.
CREATE FUNCTION dailies_events_notify() RETURNS trigger AS $$
BEGIN
    PERFORM pg_notify('dailies_events', '');
    RETURN NULL;
END
$$ LANGUAGE plpgsql;
CREATE TRIGGER events_notify AFTER INSERT ON events
    FOR EACH STATEMENT EXECUTE FUNCTION dailies_events_notify();
-- A job becoming claimable wakes idle workers on every node (LISTEN dailies_jobs), so a job is
-- picked up at once instead of at a worker's next poll.
CREATE FUNCTION dailies_jobs_notify() RETURNS trigger AS $$
BEGIN
    PERFORM pg_notify('dailies_jobs', '');
    RETURN NULL;
END
$$ LANGUAGE plpgsql;
CREATE TRIGGER jobs_notify AFTER INSERT OR UPDATE OF state ON jobs
    FOR EACH ROW WHEN (NEW.state = 'queued') EXECUTE FUNCTION dailies_jobs_notify();
