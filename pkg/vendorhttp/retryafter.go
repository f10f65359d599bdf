package vendorhttp

import (
	"math"
	"net/http"
	"strconv"
	"strings"
	"time"
)

// ParseRetryAfter reads a Retry-After value as a wait from now: delay-seconds ("30"), the
// fractional seconds Shopify sends ("2.0"), or an HTTP-date (RFC 9110 §10.2.3), which is read
// against now so that a caller's clock, not the wall, decides. It is zero when the value is
// absent, unreadable, not positive or a date already past: no advice, not "retry at once".
// A wait too long for a time.Duration is the longest one, so an absurd value still says "not
// soon" instead of wrapping around to a negative wait.
func ParseRetryAfter(v string, now time.Time) time.Duration {
	v = strings.TrimSpace(v)
	if v == "" {
		return 0
	}
	if seconds(v) {
		s, err := strconv.ParseFloat(v, 64)
		if err != nil || s <= 0 {
			return 0
		}
		if s >= float64(math.MaxInt64)/float64(time.Second) {
			return math.MaxInt64
		}
		return time.Duration(s * float64(time.Second))
	}
	if t, err := http.ParseTime(v); err == nil && t.After(now) {
		return t.Sub(now)
	}
	return 0
}

// seconds reports whether v is digits with at most one decimal point among them: what
// ParseFloat alone would also take ("+2", "1e3", "Inf", "NaN", "0x10") is no Retry-After.
func seconds(v string) bool {
	dot, digits := false, 0
	for _, r := range v {
		switch {
		case r >= '0' && r <= '9':
			digits++
		case r == '.' && !dot:
			dot = true
		default:
			return false
		}
	}
	return digits > 0
}
