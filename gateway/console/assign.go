package console

import (
	"context"
	"embed"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/retailbridge/retailbridge/pkg/store"
)

//go:embed migrations/*.sql
var migrations embed.FS

// assignment is who owns an exception.
type assignment struct {
	Assignee   string
	AssignedBy string
	At         time.Time
}

// assignments keeps exception owners in SQL (shared by every gateway replica).
type assignments struct {
	db  *store.DB
	now func() time.Time
}

func openAssignments(ctx context.Context, db *store.DB, now func() time.Time) (*assignments, error) {
	if err := db.Migrate(ctx, "console", migrations); err != nil {
		return nil, fmt.Errorf("console: migrate: %w", err)
	}
	return &assignments{db: db, now: now}, nil
}

// set makes assignee own returnID; an empty assignee releases it.
func (a *assignments) set(ctx context.Context, returnID, assignee, by string) error {
	return a.db.InTx(ctx, func(tx *store.Tx) error {
		if _, err := tx.Exec(ctx, `DELETE FROM rb_console_assignments WHERE return_id = $1`, returnID); err != nil {
			return err
		}
		if assignee == "" {
			return nil
		}
		_, err := tx.Exec(ctx, `INSERT INTO rb_console_assignments (return_id, assignee, assigned_by, at_us) VALUES ($1, $2, $3, $4)`,
			returnID, assignee, by, a.now().UnixMicro())
		return err
	})
}

// owners returns the assignments of ids.
func (a *assignments) owners(ctx context.Context, ids []string) (map[string]assignment, error) {
	out := map[string]assignment{}
	if len(ids) == 0 {
		return out, nil
	}
	ph := make([]string, len(ids))
	args := make([]any, len(ids))
	for i, id := range ids {
		ph[i], args[i] = "$"+strconv.Itoa(i+1), id
	}
	rows, err := a.db.Query(ctx, `SELECT return_id, assignee, assigned_by, at_us FROM rb_console_assignments WHERE return_id IN (`+
		strings.Join(ph, ", ")+`)`, args...)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	for rows.Next() {
		var id string
		var as assignment
		var at int64
		if err := rows.Scan(&id, &as.Assignee, &as.AssignedBy, &at); err != nil {
			return nil, err
		}
		as.At = time.UnixMicro(at).UTC()
		out[id] = as
	}
	return out, rows.Err()
}
