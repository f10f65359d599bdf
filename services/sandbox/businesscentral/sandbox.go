// Package businesscentral emulates a Dynamics 365 Business Central environment over the demo
// catalogue: the OData v4 API v2.0 (companies, items, customers, salesOrders with their lines
// and their shipped and invoiced quantities, deleted with If-Match,
// salesCreditMemos with their lines, subscriptions, JSON $batch with Isolation: snapshot) plus
// the Retailbridge returns extension's API pages (api/retailbridge/returns/v1.0: returnItems,
// returnOrders, returnReceipts, inventoryAdjustments, and the order-to-cash postings
// orderShipments and orderInvoices) for what API v2.0 does not expose. It
// issues OAuth 2.0 client-credentials tokens at a Microsoft Entra style token endpoint and
// checks them, answers updates without a matching If-Match with 412, refuses requests beyond the
// 6,000-per-5-minutes window and the concurrency limit with 429 and Retry-After, answers 503
// during maintenance windows, and performs the webhook subscription handshake and notifications.
// Tests and `retailbridge dev` point the Business Central connector at it.
package businesscentral

import (
	"bytes"
	"math"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/retailbridge/retailbridge/services/sandbox/demo"
	"github.com/retailbridge/retailbridge/services/sandbox/faults"
	"github.com/retailbridge/retailbridge/services/sandbox/state"
)

// Development identities, used for any Options field left empty. They guard nothing: the
// sandbox serves generated data only.
const (
	DevTenant       = "00000000-0000-4000-8000-00000000b0c1"
	DevEnvironment  = "sandbox"
	DevCompanyID    = "00000000-0000-4000-8000-0000000c0001"
	DevClientID     = "sandbox-client-id"
	DevClientSecret = "sandbox-client-secret"
)

// Defaults of the service's limits (Business Central online's operational limits).
const (
	DefaultRateLimit        = 6000
	DefaultRateWindow       = 5 * time.Minute
	DefaultConcurrencyLimit = 100
	// DefaultSubscriptionTTL is how long a webhook subscription lives unless renewed.
	DefaultSubscriptionTTL = 72 * time.Hour
)

// Options configure a Sandbox.
type Options struct {
	// Tenant and Environment are the path segments of the API root (/v2.0/{tenant}/{environment}/api).
	Tenant, Environment string
	// CompanyID is the one company's id.
	CompanyID string
	// ClientID and ClientSecret are the app registration the token endpoint accepts.
	ClientID, ClientSecret string
	// RateLimit requests per RateWindow per client (DefaultRateLimit per DefaultRateWindow when zero).
	RateLimit  int
	RateWindow time.Duration
	// ConcurrencyLimit is how many requests the environment serves at once for the client.
	ConcurrencyLimit int
	// TokenTTL is how long an access token is valid (an hour when zero).
	TokenTTL time.Duration
	// SubscriptionTTL is a webhook subscription's life (DefaultSubscriptionTTL when zero).
	SubscriptionTTL time.Duration
	// NotificationDelay is how long changes are gathered before they are notified (30 s, as
	// Business Central online waits, when zero).
	NotificationDelay time.Duration
	// CollectionThreshold is how many changes to one subscription's entities within a delay turn
	// into a single "collection" notification (1,000 when zero).
	CollectionThreshold int
	// NotificationClient delivers handshakes and notifications (http.DefaultClient when nil).
	NotificationClient *http.Client
	// Now is the sandbox clock (time.Now when nil).
	Now func() time.Time
	// Seed drives the fault knobs' random source.
	Seed uint64
	// StateDir keeps the company's documents and subscriptions in StateDir/businesscentral.json
	// across restarts; empty keeps them in memory only.
	StateDir string
}

// Stats counts what the sandbox answered.
type Stats struct {
	Requests     int64 `json:"requests"`
	Refused      int64 `json:"refused"`
	RateLimited  int64 `json:"rate_limited"`
	Unauthorized int64 `json:"unauthorized"`
	Maintenance  int64 `json:"maintenance"`
	MaxInFlight  int64 `json:"max_in_flight"`
	Tokens       int64 `json:"tokens"`
	Batches      int64 `json:"batches"`
	Conflicts    int64 `json:"conflicts"`
	// Created counts documents created, by entity set (returnOrders, salesCreditMemos, …).
	Created map[string]int64 `json:"created"`
	// Notifications counts notification POSTs answered 2xx by subscribers.
	Notifications int64 `json:"notifications"`
}

// Sandbox is an emulated Business Central environment. It is an http.Handler.
type Sandbox struct {
	opts   Options
	faults *faults.Faults
	ledger *ledger
	tokens *tokenStore
	rate   *slidingWindow
	subs   *subscriptions

	api http.Handler

	limit       atomic.Int64
	writeDelay  atomic.Int64
	inFlight    atomic.Int64
	maxInFlight atomic.Int64

	requests, refused, rateLimited, unauthorized, inMaintenance, tokensIssued atomic.Int64

	mu          sync.Mutex
	maintenance bool
	retryAfter  time.Duration
}

// New is Open that panics on a state error.
func New(ds *demo.Dataset, opts Options) *Sandbox {
	s, err := Open(ds, opts)
	if err != nil {
		panic(err)
	}
	return s
}

// Open returns a sandbox serving ds; documents and subscriptions a previous run left in
// opts.StateDir are restored.
func Open(ds *demo.Dataset, opts Options) (*Sandbox, error) {
	opts = withDefaults(opts)
	f, err := state.Open(opts.StateDir, "businesscentral")
	if err != nil {
		return nil, err
	}
	l, err := newLedger(ds, opts.Now, f)
	if err != nil {
		return nil, err
	}
	s := &Sandbox{
		opts: opts, faults: faults.New(opts.Seed), ledger: l,
		tokens: newTokenStore(opts.Now),
		rate:   &slidingWindow{limit: opts.RateLimit, window: opts.RateWindow, now: opts.Now},
	}
	s.subs = newSubscriptions(s)
	s.limit.Store(int64(opts.ConcurrencyLimit))
	// Maintenance answers before anything else, as the service is not serving at all; the
	// concurrency limit wraps the fault knobs so injected latency occupies a slot.
	s.api = s.counted(s.duringMaintenance(s.authenticated(s.windowed(s.governed(s.faults.Middleware(http.HandlerFunc(s.route)))))))
	return s, nil
}

func withDefaults(o Options) Options {
	def := func(v *string, d string) {
		if *v == "" {
			*v = d
		}
	}
	def(&o.Tenant, DevTenant)
	def(&o.Environment, DevEnvironment)
	def(&o.CompanyID, DevCompanyID)
	def(&o.ClientID, DevClientID)
	def(&o.ClientSecret, DevClientSecret)
	if o.RateLimit <= 0 {
		o.RateLimit = DefaultRateLimit
	}
	if o.RateWindow <= 0 {
		o.RateWindow = DefaultRateWindow
	}
	if o.ConcurrencyLimit <= 0 {
		o.ConcurrencyLimit = DefaultConcurrencyLimit
	}
	if o.TokenTTL <= 0 {
		o.TokenTTL = time.Hour
	}
	if o.SubscriptionTTL <= 0 {
		o.SubscriptionTTL = DefaultSubscriptionTTL
	}
	if o.NotificationDelay <= 0 {
		o.NotificationDelay = 30 * time.Second
	}
	if o.CollectionThreshold <= 0 {
		o.CollectionThreshold = 1000
	}
	if o.NotificationClient == nil {
		o.NotificationClient = http.DefaultClient
	}
	if o.Now == nil {
		o.Now = time.Now
	}
	return o
}

// TokenPath is the token endpoint's path, as on login.microsoftonline.com.
func (s *Sandbox) TokenPath() string { return "/" + s.opts.Tenant + "/oauth2/v2.0/token" }

// APIRoot is the path every API URL starts with.
func (s *Sandbox) APIRoot() string {
	return "/v2.0/" + s.opts.Tenant + "/" + s.opts.Environment + "/api/"
}

// Options returns the options in force, defaults filled in.
func (s *Sandbox) Options() Options { return s.opts }

// ServeHTTP serves the token endpoint, the API and the fault knobs at /_sandbox/faults.
func (s *Sandbox) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	switch {
	case r.URL.Path == s.TokenPath():
		s.serveToken(w, r)
	case r.URL.Path == "/_sandbox/faults":
		s.faults.Middleware(http.NotFoundHandler()).ServeHTTP(w, r)
	case strings.HasPrefix(r.URL.Path, s.APIRoot()):
		s.api.ServeHTTP(w, r)
	default:
		writeError(w, http.StatusNotFound, "BadRequest_NotFound", "No HTTP resource was found that matches the request URI.")
	}
}

// Faults returns the fault knobs (latency, error rate, down).
func (s *Sandbox) Faults() *faults.Faults { return s.faults }

// Close stops the subscription deliveries under way.
func (s *Sandbox) Close() { s.subs.close() }

// SetConcurrencyLimit changes how many requests are served at once; n <= 0 restores the default.
func (s *Sandbox) SetConcurrencyLimit(n int) {
	if n <= 0 {
		n = DefaultConcurrencyLimit
	}
	s.limit.Store(int64(n))
}

// SetRateLimit changes the request window: limit requests per window.
func (s *Sandbox) SetRateLimit(limit int, window time.Duration) { s.rate.set(limit, window) }

// SetMaintenance starts or ends a maintenance window announced with retryAfter.
func (s *Sandbox) SetMaintenance(on bool, retryAfter time.Duration) {
	s.mu.Lock()
	s.maintenance, s.retryAfter = on, retryAfter
	s.mu.Unlock()
}

// SetWriteDelay holds the answer to every successful write for d after the write committed, so
// a client whose deadline is shorter loses the answer to a write that happened.
func (s *Sandbox) SetWriteDelay(d time.Duration) { s.writeDelay.Store(int64(max(d, 0))) }

// Stats returns the counters.
func (s *Sandbox) Stats() Stats {
	created, conflicts, batches := s.ledger.counters()
	return Stats{
		Requests: s.requests.Load(), Refused: s.refused.Load(), RateLimited: s.rateLimited.Load(),
		Unauthorized: s.unauthorized.Load(), Maintenance: s.inMaintenance.Load(), MaxInFlight: s.maxInFlight.Load(),
		Tokens: s.tokensIssued.Load(), Batches: batches, Conflicts: conflicts, Created: created,
		Notifications: s.subs.delivered.Load(),
	}
}

func (s *Sandbox) counted(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		s.requests.Add(1)
		next.ServeHTTP(w, r)
	})
}

func (s *Sandbox) duringMaintenance(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		s.mu.Lock()
		on, after := s.maintenance, s.retryAfter
		s.mu.Unlock()
		if !on {
			next.ServeHTTP(w, r)
			return
		}
		s.inMaintenance.Add(1)
		w.Header().Set("Retry-After", strconv.Itoa(max(1, int(math.Ceil(after.Seconds())))))
		writeError(w, http.StatusServiceUnavailable, "ServiceUnavailable",
			"The environment is being updated. Try again later.")
	})
}

func (s *Sandbox) authenticated(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		tok, ok := strings.CutPrefix(r.Header.Get("Authorization"), "Bearer ")
		if !ok || !s.tokens.valid(tok) {
			s.unauthorized.Add(1)
			w.Header().Set("WWW-Authenticate", `Bearer realm="", error="invalid_token"`)
			writeError(w, http.StatusUnauthorized, "Authentication_InvalidCredentials",
				"The server has rejected the client credentials.")
			return
		}
		next.ServeHTTP(w, r)
	})
}

// rateLimited enforces the per-client request window: a request beyond it is refused with 429
// and a Retry-After saying when the oldest request in the window leaves it.
func (s *Sandbox) windowed(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if wait, ok := s.rate.take(); !ok {
			s.rateLimited.Add(1)
			w.Header().Set("Retry-After", strconv.Itoa(max(1, int(math.Ceil(wait.Seconds())))))
			writeError(w, http.StatusTooManyRequests, "Application_TooManyRequests",
				"Too many requests reached. Actual (6001). Maximum (6000).")
			return
		}
		next.ServeHTTP(w, r)
	})
}

// governed enforces the concurrency limit: an excess request is refused at once with 429. The
// answer is held back until the slot is released, so a client that reads a response and then
// sends the next request is never counted twice.
func (s *Sandbox) governed(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		n := s.inFlight.Add(1)
		for peak := s.maxInFlight.Load(); n > peak && !s.maxInFlight.CompareAndSwap(peak, n); {
			peak = s.maxInFlight.Load()
		}
		if n > s.limit.Load() {
			s.inFlight.Add(-1)
			s.refused.Add(1)
			writeError(w, http.StatusTooManyRequests, "Application_TooManyRequests",
				"The maximum number of concurrent requests was reached.")
			return
		}
		held := &heldResponse{w: w}
		func() {
			defer s.inFlight.Add(-1)
			next.ServeHTTP(held, r)
		}()
		held.release()
	})
}

// heldResponse buffers an answer until release.
type heldResponse struct {
	w      http.ResponseWriter
	status int
	body   bytes.Buffer
}

func (h *heldResponse) Header() http.Header { return h.w.Header() }

func (h *heldResponse) WriteHeader(status int) {
	if h.status == 0 {
		h.status = status
	}
}

func (h *heldResponse) Write(b []byte) (int, error) {
	if h.status == 0 {
		h.status = http.StatusOK
	}
	return h.body.Write(b)
}

func (h *heldResponse) release() {
	if h.status == 0 {
		return // the client went away
	}
	h.w.WriteHeader(h.status)
	_, _ = h.w.Write(h.body.Bytes())
}

// slidingWindow counts requests in the last window.
type slidingWindow struct {
	mu     sync.Mutex
	limit  int
	window time.Duration
	now    func() time.Time
	times  []time.Time
}

func (w *slidingWindow) set(limit int, window time.Duration) {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.limit, w.window, w.times = limit, window, nil
}

// take admits one request, or says how long until one would be admitted.
func (w *slidingWindow) take() (time.Duration, bool) {
	w.mu.Lock()
	defer w.mu.Unlock()
	now := w.now()
	i := 0
	for i < len(w.times) && now.Sub(w.times[i]) >= w.window {
		i++
	}
	w.times = w.times[i:]
	if len(w.times) >= w.limit {
		return w.times[0].Add(w.window).Sub(now), false
	}
	w.times = append(w.times, now)
	return 0, true
}
