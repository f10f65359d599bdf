package events

import (
	"context"
	"fmt"
	"time"
)

// ReplaysBetween lists the replay audit records (dry runs included) made in [since, until),
// oldest first, at most limit: the console's replay-rate chart reads the stored audit, so every
// gateway replica draws the same figures.
func (d *DeadLetters) ReplaysBetween(ctx context.Context, since, until time.Time, limit int) ([]ReplayRecord, error) {
	rows, err := d.db.Query(ctx, `SELECT id, dead_letter_id, attempt, dry_run, operator, at, consumer, event_id,
		subject, msg_id, correlation_id, outcome, error
		FROM rb_dlq_replays WHERE dlq_stream = $1 AND at >= $2 AND at < $3 ORDER BY at, id LIMIT $4`,
		DeadLetterStream, since.UTC(), until.UTC(), limit)
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
