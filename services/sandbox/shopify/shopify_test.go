package shopify_test

import (
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/retailbridge/retailbridge/services/sandbox/demo"
	"github.com/retailbridge/retailbridge/services/sandbox/shopify"
)

var now = time.Date(2026, 3, 2, 15, 0, 0, 0, time.UTC)

var dataset = sync.OnceValue(func() *demo.Dataset { return demo.Generate(3, now, 12, 120) })

// clock is a settable clock for the bucket.
type clock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *clock) Now() time.Time { c.mu.Lock(); defer c.mu.Unlock(); return c.t }
func (c *clock) Advance(d time.Duration) {
	c.mu.Lock()
	c.t = c.t.Add(d)
	c.mu.Unlock()
}

// newSandbox returns a sandbox on a frozen clock, so the bucket only changes when a test says.
func newSandbox(tb testing.TB, opts shopify.Options) (*shopify.Sandbox, *clock) {
	tb.Helper()
	c := &clock{t: now}
	opts.Now = c.Now
	return shopify.New(dataset(), opts), c
}

type answer struct {
	status int
	raw    string
	body   map[string]any
}

// call posts a GraphQL request straight to the handler.
func call(tb testing.TB, h http.Handler, version, token, query string, vars map[string]any) answer {
	tb.Helper()
	body, err := json.Marshal(map[string]any{"query": query, "variables": vars})
	if err != nil {
		tb.Fatal(err)
	}
	r := httptest.NewRequest(http.MethodPost, "/admin/api/"+version+"/graphql.json", strings.NewReader(string(body)))
	r.Header.Set("Content-Type", "application/json")
	if token != "" {
		r.Header.Set("X-Shopify-Access-Token", token)
	}
	w := httptest.NewRecorder()
	h.ServeHTTP(w, r)
	a := answer{status: w.Code, raw: w.Body.String()}
	_ = json.Unmarshal(w.Body.Bytes(), &a.body)
	return a
}

func query(tb testing.TB, h http.Handler, q string, vars map[string]any) answer {
	tb.Helper()
	return call(tb, h, "2026-01", shopify.DefaultAccessToken, q, vars)
}

// path digs into decoded JSON: strings index objects, ints index arrays.
func path(v any, keys ...any) any {
	for _, k := range keys {
		switch k := k.(type) {
		case string:
			m, _ := v.(map[string]any)
			v = m[k]
		case int:
			l, _ := v.([]any)
			if k >= len(l) {
				return nil
			}
			v = l[k]
		}
	}
	return v
}

func TestAuthAndVersions(t *testing.T) {
	t.Parallel()
	s, _ := newSandbox(t, shopify.Options{})
	const q = `{ shop { name } }`
	tests := []struct {
		name, version, token string
		status               int
		body                 string
	}{
		{"ok", "2026-10", shopify.DefaultAccessToken, 200, ""},
		{"wrong token", "2026-01", "shpat_nope", 401,
			`{"errors":"[API] Invalid API key or access token (unrecognized login or wrong password)"}`},
		{"no token", "2026-01", "", 401,
			`{"errors":"[API] Invalid API key or access token (unrecognized login or wrong password)"}`},
		{"unsupported version", "2025-01", shopify.DefaultAccessToken, 404, `{"errors":"Not Found"}`},
	}
	for _, tt := range tests {
		a := call(t, s, tt.version, tt.token, q, nil)
		if a.status != tt.status || (tt.body != "" && a.raw != tt.body) {
			t.Errorf("%s: got %d %s, want %d %s", tt.name, a.status, a.raw, tt.status, tt.body)
		}
	}
	if got := s.Stats().Unauthorized; got != 2 {
		t.Errorf("unauthorized count: got %d, want 2", got)
	}
	r := httptest.NewRequest(http.MethodGet, "/admin/api/2026-01/graphql.json", nil)
	w := httptest.NewRecorder()
	s.ServeHTTP(w, r)
	if w.Code != http.StatusMethodNotAllowed {
		t.Errorf("GET: got %d, want 405", w.Code)
	}
}

const orderQuery = `query($id: ID!) {
  order(id: $id) {
    id name sourceName displayFinancialStatus displayFulfillmentStatus
    customer { id email firstName lastName }
    totalPriceSet { shopMoney { amount currencyCode } }
    currentTotalPriceSet { shopMoney { amount currencyCode } }
    shippingAddress { name countryCodeV2 }
    lineItems(first: 10) { nodes { id sku quantity currentQuantity originalUnitPriceSet { shopMoney { amount } } } }
    fulfillments { status displayStatus deliveredAt fulfillmentLineItems(first: 10) { nodes { quantity lineItem { id } } } }
    fulfillmentOrders(first: 5) { nodes { status deliveryMethod { methodType } assignedLocation { location { id name } } } }
    refunds { refundLineItems(first: 10) { nodes { quantity subtotalSet { shopMoney { amount } } lineItem { id } } } }
    returns(first: 5) { nodes { status returnLineItems(first: 10) { nodes { quantity ... on ReturnLineItem { fulfillmentLineItem { lineItem { id } } } } } } }
  }
}`

func TestOrder(t *testing.T) {
	t.Parallel()
	s, _ := newSandbox(t, shopify.Options{})
	ds := dataset()

	pr := ds.Scenario(demo.ScenarioPartialRefund)
	a := query(t, s, orderQuery, map[string]any{"id": "gid://shopify/Order/" + pr.ID})
	o := path(a.body, "data", "order")
	if o == nil {
		t.Fatalf("order %s: got %s", pr.ID, a.raw)
	}
	checks := map[string][2]any{
		"id":                 {path(o, "id"), "gid://shopify/Order/" + pr.ID},
		"name":               {path(o, "name"), pr.Name},
		"financial status":   {path(o, "displayFinancialStatus"), "PARTIALLY_REFUNDED"},
		"customer":           {path(o, "customer", "id"), "gid://shopify/Customer/" + pr.CustomerID},
		"line sku":           {path(o, "lineItems", "nodes", 0, "sku"), pr.Lines[0].SKU},
		"current quantity":   {path(o, "lineItems", "nodes", 0, "currentQuantity"), float64(pr.Lines[0].Quantity - 1)},
		"unit price":         {path(o, "lineItems", "nodes", 0, "originalUnitPriceSet", "shopMoney", "amount"), fmt.Sprintf("%d.%02d", pr.Lines[0].UnitPriceMinor/100, pr.Lines[0].UnitPriceMinor%100)},
		"total":              {path(o, "totalPriceSet", "shopMoney", "amount"), fmt.Sprintf("%d.%02d", pr.TotalMinor()/100, pr.TotalMinor()%100)},
		"refunded line":      {path(o, "refunds", 0, "refundLineItems", "nodes", 0, "lineItem", "id"), "gid://shopify/LineItem/" + pr.Lines[0].ID},
		"fulfillment":        {path(o, "fulfillments", 0, "displayStatus"), "DELIVERED"},
		"delivery method":    {path(o, "fulfillmentOrders", "nodes", 0, "deliveryMethod", "methodType"), "SHIPPING"},
		"ships to a country": {path(o, "shippingAddress", "countryCodeV2"), "US"},
		"currency":           {path(o, "totalPriceSet", "shopMoney", "currencyCode"), "USD"},
		"fulfillment status": {path(o, "displayFulfillmentStatus"), "FULFILLED"},
		"no returns":         {len(path(o, "returns", "nodes").([]any)), 0},
	}
	for name, c := range checks {
		if !cmp.Equal(c[0], c[1]) {
			t.Errorf("%s: got %v, want %v", name, c[0], c[1])
		}
	}

	pu := ds.Scenario(demo.ScenarioPickUpInStore)
	a = query(t, s, orderQuery, map[string]any{"id": "gid://shopify/Order/" + pu.ID})
	fo := path(a.body, "data", "order", "fulfillmentOrders", "nodes", 0)
	loc, _ := s.LocationID(pu.PickupLocationID)
	if path(fo, "deliveryMethod", "methodType") != "PICK_UP" || path(fo, "assignedLocation", "location", "id") != "gid://shopify/Location/"+loc ||
		path(fo, "assignedLocation", "location", "name") != pu.PickupLocationID {
		t.Errorf("pick-up order: got fulfillment order %v", fo)
	}
	if path(a.body, "data", "order", "shippingAddress") != nil {
		t.Errorf("pick-up order: got a shipping address")
	}
	if got := path(a.body, "data", "order", "fulfillments", 0, "displayStatus"); got != "PICKED_UP" {
		t.Errorf("pick-up order: fulfillment display status %v, want PICKED_UP", got)
	}

	a = query(t, s, orderQuery, map[string]any{"id": "gid://shopify/Order/1"})
	if a.status != 200 || path(a.body, "data", "order") != nil || path(a.body, "errors") != nil {
		t.Errorf("unknown order: got %s, want data.order null", a.raw)
	}
	a = query(t, s, orderQuery, map[string]any{"id": "5100001"})
	if msg, _ := path(a.body, "errors", 0, "message").(string); !strings.Contains(msg, "Invalid global id") {
		t.Errorf("bare id: got %s, want an invalid global id error", a.raw)
	}
}

// TestChannels: web orders come from "web", mobile-app orders from Shopify's mobile sources,
// partner orders from their channel app.
func TestChannels(t *testing.T) {
	t.Parallel()
	s, _ := newSandbox(t, shopify.Options{})
	seen := map[string]bool{}
	for _, o := range dataset().Orders[:40] {
		a := query(t, s, `query($id: ID!) { order(id: $id) { sourceName } }`, map[string]any{"id": "gid://shopify/Order/" + o.ID})
		src, _ := path(a.body, "data", "order", "sourceName").(string)
		ok := src == "web"
		switch o.Channel {
		case demo.ChannelMobile:
			ok = src == "iphone" || src == "android"
		case demo.ChannelMarketplace:
			ok = src == o.Source && (src == demo.SourceAcme || src == demo.SourceGlobex)
		}
		if !ok {
			t.Errorf("order %s on %s: sourceName %q", o.ID, o.Channel, src)
		}
		seen[src] = true
	}
	if !seen["web"] || !seen["iphone"] || !seen["android"] || !seen[demo.SourceAcme] || !seen[demo.SourceGlobex] {
		t.Errorf("sourceNames seen: %v, want web, iphone, android and both partners", seen)
	}
}

// TestUncountedReturns: declined and cancelled returns exist next to the counted ones.
func TestUncountedReturns(t *testing.T) {
	t.Parallel()
	s, _ := newSandbox(t, shopify.Options{})
	ds := dataset()
	const q = `query($id: ID!) { order(id: $id) { returns(first: 5) { nodes { status returnLineItems(first: 5) { nodes { quantity } } } } } }`
	statuses := func(name string) []any {
		a := query(t, s, q, map[string]any{"id": "gid://shopify/Order/" + ds.Scenario(name).ID})
		var out []any
		for _, n := range path(a.body, "data", "order", "returns", "nodes").([]any) {
			out = append(out, path(n, "status"))
		}
		return out
	}
	if got, want := statuses(demo.ScenarioAlreadyReturned), []any{"CANCELED", "CLOSED"}; !cmp.Equal(got, want) {
		t.Errorf("already returned: got %v, want %v", got, want)
	}
	if got, want := statuses(demo.ScenarioMultipleQuantity), []any{"DECLINED"}; !cmp.Equal(got, want) {
		t.Errorf("multiple quantity: got %v, want %v", got, want)
	}
}

func TestOrdersPagination(t *testing.T) {
	t.Parallel()
	s, _ := newSandbox(t, shopify.Options{})
	const q = `query($after: String, $q: String) {
  orders(first: 5, after: $after, query: $q, sortKey: CREATED_AT, reverse: true) {
    edges { cursor node { id } }
    nodes { id createdAt }
    pageInfo { hasNextPage endCursor }
  }
}`
	var got []string
	var after any
	for range 50 {
		a := query(t, s, q, map[string]any{"after": after, "q": "customer_id:" + demo.DemoCustomerID})
		conn := path(a.body, "data", "orders")
		if conn == nil {
			t.Fatalf("got %s", a.raw)
		}
		nodes := path(conn, "nodes").([]any)
		for i, n := range nodes {
			if path(conn, "edges", i, "node", "id") != path(n, "id") {
				t.Errorf("edges and nodes disagree at %d", i)
			}
			got = append(got, strings.TrimPrefix(path(n, "id").(string), "gid://shopify/Order/"))
		}
		if path(conn, "pageInfo", "hasNextPage") != true {
			break
		}
		after = path(conn, "pageInfo", "endCursor")
	}
	var want []string
	for _, o := range dataset().OrdersOf(demo.DemoCustomerID) {
		want = append(want, o.ID)
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("customer's orders, newest first (-want +got):\n%s", diff)
	}

	a := query(t, s, `{ orders(query: "customer_id:1") { nodes { id } } }`, nil)
	if msg, _ := path(a.body, "errors", 0, "message").(string); !strings.Contains(msg, "first or last") {
		t.Errorf("no page size: got %s, want an error", a.raw)
	}
	a = query(t, s, `{ orders(first: 2, after: "bogus") { nodes { id } } }`, nil)
	if path(a.body, "errors") == nil {
		t.Errorf("bogus cursor: got %s, want an error", a.raw)
	}
}

func TestQueryCost(t *testing.T) {
	t.Parallel()
	id := "gid://shopify/Order/" + dataset().Scenario(demo.ScenarioAlreadyReturned).ID
	// orders(first: 10) sorts by id: the first ten scenario orders, whatever their lines.
	ids := make([]string, 0, len(dataset().Orders))
	lines := map[string]int{}
	for _, o := range dataset().Orders {
		ids = append(ids, o.ID)
		lines[o.ID] = len(o.Lines)
	}
	slices.Sort(ids) // same width, so text order is numeric order
	firstTenLines := 0
	for _, id := range ids[:10] {
		firstTenLines += lines[id]
	}
	tests := []struct {
		name              string
		query             string
		requested, actual float64
	}{
		{"object", `{ shop { id name } }`, 1, 1},
		{"scalars only", `{ __typename }`, 0, 0},
		{"connection", `{ orders(first: 10) { nodes { id } } }`, 12, 12},
		{"nested connection", `{ orders(first: 10) { edges { cursor node { id lineItems(first: 5) { nodes { id } } } } pageInfo { hasNextPage } } }`,
			2 + 10*(1+2+5), float64(2 + 10*(1+2) + firstTenLines)},
		{"variables size connections", `query($n: Int!) { orders(first: $n) { nodes { id } } }`, 2 + 7, 2 + 7},
		// Interfaces cost their most expensive implementation: ReturnLineItem's
		// fulfillmentLineItem { lineItem } (2) beats UnverifiedReturnLineItem's unitPrice (1).
		// The order has two returns of one line each.
		{"interface", fmt.Sprintf(`{ order(id: %q) { returns(first: 2) { nodes { returnLineItems(first: 3) { nodes {
			quantity
			... on ReturnLineItem { fulfillmentLineItem { lineItem { id } } }
			... on UnverifiedReturnLineItem { unitPrice { amount } } } } } } } }`, id),
			1 + 2 + 2*(1+2+3*(1+2)), 1 + 2 + 2*(1+2+1*(1+2))},
	}
	for _, tt := range tests {
		s, _ := newSandbox(t, shopify.Options{})
		a := query(t, s, tt.query, map[string]any{"n": 7})
		cost := path(a.body, "extensions", "cost")
		if path(a.body, "errors") != nil || path(cost, "requestedQueryCost") != tt.requested || path(cost, "actualQueryCost") != tt.actual {
			t.Errorf("%s: got %s, want requested %v actual %v", tt.name, a.raw, tt.requested, tt.actual)
		}
		// The bucket kept only the actual cost.
		if got := path(cost, "throttleStatus", "currentlyAvailable"); got != 1000-tt.actual {
			t.Errorf("%s: currentlyAvailable %v, want %v", tt.name, got, 1000-tt.actual)
		}
	}
}

func TestMaxCostExceeded(t *testing.T) {
	t.Parallel()
	s, _ := newSandbox(t, shopify.Options{})
	a := query(t, s, `{ orders(first: 250) { nodes { lineItems(first: 250) { nodes { id } } } } }`, nil)
	e := path(a.body, "errors", 0)
	if a.status != 200 || path(e, "extensions", "code") != "MAX_COST_EXCEEDED" || path(e, "extensions", "maxCost") != 1000.0 ||
		!strings.HasPrefix(path(e, "message").(string), "Query cost is 63252, which exceeds the single query max cost limit (1000).") {
		t.Errorf("got %d %s, want MAX_COST_EXCEEDED", a.status, a.raw)
	}
	if st := s.Stats(); st.MaxCostExceeded != 1 || st.Queries != 0 || st.PointsSpent != 0 {
		t.Errorf("stats %+v, want one refusal and nothing executed", st)
	}
}

func TestThrottle(t *testing.T) {
	t.Parallel()
	s, clk := newSandbox(t, shopify.Options{BucketSize: 50, RestoreRate: 10})
	const q = `{ orders(first: 30) { nodes { id } } }` // requests 32, uses 32
	if a := query(t, s, q, nil); path(a.body, "extensions", "cost", "throttleStatus", "currentlyAvailable") != 18.0 {
		t.Fatalf("first query: got %s, want 18 points left", a.raw)
	}
	a := query(t, s, q, nil)
	want := `{"errors":[{"message":"Throttled","extensions":{"code":"THROTTLED","documentation":"https://shopify.dev/api/usage/rate-limits"}}],` +
		`"extensions":{"cost":{"requestedQueryCost":32,"actualQueryCost":null,"throttleStatus":{"maximumAvailable":50,"currentlyAvailable":18,"restoreRate":10}}}}`
	if a.status != 200 || a.raw != want {
		t.Errorf("throttled answer:\ngot  %d %s\nwant 200 %s", a.status, a.raw, want)
	}
	if st := s.Stats(); st.Queries != 1 || st.Throttled != 1 || st.PointsSpent != 32 {
		t.Errorf("stats %+v, want 1 query, 1 throttled, 32 points", st)
	}
	clk.Advance(1400 * time.Millisecond) // +14 points: 32 available
	if a := query(t, s, q, nil); path(a.body, "errors") != nil {
		t.Errorf("after restoring: got %s, want an answer", a.raw)
	}
	s.SetThrottle(2000, 100)
	a = query(t, s, `{ shop { id } }`, nil)
	if got := path(a.body, "extensions", "cost", "throttleStatus"); !cmp.Equal(got, map[string]any{
		"maximumAvailable": 2000.0, "currentlyAvailable": 1999.0, "restoreRate": 100.0}) {
		t.Errorf("after SetThrottle: got %v", got)
	}
}

func TestFaultsEndpoint(t *testing.T) {
	t.Parallel()
	s, _ := newSandbox(t, shopify.Options{})
	r := httptest.NewRequest(http.MethodPut, "/_sandbox/faults", strings.NewReader(`{"error_rate":1,"error_status":503}`))
	w := httptest.NewRecorder()
	s.ServeHTTP(w, r)
	if w.Code != 200 {
		t.Fatalf("PUT /_sandbox/faults: %d %s", w.Code, w.Body)
	}
	if a := query(t, s, `{ shop { id } }`, nil); a.status != 503 {
		t.Errorf("with error rate 1: got %d, want 503", a.status)
	}
	if s.Faults().Injected() != 1 {
		t.Errorf("injected: got %d, want 1", s.Faults().Injected())
	}
}

func TestConcurrentUse(t *testing.T) {
	t.Parallel()
	s, _ := newSandbox(t, shopify.Options{BucketSize: 100000})
	orders := dataset().Orders
	var wg sync.WaitGroup
	for i := range 32 {
		wg.Go(func() {
			a := query(t, s, orderQuery, map[string]any{"id": "gid://shopify/Order/" + orders[i%len(orders)].ID})
			if path(a.body, "data", "order", "id") == nil {
				t.Errorf("concurrent query %d: %s", i, a.raw)
			}
		})
	}
	wg.Wait()
	if got := s.Stats().Queries; got != 32 {
		t.Errorf("queries: got %d, want 32", got)
	}
}

func TestSameSeedSameShop(t *testing.T) {
	t.Parallel()
	a, _ := newSandbox(t, shopify.Options{Seed: 9})
	b, _ := newSandbox(t, shopify.Options{Seed: 9})
	for _, o := range dataset().Orders[:20] {
		x, _ := a.ShippingAddress(o.ID)
		y, _ := b.ShippingAddress(o.ID)
		if x != y {
			t.Errorf("order %s: addresses differ: %+v vs %+v", o.ID, x, y)
		}
	}
}
