package commerce

import (
	"context"
	"fmt"

	"github.com/retailbridge/retailbridge/pkg/errs"
	commercev1 "github.com/retailbridge/retailbridge/pkg/gen/retailbridge/system/commerce/v1"
)

// MaxInventoryLevels bounds the levels one read or set names.
const MaxInventoryLevels = 50

// maxInventoryQuantity is the platform's ceiling for one level (Shopify's).
const maxInventoryQuantity = 1_000_000_000

// defaultInventoryReason is the platform reason a set carries when the caller names none.
const defaultInventoryReason = "correction"

// GetInventoryLevels reads the platform's available quantity per SKU × platform location.
func (s *Service) GetInventoryLevels(ctx context.Context, req *commercev1.GetInventoryLevelsRequest) (*commercev1.GetInventoryLevelsResponse, error) {
	var bad []errs.FieldViolation
	if n := len(req.GetLevels()); n == 0 || n > MaxInventoryLevels {
		bad = append(bad, errs.FieldViolation{Field: "levels", Description: fmt.Sprintf("name 1..%d levels", MaxInventoryLevels)})
	}
	for i, k := range req.GetLevels() {
		checkID(&bad, fmt.Sprintf("levels[%d].sku", i), k.GetSku())
		checkID(&bad, fmt.Sprintf("levels[%d].location_id", i), k.GetLocationId())
	}
	if len(bad) > 0 {
		return nil, invalid(bad)
	}
	ctx, cancel := s.bound(ctx)
	defer cancel()
	levels, err := s.conn.InventoryLevels(ctx, req.GetLevels())
	if err != nil {
		return nil, classify(err)
	}
	return &commercev1.GetInventoryLevelsResponse{Levels: levels}, nil
}

// SetInventory sets available quantities with compare-and-set under the caller's idempotency key.
func (s *Service) SetInventory(ctx context.Context, req *commercev1.SetInventoryRequest) (*commercev1.SetInventoryResponse, error) {
	var bad []errs.FieldViolation
	checkKey(&bad, "idempotency_key", req.GetIdempotencyKey())
	if n := len(req.GetQuantities()); n == 0 || n > MaxInventoryLevels {
		bad = append(bad, errs.FieldViolation{Field: "quantities", Description: fmt.Sprintf("name 1..%d quantities", MaxInventoryLevels)})
	}
	for i, q := range req.GetQuantities() {
		f := fmt.Sprintf("quantities[%d]", i)
		checkID(&bad, f+".sku", q.GetSku())
		checkID(&bad, f+".location_id", q.GetLocationId())
		if q.GetQuantity() < 0 || q.GetQuantity() > maxInventoryQuantity {
			bad = append(bad, errs.FieldViolation{Field: f + ".quantity", Description: "must be 0..1000000000"})
		}
		if q.GetCompareQuantity() < 0 || q.GetCompareQuantity() > maxInventoryQuantity {
			bad = append(bad, errs.FieldViolation{Field: f + ".compare_quantity", Description: "must be 0..1000000000"})
		}
	}
	if len(req.GetReferenceDocumentUri()) > 255 {
		bad = append(bad, errs.FieldViolation{Field: "reference_document_uri", Description: "must be at most 255 characters"})
	}
	if len(bad) > 0 {
		return nil, invalid(bad)
	}
	if req.GetReason() == "" {
		req.Reason = defaultInventoryReason
	}
	ctx, cancel := s.bound(ctx)
	defer cancel()
	levels, err := s.conn.SetInventory(ctx, req)
	if err != nil {
		return nil, classify(err)
	}
	return &commercev1.SetInventoryResponse{Levels: levels}, nil
}

// ListVariants reads the catalogue's variants with their SKUs and inventory items.
func (s *Service) ListVariants(ctx context.Context, _ *commercev1.ListVariantsRequest) (*commercev1.ListVariantsResponse, error) {
	ctx, cancel := s.bound(ctx)
	defer cancel()
	variants, err := s.conn.ListVariants(ctx)
	if err != nil {
		return nil, classify(err)
	}
	return &commercev1.ListVariantsResponse{Variants: variants}, nil
}
