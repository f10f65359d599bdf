-- One row per SKU × location that warehouse facts lock before reading the ledger, so that counts
-- and the movements they may supersede apply one at a time per position (PostgreSQL runs them
-- concurrently otherwise; SQLite has one writer anyway).
CREATE TABLE inventory_position_locks (
	sku         TEXT NOT NULL,
	location_id TEXT NOT NULL,
	PRIMARY KEY (sku, location_id)
);
