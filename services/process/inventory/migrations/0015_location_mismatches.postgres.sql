-- What the location check could not reconcile, per location, kind and system: an ERP location the
-- ERP system API's location map lacks (unmapped_location, the ERP's own id), a location the
-- channel or push configuration names that no source knows (unknown_location). resolved_at is set
-- when a later check no longer sees it.
CREATE TABLE inventory_location_mismatches (
	location_id   TEXT NOT NULL,
	kind          TEXT NOT NULL,
	system        TEXT NOT NULL,
	detail        TEXT NOT NULL,
	first_seen_at TIMESTAMPTZ NOT NULL,
	last_seen_at  TIMESTAMPTZ NOT NULL,
	resolved_at   TIMESTAMPTZ,
	PRIMARY KEY (location_id, kind, system)
);
