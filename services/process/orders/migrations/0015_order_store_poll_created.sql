-- Orders whose orders/create the repair poll published because no event had brought them
-- (poller_create.go): published once, whatever the store read of the order meanwhile.
CREATE TABLE order_store_poll_created (
    order_id     TEXT PRIMARY KEY,
    event_id     TEXT NOT NULL,
    published_us BIGINT NOT NULL
);
