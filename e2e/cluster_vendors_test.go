package e2e

import (
	"context"
	"encoding/json"
	"fmt"
	"github.com/retailbridge/retailbridge/services/sandbox/handles"
	"net/http"
	"testing"
	"time"

	"github.com/retailbridge/retailbridge/internal/stack"
	"github.com/retailbridge/retailbridge/pkg/testkit"
	stripesb "github.com/retailbridge/retailbridge/services/sandbox/stripe"
	"github.com/retailbridge/retailbridge/services/system/commerce"
)

// vendorLedger is what the vendors did, read from each sandbox: the side effects a duplicate
// would show up in. Shopify's are read through its own Admin API, per order.
type vendorLedger struct {
	stripeRefunds    int64
	stripePerOrder   map[string]int
	rmas             int64 // NetSuite return authorizations
	itemReceipts     int64 // NetSuite item receipts
	creditMemos      int64 // NetSuite credit memos
	platformReturns  int64 // Loop returns
	labels           int64 // Loop labels
	warehouseNotices int64 // warehouse receipts (what is coming)
	shopifyRefunds   map[string]int
	shopifyReturns   map[string]int
}

func readLedger(t *testing.T, vendors *stack.Stack, lines []eligibleLine) vendorLedger {
	t.Helper()
	st, ns, lp, wh := handles.Of(vendors).Stripe.Stats(), handles.Of(vendors).NetSuite.Stats(), handles.Of(vendors).Loop.Stats(), handles.Of(vendors).Warehouse.Stats()
	l := vendorLedger{
		stripeRefunds: st.RefundsCreated, stripePerOrder: map[string]int{},
		rmas: ns.Created["returnAuthorization"], itemReceipts: ns.Created["itemReceipt"], creditMemos: ns.Created["creditMemo"],
		platformReturns: lp.ReturnsCreated, labels: lp.LabelsCreated, warehouseNotices: wh.ReceiptsCreated,
		shopifyRefunds: map[string]int{}, shopifyReturns: map[string]int{},
	}
	for _, line := range lines {
		l.stripePerOrder[line.order] = st.RefundsPerIntent[stripesb.PaymentIntentID(line.order)]
		l.shopifyRefunds[line.order], l.shopifyReturns[line.order] = shopifyHistory(t, vendors, line.order)
	}
	return l
}

// vendorEffect is one kind of vendor side effect, counted for the returns of a burst.
type vendorEffect struct {
	name string
	made int64 // how many the burst made
	dups int64 // how many of them were more than one per return
}

// effectsSince counts what happened between before and l for the n returns of lines: each
// effect once per return is right; more is a duplicate, fewer a return short of an effect.
func (l vendorLedger) effectsSince(before vendorLedger, lines []eligibleLine) []vendorEffect {
	total := func(name string, after, before int64) vendorEffect {
		made := after - before
		return vendorEffect{name: name, made: made, dups: max(0, made-int64(len(lines)))}
	}
	perOrder := func(name string, after, before map[string]int) vendorEffect {
		e := vendorEffect{name: name}
		for _, line := range lines {
			n := int64(after[line.order] - before[line.order])
			e.made += n
			e.dups += max(0, n-1)
		}
		return e
	}
	return []vendorEffect{
		perOrder("stripe refunds", l.stripePerOrder, before.stripePerOrder),
		total("stripe refunds (account)", l.stripeRefunds, before.stripeRefunds),
		total("netsuite RMAs", l.rmas, before.rmas),
		total("netsuite item receipts", l.itemReceipts, before.itemReceipts),
		total("netsuite credit memos", l.creditMemos, before.creditMemos),
		total("loop returns", l.platformReturns, before.platformReturns),
		total("loop labels", l.labels, before.labels),
		total("warehouse receipts", l.warehouseNotices, before.warehouseNotices),
		perOrder("shopify returns", l.shopifyReturns, before.shopifyReturns),
		perOrder("shopify refunds", l.shopifyRefunds, before.shopifyRefunds),
	}
}

// shopifyHistory counts an order's refunds and returns as the shop's Admin GraphQL API lists them.
func shopifyHistory(t *testing.T, vendors *stack.Stack, orderID string) (refunds, returns int) {
	t.Helper()
	cfg := vendors.SandboxConfig()
	version := commerce.DefaultShopifyAPIVersion
	body := map[string]any{
		"query":     `query History($id: ID!) { order(id: $id) { refunds(first: 250) { id } returns(first: 250) { nodes { id } } } }`,
		"variables": map[string]any{"id": "gid://shopify/Order/" + orderID},
	}
	resp := testkit.Do(t, &http.Client{Timeout: 10 * time.Second}, http.MethodPost,
		cfg["SHOPIFY_ADMIN_URL"]+"/admin/api/"+version+"/graphql.json", "", body,
		"X-Shopify-Access-Token", cfg["SHOPIFY_ACCESS_TOKEN"])
	var out struct {
		Data struct {
			Order *struct {
				Refunds []struct{ ID string } `json:"refunds"`
				Returns struct {
					Nodes []struct{ ID string } `json:"nodes"`
				} `json:"returns"`
			} `json:"order"`
		} `json:"data"`
		Errors []json.RawMessage `json:"errors"`
	}
	resp.JSON(t, &out)
	if resp.Status != http.StatusOK || len(out.Errors) > 0 || out.Data.Order == nil {
		t.Fatalf("shopify order %s: %d %s", orderID, resp.Status, resp.Body)
	}
	return len(out.Data.Order.Refunds), len(out.Data.Order.Returns.Nodes)
}

// webhookFate is what became of the webhooks one vendor sent.
type webhookFate struct {
	vendor                    string
	sent, acknowledged        int64
	abandoned, unacknowledged int64 // copies given up; webhooks no copy of which was acknowledged
}

// webhookFates waits (up to a bound) until every vendor has finished delivering, then counts.
// A webhook the receiver refused until the vendor gave up is abandoned: the vendor's event is
// lost to Retailbridge unless reconciliation finds it.
func webhookFates(t *testing.T, vendors *stack.Stack) []webhookFate {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	for name, wait := range map[string]func(context.Context) error{"stripe": handles.Of(vendors).Stripe.WaitIdle, "loop": handles.Of(vendors).Loop.WaitIdle,
		"warehouse": handles.Of(vendors).Warehouse.WaitIdle, "shopify": handles.Of(vendors).Shopify.DrainWebhooks} {
		if err := wait(ctx); err != nil {
			t.Logf("%s webhooks still in flight: %v", name, err)
		}
	}
	var out []webhookFate
	count := func(vendor string, gaveUp, acknowledged []int) {
		f := webhookFate{vendor: vendor, sent: int64(len(gaveUp))}
		for i := range gaveUp {
			f.abandoned += int64(gaveUp[i])
			f.acknowledged += int64(acknowledged[i])
			if acknowledged[i] == 0 {
				f.unacknowledged++
			}
		}
		out = append(out, f)
	}
	var g, a []int
	for _, d := range handles.Of(vendors).Stripe.Webhooks() {
		g, a = append(g, d.GaveUp), append(a, d.Acknowledged)
	}
	count("stripe", g, a)
	g, a = nil, nil
	for _, d := range handles.Of(vendors).Loop.Webhooks() {
		g, a = append(g, d.GaveUp), append(a, d.Acknowledged)
	}
	count("loop", g, a)
	g, a = nil, nil
	for _, d := range handles.Of(vendors).Warehouse.Webhooks() {
		g, a = append(g, d.GaveUp), append(a, d.Acknowledged)
	}
	count("warehouse", g, a)
	sh := handles.Of(vendors).Shopify.WebhookStats()
	out = append(out, webhookFate{vendor: "shopify", sent: sh.Events - sh.Dropped, acknowledged: sh.Delivered,
		abandoned: sh.Failed, unacknowledged: max(0, sh.Events-sh.Dropped-sh.Delivered)})
	return out
}

func (f webhookFate) String() string {
	return fmt.Sprintf("%s: sent %d, acknowledged %d, abandoned %d, never acknowledged %d",
		f.vendor, f.sent, f.acknowledged, f.abandoned, f.unacknowledged)
}
