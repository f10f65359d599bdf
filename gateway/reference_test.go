package gateway

import (
	"bytes"
	"compress/gzip"
	"crypto/sha256"
	"encoding/hex"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/url"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/gin-gonic/gin"
	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"

	"github.com/retailbridge/retailbridge/gateway/apidocs"
	"github.com/retailbridge/retailbridge/gateway/redoc"
)

func findRefOp(t testing.TB, page refPage, method, path string) (string, refOp) {
	t.Helper()
	for _, tag := range page.Tags {
		for _, op := range tag.Ops {
			if op.Method == method && op.Path == path {
				return tag.Name, op
			}
		}
	}
	t.Fatalf("the reference lacks %s %s", method, path)
	return "", refOp{}
}

func TestReferenceFromServedDocument(t *testing.T) {
	t.Parallel()
	page, err := referenceModel(apidocs.OpenAPI)
	if err != nil {
		t.Fatal(err)
	}
	var tags []string
	for _, tag := range page.Tags {
		tags = append(tags, tag.Name)
	}
	if want := []string{"Storefront", "Customer service", "Partner", "Identity", "Operations", "Webhooks"}; !cmp.Equal(tags, want) {
		t.Errorf("tags = %q, want %q", tags, want)
	}
	for _, tc := range []struct {
		name, method, path, tag string
		security                []refSecurity
		idempotent              bool
	}{
		{"partner creates a return", "POST", "/v1/partner/returns", "Partner",
			[]refSecurity{{Scheme: "partner", Scopes: []string{"returns:write"}}}, true},
		{"partner eligibility changes nothing", "POST", "/v1/partner/returns/eligibility", "Partner",
			[]refSecurity{{Scheme: "partner", Scopes: []string{"returns:read"}}}, false},
		{"partner cancels", "POST", "/v1/partner/returns/{return_id}:cancel", "Partner",
			[]refSecurity{{Scheme: "partner", Scopes: []string{"returns:write"}}}, true},
		{"partner stock", "GET", "/v1/partner/inventory/positions", "Partner",
			[]refSecurity{{Scheme: "partner", Scopes: []string{"inventory:read"}}}, false},
		{"storefront orders", "GET", "/v1/storefront/orders", "Storefront",
			[]refSecurity{{Scheme: "storefront"}}, false},
		{"support overrides a refund", "POST", "/v1/support/returns/{return_id}:override-refund", "Customer service",
			[]refSecurity{{Scheme: "support", Scopes: []string{"refunds:override"}}}, true},
		{"operators read the audit log", "GET", "/v1/operations/audit", "Operations",
			[]refSecurity{{Scheme: "support", Scopes: []string{"operator"}}}, false},
		{"token endpoint", "POST", "/oauth/token", "Identity",
			[]refSecurity{{Scheme: "partnerClient"}, {}}, false},
		{"webhooks are signed, not authorised", "POST", "/webhooks/{vendor}", "Webhooks", nil, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			tag, op := findRefOp(t, page, tc.method, tc.path)
			if tag != tc.tag {
				t.Errorf("tag = %q, want %q", tag, tc.tag)
			}
			if diff := cmp.Diff(tc.security, op.Security, cmpopts.EquateEmpty()); diff != "" {
				t.Errorf("security (-want +got):\n%s", diff)
			}
			if op.Idempotent != tc.idempotent {
				t.Errorf("idempotent = %v, want %v", op.Idempotent, tc.idempotent)
			}
		})
	}
}

func TestReferencePageRenders(t *testing.T) {
	t.Parallel()
	b, err := buildReference(apidocs.OpenAPI)
	if err != nil {
		t.Fatal(err)
	}
	page := string(b)
	for _, want := range []string{
		"<h2>Storefront</h2>", "<h2>Customer service</h2>", "<h2>Partner</h2>", "<h2>Identity</h2>", "<h2>Operations</h2>",
		"<code>/v1/storefront/returns/eligibility</code>", "CreateReturn starts the return-to-refund workflow",
		"<code>partner</code> with scope <code>returns:write</code>", "Idempotency-Key required.", "<code>/oauth/token</code>",
		// request and response shapes, every schema's fields and enums
		`Request body: <a href="#s-processReturnsV1CreateReturnRequest">`,
		`<code>200</code> <a href="#s-processReturnsV1CreateReturnResponse"><code>processReturnsV1CreateReturnResponse</code></a>`,
		`<code>422</code> <a href="#s-Problem">`, `<h3 id="s-v1ReturnLine">`, "<td><code>order_line_id</code></td>",
		`<a href="#s-v1ReturnReason"><code>v1ReturnReason</code></a>`, "<code>RETURN_REASON_SIZE_OR_FIT</code>",
		"<td><code>quantity</code></td><td>integer (int32)</td>",
	} {
		if !strings.Contains(page, want) {
			t.Errorf("the page lacks %q", want)
		}
	}
}

func TestReferenceModel(t *testing.T) {
	t.Parallel()
	const doc = `{"openapi":"3.1.0","info":{"title":"T","version":"v1","description":"One **two** ` + "`three`" + `.\n\nFour."},
	"tags":[{"name":"A"}],
	"components":{"parameters":{"Key":{"name":"Idempotency-Key","in":"header","required":true,"schema":{"type":"string"}}},
	  "responses":{"Gone":{"description":"not there"}},
	  "schemas":{"Req":{"type":"object","required":["b"],"properties":{"a":{"type":"string","enum":["X","Y"]},
	    "b":{"type":"integer","format":"int64"},"m":{"type":"object","additionalProperties":{"type":"string"}}}},
	    "E":{"type":"string","description":"An enum.","enum":["ONE","TWO"]}}},
	"paths":{"/x":{"parameters":[],"post":{"tags":["A"],"summary":"S","parameters":[{"$ref":"#/components/parameters/Key"},
	  {"name":"n","in":"query","schema":{"type":["integer","null"]}},{"name":"l","in":"query","schema":{"type":"array","items":{"type":"string"}}}],
	  "security":[{"s":["a","b"]}],
	  "requestBody":{"content":{"application/json":{"schema":{"$ref":"#/components/schemas/Req"}}}},
	  "responses":{"200":{"description":"ok","content":{"application/json":{"schema":{"type":"array","items":{"$ref":"#/components/schemas/Req"}}}}},
	    "404":{"$ref":"#/components/responses/Gone"}}},
	  "get":{"summary":"untagged"}}}}`
	page, err := referenceModel([]byte(doc))
	if err != nil {
		t.Fatal(err)
	}
	want := refPage{Title: "T", Version: "v1",
		Intro: []refText{{{Text: "One "}, {Text: "two", Strong: true}, {Text: " "}, {Text: "three", Code: true}, {Text: "."}}, {{Text: "Four."}}},
		Tags: []refTag{
			{Name: "A", Ops: []refOp{{Method: "POST", Path: "/x", Summary: "S", Idempotent: true,
				Security:      []refSecurity{{Scheme: "s", Scopes: []string{"a", "b"}}},
				RequestBody:   "application/json",
				RequestSchema: refType{Ref: "Req"},
				Responses: []refResponse{{Status: "200", Description: "ok", Schema: refType{Ref: "Req", Suffix: "[]"}},
					{Status: "404", Description: "not there"}},
				Params: []refParam{{Name: "Idempotency-Key", In: "header", Type: "string", Required: true},
					{Name: "n", In: "query", Type: "integer | null"}, {Name: "l", In: "query", Type: "string[]"}}}}},
			{Name: "Other", Ops: []refOp{{Method: "GET", Path: "/x", Summary: "untagged"}}},
		},
		Schemas: []refSchema{
			{Name: "E", Type: refType{Text: "string"}, Description: refText{{Text: "An enum."}}, Enum: []string{"ONE", "TWO"}},
			{Name: "Req", Type: refType{Text: "object"}, Props: []refProp{
				{Name: "b", Type: refType{Text: "integer (int64)"}, Required: true},
				{Name: "a", Type: refType{Text: "string"}, Enum: []string{"X", "Y"}},
				{Name: "m", Type: refType{Text: "string", Suffix: "{}"}}}},
		}}
	if diff := cmp.Diff(want, page, cmpopts.EquateEmpty()); diff != "" {
		t.Errorf("model (-want +got):\n%s", diff)
	}

	broken := strings.Replace(doc, "#/components/parameters/Key", "#/components/parameters/Missing", 1)
	if _, err := referenceModel([]byte(broken)); err == nil {
		t.Error("an unresolvable parameter reference was accepted")
	}
	broken = strings.Replace(doc, "#/components/responses/Gone", "#/components/responses/Missing", 1)
	if _, err := referenceModel([]byte(broken)); err == nil {
		t.Error("an unresolvable response reference was accepted")
	}
}

// docsGateway serves only the reference routes, behind the gateway's security headers.
func docsGateway(t testing.TB) *Gateway {
	t.Helper()
	gin.SetMode(gin.ReleaseMode)
	g := &Gateway{deps: Deps{Logger: slog.New(slog.DiscardHandler)}, engine: gin.New()}
	if err := g.loadAPIDocs(time.Now); err != nil {
		t.Fatal(err)
	}
	g.engine.Use(g.securityHeaders())
	g.referenceRoutes(g.engine)
	return g
}

func getDocs(t testing.TB, g *Gateway, path string, header ...string) *httptest.ResponseRecorder {
	t.Helper()
	r := httptest.NewRequest(http.MethodGet, path, nil)
	for i := 0; i+1 < len(header); i += 2 {
		r.Header.Set(header[i], header[i+1])
	}
	w := httptest.NewRecorder()
	g.engine.ServeHTTP(w, r)
	return w
}

// TestDocsPageLoadsOnlySameOriginAssets reads the page as a browser would: every address it
// names, and every source its Content-Security-Policy allows, is this origin.
func TestDocsPageLoadsOnlySameOriginAssets(t *testing.T) {
	t.Parallel()
	g := docsGateway(t)
	w := getDocs(t, g, "/docs")
	if w.Code != http.StatusOK || w.Header().Get("Content-Type") != "text/html; charset=utf-8" {
		t.Fatalf("GET /docs = %d %q", w.Code, w.Header().Get("Content-Type"))
	}
	page := w.Body.String()
	refs := regexp.MustCompile(`(?i)\b(src|href|spec-url|action|data|poster|srcset)\s*=\s*["']?([^"'\s>]*)`).FindAllStringSubmatch(page, -1)
	var scripts []string
	for _, m := range refs {
		u, err := url.Parse(m[2])
		if err != nil || u.Scheme != "" || u.Host != "" || !strings.HasPrefix(m[2], "/") || strings.HasPrefix(m[2], "//") {
			t.Errorf("the page refers to %s=%q, not an address on this origin", m[1], m[2])
		}
		if strings.EqualFold(m[1], "src") {
			scripts = append(scripts, m[2])
		}
	}
	if want := []string{"/docs/assets/redoc-" + redoc.Version + ".standalone.js"}; !cmp.Equal(scripts, want) {
		t.Errorf("scripts = %q, want %q", scripts, want)
	}
	if regexp.MustCompile(`<script[^>]*>[^<]+</script>`).MatchString(page) || strings.Contains(page, "@import") {
		t.Error("the page carries inline script or imports styles")
	}
	if !strings.Contains(page, `<redoc spec-url="/openapi.json"`) {
		t.Error("the page does not render /openapi.json")
	}

	csp := w.Header().Get("Content-Security-Policy")
	directives := map[string][]string{}
	for _, d := range strings.Split(csp, ";") {
		if f := strings.Fields(d); len(f) > 0 {
			directives[f[0]] = f[1:]
		}
	}
	sameOrigin := map[string]bool{"'self'": true, "'none'": true, "'unsafe-inline'": true, "blob:": true, "data:": true}
	for name, sources := range directives {
		for _, s := range sources {
			if !sameOrigin[s] {
				t.Errorf("Content-Security-Policy %s allows %s", name, s)
			}
		}
	}
	for name, want := range map[string][]string{"default-src": {"'none'"}, "script-src": {"'self'"}, "connect-src": {"'self'"}} {
		if !cmp.Equal(directives[name], want) {
			t.Errorf("Content-Security-Policy %s = %q, want %q", name, directives[name], want)
		}
	}
}

func TestDocsAssetIsTheVendoredRenderer(t *testing.T) {
	t.Parallel()
	g := docsGateway(t)
	for _, tc := range []struct {
		name, acceptEncoding, wantEncoding string
	}{
		{"identity", "", ""},
		{"gzip", "br, gzip;q=0.8", "gzip"},
		{"gzip refused", "gzip;q=0, br", ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			w := getDocs(t, g, redocPath, "Accept-Encoding", tc.acceptEncoding)
			if w.Code != http.StatusOK {
				t.Fatalf("GET %s = %d", redocPath, w.Code)
			}
			if got := w.Header().Get("Content-Type"); got != "text/javascript; charset=utf-8" {
				t.Errorf("Content-Type = %q, want text/javascript; charset=utf-8", got)
			}
			if got := w.Header().Get("X-Content-Type-Options"); got != "nosniff" {
				t.Errorf("X-Content-Type-Options = %q, want nosniff", got)
			}
			if got := w.Header().Get("Content-Encoding"); got != tc.wantEncoding {
				t.Errorf("Content-Encoding = %q, want %q", got, tc.wantEncoding)
			}
			body := w.Body.Bytes()
			if tc.wantEncoding == "gzip" {
				zr, err := gzip.NewReader(bytes.NewReader(body))
				if err != nil {
					t.Fatal(err)
				}
				if body, err = io.ReadAll(zr); err != nil {
					t.Fatal(err)
				}
			}
			if sum := sha256.Sum256(body); hex.EncodeToString(sum[:]) != redoc.SHA256 {
				t.Error("the served bundle is not the vendored one")
			}
		})
	}
	if w := getDocs(t, g, "/docs/plain"); w.Code != http.StatusOK || !strings.Contains(w.Body.String(), "<h2>Partner</h2>") {
		t.Errorf("GET /docs/plain = %d, want the server-rendered reference", w.Code)
	}
}
