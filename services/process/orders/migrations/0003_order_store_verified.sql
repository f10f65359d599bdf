-- Whether the version in force was read from the platform (a poll or a read) rather than only
-- delivered by a webhook. Shopify's updated_at has a resolution of one second, so a webhook's
-- version can tie with a later change; the repair poll reads an unverified version in full once.
ALTER TABLE order_store ADD COLUMN verified INTEGER NOT NULL DEFAULT 0;
