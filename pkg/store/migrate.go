package store

import (
	"context"
	"crypto/sha256"
	"database/sql"
	"encoding/hex"
	"errors"
	"fmt"
	"hash/fnv"
	"io/fs"
	"path"
	"sort"
	"strconv"
	"strings"
	"time"
)

// Migrations are plain SQL files embedded by their owner, named
//
//	NNNN_description.sql            runs on both engines
//	NNNN_description.sqlite.sql     runs on SQLite only, instead of the file above
//	NNNN_description.postgres.sql   runs on PostgreSQL only, instead of the file above
//
// where NNNN is a positive version number. A version that has only the other engine's file is
// skipped (an engine-specific index, say). Each migration runs in its own transaction together with the row that records it in
// rb_schema_migrations (owner, version, name, checksum, applied_at), so a failed migration leaves
// nothing behind and applying the same set twice is a no-op. An applied migration whose file has
// changed since is an error: fix forward with a new version instead. Versions missing from the
// table are applied in ascending order, even when a later one is already there.
//
// On PostgreSQL every migration transaction first takes a transaction-scoped advisory lock, so
// replicas starting together migrate one at a time; on SQLite, BEGIN IMMEDIATE does the same.

const migrationsDDLSQLite = `CREATE TABLE IF NOT EXISTS rb_schema_migrations (
	owner      TEXT NOT NULL,
	version    INTEGER NOT NULL,
	name       TEXT NOT NULL,
	checksum   TEXT NOT NULL,
	applied_at TIMESTAMP NOT NULL,
	PRIMARY KEY (owner, version)
)`

const migrationsDDLPostgres = `CREATE TABLE IF NOT EXISTS rb_schema_migrations (
	owner      TEXT NOT NULL,
	version    BIGINT NOT NULL,
	name       TEXT NOT NULL,
	checksum   TEXT NOT NULL,
	applied_at TIMESTAMPTZ NOT NULL,
	PRIMARY KEY (owner, version)
)`

// migrationLockKey is the advisory lock every migrator on a PostgreSQL database shares; one key
// for all owners also serialises creating rb_schema_migrations itself.
var migrationLockKey = func() int64 {
	h := fnv.New64a()
	h.Write([]byte("retailbridge/store/migrate"))
	return int64(h.Sum64())
}()

type migration struct {
	version  int64
	name     string // file name
	sql      string
	checksum string
}

// Migrate applies owner's migrations found anywhere in fsys (an embed.FS, or an fs.Sub of one).
func (db *DB) Migrate(ctx context.Context, owner string, fsys fs.FS) error {
	if owner == "" {
		return errors.New("store: migrate: empty owner")
	}
	ms, err := loadMigrations(fsys, db.dialect)
	if err != nil {
		return fmt.Errorf("store: migrate %s: %w", owner, err)
	}
	ddl := migrationsDDLSQLite
	if db.dialect == Postgres {
		ddl = migrationsDDLPostgres
	}
	if err := db.InTx(ctx, func(tx *Tx) error {
		if err := db.lockMigrations(ctx, tx); err != nil {
			return err
		}
		_, err := tx.Exec(ctx, ddl)
		return err
	}); err != nil {
		return fmt.Errorf("store: migrate %s: create rb_schema_migrations: %w", owner, err)
	}
	for _, m := range ms {
		if err := db.InTx(ctx, func(tx *Tx) error { return db.apply(ctx, tx, owner, m) }); err != nil {
			return fmt.Errorf("store: migrate %s: %s: %w", owner, m.name, err)
		}
	}
	return nil
}

func (db *DB) lockMigrations(ctx context.Context, tx *Tx) error {
	if db.dialect != Postgres {
		return nil
	}
	_, err := tx.Exec(ctx, `SELECT pg_advisory_xact_lock($1)`, migrationLockKey)
	return err
}

func (db *DB) apply(ctx context.Context, tx *Tx, owner string, m migration) error {
	if err := db.lockMigrations(ctx, tx); err != nil {
		return err
	}
	var checksum string
	err := tx.QueryRow(ctx, `SELECT checksum FROM rb_schema_migrations WHERE owner = $1 AND version = $2`,
		owner, m.version).Scan(&checksum)
	switch {
	case err == nil:
		if checksum != m.checksum {
			return fmt.Errorf("already applied with a different checksum (%s, file has %s): migrations are immutable once applied", checksum, m.checksum)
		}
		return nil
	case !errors.Is(err, sql.ErrNoRows):
		return err
	}
	if _, err := tx.Exec(ctx, m.sql); err != nil {
		return err
	}
	_, err = tx.Exec(ctx, `INSERT INTO rb_schema_migrations (owner, version, name, checksum, applied_at)
		VALUES ($1, $2, $3, $4, $5)`, owner, m.version, m.name, m.checksum, time.Now().UTC())
	return err
}

func loadMigrations(fsys fs.FS, d Dialect) ([]migration, error) {
	type candidates struct{ generic, specific string }
	byVersion := map[int64]*candidates{}
	err := fs.WalkDir(fsys, ".", func(p string, e fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		name := e.Name()
		if e.IsDir() || !strings.HasSuffix(name, ".sql") {
			return nil
		}
		num, _, ok := strings.Cut(name, "_")
		version, perr := strconv.ParseInt(num, 10, 64)
		if !ok || perr != nil || version <= 0 {
			return fmt.Errorf("%s: name must start with a positive version and an underscore (0001_name.sql)", p)
		}
		c := byVersion[version]
		if c == nil {
			c = &candidates{}
			byVersion[version] = c
		}
		stem := strings.TrimSuffix(name, ".sql")
		switch {
		case strings.HasSuffix(stem, "."+d.String()):
			if c.specific != "" {
				return fmt.Errorf("version %d has two %s files: %s and %s", version, d, c.specific, p)
			}
			c.specific = p
		case strings.HasSuffix(stem, ".sqlite"), strings.HasSuffix(stem, ".postgres"):
			// the other engine's file
		default:
			if c.generic != "" {
				return fmt.Errorf("version %d has two files: %s and %s", version, c.generic, p)
			}
			c.generic = p
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	var ms []migration
	for version, c := range byVersion {
		p := c.specific
		if p == "" {
			p = c.generic
		}
		if p == "" {
			continue
		}
		body, err := fs.ReadFile(fsys, p)
		if err != nil {
			return nil, err
		}
		sum := sha256.Sum256(body)
		ms = append(ms, migration{version: version, name: path.Base(p), sql: string(body),
			checksum: hex.EncodeToString(sum[:])})
	}
	sort.Slice(ms, func(i, j int) bool { return ms[i].version < ms[j].version })
	return ms, nil
}
