-- The canonical order store (store.go): every order the commerce platform created or changed,
-- the version in force, and every version received (history). Times are Unix microseconds, so
-- the same comparisons and indexes hold on SQLite and PostgreSQL.
CREATE TABLE order_store (
    order_id     TEXT PRIMARY KEY,
    customer_id  TEXT NOT NULL,
    source       TEXT NOT NULL,
    created_us   BIGINT NOT NULL,
    updated_us   BIGINT NOT NULL,  -- the vendor's updated_at of the version in force
    cancelled_us BIGINT,           -- when the vendor reported the order cancelled
    payload      TEXT NOT NULL,    -- canonical Order, protojson
    confirmed_us BIGINT NOT NULL,  -- last time the vendor confirmed this version (as_of)
    changed_us   BIGINT NOT NULL   -- last time the version in force changed here (partner feed)
);
CREATE INDEX order_store_customer ON order_store (customer_id, created_us, order_id);
CREATE INDEX order_store_source ON order_store (source, created_us, order_id);
CREATE INDEX order_store_changed ON order_store (changed_us, order_id);

-- Every version or fact received, applied or not: a late, older version is kept here and never
-- overwrites a newer one. version_key makes a duplicate delivery a no-op.
CREATE TABLE order_store_history (
    order_id    TEXT NOT NULL,
    version_key TEXT NOT NULL,
    kind        TEXT NOT NULL,    -- order.created, order.updated, order.cancelled, fulfillment.updated, refund.created
    via         TEXT NOT NULL,    -- webhook, poll or read
    updated_us  BIGINT NOT NULL,  -- the vendor's updated_at (or the fact's time)
    received_us BIGINT NOT NULL,
    applied     INTEGER NOT NULL, -- 1 when it became the version in force
    event_id    TEXT NOT NULL,
    payload     TEXT NOT NULL,
    PRIMARY KEY (order_id, version_key)
);

-- The repair poller's watermark: the vendor updated_at up to which every change has been read.
CREATE TABLE order_store_watermarks (
    name         TEXT PRIMARY KEY,
    watermark_us BIGINT NOT NULL,
    polled_us    BIGINT NOT NULL
);
