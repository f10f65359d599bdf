// Package signature verifies vendor webhook signatures by the rules of the vendors' own
// libraries, in one place, so that every connector accepts exactly what the vendor's library
// would: no stricter (a genuine delivery refused is a lost event) and no looser.
//
// Two schemes exist among Retailbridge's vendors:
//
//   - Timestamped: "t=<unix seconds>,v1=<hex HMAC-SHA256(secret, "<t>.<raw body>")>", Stripe's
//     Stripe-Signature (and the warehouse's, which copies it), parsed exactly as stripe-go v85
//     (webhook/client.go, parseSignatureHeader and validatePayload) parses it.
//   - Base64Body: base64(HMAC-SHA256(secret, raw body)), Shopify's X-Shopify-Hmac-Sha256 and
//     Loop's X-Loop-Signature, compared as the base64 text both vendors' published checks compare
//     (@shopify/shopify-api's safeCompare of the base64 strings; Loop's documented sample's
//     string equality), so a non-canonical encoding of the right bytes is refused as they refuse it.
//
// Every function computes the MAC under every secret and compares it with every candidate,
// whatever matches first, so timing says nothing about which secret, if any, was right.
package signature

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"
)

// ErrStale marks a signature that matches but is older than the tolerance.
var ErrStale = errors.New("signature is older than the tolerance")

// ErrNoSecret is returned when no secret is configured: nothing can verify.
var ErrNoSecret = errors.New("no webhook signing secret is configured")

// Timestamped is a parsed timestamped signature header.
type Timestamped struct {
	// Time is the last t element (stripe-go keeps the last of several).
	Time int64
	// V1 holds every v1 element that is hex; others are skipped.
	V1 [][]byte

	hasTime bool
}

// ParseTimestamped reads a timestamped signature header by stripe-go's rules: elements separated
// by ",", each exactly one "key=value" or the header is invalid; t must be an integer, and a
// later t replaces an earlier one; v1 values that are not hex are skipped; elements of other
// schemes (v0, sent by Stripe in test mode, or future ones) are ignored, with no trimming of
// whitespace (" v1=" is another scheme); at least one v1 is needed. A header without t cannot
// verify: stripe-go takes its time as the zero time, always past the tolerance. name is the
// header's name, for messages.
func ParseTimestamped(name, header string) (Timestamped, error) {
	var sh Timestamped
	if header == "" {
		return sh, errors.New("no " + name + " header")
	}
	for _, pair := range strings.Split(header, ",") {
		parts := strings.Split(pair, "=")
		if len(parts) != 2 {
			return sh, errors.New(name + " is malformed: each element is one key=value")
		}
		switch parts[0] {
		case "t":
			secs, err := strconv.ParseInt(parts[1], 10, 64)
			if err != nil {
				return sh, errors.New(name + " is malformed: t is not a number")
			}
			sh.Time, sh.hasTime = secs, true
		case "v1":
			if b, err := hex.DecodeString(parts[1]); err == nil {
				sh.V1 = append(sh.V1, b)
			}
		}
	}
	if len(sh.V1) == 0 {
		return sh, errors.New(name + " has no v1 signature")
	}
	if !sh.hasTime {
		return sh, errors.New(name + " has no timestamp")
	}
	return sh, nil
}

// VerifyTimestamped checks header over body under any of secrets, then the signature's age: it
// accepts exactly what stripe-go's ValidatePayloadWithTolerance accepts for one of the secrets.
// The MAC covers t as a decimal number, as stripe-go computes it (leading zeros do not matter);
// only the age is bounded, so a sender's clock ahead of ours is not refused. The signature is
// checked before the time, so ErrStale means a genuine delivery, replayed late.
func VerifyTimestamped(name, header string, body []byte, secrets [][]byte, now time.Time, tolerance time.Duration) error {
	sh, err := ParseTimestamped(name, header)
	if err != nil {
		return err
	}
	if len(secrets) == 0 {
		return ErrNoSecret
	}
	ok := false
	for _, secret := range secrets {
		mac := hmac.New(sha256.New, secret)
		mac.Write([]byte(strconv.FormatInt(sh.Time, 10)))
		mac.Write([]byte("."))
		mac.Write(body)
		want := mac.Sum(nil)
		for _, sig := range sh.V1 {
			ok = hmac.Equal(sig, want) || ok
		}
	}
	if !ok {
		return errors.New(name + " does not match the body under any configured secret")
	}
	signed := time.Unix(sh.Time, 0)
	if age := now.Sub(signed); age > tolerance {
		return fmt.Errorf("%w: signed at %s, %v before now; the tolerance is %v",
			ErrStale, signed.UTC().Format(time.RFC3339), age.Round(time.Second), tolerance)
	}
	return nil
}

// SignTimestamped is the header value a sender computes for body at t under each secret.
func SignTimestamped(t time.Time, body []byte, secrets ...[]byte) string {
	ts := strconv.FormatInt(t.Unix(), 10)
	v := "t=" + ts
	for _, secret := range secrets {
		mac := hmac.New(sha256.New, secret)
		mac.Write([]byte(ts + "."))
		mac.Write(body)
		v += ",v1=" + hex.EncodeToString(mac.Sum(nil))
	}
	return v
}

// VerifyBase64Body checks that header is the standard, padded base64 of HMAC-SHA256(secret, body)
// under any of secrets, compared as text in constant time. header arrives trimmed of surrounding
// whitespace by HTTP; nothing else is forgiven.
func VerifyBase64Body(name, header string, body []byte, secrets [][]byte) error {
	if header == "" {
		return errors.New("no " + name + " header")
	}
	if len(secrets) == 0 {
		return ErrNoSecret
	}
	ok := false
	for _, secret := range secrets {
		ok = hmac.Equal([]byte(header), []byte(SignBase64Body(secret, body))) || ok
	}
	if !ok {
		return errors.New(name + " does not match the body under any configured secret")
	}
	return nil
}

// SignBase64Body is base64(HMAC-SHA256(secret, body)).
func SignBase64Body(secret, body []byte) string {
	mac := hmac.New(sha256.New, secret)
	mac.Write(body)
	return base64.StdEncoding.EncodeToString(mac.Sum(nil))
}
