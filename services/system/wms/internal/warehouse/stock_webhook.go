package warehouse

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"

	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/types/known/timestamppb"

	"github.com/retailbridge/retailbridge/pkg/events"
	canonicalv1 "github.com/retailbridge/retailbridge/pkg/gen/retailbridge/canonical/v1"
)

// Stock movement event types: receipts and adjustments carry a canonical InventoryAdjustment,
// counts a canonical InventoryPosition.
var (
	TypeInventoryReceived = events.TypeName(canonicalv1.EventType_EVENT_TYPE_WMS_INVENTORY_RECEIVED)
	TypeInventoryAdjusted = events.TypeName(canonicalv1.EventType_EVENT_TYPE_WMS_INVENTORY_ADJUSTED)
	TypeInventoryCounted  = events.TypeName(canonicalv1.EventType_EVENT_TYPE_WMS_INVENTORY_COUNTED)
)

// movementDoc is a receipt or adjustment as the inventory.received and inventory.adjusted
// webhooks carry it.
type movementDoc struct {
	ID         string `json:"id"`
	SKU        string `json:"sku"`
	LocationID string `json:"location_id"`
	FromState  string `json:"from_state"`
	ToState    string `json:"to_state"`
	Quantity   int64  `json:"quantity"`
	Reason     string `json:"reason"`
	OccurredAt string `json:"occurred_at"`
}

// countDoc is a cycle count as the inventory.counted webhook carries it.
type countDoc struct {
	ID string `json:"id"`
	positionDoc
}

// stockEvent is what a stock webhook normalises into.
type stockEvent struct {
	typ, subject string
	at           *timestamppb.Timestamp
	data         proto.Message
	recordID     string
}

// parseStock normalises the stock topics; ok is false for any other topic.
func (c *Client) parseStock(topic string, raw json.RawMessage) (stockEvent, bool, error) {
	switch topic {
	case "inventory.received", "inventory.adjusted":
		var m movementDoc
		if err := json.Unmarshal(raw, &m); err != nil {
			return stockEvent{}, true, err
		}
		adj, err := toAdjustment(m)
		if err != nil {
			return stockEvent{}, true, err
		}
		typ := TypeInventoryAdjusted
		if topic == "inventory.received" {
			typ = TypeInventoryReceived
		}
		return stockEvent{typ: typ, subject: "stock/" + m.LocationID + "/" + m.SKU, at: adj.GetOccurredAt(), data: adj, recordID: m.ID}, true, nil
	case "inventory.counted":
		var d countDoc
		if err := json.Unmarshal(raw, &d); err != nil {
			return stockEvent{}, true, err
		}
		if d.ID == "" || d.SKU == "" || d.LocationID == "" {
			return stockEvent{}, true, errors.New("count without id, SKU or location")
		}
		pos, err := c.toPosition(context.Background(), d.positionDoc)
		if err != nil {
			return stockEvent{}, true, err
		}
		return stockEvent{typ: TypeInventoryCounted, subject: "stock/" + d.LocationID + "/" + d.SKU, at: pos.GetAsOf(), data: pos, recordID: d.ID}, true, nil
	}
	return stockEvent{}, false, nil
}

// toAdjustment maps a warehouse movement to the canonical adjustment.
func toAdjustment(m movementDoc) (*canonicalv1.InventoryAdjustment, error) {
	if m.ID == "" || m.SKU == "" || m.LocationID == "" || m.Quantity <= 0 || m.OccurredAt == "" {
		return nil, errors.New("movement without id, SKU, location, positive quantity or time")
	}
	at, err := parseTime(m.OccurredAt)
	if err != nil {
		return nil, err
	}
	adj := &canonicalv1.InventoryAdjustment{Sku: m.SKU, LocationId: m.LocationID, Quantity: m.Quantity,
		Reason: m.Reason, OccurredAt: at, SourceRecordId: m.ID}
	for _, st := range []struct {
		name string
		into *canonicalv1.InventoryState
	}{{m.FromState, &adj.FromState}, {m.ToState, &adj.ToState}} {
		if st.name == "" {
			continue
		}
		s, ok := stateNamed(st.name)
		if !ok {
			return nil, fmt.Errorf("unknown stock state %q", st.name)
		}
		*st.into = s
	}
	return adj, nil
}

// stateNamed is the retail state of a warehouse stock state.
func stateNamed(name string) (canonicalv1.InventoryState, bool) {
	for _, s := range states {
		if s.name == name {
			return s.state, true
		}
	}
	return 0, false
}
