// Package idempotency makes mutating HTTP requests safe to retry: a client sends an
// Idempotency-Key header (draft-ietf-httpapi-idempotency-key-header), the first request with a
// key executes, and every retry with the same key and body gets the stored response instead of a
// second execution. Records live in Redis so every gateway replica shares them.
//
// Per request on POST, PUT, PATCH and DELETE (other methods pass through untouched):
//
//   - The key header must be present once, non-empty and at most 255 characters, as a
//     Structured Fields string ("abc") or a bare token (abc); the two spellings name the same key.
//     Otherwise 400 idempotency_key_missing or idempotency_key_invalid.
//   - The key is scoped by caller (audience, tenant and subject of the auth.Principal), method and
//     route, then hashed with SHA-256: caller data never becomes a Redis key, and two callers
//     using the same key value never meet. Callers without a principal get 400
//     idempotency_scope_missing unless Options.Scope says otherwise.
//   - The request is fingerprinted by the SHA-256 of its body. A retry with another body is
//     refused with 422 idempotency_key_reused; the stored result stays as it was.
//   - The first request takes an in-flight lock (bounded by Options.LockTTL so a crashed replica
//     frees the key); duplicates that arrive meanwhile get 409 idempotency_request_in_flight
//     with Retry-After.
//   - When the handler finishes, its status, allow-listed headers and body are stored for
//     Options.Retention in the same atomic step that drops the lock, unless the status says the
//     request never took effect (see DefaultStorable); then the lock is dropped and a corrected
//     retry with the same key executes.
//   - Replays carry Idempotent-Replayed: true.
//   - If Redis cannot be reached the request is refused with 503 idempotency_store_unavailable
//     and Retry-After: executing without the guard could double a side effect (fail closed).
//
// Placement: mount the middleware after authentication (the default scope needs the principal)
// and after the gateway's body limit, on the routes that require a key. The handler's response
// is buffered until it is stored, so guarded handlers cannot stream, flush or hijack; mutating
// endpoints have no reason to.
//
// Redis layout: one hash per record, key Options.KeyPrefix + hex(SHA-256(scope, method, route,
// key)), fields state ("running", "done" or "unstored"), fp (body fingerprint), token (lock
// owner, while running), started and completed (Unix ms from Options.Now, for operators),
// status, header (JSON) and body. Every transition is one Lua script on one key, so the
// layout works unchanged on Redis Cluster.
package idempotency

import (
	"context"
	"io"
	"log/slog"
	"net/http"
	"time"

	"github.com/redis/go-redis/v9"
)

// Header names of the protocol.
const (
	// HeaderKey carries the client's idempotency key.
	HeaderKey = "Idempotency-Key"
	// HeaderReplayed marks a response served from the store instead of by executing the request.
	HeaderReplayed = "Idempotent-Replayed"
)

// MaxKeyLength is the longest key accepted, in characters.
const MaxKeyLength = 255

// Defaults for Options.
const (
	// DefaultRetention matches Stripe's 24 hours: long enough to cover a client's whole retry
	// schedule with backoff, short enough that stored bodies do not pile up. A retry after it
	// executes as a new request, so clients must not retry a key for longer.
	DefaultRetention = 24 * time.Hour
	// DefaultLockTTL bounds how long a crashed or hung request keeps its key locked. It must
	// exceed the slowest legitimate request (the gateway's request timeout is 5 s); if a handler
	// outlives it, a duplicate may execute, and the late finisher's result is not stored.
	DefaultLockTTL = 30 * time.Second
	// DefaultMaxStoredBody is the largest response body stored for replay.
	DefaultMaxStoredBody = 1 << 20
	// DefaultMaxRequestBody is the largest request body the middleware reads to fingerprint.
	DefaultMaxRequestBody = 1 << 20
	// DefaultTimeout bounds each Redis round trip.
	DefaultTimeout = time.Second
	// DefaultKeyPrefix prefixes every Redis key the store writes.
	DefaultKeyPrefix = "rb:idem:"
)

// defaultStoredHeaders are the response headers replayed with a stored response: those that
// describe the representation or the created resource. Per-response headers (Date, request ids,
// rate-limit state, Retry-After) belong to the replay's own exchange, and Set-Cookie is never
// stored because a session minted for one response must not be handed out again.
var defaultStoredHeaders = []string{
	"Content-Type", "Content-Language", "Content-Location", "Location", "ETag", "Last-Modified",
	"Link", "Preference-Applied",
}

// Options tune a Store. The zero value gives the documented defaults.
type Options struct {
	// Retention is how long a completed record (and so a replayable response) is kept;
	// default DefaultRetention.
	Retention time.Duration
	// LockTTL is the lifetime of the in-flight lock; default DefaultLockTTL.
	LockTTL time.Duration
	// MaxStoredBody is the largest response body stored; default DefaultMaxStoredBody. A
	// storable response with a larger body is sent to the client but only its status and
	// headers are kept: the key is marked "executed, response not stored", and retries get 409
	// idempotency_response_not_stored (not retryable, with the original Location if any) rather
	// than a second execution.
	MaxStoredBody int
	// MaxRequestBody is the largest request body read for the fingerprint; larger → 413
	// body_too_large before anything executes. Default DefaultMaxRequestBody.
	MaxRequestBody int64
	// Timeout bounds each Redis call; default DefaultTimeout. It bounds a hung server only when
	// the client has ContextTimeoutEnabled; otherwise the client's ReadTimeout does.
	Timeout time.Duration
	// Now stamps records with their start and completion times for operators. Expiry uses
	// Redis's own clock (PEXPIRE), so replicas with skewed clocks agree. Default time.Now.
	Now func() time.Time
	// Storable decides whether a response with status is stored for replay; default
	// DefaultStorable. Statuses it rejects release the key instead.
	Storable func(status int) bool
	// Scope returns the caller's identity that keys are scoped by; ok false refuses the request
	// with 400 idempotency_scope_missing. Default PrincipalScope.
	Scope func(r *http.Request) (scope string, ok bool)
	// Route names the operation for scoping; default r.URL.Path. A route template (gin's
	// FullPath) makes one key cover the route across path parameters instead.
	Route func(r *http.Request) string
	// StoredHeaders are response headers replayed in addition to Content-Type, Content-Language,
	// Content-Location, Location, ETag, Last-Modified, Link and Preference-Applied. Set-Cookie
	// is never stored.
	StoredHeaders []string
	// KeyPrefix prefixes every Redis key; default DefaultKeyPrefix.
	KeyPrefix string
	// Logger receives store failures; default discards.
	Logger *slog.Logger
	// InProcess keeps records in this process instead of Redis (memory.go): only for a process
	// that is the sole user of its Redis, such as the development stack's only gateway over the
	// embedded server. Records are then bounded by MaxRecords and MaxRecordBytes.
	InProcess bool
	// MaxRecords bounds the records kept in process; default DefaultMaxRecords. When every one
	// is unexpired, new keys are refused with 503 idempotency_store_unavailable.
	MaxRecords int
	// MaxRecordBytes bounds the response bodies kept in process; default
	// DefaultMaxRecordBytes. Past it a response is kept without its body (retries get 409
	// idempotency_response_not_stored, never a second execution).
	MaxRecordBytes int
}

// Store guards handlers with idempotency keys kept in Redis.
type Store struct {
	rdb           *redis.Client
	mem           *memRecords // non-nil with Options.InProcess
	opts          Options
	storedHeaders []string
}

// New returns a Store over rdb.
func New(rdb *redis.Client, opts Options) *Store {
	if opts.Retention <= 0 {
		opts.Retention = DefaultRetention
	}
	if opts.LockTTL <= 0 {
		opts.LockTTL = DefaultLockTTL
	}
	if opts.MaxStoredBody <= 0 {
		opts.MaxStoredBody = DefaultMaxStoredBody
	}
	if opts.MaxRequestBody <= 0 {
		opts.MaxRequestBody = DefaultMaxRequestBody
	}
	if opts.Timeout <= 0 {
		opts.Timeout = DefaultTimeout
	}
	if opts.Now == nil {
		opts.Now = time.Now
	}
	if opts.Storable == nil {
		opts.Storable = DefaultStorable
	}
	if opts.Scope == nil {
		opts.Scope = PrincipalScope
	}
	if opts.Route == nil {
		opts.Route = func(r *http.Request) string { return r.URL.Path }
	}
	if opts.KeyPrefix == "" {
		opts.KeyPrefix = DefaultKeyPrefix
	}
	if opts.Logger == nil {
		opts.Logger = slog.New(slog.NewTextHandler(io.Discard, nil))
	}
	stored := append([]string(nil), defaultStoredHeaders...)
	for _, h := range opts.StoredHeaders {
		if h = http.CanonicalHeaderKey(h); h != "Set-Cookie" {
			stored = append(stored, h)
		}
	}
	if opts.MaxRecords <= 0 {
		opts.MaxRecords = DefaultMaxRecords
	}
	if opts.MaxRecordBytes <= 0 {
		opts.MaxRecordBytes = DefaultMaxRecordBytes
	}
	s := &Store{rdb: rdb, opts: opts, storedHeaders: stored}
	if opts.InProcess {
		s.mem = newMemRecords(opts)
		s.restore(context.Background())
	}
	return s
}

// DefaultStorable is the default storage rule: store what the operation decided, release what
// says it never ran.
//
//   - 2xx and 3xx are stored: the operation took effect, and a retry must see that effect once.
//   - 402 (payment declined) and 422 (Retailbridge's failed precondition: a policy decision such
//     as "return window closed") are stored: the operation ran and decided no, and one key
//     keeps one decision, as the draft's "result of the previously completed operation" asks.
//   - Every other 4xx is released: 400 (validation), 401, 403, 404, 408, 409 (a conflict from
//     downstream), 412, 413, 415, 429 and the like are refusals before anything happened.
//     Releasing costs nothing (there is no effect to protect) and lets a corrected retry with
//     the same key execute; storing would pin a transient refusal — an expired token, a rate
//     limit, an order the commerce platform has not replicated yet — for the whole retention.
//   - 5xx is released. A 5xx can follow a partial side effect, so the outcome is unknown.
//     Storing it (Stripe does) makes retries safe but stuck: the client can only make progress
//     with a new key, which carries no protection at all against the partial effect. Releasing
//     lets the retry re-execute under the same key, and that is safe here because the process
//     layer does not rely on this store: it carries its own idempotency keys downstream and
//     enforces business uniqueness (one refund per return line) in its database, so a
//     re-execution converges instead of doubling. Many 5xx (503 from an open breaker, 504 past
//     the deadline) also mean "not done, try later" outright.
func DefaultStorable(status int) bool {
	switch {
	case status >= 200 && status < 400:
		return true
	case status == http.StatusPaymentRequired, status == http.StatusUnprocessableEntity:
		return true
	}
	return false
}

// guarded reports whether requests with method need an idempotency key.
func guarded(method string) bool {
	switch method {
	case http.MethodPost, http.MethodPut, http.MethodPatch, http.MethodDelete:
		return true
	}
	return false
}
