package oms

import (
	"context"
	"strings"

	"github.com/retailbridge/retailbridge/pkg/errs"
	omsv1 "github.com/retailbridge/retailbridge/pkg/gen/retailbridge/system/oms/v1"
)

// AvailabilitySetter is what a connector implements to serve SetAvailability: the OMS takes the
// inventory process's promisable units per location as its own positions, so it sources orders
// from the same figures the inventory process reserves against. A vendor without it answers
// Unimplemented, and the OMS keeps sourcing from its own feed.
type AvailabilitySetter interface {
	SetAvailability(ctx context.Context, figures []*omsv1.LocationAvailability, idempotencyKey string) (string, error)
}

// maxAvailabilityFigures bounds one update (Fluent takes batches of a few hundred entities).
const maxAvailabilityFigures = 500

// SetAvailability replaces the OMS's positions of the given SKUs at the given locations.
func (s *Service) SetAvailability(ctx context.Context, req *omsv1.SetAvailabilityRequest) (*omsv1.SetAvailabilityResponse, error) {
	setter, ok := s.conn.(AvailabilitySetter)
	if !ok {
		return nil, errs.E(errs.Unimplemented, "not_implemented", "the configured OMS does not take availability")
	}
	var bad []errs.FieldViolation
	if n := len(req.GetAvailability()); n == 0 || n > maxAvailabilityFigures {
		bad = append(bad, errs.FieldViolation{Field: "availability", Description: "1 to 500 figures"})
	}
	for _, a := range req.GetAvailability() {
		if strings.TrimSpace(a.GetLocationId()) == "" || strings.TrimSpace(a.GetSku()) == "" || a.GetAvailable() < 0 {
			bad = append(bad, errs.FieldViolation{Field: "availability", Description: "each figure needs a location, a SKU and a non-negative quantity"})
			break
		}
	}
	if k := req.GetIdempotencyKey(); k == "" || len(k) > 255 {
		bad = append(bad, errs.FieldViolation{Field: "idempotency_key", Description: "required, at most 255 characters"})
	}
	if len(bad) > 0 {
		return nil, invalid(bad)
	}
	ctx, cancel := context.WithTimeout(ctx, s.timeout)
	defer cancel()
	id, err := setter.SetAvailability(ctx, req.GetAvailability(), req.GetIdempotencyKey())
	if err != nil {
		return nil, s.failed(ctx, "SetAvailability", err)
	}
	return &omsv1.SetAvailabilityResponse{UpdateId: id}, nil
}
