package stripe

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"strconv"
	"strings"
	"time"
)

// SignatureHeaderName is the header Stripe signs webhook deliveries with.
const SignatureHeaderName = "Stripe-Signature"

// DefaultSignatureTolerance is how old a signed timestamp Stripe's libraries accept.
const DefaultSignatureTolerance = 300 * time.Second

// DevWebhookSecret is the endpoint signing secret sandbox webhooks use by default.
const DevWebhookSecret = "whsec_retailbridge_sandbox"

// ComputeSignature is the v1 signature of payload sent at t: hex HMAC-SHA256, keyed with the
// endpoint's signing secret, over "{unix t}.{raw payload}".
func ComputeSignature(t time.Time, payload []byte, secret string) string {
	mac := hmac.New(sha256.New, []byte(secret))
	mac.Write([]byte(strconv.FormatInt(t.Unix(), 10)))
	mac.Write([]byte("."))
	mac.Write(payload)
	return hex.EncodeToString(mac.Sum(nil))
}

// SignatureHeader is the Stripe-Signature value for payload sent at t: "t=…,v1=…", with one v1
// per secret, as Stripe sends while an endpoint's secret is being rolled.
func SignatureHeader(t time.Time, payload []byte, secrets ...string) string {
	parts := []string{"t=" + strconv.FormatInt(t.Unix(), 10)}
	for _, secret := range secrets {
		parts = append(parts, "v1="+ComputeSignature(t, payload, secret))
	}
	return strings.Join(parts, ",")
}
