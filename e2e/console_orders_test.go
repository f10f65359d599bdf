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
	one := id + "-one"   // resolved with a tax code for itself alone
	bulk := id + "-bulk" // assigned to a team, then resolved in bulk
	agent := h.supportToken(t, "seed", "support:read")
	for _, o := range []string{id, one, bulk} {
		publishOrder(t, h, o, item.SKU, item.PriceMinor)
	}
	for _, o := range []string{id, one, bulk} {
		h.waitOrderWorkflow(t, agent, o, "failed_tax_enrichment")
	}

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
	consoleOrderSearch(t, b, ann, id)
	supportSearch(t, h, id)
	consoleOrderViewer(t, b, id)
	consoleOrderBulk(t, b, h, ann, bulk)

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
	b.open(ann, "/console/kpis?range=24h")
	if got := eval[string](b, ann, "order exceptions", `document.querySelector("#kpi-exceptions table.totals tbody").innerText`); !strings.Contains(got, "orders web\t") {
		t.Errorf("the held orders are not counted as web order exceptions: %q", got)
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

// consoleOrderSearch finds the order by its id, its number and its payment reference, across
// the stored orders; an unknown number finds nothing.
func consoleOrderSearch(t *testing.T, b *browser, ctx context.Context, id string) {
	for q, want := range map[string]string{id: "order id", "#" + id: "order number", strings.ToUpper("#" + id): "order number", "pi_" + id: "payment reference"} {
		b.open(ctx, "/console/search?q="+url.QueryEscape(q))
		got := eval[string](b, ctx, "order hits", `(document.querySelector("#order-hits tbody") || {innerText: ""}).innerText`)
		if !strings.Contains(got, id) || !strings.Contains(got, want) || !strings.Contains(got, "failed_tax_enrichment") {
			t.Errorf("search %q: order hits %q, want %s matched by %s", q, got, id, want)
		}
	}
	if page := b.open(ctx, "/console/search?q="+url.QueryEscape("#no-such-order")); !strings.Contains(page, "Orders (0)") {
		t.Errorf("an unknown order number finds orders:\n%s", page)
	}
	b.checkA11y(ctx, "search")
}

// consoleOrderBulk assigns a held order to a team, filters the queue to the team's orders,
// is refused a bulk resolution without a dry run, dry-runs it (nothing changes), applies it,
// and finds each order's before and after in the audit.
func consoleOrderBulk(t *testing.T, b *browser, h *harness, ctx context.Context, bulk string) {
	queue := "/console/orders/queues/failed_tax_enrichment"
	b.open(ctx, queue)
	b.run(ctx, "name the team", chromedp.SendKeys(chromedp.ID("as-"+bulk), "tax-team"))
	b.submit(ctx, "assign the order", chromedp.CSS(`form[action="/console/orders/`+bulk+`/assign"] button`))
	if page := b.open(ctx, "/console/owners?owner=tax-team"); !strings.Contains(page, bulk) || !strings.Contains(page, "order") {
		t.Errorf("who owns what lacks %s for tax-team:\n%s", bulk, page)
	}
	b.checkA11y(ctx, "owners")
	mine := queue + "?owner=tax-team"
	if rows := eval[int](b, ctx, "count held", `fetch("`+mine+`").then(r => r.text()).then(h =>
		new DOMParser().parseFromString(h, "text/html").querySelectorAll("#held-orders tbody tr a").length)`); rows != 1 {
		t.Errorf("the team's filter lists %d orders, want 1", rows)
	}
	b.open(ctx, mine)
	form := url.Values{"csrf": {b.csrf(ctx)}, "owner": {"tax-team"}, "resolution": {"use_tax_code"}, "tax_code": {"US-BULK"},
		"note": {"exempt"}, "dry_run": {"0"}}
	if st := b.post(ctx, queue+"/bulk", form); st != http.StatusSeeOther {
		t.Fatalf("bulk resolution before a dry run: %d", st)
	}
	if page := b.open(ctx, mine); !strings.Contains(page, "run a dry run of this selection and action first") || !strings.Contains(page, bulk) {
		t.Errorf("a bulk resolution ran without a dry run:\n%s", page)
	}
	fill := func() {
		b.run(ctx, "fill the bulk form", chromedp.Click(chromedp.ID("bulk-use-tax")), chromedp.SendKeys(chromedp.ID("bulk-tax-code"), "US-BULK"),
			chromedp.SendKeys(chromedp.ID("bulk-note"), "tax-exempt customer"))
	}
	fill()
	b.submit(ctx, "bulk dry run", "#bulk-dry-run")
	if page := b.text(ctx); !strings.Contains(page, "Dry run: 1 orders would be resolved with a tax code: "+bulk+".") || !strings.Contains(page, bulk) {
		t.Errorf("bulk dry run: %s", page)
	}
	b.checkA11y(ctx, "order queue after a dry run")
	b.screenshot(ctx, "console-order-bulk")
	fill()
	b.submit(ctx, "bulk apply", "#bulk-apply")
	if page := b.text(ctx); !strings.Contains(page, "Bulk use_tax_code of 1 planned orders: resolved with a tax code 1.") {
		t.Errorf("bulk apply: %s", page)
	}
	h.waitOrderWorkflow(t, h.supportToken(t, "check", "support:read"), bulk, "routing", "booking", "reserving", "sending_to_warehouse",
		"awaiting_acknowledgement", "awaiting_shipment", "awaiting_inventory", "awaiting_routing", "completed")
	audit := b.open(ctx, "/console/audit?actor=support:ann")
	for _, want := range []string{"bulk-resolve-orders queue=failed_tax_enrichment reason=\"\" owner=\"tax-team\" use_tax_code tax_code=US-BULK (dry run) selected=1 [" + bulk + "]",
		"bulk-resolve-order " + bulk + " use_tax_code (before: state=failed_tax_enrichment queue=failed_tax_enrichment", "assign order " + bulk + " to tax-team"} {
		if !strings.Contains(audit, want) {
			t.Errorf("audit lacks %q:\n%s", want, audit)
		}
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
