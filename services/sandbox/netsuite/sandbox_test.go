package netsuite

import (
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/retailbridge/retailbridge/services/sandbox/demo"
	"github.com/retailbridge/retailbridge/services/sandbox/faults"
)

var testNow = time.Date(2026, 3, 14, 9, 26, 53, 0, time.UTC)

func newSandbox(tb testing.TB, opts Options) (*Sandbox, *demo.Dataset) {
	tb.Helper()
	ds := demo.Generate(3, testNow, 2, 2)
	if opts.Now == nil {
		opts.Now = func() time.Time { return testNow }
	}
	return New(ds, opts), ds
}

// auth is what a test signs with; zero fields take the sandbox's Dev… credentials.
type auth struct {
	realm, consumerKey, consumerSecret, token, tokenSecret, method string
	at                                                             time.Time
	nonce                                                          string
}

// signed returns a GET for target signed as a, in the test's own words; the verifier's base
// string is checked independently by TestKnownVector.
func signed(tb testing.TB, target string, a auth) *http.Request {
	tb.Helper()
	return signedRequest(tb, http.MethodGet, target, "", a)
}

// signedRequest is signed for any method; a JSON body is not part of the OAuth signature.
func signedRequest(tb testing.TB, method, target, body string, a auth) *http.Request {
	tb.Helper()
	var rd io.Reader
	if body != "" {
		rd = strings.NewReader(body)
	}
	r := httptest.NewRequest(method, target, rd)
	if body != "" {
		r.Header.Set("Content-Type", "application/json")
	}
	def := func(v *string, d string) {
		if *v == "" {
			*v = d
		}
	}
	def(&a.realm, DevAccount)
	def(&a.consumerKey, DevConsumerKey)
	def(&a.consumerSecret, DevConsumerSecret)
	def(&a.token, DevTokenID)
	def(&a.tokenSecret, DevTokenSecret)
	def(&a.method, "HMAC-SHA256")
	def(&a.nonce, rand.Text())
	if a.at.IsZero() {
		a.at = testNow
	}
	params := map[string]string{
		"oauth_consumer_key": a.consumerKey, "oauth_token": a.token, "oauth_signature_method": a.method,
		"oauth_timestamp": strconv.FormatInt(a.at.Unix(), 10), "oauth_nonce": a.nonce, "oauth_version": "1.0",
	}
	base, err := signatureBaseString(r, params)
	if err != nil {
		tb.Fatal(err)
	}
	mac := hmac.New(sha256.New, []byte(a.consumerSecret+"&"+a.tokenSecret))
	mac.Write([]byte(base))
	params["oauth_signature"] = base64.StdEncoding.EncodeToString(mac.Sum(nil))
	h := `OAuth realm="` + a.realm + `"`
	for k, v := range params {
		h += fmt.Sprintf(`, %s="%s"`, k, percentEncode(v))
	}
	r.Header.Set("Authorization", h)
	return r
}

func serve(s *Sandbox, r *http.Request) *httptest.ResponseRecorder {
	w := httptest.NewRecorder()
	s.ServeHTTP(w, r)
	return w
}

// wantError checks a NetSuite error document.
func wantError(tb testing.TB, w *httptest.ResponseRecorder, status int, code string) {
	tb.Helper()
	if w.Code != status {
		tb.Fatalf("status = %d; want %d (body %s)", w.Code, status, w.Body)
	}
	var body errorBody
	if err := json.Unmarshal(w.Body.Bytes(), &body); err != nil {
		tb.Fatalf("error body %q: %v", w.Body, err)
	}
	if body.Status != status || body.Title != http.StatusText(status) || body.Type == "" ||
		len(body.Details) != 1 || body.Details[0].Code != code || body.Details[0].Detail == "" {
		tb.Errorf("error body = %+v; want status %d, title %q, one detail with o:errorCode %s",
			body, status, http.StatusText(status), code)
	}
}

const itemURL = "http://sandbox.test/services/rest/record/v1/inventoryItem/"

func TestGetInventoryItem(t *testing.T) {
	t.Parallel()
	s, ds := newSandbox(t, Options{})
	var watch demo.Item
	for _, it := range ds.Items {
		if it.WindowDays > 0 {
			watch = it
			break
		}
	}
	want := fmt.Sprintf(`{
		"links": [{"rel": "self", "href": "http://sandbox.test/services/rest/record/v1/inventoryItem/%[1]s"}],
		"id": %[1]q, "itemId": %[2]q, "externalId": %[2]q, "displayName": %[3]q,
		"itemType": {"id": "InvtPart", "refName": "Inventory Item"}, "isInactive": false,
		"basePrice": %[4]s,
		"createdDate": "2026-03-14T09:26:53Z", "lastModifiedDate": "2026-03-14T09:26:53Z",
		"custitem_rb_returnable": true, "custitem_rb_final_sale": false,
		"custitem_rb_return_window_days": 14,
		"custitem_rb_return_category": {"id": "4", "refName": "Electronics"}
	}`, watch.ERPID, watch.SKU, watch.Title, strconv.FormatFloat(float64(watch.PriceMinor)/100, 'f', 2, 64))

	for _, id := range []string{"eid:" + watch.SKU, watch.ERPID} {
		t.Run(id, func(t *testing.T) {
			t.Parallel()
			w := serve(s, signed(t, itemURL+id, auth{}))
			if w.Code != http.StatusOK {
				t.Fatalf("status = %d; want 200 (body %s)", w.Code, w.Body)
			}
			var got, wantDoc any
			if err := json.Unmarshal(w.Body.Bytes(), &got); err != nil {
				t.Fatal(err)
			}
			if err := json.Unmarshal([]byte(want), &wantDoc); err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(wantDoc, got); diff != "" {
				t.Errorf("record mismatch (-want +got):\n%s", diff)
			}
		})
	}
}

func TestGetInventoryItemCustomFields(t *testing.T) {
	t.Parallel()
	s, ds := newSandbox(t, Options{})
	for _, it := range ds.Items {
		w := serve(s, signed(t, itemURL+"eid:"+it.SKU, auth{}))
		var rec map[string]json.RawMessage
		if err := json.Unmarshal(w.Body.Bytes(), &rec); err != nil {
			t.Fatalf("%s: %v", it.SKU, err)
		}
		_, hasWindow := rec["custitem_rb_return_window_days"]
		if hasWindow != (it.WindowDays > 0) {
			t.Errorf("%s: custitem_rb_return_window_days present = %t; want only for a custom window", it.SKU, hasWindow)
		}
		if got, want := string(rec["custitem_rb_final_sale"]), strconv.FormatBool(it.FinalSale); got != want {
			t.Errorf("%s: custitem_rb_final_sale = %s; want %s", it.SKU, got, want)
		}
		if got, want := string(rec["custitem_rb_returnable"]), strconv.FormatBool(it.Returnable); got != want {
			t.Errorf("%s: custitem_rb_returnable = %s; want %s", it.SKU, got, want)
		}
	}
}

func TestUnknownItemIsNotFound(t *testing.T) {
	t.Parallel()
	s, _ := newSandbox(t, Options{})
	for _, id := range []string{"eid:NOPE-1", "999999"} {
		wantError(t, serve(s, signed(t, itemURL+id, auth{})), http.StatusNotFound, "NONEXISTENT_ID")
	}
	wantError(t, serve(s, signed(t, "http://sandbox.test/services/rest/record/v1/salesOrder/1", auth{})),
		http.StatusNotFound, "NONEXISTENT_ID")
	wantError(t, serve(s, signed(t, "http://sandbox.test/services/rest/record/v1/vendorBill/1", auth{})),
		http.StatusBadRequest, "INVALID_RCRD_TYPE")
}

// TestKnownVector accepts a request signed by an independent implementation (Python's
// urllib.parse.quote and hmac), so the verifier is not only checked against itself.
func TestKnownVector(t *testing.T) {
	t.Parallel()
	ds := demo.Generate(3, testNow, 2, 2)
	s := New(ds, Options{
		Account: "1234567_SB1", ConsumerKey: "ck-71cc02b7", ConsumerSecret: "cs-7278da58",
		TokenID: "tk-89e08d97", TokenSecret: "ts-060cd9ab",
		Now: func() time.Time { return time.Unix(1439829974+60, 0) },
	})
	r := httptest.NewRequest(http.MethodGet, "https://1234567-sb1.suitetalk.api.netsuite.com"+
		"/services/rest/record/v1/inventoryItem/eid:APP-001?expandSubResources=true&fields=itemId%2CbasePrice", nil)
	r.Header.Set("Authorization", `OAuth realm="1234567_SB1",oauth_consumer_key="ck-71cc02b7",`+
		`oauth_token="tk-89e08d97",oauth_signature_method="HMAC-SHA256",oauth_timestamp="1439829974",`+
		`oauth_nonce="6obMKq0tmY8ylVOdEkA1",oauth_version="1.0",`+
		`oauth_signature="VPl3%2FUr63htNuQIhKkM%2Bnqua27LlCFoG4mKRMDG8H5E%3D"`)
	if w := serve(s, r); w.Code != http.StatusOK {
		t.Fatalf("status = %d (%s); want 200", w.Code, w.Header().Get("X-Sandbox-Auth-Failure"))
	}
}

func TestAuthentication(t *testing.T) {
	t.Parallel()
	s, ds := newSandbox(t, Options{})
	target := itemURL + "eid:" + ds.Items[0].SKU
	tampered := signed(t, target+"?fields=id", auth{})
	tampered.URL.RawQuery = "fields=basePrice"
	tests := []struct {
		name   string
		req    *http.Request
		reason string
	}{
		{"no header", httptest.NewRequest(http.MethodGet, target, nil), "malformed_header"},
		{"wrong realm", signed(t, target, auth{realm: "7654321"}), "wrong_realm"},
		{"unknown consumer", signed(t, target, auth{consumerKey: "other"}), "unknown_consumer_key"},
		{"unknown token", signed(t, target, auth{token: "other"}), "unknown_token"},
		{"wrong consumer secret", signed(t, target, auth{consumerSecret: "guess"}), "bad_signature"},
		{"wrong token secret", signed(t, target, auth{tokenSecret: "guess"}), "bad_signature"},
		{"HMAC-SHA1", signed(t, target, auth{method: "HMAC-SHA1"}), "unsupported_signature_method"},
		{"stale timestamp", signed(t, target, auth{at: testNow.Add(-6 * time.Minute)}), "stale_timestamp"},
		{"future timestamp", signed(t, target, auth{at: testNow.Add(6 * time.Minute)}), "stale_timestamp"},
		{"query changed after signing", tampered, "bad_signature"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			w := serve(s, tt.req)
			wantError(t, w, http.StatusUnauthorized, "INVALID_LOGIN")
			if got := w.Header().Get("X-Sandbox-Auth-Failure"); got != tt.reason {
				t.Errorf("refused for %q; want %q", got, tt.reason)
			}
		})
	}
}

func TestReplayedNonceIsRefused(t *testing.T) {
	t.Parallel()
	s, ds := newSandbox(t, Options{})
	target := itemURL + "eid:" + ds.Items[0].SKU
	first := signed(t, target, auth{nonce: "n0nce-once", at: testNow.Add(-4 * time.Minute)})
	if w := serve(s, first); w.Code != http.StatusOK {
		t.Fatalf("first use: status %d; want 200", w.Code)
	}
	again := httptest.NewRequest(http.MethodGet, target, nil)
	again.Header.Set("Authorization", first.Header.Get("Authorization"))
	w := serve(s, again)
	wantError(t, w, http.StatusUnauthorized, "INVALID_LOGIN")
	if got := w.Header().Get("X-Sandbox-Auth-Failure"); got != "replayed_nonce" {
		t.Errorf("refused for %q; want replayed_nonce", got)
	}
	if got := s.Stats().Unauthorized; got != 1 {
		t.Errorf("Stats().Unauthorized = %d; want 1", got)
	}
}

func TestNonceCacheForgetsOldGenerations(t *testing.T) {
	t.Parallel()
	c := nonceCache{window: 10 * time.Minute}
	if !c.use("a", testNow) || c.use("a", testNow.Add(time.Minute)) {
		t.Fatalf("a nonce must be fresh once, then replayed")
	}
	if c.use("a", testNow.Add(15*time.Minute)) {
		t.Errorf("nonce forgotten after one rotation; want it kept for at least the window")
	}
	if !c.use("a", testNow.Add(45*time.Minute)) {
		t.Errorf("nonce still remembered long after any timestamp could be accepted")
	}
}

func TestConcurrencyGovernance(t *testing.T) {
	t.Parallel()
	s, ds := newSandbox(t, Options{ConcurrencyLimit: 2})
	s.Faults().Set(faults.Settings{Latency: 150 * time.Millisecond})
	const n = 6
	codes := make([]int, n)
	var wg sync.WaitGroup
	for i := range n {
		wg.Go(func() {
			w := serve(s, signed(t, itemURL+"eid:"+ds.Items[i].SKU, auth{}))
			codes[i] = w.Code
			if w.Code == http.StatusTooManyRequests {
				wantError(t, w, http.StatusTooManyRequests, "SSS_REQUEST_LIMIT_EXCEEDED")
			}
		})
	}
	wg.Wait()
	var ok, refused int64
	for _, c := range codes {
		switch c {
		case http.StatusOK:
			ok++
		case http.StatusTooManyRequests:
			refused++
		default:
			t.Errorf("status %d; want 200 or 429", c)
		}
	}
	st := s.Stats()
	if refused == 0 || ok < 2 || st.Refused != refused || st.MaxInFlight < 3 || st.Requests != n {
		t.Errorf("got %d ok, %d refused, stats %+v; want 2 served at once, the rest refused and counted", ok, refused, st)
	}

	s.SetConcurrencyLimit(0)
	if got := s.limit.Load(); got != DefaultConcurrencyLimit {
		t.Errorf("limit after SetConcurrencyLimit(0) = %d; want the default %d", got, DefaultConcurrencyLimit)
	}
}

// TestSlotReleasedBeforeAnswer checks that a client reading an answer and sending at once is
// never counted twice: a strictly sequential client must see at most one request in flight.
func TestSlotReleasedBeforeAnswer(t *testing.T) {
	t.Parallel()
	s, ds := newSandbox(t, Options{ConcurrencyLimit: 1, Now: time.Now})
	srv := httptest.NewServer(s)
	t.Cleanup(srv.Close)
	for i := range 30 {
		r := signed(t, srv.URL+"/services/rest/record/v1/inventoryItem/eid:"+ds.Items[i].SKU, auth{at: time.Now()})
		r.RequestURI = ""
		resp, err := srv.Client().Do(r)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != http.StatusOK {
			t.Fatalf("request %d: status %d; want 200", i, resp.StatusCode)
		}
	}
	if st := s.Stats(); st.MaxInFlight != 1 || st.Refused != 0 {
		t.Errorf("stats = %+v; want one in flight at most and nothing refused", st)
	}
}

func TestMaintenance(t *testing.T) {
	t.Parallel()
	s, ds := newSandbox(t, Options{})
	target := itemURL + "eid:" + ds.Items[0].SKU
	s.SetMaintenance(true, 1500*time.Millisecond)
	for _, r := range []*http.Request{signed(t, target, auth{}), httptest.NewRequest(http.MethodGet, target, nil)} {
		w := serve(s, r)
		wantError(t, w, http.StatusServiceUnavailable, "SERVICE_UNAVAILABLE")
		if got := w.Header().Get("Retry-After"); got != "2" {
			t.Errorf("Retry-After = %q; want whole seconds rounded up, 2", got)
		}
	}
	s.SetMaintenance(false, 0)
	if w := serve(s, signed(t, target, auth{})); w.Code != http.StatusOK {
		t.Errorf("after maintenance: status %d; want 200", w.Code)
	}
	if got := s.Stats().Maintenance; got != 2 {
		t.Errorf("Stats().Maintenance = %d; want 2", got)
	}
}

func TestListInventoryItems(t *testing.T) {
	t.Parallel()
	s, ds := newSandbox(t, Options{})
	list := func(t *testing.T, query string) collection {
		t.Helper()
		w := serve(s, signed(t, "http://sandbox.test/services/rest/record/v1/inventoryItem?"+query, auth{}))
		if w.Code != http.StatusOK {
			t.Fatalf("status %d (%s); want 200", w.Code, w.Body)
		}
		var c collection
		if err := json.Unmarshal(w.Body.Bytes(), &c); err != nil {
			t.Fatal(err)
		}
		return c
	}
	t.Run("pages", func(t *testing.T) {
		t.Parallel()
		c := list(t, "limit=10&offset=10")
		if c.Count != 10 || !c.HasMore || c.TotalResults != len(ds.Items) || c.Offset != 10 || c.Items[0].ID != ds.Items[10].ERPID {
			t.Errorf("page = count %d hasMore %t total %d offset %d; want 10 items from the 11th of %d",
				c.Count, c.HasMore, c.TotalResults, c.Offset, len(ds.Items))
		}
		var rels []string
		for _, l := range c.Links {
			rels = append(rels, l.Rel)
		}
		if diff := cmp.Diff([]string{"previous", "next", "self"}, rels); diff != "" {
			t.Errorf("links mismatch (-want +got):\n%s", diff)
		}
	})
	t.Run("query", func(t *testing.T) {
		t.Parallel()
		it := ds.Items[5]
		c := list(t, "q="+strings.ReplaceAll(fmt.Sprintf(`itemId IS "%s"`, it.SKU), " ", "+"))
		if c.Count != 1 || c.HasMore || c.Items[0].ID != it.ERPID {
			t.Errorf("query result = %+v; want only %s", c, it.ERPID)
		}
	})
	t.Run("bad parameters", func(t *testing.T) {
		t.Parallel()
		for _, q := range []string{"limit=0", "limit=1001", "offset=-1", "q=basePrice+GREATER+1"} {
			w := serve(s, signed(t, "http://sandbox.test/services/rest/record/v1/inventoryItem?"+q, auth{}))
			wantError(t, w, http.StatusBadRequest, "INVALID_PARAMETER")
		}
	})
}

func TestControlEndpoints(t *testing.T) {
	t.Parallel()
	s, ds := newSandbox(t, Options{})
	put := func(path, body string) *httptest.ResponseRecorder {
		return serve(s, httptest.NewRequest(http.MethodPut, "http://sandbox.test"+path, strings.NewReader(body)))
	}
	if w := put("/_sandbox/netsuite", `{"concurrency_limit":4,"maintenance":true,"retry_after":3000000000}`); w.Code != http.StatusOK {
		t.Fatalf("PUT /_sandbox/netsuite: %d %s", w.Code, w.Body)
	}
	w := serve(s, signed(t, itemURL+"eid:"+ds.Items[0].SKU, auth{}))
	if w.Code != http.StatusServiceUnavailable || w.Header().Get("Retry-After") != "3" || s.limit.Load() != 4 {
		t.Errorf("after PUT: status %d Retry-After %q limit %d; want 503, 3, 4", w.Code, w.Header().Get("Retry-After"), s.limit.Load())
	}
	put("/_sandbox/netsuite", `{}`)
	if w := put("/_sandbox/faults", `{"error_rate":1,"error_status":502}`); w.Code != http.StatusOK {
		t.Fatalf("PUT /_sandbox/faults: %d %s", w.Code, w.Body)
	}
	if w := serve(s, signed(t, itemURL+"eid:"+ds.Items[0].SKU, auth{})); w.Code != http.StatusBadGateway {
		t.Errorf("with error_rate 1: status %d; want the injected 502", w.Code)
	}
	if got := s.Faults().Requests(); got != 1 {
		t.Errorf("Faults().Requests() = %d; want 1 (control requests are not counted)", got)
	}
}

// Under a load that fills generations early, the nonce cache stays bounded and still never
// accepts a replay of a nonce whose timestamp the skew check would accept: what it had to
// forget, it refuses as a stale timestamp instead.
func TestNonceCacheIsBoundedAndStaysReplayProof(t *testing.T) {
	t.Parallel()
	c := nonceCache{window: 2 * maxClockSkew, max: 1000}
	now := testNow
	type sent struct {
		nonce string
		ts    time.Time
	}
	var history []sent
	for i := range 50_000 {
		now = now.Add(10 * time.Millisecond) // 100 requests a second: 1000 fill a generation in 10 s
		n := sent{nonce: fmt.Sprintf("n-%d", i), ts: now}
		if why := c.check(n.nonce, n.ts, now); why != "" {
			t.Fatalf("fresh nonce %d refused: %s", i, why)
		}
		history = append(history, n)
		if held := len(c.cur) + len(c.prev); held > 2*1000 {
			t.Fatalf("after %d nonces the cache holds %d, want at most %d", i+1, held, 2*1000)
		}
		// Replay a few earlier requests whose timestamps are still within the skew.
		if i%97 == 0 {
			for _, back := range []int{1, 500, 1500, 5000, 29_000} {
				if back > i {
					continue
				}
				old := history[i-back]
				if now.Sub(old.ts) > maxClockSkew {
					continue // the skew check refuses it before the cache is asked
				}
				if why := c.check(old.nonce, old.ts, now); why == "" {
					t.Fatalf("replay of nonce %s (sent %v earlier) accepted", old.nonce, now.Sub(old.ts))
				}
			}
		}
	}
}
