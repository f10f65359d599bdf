package gateway

import (
	"encoding/json"
	"net/http"
	"os"
	"slices"
	"strings"
	"testing"

	"go.yaml.in/yaml/v3"

	"github.com/retailbridge/retailbridge/gateway/apidocs"
)

// httpRuleRoutes reads every (method, path) binding of configs/http/gateway.yaml.
func httpRuleRoutes(t testing.TB) [][2]string {
	t.Helper()
	b, err := os.ReadFile("../configs/http/gateway.yaml")
	if err != nil {
		t.Fatal(err)
	}
	type binding struct {
		Get, Post, Put, Patch, Delete string
		AdditionalBindings            []binding `yaml:"additional_bindings"`
	}
	var doc struct {
		HTTP struct {
			Rules []binding `yaml:"rules"`
		} `yaml:"http"`
	}
	if err := yaml.Unmarshal(b, &doc); err != nil {
		t.Fatal(err)
	}
	var out [][2]string
	var walk func(b binding)
	walk = func(b binding) {
		for m, p := range map[string]string{http.MethodGet: b.Get, http.MethodPost: b.Post, http.MethodPut: b.Put,
			http.MethodPatch: b.Patch, http.MethodDelete: b.Delete} {
			if p != "" {
				out = append(out, [2]string{m, p})
			}
		}
		for _, a := range b.AdditionalBindings {
			walk(a)
		}
	}
	for _, r := range doc.HTTP.Rules {
		walk(r)
	}
	if len(out) < 10 {
		t.Fatalf("read only %d HTTP rules", len(out))
	}
	return out
}

// TestEverySupportRouteHasAScopeRule: every /v1/support binding of the HTTP rules is in
// SupportRoutes with at least one scope, and SupportRoutes names nothing else.
func TestEverySupportRouteHasAScopeRule(t *testing.T) {
	t.Parallel()
	var support [][2]string
	for _, r := range httpRuleRoutes(t) {
		if strings.HasPrefix(r[1], "/v1/support/") {
			support = append(support, r)
		}
	}
	for _, r := range support {
		n := 0
		for _, rule := range SupportRoutes {
			if rule.Method == r[0] && rule.Path == r[1] {
				n++
				if len(rule.Scopes) == 0 {
					t.Errorf("%s %s needs no scope", r[0], r[1])
				}
			}
		}
		if n != 1 {
			t.Errorf("%s %s has %d scope rules, want 1", r[0], r[1], n)
		}
	}
	for _, rule := range SupportRoutes {
		if !slices.Contains(support, [2]string{rule.Method, rule.Path}) {
			t.Errorf("scope rule %s %s matches no HTTP rule", rule.Method, rule.Path)
		}
	}
}

func TestScopedRouteMatching(t *testing.T) {
	t.Parallel()
	tests := []struct {
		method, path string
		want         string // the rule's path; "" = none
		otherMethod  bool
	}{
		{"GET", "/v1/support/orders", "/v1/support/orders", false},
		{"HEAD", "/v1/support/orders", "/v1/support/orders", false},
		{"GET", "/v1/support/orders/123", "/v1/support/orders/{order_id}", false},
		{"GET", "/v1/support/orders/", "", false},
		{"GET", "/v1/support/orders/1/2", "", false},
		{"POST", "/v1/support/returns/eligibility", "/v1/support/returns/eligibility", false},
		{"POST", "/v1/support/returns", "/v1/support/returns", false},
		{"GET", "/v1/support/returns", "/v1/support/returns", false},
		{"DELETE", "/v1/support/returns", "", true},
		{"POST", "/v1/support/returns/r1:cancel", "/v1/support/returns/{return_id}:cancel", false},
		{"POST", "/v1/support/returns/r1:override-refund", "/v1/support/returns/{return_id}:override-refund", false},
		{"POST", "/v1/support/returns/:cancel", "", false},
		{"POST", "/v1/support/returns/r1:explode", "", false},
		{"GET", "/v1/support/returns/r1:cancel", "", true},
		{"GET", "/v1/support/secrets", "", false},
	}
	for _, tt := range tests {
		rule, found, other := matchScopedRoute(SupportRoutes, tt.method, tt.path)
		if got := rule.Path; found && got != tt.want || !found && tt.want != "" || other != tt.otherMethod {
			t.Errorf("%s %s: rule %q found=%v otherMethod=%v, want %q otherMethod=%v", tt.method, tt.path, rule.Path, found, other, tt.want, tt.otherMethod)
		}
	}
}

// TestSupportScopesMatchTheServedDocument: the scopes the served OpenAPI document lists for each
// support operation are the scopes the gateway enforces.
func TestSupportScopesMatchTheServedDocument(t *testing.T) {
	t.Parallel()
	var doc struct {
		Paths map[string]map[string]struct {
			Security []map[string][]string `json:"security"`
		} `json:"paths"`
	}
	if err := json.Unmarshal(apidocs.OpenAPI, &doc); err != nil {
		t.Fatal(err)
	}
	for _, rule := range SupportRoutes {
		op, ok := doc.Paths[rule.Path][strings.ToLower(rule.Method)]
		if !ok || len(op.Security) != 1 {
			t.Errorf("%s %s: not documented with one security requirement", rule.Method, rule.Path)
			continue
		}
		if got := op.Security[0]["support"]; !slices.Equal(got, rule.Scopes) {
			t.Errorf("%s %s: the document lists scopes %v, the gateway enforces %v", rule.Method, rule.Path, got, rule.Scopes)
		}
	}
}
