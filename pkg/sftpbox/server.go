package sftpbox

import (
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"os"
	"path"
	"sync"

	"github.com/pkg/sftp"
	"golang.org/x/crypto/ssh"
)

// Server is an SFTP server confined to one directory (os.Root: no path leaves it), accepting
// logins by public key only.
type Server struct {
	ln     net.Listener
	config *ssh.ServerConfig
	root   *os.Root
	log    *slog.Logger
	wg     sync.WaitGroup

	mu    sync.Mutex
	conns map[net.Conn]struct{}
	done  bool
}

// ServerConfig configures a Server.
type ServerConfig struct {
	// Dir is the directory served as "/".
	Dir string
	// HostKeyPEM is the server's private host key (OpenSSH PEM).
	HostKeyPEM []byte
	// Users maps a user name to the authorized_keys lines it may log in with.
	Users map[string][]string
	// Logger receives connection failures; discarded when nil.
	Logger *slog.Logger
}

// Serve starts serving on ln until Close.
func Serve(ln net.Listener, cfg ServerConfig) (*Server, error) {
	signer, err := ssh.ParsePrivateKey(cfg.HostKeyPEM)
	if err != nil {
		return nil, fmt.Errorf("sftpbox: host key: %w", err)
	}
	allowed := map[string]map[string]bool{}
	for user, keys := range cfg.Users {
		allowed[user] = map[string]bool{}
		for _, line := range keys {
			k, err := ParsePublicKey(line)
			if err != nil {
				return nil, err
			}
			allowed[user][string(k.Marshal())] = true
		}
	}
	root, err := os.OpenRoot(cfg.Dir)
	if err != nil {
		return nil, fmt.Errorf("sftpbox: %w", err)
	}
	sc := &ssh.ServerConfig{PublicKeyCallback: func(md ssh.ConnMetadata, key ssh.PublicKey) (*ssh.Permissions, error) {
		if allowed[md.User()][string(key.Marshal())] {
			return &ssh.Permissions{}, nil
		}
		return nil, fmt.Errorf("sftpbox: key not authorised for %q", md.User())
	}}
	sc.AddHostKey(signer)
	log := cfg.Logger
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	s := &Server{ln: ln, config: sc, root: root, log: log, conns: map[net.Conn]struct{}{}}
	s.wg.Add(1)
	go s.accept()
	return s, nil
}

// Addr is where the server listens.
func (s *Server) Addr() string { return s.ln.Addr().String() }

// Close stops listening, cuts every connection and waits for them.
func (s *Server) Close() error {
	s.mu.Lock()
	s.done = true
	for c := range s.conns {
		c.Close()
	}
	s.mu.Unlock()
	err := s.ln.Close()
	s.wg.Wait()
	s.root.Close()
	return err
}

func (s *Server) accept() {
	defer s.wg.Done()
	for {
		c, err := s.ln.Accept()
		if err != nil {
			return
		}
		s.mu.Lock()
		if s.done {
			s.mu.Unlock()
			c.Close()
			return
		}
		s.conns[c] = struct{}{}
		s.wg.Add(1)
		s.mu.Unlock()
		go func() {
			defer s.wg.Done()
			defer func() { s.mu.Lock(); delete(s.conns, c); s.mu.Unlock(); c.Close() }()
			s.serveConn(c)
		}()
	}
}

func (s *Server) serveConn(c net.Conn) {
	sc, chans, reqs, err := ssh.NewServerConn(c, s.config)
	if err != nil {
		s.log.Debug("sftpbox: handshake refused", "remote", c.RemoteAddr().String(), "err", err)
		return
	}
	defer sc.Close()
	go ssh.DiscardRequests(reqs)
	for nc := range chans {
		if nc.ChannelType() != "session" {
			nc.Reject(ssh.UnknownChannelType, "only sessions")
			continue
		}
		ch, chReqs, err := nc.Accept()
		if err != nil {
			return
		}
		go func() {
			for req := range chReqs {
				ok := req.Type == "subsystem" && len(req.Payload) > 4 && string(req.Payload[4:]) == "sftp"
				req.Reply(ok, nil)
				if ok {
					srv := sftp.NewRequestServer(ch, s.handlers())
					if err := srv.Serve(); err != nil && !errors.Is(err, io.EOF) {
						s.log.Debug("sftpbox: session ended", "err", err)
					}
					srv.Close()
					ch.Close()
				}
			}
		}()
	}
}

// rooted serves the SFTP requests from the server's root.
type rooted struct{ root *os.Root }

func (s *Server) handlers() sftp.Handlers {
	h := &rooted{root: s.root}
	return sftp.Handlers{FileGet: h, FilePut: h, FileCmd: h, FileList: h}
}

// rel turns an SFTP path into a path under the root.
func rel(p string) string {
	p = path.Clean("/" + p)
	if p == "/" {
		return "."
	}
	return p[1:]
}

func (h *rooted) Fileread(r *sftp.Request) (io.ReaderAt, error) { return h.root.Open(rel(r.Filepath)) }

func (h *rooted) Filewrite(r *sftp.Request) (io.WriterAt, error) {
	fl := r.Pflags()
	flags := os.O_WRONLY
	if fl.Creat {
		flags |= os.O_CREATE
	}
	if fl.Trunc {
		flags |= os.O_TRUNC
	}
	if fl.Excl {
		flags |= os.O_EXCL
	}
	return h.root.OpenFile(rel(r.Filepath), flags, 0o644)
}

func (h *rooted) Filecmd(r *sftp.Request) error {
	switch r.Method {
	case "Rename":
		// SFTP v3 rename refuses to replace a file; PosixRename replaces.
		if _, err := h.root.Stat(rel(r.Target)); err == nil {
			return os.ErrExist
		}
		return h.root.Rename(rel(r.Filepath), rel(r.Target))
	case "Remove":
		return h.root.Remove(rel(r.Filepath))
	case "Rmdir":
		return h.root.Remove(rel(r.Filepath))
	case "Mkdir":
		return h.root.Mkdir(rel(r.Filepath), 0o755)
	case "Setstat":
		return nil
	}
	return sftp.ErrSSHFxOpUnsupported
}

// PosixRename replaces the target atomically.
func (h *rooted) PosixRename(r *sftp.Request) error {
	return h.root.Rename(rel(r.Filepath), rel(r.Target))
}

type lister []os.FileInfo

func (l lister) ListAt(out []os.FileInfo, off int64) (int, error) {
	if off >= int64(len(l)) {
		return 0, io.EOF
	}
	n := copy(out, l[off:])
	if n < len(out) {
		return n, io.EOF
	}
	return n, nil
}

func (h *rooted) Filelist(r *sftp.Request) (sftp.ListerAt, error) {
	switch r.Method {
	case "List":
		f, err := h.root.Open(rel(r.Filepath))
		if err != nil {
			return nil, err
		}
		defer f.Close()
		infos, err := f.Readdir(-1)
		return lister(infos), err
	case "Stat":
		fi, err := h.root.Stat(rel(r.Filepath))
		if err != nil {
			return nil, err
		}
		return lister{fi}, nil
	}
	return nil, sftp.ErrSSHFxOpUnsupported
}
