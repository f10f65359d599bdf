-- The audit log of privileged actions: append-only and hash-chained (see pkg/audit). seq is the
-- chain position, so two writers can never both append after the same entry.
CREATE TABLE rb_audit_log (
    seq            BIGINT PRIMARY KEY,
    at_us          BIGINT NOT NULL,
    actor          TEXT NOT NULL,
    tenant         TEXT NOT NULL,
    action         TEXT NOT NULL,
    outcome        INTEGER NOT NULL,
    origin         TEXT NOT NULL,
    correlation_id TEXT NOT NULL,
    prev_hash      TEXT NOT NULL,
    hash           TEXT NOT NULL
);
CREATE INDEX rb_audit_log_actor ON rb_audit_log (actor, seq);
CREATE INDEX rb_audit_log_tenant ON rb_audit_log (tenant, seq);
CREATE INDEX rb_audit_log_action ON rb_audit_log (action, seq);
CREATE INDEX rb_audit_log_at ON rb_audit_log (at_us);

-- Append-only for the application; someone with the database's owner rights can still drop the
-- triggers, which is what the hash chain is for.
CREATE TRIGGER rb_audit_log_no_update BEFORE UPDATE ON rb_audit_log
BEGIN SELECT RAISE(ABORT, 'rb_audit_log is append-only'); END;
CREATE TRIGGER rb_audit_log_no_delete BEFORE DELETE ON rb_audit_log
BEGIN SELECT RAISE(ABORT, 'rb_audit_log is append-only'); END;
