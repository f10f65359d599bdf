package sftpbox

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"path"
	"sort"
	"strings"
	"time"

	"github.com/pkg/sftp"
	"golang.org/x/crypto/ssh"
)

// MaxFileBytes bounds one inbound file; EDI interchanges from a 3PL are kilobytes to a few
// megabytes.
const MaxFileBytes = 16 << 20

// TempPrefix marks files still being written; List skips them, so neither side reads half a
// file.
const TempPrefix = ".tmp-"

// ErrTooLarge is returned by Read for a file over MaxFileBytes.
var ErrTooLarge = errors.New("sftpbox: file too large")

// ErrHostKey is returned when the server's host key is not the pinned one.
var ErrHostKey = errors.New("sftpbox: the server's host key is not the pinned key")

// Config is how to reach one partner's mailbox.
type Config struct {
	// Addr is host:port of the SFTP server.
	Addr string
	// User logs in with PrivateKeyPEM (OpenSSH PEM); no passwords.
	User          string
	PrivateKeyPEM []byte
	// HostKey is the server's public host key as an authorized_keys line; any other key is
	// refused.
	HostKey string
	// Inbound, Outbound, Archive and Quarantine are the folders: files to read, files to
	// write, read files kept, malformed files set aside.
	Inbound, Outbound, Archive, Quarantine string
	// Timeout bounds dialling and the SSH handshake.
	Timeout time.Duration
}

// Box dials a partner's mailbox.
type Box struct {
	cfg    Config
	signer ssh.Signer
	host   ssh.PublicKey
}

// New checks cfg's keys; nothing is dialled yet.
func New(cfg Config) (*Box, error) {
	signer, err := ssh.ParsePrivateKey(cfg.PrivateKeyPEM)
	if err != nil {
		return nil, fmt.Errorf("sftpbox: private key: %w", err)
	}
	host, err := ParsePublicKey(cfg.HostKey)
	if err != nil {
		return nil, fmt.Errorf("sftpbox: host key: %w", err)
	}
	if cfg.Timeout == 0 {
		cfg.Timeout = 10 * time.Second
	}
	return &Box{cfg: cfg, signer: signer, host: host}, nil
}

// Session is one SFTP connection. It is not safe for concurrent use.
type Session struct {
	cfg Config
	ssh *ssh.Client
	c   *sftp.Client
}

// Open dials, checks the host key and logs in.
func (b *Box) Open(ctx context.Context) (*Session, error) {
	ctx, cancel := context.WithTimeout(ctx, b.cfg.Timeout)
	defer cancel()
	var d net.Dialer
	conn, err := d.DialContext(ctx, "tcp", b.cfg.Addr)
	if err != nil {
		return nil, fmt.Errorf("sftpbox: dial %s: %w", b.cfg.Addr, err)
	}
	if dl, ok := ctx.Deadline(); ok {
		conn.SetDeadline(dl)
	}
	var hostErr error
	cc := &ssh.ClientConfig{User: b.cfg.User, Auth: []ssh.AuthMethod{ssh.PublicKeys(b.signer)},
		HostKeyAlgorithms: []string{b.host.Type()},
		HostKeyCallback: func(_ string, _ net.Addr, key ssh.PublicKey) error {
			if string(key.Marshal()) != string(b.host.Marshal()) {
				hostErr = fmt.Errorf("%w: got %s", ErrHostKey, ssh.FingerprintSHA256(key))
				return hostErr
			}
			return nil
		}}
	sc, chans, reqs, err := ssh.NewClientConn(conn, b.cfg.Addr, cc)
	if err != nil {
		conn.Close()
		if hostErr != nil {
			return nil, hostErr
		}
		return nil, fmt.Errorf("sftpbox: ssh handshake with %s: %w", b.cfg.Addr, err)
	}
	conn.SetDeadline(time.Time{})
	client := ssh.NewClient(sc, chans, reqs)
	c, err := sftp.NewClient(client)
	if err != nil {
		client.Close()
		return nil, fmt.Errorf("sftpbox: sftp session: %w", err)
	}
	return &Session{cfg: b.cfg, ssh: client, c: c}, nil
}

// Close ends the session.
func (s *Session) Close() error {
	s.c.Close()
	return s.ssh.Close()
}

// File is an inbound file.
type File struct {
	Name    string
	Size    int64
	ModTime time.Time
}

// List returns the inbound folder's files, oldest first (then by name), without directories
// and files still being written.
func (s *Session) List() ([]File, error) {
	infos, err := s.c.ReadDir(s.cfg.Inbound)
	if err != nil {
		return nil, fmt.Errorf("sftpbox: list %s: %w", s.cfg.Inbound, err)
	}
	var out []File
	for _, fi := range infos {
		if fi.IsDir() || strings.HasPrefix(fi.Name(), TempPrefix) || strings.HasPrefix(fi.Name(), ".") {
			continue
		}
		out = append(out, File{Name: fi.Name(), Size: fi.Size(), ModTime: fi.ModTime()})
	}
	sort.Slice(out, func(i, j int) bool {
		if !out[i].ModTime.Equal(out[j].ModTime) {
			return out[i].ModTime.Before(out[j].ModTime)
		}
		return out[i].Name < out[j].Name
	})
	return out, nil
}

// Read returns an inbound file's bytes, refusing files over MaxFileBytes.
func (s *Session) Read(name string) ([]byte, error) {
	f, err := s.c.Open(path.Join(s.cfg.Inbound, clean(name)))
	if err != nil {
		return nil, fmt.Errorf("sftpbox: open %s: %w", name, err)
	}
	defer f.Close()
	b, err := io.ReadAll(io.LimitReader(f, MaxFileBytes+1))
	if err != nil {
		return nil, fmt.Errorf("sftpbox: read %s: %w", name, err)
	}
	if len(b) > MaxFileBytes {
		return nil, fmt.Errorf("%w: %s is larger than %d bytes", ErrTooLarge, name, MaxFileBytes)
	}
	return b, nil
}

// Put writes a file to the outbound folder atomically: under a temporary name first, then
// renamed, so the partner sees the whole file or none of it.
func (s *Session) Put(name string, data []byte) error {
	return s.put(s.cfg.Outbound, clean(name), data)
}

func (s *Session) put(dir, name string, data []byte) error {
	tmp := path.Join(dir, TempPrefix+name)
	f, err := s.c.OpenFile(tmp, os.O_WRONLY|os.O_CREATE|os.O_TRUNC)
	if err != nil {
		return fmt.Errorf("sftpbox: create %s: %w", tmp, err)
	}
	if _, err := f.Write(data); err != nil {
		f.Close()
		s.c.Remove(tmp)
		return fmt.Errorf("sftpbox: write %s: %w", tmp, err)
	}
	if err := f.Close(); err != nil {
		s.c.Remove(tmp)
		return fmt.Errorf("sftpbox: close %s: %w", tmp, err)
	}
	if err := s.rename(tmp, path.Join(dir, name)); err != nil {
		s.c.Remove(tmp)
		return err
	}
	return nil
}

// rename replaces the target when the server offers posix-rename, else renames (which
// refuses an existing target).
func (s *Session) rename(from, to string) error {
	var err error
	if _, ok := s.c.HasExtension("posix-rename@openssh.com"); ok {
		err = s.c.PosixRename(from, to)
	} else {
		err = s.c.Rename(from, to)
	}
	if err != nil {
		return fmt.Errorf("sftpbox: rename %s to %s: %w", from, to, err)
	}
	return nil
}

// Archive moves an inbound file to the archive folder under prefix+name (prefix says why, for
// example "dup-" for a re-sent file).
func (s *Session) Archive(name, prefix string) error {
	return s.rename(path.Join(s.cfg.Inbound, clean(name)), path.Join(s.cfg.Archive, prefix+clean(name)))
}

// Quarantine moves an inbound file to the quarantine folder and writes the reason beside it
// (<name>.reason.txt).
func (s *Session) Quarantine(name, reason string) error {
	n := clean(name)
	if err := s.put(s.cfg.Quarantine, n+".reason.txt", []byte(reason+"\n")); err != nil {
		return err
	}
	return s.rename(path.Join(s.cfg.Inbound, n), path.Join(s.cfg.Quarantine, n))
}

// clean keeps a file name a name: no directories.
func clean(name string) string { return path.Base("/" + name) }
