package sftpbox_test

import (
	"context"
	"errors"
	"net"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/retailbridge/retailbridge/pkg/sftpbox"
)

type fixture struct {
	dir    string
	server *sftpbox.Server
	host   sftpbox.KeyPair
	client sftpbox.KeyPair
}

func start(t *testing.T) *fixture {
	t.Helper()
	f := &fixture{dir: t.TempDir(), host: key(t), client: key(t)}
	for _, d := range []string{"in", "out", "archive", "quarantine"} {
		if err := os.Mkdir(filepath.Join(f.dir, d), 0o755); err != nil {
			t.Fatal(err)
		}
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	f.server, err = sftpbox.Serve(ln, sftpbox.ServerConfig{Dir: f.dir, HostKeyPEM: f.host.PrivatePEM,
		Users: map[string][]string{"retailbridge": {f.client.Public}}})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { f.server.Close() })
	return f
}

func key(t *testing.T) sftpbox.KeyPair {
	t.Helper()
	k, err := sftpbox.GenerateKey()
	if err != nil {
		t.Fatal(err)
	}
	return k
}

func (f *fixture) config() sftpbox.Config {
	return sftpbox.Config{Addr: f.server.Addr(), User: "retailbridge", PrivateKeyPEM: f.client.PrivatePEM,
		HostKey: f.host.Public, Inbound: "/in", Outbound: "/out", Archive: "/archive", Quarantine: "/quarantine"}
}

func open(t *testing.T, cfg sftpbox.Config) (*sftpbox.Session, error) {
	t.Helper()
	b, err := sftpbox.New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	s, err := b.Open(context.Background())
	if err == nil {
		t.Cleanup(func() { s.Close() })
	}
	return s, err
}

// TestMailbox: outbound files appear whole under their name with no temporary left; the
// inbound listing skips files still being written and directories; archive and quarantine move
// files, quarantine with its reason; names cannot climb out of their folder.
func TestMailbox(t *testing.T) {
	t.Parallel()
	f := start(t)
	s, err := open(t, f.config())
	if err != nil {
		t.Fatal(err)
	}
	if err := s.Put("940_000000001.edi", []byte("ISA…")); err != nil {
		t.Fatal(err)
	}
	entries, _ := os.ReadDir(filepath.Join(f.dir, "out"))
	if len(entries) != 1 || entries[0].Name() != "940_000000001.edi" {
		t.Errorf("out: got %v, want only 940_000000001.edi", entries)
	}
	write := func(name, body string) {
		if err := os.WriteFile(filepath.Join(f.dir, "in", name), []byte(body), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	write("945_a.edi", "A")
	write("945_b.edi", "B")
	write(sftpbox.TempPrefix+"945_c.edi", "half")
	os.Mkdir(filepath.Join(f.dir, "in", "sub"), 0o755)
	files, err := s.List()
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, fl := range files {
		names = append(names, fl.Name)
	}
	if strings.Join(names, ",") != "945_a.edi,945_b.edi" {
		t.Errorf("List: got %v", names)
	}
	if b, err := s.Read("945_a.edi"); err != nil || string(b) != "A" {
		t.Errorf("Read: got %q, %v", b, err)
	}
	if err := s.Archive("945_a.edi", "dup-"); err != nil {
		t.Fatal(err)
	}
	if err := s.Quarantine("../in/945_b.edi", "x12: segment 7 (SE02): mismatch"); err != nil {
		t.Fatal(err)
	}
	for _, p := range []string{"archive/dup-945_a.edi", "quarantine/945_b.edi", "quarantine/945_b.edi.reason.txt"} {
		if _, err := os.Stat(filepath.Join(f.dir, p)); err != nil {
			t.Errorf("%s: %v", p, err)
		}
	}
	if _, err := s.Read("../../etc/passwd"); err == nil {
		t.Error("Read(../../etc/passwd): want an error")
	}
}

// TestHostKeyPinned: a server presenting any key but the pinned one is refused, and so is a
// client key the server does not know.
func TestHostKeyPinned(t *testing.T) {
	t.Parallel()
	f := start(t)
	cfg := f.config()
	cfg.HostKey = key(t).Public // pinned to someone else's key
	if _, err := open(t, cfg); !errors.Is(err, sftpbox.ErrHostKey) {
		t.Errorf("Open with an unknown host key: got %v, want ErrHostKey", err)
	}
	cfg = f.config()
	cfg.PrivateKeyPEM = key(t).PrivatePEM
	if _, err := open(t, cfg); err == nil || errors.Is(err, sftpbox.ErrHostKey) {
		t.Errorf("Open with an unauthorised client key: got %v, want a refused login", err)
	}
	if _, err := open(t, f.config()); err != nil {
		t.Errorf("Open with the pinned key: %v", err)
	}
}
