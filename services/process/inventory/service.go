// Package inventory is the inventory process API: how many units of a SKU can be sold across
// the locations a caller may promise from, and the positions behind that figure per location and
// state, read from the warehouse system API.
//
// Available-to-sell is read through a short-lived per-SKU cache, so a burst of partner polls
// costs one warehouse call per PositionTTL; position listings read the warehouse directly.
// Partners see their tenant's locations only (pkg/tenancy), less the tenant's buffer.
//
// Reserve and Release are not implemented yet: reservations belong to the order-to-cash work
// still to come, and until then they answer Unimplemented.
package inventory

import (
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"time"

	"golang.org/x/sync/singleflight"

	"github.com/retailbridge/retailbridge/pkg/cache"
	"github.com/retailbridge/retailbridge/pkg/tenancy"

	canonicalv1 "github.com/retailbridge/retailbridge/pkg/gen/retailbridge/canonical/v1"
	inventoryv1 "github.com/retailbridge/retailbridge/pkg/gen/retailbridge/process/inventory/v1"
	wmsv1 "github.com/retailbridge/retailbridge/pkg/gen/retailbridge/system/wms/v1"
)

// Defaults for Config fields left zero.
const (
	DefaultPositionTTL  = 5 * time.Second
	DefaultCacheEntries = 100_000
)

// Config configures the inventory service.
type Config struct {
	// PositionTTL is how long positions read from the warehouse are served; default 5s. Stock
	// moves quickly, so it stays short: long enough to absorb a burst of polls, short enough
	// that a partner's figure trails the warehouse by seconds.
	PositionTTL time.Duration
	// CacheEntries caps the position cache, in SKUs; default 100000.
	CacheEntries int
}

func (c Config) withDefaults() Config {
	if c.PositionTTL == 0 {
		c.PositionTTL = DefaultPositionTTL
	}
	if c.CacheEntries == 0 {
		c.CacheEntries = DefaultCacheEntries
	}
	return c
}

// Validate names every bad field at once.
func (c Config) Validate() error {
	var bad []string
	if c.PositionTTL < 0 {
		bad = append(bad, "PositionTTL: must not be negative")
	}
	if c.CacheEntries < 0 {
		bad = append(bad, "CacheEntries: must not be negative")
	}
	if len(bad) > 0 {
		return fmt.Errorf("inventory config: %s", strings.Join(bad, "; "))
	}
	return nil
}

// Deps are the service's collaborators.
type Deps struct {
	// WMS reads stock positions; required.
	WMS wmsv1.WmsServiceClient
	// Tenants is the partner directory; nil means no tenants, so every partner owns nothing.
	Tenants *tenancy.Directory
	// Logger defaults to discarding.
	Logger *slog.Logger
	// Now is the clock; defaults to time.Now.
	Now func() time.Time
}

// Service implements inventoryv1.InventoryServiceServer.
type Service struct {
	inventoryv1.UnimplementedInventoryServiceServer

	wms     wmsv1.WmsServiceClient
	tenants *tenancy.Directory
	log     *slog.Logger

	// positions holds each SKU's positions at every location; a SKU the warehouse does not
	// stock is held as empty, so polling for it does not cost a call each time.
	positions *cache.Cache[string, []*canonicalv1.InventoryPosition]
	// flight lets concurrent requests missing the same SKUs share one warehouse call.
	flight singleflight.Group
}

var _ inventoryv1.InventoryServiceServer = (*Service)(nil)

// New returns the service. Config fields left zero take their defaults.
func New(cfg Config, deps Deps) (*Service, error) {
	cfg = cfg.withDefaults()
	err := cfg.Validate()
	if deps.WMS == nil {
		err = errors.Join(err, errors.New("inventory deps: WMS required"))
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
	return &Service{
		wms:       deps.WMS,
		tenants:   deps.Tenants,
		log:       deps.Logger,
		positions: cache.New[string, []*canonicalv1.InventoryPosition](cfg.PositionTTL, cfg.CacheEntries, deps.Now),
	}, nil
}
