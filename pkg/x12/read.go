package x12

import (
	"bytes"
	"fmt"
	"strings"
)

// bom is the UTF-8 byte-order mark some partners' tools put before the ISA.
const bom = "\ufeff"

// isaWidths are the fixed widths of ISA01 … ISA16.
var isaWidths = [16]int{2, 10, 2, 10, 2, 15, 2, 15, 6, 4, 1, 5, 9, 1, 1, 1}

// loc is where a segment was read.
type loc struct{ pos, off int }

// parser reads one file; fatal problems stop it, the others are collected in errs.
type parser struct {
	data         []byte
	off          int
	d            Delimiters
	locs         []loc // per segment, in reading order
	errs         Errors
	unterminated bool
	ic, g, s     int // current envelope indexes for errors
}

// Read parses data into interchanges and checks their envelopes. A problem that makes the rest
// unreadable (no ISA, a malformed ISA, a segment where the envelope does not allow it, data that
// ends inside an envelope) stops the read and returns Errors with that one problem and a nil
// File. Control number, count and segment-tag problems are all collected: the File is returned
// with them, so a 997 can reject just the sets and groups that are wrong.
func Read(data []byte) (*File, error) {
	p := &parser{data: data}
	f := &File{}
	if bytes.HasPrefix(data, []byte(bom)) {
		f.Prefix, p.off = bom, len(bom)
	}
	for p.off < len(data) {
		p.ic, p.g, p.s = len(f.Interchanges), -1, -1
		ic, err := p.interchange()
		if err != nil {
			return nil, Errors{err}
		}
		f.Interchanges = append(f.Interchanges, ic)
		if p.unterminated {
			break
		}
	}
	if len(f.Interchanges) == 0 {
		return nil, Errors{{Err: ErrNoInterchange, Offset: p.off, Interchange: -1, Group: -1, Set: -1}}
	}
	f.Unterminated = p.unterminated
	if errs := p.check(f); len(errs) > 0 {
		return f, errs
	}
	return f, nil
}

// fail locates a problem at the segment read last.
func (p *parser) fail(err error, tag string, elem int, detail string) *Error {
	e := p.failEnd(err, detail)
	e.Tag, e.Element = tag, elem
	if len(p.locs) > 0 {
		l := p.locs[len(p.locs)-1]
		e.Pos, e.Offset = l.pos, l.off
	}
	return e
}

// failEnd locates a problem at the current offset: the data ended.
func (p *parser) failEnd(err error, detail string) *Error {
	return &Error{Err: err, Detail: detail, Offset: p.off, Interchange: p.ic, Group: p.g, Set: p.s}
}

// header reads the fixed-width ISA segment and takes the separators from it: the element
// separator is its fourth byte, the component separator ISA16, the segment terminator the byte
// after it, and the repetition separator ISA11 from version 00402 on (earlier versions, and
// files that still put the standards identifier "U" there, have none).
func (p *parser) header() (Segment, *Error) {
	start := p.off
	if !bytes.HasPrefix(p.data[start:], []byte("ISA")) || len(p.data)-start < 4 {
		return Segment{}, &Error{Err: ErrNoInterchange, Offset: start, Interchange: p.ic, Group: -1, Set: -1}
	}
	p.locs = append(p.locs, loc{pos: len(p.locs) + 1, off: start})
	sep := p.data[start+3]
	i := start + 3
	elems := make([]string, 0, 16)
	for k := 1; k <= 16; k++ {
		if i >= len(p.data) || p.data[i] != sep {
			return Segment{}, p.fail(ErrHeader, "ISA", k, "the data ends before 16 elements")
		}
		i++
		j := i + 1
		if k < 16 {
			j = bytes.IndexByte(p.data[i:], sep)
			if j < 0 {
				return Segment{}, p.fail(ErrHeader, "ISA", k, "the data ends before 16 elements")
			}
			j += i
		}
		if j > len(p.data) {
			return Segment{}, p.fail(ErrHeader, "ISA", k, "the data ends before 16 elements")
		}
		elems = append(elems, string(p.data[i:j]))
		i = j
	}
	if i >= len(p.data) {
		return Segment{}, p.fail(ErrHeader, "ISA", 16, "no segment terminator after ISA16")
	}
	d := Delimiters{Element: sep, Component: elems[15][0], Segment: p.data[i]}
	if r := elems[10]; elems[11] >= "00402" && len(r) == 1 && !alnum(r[0]) && r[0] != ' ' {
		d.Repetition = elems[10][0]
	}
	// From here on the elements are read: a problem with the separators returns them with it,
	// so the interchange can still be acknowledged by its ISA13 (a TA1, ReadHeader).
	read := Segment{Tag: "ISA", Elems: elems}
	if err := p.checkDelims(d); err != nil {
		return read, err
	}
	for k, e := range elems[:15] {
		if strings.IndexByte(e, d.Segment) >= 0 {
			return read, p.fail(ErrHeader, "ISA", k+1, "contains the segment terminator")
		}
	}
	p.off = i + 1
	p.d = d
	return Segment{Tag: "ISA", Elems: elems, Trail: p.trail()}, nil
}

func (p *parser) checkDelims(d Delimiters) *Error {
	ds := []byte{d.Element, d.Component, d.Segment}
	if d.Repetition != 0 {
		ds = append(ds, d.Repetition)
	}
	for i, a := range ds {
		if alnum(a) {
			return p.fail(ErrHeader, "ISA", 0, fmt.Sprintf("separator %q is a letter or digit", a))
		}
		for _, b := range ds[i+1:] {
			if a == b {
				return p.fail(ErrHeader, "ISA", 0, fmt.Sprintf("separator %q is declared twice", a))
			}
		}
	}
	return nil
}

// trail consumes the layout after a terminator: spaces, tabs and line breaks that are not
// separators themselves.
func (p *parser) trail() string {
	start := p.off
	for p.off < len(p.data) {
		c := p.data[p.off]
		if (c != ' ' && c != '\t' && c != '\r' && c != '\n') || p.d.special(c) {
			break
		}
		p.off++
	}
	return string(p.data[start:p.off])
}

// next reads one segment; ok is false at the end of the data. A segment without a terminator
// is accepted only as the last one (the envelope check then needs it to be IEA).
func (p *parser) next() (s Segment, ok bool) {
	if p.off >= len(p.data) {
		return Segment{}, false
	}
	start := p.off
	var text []byte
	if j := bytes.IndexByte(p.data[start:], p.d.Segment); j < 0 {
		text, p.off, p.unterminated = p.data[start:], len(p.data), true
	} else {
		text, p.off = p.data[start:start+j], start+j+1
	}
	p.locs = append(p.locs, loc{pos: len(p.locs) + 1, off: start})
	parts := strings.Split(string(text), string(p.d.Element))
	return Segment{Tag: parts[0], Elems: parts[1:], Trail: p.trail()}, true
}

func (p *parser) interchange() (*Interchange, *Error) {
	isa, err := p.header()
	if err != nil {
		return nil, err
	}
	ic := &Interchange{Delims: p.d, Header: isa}
	for {
		s, ok := p.next()
		switch {
		case !ok || (p.unterminated && s.Tag != "IEA"):
			return nil, p.failEnd(ErrTruncated, "the data ends before IEA")
		case s.Tag == "TA1" && len(ic.Groups) == 0:
			ic.TA1s = append(ic.TA1s, s)
		case s.Tag == "GS":
			p.g = len(ic.Groups)
			g, err := p.group(s)
			if err != nil {
				return nil, err
			}
			ic.Groups = append(ic.Groups, g)
			p.g = -1
		case s.Tag == "IEA":
			ic.Trailer = s
			if !p.unterminated && p.off < len(p.data) && !bytes.HasPrefix(p.data[p.off:], []byte("ISA")) {
				after, _ := p.next()
				return nil, p.fail(ErrStructure, after.Tag, 0, "after IEA, where only another ISA may follow")
			}
			return ic, nil
		default:
			return nil, p.fail(ErrStructure, s.Tag, 0, "where GS, IEA (or, before any GS, TA1) is expected")
		}
	}
}

func (p *parser) group(gs Segment) (*Group, *Error) {
	g := &Group{Header: gs}
	for {
		s, ok := p.next()
		switch {
		case !ok || p.unterminated:
			return nil, p.failEnd(ErrTruncated, "the data ends before GE")
		case s.Tag == "ST":
			p.s = len(g.Sets)
			set, err := p.set(s)
			if err != nil {
				return nil, err
			}
			g.Sets = append(g.Sets, set)
			p.s = -1
		case s.Tag == "GE":
			g.Trailer = s
			return g, nil
		default:
			return nil, p.fail(ErrStructure, s.Tag, 0, "where ST or GE is expected")
		}
	}
}

func (p *parser) set(st Segment) (*Set, *Error) {
	set := &Set{Header: st}
	for {
		s, ok := p.next()
		switch {
		case !ok || p.unterminated:
			return nil, p.failEnd(ErrTruncated, "the data ends before SE")
		case s.Tag == "SE":
			set.Trailer = s
			return set, nil
		case s.Tag == "ST" || s.Tag == "GS" || s.Tag == "GE" || s.Tag == "IEA" || s.Tag == "ISA":
			return nil, p.fail(ErrStructure, s.Tag, 0, "before SE")
		}
		if !validTag(s.Tag) {
			e := p.fail(ErrSyntax, s.Tag, 0, fmt.Sprintf("tag %q is not 2–3 upper-case letters or digits", s.Tag))
			e.SetPos = len(set.Body) + 2
			p.errs = append(p.errs, e)
		}
		set.Body = append(set.Body, s)
	}
}

func validTag(t string) bool {
	if len(t) < 2 || len(t) > 3 || t[0] < 'A' || t[0] > 'Z' {
		return false
	}
	for i := 1; i < len(t); i++ {
		if !(t[i] >= 'A' && t[i] <= 'Z') && !(t[i] >= '0' && t[i] <= '9') {
			return false
		}
	}
	return true
}

func alnum(c byte) bool {
	return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9')
}
