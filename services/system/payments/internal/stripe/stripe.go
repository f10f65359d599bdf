// Package stripe is the payments connector for Stripe's REST API, hand-written over net/http
// rather than built on stripe-go: the connector must own every retry, and stripe-go retries on
// its own (with Stripe-Should-Retry and its own sleeps), would need a go.mod change this module
// does not otherwise need, and brings hundreds of generated files for three endpoints.
//
// Unknown outcomes are the point of this package. A refund whose answer was lost — a dropped
// connection, a timeout, a 5xx — may or may not have happened, so it is sent again with the same
// Idempotency-Key, never a new one, until Stripe answers or the caller's deadline stops it;
// Stripe then replays the stored answer of the first execution. The key comes from the caller
// (derived from the workflow step) and is passed through unchanged.
//
// Webhooks are verified here too: Stripe-Signature is checked on the raw body, in constant time,
// against every configured endpoint secret, and refund events become canonical events with ids
// derived from Stripe's event id (see ParseWebhook).
package stripe

import (
	"bytes"
	"context"
	"crypto/tls"
	"crypto/x509"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/url"
	"strings"
	"sync/atomic"
	"time"

	"github.com/retailbridge/retailbridge/pkg/errs"
	"github.com/retailbridge/retailbridge/pkg/governor"
	"github.com/retailbridge/retailbridge/pkg/vendorhttp"
)

// APIVersion pins the Stripe API version the connector speaks (sent as Stripe-Version), so an
// account upgrade cannot change the objects under it. It is the version of the OpenAPI
// specification bundled with stripe-mock v0.203.0, which the conformance suite runs against
// with -strict-version-check.
const APIVersion = "2026-08-26.dahlia"

// DefaultBaseURL is Stripe's API host.
const DefaultBaseURL = "https://api.stripe.com"

// DefaultMaxConcurrency keeps the connector well inside Stripe's per-account concurrency limiter.
const DefaultMaxConcurrency = 20

// DefaultAttemptTimeout bounds one HTTP attempt, so a hung connection is abandoned and the
// request retried with the same key while the caller's deadline still leaves time.
const DefaultAttemptTimeout = 5 * time.Second

// MaxIdempotencyKeyLen is Stripe's limit on an Idempotency-Key.
const MaxIdempotencyKeyLen = 255

// maxAttempts backstops the caller's deadline, the real bound on retries.
const maxAttempts = 50

// maxBody bounds what is read of one answer.
const maxBody = 1 << 20

// Config is how to reach one Stripe account.
type Config struct {
	// BaseURL is the API host; DefaultBaseURL when empty.
	BaseURL string
	// SecretKey is the account's secret (sk_…) or restricted (rk_…) key.
	SecretKey string
	// MaxConcurrency caps requests in flight; DefaultMaxConcurrency when zero.
	MaxConcurrency int
	// AttemptTimeout bounds each HTTP attempt; DefaultAttemptTimeout when zero.
	AttemptTimeout time.Duration
	// WebhookSecrets are the webhook endpoint's signing secrets (whsec_…); a delivery signed
	// with any one of them is accepted, so the old and the new secret both work while one is
	// rolled. Without any, every webhook is refused.
	WebhookSecrets []string
	// SignatureTolerance is how far a webhook signature's timestamp may be from now, either
	// way; DefaultSignatureTolerance when zero.
	SignatureTolerance time.Duration
}

// Client is the connector. It is safe for concurrent use.
type Client struct {
	base           *url.URL
	http           *http.Client
	secretKey      string
	slots          *governor.Slots
	attemptTimeout time.Duration
	backoff        vendorhttp.Backoff
	now            func() time.Time
	log            *slog.Logger
	webhookSecrets [][]byte
	tolerance      time.Duration

	retries, replays atomic.Int64
}

// New returns a connector that sends requests through hc, the caller's traced client.
func New(cfg Config, hc *http.Client, log *slog.Logger, now func() time.Time) (*Client, error) {
	if cfg.BaseURL == "" {
		cfg.BaseURL = DefaultBaseURL
	}
	base, err := url.Parse(cfg.BaseURL)
	if err != nil || (base.Scheme != "http" && base.Scheme != "https") || base.Host == "" {
		return nil, fmt.Errorf("stripe: base URL %q is not an absolute http(s) URL", cfg.BaseURL)
	}
	if hc == nil {
		return nil, errors.New("stripe: an HTTP client is required")
	}
	if cfg.SecretKey == "" {
		return nil, errors.New("stripe: a secret key is required")
	}
	if cfg.MaxConcurrency <= 0 {
		cfg.MaxConcurrency = DefaultMaxConcurrency
	}
	if cfg.AttemptTimeout <= 0 {
		cfg.AttemptTimeout = DefaultAttemptTimeout
	}
	if cfg.SignatureTolerance <= 0 {
		cfg.SignatureTolerance = DefaultSignatureTolerance
	}
	var secrets [][]byte
	for _, secret := range cfg.WebhookSecrets {
		if secret != "" {
			secrets = append(secrets, []byte(secret))
		}
	}
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	if now == nil {
		now = time.Now
	}
	return &Client{
		base:           base,
		http:           hc,
		secretKey:      cfg.SecretKey,
		slots:          governor.NewSlots(cfg.MaxConcurrency),
		attemptTimeout: cfg.AttemptTimeout,
		backoff:        vendorhttp.Backoff{First: 20 * time.Millisecond, Cap: time.Second},
		now:            now,
		log:            log.With("vendor", "stripe"),
		webhookSecrets: secrets,
		tolerance:      cfg.SignatureTolerance,
	}, nil
}

// Ready reports whether Stripe accepts the connector's key, by reading the account balance.
func (c *Client) Ready(ctx context.Context) error {
	var b struct {
		Object string `json:"object"`
	}
	return c.send(ctx, request{method: http.MethodGet, path: "v1/balance", resource: "account"}, &b)
}

// Retries is how many requests were sent again after an unknown or refused outcome.
func (c *Client) Retries() int64 { return c.retries.Load() }

// Replays is how many answers Stripe replayed from its idempotency store.
func (c *Client) Replays() int64 { return c.replays.Load() }

// request is one API call.
type request struct {
	method string
	path   string // relative to the base URL; ids in it are checked by checkID
	query  url.Values
	form   url.Values
	// key is the Idempotency-Key; POSTs only.
	key string
	// resource names what a 404 means: "refund", "payment" or "account".
	resource string
}

// send performs rq, decoding the answer into out. Answers of unknown outcome (transport errors,
// timeouts, 5xx), refusals that say "later" (409 in flight, 429) are retried with the same
// request and key, after capped jittered backoff, while ctx leaves time for the wait. A replayed
// answer is final: Stripe will give the same one for as long as it keeps the key.
func (c *Client) send(ctx context.Context, rq request, out any) error {
	var body []byte
	if rq.form != nil {
		body = []byte(rq.form.Encode())
	}
	// last is the latest failure not caused by the deadline: when the deadline cuts the retries
	// short, it says more than "timed out" (rate limited, unreachable).
	var last error
	endedBy := func(ctxErr error) error {
		if last != nil {
			return toErr(last)
		}
		return toErr(ctxErr)
	}
	for attempt := 1; ; attempt++ {
		replayed, err := c.attempt(ctx, rq, body, out)
		if replayed {
			c.replays.Add(1)
		}
		if err == nil {
			return nil
		}
		if ctx.Err() != nil {
			return endedBy(ctx.Err())
		}
		// What went wrong before the deadline (an answer, or an unreachable gateway) says more
		// than "timed out" if the deadline then cuts the retries short.
		if !errors.Is(err, context.DeadlineExceeded) && !errors.Is(err, context.Canceled) {
			last = err
		}
		if !retryable(err) || attempt == maxAttempts {
			return toErr(err)
		}
		wait := c.backoff.Delay(attempt)
		var ve *vendorError
		if errors.As(err, &ve) {
			wait = max(wait, ve.retryAfter)
		}
		if !vendorhttp.Fits(ctx, wait) {
			return toErr(err)
		}
		c.retries.Add(1)
		c.log.DebugContext(ctx, "stripe outcome unknown or refused for now; retrying with the same key",
			"path", rq.path, "attempt", attempt, "wait", wait, "err", err)
		if err := vendorhttp.Sleep(ctx, wait); err != nil {
			return endedBy(err)
		}
	}
}

// retryable says whether sending the same request again may get a different answer.
func retryable(err error) bool {
	var ve *vendorError
	if errors.As(err, &ve) {
		switch {
		case ve.badPayload, ve.replayed:
			return false
		case ve.shouldRetry != nil:
			return *ve.shouldRetry
		}
		return ve.status == http.StatusConflict || ve.status == http.StatusTooManyRequests || ve.status >= 500
	}
	var unknownAuthority x509.UnknownAuthorityError
	var certErr *tls.CertificateVerificationError
	if errors.As(err, &unknownAuthority) || errors.As(err, &certErr) {
		return false // a wrong certificate stays wrong
	}
	return true // connection refused or reset, lost answer, attempt timeout
}

// attempt sends rq once, holding one of the connector's concurrency slots.
func (c *Client) attempt(ctx context.Context, rq request, body []byte, out any) (replayed bool, err error) {
	if err := c.slots.Acquire(ctx); err != nil {
		return false, err
	}
	defer c.slots.Release()
	ctx, cancel := context.WithTimeout(ctx, c.attemptTimeout)
	defer cancel()

	u := c.base.JoinPath(rq.path)
	u.RawQuery = rq.query.Encode()
	var rd io.Reader
	if body != nil {
		rd = bytes.NewReader(body)
	}
	req, err := http.NewRequestWithContext(ctx, rq.method, u.String(), rd)
	if err != nil {
		return false, err
	}
	req.Header.Set("Authorization", "Bearer "+c.secretKey)
	req.Header.Set("Stripe-Version", APIVersion)
	req.Header.Set("Accept", "application/json")
	req.Header.Set("User-Agent", "Retailbridge (payments; stripe)")
	if body != nil {
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		// Without GetBody the transport cannot resend the request by itself (it would, for a
		// request carrying an Idempotency-Key, when a reused connection closes unanswered):
		// every resend is the connector's, with its backoff and its count.
		req.GetBody = nil
	}
	if rq.key != "" {
		req.Header.Set("Idempotency-Key", rq.key)
	}
	resp, err := c.http.Do(req)
	if err != nil {
		return false, err
	}
	defer resp.Body.Close()
	raw, err := vendorhttp.ReadBody(resp.Body, maxBody)
	if err != nil && !errors.Is(err, vendorhttp.ErrTooLarge) {
		return false, err // the answer was cut off: as unknown as no answer
	}
	replayed = resp.Header.Get("Idempotent-Replayed") == "true"
	if resp.StatusCode < 200 || resp.StatusCode > 299 {
		return replayed, newVendorError(resp, raw, rq.resource, replayed, c.now())
	}
	if err != nil {
		return replayed, badPayload(err)
	}
	if err := json.Unmarshal(raw, out); err != nil {
		return replayed, badPayload(err)
	}
	return replayed, nil
}

// checkID rejects ids that are not Stripe-shaped before they become URL path segments.
func checkID(id string) error {
	if id == "" || len(id) > 255 {
		return errs.E(errs.Invalid, "invalid_request", "a Stripe object id must be 1 to 255 characters")
	}
	for _, r := range id {
		if !('a' <= r && r <= 'z' || 'A' <= r && r <= 'Z' || '0' <= r && r <= '9' || r == '_') {
			return errs.E(errs.Invalid, "invalid_request", "a Stripe object id has only letters, digits and _")
		}
	}
	return nil
}

// isPaymentIntent and isCharge classify a payment reference by its Stripe prefix.
func isPaymentIntent(ref string) bool { return strings.HasPrefix(ref, "pi_") }

func isCharge(ref string) bool { return strings.HasPrefix(ref, "ch_") || strings.HasPrefix(ref, "py_") }
