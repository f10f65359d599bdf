-- Durable workflow state: instances, their steps (with registered compensations), timers and
-- the append-only history that every timeline view reads.
CREATE TABLE rb_workflows (
    id            TEXT PRIMARY KEY,
    kind          TEXT NOT NULL,
    state         TEXT NOT NULL,
    data          TEXT NOT NULL,
    version       BIGINT NOT NULL,
    terminal      BOOLEAN NOT NULL DEFAULT FALSE,
    compensating  TEXT NOT NULL DEFAULT '',
    next_run_at   TIMESTAMP,
    attempts      INTEGER NOT NULL DEFAULT 0,
    last_error    TEXT NOT NULL DEFAULT '',
    created_at    TIMESTAMP NOT NULL,
    updated_at    TIMESTAMP NOT NULL,
    state_since   TIMESTAMP NOT NULL
);
CREATE INDEX rb_workflows_due ON rb_workflows (next_run_at);
CREATE INDEX rb_workflows_state ON rb_workflows (kind, state, state_since);

CREATE TABLE rb_workflow_steps (
    workflow_id     TEXT NOT NULL,
    step            TEXT NOT NULL,
    status          TEXT NOT NULL,
    idempotency_key TEXT NOT NULL,
    compensable     BOOLEAN NOT NULL,
    attempts        INTEGER NOT NULL,
    last_error      TEXT NOT NULL DEFAULT '',
    seq             BIGINT NOT NULL,
    started_at      TIMESTAMP NOT NULL,
    finished_at     TIMESTAMP,
    PRIMARY KEY (workflow_id, step)
);

CREATE TABLE rb_workflow_timers (
    workflow_id TEXT NOT NULL,
    name        TEXT NOT NULL,
    due_at      TIMESTAMP NOT NULL,
    fired_at    TIMESTAMP,
    PRIMARY KEY (workflow_id, name)
);
CREATE INDEX rb_workflow_timers_due ON rb_workflow_timers (due_at);

CREATE TABLE rb_workflow_history (
    workflow_id    TEXT NOT NULL,
    seq            BIGINT NOT NULL,
    at             TIMESTAMP NOT NULL,
    state          TEXT NOT NULL,
    kind           TEXT NOT NULL,
    description    TEXT NOT NULL,
    system         TEXT NOT NULL DEFAULT '',
    correlation_id TEXT NOT NULL DEFAULT '',
    outcome        TEXT NOT NULL DEFAULT '',
    PRIMARY KEY (workflow_id, seq)
);
