package testkit

import (
	"context"
	"testing"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
)

// The cluster is real: a three-replica stream keeps accepting and serving messages after the
// node leading it is killed, and no acknowledged message is lost.
func TestNATSClusterSurvivesLosingTheStreamLeader(t *testing.T) {
	t.Parallel()
	c := StartNATSCluster(t, 3)
	nc, err := nats.Connect(c.URLs(), nats.MaxReconnects(-1), nats.ReconnectWait(100*time.Millisecond))
	if err != nil {
		t.Fatal(err)
	}
	defer nc.Close()
	js, err := jetstream.New(nc)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	s, err := js.CreateStream(ctx, jetstream.StreamConfig{Name: "T", Subjects: []string{"t.>"}, Replicas: 3})
	if err != nil {
		t.Fatal(err)
	}
	publish := func(n int) {
		t.Helper()
		for i := range n {
			for {
				_, err := js.Publish(ctx, "t.x", []byte{byte(i)})
				if err == nil {
					break
				}
				if ctx.Err() != nil {
					t.Fatalf("publish: %v", err)
				}
				time.Sleep(50 * time.Millisecond) // a new leader is being elected
			}
		}
	}
	publish(10)
	info, err := s.Info(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if info.Cluster == nil || info.Cluster.Leader == "" || info.Config.Replicas != 3 {
		t.Fatalf("stream cluster info %+v, replicas %d; want a leader and 3 replicas", info.Cluster, info.Config.Replicas)
	}
	leader := info.Cluster.Leader
	if err := c.Kill(leader); err != nil {
		t.Fatal(err)
	}
	publish(10)
	var got uint64
	for deadline := time.Now().Add(30 * time.Second); ; time.Sleep(50 * time.Millisecond) {
		info, err = s.Info(ctx)
		if err == nil && info.Cluster.Leader != "" {
			got = info.State.Msgs
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("no new stream leader after killing %s: %v", leader, err)
		}
	}
	t.Logf("killed stream leader %s; new leader %s; messages %d", leader, info.Cluster.Leader, got)
	if info.Cluster.Leader == leader || got != 20 {
		t.Errorf("after killing %s: leader %s, %d messages; want another leader and 20 messages", leader, info.Cluster.Leader, got)
	}
}
