-- Jobs are shared across organisations in turn: each job carries its organisation, and each
-- organisation when it was last served, so the next claim goes to the organisation with the
-- fewest jobs in hand and then the one served longest ago.
ALTER TABLE jobs ADD COLUMN org_id INTEGER NOT NULL DEFAULT 0;
UPDATE jobs SET org_id = (SELECT org_id FROM tasks WHERE tasks.id = jobs.task_id);
CREATE INDEX jobs_org_lease ON jobs (org_id, lease_expires_at);
CREATE INDEX jobs_org_next ON jobs (org_id, priority DESC, id);
-- Claims no longer take the most urgent job of all.
DROP INDEX jobs_claim;

CREATE TABLE queue_turns (
    org_id          INTEGER PRIMARY KEY,
    last_claimed_at INTEGER NOT NULL
);
