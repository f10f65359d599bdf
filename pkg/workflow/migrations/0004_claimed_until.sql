-- Until when a runner holds the instance's current step (NULL when no step runs). A signal that
-- would keep the state while the step runs is kept for later instead of being applied under it,
-- so the step's result and the signal's decision never overwrite each other.
ALTER TABLE rb_workflows ADD COLUMN claimed_until TIMESTAMP;
