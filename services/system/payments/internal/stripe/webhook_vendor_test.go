package stripe

import (
	"encoding/hex"
	"math/rand/v2"
	"net/http"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/stripe/stripe-go/v85/webhook"
)

// Stripe's own Go library is the oracle for what a Stripe-Signature header means: these tests
// sign with stripe-go's webhook.GenerateTestSignedPayload and require our verifier to accept
// exactly what stripe-go's webhook.ValidatePayloadWithTolerance accepts, header by header.

const vendorSecret = "whsec_vendor_oracle"

func vendorClient(tb testing.TB) *Client {
	tb.Helper()
	c, err := New(Config{BaseURL: "http://stripe.test", SecretKey: "sk_test_x", WebhookSecrets: []string{vendorSecret}},
		http.DefaultClient, nil, time.Now) // stripe-go reads time.Now too
	if err != nil {
		tb.Fatal(err)
	}
	return c
}

func stripeSigned(body []byte, at time.Time, secret, scheme string) string {
	return webhook.GenerateTestSignedPayload(&webhook.UnsignedPayload{
		Payload: body, Secret: secret, Timestamp: at, Scheme: scheme}).Header
}

// elements returns the parts of a header: its t element and its signature element.
func elements(header string) (t, sig string) {
	t, sig, _ = strings.Cut(header, ",")
	return t, sig
}

func TestVerifyAcceptsStripeGoSignatures(t *testing.T) {
	t.Parallel()
	c := vendorClient(t)
	body := readEvent(t, "event_refund_updated.json")
	for _, at := range []time.Duration{0, -time.Minute, -DefaultSignatureTolerance + 30*time.Second} {
		h := stripeSigned(body, time.Now().Add(at), vendorSecret, "")
		if err := c.verify(h, body); err != nil {
			t.Errorf("signed %v from now by stripe-go: %v", at, err)
		}
	}
}

// TestVerifyAgreesWithStripeGo runs named header variants, then random combinations of header
// elements, through both verifiers and requires the same verdict on each.
func TestVerifyAgreesWithStripeGo(t *testing.T) {
	t.Parallel()
	c := vendorClient(t)
	body := readEvent(t, "event_refund_updated.json")
	tampered := append([]byte(nil), body...)
	tampered[len(tampered)/2] ^= 1
	now := time.Now()
	good := stripeSigned(body, now, vendorSecret, "")
	tGood, v1Good := elements(good)
	_, v0 := elements(stripeSigned(body, now, vendorSecret, "v0"))
	_, v1Other := elements(stripeSigned(body, now, "whsec_someone_else", ""))
	_, v1Upper := elements(good)
	v1Upper = "v1=" + strings.ToUpper(strings.TrimPrefix(v1Upper, "v1="))
	tStale, v1Stale := elements(stripeSigned(body, now.Add(-DefaultSignatureTolerance-time.Minute), vendorSecret, ""))
	tAhead, v1Ahead := elements(stripeSigned(body, now.Add(DefaultSignatureTolerance+time.Minute), vendorSecret, ""))
	secs := strconv.FormatInt(now.Unix(), 10)

	named := []struct {
		name, header string
		body         []byte
	}{
		{"genuine", good, body},
		{"tampered body", good, tampered},
		{"other secret", tGood + "," + v1Other, body},
		{"rolled secret: two v1", tGood + "," + v1Other + "," + v1Good, body},
		{"v0 only", tGood + "," + v0, body},
		{"v0 beside v1", tGood + "," + v0 + "," + v1Good, body},
		{"v1 before t", v1Good + "," + tGood, body},
		{"repeated t, last right", "t=1," + good, body},
		{"repeated t, last wrong", good + ",t=1", body},
		{"unknown element", good + ",foo=bar", body},
		{"unknown scheme v2", good + ",v2=" + hex.EncodeToString([]byte("x")), body},
		{"element without =", good + ",v0", body},
		{"element with two =", good + ",x=a=b", body},
		{"trailing comma", good + ",", body},
		{"empty", "", body},
		{"garbage", "garbage", body},
		{"space before v1", tGood + ", " + v1Good, body},
		{"space before t", " " + good, body},
		{"v1 not hex beside a good one", good + ",v1=zz", body},
		{"empty v1", tGood + ",v1=", body},
		{"uppercase hex", tGood + "," + v1Upper, body},
		{"t with leading zeros", "t=000" + secs + "," + v1Good, body},
		{"t empty", "t=," + v1Good, body},
		{"t not a number", "t=soon," + v1Good, body},
		{"T upper case", "T=" + secs + "," + v1Good, body},
		{"no t", v1Good, body},
		{"stale", tStale + "," + v1Stale, body},
		{"ahead of the clock", tAhead + "," + v1Ahead, body},
		{"duplicate v1", good + "," + v1Good, body},
	}
	agree := func(name, header string, body []byte) {
		t.Helper()
		theirs := webhook.ValidatePayloadWithTolerance(body, header, vendorSecret, DefaultSignatureTolerance)
		ours := c.verify(header, body)
		if (theirs == nil) != (ours == nil) {
			t.Errorf("%s: header %q: stripe-go says %v, we say %v", name, header, theirs, ours)
		}
	}
	for _, tc := range named {
		agree(tc.name, tc.header, tc.body)
	}

	// Random headers built from the same elements, in any order and number.
	pool := []string{tGood, v1Good, v0, v1Other, v1Upper, tStale, v1Stale, tAhead, v1Ahead, "t=1", "t=soon",
		"foo=bar", "v0", "x=a=b", "", " " + v1Good, "v1=zz", "v1=", "T=" + secs}
	accepted := randomHeaders(t, pool, body, agree)
	t.Logf("%d named and %d random headers agree with stripe-go (%d random accepted)", len(named), randomCombos, accepted)
}

const randomCombos = 2000

// randomHeaders joins 1–4 elements of pool, randomCombos times with a fixed seed, runs agree on
// each and returns how many stripe-go accepted; a mix that never or always verifies fails.
func randomHeaders(t *testing.T, pool []string, body []byte, agree func(name, header string, body []byte)) int {
	t.Helper()
	rng := rand.New(rand.NewPCG(8, 16))
	accepted := 0
	for range randomCombos {
		parts := make([]string, 1+rng.IntN(4))
		for i := range parts {
			parts[i] = pool[rng.IntN(len(pool))]
		}
		h := strings.Join(parts, ",")
		if webhook.ValidatePayloadWithTolerance(body, h, vendorSecret, DefaultSignatureTolerance) == nil {
			accepted++
		}
		agree("random", h, body)
	}
	if accepted == 0 || accepted == randomCombos {
		t.Errorf("stripe-go accepted %d of %d random headers: the mix does not exercise both verdicts", accepted, randomCombos)
	}
	return accepted
}
