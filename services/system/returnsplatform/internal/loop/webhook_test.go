package loop

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"net/http"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/testing/protocmp"
	"google.golang.org/protobuf/types/known/timestamppb"

	"github.com/retailbridge/retailbridge/pkg/errs"
	canonicalv1 "github.com/retailbridge/retailbridge/pkg/gen/retailbridge/canonical/v1"
	"github.com/retailbridge/retailbridge/pkg/money"
)

func newTestClient(tb testing.TB, secret, previous string) *Client {
	tb.Helper()
	c, err := New(Config{BaseURL: "http://loop.test", APIKey: "k", WebhookSecret: secret, PreviousWebhookSecret: previous},
		http.DefaultClient, nil, nil)
	if err != nil {
		tb.Fatal(err)
	}
	return c
}

func sign(secret string, body []byte) string {
	mac := hmac.New(sha256.New, []byte(secret))
	mac.Write(body)
	return base64.StdEncoding.EncodeToString(mac.Sum(nil))
}

func readTestdata(tb testing.TB, name string) []byte {
	tb.Helper()
	b, err := os.ReadFile(filepath.Join("testdata", name))
	if err != nil {
		tb.Fatal(err)
	}
	return b
}

// A recorded Loop-shaped payload: numeric and string ids mixed, fields the connector does not
// use, and no webhook_id, so the body's hash identifies the delivery.
func TestParseWebhookRecordedPayload(t *testing.T) {
	t.Parallel()
	c := newTestClient(t, "s3cret", "")
	body := readTestdata(t, "return_updated_in_transit.json")
	h := http.Header{}
	h.Set(HeaderSignature, sign("s3cret", body))

	deliveryID, evs, err := c.ParseWebhook(h, body)
	if err != nil {
		t.Fatalf("ParseWebhook: %v", err)
	}
	if len(deliveryID) != len("sha256:")+32 {
		t.Errorf("delivery id %q; want the body's hash", deliveryID)
	}
	at := timestamppb.New(time.Date(2026, 3, 12, 8, 30, 0, 0, time.UTC))
	wantReturn := &canonicalv1.Return{
		Id: "ret_0001", OrderId: "5001", CustomerId: "7000001", State: "open",
		Method: canonicalv1.ReturnMethod_RETURN_METHOD_MAIL, RefundTotal: money.New(8997, "USD"),
		TrackingNumber: "9405511899223197428490",
		CreatedAt:      timestamppb.New(time.Date(2026, 3, 10, 14, 2, 11, 0, time.UTC)), UpdatedAt: at,
		ExternalIds: map[string]string{ExternalIDKey: "100123", LabelIDKey: "500777"},
		Lines: []*canonicalv1.ReturnLine{
			{OrderLineId: "9001", Sku: "APP-001", Quantity: 2, Reason: canonicalv1.ReturnReason_RETURN_REASON_SIZE_OR_FIT},
			{OrderLineId: "9002", Sku: "FTW-002", Quantity: 1, Reason: canonicalv1.ReturnReason_RETURN_REASON_DEFECTIVE, Note: "sole came off"},
		},
	}
	wantParcel := &canonicalv1.Shipment{
		Id: "500777", OrderId: "5001", Carrier: "USPS", TrackingNumber: "9405511899223197428490",
		Status: canonicalv1.ShipmentStatus_SHIPMENT_STATUS_IN_TRANSIT, ShippedAt: at,
		Lines: []*canonicalv1.ShipmentLine{{Sku: "APP-001", OrderLineId: "9001", Quantity: 2}, {Sku: "FTW-002", OrderLineId: "9002", Quantity: 1}},
	}
	want := []*canonicalv1.Event{
		mustEvent(t, EventID(deliveryID, TypeReturnUpdated), TypeReturnUpdated, at, wantReturn),
		mustEvent(t, EventID("parcel", "500777", "9405511899223197428490", "SHIPMENT_STATUS_IN_TRANSIT"), TypeParcelInTransit, at, wantParcel),
	}
	if diff := cmp.Diff(want, evs, protocmp.Transform()); diff != "" {
		t.Errorf("events mismatch (-want +got):\n%s", diff)
	}
}

func mustEvent(tb testing.TB, id, typ string, at *timestamppb.Timestamp, data proto.Message) *canonicalv1.Event {
	tb.Helper()
	// The references are typed: the return id Retailbridge sent as external_id, the order, and
	// Loop's own return id.
	refs := &canonicalv1.EventReferences{ReturnId: "ret_0001", OrderId: "5001", SystemRecordId: "100123"}
	ev, err := newEvent(id, typ, "return/ret_0001", at, data, refs)
	if err != nil {
		tb.Fatal(err)
	}
	return ev
}

func TestParseWebhookIgnoredTopics(t *testing.T) {
	t.Parallel()
	c := newTestClient(t, "s3cret", "")
	for _, body := range [][]byte{
		readTestdata(t, "label_updated.json"),
		[]byte(`{"topic":"return","trigger":"return.refunded","id":1}`),
		[]byte(`{"topic":"giftcard","trigger":"giftcard.requested","id":1}`),
	} {
		h := http.Header{}
		h.Set(HeaderSignature, sign("s3cret", body))
		id, evs, err := c.ParseWebhook(h, body)
		if err != nil || id == "" || len(evs) != 0 {
			t.Errorf("ParseWebhook(%s) = %q, %d events, %v; want a delivery id, no events, no error", body, id, len(evs), err)
		}
	}
}

func TestParseWebhookSecrets(t *testing.T) {
	t.Parallel()
	body := readTestdata(t, "return_updated_in_transit.json")
	tests := []struct {
		name              string
		current, previous string
		signedWith        string
		wantErr           bool
	}{
		{"current secret", "new", "old", "new", false},
		{"previous secret during rotation", "new", "old", "old", false},
		{"previous secret after rotation", "new", "", "old", true},
		{"unknown secret", "new", "old", "other", true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			c := newTestClient(t, tt.current, tt.previous)
			h := http.Header{}
			h.Set(HeaderSignature, sign(tt.signedWith, body))
			_, _, err := c.ParseWebhook(h, body)
			if tt.wantErr {
				if e := errs.As(err); e == nil || e.Kind != errs.Unauthenticated || e.Reason != "webhook_signature_invalid" {
					t.Errorf("err = %v; want unauthenticated/webhook_signature_invalid", err)
				}
			} else if err != nil {
				t.Errorf("err = %v; want nil", err)
			}
		})
	}
}

func TestParseWebhookBadPayload(t *testing.T) {
	t.Parallel()
	c := newTestClient(t, "s3cret", "")
	for _, body := range [][]byte{
		[]byte(`not json`),
		[]byte(`{"topic":"return","trigger":"return.updated"}`),
		[]byte(`{"topic":"return","trigger":"return.updated","id":1,"total":"1.234","currency":"USD"}`),
		[]byte(`{"topic":"return","trigger":"return.updated","id":1,"label":{"id":2,"status":"teleported"}}`),
		[]byte(`{"topic":"return","trigger":"return.updated","id":1,"updated_at":"yesterday"}`),
	} {
		h := http.Header{}
		h.Set(HeaderSignature, sign("s3cret", body))
		_, _, err := c.ParseWebhook(h, body)
		if e := errs.As(err); e == nil || e.Kind != errs.Invalid || e.Reason != "webhook_payload_invalid" {
			t.Errorf("ParseWebhook(%s): %v; want invalid/webhook_payload_invalid", body, err)
		}
	}
}
