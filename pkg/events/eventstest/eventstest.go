// Package eventstest runs a real NATS server with JetStream inside a test: file storage in the
// test's temp dir with sync: always (as in production's single node), on a random loopback port.
package eventstest

import (
	"fmt"
	"net"
	"net/url"
	"strconv"
	"testing"
	"time"

	"github.com/nats-io/nats-server/v2/server"
	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
)

// Server is an embedded NATS server with JetStream.
type Server struct {
	*server.Server
}

// Start starts a server and shuts it down at cleanup.
func Start(t testing.TB) *Server {
	t.Helper()
	srv, err := server.NewServer(&server.Options{
		Host:       "127.0.0.1",
		Port:       server.RANDOM_PORT,
		JetStream:  true,
		StoreDir:   t.TempDir(),
		SyncAlways: true, // the default fsync interval acknowledges writes a crash can lose
		NoLog:      true,
		NoSigs:     true,
	})
	if err != nil {
		t.Fatalf("nats server: %v", err)
	}
	go srv.Start()
	if !srv.ReadyForConnections(10 * time.Second) {
		srv.Shutdown()
		t.Fatal("nats server did not start within 10s")
	}
	t.Cleanup(func() {
		srv.Shutdown()
		srv.WaitForShutdown()
	})
	return &Server{Server: srv}
}

// Connect returns a client connection and its JetStream context, closed at cleanup. Each call is
// a separate connection, as a separate process would have.
func (s *Server) Connect(t testing.TB) (*nats.Conn, jetstream.JetStream) {
	t.Helper()
	nc, err := nats.Connect(s.ClientURL(), nats.MaxReconnects(-1), nats.ReconnectWait(50*time.Millisecond))
	if err != nil {
		t.Fatalf("connect to nats: %v", err)
	}
	t.Cleanup(nc.Close)
	js, err := jetstream.New(nc)
	if err != nil {
		t.Fatalf("jetstream: %v", err)
	}
	return nc, js
}

// Cluster is n embedded NATS servers with JetStream, clustered over routes on loopback: a real
// replicated JetStream (Raft meta group, replicated streams) inside one test process.
type Cluster struct {
	Servers []*Server
}

// StartCluster starts an n-node cluster, waits until JetStream has a meta leader and shuts every
// node down at cleanup.
func StartCluster(t testing.TB, n int) *Cluster {
	t.Helper()
	ports := make([]int, n)
	routes := make([]*url.URL, n)
	for i := range ports {
		l, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			t.Fatalf("reserve a cluster port: %v", err)
		}
		ports[i] = l.Addr().(*net.TCPAddr).Port
		_ = l.Close()
		routes[i] = &url.URL{Scheme: "nats", Host: net.JoinHostPort("127.0.0.1", strconv.Itoa(ports[i]))}
	}
	c := &Cluster{}
	for i := range n {
		srv, err := server.NewServer(&server.Options{
			ServerName: fmt.Sprintf("rb-%d", i+1),
			Host:       "127.0.0.1",
			Port:       server.RANDOM_PORT,
			JetStream:  true,
			StoreDir:   t.TempDir(),
			SyncAlways: true,
			Cluster:    server.ClusterOpts{Name: "rb-test", Host: "127.0.0.1", Port: ports[i]},
			Routes:     routes,
			NoLog:      true,
			NoSigs:     true,
		})
		if err != nil {
			t.Fatalf("nats server %d: %v", i+1, err)
		}
		go srv.Start()
		t.Cleanup(func() {
			srv.Shutdown()
			srv.WaitForShutdown()
		})
		c.Servers = append(c.Servers, &Server{Server: srv})
	}
	for _, s := range c.Servers {
		if !s.ReadyForConnections(10 * time.Second) {
			t.Fatal("a clustered nats server did not start within 10s")
		}
	}
	deadline := time.Now().Add(30 * time.Second)
	for !c.hasMetaLeader() {
		if time.Now().After(deadline) {
			t.Fatal("the JetStream cluster elected no meta leader within 30s")
		}
		time.Sleep(50 * time.Millisecond)
	}
	return c
}

func (c *Cluster) hasMetaLeader() bool {
	for _, s := range c.Servers {
		if s.JetStreamIsLeader() {
			return true
		}
	}
	return false
}

// Connect connects to the first node (a client of any node reaches the whole cluster).
func (c *Cluster) Connect(t testing.TB) (*nats.Conn, jetstream.JetStream) {
	t.Helper()
	return c.Servers[0].Connect(t)
}
