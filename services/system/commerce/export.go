package commerce

import (
	"context"
	"time"

	"github.com/retailbridge/retailbridge/pkg/errs"
	commercev1 "github.com/retailbridge/retailbridge/pkg/gen/retailbridge/system/commerce/v1"
)

// Page sizes of ExportOrderChanges.
const (
	DefaultExportPageSize = 500
	MaxExportPageSize     = 1000
)

// OrderExporter is what a connector implements to serve ExportOrderChanges: an asynchronous
// export of every order changed since a time (a platform's bulk export), started when id is
// empty and followed by id. A vendor without it answers Unimplemented, and the order store's
// backfill pages through ListOrderChanges instead.
type OrderExporter interface {
	ExportOrderChanges(ctx context.Context, since time.Time, id string, pageSize int, pageToken string) (*commercev1.ExportOrderChangesResponse, error)
}

// ExportOrderChanges starts or follows an export of changed orders.
func (s *Service) ExportOrderChanges(ctx context.Context, req *commercev1.ExportOrderChangesRequest) (*commercev1.ExportOrderChangesResponse, error) {
	exporter, ok := s.conn.(OrderExporter)
	if !ok {
		return nil, errs.E(errs.Unimplemented, "not_implemented", "the configured vendor cannot export changed orders")
	}
	var bad []errs.FieldViolation
	if req.GetExportId() == "" && (req.GetUpdatedSince() == nil || !req.GetUpdatedSince().IsValid()) {
		bad = append(bad, errs.FieldViolation{Field: "updated_since", Description: "required to start an export"})
	}
	if len(req.GetExportId()) > maxTokenLength {
		bad = append(bad, errs.FieldViolation{Field: "export_id", Description: "too long"})
	}
	size := int(req.GetPageSize())
	switch {
	case size == 0:
		size = DefaultExportPageSize
	case size < 1 || size > MaxExportPageSize:
		bad = append(bad, errs.FieldViolation{Field: "page_size", Description: "must be between 1 and 1000"})
	}
	if len(req.GetPageToken()) > maxTokenLength {
		bad = append(bad, errs.FieldViolation{Field: "page_token", Description: "too long"})
	}
	if len(bad) > 0 {
		return nil, invalid(bad)
	}
	ctx, cancel := s.bound(ctx)
	defer cancel()
	ex, err := exporter.ExportOrderChanges(ctx, req.GetUpdatedSince().AsTime(), req.GetExportId(), size, req.GetPageToken())
	if err != nil {
		return nil, classify(err)
	}
	return ex, nil
}
