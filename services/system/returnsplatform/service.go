// Package returnsplatform is the returns platform system API: return records, labels and
// tracking on a returns SaaS (Loop today), and the platform's webhooks turned into canonical
// events on JetStream. Callers meet it over gRPC; vendor protocol and vendor errors stay behind it.
package returnsplatform

import (
	"context"
	"fmt"
	"github.com/retailbridge/retailbridge/pkg/events"
	"github.com/retailbridge/retailbridge/pkg/intake"
	"github.com/retailbridge/retailbridge/pkg/vendors"
	"log/slog"
	"net/http"
	"time"

	"github.com/nats-io/nats.go/jetstream"

	"github.com/retailbridge/retailbridge/pkg/errs"
	canonicalv1 "github.com/retailbridge/retailbridge/pkg/gen/retailbridge/canonical/v1"
	returnsplatformv1 "github.com/retailbridge/retailbridge/pkg/gen/retailbridge/system/returnsplatform/v1"
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
	// Now is the clock; time.Now when nil.
	Now func() time.Time
}

// Service implements returnsplatformv1.ReturnsPlatformServiceServer.
type Service struct {
	returnsplatformv1.UnimplementedReturnsPlatformServiceServer

	conn    Connector
	log     *slog.Logger
	timeout time.Duration

	deliveries *events.Deliveries // publishes what the intake normalised
	intake     *intake.Intake     // webhook intake (webhook.go)
}

var _ returnsplatformv1.ReturnsPlatformServiceServer = (*Service)(nil)

// New validates cfg and connects nothing yet: the first RPC makes the first vendor call, and the
// first webhook creates the event stream if it does not exist.
func New(cfg Config, deps Deps) (*Service, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	if deps.HTTPClient == nil {
		return nil, errs.E(errs.Invalid, "invalid_deps", "returnsplatform: deps.HTTPClient is required")
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
	log := deps.Logger.With("service", "returnsplatform", "vendor", cfg.Connection.Vendor())
	conn, err := cfg.Connection.Connect(deps, log)
	if err != nil {
		return nil, errs.Wrap(err, errs.Invalid, "invalid_config", "returnsplatform: "+err.Error())
	}
	return newService(cfg.Connection.Vendor(), conn, log, cfg.Timeout, deps.JetStream, deps.Now), nil
}

// FromConnector is the service over a connector a vendor's registration built (its Serve reads
// its own configuration and constructs its connector): New without Loop's typed configuration.
// Its webhooks go through the intake over the connector's ParseWebhook.
func FromConnector(vendor string, conn Connector, timeout time.Duration, deps Deps) *Service {
	if deps.Logger == nil {
		deps.Logger = slog.New(slog.DiscardHandler)
	}
	if timeout == 0 {
		timeout = DefaultTimeout
	}
	return newService(vendor, conn, deps.Logger.With("service", "returnsplatform", "vendor", vendor), timeout, deps.JetStream, deps.Now)
}

func newService(vendor string, conn Connector, log *slog.Logger, timeout time.Duration, js jetstream.JetStream, now func() time.Time) *Service {
	s := &Service{conn: conn, log: log, timeout: timeout,
		deliveries: events.NewDeliveries(vendor, js, timeout, now, log)}
	s.intake = intake.New(vendor, vendors.ParseWebhook(conn.ParseWebhook), s.deliveries, log)
	return s
}

// Ready reports whether the platform answers, for health checks.
func (s *Service) Ready(ctx context.Context) error {
	ctx, cancel := context.WithTimeout(ctx, s.timeout)
	defer cancel()
	return s.conn.Ready(ctx)
}

// CreateReturn registers the return on the platform. The idempotency key is required: a repeat
// with it returns the first id and creates nothing.
func (s *Service) CreateReturn(ctx context.Context, req *returnsplatformv1.CreateReturnRequest) (*returnsplatformv1.CreateReturnResponse, error) {
	var bad []errs.FieldViolation
	bad = append(bad, checkReturn(req.GetReturn())...)
	bad = append(bad, checkKey("idempotency_key", req.GetIdempotencyKey())...)
	if err := invalid(bad); err != nil {
		return nil, err
	}
	ctx, cancel := context.WithTimeout(ctx, s.timeout)
	defer cancel()
	id, err := s.conn.CreateReturn(ctx, req.GetReturn(), req.GetIdempotencyKey())
	if err != nil {
		return nil, s.failed(ctx, "create return", err)
	}
	return &returnsplatformv1.CreateReturnResponse{PlatformReturnId: id}, nil
}

// GetReturn reads the platform's state of a return and its parcel.
func (s *Service) GetReturn(ctx context.Context, req *returnsplatformv1.GetReturnRequest) (*returnsplatformv1.GetReturnResponse, error) {
	if err := invalid(checkID("platform_return_id", req.GetPlatformReturnId())); err != nil {
		return nil, err
	}
	ctx, cancel := context.WithTimeout(ctx, s.timeout)
	defer cancel()
	resp, err := s.conn.GetReturn(ctx, req.GetPlatformReturnId())
	if err != nil {
		return nil, s.failed(ctx, "get return", err)
	}
	return resp, nil
}

// CreateLabel buys a return label; the idempotency key is required.
func (s *Service) CreateLabel(ctx context.Context, req *returnsplatformv1.CreateLabelRequest) (*returnsplatformv1.CreateLabelResponse, error) {
	bad := checkID("platform_return_id", req.GetPlatformReturnId())
	bad = append(bad, checkKey("idempotency_key", req.GetIdempotencyKey())...)
	if err := invalid(bad); err != nil {
		return nil, err
	}
	ctx, cancel := context.WithTimeout(ctx, s.timeout)
	defer cancel()
	resp, err := s.conn.CreateLabel(ctx, req.GetPlatformReturnId(), req.GetIdempotencyKey())
	if err != nil {
		return nil, s.failed(ctx, "create label", err)
	}
	return resp, nil
}

// VoidLabel voids an unused label; voiding it again succeeds, so it is safe as a compensation.
func (s *Service) VoidLabel(ctx context.Context, req *returnsplatformv1.VoidLabelRequest) (*returnsplatformv1.VoidLabelResponse, error) {
	if err := invalid(checkID("label_id", req.GetLabelId())); err != nil {
		return nil, err
	}
	ctx, cancel := context.WithTimeout(ctx, s.timeout)
	defer cancel()
	if err := s.conn.VoidLabel(ctx, req.GetLabelId()); err != nil {
		return nil, s.failed(ctx, "void label", err)
	}
	return &returnsplatformv1.VoidLabelResponse{}, nil
}

// CloseReturn closes the return; closing it again succeeds.
func (s *Service) CloseReturn(ctx context.Context, req *returnsplatformv1.CloseReturnRequest) (*returnsplatformv1.CloseReturnResponse, error) {
	if err := invalid(checkID("platform_return_id", req.GetPlatformReturnId())); err != nil {
		return nil, err
	}
	ctx, cancel := context.WithTimeout(ctx, s.timeout)
	defer cancel()
	if err := s.conn.CloseReturn(ctx, req.GetPlatformReturnId()); err != nil {
		return nil, s.failed(ctx, "close return", err)
	}
	return &returnsplatformv1.CloseReturnResponse{}, nil
}

// failed logs a vendor failure's detail and returns it; the interceptor shows callers only the
// kind, reason and safe message.
func (s *Service) failed(ctx context.Context, op string, err error) error {
	if e := errs.As(err); e != nil {
		s.log.DebugContext(ctx, "returnsplatform "+op+" failed", "reason", e.Reason, "err", err)
	}
	return err
}

// maxIDLen bounds ids and keys; vendors' are far shorter, Stripe's and the IETF draft's keys too.
const maxIDLen = 255

func checkID(field, v string) []errs.FieldViolation {
	switch {
	case v == "":
		return []errs.FieldViolation{{Field: field, Description: "is required"}}
	case len(v) > maxIDLen:
		return []errs.FieldViolation{{Field: field, Description: fmt.Sprintf("must be at most %d characters", maxIDLen)}}
	}
	return nil
}

func checkKey(field, v string) []errs.FieldViolation { return checkID(field, v) }

func checkReturn(r *canonicalv1.Return) []errs.FieldViolation {
	if r == nil {
		return []errs.FieldViolation{{Field: "return", Description: "is required"}}
	}
	bad := checkID("return.id", r.GetId())
	bad = append(bad, checkID("return.order_id", r.GetOrderId())...)
	if len(r.GetLines()) == 0 {
		bad = append(bad, errs.FieldViolation{Field: "return.lines", Description: "name at least one line"})
	}
	for i, l := range r.GetLines() {
		if l.GetSku() == "" {
			bad = append(bad, errs.FieldViolation{Field: fmt.Sprintf("return.lines[%d].sku", i), Description: "is required"})
		}
		if l.GetQuantity() < 1 {
			bad = append(bad, errs.FieldViolation{Field: fmt.Sprintf("return.lines[%d].quantity", i), Description: "must be at least 1"})
		}
	}
	if t := r.GetRefundTotal(); t != nil {
		if c := t.GetCurrencyCode(); len(c) != 3 {
			bad = append(bad, errs.FieldViolation{Field: "return.refund_total.currency_code", Description: "must be an ISO 4217 code"})
		}
	}
	return bad
}

func invalid(bad []errs.FieldViolation) error {
	if len(bad) == 0 {
		return nil
	}
	return errs.E(errs.Invalid, "invalid_request", "the request has invalid fields").WithFields(bad...)
}
