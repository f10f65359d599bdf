package warehouse

import (
	"math/rand/v2"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/retailbridge/retailbridge/services/sandbox/demo"
)

// Stock states, as the warehouse names them (Shopify's inventory quantity names).
const (
	StateAvailable      = "available"
	StateReserved       = "reserved"
	StateDamaged        = "damaged"
	StateQualityControl = "quality_control"
	StateIncoming       = "incoming"
	StateSafetyStock    = "safety_stock"
)

// Inventory page sizes.
const (
	DefaultPageSize = 100
	MaxPageSize     = 500
)

type position struct {
	sku, location string
	qty           map[string]int64
	version       int64
	updatedAt     time.Time
}

// stock holds positions per (location, SKU). The sandbox's lock guards it.
type stock struct {
	byKey map[string]*position
	keys  []string // sorted: location, then SKU
}

func stockKey(loc, sku string) string { return loc + "\x00" + sku }

// newStock stocks every catalogue item but gift cards at every location with seeded quantities.
func newStock(ds *demo.Dataset, locations []string, seed uint64, now time.Time) *stock {
	st := &stock{byKey: map[string]*position{}}
	if ds == nil {
		return st
	}
	rng := rand.New(rand.NewPCG(seed, 4))
	for _, loc := range locations {
		for _, it := range ds.Items {
			if it.Category == "gift_card" {
				continue
			}
			p := st.get(loc, it.SKU, now)
			p.qty[StateAvailable] = 20 + rng.Int64N(100)
			p.qty[StateReserved] = rng.Int64N(6)
			p.qty[StateDamaged] = rng.Int64N(3)
			p.qty[StateSafetyStock] = 5
			if rng.IntN(3) == 0 {
				p.qty[StateIncoming] = 10 + rng.Int64N(40)
			}
		}
	}
	return st
}

func (st *stock) get(loc, sku string, now time.Time) *position {
	k := stockKey(loc, sku)
	p, ok := st.byKey[k]
	if !ok {
		p = &position{sku: sku, location: loc, qty: map[string]int64{}, version: 1, updatedAt: now}
		st.byKey[k] = p
		i, _ := slices.BinarySearch(st.keys, k)
		st.keys = slices.Insert(st.keys, i, k)
	}
	return p
}

// move takes up to q units out of from ("" for units arriving) into to ("" for units leaving)
// and returns how many moved. Stock never goes negative.
func (st *stock) move(loc, sku, from, to string, q int64, now time.Time) int64 {
	if q <= 0 {
		return 0
	}
	p := st.get(loc, sku, now)
	if from != "" {
		q = min(q, p.qty[from])
		if q == 0 {
			return 0
		}
		p.qty[from] -= q
	}
	if to != "" {
		p.qty[to] += q
	}
	p.version++
	p.updatedAt = now
	return q
}

// positionDoc is one position as GET /v1/inventory shows it.
type positionDoc struct {
	SKU        string           `json:"sku"`
	LocationID string           `json:"location_id"`
	Quantities map[string]int64 `json:"quantities"`
	Version    int64            `json:"version"`
	UpdatedAt  string           `json:"updated_at"`
}

type inventoryPage struct {
	Positions     []positionDoc `json:"positions"`
	NextPageToken string        `json:"next_page_token,omitempty"`
}

func (s *Sandbox) handleInventory(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	size := DefaultPageSize
	var bad []fieldDetail
	if v := q.Get("page_size"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 1 || n > MaxPageSize {
			bad = append(bad, fieldDetail{"page_size", "between 1 and " + strconv.Itoa(MaxPageSize)})
		}
		size = n
	}
	offset := 0
	if v := q.Get("page_token"); v != "" {
		n, err := strconv.Atoi(strings.TrimPrefix(v, "o"))
		if err != nil || n < 0 || !strings.HasPrefix(v, "o") {
			bad = append(bad, fieldDetail{"page_token", "not a token this API issued"})
		}
		offset = n
	}
	if len(bad) > 0 {
		writeError(w, http.StatusBadRequest, "invalid_query", "The query is invalid.", bad)
		return
	}
	skus, locs := q["sku"], q["location_id"]
	s.mu.Lock()
	defer s.mu.Unlock()
	page := inventoryPage{Positions: []positionDoc{}}
	seen := 0
	for _, k := range s.stock.keys {
		p := s.stock.byKey[k]
		if (len(skus) > 0 && !slices.Contains(skus, p.sku)) || (len(locs) > 0 && !slices.Contains(locs, p.location)) {
			continue
		}
		seen++
		if seen <= offset {
			continue
		}
		if len(page.Positions) == size {
			page.NextPageToken = "o" + strconv.Itoa(offset+size)
			break
		}
		qty := make(map[string]int64, len(p.qty))
		for st, n := range p.qty {
			if n != 0 {
				qty[st] = n
			}
		}
		page.Positions = append(page.Positions, positionDoc{SKU: p.sku, LocationID: p.location, Quantities: qty,
			Version: p.version, UpdatedAt: formatTime(p.updatedAt)})
	}
	writeJSON(w, http.StatusOK, page)
}

// Position returns the quantities of sku at loc, per state.
func (s *Sandbox) Position(loc, sku string) map[string]int64 {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := map[string]int64{}
	if p, ok := s.stock.byKey[stockKey(loc, sku)]; ok {
		for st, n := range p.qty {
			if n != 0 {
				out[st] = n
			}
		}
	}
	return out
}
