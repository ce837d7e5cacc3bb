-- People of an organisation, what they may see, how they set a password, and their sessions.

CREATE TABLE users (
    id            INTEGER PRIMARY KEY AUTOINCREMENT,
    org_id        INTEGER NOT NULL REFERENCES organizations (id),
    -- Lower-cased by the domain's Email type, so plain equality is case-insensitive.
    email         TEXT    NOT NULL,
    name          TEXT,
    role          TEXT    NOT NULL,
    -- argon2id PHC string; NULL until the invitation link is used.
    password_hash TEXT,
    status        TEXT    NOT NULL,
    created_at    INTEGER NOT NULL
);
CREATE UNIQUE INDEX users_org_email ON users (org_id, email);
CREATE INDEX users_email ON users (email);

-- Workspaces a user is assigned to (Administrators and Managers see all without rows here).
CREATE TABLE workspace_members (
    workspace_id INTEGER NOT NULL REFERENCES workspaces (id),
    user_id      INTEGER NOT NULL REFERENCES users (id),
    PRIMARY KEY (workspace_id, user_id)
);
CREATE INDEX workspace_members_user ON workspace_members (user_id, workspace_id);

-- One-time links to set a password (invitations and resets); at most one live per user.
CREATE TABLE password_links (
    token_hash TEXT    PRIMARY KEY,
    user_id    INTEGER NOT NULL UNIQUE REFERENCES users (id),
    expires_at INTEGER NOT NULL
);

CREATE TABLE sessions (
    token_hash TEXT    PRIMARY KEY,
    user_id    INTEGER NOT NULL REFERENCES users (id),
    expires_at INTEGER NOT NULL
);
CREATE INDEX sessions_user ON sessions (user_id);
CREATE INDEX sessions_expires ON sessions (expires_at);
