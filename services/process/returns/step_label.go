package returns

import (
	"context"

	"github.com/retailbridge/retailbridge/pkg/errs"
	returnsplatformv1 "github.com/retailbridge/retailbridge/pkg/gen/retailbridge/system/returnsplatform/v1"
	"github.com/retailbridge/retailbridge/pkg/workflow"
)

// label (labelling) buys the mail label; an in-store return needs none.
func (f *flow) label(ctx context.Context, r workflow.Run, d *returnData) (string, error) {
	if d.Method != "mail" {
		return StateAnnouncing, nil
	}
	resp, err := f.sys.platform.CreateLabel(ctx, &returnsplatformv1.CreateLabelRequest{PlatformReturnId: d.PlatformReturnID, IdempotencyKey: r.Key})
	if err != nil {
		return "", errs.FromError(err)
	}
	d.LabelID, d.TrackingNumber, d.LabelURL = resp.GetLabelId(), resp.GetTrackingNumber(), resp.GetLabelUrl()
	return StateAnnouncing, nil
}

// voidLabel compensates label: an unused label is voided so it is not charged.
func (f *flow) voidLabel(ctx context.Context, _ workflow.Run, d *returnData) error {
	if d.LabelID == "" {
		return nil
	}
	_, err := f.sys.platform.VoidLabel(ctx, &returnsplatformv1.VoidLabelRequest{LabelId: d.LabelID})
	return asError(err)
}
