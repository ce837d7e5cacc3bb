-- The per-day counts also tell tasks in history from the others, so the Processed and Archive
-- lists are counted by day too.

DROP TRIGGER task_counts_insert;
DROP TRIGGER task_counts_update;
DROP TRIGGER task_counts_delete;
DROP TABLE task_counts;

CREATE TABLE task_counts (
    org_id                      INTEGER NOT NULL,
    day                         INTEGER NOT NULL,
    workspace_id                INTEGER NOT NULL,
    task_status                 INTEGER NOT NULL,
    integration_status          INTEGER NOT NULL,
    external_integration_status TEXT    NOT NULL COLLATE NOCASE,
    archived                    INTEGER NOT NULL,
    tasks                       INTEGER NOT NULL,
    PRIMARY KEY (org_id, day, workspace_id, task_status, integration_status,
                 external_integration_status, archived)
) WITHOUT ROWID;

INSERT INTO task_counts
SELECT org_id, created_at / 86400000, workspace_id, task_status, integration_status,
       external_integration_status, archived_at IS NOT NULL, COUNT(*)
FROM tasks GROUP BY 1, 2, 3, 4, 5, 6 COLLATE NOCASE, 7;

CREATE TRIGGER task_counts_insert AFTER INSERT ON tasks BEGIN
    INSERT INTO task_counts VALUES (NEW.org_id, NEW.created_at / 86400000, NEW.workspace_id,
        NEW.task_status, NEW.integration_status, NEW.external_integration_status,
        NEW.archived_at IS NOT NULL, 1)
    ON CONFLICT (org_id, day, workspace_id, task_status, integration_status,
                 external_integration_status, archived)
    DO UPDATE SET tasks = tasks + 1;
END;

CREATE TRIGGER task_counts_update
AFTER UPDATE OF org_id, created_at, workspace_id, task_status, integration_status,
                external_integration_status, archived_at ON tasks BEGIN
    UPDATE task_counts SET tasks = tasks - 1
    WHERE org_id = OLD.org_id AND day = OLD.created_at / 86400000
      AND workspace_id = OLD.workspace_id AND task_status = OLD.task_status
      AND integration_status = OLD.integration_status
      AND external_integration_status = OLD.external_integration_status
      AND archived = (OLD.archived_at IS NOT NULL);
    INSERT INTO task_counts VALUES (NEW.org_id, NEW.created_at / 86400000, NEW.workspace_id,
        NEW.task_status, NEW.integration_status, NEW.external_integration_status,
        NEW.archived_at IS NOT NULL, 1)
    ON CONFLICT (org_id, day, workspace_id, task_status, integration_status,
                 external_integration_status, archived)
    DO UPDATE SET tasks = tasks + 1;
END;

CREATE TRIGGER task_counts_delete AFTER DELETE ON tasks BEGIN
    UPDATE task_counts SET tasks = tasks - 1
    WHERE org_id = OLD.org_id AND day = OLD.created_at / 86400000
      AND workspace_id = OLD.workspace_id AND task_status = OLD.task_status
      AND integration_status = OLD.integration_status
      AND external_integration_status = OLD.external_integration_status
      AND archived = (OLD.archived_at IS NOT NULL);
END;

-- The UI's lists in creation order: live tasks (Processed), history (Archive), the flagged,
-- and the tasks a person holds (My Assignments); each index holds only its own rows.
CREATE INDEX tasks_org_live_created ON tasks (org_id, created_at) WHERE archived_at IS NULL;
CREATE INDEX tasks_org_history_created ON tasks (org_id, created_at)
    WHERE archived_at IS NOT NULL;
CREATE INDEX tasks_org_flagged ON tasks (org_id, created_at) WHERE flag IS NOT NULL;
CREATE INDEX tasks_org_status_flagged ON tasks (org_id, task_status, created_at)
    WHERE flag IS NOT NULL;
CREATE INDEX tasks_checkout_user ON tasks (checkout_user_id) WHERE checkout_user_id IS NOT NULL;

-- Search by name or externalId: a trigram index of both, kept by triggers, finds any part of
-- three characters or more without reading every task.
CREATE VIRTUAL TABLE task_search USING fts5(
    display_name, external_id, content = 'tasks', content_rowid = 'id',
    tokenize = 'trigram case_sensitive 0'
);
INSERT INTO task_search (task_search) VALUES ('rebuild');

CREATE TRIGGER task_search_insert AFTER INSERT ON tasks BEGIN
    INSERT INTO task_search (rowid, display_name, external_id)
    VALUES (NEW.id, NEW.display_name, NEW.external_id);
END;

CREATE TRIGGER task_search_update AFTER UPDATE OF display_name, external_id ON tasks BEGIN
    INSERT INTO task_search (task_search, rowid, display_name, external_id)
    VALUES ('delete', OLD.id, OLD.display_name, OLD.external_id);
    INSERT INTO task_search (rowid, display_name, external_id)
    VALUES (NEW.id, NEW.display_name, NEW.external_id);
END;

CREATE TRIGGER task_search_delete AFTER DELETE ON tasks BEGIN
    INSERT INTO task_search (task_search, rowid, display_name, external_id)
    VALUES ('delete', OLD.id, OLD.display_name, OLD.external_id);
END;
