package openapi_test

import (
	"context"
	"errors"
	"net/http/httptest"
	"testing"

	"github.com/getkin/kin-openapi/routers"

	"github.com/retailbridge/retailbridge/gateway/apidocs"
	"github.com/retailbridge/retailbridge/internal/openapi"
)

func TestRouterFindsOperations(t *testing.T) {
	t.Parallel()
	doc, err := openapi.LoadDocument(context.Background(), apidocs.OpenAPI)
	if err != nil {
		t.Fatal(err)
	}
	r, err := openapi.NewRouter(doc)
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name, method, target string
		wantPath, wantID     string
		wantErr              error
	}{
		{"plain read", "GET", "/v1/storefront/returns/r-1", "/v1/storefront/returns/{return_id}", "r-1", nil},
		{"custom method suffix", "POST", "/v1/storefront/returns/r-1:cancel", "/v1/storefront/returns/{return_id}:cancel", "r-1", nil},
		{"dashed custom method", "POST", "/v1/support/returns/r-1:override-refund", "/v1/support/returns/{return_id}:override-refund", "r-1", nil},
		{"literal beats variable", "POST", "/v1/partner/returns/eligibility", "/v1/partner/returns/eligibility", "", nil},
		{"escaped slash stays in the parameter", "GET", "/v1/storefront/returns/a%2Fb", "/v1/storefront/returns/{return_id}", "a/b", nil},
		{"a suffix alone is an id, not a custom method", "POST", "/v1/storefront/returns/:cancel", "", "", routers.ErrMethodNotAllowed},
		{"unknown path", "GET", "/v1/storefront/nothing", "", "", routers.ErrPathNotFound},
		{"wrong method", "DELETE", "/v1/storefront/returns", "", "", routers.ErrMethodNotAllowed},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			route, params, err := r.FindRoute(httptest.NewRequest(tt.method, tt.target, nil))
			if tt.wantErr != nil {
				var re *routers.RouteError
				if !errors.As(err, &re) || re.Reason != tt.wantErr.Error() {
					t.Fatalf("got %v, want %v", err, tt.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if route.Path != tt.wantPath {
				t.Errorf("got path %q, want %q", route.Path, tt.wantPath)
			}
			for _, v := range params {
				if v != tt.wantID {
					t.Errorf("got parameter %q, want %q", v, tt.wantID)
				}
			}
		})
	}
}
