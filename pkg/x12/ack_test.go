package x12_test

import (
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/retailbridge/retailbridge/pkg/x12"
	"github.com/retailbridge/retailbridge/pkg/x12/x12test"
)

// TestReadAckSample reads the published 997 that rejects an 837 set, with AK3/AK4 detail.
func TestReadAckSample(t *testing.T) {
	t.Parallel()
	f, err := x12.Read(x12test.Read(t, "997-staedi-simple997.edi"))
	if err != nil {
		t.Fatal(err)
	}
	ic := f.Interchanges[0]
	got, err := x12.ReadAck(ic.Groups[0].Sets[0], ic.Delims)
	if err != nil {
		t.Fatal(err)
	}
	want := &x12.Ack{FunctionalID: "HC", GroupControl: "000001", Code: x12.AckRejected, Included: 1, Received: 1,
		Sets: []x12.SetAck{{Type: "837", Control: "0021", Code: x12.AckRejected, Codes: []string{"5"},
			Notes: []x12.Note{{Tag: "NM1", SetPos: 8, Code: "8", Element: 8, ElementCode: "7", Value: "MI"}}}}}
	if d := cmp.Diff(want, got); d != "" {
		t.Errorf("ReadAck (-want +got):\n%s", d)
	}
	empty, err := x12.Read(x12test.Read(t, "997-staedi-empty997.edi"))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := x12.ReadAck(empty.Interchanges[0].Groups[0].Sets[0], empty.Interchanges[0].Delims); err == nil ||
		!strings.Contains(err.Error(), "no AK1") {
		t.Errorf("ReadAck(empty 997): got %v, want an error naming the missing AK1", err)
	}
}

// TestAcknowledge generates 997s for what was received and reads them back as the partner
// would: accepted, accepted with errors (notes), partially accepted and rejected with codes.
func TestAcknowledge(t *testing.T) {
	t.Parallel()
	const good = "ST*940*0001~W05*N*1~SE*3*0001~"
	const badCount = "ST*940*0002~W05*N*2~SE*9*0002~"
	tests := map[string]struct {
		data  []byte
		notes map[int]x12.Verdict
		want  x12.Ack
	}{
		"accepted": {data: x12test.Read(t, "940-ediengine-MultipleInterchangesAndGroups.edi"),
			want: x12.Ack{FunctionalID: "OW", GroupControl: "3313", Code: "A", Included: 2, Received: 2, Accepted: 2,
				Sets: []x12.SetAck{{Type: "940", Control: "0001", Code: "A"}, {Type: "940", Control: "0002", Code: "A"}}}},
		"control numbers mismatch": {data: x12test.Read(t, "bad-940-ediengine-ControlNumbersMismatch.edi"),
			want: x12.Ack{FunctionalID: "OW", GroupControl: "3314", Code: "R", Included: 1, Received: 1, Accepted: 0,
				Codes: []string{"4"}, Sets: []x12.SetAck{{Type: "940", Control: "0001", Code: "R", Codes: []string{"3"}}}}},
		"partially accepted": {data: []byte(isa + "GS*OW*A*B*20261207*1530*7*X*004010~" + good + badCount + "GE*2*7~IEA*1*000000001~"),
			want: x12.Ack{FunctionalID: "OW", GroupControl: "7", Code: "P", Included: 2, Received: 2, Accepted: 1,
				Sets: []x12.SetAck{{Type: "940", Control: "0001", Code: "A"}, {Type: "940", Control: "0002", Code: "R", Codes: []string{"4"}}}}},
		"accepted with errors": {data: []byte(isa + "GS*OW*A*B*20261207*1530*7*X*004010~" + good + "GE*1*7~IEA*1*000000001~"),
			notes: map[int]x12.Verdict{0: {Notes: []x12.Note{{Tag: "W05", SetPos: 2, Code: "8", Element: 1, ElementCode: "7", Value: "N"}}}},
			want: x12.Ack{FunctionalID: "OW", GroupControl: "7", Code: "E", Included: 1, Received: 1, Accepted: 1,
				Sets: []x12.SetAck{{Type: "940", Control: "0001", Code: "E",
					Notes: []x12.Note{{Tag: "W05", SetPos: 2, Code: "8", Element: 1, ElementCode: "7", Value: "N"}}}}}},
		"mandatory reference missing": {data: []byte(isa + "GS*OW*A*B*20261207*1530*7*X*004010~" + good + "GE*1*7~IEA*1*000000001~"),
			notes: map[int]x12.Verdict{0: {Rejected: []x12.Note{{Tag: "W05", SetPos: 2, Code: "8", Element: 2, ElementCode: "1"}}}},
			want: x12.Ack{FunctionalID: "OW", GroupControl: "7", Code: "R", Included: 1, Received: 1, Accepted: 0,
				Sets: []x12.SetAck{{Type: "940", Control: "0001", Code: "R", Codes: []string{"5"},
					Notes: []x12.Note{{Tag: "W05", SetPos: 2, Code: "8", Element: 2, ElementCode: "1"}}}}}},
		"bad segment tag": {data: []byte(isa + "GS*OW*A*B*20261207*1530*7*X*004010~ST*940*0001~w05*N~SE*3*0001~GE*1*7~IEA*1*000000001~"),
			want: x12.Ack{FunctionalID: "OW", GroupControl: "7", Code: "R", Included: 1, Received: 1, Accepted: 0,
				Sets: []x12.SetAck{{Type: "940", Control: "0001", Code: "R", Codes: []string{"5"},
					Notes: []x12.Note{{Tag: "w05", SetPos: 2, Code: "1"}}}}}},
	}
	env := x12.Envelope{SenderQualifier: "ZZ", SenderID: "RETAILBRIDGE", ReceiverQualifier: "ZZ", ReceiverID: "PARTNER", Version: "004010"}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			f, problems := x12.Read(tc.data)
			if f == nil {
				t.Fatal(problems)
			}
			var es x12.Errors
			if problems != nil {
				es = problems.(x12.Errors)
			}
			ack := x12.Acknowledge(f, 0, 0, es, tc.notes)
			built, err := env.Build(5, 5, time.Date(2026, 12, 7, 16, 0, 0, 0, time.UTC), x12.NewGroup{FunctionalID: x12.FunctionalIDAck, Sets: []x12.NewSet{ack}})
			if err != nil {
				t.Fatal(err)
			}
			out, err := x12.Marshal(built)
			if err != nil {
				t.Fatal(err)
			}
			back, err := x12.Read(out)
			if err != nil {
				t.Fatalf("Read(997): %v\n%s", err, out)
			}
			got, err := x12.ReadAck(back.Interchanges[0].Groups[0].Sets[0], back.Interchanges[0].Delims)
			if err != nil {
				t.Fatal(err)
			}
			if d := cmp.Diff(&tc.want, got); d != "" {
				t.Errorf("997 (-want +got):\n%s\n%s", d, out)
			}
		})
	}
}
