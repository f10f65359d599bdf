package vendors

import (
	"cmp"
	"context"
	"crypto/rand"
	"encoding/hex"
	"log/slog"
	"net/http"
	"time"

	"github.com/nats-io/nats.go/jetstream"

	intakev1 "github.com/retailbridge/retailbridge/pkg/gen/retailbridge/system/intake/v1"
	"google.golang.org/grpc"
)

// ServiceDeps are what the stack hands a vendor's Serve: the vendor's environment and the
// shared mechanisms, so that building a kind's service over a vendor needs no wiring code that
// names the vendor.
type ServiceDeps struct {
	// Lookup reads the vendor's settings: the deployment's environment, else (for a variable the
	// deployment leaves unset) what the vendor's sandbox started in the same process answers.
	Lookup func(string) string
	// HTTPClient reaches the vendor, with the stack's tracing, metrics and the vendor's governor.
	HTTPClient *http.Client
	// JetStream connects to the bus once; only services that publish call it.
	JetStream func() (jetstream.JetStream, error)
	// Logger is the service's logger.
	Logger *slog.Logger
	// Timeout bounds one RPC's vendor work when the caller's deadline is later.
	Timeout time.Duration
	// Go runs background work for the service's lifetime — a poller of the vendor's API, a
	// reader of its SFTP drop — handing what it fetches to the service's intake
	// (pkg/intake.Intake.Accept, the webhooks' path). run gets a context that ends when the
	// stack stops; an error it returns before then stops the stack, named after name.
	Go func(name string, run func(ctx context.Context) error)
}

// Service is a system kind's gRPC service built over one vendor.
type Service struct {
	// Register registers the service on a gRPC server.
	Register func(grpc.ServiceRegistrar)
	// Events says the service publishes canonical events, so its health follows the bus.
	Events bool
	// Intake takes the vendor's webhooks (retailbridge.system.intake.v1, usually a
	// pkg/intake.Intake), served next to the service; nil when the vendor sends none.
	Intake intakev1.IntakeServiceServer
}

// SandboxDeps are what the stack hands a vendor's Sandbox.
type SandboxDeps struct {
	// Lookup reads the deployment's environment: a credential set there is the one the sandbox
	// accepts (so a separately started connector configured with it is accepted), an unset one
	// is made up at random (so no credential-looking string lives in the repository).
	Lookup func(string) string
	// ServeHTTP serves h at the sandbox's address (RB_SANDBOX_<NAME>_ADDR, a free loopback port
	// in dev and tests) for the stack's lifetime and returns its base URL. A sandbox that is not
	// HTTP listens by itself at Addr.
	ServeHTTP func(h http.Handler) (string, error)
	// Addr is the sandbox's address, "" for a free loopback port.
	Addr string
	// Demo is the demo dataset every sandbox shares (a *demo.Dataset of services/sandbox/demo;
	// pkg cannot name the type).
	Demo any
	// StateDir is where sandboxes keep their worlds across restarts.
	StateDir string
	// Seed drives the sandboxes' random sources.
	Seed uint64
	// Fast makes simulated parcels and warehouses move in milliseconds; Manual stops them moving
	// by themselves (tests drive them).
	Fast, Manual bool
	// Settings are the vendor's own sandbox knobs from the stack's options (for example the
	// warehouse sandbox's inspection outcomes); nil for none.
	Settings any
}

// Sandbox is a vendor's emulation started in this process.
type Sandbox struct {
	// URL is where it is served.
	URL string
	// Env is the environment that points the vendor's connector at it: its URL variable and
	// the credentials it accepts, under the variable names the connector reads.
	Env map[string]string
	// PointWebhooks makes it deliver its webhooks to url (a gateway's /webhooks/{vendor}); nil
	// for a vendor that sends none.
	PointWebhooks func(url string)
	// Close stops it (pending webhooks stay in its state file).
	Close func()
	// Value is the sandbox itself, for tests and benchmarks that drive it.
	Value any
}

// Secret is the credential configured under key, or a random one with prefix when none is:
// a sandbox in the same process accepts whatever its connector is then given.
func Secret(lookup func(string) string, key, prefix string) string {
	if v := lookup(key); v != "" {
		return v
	}
	b := make([]byte, 16)
	_, _ = rand.Read(b)
	return prefix + hex.EncodeToString(b)
}

// Or returns the configured value under key, else def.
func Or(lookup func(string) string, key, def string) string { return cmp.Or(lookup(key), def) }
