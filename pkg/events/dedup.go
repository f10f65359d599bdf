package events

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"strings"
	"sync"
	"time"

	"github.com/nats-io/nats.go/jetstream"
)

// DefaultDeliveryHorizon is how long a vendor's delivery id is remembered when the deployment
// names no horizon for that vendor: longer than any vendor's documented retry schedule (Stripe
// retries for up to 3 days, Shopify for hours) with a day's margin.
const DefaultDeliveryHorizon = 96 * time.Hour

// WithDeliveryHorizons returns js carrying, per vendor, how long DeliveryMemory remembers that
// vendor's delivery ids (RB_WEBHOOK_DEDUP_<VENDOR>); the stream defaults it already carries stay.
func WithDeliveryHorizons(js jetstream.JetStream, horizons map[string]time.Duration) jetstream.JetStream {
	c := &configured{JetStream: js}
	if old, ok := js.(*configured); ok {
		*c = *old
	}
	c.horizons = horizons
	return c
}

// DeliveryBucket is the name of the key-value bucket remembering vendor's deliveries.
func DeliveryBucket(vendor string) string {
	return "RB_WEBHOOK_DELIVERIES_" + strings.ToUpper(strings.ReplaceAll(vendor, "-", "_"))
}

// DeliveryMemory remembers which vendor deliveries were published, for each vendor's whole retry
// horizon, in a JetStream key-value bucket per vendor (replicated like the streams, entries
// expiring after the horizon). JetStream's own duplicate window (Nats-Msg-Id) lasts minutes;
// vendors retry for hours or days, and a resend after the window would otherwise be published
// again and reach every consumer, idempotent or not.
//
// The mark is written only after the delivery's events were published: a crash or a failure in
// between leaves no mark, so the vendor's retry publishes again (the broker drops the copies
// within its window) instead of being answered "seen" for events that never left. Concurrent
// copies of one delivery both publish, and Nats-Msg-Id leaves one message.
type DeliveryMemory struct {
	js jetstream.JetStream

	mu      sync.Mutex
	buckets map[string]jetstream.KeyValue
}

// NewDeliveryMemory returns the memory over js (see WithDeliveryHorizons and WithStreamDefaults).
func NewDeliveryMemory(js jetstream.JetStream) *DeliveryMemory {
	return &DeliveryMemory{js: js, buckets: map[string]jetstream.KeyValue{}}
}

// Horizon is how long vendor's delivery ids are remembered.
func (m *DeliveryMemory) Horizon(vendor string) time.Duration {
	if c, ok := m.js.(*configured); ok && c.horizons[vendor] > 0 {
		return c.horizons[vendor]
	}
	return DefaultDeliveryHorizon
}

// Seen reports whether vendor's delivery id was published within the horizon.
func (m *DeliveryMemory) Seen(ctx context.Context, vendor, deliveryID string) (bool, error) {
	kv, err := m.bucket(ctx, vendor)
	if err != nil {
		return false, err
	}
	_, err = kv.Get(ctx, deliveryKey(deliveryID))
	switch {
	case err == nil:
		return true, nil
	case errors.Is(err, jetstream.ErrKeyNotFound):
		return false, nil
	}
	return false, fmt.Errorf("events: delivery memory of %s: %w", vendor, err)
}

// Remember marks vendor's delivery id as published. A mark that exists already (a concurrent
// copy of the delivery) is not an error.
func (m *DeliveryMemory) Remember(ctx context.Context, vendor, deliveryID string) error {
	kv, err := m.bucket(ctx, vendor)
	if err != nil {
		return err
	}
	_, err = kv.Create(ctx, deliveryKey(deliveryID), []byte(time.Now().UTC().Format(time.RFC3339)))
	if err != nil && !errors.Is(err, jetstream.ErrKeyExists) {
		return fmt.Errorf("events: delivery memory of %s: %w", vendor, err)
	}
	return nil
}

// deliveryKey makes any vendor delivery id a valid key of fixed length.
func deliveryKey(deliveryID string) string {
	sum := sha256.Sum256([]byte(deliveryID))
	return hex.EncodeToString(sum[:])
}

// bucket returns vendor's bucket, creating it or bringing it up to the horizon and replicas
// (never down, as EnsureStream) the first time this process asks.
func (m *DeliveryMemory) bucket(ctx context.Context, vendor string) (jetstream.KeyValue, error) {
	if !validToken(vendor) {
		return nil, fmt.Errorf("events: invalid vendor %q", vendor)
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	if kv, ok := m.buckets[vendor]; ok {
		return kv, nil
	}
	kv, err := m.ensureBucket(ctx, vendor)
	if err != nil {
		return nil, fmt.Errorf("events: delivery memory of %s: %w", vendor, err)
	}
	m.buckets[vendor] = kv
	return kv, nil
}

func (m *DeliveryMemory) ensureBucket(ctx context.Context, vendor string) (jetstream.KeyValue, error) {
	name, horizon := DeliveryBucket(vendor), m.Horizon(vendor)
	replicas := streamDefaults(m.js).withDefaults(StreamOptions{}).Replicas
	for range 3 {
		kv, err := m.js.KeyValue(ctx, name)
		if errors.Is(err, jetstream.ErrBucketNotFound) {
			kv, err = m.js.CreateKeyValue(ctx, jetstream.KeyValueConfig{
				Bucket:      name,
				Description: "Retailbridge: " + vendor + " webhook deliveries already published, kept for the vendor's retry horizon",
				History:     1,
				TTL:         horizon,
				Storage:     jetstream.FileStorage,
				Replicas:    replicas,
			})
			if errors.Is(err, jetstream.ErrBucketExists) {
				continue
			}
			return kv, err
		}
		if err != nil {
			return nil, err
		}
		s, err := m.js.Stream(ctx, "KV_"+name)
		if err != nil {
			return nil, err
		}
		have := s.CachedInfo().Config
		want := have
		want.MaxAge, want.Replicas = horizon, replicas
		if merged, changed, err := Strengthen(have, want); err != nil {
			return nil, err
		} else if changed {
			if _, err := m.js.UpdateStream(ctx, merged); err != nil {
				return nil, err
			}
		}
		return kv, nil
	}
	return nil, errors.New("the bucket keeps being created and deleted concurrently")
}
