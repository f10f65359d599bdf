package x12

import (
	"bytes"
	"fmt"
	"strings"
)

// Marshal writes f. Marshal of what Read returned gives back the bytes that were read. A value
// containing its interchange's element separator or segment terminator, or a layout that is not
// white space, is an *Error wrapping ErrValue that names the segment and element.
func Marshal(f *File) ([]byte, error) {
	var b bytes.Buffer
	b.WriteString(f.Prefix)
	w := &writer{b: &b}
	for i, ic := range f.Interchanges {
		w.ic = i
		last := i == len(f.Interchanges)-1
		if err := w.interchange(ic, last && f.Unterminated); err != nil {
			return nil, err
		}
	}
	return b.Bytes(), nil
}

type writer struct {
	b   *bytes.Buffer
	d   Delimiters
	pos int
	ic  int
}

func (w *writer) interchange(ic *Interchange, openEnd bool) error {
	w.d = ic.Delims
	if err := w.segment(ic.Header, false); err != nil {
		return err
	}
	for _, ta1 := range ic.TA1s {
		if err := w.segment(ta1, false); err != nil {
			return err
		}
	}
	for _, g := range ic.Groups {
		if err := w.segment(g.Header, false); err != nil {
			return err
		}
		for _, s := range g.Sets {
			if err := w.segment(s.Header, false); err != nil {
				return err
			}
			for _, seg := range s.Body {
				if err := w.segment(seg, false); err != nil {
					return err
				}
			}
			if err := w.segment(s.Trailer, false); err != nil {
				return err
			}
		}
		if err := w.segment(g.Trailer, false); err != nil {
			return err
		}
	}
	return w.segment(ic.Trailer, openEnd)
}

func (w *writer) segment(s Segment, openEnd bool) error {
	w.pos++
	bad := func(elem int, detail string) error {
		return &Error{Err: ErrValue, Tag: s.Tag, Pos: w.pos, Element: elem, Offset: w.b.Len(), Detail: detail,
			Interchange: w.ic, Group: -1, Set: -1}
	}
	// Byte-wise: separators may be any byte, and strings.ContainsAny would compare invalid
	// UTF-8 as U+FFFD.
	stop := func(v string) bool {
		return strings.IndexByte(v, w.d.Element) >= 0 || strings.IndexByte(v, w.d.Segment) >= 0
	}
	if s.Tag == "" || stop(s.Tag) {
		return bad(0, fmt.Sprintf("tag %q", s.Tag))
	}
	w.b.WriteString(s.Tag)
	for i, e := range s.Elems {
		if stop(e) {
			return bad(i+1, fmt.Sprintf("%q contains %q or %q", e, w.d.Element, w.d.Segment))
		}
		w.b.WriteByte(w.d.Element)
		w.b.WriteString(e)
	}
	for i := 0; i < len(s.Trail); i++ {
		if c := s.Trail[i]; (c != ' ' && c != '\t' && c != '\r' && c != '\n') || w.d.special(c) {
			return bad(0, fmt.Sprintf("layout %q is not white space", s.Trail))
		}
	}
	if openEnd {
		if s.Trail != "" {
			return bad(0, "an unterminated last segment cannot have a layout after it")
		}
		return nil
	}
	w.b.WriteByte(w.d.Segment)
	w.b.WriteString(s.Trail)
	return nil
}
