package e2e

import (
	"net/http"
	"strings"
	"testing"

	"github.com/retailbridge/retailbridge/pkg/testkit"
	"github.com/retailbridge/retailbridge/services/sandbox/demo"
)

// decoderFragments are pieces of Go parser messages: a problem that carries one is telling the
// caller about the gateway's insides instead of about the caller's field.
var decoderFragments = []string{"proto:", "strconv.", "unexpected EOF", "invalid character", "json:", "syntax error", "goroutine", ".go:"}

// wantNamedProblem fails unless resp is a 4xx problem document with a reason, the request id and
// instance, a retryable flag that agrees with Retry-After, no decoder text, and — for a 400 —
// the bad fields named in errors[] (wantFields, when given, in order).
func wantNamedProblem(t testing.TB, what string, resp testkit.Response, wantStatus int, wantFields ...string) {
	t.Helper()
	if resp.Status != wantStatus {
		t.Errorf("%s: status %d, want %d: %s", what, resp.Status, wantStatus, resp.Body)
		return
	}
	if ct := resp.Header.Get("Content-Type"); ct != "application/problem+json" {
		t.Errorf("%s: Content-Type %q", what, ct)
		return
	}
	for _, f := range decoderFragments {
		if strings.Contains(string(resp.Body), f) {
			t.Errorf("%s: the problem carries decoder text %q: %s", what, f, resp.Body)
		}
	}
	p := resp.Problem(t)
	if p.Reason == "" || p.RequestID == "" || p.Instance == "" {
		t.Errorf("%s: problem lacks reason, request_id or instance: %s", what, resp.Body)
	}
	if resp.Header.Get("Retry-After") != "" && !p.Retryable {
		t.Errorf("%s: Retry-After with retryable:false: %s", what, resp.Body)
	}
	if wantStatus != http.StatusBadRequest || p.Reason == "card_data_not_accepted" {
		return
	}
	var got []string
	for _, e := range p.Errors {
		got = append(got, e.Field)
		if e.Description == "" {
			t.Errorf("%s: field %q has no description", what, e.Field)
		}
	}
	if len(got) == 0 || (len(wantFields) > 0 && strings.Join(got, ",") != strings.Join(wantFields, ",")) {
		t.Errorf("%s: errors[] names %v, want %v: %s", what, got, wantFields, resp.Body)
	}
}

// The bad-input classes of issue 8 B10/B11, on every audience: each is a 4xx problem that names
// the field in plain words, never decoder text and never a 500.
func TestBadInputIsANamedProblemOnEveryAudience(t *testing.T) {
	t.Parallel()
	h := newIdentityStack(t)
	order := h.Demo.Scenario(demo.ScenarioEligible)
	line := order.Lines[0].ID
	tokens := map[string]string{
		"storefront": h.token(t, demo.DemoCustomerID),
		"support":    h.supportToken(t, "agent-1", "support:read support:write refunds:override"),
		"partner":    h.clientToken(t, h.newClient(t, "acme", "orders:read", "returns:write", "inventory:read"), "").AccessToken,
	}
	create := `{"order_id":"` + order.ID + `","method":"RETURN_METHOD_MAIL","lines":[{"order_line_id":"` + line + `","quantity":1,"reason":"RETURN_REASON_DEFECTIVE"}]}`
	type input struct {
		name, method, path, body string
		headers                  []string
		fields                   []string
	}
	inputs := []input{
		{"invalid UTF-8 in a path parameter", "GET", "orders/%FF%FE", "", nil, []string{"order_id"}},
		{"invalid UTF-8 in a query parameter", "GET", "returns?order_id=%FF", "", nil, []string{"order_id"}},
		{"a word for a number", "GET", "returns?page_size=abc", "", nil, []string{"page_size"}},
		{"page_size zero", "GET", "returns?page_size=0", "", nil, []string{"page_size"}},
		{"page_size out of bounds", "GET", "returns?page_size=101", "", nil, []string{"page_size"}},
		{"unknown query parameter", "GET", "returns?colour=red", "", nil, []string{"colour"}},
		{"a page token nobody issued", "GET", "returns?page_token=garbage", "", nil, []string{"page_token"}},
		{"availability without skus", "GET", "inventory/availability", "", nil, []string{"skus"}},
		{"too many skus", "GET", "inventory/availability?" + strings.Repeat("skus=A&", 101), "", nil, []string{"skus"}},
		{"empty eligibility body", "POST", "returns/eligibility", "", nil, []string{"body"}},
		{"eligibility without order_id", "POST", "returns/eligibility", `{}`, nil, []string{"order_id"}},
		{"unknown body field", "POST", "returns/eligibility", `{"order_id":"1","colour":"red"}`, nil, []string{"colour"}},
		{"string for a number", "POST", "returns/eligibility", `{"order_id":"` + order.ID + `","lines":[{"order_line_id":"` + line + `","quantity":"1"}]}`, nil, []string{"lines[0].quantity"}},
		{"truncated JSON", "POST", "returns/eligibility", `{"order_id":`, nil, []string{"order_id"}},
		{"syntax error at the first byte", "POST", "returns/eligibility", `}`, nil, []string{"body"}},
		{"invalid UTF-8 in the body", "POST", "returns/eligibility", "{\"order_id\":\"\xff\"}", nil, []string{"body"}},
		{"repeated member", "POST", "returns/eligibility", `{"order_id":"1","order_id":"2"}`, nil, []string{"order_id"}},
		{"content after the JSON value", "POST", "returns", create + ` x`, []string{"Idempotency-Key", "trailing"}, []string{"body"}},
		{"enum as a number", "POST", "returns", strings.Replace(create, `"RETURN_METHOD_MAIL"`, `1`, 1), []string{"Idempotency-Key", "numeric-enum"}, []string{"method"}},
		{"missing lines", "POST", "returns", `{"order_id":"` + order.ID + `","method":"RETURN_METHOD_MAIL"}`, []string{"Idempotency-Key", "no-lines"}, []string{"lines"}},
		{"return id with a slash", "GET", "returns/a%2F..%2Fb", "", nil, nil},
	}
	for aud, tok := range tokens {
		t.Run(aud, func(t *testing.T) {
			t.Parallel()
			for _, in := range inputs {
				resp := h.do(t, in.method, "/v1/"+aud+"/"+in.path, tok, rawBody(in.body), in.headers...)
				if in.fields == nil {
					if resp.Status >= 500 {
						t.Errorf("%s: %d %s", in.name, resp.Status, resp.Body)
					}
					continue
				}
				wantNamedProblem(t, aud+": "+in.name, resp, http.StatusBadRequest, in.fields...)
			}
		})
	}
	// A refused creation created nothing: the trailing-data body, sent again clean under a
	// fresh key, is the customer's first return of that line.
	resp := h.do(t, "POST", "/v1/storefront/returns", tokens["storefront"], rawBody(create), "Idempotency-Key", "clean")
	if resp.Status != http.StatusOK {
		t.Errorf("the clean creation after the refusals: %d %s", resp.Status, resp.Body)
	}
}

// rawBody sends s as it is (nil for none), so malformed JSON reaches the gateway unchanged.
func rawBody(s string) any {
	if s == "" {
		return nil
	}
	return s
}

// A validly signed token whose subject gRPC metadata cannot carry names nobody: 401, not a 500.
// The idempotency layer's refusals carry request_id and instance like every other problem, and
// a missing scope is insufficient_scope on every audience.
func TestTokensAndIdempotencyProblemsAreComplete(t *testing.T) {
	t.Parallel()
	h := newStack(t)
	order := h.Demo.Scenario(demo.ScenarioEligible)
	for _, sub := range []string{"kunde-ü", "cust\x01omer", "cust\nomer", "\x7f"} {
		tok := h.token(t, sub)
		for _, path := range []string{"/v1/storefront/orders", "/v1/storefront/returns", "/v1/storefront/orders/" + order.ID} {
			wantNamedProblem(t, "subject "+quote(sub)+" on "+path, h.do(t, "GET", path, tok, nil), http.StatusUnauthorized)
		}
	}
	tok := h.token(t, demo.DemoCustomerID)
	body := createReturn(order.ID, order.Lines[0].ID, 1)
	wantNamedProblem(t, "no Idempotency-Key", h.do(t, "POST", "/v1/storefront/returns", tok, body), http.StatusBadRequest)
	wantNamedProblem(t, "an over-long Idempotency-Key", h.do(t, "POST", "/v1/storefront/returns", tok, body,
		"Idempotency-Key", strings.Repeat("k", 300)), http.StatusBadRequest)
	if resp := h.do(t, "POST", "/v1/storefront/returns", tok, body, "Idempotency-Key", "reuse"); resp.Status != http.StatusOK {
		t.Fatalf("create: %d %s", resp.Status, resp.Body)
	}
	other := createReturn(order.ID, order.Lines[0].ID, 2)
	wantNamedProblem(t, "key reused with another body", h.do(t, "POST", "/v1/storefront/returns", tok, other, "Idempotency-Key", "reuse"),
		http.StatusUnprocessableEntity)

	reader := h.supportToken(t, "agent-2", "support:read")
	resp := h.do(t, "POST", "/v1/support/returns", reader, body, "Idempotency-Key", "no-scope")
	wantNamedProblem(t, "support without support:write", resp, http.StatusForbidden)
	if p := resp.Problem(t); p.Reason != "insufficient_scope" || !strings.Contains(resp.Header.Get("WWW-Authenticate"), "insufficient_scope") {
		t.Errorf("missing scope: reason %q, challenge %q", p.Reason, resp.Header.Get("WWW-Authenticate"))
	}
}

func quote(s string) string {
	return strings.ReplaceAll(strings.ReplaceAll(s, "\n", `\n`), "\x01", `\x01`)
}

// Every answer that says when to come back says the request is worth repeating.
func TestEveryRetryAfterIsRetryable(t *testing.T) {
	t.Parallel()
	h := newStack(t, withRateLimits(t, `policies:
  storefront/default: {rate: 1, period: 1h, burst: 1}
  support/default: {rate: 100000, period: 1s, burst: 100000}
  partner/default: {rate: 100000, period: 1s, burst: 100000}
`))
	// A customer of its own: limits live in the Redis every stack of the suite shares.
	tok := h.token(t, "retry-after-"+h.run)
	var limited testkit.Response
	for range 3 {
		if limited = h.do(t, "GET", "/v1/storefront/returns", tok, nil); limited.Status == http.StatusTooManyRequests {
			break
		}
	}
	wantNamedProblem(t, "rate limited", limited, http.StatusTooManyRequests)
	if limited.Header.Get("Retry-After") == "" || !limited.Problem(t).Retryable {
		t.Errorf("429: Retry-After %q, body %s", limited.Header.Get("Retry-After"), limited.Body)
	}
}
