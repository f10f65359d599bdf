package vendors

import (
	"context"
	"net/http"
	"net/url"

	canonicalv1 "github.com/retailbridge/retailbridge/pkg/gen/retailbridge/canonical/v1"
)

// Channel is how a delivery reached Retailbridge.
type Channel string

// Channels of inbound vendor traffic.
const (
	// Webhook is a delivery the vendor pushed to the gateway's /webhooks/{vendor}.
	Webhook Channel = "webhook"
	// Poll is a page a poller fetched from the vendor's API.
	Poll Channel = "poll"
	// File is a file fetched from the vendor's drop (an EDI interchange over SFTP, a CSV).
	File Channel = "file"
)

// Delivery is one inbound message from a vendor, whatever brought it.
type Delivery struct {
	// Vendor is the registered vendor it came from.
	Vendor  string
	Channel Channel
	// Headers are a webhook's request headers (names match case-insensitively); empty for
	// files and polls.
	Headers http.Header
	// Name is a file's name or a poll's cursor; empty for webhooks.
	Name string
	// Body is the raw content: signatures and checksums are verified over these bytes.
	Body []byte
	// Query is a webhook's URL query (a subscription handshake's validation token); empty
	// otherwise.
	Query url.Values
}

// Normalised is what a delivery says in the canonical model.
type Normalised struct {
	// ID identifies the delivery at the vendor (a webhook's delivery id, an interchange
	// control number, a page's cursor): a re-sent delivery has the same ID, so it has one effect.
	ID string
	// Events are the canonical events it reports, with ids derived from ID; none for a topic
	// Retailbridge does not use.
	Events []*canonicalv1.Event
	// Reply, when set, is the answer the vendor's protocol requires to this delivery (a
	// subscription handshake's echoed token), of ReplyContentType; nothing is published.
	Reply            []byte
	ReplyContentType string
}

// Inbound verifies and normalises a vendor's deliveries. The same implementation serves the
// webhook intake, pollers and file readers, so every inbound path of a vendor gives the same
// canonical events. A delivery that fails verification is errs.Unauthenticated; a verified one
// that is not the vendor's payload errs.Invalid.
type Inbound interface {
	Normalise(ctx context.Context, d Delivery) (Normalised, error)
}

// InboundFunc adapts a function to Inbound.
type InboundFunc func(ctx context.Context, d Delivery) (Normalised, error)

// Normalise calls f.
func (f InboundFunc) Normalise(ctx context.Context, d Delivery) (Normalised, error) { return f(ctx, d) }

// ParseWebhook adapts a connector's webhook parser (verify the raw body, normalise it) to
// Inbound.
func ParseWebhook(parse func(h http.Header, body []byte) (string, []*canonicalv1.Event, error)) Inbound {
	return InboundFunc(func(_ context.Context, d Delivery) (Normalised, error) {
		id, evs, err := parse(d.Headers, d.Body)
		return Normalised{ID: id, Events: evs}, err
	})
}
