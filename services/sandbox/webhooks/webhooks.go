// Package webhooks is the vendor sandboxes' webhook sender: it POSTs each webhook to the
// configured URL, retries copies the receiver refuses or never answers, and on purpose duplicates,
// delays, reorders or drops webhooks (Settings), the ways real vendors' at-least-once delivery
// misbehaves (FM-1). It records every webhook with what became of its copies, so that tests and
// the sandboxes' control APIs can list, flush and redeliver them.
//
// The mechanics are the vendor's in every way but the headers: each sandbox signs its own through
// a Signer, at each attempt.
package webhooks

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	mrand "math/rand/v2"
	"net/http"
	"sync"
	"time"
)

// Delivery defaults.
const (
	// DefaultMaxAttempts is how many times one copy of a webhook is tried before it is given up.
	DefaultMaxAttempts = 8
	// DefaultRetryBackoff is the wait after a copy's first failed attempt; it doubles up to
	// maxRetryBackoff.
	DefaultRetryBackoff = time.Second
	// DefaultDeliveryTimeout is how long one attempt waits for the receiver's answer.
	DefaultDeliveryTimeout = 5 * time.Second

	maxRetryBackoff = time.Minute
)

// ErrNotFound is returned by Redeliver for a webhook id the dispatcher never sent.
var ErrNotFound = errors.New("webhooks: no such webhook")

// Settings are the webhook delivery knobs (FM-1: duplicated, late, out of order, lost).
// The zero value delivers each webhook once, at once, and retries failed attempts.
type Settings struct {
	// MinCopies and MaxCopies: each webhook is delivered n times, n drawn uniformly from
	// [MinCopies, MaxCopies] (once when both are below 2). Copies run concurrently and share the
	// webhook id and the body, as a vendor's duplicate deliveries do.
	MinCopies int `json:"min_copies"`
	MaxCopies int `json:"max_copies"`
	// DropRate is the fraction of webhooks never delivered at all (0..1).
	DropRate float64 `json:"drop_rate"`
	// LateRate is the fraction of copies held back by LateBy before their first attempt.
	LateRate float64       `json:"late_rate"`
	LateBy   time.Duration `json:"late_by"`
	// Reorder holds every copy back a random time in [0, Reorder), so webhooks sent close
	// together arrive in any order.
	Reorder time.Duration `json:"reorder"`
	// MaxAttempts bounds the attempts of one copy that the receiver answers non-2xx or not at all
	// (DefaultMaxAttempts when zero or negative).
	MaxAttempts int `json:"max_attempts"`
	// RetryBackoff is the wait after a copy's first failed attempt, doubling up to a minute
	// (DefaultRetryBackoff when zero or negative).
	RetryBackoff time.Duration `json:"retry_backoff"`
}

func (s Settings) withDefaults() Settings {
	if s.MaxAttempts <= 0 {
		s.MaxAttempts = DefaultMaxAttempts
	}
	if s.RetryBackoff <= 0 {
		s.RetryBackoff = DefaultRetryBackoff
	}
	return s
}

// Delivery is one webhook and what became of its copies.
type Delivery struct {
	// ID is the webhook id every copy and retry carries.
	ID string `json:"id"`
	// Topic is what the webhook announces, in the vendor's words: a topic such as
	// "receipt.created", or a trigger such as "return.updated".
	Topic string `json:"topic"`
	// Subject is the object the webhook is about, for example a receipt's id.
	Subject string `json:"subject"`
	// CreatedAt is when the sandbox raised the webhook.
	CreatedAt time.Time `json:"created_at"`
	// Dropped says the drop knob lost it: no copy was ever sent.
	Dropped bool `json:"dropped"`
	// Copies is how many copies were sent or are being sent, redeliveries included.
	Copies int `json:"copies"`
	// Attempts is how many HTTP requests the copies made.
	Attempts int `json:"attempts"`
	// Acknowledged is how many copies the receiver answered 2xx.
	Acknowledged int `json:"acknowledged"`
	// GaveUp is how many copies exhausted their attempts.
	GaveUp int `json:"gave_up"`
	// LastStatus is the receiver's latest HTTP status (0 when it never answered).
	LastStatus int `json:"last_status"`
	// LastError describes the latest failed attempt.
	LastError string `json:"last_error,omitempty"`
	// Body is the exact payload, signed as sent.
	Body json.RawMessage `json:"body"`
}

// Signer sets the vendor's headers on one attempt of d, made at time at. Content-Type is set
// already. It may read d's ID, Topic, Subject and Body; the rest changes under it.
type Signer func(h http.Header, d *Delivery, at time.Time)

// Config configures a Dispatcher.
type Config struct {
	// Client sends the webhooks (a client with DefaultDeliveryTimeout when nil).
	Client *http.Client
	// URL receives the webhooks; while it is empty every attempt fails.
	URL string
	// Settings are the initial delivery knobs.
	Settings Settings
	// Seed drives the knobs' random source.
	Seed uint64
	// Now is the clock handed to Sign (time.Now when nil).
	Now func() time.Time
	// Sign sets the vendor's headers on every attempt.
	Sign Signer
	// OnSettled, when set, is called (with no lock held) each time a copy is acknowledged or
	// given up, so a sandbox that keeps its pending webhooks (Pending) can save them again.
	OnSettled func()
}

// Tally counts what became of the webhooks sent so far.
type Tally struct {
	// Dropped is how many webhooks the drop knob lost.
	Dropped int64
	// Attempts is how many HTTP requests were made, copies and retries included.
	Attempts int64
	// Acknowledged is how many copies the receiver answered 2xx.
	Acknowledged int64
}

// Dispatcher sends webhooks with the delivery knobs applied. It is safe for concurrent use; Close
// it to abandon what is pending.
type Dispatcher struct {
	client    *http.Client
	sign      Signer
	now       func() time.Time
	onSettled func()

	ctx    context.Context
	cancel context.CancelFunc
	wg     sync.WaitGroup

	mu         sync.Mutex
	url        string
	settings   Settings
	rng        *mrand.Rand
	deliveries map[string]*Delivery
	order      []string
	inFlight   int
	flushed    chan struct{} // closed by Flush, to end every wait at once
}

// New returns a dispatcher that has sent nothing yet.
func New(cfg Config) *Dispatcher {
	if cfg.Client == nil {
		cfg.Client = &http.Client{Timeout: DefaultDeliveryTimeout}
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	ctx, cancel := context.WithCancel(context.Background())
	return &Dispatcher{
		client: cfg.Client, sign: cfg.Sign, now: cfg.Now, onSettled: cfg.OnSettled, ctx: ctx, cancel: cancel,
		url: cfg.URL, settings: cfg.Settings, rng: mrand.New(mrand.NewPCG(cfg.Seed, 2)),
		deliveries: make(map[string]*Delivery), flushed: make(chan struct{}),
	}
}

// NewID returns prefix followed by 24 random hex digits, so that ids never repeat across sandbox
// restarts: a receiver deduplicating by webhook id must not drop a new webhook as an old one.
func NewID(prefix string) string {
	var b [12]byte
	_, _ = rand.Read(b[:])
	return prefix + hex.EncodeToString(b[:])
}

// Send records d and starts its copies according to the knobs. d must have its ID, Body and
// whatever the Signer reads set; the dispatcher owns it from now on.
func (p *Dispatcher) Send(d *Delivery) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.deliveries[d.ID] = d
	p.order = append(p.order, d.ID)
	st := p.settings.withDefaults()
	if st.DropRate > 0 && p.rng.Float64() < st.DropRate {
		d.Dropped = true
		return
	}
	copies := 1
	if st.MaxCopies >= 2 {
		lo := max(st.MinCopies, 1)
		hi := max(st.MaxCopies, lo)
		copies = lo + p.rng.IntN(hi-lo+1)
	}
	for range copies {
		var wait time.Duration
		if st.Reorder > 0 {
			wait += time.Duration(p.rng.Int64N(int64(st.Reorder)))
		}
		if st.LateRate > 0 && p.rng.Float64() < st.LateRate {
			wait += st.LateBy
		}
		p.startLocked(d, wait, st)
	}
}

// Redeliver sends one more copy of a recorded webhook now, whatever the knobs say. It fails with
// ErrNotFound for an id it never sent.
func (p *Dispatcher) Redeliver(id string) error {
	p.mu.Lock()
	defer p.mu.Unlock()
	d, ok := p.deliveries[id]
	if !ok {
		return fmt.Errorf("%w: %q", ErrNotFound, id)
	}
	p.startLocked(d, 0, p.settings.withDefaults())
	return nil
}

func (p *Dispatcher) startLocked(d *Delivery, wait time.Duration, st Settings) {
	d.Copies++
	p.inFlight++
	p.wg.Add(1)
	go func() {
		defer p.wg.Done()
		ok := p.run(d, wait, st)
		p.mu.Lock()
		abandoned := !ok && p.ctx.Err() != nil // closing: the copy is still owed (Pending)
		switch {
		case ok:
			d.Acknowledged++
		case !abandoned:
			d.GaveUp++
		}
		p.inFlight--
		p.mu.Unlock()
		if !abandoned && p.onSettled != nil {
			p.onSettled()
		}
	}()
}

// run delivers one copy: wait, then attempt until a 2xx or the attempts run out.
func (p *Dispatcher) run(d *Delivery, wait time.Duration, st Settings) bool {
	backoff := st.RetryBackoff
	for attempt := 1; ; attempt++ {
		p.mu.Lock()
		flushed := p.flushed
		p.mu.Unlock()
		if !sleep(p.ctx, wait, flushed) {
			return false
		}
		status, err := p.attempt(d)
		p.mu.Lock()
		d.Attempts++
		d.LastStatus = status
		if err != nil {
			d.LastError = err.Error()
		}
		p.mu.Unlock()
		if err == nil {
			return true
		}
		if attempt >= st.MaxAttempts {
			return false
		}
		wait = backoff
		backoff = min(2*backoff, maxRetryBackoff)
	}
}

func (p *Dispatcher) attempt(d *Delivery) (int, error) {
	p.mu.Lock()
	url := p.url
	p.mu.Unlock()
	if url == "" {
		return 0, errors.New("no webhook URL configured")
	}
	ctx, cancel := context.WithTimeout(p.ctx, DefaultDeliveryTimeout)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, url, bytes.NewReader(d.Body))
	if err != nil {
		return 0, err
	}
	req.Header.Set("Content-Type", "application/json")
	if p.sign != nil {
		p.sign(req.Header, d, p.now())
	}
	resp, err := p.client.Do(req)
	if err != nil {
		return 0, err
	}
	_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, 1<<16))
	_ = resp.Body.Close()
	if resp.StatusCode < 200 || resp.StatusCode > 299 {
		return resp.StatusCode, fmt.Errorf("receiver answered %d", resp.StatusCode)
	}
	return resp.StatusCode, nil
}

// sleep waits d, or until wake is closed; it reports false if ctx ended first.
func sleep(ctx context.Context, d time.Duration, wake <-chan struct{}) bool {
	if d <= 0 {
		return ctx.Err() == nil
	}
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return true
	case <-wake:
		return true
	case <-ctx.Done():
		return false
	}
}

// Flush ends every wait now: late and reordered copies and retries go out at once.
func (p *Dispatcher) Flush() {
	p.mu.Lock()
	close(p.flushed)
	p.flushed = make(chan struct{})
	p.mu.Unlock()
}

// SetURL points the webhooks at url, from their next attempt on.
func (p *Dispatcher) SetURL(url string) {
	p.mu.Lock()
	p.url = url
	p.mu.Unlock()
}

// SetSettings replaces the delivery knobs for webhooks sent from now on.
func (p *Dispatcher) SetSettings(s Settings) {
	p.mu.Lock()
	p.settings = s
	p.mu.Unlock()
}

// Target returns the current URL and delivery knobs.
func (p *Dispatcher) Target() (string, Settings) {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.url, p.settings
}

// List returns copies of the recorded deliveries, oldest first.
func (p *Dispatcher) List() []Delivery {
	p.mu.Lock()
	defer p.mu.Unlock()
	out := make([]Delivery, 0, len(p.order))
	for _, id := range p.order {
		out = append(out, *p.deliveries[id])
	}
	return out
}

// Tally counts what became of every webhook sent so far.
func (p *Dispatcher) Tally() Tally {
	p.mu.Lock()
	defer p.mu.Unlock()
	var t Tally
	for _, id := range p.order {
		d := p.deliveries[id]
		if d.Dropped {
			t.Dropped++
		}
		t.Attempts += int64(d.Attempts)
		t.Acknowledged += int64(d.Acknowledged)
	}
	return t
}

// WaitIdle waits until no copy is waiting or being attempted, or ctx ends.
func (p *Dispatcher) WaitIdle(ctx context.Context) error {
	for {
		p.mu.Lock()
		n := p.inFlight
		p.mu.Unlock()
		if n == 0 {
			return nil
		}
		if !sleep(ctx, 5*time.Millisecond, nil) {
			return ctx.Err()
		}
	}
}

// Pending returns copies of the webhooks still owed to the receiver, oldest first: raised, not
// dropped, no copy acknowledged yet, and a copy still waiting or being attempted. A sandbox keeps
// them with its state, so that after a restart it goes on delivering them (Resume), as a vendor's
// retry queue outlives the vendor's own restarts.
func (p *Dispatcher) Pending() []Delivery {
	p.mu.Lock()
	defer p.mu.Unlock()
	var out []Delivery
	for _, id := range p.order {
		d := p.deliveries[id]
		if !d.Dropped && d.Acknowledged == 0 && d.Copies > d.GaveUp {
			out = append(out, *d)
		}
	}
	return out
}

// Resume records webhooks a previous run still owed (Pending) and sends one copy of each now,
// whatever the knobs say: the knobs already had their say when the webhook was raised.
func (p *Dispatcher) Resume(ds []Delivery) {
	p.mu.Lock()
	defer p.mu.Unlock()
	st := p.settings.withDefaults()
	for _, in := range ds {
		if _, ok := p.deliveries[in.ID]; ok {
			continue
		}
		d := &Delivery{ID: in.ID, Topic: in.Topic, Subject: in.Subject, CreatedAt: in.CreatedAt, Body: in.Body}
		p.deliveries[d.ID] = d
		p.order = append(p.order, d.ID)
		p.startLocked(d, 0, st)
	}
}

// Close abandons pending copies and waits for running attempts to end.
func (p *Dispatcher) Close() {
	p.cancel()
	p.wg.Wait()
}
