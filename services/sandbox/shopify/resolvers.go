package shopify

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"
	"time"

	"github.com/graph-gophers/graphql-go"

	"github.com/retailbridge/retailbridge/pkg/money"
	"github.com/retailbridge/retailbridge/services/sandbox/demo"
)

// Resolvers are methods on the store's own types; graph-gophers matches them to schema fields by
// name. Nullable fields return pointers.

func gid(kind, id string) graphql.ID { return graphql.ID("gid://shopify/" + kind + "/" + id) }

// parseGID returns the numeric tail of gid://shopify/<kind>/<n>.
func parseGID(kind string, id graphql.ID) (string, error) {
	tail, ok := strings.CutPrefix(string(id), "gid://shopify/"+kind+"/")
	if !ok || tail == "" || strings.Trim(tail, "0123456789") != "" {
		return "", fmt.Errorf("Invalid global id '%s'", string(id))
	}
	return tail, nil
}

// dateTime is Shopify's DateTime scalar.
type dateTime struct{ time.Time }

func (dateTime) ImplementsGraphQLType(name string) bool { return name == "DateTime" }

func (t *dateTime) UnmarshalGraphQL(input any) error {
	s, ok := input.(string)
	if !ok {
		return fmt.Errorf("DateTime must be a string, got %T", input)
	}
	v, err := time.Parse(time.RFC3339, s)
	t.Time = v
	return err
}

func (t dateTime) MarshalJSON() ([]byte, error) {
	return json.Marshal(t.UTC().Format(time.RFC3339))
}

func dt(t time.Time) dateTime { return dateTime{t} }

func dtp(t *time.Time) *dateTime {
	if t == nil {
		return nil
	}
	v := dateTime{*t}
	return &v
}

// decimal is Shopify's Decimal scalar, serialised as a string.
type decimal string

func (decimal) ImplementsGraphQLType(name string) bool { return name == "Decimal" }

func (d *decimal) UnmarshalGraphQL(input any) error {
	s, ok := input.(string)
	if !ok {
		return fmt.Errorf("Decimal must be a string, got %T", input)
	}
	*d = decimal(s)
	return nil
}

func (d decimal) MarshalJSON() ([]byte, error) { return json.Marshal(string(d)) }

func strp(s string) *string {
	if s == "" {
		return nil
	}
	return &s
}

// rootResolver answers QueryRoot.
type rootResolver struct {
	st   *store
	bulk *bulkOps
}

func (r *rootResolver) Order(args struct{ ID graphql.ID }) (*order, error) {
	id, err := parseGID("Order", args.ID)
	if err != nil {
		return nil, err
	}
	return r.st.byID[id], nil // unknown ids resolve to null, as on Shopify
}

type ordersArgs struct {
	First   *int32
	After   *string
	Last    *int32
	Before  *string
	Reverse bool
	SortKey string
	Query   *string
}

func (r *rootResolver) Orders(ctx context.Context, args ordersArgs) (*connection[*order], error) {
	q := ""
	if args.Query != nil {
		q = *args.Query
	}
	list := r.st.search(q, args.SortKey)
	return paginateIn(ctx, list, func(o *order) string { return o.src.ID },
		pageArgs{First: args.First, After: args.After, Last: args.Last, Before: args.Before, Reverse: args.Reverse})
}

func (r *rootResolver) Shop() *shopResolver { return &shopResolver{} }

func (r *rootResolver) Return(args struct{ ID graphql.ID }) (*orderReturn, error) {
	id, err := parseGID("Return", args.ID)
	if err != nil {
		return nil, err
	}
	return r.st.returns[id], nil
}

type shopResolver struct{}

func (*shopResolver) ID() graphql.ID          { return gid("Shop", "1") }
func (*shopResolver) Name() string            { return "Retailbridge Demo" }
func (*shopResolver) MyshopifyDomain() string { return "retailbridge-demo.myshopify.com" }
func (*shopResolver) CurrencyCode() string    { return "USD" }

// moneyBag is Shopify's MoneyBag; the demo shop sells in one currency, so both sides agree.
type moneyBag struct {
	minor    int64
	currency string
}

func (m *moneyBag) ShopMoney() *moneyV2        { return &moneyV2{m.minor, m.currency} }
func (m *moneyBag) PresentmentMoney() *moneyV2 { return &moneyV2{m.minor, m.currency} }

type moneyV2 struct {
	minor    int64
	currency string
}

func (m *moneyV2) Amount() decimal      { return decimal(money.FormatDecimal(m.minor, m.currency)) }
func (m *moneyV2) CurrencyCode() string { return m.currency }

func (o *order) ID() graphql.ID         { return gid("Order", o.src.ID) }
func (o *order) Name() string           { return o.src.Name }
func (o *order) CreatedAt() dateTime    { return dt(o.src.CreatedAt) }
func (o *order) UpdatedAt() dateTime    { return dt(o.updatedAt) }
func (o *order) ProcessedAt() dateTime  { return dt(o.src.CreatedAt) }
func (o *order) CancelledAt() *dateTime { return dtp(o.cancelledAt) }
func (o *order) SourceName() *string    { return strp(o.sourceName) }
func (o *order) CurrencyCode() string   { return o.src.Currency }
func (o *order) DisplayFinancialStatus() *string {
	return strp(o.financialStatus)
}
func (o *order) DisplayFulfillmentStatus() string { return o.src.FulfillmentStatus }

func (o *order) ClosedAt() *dateTime {
	if o.src.DeliveredAt == nil || o.financialStatus == "PENDING" {
		return nil
	}
	return dtp(o.src.DeliveredAt)
}

func (o *order) Email() *string {
	if o.customer == nil {
		return nil
	}
	return strp(o.customer.Email)
}

func (o *order) Customer() *customer {
	if o.customer == nil {
		return nil
	}
	return &customer{o.customer.ID, o.customer.Email, o.customer.FirstName, o.customer.LastName}
}

func (o *order) refundedMinor() int64 {
	var t int64
	for _, r := range o.refunds {
		t += r.totalMinor()
	}
	return t
}

func (o *order) TotalPriceSet() *moneyBag { return &moneyBag{o.src.TotalMinor(), o.src.Currency} }
func (o *order) SubtotalPriceSet() *moneyBag {
	return &moneyBag{o.src.TotalMinor(), o.src.Currency}
}
func (o *order) TotalRefundedSet() *moneyBag { return &moneyBag{o.refundedMinor(), o.src.Currency} }
func (o *order) CurrentTotalPriceSet() *moneyBag {
	return &moneyBag{o.src.TotalMinor() - o.refundedMinor(), o.src.Currency}
}

func (o *order) ShippingAddress() *mailingAddress {
	if o.address == nil {
		return nil
	}
	return &mailingAddress{a: *o.address, id: o.src.ID}
}

func (o *order) LineItems(ctx context.Context, args pageArgs) (*connection[*lineItem], error) {
	return paginateIn(ctx, o.lines, func(l *lineItem) string { return l.id }, args)
}

type listArgs struct{ First *int32 }

func firstN[T any](items []T, first *int32) []T {
	if first != nil && int(*first) >= 0 && int(*first) < len(items) {
		return items[:*first]
	}
	return items
}

// Transactions are the order's payment: one successful sale through the demo card gateway,
// whose paymentId is the gateway's payment intent (the Stripe sandbox's intent for the order).
// Refund transactions are reported on refunds, not here.
func (o *order) Transactions(args listArgs) []*orderTransaction {
	sale := &orderTransaction{id: o.src.ID, kind: "SALE", status: "SUCCESS", gateway: demo.CardGateway,
		paymentID: o.src.PaymentIntentID(), amount: moneyBag{o.src.TotalMinor(), o.src.Currency}}
	return firstN([]*orderTransaction{sale}, args.First)
}

// orderTransaction is OrderTransaction.
type orderTransaction struct {
	id, kind, status, gateway, paymentID string
	amount                               moneyBag
}

func (t *orderTransaction) ID() graphql.ID       { return gid("OrderTransaction", t.id) }
func (t *orderTransaction) Kind() string         { return t.kind }
func (t *orderTransaction) Status() string       { return t.status }
func (t *orderTransaction) Gateway() *string     { return strp(t.gateway) }
func (t *orderTransaction) PaymentId() *string   { return strp(t.paymentID) }
func (t *orderTransaction) AmountSet() *moneyBag { return &t.amount }

func (o *order) Fulfillments(args listArgs) []*fulfillment { return firstN(o.fulfills, args.First) }
func (o *order) Refunds(args listArgs) []*refund           { return firstN(o.refunds, args.First) }

type fulfillmentOrdersArgs struct {
	First       *int32
	After       *string
	Last        *int32
	Before      *string
	Reverse     bool
	Displayable bool
}

func (o *order) FulfillmentOrders(args fulfillmentOrdersArgs) (*connection[*fulfillmentOrder], error) {
	return paginate(o.fOrders, func(f *fulfillmentOrder) string { return f.id },
		pageArgs{First: args.First, After: args.After, Last: args.Last, Before: args.Before, Reverse: args.Reverse})
}

func (o *order) Returns(args pageArgs) (*connection[*orderReturn], error) {
	return paginate(o.returns, func(r *orderReturn) string { return r.id }, args)
}

type customer struct{ id, email, first, last string }

func (c *customer) ID() graphql.ID { return gid("Customer", c.id) }
func (c *customer) Email() *string { return strp(c.email) }

func (c *customer) DefaultEmailAddress() *customerEmail {
	if c.email == "" {
		return nil
	}
	return &customerEmail{c.email}
}

// customerEmail is CustomerEmailAddress.
type customerEmail struct{ address string }

func (e *customerEmail) EmailAddress() string { return e.address }
func (c *customer) FirstName() *string        { return strp(c.first) }
func (c *customer) LastName() *string         { return strp(c.last) }
func (c *customer) DisplayName() string       { return strings.TrimSpace(c.first + " " + c.last) }

type mailingAddress struct {
	a  MailingAddress
	id string
}

func (m *mailingAddress) ID() graphql.ID {
	return graphql.ID("gid://shopify/MailingAddress/" + m.id + "?model_name=Address")
}
func (m *mailingAddress) Name() *string { return strp(m.a.Name) }
func (m *mailingAddress) FirstName() *string {
	first, _, _ := strings.Cut(m.a.Name, " ")
	return strp(first)
}
func (m *mailingAddress) LastName() *string {
	_, last, _ := strings.Cut(m.a.Name, " ")
	return strp(last)
}
func (m *mailingAddress) Address1() *string      { return strp(m.a.Address1) }
func (m *mailingAddress) Address2() *string      { return strp(m.a.Address2) }
func (m *mailingAddress) City() *string          { return strp(m.a.City) }
func (m *mailingAddress) Province() *string      { return strp(m.a.Province) }
func (m *mailingAddress) ProvinceCode() *string  { return strp(m.a.ProvinceCode) }
func (m *mailingAddress) Zip() *string           { return strp(m.a.Zip) }
func (m *mailingAddress) Country() *string       { return strp(m.a.Country) }
func (m *mailingAddress) CountryCodeV2() *string { return strp(m.a.CountryCode) }
func (m *mailingAddress) Phone() *string         { return strp(m.a.Phone) }

func (l *location) ID() graphql.ID { return gid("Location", l.id) }
func (l *location) Name() string   { return l.name }
func (l *location) IsActive() bool { return true }

func (l *lineItem) ID() graphql.ID         { return gid("LineItem", l.id) }
func (l *lineItem) Sku() *string           { return strp(l.sku) }
func (l *lineItem) Title() string          { return l.title }
func (l *lineItem) Name() string           { return l.title }
func (l *lineItem) Quantity() int32        { return int32(l.quantity) }
func (l *lineItem) CurrentQuantity() int32 { return int32(l.current) }
func (l *lineItem) IsGiftCard() bool       { return l.giftCard }
func (l *lineItem) RequiresShipping() bool { return !l.noShipping }
func (l *lineItem) UnfulfilledQuantity() int32 {
	return int32(max(0, l.current-l.fulfilled))
}
func (l *lineItem) RefundableQuantity() int32 { return int32(l.quantity - l.refunded) }
func (l *lineItem) OriginalUnitPriceSet() *moneyBag {
	return &moneyBag{l.unitMinor, l.currency}
}
func (l *lineItem) DiscountedUnitPriceSet() *moneyBag {
	return &moneyBag{l.unitMinor, l.currency}
}
func (l *lineItem) OriginalTotalSet() *moneyBag {
	return &moneyBag{l.unitMinor * int64(l.quantity), l.currency}
}

func (f *fulfillment) ID() graphql.ID                 { return gid("Fulfillment", f.id) }
func (f *fulfillment) Name() string                   { return f.name }
func (f *fulfillment) Status() string                 { return f.status }
func (f *fulfillment) DisplayStatus() *string         { return strp(f.displayStatus) }
func (f *fulfillment) CreatedAt() dateTime            { return dt(f.createdAt) }
func (f *fulfillment) InTransitAt() *dateTime         { return dtp(f.inTransitAt) }
func (f *fulfillment) DeliveredAt() *dateTime         { return dtp(f.deliveredAt) }
func (f *fulfillment) EstimatedDeliveryAt() *dateTime { return nil }
func (f *fulfillment) Location() *location            { return f.location }
func (f *fulfillment) UpdatedAt() dateTime {
	if f.deliveredAt != nil {
		return dt(*f.deliveredAt)
	}
	return dt(f.createdAt)
}
func (f *fulfillment) FulfillmentLineItems(args pageArgs) (*connection[*fulfillmentLineItem], error) {
	return paginate(f.lines, func(l *fulfillmentLineItem) string { return l.id }, args)
}

func (f *fulfillmentLineItem) ID() graphql.ID      { return gid("FulfillmentLineItem", f.id) }
func (f *fulfillmentLineItem) LineItem() *lineItem { return f.line }
func (f *fulfillmentLineItem) Quantity() *int32 {
	q := int32(f.quantity)
	return &q
}

func (f *fulfillmentOrder) ID() graphql.ID      { return gid("FulfillmentOrder", f.id) }
func (f *fulfillmentOrder) Status() string      { return f.status }
func (f *fulfillmentOrder) CreatedAt() dateTime { return dt(f.createdAt) }
func (f *fulfillmentOrder) UpdatedAt() dateTime { return dt(f.updatedAt) }
func (f *fulfillmentOrder) DeliveryMethod() *deliveryMethod {
	return &deliveryMethod{id: f.id, methodType: f.methodType}
}
func (f *fulfillmentOrder) AssignedLocation() *assignedLocation {
	return &assignedLocation{f.location}
}

type deliveryMethod struct{ id, methodType string }

func (d *deliveryMethod) ID() graphql.ID     { return gid("DeliveryMethod", d.id) }
func (d *deliveryMethod) MethodType() string { return d.methodType }

type assignedLocation struct{ loc *location }

func (a *assignedLocation) Name() string        { return a.loc.name }
func (a *assignedLocation) CountryCode() string { return "US" }
func (a *assignedLocation) Location() *location { return a.loc }

// totalMinor is what the refund returned: its transactions, or for refunds the dataset implies
// the value of the refunded units.
func (r *refund) totalMinor() int64 {
	var t int64
	if r.transactions != nil {
		for _, tx := range r.transactions {
			t += tx.amount
		}
		return t
	}
	for _, l := range r.lines {
		t += l.line.unitMinor * int64(l.quantity)
	}
	return t
}

func (r *refund) ID() graphql.ID              { return gid("Refund", r.id) }
func (r *refund) CreatedAt() *dateTime        { return dtp(&r.createdAt) }
func (r *refund) Note() *string               { return strp(r.note) }
func (r *refund) TotalRefundedSet() *moneyBag { return &moneyBag{r.totalMinor(), r.currency} }
func (r *refund) RefundLineItems(args pageArgs) (*connection[*refundLineItem], error) {
	return paginate(r.lines, func(l *refundLineItem) string { return l.id }, args)
}

func (r *refundLineItem) ID() *graphql.ID {
	id := gid("RefundLineItem", r.id)
	return &id
}
func (r *refundLineItem) LineItem() *lineItem { return r.line }
func (r *refundLineItem) Quantity() int32     { return int32(r.quantity) }
func (r *refundLineItem) RestockType() string { return r.restockType }
func (r *refundLineItem) Restocked() bool     { return r.restockType != "NO_RESTOCK" }
func (r *refundLineItem) PriceSet() *moneyBag { return &moneyBag{r.line.unitMinor, r.line.currency} }
func (r *refundLineItem) SubtotalSet() *moneyBag {
	return &moneyBag{r.line.unitMinor * int64(r.quantity), r.line.currency}
}

func (r *orderReturn) ID() graphql.ID      { return gid("Return", r.id) }
func (r *orderReturn) Name() string        { return r.name }
func (r *orderReturn) Status() string      { return r.status }
func (r *orderReturn) CreatedAt() dateTime { return dt(r.createdAt) }
func (r *orderReturn) ClosedAt() *dateTime { return dtp(r.closedAt) }
func (r *orderReturn) TotalQuantity() int32 {
	var t int
	for _, l := range r.lines {
		t += l.quantity
	}
	return int32(t)
}
func (r *orderReturn) ReturnLineItems(args pageArgs) (*connection[*returnLineItem], error) {
	return paginate(r.lines, func(l *returnLineItem) string { return l.id }, args)
}

// returnLineItem resolves the ReturnLineItemType interface; the demo data only has verified
// return line items, so ToUnverifiedReturnLineItem never matches.
func (r *returnLineItem) ID() graphql.ID           { return gid("ReturnLineItem", r.id) }
func (r *returnLineItem) Quantity() int32          { return int32(r.quantity) }
func (r *returnLineItem) CustomerNote() *string    { return nil }
func (r *returnLineItem) ReturnReasonNote() string { return r.reasonNote }
func (r *returnLineItem) ReturnReason() string {
	if d := reasonFor(r.reason); d != nil {
		return d.legacy
	}
	return "UNKNOWN"
}
func (r *returnLineItem) ReturnReasonDefinition() *reasonDefinition { return reasonFor(r.reason) }
func (r *returnLineItem) RefundableQuantity() int32 {
	return int32(r.quantity)
}
func (r *returnLineItem) RefundedQuantity() int32                         { return 0 }
func (r *returnLineItem) FulfillmentLineItem() *fulfillmentLineItem       { return r.fli }
func (r *returnLineItem) ToReturnLineItem() (*returnLineItem, bool)       { return r, true }
func (r *returnLineItem) ToUnverifiedReturnLineItem() (*unverified, bool) { return nil, false }

// unverified is UnverifiedReturnLineItem; present so the schema is complete.
type unverified struct{ returnLineItem }

func (u *unverified) UnitPrice() *moneyV2 { return &moneyV2{0, "USD"} }
