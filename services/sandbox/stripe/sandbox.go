// Package stripe emulates the parts of the Stripe API that Retailbridge uses: refunds, payment
// intents and charges, over the real paths with form-encoded bodies, Bearer secret-key
// authentication, Stripe-shaped JSON objects and Stripe's error documents. It keeps state: each
// demo order is a captured payment intent, refunds reduce what is left to refund, and a refund
// above the remainder is refused as Stripe refuses it. Idempotency keys behave as Stripe's do,
// including the 409 for a key whose first request is still running and replays of stored 500s.
//
// Besides the shared fault knobs (latency, injected errors, down), the sandbox can lose
// responses after committing — the refund is created and stored, then the connection is dropped
// without an answer — which is how a payment gateway's unknown outcome looks to a client.
//
// # Webhooks
//
// Once a webhook endpoint is set (Options.WebhookURL, SetWebhooks), the account sends Stripe
// events there: refund.created when the API creates a refund (a replayed answer creates nothing
// and sends nothing), refund.updated on every status change SetRefundStatus makes, and
// refund.failed as well when the refund failed. Each is an Event object — evt_ id, api_version,
// created, type, data.object the refund exactly as GET /v1/refunds/{id} shows it then,
// data.previous_attributes on updates, request naming the API request and idempotency key (null
// for changes Stripe makes by itself) — signed with Stripe-Signature "t=…,v1=…", one v1 per
// signing secret as while a secret is rolled, at every attempt. Delivery is the shared sandbox
// sender's (services/sandbox/webhooks): asynchronous, retried on non-2xx answers and timeouts
// with the same event id and body, and, by the delivery knobs, duplicated, late, reordered or
// lost, which is how Stripe's at-least-once delivery behaves. Without an endpoint no events are
// raised. Control endpoints under /_sandbox/stripe/webhooks list, flush and redeliver them.
package stripe

import (
	"encoding/json"
	"math/rand/v2"
	"net/http"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/retailbridge/retailbridge/services/sandbox/demo"
	"github.com/retailbridge/retailbridge/services/sandbox/faults"
	"github.com/retailbridge/retailbridge/services/sandbox/state"
	"github.com/retailbridge/retailbridge/services/sandbox/webhooks"
)

// DevSecretKey is the secret key the sandbox accepts when Options.SecretKey is empty. It guards
// nothing: the sandbox serves generated data only.
const DevSecretKey = "sk_test_retailbridge_sandbox"

// DefaultSeedAmount is what each extra seeded payment intent captured, in US cents.
const DefaultSeedAmount = 100_000

// IdempotencyTTL is how long a stored answer is replayed; Stripe prunes keys after 24 hours.
const IdempotencyTTL = 24 * time.Hour

// MaxIdempotencyKeyLen is Stripe's limit on an Idempotency-Key.
const MaxIdempotencyKeyLen = 255

// Refund statuses, as Stripe spells them.
const (
	StatusPending        = "pending"
	StatusRequiresAction = "requires_action"
	StatusSucceeded      = "succeeded"
	StatusFailed         = "failed"
	StatusCanceled       = "canceled"
)

// Options configure a Sandbox.
type Options struct {
	// SecretKey is the one API key the account accepts (DevSecretKey when empty).
	SecretKey string
	// SeedIntents adds this many captured USD payment intents, pi_seed_000001 onwards (see
	// SeedIntentID), to the demo orders' ones: enough refundable money for load tests.
	SeedIntents int
	// SeedAmount is what each extra intent captured, in cents (DefaultSeedAmount when zero).
	SeedAmount int64
	// WebhookURL is the account's webhook endpoint; without one no events are sent.
	WebhookURL string
	// WebhookSecrets are the endpoint's signing secrets, one v1 signature each
	// ([DevWebhookSecret] when empty). Two are what Stripe signs with while a secret is rolled.
	WebhookSecrets []string
	// Delivery are the webhook delivery knobs.
	Delivery DeliverySettings
	// HTTPClient sends the webhooks (a client with DefaultDeliveryTimeout when nil).
	HTTPClient *http.Client
	// Now is the clock for object and event timestamps, idempotency expiry and webhook signatures
	// (time.Now when nil).
	Now func() time.Time
	// Seed drives the fault and delivery knobs' random sources.
	Seed uint64
	// StateDir keeps the account (payments, refunds, idempotency records, id counters) in
	// StateDir/stripe.json across restarts; empty keeps it in memory only. Use Open with it.
	StateDir string
}

// Stats counts what the sandbox saw and did.
type Stats struct {
	// Requests is how many API requests arrived (control endpoints excluded).
	Requests int64 `json:"requests"`
	// RefundsCreated is how many refunds were created.
	RefundsCreated int64 `json:"refunds_created"`
	// RefundsPerIntent is how many refunds were created through the API per payment intent
	// (the demo orders' seeded refund history is not counted).
	RefundsPerIntent map[string]int `json:"refunds_per_intent"`
	// Duplicates is how many refunds repeat an earlier one — same charge, amount and metadata —
	// which is what a client retrying with a new idempotency key produces.
	Duplicates int64 `json:"duplicates"`
	// OverRefunded is how many charges have more refunded than captured. The sandbox refuses
	// such refunds, so anything but zero is a sandbox bug.
	OverRefunded int64 `json:"over_refunded"`
	// Refused is how many refunds were refused for exceeding what was left to refund.
	Refused int64 `json:"refused"`
	// Replayed is how many answers were replayed from the idempotency store.
	Replayed int64 `json:"replayed"`
	// InFlightConflicts is how many requests got 409 because their key's first request was running.
	InFlightConflicts int64 `json:"in_flight_conflicts"`
	// KeyMismatches is how many requests reused a key with different parameters (400).
	KeyMismatches int64 `json:"key_mismatches"`
	// ResponsesLost is how many answers were committed and then dropped with the connection.
	ResponsesLost int64 `json:"responses_lost"`
	// ServerErrors is how many 500s the refund endpoint answered (and stored) by the knob.
	ServerErrors int64 `json:"server_errors"`
	// Unauthorized is how many requests were refused for a missing or wrong API key.
	Unauthorized int64 `json:"unauthorized"`
	// Webhooks is how many events were sent to the webhook endpoint; WebhooksDropped how many of
	// them the drop knob lost.
	Webhooks        int64 `json:"webhooks"`
	WebhooksDropped int64 `json:"webhooks_dropped"`
	// WebhookAttempts is how many webhook HTTP requests were made, copies and retries included.
	WebhookAttempts int64 `json:"webhook_attempts"`
	// WebhooksAcknowledged is how many webhook copies the endpoint answered 2xx.
	WebhooksAcknowledged int64 `json:"webhooks_acknowledged"`
}

// Sandbox is an emulated Stripe account. It is an http.Handler and safe for concurrent use. Close
// it to abandon webhooks not yet delivered.
type Sandbox struct {
	opts   Options
	faults *faults.Faults
	idem   *idempotencyStore
	hooks  *webhooks.Dispatcher
	state  *state.File // nil: nothing is kept across restarts

	secretMu sync.Mutex
	secrets  []string // the webhook endpoint's signing secrets

	api     http.Handler
	control http.Handler

	mu       sync.Mutex
	payments map[string]*payment // by payment intent id
	charges  map[string]*payment // by charge id
	refunds  map[string]*refund
	seen     map[string]int // refund fingerprints, for the duplicate detector
	ledger   ledger         // balance transactions and payouts (settle.go)
	created  int64
	seq      int64

	knobMu       sync.Mutex
	rng          *rand.Rand
	loseRate     float64
	serverErrors float64
	processing   time.Duration
	refundStatus string

	requests, requestIDs, refundsCreated, duplicates, refused, replayed, inFlight, mismatches,
	lost, serverErrorCount, unauthorized, events, captures atomic.Int64
}

// New returns a sandbox whose account holds one captured payment intent per demo order (see
// PaymentIntentID and ChargeID), with the order's already-refunded lines as earlier refunds,
// plus opts.SeedIntents extra intents. It panics when opts.StateDir is set and the state cannot
// be read; Open returns that error instead.
func New(ds *demo.Dataset, opts Options) *Sandbox {
	s, err := Open(ds, opts)
	if err != nil {
		panic(err)
	}
	return s
}

// Open is New for a sandbox that keeps its account in opts.StateDir: the account a previous run
// left there is restored, and the demo account is generated only when there is none.
func Open(ds *demo.Dataset, opts Options) (*Sandbox, error) {
	if opts.SecretKey == "" {
		opts.SecretKey = DevSecretKey
	}
	if opts.SeedAmount <= 0 {
		opts.SeedAmount = DefaultSeedAmount
	}
	if opts.Now == nil {
		opts.Now = time.Now
	}
	if len(opts.WebhookSecrets) == 0 {
		opts.WebhookSecrets = []string{DevWebhookSecret}
	}
	s := &Sandbox{
		opts:         opts,
		faults:       faults.New(opts.Seed),
		idem:         newIdempotencyStore(opts.Now),
		payments:     map[string]*payment{},
		charges:      map[string]*payment{},
		refunds:      map[string]*refund{},
		seen:         map[string]int{},
		rng:          rand.New(rand.NewPCG(opts.Seed, 2)),
		refundStatus: StatusSucceeded,
		secrets:      slices.Clone(opts.WebhookSecrets),
	}
	s.hooks = webhooks.New(webhooks.Config{Client: opts.HTTPClient, URL: opts.WebhookURL, Settings: opts.Delivery,
		Seed: opts.Seed, Now: opts.Now, Sign: s.signHeaders, OnSettled: func() { _ = s.persist() }})
	f, err := state.Open(opts.StateDir, "stripe")
	if err != nil {
		return nil, err
	}
	found, err := s.load(f)
	if err != nil {
		return nil, err
	}
	if !found {
		s.seed(ds)
	}
	s.state = f
	if err := s.persist(); err != nil {
		return nil, err
	}
	// The fault knobs sit in front of authentication and idempotency: an injected 503 is the
	// edge failing before Stripe's API ran, so no answer is stored for its key.
	s.api = s.counted(s.faults.Middleware(s.authenticated(s.routes())))
	s.control = s.faults.Middleware(http.NotFoundHandler())
	return s, nil
}

// ServeHTTP serves the API, the fault knobs at /_sandbox/faults, the Stripe-specific knobs and
// stats at /_sandbox/stripe, refund status changes at /_sandbox/stripe/refunds/{id} and the webhook endpoint and deliveries under
// /_sandbox/stripe/webhooks.
func (s *Sandbox) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	switch p := r.URL.Path; {
	case p == "/_sandbox/stripe":
		s.serveControl(w, r)
	case p == webhookControlPath || strings.HasPrefix(p, webhookControlPath+"/"):
		s.serveWebhookControl(w, r)
	case p == "/_sandbox/faults":
		s.control.ServeHTTP(w, r)
	case p == payoutControlPath:
		s.servePayoutControl(w, r)
	case strings.HasPrefix(p, refundControlPath):
		s.serveRefundControl(w, r)
	default:
		s.api.ServeHTTP(w, r)
	}
}

// Close abandons webhooks not yet delivered and waits for attempts in progress to end.
func (s *Sandbox) Close() { s.hooks.Close() }

// Faults returns the shared fault knobs (latency, injected errors, down) and request recorder.
func (s *Sandbox) Faults() *faults.Faults { return s.faults }

// SecretKey is the API key the account accepts.
func (s *Sandbox) SecretKey() string { return s.opts.SecretKey }

// SetLoseResponses makes the sandbox drop the connection, without an answer, after a POST has
// executed and its answer was stored under its idempotency key, for the given fraction of POSTs
// (0..1). Replays are subject to it too: the network does not know which answers matter.
func (s *Sandbox) SetLoseResponses(rate float64) {
	s.knobMu.Lock()
	s.loseRate = rate
	s.knobMu.Unlock()
}

// SetServerErrorRate makes the refund endpoint fail with 500 api_error, creating nothing, for
// the given fraction of refund requests. As on Stripe, the 500 is stored under the request's
// idempotency key and replayed to every retry with that key.
func (s *Sandbox) SetServerErrorRate(rate float64) {
	s.knobMu.Lock()
	s.serverErrors = rate
	s.knobMu.Unlock()
}

// SetProcessingDelay makes every POST take d to execute, during which its idempotency key is in
// flight (a second request with it gets 409). The work finishes even if the client goes away.
func (s *Sandbox) SetProcessingDelay(d time.Duration) {
	s.knobMu.Lock()
	s.processing = d
	s.knobMu.Unlock()
}

// SetNewRefundStatus sets the status new refunds start in (succeeded unless changed).
func (s *Sandbox) SetNewRefundStatus(status string) {
	s.knobMu.Lock()
	s.refundStatus = status
	s.knobMu.Unlock()
}

func (s *Sandbox) knobs() (lose, serverErrors float64, processing time.Duration, status string) {
	s.knobMu.Lock()
	defer s.knobMu.Unlock()
	return s.loseRate, s.serverErrors, s.processing, s.refundStatus
}

func (s *Sandbox) roll(rate float64) bool {
	if rate <= 0 {
		return false
	}
	s.knobMu.Lock()
	defer s.knobMu.Unlock()
	return s.rng.Float64() < rate
}

// Stats returns the counters.
func (s *Sandbox) Stats() Stats {
	st := Stats{
		Requests:          s.requests.Load(),
		RefundsCreated:    s.refundsCreated.Load(),
		Duplicates:        s.duplicates.Load(),
		Refused:           s.refused.Load(),
		Replayed:          s.replayed.Load(),
		InFlightConflicts: s.inFlight.Load(),
		KeyMismatches:     s.mismatches.Load(),
		ResponsesLost:     s.lost.Load(),
		ServerErrors:      s.serverErrorCount.Load(),
		Unauthorized:      s.unauthorized.Load(),
		RefundsPerIntent:  map[string]int{},
		Webhooks:          s.events.Load(),
	}
	t := s.hooks.Tally()
	st.WebhooksDropped, st.WebhookAttempts, st.WebhooksAcknowledged = t.Dropped, t.Attempts, t.Acknowledged
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, p := range s.payments {
		if n := p.apiRefunds; n > 0 {
			st.RefundsPerIntent[p.intentID] = n
		}
		if p.refunded > p.captured {
			st.OverRefunded++
		}
	}
	return st
}

func (s *Sandbox) counted(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		s.requests.Add(1)
		next.ServeHTTP(w, r)
	})
}

// authenticated accepts the account's secret key as a Bearer token or as the Basic user name,
// the two ways Stripe takes it.
func (s *Sandbox) authenticated(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		key, ok := apiKey(r)
		switch {
		case !ok:
			s.unauthorized.Add(1)
			writeResult(w, s.requestID(), apiError(http.StatusUnauthorized, typeInvalidRequest, "",
				"You did not provide an API key. You need to provide your API key in the Authorization header, "+
					"using Bearer auth (e.g. 'Authorization: Bearer YOUR_SECRET_KEY').", ""))
		case key != s.opts.SecretKey:
			s.unauthorized.Add(1)
			writeResult(w, s.requestID(), apiError(http.StatusUnauthorized, typeInvalidRequest, "",
				"Invalid API Key provided: "+redactKey(key), ""))
		default:
			next.ServeHTTP(w, r)
		}
	})
}

func apiKey(r *http.Request) (string, bool) {
	if user, _, ok := r.BasicAuth(); ok {
		return user, user != ""
	}
	scheme, token, ok := strings.Cut(r.Header.Get("Authorization"), " ")
	if !ok || !strings.EqualFold(scheme, "Bearer") || token == "" {
		return "", false
	}
	return token, true
}

// redactKey shows a key as Stripe's error messages do: prefix, stars, last four.
func redactKey(key string) string {
	if len(key) <= 12 {
		return strings.Repeat("*", len(key))
	}
	return key[:8] + strings.Repeat("*", len(key)-12) + key[len(key)-4:]
}

// control is the JSON document of /_sandbox/stripe.
type control struct {
	LoseResponses   float64       `json:"lose_responses"`
	ServerErrorRate float64       `json:"server_error_rate"`
	ProcessingDelay time.Duration `json:"processing_delay"`
	NewRefundStatus string        `json:"new_refund_status"`
	Stats           *Stats        `json:"stats,omitempty"`
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
		if c.NewRefundStatus == "" {
			c.NewRefundStatus = StatusSucceeded
		}
		if !validStatus(c.NewRefundStatus) {
			http.Error(w, "bad settings: unknown refund status "+c.NewRefundStatus, http.StatusBadRequest)
			return
		}
		s.SetLoseResponses(c.LoseResponses)
		s.SetServerErrorRate(c.ServerErrorRate)
		s.SetProcessingDelay(c.ProcessingDelay)
		s.SetNewRefundStatus(c.NewRefundStatus)
	default:
		w.WriteHeader(http.StatusMethodNotAllowed)
		return
	}
	st := s.Stats()
	lose, serverErrors, processing, status := s.knobs()
	w.Header().Set("Content-Type", "application/json")
	_ = json.NewEncoder(w).Encode(control{LoseResponses: lose, ServerErrorRate: serverErrors,
		ProcessingDelay: processing, NewRefundStatus: status, Stats: &st})
}
