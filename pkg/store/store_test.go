package store_test

import (
	"bytes"
	"context"
	"database/sql"
	"errors"
	"fmt"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"testing/fstest"
	"time"

	"github.com/retailbridge/retailbridge/pkg/errs"
	"github.com/retailbridge/retailbridge/pkg/store"
	"github.com/retailbridge/retailbridge/pkg/store/storetest"
)

func TestRebind(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name, in, sqlite string
	}{
		{"no placeholders", "SELECT 1", "SELECT 1"},
		{"positional", "SELECT a FROM t WHERE b = $1 AND c = $2", "SELECT a FROM t WHERE b = ?1 AND c = ?2"},
		{"reused", "UPDATE t SET a = $1 WHERE b = $1 OR c = $12", "UPDATE t SET a = ?1 WHERE b = ?1 OR c = ?12"},
		{"string literal kept", "SELECT '$1', $1", "SELECT '$1', ?1"},
		{"escaped quote", "SELECT 'it''s $2', $1", "SELECT 'it''s $2', ?1"},
		{"quoted identifier kept", `SELECT "a$1" FROM t WHERE x = $1`, `SELECT "a$1" FROM t WHERE x = ?1`},
		{"line comment kept", "SELECT $1 -- costs $2\n, $2", "SELECT ?1 -- costs $2\n, ?2"},
		{"block comment kept", "SELECT /* $1 */ $1", "SELECT /* $1 */ ?1"},
		{"dollar without digit", "SELECT $a, $1", "SELECT $a, ?1"},
		{"unterminated literal", "SELECT '$1", "SELECT '$1"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			if got := store.SQLite.Rebind(tc.in); got != tc.sqlite {
				t.Errorf("SQLite.Rebind(%q) = %q, want %q", tc.in, got, tc.sqlite)
			}
			if got := store.Postgres.Rebind(tc.in); got != tc.in {
				t.Errorf("Postgres.Rebind(%q) = %q, want it unchanged", tc.in, got)
			}
		})
	}
	if got, want := store.Placeholders(3, 3), "$3, $4, $5"; got != want {
		t.Errorf("Placeholders(3, 3) = %q, want %q", got, want)
	}
}

func TestOpenRejectsBadURLs(t *testing.T) {
	t.Parallel()
	for _, u := range []string{"", "sqlite:", "sqlite:x.db?_pragma=foo"} {
		if db, err := store.Open(context.Background(), u, store.Options{}); err == nil {
			db.Close()
			t.Errorf("Open(%q) succeeded, want an error", u)
		}
	}
}

// TestStore is the one suite every engine must pass.
func TestStore(t *testing.T) {
	t.Parallel()
	for _, d := range storetest.Dialects {
		t.Run(d.String(), func(t *testing.T) {
			t.Parallel()
			t.Run("settings", func(t *testing.T) { t.Parallel(); testSettings(t, d) })
			t.Run("migrate", func(t *testing.T) { t.Parallel(); testMigrate(t, d) })
			t.Run("concurrent migrators", func(t *testing.T) { t.Parallel(); testConcurrentMigrators(t, d) })
			t.Run("transactions", func(t *testing.T) { t.Parallel(); testTransactions(t, d) })
			t.Run("contention is retried", func(t *testing.T) { t.Parallel(); testContention(t, d) })
			t.Run("types round-trip", func(t *testing.T) { t.Parallel(); testTypes(t, d) })
		})
	}
}

func ctxT(t testing.TB) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	t.Cleanup(cancel)
	return ctx
}

func testSettings(t *testing.T, d store.Dialect) {
	ctx := ctxT(t)
	db := storetest.Open(t, d, store.Options{})
	if got := db.Dialect(); got != d {
		t.Fatalf("Dialect() = %v, want %v", got, d)
	}
	if d != store.SQLite {
		return
	}
	// What the writer runs with is what protects committed data.
	err := db.InTx(ctx, func(tx *store.Tx) error {
		for pragma, want := range map[string]string{"journal_mode": "wal", "synchronous": "2", "foreign_keys": "1"} {
			var got string
			if err := tx.QueryRow(ctx, "PRAGMA "+pragma).Scan(&got); err != nil {
				return err
			}
			if !strings.EqualFold(got, want) {
				t.Errorf("PRAGMA %s = %q, want %q", pragma, got, want)
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	// Reads outside transactions go to connections that cannot write.
	if _, err := db.Exec(ctx, "CREATE TABLE t (id INTEGER PRIMARY KEY)"); err != nil {
		t.Fatal(err)
	}
	var n int
	if err := db.QueryRow(ctx, "SELECT count(*) FROM t").Scan(&n); err != nil {
		t.Fatalf("read through the reader pool: %v", err)
	}
	err = db.InTxWith(ctx, store.TxOptions{ReadOnly: true}, func(tx *store.Tx) error {
		_, err := tx.Exec(ctx, "INSERT INTO t (id) VALUES (1)")
		return err
	})
	if err == nil {
		t.Error("insert in a read-only transaction succeeded, want an error")
	}
	// Foreign keys are enforced.
	if _, err := db.Exec(ctx, "CREATE TABLE child (id INTEGER PRIMARY KEY, t_id INTEGER NOT NULL REFERENCES t (id))"); err != nil {
		t.Fatal(err)
	}
	if _, err := db.Exec(ctx, "INSERT INTO child (id, t_id) VALUES (1, 42)"); err == nil {
		t.Error("insert violating a foreign key succeeded, want an error")
	}
}

var migrationsV1 = fstest.MapFS{
	"migrations/0001_widgets.sql": {Data: []byte(`CREATE TABLE widgets (id TEXT PRIMARY KEY, name TEXT NOT NULL);`)},
	"migrations/0002_widget_sizes.sqlite.sql": {Data: []byte(`
		ALTER TABLE widgets ADD COLUMN size INTEGER NOT NULL DEFAULT 0;
		CREATE TABLE engine (name TEXT NOT NULL); INSERT INTO engine (name) VALUES ('sqlite');`)},
	"migrations/0002_widget_sizes.postgres.sql": {Data: []byte(`
		ALTER TABLE widgets ADD COLUMN size BIGINT NOT NULL DEFAULT 0;
		CREATE TABLE engine (name TEXT NOT NULL); INSERT INTO engine (name) VALUES ('postgres');`)},
	"migrations/0003_pg_only_index.postgres.sql": {Data: []byte(`CREATE INDEX widgets_name ON widgets (name);`)},
	"migrations/README.md":                       {Data: []byte("not a migration")},
}

func testMigrate(t *testing.T, d store.Dialect) {
	ctx := ctxT(t)
	db := storetest.Open(t, d, store.Options{})

	for i := range 2 {
		if err := db.Migrate(ctx, "widgets", migrationsV1); err != nil {
			t.Fatalf("Migrate #%d: %v", i+1, err)
		}
	}
	var engine string
	if err := db.QueryRow(ctx, "SELECT name FROM engine").Scan(&engine); err != nil {
		t.Fatal(err)
	}
	if engine != d.String() {
		t.Errorf("engine-specific migration: got %q, want %q", engine, d)
	}
	var rows int
	if err := db.QueryRow(ctx, "SELECT count(*) FROM engine").Scan(&rows); err != nil {
		t.Fatal(err)
	}
	if rows != 1 {
		t.Errorf("rows inserted by migration 2 after two runs = %d, want 1", rows)
	}
	wantVersions := "1,2"
	if d == store.Postgres {
		wantVersions = "1,2,3"
	}
	if got := appliedVersions(t, db, "widgets"); got != wantVersions {
		t.Errorf("applied versions = %s, want %s", got, wantVersions)
	}

	// Another owner's migrations are tracked separately, even with the same version numbers.
	other := fstest.MapFS{"0001_gadgets.sql": {Data: []byte(`CREATE TABLE gadgets (id TEXT PRIMARY KEY);`)}}
	if err := db.Migrate(ctx, "gadgets", other); err != nil {
		t.Fatal(err)
	}
	if got := appliedVersions(t, db, "gadgets"); got != "1" {
		t.Errorf("gadgets versions = %s, want 1", got)
	}

	// A failing migration leaves neither its changes nor its version behind.
	bad := fstest.MapFS{
		"0001_gadgets.sql":      other["0001_gadgets.sql"],
		"0002_half_applied.sql": {Data: []byte(`CREATE TABLE half (id TEXT); INSERT INTO no_such_table VALUES (1);`)},
	}
	if err := db.Migrate(ctx, "gadgets", bad); err == nil {
		t.Fatal("Migrate with a broken migration succeeded, want an error")
	}
	if got := appliedVersions(t, db, "gadgets"); got != "1" {
		t.Errorf("gadgets versions after a failed migration = %s, want 1", got)
	}
	if _, err := db.Exec(ctx, "CREATE TABLE half (id TEXT)"); err != nil {
		t.Errorf("table from the failed migration was left behind: %v", err)
	}

	// Applied migrations are immutable.
	changed := fstest.MapFS{"0001_gadgets.sql": {Data: []byte(`CREATE TABLE gadgets (id TEXT PRIMARY KEY, x TEXT);`)}}
	if err := db.Migrate(ctx, "gadgets", changed); err == nil || !strings.Contains(err.Error(), "checksum") {
		t.Errorf("Migrate with an edited applied migration: err = %v, want a checksum error", err)
	}

	for name, fsys := range map[string]fstest.MapFS{
		"bad name":          {"widgets.sql": {Data: []byte("SELECT 1")}},
		"duplicate version": {"0001_a.sql": {Data: []byte("SELECT 1")}, "0001_b.sql": {Data: []byte("SELECT 1")}},
	} {
		if err := db.Migrate(ctx, "broken", fsys); err == nil {
			t.Errorf("Migrate(%s) succeeded, want an error", name)
		}
	}
}

func appliedVersions(t *testing.T, db *store.DB, owner string) string {
	t.Helper()
	rows, err := db.Query(ctxT(t), "SELECT version FROM rb_schema_migrations WHERE owner = $1 ORDER BY version", owner)
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	var vs []string
	for rows.Next() {
		var v int64
		if err := rows.Scan(&v); err != nil {
			t.Fatal(err)
		}
		vs = append(vs, fmt.Sprint(v))
	}
	if err := rows.Err(); err != nil {
		t.Fatal(err)
	}
	return strings.Join(vs, ",")
}

// testConcurrentMigrators plays replicas starting at once against one database.
func testConcurrentMigrators(t *testing.T, d store.Dialect) {
	ctx := ctxT(t)
	u := storetest.URL(t, d)
	const replicas = 4
	dbs := make([]*store.DB, replicas)
	for i := range dbs {
		dbs[i] = storetest.OpenURL(t, u, store.Options{MaxConns: 2})
	}
	fsys := fstest.MapFS{
		"0001_counter.sql": {Data: []byte(`CREATE TABLE counter (n INTEGER NOT NULL); INSERT INTO counter (n) VALUES (0);`)},
		"0002_bump.sql":    {Data: []byte(`UPDATE counter SET n = n + 1;`)},
		"0003_bump.sql":    {Data: []byte(`UPDATE counter SET n = n + 10;`)},
	}
	var wg sync.WaitGroup
	errc := make(chan error, replicas)
	for _, db := range dbs {
		wg.Go(func() { errc <- db.Migrate(ctx, "counter", fsys) })
	}
	wg.Wait()
	close(errc)
	for err := range errc {
		if err != nil {
			t.Errorf("concurrent Migrate: %v", err)
		}
	}
	var n int
	if err := dbs[0].QueryRow(ctx, "SELECT n FROM counter").Scan(&n); err != nil {
		t.Fatal(err)
	}
	if n != 11 {
		t.Errorf("counter after %d concurrent migrators = %d, want 11 (each migration once)", replicas, n)
	}
	if got := appliedVersions(t, dbs[0], "counter"); got != "1,2,3" {
		t.Errorf("applied versions = %s, want 1,2,3", got)
	}
}

func testTransactions(t *testing.T, d store.Dialect) {
	ctx := ctxT(t)
	db := storetest.Open(t, d, store.Options{})
	if _, err := db.Exec(ctx, "CREATE TABLE items (id TEXT PRIMARY KEY, qty INTEGER NOT NULL)"); err != nil {
		t.Fatal(err)
	}
	count := func() int {
		t.Helper()
		var n int
		if err := db.QueryRow(ctx, "SELECT count(*) FROM items").Scan(&n); err != nil {
			t.Fatal(err)
		}
		return n
	}

	var committed int
	err := db.InTx(ctx, func(tx *store.Tx) error {
		tx.AfterCommit(func() { committed++ })
		_, err := tx.Exec(ctx, "INSERT INTO items (id, qty) VALUES ($1, $2)", "a", 1)
		return err
	})
	if err != nil || committed != 1 || count() != 1 {
		t.Fatalf("commit: err = %v, after-commit calls = %d, rows = %d; want nil, 1, 1", err, committed, count())
	}

	boom := errors.New("boom")
	err = db.InTx(ctx, func(tx *store.Tx) error {
		tx.AfterCommit(func() { committed++ })
		if _, err := tx.Exec(ctx, "INSERT INTO items (id, qty) VALUES ($1, $2)", "b", 1); err != nil {
			return err
		}
		return fmt.Errorf("wrapped: %w", boom)
	})
	if !errors.Is(err, boom) || committed != 1 || count() != 1 {
		t.Fatalf("rollback: err = %v, after-commit calls = %d, rows = %d; want boom, 1, 1", err, committed, count())
	}

	func() {
		defer func() {
			if p := recover(); p != "crash" {
				t.Errorf("recovered %v, want the handler's panic", p)
			}
		}()
		_ = db.InTx(ctx, func(tx *store.Tx) error {
			if _, err := tx.Exec(ctx, "INSERT INTO items (id, qty) VALUES ($1, $2)", "c", 1); err != nil {
				return err
			}
			panic("crash")
		})
	}()
	if n := count(); n != 1 {
		t.Errorf("rows after a panicking transaction = %d, want 1", n)
	}
	// The connection the panicking transaction used is healthy again: on SQLite it is the only
	// writer, so a leaked transaction would block this forever.
	if _, err := db.Exec(ctx, "INSERT INTO items (id, qty) VALUES ($1, $2)", "d", 1); err != nil {
		t.Fatalf("write after a panicking transaction: %v", err)
	}

	err = db.InTx(ctx, func(tx *store.Tx) error {
		_, err := tx.Exec(ctx, "INSERT INTO items (id, qty) VALUES ($1, $2)", "a", 2)
		return err
	})
	if !store.IsUniqueViolation(err) {
		t.Errorf("duplicate primary key: IsUniqueViolation(%v) = false, want true", err)
	}
	if store.IsUniqueViolation(boom) {
		t.Error("IsUniqueViolation(plain error) = true, want false")
	}
	// One classifier decides what consumers and the workflow runner retry: an engine conflict is
	// retryable unless the caller classified it as final.
	for _, c := range []struct {
		name string
		err  error
		want bool
	}{
		{"unique violation", err, true},
		{"unique violation wrapped", fmt.Errorf("history: %w", err), true},
		{"unique violation as internal", errs.Wrap(err, errs.Internal, "db_failed", "failed"), true},
		{"unique violation classified final", errs.Wrap(err, errs.AlreadyExists, "exists", "exists"), false},
		{"version check lost", errs.E(errs.Conflict, "workflow_changed", "changed"), true},
		{"contention outlasting retries", errs.Wrap(boom, errs.Unavailable, "store_contention", "busy"), true},
		{"plain error", boom, false},
		{"invalid", errs.E(errs.Invalid, "bad", "bad"), false},
		{"nil", nil, false},
	} {
		if got := store.IsRetryable(c.err); got != c.want {
			t.Errorf("IsRetryable(%s: %v) = %v, want %v", c.name, c.err, got, c.want)
		}
	}
}

// testContention runs read-modify-write increments from several handles (processes) at once; the
// engine reports conflicts (SQLite BUSY, PostgreSQL serialization failures) and InTx must retry
// them until every increment has landed exactly once.
func testContention(t *testing.T, d store.Dialect) {
	ctx := ctxT(t)
	u := storetest.URL(t, d)
	opts := store.Options{BusyTimeout: time.Millisecond, TxAttempts: 200, TxBackoff: time.Millisecond, MaxConns: 4}
	dbs := []*store.DB{storetest.OpenURL(t, u, opts), storetest.OpenURL(t, u, opts)}
	if _, err := dbs[0].Exec(ctx, "CREATE TABLE counter (id INTEGER PRIMARY KEY, n INTEGER NOT NULL)"); err != nil {
		t.Fatal(err)
	}
	if _, err := dbs[0].Exec(ctx, "INSERT INTO counter (id, n) VALUES (1, 0)"); err != nil {
		t.Fatal(err)
	}
	const workers, increments = 4, 25
	var attempts atomic.Int64
	var wg sync.WaitGroup
	errc := make(chan error, workers)
	for w := range workers {
		db := dbs[w%len(dbs)]
		wg.Go(func() {
			for range increments {
				err := db.InTxWith(ctx, store.TxOptions{Isolation: sql.LevelSerializable}, func(tx *store.Tx) error {
					attempts.Add(1)
					var n int
					if err := tx.QueryRow(ctx, "SELECT n FROM counter WHERE id = 1").Scan(&n); err != nil {
						return err
					}
					_, err := tx.Exec(ctx, "UPDATE counter SET n = $1 WHERE id = 1", n+1)
					return err
				})
				if err != nil {
					errc <- err
					return
				}
			}
		})
	}
	wg.Wait()
	close(errc)
	for err := range errc {
		t.Errorf("increment: %v (retryable: %v)", err, errs.IsRetryable(err))
	}
	var n int
	if err := dbs[0].QueryRow(ctx, "SELECT n FROM counter WHERE id = 1").Scan(&n); err != nil {
		t.Fatal(err)
	}
	if want := workers * increments; n != want {
		t.Errorf("counter = %d, want %d (lost updates)", n, want)
	}
	t.Logf("%s: %d increments took %d transaction attempts", d, workers*increments, attempts.Load())

	if d == store.SQLite {
		testSQLiteBusyRetried(t, dbs[0], dbs[1])
	}
}

// testSQLiteBusyRetried has another handle hold the write lock far longer than this one's 1ms
// busy_timeout: BEGIN IMMEDIATE fails with SQLITE_BUSY until the lock is released, and InTx must
// run the transaction again rather than report it.
func testSQLiteBusyRetried(t *testing.T, holder, waiter *store.DB) {
	ctx := ctxT(t)
	const hold = 200 * time.Millisecond
	locked := make(chan struct{})
	done := make(chan error, 1)
	go func() {
		done <- holder.InTx(ctx, func(tx *store.Tx) error {
			if _, err := tx.Exec(ctx, "UPDATE counter SET n = n + 1 WHERE id = 1"); err != nil {
				return err
			}
			close(locked)
			time.Sleep(hold)
			return nil
		})
	}()
	<-locked
	start := time.Now()
	err := waiter.InTx(ctx, func(tx *store.Tx) error {
		_, err := tx.Exec(ctx, "UPDATE counter SET n = n + 1 WHERE id = 1")
		return err
	})
	waited := time.Since(start)
	if err != nil {
		t.Fatalf("transaction behind a write lock held past busy_timeout: %v", err)
	}
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	if waited < hold/2 {
		t.Errorf("waited %v behind a lock held for %v; the test did not cause contention", waited, hold)
	}
	t.Logf("sqlite: a writer blocked for %v behind a 1ms busy_timeout committed after retries", waited.Round(time.Millisecond))
}

func testTypes(t *testing.T, d store.Dialect) {
	ctx := ctxT(t)
	db := storetest.Open(t, d, store.Options{})
	ddl := map[store.Dialect]string{
		store.SQLite:   "CREATE TABLE v (id INTEGER PRIMARY KEY, at TIMESTAMP NOT NULL, maybe TIMESTAMP, raw BLOB NOT NULL, ok BOOLEAN NOT NULL, note TEXT)",
		store.Postgres: "CREATE TABLE v (id INTEGER PRIMARY KEY, at TIMESTAMPTZ NOT NULL, maybe TIMESTAMPTZ, raw BYTEA NOT NULL, ok BOOLEAN NOT NULL, note TEXT)",
	}[d]
	if _, err := db.Exec(ctx, ddl); err != nil {
		t.Fatal(err)
	}
	at := time.Date(2026, 11, 27, 11, 2, 3, 123456000, time.UTC)
	raw := []byte{0, 1, 2, 0xff}
	err := db.InTx(ctx, func(tx *store.Tx) error {
		_, err := tx.Exec(ctx, "INSERT INTO v (id, at, maybe, raw, ok, note) VALUES ($1, $2, $3, $4, $5, $6)",
			1, at, nil, raw, true, nil)
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	var (
		gotAt    time.Time
		gotMaybe sql.NullTime
		gotRaw   []byte
		gotOK    bool
		gotNote  sql.NullString
	)
	if err := db.QueryRow(ctx, "SELECT at, maybe, raw, ok, note FROM v WHERE id = $1", 1).
		Scan(&gotAt, &gotMaybe, &gotRaw, &gotOK, &gotNote); err != nil {
		t.Fatal(err)
	}
	if !gotAt.Equal(at) || gotMaybe.Valid || !bytes.Equal(gotRaw, raw) || !gotOK || gotNote.Valid {
		t.Errorf("got (%v, %v, %x, %v, %v), want (%v, NULL, %x, true, NULL)", gotAt, gotMaybe, gotRaw, gotOK, gotNote, at, raw)
	}
	// Times compare correctly in SQL on both engines when written in UTC.
	var earlier int
	if err := db.QueryRow(ctx, "SELECT count(*) FROM v WHERE at < $1", at.Add(time.Millisecond)).Scan(&earlier); err != nil {
		t.Fatal(err)
	}
	if earlier != 1 {
		t.Errorf("rows with at < at+1ms = %d, want 1", earlier)
	}
}
