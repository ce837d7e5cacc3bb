-- How many tasks each organisation created per UTC day, by every attribute a status list
-- filters on, kept by triggers in the same transaction as the tasks themselves: a list's count
-- adds whole days from here and counts only its first and last partial day row by row.
CREATE TABLE task_counts (
    org_id                      INTEGER NOT NULL,
    day                         INTEGER NOT NULL,
    workspace_id                INTEGER NOT NULL,
    task_status                 INTEGER NOT NULL,
    integration_status          INTEGER NOT NULL,
    external_integration_status TEXT    NOT NULL COLLATE NOCASE,
    tasks                       INTEGER NOT NULL,
    PRIMARY KEY (org_id, day, workspace_id, task_status, integration_status,
                 external_integration_status)
) WITHOUT ROWID;

INSERT INTO task_counts
SELECT org_id, created_at / 86400000, workspace_id, task_status, integration_status,
       external_integration_status, COUNT(*)
FROM tasks GROUP BY 1, 2, 3, 4, 5, 6 COLLATE NOCASE;

CREATE TRIGGER task_counts_insert AFTER INSERT ON tasks BEGIN
    INSERT INTO task_counts VALUES (NEW.org_id, NEW.created_at / 86400000, NEW.workspace_id,
        NEW.task_status, NEW.integration_status, NEW.external_integration_status, 1)
    ON CONFLICT (org_id, day, workspace_id, task_status, integration_status,
                 external_integration_status)
    DO UPDATE SET tasks = tasks + 1;
END;

CREATE TRIGGER task_counts_update
AFTER UPDATE OF org_id, created_at, workspace_id, task_status, integration_status,
                external_integration_status ON tasks BEGIN
    UPDATE task_counts SET tasks = tasks - 1
    WHERE org_id = OLD.org_id AND day = OLD.created_at / 86400000
      AND workspace_id = OLD.workspace_id AND task_status = OLD.task_status
      AND integration_status = OLD.integration_status
      AND external_integration_status = OLD.external_integration_status;
    INSERT INTO task_counts VALUES (NEW.org_id, NEW.created_at / 86400000, NEW.workspace_id,
        NEW.task_status, NEW.integration_status, NEW.external_integration_status, 1)
    ON CONFLICT (org_id, day, workspace_id, task_status, integration_status,
                 external_integration_status)
    DO UPDATE SET tasks = tasks + 1;
END;

CREATE TRIGGER task_counts_delete AFTER DELETE ON tasks BEGIN
    UPDATE task_counts SET tasks = tasks - 1
    WHERE org_id = OLD.org_id AND day = OLD.created_at / 86400000
      AND workspace_id = OLD.workspace_id AND task_status = OLD.task_status
      AND integration_status = OLD.integration_status
      AND external_integration_status = OLD.external_integration_status;
END;
