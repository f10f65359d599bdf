-- What the storefront pusher last confirmed per SKU × location: the available quantity the
-- storefront holds (the compare-and-set value of the next push) and the newest ledger line the
-- figure covers.
CREATE TABLE inventory_push_state (
	sku              TEXT NOT NULL,
	location_id      TEXT NOT NULL,
	pushed_quantity  BIGINT NOT NULL,
	pushed_seq       BIGINT NOT NULL,
	pushed_at        TIMESTAMPTZ NOT NULL,
	PRIMARY KEY (sku, location_id)
);
