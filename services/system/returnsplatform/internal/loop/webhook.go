package loop

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
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

// Webhook headers.
const (
	// HeaderSignature is base64(HMAC-SHA256(webhook secret, raw body)).
	HeaderSignature = "X-Loop-Signature"
)

// Source is the producer of every event this connector makes.
const Source = "retailbridge/system/returnsplatform"

// Event types, as the contracts declare them (canonical EventType). Return events carry a
// canonical Return; parcel events a canonical Shipment.
var (
	TypeReturnCreated        = events.TypeName(canonicalv1.EventType_EVENT_TYPE_RETURNSPLATFORM_RETURN_CREATED)
	TypeReturnUpdated        = events.TypeName(canonicalv1.EventType_EVENT_TYPE_RETURNSPLATFORM_RETURN_UPDATED)
	TypeReturnClosed         = events.TypeName(canonicalv1.EventType_EVENT_TYPE_RETURNSPLATFORM_RETURN_CLOSED)
	TypeParcelLabelCreated   = events.TypeName(canonicalv1.EventType_EVENT_TYPE_RETURNSPLATFORM_PARCEL_LABEL_CREATED)
	TypeParcelInTransit      = events.TypeName(canonicalv1.EventType_EVENT_TYPE_RETURNSPLATFORM_PARCEL_IN_TRANSIT)
	TypeParcelOutForDelivery = events.TypeName(canonicalv1.EventType_EVENT_TYPE_RETURNSPLATFORM_PARCEL_OUT_FOR_DELIVERY)
	TypeParcelDelivered      = events.TypeName(canonicalv1.EventType_EVENT_TYPE_RETURNSPLATFORM_PARCEL_DELIVERED)
	TypeParcelException      = events.TypeName(canonicalv1.EventType_EVENT_TYPE_RETURNSPLATFORM_PARCEL_EXCEPTION)
	TypeParcelVoided         = events.TypeName(canonicalv1.EventType_EVENT_TYPE_RETURNSPLATFORM_PARCEL_VOIDED)
)

// Loop's webhook topic and triggers.
const (
	webhookTopicReturn         = "return"
	webhookTriggerReturnCreate = "return.created"
	webhookTriggerReturnUpdate = "return.updated"
	webhookTriggerReturnClose  = "return.closed"
)

var parcelTypes = map[canonicalv1.ShipmentStatus]string{
	canonicalv1.ShipmentStatus_SHIPMENT_STATUS_LABEL_CREATED:    TypeParcelLabelCreated,
	canonicalv1.ShipmentStatus_SHIPMENT_STATUS_IN_TRANSIT:       TypeParcelInTransit,
	canonicalv1.ShipmentStatus_SHIPMENT_STATUS_OUT_FOR_DELIVERY: TypeParcelOutForDelivery,
	canonicalv1.ShipmentStatus_SHIPMENT_STATUS_DELIVERED:        TypeParcelDelivered,
	canonicalv1.ShipmentStatus_SHIPMENT_STATUS_EXCEPTION:        TypeParcelException,
	canonicalv1.ShipmentStatus_SHIPMENT_STATUS_VOIDED:           TypeParcelVoided,
}

// ParseWebhook verifies a Loop webhook on its raw body and normalises it into canonical events.
//
// The delivery id is the body's webhook_id, which the signature covers, so a captured body
// replayed under a made-up id header still maps to the same events; a payload without one is
// identified by the SHA-256 of its bytes, which Loop's retries repeat exactly. Each return webhook
// becomes one return event whose id derives from the delivery id. A return.updated whose label
// has a carrier status also becomes a parcel event; its id derives from the fact it reports
// (label, tracking number, canonical status), because several distinct webhooks repeat the same
// parcel status, and it happened once. Topics and triggers Retailbridge does not use give no
// events.
func (c *Client) ParseWebhook(h http.Header, body []byte) (string, []*canonicalv1.Event, error) {
	if err := c.verify(h.Get(HeaderSignature), body); err != nil {
		return "", nil, toErr(err)
	}
	var doc returnDoc
	if err := json.Unmarshal(body, &doc); err != nil {
		return "", nil, toErr(&webhookError{payload: true, cause: err})
	}
	deliveryID := doc.WebhookID
	if deliveryID == "" {
		sum := sha256.Sum256(body)
		deliveryID = "sha256:" + hex.EncodeToString(sum[:16])
	}
	var typ string
	switch {
	case doc.Topic != webhookTopicReturn:
		return deliveryID, nil, nil
	case doc.Trigger == webhookTriggerReturnCreate:
		typ = TypeReturnCreated
	case doc.Trigger == webhookTriggerReturnUpdate:
		typ = TypeReturnUpdated
	case doc.Trigger == webhookTriggerReturnClose:
		typ = TypeReturnClosed
	default:
		return deliveryID, nil, nil
	}
	if doc.ID == "" {
		return "", nil, toErr(&webhookError{payload: true, cause: errors.New("return webhook without id")})
	}
	ret, err := toReturn(&doc)
	if err != nil {
		return "", nil, toErr(&webhookError{payload: true, cause: err})
	}
	subject := "return/" + ret.GetId()
	if ret.GetId() == "" {
		subject = "loop_return/" + string(doc.ID)
	}
	at := ret.GetUpdatedAt()
	if typ == TypeReturnCreated {
		at = ret.GetCreatedAt()
	}
	// The return id Retailbridge sent as Loop's external_id is the typed reference; Loop's own
	// id names the platform record whoever started it.
	refs := &canonicalv1.EventReferences{ReturnId: ret.GetId(), OrderId: ret.GetOrderId(), SystemRecordId: string(doc.ID)}
	ev, err := newEvent(EventID(deliveryID, typ), typ, subject, at, ret, refs)
	if err != nil {
		return "", nil, err
	}
	evs := []*canonicalv1.Event{ev}

	if l := doc.Label; l != nil && typ == TypeReturnUpdated {
		parcel, err := toShipment(&doc, l)
		if err != nil {
			return "", nil, toErr(&webhookError{payload: true, cause: err})
		}
		if ptyp, ok := parcelTypes[parcel.GetStatus()]; ok {
			at, _ := parseTime(l.UpdatedAt)
			pev, err := newEvent(EventID("parcel", string(l.ID), l.TrackingNumber, parcel.GetStatus().String()),
				ptyp, subject, at, parcel, refs)
			if err != nil {
				return "", nil, err
			}
			evs = append(evs, pev)
		}
	}
	return deliveryID, evs, nil
}

// verify checks sig by Loop's documented rule (docs.loopreturns.com, "Validate webhooks from
// Loop"): the base64 of HMAC-SHA256(webhook secret, raw body), compared as text with
// X-Loop-Signature, under any configured secret (pkg/signature.VerifyBase64Body). Loop documents
// no other required header, so none is required.
func (c *Client) verify(sig string, body []byte) error {
	if err := signature.VerifyBase64Body(HeaderSignature, sig, body, c.secrets); err != nil {
		return &webhookError{cause: err}
	}
	return nil
}

// EventID is the deterministic event id for parts, under the returns platform's own namespace.
func EventID(parts ...string) string { return vendorhttp.EventID("loop", parts...) }

func newEvent(id, typ, subject string, at *timestamppb.Timestamp, data proto.Message, refs *canonicalv1.EventReferences) (*canonicalv1.Event, error) {
	payload, err := anypb.New(data)
	if err != nil {
		return nil, errs.Wrap(err, errs.Internal, "event_encode_failed", "")
	}
	return &canonicalv1.Event{Id: id, Source: Source, Type: typ, Time: at, Subject: subject, Data: payload, SpecVersion: 1,
		References: refs}, nil
}
