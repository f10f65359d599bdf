package stripe

import (
	"fmt"
	"math"
	"strings"

	"github.com/retailbridge/retailbridge/pkg/errs"
	canonicalv1 "github.com/retailbridge/retailbridge/pkg/gen/retailbridge/canonical/v1"
	"github.com/retailbridge/retailbridge/pkg/money"
)

// hundredfold lists currencies that ISO 4217 gives no minor unit but Stripe's API still takes
// with two decimals, for backwards compatibility: 5 ISK is amount=500, and the last two digits
// must be 00.
var hundredfold = map[string]bool{"ISK": true, "UGX": true}

// toStripeAmount converts canonical money to Stripe's integer amount and lower-case currency.
// Stripe takes three-decimal currencies in multiples of ten; other amounts it would round are
// refused here rather than rounded there.
func toStripeAmount(m *canonicalv1.Money) (int64, string, error) {
	cur := strings.ToUpper(m.GetCurrencyCode())
	if len(cur) != 3 || strings.Trim(cur, "ABCDEFGHIJKLMNOPQRSTUVWXYZ") != "" {
		return 0, "", errs.E(errs.Invalid, "invalid_request", "the currency is not an ISO 4217 code").
			WithFields(errs.FieldViolation{Field: "amount.currency_code", Description: "must be an ISO 4217 code"})
	}
	n := m.GetAmountMinor()
	if n <= 0 {
		return 0, "", errs.E(errs.Invalid, "invalid_request", "the amount must be positive").
			WithFields(errs.FieldViolation{Field: "amount.amount_minor", Description: "must be positive"})
	}
	if hundredfold[cur] {
		if n > math.MaxInt64/100 {
			return 0, "", errs.E(errs.Invalid, "invalid_request", "the amount is too large").
				WithFields(errs.FieldViolation{Field: "amount.amount_minor", Description: "is too large"})
		}
		n *= 100
	}
	if money.Exponent(cur) == 3 && n%10 != 0 {
		return 0, "", errs.E(errs.Invalid, "invalid_request", "Stripe takes three-decimal currencies in multiples of 10").
			WithFields(errs.FieldViolation{Field: "amount.amount_minor", Description: "must be a multiple of 10 for " + cur})
	}
	return n, strings.ToLower(cur), nil
}

// fromStripeAmount converts a Stripe amount to canonical money.
func fromStripeAmount(n int64, currency string) (*canonicalv1.Money, error) {
	cur := strings.ToUpper(currency)
	if len(cur) != 3 {
		return nil, fmt.Errorf("stripe: currency %q is not an ISO 4217 code", currency)
	}
	if hundredfold[cur] {
		if n%100 != 0 {
			return nil, fmt.Errorf("stripe: %d %s is not a whole number of units", n, currency)
		}
		n /= 100
	}
	return money.New(n, cur), nil
}
