package inventory

import (
	"context"
	"time"

	canonicalv1 "github.com/retailbridge/retailbridge/pkg/gen/retailbridge/canonical/v1"
)

// storefrontAccuracyEvery is how often the pusher measures how far the storefront is in step.
const storefrontAccuracyEvery = 30 * time.Second

// measureStorefront sets the push channel's sync accuracy against the storefront: the share of
// the ledger's positions at pushed locations whose last confirmed push equals their
// available-to-sell now (a position never pushed is out of step). It reads the store only: the
// storefront's own figure is what the last confirmed push left, or a conflict corrects it.
func (p *pusher) measureStorefront(ctx context.Context) error {
	pushed := map[pushKey]int64{}
	rows, err := p.s.db.Query(ctx, `SELECT sku, location_id, pushed_quantity FROM inventory_push_state`)
	if err != nil {
		return err
	}
	for rows.Next() {
		var k pushKey
		var q int64
		if err := rows.Scan(&k.sku, &k.location, &q); err != nil {
			rows.Close()
			return err
		}
		pushed[k] = q
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return err
	}
	var locs []string
	for loc := range p.cfg.Locations {
		locs = append(locs, loc)
	}
	positions, err := readPositions(ctx, p.s.db, positionFilter{locations: locs})
	if err != nil {
		return err
	}
	var compared, agreed int
	for _, pos := range positions {
		k := pushKey{pos.GetSku(), pos.GetLocationId()}
		sc, ch, err := p.s.withChannel(scope{locations: []string{k.location}, set: map[string]bool{k.location: true}}, p.cfg.Channel)
		if err != nil {
			return err
		}
		target := availabilityOf(k.sku, []*canonicalv1.InventoryPosition{pos}, sc, ch).GetAvailableToSell()
		compared++
		if q, ok := pushed[k]; ok && q == target {
			agreed++
		}
	}
	if compared > 0 {
		p.s.metrics.syncAccuracy.WithLabelValues(p.cfg.Channel, "storefront").Set(float64(agreed) / float64(compared))
	}
	return nil
}
