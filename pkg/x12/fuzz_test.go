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
