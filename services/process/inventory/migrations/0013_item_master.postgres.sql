-- The item master: per SKU, its record in each system (ERP item, storefront variant and
-- inventory item, warehouse SKU, product feed row), as the last refresh found them.
CREATE TABLE inventory_sku_map (
	sku               TEXT PRIMARY KEY,
	erp_item_id       TEXT NOT NULL,
	variant_id        TEXT NOT NULL,
	inventory_item_id TEXT NOT NULL,
	warehouse_sku     TEXT NOT NULL,
	feed_erp_item_id  TEXT NOT NULL,
	feed_variant_id   TEXT NOT NULL,
	refreshed_at      TIMESTAMPTZ NOT NULL
);

-- What a refresh could not reconcile, per SKU, kind and system; resolved_at is set when a later
-- refresh no longer sees it.
CREATE TABLE inventory_sku_mismatches (
	sku           TEXT NOT NULL,
	kind          TEXT NOT NULL,
	system        TEXT NOT NULL,
	detail        TEXT NOT NULL,
	first_seen_at TIMESTAMPTZ NOT NULL,
	last_seen_at  TIMESTAMPTZ NOT NULL,
	resolved_at   TIMESTAMPTZ,
	PRIMARY KEY (sku, kind, system)
);
