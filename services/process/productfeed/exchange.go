package productfeed

import (
	"bytes"
	"context"
	"encoding/csv"
	"errors"
	"fmt"
	"log/slog"
	"path"
	"strconv"
	"strings"
	"time"

	"github.com/retailbridge/retailbridge/pkg/sftpbox"
)

// Exchange polls the partner's inbound folder and applies the files it finds.
type Exchange struct {
	Box      *sftpbox.Box
	Store    *Store
	Interval time.Duration
	Log      *slog.Logger
	// Now is the clock (time.Now when nil).
	Now func() time.Time
}

// Run polls every Interval until ctx ends. A failed poll (the server down, a refused host key)
// is logged and retried at the next tick: the files stay in the folder until taken.
func (e *Exchange) Run(ctx context.Context) error {
	t := time.NewTicker(e.Interval)
	defer t.Stop()
	for {
		if _, err := e.PollOnce(ctx); err != nil && ctx.Err() == nil {
			e.log().Warn("product feed poll failed", "err", err)
		}
		select {
		case <-ctx.Done():
			return nil
		case <-t.C:
		}
	}
}

// PollOnce takes every file waiting in the inbound folder, oldest first, and returns what each
// did. A file leaves the inbound folder only after its outcome is recorded, so a crash between
// the two takes it again, which the (name, hash) record turns into a no-op.
func (e *Exchange) PollOnce(ctx context.Context) ([]FileResult, error) {
	s, err := e.Box.Open(ctx)
	if err != nil {
		return nil, err
	}
	defer s.Close()
	files, err := s.List()
	if err != nil {
		return nil, err
	}
	var out []FileResult
	for _, f := range files {
		if strings.HasSuffix(f.Name, ".reason.txt") {
			continue
		}
		res, err := e.take(ctx, s, f.Name)
		if err != nil {
			return out, fmt.Errorf("productfeed: %s: %w", f.Name, err)
		}
		out = append(out, res)
	}
	return out, nil
}

// take processes one file: read, parse, record and apply, report, archive (or quarantine).
func (e *Exchange) take(ctx context.Context, s *sftpbox.Session, name string) (FileResult, error) {
	data, err := s.Read(name)
	if errors.Is(err, sftpbox.ErrTooLarge) {
		return e.quarantine(ctx, s, name, "", err.Error())
	}
	if err != nil {
		return FileResult{}, err
	}
	hash := Hash(data)
	if prev, seen, err := e.Store.Seen(ctx, name, hash); err != nil {
		return FileResult{}, err
	} else if seen && prev.Status == StatusQuarantined {
		return e.quarantine(ctx, s, name, hash, prev.Reason)
	} else if seen {
		// The report is written again: a crash after the commit and before the report must
		// not leave the sender without one (Put replaces it whole).
		prev.Duplicate = true
		e.log().Info("product feed file re-sent unchanged", "file", name, "sha256", hash)
		if err := e.report(ctx, s, prev); err != nil {
			return FileResult{}, err
		}
		return prev, s.Archive(name, "dup-"+hash[:12]+"-")
	}
	p, err := Parse(data)
	if err != nil {
		return e.quarantine(ctx, s, name, hash, err.Error())
	}
	res, err := e.Store.Apply(ctx, name, hash, p, e.now())
	if err != nil {
		return FileResult{}, err
	}
	if err := e.report(ctx, s, res); err != nil {
		return FileResult{}, err
	}
	e.log().Info("product feed file applied", "file", name, "kind", res.Kind, "applied", res.Applied,
		"unchanged", res.Unchanged, "rejected", res.Rejected)
	return res, s.Archive(name, hash[:12]+"-")
}

// report writes a file version's rejected rows to the outbound folder.
func (e *Exchange) report(ctx context.Context, s *sftpbox.Session, f FileResult) error {
	rejects, err := e.Store.Rejects(ctx, f.ID)
	if err != nil {
		return err
	}
	return s.Put(ReportName(f.Name, f.SHA256), ReportCSV(rejects))
}

func (e *Exchange) quarantine(ctx context.Context, s *sftpbox.Session, name, hash, reason string) (FileResult, error) {
	if hash == "" {
		hash = Hash([]byte(reason))
	}
	res, err := e.Store.Quarantine(ctx, name, hash, reason, e.now())
	if err != nil {
		return FileResult{}, err
	}
	e.log().Warn("product feed file quarantined", "file", name, "reason", reason)
	return res, s.Quarantine(name, reason)
}

// ReportName is the outbound report of one file version: the file's name without extension,
// the first 12 hex digits of its hash (two versions of one name get two reports) and
// ".rejects.csv".
func ReportName(name, hash string) string {
	base := strings.TrimSuffix(name, path.Ext(name))
	return base + "." + hash[:12] + ".rejects.csv"
}

// ReportCSV renders rejected rows as CSV with a header, also when there are none, so the
// partner sees every file was taken.
func ReportCSV(rejects []Reject) []byte {
	var b bytes.Buffer
	w := csv.NewWriter(&b)
	w.Write([]string{"row", "column", "value", "reason"})
	for _, r := range rejects {
		w.Write([]string{strconv.Itoa(r.Line), r.Column, r.Value, r.Reason})
	}
	w.Flush()
	return b.Bytes()
}

func (e *Exchange) now() time.Time {
	if e.Now != nil {
		return e.Now()
	}
	return time.Now()
}

func (e *Exchange) log() *slog.Logger {
	if e.Log != nil {
		return e.Log
	}
	return slog.New(slog.DiscardHandler)
}
