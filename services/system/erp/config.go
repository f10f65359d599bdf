package erp

import (
	"fmt"
	"log/slog"
	"net/url"
	"strings"
	"time"

	"github.com/retailbridge/retailbridge/pkg/errs"
	"github.com/retailbridge/retailbridge/services/system/erp/internal/netsuite"
)

// Vendors this service can connect to.
const (
	VendorNetSuite = "netsuite"
)

// DefaultTimeout bounds one RPC's work against the ERP when the caller's deadline is later.
const DefaultTimeout = 10 * time.Second

// Config configures the ERP system API.
type Config struct {
	// Vendor selects the connector: "netsuite" (other vendors are served with FromConnector).
	Vendor string
	// NetSuite is used when Vendor is "netsuite".
	NetSuite NetSuiteConfig
	// Timeout bounds each RPC's ERP work; DefaultTimeout when zero.
	Timeout time.Duration
}

// NetSuiteConfig is how to reach the NetSuite account. The secrets come from the environment
// and are masked when the config is logged or printed.
type NetSuiteConfig struct {
	// BaseURL is the account's REST domain; https://<account>.suitetalk.api.netsuite.com when empty.
	BaseURL string
	// Account is the account id, for example 1234567_SB1.
	Account string
	// ConsumerKey and ConsumerSecret identify the integration record.
	ConsumerKey, ConsumerSecret string
	// TokenID and TokenSecret identify the access token.
	TokenID, TokenSecret string
	// Currency is the ISO 4217 currency of item base prices; USD when empty.
	Currency string
	// MaxConcurrency caps requests in flight to the account; 10 when zero. The account's limit
	// (15 on the base tier) is shared with every other integration, so keep headroom.
	MaxConcurrency int
	// ItemLookup is how items are read: "rest" (default) or "soap" (SuiteTalk getList, many
	// SKUs per request; see docs/business-central.md, "SOAP").
	ItemLookup string
}

// Validate names every bad field at once.
func (c Config) Validate() error {
	var bad []errs.FieldViolation
	add := func(field, desc string) { bad = append(bad, errs.FieldViolation{Field: field, Description: desc}) }
	if c.Timeout < 0 {
		add("timeout", "must not be negative")
	}
	switch c.Vendor {
	case VendorNetSuite:
		n := c.NetSuite
		for _, f := range []struct{ name, value string }{
			{"netsuite.account", n.Account}, {"netsuite.consumer_key", n.ConsumerKey},
			{"netsuite.consumer_secret", n.ConsumerSecret}, {"netsuite.token_id", n.TokenID},
			{"netsuite.token_secret", n.TokenSecret},
		} {
			if strings.TrimSpace(f.value) == "" {
				add(f.name, "is required")
			}
		}
		if n.BaseURL != "" {
			if u, err := url.Parse(n.BaseURL); err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
				add("netsuite.base_url", "must be an absolute http(s) URL")
			}
		}
		if n.Currency != "" && (len(n.Currency) != 3 || strings.ToUpper(n.Currency) != n.Currency) {
			add("netsuite.currency", "must be an upper-case ISO 4217 code")
		}
		if n.MaxConcurrency < 0 {
			add("netsuite.max_concurrency", "must not be negative")
		}
		if n.ItemLookup != "" && n.ItemLookup != netsuite.LookupREST && n.ItemLookup != netsuite.LookupSOAP {
			add("netsuite.item_lookup", "must be rest or soap")
		}
	case "":
		add("vendor", "is required (RB_ERP_VENDOR selects one of the kind's registered vendors)")
	default:
		add("vendor", fmt.Sprintf("%q is not a registered erp vendor", c.Vendor))
	}
	if len(bad) == 0 {
		return nil
	}
	msgs := make([]string, len(bad))
	for i, f := range bad {
		msgs[i] = f.Field + " " + f.Description
	}
	return errs.E(errs.Invalid, "invalid_config", "erp config: "+strings.Join(msgs, "; ")).WithFields(bad...)
}

func (n NetSuiteConfig) connector() netsuite.Config {
	return netsuite.Config{
		BaseURL: n.BaseURL, Account: n.Account, ConsumerKey: n.ConsumerKey, ConsumerSecret: n.ConsumerSecret,
		TokenID: n.TokenID, TokenSecret: n.TokenSecret, Currency: n.Currency, MaxConcurrency: n.MaxConcurrency,
		ItemLookup: n.ItemLookup,
	}
}

// LogValue masks the secrets.
func (n NetSuiteConfig) LogValue() slog.Value {
	return slog.GroupValue(
		slog.String("base_url", n.BaseURL), slog.String("account", n.Account),
		slog.String("consumer_key", mask(n.ConsumerKey)), slog.String("consumer_secret", mask(n.ConsumerSecret)),
		slog.String("token_id", mask(n.TokenID)), slog.String("token_secret", mask(n.TokenSecret)),
		slog.String("currency", n.Currency), slog.Int("max_concurrency", n.MaxConcurrency),
	)
}

// String masks the secrets, so %v cannot leak them either.
func (n NetSuiteConfig) String() string {
	return fmt.Sprintf("{BaseURL:%s Account:%s ConsumerKey:%s ConsumerSecret:%s TokenID:%s TokenSecret:%s Currency:%s MaxConcurrency:%d}",
		n.BaseURL, n.Account, mask(n.ConsumerKey), mask(n.ConsumerSecret), mask(n.TokenID), mask(n.TokenSecret),
		n.Currency, n.MaxConcurrency)
}

func mask(secret string) string {
	if secret == "" {
		return ""
	}
	return "***"
}
