-- Settlement runs (settlement_run.go): each run is a background job with its state, so a
-- trigger answers at once and support reads how the run went. At most one run per period is
-- running: the partial unique index is the lease replicas contend for, lease_until_us its
-- expiry (renewed while the run works; a run whose replica died is failed once it lapses).
-- Times are Unix microseconds.
CREATE TABLE settlement_runs (
    run_id         TEXT PRIMARY KEY,
    period         TEXT NOT NULL,    -- the UTC day the run settles for (YYYY-MM-DD)
    origin         TEXT NOT NULL,    -- on_demand or schedule
    state          TEXT NOT NULL,    -- running, succeeded or failed
    reason         TEXT NOT NULL,    -- why a failed run failed
    owner          TEXT NOT NULL,    -- the replica holding the lease
    lease_until_us BIGINT NOT NULL,
    started_us     BIGINT NOT NULL,
    finished_us    BIGINT NOT NULL,  -- 0 while running
    payouts        INTEGER NOT NULL,
    lines          INTEGER NOT NULL,
    new_mismatches INTEGER NOT NULL
);
CREATE UNIQUE INDEX settlement_runs_running ON settlement_runs (period) WHERE state = 'running';
CREATE INDEX settlement_runs_started ON settlement_runs (started_us, run_id);

-- The run that first found each mismatch (empty for mismatches found before runs were kept).
ALTER TABLE settlement_mismatches ADD COLUMN run_id TEXT NOT NULL DEFAULT '';
CREATE INDEX settlement_mismatches_run ON settlement_mismatches (run_id, found_us);
