package inventory

import (
	"cmp"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/retailbridge/retailbridge/pkg/errs"
	commercev1 "github.com/retailbridge/retailbridge/pkg/gen/retailbridge/system/commerce/v1"
)

// The storefront push: available-to-sell per SKU × location, for one channel, set on the
// storefront through the commerce system API (Shopify inventorySetQuantities). Movements are
// coalesced: a position is pushed once its newest line is Settle old, or MaxDelay after its
// oldest unpushed line however busy it is, with the figure of that moment; a burst of a
// thousand movements on one SKU therefore costs a handful of calls. Each set compares against
// the quantity the last push left (changeFromQuantity): a merchant's hand change is a conflict,
// answered by reading the storefront and setting again. The idempotency key is derived from the
// position, the newest line pushed and the compare and target quantities, so a retry after a
// lost answer replays the first result instead of changing the level twice.

// Defaults for PushConfig fields left zero.
const (
	DefaultPushEvery    = 100 * time.Millisecond
	DefaultPushSettle   = 250 * time.Millisecond
	DefaultPushMaxDelay = 2 * time.Second
	DefaultPushLease    = 10 * time.Second
	// pushAttempts bounds the compare-and-set rounds of one push.
	pushAttempts = 3
	// pushBatch is how many positions one inventorySetQuantities sets (the commerce system API
	// takes up to 50 quantities; Shopify charges the mutation the same 10 points however many).
	pushBatch = 50
	// pushReason is the Shopify reason the pushes carry.
	pushReason = "correction"
)

// PushConfig configures the storefront push; without Locations nothing is pushed.
type PushConfig struct {
	// Channel is the sales channel whose available-to-sell the storefront shows (its buffer and
	// in-transit rule apply).
	Channel string
	// Locations maps a ledger location to the storefront's location id; unmapped locations are
	// not pushed.
	Locations map[string]string
	// Every is how often the ledger is read for new lines; default 100ms.
	Every time.Duration
	// Settle is how long a position must be quiet before it is pushed; default 250ms.
	Settle time.Duration
	// MaxDelay is the longest a changed position waits while it keeps changing; default 2s.
	MaxDelay time.Duration
	// Lease is how long a replica owns the push of a SKU × location without renewing it
	// (lease.go); another replica takes the position over once it lapses; default 10s.
	Lease time.Duration
}

func (c PushConfig) withDefaults() PushConfig {
	if c.Every == 0 {
		c.Every = DefaultPushEvery
	}
	if c.Settle == 0 {
		c.Settle = DefaultPushSettle
	}
	if c.MaxDelay == 0 {
		c.MaxDelay = DefaultPushMaxDelay
	}
	if c.Lease == 0 {
		c.Lease = DefaultPushLease
	}
	return c
}

func (c PushConfig) problems() []string {
	var bad []string
	if c.Every < 0 || c.Settle < 0 || c.MaxDelay < 0 || c.Lease < 0 {
		bad = append(bad, "Push: Every, Settle, MaxDelay and Lease must not be negative")
	}
	for loc, id := range c.Locations {
		if loc == "" || id == "" {
			bad = append(bad, fmt.Sprintf("Push.Locations[%q]: ledger and storefront location must both be named", loc))
		}
	}
	return bad
}

type pushKey struct{ sku, location string }

// dirty is a position with lines the storefront has not seen.
type dirty struct {
	first, last time.Time // recorded_at of the oldest and newest unpushed lines
	seq         int64     // the newest line
}

// pusher holds one replica's view of what is unpushed, and the positions whose push it owns.
type pusher struct {
	s      *Service
	cfg    PushConfig
	cs     commercev1.CommerceServiceClient
	cursor int64
	dirty  map[pushKey]*dirty
	leases *pushLeases
}

func (s *Service) pushLoop(ctx context.Context) error {
	p := &pusher{s: s, cfg: s.cfg.Push, cs: s.commerce, dirty: map[pushKey]*dirty{},
		leases: newPushLeases(s.db, s.replica, s.cfg.Push.Lease)}
	defer p.leases.release()
	t := time.NewTicker(p.cfg.Every)
	defer t.Stop()
	var measured time.Time
	for {
		if err := p.scan(ctx); err != nil && ctx.Err() == nil {
			s.log.WarnContext(ctx, "inventory push: reading the ledger failed", "error", err)
		}
		if err := p.leases.renew(ctx, s.now()); err != nil && ctx.Err() == nil {
			s.log.WarnContext(ctx, "inventory push: renewing leases failed", "error", err)
		}
		p.pushDue(ctx)
		if time.Since(measured) >= storefrontAccuracyEvery {
			if err := p.measureStorefront(ctx); err != nil && ctx.Err() == nil {
				s.log.WarnContext(ctx, "inventory push: measuring the storefront's accuracy failed", "error", err)
			}
			measured = time.Now()
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-t.C:
		}
	}
}

// scan reads the lines after the cursor at mapped locations and marks their positions dirty,
// unless a push (this replica's or another's) already covered them.
func (p *pusher) scan(ctx context.Context) error {
	rows, err := p.s.db.Query(ctx, `SELECT seq, sku, location_id, recorded_at FROM inventory_movements
		WHERE seq > $1 ORDER BY seq`, p.cursor)
	if err != nil {
		return err
	}
	defer rows.Close()
	for rows.Next() {
		var seq int64
		var k pushKey
		var at time.Time
		if err := rows.Scan(&seq, &k.sku, &k.location, &at); err != nil {
			return err
		}
		p.cursor = seq
		if _, mapped := p.cfg.Locations[k.location]; !mapped {
			continue
		}
		d := p.dirty[k]
		if d == nil {
			d = &dirty{first: at}
			p.dirty[k] = d
		}
		d.last, d.seq = at, seq
	}
	return rows.Err()
}

// pushDue pushes the dirty positions that are quiet or have waited long enough.
func (p *pusher) pushDue(ctx context.Context) {
	now := p.s.now()
	var due []pushKey
	for k, d := range p.dirty {
		if now.Sub(d.last) < p.cfg.Settle && now.Sub(d.first) < p.cfg.MaxDelay {
			continue
		}
		owned, err := p.owns(ctx, k, d, now)
		if err != nil || !owned {
			if err != nil && ctx.Err() == nil {
				p.s.log.WarnContext(ctx, "inventory push: taking the lease failed", "sku", k.sku, "location", k.location, "error", err)
			}
			continue
		}
		due = append(due, k)
	}
	slices.SortFunc(due, func(a, b pushKey) int {
		return cmp.Or(strings.Compare(a.location, b.location), strings.Compare(a.sku, b.sku))
	})
	for len(due) > 0 && ctx.Err() == nil {
		n := min(len(due), pushBatch)
		p.pushBatch(ctx, due[:n])
		due = due[n:]
	}
}

// pushOne pushes one position on its own: the fallback of a batch, with its own conflict
// handling, and the unmapped SKU's report.
func (p *pusher) pushOne(ctx context.Context, k pushKey) {
	d := p.dirty[k]
	if d == nil {
		return
	}
	if err := p.push(ctx, k, d); err != nil {
		if e := errs.As(err); e != nil && e.Reason == "inventory_item_not_found" {
			p.unmapped(ctx, k)
			return
		}
		if ctx.Err() == nil {
			p.s.log.WarnContext(ctx, "inventory push failed; it is retried", "sku", k.sku, "location", k.location, "error", err)
		}
		return
	}
	p.done(k, d)
}

// done forgets a pushed position and observes its lag.
func (p *pusher) done(k pushKey, d *dirty) {
	p.s.metrics.pushLag.Observe(p.s.now().Sub(d.first).Seconds())
	delete(p.dirty, k)
}

// push sets the storefront's level to the position's available-to-sell now.
func (p *pusher) push(ctx context.Context, k pushKey, d *dirty) error {
	storeLoc := p.cfg.Locations[k.location]
	var pushed, pushedSeq int64 = -1, 0
	err := p.s.db.QueryRow(ctx, `SELECT pushed_quantity, pushed_seq FROM inventory_push_state WHERE sku = $1 AND location_id = $2`,
		k.sku, k.location).Scan(&pushed, &pushedSeq)
	if err != nil && !isNoRows(err) {
		return err
	}
	if pushedSeq >= d.seq {
		return nil // another replica (or an earlier run) pushed a figure covering these lines
	}
	target, err := p.target(ctx, k)
	if err != nil {
		return err
	}
	compare := pushed
	for attempt := 1; ; attempt++ {
		if compare < 0 {
			if compare, err = p.read(ctx, k.sku, storeLoc); err != nil {
				return err
			}
		}
		if compare != target {
			err = p.set(ctx, k, storeLoc, d.seq, compare, target)
		}
		if err == nil {
			return p.record(ctx, k, target, d.seq)
		}
		if e := errs.As(err); e == nil || e.Reason != "inventory_compare_stale" || attempt >= pushAttempts {
			return err
		}
		p.s.metrics.pushConflicts.Inc()
		compare = -1 // someone changed the storefront: read what it holds and set again
	}
}

func (p *pusher) read(ctx context.Context, sku, storeLoc string) (int64, error) {
	p.s.metrics.pushCalls.WithLabelValues("read").Inc()
	resp, err := p.cs.GetInventoryLevels(ctx, &commercev1.GetInventoryLevelsRequest{
		Levels: []*commercev1.InventoryLevelKey{{Sku: sku, LocationId: storeLoc}}})
	if err != nil {
		return 0, errs.FromError(err)
	}
	return resp.GetLevels()[0].GetAvailable(), nil
}

func (p *pusher) set(ctx context.Context, k pushKey, storeLoc string, seq, compare, target int64) error {
	p.s.metrics.pushCalls.WithLabelValues("set").Inc()
	sum := sha256.Sum256(fmt.Appendf(nil, "%s\x00%s\x00%d\x00%d\x00%d", k.sku, k.location, seq, compare, target))
	_, err := p.cs.SetInventory(ctx, &commercev1.SetInventoryRequest{
		IdempotencyKey: "inv-push-" + hex.EncodeToString(sum[:16]), Reason: pushReason,
		ReferenceDocumentUri: fmt.Sprintf("retailbridge://inventory/%s/%s?seq=%d", k.location, k.sku, seq),
		Quantities:           []*commercev1.InventoryQuantitySet{{Sku: k.sku, LocationId: storeLoc, Quantity: target, CompareQuantity: compare}}})
	if err != nil {
		return errs.FromError(err)
	}
	return nil
}

// target is the channel's available-to-sell of the SKU at the location.
func (p *pusher) target(ctx context.Context, k pushKey) (int64, error) {
	sc, ch, err := p.s.withChannel(scope{locations: []string{k.location}, set: map[string]bool{k.location: true}}, p.cfg.Channel)
	if err != nil {
		return 0, err
	}
	positions, err := readPositions(ctx, p.s.db, positionFilter{skus: []string{k.sku}, locations: []string{k.location}})
	if err != nil {
		return 0, err
	}
	return availabilityOf(k.sku, positions, sc, ch).GetAvailableToSell(), nil
}

// record keeps what the storefront now holds, never moving backwards.
func (p *pusher) record(ctx context.Context, k pushKey, qty, seq int64) error {
	_, err := p.s.db.Exec(ctx, `INSERT INTO inventory_push_state (sku, location_id, pushed_quantity, pushed_seq, pushed_at)
		VALUES ($1, $2, $3, $4, $5)
		ON CONFLICT (sku, location_id) DO UPDATE SET pushed_quantity = excluded.pushed_quantity,
			pushed_seq = excluded.pushed_seq, pushed_at = excluded.pushed_at
		WHERE inventory_push_state.pushed_seq < excluded.pushed_seq`,
		k.sku, k.location, qty, seq, p.s.now().UTC())
	return err
}

// unmapped gives up on a position the storefront has no inventory item for, until it moves
// again, and reports it in the item master's mismatches rather than calling again every tick.
func (p *pusher) unmapped(ctx context.Context, k pushKey) {
	delete(p.dirty, k)
	if err := p.s.recordUnmappedPush(ctx, k.sku, k.location); err != nil && ctx.Err() == nil {
		p.s.log.WarnContext(ctx, "inventory push: recording an unmapped SKU failed", "sku", k.sku, "error", err)
	}
}
