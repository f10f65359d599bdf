package edi3pl

import (
	"os"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"google.golang.org/protobuf/testing/protocmp"
	"google.golang.org/protobuf/types/known/timestamppb"

	canonicalv1 "github.com/retailbridge/retailbridge/pkg/gen/retailbridge/canonical/v1"
	"github.com/retailbridge/retailbridge/pkg/x12"
	"github.com/retailbridge/retailbridge/pkg/x12/x12test"
)

// firstSet reads data and returns its first set, whatever envelope problems it has (the 945
// sample's GS is malformed; its set is still a 945 to map).
func firstSet(t *testing.T, data []byte) (*x12.Set, x12.Delimiters) {
	t.Helper()
	f, err := x12.Read(data)
	if f == nil {
		t.Fatalf("Read: %v", err)
	}
	ic := f.Interchanges[0]
	return ic.Groups[0].Sets[0], ic.Delims
}

func testdata(t *testing.T, name string) []byte {
	t.Helper()
	b, err := os.ReadFile("testdata/" + name)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func ts(s string) *timestamppb.Timestamp {
	t, err := time.Parse(time.RFC3339, s)
	if err != nil {
		panic(err)
	}
	return timestamppb.New(t)
}

func diff(t *testing.T, what string, want, got any) {
	t.Helper()
	if d := cmp.Diff(want, got, protocmp.Transform()); d != "" {
		t.Errorf("%s (-want +got):\n%s", what, d)
	}
}

// TestFrom945Sample: the published 945 has no depositor order number (W0602), so it cannot be
// matched to a shipping order: the set is rejected naming W06 element 2, and the rest is read.
func TestFrom945Sample(t *testing.T) {
	t.Parallel()
	set, d := firstSet(t, x12test.Read(t, "945-oopfactory-inter-americanproducts.txt"))
	got, v, err := from945(set, d)
	if err == nil {
		t.Fatal("from945: want an error for the missing W0602")
	}
	diff(t, "rejected", []x12.Note{{Tag: "W06", SetPos: 2, Code: "8", Element: 2, ElementCode: "1"}}, v.Rejected)
	want := &canonicalv1.Shipment{Carrier: "NA", TrackingNumber: "K018293-00010", ShippedAt: ts("2002-09-16T00:00:00Z"),
		Status: canonicalv1.ShipmentStatus_SHIPMENT_STATUS_IN_TRANSIT, ToAddress: &canonicalv1.Address{Name: "TEST CUSTOMER"},
		Lines: []*canonicalv1.ShipmentLine{{Sku: "339408", Quantity: 120}, {Sku: "100021", Quantity: 400}, {Sku: "133848", Quantity: 400}}}
	diff(t, "shipment", want, got)
}

// TestFrom945 maps a 945 as the partner agreement has it.
func TestFrom945(t *testing.T) {
	t.Parallel()
	set, d := firstSet(t, testdata(t, "945-shipped.edi"))
	got, v, err := from945(set, d)
	if err != nil {
		t.Fatal(err)
	}
	diff(t, "verdict", x12.Verdict{}, v)
	want := &canonicalv1.Shipment{Id: "ship_1", OrderId: "order_9", Carrier: "UPSN", TrackingNumber: "1Z999",
		Status: canonicalv1.ShipmentStatus_SHIPMENT_STATUS_IN_TRANSIT, FromLocationId: "dc-east",
		ShippedAt: ts("2026-12-07T15:45:00Z"),
		ToAddress: &canonicalv1.Address{Name: "Ada Lovelace", Lines: []string{"1 Main St", "Apt 2"}, City: "Springfield",
			Region: "IL", PostalCode: "62701", CountryCode: "US"},
		Lines: []*canonicalv1.ShipmentLine{{Sku: "SKU-123", OrderLineId: "line_1", Quantity: 2}}}
	diff(t, "shipment", want, got)
}

// TestFrom856Samples: both published 856s are read (carrier, tracking, ship date, address, the
// order levels and their items); neither names our shipping order (REF*DO), so each order level
// is rejected rather than guessed.
func TestFrom856Samples(t *testing.T) {
	t.Parallel()
	set, d := firstSet(t, x12test.Read(t, "856-oopfactory-example4.txt"))
	got, v, err := from856(set, d)
	if err == nil {
		t.Fatal("from856: want an error for the missing REF*DO")
	}
	diff(t, "rejected", []x12.Note{{Tag: "HL", SetPos: 15, Code: "8", Element: 3, ElementCode: "1", Value: "O"}}, v.Rejected)
	var lines []*canonicalv1.ShipmentLine
	for i, sku := range []string{"100014544", "100014545", "100019109", "100019110", "100019111", "100019112", "100014546"} {
		lines = append(lines, &canonicalv1.ShipmentLine{Sku: sku, OrderLineId: []string{"001", "002", "003", "004", "005", "006", "007"}[i],
			Quantity: []int32{10, 5, 10, 20, 5, 3, 12}[i]})
	}
	want := []*canonicalv1.Shipment{{OrderId: "PO NUMBER", Carrier: "NONE", TrackingNumber: "620940",
		ShippedAt: ts("2011-09-09T00:00:00Z"), Status: canonicalv1.ShipmentStatus_SHIPMENT_STATUS_IN_TRANSIT,
		ToAddress: &canonicalv1.Address{Name: "RETAILER", Lines: []string{"RETAILER LOC 010", "RETAILER LOC ADDRESS"},
			City: "LOCCITY", Region: "LOCSTATE", PostalCode: "LOCZIP"}, Lines: lines}}
	diff(t, "shipments", want, got)

	set, d = firstSet(t, x12test.Read(t, "856-ediengine-Crossdock.OK.edi"))
	got, v, _ = from856(set, d)
	if len(got) != 2 || got[0].GetOrderId() != "POREF00" || len(got[0].GetLines()) != 4 || got[1].GetOrderId() != "POREF01" ||
		len(got[1].GetLines()) != 1 || got[0].GetCarrier() != "OVNT" || got[1].GetTrackingNumber() != "0000000008741" ||
		got[0].GetLines()[1].GetSku() != "0000000000831" || got[0].GetLines()[1].GetQuantity() != 12 || got[0].GetFromLocationId() != "000009" {
		t.Errorf("cross-dock 856: got %v", got)
	}
	if len(v.Rejected) != 2 {
		t.Errorf("cross-dock 856: got %d rejected order levels, want 2 (no REF*DO)", len(v.Rejected))
	}
}

// TestFrom846Sample: the one position is read at the default location; quantities under
// qualifiers the agreement does not list are noted, not guessed.
func TestFrom846Sample(t *testing.T) {
	t.Parallel()
	set, d := firstSet(t, x12test.Read(t, "846-oopfactory-example1.txt"))
	got, v, err := from846(set, d, "dc-east")
	if err != nil {
		t.Fatal(err)
	}
	want := []*canonicalv1.InventoryPosition{{Sku: "46L5055", LocationId: "dc-east", AsOf: ts("2004-08-11T23:00:00Z"),
		Quantities: []*canonicalv1.InventoryQuantity{{State: canonicalv1.InventoryState_INVENTORY_STATE_QUALITY_CONTROL, Quantity: 100}}}}
	diff(t, "positions", want, got)
	wantNotes := []x12.Note{
		{Tag: "QTY", SetPos: 8, Code: "8", Element: 1, ElementCode: "7", Value: "34"},
		{Tag: "QTY", SetPos: 12, Code: "8", Element: 1, ElementCode: "7", Value: "QB"},
		{Tag: "QTY", SetPos: 14, Code: "8", Element: 1, ElementCode: "7", Value: "87"},
	}
	diff(t, "verdict", x12.Verdict{Notes: wantNotes}, v)
}

// TestFrom947 maps the agreement's reason codes into movements with source record ids.
func TestFrom947(t *testing.T) {
	t.Parallel()
	set, d := firstSet(t, testdata(t, "947-adjustment.edi"))
	got, v, err := from947(set, d, "elsewhere")
	if err != nil {
		t.Fatal(err)
	}
	at := ts("2026-12-07T00:00:00Z")
	want := []adjustment{
		{adj: &canonicalv1.InventoryAdjustment{Sku: "SKU-123", LocationId: "dc-east", FromState: sellable, ToState: damaged, Quantity: 2,
			Reason: "edi_947_01", OccurredAt: at, SourceRecordId: "ADJ-0001/1"}},
		{adj: &canonicalv1.InventoryAdjustment{Sku: "SKU-456", LocationId: "dc-east", FromState: sellable, ToState: noState, Quantity: 3,
			Reason: "edi_947_AA", OccurredAt: at, SourceRecordId: "ADJ-0001/2"}},
		{adj: &canonicalv1.InventoryAdjustment{Sku: "SKU-789", LocationId: "dc-east", ToState: sellable, Quantity: 10,
			Reason: "edi_947_05", OccurredAt: at, SourceRecordId: "ADJ-0001/3"}, received: true},
	}
	if d := cmp.Diff(want, got, protocmp.Transform(), cmp.AllowUnexported(adjustment{})); d != "" {
		t.Errorf("adjustments (-want +got):\n%s", d)
	}
	diff(t, "verdict", x12.Verdict{Notes: []x12.Note{{Tag: "W19", SetPos: 11, Code: "8", Element: 1, ElementCode: "7", Value: "ZZ"}}}, v)
}

// TestFrom180Sample reads the published return authorisation; its RDR code "CR" is not one the
// agreement lists, so the line's condition stays unspecified and the segment is noted.
func TestFrom180Sample(t *testing.T) {
	t.Parallel()
	set, d := firstSet(t, x12test.Read(t, "180-oopfactory-fromeasistandards.txt"))
	got, v, err := from180(set, d)
	if err != nil {
		t.Fatal(err)
	}
	want := &canonicalv1.Return{Id: "04360132310", OrderId: "123456789", State: "inspected", UpdatedAt: ts("2004-01-06T13:23:00Z"),
		Lines: []*canonicalv1.ReturnLine{{Sku: "12345670000", Quantity: 1}}}
	diff(t, "return", want, got.ret)
	if !got.inspected {
		t.Error("inspected: got false, want true (the line has an RDR)")
	}
	diff(t, "verdict", x12.Verdict{Notes: []x12.Note{{Tag: "RDR", SetPos: 7, Code: "8", Element: 1, ElementCode: "7", Value: "CR"}}}, v)
}

// TestTo940And180 builds the outbound sets and reads them back through the envelope.
func TestTo940And180(t *testing.T) {
	t.Parallel()
	sh := &canonicalv1.Shipment{Id: "ship_1", OrderId: "order_9", FromLocationId: "dc-east", Carrier: "UPSN",
		ToAddress: &canonicalv1.Address{Name: "Ada Lovelace", Lines: []string{"1 Main St"}, City: "Springfield", Region: "IL",
			PostalCode: "62701", CountryCode: "US", Phone: "555-0100"},
		Lines: []*canonicalv1.ShipmentLine{{Sku: "SKU-123", OrderLineId: "line_1", Quantity: 2}, {Sku: "SKU-456", Quantity: 1}}}
	env := x12.Envelope{SenderQualifier: "ZZ", SenderID: "RETAILBRIDGE", ReceiverQualifier: "ZZ", ReceiverID: "ACME3PL", Version: "004010", Layout: "\n"}
	at := time.Date(2026, 12, 7, 16, 0, 0, 0, time.UTC)
	ret := &canonicalv1.Return{Id: "ret_1", OrderId: "order_9", RmaNumber: "RMA7", Lines: []*canonicalv1.ReturnLine{{Sku: "SKU-123", OrderLineId: "line_1", Quantity: 1}}}
	f, err := env.Build(1, 1, at, x12.NewGroup{FunctionalID: groupShippingOrder, Sets: []x12.NewSet{to940(sh)}},
		x12.NewGroup{FunctionalID: groupReturn, Sets: []x12.NewSet{to180(ret, "dc-east", at)}})
	if err != nil {
		t.Fatal(err)
	}
	out, err := x12.Marshal(f)
	if err != nil {
		t.Fatal(err)
	}
	const want940 = "ST*940*0001\nW05*N*ship_1*order_9\nN1*ST*Ada Lovelace\nN3*1 Main St\nN4*Springfield*IL*62701*US\nPER*IC*Ada Lovelace*TE*555-0100\n" +
		"N1*WH*dc-east*91*dc-east\nW66*PP*M***UPSN\nLX*1\nW01*2*EA**SK*SKU-123\nN9*LI*line_1\nLX*2\nW01*1*EA**SK*SKU-456\nW76*3\nSE*15*0001\n"
	const want180 = "ST*180*0001\nBGN*00*ret_1*20261207*1600\nN9*RA*RMA7\nPRF*order_9\nN1*WH*dc-east*91*dc-east\nBLI*SK*SKU-123*1*EA\nN9*LI*line_1\nSE*8*0001\n"
	if s := string(out); !strings.Contains(s, strings.ReplaceAll(want940, "\n", "~\n")) || !strings.Contains(s, strings.ReplaceAll(want180, "\n", "~\n")) {
		t.Errorf("built:\n%s\nwant sets:\n%s%s", s, want940, want180)
	}
	if _, err := x12.Read(out); err != nil {
		t.Errorf("Read(built): %v", err)
	}
	// A value holding a separator cannot be sent; Marshal names it.
	sh.OrderId = "order*9"
	f, _ = env.Build(2, 2, at, x12.NewGroup{FunctionalID: groupShippingOrder, Sets: []x12.NewSet{to940(sh)}})
	if _, err := x12.Marshal(f); err == nil {
		t.Error("Marshal of an order id with '*': want an error")
	}
}
