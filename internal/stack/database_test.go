package stack

import (
	"context"
	"log/slog"
	"sync"
	"testing"

	"github.com/retailbridge/retailbridge/pkg/config"
)

// A service's database is opened once per process, however many components ask for it (the
// order store, the order workflow and settlement all use "orders"), so that their SQLite
// transactions share one writer and one group commit.
func TestDatabaseIsOpenedOncePerService(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	s := &Stack{opts: Options{Ephemeral: true, Config: config.Config{DataDir: t.TempDir()}},
		logger: slog.New(slog.DiscardHandler), startCtx: ctx, ctx: ctx}
	defer func() {
		for _, c := range s.closers {
			c()
		}
	}()
	var wg sync.WaitGroup
	got := make([]any, 3)
	for i := range got {
		wg.Go(func() {
			db, err := s.database(ctx, "orders")
			if err != nil {
				t.Error(err)
			}
			got[i] = db
		})
	}
	wg.Wait()
	if got[0] == nil || got[0] != got[1] || got[1] != got[2] {
		t.Fatalf("three components asking for the orders database got %v", got)
	}
	other, err := s.database(ctx, "returns")
	if err != nil {
		t.Fatal(err)
	}
	if any(other) == got[0] {
		t.Fatal("the returns database is the orders handle")
	}
	if len(s.closers) != 2 {
		t.Fatalf("%d handles to close, want 2 (one per database)", len(s.closers))
	}
}
