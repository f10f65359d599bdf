package gateway

import (
	"bytes"
	"encoding/json"
	"strings"
)

// Card data never enters Retailbridge: refunds go back to the original payment method through
// the payment gateway, so no route needs a card number or a security code. Requests carrying one
// are refused before anything downstream runs (and request bodies are never logged), which keeps
// card data out of logs, events, audit records and dead letters (PCI DSS scope).

// cardFields are JSON member names that only ever hold card data.
var cardFields = map[string]bool{
	"card_number": true, "cardnumber": true, "card_no": true, "pan": true, "primary_account_number": true,
	"cvv": true, "cvv2": true, "cvc": true, "cvc2": true, "cid": true, "security_code": true, "card_security_code": true,
	"card_verification_value": true,
}

// containsCardData reports whether a JSON body names a card field or holds a value that looks
// like a card number: 13 to 19 digits (spaces or dashes allowed between) passing the Luhn check.
func containsCardData(body []byte) bool {
	if len(bytes.TrimSpace(body)) == 0 {
		return false
	}
	dec := json.NewDecoder(bytes.NewReader(body))
	dec.UseNumber()
	for {
		tok, err := dec.Token()
		if err != nil {
			return false // not JSON: the route's own decoding answers it
		}
		switch v := tok.(type) {
		case string:
			if cardFields[strings.ToLower(v)] || looksLikePAN(v) {
				return true
			}
		case json.Number:
			if looksLikePAN(v.String()) {
				return true
			}
		}
	}
}

// looksLikePAN reports whether s contains a run of 13 to 19 digits (single spaces or dashes
// allowed between them) that passes the Luhn check — anywhere, free-text notes included.
func looksLikePAN(s string) bool {
	digits := make([]byte, 0, 32)
	flush := func() bool {
		found := len(digits) >= 13 && len(digits) <= 19 && luhn(digits)
		digits = digits[:0]
		return found
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case c >= '0' && c <= '9':
			digits = append(digits, c)
		case (c == ' ' || c == '-') && len(digits) > 0 && i+1 < len(s) && s[i+1] >= '0' && s[i+1] <= '9':
			// a separator inside a number
		default:
			if flush() {
				return true
			}
		}
	}
	return flush()
}

func luhn(digits []byte) bool {
	sum := 0
	for i := len(digits) - 1; i >= 0; i-- {
		d := int(digits[i] - '0')
		if (len(digits)-1-i)%2 == 1 {
			d *= 2
			if d > 9 {
				d -= 9
			}
		}
		sum += d
	}
	return sum%10 == 0
}
