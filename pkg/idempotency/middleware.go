package idempotency

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"math"
	"net/http"

	"github.com/retailbridge/retailbridge/pkg/errs"
	"github.com/retailbridge/retailbridge/pkg/telemetry"
)

// inFlightRetryAfter is the Retry-After, in seconds, of the in-flight conflict: originals
// usually finish well within a second, and the lock's remaining lifetime (the worst case) is
// named in the problem detail.
const inFlightRetryAfter = 1

// unavailableRetryAfter is the Retry-After, in seconds, when Redis cannot be reached.
const unavailableRetryAfter = 1

// Middleware guards next: POST, PUT, PATCH and DELETE need an Idempotency-Key and run at most
// once per key; other methods pass through. See the package documentation for the protocol.
func (s *Store) Middleware(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if !guarded(r.Method) {
			next.ServeHTTP(w, r)
			return
		}
		key, err := parseKey(r.Header.Values(HeaderKey))
		if err != nil {
			var ke *keyError
			errors.As(err, &ke)
			writeProblem(w, r, ke.problem())
			return
		}
		scope, ok := s.opts.Scope(r)
		if !ok {
			writeProblem(w, r, errs.NewProblem(http.StatusBadRequest, ReasonScopeMissing, "Caller unknown",
				"idempotency keys are scoped by caller, and this request carries no caller identity"))
			return
		}
		body, p, ok := s.readBody(r)
		if !ok {
			writeProblem(w, r, p)
			return
		}

		// Store calls outlive the client: a disconnect between execution and storing must not
		// lose the record (the retry would execute again) nor leave the lock behind.
		ctx := context.WithoutCancel(r.Context())
		rkey := s.recordKey(scope, r.Method, s.opts.Route(r), key)
		token := newToken()
		o, err := s.begin(ctx, rkey, fingerprint(body), token)
		if err != nil {
			s.opts.Logger.WarnContext(ctx, "idempotency store unavailable; refusing request", "record", rkey, "error", err.Error())
			writeProblem(w, r, unavailable())
			return
		}
		switch o.state {
		case "acquired":
			s.execute(ctx, w, r, next, rkey, token)
		case "mismatch":
			writeProblem(w, r, errs.NewProblem(http.StatusUnprocessableEntity, ReasonKeyReused, "Idempotency key reused",
				"this "+HeaderKey+" was already used with a different request body; use a new key for a new request"))
		case stateRunning:
			p := errs.NewProblem(http.StatusConflict, ReasonInFlight, "Request in progress",
				fmt.Sprintf("a request with this %s is still being processed (for at most %d s more); retry later",
					HeaderKey, int(math.Ceil(lockRemaining(o.lockMS).Seconds())))).WithRetryAfter(inFlightRetryAfter)
			writeProblem(w, r, p)
		case stateDone:
			replay(w, o.resp)
		case stateUnstored:
			if loc := o.resp.header.Get("Location"); loc != "" {
				w.Header().Set("Location", loc)
			}
			writeProblem(w, r, errs.NewProblem(http.StatusConflict, ReasonResponseNotStored, "Response not stored",
				fmt.Sprintf("a request with this %s was executed (status %d) but its response was too large to keep; "+
					"read the resulting state instead of retrying", HeaderKey, o.resp.status)))
		}
	})
}

// writeProblem answers r with p, carrying the request's correlation id and path like every other
// problem the gateway writes.
func writeProblem(w http.ResponseWriter, r *http.Request, p errs.Problem) {
	p.For(telemetry.CorrelationID(r.Context()), r.URL.Path).Write(w)
}

// execute runs next under the lock and stores or releases its outcome.
func (s *Store) execute(ctx context.Context, w http.ResponseWriter, r *http.Request, next http.Handler, rkey, token string) {
	rec := &recorder{w: w, limit: s.opts.MaxStoredBody}
	finished := false
	defer func() {
		// A panic (including http.ErrAbortHandler) or runtime.Goexit: nothing was stored, so
		// free the key now rather than after LockTTL, and let the panic continue unrecovered
		// so its stack reaches whoever logs it.
		if !finished {
			s.releaseLogged(ctx, rkey, token, "handler panicked")
		}
	}()
	next.ServeHTTP(rec, r)
	finished = true

	status := rec.statusOrOK()
	if !s.opts.Storable(status) {
		s.releaseLogged(ctx, rkey, token, fmt.Sprintf("status %d is not stored", status))
		rec.flush()
		return
	}
	resp := stored{status: status, header: s.selectHeaders(rec.committedHeader())}
	state := stateUnstored
	if !rec.overflow {
		state, resp.body = stateDone, rec.buf.Bytes()
	}
	// Store before answering: a duplicate that arrives right after the client has its answer
	// must find the record, not the lock.
	ok, err := s.complete(ctx, rkey, token, state, resp)
	switch {
	case err != nil:
		// The handler ran; its answer is the truth, so send it. The lock expires after LockTTL
		// and a retry after that executes again — the process layer's own keys absorb it.
		s.opts.Logger.ErrorContext(ctx, "idempotency record not stored", "record", rkey, "status", status, "error", err.Error())
	case !ok:
		s.opts.Logger.WarnContext(ctx, "idempotency lock expired before the request finished; response not stored",
			"record", rkey, "status", status, "lock_ttl", s.opts.LockTTL.String())
	}
	rec.flush()
}

func (s *Store) releaseLogged(ctx context.Context, rkey, token, why string) {
	ok, err := s.release(ctx, rkey, token)
	switch {
	case err != nil:
		s.opts.Logger.ErrorContext(ctx, "idempotency lock not released; it expires on its own",
			"record", rkey, "why", why, "lock_ttl", s.opts.LockTTL.String(), "error", err.Error())
	case !ok:
		s.opts.Logger.WarnContext(ctx, "idempotency lock expired before release", "record", rkey, "why", why)
	}
}

// heldBody is a request body a front door already holds in memory (the gateway's body limit):
// HeldBody returns all of it without reading, however much has been read.
type heldBody interface{ HeldBody() []byte }

// readBody reads the whole request body for the fingerprint and leaves r with a body that reads
// it again from the start. A body already held in memory is taken as it is, not read.
func (s *Store) readBody(r *http.Request) ([]byte, errs.Problem, bool) {
	if r.Body == nil || r.Body == http.NoBody {
		return nil, errs.Problem{}, true
	}
	if h, ok := r.Body.(heldBody); ok && int64(len(h.HeldBody())) <= s.opts.MaxRequestBody {
		if rs, ok := r.Body.(io.Seeker); ok {
			if _, err := rs.Seek(0, io.SeekStart); err == nil {
				return h.HeldBody(), errs.Problem{}, true
			}
		}
	}
	body, err := io.ReadAll(io.LimitReader(r.Body, s.opts.MaxRequestBody+1))
	_ = r.Body.Close()
	r.Body = io.NopCloser(bytes.NewReader(body))
	var tooLarge *http.MaxBytesError
	if errors.As(err, &tooLarge) || int64(len(body)) > s.opts.MaxRequestBody {
		return nil, errs.NewProblem(http.StatusRequestEntityTooLarge, "body_too_large", "Request body too large",
			fmt.Sprintf("the request body exceeds %d bytes", s.opts.MaxRequestBody)), false
	}
	if err != nil {
		return nil, errs.NewProblem(http.StatusBadRequest, "body_unreadable", "Invalid request",
			"the request body could not be read"), false
	}
	return body, errs.Problem{}, true
}

// selectHeaders keeps the allow-listed headers of h.
func (s *Store) selectHeaders(h http.Header) http.Header {
	out := http.Header{}
	for _, name := range s.storedHeaders {
		if v := h.Values(name); len(v) > 0 {
			out[name] = append([]string(nil), v...)
		}
	}
	return out
}

func unavailable() errs.Problem {
	p := errs.NewProblem(http.StatusServiceUnavailable, ReasonStoreUnavailable, "Service unavailable",
		"the idempotency store cannot be reached, so the request was not executed; retry later with the same key").
		WithRetryAfter(unavailableRetryAfter)
	p.Retryable = true
	return p
}

// replay sends a stored response.
func replay(w http.ResponseWriter, resp stored) {
	h := w.Header()
	for name, v := range resp.header {
		h[name] = v
	}
	h.Set(HeaderReplayed, "true")
	w.WriteHeader(resp.status)
	_, _ = w.Write(resp.body)
}

// recorder buffers a response so it can be stored before the client sees it. Headers go
// straight to the real writer's map (nothing is sent before flush); once the body outgrows
// limit the response streams through instead and is not stored.
type recorder struct {
	w      http.ResponseWriter
	limit  int
	status int
	// header is the header map as of the first WriteHeader or Write, mirroring net/http,
	// which ignores header changes after that point.
	header   http.Header
	buf      bytes.Buffer
	overflow bool
}

var _ http.ResponseWriter = (*recorder)(nil)

func (r *recorder) Header() http.Header { return r.w.Header() }

func (r *recorder) WriteHeader(code int) {
	if r.status != 0 || (code >= 100 && code < 200) {
		return // informational responses are dropped: they cannot be replayed
	}
	r.status = code
	r.header = r.w.Header().Clone()
}

func (r *recorder) Write(p []byte) (int, error) {
	if r.status == 0 {
		r.WriteHeader(http.StatusOK)
	}
	if r.overflow {
		return r.w.Write(p)
	}
	if r.buf.Len()+len(p) <= r.limit {
		return r.buf.Write(p)
	}
	r.overflow = true
	r.writeHeader()
	if _, err := r.w.Write(r.buf.Bytes()); err != nil {
		return 0, err
	}
	r.buf = bytes.Buffer{}
	return r.w.Write(p)
}

func (r *recorder) statusOrOK() int {
	if r.status == 0 {
		return http.StatusOK
	}
	return r.status
}

func (r *recorder) committedHeader() http.Header {
	if r.header == nil {
		return r.w.Header()
	}
	return r.header
}

func (r *recorder) writeHeader() {
	if r.header != nil {
		h := r.w.Header()
		clear(h)
		for name, v := range r.header {
			h[name] = v
		}
	}
	r.w.WriteHeader(r.statusOrOK())
}

// flush sends what was buffered.
func (r *recorder) flush() {
	if r.overflow {
		return
	}
	r.writeHeader()
	_, _ = r.w.Write(r.buf.Bytes())
}
