package x12

import (
	"bytes"
	"errors"
	"fmt"
	"strings"
	"time"
)

// TA104 interchange acknowledgement codes.
const (
	// TA1Accepted: the interchange's header and trailer were received without errors.
	TA1Accepted = "A"
	// TA1AcceptedWithErrors: received and accepted, errors noted; the sender must not resend.
	TA1AcceptedWithErrors = "E"
	// TA1Rejected: received and rejected because of errors.
	TA1Rejected = "R"
)

// TA105 interchange note codes (X12 data element I18) this package reports.
const (
	NoteNoError            = "000"
	NoteControlMismatch    = "001" // ISA13 and IEA02 differ (the header's number is acknowledged)
	NoteSegmentTerminator  = "004"
	NoteSenderQualifier    = "005"
	NoteSenderID           = "006"
	NoteReceiverQualifier  = "007"
	NoteReceiverID         = "008"
	NoteUnknownReceiver    = "009"
	NoteAuthQualifier      = "010"
	NoteAuthValue          = "011"
	NoteSecurityQualifier  = "012"
	NoteSecurityValue      = "013"
	NoteDate               = "014"
	NoteTime               = "015"
	NoteStandardsID        = "016"
	NoteVersion            = "017"
	NoteControlNumber      = "018"
	NoteAckRequested       = "019"
	NoteTestIndicator      = "020"
	NoteGroupCount         = "021" // IEA01 is not the number of groups
	NoteControlStructure   = "022"
	NotePrematureEnd       = "023"
	NoteContent            = "024" // e.g. an invalid GS segment
	NoteDuplicate          = "025" // the interchange control number was received before
	NoteElementSeparator   = "026"
	NoteComponentSeparator = "027"
)

// TA1 is one interchange acknowledgement: TA101 the acknowledged ISA13, TA102/TA103 its ISA09
// date and ISA10 time, TA104 the code, TA105 the note.
type TA1 struct {
	ControlNumber, Date, Time, Code, Note string
}

// Segment is the TA1 segment.
func (t TA1) Segment() Segment {
	return Seg("TA1", t.ControlNumber, t.Date, t.Time, t.Code, t.Note)
}

// AckRequested reports whether an interchange header asks for a TA1 (ISA14 "1").
func AckRequested(isa Segment) bool { return isa.E(14) == "1" }

// isaNotes are the TA105 notes for a bad ISA element, by element number.
var isaNotes = [17]string{1: NoteAuthQualifier, 2: NoteAuthValue, 3: NoteSecurityQualifier, 4: NoteSecurityValue,
	5: NoteSenderQualifier, 6: NoteSenderID, 7: NoteReceiverQualifier, 8: NoteReceiverID, 9: NoteDate, 10: NoteTime,
	11: NoteStandardsID, 12: NoteVersion, 13: NoteControlNumber, 14: NoteAckRequested, 15: NoteTestIndicator,
	16: NoteComponentSeparator}

// noteFor is the TA105 note of a problem; "" for one inside a group that leaves the envelope
// readable, which the 997 reports. A problem that stops the read (the data ends early, a segment
// where the envelope allows none) is the interchange's wherever it sits.
func noteFor(e *Error) string {
	switch {
	case errors.Is(e.Err, ErrTruncated):
		return NotePrematureEnd
	case errors.Is(e.Err, ErrStructure) && (e.Tag == "GS" || e.Tag == "GE"):
		return NoteContent
	case errors.Is(e.Err, ErrStructure):
		return NoteControlStructure
	case e.Group >= 0 || e.Set >= 0:
		return ""
	case errors.Is(e.Err, ErrInterchangeControl):
		return NoteControlMismatch
	case errors.Is(e.Err, ErrInterchangeCount):
		return NoteGroupCount
	case e.Tag == "ISA" && strings.Contains(e.Detail, "the data ends"):
		return NotePrematureEnd
	case e.Tag == "ISA" && strings.Contains(e.Detail, "terminator"):
		return NoteSegmentTerminator
	case e.Tag == "ISA" && e.Element == 0 && errors.Is(e.Err, ErrHeader):
		return NoteElementSeparator // a separator that is a letter, a digit or declared twice
	case e.Tag == "ISA" && e.Element > 0 && e.Element < len(isaNotes):
		return isaNotes[e.Element]
	}
	return NoteControlStructure
}

// InterchangeAck decides the TA1 for the interchange whose header isa was read, given the
// problems reading it found (those of other interchanges are ignored, as are those inside its
// groups: a 997 reports them). The first interchange-level problem names the note, and any
// rejects the interchange. needed says a TA1 must be sent: the header asked for one, or the
// envelope is in error (a sender that asked for none still learns why nothing was processed).
func InterchangeAck(isa Segment, interchange int, problems Errors) (ack TA1, needed bool) {
	ack = TA1{ControlNumber: isa.E(13), Date: isa.E(9), Time: isa.E(10), Code: TA1Accepted, Note: NoteNoError}
	for _, p := range problems {
		if p.Interchange != interchange && p.Interchange != -1 {
			continue
		}
		if n := noteFor(p); n != "" {
			ack.Code, ack.Note = TA1Rejected, n
			break
		}
	}
	return ack, AckRequested(isa) || ack.Code != TA1Accepted
}

// Duplicate is the TA1 for an interchange whose control number was received before: it is
// rejected with note 025 and not processed again.
func Duplicate(isa Segment) TA1 {
	return TA1{ControlNumber: isa.E(13), Date: isa.E(9), Time: isa.E(10), Code: TA1Rejected, Note: NoteDuplicate}
}

// ReadHeader reads only the ISA segment at the start of data (after a byte-order mark): what a
// TA1 for a file too broken to read (Read returns no File) still needs. When the header's
// separators are wrong (declared twice, a letter) it returns the error and the elements it
// read, split at the fourth byte, so the TA1 can still name ISA13.
func ReadHeader(data []byte) (Segment, Delimiters, error) {
	p := &parser{data: data, g: -1, s: -1}
	if bytes.HasPrefix(data, []byte(bom)) {
		p.off = len(bom)
	}
	isa, e := p.header()
	if e != nil {
		// The separators may be what is wrong; the elements, when they were read, still are.
		return isa, p.d, Errors{e}
	}
	return isa, p.d, nil
}

// BuildTA1 makes an interchange with control number icn carrying acks and no group (IEA01 0).
// It never asks for a TA1 itself: acknowledgements are not acknowledged.
func (e Envelope) BuildTA1(icn int64, at time.Time, acks ...TA1) (*File, error) {
	if len(acks) == 0 {
		return nil, errors.New("x12: a TA1 interchange needs at least one acknowledgement")
	}
	e.AckRequested = false
	f, err := e.Build(icn, 1, at)
	if err != nil {
		return nil, err
	}
	ic := f.Interchanges[0]
	for _, a := range acks {
		s := a.Segment()
		s.Trail = e.Layout
		ic.TA1s = append(ic.TA1s, s)
	}
	return f, nil
}

// ReadTA1s reads the acknowledgements an interchange carries, checking each one's codes.
func ReadTA1s(ic *Interchange) ([]TA1, error) {
	var out []TA1
	for i, s := range ic.TA1s {
		t := TA1{ControlNumber: s.E(1), Date: s.E(2), Time: s.E(3), Code: s.E(4), Note: s.E(5)}
		switch {
		case !digits(t.ControlNumber, 9, 9):
			return nil, fmt.Errorf("x12: TA1 %d: TA101 %q is not a 9-digit control number", i+1, t.ControlNumber)
		case t.Code != TA1Accepted && t.Code != TA1AcceptedWithErrors && t.Code != TA1Rejected:
			return nil, fmt.Errorf("x12: TA1 %d: TA104 %q is not A, E or R", i+1, t.Code)
		case !digits(t.Note, 3, 3):
			return nil, fmt.Errorf("x12: TA1 %d: TA105 %q is not a 3-digit note code", i+1, t.Note)
		}
		out = append(out, t)
	}
	return out, nil
}
