package returns

import (
	"context"

	"github.com/retailbridge/retailbridge/pkg/errs"
	commercev1 "github.com/retailbridge/retailbridge/pkg/gen/retailbridge/system/commerce/v1"
	returnsplatformv1 "github.com/retailbridge/retailbridge/pkg/gen/retailbridge/system/returnsplatform/v1"
	"github.com/retailbridge/retailbridge/pkg/workflow"
)

// register (registering) records the return where the customer and the carrier see it.
func (f *flow) register(ctx context.Context, r workflow.Run, d *returnData) (string, error) {
	// The storefront shows the return on the order (Shopify returnCreate), and the returns
	// platform holds it (unless the customer started it there).
	if d.CommerceReturnID == "" {
		resp, err := f.sys.commerce.CreateReturn(ctx, &commercev1.CreateReturnRequest{Return: d.canonical(""), IdempotencyKey: r.Key + ":commerce"})
		if err != nil {
			return "", errs.FromError(err)
		}
		d.CommerceReturnID = resp.GetPlatformReturnId()
	}
	if d.PlatformReturnID != "" {
		return StateLabelling, nil
	}
	resp, err := f.sys.platform.CreateReturn(ctx, &returnsplatformv1.CreateReturnRequest{Return: d.canonical(""), IdempotencyKey: r.Key})
	if err != nil {
		return "", errs.FromError(err)
	}
	d.PlatformReturnID = resp.GetPlatformReturnId()
	return StateLabelling, nil
}

// unregister compensates register: both returns are closed.
func (f *flow) unregister(ctx context.Context, _ workflow.Run, d *returnData) error {
	if d.CommerceReturnID != "" {
		if _, err := f.sys.commerce.CloseReturn(ctx, &commercev1.CloseReturnRequest{PlatformReturnId: d.CommerceReturnID}); err != nil {
			return errs.FromError(err)
		}
	}
	if d.PlatformReturnID == "" {
		return nil
	}
	_, err := f.sys.platform.CloseReturn(ctx, &returnsplatformv1.CloseReturnRequest{PlatformReturnId: d.PlatformReturnID})
	return asError(err)
}
