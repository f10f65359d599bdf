package erp

import (
	"context"
	"fmt"
	"log/slog"
	"net/url"
	"regexp"
	"strconv"
	"strings"
	"time"

	"google.golang.org/grpc"

	"github.com/retailbridge/retailbridge/pkg/errs"
	erpv1 "github.com/retailbridge/retailbridge/pkg/gen/retailbridge/system/erp/v1"
	"github.com/retailbridge/retailbridge/pkg/vendors"
	bcsandbox "github.com/retailbridge/retailbridge/services/sandbox/businesscentral"
	"github.com/retailbridge/retailbridge/services/sandbox/demo"
	"github.com/retailbridge/retailbridge/services/system/erp/internal/businesscentral"
)

// VendorBusinessCentral selects Dynamics 365 Business Central.
const VendorBusinessCentral = "businesscentral"

// bcLocationCode is the form of a Business Central location code (Code[10]).
var bcLocationCode = regexp.MustCompile(`^[A-Z0-9_-]{1,10}$`)

// DefaultBusinessCentralMaxConcurrency is our share of the environment's concurrent requests
// when BUSINESSCENTRAL_MAX_CONCURRENCY is unset.
const DefaultBusinessCentralMaxConcurrency = 10

// BusinessCentralConfig is how to reach the Business Central company. The client secret and the
// webhook client state come from the environment and are masked when logged or printed.
type BusinessCentralConfig struct {
	// BaseURL is the API host; https://api.businesscentral.dynamics.com when empty.
	BaseURL string
	// TokenURL is the Microsoft Entra token endpoint; the tenant's v2.0 endpoint when empty.
	TokenURL string
	// TenantID, Environment and CompanyID name the company.
	TenantID, Environment, CompanyID string
	// ClientID and ClientSecret are the app registration's client credentials.
	ClientID, ClientSecret string
	// Currency is the company's local currency; USD when empty.
	Currency string
	// MaxConcurrency caps requests in flight; DefaultBusinessCentralMaxConcurrency when zero.
	MaxConcurrency int
	// NotificationURL, when set, is where Business Central delivers webhook notifications
	// (Retailbridge's /webhooks/businesscentral); ClientState is their shared secret.
	NotificationURL, ClientState string
	// Locations maps the company's location codes to the ledger's location ids
	// (BUSINESSCENTRAL_LOCATIONS, "CODE=ledger-id,…"; location.go).
	Locations LocationMap
}

// BusinessCentralFromEnv reads the company through lookup: BUSINESSCENTRAL_URL,
// BUSINESSCENTRAL_TOKEN_URL, BUSINESSCENTRAL_TENANT_ID, BUSINESSCENTRAL_ENVIRONMENT,
// BUSINESSCENTRAL_COMPANY_ID, BUSINESSCENTRAL_CLIENT_ID, BUSINESSCENTRAL_MAX_CONCURRENCY,
// BUSINESSCENTRAL_NOTIFICATION_URL and the secrets BUSINESSCENTRAL_CLIENT_SECRET and
// BUSINESSCENTRAL_CLIENT_STATE. A value that does not parse is an error naming its variable;
// Validate checks the rest.
func BusinessCentralFromEnv(lookup func(string) string) (BusinessCentralConfig, error) {
	c := BusinessCentralConfig{BaseURL: lookup("BUSINESSCENTRAL_URL"), TokenURL: lookup("BUSINESSCENTRAL_TOKEN_URL"),
		TenantID: lookup("BUSINESSCENTRAL_TENANT_ID"), Environment: lookup("BUSINESSCENTRAL_ENVIRONMENT"),
		CompanyID: lookup("BUSINESSCENTRAL_COMPANY_ID"), ClientID: lookup("BUSINESSCENTRAL_CLIENT_ID"),
		ClientSecret: lookup("BUSINESSCENTRAL_CLIENT_SECRET"), NotificationURL: lookup("BUSINESSCENTRAL_NOTIFICATION_URL"),
		ClientState: lookup("BUSINESSCENTRAL_CLIENT_STATE"), MaxConcurrency: DefaultBusinessCentralMaxConcurrency}
	if v := lookup("BUSINESSCENTRAL_MAX_CONCURRENCY"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n <= 0 {
			return c, fmt.Errorf("BUSINESSCENTRAL_MAX_CONCURRENCY: %q is not a positive integer", v)
		}
		c.MaxConcurrency = n
	}
	locs, err := ParseLocationMap(lookup("BUSINESSCENTRAL_LOCATIONS"))
	if err != nil {
		return c, fmt.Errorf("BUSINESSCENTRAL_LOCATIONS: %w", err)
	}
	c.Locations = locs
	return c, nil
}

// Validate names every bad field at once.
func (b BusinessCentralConfig) Validate() error {
	var bad []errs.FieldViolation
	b.validate(func(field, desc string) { bad = append(bad, errs.FieldViolation{Field: field, Description: desc}) })
	if len(bad) == 0 {
		return nil
	}
	msgs := make([]string, len(bad))
	for i, f := range bad {
		msgs[i] = f.Field + " " + f.Description
	}
	return errs.E(errs.Invalid, "invalid_config", "erp config: "+strings.Join(msgs, "; ")).WithFields(bad...)
}

// validate adds every bad field to add.
func (b BusinessCentralConfig) validate(add func(field, desc string)) {
	for _, f := range []struct{ name, value string }{
		{"businesscentral.tenant_id", b.TenantID}, {"businesscentral.environment", b.Environment},
		{"businesscentral.company_id", b.CompanyID}, {"businesscentral.client_id", b.ClientID},
		{"businesscentral.client_secret", b.ClientSecret},
	} {
		if strings.TrimSpace(f.value) == "" {
			add(f.name, "is required")
		}
	}
	for _, f := range []struct{ name, value string }{
		{"businesscentral.base_url", b.BaseURL}, {"businesscentral.token_url", b.TokenURL},
		{"businesscentral.notification_url", b.NotificationURL},
	} {
		if f.value == "" {
			continue
		}
		if u, err := url.Parse(f.value); err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
			add(f.name, "must be an absolute http(s) URL")
		}
	}
	for _, f := range b.Locations.problems("businesscentral.locations", bcLocationCode, "a location code (1..10 upper-case letters, digits, - or _)") {
		add(f.Field, f.Description)
	}
	if b.NotificationURL != "" && len(b.ClientState) < 16 {
		add("businesscentral.client_state", "must be at least 16 characters when notifications are on (it is their shared secret)")
	}
	if len(b.ClientState) > 2048 {
		add("businesscentral.client_state", "must be at most 2048 characters")
	}
	if b.Currency != "" && (len(b.Currency) != 3 || strings.ToUpper(b.Currency) != b.Currency) {
		add("businesscentral.currency", "must be an upper-case ISO 4217 code")
	}
	if b.MaxConcurrency < 0 {
		add("businesscentral.max_concurrency", "must not be negative")
	}
}

func (b BusinessCentralConfig) connector() businesscentral.Config {
	return businesscentral.Config{BaseURL: b.BaseURL, TokenURL: b.TokenURL, TenantID: b.TenantID, Environment: b.Environment,
		CompanyID: b.CompanyID, ClientID: b.ClientID, ClientSecret: b.ClientSecret, Currency: b.Currency,
		MaxConcurrency: b.MaxConcurrency, ClientState: b.ClientState}
}

// LogValue masks the secrets.
func (b BusinessCentralConfig) LogValue() slog.Value {
	return slog.GroupValue(
		slog.String("base_url", b.BaseURL), slog.String("token_url", b.TokenURL), slog.String("tenant_id", b.TenantID),
		slog.String("environment", b.Environment), slog.String("company_id", b.CompanyID),
		slog.String("client_id", b.ClientID), slog.String("client_secret", mask(b.ClientSecret)),
		slog.String("notification_url", b.NotificationURL), slog.String("client_state", mask(b.ClientState)),
		slog.String("currency", b.Currency), slog.Int("max_concurrency", b.MaxConcurrency),
	)
}

// String masks the secrets, so %v cannot leak them either.
func (b BusinessCentralConfig) String() string {
	return fmt.Sprintf("{BaseURL:%s TokenURL:%s TenantID:%s Environment:%s CompanyID:%s ClientID:%s ClientSecret:%s NotificationURL:%s ClientState:%s Currency:%s MaxConcurrency:%d}",
		b.BaseURL, b.TokenURL, b.TenantID, b.Environment, b.CompanyID, b.ClientID, mask(b.ClientSecret),
		b.NotificationURL, mask(b.ClientState), b.Currency, b.MaxConcurrency)
}

// checkBusinessCentralEnv names a Business Central setting that does not parse.
func checkBusinessCentralEnv(lookup func(string) string) error {
	_, err := BusinessCentralFromEnv(lookup)
	return err
}

// subscriptionRetry is how soon a failed subscription attempt is made again (the notification
// URL may not answer yet while the gateway starts).
const subscriptionRetry = 2 * time.Second

// serveBusinessCentral builds the service over the company deps.Lookup describes, served with
// FromConnector. With a notification URL the connector's notifications come in through the
// kind's intake (the gateway's /webhooks/businesscentral) and the subscription to sales orders is
// kept alive for the service's lifetime.
func serveBusinessCentral(d vendors.ServiceDeps) (vendors.Service, error) {
	bc, err := BusinessCentralFromEnv(d.Lookup)
	if err != nil {
		return vendors.Service{}, err
	}
	if err := bc.Validate(); err != nil {
		return vendors.Service{}, err
	}
	log := d.Logger
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	client, err := businesscentral.New(bc.connector(), d.HTTPClient, log.With("service", "erp"), time.Now)
	if err != nil {
		return vendors.Service{}, errs.Wrap(err, errs.Invalid, "invalid_config", "erp: "+err.Error())
	}
	deps := Deps{Logger: d.Logger, Now: time.Now, HTTPClient: d.HTTPClient}
	webhooks := bc.NotificationURL != ""
	if webhooks {
		if deps.JetStream, err = d.JetStream(); err != nil {
			return vendors.Service{}, err
		}
		deps.Inbound = client
	}
	svc := FromConnector(VendorBusinessCentral, client, d.Timeout, deps).WithLocations(bc.Locations)
	out := vendors.Service{Events: webhooks, Register: func(r grpc.ServiceRegistrar) { erpv1.RegisterErpServiceServer(r, svc) }}
	if webhooks {
		out.Intake = svc.Intake()
		sub := client.Subscriber(businesscentral.SubscriptionConfig{NotificationURL: bc.NotificationURL, ClientState: bc.ClientState})
		d.Go("businesscentral subscriptions", func(ctx context.Context) error { sub.Run(ctx, subscriptionRetry); return nil })
	}
	return out, nil
}

// businessCentralSandbox serves the Business Central sandbox over the demo world, accepting the
// configured app registration (a random one when unset).
func businessCentralSandbox(d vendors.SandboxDeps) (vendors.Sandbox, error) {
	ds, err := demo.From(d.Demo)
	if err != nil {
		return vendors.Sandbox{}, err
	}
	env := map[string]string{
		"BUSINESSCENTRAL_TENANT_ID":     vendors.Or(d.Lookup, "BUSINESSCENTRAL_TENANT_ID", bcsandbox.DevTenant),
		"BUSINESSCENTRAL_ENVIRONMENT":   vendors.Or(d.Lookup, "BUSINESSCENTRAL_ENVIRONMENT", bcsandbox.DevEnvironment),
		"BUSINESSCENTRAL_COMPANY_ID":    vendors.Or(d.Lookup, "BUSINESSCENTRAL_COMPANY_ID", bcsandbox.DevCompanyID),
		"BUSINESSCENTRAL_CLIENT_ID":     vendors.Or(d.Lookup, "BUSINESSCENTRAL_CLIENT_ID", bcsandbox.DevClientID),
		"BUSINESSCENTRAL_CLIENT_SECRET": vendors.Secret(d.Lookup, "BUSINESSCENTRAL_CLIENT_SECRET", ""),
	}
	opts := bcsandbox.Options{Tenant: env["BUSINESSCENTRAL_TENANT_ID"], Environment: env["BUSINESSCENTRAL_ENVIRONMENT"],
		CompanyID: env["BUSINESSCENTRAL_COMPANY_ID"], ClientID: env["BUSINESSCENTRAL_CLIENT_ID"],
		ClientSecret: env["BUSINESSCENTRAL_CLIENT_SECRET"], Seed: d.Seed, StateDir: d.StateDir}
	if d.Fast {
		opts.NotificationDelay = 100 * time.Millisecond // online Business Central gathers changes for 30 s
	}
	sb, err := bcsandbox.Open(ds, opts)
	if err != nil {
		return vendors.Sandbox{}, err
	}
	url, err := d.ServeHTTP(sb)
	if err != nil {
		sb.Close()
		return vendors.Sandbox{}, err
	}
	env["BUSINESSCENTRAL_URL"], env["BUSINESSCENTRAL_TOKEN_URL"] = url, url+sb.TokenPath()
	// The company's own location codes, mapped to the demo world's ledger ids.
	env["BUSINESSCENTRAL_LOCATIONS"] = vendors.Or(d.Lookup, "BUSINESSCENTRAL_LOCATIONS", LocationMap(bcsandbox.Locations).String())
	return vendors.Sandbox{URL: url, Env: env, Value: sb, Close: sb.Close}, nil
}
