// Package warehouse emulates a 3PL warehouse's REST API (the EDI X12 channel comes later): advance
// notices of inbound returns, their receipts and inspections, shipping orders acknowledged after a
// configurable delay and then shipped, and stock positions per location and state. It sends
// signed webhooks — receipt.created, inspection.completed, shipment.acknowledged and
// shipment.shipped — retried on non-2xx answers and, on purpose, duplicated, delayed, reordered or
// dropped (DeliverySettings).
//
// By default the sandbox auto-progresses: an expected return is received after a delay and
// inspected after another, each line's condition (resellable, damaged, wrong_or_missing) chosen by
// seeded rules with configurable shares; a shipping order is acknowledged after the
// acknowledgement delay (never, when it is negative: FM-4's delayed warehouse acknowledgement) and
// shipped after the ship delay. Tests drive every step through Go methods or the control API under
// /_sandbox/warehouse, and inject HTTP faults through /_sandbox/faults.
//
// # API
//
// JSON over HTTPS, "Authorization: Bearer <API key>":
//
//	POST /v1/inbound/returns        announce an expected return (idempotent by reference)
//	GET  /v1/inbound/returns/{id}   the receipt: expected → received → inspected, with conditions
//	POST /v1/outbound/orders        a shipping order (idempotent by reference)
//	GET  /v1/outbound/orders/{id}   its progress: open → acknowledged → shipped
//	GET  /v1/inventory              positions; filters sku and location_id (repeatable),
//	                                page_size (≤ 500) and page_token
//
// Creates also honour an Idempotency-Key header. Errors are {"error": {"code", "message",
// "details": [{"field", "issue"}]}}.
//
// # Webhooks
//
// POSTed as {"id": <delivery id>, "topic": …, "created_at": …, "data": <receipt or order>} with
//
//	X-Warehouse-Signature: t=<unix seconds>,v1=<hex HMAC-SHA256(secret, "<t>.<raw body>")>
//	X-Warehouse-Delivery-Id: <delivery id>     (repeated by every copy and retry)
//	X-Warehouse-Topic: <topic>
//
// The timestamp is taken at each attempt, so receivers reject deliveries whose signature is older
// than their tolerance (DefaultSignatureTolerance) as replays.
package warehouse

import (
	"context"
	"net/http"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/retailbridge/retailbridge/services/sandbox/demo"
	"github.com/retailbridge/retailbridge/services/sandbox/faults"
	"github.com/retailbridge/retailbridge/services/sandbox/recent"
	"github.com/retailbridge/retailbridge/services/sandbox/state"
	"github.com/retailbridge/retailbridge/services/sandbox/webhooks"
)

// Development credentials, used for Options left empty. They guard nothing: the sandbox holds
// generated data only.
const (
	DevAPIKey        = "warehouse-sandbox-api-key"
	DevWebhookSecret = "warehouse-sandbox-webhook-secret"
)

// Header names.
const (
	// HeaderSignature is "t=<unix>,v1=<hex HMAC-SHA256(secret, "<t>.<raw body>")>".
	HeaderSignature = "X-Warehouse-Signature"
	// HeaderDeliveryID identifies one webhook; its copies and retries repeat it. The body's id
	// carries the same value under the signature.
	HeaderDeliveryID = "X-Warehouse-Delivery-Id"
	// HeaderTopic repeats the body's topic.
	HeaderTopic = "X-Warehouse-Topic"
	// HeaderIdempotencyKey makes a create repeatable.
	HeaderIdempotencyKey = "Idempotency-Key"
)

// DefaultLocations are the warehouse's sites.
var DefaultLocations = []string{"dc-east", "dc-west"}

// Delays are the simulated durations of auto-progress. A zero field takes its default; a
// negative one means the step never happens by itself (drive it from the control API).
type Delays struct {
	// Receive is from the advance notice to the parcel's receipt (default 5s).
	Receive time.Duration `json:"receive"`
	// Inspect is from receipt to inspection (default 3s).
	Inspect time.Duration `json:"inspect"`
	// Acknowledge is from a shipping order to its acknowledgement (default 2s).
	Acknowledge time.Duration `json:"acknowledge"`
	// Ship is from acknowledgement to shipping (default 5s).
	Ship time.Duration `json:"ship"`
}

// DefaultDelays receive and inspect a return in eight seconds, ship an order in seven.
var DefaultDelays = Delays{Receive: 5 * time.Second, Inspect: 3 * time.Second, Acknowledge: 2 * time.Second, Ship: 5 * time.Second}

func (d Delays) withDefaults() Delays {
	def := func(v *time.Duration, dv time.Duration) {
		if *v == 0 {
			*v = dv
		}
	}
	def(&d.Receive, DefaultDelays.Receive)
	def(&d.Inspect, DefaultDelays.Inspect)
	def(&d.Acknowledge, DefaultDelays.Acknowledge)
	def(&d.Ship, DefaultDelays.Ship)
	return d
}

// Outcomes are the shares of inspection conditions; they need not add up to one. All zero means
// DefaultOutcomes.
type Outcomes struct {
	Resellable     float64 `json:"resellable"`
	Damaged        float64 `json:"damaged"`
	WrongOrMissing float64 `json:"wrong_or_missing"`
}

// DefaultOutcomes find most returns resellable.
var DefaultOutcomes = Outcomes{Resellable: 0.8, Damaged: 0.15, WrongOrMissing: 0.05}

func (o Outcomes) withDefaults() Outcomes {
	if o.Resellable <= 0 && o.Damaged <= 0 && o.WrongOrMissing <= 0 {
		return DefaultOutcomes
	}
	o.Resellable, o.Damaged, o.WrongOrMissing = max(o.Resellable, 0), max(o.Damaged, 0), max(o.WrongOrMissing, 0)
	return o
}

// Options configure a Sandbox.
type Options struct {
	// APIKey is the bearer token the API accepts (DevAPIKey when empty).
	APIKey string
	// WebhookURL receives the webhooks; without one they are recorded and not sent.
	WebhookURL string
	// WebhookSecret signs the webhooks (DevWebhookSecret when empty).
	WebhookSecret string
	// Manual turns auto-progress off.
	Manual bool
	// Delays are the auto-progress durations.
	Delays Delays
	// Outcomes are the inspection shares.
	Outcomes Outcomes
	// Delivery are the webhook delivery knobs.
	Delivery DeliverySettings
	// Locations are the warehouse's sites (DefaultLocations when empty).
	Locations []string
	// HTTPClient sends the webhooks (a client with DefaultDeliveryTimeout when nil).
	HTTPClient *http.Client
	// Now is the clock for timestamps and signatures (time.Now when nil).
	Now func() time.Time
	// Seed drives the stock, the inspection outcomes, tracking numbers and the knobs' random
	// sources.
	Seed uint64
	// StateDir keeps the warehouse (receipts, orders, stock, claimed references and keys, the id
	// counter) in StateDir/warehouse.json across restarts; empty keeps it in memory only. Use
	// Open with it.
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
	if len(o.Locations) == 0 {
		o.Locations = DefaultLocations
	}
	if o.Now == nil {
		o.Now = time.Now
	}
	o.Delays = o.Delays.withDefaults()
	o.Outcomes = o.Outcomes.withDefaults()
	if o.IdempotencyKeys <= 0 {
		o.IdempotencyKeys = maxIdempotencyKeys
	}
	return o
}

// Stats counts what the sandbox saw and did.
type Stats struct {
	// Requests is how many API requests arrived (control endpoints excluded).
	Requests int64 `json:"requests"`
	// Unauthorized is how many were refused for a missing or wrong key.
	Unauthorized int64 `json:"unauthorized"`
	// ReceiptsCreated and OrdersCreated count side effects; repeats do not count.
	ReceiptsCreated int64 `json:"receipts_created"`
	OrdersCreated   int64 `json:"orders_created"`
	// Replayed is how many creates were answered with an earlier result.
	Replayed int64 `json:"replayed"`
	// Webhooks is how many webhooks were raised; Dropped how many of them the knob lost.
	Webhooks int64 `json:"webhooks"`
	Dropped  int64 `json:"dropped"`
	// DeliveryAttempts is how many webhook HTTP requests were made, copies and retries included.
	DeliveryAttempts int64 `json:"delivery_attempts"`
	// Acknowledged is how many copies the receiver answered 2xx.
	Acknowledged int64 `json:"acknowledged"`
}

// Sandbox is an emulated warehouse. It is an http.Handler and safe for concurrent use. Call
// Close to stop its timers and webhook deliveries.
type Sandbox struct {
	opts   Options
	faults *faults.Faults
	hooks  *webhooks.Dispatcher
	state  *state.File // nil: nothing is kept across restarts

	api     http.Handler
	control http.Handler

	requests, unauthorized, replayed atomic.Int64

	mu         sync.Mutex
	closed     bool
	manual     bool
	delays     Delays
	outcomes   Outcomes
	secret     string
	seq        int64
	receipts   map[string]*receiptRec
	orders     map[string]*orderRec
	byRef      map[string]refRec    // "<kind> <reference>" → the create that claimed it
	idem       *recent.Map[idemRec] // "<kind> <key>" → the object created, the latest maxIdempotencyKeys
	stock      *stock
	timers     map[string]*timer
	tracking   *trackingNumbers
	created    struct{ receipts, orders, webhooks, movements int64 }
	receiptSeq []string // receipt ids, oldest first
	orderSeq   []string
}

// New returns a warehouse stocking ds's catalogue (gift cards excepted) at every location. ds
// may be nil for an empty warehouse. It panics when opts.StateDir is set and the state cannot be
// read; Open returns that error instead.
func New(ds *demo.Dataset, opts Options) *Sandbox {
	s, err := Open(ds, opts)
	if err != nil {
		panic(err)
	}
	return s
}

// Open is New for a warehouse that keeps its state in opts.StateDir: the warehouse a previous
// run left there is restored, its parcels under way resume, and the stock is generated only when
// there is none.
func Open(ds *demo.Dataset, opts Options) (*Sandbox, error) {
	opts = withDefaults(opts)
	s := &Sandbox{
		opts: opts, faults: faults.New(opts.Seed), manual: opts.Manual, delays: opts.Delays,
		outcomes: opts.Outcomes, secret: opts.WebhookSecret,
		receipts: map[string]*receiptRec{}, orders: map[string]*orderRec{}, byRef: map[string]refRec{},
		idem: recent.New[idemRec](opts.IdempotencyKeys), timers: map[string]*timer{}, tracking: newTrackingNumbers(opts.Seed),
	}
	s.stock = newStock(ds, opts.Locations, opts.Seed, s.now())
	s.hooks = webhooks.New(webhooks.Config{Client: opts.HTTPClient, URL: opts.WebhookURL, Settings: opts.Delivery,
		Seed: opts.Seed, Now: opts.Now, Sign: s.signHeaders, OnSettled: s.persistSettled})
	s.api = s.counted(s.faults.Middleware(s.authenticated(s.routes())))
	s.control = s.controlRoutes()
	f, err := state.Open(opts.StateDir, "warehouse")
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

// ServeHTTP serves the API, the control API at /_sandbox/warehouse/… and the fault knobs at
// /_sandbox/faults.
func (s *Sandbox) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	switch {
	case r.URL.Path == "/_sandbox/faults":
		s.faults.Middleware(http.NotFoundHandler()).ServeHTTP(w, r)
	case strings.HasPrefix(r.URL.Path, controlPrefix):
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
	st := Stats{ReceiptsCreated: s.created.receipts, OrdersCreated: s.created.orders, Webhooks: s.created.webhooks}
	s.mu.Unlock()
	st.Requests, st.Unauthorized, st.Replayed = s.requests.Load(), s.unauthorized.Load(), s.replayed.Load()
	t := s.hooks.Tally()
	st.Dropped, st.DeliveryAttempts, st.Acknowledged = t.Dropped, t.Attempts, t.Acknowledged
	return st
}

// WaitIdle waits until every webhook raised so far has been delivered, given up or dropped.
func (s *Sandbox) WaitIdle(ctx context.Context) error { return s.hooks.WaitIdle(ctx) }

func (s *Sandbox) now() time.Time { return s.opts.Now().UTC().Truncate(time.Second) }

func (s *Sandbox) counted(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		s.requests.Add(1)
		next.ServeHTTP(w, r)
	})
}

func (s *Sandbox) authenticated(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		token, ok := strings.CutPrefix(r.Header.Get("Authorization"), "Bearer ")
		if !ok || !equalSecret(token, s.opts.APIKey) {
			s.unauthorized.Add(1)
			w.Header().Set("WWW-Authenticate", `Bearer realm="warehouse"`)
			writeError(w, http.StatusUnauthorized, "unauthorized", "A valid API key is required.", nil)
			return
		}
		next.ServeHTTP(w, r)
	})
}

// startTimerLocked runs f under the lock after d, unless the timer is stopped or replaced
// first, the sandbox closes or auto-progress is turned off.
func (s *Sandbox) startTimerLocked(name string, d time.Duration, f func()) {
	s.stopTimerLocked(name)
	t := &timer{}
	s.timers[name] = t
	t.t = time.AfterFunc(d, func() {
		s.mu.Lock()
		defer s.mu.Unlock()
		if s.timers[name] != t { // stopped or replaced while this one was firing
			return
		}
		delete(s.timers, name)
		if !s.closed && !s.manual {
			f()
			// Nobody waits for a timer's answer: a write that fails is retried with the next change.
			_ = s.persistLocked()
		}
	})
}

func (s *Sandbox) stopTimerLocked(name string) {
	if t, ok := s.timers[name]; ok {
		t.t.Stop()
		delete(s.timers, name)
	}
}

type timer struct{ t *time.Timer }
