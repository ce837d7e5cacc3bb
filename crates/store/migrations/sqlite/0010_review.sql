-- Review: who holds (or last held) a task and until when, and every edit a reviewer made to
-- its fields.

-- checkout_user_id is NULL for the organisation's API client; checkout_until NULL: never
-- checked out.
ALTER TABLE tasks ADD COLUMN checkout_user_id INTEGER;
ALTER TABLE tasks ADD COLUMN checkout_user_name TEXT;
ALTER TABLE tasks ADD COLUMN checkout_until INTEGER;

CREATE TABLE field_edits (
    id        INTEGER PRIMARY KEY AUTOINCREMENT,
    task_id   INTEGER NOT NULL REFERENCES tasks (id),
    kind      TEXT    NOT NULL,
    category  TEXT    NOT NULL,
    -- The change as JSON (docket_domain::review::Change).
    change    TEXT    NOT NULL,
    user_id   INTEGER,
    user_name TEXT    NOT NULL,
    at        INTEGER NOT NULL
);
CREATE INDEX field_edits_task ON field_edits (task_id, id);
