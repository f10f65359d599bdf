// Package webhook is the vendor-neutral shape of an inbound webhook delivery after a connector
// has verified it: the vendor's delivery id and the canonical facts it reports. The commerce
// service turns facts into event envelopes with ids derived from the delivery id.
package webhook

import (
	"time"

	"google.golang.org/protobuf/proto"

	canonicalv1 "github.com/retailbridge/retailbridge/pkg/gen/retailbridge/canonical/v1"
)

// Delivery is one verified delivery.
type Delivery struct {
	// ID is the vendor's delivery id: the same on every retry or duplicate of the delivery.
	ID string
	// Topic is the vendor's topic, for example "orders/updated".
	Topic string
	// Facts are what the delivery reports, in canonical form; none for topics Retailbridge ignores.
	Facts []Fact
}

// Fact is one canonical fact a delivery reports.
type Fact struct {
	// Type is the event type, for example "retailbridge.commerce.order.updated.v1".
	Type string
	// Subject is the business object, for example "order/5100001".
	Subject string
	// Time is when the fact happened at the vendor.
	Time time.Time
	// Data is the canonical message.
	Data proto.Message
	// References are the typed references the event carries (canonical EventReferences).
	References *canonicalv1.EventReferences
}
