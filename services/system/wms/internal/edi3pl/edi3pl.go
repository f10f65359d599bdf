// Package edi3pl is the WMS connector for a 3PL that trades EDI X12 over SFTP: shipping orders
// go out as 940s and returns are announced as 180s, each in its own interchange with a
// generated control number, written atomically to the partner's inbound folder; the partner's
// 997s close those interchanges' acknowledgement (not the order), and its 945/856 (shipped),
// 846 (stock), 947 (adjustments) and 180 (returns received and inspected) become the same
// canonical events the REST warehouse's webhooks do. Inbound files are polled, deduplicated by
// interchange control number, acknowledged with a 997 of their own, archived — or quarantined
// with a rejecting 997 when malformed. EDI has no query API: what the connector was told is
// kept in a JetStream key-value bucket (state.go) and answers the read methods.
package edi3pl

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"strings"
	"sync"
	"time"

	"github.com/nats-io/nats.go/jetstream"

	"github.com/retailbridge/retailbridge/pkg/errs"
	canonicalv1 "github.com/retailbridge/retailbridge/pkg/gen/retailbridge/canonical/v1"
	"github.com/retailbridge/retailbridge/pkg/sftpbox"
	"github.com/retailbridge/retailbridge/pkg/x12"
)

// Vendor is the connector's name: event ids, logs and the delivery memory.
const Vendor = "edi3pl"

// Source is the producer of every event this connector makes.
const Source = "retailbridge/system/wms"

// Config is how to trade with one 3PL.
type Config struct {
	// Mailbox is the partner's SFTP server and folders (Outbound: where our files go; Inbound:
	// where theirs arrive).
	Mailbox sftpbox.Config
	// SenderQualifier/SenderID are our ISA05/ISA06; ReceiverQualifier/ReceiverID the 3PL's.
	SenderQualifier, SenderID, ReceiverQualifier, ReceiverID string
	// Version is GS08 (default "004010").
	Version string
	// Test marks our interchanges as test data (ISA15 "T").
	Test bool
	// AckRequested asks the 3PL for a TA1 on each of our interchanges (ISA14 "1"); ta1.go
	// reconciles them.
	AckRequested bool
	// LocationID is the 3PL's location when a file names none.
	LocationID string
}

// Client is the connector. It is safe for concurrent use.
type Client struct {
	cfg   Config
	box   *sftpbox.Box
	state *state
	log   *slog.Logger
	now   func() time.Time

	sending [64]sync.Mutex // sendOnce, striped by document key
}

// New returns the connector; js holds its state.
func New(cfg Config, js jetstream.JetStream, log *slog.Logger, now func() time.Time) (*Client, error) {
	if cfg.Version == "" {
		cfg.Version = "004010"
	}
	var bad []string
	for name, v := range map[string]string{"sender_id": cfg.SenderID, "receiver_id": cfg.ReceiverID,
		"sender_qualifier": cfg.SenderQualifier, "receiver_qualifier": cfg.ReceiverQualifier, "location_id": cfg.LocationID} {
		if strings.TrimSpace(v) == "" {
			bad = append(bad, name+" is required")
		}
	}
	if len(bad) > 0 {
		return nil, fmt.Errorf("edi3pl: %s", strings.Join(bad, "; "))
	}
	box, err := sftpbox.New(cfg.Mailbox)
	if err != nil {
		return nil, err
	}
	if js == nil {
		return nil, errors.New("edi3pl: JetStream is required for the connector's state")
	}
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	if now == nil {
		now = time.Now
	}
	return &Client{cfg: cfg, box: box, state: &state{js: js}, log: log, now: now}, nil
}

func (c *Client) envelope() x12.Envelope {
	return x12.Envelope{SenderQualifier: c.cfg.SenderQualifier, SenderID: c.cfg.SenderID,
		ReceiverQualifier: c.cfg.ReceiverQualifier, ReceiverID: c.cfg.ReceiverID, Version: c.cfg.Version,
		Test: c.cfg.Test, AckRequested: c.cfg.AckRequested, Layout: "\n"}
}

// Ready reports whether the mailbox accepts our key and shows the pinned host key.
func (c *Client) Ready(ctx context.Context) error {
	s, err := c.box.Open(ctx)
	if err != nil {
		return toErr(err)
	}
	defer s.Close()
	if _, err := s.List(); err != nil {
		return toErr(err)
	}
	return nil
}

// ParseWebhook: the 3PL sends files, not webhooks.
func (c *Client) ParseWebhook(http.Header, []byte) (string, []*canonicalv1.Event, error) {
	return "", nil, errs.E(errs.Unimplemented, "webhooks_not_supported", "this warehouse sends EDI files over SFTP, not webhooks")
}

// toErr classifies a failure in one place: a refused host key or a refused client key is a
// configuration fault that retrying cannot fix; other mailbox failures (the server down, a cut connection) are
// retryable unavailability.
func toErr(err error) error {
	if err == nil {
		return nil
	}
	if e := errs.As(err); e != nil {
		return err
	}
	switch {
	case errors.Is(err, sftpbox.ErrHostKey):
		return errs.Wrap(err, errs.FailedPrecondition, "host_key_mismatch", "the warehouse's SFTP host key is not the pinned one")
	case errors.Is(err, context.DeadlineExceeded):
		return errs.Wrap(err, errs.DeadlineExceeded, "vendor_timeout", "the warehouse's SFTP server did not answer in time")
	case errors.Is(err, x12.ErrValue):
		return errs.Wrap(err, errs.Invalid, "value_not_representable", "a value contains an EDI separator")
	case strings.Contains(err.Error(), "ssh: unable to authenticate"):
		// x/crypto/ssh has no typed error for a refused key; its message is stable. A refused
		// key is the REST warehouse's refused API key: retrying cannot fix it.
		e := errs.Wrap(err, errs.Unavailable, "vendor_auth_failed", "the warehouse's SFTP server refused our key")
		e.Retryable = false
		return e
	}
	e := errs.Wrap(err, errs.Unavailable, "vendor_unavailable", "the warehouse's SFTP server is unavailable")
	e.Retryable = true
	return e
}
