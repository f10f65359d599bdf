package idempotency

import (
	"context"
	"net"
	"net/http"
	"net/http/httptest"
	"os/exec"
	"strconv"
	"syscall"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/retailbridge/retailbridge/pkg/testkit"
)

// fastFailing returns a client tuned like the gateway's: short timeouts that the request
// context also bounds.
func fastFailing(t testing.TB, addr string) *redis.Client {
	t.Helper()
	rdb := redis.NewClient(&redis.Options{
		Addr: addr, ContextTimeoutEnabled: true,
		DialTimeout: 200 * time.Millisecond, ReadTimeout: 200 * time.Millisecond, WriteTimeout: 200 * time.Millisecond,
	})
	t.Cleanup(func() { _ = rdb.Close() })
	return rdb
}

// checkFailClosed checks that a mutating request is refused with 503 + Retry-After without
// executing, and that reads still pass.
func checkFailClosed(t *testing.T, a *app, do func(request) (testkit.Response, time.Duration), key string) {
	t.Helper()
	resp, took := do(request{keys: []string{key}, caller: partnerT1, body: `{}`})
	wantProblem(t, resp, http.StatusServiceUnavailable, ReasonStoreUnavailable)
	if ra, err := strconv.Atoi(resp.Header.Get("Retry-After")); err != nil || ra < 1 {
		t.Errorf("Retry-After = %q, want a positive number of seconds", resp.Header.Get("Retry-After"))
	}
	if !retryable(t, resp) {
		t.Error("503 problem is not marked retryable")
	}
	if n := a.executions(partnerT1, key); n != 0 {
		t.Errorf("handler ran %d times while the store was unavailable, want 0", n)
	}
	t.Logf("%s: refused with 503 after %v", key, took.Round(time.Millisecond))
	for _, m := range []string{http.MethodGet, http.MethodHead} {
		if resp, _ := do(request{method: m, caller: partnerT1}); resp.Status != http.StatusOK {
			t.Errorf("%s while the store is unavailable: status %d, want 200", m, resp.Status)
		}
	}
}

// ID-7 with nothing listening: mutating requests fail closed, reads work.
func TestStoreUnreachableFailsClosed(t *testing.T) {
	t.Parallel()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := l.Addr().String()
	_ = l.Close()

	a := newApp()
	srv := serve(t, testStore(t, fastFailing(t, addr), Options{Timeout: 300 * time.Millisecond}).Middleware(a))
	checkFailClosed(t, a, timed(t, srv), "closed-port")
}

// ID-7 against a real redis-server this test starts: it works, then stops answering (SIGSTOP:
// requests time out), then dies (SIGKILL: connections refused). Meanwhile mutating requests
// fail closed and reads work.
func TestStoreOutageFailsClosed(t *testing.T) {
	t.Parallel()
	path, err := exec.LookPath("redis-server")
	if err != nil {
		t.Skip("redis-server not installed; scripts/with-redis.sh installs it")
	}
	cmd, addr := startRedisServer(t, path)
	rdb := fastFailing(t, addr)

	a := newApp()
	a.respond = func(w http.ResponseWriter, r *http.Request, body []byte, n int64) {
		if r.Header.Get(HeaderKey) == "stops-redis" {
			// The store goes away while the request executes: storing the result fails.
			if err := cmd.Process.Signal(syscall.SIGSTOP); err != nil {
				t.Error(err)
			}
		}
		writeCreated(w, r, body, n)
	}
	srv := serve(t, testStore(t, rdb, Options{Timeout: 300 * time.Millisecond}).Middleware(a))
	do := timed(t, srv)

	if resp, _ := do(request{keys: []string{"healthy"}, caller: partnerT1, body: `{}`}); resp.Status != http.StatusCreated {
		t.Fatalf("with Redis up: status %d (%s), want 201", resp.Status, resp.Body)
	}
	// The handler's own answer is delivered even though it could not be stored.
	resp, _ := do(request{keys: []string{"stops-redis"}, caller: partnerT1, body: `{}`})
	if resp.Status != http.StatusCreated || resp.Header.Get(HeaderReplayed) != "" {
		t.Errorf("store lost mid-request: status %d, replayed %q; want the handler's own 201", resp.Status, resp.Header.Get(HeaderReplayed))
	}
	checkFailClosed(t, a, do, "redis-stopped")

	if err := cmd.Process.Kill(); err != nil {
		t.Fatal(err)
	}
	_ = cmd.Wait()
	checkFailClosed(t, a, do, "redis-killed")
}

// timed returns a sender to srv that reports each call's duration.
func timed(t *testing.T, srv *httptest.Server) func(request) (testkit.Response, time.Duration) {
	return func(q request) (testkit.Response, time.Duration) {
		t.Helper()
		start := time.Now()
		resp := mustSend(t, srv, q)
		return resp, time.Since(start)
	}
}

// startRedisServer starts redis-server on a free port and stops exactly that process when the
// test ends.
func startRedisServer(t *testing.T, path string) (*exec.Cmd, string) {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	port := strconv.Itoa(l.Addr().(*net.TCPAddr).Port)
	_ = l.Close()
	cmd := exec.Command(path, "--bind", "127.0.0.1", "--port", port, "--save", "", "--appendonly", "no",
		"--daemonize", "no", "--loglevel", "warning")
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		_ = cmd.Process.Kill() // also ends a stopped process
		_ = cmd.Wait()
	})
	addr := net.JoinHostPort("127.0.0.1", port)
	probe := redis.NewClient(&redis.Options{Addr: addr, MaxRetries: -1})
	defer probe.Close()
	for deadline := time.Now().Add(5 * time.Second); ; time.Sleep(20 * time.Millisecond) {
		ctx, cancel := context.WithTimeout(t.Context(), time.Second)
		err := probe.Ping(ctx).Err()
		cancel()
		if err == nil {
			return cmd, addr
		}
		if time.Now().After(deadline) {
			t.Fatalf("redis-server on %s did not start: %v", addr, err)
		}
	}
}
