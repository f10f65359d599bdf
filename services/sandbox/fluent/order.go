package fluent

import (
	"encoding/json"
	"fmt"
	"net/http"
)

// createInput is the part of CreateOrderInput the sandbox reads.
type createInput struct {
	Input struct {
		Ref              string `json:"ref"`
		Type             string `json:"type"`
		FulfilmentChoice struct {
			PickupLocationRef string `json:"pickupLocationRef"`
		} `json:"fulfilmentChoice"`
		Items []struct {
			Ref        string `json:"ref"`
			ProductRef string `json:"productRef"`
			Quantity   int64  `json:"quantity"`
		} `json:"items"`
	} `json:"input"`
}

// createOrder creates an order (refs are unique) and sources it at once.
func (s *Sandbox) createOrder(vars json.RawMessage) (any, error) {
	var in createInput
	if err := json.Unmarshal(vars, &in); err != nil {
		return nil, fmt.Errorf("variables: %w", err)
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	switch {
	case in.Input.Ref == "":
		s.refusals++
		return nil, fmt.Errorf("CreateOrderInput.ref is required")
	case s.byRef[in.Input.Ref] != nil:
		s.refusals++
		return nil, fmt.Errorf("an order with ref %s already exists", in.Input.Ref)
	case in.Input.Type != "HD" && in.Input.Type != "CC":
		s.refusals++
		return nil, fmt.Errorf("order type %q has no workflow in this account (HD, CC)", in.Input.Type)
	case len(in.Input.Items) == 0:
		s.refusals++
		return nil, fmt.Errorf("CreateOrderInput.items must not be empty")
	}
	o := &order{id: s.newRef(""), ref: in.Input.Ref, typ: in.Input.Type, status: "RECEIVED", pickup: in.Input.FulfilmentChoice.PickupLocationRef}
	for _, it := range in.Input.Items {
		o.items = append(o.items, item{ref: it.Ref, sku: it.ProductRef, qty: it.Quantity})
	}
	s.source(o)
	s.orders[o.id], s.byRef[o.ref] = o, o
	s.created++
	return map[string]any{"createOrder": map[string]any{"id": o.id, "ref": o.ref, "type": o.typ, "status": o.status}}, nil
}

// source allocates the order: one location that can fill it all (the pick-up store first),
// else each line from the location holding most of it; unfillable lines are REJECTED.
func (s *Sandbox) source(o *order) {
	candidates := s.sortedLocations()
	if o.pickup != "" {
		candidates = append([]string{o.pickup}, candidates...)
	}
	for _, loc := range candidates {
		if s.canFill(loc, o.items) {
			f := s.fulfil(o, loc)
			for _, it := range o.items {
				s.take(f, it)
			}
			o.status = "BOOKED"
			return
		}
	}
	byLoc := map[string]*fulfilment{}
	o.status = "BOOKED"
	for _, it := range o.items {
		best, most := "", int64(0)
		for _, loc := range s.sortedLocations() {
			if n := s.onHand[loc][it.sku]; n >= it.qty && n > most {
				best, most = loc, n
			}
		}
		if best == "" {
			o.fulfilments = append(o.fulfilments, &fulfilment{ref: s.newRef("F"), status: "REJECTED", location: "",
				lines: map[string]int64{it.ref: it.qty}, skus: map[string]int64{it.sku: it.qty}})
			o.status = "PARTIALLY_BOOKED"
			continue
		}
		if byLoc[best] == nil {
			byLoc[best] = s.fulfil(o, best)
		}
		s.take(byLoc[best], it)
	}
}

func (s *Sandbox) canFill(loc string, items []item) bool {
	need := map[string]int64{}
	for _, it := range items {
		need[it.sku] += it.qty
	}
	for sku, q := range need {
		if s.onHand[loc][sku] < q {
			return false
		}
	}
	return true
}

func (s *Sandbox) fulfil(o *order, loc string) *fulfilment {
	f := &fulfilment{ref: s.newRef("F"), status: "CREATED", location: loc, lines: map[string]int64{}, skus: map[string]int64{}}
	o.fulfilments = append(o.fulfilments, f)
	return f
}

func (s *Sandbox) take(f *fulfilment, it item) {
	f.lines[it.ref] += it.qty
	f.skus[it.sku] += it.qty
	s.onHand[f.location][it.sku] -= it.qty
}

func (s *Sandbox) ordersByRef(vars json.RawMessage) (any, error) {
	var in struct {
		Ref []string `json:"ref"`
	}
	if err := json.Unmarshal(vars, &in); err != nil {
		return nil, fmt.Errorf("variables: %w", err)
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	edges := []any{}
	for _, ref := range in.Ref {
		if o := s.byRef[ref]; o != nil {
			edges = append(edges, map[string]any{"node": o.node()})
		}
	}
	return map[string]any{"orders": map[string]any{"edges": edges}}, nil
}

func (s *Sandbox) orderByID(vars json.RawMessage) (any, error) {
	var in struct {
		ID string `json:"id"`
	}
	if err := json.Unmarshal(vars, &in); err != nil {
		return nil, fmt.Errorf("variables: %w", err)
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	o := s.orders[in.ID]
	if o == nil {
		return map[string]any{"order": nil}, nil
	}
	return map[string]any{"order": o.node()}, nil
}

// node renders an order with its fulfilments as the GraphQL API does (connections of edges).
func (o *order) node() map[string]any {
	fs := []any{}
	for _, f := range o.fulfilments {
		items := []any{}
		for ref, q := range f.lines {
			items = append(items, map[string]any{"node": map[string]any{"orderItem": map[string]any{"ref": ref}, "requestedQuantity": q}})
		}
		fs = append(fs, map[string]any{"node": map[string]any{"ref": f.ref, "status": f.status,
			"fromLocation": map[string]any{"ref": f.location}, "items": map[string]any{"edges": items}}})
	}
	return map[string]any{"id": o.id, "ref": o.ref, "type": o.typ, "status": o.status, "fulfilments": map[string]any{"edges": fs}}
}

func (s *Sandbox) positions(vars json.RawMessage) (any, error) {
	var in struct {
		ProductRef  []string `json:"productRef"`
		LocationRef []string `json:"locationRef"`
	}
	if len(vars) > 0 {
		if err := json.Unmarshal(vars, &in); err != nil {
			return nil, fmt.Errorf("variables: %w", err)
		}
	}
	want := func(list []string, v string) bool {
		if len(list) == 0 {
			return true
		}
		for _, x := range list {
			if x == v {
				return true
			}
		}
		return false
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	edges := []any{}
	for _, loc := range s.sortedLocations() {
		for sku, n := range s.onHand[loc] {
			if want(in.ProductRef, sku) && want(in.LocationRef, loc) {
				edges = append(edges, map[string]any{"node": map[string]any{"productRef": sku, "locationRef": loc, "onHand": n}})
			}
		}
	}
	return map[string]any{"inventoryPositions": map[string]any{"edges": edges}}, nil
}

// serveEvent takes CancelOrder: open fulfilments are cancelled and their units go back on hand.
func (s *Sandbox) serveEvent(w http.ResponseWriter, r *http.Request) {
	var ev struct {
		Name       string `json:"name"`
		EntityType string `json:"entityType"`
		EntityID   string `json:"entityId"`
		EntityRef  string `json:"entityRef"`
	}
	if err := json.NewDecoder(r.Body).Decode(&ev); err != nil || ev.Name == "" {
		writeJSON(w, http.StatusBadRequest, map[string]any{"message": "an event needs a name"})
		return
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	o := s.orders[ev.EntityID]
	if o == nil {
		o = s.byRef[ev.EntityRef]
	}
	if ev.Name != "CancelOrder" || ev.EntityType != "ORDER" || o == nil {
		writeJSON(w, http.StatusBadRequest, map[string]any{"message": "no ruleset for " + ev.Name + " on " + ev.EntityType})
		return
	}
	if o.status != "CANCELLED" {
		for _, f := range o.fulfilments {
			if f.status == "CREATED" {
				for sku, q := range f.skus {
					s.onHand[f.location][sku] += q
				}
				f.status = "CANCELLED"
			}
		}
		o.status = "CANCELLED"
		s.cancels++
	}
	writeJSON(w, http.StatusOK, map[string]any{"id": s.newRef("E"), "eventStatus": "PENDING"})
}
