package shopify

import (
	"encoding/json"
	"strconv"
	"strings"
	"time"

	"github.com/retailbridge/retailbridge/pkg/money"
)

// Webhook payloads are REST-shaped, as Shopify sends them whatever API a subscriber reads with:
// snake_case fields, numeric ids, decimal strings for prices and numbers for refund subtotals.

type restMoney struct {
	Amount       string `json:"amount"`
	CurrencyCode string `json:"currency_code"`
}

type restMoneySet struct {
	ShopMoney        restMoney `json:"shop_money"`
	PresentmentMoney restMoney `json:"presentment_money"`
}

func moneySet(minor int64, currency string) restMoneySet {
	m := restMoney{Amount: money.FormatDecimal(minor, currency), CurrencyCode: currency}
	return restMoneySet{ShopMoney: m, PresentmentMoney: m}
}

type restCustomer struct {
	ID                int64  `json:"id"`
	AdminGraphqlAPIID string `json:"admin_graphql_api_id"`
	Email             string `json:"email"`
	FirstName         string `json:"first_name"`
	LastName          string `json:"last_name"`
}

type restAddress struct {
	FirstName    string  `json:"first_name"`
	LastName     string  `json:"last_name"`
	Name         string  `json:"name"`
	Address1     string  `json:"address1"`
	Address2     *string `json:"address2"`
	City         string  `json:"city"`
	Province     string  `json:"province"`
	ProvinceCode string  `json:"province_code"`
	Zip          string  `json:"zip"`
	Country      string  `json:"country"`
	CountryCode  string  `json:"country_code"`
	Phone        string  `json:"phone"`
}

type restLineItem struct {
	ID                  int64        `json:"id"`
	AdminGraphqlAPIID   string       `json:"admin_graphql_api_id"`
	SKU                 string       `json:"sku"`
	Title               string       `json:"title"`
	Name                string       `json:"name"`
	Quantity            int          `json:"quantity"`
	CurrentQuantity     int          `json:"current_quantity"`
	FulfillableQuantity int          `json:"fulfillable_quantity"`
	FulfillmentStatus   *string      `json:"fulfillment_status"`
	GiftCard            bool         `json:"gift_card"`
	RequiresShipping    bool         `json:"requires_shipping"`
	Price               string       `json:"price"`
	PriceSet            restMoneySet `json:"price_set"`
	TotalDiscount       string       `json:"total_discount"`
	DiscountAllocations []struct{}   `json:"discount_allocations"`
}

type restFulfillmentLine struct {
	restLineItem
	FulfilledQuantity int `json:"quantity"`
}

type restFulfillment struct {
	ID                int64                 `json:"id"`
	AdminGraphqlAPIID string                `json:"admin_graphql_api_id"`
	OrderID           int64                 `json:"order_id"`
	Name              string                `json:"name"`
	Status            string                `json:"status"`
	ShipmentStatus    *string               `json:"shipment_status"`
	CreatedAt         string                `json:"created_at"`
	UpdatedAt         string                `json:"updated_at"`
	LocationID        int64                 `json:"location_id"`
	LineItems         []restFulfillmentLine `json:"line_items"`
}

type restRefundLine struct {
	ID          int64        `json:"id"`
	LineItemID  int64        `json:"line_item_id"`
	Quantity    int          `json:"quantity"`
	RestockType string       `json:"restock_type"`
	LocationID  *int64       `json:"location_id"`
	Subtotal    json.Number  `json:"subtotal"`
	TotalTax    json.Number  `json:"total_tax"`
	SubtotalSet restMoneySet `json:"subtotal_set"`
	LineItem    restLineItem `json:"line_item"`
}

type restTransaction struct {
	ID                int64   `json:"id"`
	AdminGraphqlAPIID string  `json:"admin_graphql_api_id"`
	OrderID           int64   `json:"order_id"`
	Kind              string  `json:"kind"`
	Gateway           string  `json:"gateway"`
	Status            string  `json:"status"`
	Amount            string  `json:"amount"`
	Currency          string  `json:"currency"`
	CreatedAt         string  `json:"created_at"`
	ProcessedAt       string  `json:"processed_at"`
	ParentID          *int64  `json:"parent_id"`
	Authorization     *string `json:"authorization"`
}

type restRefund struct {
	ID                int64             `json:"id"`
	AdminGraphqlAPIID string            `json:"admin_graphql_api_id"`
	OrderID           int64             `json:"order_id"`
	CreatedAt         string            `json:"created_at"`
	ProcessedAt       string            `json:"processed_at"`
	Note              *string           `json:"note"`
	Restock           bool              `json:"restock"`
	UserID            *int64            `json:"user_id"`
	RefundLineItems   []restRefundLine  `json:"refund_line_items"`
	Transactions      []restTransaction `json:"transactions"`
	OrderAdjustments  []struct{}        `json:"order_adjustments"`
	Duties            []struct{}        `json:"duties"`
}

type restOrder struct {
	ID                int64             `json:"id"`
	AdminGraphqlAPIID string            `json:"admin_graphql_api_id"`
	Name              string            `json:"name"`
	Email             *string           `json:"email"`
	CreatedAt         string            `json:"created_at"`
	UpdatedAt         string            `json:"updated_at"`
	ProcessedAt       string            `json:"processed_at"`
	ClosedAt          *string           `json:"closed_at"`
	CancelledAt       *string           `json:"cancelled_at"`
	Currency          string            `json:"currency"`
	FinancialStatus   string            `json:"financial_status"`
	FulfillmentStatus *string           `json:"fulfillment_status"`
	SourceName        string            `json:"source_name"`
	TotalPrice        string            `json:"total_price"`
	CurrentTotalPrice string            `json:"current_total_price"`
	SubtotalPrice     string            `json:"subtotal_price"`
	Customer          *restCustomer     `json:"customer"`
	ShippingAddress   *restAddress      `json:"shipping_address"`
	LineItems         []restLineItem    `json:"line_items"`
	Fulfillments      []restFulfillment `json:"fulfillments"`
	Refunds           []restRefund      `json:"refunds"`
}

func num(id string) int64 {
	n, _ := strconv.ParseInt(id, 10, 64)
	return n
}

// restTime is how Shopify's REST payloads write times: ISO 8601 with the shop's offset.
func restTime(t time.Time) string { return t.UTC().Format("2006-01-02T15:04:05-07:00") }

func restTimep(t *time.Time) *string {
	if t == nil {
		return nil
	}
	s := restTime(*t)
	return &s
}

func (l *lineItem) rest() restLineItem {
	r := restLineItem{
		ID: num(l.id), AdminGraphqlAPIID: string(l.ID()), SKU: l.sku, Title: l.title, Name: l.title,
		Quantity: l.quantity, CurrentQuantity: l.current, FulfillableQuantity: max(0, l.current-l.fulfilled),
		GiftCard: l.giftCard, RequiresShipping: !l.noShipping,
		Price: money.FormatDecimal(l.unitMinor, l.currency), PriceSet: moneySet(l.unitMinor, l.currency),
		TotalDiscount: money.FormatDecimal(0, l.currency), DiscountAllocations: []struct{}{},
	}
	if l.fulfilled > 0 {
		s := "fulfilled"
		if l.fulfilled < l.current {
			s = "partial"
		}
		r.FulfillmentStatus = &s
	}
	return r
}

func (o *order) rest() restOrder {
	r := restOrder{
		ID: num(o.src.ID), AdminGraphqlAPIID: string(o.ID()), Name: o.src.Name, Email: o.Email(),
		CreatedAt: restTime(o.src.CreatedAt), UpdatedAt: restTime(o.updatedAt), ProcessedAt: restTime(o.src.CreatedAt),
		Currency: o.src.Currency, FinancialStatus: strings.ToLower(o.financialStatus), SourceName: o.sourceName,
		TotalPrice:        money.FormatDecimal(o.src.TotalMinor(), o.src.Currency),
		CurrentTotalPrice: money.FormatDecimal(o.src.TotalMinor()-o.refundedMinor(), o.src.Currency),
		SubtotalPrice:     money.FormatDecimal(o.src.TotalMinor(), o.src.Currency),
		LineItems:         []restLineItem{}, Fulfillments: []restFulfillment{}, Refunds: []restRefund{},
	}
	if c := o.ClosedAt(); c != nil {
		r.ClosedAt = restTimep(&c.Time)
	}
	r.CancelledAt = restTimep(o.cancelledAt)
	switch o.src.FulfillmentStatus {
	case "FULFILLED":
		s := "fulfilled"
		r.FulfillmentStatus = &s
	case "PARTIALLY_FULFILLED":
		s := "partial"
		r.FulfillmentStatus = &s
	}
	if o.customer != nil {
		r.Customer = &restCustomer{ID: num(o.customer.ID), AdminGraphqlAPIID: "gid://shopify/Customer/" + o.customer.ID,
			Email: o.customer.Email, FirstName: o.customer.FirstName, LastName: o.customer.LastName}
	}
	if a := o.address; a != nil {
		first, last, _ := strings.Cut(a.Name, " ")
		r.ShippingAddress = &restAddress{FirstName: first, LastName: last, Name: a.Name, Address1: a.Address1,
			Address2: strp(a.Address2), City: a.City, Province: a.Province, ProvinceCode: a.ProvinceCode, Zip: a.Zip,
			Country: a.Country, CountryCode: a.CountryCode, Phone: a.Phone}
	}
	for _, l := range o.lines {
		r.LineItems = append(r.LineItems, l.rest())
	}
	for _, f := range o.fulfills {
		rf := restFulfillment{ID: num(f.id), AdminGraphqlAPIID: string(f.ID()), OrderID: r.ID, Name: f.name,
			Status: strings.ToLower(f.status), CreatedAt: restTime(f.createdAt), UpdatedAt: restTime(f.UpdatedAt().Time),
			LocationID: num(f.location.id)}
		switch {
		case f.deliveredAt != nil:
			s := "delivered"
			rf.ShipmentStatus = &s
		case f.inTransitAt != nil:
			s := "in_transit"
			rf.ShipmentStatus = &s
		}
		for _, fli := range f.lines {
			rf.LineItems = append(rf.LineItems, restFulfillmentLine{restLineItem: fli.line.rest(), FulfilledQuantity: fli.quantity})
		}
		r.Fulfillments = append(r.Fulfillments, rf)
	}
	for _, rf := range o.refunds {
		r.Refunds = append(r.Refunds, rf.rest(o))
	}
	return r
}

func (rf *refund) rest(o *order) restRefund {
	r := restRefund{ID: num(rf.id), AdminGraphqlAPIID: string(rf.ID()), OrderID: num(o.src.ID),
		CreatedAt: restTime(rf.createdAt), ProcessedAt: restTime(rf.createdAt), Note: strp(rf.note),
		RefundLineItems: []restRefundLine{}, Transactions: []restTransaction{}, OrderAdjustments: []struct{}{}, Duties: []struct{}{}}
	for _, l := range rf.lines {
		sub := l.line.unitMinor * int64(l.quantity)
		r.RefundLineItems = append(r.RefundLineItems, restRefundLine{ID: num(l.id), LineItemID: num(l.line.id), Quantity: l.quantity,
			RestockType: strings.ToLower(l.restockType), Subtotal: json.Number(money.FormatDecimal(sub, rf.currency)),
			TotalTax: json.Number("0.0"), SubtotalSet: moneySet(sub, rf.currency), LineItem: l.line.rest()})
		if l.restockType != "NO_RESTOCK" {
			r.Restock = true
		}
	}
	for _, tx := range rf.transactions {
		r.Transactions = append(r.Transactions, restTransaction{ID: num(tx.id), AdminGraphqlAPIID: "gid://shopify/OrderTransaction/" + tx.id,
			OrderID: num(o.src.ID), Kind: tx.kind, Gateway: tx.gateway, Status: "success",
			Amount: money.FormatDecimal(tx.amount, rf.currency), Currency: rf.currency,
			CreatedAt: restTime(tx.created), ProcessedAt: restTime(tx.created)})
	}
	return r
}

// orderUpdated is the orders/updated delivery for o as it is now; the caller holds the lock.
func (st *store) orderUpdated(o *order) webhook {
	body, _ := json.Marshal(o.rest())
	return webhook{topic: TopicOrdersUpdated, body: body, at: st.now()}
}

// refundCreated is the refunds/create delivery for rf; the caller holds the lock.
func (st *store) refundCreated(o *order, rf *refund) webhook {
	body, _ := json.Marshal(rf.rest(o))
	return webhook{topic: TopicRefundsCreate, body: body, at: st.now()}
}
