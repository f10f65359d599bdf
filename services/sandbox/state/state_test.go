package state

import (
	"errors"
	"maps"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strconv"
	"sync"
	"testing"
	"time"
)

type doc struct {
	Seq   int               `json:"seq"`
	Names map[string]string `json:"names"`
}

func TestSaveAndLoad(t *testing.T) {
	t.Parallel()
	dir := filepath.Join(t.TempDir(), "sandboxes")
	f, err := Open(dir, "vendor")
	if err != nil {
		t.Fatal(err)
	}
	var got doc
	if found, err := f.Load(&got); found || err != nil {
		t.Fatalf("Load before any Save: found %v, err %v; want nothing, no error", found, err)
	}
	want := doc{Seq: 7, Names: map[string]string{"a": "b"}}
	if err := f.Save(want); err != nil {
		t.Fatal(err)
	}
	again, _ := Open(dir, "vendor")
	if found, err := again.Load(&got); !found || err != nil || got.Seq != 7 || got.Names["a"] != "b" {
		t.Fatalf("Load after Save: %+v found %v err %v; want %+v", got, found, err, want)
	}
	entries, _ := os.ReadDir(dir)
	if len(entries) != 1 {
		t.Errorf("state dir holds %d files; want only vendor.json (no temporary file left)", len(entries))
	}
}

// An unchanged world is not rewritten: the file keeps its modification time.
func TestSaveSkipsAnUnchangedWorld(t *testing.T) {
	t.Parallel()
	f, _ := Open(t.TempDir(), "vendor")
	if err := f.Save(doc{Seq: 1}); err != nil {
		t.Fatal(err)
	}
	old := time.Now().Add(-time.Hour).Truncate(time.Second)
	if err := os.Chtimes(f.Path(), old, old); err != nil {
		t.Fatal(err)
	}
	if err := f.Save(doc{Seq: 1}); err != nil {
		t.Fatal(err)
	}
	if fi, _ := os.Stat(f.Path()); !fi.ModTime().Equal(old) {
		t.Errorf("unchanged world rewritten (mtime %v, want %v)", fi.ModTime(), old)
	}
	if err := f.Save(doc{Seq: 2}); err != nil {
		t.Fatal(err)
	}
	if fi, _ := os.Stat(f.Path()); fi.ModTime().Equal(old) {
		t.Error("changed world not written")
	}
}

// A damaged file is an error naming the file, never silently replaced by a new world.
func TestLoadRefusesADamagedFile(t *testing.T) {
	t.Parallel()
	f, _ := Open(t.TempDir(), "vendor")
	if err := os.WriteFile(f.Path(), []byte(`{"seq": 3, "names": `), 0o600); err != nil {
		t.Fatal(err)
	}
	var got doc
	if found, err := f.Load(&got); found || err == nil {
		t.Errorf("Load of a damaged file: found %v, err %v; want an error", found, err)
	}
}

func TestNilFileKeepsNothing(t *testing.T) {
	t.Parallel()
	f, err := Open("", "vendor")
	if f != nil || err != nil {
		t.Fatalf("Open without a dir = %v, %v; want nil, nil", f, err)
	}
	if err := f.Save(doc{Seq: 1}); err != nil {
		t.Error(err)
	}
	if found, err := f.Load(&doc{}); found || err != nil {
		t.Errorf("nil Load: %v %v", found, err)
	}
}

// Durable holds a change's answer until the world is saved, and answers 500 when it cannot be.
func TestDurable(t *testing.T) {
	t.Parallel()
	saveErr := errors.New("disk full")
	for _, tc := range []struct {
		name, method string
		save         error
		wantStatus   int
		wantSaves    int
	}{
		{"change saved", http.MethodPost, nil, http.StatusCreated, 1},
		{"change not saved", http.MethodPost, saveErr, http.StatusInternalServerError, 1},
		{"read", http.MethodGet, saveErr, http.StatusCreated, 0},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			saves := 0
			h := Durable(func() error { saves++; return tc.save }, http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
				w.Header().Set("X-Id", "42")
				w.WriteHeader(http.StatusCreated)
				_, _ = w.Write([]byte("made"))
			}))
			w := httptest.NewRecorder()
			h.ServeHTTP(w, httptest.NewRequest(tc.method, "/", nil))
			if w.Code != tc.wantStatus || saves != tc.wantSaves {
				t.Errorf("status %d after %d saves; want %d after %d", w.Code, saves, tc.wantStatus, tc.wantSaves)
			}
			if tc.wantStatus == http.StatusCreated && (w.Body.String() != "made" || w.Header().Get("X-Id") != "42") {
				t.Errorf("answer %q, header %q; want the handler's", w.Body.String(), w.Header().Get("X-Id"))
			}
		})
	}
}

// Concurrent commits share writes, and each returns only once a world holding its change is on
// disk.
func TestCommitIsDurableForEveryCaller(t *testing.T) {
	t.Parallel()
	f, _ := Open(t.TempDir(), "vendor")
	var mu sync.Mutex
	world := doc{Names: map[string]string{}}
	snapshot := func() any {
		mu.Lock()
		defer mu.Unlock()
		return doc{Seq: world.Seq, Names: maps.Clone(world.Names)}
	}
	var wg sync.WaitGroup
	for i := range 20 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			key := strconv.Itoa(i)
			mu.Lock()
			world.Seq++
			world.Names[key] = "x"
			mu.Unlock()
			if err := f.Commit(snapshot); err != nil {
				t.Error(err)
				return
			}
			var got doc
			again, _ := Open(filepath.Dir(f.Path()), "vendor")
			if _, err := again.Load(&got); err != nil || got.Names[key] != "x" {
				t.Errorf("after Commit of %s the stored world is %+v (err %v); want it to hold the change", key, got, err)
			}
		}()
	}
	wg.Wait()
}
