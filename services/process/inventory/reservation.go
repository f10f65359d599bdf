package inventory

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"time"

	"google.golang.org/protobuf/types/known/timestamppb"

	"github.com/retailbridge/retailbridge/pkg/errs"
	"github.com/retailbridge/retailbridge/pkg/store"

	canonicalv1 "github.com/retailbridge/retailbridge/pkg/gen/retailbridge/canonical/v1"
	inventoryv1 "github.com/retailbridge/retailbridge/pkg/gen/retailbridge/process/inventory/v1"
)

// Reservation statuses. A hold is "held" until it is committed, released or expires; a committed
// reservation ends "shipped" or "released".
const (
	statusHeld      = "held"
	statusCommitted = "committed"
	statusReleased  = "released"
	statusExpired   = "expired"
	statusShipped   = "shipped"
)

// reservation is one row of inventory_reservations.
type reservation struct {
	id, key, orderID, sku, location, channel, status string
	quantity                                         int64
	expiresAt                                        time.Time
}

func hashID(s string) string {
	sum := sha256.Sum256([]byte(s))
	return hex.EncodeToString(sum[:12])
}

// Reserve holds units of a SKU for an order at one location. The idempotency key makes a repeat
// return the first answer; a repeat that asks for something else is refused. Units are taken
// from sellable under the position row's lock, so concurrent holds never take more than there
// is, across replicas sharing the store. With no location given, locations that sell to the
// channel are tried, the one with the most sellable units first.
func (s *Service) Reserve(ctx context.Context, req *inventoryv1.ReserveRequest) (*inventoryv1.ReserveResponse, error) {
	if err := s.requireLedger(); err != nil {
		return nil, err
	}
	if err := validateReserve(req); err != nil {
		return nil, err
	}
	if r, ok, err := s.reservationByKey(ctx, s.db, req.GetIdempotencyKey()); err != nil || ok {
		s.metrics.reservations.WithLabelValues("replayed").Inc()
		return s.replayReserve(r, req, err)
	}
	candidates, err := s.reserveCandidates(ctx, req)
	if err != nil {
		return nil, err
	}
	ttl := s.cfg.ReservationTTL
	if req.GetTtl() != nil && req.GetTtl().AsDuration() > 0 {
		ttl = min(req.GetTtl().AsDuration(), s.cfg.MaxReservationTTL)
	}
	for _, loc := range candidates {
		r, err := s.tryReserve(ctx, req, loc, ttl)
		switch {
		case err == nil:
			s.metrics.reservations.WithLabelValues("granted").Inc()
			return reserveResponse(r), nil
		case errors.Is(err, errInsufficient):
			continue
		case store.IsUniqueViolation(err):
			// A concurrent request with the same key won: answer what it recorded.
			r, ok, rerr := s.reservationByKey(ctx, s.db, req.GetIdempotencyKey())
			if rerr == nil && !ok {
				rerr = err
			}
			return s.replayReserve(r, req, rerr)
		default:
			return nil, err
		}
	}
	s.metrics.reservations.WithLabelValues("insufficient").Inc()
	return nil, errs.E(errs.FailedPrecondition, "insufficient_stock",
		fmt.Sprintf("not enough sellable units of %s to hold %d", req.GetSku(), req.GetQuantity()))
}

// replayReserve answers a repeated Reserve from the reservation its key made.
func (s *Service) replayReserve(r reservation, req *inventoryv1.ReserveRequest, err error) (*inventoryv1.ReserveResponse, error) {
	if err != nil {
		return nil, err
	}
	if r.orderID != req.GetOrderId() || r.sku != req.GetSku() || r.quantity != req.GetQuantity() ||
		(req.GetLocationId() != "" && r.location != req.GetLocationId()) {
		return nil, errs.E(errs.AlreadyExists, "idempotency_key_reused",
			"the idempotency key was used for a different reservation")
	}
	return reserveResponse(r), nil
}

func reserveResponse(r reservation) *inventoryv1.ReserveResponse {
	return &inventoryv1.ReserveResponse{ReservationId: r.id, LocationId: r.location, ExpiresAt: timestamppb.New(r.expiresAt)}
}

// tryReserve holds the units at loc in one transaction: the reservation row and the movement
// sellable → reserved, which fails with errInsufficient when sellable would go below zero.
func (s *Service) tryReserve(ctx context.Context, req *inventoryv1.ReserveRequest, loc string, ttl time.Duration) (reservation, error) {
	now := s.now().UTC()
	r := reservation{id: "res-" + hashID(req.GetIdempotencyKey()), key: req.GetIdempotencyKey(), orderID: req.GetOrderId(),
		sku: req.GetSku(), location: loc, channel: req.GetChannel(), status: statusHeld, quantity: req.GetQuantity(),
		expiresAt: now.Add(ttl)}
	err := s.db.InTx(ctx, func(tx *store.Tx) error {
		if _, err := tx.Exec(ctx, `INSERT INTO inventory_reservations
			(id, idempotency_key, order_id, sku, location_id, channel, quantity, status, expires_at, created_at, updated_at)
			VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $10)`,
			r.id, r.key, r.orderID, r.sku, r.location, r.channel, r.quantity, r.status, r.expiresAt, now); err != nil {
			return err
		}
		return s.ledger.record(ctx, tx, movement{id: r.id + "-hold", sku: r.sku, location: loc,
			lines: []line{{sellable, -r.quantity}, {reserved, r.quantity}}, cause: "reservation", causeID: r.orderID,
			sourceRecordID: r.id, reason: "hold for order " + r.orderID, occurredAt: now, guard: []canonicalv1.InventoryState{sellable}})
	})
	return r, err
}

// Commit allocates a held reservation: its units move from reserved to committed and no longer
// expire. Committing a committed reservation again changes nothing; an expired or released one
// cannot be committed.
func (s *Service) Commit(ctx context.Context, req *inventoryv1.CommitRequest) (*inventoryv1.CommitResponse, error) {
	if err := s.requireLedger(); err != nil {
		return nil, err
	}
	err := s.transition(ctx, req.GetReservationId(), func(r reservation) (string, []line, error) {
		switch r.status {
		case statusHeld:
			return statusCommitted, []line{{reserved, -r.quantity}, {committed, r.quantity}}, nil
		case statusCommitted, statusShipped:
			return "", nil, nil
		}
		return "", nil, errs.E(errs.FailedPrecondition, "reservation_"+r.status, "the reservation was "+r.status+" and cannot be committed")
	}, "commit")
	if err != nil {
		return nil, err
	}
	return &inventoryv1.CommitResponse{}, nil
}

// Release frees a reservation, held or committed: its units return to sellable, once. Releasing
// one that was released, expired or shipped changes nothing.
func (s *Service) Release(ctx context.Context, req *inventoryv1.ReleaseRequest) (*inventoryv1.ReleaseResponse, error) {
	if err := s.requireLedger(); err != nil {
		return nil, err
	}
	err := s.transition(ctx, req.GetReservationId(), func(r reservation) (string, []line, error) {
		switch r.status {
		case statusHeld:
			return statusReleased, []line{{reserved, -r.quantity}, {sellable, r.quantity}}, nil
		case statusCommitted:
			return statusReleased, []line{{committed, -r.quantity}, {sellable, r.quantity}}, nil
		}
		return "", nil, nil
	}, "release")
	if err != nil {
		return nil, err
	}
	return &inventoryv1.ReleaseResponse{}, nil
}

// transition moves a reservation to the status decide returns, with its lines, in one
// transaction. The status update is conditional on the status read, so two replicas (or a
// release racing the expiry sweeper) apply a transition once: the loser updates no row and
// changes nothing.
func (s *Service) transition(ctx context.Context, id string, decide func(reservation) (string, []line, error), cause string) error {
	if id == "" {
		return errs.E(errs.Invalid, "invalid_request", "the request has invalid fields").
			WithFields(errs.FieldViolation{Field: "reservation_id", Description: "required"})
	}
	return s.db.InTx(ctx, func(tx *store.Tx) error {
		r, ok, err := s.reservationByID(ctx, tx, id)
		if err != nil {
			return err
		}
		if !ok {
			return errs.E(errs.NotFound, "reservation_not_found", "reservation "+id+" not found")
		}
		next, lines, err := decide(r)
		if err != nil || next == "" {
			return err
		}
		_, err = s.moveReservation(ctx, tx, r, next, lines, cause)
		return err
	})
}

// moveReservation sets r's status from what was read to next and records the lines; it does
// nothing (and reports false) when another transaction changed the status first.
func (s *Service) moveReservation(ctx context.Context, tx *store.Tx, r reservation, next string, lines []line, cause string) (bool, error) {
	now := s.now().UTC()
	res, err := tx.Exec(ctx, `UPDATE inventory_reservations SET status = $1, updated_at = $2 WHERE id = $3 AND status = $4`,
		next, now, r.id, r.status)
	if err != nil {
		return false, err
	}
	if n, err := res.RowsAffected(); err != nil || n == 0 {
		return false, err
	}
	return true, s.ledger.record(ctx, tx, movement{id: r.id + "-" + cause, sku: r.sku, location: r.location, lines: lines,
		cause: cause, causeID: r.orderID, sourceRecordID: r.id, reason: r.status + " -> " + next, occurredAt: now})
}

const reservationColumns = `id, idempotency_key, order_id, sku, location_id, channel, quantity, status, expires_at`

type rowScanner interface{ Scan(dest ...any) error }

func scanReservation(row rowScanner) (reservation, error) {
	var r reservation
	err := row.Scan(&r.id, &r.key, &r.orderID, &r.sku, &r.location, &r.channel, &r.quantity, &r.status, &r.expiresAt)
	return r, err
}

func (s *Service) reservationByKey(ctx context.Context, db *store.DB, key string) (reservation, bool, error) {
	r, err := scanReservation(db.QueryRow(ctx, `SELECT `+reservationColumns+` FROM inventory_reservations WHERE idempotency_key = $1`, key))
	if isNoRows(err) {
		return r, false, nil
	}
	return r, err == nil, err
}

func (s *Service) reservationByID(ctx context.Context, tx *store.Tx, id string) (reservation, bool, error) {
	r, err := scanReservation(tx.QueryRow(ctx, `SELECT `+reservationColumns+` FROM inventory_reservations WHERE id = $1`, id))
	if isNoRows(err) {
		return r, false, nil
	}
	return r, err == nil, err
}

// releaseOrder releases every open reservation (held or committed) of a cancelled order, so its
// units return to sellable now rather than at expiry. The order-to-cash process may release them
// itself too: a release is applied once either way.
func (s *Service) releaseOrder(ctx context.Context, tx *store.Tx, orderID string) error {
	if orderID == "" {
		return nil
	}
	rows, err := tx.Query(ctx, `SELECT `+reservationColumns+` FROM inventory_reservations
		WHERE order_id = $1 AND status IN ($2, $3) ORDER BY id`, orderID, statusHeld, statusCommitted)
	if err != nil {
		return err
	}
	var open []reservation
	for rows.Next() {
		r, err := scanReservation(rows)
		if err != nil {
			rows.Close()
			return err
		}
		open = append(open, r)
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return err
	}
	for _, r := range open {
		from := reserved
		if r.status == statusCommitted {
			from = committed
		}
		if _, err := s.moveReservation(ctx, tx, r, statusReleased, []line{{from, -r.quantity}, {sellable, r.quantity}}, "release"); err != nil {
			return err
		}
	}
	return nil
}
