package businesscentral

import (
	"net/http"
	"net/url"
	"testing"

	"github.com/retailbridge/retailbridge/services/sandbox/demo"
)

// The sandbox enforces Business Central's posting rules for order to cash: nothing ships beyond
// what is left on a line, an order is billed once and only when fully shipped, a delete needs the
// ETag read, an order with shipped lines cannot be deleted, and a fully shipped and invoiced
// order is deleted by posting, its invoice kept in salesInvoices.
func TestOrderPostingRules(t *testing.T) {
	ds := demo.Generate(7, now, 3, 3)
	sb := New(ds, Options{})
	c := newClient(t, sb)
	ext := "retailbridge/returns/v1.0/companies(" + DevCompanyID + ")/"
	v2 := "v2.0/companies(" + DevCompanyID + ")/"
	o := ds.Orders[0]
	soID, _ := sb.SalesOrderID(o.ID)
	all := make([]map[string]any, 0, len(o.Lines))
	for _, l := range o.Lines {
		all = append(all, map[string]any{"lineObjectNumber": l.SKU, "quantity": l.Quantity})
	}
	over := []map[string]any{{"lineObjectNumber": o.Lines[0].SKU, "quantity": o.Lines[0].Quantity + 1}}
	steps := []struct {
		what, path string
		body       map[string]any
		want       int
	}{
		{"ship more than ordered", "orderShipments", map[string]any{"salesOrderId": soID, "orderShipmentLines": over}, http.StatusBadRequest},
		{"invoice before shipping", "orderInvoices", map[string]any{"salesOrderId": soID}, http.StatusBadRequest},
		{"ship everything", "orderShipments", map[string]any{"salesOrderId": soID, "orderShipmentLines": all}, http.StatusCreated},
		{"ship again", "orderShipments", map[string]any{"salesOrderId": soID, "orderShipmentLines": all[:1]}, http.StatusBadRequest},
		{"invoice", "orderInvoices", map[string]any{"salesOrderId": soID}, http.StatusCreated},
		{"invoice again", "orderInvoices", map[string]any{"salesOrderId": soID}, http.StatusBadRequest},
	}
	for _, s := range steps {
		if st, body := c.do(http.MethodPost, ext+s.path, s.body); st != s.want {
			t.Errorf("%s: %d %v; want %d", s.what, st, body, s.want)
		}
	}
	if got := sb.Stats().Created; got[SetOrderShipments] != 1 || got[SetOrderInvoices] != 1 {
		t.Errorf("created %v; want one shipment and one invoice", got)
	}
	// Fully shipped and invoiced, the order is deleted by posting, as Business Central does; its
	// posted invoice names it.
	if st, _ := c.do(http.MethodGet, v2+"salesOrders("+soID+")", nil); st != http.StatusNotFound {
		t.Errorf("a posted order read: %d; want 404", st)
	}
	st, invs := c.do(http.MethodGet, v2+"salesInvoices?$filter="+url.QueryEscape("orderId eq "+soID), nil)
	if vals, _ := invs["value"].([]any); st != http.StatusOK || len(vals) != 1 {
		t.Errorf("salesInvoices of order %s: %d %v; want its one invoice", soID, st, invs)
	} else if inv := vals[0].(map[string]any); inv["orderId"] != soID || inv["externalDocumentNumber"] != o.ID || inv["orderNumber"] == "" {
		t.Errorf("invoice %v; want orderId %s, orderNumber, externalDocumentNumber %s", inv, soID, o.ID)
	}
	part, _ := sb.SalesOrderID(ds.Orders[2].ID)
	one := []map[string]any{{"lineObjectNumber": ds.Orders[2].Lines[0].SKU, "quantity": 1}}
	if st, body := c.do(http.MethodPost, ext+"orderShipments", map[string]any{"salesOrderId": part, "orderShipmentLines": one}); st != http.StatusCreated {
		t.Fatalf("ship one unit: %d %v", st, body)
	}
	_, so := c.do(http.MethodGet, v2+"salesOrders("+part+")", nil)
	if st, _ := c.do(http.MethodDelete, v2+"salesOrders("+part+")", nil, "If-Match", so["@odata.etag"].(string)); st != http.StatusBadRequest {
		t.Errorf("deleting a shipped order: %d; want 400", st)
	}

	other, _ := sb.SalesOrderID(ds.Orders[1].ID)
	path := v2 + "salesOrders(" + other + ")"
	_, so = c.do(http.MethodGet, path, nil)
	for _, s := range []struct {
		ifMatch string
		want    int
	}{{"", http.StatusBadRequest}, {`W/"stale"`, http.StatusPreconditionFailed}, {so["@odata.etag"].(string), http.StatusNoContent}} {
		h := []string{}
		if s.ifMatch != "" {
			h = []string{"If-Match", s.ifMatch}
		}
		if st, _ := c.do(http.MethodDelete, path, nil, h...); st != s.want {
			t.Errorf("DELETE with If-Match %q: %d; want %d", s.ifMatch, st, s.want)
		}
	}
	if st, _ := c.do(http.MethodGet, path, nil); st != http.StatusNotFound {
		t.Errorf("deleted order read: %d; want 404", st)
	}
}
