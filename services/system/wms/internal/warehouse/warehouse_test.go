package warehouse_test

import (
	"io"
	"net/http"
	"net/http/httptest"
	"sync"
	"testing"
	"time"

	canonicalv1 "github.com/retailbridge/retailbridge/pkg/gen/retailbridge/canonical/v1"
	"github.com/retailbridge/retailbridge/services/sandbox/demo"
	"github.com/retailbridge/retailbridge/services/sandbox/faults"
	whsandbox "github.com/retailbridge/retailbridge/services/sandbox/warehouse"
	"github.com/retailbridge/retailbridge/services/system/wms"
	"github.com/retailbridge/retailbridge/services/system/wms/internal/connectortest"
	"github.com/retailbridge/retailbridge/services/system/wms/internal/warehouse"
)

const (
	apiKey        = "key-conformance"
	webhookSecret = "whsec-conformance"
)

var testNow = time.Date(2026, 3, 14, 9, 26, 53, 0, time.UTC)

func TestConformance(t *testing.T) {
	t.Parallel()
	connectortest.Run(t, caps, start)
}

// caps: the REST warehouse signs its webhooks, acknowledges orders in a step of
// its own and keeps a stock ledger that returns move.
var caps = connectortest.Capabilities{SignedWebhooks: true, Acknowledgement: true, ReturnsMoveStock: true, HTTPFaults: true}

func (h *harness) Capabilities() connectortest.Capabilities { return caps }

// Events parses the webhooks with c, as the WMS service's intake does.
func (h *harness) Events(tb testing.TB, c wms.Connector, n int) []*canonicalv1.Event {
	tb.Helper()
	var out []*canonicalv1.Event
	for _, hook := range h.Webhooks(tb, n) {
		_, evs, err := c.ParseWebhook(hook.Header, hook.Body)
		if err != nil {
			tb.Fatalf("ParseWebhook: %v", err)
		}
		out = append(out, evs...)
	}
	return out
}

func start(tb testing.TB) connectortest.Sandbox {
	tb.Helper()
	h := &harness{got: map[string]connectortest.Webhook{}}
	h.rcv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		h.mu.Lock()
		if id := r.Header.Get(whsandbox.HeaderDeliveryID); id != "" {
			if _, ok := h.got[id]; !ok {
				h.got[id] = connectortest.Webhook{Header: r.Header.Clone(), Body: body}
			}
		}
		h.mu.Unlock()
	}))
	h.sb = whsandbox.New(demo.Generate(3, testNow, 2, 2), whsandbox.Options{
		APIKey: apiKey, WebhookSecret: webhookSecret, WebhookURL: h.rcv.URL, Manual: true,
		Delivery: whsandbox.DeliverySettings{RetryBackoff: 10 * time.Millisecond},
	})
	h.srv = httptest.NewServer(h.sb)
	tb.Cleanup(func() {
		h.srv.Close()
		h.sb.Close()
		h.rcv.Close()
	})
	return h
}

type harness struct {
	sb       *whsandbox.Sandbox
	srv, rcv *httptest.Server

	mu  sync.Mutex
	got map[string]connectortest.Webhook // the first copy of each delivery
}

func (h *harness) Connect(tb testing.TB, o connectortest.Options) wms.Connector {
	tb.Helper()
	cfg := warehouse.Config{BaseURL: h.srv.URL, APIKey: apiKey, WebhookSecret: webhookSecret}
	if o.WrongKey {
		cfg.APIKey = "not-" + apiKey
	}
	if o.WrongWebhookSecret {
		cfg.WebhookSecret = "not-" + webhookSecret
	}
	c, err := warehouse.New(cfg, h.srv.Client(), nil, nil)
	if err != nil {
		tb.Fatalf("warehouse.New: %v", err)
	}
	return c
}

func (h *harness) Locations() []string { return whsandbox.DefaultLocations }

func (h *harness) Receive(tb testing.TB, id string) {
	tb.Helper()
	if err := h.sb.Receive(id); err != nil {
		tb.Fatalf("Receive(%s): %v", id, err)
	}
}

var conditionNames = map[canonicalv1.ItemCondition]string{
	canonicalv1.ItemCondition_ITEM_CONDITION_RESELLABLE:       whsandbox.ConditionResellable,
	canonicalv1.ItemCondition_ITEM_CONDITION_DAMAGED:          whsandbox.ConditionDamaged,
	canonicalv1.ItemCondition_ITEM_CONDITION_WRONG_OR_MISSING: whsandbox.ConditionWrongOrMissing,
}

func (h *harness) Inspect(tb testing.TB, id string, conds []canonicalv1.ItemCondition) {
	tb.Helper()
	force := map[int]string{}
	for i, c := range conds {
		force[i+1] = conditionNames[c]
	}
	if err := h.sb.Inspect(id, force); err != nil {
		tb.Fatalf("Inspect(%s): %v", id, err)
	}
}

func (h *harness) Acknowledge(tb testing.TB, id string) {
	tb.Helper()
	if err := h.sb.Acknowledge(id); err != nil {
		tb.Fatalf("Acknowledge(%s): %v", id, err)
	}
}

func (h *harness) Ship(tb testing.TB, id string) {
	tb.Helper()
	if err := h.sb.Ship(id); err != nil {
		tb.Fatalf("Ship(%s): %v", id, err)
	}
}

func (h *harness) SetLatency(d time.Duration) { h.sb.Faults().Set(faults.Settings{Latency: d}) }

func (h *harness) SetDown(on bool) { h.sb.Faults().Set(faults.Settings{Down: on}) }

func (h *harness) SetErrorStatus(status int) {
	if status == 0 {
		h.sb.Faults().Set(faults.Settings{})
		return
	}
	h.sb.Faults().Set(faults.Settings{ErrorRate: 1, ErrorStatus: status})
}

func (h *harness) Stats() connectortest.Stats {
	st := h.sb.Stats()
	return connectortest.Stats{ReceiptsCreated: st.ReceiptsCreated, OrdersCreated: st.OrdersCreated}
}

func (h *harness) Webhooks(tb testing.TB, n int) []connectortest.Webhook {
	tb.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for {
		raised := h.sb.Webhooks()
		h.mu.Lock()
		var out []connectortest.Webhook
		for _, d := range raised {
			w, ok := h.got[d.ID]
			if !ok {
				break // keep the raised order: wait for the missing one
			}
			out = append(out, w)
		}
		h.mu.Unlock()
		if len(out) >= n || time.Now().After(deadline) {
			return out
		}
		time.Sleep(5 * time.Millisecond)
	}
}

func (h *harness) SignatureHeader() string { return whsandbox.HeaderSignature }

func (h *harness) Sign(body []byte, t time.Time) string {
	return whsandbox.Sign(webhookSecret, t, body)
}
