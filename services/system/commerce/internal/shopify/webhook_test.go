package shopify

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"os"
	"testing"

	"github.com/google/go-cmp/cmp"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/testing/protocmp"

	"github.com/retailbridge/retailbridge/pkg/errs"
	canonicalv1 "github.com/retailbridge/retailbridge/pkg/gen/retailbridge/canonical/v1"
	"github.com/retailbridge/retailbridge/pkg/money"
)

func readTestdata(tb testing.TB, name string) []byte {
	tb.Helper()
	b, err := os.ReadFile("testdata/" + name)
	if err != nil {
		tb.Fatal(err)
	}
	return b
}

func sign(secret string, body []byte) string {
	mac := hmac.New(sha256.New, []byte(secret))
	mac.Write(body)
	return base64.StdEncoding.EncodeToString(mac.Sum(nil))
}

// TestOrderFromWebhook maps a recorded orders/updated payload, with fields Retailbridge ignores,
// a discounted line and a cancelled fulfilment.
func TestOrderFromWebhook(t *testing.T) {
	t.Parallel()
	delivered := ts(t, "2026-01-18T16:15:32Z")
	want := &canonicalv1.Order{
		Id: "5820071100512", Name: "#4471",
		Customer:          &canonicalv1.CustomerRef{Id: "7241187033184", Email: "grace.hopper@example.com"},
		Channel:           canonicalv1.Channel_CHANNEL_MOBILE_APP,
		Source:            "iphone",
		FulfillmentModel:  canonicalv1.FulfillmentModel_FULFILLMENT_MODEL_SHIP_TO_HOME,
		FinancialStatus:   canonicalv1.FinancialStatus_FINANCIAL_STATUS_PARTIALLY_REFUNDED,
		FulfillmentStatus: canonicalv1.FulfillmentStatus_FULFILLMENT_STATUS_FULFILLED,
		Lines: []*canonicalv1.OrderLine{
			{Id: "14402208350304", Sku: "APP-031", Title: "Rust Jeans", Quantity: 2, UnitPrice: money.New(4799, "USD"),
				FulfilledQuantity: 2, RefundedQuantity: 1, DeliveredAt: delivered, Kind: canonicalv1.LineKind_LINE_KIND_STOCKED},
			{Id: "14402208383072", Sku: "APP-010", Title: "Navy Hoodie", Quantity: 1, UnitPrice: money.New(8398, "USD"),
				FulfilledQuantity: 1, DeliveredAt: delivered, Kind: canonicalv1.LineKind_LINE_KIND_STOCKED},
		},
		Total:       money.New(18996, "USD"),
		CreatedAt:   ts(t, "2026-01-12T14:31:05Z"),
		UpdatedAt:   ts(t, "2026-01-20T21:02:11Z"),
		DeliveredAt: delivered,
		ShippingAddress: &canonicalv1.Address{Name: "Grace Hopper", Lines: []string{"210 Mercer Street"}, City: "New York",
			Region: "NY", PostalCode: "10012", CountryCode: "US", Phone: "+15550000001"},
	}
	var p webhookOrder
	if err := decodeStrict(readTestdata(t, "webhook_orders_updated.json"), &p); err != nil {
		t.Fatal(err)
	}
	got, err := toCanonicalOrderFromWebhook(&p)
	if err != nil {
		t.Fatalf("toCanonicalOrderFromWebhook: %v", err)
	}
	if diff := cmp.Diff(want, got, protocmp.Transform()); diff != "" {
		t.Errorf("order mismatch (-want +got):\n%s", diff)
	}
}

func TestRefundFromWebhook(t *testing.T) {
	t.Parallel()
	var p webhookRefund
	if err := decodeStrict(readTestdata(t, "webhook_refunds_create.json"), &p); err != nil {
		t.Fatal(err)
	}
	got, err := toCanonicalRefundFromWebhook(&p)
	if err != nil {
		t.Fatalf("toCanonicalRefundFromWebhook: %v", err)
	}
	want := &canonicalv1.Refund{Id: "1022470733920", OrderId: "5820071100512", Amount: money.New(6000, "USD"),
		Status: canonicalv1.RefundStatus_REFUND_STATUS_SUCCEEDED, GatewayRefundId: "re_3QxL",
		CreatedAt: ts(t, "2026-01-20T21:02:10Z")}
	if diff := cmp.Diff(want, got, protocmp.Transform()); diff != "" {
		t.Errorf("refund mismatch (-want +got):\n%s", diff)
	}
	p.Transactions = p.Transactions[2:] // only the failed one
	if got, _ := toCanonicalRefundFromWebhook(&p); got.GetStatus() != canonicalv1.RefundStatus_REFUND_STATUS_FAILED ||
		got.GetAmount().GetAmountMinor() != 0 {
		t.Errorf("refund whose only transaction failed: %v; want FAILED, nothing moved", got)
	}
}

func TestReceiveWebhook(t *testing.T) {
	t.Parallel()
	c := New(Config{BaseURL: "https://demo.myshopify.com", APIVersion: "2026-07", WebhookSecret: "whsec-1"}, Deps{})
	refund := readTestdata(t, "webhook_refunds_create.json")
	headers := func(topic, sig string) map[string]string {
		return map[string]string{"X-Shopify-Topic": topic, "X-Shopify-Hmac-Sha256": sig,
			"X-Shopify-Webhook-Id": "b54557e4-8a5f-4bf7-9d70-bcd043aa0001", "X-Shopify-Triggered-At": "2026-01-20T21:02:12.123Z",
			"X-Shopify-Shop-Domain": "demo.myshopify.com", "X-Shopify-API-Version": "2026-07"}
	}
	tampered := append([]byte(nil), refund...)
	tampered[len(tampered)-3] = ' '
	tests := []struct {
		name    string
		headers map[string]string
		body    []byte
		reason  string
		facts   int
	}{
		{"valid", headers(TopicRefundsCreate, sign("whsec-1", refund)), refund, "", 1},
		{"header names in any case", map[string]string{"x-shopify-topic": TopicRefundsCreate, "x-shopify-hmac-sha256": sign("whsec-1", refund),
			"x-shopify-webhook-id": "d-1", "x-shopify-shop-domain": "demo.myshopify.com", "x-shopify-api-version": "2026-07"}, refund, "", 1},
		{"unknown topic", headers("products/update", sign("whsec-1", []byte(`{"id":1}`))), []byte(`{"id":1}`), "", 0},
		{"tampered body", headers(TopicRefundsCreate, sign("whsec-1", refund)), tampered, "webhook_signature_invalid", 0},
		{"wrong secret", headers(TopicRefundsCreate, sign("whsec-2", refund)), refund, "webhook_signature_invalid", 0},
		{"no signature", headers(TopicRefundsCreate, ""), refund, "webhook_signature_invalid", 0},
		{"signature not base64", headers(TopicRefundsCreate, "%%%"), refund, "webhook_signature_invalid", 0},
		{"delivery id not printable", with(headers(TopicRefundsCreate, sign("whsec-1", refund)), "X-Shopify-Webhook-Id", "a\x01b"),
			refund, "webhook_delivery_id_invalid", 0},
		{"payload of another topic", headers(TopicOrdersUpdated, sign("whsec-1", []byte(`{"id":"x"}`))), []byte(`{"id":"x"}`),
			"webhook_payload_invalid", 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			d, err := c.ReceiveWebhook(tt.headers, tt.body)
			if tt.reason != "" {
				if e := errs.As(err); e == nil || e.Reason != tt.reason {
					t.Errorf("got %v, %v; want %s", d, err, tt.reason)
				}
				return
			}
			if err != nil || len(d.Facts) != tt.facts || d.ID == "" {
				t.Fatalf("got %+v, %v; want a delivery with %d facts", d, err, tt.facts)
			}
			if tt.facts == 1 {
				f := d.Facts[0]
				r, _ := f.Data.(*canonicalv1.Refund)
				if f.Type != EventRefundCreated || f.Subject != "refund/1022470733920" || !proto.Equal(r.GetAmount(), money.New(6000, "USD")) ||
					!f.Time.Equal(ts(t, "2026-01-20T21:02:10Z").AsTime()) {
					t.Errorf("fact %+v", f)
				}
			}
		})
	}
	unsigned := New(Config{BaseURL: "https://demo.myshopify.com", APIVersion: "2026-07"}, Deps{})
	_, err := unsigned.ReceiveWebhook(headers(TopicRefundsCreate, sign("", refund)), refund)
	if e := errs.As(err); e == nil || e.Kind != errs.Unavailable || e.Reason != "webhook_secret_not_configured" || e.Retryable {
		t.Errorf("without a secret: %v; want Unavailable webhook_secret_not_configured, not retryable", err)
	}
}

func with(h map[string]string, name, value string) map[string]string {
	out := map[string]string{}
	for k, v := range h {
		out[k] = v
	}
	if value == "" {
		delete(out, name)
	} else {
		out[name] = value
	}
	return out
}

// shopifyLibraryRules is Shopify's own verification, vendored as a table: @shopify/shopify-api
// 15.0.0 (npm, MIT), lib/webhooks/validate.ts. validate() first checks the HMAC
// (lib/utils/hmac-validator.ts: base64 HMAC-SHA256 of the raw body, timing-safe compare; a
// failure is reason "invalid_hmac", answered 401 by Shopify's app frameworks), then
// checkWebhooksHeaders requires X-Shopify-Hmac-Sha256, X-Shopify-Topic, X-Shopify-Shop-Domain,
// X-Shopify-API-Version and X-Shopify-Webhook-Id (reason "missing_headers", answered 400) and
// reads X-Shopify-Name, X-Shopify-Triggered-At and X-Shopify-Event-Id only if present.
var shopifyLibraryRules = []struct {
	drop   string // header removed from a complete, correctly signed delivery
	accept bool
}{
	{drop: "", accept: true},
	{drop: "X-Shopify-Hmac-Sha256", accept: false},
	{drop: "X-Shopify-Topic", accept: false},
	{drop: "X-Shopify-Shop-Domain", accept: false},
	{drop: "X-Shopify-API-Version", accept: false},
	{drop: "X-Shopify-Webhook-Id", accept: false},
	{drop: "X-Shopify-Triggered-At", accept: true},
	{drop: "X-Shopify-Event-Id", accept: true},
	{drop: "X-Shopify-Name", accept: true},
}

// TestWebhookHeadersFollowShopifyLibrary holds ReceiveWebhook to shopifyLibraryRules: each
// header dropped in turn from a complete delivery is accepted or refused as the library does, a
// refusal for a missing signature is unauthenticated and one for a missing header is invalid
// naming the header.
func TestWebhookHeadersFollowShopifyLibrary(t *testing.T) {
	t.Parallel()
	c := New(Config{BaseURL: "https://demo.myshopify.com", APIVersion: "2026-07", WebhookSecret: "whsec-1"}, Deps{})
	body := readTestdata(t, "webhook_refunds_create.json")
	complete := map[string]string{
		"X-Shopify-Hmac-Sha256": sign("whsec-1", body), "X-Shopify-Topic": TopicRefundsCreate,
		"X-Shopify-Shop-Domain": "demo.myshopify.com", "X-Shopify-API-Version": "2026-07",
		"X-Shopify-Webhook-Id": "b54557e4-8a5f-4bf7-9d70-bcd043aa0001", "X-Shopify-Triggered-At": "2026-01-20T21:02:12.123Z",
		"X-Shopify-Event-Id": "98880550-7158-44d4-b7cd-2c97c8a091b5", "X-Shopify-Name": "refund-sync",
	}
	// validateHmacFromRequest refuses an empty body first ("missing_body"), signed or not.
	if _, err := c.ReceiveWebhook(with(complete, "X-Shopify-Hmac-Sha256", sign("whsec-1", nil)), nil); errs.As(err) == nil ||
		errs.As(err).Kind != errs.Invalid {
		t.Errorf("empty body: %v; want invalid, as Shopify's library refuses it", err)
	}
	for _, rule := range shopifyLibraryRules {
		t.Run("without "+rule.drop, func(t *testing.T) {
			t.Parallel()
			_, err := c.ReceiveWebhook(with(complete, rule.drop, ""), body)
			if rule.accept {
				if err != nil {
					t.Fatalf("refused: %v; Shopify's library accepts it", err)
				}
				return
			}
			e := errs.As(err)
			switch {
			case e == nil:
				t.Fatal("accepted; Shopify's library refuses it")
			case rule.drop == "X-Shopify-Hmac-Sha256":
				if e.Kind != errs.Unauthenticated {
					t.Errorf("got %v, want unauthenticated", e)
				}
			case e.Kind != errs.Invalid || len(e.Fields) != 1 || e.Fields[0].Field != "headers."+rule.drop:
				t.Errorf("got %v (fields %v), want invalid naming headers.%s", e, e.Fields, rule.drop)
			}
		})
	}
}
