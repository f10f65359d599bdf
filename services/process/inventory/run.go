package inventory

import (
	"context"
	"errors"
	"fmt"

	"golang.org/x/sync/errgroup"

	"github.com/retailbridge/retailbridge/pkg/events"
	"github.com/retailbridge/retailbridge/pkg/store"
)

// StreamDomain is the domain of the events the inventory process publishes: their types start
// "retailbridge.inventory.".
const StreamDomain = "inventory"

// ConsumerName is the durable consumer (and inbox key) reading the warehouse's events;
// CommerceConsumerName the one reading the commerce platform's (order cancellations).
const (
	ConsumerName         = "inventory-from-wms"
	CommerceConsumerName = "inventory-from-commerce"
)

// Migrate brings db to the ledger's schema (and the outbox and inbox it shares with pkg/events).
func Migrate(db *store.DB) error {
	ctx := context.Background()
	if err := events.Migrate(ctx, db); err != nil {
		return fmt.Errorf("inventory: migrate: %w", err)
	}
	if err := db.Migrate(ctx, "inventory", migrations); err != nil {
		return fmt.Errorf("inventory: migrate: %w", err)
	}
	return nil
}

// Run keeps the ledger fed until ctx ends: the warehouse events consumer, the outbox relay that
// publishes position changes, the reservation expiry sweeper and the warehouse snapshot. Every
// replica runs all of them; each is safe to run more than once (inbox, SKIP LOCKED relay,
// conditional status changes, counts keyed by the warehouse's version).
func (s *Service) Run(ctx context.Context) error {
	g, ctx := errgroup.WithContext(ctx)
	g.Go(func() error { return s.sweepLoop(ctx, s.cfg.SweepEvery) })
	if s.wms != nil && s.cfg.SnapshotEvery > 0 {
		g.Go(func() error { return s.snapshotLoop(ctx, s.cfg.SnapshotEvery) })
	}
	if (s.erp != nil || s.commerce != nil || s.feed != nil) && s.cfg.MappingEvery > 0 {
		g.Go(func() error { return s.mappingLoop(ctx, s.cfg.MappingEvery) })
	}
	if s.erp != nil && s.cfg.ReconcileEvery > 0 {
		g.Go(func() error { return s.reconcileLoop(ctx, s.cfg.ReconcileEvery) })
	}
	if s.erp != nil || s.wms != nil {
		g.Go(func() error { s.checkLocationsOnce(ctx); return nil })
	}
	if s.commerce != nil && len(s.cfg.Push.Locations) > 0 {
		g.Go(func() error { return s.pushLoop(ctx) })
	}
	if s.js != nil {
		for _, domain := range []string{"wms", "commerce", StreamDomain} {
			if _, err := events.EnsureStream(ctx, s.js, domain, events.StreamOptions{}); err != nil {
				return err
			}
		}
		if _, err := events.EnsureDeadLetterStream(ctx, s.js, events.StreamOptions{}); err != nil {
			return err
		}
		relay := events.NewRelay(s.db, s.js, s.outbox, events.RelayConfig{Logger: s.log, Now: s.now})
		g.Go(func() error { return relay.Run(ctx) })
		for name, domain := range map[string]string{ConsumerName: "wms", CommerceConsumerName: "commerce"} {
			cons, err := events.NewConsumer(s.db, s.js, events.ConsumerConfig{
				Name: name, Stream: events.StreamName(domain), Subjects: []string{events.DomainSubjects(domain)},
				Logger: s.log, Now: s.now,
			}, events.HandlerFunc(s.handleEvent))
			if err != nil {
				return err
			}
			g.Go(func() error { return cons.Run(ctx) })
		}
	}
	err := g.Wait()
	if errors.Is(err, context.Canceled) {
		return nil
	}
	return err
}
