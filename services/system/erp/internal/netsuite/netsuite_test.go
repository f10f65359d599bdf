package netsuite_test

import (
	"net/http/httptest"
	"testing"
	"time"

	"github.com/retailbridge/retailbridge/services/sandbox/demo"
	"github.com/retailbridge/retailbridge/services/sandbox/faults"
	nssandbox "github.com/retailbridge/retailbridge/services/sandbox/netsuite"
	"github.com/retailbridge/retailbridge/services/system/erp"
	"github.com/retailbridge/retailbridge/services/system/erp/internal/connectortest"
	"github.com/retailbridge/retailbridge/services/system/erp/internal/netsuite"
)

var creds = nssandbox.Options{
	Account:        "7654321_SB1",
	ConsumerKey:    "ck-conformance",
	ConsumerSecret: "cs-conformance",
	TokenID:        "tk-conformance",
	TokenSecret:    "ts-conformance",
}

func TestConformance(t *testing.T) {
	t.Parallel()
	connectortest.Run(t, func(tb testing.TB, ds *demo.Dataset) connectortest.Sandbox {
		sb := nssandbox.New(ds, creds)
		srv := httptest.NewServer(sb)
		tb.Cleanup(srv.Close)
		return &harness{sb: sb, srv: srv}
	})
}

type harness struct {
	sb  *nssandbox.Sandbox
	srv *httptest.Server
}

func (h *harness) Connect(tb testing.TB, o connectortest.Options) erp.Connector {
	tb.Helper()
	cfg := netsuite.Config{
		BaseURL: h.srv.URL, Account: creds.Account,
		ConsumerKey: creds.ConsumerKey, ConsumerSecret: creds.ConsumerSecret,
		TokenID: creds.TokenID, TokenSecret: creds.TokenSecret,
		MaxConcurrency: o.MaxConcurrency,
	}
	if o.WrongSecret {
		cfg.TokenSecret = "not-" + cfg.TokenSecret
	}
	c, err := netsuite.New(cfg, h.srv.Client(), nil, nil)
	if err != nil {
		tb.Fatalf("netsuite.New: %v", err)
	}
	return c
}

func (h *harness) SetLatency(d time.Duration) { h.sb.Faults().Set(faults.Settings{Latency: d}) }

func (h *harness) SetMaintenance(on bool, retryAfter time.Duration) {
	h.sb.SetMaintenance(on, retryAfter)
}

func (h *harness) SetConcurrencyLimit(n int) { h.sb.SetConcurrencyLimit(n) }

func (h *harness) SetAsyncDelay(d time.Duration) { h.sb.SetAsyncDelay(d) }

// recordTypes are the NetSuite record types of the suite's record kinds.
var recordTypes = map[string]string{
	connectortest.RecordSalesOrder:          nssandbox.TypeSalesOrder,
	connectortest.RecordReturnAuthorization: nssandbox.TypeReturnAuthorization,
	connectortest.RecordItemReceipt:         nssandbox.TypeItemReceipt,
	connectortest.RecordCreditMemo:          nssandbox.TypeCreditMemo,
	connectortest.RecordInventoryAdjustment: nssandbox.TypeInventoryAdjustment,
	connectortest.RecordItemFulfillment:     nssandbox.TypeItemFulfillment,
	connectortest.RecordInvoice:             nssandbox.TypeInvoice,
}

// stages are NetSuite's return authorisation statuses as the suite's stages.
var stages = map[string]connectortest.Stage{
	"Pending Approval":                  connectortest.StageAuthorized,
	"Pending Receipt":                   connectortest.StageAuthorized,
	"Partially Received":                connectortest.StagePartlyHandled,
	"Pending Refund/Partially Received": connectortest.StagePartlyHandled,
	"Pending Refund":                    connectortest.StageReceived,
	"Refunded":                          connectortest.StageRefunded,
	"Closed":                            connectortest.StageClosed,
	"Cancelled":                         connectortest.StageClosed,
}

func (h *harness) Stage(kind, id string) connectortest.Stage {
	st, ok := h.sb.Status(recordTypes[kind], id)
	if !ok {
		return connectortest.StageUnknown
	}
	return stages[st]
}

func (h *harness) Stats() connectortest.Stats {
	st := h.sb.Stats()
	created := map[string]int64{}
	for kind, recordType := range recordTypes {
		if n := st.Created[recordType]; n > 0 {
			created[kind] = n
		}
	}
	return connectortest.Stats{Requests: st.Requests, Refused: st.Refused, MaxInFlight: st.MaxInFlight,
		Maintenance: st.Maintenance, Created: created}
}

func (h *harness) SetOnHand(sku, location string, quantity int64) {
	h.sb.SetOnHand(sku, location, quantity)
}

func (h *harness) LocationID(location string) string { return nssandbox.LocationID(location) }

func (h *harness) RecordDeposit(payout string, orderIDs []string, fees int64) (string, error) {
	return h.sb.RecordDeposit(payout, orderIDs, fees)
}
