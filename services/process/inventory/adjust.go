package inventory

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"slices"
	"strings"
	"unicode/utf8"

	"google.golang.org/grpc/metadata"
	"google.golang.org/protobuf/proto"

	"github.com/retailbridge/retailbridge/pkg/auth"
	"github.com/retailbridge/retailbridge/pkg/errs"
	"github.com/retailbridge/retailbridge/pkg/store"

	canonicalv1 "github.com/retailbridge/retailbridge/pkg/gen/retailbridge/canonical/v1"
	inventoryv1 "github.com/retailbridge/retailbridge/pkg/gen/retailbridge/process/inventory/v1"
)

// Manual adjustments: customer service corrects a figure by hand (found stock, a loss, a
// damaged unit noticed in the store). The adjustment is one ledger movement with cause
// "manual_adjustment", its reason code and note as the reason, the agent as its actor and the
// request's correlation id, so it is explained line by line like any other movement and pushed
// to the storefront by the same pusher. The idempotency key is claimed in inventory_sources with
// a fingerprint of the request: a repeat answers the first movement and changes nothing, the
// same key with another adjustment is refused. The gateway's audit log records the request.

// causeManual is the ledger cause of a manual adjustment.
const causeManual = "manual_adjustment"

// maxNoteLength bounds a manual adjustment's note (the gateway's document says the same).
const maxNoteLength = 1000

// adjustReasons are the reason codes a manual adjustment may give; "other" needs a note.
var adjustReasons = []string{"found", "lost", "damaged", "theft", "count_correction", "data_correction", "other"}

// adjustableStates are the states a person may adjust. Reserved and committed units belong to
// reservations: changing them by hand would leave a hold that no longer adds up.
var adjustableStates = []canonicalv1.InventoryState{sellable, damaged, awaiting, qualityCtl, safetyStock, inTransit}

// errGoesNegative is an adjustment that would take its state below zero.
var errGoesNegative = errors.New("the adjustment would take the state below zero")

// AdjustInventory records a manual adjustment (see above).
func (s *Service) AdjustInventory(ctx context.Context, req *inventoryv1.AdjustInventoryRequest) (*inventoryv1.AdjustInventoryResponse, error) {
	if err := s.requireLedger(); err != nil {
		return nil, err
	}
	actor, err := adjuster(ctx)
	if err != nil {
		return nil, err
	}
	if req.GetIdempotencyKey() == "" {
		// Over HTTP the key is the request's Idempotency-Key header, which the gateway forwards.
		req = proto.CloneOf(req)
		req.IdempotencyKey = incomingKey(ctx)
	}
	state, err := validateAdjust(req)
	if err != nil {
		return nil, err
	}
	key, fp := "manual|"+req.GetIdempotencyKey(), adjustFingerprint(req, state)
	var resp *inventoryv1.AdjustInventoryResponse
	err = s.db.InTx(ctx, func(tx *store.Tx) error {
		resp = nil
		if err := lockPosition(ctx, tx, req.GetSku(), req.GetLocationId()); err != nil {
			return err
		}
		if prior, ok, err := priorAdjustment(ctx, tx, key); err != nil || ok {
			resp, err = replayAdjust(ctx, tx, req, state, prior, fp, err)
			return err
		}
		resp, err = s.applyAdjust(ctx, tx, req, state, actor, key, fp)
		return err
	})
	if errors.Is(err, errGoesNegative) || errors.Is(err, errInsufficient) {
		return nil, errs.E(errs.FailedPrecondition, "adjustment_below_zero", fmt.Sprintf(
			"%s of %s at %s would go below zero: the ledger holds fewer units than the adjustment removes",
			stateName(state), req.GetSku(), req.GetLocationId()))
	}
	if err != nil && store.IsUniqueViolation(err) {
		return nil, errs.E(errs.Conflict, "adjustment_in_flight", "an adjustment with this idempotency key is being recorded; retry")
	}
	return resp, err
}

// idempotencyKeyHeader is the gRPC metadata key the gateway forwards the Idempotency-Key in.
const idempotencyKeyHeader = "idempotency-key"

func incomingKey(ctx context.Context) string {
	md, _ := metadata.FromIncomingContext(ctx)
	if v := md.Get(idempotencyKeyHeader); len(v) > 0 {
		return strings.Trim(v[0], `"`)
	}
	return ""
}

// adjuster is the support agent making the adjustment, as the movement's actor.
func adjuster(ctx context.Context) (string, error) {
	p, ok := auth.FromContext(ctx)
	switch {
	case !ok:
		return "", errs.E(errs.Unauthenticated, "unauthenticated", "caller identity is missing")
	case p.Audience != auth.Support:
		return "", errs.E(errs.PermissionDenied, "support_only", "manual adjustments are for customer service")
	}
	return string(p.Audience) + ":" + p.Subject, nil
}

// validateAdjust names every bad field and returns the ledger state adjusted (on hand is
// sellable, as for the warehouse's adjustments).
func validateAdjust(req *inventoryv1.AdjustInventoryRequest) (canonicalv1.InventoryState, error) {
	var v violations
	v.checkID("sku", req.GetSku(), maxSKULength)
	v.checkID("location_id", req.GetLocationId(), maxLocationLen)
	v.checkID("idempotency_key", req.GetIdempotencyKey(), maxIDLength)
	state := req.GetState()
	if state == onHand {
		state = sellable
	}
	if !slices.Contains(adjustableStates, state) {
		v.addReason("state_not_adjustable", "state", "must be one of on hand, sellable, damaged, returned awaiting inspection, "+
			"quality control, safety stock or in transit (reserved and committed units change through reservations)")
	}
	switch c := req.GetChange().(type) {
	case *inventoryv1.AdjustInventoryRequest_Delta:
		if c.Delta == 0 || c.Delta > maxReserveUnits || c.Delta < -maxReserveUnits {
			v.add("delta", fmt.Sprintf("must be a non-zero number of units between -%d and %d", maxReserveUnits, maxReserveUnits))
		}
	case *inventoryv1.AdjustInventoryRequest_SetTo:
		if c.SetTo < 0 || c.SetTo > maxReserveUnits {
			v.add("set_to", fmt.Sprintf("must be between 0 and %d", maxReserveUnits))
		}
	default:
		v.add("delta", "one of delta and set_to is required")
	}
	if !slices.Contains(adjustReasons, req.GetReasonCode()) {
		v.addReason("unknown_reason_code", "reason_code", "must be one of "+strings.Join(adjustReasons, ", "))
	}
	if req.GetReasonCode() == "other" && strings.TrimSpace(req.GetNote()) == "" {
		v.add("note", "required when the reason code is other")
	}
	if utf8.RuneCountInString(req.GetNote()) > maxNoteLength {
		v.add("note", fmt.Sprintf("must be at most %d characters", maxNoteLength))
	}
	return state, v.err()
}

// adjustFingerprint identifies what an adjustment asks for, so a key reused for another one is
// told apart from a repeat.
func adjustFingerprint(req *inventoryv1.AdjustInventoryRequest, state canonicalv1.InventoryState) string {
	change := fmt.Sprintf("delta=%d", req.GetDelta())
	if _, ok := req.GetChange().(*inventoryv1.AdjustInventoryRequest_SetTo); ok {
		change = fmt.Sprintf("set_to=%d", req.GetSetTo())
	}
	sum := sha256.Sum256([]byte(strings.Join([]string{req.GetSku(), req.GetLocationId(), stateName(state), change,
		req.GetReasonCode(), req.GetNote()}, "\x00")))
	return "manual:" + hex.EncodeToString(sum[:12])
}

// adjustmentRecord is what a claimed key recorded.
type adjustmentRecord struct{ outcome, movementID string }

func priorAdjustment(ctx context.Context, tx *store.Tx, key string) (adjustmentRecord, bool, error) {
	var r adjustmentRecord
	err := tx.QueryRow(ctx, `SELECT outcome, movement_id FROM inventory_sources WHERE source_key = $1`, key).Scan(&r.outcome, &r.movementID)
	if isNoRows(err) {
		return r, false, nil
	}
	return r, err == nil, err
}

// replayAdjust answers a repeated key: the first movement and the state's figure now, or a
// refusal when the key was used for another adjustment.
func replayAdjust(ctx context.Context, tx *store.Tx, req *inventoryv1.AdjustInventoryRequest, state canonicalv1.InventoryState,
	prior adjustmentRecord, fp string, err error) (*inventoryv1.AdjustInventoryResponse, error) {
	if err != nil {
		return nil, err
	}
	if prior.outcome != fp {
		return nil, errs.E(errs.AlreadyExists, "idempotency_key_reused", "the idempotency key was used for a different adjustment")
	}
	resp := &inventoryv1.AdjustInventoryResponse{MovementId: prior.movementID, Replayed: true}
	if prior.movementID != "" {
		if err := tx.QueryRow(ctx, `SELECT COALESCE(SUM(delta), 0) FROM inventory_movements
			WHERE sku = $1 AND location_id = $2 AND state = $3 AND movement_id = $4`,
			req.GetSku(), req.GetLocationId(), stateName(state), prior.movementID).Scan(&resp.Delta); err != nil {
			return nil, err
		}
	}
	qs, err := stateQuantities(ctx, tx, req.GetSku(), req.GetLocationId())
	resp.Quantity = qs[state]
	return resp, err
}

// applyAdjust claims the key and records the movement; set_to becomes the delta from the
// state's figure read under the position's lock.
func (s *Service) applyAdjust(ctx context.Context, tx *store.Tx, req *inventoryv1.AdjustInventoryRequest, state canonicalv1.InventoryState,
	actor, key, fp string) (*inventoryv1.AdjustInventoryResponse, error) {
	current, err := lockedQuantity(ctx, tx, req.GetSku(), req.GetLocationId(), state)
	if err != nil {
		return nil, err
	}
	delta := req.GetDelta()
	if _, ok := req.GetChange().(*inventoryv1.AdjustInventoryRequest_SetTo); ok {
		delta = req.GetSetTo() - current
	}
	if current+delta < 0 {
		return nil, errGoesNegative
	}
	id := ""
	if delta != 0 {
		id = movementID(key)
	}
	if _, err := claimSource(ctx, tx, key, fp, id, s.now()); err != nil {
		return nil, err
	}
	resp := &inventoryv1.AdjustInventoryResponse{MovementId: id, Delta: delta, Quantity: current + delta}
	if delta == 0 {
		return resp, nil
	}
	reason := req.GetReasonCode()
	if note := strings.TrimSpace(req.GetNote()); note != "" {
		reason += ": " + note
	}
	return resp, s.ledger.record(ctx, tx, movement{id: id, sku: req.GetSku(), location: req.GetLocationId(),
		lines: []line{{state, delta}}, cause: causeManual, causeID: req.GetIdempotencyKey(), sourceRecordID: key,
		reason: reason, actor: actor, guard: []canonicalv1.InventoryState{state}})
}

// lockedQuantity reads one state's figure, holding its row against concurrent movements on
// PostgreSQL (SQLite has one writer).
func lockedQuantity(ctx context.Context, tx *store.Tx, sku, loc string, state canonicalv1.InventoryState) (int64, error) {
	query := `SELECT quantity FROM inventory_positions WHERE sku = $1 AND location_id = $2 AND state = $3`
	if tx.Dialect() == store.Postgres {
		query += ` FOR UPDATE`
	}
	var n int64
	err := tx.QueryRow(ctx, query, sku, loc, stateName(state)).Scan(&n)
	if isNoRows(err) {
		return 0, nil
	}
	return n, err
}
