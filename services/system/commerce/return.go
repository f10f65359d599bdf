package commerce

import (
	"context"
	"fmt"

	"github.com/retailbridge/retailbridge/pkg/errs"
	commercev1 "github.com/retailbridge/retailbridge/pkg/gen/retailbridge/system/commerce/v1"
)

// Limits on write requests.
const (
	// MaxLines is how many lines one write may carry.
	MaxLines = 250
	// MaxIdempotencyKeyLen bounds an idempotency key, as the ingress idempotency draft does.
	MaxIdempotencyKeyLen = 255
	maxNoteLength        = 255
)

// CreateReturn opens a return on the platform for the lines of one order. A repeat with the same
// key returns the return the first call opened.
func (s *Service) CreateReturn(ctx context.Context, req *commercev1.CreateReturnRequest) (*commercev1.CreateReturnResponse, error) {
	var bad []errs.FieldViolation
	checkKey(&bad, "idempotency_key", req.GetIdempotencyKey())
	ret := req.GetReturn()
	if ret == nil {
		bad = append(bad, errs.FieldViolation{Field: "return", Description: "required"})
	} else {
		checkID(&bad, "return.order_id", ret.GetOrderId())
		checkLines(&bad, "return.lines", len(ret.GetLines()))
		for i, l := range ret.GetLines() {
			f := fmt.Sprintf("return.lines[%d]", i)
			checkID(&bad, f+".order_line_id", l.GetOrderLineId())
			checkQuantity(&bad, f+".quantity", l.GetQuantity())
			if len(l.GetNote()) > maxNoteLength {
				bad = append(bad, errs.FieldViolation{Field: f + ".note", Description: fmt.Sprintf("must be at most %d bytes", maxNoteLength)})
			}
		}
	}
	if len(bad) > 0 {
		return nil, invalid(bad)
	}
	ctx, cancel := s.bound(ctx)
	defer cancel()
	id, err := s.conn.CreateReturn(ctx, ret, req.GetIdempotencyKey())
	if err != nil {
		return nil, classify(err)
	}
	return &commercev1.CreateReturnResponse{PlatformReturnId: id}, nil
}

// CloseReturn closes a processed return; closing a closed return succeeds.
func (s *Service) CloseReturn(ctx context.Context, req *commercev1.CloseReturnRequest) (*commercev1.CloseReturnResponse, error) {
	var bad []errs.FieldViolation
	checkID(&bad, "platform_return_id", req.GetPlatformReturnId())
	if len(bad) > 0 {
		return nil, invalid(bad)
	}
	ctx, cancel := s.bound(ctx)
	defer cancel()
	if err := s.conn.CloseReturn(ctx, req.GetPlatformReturnId()); err != nil {
		return nil, classify(err)
	}
	return &commercev1.CloseReturnResponse{}, nil
}

func checkKey(bad *[]errs.FieldViolation, field, key string) {
	switch {
	case key == "":
		*bad = append(*bad, errs.FieldViolation{Field: field, Description: "required: a deterministic key, the same on every retry"})
	case len(key) > MaxIdempotencyKeyLen:
		*bad = append(*bad, errs.FieldViolation{Field: field, Description: fmt.Sprintf("must be at most %d characters", MaxIdempotencyKeyLen)})
	default:
		for _, r := range key {
			if r < 0x21 || r > 0x7e {
				*bad = append(*bad, errs.FieldViolation{Field: field, Description: "may contain only printable ASCII characters"})
				return
			}
		}
	}
}

func checkLines(bad *[]errs.FieldViolation, field string, n int) {
	switch {
	case n == 0:
		*bad = append(*bad, errs.FieldViolation{Field: field, Description: "name at least one line"})
	case n > MaxLines:
		*bad = append(*bad, errs.FieldViolation{Field: field, Description: fmt.Sprintf("name at most %d lines", MaxLines)})
	}
}

func checkQuantity(bad *[]errs.FieldViolation, field string, q int32) {
	if q <= 0 {
		*bad = append(*bad, errs.FieldViolation{Field: field, Description: "must be greater than zero"})
	}
}
