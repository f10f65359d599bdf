package demo

import (
	"hash/fnv"
)

// StoreBalance is the ERP's opening on-hand of one item at one store.
type StoreBalance struct {
	SKU, Location string
	OnHand        int64
}

// StoreStock is the stores' opening on-hand as an ERP books it (store stock is posted by the
// stores' point of sale, which only the ERP sees): every catalogue item but gift cards at every
// store, 2..13 units, derived from the SKU and the store so both ERP sandboxes agree.
func (d *Dataset) StoreStock() []StoreBalance {
	var out []StoreBalance
	for _, loc := range Stores {
		for _, it := range d.Items {
			if it.Category == "gift_card" {
				continue
			}
			h := fnv.New32a()
			_, _ = h.Write([]byte(loc + "\x00" + it.SKU))
			out = append(out, StoreBalance{SKU: it.SKU, Location: loc, OnHand: 2 + int64(h.Sum32()%12)})
		}
	}
	return out
}

// LocationChart is an ERP sandbox's chart of locations: its own location ids (NetSuite internal
// ids, Business Central codes) mapped to the demo world's ledger location ids. A sandbox books
// stock under its own ids, as a real ERP does, so the ERP system API's location map is exercised
// for real.
type LocationChart map[string]string

// ID is the chart's id for a demo (ledger) location; any other id is taken as the ERP's own (a
// test planting stock at a location the map lacks).
func (c LocationChart) ID(loc string) string {
	for id, ledger := range c {
		if ledger == loc {
			return id
		}
	}
	return loc
}

// Stock is the balances under the chart's location ids.
func (c LocationChart) Stock(in []StoreBalance) []StoreBalance {
	out := make([]StoreBalance, len(in))
	for i, b := range in {
		b.Location = c.ID(b.Location)
		out[i] = b
	}
	return out
}
