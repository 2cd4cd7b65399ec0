-- Accounts (issue 5): built-in passwords, browser sessions, one-time login links, users known
-- through a trusted reverse proxy, and share links. Sessions live here (not in memory) so every
-- API node behind a load balancer accepts the same cookie. Secrets are stored only as SHA-256
-- hashes, like API tokens.

-- An argon2 PHC string; NULL = no password (token, login link or proxy sign-in only).
ALTER TABLE users ADD COLUMN password_hash TEXT;
-- The reverse proxy's stable id for the person (X-Remote-User-Id); NULL for local accounts.
ALTER TABLE users ADD COLUMN external_id TEXT;
CREATE UNIQUE INDEX users_external_id ON users (external_id);

CREATE TABLE sessions (
    id_hash      TEXT PRIMARY KEY,
    user_id      TEXT NOT NULL REFERENCES users(id) ON DELETE CASCADE,
    -- Sent back in X-CSRF-Token on state-changing requests; not a credential on its own.
    csrf_token   TEXT NOT NULL,
    created_at   INTEGER NOT NULL,
    expires_at   INTEGER NOT NULL
);
CREATE INDEX sessions_user ON sessions (user_id);

CREATE TABLE login_links (
    code_hash    TEXT PRIMARY KEY,
    user_id      TEXT NOT NULL REFERENCES users(id) ON DELETE CASCADE,
    created_at   INTEGER NOT NULL,
    expires_at   INTEGER NOT NULL,
    used_at      INTEGER
);

CREATE TABLE shares (
    id           TEXT PRIMARY KEY,
    video_id     TEXT NOT NULL REFERENCES videos(id),
    token_hash   TEXT NOT NULL UNIQUE,
    -- 'view' or 'comment' (comment includes view).
    access       TEXT NOT NULL,
    label        TEXT NOT NULL,
    created_by   TEXT REFERENCES users(id) ON DELETE SET NULL,
    created_at   INTEGER NOT NULL,
    expires_at   INTEGER,
    revoked_at   INTEGER
);
CREATE INDEX shares_video ON shares (video_id);
