package shopify

import (
	"context"
	"encoding/json"
	"fmt"
	"hash/fnv"
	"slices"
	"strconv"
	"strings"

	"github.com/graph-gophers/graphql-go"
)

// Inventory: an inventory item per SKU, stocked at every location, with one quantity name the
// sandbox tracks ("available"). inventorySetQuantities sets it with Shopify's compare-and-set
// (changeFromQuantity: a stale value is CHANGE_FROM_QUANTITY_STALE and changes nothing) and its
// @idempotent key (mandatory from 2026-04: a repeat returns the first result and changes
// nothing). Levels live in memory: a restarted sandbox starts with every level at zero.

// availableName is the quantity name the sandbox tracks.
const availableName = "available"

// maxInventoryQuantity is Shopify's ceiling for a quantity.
const maxInventoryQuantity = 1_000_000_000

type inventoryItem struct {
	id  string // numeric
	sku string
}

type inventoryKey struct{ item, location string }

// adjustmentGroup is what one inventorySetQuantities did.
type adjustmentGroup struct {
	id, reason, reference string
	changes               []*inventoryChange
}

type inventoryChange struct {
	st       *store
	item     *inventoryItem
	location *location
	delta    int
	after    int
}

// inventoryItemID derives a stable numeric id from the SKU.
func inventoryItemID(sku string) string {
	h := fnv.New64a()
	_, _ = h.Write([]byte(sku))
	return strconv.FormatUint(h.Sum64()%9_000_000_000+1_000_000_000, 10)
}

// item returns the SKU's inventory item, creating it (as a merchant adding a variant would) when
// create is set; the caller holds the write lock when creating.
func (st *store) item(sku string, create bool) *inventoryItem {
	if it := st.itemsBySKU[sku]; it != nil || !create {
		return it
	}
	it := &inventoryItem{id: inventoryItemID(sku), sku: sku}
	st.itemsBySKU[sku] = it
	st.itemsByID[it.id] = it
	return it
}

// locationByID finds a location by its numeric id.
func (st *store) locationByID(id string) *location {
	if st.warehouse.id == id {
		return st.warehouse
	}
	for _, l := range st.stores {
		if l.id == id {
			return l
		}
	}
	return nil
}

// itemsInOrder lists the items by id.
func (st *store) itemsInOrder(sku string) []*inventoryItem {
	var out []*inventoryItem
	for _, it := range st.itemsByID { // by id: a SKU two items share lists both
		if sku == "" || it.sku == sku {
			out = append(out, it)
		}
	}
	slices.SortFunc(out, func(a, b *inventoryItem) int { return strings.Compare(a.id, b.id) })
	return out
}

type inventoryItemsArgs struct {
	First, Last   *int32
	After, Before *string
	Reverse       bool
	Query         *string
}

// InventoryItems lists inventory items; the query understands sku:<sku> (quotes allowed).
func (r *rootResolver) InventoryItems(args inventoryItemsArgs) (*connection[*inventoryItemResolver], error) {
	sku := ""
	if args.Query != nil {
		q := strings.TrimSpace(*args.Query)
		if v, ok := strings.CutPrefix(q, "sku:"); ok {
			sku = strings.Trim(v, `"'`)
		}
	}
	var list []*inventoryItemResolver
	for _, it := range r.st.itemsInOrder(sku) {
		list = append(list, &inventoryItemResolver{st: r.st, it: it})
	}
	return paginate(list, func(i *inventoryItemResolver) string { return i.it.id },
		pageArgs{First: args.First, After: args.After, Last: args.Last, Before: args.Before, Reverse: args.Reverse})
}

type inventoryItemResolver struct {
	st *store
	it *inventoryItem
}

func (i *inventoryItemResolver) ID() graphql.ID { return gid("InventoryItem", i.it.id) }
func (i *inventoryItemResolver) Sku() *string   { return &i.it.sku }
func (i *inventoryItemResolver) Tracked() bool  { return true }

// Variants are the item's variant (one); its id is derived from the item's.
func (i *inventoryItemResolver) Variants(args struct {
	First, Last   *int32
	After, Before *string
}) (*connection[*variantResolver], error) {
	return paginate([]*variantResolver{{it: i.it}}, func(v *variantResolver) string { return variantID(v.it.id) },
		pageArgs{First: args.First, After: args.After, Last: args.Last, Before: args.Before})
}

type variantResolver struct{ it *inventoryItem }

func (v *variantResolver) ID() graphql.ID { return gid("ProductVariant", variantID(v.it.id)) }
func (v *variantResolver) Sku() *string   { return &v.it.sku }

// variantID derives a stable numeric variant id from its inventory item's id.
func variantID(itemID string) string {
	h := fnv.New64a()
	_, _ = h.Write([]byte("variant\x00" + itemID))
	return strconv.FormatUint(h.Sum64()%9_000_000_000+40_000_000_000, 10)
}

// InventoryLevel is the item's level at a location (every item is stocked everywhere).
func (i *inventoryItemResolver) InventoryLevel(args struct{ LocationID graphql.ID }) *inventoryLevelResolver {
	id, err := parseGID("Location", args.LocationID)
	loc := i.st.locationByID(id)
	if err != nil || loc == nil {
		return nil
	}
	return &inventoryLevelResolver{st: i.st, it: i.it, loc: loc}
}

type inventoryLevelResolver struct {
	st  *store
	it  *inventoryItem
	loc *location
}

func (l *inventoryLevelResolver) ID() graphql.ID {
	return gid("InventoryLevel", l.it.id+"?inventory_item_id="+l.loc.id)
}
func (l *inventoryLevelResolver) Location() *location { return l.loc }

// Quantities answers the names asked; the sandbox tracks available only, others are zero.
func (l *inventoryLevelResolver) Quantities(args struct{ Names []string }) []*inventoryQuantity {
	out := make([]*inventoryQuantity, 0, len(args.Names))
	for _, n := range args.Names {
		q := 0
		if n == availableName {
			q = l.st.levels[inventoryKey{l.it.id, l.loc.id}]
		}
		out = append(out, &inventoryQuantity{id: l.it.id + "-" + l.loc.id + "-" + n, name: n, quantity: q})
	}
	return out
}

type inventoryQuantity struct {
	id, name string
	quantity int
}

func (q *inventoryQuantity) ID() graphql.ID {
	return graphql.ID("gid://shopify/InventoryQuantity/" + q.id)
}
func (q *inventoryQuantity) Name() string { return q.name }
func (q *inventoryQuantity) Quantity() int32 {
	return int32(q.quantity)
}

type inventoryQuantityInput struct {
	InventoryItemID    graphql.ID
	LocationID         graphql.ID
	Quantity           int32
	ChangeFromQuantity *int32
}

type inventorySetInput struct {
	Name                 string
	Reason               string
	ReferenceDocumentURI *string
	Quantities           []inventoryQuantityInput
}

type inventorySetPayload struct {
	group  *adjustmentGroup
	errors []*userError
}

func (p *inventorySetPayload) InventoryAdjustmentGroup() *adjustmentGroup { return p.group }
func (p *inventorySetPayload) UserErrors() []*userError                   { return orEmpty(p.errors) }

func (g *adjustmentGroup) ID() graphql.ID { return gid("InventoryAdjustmentGroup", g.id) }
func (g *adjustmentGroup) Reason() string { return g.reason }
func (g *adjustmentGroup) ReferenceDocumentUri() *string {
	if g.reference == "" {
		return nil
	}
	return &g.reference
}

// Changes lists the group's changes (the filters are accepted and applied).
func (g *adjustmentGroup) Changes(args struct {
	InventoryItemIds *[]graphql.ID
	LocationIds      *[]graphql.ID
	QuantityNames    *[]string
}) []*inventoryChange {
	var out []*inventoryChange
	for _, c := range g.changes {
		if args.InventoryItemIds != nil && !slices.Contains(*args.InventoryItemIds, gid("InventoryItem", c.item.id)) {
			continue
		}
		if args.LocationIds != nil && !slices.Contains(*args.LocationIds, gid("Location", c.location.id)) {
			continue
		}
		if args.QuantityNames != nil && !slices.Contains(*args.QuantityNames, availableName) {
			continue
		}
		out = append(out, c)
	}
	return out
}

func (c *inventoryChange) Name() string                { return availableName }
func (c *inventoryChange) Delta() int32                { return int32(c.delta) }
func (c *inventoryChange) QuantityAfterChange() *int32 { a := int32(c.after); return &a }
func (c *inventoryChange) Location() *location         { return c.location }
func (c *inventoryChange) Item() *inventoryItemResolver {
	return &inventoryItemResolver{st: c.st, it: c.item}
}

// InventorySetQuantities sets available quantities, all or none.
func (r *rootResolver) InventorySetQuantities(ctx context.Context, args struct{ Input inventorySetInput }) (*inventorySetPayload, error) {
	st, in := r.st, args.Input
	c := callFrom(ctx)
	key := c.keys["inventorySetQuantities"]
	fp, _ := json.Marshal(in)
	if prev, seen := st.idempotent.Get(key); key != "" && seen {
		if prev.mutation != "inventorySetQuantities" || prev.fingerprint != string(fp) {
			return &inventorySetPayload{errors: fail("IDEMPOTENCY_KEY_PARAMETER_MISMATCH",
				"The same idempotency key cannot be used with different operation parameters.")}, nil
		}
		return &inventorySetPayload{group: prev.group}, nil // the first result; nothing happens again
	}
	p := st.inventorySet(in)
	if key != "" && p.group != nil {
		st.idempotent.Put(key, idempotentRun{mutation: "inventorySetQuantities", fingerprint: string(fp), group: p.group})
	}
	return p, nil
}

// inventorySet validates every quantity, then applies them; the caller holds the write lock.
func (st *store) inventorySet(in inventorySetInput) *inventorySetPayload {
	if in.Name != availableName && in.Name != "on_hand" {
		return &inventorySetPayload{errors: fail("INVALID_NAME", "The quantity name must be available or on_hand.", "input", "name")}
	}
	if strings.TrimSpace(in.Reason) == "" || !validReasons[in.Reason] {
		return &inventorySetPayload{errors: fail("INVALID_REASON", "The reason is not valid.", "input", "reason")}
	}
	type planned struct {
		it  *inventoryItem
		loc *location
		q   int
	}
	var plan []planned
	for i, q := range in.Quantities {
		field := []string{"input", "quantities", strconv.Itoa(i)}
		itemID, err := parseGID("InventoryItem", q.InventoryItemID)
		it := st.itemsByID[itemID]
		if err != nil || it == nil {
			return &inventorySetPayload{errors: fail("INVALID_INVENTORY_ITEM", "The inventory item does not exist.", append(field, "inventoryItemId")...)}
		}
		locID, err := parseGID("Location", q.LocationID)
		loc := st.locationByID(locID)
		if err != nil || loc == nil {
			return &inventorySetPayload{errors: fail("INVALID_LOCATION", "The location does not exist.", append(field, "locationId")...)}
		}
		switch {
		case q.Quantity < 0:
			return &inventorySetPayload{errors: fail("INVALID_QUANTITY_NEGATIVE", "The quantity can't be negative.", append(field, "quantity")...)}
		case q.Quantity > maxInventoryQuantity:
			return &inventorySetPayload{errors: fail("INVALID_QUANTITY_TOO_HIGH", "The quantity is too high.", append(field, "quantity")...)}
		}
		if cur := st.levels[inventoryKey{it.id, loc.id}]; q.ChangeFromQuantity != nil && int(*q.ChangeFromQuantity) != cur {
			return &inventorySetPayload{errors: fail("CHANGE_FROM_QUANTITY_STALE",
				fmt.Sprintf("The specified changeFromQuantity %d does not match the persisted value.", *q.ChangeFromQuantity),
				append(field, "changeFromQuantity")...)}
		}
		plan = append(plan, planned{it, loc, int(q.Quantity)})
	}
	g := &adjustmentGroup{id: st.newID(), reason: in.Reason}
	if in.ReferenceDocumentURI != nil {
		g.reference = *in.ReferenceDocumentURI
	}
	for _, p := range plan {
		k := inventoryKey{p.it.id, p.loc.id}
		delta := p.q - st.levels[k]
		st.levels[k] = p.q
		g.changes = append(g.changes, &inventoryChange{st: st, item: p.it, location: p.loc, delta: delta, after: p.q})
		st.inventoryChanges++
	}
	return &inventorySetPayload{group: g}
}

// validReasons are Shopify's inventory change reasons.
var validReasons = map[string]bool{
	"correction": true, "cycle_count_available": true, "damaged": true, "movement_created": true,
	"movement_updated": true, "movement_received": true, "movement_canceled": true, "other": true,
	"promotion": true, "quality_control": true, "received": true, "reservation_created": true,
	"reservation_deleted": true, "reservation_updated": true, "restock": true, "safety_stock": true,
	"shrinkage": true,
}

// SetAvailable sets a level by hand, as a merchant editing stock in the admin would (the item is
// created for a SKU the shop did not have).
func (s *Sandbox) SetAvailable(sku, locationID string, quantity int) {
	s.store.mu.Lock()
	defer s.store.mu.Unlock()
	it := s.store.item(sku, true)
	s.store.levels[inventoryKey{it.id, locationID}] = quantity
}

// AddInventoryItem gives the shop an inventory item for sku (stocked at zero everywhere) and
// returns its numeric id.
func (s *Sandbox) AddInventoryItem(sku string) string {
	s.store.mu.Lock()
	defer s.store.mu.Unlock()
	return s.store.item(sku, true).id
}

// Available is the level's available quantity, and whether the SKU has an inventory item.
func (s *Sandbox) Available(sku, locationID string) (int, bool) {
	s.store.mu.RLock()
	defer s.store.mu.RUnlock()
	it := s.store.item(sku, false)
	if it == nil {
		return 0, false
	}
	return s.store.levels[inventoryKey{it.id, locationID}], true
}

// InventoryChanges is how many level changes inventorySetQuantities applied (a replayed key
// applies none).
func (s *Sandbox) InventoryChanges() int {
	s.store.mu.RLock()
	defer s.store.mu.RUnlock()
	return s.store.inventoryChanges
}

// RemoveInventoryItem deletes the SKU's inventory items (and so its variant), as a merchant
// deleting the variant would.
func (s *Sandbox) RemoveInventoryItem(sku string) {
	s.store.mu.Lock()
	defer s.store.mu.Unlock()
	for id, it := range s.store.itemsByID {
		if it.sku == sku {
			delete(s.store.itemsByID, id)
		}
	}
	delete(s.store.itemsBySKU, sku)
}

// ReplaceInventoryItem deletes the SKU's inventory item and creates another for it (a variant
// deleted and created again gets new ids), returning the new item's id.
func (s *Sandbox) ReplaceInventoryItem(sku string) string {
	s.RemoveInventoryItem(sku)
	s.store.mu.Lock()
	defer s.store.mu.Unlock()
	it := &inventoryItem{id: inventoryItemID("replaced\x00" + sku), sku: sku}
	s.store.itemsBySKU[sku], s.store.itemsByID[it.id] = it, it
	return it.id
}

// AddDuplicateItem gives sku a second inventory item (two variants a merchant typed the same SKU
// on) and returns its id.
func (s *Sandbox) AddDuplicateItem(sku string) string {
	s.store.mu.Lock()
	defer s.store.mu.Unlock()
	it := &inventoryItem{id: inventoryItemID("duplicate\x00" + sku), sku: sku}
	s.store.itemsByID[it.id] = it
	return it.id
}

// CostStats reports how much of the cost bucket clients ever had in use and how often they were
// throttled, for benchmarks that must stay within the budget.
func (s *Sandbox) CostStats() CostStats { return s.bucket.stats() }

// IdempotencyKeys is how many @idempotent keys the shop remembers now (at most
// Options.IdempotencyKeys).
func (s *Sandbox) IdempotencyKeys() int {
	s.store.mu.RLock()
	defer s.store.mu.RUnlock()
	return s.store.idempotent.Len()
}
