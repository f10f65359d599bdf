// Package faults gives every vendor sandbox the same fault knobs — latency, error rate, down —
// and the same request recorder, switchable from Go tests and over HTTP at /_sandbox/faults.
package faults

import (
	"bytes"
	"encoding/json"
	"io"
	"math/rand/v2"
	"net/http"
	"strconv"
	"sync"
	"sync/atomic"
	"time"
)

// Settings are the fault knobs. The zero value injects nothing.
type Settings struct {
	// Latency is added before every answer (honouring the client's cancellation).
	Latency time.Duration `json:"latency"`
	// ErrorRate is the fraction of requests answered with ErrorStatus (0..1).
	ErrorRate float64 `json:"error_rate"`
	// ErrorStatus is the status for injected errors; 503 when zero.
	ErrorStatus int `json:"error_status"`
	// RetryAfter is sent with injected errors when set.
	RetryAfter time.Duration `json:"retry_after"`
	// Down makes the vendor unreachable: connections are closed without an answer.
	Down bool `json:"down"`
	// LoseAnswerRate is the fraction of requests the vendor handles (a mutation applies) whose
	// answer is then lost: the connection closes without it, so the caller cannot tell whether
	// the change happened (0..1).
	LoseAnswerRate float64 `json:"lose_answer_rate"`
}

// Faults holds the current settings and counts what the sandbox saw.
type Faults struct {
	mu       sync.Mutex
	settings Settings
	rng      *rand.Rand

	requests        atomic.Int64
	injected        atomic.Int64
	lastTraceparent atomic.Value // string
}

// New returns Faults with a deterministic random source.
func New(seed uint64) *Faults {
	return &Faults{rng: rand.New(rand.NewPCG(seed, 1))}
}

// Set replaces the settings.
func (f *Faults) Set(s Settings) {
	f.mu.Lock()
	f.settings = s
	f.mu.Unlock()
}

// Get returns the settings.
func (f *Faults) Get() Settings {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.settings
}

// Requests is how many vendor requests arrived (control requests excluded).
func (f *Faults) Requests() int64 { return f.requests.Load() }

// Injected is how many requests got an injected fault.
func (f *Faults) Injected() int64 { return f.injected.Load() }

// LastTraceparent is the W3C traceparent header of the latest request, for propagation tests.
func (f *Faults) LastTraceparent() string {
	s, _ := f.lastTraceparent.Load().(string)
	return s
}

func (f *Faults) roll(rate float64) bool {
	if rate <= 0 {
		return false
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.rng.Float64() < rate
}

// Middleware applies the current settings in front of next and serves the control API at
// /_sandbox/faults (GET reads, PUT replaces the settings as JSON).
func (f *Faults) Middleware(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/_sandbox/faults" {
			f.serveControl(w, r)
			return
		}
		f.requests.Add(1)
		f.lastTraceparent.Store(r.Header.Get("Traceparent"))
		s := f.Get()
		if s.Down {
			f.injected.Add(1)
			if hj, ok := w.(http.Hijacker); ok {
				if conn, _, err := hj.Hijack(); err == nil {
					_ = conn.Close()
					return
				}
			}
			http.Error(w, "", http.StatusServiceUnavailable)
			return
		}
		if s.Latency > 0 {
			// Read the body first: only then does the server notice a client that gave up,
			// so a slow sandbox never outlives its callers.
			body, _ := io.ReadAll(r.Body)
			r.Body = io.NopCloser(bytes.NewReader(body))
			t := time.NewTimer(s.Latency)
			select {
			case <-t.C:
			case <-r.Context().Done():
				t.Stop()
				return
			}
		}
		if f.roll(s.ErrorRate) {
			f.injected.Add(1)
			status := s.ErrorStatus
			if status == 0 {
				status = http.StatusServiceUnavailable
			}
			if s.RetryAfter > 0 {
				w.Header().Set("Retry-After", strconv.Itoa(int(s.RetryAfter.Seconds())))
			}
			w.Header().Set("Content-Type", "application/json")
			w.WriteHeader(status)
			_, _ = w.Write([]byte(`{"error":"injected fault"}`))
			return
		}
		if f.roll(s.LoseAnswerRate) {
			f.injected.Add(1)
			next.ServeHTTP(discard{h: http.Header{}}, r)
			if hj, ok := w.(http.Hijacker); ok {
				if conn, _, err := hj.Hijack(); err == nil {
					_ = conn.Close()
					return
				}
			}
			http.Error(w, "", http.StatusBadGateway)
			return
		}
		next.ServeHTTP(w, r)
	})
}

// discard is a ResponseWriter that keeps nothing: the answer the vendor would have sent is lost.
type discard struct{ h http.Header }

func (d discard) Header() http.Header         { return d.h }
func (d discard) Write(b []byte) (int, error) { return len(b), nil }
func (d discard) WriteHeader(int)             {}

func (f *Faults) serveControl(w http.ResponseWriter, r *http.Request) {
	switch r.Method {
	case http.MethodGet:
	case http.MethodPut, http.MethodPost:
		var s Settings
		if err := json.NewDecoder(http.MaxBytesReader(w, r.Body, 1<<16)).Decode(&s); err != nil {
			http.Error(w, "bad settings: "+err.Error(), http.StatusBadRequest)
			return
		}
		f.Set(s)
	default:
		w.WriteHeader(http.StatusMethodNotAllowed)
		return
	}
	w.Header().Set("Content-Type", "application/json")
	_ = json.NewEncoder(w).Encode(f.Get())
}
