package e2e

import (
	"net/http"
	"slices"
	"testing"
	"time"

	"github.com/retailbridge/retailbridge/pkg/config"
	"github.com/retailbridge/retailbridge/services/sandbox/demo"
	warehousesb "github.com/retailbridge/retailbridge/services/sandbox/warehouse"
)

// withVendorRoutes sets RB_VENDOR_ROUTES.
func withVendorRoutes(routes string) stackOption {
	return func(c *config.Config) { c.VendorRoutes = config.ParseVendorRoutes(routes) }
}

// Two warehouses in one deployment: the REST warehouse is the WMS default, and tenant acme's
// returns go to the 3PL trading EDI over SFTP (RB_VENDOR_ROUTES=wms:tenant:acme=edi3pl). Returns
// of acme, of globex and of the web store all reach refunded; each warehouse is told only about
// its own, and each one's receipts come back through its own inbound path (the 3PL's 180s over
// SFTP, the warehouse's signed webhooks) to the right return.
func TestReturnsOfTwoTenantsGoToTheirOwnWarehouse(t *testing.T) {
	t.Parallel()
	h := newStackWith(t, withFastVendors(warehousesb.Outcomes{Resellable: 1}), withAuthConfig(t, identityAuthConfig),
		withVendorSetting("RB_WMS_VENDOR", "warehouse"), withVendorRoutes("wms:tenant:acme=edi3pl"),
		// Two warehouses' sandboxes and pollers on a loaded machine: the first reads may be slow.
		func(c *config.Config) { c.RequestTimeout = 15 * time.Second })
	if h.EDI3PL == nil || h.Warehouse == nil {
		t.Fatalf("sandboxes: edi3pl %v, warehouse %v; want both", h.EDI3PL, h.Warehouse)
	}
	scopes := []string{"orders:read", "returns:write"}
	acme := h.clientToken(t, h.newClient(t, "acme", scopes...), "").AccessToken
	globex := h.clientToken(t, h.newClient(t, "globex", scopes...), "").AccessToken

	type started struct{ who, id, customer string }
	var all []started
	for _, p := range []struct{ tenant, token, source string }{{"acme", acme, demo.SourceAcme}, {"globex", globex, demo.SourceGlobex}} {
		line := h.partnerLine(t, p.token, p.source)
		resp := h.do(t, http.MethodPost, "/v1/partner/returns", p.token, createReturn(line.order, line.line, 1), "Idempotency-Key", "route-"+p.tenant)
		if resp.Status != http.StatusOK {
			t.Fatalf("%s return: %d %s", p.tenant, resp.Status, resp.Body)
		}
		var r returnJSON
		resp.JSON(t, &r)
		all = append(all, started{p.tenant, r.Return.ID, line.customer})
	}
	web := h.Demo.Scenario(demo.ScenarioMultipleQuantity)
	webTok := h.token(t, demo.DemoCustomerID)
	resp := h.do(t, http.MethodPost, "/v1/storefront/returns", webTok, createReturn(web.ID, web.Lines[0].ID, 1), "Idempotency-Key", "route-web")
	if resp.Status != http.StatusOK {
		t.Fatalf("web return: %d %s", resp.Status, resp.Body)
	}
	var wr returnJSON
	resp.JSON(t, &wr)
	all = append(all, started{"web", wr.Return.ID, demo.DemoCustomerID})

	for _, s := range all {
		h.waitState(t, h.token(t, s.customer), s.id, "refunded")
	}
	edi, rest := h.EDI3PL.ReturnIDs(), h.Warehouse.ExpectedReturns()
	t.Logf("the 3PL was told about %v; the REST warehouse about %v", edi, rest)
	for _, s := range all {
		toEDI, toREST := slices.Contains(edi, s.id), slices.Contains(rest, s.id)
		if wantEDI := s.who == "acme"; toEDI != wantEDI || toREST == wantEDI {
			t.Errorf("%s's return %s: at the 3PL %v, at the REST warehouse %v; want only the %s", s.who, s.id, toEDI, toREST,
				map[bool]string{true: "3PL", false: "REST warehouse"}[wantEDI])
		}
	}
	if len(edi) != 1 || len(rest) != 2 {
		t.Errorf("the 3PL knows %d returns, the REST warehouse %d; want 1 and 2", len(edi), len(rest))
	}
}
