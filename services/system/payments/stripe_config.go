package payments

import (
	"fmt"
	"log/slog"
	"net/url"
	"slices"
	"strings"
	"time"

	"github.com/retailbridge/retailbridge/pkg/errs"
	"github.com/retailbridge/retailbridge/services/system/payments/internal/stripe"
)

// VendorStripe is stripe's registered name.
const VendorStripe = "stripe"

// StripeConfig is how to reach the Stripe account and check its webhooks. The secrets come from
// the environment and are masked when the config is logged or printed.
type StripeConfig struct {
	// BaseURL is the API host; https://api.stripe.com when empty.
	BaseURL string
	// SecretKey is the account's secret (sk_…) or restricted (rk_…) key.
	SecretKey string
	// MaxConcurrency caps requests in flight to Stripe; 20 when zero.
	MaxConcurrency int
	// WebhookSecrets are the webhook endpoint's signing secrets (whsec_…), at least one. A
	// delivery signed with any of them is accepted: list the old and the new secret while one is
	// rolled, then drop the old.
	WebhookSecrets []string
	// SignatureTolerance is how far a webhook signature's timestamp may be from now; older (or
	// newer) deliveries are rejected as replays. stripe.DefaultSignatureTolerance (300 s) when
	// zero.
	SignatureTolerance time.Duration
}

var _ Connection = StripeConfig{}

// StripeFromEnv reads the Stripe account through lookup (the deployment's environment):
// STRIPE_API_URL and the secrets STRIPE_SECRET_KEY and STRIPE_WEBHOOK_SECRET, the webhook
// endpoint's signing secret or a comma-separated list while one is rolled. Validate checks the
// result.
func StripeFromEnv(lookup func(string) string) StripeConfig {
	c := StripeConfig{BaseURL: lookup("STRIPE_API_URL"), SecretKey: lookup("STRIPE_SECRET_KEY")}
	for _, s := range strings.Split(lookup("STRIPE_WEBHOOK_SECRET"), ",") {
		if s = strings.TrimSpace(s); s != "" {
			c.WebhookSecrets = append(c.WebhookSecrets, s)
		}
	}
	return c
}

// Vendor implements Connection.
func (s StripeConfig) Vendor() string { return VendorStripe }

// Validate names every bad field, as stripe.<field>.
func (s StripeConfig) Validate() []errs.FieldViolation {
	var bad []errs.FieldViolation
	add := func(field, desc string) { bad = append(bad, errs.FieldViolation{Field: field, Description: desc}) }
	switch {
	case strings.TrimSpace(s.SecretKey) == "":
		add("stripe.secret_key", "is required")
	case !strings.HasPrefix(s.SecretKey, "sk_") && !strings.HasPrefix(s.SecretKey, "rk_"):
		add("stripe.secret_key", "must be a secret (sk_…) or restricted (rk_…) key, never a publishable one")
	}
	if s.BaseURL != "" {
		if u, err := url.Parse(s.BaseURL); err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
			add("stripe.base_url", "must be an absolute http(s) URL")
		}
	}
	if s.MaxConcurrency < 0 {
		add("stripe.max_concurrency", "must not be negative")
	}
	switch {
	case len(s.WebhookSecrets) == 0:
		add("stripe.webhook_secrets", "is required: the webhook endpoint's signing secret (whsec_…)")
	case slices.ContainsFunc(s.WebhookSecrets, func(v string) bool { return strings.TrimSpace(v) == "" }):
		add("stripe.webhook_secrets", "must not contain an empty secret")
	}
	if s.SignatureTolerance < 0 {
		add("stripe.signature_tolerance", "must not be negative")
	}
	return bad
}

// Connect builds the vendor's connector.
func (s StripeConfig) Connect(deps Deps, log *slog.Logger) (Connector, error) {
	if deps.HTTPClient == nil {
		return nil, errs.E(errs.Invalid, "invalid_deps", "payments: deps.HTTPClient is required")
	}
	return stripe.New(stripe.Config{BaseURL: s.BaseURL, SecretKey: s.SecretKey, MaxConcurrency: s.MaxConcurrency,
		WebhookSecrets: slices.Clone(s.WebhookSecrets), SignatureTolerance: s.SignatureTolerance}, deps.HTTPClient, log, deps.Now)
}

// LogValue masks the secrets.
func (s StripeConfig) LogValue() slog.Value {
	return slog.GroupValue(
		slog.String("base_url", s.BaseURL), slog.String("secret_key", mask(s.SecretKey)),
		slog.Int("max_concurrency", s.MaxConcurrency), slog.String("webhook_secrets", maskAll(s.WebhookSecrets)),
		slog.Duration("signature_tolerance", s.SignatureTolerance),
	)
}

// String masks the secrets, so %v cannot leak them either.
func (s StripeConfig) String() string {
	return fmt.Sprintf("{BaseURL:%s SecretKey:%s MaxConcurrency:%d WebhookSecrets:[%s] SignatureTolerance:%v}",
		s.BaseURL, mask(s.SecretKey), s.MaxConcurrency, maskAll(s.WebhookSecrets), s.SignatureTolerance)
}
