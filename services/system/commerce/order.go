package commerce

import (
	"context"
	"strings"

	"github.com/retailbridge/retailbridge/pkg/errs"
	commercev1 "github.com/retailbridge/retailbridge/pkg/gen/retailbridge/system/commerce/v1"
)

// Page sizes of ListOrders.
const (
	DefaultPageSize = 20
	MaxPageSize     = 100
)

const (
	maxIDLength    = 64
	maxTokenLength = 1024
)

// GetOrder reads one order.
func (s *Service) GetOrder(ctx context.Context, req *commercev1.GetOrderRequest) (*commercev1.GetOrderResponse, error) {
	var bad []errs.FieldViolation
	checkID(&bad, "order_id", req.GetOrderId())
	if len(bad) > 0 {
		return nil, invalid(bad)
	}
	ctx, cancel := s.bound(ctx)
	defer cancel()
	o, err := s.conn.GetOrder(ctx, req.GetOrderId())
	if err != nil {
		return nil, classify(err)
	}
	return &commercev1.GetOrderResponse{Order: o}, nil
}

// maxSources bounds the sales channels of one listing.
const maxSources = 20

// ListOrders lists a customer's orders, the orders of some sales channels, or both, newest
// first.
func (s *Service) ListOrders(ctx context.Context, req *commercev1.ListOrdersRequest) (*commercev1.ListOrdersResponse, error) {
	var bad []errs.FieldViolation
	if req.GetCustomerId() != "" || len(req.GetSources()) == 0 {
		checkID(&bad, "customer_id", req.GetCustomerId())
	}
	if len(req.GetSources()) > maxSources {
		bad = append(bad, errs.FieldViolation{Field: "sources", Description: "at most 20"})
	}
	for _, src := range req.GetSources() {
		if src == "" || len(src) > maxIDLength || strings.ContainsAny(src, "\"'()\\ \t\r\n") {
			bad = append(bad, errs.FieldViolation{Field: "sources", Description: "a source name is 1 to 64 characters without quotes, brackets or spaces"})
			break
		}
	}
	size := int(req.GetPageSize())
	switch {
	case size == 0:
		size = DefaultPageSize
	case size < 1 || size > MaxPageSize:
		bad = append(bad, errs.FieldViolation{Field: "page_size", Description: "must be between 1 and 100"})
	}
	if len(req.GetPageToken()) > maxTokenLength {
		bad = append(bad, errs.FieldViolation{Field: "page_token", Description: "too long"})
	}
	if len(bad) > 0 {
		return nil, invalid(bad)
	}
	ctx, cancel := s.bound(ctx)
	defer cancel()
	orders, next, err := s.conn.ListOrders(ctx, req.GetCustomerId(), req.GetSources(), size, req.GetPageToken())
	if err != nil {
		return nil, classify(err)
	}
	return &commercev1.ListOrdersResponse{Orders: orders, NextPageToken: next}, nil
}

func checkID(bad *[]errs.FieldViolation, field, id string) {
	switch {
	case id == "":
		*bad = append(*bad, errs.FieldViolation{Field: field, Description: "required"})
	case len(id) > maxIDLength || strings.ContainsFunc(id, func(r rune) bool { return r <= ' ' || r == 0x7f }):
		*bad = append(*bad, errs.FieldViolation{Field: field, Description: "must be at most 64 printable characters"})
	}
}

func invalid(bad []errs.FieldViolation) error {
	return errs.E(errs.Invalid, "invalid_request", "the request has invalid fields").WithFields(bad...)
}
