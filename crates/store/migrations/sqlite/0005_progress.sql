-- Recognition kept page by page, so a resumed job continues from its first unfinished page.
CREATE TABLE task_pages (
    task_id    INTEGER NOT NULL REFERENCES tasks (id),
    page_index INTEGER NOT NULL,
    page_json  TEXT    NOT NULL,
    PRIMARY KEY (task_id, page_index)
);

-- Times a job's document reader was killed (a limit exceeded, or a crash): the task fails at
-- the second instead of being retried forever.
ALTER TABLE jobs ADD COLUMN kills INTEGER NOT NULL DEFAULT 0;
