package vendorhttp_test

import (
	"errors"
	"io"
	"math"
	"strings"
	"testing"
	"testing/iotest"
	"time"
	"unicode/utf8"

	"github.com/retailbridge/retailbridge/pkg/vendorhttp"
)

// TestParseRetryAfter covers every form the connectors' former copies read (Stripe's, NetSuite's,
// the warehouse's and Loop's delay-seconds and HTTP-dates; Shopify's fractional seconds) and what
// none of them may take for advice.
func TestParseRetryAfter(t *testing.T) {
	t.Parallel()
	now := time.Date(2026, 3, 14, 12, 0, 0, 0, time.UTC)
	for _, tt := range []struct {
		in   string
		want time.Duration
	}{
		{"", 0},
		{"2", 2 * time.Second},
		{"30", 30 * time.Second},
		{" 30 ", 30 * time.Second},
		{"0", 0},
		{"2.0", 2 * time.Second},                // Shopify
		{"0.5", 500 * time.Millisecond},         // Shopify, under a second
		{"1.", time.Second},                     // a bare point still reads as seconds
		{"-1", 0},                               // negative: no advice
		{"-0.5", 0},                             //
		{"+2", 0},                               // not delay-seconds
		{"1e3", 0},                              // ParseFloat would take it; HTTP does not
		{"Inf", 0},                              //
		{"NaN", 0},                              //
		{"0x10", 0},                             //
		{"1.2.3", 0},                            //
		{".", 0},                                //
		{"soon", 0},                             // garbage
		{"99999999999999999999", math.MaxInt64}, // longer than a Duration: the longest, never negative
		{"Sat, 14 Mar 2026 12:00:30 GMT", 30 * time.Second},
		{"Sat, 14 Mar 2026 12:05:00 GMT", 5 * time.Minute},
		{"Saturday, 14-Mar-26 12:00:30 GMT", 30 * time.Second}, // RFC 850, which HTTP still accepts
		{"Sat Mar 14 12:00:30 2026", 30 * time.Second},         // asctime
		{"Sat, 14 Mar 2026 12:00:00 GMT", 0},                   // now: nothing to wait
		{"Sat, 14 Mar 2026 11:00:00 GMT", 0},                   // past
		{"14 Mar 2026 12:00:30", 0},                            // not an HTTP-date
	} {
		if got := vendorhttp.ParseRetryAfter(tt.in, now); got != tt.want {
			t.Errorf("ParseRetryAfter(%q) = %v; want %v", tt.in, got, tt.want)
		}
	}
}

func TestReadBody(t *testing.T) {
	t.Parallel()
	for _, tt := range []struct {
		name, body string
		want       string
		tooLarge   bool
	}{
		{"empty", "", "", false},
		{"under the limit", "abc", "abc", false},
		{"at the limit", "abcdefgh", "abcdefgh", false},
		{"over the limit", "abcdefghi", "abcdefgh", true},
	} {
		got, err := vendorhttp.ReadBody(strings.NewReader(tt.body), 8)
		if string(got) != tt.want || errors.Is(err, vendorhttp.ErrTooLarge) != tt.tooLarge || (err != nil) != tt.tooLarge {
			t.Errorf("%s: ReadBody = %q, %v; want %q, too large %t", tt.name, got, err, tt.want, tt.tooLarge)
		}
	}
	cut := errors.New("connection reset")
	if _, err := vendorhttp.ReadBody(iotest.ErrReader(cut), 8); !errors.Is(err, cut) || errors.Is(err, vendorhttp.ErrTooLarge) {
		t.Errorf("a broken read: err = %v; want the transport's error", err)
	}
	if _, err := vendorhttp.ReadBody(io.MultiReader(strings.NewReader("abc"), iotest.ErrReader(cut)), 8); !errors.Is(err, cut) {
		t.Errorf("a read broken part way: err = %v; want the transport's error", err)
	}
}

func TestExcerpt(t *testing.T) {
	t.Parallel()
	long := strings.Repeat("a", 511) + "é" + strings.Repeat("b", 100) // é's two bytes straddle byte 512
	for _, tt := range []struct {
		name, in, want string
	}{
		{"empty", "", ""},
		{"short", `{"error":"bad"}`, `{"error":"bad"}`},
		{"newlines and controls", "line1\nline2\r\x1b[31m\tend", "line1 line2  [31m end"},
		{"invalid UTF-8", "ok\xff\xfeok", "ok\uFFFDok"},
		{"exactly 512", strings.Repeat("x", 512), strings.Repeat("x", 512)},
		{"cut", strings.Repeat("x", 600), strings.Repeat("x", 512) + "…"},
		{"cut inside a character", long, strings.Repeat("a", 511) + "…"},
	} {
		got := vendorhttp.Excerpt([]byte(tt.in))
		if got != tt.want {
			t.Errorf("%s: Excerpt = %q; want %q", tt.name, got, tt.want)
		}
		if !utf8.ValidString(got) {
			t.Errorf("%s: Excerpt is not valid UTF-8", tt.name)
		}
	}
}

// TestEventID pins ids already published: a changed derivation would give a redelivery across
// a deploy a new id, and the broker would publish it twice.
func TestEventID(t *testing.T) {
	t.Parallel()
	if got, want := vendorhttp.EventID("stripe", "evt_1", "retailbridge.payments.refund.updated.v1"), "e8ea22f3e2d1e9b3839caa1bb7f963f6"; got != want {
		t.Errorf("EventID = %s; want %s", got, want)
	}
	if got, want := vendorhttp.EventID("loop"), "254637f72efcddb6a545bccbd0c3bb84"; got != want {
		t.Errorf("EventID of no parts = %s; want %s", got, want)
	}
	distinct := map[string][]string{}
	for _, parts := range [][]string{{"stripe", "a", "bc"}, {"stripe", "ab", "c"}, {"stripe", "abc"}, {"loop", "a", "bc"}, {"stripea", "bc"}} {
		id := vendorhttp.EventID(parts[0], parts[1:]...)
		if prev, ok := distinct[id]; ok {
			t.Errorf("EventID(%q) = EventID(%q) = %s", parts, prev, id)
		}
		distinct[id] = parts
	}
}
