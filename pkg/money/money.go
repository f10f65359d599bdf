// Package money converts between vendor decimal strings and canonical integer minor units.
// Nothing here uses floating point.
package money

import (
	"fmt"
	"strconv"
	"strings"

	canonicalv1 "github.com/retailbridge/retailbridge/pkg/gen/retailbridge/canonical/v1"
)

// exponents lists ISO 4217 currencies whose minor unit is not 1/100.
var exponents = map[string]int{
	"JPY": 0, "KRW": 0, "VND": 0, "CLP": 0, "ISK": 0, "UGX": 0, "XAF": 0, "XOF": 0,
	"BHD": 3, "KWD": 3, "OMR": 3, "JOD": 3, "TND": 3, "IQD": 3, "LYD": 3,
}

// Exponent is the number of minor-unit digits of currency (2 unless listed).
func Exponent(currency string) int {
	if e, ok := exponents[strings.ToUpper(currency)]; ok {
		return e
	}
	return 2
}

// ParseDecimal converts a decimal amount such as "12.5" or "-0.99" in currency to minor units.
// More fractional digits than the currency has is an error, not a rounding.
func ParseDecimal(amount, currency string) (int64, error) {
	s := strings.TrimSpace(amount)
	if s == "" {
		return 0, fmt.Errorf("money: empty amount")
	}
	neg := false
	if s[0] == '-' || s[0] == '+' {
		neg = s[0] == '-'
		s = s[1:]
	}
	whole, frac, _ := strings.Cut(s, ".")
	exp := Exponent(currency)
	frac = strings.TrimRight(frac, "0")
	if len(frac) > exp {
		return 0, fmt.Errorf("money: %q has more than %d decimal places for %s", amount, exp, currency)
	}
	if whole == "" {
		whole = "0"
	}
	for _, part := range []string{whole, frac} {
		for _, c := range part {
			if c < '0' || c > '9' {
				return 0, fmt.Errorf("money: %q is not a decimal amount", amount)
			}
		}
	}
	digits := whole + frac + strings.Repeat("0", exp-len(frac))
	v, err := strconv.ParseInt(digits, 10, 64)
	if err != nil {
		return 0, fmt.Errorf("money: %q: %w", amount, err)
	}
	if neg {
		v = -v
	}
	return v, nil
}

// FormatDecimal renders minor units as a decimal string with the currency's digits.
func FormatDecimal(minor int64, currency string) string {
	exp := Exponent(currency)
	sign := ""
	if minor < 0 {
		sign, minor = "-", -minor
	}
	s := strconv.FormatInt(minor, 10)
	if exp == 0 {
		return sign + s
	}
	if len(s) <= exp {
		s = strings.Repeat("0", exp-len(s)+1) + s
	}
	return sign + s[:len(s)-exp] + "." + s[len(s)-exp:]
}

// New returns a canonical Money.
func New(minor int64, currency string) *canonicalv1.Money {
	return &canonicalv1.Money{AmountMinor: minor, CurrencyCode: strings.ToUpper(currency)}
}

// Zero returns zero in currency.
func Zero(currency string) *canonicalv1.Money { return New(0, currency) }
