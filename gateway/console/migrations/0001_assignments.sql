-- Who owns each return waiting for people (an agent or a team), set from the console. One row
-- per return: the latest assignment; the audit log keeps every change.
CREATE TABLE rb_console_assignments (
    return_id   TEXT PRIMARY KEY,
    assignee    TEXT NOT NULL,
    assigned_by TEXT NOT NULL,
    at_us       BIGINT NOT NULL
);
CREATE INDEX rb_console_assignments_assignee ON rb_console_assignments (assignee);
