package netsuite_test

import (
	"context"
	"net/http/httptest"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"google.golang.org/protobuf/testing/protocmp"

	"github.com/retailbridge/retailbridge/pkg/errs"
	erpv1 "github.com/retailbridge/retailbridge/pkg/gen/retailbridge/system/erp/v1"
	"github.com/retailbridge/retailbridge/services/sandbox/faults"
	nssandbox "github.com/retailbridge/retailbridge/services/sandbox/netsuite"
	"github.com/retailbridge/retailbridge/services/system/erp/internal/connectortest"
	"github.com/retailbridge/retailbridge/services/system/erp/internal/netsuite"
)

func soapClient(t *testing.T, srv *httptest.Server, maxConcurrency int, secret string) *netsuite.Client {
	t.Helper()
	c, err := netsuite.New(netsuite.Config{BaseURL: srv.URL, Account: creds.Account, ConsumerKey: creds.ConsumerKey,
		ConsumerSecret: creds.ConsumerSecret, TokenID: creds.TokenID, TokenSecret: secret, MaxConcurrency: maxConcurrency,
		ItemLookup: netsuite.LookupSOAP}, srv.Client(), nil, nil)
	if err != nil {
		t.Fatal(err)
	}
	return c
}

func ctxWithin(t *testing.T, d time.Duration) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), d)
	t.Cleanup(cancel)
	return ctx
}

// getList reads the whole catalogue in one request and maps every item exactly as the REST
// record service's lookups do; unknown SKUs come back missing.
func TestSOAPGetListMapsItems(t *testing.T) {
	t.Parallel()
	ds := connectortest.Catalogue(t)
	sb := nssandbox.New(ds, creds)
	srv := httptest.NewServer(sb)
	defer srv.Close()
	c := soapClient(t, srv, 0, creds.TokenSecret)
	var skus []string
	var want []*erpv1.Item
	for _, it := range ds.Items {
		skus = append(skus, it.SKU)
		want = append(want, connectortest.WantItem(ds, it))
	}
	found, missing, err := c.GetItems(ctxWithin(t, 5*time.Second), append(skus, "NOPE-404"))
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(want, found, protocmp.Transform()); diff != "" {
		t.Errorf("getList items mismatch (-want +got):\n%s", diff)
	}
	if !slices.Equal(missing, []string{"NOPE-404"}) {
		t.Errorf("missing = %v; want [NOPE-404]", missing)
	}
	if n := sb.Stats().Requests; n != 1 {
		t.Errorf("%d requests for %d SKUs; want 1 getList", n, len(skus)+1)
	}
}

func TestSOAPWrongSecretIsAuthFailure(t *testing.T) {
	t.Parallel()
	ds := connectortest.Catalogue(t)
	sb := nssandbox.New(ds, creds)
	srv := httptest.NewServer(sb)
	defer srv.Close()
	_, _, err := soapClient(t, srv, 0, "not-"+creds.TokenSecret).GetItems(ctxWithin(t, 5*time.Second), []string{ds.Items[0].SKU})
	connectortest.WantErr(t, err, errs.Unavailable, "vendor_auth_failed")
	if st := sb.Stats(); st.Unauthorized != 1 {
		t.Errorf("sandbox refused %d passports; want 1", st.Unauthorized)
	}
}

// SOAP and REST requests share the account's concurrency limit: a connector held to the limit
// never draws ExceededConcurrentRequestLimitFault nor 429 with both kinds in flight, and one allowed
// more than the limit has its refused getLists (the fault) retried like REST's 429s.
func TestSOAPAndRESTShareTheAccountLimit(t *testing.T) {
	t.Parallel()
	ds := connectortest.Catalogue(t)
	run := func(limit, connector int) (nssandbox.Stats, *netsuite.Client) {
		sb := nssandbox.New(ds, creds)
		sb.SetConcurrencyLimit(limit)
		sb.Faults().Set(faults.Settings{Latency: 20 * time.Millisecond})
		srv := httptest.NewServer(sb)
		defer srv.Close()
		c := soapClient(t, srv, connector, creds.TokenSecret)
		var wg sync.WaitGroup
		for i := range 12 {
			wg.Go(func() { // getLists of 3 SKUs and REST reads of sales orders, at once
				if i%2 == 0 {
					found, _, err := c.GetItems(ctxWithin(t, 10*time.Second), []string{ds.Items[i].SKU, ds.Items[i+1].SKU, ds.Items[i+2].SKU})
					if err != nil || len(found) != 3 {
						t.Errorf("getList: %d found, %v", len(found), err)
					}
					return
				}
				id, _ := sb.SalesOrderID(ds.Orders[i].ID)
				if _, err := c.GetSalesOrder(ctxWithin(t, 10*time.Second), id); err != nil {
					t.Errorf("GetSalesOrder: %v", err)
				}
			})
		}
		wg.Wait()
		return sb.Stats(), c
	}
	st, _ := run(3, 3)
	if st.MaxInFlight > 3 || st.Refused != 0 {
		t.Errorf("held to the limit: max %d in flight, %d refused; want at most 3 and none", st.MaxInFlight, st.Refused)
	}
	st, c := run(2, 6)
	t.Logf("allowed 6 under a limit of 2: %d requests, %d refused (faults and 429s), %d retries", st.Requests, st.Refused, c.Retries())
	if st.Refused == 0 || c.Retries() != st.Refused {
		t.Errorf("%d refused, %d retried; want refusals, each retried", st.Refused, c.Retries())
	}
}

func TestSOAPEnvelopeCarriesTokenPassport(t *testing.T) {
	t.Parallel()
	// The sandbox checks the passport's HMAC-SHA256 signature over account, consumer key,
	// token, nonce and timestamp; a replayed nonce or a stale timestamp is refused like a bad
	// signature (see services/sandbox/netsuite/soap.go). A good client is accepted twice in a
	// row, so each request carries a fresh nonce.
	ds := connectortest.Catalogue(t)
	sb := nssandbox.New(ds, creds)
	srv := httptest.NewServer(sb)
	defer srv.Close()
	c := soapClient(t, srv, 0, creds.TokenSecret)
	for range 2 {
		if _, _, err := c.GetItems(ctxWithin(t, 5*time.Second), []string{ds.Items[0].SKU}); err != nil {
			t.Fatalf("GetItems: %v", err)
		}
	}
	if !strings.HasPrefix(nssandbox.SOAPPath, "/services/NetSuitePort_") || sb.Stats().Unauthorized != 0 {
		t.Errorf("passports refused: %d", sb.Stats().Unauthorized)
	}
}
