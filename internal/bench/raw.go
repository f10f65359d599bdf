package main

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"sync"
	"time"

	natsserver "github.com/nats-io/nats-server/v2/server"
	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
	"google.golang.org/protobuf/types/known/anypb"
	"google.golang.org/protobuf/types/known/timestamppb"

	"github.com/retailbridge/retailbridge/pkg/events"
	canonicalv1 "github.com/retailbridge/retailbridge/pkg/gen/retailbridge/canonical/v1"
	"github.com/retailbridge/retailbridge/pkg/money"
	"github.com/retailbridge/retailbridge/pkg/store"
)

// rawRate is one raw measurement: n operations in elapsed, with per-operation latencies when
// they mean something.
type rawRate struct {
	n         int
	elapsed   time.Duration
	latencies []time.Duration
	note      string
}

func (r rawRate) rate() float64 { return float64(r.n) / r.elapsed.Seconds() }

func (r rawRate) p(q float64) time.Duration {
	return result{latencies: r.latencies}.p(q)
}

type rawJetStreamResult struct {
	publishAsync, publishSync, consume rawRate
	msgBytes                           int
}

// benchEvent is the wire form of a typical workflow state event: the canonical envelope around
// a two-line return, as the returns outbox publishes it.
func benchEvent() ([]byte, error) {
	r := &canonicalv1.Return{Id: "ret_0123456789abcdef", OrderId: "5100042", CustomerId: "7000013", RmaNumber: "RMA10042",
		TrackingNumber: "1Z999AA10123456784", RefundTotal: money.New(12998, "USD"), CreatedAt: timestamppb.Now(),
		Method:      canonicalv1.ReturnMethod_RETURN_METHOD_MAIL,
		ExternalIds: map[string]string{"erp": "4711", "returnsplatform": "lr_1042", "wms": "rcpt_1042"}}
	for i := range 2 {
		r.Lines = append(r.Lines, &canonicalv1.ReturnLine{OrderLineId: fmt.Sprintf("510004201%d", i), Sku: "APP-010",
			Quantity: 1, Reason: canonicalv1.ReturnReason_RETURN_REASON_SIZE_OR_FIT, RefundAmount: money.New(6499, "USD"),
			RestockingFee: money.New(0, "USD")})
	}
	data, err := anypb.New(r)
	if err != nil {
		return nil, err
	}
	return events.Encode(&canonicalv1.Event{Id: "01JBENCHEVENT0000000000000", Source: "retailbridge/process/returns",
		Type: "retailbridge.bench.return.refunded.v1", Subject: "return/ret_0123456789abcdef", Time: timestamppb.Now(),
		SpecVersion: 1, CorrelationId: "corr-0123456789", Data: data})
}

// benchJetStream measures an embedded JetStream server configured as the stack's (file store,
// SyncAlways) on the stream configuration the services use: asynchronous publishing of asyncN
// messages with at most window unacknowledged (as the outbox relay publishes a batch), one-at-a-time
// publishing of syncN messages (each waiting for its stored acknowledgement), and consuming the
// asyncN messages through a durable pull consumer with explicit acks (as events.Consumer does).
func benchJetStream(dir string, asyncN, syncN, window int) (rawJetStreamResult, error) {
	var res rawJetStreamResult
	ns, err := natsserver.NewServer(&natsserver.Options{Host: "127.0.0.1", Port: -1, JetStream: true,
		StoreDir: filepath.Join(dir, "nats"), SyncAlways: true, NoSigs: true, NoLog: true})
	if err != nil {
		return res, err
	}
	go ns.Start()
	defer func() { ns.Shutdown(); ns.WaitForShutdown() }()
	if !ns.ReadyForConnections(10 * time.Second) {
		return res, fmt.Errorf("nats not ready")
	}
	nc, err := nats.Connect(ns.ClientURL())
	if err != nil {
		return res, err
	}
	defer nc.Close()
	js, err := jetstream.New(nc, jetstream.WithPublishAsyncMaxPending(window))
	if err != nil {
		return res, err
	}
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	stream, err := events.EnsureStream(ctx, js, "bench", events.StreamOptions{})
	if err != nil {
		return res, err
	}
	payload, err := benchEvent()
	if err != nil {
		return res, err
	}
	res.msgBytes = len(payload)
	msg := func(i int, kind string) *nats.Msg {
		m := nats.NewMsg("retailbridge.bench.return.refunded.v1")
		m.Data = payload
		m.Header.Set(events.HeaderMsgID, fmt.Sprintf("bench-%s-%08d", kind, i))
		m.Header.Set(events.HeaderContentType, events.ContentType)
		m.Header.Set(events.HeaderEventType, "retailbridge.bench.return.refunded.v1")
		m.Header.Set(events.HeaderCorrelationID, "corr-0123456789")
		return m
	}

	// Asynchronous publishing, window acknowledgements outstanding.
	futures := make([]jetstream.PubAckFuture, 0, asyncN)
	start := time.Now()
	for i := range asyncN {
		f, err := js.PublishMsgAsync(msg(i, "async"), jetstream.WithStallWait(time.Minute))
		if err != nil {
			return res, fmt.Errorf("publish: %w", err)
		}
		futures = append(futures, f)
	}
	select {
	case <-js.PublishAsyncComplete():
	case <-ctx.Done():
		return res, fmt.Errorf("publish acks: %w", ctx.Err())
	}
	res.publishAsync = rawRate{n: asyncN, elapsed: time.Since(start)}
	for _, f := range futures {
		select {
		case err := <-f.Err():
			return res, fmt.Errorf("publish ack: %w", err)
		default:
		}
	}

	// One at a time: every publish waits for its stored (fsynced) acknowledgement.
	lat := make([]time.Duration, 0, syncN)
	start = time.Now()
	for i := range syncN {
		t := time.Now()
		if _, err := js.PublishMsg(ctx, msg(i, "sync")); err != nil {
			return res, fmt.Errorf("sync publish: %w", err)
		}
		lat = append(lat, time.Since(t))
	}
	slices.Sort(lat)
	res.publishSync = rawRate{n: syncN, elapsed: time.Since(start), latencies: lat}

	// Consume the asynchronously published messages with a durable pull consumer, ack each.
	cons, err := js.CreateOrUpdateConsumer(ctx, stream.CachedInfo().Config.Name, jetstream.ConsumerConfig{
		Durable: "bench", AckPolicy: jetstream.AckExplicitPolicy, DeliverPolicy: jetstream.DeliverAllPolicy,
		MaxAckPending: 1000, AckWait: 30 * time.Second, MaxDeliver: -1,
	})
	if err != nil {
		return res, err
	}
	start = time.Now()
	it, err := cons.Messages(jetstream.PullMaxMessages(500))
	if err != nil {
		return res, err
	}
	got := 0
	var once sync.Once
	stop := func() { once.Do(it.Stop) }
	defer stop()
	for got < asyncN {
		m, err := it.Next()
		if err != nil {
			return res, fmt.Errorf("consume: %w", err)
		}
		if err := m.Ack(); err != nil {
			return res, fmt.Errorf("ack: %w", err)
		}
		got++
	}
	stop()
	// The acks are fire-and-forget, as in events.Consumer: the rate counts until the server
	// has processed every one.
	for {
		ci, err := cons.Info(ctx)
		if err != nil {
			return res, err
		}
		if ci.AckFloor.Stream >= uint64(asyncN) {
			break
		}
		if ctx.Err() != nil {
			return res, ctx.Err()
		}
		time.Sleep(time.Millisecond)
	}
	res.consume = rawRate{n: got, elapsed: time.Since(start)}
	return res, nil
}

type rawSQLiteResult struct {
	commits           rawRate
	writers           int
	journal, syncMode string
	// serial: the group commit was off; dbCommits is how many COMMITs made the transactions
	// durable (fewer than the transactions when the group commit shared them).
	serial    bool
	dbCommits uint64
}

// benchSQLite measures single-row INSERT transactions through pkg/store on a SQLite file (WAL,
// synchronous=FULL, one writer connection, BEGIN IMMEDIATE) from writers goroutines for d.
func benchSQLite(dir string, writers int, d time.Duration, opts store.Options) (rawSQLiteResult, error) {
	if err := os.MkdirAll(dir, 0o750); err != nil {
		return rawSQLiteResult{writers: writers}, err
	}
	return benchStore("sqlite:"+filepath.Join(dir, "bench.db"), writers, d, opts)
}

// benchStore measures single-row INSERT transactions through pkg/store on the empty database
// u from writers goroutines for d.
func benchStore(u string, writers int, d time.Duration, opts store.Options) (rawSQLiteResult, error) {
	res := rawSQLiteResult{writers: writers, serial: opts.SerialCommits}
	ctx := context.Background()
	db, err := store.Open(ctx, u, opts)
	if err != nil {
		return res, err
	}
	defer db.Close()
	ddl := `CREATE TABLE bench (id INTEGER PRIMARY KEY AUTOINCREMENT, k TEXT NOT NULL, v BLOB NOT NULL, at TIMESTAMP NOT NULL)`
	if db.Dialect() == store.Postgres {
		ddl = `CREATE TABLE bench (id BIGSERIAL PRIMARY KEY, k TEXT NOT NULL, v BYTEA NOT NULL, at TIMESTAMPTZ NOT NULL)`
		res.journal, res.syncMode = "PostgreSQL WAL", "synchronous_commit "+pgSetting(ctx, db, "synchronous_commit")
	}
	if _, err := db.Exec(ctx, ddl); err != nil {
		return res, err
	}
	if err := benchStoreRun(ctx, db, &res, d); err != nil {
		return res, err
	}
	_, res.dbCommits = db.Commits()
	return res, nil
}

func pgSetting(ctx context.Context, db *store.DB, name string) string {
	var v string
	if err := db.QueryRow(ctx, "SHOW "+name).Scan(&v); err != nil {
		return "?"
	}
	return v
}

func benchStoreRun(ctx context.Context, db *store.DB, res *rawSQLiteResult, d time.Duration) error {
	writers := res.writers
	// The pragmas of the writer connection, read inside a write transaction.
	if err := db.InTx(ctx, func(tx *store.Tx) error {
		if db.Dialect() != store.SQLite {
			return nil
		}
		var sync int
		if err := tx.QueryRow(ctx, `PRAGMA journal_mode`).Scan(&res.journal); err != nil {
			return err
		}
		if err := tx.QueryRow(ctx, `PRAGMA synchronous`).Scan(&sync); err != nil {
			return err
		}
		res.syncMode = map[int]string{0: "OFF", 1: "NORMAL", 2: "FULL", 3: "EXTRA"}[sync]
		return nil
	}); err != nil {
		return err
	}
	payload := make([]byte, 256)
	var mu sync.Mutex
	var all []time.Duration
	deadline := time.Now().Add(d)
	start := time.Now()
	var wg sync.WaitGroup
	var firstErr error
	for w := range writers {
		wg.Go(func() {
			var lat []time.Duration
			for i := 0; time.Now().Before(deadline); i++ {
				t := time.Now()
				err := db.InTx(ctx, func(tx *store.Tx) error {
					_, err := tx.Exec(ctx, `INSERT INTO bench (k, v, at) VALUES ($1, $2, $3)`, fmt.Sprintf("w%d-%d", w, i), payload, time.Now().UTC())
					return err
				})
				if err != nil {
					mu.Lock()
					firstErr = err
					mu.Unlock()
					return
				}
				lat = append(lat, time.Since(t))
			}
			mu.Lock()
			all = append(all, lat...)
			mu.Unlock()
		})
	}
	wg.Wait()
	if firstErr != nil {
		return firstErr
	}
	slices.Sort(all)
	res.commits = rawRate{n: len(all), elapsed: time.Since(start), latencies: all}
	return nil
}
