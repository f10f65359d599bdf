package stack

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"net/http"
	"path/filepath"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/retailbridge/retailbridge/pkg/errs"
	"github.com/retailbridge/retailbridge/pkg/events"
	"github.com/retailbridge/retailbridge/pkg/governor"
	"github.com/retailbridge/retailbridge/pkg/grpcx"
	"github.com/retailbridge/retailbridge/pkg/store"
	"github.com/retailbridge/retailbridge/pkg/workflow"
)

// embeddedAllowed says whether a missing engine URL may be stood in for by an embedded engine:
// in dev and tests (Ephemeral), or when serve was told so (RB_ALLOW_EMBEDDED, --embedded).
func (s *Stack) embeddedAllowed() bool { return s.opts.Ephemeral || s.opts.Config.AllowEmbedded }

// database opens the state of one process service: the shared PostgreSQL database of
// DATABASE_URL (each service owns its tables), or — only where embedded engines are allowed —
// its own SQLite file in the data directory. A database that does not answer yet is waited for.
//
// Each service's database is opened once per process and the handle shared by every component
// that asks for it (the order store, the order workflow and settlement all use "orders"): SQLite
// has one writer per file, and only transactions queued on the same handle share a group
// commit (pkg/store/group.go); separate handles would also fight over the file lock with BUSY
// retries. On PostgreSQL each service keeps a pool of its own, as before.
func (s *Stack) database(ctx context.Context, service string) (*store.DB, error) {
	s.dbMu.Lock()
	defer s.dbMu.Unlock()
	if db := s.Database(service); db != nil {
		return db, nil
	}
	url := s.opts.Config.DatabaseURL
	if url == "" {
		if !s.embeddedAllowed() {
			return nil, errors.New("DATABASE_URL is required")
		}
		url = "sqlite:" + filepath.Join(s.opts.Config.DataDir, service+".db")
	}
	var db *store.DB
	err := s.waitFor(service+" database", func(actx context.Context) (err error) {
		if err := ctx.Err(); err != nil {
			return err // the caller gave up
		}
		db, err = store.Open(actx, url, store.Options{})
		return err
	})
	if err != nil {
		return nil, fmt.Errorf("%s database: %w", service, err)
	}
	s.closers = append(s.closers, func() { _ = db.Close() })
	s.dbs.Store(service, db)
	return db, nil
}

// Database is the state of the process service named service when this stack runs it, else
// nil: the benchmark reads its commit counters.
func (s *Stack) Database(service string) *store.DB {
	db, _ := s.dbs.Load(service)
	d, _ := db.(*store.DB)
	return d
}

// jetStream connects to the bus once per stack. A bus that does not answer yet is waited for;
// once connected, the client reconnects by itself for as long as the stack runs.
func (s *Stack) jetStream() (jetstream.JetStream, error) {
	if s.js != nil {
		return s.js, nil
	}
	if s.NATSURL == "" {
		return nil, fmt.Errorf("NATS_URL is required")
	}
	nc, err := nats.Connect(s.NATSURL, nats.Name("retailbridge"), nats.MaxReconnects(-1), nats.RetryOnFailedConnect(true))
	if err != nil {
		return nil, fmt.Errorf("nats: %w", err)
	}
	s.closers = append(s.closers, nc.Close)
	js, err := jetstream.New(nc)
	if err != nil {
		return nil, err
	}
	s.nc = nc
	if err := s.waitFor("NATS JetStream", s.natsProbe().Check); err != nil {
		return nil, fmt.Errorf("nats: %w", err)
	}
	// Every stream and bucket any service ensures takes the deployment's replicas; webhook
	// intakes remember each vendor's deliveries for its retry horizon.
	js = events.WithStreamDefaults(js, events.StreamOptions{Replicas: s.opts.Config.StreamReplicas})
	js = events.WithDeliveryHorizons(js, s.dedup)
	s.js = js
	return js, nil
}

// natsProbe checks the bus: connected, JetStream answering, and the named streams present.
func (s *Stack) natsProbe(domains ...string) grpcx.Probe {
	return grpcx.Probe{Name: "nats", Check: func(ctx context.Context) error {
		if st := s.nc.Status(); st != nats.CONNECTED {
			return fmt.Errorf("%w (connection %s)", nats.ErrDisconnected, st)
		}
		js, err := jetstream.New(s.nc)
		if err != nil {
			return err
		}
		if _, err := js.AccountInfo(ctx); err != nil {
			return fmt.Errorf("jetstream: %w", err)
		}
		for _, d := range domains {
			if _, err := js.Stream(ctx, events.StreamName(d)); err != nil {
				return fmt.Errorf("stream %s: %w", events.StreamName(d), err)
			}
		}
		return nil
	}}
}

// dbProbe checks a service's database answers.
func dbProbe(db *store.DB) grpcx.Probe {
	return grpcx.Probe{Name: "database", Check: db.Ping}
}

// waitFor runs try until it succeeds, retrying with capped, jittered backoff (100 ms doubling
// to 5 s) while the engine is not there yet, until the start context ends: a process started
// before its database or bus waits for them instead of exiting.
func (s *Stack) waitFor(what string, try func(ctx context.Context) error) error {
	return s.waitUntil(what, try, func(error) bool { return false })
}

// waitUntil is waitFor that also retries the errors pending says are worth waiting out. It
// gives up when Start's context ends or a started component fails.
func (s *Stack) waitUntil(what string, try func(ctx context.Context) error, pending func(error) bool) error {
	ctx, cancel := context.WithCancel(s.startCtx)
	defer cancel()
	defer context.AfterFunc(s.ctx, cancel)()
	delay := 100 * time.Millisecond
	for attempt := 1; ; attempt++ {
		actx, cancel := context.WithTimeout(ctx, 5*time.Second)
		err := try(actx)
		cancel()
		if err == nil {
			if attempt > 1 {
				s.logger.Info("available", "engine", what, "attempts", attempt)
			}
			return nil
		}
		if !errs.EngineUnavailable(err) && !pending(err) && (!errors.Is(err, context.DeadlineExceeded) || ctx.Err() != nil) {
			return err // not an outage (a wrong password, a missing database): waiting will not help
		}
		s.logger.Warn("waiting for an engine", "engine", what, "attempt", attempt, "retry_in", delay.String(), "error", err.Error())
		t := time.NewTimer(delay/2 + rand.N(delay/2+1))
		select {
		case <-ctx.Done():
			t.Stop()
			return errors.Join(err, ctx.Err())
		case <-t.C:
		}
		delay = min(2*delay, 5*time.Second)
	}
}

// governor returns the guard every outbound call to vendor goes through (see pkg/governor).
func (s *Stack) governor(vendor string) func(http.RoundTripper) http.RoundTripper {
	return func(next http.RoundTripper) http.RoundTripper {
		g := governor.New(vendor, s.guards[vendor], next)
		s.governors[vendor] = g
		return g
	}
}

// admission names, per system kind served in this process, the governor of the kind's default
// vendor, whose free slots the workflow runners admit steps by (pkg/workflow admission.go). A
// kind served by another process has none here: its steps start whenever a worker is free, and
// its own governor queues them. Read once, after the system services started: the runner reads
// the map from its own goroutine.
func (s *Stack) admission() workflow.Admission {
	caps := map[string]workflow.Capacity{}
	for _, k := range systemKinds() {
		if g := s.governors[s.tables[k.component].Default]; g != nil {
			caps[k.kind.Name] = g
		}
	}
	if len(caps) == 0 {
		return nil
	}
	return func(system string) workflow.Capacity { return caps[system] }
}
