package x12

import (
	"errors"
	"fmt"
	"strings"
)

// Sentinels wrapped by *Error; test with errors.Is.
var (
	// ErrNoInterchange: the data does not start with an ISA segment.
	ErrNoInterchange = errors.New("no ISA interchange header")
	// ErrHeader: the ISA segment is not 16 fixed-width elements with distinct separators.
	ErrHeader = errors.New("malformed ISA header")
	// ErrSyntax: a segment is empty or its tag is not 2–3 upper-case letters or digits.
	ErrSyntax = errors.New("segment syntax error")
	// ErrStructure: a segment where the envelope does not allow it (ST outside a group, GE
	// before SE, data after IEA).
	ErrStructure = errors.New("envelope structure error")
	// ErrTruncated: the data ended inside an envelope.
	ErrTruncated = errors.New("truncated interchange")
	// ErrElementCount: an envelope segment has the wrong number of elements.
	ErrElementCount = errors.New("wrong number of elements")
	// ErrControlSyntax: a control number or count is not numeric (or not 4–9 characters for ST02).
	ErrControlSyntax = errors.New("malformed control number or count")
	// ErrInterchangeControl: IEA02 differs from ISA13.
	ErrInterchangeControl = errors.New("interchange control number mismatch")
	// ErrGroupControl: GE02 differs from GS06.
	ErrGroupControl = errors.New("group control number mismatch")
	// ErrSetControl: SE02 differs from ST02.
	ErrSetControl = errors.New("transaction set control number mismatch")
	// ErrInterchangeCount: IEA01 differs from the number of groups.
	ErrInterchangeCount = errors.New("interchange group count mismatch")
	// ErrGroupCount: GE01 differs from the number of transaction sets.
	ErrGroupCount = errors.New("group transaction set count mismatch")
	// ErrSetCount: SE01 differs from the number of segments from ST to SE.
	ErrSetCount = errors.New("transaction set segment count mismatch")
	// ErrValue: a value to write contains one of the interchange's separators.
	ErrValue = errors.New("value contains a separator")
)

// Error is one problem, located: the segment's tag, its 1-based position in the data and, inside
// a transaction set, in the set (ST is 1, as 997 AK3 counts), the 1-based element, and the byte
// offset where the segment starts.
type Error struct {
	Err     error  // one of the Err… sentinels
	Tag     string // segment tag, e.g. "SE"; "" when the data ended
	Pos     int    // segment position in the data, from 1
	SetPos  int    // position in the transaction set, from 1 (ST); 0 outside a set
	Element int    // element position, from 1; 0 for the whole segment
	Offset  int    // byte offset of the segment
	Detail  string // what was found
	// Interchange, Group and Set index the envelope the problem belongs to (from 0; -1 when the
	// problem is above that level), so acknowledgements can reject just the set or group.
	Interchange, Group, Set int
}

func (e *Error) Error() string {
	var b strings.Builder
	b.WriteString("x12: ")
	if e.Pos > 0 {
		fmt.Fprintf(&b, "segment %d (%s", e.Pos, e.Tag)
		if e.Element > 0 {
			fmt.Fprintf(&b, "%02d", e.Element)
		}
		fmt.Fprintf(&b, ") at byte %d", e.Offset)
		if e.SetPos > 0 {
			fmt.Fprintf(&b, ", set position %d", e.SetPos)
		}
		b.WriteString(": ")
	} else {
		fmt.Fprintf(&b, "at byte %d: ", e.Offset)
	}
	b.WriteString(e.Err.Error())
	if e.Detail != "" {
		b.WriteString(": " + e.Detail)
	}
	return b.String()
}

func (e *Error) Unwrap() error { return e.Err }

// Errors are every problem one read found, in the order of the data.
type Errors []*Error

func (es Errors) Error() string {
	if len(es) == 1 {
		return es[0].Error()
	}
	return fmt.Sprintf("%s (and %d more)", es[0].Error(), len(es)-1)
}

// Unwrap lets errors.Is and errors.As see every problem.
func (es Errors) Unwrap() []error {
	out := make([]error, len(es))
	for i, e := range es {
		out[i] = e
	}
	return out
}

// For returns the problems that belong to set s of group g of interchange i, or to the group
// itself when s is -1.
func (es Errors) For(i, g, s int) Errors {
	var out Errors
	for _, e := range es {
		if e.Interchange == i && e.Group == g && e.Set == s {
			out = append(out, e)
		}
	}
	return out
}
