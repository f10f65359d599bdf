package grpcx

import (
	"context"
	"errors"
	"net"
	"sync/atomic"
	"testing"
	"time"

	"google.golang.org/grpc"
	healthpb "google.golang.org/grpc/health/grpc_health_v1"

	"github.com/retailbridge/retailbridge/pkg/testkit"
)

// replica serves the health service, answering for "who" with its own status so a client can
// tell which replica answered.
func replica(t *testing.T, ctx context.Context, who healthpb.HealthCheckResponse_ServingStatus) (string, context.CancelFunc) {
	t.Helper()
	lis, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	srv := NewServer(ServerDeps{})
	srv.Health.SetServingStatus("who", who)
	ctx, cancel := context.WithCancel(ctx)
	done := make(chan struct{})
	go func() { _ = srv.Serve(ctx, lis); close(done) }()
	stop := func() { cancel(); <-done }
	t.Cleanup(stop)
	return lis.Addr().String(), stop
}

func eventually(t *testing.T, what string, cond func() bool) {
	t.Helper()
	testkit.Eventually(t, 10*time.Second, what, cond)
}

// A comma-separated list of replicas is balanced round-robin, and a stopped replica's share
// goes to the others.
func TestDialBalancesOverAReplicaList(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	a, stopA := replica(t, ctx, healthpb.HealthCheckResponse_SERVING)
	b, _ := replica(t, ctx, healthpb.HealthCheckResponse_NOT_SERVING)
	conn, err := Dial(a+", "+b, DialDeps{})
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	hc := healthpb.NewHealthClient(conn)
	seen := map[healthpb.HealthCheckResponse_ServingStatus]int{}
	eventually(t, "both replicas answered", func() bool {
		resp, err := hc.Check(ctx, &healthpb.HealthCheckRequest{Service: "who"})
		if err == nil {
			seen[resp.GetStatus()]++
		}
		return seen[healthpb.HealthCheckResponse_SERVING] > 0 && seen[healthpb.HealthCheckResponse_NOT_SERVING] > 0
	})
	stopA()
	var fromB, failed int
	for range 20 {
		resp, err := hc.Check(ctx, &healthpb.HealthCheckRequest{Service: "who"}, grpc.WaitForReady(true))
		switch {
		case err != nil:
			failed++
		case resp.GetStatus() == healthpb.HealthCheckResponse_NOT_SERVING:
			fromB++
		}
	}
	if failed > 0 || fromB != 20 {
		t.Errorf("after stopping one replica: %d answers from the other, %d failures; want 20, 0", fromB, failed)
	}
	if _, err := Dial("127.0.0.1:1,nonsense", DialDeps{}); err == nil {
		t.Error("Dial accepted a replica that is not host:port")
	}
}

// A DNS target is dialled through gRPC's resolver.
func TestDialDNSTarget(t *testing.T) {
	t.Parallel()
	addr, _ := replica(t, context.Background(), healthpb.HealthCheckResponse_SERVING)
	_, port, _ := net.SplitHostPort(addr)
	conn, err := Dial("dns:///127.0.0.1:"+port, DialDeps{})
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	if _, err := healthpb.NewHealthClient(conn).Check(context.Background(), &healthpb.HealthCheckRequest{}); err != nil {
		t.Fatal(err)
	}
}

// Health follows the probes: NOT_SERVING while one fails, SERVING again once it passes.
func TestWatchHealthFollowsProbes(t *testing.T) {
	t.Parallel()
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	var down atomic.Bool
	lis, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	srv := NewServer(ServerDeps{})
	srv.WatchHealth(ctx, 20*time.Millisecond, Probe{Name: "database", Check: func(context.Context) error {
		if down.Load() {
			return errors.New("connection refused")
		}
		return nil
	}})
	go func() { _ = srv.Serve(ctx, lis) }()
	conn, err := Dial(lis.Addr().String(), DialDeps{})
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	status := func() healthpb.HealthCheckResponse_ServingStatus {
		resp, err := healthpb.NewHealthClient(conn).Check(ctx, &healthpb.HealthCheckRequest{})
		if err != nil {
			return healthpb.HealthCheckResponse_UNKNOWN
		}
		return resp.GetStatus()
	}
	if s := status(); s != healthpb.HealthCheckResponse_SERVING {
		t.Fatalf("healthy dependencies: %v", s)
	}
	down.Store(true)
	eventually(t, "NOT_SERVING", func() bool { return status() == healthpb.HealthCheckResponse_NOT_SERVING })
	down.Store(false)
	eventually(t, "SERVING again", func() bool { return status() == healthpb.HealthCheckResponse_SERVING })
}
