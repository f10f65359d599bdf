package shopify

import (
	"context"
	"fmt"
	"strconv"

	"github.com/graph-gophers/graphql-go"
)

// fulfillmentCreate, as the order-to-cash workflow uses it: units of a fulfillment order's line
// items leave with tracking; the order's lines count them as fulfilled, the fulfillment order
// closes when nothing is left, and the order announces the change. (Fulfillments made here are
// not kept in the sandbox's state file: a restarted sandbox shows the demo's fulfilments only.)

// foLineItem is a FulfillmentOrderLineItem: an order line as its fulfillment order sees it.
type foLineItem struct {
	fo   *fulfillmentOrder
	n    int
	line *lineItem
}

func (l *foLineItem) id() string { return l.fo.id + fmt.Sprintf("%02d", l.n+1) }

func (l *foLineItem) ID() graphql.ID       { return gid("FulfillmentOrderLineItem", l.id()) }
func (l *foLineItem) LineItem() *lineItem  { return l.line }
func (l *foLineItem) TotalQuantity() int32 { return int32(l.line.quantity) }
func (l *foLineItem) Sku() *string         { return strp(l.line.sku) }
func (l *foLineItem) RemainingQuantity() int32 {
	return int32(max(0, l.line.current-l.line.fulfilled))
}

// lineItems are the fulfillment order's line items, one per order line.
func (f *fulfillmentOrder) lineItems() []*foLineItem {
	if f.order == nil {
		return nil
	}
	out := make([]*foLineItem, len(f.order.lines))
	for i, l := range f.order.lines {
		out[i] = &foLineItem{fo: f, n: i, line: l}
	}
	return out
}

func (f *fulfillmentOrder) LineItems(args pageArgs) (*connection[*foLineItem], error) {
	return paginate(f.lineItems(), func(l *foLineItem) string { return l.id() }, args)
}

// trackingInfo is a FulfillmentTrackingInfo.
type trackingInfo struct{ company, number string }

func (t *trackingInfo) Company() *string { return strp(t.company) }
func (t *trackingInfo) Number() *string  { return strp(t.number) }

func (f *fulfillment) TrackingInfo(args listArgs) []*trackingInfo {
	return firstN(f.tracking, args.First)
}

type fulfillmentInput struct {
	LineItemsByFulfillmentOrder []struct {
		FulfillmentOrderID        graphql.ID
		FulfillmentOrderLineItems *[]struct {
			ID       graphql.ID
			Quantity int32
		}
	}
	NotifyCustomer bool
	TrackingInfo   *struct{ Company, Number *string }
}

// fulfillmentPayload is FulfillmentCreatePayload.
type fulfillmentPayload struct {
	fulfillment *fulfillment
	errors      []*userError
}

func (p *fulfillmentPayload) Fulfillment() *fulfillment { return p.fulfillment }
func (p *fulfillmentPayload) UserErrors() []*userError  { return orEmpty(p.errors) }

// take is units of one fulfillment order line item a fulfillment ships.
type take struct {
	li *foLineItem
	q  int
}

func (r *rootResolver) FulfillmentCreate(ctx context.Context, args struct {
	Fulfillment fulfillmentInput
	Message     *string
}) *fulfillmentPayload {
	in := args.Fulfillment
	if len(in.LineItemsByFulfillmentOrder) == 0 {
		return &fulfillmentPayload{errors: fail("", "Line items by fulfillment order can't be blank.", "fulfillment", "lineItemsByFulfillmentOrder")}
	}
	var o *order
	var takes []take
	for i, group := range in.LineItemsByFulfillmentOrder {
		field := []string{"fulfillment", "lineItemsByFulfillmentOrder", strconv.Itoa(i)}
		fo := r.st.fulfillmentOrderByGID(group.FulfillmentOrderID)
		switch {
		case fo == nil:
			return &fulfillmentPayload{errors: fail("", "Fulfillment order does not exist.", append(field, "fulfillmentOrderId")...)}
		case fo.status != "OPEN" && fo.status != "IN_PROGRESS":
			return &fulfillmentPayload{errors: fail("", "Fulfillment order "+fo.id+" has an unfulfillable status= "+fo.status+".", append(field, "fulfillmentOrderId")...)}
		case o != nil && fo.order != o:
			return &fulfillmentPayload{errors: fail("", "All fulfillment orders must belong to the same order.", field...)}
		}
		o = fo.order
		t, errs := fulfillmentTakes(fo, group.FulfillmentOrderLineItems, field)
		if errs != nil {
			return &fulfillmentPayload{errors: errs}
		}
		takes = append(takes, t...)
	}
	return &fulfillmentPayload{fulfillment: r.st.fulfil(ctx, o, takes, in)}
}

// fulfillmentTakes reads one fulfillment order's line items (all that remain when none are named).
func fulfillmentTakes(fo *fulfillmentOrder, named *[]struct {
	ID       graphql.ID
	Quantity int32
}, field []string) ([]take, []*userError) {
	all := fo.lineItems()
	if named == nil {
		var out []take
		for _, li := range all {
			if q := int(li.RemainingQuantity()); q > 0 {
				out = append(out, take{li, q})
			}
		}
		return out, nil
	}
	var out []take
	for j, n := range *named {
		f := append(field, "fulfillmentOrderLineItems", strconv.Itoa(j))
		var li *foLineItem
		for _, c := range all {
			if c.ID() == n.ID {
				li = c
			}
		}
		switch {
		case li == nil:
			return nil, fail("", "Fulfillment order line item does not exist.", append(f, "id")...)
		case n.Quantity < 1 || n.Quantity > li.RemainingQuantity():
			return nil, fail("", fmt.Sprintf("Quantity %d is not between 1 and the %d remaining.", n.Quantity, li.RemainingQuantity()), append(f, "quantity")...)
		}
		out = append(out, take{li, int(n.Quantity)})
	}
	return out, nil
}

func (st *store) fulfillmentOrderByGID(id graphql.ID) *fulfillmentOrder {
	n, err := parseGID("FulfillmentOrder", id)
	if err != nil {
		return nil
	}
	for _, o := range st.byID {
		for _, fo := range o.fOrders {
			if fo.id == n {
				return fo
			}
		}
	}
	return nil
}

// fulfil records the fulfillment; the caller holds the write lock.
func (st *store) fulfil(ctx context.Context, o *order, takes []take, in fulfillmentInput) *fulfillment {
	now := st.now()
	f := &fulfillment{id: st.newID(), name: fmt.Sprintf("%s-F%d", o.src.Name, len(o.fulfills)+1), status: "SUCCESS",
		displayStatus: "IN_TRANSIT", createdAt: now, inTransitAt: &now}
	if t := in.TrackingInfo; t != nil {
		ti := &trackingInfo{}
		if t.Company != nil {
			ti.company = *t.Company
		}
		if t.Number != nil {
			ti.number = *t.Number
		}
		f.tracking = []*trackingInfo{ti}
	}
	for _, t := range takes {
		f.location = t.li.fo.location
		t.li.line.fulfilled += t.q
		f.lines = append(f.lines, &fulfillmentLineItem{id: st.newID(), line: t.li.line, quantity: t.q})
	}
	open := 0
	for _, l := range o.lines {
		open += max(0, l.current-l.fulfilled)
	}
	o.src.FulfillmentStatus = "PARTIALLY_FULFILLED"
	for _, fo := range o.fOrders {
		fo.status, fo.updatedAt = "IN_PROGRESS", now
		if open == 0 {
			fo.status = "CLOSED"
		}
	}
	if open == 0 {
		o.src.FulfillmentStatus = "FULFILLED"
	}
	o.fulfills = append(o.fulfills, f)
	o.updatedAt = st.notBefore(o, now)
	c := callFrom(ctx)
	c.outbox = append(c.outbox, st.orderUpdated(o))
	return f
}
