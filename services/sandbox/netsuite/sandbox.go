// Package netsuite emulates the NetSuite REST record service over the demo catalogue: inventory
// item records with Retailbridge's return-policy custom fields; the transactions of the
// return-to-refund flow (sales orders booked from the demo orders, return authorisations
// transformed from them, item receipts and credit memos transformed from those, inventory
// adjustments) with NetSuite's status transitions; the async service with idempotency keys;
// OAuth 1.0 token-based authentication checked for real; account concurrency governance that
// refuses excess requests with 429; and planned maintenance windows. Tests and `retailbridge dev`
// point the ERP connector at it instead of a NetSuite account.
package netsuite

import (
	"bufio"
	"bytes"
	"encoding/json"
	"errors"
	"math"
	"net"
	"net/http"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"github.com/retailbridge/retailbridge/services/sandbox/demo"
	"github.com/retailbridge/retailbridge/services/sandbox/faults"
	"github.com/retailbridge/retailbridge/services/sandbox/state"
)

// DefaultConcurrencyLimit is NetSuite's base account limit (one service tier, no SuiteCloud Plus).
const DefaultConcurrencyLimit = 15

// Development credentials, used for any Options field left empty. They guard nothing: the
// sandbox serves generated data only.
const (
	DevAccount        = "1234567_SB1"
	DevConsumerKey    = "sandbox-consumer-key"
	DevConsumerSecret = "sandbox-consumer-secret"
	DevTokenID        = "sandbox-token-id"
	DevTokenSecret    = "sandbox-token-secret"
)

// Options configure a Sandbox.
type Options struct {
	// Account is the NetSuite account id, expected as the OAuth realm (DevAccount when empty).
	Account string
	// ConsumerKey and ConsumerSecret identify the integration record (Dev… values when empty).
	ConsumerKey, ConsumerSecret string
	// TokenID and TokenSecret identify the access token (Dev… values when empty).
	TokenID, TokenSecret string
	// ConcurrencyLimit is how many requests the account serves at once (DefaultConcurrencyLimit
	// when zero or negative).
	ConcurrencyLimit int
	// Now is the clock OAuth timestamps are checked against (time.Now when nil).
	Now func() time.Time
	// Seed drives the fault knobs' random source.
	Seed uint64
	// AsyncDelay is how long an asynchronous job reports itself pending before its outcome can be
	// read; zero completes jobs at once.
	AsyncDelay time.Duration
	// StateDir keeps the account's transactions and asynchronous jobs in StateDir/netsuite.json
	// across restarts; empty keeps them in memory only. The dataset must be the one the state was
	// kept for (demo.Open). Use Open with it.
	StateDir string
}

// Stats counts what the sandbox answered.
type Stats struct {
	// Requests is how many API requests arrived (control endpoints excluded).
	Requests int64 `json:"requests"`
	// Refused is how many were answered 429 SSS_REQUEST_LIMIT_EXCEEDED.
	Refused int64 `json:"refused"`
	// Unauthorized is how many were answered 401 INVALID_LOGIN.
	Unauthorized int64 `json:"unauthorized"`
	// Maintenance is how many were answered 503 during a maintenance window.
	Maintenance int64 `json:"maintenance"`
	// MaxInFlight is the most requests ever in progress at once, counting the ones refused:
	// a client that respects the limit never pushes it past ConcurrencyLimit.
	MaxInFlight int64 `json:"max_in_flight"`
	// BusyNanos is the time admitted requests spent in progress, summed: over a period, ÷ the
	// concurrency limit × the period, how busy the account's request slots were.
	BusyNanos int64 `json:"busy_nanos"`
	// Created counts the records writes created, by record type (returnAuthorization, …).
	Created map[string]int64 `json:"created"`
	// IdempotentRepeats is how many asynchronous writes named an idempotency key already used,
	// and so created nothing.
	IdempotentRepeats int64 `json:"idempotent_repeats"`
}

// Sandbox is an emulated NetSuite account. It is an http.Handler and safe for concurrent use.
type Sandbox struct {
	opts   Options
	faults *faults.Faults
	items  []demo.Item
	byID   map[string]int
	bySKU  map[string]int
	asOf   time.Time
	nonces nonceCache
	ledger *ledger

	api     http.Handler
	soap    http.Handler
	control http.Handler

	limit       atomic.Int64
	asyncDelay  atomic.Int64 // nanoseconds
	inFlight    atomic.Int64
	maxInFlight atomic.Int64
	busyNanos   atomic.Int64

	requests, refused, unauthorized, inMaintenance atomic.Int64

	mu          sync.Mutex
	maintenance bool
	retryAfter  time.Duration
}

// New returns a sandbox serving ds.Items as inventory items. It indexes ds.Items itself, so a
// test may extend the catalogue before calling New. It panics when opts.StateDir is set and the
// state cannot be read; Open returns that error instead.
func New(ds *demo.Dataset, opts Options) *Sandbox {
	s, err := Open(ds, opts)
	if err != nil {
		panic(err)
	}
	return s
}

// Open is New for an account that keeps its transactions in opts.StateDir: the records and jobs
// a previous run left there are restored on top of the sales orders ds implies.
func Open(ds *demo.Dataset, opts Options) (*Sandbox, error) {
	opts = withDefaults(opts)
	s := &Sandbox{
		opts:   opts,
		faults: faults.New(opts.Seed),
		items:  ds.Items,
		byID:   make(map[string]int, len(ds.Items)),
		bySKU:  make(map[string]int, len(ds.Items)),
		asOf:   ds.Now.UTC().Truncate(time.Second),
		nonces: nonceCache{window: 2 * maxClockSkew},
		ledger: newLedger(ds),
	}
	for i, it := range ds.Items {
		s.byID[it.ERPID] = i
		s.bySKU[it.SKU] = i
	}
	s.limit.Store(int64(opts.ConcurrencyLimit))
	s.asyncDelay.Store(int64(opts.AsyncDelay))
	// Governance wraps the fault knobs so injected latency occupies a slot, as a slow NetSuite
	// request would; maintenance answers before governance, as the account is not serving at all.
	s.api = s.counted(s.duringMaintenance(s.governed(s.faults.Middleware(s.authenticated(http.HandlerFunc(s.route))))))
	s.soap = s.soapHandler()
	s.control = s.faults.Middleware(http.NotFoundHandler())
	f, err := state.Open(opts.StateDir, "netsuite")
	if err != nil {
		return nil, err
	}
	if _, err := s.ledger.load(f); err != nil {
		return nil, err
	}
	s.ledger.mu.Lock()
	defer s.ledger.mu.Unlock()
	s.ledger.state = f
	if err := s.ledger.persistLocked(); err != nil {
		return nil, err
	}
	return s, nil
}

func withDefaults(o Options) Options {
	def := func(v *string, d string) {
		if *v == "" {
			*v = d
		}
	}
	def(&o.Account, DevAccount)
	def(&o.ConsumerKey, DevConsumerKey)
	def(&o.ConsumerSecret, DevConsumerSecret)
	def(&o.TokenID, DevTokenID)
	def(&o.TokenSecret, DevTokenSecret)
	if o.ConcurrencyLimit <= 0 {
		o.ConcurrencyLimit = DefaultConcurrencyLimit
	}
	if o.Now == nil {
		o.Now = time.Now
	}
	return o
}

// ServeHTTP serves the REST record service, the fault knobs at /_sandbox/faults and the
// governance knobs at /_sandbox/netsuite.
func (s *Sandbox) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	switch r.URL.Path {
	case "/_sandbox/netsuite":
		s.serveControl(w, r)
	case "/_sandbox/faults":
		s.control.ServeHTTP(w, r)
	case SOAPPath:
		s.soap.ServeHTTP(w, r)
	default:
		s.api.ServeHTTP(w, r)
	}
}

// Faults returns the fault knobs (latency, error rate, down) and the request recorder.
func (s *Sandbox) Faults() *faults.Faults { return s.faults }

// SetConcurrencyLimit changes the account's concurrency limit; n <= 0 restores the default.
func (s *Sandbox) SetConcurrencyLimit(n int) {
	if n <= 0 {
		n = DefaultConcurrencyLimit
	}
	s.limit.Store(int64(n))
}

// SetMaintenance starts or ends a maintenance window. While it is on every API request is
// answered 503 with Retry-After (whole seconds, at least one).
func (s *Sandbox) SetMaintenance(on bool, retryAfter time.Duration) {
	s.mu.Lock()
	s.maintenance, s.retryAfter = on, retryAfter
	s.mu.Unlock()
}

// SetAsyncDelay changes how long new asynchronous jobs stay pending.
func (s *Sandbox) SetAsyncDelay(d time.Duration) { s.asyncDelay.Store(int64(max(d, 0))) }

// Stats returns the counters.
func (s *Sandbox) Stats() Stats {
	s.ledger.mu.Lock()
	created := make(map[string]int64, len(s.ledger.created))
	for k, v := range s.ledger.created {
		created[k] = v
	}
	repeats := s.ledger.repeats
	s.ledger.mu.Unlock()
	return Stats{
		Requests:          s.requests.Load(),
		Refused:           s.refused.Load(),
		Unauthorized:      s.unauthorized.Load(),
		Maintenance:       s.inMaintenance.Load(),
		MaxInFlight:       s.maxInFlight.Load(),
		BusyNanos:         s.busyNanos.Load(),
		Created:           created,
		IdempotentRepeats: repeats,
	}
}

// SalesOrderID is the internal id of the sales order booked for a demo order (by the storefront
// order id, its external id).
func (s *Sandbox) SalesOrderID(orderID string) (string, bool) {
	s.ledger.mu.Lock()
	defer s.ledger.mu.Unlock()
	so, ok := s.ledger.soByExternal[orderID]
	if !ok {
		return "", false
	}
	return so.id, true
}

// Status is the status text of a transaction ("Pending Receipt", "Open", …), for tests that check
// what a write did to the account; false when there is no such record or it has no status.
func (s *Sandbox) Status(recordType, id string) (string, bool) {
	l := s.ledger
	l.mu.Lock()
	defer l.mu.Unlock()
	switch recordType {
	case TypeSalesOrder:
		if so, ok := l.salesOrders[id]; ok {
			return so.status.text, true
		}
	case TypeReturnAuthorization:
		if ra, ok := l.rmas[id]; ok {
			return ra.status().text, true
		}
	case TypeCreditMemo:
		if _, ok := l.memos[id]; ok {
			return cmOpen.text, true
		}
	}
	return "", false
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
		secs := max(1, int(math.Ceil(after.Seconds())))
		w.Header().Set("Retry-After", strconv.Itoa(secs))
		writeError(w, http.StatusServiceUnavailable, "SERVICE_UNAVAILABLE",
			"NetSuite is unavailable during scheduled maintenance. Try again later.")
	})
}

// governed enforces the account concurrency limit. An excess request is refused at once, never
// queued. The answer is held back until the slot is released, so a client that reads a response
// and then sends the next request can never be counted twice.
func (s *Sandbox) governed(next http.Handler) http.Handler {
	return s.governedBy(func(w http.ResponseWriter) {
		writeError(w, http.StatusTooManyRequests, "SSS_REQUEST_LIMIT_EXCEEDED",
			"Concurrent request limit exceeded. Request blocked.")
	}, next)
}

// governedBy is governed with refuse answering a refused request (REST's 429, SOAP's fault):
// REST and SOAP requests count against the one account limit.
func (s *Sandbox) governedBy(refuse func(http.ResponseWriter), next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		n := s.inFlight.Add(1)
		for peak := s.maxInFlight.Load(); n > peak && !s.maxInFlight.CompareAndSwap(peak, n); {
			peak = s.maxInFlight.Load()
		}
		if n > s.limit.Load() {
			s.inFlight.Add(-1)
			s.refused.Add(1)
			refuse(w)
			return
		}
		held := &heldResponse{w: w}
		start := time.Now()
		func() {
			defer s.inFlight.Add(-1)
			defer func() { s.busyNanos.Add(int64(time.Since(start))) }()
			next.ServeHTTP(held, r)
		}()
		held.release()
	})
}

func (s *Sandbox) authenticated(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if reason := s.authenticate(r); reason != "" {
			s.unauthorized.Add(1)
			// Real NetSuite says only "invalid login"; the sandbox also says why, for tests.
			w.Header().Set("X-Sandbox-Auth-Failure", reason)
			writeError(w, http.StatusUnauthorized, "INVALID_LOGIN", "Invalid login attempt. For more details, "+
				"see the Login Audit Trail in the NetSuite UI at Setup > Users/Roles > User Management > View Login Audit Trail.")
			return
		}
		next.ServeHTTP(w, r)
	})
}

// control is the JSON document of /_sandbox/netsuite.
type control struct {
	ConcurrencyLimit int           `json:"concurrency_limit"`
	Maintenance      bool          `json:"maintenance"`
	RetryAfter       time.Duration `json:"retry_after"`
	AsyncDelay       time.Duration `json:"async_delay"`
	Stats            *Stats        `json:"stats,omitempty"`
}

func (s *Sandbox) serveControl(w http.ResponseWriter, r *http.Request) {
	switch r.Method {
	case http.MethodGet:
	case http.MethodPut, http.MethodPost:
		var c control
		if err := json.NewDecoder(http.MaxBytesReader(w, r.Body, 1<<16)).Decode(&c); err != nil {
			http.Error(w, "bad settings: "+err.Error(), http.StatusBadRequest)
			return
		}
		s.SetConcurrencyLimit(c.ConcurrencyLimit)
		s.SetMaintenance(c.Maintenance, c.RetryAfter)
		s.SetAsyncDelay(c.AsyncDelay)
	default:
		w.WriteHeader(http.StatusMethodNotAllowed)
		return
	}
	st := s.Stats()
	s.mu.Lock()
	c := control{ConcurrencyLimit: int(s.limit.Load()), Maintenance: s.maintenance, RetryAfter: s.retryAfter,
		AsyncDelay: time.Duration(s.asyncDelay.Load()), Stats: &st}
	s.mu.Unlock()
	w.Header().Set("Content-Type", "application/json")
	_ = json.NewEncoder(w).Encode(c)
}

// heldResponse buffers an answer so it can be sent after the concurrency slot is released.
type heldResponse struct {
	w        http.ResponseWriter
	status   int
	body     bytes.Buffer
	hijacked bool
}

func (h *heldResponse) Header() http.Header { return h.w.Header() }

func (h *heldResponse) WriteHeader(status int) {
	if h.status == 0 {
		h.status = status
	}
}

func (h *heldResponse) Write(p []byte) (int, error) {
	h.WriteHeader(http.StatusOK)
	return h.body.Write(p)
}

// Hijack lets the fault knobs' "down" mode drop the connection.
func (h *heldResponse) Hijack() (net.Conn, *bufio.ReadWriter, error) {
	hj, ok := h.w.(http.Hijacker)
	if !ok {
		return nil, nil, errors.New("netsuite sandbox: connection cannot be hijacked")
	}
	h.hijacked = true
	return hj.Hijack()
}

func (h *heldResponse) release() {
	if h.hijacked || h.status == 0 {
		return // hijacked, or the client went away before an answer was written
	}
	h.w.Header().Set("Content-Length", strconv.Itoa(h.body.Len()))
	h.w.WriteHeader(h.status)
	_, _ = h.w.Write(h.body.Bytes())
}
