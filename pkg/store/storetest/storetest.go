// Package storetest gives tests a fresh, migrated-nothing database on each engine Retailbridge
// supports: a SQLite file in the test's temp dir, and a private schema on the real PostgreSQL
// server that scripts/with-postgres.sh starts (RB_TEST_DATABASE_URL). Tests never skip an engine:
// without PostgreSQL they fail and say how to get one.
package storetest

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"net/url"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/retailbridge/retailbridge/pkg/store"
)

// Dialects lists the engines every store-backed test runs against.
var Dialects = []store.Dialect{store.SQLite, store.Postgres}

// PostgresURL returns the URL of the real PostgreSQL server started by scripts/with-postgres.sh.
func PostgresURL(t testing.TB) string {
	t.Helper()
	u := os.Getenv("RB_TEST_DATABASE_URL")
	if u == "" {
		t.Fatal("RB_TEST_DATABASE_URL is not set: run the tests through scripts/with-postgres.sh " +
			"(for example `scripts/with-postgres.sh go test ./pkg/store/`), which starts a throwaway PostgreSQL")
	}
	return u
}

// URL returns a database URL of dialect d that belongs to this test alone: a new SQLite file, or
// a new PostgreSQL schema (dropped at cleanup) selected through search_path. Open it as many times
// as the test needs, to play several processes sharing one database.
func URL(t testing.TB, d store.Dialect) string {
	t.Helper()
	switch d {
	case store.SQLite:
		return "sqlite:" + filepath.Join(t.TempDir(), "test.db")
	case store.Postgres:
		return postgresSchemaURL(t)
	}
	t.Fatalf("storetest: unknown dialect %v", d)
	return ""
}

// Open opens a fresh database of dialect d (see URL) and closes it at cleanup.
func Open(t testing.TB, d store.Dialect, opts store.Options) *store.DB {
	t.Helper()
	return OpenURL(t, URL(t, d), opts)
}

// OpenURL opens u and closes it at cleanup.
func OpenURL(t testing.TB, u string, opts store.Options) *store.DB {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	db, err := store.Open(ctx, u, opts)
	if err != nil {
		t.Fatalf("open %s database: %v", u, err)
	}
	t.Cleanup(func() { db.Close() })
	return db
}

func postgresSchemaURL(t testing.TB) string {
	t.Helper()
	base := PostgresURL(t)
	var b [6]byte
	_, _ = rand.Read(b[:])
	schema := "rbtest_" + hex.EncodeToString(b[:])

	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	admin, err := store.Open(ctx, base, store.Options{MaxConns: 1})
	if err != nil {
		t.Fatalf("connect to RB_TEST_DATABASE_URL: %v", err)
	}
	if _, err := admin.Exec(ctx, "CREATE SCHEMA "+schema); err != nil {
		admin.Close()
		t.Fatalf("create schema %s: %v", schema, err)
	}
	t.Cleanup(func() {
		defer admin.Close()
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		if _, err := admin.Exec(ctx, "DROP SCHEMA "+schema+" CASCADE"); err != nil {
			t.Errorf("drop schema %s: %v", schema, err)
		}
	})

	u, err := url.Parse(base)
	if err != nil {
		t.Fatalf("parse RB_TEST_DATABASE_URL: %v", err)
	}
	q := u.Query()
	q.Set("search_path", schema)
	u.RawQuery = q.Encode()
	return u.String()
}
