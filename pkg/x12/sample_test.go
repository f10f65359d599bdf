package x12_test

import (
	"bytes"
	"errors"
	"fmt"
	"strings"
	"testing"

	"github.com/retailbridge/retailbridge/pkg/x12"
	"github.com/retailbridge/retailbridge/pkg/x12/x12test"
)

// wantProblem is one problem a broken sample must report.
type wantProblem struct {
	err     error
	tag     string
	pos     int
	element int
}

// TestSamples reads every published sample: the well-formed ones give the envelopes below and
// no problem; the broken ones give exactly the named problems, located. Every sample, broken or
// not, is written back to the same bytes.
func TestSamples(t *testing.T) {
	t.Parallel()
	tests := map[string]struct {
		shape    string // interchanges, groups and sets as read
		delims   x12.Delimiters
		problems []wantProblem
	}{
		"940-ediengine-940.OK.edi": {
			shape:  "000003438[OW 3317[940 0001 29]]",
			delims: x12.Delimiters{Element: '*', Component: '>', Segment: '\n'},
		},
		"940-ediengine-MultipleInterchangesAndGroups.edi": {
			shape:  "000003438[OW 3313[940 0001 5 940 0002 5] OW 3314[940 0001 5]] 000003439[OW 3315[940 0001 5 940 0002 5] OW 3316[940 0001 5]]",
			delims: x12.Delimiters{Element: '*', Component: '>', Segment: '\n'},
		},
		"bad-940-ediengine-ControlNumbersMismatch.edi": {
			shape:  "000003438[OW 3314[940 0001 5]]",
			delims: x12.Delimiters{Element: '*', Component: '>', Segment: '\n'},
			problems: []wantProblem{
				{x12.ErrSetControl, "SE", 7, 2}, {x12.ErrGroupControl, "GE", 8, 2}, {x12.ErrInterchangeControl, "IEA", 9, 2},
			},
		},
		// Its GS has ten elements (GS02–GS03 split in two), and ST02 has ten characters.
		"945-oopfactory-inter-americanproducts.txt": {
			shape:  "000000031[SW 20021104[945 0003100001 17]]",
			delims: x12.Delimiters{Element: '*', Component: '>', Segment: '~'},
			problems: []wantProblem{
				{x12.ErrElementCount, "GS", 2, 0}, {x12.ErrControlSyntax, "ST", 3, 2},
			},
		},
		"856-oopfactory-example4.txt": {
			shape:  "000001054[SH 414[856 0414 40]]",
			delims: x12.Delimiters{Element: '*', Component: '|', Segment: '~'},
		},
		"856-ediengine-Crossdock.OK.edi": {
			shape:  "000000091[SH 91[856 0001 57]]",
			delims: x12.Delimiters{Element: '*', Component: '>', Segment: '\n'},
		},
		"846-oopfactory-example1.txt": {
			shape:  "000001979[IB 1979[846 1979 16]]",
			delims: x12.Delimiters{Element: '~', Component: '>', Segment: '}'},
		},
		"180-oopfactory-fromeasistandards.txt": {
			shape:  "000007023[BS 1225[180 234568790 9]]",
			delims: x12.Delimiters{Element: '*', Component: ':', Segment: '~'},
		},
		"997-staedi-simple997.edi": {
			shape:  "508121953[FA 000005[997 0001 8]]",
			delims: x12.Delimiters{Element: '*', Component: ':', Repetition: '^', Segment: '~'},
		},
		"997-staedi-empty997.edi": {
			shape:  "000000001[FA 1[997 0001 2]]",
			delims: x12.Delimiters{Element: '*', Component: ':', Segment: '~'},
		},
	}
	names := x12test.Names(t)
	for _, name := range names {
		if _, ok := tests[name]; !ok {
			t.Errorf("sample %s has no golden case", name)
		}
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			data := x12test.Read(t, name)
			f, err := x12.Read(data)
			if f == nil {
				t.Fatalf("Read: no file: %v", err)
			}
			if got := shape(f); got != tc.shape {
				t.Errorf("shape:\n got %s\nwant %s", got, tc.shape)
			}
			if got := f.Interchanges[0].Delims; got != tc.delims {
				t.Errorf("delimiters: got %+q, want %+q", got, tc.delims)
			}
			checkProblems(t, err, tc.problems)
			out, err := x12.Marshal(f)
			if err != nil {
				t.Fatalf("Marshal: %v", err)
			}
			if !bytes.Equal(out, data) {
				t.Errorf("Marshal(Read(sample)) differs from the sample:\n got %q\nwant %q", out, data)
			}
		})
	}
}

func checkProblems(t *testing.T, err error, want []wantProblem) {
	t.Helper()
	var got x12.Errors
	if err != nil && !errors.As(err, &got) {
		t.Fatalf("Read error %v is not x12.Errors", err)
	}
	if len(got) != len(want) {
		t.Fatalf("Read: got %d problems (%v), want %d", len(got), err, len(want))
	}
	for i, w := range want {
		g := got[i]
		if !errors.Is(g, w.err) || g.Tag != w.tag || g.Pos != w.pos || g.Element != w.element {
			t.Errorf("problem %d: got %v (tag %s pos %d element %d), want %v at %s pos %d element %d",
				i, g, g.Tag, g.Pos, g.Element, w.err, w.tag, w.pos, w.element)
		}
		if !errors.Is(err, w.err) {
			t.Errorf("errors.Is(err, %v) = false", w.err)
		}
		if !strings.Contains(g.Error(), fmt.Sprintf("segment %d (%s", w.pos, w.tag)) {
			t.Errorf("message %q does not name segment %d (%s)", g.Error(), w.pos, w.tag)
		}
	}
}

// shape summarises what was read: per interchange its control number, per group its code and
// control number, per set its type, control number and segment count.
func shape(f *x12.File) string {
	var ics []string
	for _, ic := range f.Interchanges {
		var gs []string
		for _, g := range ic.Groups {
			var ss []string
			for _, s := range g.Sets {
				ss = append(ss, fmt.Sprintf("%s %s %d", s.Type(), s.ControlNumber(), len(s.Body)+2))
			}
			gs = append(gs, fmt.Sprintf("%s %s[%s]", g.FunctionalID(), g.ControlNumber(), strings.Join(ss, " ")))
		}
		ics = append(ics, fmt.Sprintf("%s[%s]", ic.ControlNumber(), strings.Join(gs, " ")))
	}
	return strings.Join(ics, " ")
}
