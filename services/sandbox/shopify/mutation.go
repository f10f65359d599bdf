package shopify

import (
	"context"
	"encoding/json"
	"fmt"
	"strconv"

	"github.com/graph-gophers/graphql-go"

	"github.com/retailbridge/retailbridge/pkg/money"
)

// The mutations the sandbox serves: returnCreate, returnClose and refundCreate. They run under
// the store's write lock and change the shop the way Shopify would: GetOrder afterwards shows the
// returned and refunded quantities and the new financial status, and the changes are announced
// to the webhook subscription after the mutation commits.

// mutationCost is what Shopify charges a mutation field, whatever it selects.
const mutationCost = 10

// idempotencyRequiredFrom is the first API version in which refundCreate must carry @idempotent.
const idempotencyRequiredFrom = "2026-04"

// mutationsRequiringKey are the served mutations that take @idempotent.
var mutationsRequiringKey = map[string]bool{"refundCreate": true, "inventorySetQuantities": true}

// idempotentRun is what one @idempotent key did: a repeat with the same input returns it.
type idempotentRun struct {
	mutation    string
	fingerprint string
	order       *order
	refund      *refund
	group       *adjustmentGroup
}

// call is what serveGraphQL tells the resolvers about the request, and what they leave for it.
type call struct {
	keys   map[string]string // @idempotent key by mutation field name
	outbox []webhook         // deliveries the mutation caused, sent once it has committed
}

type callKey struct{}

func withCall(ctx context.Context, c *call) context.Context {
	return context.WithValue(ctx, callKey{}, c)
}

func callFrom(ctx context.Context) *call {
	if c, ok := ctx.Value(callKey{}).(*call); ok {
		return c
	}
	return &call{}
}

// moneyInput is Shopify's Money input scalar: a decimal string.
type moneyInput string

func (moneyInput) ImplementsGraphQLType(name string) bool { return name == "Money" }

func (m *moneyInput) UnmarshalGraphQL(input any) error {
	switch v := input.(type) {
	case string:
		*m = moneyInput(v)
	case json.Number:
		*m = moneyInput(v.String())
	case int, int32, int64:
		*m = moneyInput(fmt.Sprint(v))
	case float64:
		*m = moneyInput(strconv.FormatFloat(v, 'f', -1, 64))
	default:
		return fmt.Errorf("Money must be a decimal string, got %T", input)
	}
	return nil
}

// userError is a mutation's user error (ReturnUserError, RefundUserError).
type userError struct {
	code    string
	field   []string
	message string
}

func (e *userError) Code() *string { return strp(e.code) }
func (e *userError) Field() *[]string {
	if e.field == nil {
		return nil
	}
	return &e.field
}
func (e *userError) Message() string { return e.message }

func fail(code, message string, field ...string) []*userError {
	return []*userError{{code: code, field: field, message: message}}
}

// returnPayload is ReturnCreatePayload and ReturnClosePayload.
type returnPayload struct {
	ret    *orderReturn
	errors []*userError
}

func (p *returnPayload) Return() *orderReturn     { return p.ret }
func (p *returnPayload) UserErrors() []*userError { return orEmpty(p.errors) }

func orEmpty(errs []*userError) []*userError {
	if errs == nil {
		return []*userError{}
	}
	return errs
}

type returnInput struct {
	OrderID         graphql.ID
	ReturnLineItems []returnLineItemInput
	NotifyCustomer  bool
	RequestedAt     *dateTime
}

type returnLineItemInput struct {
	FulfillmentLineItemID    graphql.ID
	Quantity                 int32
	ReturnReason             *string
	ReturnReasonDefinitionID *graphql.ID
	ReturnReasonNote         string
}

// newID is the next id for an object a mutation creates; the caller holds the write lock.
func (st *store) newID() string {
	st.nextID++
	return strconv.FormatInt(st.nextID, 10)
}

// returned is how many units of fli are on returns that count (not declined or cancelled).
func (o *order) returned(fli *fulfillmentLineItem) int {
	n := 0
	for _, r := range o.returns {
		if r.status == "DECLINED" || r.status == "CANCELED" {
			continue
		}
		for _, l := range r.lines {
			if l.fli == fli {
				n += l.quantity
			}
		}
	}
	return n
}

func (o *order) fulfillmentLineItem(id string) *fulfillmentLineItem {
	for _, f := range o.fulfills {
		if f.status != "SUCCESS" {
			continue
		}
		for _, fli := range f.lines {
			if fli.id == id {
				return fli
			}
		}
	}
	return nil
}

func (r *rootResolver) ReturnCreate(ctx context.Context, args struct{ ReturnInput returnInput }) *returnPayload {
	st, in := r.st, args.ReturnInput
	orderID, err := parseGID("Order", in.OrderID)
	o := st.byID[orderID]
	if err != nil || o == nil {
		return &returnPayload{errors: fail("NOT_FOUND", "Order does not exist.", "returnInput", "orderId")}
	}
	if len(in.ReturnLineItems) == 0 {
		return &returnPayload{errors: fail("BLANK", "Return line items can't be blank.", "returnInput", "returnLineItems")}
	}
	now := st.now()
	ret := &orderReturn{status: "OPEN", createdAt: now, order: o}
	taken := map[*fulfillmentLineItem]int{}
	for i, li := range in.ReturnLineItems {
		field := []string{"returnInput", "returnLineItems", strconv.Itoa(i)}
		fliID, err := parseGID("FulfillmentLineItem", li.FulfillmentLineItemID)
		fli := o.fulfillmentLineItem(fliID)
		if err != nil || fli == nil {
			return &returnPayload{errors: fail("NOT_FOUND", "Fulfillment line item does not exist on the order.", append(field, "fulfillmentLineItemId")...)}
		}
		q := int(li.Quantity)
		if q < 1 {
			return &returnPayload{errors: fail("INVALID", "Quantity must be at least 1.", append(field, "quantity")...)}
		}
		if left := fli.quantity - o.returned(fli) - taken[fli]; q > left {
			return &returnPayload{errors: fail("GREATER_THAN",
				fmt.Sprintf("Quantity %d is greater than the %d units that can be returned.", q, left), append(field, "quantity")...)}
		}
		taken[fli] += q
		line := &returnLineItem{fli: fli, quantity: q, reason: "UNKNOWN"}
		switch {
		case li.ReturnReasonDefinitionID != nil:
			d := reasonByID(*li.ReturnReasonDefinitionID)
			if d == nil {
				return &returnPayload{errors: fail("NOT_FOUND", "Return reason definition does not exist.", append(field, "returnReasonDefinitionId")...)}
			}
			line.reason = d.handle
		case li.ReturnReason != nil:
			line.reason = *li.ReturnReason
		}
		line.reasonNote = li.ReturnReasonNote
		ret.lines = append(ret.lines, line)
	}
	ret.id = st.newID()
	ret.name = fmt.Sprintf("%s-R%d", o.src.Name, len(o.returns)+1)
	for _, l := range ret.lines {
		l.id = st.newID()
	}
	o.returns = append(o.returns, ret)
	st.returns[ret.id] = ret
	o.updatedAt = st.notBefore(o, now)
	c := callFrom(ctx)
	c.outbox = append(c.outbox, st.orderUpdated(o))
	return &returnPayload{ret: ret}
}

func (r *rootResolver) ReturnClose(ctx context.Context, args struct{ ID graphql.ID }) *returnPayload {
	st := r.st
	id, err := parseGID("Return", args.ID)
	ret := st.returns[id]
	if err != nil || ret == nil {
		return &returnPayload{errors: fail("NOT_FOUND", "Return does not exist.", "id")}
	}
	if ret.status != "OPEN" {
		return &returnPayload{errors: fail("INVALID_STATE", "Return is not open.", "id")}
	}
	now := st.now()
	ret.status, ret.closedAt = "CLOSED", &now
	ret.order.updatedAt = st.notBefore(ret.order, now)
	c := callFrom(ctx)
	c.outbox = append(c.outbox, st.orderUpdated(ret.order))
	return &returnPayload{ret: ret}
}

type refundInput struct {
	OrderID         graphql.ID
	Note            *string
	Notify          *bool
	Currency        *string
	RefundLineItems *[]refundLineItemInput
	Transactions    *[]transactionInput
}

type refundLineItemInput struct {
	LineItemID  graphql.ID
	Quantity    int32
	RestockType string
	LocationID  *graphql.ID
}

type transactionInput struct {
	Amount   moneyInput
	Gateway  string
	Kind     string
	OrderID  graphql.ID
	ParentID *graphql.ID
}

// refundPayload is RefundCreatePayload.
type refundPayload struct {
	order  *order
	refund *refund
	errors []*userError
}

func (p *refundPayload) Order() *order            { return p.order }
func (p *refundPayload) Refund() *refund          { return p.refund }
func (p *refundPayload) UserErrors() []*userError { return orEmpty(p.errors) }

// codedError is a top-level GraphQL error with extensions.code. refundCreate's user errors are
// Shopify's generic UserError, which has no code, so an idempotency conflict is reported here.
type codedError struct{ code, message string }

func (e *codedError) Error() string { return e.message }
func (e *codedError) Extensions() map[string]interface{} {
	return map[string]interface{}{"code": e.code}
}

func (r *rootResolver) RefundCreate(ctx context.Context, args struct{ Input refundInput }) (*refundPayload, error) {
	st, in := r.st, args.Input
	c := callFrom(ctx)
	key := c.keys["refundCreate"]
	fp, _ := json.Marshal(in)
	if prev, seen := st.idempotent.Get(key); key != "" && seen {
		if prev.mutation != "refundCreate" || prev.fingerprint != string(fp) {
			return nil, &codedError{"IDEMPOTENCY_KEY_PARAMETER_MISMATCH",
				"The same idempotency key cannot be used with different operation parameters."}
		}
		return &refundPayload{order: prev.order, refund: prev.refund}, nil // the first result; nothing happens again
	}
	return st.refundCreate(c, in, key, string(fp)), nil
}

// refundCreate records the refund, or says why not; the caller holds the write lock.
func (st *store) refundCreate(c *call, in refundInput, key, fp string) *refundPayload {

	orderID, err := parseGID("Order", in.OrderID)
	o := st.byID[orderID]
	if err != nil || o == nil {
		return &refundPayload{errors: fail("NOT_FOUND", "Order does not exist.", "input", "orderId")}
	}
	if in.Currency != nil && *in.Currency != o.src.Currency {
		return &refundPayload{errors: fail("INVALID", "The currency must be the order's, "+o.src.Currency+".", "input", "currency")}
	}
	now := st.now()
	rf := &refund{createdAt: now, currency: o.src.Currency, transactions: []*transaction{}}
	if in.Note != nil {
		rf.note = *in.Note
	}
	taken := map[*lineItem]int{}
	if in.RefundLineItems != nil {
		for i, li := range *in.RefundLineItems {
			field := []string{"input", "refundLineItems", strconv.Itoa(i)}
			lineID, err := parseGID("LineItem", li.LineItemID)
			var line *lineItem
			for _, l := range o.lines {
				if l.id == lineID {
					line = l
				}
			}
			if err != nil || line == nil {
				return &refundPayload{errors: fail("NOT_FOUND", "Line item does not exist on the order.", append(field, "lineItemId")...)}
			}
			q := int(li.Quantity)
			if q < 1 {
				return &refundPayload{errors: fail("INVALID", "Quantity must be at least 1.", append(field, "quantity")...)}
			}
			if left := line.quantity - line.refunded - taken[line]; q > left {
				return &refundPayload{errors: fail("GREATER_THAN",
					fmt.Sprintf("Quantity %d is greater than the %d refundable units.", q, left), append(field, "quantity")...)}
			}
			taken[line] += q
			rf.lines = append(rf.lines, &refundLineItem{line: line, quantity: q, restockType: li.RestockType})
		}
	}
	var total int64
	if in.Transactions != nil {
		for i, tx := range *in.Transactions {
			field := []string{"input", "transactions", strconv.Itoa(i)}
			if tx.Kind != "REFUND" {
				return &refundPayload{errors: fail("INVALID", "Only REFUND transactions can be created with a refund.", append(field, "kind")...)}
			}
			if id, err := parseGID("Order", tx.OrderID); err != nil || id != o.src.ID {
				return &refundPayload{errors: fail("INVALID", "The transaction belongs to another order.", append(field, "orderId")...)}
			}
			amt, err := money.ParseDecimal(string(tx.Amount), o.src.Currency)
			if err != nil || amt <= 0 {
				return &refundPayload{errors: fail("INVALID", "Amount must be a positive amount.", append(field, "amount")...)}
			}
			total += amt
			rf.transactions = append(rf.transactions, &transaction{kind: "refund", gateway: tx.Gateway, amount: amt, created: now})
		}
	}
	if left := o.src.TotalMinor() - o.refundedMinor(); total > left {
		return &refundPayload{errors: fail("GREATER_THAN",
			fmt.Sprintf("Refund amount %s is greater than the %s that can be refunded.",
				money.FormatDecimal(total, o.src.Currency), money.FormatDecimal(left, o.src.Currency)), "input", "transactions")}
	}

	rf.id = st.newID()
	for _, l := range rf.lines {
		l.id = st.newID()
		l.line.refunded += l.quantity
		l.line.current -= l.quantity
	}
	for _, tx := range rf.transactions {
		tx.id = st.newID()
	}
	o.refunds = append(o.refunds, rf)
	switch refunded := o.refundedMinor(); {
	case refunded >= o.src.TotalMinor():
		o.financialStatus = "REFUNDED"
	case refunded > 0:
		o.financialStatus = "PARTIALLY_REFUNDED"
	}
	o.updatedAt = st.notBefore(o, now)
	if key != "" {
		st.idempotent.Put(key, idempotentRun{mutation: "refundCreate", fingerprint: fp, order: o, refund: rf})
	}
	c.outbox = append(c.outbox, st.refundCreated(o, rf), st.orderUpdated(o))
	return &refundPayload{order: o, refund: rf}
}
