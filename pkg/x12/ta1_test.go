package x12_test

import (
	"bytes"
	"errors"
	"reflect"
	"testing"
	"time"

	"github.com/retailbridge/retailbridge/pkg/x12"
	"github.com/retailbridge/retailbridge/pkg/x12/x12test"
)

// ta1For reads data as a receiver does and decides the first interchange's TA1: from the file
// when it reads, from its header alone when it does not.
func ta1For(t *testing.T, data []byte) (x12.TA1, bool) {
	t.Helper()
	f, err := x12.Read(data)
	var problems x12.Errors
	if err != nil && !errors.As(err, &problems) {
		t.Fatalf("Read error %v is not x12.Errors", err)
	}
	if f != nil {
		return x12.InterchangeAck(f.Interchanges[0].Header, 0, problems)
	}
	isa, _, herr := x12.ReadHeader(data)
	if isa.Tag != "ISA" {
		t.Fatalf("ReadHeader: %v (Read: %v)", herr, err)
	}
	return x12.InterchangeAck(isa, 0, problems)
}

// TestTA1Samples: the TA1 each published sample earns. None asks for one (ISA14 0), so only
// the sample whose IEA02 differs from its ISA13 is answered — rejected with note 001; the 945
// whose GS is malformed is the 997's business, not the TA1's. Asked for (ISA14 1), every other
// sample is accepted with note 000.
func TestTA1Samples(t *testing.T) {
	t.Parallel()
	for _, name := range x12test.Names(t) {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			data := x12test.Read(t, name)
			isa, _, err := x12.ReadHeader(data)
			if err != nil {
				t.Fatal(err)
			}
			want := x12.TA1{ControlNumber: isa.E(13), Date: isa.E(9), Time: isa.E(10), Code: x12.TA1Accepted, Note: x12.NoteNoError}
			wantNeeded := false
			if name == "bad-940-ediengine-ControlNumbersMismatch.edi" {
				want.Code, want.Note, wantNeeded = x12.TA1Rejected, x12.NoteControlMismatch, true
			}
			got, needed := ta1For(t, data)
			if got != want || needed != wantNeeded {
				t.Errorf("TA1 %+v needed=%v, want %+v needed=%v", got, needed, want, wantNeeded)
			}
			asked := askForTA1(t, data)
			got, needed = ta1For(t, asked)
			if !needed || got != want {
				t.Errorf("with ISA14 1: TA1 %+v needed=%v, want %+v needed", got, needed, want)
			}
		})
	}
}

// askForTA1 sets ISA14 to 1: the header is fixed-width, so ISA14 is the third element from its
// end.
func askForTA1(t *testing.T, data []byte) []byte {
	t.Helper()
	isa, d, err := x12.ReadHeader(data)
	if err != nil {
		t.Fatal(err)
	}
	at := bytes.Index(data, []byte(isa.E(13)+string(d.Element)+"0"+string(d.Element)))
	if at < 0 {
		t.Fatalf("ISA13 %q not found followed by ISA14 0", isa.E(13))
	}
	out := bytes.Clone(data)
	out[at+len(isa.E(13))+1] = '1'
	return out
}

// TestTA1EnvelopeErrors: each envelope error a receiver meets is answered with its TA105 note,
// whatever ISA14 says.
func TestTA1EnvelopeErrors(t *testing.T) {
	t.Parallel()
	good := string(x12test.Read(t, "940-ediengine-940.OK.edi"))
	isa := "ISA*01*0000000000*01*0000000000*ZZ*ABCDEFGHIJKLMNO*ZZ*123456789012345*101127*1719*U*00400*000003438*0*P*>"
	tests := map[string]struct {
		data string
		note string
	}{
		"the data ends inside a set":    {good[:len(good)/2], x12.NotePrematureEnd},
		"IEA01 counts two groups":       {replaceLast(good, "IEA*1*", "IEA*2*"), x12.NoteGroupCount},
		"ISA13 is not a number":         {replaceFirst(good, "*000003438*0*", "*00000343X*0*"), x12.NoteControlNumber},
		"ISA09 is five characters wide": {replaceFirst(good, "*101127*", "*10112*"), x12.NoteDate},
		"a segment after IEA":           {good + "\nXYZ*1", x12.NoteControlStructure},
		"a set outside a group":         {isa + "\nST*940*0001\nSE*2*0001\nIEA*0*000003438", x12.NoteControlStructure},
		"a TA1 after a group":           {replaceLast(good, "IEA*", "TA1*000000001*101127*1719*A*000\nIEA*"), x12.NoteControlStructure},
		"separators declared twice":     {"ISA*00*          *00*          *ZZ*A              *ZZ*B              *101127*1719*U*00400*000000001*0*P***" + "IEA*0*000000001*", x12.NoteElementSeparator},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			got, needed := ta1For(t, []byte(tc.data))
			if !needed || got.Code != x12.TA1Rejected || got.Note != tc.note {
				t.Errorf("TA1 %+v needed=%v, want rejected with note %s", got, needed, tc.note)
			}
		})
	}
}

func replaceFirst(s, old, repl string) string {
	return string(bytes.Replace([]byte(s), []byte(old), []byte(repl), 1))
}

func replaceLast(s, old, repl string) string {
	i := bytes.LastIndex([]byte(s), []byte(old))
	if i < 0 {
		return s
	}
	return s[:i] + repl + s[i+len(old):]
}

// TestBuildTA1 builds the acknowledgement interchange, reads it back unchanged and reads its
// TA1s; it never asks for an acknowledgement of itself.
func TestBuildTA1(t *testing.T) {
	t.Parallel()
	env := x12.Envelope{SenderQualifier: "ZZ", SenderID: "RETAILBRIDGE", ReceiverQualifier: "ZZ", ReceiverID: "ACME3PL",
		Version: "004010", AckRequested: true, Layout: "\n"}
	acks := []x12.TA1{{"000003438", "101127", "1719", x12.TA1Rejected, x12.NoteControlMismatch}, x12.Duplicate(x12.Seg("ISA",
		"", "", "", "", "", "", "", "", "101127", "1720", "", "", "000003439", "1", "P", ">"))}
	f, err := env.BuildTA1(12, time.Date(2026, 12, 7, 18, 0, 0, 0, time.UTC), acks...)
	if err != nil {
		t.Fatal(err)
	}
	out, err := x12.Marshal(f)
	if err != nil {
		t.Fatal(err)
	}
	back, err := x12.Read(out)
	if err != nil {
		t.Fatalf("Read(BuildTA1): %v\n%s", err, out)
	}
	if !reflect.DeepEqual(back, f) {
		t.Fatalf("read back differs:\n%s", out)
	}
	ic := back.Interchanges[0]
	if x12.AckRequested(ic.Header) || ic.Trailer.E(1) != "0" || len(ic.Groups) != 0 {
		t.Errorf("TA1 interchange: ISA14 %q, IEA01 %q, %d groups; want 0, 0, none", ic.Header.E(14), ic.Trailer.E(1), len(ic.Groups))
	}
	got, err := x12.ReadTA1s(ic)
	if err != nil || !reflect.DeepEqual(got, acks) {
		t.Errorf("ReadTA1s = %+v, %v; want %+v", got, err, acks)
	}
	if _, err := env.BuildTA1(13, time.Now()); err == nil {
		t.Error("BuildTA1 with no acknowledgement succeeded")
	}
	ic.TA1s[0].Elems[3] = "X"
	if _, err := x12.ReadTA1s(ic); err == nil {
		t.Error("ReadTA1s accepted TA104 X")
	}
}
