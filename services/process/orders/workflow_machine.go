package orders

import (
	"fmt"
	"slices"

	"github.com/retailbridge/retailbridge/pkg/errs"
)

// The states of an order's workflow. Active states run one step (one vendor call, mostly);
// waiting states move on events, support actions and timers; terminal states are final.
const (
	StateValidating         = "validating"               // active: lines, SKUs in the item master, address, payment, model
	StateIncomplete         = "incomplete"               // held: named reasons, until fixed (queue "incomplete")
	StateEnriching          = "enriching"                // active: ERP item refs and tax codes by jurisdiction
	StateFailedTax          = "failed_tax_enrichment"    // held: no tax code (queue "failed_tax_enrichment")
	StateRouting            = "routing"                  // active: the OMS allocates lines to locations (may split)
	StateAwaitingRouting    = "awaiting_routing"         // held: the OMS cannot route now
	StateBooking            = "booking"                  // active: the ERP sales order
	StateReserving          = "reserving"                // active: reserve and commit in the inventory process
	StateAwaitingInventory  = "awaiting_inventory"       // held: the inventory process cannot reserve now
	StateAwaitingStock      = "awaiting_stock"           // held: no location has the units after re-routing (reroute.go)
	StateSending            = "sending_to_warehouse"     // active: a shipping order per location
	StateAwaitingAck        = "awaiting_acknowledgement" // waiting: the warehouse's acknowledgement (SLA timer)
	StateAwaitingShipment   = "awaiting_shipment"        // waiting: shipment events (partial or full)
	StateFulfilling         = "fulfilling"               // active: storefront fulfilment with tracking
	StateAwaitingStorefront = "awaiting_storefront"      // held: the storefront cannot record fulfilments now
	StateRecordingShipment  = "recording_shipment"       // active: ERP item fulfilment
	StateInvoicing          = "invoicing"                // active: ERP invoice, once, when fully shipped
	StateCapturing          = "capturing"                // active: capture an authorised payment
	StatePostingPayment     = "posting_payment"          // active: the ERP customer payment of a paid, invoiced order
	StateAwaitingCapture    = "awaiting_capture"         // held: the payment gateway cannot capture now
	StateCompleted          = "completed"                // terminal
	StateCancelled          = "cancelled"                // terminal: cancelled before shipment, compensated
	StateFailed             = "failed_needs_attention"   // terminal: people finish it
)

// Exception queues support works: a held state's queue.
const (
	QueueIncomplete            = "incomplete"
	QueueFailedTaxEnrichment   = "failed_tax_enrichment"
	QueueRoutingUnavailable    = "routing_unavailable"
	QueueInventoryUnavailable  = "inventory_unavailable"
	QueueStorefrontUnavailable = "storefront_unavailable"
	QueueCaptureUnavailable    = "capture_unavailable"
	QueueAwaitingStock         = "awaiting_stock"
)

// queueOf names the exception queue of a held state ("" for any other state).
func queueOf(state string) string {
	switch state {
	case StateIncomplete:
		return QueueIncomplete
	case StateFailedTax:
		return QueueFailedTaxEnrichment
	case StateAwaitingRouting:
		return QueueRoutingUnavailable
	case StateAwaitingInventory:
		return QueueInventoryUnavailable
	case StateAwaitingStorefront:
		return QueueStorefrontUnavailable
	case StateAwaitingCapture:
		return QueueCaptureUnavailable
	case StateERPConflict:
		return QueueERPStatusConflict
	case StateAwaitingStock:
		return QueueAwaitingStock
	}
	return ""
}

// stateOfQueue is the held state of a queue.
func stateOfQueue(queue string) (string, bool) {
	for _, s := range []string{StateIncomplete, StateFailedTax, StateAwaitingRouting, StateAwaitingInventory, StateAwaitingStorefront, StateAwaitingCapture, StateERPConflict, StateAwaitingStock} {
		if queueOf(s) == queue {
			return s, true
		}
	}
	return "", false
}

// transitions is the order state machine: the states each state may move to. Cancellation
// (to cancelled, through compensation) is allowed from every state before shipment and is
// checked by the cancel handler, not listed here.
var transitions = map[string][]string{
	StateValidating:         {StateIncomplete, StateEnriching},
	StateIncomplete:         {StateValidating},
	StateEnriching:          {StateFailedTax, StateRouting, StateBooking},
	StateFailedTax:          {StateEnriching},
	StateRouting:            {StateAwaitingRouting, StateBooking, StateReserving, StateAwaitingStock}, // reserving: re-routed after booking
	StateAwaitingRouting:    {StateRouting},
	StateBooking:            {StateReserving, StateCompleted, StateFulfilling},                        // fulfilling: nothing holds stock
	StateReserving:          {StateAwaitingInventory, StateSending, StateRouting, StateAwaitingStock}, // routing: lost the last unit
	StateAwaitingInventory:  {StateReserving},
	StateAwaitingStock:      {StateRouting},
	StateSending:            {StateAwaitingAck},
	StateAwaitingAck:        {StateAwaitingShipment, StateFulfilling},
	StateAwaitingShipment:   {StateFulfilling},
	StateFulfilling:         {StateRecordingShipment, StateAwaitingStorefront},
	StateAwaitingStorefront: {StateFulfilling},
	StateRecordingShipment:  {StateFulfilling, StateAwaitingShipment, StateInvoicing},
	StateInvoicing:          {StateCapturing, StatePostingPayment, StateCompleted},
	StateCapturing:          {StatePostingPayment, StateCompleted, StateAwaitingCapture},
	StatePostingPayment:     {StateCompleted},
	StateAwaitingCapture:    {StateCapturing},
	StateCancelled:          {StateFailed}, // the warehouse shipped it anyway
}

// AllowedNext lists the states an order in state may move to.
func AllowedNext(state string) []string { return slices.Clone(transitions[state]) }

// checkTransition refuses a move the state machine does not allow or one that would break an
// invariant: nothing ships unpaid, nothing is invoiced twice, nothing is invoiced before it
// has fully shipped, nothing is captured twice. A refusal is a permanent failure of the step:
// it means a bug, and the order goes to people rather than on.
func checkTransition(from, to string, d *orderData) error {
	if to == "" || to == from {
		return nil
	}
	if !slices.Contains(transitions[from], to) {
		return invariant(fmt.Sprintf("%s → %s is not a transition of the order state machine", from, to))
	}
	switch to {
	case StateSending, StateFulfilling:
		if !d.paymentSecured() {
			return invariant("nothing ships unpaid: the payment is " + d.Financial)
		}
	case StateInvoicing:
		if d.InvoiceID != "" {
			return invariant("nothing is invoiced twice: invoice " + d.InvoiceID + " exists")
		}
		if !d.fullyShipped() {
			return invariant("an order is invoiced when fully shipped")
		}
	case StateCapturing:
		if d.CaptureID != "" {
			return invariant("nothing is captured twice")
		}
	}
	return nil
}

func invariant(msg string) error {
	return errs.E(errs.FailedPrecondition, "order_invariant_violated", msg)
}
