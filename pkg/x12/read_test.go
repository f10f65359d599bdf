package x12_test

import (
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/retailbridge/retailbridge/pkg/x12"
)

const isa = "ISA*00*          *00*          *ZZ*A              *ZZ*B              *261207*1530*U*00401*000000001*0*P*>~"

// TestReadProblems causes each kind of problem and checks it is named and located.
func TestReadProblems(t *testing.T) {
	t.Parallel()
	tests := map[string]struct {
		data string
		err  error
		tag  string
		pos  int
	}{
		"not X12":            {"hello", x12.ErrNoInterchange, "", 0},
		"short ISA":          {"ISA*00*", x12.ErrHeader, "ISA", 1},
		"separator twice":    {strings.Replace(isa, ">~", "*~", 1), x12.ErrHeader, "ISA", 1},
		"letter separator":   {strings.Replace(isa, ">~", "X~", 1), x12.ErrHeader, "ISA", 1},
		"ISA width":          {strings.Replace(isa, "*261207*", "*2612*", 1) + "IEA*0*000000001~", x12.ErrHeader, "ISA", 1},
		"ISA13 not digits":   {strings.Replace(isa, "000000001", "00000000A", 1) + "IEA*0*000000001~", x12.ErrControlSyntax, "ISA", 1},
		"truncated in set":   {isa + "GS*OW*A*B*20261207*1530*1*X*004010~ST*940*0001~W05*N*1~", x12.ErrTruncated, "", 0},
		"ST outside group":   {isa + "ST*940*0001~", x12.ErrStructure, "ST", 2},
		"GE before SE":       {isa + "GS*OW*A*B*20261207*1530*1*X*004010~ST*940*0001~GE*1*1~", x12.ErrStructure, "GE", 4},
		"data after IEA":     {isa + "IEA*0*000000001~junk~", x12.ErrStructure, "junk", 3},
		"empty segment":      {isa + "GS*OW*A*B*20261207*1530*1*X*004010~ST*940*0001~~SE*3*0001~GE*1*1~IEA*1*000000001~", x12.ErrSyntax, "", 4},
		"lower-case tag":     {isa + "GS*OW*A*B*20261207*1530*1*X*004010~ST*940*0001~w05*N~SE*3*0001~GE*1*1~IEA*1*000000001~", x12.ErrSyntax, "w05", 4},
		"SE count":           {isa + "GS*OW*A*B*20261207*1530*1*X*004010~ST*940*0001~SE*3*0001~GE*1*1~IEA*1*000000001~", x12.ErrSetCount, "SE", 4},
		"GE count":           {isa + "GS*OW*A*B*20261207*1530*1*X*004010~GE*1*1~IEA*1*000000001~", x12.ErrGroupCount, "GE", 3},
		"IEA count":          {isa + "IEA*1*000000001~", x12.ErrInterchangeCount, "IEA", 2},
		"IEA control":        {isa + "IEA*0*000000002~", x12.ErrInterchangeControl, "IEA", 2},
		"GE control":         {isa + "GS*OW*A*B*20261207*1530*1*X*004010~GE*0*2~IEA*1*000000001~", x12.ErrGroupControl, "GE", 3},
		"SE elements":        {isa + "GS*OW*A*B*20261207*1530*1*X*004010~ST*940*0001~SE*2~GE*1*1~IEA*1*000000001~", x12.ErrElementCount, "SE", 4},
		"GE02 not a number":  {isa + "GS*OW*A*B*20261207*1530*1*X*004010~GE*0*X1~IEA*1*000000001~", x12.ErrControlSyntax, "GE", 3},
		"ST02 too short":     {isa + "GS*OW*A*B*20261207*1530*1*X*004010~ST*940*01~SE*2*01~GE*1*1~IEA*1*000000001~", x12.ErrControlSyntax, "ST", 3},
		"unterminated early": {isa + "GS*OW*A*B*20261207*1530*1*X*004010", x12.ErrTruncated, "", 0},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			_, err := x12.Read([]byte(tc.data))
			var es x12.Errors
			if !errors.As(err, &es) || len(es) == 0 {
				t.Fatalf("Read: got %v, want %v", err, tc.err)
			}
			if e := es[0]; !errors.Is(e, tc.err) || e.Tag != tc.tag || e.Pos != tc.pos {
				t.Errorf("got %v (tag %q pos %d), want %v at %q pos %d", e, e.Tag, e.Pos, tc.err, tc.tag, tc.pos)
			}
		})
	}
}

// TestBuildControlNumbers: a built interchange carries the given control numbers in header
// and trailer, counts its segments, sets and groups, and reads back without problems.
func TestBuildControlNumbers(t *testing.T) {
	t.Parallel()
	env := x12.Envelope{SenderQualifier: "ZZ", SenderID: "RETAILBRIDGE", ReceiverQualifier: "ZZ", ReceiverID: "ACME3PL",
		Version: "004010", Layout: "\n"}
	set := x12.NewSet{Type: "940", Body: []x12.Segment{x12.Seg("W05", "N", "SHIP-1"), x12.Seg("LX", "1")}}
	f, err := env.Build(42, 900, time.Date(2026, 12, 7, 15, 30, 0, 0, time.UTC),
		x12.NewGroup{FunctionalID: "OW", Sets: []x12.NewSet{set, set}}, x12.NewGroup{FunctionalID: "OW", Sets: []x12.NewSet{set}})
	if err != nil {
		t.Fatal(err)
	}
	out, err := x12.Marshal(f)
	if err != nil {
		t.Fatal(err)
	}
	got, err := x12.Read(out)
	if err != nil {
		t.Fatalf("Read(built): %v\n%s", err, out)
	}
	if s := shape(got); s != "000000042[OW 900[940 0001 4 940 0002 4] OW 901[940 0001 4]]" {
		t.Errorf("shape: got %s", s)
	}
	ic := got.Interchanges[0]
	if ic.Trailer.E(2) != "000000042" || ic.Trailer.E(1) != "2" || ic.Groups[0].Trailer.E(1) != "2" || ic.Groups[1].Trailer.E(2) != "901" {
		t.Errorf("trailers: IEA %v GE %v %v", ic.Trailer.Elems, ic.Groups[0].Trailer.Elems, ic.Groups[1].Trailer.Elems)
	}
	if _, err := env.Build(0, 1, time.Now()); err == nil {
		t.Error("Build(0): want an error for control number 0")
	}
	if _, err := env.Build(1, x12.MaxControlNumber, time.Now(), x12.NewGroup{}, x12.NewGroup{}); err == nil {
		t.Error("Build past 999999999: want an error")
	}
}
