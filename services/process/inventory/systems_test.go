package inventory

import (
	"context"
	"log/slog"
	"net"
	"net/http/httptest"
	"sync"
	"testing"
	"time"

	"google.golang.org/grpc"

	"github.com/retailbridge/retailbridge/pkg/grpcx"
	"github.com/retailbridge/retailbridge/pkg/store"
	"github.com/retailbridge/retailbridge/pkg/store/storetest"
	"github.com/retailbridge/retailbridge/pkg/telemetry"
	"github.com/retailbridge/retailbridge/pkg/tenancy"
	"github.com/retailbridge/retailbridge/services/sandbox/demo"
	warehousesb "github.com/retailbridge/retailbridge/services/sandbox/warehouse"
	"github.com/retailbridge/retailbridge/services/system/wms"

	inventoryv1 "github.com/retailbridge/retailbridge/pkg/gen/retailbridge/process/inventory/v1"
	wmsv1 "github.com/retailbridge/retailbridge/pkg/gen/retailbridge/system/wms/v1"
)

// start is when the warehouse was stocked; the clock the sandbox and the service share starts
// here.
var start = time.Date(2026, 3, 14, 9, 0, 0, 0, time.UTC)

// locations are the sandbox warehouse's sites.
var locations = []string{"dc-east", "dc-west", "store-nyc"}

// tenantsYAML is the partner directory the tests run with: acme promises stock from both
// distribution centres less two units at each, corner from one store less sixty (more than some
// SKUs have there), and ordersonly has no stock to promise.
const tenantsYAML = `
tenants:
  acme:
    name: Acme Marketplace
    locations: [dc-east, dc-west]
    buffer: 2
  corner:
    name: Corner Shop
    locations: [store-nyc]
    buffer: 60
  ordersonly:
    name: Orders Only
    order_sources: [ordersonly-web]
`

// clock is the fixture's injectable clock.
type clock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *clock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

func (c *clock) Advance(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.t = c.t.Add(d)
}

// fixture is the inventory service over the real wms system API over the warehouse sandbox,
// each service on its own gRPC server.
type fixture struct {
	ds    *demo.Dataset
	sb    *warehousesb.Sandbox
	wms   wmsv1.WmsServiceClient // the system API, for expectations and stock changes
	inv   inventoryv1.InventoryServiceClient
	clock *clock
	svc   *Service
	db    *store.DB
}

func newFixture(t testing.TB, cfg Config) *fixture {
	t.Helper()
	clk := &clock{t: start}
	ds := demo.Generate(11, start, 2, 2)
	sb := warehousesb.New(ds, warehousesb.Options{Manual: true, Locations: locations, Now: clk.Now, Seed: 11})
	web := httptest.NewServer(sb)
	t.Cleanup(func() {
		web.Close()
		sb.Close()
	})

	wmsSvc, err := wms.New(wms.Config{Connection: wms.WarehouseConfig{
		BaseURL: web.URL, APIKey: warehousesb.DevAPIKey, WebhookSecret: warehousesb.DevWebhookSecret,
	}}, wms.Deps{HTTPClient: telemetry.NewVendorClient("warehouse", 5*time.Second, nil, nil)})
	if err != nil {
		t.Fatalf("wms.New: %v", err)
	}
	wmsClient := wmsv1.NewWmsServiceClient(serve(t, func(s *grpc.Server) { wmsv1.RegisterWmsServiceServer(s, wmsSvc) }))

	tenants, err := tenancy.Parse([]byte(tenantsYAML))
	if err != nil {
		t.Fatalf("tenancy.Parse: %v", err)
	}
	db := storetest.Open(t, store.SQLite, store.Options{})
	svc, err := New(cfg, Deps{DB: db, WMS: wmsClient, Tenants: tenants, Now: clk.Now})
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	// The ledger starts from the warehouse's snapshot, applied as counts.
	if _, err := svc.ApplySnapshot(context.Background()); err != nil {
		t.Fatalf("ApplySnapshot: %v", err)
	}
	inv := inventoryv1.NewInventoryServiceClient(serve(t, func(s *grpc.Server) { inventoryv1.RegisterInventoryServiceServer(s, svc) }))
	return &fixture{ds: ds, sb: sb, wms: wmsClient, inv: inv, clock: clk, svc: svc, db: db}
}

// serve runs register's services on a grpcx server on a loopback port and returns a grpcx client
// connection to it, so errors and principals cross the wire as they do between services.
func serve(t testing.TB, register func(*grpc.Server)) *grpc.ClientConn {
	t.Helper()
	lis, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatalf("listen: %v", err)
	}
	srv := grpcx.NewServer(grpcx.ServerDeps{Logger: slog.New(slog.DiscardHandler)})
	register(srv.Server)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- srv.Serve(ctx, lis) }()
	conn, err := grpcx.Dial(lis.Addr().String(), grpcx.DialDeps{})
	if err != nil {
		cancel()
		t.Fatalf("dial: %v", err)
	}
	t.Cleanup(func() {
		_ = conn.Close()
		cancel()
		if err := <-done; err != nil {
			t.Errorf("serve: %v", err)
		}
	})
	return conn
}
