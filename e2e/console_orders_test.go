package e2e

import (
	"context"
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
	"google.golang.org/protobuf/types/known/anypb"
	"google.golang.org/protobuf/types/known/timestamppb"

	"github.com/retailbridge/retailbridge/pkg/events"
	canonicalv1 "github.com/retailbridge/retailbridge/pkg/gen/retailbridge/canonical/v1"
	"github.com/retailbridge/retailbridge/pkg/testkit"
)

// The console's order pages in a real browser: an order whose item category has no tax code in
// its jurisdiction waits in the failed-tax-enrichment queue; a supervisor finds it there, opens
// its timeline, sets the tax code, sees it leave the queue, and the audit entry carries the
// order before and after. A viewer sees no action and is refused one posted with a valid CSRF
// token. Every new page passes axe-core.
func TestConsoleOrdersInABrowser(t *testing.T) {
	t.Parallel()
	h := consoleStack(t)
	item := h.Demo.Items[0]
	id := fmt.Sprintf("console-o-%d", time.Now().UnixNano())
	one := id + "-one" // resolved with a tax code for itself alone
	publishOrder(t, h, id, item.SKU, item.PriceMinor)
	publishOrder(t, h, one, item.SKU, item.PriceMinor)
	agent := h.supportToken(t, "seed", "support:read")
	h.waitOrderWorkflow(t, agent, id, "failed_tax_enrichment")
	h.waitOrderWorkflow(t, agent, one, "failed_tax_enrichment")

	b := newBrowser(t, h.GatewayURL)
	ann := b.tab()
	b.signIn(ann, "ann", "supervisor")
	if page := b.open(ann, "/console/"); !strings.Contains(page, "Orders that failed tax enrichment") {
		t.Errorf("overview lacks the order queues:\n%s", page)
	}
	page := b.open(ann, "/console/orders/queues/failed_tax_enrichment")
	if !strings.Contains(page, id) {
		t.Fatalf("failed-tax-enrichment queue lacks %s:\n%s", id, page)
	}
	b.checkA11y(ann, "order queue")
	b.screenshot(ann, "console-order-queue")
	b.run(ann, "open the order from the queue", chromedp.Click(chromedp.CSS(`a[href="/console/orders/`+id+`"]`)),
		chromedp.WaitVisible(chromedp.ID("timeline")))
	if page := b.text(ann); !strings.Contains(page, "failed_tax_enrichment") || !strings.Contains(page, "Set tax code and release") {
		t.Errorf("order page of %s:\n%s", id, page)
	}
	b.checkA11y(ann, "order timeline")
	if page := b.open(ann, "/console/search?q="+url.QueryEscape(id)); !strings.Contains(page, "Order "+id) {
		t.Errorf("search by order id does not find the workflow:\n%s", page)
	}

	consoleOrderViewer(t, b, id)

	b.open(ann, "/console/orders/"+one)
	b.run(ann, "resolve with a tax code", chromedp.Click(chromedp.ID("order-use-tax")),
		chromedp.SendKeys(chromedp.ID("order-tax-code"), "US-ONE"), chromedp.SendKeys(chromedp.ID("order-note"), "customer is tax exempt"))
	b.submit(ann, "resolve the order", "#resolve-order-form button")
	if flash := b.text(ann); !strings.Contains(flash, "resolved with tax code US-ONE") {
		t.Errorf("after resolving %s: %s", one, flash)
	}
	if got := h.waitOrderWorkflow(t, agent, one, "routing", "booking", "reserving", "sending_to_warehouse", "awaiting_acknowledgement",
		"awaiting_shipment", "awaiting_inventory", "awaiting_routing", "completed"); !strings.Contains(fmt.Sprint(got.Timeline), "support:ann") {
		t.Errorf("the resolution's agent is not on %s's timeline: %+v", one, got.Timeline)
	}

	b.open(ann, "/console/orders/"+id)
	b.run(ann, "fill the tax code", chromedp.SendKeys(chromedp.ID("jurisdiction"), "US"),
		chromedp.SendKeys(chromedp.ID("category"), item.Category), chromedp.SendKeys(chromedp.ID("set-tax-code"), "US-STD"))
	b.submit(ann, "set the tax code", "#tax-code-form button")
	if flash := b.text(ann); !strings.Contains(flash, "Tax code US-STD set for US/"+item.Category) {
		t.Errorf("after setting the tax code: %s", flash)
	}
	testkit.Eventually(t, 60*time.Second, "order "+id+" leaves the failed-tax-enrichment queue", func() bool {
		return !strings.Contains(b.open(ann, "/console/orders/queues/failed_tax_enrichment"), id)
	})
	if page := b.open(ann, "/console/kpis"); !strings.Contains(page, "Order processing latency by channel and outcome") {
		t.Errorf("KPI page lacks the order processing latency:\n%s", page)
	}
	audit := b.open(ann, "/console/audit?actor=support:ann")
	if !strings.Contains(audit, "resolve-order "+one+" use_tax_code tax_code=US-ONE (before: state=failed_tax_enrichment") {
		t.Errorf("audit lacks the resolution of %s with before and after:\n%s", one, audit)
	}
	want := "set-tax-code US/" + item.Category + "=US-STD for order " + id
	if !strings.Contains(audit, want) || !strings.Contains(audit, "before: state=failed_tax_enrichment queue=failed_tax_enrichment") ||
		!strings.Contains(audit, "; after: state=") {
		t.Errorf("audit lacks %q with before and after:\n%s", want, audit)
	}
}

// consoleOrderViewer: a viewer sees the order but no action, and a posted action is refused.
func consoleOrderViewer(t *testing.T, b *browser, id string) {
	vic := b.tab()
	b.signIn(vic, "vic", "viewer")
	page := b.open(vic, "/console/orders/"+id)
	if n := eval[int](b, vic, "count forms", `document.querySelectorAll("main form").length`); n != 0 || strings.Contains(page, "Resolve order") {
		t.Errorf("a viewer is offered %d action forms on order %s", n, id)
	}
	form := url.Values{"csrf": {b.csrf(vic)}, "jurisdiction": {"US"}, "category": {"*"}, "tax_code": {"VIEWER"}}
	if st := b.post(vic, "/console/orders/"+id+"/tax-code", form); st != http.StatusForbidden {
		t.Errorf("a viewer's tax code (valid CSRF token): %d, want 403", st)
	}
	form = url.Values{"csrf": {b.csrf(vic)}, "resolution": {"cancel"}, "note": {"viewer tries"}}
	if st := b.post(vic, "/console/orders/"+id+"/resolve", form); st != http.StatusForbidden {
		t.Errorf("a viewer's cancel (valid CSRF token): %d, want 403", st)
	}
}

// publishOrder publishes a paid storefront order of one line, as the Shopify connector would.
func publishOrder(t *testing.T, h *harness, id, sku string, price int64) {
	t.Helper()
	nc, err := nats.Connect(h.NATSURL)
	if err != nil {
		t.Fatal(err)
	}
	defer nc.Close()
	js, err := jetstream.New(nc)
	if err != nil {
		t.Fatal(err)
	}
	o := &canonicalv1.Order{Id: id, Name: "#" + id, Customer: &canonicalv1.CustomerRef{Id: h.Demo.Customers[0].ID}, Source: "web",
		FulfillmentModel: canonicalv1.FulfillmentModel_FULFILLMENT_MODEL_SHIP_TO_HOME,
		FinancialStatus:  canonicalv1.FinancialStatus_FINANCIAL_STATUS_PAID, PaymentReference: "pi_" + id,
		Total:           &canonicalv1.Money{CurrencyCode: "USD", AmountMinor: price},
		ShippingAddress: &canonicalv1.Address{Name: "Ada", Lines: []string{"1 Main St"}, City: "Austin", Region: "TX", CountryCode: "US"},
		Lines:           []*canonicalv1.OrderLine{{Id: id + "-1", Sku: sku, Quantity: 1, UnitPrice: &canonicalv1.Money{CurrencyCode: "USD", AmountMinor: price}}}}
	data, err := anypb.New(o)
	if err != nil {
		t.Fatal(err)
	}
	ev := &canonicalv1.Event{Id: id + "-created", Source: "test", Time: timestamppb.Now(), Data: data,
		Type: events.TypeName(canonicalv1.EventType_EVENT_TYPE_COMMERCE_ORDER_CREATED), References: &canonicalv1.EventReferences{OrderId: id}}
	if _, err := events.Publish(context.Background(), js, ev); err != nil {
		t.Fatal(err)
	}
}
