package stack

import (
	"fmt"
	"path/filepath"
	"time"

	"github.com/alicebob/miniredis/v2"
	natsserver "github.com/nats-io/nats-server/v2/server"
)

// startEmbeddedRedis starts an in-process Redis-protocol server on loopback for dev use when
// REDIS_URL is not set. Production and tests use a real Redis.
func startEmbeddedRedis() (*miniredis.Miniredis, string, error) {
	m := miniredis.NewMiniRedis()
	if err := m.StartAddr("127.0.0.1:0"); err != nil {
		return nil, "", fmt.Errorf("embedded redis: %w", err)
	}
	return m, "redis://" + m.Addr(), nil
}

// startEmbeddedNATS starts a single-node JetStream server on loopback with its file store under
// dataDir. Every write is fsynced (SyncAlways): the default interval acknowledges writes a crash
// can lose.
func startEmbeddedNATS(dataDir string) (*natsserver.Server, string, error) {
	opts := &natsserver.Options{
		Host:       "127.0.0.1",
		Port:       -1,
		JetStream:  true,
		StoreDir:   filepath.Join(dataDir, "nats"),
		SyncAlways: true,
		NoSigs:     true,
		NoLog:      true,
	}
	ns, err := natsserver.NewServer(opts)
	if err != nil {
		return nil, "", fmt.Errorf("embedded nats: %w", err)
	}
	go ns.Start()
	if !ns.ReadyForConnections(10 * time.Second) {
		ns.Shutdown()
		return nil, "", fmt.Errorf("embedded nats: not ready after 10s")
	}
	return ns, ns.ClientURL(), nil
}
