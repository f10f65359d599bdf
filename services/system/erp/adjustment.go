package erp

import (
	"context"

	"google.golang.org/protobuf/proto"

	canonicalv1 "github.com/retailbridge/retailbridge/pkg/gen/retailbridge/canonical/v1"
	erpv1 "github.com/retailbridge/retailbridge/pkg/gen/retailbridge/system/erp/v1"
)

// RecordInventoryAdjustment posts a write-off or vendor claim: the units leave the location's
// stock in the ERP.
func (s *Service) RecordInventoryAdjustment(ctx context.Context, req *erpv1.RecordInventoryAdjustmentRequest) (*erpv1.RecordInventoryAdjustmentResponse, error) {
	var v violations
	v.key("idempotency_key", req.GetIdempotencyKey())
	adj := req.GetAdjustment()
	if adj == nil {
		v.add("adjustment", "is required")
	} else {
		v.sku("adjustment.sku", adj.GetSku())
		v.id("adjustment.location_id", adj.GetLocationId(), true)
		v.quantity("adjustment.quantity", adj.GetQuantity())
		if len(adj.GetReason()) > 255 {
			v.add("adjustment.reason", "must be at most 255 characters")
		}
	}
	switch req.GetDisposition() {
	case canonicalv1.Disposition_DISPOSITION_WRITE_OFF, canonicalv1.Disposition_DISPOSITION_VENDOR_CLAIM:
	default:
		v.add("disposition", "must be DISPOSITION_WRITE_OFF or DISPOSITION_VENDOR_CLAIM")
	}
	if req.GetValue() != nil {
		v.money("value", req.GetValue())
	}
	if err := v.err(); err != nil {
		return nil, err
	}
	loc, err := s.erpLocation("adjustment.location_id", adj.GetLocationId())
	if err != nil {
		return nil, err
	}
	req = proto.CloneOf(req)
	req.Adjustment.LocationId = loc
	ctx, cancel := context.WithTimeout(ctx, s.timeout)
	defer cancel()
	resp, err := s.conn.RecordInventoryAdjustment(ctx, req)
	if err != nil {
		return nil, s.failed(ctx, "RecordInventoryAdjustment", err)
	}
	return resp, nil
}
