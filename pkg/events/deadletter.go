package events

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
	"google.golang.org/protobuf/encoding/protojson"

	"github.com/retailbridge/retailbridge/pkg/errs"
	canonicalv1 "github.com/retailbridge/retailbridge/pkg/gen/retailbridge/canonical/v1"
	"github.com/retailbridge/retailbridge/pkg/store"
)

// Dead-letter and replay headers. A dead letter keeps the original message's data and its
// Content-Type, X-Correlation-Id, traceparent and Rb-Event-Type headers, and adds these.
const (
	HeaderEventID        = "Rb-Event-Id"
	HeaderDLQConsumer    = "Rb-Dlq-Consumer"
	HeaderDLQStream      = "Rb-Dlq-Stream"
	HeaderDLQSubject     = "Rb-Dlq-Subject"
	HeaderDLQStreamSeq   = "Rb-Dlq-Stream-Seq"
	HeaderDLQAttempts    = "Rb-Dlq-Attempts"
	HeaderDLQError       = "Rb-Dlq-Error"
	HeaderDLQKind        = "Rb-Dlq-Kind"
	HeaderDLQReason      = "Rb-Dlq-Reason"
	HeaderDLQRetryable   = "Rb-Dlq-Retryable"
	HeaderDLQTime        = "Rb-Dlq-Time"
	HeaderReplayOf       = "Rb-Replay-Of"
	HeaderReplayAttempt  = "Rb-Replay-Attempt"
	HeaderReplayOperator = "Rb-Replayed-By"
	// HeaderReplayFor names the consumer a replay is meant for; other consumers of the subject
	// acknowledge it without handling it.
	HeaderReplayFor = "Rb-Replay-For"
)

// deadLetter publishes the failed delivery to the dead-letter stream and waits for the ack. The
// message id is derived from the original stream position, so dead-lettering the same delivery
// twice (a lost Term) stores it once.
func (c *Consumer) deadLetter(ctx context.Context, m jetstream.Msg, md *jetstream.MsgMetadata, ev *canonicalv1.Event, cause error) error {
	h := m.Headers()
	dl := nats.NewMsg(DeadLetterSubject(c.cfg.Name))
	dl.Data = m.Data()
	for _, k := range []string{HeaderContentType, HeaderCorrelationID, HeaderTraceparent, HeaderEventType} {
		if v := h.Get(k); v != "" {
			dl.Header.Set(k, v)
		}
	}
	if dl.Header.Get(HeaderCorrelationID) == "" && ev.GetCorrelationId() != "" {
		dl.Header.Set(HeaderCorrelationID, ev.GetCorrelationId())
	}
	if ev.GetId() != "" {
		dl.Header.Set(HeaderEventID, ev.GetId())
	}
	kind, reason, retryable := errs.KindOf(cause).String(), "", store.IsRetryable(cause)
	if e := errs.As(cause); e != nil {
		reason = e.Reason
	}
	dl.Header.Set(HeaderMsgID, fmt.Sprintf("dlq:%s:%s:%d", c.cfg.Name, md.Stream, md.Sequence.Stream))
	dl.Header.Set(HeaderDLQConsumer, c.cfg.Name)
	dl.Header.Set(HeaderDLQStream, md.Stream)
	dl.Header.Set(HeaderDLQSubject, m.Subject())
	dl.Header.Set(HeaderDLQStreamSeq, strconv.FormatUint(md.Sequence.Stream, 10))
	dl.Header.Set(HeaderDLQAttempts, strconv.FormatUint(md.NumDelivered, 10))
	dl.Header.Set(HeaderDLQError, headerValue(cause.Error(), 2048))
	dl.Header.Set(HeaderDLQKind, kind)
	dl.Header.Set(HeaderDLQReason, reason)
	dl.Header.Set(HeaderDLQRetryable, strconv.FormatBool(retryable))
	dl.Header.Set(HeaderDLQTime, c.cfg.Now().UTC().Format(time.RFC3339Nano))
	_, err := c.js.PublishMsg(ctx, dl)
	return err
}

// headerValue makes s safe as a header value: one line, at most n bytes.
func headerValue(s string, n int) string {
	s = strings.Map(func(r rune) rune {
		if r == '\r' || r == '\n' {
			return ' '
		}
		return r
	}, s)
	return truncate(s, n)
}

// DeadLetter is an event a consumer gave up on.
type DeadLetter struct {
	// ID is the dead letter's sequence in the dead-letter stream.
	ID uint64
	// Consumer is the consumer that gave up.
	Consumer string
	// Stream, Subject and StreamSeq locate the original message. Replays publish to Subject.
	Stream    string
	Subject   string
	StreamSeq uint64
	// EventID and EventType identify the event; empty when the data did not decode.
	EventID   string
	EventType string
	// CorrelationID and Traceparent are the original message's.
	CorrelationID string
	Traceparent   string
	// Error is the last failure's text, Kind its errs kind, Reason its stable reason.
	Error     string
	Kind      string
	Reason    string
	Retryable bool
	// Attempts is how many times the event was delivered to the consumer.
	Attempts int
	// DeadAt is when the consumer gave up.
	DeadAt time.Time
	// Payload is the original message data; Event is it decoded (nil if it does not decode).
	Payload []byte
	Event   *canonicalv1.Event
	// Replays is the audit trail of this dead letter's replays, oldest first (Show only).
	Replays []ReplayRecord
}

// EventJSON renders the event as protojson for operators, or "" when it does not decode.
func (d DeadLetter) EventJSON() string {
	if d.Event == nil {
		return ""
	}
	b, err := protojson.MarshalOptions{UseProtoNames: true, Multiline: true}.Marshal(d.Event)
	if err != nil {
		return ""
	}
	return string(b)
}

// ReplayRecord is one row of the append-only replay audit.
type ReplayRecord struct {
	ID            int64
	DeadLetterID  uint64
	Attempt       int
	DryRun        bool
	Operator      string
	At            time.Time
	Consumer      string
	EventID       string
	Subject       string
	MsgID         string
	CorrelationID string
	Outcome       string
	Error         string
}

// Replay outcomes, as recorded in the audit.
const (
	OutcomeDryRun     = "dry_run"        // nothing was published
	OutcomePublished  = "published"      // republished to the original subject
	OutcomeDuplicate  = "duplicate"      // the same attempt was already published (JetStream deduplicated it)
	OutcomeFailed     = "failed"         // not published; see Error
	OutcomeDryRunFail = "dry_run_failed" // a dry run found the replay would fail; see Error
)

// ReplayResult says what a replay did, or with a dry run what it would do.
type ReplayResult struct {
	DeadLetterID uint64
	// Attempt numbers the real replays of this dead letter, from 1.
	Attempt int
	DryRun  bool
	// Subject and Stream are where the event is (or would be) republished.
	Subject string
	Stream  string
	// MsgID is the replay's Nats-Msg-Id, derived from (dead letter, attempt).
	MsgID   string
	Outcome string
	// Sequence is the republished message's stream sequence (real replays only).
	Sequence uint64
}

// ListOptions page through dead letters.
type ListOptions struct {
	// Consumer keeps only that consumer's dead letters.
	Consumer string
	// After lists dead letters with a larger ID (a cursor: the last ID of the previous page).
	After uint64
	// Limit caps the page. Default 100.
	Limit int
	// Since, with no After, starts the listing at the first dead letter stored at or after it
	// (found by a binary search over the stream's sequence numbers: a few reads, whatever the
	// stream's length), so a window's letters are read without reading the older ones.
	Since time.Time
}

// firstStoredSince is the sequence of the first message on filter stored at or after since (one
// past the last when there is none). A stream stores in time order, so sequences are searched
// by halves; a read at a sequence answers the next message on filter from there.
func firstStoredSince(ctx context.Context, s jetstream.Stream, filter string, since time.Time) (uint64, error) {
	info, err := s.Info(ctx)
	if err != nil {
		return 0, fmt.Errorf("events: dead-letter stream: %w", err)
	}
	lo, hi := info.State.FirstSeq, info.State.LastSeq+1
	for lo < hi {
		mid := lo + (hi-lo)/2
		raw, err := s.GetMsg(ctx, mid, jetstream.WithGetMsgSubject(filter))
		switch {
		case errors.Is(err, jetstream.ErrMsgNotFound):
			hi = mid // nothing on filter from mid on
		case err != nil:
			return 0, fmt.Errorf("events: read dead letter at %d: %w", mid, err)
		case raw.Time.Before(since):
			lo = raw.Sequence + 1
		default:
			hi = mid
		}
	}
	return lo, nil
}

// DeadLetters is the operators' view of the dead-letter stream: list, inspect and replay. The
// CLI and the console are thin layers over it. Replays are audited in db (rb_dlq_replays).
type DeadLetters struct {
	db  *store.DB
	js  jetstream.JetStream
	now func() time.Time
	// observe hears every audited replay (metrics.go); nil hears nothing.
	observe func(consumer, outcome string, dryRun bool)
}

// NewDeadLetters returns the dead-letter operations; now is the clock (nil means time.Now).
func NewDeadLetters(db *store.DB, js jetstream.JetStream, now func() time.Time) *DeadLetters {
	if now == nil {
		now = time.Now
	}
	return &DeadLetters{db: db, js: js, now: now}
}

// List returns dead letters in ID order, without their replay trail.
func (d *DeadLetters) List(ctx context.Context, opts ListOptions) ([]DeadLetter, error) {
	if opts.Limit <= 0 {
		opts.Limit = 100
	}
	filter := SubjectPrefix + deadLetterDomain + ".>"
	if opts.Consumer != "" {
		filter = DeadLetterSubject(opts.Consumer)
	}
	s, err := d.js.Stream(ctx, DeadLetterStream)
	if errors.Is(err, jetstream.ErrStreamNotFound) {
		// No consumer has started yet, so nothing was ever dead-lettered: an empty list, not an
		// error an operator has to interpret.
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("events: dead-letter stream: %w", err)
	}
	seq := opts.After + 1
	if opts.After == 0 && !opts.Since.IsZero() {
		if seq, err = firstStoredSince(ctx, s, filter, opts.Since); err != nil {
			return nil, err
		}
	}
	var out []DeadLetter
	for len(out) < opts.Limit {
		raw, err := s.GetMsg(ctx, seq, jetstream.WithGetMsgSubject(filter))
		if errors.Is(err, jetstream.ErrMsgNotFound) {
			break
		}
		if err != nil {
			return nil, fmt.Errorf("events: read dead letter at %d: %w", seq, err)
		}
		out = append(out, parseDeadLetter(raw))
		seq = raw.Sequence + 1
	}
	return out, nil
}

// Show returns one dead letter with its replay trail; errs.NotFound if there is none with id.
func (d *DeadLetters) Show(ctx context.Context, id uint64) (DeadLetter, error) {
	s, err := d.js.Stream(ctx, DeadLetterStream)
	if errors.Is(err, jetstream.ErrStreamNotFound) {
		return DeadLetter{}, errs.E(errs.NotFound, "dead_letter_not_found", fmt.Sprintf("no dead letter %d", id))
	}
	if err != nil {
		return DeadLetter{}, fmt.Errorf("events: dead-letter stream: %w", err)
	}
	raw, err := s.GetMsg(ctx, id)
	if errors.Is(err, jetstream.ErrMsgNotFound) || err == nil && !strings.HasPrefix(raw.Subject, SubjectPrefix+deadLetterDomain+".") {
		return DeadLetter{}, errs.E(errs.NotFound, "dead_letter_not_found", fmt.Sprintf("no dead letter %d", id))
	}
	if err != nil {
		return DeadLetter{}, fmt.Errorf("events: read dead letter %d: %w", id, err)
	}
	dl := parseDeadLetter(raw)
	if dl.Replays, err = d.replays(ctx, id); err != nil {
		return DeadLetter{}, err
	}
	return dl, nil
}

func parseDeadLetter(raw *jetstream.RawStreamMsg) DeadLetter {
	h := raw.Header
	num := func(k string) uint64 { n, _ := strconv.ParseUint(h.Get(k), 10, 64); return n }
	dl := DeadLetter{
		ID:            raw.Sequence,
		Consumer:      h.Get(HeaderDLQConsumer),
		Stream:        h.Get(HeaderDLQStream),
		Subject:       h.Get(HeaderDLQSubject),
		StreamSeq:     num(HeaderDLQStreamSeq),
		EventID:       h.Get(HeaderEventID),
		EventType:     h.Get(HeaderEventType),
		CorrelationID: h.Get(HeaderCorrelationID),
		Traceparent:   h.Get(HeaderTraceparent),
		Error:         h.Get(HeaderDLQError),
		Kind:          h.Get(HeaderDLQKind),
		Reason:        h.Get(HeaderDLQReason),
		Retryable:     h.Get(HeaderDLQRetryable) == "true",
		Attempts:      int(num(HeaderDLQAttempts)),
		DeadAt:        raw.Time,
		Payload:       raw.Data,
	}
	if t, err := time.Parse(time.RFC3339Nano, h.Get(HeaderDLQTime)); err == nil {
		dl.DeadAt = t
	}
	if ev, err := Decode(raw.Data); err == nil {
		dl.Event = ev
	}
	return dl
}

func (d *DeadLetters) replays(ctx context.Context, id uint64) ([]ReplayRecord, error) {
	rows, err := d.db.Query(ctx, `SELECT id, dead_letter_id, attempt, dry_run, operator, at, consumer, event_id,
		subject, msg_id, correlation_id, outcome, error
		FROM rb_dlq_replays WHERE dlq_stream = $1 AND dead_letter_id = $2 ORDER BY id`, DeadLetterStream, int64(id))
	if err != nil {
		return nil, fmt.Errorf("events: read replay audit: %w", err)
	}
	defer rows.Close()
	var out []ReplayRecord
	for rows.Next() {
		var r ReplayRecord
		var dlID int64
		if err := rows.Scan(&r.ID, &dlID, &r.Attempt, &r.DryRun, &r.Operator, &r.At, &r.Consumer, &r.EventID,
			&r.Subject, &r.MsgID, &r.CorrelationID, &r.Outcome, &r.Error); err != nil {
			return nil, err
		}
		r.DeadLetterID = uint64(dlID)
		out = append(out, r)
	}
	return out, rows.Err()
}

// republish publishes dl again to its subject, marked as the replay res describes, and records the
// outcome (published, or a duplicate the broker dropped) and the sequence in res.
func (d *DeadLetters) republish(ctx context.Context, dl DeadLetter, operator string, res *ReplayResult) error {
	m := nats.NewMsg(dl.Subject)
	m.Data = dl.Payload
	for k, v := range map[string]string{
		HeaderContentType: ContentType, HeaderEventType: dl.EventType,
		HeaderCorrelationID: dl.CorrelationID, HeaderTraceparent: dl.Traceparent,
	} {
		if v != "" {
			m.Header.Set(k, v)
		}
	}
	m.Header.Set(HeaderMsgID, res.MsgID)
	m.Header.Set(HeaderReplayOf, strconv.FormatUint(res.DeadLetterID, 10))
	m.Header.Set(HeaderReplayAttempt, strconv.Itoa(res.Attempt))
	m.Header.Set(HeaderReplayOperator, headerValue(operator, 256))
	m.Header.Set(HeaderReplayFor, dl.Consumer)
	ack, err := d.js.PublishMsg(ctx, m, jetstream.WithExpectStream(res.Stream))
	switch {
	case err != nil:
		res.Outcome = OutcomeFailed
		return err
	case ack.Duplicate:
		res.Outcome, res.Sequence = OutcomeDuplicate, ack.Sequence
	default:
		res.Outcome, res.Sequence = OutcomePublished, ack.Sequence
	}
	return nil
}

// Replay republishes dead letter id to its original subject, for the consumer that gave up on it
// (other consumers of the subject skip it), and appends an audit record of who replayed what,
// when, and the outcome. The replay's Nats-Msg-Id is derived from (dead letter id, attempt), where
// attempt counts earlier real replays in the audit: if the process dies after publishing and
// before auditing, replaying again reuses the id and the broker drops the copy. The consumer's
// inbox makes sure the event is handled at most once however often it is replayed.
//
// A dry run publishes nothing and changes no state — the dead letter, the streams and every
// consumer stay as they were — but it is audited like any privileged action, with dry_run set.
func (d *DeadLetters) Replay(ctx context.Context, id uint64, dryRun bool, operator string) (ReplayResult, error) {
	operator = strings.TrimSpace(operator)
	if operator == "" {
		return ReplayResult{}, errs.E(errs.Invalid, "operator_required", "a replay needs the operator's identity").
			WithFields(errs.FieldViolation{Field: "operator", Description: "required"})
	}
	dl, err := d.Show(ctx, id)
	if err != nil {
		return ReplayResult{}, err
	}
	var previous int
	if err := d.db.QueryRow(ctx, `SELECT count(*) FROM rb_dlq_replays
		WHERE dlq_stream = $1 AND dead_letter_id = $2 AND dry_run = $3`, DeadLetterStream, int64(id), false).
		Scan(&previous); err != nil {
		return ReplayResult{}, fmt.Errorf("events: read replay audit: %w", err)
	}
	res := ReplayResult{
		DeadLetterID: id,
		Attempt:      previous + 1,
		DryRun:       dryRun,
		Subject:      dl.Subject,
		MsgID:        fmt.Sprintf("replay:%s:%d:%d", DeadLetterStream, id, previous+1),
	}

	var failure error
	failureKind := errs.FailedPrecondition
	if res.Stream, err = d.js.StreamNameBySubject(ctx, dl.Subject); err != nil {
		failure = fmt.Errorf("no stream captures subject %q: %w", dl.Subject, err)
	}
	switch {
	case dryRun && failure == nil:
		res.Outcome = OutcomeDryRun
	case dryRun:
		res.Outcome = OutcomeDryRunFail
	case failure == nil:
		if err := d.republish(ctx, dl, operator, &res); err != nil {
			failure, failureKind = err, errs.Unavailable
		}
	default:
		res.Outcome = OutcomeFailed
	}

	errText := ""
	if failure != nil {
		errText = truncate(failure.Error(), 2048)
	}
	_, err = d.db.Exec(ctx, `INSERT INTO rb_dlq_replays (dlq_stream, dead_letter_id, attempt, dry_run, operator, at,
		consumer, event_id, subject, msg_id, correlation_id, outcome, error)
		VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13)`,
		DeadLetterStream, int64(id), res.Attempt, dryRun, operator, d.now().UTC(),
		dl.Consumer, dl.EventID, dl.Subject, res.MsgID, dl.CorrelationID, res.Outcome, errText)
	if err != nil {
		return res, fmt.Errorf("events: replay of dead letter %d ended %s but its audit record failed (replay again to record it): %w",
			id, res.Outcome, err)
	}
	if d.observe != nil {
		d.observe(dl.Consumer, res.Outcome, dryRun)
	}
	if failure != nil {
		return res, errs.Wrap(failure, failureKind, "replay_failed", "the dead letter could not be replayed")
	}
	return res, nil
}
