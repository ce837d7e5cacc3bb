-- The per-day counts also tell tasks in history from the others, so the Processed and Archive
-- lists are counted by day too; flagged tasks are found on their own small index.

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

CREATE INDEX tasks_org_flagged ON tasks (org_id, created_at) WHERE flag IS NOT NULL;
