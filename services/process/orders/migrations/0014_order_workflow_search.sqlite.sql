-- Search the order workflow by the references the systems gave the order (insight.go), and
-- the KPIs and correlation search by history time and correlation id. The returns migrations
-- create the same history indexes (IF NOT EXISTS) when both share a database.
CREATE INDEX rb_workflows_order_sales_order ON rb_workflows (json_extract(data, '$.sales_order_id')) WHERE kind = 'order';
CREATE INDEX rb_workflows_order_sales_number ON rb_workflows (json_extract(data, '$.sales_order_number')) WHERE kind = 'order';
CREATE INDEX rb_workflows_order_invoice ON rb_workflows (json_extract(data, '$.invoice_id')) WHERE kind = 'order';
CREATE INDEX rb_workflows_order_oms ON rb_workflows (json_extract(data, '$.oms_order_id')) WHERE kind = 'order';
CREATE INDEX IF NOT EXISTS rb_workflow_history_at ON rb_workflow_history (at);
CREATE INDEX IF NOT EXISTS rb_workflow_history_correlation ON rb_workflow_history (correlation_id);
