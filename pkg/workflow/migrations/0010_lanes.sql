-- The lane an instance's steps run in: 0 interactive (customer-facing work), 1 bulk (backfills,
-- re-drives after an outage, bulk releases). Due work is taken interactive lane first, so a
-- bulk backlog never stands between a customer and their order. The number 0010 is the order
-- workflow's allotment of migration numbers, kept clear of other owners' changes to this table.
ALTER TABLE rb_workflows ADD COLUMN lane INTEGER NOT NULL DEFAULT 0;
CREATE INDEX rb_workflows_lane_due ON rb_workflows (lane, next_run_at);
