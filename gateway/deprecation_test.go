package gateway

import (
	"bytes"
	"encoding/json"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/gin-gonic/gin"
	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"

	"github.com/retailbridge/retailbridge/configs"
	"github.com/retailbridge/retailbridge/gateway/apidocs"
)

const testDeprecations = `deprecations:
  - method: GET
    path: /v1/partner/orders/{order_id}
    deprecated_at: 2027-01-04T00:00:00Z
    sunset_at: 2027-07-05T00:00:00Z
    link: https://developers.example.com/changes/partner-orders
    successor: /v2/partner/orders/{order_id}
  - method: POST
    path: /v1/partner/returns/{return_id}:cancel
    deprecated_at: 2027-02-01T00:00:00Z
    sunset_at: 2027-09-01T00:00:00Z
    link: /docs
  - method: GET
    path: /v1/partner/legacy/{id}
    deprecated_at: 2026-01-05T00:00:00Z
    sunset_at: 2026-08-03T00:00:00Z
    link: /docs
    removed: true
`

// testNow is the instant the tests run at, between the deprecations and the sunsets above.
var testNow = time.Date(2027, 3, 1, 0, 0, 0, 0, time.UTC)

func TestBuiltInDeprecationsMatchTheServedDocument(t *testing.T) {
	t.Parallel()
	if _, err := ParseDeprecations(configs.Deprecations, apidocs.OpenAPI, time.Now()); err != nil {
		t.Fatal(err)
	}
}

func TestParseDeprecationsNamesEveryBadField(t *testing.T) {
	t.Parallel()
	ds, err := ParseDeprecations([]byte(testDeprecations), apidocs.OpenAPI, testNow)
	if err != nil {
		t.Fatal(err)
	}
	if len(ds) != 3 || ds[0].SunsetAt.Format(time.DateOnly) != "2027-07-05" {
		t.Fatalf("parsed %+v", ds)
	}
	const bad = `deprecations:
  - method: get
    path: /v1/partner/orders/{order_id}
    deprecated_at: 2027-01-04T00:00:00Z
    sunset_at: 2027-07-05T00:00:00Z
    link: https://developers.example.com/x
  - method: DELETE
    path: /v1/partner/orders/{order_id}
    deprecated_at: 2027-01-04T00:00:00Z
    sunset_at: 2027-03-01T00:00:00Z
    link: http://insecure.example.com/x
    successor: //elsewhere.example.com/x
  - method: GET
    path: /v1/partner/order/{order_id}
    link: /docs
  - method: POST
    path: /v1/partner/returns
    deprecated_at: 2027-01-04T00:00:00Z
    sunset_at: 2027-07-05T00:00:00Z
    link: /docs
  - method: GET
    path: /v1/partner/returns
    deprecated_at: 2026-01-04T00:00:00Z
    sunset_at: 2026-07-05T00:00:00Z
    link: /docs
    removed: true
  - method: GET
    path: /v1/partner/gone/{id}
    deprecated_at: 2026-12-01T00:00:00Z
    sunset_at: 2027-06-01T00:00:00Z
    link: /docs
    removed: true
  - method: POST
    path: /v1/partner/returns
    deprecated_at: 2027-01-04T00:00:00Z
    sunset_at: 2027-07-05T00:00:00Z
    link: /docs
`
	_, err = ParseDeprecations([]byte(bad), apidocs.OpenAPI, testNow)
	if err == nil {
		t.Fatal("a bad deprecation file was accepted")
	}
	for _, want := range []string{
		"deprecations[0].method: must be an upper-case HTTP method",
		"deprecations[1].path: the served API has no operation DELETE /v1/partner/orders/{order_id}",
		"deprecations[1].sunset_at: must be at least 180 days after deprecated_at",
		"deprecations[1].link: required: an https URL",
		"deprecations[1].successor: must be an https URL",
		"deprecations[2].path: the served API has no operation GET /v1/partner/order/{order_id}",
		"deprecations[2].deprecated_at: required",
		"deprecations[2].sunset_at: required",
		"deprecations[4].removed: the served API still has GET /v1/partner/returns",
		"deprecations[5].removed: GET /v1/partner/gone/{id} may leave the API only after its sunset_at",
		"deprecations[6]: POST /v1/partner/returns is listed twice",
	} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("the error lacks %q:\n%v", want, err)
		}
	}
	if _, err := ParseDeprecations([]byte("deprecations:\n  - method: GET\n    sunset: 2027-01-01T00:00:00Z\n"), apidocs.OpenAPI, testNow); err == nil {
		t.Error("an unknown field was accepted")
	}
}

// deprecationGateway serves, behind the deprecation middleware, a stand-in for each route of the
// served document that the tests call, at the instant now.
func deprecationGateway(t testing.TB, now time.Time) *Gateway {
	t.Helper()
	gin.SetMode(gin.ReleaseMode)
	g := &Gateway{cfg: Config{Deprecations: []byte(testDeprecations)},
		deps: Deps{Logger: slog.New(slog.DiscardHandler)}, engine: gin.New()}
	if err := g.loadAPIDocs(func() time.Time { return now }); err != nil {
		t.Fatal(err)
	}
	g.engine.Use(g.observe(), g.deprecation())
	ok := func(c *gin.Context) { c.JSON(http.StatusOK, gin.H{"ok": true}) }
	g.engine.Any("/v1/partner/*path", ok)
	g.engine.GET("/openapi.json", func(c *gin.Context) { c.Data(http.StatusOK, "application/json", g.openapi) })
	return g
}

func TestDeprecationHeaders(t *testing.T) {
	t.Parallel()
	g := deprecationGateway(t, time.Date(2027, 3, 1, 0, 0, 0, 0, time.UTC))
	for _, tc := range []struct {
		name, method, path  string
		deprecation, sunset string
		links               []string
	}{
		{"deprecated read", "GET", "/v1/partner/orders/5100001", "@1799020800", "Mon, 05 Jul 2027 00:00:00 GMT",
			[]string{`<https://developers.example.com/changes/partner-orders>; rel="deprecation"; type="text/html"`,
				`</v2/partner/orders/{order_id}>; rel="successor-version"`}},
		{"deprecated custom method", "POST", "/v1/partner/returns/ret_1:cancel", "@1801440000", "Wed, 01 Sep 2027 00:00:00 GMT",
			[]string{`</docs>; rel="deprecation"; type="text/html"`}},
		{"another method on the same path", "POST", "/v1/partner/orders/5100001", "", "", nil},
		{"the collection, not the item", "GET", "/v1/partner/orders", "", "", nil},
		{"a deeper path", "GET", "/v1/partner/orders/5100001/lines", "", "", nil},
		{"the item without the custom method", "POST", "/v1/partner/returns/ret_1", "", "", nil},
		{"another custom method", "POST", "/v1/partner/returns/ret_1:resolve", "", "", nil},
	} {
		t.Run(tc.name, func(t *testing.T) {
			w := httptest.NewRecorder()
			g.engine.ServeHTTP(w, httptest.NewRequest(tc.method, tc.path, nil))
			if w.Code != http.StatusOK {
				t.Errorf("status = %d, want 200 before the sunset", w.Code)
			}
			if got := w.Header().Get("Deprecation"); got != tc.deprecation {
				t.Errorf("Deprecation = %q, want %q", got, tc.deprecation)
			}
			if got := w.Header().Get("Sunset"); got != tc.sunset {
				t.Errorf("Sunset = %q, want %q", got, tc.sunset)
			}
			if diff := cmp.Diff(tc.links, w.Header().Values("Link"), cmpopts.EquateEmpty()); diff != "" {
				t.Errorf("Link (-want +got):\n%s", diff)
			}
		})
	}
}

func TestDeprecatedRouteIsGoneAfterItsSunset(t *testing.T) {
	t.Parallel()
	g := deprecationGateway(t, time.Date(2027, 7, 5, 0, 0, 0, 0, time.UTC))
	w := httptest.NewRecorder()
	g.engine.ServeHTTP(w, httptest.NewRequest("GET", "/v1/partner/orders/5100001", nil))
	if w.Code != http.StatusGone {
		t.Fatalf("status = %d, want 410 at the sunset", w.Code)
	}
	var p struct{ Reason, Detail, RequestID string }
	if err := json.Unmarshal(w.Body.Bytes(), &p); err != nil || p.Reason != "route_sunset" ||
		!strings.Contains(p.Detail, "/v2/partner/orders/{order_id}") {
		t.Errorf("problem = %s (%v), want route_sunset naming the successor", w.Body, err)
	}
	if w.Header().Get("Deprecation") == "" || w.Header().Get("Sunset") == "" || len(w.Header().Values("Link")) != 2 {
		t.Errorf("headers = %v, want Deprecation, Sunset and both links on the 410", w.Header())
	}
	w = httptest.NewRecorder()
	g.engine.ServeHTTP(w, httptest.NewRequest("POST", "/v1/partner/returns/ret_1:cancel", nil))
	if w.Code != http.StatusOK {
		t.Errorf("an operation before its own sunset: status %d, want 200", w.Code)
	}
	w = httptest.NewRecorder()
	g.engine.ServeHTTP(w, httptest.NewRequest("GET", "/v1/partner/legacy/7", nil))
	if w.Code != http.StatusGone || w.Header().Get("Sunset") != "Mon, 03 Aug 2026 00:00:00 GMT" {
		t.Errorf("a removed operation: status %d, Sunset %q; want 410 with its sunset", w.Code, w.Header().Get("Sunset"))
	}
}

func TestServedDocumentMarksDeprecatedOperations(t *testing.T) {
	t.Parallel()
	g := deprecationGateway(t, time.Date(2027, 3, 1, 0, 0, 0, 0, time.UTC))
	w := httptest.NewRecorder()
	g.engine.ServeHTTP(w, httptest.NewRequest("GET", "/openapi.json", nil))
	var doc struct {
		Paths map[string]map[string]struct {
			Deprecated  bool   `json:"deprecated"`
			Sunset      string `json:"x-sunset"`
			Description string `json:"description"`
		} `json:"paths"`
	}
	if err := json.Unmarshal(w.Body.Bytes(), &doc); err != nil {
		t.Fatal(err)
	}
	var deprecated []string
	for path, item := range doc.Paths {
		for method, op := range item {
			if op.Deprecated {
				deprecated = append(deprecated, strings.ToUpper(method)+" "+path)
			}
		}
	}
	if diff := cmp.Diff([]string{"GET /v1/partner/orders/{order_id}", "POST /v1/partner/returns/{return_id}:cancel"},
		deprecated, cmpopts.SortSlices(func(a, b string) bool { return a < b })); diff != "" {
		t.Errorf("deprecated operations (-want +got):\n%s", diff)
	}
	op := doc.Paths["/v1/partner/orders/{order_id}"]["get"]
	if op.Sunset != "2027-07-05T00:00:00Z" || !strings.HasPrefix(op.Description, "**Deprecated** since 2027-01-04; sunset on 2027-07-05") {
		t.Errorf("operation = %+v, want the sunset and the notice", op)
	}
	page, err := buildReference(g.openapi)
	if err != nil || !bytes.Contains(page, []byte("Deprecated")) {
		t.Errorf("the reference page does not show the deprecation (%v)", err)
	}

	same, err := markDeprecated(apidocs.OpenAPI, nil)
	if err != nil || !bytes.Equal(same, apidocs.OpenAPI) {
		t.Error("with nothing deprecated the served document is not the generated one")
	}
}
