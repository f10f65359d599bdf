-- Search by business identifiers across every return (insight.go), and the KPIs by history
-- time: expression indexes over the return's workflow data (the identifiers the backends gave
-- it) and indexes on the workflow history's time and correlation id. The order workflow's
-- migrations create the same history indexes (IF NOT EXISTS) when both share a database.
CREATE INDEX rb_workflows_return_rma ON rb_workflows (lower(data::jsonb #>> '{RMANumber}')) WHERE kind = 'return';
CREATE INDEX rb_workflows_return_tracking ON rb_workflows (lower(data::jsonb #>> '{TrackingNumber}')) WHERE kind = 'return';
CREATE INDEX rb_workflows_return_rma_id ON rb_workflows ((data::jsonb #>> '{RMAID}')) WHERE kind = 'return';
CREATE INDEX rb_workflows_return_platform ON rb_workflows ((data::jsonb #>> '{PlatformReturnID}')) WHERE kind = 'return';
CREATE INDEX rb_workflows_return_commerce ON rb_workflows ((data::jsonb #>> '{CommerceReturnID}')) WHERE kind = 'return';
CREATE INDEX IF NOT EXISTS rb_workflow_history_at ON rb_workflow_history (at);
CREATE INDEX IF NOT EXISTS rb_workflow_history_correlation ON rb_workflow_history (correlation_id);
