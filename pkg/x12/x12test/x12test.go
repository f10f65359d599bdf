// Package x12test gives tests the published X12 sample interchanges. They are not copied into
// the repository (their licences are their source projects'); tests read them from the shared
// directory beside the checkout and check each against the SHA-256 its SOURCES.md records, so a
// test never silently runs on something else.
package x12test

import (
	"bufio"
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"testing"
)

// EnvDir names the directory of the samples; DefaultDir (relative to the module root) when unset.
const (
	EnvDir     = "RB_EDI_SAMPLES"
	DefaultDir = "../shared/edi-samples"
)

// Dir returns the samples' directory, or fails the test saying where it looked and how to
// point it elsewhere. It never skips: a missing directory is a broken test setup.
func Dir(tb testing.TB) string {
	tb.Helper()
	dir := os.Getenv(EnvDir)
	if dir == "" {
		root, err := moduleRoot()
		if err != nil {
			tb.Fatalf("x12test: %v", err)
		}
		dir = filepath.Join(root, DefaultDir)
	}
	if _, err := os.Stat(filepath.Join(dir, "SOURCES.md")); err != nil {
		tb.Fatalf("x12test: no published X12 samples at %s (%v): set %s to the directory holding SOURCES.md", dir, err, EnvDir)
	}
	return dir
}

// Names lists the sample files SOURCES.md records, sorted.
func Names(tb testing.TB) []string {
	tb.Helper()
	sums := checksums(tb, Dir(tb))
	names := make([]string, 0, len(sums))
	for n := range sums {
		names = append(names, n)
	}
	sort.Strings(names)
	return names
}

// Read returns one sample's bytes after checking them against SOURCES.md's SHA-256.
func Read(tb testing.TB, name string) []byte {
	tb.Helper()
	dir := Dir(tb)
	want, ok := checksums(tb, dir)[name]
	if !ok {
		tb.Fatalf("x12test: %s is not listed in %s/SOURCES.md", name, dir)
	}
	b, err := os.ReadFile(filepath.Join(dir, name))
	if err != nil {
		tb.Fatalf("x12test: %v", err)
	}
	sum := sha256.Sum256(b)
	if got := hex.EncodeToString(sum[:]); got != want {
		tb.Fatalf("x12test: %s has SHA-256 %s, SOURCES.md says %s", name, got, want)
	}
	return b
}

// checksums reads the file → sha256 table of SOURCES.md (first and last columns).
func checksums(tb testing.TB, dir string) map[string]string {
	tb.Helper()
	b, err := os.ReadFile(filepath.Join(dir, "SOURCES.md"))
	if err != nil {
		tb.Fatalf("x12test: %v", err)
	}
	out := map[string]string{}
	sc := bufio.NewScanner(bytes.NewReader(b))
	for sc.Scan() {
		cells := strings.Split(strings.Trim(sc.Text(), "| "), "|")
		if len(cells) < 3 {
			continue
		}
		name, sum := strings.TrimSpace(cells[0]), strings.TrimSpace(cells[len(cells)-1])
		if len(sum) == 64 && strings.Contains(name, ".") {
			out[name] = sum
		}
	}
	if len(out) == 0 {
		tb.Fatalf("x12test: %s/SOURCES.md lists no samples", dir)
	}
	return out
}

func moduleRoot() (string, error) {
	dir, err := os.Getwd()
	if err != nil {
		return "", err
	}
	for {
		if _, err := os.Stat(filepath.Join(dir, "go.mod")); err == nil {
			return dir, nil
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			return "", os.ErrNotExist
		}
		dir = parent
	}
}
