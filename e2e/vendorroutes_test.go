package e2e

import (
	"net/http"
	"slices"
	"testing"
	"time"

	"github.com/retailbridge/retailbridge/pkg/config"
	bcsb "github.com/retailbridge/retailbridge/services/sandbox/businesscentral"
	"github.com/retailbridge/retailbridge/services/sandbox/demo"
	netsuitesb "github.com/retailbridge/retailbridge/services/sandbox/netsuite"
	warehousesb "github.com/retailbridge/retailbridge/services/sandbox/warehouse"
)

// withVendorRoutes sets RB_VENDOR_ROUTES.
func withVendorRoutes(routes string) stackOption {
	return func(c *config.Config) { c.VendorRoutes = config.ParseVendorRoutes(routes) }
}

// Two warehouses and two ERPs in one deployment: the REST warehouse and NetSuite are the
// defaults, and tenant acme's returns go to the 3PL trading EDI over SFTP and to Business Central
// (RB_VENDOR_ROUTES=wms:tenant:acme=edi3pl,erp:tenant:acme=businesscentral). Returns of acme, of
// globex and of the web store all reach refunded; each warehouse and each ERP is told only about
// its own, and each warehouse's receipts come back through its own inbound path (the 3PL's 180s
// over SFTP, the warehouse's signed webhooks) to the right return.
func TestReturnsOfTwoTenantsGoToTheirOwnWarehouse(t *testing.T) {
	t.Parallel()
	h := newStackWith(t, withFastVendors(warehousesb.Outcomes{Resellable: 1}), withAuthConfig(t, identityAuthConfig),
		withVendorSetting("RB_WMS_VENDOR", "warehouse"), withVendorSetting("RB_ERP_VENDOR", "netsuite"),
		withVendorRoutes("wms:tenant:acme=edi3pl,erp:tenant:acme=businesscentral"),
		// Two warehouses' sandboxes and pollers on a loaded machine: the first reads may be slow.
		func(c *config.Config) { c.RequestTimeout = 15 * time.Second })
	if h.EDI3PL == nil || h.Warehouse == nil || h.NetSuite == nil || h.BusinessCentral == nil {
		t.Fatalf("sandboxes: edi3pl %v, warehouse %v, netsuite %v, business central %v; want all four",
			h.EDI3PL, h.Warehouse, h.NetSuite, h.BusinessCentral)
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
	ns, bc := h.NetSuite.Stats().Created, h.BusinessCentral.Stats().Created
	t.Logf("NetSuite created %v; Business Central created %v", ns, bc)
	if ns[netsuitesb.TypeReturnAuthorization] != 2 || ns[netsuitesb.TypeCreditMemo] != 2 || bc[bcsb.SetReturnOrders] != 1 || bc[bcsb.SetSalesCreditMemos] != 1 {
		t.Errorf("ERP documents: NetSuite %v, Business Central %v; want 2 RMAs and 2 credit memos at NetSuite (globex, web), 1 return order and 1 credit memo at Business Central (acme)", ns, bc)
	}
}
