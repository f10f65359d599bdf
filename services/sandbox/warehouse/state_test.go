package warehouse

import (
	"net/http"
	"net/http/httptest"
	"testing"
	"time"
)

// restartEnv serves a warehouse on dir, closing it at the end of the test unless closed first.
func restartEnv(tb testing.TB, e *env, dir string, opts Options) *env {
	tb.Helper()
	opts.StateDir = dir
	sb, err := Open(e.ds, opts)
	if err != nil {
		tb.Fatal(err)
	}
	n := &env{ds: e.ds, sb: sb, srv: httptest.NewServer(sb)}
	tb.Cleanup(func() {
		n.srv.Close()
		n.sb.Close()
	})
	return n
}

// TestRestartKeepsTheWarehouse restarts the warehouse on the same state directory: receipts and
// their progress, claimed references and keys, stock, and the id counter survive, and a parcel
// that was under way resumes.
func TestRestartKeepsTheWarehouse(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	first := restartEnv(t, &env{ds: newEnv(t, Options{Manual: true}).ds}, dir, Options{Manual: true})
	var a, b receiptDoc
	if resp := first.call(t, http.MethodPost, "/v1/inbound/returns", "k1", sampleExpect("ret_1"), &a); resp.StatusCode != http.StatusCreated {
		t.Fatalf("expect ret_1: %d", resp.StatusCode)
	}
	first.call(t, http.MethodPost, "/v1/inbound/returns", "", sampleExpect("ret_2"), &b)
	if err := first.sb.Receive(a.ID); err != nil {
		t.Fatal(err)
	}
	stockBefore := first.sb.Position("dc-east", "APP-000")
	first.srv.Close()
	first.sb.Close()

	second := restartEnv(t, first, dir, Options{Manual: true})
	var replay receiptDoc
	if resp := second.call(t, http.MethodPost, "/v1/inbound/returns", "k1", sampleExpect("ret_1"), &replay); resp.StatusCode != http.StatusOK ||
		replay.ID != a.ID {
		t.Errorf("repeat of ret_1 after restart: %d %s; want 200 with %s", resp.StatusCode, replay.ID, a.ID)
	}
	if got := second.sb.Position("dc-east", "APP-000"); got[StateQualityControl] != stockBefore[StateQualityControl] {
		t.Errorf("quality control after restart = %d; want %d", got[StateQualityControl], stockBefore[StateQualityControl])
	}
	var c receiptDoc
	second.call(t, http.MethodPost, "/v1/inbound/returns", "", sampleExpect("ret_3"), &c)
	if c.ID == a.ID || c.ID == b.ID {
		t.Errorf("new receipt after restart got id %s; want one no previous run issued (%s, %s)", c.ID, a.ID, b.ID)
	}
	second.srv.Close()
	second.sb.Close()

	third := restartEnv(t, second, dir, Options{Delays: Delays{Receive: time.Millisecond, Inspect: time.Millisecond}})
	for _, id := range []string{a.ID, b.ID, c.ID} {
		waitUntil(t, id+" inspected", func() bool { r, _ := third.sb.Receipt(id); return r.Status == ReceiptInspected })
	}
}

// A webhook the receiver had not taken when the warehouse stopped is delivered by the restarted
// warehouse, under the same delivery id.
func TestRestartDeliversOwedWebhooks(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	down := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		w.WriteHeader(http.StatusServiceUnavailable)
	}))
	t.Cleanup(down.Close)
	base := newEnv(t, Options{Manual: true})
	first := restartEnv(t, base, dir, Options{Manual: true, WebhookURL: down.URL, Delivery: DeliverySettings{RetryBackoff: time.Hour}})
	var rc receiptDoc
	first.call(t, http.MethodPost, "/v1/inbound/returns", "", sampleExpect("ret_1"), &rc)
	if err := first.sb.Receive(rc.ID); err != nil {
		t.Fatal(err)
	}
	owed := first.sb.Webhooks()
	if len(owed) == 0 {
		t.Fatal("no webhook raised before the restart")
	}
	first.srv.Close()
	first.sb.Close()

	restartEnv(t, base, dir, Options{Manual: true, WebhookURL: base.sb.opts.WebhookURL})
	waitUntil(t, "the owed webhooks delivered", func() bool { return len(base.received()) >= len(owed) })
	got := map[string]bool{}
	for _, r := range base.received() {
		got[r.header.Get(HeaderDeliveryID)] = true
	}
	for _, d := range owed {
		if !got[d.ID] {
			t.Errorf("webhook %s (%s) owed before the restart was not delivered after it", d.ID, d.Topic)
		}
	}
}
