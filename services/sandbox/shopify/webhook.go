package shopify

import (
	"bytes"
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"math/rand/v2"
	"net/http"
	"slices"
	"sync"
	"sync/atomic"
	"time"

	"github.com/google/uuid"
)

// Webhook topics the sandbox delivers.
const (
	TopicOrdersUpdated = "orders/updated"
	TopicRefundsCreate = "refunds/create"
)

// ShopDomain is the demo shop's myshopify domain, sent as X-Shopify-Shop-Domain.
const ShopDomain = "retailbridge-demo.myshopify.com"

// WebhookConfig is the shop's webhook subscription: where deliveries go and how they are signed.
type WebhookConfig struct {
	// URL receives every delivery (POST); no deliveries are made while it is empty.
	URL string `json:"url"`
	// Secret is the app's client secret, the key of X-Shopify-Hmac-Sha256.
	Secret string `json:"secret,omitempty"`
	// APIVersion is sent as X-Shopify-API-Version (the newest served version when empty).
	APIVersion string `json:"api_version,omitempty"`
	// Topics limits the subscription (every topic the sandbox knows when empty).
	Topics []string `json:"topics,omitempty"`
}

// WebhookFaults shape delivery the way Shopify's at-least-once delivery behaves on a bad day.
// The zero value delivers each event once, at once.
type WebhookFaults struct {
	// Copies sends every delivery this many times (1 to 5), concurrently: the same body and the
	// same X-Shopify-Webhook-Id each time, as Shopify's retries and duplicates are.
	Copies int `json:"copies"`
	// Delay holds every copy back, so deliveries arrive late.
	Delay time.Duration `json:"delay"`
	// Jitter adds a random extra delay up to it to each copy, so deliveries of consecutive
	// events arrive out of order.
	Jitter time.Duration `json:"jitter"`
	// DropRate is the fraction of events never delivered at all (0..1).
	DropRate float64 `json:"drop_rate"`
}

// WebhookStats counts deliveries.
type WebhookStats struct {
	// Events is how many events the shop raised for the subscription.
	Events int64 `json:"events"`
	// Dropped is how many of them were never delivered (DropRate).
	Dropped int64 `json:"dropped"`
	// Attempts is how many POSTs were made, retries and copies included.
	Attempts int64 `json:"attempts"`
	// Delivered is how many copies were answered 2xx.
	Delivered int64 `json:"delivered"`
	// Failed is how many copies were still unanswered or refused after their retries.
	Failed int64 `json:"failed"`
}

// webhook is one event's delivery, built when the mutation that raised it committed.
type webhook struct {
	topic string
	body  []byte
	at    time.Time
}

// deliveryRetries is how often a copy is retried after a failure; Shopify retries for hours, the
// sandbox briefly.
const deliveryRetries = 3

// webhooks delivers events to the subscription.
type webhooks struct {
	client   *http.Client
	versions []string

	mu     sync.Mutex
	cfg    WebhookConfig
	faults WebhookFaults
	rng    *rand.Rand

	pending                                      sync.WaitGroup
	events, dropped, attempts, delivered, failed atomic.Int64
}

func newWebhooks(cfg WebhookConfig, client *http.Client, versions []string, seed uint64) *webhooks {
	if client == nil {
		client = &http.Client{Timeout: 5 * time.Second} // Shopify gives an endpoint about 5s
	}
	return &webhooks{client: client, versions: versions, cfg: cfg, rng: rand.New(rand.NewPCG(seed, 2))}
}

func (w *webhooks) set(cfg WebhookConfig) {
	w.mu.Lock()
	w.cfg = cfg
	w.mu.Unlock()
}

func (w *webhooks) setURL(url string) {
	w.mu.Lock()
	w.cfg.URL = url
	w.mu.Unlock()
}

func (w *webhooks) setFaults(f WebhookFaults) {
	w.mu.Lock()
	w.faults = f
	w.mu.Unlock()
}

func (w *webhooks) stats() WebhookStats {
	return WebhookStats{Events: w.events.Load(), Dropped: w.dropped.Load(), Attempts: w.attempts.Load(),
		Delivered: w.delivered.Load(), Failed: w.failed.Load()}
}

// send schedules the deliveries of events that just committed.
func (w *webhooks) send(events []webhook) {
	w.mu.Lock()
	defer w.mu.Unlock()
	cfg, f := w.cfg, w.faults
	if cfg.URL == "" {
		return
	}
	version := cfg.APIVersion
	if version == "" {
		version = slices.Max(w.versions)
	}
	copies := min(max(f.Copies, 1), 5)
	for _, ev := range events {
		if len(cfg.Topics) > 0 && !slices.Contains(cfg.Topics, ev.topic) {
			continue
		}
		w.events.Add(1)
		if f.DropRate > 0 && w.rng.Float64() < f.DropRate {
			w.dropped.Add(1)
			continue
		}
		mac := hmac.New(sha256.New, []byte(cfg.Secret))
		mac.Write(ev.body)
		h := http.Header{}
		h.Set("Content-Type", "application/json")
		h.Set("User-Agent", "Shopify-Captain-Hook")
		h.Set("X-Shopify-Topic", ev.topic)
		h.Set("X-Shopify-Hmac-Sha256", base64.StdEncoding.EncodeToString(mac.Sum(nil)))
		h.Set("X-Shopify-Shop-Domain", ShopDomain)
		h.Set("X-Shopify-Api-Version", version)
		h.Set("X-Shopify-Webhook-Id", uuid.New().String())
		h.Set("X-Shopify-Event-Id", uuid.New().String())
		h.Set("X-Shopify-Triggered-At", ev.at.UTC().Format(time.RFC3339Nano))
		for range copies {
			delay := f.Delay
			if f.Jitter > 0 {
				delay += time.Duration(w.rng.Int64N(int64(f.Jitter)))
			}
			w.pending.Add(1)
			time.AfterFunc(delay, func() {
				defer w.pending.Done()
				w.deliver(cfg.URL, h, ev.body)
			})
		}
	}
}

// deliver POSTs one copy, retrying refusals and failures a few times.
func (w *webhooks) deliver(url string, h http.Header, body []byte) {
	wait := 50 * time.Millisecond
	for attempt := 0; ; attempt++ {
		w.attempts.Add(1)
		req, err := http.NewRequest(http.MethodPost, url, bytes.NewReader(body))
		if err != nil {
			w.failed.Add(1)
			return
		}
		req.Header = h.Clone()
		resp, err := w.client.Do(req)
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode >= 200 && resp.StatusCode < 300 {
				w.delivered.Add(1)
				return
			}
		}
		if attempt == deliveryRetries {
			w.failed.Add(1)
			return
		}
		time.Sleep(wait)
		wait *= 2
	}
}

// drain waits until every scheduled delivery has been made or given up, or ctx ends.
func (w *webhooks) drain(ctx context.Context) error {
	done := make(chan struct{})
	go func() {
		w.pending.Wait()
		close(done)
	}()
	select {
	case <-done:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

// webhookControl is the JSON document of /_sandbox/webhooks.
type webhookControl struct {
	WebhookConfig
	Faults WebhookFaults `json:"faults"`
	Stats  *WebhookStats `json:"stats,omitempty"`
}

func (w *webhooks) serveControl(rw http.ResponseWriter, r *http.Request) {
	switch r.Method {
	case http.MethodGet:
	case http.MethodPut, http.MethodPost:
		var c webhookControl
		if err := json.NewDecoder(http.MaxBytesReader(rw, r.Body, 1<<16)).Decode(&c); err != nil {
			http.Error(rw, "bad settings: "+err.Error(), http.StatusBadRequest)
			return
		}
		w.set(c.WebhookConfig)
		w.setFaults(c.Faults)
	default:
		rw.WriteHeader(http.StatusMethodNotAllowed)
		return
	}
	st := w.stats()
	w.mu.Lock()
	c := webhookControl{WebhookConfig: w.cfg, Faults: w.faults, Stats: &st}
	w.mu.Unlock()
	if c.Secret != "" {
		c.Secret = "********"
	}
	rw.Header().Set("Content-Type", "application/json")
	_ = json.NewEncoder(rw).Encode(c)
}
