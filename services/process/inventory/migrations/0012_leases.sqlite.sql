-- Leases: one replica at a time owns a piece of background work (the storefront push of one
-- SKU × location, a reconciliation run, an item master refresh) until expires_at; a replica that
-- dies leaves its leases to expire, and another takes them over.
CREATE TABLE inventory_leases (
	name       TEXT PRIMARY KEY,
	owner      TEXT NOT NULL,
	expires_at TIMESTAMP NOT NULL
);
CREATE INDEX inventory_leases_owner ON inventory_leases (owner);
