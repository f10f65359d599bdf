-- Events a transaction recorded; the relay publishes them and sets published_at. A row is due
-- when next_attempt_at is NULL (new) or past (retry after a failed publish, by the relay's clock).
CREATE TABLE rb_outbox (
	seq             BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
	event_id        TEXT NOT NULL UNIQUE,
	subject         TEXT NOT NULL,
	event_type      TEXT NOT NULL,
	correlation_id  TEXT NOT NULL DEFAULT '',
	traceparent     TEXT NOT NULL DEFAULT '',
	payload         BYTEA NOT NULL,
	created_at      TIMESTAMPTZ NOT NULL,
	next_attempt_at TIMESTAMPTZ,
	attempts        INTEGER NOT NULL DEFAULT 0,
	last_error      TEXT NOT NULL DEFAULT '',
	published_at    TIMESTAMPTZ
);
CREATE INDEX rb_outbox_pending ON rb_outbox (seq) WHERE published_at IS NULL;
CREATE INDEX rb_outbox_published ON rb_outbox (published_at) WHERE published_at IS NOT NULL;

-- Events a consumer has handled, committed with the handler's own writes.
CREATE TABLE rb_inbox (
	consumer     TEXT NOT NULL,
	event_id     TEXT NOT NULL,
	subject      TEXT NOT NULL,
	stream_seq   BIGINT NOT NULL,
	processed_at TIMESTAMPTZ NOT NULL,
	PRIMARY KEY (consumer, event_id)
);
CREATE INDEX rb_inbox_processed ON rb_inbox (processed_at);

-- Append-only audit of dead-letter replays, dry runs included.
CREATE TABLE rb_dlq_replays (
	id             BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
	dlq_stream     TEXT NOT NULL,
	dead_letter_id BIGINT NOT NULL,
	attempt        INTEGER NOT NULL,
	dry_run        BOOLEAN NOT NULL,
	operator       TEXT NOT NULL,
	at             TIMESTAMPTZ NOT NULL,
	consumer       TEXT NOT NULL,
	event_id       TEXT NOT NULL,
	subject        TEXT NOT NULL,
	msg_id         TEXT NOT NULL,
	correlation_id TEXT NOT NULL,
	outcome        TEXT NOT NULL,
	error          TEXT NOT NULL DEFAULT ''
);
CREATE INDEX rb_dlq_replays_dead_letter ON rb_dlq_replays (dlq_stream, dead_letter_id);
CREATE FUNCTION rb_dlq_replays_append_only() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
	RAISE EXCEPTION 'rb_dlq_replays is append-only';
END
$$;
CREATE TRIGGER rb_dlq_replays_no_change BEFORE UPDATE OR DELETE ON rb_dlq_replays
	FOR EACH ROW EXECUTE FUNCTION rb_dlq_replays_append_only();
CREATE TRIGGER rb_dlq_replays_no_truncate BEFORE TRUNCATE ON rb_dlq_replays
	FOR EACH STATEMENT EXECUTE FUNCTION rb_dlq_replays_append_only();
