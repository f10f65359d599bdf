package idempotency

import (
	"log/slog"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/retailbridge/retailbridge/pkg/testkit"
)

// testClock is a settable clock: in-process records expire by Options.Now.
type testClock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *testClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

func (c *testClock) advance(d time.Duration) {
	c.mu.Lock()
	c.t = c.t.Add(d)
	c.mu.Unlock()
}

// memStore is an in-process store with no Redis at all: a script call would panic on the nil
// client, so every test here also proves no Redis round trip happens.
func memStore(t testing.TB, clk *testClock, opts Options) *Store {
	t.Helper()
	opts.InProcess, opts.Now = true, clk.Now
	opts.Logger = slog.New(slog.NewTextHandler(t.Output(), nil))
	return New(nil, opts)
}

// Concurrent duplicates in process: one executes, every other gets 409 in flight while it runs,
// and afterwards the stored response is replayed; a different body is refused with 422 in
// flight and after.
func TestInProcessConcurrentDuplicatesExecuteOnce(t *testing.T) {
	t.Parallel()
	const concurrency = 50
	a := newApp()
	hold := make(chan struct{})
	a.respond = func(w http.ResponseWriter, r *http.Request, body []byte, n int64) {
		<-hold
		writeCreated(w, r, body, n)
	}
	srv := serve(t, memStore(t, &testClock{t: time.Unix(1e9, 0)}, Options{}).Middleware(a))
	q := request{keys: []string{"dup-1"}, caller: partnerT1, body: `{"amount":"10.00"}`}

	results := make(chan testkit.Response, concurrency)
	var wg sync.WaitGroup
	for range concurrency {
		wg.Go(func() {
			resp, err := send(t.Context(), srv, q)
			if err != nil {
				t.Error(err)
			}
			results <- resp
		})
	}
	statuses := map[int]int{}
	for range concurrency - 1 { // the held original answers last
		resp := <-results
		statuses[resp.Status]++
		if resp.Status == http.StatusConflict && (resp.Header.Get("Retry-After") == "" || !strings.Contains(string(resp.Body), ReasonInFlight)) {
			t.Errorf("malformed in-flight conflict: %v %s", resp.Header, resp.Body)
		}
	}
	other := q
	other.body = `{"amount":"99.00"}`
	wantProblem(t, mustSend(t, srv, other), http.StatusUnprocessableEntity, ReasonKeyReused)
	close(hold)
	wg.Wait()
	first := <-results
	statuses[first.Status]++
	if diff := cmp.Diff(map[int]int{http.StatusConflict: concurrency - 1, http.StatusCreated: 1}, statuses); diff != "" {
		t.Errorf("statuses (-want +got):\n%s", diff)
	}
	replay := mustSend(t, srv, q)
	if diff := cmp.Diff(viewOf(first), viewOf(replay)); diff != "" || replay.Header.Get(HeaderReplayed) != "true" {
		t.Errorf("replay differs (-first +replay):\n%s (replayed %q)", diff, replay.Header.Get(HeaderReplayed))
	}
	if c := replay.Header.Get("Set-Cookie"); c != "" {
		t.Errorf("replay carries Set-Cookie %q", c)
	}
	wantProblem(t, mustSend(t, srv, other), http.StatusUnprocessableEntity, ReasonKeyReused)
	if n := a.executions(partnerT1, "dup-1"); n != 1 {
		t.Errorf("executions = %d, want 1", n)
	}
}

// A lock expires after LockTTL (a hung request no longer blocks its key), the late original
// does not overwrite the record of the request that took over, and a record expires after
// Retention.
func TestInProcessExpiry(t *testing.T) {
	t.Parallel()
	clk := &testClock{t: time.Unix(1e9, 0)}
	a := newApp()
	started, wake := make(chan struct{}), make(chan struct{})
	a.respond = func(w http.ResponseWriter, r *http.Request, body []byte, n int64) {
		if n == 1 {
			close(started)
			<-wake
		}
		writeCreated(w, r, body, n)
	}
	srv := serve(t, memStore(t, clk, Options{LockTTL: 30 * time.Second, Retention: time.Hour}).Middleware(a))
	q := request{keys: []string{"exp-1"}, caller: partnerT1, body: `{}`}
	hungc := make(chan testkit.Response, 1)
	go func() {
		resp, _ := send(t.Context(), srv, q)
		hungc <- resp
	}()
	<-started
	wantProblem(t, mustSend(t, srv, q), http.StatusConflict, ReasonInFlight)
	clk.advance(30 * time.Second)
	took := mustSend(t, srv, q)
	if took.Status != http.StatusCreated || took.Header.Get(HeaderReplayed) != "" {
		t.Fatalf("after LockTTL: status %d, want a fresh 201", took.Status)
	}
	close(wake)
	if late := <-hungc; late.Status != http.StatusCreated {
		t.Errorf("late original: status %d, want its own 201", late.Status)
	}
	if replay := mustSend(t, srv, q); replay.Header.Get(HeaderReplayed) != "true" || string(replay.Body) != string(took.Body) {
		t.Errorf("replay = %s, want the record of the request that took over: %s", replay.Body, took.Body)
	}
	clk.advance(time.Hour - time.Millisecond)
	if replay := mustSend(t, srv, q); replay.Header.Get(HeaderReplayed) != "true" {
		t.Errorf("just before Retention: status %d, want a replay", replay.Status)
	}
	clk.advance(time.Millisecond)
	if again := mustSend(t, srv, q); again.Status != http.StatusCreated || again.Header.Get(HeaderReplayed) != "" {
		t.Errorf("after Retention: status %d replayed %q, want a new execution", again.Status, again.Header.Get(HeaderReplayed))
	}
	if n := a.executions(partnerT1, "exp-1"); n != 3 {
		t.Errorf("executions = %d, want 3 (original, takeover after LockTTL, new one after Retention)", n)
	}
}

// The store is bounded: with every record slot unexpired a new key is refused (503, nothing
// executes), a body past the byte budget is kept as "executed, not stored" (never re-executed),
// and expired records make room again. Statuses that are not stored free their key.
func TestInProcessBounds(t *testing.T) {
	t.Parallel()
	clk := &testClock{t: time.Unix(1e9, 0)}
	a := newApp()
	a.respond = func(w http.ResponseWriter, r *http.Request, body []byte, n int64) {
		if strings.Contains(string(body), "bad") {
			w.WriteHeader(http.StatusBadRequest)
			return
		}
		writeCreated(w, r, body, n)
	}
	srv := serve(t, memStore(t, clk, Options{MaxRecords: 2, MaxRecordBytes: 300, Retention: time.Minute}).Middleware(a))
	send := func(key, body string) testkit.Response {
		return mustSend(t, srv, request{keys: []string{key}, caller: partnerT1, body: body})
	}
	if r := send("b-bad", `{"bad":1}`); r.Status != http.StatusBadRequest {
		t.Fatalf("bad request: status %d", r.Status)
	}
	if r := send("b-1", `{}`); r.Status != http.StatusCreated {
		t.Fatalf("first key: status %d", r.Status)
	}
	big := `{"pad":"` + strings.Repeat("x", 300) + `"}` // echoed in the response: past the byte budget
	if r := send("b-2", big); r.Status != http.StatusCreated {
		t.Fatalf("second key: status %d", r.Status)
	}
	wantProblem(t, send("b-2", big), http.StatusConflict, ReasonResponseNotStored)
	wantProblem(t, send("b-3", `{}`), http.StatusServiceUnavailable, ReasonStoreUnavailable)
	if r := send("b-1", `{}`); r.Header.Get(HeaderReplayed) != "true" {
		t.Errorf("b-1 while full: status %d, want a replay", r.Status)
	}
	clk.advance(time.Minute)
	if r := send("b-3", `{}`); r.Status != http.StatusCreated {
		t.Errorf("b-3 after the others expired: status %d, want 201", r.Status)
	}
	want := map[string]int{"b-bad": 1, "b-1": 1, "b-2": 1, "b-3": 1}
	got := map[string]int{}
	for k := range want {
		got[k] = a.executions(partnerT1, k)
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("executions (-want +got):\n%s", diff)
	}
	if r := send("b-bad", `{"bad":1}`); r.Status != http.StatusBadRequest || a.executions(partnerT1, "b-bad") != 2 {
		t.Errorf("a released key did not execute again: status %d", r.Status)
	}
}

// An in-process store writes its outcomes through to Redis in the scripts' layout and reads
// them back when it starts, so a retry after a restart (the development stack snapshots its
// embedded Redis) still replays, a different body is still refused, and a store on the scripts
// reads the same records.
func TestInProcessRecordsSurviveRestart(t *testing.T) {
	t.Parallel()
	rdb := testRedis(t)
	prefix := testPrefix(t, rdb)
	a := newApp()
	opts := Options{InProcess: true, KeyPrefix: prefix}
	first := serve(t, testStore(t, rdb, opts).Middleware(a))
	q := request{keys: []string{"restart-1"}, caller: partnerT1, body: `{"n":1}`}
	orig := mustSend(t, first, q)
	if orig.Status != http.StatusCreated {
		t.Fatalf("first: status %d", orig.Status)
	}
	for name, o := range map[string]Options{"restarted in process": opts, "on the scripts": {KeyPrefix: prefix}} {
		srv := serve(t, testStore(t, rdb, o).Middleware(a))
		replay := mustSend(t, srv, q)
		if diff := cmp.Diff(viewOf(orig), viewOf(replay)); diff != "" || replay.Header.Get(HeaderReplayed) != "true" {
			t.Errorf("%s: replay differs (-first +replay):\n%s", name, diff)
		}
		other := q
		other.body = `{"n":2}`
		wantProblem(t, mustSend(t, srv, other), http.StatusUnprocessableEntity, ReasonKeyReused)
	}
	if n := a.executions(partnerT1, "restart-1"); n != 1 {
		t.Errorf("executions = %d, want 1", n)
	}
}
