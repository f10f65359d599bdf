package warehouse

import "github.com/retailbridge/retailbridge/services/sandbox/webhooks"

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

// Delivery is one webhook and what became of its copies. Topic is the webhook's topic, for
// example "receipt.created"; Subject is the receipt or shipping order the webhook is about.
type Delivery = webhooks.Delivery

// newWebhookID returns a random delivery id that never repeats across sandbox restarts.
func newWebhookID() string { return webhooks.NewID("dlv_") }
