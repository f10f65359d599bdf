package store

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/retailbridge/retailbridge/pkg/testkit"
)

func (g *group) waiting() int {
	g.mu.Lock()
	defer g.mu.Unlock()
	return len(g.queue)
}

func insertRow(ctx context.Context, tx *Tx, name string) error {
	_, err := tx.Exec(ctx, `INSERT INTO claims (order_id, n) VALUES ($1, 1)`, name)
	return err
}

func rowsNamed(t *testing.T, db *DB) map[string]int {
	t.Helper()
	rows, err := db.Query(context.Background(), `SELECT order_id, COUNT(*) FROM claims GROUP BY order_id`)
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	got := map[string]int{}
	for rows.Next() {
		var name string
		var n int
		if err := rows.Scan(&name, &n); err != nil {
			t.Fatal(err)
		}
		got[name] = n
	}
	return got
}

// Transactions queued behind one that holds the writer share its commit; one that fails, panics
// or gives up while queued leaves nothing behind and takes nothing of the others' with it.
func TestGroupCommitSharesOneCommit(t *testing.T) {
	db := openSQLiteFile(t)
	db.group.maxAge = time.Hour // the first member holds the group open on purpose
	ctx := context.Background()
	tx0, c0 := db.Commits()

	hold, holding := make(chan struct{}), make(chan struct{})
	var wg sync.WaitGroup
	errc := make(chan error, 32)
	wg.Go(func() {
		errc <- db.InTx(ctx, func(tx *Tx) error {
			close(holding)
			<-hold // the others queue meanwhile
			return insertRow(ctx, tx, "first")
		})
	})
	<-holding
	const members = 8
	for i := range members {
		wg.Go(func() {
			errc <- db.InTx(ctx, func(tx *Tx) error { return insertRow(ctx, tx, fmt.Sprintf("ok-%d", i)) })
		})
	}
	failed := errors.New("the member's own failure")
	wg.Go(func() {
		err := db.InTx(ctx, func(tx *Tx) error {
			if err := insertRow(ctx, tx, "failed"); err != nil {
				return err
			}
			return failed
		})
		if !errors.Is(err, failed) {
			errc <- fmt.Errorf("failing member: got %v, want its own error", err)
		}
	})
	wg.Go(func() {
		defer func() {
			if recover() == nil {
				errc <- errors.New("panicking member: the panic did not reach its caller")
			}
		}()
		_ = db.InTx(ctx, func(tx *Tx) error {
			if err := insertRow(ctx, tx, "panicked"); err != nil {
				return err
			}
			panic("the member's panic")
		})
	})
	gaveUp, cancel := context.WithCancel(ctx)
	wg.Go(func() {
		err := db.InTx(gaveUp, func(tx *Tx) error { return insertRow(ctx, tx, "gave-up") })
		if !errors.Is(err, context.Canceled) {
			errc <- fmt.Errorf("member that gave up while queued: got %v, want context.Canceled", err)
		}
	})
	testkit.Eventually(t, 30*time.Second, "every member queued behind the first", func() bool { return db.group.waiting() == members+3 })
	cancel()
	testkit.Eventually(t, 30*time.Second, "the member that gave up left the queue", func() bool { return db.group.waiting() == members+2 })
	close(hold)
	wg.Wait()
	close(errc)
	for err := range errc {
		if err != nil {
			t.Error(err)
		}
	}

	got := rowsNamed(t, db)
	want := map[string]int{"first": 1}
	for i := range members {
		want[fmt.Sprintf("ok-%d", i)] = 1
	}
	if fmt.Sprint(got) != fmt.Sprint(want) {
		t.Errorf("rows after the group = %v, want %v", got, want)
	}
	txs, commits := db.Commits()
	if txs-tx0 != members+1 || commits-c0 != 1 {
		t.Errorf("Commits() moved by %d transactions in %d commits, want %d in 1", txs-tx0, commits-c0, members+1)
	}
}

// A member's cancelled context does not interrupt its statements (SQLite would roll back the
// whole shared transaction), yet its work is rolled back as database/sql rolls back a cancelled
// transaction: it fails alone with the context's error and the member before it still commits.
func TestGroupCommitSurvivesACancelledMember(t *testing.T) {
	db := openSQLiteFile(t)
	ctx := context.Background()
	hold, holding := make(chan struct{}), make(chan struct{})
	done := make(chan error, 1)
	go func() {
		done <- db.InTx(ctx, func(tx *Tx) error {
			if err := insertRow(ctx, tx, "kept"); err != nil {
				return err
			}
			close(holding)
			<-hold
			return nil
		})
	}()
	<-holding
	cctx, cancel := context.WithCancel(ctx)
	second := make(chan error, 1)
	go func() {
		second <- db.InTx(cctx, func(tx *Tx) error {
			cancel()
			if err := insertRow(cctx, tx, "cancelled"); err != nil {
				return err
			}
			return nil // the ended context alone must roll this back
		})
	}()
	testkit.Eventually(t, 30*time.Second, "the second member queued", func() bool { return db.group.waiting() == 1 })
	close(hold)
	if err := <-done; err != nil {
		t.Fatalf("first member: %v", err)
	}
	if err := <-second; !errors.Is(err, context.Canceled) {
		t.Fatalf("cancelled member: got %v, want context.Canceled", err)
	}
	if got := rowsNamed(t, db); fmt.Sprint(got) != "map[kept:1]" {
		t.Errorf("rows = %v, want only the first member's", got)
	}
}

// A group stays open no longer than maxAge: members arriving later start the next one.
func TestGroupCommitIsBoundedInTime(t *testing.T) {
	db := openSQLiteFile(t)
	db.group.maxAge = 0
	ctx := context.Background()
	tx0, c0 := db.Commits()
	hold, holding := make(chan struct{}), make(chan struct{})
	var wg sync.WaitGroup
	wg.Go(func() {
		_ = db.InTx(ctx, func(tx *Tx) error {
			close(holding)
			<-hold
			return insertRow(ctx, tx, "first")
		})
	})
	<-holding
	for i := range 3 {
		wg.Go(func() { _ = db.InTx(ctx, func(tx *Tx) error { return insertRow(ctx, tx, fmt.Sprintf("later-%d", i)) }) })
	}
	testkit.Eventually(t, 30*time.Second, "three members queued", func() bool { return db.group.waiting() == 3 })
	close(hold)
	wg.Wait()
	if txs, commits := db.Commits(); txs-tx0 != 4 || commits-c0 != 4 {
		t.Errorf("Commits() moved by %d transactions in %d commits, want 4 in 4 (no group past its age)", txs-tx0, commits-c0)
	}
	if got := len(rowsNamed(t, db)); got != 4 {
		t.Errorf("%d rows, want 4", got)
	}
}
