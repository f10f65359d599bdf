package loop_test

import (
	"io"
	"net/http"
	"net/http/httptest"
	"sync"
	"testing"
	"time"

	"github.com/retailbridge/retailbridge/services/sandbox/faults"
	loopsandbox "github.com/retailbridge/retailbridge/services/sandbox/loop"
	"github.com/retailbridge/retailbridge/services/system/returnsplatform"
	"github.com/retailbridge/retailbridge/services/system/returnsplatform/internal/connectortest"
	"github.com/retailbridge/retailbridge/services/system/returnsplatform/internal/loop"
)

const (
	apiKey        = "key-conformance"
	webhookSecret = "whsec-conformance"
)

func TestConformance(t *testing.T) {
	t.Parallel()
	connectortest.Run(t, start)
}

func start(tb testing.TB) connectortest.Sandbox {
	tb.Helper()
	h := &harness{got: map[string]connectortest.Webhook{}}
	h.rcv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		h.mu.Lock()
		if id := r.Header.Get(loopsandbox.HeaderWebhookID); id != "" {
			if _, ok := h.got[id]; !ok {
				h.got[id] = connectortest.Webhook{Header: r.Header.Clone(), Body: body}
			}
		}
		h.mu.Unlock()
	}))
	h.sb = loopsandbox.New(loopsandbox.Options{
		APIKey: apiKey, WebhookSecret: webhookSecret, WebhookURL: h.rcv.URL, Manual: true,
		Delivery: loopsandbox.DeliverySettings{RetryBackoff: 10 * time.Millisecond},
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
	sb       *loopsandbox.Sandbox
	srv, rcv *httptest.Server

	mu  sync.Mutex
	got map[string]connectortest.Webhook // the first copy of each webhook
}

func (h *harness) Connect(tb testing.TB, o connectortest.Options) returnsplatform.Connector {
	tb.Helper()
	cfg := loop.Config{BaseURL: h.srv.URL, APIKey: apiKey, WebhookSecret: webhookSecret}
	if o.WrongKey {
		cfg.APIKey = "not-" + apiKey
	}
	if o.WrongWebhookSecret {
		cfg.WebhookSecret = "not-" + webhookSecret
	}
	c, err := loop.New(cfg, h.srv.Client(), nil, nil)
	if err != nil {
		tb.Fatalf("loop.New: %v", err)
	}
	return c
}

func (h *harness) Advance(tb testing.TB, id string) {
	tb.Helper()
	if _, err := h.sb.Advance(id); err != nil {
		tb.Fatalf("Advance(%s): %v", id, err)
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

func (h *harness) SetRateLimit(perMinute, burst int) { h.sb.SetRateLimit(perMinute, burst) }

func (h *harness) Stats() connectortest.Stats {
	st := h.sb.Stats()
	return connectortest.Stats{Requests: st.Requests, ReturnsCreated: st.ReturnsCreated,
		LabelsCreated: st.LabelsCreated, RateLimited: st.RateLimited}
}

func (h *harness) Webhooks(tb testing.TB, n int) []connectortest.Webhook {
	tb.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for {
		raised := h.sb.Webhooks()
		h.mu.Lock()
		var out []connectortest.Webhook
		for _, d := range raised {
			if w, ok := h.got[d.ID]; ok {
				out = append(out, w)
			} else {
				break // keep the raised order: wait for the missing one
			}
		}
		h.mu.Unlock()
		if len(out) >= n || time.Now().After(deadline) {
			return out
		}
		time.Sleep(5 * time.Millisecond)
	}
}

func (h *harness) SignatureHeader() string { return loopsandbox.HeaderSignature }
