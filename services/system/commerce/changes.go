package commerce

import (
	"context"
	"time"

	"github.com/retailbridge/retailbridge/pkg/errs"
	canonicalv1 "github.com/retailbridge/retailbridge/pkg/gen/retailbridge/canonical/v1"
	commercev1 "github.com/retailbridge/retailbridge/pkg/gen/retailbridge/system/commerce/v1"
)

// Page sizes of ListOrderChanges.
const (
	DefaultChangesPageSize = 100
	MaxChangesPageSize     = 250
)

// OrderChangeLister is what a connector implements to serve ListOrderChanges: orders changed at
// or after a time, oldest change first, each in full or (changesOnly) as its id and updated_at. A vendor without it answers Unimplemented,
// and the order store then relies on webhooks alone.
type OrderChangeLister interface {
	ListOrderChanges(ctx context.Context, since time.Time, pageSize int, pageToken string, changesOnly bool) ([]*canonicalv1.Order, string, error)
}

// ListOrderChanges pages through orders changed at or after updated_since.
func (s *Service) ListOrderChanges(ctx context.Context, req *commercev1.ListOrderChangesRequest) (*commercev1.ListOrderChangesResponse, error) {
	lister, ok := s.conn.(OrderChangeLister)
	if !ok {
		return nil, errs.E(errs.Unimplemented, "not_implemented", "the configured vendor cannot list changed orders")
	}
	var bad []errs.FieldViolation
	if req.GetUpdatedSince() == nil || !req.GetUpdatedSince().IsValid() {
		bad = append(bad, errs.FieldViolation{Field: "updated_since", Description: "required"})
	}
	size := int(req.GetPageSize())
	switch {
	case size == 0:
		size = DefaultChangesPageSize
	case size < 1 || size > MaxChangesPageSize:
		bad = append(bad, errs.FieldViolation{Field: "page_size", Description: "must be between 1 and 250"})
	}
	if len(req.GetPageToken()) > maxTokenLength {
		bad = append(bad, errs.FieldViolation{Field: "page_token", Description: "too long"})
	}
	if len(bad) > 0 {
		return nil, invalid(bad)
	}
	ctx, cancel := s.bound(ctx)
	defer cancel()
	orders, next, err := lister.ListOrderChanges(ctx, req.GetUpdatedSince().AsTime(), size, req.GetPageToken(), req.GetChangesOnly())
	if err != nil {
		return nil, classify(err)
	}
	return &commercev1.ListOrderChangesResponse{Orders: orders, NextPageToken: next}, nil
}
