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
