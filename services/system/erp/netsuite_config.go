package erp

import (
	"fmt"
	"log/slog"
	"net/url"
	"regexp"
	"strconv"
	"strings"

	"github.com/retailbridge/retailbridge/pkg/errs"
	"github.com/retailbridge/retailbridge/services/system/erp/internal/netsuite"
)

// netSuiteInternalID is the form of a NetSuite record's internal id.
var netSuiteInternalID = regexp.MustCompile(`^[0-9]{1,18}$`)

// VendorNetSuite is NetSuite's registered name.
const VendorNetSuite = "netsuite"

// DefaultNetSuiteMaxConcurrency is our share of the account's concurrency limit when
// NETSUITE_MAX_CONCURRENCY is unset.
const DefaultNetSuiteMaxConcurrency = 10

// NetSuiteConfig is how to reach the NetSuite account: the vendor's Connection. The secrets come
// from the environment and are masked when the config is logged or printed.
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
	// Locations maps the account's location internal ids to the ledger's location ids
	// (NETSUITE_LOCATIONS, "internal-id=ledger-id,…"; location.go).
	Locations LocationMap
}

var _ Connection = NetSuiteConfig{}

// NetSuiteFromEnv reads the NetSuite account through lookup (the deployment's environment):
// NETSUITE_URL, NETSUITE_ACCOUNT, NETSUITE_CONSUMER_KEY, NETSUITE_TOKEN_ID,
// NETSUITE_MAX_CONCURRENCY, NETSUITE_ITEM_LOOKUP and the secrets NETSUITE_CONSUMER_SECRET and NETSUITE_TOKEN_SECRET.
// A value that does not parse is an error naming its variable; Validate checks the rest.
func NetSuiteFromEnv(lookup func(string) string) (NetSuiteConfig, error) {
	c := NetSuiteConfig{BaseURL: lookup("NETSUITE_URL"), Account: lookup("NETSUITE_ACCOUNT"),
		ConsumerKey: lookup("NETSUITE_CONSUMER_KEY"), ConsumerSecret: lookup("NETSUITE_CONSUMER_SECRET"),
		TokenID: lookup("NETSUITE_TOKEN_ID"), TokenSecret: lookup("NETSUITE_TOKEN_SECRET"),
		MaxConcurrency: DefaultNetSuiteMaxConcurrency, ItemLookup: lookup("NETSUITE_ITEM_LOOKUP")}
	if v := lookup("NETSUITE_MAX_CONCURRENCY"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n <= 0 {
			return c, fmt.Errorf("NETSUITE_MAX_CONCURRENCY: %q is not a positive integer", v)
		}
		c.MaxConcurrency = n
	}
	locs, err := ParseLocationMap(lookup("NETSUITE_LOCATIONS"))
	if err != nil {
		return c, fmt.Errorf("NETSUITE_LOCATIONS: %w", err)
	}
	c.Locations = locs
	return c, nil
}

// Vendor implements Connection.
func (n NetSuiteConfig) Vendor() string { return VendorNetSuite }

// Validate names every bad field, as netsuite.<field>.
func (n NetSuiteConfig) Validate() []errs.FieldViolation {
	var bad []errs.FieldViolation
	add := func(field, desc string) {
		bad = append(bad, errs.FieldViolation{Field: "netsuite." + field, Description: desc})
	}
	for _, f := range []struct{ name, value string }{
		{"account", n.Account}, {"consumer_key", n.ConsumerKey}, {"consumer_secret", n.ConsumerSecret},
		{"token_id", n.TokenID}, {"token_secret", n.TokenSecret},
	} {
		if strings.TrimSpace(f.value) == "" {
			add(f.name, "is required")
		}
	}
	if n.BaseURL != "" {
		if u, err := url.Parse(n.BaseURL); err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
			add("base_url", "must be an absolute http(s) URL")
		}
	}
	if n.Currency != "" && (len(n.Currency) != 3 || strings.ToUpper(n.Currency) != n.Currency) {
		add("currency", "must be an upper-case ISO 4217 code")
	}
	if n.MaxConcurrency < 0 {
		add("max_concurrency", "must not be negative")
	}
	if n.ItemLookup != "" && n.ItemLookup != netsuite.LookupREST && n.ItemLookup != netsuite.LookupSOAP {
		add("item_lookup", "must be rest or soap")
	}
	bad = append(bad, n.Locations.problems("netsuite.locations", netSuiteInternalID, "a location internal id (digits)")...)
	return bad
}

// Connect builds the NetSuite connector (REST record service, token-based authentication).
func (n NetSuiteConfig) Connect(deps Deps, log *slog.Logger) (Connector, error) {
	if deps.HTTPClient == nil {
		return nil, errs.E(errs.Invalid, "invalid_deps", "erp: deps.HTTPClient is required")
	}
	return netsuite.New(netsuite.Config{
		BaseURL: n.BaseURL, Account: n.Account, ConsumerKey: n.ConsumerKey, ConsumerSecret: n.ConsumerSecret,
		TokenID: n.TokenID, TokenSecret: n.TokenSecret, Currency: n.Currency, MaxConcurrency: n.MaxConcurrency,
		ItemLookup: n.ItemLookup,
	}, deps.HTTPClient, log, deps.Now)
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
