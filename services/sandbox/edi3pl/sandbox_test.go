package edi3pl_test

import (
	"net"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/retailbridge/retailbridge/pkg/sftpbox"
	"github.com/retailbridge/retailbridge/pkg/x12"
	"github.com/retailbridge/retailbridge/services/sandbox/edi3pl"
)

func start(t *testing.T, dir string, opts edi3pl.Options) *edi3pl.Sandbox {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	opts.Dir = dir
	sb, err := edi3pl.Start(ln, opts)
	if err != nil {
		t.Fatal(err)
	}
	return sb
}

// TestRestartKeepsIdentity: a restarted 3PL shows the host key Retailbridge pinned and never
// reuses an interchange control number (a reused one would be taken for a re-sent file), and
// sends its opening stock only the first time.
func TestRestartKeepsIdentity(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	stock := []edi3pl.Stock{{SKU: "SKU-1", Available: 5}}
	first := start(t, dir, edi3pl.Options{Stock: stock})
	key := first.HostKey()
	if err := first.SendAdjustment("ADJ-1", edi3pl.Movement{Reason: "01", Quantity: 1, SKU: "SKU-1"}); err != nil {
		t.Fatal(err)
	}
	first.Close()
	second := start(t, dir, edi3pl.Options{Stock: stock})
	defer second.Close()
	if second.HostKey() != key {
		t.Error("the restarted sandbox shows another host key")
	}
	if err := second.SendInventory(stock...); err != nil {
		t.Fatal(err)
	}
	files, _ := os.ReadDir(filepath.Join(dir, "from-3pl"))
	seen := map[string]bool{}
	var names []string
	for _, f := range files {
		b, err := os.ReadFile(filepath.Join(dir, "from-3pl", f.Name()))
		if err != nil {
			t.Fatal(err)
		}
		file, err := x12.Read(b)
		if err != nil {
			t.Fatalf("%s: %v", f.Name(), err)
		}
		icn := file.Interchanges[0].ControlNumber()
		if seen[icn] {
			t.Errorf("interchange control number %s issued twice", icn)
		}
		seen[icn] = true
		names = append(names, f.Name())
	}
	if strings.Join(names, ",") != "846_000000001.edi,846_000000003.edi,947_000000002.edi" {
		t.Errorf("files: %v, want the opening 846, the 947 and one more 846 (no second opening count)", names)
	}
	if _, err := sftpbox.ParsePublicKey(key); err != nil {
		t.Errorf("host key %q: %v", key, err)
	}
}
