package returns

import (
	"encoding/json"
	"testing"

	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/types/known/anypb"

	"github.com/retailbridge/retailbridge/pkg/events"
	canonicalv1 "github.com/retailbridge/retailbridge/pkg/gen/retailbridge/canonical/v1"
)

func vendorEvent(t *testing.T, typ canonicalv1.EventType, refs *canonicalv1.EventReferences, data proto.Message) *canonicalv1.Event {
	t.Helper()
	a, err := anypb.New(data)
	if err != nil {
		t.Fatal(err)
	}
	return &canonicalv1.Event{Id: "e", Type: events.TypeName(typ), Data: a, References: refs}
}

// TestSignalPayloadMatchesTypedReferences checks the return an event is about comes from its
// typed reference, whatever its ids look like: ids without any Retailbridge prefix match, and
// an id that looks like Retailbridge's in the payload does not when the reference says otherwise.
func TestSignalPayloadMatchesTypedReferences(t *testing.T) {
	t.Parallel()
	s := &Service{}
	inspected := &canonicalv1.Return{Id: "ret_looks_ours", Lines: []*canonicalv1.ReturnLine{
		{OrderLineId: "L1", Condition: canonicalv1.ItemCondition_ITEM_CONDITION_DAMAGED}}}
	tests := []struct {
		name    string
		ev      *canonicalv1.Event
		wantID  string
		wantRaw string
	}{
		{"refund by reference", vendorEvent(t, canonicalv1.EventType_EVENT_TYPE_PAYMENTS_REFUND_UPDATED,
			&canonicalv1.EventReferences{ReturnId: "R-1"},
			&canonicalv1.Refund{GatewayRefundId: "gw-9", Status: canonicalv1.RefundStatus_REFUND_STATUS_SUCCEEDED}),
			"R-1", `{"refund_id":"gw-9","status":"succeeded"}`},
		{"refund made elsewhere", vendorEvent(t, canonicalv1.EventType_EVENT_TYPE_PAYMENTS_REFUND_UPDATED,
			&canonicalv1.EventReferences{SystemRecordId: "gw-1"}, &canonicalv1.Refund{ReturnId: "ret_from_metadata"}), "", ""},
		{"older refund event without references", vendorEvent(t, canonicalv1.EventType_EVENT_TYPE_PAYMENTS_REFUND_UPDATED,
			nil, &canonicalv1.Refund{ReturnId: "7"}), "7", ""},
		{"inspection by reference", vendorEvent(t, canonicalv1.EventType_EVENT_TYPE_WMS_RETURN_INSPECTED,
			&canonicalv1.EventReferences{ReturnId: "abc"}, inspected), "abc", `{"L1":"damaged"}`},
		{"inspection of a receipt Retailbridge did not ask for", vendorEvent(t, canonicalv1.EventType_EVENT_TYPE_WMS_RETURN_INSPECTED,
			&canonicalv1.EventReferences{SystemRecordId: "RCV-1"}, inspected), "", ""},
		{"parcel by reference", vendorEvent(t, canonicalv1.EventType_EVENT_TYPE_RETURNSPLATFORM_PARCEL_IN_TRANSIT,
			&canonicalv1.EventReferences{ReturnId: "R-2"}, &canonicalv1.Shipment{Id: "label-1"}), "R-2", ""},
		{"parcel without reference", vendorEvent(t, canonicalv1.EventType_EVENT_TYPE_RETURNSPLATFORM_PARCEL_IN_TRANSIT,
			nil, &canonicalv1.Shipment{Id: "ret_label", OrderId: "ret_order"}), "", ""},
	}
	for _, tt := range tests {
		signal := signalFor[events.TypeOf(tt.ev.GetType())]
		id, raw, err := s.signalPayload(tt.ev, signal)
		if err != nil {
			t.Fatalf("%s: %v", tt.name, err)
		}
		if id != tt.wantID {
			t.Errorf("%s: return %q, want %q", tt.name, id, tt.wantID)
		}
		if tt.wantRaw != "" && !jsonEqual(t, raw, tt.wantRaw) {
			t.Errorf("%s: payload %s, want %s", tt.name, raw, tt.wantRaw)
		}
	}
}

func jsonEqual(t *testing.T, got []byte, want string) bool {
	t.Helper()
	var a, b any
	if json.Unmarshal(got, &a) != nil || json.Unmarshal([]byte(want), &b) != nil {
		return false
	}
	ga, _ := json.Marshal(a)
	gb, _ := json.Marshal(b)
	return string(ga) == string(gb)
}

func TestPlatformReturnID(t *testing.T) {
	t.Parallel()
	ret := func(ext map[string]string) *canonicalv1.Return { return &canonicalv1.Return{ExternalIds: ext} }
	tests := []struct {
		name string
		ev   *canonicalv1.Event
		ret  *canonicalv1.Return
		want string
	}{
		{"typed reference", &canonicalv1.Event{References: &canonicalv1.EventReferences{SystemRecordId: "100"}},
			ret(map[string]string{platformIDKey: "other"}), "100"},
		{"keyed by system kind", &canonicalv1.Event{}, ret(map[string]string{platformIDKey: "101", platformIDKey + "_label": "9"}), "101"},
		{"older event: the only external id", &canonicalv1.Event{}, ret(map[string]string{"vendor": "102"}), "102"},
		{"ambiguous older event", &canonicalv1.Event{}, ret(map[string]string{"a": "1", "b": "2"}), ""},
	}
	for _, tt := range tests {
		if got := platformReturnID(tt.ev, tt.ret); got != tt.want {
			t.Errorf("%s: platformReturnID = %q, want %q", tt.name, got, tt.want)
		}
	}
}
