package openapi

import (
	"context"
	"encoding/json"
	"errors"
	"strings"
	"testing"

	"github.com/getkin/kin-openapi/openapi2"
	"github.com/google/go-cmp/cmp"
)

func TestRPCNames(t *testing.T) {
	t.Parallel()
	var doc openapi2.T
	const swagger = `{"swagger":"2.0","info":{"title":"t","version":"1"},"paths":{
	  "/v1/storefront/a":{"get":{"operationId":"S_GetOrder","responses":{"200":{"description":"ok"}}}},
	  "/v1/support/a":{"get":{"operationId":"S_GetOrder2","responses":{"200":{"description":"ok"}}}},
	  "/v1/partner/a":{"get":{"operationId":"S_GetOrder3","responses":{"200":{"description":"ok"}}}},
	  "/v1/partner/b":{"get":{"operationId":"S_GetV2","responses":{"200":{"description":"ok"}}}}}}`
	if err := json.Unmarshal([]byte(swagger), &doc); err != nil {
		t.Fatal(err)
	}
	got, err := rpcNames(&doc)
	if err != nil {
		t.Fatal(err)
	}
	want := map[string]string{"S_GetOrder": "GetOrder", "S_GetOrder2": "GetOrder", "S_GetOrder3": "GetOrder", "S_GetV2": "GetV2"}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("rpc names (-want +got):\n%s", diff)
	}
}

// A route the builder has no rule for must stop generation, not be published without its
// security.
func TestBuildRefusesRoutesWithoutRules(t *testing.T) {
	t.Parallel()
	route := func(path, method, id string) []byte {
		return []byte(`{"swagger":"2.0","info":{"title":"t","version":"1"},"consumes":["application/json"],"produces":["application/json"],
		  "paths":{"` + path + `":{"` + method + `":{"operationId":"` + id + `","responses":{"200":{"description":"ok"}}}}}}`)
	}
	for _, tc := range []struct {
		name    string
		swagger []byte
		want    string
	}{
		{"unknown RPC", route("/v1/partner/widgets", "get", "WidgetService_ListWidgets"), `RPC "ListWidgets"`},
		{"unknown audience", route("/v1/admin/orders", "get", "OrdersService_ListOrders"), "not under"},
		{"partner route of a support-only RPC", route("/v1/partner/returns:resolve", "post",
			"ReturnsService_ResolveException"), "no partner scope"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			_, err := Build(context.Background(), tc.swagger)
			if !errors.Is(err, errUnknownRoute) || !strings.Contains(err.Error(), tc.want) {
				t.Errorf("Build = %v, want errUnknownRoute mentioning %q", err, tc.want)
			}
		})
	}
}

func TestBuildMinimalDocument(t *testing.T) {
	t.Parallel()
	swagger := []byte(`{"swagger":"2.0","info":{"title":"t","version":"1"},"paths":{
	  "/v1/partner/orders/{order_id}":{"get":{"operationId":"OrdersService_GetOrder","parameters":[{"name":"order_id","in":"path","required":true,"type":"string"}],"responses":{"200":{"description":"ok"}}}},
	  "/v1/support/orders/{order_id}":{"get":{"operationId":"OrdersService_GetOrder2","parameters":[{"name":"order_id","in":"path","required":true,"type":"string"}],"responses":{"200":{"description":"ok"}}}}}}`)
	b, err := Build(context.Background(), swagger)
	if err != nil {
		t.Fatal(err)
	}
	var doc struct {
		OpenAPI string `json:"openapi"`
		Paths   map[string]map[string]struct {
			OperationID string                `json:"operationId"`
			Security    []map[string][]string `json:"security"`
		} `json:"paths"`
	}
	if err := json.Unmarshal(b, &doc); err != nil {
		t.Fatal(err)
	}
	if doc.OpenAPI != Version {
		t.Errorf("openapi = %q, want %q", doc.OpenAPI, Version)
	}
	got := doc.Paths["/v1/partner/orders/{order_id}"]["get"]
	if got.OperationID != "partner.GetOrder" || !cmp.Equal(got.Security, []map[string][]string{{SchemePartner: {partnerScopeOrders}}}) {
		t.Errorf("partner GetOrder = %+v", got)
	}
	if got := doc.Paths["/v1/support/orders/{order_id}"]["get"].OperationID; got != "support.GetOrder" {
		t.Errorf("support GetOrder id = %q", got)
	}
	if doc.Paths["/oauth/token"]["post"].OperationID != "identity.Token" {
		t.Error("the hand-written routes are missing")
	}
}
