package businesscentral_test

import (
	"net/http/httptest"
	"testing"
	"time"

	bcsandbox "github.com/retailbridge/retailbridge/services/sandbox/businesscentral"
	"github.com/retailbridge/retailbridge/services/sandbox/demo"
	"github.com/retailbridge/retailbridge/services/sandbox/faults"
	"github.com/retailbridge/retailbridge/services/system/erp"
	"github.com/retailbridge/retailbridge/services/system/erp/internal/businesscentral"
	"github.com/retailbridge/retailbridge/services/system/erp/internal/connectortest"
)

var creds = bcsandbox.Options{
	Tenant:       "7a2b1c3d-0000-4000-8000-00000000c0fe",
	Environment:  "conformance",
	CompanyID:    "11111111-2222-4333-8444-555555555555",
	ClientID:     "client-conformance",
	ClientSecret: "secret-conformance",
}

func TestConformance(t *testing.T) {
	t.Parallel()
	connectortest.Run(t, func(tb testing.TB, ds *demo.Dataset) connectortest.Sandbox {
		return start(tb, ds, creds)
	})
}

func start(tb testing.TB, ds *demo.Dataset, opts bcsandbox.Options) *harness {
	sb := bcsandbox.New(ds, opts)
	srv := httptest.NewServer(sb)
	tb.Cleanup(func() { srv.Close(); sb.Close() })
	return &harness{sb: sb, srv: srv}
}

type harness struct {
	sb  *bcsandbox.Sandbox
	srv *httptest.Server
}

func (h *harness) config(o connectortest.Options) businesscentral.Config {
	opts := h.sb.Options()
	cfg := businesscentral.Config{
		BaseURL: h.srv.URL, TokenURL: h.srv.URL + h.sb.TokenPath(),
		TenantID: opts.Tenant, Environment: opts.Environment, CompanyID: opts.CompanyID,
		ClientID: opts.ClientID, ClientSecret: opts.ClientSecret, MaxConcurrency: o.MaxConcurrency,
	}
	if o.WrongSecret {
		cfg.ClientSecret = "not-" + cfg.ClientSecret
	}
	return cfg
}

func (h *harness) connect(tb testing.TB, o connectortest.Options) *businesscentral.Client {
	tb.Helper()
	c, err := businesscentral.New(h.config(o), h.srv.Client(), nil, nil)
	if err != nil {
		tb.Fatalf("businesscentral.New: %v", err)
	}
	return c
}

func (h *harness) Connect(tb testing.TB, o connectortest.Options) erp.Connector {
	return h.connect(tb, o)
}

func (h *harness) SetLatency(d time.Duration) { h.sb.Faults().Set(faults.Settings{Latency: d}) }

func (h *harness) SetMaintenance(on bool, retryAfter time.Duration) {
	h.sb.SetMaintenance(on, retryAfter)
}

func (h *harness) SetConcurrencyLimit(n int) { h.sb.SetConcurrencyLimit(n) }

// SetAsyncDelay holds write answers: Business Central writes synchronously, so the suite's
// "slow job" is an answer that comes late after the write committed.
func (h *harness) SetAsyncDelay(d time.Duration) { h.sb.SetWriteDelay(d) }

// sets are the entity sets of the suite's record kinds.
var sets = map[string]string{
	connectortest.RecordSalesOrder:          bcsandbox.SetSalesOrders,
	connectortest.RecordReturnAuthorization: bcsandbox.SetReturnOrders,
	connectortest.RecordItemReceipt:         bcsandbox.SetReturnReceipts,
	connectortest.RecordCreditMemo:          bcsandbox.SetSalesCreditMemos,
	connectortest.RecordInventoryAdjustment: bcsandbox.SetInventoryAdjustments,
	connectortest.RecordItemFulfillment:     bcsandbox.SetOrderShipments,
	connectortest.RecordInvoice:             bcsandbox.SetOrderInvoices,
}

var stages = map[string]connectortest.Stage{
	bcsandbox.RMAOpen:              connectortest.StageAuthorized,
	bcsandbox.RMAPartiallyReceived: connectortest.StagePartlyHandled,
	bcsandbox.RMAReceived:          connectortest.StageReceived,
	bcsandbox.RMACredited:          connectortest.StageRefunded,
	bcsandbox.RMAClosed:            connectortest.StageClosed,
}

func (h *harness) Stage(kind, id string) connectortest.Stage {
	if kind != connectortest.RecordReturnAuthorization {
		return connectortest.StageUnknown
	}
	st, ok := h.sb.ReturnOrderStatus(id)
	if !ok {
		return connectortest.StageUnknown
	}
	return stages[st]
}

func (h *harness) Stats() connectortest.Stats {
	st := h.sb.Stats()
	created := map[string]int64{}
	for kind, set := range sets {
		if n := st.Created[set]; n > 0 {
			created[kind] = n
		}
	}
	return connectortest.Stats{Requests: st.Requests, Refused: st.Refused + st.RateLimited, MaxInFlight: st.MaxInFlight,
		Maintenance: st.Maintenance, Created: created}
}

func (h *harness) SetOnHand(sku, location string, quantity int64) {
	h.sb.SetOnHand(sku, location, quantity)
}

func (h *harness) LocationID(location string) string { return bcsandbox.LocationID(location) }

func (h *harness) RecordDeposit(payout string, orderIDs []string, fees int64) (string, error) {
	return h.sb.RecordDeposit(payout, orderIDs, fees)
}
