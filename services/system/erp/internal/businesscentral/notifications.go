package businesscentral

import (
	"context"
	"crypto/subtle"
	"encoding/json"
	"io"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"time"

	"google.golang.org/protobuf/types/known/anypb"
	"google.golang.org/protobuf/types/known/timestamppb"

	"github.com/retailbridge/retailbridge/pkg/errs"
	"github.com/retailbridge/retailbridge/pkg/events"
	canonicalv1 "github.com/retailbridge/retailbridge/pkg/gen/retailbridge/canonical/v1"
	"github.com/retailbridge/retailbridge/pkg/vendorhttp"
	"github.com/retailbridge/retailbridge/pkg/vendors"
)

// Source is the producer of the events notifications become.
const Source = "retailbridge/system/erp"

// Publish hands canonical events on; an error makes the intake answer 503, so Business Central
// delivers the notification again (it retries 408, 429 and 5xx answers for 36 hours).
type Publish func(ctx context.Context, evs []*canonicalv1.Event) error

// Intake is the HTTP endpoint Business Central delivers to: it answers the subscription
// handshake, checks clientState on every notification, and turns notifications into canonical
// events, reading the changed records (or, for a "collection" notification, every record its
// filter selects) back from the API.
type Intake struct {
	c           *Client
	clientState string
	publish     Publish
}

// Intake returns the notification endpoint for subscriptions made with clientState.
func (c *Client) Intake(clientState string, publish Publish) *Intake {
	return &Intake{c: c, clientState: clientState, publish: publish}
}

// notificationDoc is one entry of a notification's value array.
type notificationDoc struct {
	SubscriptionID string `json:"subscriptionId"`
	ClientState    string `json:"clientState"`
	Resource       string `json:"resource"`
	ChangeType     string `json:"changeType"`
	LastModified   string `json:"lastModifiedDateTime"`
}

// ServeHTTP answers a handshake with the validation token as plain text, and a notification
// with 202 once its events are published.
func (in *Intake) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if tok := r.URL.Query().Get("validationToken"); tok != "" {
		w.Header().Set("Content-Type", "text/plain; charset=utf-8")
		w.WriteHeader(http.StatusOK)
		_, _ = io.WriteString(w, tok)
		return
	}
	body, err := vendorhttp.ReadBody(r.Body, maxBody)
	if err != nil {
		http.Error(w, "body too large", http.StatusRequestEntityTooLarge)
		return
	}
	evs, err := in.Normalise(r.Context(), body)
	if err == nil {
		err = in.publish(r.Context(), evs)
	}
	switch e := errs.As(err); {
	case err == nil:
		w.WriteHeader(http.StatusAccepted)
	case e != nil && e.Kind == errs.Unauthenticated:
		http.Error(w, "clientState does not match", http.StatusUnauthorized)
	case e != nil && e.Kind == errs.Invalid:
		http.Error(w, "not a notification", http.StatusBadRequest)
	default:
		// Business Central retries a 503 later; any other 4xx would delete the subscription.
		in.c.log.WarnContext(r.Context(), "business central notification not processed", "err", err)
		http.Error(w, "try again later", http.StatusServiceUnavailable)
	}
}

// Normalise checks and reads one notification delivery into canonical events. Changes to sales
// orders become EVENT_TYPE_ERP_SALES_ORDER_UPDATED events; deletions and other resources are
// ignored. Event ids derive from the subscription, the record and its modification time, so a
// redelivery yields the same events.
func (in *Intake) Normalise(ctx context.Context, body []byte) ([]*canonicalv1.Event, error) {
	var doc struct {
		Value []notificationDoc `json:"value"`
	}
	if err := json.Unmarshal(body, &doc); err != nil || doc.Value == nil {
		return nil, errs.E(errs.Invalid, "invalid_webhook", "the body is not a Business Central notification")
	}
	for _, n := range doc.Value { // all or nothing: one forged entry spoils the delivery
		if subtle.ConstantTimeCompare([]byte(n.ClientState), []byte(in.clientState)) != 1 {
			return nil, errs.E(errs.Unauthenticated, "webhook_signature_invalid", "clientState does not match")
		}
	}
	var out []*canonicalv1.Event
	for _, n := range doc.Value {
		set, ok := in.c.setOf(n.Resource)
		if !ok || set != "salesOrders" || n.ChangeType == "deleted" {
			continue
		}
		orders, err := in.changedOrders(ctx, n)
		if err != nil {
			return nil, err
		}
		for _, so := range orders {
			ev, err := orderEvent(so)
			if err != nil {
				return nil, err
			}
			out = append(out, ev)
		}
	}
	return out, nil
}

// setOf is the entity set a notification's resource names, within this connector's company.
func (c *Client) setOf(resource string) (string, bool) {
	path, _, _ := strings.Cut(strings.TrimPrefix(resource, "/"), "?")
	rest, ok := strings.CutPrefix(path, "api/"+groupV2+"/companies("+c.company+")/")
	if !ok {
		return "", false
	}
	set, _, _ := strings.Cut(rest, "(")
	return set, set != ""
}

// changedOrders reads the sales orders a notification is about: the one it names, or for a
// collection notification every one its filter selects.
func (in *Intake) changedOrders(ctx context.Context, n notificationDoc) ([]document, error) {
	path, query, _ := strings.Cut(strings.TrimPrefix(n.Resource, "/"), "?")
	u := in.c.root.JoinPath(strings.TrimPrefix(path, "api/"))
	if n.ChangeType == "collection" {
		q, err := url.ParseQuery(query)
		if err != nil {
			return nil, errs.E(errs.Invalid, "invalid_webhook", "the collection filter does not parse")
		}
		u.RawQuery = strings.ReplaceAll(q.Encode(), "+", "%20")
		var page collection[document]
		if err := in.c.get(ctx, u, &page, "salesOrder"); err != nil {
			return nil, err
		}
		return page.Value, nil
	}
	var d document
	err := in.c.get(ctx, u, &d, "salesOrder")
	if e := errs.As(err); e != nil && e.Kind == errs.NotFound {
		return nil, nil // deleted since: nothing to report
	}
	if err != nil {
		return nil, err
	}
	return []document{d}, nil
}

func orderEvent(so document) (*canonicalv1.Event, error) {
	at, err := time.Parse(time.RFC3339Nano, so.LastModified)
	if err != nil {
		return nil, toErr(badPayload(err))
	}
	total, err := minor(so.Total)
	if err != nil {
		return nil, toErr(badPayload(err))
	}
	order := &canonicalv1.Order{Id: so.External, Name: so.Number, Customer: &canonicalv1.CustomerRef{Id: so.CustomerNumber},
		Total: &canonicalv1.Money{AmountMinor: total, CurrencyCode: so.Currency}, UpdatedAt: timestamppb.New(at),
		ErpStatus: so.Status, ErpClosed: slices.Contains(closedStatuses, so.Status)}
	data, err := anypb.New(order)
	if err != nil {
		return nil, errs.Wrap(err, errs.Internal, "event_encode_failed", "")
	}
	typ := events.TypeName(canonicalv1.EventType_EVENT_TYPE_ERP_SALES_ORDER_UPDATED)
	return &canonicalv1.Event{
		Id: vendorhttp.EventID("businesscentral", "salesOrder", so.ID, so.LastModified), Source: Source, Type: typ,
		Time: timestamppb.New(at), Subject: "sales_order/" + so.ID, Data: data, SpecVersion: 1,
		References: &canonicalv1.EventReferences{OrderId: so.External, SystemRecordId: so.ID},
	}, nil
}

// Normalise is the connector's vendors.Inbound: a webhook delivery with a validationToken is a
// subscription handshake, answered with the token as plain text; any other is a notification,
// checked against the configured clientState and read into canonical events (Intake.Normalise).
// Business Central sends no delivery id: a delivery's is the hash of its body, which a
// redelivery repeats.
func (c *Client) Normalise(ctx context.Context, d vendors.Delivery) (vendors.Normalised, error) {
	if tok := d.Query.Get("validationToken"); tok != "" && d.Channel == vendors.Webhook {
		return vendors.Normalised{ID: vendorhttp.EventID("businesscentral", "handshake", tok), Reply: []byte(tok),
			ReplyContentType: "text/plain; charset=utf-8"}, nil
	}
	if c.state == "" {
		return vendors.Normalised{}, errs.E(errs.Unauthenticated, "webhook_secret_missing", "no clientState is configured")
	}
	evs, err := (&Intake{c: c, clientState: c.state}).Normalise(ctx, d.Body)
	if err != nil {
		return vendors.Normalised{}, err
	}
	return vendors.Normalised{ID: vendorhttp.EventID("businesscentral", "delivery", string(d.Body)), Events: evs}, nil
}
