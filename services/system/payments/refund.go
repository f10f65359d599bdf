package payments

import (
	"fmt"
	"maps"
	"slices"
	"strings"

	"github.com/retailbridge/retailbridge/pkg/errs"
	paymentsv1 "github.com/retailbridge/retailbridge/pkg/gen/retailbridge/system/payments/v1"
	"github.com/retailbridge/retailbridge/services/system/payments/internal/stripe"
)

// MaxIdempotencyKeyLen is the longest idempotency key a refund may carry (Stripe's limit).
const MaxIdempotencyKeyLen = 255

// Metadata limits: Stripe's (50 keys of up to 40 characters, values up to 500), less the one key
// the connector adds.
const (
	MaxMetadataKeys     = 49
	MaxMetadataKeyLen   = 40
	MaxMetadataValueLen = 500
)

// maxIDLen bounds gateway ids; Stripe's are far shorter.
const maxIDLen = 255

// checkCreateRefund names every bad field of req.
func checkCreateRefund(req *paymentsv1.CreateRefundRequest) error {
	var bad []errs.FieldViolation
	add := func(field, desc string) { bad = append(bad, errs.FieldViolation{Field: field, Description: desc}) }
	if d := checkPaymentReference(req.GetPaymentReference()); d != "" {
		add("payment_reference", d)
	}
	if m := req.GetAmount(); m == nil {
		add("amount", "is required")
	} else {
		if m.GetAmountMinor() <= 0 {
			add("amount.amount_minor", "must be positive")
		}
		if !isCurrencyCode(m.GetCurrencyCode()) {
			add("amount.currency_code", "must be an upper-case ISO 4217 code")
		}
	}
	switch key := req.GetIdempotencyKey(); {
	case key == "":
		add("idempotency_key", "is required: derive it from the workflow step, and reuse it on every retry")
	case len(key) > MaxIdempotencyKeyLen:
		add("idempotency_key", fmt.Sprintf("must be at most %d characters", MaxIdempotencyKeyLen))
	case !printable(key):
		add("idempotency_key", "may contain only printable ASCII characters")
	case strings.TrimSpace(key) != key:
		add("idempotency_key", "must not begin or end with a space (HTTP would drop it)")
	}
	md := req.GetMetadata()
	if len(md) > MaxMetadataKeys {
		add("metadata", fmt.Sprintf("may have at most %d keys", MaxMetadataKeys))
	}
	for _, k := range slices.Sorted(maps.Keys(md)) {
		field := "metadata[" + k + "]"
		switch {
		case k == stripe.MetadataIdempotencyKey:
			add(field, "is reserved: the service records the idempotency key there")
		case k == "" || len(k) > MaxMetadataKeyLen:
			add(field, fmt.Sprintf("keys must be 1 to %d characters", MaxMetadataKeyLen))
		case strings.ContainsAny(k, "[]") || !printable(k):
			add(field, "keys may contain only printable ASCII characters other than [ and ]")
		}
		if len(md[k]) > MaxMetadataValueLen {
			add(field, fmt.Sprintf("values must be at most %d characters", MaxMetadataValueLen))
		}
	}
	return invalid(bad)
}

func checkGetRefund(req *paymentsv1.GetRefundRequest) error {
	id := req.GetGatewayRefundId()
	var bad []errs.FieldViolation
	switch {
	case id == "":
		bad = append(bad, errs.FieldViolation{Field: "gateway_refund_id", Description: "is required"})
	case !(strings.HasPrefix(id, "re_") || strings.HasPrefix(id, "pyr_")) || !isGatewayID(id):
		bad = append(bad, errs.FieldViolation{Field: "gateway_refund_id", Description: "must be a Stripe refund id (re_…, pyr_…)"})
	}
	return invalid(bad)
}

func checkGetPayment(req *paymentsv1.GetPaymentRequest) error {
	var bad []errs.FieldViolation
	if d := checkPaymentReference(req.GetPaymentReference()); d != "" {
		bad = append(bad, errs.FieldViolation{Field: "payment_reference", Description: d})
	}
	return invalid(bad)
}

// checkPaymentReference describes what is wrong with ref, or returns "".
func checkPaymentReference(ref string) string {
	switch {
	case ref == "":
		return "is required"
	case !(strings.HasPrefix(ref, "pi_") || strings.HasPrefix(ref, "ch_") || strings.HasPrefix(ref, "py_")) || !isGatewayID(ref):
		return "must be a Stripe payment intent (pi_…) or charge (ch_…, py_…) id"
	}
	return ""
}

func invalid(bad []errs.FieldViolation) error {
	if len(bad) == 0 {
		return nil
	}
	return errs.E(errs.Invalid, "invalid_request", "the request has invalid fields").WithFields(bad...)
}

// isGatewayID accepts Stripe's id alphabet: letters, digits and "_".
func isGatewayID(id string) bool {
	if len(id) > maxIDLen {
		return false
	}
	for _, c := range id {
		if !('a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9' || c == '_') {
			return false
		}
	}
	return true
}

func isCurrencyCode(c string) bool {
	return len(c) == 3 && strings.Trim(c, "ABCDEFGHIJKLMNOPQRSTUVWXYZ") == ""
}

// printable accepts visible ASCII and the space: what an HTTP header value carries unmangled.
func printable(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] < 0x20 || s[i] > 0x7e {
			return false
		}
	}
	return true
}
