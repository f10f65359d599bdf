package e2e

import (
	"context"
	"fmt"
	"github.com/retailbridge/retailbridge/services/sandbox/handles"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/http/httputil"
	"net/url"
	"slices"
	"strconv"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/retailbridge/retailbridge/internal/stack"
	"github.com/retailbridge/retailbridge/pkg/events"
	"github.com/retailbridge/retailbridge/pkg/store"
	"github.com/retailbridge/retailbridge/pkg/store/storetest"
	"github.com/retailbridge/retailbridge/pkg/testkit"
	warehousesb "github.com/retailbridge/retailbridge/services/sandbox/warehouse"
)

// streamReplicas is how many copies of each event stream the cluster keeps: a stream survives
// losing any one node of three.
const streamReplicas = 3

// eventDomains are the domains whose streams Retailbridge publishes on; the dead-letter stream
// comes on top.
var eventDomains = []string{"returns", "returnsplatform", "wms", "commerce", "payments"}

// provisionedDomains have their streams created by the test, as an operator would, before any
// service starts: the services must keep them as strong as they are. The services create the
// other streams themselves, with the replicas their configuration names.
var provisionedDomains = []string{"returns", "wms"}

// clusterTopology is issue 8's production shape inside one test process: a three-node JetStream
// cluster, one PostgreSQL database and one Redis shared by everything, the vendor sandboxes, and
// Retailbridge as three separately started stacks that meet only over the network:
//
//	core    system APIs, orders, inventory, returns replica 1, gateway 1
//	replica returns replica 2 (its own stack, so it can be killed alone)
//	edge    gateway 2, balancing its returns calls over both replicas
//
// Vendor webhooks reach the gateways through a round-robin load balancer.
type clusterTopology struct {
	nats    *testkit.NATSCluster
	natsURL string // every node, as the services were given it
	dbURL   string
	clock   *clock
	vendors *stack.Stack
	core    *stack.Stack
	replica *stack.Stack
	edge    *stack.Stack
	// g1 and g2 drive gateway 1 and gateway 2; they share run, so an Idempotency-Key means the
	// same thing at both.
	g1, g2 *harness
	// lb fronts both gateways for vendor webhooks.
	lb *httptest.Server
	// warnings counts what the stacks logged at warning level and above, by message.
	warnings *warningCounter
}

// startClusterTopology boots the topology with rate-limit policies limits.
func startClusterTopology(t *testing.T, limits string) *clusterTopology {
	t.Helper()
	ct := &clusterTopology{clock: newClock(), dbURL: storetest.URL(t, store.Postgres), warnings: &warningCounter{counts: map[string]int{}}}
	ct.nats = testkit.StartNATSCluster(t, 3)
	ct.natsURL = ct.nats.URLs()
	ct.createStreams(t)

	vendors, err := stack.Start(context.Background(), stack.Options{
		Config: mustConfig(t, map[string]string{"RB_DATA_DIR": t.TempDir()}), Components: []stack.Component{stack.Sandboxes},
		Ephemeral: true, FastVendors: true, SandboxSettings: map[string]any{"warehouse": warehousesb.Outcomes{Resellable: 1}}, Now: ct.clock.Now,
	})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(vendors.Close)
	ct.vendors = vendors

	env := ct.sharedEnv(t, limits)
	addrs := testkit.FreeAddrs(t, 9)
	names := []string{"RB_COMMERCE_ADDR", "RB_ERP_ADDR", "RB_PAYMENTS_ADDR", "RB_RETURNSPLATFORM_ADDR", "RB_WMS_ADDR",
		"RB_ORDERS_ADDR", "RB_INVENTORY_ADDR", "RB_RETURNS_ADDR"}
	for i, name := range names {
		env[name] = addrs[i]
	}
	replicaAddr := addrs[8]

	ct.core = ct.start(t, env, "", stack.Commerce, stack.ERP, stack.Payments, stack.ReturnsPlatform, stack.WMS,
		stack.Orders, stack.Inventory, stack.Returns, stack.Gateway)
	ct.replica = ct.start(t, withEnv(env, "RB_RETURNS_ADDR", replicaAddr), "", stack.Returns)
	// Gateway 2 reaches both returns replicas through the product's replica list (RB_RETURNS_ADDR
	// "a:p,b:p", dialled round-robin).
	ct.edge = ct.start(t, env, env["RB_RETURNS_ADDR"]+","+replicaAddr, stack.Gateway)

	run := strconv.FormatInt(time.Now().UnixNano(), 36)
	// Every answer of both gateways is checked against the document each serves.
	ct.g1 = &harness{Stack: ct.core, Set: handles.Of(ct.core), client: contractClient(t, ct.core.GatewayURL), clock: ct.clock, run: run}
	ct.g2 = &harness{Stack: ct.edge, Set: handles.Of(ct.edge), client: contractClient(t, ct.edge.GatewayURL), clock: ct.clock, run: run}
	ct.g1.Demo, ct.g2.Demo = vendors.Demo, vendors.Demo

	ct.lb = httptest.NewServer(roundRobin(ct.core.GatewayURL, ct.edge.GatewayURL))
	t.Cleanup(ct.lb.Close)
	vendors.PointWebhooksAt(ct.lb.URL)
	return ct
}

// sharedEnv is the configuration every Retailbridge stack of the topology shares: the vendors,
// the engines (the identity store too: both gateways sign and verify with the keys in it) and the
// rate limits.
func (ct *clusterTopology) sharedEnv(t *testing.T, limits string) map[string]string {
	t.Helper()
	shared := t.TempDir()
	env := ct.vendors.SandboxConfig()
	env["REDIS_URL"] = testkit.RedisURL(t)
	env["DATABASE_URL"] = ct.dbURL
	env["NATS_URL"] = ct.natsURL
	env["RB_RATE_LIMITS"] = writeFile(t, shared, "limits.yaml", limits)
	env["RB_REQUEST_TIMEOUT"] = "5s"
	// The replicas of the streams the services create; those provisioned here they must keep.
	env["RB_STREAM_REPLICAS"] = strconv.Itoa(streamReplicas)
	return env
}

func withEnv(env map[string]string, kv ...string) map[string]string {
	out := make(map[string]string, len(env)+len(kv)/2)
	for k, v := range env {
		out[k] = v
	}
	for i := 0; i+1 < len(kv); i += 2 {
		out[kv[i]] = kv[i+1]
	}
	return out
}

// start starts one stack of components as its own "process": its own data directory, the shared
// engines, the other stacks reached at their configured addresses. returnsTarget, when set,
// replaces the returns address this stack dials.
func (ct *clusterTopology) start(t *testing.T, env map[string]string, returnsTarget string, components ...stack.Component) *stack.Stack {
	t.Helper()
	cfg := mustConfig(t, withEnv(env, "RB_DATA_DIR", t.TempDir()))
	if returnsTarget != "" {
		cfg.Addrs.Returns = returnsTarget
	}
	s, err := stack.Start(context.Background(), stack.Options{Config: cfg, Components: components,
		GatewayAddr: "127.0.0.1:0", Now: ct.clock.Now, Logger: slog.New(ct.warnings)})
	if err != nil {
		t.Fatalf("start %v: %v", components, err)
	}
	t.Cleanup(s.Close)
	return s
}

// createStreams creates the provisioned streams and the dead-letter stream with three replicas.
func (ct *clusterTopology) createStreams(t *testing.T) {
	t.Helper()
	js := ct.jetStream(t)
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	opts := events.StreamOptions{Replicas: streamReplicas}
	for _, d := range provisionedDomains {
		if _, err := events.EnsureStream(ctx, js, d, opts); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := events.EnsureDeadLetterStream(ctx, js, opts); err != nil {
		t.Fatal(err)
	}
}

// jetStream connects the test itself to the cluster (closed at cleanup).
func (ct *clusterTopology) jetStream(t *testing.T) jetstream.JetStream {
	t.Helper()
	nc, err := nats.Connect(ct.natsURL, nats.MaxReconnects(-1), nats.ReconnectWait(100*time.Millisecond))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(nc.Close)
	js, err := jetstream.New(nc)
	if err != nil {
		t.Fatal(err)
	}
	return js
}

// streamInfos reads every stream's info, waiting out a leader election.
// Besides the event streams, every other stream on the cluster counts (the webhook intakes'
// key-value buckets, say): all of Retailbridge's state must survive losing a node.
func (ct *clusterTopology) streamInfos(t *testing.T, js jetstream.JetStream) map[string]*jetstream.StreamInfo {
	t.Helper()
	want := []string{events.DeadLetterStream}
	for _, d := range eventDomains {
		want = append(want, events.StreamName(d))
	}
	out := map[string]*jetstream.StreamInfo{}
	eventually(t, "every stream answers with a leader", func() bool {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		names := slices.Clone(want)
		list := js.StreamNames(ctx)
		for n := range list.Name() {
			if !slices.Contains(names, n) {
				names = append(names, n)
			}
		}
		if list.Err() != nil {
			return false
		}
		for _, n := range names {
			s, err := js.Stream(ctx, n)
			if err != nil {
				return false
			}
			info, err := s.Info(ctx)
			if err != nil || info.Cluster == nil || info.Cluster.Leader == "" {
				return false
			}
			out[n] = info
		}
		return true
	})
	return out
}

// weakenedStreams names the streams that have fewer replicas than the cluster was given.
func weakenedStreams(infos map[string]*jetstream.StreamInfo) []string {
	var out []string
	for n, info := range infos {
		if info.Config.Replicas < streamReplicas {
			out = append(out, fmt.Sprintf("%s has %d", n, info.Config.Replicas))
		}
	}
	slices.Sort(out)
	return out
}

// busiestLeader is the node leading the most streams (the returns stream's leader on a tie).
func busiestLeader(infos map[string]*jetstream.StreamInfo) (string, int) {
	led := map[string]int{}
	for _, info := range infos {
		led[info.Cluster.Leader]++
	}
	best := infos[events.StreamName("returns")].Cluster.Leader
	for node, n := range led {
		if n > led[best] {
			best = node
		}
	}
	return best, led[best]
}

// roundRobin is the load balancer in front of the gateways: each request goes to the next one.
func roundRobin(targets ...string) http.Handler {
	var next atomic.Uint64
	proxies := make([]*httputil.ReverseProxy, len(targets))
	for i, target := range targets {
		u, _ := url.Parse(target)
		proxies[i] = &httputil.ReverseProxy{
			Rewrite: func(r *httputil.ProxyRequest) {
				r.SetURL(u)
				r.SetXForwarded()
			},
			// A gateway that does not answer is a 502 to the vendor, which retries; the stacks
			// stopping at cleanup cut the last deliveries off, which is no news.
			ErrorHandler: func(w http.ResponseWriter, _ *http.Request, _ error) { w.WriteHeader(http.StatusBadGateway) },
		}
	}
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		proxies[next.Add(1)%uint64(len(proxies))].ServeHTTP(w, r)
	})
}

// warningCounter is a log handler that counts warnings and errors by message (the stacks' logs
// say when a gateway stopped using the shared rate-limit store, for one).
type warningCounter struct {
	mu     sync.Mutex
	counts map[string]int
}

func (w *warningCounter) Enabled(_ context.Context, l slog.Level) bool { return l >= slog.LevelWarn }

func (w *warningCounter) Handle(_ context.Context, r slog.Record) error {
	w.mu.Lock()
	w.counts[r.Message]++
	w.mu.Unlock()
	return nil
}

func (w *warningCounter) WithAttrs([]slog.Attr) slog.Handler { return w }
func (w *warningCounter) WithGroup(string) slog.Handler      { return w }

// count is how often message was logged so far.
func (w *warningCounter) count(message string) int {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.counts[message]
}
