package oms

import (
	"fmt"
	"net/url"
	"strings"
	"time"

	"github.com/retailbridge/retailbridge/pkg/errs"
	"github.com/retailbridge/retailbridge/services/system/oms/internal/fluent"
)

// Vendors this service can connect to.
const (
	// VendorFluent is Fluent Commerce's Order Management (GraphQL API, OAuth2 password grant,
	// Event API); docs/vendor-wire.md.
	VendorFluent = "fluent"
)

// DefaultTimeout bounds one RPC's work against the OMS when the caller's deadline is later.
const DefaultTimeout = 10 * time.Second

// Config configures the OMS system API.
type Config struct {
	// Vendor selects the connector: "fluent".
	Vendor string
	// Fluent is used when Vendor is "fluent".
	Fluent FluentConfig
	// Timeout bounds each RPC's OMS work; DefaultTimeout when zero.
	Timeout time.Duration
}

// FluentConfig is how to reach a Fluent account. The secrets come from the environment.
type FluentConfig struct {
	// BaseURL is the account's API root, https://ACCOUNT.sandbox.api.fluentretail.com.
	BaseURL string
	// ClientID, ClientSecret, Username and Password are the OAuth2 password-grant credentials
	// Fluent issues per account (one API client per retailer, users under it).
	ClientID, ClientSecret, Username, Password string
	// RetailerID is the retailer the orders belong to.
	RetailerID string
}

// Validate names every bad field at once.
func (c Config) Validate() error {
	var bad []errs.FieldViolation
	add := func(field, desc string) { bad = append(bad, errs.FieldViolation{Field: field, Description: desc}) }
	if c.Timeout < 0 {
		add("timeout", "must not be negative")
	}
	switch c.Vendor {
	case VendorFluent:
		f := c.Fluent
		if u, err := url.Parse(f.BaseURL); f.BaseURL == "" {
			add("fluent.base_url", "is required")
		} else if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
			add("fluent.base_url", "must be an absolute http(s) URL")
		}
		for field, v := range map[string]string{"fluent.client_id": f.ClientID, "fluent.client_secret": f.ClientSecret,
			"fluent.username": f.Username, "fluent.password": f.Password, "fluent.retailer_id": f.RetailerID} {
			if strings.TrimSpace(v) == "" {
				add(field, "is required")
			}
		}
	case "":
		add("vendor", "is required (RB_OMS_VENDOR selects one of the kind's registered vendors)")
	default:
		add("vendor", fmt.Sprintf("%q is not a registered oms vendor", c.Vendor))
	}
	if len(bad) == 0 {
		return nil
	}
	return errs.E(errs.Invalid, "invalid_config", "oms: invalid configuration").WithFields(bad...)
}

func (f FluentConfig) connector() fluent.Config {
	return fluent.Config{BaseURL: f.BaseURL, ClientID: f.ClientID, ClientSecret: f.ClientSecret, Username: f.Username,
		Password: f.Password, RetailerID: f.RetailerID}
}

// String masks the secrets.
func (f FluentConfig) String() string {
	return fmt.Sprintf("{BaseURL:%s ClientID:%s ClientSecret:*** Username:%s Password:*** RetailerID:%s}", f.BaseURL, f.ClientID, f.Username, f.RetailerID)
}
