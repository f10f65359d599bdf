package stack

import (
	"fmt"

	"github.com/retailbridge/retailbridge/pkg/store"
	"github.com/retailbridge/retailbridge/services/process/productfeed"
)

// startProductFeed runs the product master exchange next to the inventory process, on its
// store, when PRODUCT_FEED_SFTP_ADDR names a mailbox (docs/flat-files.md). Every replica may
// poll: a file is recorded by name and hash in one transaction, so a file two replicas take at
// once is applied once and the second sees a duplicate.
func (s *Stack) startProductFeed(db *store.DB) error {
	cfg, ok, err := productfeed.ConfigFromEnv(s.opts.Config.Lookup)
	if err != nil {
		return fmt.Errorf("product feed: %w", err)
	}
	if !ok {
		return nil
	}
	if err := productfeed.Migrate(s.ctx, db); err != nil {
		return err
	}
	ex, err := productfeed.NewExchange(cfg, productfeed.NewStore(db))
	if err != nil {
		return fmt.Errorf("product feed: %w", err)
	}
	ex.Log = s.logger.With("service", "productfeed")
	s.wg.Go(func() { ex.Run(s.ctx) })
	return nil
}
