package erp

import (
	"fmt"
	"strings"

	"github.com/retailbridge/retailbridge/pkg/errs"
	canonicalv1 "github.com/retailbridge/retailbridge/pkg/gen/retailbridge/canonical/v1"
)

// Limits on write requests.
const (
	// MaxLines is how many lines one write may carry.
	MaxLines = 250
	// MaxIdempotencyKeyLen bounds an idempotency key, as the ingress idempotency draft does.
	MaxIdempotencyKeyLen = 255
	maxIDLen             = 64
)

// violations collects bad fields of one request.
type violations []errs.FieldViolation

func (v *violations) add(field, format string, args ...any) {
	*v = append(*v, errs.FieldViolation{Field: field, Description: fmt.Sprintf(format, args...)})
}

// err is the Invalid error naming every bad field, or nil.
func (v violations) err() error {
	if len(v) == 0 {
		return nil
	}
	return errs.E(errs.Invalid, "invalid_request", "the request has invalid fields").WithFields(v...)
}

// key checks an idempotency key: required, bounded, printable ASCII.
func (v *violations) key(field, key string) {
	switch {
	case key == "":
		v.add(field, "is required: a deterministic key, the same on every retry")
	case len(key) > MaxIdempotencyKeyLen:
		v.add(field, "must be at most %d characters", MaxIdempotencyKeyLen)
	case strings.ContainsFunc(key, func(r rune) bool { return r < 0x21 || r > 0x7e }):
		v.add(field, "may contain only printable ASCII characters")
	}
}

// id checks a record or object id: letters, digits, "_", "-" and ".", as ERP and storefront ids are.
func (v *violations) id(field, id string, required bool) {
	switch {
	case id == "" && required:
		v.add(field, "is required")
	case len(id) > maxIDLen:
		v.add(field, "must be at most %d characters", maxIDLen)
	case strings.ContainsFunc(id, func(c rune) bool {
		return !('A' <= c && c <= 'Z' || 'a' <= c && c <= 'z' || '0' <= c && c <= '9' || c == '_' || c == '-' || c == '.')
	}):
		v.add(field, `may contain only letters, digits, "_", "-" and "."`)
	}
}

func (v *violations) sku(field, sku string) {
	if d := checkSKU(sku); d != "" {
		v.add(field, "%s", d)
	}
}

func (v *violations) quantity(field string, q int64) {
	if q <= 0 {
		v.add(field, "must be greater than zero")
	}
}

// lines checks a line count.
func (v *violations) lines(field string, n int) {
	switch {
	case n == 0:
		v.add(field, "name at least one line")
	case n > MaxLines:
		v.add(field, "name at most %d lines", MaxLines)
	}
}

// money checks an amount: present, not negative, with an upper-case ISO 4217 code.
func (v *violations) money(field string, m *canonicalv1.Money) {
	switch {
	case m == nil:
		v.add(field, "is required")
	case m.GetAmountMinor() < 0:
		v.add(field+".amount_minor", "must not be negative")
	case len(m.GetCurrencyCode()) != 3 || strings.ToUpper(m.GetCurrencyCode()) != m.GetCurrencyCode():
		v.add(field+".currency_code", "must be an upper-case ISO 4217 code")
	}
}
