-- The per-day counts also tell tasks in history from the others, so the Processed and Archive
-- lists are counted by day too.

ALTER TABLE task_counts ADD COLUMN archived BIGINT NOT NULL DEFAULT 0;
ALTER TABLE task_counts DROP CONSTRAINT task_counts_pkey;
TRUNCATE task_counts;
INSERT INTO task_counts
SELECT org_id, created_at / 86400000, workspace_id, task_status, integration_status,
       lower(external_integration_status), COUNT(*),
       CASE WHEN archived_at IS NULL THEN 0 ELSE 1 END
FROM tasks GROUP BY 1, 2, 3, 4, 5, 6, 8;
ALTER TABLE task_counts ADD PRIMARY KEY (org_id, day, workspace_id, task_status,
    integration_status, external_integration_status, archived);

CREATE OR REPLACE FUNCTION task_counts_add(t tasks, delta BIGINT) RETURNS void AS $$
    INSERT INTO task_counts (org_id, day, workspace_id, task_status, integration_status,
                             external_integration_status, archived, tasks)
    VALUES (t.org_id, t.created_at / 86400000, t.workspace_id, t.task_status,
        t.integration_status, lower(t.external_integration_status),
        CASE WHEN t.archived_at IS NULL THEN 0 ELSE 1 END, delta)
    ON CONFLICT (org_id, day, workspace_id, task_status, integration_status,
                 external_integration_status, archived)
    DO UPDATE SET tasks = task_counts.tasks + delta;
$$ LANGUAGE sql;

CREATE OR REPLACE FUNCTION task_counts_track() RETURNS trigger AS $$
DECLARE
    old_key TEXT;
    new_key TEXT;
BEGIN
    IF TG_OP = 'INSERT' THEN
        PERFORM task_counts_add(NEW, 1);
    ELSIF TG_OP = 'DELETE' THEN
        PERFORM task_counts_add(OLD, -1);
    ELSE
        old_key := concat_ws('|', OLD.org_id, OLD.created_at / 86400000, OLD.workspace_id,
            OLD.task_status, OLD.integration_status, lower(OLD.external_integration_status),
            OLD.archived_at IS NULL);
        new_key := concat_ws('|', NEW.org_id, NEW.created_at / 86400000, NEW.workspace_id,
            NEW.task_status, NEW.integration_status, lower(NEW.external_integration_status),
            NEW.archived_at IS NULL);
        IF old_key < new_key THEN
            PERFORM task_counts_add(OLD, -1);
            PERFORM task_counts_add(NEW, 1);
        ELSIF old_key > new_key THEN
            PERFORM task_counts_add(NEW, 1);
            PERFORM task_counts_add(OLD, -1);
        END IF;
    END IF;
    RETURN NULL;
END;
$$ LANGUAGE plpgsql;

DROP TRIGGER task_counts_update ON tasks;
CREATE TRIGGER task_counts_update
    AFTER UPDATE OF org_id, created_at, workspace_id, task_status, integration_status,
                    external_integration_status, archived_at ON tasks
    FOR EACH ROW EXECUTE FUNCTION task_counts_track();

-- The UI's lists in creation order: live tasks (Processed), history (Archive), the flagged,
-- and the tasks a person holds (My Assignments); each index holds only its own rows.
CREATE INDEX tasks_org_live_created ON tasks (org_id, created_at) WHERE archived_at IS NULL;
CREATE INDEX tasks_org_history_created ON tasks (org_id, created_at)
    WHERE archived_at IS NOT NULL;
CREATE INDEX tasks_org_flagged ON tasks (org_id, created_at) WHERE flag IS NOT NULL;
CREATE INDEX tasks_org_status_flagged ON tasks (org_id, task_status, created_at)
    WHERE flag IS NOT NULL;
CREATE INDEX tasks_checkout_user ON tasks (checkout_user_id) WHERE checkout_user_id IS NOT NULL;

-- Search by name or externalId: trigram indexes find any part of three characters or more
-- (ILIKE) without reading every task. The extension goes to `public`, which outlives the
-- schemas tests make and drop.
CREATE EXTENSION IF NOT EXISTS pg_trgm SCHEMA public;
CREATE INDEX tasks_name_trigrams ON tasks USING gin (display_name public.gin_trgm_ops);
CREATE INDEX tasks_external_id_trigrams ON tasks USING gin (external_id public.gin_trgm_ops);
