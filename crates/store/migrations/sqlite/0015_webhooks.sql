-- Results to the client's system (Standard Webhooks): each workspace's endpoint, the outbox of
-- messages written in the same transaction as the review that makes them, and every attempt
-- at delivering one.

CREATE TABLE webhooks (
    workspace_id    INTEGER PRIMARY KEY REFERENCES workspaces (id),
    url             TEXT    NOT NULL,
    -- NULL: messages carry the export; else URL-to-file links working this many hours.
    file_link_hours INTEGER,
    -- whsec_ and the key in base64: needed to sign, so kept as is.
    secret          TEXT    NOT NULL,
    enabled         INTEGER NOT NULL,
    -- Waits before each retry, e.g. 5s,5m,30m.
    schedule        TEXT    NOT NULL,
    timeout_seconds INTEGER NOT NULL,
    disabled_reason TEXT
);

CREATE TABLE webhook_messages (
    -- webhook-id: the same on every attempt.
    id              TEXT    PRIMARY KEY,
    task_id         INTEGER NOT NULL REFERENCES tasks (id),
    workspace_id    INTEGER NOT NULL,
    created_at      INTEGER NOT NULL,
    -- pending, delivered or failed.
    state           TEXT    NOT NULL,
    attempts        INTEGER NOT NULL,
    next_attempt_at INTEGER NOT NULL,
    -- Set while one process is making an attempt; another may take it over once it passes.
    lease_until     INTEGER,
    finished_at     INTEGER
);
CREATE INDEX webhook_messages_due ON webhook_messages (next_attempt_at) WHERE state = 'pending';
CREATE INDEX webhook_messages_task ON webhook_messages (task_id);

CREATE TABLE webhook_attempts (
    id          INTEGER PRIMARY KEY AUTOINCREMENT,
    message_id  TEXT    NOT NULL REFERENCES webhook_messages (id),
    attempt     INTEGER NOT NULL,
    started_at  INTEGER NOT NULL,
    -- NULL when no answer came.
    status_code INTEGER,
    latency_ms  INTEGER NOT NULL,
    -- The start of the answer's body, or why there was none.
    response    TEXT    NOT NULL
);
CREATE INDEX webhook_attempts_message ON webhook_attempts (message_id, id);

ALTER TABLE tasks ADD COLUMN last_integrated_at INTEGER;
