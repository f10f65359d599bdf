package productfeed

import (
	"net"
	"testing"
)

// TestRestartKeepsHostKeyAndDropsWholeFiles: a restarted sandbox shows the host key Retailbridge
// pinned, and a dropped file appears under its name with no temporary left behind.
func TestRestartKeepsHostKeyAndDropsWholeFiles(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	start := func() *Sandbox {
		ln, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		sb, err := Start(ln, Options{Dir: dir})
		if err != nil {
			t.Fatal(err)
		}
		return sb
	}
	first := start()
	key := first.HostKey()
	if err := first.Drop("products.csv", MasterCSV(Catalogue(), true)); err != nil {
		t.Fatal(err)
	}
	first.Close()
	second := start()
	defer second.Close()
	if second.HostKey() != key {
		t.Fatal("a restarted sandbox changed its host key")
	}
	waiting, err := second.Waiting()
	if err != nil || len(waiting) != 1 || waiting[0] != "products.csv" {
		t.Fatalf("export folder = %v, %v; want products.csv alone", waiting, err)
	}
	if _, err := Start(nil, Options{}); err == nil {
		t.Fatal("a sandbox without a directory started")
	}
}
