package gateway

import (
	"strconv"
	"time"

	"github.com/grpc-ecosystem/grpc-gateway/v2/runtime"
	"google.golang.org/protobuf/reflect/protoreflect"
	"google.golang.org/protobuf/types/known/timestamppb"

	canonicalv1 "github.com/retailbridge/retailbridge/pkg/gen/retailbridge/canonical/v1"
	returnsv1 "github.com/retailbridge/retailbridge/pkg/gen/retailbridge/process/returns/v1"
)

// fastJSON is the process mux's marshaler: protojson (runtime.JSONPb), except for the
// eligibility answer, the hottest answer the gateway writes, which is written by hand. protojson
// walks every field through reflection and was about a tenth of a warm check's CPU; the
// hand-written encoder writes the same bytes (the test compares them over many answers, with
// protojson's randomised whitespace removed) and hands any answer it is not sure to write
// exactly the same — a string that needs escaping, a timestamp out of range — to protojson.
type fastJSON struct {
	*runtime.JSONPb
}

// Marshal writes v as JSON.
func (m fastJSON) Marshal(v any) ([]byte, error) {
	if r, ok := v.(*returnsv1.CheckEligibilityResponse); ok && r != nil {
		if b, ok := appendEligibility(make([]byte, 0, 256+384*len(r.GetLines())), r); ok {
			return b, nil
		}
	}
	return m.JSONPb.Marshal(v)
}

// appendEligibility writes r as protojson would with UseProtoNames and EmitDefaultValues:
// fields in declaration order, scalars, enums and lists always, messages only when set. ok is
// false when r holds something it leaves to protojson.
func appendEligibility(b []byte, r *returnsv1.CheckEligibilityResponse) ([]byte, bool) {
	ok := true
	b = append(b, `{"order_id":`...)
	b, ok = appendPlain(b, r.GetOrderId(), ok)
	b = append(b, `,"lines":[`...)
	for i, l := range r.GetLines() {
		if i > 0 {
			b = append(b, ',')
		}
		b, ok = appendLine(b, l, ok)
	}
	b = append(b, ']')
	if m := r.GetRefundEstimateTotal(); m != nil {
		b = append(b, `,"refund_estimate_total":`...)
		b, ok = appendMoney(b, m, ok)
	}
	if t := r.GetOrderAsOf(); t != nil {
		b = append(b, `,"order_as_of":`...)
		b, ok = appendTimestamp(b, t, ok)
	}
	return append(b, '}'), ok
}

func appendLine(b []byte, l *returnsv1.LineEligibility, ok bool) ([]byte, bool) {
	b = append(b, `{"order_line_id":`...)
	b, ok = appendPlain(b, l.GetOrderLineId(), ok)
	b = append(b, `,"sku":`...)
	b, ok = appendPlain(b, l.GetSku(), ok)
	b = append(b, `,"requested_quantity":`...)
	b = strconv.AppendInt(b, int64(l.GetRequestedQuantity()), 10)
	b = append(b, `,"returnable_quantity":`...)
	b = strconv.AppendInt(b, int64(l.GetReturnableQuantity()), 10)
	b = append(b, `,"eligible":`...)
	b = strconv.AppendBool(b, l.GetEligible())
	b = append(b, `,"reason":`...)
	b = appendEnum(b, l.GetReason().Descriptor(), protoreflect.EnumNumber(l.GetReason()))
	if t := l.GetReturnDeadline(); t != nil {
		b = append(b, `,"return_deadline":`...)
		b, ok = appendTimestamp(b, t, ok)
	}
	b = append(b, `,"methods":[`...)
	for i, m := range l.GetMethods() {
		if i > 0 {
			b = append(b, ',')
		}
		b = appendEnum(b, m.Descriptor(), protoreflect.EnumNumber(m))
	}
	b = append(b, ']')
	if e := l.GetRefundEstimate(); e != nil {
		b = append(b, `,"refund_estimate":{`...)
		first := true
		for _, f := range []struct {
			name string
			m    *canonicalv1.Money
		}{{"gross", e.GetGross()}, {"restocking_fee", e.GetRestockingFee()}, {"refund", e.GetRefund()}} {
			if f.m == nil {
				continue
			}
			if !first {
				b = append(b, ',')
			}
			first = false
			b = append(b, '"')
			b = append(b, f.name...)
			b = append(b, `":`...)
			b, ok = appendMoney(b, f.m, ok)
		}
		b = append(b, '}')
	}
	b = append(b, `,"policy_rule":`...)
	b, ok = appendPlain(b, l.GetPolicyRule(), ok)
	return append(b, '}'), ok
}

// appendMoney writes a Money: the 64-bit amount as a string, as the proto3 JSON mapping says.
func appendMoney(b []byte, m *canonicalv1.Money, ok bool) ([]byte, bool) {
	b = append(b, `{"amount_minor":"`...)
	b = strconv.AppendInt(b, m.GetAmountMinor(), 10)
	b = append(b, `","currency_code":`...)
	b, ok = appendPlain(b, m.GetCurrencyCode(), ok)
	return append(b, '}'), ok
}

// appendEnum writes an enum value's name, or its number when the enum has no such value.
func appendEnum(b []byte, d protoreflect.EnumDescriptor, n protoreflect.EnumNumber) []byte {
	if v := d.Values().ByNumber(n); v != nil {
		b = append(b, '"')
		b = append(b, v.Name()...)
		return append(b, '"')
	}
	return strconv.AppendInt(b, int64(n), 10)
}

// Timestamps protojson accepts: 0001-01-01T00:00:00Z to 9999-12-31T23:59:59.999999999Z.
const (
	minTimestampSeconds = -62135596800
	maxTimestampSeconds = 253402300799
)

// appendTimestamp writes RFC 3339 in UTC with 0, 3, 6 or 9 fractional digits, as protojson does.
func appendTimestamp(b []byte, t *timestamppb.Timestamp, ok bool) ([]byte, bool) {
	s, n := t.GetSeconds(), t.GetNanos()
	if s < minTimestampSeconds || s > maxTimestampSeconds || n < 0 || n >= 1e9 {
		return b, false // protojson refuses it; let it say so
	}
	b = append(b, '"')
	b = time.Unix(s, int64(n)).UTC().AppendFormat(b, "2006-01-02T15:04:05")
	if n != 0 {
		frac := strconv.AppendInt(make([]byte, 0, 10), int64(n)+1e9, 10)[1:] // nine digits
		switch {
		case n%1e6 == 0:
			frac = frac[:3]
		case n%1e3 == 0:
			frac = frac[:6]
		}
		b = append(b, '.')
		b = append(b, frac...)
	}
	return append(b, `Z"`...), ok
}

// appendPlain writes s quoted when it needs no escaping (printable ASCII without '"' or '\'),
// where every JSON encoder agrees; otherwise ok becomes false and protojson writes the answer.
func appendPlain(b []byte, s string, ok bool) ([]byte, bool) {
	for i := 0; i < len(s); i++ {
		if c := s[i]; c < 0x20 || c > 0x7e || c == '"' || c == '\\' {
			return b, false
		}
	}
	b = append(b, '"')
	b = append(b, s...)
	return append(b, '"'), ok
}
