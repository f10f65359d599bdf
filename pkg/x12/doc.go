// Package x12 reads and writes ANSI ASC X12 interchanges: the ISA/IEA interchange, GS/GE
// functional group and ST/SE transaction set envelopes, with the element, component, repetition
// and segment separators each interchange declares in its fixed-width ISA segment.
//
// Reading is strict: control numbers must match (ISA13=IEA02, GS06=GE02, ST02=SE02) and counts
// must agree (SE01, GE01, IEA01); every problem is an *Error naming the segment, its position
// and the element, wrapping one of the Err… sentinels so callers can tell them apart. Writing
// what was read gives back the same bytes, including the layout between segments (a byte-order
// mark, line breaks, indentation, a missing final terminator), so partners' files can be
// archived, compared and re-sent exactly. Builder makes new interchanges with generated control
// numbers; ack.go generates and reads 997 functional acknowledgements.
package x12
