package idempotency

import (
	"errors"
	"net/http"
	"net/http/httptest"
	"regexp"
	"strings"
	"testing"

	"github.com/retailbridge/retailbridge/pkg/auth"
)

func TestParseKey(t *testing.T) {
	t.Parallel()
	long := strings.Repeat("k", MaxKeyLength)
	tests := []struct {
		name       string
		values     []string
		wantKey    string
		wantReason string
	}{
		{name: "bare token", values: []string{"8e03978e-40d5-43e8-bc93-6894a57f9324"}, wantKey: "8e03978e-40d5-43e8-bc93-6894a57f9324"},
		{name: "sf-string", values: []string{`"abc"`}, wantKey: "abc"},
		{name: "sf-string with escapes and comma", values: []string{`"a\"b\\c,d e"`}, wantKey: `a"b\c,d e`},
		{name: "surrounding whitespace", values: []string{"  abc\t"}, wantKey: "abc"},
		{name: "255 characters", values: []string{long}, wantKey: long},
		{name: "255 characters quoted", values: []string{`"` + long + `"`}, wantKey: long},
		{name: "missing", values: nil, wantReason: ReasonKeyMissing},
		{name: "empty", values: []string{""}, wantReason: ReasonKeyMissing},
		{name: "blank", values: []string{"   "}, wantReason: ReasonKeyMissing},
		{name: "empty sf-string", values: []string{`""`}, wantReason: ReasonKeyMissing},
		{name: "256 characters", values: []string{long + "k"}, wantReason: ReasonKeyInvalid},
		{name: "256 characters quoted", values: []string{`"` + long + `k"`}, wantReason: ReasonKeyInvalid},
		{name: "sent twice", values: []string{"a", "a"}, wantReason: ReasonKeyInvalid},
		{name: "comma-joined tokens", values: []string{"a, b"}, wantReason: ReasonKeyInvalid},
		{name: "comma-joined sf-strings", values: []string{`"a", "b"`}, wantReason: ReasonKeyInvalid},
		{name: "sf-string with parameter", values: []string{`"a";p=1`}, wantReason: ReasonKeyInvalid},
		{name: "unterminated sf-string", values: []string{`"abc`}, wantReason: ReasonKeyInvalid},
		{name: "bad escape", values: []string{`"a\nb"`}, wantReason: ReasonKeyInvalid},
		{name: "inner space in token", values: []string{"a b"}, wantReason: ReasonKeyInvalid},
		{name: "non-ASCII", values: []string{"clé"}, wantReason: ReasonKeyInvalid},
		{name: "control in sf-string", values: []string{"\"a\x01\""}, wantReason: ReasonKeyInvalid},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			got, err := parseKey(tt.values)
			if tt.wantReason == "" {
				if err != nil || got != tt.wantKey {
					t.Fatalf("parseKey(%q) = %q, %v; want %q, nil", tt.values, got, err, tt.wantKey)
				}
				return
			}
			var ke *keyError
			if !errors.As(err, &ke) || ke.reason != tt.wantReason {
				t.Fatalf("parseKey(%q) = %q, %v; want reason %s", tt.values, got, err, tt.wantReason)
			}
		})
	}
}

func TestDefaultStorable(t *testing.T) {
	t.Parallel()
	stored := map[int]bool{200: true, 201: true, 202: true, 204: true, 303: true, 402: true, 422: true}
	for _, status := range []int{200, 201, 202, 204, 303, 400, 401, 402, 403, 404, 405, 408, 409, 410, 412,
		413, 415, 422, 428, 429, 499, 500, 502, 503, 504} {
		if got := DefaultStorable(status); got != stored[status] {
			t.Errorf("DefaultStorable(%d) = %t, want %t", status, got, stored[status])
		}
	}
}

func TestRecordKeyIsScopedAndHashed(t *testing.T) {
	t.Parallel()
	s := New(nil, Options{})
	base := [4]string{`"partner" "t1" "c1"`, http.MethodPost, "/v1/returns", "key-1"}
	variants := [][4]string{
		base,
		{`"partner" "t2" "c1"`, base[1], base[2], base[3]},
		{base[0], http.MethodPut, base[2], base[3]},
		{base[0], base[1], "/v1/refunds", base[3]},
		{base[0], base[1], base[2], "key-2"},
		// Shifting bytes between parts must not collide.
		{base[0], base[1], base[2] + "k", "ey-1"},
	}
	seen := map[string]int{}
	shape := regexp.MustCompile(`^` + regexp.QuoteMeta(DefaultKeyPrefix) + `[0-9a-f]{64}$`)
	for i, v := range variants {
		k := s.recordKey(v[0], v[1], v[2], v[3])
		if !shape.MatchString(k) {
			t.Errorf("recordKey(%q) = %q, want prefix and 64 hex digits", v, k)
		}
		if j, dup := seen[k]; dup {
			t.Errorf("variants %d and %d share record key %s", j, i, k)
		}
		seen[k] = i
	}
}

func TestPrincipalScope(t *testing.T) {
	t.Parallel()
	scope := func(p *auth.Principal) (string, bool) {
		r := httptest.NewRequest(http.MethodPost, "/", nil)
		if p != nil {
			r = r.WithContext(auth.WithPrincipal(r.Context(), *p))
		}
		return PrincipalScope(r)
	}
	if _, ok := scope(nil); ok {
		t.Error("anonymous request got a scope, want refusal")
	}
	if _, ok := scope(&auth.Principal{Audience: auth.Partner}); ok {
		t.Error("principal without subject got a scope, want refusal")
	}
	a, _ := scope(&auth.Principal{Audience: auth.Partner, Tenant: "t1", Subject: "c1"})
	b, _ := scope(&auth.Principal{Audience: auth.Partner, Tenant: "t2", Subject: "c1"})
	c, _ := scope(&auth.Principal{Audience: auth.Storefront, Subject: "c1"})
	d, _ := scope(&auth.Principal{Audience: auth.Partner, Tenant: `t1" "c1`, Subject: "c1"})
	if a == b || a == c || b == c || a == d {
		t.Errorf("scopes collide: %q %q %q %q", a, b, c, d)
	}
}
