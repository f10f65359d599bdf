package x12

import "strings"

// Delimiters are the separators one interchange declares in its ISA segment.
type Delimiters struct {
	// Element separates data elements (ISA's fourth byte).
	Element byte
	// Component separates the components of a composite element (ISA16).
	Component byte
	// Repetition separates repeats of an element (ISA11 from version 00402); 0 when the
	// interchange declares none.
	Repetition byte
	// Segment ends a segment (the byte after ISA16).
	Segment byte
}

// DefaultDelimiters are the common "*", ":", "^" and "~".
var DefaultDelimiters = Delimiters{Element: '*', Component: ':', Repetition: '^', Segment: '~'}

// special reports whether b is one of the interchange's separators.
func (d Delimiters) special(b byte) bool {
	return b == d.Element || b == d.Component || b == d.Segment || (d.Repetition != 0 && b == d.Repetition)
}

// Segment is one segment: its tag and its data elements as written (composites and repeats
// unsplit; Components and Repeats split them).
type Segment struct {
	// Tag is the segment identifier, e.g. "W05".
	Tag string
	// Elems are the data elements in order: Elems[0] is the segment's 01 element.
	Elems []string
	// Trail is the layout written after the segment terminator (line breaks, indentation).
	// It carries no data; it is kept so that writing what was read gives the same bytes.
	Trail string
}

// Seg builds a segment from a tag and its elements.
func Seg(tag string, elems ...string) Segment { return Segment{Tag: tag, Elems: elems} }

// E returns element n, counted from 1 as the standard does ("W0502" is E(2)); "" when absent.
func (s Segment) E(n int) string {
	if n < 1 || n > len(s.Elems) {
		return ""
	}
	return s.Elems[n-1]
}

// Components splits element n on the component separator.
func (s Segment) Components(n int, d Delimiters) []string {
	return strings.Split(s.E(n), string(d.Component))
}

// Repeats splits element n on the repetition separator (one value when there is none).
func (s Segment) Repeats(n int, d Delimiters) []string {
	if d.Repetition == 0 {
		return []string{s.E(n)}
	}
	return strings.Split(s.E(n), string(d.Repetition))
}

// Interchange is one ISA … IEA envelope.
type Interchange struct {
	// Delims are the separators its ISA declares.
	Delims Delimiters
	// Header is the ISA segment (16 fixed-width elements).
	Header Segment
	// TA1s are the interchange acknowledgements it carries, between ISA and the first GS (an
	// interchange may hold only TA1s and no group); ta1.go reads and builds them.
	TA1s []Segment
	// Groups are its functional groups.
	Groups []*Group
	// Trailer is the IEA segment.
	Trailer Segment
}

// ControlNumber is ISA13, the interchange control number: the dedup key of a partner's file.
func (ic *Interchange) ControlNumber() string { return ic.Header.E(13) }

// Sender is ISA06 without its padding.
func (ic *Interchange) Sender() string { return strings.TrimSpace(ic.Header.E(6)) }

// Receiver is ISA08 without its padding.
func (ic *Interchange) Receiver() string { return strings.TrimSpace(ic.Header.E(8)) }

// Group is one GS … GE functional group.
type Group struct {
	// Header is the GS segment.
	Header Segment
	// Sets are its transaction sets.
	Sets []*Set
	// Trailer is the GE segment.
	Trailer Segment
}

// FunctionalID is GS01, e.g. "OW" for 940s, "FA" for 997s.
func (g *Group) FunctionalID() string { return g.Header.E(1) }

// ControlNumber is GS06.
func (g *Group) ControlNumber() string { return g.Header.E(6) }

// Version is GS08, e.g. "004010".
func (g *Group) Version() string { return g.Header.E(8) }

// Set is one ST … SE transaction set.
type Set struct {
	// Header is the ST segment.
	Header Segment
	// Body are the segments between ST and SE.
	Body []Segment
	// Trailer is the SE segment.
	Trailer Segment
}

// Type is ST01, e.g. "940".
func (s *Set) Type() string { return s.Header.E(1) }

// ControlNumber is ST02.
func (s *Set) ControlNumber() string { return s.Header.E(2) }

// File is what one read gave: one or more interchanges and the bytes around them.
type File struct {
	// Prefix is what came before the first ISA: a UTF-8 byte-order mark or nothing.
	Prefix string
	// Interchanges in order.
	Interchanges []*Interchange
	// Unterminated is set when the last segment had no terminator (files whose terminator is a
	// line break often lack the final one).
	Unterminated bool
}
