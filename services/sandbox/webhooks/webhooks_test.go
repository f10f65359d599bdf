package webhooks_test

import (
	"context"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/retailbridge/retailbridge/services/sandbox/webhooks"

	"github.com/retailbridge/retailbridge/pkg/testkit"
)

// receiver records every POST and answers with status(n), n counting from 1.
type receiver struct {
	srv    *httptest.Server
	mu     sync.Mutex
	bodies []string
	heads  []http.Header
	n      atomic.Int64
}

func newReceiver(t *testing.T, status func(n int64) int) *receiver {
	t.Helper()
	r := &receiver{}
	r.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
		body, _ := io.ReadAll(req.Body)
		r.mu.Lock()
		r.bodies = append(r.bodies, string(body))
		r.heads = append(r.heads, req.Header.Clone())
		r.mu.Unlock()
		w.WriteHeader(status(r.n.Add(1)))
	}))
	t.Cleanup(r.srv.Close)
	return r
}

func (r *receiver) count() int {
	r.mu.Lock()
	defer r.mu.Unlock()
	return len(r.bodies)
}

func newDispatcher(t *testing.T, url string, st webhooks.Settings) *webhooks.Dispatcher {
	t.Helper()
	if st.RetryBackoff == 0 {
		st.RetryBackoff = time.Millisecond
	}
	d := webhooks.New(webhooks.Config{URL: url, Settings: st, Seed: 1,
		Sign: func(h http.Header, d *webhooks.Delivery, _ time.Time) {
			h.Set("X-Test-Id", d.ID)
			h.Set("X-Test-Topic", d.Topic)
		}})
	t.Cleanup(d.Close)
	return d
}

func waitIdle(t *testing.T, d *webhooks.Dispatcher) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if err := d.WaitIdle(ctx); err != nil {
		t.Fatalf("WaitIdle: %v", err)
	}
}

func TestCopiesShareIDAndBody(t *testing.T) {
	t.Parallel()
	rcv := newReceiver(t, func(int64) int { return http.StatusOK })
	d := newDispatcher(t, rcv.srv.URL, webhooks.Settings{MinCopies: 3, MaxCopies: 3})
	d.Send(&webhooks.Delivery{ID: "whk_1", Topic: "thing.happened", Subject: "42", Body: []byte(`{"a":1}`)})
	waitIdle(t, d)
	if rcv.count() != 3 {
		t.Fatalf("receiver got %d POSTs; want 3 copies", rcv.count())
	}
	for i, h := range rcv.heads {
		if h.Get("X-Test-Id") != "whk_1" || h.Get("X-Test-Topic") != "thing.happened" ||
			h.Get("Content-Type") != "application/json" || rcv.bodies[i] != `{"a":1}` {
			t.Errorf("copy %d: headers %v, body %s; want the signer's headers and the same body", i, h, rcv.bodies[i])
		}
	}
	got := d.List()
	if len(got) != 1 || got[0].Copies != 3 || got[0].Acknowledged != 3 || got[0].Attempts != 3 || got[0].LastStatus != 200 {
		t.Errorf("record %+v; want 3 copies, 3 attempts, 3 acknowledged", got)
	}
	if tl := d.Tally(); tl != (webhooks.Tally{Attempts: 3, Acknowledged: 3}) {
		t.Errorf("tally %+v; want 3 attempts acknowledged", tl)
	}
}

func TestRetryThenGiveUp(t *testing.T) {
	t.Parallel()
	rcv := newReceiver(t, func(n int64) int {
		if n == 1 {
			return http.StatusServiceUnavailable
		}
		return http.StatusOK
	})
	d := newDispatcher(t, rcv.srv.URL, webhooks.Settings{})
	d.Send(&webhooks.Delivery{ID: "a", Body: []byte(`{}`)})
	waitIdle(t, d)
	if got := d.List()[0]; got.Attempts != 2 || got.Acknowledged != 1 || got.LastError != "receiver answered 503" {
		t.Errorf("retried copy %+v; want acknowledged at the second attempt after a 503", got)
	}

	refuse := newReceiver(t, func(int64) int { return http.StatusBadGateway })
	d = newDispatcher(t, refuse.srv.URL, webhooks.Settings{MaxAttempts: 3})
	d.Send(&webhooks.Delivery{ID: "b", Body: []byte(`{}`)})
	waitIdle(t, d)
	if got := d.List()[0]; got.Attempts != 3 || got.GaveUp != 1 || got.LastStatus != http.StatusBadGateway {
		t.Errorf("refused copy %+v; want given up after 3 attempts", got)
	}
}

func TestDropLateFlushRedeliver(t *testing.T) {
	t.Parallel()
	rcv := newReceiver(t, func(int64) int { return http.StatusOK })
	d := newDispatcher(t, rcv.srv.URL, webhooks.Settings{DropRate: 1})
	d.Send(&webhooks.Delivery{ID: "dropped", Body: []byte(`{}`)})
	waitIdle(t, d)
	if got := d.List()[0]; !got.Dropped || got.Copies != 0 || rcv.count() != 0 {
		t.Errorf("dropped webhook %+v, %d POSTs; want dropped and never sent", got, rcv.count())
	}
	if tl := d.Tally(); tl.Dropped != 1 {
		t.Errorf("tally %+v; want one dropped", tl)
	}
	if err := d.Redeliver("dropped"); err != nil {
		t.Fatalf("Redeliver: %v", err)
	}
	waitIdle(t, d)
	if got := d.List()[0]; got.Copies != 1 || got.Acknowledged != 1 {
		t.Errorf("redelivered %+v; want one acknowledged copy", got)
	}
	if err := d.Redeliver("nope"); !errors.Is(err, webhooks.ErrNotFound) {
		t.Errorf("Redeliver of an unknown id: %v; want ErrNotFound", err)
	}

	d.SetSettings(webhooks.Settings{LateRate: 1, LateBy: time.Hour})
	d.Send(&webhooks.Delivery{ID: "late", Body: []byte(`{}`)})
	time.Sleep(20 * time.Millisecond)
	if n := rcv.count(); n != 1 {
		t.Fatalf("late copy arrived before the flush (%d POSTs)", n)
	}
	d.Flush()
	waitIdle(t, d)
	if n := rcv.count(); n != 2 {
		t.Errorf("after Flush: %d POSTs; want the late copy delivered", n)
	}
}

func TestNoURL(t *testing.T) {
	t.Parallel()
	d := newDispatcher(t, "", webhooks.Settings{MaxAttempts: 2})
	d.Send(&webhooks.Delivery{ID: "x", Body: []byte(`{}`)})
	waitIdle(t, d)
	if got := d.List()[0]; got.GaveUp != 1 || !strings.Contains(got.LastError, "no webhook URL") {
		t.Errorf("without a URL: %+v; want given up for want of a URL", got)
	}
	if url, st := d.Target(); url != "" || st.MaxAttempts != 2 {
		t.Errorf("Target() = %q, %+v", url, st)
	}
}

func TestNewID(t *testing.T) {
	t.Parallel()
	a, b := webhooks.NewID("whk_"), webhooks.NewID("whk_")
	if a == b || !strings.HasPrefix(a, "whk_") || len(a) != len("whk_")+24 {
		t.Errorf("NewID: %q, %q; want distinct whk_ ids of 24 hex digits", a, b)
	}
}

// A webhook still owed when the dispatcher closes stays pending (closing is not giving up), and a
// new dispatcher resumes it: one copy with the same id and body, delivered now.
func TestPendingSurvivesClose(t *testing.T) {
	t.Parallel()
	down := newReceiver(t, func(int64) int { return http.StatusServiceUnavailable })
	settled := make(chan struct{}, 16)
	first := webhooks.New(webhooks.Config{URL: down.srv.URL, Settings: webhooks.Settings{RetryBackoff: time.Hour}, Seed: 1,
		OnSettled: func() { settled <- struct{}{} }})
	first.Send(&webhooks.Delivery{ID: "owed", Topic: "receipt.created", Body: []byte(`{"id":"owed"}`)})
	first.Send(&webhooks.Delivery{ID: "dropped", Dropped: true, Body: []byte(`{}`)})
	testkit.Eventually(t, 5*time.Second, "a first attempt", func() bool { return down.count() > 0 })
	first.Close()
	pending := first.Pending()
	if len(pending) != 1 || pending[0].ID != "owed" {
		t.Fatalf("pending after Close = %+v; want the one owed webhook", pending)
	}
	if len(settled) != 0 {
		t.Errorf("OnSettled called %d times for a copy abandoned by Close; want 0", len(settled))
	}

	up := newReceiver(t, func(int64) int { return http.StatusOK })
	second := newDispatcher(t, up.srv.URL, webhooks.Settings{})
	second.Resume(pending)
	second.Resume(pending) // resuming twice does not send twice
	waitIdle(t, second)
	if up.count() != 1 || up.bodies[0] != `{"id":"owed"}` || up.heads[0].Get("X-Test-Id") != "owed" {
		t.Errorf("resumed delivery: %d POSTs %v; want the owed webhook once", up.count(), up.bodies)
	}
	if p := second.Pending(); len(p) != 0 {
		t.Errorf("pending after delivery = %+v; want none", p)
	}
}
