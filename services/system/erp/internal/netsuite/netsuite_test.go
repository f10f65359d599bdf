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

func (h *harness) Stats() connectortest.Stats {
	st := h.sb.Stats()
	return connectortest.Stats{Requests: st.Requests, Refused: st.Refused, MaxInFlight: st.MaxInFlight}
}
