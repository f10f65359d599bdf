package returns

import (
	"context"

	"github.com/retailbridge/retailbridge/pkg/errs"
	commercev1 "github.com/retailbridge/retailbridge/pkg/gen/retailbridge/system/commerce/v1"
	returnsplatformv1 "github.com/retailbridge/retailbridge/pkg/gen/retailbridge/system/returnsplatform/v1"
	"github.com/retailbridge/retailbridge/pkg/workflow"
)

// closePlatform (closing_platform) closes the storefront's and the returns platform's returns.
func (f *flow) closePlatform(ctx context.Context, _ workflow.Run, d *returnData) (string, error) {
	if d.CommerceReturnID != "" {
		if _, err := f.sys.commerce.CloseReturn(ctx, &commercev1.CloseReturnRequest{PlatformReturnId: d.CommerceReturnID}); err != nil {
			return "", errs.FromError(err)
		}
	}
	if _, err := f.sys.platform.CloseReturn(ctx, &returnsplatformv1.CloseReturnRequest{PlatformReturnId: d.PlatformReturnID}); err != nil {
		return "", errs.FromError(err)
	}
	d.PlatformClosed = true
	return StateRefunded, nil
}
