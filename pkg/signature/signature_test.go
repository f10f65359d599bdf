package signature_test

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/retailbridge/retailbridge/pkg/signature"
)

// shopifyLibraryCheck is @shopify/shopify-api 15.0.0's webhook HMAC check, transcribed:
// lib/utils/hmac-validator.ts validateHmacString computes createSHA256HMAC(apiSecretKey, rawBody,
// HashFormat.Base64) and lib/auth/oauth/safe-compare.ts compares the two strings (as JSON
// strings, byte by byte, only when their lengths match).
func shopifyLibraryCheck(secret, body []byte, header string) bool {
	if header == "" {
		return false // getHeader returns undefined: "missing_hmac"
	}
	mac := hmac.New(sha256.New, secret)
	mac.Write(body)
	return base64.StdEncoding.EncodeToString(mac.Sum(nil)) == header
}

// loopDocumentedCheck is Loop's published sample (docs.loopreturns.com, "Validate webhooks from
// Loop"): crypto.createHmac('sha256', secret).update(body).digest('base64') compared with
// X-Loop-Signature by assert.equal. It is the same rule as Shopify's.
var loopDocumentedCheck = shopifyLibraryCheck

func TestBase64BodyAgreesWithVendorChecks(t *testing.T) {
	t.Parallel()
	secret, other := []byte("shpss_app_secret"), []byte("someone_else")
	body := []byte(`{"id":820982911946154500,"note":"ünïcödé","amount":"10.00"}`)
	good := signature.SignBase64Body(secret, body)
	raw, _ := base64.StdEncoding.DecodeString(good)
	// The last character of a 32-byte MAC's base64 carries two unused bits: setting them gives
	// another text that Go's lenient decoder reads as the same bytes.
	nonCanonical := good[:len(good)-2] + string(good[len(good)-2]+1) + "="
	variants := map[string]string{
		"genuine":                 good,
		"other secret":            signature.SignBase64Body(other, body),
		"empty":                   "",
		"without padding":         strings.TrimRight(good, "="),
		"url-safe alphabet":       base64.URLEncoding.EncodeToString(raw),
		"hex":                     hex.EncodeToString(raw),
		"line break inside":       good[:10] + "\n" + good[10:],
		"trailing line break":     good + "\n",
		"non-canonical last char": nonCanonical,
		"lower-cased":             strings.ToLower(good),
		"doubled":                 good + good,
	}
	for name, h := range variants {
		for _, check := range []struct {
			vendor string
			ok     bool
		}{{"Shopify's library", shopifyLibraryCheck(secret, body, h)}, {"Loop's sample", loopDocumentedCheck(secret, body, h)}} {
			ours := signature.VerifyBase64Body("X-Sig", h, body, [][]byte{secret}) == nil
			if ours != check.ok {
				t.Errorf("%s (%q): %s says %v, we say %v", name, h, check.vendor, check.ok, ours)
			}
		}
	}
	if err := signature.VerifyBase64Body("X-Sig", good, body, nil); err != signature.ErrNoSecret {
		t.Errorf("no secret: %v, want ErrNoSecret", err)
	}
}

func TestTimestamped(t *testing.T) {
	t.Parallel()
	now := time.Unix(1_800_000_000, 0)
	secret := []byte("whsec_x")
	body := []byte(`{"id":"evt_1"}`)
	good := signature.SignTimestamped(now, body, secret)
	tests := []struct {
		name, header string
		at           time.Time
		ok, stale    bool
	}{
		{name: "genuine", header: good, at: now, ok: true},
		{name: "old within tolerance", header: good, at: now.Add(5 * time.Minute), ok: true},
		{name: "stale", header: good, at: now.Add(5*time.Minute + time.Second), stale: true},
		{name: "ahead of our clock", header: good, at: now.Add(-time.Hour), ok: true},
		{name: "repeated t, last counts", header: "t=5," + good, at: now, ok: true},
		{name: "unknown scheme", header: good + ",v0=00", at: now, ok: true},
		{name: "not key=value", header: good + ",v0", at: now},
		{name: "no t", header: strings.SplitN(good, ",", 2)[1], at: now},
		{name: "rolled: two secrets", header: signature.SignTimestamped(now, body, []byte("old"), secret), at: now, ok: true},
	}
	for _, tc := range tests {
		err := signature.VerifyTimestamped("X-Sig", tc.header, body, [][]byte{secret}, tc.at, 5*time.Minute)
		switch {
		case tc.ok && err != nil:
			t.Errorf("%s: %v, want accepted", tc.name, err)
		case !tc.ok && err == nil:
			t.Errorf("%s: accepted", tc.name)
		case tc.stale != errors.Is(err, signature.ErrStale):
			t.Errorf("%s: %v, stale=%v", tc.name, err, tc.stale)
		}
	}
}
