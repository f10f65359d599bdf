package commerce

import (
	"fmt"
	"log/slog"
	"net/url"
	"regexp"
	"strings"

	"github.com/retailbridge/retailbridge/pkg/errs"
	"github.com/retailbridge/retailbridge/services/system/commerce/internal/shopify"
)

// VendorShopify selects the Shopify connector.
const VendorShopify = "shopify"

// DefaultShopifyAPIVersion is the Admin API version when none is configured: the connector's
// documents are validated against its schema.
const DefaultShopifyAPIVersion = shopify.PinnedAPIVersion

// ShopifyConfig locates a Shopify shop: the vendor's Connection.
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

var _ Connection = ShopifyConfig{}

// ShopifyFromEnv reads the Shopify connection through lookup (the deployment's environment):
// SHOPIFY_ADMIN_URL, SHOPIFY_API_VERSION (DefaultShopifyAPIVersion when unset), and the secrets
// SHOPIFY_ACCESS_TOKEN and SHOPIFY_WEBHOOK_SECRET (the app's client secret, which signs
// webhooks). Validate checks the result.
func ShopifyFromEnv(lookup func(string) string) ShopifyConfig {
	c := ShopifyConfig{BaseURL: lookup("SHOPIFY_ADMIN_URL"), APIVersion: lookup("SHOPIFY_API_VERSION"),
		AccessToken: lookup("SHOPIFY_ACCESS_TOKEN"), WebhookSecret: lookup("SHOPIFY_WEBHOOK_SECRET")}
	if c.APIVersion == "" {
		c.APIVersion = DefaultShopifyAPIVersion
	}
	return c
}

// Vendor implements Connection.
func (c ShopifyConfig) Vendor() string { return VendorShopify }

var apiVersion = regexp.MustCompile(`^\d{4}-(0[1-9]|1[0-2])$`)

// withDefaults sets the API version when unset.
func (c ShopifyConfig) withDefaults() ShopifyConfig {
	if c.APIVersion == "" {
		c.APIVersion = DefaultShopifyAPIVersion
	}
	return c
}

// Validate names every bad field (after defaults), as shopify.<field>.
func (c ShopifyConfig) Validate() []errs.FieldViolation {
	c = c.withDefaults()
	var bad []errs.FieldViolation
	add := func(field, desc string) {
		bad = append(bad, errs.FieldViolation{Field: "shopify." + field, Description: desc})
	}
	if u, err := url.Parse(c.BaseURL); c.BaseURL == "" {
		add("base_url", "required")
	} else if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		add("base_url", "must be an absolute http(s) URL")
	}
	if !apiVersion.MatchString(c.APIVersion) {
		add("api_version", "must look like YYYY-MM")
	}
	if strings.TrimSpace(c.AccessToken) == "" {
		add("access_token", "required")
	}
	return bad
}

// Connect builds the Shopify Admin GraphQL connector.
func (c ShopifyConfig) Connect(deps Deps, log *slog.Logger) (Connector, error) {
	c = c.withDefaults()
	return shopify.New(shopify.Config{BaseURL: c.BaseURL, APIVersion: c.APIVersion, AccessToken: c.AccessToken,
		WebhookSecret: c.WebhookSecret}, shopify.Deps{HTTPClient: deps.HTTPClient, Logger: log, Now: deps.Now}), nil
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
