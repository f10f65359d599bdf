package businesscentral

import (
	"bytes"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/retailbridge/retailbridge/services/sandbox/demo"
)

var now = time.Date(2026, 3, 14, 9, 26, 53, 0, time.UTC)

type client struct {
	t     *testing.T
	sb    *Sandbox
	srv   *httptest.Server
	token string
}

func newClient(t *testing.T, sb *Sandbox) *client {
	srv := httptest.NewServer(sb)
	t.Cleanup(srv.Close)
	c := &client{t: t, sb: sb, srv: srv}
	resp, err := http.PostForm(srv.URL+sb.TokenPath(), url.Values{"grant_type": {"client_credentials"},
		"client_id": {sb.opts.ClientID}, "client_secret": {sb.opts.ClientSecret}, "scope": {"https://api.businesscentral.dynamics.com/.default"}})
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var tok struct {
		AccessToken string `json:"access_token"`
	}
	if resp.StatusCode != http.StatusOK || json.NewDecoder(resp.Body).Decode(&tok) != nil {
		t.Fatalf("token: %d", resp.StatusCode)
	}
	c.token = tok.AccessToken
	return c
}

func (c *client) do(method, path string, body any, header ...string) (int, map[string]any) {
	c.t.Helper()
	var rd *bytes.Reader
	if body != nil {
		b, _ := json.Marshal(body)
		rd = bytes.NewReader(b)
	} else {
		rd = bytes.NewReader(nil)
	}
	req, _ := http.NewRequest(method, c.srv.URL+c.sb.APIRoot()+path, rd)
	req.Header.Set("Authorization", "Bearer "+c.token)
	for i := 0; i+1 < len(header); i += 2 {
		req.Header.Set(header[i], header[i+1])
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		c.t.Fatal(err)
	}
	defer resp.Body.Close()
	var out map[string]any
	_ = json.NewDecoder(resp.Body).Decode(&out)
	return resp.StatusCode, out
}

func TestWrongClientSecretGetsNoToken(t *testing.T) {
	sb := New(demo.Generate(7, now, 3, 3), Options{})
	srv := httptest.NewServer(sb)
	defer srv.Close()
	resp, err := http.PostForm(srv.URL+sb.TokenPath(), url.Values{"grant_type": {"client_credentials"},
		"client_id": {DevClientID}, "client_secret": {"wrong"}, "scope": {"https://api.businesscentral.dynamics.com/.default"}})
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusUnauthorized {
		t.Errorf("token with a wrong secret: %d; want 401", resp.StatusCode)
	}
	req, _ := http.NewRequest(http.MethodGet, srv.URL+sb.APIRoot()+"v2.0/companies", nil)
	req.Header.Set("Authorization", "Bearer made-up")
	r2, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	r2.Body.Close()
	if r2.StatusCode != http.StatusUnauthorized {
		t.Errorf("API with a made-up token: %d; want 401", r2.StatusCode)
	}
}

func TestBatchLimitAndPatchNeedsETag(t *testing.T) {
	ds := demo.Generate(7, now, 3, 3)
	sb := New(ds, Options{})
	c := newClient(t, sb)
	company := "companies(" + DevCompanyID + ")/"
	ops := make([]map[string]any, MaxBatchOperations+1)
	for i := range ops {
		ops[i] = map[string]any{"id": fmt.Sprint(i), "method": "GET", "url": company + "items"}
	}
	if st, _ := c.do(http.MethodPost, "v2.0/$batch", map[string]any{"requests": ops}); st != http.StatusBadRequest {
		t.Errorf("a batch of %d operations: %d; want 400", len(ops), st)
	}
	soID, _ := sb.SalesOrderID(ds.Orders[0].ID)
	st, rma := c.do(http.MethodPost, "retailbridge/returns/v1.0/"+company+"returnOrders", map[string]any{
		"externalDocumentNumber": "RB-T", "salesOrderId": soID,
		"returnOrderLines": []map[string]any{{"lineObjectNumber": ds.Orders[0].Lines[0].SKU, "quantity": 1}}})
	if st != http.StatusCreated {
		t.Fatalf("create return order: %d %v", st, rma)
	}
	path := "retailbridge/returns/v1.0/" + company + "returnOrders(" + rma["id"].(string) + ")"
	if st, _ := c.do(http.MethodPatch, path, map[string]any{"status": "Closed"}); st != http.StatusBadRequest {
		t.Errorf("PATCH without If-Match: %d; want 400", st)
	}
	if st, _ := c.do(http.MethodPatch, path, map[string]any{"status": "Closed"}, "If-Match", `W/"stale"`); st != http.StatusPreconditionFailed {
		t.Errorf("PATCH with a stale ETag: %d; want 412", st)
	}
	if st, _ := c.do(http.MethodPatch, path, map[string]any{"status": "Closed"}, "If-Match", rma["@odata.etag"].(string)); st != http.StatusOK {
		t.Errorf("PATCH with the ETag read: %d; want 200", st)
	}
}

// The company's documents survive a restart on the same state directory, with their ids.
func TestStateSurvivesRestart(t *testing.T) {
	dir := t.TempDir()
	ds := demo.Generate(7, now, 3, 3)
	sb, err := Open(ds, Options{StateDir: dir})
	if err != nil {
		t.Fatal(err)
	}
	c := newClient(t, sb)
	st, memo := c.do(http.MethodPost, "v2.0/companies("+DevCompanyID+")/salesCreditMemos", map[string]any{
		"externalDocumentNumber": "RB-KEEP", "customerNumber": ds.Customers[0].ID,
		"salesCreditMemoLines": []map[string]any{{"lineType": "Item", "lineObjectNumber": ds.Items[0].SKU, "quantity": 1, "unitPrice": 12.5}}})
	if st != http.StatusCreated {
		t.Fatalf("create: %d %v", st, memo)
	}
	again, err := Open(ds, Options{StateDir: dir})
	if err != nil {
		t.Fatal(err)
	}
	c2 := newClient(t, again)
	st, got := c2.do(http.MethodGet, "v2.0/companies("+DevCompanyID+")/salesCreditMemos?$filter="+url.QueryEscape("externalDocumentNumber eq 'RB-KEEP'"), nil)
	vals, _ := got["value"].([]any)
	if st != http.StatusOK || len(vals) != 1 || !strings.EqualFold(vals[0].(map[string]any)["id"].(string), memo["id"].(string)) {
		t.Errorf("after restart: %d %v; want the memo %v", st, got, memo["id"])
	}
	if n := again.Stats().Created[SetSalesCreditMemos]; n != 1 {
		t.Errorf("created count after restart %d; want 1", n)
	}
}
