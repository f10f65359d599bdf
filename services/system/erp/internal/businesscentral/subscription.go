package businesscentral

import (
	"context"
	"net/http"
	"net/url"
	"sync"
	"time"

	"github.com/retailbridge/retailbridge/pkg/errs"
	"github.com/retailbridge/retailbridge/pkg/vendorhttp"
)

// Webhook subscriptions (api/v2.0/subscriptions). Business Central checks a subscription's
// notificationUrl with a handshake when it is created and when it is renewed, sends clientState
// with every notification, and drops a subscription three days after it was created or last
// renewed. Subscriber keeps one subscription per resource alive: it renews (PATCH with the
// subscription's ETag, which makes Business Central shake hands again) once the expiry is within
// RenewBefore, and creates the subscription again when Business Central no longer has it.

// DefaultRenewBefore renews a subscription a day before its three-day life ends, leaving time for
// failed attempts.
const DefaultRenewBefore = 24 * time.Hour

// SubscriptionConfig says where Business Central delivers notifications and about what.
type SubscriptionConfig struct {
	// NotificationURL is Retailbridge's webhook endpoint for Business Central.
	NotificationURL string
	// ClientState is the shared secret sent back with every notification.
	ClientState string
	// Resources are the entity sets to watch (salesOrders when empty).
	Resources []string
	// RenewBefore is how long before expiry a subscription is renewed (DefaultRenewBefore when zero).
	RenewBefore time.Duration
}

// Subscription is one live subscription.
type Subscription struct {
	ID, Resource string
	Expires      time.Time
	etag         string
}

type subscriptionDoc struct {
	ETag            string `json:"@odata.etag"`
	ID              string `json:"subscriptionId"`
	NotificationURL string `json:"notificationUrl"`
	Resource        string `json:"resource"`
	Expires         string `json:"expirationDateTime"`
}

func (d subscriptionDoc) subscription() (Subscription, error) {
	exp, err := time.Parse(time.RFC3339Nano, d.Expires)
	if err != nil {
		return Subscription{}, toErr(badPayload(err))
	}
	return Subscription{ID: d.ID, Resource: d.Resource, Expires: exp, etag: d.ETag}, nil
}

// Subscriber keeps the subscriptions of one SubscriptionConfig alive.
type Subscriber struct {
	c   *Client
	cfg SubscriptionConfig

	mu    sync.Mutex
	known map[string]Subscription // by resource
}

// Subscriber returns the subscription keeper for cfg.
func (c *Client) Subscriber(cfg SubscriptionConfig) *Subscriber {
	if len(cfg.Resources) == 0 {
		cfg.Resources = []string{"salesOrders"}
	}
	if cfg.RenewBefore <= 0 {
		cfg.RenewBefore = DefaultRenewBefore
	}
	return &Subscriber{c: c, cfg: cfg, known: map[string]Subscription{}}
}

// resource is the subscription resource of an entity set.
func (s *Subscriber) resource(set string) string {
	return "/api/" + groupV2 + "/companies(" + s.c.company + ")/" + set
}

// Ensure makes every resource's subscription exist and live longer than RenewBefore, and
// returns them.
func (s *Subscriber) Ensure(ctx context.Context) ([]Subscription, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if len(s.known) == 0 {
		if err := s.adoptLocked(ctx); err != nil {
			return nil, err
		}
	}
	out := make([]Subscription, 0, len(s.cfg.Resources))
	for _, set := range s.cfg.Resources {
		res := s.resource(set)
		sub, ok := s.known[res]
		var err error
		switch {
		case !ok:
			sub, err = s.create(ctx, res)
		case sub.Expires.Sub(s.c.now()) < s.cfg.RenewBefore:
			sub, err = s.renew(ctx, sub)
		}
		if err != nil {
			return nil, err
		}
		s.known[res] = sub
		out = append(out, sub)
	}
	return out, nil
}

// adoptLocked takes over the subscriptions to this notification URL that Business Central
// already has (a restarted Retailbridge), so they are renewed instead of duplicated.
func (s *Subscriber) adoptLocked(ctx context.Context) error {
	var page collection[subscriptionDoc]
	if err := s.c.get(ctx, s.c.root.JoinPath(groupV2, "subscriptions"), &page, "subscription"); err != nil {
		return err
	}
	for _, d := range page.Value {
		if d.NotificationURL != s.cfg.NotificationURL {
			continue
		}
		sub, err := d.subscription()
		if err != nil {
			return err
		}
		if sub.Expires.After(s.c.now()) {
			s.known[sub.Resource] = sub
		}
	}
	return nil
}

func (s *Subscriber) create(ctx context.Context, resource string) (Subscription, error) {
	ans, err := s.c.call(ctx, request{method: http.MethodPost, url: s.c.root.JoinPath(groupV2, "subscriptions"), entity: "subscription",
		body: map[string]any{"notificationUrl": s.cfg.NotificationURL, "resource": resource, "clientState": s.cfg.ClientState}})
	if err != nil {
		return Subscription{}, err
	}
	var d subscriptionDoc
	if err := decodeInto(ans.body, &d); err != nil {
		return Subscription{}, err
	}
	s.c.log.InfoContext(ctx, "business central subscription created", "resource", resource, "expires", d.Expires)
	return d.subscription()
}

// renew extends sub by a PATCH with its ETag. A subscription Business Central no longer has
// (expired, or deleted after failed deliveries) is created again; a 412 re-reads it first.
func (s *Subscriber) renew(ctx context.Context, sub Subscription) (Subscription, error) {
	for attempt := 1; ; attempt++ {
		u := s.c.root.JoinPath(groupV2, "subscriptions('"+url.PathEscape(sub.ID)+"')")
		ans, err := s.c.call(ctx, request{method: http.MethodPatch, url: u, ifMatch: sub.etag, entity: "subscription",
			body: map[string]any{"notificationUrl": s.cfg.NotificationURL, "clientState": s.cfg.ClientState}})
		e := errs.As(err)
		switch {
		case err == nil:
			var d subscriptionDoc
			if err := decodeInto(ans.body, &d); err != nil {
				return Subscription{}, err
			}
			s.c.log.InfoContext(ctx, "business central subscription renewed", "resource", sub.Resource, "expires", d.Expires)
			return d.subscription()
		case e != nil && e.Kind == errs.NotFound:
			s.c.log.WarnContext(ctx, "business central subscription gone; subscribing again", "resource", sub.Resource)
			return s.create(ctx, sub.Resource)
		case e != nil && e.Reason == "erp_record_changed" && attempt < maxConflicts:
			s.c.conflicts.Add(1)
			var d subscriptionDoc
			if err := s.c.get(ctx, u, &d, "subscription"); err != nil {
				return Subscription{}, err
			}
			if sub, err = d.subscription(); err != nil {
				return Subscription{}, err
			}
		default:
			return Subscription{}, err
		}
	}
}

// Run keeps the subscriptions alive until ctx ends: it ensures them, sleeps until the first
// needs renewing, and after a failure tries again in retry.
func (s *Subscriber) Run(ctx context.Context, retry time.Duration) {
	for {
		wait := retry
		subs, err := s.Ensure(ctx)
		if err != nil {
			s.c.log.WarnContext(ctx, "business central subscriptions not ensured", "err", err, "retry_in", retry)
		}
		for i, sub := range subs {
			if d := max(sub.Expires.Sub(s.c.now())-s.cfg.RenewBefore, time.Second); i == 0 || d < wait {
				wait = d
			}
		}
		if vendorhttp.Sleep(ctx, wait) != nil {
			return
		}
	}
}
