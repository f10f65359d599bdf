-- A whole-shop backfill in progress (backfill.go): the platform's export it follows and the page
-- it applies next, so a restart resumes the same export where it stopped instead of starting a
-- new one (a page applied twice changes nothing: the store confirms what it holds).
CREATE TABLE order_store_backfill (
    name         TEXT PRIMARY KEY,
    export_id    TEXT NOT NULL,
    next_token   TEXT NOT NULL DEFAULT '',
    seen         BIGINT NOT NULL DEFAULT 0,
    watermark_us BIGINT NOT NULL DEFAULT 0,
    started_us   BIGINT NOT NULL,
    updated_us   BIGINT NOT NULL
);
