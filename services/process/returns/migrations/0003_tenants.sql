-- Partner tenancy: the tenant whose sales channel the order came through (partners list and read
-- only their tenant's returns), and who asked for the return, so a retried request finds the
-- return it created whoever the caller is (customer, agent or partner client).
ALTER TABLE returns ADD COLUMN tenant TEXT NOT NULL DEFAULT '';
ALTER TABLE returns ADD COLUMN requested_by TEXT NOT NULL DEFAULT '';
UPDATE returns SET requested_by = 'storefront:' || customer_id WHERE requested_by = '' AND request_key NOT LIKE 'platform:%';
UPDATE returns SET requested_by = 'platform' WHERE requested_by = '' AND request_key LIKE 'platform:%';
DROP INDEX returns_request;
CREATE UNIQUE INDEX returns_request ON returns (requested_by, request_key);
CREATE INDEX returns_tenant ON returns (tenant, created_at);
