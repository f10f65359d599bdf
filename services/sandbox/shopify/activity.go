package shopify

import (
	"encoding/json"
	"fmt"
	"slices"
	"time"

	"github.com/retailbridge/retailbridge/services/sandbox/demo"
)

// Shop activity: what customers and the merchant do in the shop itself (a checkout, an edit in
// Shopify's admin, a cancellation, a fulfilment marked shipped) rather than through the Admin
// API. Each changes the shop, is kept in the state file, and is announced like Shopify announces
// it: orders/create, orders/updated, orders/cancelled, fulfillments/create, with the same
// signing and delivery faults as every other webhook.

// Webhook topics of shop activity.
const (
	TopicOrdersCreate       = "orders/create"
	TopicOrdersCancelled    = "orders/cancelled"
	TopicFulfillmentsCreate = "fulfillments/create"
	TopicFulfillmentsUpdate = "fulfillments/update"
)

// PlaceOrder is a checkout: a new order for a customer the shop knows, with lines (SKU, title,
// quantity and unit price in minor units; ids are assigned), paid, unfulfilled, shipped to the
// customer's address. It returns the new order's id.
func (s *Sandbox) PlaceOrder(customerID string, lines []demo.Line) (string, error) {
	return s.activity(func(st *store) (string, []webhook, error) {
		var c *demo.Customer
		for _, o := range st.orders {
			if o.customer != nil && o.customer.ID == customerID {
				c = o.customer
				break
			}
		}
		if c == nil {
			return "", nil, fmt.Errorf("shopify sandbox: no customer %s", customerID)
		}
		if len(lines) == 0 {
			return "", nil, fmt.Errorf("shopify sandbox: an order needs lines")
		}
		now := st.now().UTC()
		src := demo.Order{ID: st.newID(), CustomerID: customerID, Channel: "web", FulfillmentModel: demo.ShipToHome,
			FinancialStatus: "PAID", FulfillmentStatus: "UNFULFILLED", Currency: "USD", CreatedAt: now}
		src.Name = "#S" + src.ID[len(src.ID)-4:]
		for _, l := range lines {
			l.ID, l.Fulfilled, l.Refunded, l.Returned = st.newID(), 0, 0, 0
			src.Lines = append(src.Lines, l)
		}
		o := st.build(src, c, now, st.seed, noExtra)
		o.updatedAt, o.placed = now, true
		st.orders = slices.Insert(st.orders, 0, o)
		st.byID[src.ID] = o
		return src.ID, []webhook{st.orderWebhook(TopicOrdersCreate, o)}, nil
	})
}

// UpdateOrder is a merchant's edit in Shopify's admin that changes nothing Retailbridge reads
// but the order's updated_at: orders/updated.
func (s *Sandbox) UpdateOrder(id string) error {
	_, err := s.activity(func(st *store) (string, []webhook, error) {
		o := st.byID[id]
		if o == nil {
			return "", nil, fmt.Errorf("shopify sandbox: no order %s", id)
		}
		o.updatedAt = st.later(o)
		o.touched = true
		return id, []webhook{st.orderWebhook(TopicOrdersUpdated, o)}, nil
	})
	return err
}

// CancelOrder cancels an order: orders/cancelled, then orders/updated, as Shopify sends both.
func (s *Sandbox) CancelOrder(id string) error {
	_, err := s.activity(func(st *store) (string, []webhook, error) {
		o := st.byID[id]
		if o == nil {
			return "", nil, fmt.Errorf("shopify sandbox: no order %s", id)
		}
		if o.cancelledAt != nil {
			return "", nil, fmt.Errorf("shopify sandbox: order %s is already cancelled", id)
		}
		now := st.later(o)
		o.cancelledAt, o.updatedAt, o.touched = &now, now, true
		return id, []webhook{st.orderWebhook(TopicOrdersCancelled, o), st.orderWebhook(TopicOrdersUpdated, o)}, nil
	})
	return err
}

// FulfillOrder ships every unfulfilled unit of an order the shop placed (PlaceOrder) in one
// fulfilment from the warehouse: fulfillments/create, then orders/updated.
func (s *Sandbox) FulfillOrder(id string) error {
	_, err := s.activity(func(st *store) (string, []webhook, error) {
		o := st.byID[id]
		if o == nil || !o.placed {
			return "", nil, fmt.Errorf("shopify sandbox: no order %s placed by PlaceOrder", id)
		}
		if len(o.fulfills) > 0 || o.cancelledAt != nil {
			return "", nil, fmt.Errorf("shopify sandbox: order %s is fulfilled or cancelled", id)
		}
		now := st.later(o)
		src := o.src
		src.FulfillmentStatus, src.ShippedAt = "FULFILLED", &now
		src.Lines = slices.Clone(src.Lines)
		for i := range src.Lines {
			src.Lines[i].Fulfilled = src.Lines[i].Quantity
		}
		n := st.build(src, o.customer, now, st.seed, noExtra)
		n.updatedAt, n.placed, n.cancelledAt = now, true, o.cancelledAt
		st.byID[id] = n
		st.orders[slices.Index(st.orders, o)] = n
		body, _ := json.Marshal(n.rest().Fulfillments[0])
		return id, []webhook{{topic: TopicFulfillmentsCreate, body: body, at: now}, st.orderWebhook(TopicOrdersUpdated, n)}, nil
	})
	return err
}

// activity runs change under the store's write lock, keeps the result in the state file and
// announces its webhooks, as a mutation does.
func (s *Sandbox) activity(change func(st *store) (string, []webhook, error)) (string, error) {
	s.store.mu.Lock()
	id, hooks, err := change(s.store)
	s.store.mu.Unlock()
	if err != nil {
		return "", err
	}
	out := s.hooks.record(hooks)
	if err := s.commit(); err != nil {
		return "", err
	}
	s.hooks.start(out)
	return id, nil
}

// later is a time in a later second than o's last change: Shopify's updated_at only moves
// forward and is read to the second (REST and GraphQL alike), so two changes in one second would
// be one version to every reader; the sandbox's activity keeps them apart.
func (st *store) later(o *order) time.Time {
	now := st.now().UTC()
	if last := o.updatedAt.Truncate(time.Second); !now.Truncate(time.Second).After(last) {
		now = last.Add(time.Second)
	}
	return now
}

// notBefore is now, or o's last change when the clock reads earlier: a mutation never moves
// updated_at back. Unlike later it may land in the same second as the last change, as on Shopify,
// where two changes within a second carry one updated_at to every reader.
func (st *store) notBefore(o *order, now time.Time) time.Time {
	if now.Before(o.updatedAt) {
		return o.updatedAt
	}
	return now
}

// orderWebhook is a delivery of topic carrying o as it is now; the caller holds the lock.
func (st *store) orderWebhook(topic string, o *order) webhook {
	body, _ := json.Marshal(o.rest())
	return webhook{topic: topic, body: body, at: st.now()}
}

// activityState is an order shop activity placed or changed, as the state file keeps it: placed
// orders are rebuilt from their source, cancellations and edits applied on top.
type activityState struct {
	Source      *demo.Order `json:"source,omitempty"`
	ID          string      `json:"id"`
	CancelledAt *time.Time  `json:"cancelled_at,omitempty"`
}

func (st *store) activitySnapshotLocked() []activityState {
	var out []activityState
	for i := len(st.orders) - 1; i >= 0; i-- { // oldest first, so a restore inserts in order
		o := st.orders[i]
		if !o.placed && !o.touched {
			continue
		}
		a := activityState{ID: o.src.ID, CancelledAt: o.cancelledAt}
		if o.placed {
			src := o.src
			a.Source = &src
		}
		out = append(out, a)
	}
	return out
}

// restoreActivityLocked rebuilds placed orders and reapplies cancellations, before the orders'
// own state (refunds, returns, updated_at) is applied.
func (st *store) restoreActivityLocked(as []activityState) {
	for _, a := range as {
		if a.Source != nil && st.byID[a.ID] == nil {
			var c *demo.Customer
			for _, o := range st.orders {
				if o.customer != nil && o.customer.ID == a.Source.CustomerID {
					c = o.customer
					break
				}
			}
			o := st.build(*a.Source, c, a.Source.CreatedAt, st.seed, noExtra)
			o.placed = true
			st.orders = slices.Insert(st.orders, 0, o)
			st.byID[a.ID] = o
		}
		if o := st.byID[a.ID]; o != nil {
			o.cancelledAt, o.touched = a.CancelledAt, true
		}
	}
}
