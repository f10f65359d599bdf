package oms

import (
	"fmt"
	"log/slog"
	"net/url"
	"strings"

	"github.com/retailbridge/retailbridge/pkg/errs"
	"github.com/retailbridge/retailbridge/services/system/oms/internal/fluent"
)

// VendorFluent is fluent's registered name.
const VendorFluent = "fluent"

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

var _ Connection = FluentConfig{}

// FluentFromEnv reads a Fluent account through lookup (the deployment's environment):
// FLUENT_API_URL, FLUENT_RETAILER_ID and the secrets FLUENT_CLIENT_ID, FLUENT_CLIENT_SECRET,
// FLUENT_USERNAME and FLUENT_PASSWORD. Validate checks the result.
func FluentFromEnv(lookup func(string) string) FluentConfig {
	return FluentConfig{BaseURL: lookup("FLUENT_API_URL"), ClientID: lookup("FLUENT_CLIENT_ID"), ClientSecret: lookup("FLUENT_CLIENT_SECRET"),
		Username: lookup("FLUENT_USERNAME"), Password: lookup("FLUENT_PASSWORD"), RetailerID: lookup("FLUENT_RETAILER_ID")}
}

// Vendor implements Connection.
func (f FluentConfig) Vendor() string { return VendorFluent }

// Validate names every bad field, as fluent.<field>.
func (f FluentConfig) Validate() []errs.FieldViolation {
	var bad []errs.FieldViolation
	add := func(field, desc string) { bad = append(bad, errs.FieldViolation{Field: field, Description: desc}) }
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
	return bad
}

// Connect builds the vendor's connector.
func (f FluentConfig) Connect(deps Deps, log *slog.Logger) (Connector, error) {
	if deps.HTTPClient == nil {
		return nil, errs.E(errs.Invalid, "invalid_deps", "oms: deps.HTTPClient is required")
	}
	return fluent.New(f.connector(), deps.HTTPClient, deps.Now), nil
}

func (f FluentConfig) connector() fluent.Config {
	return fluent.Config{BaseURL: f.BaseURL, ClientID: f.ClientID, ClientSecret: f.ClientSecret, Username: f.Username,
		Password: f.Password, RetailerID: f.RetailerID}
}

// String masks the secrets.
func (f FluentConfig) String() string {
	return fmt.Sprintf("{BaseURL:%s ClientID:%s ClientSecret:*** Username:%s Password:*** RetailerID:%s}", f.BaseURL, f.ClientID, f.Username, f.RetailerID)
}
