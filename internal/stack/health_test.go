package stack

import (
	"context"
	"log/slog"
	"net"
	"strconv"
	"strings"
	"testing"
	"time"

	natsserver "github.com/nats-io/nats-server/v2/server"
	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials/insecure"
	healthpb "google.golang.org/grpc/health/grpc_health_v1"

	"github.com/retailbridge/retailbridge/pkg/testkit"
)

// natsNode is a real JetStream server the test stops and starts again on the same port and
// store, the way a bus node goes away and comes back.
type natsNode struct {
	t    *testing.T
	port int
	dir  string
	srv  *natsserver.Server
}

func (n *natsNode) start() {
	n.t.Helper()
	srv, err := natsserver.NewServer(&natsserver.Options{Host: "127.0.0.1", Port: n.port, JetStream: true, StoreDir: n.dir, NoSigs: true, NoLog: true})
	if err != nil {
		n.t.Fatal(err)
	}
	go srv.Start()
	if !srv.ReadyForConnections(10 * time.Second) {
		n.t.Fatal("nats not ready")
	}
	n.srv = srv
}

func (n *natsNode) stop() {
	if n.srv != nil {
		n.srv.Shutdown()
		n.srv.WaitForShutdown()
		n.srv = nil
	}
}

func servingStatus(t *testing.T, addr string) healthpb.HealthCheckResponse_ServingStatus {
	t.Helper()
	conn, err := grpc.NewClient(addr, grpc.WithTransportCredentials(insecure.NewCredentials()))
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
	defer cancel()
	resp, err := healthpb.NewHealthClient(conn).Check(ctx, &healthpb.HealthCheckRequest{})
	if err != nil {
		return healthpb.HealthCheckResponse_UNKNOWN
	}
	return resp.GetStatus()
}

func waitUntil(t *testing.T, what string, cond func() bool) {
	t.Helper()
	testkit.Eventually(t, 30*time.Second, what, cond)
}

// Services started before the bus wait for it; their health follows it (and, for inventory,
// the health of the wms service it calls): NOT_SERVING while it is down, SERVING once back.
func TestHealthFollowsTheBus(t *testing.T) {
	t.Parallel()
	lis, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	port := lis.Addr().(*net.TCPAddr).Port
	lis.Close()
	node := &natsNode{t: t, port: port, dir: t.TempDir()}
	t.Cleanup(node.stop)
	cfg := loadConfig(t, map[string]string{"NATS_URL": "nats://127.0.0.1:" + strconv.Itoa(port), "RB_HEALTH_INTERVAL": "100ms"})

	type started struct {
		s   *Stack
		err error
	}
	done := make(chan started, 1)
	logs := &testkit.LogBuffer{}
	go func() {
		s, err := Start(context.Background(), Options{Config: cfg, Ephemeral: true, Components: []Component{Sandboxes, Commerce, WMS, Inventory},
			Logger: slog.New(slog.NewJSONHandler(logs, nil))})
		done <- started{s, err}
	}()
	waitUntil(t, "Start waits for the bus", func() bool {
		return strings.Contains(logs.String(), `"engine":"NATS JetStream","attempt":2`)
	})
	select {
	case r := <-done:
		t.Fatalf("Start returned without the bus: %v", r.err)
	default:
	}
	node.start()
	r := <-done
	if r.err != nil {
		t.Fatalf("Start with the bus arriving late: %v", r.err)
	}
	t.Cleanup(r.s.Close)
	all := []Component{Commerce, WMS, Inventory}
	status := func(want healthpb.HealthCheckResponse_ServingStatus) func() bool {
		return func() bool {
			for _, c := range all {
				if servingStatus(t, r.s.Addr(c)) != want {
					return false
				}
			}
			return true
		}
	}
	waitUntil(t, "every service SERVING", status(healthpb.HealthCheckResponse_SERVING))
	node.stop()
	waitUntil(t, "every service NOT_SERVING with the bus down", status(healthpb.HealthCheckResponse_NOT_SERVING))
	node.start()
	waitUntil(t, "every service SERVING again", status(healthpb.HealthCheckResponse_SERVING))
}
