package commerce

import (
	"fmt"
	"log/slog"
	"net/url"
	"regexp"
	"strings"
	"time"

	"github.com/retailbridge/retailbridge/pkg/errs"
	"github.com/retailbridge/retailbridge/services/system/commerce/internal/shopify"
)

// Defaults applied by New to zero config fields.
const (
	DefaultVendor            = VendorShopify
	DefaultShopifyAPIVersion = shopify.PinnedAPIVersion // the connector's documents are validated against its schema
	DefaultTimeout           = 10 * time.Second
)

// VendorShopify selects the Shopify connector.
const VendorShopify = "shopify"

// Config configures the service.
type Config struct {
	// Vendor names the storefront platform; only "shopify" exists (DefaultVendor).
	Vendor string
	// Shopify locates the shop when Vendor is "shopify".
	Shopify ShopifyConfig
	// Timeout bounds each RPC's calls to the platform when the caller's deadline is later
	// (DefaultTimeout).
	Timeout time.Duration
}

// ShopifyConfig locates a Shopify shop.
type ShopifyConfig struct {
	// BaseURL is the shop's origin, for example https://example.myshopify.com.
	BaseURL string
	// APIVersion is the Admin API version, YYYY-MM (DefaultShopifyAPIVersion).
	APIVersion string
	// AccessToken is the Admin API access token; a secret, from the environment only.
	AccessToken string
	// WebhookSecret is the app's client secret, with which Shopify signs webhooks; a secret, from
	// the environment only. Without it IngestWebhook refuses every delivery.
	WebhookSecret string
}

// String masks the secrets, so printing the config never leaks them.
func (c ShopifyConfig) String() string {
	return fmt.Sprintf("{BaseURL:%s APIVersion:%s AccessToken:%s WebhookSecret:%s}", c.BaseURL, c.APIVersion,
		mask(c.AccessToken), mask(c.WebhookSecret))
}

// LogValue masks the secrets in structured logs.
func (c ShopifyConfig) LogValue() slog.Value {
	return slog.GroupValue(slog.String("base_url", c.BaseURL), slog.String("api_version", c.APIVersion),
		slog.String("access_token", mask(c.AccessToken)), slog.String("webhook_secret", mask(c.WebhookSecret)))
}

func mask(secret string) string {
	if secret == "" {
		return ""
	}
	return "********"
}

// WithDefaults returns c with zero fields set to their defaults.
func (c Config) WithDefaults() Config {
	if c.Vendor == "" {
		c.Vendor = DefaultVendor
	}
	if c.Shopify.APIVersion == "" {
		c.Shopify.APIVersion = DefaultShopifyAPIVersion
	}
	if c.Timeout == 0 {
		c.Timeout = DefaultTimeout
	}
	return c
}

var apiVersion = regexp.MustCompile(`^\d{4}-(0[1-9]|1[0-2])$`)

// Validate checks c after defaults and names every bad field at once, as an errs.Invalid
// error with one field violation per problem.
func (c Config) Validate() error {
	c = c.WithDefaults()
	var bad []errs.FieldViolation
	add := func(field, desc string) { bad = append(bad, errs.FieldViolation{Field: field, Description: desc}) }
	if c.Vendor != VendorShopify {
		add("vendor", fmt.Sprintf("%q is not a registered commerce vendor", c.Vendor))
	}
	if c.Timeout < 0 {
		add("timeout", "must not be negative")
	}
	if c.Vendor == VendorShopify {
		if u, err := url.Parse(c.Shopify.BaseURL); c.Shopify.BaseURL == "" {
			add("shopify.base_url", "required")
		} else if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
			add("shopify.base_url", "must be an absolute http(s) URL")
		}
		if !apiVersion.MatchString(c.Shopify.APIVersion) {
			add("shopify.api_version", "must look like YYYY-MM")
		}
		if strings.TrimSpace(c.Shopify.AccessToken) == "" {
			add("shopify.access_token", "required")
		}
	}
	if len(bad) == 0 {
		return nil
	}
	msgs := make([]string, len(bad))
	for i, v := range bad {
		msgs[i] = v.Field + ": " + v.Description
	}
	return errs.E(errs.Invalid, "invalid_config", "commerce config: "+strings.Join(msgs, "; ")).WithFields(bad...)
}
