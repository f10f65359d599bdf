package idempotency

import (
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"fmt"
	"net/http"
	"strconv"
	"strings"

	"github.com/retailbridge/retailbridge/pkg/auth"
	"github.com/retailbridge/retailbridge/pkg/errs"
)

// Problem reasons of this package; each is also the last part of the problem type URI.
const (
	ReasonKeyMissing        = "idempotency_key_missing"
	ReasonKeyInvalid        = "idempotency_key_invalid"
	ReasonScopeMissing      = "idempotency_scope_missing"
	ReasonKeyReused         = "idempotency_key_reused"
	ReasonInFlight          = "idempotency_request_in_flight"
	ReasonResponseNotStored = "idempotency_response_not_stored"
	ReasonStoreUnavailable  = "idempotency_store_unavailable"
)

// keyError is a refused Idempotency-Key header.
type keyError struct {
	reason, detail string
}

func (e *keyError) Error() string { return e.reason + ": " + e.detail }

func (e *keyError) problem() errs.Problem {
	title := "Invalid idempotency key"
	if e.reason == ReasonKeyMissing {
		title = "Idempotency key required"
	}
	p := errs.NewProblem(http.StatusBadRequest, e.reason, title, e.detail)
	p.Errors = []errs.FieldViolation{{Field: HeaderKey, Description: e.detail}}
	return p
}

// parseKey returns the key the Idempotency-Key header values carry. The draft defines the header
// as a Structured Fields Item whose value is a String ("abc"); a bare token (abc) is accepted too
// because many clients send one, and both spellings yield the same key. Parameters after the
// string are refused: the draft defines none, and accepting them would let `"a";x, "b"`-style
// lists slip through. An empty value counts as missing: clients that send one had no key to send.
func parseKey(values []string) (string, error) {
	switch len(values) {
	case 0:
		return "", &keyError{ReasonKeyMissing, "send an " + HeaderKey + " header with a unique value, for example a UUID"}
	case 1:
	default:
		return "", &keyError{ReasonKeyInvalid, HeaderKey + " was sent more than once"}
	}
	v := strings.Trim(values[0], " \t")
	var key string
	if strings.HasPrefix(v, `"`) {
		s, ok := parseSFString(v)
		if !ok {
			return "", &keyError{ReasonKeyInvalid, HeaderKey + " must be a single quoted string or token"}
		}
		key = s
	} else {
		for i := 0; i < len(v); i++ {
			switch c := v[i]; {
			case c == ',':
				return "", &keyError{ReasonKeyInvalid, HeaderKey + " was sent more than once"}
			case c < 0x21 || c > 0x7e || c == '"' || c == '\\':
				return "", &keyError{ReasonKeyInvalid, HeaderKey + " must be a single quoted string or token of visible ASCII characters"}
			}
		}
		key = v
	}
	if key == "" {
		return "", &keyError{ReasonKeyMissing, HeaderKey + " is empty; send a unique value, for example a UUID"}
	}
	if len(key) > MaxKeyLength {
		return "", &keyError{ReasonKeyInvalid, fmt.Sprintf("%s is longer than %d characters", HeaderKey, MaxKeyLength)}
	}
	return key, nil
}

// parseSFString parses v as exactly one RFC 8941 sf-string: printable ASCII between double
// quotes, with only \" and \\ as escapes.
func parseSFString(v string) (string, bool) {
	var b strings.Builder
	for i := 1; i < len(v); i++ {
		switch c := v[i]; {
		case c == '\\':
			i++
			if i == len(v) || (v[i] != '"' && v[i] != '\\') {
				return "", false
			}
			b.WriteByte(v[i])
		case c == '"':
			return b.String(), i == len(v)-1
		case c < 0x20 || c > 0x7e:
			return "", false
		default:
			b.WriteByte(c)
		}
	}
	return "", false // unterminated
}

// PrincipalScope scopes keys by the verified caller: audience, tenant and subject of the
// auth.Principal in the request context. Requests without one are refused (ok false): sharing
// one namespace among anonymous callers would let one read another's stored response by
// guessing a key. Public routes that need keys pass their own Options.Scope.
func PrincipalScope(r *http.Request) (string, bool) {
	p, ok := auth.FromContext(r.Context())
	if !ok || p.Audience == "" || p.Subject == "" {
		return "", false
	}
	return strconv.Quote(string(p.Audience)) + " " + strconv.Quote(p.Tenant) + " " + strconv.Quote(p.Subject), true
}

// recordKey is the Redis key of the record for key under scope, method and route. Parts are
// length-prefixed before hashing so no two distinct tuples share an input.
func (s *Store) recordKey(scope, method, route, key string) string {
	h := sha256.New()
	var n [8]byte
	for _, part := range [...]string{scope, method, route, key} {
		binary.BigEndian.PutUint64(n[:], uint64(len(part)))
		h.Write(n[:])
		h.Write([]byte(part))
	}
	return s.opts.KeyPrefix + hex.EncodeToString(h.Sum(nil))
}

// fingerprint identifies a request body.
func fingerprint(body []byte) string {
	sum := sha256.Sum256(body)
	return hex.EncodeToString(sum[:])
}
