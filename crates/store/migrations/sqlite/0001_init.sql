-- docket schema. Times are Unix milliseconds (UTC); statuses are the API's numeric codes.

CREATE TABLE organizations (
    id                INTEGER PRIMARY KEY AUTOINCREMENT,
    name              TEXT    NOT NULL,
    client_id         TEXT    NOT NULL UNIQUE,
    secret_hash       TEXT    NOT NULL,
    secret_expires_at INTEGER NOT NULL,
    created_at        INTEGER NOT NULL
);

CREATE TABLE workspaces (
    id               INTEGER PRIMARY KEY AUTOINCREMENT,
    org_id           INTEGER NOT NULL REFERENCES organizations (id),
    name             TEXT    NOT NULL,
    description      TEXT,
    is_default       INTEGER NOT NULL DEFAULT 0,
    template         TEXT    NOT NULL,
    next_task_number INTEGER NOT NULL DEFAULT 1,
    created_at       INTEGER NOT NULL
);
CREATE UNIQUE INDEX workspaces_one_default ON workspaces (org_id) WHERE is_default = 1;

CREATE TABLE batches (
    id           INTEGER PRIMARY KEY AUTOINCREMENT,
    org_id       INTEGER NOT NULL REFERENCES organizations (id),
    workspace_id INTEGER NOT NULL REFERENCES workspaces (id),
    display_name TEXT    NOT NULL,
    description  TEXT,
    created_at   INTEGER NOT NULL
);
CREATE INDEX batches_org_created ON batches (org_id, created_at);

CREATE TABLE access_tokens (
    token_hash TEXT    PRIMARY KEY,
    org_id     INTEGER NOT NULL REFERENCES organizations (id),
    expires_at INTEGER NOT NULL
);

CREATE TABLE tasks (
    id                          INTEGER PRIMARY KEY AUTOINCREMENT,
    org_id                      INTEGER NOT NULL REFERENCES organizations (id),
    workspace_id                INTEGER NOT NULL REFERENCES workspaces (id),
    batch_id                    INTEGER REFERENCES batches (id),
    task_number                 INTEGER,
    external_id                 TEXT,
    display_name                TEXT    NOT NULL,
    description                 TEXT,
    created_at                  INTEGER NOT NULL,
    task_status                 INTEGER NOT NULL,
    integration_status          INTEGER NOT NULL DEFAULT 1,
    external_integration_status TEXT    NOT NULL DEFAULT 'never',
    total_pages                 INTEGER NOT NULL DEFAULT 0,
    restart_count               INTEGER NOT NULL DEFAULT 0,
    preprocessing_started_at    INTEGER,
    priority                    INTEGER NOT NULL DEFAULT 1,
    source_url                  TEXT,
    -- The create request's context, customFormValues and taskAssignment, kept as sent so that
    -- reprocessing uses the information of the first request.
    request_json                TEXT    NOT NULL,
    metadata_json               TEXT    NOT NULL DEFAULT '{}',
    original_key                TEXT,
    original_media_type         TEXT,
    original_file_name          TEXT,
    status_reason               TEXT,
    status_changed_at           INTEGER NOT NULL,
    UNIQUE (org_id, external_id)
);
CREATE INDEX tasks_org_created ON tasks (org_id, created_at);
CREATE INDEX tasks_batch ON tasks (batch_id);

CREATE TABLE task_events (
    id          INTEGER PRIMARY KEY AUTOINCREMENT,
    task_id     INTEGER NOT NULL REFERENCES tasks (id),
    task_status INTEGER NOT NULL,
    at          INTEGER NOT NULL,
    reason      TEXT
);
CREATE INDEX task_events_task ON task_events (task_id, id);

-- One pending stage per task, claimed by a worker under a lease that it renews while working.
-- A worker that dies lets its lease expire and another worker takes the job again.
CREATE TABLE jobs (
    id               INTEGER PRIMARY KEY AUTOINCREMENT,
    task_id          INTEGER NOT NULL UNIQUE REFERENCES tasks (id),
    stage            TEXT    NOT NULL,
    priority         INTEGER NOT NULL,
    attempts         INTEGER NOT NULL DEFAULT 0,
    lease_owner      TEXT,
    lease_expires_at INTEGER,
    created_at       INTEGER NOT NULL
);
CREATE INDEX jobs_claim ON jobs (lease_expires_at, priority DESC, id);

CREATE TABLE task_results (
    task_id      INTEGER PRIMARY KEY REFERENCES tasks (id),
    pages_json   TEXT    NOT NULL,
    recognized_at INTEGER NOT NULL
);
