package shopify

import (
	"fmt"
	"strings"
	"time"

	"google.golang.org/protobuf/types/known/timestamppb"

	canonicalv1 "github.com/retailbridge/retailbridge/pkg/gen/retailbridge/canonical/v1"
	"github.com/retailbridge/retailbridge/pkg/money"
)

// Shopify's shapes, as getOrderOp asks for them. Nullable fields are pointers.

type pageInfo struct {
	HasNextPage bool    `json:"hasNextPage"`
	EndCursor   *string `json:"endCursor"`
}

type moneyV2 struct {
	Amount       string `json:"amount"`
	CurrencyCode string `json:"currencyCode"`
}

type moneyBag struct {
	ShopMoney moneyV2 `json:"shopMoney"`
}

type lineItemRef struct {
	ID string `json:"id"`
}

type order struct {
	ID                       string          `json:"id"`
	Name                     string          `json:"name"`
	CreatedAt                time.Time       `json:"createdAt"`
	UpdatedAt                time.Time       `json:"updatedAt"`
	ProcessedAt              time.Time       `json:"processedAt"`
	CancelledAt              *time.Time      `json:"cancelledAt"`
	SourceName               *string         `json:"sourceName"`
	DisplayFinancialStatus   *string         `json:"displayFinancialStatus"`
	DisplayFulfillmentStatus string          `json:"displayFulfillmentStatus"`
	Customer                 *customer       `json:"customer"`
	TotalPriceSet            moneyBag        `json:"totalPriceSet"`
	ShippingAddress          *mailingAddress `json:"shippingAddress"`
	LineItems                struct {
		Nodes    []lineItem `json:"nodes"`
		PageInfo pageInfo   `json:"pageInfo"`
	} `json:"lineItems"`
	Fulfillments      []fulfillment `json:"fulfillments"`
	FulfillmentOrders struct {
		Nodes    []fulfillmentOrder `json:"nodes"`
		PageInfo pageInfo           `json:"pageInfo"`
	} `json:"fulfillmentOrders"`
	Refunds      []refund           `json:"refunds"`
	Transactions []orderTransaction `json:"transactions"`
	Returns      struct {
		Nodes    []orderReturn `json:"nodes"`
		PageInfo pageInfo      `json:"pageInfo"`
	} `json:"returns"`
}

// orderTransaction is a payment transaction of an order, as much as the payment reference needs.
type orderTransaction struct {
	Kind      string  `json:"kind"`
	Status    string  `json:"status"`
	Gateway   *string `json:"gateway"`
	PaymentID *string `json:"paymentId"`
}

// paymentReference is the payment gateway's id of the payment that paid the order: the
// paymentId of its successful sale, or of its successful capture when the payment was
// authorised first (a capture's paymentId names the authorised payment); "" when the order has
// neither (unpaid, or paid outside a gateway).
func paymentReference(txs []orderTransaction) string {
	for _, kind := range []string{"SALE", "CAPTURE", "AUTHORIZATION"} {
		for _, t := range txs {
			if t.Kind == kind && t.Status == "SUCCESS" && deref(t.PaymentID) != "" {
				return deref(t.PaymentID)
			}
		}
	}
	return ""
}

type customer struct {
	ID string `json:"id"`
	// DefaultEmailAddress replaces Customer.email, deprecated since 2026-04.
	DefaultEmailAddress *emailAddress `json:"defaultEmailAddress"`
}

type emailAddress struct {
	EmailAddress string `json:"emailAddress"`
}

type mailingAddress struct {
	Name          *string `json:"name"`
	Address1      *string `json:"address1"`
	Address2      *string `json:"address2"`
	City          *string `json:"city"`
	ProvinceCode  *string `json:"provinceCode"`
	Zip           *string `json:"zip"`
	CountryCodeV2 *string `json:"countryCodeV2"`
	Phone         *string `json:"phone"`
}

type lineItem struct {
	ID              string  `json:"id"`
	SKU             *string `json:"sku"`
	Title           string  `json:"title"`
	Quantity        int32   `json:"quantity"`
	CurrentQuantity int32   `json:"currentQuantity"`
	IsGiftCard      bool    `json:"isGiftCard"`
	// RequiresShipping is nil when the query did not ask (older recorded payloads): a line
	// that ships, as before the field was read.
	RequiresShipping       *bool    `json:"requiresShipping"`
	DiscountedUnitPriceSet moneyBag `json:"discountedUnitPriceSet"`
}

// kind is what the line's units are to stock and shipping: Shopify issues gift cards itself,
// and a line that requires no shipping (a digital good, a service) holds no stock.
func (l *lineItem) kind() canonicalv1.LineKind {
	switch {
	case l.IsGiftCard:
		return canonicalv1.LineKind_LINE_KIND_GIFT_CARD
	case l.RequiresShipping != nil && !*l.RequiresShipping:
		return canonicalv1.LineKind_LINE_KIND_NON_INVENTORY
	}
	return canonicalv1.LineKind_LINE_KIND_STOCKED
}

type fulfillment struct {
	ID                   string     `json:"id"`
	Status               string     `json:"status"`
	DisplayStatus        *string    `json:"displayStatus"`
	CreatedAt            time.Time  `json:"createdAt"`
	InTransitAt          *time.Time `json:"inTransitAt"`
	DeliveredAt          *time.Time `json:"deliveredAt"`
	FulfillmentLineItems struct {
		Nodes []struct {
			Quantity *int32      `json:"quantity"`
			LineItem lineItemRef `json:"lineItem"`
		} `json:"nodes"`
		PageInfo pageInfo `json:"pageInfo"`
	} `json:"fulfillmentLineItems"`
}

type fulfillmentOrder struct {
	Status         string `json:"status"`
	DeliveryMethod *struct {
		MethodType string `json:"methodType"`
	} `json:"deliveryMethod"`
	AssignedLocation struct {
		Location *struct {
			ID   string `json:"id"`
			Name string `json:"name"`
		} `json:"location"`
	} `json:"assignedLocation"`
}

type refund struct {
	ID              string     `json:"id"`
	CreatedAt       *time.Time `json:"createdAt"`
	RefundLineItems struct {
		Nodes []struct {
			Quantity int32       `json:"quantity"`
			LineItem lineItemRef `json:"lineItem"`
		} `json:"nodes"`
		PageInfo pageInfo `json:"pageInfo"`
	} `json:"refundLineItems"`
}

type orderReturn struct {
	ID              string `json:"id"`
	Status          string `json:"status"`
	ReturnLineItems struct {
		Nodes []struct {
			Quantity int32 `json:"quantity"`
			// FulfillmentLineItem is null for unverified return line items, which name no line.
			FulfillmentLineItem *struct {
				LineItem lineItemRef `json:"lineItem"`
			} `json:"fulfillmentLineItem"`
		} `json:"nodes"`
		PageInfo pageInfo `json:"pageInfo"`
	} `json:"returnLineItems"`
}

// errTooLarge says an order has more of something than one read fetches.
type errTooLarge struct{ what string }

func (e errTooLarge) Error() string { return "order has more " + e.what + " than one read fetches" }

// numericID is the numeric tail of a Shopify global id (gid://shopify/Order/123 → "123").
func numericID(gid string) (string, error) {
	i := strings.LastIndexByte(gid, '/')
	tail := gid[i+1:]
	if q := strings.IndexByte(tail, '?'); q >= 0 {
		tail = tail[:q]
	}
	if !strings.HasPrefix(gid, "gid://shopify/") || !isNumeric(tail) {
		return "", fmt.Errorf("not a Shopify global id: %q", gid)
	}
	return tail, nil
}

func isNumeric(s string) bool {
	if s == "" || len(s) > 20 {
		return false
	}
	for _, c := range s {
		if c < '0' || c > '9' {
			return false
		}
	}
	return true
}

// toCanonicalOrder maps a Shopify order. It fails when the payload is inconsistent or was cut
// short by the read's page limits, never returning a partial order as if it were whole.
func toCanonicalOrder(o *order) (*canonicalv1.Order, error) {
	if o.LineItems.PageInfo.HasNextPage {
		return nil, errTooLarge{"line items"}
	}
	if len(o.Fulfillments) >= maxFulfillments {
		return nil, errTooLarge{"fulfillments"}
	}
	if len(o.Refunds) >= maxRefunds {
		return nil, errTooLarge{"refunds"}
	}
	if o.Returns.PageInfo.HasNextPage {
		return nil, errTooLarge{"returns"}
	}
	if o.FulfillmentOrders.PageInfo.HasNextPage {
		return nil, errTooLarge{"fulfillment orders"}
	}
	id, err := numericID(o.ID)
	if err != nil {
		return nil, err
	}
	total, err := toCanonicalMoney(o.TotalPriceSet.ShopMoney)
	if err != nil {
		return nil, fmt.Errorf("order %s total: %w", id, err)
	}
	out := &canonicalv1.Order{
		Id:                id,
		Name:              o.Name,
		Channel:           toCanonicalChannel(deref(o.SourceName)),
		Source:            deref(o.SourceName),
		FinancialStatus:   toCanonicalFinancialStatus(deref(o.DisplayFinancialStatus)),
		FulfillmentStatus: toCanonicalFulfillmentStatus(o.DisplayFulfillmentStatus),
		Total:             total,
		CreatedAt:         timestamppb.New(o.CreatedAt),
		UpdatedAt:         timestamppb.New(o.UpdatedAt),
		ShippingAddress:   toCanonicalAddress(o.ShippingAddress),
		PaymentReference:  paymentReference(o.Transactions),
	}
	if o.CancelledAt != nil {
		out.CancelledAt = timestamppb.New(*o.CancelledAt)
	}
	if o.Customer != nil {
		cid, err := numericID(o.Customer.ID)
		if err != nil {
			return nil, err
		}
		out.Customer = &canonicalv1.CustomerRef{Id: cid, Email: o.Customer.email()}
	}
	out.FulfillmentModel, out.PickupLocationId, err = toCanonicalFulfillmentModel(o.FulfillmentOrders.Nodes)
	if err != nil {
		return nil, err
	}
	out.Lines, out.DeliveredAt, err = toCanonicalLines(o)
	if err != nil {
		return nil, fmt.Errorf("order %s: %w", id, err)
	}
	return out, nil
}

// lineTally is what fulfilments, refunds and returns say about one line.
type lineTally struct {
	fulfilled, delivered, refunded, returned int32
	deliveredAt                              time.Time
}

// toCanonicalLines maps line items and folds in per-line fulfilled, delivered, refunded and
// returned quantities. It also returns when the whole order was delivered: the latest line
// delivery once every line that shipped or still has units is delivered, nil until then.
func toCanonicalLines(o *order) ([]*canonicalv1.OrderLine, *timestamppb.Timestamp, error) {
	tally := make(map[string]*lineTally, len(o.LineItems.Nodes))
	for _, l := range o.LineItems.Nodes {
		tally[l.ID] = &lineTally{}
	}
	of := func(ref lineItemRef) (*lineTally, error) {
		t, ok := tally[ref.ID]
		if !ok {
			return nil, fmt.Errorf("unknown line item %q", ref.ID)
		}
		return t, nil
	}
	for _, f := range o.Fulfillments {
		if f.FulfillmentLineItems.PageInfo.HasNextPage {
			return nil, nil, errTooLarge{"fulfillment line items"}
		}
		if f.Status != "SUCCESS" { // cancelled, failed or errored fulfilments shipped nothing
			continue
		}
		for _, n := range f.FulfillmentLineItems.Nodes {
			t, err := of(n.LineItem)
			if err != nil {
				return nil, nil, err
			}
			q := deref(n.Quantity)
			t.fulfilled += q
			if f.DeliveredAt != nil {
				t.delivered += q
				if f.DeliveredAt.After(t.deliveredAt) {
					t.deliveredAt = *f.DeliveredAt
				}
			}
		}
	}
	for _, r := range o.Refunds {
		if r.RefundLineItems.PageInfo.HasNextPage {
			return nil, nil, errTooLarge{"refund line items"}
		}
		for _, n := range r.RefundLineItems.Nodes {
			t, err := of(n.LineItem)
			if err != nil {
				return nil, nil, err
			}
			t.refunded += n.Quantity
		}
	}
	for _, r := range o.Returns.Nodes {
		if r.ReturnLineItems.PageInfo.HasNextPage {
			return nil, nil, errTooLarge{"return line items"}
		}
		if !returnCounts(r.Status) {
			continue
		}
		for _, n := range r.ReturnLineItems.Nodes {
			if n.FulfillmentLineItem == nil {
				continue // unverified: names no order line
			}
			t, err := of(n.FulfillmentLineItem.LineItem)
			if err != nil {
				return nil, nil, err
			}
			t.returned += n.Quantity
		}
	}

	lines := make([]*canonicalv1.OrderLine, 0, len(o.LineItems.Nodes))
	var orderDelivered time.Time
	allDelivered := true
	for _, l := range o.LineItems.Nodes {
		id, err := numericID(l.ID)
		if err != nil {
			return nil, nil, err
		}
		price, err := toCanonicalMoney(l.DiscountedUnitPriceSet.ShopMoney)
		if err != nil {
			return nil, nil, fmt.Errorf("line %s unit price: %w", id, err)
		}
		t := tally[l.ID]
		line := &canonicalv1.OrderLine{
			Id: id, Sku: deref(l.SKU), Title: l.Title, Quantity: l.Quantity, UnitPrice: price,
			FulfilledQuantity: t.fulfilled, RefundedQuantity: t.refunded, ReturnedQuantity: t.returned, Kind: l.kind(),
		}
		// Delivered once every unit still on the line (currentQuantity drops with refunds that
		// remove units) reached the customer.
		switch {
		case t.delivered > 0 && t.delivered >= l.CurrentQuantity:
			line.DeliveredAt = timestamppb.New(t.deliveredAt)
			if t.deliveredAt.After(orderDelivered) {
				orderDelivered = t.deliveredAt
			}
		case t.fulfilled > 0 || l.CurrentQuantity > 0:
			allDelivered = false
		}
		lines = append(lines, line)
	}
	if !allDelivered || orderDelivered.IsZero() {
		return lines, nil, nil
	}
	return lines, timestamppb.New(orderDelivered), nil
}

// returnCounts says whether a return's units count as returned: declined and cancelled
// returns never happened as far as stock and refunds are concerned.
func returnCounts(status string) bool {
	switch status {
	case "DECLINED", "CANCELED":
		return false
	}
	return true
}

// toCanonicalFulfillmentModel reads the delivery method off the fulfilment orders: a pick-up
// anywhere makes the order pick-up-in-store, at the assigned location.
func toCanonicalFulfillmentModel(fos []fulfillmentOrder) (canonicalv1.FulfillmentModel, string, error) {
	model := canonicalv1.FulfillmentModel_FULFILLMENT_MODEL_UNSPECIFIED
	for _, fo := range fos {
		if fo.DeliveryMethod == nil {
			continue
		}
		switch fo.DeliveryMethod.MethodType {
		case "PICK_UP":
			loc := ""
			if l := fo.AssignedLocation.Location; l != nil {
				id, err := numericID(l.ID)
				if err != nil {
					return model, "", err
				}
				loc = id
			}
			return canonicalv1.FulfillmentModel_FULFILLMENT_MODEL_PICK_UP_IN_STORE, loc, nil
		case "SHIPPING", "LOCAL", "PICKUP_POINT":
			model = canonicalv1.FulfillmentModel_FULFILLMENT_MODEL_SHIP_TO_HOME
		case "RETAIL":
			if model == canonicalv1.FulfillmentModel_FULFILLMENT_MODEL_UNSPECIFIED {
				model = canonicalv1.FulfillmentModel_FULFILLMENT_MODEL_IN_STORE_PURCHASE
			}
		}
	}
	return model, "", nil
}

// toCanonicalChannel maps Shopify's sourceName. Shopify's own mobile apps report "iphone" or
// "android"; a custom storefront app reports whatever it was built with, hence "mobile".
func toCanonicalChannel(sourceName string) canonicalv1.Channel {
	switch strings.ToLower(sourceName) {
	case "web":
		return canonicalv1.Channel_CHANNEL_WEB
	case "pos":
		return canonicalv1.Channel_CHANNEL_POINT_OF_SALE
	case "iphone", "android", "mobile", "mobile_app", "shopify_mobile":
		return canonicalv1.Channel_CHANNEL_MOBILE_APP
	case "amazon", "ebay", "etsy", "walmart", "facebook", "instagram", "google", "tiktok":
		return canonicalv1.Channel_CHANNEL_MARKETPLACE
	}
	return canonicalv1.Channel_CHANNEL_UNSPECIFIED
}

// toCanonicalFinancialStatus maps OrderDisplayFinancialStatus.
func toCanonicalFinancialStatus(s string) canonicalv1.FinancialStatus {
	switch s {
	case "PENDING":
		return canonicalv1.FinancialStatus_FINANCIAL_STATUS_PENDING
	case "AUTHORIZED":
		return canonicalv1.FinancialStatus_FINANCIAL_STATUS_AUTHORIZED
	case "PARTIALLY_PAID":
		return canonicalv1.FinancialStatus_FINANCIAL_STATUS_PARTIALLY_PAID
	case "PAID":
		return canonicalv1.FinancialStatus_FINANCIAL_STATUS_PAID
	case "PARTIALLY_REFUNDED":
		return canonicalv1.FinancialStatus_FINANCIAL_STATUS_PARTIALLY_REFUNDED
	case "REFUNDED":
		return canonicalv1.FinancialStatus_FINANCIAL_STATUS_REFUNDED
	case "VOIDED":
		return canonicalv1.FinancialStatus_FINANCIAL_STATUS_VOIDED
	case "EXPIRED":
		return canonicalv1.FinancialStatus_FINANCIAL_STATUS_EXPIRED
	}
	return canonicalv1.FinancialStatus_FINANCIAL_STATUS_UNSPECIFIED
}

// toCanonicalFulfillmentStatus maps OrderDisplayFulfillmentStatus.
func toCanonicalFulfillmentStatus(s string) canonicalv1.FulfillmentStatus {
	switch s {
	case "UNFULFILLED", "OPEN", "RESTOCKED":
		return canonicalv1.FulfillmentStatus_FULFILLMENT_STATUS_UNFULFILLED
	case "PARTIALLY_FULFILLED":
		return canonicalv1.FulfillmentStatus_FULFILLMENT_STATUS_PARTIALLY_FULFILLED
	case "FULFILLED":
		return canonicalv1.FulfillmentStatus_FULFILLMENT_STATUS_FULFILLED
	case "IN_PROGRESS", "PENDING_FULFILLMENT":
		return canonicalv1.FulfillmentStatus_FULFILLMENT_STATUS_IN_PROGRESS
	case "ON_HOLD":
		return canonicalv1.FulfillmentStatus_FULFILLMENT_STATUS_ON_HOLD
	case "SCHEDULED":
		return canonicalv1.FulfillmentStatus_FULFILLMENT_STATUS_SCHEDULED
	case "REQUEST_DECLINED":
		return canonicalv1.FulfillmentStatus_FULFILLMENT_STATUS_REQUEST_DECLINED
	}
	return canonicalv1.FulfillmentStatus_FULFILLMENT_STATUS_UNSPECIFIED
}

// toCanonicalAddress maps a MailingAddress; nil stays nil.
func toCanonicalAddress(a *mailingAddress) *canonicalv1.Address {
	if a == nil {
		return nil
	}
	out := &canonicalv1.Address{
		Name: deref(a.Name), City: deref(a.City), Region: deref(a.ProvinceCode), PostalCode: deref(a.Zip),
		CountryCode: deref(a.CountryCodeV2), Phone: deref(a.Phone),
	}
	for _, l := range []*string{a.Address1, a.Address2} {
		if s := deref(l); s != "" {
			out.Lines = append(out.Lines, s)
		}
	}
	return out
}

// toCanonicalMoney converts a decimal amount to minor units.
func toCanonicalMoney(m moneyV2) (*canonicalv1.Money, error) {
	minor, err := money.ParseDecimal(m.Amount, m.CurrencyCode)
	if err != nil {
		return nil, err
	}
	return money.New(minor, m.CurrencyCode), nil
}

func deref[T any](p *T) T {
	var zero T
	if p == nil {
		return zero
	}
	return *p
}

func (c *customer) email() string {
	if c.DefaultEmailAddress == nil {
		return ""
	}
	return c.DefaultEmailAddress.EmailAddress
}
