-- A workspace's review settings (JSON of docket_domain::review::ReviewSettings; NULL: the
-- defaults), its turn counter for in-turn assignment, and the reviewers each task is for.

ALTER TABLE workspaces ADD COLUMN review_settings TEXT;
ALTER TABLE workspaces ADD COLUMN next_reviewer_turn INTEGER NOT NULL DEFAULT 0;

CREATE TABLE task_reviewers (
    task_id INTEGER NOT NULL REFERENCES tasks (id),
    user_id INTEGER NOT NULL REFERENCES users (id),
    PRIMARY KEY (task_id, user_id)
);
CREATE INDEX task_reviewers_user ON task_reviewers (user_id, task_id);
