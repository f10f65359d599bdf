package returns

import (
	"context"
	"database/sql"
	"encoding/base64"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/retailbridge/retailbridge/pkg/errs"
	"github.com/retailbridge/retailbridge/pkg/store"
)

// The returns service's own tables (migrations/): returns (who asked, under which key),
// return_claims (the order lines' units each return holds), return_orders (one row per order,
// the lock creation takes) and platform_returns (platform.go). The workflow engine keeps each
// return's state and data in rb_workflows.

// lockOrder serialises return creation per order.
func lockOrder(ctx context.Context, tx *store.Tx, orderID string) error {
	if _, err := tx.Exec(ctx, `INSERT INTO return_orders (order_id) VALUES ($1) ON CONFLICT (order_id) DO NOTHING`, orderID); err != nil {
		return err
	}
	if tx.Dialect() == store.Postgres {
		_, err := tx.Exec(ctx, `SELECT order_id FROM return_orders WHERE order_id = $1 FOR UPDATE`, orderID)
		return err
	}
	return nil
}

type querier interface {
	Query(ctx context.Context, query string, args ...any) (*sql.Rows, error)
}

// activeClaims sums, per order line, the units held by this order's returns that are neither
// refunded (the commerce platform then counts them) nor abandoned (cancelled, denied, expired).
// A return that failed and needs attention keeps its units: conservative until resolved.
func activeClaims(ctx context.Context, q querier, orderID string) (map[string]int32, error) {
	rows, err := q.Query(ctx, `SELECT c.order_line_id, SUM(c.quantity) FROM return_claims c JOIN rb_workflows w ON w.id = c.return_id
		WHERE c.order_id = $1 AND w.state NOT IN ($2, $3, $4, $5) GROUP BY c.order_line_id`,
		orderID, StateRefunded, StateCancelled, StateDenied, StateExpired)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	out := map[string]int32{}
	for rows.Next() {
		var line string
		var n int64
		if err := rows.Scan(&line, &n); err != nil {
			return nil, err
		}
		out[line] = int32(n)
	}
	return out, rows.Err()
}

// insertReturn records a new return and the units it claims, in the creating transaction; a
// second return under the same requester's key is errs.Conflict "return_request_in_flight".
func insertReturn(ctx context.Context, tx *store.Tx, d *returnData, customer, key, requester string, now time.Time) error {
	if _, err := tx.Exec(ctx, `INSERT INTO returns (id, order_id, customer_id, request_key, requested_by, tenant, created_at) VALUES ($1, $2, $3, $4, $5, $6, $7)`,
		d.ReturnID, d.OrderID, customer, key, requester, d.Tenant, now); err != nil {
		if store.IsUniqueViolation(err) {
			return errs.E(errs.Conflict, "return_request_in_flight", "a return with this Idempotency-Key is being created")
		}
		return err
	}
	for _, l := range d.Lines {
		if _, err := tx.Exec(ctx, `INSERT INTO return_claims (return_id, order_id, order_line_id, quantity) VALUES ($1, $2, $3, $4)`,
			d.ReturnID, d.OrderID, l.OrderLineID, l.Quantity); err != nil {
			return err
		}
	}
	return nil
}

// returnIDByKey finds the return a requester created with an idempotency key.
func returnIDByKey(ctx context.Context, db *store.DB, requester, key string) (string, error) {
	var id string
	err := db.QueryRow(ctx, `SELECT id FROM returns WHERE requested_by = $1 AND request_key = $2`, requester, key).Scan(&id)
	if errors.Is(err, sql.ErrNoRows) {
		return "", errs.E(errs.NotFound, "return_not_found", "return not found")
	}
	return id, err
}

// listFilter selects returns for ListReturns; zero fields do not filter.
type listFilter struct {
	Customer, Tenant, Order, State string
	// StateBefore keeps returns in their state since at least then.
	StateBefore time.Time
	// AfterCreated and AfterID continue a listing after the last return of a page (newest first).
	AfterCreated time.Time
	AfterID      string
	Limit        int32
}

// listReturnIDs lists the ids of the returns f selects, newest first.
func listReturnIDs(ctx context.Context, db *store.DB, f listFilter) ([]string, error) {
	q := `SELECT r.id FROM returns r JOIN rb_workflows w ON w.id = r.id WHERE 1 = 1`
	var args []any
	arg := func(v any) string { args = append(args, v); return fmt.Sprintf("$%d", len(args)) }
	for _, c := range []struct{ col, v string }{{"r.customer_id", f.Customer}, {"r.tenant", f.Tenant}, {"r.order_id", f.Order}, {"w.state", f.State}} {
		if c.v != "" {
			q += " AND " + c.col + " = " + arg(c.v)
		}
	}
	if !f.StateBefore.IsZero() {
		q += " AND w.state_since <= " + arg(f.StateBefore)
	}
	if f.AfterID != "" {
		q += fmt.Sprintf(" AND (r.created_at < %s OR (r.created_at = %s AND r.id < %s))", arg(f.AfterCreated), arg(f.AfterCreated), arg(f.AfterID))
	}
	q += " ORDER BY r.created_at DESC, r.id DESC LIMIT " + arg(f.Limit)
	rows, err := db.Query(ctx, q, args...)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var ids []string
	for rows.Next() {
		var id string
		if err := rows.Scan(&id); err != nil {
			return nil, err
		}
		ids = append(ids, id)
	}
	return ids, rows.Err()
}

func encodeCursor(at time.Time, id string) string {
	return base64.RawURLEncoding.EncodeToString([]byte(at.UTC().Format(time.RFC3339Nano) + "|" + id))
}

func decodeCursor(tok string) (time.Time, string, error) {
	b, err := base64.RawURLEncoding.DecodeString(tok)
	if err != nil {
		return time.Time{}, "", err
	}
	ts, id, ok := strings.Cut(string(b), "|")
	if !ok {
		return time.Time{}, "", errors.New("bad cursor")
	}
	at, err := time.Parse(time.RFC3339Nano, ts)
	return at, id, err
}
