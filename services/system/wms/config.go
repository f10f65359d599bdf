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

// Vendors this service can connect to.
const (
	// VendorWarehouse is a 3PL's REST API with signed webhooks.
	VendorWarehouse = "warehouse"
	// VendorEDI3PL is a 3PL trading EDI X12 files over SFTP.
	VendorEDI3PL = "edi3pl"
)

// DefaultPollInterval is how often the EDI 3PL's inbound folder is polled.
const DefaultPollInterval = 5 * time.Second

// DefaultTimeout bounds one RPC's work against the warehouse when the caller's deadline is later.
const DefaultTimeout = 10 * time.Second

// Config configures the WMS system API.
type Config struct {
	// Vendor selects the connector: "warehouse" or "edi3pl".
	Vendor string
	// Warehouse is used when Vendor is "warehouse".
	Warehouse WarehouseConfig
	// EDI3PL is used when Vendor is "edi3pl".
	EDI3PL EDI3PLConfig
	// Timeout bounds each RPC's warehouse work and each webhook's publishing; DefaultTimeout
	// when zero.
	Timeout time.Duration
}

// WarehouseConfig is how to reach the 3PL's REST API and check its webhooks. The secrets come
// from the environment and are masked when the config is logged or printed.
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

// Validate names every bad field at once.
func (c Config) Validate() error {
	var bad []errs.FieldViolation
	add := func(field, desc string) { bad = append(bad, errs.FieldViolation{Field: field, Description: desc}) }
	if c.Timeout < 0 {
		add("timeout", "must not be negative")
	}
	switch c.Vendor {
	case VendorWarehouse:
		w := c.Warehouse
		if u, err := url.Parse(w.BaseURL); w.BaseURL == "" {
			add("warehouse.base_url", "is required")
		} else if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
			add("warehouse.base_url", "must be an absolute http(s) URL")
		}
		if strings.TrimSpace(w.APIKey) == "" {
			add("warehouse.api_key", "is required")
		}
		if strings.TrimSpace(w.WebhookSecret) == "" {
			add("warehouse.webhook_secret", "is required")
		}
		if w.SignatureTolerance < 0 {
			add("warehouse.signature_tolerance", "must not be negative")
		}
	case VendorEDI3PL:
		bad = append(bad, c.EDI3PL.validate()...)
	case "":
		add("vendor", "is required (RB_WMS_VENDOR selects one of the kind's registered vendors)")
	default:
		add("vendor", fmt.Sprintf("%q is not a registered wms vendor", c.Vendor))
	}
	if len(bad) == 0 {
		return nil
	}
	msgs := make([]string, len(bad))
	for i, f := range bad {
		msgs[i] = f.Field + " " + f.Description
	}
	return errs.E(errs.Invalid, "invalid_config", "wms config: "+strings.Join(msgs, "; ")).WithFields(bad...)
}

func (w WarehouseConfig) connector() warehouse.Config {
	return warehouse.Config{BaseURL: w.BaseURL, APIKey: w.APIKey, WebhookSecret: w.WebhookSecret,
		PreviousWebhookSecret: w.PreviousWebhookSecret, SignatureTolerance: w.SignatureTolerance}
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

func mask(secret string) string {
	if secret == "" {
		return ""
	}
	return "***"
}
