package stripe

import (
	"context"
	"encoding/json"
	"errors"
	"maps"
	"net/http"
	"reflect"
	"slices"
	"strings"
	"time"

	"github.com/retailbridge/retailbridge/services/sandbox/webhooks"
)

// Event types the sandbox sends, as Stripe names them.
const (
	EventRefundCreated = "refund.created"
	EventRefundUpdated = "refund.updated"
	EventRefundFailed  = "refund.failed"
)

// Webhook delivery defaults.
const (
	// DefaultMaxAttempts is how many times one copy of a webhook is tried before it is given up.
	DefaultMaxAttempts = webhooks.DefaultMaxAttempts
	// DefaultRetryBackoff is the wait after a copy's first failed attempt; it doubles up to a
	// minute.
	DefaultRetryBackoff = webhooks.DefaultRetryBackoff
	// DefaultDeliveryTimeout is how long one attempt waits for the endpoint's answer.
	DefaultDeliveryTimeout = webhooks.DefaultDeliveryTimeout
)

// DeliverySettings are the webhook delivery knobs (FM-1: duplicated, late, out of order, lost).
// The zero value delivers each event once, at once, and retries failed attempts.
type DeliverySettings = webhooks.Settings

// Delivery is one event's webhook and what became of its copies. ID is the event id (evt_…),
// which every copy and retry carries in its body; Topic is the event type, for example
// "refund.updated"; Subject is the refund's id.
type Delivery = webhooks.Delivery

// ErrNoSuchWebhook is returned by RedeliverWebhook for an event the sandbox never sent.
var ErrNoSuchWebhook = errors.New("stripe sandbox: no such webhook")

// webhookControlPath is where the webhook endpoint and deliveries are controlled.
const webhookControlPath = "/_sandbox/stripe/webhooks"

// eventObject is an Event as Stripe renders it in a webhook body.
type eventObject struct {
	ID              string       `json:"id"`
	Object          string       `json:"object"`
	APIVersion      string       `json:"api_version"`
	Created         int64        `json:"created"`
	Data            eventData    `json:"data"`
	Livemode        bool         `json:"livemode"`
	PendingWebhooks int          `json:"pending_webhooks"`
	Request         eventRequest `json:"request"`
	Type            string       `json:"type"`
}

type eventData struct {
	Object refundObject `json:"object"`
	// PreviousAttributes holds the changed fields' earlier values; *.updated events only.
	PreviousAttributes map[string]any `json:"previous_attributes,omitempty"`
}

// eventRequest names the API request behind an event; both are null for automatic changes.
type eventRequest struct {
	ID             *string `json:"id"`
	IdempotencyKey *string `json:"idempotency_key"`
}

func (o origin) request() eventRequest {
	var r eventRequest
	if o.requestID != "" {
		id := o.requestID
		r.ID = &id
	}
	if o.idempotencyKey != "" {
		key := o.idempotencyKey
		r.IdempotencyKey = &key
	}
	return r
}

// emitLocked sends an event of type typ with r as it is now, when a webhook endpoint is set;
// without one Stripe has nowhere to send it, and the sandbox keeps no event log. Every copy and
// retry sends these exact bytes. The caller holds mu, so events leave in the order of the
// changes they report (delivery may still reorder them, as Stripe's does).
func (s *Sandbox) emitLocked(typ string, r *refund, previous map[string]any, o origin) {
	if url, _ := s.hooks.Target(); url == "" {
		return
	}
	now := s.opts.Now()
	ev := eventObject{
		ID: webhooks.NewID("evt_"), Object: "event", APIVersion: APIVersion, Created: now.Unix(),
		Data:            eventData{Object: toRefund(r), PreviousAttributes: previous},
		PendingWebhooks: 1, Request: o.request(), Type: typ,
	}
	// Stripe sends its events pretty-printed; a receiver that re-serialised them before checking
	// the signature would fail here as it would there.
	body, err := json.MarshalIndent(ev, "", "  ")
	if err != nil {
		panic("stripe sandbox: encoding an event: " + err.Error())
	}
	s.events.Add(1)
	s.hooks.Send(&webhooks.Delivery{ID: ev.ID, Topic: typ, Subject: r.id, CreatedAt: now, Body: append(body, '\n')})
}

// previousAttributes is what Stripe puts in data.previous_attributes: the earlier value of every
// top-level field that changed, null for one that did not exist before.
func previousAttributes(before, after refundObject) map[string]any {
	b, a := asMap(before), asMap(after)
	prev := map[string]any{}
	for _, k := range slices.Sorted(maps.Keys(a)) {
		if old, ok := b[k]; !ok {
			prev[k] = nil
		} else if !reflect.DeepEqual(old, a[k]) {
			prev[k] = old
		}
	}
	for k, old := range b {
		if _, ok := a[k]; !ok {
			prev[k] = old
		}
	}
	return prev
}

func asMap(o refundObject) map[string]any {
	raw, err := json.Marshal(o)
	if err != nil {
		panic("stripe sandbox: encoding a refund: " + err.Error())
	}
	var m map[string]any
	if err := json.Unmarshal(raw, &m); err != nil {
		panic("stripe sandbox: decoding a refund: " + err.Error())
	}
	return m
}

// signHeaders sets an attempt's headers, signed at the attempt's time with the secrets current
// then, so a retry after the secret was rolled carries the new signatures.
func (s *Sandbox) signHeaders(h http.Header, d *webhooks.Delivery, at time.Time) {
	s.secretMu.Lock()
	secrets := s.secrets
	s.secretMu.Unlock()
	h.Set("Content-Type", "application/json; charset=utf-8")
	h.Set("User-Agent", "Stripe/1.0 (+https://stripe.com/docs/webhooks)")
	h.Set(SignatureHeaderName, SignatureHeader(at, d.Body, secrets...))
}

// SetWebhooks points the account's webhook endpoint at url and signs its events with secrets,
// one v1 signature per secret ([DevWebhookSecret] when none is given): pass the old and the new
// secret to sign as Stripe does while an endpoint's secret is rolled. An empty url turns
// webhooks off: changes raise no events from then on, and copies still being retried fail.
func (s *Sandbox) SetWebhooks(url string, secrets ...string) {
	if len(secrets) == 0 {
		secrets = []string{DevWebhookSecret}
	}
	s.secretMu.Lock()
	s.secrets = slices.Clone(secrets)
	s.secretMu.Unlock()
	s.hooks.SetURL(url)
}

// SetWebhookURL points the webhook endpoint at url, keeping the signing secrets.
func (s *Sandbox) SetWebhookURL(url string) { s.hooks.SetURL(url) }

// SetDelivery replaces the webhook delivery knobs for events sent from now on.
func (s *Sandbox) SetDelivery(d DeliverySettings) { s.hooks.SetSettings(d) }

// Webhooks lists every event sent so far, oldest first, with what became of its webhook.
func (s *Sandbox) Webhooks() []Delivery { return s.hooks.List() }

// FlushWebhooks sends every copy still waiting — late, reordered or between retries — now.
func (s *Sandbox) FlushWebhooks() { s.hooks.Flush() }

// RedeliverWebhook sends one more copy of an event now, whatever the delivery knobs say: the
// same body, signed afresh with the current secrets, as the Dashboard's "Resend" does.
func (s *Sandbox) RedeliverWebhook(eventID string) error {
	if err := s.hooks.Redeliver(eventID); err != nil {
		return ErrNoSuchWebhook
	}
	return nil
}

// WaitIdle waits until no webhook copy is waiting or being attempted, or ctx ends.
func (s *Sandbox) WaitIdle(ctx context.Context) error { return s.hooks.WaitIdle(ctx) }

// webhookControl is the JSON document of /_sandbox/stripe/webhooks.
type webhookControl struct {
	// URL is the webhook endpoint ("" is off).
	URL string `json:"url"`
	// Secrets replace the signing secrets when given; they are never shown.
	Secrets []string `json:"secrets,omitempty"`
	// Delivery are the delivery knobs.
	Delivery DeliverySettings `json:"delivery"`
	// Deliveries are the events sent so far, oldest first (GET only).
	Deliveries []Delivery `json:"deliveries,omitempty"`
}

// serveWebhookControl serves:
//
//	GET  /_sandbox/stripe/webhooks                    endpoint, delivery knobs and every event sent
//	PUT  /_sandbox/stripe/webhooks                    replace endpoint, knobs and (if given) secrets
//	POST /_sandbox/stripe/webhooks/flush              send every delayed copy now
//	POST /_sandbox/stripe/webhooks/{evt_id}/redeliver send one more copy now
func (s *Sandbox) serveWebhookControl(w http.ResponseWriter, r *http.Request) {
	rest := strings.TrimPrefix(strings.TrimPrefix(r.URL.Path, webhookControlPath), "/")
	switch {
	case rest == "" && r.Method == http.MethodGet:
	case rest == "" && (r.Method == http.MethodPut || r.Method == http.MethodPost):
		var c webhookControl
		if err := json.NewDecoder(http.MaxBytesReader(w, r.Body, 1<<16)).Decode(&c); err != nil {
			http.Error(w, "bad webhook settings: "+err.Error(), http.StatusBadRequest)
			return
		}
		if len(c.Secrets) > 0 {
			s.SetWebhooks(c.URL, c.Secrets...)
		} else {
			s.SetWebhookURL(c.URL)
		}
		s.SetDelivery(c.Delivery)
	case rest == "flush" && r.Method == http.MethodPost:
		s.FlushWebhooks()
		w.WriteHeader(http.StatusAccepted)
		return
	case strings.HasSuffix(rest, "/redeliver") && r.Method == http.MethodPost:
		if err := s.RedeliverWebhook(strings.TrimSuffix(rest, "/redeliver")); err != nil {
			http.Error(w, err.Error(), http.StatusNotFound)
			return
		}
		w.WriteHeader(http.StatusAccepted)
		return
	case rest == "" || rest == "flush" || strings.HasSuffix(rest, "/redeliver"):
		w.WriteHeader(http.StatusMethodNotAllowed)
		return
	default:
		http.NotFound(w, r)
		return
	}
	url, delivery := s.hooks.Target()
	w.Header().Set("Content-Type", "application/json")
	_ = json.NewEncoder(w).Encode(webhookControl{URL: url, Delivery: delivery, Deliveries: s.Webhooks()})
}
