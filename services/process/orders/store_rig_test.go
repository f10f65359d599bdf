package orders

import (
	"cmp"
	"context"
	"encoding/json"
	"errors"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"slices"
	"sync"
	"testing"
	"time"

	"google.golang.org/grpc"

	"github.com/retailbridge/retailbridge/pkg/auth"
	"github.com/retailbridge/retailbridge/pkg/events"
	"github.com/retailbridge/retailbridge/pkg/events/eventstest"
	commercev1 "github.com/retailbridge/retailbridge/pkg/gen/retailbridge/system/commerce/v1"
	"github.com/retailbridge/retailbridge/pkg/grpcx"
	"github.com/retailbridge/retailbridge/pkg/store"
	"github.com/retailbridge/retailbridge/pkg/store/storetest"
	"github.com/retailbridge/retailbridge/services/sandbox/demo"
	"github.com/retailbridge/retailbridge/services/sandbox/faults"
	sandbox "github.com/retailbridge/retailbridge/services/sandbox/shopify"
	"github.com/retailbridge/retailbridge/services/system/commerce"
)

// The order store is tested with real components: the Shopify sandbox sends signed webhooks to
// a stand-in for the gateway's webhook route, which hands them to the real commerce system
// service (signature check, normalisation, JetStream publish); the orders service consumes them
// from an embedded JetStream into SQLite or PostgreSQL, and reads the commerce service over
// gRPC. The stand-in can hold deliveries, so a test replays them late, out of order and many
// times. Vendor calls are counted at the sandbox.

const rigSecret = "whsec_orderstore"

var rigDataset = sync.OnceValue(func() *demo.Dataset {
	return demo.Generate(11, time.Now().UTC().Add(-time.Hour), 6, 60)
})

// delivery is one webhook delivery as the sandbox sent it.
type delivery struct {
	topic   string
	headers map[string]string
	body    []byte
}

type storeRig struct {
	t        testing.TB
	sb       *sandbox.Sandbox
	commerce *commerce.Service
	svc      *Service
	db       *store.DB

	mu   sync.Mutex
	hold bool
	held []delivery
}

func newStoreRig(t *testing.T, d store.Dialect, cfg StoreConfig) *storeRig {
	t.Helper()
	return newStoreRigAt(t, d, cfg, nil)
}

// newStoreRigAt is newStoreRig with the shop's clock (nil: time.Now).
func newStoreRigAt(t *testing.T, d store.Dialect, cfg StoreConfig, shopNow func() time.Time) *storeRig {
	t.Helper()
	_, js := eventstest.Start(t).Connect(t)
	rig := &storeRig{t: t}
	gw := httptest.NewServer(http.HandlerFunc(rig.receive))
	t.Cleanup(gw.Close)
	rig.sb = sandbox.New(rigDataset(), sandbox.Options{RestoreRate: 1_000_000, BucketSize: 1_000_000, Now: shopNow,
		Webhooks: sandbox.WebhookConfig{URL: gw.URL, Secret: rigSecret}})
	t.Cleanup(rig.sb.Close)
	shop := httptest.NewServer(rig.sb)
	t.Cleanup(shop.Close)
	com, err := commerce.New(commerce.Config{Connection: &commerce.ShopifyConfig{BaseURL: shop.URL,
		AccessToken: sandbox.DefaultAccessToken, WebhookSecret: rigSecret}}, commerce.Deps{HTTPClient: shop.Client(), JetStream: js})
	if err != nil {
		t.Fatalf("commerce.New: %v", err)
	}
	rig.commerce = com
	conn := serveCommerce(t, com)
	rig.db = storetest.Open(t, d, store.Options{})
	svc, err := New(Config{Store: cfg}, Deps{Commerce: commercev1.NewCommerceServiceClient(conn), JetStream: js, DB: rig.db})
	if err != nil {
		t.Fatalf("orders.New: %v", err)
	}
	rig.svc = svc
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- svc.runFeedOnly(ctx) }()
	t.Cleanup(func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("orders feed: %v", err)
		}
	})
	return rig
}

// runFeedOnly runs the store's consumer without the poll loop: tests poll with PollOnce.
func (s *Service) runFeedOnly(ctx context.Context) error {
	if _, err := events.EnsureStream(ctx, s.js, "commerce", events.StreamOptions{}); err != nil {
		return ignoreCancel(ctx, err)
	}
	if _, err := events.EnsureDeadLetterStream(ctx, s.js, events.StreamOptions{}); err != nil {
		return ignoreCancel(ctx, err)
	}
	feed, err := s.newFeed()
	if err != nil {
		return err
	}
	go func() { _ = s.readTies(ctx) }()
	if err := feed.Run(ctx); !errors.Is(err, context.Canceled) {
		return err
	}
	return nil
}

func serveCommerce(t testing.TB, com *commerce.Service) *grpc.ClientConn {
	t.Helper()
	lis, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	srv := grpcx.NewServer(grpcx.ServerDeps{})
	commercev1.RegisterCommerceServiceServer(srv.Server, com)
	go func() { _ = srv.Server.Serve(lis) }()
	t.Cleanup(srv.Server.Stop)
	conn, err := grpcx.Dial(lis.Addr().String(), grpcx.DialDeps{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = conn.Close() })
	return conn
}

// receive is the gateway's webhook route: deliveries are ingested at once, or held for the
// test to replay when hold is set (the sandbox is told they were delivered).
func (r *storeRig) receive(w http.ResponseWriter, req *http.Request) {
	body, _ := io.ReadAll(req.Body)
	d := delivery{topic: req.Header.Get("X-Shopify-Topic"), headers: map[string]string{}, body: body}
	for k := range req.Header {
		d.headers[k] = req.Header.Get(k)
	}
	r.mu.Lock()
	if r.hold {
		r.held = append(r.held, d)
		r.mu.Unlock()
		return
	}
	r.mu.Unlock()
	if err := r.ingest(d); err != nil {
		w.WriteHeader(http.StatusServiceUnavailable)
	}
}

func (r *storeRig) ingest(d delivery) error {
	_, err := r.commerce.IngestWebhook(context.Background(), &commercev1.IngestWebhookRequest{Headers: d.headers, Body: d.body})
	return err
}

// holdWebhooks makes the stand-in keep deliveries instead of ingesting them.
func (r *storeRig) holdWebhooks(on bool) {
	r.mu.Lock()
	r.hold = on
	r.mu.Unlock()
}

// takeHeld waits until n deliveries are held and returns them in the order the shop raised them:
// by the order's updated_at in the body, an orders/cancelled before the orders/updated sent with
// it (copies are sent concurrently, so arrival order is anyone's).
func (r *storeRig) takeHeld(n int) []delivery {
	r.t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := r.sb.DrainWebhooks(ctx); err != nil {
		r.t.Fatalf("drain webhooks: %v", err)
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	if len(r.held) != n {
		r.t.Fatalf("held %d deliveries, want %d", len(r.held), n)
	}
	out := r.held
	r.held = nil
	rank := map[string]int{"orders/create": 0, "orders/cancelled": 1, "fulfillments/create": 1, "orders/updated": 2}
	slices.SortStableFunc(out, func(a, b delivery) int {
		if c := cmp.Compare(updatedAtOf(a.body), updatedAtOf(b.body)); c != 0 {
			return c
		}
		return cmp.Compare(rank[a.topic], rank[b.topic])
	})
	return out
}

func updatedAtOf(body []byte) string {
	var v struct {
		UpdatedAt string `json:"updated_at"`
	}
	_ = json.Unmarshal(body, &v)
	return v.UpdatedAt
}

// vendorCalls is how many Admin API requests the sandbox executed.
func (r *storeRig) vendorCalls() int64 {
	st := r.sb.Stats()
	return st.Queries + st.Mutations
}

func supportCtx() context.Context {
	return auth.WithPrincipal(context.Background(), auth.Principal{Audience: auth.Support, Subject: "agent-1"})
}

func customerCtx(id string) context.Context {
	return auth.WithPrincipal(context.Background(), auth.Principal{Audience: auth.Storefront, Subject: id})
}

func faultsLatency(d time.Duration) faults.Settings { return faults.Settings{Latency: d} }

// ignoreCancel drops an error caused by the test ending.
func ignoreCancel(ctx context.Context, err error) error {
	if ctx.Err() != nil {
		return nil
	}
	return err
}
