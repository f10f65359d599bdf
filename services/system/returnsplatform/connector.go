package returnsplatform

import (
	"context"
	"net/http"

	canonicalv1 "github.com/retailbridge/retailbridge/pkg/gen/retailbridge/canonical/v1"
	returnsplatformv1 "github.com/retailbridge/retailbridge/pkg/gen/retailbridge/system/returnsplatform/v1"
)

// Connector is what the service needs from a returns platform vendor. Implementations return
// *errs.Error values, classified by one function per vendor, and are safe for concurrent use.
// internal/connectortest is the suite every implementation passes against its sandbox.
type Connector interface {
	// CreateReturn registers ret and returns the platform's id for it. A repeat with the same
	// idempotency key returns the first answer's id and creates nothing.
	CreateReturn(ctx context.Context, ret *canonicalv1.Return, idempotencyKey string) (string, error)
	// GetReturn reads the platform's state of a return and its latest label as a parcel (no
	// shipment before a label exists). An unknown id is errs.NotFound "return_not_found".
	GetReturn(ctx context.Context, platformReturnID string) (*returnsplatformv1.GetReturnResponse, error)
	// CreateLabel buys a return label. A repeat with the same idempotency key returns the same
	// label; a second active label is errs.AlreadyExists "label_exists"; a return that is not
	// open is errs.FailedPrecondition "return_state_conflict".
	CreateLabel(ctx context.Context, platformReturnID, idempotencyKey string) (*returnsplatformv1.CreateLabelResponse, error)
	// VoidLabel voids an unused label and succeeds for one already voided; a label with the
	// carrier is errs.FailedPrecondition "label_in_use".
	VoidLabel(ctx context.Context, labelID string) error
	// CloseReturn closes the return and succeeds for one already closed.
	CloseReturn(ctx context.Context, platformReturnID string) error
	// ParseWebhook verifies a webhook on its raw body and normalises it into canonical events
	// with deterministic ids, so the same delivery always gives the same events. It returns the
	// vendor's delivery id and no events for topics Retailbridge ignores. A missing or wrong
	// signature is errs.Unauthenticated "webhook_signature_invalid"; a signed body that is not a
	// vendor payload is errs.Invalid "webhook_payload_invalid".
	ParseWebhook(h http.Header, body []byte) (deliveryID string, evs []*canonicalv1.Event, err error)
	// Ready reports whether the platform answers the connector's authenticated requests.
	Ready(ctx context.Context) error
}
