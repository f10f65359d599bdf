-- The reconciliation's drift report: per source (erp, wms), location, SKU and state, the latest
-- disagreement found between the ledger and the source, who is the authority there and what was
-- done (corrected: a ledger correction was appended, movement_id; reported: left for a person).
-- resolved_at is set when the disagreement was corrected or a later run found the two agreeing.
CREATE TABLE inventory_drift (
	source          TEXT NOT NULL,
	location_id     TEXT NOT NULL,
	sku             TEXT NOT NULL,
	state           TEXT NOT NULL,
	ledger_quantity BIGINT NOT NULL,
	source_quantity BIGINT NOT NULL,
	authority       TEXT NOT NULL,
	action          TEXT NOT NULL,
	movement_id     TEXT NOT NULL,
	first_found_at  TIMESTAMPTZ NOT NULL,
	checked_at      TIMESTAMPTZ NOT NULL,
	resolved_at     TIMESTAMPTZ,
	PRIMARY KEY (source, location_id, sku, state)
);
