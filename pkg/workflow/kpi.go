package workflow

import (
	"cmp"
	"context"
	"encoding/json"
	"slices"
	"strconv"
	"time"

	"google.golang.org/protobuf/types/known/timestamppb"

	"github.com/retailbridge/retailbridge/pkg/errs"
	"github.com/retailbridge/retailbridge/pkg/store"

	canonicalv1 "github.com/retailbridge/retailbridge/pkg/gen/retailbridge/canonical/v1"
)

// Business KPIs computed from the stored history rather than from a process's metrics: every
// replica, and a console in any topology, reads the same figures, over any past window. The
// queries select by history time (rb_workflow_history.at, indexed by the services' migrations).

// Recorded is one history entry of an instance with the instance's data and creation time.
type Recorded struct {
	ID        string
	Data      json.RawMessage
	CreatedAt time.Time
	// At, State, Kind, System and Outcome are the entry's.
	At                           time.Time
	State, Kind, System, Outcome string
}

// Instance is the instance as far as the entry knows it (for channel lookups).
func (r Recorded) Instance() Instance {
	return Instance{ID: r.ID, Data: r.Data, CreatedAt: r.CreatedAt}
}

// maxRecorded bounds one KPI query; a window holding more is refused (ask for a shorter one).
const maxRecorded = 200_000

// History lists the history entries of kind's instances recorded in [since, until) whose entry
// kind is one of entryKinds, oldest first.
func History(ctx context.Context, db *store.DB, kind string, entryKinds []string, since, until time.Time) ([]Recorded, error) {
	args := []any{since.UTC(), until.UTC(), kind}
	in := ""
	for i, k := range entryKinds {
		if i > 0 {
			in += ", "
		}
		args = append(args, k)
		in += "$" + strconv.Itoa(len(args))
	}
	rows, err := db.Query(ctx, `SELECT w.id, w.data, w.created_at, h.at, h.state, h.kind, h.system, h.outcome
		FROM rb_workflow_history h JOIN rb_workflows w ON w.id = h.workflow_id
		WHERE h.at >= $1 AND h.at < $2 AND w.kind = $3 AND h.kind IN (`+in+`) ORDER BY h.at, h.workflow_id, h.seq`, args...)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []Recorded
	for rows.Next() {
		var r Recorded
		var data string
		if err := rows.Scan(&r.ID, &data, &r.CreatedAt, &r.At, &r.State, &r.Kind, &r.System, &r.Outcome); err != nil {
			return nil, err
		}
		r.Data = json.RawMessage(data)
		if out = append(out, r); len(out) > maxRecorded {
			return nil, errs.E(errs.Invalid, "kpi_window_too_large", "the window holds too many records; ask for a shorter one")
		}
	}
	return out, rows.Err()
}

// ByCorrelation lists the ids of kind's instances with a history entry carrying the correlation
// id, newest first.
func ByCorrelation(ctx context.Context, db *store.DB, kind, correlationID string, limit int) ([]string, error) {
	rows, err := db.Query(ctx, `SELECT w.id, MAX(h.at) FROM rb_workflow_history h JOIN rb_workflows w ON w.id = h.workflow_id
		WHERE h.correlation_id = $1 AND w.kind = $2 GROUP BY w.id ORDER BY MAX(h.at) DESC LIMIT $3`, correlationID, kind, limit)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var ids []string
	for rows.Next() {
		var id string
		var at any
		if err := rows.Scan(&id, &at); err != nil {
			return nil, err
		}
		ids = append(ids, id)
	}
	return ids, rows.Err()
}

// SearchHit is an instance a search found, and the identifier that matched it.
type SearchHit struct{ ID, Matched string }

// Search runs a service's identifier lookups (query with args; its rows are id, what matched,
// rank), then the correlation-id lookup of q among kind's instances, keeping the first reason
// each instance was found for.
func Search(ctx context.Context, db *store.DB, kind, q string, limit int, query string, args ...any) ([]SearchHit, error) {
	rows, err := db.Query(ctx, query, args...)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var hits []SearchHit
	seen := map[string]bool{}
	add := func(matched, id string) {
		if !seen[id] {
			seen[id] = true
			hits = append(hits, SearchHit{ID: id, Matched: matched})
		}
	}
	for rows.Next() {
		var id, matched string
		var rank int
		if err := rows.Scan(&id, &matched, &rank); err != nil {
			return nil, err
		}
		add(matched, id)
	}
	if err := rows.Err(); err != nil {
		return nil, err
	}
	ids, err := ByCorrelation(ctx, db, kind, q, limit)
	for _, id := range ids {
		add("correlation id", id)
	}
	return hits, err
}

// KPIWindow is a validated KPI request: a window and its bucket width.
type KPIWindow struct {
	Since, Until time.Time
	Interval     canonicalv1.KpiInterval
}

// maxBuckets bounds the buckets one answer holds (about three months of hours).
const maxBuckets = 24 * 93

// NewKPIWindow defaults and checks a request's window: until defaults to now, since to 7 days
// before until, the interval to hours.
func NewKPIWindow(since, until *timestamppb.Timestamp, interval canonicalv1.KpiInterval, now time.Time) (KPIWindow, error) {
	w := KPIWindow{Until: now.UTC(), Interval: interval}
	if until != nil {
		w.Until = until.AsTime()
	}
	w.Since = w.Until.Add(-7 * 24 * time.Hour)
	if since != nil {
		w.Since = since.AsTime()
	}
	if w.Interval == canonicalv1.KpiInterval_KPI_INTERVAL_UNSPECIFIED {
		w.Interval = canonicalv1.KpiInterval_KPI_INTERVAL_HOUR
	}
	switch {
	case w.Interval != canonicalv1.KpiInterval_KPI_INTERVAL_HOUR && w.Interval != canonicalv1.KpiInterval_KPI_INTERVAL_DAY:
		return w, errs.E(errs.Invalid, "invalid_request", "the request has invalid fields").
			WithFields(errs.FieldViolation{Field: "interval", Description: "KPI_INTERVAL_HOUR or KPI_INTERVAL_DAY"})
	case !w.Since.Before(w.Until):
		return w, errs.E(errs.Invalid, "invalid_request", "the request has invalid fields").
			WithFields(errs.FieldViolation{Field: "since", Description: "before until"})
	case w.Until.Sub(w.Since) > maxBuckets*w.width():
		return w, errs.E(errs.Invalid, "invalid_request", "the request has invalid fields").
			WithFields(errs.FieldViolation{Field: "since", Description: "at most 2232 buckets before until"})
	}
	return w, nil
}

func (w KPIWindow) width() time.Duration {
	if w.Interval == canonicalv1.KpiInterval_KPI_INTERVAL_DAY {
		return 24 * time.Hour
	}
	return time.Hour
}

// Bucket is the start of the bucket holding t (UTC).
func (w KPIWindow) Bucket(t time.Time) time.Time { return t.UTC().Truncate(w.width()) }

type kpiKey struct {
	kpi     string
	bucket  time.Time
	channel string
}

// KPISeries accumulates observations into the window's buckets by KPI and channel.
type KPISeries struct {
	w      KPIWindow
	points map[kpiKey]*canonicalv1.KpiPoint
}

// NewKPISeries returns an empty series over w.
func NewKPISeries(w KPIWindow) *KPISeries {
	return &KPISeries{w: w, points: map[kpiKey]*canonicalv1.KpiPoint{}}
}

// Count records one observation of kpi at t for channel; ok says it succeeded.
func (s *KPISeries) Count(kpi string, at time.Time, channel string, ok bool) {
	p := s.point(kpi, at, channel)
	p.Count++
	if ok {
		p.Ok++
	}
}

// Duration records one observed duration of kpi, ending at t, for channel.
func (s *KPISeries) Duration(kpi string, at time.Time, channel string, d time.Duration, ok bool) {
	p := s.point(kpi, at, channel)
	sec := max(d.Seconds(), 0)
	p.Count++
	p.SumSeconds += sec
	p.MaxSeconds = max(p.MaxSeconds, sec)
	if ok {
		p.Ok++
	}
}

func (s *KPISeries) point(kpi string, at time.Time, channel string) *canonicalv1.KpiPoint {
	k := kpiKey{kpi, s.w.Bucket(at), channel}
	p := s.points[k]
	if p == nil {
		p = &canonicalv1.KpiPoint{Kpi: kpi, BucketStart: timestamppb.New(k.bucket), Channel: channel}
		s.points[k] = p
	}
	return p
}

// Points are the accumulated points ordered by KPI, bucket and channel.
func (s *KPISeries) Points() []*canonicalv1.KpiPoint {
	out := make([]*canonicalv1.KpiPoint, 0, len(s.points))
	for _, p := range s.points {
		out = append(out, p)
	}
	slices.SortFunc(out, func(a, b *canonicalv1.KpiPoint) int {
		return cmp.Or(cmp.Compare(a.GetKpi(), b.GetKpi()), a.GetBucketStart().AsTime().Compare(b.GetBucketStart().AsTime()),
			cmp.Compare(a.GetChannel(), b.GetChannel()))
	})
	return out
}
