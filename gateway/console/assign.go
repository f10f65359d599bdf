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

// The kinds of record an exception owner can be set on.
const (
	ownReturn = "return"
	ownOrder  = "order"
)

// assignment is who owns an exception.
type assignment struct {
	Kind       string
	SubjectID  string
	Assignee   string
	AssignedBy string
	At         time.Time
}

// assignments keeps exception owners in SQL (shared by every gateway replica), for returns and
// orders alike.
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

// set makes assignee own the record of kind; an empty assignee releases it.
func (a *assignments) set(ctx context.Context, kind, id, assignee, by string) error {
	return a.db.InTx(ctx, func(tx *store.Tx) error {
		if _, err := tx.Exec(ctx, `DELETE FROM rb_console_owners WHERE kind = $1 AND subject_id = $2`, kind, id); err != nil {
			return err
		}
		if assignee == "" {
			return nil
		}
		_, err := tx.Exec(ctx, `INSERT INTO rb_console_owners (kind, subject_id, assignee, assigned_by, at_us) VALUES ($1, $2, $3, $4, $5)`,
			kind, id, assignee, by, a.now().UnixMicro())
		return err
	})
}

// owners returns the assignments of the records of kind among ids.
func (a *assignments) owners(ctx context.Context, kind string, ids []string) (map[string]assignment, error) {
	out := map[string]assignment{}
	if len(ids) == 0 {
		return out, nil
	}
	ph := make([]string, len(ids))
	args := []any{kind}
	for i, id := range ids {
		args = append(args, id)
		ph[i] = "$" + strconv.Itoa(i+2)
	}
	list, err := a.query(ctx, `SELECT kind, subject_id, assignee, assigned_by, at_us FROM rb_console_owners WHERE kind = $1 AND subject_id IN (`+
		strings.Join(ph, ", ")+`)`, args...)
	for _, as := range list {
		out[as.SubjectID] = as
	}
	return out, err
}

// all lists every assignment, by assignee (one assignee's only when owner is set), oldest first.
func (a *assignments) all(ctx context.Context, owner string) ([]assignment, error) {
	if owner != "" {
		return a.query(ctx, `SELECT kind, subject_id, assignee, assigned_by, at_us FROM rb_console_owners WHERE assignee = $1
			ORDER BY kind, at_us LIMIT 1000`, owner)
	}
	return a.query(ctx, `SELECT kind, subject_id, assignee, assigned_by, at_us FROM rb_console_owners ORDER BY assignee, kind, at_us LIMIT 1000`)
}

func (a *assignments) query(ctx context.Context, q string, args ...any) ([]assignment, error) {
	rows, err := a.db.Query(ctx, q, args...)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []assignment
	for rows.Next() {
		var as assignment
		var at int64
		if err := rows.Scan(&as.Kind, &as.SubjectID, &as.Assignee, &as.AssignedBy, &at); err != nil {
			return nil, err
		}
		as.At = time.UnixMicro(at).UTC()
		out = append(out, as)
	}
	return out, rows.Err()
}
