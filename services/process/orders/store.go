package orders

import (
	"context"
	"database/sql"
	"embed"
	"errors"
	"fmt"
	"strings"
	"time"

	"google.golang.org/protobuf/encoding/protojson"
	"google.golang.org/protobuf/proto"

	canonicalv1 "github.com/retailbridge/retailbridge/pkg/gen/retailbridge/canonical/v1"
	"github.com/retailbridge/retailbridge/pkg/store"
	"github.com/retailbridge/retailbridge/pkg/workflow"
)

// The order store is the canonical copy of every order the commerce platform created or
// changed: the version in force (the newest by the vendor's updated_at) and every version and
// fact received (history). It is fed by the commerce events (feed.go), repaired by the poller
// (poller.go), and serves every read (read.go). Migrations of the owner "orders" with odd
// numbers are the store's.

//go:embed migrations/*.sql
var storeMigrations embed.FS

// migrateStore applies the orders owner's migrations. The workflow's tables come first: the
// owner's search indexes (0014) cover the order workflow's data and history.
func migrateStore(ctx context.Context, db *store.DB) error {
	if err := workflow.Migrate(ctx, db); err != nil {
		return err
	}
	return db.Migrate(ctx, "orders", storeMigrations)
}

// Kinds of history rows: what the vendor reported.
const (
	kindCreated     = "order.created"
	kindUpdated     = "order.updated"
	kindCancelled   = "order.cancelled"
	kindFulfillment = "fulfillment.updated"
	kindRefund      = "refund.created"
)

// How a version reached the store.
const (
	viaWebhook = "webhook"
	viaPoll    = "poll"
	viaRead    = "read"
)

// version is one version of an order (or a fact about it) as received.
type version struct {
	orderID   string
	order     *canonicalv1.Order // nil for a fact (a fulfilment or a refund)
	fact      proto.Message      // the fact's canonical message, for history
	factID    string             // the fact's own id (fulfilment or refund id)
	kind      string
	via       string
	updatedAt time.Time // the vendor's updated_at (the fact's time for a fact)
	eventID   string
}

// key identifies the version in history: the same version received twice (a duplicate
// delivery, a webhook and then the poll that saw it) is one row.
func (v version) key() string {
	us := fmt.Sprint(v.updatedAt.UnixMicro())
	switch v.kind {
	case kindCancelled:
		return "cancelled@" + us
	case kindFulfillment, kindRefund:
		return v.kind + ":" + v.factID + "@" + us
	}
	return "order@" + us
}

// storedOrder is an order as the store holds it.
type storedOrder struct {
	order       *canonicalv1.Order
	confirmedAt time.Time
	changedAt   time.Time
	cancelledAt *time.Time
}

// orderStore reads and writes the store's tables.
type orderStore struct {
	db  *store.DB
	now func() time.Time
}

var jsonOpts = protojson.MarshalOptions{UseProtoNames: true}

// apply records v in history and makes it the version in force when it is newer than the one
// there; an equal version confirms it (as_of moves), an older one is kept in history only. It
// reports whether the version in force changed. Duplicates change nothing twice.
func (s *orderStore) apply(ctx context.Context, tx *store.Tx, v version) (bool, error) {
	r, err := s.applyVersion(ctx, tx, v)
	return r.changed, err
}

// applied is what applying a version did.
type applied struct {
	changed bool // the version in force changed
	// tied: a webhook carried the updated_at in force with other content. Shopify's updated_at
	// has a resolution of one second, so two changes within one second (a return closed and its
	// refund) reach us as one version: which delivery is the later is unknowable, and only a read
	// of the platform settles it.
	tied bool
}

// applyVersion is apply, also saying whether a webhook tied with the version in force.
func (s *orderStore) applyVersion(ctx context.Context, tx *store.Tx, v version) (applied, error) {
	now := s.now().UnixMicro()
	msg := proto.Message(v.order)
	if msg == nil || v.order == nil {
		msg = v.fact
	}
	payload, err := jsonOpts.Marshal(msg)
	if err != nil {
		return applied{}, err
	}
	var r applied
	if v.order != nil {
		if r.changed, err = s.upsert(ctx, tx, v, string(payload), now); err != nil {
			return applied{}, err
		}
		if !r.changed && v.via == viaWebhook {
			if r.tied, err = s.tiesWith(ctx, tx, v, string(payload)); err != nil {
				return applied{}, err
			}
		}
	}
	inForce := 0
	if r.changed {
		inForce = 1
	}
	_, err = tx.Exec(ctx, `INSERT INTO order_store_history
		(order_id, version_key, kind, via, updated_us, received_us, applied, event_id, payload)
		VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9) ON CONFLICT (order_id, version_key) DO NOTHING`,
		v.orderID, v.key(), v.kind, v.via, v.updatedAt.UnixMicro(), now, inForce, v.eventID, string(payload))
	return r, err
}

// tiesWith reports whether the store holds v's updated_at with other content than payload, and
// payload is not a copy of the first delivery of that updated_at (a duplicate brings nothing new).
func (s *orderStore) tiesWith(ctx context.Context, tx *store.Tx, v version, payload string) (bool, error) {
	var n int
	err := tx.QueryRow(ctx, `SELECT COUNT(*) FROM order_store o WHERE o.order_id = $1 AND o.updated_us = $2 AND o.payload <> $3
		AND NOT EXISTS (SELECT 1 FROM order_store_history h WHERE h.order_id = $1 AND h.version_key = $4 AND h.payload = $3)`,
		v.orderID, v.updatedAt.UnixMicro(), payload, v.key()).Scan(&n)
	return n > 0, err
}

// upsert makes v the version in force when it is newer (one statement, so concurrent writers on
// PostgreSQL cannot both win), or confirms it when it is the same version.
func (s *orderStore) upsert(ctx context.Context, tx *store.Tx, v version, payload string, now int64) (bool, error) {
	var cancelled any
	if v.kind == kindCancelled {
		cancelled = v.updatedAt.UnixMicro()
	}
	// The vendor's updated_at has a resolution of one second, so two changes within a second are
	// one version to a webhook. A poll or a read is the vendor's state now: at an equal updated_at
	// it replaces what a webhook left, so the repair poll settles such a tie within its bound.
	current := 0
	if v.via != viaWebhook {
		current = 1
	}
	o := v.order
	res, err := tx.Exec(ctx, `INSERT INTO order_store
		(order_id, customer_id, source, created_us, updated_us, cancelled_us, payload, confirmed_us, changed_us, verified)
		VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $8, $9)
		ON CONFLICT (order_id) DO UPDATE SET customer_id = excluded.customer_id, source = excluded.source,
			created_us = excluded.created_us, updated_us = excluded.updated_us,
			cancelled_us = COALESCE(excluded.cancelled_us, order_store.cancelled_us),
			payload = excluded.payload, confirmed_us = excluded.confirmed_us, changed_us = excluded.changed_us,
			verified = excluded.verified
		WHERE order_store.updated_us < excluded.updated_us
			OR ($9 = 1 AND order_store.updated_us = excluded.updated_us AND order_store.payload <> excluded.payload)`,
		v.orderID, o.GetCustomer().GetId(), o.GetSource(), o.GetCreatedAt().AsTime().UnixMicro(),
		v.updatedAt.UnixMicro(), cancelled, payload, now, current)
	if err != nil {
		return false, err
	}
	if n, _ := res.RowsAffected(); n > 0 {
		return true, nil
	}
	// Not newer: the same version confirms what is there (and may add the cancellation the
	// orders/cancelled delivery reports at the same updated_at); an older one changes nothing.
	res, err = tx.Exec(ctx, `UPDATE order_store SET
			confirmed_us = CASE WHEN confirmed_us < $3 THEN $3 ELSE confirmed_us END,
			changed_us = CASE WHEN cancelled_us IS NULL AND CAST($4 AS BIGINT) IS NOT NULL THEN $3 ELSE changed_us END,
			cancelled_us = COALESCE(cancelled_us, CAST($4 AS BIGINT)),
			verified = CASE WHEN $5 = 1 THEN 1 ELSE verified END
		WHERE order_id = $1 AND updated_us = $2`, v.orderID, v.updatedAt.UnixMicro(), now, cancelled, current)
	if err != nil {
		return false, err
	}
	n, _ := res.RowsAffected()
	return n > 0 && cancelled != nil, nil
}

// put stores a version read from the vendor outside any consumer (poll, fallback read).
func (s *orderStore) put(ctx context.Context, v version) (bool, error) {
	var changed bool
	err := s.db.InTx(ctx, func(tx *store.Tx) error {
		var err error
		changed, err = s.apply(ctx, tx, v)
		return err
	})
	return changed, err
}

const storedColumns = `payload, confirmed_us, changed_us, cancelled_us`

func scanStored(row interface{ Scan(...any) error }) (storedOrder, error) {
	var payload string
	var confirmed, changed int64
	var cancelled sql.NullInt64
	if err := row.Scan(&payload, &confirmed, &changed, &cancelled); err != nil {
		return storedOrder{}, err
	}
	o := &canonicalv1.Order{}
	if err := protojson.Unmarshal([]byte(payload), o); err != nil {
		return storedOrder{}, fmt.Errorf("order store: unreadable payload: %w", err)
	}
	so := storedOrder{order: o, confirmedAt: time.UnixMicro(confirmed).UTC(), changedAt: time.UnixMicro(changed).UTC()}
	if cancelled.Valid {
		t := time.UnixMicro(cancelled.Int64).UTC()
		so.cancelledAt = &t
	}
	return so, nil
}

// get reads one order; ok is false for an order the store does not hold.
func (s *orderStore) get(ctx context.Context, id string) (storedOrder, bool, error) {
	so, err := scanStored(s.db.QueryRow(ctx, `SELECT `+storedColumns+` FROM order_store WHERE order_id = $1`, id))
	if errors.Is(err, sql.ErrNoRows) {
		return storedOrder{}, false, nil
	}
	return so, err == nil, err
}

// query runs a listing query and reads its rows.
func (s *orderStore) query(ctx context.Context, q string, args ...any) ([]storedOrder, error) {
	rows, err := s.db.Query(ctx, q, args...)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []storedOrder
	for rows.Next() {
		so, err := scanStored(rows)
		if err != nil {
			return nil, err
		}
		out = append(out, so)
	}
	return out, rows.Err()
}

// in is "col IN ($n, …)" for values, appending them to args.
func in(col string, values []string, args *[]any) string {
	ph := make([]string, len(values))
	for i, v := range values {
		*args = append(*args, v)
		ph[i] = fmt.Sprintf("$%d", len(*args))
	}
	return col + " IN (" + strings.Join(ph, ", ") + ")"
}

// historyRow is one received version, for support and tests.
type historyRow struct {
	Kind, Via, EventID  string
	UpdatedAt, Received time.Time
	Applied             bool
}

// history lists an order's received versions, oldest vendor time first.
func (s *orderStore) history(ctx context.Context, id string) ([]historyRow, error) {
	rows, err := s.db.Query(ctx, `SELECT kind, via, event_id, updated_us, received_us, applied
		FROM order_store_history WHERE order_id = $1 ORDER BY updated_us, received_us, version_key`, id)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []historyRow
	for rows.Next() {
		var h historyRow
		var up, rec int64
		var applied int
		if err := rows.Scan(&h.Kind, &h.Via, &h.EventID, &up, &rec, &applied); err != nil {
			return nil, err
		}
		h.UpdatedAt, h.Received, h.Applied = time.UnixMicro(up).UTC(), time.UnixMicro(rec).UTC(), applied == 1
		out = append(out, h)
	}
	return out, rows.Err()
}

// watermark reads the poller's watermark; ok is false before the first complete sweep.
func (s *orderStore) watermark(ctx context.Context, name string) (time.Time, bool, error) {
	var us int64
	err := s.db.QueryRow(ctx, `SELECT watermark_us FROM order_store_watermarks WHERE name = $1`, name).Scan(&us)
	if errors.Is(err, sql.ErrNoRows) {
		return time.Time{}, false, nil
	}
	return time.UnixMicro(us).UTC(), err == nil, err
}

// setWatermark moves the watermark (never backwards).
func (s *orderStore) setWatermark(ctx context.Context, name string, at time.Time) error {
	_, err := s.db.Exec(ctx, `INSERT INTO order_store_watermarks (name, watermark_us, polled_us) VALUES ($1, $2, $3)
		ON CONFLICT (name) DO UPDATE SET polled_us = excluded.polled_us,
			watermark_us = CASE WHEN order_store_watermarks.watermark_us < excluded.watermark_us
				THEN excluded.watermark_us ELSE order_store_watermarks.watermark_us END`,
		name, at.UnixMicro(), s.now().UnixMicro())
	return err
}

// carryReturned copies each line's returned quantity from the stored version into o, a version
// from a webhook: Shopify's order webhooks do not carry returns, so without this an orders/updated
// would reset returned quantities that a poll or read had stored, and return eligibility would
// offer units already on their way back.
func (s *orderStore) carryReturned(ctx context.Context, tx *store.Tx, o *canonicalv1.Order) error {
	var payload string
	err := tx.QueryRow(ctx, `SELECT payload FROM order_store WHERE order_id = $1`, o.GetId()).Scan(&payload)
	if errors.Is(err, sql.ErrNoRows) {
		return nil
	}
	if err != nil {
		return err
	}
	prev := &canonicalv1.Order{}
	if err := protojson.Unmarshal([]byte(payload), prev); err != nil {
		return fmt.Errorf("order store: unreadable payload: %w", err)
	}
	returned := map[string]int32{}
	for _, l := range prev.GetLines() {
		returned[l.GetId()] = l.GetReturnedQuantity()
	}
	for _, l := range o.GetLines() {
		if l.GetReturnedQuantity() == 0 {
			l.ReturnedQuantity = returned[l.GetId()]
		}
	}
	return nil
}

// heldVersion is what the store holds of an order: its vendor updated_at and whether that
// version was read from the platform.
type heldVersion struct {
	updatedAt time.Time
	verified  bool
}

// held reads the versions the store holds of ids.
func (s *orderStore) held(ctx context.Context, ids []string) (map[string]heldVersion, error) {
	out := make(map[string]heldVersion, len(ids))
	if len(ids) == 0 {
		return out, nil
	}
	var args []any
	rows, err := s.db.Query(ctx, `SELECT order_id, updated_us, verified FROM order_store WHERE `+in("order_id", ids, &args), args...)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	for rows.Next() {
		var id string
		var us int64
		var verified int
		if err := rows.Scan(&id, &us, &verified); err != nil {
			return nil, err
		}
		out[id] = heldVersion{updatedAt: time.UnixMicro(us).UTC(), verified: verified == 1}
	}
	return out, rows.Err()
}

// confirm records that the platform still reports the version in force (as_of moves).
func (s *orderStore) confirm(ctx context.Context, id string, updatedAt time.Time) error {
	now := s.now().UnixMicro()
	_, err := s.db.Exec(ctx, `UPDATE order_store SET confirmed_us = CASE WHEN confirmed_us < $3 THEN $3 ELSE confirmed_us END
		WHERE order_id = $1 AND updated_us = $2`, id, updatedAt.UnixMicro(), now)
	return err
}

// fedByEvent reports whether an event brought the order: a version from a webhook or the poll
// (not only from reading the platform), or an orders/create the poll published for it.
func (s *orderStore) fedByEvent(ctx context.Context, id string) (bool, error) {
	var n int
	err := s.db.QueryRow(ctx, `SELECT (SELECT COUNT(*) FROM order_store_history WHERE order_id = $1 AND via <> $2)
		+ (SELECT COUNT(*) FROM order_store_poll_created WHERE order_id = $1)`, id, viaRead).Scan(&n)
	return n > 0, err
}

// pollCreated records that the poll published the order's orders/create.
func (s *orderStore) pollCreated(ctx context.Context, id, eventID string) error {
	_, err := s.db.Exec(ctx, `INSERT INTO order_store_poll_created (order_id, event_id, published_us) VALUES ($1, $2, $3)
		ON CONFLICT (order_id) DO NOTHING`, id, eventID, s.now().UnixMicro())
	return err
}
