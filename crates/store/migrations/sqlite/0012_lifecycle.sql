-- A task's life after its work: when it moved to history (the archive), and the flag the
-- sweeper leaves on a task it found stuck and put back.

ALTER TABLE tasks ADD COLUMN archived_at INTEGER;
ALTER TABLE tasks ADD COLUMN flag TEXT;
-- The sweeper looks for tasks by status and age.
CREATE INDEX tasks_status_changed ON tasks (task_status, status_changed_at);
