package edi3pl

import (
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/retailbridge/retailbridge/pkg/x12"
)

// loop picks up Retailbridge's files until Close.
func (s *Sandbox) loop() {
	defer s.wg.Done()
	t := time.NewTicker(s.opts.PollInterval)
	defer t.Stop()
	for {
		select {
		case <-s.stop:
			return
		case <-t.C:
			s.pickUp()
		}
	}
}

// pickUp reads every complete file in /to-3pl, oldest name first, and moves it to the 3PL's
// own folder.
func (s *Sandbox) pickUp() {
	dir := filepath.Join(s.opts.Dir, ToPartner)
	entries, err := os.ReadDir(dir)
	if err != nil {
		return
	}
	sort.Slice(entries, func(i, j int) bool { return entries[i].Name() < entries[j].Name() })
	for _, e := range entries {
		if e.IsDir() || strings.HasPrefix(e.Name(), ".") {
			continue
		}
		path := filepath.Join(dir, e.Name())
		data, err := os.ReadFile(path)
		if err != nil {
			continue
		}
		s.handle(e.Name(), data)
		os.Rename(path, filepath.Join(s.opts.Dir, done, e.Name()))
	}
}

// handle answers one file: a 997 per group (rejecting what does not read), then the 3PL's work.
func (s *Sandbox) handle(name string, data []byte) {
	f, problems := x12.Read(data)
	s.mu.Lock()
	defer s.mu.Unlock()
	if f == nil {
		s.log.Warn("edi3pl sandbox: unreadable file", "file", name, "err", problems)
		return
	}
	var es x12.Errors
	if problems != nil {
		es = problems.(x12.Errors)
	}
	for i, ic := range f.Interchanges {
		s.received++
		if ta1s, err := x12.ReadTA1s(ic); err == nil {
			s.ta1s = append(s.ta1s, ta1s...)
		}
		if x12.AckRequested(ic.Header) && len(ic.Groups) > 0 && s.answerTA1Locked(ic) {
			continue // rejected: nothing in it is processed
		}
		var acks []x12.NewSet
		for gi, g := range ic.Groups {
			if g.FunctionalID() == x12.FunctionalIDAck {
				for _, set := range g.Sets {
					if a, err := x12.ReadAck(set, ic.Delims); err == nil {
						s.acks = append(s.acks, *a)
					}
				}
				continue
			}
			verdicts := map[int]x12.Verdict{}
			for si, set := range g.Sets {
				if len(es.For(i, gi, si)) > 0 || len(es.For(i, gi, -1)) > 0 {
					continue
				}
				verdicts[si] = s.documentLocked(set, ic.Delims)
			}
			acks = append(acks, x12.Acknowledge(f, i, gi, es, verdicts))
		}
		if len(acks) > 0 && !s.faults.Silent {
			if err := s.sendLocked("997", x12.FunctionalIDAck, acks...); err != nil {
				s.log.Warn("edi3pl sandbox: 997 not sent", "err", err)
			}
		}
	}
}

// answerTA1Locked answers an interchange that asked for a TA1: accepted, or rejected (receiver
// unknown) under the RejectInterchanges fault. It reports whether it rejected it.
func (s *Sandbox) answerTA1Locked(ic *x12.Interchange) bool {
	if s.faults.Silent {
		return false
	}
	ack, _ := x12.InterchangeAck(ic.Header, 0, nil)
	if s.faults.RejectInterchanges {
		ack.Code, ack.Note = x12.TA1Rejected, x12.NoteUnknownReceiver
	}
	icn, err := s.nextControlNumberLocked()
	if err == nil {
		var f *x12.File
		if f, err = s.envelope().BuildTA1(icn, time.Now(), ack); err == nil {
			err = s.writeLocked("TA1", icn, f)
		}
	}
	if err != nil {
		s.log.Warn("edi3pl sandbox: TA1 not sent", "err", err)
	}
	return s.faults.RejectInterchanges
}

// documentLocked takes one 940 or 180 in and schedules the answers.
func (s *Sandbox) documentLocked(set *x12.Set, d x12.Delimiters) x12.Verdict {
	switch set.Type() {
	case "940":
		o := read940(set)
		if s.faults.RejectOrders {
			return x12.Verdict{Rejected: []x12.Note{{Tag: "W05", SetPos: 2, Code: "8", Element: 2, ElementCode: "7", Value: o.ShipmentID}}}
		}
		if _, dup := s.orders[o.ShipmentID]; !dup {
			s.orders[o.ShipmentID] = o
			if !s.faults.Silent && !s.faults.NoShipAdvice && s.opts.Delays.Ship >= 0 {
				s.afterLocked(s.opts.Delays.Ship, func() { s.Ship(o.ShipmentID) })
			}
		}
	case "180":
		r := read180(set)
		if _, dup := s.returns[r.ReturnID]; !dup {
			s.returns[r.ReturnID] = r
			if !s.faults.Silent && s.opts.Delays.Receive >= 0 {
				s.afterLocked(s.opts.Delays.Receive, func() { s.Receive(r.ReturnID) })
			}
		}
	default:
		return x12.Verdict{Rejected: []x12.Note{{Tag: "ST", SetPos: 1, Code: "8", Element: 1, ElementCode: "7", Value: set.Type()}}}
	}
	return x12.Verdict{}
}

func (s *Sandbox) afterLocked(d time.Duration, fn func()) {
	s.timers = append(s.timers, time.AfterFunc(d, fn))
}

// read940 reads what the 3PL needs of a shipping order.
func read940(set *x12.Set) *Order {
	o := &Order{}
	var line *Line
	for _, seg := range set.Body {
		switch seg.Tag {
		case "W05":
			o.ShipmentID, o.OrderID = seg.E(2), seg.E(3)
		case "N1":
			if seg.E(1) == "WH" {
				o.Location = seg.E(4)
			}
		case "W01":
			q, _ := strconv.ParseInt(seg.E(1), 10, 64)
			o.Lines = append(o.Lines, Line{SKU: seg.E(5), Quantity: q})
			line = &o.Lines[len(o.Lines)-1]
		case "N9":
			if seg.E(1) == "LI" && line != nil {
				line.OrderLineID = seg.E(2)
			}
		}
	}
	return o
}

// read180 reads a return authorisation.
func read180(set *x12.Set) *Return {
	r := &Return{}
	var line *Line
	for _, seg := range set.Body {
		switch seg.Tag {
		case "BGN":
			r.ReturnID = seg.E(2)
		case "PRF":
			r.OrderID = seg.E(1)
		case "N1":
			if seg.E(1) == "WH" {
				r.Location = seg.E(4)
			}
		case "N9":
			switch {
			case seg.E(1) == "RA":
				r.RMA = seg.E(2)
			case seg.E(1) == "LI" && line != nil:
				line.OrderLineID = seg.E(2)
			}
		case "BLI":
			q, _ := strconv.ParseInt(seg.E(3), 10, 64)
			r.Lines = append(r.Lines, Line{SKU: seg.E(2), Quantity: q})
			line = &r.Lines[len(r.Lines)-1]
		}
	}
	return r
}
