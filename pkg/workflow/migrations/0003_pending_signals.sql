-- Signals that arrived while a step was still running (the vendor answered the step's call and
-- its webhook overtook the step's own commit): kept and applied when the workflow reaches a state
-- that expects them.
CREATE TABLE rb_workflow_pending (
    workflow_id TEXT NOT NULL,
    seq         BIGINT NOT NULL,
    name        TEXT NOT NULL,
    payload     TEXT NOT NULL,
    at          TIMESTAMP NOT NULL,
    PRIMARY KEY (workflow_id, seq)
);
