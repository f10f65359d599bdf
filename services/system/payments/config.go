package payments

import (
	"log/slog"
	"strings"
	"time"

	"github.com/retailbridge/retailbridge/pkg/errs"
)

// DefaultTimeout bounds one RPC's work against the payment gateway when the caller's deadline is
// later. It covers the connector's retries of unknown outcomes, so it is longer than one attempt.
const DefaultTimeout = 15 * time.Second

// Config configures the payments system API. It names no vendor: the vendor's own
// configuration is its Connection, declared in the vendor's file next to its registration, so a
// new vendor adds nothing here (services/system TestKindConfigNamesNoVendor).
type Config struct {
	// Connection is the vendor's configuration (a StripeConfig, …): it validates itself and builds
	// the vendor's connector.
	Connection Connection
	// Timeout bounds each RPC's gateway work, retries included, and each webhook's publishing;
	// DefaultTimeout when zero.
	Timeout time.Duration
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
	return errs.E(errs.Invalid, "invalid_config", "payments config: "+strings.Join(msgs, "; ")).WithFields(bad...)
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
