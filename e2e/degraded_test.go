package e2e

import (
	"context"
	"encoding/json"
	"github.com/retailbridge/retailbridge/services/sandbox/handles"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials/insecure"
	healthpb "google.golang.org/grpc/health/grpc_health_v1"

	"github.com/retailbridge/retailbridge/internal/stack"
	"github.com/retailbridge/retailbridge/pkg/config"
	"github.com/retailbridge/retailbridge/pkg/store"
	"github.com/retailbridge/retailbridge/pkg/store/storetest"
	"github.com/retailbridge/retailbridge/pkg/testkit"
)

// tcpProxy stands between the services and the real PostgreSQL server: stopping it is the
// database going away for them (connections cut, new ones refused), starting it again on the
// same port is the database coming back.
type tcpProxy struct {
	t      testing.TB
	addr   string
	target string
	mu     sync.Mutex
	lis    net.Listener
	conns  []net.Conn
}

func newProxy(t testing.TB, target string) *tcpProxy {
	t.Helper()
	lis, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := lis.Addr().String()
	lis.Close() // reserved; Start opens it
	p := &tcpProxy{t: t, addr: addr, target: target}
	t.Cleanup(p.Stop)
	return p
}

// Start accepts connections on the proxy's port and relays them to the target.
func (p *tcpProxy) Start() {
	p.t.Helper()
	lis, err := net.Listen("tcp", p.addr)
	if err != nil {
		p.t.Fatal(err)
	}
	p.mu.Lock()
	p.lis = lis
	p.mu.Unlock()
	go func() {
		for {
			c, err := lis.Accept()
			if err != nil {
				return
			}
			up, err := net.Dial("tcp", p.target)
			if err != nil {
				c.Close()
				continue
			}
			p.mu.Lock()
			p.conns = append(p.conns, c, up)
			p.mu.Unlock()
			go func() { _, _ = io.Copy(up, c); up.Close() }()
			go func() { _, _ = io.Copy(c, up); c.Close() }()
		}
	}()
}

// Stop refuses new connections and cuts every open one.
func (p *tcpProxy) Stop() {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.lis != nil {
		p.lis.Close()
		p.lis = nil
	}
	for _, c := range p.conns {
		c.Close()
	}
	p.conns = nil
}

// via rewrites a database URL to go through the proxy.
func (p *tcpProxy) via(t testing.TB, dbURL string) string {
	t.Helper()
	u, err := url.Parse(dbURL)
	if err != nil {
		t.Fatal(err)
	}
	u.Host = p.addr
	return u.String()
}

func proxiedPostgres(t testing.TB) (*tcpProxy, string) {
	t.Helper()
	dbURL := storetest.URL(t, store.Postgres)
	u, err := url.Parse(dbURL)
	if err != nil {
		t.Fatal(err)
	}
	p := newProxy(t, u.Host)
	return p, p.via(t, dbURL)
}

func healthOf(t testing.TB, addr string) healthpb.HealthCheckResponse_ServingStatus {
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

// A database outage answers 503 with Retry-After and retryable:true (not 500 internal), turns
// the returns service's health NOT_SERVING and /readyz 503, and all of it recovers by itself
// once the database is back.
func TestDatabaseOutageIsUnavailableAndRecovers(t *testing.T) {
	t.Parallel()
	proxy, dbURL := proxiedPostgres(t)
	proxy.Start()
	h := newStack(t, func(c *config.Config) { c.DatabaseURL = dbURL; c.HealthInterval = 200 * time.Millisecond })
	line := h.eligibleLines(t, 1)[0]
	tok := h.token(t, line.customer)
	requests := map[string]func() testkit.Response{
		"list": func() testkit.Response { return h.do(t, http.MethodGet, "/v1/storefront/returns", tok, nil) },
		"eligibility": func() testkit.Response {
			return h.do(t, http.MethodPost, "/v1/storefront/returns/eligibility", tok, eligibility(line.order))
		},
		"create": func() testkit.Response {
			return h.do(t, http.MethodPost, "/v1/storefront/returns", tok, createReturn(line.order, line.line, 1), "Idempotency-Key", "outage-"+line.line)
		},
	}
	if r := requests["list"](); r.Status != http.StatusOK {
		t.Fatalf("list before the outage: %d %s", r.Status, r.Body)
	}

	proxy.Stop()
	eventually(t, "the returns service reports NOT_SERVING", func() bool {
		return healthOf(t, h.Addr(stack.Returns)) == healthpb.HealthCheckResponse_NOT_SERVING
	})
	if r := h.do(t, http.MethodGet, "/readyz", "", nil); r.Status != http.StatusServiceUnavailable {
		t.Errorf("/readyz during the outage: %d %s", r.Status, r.Body)
	}
	for name, req := range requests {
		r := req()
		var p struct {
			Status    int    `json:"status"`
			Reason    string `json:"reason"`
			Retryable bool   `json:"retryable"`
		}
		_ = json.Unmarshal(r.Body, &p)
		ra, _ := strconv.Atoi(r.Header.Get("Retry-After"))
		if r.Status != http.StatusServiceUnavailable || !p.Retryable || ra < 1 {
			t.Errorf("%s during the outage: %d Retry-After %q %s; want 503, Retry-After, retryable true", name, r.Status, r.Header.Get("Retry-After"), r.Body)
		}
	}

	proxy.Start()
	eventually(t, "the returns service reports SERVING again", func() bool {
		return healthOf(t, h.Addr(stack.Returns)) == healthpb.HealthCheckResponse_SERVING
	})
	eventually(t, "/readyz is ready again", func() bool { return h.do(t, http.MethodGet, "/readyz", "", nil).Status == http.StatusOK })
	for name, req := range requests {
		if r := req(); r.Status != http.StatusOK {
			t.Errorf("%s after recovery: %d %s", name, r.Status, r.Body)
		}
	}
}

// A stack started before its database waits for it (instead of exiting) and is ready once the
// database appears.
func TestServiceStartedBeforeTheDatabaseBecomesReady(t *testing.T) {
	t.Parallel()
	proxy, dbURL := proxiedPostgres(t)
	dir := t.TempDir()
	env := map[string]string{"REDIS_URL": testkit.RedisURL(t), "RB_DATA_DIR": dir, "DATABASE_URL": dbURL, "RB_HEALTH_INTERVAL": "200ms",
		"RB_RATE_LIMITS": writeFile(t, dir, "rate-limits.yaml", generousLimits)}
	cfg, err := config.Load(func(k string) string { return env[k] })
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	logs := &testkit.LogBuffer{}
	type started struct {
		s   *stack.Stack
		err error
	}
	done := make(chan started, 1)
	go func() {
		s, err := stack.Start(ctx, stack.Options{Config: cfg, Ephemeral: true, GatewayAddr: "127.0.0.1:0", Now: newClock().Now,
			Logger: slog.New(slog.NewJSONHandler(logs, nil))})
		done <- started{s, err}
	}()
	// Inventory starts first among the process services with a database, then orders (its
	// workflow), then returns: the first of them waits for the database.
	eventually(t, "Start waits for the process database", func() bool {
		select {
		case r := <-done:
			if r.s != nil {
				r.s.Close()
			}
			t.Fatalf("Start returned before the database existed: %v", r.err)
		default:
		}
		return strings.Contains(logs.String(), `"engine":"inventory database","attempt":3`) ||
			strings.Contains(logs.String(), `"engine":"orders database","attempt":3`) ||
			strings.Contains(logs.String(), `"engine":"returns database","attempt":3`)
	})
	proxy.Start()
	r := <-done
	if r.err != nil {
		t.Fatalf("Start after the database appeared: %v", r.err)
	}
	t.Cleanup(r.s.Close)
	eventually(t, "the returns service reports SERVING", func() bool {
		return healthOf(t, r.s.Addr(stack.Returns)) == healthpb.HealthCheckResponse_SERVING
	})
	h := &harness{Stack: r.s, Set: handles.Of(r.s), client: &http.Client{Timeout: 15 * time.Second}}
	eventually(t, "/readyz is ready", func() bool { return h.do(t, http.MethodGet, "/readyz", "", nil).Status == http.StatusOK })
}
