-- Status lists filter by the organisation and a creation range, often with a status or a
-- workspace; these let a page and its count be found on an index instead of every row.
CREATE INDEX tasks_org_status_created ON tasks (org_id, task_status, created_at);
CREATE INDEX tasks_org_integration_created ON tasks (org_id, integration_status, created_at);
CREATE INDEX tasks_org_workspace_created ON tasks (org_id, workspace_id, created_at);
CREATE INDEX tasks_org_external_status_created
    ON tasks (org_id, external_integration_status COLLATE NOCASE, created_at);
