// Package e2e drives the whole Retailbridge stack — gateway, process and system services,
// vendor sandboxes, real Redis — over HTTP exactly as storefronts do. Each stack boots in-process
// on :0 ports.
package e2e

import (
	"context"
	"github.com/retailbridge/retailbridge/services/sandbox/handles"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/golang-jwt/jwt/v5"

	"github.com/retailbridge/retailbridge/internal/stack"
	"github.com/retailbridge/retailbridge/pkg/auth"
	"github.com/retailbridge/retailbridge/pkg/config"
	"github.com/retailbridge/retailbridge/pkg/testkit"
)

// fixedNow is the clock of the demo data and the policy engine in every test.
var fixedNow = time.Date(2026, 6, 15, 12, 0, 0, 0, time.UTC)

type harness struct {
	*stack.Stack
	// Set is the stack's sandboxes, typed (h.Shopify, h.StripeURL, …).
	handles.Set
	client *http.Client
	clock  *clock
	// run makes this stack's Idempotency-Key values its own: the test Redis outlives a stack, and
	// a rerun (go test -count=N) would otherwise replay the previous stack's answers.
	run string
}

// clock is the stack's business clock: it starts at fixedNow and moves with real time, and a
// test can jump it forward (to fire a workflow's durable timers, say).
type clock struct {
	start  time.Time
	offset atomic.Int64
}

func newClock() *clock { return &clock{start: time.Now()} }

func (c *clock) Now() time.Time {
	return fixedNow.Add(time.Since(c.start) + time.Duration(c.offset.Load()))
}

// Advance jumps the clock forward by d.
func (c *clock) Advance(d time.Duration) { c.offset.Add(int64(d)) }

type stackOption func(*config.Config)

// withRateLimits replaces the generous test limits with policies.
func withRateLimits(t testing.TB, policies string) stackOption {
	return func(c *config.Config) { c.RateLimits = writeFile(t, t.TempDir(), "limits.yaml", policies) }
}

// withVendorSetting sets a setting a vendor's kind reads through the loaded environment
// (config.Config.Lookup), such as NETSUITE_MAX_CONCURRENCY.
func withVendorSetting(key, value string) stackOption {
	return func(c *config.Config) {
		env := c.Env
		c.Env = func(k string) string {
			if k == key {
				return value
			}
			if env == nil {
				return ""
			}
			return env(k)
		}
	}
}

// withRedis points the gateway at another Redis (for example one that is down).
func withRedis(url string) stackOption { return func(c *config.Config) { c.RedisURL = url } }

func newStack(t testing.TB, opts ...stackOption) *harness {
	t.Helper()
	return newStackWith(t, nil, opts...)
}

// newStackWith starts a stack with stack options (sandbox speeds, say) and config options.
func newStackWith(t testing.TB, so func(*stack.Options), opts ...stackOption) *harness {
	t.Helper()
	dir := t.TempDir()
	env := map[string]string{
		"REDIS_URL":      testkit.RedisURL(t),
		"RB_DATA_DIR":    dir,
		"RB_RATE_LIMITS": writeFile(t, dir, "rate-limits.yaml", generousLimits),
		// Generous: the suite shares two cores with everything else `go test` runs. A test of the
		// deadline itself sets a short one (TestSlowOrDownVendorAnswersInTime).
		"RB_REQUEST_TIMEOUT":    "10s",
		"RB_TRACE_SAMPLE_RATIO": "1",
	}
	// The vendor selections of the environment `go test` runs in apply, so the suite runs against
	// another vendor of a kind (RB_ERP_VENDOR=businesscentral) unchanged.
	for _, k := range []string{"RB_COMMERCE_VENDOR", "RB_ERP_VENDOR", "RB_PAYMENTS_VENDOR", "RB_RETURNSPLATFORM_VENDOR", "RB_WMS_VENDOR", "RB_VENDOR_ROUTES"} {
		if v := os.Getenv(k); v != "" {
			env[k] = v
		}
	}
	cfg, err := config.Load(func(k string) string { return env[k] })
	if err != nil {
		t.Fatal(err)
	}
	for _, o := range opts {
		o(&cfg)
	}
	clk := newClock()
	so2 := stack.Options{Config: cfg, Components: stack.All, Ephemeral: true, GatewayAddr: "127.0.0.1:0", Now: clk.Now}
	if so != nil {
		so(&so2)
	}
	s, err := stack.Start(context.Background(), so2)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(s.Close)
	return &harness{Stack: s, Set: handles.Of(s), client: contractClient(t, s.GatewayURL), clock: clk, run: strconv.FormatInt(time.Now().UnixNano(), 36)}
}

// token mints a storefront token for customer with the stack's dev key.
func (h *harness) token(t testing.TB, customer string, mutate ...func(*auth.Claims)) string {
	t.Helper()
	now := time.Now()
	c := auth.Claims{RegisteredClaims: jwt.RegisteredClaims{
		Issuer: "retailbridge-dev", Audience: jwt.ClaimStrings{"retailbridge-storefront"}, Subject: customer,
		IssuedAt: jwt.NewNumericDate(now), ExpiresAt: jwt.NewNumericDate(now.Add(time.Hour)),
	}, Scope: "orders:read returns:read"}
	for _, m := range mutate {
		m(&c)
	}
	tok, err := h.SigningKey.Mint(c)
	if err != nil {
		t.Fatal(err)
	}
	return tok
}

func (h *harness) do(t testing.TB, method, path, token string, body any, headers ...string) testkit.Response {
	t.Helper()
	headers = slices.Clone(headers)
	for i := 0; i+1 < len(headers); i += 2 {
		if strings.EqualFold(headers[i], "Idempotency-Key") && headers[i+1] != "" && len(headers[i+1]) < 200 {
			headers[i+1] += "." + h.run
		}
	}
	return testkit.Do(t, h.client, method, h.GatewayURL+path, token, body, headers...)
}

// generousLimits never refuse: tests that are not about rate limits must not trip them.
const generousLimits = `policies:
  storefront/default: {rate: 100000, period: 1s, burst: 100000}
  support/default: {rate: 100000, period: 1s, burst: 100000}
  partner/default: {rate: 100000, period: 1s, burst: 100000}
`

func writeFile(t testing.TB, dir, name, content string) string {
	t.Helper()
	p := filepath.Join(dir, name)
	if err := os.WriteFile(p, []byte(content), 0o600); err != nil {
		t.Fatal(err)
	}
	return p
}
