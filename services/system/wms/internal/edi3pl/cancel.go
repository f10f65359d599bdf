package edi3pl

import (
	"context"

	"github.com/retailbridge/retailbridge/pkg/errs"
)

// CancelShippingOrder is not sent over EDI yet. A 940 cancellation (W05-01 order status "F")
// needs the 3PL's confirmation of what it had picked before the cancellation counts, and the
// 3PL sandbox does not emulate that exchange; until both exist the cancellation is refused as
// unimplemented, so the order workflow hands the order to people instead of assuming the
// warehouse stopped it.
func (c *Client) CancelShippingOrder(context.Context, string, string, string, string) error {
	return errs.E(errs.Unimplemented, "cancel_not_supported", "the 3PL connector cannot cancel a shipping order yet (940 cancellation not exchanged)")
}
