-- The item master fed by the product master files: one row per SKU with its identifiers in the
-- ERP, the storefront and the warehouse, its price in minor units and its tax code.
CREATE TABLE item_master (
	sku           TEXT PRIMARY KEY,
	title         TEXT NOT NULL,
	erp_item_id   TEXT NOT NULL,
	variant_id    TEXT NOT NULL,
	warehouse_sku TEXT NOT NULL,
	price_minor   BIGINT NOT NULL,
	currency      TEXT NOT NULL,
	tax_code      TEXT NOT NULL,
	active        BOOLEAN NOT NULL,
	file_id       BIGINT NOT NULL,
	updated_at    TIMESTAMP NOT NULL
);
CREATE INDEX item_master_erp ON item_master (erp_item_id);
CREATE INDEX item_master_variant ON item_master (variant_id);
CREATE INDEX item_master_warehouse ON item_master (warehouse_sku);

-- Every file taken, by name and content hash: the same name with the same hash again is a
-- re-sent file and changes nothing; the same name with another hash is a new version.
CREATE TABLE productfeed_files (
	id          BIGINT PRIMARY KEY,
	name        TEXT NOT NULL,
	sha256      TEXT NOT NULL,
	kind        TEXT NOT NULL,
	status      TEXT NOT NULL,
	reason      TEXT NOT NULL,
	rows_total  INTEGER NOT NULL,
	applied     INTEGER NOT NULL,
	unchanged   INTEGER NOT NULL,
	rejected    INTEGER NOT NULL,
	received_at TIMESTAMP NOT NULL,
	UNIQUE (name, sha256)
);

-- The rejected rows of each file, for the report and the support API.
CREATE TABLE productfeed_rejects (
	file_id     BIGINT NOT NULL,
	line        INTEGER NOT NULL,
	column_name TEXT NOT NULL,
	value       TEXT NOT NULL,
	reason      TEXT NOT NULL,
	PRIMARY KEY (file_id, line)
);
