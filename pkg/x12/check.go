package x12

import (
	"fmt"
	"sort"
	"strconv"
)

// checker walks a read File in reading order, so the k-th segment it visits is p.locs[k].
type checker struct {
	p        *parser
	k        int
	ic, g, s int
	setStart int // k of the current ST
	out      Errors
}

// check collects every control number, count and element-count problem, and the segment-tag
// problems the reader noted, in the order of the data.
func (p *parser) check(f *File) Errors {
	c := &checker{p: p}
	for i, ic := range f.Interchanges {
		c.ic, c.g, c.s = i, -1, -1
		c.interchange(ic)
	}
	out := append(c.out, p.errs...)
	sort.SliceStable(out, func(a, b int) bool { return out[a].Pos < out[b].Pos })
	return out
}

func (c *checker) add(s Segment, elem int, err error, format string, args ...any) {
	l := c.p.locs[c.k]
	e := &Error{Err: err, Tag: s.Tag, Pos: l.pos, Offset: l.off, Element: elem,
		Detail: fmt.Sprintf(format, args...), Interchange: c.ic, Group: c.g, Set: c.s}
	if c.s >= 0 {
		e.SetPos = c.k - c.setStart + 1
	}
	c.out = append(c.out, e)
}

func (c *checker) interchange(ic *Interchange) {
	isa := ic.Header
	for i, w := range isaWidths {
		if len(isa.Elems[i]) != w {
			c.add(isa, i+1, ErrHeader, "%d characters, want %d", len(isa.Elems[i]), w)
		}
	}
	icnOK := digits(isa.E(13), 9, 9)
	if !icnOK && len(isa.E(13)) == 9 {
		c.add(isa, 13, ErrControlSyntax, "%q is not 9 digits", isa.E(13))
	}
	c.k++
	for _, ta1 := range ic.TA1s {
		if len(ta1.Elems) != 5 {
			c.add(ta1, 0, ErrElementCount, "%d elements, want 5", len(ta1.Elems))
		}
		c.k++
	}
	for gi, g := range ic.Groups {
		c.g = gi
		c.group(g)
		c.g = -1
	}
	iea := ic.Trailer
	if len(iea.Elems) != 2 {
		c.add(iea, 0, ErrElementCount, "%d elements, want 2", len(iea.Elems))
	} else {
		c.count(iea, 1, len(ic.Groups), ErrInterchangeCount)
		if icnOK {
			c.control(iea, 2, isa.E(13), ErrInterchangeControl, "ISA13")
		}
	}
	c.k++
}

func (c *checker) group(g *Group) {
	gs := g.Header
	gsOK := len(gs.Elems) == 8
	if !gsOK {
		c.add(gs, 0, ErrElementCount, "%d elements, want 8", len(gs.Elems))
	} else if !digits(gs.E(6), 1, 9) {
		gsOK = false
		c.add(gs, 6, ErrControlSyntax, "%q is not 1–9 digits", gs.E(6))
	}
	c.k++
	for si, s := range g.Sets {
		c.s = si
		c.set(s)
		c.s = -1
	}
	ge := g.Trailer
	if len(ge.Elems) != 2 {
		c.add(ge, 0, ErrElementCount, "%d elements, want 2", len(ge.Elems))
	} else {
		c.count(ge, 1, len(g.Sets), ErrGroupCount)
		if gsOK {
			c.control(ge, 2, gs.E(6), ErrGroupControl, "GS06")
		}
	}
	c.k++
}

func (c *checker) set(s *Set) {
	c.setStart = c.k
	st := s.Header
	stOK := len(st.Elems) == 2 || len(st.Elems) == 3
	if !stOK {
		c.add(st, 0, ErrElementCount, "%d elements, want 2 or 3", len(st.Elems))
	} else if n := len(st.E(2)); n < 4 || n > 9 {
		c.add(st, 2, ErrControlSyntax, "%q is not 4–9 characters", st.E(2))
	}
	c.k += 1 + len(s.Body)
	se := s.Trailer
	if len(se.Elems) != 2 {
		c.add(se, 0, ErrElementCount, "%d elements, want 2", len(se.Elems))
	} else {
		c.count(se, 1, len(s.Body)+2, ErrSetCount)
		if stOK && se.E(2) != st.E(2) {
			c.add(se, 2, ErrSetControl, "SE02 %q, ST02 %q", se.E(2), st.E(2))
		}
	}
	c.k++
}

// count checks a trailer's count element against what was read.
func (c *checker) count(s Segment, elem, want int, err error) {
	v := s.E(elem)
	if !digits(v, 1, 10) {
		c.add(s, elem, ErrControlSyntax, "count %q is not a number", v)
		return
	}
	if n, _ := strconv.Atoi(v); n != want {
		c.add(s, elem, err, "%s%02d says %d, found %d", s.Tag, elem, n, want)
	}
}

// control compares a trailer's control number with its header's by value: a trailer written
// without the header's leading zeros ("3438" for "000003438") still matches, as the numeric
// type of these elements allows.
func (c *checker) control(s Segment, elem int, header string, err error, headerName string) {
	v := s.E(elem)
	if !digits(v, 1, 9) {
		c.add(s, elem, ErrControlSyntax, "%q is not 1–9 digits", v)
		return
	}
	a, _ := strconv.ParseUint(v, 10, 64)
	b, _ := strconv.ParseUint(header, 10, 64)
	if a != b {
		c.add(s, elem, err, "%s%02d %q, %s %q", s.Tag, elem, v, headerName, header)
	}
}

func digits(v string, min, max int) bool {
	if len(v) < min || len(v) > max {
		return false
	}
	for i := 0; i < len(v); i++ {
		if v[i] < '0' || v[i] > '9' {
			return false
		}
	}
	return true
}
