-- Events a transaction recorded; the relay publishes them and sets published_at. A row is due
-- when next_attempt_at is NULL (new) or past (retry after a failed publish, by the relay's clock).
CREATE TABLE rb_outbox (
	seq             INTEGER PRIMARY KEY AUTOINCREMENT,
	event_id        TEXT NOT NULL UNIQUE,
	subject         TEXT NOT NULL,
	event_type      TEXT NOT NULL,
	correlation_id  TEXT NOT NULL DEFAULT '',
	traceparent     TEXT NOT NULL DEFAULT '',
	payload         BLOB NOT NULL,
	created_at      TIMESTAMP NOT NULL,
	next_attempt_at TIMESTAMP,
	attempts        INTEGER NOT NULL DEFAULT 0,
	last_error      TEXT NOT NULL DEFAULT '',
	published_at    TIMESTAMP
);
CREATE INDEX rb_outbox_pending ON rb_outbox (seq) WHERE published_at IS NULL;
CREATE INDEX rb_outbox_published ON rb_outbox (published_at) WHERE published_at IS NOT NULL;

-- Events a consumer has handled, committed with the handler's own writes.
CREATE TABLE rb_inbox (
	consumer     TEXT NOT NULL,
	event_id     TEXT NOT NULL,
	subject      TEXT NOT NULL,
	stream_seq   INTEGER NOT NULL,
	processed_at TIMESTAMP NOT NULL,
	PRIMARY KEY (consumer, event_id)
);
CREATE INDEX rb_inbox_processed ON rb_inbox (processed_at);

-- Append-only audit of dead-letter replays, dry runs included.
CREATE TABLE rb_dlq_replays (
	id             INTEGER PRIMARY KEY AUTOINCREMENT,
	dlq_stream     TEXT NOT NULL,
	dead_letter_id INTEGER NOT NULL,
	attempt        INTEGER NOT NULL,
	dry_run        BOOLEAN NOT NULL,
	operator       TEXT NOT NULL,
	at             TIMESTAMP NOT NULL,
	consumer       TEXT NOT NULL,
	event_id       TEXT NOT NULL,
	subject        TEXT NOT NULL,
	msg_id         TEXT NOT NULL,
	correlation_id TEXT NOT NULL,
	outcome        TEXT NOT NULL,
	error          TEXT NOT NULL DEFAULT ''
);
CREATE INDEX rb_dlq_replays_dead_letter ON rb_dlq_replays (dlq_stream, dead_letter_id);
CREATE TRIGGER rb_dlq_replays_no_update BEFORE UPDATE ON rb_dlq_replays
BEGIN
	SELECT RAISE(ABORT, 'rb_dlq_replays is append-only');
END;
CREATE TRIGGER rb_dlq_replays_no_delete BEFORE DELETE ON rb_dlq_replays
BEGIN
	SELECT RAISE(ABORT, 'rb_dlq_replays is append-only');
END;
