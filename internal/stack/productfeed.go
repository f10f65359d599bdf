package stack

import (
	"fmt"

	"github.com/retailbridge/retailbridge/pkg/store"
	"github.com/retailbridge/retailbridge/services/process/productfeed"
)

// startProductFeed serves the product feed's read API (ProductFeedService, support:read through
// the gateway) next to the inventory process, on its store, and runs the product master
// exchange when PRODUCT_FEED_SFTP_ADDR names a mailbox (docs/flat-files.md); in dev the feed's
// sandbox is started with the vendors' and fills that in. Every replica may poll: a file is
// recorded by name and hash in one transaction, so a file two replicas take at once is applied
// once and the second sees a duplicate.
func (s *Stack) startProductFeed(db *store.DB) (*productfeed.API, error) {
	if err := productfeed.Migrate(s.ctx, db); err != nil {
		return nil, err
	}
	st := productfeed.NewStore(db)
	cfg, ok, err := productfeed.ConfigFromEnv(s.productFeedLookup)
	if err != nil {
		return nil, fmt.Errorf("product feed: %w", err)
	}
	if ok {
		ex, err := productfeed.NewExchange(cfg, st)
		if err != nil {
			return nil, fmt.Errorf("product feed: %w", err)
		}
		ex.Log = s.logger.With("service", "productfeed")
		s.wg.Go(func() { ex.Run(s.ctx) })
	}
	return productfeed.NewAPI(st), nil
}
