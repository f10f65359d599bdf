-- The inventory ledger: append-only movement lines per SKU × location × state, each with its
-- cause. Positions are derived from it (inventory_positions is updated in the same transaction
-- as the lines it sums).
CREATE TABLE inventory_movements (
	seq              BIGSERIAL PRIMARY KEY,
	movement_id      TEXT NOT NULL,
	sku              TEXT NOT NULL,
	location_id      TEXT NOT NULL,
	state            TEXT NOT NULL,
	delta            BIGINT NOT NULL,
	cause            TEXT NOT NULL,
	cause_id         TEXT NOT NULL DEFAULT '',
	correlation_id   TEXT NOT NULL DEFAULT '',
	source_record_id TEXT NOT NULL DEFAULT '',
	reason           TEXT NOT NULL DEFAULT '',
	occurred_at      TIMESTAMPTZ NOT NULL,
	recorded_at      TIMESTAMPTZ NOT NULL
);
CREATE INDEX inventory_movements_position ON inventory_movements (sku, location_id, state, seq);
CREATE INDEX inventory_movements_occurred ON inventory_movements (sku, location_id, occurred_at);
CREATE FUNCTION inventory_movements_append_only() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
	RAISE EXCEPTION 'inventory_movements is append-only';
END
$$;
CREATE TRIGGER inventory_movements_no_change BEFORE UPDATE OR DELETE ON inventory_movements
	FOR EACH ROW EXECUTE FUNCTION inventory_movements_append_only();

-- The sum of the ledger's lines per SKU × location × state.
CREATE TABLE inventory_positions (
	sku         TEXT NOT NULL,
	location_id TEXT NOT NULL,
	state       TEXT NOT NULL,
	quantity    BIGINT NOT NULL,
	version     BIGINT NOT NULL,
	as_of       TIMESTAMPTZ NOT NULL,
	PRIMARY KEY (sku, location_id, state)
);
CREATE INDEX inventory_positions_location ON inventory_positions (location_id, sku);

-- Every source record the ledger applied or set aside, so a re-delivery changes nothing twice.
CREATE TABLE inventory_sources (
	source_key  TEXT PRIMARY KEY,
	outcome     TEXT NOT NULL,
	movement_id TEXT NOT NULL DEFAULT '',
	recorded_at TIMESTAMPTZ NOT NULL
);

-- The newest count applied per SKU × location: older movements and counts are superseded by it.
CREATE TABLE inventory_counts (
	sku         TEXT NOT NULL,
	location_id TEXT NOT NULL,
	as_of       TIMESTAMPTZ NOT NULL,
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
	quantity        BIGINT NOT NULL,
	status          TEXT NOT NULL,
	expires_at      TIMESTAMPTZ NOT NULL,
	created_at      TIMESTAMPTZ NOT NULL,
	updated_at      TIMESTAMPTZ NOT NULL
);
CREATE INDEX inventory_reservations_due ON inventory_reservations (expires_at) WHERE status = 'held';
CREATE INDEX inventory_reservations_order ON inventory_reservations (order_id, sku);
