// Command retailbridge is the whole of Retailbridge in one binary: `dev` runs every service with
// embedded infrastructure and vendor sandboxes, `serve` runs chosen services as separate
// processes, and operator commands mint development tokens and check configuration.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/pprof"
	"os"
	"os/signal"
	"slices"
	"strings"
	"syscall"
	"time"
	_ "time/tzdata" // policy time zones work on hosts without zoneinfo

	"github.com/retailbridge/retailbridge/internal/stack"
	"github.com/retailbridge/retailbridge/pkg/config"
	"github.com/retailbridge/retailbridge/pkg/telemetry"
	"github.com/retailbridge/retailbridge/services/sandbox/demo"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if err := run(ctx, os.Args[1:], os.Getenv, os.Stdout); err != nil {
		fmt.Fprintln(os.Stderr, "retailbridge:", err)
		if errors.Is(err, errUsage) {
			os.Exit(2)
		}
		os.Exit(1)
	}
}

var errUsage = errors.New("usage")

const usage = `retailbridge — the retail integration gateway

Usage:
  retailbridge dev [--http-addr ADDR] [--data-dir DIR]     every service, embedded NATS, Redis and sandboxes
  retailbridge serve [--data-dir DIR] COMPONENT...         chosen components: sandboxes commerce erp payments returnsplatform wms orders inventory returns gateway
  retailbridge check-config [--policy FILE] [COMPONENT...] validate the environment and the return policy
                                                           (with components: also what serve needs for them)
  retailbridge dlq list|show ID|replay ID --operator NAME [--dry-run]
                                                           dead letters: list, inspect, replay (audited)
`

const usageTail = `
Configuration comes from the environment; see README.md.
`

// run runs the command args names. Help (-h, --help, help) on any command or verb prints its
// usage to stdout and is not an error.
func run(ctx context.Context, args []string, getenv func(string) string, stdout io.Writer) error {
	err := dispatch(ctx, args, getenv, stdout)
	if errors.Is(err, flag.ErrHelp) {
		return nil
	}
	return err
}

func dispatch(ctx context.Context, args []string, getenv func(string) string, stdout io.Writer) error {
	if len(args) == 0 {
		fmt.Fprint(stdout, usage+identityUsage+usageTail)
		return errUsage
	}
	switch args[0] {
	case "dev":
		return runDev(ctx, args[1:], getenv, stdout)
	case "serve":
		return runServe(ctx, args[1:], getenv, stdout)
	case "token":
		return runIssueToken(ctx, args[1:], getenv, stdout)
	case "clients":
		return runClients(ctx, args[1:], getenv, stdout)
	case "keys":
		return runKeys(args[1:], getenv, stdout)
	case "audit":
		return runAudit(ctx, args[1:], getenv, stdout)
	case "check-config":
		return runCheckConfig(args[1:], getenv, stdout)
	case "dlq":
		return runDLQ(ctx, args[1:], getenv, stdout)
	case "help", "-h", "-help", "--help":
		if len(args) > 1 && args[1] != "help" && !isHelp(args[1]) {
			return dispatch(ctx, []string{args[1], "--help"}, getenv, stdout) // help COMMAND
		}
		fmt.Fprint(stdout, usage+identityUsage+usageTail)
		return nil
	}
	fmt.Fprint(stdout, usage+identityUsage+usageTail)
	return fmt.Errorf("%w: unknown command %q", errUsage, args[0])
}

// loadConfig reads the environment, then applies the common flags (parsed with parseFlags, so
// they may follow the positional arguments).
func loadConfig(fs *flag.FlagSet, args []string, getenv func(string) string, stdout io.Writer, u usageText) (config.Config, []string, error) {
	httpAddr := fs.String("http-addr", "", "gateway listen address (default $RB_HTTP_ADDR or 127.0.0.1:8080)")
	dataDir := fs.String("data-dir", "", "data directory (default $RB_DATA_DIR or ./data)")
	rest, err := parseFlags(fs, args, stdout, u)
	if err != nil {
		return config.Config{}, nil, err
	}
	overlay := func(k string) string {
		switch {
		case k == "RB_HTTP_ADDR" && *httpAddr != "":
			return *httpAddr
		case k == "RB_DATA_DIR" && *dataDir != "":
			return *dataDir
		}
		return getenv(k)
	}
	cfg, err := config.Load(overlay)
	// Vendor settings belong to the system kinds' registries; checked here too so that one
	// error names every bad field.
	return cfg, rest, errors.Join(err, stack.CheckVendorConfig(cfg))
}

func runDev(ctx context.Context, args []string, getenv func(string) string, stdout io.Writer) error {
	cfg, rest, err := loadConfig(flag.NewFlagSet("dev", flag.ContinueOnError), args, getenv, stdout, usageText{
		line:  "dev [--http-addr ADDR] [--data-dir DIR]",
		about: "Runs every service in one process with embedded NATS JetStream, Redis (unless REDIS_URL is set),\nSQLite files under the data directory and every vendor sandbox, and prints their addresses.",
	})
	if err != nil {
		return err
	}
	if len(rest) > 0 {
		return fmt.Errorf("%w: dev takes no arguments, got %q", errUsage, rest)
	}
	logger := telemetry.NewLogger(os.Stderr, cfg.LogLevel)
	logger.Info("starting retailbridge dev", "config", cfg)
	servePprof(cfg.PprofAddr, logger)
	s, err := stack.Start(ctx, stack.Options{Config: cfg, Components: stack.All, Ephemeral: true, GatewayAddr: cfg.HTTPAddr, Logger: logger,
		ConsoleDevLogin: true})
	if err != nil {
		return err
	}
	if err := writeDevEnv(cfg.DataDir, s.NATSURL, s.RedisURL); err != nil {
		logger.Warn("could not record the dev stack's addresses", "error", err.Error())
	}
	fmt.Fprintf(stdout, `Retailbridge is running.

  gateway       %[1]s
  console       %[7]s/console/ (development sign-in: any name, a role)
  openapi       %[1]s/openapi.json (reference: %[1]s/docs)
%[2]s  nats          %[3]s (embedded JetStream)
  redis         %[4]s

Get a token for the demo customer (their orders cover every return scenario):

  TOKEN=$(go run . token --audience storefront --customer %[5]s --data-dir %[6]s)
  curl -s -H "Authorization: Bearer $TOKEN" %[1]s/v1/storefront/orders

A partner (tenant acme, configs/tenants.yaml) with client credentials:

  go run . clients create --data-dir %[6]s --tenant acme --scopes "orders:read returns:write inventory:read"
  curl -s -u CLIENT_ID:SECRET -d grant_type=client_credentials %[1]s/oauth/token

Press Ctrl-C to stop.
`, s.GatewayURL, sandboxLines(s), s.NATSURL, redactedRedis(s.RedisURL), demo.DemoCustomerID, cfg.DataDir,
		// The console's cookie is Secure: browsers keep it over plain HTTP on localhost.
		strings.Replace(s.GatewayURL, "127.0.0.1", "localhost", 1))
	return s.Wait(ctx)
}

// sandboxLines lists the vendor sandboxes s runs, one line each, in kind order.
func sandboxLines(s *stack.Stack) string {
	var b strings.Builder
	vs := s.SandboxVendors()
	width := 0
	for _, v := range vs {
		width = max(width, len(v.Vendor))
	}
	for _, v := range vs {
		fmt.Fprintf(&b, "  %-*s %s (sandbox: %s)\n", width, v.Vendor, v.URL, v.Kind)
	}
	return b.String()
}

func redactedRedis(u string) string {
	if i := strings.Index(u, "@"); i >= 0 {
		return "redis://***" + u[i:]
	}
	return u
}

func runServe(ctx context.Context, args []string, getenv func(string) string, stdout io.Writer) error {
	fs := flag.NewFlagSet("serve", flag.ContinueOnError)
	embedded := fs.Bool("embedded", false, "stand in embedded NATS, Redis and SQLite for missing NATS_URL, REDIS_URL, DATABASE_URL\n(a single-machine trial: replicas would not share state; same as RB_ALLOW_EMBEDDED=true)")
	cfg, rest, err := loadConfig(fs, args, getenv, stdout, usageText{
		line: "serve [--data-dir DIR] [--embedded] COMPONENT...",
		about: "Runs the named components in this process, on their configured addresses, against shared\n" +
			"NATS (NATS_URL), PostgreSQL (DATABASE_URL) and Redis (REDIS_URL); it refuses to start without\n" +
			"the engines and vendor settings its components need, naming each missing variable.\n" +
			"Components: " + componentNames() + ". See docs/deployment.md.",
	})
	if err != nil {
		return err
	}
	cfg.AllowEmbedded = cfg.AllowEmbedded || *embedded
	if len(rest) == 0 {
		return fmt.Errorf("%w: name the components to serve: %s", errUsage, componentNames())
	}
	comps, err := parseComponents(rest)
	if err != nil {
		return err
	}
	logger := telemetry.NewLogger(os.Stderr, cfg.LogLevel)
	servePprof(cfg.PprofAddr, logger)
	s, err := stack.Start(ctx, stack.Options{Config: cfg, Components: comps, Logger: logger})
	if err != nil {
		return err
	}
	fmt.Fprintf(stdout, "serving %v\n", rest)
	if len(s.SandboxVendors()) > 0 {
		fmt.Fprintf(stdout, "\nPoint the system services at the sandboxes with:\n\n%s\n", s.SandboxEnv())
		if cfg.Sandboxes.WebhookURL != "" {
			fmt.Fprintf(stdout, "The sandboxes deliver webhooks to %s/webhooks/{vendor}.\n", cfg.Sandboxes.WebhookURL)
		} else if !slices.Contains(comps, stack.Gateway) {
			fmt.Fprintln(stdout, "The sandboxes deliver no webhooks: set RB_SANDBOX_WEBHOOK_URL to the gateway's (or its load balancer's) base URL.")
		}
	}
	return s.Wait(ctx)
}

func componentNames() string {
	names := make([]string, len(stack.All))
	for i, c := range stack.All {
		names[i] = string(c)
	}
	return strings.Join(names, " ")
}

// parseComponents reads component names.
func parseComponents(names []string) ([]stack.Component, error) {
	var comps []stack.Component
	for _, a := range names {
		c := stack.Component(a)
		if !slices.Contains(stack.All, c) {
			return nil, fmt.Errorf("%w: unknown component %q (%s)", errUsage, a, componentNames())
		}
		comps = append(comps, c)
	}
	return comps, nil
}

func runCheckConfig(args []string, getenv func(string) string, stdout io.Writer) error {
	fs := flag.NewFlagSet("check-config", flag.ContinueOnError)
	policy := fs.String("policy", "", "return policy file (default $RB_RETURN_POLICY or the built-in policy)")
	cfg, rest, err := loadConfig(fs, args, getenv, stdout, usageText{
		line: "check-config [--policy FILE] [COMPONENT...]",
		about: "Validates the environment's configuration, the return policy and the tenant directory; with\n" +
			"components, also that `serve` has every engine and vendor setting they need.",
	})
	if err != nil {
		return err
	}
	comps, err := parseComponents(rest)
	if err != nil {
		return err
	}
	if missing := stack.MissingEnv(cfg, comps, cfg.AllowEmbedded); len(comps) > 0 && len(missing) > 0 {
		return fmt.Errorf("serve %s would not start: set %s", strings.Join(rest, " "), strings.Join(missing, ", "))
	}
	path := cfg.ReturnPolicy
	if *policy != "" {
		path = *policy
	}
	if _, err := stack.LoadPolicy(path); err != nil {
		return err
	}
	if _, err := stack.LoadTenants(cfg.Tenants); err != nil {
		return err
	}
	fmt.Fprintln(stdout, "configuration, return policy and tenant directory are valid")
	return nil
}

// servePprof exposes net/http/pprof on a loopback address when configured (profiling in
// benchmarks and incidents); the gateway never serves it.
func servePprof(addr string, logger *slog.Logger) {
	if addr == "" {
		return
	}
	mux := http.NewServeMux()
	mux.HandleFunc("/debug/pprof/", pprof.Index)
	mux.HandleFunc("/debug/pprof/profile", pprof.Profile)
	mux.HandleFunc("/debug/pprof/symbol", pprof.Symbol)
	mux.HandleFunc("/debug/pprof/trace", pprof.Trace)
	srv := &http.Server{Addr: addr, Handler: mux, ReadHeaderTimeout: 5 * time.Second}
	go func() {
		if err := srv.ListenAndServe(); err != nil && !errors.Is(err, http.ErrServerClosed) {
			logger.Warn("pprof server stopped", "error", err.Error())
		}
	}()
}
