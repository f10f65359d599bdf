package auth

import (
	"context"
	"crypto"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/url"
	"os"
	"sync"
	"time"

	"golang.org/x/sync/singleflight"
)

// KeySet is where an issuer's verification keys come from: configuration only, never a URL
// or key carried in a token.
type KeySet interface {
	// Key returns the key for kid among the keys currently held. It never does I/O.
	Key(kid string) (PublicKey, bool)
	// Missed tells the set that a token named a kid it does not hold. A set that can reload
	// does so — at most once per its minimum interval, whatever tokens arrive — and reports
	// whether it did.
	Missed(kid string) bool
}

// Runner is a key set that refreshes itself in the background until ctx ends.
type Runner interface {
	Run(ctx context.Context)
}

// StaticKeys is a fixed key set.
type StaticKeys map[string]PublicKey

// Key implements KeySet.
func (s StaticKeys) Key(kid string) (PublicKey, bool) { k, ok := s[kid]; return k, ok }

// Missed implements KeySet; a fixed set never reloads.
func (StaticKeys) Missed(string) bool { return false }

// staticFromMap adapts the Issuer.Keys shorthand.
func staticFromMap(m map[string]crypto.PublicKey) StaticKeys {
	s := StaticKeys{}
	for kid, k := range m {
		s[kid] = PublicKey{Key: k}
	}
	return s
}

// snapshot is a loaded key set swapped atomically under a lock.
type snapshot struct {
	mu   sync.RWMutex
	keys map[string]PublicKey
}

func (s *snapshot) Key(kid string) (PublicKey, bool) {
	s.mu.RLock()
	defer s.mu.RUnlock()
	k, ok := s.keys[kid]
	return k, ok
}

func (s *snapshot) set(keys map[string]PublicKey) {
	s.mu.Lock()
	s.keys = keys
	s.mu.Unlock()
}

// throttle lets one reload through per interval; concurrent callers share it.
type throttle struct {
	interval time.Duration
	now      func() time.Time
	flight   singleflight.Group
	mu       sync.Mutex
	last     time.Time
}

// do runs load unless one ran within the interval, and reports whether it ran.
func (t *throttle) do(load func() error) (bool, error) {
	t.mu.Lock()
	if !t.last.IsZero() && t.now().Sub(t.last) < t.interval {
		t.mu.Unlock()
		return false, nil
	}
	t.last = t.now()
	t.mu.Unlock()
	_, err, _ := t.flight.Do("", func() (any, error) { return nil, load() })
	return true, err
}

// JWKSFile is a key set read from a JWKS file and re-read when the file changes.
type JWKSFile struct {
	snapshot
	path   string
	poll   time.Duration
	logger *slog.Logger
	retry  throttle

	statMu sync.Mutex
	stat   os.FileInfo
}

// NewJWKSFile reads path, which must hold a valid set; it is re-read every poll interval and on
// an unknown kid (at most once per minInterval) when it changed.
func NewJWKSFile(path string, poll, minInterval time.Duration, logger *slog.Logger, now func() time.Time) (*JWKSFile, error) {
	f := &JWKSFile{path: path, poll: poll, logger: orDiscard(logger), retry: throttle{interval: minInterval, now: orNow(now)}}
	if _, err := f.reload(); err != nil {
		return nil, err
	}
	return f, nil
}

// reload re-reads the file if it changed, keeping the old keys when the new file is bad.
func (f *JWKSFile) reload() (bool, error) {
	f.statMu.Lock()
	defer f.statMu.Unlock()
	st, err := os.Stat(f.path)
	if err != nil {
		return false, fmt.Errorf("jwks file: %w", err)
	}
	if f.stat != nil && os.SameFile(st, f.stat) && st.ModTime().Equal(f.stat.ModTime()) && st.Size() == f.stat.Size() {
		return false, nil
	}
	b, err := readLimited(f.path)
	if err != nil {
		return false, err
	}
	keys, err := ParseJWKS(b)
	if err != nil {
		return false, fmt.Errorf("%s: %w", f.path, err)
	}
	f.set(keys)
	f.stat = st
	return true, nil
}

func readLimited(path string) ([]byte, error) {
	fh, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer fh.Close()
	return io.ReadAll(io.LimitReader(fh, maxJWKSBytes+1))
}

// Missed implements KeySet.
func (f *JWKSFile) Missed(string) bool {
	var changed bool
	ran, err := f.retry.do(func() error {
		var err error
		changed, err = f.reload()
		return err
	})
	if err != nil {
		f.logger.Warn("jwks file reload failed; keeping the previous keys", "path", f.path, "error", err.Error())
	}
	return ran && changed
}

// Run implements Runner.
func (f *JWKSFile) Run(ctx context.Context) {
	every(ctx, f.poll, func() {
		if _, err := f.reload(); err != nil {
			f.logger.Warn("jwks file reload failed; keeping the previous keys", "path", f.path, "error", err.Error())
		}
	})
}

// RemoteJWKS is a key set fetched from a configured URL: at startup, every refresh interval in
// the background, and on an unknown kid at most once per minimum interval. A failed fetch keeps
// the previous keys. Redirects are not followed and bodies are bounded.
type RemoteJWKS struct {
	snapshot
	url     string
	client  *http.Client
	refresh time.Duration
	logger  *slog.Logger
	missed  throttle
}

// RemoteJWKSOptions tune a RemoteJWKS.
type RemoteJWKSOptions struct {
	// Refresh is the background refresh interval (default 15 min).
	Refresh time.Duration
	// MinInterval is the least time between fetches caused by unknown kids (default 30 s).
	MinInterval time.Duration
	// Timeout bounds one fetch (default 5 s).
	Timeout time.Duration
	// Transport overrides the HTTP transport (tests).
	Transport http.RoundTripper
	Logger    *slog.Logger
	Now       func() time.Time
}

// NewRemoteJWKS fetches u once; a failure is logged and retried in the background rather than
// failing startup, so an identity provider's outage only affects its own audience.
func NewRemoteJWKS(u string, o RemoteJWKSOptions) (*RemoteJWKS, error) {
	if err := checkJWKSURL(u); err != nil {
		return nil, err
	}
	if o.Refresh <= 0 {
		o.Refresh = 15 * time.Minute
	}
	if o.MinInterval <= 0 {
		o.MinInterval = 30 * time.Second
	}
	if o.Timeout <= 0 {
		o.Timeout = 5 * time.Second
	}
	r := &RemoteJWKS{
		url: u, refresh: o.Refresh, logger: orDiscard(o.Logger),
		client: &http.Client{Timeout: o.Timeout, Transport: o.Transport,
			CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }},
		missed: throttle{interval: o.MinInterval, now: orNow(o.Now)},
	}
	r.set(map[string]PublicKey{})
	if _, err := r.missed.do(r.fetch); err != nil {
		r.logger.Warn("jwks fetch failed at startup; retrying in the background", "url", u, "error", err.Error())
	}
	return r, nil
}

// checkJWKSURL requires https, except for loopback hosts (development and tests).
func checkJWKSURL(u string) error {
	pu, err := url.Parse(u)
	if err != nil || pu.Host == "" {
		return fmt.Errorf("jwks url %q is not an absolute URL", u)
	}
	if pu.Scheme == "https" {
		return nil
	}
	host := pu.Hostname()
	if ip := net.ParseIP(host); pu.Scheme == "http" && (host == "localhost" || ip != nil && ip.IsLoopback()) {
		return nil
	}
	return fmt.Errorf("jwks url %q must use https", u)
}

func (r *RemoteJWKS) fetch() error {
	req, err := http.NewRequest(http.MethodGet, r.url, nil)
	if err != nil {
		return err
	}
	req.Header.Set("Accept", "application/jwk-set+json, application/json")
	resp, err := r.client.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("jwks %s answered %d", r.url, resp.StatusCode)
	}
	b, err := io.ReadAll(io.LimitReader(resp.Body, maxJWKSBytes+1))
	if err != nil {
		return err
	}
	keys, err := ParseJWKS(b)
	if err != nil {
		return err
	}
	r.set(keys)
	return nil
}

// Missed implements KeySet.
func (r *RemoteJWKS) Missed(string) bool {
	ran, err := r.missed.do(r.fetch)
	if err != nil {
		r.logger.Warn("jwks refresh failed; keeping the previous keys", "url", r.url, "error", err.Error())
		return false
	}
	return ran
}

// Run implements Runner: a periodic refresh, sooner after failures.
func (r *RemoteJWKS) Run(ctx context.Context) {
	wait := r.refresh
	for {
		t := time.NewTimer(wait)
		select {
		case <-ctx.Done():
			t.Stop()
			return
		case <-t.C:
		}
		if err := r.fetch(); err != nil {
			r.logger.Warn("jwks refresh failed; keeping the previous keys", "url", r.url, "error", err.Error())
			wait = min(r.refresh, r.missed.interval)
			continue
		}
		wait = r.refresh
	}
}

// every calls f each interval until ctx ends.
func every(ctx context.Context, interval time.Duration, f func()) {
	if interval <= 0 {
		return
	}
	t := time.NewTicker(interval)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
			f()
		}
	}
}

func orDiscard(l *slog.Logger) *slog.Logger {
	if l == nil {
		return slog.New(slog.DiscardHandler)
	}
	return l
}

func orNow(now func() time.Time) func() time.Time {
	if now == nil {
		return time.Now
	}
	return now
}
