-- Who owns each exception, for every kind of record support works on (returns and orders): an
-- agent or a team, set from the console. One row per record: the latest assignment; the audit
-- log keeps every change. Replaces rb_console_assignments (returns only), whose rows move here.
CREATE TABLE rb_console_owners (
    kind        TEXT NOT NULL,   -- return, order
    subject_id  TEXT NOT NULL,
    assignee    TEXT NOT NULL,
    assigned_by TEXT NOT NULL,
    at_us       BIGINT NOT NULL,
    PRIMARY KEY (kind, subject_id)
);
CREATE INDEX rb_console_owners_assignee ON rb_console_owners (assignee, kind, at_us);
INSERT INTO rb_console_owners (kind, subject_id, assignee, assigned_by, at_us)
    SELECT 'return', return_id, assignee, assigned_by, at_us FROM rb_console_assignments;
DROP TABLE rb_console_assignments;
