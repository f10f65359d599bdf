package commerce

import (
	"log/slog"
	"strings"
	"time"

	"github.com/retailbridge/retailbridge/pkg/errs"
)

// DefaultTimeout bounds each RPC's calls to the platform when the caller's deadline is later.
const DefaultTimeout = 10 * time.Second

// Config configures the service. It names no vendor: the vendor's own configuration is its
// Connection, declared in the vendor's file next to its registration, so a new vendor adds
// nothing here (services/system TestKindConfigNamesNoVendor).
type Config struct {
	// Connection is the storefront platform's configuration (a ShopifyConfig, …): it validates
	// itself and builds the vendor's connector.
	Connection Connection
	// Timeout bounds each RPC's calls to the platform when the caller's deadline is later
	// (DefaultTimeout).
	Timeout time.Duration
}

// Connection is a vendor's typed configuration: it names the vendor, names its own bad fields
// (prefixed with the vendor's name) and builds the vendor's connector with the service's deps.
type Connection interface {
	Vendor() string
	Validate() []errs.FieldViolation
	Connect(deps Deps, log *slog.Logger) (Connector, error)
}

func mask(secret string) string {
	if secret == "" {
		return ""
	}
	return "********"
}

// WithDefaults returns c with zero fields set to their defaults.
func (c Config) WithDefaults() Config {
	if c.Timeout == 0 {
		c.Timeout = DefaultTimeout
	}
	return c
}

// Validate checks c after defaults and names every bad field at once, as an errs.Invalid
// error with one field violation per problem.
func (c Config) Validate() error {
	c = c.WithDefaults()
	var bad []errs.FieldViolation
	add := func(field, desc string) { bad = append(bad, errs.FieldViolation{Field: field, Description: desc}) }
	if c.Timeout < 0 {
		add("timeout", "must not be negative")
	}
	if c.Connection == nil {
		add("connection", "required (a registered vendor's configuration, such as its <Vendor>FromEnv reads)")
	} else {
		bad = append(bad, c.Connection.Validate()...)
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
