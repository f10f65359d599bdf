package gateway

import (
	"bytes"
	"encoding/json"
	"math/rand/v2"
	"testing"

	"github.com/grpc-ecosystem/grpc-gateway/v2/runtime"
	"google.golang.org/protobuf/encoding/protojson"
	"google.golang.org/protobuf/reflect/protoreflect"

	returnsv1 "github.com/retailbridge/retailbridge/pkg/gen/retailbridge/process/returns/v1"
)

// randomFill sets every field of m (recursively, by reflection, so a field added to the
// messages later is filled too) to a random value or leaves it unset: strings plain or needing
// escapes, enum numbers known and unknown, timestamps in and out of protojson's range.
func randomFill(r *rand.Rand, m protoreflect.Message, depth int) {
	fields := m.Descriptor().Fields()
	for i := range fields.Len() {
		f := fields.Get(i)
		if r.IntN(5) == 0 {
			continue // unset
		}
		switch {
		case f.IsList():
			l := m.Mutable(f).List()
			for range r.IntN(4) {
				if f.Kind() == protoreflect.MessageKind {
					randomFill(r, l.AppendMutable().Message(), depth+1)
				} else {
					l.Append(randomScalar(r, f))
				}
			}
		case f.Kind() == protoreflect.MessageKind:
			if depth < 4 {
				randomFill(r, m.Mutable(f).Message(), depth+1)
			}
		default:
			m.Set(f, randomScalar(r, f))
		}
	}
}

var sampleStrings = []string{"", "o-1001", "SKU-42", "EUR", "categories.electronics.window_days", "a b", `quote"d`, `back\slash`,
	"tab\there", "naïve", "日本", "\u2028", "<html>&", "\x7f"}

func randomScalar(r *rand.Rand, f protoreflect.FieldDescriptor) protoreflect.Value {
	if f.Name() == "nanos" { // a Timestamp's: mostly in range, sometimes not
		return protoreflect.ValueOfInt32([]int32{0, 1, 120_000_000, 123_456_000, 999_999_999, 1e9, -1}[r.IntN(7)])
	}
	switch f.Kind() {
	case protoreflect.StringKind:
		return protoreflect.ValueOfString(sampleStrings[r.IntN(len(sampleStrings))])
	case protoreflect.BoolKind:
		return protoreflect.ValueOfBool(r.IntN(2) == 0)
	case protoreflect.Int32Kind:
		return protoreflect.ValueOfInt32([]int32{0, 1, -1, 7, 1 << 30, -1 << 31}[r.IntN(6)])
	case protoreflect.EnumKind:
		n := f.Enum().Values().Len()
		return protoreflect.ValueOfEnum(protoreflect.EnumNumber(r.IntN(n + 2))) // two unknown numbers
	case protoreflect.Int64Kind:
		if f.Name() == "seconds" { // a Timestamp's: mostly in range, sometimes not
			return protoreflect.ValueOfInt64([]int64{0, 1, 1_765_000_000, -62135596800, 253402300799, 253402300800, -62135596801}[r.IntN(7)])
		}
		return protoreflect.ValueOfInt64([]int64{0, 1, -5, 1999, 1 << 62, -1 << 63}[r.IntN(6)])
	}
	panic("randomScalar: unhandled kind " + f.Kind().String())
}

// The hand-written eligibility encoder writes what protojson writes (after protojson's
// randomised whitespace is removed) for every answer it writes itself, and leaves the rest to
// protojson, which then answers exactly as before (the same bytes or the same error).
func TestEligibilityJSONMatchesProtojson(t *testing.T) {
	t.Parallel()
	pb := &runtime.JSONPb{MarshalOptions: protojson.MarshalOptions{UseProtoNames: true, EmitDefaultValues: true}}
	m := fastJSON{pb}
	r := rand.New(rand.NewPCG(13, 2026))
	fast := 0
	for i := range 20000 {
		msg := &returnsv1.CheckEligibilityResponse{}
		randomFill(r, msg.ProtoReflect(), 0)
		want, wantErr := pb.Marshal(msg)
		got, gotErr := m.Marshal(msg)
		if (wantErr == nil) != (gotErr == nil) {
			t.Fatalf("message %d: protojson error %v, fast error %v\n%v", i, wantErr, gotErr, msg)
		}
		if wantErr != nil {
			continue
		}
		if _, ok := appendEligibility(nil, msg); !ok {
			// Left to protojson: exactly its bytes.
			if !bytes.Equal(got, want) {
				t.Fatalf("message %d left to protojson:\nprotojson %s\ngot       %s", i, want, got)
			}
			continue
		}
		fast++
		var compact bytes.Buffer
		if err := json.Compact(&compact, want); err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(compact.Bytes(), got) {
			t.Fatalf("message %d:\nprotojson %s\nfast      %s", i, compact.Bytes(), got)
		}
	}
	// The fast path must be the usual one, or this test proves nothing about it.
	if fast < 2000 {
		t.Fatalf("only %d of 20000 answers took the hand-written path", fast)
	}
	// A realistic answer takes the fast path.
	real := &returnsv1.CheckEligibilityResponse{}
	if err := protojson.Unmarshal([]byte(`{"order_id":"5100001","lines":[{"order_line_id":"l1","sku":"SKU-1","requested_quantity":1,
		"returnable_quantity":1,"eligible":true,"return_deadline":"2026-12-31T22:59:59.999999999Z","methods":["RETURN_METHOD_MAIL"],
		"refund_estimate":{"gross":{"amount_minor":"1999","currency_code":"EUR"},"restocking_fee":{"amount_minor":"0","currency_code":"EUR"},
		"refund":{"amount_minor":"1999","currency_code":"EUR"}},"policy_rule":"default_window_days"}],
		"refund_estimate_total":{"amount_minor":"1999","currency_code":"EUR"},"order_as_of":"2026-12-07T21:00:00.123Z"}`), real); err != nil {
		t.Fatal(err)
	}
	if _, ok := appendEligibility(nil, real); !ok {
		t.Error("a realistic answer did not take the hand-written path")
	}
}
