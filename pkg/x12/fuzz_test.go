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

// FuzzReadWrite: whatever Read accepts, Marshal writes back byte for byte, and reading that
// again gives the same file and the same problems. Seeded with every published sample and the
// corpus in testdata/fuzz/FuzzReadWrite.
func FuzzReadWrite(f *testing.F) {
	for _, name := range x12test.Names(f) {
		f.Add(x12test.Read(f, name))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		file, err := x12.Read(data)
		if file == nil {
			var es x12.Errors
			if err == nil || !errors.As(err, &es) || len(es) != 1 {
				t.Fatalf("Read gave no file and error %v, want one located problem", err)
			}
			return
		}
		out, werr := x12.Marshal(file)
		if werr != nil {
			// Only a segment Read already reported (an empty or malformed tag) may be unwritable.
			if err == nil || !errors.Is(err, x12.ErrSyntax) {
				t.Fatalf("Marshal(Read(data)) failed: %v (read error %v)", werr, err)
			}
			return
		}
		if !bytes.Equal(out, data) {
			t.Fatalf("Marshal(Read(data)) differs:\n got %q\nwant %q", out, data)
		}
		again, err2 := x12.Read(out)
		if !reflect.DeepEqual(again, file) {
			t.Fatalf("Read(Marshal(f)) differs from f")
		}
		if (err == nil) != (err2 == nil) || (err != nil && err.Error() != err2.Error()) {
			t.Fatalf("problems differ: %v, then %v", err, err2)
		}
	})
}

// FuzzBuild: an interchange built from any values either is refused by Marshal naming the
// segment and element (a value holding a separator) or reads back without problems and with
// the same values (Read ∘ Marshal is the identity on built files).
func FuzzBuild(f *testing.F) {
	f.Add("RETAILBRIDGE", "ACME3PL", "SHIP-1", "SKU-123", int64(7), "\n", true)
	f.Add("R", "A", "ord*1", "SKU~2", int64(999999999), "", false)
	f.Add("SENDER", "RECEIVER", "X", "Y>Z", int64(1), "\r\n  ", true)
	f.Fuzz(func(t *testing.T, sender, receiver, ref, sku string, icn int64, layout string, test bool) {
		env := x12.Envelope{SenderQualifier: "ZZ", SenderID: sender, ReceiverQualifier: "ZZ", ReceiverID: receiver,
			Version: "004010", Test: test, Layout: layout}
		body := []x12.Segment{x12.Seg("W05", "N", ref), x12.Seg("LX", "1"), x12.Seg("W01", "1", "EA", "", "VN", sku)}
		file, err := env.Build(icn, icn, time.Date(2026, 12, 7, 15, 30, 0, 0, time.UTC),
			x12.NewGroup{FunctionalID: "OW", Sets: []x12.NewSet{{Type: "940", Body: body}, {Type: "940", Body: body}}})
		if err != nil {
			if icn >= 1 && icn <= x12.MaxControlNumber {
				t.Fatalf("Build(%d): %v", icn, err)
			}
			return
		}
		out, err := x12.Marshal(file)
		if err != nil {
			var e *x12.Error
			if !errors.As(err, &e) || !errors.Is(err, x12.ErrValue) || e.Tag == "" {
				t.Fatalf("Marshal: %v, want a located ErrValue", err)
			}
			return
		}
		got, err := x12.Read(out)
		if err != nil {
			t.Fatalf("Read(Marshal(Build)) = %v\n%q", err, out)
		}
		if !reflect.DeepEqual(got, file) {
			t.Fatalf("Read(Marshal(Build)) differs from what was built:\n got %+v\nwant %+v", got.Interchanges[0], file.Interchanges[0])
		}
	})
}

// FuzzTA1: a TA1 interchange built from any values is refused by Marshal naming the element, or
// reads back identical with the same acknowledgements; ReadTA1s accepts exactly the well-formed
// ones. Its output is also a seed of FuzzReadWrite's kind: written back byte for byte.
func FuzzTA1(f *testing.F) {
	f.Add("000003438", "101127", "1719", "R", "001", int64(5))
	f.Add("000000001", "260101", "0000", "A", "000", int64(999999999))
	f.Add("12*", "x", "", "Q", "1", int64(1))
	f.Fuzz(func(t *testing.T, icn, date, tm, code, note string, ours int64) {
		env := x12.Envelope{SenderQualifier: "ZZ", SenderID: "RETAILBRIDGE", ReceiverQualifier: "ZZ", ReceiverID: "ACME3PL", Version: "004010"}
		ack := x12.TA1{ControlNumber: icn, Date: date, Time: tm, Code: code, Note: note}
		file, err := env.BuildTA1(ours, time.Date(2026, 12, 7, 18, 0, 0, 0, time.UTC), ack)
		if err != nil {
			if ours >= 1 && ours <= x12.MaxControlNumber {
				t.Fatalf("BuildTA1(%d): %v", ours, err)
			}
			return
		}
		out, err := x12.Marshal(file)
		if err != nil {
			var e *x12.Error
			if !errors.As(err, &e) || !errors.Is(err, x12.ErrValue) || e.Tag != "TA1" {
				t.Fatalf("Marshal: %v, want a located ErrValue in the TA1", err)
			}
			return
		}
		got, err := x12.Read(out)
		if err != nil || !reflect.DeepEqual(got, file) {
			t.Fatalf("Read(Marshal(BuildTA1)) = %v, differs=%v\n%q", err, !reflect.DeepEqual(got, file), out)
		}
		acks, err := x12.ReadTA1s(got.Interchanges[0])
		wellFormed := len(icn) == 9 && isDigits(icn) && (code == "A" || code == "E" || code == "R") && len(note) == 3 && isDigits(note)
		if (err == nil) != wellFormed {
			t.Fatalf("ReadTA1s(%+v) error %v; well-formed %v", ack, err, wellFormed)
		}
		if err == nil && !reflect.DeepEqual(acks, []x12.TA1{ack}) {
			t.Fatalf("ReadTA1s = %+v, want %+v", acks, ack)
		}
	})
}

func isDigits(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return false
		}
	}
	return true
}
