-- The returns index (search by order, customer, state and age; the workflow holds the state)
-- and the units each return claims, so no unit can be returned twice.
CREATE TABLE returns (
    id          TEXT PRIMARY KEY,
    order_id    TEXT NOT NULL,
    customer_id TEXT NOT NULL,
    request_key TEXT NOT NULL,
    created_at  TIMESTAMP NOT NULL
);
CREATE UNIQUE INDEX returns_request ON returns (customer_id, request_key);
CREATE INDEX returns_order ON returns (order_id);
CREATE INDEX returns_customer ON returns (customer_id, created_at);

CREATE TABLE return_claims (
    return_id     TEXT NOT NULL,
    order_id      TEXT NOT NULL,
    order_line_id TEXT NOT NULL,
    quantity      INTEGER NOT NULL,
    PRIMARY KEY (return_id, order_line_id)
);
CREATE INDEX return_claims_order ON return_claims (order_id);

-- One row per order serialises concurrent return creation for that order (SELECT … FOR UPDATE on
-- PostgreSQL; SQLite serialises writers anyway).
CREATE TABLE return_orders (
    order_id TEXT PRIMARY KEY
);
