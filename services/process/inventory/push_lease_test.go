package inventory

import (
	"context"
	"fmt"
	"io"
	"net/http/httptest"
	"os"
	"os/exec"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"google.golang.org/grpc"

	"github.com/retailbridge/retailbridge/pkg/grpcx"
	"github.com/retailbridge/retailbridge/pkg/store"
	"github.com/retailbridge/retailbridge/pkg/store/storetest"
	"github.com/retailbridge/retailbridge/pkg/testkit"
	"github.com/retailbridge/retailbridge/services/sandbox/demo"
	shopifysb "github.com/retailbridge/retailbridge/services/sandbox/shopify"
	"github.com/retailbridge/retailbridge/services/system/commerce"

	commercev1 "github.com/retailbridge/retailbridge/pkg/gen/retailbridge/system/commerce/v1"
)

// The push replica run as a separate process, so that the test can kill it for real: the test
// binary runs itself with these variables set (the helper-process pattern of os/exec's tests).
const (
	envReplicaDB       = "RB_TEST_PUSH_REPLICA_DB"
	envReplicaCommerce = "RB_TEST_PUSH_REPLICA_COMMERCE"
	// testPushLease is generous so a replica starved by a loaded machine still renews in time.
	testPushLease = 6 * time.Second
)

// leaseTestConfig is both replicas' configuration.
func leaseTestConfig() Config {
	return Config{SnapshotEvery: -1, ReconcileEvery: -1, MappingEvery: -1,
		Channels: map[string]Channel{"web": {Locations: []string{"dc-east"}, Buffer: 1}},
		Push: PushConfig{Channel: "web", Locations: map[string]string{"dc-east": shopWarehouse}, Every: 20 * time.Millisecond,
			Settle: 50 * time.Millisecond, MaxDelay: time.Second, Lease: testPushLease}}
}

// TestPushReplicaProcess is the pushing replica the lease test starts and kills; it does nothing
// when run as an ordinary test.
func TestPushReplicaProcess(t *testing.T) {
	dbURL, addr := os.Getenv(envReplicaDB), os.Getenv(envReplicaCommerce)
	if dbURL == "" {
		t.Skip("runs only as TestPushLeaseHandsOverWhenAReplicaDies's child process")
	}
	db := storetest.OpenURL(t, dbURL, store.Options{BusyTimeout: time.Minute})
	conn, err := grpcx.Dial(addr, grpcx.DialDeps{})
	if err != nil {
		t.Fatal(err)
	}
	svc, err := New(leaseTestConfig(), Deps{DB: db, Commerce: commercev1.NewCommerceServiceClient(conn)})
	if err != nil {
		t.Fatal(err)
	}
	fmt.Println("replica", svc.replica)
	_ = svc.pushLoop(context.Background()) // until killed
}

// TestPushLeaseHandsOverWhenAReplicaDies runs two pushing replicas over one store: a child
// process that takes the push of 20 SKUs first, and this process. While the child lives it owns
// every position and this replica makes no storefront call; once the child is killed (SIGKILL: no
// lease is released), this replica takes each position over when its lease lapses and brings
// the storefront to the ledger's figures.
func TestPushLeaseHandsOverWhenAReplicaDies(t *testing.T) {
	if os.Getenv(envReplicaDB) != "" {
		t.Skip("this is the child process")
	}
	shop := shopifysb.New(demo.Generate(1, start, 2, 2), shopifysb.Options{RestoreRate: 100000})
	srv := httptest.NewServer(shop)
	t.Cleanup(srv.Close)
	cs, err := commerce.New(commerce.Config{Connection: &commerce.ShopifyConfig{BaseURL: srv.URL, AccessToken: shopifysb.DefaultAccessToken}},
		commerce.Deps{HTTPClient: srv.Client()})
	if err != nil {
		t.Fatal(err)
	}
	conn := serve(t, func(s *grpc.Server) { commercev1.RegisterCommerceServiceServer(s, cs) })
	dbURL := storetest.URL(t, store.SQLite)
	db := storetest.OpenURL(t, dbURL, store.Options{BusyTimeout: time.Minute})
	reg := prometheus.NewRegistry()
	b, err := New(leaseTestConfig(), Deps{DB: db, Commerce: commercev1.NewCommerceServiceClient(conn), Metrics: reg})
	if err != nil {
		t.Fatal(err)
	}
	f := &pushFixture{svc: b, db: db, sb: shop, reg: reg}
	skus := make([]string, 20)
	for i := range skus {
		skus[i] = fmt.Sprintf("LEASE-%02d", i)
		shop.AddInventoryItem(skus[i])
	}
	child := startReplicaProcess(t, dbURL, conn.Target())
	moveAll(t, f, skus, 10)
	waitPushed(t, f, skus, "the child replica's pushes")
	owners := leaseOwners(t, db)
	if owners[child] != len(skus) {
		t.Fatalf("lease owners %v; want the child (%s) to own all %d", owners, child, len(skus))
	}

	runPusher(t, b)
	moveAll(t, f, skus, 3)
	waitPushed(t, f, skus, "pushes while both replicas run")
	if owners := leaseOwners(t, db); owners[child] == len(skus) {
		if n := f.counter(t, "retailbridge_inventory_push_calls_total"); n != 0 {
			t.Errorf("this replica made %v storefront calls while the child owned every position; want 0", n)
		}
	} else {
		t.Logf("the starved child lost leases %v: ownership check skipped", owners)
	}

	if err := childKill(child); err != nil {
		t.Fatal(err)
	}
	moveAll(t, f, skus, -2)
	waitPushed(t, f, skus, "this replica's pushes after the child died")
	if owners := leaseOwners(t, db); owners[b.replica] != len(skus) {
		t.Errorf("lease owners after the child died %v; want this replica (%s) to own all %d", owners, b.replica, len(skus))
	}
	n := f.counter(t, "retailbridge_inventory_push_calls_total")
	if n == 0 {
		t.Error("this replica made no storefront call after the child died")
	}
	t.Logf("handover: %d positions moved from the killed child to this replica, which then made %v storefront calls", len(skus), n)
}

// children maps a child replica's id to its process, for childKill.
var children = map[string]*exec.Cmd{}

// startReplicaProcess starts the child replica and returns its replica id.
func startReplicaProcess(t *testing.T, dbURL, commerceAddr string) string {
	t.Helper()
	cmd := exec.Command(os.Args[0], "-test.run=^TestPushReplicaProcess$", "-test.v", "-test.count=1")
	cmd.Env = append(os.Environ(), envReplicaDB+"="+dbURL, envReplicaCommerce+"="+commerceAddr)
	out, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = cmd.Process.Kill(); _ = cmd.Wait() })
	lines := make(chan string, 1)
	go func() {
		buf := make([]byte, 4096)
		var acc string
		for {
			n, err := out.Read(buf)
			acc += string(buf[:n])
			if i := strings.Index(acc, "replica "); i >= 0 && strings.Contains(acc[i:], "\n") {
				lines <- strings.TrimSpace(strings.SplitN(acc[i+len("replica "):], "\n", 2)[0])
				_, _ = io.Copy(io.Discard, out)
				return
			}
			if err != nil {
				close(lines)
				return
			}
		}
	}()
	select {
	case id, ok := <-lines:
		if !ok || id == "" {
			t.Fatal("the child replica exited before naming itself")
		}
		children[id] = cmd
		return id
	case <-time.After(2 * time.Minute):
		t.Fatal("the child replica did not start within 2 minutes")
	}
	return ""
}

// childKill kills the child replica the way a crash would: no clean stop, no lease released.
func childKill(id string) error {
	cmd := children[id]
	if err := cmd.Process.Kill(); err != nil {
		return err
	}
	_ = cmd.Wait()
	return nil
}

// runPusher runs this replica's pusher until the test ends.
func runPusher(t *testing.T, svc *Service) {
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { defer close(done); _ = svc.pushLoop(ctx) }()
	t.Cleanup(func() { cancel(); <-done })
}

// moveAll moves qty units into (or out of) sellable for every SKU at dc-east.
func moveAll(t *testing.T, f *pushFixture, skus []string, qty int64) {
	t.Helper()
	for _, sku := range skus {
		f.move(t, sku, qty)
	}
}

// waitPushed waits until the storefront shows every SKU's available-to-sell.
func waitPushed(t *testing.T, f *pushFixture, skus []string, what string) {
	t.Helper()
	testkit.Eventually(t, 2*time.Minute, what, func() bool {
		for _, sku := range skus {
			q, _ := f.sb.Available(sku, shopWarehouse)
			if int64(q) != f.ats(t, sku) {
				return false
			}
		}
		return true
	})
}

// leaseOwners counts the push leases per owner.
func leaseOwners(t testing.TB, db *store.DB) map[string]int {
	t.Helper()
	rows, err := db.Query(context.Background(), `SELECT owner, COUNT(*) FROM inventory_leases WHERE name LIKE 'push|%' GROUP BY owner`)
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	out := map[string]int{}
	for rows.Next() {
		var owner string
		var n int
		if err := rows.Scan(&owner, &n); err != nil {
			t.Fatal(err)
		}
		out[owner] = n
	}
	return out
}
