package loop

import (
	"fmt"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/retailbridge/retailbridge/pkg/testkit"
)

// openEnv serves a platform on dir; it is closed at the end of the test if not before.
func openEnv(tb testing.TB, dir string, opts Options) *env {
	tb.Helper()
	opts.StateDir = dir
	sb, err := Open(opts)
	if err != nil {
		tb.Fatal(err)
	}
	e := &env{sb: sb, srv: httptest.NewServer(sb)}
	tb.Cleanup(func() {
		e.srv.Close()
		e.sb.Close()
	})
	return e
}

// TestRestartKeepsThePlatform restarts the platform on the same state directory: the return,
// its label and its progress, the idempotency key's stored answer and the id counter survive,
// and the parcel under way resumes moving.
func TestRestartKeepsThePlatform(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	first := openEnv(t, dir, Options{Manual: true})
	var a returnDoc
	if resp := first.call(t, http.MethodPost, "/api/v1/returns", "k1", sampleReturn("rb-1"), &a); resp.StatusCode != http.StatusCreated {
		t.Fatalf("create: %d", resp.StatusCode)
	}
	var l labelDoc
	first.call(t, http.MethodPost, fmt.Sprintf("/api/v1/returns/%d/label", a.ID), "", nil, &l)
	if _, err := first.sb.Advance(fmt.Sprint(a.ID)); err != nil {
		t.Fatal(err)
	}
	first.srv.Close()
	first.sb.Close()

	second := openEnv(t, dir, Options{Delays: Delays{PreTransit: time.Millisecond, InTransit: time.Millisecond,
		OutForDelivery: time.Millisecond, Delivered: time.Millisecond}})
	var replay returnDoc
	resp := second.call(t, http.MethodPost, "/api/v1/returns", "k1", sampleReturn("rb-1"), &replay)
	if resp.Header.Get(HeaderReplayed) != "true" || replay.ID != a.ID {
		t.Errorf("repeat after restart: replayed %q, id %d; want the stored answer, id %d", resp.Header.Get(HeaderReplayed), replay.ID, a.ID)
	}
	var b returnDoc
	second.call(t, http.MethodPost, "/api/v1/returns", "k2", sampleReturn("rb-2"), &b)
	if b.ID <= a.ID || b.ID == l.ID {
		t.Errorf("new return after restart has id %d; want one after %d that no previous run issued", b.ID, a.ID)
	}
	waitUntil(t, "the parcel delivered after the restart", func() bool {
		st, ok := second.sb.Return(fmt.Sprint(a.ID))
		return ok && st.LabelStatus == LabelDelivered && st.LabelID == fmt.Sprint(l.ID)
	})
}

// waitUntil polls cond until it holds, failing the test after five seconds.
func waitUntil(tb testing.TB, what string, cond func() bool) {
	tb.Helper()
	testkit.Eventually(tb, 5*time.Second, what, cond)
}
