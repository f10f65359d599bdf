package edi3pl

import (
	"context"
	"fmt"
	"hash/fnv"
	"time"

	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/types/known/timestamppb"

	"github.com/retailbridge/retailbridge/pkg/errs"
	canonicalv1 "github.com/retailbridge/retailbridge/pkg/gen/retailbridge/canonical/v1"
	wmsv1 "github.com/retailbridge/retailbridge/pkg/gen/retailbridge/system/wms/v1"
	"github.com/retailbridge/retailbridge/pkg/x12"
)

// sent is what every outbound document's record holds: the interchange it went in and what
// the partner's 997 said about it. The 997 closes the interchange's pending acknowledgement
// only: it says the file was readable, not that the 3PL will ship.
type sent struct {
	ICN     int64      `json:"icn"`
	SentAt  *time.Time `json:"sent_at,omitempty"`
	AckCode string     `json:"ack_code,omitempty"` // AK901 of the 997
	AckedAt *time.Time `json:"acked_at,omitempty"` // when the 997 arrived
	// TA1Code and TA1Note are the 3PL's TA104/TA105 for the interchange (ta1.go), TA1At when
	// that arrived; unset while none came (a TA1 comes only when asked for, or on errors).
	TA1Code string     `json:"ta1_code,omitempty"`
	TA1Note string     `json:"ta1_note,omitempty"`
	TA1At   *time.Time `json:"ta1_at,omitempty"`
}

// orderRecord is a shipping order sent as a 940.
type orderRecord struct {
	sent
	Shipment  []byte     `json:"shipment"`          // canonical Shipment as sent
	Shipped   []byte     `json:"shipped,omitempty"` // canonical Shipment as the 945/856 reported it
	ShippedBy string     `json:"shipped_by,omitempty"`
	ShippedAt *time.Time `json:"shipped_at,omitempty"`
}

// receiptRecord is a return announced with a 180.
type receiptRecord struct {
	sent
	Return      []byte     `json:"return"` // canonical Return as announced
	Location    string     `json:"location"`
	Received    []byte     `json:"received,omitempty"` // canonical Return as the 3PL's 180 reported it
	ReceivedAt  *time.Time `json:"received_at,omitempty"`
	InspectedAt *time.Time `json:"inspected_at,omitempty"`
}

// groupRecord maps an outbound group control number to the document it carried, for the 997.
type groupRecord struct {
	Type string `json:"type"` // "940" or "180"
	ID   string `json:"id"`   // shipment id or return id
}

// CreateShippingOrder sends s as a 940 in its own interchange and returns its order id, which
// is the shipment id (the 3PL echoes it as the depositor order number). The same shipment again
// is the same order: nothing is sent twice once it went; a different shipment under the same id
// is errs.AlreadyExists "reference_conflict".
func (c *Client) CreateShippingOrder(ctx context.Context, s *canonicalv1.Shipment, _ string) (string, error) {
	body, err := proto.Marshal(s)
	if err != nil {
		return "", errs.Wrap(err, errs.Internal, "encode_failed", "")
	}
	var rec orderRecord
	err = c.sendOnce(ctx, key("order", s.GetId()), "940", s.GetId(), to940(s), groupShippingOrder,
		func(found bool) (*sent, bool) {
			return &rec.sent, found && !proto.Equal(mustShipment(rec.Shipment), s)
		}, &rec, func() { rec.Shipment = body })
	if err != nil {
		return "", err
	}
	return s.GetId(), nil
}

// ExpectReturn announces ret at location with a 180 and returns its receipt id, which is the
// return id (the 3PL echoes it in BGN02).
func (c *Client) ExpectReturn(ctx context.Context, ret *canonicalv1.Return, location, _ string) (string, error) {
	body, err := proto.Marshal(ret)
	if err != nil {
		return "", errs.Wrap(err, errs.Internal, "encode_failed", "")
	}
	var rec receiptRecord
	err = c.sendOnce(ctx, key("receipt", ret.GetId()), "180", ret.GetId(), to180(ret, location, c.now()), groupReturn,
		func(found bool) (*sent, bool) {
			return &rec.sent, found && (!proto.Equal(mustReturn(rec.Return), ret) || rec.Location != location)
		}, &rec, func() { rec.Return, rec.Location = body, location })
	if err != nil {
		return "", err
	}
	return ret.GetId(), nil
}

// sendOnce records an outbound document under k with a fresh control number (unless it has one),
// writes its interchange to the mailbox, and marks it sent. check says, given whether the
// record existed, where its sent part is and whether it conflicts with this document; fill
// puts the document into a new record. rec is the record both read into.
func (c *Client) sendOnce(ctx context.Context, k, typ, id string, set x12.NewSet, group string,
	check func(found bool) (*sent, bool), rec any, fill func()) error {
	// Refuse values the envelope cannot carry before a control number is spent on them.
	if _, err := c.marshal(1, set, group); err != nil {
		return toErr(err)
	}
	// One send per document at a time in this process: concurrent callers of an unsent
	// document would otherwise all write its interchange under the same file name at once.
	mu := &c.sending[stripe(k)]
	mu.Lock()
	defer mu.Unlock()
	var icn int64
	var already bool
	err := updateAny(ctx, c.state, k, rec, func(found bool) (bool, error) {
		st, conflict := check(found)
		switch {
		case conflict:
			return false, errs.E(errs.AlreadyExists, "reference_conflict",
				fmt.Sprintf("%s %s was sent with different content", typ, id))
		case found && st.SentAt != nil:
			already = true
			return false, nil
		case found && st.ICN != 0:
			icn = st.ICN // sent before, not confirmed: send again under the same number
			return false, nil
		}
		n, err := c.state.nextControlNumber(ctx)
		if err != nil {
			return false, err
		}
		if !found {
			fill()
		}
		st.ICN, icn = n, n
		return true, nil
	})
	if err != nil || already {
		return toStateErr(err)
	}
	data, err := c.marshal(icn, set, group)
	if err != nil {
		return toErr(err)
	}
	if err := update(ctx, c.state, key("group", fmt.Sprint(icn)), func(g *groupRecord, _ bool) (bool, error) {
		*g = groupRecord{Type: typ, ID: id}
		return true, nil
	}); err != nil {
		return toStateErr(err)
	}
	if err := c.put(ctx, fmt.Sprintf("%s_%09d.edi", typ, icn), data); err != nil {
		return err
	}
	now := c.now().UTC()
	return toStateErr(updateAny(ctx, c.state, k, rec, func(bool) (bool, error) {
		st, _ := check(true)
		st.SentAt = &now
		return true, nil
	}))
}

// stripe spreads document keys over Client.sending.
func stripe(k string) int {
	h := fnv.New32a()
	h.Write([]byte(k))
	return int(h.Sum32() % uint32(len(Client{}.sending)))
}

// marshal builds one interchange (control number icn, one group with the same number) around set.
func (c *Client) marshal(icn int64, set x12.NewSet, group string) ([]byte, error) {
	f, err := c.envelope().Build(icn, icn, c.now(), x12.NewGroup{FunctionalID: group, Sets: []x12.NewSet{set}})
	if err != nil {
		return nil, err
	}
	return x12.Marshal(f)
}

// put writes one file to the partner's inbound folder.
func (c *Client) put(ctx context.Context, name string, data []byte) error {
	s, err := c.box.Open(ctx)
	if err != nil {
		return toErr(err)
	}
	defer s.Close()
	return toErr(s.Put(name, data))
}

// GetShippingOrder reads what the 997 and the 945/856 said about an order.
func (c *Client) GetShippingOrder(ctx context.Context, orderID string) (*wmsv1.GetShippingOrderResponse, error) {
	var rec orderRecord
	_, found, err := c.state.get(ctx, key("order", orderID), &rec)
	if err != nil {
		return nil, toStateErr(err)
	}
	if !found {
		return nil, errs.E(errs.NotFound, "order_not_found", "no such shipping order")
	}
	// The warehouse's acknowledgement of the order is its shipping advice: a 997 only said the
	// 940 could be read, so it leaves the order unacknowledged (the delayed acknowledgement
	// escalates past its SLA whatever 997s came).
	resp := &wmsv1.GetShippingOrderResponse{}
	if rec.Shipped != nil {
		resp.Shipment, resp.AcknowledgedAt = mustShipment(rec.Shipped), stamp(rec.ShippedAt)
	}
	return resp, nil
}

// InterchangeAck is what the 3PL's 997 said about the interchange a shipping order or return
// went in: its AK901 code ("" while none came) and when it arrived.
type InterchangeAck struct {
	ICN  int64
	Code string
	At   *time.Time
	// TA1Code and TA1Note are what the 3PL's TA1 said about the interchange ("" while none came).
	TA1Code, TA1Note string
}

// InterchangeAck reads the 997 status of the interchange that carried a shipping order (kind
// "940", by shipment id) or a return announcement ("180", by return id).
func (c *Client) InterchangeAck(ctx context.Context, kind, id string) (InterchangeAck, error) {
	var st sent
	k := key("order", id)
	if kind == "180" {
		k = key("receipt", id)
	}
	_, found, err := c.state.get(ctx, k, &st)
	if err != nil {
		return InterchangeAck{}, toStateErr(err)
	}
	if !found {
		return InterchangeAck{}, errs.E(errs.NotFound, "document_not_found", "no such "+kind)
	}
	return InterchangeAck{ICN: st.ICN, Code: st.AckCode, At: st.AckedAt, TA1Code: st.TA1Code, TA1Note: st.TA1Note}, nil
}

// GetReturnReceipt reads what the 3PL's 180s said about an announced return.
func (c *Client) GetReturnReceipt(ctx context.Context, receiptID string) (*wmsv1.GetReturnReceiptResponse, error) {
	var rec receiptRecord
	_, found, err := c.state.get(ctx, key("receipt", receiptID), &rec)
	if err != nil {
		return nil, toStateErr(err)
	}
	if !found {
		return nil, errs.E(errs.NotFound, "receipt_not_found", "no such return receipt")
	}
	ret := mustReturn(rec.Return)
	resp := &wmsv1.GetReturnReceiptResponse{Reference: ret.GetId(), Lines: ret.GetLines(), ReceivedAt: stamp(rec.ReceivedAt)}
	if rec.Received != nil {
		resp.Lines = mustReturn(rec.Received).GetLines()
	}
	return resp, nil
}

func stamp(t *time.Time) *timestamppb.Timestamp {
	if t == nil {
		return nil
	}
	return timestamppb.New(*t)
}

func mustShipment(b []byte) *canonicalv1.Shipment {
	s := &canonicalv1.Shipment{}
	_ = proto.Unmarshal(b, s) // written by this connector from a valid message
	return s
}

func mustReturn(b []byte) *canonicalv1.Return {
	r := &canonicalv1.Return{}
	_ = proto.Unmarshal(b, r)
	return r
}

// toStateErr classifies a failure of the state bucket: JetStream unavailable is retryable.
func toStateErr(err error) error {
	if err == nil || errs.As(err) != nil {
		return err
	}
	e := errs.Wrap(err, errs.Unavailable, "state_unavailable", "the connector's state is unavailable")
	e.Retryable = true
	return e
}
