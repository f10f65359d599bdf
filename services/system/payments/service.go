// Package payments is the payments system API: refunds to the original payment method, refund
// status and what a payment captured, over one gateway connector (Stripe today). The gateway's
// refund webhooks become canonical retailbridge.payments.refund.updated.v1 events on JetStream,
// which is how a pending refund's success or failure reaches the returns workflow. Callers meet
// it over gRPC; vendor protocol and vendor errors stay behind it.
//
// Refunds are where a lost answer costs money, so CreateRefund requires the caller's idempotency
// key (derived from the workflow step) and the connector sends it unchanged on every attempt: a
// refund whose outcome is unknown is repeated with the same key, never a new one, and the
// gateway answers the repeat with the first execution's result. Metadata keys order_id,
// return_id and refund_id come back as the canonical refund's ids.
package payments

import (
	"context"
	"github.com/retailbridge/retailbridge/pkg/events"
	"github.com/retailbridge/retailbridge/pkg/intake"
	"github.com/retailbridge/retailbridge/pkg/vendors"
	"log/slog"
	"net/http"
	"time"

	"github.com/nats-io/nats.go/jetstream"

	"github.com/retailbridge/retailbridge/pkg/errs"
	paymentsv1 "github.com/retailbridge/retailbridge/pkg/gen/retailbridge/system/payments/v1"
)

// Deps are the service's collaborators.
type Deps struct {
	// Logger receives vendor failure detail; discarded when nil.
	Logger *slog.Logger
	// HTTPClient reaches the vendor; required, so that the caller's tracing and metrics apply.
	HTTPClient *http.Client
	// JetStream receives the events webhooks become; without it IngestWebhook answers
	// errs.Unavailable "events_unavailable" (after checking the signature).
	JetStream jetstream.JetStream
	// Now is the clock for reading Retry-After dates and for signature ages; time.Now when nil.
	Now func() time.Time
}

// Service implements paymentsv1.PaymentsServiceServer.
type Service struct {
	paymentsv1.UnimplementedPaymentsServiceServer

	conn    Connector
	log     *slog.Logger
	timeout time.Duration

	deliveries *events.Deliveries // publishes what the intake normalised
	intake     *intake.Intake     // webhook intake (webhook.go)
}

var _ paymentsv1.PaymentsServiceServer = (*Service)(nil)

// New validates cfg and connects nothing yet: the first RPC makes the first vendor call, and the
// first webhook creates the event stream if it does not exist.
func New(cfg Config, deps Deps) (*Service, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	if deps.HTTPClient == nil {
		return nil, errs.E(errs.Invalid, "invalid_deps", "payments: deps.HTTPClient is required")
	}
	if deps.Logger == nil {
		deps.Logger = slog.New(slog.DiscardHandler)
	}
	if deps.Now == nil {
		deps.Now = time.Now
	}
	if cfg.Timeout == 0 {
		cfg.Timeout = DefaultTimeout
	}
	log := deps.Logger.With("service", "payments", "vendor", cfg.Connection.Vendor())
	conn, err := cfg.Connection.Connect(deps, log)
	if err != nil {
		return nil, errs.Wrap(err, errs.Invalid, "invalid_config", "payments: "+err.Error())
	}
	return FromConnector(cfg.Connection.Vendor(), conn, cfg.Timeout, deps), nil
}

// FromConnector is the service over a connector a vendor's registration built (its Serve reads
// its own configuration and constructs its connector): New without Stripe's typed
// configuration. Its webhooks go through the intake over the connector's ParseWebhook.
func FromConnector(vendor string, conn Connector, timeout time.Duration, deps Deps) *Service {
	if deps.Logger == nil {
		deps.Logger = slog.New(slog.DiscardHandler)
	}
	if timeout == 0 {
		timeout = DefaultTimeout
	}
	log := deps.Logger.With("service", "payments", "vendor", vendor)
	s := &Service{conn: conn, log: log, timeout: timeout,
		deliveries: events.NewDeliveries(vendor, deps.JetStream, timeout, deps.Now, log)}
	s.intake = intake.New(vendor, vendors.ParseWebhook(conn.ParseWebhook), s.deliveries, log)
	return s
}

// Ready reports whether the payment gateway answers, for health checks.
func (s *Service) Ready(ctx context.Context) error {
	ctx, cancel := context.WithTimeout(ctx, s.timeout)
	defer cancel()
	return s.conn.Ready(ctx)
}

// CreateRefund refunds to the original payment method. The idempotency key is required and is
// the gateway's idempotency key: the same key always means the same refund.
func (s *Service) CreateRefund(ctx context.Context, req *paymentsv1.CreateRefundRequest) (*paymentsv1.CreateRefundResponse, error) {
	if err := checkCreateRefund(req); err != nil {
		return nil, err
	}
	ctx, cancel := context.WithTimeout(ctx, s.timeout)
	defer cancel()
	r, err := s.conn.CreateRefund(ctx, req)
	if err != nil {
		s.logFailure(ctx, "create refund", err, "payment_reference", req.GetPaymentReference(),
			"idempotency_key", req.GetIdempotencyKey())
		return nil, err
	}
	return &paymentsv1.CreateRefundResponse{Refund: r}, nil
}

// GetRefund reads a refund's status by the gateway's refund id.
func (s *Service) GetRefund(ctx context.Context, req *paymentsv1.GetRefundRequest) (*paymentsv1.GetRefundResponse, error) {
	if err := checkGetRefund(req); err != nil {
		return nil, err
	}
	ctx, cancel := context.WithTimeout(ctx, s.timeout)
	defer cancel()
	r, err := s.conn.GetRefund(ctx, req.GetGatewayRefundId())
	if err != nil {
		s.logFailure(ctx, "get refund", err, "gateway_refund_id", req.GetGatewayRefundId())
		return nil, err
	}
	return &paymentsv1.GetRefundResponse{Refund: r}, nil
}

// GetPayment reads what a payment captured and what has been refunded of it.
func (s *Service) GetPayment(ctx context.Context, req *paymentsv1.GetPaymentRequest) (*paymentsv1.GetPaymentResponse, error) {
	if err := checkGetPayment(req); err != nil {
		return nil, err
	}
	ctx, cancel := context.WithTimeout(ctx, s.timeout)
	defer cancel()
	resp, err := s.conn.GetPayment(ctx, req.GetPaymentReference())
	if err != nil {
		s.logFailure(ctx, "get payment", err, "payment_reference", req.GetPaymentReference())
		return nil, err
	}
	return resp, nil
}

func (s *Service) logFailure(ctx context.Context, what string, err error, attrs ...any) {
	e := errs.As(err)
	if e == nil {
		return
	}
	level := slog.LevelWarn
	switch e.Kind {
	case errs.Invalid, errs.NotFound, errs.FailedPrecondition, errs.Canceled:
		level = slog.LevelDebug // the gateway answered; the caller hears why
	}
	s.log.Log(ctx, level, "payments "+what+" failed",
		append(attrs, "kind", e.Kind.String(), "reason", e.Reason, "retryable", e.Retryable, "err", err)...)
}

// CapturePayment captures an authorised payment; the idempotency key is mandatory.
func (s *Service) CapturePayment(ctx context.Context, req *paymentsv1.CapturePaymentRequest) (*paymentsv1.CapturePaymentResponse, error) {
	var bad []errs.FieldViolation
	if r := req.GetPaymentReference(); r == "" || len(r) > 255 {
		bad = append(bad, errs.FieldViolation{Field: "payment_reference", Description: "required, at most 255 characters"})
	}
	if k := req.GetIdempotencyKey(); k == "" || len(k) > 255 {
		bad = append(bad, errs.FieldViolation{Field: "idempotency_key", Description: "required, at most 255 characters"})
	}
	if a := req.GetAmount(); a != nil && (a.GetAmountMinor() < 1 || len(a.GetCurrencyCode()) != 3) {
		bad = append(bad, errs.FieldViolation{Field: "amount", Description: "a positive amount with its ISO currency, or unset for all of it"})
	}
	if len(bad) > 0 {
		return nil, errs.E(errs.Invalid, "invalid_request", "the request has invalid fields").WithFields(bad...)
	}
	ctx, cancel := context.WithTimeout(ctx, s.timeout)
	defer cancel()
	resp, err := s.conn.CapturePayment(ctx, req)
	if err != nil {
		s.logFailure(ctx, "capture payment", err, "payment_reference", req.GetPaymentReference())
		return nil, err
	}
	return resp, nil
}
