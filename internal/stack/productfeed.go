package stack

import (
	"context"
	"fmt"

	"github.com/retailbridge/retailbridge/pkg/store"
	"github.com/retailbridge/retailbridge/services/process/inventory"
	"github.com/retailbridge/retailbridge/services/process/productfeed"
)

// startProductFeed runs the product master exchange next to the inventory process, on its
// store, when PRODUCT_FEED_SFTP_ADDR names a mailbox (docs/flat-files.md). Every replica may
// poll: a file is recorded by name and hash in one transaction, so a file two replicas take at
// once is applied once and the second sees a duplicate.
// It returns the feed's item master for the inventory process's SKU mapping (nil without a feed).
func (s *Stack) startProductFeed(db *store.DB) (inventory.ItemMasterSource, error) {
	cfg, ok, err := productfeed.ConfigFromEnv(s.opts.Config.Lookup)
	if err != nil {
		return nil, fmt.Errorf("product feed: %w", err)
	}
	if !ok {
		return nil, nil
	}
	if err := productfeed.Migrate(s.ctx, db); err != nil {
		return nil, err
	}
	st := productfeed.NewStore(db)
	ex, err := productfeed.NewExchange(cfg, st)
	if err != nil {
		return nil, fmt.Errorf("product feed: %w", err)
	}
	ex.Log = s.logger.With("service", "productfeed")
	s.wg.Go(func() { ex.Run(s.ctx) })
	return feedItems{st}, nil
}

// feedItems hands the product feed's item master to the inventory process, which may not read
// another service's tables itself.
type feedItems struct{ st *productfeed.Store }

func (f feedItems) ItemMasterRows(ctx context.Context) ([]inventory.ItemMasterRow, error) {
	items, err := f.st.Items(ctx)
	if err != nil {
		return nil, err
	}
	out := make([]inventory.ItemMasterRow, 0, len(items))
	for _, it := range items {
		out = append(out, inventory.ItemMasterRow{SKU: it.SKU, ERPItemID: it.ERPItemID, VariantID: it.VariantID,
			WarehouseSKU: it.WarehouseSKU, Active: it.Active})
	}
	return out, nil
}
