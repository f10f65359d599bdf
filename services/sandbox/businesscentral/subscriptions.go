package businesscentral

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"sync/atomic"
	"time"
)

// subscription is a webhook subscription (API v2.0 subscriptions entity).
type subscription struct {
	ID              string    `json:"subscriptionId"`
	NotificationURL string    `json:"notificationUrl"`
	Resource        string    `json:"resource"`
	ClientState     string    `json:"clientState,omitempty"`
	Expires         time.Time `json:"expirationDateTime"`
	Modified        time.Time `json:"lastModifiedDateTime"`
	Version         int       `json:"version"`
}

func (s *subscription) etag() string {
	return fmt.Sprintf(`W/"JzE7%s;%d;"`, s.ID, s.Version)
}

func (s *subscription) render() map[string]any {
	return map[string]any{"@odata.etag": s.etag(), "subscriptionId": s.ID, "notificationUrl": s.NotificationURL,
		"resource": s.Resource, "userId": "00000000-0000-0000-0000-000000000001", "clientState": s.ClientState,
		"expirationDateTime": stamp(s.Expires), "lastModifiedDateTime": stamp(s.Modified)}
}

// notification is one entry of a notification POST's value array.
type notification struct {
	SubscriptionID string `json:"subscriptionId"`
	ClientState    string `json:"clientState"`
	Expiration     string `json:"expirationDateTime"`
	Resource       string `json:"resource"`
	ChangeType     string `json:"changeType"`
	LastModified   string `json:"lastModifiedDateTime"`
}

// subscriptions runs the handshake and delivers notifications.
type subscriptions struct {
	s           *Sandbox
	delivered   atomic.Int64
	handshake   atomic.Int64
	collections atomic.Int64

	mu      sync.Mutex
	pending map[string][]notification // by subscription id
	timer   *time.Timer
	closed  bool
}

func newSubscriptions(s *Sandbox) *subscriptions {
	return &subscriptions{s: s, pending: map[string][]notification{}}
}

func (n *subscriptions) close() {
	n.mu.Lock()
	defer n.mu.Unlock()
	n.closed = true
	if n.timer != nil {
		n.timer.Stop()
	}
}

// serve answers the subscriptions entity set.
func (n *subscriptions) serve(ctx context.Context, method, rest string, body []byte) reply {
	id := ""
	if i := strings.IndexByte(rest, '('); i > 0 {
		id = strings.Trim(strings.TrimSuffix(rest[i+1:], ")"), "'")
	}
	l := n.s.ledger
	switch {
	case method == http.MethodGet && id == "":
		l.mu.Lock()
		defer l.mu.Unlock()
		out := []any{}
		for _, sub := range l.subs {
			out = append(out, sub.render())
		}
		return reply{status: http.StatusOK, body: map[string]any{"value": out}}
	case method == http.MethodGet:
		l.mu.Lock()
		defer l.mu.Unlock()
		if sub, ok := l.subs[id]; ok {
			return reply{status: http.StatusOK, body: sub.render(), etag: sub.etag()}
		}
		return notFound("subscription")
	case method == http.MethodPost && id == "":
		return n.create(ctx, body)
	case method == http.MethodPatch && id != "":
		return n.renew(ctx, id, body)
	case method == http.MethodDelete && id != "":
		l.mu.Lock()
		defer l.mu.Unlock()
		if _, ok := l.subs[id]; !ok {
			return notFound("subscription")
		}
		delete(l.subs, id)
		_ = l.persistLocked()
		return reply{status: http.StatusNoContent}
	}
	return fail(http.StatusMethodNotAllowed, "BadRequest_MethodNotAllowed", "'"+method+"' is not allowed on this resource.")
}

type subBody struct {
	NotificationURL string  `json:"notificationUrl"`
	Resource        string  `json:"resource"`
	ClientState     *string `json:"clientState"`
	IfMatch         string  `json:"-"`
}

func (n *subscriptions) create(ctx context.Context, body []byte) reply {
	var b subBody
	if decode(body, &b) != nil || b.NotificationURL == "" || b.Resource == "" {
		return fail(http.StatusBadRequest, "BadRequest_InvalidRequestBody", "notificationUrl and resource are required.")
	}
	if _, ok := n.resourceSet(b.Resource); !ok {
		return fail(http.StatusBadRequest, "BadRequest_ResourceNotFound", "The resource "+b.Resource+" does not support webhooks.")
	}
	if rep := n.shake(ctx, b.NotificationURL); rep != nil {
		return *rep
	}
	raw := make([]byte, 16)
	_, _ = rand.Read(raw)
	now := n.s.opts.Now().UTC()
	sub := &subscription{ID: hex.EncodeToString(raw), NotificationURL: b.NotificationURL, Resource: b.Resource,
		Expires: now.Add(n.s.opts.SubscriptionTTL), Modified: now, Version: 1}
	if b.ClientState != nil {
		sub.ClientState = *b.ClientState
	}
	l := n.s.ledger
	l.mu.Lock()
	defer l.mu.Unlock()
	l.subs[sub.ID] = sub
	if err := l.persistLocked(); err != nil {
		return fail(http.StatusInternalServerError, "Internal_ServerError", err.Error())
	}
	return reply{status: http.StatusCreated, body: sub.render(), etag: sub.etag()}
}

// renew is a PATCH: it needs the subscription's ETag and a fresh handshake, and moves the
// expiry a full lifetime ahead. An expired subscription cannot be renewed: it is gone.
func (n *subscriptions) renew(ctx context.Context, id string, body []byte) reply {
	var b subBody
	if decode(body, &b) != nil {
		return fail(http.StatusBadRequest, "BadRequest_InvalidRequestBody", "The request body is not valid JSON.")
	}
	l := n.s.ledger
	l.mu.Lock()
	sub, ok := l.subs[id]
	var target string
	if ok {
		target = sub.NotificationURL
	}
	l.mu.Unlock()
	if !ok || n.s.opts.Now().After(sub.Expires) {
		return notFound("subscription")
	}
	if b.NotificationURL != "" {
		target = b.NotificationURL
	}
	if rep := n.shake(ctx, target); rep != nil {
		return *rep
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	now := n.s.opts.Now().UTC()
	sub.NotificationURL, sub.Expires, sub.Modified = target, now.Add(n.s.opts.SubscriptionTTL), now
	if b.ClientState != nil {
		sub.ClientState = *b.ClientState
	}
	sub.Version++
	if err := l.persistLocked(); err != nil {
		return fail(http.StatusInternalServerError, "Internal_ServerError", err.Error())
	}
	return reply{status: http.StatusOK, body: sub.render(), etag: sub.etag()}
}

// shake sends the validation request: the subscriber must answer 200 with the token as the body.
func (n *subscriptions) shake(ctx context.Context, target string) *reply {
	raw := make([]byte, 12)
	_, _ = rand.Read(raw)
	token := hex.EncodeToString(raw)
	u, err := url.Parse(target)
	if err != nil {
		r := fail(http.StatusBadRequest, "BadRequest_InvalidRequestBody", "notificationUrl is not a URL.")
		return &r
	}
	q := u.Query()
	q.Set("validationToken", token)
	u.RawQuery = q.Encode()
	ctx, cancel := context.WithTimeout(ctx, 5*time.Second)
	defer cancel()
	req, _ := http.NewRequestWithContext(ctx, http.MethodPost, u.String(), nil)
	resp, err := n.s.opts.NotificationClient.Do(req)
	if err == nil {
		defer resp.Body.Close()
		got, _ := io.ReadAll(io.LimitReader(resp.Body, 4096))
		if resp.StatusCode == http.StatusOK && strings.TrimSpace(string(got)) == token {
			n.handshake.Add(1)
			return nil
		}
	}
	r := fail(http.StatusBadRequest, "BadRequest_InvalidRequestBody", "The subscription handshake with notificationUrl failed.")
	return &r
}

// resourceSet is the entity set a subscription's resource names.
func (n *subscriptions) resourceSet(resource string) (string, bool) {
	p, ok := n.s.parsePath(strings.TrimPrefix(strings.TrimPrefix(resource, "/"), "api/"))
	return p.set, ok && p.id == "" && p.set != "companies"
}

// changed queues a notification to every live subscription on set; the first change starts
// the gathering delay.
func (n *subscriptions) changed(set, id, kind string) {
	now := n.s.opts.Now().UTC()
	l := n.s.ledger
	l.mu.Lock()
	var adds []notification
	for _, sub := range l.subs {
		if got, ok := n.resourceSet(sub.Resource); !ok || got != set || now.After(sub.Expires) {
			continue
		}
		adds = append(adds, notification{SubscriptionID: sub.ID, ClientState: sub.ClientState, Expiration: stamp(sub.Expires),
			Resource: strings.TrimPrefix(sub.Resource, "/") + "(" + id + ")", ChangeType: kind, LastModified: stamp(now)})
	}
	l.mu.Unlock()
	if len(adds) == 0 {
		return
	}
	n.mu.Lock()
	defer n.mu.Unlock()
	for _, a := range adds {
		n.pending[a.SubscriptionID] = append(n.pending[a.SubscriptionID], a)
	}
	if n.timer == nil && !n.closed {
		n.timer = time.AfterFunc(n.s.opts.NotificationDelay, n.flush)
	}
}

// flush delivers what was gathered: one collection notification for a subscription with more
// changes than the threshold, else one entry per change. A subscriber answering 408, 429 or
// 5xx (or not at all) gets them again with the next delivery; any other failure deletes the
// subscription, as Business Central does.
func (n *subscriptions) flush() {
	n.mu.Lock()
	pending := n.pending
	n.pending, n.timer = map[string][]notification{}, nil
	closed := n.closed
	n.mu.Unlock()
	if closed {
		return
	}
	l := n.s.ledger
	for id, list := range pending {
		l.mu.Lock()
		sub, ok := l.subs[id]
		var target string
		if ok {
			target = sub.NotificationURL
		}
		l.mu.Unlock()
		if !ok {
			continue
		}
		if len(list) > n.s.opts.CollectionThreshold {
			first := list[0]
			base := first.Resource // "…/salesOrders(id)": the collection is what precedes the key
			if i := strings.LastIndex(base, "("); i > 0 {
				base = base[:i]
			}
			since, _ := time.Parse("2006-01-02T15:04:05.000Z", first.LastModified)
			first.Resource = base + "?$filter=lastModifiedDateTime%20gt%20" + since.Add(-time.Millisecond).Format(time.RFC3339Nano)
			first.ChangeType, first.LastModified = "collection", list[len(list)-1].LastModified
			list = []notification{first}
			n.collections.Add(1)
		}
		n.deliver(id, target, list)
	}
}

func (n *subscriptions) deliver(id, target string, list []notification) {
	body, _ := json.Marshal(map[string]any{"value": list})
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	req, _ := http.NewRequestWithContext(ctx, http.MethodPost, target, bytes.NewReader(body))
	req.Header.Set("Content-Type", "application/json")
	resp, err := n.s.opts.NotificationClient.Do(req)
	status := 0
	if err == nil {
		_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, 4096))
		resp.Body.Close()
		status = resp.StatusCode
	}
	switch {
	case status >= 200 && status < 300:
		n.delivered.Add(int64(len(list)))
	case status == 0 || status == http.StatusRequestTimeout || status == http.StatusTooManyRequests || status >= 500:
		n.mu.Lock()
		n.pending[id] = append(list, n.pending[id]...)
		if n.timer == nil && !n.closed {
			n.timer = time.AfterFunc(n.s.opts.NotificationDelay, n.flush)
		}
		n.mu.Unlock()
	default:
		l := n.s.ledger
		l.mu.Lock()
		delete(l.subs, id)
		_ = l.persistLocked()
		l.mu.Unlock()
	}
}

// Subscriptions lists the live subscriptions' ids and expiry times.
func (s *Sandbox) Subscriptions() map[string]time.Time {
	s.ledger.mu.Lock()
	defer s.ledger.mu.Unlock()
	out := map[string]time.Time{}
	for id, sub := range s.ledger.subs {
		out[id] = sub.Expires
	}
	return out
}

// FlushNotifications delivers the notifications gathered so far now, instead of after the delay.
func (s *Sandbox) FlushNotifications() {
	s.subs.mu.Lock()
	if s.subs.timer != nil {
		s.subs.timer.Stop()
	}
	s.subs.mu.Unlock()
	s.subs.flush()
}

// Collections is how many "collection" notifications were sent.
func (s *Sandbox) Collections() int64 { return s.subs.collections.Load() }

// Handshakes is how many validation handshakes succeeded.
func (s *Sandbox) Handshakes() int64 { return s.subs.handshake.Load() }
