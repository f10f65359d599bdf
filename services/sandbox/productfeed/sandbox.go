// Package productfeed emulates an ERP's scheduled product master export over SFTP: an SFTP
// server in the process (pkg/sftpbox, key login only) whose /export folder receives product
// master and prices CSV files on demand — good ones, ones with bad rows, unreadable ones, a
// re-sent copy of an earlier file, a changed file under an earlier name — written atomically as
// the ERP's export job would. Retailbridge reads /export, writes its rejected-rows reports to
// /reports, and moves what it took to /archive or /quarantine.
package productfeed

import (
	"errors"
	"fmt"
	"log/slog"
	"net"
	"os"
	"path/filepath"
	"strings"
	"sync"

	"github.com/retailbridge/retailbridge/pkg/sftpbox"
)

// The folders, as Retailbridge sees them.
const (
	Export     = "/export"
	Reports    = "/reports"
	Archive    = "/archive"
	Quarantine = "/quarantine"
	// DefaultUser logs in when Options.User is empty.
	DefaultUser = "retailbridge"
)

// Options configure the sandbox.
type Options struct {
	// Dir holds the served folders and the host key; required.
	Dir string
	// HostKeyPEM is the server's host key; generated (and kept in Dir) when empty.
	HostKeyPEM []byte
	// AuthorizedKeys may log in as User.
	AuthorizedKeys []string
	User           string
	Logger         *slog.Logger
}

// Sandbox is the emulated ERP export.
type Sandbox struct {
	opts   Options
	server *sftpbox.Server
	host   sftpbox.KeyPair
	mu     sync.Mutex
	seq    int
}

// Start serves the sandbox on ln.
func Start(ln net.Listener, opts Options) (*Sandbox, error) {
	if opts.Dir == "" {
		return nil, errors.New("productfeed sandbox: Dir is required")
	}
	if opts.User == "" {
		opts.User = DefaultUser
	}
	for _, d := range []string{Export, Reports, Archive, Quarantine} {
		if err := os.MkdirAll(filepath.Join(opts.Dir, d), 0o755); err != nil {
			return nil, err
		}
	}
	host, err := hostKey(opts)
	if err != nil {
		return nil, err
	}
	srv, err := sftpbox.Serve(ln, sftpbox.ServerConfig{Dir: opts.Dir, HostKeyPEM: host.PrivatePEM,
		Users: map[string][]string{opts.User: opts.AuthorizedKeys}, Logger: opts.Logger})
	if err != nil {
		return nil, err
	}
	return &Sandbox{opts: opts, server: srv, host: host}, nil
}

// hostKey uses the given key, or the one kept in Dir, or a new one kept there, so a restarted
// sandbox shows the key Retailbridge pinned.
func hostKey(o Options) (sftpbox.KeyPair, error) {
	pemBytes := o.HostKeyPEM
	path := filepath.Join(o.Dir, ".hostkey")
	if pemBytes == nil {
		pemBytes, _ = os.ReadFile(path)
	}
	if pemBytes == nil {
		k, err := sftpbox.GenerateKey()
		if err != nil {
			return k, err
		}
		if err := os.WriteFile(path, k.PrivatePEM, 0o600); err != nil {
			return k, err
		}
		pemBytes = k.PrivatePEM
	}
	pub, err := sftpbox.PublicOf(pemBytes)
	return sftpbox.KeyPair{PrivatePEM: pemBytes, Public: pub}, err
}

// Addr is the SFTP server's address.
func (s *Sandbox) Addr() string { return s.server.Addr() }

// HostKey is the server's public host key, to pin.
func (s *Sandbox) HostKey() string { return s.host.Public }

// User is the login name.
func (s *Sandbox) User() string { return s.opts.User }

// Close stops the server.
func (s *Sandbox) Close() error { return s.server.Close() }

// Drop writes a file into /export the way an export job does: under a temporary name, then
// renamed, so the reader never sees half of it.
func (s *Sandbox) Drop(name string, data []byte) error {
	s.mu.Lock()
	s.seq++
	tmp := filepath.Join(s.opts.Dir, Export, fmt.Sprintf("%s%d-%s", sftpbox.TempPrefix, s.seq, name))
	s.mu.Unlock()
	if err := os.WriteFile(tmp, data, 0o644); err != nil {
		return err
	}
	return os.Rename(tmp, filepath.Join(s.opts.Dir, Export, filepath.Base(name)))
}

// Waiting lists the files still in /export.
func (s *Sandbox) Waiting() ([]string, error) { return s.list(Export) }

// ReportFiles lists the reports Retailbridge wrote.
func (s *Sandbox) ReportFiles() ([]string, error) { return s.list(Reports) }

// Report reads one report.
func (s *Sandbox) Report(name string) ([]byte, error) {
	return os.ReadFile(filepath.Join(s.opts.Dir, Reports, filepath.Base(name)))
}

// Archived and Quarantined list those folders.
func (s *Sandbox) Archived() ([]string, error)    { return s.list(Archive) }
func (s *Sandbox) Quarantined() ([]string, error) { return s.list(Quarantine) }

func (s *Sandbox) list(dir string) ([]string, error) {
	entries, err := os.ReadDir(filepath.Join(s.opts.Dir, dir))
	if err != nil {
		return nil, err
	}
	var out []string
	for _, e := range entries {
		if !e.IsDir() && !strings.HasPrefix(e.Name(), sftpbox.TempPrefix) {
			out = append(out, e.Name())
		}
	}
	return out, nil
}
