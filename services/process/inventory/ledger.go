package inventory

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"google.golang.org/protobuf/types/known/anypb"
	"google.golang.org/protobuf/types/known/timestamppb"

	"github.com/retailbridge/retailbridge/pkg/errs"
	"github.com/retailbridge/retailbridge/pkg/events"
	canonicalv1 "github.com/retailbridge/retailbridge/pkg/gen/retailbridge/canonical/v1"
	"github.com/retailbridge/retailbridge/pkg/store"
	"github.com/retailbridge/retailbridge/pkg/telemetry"
)

// The ledger's states. ON_HAND is never a bucket of its own: it is the sum of the physical
// states, so a unit is counted in exactly one bucket.
const (
	sellable    = canonicalv1.InventoryState_INVENTORY_STATE_SELLABLE
	reserved    = canonicalv1.InventoryState_INVENTORY_STATE_RESERVED
	committed   = canonicalv1.InventoryState_INVENTORY_STATE_COMMITTED
	damaged     = canonicalv1.InventoryState_INVENTORY_STATE_DAMAGED
	awaiting    = canonicalv1.InventoryState_INVENTORY_STATE_RETURNED_AWAITING_INSPECTION
	qualityCtl  = canonicalv1.InventoryState_INVENTORY_STATE_QUALITY_CONTROL
	safetyStock = canonicalv1.InventoryState_INVENTORY_STATE_SAFETY_STOCK
	inTransit   = canonicalv1.InventoryState_INVENTORY_STATE_IN_TRANSIT
	onHand      = canonicalv1.InventoryState_INVENTORY_STATE_ON_HAND
)

// physicalStates are the buckets of units present at a location; on hand is their sum.
var physicalStates = []canonicalv1.InventoryState{sellable, reserved, committed, damaged, awaiting, qualityCtl, safetyStock}

// goodStock are the buckets a warehouse sees as pickable stock: the split among them (holds and
// allocations) is the ledger's own business, so a count corrects their total (see count.go).
var goodStock = []canonicalv1.InventoryState{sellable, reserved, committed}

// ledgerStates are every bucket the ledger keeps.
var ledgerStates = append(slices.Clone(physicalStates), inTransit)

// stateName is how a state is stored: "sellable", "returned_awaiting_inspection", …
func stateName(s canonicalv1.InventoryState) string {
	return strings.ToLower(strings.TrimPrefix(s.String(), "INVENTORY_STATE_"))
}

// stateOf reads a stored state name back.
func stateOf(name string) canonicalv1.InventoryState {
	return canonicalv1.InventoryState(canonicalv1.InventoryState_value["INVENTORY_STATE_"+strings.ToUpper(name)])
}

// line is one state's change within a movement.
type line struct {
	state canonicalv1.InventoryState
	delta int64
}

// movement is one business fact moving units into, out of or between states of one SKU at one
// location, with its cause.
type movement struct {
	id, sku, location string
	lines             []line
	// cause names the kind of fact (receipt, adjustment, count, shipment, return_received,
	// return_inspected, reservation, release, expiry, commit); causeID its id.
	cause, causeID, correlationID, sourceRecordID, reason string
	// actor is the person behind a manual adjustment ("support:<agent>"); empty otherwise.
	actor      string
	occurredAt time.Time
	// guard lists states the movement must not take below zero; the transaction fails with
	// errInsufficient (and rolls back) when it would.
	guard []canonicalv1.InventoryState
}

// errInsufficient reports a movement that would take a guarded state below zero.
var errInsufficient = errs.E(errs.FailedPrecondition, "insufficient_stock", "not enough units to hold")

// ledger appends movements and keeps the positions they sum to, in the caller's transaction,
// with a position-changed event in the outbox for each touched position.
type ledger struct {
	now    func() time.Time
	outbox *events.Outbox
	// lag observes each committed movement's delay from its source to the ledger.
	lag *prometheus.HistogramVec
}

// record appends m's lines to the ledger and adds them to the positions. Lines are applied in
// state order, so two transactions touching the same position lock its rows in the same order
// (no deadlock on PostgreSQL).
func (l *ledger) record(ctx context.Context, tx *store.Tx, m movement) error {
	if m.id == "" {
		m.id = telemetry.NewID()
	}
	if m.correlationID == "" {
		m.correlationID = telemetry.CorrelationID(ctx)
	}
	recordedAt := l.now().UTC()
	if m.occurredAt.IsZero() {
		m.occurredAt = recordedAt
	}
	m.occurredAt = m.occurredAt.UTC()
	lines := slices.Clone(m.lines)
	slices.SortFunc(lines, func(a, b line) int { return strings.Compare(stateName(a.state), stateName(b.state)) })
	changed := false
	for _, ln := range lines {
		if ln.delta == 0 {
			continue
		}
		if !slices.Contains(ledgerStates, ln.state) {
			return errs.E(errs.Internal, "invalid_state", fmt.Sprintf("the ledger keeps no %s bucket", ln.state))
		}
		changed = true
		if err := l.apply(ctx, tx, m, ln, recordedAt); err != nil {
			return err
		}
	}
	if !changed {
		return nil
	}
	if l.lag != nil {
		lag := recordedAt.Sub(m.occurredAt).Seconds()
		tx.AfterCommit(func() { l.lag.WithLabelValues(m.cause).Observe(max(lag, 0)) })
	}
	if l.outbox == nil {
		return nil
	}
	return l.announce(ctx, tx, m)
}

func (l *ledger) apply(ctx context.Context, tx *store.Tx, m movement, ln line, recordedAt time.Time) error {
	if _, err := tx.Exec(ctx, `INSERT INTO inventory_movements
		(movement_id, sku, location_id, state, delta, cause, cause_id, correlation_id, source_record_id, reason, occurred_at, recorded_at, actor)
		VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13)`,
		m.id, m.sku, m.location, stateName(ln.state), ln.delta, m.cause, m.causeID, m.correlationID,
		m.sourceRecordID, m.reason, m.occurredAt, recordedAt, m.actor); err != nil {
		return err
	}
	greatest := "max"
	if tx.Dialect() == store.Postgres {
		greatest = "GREATEST"
	}
	// The upsert adds to the row under its lock, so concurrent movements never lose an update.
	// Timestamps are stored in UTC, whose stored text sorts like the instant on SQLite.
	var qty int64
	err := tx.QueryRow(ctx, `INSERT INTO inventory_positions (sku, location_id, state, quantity, version, as_of)
		VALUES ($1, $2, $3, $4, 1, $5)
		ON CONFLICT (sku, location_id, state) DO UPDATE SET
			quantity = inventory_positions.quantity + excluded.quantity,
			version = inventory_positions.version + 1,
			as_of = `+greatest+`(inventory_positions.as_of, excluded.as_of)
		RETURNING quantity`, m.sku, m.location, stateName(ln.state), ln.delta, m.occurredAt).Scan(&qty)
	if err != nil {
		return err
	}
	if qty < 0 && slices.Contains(m.guard, ln.state) {
		return errInsufficient
	}
	return nil
}

// announce adds the position-changed event for m's position.
func (l *ledger) announce(ctx context.Context, tx *store.Tx, m movement) error {
	ps, err := readPositions(ctx, tx, positionFilter{skus: []string{m.sku}, locations: []string{m.location}})
	if err != nil {
		return err
	}
	if len(ps) == 0 {
		return nil
	}
	data, err := anypb.New(ps[0])
	if err != nil {
		return errs.Wrap(err, errs.Internal, "event_encode_failed", "")
	}
	return l.outbox.Add(ctx, tx, &canonicalv1.Event{
		Id:      "inventory:" + m.id,
		Source:  "retailbridge/process/inventory",
		Type:    events.TypeName(canonicalv1.EventType_EVENT_TYPE_INVENTORY_POSITION_CHANGED),
		Subject: "position/" + m.location + "/" + m.sku,
		Time:    timestamppb.New(m.occurredAt),
		Data:    data,
		References: &canonicalv1.EventReferences{
			SystemRecordId: m.sourceRecordID,
		},
	})
}

// claimSource records that the source record key was handled with outcome; it reports false when
// the key was handled before, so the caller changes nothing twice.
func claimSource(ctx context.Context, tx *store.Tx, key, outcome, movementID string, now time.Time) (bool, error) {
	res, err := tx.Exec(ctx, `INSERT INTO inventory_sources (source_key, outcome, movement_id, recorded_at)
		VALUES ($1, $2, $3, $4) ON CONFLICT (source_key) DO NOTHING`, key, outcome, movementID, now.UTC())
	if err != nil {
		return false, err
	}
	n, err := res.RowsAffected()
	return n == 1, err
}

// positionFilter selects positions; empty slices select everything.
type positionFilter struct {
	skus, locations []string
}

type querier interface {
	Query(ctx context.Context, query string, args ...any) (*sql.Rows, error)
}

// readPositions sums the position rows matching f into canonical positions (sorted by location,
// then SKU), on hand included as the sum of the physical states. version is the sum of the
// rows' versions, which grows with every movement.
func readPositions(ctx context.Context, q querier, f positionFilter) ([]*canonicalv1.InventoryPosition, error) {
	query := `SELECT sku, location_id, state, quantity, version, as_of FROM inventory_positions WHERE 1=1`
	var args []any
	query, args = inClause(query, args, "sku", f.skus)
	query, args = inClause(query, args, "location_id", f.locations)
	rows, err := q.Query(ctx, query+` ORDER BY location_id, sku, state`, args...)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []*canonicalv1.InventoryPosition
	var cur *canonicalv1.InventoryPosition
	for rows.Next() {
		var sku, loc, state string
		var qty, version int64
		var asOf time.Time
		if err := rows.Scan(&sku, &loc, &state, &qty, &version, &asOf); err != nil {
			return nil, err
		}
		if cur == nil || cur.Sku != sku || cur.LocationId != loc {
			cur = &canonicalv1.InventoryPosition{Sku: sku, LocationId: loc,
				Quantities: []*canonicalv1.InventoryQuantity{{State: onHand}}}
			out = append(out, cur)
		}
		st := stateOf(state)
		cur.Quantities = append(cur.Quantities, &canonicalv1.InventoryQuantity{State: st, Quantity: qty})
		if slices.Contains(physicalStates, st) {
			cur.Quantities[0].Quantity += qty
		}
		cur.Version += version
		if cur.AsOf == nil || asOf.After(cur.AsOf.AsTime()) {
			cur.AsOf = timestamppb.New(asOf.UTC())
		}
	}
	return out, rows.Err()
}

// inClause appends "AND col IN (…)" for vals (nothing when empty).
func inClause(query string, args []any, col string, vals []string) (string, []any) {
	if len(vals) == 0 {
		return query, args
	}
	ph := make([]string, len(vals))
	for i, v := range vals {
		args = append(args, v)
		ph[i] = fmt.Sprintf("$%d", len(args))
	}
	return query + " AND " + col + " IN (" + strings.Join(ph, ", ") + ")", args
}

// stateQuantities reads the current quantity of every state of sku at loc.
func stateQuantities(ctx context.Context, q querier, sku, loc string) (map[canonicalv1.InventoryState]int64, error) {
	rows, err := q.Query(ctx, `SELECT state, quantity FROM inventory_positions WHERE sku = $1 AND location_id = $2`, sku, loc)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	out := map[canonicalv1.InventoryState]int64{}
	for rows.Next() {
		var st string
		var n int64
		if err := rows.Scan(&st, &n); err != nil {
			return nil, err
		}
		out[stateOf(st)] = n
	}
	return out, rows.Err()
}

// isNoRows reports sql.ErrNoRows.
func isNoRows(err error) bool { return errors.Is(err, sql.ErrNoRows) }
