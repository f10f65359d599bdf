package businesscentral_test

import (
	"context"
	"fmt"
	"net/http"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/retailbridge/retailbridge/pkg/errs"
	canonicalv1 "github.com/retailbridge/retailbridge/pkg/gen/retailbridge/canonical/v1"
	erpv1 "github.com/retailbridge/retailbridge/pkg/gen/retailbridge/system/erp/v1"
	"github.com/retailbridge/retailbridge/pkg/money"
	bcsandbox "github.com/retailbridge/retailbridge/services/sandbox/businesscentral"
	"github.com/retailbridge/retailbridge/services/sandbox/demo"
	"github.com/retailbridge/retailbridge/services/system/erp/internal/businesscentral"
	"github.com/retailbridge/retailbridge/services/system/erp/internal/connectortest"
)

func ctxFor(tb testing.TB, d time.Duration) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), d)
	tb.Cleanup(cancel)
	return ctx
}

// returnOf returns every unit of the eligible demo order.
func returnOf(ds *demo.Dataset, id string) (*canonicalv1.Return, demo.Order) {
	o := ds.Scenario(demo.ScenarioEligible)
	return connectortest.ReturnOf(o, id), o
}

func memoFor(o demo.Order, rma, key string) *erpv1.CreateCreditMemoRequest {
	req := &erpv1.CreateCreditMemoRequest{ReturnAuthorizationId: rma, IdempotencyKey: key}
	var total int64
	for _, l := range o.Lines {
		amt := l.UnitPriceMinor * int64(l.Quantity)
		total += amt
		req.Lines = append(req.Lines, &canonicalv1.CreditMemoLine{Sku: l.SKU, Quantity: int32(l.Quantity), Amount: money.New(amt, "USD")})
	}
	req.Total = money.New(total, "USD")
	return req
}

func openRMA(t *testing.T, c *businesscentral.Client, ds *demo.Dataset, key string) (string, demo.Order) {
	t.Helper()
	ret, o := returnOf(ds, "ret-"+key)
	resp, err := c.CreateReturnAuthorization(ctxFor(t, 5*time.Second), &erpv1.CreateReturnAuthorizationRequest{Return: ret, IdempotencyKey: key})
	if err != nil {
		t.Fatalf("CreateReturnAuthorization: %v", err)
	}
	return resp.GetReturnAuthorizationId(), o
}

// The request window (6,000 per 5 minutes in production, 6 per window here) answers 429 with a
// Retry-After; the connector waits it out when the deadline allows, and otherwise says how long.
func TestRequestWindow(t *testing.T) {
	t.Parallel()
	ds := connectortest.Catalogue(t)
	h := start(t, ds, creds)
	h.sb.SetRateLimit(6, 1500*time.Millisecond)
	c := h.connect(t, connectortest.Options{MaxConcurrency: 4})
	skus := make([]string, 10)
	for i := range skus {
		skus[i] = ds.Items[i].SKU
	}
	found, missing, err := c.GetItems(ctxFor(t, 10*time.Second), skus)
	if err != nil || len(found) != len(skus) || len(missing) != 0 {
		t.Fatalf("GetItems = %d found, %d missing, %v; want all found after waiting out the window", len(found), len(missing), err)
	}
	st := h.sb.Stats()
	t.Logf("10 lookups through a window of 6: %d requests, %d answered 429, connector retried %d times", st.Requests, st.RateLimited, c.Retries())
	if st.RateLimited == 0 || c.Retries() == 0 {
		t.Errorf("no 429 from the window (%d) or no retry (%d); want both", st.RateLimited, c.Retries())
	}

	// With no time left to wait, the caller hears how long to wait.
	h.sb.SetRateLimit(1, time.Minute)
	_, _, _ = c.GetItems(ctxFor(t, 5*time.Second), skus[:1])
	_, _, err = c.GetItems(ctxFor(t, 2*time.Second), skus[:1])
	e := errs.As(err)
	if e == nil || e.Kind != errs.ResourceExhausted || e.Reason != "vendor_rate_limited" || e.RetryAfter <= 2*time.Second {
		t.Errorf("GetItems with the window exhausted = %v; want resource_exhausted/vendor_rate_limited with the window's Retry-After", err)
	}
}

// A credit memo whose answer is lost (the write committed, the caller's deadline passed) is found
// by its external document number on the repeat: one memo, posted, and the return order credited.
func TestCreditMemoLostAnswer(t *testing.T) {
	t.Parallel()
	ds := connectortest.Catalogue(t)
	h := start(t, ds, creds)
	c := h.connect(t, connectortest.Options{})
	rma, o := openRMA(t, c, ds, "lost-memo-rma")
	req := memoFor(o, rma, "lost-memo")
	h.sb.SetWriteDelay(1500 * time.Millisecond)
	short, cancel := context.WithTimeout(context.Background(), 500*time.Millisecond)
	defer cancel()
	_, err := c.CreateCreditMemo(short, req)
	if e := errs.As(err); e == nil || e.Reason != "vendor_timeout" {
		t.Fatalf("CreateCreditMemo with a lost answer = %v; want vendor_timeout", err)
	}
	if got := h.sb.Stats().Created[bcsandbox.SetSalesCreditMemos]; got != 1 {
		t.Fatalf("%d credit memos after the lost answer; want the 1 written", got)
	}
	h.sb.SetWriteDelay(0)
	memo, err := c.CreateCreditMemo(ctxFor(t, 5*time.Second), req)
	if err != nil {
		t.Fatalf("repeat: %v", err)
	}
	again, err := c.CreateCreditMemo(ctxFor(t, 5*time.Second), req)
	if err != nil || again.GetId() != memo.GetId() {
		t.Errorf("second repeat = %v, %v; want memo %s", again, err, memo.GetId())
	}
	if got := h.sb.Stats().Created[bcsandbox.SetSalesCreditMemos]; got != 1 {
		t.Errorf("%d credit memos; want 1 (no duplicate)", got)
	}
	if st, _ := h.sb.ReturnOrderStatus(rma); st != bcsandbox.RMACredited {
		t.Errorf("return order is %q; want Credited", st)
	}
	if c.Repeats() < 2 {
		t.Errorf("connector resolved %d repeats through the external document number; want 2", c.Repeats())
	}
}

// touchOnBatch changes the return order in Business Central just before the first $batch
// arrives, as a user editing it would: the batch's If-Match no longer matches.
type touchOnBatch struct {
	next    http.RoundTripper
	sb      *bcsandbox.Sandbox
	id      atomic.Value
	touched atomic.Bool
}

func (t *touchOnBatch) RoundTrip(r *http.Request) (*http.Response, error) {
	if strings.HasSuffix(r.URL.Path, "/$batch") && !t.touched.Swap(true) {
		t.sb.Touch(t.id.Load().(string))
	}
	return t.next.RoundTrip(r)
}

// An update made against a version a user changed meanwhile gets 412; the connector reads the
// record again and succeeds, once.
func TestETagConflictReread(t *testing.T) {
	t.Parallel()
	ds := connectortest.Catalogue(t)
	h := start(t, ds, creds)
	rt := &touchOnBatch{next: h.srv.Client().Transport, sb: h.sb}
	c, err := businesscentral.New(h.config(connectortest.Options{}), &http.Client{Transport: rt}, nil, nil)
	if err != nil {
		t.Fatal(err)
	}
	rma, o := openRMA(t, c, ds, "etag-rma")
	rt.id.Store(rma)
	if _, err := c.CreateCreditMemo(ctxFor(t, 5*time.Second), memoFor(o, rma, "etag-memo")); err != nil {
		t.Fatalf("CreateCreditMemo: %v", err)
	}
	st := h.sb.Stats()
	if st.Conflicts != 1 || c.Conflicts() != 1 {
		t.Errorf("sandbox answered %d conflicts, connector re-read %d times; want 1 and 1", st.Conflicts, c.Conflicts())
	}
	if st.Created[bcsandbox.SetSalesCreditMemos] != 1 {
		t.Errorf("%d credit memos; want 1 (the refused batch rolled back)", st.Created[bcsandbox.SetSalesCreditMemos])
	}
}

// The credit memo and the return order's status change go in one transactional $batch: a
// refused status change leaves no credit memo behind.
func TestBatchIsAtomic(t *testing.T) {
	t.Parallel()
	ds := connectortest.Catalogue(t)
	h := start(t, ds, creds)
	c := h.connect(t, connectortest.Options{})
	rma, o := openRMA(t, c, ds, "atomic-rma")
	// A user closes the return order by hand; the connector's read still sees it open.
	rt := &closeOnBatch{next: h.srv.Client().Transport, close: func() error {
		return c.CloseReturnAuthorization(ctxFor(t, 5*time.Second), &erpv1.CloseReturnAuthorizationRequest{ReturnAuthorizationId: rma})
	}}
	c2, _ := businesscentral.New(h.config(connectortest.Options{}), &http.Client{Transport: rt}, nil, nil)
	_, err := c2.CreateCreditMemo(ctxFor(t, 5*time.Second), memoFor(o, rma, "atomic-memo"))
	if e := errs.As(err); e == nil || e.Reason != "erp_rejected_change" {
		t.Fatalf("CreateCreditMemo on a return order closed meanwhile = %v; want erp_rejected_change", err)
	}
	st := h.sb.Stats()
	if st.Created[bcsandbox.SetSalesCreditMemos] != 0 || st.Batches == 0 {
		t.Errorf("%d credit memos after %d batches; want none: the batch rolled back", st.Created[bcsandbox.SetSalesCreditMemos], st.Batches)
	}
}

type closeOnBatch struct {
	next  http.RoundTripper
	close func() error
	done  atomic.Bool
}

func (t *closeOnBatch) RoundTrip(r *http.Request) (*http.Response, error) {
	if strings.HasSuffix(r.URL.Path, "/$batch") && !t.done.Swap(true) {
		if err := t.close(); err != nil {
			return nil, fmt.Errorf("closing first: %w", err)
		}
	}
	return t.next.RoundTrip(r)
}

// One token serves every request until it expires; a token Business Central stops accepting
// is replaced once.
func TestTokenCachedAndRefreshed(t *testing.T) {
	t.Parallel()
	ds := connectortest.Catalogue(t)
	h := start(t, ds, creds)
	c := h.connect(t, connectortest.Options{})
	for range 3 {
		if _, _, err := c.GetItems(ctxFor(t, 5*time.Second), []string{ds.Items[0].SKU, ds.Items[1].SKU}); err != nil {
			t.Fatal(err)
		}
	}
	if n := h.sb.Stats().Tokens; n != 1 {
		t.Errorf("%d tokens fetched for 6 requests; want 1", n)
	}
	h.sb.ExpireTokens()
	if err := c.Ready(ctxFor(t, 5*time.Second)); err != nil {
		t.Fatalf("Ready after the token was revoked: %v", err)
	}
	if n := h.sb.Stats().Tokens; n != 2 {
		t.Errorf("%d tokens fetched; want 2 (one more after the 401)", n)
	}
}
