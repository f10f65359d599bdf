package shopify

import (
	"bytes"
	"cmp"
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
// (Shop activity's topics are in activity.go.)
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

// owedWebhook is an event's delivery the receiver has not taken yet: no copy answered 2xx and a
// copy still being tried. It is kept with the shop's state (world.Webhooks), so that a restarted
// shop delivers it under the same X-Shopify-Webhook-Id, as Shopify's retry queue outlives any
// restart of the receiver or of Shopify.
type owedWebhook struct {
	Seq       int64     `json:"seq"`
	WebhookID string    `json:"webhook_id"`
	EventID   string    `json:"event_id"`
	Topic     string    `json:"topic"`
	Body      []byte    `json:"body"`
	At        time.Time `json:"triggered_at"`

	copies int // copies not yet given up
}

// deliveryRetries is how often a copy is retried after a failure; Shopify retries for hours, the
// sandbox briefly.
const deliveryRetries = 3

// webhooks delivers events to the subscription.
type webhooks struct {
	client   *http.Client
	versions []string
	ctx      context.Context // ends at close: copies still under way stay owed
	cancel   context.CancelFunc

	mu        sync.Mutex
	cfg       WebhookConfig
	faults    WebhookFaults
	rng       *rand.Rand
	seq       int64
	owed      map[string]*owedWebhook // by webhook id
	held      []*owedWebhook          // resumed while no URL was set; sent once one is
	onSettled func()                  // saves the shop again when a delivery is no longer owed

	pending                                      sync.WaitGroup
	events, dropped, attempts, delivered, failed atomic.Int64
}

func newWebhooks(cfg WebhookConfig, client *http.Client, versions []string, seed uint64) *webhooks {
	if client == nil {
		client = &http.Client{Timeout: 5 * time.Second} // Shopify gives an endpoint about 5s
	}
	ctx, cancel := context.WithCancel(context.Background())
	return &webhooks{client: client, versions: versions, cfg: cfg, rng: rand.New(rand.NewPCG(seed, 2)),
		ctx: ctx, cancel: cancel, owed: map[string]*owedWebhook{}}
}

func (w *webhooks) set(cfg WebhookConfig) {
	w.mu.Lock()
	w.cfg = cfg
	w.releaseHeldLocked()
	w.mu.Unlock()
}

func (w *webhooks) setURL(url string) {
	w.mu.Lock()
	w.cfg.URL = url
	w.releaseHeldLocked()
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

// outgoing is a recorded delivery's copies, ready to start.
type outgoing struct {
	o      *owedWebhook
	delays []time.Duration
}

// record makes the deliveries of events a mutation raised owed, before the mutation commits, so
// that the state file that makes the mutation durable holds its webhooks too; start sends them
// once it has committed.
func (w *webhooks) record(events []webhook) []outgoing {
	w.mu.Lock()
	defer w.mu.Unlock()
	cfg, f := w.cfg, w.faults
	if cfg.URL == "" {
		return nil
	}
	copies := min(max(f.Copies, 1), 5)
	var out []outgoing
	for _, ev := range events {
		if len(cfg.Topics) > 0 && !slices.Contains(cfg.Topics, ev.topic) {
			continue
		}
		w.events.Add(1)
		if f.DropRate > 0 && w.rng.Float64() < f.DropRate {
			w.dropped.Add(1)
			continue
		}
		w.seq++
		o := &owedWebhook{Seq: w.seq, WebhookID: uuid.New().String(), EventID: uuid.New().String(), Topic: ev.topic,
			Body: ev.body, At: ev.at, copies: copies}
		w.owed[o.WebhookID] = o
		og := outgoing{o: o}
		for range copies {
			delay := f.Delay
			if f.Jitter > 0 {
				delay += time.Duration(w.rng.Int64N(int64(f.Jitter)))
			}
			og.delays = append(og.delays, delay)
		}
		out = append(out, og)
	}
	return out
}

// start sends recorded deliveries' copies.
func (w *webhooks) start(out []outgoing) {
	w.mu.Lock()
	defer w.mu.Unlock()
	for _, og := range out {
		for _, delay := range og.delays {
			w.startLocked(og.o, delay)
		}
	}
}

// startLocked schedules one copy of o, to the URL and signed with the secret of the moment.
func (w *webhooks) startLocked(o *owedWebhook, delay time.Duration) {
	url, h := w.cfg.URL, w.headersLocked(o)
	w.pending.Add(1)
	time.AfterFunc(delay, func() {
		defer w.pending.Done()
		w.settle(o, w.deliver(url, h, o.Body))
	})
}

// headersLocked are Shopify's headers of o's delivery.
func (w *webhooks) headersLocked(o *owedWebhook) http.Header {
	version := w.cfg.APIVersion
	if version == "" {
		version = slices.Max(w.versions)
	}
	mac := hmac.New(sha256.New, []byte(w.cfg.Secret))
	mac.Write(o.Body)
	h := http.Header{}
	h.Set("Content-Type", "application/json")
	h.Set("User-Agent", "Shopify-Captain-Hook")
	h.Set("X-Shopify-Topic", o.Topic)
	h.Set("X-Shopify-Hmac-Sha256", base64.StdEncoding.EncodeToString(mac.Sum(nil)))
	h.Set("X-Shopify-Shop-Domain", ShopDomain)
	h.Set("X-Shopify-Api-Version", version)
	h.Set("X-Shopify-Webhook-Id", o.WebhookID)
	h.Set("X-Shopify-Event-Id", o.EventID)
	h.Set("X-Shopify-Triggered-At", o.At.UTC().Format(time.RFC3339Nano))
	return h
}

// settle notes what became of one copy of o: acknowledged, o is no longer owed; given up, o is
// owed while another copy is still being tried. After close nothing changes: the copies cut off
// are still owed, and the state file belongs to the next shop.
func (w *webhooks) settle(o *owedWebhook, ok bool) {
	w.mu.Lock()
	if w.ctx.Err() != nil || w.owed[o.WebhookID] != o {
		w.mu.Unlock()
		return
	}
	if o.copies--; ok || o.copies <= 0 {
		delete(w.owed, o.WebhookID)
	}
	saved := w.onSettled
	w.mu.Unlock()
	if saved != nil {
		saved()
	}
}

// owedList returns the deliveries still owed, oldest first, for the state file.
func (w *webhooks) owedList() []owedWebhook {
	w.mu.Lock()
	defer w.mu.Unlock()
	out := make([]owedWebhook, 0, len(w.owed))
	for _, o := range w.owed {
		out = append(out, *o)
	}
	slices.SortFunc(out, func(a, b owedWebhook) int { return cmp.Compare(a.Seq, b.Seq) })
	return out
}

// resume takes the deliveries a previous run still owed and sends one copy of each, under its
// webhook id, once a URL is set (at once when one is): the fault knobs had their say when the
// event was raised.
func (w *webhooks) resume(ws []owedWebhook) {
	w.mu.Lock()
	defer w.mu.Unlock()
	for _, in := range ws {
		if w.owed[in.WebhookID] != nil {
			continue
		}
		o := in
		o.copies = 1
		w.seq = max(w.seq, o.Seq)
		w.owed[o.WebhookID] = &o
		w.held = append(w.held, &o)
	}
	w.releaseHeldLocked()
}

// releaseHeldLocked sends the resumed deliveries once there is somewhere to send them.
func (w *webhooks) releaseHeldLocked() {
	if w.cfg.URL == "" || w.ctx.Err() != nil {
		return
	}
	for _, o := range w.held {
		w.startLocked(o, 0)
	}
	w.held = nil
}

// close abandons the copies under way; what they owed stays owed (owedList).
func (w *webhooks) close() {
	w.cancel()
}

// deliver POSTs one copy, retrying refusals and failures a few times; it reports whether the
// receiver took it.
func (w *webhooks) deliver(url string, h http.Header, body []byte) bool {
	wait := 50 * time.Millisecond
	for attempt := 0; ; attempt++ {
		if w.ctx.Err() != nil {
			return false
		}
		w.attempts.Add(1)
		req, err := http.NewRequestWithContext(w.ctx, http.MethodPost, url, bytes.NewReader(body))
		if err != nil {
			w.failed.Add(1)
			return false
		}
		req.Header = h.Clone()
		resp, err := w.client.Do(req)
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode >= 200 && resp.StatusCode < 300 {
				w.delivered.Add(1)
				return true
			}
		}
		if attempt == deliveryRetries {
			w.failed.Add(1)
			return false
		}
		select {
		case <-time.After(wait):
		case <-w.ctx.Done():
			return false
		}
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
