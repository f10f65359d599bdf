package testkit

import (
	"context"
	"fmt"
	"net"
	"net/url"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	natsserver "github.com/nats-io/nats-server/v2/server"
	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
)

// NATSCluster is a JetStream cluster of real nats-server nodes running in the test process, each
// with its own store directory and client port, routed to one another: the production shape of
// the bus, small enough for go test. Kill a node to test what its loss does.
type NATSCluster struct {
	// Name is the cluster's name; nodes are named <Name>-1, <Name>-2, …
	Name string

	mu    sync.Mutex
	nodes map[string]*natsserver.Server
	order []string
}

// StartNATSCluster starts n clustered JetStream nodes on loopback and waits until they elected a
// meta leader and every node is current; the nodes stop at cleanup.
func StartNATSCluster(t testing.TB, n int) *NATSCluster {
	t.Helper()
	// The store directory is made first: cleanups run last-in first-out, so the nodes stop
	// before their directory is removed.
	dir := t.TempDir()
	c := &NATSCluster{Name: "rbtest", nodes: map[string]*natsserver.Server{}}
	t.Cleanup(c.Close)
	// Every node must name its routes before it starts (JetStream clustering needs configured
	// routes), so the route ports are picked first; the short gap until the nodes bind them is
	// the only window in which another process could take one.
	ports := freePorts(t, n)
	routes := make([]*url.URL, n)
	for i, p := range ports {
		routes[i] = &url.URL{Scheme: "nats-route", Host: fmt.Sprintf("127.0.0.1:%d", p)}
	}
	for i := range n {
		name := fmt.Sprintf("%s-%d", c.Name, i+1)
		opts := &natsserver.Options{
			ServerName: name,
			Host:       "127.0.0.1",
			Port:       -1,
			JetStream:  true,
			StoreDir:   filepath.Join(dir, name),
			Cluster:    natsserver.ClusterOpts{Name: c.Name, Host: "127.0.0.1", Port: ports[i]},
			Routes:     routes,
			NoSigs:     true,
			NoLog:      true,
		}
		ns, err := natsserver.NewServer(opts)
		if err != nil {
			t.Fatalf("nats node %s: %v", name, err)
		}
		go ns.Start()
		c.mu.Lock()
		c.nodes[name] = ns
		c.order = append(c.order, name)
		c.mu.Unlock()
	}
	for _, ns := range c.Nodes() {
		if !ns.ReadyForConnections(20 * time.Second) {
			t.Fatalf("nats node %s not ready after 20s", ns.Name())
		}
	}
	c.waitJetStream(t)
	return c
}

// FreeAddrs returns n loopback host:port addresses free right now, for components that must
// know each other's addresses before they start (another process may take one meanwhile; the
// window is short).
func FreeAddrs(t testing.TB, n int) []string {
	t.Helper()
	out := make([]string, n)
	for i, p := range freePorts(t, n) {
		out[i] = fmt.Sprintf("127.0.0.1:%d", p)
	}
	return out
}

// freePorts reserves n loopback ports by listening on :0, and frees them for the caller.
func freePorts(t testing.TB, n int) []int {
	t.Helper()
	ports := make([]int, n)
	lis := make([]net.Listener, n)
	for i := range n {
		l, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		lis[i], ports[i] = l, l.Addr().(*net.TCPAddr).Port
	}
	for _, l := range lis {
		_ = l.Close()
	}
	return ports
}

// waitJetStream waits until the meta group has a leader that every node follows and the
// JetStream API answers through the cluster.
func (c *NATSCluster) waitJetStream(t testing.TB) {
	t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for {
		err := c.jetStreamReady()
		if err == nil {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("nats cluster: JetStream not ready after 30s: %v", err)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

func (c *NATSCluster) jetStreamReady() error {
	leaders := 0
	for _, ns := range c.Nodes() {
		if ns.JetStreamIsLeader() {
			leaders++
		}
		if !ns.JetStreamIsCurrent() {
			return fmt.Errorf("node %s is not current with the meta group", ns.Name())
		}
	}
	if leaders != 1 {
		return fmt.Errorf("%d meta leaders", leaders)
	}
	nc, err := nats.Connect(c.URLs(), nats.Timeout(2*time.Second))
	if err != nil {
		return err
	}
	defer nc.Close()
	js, err := jetstream.New(nc)
	if err != nil {
		return err
	}
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
	defer cancel()
	_, err = js.AccountInfo(ctx)
	return err
}

// Nodes returns the running nodes, in start order.
func (c *NATSCluster) Nodes() []*natsserver.Server {
	c.mu.Lock()
	defer c.mu.Unlock()
	out := make([]*natsserver.Server, 0, len(c.order))
	for _, name := range c.order {
		if ns, ok := c.nodes[name]; ok {
			out = append(out, ns)
		}
	}
	return out
}

// URLs is every running node's client URL, comma-separated, as nats.Connect and NATS_URL take
// them: a client fails over to the others when its node goes.
func (c *NATSCluster) URLs() string {
	var urls []string
	for _, ns := range c.Nodes() {
		urls = append(urls, ns.ClientURL())
	}
	return strings.Join(urls, ",")
}

// Kill shuts the named node down (its clients are cut off and fail over) and waits until it is
// gone. The rest of the cluster keeps its quorum while a majority runs.
func (c *NATSCluster) Kill(name string) error {
	c.mu.Lock()
	ns, ok := c.nodes[name]
	delete(c.nodes, name)
	c.mu.Unlock()
	if !ok {
		return fmt.Errorf("nats cluster: no running node %q", name)
	}
	ns.Shutdown()
	ns.WaitForShutdown()
	return nil
}

// Close stops every node.
func (c *NATSCluster) Close() {
	for _, ns := range c.Nodes() {
		_ = c.Kill(ns.Name())
	}
}
