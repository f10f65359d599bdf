// Package inventory is the inventory process API: a ledger of every stock movement per SKU ×
// location × state in the process store, the positions it sums to, available-to-sell per
// channel computed from it, and reservations that never take more units than there are.
//
// The ledger is fed by the warehouse's canonical events (receipts, adjustments, counts,
// shipments, return receipts and inspections; see intake.go and count.go for the rules on late,
// duplicated and out-of-order events) and by its own reservations; a periodic warehouse snapshot
// is applied as counts, which bootstraps an empty ledger and corrects drift. Reads (availability,
// positions, movements) come from the store alone: no vendor call. Partners see their tenant's
// locations only (pkg/tenancy), less the tenant's buffer. docs/inventory.md describes the model.
package inventory

import (
	"embed"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"time"

	"github.com/nats-io/nats.go/jetstream"
	"github.com/prometheus/client_golang/prometheus"

	"github.com/retailbridge/retailbridge/pkg/errs"
	"github.com/retailbridge/retailbridge/pkg/events"
	"github.com/retailbridge/retailbridge/pkg/store"
	"github.com/retailbridge/retailbridge/pkg/telemetry"
	"github.com/retailbridge/retailbridge/pkg/tenancy"

	inventoryv1 "github.com/retailbridge/retailbridge/pkg/gen/retailbridge/process/inventory/v1"
	commercev1 "github.com/retailbridge/retailbridge/pkg/gen/retailbridge/system/commerce/v1"
	erpv1 "github.com/retailbridge/retailbridge/pkg/gen/retailbridge/system/erp/v1"
	wmsv1 "github.com/retailbridge/retailbridge/pkg/gen/retailbridge/system/wms/v1"
)

//go:embed migrations/*.sql
var migrations embed.FS

// Defaults for Config fields left zero.
const (
	DefaultReservationTTL    = 15 * time.Minute
	DefaultMaxReservationTTL = 7 * 24 * time.Hour
	DefaultSweepEvery        = time.Second
	DefaultSnapshotEvery     = 5 * time.Minute
	DefaultReconcileEvery    = 15 * time.Minute
	DefaultMappingEvery      = time.Hour
)

// Channel says which locations sell to a sales channel and how its figure is computed.
type Channel struct {
	// Locations sell to the channel; empty means every location.
	Locations []string `yaml:"locations"`
	// CountInTransit adds units in transit to the channel's available-to-sell.
	CountInTransit bool `yaml:"count_in_transit"`
	// Buffer is held back from sellable units at each location (safety stock the channel never
	// promises).
	Buffer int64 `yaml:"buffer"`
}

// Config configures the inventory service.
type Config struct {
	// ReservationTTL is how long a hold lasts when Reserve asks for no ttl; default 15m.
	ReservationTTL time.Duration
	// MaxReservationTTL caps a requested ttl; default 7 days.
	MaxReservationTTL time.Duration
	// SweepEvery is how often expired holds are returned; default 1s.
	SweepEvery time.Duration
	// SnapshotEvery is how often the warehouse's snapshot is applied as counts (bootstrap and
	// drift correction); default 5m; negative turns it off.
	SnapshotEvery time.Duration
	// Channels maps a channel name to its configuration; a channel not listed sells from
	// every location with no buffer.
	Channels map[string]Channel
	// Push configures the storefront push (push.go); off without locations or a commerce client.
	Push PushConfig
	// Authority says whose figure wins where reconciliation finds drift (authority.go); nil is
	// DefaultAuthority.
	Authority []AuthorityRule
	// ReconcileEvery is how often the ledger is compared with the ERP's on-hand (reconcile.go);
	// default 15m; negative turns it off.
	ReconcileEvery time.Duration
	// MappingEvery is how often the item master and SKU mapping are refreshed (itemmaster.go);
	// default 1h; negative turns it off.
	MappingEvery time.Duration
}

func (c Config) withDefaults() Config {
	if c.ReservationTTL == 0 {
		c.ReservationTTL = DefaultReservationTTL
	}
	if c.MaxReservationTTL == 0 {
		c.MaxReservationTTL = DefaultMaxReservationTTL
	}
	if c.SweepEvery == 0 {
		c.SweepEvery = DefaultSweepEvery
	}
	if c.SnapshotEvery == 0 {
		c.SnapshotEvery = DefaultSnapshotEvery
	}
	if c.ReconcileEvery == 0 {
		c.ReconcileEvery = DefaultReconcileEvery
	}
	if c.MappingEvery == 0 {
		c.MappingEvery = DefaultMappingEvery
	}
	if c.Authority == nil {
		c.Authority = DefaultAuthority
	}
	c.Push = c.Push.withDefaults()
	return c
}

// Validate names every bad field at once.
func (c Config) Validate() error {
	var bad []string
	if c.ReservationTTL < 0 {
		bad = append(bad, "ReservationTTL: must not be negative")
	}
	if c.MaxReservationTTL < c.ReservationTTL {
		bad = append(bad, "MaxReservationTTL: must be at least ReservationTTL")
	}
	if c.SweepEvery < 0 {
		bad = append(bad, "SweepEvery: must not be negative")
	}
	for name, ch := range c.Channels {
		if name == "" || len(name) > maxChannelLength {
			bad = append(bad, fmt.Sprintf("Channels[%q]: name must be 1..%d characters", name, maxChannelLength))
		}
		if ch.Buffer < 0 {
			bad = append(bad, fmt.Sprintf("Channels[%q].Buffer: must not be negative", name))
		}
		for i, loc := range ch.Locations {
			if loc == "" {
				bad = append(bad, fmt.Sprintf("Channels[%q].Locations[%d]: must not be empty", name, i))
			}
		}
	}
	bad = append(bad, c.Push.problems()...)
	bad = append(bad, authorityProblems(c.Authority)...)
	if len(bad) > 0 {
		return fmt.Errorf("inventory config: %s", strings.Join(bad, "; "))
	}
	return nil
}

// Deps are the service's collaborators.
type Deps struct {
	// DB is the process store holding the ledger; required.
	DB *store.DB
	// JetStream carries the warehouse's events in and the position-changed events out; nil
	// runs without the bus (tests that drive the ledger directly).
	JetStream jetstream.JetStream
	// WMS reads the warehouse's snapshot; nil turns the snapshot off.
	WMS wmsv1.WmsServiceClient
	// Commerce sets the storefront's levels (the push) and lists its variants (the item master);
	// nil turns both off.
	Commerce commercev1.CommerceServiceClient
	// ERP reads the ERP's on-hand (reconciliation) and item master; nil turns both off.
	ERP erpv1.ErpServiceClient
	// ItemMaster reads the product feed's item master rows; nil leaves the feed out of the
	// SKU mapping.
	ItemMaster ItemMasterSource
	// Tenants is the partner directory; nil means no tenants, so every partner owns nothing.
	Tenants *tenancy.Directory
	// Logger defaults to discarding.
	Logger *slog.Logger
	// Now is the clock; defaults to time.Now.
	Now func() time.Time
	// Metrics receives the business instruments (movement lag, reservations, expiries, drift);
	// nil keeps them unregistered.
	Metrics prometheus.Registerer
}

// Service implements inventoryv1.InventoryServiceServer.
type Service struct {
	inventoryv1.UnimplementedInventoryServiceServer

	cfg Config
	db  *store.DB
	js  jetstream.JetStream
	wms wmsv1.WmsServiceClient
	// commerce is the storefront's system API, for the push.
	commerce commercev1.CommerceServiceClient
	erp      erpv1.ErpServiceClient
	feed     ItemMasterSource
	tenants  *tenancy.Directory
	log      *slog.Logger
	now      func() time.Time
	outbox   *events.Outbox
	ledger   *ledger
	metrics  *metrics
	// replica names this replica as the owner of its leases (lease.go).
	replica string
}

var _ inventoryv1.InventoryServiceServer = (*Service)(nil)

// New migrates the store and returns the service. Config fields left zero take their defaults.
func New(cfg Config, deps Deps) (*Service, error) {
	cfg = cfg.withDefaults()
	err := cfg.Validate()
	if deps.DB == nil {
		err = errors.Join(err, errors.New("inventory deps: DB required"))
	}
	if err != nil {
		return nil, err
	}
	if deps.Logger == nil {
		deps.Logger = slog.New(slog.DiscardHandler)
	}
	if deps.Now == nil {
		deps.Now = time.Now
	}
	if err := Migrate(deps.DB); err != nil {
		return nil, err
	}
	outbox := events.NewOutbox(deps.Now)
	m := newMetrics(deps.Metrics)
	return &Service{
		cfg: cfg, db: deps.DB, js: deps.JetStream, wms: deps.WMS, commerce: deps.Commerce, tenants: deps.Tenants,
		erp: deps.ERP, feed: deps.ItemMaster,
		log: deps.Logger, now: deps.Now, outbox: outbox, metrics: m, replica: telemetry.NewID(),
		ledger: &ledger{now: deps.Now, outbox: outbox, lag: m.lag},
	}, nil
}

// requireLedger guards the ledger's RPCs (kept for a service built without a store in a test).
func (s *Service) requireLedger() error {
	if s.db == nil {
		return errs.E(errs.Unavailable, "ledger_unavailable", "the inventory ledger is not configured")
	}
	return nil
}
