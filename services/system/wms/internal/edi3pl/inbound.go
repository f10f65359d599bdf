package edi3pl

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"

	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/types/known/anypb"
	"google.golang.org/protobuf/types/known/timestamppb"

	"github.com/retailbridge/retailbridge/pkg/errs"
	"github.com/retailbridge/retailbridge/pkg/events"
	canonicalv1 "github.com/retailbridge/retailbridge/pkg/gen/retailbridge/canonical/v1"
	"github.com/retailbridge/retailbridge/pkg/sftpbox"
	"github.com/retailbridge/retailbridge/pkg/vendorhttp"
	"github.com/retailbridge/retailbridge/pkg/x12"
)

// Event types, as the contracts declare them.
var (
	TypeReturnReceived        = events.TypeName(canonicalv1.EventType_EVENT_TYPE_WMS_RETURN_RECEIVED)
	TypeReturnInspected       = events.TypeName(canonicalv1.EventType_EVENT_TYPE_WMS_RETURN_INSPECTED)
	TypeShippingOrderShipped  = events.TypeName(canonicalv1.EventType_EVENT_TYPE_WMS_SHIPPING_ORDER_SHIPPED)
	TypeShippingOrderRejected = events.TypeName(canonicalv1.EventType_EVENT_TYPE_WMS_SHIPPING_ORDER_REJECTED)
	TypeInventoryCounted      = events.TypeName(canonicalv1.EventType_EVENT_TYPE_WMS_INVENTORY_COUNTED)
	TypeInventoryAdjusted     = events.TypeName(canonicalv1.EventType_EVENT_TYPE_WMS_INVENTORY_ADJUSTED)
	TypeInventoryReceived     = events.TypeName(canonicalv1.EventType_EVENT_TYPE_WMS_INVENTORY_RECEIVED)
)

// Publish publishes one inbound interchange's events under its delivery id ("x12:<sender>:<ISA13>"),
// deduplicated by it (the WMS service's events.Deliveries).
type Publish func(ctx context.Context, deliveryID string, evs []*canonicalv1.Event) error

// PollStats counts what one poll did with the inbound folder.
type PollStats struct {
	Files       int // files found
	Processed   int // interchanges mapped, published, acknowledged and archived
	Duplicates  int // interchanges already processed (re-sent), archived as dup-…
	Quarantined int // files set aside as malformed
	Events      int // events published
	Acks        int // 997s sent
	TA1s        int // TA1s sent
}

// Poll processes every file in the inbound folder, oldest first. A file is archived only after
// its events are published, what it says is recorded and its 997 is sent, so a crash in
// between processes it again: the delivery memory and Nats-Msg-Id drop the repeated events, and
// the records are written idempotently. A failure leaves the file for the next poll.
func (c *Client) Poll(ctx context.Context, publish Publish) (PollStats, error) {
	var st PollStats
	s, err := c.box.Open(ctx)
	if err != nil {
		return st, toErr(err)
	}
	defer s.Close()
	files, err := s.List()
	if err != nil {
		return st, toErr(err)
	}
	for _, f := range files {
		st.Files++
		if err := c.receive(ctx, s, f.Name, publish, &st); err != nil {
			return st, err
		}
	}
	return st, nil
}

func (c *Client) receive(ctx context.Context, s *sftpbox.Session, name string, publish Publish, st *PollStats) error {
	data, err := s.Read(name)
	if errors.Is(err, sftpbox.ErrTooLarge) {
		// Set aside, so that one oversized file does not hold up every file after it.
		c.log.WarnContext(ctx, "edi3pl: quarantined an oversized file", "file", name)
		st.Quarantined++
		return toErr(s.Quarantine(name, err.Error()))
	}
	if err != nil {
		return toErr(err)
	}
	f, problems := x12.Read(data)
	if problems != nil {
		if err := c.sendTA1s(ctx, s, envelopeTA1s(data, f, problems), st); err != nil {
			return err
		}
		return c.quarantine(ctx, s, name, f, problems, st)
	}
	dups := 0
	for _, ic := range f.Interchanges {
		seen, err := c.state.seen(ctx, ic.Sender(), ic.ControlNumber())
		if err != nil {
			return toStateErr(err)
		}
		if seen {
			dups++
			if x12.AckRequested(ic.Header) && len(ic.Groups) > 0 {
				if err := c.sendTA1s(ctx, s, []x12.TA1{x12.Duplicate(ic.Header)}, st); err != nil {
					return err
				}
			}
			continue
		}
		if err := c.interchange(ctx, s, ic, name, publish, st); err != nil {
			return err
		}
		st.Processed++
	}
	st.Duplicates += dups
	prefix := ""
	if dups == len(f.Interchanges) {
		prefix = "dup-"
	}
	return toErr(s.Archive(name, prefix))
}

// quarantine sets a malformed file aside with the reason, after answering every group it can
// name with a rejecting 997 (a file whose ISA cannot be read names no one to answer).
func (c *Client) quarantine(ctx context.Context, s *sftpbox.Session, name string, f *x12.File, problems error, st *PollStats) error {
	var es x12.Errors
	errors.As(problems, &es)
	if f != nil {
		for i, ic := range f.Interchanges {
			var sets []x12.NewSet
			for gi, g := range ic.Groups {
				if g.FunctionalID() != x12.FunctionalIDAck {
					sets = append(sets, x12.Acknowledge(f, i, gi, es, nil))
				}
			}
			if err := c.sendAcks(ctx, s, sets, st); err != nil {
				return err
			}
		}
	}
	c.log.WarnContext(ctx, "edi3pl: quarantined a malformed file", "file", name, "err", problems)
	st.Quarantined++
	return toErr(s.Quarantine(name, problems.Error()))
}

// sendAcks writes 997s (one interchange, one FA group) to the partner.
func (c *Client) sendAcks(ctx context.Context, s *sftpbox.Session, sets []x12.NewSet, st *PollStats) error {
	if len(sets) == 0 {
		return nil
	}
	icn, err := c.state.nextControlNumber(ctx)
	if err != nil {
		return toStateErr(err)
	}
	f, err := c.envelope().Build(icn, icn, c.now(), x12.NewGroup{FunctionalID: x12.FunctionalIDAck, Sets: sets})
	if err != nil {
		return toErr(err)
	}
	data, err := x12.Marshal(f)
	if err != nil {
		return toErr(err)
	}
	st.Acks += len(sets)
	return toErr(s.Put(fmt.Sprintf("997_%09d.edi", icn), data))
}

// received is what one interchange's sets became.
type received struct {
	deliveryID string
	evs        []*canonicalv1.Event
	applies    []func(context.Context) error
}

func (r *received) event(typ, subject string, at *timestamppb.Timestamp, data proto.Message, refs *canonicalv1.EventReferences, id ...string) error {
	payload, err := anypb.New(data)
	if err != nil {
		return errs.Wrap(err, errs.Internal, "event_encode_failed", "")
	}
	if at == nil {
		at = timestamppb.Now()
	}
	r.evs = append(r.evs, &canonicalv1.Event{Id: vendorhttp.EventID(Vendor, append([]string{r.deliveryID, typ}, id...)...),
		Source: Source, Type: typ, Time: at, Subject: subject, Data: payload, SpecVersion: 1, References: refs})
	return nil
}

// interchange maps, publishes, records and acknowledges one interchange, then marks it processed.
func (c *Client) interchange(ctx context.Context, s *sftpbox.Session, ic *x12.Interchange, name string, publish Publish, st *PollStats) error {
	r := &received{deliveryID: "x12:" + ic.Sender() + ":" + strings.TrimLeft(ic.ControlNumber(), "0")}
	file := &x12.File{Interchanges: []*x12.Interchange{ic}}
	if err := c.receivedTA1s(ctx, r, ic); err != nil {
		return err
	}
	var acks []x12.NewSet
	for gi, g := range ic.Groups {
		verdicts := map[int]x12.Verdict{}
		for si, set := range g.Sets {
			v, err := c.mapSet(ctx, r, ic, g, set)
			if err != nil {
				return err
			}
			verdicts[si] = v
		}
		if g.FunctionalID() != x12.FunctionalIDAck { // a 997 is never acknowledged
			acks = append(acks, x12.Acknowledge(file, 0, gi, nil, verdicts))
		}
	}
	if len(r.evs) > 0 {
		if err := publish(ctx, r.deliveryID, r.evs); err != nil {
			return err
		}
		st.Events += len(r.evs)
	}
	for _, apply := range r.applies {
		if err := apply(ctx); err != nil {
			return toStateErr(err)
		}
	}
	if err := c.sendAcks(ctx, s, acks, st); err != nil {
		return err
	}
	// Asked for, the TA1 says the envelope was accepted (a TA1-only interchange is not
	// acknowledged: acknowledgements are not acknowledged).
	if x12.AckRequested(ic.Header) && len(ic.Groups) > 0 {
		ack, _ := x12.InterchangeAck(ic.Header, 0, nil)
		if err := c.sendTA1s(ctx, s, []x12.TA1{ack}, st); err != nil {
			return err
		}
	}
	_, err := c.state.processed(ctx, ic.Sender(), ic.ControlNumber(), name, c.now())
	return toStateErr(err)
}

// mapSet turns one set into events and record updates, returning what its 997 says.
func (c *Client) mapSet(ctx context.Context, r *received, ic *x12.Interchange, g *x12.Group, set *x12.Set) (x12.Verdict, error) {
	d := ic.Delims
	ids := []string{g.ControlNumber(), set.ControlNumber()}
	switch set.Type() {
	case "945":
		sh, v, err := from945(set, d)
		if err != nil {
			return v, nil
		}
		return v, c.shipped(ctx, r, sh, "945", ids)
	case "856":
		shs, v, err := from856(set, d)
		if err != nil {
			return v, nil
		}
		for i, sh := range shs {
			if err := c.shipped(ctx, r, sh, "856", append(ids, strconv.Itoa(i))); err != nil {
				return v, err
			}
		}
		return v, nil
	case "846":
		ps, v, err := from846(set, d, c.cfg.LocationID)
		if err != nil {
			return v, nil
		}
		return v, c.counted(r, ps, ids)
	case "947":
		as, v, err := from947(set, d, c.cfg.LocationID)
		if err != nil {
			return v, nil
		}
		return v, c.adjusted(r, as, ids)
	case "180":
		n, v, err := from180(set, d)
		if err != nil {
			return v, nil
		}
		return v, c.returned(ctx, r, n, ids)
	case "997":
		ack, err := x12.ReadAck(set, d)
		if err != nil {
			c.log.WarnContext(ctx, "edi3pl: unreadable 997", "err", err)
			return x12.Verdict{}, nil
		}
		return x12.Verdict{}, c.acknowledged(ctx, r, ack)
	}
	// A set the agreement does not include is rejected (AK5 "R").
	return x12.Verdict{Rejected: []x12.Note{{Tag: "ST", SetPos: 1, Code: "8", Element: 1, ElementCode: elemInvalidCode, Value: set.Type()}}}, nil
}

// shipped publishes WMS_SHIPPING_ORDER_SHIPPED for the first report of a shipment (a 945 and an
// 856 both report it: the second only completes the record) and records it.
func (c *Client) shipped(ctx context.Context, r *received, sh *canonicalv1.Shipment, by string, ids []string) error {
	var rec orderRecord
	_, found, err := c.state.get(ctx, key("order", sh.GetId()), &rec)
	if err != nil {
		return toStateErr(err)
	}
	if found {
		sent := mustShipment(rec.Shipment)
		if sh.GetOrderId() == "" {
			sh.OrderId = sent.GetOrderId()
		}
		if sh.GetFromLocationId() == "" {
			sh.FromLocationId = sent.GetFromLocationId()
		}
		if sh.GetToAddress() == nil {
			sh.ToAddress = sent.GetToAddress()
		}
	}
	if !found || rec.Shipped == nil || rec.ShippedBy == by {
		refs := &canonicalv1.EventReferences{OrderId: sh.GetOrderId(), SystemRecordId: sh.GetId()}
		if err := r.event(TypeShippingOrderShipped, "shipment/"+sh.GetId(), sh.GetShippedAt(), sh, refs, ids...); err != nil {
			return err
		}
	}
	body, err := proto.Marshal(sh)
	if err != nil {
		return errs.Wrap(err, errs.Internal, "encode_failed", "")
	}
	r.applies = append(r.applies, func(ctx context.Context) error {
		return update(ctx, c.state, key("order", sh.GetId()), func(rec *orderRecord, found bool) (bool, error) {
			if !found || (rec.Shipped != nil && rec.ShippedBy != by) {
				return false, nil // not ours, or reported first by the other set
			}
			at := sh.GetShippedAt().AsTime()
			rec.Shipped, rec.ShippedBy, rec.ShippedAt = body, by, &at
			return true, nil
		})
	})
	return nil
}

// returned publishes WMS_RETURN_RECEIVED or _INSPECTED for a 180 and records it.
func (c *Client) returned(ctx context.Context, r *received, n *returnNotice, ids []string) error {
	var rec receiptRecord
	_, found, err := c.state.get(ctx, key("receipt", n.ret.GetId()), &rec)
	if err != nil {
		return toStateErr(err)
	}
	ret := n.ret
	location := n.location
	if found {
		announced := mustReturn(rec.Return)
		ret.OrderId, ret.RmaNumber, ret.CustomerId = or(ret.GetOrderId(), announced.GetOrderId()), or(ret.GetRmaNumber(), announced.GetRmaNumber()), announced.GetCustomerId()
		location = or(location, rec.Location)
		fillOrderLines(ret, announced)
	}
	// The keys the REST warehouse uses, which the inventory ledger reads to place returned units.
	ret.ExternalIds = map[string]string{"warehouse_location": location, "warehouse_receipt": ret.GetId()}
	typ := TypeReturnReceived
	if n.inspected {
		typ = TypeReturnInspected
	}
	refs := &canonicalv1.EventReferences{ReturnId: ret.GetId(), OrderId: ret.GetOrderId(), SystemRecordId: ret.GetId()}
	if err := r.event(typ, "return/"+ret.GetId(), n.at, ret, refs, ids...); err != nil {
		return err
	}
	body, err := proto.Marshal(ret)
	if err != nil {
		return errs.Wrap(err, errs.Internal, "encode_failed", "")
	}
	at := n.at.AsTime()
	r.applies = append(r.applies, func(ctx context.Context) error {
		return update(ctx, c.state, key("receipt", ret.GetId()), func(rec *receiptRecord, found bool) (bool, error) {
			if !found {
				return false, nil
			}
			rec.Received = body
			if rec.ReceivedAt == nil {
				rec.ReceivedAt = &at
			}
			if n.inspected {
				rec.InspectedAt = &at
			}
			return true, nil
		})
	})
	return nil
}

// fillOrderLines gives reported lines without an order line id the announced line's, by SKU.
func fillOrderLines(ret, announced *canonicalv1.Return) {
	for _, l := range ret.GetLines() {
		if l.GetOrderLineId() != "" {
			continue
		}
		for _, a := range announced.GetLines() {
			if a.GetSku() == l.GetSku() {
				l.OrderLineId = a.GetOrderLineId()
				break
			}
		}
	}
}

// acknowledged reconciles a 997 with what we sent: it closes the interchange's pending
// acknowledgement (the record's ack code and time), never the order itself, which stays open —
// and unacknowledged — until its 945 or 856. A 997 rejecting a 940 publishes
// WMS_SHIPPING_ORDER_REJECTED: the 3PL could not read the order and will not ship it.
func (c *Client) acknowledged(ctx context.Context, r *received, ack *x12.Ack) error {
	var g groupRecord
	n, _ := strconv.ParseInt(ack.GroupControl, 10, 64)
	_, found, err := c.state.get(ctx, key("group", strconv.FormatInt(n, 10)), &g)
	if err != nil {
		return toStateErr(err)
	}
	if !found {
		c.log.WarnContext(ctx, "edi3pl: 997 for a group we did not send", "group", ack.GroupControl)
		return nil
	}
	at := c.now().UTC()
	k := key("order", g.ID)
	if g.Type == "180" {
		k = key("receipt", g.ID)
	}
	r.applies = append(r.applies, func(ctx context.Context) error { return c.markAck(ctx, k, g.Type, ack.Code, at) })
	if g.Type != "940" || ack.Code != x12.AckRejected {
		return nil
	}
	var rec orderRecord
	if _, _, err := c.state.get(ctx, k, &rec); err != nil {
		return toStateErr(err)
	}
	sh := mustShipment(rec.Shipment)
	refs := &canonicalv1.EventReferences{OrderId: sh.GetOrderId(), SystemRecordId: sh.GetId()}
	return r.event(TypeShippingOrderRejected, "shipment/"+sh.GetId(), timestamppb.New(at), sh, refs, ack.GroupControl)
}

// markAck records a 997's code on an order or receipt record.
func (c *Client) markAck(ctx context.Context, k, typ, code string, at time.Time) error {
	set := func(st *sent) (bool, error) {
		if st.AckedAt != nil {
			return false, nil
		}
		st.AckCode, st.AckedAt = code, &at
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

func or(a, b string) string {
	if a != "" {
		return a
	}
	return b
}
