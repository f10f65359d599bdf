// Package state keeps a vendor sandbox's world in a file, so that restarting the local stack
// restarts the same world rather than a new one: the orders, refunds, receipts, idempotency
// records and id counters a previous run left are there again, as they would be at the vendor.
//
// A sandbox snapshots its whole state as one JSON document after every change and before it
// answers the request that caused it: a client that saw an answer can rely on the vendor
// remembering it. Writes are atomic (temporary file, fsync, rename, fsync of the directory), so
// a crash leaves either the previous world or the new one, never half of each. Sandboxes hold
// generated data of a development size, so rewriting the whole document is cheap enough, and
// unchanged documents are not rewritten.
package state

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"net/http"
	"os"
	"path/filepath"
	"sync"
)

// File is one sandbox's state file. A nil *File keeps nothing: every method is a no-op, which is
// what a sandbox without a state directory (most tests) wants.
type File struct {
	path string

	mu   sync.Mutex
	last []byte // the document last written or read, to skip rewriting an unchanged world

	// Group commit (Commit): tickets handed out, the highest ticket known durable, and whether
	// a caller is writing for the others.
	cmu       sync.Mutex
	committed *sync.Cond
	requested uint64
	durable   uint64
	writing   bool
}

// Open returns the state file of the named sandbox in dir (<dir>/<name>.json), creating dir. An
// empty dir returns nil: state is kept in memory only.
func Open(dir, name string) (*File, error) {
	if dir == "" {
		return nil, nil
	}
	if err := os.MkdirAll(dir, 0o750); err != nil {
		return nil, fmt.Errorf("sandbox state: %w", err)
	}
	f := &File{path: filepath.Join(dir, name+".json")}
	f.committed = sync.NewCond(&f.cmu)
	return f, nil
}

// Path is where the state lives ("" for a nil File).
func (f *File) Path() string {
	if f == nil {
		return ""
	}
	return f.path
}

// Load decodes the stored state into v. found is false, with no error, when nothing was stored
// yet (or f is nil): the caller then generates its initial world.
func (f *File) Load(v any) (found bool, err error) {
	if f == nil {
		return false, nil
	}
	b, err := os.ReadFile(f.path)
	if errors.Is(err, fs.ErrNotExist) {
		return false, nil
	}
	if err != nil {
		return false, fmt.Errorf("sandbox state: %w", err)
	}
	if err := json.Unmarshal(b, v); err != nil {
		// A corrupt file is not silently replaced by a fresh world: that is the very failure
		// this package exists to prevent. The developer deletes it to start over.
		return false, fmt.Errorf("sandbox state %s is unreadable (delete it to start a new world): %w", f.path, err)
	}
	f.mu.Lock()
	f.last = b
	f.mu.Unlock()
	return true, nil
}

// Save writes v as the stored state, atomically and durably, unless it equals what is stored.
func (f *File) Save(v any) error {
	if f == nil {
		return nil
	}
	b, err := json.Marshal(v)
	if err != nil {
		return fmt.Errorf("sandbox state: encoding: %w", err)
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	if bytes.Equal(b, f.last) {
		return nil
	}
	if err := writeAtomic(f.path, b); err != nil {
		return fmt.Errorf("sandbox state: %w", err)
	}
	f.last = b
	return nil
}

// Commit makes every change the caller has already applied in memory durable: it returns once a
// snapshot taken after the call began has been saved. snapshot takes the sandbox's lock itself and
// returns a world that no longer changes under it (copies). Concurrent callers share writes —
// one caller writes the latest world for everyone waiting — and nobody holds the sandbox's lock
// while the disk syncs, so readers and other writers are not held up by an fsync.
func (f *File) Commit(snapshot func() any) error {
	if f == nil {
		return nil
	}
	f.cmu.Lock()
	defer f.cmu.Unlock()
	f.requested++
	ticket := f.requested
	for f.durable < ticket {
		if f.writing {
			f.committed.Wait()
			continue
		}
		f.writing = true
		upto := f.requested // every change behind these tickets is in memory already
		f.cmu.Unlock()
		err := f.Save(snapshot())
		f.cmu.Lock()
		f.writing = false
		f.committed.Broadcast()
		if err != nil {
			return err
		}
		f.durable = max(f.durable, upto)
	}
	return nil
}

// writeAtomic replaces path with b: a temporary file in the same directory, fsynced, renamed over
// path, and the directory fsynced so the rename itself survives a power loss.
func writeAtomic(path string, b []byte) error {
	dir := filepath.Dir(path)
	tmp, err := os.CreateTemp(dir, "."+filepath.Base(path)+".*.tmp")
	if err != nil {
		return err
	}
	defer func() { _ = os.Remove(tmp.Name()) }() // a no-op once renamed
	if _, err := tmp.Write(b); err != nil {
		_ = tmp.Close()
		return err
	}
	if err := tmp.Sync(); err != nil {
		_ = tmp.Close()
		return err
	}
	if err := tmp.Close(); err != nil {
		return err
	}
	if err := os.Rename(tmp.Name(), path); err != nil {
		return err
	}
	d, err := os.Open(dir)
	if err != nil {
		return err
	}
	defer d.Close()
	return d.Sync()
}

// Durable keeps the world after every request that may change it and before its answer leaves:
// next's answer to anything but GET, HEAD and OPTIONS is held back until save returns, and
// replaced by a 500 when save fails, so a client never hears of a change a restart would forget.
// It suits handlers that change state under their own lock and answer inside it, where saving
// in the handler would mean threading the state file through every route.
func Durable(save func() error, next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		switch r.Method {
		case http.MethodGet, http.MethodHead, http.MethodOptions:
			next.ServeHTTP(w, r)
			return
		}
		held := &heldResponse{header: http.Header{}, status: http.StatusOK}
		next.ServeHTTP(held, r)
		if err := save(); err != nil {
			http.Error(w, "the sandbox could not record the change: "+err.Error(), http.StatusInternalServerError)
			return
		}
		for k, v := range held.header {
			w.Header()[k] = v
		}
		w.WriteHeader(held.status)
		_, _ = w.Write(held.body.Bytes())
	})
}

// heldResponse records an answer to send later.
type heldResponse struct {
	header      http.Header
	status      int
	wroteHeader bool
	body        bytes.Buffer
}

func (h *heldResponse) Header() http.Header { return h.header }

func (h *heldResponse) WriteHeader(status int) {
	if !h.wroteHeader {
		h.status, h.wroteHeader = status, true
	}
}

func (h *heldResponse) Write(b []byte) (int, error) {
	h.WriteHeader(http.StatusOK)
	return h.body.Write(b)
}
