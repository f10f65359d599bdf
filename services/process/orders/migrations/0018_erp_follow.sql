-- The ERP sales orders the status poll follows (step_erp_status.go): each seen open and with no
-- final status yet (Billed, closed, deleted). The poll names them to the ERP, which reports any
-- that no longer exist (Business Central deletes an order once posted, and a user may delete
-- one), oldest checked first. Times are Unix microseconds.
CREATE TABLE order_erp_follow (
    sales_order_id TEXT PRIMARY KEY,
    order_id       TEXT NOT NULL,
    checked_us     BIGINT NOT NULL
);
CREATE INDEX order_erp_follow_checked ON order_erp_follow (checked_us, sales_order_id);
