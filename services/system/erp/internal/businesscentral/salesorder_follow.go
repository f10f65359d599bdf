package businesscentral

import (
	"context"
	"net/url"
	"strings"
	"time"

	"google.golang.org/protobuf/types/known/timestamppb"

	erpv1 "github.com/retailbridge/retailbridge/pkg/gen/retailbridge/system/erp/v1"
)

// Business Central deletes a sales order when posting ships and invoices all of it (and a user
// deletes one to cancel it), so neither salesOrders nor its webhooks can say that an order closed.
// The invoice stays: API v2.0's salesInvoices carries the order it billed (orderId,
// orderNumber) and the order's external document number, the storefront order id. So:
//   - every poll also lists the invoices posted since the watermark, and each whose order no
//     longer exists reports that order Billed and closed;
//   - the caller names the sales orders it follows (seen open, no final status yet), and each
//     that no longer exists is looked up in salesInvoices: Billed and closed with an invoice,
//     Deleted (closed, deleted) without one.
// Existence is one salesOrders query per chunk of ids (id eq … or id eq …, Edm.Guid literals).

const (
	statusBilled  = "Billed"
	statusDeleted = "Deleted"
	idsPerQuery   = 20 // GUIDs per $filter, keeping the URL well under Business Central's limits
)

// salesInvoice is the part of a v2.0 salesInvoice the follower reads.
type salesInvoice struct {
	ID           string `json:"id"`
	Number       string `json:"number"`
	External     string `json:"externalDocumentNumber"`
	OrderID      string `json:"orderId"`
	OrderNumber  string `json:"orderNumber"`
	LastModified string `json:"lastModifiedDateTime"`
}

// billedSince is the orders the invoices posted since since billed and posting deleted, as
// changes; listed are the changes the salesOrders listing returned (their orders exist).
func (c *Client) billedSince(ctx context.Context, since time.Time, listed []*erpv1.SalesOrderChange) ([]*erpv1.SalesOrderChange, error) {
	var page collection[salesInvoice]
	if err := c.get(ctx, c.entityURL(groupV2, "salesInvoices", modifiedSince(since)), &page, "salesInvoice"); err != nil {
		return nil, err
	}
	seen := map[string]bool{}
	for _, ch := range listed {
		seen[ch.GetSalesOrderId()] = true
	}
	byOrder := map[string]salesInvoice{}
	var ids []string
	for _, inv := range page.Value {
		if isGUID(inv.OrderID) && !seen[inv.OrderID] {
			if _, dup := byOrder[inv.OrderID]; !dup {
				ids = append(ids, inv.OrderID)
			}
			byOrder[inv.OrderID] = inv
		}
	}
	gone, err := c.missingOrders(ctx, ids)
	if err != nil {
		return nil, err
	}
	out := make([]*erpv1.SalesOrderChange, 0, len(gone))
	for _, id := range gone {
		ch, err := billedChange(byOrder[id])
		if err != nil {
			return nil, err
		}
		out = append(out, ch)
	}
	return out, nil
}

// FollowSalesOrders reports each followed sales order that no longer exists and that listed
// does not already report: Billed when an invoice records it, Deleted otherwise.
func (c *Client) FollowSalesOrders(ctx context.Context, ids []string, listed []*erpv1.SalesOrderChange) ([]*erpv1.SalesOrderChange, error) {
	reported := map[string]bool{}
	for _, ch := range listed {
		reported[ch.GetSalesOrderId()] = true
	}
	var check []string
	for _, id := range ids {
		if isGUID(id) && !reported[id] {
			check = append(check, id)
			reported[id] = true
		}
	}
	gone, err := c.missingOrders(ctx, check)
	if err != nil {
		return nil, err
	}
	var out []*erpv1.SalesOrderChange
	for _, id := range gone {
		var page collection[salesInvoice]
		if err := c.get(ctx, c.entityURL(groupV2, "salesInvoices", guidFilter("orderId", []string{id})), &page, "salesInvoice"); err != nil {
			return nil, err
		}
		if len(page.Value) > 0 {
			ch, err := billedChange(page.Value[len(page.Value)-1])
			if err != nil {
				return nil, err
			}
			out = append(out, ch)
			continue
		}
		// No record of when it was deleted: now is when it was found gone.
		out = append(out, &erpv1.SalesOrderChange{SalesOrderId: id, Status: statusDeleted, Closed: true, Deleted: true,
			ModifiedAt: timestamppb.New(c.now())})
	}
	return out, nil
}

func billedChange(inv salesInvoice) (*erpv1.SalesOrderChange, error) {
	at, err := modifiedAt(inv.LastModified)
	if err != nil {
		return nil, err
	}
	return &erpv1.SalesOrderChange{SalesOrderId: inv.OrderID, OrderId: inv.External, Status: statusBilled, Closed: true,
		ModifiedAt: timestamppb.New(at)}, nil
}

// missingOrders is the ids of ids no sales order has, in their order.
func (c *Client) missingOrders(ctx context.Context, ids []string) ([]string, error) {
	exists := map[string]bool{}
	for start := 0; start < len(ids); start += idsPerQuery {
		chunk := ids[start:min(start+idsPerQuery, len(ids))]
		q := guidFilter("id", chunk)
		q.Set("$select", "id")
		var page collection[document]
		if err := c.get(ctx, c.entityURL(groupV2, "salesOrders", q), &page, "salesOrder"); err != nil {
			return nil, err
		}
		for _, so := range page.Value {
			exists[so.ID] = true
		}
	}
	var out []string
	for _, id := range ids {
		if !exists[id] {
			out = append(out, id)
		}
	}
	return out, nil
}

// guidFilter is $filter=field eq <guid> or field eq <guid> …; ids are checked GUIDs, written as
// Edm.Guid literals (unquoted).
func guidFilter(field string, ids []string) url.Values {
	alts := make([]string, len(ids))
	for i, id := range ids {
		alts[i] = field + " eq " + id
	}
	return url.Values{"$filter": {strings.Join(alts, " or ")}}
}
