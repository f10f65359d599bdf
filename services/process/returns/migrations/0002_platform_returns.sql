-- Returns customers started on the returns platform itself (its return.created webhook): kept
-- here by the event consumer, then adopted into the workflow (or rejected by policy).
CREATE TABLE platform_returns (
    platform_id TEXT PRIMARY KEY,
    payload     TEXT NOT NULL,
    received_at TIMESTAMP NOT NULL,
    status      TEXT NOT NULL,
    return_id   TEXT NOT NULL DEFAULT '',
    detail      TEXT NOT NULL DEFAULT ''
);
CREATE INDEX platform_returns_status ON platform_returns (status, received_at);
