package edi3pl

import (
	"fmt"
	"strconv"
	"strings"
	"time"

	"google.golang.org/protobuf/types/known/timestamppb"

	"github.com/retailbridge/retailbridge/pkg/x12"
)

// AK3/AK4 codes the mapping uses when it notes or rejects a segment.
const (
	segHasElementErrors = "8" // AK304: segment has data element errors
	segMandatoryMissing = "3" // AK304: mandatory segment missing
	elemMandatory       = "1" // AK403: mandatory data element missing
	elemInvalidCode     = "7" // AK403: invalid code value
	elemInvalidValue    = "6" // AK403: invalid character in data element (a number that is not one)
)

// setReader walks one received transaction set and collects what the 997 will say about it:
// segments noted (accepted with errors) and segments that make the set unusable (rejected).
type setReader struct {
	set     *x12.Set
	d       x12.Delimiters
	verdict x12.Verdict
}

func newSetReader(s *x12.Set, d x12.Delimiters) *setReader { return &setReader{set: s, d: d} }

// each calls fn with every body segment and its position in the set (ST is 1).
func (r *setReader) each(fn func(pos int, s x12.Segment)) {
	for i, s := range r.set.Body {
		fn(i+2, s)
	}
}

// note records an element the mapping does not understand but can do without.
func (r *setReader) note(pos int, s x12.Segment, elem int, code string) {
	r.verdict.Notes = append(r.verdict.Notes, x12.Note{Tag: s.Tag, SetPos: pos, Code: segHasElementErrors,
		Element: elem, ElementCode: code, Value: s.E(elem)})
}

// reject records an element the mapping cannot do without.
func (r *setReader) reject(pos int, s x12.Segment, elem int, code string) {
	r.verdict.Rejected = append(r.verdict.Rejected, x12.Note{Tag: s.Tag, SetPos: pos, Code: segHasElementErrors,
		Element: elem, ElementCode: code, Value: s.E(elem)})
}

// missing records a mandatory segment that is absent.
func (r *setReader) missing(tag string) {
	r.verdict.Rejected = append(r.verdict.Rejected, x12.Note{Tag: tag, SetPos: len(r.set.Body) + 2, Code: segMandatoryMissing})
}

// required returns element elem, rejecting the set when it is empty.
func (r *setReader) required(pos int, s x12.Segment, elem int) string {
	v := strings.TrimSpace(s.E(elem))
	if v == "" {
		r.reject(pos, s, elem, elemMandatory)
	}
	return v
}

// quantity reads a whole-unit quantity (X12 type R without a fraction), rejecting the set when
// it is not one.
func (r *setReader) quantity(pos int, s x12.Segment, elem int) (int64, bool) {
	v := strings.TrimSpace(s.E(elem))
	if v == "" {
		r.reject(pos, s, elem, elemMandatory)
		return 0, false
	}
	n, err := strconv.ParseInt(strings.TrimSuffix(v, ".0"), 10, 64)
	if err != nil {
		r.reject(pos, s, elem, elemInvalidValue)
		return 0, false
	}
	return n, true
}

// rejected reports whether the set cannot be used.
func (r *setReader) rejected() bool { return len(r.verdict.Rejected) > 0 }

// when reads a CCYYMMDD date and an optional HHMM[SS] time, in UTC (the partner agreement's
// time zone); nil when the date is empty or not a date.
func when(date, clock string) *timestamppb.Timestamp {
	if len(date) != 8 {
		return nil
	}
	layout, v := "20060102", date
	switch len(clock) {
	case 4:
		layout, v = layout+"1504", v+clock
	case 6:
		layout, v = layout+"150405", v+clock
	}
	t, err := time.Parse(layout, v)
	if err != nil {
		return nil
	}
	return timestamppb.New(t)
}

// dateElems formats t as CCYYMMDD and HHMM in UTC.
func dateElems(t time.Time) (string, string) {
	t = t.UTC()
	return t.Format("20060102"), t.Format("1504")
}

// mappingError says why a set could not be mapped, naming its first rejected segment.
func (r *setReader) err() error {
	if !r.rejected() {
		return nil
	}
	n := r.verdict.Rejected[0]
	return fmt.Errorf("%s %s: segment %s at set position %d element %02d: code %s",
		r.set.Type(), r.set.ControlNumber(), n.Tag, n.SetPos, n.Element, n.ElementCode)
}
