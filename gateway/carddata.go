package gateway

import (
	"encoding/json"
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
//
// It scans the bytes once instead of decoding tokens (encoding/json's token API allocates several
// times per scalar, on every request): each string literal (member names included, unescaped when
// it holds an escape) and each run of number characters outside strings is checked. A body that
// is not JSON is scanned the same way, so it is refused rather than let through when it holds card
// data.
func containsCardData(body []byte) bool {
	for i := 0; i < len(body); i++ {
		switch c := body[i]; {
		case c == '"':
			end, escaped := stringEnd(body, i+1)
			lit := body[i+1 : end]
			if escaped {
				var s string
				if json.Unmarshal(body[i:min(end+1, len(body))], &s) == nil {
					lit = []byte(s)
				}
			}
			if isCardField(lit) || looksLikePAN(lit) {
				return true
			}
			i = end
		case c == '-' || (c >= '0' && c <= '9'):
			j := i
			for j < len(body) && isNumberByte(body[j]) {
				j++
			}
			if looksLikePAN(body[i:j]) {
				return true
			}
			i = j - 1
		}
	}
	return false
}

// stringEnd returns the index of the quote closing the string literal that starts at from (or
// len(body) if none does), and whether the literal holds an escape.
func stringEnd(body []byte, from int) (int, bool) {
	escaped := false
	for j := from; j < len(body); j++ {
		switch body[j] {
		case '\\':
			escaped = true
			j++
		case '"':
			return j, escaped
		}
	}
	return len(body), escaped
}

func isNumberByte(c byte) bool {
	return c >= '0' && c <= '9' || c == '-' || c == '+' || c == '.' || c == 'e' || c == 'E'
}

// isCardField reports whether name, in any case, is one of cardFields.
func isCardField(name []byte) bool {
	var buf [32]byte
	if len(name) > len(buf) {
		return false // longer than every card field
	}
	for k, c := range name {
		if c >= 'A' && c <= 'Z' {
			c += 'a' - 'A'
		}
		buf[k] = c
	}
	return cardFields[string(buf[:len(name)])]
}

// looksLikePAN reports whether s contains a run of 13 to 19 digits (single spaces or dashes
// allowed between them) that passes the Luhn check — anywhere, free-text notes included.
func looksLikePAN[T string | []byte](s T) bool {
	var buf [32]byte
	digits := buf[:0]
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
