package audit

import (
	"context"
	"database/sql"
	"fmt"
	"strconv"
	"strings"
	"time"
)

var sqlErrNoRows = sql.ErrNoRows

// Filter selects entries. Zero fields select everything.
type Filter struct {
	Actor, Tenant, Action string
	// CorrelationID selects the entries of one request.
	CorrelationID string
	// Since and Until bound the time of the action: Since ≤ at < Until.
	Since, Until time.Time
	// Before returns only entries older than this seq (the previous page's last).
	Before int64
	// Limit caps the page (default 100).
	Limit int
}

const entryColumns = `seq, at_us, actor, tenant, action, outcome, origin, correlation_id, prev_hash, hash`

// Query returns the entries f selects, newest first.
func (l *Log) Query(ctx context.Context, f Filter) ([]Entry, error) {
	var where []string
	var args []any
	add := func(cond string, v any) {
		args = append(args, v)
		where = append(where, strings.ReplaceAll(cond, "?", "$"+strconv.Itoa(len(args))))
	}
	if f.Actor != "" {
		add("actor = ?", f.Actor)
	}
	if f.Tenant != "" {
		add("tenant = ?", f.Tenant)
	}
	if f.Action != "" {
		add("action = ?", f.Action)
	}
	if f.CorrelationID != "" {
		add("correlation_id = ?", f.CorrelationID)
	}
	if !f.Since.IsZero() {
		add("at_us >= ?", f.Since.UnixMicro())
	}
	if !f.Until.IsZero() {
		add("at_us < ?", f.Until.UnixMicro())
	}
	if f.Before > 0 {
		add("seq < ?", f.Before)
	}
	if f.Limit <= 0 {
		f.Limit = 100
	}
	q := `SELECT ` + entryColumns + ` FROM rb_audit_log`
	if len(where) > 0 {
		q += ` WHERE ` + strings.Join(where, " AND ")
	}
	args = append(args, f.Limit)
	q += fmt.Sprintf(` ORDER BY seq DESC LIMIT $%d`, len(args))
	rows, err := l.db.Query(ctx, q, args...)
	if err != nil {
		return nil, fmt.Errorf("audit: query: %w", err)
	}
	defer rows.Close()
	out := []Entry{}
	for rows.Next() {
		e, err := scanEntry(rows)
		if err != nil {
			return nil, err
		}
		out = append(out, e)
	}
	return out, rows.Err()
}

func scanEntry(rows *sql.Rows) (Entry, error) {
	var e Entry
	var at int64
	err := rows.Scan(&e.Seq, &at, &e.Actor, &e.Tenant, &e.Action, &e.Outcome, &e.Origin, &e.CorrelationID, &e.PrevHash, &e.Hash)
	e.At = time.UnixMicro(at).UTC()
	return e, err
}

// Report is what Verify found.
type Report struct {
	// Entries is how many entries were checked.
	Entries int64 `json:"entries"`
	// Head is the hash of the last entry checked (Genesis for an empty log).
	Head string `json:"head"`
	// Broken is the first broken link, nil when the chain is whole.
	Broken *Broken `json:"broken,omitempty"`
}

// Broken names a link of the chain that does not hold.
type Broken struct {
	Seq    int64  `json:"seq"`
	Reason string `json:"reason"`
}

// verifyPage is how many entries Verify reads per query.
const verifyPage = 1000

// Verify walks the chain from the first entry and reports the first link that does not hold: a
// gap or reordering in seq (an entry removed or inserted), a prev_hash that is not the previous
// entry's hash, or a hash that does not match the entry's content (an entry altered).
func (l *Log) Verify(ctx context.Context) (Report, error) {
	r := Report{Head: Genesis}
	var after int64
	for {
		rows, err := l.db.Query(ctx, `SELECT `+entryColumns+` FROM rb_audit_log WHERE seq > $1 ORDER BY seq LIMIT $2`, after, verifyPage)
		if err != nil {
			return r, fmt.Errorf("audit: verify: %w", err)
		}
		n := 0
		for rows.Next() {
			e, err := scanEntry(rows)
			if err != nil {
				rows.Close()
				return r, err
			}
			n++
			if b := checkLink(after, r.Head, e); b != nil {
				rows.Close()
				r.Broken = b
				return r, nil
			}
			after, r.Head = e.Seq, e.Hash
			r.Entries++
		}
		err = rows.Err()
		rows.Close()
		if err != nil || n < verifyPage {
			return r, err
		}
	}
}

func checkLink(prevSeq int64, prevHash string, e Entry) *Broken {
	switch {
	case e.Seq != prevSeq+1:
		return &Broken{Seq: e.Seq, Reason: fmt.Sprintf("entry %d follows entry %d: entries are missing", e.Seq, prevSeq)}
	case e.PrevHash != prevHash:
		return &Broken{Seq: e.Seq, Reason: "prev_hash is not the previous entry's hash"}
	case ChainHash(e.PrevHash, e) != e.Hash:
		return &Broken{Seq: e.Seq, Reason: "the entry's content does not match its hash: it was altered"}
	}
	return nil
}
