// Package config loads Retailbridge's typed configuration from the environment, applies
// defaults and validates it, naming every bad field at once. Secrets are read from the
// environment only and are masked whenever the configuration is logged.
package config

import (
	"encoding/base64"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/url"
	"strconv"
	"strings"
	"time"
)

// Config is the configuration of every Retailbridge service.
type Config struct {
	HTTPAddr        string // RB_HTTP_ADDR: gateway listen address
	DataDir         string // RB_DATA_DIR: state, keys and the embedded stores
	LogLevel        string // RB_LOG_LEVEL: debug, info, warn, error
	RedisURL        string // REDIS_URL: external Redis; empty in dev = embedded server
	NATSURL         string // NATS_URL: external NATS; empty in dev = embedded JetStream
	DatabaseURL     string // DATABASE_URL: PostgreSQL; empty = SQLite files under the data directory
	ReturnPolicy    string // RB_RETURN_POLICY: policy file; empty = the built-in default
	ReturnsLocation string // RB_RETURNS_LOCATION: warehouse location id that receives mailed returns (default: the demo warehouse's "dc-east")
	// OrderWarehouse (RB_ORDER_WAREHOUSE_LOCATION) is the location ship-to-home orders ship from
	// when the OMS does not route them (default "dc-east").
	OrderWarehouse string
	// OrderAckSLA (RB_ORDER_ACK_SLA) is how long the warehouse has to acknowledge a shipping order
	// before the order is escalated, once (default 4h).
	OrderAckSLA       time.Duration
	TraceSampleRatio  float64       // RB_TRACE_SAMPLE_RATIO: share of new traces recorded (ids always propagate)
	RequestTimeout    time.Duration // RB_REQUEST_TIMEOUT: deadline of a gateway request across all hops
	OrderTTL          time.Duration // RB_ORDER_TTL: freshness of the order read model
	OrderPollInterval time.Duration // RB_ORDER_POLL_INTERVAL: how often the order store's repair poller reads changed orders (default 1m)
	OrderPollOverlap  time.Duration // RB_ORDER_POLL_OVERLAP: how far behind its watermark each repair poll starts (clock skew; default 2m)
	OrderBackfill     bool          // RB_ORDER_BACKFILL: the order store's first poll sweeps the whole shop (default false: it fills per listing)
	// Settlement (the orders service matches the payment platform's payouts to orders).
	SettlementInterval time.Duration // RB_SETTLEMENT_INTERVAL: how often settlement runs (default 1h)
	SettlementFee      string        // RB_SETTLEMENT_FEE: contracted fee per charge, "<basis points>bp+<fixed minor units>" (default 290bp+30)
	SettlementGrace    time.Duration // RB_SETTLEMENT_GRACE: how long after an order its payment must be in a payout (default 168h)
	SettlementLookback time.Duration // RB_SETTLEMENT_LOOKBACK: how far back orders are matched and checked (default 720h)
	ItemTTL            time.Duration // RB_ITEM_TTL: freshness of the item read model
	ReservationTTL     time.Duration // RB_RESERVATION_TTL: how long an inventory hold lasts unless the caller asks otherwise
	Channels           string        // RB_INVENTORY_CHANNELS: sales channel file (locations, in-transit, buffers); empty = the built-in channels
	Tenants            string        // RB_TENANTS: partner tenant directory file; empty = the built-in directory
	AuthConfig         string        // RB_AUTH_CONFIG: identity file (issuers, keys, clients); empty = <data>/auth.yaml if present, else dev defaults
	CORSOrigins        []string      // RB_CORS_ORIGINS: comma-separated storefront origins allowed to call from browsers
	RateLimits         string        // RB_RATE_LIMITS: rate-limit policy file; empty = the built-in policies
	PprofAddr          string        // RB_PPROF_ADDR: loopback address for net/http/pprof; empty = off
	// AllowEmbedded (RB_ALLOW_EMBEDDED=true, or serve --embedded) lets `serve` stand in an
	// embedded NATS, Redis or SQLite file for a missing NATS_URL, REDIS_URL or DATABASE_URL: a
	// single-machine trial only, since replicas would each get their own state.
	AllowEmbedded bool
	// HealthInterval (RB_HEALTH_INTERVAL) is how often each gRPC service re-checks its
	// dependencies (database, bus, the services it calls) for its health status.
	HealthInterval time.Duration
	// StreamReplicas is RB_STREAM_REPLICAS: copies of every JetStream stream and bucket the
	// services create or ensure (1 for the embedded single node, 3 on a cluster). Startup only
	// ever raises an existing stream to it, never lowers one (docs/events.md).
	StreamReplicas int
	// InventoryPush (RB_INVENTORY_PUSH_LOCATIONS, "ledger-location=storefront-location-id,…")
	// maps the ledger's locations to the storefront's; empty turns the storefront push off.
	InventoryPush map[string]string
	// InventoryPushChannel (RB_INVENTORY_PUSH_CHANNEL, default web) is the sales channel whose
	// available-to-sell is pushed.
	InventoryPushChannel string

	Token TokenConfig
	Addrs ServiceAddrs
	// Listen (RB_<SERVICE>_LISTEN_ADDR, e.g. RB_RETURNS_LISTEN_ADDR) is where this process serves
	// a service when that differs from the address others dial: a replica listed second in
	// RB_RETURNS_ADDR, or ":9203" on every interface. Empty: derived from Addrs.
	Listen    ServiceAddrs
	Sandboxes SandboxConfig
	// Console configures the operations console (console.go).
	Console ConsoleConfig
	// VendorRoutes (RB_VENDOR_ROUTES, "wms:tenant:acme=edi3pl,erp:channel:web=businesscentral")
	// send a tenant's or a sales channel's calls of a system kind to another of its registered
	// vendors than the kind's default (RB_<KIND>_VENDOR); vendorroutes.go. The stack checks the
	// kinds and vendors against the registries.
	VendorRoutes []VendorRoute
	// Env is the lookup Load read the environment through. Settings that a system kind or a
	// vendor owns (RB_<KIND>_VENDOR, RB_WEBHOOK_DEDUP_<VENDOR>, RB_GOVERNOR_<VENDOR>, and each
	// vendor's connection such as SHOPIFY_ADMIN_URL, read by its kind's package) are read
	// through it, via Lookup,
	// by the code that owns the kind's vendor registry, so adding a vendor adds nothing here.
	Env func(string) string
}

// Lookup reads key, trimmed, from the environment Load read; "" when unset or when the
// configuration was not loaded from an environment.
func (c Config) Lookup(key string) string {
	if c.Env == nil {
		return ""
	}
	return strings.TrimSpace(c.Env(key))
}

// SandboxConfig places the vendor sandboxes `serve sandboxes` runs.
type SandboxConfig struct {
	// Each sandbox's address (RB_SANDBOX_<VENDOR>_ADDR) is read with its vendor's registry
	// entry (internal/stack/kinds.go), which holds the default.
	// WebhookURL (RB_SANDBOX_WEBHOOK_URL) is the base URL the sandboxes deliver webhooks to:
	// the gateway, or the load balancer in front of several (…/webhooks/{vendor} is appended).
	// Empty: a gateway in the same process, else no webhooks.
	WebhookURL string
}

// TokenConfig names the storefront token issuer.
type TokenConfig struct {
	Issuer             string // RB_TOKEN_ISSUER
	StorefrontAudience string // RB_STOREFRONT_AUDIENCE
	SigningKeyFile     string // RB_SIGNING_KEY_FILE: Ed25519 PKCS#8 PEM; default <data>/keys/storefront.pem
	// KeyEncryptionKey is RB_KEY_ENCRYPTION_KEY (secret): base64 of 32 bytes sealing the signing
	// keys in the identity store with AES-256-GCM; empty stores them unencrypted.
	KeyEncryptionKey string
}

// ServiceAddrs are the gRPC addresses services listen on and dial (serve mode). Each may list
// several replicas, comma-separated ("10.0.0.5:9203,10.0.0.6:9203"), or name a DNS name that
// resolves to several ("dns:///returns.internal:9203"); clients balance round-robin over them.
// A service listens on the first entry (a DNS target: on its port), unless Config.Listen says.
type ServiceAddrs struct {
	Commerce        string // RB_COMMERCE_ADDR
	ERP             string // RB_ERP_ADDR
	Orders          string // RB_ORDERS_ADDR
	Inventory       string // RB_INVENTORY_ADDR
	Returns         string // RB_RETURNS_ADDR
	Payments        string // RB_PAYMENTS_ADDR
	ReturnsPlatform string // RB_RETURNSPLATFORM_ADDR
	WMS             string // RB_WMS_ADDR
	OMS             string // RB_OMS_ADDR
}

// Load reads the configuration through getenv and validates it.
func Load(getenv func(string) string) (Config, error) {
	r := reader{getenv: getenv}
	c := Config{
		HTTPAddr:           r.str("RB_HTTP_ADDR", "127.0.0.1:8080"),
		DataDir:            r.str("RB_DATA_DIR", "data"),
		LogLevel:           r.str("RB_LOG_LEVEL", "info"),
		RedisURL:           r.str("REDIS_URL", ""),
		NATSURL:            r.str("NATS_URL", ""),
		DatabaseURL:        r.str("DATABASE_URL", ""),
		ReturnPolicy:       r.str("RB_RETURN_POLICY", ""),
		ReturnsLocation:    r.str("RB_RETURNS_LOCATION", "dc-east"),
		OrderWarehouse:     r.str("RB_ORDER_WAREHOUSE_LOCATION", "dc-east"),
		OrderAckSLA:        r.duration("RB_ORDER_ACK_SLA", 4*time.Hour),
		TraceSampleRatio:   r.float("RB_TRACE_SAMPLE_RATIO", 0.1),
		RequestTimeout:     r.duration("RB_REQUEST_TIMEOUT", 5*time.Second),
		OrderTTL:           r.duration("RB_ORDER_TTL", 30*time.Second),
		OrderPollInterval:  r.duration("RB_ORDER_POLL_INTERVAL", time.Minute),
		OrderPollOverlap:   r.duration("RB_ORDER_POLL_OVERLAP", 2*time.Minute),
		OrderBackfill:      r.bool("RB_ORDER_BACKFILL", false),
		SettlementInterval: r.duration("RB_SETTLEMENT_INTERVAL", time.Hour),
		SettlementFee:      r.str("RB_SETTLEMENT_FEE", "290bp+30"),
		SettlementGrace:    r.duration("RB_SETTLEMENT_GRACE", 7*24*time.Hour),
		SettlementLookback: r.duration("RB_SETTLEMENT_LOOKBACK", 30*24*time.Hour),
		ItemTTL:            r.duration("RB_ITEM_TTL", 10*time.Minute),
		ReservationTTL:     r.duration("RB_RESERVATION_TTL", 15*time.Minute),
		Channels:           r.str("RB_INVENTORY_CHANNELS", ""),
		Tenants:            r.str("RB_TENANTS", ""),
		AuthConfig:         r.str("RB_AUTH_CONFIG", ""),
		CORSOrigins:        splitList(r.str("RB_CORS_ORIGINS", "")),
		RateLimits:         r.str("RB_RATE_LIMITS", ""),
		PprofAddr:          r.str("RB_PPROF_ADDR", ""),
		AllowEmbedded:      r.bool("RB_ALLOW_EMBEDDED", false),
		HealthInterval:     r.duration("RB_HEALTH_INTERVAL", 2*time.Second),
		StreamReplicas:     r.int("RB_STREAM_REPLICAS", 1),
		Token: TokenConfig{
			Issuer:             r.str("RB_TOKEN_ISSUER", "retailbridge-dev"),
			StorefrontAudience: r.str("RB_STOREFRONT_AUDIENCE", "retailbridge-storefront"),
			SigningKeyFile:     r.str("RB_SIGNING_KEY_FILE", ""),
			KeyEncryptionKey:   r.str("RB_KEY_ENCRYPTION_KEY", ""),
		},
		Addrs: ServiceAddrs{
			Commerce:        r.str("RB_COMMERCE_ADDR", "127.0.0.1:9101"),
			ERP:             r.str("RB_ERP_ADDR", "127.0.0.1:9102"),
			Orders:          r.str("RB_ORDERS_ADDR", "127.0.0.1:9201"),
			Inventory:       r.str("RB_INVENTORY_ADDR", "127.0.0.1:9202"),
			Returns:         r.str("RB_RETURNS_ADDR", "127.0.0.1:9203"),
			Payments:        r.str("RB_PAYMENTS_ADDR", "127.0.0.1:9104"),
			ReturnsPlatform: r.str("RB_RETURNSPLATFORM_ADDR", "127.0.0.1:9105"),
			WMS:             r.str("RB_WMS_ADDR", "127.0.0.1:9106"),
			OMS:             r.str("RB_OMS_ADDR", "127.0.0.1:9107"),
		},
		Listen:    readListen(&r),
		Sandboxes: readSandboxes(&r),
		Console:   readConsole(&r),
		Env:       getenv,
	}
	c.VendorRoutes = ParseVendorRoutes(r.str("RB_VENDOR_ROUTES", ""))
	c.InventoryPush = pairs(r.str("RB_INVENTORY_PUSH_LOCATIONS", ""))
	c.InventoryPushChannel = r.str("RB_INVENTORY_PUSH_CHANNEL", "web")
	if err := errors.Join(append(r.errs, c.Validate())...); err != nil {
		return c, err
	}
	return c, nil
}

// readListen reads the RB_<SERVICE>_LISTEN_ADDR overrides.
func readListen(r *reader) ServiceAddrs {
	return ServiceAddrs{
		Commerce: r.str("RB_COMMERCE_LISTEN_ADDR", ""), ERP: r.str("RB_ERP_LISTEN_ADDR", ""),
		Orders: r.str("RB_ORDERS_LISTEN_ADDR", ""), Inventory: r.str("RB_INVENTORY_LISTEN_ADDR", ""),
		Returns: r.str("RB_RETURNS_LISTEN_ADDR", ""), Payments: r.str("RB_PAYMENTS_LISTEN_ADDR", ""),
		ReturnsPlatform: r.str("RB_RETURNSPLATFORM_LISTEN_ADDR", ""), WMS: r.str("RB_WMS_LISTEN_ADDR", ""),
		OMS: r.str("RB_OMS_LISTEN_ADDR", ""),
	}
}

// readSandboxes reads where `serve sandboxes` listens and delivers webhooks.
func readSandboxes(r *reader) SandboxConfig {
	return SandboxConfig{
		WebhookURL: strings.TrimRight(r.str("RB_SANDBOX_WEBHOOK_URL", ""), "/"),
	}
}

// Validate names every bad field at once.
func (c Config) Validate() error {
	var bad []string
	add := func(field, msg string) { bad = append(bad, field+": "+msg) }
	bad = append(bad, c.badAddrs()...)
	bad = append(bad, c.Console.badConsole()...)
	for _, o := range c.CORSOrigins {
		if u, err := url.Parse(o); err != nil || u.Scheme == "" || u.Host == "" || u.Path != "" {
			add("RB_CORS_ORIGINS", fmt.Sprintf("%q is not an origin (scheme://host[:port])", o))
		}
	}
	if c.PprofAddr != "" {
		if host, _, err := net.SplitHostPort(c.PprofAddr); err != nil || (host != "127.0.0.1" && host != "localhost" && host != "::1") {
			add("RB_PPROF_ADDR", "must be a loopback host:port")
		}
	}
	if c.DataDir == "" {
		add("RB_DATA_DIR", "must not be empty")
	}
	if k := c.Token.KeyEncryptionKey; k != "" && !isKey256(k) {
		add("RB_KEY_ENCRYPTION_KEY", "must be the base64 of 32 random bytes (openssl rand -base64 32)")
	}
	switch c.LogLevel {
	case "debug", "info", "warn", "error":
	default:
		add("RB_LOG_LEVEL", fmt.Sprintf("%q is not one of debug, info, warn, error", c.LogLevel))
	}
	for field, u := range map[string]string{"REDIS_URL": c.RedisURL, "NATS_URL": c.NATSURL, "DATABASE_URL": c.DatabaseURL,
		"RB_SANDBOX_WEBHOOK_URL": c.Sandboxes.WebhookURL} {
		if u == "" {
			continue
		}
		if pu, err := url.Parse(u); err != nil || pu.Scheme == "" || pu.Host == "" {
			add(field, fmt.Sprintf("%q is not an absolute URL", u))
		}
	}
	if c.TraceSampleRatio < 0 || c.TraceSampleRatio > 1 {
		add("RB_TRACE_SAMPLE_RATIO", "must be between 0 and 1")
	}
	for field, d := range map[string]time.Duration{"RB_REQUEST_TIMEOUT": c.RequestTimeout, "RB_ORDER_TTL": c.OrderTTL, "RB_ITEM_TTL": c.ItemTTL,
		"RB_RESERVATION_TTL": c.ReservationTTL, "RB_ORDER_POLL_OVERLAP": c.OrderPollOverlap} {
		if d < 0 {
			add(field, "must not be negative")
		}
	}
	bad = append(bad, c.badOrderToCash()...)
	bad = append(bad, badVendorRoutes(c.VendorRoutes)...)
	if c.HealthInterval <= 0 {
		add("RB_HEALTH_INTERVAL", "must be positive")
	}
	if l := c.ReturnsLocation; l == "" || strings.TrimSpace(l) != l || len(l) > 256 {
		add("RB_RETURNS_LOCATION", fmt.Sprintf("%q: a warehouse location id is required, without surrounding spaces, at most 256 characters", l))
	}
	if c.RequestTimeout == 0 {
		add("RB_REQUEST_TIMEOUT", "must be positive")
	}
	if c.StreamReplicas < 1 || c.StreamReplicas > 5 {
		add("RB_STREAM_REPLICAS", fmt.Sprintf("%d is not between 1 and 5 (JetStream's range)", c.StreamReplicas))
	} else if c.StreamReplicas > 1 && c.NATSURL == "" {
		add("RB_STREAM_REPLICAS", "more than one replica needs a NATS cluster (NATS_URL); the embedded server is a single node")
	}
	if c.Token.Issuer == "" || c.Token.StorefrontAudience == "" {
		add("RB_TOKEN_ISSUER/RB_STOREFRONT_AUDIENCE", "must not be empty")
	}
	if len(bad) == 0 {
		return nil
	}
	return fmt.Errorf("invalid configuration:\n  %s", strings.Join(bad, "\n  "))
}

// badOrderToCash names every bad order-store, inventory-push and settlement setting.
func (c Config) badOrderToCash() []string {
	var bad []string
	add := func(field, msg string) { bad = append(bad, field+": "+msg) }
	for k, v := range c.InventoryPush {
		if k == "" || v == "" {
			add("RB_INVENTORY_PUSH_LOCATIONS", fmt.Sprintf("%q=%q: each entry is ledger-location=storefront-location-id", k, v))
		}
	}
	if c.InventoryPushChannel == "" && len(c.InventoryPush) > 0 {
		add("RB_INVENTORY_PUSH_CHANNEL", "must not be empty when RB_INVENTORY_PUSH_LOCATIONS is set")
	}
	if c.OrderPollInterval <= 0 {
		add("RB_ORDER_POLL_INTERVAL", "must be positive")
	}
	for field, d := range map[string]time.Duration{"RB_SETTLEMENT_INTERVAL": c.SettlementInterval,
		"RB_SETTLEMENT_GRACE": c.SettlementGrace, "RB_SETTLEMENT_LOOKBACK": c.SettlementLookback} {
		if d <= 0 {
			add(field, "must be positive")
		}
	}
	if c.SettlementLookback > 0 && c.SettlementLookback < c.SettlementGrace {
		add("RB_SETTLEMENT_LOOKBACK", "must not be shorter than RB_SETTLEMENT_GRACE")
	}
	if _, _, err := c.SettlementFees(); err != nil {
		add("RB_SETTLEMENT_FEE", err.Error())
	}
	return bad
}

// badAddrs names every listen and service address that does not parse.
func (c Config) badAddrs() []string {
	var bad []string
	add := func(field, msg string) { bad = append(bad, field+": "+msg) }
	for field, addr := range map[string]string{"RB_HTTP_ADDR": c.HTTPAddr} {
		if _, _, err := net.SplitHostPort(addr); err != nil {
			add(field, fmt.Sprintf("%q is not host:port", addr))
		}
	}
	for field, addrs := range map[string]string{"RB_COMMERCE_ADDR": c.Addrs.Commerce,
		"RB_ERP_ADDR": c.Addrs.ERP, "RB_ORDERS_ADDR": c.Addrs.Orders, "RB_INVENTORY_ADDR": c.Addrs.Inventory, "RB_RETURNS_ADDR": c.Addrs.Returns,
		"RB_PAYMENTS_ADDR": c.Addrs.Payments, "RB_RETURNSPLATFORM_ADDR": c.Addrs.ReturnsPlatform, "RB_WMS_ADDR": c.Addrs.WMS, "RB_OMS_ADDR": c.Addrs.OMS} {
		if _, err := ParseServiceAddr(addrs); err != nil {
			add(field, err.Error())
		}
	}
	for field, addr := range map[string]string{"RB_COMMERCE_LISTEN_ADDR": c.Listen.Commerce, "RB_ERP_LISTEN_ADDR": c.Listen.ERP,
		"RB_ORDERS_LISTEN_ADDR": c.Listen.Orders, "RB_INVENTORY_LISTEN_ADDR": c.Listen.Inventory, "RB_RETURNS_LISTEN_ADDR": c.Listen.Returns,
		"RB_PAYMENTS_LISTEN_ADDR": c.Listen.Payments, "RB_RETURNSPLATFORM_LISTEN_ADDR": c.Listen.ReturnsPlatform, "RB_WMS_LISTEN_ADDR": c.Listen.WMS,
		"RB_OMS_LISTEN_ADDR": c.Listen.OMS} {
		if _, _, err := net.SplitHostPort(addr); addr != "" && err != nil {
			add(field, fmt.Sprintf("%q is not host:port", addr))
		}
	}
	return bad
}

// LogValue masks secrets when the configuration is logged.
func (c Config) LogValue() slog.Value {
	mask := func(s string) string {
		if s == "" {
			return ""
		}
		return "***"
	}
	return slog.GroupValue(
		slog.String("http_addr", c.HTTPAddr), slog.String("data_dir", c.DataDir),
		slog.String("redis_url", redactURL(c.RedisURL)), slog.String("nats_url", redactURL(c.NATSURL)),
		slog.String("database_url", redactURL(c.DatabaseURL)),
		slog.Duration("order_ttl", c.OrderTTL), slog.Duration("order_poll_interval", c.OrderPollInterval), slog.Duration("item_ttl", c.ItemTTL), slog.Duration("reservation_ttl", c.ReservationTTL), slog.String("inventory_channels", c.Channels),
		slog.String("tenants", c.Tenants), slog.String("key_encryption_key", mask(c.Token.KeyEncryptionKey)),
	)
}

func redactURL(s string) string {
	u, err := url.Parse(s)
	if err != nil || u.User == nil {
		return s
	}
	return u.Redacted()
}

type reader struct {
	getenv func(string) string
	errs   []error
}

func (r *reader) str(key, def string) string {
	if v := strings.TrimSpace(r.getenv(key)); v != "" {
		return v
	}
	return def
}

func (r *reader) bool(key string, def bool) bool {
	v := r.str(key, "")
	if v == "" {
		return def
	}
	b, err := strconv.ParseBool(v)
	if err != nil {
		r.errs = append(r.errs, fmt.Errorf("%s: %q is not true or false", key, v))
		return def
	}
	return b
}

func (r *reader) int(key string, def int) int {
	v := r.str(key, "")
	if v == "" {
		return def
	}
	n, err := strconv.Atoi(v)
	if err != nil {
		r.errs = append(r.errs, fmt.Errorf("%s: %q is not an integer", key, v))
		return def
	}
	return n
}

func (r *reader) float(key string, def float64) float64 {
	v := r.str(key, "")
	if v == "" {
		return def
	}
	f, err := strconv.ParseFloat(v, 64)
	if err != nil {
		r.errs = append(r.errs, fmt.Errorf("%s: %q is not a number", key, v))
		return def
	}
	return f
}

func (r *reader) duration(key string, def time.Duration) time.Duration {
	v := r.str(key, "")
	if v == "" {
		return def
	}
	d, err := time.ParseDuration(v)
	if err != nil {
		r.errs = append(r.errs, fmt.Errorf("%s: %q is not a duration (e.g. 30s, 5m)", key, v))
		return def
	}
	return d
}

// pairs parses "a=b,c=d"; an entry without "=" keeps an empty value, for Validate to name.
func pairs(s string) map[string]string {
	out := map[string]string{}
	for _, kv := range splitList(s) {
		k, v, _ := strings.Cut(kv, "=")
		out[strings.TrimSpace(k)] = strings.TrimSpace(v)
	}
	return out
}

func splitList(s string) []string {
	var out []string
	for _, v := range strings.Split(s, ",") {
		if v = strings.TrimSpace(v); v != "" {
			out = append(out, v)
		}
	}
	return out
}

// isKey256 reports whether k is the base64 (standard or URL alphabet, padded or not) of 32 bytes.
func isKey256(k string) bool {
	for _, enc := range []*base64.Encoding{base64.StdEncoding, base64.RawStdEncoding, base64.URLEncoding, base64.RawURLEncoding} {
		if b, err := enc.DecodeString(strings.TrimSpace(k)); err == nil {
			return len(b) == 32
		}
	}
	return false
}

// SettlementFees parses RB_SETTLEMENT_FEE, "<basis points>bp+<fixed minor units>" such as
// "290bp+30" (2.9 % plus 30 cents); "290bp" and "0bp+30" are accepted too.
func (c Config) SettlementFees() (basisPoints, fixed int64, err error) {
	bad := fmt.Errorf("%q is not <basis points>bp+<fixed minor units>, e.g. 290bp+30", c.SettlementFee)
	bp, rest, ok := strings.Cut(c.SettlementFee, "bp")
	if !ok {
		return 0, 0, bad
	}
	if basisPoints, err = strconv.ParseInt(bp, 10, 64); err != nil || basisPoints < 0 || basisPoints > 10000 {
		return 0, 0, bad
	}
	if rest == "" {
		return basisPoints, 0, nil
	}
	fx, ok := strings.CutPrefix(rest, "+")
	if !ok {
		return 0, 0, bad
	}
	if fixed, err = strconv.ParseInt(fx, 10, 64); err != nil || fixed < 0 {
		return 0, 0, bad
	}
	return basisPoints, fixed, nil
}
