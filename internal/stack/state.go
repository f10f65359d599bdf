package stack

import (
	"context"
	"fmt"
	"net/http"
	"path/filepath"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/retailbridge/retailbridge/pkg/events"
	"github.com/retailbridge/retailbridge/pkg/governor"
	"github.com/retailbridge/retailbridge/pkg/store"
)

// database opens the state of one process service: the shared PostgreSQL database when
// DATABASE_URL is set (each service owns its tables), else its own SQLite file in the data
// directory.
func (s *Stack) database(ctx context.Context, service string) (*store.DB, error) {
	url := s.opts.Config.DatabaseURL
	if url == "" {
		url = "sqlite:" + filepath.Join(s.opts.Config.DataDir, service+".db")
	}
	db, err := store.Open(ctx, url, store.Options{})
	if err != nil {
		return nil, fmt.Errorf("%s database: %w", service, err)
	}
	s.closers = append(s.closers, func() { _ = db.Close() })
	return db, nil
}

// jetStream connects to the bus once per stack.
func (s *Stack) jetStream() (jetstream.JetStream, error) {
	if s.js != nil {
		return s.js, nil
	}
	if s.NATSURL == "" {
		return nil, fmt.Errorf("NATS_URL is required")
	}
	nc, err := nats.Connect(s.NATSURL, nats.Name("retailbridge"), nats.MaxReconnects(-1))
	if err != nil {
		return nil, fmt.Errorf("nats: %w", err)
	}
	s.closers = append(s.closers, nc.Close)
	js, err := jetstream.New(nc)
	if err != nil {
		return nil, err
	}
	// Every stream and bucket any service ensures takes the deployment's replicas; webhook
	// intakes remember each vendor's deliveries for its retry horizon.
	js = events.WithStreamDefaults(js, events.StreamOptions{Replicas: s.opts.Config.StreamReplicas})
	js = events.WithDeliveryHorizons(js, s.opts.Config.WebhookDedup)
	s.js = js
	return js, nil
}

// governor returns the guard every outbound call to vendor goes through (see pkg/governor).
func (s *Stack) governor(vendor string) func(http.RoundTripper) http.RoundTripper {
	return func(next http.RoundTripper) http.RoundTripper {
		g := governor.New(vendor, s.opts.Config.Governors[vendor], next)
		s.governors[vendor] = g
		return g
	}
}
