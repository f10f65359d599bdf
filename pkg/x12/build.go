package x12

import (
	"fmt"
	"strconv"
	"time"
)

// MaxControlNumber is the largest interchange or group control number (nine digits).
const MaxControlNumber = 999_999_999

// Envelope says who sends an interchange to whom and how it is written.
type Envelope struct {
	// SenderQualifier and SenderID are ISA05/ISA06 (e.g. "ZZ", "RETAILBRIDGE").
	SenderQualifier, SenderID string
	// ReceiverQualifier and ReceiverID are ISA07/ISA08.
	ReceiverQualifier, ReceiverID string
	// AppSender and AppReceiver are GS02/GS03; the ISA ids when empty.
	AppSender, AppReceiver string
	// Version is GS08, e.g. "004010"; ISA12 is derived from it ("00401").
	Version string
	// Test marks the interchange as test data (ISA15 "T" instead of "P").
	Test bool
	// AckRequested asks for a TA1 interchange acknowledgement (ISA14).
	AckRequested bool
	// Delims are the separators; DefaultDelimiters when zero. Before version 00402 there is no
	// repetition separator and ISA11 carries "U".
	Delims Delimiters
	// Layout is written after each segment terminator, e.g. "\n"; nothing when empty.
	Layout string
}

// NewGroup is a functional group to build: its GS01 code and its sets.
type NewGroup struct {
	// FunctionalID is GS01, e.g. "OW" for 940s.
	FunctionalID string
	// Sets are the transaction sets, numbered "0001", "0002", … in the group.
	Sets []NewSet
}

// NewSet is a transaction set to build: its ST01 type and the segments between ST and SE.
type NewSet struct {
	Type string
	Body []Segment
}

// Build makes one interchange with control number icn whose groups are numbered gcn, gcn+1, …;
// it fills every control number and count, so the result reads back without problems.
func (e Envelope) Build(icn, gcn int64, at time.Time, groups ...NewGroup) (*File, error) {
	last := gcn + int64(len(groups)) - 1
	if icn < 1 || icn > MaxControlNumber || gcn < 1 || last > MaxControlNumber {
		return nil, fmt.Errorf("x12: control numbers %d and %d–%d must be 1–%d", icn, gcn, last, MaxControlNumber)
	}
	if len(e.Version) != 6 {
		return nil, fmt.Errorf("x12: version %q is not six characters like 004010", e.Version)
	}
	d := e.Delims
	if d == (Delimiters{}) {
		d = DefaultDelimiters
	}
	isaVersion := e.Version[:5]
	rep := "U"
	if isaVersion >= "00402" && d.Repetition != 0 {
		rep = string(d.Repetition)
	} else {
		d.Repetition = 0
	}
	usage, ack := "P", "0"
	if e.Test {
		usage = "T"
	}
	if e.AckRequested {
		ack = "1"
	}
	at = at.UTC()
	ic := &Interchange{Delims: d, Header: e.seg("ISA", "00", pad("", 10), "00", pad("", 10),
		e.SenderQualifier, pad(e.SenderID, 15), e.ReceiverQualifier, pad(e.ReceiverID, 15),
		at.Format("060102"), at.Format("1504"), rep, isaVersion, fmt.Sprintf("%09d", icn), ack, usage,
		string(d.Component))}
	for i, ng := range groups {
		ic.Groups = append(ic.Groups, e.group(ng, gcn+int64(i), at))
	}
	ic.Trailer = e.seg("IEA", strconv.Itoa(len(groups)), fmt.Sprintf("%09d", icn))
	return &File{Interchanges: []*Interchange{ic}}, nil
}

func (e Envelope) group(ng NewGroup, gcn int64, at time.Time) *Group {
	sender, receiver := or(e.AppSender, e.SenderID), or(e.AppReceiver, e.ReceiverID)
	ctl := strconv.FormatInt(gcn, 10)
	g := &Group{Header: e.seg("GS", ng.FunctionalID, sender, receiver, at.Format("20060102"), at.Format("1504"),
		ctl, "X", e.Version)}
	for i, ns := range ng.Sets {
		sc := fmt.Sprintf("%04d", i+1)
		s := &Set{Header: e.seg("ST", ns.Type, sc)}
		for _, b := range ns.Body {
			b.Trail = e.Layout
			s.Body = append(s.Body, b)
		}
		s.Trailer = e.seg("SE", strconv.Itoa(len(ns.Body)+2), sc)
		g.Sets = append(g.Sets, s)
	}
	g.Trailer = e.seg("GE", strconv.Itoa(len(ng.Sets)), ctl)
	return g
}

func (e Envelope) seg(tag string, elems ...string) Segment {
	return Segment{Tag: tag, Elems: elems, Trail: e.Layout}
}

// pad left-aligns v in a fixed-width ISA element.
func pad(v string, n int) string {
	if len(v) >= n {
		return v[:n]
	}
	return v + fmt.Sprintf("%*s", n-len(v), "")
}

func or(a, b string) string {
	if a != "" {
		return a
	}
	return b
}
