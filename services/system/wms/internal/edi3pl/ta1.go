package edi3pl

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"strings"

	"google.golang.org/protobuf/types/known/timestamppb"

	canonicalv1 "github.com/retailbridge/retailbridge/pkg/gen/retailbridge/canonical/v1"
	"github.com/retailbridge/retailbridge/pkg/sftpbox"
	"github.com/retailbridge/retailbridge/pkg/x12"
)

// TA1 interchange acknowledgements, both ways.
//
// Received files: an interchange whose ISA14 asks for one is answered with a TA1 — accepted
// (000) once processed, rejected with 025 when it is a re-send of one already processed — and
// an interchange whose envelope is in error (IEA02 not ISA13, IEA01 miscounting the groups, a
// malformed ISA, data ending early) is answered with a rejecting TA1 naming the error whatever
// ISA14 says, before the file is quarantined. The 997 still answers the groups.
//
// Sent files: with Config.AckRequested our interchanges ask for TA1s; a TA1 the 3PL sends back
// is reconciled with the document the interchange carried (its ICN is the group record's key).
// A rejected interchange was not processed at all: a rejected 940 publishes
// WMS_SHIPPING_ORDER_REJECTED, as a rejecting 997 does.

// sendTA1s writes one interchange carrying acks to the partner.
func (c *Client) sendTA1s(ctx context.Context, s *sftpbox.Session, acks []x12.TA1, st *PollStats) error {
	if len(acks) == 0 {
		return nil
	}
	icn, err := c.state.nextControlNumber(ctx)
	if err != nil {
		return toStateErr(err)
	}
	f, err := c.envelope().BuildTA1(icn, c.now(), acks...)
	if err != nil {
		return toErr(err)
	}
	data, err := x12.Marshal(f)
	if err != nil {
		return toErr(err)
	}
	st.TA1s += len(acks)
	return toErr(s.Put(fmt.Sprintf("TA1_%09d.edi", icn), data))
}

// envelopeTA1s are the TA1s a file that did not read cleanly earns: one per interchange that
// asked for one or whose envelope is in error. A file too broken to read is answered from its
// ISA alone, when that names a control number.
func envelopeTA1s(data []byte, f *x12.File, problems error) []x12.TA1 {
	var es x12.Errors
	errors.As(problems, &es)
	var out []x12.TA1
	add := func(isa x12.Segment, i int) {
		if ack, needed := x12.InterchangeAck(isa, i, es); needed && ack.ControlNumber != "" {
			out = append(out, ack)
		}
	}
	if f != nil {
		for i, ic := range f.Interchanges {
			add(ic.Header, i)
		}
		return out
	}
	if isa, _, _ := x12.ReadHeader(data); len(isa.Elems) == 16 {
		add(isa, 0)
	}
	return out
}

// interchangeAcked reconciles a TA1 the 3PL sent with the interchange of ours it names.
func (c *Client) interchangeAcked(ctx context.Context, r *received, t x12.TA1) error {
	n, _ := strconv.ParseInt(t.ControlNumber, 10, 64)
	var g groupRecord
	_, found, err := c.state.get(ctx, key("group", strconv.FormatInt(n, 10)), &g)
	if err != nil {
		return toStateErr(err)
	}
	if !found {
		c.log.WarnContext(ctx, "edi3pl: TA1 for an interchange we did not send", "icn", t.ControlNumber)
		return nil
	}
	at := c.now().UTC()
	k := key("order", g.ID)
	if g.Type == "180" {
		k = key("receipt", g.ID)
	}
	r.applies = append(r.applies, func(ctx context.Context) error { return c.markTA1(ctx, k, g.Type, t) })
	if t.Code != x12.TA1Rejected {
		return nil
	}
	c.log.WarnContext(ctx, "edi3pl: the 3PL rejected our interchange", "icn", t.ControlNumber, "note", t.Note, "document", g.Type, "id", g.ID)
	if g.Type != "940" {
		return nil
	}
	var rec orderRecord
	if _, _, err := c.state.get(ctx, k, &rec); err != nil {
		return toStateErr(err)
	}
	sh := mustShipment(rec.Shipment)
	refs := &canonicalv1.EventReferences{OrderId: sh.GetOrderId(), SystemRecordId: sh.GetId()}
	return r.event(TypeShippingOrderRejected, "shipment/"+sh.GetId(), timestamppb.New(at), sh, refs, "ta1", t.ControlNumber)
}

// markTA1 records a TA1's code and note on an order or receipt record (the first one wins: a
// re-sent TA1 changes nothing).
func (c *Client) markTA1(ctx context.Context, k, typ string, t x12.TA1) error {
	at := c.now().UTC()
	set := func(st *sent) (bool, error) {
		if st.TA1At != nil {
			return false, nil
		}
		st.TA1Code, st.TA1Note, st.TA1At = t.Code, t.Note, &at
		return true, nil
	}
	if typ == "180" {
		return update(ctx, c.state, k, func(rec *receiptRecord, found bool) (bool, error) {
			if !found {
				return false, nil
			}
			return set(&rec.sent)
		})
	}
	return update(ctx, c.state, k, func(rec *orderRecord, found bool) (bool, error) {
		if !found {
			return false, nil
		}
		return set(&rec.sent)
	})
}

// receivedTA1s reads the TA1s an interchange carries; a malformed one is logged and skipped (it
// acknowledges nothing we can name).
func (c *Client) receivedTA1s(ctx context.Context, r *received, ic *x12.Interchange) error {
	if len(ic.TA1s) == 0 {
		return nil
	}
	acks, err := x12.ReadTA1s(ic)
	if err != nil {
		c.log.WarnContext(ctx, "edi3pl: unreadable TA1 ignored", "sender", strings.TrimSpace(ic.Sender()), "err", err)
		return nil
	}
	for _, t := range acks {
		if err := c.interchangeAcked(ctx, r, t); err != nil {
			return err
		}
	}
	return nil
}
