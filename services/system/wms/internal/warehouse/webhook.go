package warehouse

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"

	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/types/known/anypb"
	"google.golang.org/protobuf/types/known/timestamppb"

	"github.com/retailbridge/retailbridge/pkg/errs"
	"github.com/retailbridge/retailbridge/pkg/events"
	canonicalv1 "github.com/retailbridge/retailbridge/pkg/gen/retailbridge/canonical/v1"
	"github.com/retailbridge/retailbridge/pkg/signature"
	"github.com/retailbridge/retailbridge/pkg/vendorhttp"
)

// HeaderSignature is "t=<unix seconds>,v1=<hex HMAC-SHA256(secret, "<t>.<raw body>")>"; several
// v1 values may be sent while the warehouse rolls its secret.
const HeaderSignature = "X-Warehouse-Signature"

// Source is the producer of every event this connector makes.
const Source = "retailbridge/system/wms"

// Event types, as the contracts declare them (canonical EventType). Return events carry a
// canonical Return (lines with ItemCondition once inspected); shipping order events a canonical
// Shipment.
var (
	TypeReturnReceived            = events.TypeName(canonicalv1.EventType_EVENT_TYPE_WMS_RETURN_RECEIVED)
	TypeReturnInspected           = events.TypeName(canonicalv1.EventType_EVENT_TYPE_WMS_RETURN_INSPECTED)
	TypeShippingOrderAcknowledged = events.TypeName(canonicalv1.EventType_EVENT_TYPE_WMS_SHIPPING_ORDER_ACKNOWLEDGED)
	TypeShippingOrderShipped      = events.TypeName(canonicalv1.EventType_EVENT_TYPE_WMS_SHIPPING_ORDER_SHIPPED)
)

// webhookDoc is a webhook body; data is decoded by topic.
type webhookDoc struct {
	ID        string          `json:"id"`
	Topic     string          `json:"topic"`
	CreatedAt string          `json:"created_at"`
	Data      json.RawMessage `json:"data"`
}

// ParseWebhook verifies a warehouse webhook on its raw body and the signature's age, and
// normalises it into at most one canonical event whose id derives from the delivery id (the
// body's id, which the signature covers; the body's SHA-256 when it has none). Topics
// Retailbridge does not use give no events.
func (c *Client) ParseWebhook(h http.Header, body []byte) (string, []*canonicalv1.Event, error) {
	if err := c.verify(h.Get(HeaderSignature), body); err != nil {
		return "", nil, toErr(err)
	}
	var doc webhookDoc
	if err := json.Unmarshal(body, &doc); err != nil {
		return "", nil, toErr(&webhookError{payload: true, cause: err})
	}
	deliveryID := doc.ID
	if deliveryID == "" {
		sum := sha256.Sum256(body)
		deliveryID = "sha256:" + hex.EncodeToString(sum[:16])
	}
	var (
		typ, subject string
		at           *timestamppb.Timestamp
		data         proto.Message
		refs         = &canonicalv1.EventReferences{}
		err          error
	)
	switch doc.Topic {
	case "receipt.created", "inspection.completed":
		var r receiptDoc
		if err := json.Unmarshal(doc.Data, &r); err != nil {
			return "", nil, toErr(&webhookError{payload: true, cause: err})
		}
		typ, subject = TypeReturnReceived, "return/"+r.Reference
		when := r.ReceivedAt
		if doc.Topic == "inspection.completed" {
			typ, when = TypeReturnInspected, r.InspectedAt
		}
		if r.Reference == "" || when == "" {
			return "", nil, toErr(&webhookError{payload: true, cause: fmt.Errorf("%s without reference or time", doc.Topic)})
		}
		ret, cerr := toReturn(&r)
		if cerr != nil {
			return "", nil, toErr(&webhookError{payload: true, cause: cerr})
		}
		data = ret
		// The reference Retailbridge gave the receipt is its return id; the receipt id is the
		// warehouse's own.
		refs.ReturnId, refs.OrderId, refs.SystemRecordId = r.Reference, r.OrderID, r.ID
		at, err = parseTime(when)
	case "shipment.acknowledged", "shipment.shipped":
		var o orderDoc
		if err := json.Unmarshal(doc.Data, &o); err != nil {
			return "", nil, toErr(&webhookError{payload: true, cause: err})
		}
		typ, subject = TypeShippingOrderAcknowledged, "shipment/"+o.Reference
		when := o.AcknowledgedAt
		if doc.Topic == "shipment.shipped" {
			typ, when = TypeShippingOrderShipped, o.ShippedAt
		}
		if o.Reference == "" || when == "" {
			return "", nil, toErr(&webhookError{payload: true, cause: fmt.Errorf("%s without reference or time", doc.Topic)})
		}
		s, cerr := toShipment(&o)
		if cerr != nil {
			return "", nil, toErr(&webhookError{payload: true, cause: cerr})
		}
		data = s
		refs.SystemRecordId = s.GetId()
		at, err = parseTime(when)
	default:
		st, ok, serr := c.parseStock(doc.Topic, doc.Data)
		if !ok {
			return deliveryID, nil, nil
		}
		if serr != nil {
			return "", nil, toErr(&webhookError{payload: true, cause: serr})
		}
		typ, subject, at, data = st.typ, st.subject, st.at, st.data
		refs.SystemRecordId = st.recordID
	}
	if err != nil {
		return "", nil, toErr(&webhookError{payload: true, cause: err})
	}
	payload, err := anypb.New(data)
	if err != nil {
		return "", nil, errs.Wrap(err, errs.Internal, "event_encode_failed", "")
	}
	ev := &canonicalv1.Event{Id: EventID(deliveryID, typ), Source: Source, Type: typ, Time: at, Subject: subject,
		Data: payload, SpecVersion: 1, References: refs}
	return deliveryID, []*canonicalv1.Event{ev}, nil
}

// verify checks the signature header against every configured secret, then the signature's age.
// The scheme is Stripe's, so it is read by the same rules (pkg/signature.VerifyTimestamped):
// unknown elements and a repeated t are not refused, and only the age is bounded.
func (c *Client) verify(header string, body []byte) error {
	err := signature.VerifyTimestamped(HeaderSignature, header, body, c.secrets, c.now(), c.tolerance)
	if err != nil {
		return &webhookError{stale: errors.Is(err, signature.ErrStale), cause: err}
	}
	return nil
}

// EventID is the deterministic event id for parts, under the warehouse's own namespace.
func EventID(parts ...string) string { return vendorhttp.EventID("warehouse", parts...) }
