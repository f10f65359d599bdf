// Package stack assembles Retailbridge: the vendor sandboxes, the system and process services
// and the gateway, each on its own loopback gRPC or HTTP port, talking real gRPC to each other.
// `retailbridge dev` starts every component in one process; `retailbridge serve` starts chosen
// ones; the end-to-end tests start it exactly as dev does, on :0 ports.
package stack

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"sync"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/redis/go-redis/v9"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"google.golang.org/grpc"

	"github.com/retailbridge/retailbridge/configs"
	"github.com/retailbridge/retailbridge/gateway"
	"github.com/retailbridge/retailbridge/pkg/auth"
	"github.com/retailbridge/retailbridge/pkg/config"
	"github.com/retailbridge/retailbridge/pkg/events"
	inventoryv1 "github.com/retailbridge/retailbridge/pkg/gen/retailbridge/process/inventory/v1"
	ordersv1 "github.com/retailbridge/retailbridge/pkg/gen/retailbridge/process/orders/v1"
	returnsv1 "github.com/retailbridge/retailbridge/pkg/gen/retailbridge/process/returns/v1"
	commercev1 "github.com/retailbridge/retailbridge/pkg/gen/retailbridge/system/commerce/v1"
	erpv1 "github.com/retailbridge/retailbridge/pkg/gen/retailbridge/system/erp/v1"
	paymentsv1 "github.com/retailbridge/retailbridge/pkg/gen/retailbridge/system/payments/v1"
	returnsplatformv1 "github.com/retailbridge/retailbridge/pkg/gen/retailbridge/system/returnsplatform/v1"
	wmsv1 "github.com/retailbridge/retailbridge/pkg/gen/retailbridge/system/wms/v1"
	"github.com/retailbridge/retailbridge/pkg/governor"
	"github.com/retailbridge/retailbridge/pkg/grpcx"
	"github.com/retailbridge/retailbridge/pkg/telemetry"
	"github.com/retailbridge/retailbridge/pkg/tenancy"
	"github.com/retailbridge/retailbridge/pkg/vendors"
	"github.com/retailbridge/retailbridge/services/process/inventory"
	"github.com/retailbridge/retailbridge/services/process/orders"
	"github.com/retailbridge/retailbridge/services/process/productfeed"
	"github.com/retailbridge/retailbridge/services/process/returns"
	"github.com/retailbridge/retailbridge/services/sandbox/demo"
)

// Component is one startable part of Retailbridge.
type Component string

// Components, in start order.
const (
	Sandboxes Component = "sandboxes"
	Commerce  Component = "commerce"
	ERP       Component = "erp"
	Payments  Component = "payments"
	// ReturnsPlatform and WMS are the returns platform and warehouse system APIs.
	ReturnsPlatform Component = "returnsplatform"
	WMS             Component = "wms"
	// OMS is the order-management system API (routing and allocation).
	OMS       Component = "oms"
	Orders    Component = "orders"
	Inventory Component = "inventory"
	Returns   Component = "returns"
	Gateway   Component = "gateway"
)

// All is every component, in start order.
var All = []Component{Sandboxes, Commerce, ERP, Payments, ReturnsPlatform, WMS, OMS, Orders, Inventory, Returns, Gateway}

// Options say what to start and how.
type Options struct {
	Config     config.Config
	Components []Component
	// Ephemeral listens on 127.0.0.1:0 everywhere (dev and tests) instead of configured addresses.
	Ephemeral bool
	// GatewayAddr overrides Config.HTTPAddr (":0" style addresses are fine).
	GatewayAddr string
	Logger      *slog.Logger
	// Now is the clock of the demo data and of the process services' business decisions
	// (eligibility windows, workflow timers); tests fix it. Vendor rate limits, signatures and
	// throttles always run on real time: a fixed clock would never restore a bucket.
	Now func() time.Time
	// Demo data shape for the sandboxes.
	DemoSeed      uint64
	DemoCustomers int
	DemoOrders    int
	// FastVendors makes the sandboxes' simulated parcels and warehouse move in milliseconds.
	FastVendors bool
	// ManualParcels stops the returns platform and warehouse sandboxes from moving parcels by
	// themselves (tests drive them, or cancel before a parcel ships).
	ManualParcels bool
	// SandboxSettings are vendors' own sandbox knobs, by vendor name, handed to the vendor's
	// sandbox as it starts (the warehouse sandbox takes its inspection shares, a
	// warehouse.Outcomes of services/sandbox/warehouse).
	SandboxSettings map[string]any
	// ReturnTimings overrides the return workflow's reminder, expiry and escalation delays.
	ReturnTimings returns.Timings
	// SpanProcessors receive every span (tests record them to check propagation).
	SpanProcessors []sdktrace.SpanProcessor
	// ConsoleDevLogin offers the console's development login (retailbridge dev and tests only).
	ConsoleDevLogin bool
}

// returnsStreams are the streams the returns service consumes and publishes on; its health
// requires them.
var returnsStreams = []string{"returns", "returnsplatform", "wms", "commerce", "payments"}

// Stack is a running set of components.
type Stack struct {
	GatewayURL string
	// Gateway is the gateway's handler, for tests that drive it in-process (fuzzing).
	Gateway http.Handler
	// Returns is the returns process service started here (tests drive its workflow).
	Returns *returns.Service
	// OrderWorkflow is the orders service's write side, when started here (benchmarks read it).
	OrderWorkflow *orders.Workflow
	// Inventory is the inventory process service, when this stack runs it.
	Inventory  *inventory.Service
	Demo       *demo.Dataset
	SigningKey auth.SigningKey
	Metrics    *telemetry.Metrics
	RedisURL   string
	NATSURL    string

	opts   Options
	logger *slog.Logger
	// deadLetters is the returns service's dead-letter triage, for the console.
	deadLetters *events.DeadLetters
	tracing     *telemetry.Tracing
	addrs       map[Component]string
	inProcess   map[Component]*grpcx.InProcess // each gRPC service served here, for clients here
	conns       []*grpc.ClientConn
	nc          *nats.Conn
	// startCtx bounds waiting for engines during Start; ctx is the running stack's lifetime.
	startCtx context.Context
	ctx      context.Context
	cancel   context.CancelFunc
	wg       sync.WaitGroup
	errOnce  sync.Once
	err      error
	closers  []func()

	// sandboxes are the vendor sandboxes started here, by vendor name (sandboxes.go).
	sandboxes map[string]vendors.Sandbox
	js        jetstream.JetStream
	governors map[string]*governor.Governor
	// dbs are the process services' databases by service name (Database), each opened once
	// (dbMu) and shared by the components that use it.
	dbs     sync.Map
	dbMu    sync.Mutex
	tenants *tenancy.Directory
	// vendors are each system kind's vendors in use, its default first, and tables which of
	// them serves a call; dedup each webhook vendor's horizon; guards each vendor's governor
	// settings (kinds.go).
	vendors map[Component][]vendors.Vendor
	tables  map[Component]vendors.Table
	dedup   map[string]time.Duration
	guards  map[string]governor.Config
	// sandboxAddrs are the sandboxes' configured addresses, per vendor.
	sandboxAddrs map[string]string
}

// Start starts the chosen components and returns when every one is listening.
func Start(ctx context.Context, opts Options) (_ *Stack, err error) {
	if len(opts.Components) == 0 {
		opts.Components = All
	}
	if opts.Logger == nil {
		opts.Logger = slog.New(slog.DiscardHandler)
	}
	if opts.Now == nil {
		opts.Now = time.Now
	}
	if opts.DemoCustomers == 0 {
		opts.DemoCustomers = 40
	}
	if opts.DemoOrders == 0 {
		opts.DemoOrders = 400
	}
	if opts.DemoSeed == 0 {
		opts.DemoSeed = 20261127
	}
	s := &Stack{opts: opts, logger: opts.Logger, addrs: map[Component]string{}, inProcess: map[Component]*grpcx.InProcess{}, Metrics: telemetry.NewMetrics(),
		governors: map[string]*governor.Governor{}, sandboxes: map[string]vendors.Sandbox{}}
	s.startCtx = ctx
	s.ctx, s.cancel = context.WithCancel(context.WithoutCancel(ctx))
	s.tracing = telemetry.NewTracing(opts.Config.TraceSampleRatio, opts.SpanProcessors...)
	defer func() {
		if err != nil {
			s.Close()
		}
	}()
	if !opts.Ephemeral {
		if err := checkRequired(opts.Config, opts.Components, opts.Config.AllowEmbedded); err != nil {
			return nil, err
		}
	}
	if err := os.MkdirAll(opts.Config.DataDir, 0o750); err != nil {
		return nil, fmt.Errorf("data dir: %w", err)
	}
	s.NATSURL = opts.Config.NATSURL
	if s.NATSURL == "" && s.embeddedAllowed() && needsNATS(opts.Components) {
		ns, url, err := startEmbeddedNATS(opts.Config.DataDir)
		if err != nil {
			return nil, err
		}
		s.NATSURL = url
		s.closers = append(s.closers, func() { ns.Shutdown(); ns.WaitForShutdown() })
	}
	if err := s.selectVendors(); err != nil {
		return nil, err
	}
	type step struct {
		c     Component
		start func() error
	}
	steps := []step{{Sandboxes, s.startSandboxes}}
	for _, k := range systemKinds() {
		steps = append(steps, step{k.component, func() error { return s.startSystem(k) }})
	}
	// Inventory before orders: the order workflow dials it (a dial resolves its address now).
	steps = append(steps, step{Inventory, s.startInventory}, step{Orders, s.startOrders}, step{Returns, s.startReturns},
		step{Gateway, s.startGateway})
	for _, st := range steps {
		if !slices.Contains(opts.Components, st.c) {
			continue
		}
		if err := st.start(); err != nil {
			return nil, fmt.Errorf("start %s: %w", st.c, err)
		}
	}
	return s, nil
}

// Addr is the gRPC address component c listens on in this stack ("" when not started here).
func (s *Stack) Addr(c Component) string { return s.addrs[c] }

// Governor returns the guard of a vendor's outbound calls (tests read its stats).
func (s *Stack) Governor(vendor string) *governor.Governor { return s.governors[vendor] }

// Wait blocks until ctx ends or a component fails, then stops everything.
func (s *Stack) Wait(ctx context.Context) error {
	select {
	case <-ctx.Done():
	case <-s.ctx.Done():
	}
	s.Close()
	return s.err
}

// Close stops every component, newest first.
func (s *Stack) Close() {
	s.cancel()
	s.wg.Wait()
	for _, c := range s.conns {
		_ = c.Close()
	}
	for i := len(s.closers) - 1; i >= 0; i-- {
		s.closers[i]()
	}
	s.closers = nil
	s.conns = nil
}

func (s *Stack) fail(err error) {
	if s.ctx.Err() != nil {
		// Shutting down: components end with the cancellation they were given (a workflow
		// still ensuring its streams, a consumer mid-fetch). That is a clean stop, not a failure.
		s.logger.Debug("component stopped during shutdown", "error", err.Error())
		return
	}
	s.errOnce.Do(func() {
		s.err = err
		s.logger.Error("component failed", "error", err.Error())
		s.cancel()
	})
}

// listen opens the component's listener: ephemeral loopback in dev; otherwise its listen
// override (RB_<SERVICE>_LISTEN_ADDR) or the first address others dial it at.
func (s *Stack) listen(c Component, configured string) (net.Listener, error) {
	addr := listenAddrs(s.opts.Config.Listen)[c]
	if addr == "" {
		sa, err := config.ParseServiceAddr(configured)
		if err != nil {
			return nil, err
		}
		addr = sa.Listen
	}
	if s.opts.Ephemeral {
		addr = "127.0.0.1:0"
	}
	lis, err := net.Listen("tcp", addr)
	if err != nil {
		return nil, err
	}
	s.addrs[c] = lis.Addr().String()
	return lis, nil
}

// target is where component c is reached: here if started here, else its configured address
// (one, a comma-separated list of replicas, or a dns:/// name; see grpcx.Dial).
func (s *Stack) target(c Component) string {
	if a, ok := s.addrs[c]; ok {
		return a
	}
	return listenAddrs(s.opts.Config.Addrs)[c]
}

// listenAddrs maps components to the fields of a ServiceAddrs.
func listenAddrs(a config.ServiceAddrs) map[Component]string {
	return map[Component]string{Commerce: a.Commerce, ERP: a.ERP, Payments: a.Payments, ReturnsPlatform: a.ReturnsPlatform,
		WMS: a.WMS, OMS: a.OMS, Orders: a.Orders, Inventory: a.Inventory, Returns: a.Returns}
}

func (s *Stack) dial(c Component) (*grpc.ClientConn, error) {
	deps := grpcx.DialDeps{Metrics: s.Metrics, Tracing: s.tracing, DefaultTimeout: s.opts.Config.RequestTimeout}
	target := s.target(c)
	if p, ok := s.inProcess[c]; ok {
		// Served in this process: unary calls made directly, the rest over memory, never loopback TCP.
		deps.InProcess, target = p, "passthrough:///"+string(c)
	}
	conn, err := grpcx.Dial(target, deps)
	if err != nil {
		return nil, err
	}
	s.conns = append(s.conns, conn)
	return conn, nil
}

// serveGRPC serves component c; its health follows the probes (its database, the bus, the
// services it calls), re-checked every RB_HEALTH_INTERVAL.
func (s *Stack) serveGRPC(c Component, configured string, register func(*grpcx.Server), probes ...grpcx.Probe) error {
	lis, err := s.listen(c, configured)
	if err != nil {
		return err
	}
	srv := grpcx.NewServer(grpcx.ServerDeps{Logger: s.logger.With("service", string(c)), Metrics: s.Metrics, Tracing: s.tracing})
	register(srv)
	srv.WatchHealth(s.ctx, s.opts.Config.HealthInterval, probes...)
	// Clients in this process dial the in-process listener (dial); others reach lis.
	p := grpcx.NewInProcess()
	s.inProcess[c] = p
	for _, l := range []net.Listener{lis, p.Listener()} {
		s.wg.Go(func() {
			if err := srv.Serve(s.ctx, l); err != nil {
				s.fail(fmt.Errorf("%s: %w", c, err))
			}
		})
	}
	s.logger.Info("service listening", "service", string(c), "addr", lis.Addr().String())
	return nil
}

func (s *Stack) serveHTTP(name, addr string, h http.Handler) (string, error) {
	if s.opts.Ephemeral && addr == "" {
		addr = "127.0.0.1:0"
	}
	lis, err := net.Listen("tcp", addr)
	if err != nil {
		return "", err
	}
	srv := &http.Server{
		Handler:           h,
		ReadHeaderTimeout: 5 * time.Second,
		ReadTimeout:       15 * time.Second,
		WriteTimeout:      30 * time.Second,
		IdleTimeout:       120 * time.Second,
		MaxHeaderBytes:    32 << 10,
		ErrorLog:          slog.NewLogLogger(s.logger.Handler(), slog.LevelWarn),
	}
	s.wg.Go(func() {
		if err := srv.Serve(lis); err != nil && !errors.Is(err, http.ErrServerClosed) {
			s.fail(fmt.Errorf("%s: %w", name, err))
		}
	})
	s.wg.Go(func() {
		<-s.ctx.Done()
		sctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		_ = srv.Shutdown(sctx)
	})
	return "http://" + lis.Addr().String(), nil
}

func (s *Stack) startOrders() error {
	conn, err := s.dial(Commerce)
	if err != nil {
		return err
	}
	js, err := s.jetStream()
	if err != nil {
		return err
	}
	tenants, err := s.tenantDirectory()
	if err != nil {
		return err
	}
	db, err := s.database(s.ctx, "orders")
	if err != nil {
		return err
	}
	var svc *orders.Service
	// New migrates the order store: a database that went away since it was opened is waited for.
	err = s.waitFor("orders database migrations", func(context.Context) (err error) {
		svc, err = orders.New(orders.Config{OrderTTL: s.opts.Config.OrderTTL, Store: orders.StoreConfig{
			PollInterval: s.opts.Config.OrderPollInterval, PollOverlap: s.opts.Config.OrderPollOverlap,
			Backfill: s.opts.Config.OrderBackfill}}, orders.Deps{
			Commerce: commercev1.NewCommerceServiceClient(conn), Logger: s.logger.With("service", "orders"), Now: s.opts.Now,
			JetStream: js, Tenants: tenants, DB: db, Registerer: s.Metrics.Registry,
		})
		return err
	})
	if err != nil {
		return err
	}
	s.wg.Go(func() {
		if err := svc.Run(s.ctx); err != nil {
			s.fail(fmt.Errorf("orders store: %w", err))
		}
	})
	wf, wfProbes, err := s.startOrderWorkflow()
	if err != nil {
		return err
	}
	s.OrderWorkflow = wf
	settlement, err := s.startSettlement()
	if err != nil {
		return err
	}
	return s.serveGRPC(Orders, s.opts.Config.Addrs.Orders, func(srv *grpcx.Server) {
		ordersv1.RegisterOrdersServiceServer(srv, svc)
		ordersv1.RegisterOrderWorkflowServiceServer(srv, wf)
		ordersv1.RegisterSettlementServiceServer(srv, settlement)
		ordersv1.RegisterOrderInsightServiceServer(srv, orders.NewInsight(db, s.opts.Now))
	}, append(wfProbes, dbProbe(db), s.natsProbe(), grpcx.ConnProbe(string(Commerce), conn))...)
}

// LoadTenants reads the partner tenant directory: the configured file, or the built-in default.
func LoadTenants(path string) (*tenancy.Directory, error) {
	if path == "" {
		return tenancy.Parse(configs.Tenants)
	}
	return tenancy.Load(path)
}

// tenantDirectory loads the tenant directory once for every service of this stack.
func (s *Stack) tenantDirectory() (*tenancy.Directory, error) {
	if s.tenants == nil {
		d, err := LoadTenants(s.opts.Config.Tenants)
		if err != nil {
			return nil, err
		}
		s.tenants = d
	}
	return s.tenants, nil
}

func (s *Stack) startInventory() error {
	conn, err := s.dial(WMS)
	if err != nil {
		return err
	}
	commerceConn, err := s.dial(Commerce)
	if err != nil {
		return err
	}
	erpConn, err := s.dial(ERP)
	if err != nil {
		return err
	}
	tenants, err := s.tenantDirectory()
	if err != nil {
		return err
	}
	db, err := s.database(s.ctx, "inventory")
	if err != nil {
		return err
	}
	js, err := s.jetStream()
	if err != nil {
		return err
	}
	channels, err := LoadChannels(s.opts.Config.Channels)
	if err != nil {
		return err
	}
	var reg prometheus.Registerer
	if s.Metrics != nil {
		reg = s.Metrics.Registry
	}
	feed, err := s.startProductFeed(db)
	if err != nil {
		return err
	}
	var svc *inventory.Service
	// New migrates the database: a database that went away since it was opened is waited for too.
	err = s.waitFor("inventory database migrations", func(context.Context) (err error) {
		svc, err = inventory.New(s.inventoryConfig(channels), inventory.Deps{
			DB: db, JetStream: js, WMS: wmsv1.NewWmsServiceClient(conn), Tenants: tenants,
			Commerce: commercev1.NewCommerceServiceClient(commerceConn), ERP: erpv1.NewErpServiceClient(erpConn),
			ItemMaster: feedItems{productfeed.NewStore(db)}, Logger: s.logger.With("service", "inventory"), Now: s.opts.Now, Metrics: reg,
		})
		return err
	})
	if err != nil {
		return err
	}
	s.Inventory = svc
	// The first warehouse snapshot bootstraps an empty ledger before the service answers; a
	// warehouse that does not answer in time leaves it to the periodic snapshot.
	sctx, cancel := context.WithTimeout(s.ctx, 2*s.opts.Config.RequestTimeout)
	if _, err := svc.ApplySnapshot(sctx); err != nil {
		s.logger.Warn("inventory: first warehouse snapshot failed; the ledger starts from what it holds", "error", err)
	}
	cancel()
	s.wg.Go(func() {
		if err := svc.Run(s.ctx); err != nil {
			s.fail(fmt.Errorf("inventory ledger: %w", err))
		}
	})
	return s.serveGRPC(Inventory, s.opts.Config.Addrs.Inventory, func(srv *grpcx.Server) {
		inventoryv1.RegisterInventoryServiceServer(srv, svc)
		inventoryv1.RegisterProductFeedServiceServer(srv, feed)
		inventoryv1.RegisterInventoryInsightServiceServer(srv, svc.Insight())
	}, dbProbe(db), grpcx.ConnProbe(string(WMS), conn))
}

// inventoryConfig is the inventory process's configuration from the stack's: a zero interval
// in the stack's configuration turns the loop off.
func (s *Stack) inventoryConfig(channels map[string]inventory.Channel) inventory.Config {
	c := s.opts.Config
	off := func(d time.Duration) time.Duration {
		if d == 0 {
			return -1
		}
		return d
	}
	var authority []inventory.AuthorityRule
	for _, r := range c.InventoryAuthority {
		authority = append(authority, inventory.AuthorityRule{Location: r.Location, State: r.State, Source: r.Source})
	}
	return inventory.Config{ReservationTTL: c.ReservationTTL, Channels: channels, Authority: authority,
		ReconcileEvery: off(c.InventoryReconcileEvery), MappingEvery: off(c.InventoryMappingEvery),
		Push: inventory.PushConfig{Channel: c.InventoryPushChannel, Locations: c.InventoryPush, Lease: c.InventoryPushLease}}
}

// LoadChannels reads the inventory sales channels: the configured file, or the built-in default.
func LoadChannels(path string) (map[string]inventory.Channel, error) {
	if path == "" {
		return inventory.ParseChannels(configs.InventoryChannels)
	}
	return inventory.LoadChannels(path)
}

// LoadPolicy reads the return policy: the configured file, or the built-in default.
func LoadPolicy(path string) (*returns.Policy, error) {
	if path == "" {
		return returns.ParsePolicy(configs.ReturnPolicy)
	}
	return returns.LoadPolicy(path)
}

func (s *Stack) startReturns() error {
	policy, err := LoadPolicy(s.opts.Config.ReturnPolicy)
	if err != nil {
		return err
	}
	conns := map[Component]*grpc.ClientConn{}
	for _, c := range []Component{Commerce, ERP, Payments, ReturnsPlatform, WMS, Orders} {
		if conns[c], err = s.dial(c); err != nil {
			return err
		}
	}
	db, err := s.database(s.ctx, "returns")
	if err != nil {
		return err
	}
	js, err := s.jetStream()
	if err != nil {
		return err
	}
	tenants, err := s.tenantDirectory()
	if err != nil {
		return err
	}
	var svc *returns.Service
	// New migrates the database: a database that went away since it was opened is waited for too.
	err = s.waitFor("returns database migrations", func(context.Context) (err error) {
		svc, err = returns.New(returns.Config{Policy: policy, OrderTTL: s.opts.Config.OrderTTL, ItemTTL: s.opts.Config.ItemTTL,
			ReturnsLocation: s.opts.Config.ReturnsLocation}, returns.Deps{
			Tenants: tenants, Orders: ordersv1.NewOrdersServiceClient(conns[Orders]),
			Commerce: commercev1.NewCommerceServiceClient(conns[Commerce]), ERP: erpv1.NewErpServiceClient(conns[ERP]),
			Payments:        paymentsv1.NewPaymentsServiceClient(conns[Payments]),
			ReturnsPlatform: returnsplatformv1.NewReturnsPlatformServiceClient(conns[ReturnsPlatform]),
			WMS:             wmsv1.NewWmsServiceClient(conns[WMS]),
			DB:              db, JetStream: js, Timings: s.opts.ReturnTimings, Metrics: s.Metrics, Admission: s.admission(),
			Logger: s.logger.With("service", "returns"), Now: s.opts.Now,
		})
		return err
	})
	if err != nil {
		return err
	}
	s.Returns = svc
	// The dead letters' depth by consumer, for DLQ-growth alerts; once per registry.
	_ = s.Metrics.Registry.Register(events.NewDepthCollector(js))
	s.deadLetters = events.NewDeadLetters(db, js, s.opts.Now)
	s.wg.Go(func() {
		if err := svc.Run(s.ctx); err != nil {
			s.fail(fmt.Errorf("returns workflow: %w", err))
		}
	})
	// The workflow creates its streams as it starts: serve once they exist, so the service is
	// ready when it first answers.
	streams := s.natsProbe(returnsStreams...)
	if err := s.waitUntil("returns streams", streams.Check, func(err error) bool { return errors.Is(err, jetstream.ErrStreamNotFound) }); err != nil {
		return err
	}
	probes := []grpcx.Probe{dbProbe(db), streams}
	for _, c := range []Component{Commerce, ERP, Payments, ReturnsPlatform, WMS} {
		probes = append(probes, grpcx.ConnProbe(string(c), conns[c]))
	}
	return s.serveGRPC(Returns, s.opts.Config.Addrs.Returns, func(srv *grpcx.Server) {
		returnsv1.RegisterReturnsServiceServer(srv, svc)
		returnsv1.RegisterReturnInsightServiceServer(srv, svc.Insight())
	}, probes...)
}

// SigningKeyPath is where the storefront signing key lives for a data directory.
func SigningKeyPath(c config.Config) string {
	if c.Token.SigningKeyFile != "" {
		return c.Token.SigningKeyFile
	}
	return filepath.Join(c.DataDir, "keys", "storefront.pem")
}

func (s *Stack) startGateway() error {
	c := s.opts.Config
	identity, auditLog, err := s.startIdentity()
	if err != nil {
		return err
	}
	redisURL, embedded := c.RedisURL, c.RedisURL == ""
	if redisURL == "" && !s.embeddedAllowed() {
		return errors.New("REDIS_URL is required")
	}
	if redisURL == "" {
		redisURL, err = s.startEmbeddedRedis()
		if err != nil {
			return err
		}
		s.logger.Info("using the embedded Redis-protocol server; set REDIS_URL for a shared Redis")
	}
	s.RedisURL = redisURL
	ropts, err := redis.ParseURL(redisURL)
	if err != nil {
		return fmt.Errorf("REDIS_URL: %w", err)
	}
	ropts.DialTimeout, ropts.ReadTimeout, ropts.WriteTimeout = 300*time.Millisecond, 300*time.Millisecond, 300*time.Millisecond
	ropts.MaxRetries = 1 // the callers fall back (rate limits) or fail closed (idempotency) at once
	ropts.ContextTimeoutEnabled = true
	rdb := redis.NewClient(ropts)
	s.closers = append(s.closers, func() { _ = rdb.Close() })
	limits, err := gateway.LoadRatePolicies(c.RateLimits, configs.RateLimits)
	if err != nil {
		return err
	}
	ordersConn, err := s.dial(Orders)
	if err != nil {
		return err
	}
	returnsConn, err := s.dial(Returns)
	if err != nil {
		return err
	}
	inventoryConn, err := s.dial(Inventory)
	if err != nil {
		return err
	}
	webhooks, err := s.webhookConns()
	if err != nil {
		return err
	}
	cons, err := s.startConsole(rdb, consoleConns{returns: returnsConn, orders: ordersConn, inventory: inventoryConn}, auditLog)
	if err != nil {
		return err
	}
	g, err := gateway.New(gateway.Config{
		RequestTimeout: c.RequestTimeout,
		RateLimits:     limits,
		CORSOrigins:    c.CORSOrigins,
	}, gateway.Deps{
		Logger: s.logger.With("service", "gateway"), Metrics: s.Metrics, Tracing: s.tracing,
		Verifier: identity.Verifier, Redis: rdb, OnlyGateway: embedded, Audit: auditLog, Orders: ordersConn, Returns: returnsConn, Inventory: inventoryConn, Webhooks: webhooks,
		Console: cons,
	})
	if err != nil {
		return err
	}
	s.Gateway = g
	addr := c.HTTPAddr
	if s.opts.GatewayAddr != "" {
		addr = s.opts.GatewayAddr
	}
	if s.GatewayURL, err = s.serveHTTP("gateway", addr, g); err != nil {
		return err
	}
	if s.opts.Config.Sandboxes.WebhookURL == "" {
		// A configured webhook base (a load balancer in front of several gateways) wins.
		s.PointWebhooksAt(s.GatewayURL)
	}
	s.logger.Info("gateway listening", "url", s.GatewayURL)
	return nil
}
