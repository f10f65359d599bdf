package x12

import (
	"errors"
	"fmt"
	"strconv"
)

// Acknowledgement codes of a 997 (AK501 for a set, AK901 for a group).
const (
	AckAccepted           = "A" // accepted
	AckAcceptedWithErrors = "E" // accepted, but errors were noted
	AckPartiallyAccepted  = "P" // some sets of the group were rejected (AK901 only)
	AckRejected           = "R" // rejected
)

// FunctionalIDAck is GS01 of a group of 997s.
const FunctionalIDAck = "FA"

// Note is a problem in one segment of an accepted set that the receiver noted without rejecting
// the set (AK3, and AK4 when an element is named): the set is then acknowledged "E".
type Note struct {
	// Tag and SetPos locate the segment (ST is position 1).
	Tag    string
	SetPos int
	// Code is AK304, e.g. "2" unexpected segment, "8" segment has data element errors.
	Code string
	// Element, when not 0, is the element's position; ElementCode is AK403 (e.g. "7" invalid
	// code value) and Value the bad value.
	Element     int
	ElementCode string
	Value       string
}

// Verdict is what the receiving application found in one set beyond the envelope: segments it
// noted but accepted (the set is acknowledged "E"), and segments that make it unusable, such as
// a mandatory reference missing (the set is rejected "R" with code 5).
type Verdict struct {
	Notes    []Note
	Rejected []Note
}

// setCode is the AK5 code (718) for a set-level problem.
func setCode(e *Error) string {
	switch {
	case errors.Is(e.Err, ErrSetControl):
		return "3" // transaction set control number in header and trailer do not match
	case errors.Is(e.Err, ErrSetCount):
		return "4" // number of included segments does not match actual count
	case errors.Is(e.Err, ErrControlSyntax):
		return "7" // missing or invalid transaction set control number
	case errors.Is(e.Err, ErrElementCount) && e.Tag == "ST":
		return "6" // missing or invalid transaction set identifier
	case errors.Is(e.Err, ErrElementCount):
		return "2" // transaction set trailer missing (an SE without its two elements)
	}
	return "5" // one or more segments in error
}

// groupCode is the AK9 code (716) for a group-level problem.
func groupCode(e *Error) string {
	switch {
	case errors.Is(e.Err, ErrGroupControl):
		return "4" // group control number in the header and trailer do not agree
	case errors.Is(e.Err, ErrGroupCount):
		return "5" // number of included transaction sets does not match actual count
	case errors.Is(e.Err, ErrControlSyntax), errors.Is(e.Err, ErrElementCount) && e.Tag == "GS":
		return "6" // group control number violates syntax (GS06 cannot be trusted)
	}
	return "3" // functional group trailer missing (a GE without its two elements)
}

// Acknowledge builds the 997 for group gi of interchange ici of a read file: AK1 naming the
// group, per set an AK2, AK3/AK4 for each segment in error or noted, and AK5 (rejected with
// the problems' codes, accepted with errors when only notes were given, else accepted), then
// AK9 with the group's code and counts. problems are what Read returned; verdicts are keyed by
// the set's index in the group. A problem of the interchange itself (IEA count or control
// number) rejects every group in it.
func Acknowledge(f *File, ici, gi int, problems Errors, verdicts map[int]Verdict) NewSet {
	ic := f.Interchanges[ici]
	g := ic.Groups[gi]
	body := []Segment{Seg("AK1", g.FunctionalID(), g.ControlNumber())}
	accepted := 0
	for si, s := range g.Sets {
		code, segs := setAck(s, problems.For(ici, gi, si), verdicts[si])
		body = append(body, Seg("AK2", s.Type(), s.ControlNumber()))
		body = append(body, segs...)
		body = append(body, Seg("AK5", code...))
		if code[0] != AckRejected {
			accepted++
		}
	}
	ak9 := []string{AckAccepted}
	for _, e := range problems.For(ici, gi, -1) {
		ak9 = appendCode(ak9, groupCode(e))
	}
	switch {
	case len(ak9) > 1 || len(problems.For(ici, -1, -1)) > 0 || accepted == 0 && len(g.Sets) > 0:
		ak9[0] = AckRejected
	case accepted < len(g.Sets):
		ak9[0] = AckPartiallyAccepted
	case anyNoted(verdicts):
		ak9[0] = AckAcceptedWithErrors
	}
	body = append(body, Seg("AK9", append([]string{ak9[0], g.Trailer.E(1), strconv.Itoa(len(g.Sets)),
		strconv.Itoa(accepted)}, ak9[1:]...)...))
	return NewSet{Type: "997", Body: body}
}

// setAck returns AK501… and the AK3/AK4 segments for one set.
func setAck(s *Set, problems Errors, v Verdict) ([]string, []Segment) {
	var segs []Segment
	code := []string{AckAccepted}
	for _, e := range problems {
		code = appendCode(code, setCode(e))
		if e.SetPos > 1 && e.Tag != "SE" {
			segs = append(segs, Seg("AK3", e.Tag, strconv.Itoa(e.SetPos), "", "1"))
		}
	}
	for _, n := range v.Rejected {
		code = appendCode(code, "5")
		segs = append(segs, noteSegs(n)...)
	}
	if len(code) > 1 {
		code[0] = AckRejected
		return code, segs
	}
	for _, n := range v.Notes {
		segs = append(segs, noteSegs(n)...)
		code[0] = AckAcceptedWithErrors
	}
	return code, segs
}

func noteSegs(n Note) []Segment {
	segs := []Segment{Seg("AK3", n.Tag, strconv.Itoa(n.SetPos), "", n.Code)}
	if n.Element > 0 {
		segs = append(segs, Seg("AK4", strconv.Itoa(n.Element), "", n.ElementCode, n.Value))
	}
	return segs
}

// appendCode adds a code once, keeping at most the five codes AK5 and AK9 have room for.
func appendCode(codes []string, c string) []string {
	for _, have := range codes[1:] {
		if have == c {
			return codes
		}
	}
	if len(codes) < 6 {
		codes = append(codes, c)
	}
	return codes
}

func anyNoted(verdicts map[int]Verdict) bool {
	for _, v := range verdicts {
		if len(v.Notes) > 0 {
			return true
		}
	}
	return false
}

// Ack is what a received 997 says about one group we sent.
type Ack struct {
	// FunctionalID and GroupControl name the group (AK101, AK102).
	FunctionalID, GroupControl string
	// Code is AK901: AckAccepted, AckAcceptedWithErrors, AckPartiallyAccepted or AckRejected.
	Code string
	// Included, Received and Accepted are AK902–AK904.
	Included, Received, Accepted int
	// Codes are AK905…: why the group was rejected.
	Codes []string
	// Sets are the AK2 loops.
	Sets []SetAck
}

// SetAck is one AK2 loop: the set, its AK5 code and codes, and the segments named in error.
type SetAck struct {
	Type, Control, Code string
	Codes               []string
	Notes               []Note
}

// ReadAck reads a 997 transaction set of an interchange with delimiters d. A 997 without AK1 or AK9, or whose AK2 loop lacks its
// AK5, is an error naming the segment.
func ReadAck(s *Set, d Delimiters) (*Ack, error) {
	if s.Type() != "997" {
		return nil, fmt.Errorf("x12: set %s is a %s, not a 997", s.ControlNumber(), s.Type())
	}
	a := &Ack{}
	var cur *SetAck
	for i, seg := range s.Body {
		pos := i + 2
		switch seg.Tag {
		case "AK1":
			a.FunctionalID, a.GroupControl = seg.E(1), seg.E(2)
		case "AK2":
			a.Sets = append(a.Sets, SetAck{Type: seg.E(1), Control: seg.E(2)})
			cur = &a.Sets[len(a.Sets)-1]
		case "AK3":
			if cur == nil {
				return nil, fmt.Errorf("x12: 997 set position %d: AK3 outside an AK2 loop", pos)
			}
			p, _ := strconv.Atoi(seg.E(2))
			cur.Notes = append(cur.Notes, Note{Tag: seg.E(1), SetPos: p, Code: seg.E(4)})
		case "AK4":
			if cur == nil || len(cur.Notes) == 0 {
				return nil, fmt.Errorf("x12: 997 set position %d: AK4 without its AK3", pos)
			}
			n := &cur.Notes[len(cur.Notes)-1]
			n.Element, _ = strconv.Atoi(seg.Components(1, d)[0])
			n.ElementCode, n.Value = seg.E(3), seg.E(4)
		case "AK5":
			if cur == nil {
				return nil, fmt.Errorf("x12: 997 set position %d: AK5 outside an AK2 loop", pos)
			}
			cur.Code, cur.Codes = seg.E(1), nonEmpty(seg.Elems[1:])
			cur = nil
		case "AK9":
			a.Code, a.Codes = seg.E(1), nonEmpty(seg.Elems[min(4, len(seg.Elems)):])
			a.Included, _ = strconv.Atoi(seg.E(2))
			a.Received, _ = strconv.Atoi(seg.E(3))
			a.Accepted, _ = strconv.Atoi(seg.E(4))
		}
	}
	switch {
	case a.GroupControl == "":
		return nil, fmt.Errorf("x12: 997 %s has no AK1 naming the group", s.ControlNumber())
	case a.Code == "":
		return nil, fmt.Errorf("x12: 997 %s has no AK9", s.ControlNumber())
	case cur != nil:
		return nil, fmt.Errorf("x12: 997 %s: the AK2 loop of set %s has no AK5", s.ControlNumber(), cur.Control)
	}
	return a, nil
}

func nonEmpty(vs []string) []string {
	var out []string
	for _, v := range vs {
		if v != "" {
			out = append(out, v)
		}
	}
	return out
}
