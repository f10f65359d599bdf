package inventory

import (
	"context"
	"fmt"
	"time"

	"github.com/retailbridge/retailbridge/pkg/governor"
	"github.com/retailbridge/retailbridge/pkg/store"

	commercev1 "github.com/retailbridge/retailbridge/pkg/gen/retailbridge/system/commerce/v1"
)

// The item master and SKU mapping: every MappingEvery one replica (the holder of the lease
// "item-master") reads the ERP's items, the storefront's variants and inventory items, the SKUs
// the warehouse stocks and the product feed's item master rows, keeps per SKU the id each system
// gives it (inventory_sku_map), and records what does not line up (inventory_sku_mismatches):
// a SKU one system has and another lacks, an id that changed since the last refresh, a SKU two
// records share, the feed naming other ids than the systems, and ledger movements or storefront
// pushes for a SKU the ERP's item master does not know. Nothing is dropped: a mismatch stays
// listed (ListSkuMismatches) until a refresh no longer sees it.

// Mismatch kinds.
const (
	mismatchMissing     = "missing_in_"
	mismatchChanged     = "mapping_changed"
	mismatchDuplicate   = "duplicate_sku"
	mismatchFeed        = "feed_disagrees"
	mismatchMovement    = "unmapped_movement"
	mismatchPush        = "unmapped_push"
	itemMasterLease     = "item-master"
	systemERP           = "erp"
	systemStorefront    = "storefront"
	systemWarehouse     = "wms"
	systemFeed          = "product_feed"
	systemLedger        = "ledger"
	notInTheERPsMaster  = "the ERP's item master does not know the SKU"
	noStorefrontVariant = "the storefront has no variant for the SKU"
)

// mismatchKinds are every kind, for the metric's closed label set.
var mismatchKinds = []string{mismatchMissing + systemERP, mismatchMissing + systemStorefront, mismatchMissing + systemWarehouse,
	mismatchMissing + systemFeed, mismatchChanged, mismatchDuplicate, mismatchFeed, mismatchMovement, mismatchPush}

// skuMap is one SKU's ids across the systems, as one refresh read them.
type skuMap struct {
	erpItem, variant, inventoryItem, warehouseSKU, feedERPItem, feedVariant string
}

// mismatch is one thing a refresh could not reconcile.
type mismatch struct{ sku, kind, system, detail string }

// sources is what one refresh read; a nil map is a source not configured.
type sources struct {
	erp       map[string][]string              // SKU → ERP item ids
	variants  map[string][]*commercev1.Variant // SKU → variants
	warehouse map[string]bool                  // SKUs the warehouse lists
	feed      map[string]ItemMasterRow         // SKU → product feed row
	ledger    map[string]bool                  // SKUs with ledger positions
	pushed    map[string]bool                  // SKUs with positions at pushed locations
}

// MappingResult says what one refresh saw.
type MappingResult struct {
	// SKUs is how many SKUs any system knows.
	SKUs int
	// Mismatches counts the open mismatches by kind.
	Mismatches map[string]int
}

func (s *Service) mappingLoop(ctx context.Context, every time.Duration) error {
	t := time.NewTicker(every)
	defer t.Stop()
	// The systems' catalogues are bulk reads: customer-facing calls go first at the governor.
	ctx = governor.WithPriority(ctx, governor.Bulk)
	for {
		select {
		case <-ctx.Done():
			return nil
		case <-t.C: // the first refresh is one interval after start, not in the start-up rush
		}
		_, err := withLease(ctx, s.db, itemMasterLease, s.replica, s.now(), every-every/10, func() error {
			_, err := s.RefreshItemMaster(ctx)
			return err
		})
		if err != nil && ctx.Err() == nil {
			s.log.WarnContext(ctx, "item master refresh failed; the mapping keeps its last state", "error", err)
		}
	}
}

// RefreshItemMaster reads every source once, stores the mapping and the mismatches.
func (s *Service) RefreshItemMaster(ctx context.Context) (MappingResult, error) {
	src, err := s.readSources(ctx)
	if err != nil {
		return MappingResult{}, err
	}
	maps, found := src.compare()
	var res MappingResult
	err = s.db.InTx(ctx, func(tx *store.Tx) error {
		changed, err := storeMappings(ctx, tx, maps, s.now())
		if err != nil {
			return err
		}
		res, err = storeMismatches(ctx, tx, append(found, changed...), s.now())
		res.SKUs = len(maps)
		return err
	})
	if err != nil {
		return res, err
	}
	for _, k := range mismatchKinds {
		s.metrics.mismatches.WithLabelValues(k).Set(float64(res.Mismatches[k]))
	}
	// The locations are checked with the same sources' news (location.go).
	if _, err := s.CheckLocations(ctx); err != nil {
		return res, fmt.Errorf("location check: %w", err)
	}
	return res, nil
}
