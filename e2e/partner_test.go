package e2e

import (
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/retailbridge/retailbridge/internal/stack"
	"github.com/retailbridge/retailbridge/pkg/config"
	"github.com/retailbridge/retailbridge/pkg/store"
	"github.com/retailbridge/retailbridge/pkg/store/storetest"
	"github.com/retailbridge/retailbridge/pkg/testkit"
	"github.com/retailbridge/retailbridge/services/sandbox/demo"
)

// The partner API: client-credentials tokens of two tenants (configs/tenants.yaml: acme sells
// through "acme-marketplace" from dc-east and dc-west with a buffer of 2; globex through
// "globex-b2b" from dc-west). Each reaches its own orders, returns and stock, nothing else, and
// anything else answers exactly like something that does not exist.

type partnerOrderJSON struct {
	Order struct {
		ID     string `json:"id"`
		Source string `json:"source"`
	} `json:"order"`
}

type availabilityJSON struct {
	Availability []struct {
		SKU             string   `json:"sku"`
		AvailableToSell string   `json:"available_to_sell"`
		HeldBack        string   `json:"held_back"`
		LocationIDs     []string `json:"location_ids"`
		AsOf            string   `json:"as_of"`
	} `json:"availability"`
}

type positionsJSON struct {
	Positions []struct {
		SKU        string `json:"sku"`
		LocationID string `json:"location_id"`
		Quantities []struct {
			State    string `json:"state"`
			Quantity string `json:"quantity"`
		} `json:"quantities"`
	} `json:"positions"`
	NextPageToken string `json:"next_page_token"`
}

type returnsListJSON struct {
	Returns []struct {
		ID string `json:"id"`
	} `json:"returns"`
}

// partnerLine finds a returnable line among a tenant's orders, asking the partner API itself.
func (h *harness) partnerLine(t testing.TB, token, source string) eligibleLine {
	t.Helper()
	for _, o := range h.Demo.OrdersFrom(source) {
		if o.DeliveredAt == nil || o.FinancialStatus != "PAID" {
			continue
		}
		resp := h.do(t, http.MethodPost, "/v1/partner/returns/eligibility", token, eligibility(o.ID))
		if resp.Status != http.StatusOK {
			t.Fatalf("partner eligibility of its own order %s: %d %s", o.ID, resp.Status, resp.Body)
		}
		var e eligibilityJSON
		resp.JSON(t, &e)
		for _, l := range e.Lines {
			if l.Eligible && l.ReturnableQuantity > 0 {
				return eligibleLine{o.CustomerID, o.ID, l.OrderLineID}
			}
		}
	}
	t.Fatalf("no returnable line among %s orders", source)
	return eligibleLine{}
}

// sameProblem asserts two problems say the same thing (their request ids and instances differ).
func sameProblem(t testing.TB, what string, a, b testkit.Response) {
	t.Helper()
	pa, pb := a.Problem(t), b.Problem(t)
	pa.RequestID, pb.RequestID = "", ""
	if a.Status != b.Status || pa.Type != pb.Type || pa.Title != pb.Title || pa.Detail != pb.Detail {
		t.Errorf("%s answers %d %+v; an unknown one %d %+v: existence leaks", what, a.Status, pa, b.Status, pb)
	}
}

// On both state engines: the tenant column, its index and the requester-scoped key are the
// returns schema's newest migration.
func TestPartnerAPIIsScopedToTheTenant(t *testing.T) {
	t.Parallel()
	for _, d := range storetest.Dialects {
		t.Run(d.String(), func(t *testing.T) {
			t.Parallel()
			testPartnerAPI(t, d)
		})
	}
}

func testPartnerAPI(t *testing.T, dialect store.Dialect) {
	opts := []stackOption{withAuthConfig(t, identityAuthConfig)}
	if dialect == store.Postgres {
		url := storetest.URL(t, store.Postgres)
		opts = append(opts, func(c *config.Config) { c.DatabaseURL = url })
	}
	h := newStackWith(t, func(o *stack.Options) { o.FastVendors, o.ManualParcels = true, true }, opts...)
	all := []string{"orders:read", "returns:write", "inventory:read"}
	acme := h.clientToken(t, h.newClient(t, "acme", all...), "").AccessToken
	globex := h.clientToken(t, h.newClient(t, "globex", all...), "").AccessToken
	ordersOnly := h.clientToken(t, h.newClient(t, "acme", "orders:read"), "").AccessToken

	acmeOrder, globexOrder := h.Demo.OrdersFrom(demo.SourceAcme)[0], h.Demo.OrdersFrom(demo.SourceGlobex)[0]
	webOrder := h.Demo.Scenario(demo.ScenarioEligible)

	t.Run("order status", func(t *testing.T) {
		resp := h.do(t, http.MethodGet, "/v1/partner/orders/"+acmeOrder.ID, acme, nil)
		var o partnerOrderJSON
		resp.JSON(t, &o)
		if resp.Status != http.StatusOK || o.Order.ID != acmeOrder.ID || o.Order.Source != demo.SourceAcme {
			t.Errorf("own order: %d %s", resp.Status, resp.Body)
		}
		if resp.Header.Get("RateLimit-Policy") == "" {
			t.Error("no RateLimit-Policy on a partner route")
		}
		unknown := h.do(t, http.MethodGet, "/v1/partner/orders/999999999", acme, nil)
		if unknown.Status != http.StatusNotFound {
			t.Fatalf("unknown order: %d %s", unknown.Status, unknown.Body)
		}
		sameProblem(t, "another tenant's order", h.do(t, http.MethodGet, "/v1/partner/orders/"+globexOrder.ID, acme, nil), unknown)
		sameProblem(t, "a web-store order", h.do(t, http.MethodGet, "/v1/partner/orders/"+webOrder.ID, acme, nil), unknown)
		// The tenant's order feed: every order of its channels, newest first, nothing else.
		var listed []string
		for token, pages := "", 0; ; pages++ {
			resp := h.do(t, http.MethodGet, "/v1/partner/orders?page_size=7&page_token="+url.QueryEscape(token), acme, nil)
			if resp.Status != http.StatusOK || pages > 100 {
				t.Fatalf("order feed: %d %s", resp.Status, resp.Body)
			}
			var page struct {
				Orders []struct {
					ID     string `json:"id"`
					Source string `json:"source"`
				} `json:"orders"`
				NextPageToken string `json:"next_page_token"`
			}
			resp.JSON(t, &page)
			for _, o := range page.Orders {
				listed = append(listed, o.ID)
			}
			if token = page.NextPageToken; token == "" {
				break
			}
		}
		var want []string
		for _, o := range h.Demo.OrdersFrom(demo.SourceAcme) {
			want = append(want, o.ID)
		}
		if !slices.Equal(listed, want) {
			t.Errorf("acme's order feed: %d orders %v, want %d %v", len(listed), listed, len(want), want)
		}
		// Partner tokens open partner routes only; customer tokens never open them.
		if resp := h.do(t, http.MethodGet, "/v1/storefront/orders/"+acmeOrder.ID, acme, nil); resp.Status != http.StatusUnauthorized && resp.Status != http.StatusForbidden {
			t.Errorf("partner token on a storefront route: %d", resp.Status)
		}
		if resp := h.do(t, http.MethodGet, "/v1/partner/orders/"+acmeOrder.ID, h.token(t, acmeOrder.CustomerID), nil); resp.Status != http.StatusUnauthorized && resp.Status != http.StatusForbidden {
			t.Errorf("customer token on a partner route: %d", resp.Status)
		}
	})

	t.Run("returns", func(t *testing.T) {
		line := h.partnerLine(t, acme, demo.SourceAcme)
		body := createReturn(line.order, line.line, 1)
		if resp := h.do(t, http.MethodPost, "/v1/partner/returns", acme, body); resp.Status != http.StatusBadRequest ||
			resp.Problem(t).Reason != "idempotency_key_missing" {
			t.Errorf("no Idempotency-Key: %d %s", resp.Status, resp.Body)
		}
		if resp := h.do(t, http.MethodPost, "/v1/partner/returns", ordersOnly, body, "Idempotency-Key", "p-1"); resp.Status != http.StatusForbidden ||
			resp.Problem(t).Reason != "insufficient_scope" {
			t.Errorf("without returns:write: %d %s", resp.Status, resp.Body)
		}
		// Another tenant's order cannot be returned, checked or read — and looks unknown.
		unknown := h.do(t, http.MethodPost, "/v1/partner/returns/eligibility", globex, eligibility("999999999"))
		sameProblem(t, "eligibility of another tenant's order", h.do(t, http.MethodPost, "/v1/partner/returns/eligibility", globex, eligibility(line.order)), unknown)
		if resp := h.do(t, http.MethodPost, "/v1/partner/returns", globex, body, "Idempotency-Key", "p-1"); resp.Status != http.StatusNotFound {
			t.Errorf("globex returning acme's order: %d %s", resp.Status, resp.Body)
		}

		created := h.do(t, http.MethodPost, "/v1/partner/returns", acme, body, "Idempotency-Key", "p-1")
		var r returnJSON
		created.JSON(t, &r)
		if created.Status != http.StatusOK || r.Return.ID == "" || r.Return.OrderID != line.order {
			t.Fatalf("create: %d %s", created.Status, created.Body)
		}
		replay := h.do(t, http.MethodPost, "/v1/partner/returns", acme, body, "Idempotency-Key", "p-1")
		var again returnJSON
		replay.JSON(t, &again)
		if replay.Header.Get("Idempotent-Replayed") != "true" || again.Return.ID != r.Return.ID {
			t.Errorf("replay: %d %q %s", replay.Status, replay.Header.Get("Idempotent-Replayed"), replay.Body)
		}

		// ID-5: globex uses the same key value for its own order and gets its own return.
		gline := h.partnerLine(t, globex, demo.SourceGlobex)
		g := h.do(t, http.MethodPost, "/v1/partner/returns", globex, createReturn(gline.order, gline.line, 1), "Idempotency-Key", "p-1")
		var gr returnJSON
		g.JSON(t, &gr)
		if g.Status != http.StatusOK || gr.Return.ID == "" || gr.Return.ID == r.Return.ID || g.Header.Get("Idempotent-Replayed") != "" {
			t.Errorf("globex with acme's key value: %d %s", g.Status, g.Body)
		}

		path := "/v1/partner/returns/" + r.Return.ID
		got := h.do(t, http.MethodGet, path, acme, nil)
		var view returnJSON
		got.JSON(t, &view)
		if got.Status != http.StatusOK || view.Return.ID != r.Return.ID || len(view.Timeline) == 0 {
			t.Fatalf("acme reads its return: %d %s", got.Status, got.Body)
		}
		for _, e := range view.Timeline {
			if e.System != "" || strings.Contains(e.Description, "(by ") {
				t.Errorf("a partner sees internal timeline detail: %+v", e)
			}
		}
		sameProblem(t, "another tenant's return", h.do(t, http.MethodGet, path, globex, nil),
			h.do(t, http.MethodGet, "/v1/partner/returns/ret_unknown", globex, nil))
		// The customer whose order it is sees the return the partner started.
		if resp := h.do(t, http.MethodGet, "/v1/storefront/returns/"+r.Return.ID, h.token(t, line.customer), nil); resp.Status != http.StatusOK {
			t.Errorf("customer reads the partner's return: %d %s", resp.Status, resp.Body)
		}

		list := func(tok string) []string {
			resp := h.do(t, http.MethodGet, "/v1/partner/returns?page_size=100", tok, nil)
			if resp.Status != http.StatusOK {
				t.Fatalf("list: %d %s", resp.Status, resp.Body)
			}
			var l returnsListJSON
			resp.JSON(t, &l)
			var ids []string
			for _, x := range l.Returns {
				ids = append(ids, x.ID)
			}
			return ids
		}
		if a, gl := list(acme), list(globex); !slices.Equal(a, []string{r.Return.ID}) || !slices.Equal(gl, []string{gr.Return.ID}) {
			t.Errorf("lists: acme %v, globex %v; want each its own return only", a, gl)
		}

		if resp := h.do(t, http.MethodPost, path+":cancel", globex, map[string]any{"note": "x"}, "Idempotency-Key", "c-1"); resp.Status != http.StatusNotFound {
			t.Errorf("globex cancels acme's return: %d %s", resp.Status, resp.Body)
		}
		if resp := h.do(t, http.MethodPost, path+":cancel", acme, map[string]any{"note": "customer changed their mind"}, "Idempotency-Key", "c-1"); resp.Status != http.StatusOK {
			t.Errorf("acme cancels its return: %d %s", resp.Status, resp.Body)
		}

		// Partners' writes are privileged actions: the operators' audit log names client and tenant.
		resp := h.do(t, http.MethodGet, "/v1/operations/audit?limit=1000", h.supportToken(t, "ops-1", "operator"), nil)
		var audit struct {
			Entries []struct {
				Actor   string `json:"actor"`
				Tenant  string `json:"tenant"`
				Action  string `json:"action"`
				Outcome int    `json:"outcome"`
			} `json:"entries"`
		}
		resp.JSON(t, &audit)
		seen := map[string]bool{}
		for _, e := range audit.Entries {
			if strings.HasPrefix(e.Actor, "partner:rbc_") {
				seen[e.Tenant+" "+e.Action+" "+strconv.Itoa(e.Outcome)] = true
			}
		}
		for _, want := range []string{"acme POST /v1/partner/returns 200", "acme POST " + path + ":cancel 200", "globex POST " + path + ":cancel 404"} {
			if !seen[want] {
				t.Errorf("audit log lacks %q; partner entries: %v", want, seen)
			}
		}
	})

	t.Run("inventory", func(t *testing.T) {
		var skus []string
		for _, it := range h.Demo.Items {
			if it.Category != "gift_card" && len(skus) < 5 {
				skus = append(skus, it.SKU)
			}
		}
		q := url.Values{"skus": skus}
		// The per-location truth, read by customer service through the positions API.
		support := h.supportToken(t, "agent-1", "support:read")
		pos := h.do(t, http.MethodGet, "/v1/support/inventory/positions?page_size=500&"+q.Encode(), support, nil)
		if pos.Status != http.StatusOK {
			t.Fatalf("positions: %d %s", pos.Status, pos.Body)
		}
		var ps positionsJSON
		pos.JSON(t, &ps)
		sellable := map[string]map[string]int64{} // sku → location → units
		for _, p := range ps.Positions {
			for _, qq := range p.Quantities {
				if qq.State == "INVENTORY_STATE_SELLABLE" {
					n, _ := strconv.ParseInt(qq.Quantity, 10, 64)
					if sellable[p.SKU] == nil {
						sellable[p.SKU] = map[string]int64{}
					}
					sellable[p.SKU][p.LocationID] = n
				}
			}
		}
		want := func(sku string, buffer int64, locs ...string) int64 {
			var n int64
			for _, l := range locs {
				n += max(0, sellable[sku][l]-buffer)
			}
			return n
		}
		check := func(tok, query string, buffer int64, locs ...string) {
			t.Helper()
			resp := h.do(t, http.MethodGet, "/v1/partner/inventory/availability?"+query, tok, nil)
			if resp.Status != http.StatusOK {
				t.Fatalf("availability: %d %s", resp.Status, resp.Body)
			}
			var a availabilityJSON
			resp.JSON(t, &a)
			if len(a.Availability) != len(skus) {
				t.Fatalf("availability: %s", resp.Body)
			}
			for i, av := range a.Availability {
				got, _ := strconv.ParseInt(av.AvailableToSell, 10, 64)
				if av.SKU != skus[i] || got != want(av.SKU, buffer, locs...) {
					t.Errorf("%s %s: available_to_sell %d, want %d over %v less %d each", query, av.SKU, got, want(av.SKU, buffer, locs...), locs, buffer)
				}
			}
		}
		check(acme, q.Encode(), 2, "dc-east", "dc-west")
		check(globex, q.Encode(), 0, "dc-west")
		check(acme, q.Encode()+"&location_ids=dc-east", 2, "dc-east")

		// Another tenant's location reads like one that does not exist (the detail echoes the id asked for).
		denied := h.do(t, http.MethodGet, "/v1/partner/inventory/availability?"+q.Encode()+"&location_ids=dc-east", globex, nil)
		nowhere := h.do(t, http.MethodGet, "/v1/partner/inventory/availability?"+q.Encode()+"&location_ids=nowhere", globex, nil)
		if pd, pn := denied.Problem(t), nowhere.Problem(t); denied.Status != http.StatusNotFound || pd.Type != pn.Type ||
			strings.ReplaceAll(pd.Detail, "dc-east", "X") != strings.ReplaceAll(pn.Detail, "nowhere", "X") {
			t.Errorf("globex asks for dc-east: %d %s; for nowhere: %d %s", denied.Status, denied.Body, nowhere.Status, nowhere.Body)
		}
		if resp := h.do(t, http.MethodGet, "/v1/partner/inventory/availability?"+q.Encode(), ordersOnly, nil); resp.Status != http.StatusForbidden {
			t.Errorf("without inventory:read: %d %s", resp.Status, resp.Body)
		}
		many := url.Values{}
		for i := range 101 {
			many.Add("skus", "SKU-"+strconv.Itoa(i))
		}
		// The document bounds skus (maxItems 100), so the gateway refuses the 101st before the
		// inventory service sees it, naming the parameter.
		if resp := h.do(t, http.MethodGet, "/v1/partner/inventory/availability?"+many.Encode(), acme, nil); resp.Status != http.StatusBadRequest ||
			resp.Problem(t).Reason != "invalid_request" || len(resp.Problem(t).Errors) != 1 || resp.Problem(t).Errors[0].Field != "skus" {
			t.Errorf("101 SKUs: %d %s", resp.Status, resp.Body)
		}
		// Partner positions cover the tenant's locations only.
		resp := h.do(t, http.MethodGet, "/v1/partner/inventory/positions?page_size=500&"+q.Encode(), globex, nil)
		var gp positionsJSON
		resp.JSON(t, &gp)
		if resp.Status != http.StatusOK || len(gp.Positions) == 0 {
			t.Fatalf("globex positions: %d %s", resp.Status, resp.Body)
		}
		for _, p := range gp.Positions {
			if p.LocationID != "dc-west" {
				t.Errorf("globex sees stock at %s", p.LocationID)
			}
		}
	})

	t.Run("documented", func(t *testing.T) {
		doc := string(h.do(t, http.MethodGet, "/openapi.json", "", nil).Body)
		for _, p := range []string{"/v1/partner/orders/{order_id}", "/v1/partner/returns", "/v1/partner/returns/{return_id}",
			"/v1/partner/returns/eligibility", "/v1/partner/inventory/availability", "/v1/partner/inventory/positions"} {
			if !strings.Contains(doc, `"`+p+`"`) {
				t.Errorf("OpenAPI does not document %s", p)
			}
		}
	})
}
