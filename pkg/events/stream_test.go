package events

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/nats-io/nats-server/v2/server"
	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/retailbridge/retailbridge/pkg/events/eventstest"
)

func streamConfig(t testing.TB, js jetstream.JetStream, name string) jetstream.StreamConfig {
	t.Helper()
	s, err := js.Stream(testCtx(t), name)
	if err != nil {
		t.Fatalf("stream %s: %v", name, err)
	}
	info, err := s.Info(testCtx(t))
	if err != nil {
		t.Fatalf("stream %s info: %v", name, err)
	}
	return info.Config
}

// A service configured for one replica (the embedded default) starting against a cluster whose
// streams run with three keeps them at three: startup never scales a stream back.
func TestEnsureStreamKeepsMoreReplicasOnACluster(t *testing.T) {
	t.Parallel()
	ctx := testCtx(t)
	cluster := eventstest.StartCluster(t, 3)
	_, js := cluster.Connect(t)
	operator := WithStreamDefaults(js, StreamOptions{Replicas: 3})
	// The cluster may still be gathering its peers right after the meta leader is elected.
	waitFor(t, 30*time.Second, "a 3-replica stream", func() bool {
		_, err := EnsureStream(ctx, operator, "returns", StreamOptions{Duplicates: 10 * time.Minute})
		return err == nil
	})
	if _, err := EnsureDeadLetterStream(ctx, operator, StreamOptions{}); err != nil {
		t.Fatalf("dead-letter stream with 3 replicas: %v", err)
	}

	service := WithStreamDefaults(js, StreamOptions{Replicas: 1})
	if _, err := EnsureStream(ctx, service, "returns", StreamOptions{}); err != nil {
		t.Fatalf("ensure with replicas=1: %v", err)
	}
	if _, err := EnsureDeadLetterStream(ctx, service, StreamOptions{}); err != nil {
		t.Fatalf("ensure dead letters with replicas=1: %v", err)
	}
	// Publish creates missing streams on first use with the handle's replicas.
	if _, err := Publish(ctx, operator, event("ev-1", "retailbridge.wms.receipt.recorded.v1", "x")); err != nil {
		t.Fatalf("publish: %v", err)
	}
	// The webhook memory's bucket is replicated like the streams, and kept so.
	if err := NewDeliveryMemory(operator).Remember(ctx, "shopify", "d-1"); err != nil {
		t.Fatalf("remember with 3 replicas: %v", err)
	}
	if seen, err := NewDeliveryMemory(service).Seen(ctx, "shopify", "d-1"); err != nil || !seen {
		t.Fatalf("seen through a replicas=1 service: %v, %v; want true", seen, err)
	}
	for name, want := range map[string]int{StreamName("returns"): 3, DeadLetterStream: 3, StreamName("wms"): 3,
		"KV_" + DeliveryBucket("shopify"): 3} {
		if got := streamConfig(t, js, name).Replicas; got != want {
			t.Errorf("%s replicas = %d, want %d", name, got, want)
		}
	}
	if got := streamConfig(t, js, StreamName("returns")).Duplicates; got != 10*time.Minute {
		t.Errorf("duplicate window = %v, want the existing 10m kept", got)
	}
}

// What cannot be reconciled without losing messages stops the service with both values named;
// what is weaker is raised; what is stronger stays.
func TestEnsureStreamNeverWeakens(t *testing.T) {
	t.Parallel()
	ctx := testCtx(t)
	_, js := eventstest.Start(t).Connect(t)
	create := func(cfg jetstream.StreamConfig) {
		t.Helper()
		if _, err := js.CreateStream(ctx, cfg); err != nil {
			t.Fatalf("create %s: %v", cfg.Name, err)
		}
	}
	create(jetstream.StreamConfig{Name: StreamName("interest"), Subjects: []string{DomainSubjects("interest")},
		Retention: jetstream.InterestPolicy, Storage: jetstream.FileStorage})
	create(jetstream.StreamConfig{Name: StreamName("memory"), Subjects: []string{DomainSubjects("memory")},
		Retention: jetstream.LimitsPolicy, Storage: jetstream.MemoryStorage})
	create(jetstream.StreamConfig{Name: StreamName("capped"), Subjects: []string{"retailbridge.capped.old"},
		Retention: jetstream.LimitsPolicy, Storage: jetstream.FileStorage, MaxAge: time.Hour, Duplicates: 30 * time.Second,
		MaxMsgs: 10, MaxBytes: 1 << 20})
	create(jetstream.StreamConfig{Name: StreamName("roomy"), Subjects: []string{DomainSubjects("roomy")},
		Retention: jetstream.LimitsPolicy, Storage: jetstream.FileStorage, Duplicates: 72 * time.Hour, MaxAge: 0,
		Discard: jetstream.DiscardNew})

	for domain, want := range map[string][]string{
		"interest": {"retention", `"interest"`, `"limits"`},
		"memory":   {"storage", `"memory"`, `"file"`},
	} {
		_, err := EnsureStream(ctx, js, domain, StreamOptions{})
		if err == nil {
			t.Errorf("%s: ensure succeeded; want it refused", domain)
			continue
		}
		for _, w := range want {
			if !strings.Contains(err.Error(), w) {
				t.Errorf("%s: error %q does not name %s", domain, err, w)
			}
		}
	}
	if got := streamConfig(t, js, StreamName("interest")).Retention; got != jetstream.InterestPolicy {
		t.Errorf("refused stream's retention changed to %v", got)
	}

	if _, err := EnsureStream(ctx, js, "capped", StreamOptions{}); err != nil {
		t.Fatalf("ensure capped: %v", err)
	}
	got := streamConfig(t, js, StreamName("capped"))
	if got.MaxAge != 0 || got.MaxMsgs > 0 || got.MaxBytes > 0 || got.Duplicates != DefaultDuplicateWindow {
		t.Errorf("capped stream: max age %v, max msgs %d, max bytes %d, duplicates %v; want limits raised to none and the window to %v",
			got.MaxAge, got.MaxMsgs, got.MaxBytes, got.Duplicates, DefaultDuplicateWindow)
	}
	if want := []string{DomainSubjects("capped")}; strings.Join(got.Subjects, ",") != strings.Join(want, ",") {
		t.Errorf("subjects = %v, want %v", got.Subjects, want)
	}

	if _, err := EnsureStream(ctx, js, "roomy", StreamOptions{MaxAge: 24 * time.Hour}); err != nil {
		t.Fatalf("ensure roomy: %v", err)
	}
	got = streamConfig(t, js, StreamName("roomy"))
	if got.Duplicates != 72*time.Hour || got.MaxAge != 0 || got.Discard != jetstream.DiscardNew {
		t.Errorf("roomy stream: duplicates %v, max age %v, discard %v; want 72h, none and the operator's discard-new kept",
			got.Duplicates, got.MaxAge, got.Discard)
	}
}

func TestStrengthen(t *testing.T) {
	t.Parallel()
	base := jetstream.StreamConfig{Name: "S", Subjects: []string{"a.>"}, Retention: jetstream.LimitsPolicy,
		Storage: jetstream.FileStorage, Replicas: 1, Duplicates: 2 * time.Minute, MaxMsgs: -1, MaxBytes: -1}
	with := func(f func(*jetstream.StreamConfig)) jetstream.StreamConfig {
		c := base
		c.Subjects = []string{"a.>"}
		f(&c)
		return c
	}
	tests := []struct {
		name        string
		have, want  jetstream.StreamConfig
		wantChanged bool
		check       func(jetstream.StreamConfig) bool
		wantErr     string
	}{
		{"same", base, base, false, func(c jetstream.StreamConfig) bool { return c.Replicas == 1 }, ""},
		{"more replicas kept", with(func(c *jetstream.StreamConfig) { c.Replicas = 3 }), base, false,
			func(c jetstream.StreamConfig) bool { return c.Replicas == 3 }, ""},
		{"fewer replicas raised", base, with(func(c *jetstream.StreamConfig) { c.Replicas = 3 }), true,
			func(c jetstream.StreamConfig) bool { return c.Replicas == 3 }, ""},
		{"longer age kept", with(func(c *jetstream.StreamConfig) { c.MaxAge = 0 }), with(func(c *jetstream.StreamConfig) { c.MaxAge = time.Hour }), false,
			func(c jetstream.StreamConfig) bool { return c.MaxAge == 0 }, ""},
		{"larger cap kept", with(func(c *jetstream.StreamConfig) { c.MaxBytes = 1 << 30 }), with(func(c *jetstream.StreamConfig) { c.MaxBytes = 1 << 20 }), false,
			func(c jetstream.StreamConfig) bool { return c.MaxBytes == 1<<30 }, ""},
		{"subject added", base, with(func(c *jetstream.StreamConfig) { c.Subjects = []string{"b.>"} }), true,
			func(c jetstream.StreamConfig) bool { return len(c.Subjects) == 2 }, ""},
		{"covering wildcard replaces", with(func(c *jetstream.StreamConfig) { c.Subjects = []string{"a.b.c", "x"} }), base, true,
			func(c jetstream.StreamConfig) bool { return strings.Join(c.Subjects, ",") == "x,a.>" }, ""},
		{"covered subject not added", with(func(c *jetstream.StreamConfig) { c.Subjects = []string{">"} }), base, false,
			func(c jetstream.StreamConfig) bool { return strings.Join(c.Subjects, ",") == ">" }, ""},
		{"workqueue refused", with(func(c *jetstream.StreamConfig) { c.Retention = jetstream.WorkQueuePolicy }), base, false, nil,
			`retention is "workqueue", this service needs "limits"`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, changed, err := Strengthen(tt.have, tt.want)
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("err = %v, want one containing %q", err, tt.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if changed != tt.wantChanged || !tt.check(got) {
				t.Errorf("got %+v changed=%v, want changed=%v and the check to hold", got, changed, tt.wantChanged)
			}
		})
	}
}

// A service starting while the bus cannot answer yet (JetStream still starting, a cluster still
// placing replicas, a leader election) waits for it within its context instead of failing on the
// first unanswered request.
func TestEnsureStreamWaitsForJetStreamToAnswer(t *testing.T) {
	t.Parallel()
	srv, err := server.NewServer(&server.Options{Host: "127.0.0.1", Port: server.RANDOM_PORT, NoLog: true, NoSigs: true})
	if err != nil {
		t.Fatal(err)
	}
	go srv.Start()
	t.Cleanup(srv.Shutdown)
	if !srv.ReadyForConnections(10 * time.Second) {
		t.Fatal("nats server not ready")
	}
	nc, err := nats.Connect(srv.ClientURL())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(nc.Close)
	js, err := jetstream.New(nc)
	if err != nil {
		t.Fatal(err)
	}
	// Nothing answers the JetStream API yet: a short context ends with the cause named.
	short, cancel := context.WithTimeout(context.Background(), 600*time.Millisecond)
	defer cancel()
	if _, err := EnsureStream(short, js, "returns", StreamOptions{}); err == nil || !strings.Contains(err.Error(), "no responders") {
		t.Fatalf("ensure with nothing answering: %v, want the unanswered request named", err)
	}
	enabled := make(chan error, 1)
	time.AfterFunc(500*time.Millisecond, func() {
		enabled <- srv.EnableJetStream(&server.JetStreamConfig{StoreDir: t.TempDir()})
	})
	if _, err := EnsureStream(testCtx(t), js, "returns", StreamOptions{}); err != nil {
		t.Fatalf("ensure while JetStream comes up: %v", err)
	}
	if err := <-enabled; err != nil {
		t.Fatal(err)
	}
	if got := streamConfig(t, js, StreamName("returns")).Subjects; len(got) != 1 {
		t.Errorf("stream subjects %v", got)
	}
}
