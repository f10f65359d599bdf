package store

import (
	"context"
	"fmt"
	"path/filepath"
	"sync"
	"testing"
)

func openSQLiteFile(t *testing.T) *DB {
	t.Helper()
	db, err := Open(context.Background(), "sqlite:"+filepath.Join(t.TempDir(), "t.db"), Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = db.Close() })
	ctx := context.Background()
	for _, q := range []string{
		`CREATE TABLE claims (order_id TEXT, n INTEGER)`,
		`CREATE TABLE other (x INTEGER)`,
	} {
		if _, err := db.Exec(ctx, q); err != nil {
			t.Fatal(err)
		}
	}
	return db
}

func sumClaims(ctx context.Context, db *DB, order string) (int, error) {
	var n int
	err := db.QueryRow(ctx, `SELECT COALESCE(SUM(n), 0) FROM claims WHERE order_id = $1`, order).Scan(&n)
	return n, err
}

// A hot read is prepared once per pool, not on every call.
func TestStatementsArePreparedOnce(t *testing.T) {
	t.Parallel()
	db := openSQLiteFile(t)
	ctx := context.Background()
	for i := range 100 {
		if err := db.InTx(ctx, func(tx *Tx) error {
			_, err := tx.Exec(ctx, `INSERT INTO claims (order_id, n) VALUES ($1, $2)`, "o1", i)
			return err
		}); err != nil {
			t.Fatal(err)
		}
		if _, err := sumClaims(ctx, db, "o1"); err != nil {
			t.Fatal(err)
		}
	}
	if r := db.readStmts.size(); r != 1 {
		t.Errorf("prepared statements: %d for 100 calls of one read; want 1", r)
	}
	n, err := sumClaims(ctx, db, "o1")
	if err != nil || n != 4950 {
		t.Errorf("sum through the prepared statement = %d, %v; want 4950", n, err)
	}
}

// A cached answer is served until a committed write in this process names one of its tables,
// and never after: each read after a write sees it.
func TestCachedAnswerFollowsEveryWrite(t *testing.T) {
	t.Parallel()
	db := openSQLiteFile(t)
	ctx := context.Background()
	loads := 0
	get := func() int {
		t.Helper()
		n, err := Cached(ctx, db, "claims", "o1", []string{"claims"}, func(ctx context.Context) (int, error) {
			loads++
			return sumClaims(ctx, db, "o1")
		})
		if err != nil {
			t.Fatal(err)
		}
		return n
	}
	want := 0
	for i := 1; i <= 20; i++ {
		for range 5 {
			if got := get(); got != want {
				t.Fatalf("after %d writes: cached %d, want %d", i-1, got, want)
			}
		}
		switch i % 3 {
		case 0: // a statement outside a transaction
			if _, err := db.Exec(ctx, `INSERT INTO claims (order_id, n) VALUES ('o1', $1)`, i); err != nil {
				t.Fatal(err)
			}
			want += i
		case 1: // a transaction
			if err := db.InTx(ctx, func(tx *Tx) error {
				_, err := tx.Exec(ctx, `INSERT INTO claims (order_id, n) VALUES ('o1', $1)`, i)
				return err
			}); err != nil {
				t.Fatal(err)
			}
			want += i
		case 2: // a transaction that rolls back changes nothing; one on another table keeps the cache
			_ = db.InTx(ctx, func(tx *Tx) error {
				if _, err := tx.Exec(ctx, `INSERT INTO claims (order_id, n) VALUES ('o1', 1000)`); err != nil {
					return err
				}
				return fmt.Errorf("roll back")
			})
			if _, err := db.Exec(ctx, `INSERT INTO other (x) VALUES (1)`); err != nil {
				t.Fatal(err)
			}
		}
	}
	if got := get(); got != want {
		t.Fatalf("final: cached %d, want %d", got, want)
	}
	// 101 reads, 20 writes on the table (13 committed, 7 rolled back): at most one load per write.
	if loads > 21 {
		t.Errorf("%d loads for 101 reads and 20 writes: the cache does not serve reads between writes", loads)
	}
	t.Logf("101 reads, 20 writes naming the table: %d database reads", loads)
}

// Concurrent readers and writers: no reader that starts after a write committed sees an answer
// from before it.
func TestCachedAnswerIsNeverOlderThanACompletedWrite(t *testing.T) {
	t.Parallel()
	db := openSQLiteFile(t)
	ctx := context.Background()
	var mu sync.Mutex
	committed := 0 // the sum every completed write has reached
	var wg sync.WaitGroup
	stop := make(chan struct{})
	for range 4 {
		wg.Go(func() {
			for {
				select {
				case <-stop:
					return
				default:
				}
				mu.Lock()
				floor := committed
				mu.Unlock()
				n, err := Cached(ctx, db, "claims", "o1", []string{"claims"}, func(ctx context.Context) (int, error) {
					return sumClaims(ctx, db, "o1")
				})
				if err != nil {
					t.Error(err)
					return
				}
				if n < floor {
					t.Errorf("read %d after a write reached %d: stale", n, floor)
					return
				}
			}
		})
	}
	for range 200 {
		if err := db.InTx(ctx, func(tx *Tx) error {
			_, err := tx.Exec(ctx, `INSERT INTO claims (order_id, n) VALUES ('o1', 1)`)
			return err
		}); err != nil {
			t.Fatal(err)
		}
		mu.Lock()
		committed++
		mu.Unlock()
	}
	close(stop)
	wg.Wait()
}

// However many keys are read, one cache holds at most maxCachedAnswers answers.
func TestCachedIsBounded(t *testing.T) {
	t.Parallel()
	db := openSQLiteFile(t)
	ctx := context.Background()
	for i := range maxCachedAnswers + 500 {
		_, _ = Cached(ctx, db, "bounded", fmt.Sprint(i), []string{"claims"}, func(context.Context) (int, error) { return i, nil })
	}
	c := db.readCache("bounded", []string{"claims"})
	c.mu.Lock()
	n := len(c.answers)
	c.mu.Unlock()
	if n > maxCachedAnswers {
		t.Errorf("cache holds %d answers, want at most %d", n, maxCachedAnswers)
	}
}
