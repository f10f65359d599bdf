package erp

import (
	"log/slog"
	"strings"
	"time"

	"github.com/retailbridge/retailbridge/pkg/errs"
)

// DefaultTimeout bounds one RPC's work against the ERP when the caller's deadline is later.
const DefaultTimeout = 10 * time.Second

// Config configures the ERP system API. It names no vendor: the vendor's own configuration is
// its Connection, declared in the vendor's file next to its registration, so a new vendor adds
// nothing here (services/system TestKindConfigNamesNoVendor).
type Config struct {
	// Connection is the vendor's configuration (a NetSuiteConfig, …): it validates itself and
	// builds the vendor's connector.
	Connection Connection
	// Timeout bounds each RPC's ERP work; DefaultTimeout when zero.
	Timeout time.Duration
	// Locations maps the ERP's location ids to the ledger's (location.go); the vendor's
	// configuration reads it (NETSUITE_LOCATIONS, BUSINESSCENTRAL_LOCATIONS).
	Locations LocationMap
}

// Connection is a vendor's typed configuration: it names the vendor, names its own bad fields
// (prefixed with the vendor's name) and builds the vendor's connector with the service's deps.
type Connection interface {
	Vendor() string
	Validate() []errs.FieldViolation
	Connect(deps Deps, log *slog.Logger) (Connector, error)
}

// Validate names every bad field at once.
func (c Config) Validate() error {
	var bad []errs.FieldViolation
	add := func(field, desc string) { bad = append(bad, errs.FieldViolation{Field: field, Description: desc}) }
	if c.Timeout < 0 {
		add("timeout", "must not be negative")
	}
	if c.Connection == nil {
		add("connection", "is required (a registered vendor's configuration, such as its <Vendor>FromEnv reads)")
	} else {
		bad = append(bad, c.Connection.Validate()...)
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

func mask(secret string) string {
	if secret == "" {
		return ""
	}
	return "***"
}
