package returnsplatform

import (
	"fmt"
	"log/slog"
	"net/url"
	"strings"

	"github.com/retailbridge/retailbridge/pkg/errs"
	"github.com/retailbridge/retailbridge/services/system/returnsplatform/internal/loop"
)

// VendorLoop is loop's registered name.
const VendorLoop = "loop"

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

var _ Connection = LoopConfig{}

// LoopFromEnv reads the returns platform through lookup (the deployment's environment):
// LOOP_API_URL and the secrets LOOP_API_KEY and LOOP_WEBHOOK_SECRET. Validate checks the result.
func LoopFromEnv(lookup func(string) string) LoopConfig {
	return LoopConfig{BaseURL: lookup("LOOP_API_URL"), APIKey: lookup("LOOP_API_KEY"), WebhookSecret: lookup("LOOP_WEBHOOK_SECRET")}
}

// Vendor implements Connection.
func (l LoopConfig) Vendor() string { return VendorLoop }

// Validate names every bad field, as loop.<field>.
func (l LoopConfig) Validate() []errs.FieldViolation {
	var bad []errs.FieldViolation
	add := func(field, desc string) { bad = append(bad, errs.FieldViolation{Field: field, Description: desc}) }
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
	return bad
}

// Connect builds the vendor's connector.
func (l LoopConfig) Connect(deps Deps, log *slog.Logger) (Connector, error) {
	if deps.HTTPClient == nil {
		return nil, errs.E(errs.Invalid, "invalid_deps", "returnsplatform: deps.HTTPClient is required")
	}
	return loop.New(l.connector(), deps.HTTPClient, log, deps.Now)
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
