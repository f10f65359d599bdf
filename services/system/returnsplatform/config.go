package returnsplatform

import (
	"fmt"
	"log/slog"
	"net/url"
	"strings"
	"time"

	"github.com/retailbridge/retailbridge/pkg/errs"
	"github.com/retailbridge/retailbridge/services/system/returnsplatform/internal/loop"
)

// Vendors this service can connect to.
const (
	VendorLoop = "loop"
)

// DefaultTimeout bounds one RPC's work against the platform when the caller's deadline is later.
const DefaultTimeout = 10 * time.Second

// Config configures the returns platform system API.
type Config struct {
	// Vendor selects the connector: "loop".
	Vendor string
	// Loop is used when Vendor is "loop".
	Loop LoopConfig
	// Timeout bounds each RPC's platform work and each webhook's publishing; DefaultTimeout when
	// zero.
	Timeout time.Duration
}

// LoopConfig is how to reach the Loop account and check its webhooks. The secrets come from the
// environment and are masked when the config is logged or printed.
type LoopConfig struct {
	// BaseURL is the API origin; https://api.loopreturns.com when empty.
	BaseURL string
	// APIKey is sent in X-Authorization; it needs the returns scope.
	APIKey string
	// WebhookSecret verifies X-Loop-Signature on webhooks.
	WebhookSecret string
	// PreviousWebhookSecret is also accepted while the secret is being rotated; empty otherwise.
	PreviousWebhookSecret string
}

// Validate names every bad field at once.
func (c Config) Validate() error {
	var bad []errs.FieldViolation
	add := func(field, desc string) { bad = append(bad, errs.FieldViolation{Field: field, Description: desc}) }
	if c.Timeout < 0 {
		add("timeout", "must not be negative")
	}
	switch c.Vendor {
	case VendorLoop:
		l := c.Loop
		if strings.TrimSpace(l.APIKey) == "" {
			add("loop.api_key", "is required")
		}
		if strings.TrimSpace(l.WebhookSecret) == "" {
			add("loop.webhook_secret", "is required")
		}
		if l.BaseURL != "" {
			if u, err := url.Parse(l.BaseURL); err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
				add("loop.base_url", "must be an absolute http(s) URL")
			}
		}
	case "":
		add("vendor", "is required (RB_RETURNSPLATFORM_VENDOR selects one of the kind's registered vendors)")
	default:
		add("vendor", fmt.Sprintf("%q is not a registered returnsplatform vendor", c.Vendor))
	}
	if len(bad) == 0 {
		return nil
	}
	msgs := make([]string, len(bad))
	for i, f := range bad {
		msgs[i] = f.Field + " " + f.Description
	}
	return errs.E(errs.Invalid, "invalid_config", "returnsplatform config: "+strings.Join(msgs, "; ")).WithFields(bad...)
}

func (l LoopConfig) connector() loop.Config {
	return loop.Config{BaseURL: l.BaseURL, APIKey: l.APIKey, WebhookSecret: l.WebhookSecret,
		PreviousWebhookSecret: l.PreviousWebhookSecret}
}

// LogValue masks the secrets.
func (l LoopConfig) LogValue() slog.Value {
	return slog.GroupValue(
		slog.String("base_url", l.BaseURL), slog.String("api_key", mask(l.APIKey)),
		slog.String("webhook_secret", mask(l.WebhookSecret)),
		slog.String("previous_webhook_secret", mask(l.PreviousWebhookSecret)),
	)
}

// String masks the secrets, so %v cannot leak them either.
func (l LoopConfig) String() string {
	return fmt.Sprintf("{BaseURL:%s APIKey:%s WebhookSecret:%s PreviousWebhookSecret:%s}",
		l.BaseURL, mask(l.APIKey), mask(l.WebhookSecret), mask(l.PreviousWebhookSecret))
}

func mask(secret string) string {
	if secret == "" {
		return ""
	}
	return "***"
}
