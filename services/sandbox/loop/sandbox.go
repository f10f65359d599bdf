// Package loop emulates a Loop-style returns platform: a JSON REST API authenticated with an API
// key in X-Authorization, returns created idempotently, return labels with tracking numbers that
// can be voided while unused, closing and cancelling, and signed webhooks (return.created,
// return.updated, return.closed; X-Loop-Signature = base64 HMAC-SHA256 of the raw body).
//
// By default the sandbox auto-progresses: once a label exists, the parcel moves new → pre_transit
// → in_transit → out_for_delivery → delivered after simulated delays, and every move is announced
// with a return.updated webhook. Webhooks are retried on non-2xx answers and can be duplicated,
// delayed, reordered or dropped on purpose (DeliverySettings). Tests drive every step by hand
// through Go methods or the control API under /_sandbox/loop, and inject HTTP faults through
// /_sandbox/faults.
//
// # API
//
// Paths follow Loop's where Loop has the operation (return details, close, cancel); creating
// returns and labels are sandbox endpoints, since Loop creates both from its own returns portal:
//
//	POST /api/v1/returns                              create (Idempotency-Key header)
//	GET  /api/v1/warehouse/return/details?return_id=  read one return with its label
//	GET  /api/v1/warehouse/return/list?from=&to=      list returns created in [from, to)
//	POST /api/v1/returns/{id}/label                   buy a label (Idempotency-Key header)
//	POST /api/v1/labels/{id}/void                     void an unused label
//	POST /api/v1/warehouse/return/{id}/close          close
//	POST /api/v1/warehouse/return/{id}/cancel         cancel
//
// Errors are Laravel-style JSON documents, {"message": …, "code": …, "errors": {field: [msg]}}.
// The API allows DefaultRateLimit requests per minute per key, as Loop does, answering 429 with
// Retry-After beyond it.
package loop

import (
	"context"
	"math"
	"net/http"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"github.com/retailbridge/retailbridge/services/sandbox/faults"
	"github.com/retailbridge/retailbridge/services/sandbox/recent"
	"github.com/retailbridge/retailbridge/services/sandbox/state"
	"github.com/retailbridge/retailbridge/services/sandbox/webhooks"
)

// Development credentials, used for Options left empty. They guard nothing: the sandbox holds
// generated data only.
const (
	DevAPIKey        = "loop-sandbox-api-key"
	DevWebhookSecret = "loop-sandbox-webhook-secret"
)

// DefaultRateLimit is Loop's limit: requests per minute per API key.
const DefaultRateLimit = 300

// Header names.
const (
	// HeaderAPIKey carries the API key on every API request.
	HeaderAPIKey = "X-Authorization"
	// HeaderIdempotencyKey makes a create repeatable: the same key and body give the first answer.
	HeaderIdempotencyKey = "Idempotency-Key"
	// HeaderReplayed marks an answer replayed for a repeated idempotency key.
	HeaderReplayed = "Idempotent-Replayed"
	// HeaderSignature is base64(HMAC-SHA256(webhook secret, raw body)).
	HeaderSignature = "X-Loop-Signature"
	// HeaderWebhookID identifies one webhook; its copies and retries repeat it. The body's
	// webhook_id field carries the same value under the signature.
	HeaderWebhookID = "X-Loop-Webhook-Id"
	// HeaderTopic and HeaderTrigger repeat the body's topic and trigger.
	HeaderTopic   = "X-Loop-Topic"
	HeaderTrigger = "X-Loop-Trigger"
)

// Delays are the simulated durations of auto-progress. A zero field takes its default; a
// negative one means the step never happens by itself (drive it with Advance or Expire).
type Delays struct {
	// PreTransit is from label creation to pre_transit (default 2s).
	PreTransit time.Duration `json:"pre_transit"`
	// InTransit is from pre_transit to in_transit (default 3s).
	InTransit time.Duration `json:"in_transit"`
	// OutForDelivery is from in_transit to out_for_delivery (default 3s).
	OutForDelivery time.Duration `json:"out_for_delivery"`
	// Delivered is from out_for_delivery to delivered (default 3s).
	Delivered time.Duration `json:"delivered"`
	// Expire is how long an open return may wait for its parcel to move (no label, or a label
	// still new or pre_transit) before it expires. Loop expires labels after 28 days; the
	// sandbox never expires returns by itself unless this is positive.
	Expire time.Duration `json:"expire"`
}

// DefaultDelays move a parcel from label to delivered in about eleven seconds.
var DefaultDelays = Delays{PreTransit: 2 * time.Second, InTransit: 3 * time.Second,
	OutForDelivery: 3 * time.Second, Delivered: 3 * time.Second}

func (d Delays) withDefaults() Delays {
	def := func(v *time.Duration, dv time.Duration) {
		if *v == 0 {
			*v = dv
		}
	}
	def(&d.PreTransit, DefaultDelays.PreTransit)
	def(&d.InTransit, DefaultDelays.InTransit)
	def(&d.OutForDelivery, DefaultDelays.OutForDelivery)
	def(&d.Delivered, DefaultDelays.Delivered)
	return d
}

// into is the delay before a label reaches status.
func (d Delays) into(status string) time.Duration {
	switch status {
	case LabelPreTransit:
		return d.PreTransit
	case LabelInTransit:
		return d.InTransit
	case LabelOutForDelivery:
		return d.OutForDelivery
	case LabelDelivered:
		return d.Delivered
	}
	return -1
}

// Options configure a Sandbox.
type Options struct {
	// APIKey is the key the API accepts in X-Authorization (DevAPIKey when empty).
	APIKey string
	// WebhookURL receives the webhooks; without one they are recorded and not sent.
	WebhookURL string
	// WebhookSecret signs the webhooks (DevWebhookSecret when empty).
	WebhookSecret string
	// Manual turns auto-progress off: parcels move only by Advance.
	Manual bool
	// Delays are the auto-progress durations.
	Delays Delays
	// Delivery are the webhook delivery knobs.
	Delivery DeliverySettings
	// RateLimit is requests per minute per key (DefaultRateLimit when zero; negative: none).
	RateLimit int
	// RateBurst is how many requests may arrive at once (RateLimit when zero or negative).
	RateBurst int
	// LabelBaseURL is where label PDFs are said to live (https://labels.loop-sandbox.test when
	// empty).
	LabelBaseURL string
	// HTTPClient sends the webhooks (a client with DefaultDeliveryTimeout when nil).
	HTTPClient *http.Client
	// Now is the clock for timestamps (time.Now when nil).
	Now func() time.Time
	// Seed drives tracking numbers and the fault and delivery knobs' random sources.
	Seed uint64
	// StateDir keeps the platform (returns, labels, idempotency keys' answers, the id counter) in
	// StateDir/loop.json across restarts; empty keeps it in memory only. Use Open with it.
	StateDir string
	// IdempotencyKeys is how many idempotency keys are remembered, the oldest forgotten first
	// (maxIdempotencyKeys when zero or negative).
	IdempotencyKeys int
}

func withDefaults(o Options) Options {
	if o.APIKey == "" {
		o.APIKey = DevAPIKey
	}
	if o.WebhookSecret == "" {
		o.WebhookSecret = DevWebhookSecret
	}
	if o.RateLimit == 0 {
		o.RateLimit = DefaultRateLimit
	}
	if o.RateBurst <= 0 {
		o.RateBurst = o.RateLimit
	}
	if o.LabelBaseURL == "" {
		o.LabelBaseURL = "https://labels.loop-sandbox.test"
	}
	if o.Now == nil {
		o.Now = time.Now
	}
	o.Delays = o.Delays.withDefaults()
	if o.IdempotencyKeys <= 0 {
		o.IdempotencyKeys = maxIdempotencyKeys
	}
	return o
}

// Stats counts what the sandbox saw and did.
type Stats struct {
	// Requests is how many API requests arrived (control endpoints excluded).
	Requests int64 `json:"requests"`
	// Unauthorized is how many were refused for a missing or wrong API key.
	Unauthorized int64 `json:"unauthorized"`
	// RateLimited is how many were refused with 429.
	RateLimited int64 `json:"rate_limited"`
	// ReturnsCreated and LabelsCreated count side effects; replays do not count.
	ReturnsCreated int64 `json:"returns_created"`
	LabelsCreated  int64 `json:"labels_created"`
	// Replayed is how many answers were replayed for a repeated idempotency key.
	Replayed int64 `json:"replayed"`
	// Webhooks is how many webhooks were raised; Dropped how many of them the knob lost.
	Webhooks int64 `json:"webhooks"`
	Dropped  int64 `json:"dropped"`
	// DeliveryAttempts is how many webhook HTTP requests were made, copies and retries included.
	DeliveryAttempts int64 `json:"delivery_attempts"`
	// Acknowledged is how many copies the receiver answered 2xx.
	Acknowledged int64 `json:"acknowledged"`
}

// Sandbox is an emulated Loop account. It is an http.Handler and safe for concurrent use. Call
// Close to stop its timers and webhook deliveries.
type Sandbox struct {
	opts   Options
	faults *faults.Faults
	hooks  *webhooks.Dispatcher
	limit  atomic.Pointer[bucket]
	state  *state.File // nil: nothing is kept across restarts

	api     http.Handler
	control http.Handler

	requests, unauthorized, rateLimited, replayed atomic.Int64

	mu      sync.Mutex
	closed  bool
	manual  bool
	delays  Delays
	secret  string
	seq     int64
	returns map[int64]*returnRec
	// returnOrder lists return ids oldest first.
	returnOrder []int64
	labels      map[int64]*labelRec
	idem        *recent.Map[idemRec] // "<endpoint> <key>" → first answer, the latest maxIdempotencyKeys
	timers      map[string]*timer
	tracking    *trackingNumbers
	created     struct{ returns, labels, webhooks int64 }
}

// New returns a sandbox with no returns yet. It panics when opts.StateDir is set and the state
// cannot be read; Open returns that error instead.
func New(opts Options) *Sandbox {
	s, err := Open(opts)
	if err != nil {
		panic(err)
	}
	return s
}

// Open is New for a platform that keeps its state in opts.StateDir: the returns a previous run
// left there are restored and their parcels resume.
func Open(opts Options) (*Sandbox, error) {
	opts = withDefaults(opts)
	s := &Sandbox{
		opts:     opts,
		faults:   faults.New(opts.Seed),
		manual:   opts.Manual,
		delays:   opts.Delays,
		secret:   opts.WebhookSecret,
		returns:  make(map[int64]*returnRec),
		labels:   make(map[int64]*labelRec),
		idem:     recent.New[idemRec](opts.IdempotencyKeys),
		timers:   make(map[string]*timer),
		tracking: newTrackingNumbers(opts.Seed),
	}
	if opts.RateLimit > 0 {
		s.limit.Store(newBucket(opts.RateLimit, opts.RateBurst, opts.Now))
	}
	s.hooks = webhooks.New(webhooks.Config{Client: opts.HTTPClient, URL: opts.WebhookURL, Settings: opts.Delivery,
		Seed: opts.Seed, Now: opts.Now, Sign: s.signHeaders, OnSettled: func() { _ = s.persist() }})
	s.api = s.counted(s.faults.Middleware(s.authenticated(s.limited(state.Durable(s.persist, s.routes())))))
	s.control = state.Durable(s.persist, s.controlRoutes())
	f, err := state.Open(opts.StateDir, "loop")
	if err != nil {
		return nil, err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if _, err := s.loadLocked(f); err != nil {
		s.closed = true
		return nil, err
	}
	s.state = f
	if err := s.persistLocked(); err != nil {
		return nil, err
	}
	return s, nil
}

// ServeHTTP serves the API, the control API at /_sandbox/loop/… and the fault knobs at
// /_sandbox/faults.
func (s *Sandbox) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	switch {
	case r.URL.Path == "/_sandbox/faults":
		s.faults.Middleware(http.NotFoundHandler()).ServeHTTP(w, r)
	case len(r.URL.Path) >= len(controlPrefix) && r.URL.Path[:len(controlPrefix)] == controlPrefix:
		s.control.ServeHTTP(w, r)
	default:
		s.api.ServeHTTP(w, r)
	}
}

// Close stops auto-progress and abandons webhooks not yet delivered.
func (s *Sandbox) Close() {
	s.mu.Lock()
	s.closed = true
	for k := range s.timers {
		s.stopTimerLocked(k)
	}
	s.mu.Unlock()
	s.hooks.Close()
}

// Faults returns the fault knobs (latency, error rate, down) and the request recorder.
func (s *Sandbox) Faults() *faults.Faults { return s.faults }

// Stats returns the counters.
func (s *Sandbox) Stats() Stats {
	s.mu.Lock()
	st := Stats{ReturnsCreated: s.created.returns, LabelsCreated: s.created.labels, Webhooks: s.created.webhooks}
	s.mu.Unlock()
	st.Requests, st.Unauthorized = s.requests.Load(), s.unauthorized.Load()
	st.RateLimited, st.Replayed = s.rateLimited.Load(), s.replayed.Load()
	t := s.hooks.Tally()
	st.Dropped, st.DeliveryAttempts, st.Acknowledged = t.Dropped, t.Attempts, t.Acknowledged
	return st
}

func (s *Sandbox) counted(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		s.requests.Add(1)
		next.ServeHTTP(w, r)
	})
}

func (s *Sandbox) authenticated(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if !equalSecret(r.Header.Get(HeaderAPIKey), s.opts.APIKey) {
			s.unauthorized.Add(1)
			writeError(w, http.StatusUnauthorized, "unauthenticated", "Unauthenticated.", nil)
			return
		}
		next.ServeHTTP(w, r)
	})
}

func (s *Sandbox) limited(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if b := s.limit.Load(); b != nil {
			if wait := b.take(); wait > 0 {
				s.rateLimited.Add(1)
				w.Header().Set("Retry-After", strconv.Itoa(max(1, int(math.Ceil(wait.Seconds())))))
				writeError(w, http.StatusTooManyRequests, "too_many_requests", "Too Many Attempts.", nil)
				return
			}
		}
		next.ServeHTTP(w, r)
	})
}

// SetRateLimit changes the limit: perMinute requests a minute with bursts of burst (perMinute
// when burst <= 0); perMinute <= 0 removes the limit.
func (s *Sandbox) SetRateLimit(perMinute, burst int) {
	if perMinute <= 0 {
		s.limit.Store(nil)
		return
	}
	if burst <= 0 {
		burst = perMinute
	}
	s.limit.Store(newBucket(perMinute, burst, s.opts.Now))
}

// bucket is a token bucket: burst tokens, refilled at perMinute a minute.
type bucket struct {
	mu     sync.Mutex
	now    func() time.Time
	rate   float64 // tokens per second
	burst  float64
	tokens float64
	last   time.Time
}

func newBucket(perMinute, burst int, now func() time.Time) *bucket {
	return &bucket{now: now, rate: float64(perMinute) / 60, burst: float64(burst), tokens: float64(burst), last: now()}
}

// take spends a token, or says how long until one is there.
func (b *bucket) take() time.Duration {
	b.mu.Lock()
	defer b.mu.Unlock()
	now := b.now()
	b.tokens = min(b.burst, b.tokens+now.Sub(b.last).Seconds()*b.rate)
	b.last = now
	if b.tokens >= 1 {
		b.tokens--
		return 0
	}
	return time.Duration((1 - b.tokens) / b.rate * float64(time.Second))
}

// WaitIdle waits until every webhook raised so far has been delivered, given up or dropped.
func (s *Sandbox) WaitIdle(ctx context.Context) error { return s.hooks.WaitIdle(ctx) }
