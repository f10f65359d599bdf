package shopify

import (
	"context"
	"net/http/httptest"
	"testing"
	"time"

	canonicalv1 "github.com/retailbridge/retailbridge/pkg/gen/retailbridge/canonical/v1"
	"github.com/retailbridge/retailbridge/services/sandbox/demo"
	sandbox "github.com/retailbridge/retailbridge/services/sandbox/shopify"
)

// TestReturnReasonGoesByDefinition creates a return and reads back, at the shop, the reason
// definition each line carries: the library entry, not the deprecated enum.
func TestReturnReasonGoesByDefinition(t *testing.T) {
	t.Parallel()
	ds := demo.Generate(1, time.Date(2026, 3, 1, 0, 0, 0, 0, time.UTC), 3, 20)
	srv := httptest.NewServer(sandbox.New(ds, sandbox.Options{RestoreRate: 1e6}))
	t.Cleanup(srv.Close)
	c := New(Config{BaseURL: srv.URL, APIVersion: PinnedAPIVersion, AccessToken: sandbox.DefaultAccessToken},
		Deps{HTTPClient: srv.Client()})
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	o := ds.Scenario(demo.ScenarioEligible)
	ret := &canonicalv1.Return{OrderId: o.ID, CustomerId: o.CustomerID}
	want := map[string]string{}
	reasons := []canonicalv1.ReturnReason{canonicalv1.ReturnReason_RETURN_REASON_DEFECTIVE, canonicalv1.ReturnReason_RETURN_REASON_WRONG_ITEM}
	for i, l := range o.Lines {
		r := reasons[i%len(reasons)]
		ret.Lines = append(ret.Lines, &canonicalv1.ReturnLine{OrderLineId: l.ID, Sku: l.SKU, Quantity: int32(l.Quantity), Reason: r})
		want["gid://shopify/LineItem/"+l.ID] = reasonHandles[r][0]
	}
	id, err := c.CreateReturn(ctx, ret, "reason-1")
	if err != nil {
		t.Fatal(err)
	}
	op := operation{name: "ReadBack", cost: costOf(1), query: `query ReadBack($id: ID!) { return(id: $id) {
  returnLineItems(first: 10) { nodes { ... on ReturnLineItem { fulfillmentLineItem { lineItem { id } } returnReasonDefinition { handle } } } } } }`}
	var got struct {
		Return struct {
			ReturnLineItems struct {
				Nodes []struct {
					FulfillmentLineItem struct {
						LineItem struct{ ID string } `json:"lineItem"`
					} `json:"fulfillmentLineItem"`
					ReturnReasonDefinition *struct{ Handle string } `json:"returnReasonDefinition"`
				} `json:"nodes"`
			} `json:"returnLineItems"`
		} `json:"return"`
	}
	if err := c.do(ctx, op, map[string]any{"id": "gid://shopify/Return/" + id}, &got); err != nil {
		t.Fatal(err)
	}
	nodes := got.Return.ReturnLineItems.Nodes
	if len(nodes) != len(o.Lines) {
		t.Fatalf("%d return lines, want %d", len(nodes), len(o.Lines))
	}
	for _, n := range nodes {
		if d := n.ReturnReasonDefinition; d == nil || d.Handle != want[n.FulfillmentLineItem.LineItem.ID] {
			t.Errorf("line %s: reason definition %+v, want %s", n.FulfillmentLineItem.LineItem.ID, d, want[n.FulfillmentLineItem.LineItem.ID])
		}
	}
}
