-- The inventory ledger: append-only movement lines per SKU × location × state, each with its
-- cause. Positions are derived from it (inventory_positions is updated in the same transaction
-- as the lines it sums).
CREATE TABLE inventory_movements (
	seq              INTEGER PRIMARY KEY AUTOINCREMENT,
	movement_id      TEXT NOT NULL,
	sku              TEXT NOT NULL,
	location_id      TEXT NOT NULL,
	state            TEXT NOT NULL,
	delta            INTEGER NOT NULL,
	cause            TEXT NOT NULL,
	cause_id         TEXT NOT NULL DEFAULT '',
	correlation_id   TEXT NOT NULL DEFAULT '',
	source_record_id TEXT NOT NULL DEFAULT '',
	reason           TEXT NOT NULL DEFAULT '',
	occurred_at      TIMESTAMP NOT NULL,
	recorded_at      TIMESTAMP NOT NULL
);
CREATE INDEX inventory_movements_position ON inventory_movements (sku, location_id, state, seq);
CREATE INDEX inventory_movements_occurred ON inventory_movements (sku, location_id, occurred_at);
CREATE TRIGGER inventory_movements_no_update BEFORE UPDATE ON inventory_movements
BEGIN
	SELECT RAISE(ABORT, 'inventory_movements is append-only');
END;
CREATE TRIGGER inventory_movements_no_delete BEFORE DELETE ON inventory_movements
BEGIN
	SELECT RAISE(ABORT, 'inventory_movements is append-only');
END;

-- The sum of the ledger's lines per SKU × location × state.
CREATE TABLE inventory_positions (
	sku         TEXT NOT NULL,
	location_id TEXT NOT NULL,
	state       TEXT NOT NULL,
	quantity    INTEGER NOT NULL,
	version     INTEGER NOT NULL,
	as_of       TIMESTAMP NOT NULL,
	PRIMARY KEY (sku, location_id, state)
);
CREATE INDEX inventory_positions_location ON inventory_positions (location_id, sku);

-- Every source record the ledger applied or set aside, so a re-delivery changes nothing twice.
CREATE TABLE inventory_sources (
	source_key  TEXT PRIMARY KEY,
	outcome     TEXT NOT NULL,
	movement_id TEXT NOT NULL DEFAULT '',
	recorded_at TIMESTAMP NOT NULL
);

-- The newest count applied per SKU × location: older movements and counts are superseded by it.
CREATE TABLE inventory_counts (
	sku         TEXT NOT NULL,
	location_id TEXT NOT NULL,
	as_of       TIMESTAMP NOT NULL,
	PRIMARY KEY (sku, location_id)
);

-- Reservations: units held (then committed) for an order line at one location.
CREATE TABLE inventory_reservations (
	id              TEXT PRIMARY KEY,
	idempotency_key TEXT NOT NULL UNIQUE,
	order_id        TEXT NOT NULL,
	sku             TEXT NOT NULL,
	location_id     TEXT NOT NULL,
	channel         TEXT NOT NULL DEFAULT '',
	quantity        INTEGER NOT NULL,
	status          TEXT NOT NULL,
	expires_at      TIMESTAMP NOT NULL,
	created_at      TIMESTAMP NOT NULL,
	updated_at      TIMESTAMP NOT NULL
);
CREATE INDEX inventory_reservations_due ON inventory_reservations (expires_at) WHERE status = 'held';
CREATE INDEX inventory_reservations_order ON inventory_reservations (order_id, sku);
