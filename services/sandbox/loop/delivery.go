package loop

import (
	"encoding/json"
	"time"

	"github.com/retailbridge/retailbridge/services/sandbox/webhooks"
)

// Webhook delivery defaults.
const (
	// DefaultMaxAttempts is how many times one copy of a webhook is tried before it is given up.
	DefaultMaxAttempts = webhooks.DefaultMaxAttempts
	// DefaultRetryBackoff is the wait after a copy's first failed attempt; it doubles up to a
	// minute.
	DefaultRetryBackoff = webhooks.DefaultRetryBackoff
	// DefaultDeliveryTimeout is how long one attempt waits for the receiver's answer.
	DefaultDeliveryTimeout = webhooks.DefaultDeliveryTimeout
)

// DeliverySettings are the webhook delivery knobs (FM-1: duplicated, late, out of order, lost).
// The zero value delivers each webhook once, at once, and retries failed attempts.
type DeliverySettings = webhooks.Settings

// Delivery is one webhook and what became of its copies: a webhooks.Delivery in Loop's words,
// whose topic is the trigger and whose subject is the return.
type Delivery struct {
	// ID is the webhook id every copy and retry carries.
	ID string `json:"id"`
	// Trigger is the webhook's trigger, for example "return.updated".
	Trigger string `json:"trigger"`
	// ReturnID is the return the webhook is about.
	ReturnID string `json:"return_id"`
	// CreatedAt is when the sandbox raised the webhook.
	CreatedAt time.Time `json:"created_at"`
	// Dropped says the drop knob lost it: no copy was ever sent.
	Dropped bool `json:"dropped"`
	// Copies is how many copies were sent or are being sent, redeliveries included.
	Copies int `json:"copies"`
	// Attempts is how many HTTP requests the copies made.
	Attempts int `json:"attempts"`
	// Acknowledged is how many copies the receiver answered 2xx.
	Acknowledged int `json:"acknowledged"`
	// GaveUp is how many copies exhausted their attempts.
	GaveUp int `json:"gave_up"`
	// LastStatus is the receiver's latest HTTP status (0 when it never answered).
	LastStatus int `json:"last_status"`
	// LastError describes the latest failed attempt.
	LastError string `json:"last_error,omitempty"`
	// Body is the exact payload, signed as sent.
	Body json.RawMessage `json:"body"`
}

// deliveryOf renames a dispatcher's record into Loop's words.
func deliveryOf(d webhooks.Delivery) Delivery {
	return Delivery{ID: d.ID, Trigger: d.Topic, ReturnID: d.Subject, CreatedAt: d.CreatedAt,
		Dropped: d.Dropped, Copies: d.Copies, Attempts: d.Attempts, Acknowledged: d.Acknowledged,
		GaveUp: d.GaveUp, LastStatus: d.LastStatus, LastError: d.LastError, Body: d.Body}
}

// newWebhookID returns a random webhook id that never repeats across sandbox restarts.
func newWebhookID() string { return webhooks.NewID("whk_") }
