package wms

import (
	"fmt"
	"log/slog"
	"net/url"
	"strings"
	"time"

	"github.com/retailbridge/retailbridge/pkg/errs"
	"github.com/retailbridge/retailbridge/services/system/wms/internal/warehouse"
)

// VendorWarehouse is a 3PL's REST API with signed webhooks.
const VendorWarehouse = "warehouse"

// WarehouseConfig is how to reach the 3PL's REST API and check its webhooks: the vendor's
// Connection. The secrets come from the environment and are masked when the config is logged or
// printed.
type WarehouseConfig struct {
	// BaseURL is the API origin the 3PL gave us.
	BaseURL string
	// APIKey is sent as a bearer token.
	APIKey string
	// WebhookSecret verifies X-Warehouse-Signature on webhooks.
	WebhookSecret string
	// PreviousWebhookSecret is also accepted while the secret is being rotated; empty otherwise.
	PreviousWebhookSecret string
	// SignatureTolerance is how old a webhook signature may be; older deliveries are rejected as
	// replays. warehouse.DefaultSignatureTolerance (5 minutes) when zero.
	SignatureTolerance time.Duration
}

var _ Connection = WarehouseConfig{}

// WarehouseFromEnv reads the 3PL's REST API through lookup (the deployment's environment):
// WAREHOUSE_API_URL and the secrets WAREHOUSE_API_KEY and WAREHOUSE_WEBHOOK_SECRET. Validate
// checks the result.
func WarehouseFromEnv(lookup func(string) string) WarehouseConfig {
	return WarehouseConfig{BaseURL: lookup("WAREHOUSE_API_URL"), APIKey: lookup("WAREHOUSE_API_KEY"),
		WebhookSecret: lookup("WAREHOUSE_WEBHOOK_SECRET")}
}

// Vendor implements Connection.
func (w WarehouseConfig) Vendor() string { return VendorWarehouse }

// Validate names every bad field, as warehouse.<field>.
func (w WarehouseConfig) Validate() []errs.FieldViolation {
	var bad []errs.FieldViolation
	add := func(field, desc string) {
		bad = append(bad, errs.FieldViolation{Field: "warehouse." + field, Description: desc})
	}
	if u, err := url.Parse(w.BaseURL); w.BaseURL == "" {
		add("base_url", "is required")
	} else if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		add("base_url", "must be an absolute http(s) URL")
	}
	if strings.TrimSpace(w.APIKey) == "" {
		add("api_key", "is required")
	}
	if strings.TrimSpace(w.WebhookSecret) == "" {
		add("webhook_secret", "is required")
	}
	if w.SignatureTolerance < 0 {
		add("signature_tolerance", "must not be negative")
	}
	return bad
}

// Connect builds the REST warehouse's connector.
func (w WarehouseConfig) Connect(deps Deps, log *slog.Logger) (Connector, error) {
	if deps.HTTPClient == nil {
		return nil, errs.E(errs.Invalid, "invalid_deps", "wms: deps.HTTPClient is required")
	}
	return warehouse.New(warehouse.Config{BaseURL: w.BaseURL, APIKey: w.APIKey, WebhookSecret: w.WebhookSecret,
		PreviousWebhookSecret: w.PreviousWebhookSecret, SignatureTolerance: w.SignatureTolerance}, deps.HTTPClient, log, deps.Now)
}

// LogValue masks the secrets.
func (w WarehouseConfig) LogValue() slog.Value {
	return slog.GroupValue(
		slog.String("base_url", w.BaseURL), slog.String("api_key", mask(w.APIKey)),
		slog.String("webhook_secret", mask(w.WebhookSecret)),
		slog.String("previous_webhook_secret", mask(w.PreviousWebhookSecret)),
		slog.Duration("signature_tolerance", w.SignatureTolerance),
	)
}

// String masks the secrets, so %v cannot leak them either.
func (w WarehouseConfig) String() string {
	return fmt.Sprintf("{BaseURL:%s APIKey:%s WebhookSecret:%s PreviousWebhookSecret:%s SignatureTolerance:%v}",
		w.BaseURL, mask(w.APIKey), mask(w.WebhookSecret), mask(w.PreviousWebhookSecret), w.SignatureTolerance)
}
