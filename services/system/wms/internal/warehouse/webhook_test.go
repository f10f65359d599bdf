package warehouse

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"google.golang.org/protobuf/testing/protocmp"
	"google.golang.org/protobuf/types/known/anypb"
	"google.golang.org/protobuf/types/known/timestamppb"

	"github.com/retailbridge/retailbridge/pkg/errs"
	canonicalv1 "github.com/retailbridge/retailbridge/pkg/gen/retailbridge/canonical/v1"
)

var clock = time.Date(2026, 3, 12, 10, 15, 30, 0, time.UTC)

func newTestClient(tb testing.TB, secret, previous string) *Client {
	tb.Helper()
	c, err := New(Config{BaseURL: "http://warehouse.test", APIKey: "k", WebhookSecret: secret, PreviousWebhookSecret: previous},
		http.DefaultClient, nil, func() time.Time { return clock })
	if err != nil {
		tb.Fatal(err)
	}
	return c
}

// sign is the vendor's documented scheme, written out independently of the sandbox.
func sign(t time.Time, body []byte, secrets ...string) http.Header {
	ts := strconv.FormatInt(t.Unix(), 10)
	v := "t=" + ts
	for _, s := range secrets {
		mac := hmac.New(sha256.New, []byte(s))
		mac.Write([]byte(ts + "."))
		mac.Write(body)
		v += ",v1=" + hex.EncodeToString(mac.Sum(nil))
	}
	h := http.Header{}
	h.Set(HeaderSignature, v)
	return h
}

func TestParseWebhookRecordedPayload(t *testing.T) {
	t.Parallel()
	body, err := os.ReadFile(filepath.Join("testdata", "inspection_completed.json"))
	if err != nil {
		t.Fatal(err)
	}
	c := newTestClient(t, "s3cret", "")
	id, evs, err := c.ParseWebhook(sign(clock, body, "s3cret"), body)
	if err != nil {
		t.Fatalf("ParseWebhook: %v", err)
	}
	if id != "dlv_5f2c0a9e8b7d6c5b4a392817" {
		t.Errorf("delivery id %q; want the body's id", id)
	}
	ret := &canonicalv1.Return{
		Id: "ret_0001", OrderId: "5001", RmaNumber: "RMA-77", State: "inspected",
		CreatedAt:   timestamppb.New(time.Date(2026, 3, 10, 14, 2, 11, 0, time.UTC)),
		UpdatedAt:   timestamppb.New(time.Date(2026, 3, 12, 10, 15, 0, 0, time.UTC)),
		ExternalIds: map[string]string{ReceiptIDKey: "RCV-000042", LocationIDKey: "dc-east"},
		Lines: []*canonicalv1.ReturnLine{
			{OrderLineId: "9001", Sku: "APP-001", Quantity: 2, Condition: canonicalv1.ItemCondition_ITEM_CONDITION_RESELLABLE},
			{OrderLineId: "9002", Sku: "FTW-002", Quantity: 1, Condition: canonicalv1.ItemCondition_ITEM_CONDITION_WRONG_OR_MISSING},
		},
	}
	data, _ := anypb.New(ret)
	want := []*canonicalv1.Event{{
		Id: EventID(id, TypeReturnInspected), Source: Source, Type: TypeReturnInspected, Subject: "return/ret_0001",
		Time: ret.GetUpdatedAt(), Data: data, SpecVersion: 1,
		// The receipt's reference is the return id Retailbridge gave the warehouse.
		References: &canonicalv1.EventReferences{ReturnId: "ret_0001", OrderId: "5001", SystemRecordId: "RCV-000042"},
	}}
	if diff := cmp.Diff(want, evs, protocmp.Transform()); diff != "" {
		t.Errorf("events mismatch (-want +got):\n%s", diff)
	}
}

func TestParseWebhookSignatures(t *testing.T) {
	t.Parallel()
	body := []byte(`{"id":"dlv_1","topic":"catalog.updated","data":{}}`)
	tests := []struct {
		name              string
		current, previous string
		h                 http.Header
		reason            string
	}{
		{"current secret", "new", "old", sign(clock, body, "new"), ""},
		{"previous secret during rotation", "new", "old", sign(clock, body, "old"), ""},
		{"vendor rolling its secret sends two", "new", "", sign(clock, body, "other", "new"), ""},
		{"previous secret after rotation", "new", "", sign(clock, body, "old"), "webhook_signature_invalid"},
		{"at the edge of the tolerance", "new", "", sign(clock.Add(-DefaultSignatureTolerance), body, "new"), ""},
		{"just past the tolerance", "new", "", sign(clock.Add(-DefaultSignatureTolerance-time.Second), body, "new"), "webhook_timestamp_stale"},
		{"no timestamp", "new", "", http.Header{HeaderSignature: {"v1=00"}}, "webhook_signature_invalid"},
		{"no v1", "new", "", http.Header{HeaderSignature: {"t=1"}}, "webhook_signature_invalid"},
		{"v1 not hex", "new", "", http.Header{HeaderSignature: {"t=1,v1=zz"}}, "webhook_signature_invalid"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			c := newTestClient(t, tt.current, tt.previous)
			id, evs, err := c.ParseWebhook(tt.h, body)
			if tt.reason == "" {
				if err != nil || id != "dlv_1" || len(evs) != 0 {
					t.Errorf("ParseWebhook = %q, %d events, %v; want dlv_1 ignored", id, len(evs), err)
				}
				return
			}
			if e := errs.As(err); e == nil || e.Kind != errs.Unauthenticated || e.Reason != tt.reason {
				t.Errorf("err = %v; want unauthenticated/%s", err, tt.reason)
			}
		})
	}
}

func TestParseWebhookBadPayload(t *testing.T) {
	t.Parallel()
	c := newTestClient(t, "s3cret", "")
	for _, body := range [][]byte{
		[]byte(`nope`),
		[]byte(`{"id":"d","topic":"receipt.created","data":[]}`),
		[]byte(`{"id":"d","topic":"receipt.created","data":{"reference":"r"}}`),
		[]byte(`{"id":"d","topic":"inspection.completed","data":{"reference":"r","inspected_at":"2026-03-12T10:15:00Z","lines":[{"sku":"A","condition":"soggy"}]}}`),
		[]byte(`{"id":"d","topic":"shipment.shipped","data":{"reference":"s","shipped_at":"tuesday"}}`),
	} {
		_, _, err := c.ParseWebhook(sign(clock, body, "s3cret"), body)
		if e := errs.As(err); e == nil || e.Kind != errs.Invalid || e.Reason != "webhook_payload_invalid" {
			t.Errorf("ParseWebhook(%s): %v; want invalid/webhook_payload_invalid", body, err)
		}
	}
}
