package shopify

import (
	"bytes"
	"encoding/json"
	"fmt"
	"net/textproto"
	"regexp"
	"strings"
	"time"

	"google.golang.org/protobuf/types/known/timestamppb"

	"github.com/retailbridge/retailbridge/pkg/errs"
	"github.com/retailbridge/retailbridge/pkg/events"
	canonicalv1 "github.com/retailbridge/retailbridge/pkg/gen/retailbridge/canonical/v1"
	"github.com/retailbridge/retailbridge/pkg/money"
	"github.com/retailbridge/retailbridge/pkg/signature"
	"github.com/retailbridge/retailbridge/services/system/commerce/internal/webhook"
)

// Webhook topics Retailbridge normalises; every other topic is acknowledged and ignored.
const (
	TopicOrdersCreate       = "orders/create"
	TopicOrdersUpdated      = "orders/updated"
	TopicOrdersCancelled    = "orders/cancelled"
	TopicFulfillmentsCreate = "fulfillments/create"
	TopicFulfillmentsUpdate = "fulfillments/update"
	TopicRefundsCreate      = "refunds/create"
)

// Event types the topics become, as the contracts declare them (canonical EventType).
var (
	EventOrderCreated       = events.TypeName(canonicalv1.EventType_EVENT_TYPE_COMMERCE_ORDER_CREATED)
	EventOrderUpdated       = events.TypeName(canonicalv1.EventType_EVENT_TYPE_COMMERCE_ORDER_UPDATED)
	EventOrderCancelled     = events.TypeName(canonicalv1.EventType_EVENT_TYPE_COMMERCE_ORDER_CANCELLED)
	EventFulfillmentUpdated = events.TypeName(canonicalv1.EventType_EVENT_TYPE_COMMERCE_FULFILLMENT_UPDATED)
	EventRefundCreated      = events.TypeName(canonicalv1.EventType_EVENT_TYPE_COMMERCE_REFUND_CREATED)
)

// Webhook headers Shopify sends.
const (
	headerHMAC        = "X-Shopify-Hmac-Sha256"
	headerWebhookID   = "X-Shopify-Webhook-Id"
	headerTopic       = "X-Shopify-Topic"
	headerTriggeredAt = "X-Shopify-Triggered-At"
	headerShopDomain  = "X-Shopify-Shop-Domain"
	headerAPIVersion  = "X-Shopify-API-Version"
)

// requiredHeaders are what Shopify's own library requires of a webhook delivery once its HMAC
// verifies, in its order: @shopify/shopify-api 15.0.0, lib/webhooks/validate.ts,
// checkWebhooksHeaders (a missing one makes validate() answer {valid: false, reason:
// "missing_headers"}). X-Shopify-Name, X-Shopify-Triggered-At and X-Shopify-Event-Id are optional
// there, and here.
var requiredHeaders = []string{headerHMAC, headerTopic, headerShopDomain, headerAPIVersion, headerWebhookID}

// maxDeliveryID bounds a delivery id; Shopify's are UUIDs.
const maxDeliveryID = 128

// ReceiveWebhook verifies a delivery on its raw body — X-Shopify-Hmac-Sha256 is base64 of
// HMAC-SHA256 keyed with the app's secret, compared as text in constant time as Shopify's library
// compares it — then requires the headers Shopify's library requires, and normalises what it
// reports into canonical facts. The delivery id is X-Shopify-Webhook-Id, the same on every retry.
// Topics Retailbridge does not use come back without facts.
func (c *Connector) ReceiveWebhook(headers map[string]string, body []byte) (*webhook.Delivery, error) {
	if len(c.webhookSecret) == 0 {
		e := errs.E(errs.Unavailable, "webhook_secret_not_configured", "webhooks cannot be verified: no secret is configured")
		e.Retryable = false
		return nil, e
	}
	// Shopify's library refuses an empty body before looking at the HMAC (reason "missing_body").
	if len(body) == 0 {
		return nil, errs.E(errs.Invalid, "webhook_body_missing", "the webhook has no body")
	}
	if signature.VerifyBase64Body(headerHMAC, header(headers, headerHMAC), body, [][]byte{c.webhookSecret}) != nil {
		return nil, errs.E(errs.Unauthenticated, "webhook_signature_invalid", "the webhook signature is missing or does not match its body")
	}
	if err := checkRequiredHeaders(headers); err != nil {
		return nil, err
	}
	id := header(headers, headerWebhookID)
	if len(id) > maxDeliveryID || strings.ContainsFunc(id, func(r rune) bool { return r <= ' ' || r > '~' }) {
		return nil, errs.E(errs.Invalid, "webhook_delivery_id_invalid", "the webhook has no usable delivery id").
			WithFields(errs.FieldViolation{Field: "headers." + headerWebhookID, Description: "required: printable, at most 128 characters"})
	}
	d := &webhook.Delivery{ID: id, Topic: header(headers, headerTopic)}
	triggered, _ := time.Parse(time.RFC3339Nano, header(headers, headerTriggeredAt))
	var fact webhook.Fact
	var err error
	switch d.Topic {
	case TopicOrdersCreate:
		fact, err = orderFact(EventOrderCreated, body, triggered)
	case TopicOrdersUpdated:
		fact, err = orderFact(EventOrderUpdated, body, triggered)
	case TopicOrdersCancelled:
		fact, err = orderFact(EventOrderCancelled, body, triggered)
	case TopicFulfillmentsCreate, TopicFulfillmentsUpdate:
		fact, err = fulfillmentFact(body, triggered)
	case TopicRefundsCreate:
		fact, err = refundCreatedFact(body, triggered)
	default:
		return d, nil
	}
	if err != nil {
		return nil, errs.Wrap(err, errs.Invalid, "webhook_payload_invalid", "the webhook payload does not match its topic")
	}
	d.Facts = []webhook.Fact{fact}
	return d, nil
}

// checkRequiredHeaders refuses a verified delivery that lacks any header Shopify's library
// requires, naming every missing one.
func checkRequiredHeaders(headers map[string]string) error {
	var missing []errs.FieldViolation
	for _, name := range requiredHeaders {
		if header(headers, name) == "" {
			missing = append(missing, errs.FieldViolation{Field: "headers." + name, Description: "required"})
		}
	}
	if len(missing) == 0 {
		return nil
	}
	return errs.E(errs.Invalid, "webhook_headers_missing", "the webhook lacks headers Shopify always sends").
		WithFields(missing...)
}

// header reads a header by name in any case, as the map's producer may not canonicalise.
func header(headers map[string]string, name string) string {
	if v, ok := headers[name]; ok {
		return strings.TrimSpace(v)
	}
	if v, ok := headers[textproto.CanonicalMIMEHeaderKey(name)]; ok {
		return strings.TrimSpace(v)
	}
	for k, v := range headers {
		if strings.EqualFold(k, name) {
			return strings.TrimSpace(v)
		}
	}
	return ""
}

func decodeStrict(body []byte, v any) error {
	dec := json.NewDecoder(bytes.NewReader(body))
	dec.UseNumber()
	return dec.Decode(v)
}

// orderFact is the fact of an orders/create, orders/updated or orders/cancelled delivery: all
// three carry the whole order; typ says which change it was.
func orderFact(typ string, body []byte, triggered time.Time) (webhook.Fact, error) {
	var p webhookOrder
	if err := decodeStrict(body, &p); err != nil {
		return webhook.Fact{}, err
	}
	o, err := toCanonicalOrderFromWebhook(&p)
	if err != nil {
		return webhook.Fact{}, err
	}
	at := p.UpdatedAt
	if at.IsZero() {
		at = triggered
	}
	return webhook.Fact{Type: typ, Subject: "order/" + o.GetId(), Time: at, Data: o,
		References: &canonicalv1.EventReferences{OrderId: o.GetId(), SystemRecordId: o.GetId()}}, nil
}

func refundCreatedFact(body []byte, triggered time.Time) (webhook.Fact, error) {
	var p webhookRefund
	if err := decodeStrict(body, &p); err != nil {
		return webhook.Fact{}, err
	}
	r, err := toCanonicalRefundFromWebhook(&p)
	if err != nil {
		return webhook.Fact{}, err
	}
	at := p.CreatedAt
	if at.IsZero() {
		at = triggered
	}
	return webhook.Fact{Type: EventRefundCreated, Subject: "refund/" + r.GetId(), Time: at, Data: r,
		References: &canonicalv1.EventReferences{OrderId: r.GetOrderId(), SystemRecordId: r.GetId()}}, nil
}

// The REST shapes of webhook payloads, as much as Retailbridge reads.

type webhookMoney struct {
	Amount       string `json:"amount"`
	CurrencyCode string `json:"currency_code"`
}

type webhookLineItem struct {
	ID                  json.Number `json:"id"`
	SKU                 *string     `json:"sku"`
	Title               string      `json:"title"`
	Quantity            int32       `json:"quantity"`
	CurrentQuantity     *int32      `json:"current_quantity"`
	GiftCard            bool        `json:"gift_card"`
	RequiresShipping    *bool       `json:"requires_shipping"`
	Price               string      `json:"price"`
	DiscountAllocations []struct {
		Amount string `json:"amount"`
	} `json:"discount_allocations"`
}

type webhookOrder struct {
	ID                json.Number `json:"id"`
	Name              string      `json:"name"`
	CreatedAt         time.Time   `json:"created_at"`
	UpdatedAt         time.Time   `json:"updated_at"`
	ProcessedAt       time.Time   `json:"processed_at"`
	CancelledAt       *time.Time  `json:"cancelled_at"`
	Currency          string      `json:"currency"`
	FinancialStatus   *string     `json:"financial_status"`
	FulfillmentStatus *string     `json:"fulfillment_status"`
	SourceName        *string     `json:"source_name"`
	TotalPrice        string      `json:"total_price"`
	Customer          *struct {
		ID    json.Number `json:"id"`
		Email *string     `json:"email"`
	} `json:"customer"`
	ShippingAddress *struct {
		Name        *string `json:"name"`
		Address1    *string `json:"address1"`
		Address2    *string `json:"address2"`
		City        *string `json:"city"`
		Province    *string `json:"province_code"`
		Zip         *string `json:"zip"`
		CountryCode *string `json:"country_code"`
		Phone       *string `json:"phone"`
	} `json:"shipping_address"`
	LineItems    []webhookLineItem `json:"line_items"`
	Fulfillments []struct {
		ID             json.Number `json:"id"`
		Status         string      `json:"status"`
		ShipmentStatus *string     `json:"shipment_status"`
		CreatedAt      time.Time   `json:"created_at"`
		UpdatedAt      time.Time   `json:"updated_at"`
		LineItems      []struct {
			ID       json.Number `json:"id"`
			Quantity int32       `json:"quantity"`
		} `json:"line_items"`
	} `json:"fulfillments"`
	Refunds []webhookRefund `json:"refunds"`
}

type webhookRefund struct {
	ID              json.Number `json:"id"`
	OrderID         json.Number `json:"order_id"`
	CreatedAt       time.Time   `json:"created_at"`
	Note            *string     `json:"note"`
	RefundLineItems []struct {
		LineItemID  json.Number `json:"line_item_id"`
		Quantity    int32       `json:"quantity"`
		SubtotalSet *struct {
			ShopMoney webhookMoney `json:"shop_money"`
		} `json:"subtotal_set"`
	} `json:"refund_line_items"`
	Transactions []struct {
		Kind          string  `json:"kind"`
		Status        string  `json:"status"`
		Amount        string  `json:"amount"`
		Currency      string  `json:"currency"`
		Authorization *string `json:"authorization"`
	} `json:"transactions"`
}

func gidOf(kind string, id json.Number) (string, error) {
	if !isNumeric(id.String()) {
		return "", fmt.Errorf("%s id %q is not numeric", kind, id)
	}
	return "gid://shopify/" + kind + "/" + id.String(), nil
}

// toCanonicalOrderFromWebhook maps an orders/* payload. It rebuilds the GraphQL shape the
// connector reads and converts that with toCanonicalOrder, so both paths agree on every rule.
// What the REST payload does not carry stays unknown: returns (returned quantities are 0 —
// consumers that need them read the order), the delivery method (an order with a shipping
// address is taken to ship to home), and delivery times (a fulfilment whose shipment status is
// "delivered" counts as delivered when it was last updated).
func toCanonicalOrderFromWebhook(p *webhookOrder) (*canonicalv1.Order, error) {
	id, err := gidOf("Order", p.ID)
	if err != nil {
		return nil, err
	}
	o := &order{
		ID: id, Name: p.Name, CreatedAt: p.CreatedAt, UpdatedAt: p.UpdatedAt, ProcessedAt: p.ProcessedAt, CancelledAt: p.CancelledAt,
		SourceName:               p.SourceName,
		DisplayFulfillmentStatus: fromRESTFulfillmentStatus(p.FulfillmentStatus),
		TotalPriceSet:            moneyBag{ShopMoney: moneyV2{Amount: p.TotalPrice, CurrencyCode: p.Currency}},
	}
	if p.FinancialStatus != nil {
		s := strings.ToUpper(*p.FinancialStatus)
		o.DisplayFinancialStatus = &s
	}
	if p.Customer != nil {
		cid, err := gidOf("Customer", p.Customer.ID)
		if err != nil {
			return nil, err
		}
		o.Customer = &customer{ID: cid}
		if p.Customer.Email != nil {
			o.Customer.DefaultEmailAddress = &emailAddress{EmailAddress: *p.Customer.Email}
		}
	}
	if a := p.ShippingAddress; a != nil {
		o.ShippingAddress = &mailingAddress{Name: a.Name, Address1: a.Address1, Address2: a.Address2, City: a.City,
			ProvinceCode: a.Province, Zip: a.Zip, CountryCodeV2: a.CountryCode, Phone: a.Phone}
		o.FulfillmentOrders.Nodes = []fulfillmentOrder{{DeliveryMethod: &struct {
			MethodType string `json:"methodType"`
		}{MethodType: "SHIPPING"}}}
	}
	refunded := map[string]int32{}
	for _, r := range p.Refunds {
		rr, err := fromWebhookRefund(&r)
		if err != nil {
			return nil, err
		}
		for _, n := range rr.RefundLineItems.Nodes {
			refunded[n.LineItem.ID] += n.Quantity
		}
		o.Refunds = append(o.Refunds, rr)
	}
	for _, l := range p.LineItems {
		lid, err := gidOf("LineItem", l.ID)
		if err != nil {
			return nil, err
		}
		price, err := discountedUnitPrice(l, p.Currency)
		if err != nil {
			return nil, fmt.Errorf("line %s: %w", l.ID, err)
		}
		current := l.Quantity - refunded[lid]
		if l.CurrentQuantity != nil {
			current = *l.CurrentQuantity
		}
		o.LineItems.Nodes = append(o.LineItems.Nodes, lineItem{ID: lid, SKU: l.SKU, Title: l.Title, Quantity: l.Quantity,
			CurrentQuantity: current, IsGiftCard: l.GiftCard, RequiresShipping: l.RequiresShipping,
			DiscountedUnitPriceSet: moneyBag{ShopMoney: moneyV2{Amount: price, CurrencyCode: p.Currency}}})
	}
	for _, f := range p.Fulfillments {
		fid, err := gidOf("Fulfillment", f.ID)
		if err != nil {
			return nil, err
		}
		ff := fulfillment{ID: fid, Status: strings.ToUpper(f.Status), CreatedAt: f.CreatedAt}
		if f.ShipmentStatus != nil && *f.ShipmentStatus == "delivered" {
			at := f.UpdatedAt
			ff.DeliveredAt = &at
		}
		for _, l := range f.LineItems {
			lid, err := gidOf("LineItem", l.ID)
			if err != nil {
				return nil, err
			}
			q := l.Quantity
			ff.FulfillmentLineItems.Nodes = append(ff.FulfillmentLineItems.Nodes, struct {
				Quantity *int32      `json:"quantity"`
				LineItem lineItemRef `json:"lineItem"`
			}{Quantity: &q, LineItem: lineItemRef{ID: lid}})
		}
		o.Fulfillments = append(o.Fulfillments, ff)
	}
	return toCanonicalOrder(o)
}

// discountedUnitPrice is the line's price less its discount allocations per unit, in the shop's
// currency as a decimal string. Shopify allocates whole cents to the line, so the per-unit share
// is rounded down when it does not divide evenly.
func discountedUnitPrice(l webhookLineItem, currency string) (string, error) {
	if len(l.DiscountAllocations) == 0 || l.Quantity <= 0 {
		return l.Price, nil
	}
	price, err := money.ParseDecimal(l.Price, currency)
	if err != nil {
		return "", err
	}
	var discount int64
	for _, d := range l.DiscountAllocations {
		a, err := money.ParseDecimal(d.Amount, currency)
		if err != nil {
			return "", err
		}
		discount += a
	}
	return money.FormatDecimal(price-discount/int64(l.Quantity), currency), nil
}

func fromRESTFulfillmentStatus(s *string) string {
	if s == nil {
		return "UNFULFILLED"
	}
	switch *s {
	case "fulfilled":
		return "FULFILLED"
	case "partial":
		return "PARTIALLY_FULFILLED"
	case "restocked":
		return "RESTOCKED"
	}
	return strings.ToUpper(*s)
}

func fromWebhookRefund(r *webhookRefund) (refund, error) {
	id, err := gidOf("Refund", r.ID)
	if err != nil {
		return refund{}, err
	}
	out := refund{ID: id}
	if !r.CreatedAt.IsZero() {
		at := r.CreatedAt
		out.CreatedAt = &at
	}
	for _, l := range r.RefundLineItems {
		lid, err := gidOf("LineItem", l.LineItemID)
		if err != nil {
			return refund{}, err
		}
		out.RefundLineItems.Nodes = append(out.RefundLineItems.Nodes, struct {
			Quantity int32       `json:"quantity"`
			LineItem lineItemRef `json:"lineItem"`
		}{Quantity: l.Quantity, LineItem: lineItemRef{ID: lid}})
	}
	return out, nil
}

// gatewayRefund finds the payment gateway's refund id RecordRefund left in a refund's note.
var gatewayRefund = regexp.MustCompile(regexp.QuoteMeta(gatewayRefundPrefix) + `(\S+)`)

// toCanonicalRefundFromWebhook maps a refunds/create payload: the amount is what its refund
// transactions moved; it is pending while one of them is, failed when all of them failed.
func toCanonicalRefundFromWebhook(p *webhookRefund) (*canonicalv1.Refund, error) {
	if !isNumeric(p.ID.String()) || !isNumeric(p.OrderID.String()) {
		return nil, fmt.Errorf("refund %q of order %q: ids are not numeric", p.ID, p.OrderID)
	}
	r := &canonicalv1.Refund{Id: p.ID.String(), OrderId: p.OrderID.String(), Status: canonicalv1.RefundStatus_REFUND_STATUS_SUCCEEDED}
	if !p.CreatedAt.IsZero() {
		r.CreatedAt = timestamppb.New(p.CreatedAt)
	}
	if p.Note != nil {
		if m := gatewayRefund.FindStringSubmatch(*p.Note); m != nil {
			r.GatewayRefundId = m[1]
		}
	}
	var total int64
	var pending, failed bool
	currency := ""
	for _, tx := range p.Transactions {
		if tx.Kind != "refund" {
			continue
		}
		switch tx.Status {
		case "pending":
			pending = true
		case "failure", "error":
			failed = true
			continue // moved nothing
		}
		amt, err := money.ParseDecimal(tx.Amount, tx.Currency)
		if err != nil {
			return nil, fmt.Errorf("refund %s transaction amount: %w", p.ID, err)
		}
		total += amt
		currency = tx.Currency
		if r.GatewayRefundId == "" && tx.Authorization != nil {
			r.GatewayRefundId = *tx.Authorization
		}
	}
	switch {
	case pending:
		r.Status = canonicalv1.RefundStatus_REFUND_STATUS_PENDING
	case failed && total == 0:
		r.Status = canonicalv1.RefundStatus_REFUND_STATUS_FAILED
	}
	if currency == "" {
		for _, l := range p.RefundLineItems {
			if l.SubtotalSet != nil {
				currency = l.SubtotalSet.ShopMoney.CurrencyCode
				break
			}
		}
	}
	if currency != "" {
		r.Amount = money.New(total, currency)
	}
	return r, nil
}
