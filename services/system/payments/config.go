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

// Vendors this service can connect to.
const (
	VendorStripe = "stripe"
)

// DefaultTimeout bounds one RPC's work against the payment gateway when the caller's deadline is
// later. It covers the connector's retries of unknown outcomes, so it is longer than one attempt.
const DefaultTimeout = 15 * time.Second

// Config configures the payments system API.
type Config struct {
	// Vendor selects the connector: "stripe".
	Vendor string
	// Stripe is used when Vendor is "stripe".
	Stripe StripeConfig
	// Timeout bounds each RPC's gateway work, retries included, and each webhook's publishing;
	// DefaultTimeout when zero.
	Timeout time.Duration
}

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

// Validate names every bad field at once.
func (c Config) Validate() error {
	var bad []errs.FieldViolation
	add := func(field, desc string) { bad = append(bad, errs.FieldViolation{Field: field, Description: desc}) }
	if c.Timeout < 0 {
		add("timeout", "must not be negative")
	}
	switch c.Vendor {
	case VendorStripe:
		s := c.Stripe
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
	case "":
		add("vendor", "is required (RB_PAYMENTS_VENDOR selects one of the kind's registered vendors)")
	default:
		add("vendor", fmt.Sprintf("%q is not a registered payments vendor", c.Vendor))
	}
	if len(bad) == 0 {
		return nil
	}
	msgs := make([]string, len(bad))
	for i, f := range bad {
		msgs[i] = f.Field + " " + f.Description
	}
	return errs.E(errs.Invalid, "invalid_config", "payments config: "+strings.Join(msgs, "; ")).WithFields(bad...)
}

func (s StripeConfig) connector() stripe.Config {
	return stripe.Config{BaseURL: s.BaseURL, SecretKey: s.SecretKey, MaxConcurrency: s.MaxConcurrency,
		WebhookSecrets: slices.Clone(s.WebhookSecrets), SignatureTolerance: s.SignatureTolerance}
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

// mask hides a key but keeps its kind and mode (sk_test_, rk_live_, whsec_, …), which say which
// account mode a deployment talks to without revealing anything.
func mask(secret string) string {
	if secret == "" {
		return ""
	}
	for _, prefix := range []string{"sk_test_", "sk_live_", "rk_test_", "rk_live_", "whsec_"} {
		if strings.HasPrefix(secret, prefix) {
			return prefix + "***"
		}
	}
	return "***"
}

// maskAll masks each secret of a list, keeping how many there are (two while one is rolled).
func maskAll(secrets []string) string {
	out := make([]string, len(secrets))
	for i, s := range secrets {
		out[i] = mask(s)
	}
	return strings.Join(out, ",")
}
