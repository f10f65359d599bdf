package store

import (
	"context"
	"strings"
	"sync"
	"sync/atomic"
)

// A read cache serves a hot read from memory for as long as nothing it read from has changed.
// "Changed" is judged by a change counter per set of tables: every transaction (or statement
// outside one) in this process that names one of the tables moves the counter once it has
// committed, and an answer is served from the cache only while the counter stands where it
// stood before the answer was read from the database. So a cached answer is never older than
// the last write this process committed, and never older than what a caller that saw a write
// complete has seen.
//
// That is consistent only while this process is the database's only writer, which SQLite is:
// one process owns the file (the embedded stack). On PostgreSQL, several replicas write the same
// tables, so Cached always reads the database there (with the driver's prepared statements).

// maxCachedAnswers bounds one cache's entries; past it the cache starts over.
const maxCachedAnswers = 10_000

// watch is the change counter of one set of tables.
type watch struct {
	tables []string
	gen    atomic.Uint64
}

// names reports whether query names one of the watched tables.
func (w *watch) names(query string) bool {
	for _, t := range w.tables {
		if strings.Contains(query, t) {
			return true
		}
	}
	return false
}

// watchList is a DB's watches, added to as read caches appear and never shrunk.
type watchList struct {
	mu   sync.Mutex
	list atomic.Pointer[[]*watch]
}

// changed moves the counters of the watches query names (a statement outside a transaction).
func (l *watchList) changed(query string) {
	if p := l.list.Load(); p != nil {
		for _, w := range *p {
			if w.names(query) {
				w.gen.Add(1)
			}
		}
	}
}

// begin starts tracking a write transaction.
func (l *watchList) begin() *touched {
	t := &touched{list: l}
	if p := l.list.Load(); p != nil {
		t.watches = *p
	}
	return t
}

// add returns the watch over tables, creating it on first use.
func (l *watchList) add(tables []string) *watch {
	key := strings.Join(tables, ",")
	l.mu.Lock()
	defer l.mu.Unlock()
	var cur []*watch
	if p := l.list.Load(); p != nil {
		cur = *p
	}
	for _, w := range cur {
		if strings.Join(w.tables, ",") == key {
			return w
		}
	}
	w := &watch{tables: tables}
	next := append(append([]*watch(nil), cur...), w)
	l.list.Store(&next)
	return w
}

// touched records which watches a transaction's statements named.
type touched struct {
	list    *watchList
	watches []*watch // the watches when the transaction began
	hit     []bool
}

func (t *touched) mark(query string) {
	if t == nil {
		return
	}
	if t.hit == nil {
		t.hit = make([]bool, len(t.watches))
	}
	for i, w := range t.watches {
		if !t.hit[i] && w.names(query) {
			t.hit[i] = true
		}
	}
}

// commit moves the counters of the watches the transaction named.
func (t *touched) commit() {
	if t == nil {
		return
	}
	for i, h := range t.hit {
		if h {
			t.watches[i].gen.Add(1)
		}
	}
	// A watch that appeared while the transaction ran did not see its earlier statements: it
	// moves anyway (a cache may have read before this commit and stored after it).
	if p := t.list.list.Load(); p != nil {
		for _, w := range (*p)[len(t.watches):] {
			w.gen.Add(1)
		}
	}
}

// readCache holds one named cache's answers, all read at one counter value.
type readCache struct {
	w       *watch
	mu      sync.Mutex
	gen     uint64
	answers map[string]any
}

// Cached returns load's answer for key from the named cache, reading it through load when the
// cache has none that is current. tables are every table load reads; the answer is dropped as
// soon as a write in this process names one of them. Callers must not modify the answer.
func Cached[V any](ctx context.Context, db *DB, name, key string, tables []string, load func(context.Context) (V, error)) (V, error) {
	if db.dialect != SQLite {
		return load(ctx)
	}
	c := db.readCache(name, tables)
	gen := c.w.gen.Load() // before the read: a write committing meanwhile makes the answer stale
	c.mu.Lock()
	if gen > c.gen { // counters only move forward; a reader that loaded an older one bypasses
		clear(c.answers)
		c.gen = gen
	}
	v, ok := c.answers[key]
	ok = ok && c.gen == gen
	c.mu.Unlock()
	if ok {
		return v.(V), nil
	}
	out, err := load(ctx)
	if err != nil {
		return out, err
	}
	c.mu.Lock()
	if c.gen == gen {
		if len(c.answers) >= maxCachedAnswers {
			clear(c.answers)
		}
		c.answers[key] = out
	}
	c.mu.Unlock()
	return out, nil
}

// readCache returns the named cache, creating it on first use.
func (db *DB) readCache(name string, tables []string) *readCache {
	if c, ok := db.caches.Load(name); ok {
		return c.(*readCache)
	}
	c, _ := db.caches.LoadOrStore(name, &readCache{w: db.watches.add(tables), answers: map[string]any{}})
	return c.(*readCache)
}
