// Package erp is the ERP system API: item governance, sales orders, return authorisations,
// receipts and financial postings, over one vendor connector (NetSuite or Business Central, chosen
// per deployment). Callers meet it over gRPC; vendor protocol and vendor errors stay behind it.
package erp

import (
	"context"
	"fmt"
	"log/slog"
	"net/http"
	"time"

	"github.com/nats-io/nats.go/jetstream"

	"github.com/retailbridge/retailbridge/pkg/errs"
	"github.com/retailbridge/retailbridge/pkg/events"
	erpv1 "github.com/retailbridge/retailbridge/pkg/gen/retailbridge/system/erp/v1"
	"github.com/retailbridge/retailbridge/pkg/intake"
	"github.com/retailbridge/retailbridge/pkg/vendors"
)

// MaxSKUs is how many SKUs one GetItems call may name.
const MaxSKUs = 100

// Deps are the service's collaborators.
type Deps struct {
	// Logger receives vendor failure detail; discarded when nil.
	Logger *slog.Logger
	// HTTPClient reaches the vendor; required, so that the caller's tracing and metrics apply.
	HTTPClient *http.Client
	// Now is the clock for OAuth timestamps and maintenance windows; time.Now when nil.
	Now func() time.Time
	// JetStream and Inbound are for an ERP that sends webhooks (a subscription's
	// notifications): FromConnector serves an intake over Inbound that publishes to JetStream.
	// NetSuite sends none.
	JetStream jetstream.JetStream
	Inbound   vendors.Inbound
}

// Service implements erpv1.ErpServiceServer.
type Service struct {
	erpv1.UnimplementedErpServiceServer

	conn    Connector
	log     *slog.Logger
	timeout time.Duration
	// locations maps the ERP's location ids to the ledger's, toERP back (location.go).
	locations LocationMap
	toERP     map[string]string
	intake    *intake.Intake // nil: the vendor sends nothing inbound
}

var _ erpv1.ErpServiceServer = (*Service)(nil)

// New validates cfg and connects nothing yet: the first RPC makes the first vendor call.
func New(cfg Config, deps Deps) (*Service, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
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
	log := deps.Logger.With("service", "erp", "vendor", cfg.Connection.Vendor())
	conn, err := cfg.Connection.Connect(deps, log)
	if err != nil {
		if e := errs.As(err); e != nil {
			return nil, err
		}
		return nil, errs.Wrap(err, errs.Invalid, "invalid_config", "erp: "+err.Error())
	}
	return newService(conn, log, cfg.Timeout).WithLocations(cfg.Locations), nil
}

// WithLocations sets the location map every location read and write goes through (location.go)
// and returns s; without one every ERP location is unmapped.
func (s *Service) WithLocations(m LocationMap) *Service {
	s.locations, s.toERP = m, m.ledgerToERP()
	return s
}

func newService(conn Connector, log *slog.Logger, timeout time.Duration) *Service {
	return &Service{conn: conn, log: log, timeout: timeout}
}

// FromConnector is the service over a connector a vendor's registration built (its Serve reads
// its own configuration and constructs its connector): New without NetSuite's typed
// configuration.
func FromConnector(vendor string, conn Connector, timeout time.Duration, deps Deps) *Service {
	if deps.Logger == nil {
		deps.Logger = slog.New(slog.DiscardHandler)
	}
	if timeout == 0 {
		timeout = DefaultTimeout
	}
	s := newService(conn, deps.Logger.With("service", "erp", "vendor", vendor), timeout)
	if deps.Inbound != nil {
		s.intake = intake.New(vendor, deps.Inbound, events.NewDeliveries(vendor, deps.JetStream, timeout, deps.Now, s.log), s.log)
	}
	return s
}

// Intake takes the vendor's inbound deliveries (retailbridge.system.intake.v1); nil when the
// vendor sends none.
func (s *Service) Intake() *intake.Intake { return s.intake }

// Ready reports whether the ERP answers, for health checks.
func (s *Service) Ready(ctx context.Context) error {
	ctx, cancel := context.WithTimeout(ctx, s.timeout)
	defer cancel()
	return s.conn.Ready(ctx)
}

// GetItems reads items with their return-policy attributes. Repeated SKUs are read once; items
// come back in the order their SKUs were first named.
func (s *Service) GetItems(ctx context.Context, req *erpv1.GetItemsRequest) (*erpv1.GetItemsResponse, error) {
	skus, err := distinctSKUs(req.GetSkus())
	if err != nil {
		return nil, err
	}
	ctx, cancel := context.WithTimeout(ctx, s.timeout)
	defer cancel()
	found, missing, err := s.conn.GetItems(ctx, skus)
	if err != nil {
		return nil, s.failed(ctx, "GetItems", err)
	}
	return &erpv1.GetItemsResponse{Items: found, MissingSkus: missing}, nil
}

// failed logs a connector failure's detail, which never reaches the caller, and returns err.
func (s *Service) failed(ctx context.Context, rpc string, err error) error {
	if e := errs.As(err); e != nil {
		s.log.DebugContext(ctx, "erp call failed", "rpc", rpc, "reason", e.Reason, "err", err)
	}
	return err
}

// distinctSKUs validates skus and folds repeats, keeping first-seen order.
func distinctSKUs(skus []string) ([]string, error) {
	var bad []errs.FieldViolation
	switch {
	case len(skus) == 0:
		bad = append(bad, errs.FieldViolation{Field: "skus", Description: "name at least one SKU"})
	case len(skus) > MaxSKUs:
		bad = append(bad, errs.FieldViolation{Field: "skus", Description: fmt.Sprintf("name at most %d SKUs", MaxSKUs)})
	}
	seen := make(map[string]bool, len(skus))
	out := make([]string, 0, len(skus))
	for i, sku := range skus {
		if d := checkSKU(sku); d != "" {
			bad = append(bad, errs.FieldViolation{Field: fmt.Sprintf("skus[%d]", i), Description: d})
			continue
		}
		if !seen[sku] {
			seen[sku] = true
			out = append(out, sku)
		}
	}
	if len(bad) > 0 {
		return nil, errs.E(errs.Invalid, "invalid_request", "the request has invalid fields").WithFields(bad...)
	}
	return out, nil
}

// maxSKULen bounds a SKU; item ids in the ERPs we serve are far shorter.
const maxSKULen = 255

// checkSKU describes what is wrong with sku, or returns "". A SKU is the item's external id,
// which ERPs restrict to letters, digits, "_" and "-".
func checkSKU(sku string) string {
	if sku == "" {
		return "must not be empty"
	}
	if len(sku) > maxSKULen {
		return fmt.Sprintf("must be at most %d characters", maxSKULen)
	}
	for _, c := range sku {
		if !('A' <= c && c <= 'Z' || 'a' <= c && c <= 'z' || '0' <= c && c <= '9' || c == '_' || c == '-') {
			return "may contain only letters, digits, \"_\" and \"-\""
		}
	}
	return ""
}
