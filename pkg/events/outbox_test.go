package events

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"google.golang.org/protobuf/testing/protocmp"
	"google.golang.org/protobuf/types/known/anypb"
	"google.golang.org/protobuf/types/known/timestamppb"

	"github.com/retailbridge/retailbridge/pkg/errs"
	canonicalv1 "github.com/retailbridge/retailbridge/pkg/gen/retailbridge/canonical/v1"
	"github.com/retailbridge/retailbridge/pkg/store"
	"github.com/retailbridge/retailbridge/pkg/store/storetest"
	"github.com/retailbridge/retailbridge/pkg/telemetry"
)

func TestEncodeDecode(t *testing.T) {
	t.Parallel()
	data, err := anypb.New(&canonicalv1.Money{AmountMinor: 4899, CurrencyCode: "USD"})
	if err != nil {
		t.Fatal(err)
	}
	ev := &canonicalv1.Event{Id: "e1", Source: "retailbridge/process/returns", Type: "retailbridge.returns.refund.approved.v1",
		Time: timestamppb.New(time.Date(2026, 11, 27, 11, 0, 0, 0, time.UTC)), Subject: "return/1", CorrelationId: "c1",
		Traceparent: "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01", Data: data, SpecVersion: 1}
	raw, err := Encode(ev)
	if err != nil {
		t.Fatal(err)
	}
	got, err := Decode(raw)
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(ev, got, protocmp.Transform()); diff != "" {
		t.Errorf("round trip (-want +got):\n%s", diff)
	}
	for name, raw := range map[string][]byte{"garbage": []byte("{not proto"), "no id": mustEncode(t, &canonicalv1.Event{Type: "x"})} {
		if _, err := Decode(raw); err == nil {
			t.Errorf("Decode(%s) succeeded, want an error", name)
		}
	}
}

func mustEncode(t *testing.T, ev *canonicalv1.Event) []byte {
	t.Helper()
	b, err := Encode(ev)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func TestBackoff(t *testing.T) {
	t.Parallel()
	b := Backoff{Initial: 100 * time.Millisecond, Max: time.Second}
	tests := []struct {
		name     string
		attempt  int
		cause    error
		min, max time.Duration
	}{
		{"first", 1, nil, 50 * time.Millisecond, 100 * time.Millisecond},
		{"third", 3, nil, 200 * time.Millisecond, 400 * time.Millisecond},
		{"capped", 10, nil, 500 * time.Millisecond, time.Second},
		{"huge attempt", 1000, nil, 500 * time.Millisecond, time.Second},
		{"retry-after wins", 1, errs.E(errs.Unavailable, "erp_down", "").WithRetryAfter(5 * time.Second), 5 * time.Second, 5 * time.Second},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			for range 100 {
				if got := b.Delay(tc.attempt, tc.cause); got < tc.min || got > tc.max {
					t.Fatalf("Delay(%d) = %v, want within [%v, %v]", tc.attempt, got, tc.min, tc.max)
				}
			}
		})
	}
}

func TestOutboxAdd(t *testing.T) {
	t.Parallel()
	for _, d := range storetest.Dialects {
		t.Run(d.String(), func(t *testing.T) {
			t.Parallel()
			ctx := testCtx(t)
			db := storetest.Open(t, d, store.Options{})
			for range 2 {
				if err := Migrate(ctx, db); err != nil {
					t.Fatalf("Migrate: %v", err)
				}
			}
			now := time.Date(2026, 11, 27, 11, 0, 0, 0, time.UTC)
			o := NewOutbox(func() time.Time { return now })
			add := func(ctx context.Context, ev *canonicalv1.Event) error {
				return db.InTx(ctx, func(tx *store.Tx) error { return o.Add(ctx, tx, ev) })
			}

			for name, ev := range map[string]*canonicalv1.Event{
				"nil":              nil,
				"no type":          {Source: "s"},
				"no source":        {Type: "retailbridge.returns.created.v1"},
				"wildcard type":    {Type: "retailbridge.returns.*", Source: "s"},
				"foreign type":     {Type: "shopify.orders.create", Source: "s"},
				"dead-letter type": {Type: "retailbridge.dlq.x", Source: "s"},
			} {
				if err := add(ctx, ev); errs.KindOf(err) != errs.Invalid {
					t.Errorf("Add(%s) = %v, want an invalid error", name, err)
				}
			}

			cctx := telemetry.WithCorrelationID(ctx, "corr-42")
			ev := &canonicalv1.Event{Type: "retailbridge.returns.created.v1", Source: "retailbridge/process/returns"}
			if err := add(cctx, ev); err != nil {
				t.Fatal(err)
			}
			if ev.GetId() == "" || !ev.GetTime().AsTime().Equal(now) || ev.GetCorrelationId() != "corr-42" || ev.GetSpecVersion() != 1 {
				t.Errorf("Add filled %+v; want an id, the clock's time, corr-42 and spec version 1", ev)
			}

			dup := &canonicalv1.Event{Id: ev.GetId(), Type: ev.GetType(), Source: ev.GetSource()}
			if err := add(ctx, dup); errs.KindOf(err) != errs.AlreadyExists {
				t.Errorf("Add(same id) = %v, want already exists", err)
			}

			boom := errors.New("boom")
			err := db.InTx(ctx, func(tx *store.Tx) error {
				if err := o.Add(ctx, tx, event("rolled-back", "retailbridge.returns.created.v1", "")); err != nil {
					return err
				}
				return boom
			})
			if !errors.Is(err, boom) {
				t.Fatal(err)
			}
			var rows int
			if err := db.QueryRow(ctx, "SELECT count(*) FROM rb_outbox").Scan(&rows); err != nil {
				t.Fatal(err)
			}
			if rows != 1 {
				t.Errorf("outbox rows = %d, want 1 (the rolled-back event must not be recorded)", rows)
			}
		})
	}
}
