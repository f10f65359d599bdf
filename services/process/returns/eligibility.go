package returns

import (
	"strings"
	"time"

	"google.golang.org/protobuf/types/known/timestamppb"

	"github.com/retailbridge/retailbridge/pkg/money"

	canonicalv1 "github.com/retailbridge/retailbridge/pkg/gen/retailbridge/canonical/v1"
	returnsv1 "github.com/retailbridge/retailbridge/pkg/gen/retailbridge/process/returns/v1"
	erpv1 "github.com/retailbridge/retailbridge/pkg/gen/retailbridge/system/erp/v1"
)

// Policy rules named in LineEligibility.policy_rule that are not paths in the policy file.
// Window decisions name the policy path that set the window (for example
// "categories.electronics.window_days") or RuleItemWindow.
const (
	RuleUnknownLine       = "order.line_unknown"        // the order has no such line
	RuleUnknownSKU        = "erp.item_unknown"          // the ERP does not know the line's SKU
	RuleFinalSale         = "final_sale"                // final-sale items are not returnable
	RuleItemNotReturnable = "erp.item_not_returnable"   // the ERP item says returnable=false
	RuleNonReturnable     = "non_returnable_categories" // the category is listed as non-returnable
	RuleAlreadyRefunded   = "order.line_refunded"       // every purchased unit was refunded
	RuleAlreadyReturned   = "order.line_returned"       // every purchased unit was returned
	RuleNotFulfilled      = "order.line_not_fulfilled"  // no delivered unit is left to return
	RuleNotDelivered      = "order.line_not_delivered"  // shipped, but no delivery date yet
	RuleQuantity          = "order.line_returnable_quantity"
	RuleItemWindow        = "erp.item_return_window_days"
)

// Evaluate decides, for each selected line of order, whether it can be returned, until when, how
// and for how much. It is a pure function: items maps SKU to the ERP's item record (a SKU absent
// from the map is unknown to the ERP), lines selects lines and quantities (empty: every line, all
// returnable units) and now is the moment of the question. The response's order_as_of is left to
// the caller, who knows when order was read.
//
// A line gets the first reason that applies, in this order:
//
//  1. UNKNOWN_LINE: the order has no such line; nothing else can be said.
//  2. NON_RETURNABLE_CATEGORY for a SKU the ERP does not know (rule erp.item_unknown): without an
//     item record no rule can allow the return, so it is refused rather than guessed.
//  3. FINAL_SALE, then NON_RETURNABLE_CATEGORY (category listed, or the item's returnable=false).
//     These never change, so they come before anything that might (delivery, time), and final
//     sale first because it is what the customer was told at checkout.
//  4. ALREADY_REFUNDED / ALREADY_RETURNED when every purchased unit is accounted for: stating that
//     is more useful than "not delivered" for a line cancelled and refunded before shipping, or
//     "outside window" for one sent back long ago.
//  5. NOT_DELIVERED when no delivered unit is left to return or there is no delivery date yet.
//  6. OUTSIDE_WINDOW.
//  7. QUANTITY_EXCEEDS_PURCHASED: the line could be returned, just not that many units; the
//     answer carries the returnable quantity so the caller can ask again.
//
// Returnable units are fulfilled − max(returned, refunded), never below zero. max, not the sum:
// the usual life of a unit is returned then refunded, and it then counts in both quantities;
// summing would count it twice. A refund without a return (kept damaged goods) or a return not yet
// refunded still removes the unit. The cost is that a refund and a return of two different units
// count once; the return workflow re-checks against the systems of record before refunding.
func Evaluate(p *Policy, order *canonicalv1.Order, items map[string]*erpv1.Item, lines []*returnsv1.LineSelection, now time.Time) *returnsv1.CheckEligibilityResponse {
	currency := orderCurrency(order)
	byID := make(map[string]*canonicalv1.OrderLine, len(order.GetLines()))
	for _, l := range order.GetLines() {
		byID[l.GetId()] = l
	}
	if len(lines) == 0 {
		lines = make([]*returnsv1.LineSelection, 0, len(order.GetLines()))
		for _, l := range order.GetLines() {
			lines = append(lines, &returnsv1.LineSelection{OrderLineId: l.GetId()})
		}
	}
	resp := &returnsv1.CheckEligibilityResponse{OrderId: order.GetId()}
	var total int64
	for _, sel := range lines {
		le := evaluateLine(p, order, byID[sel.GetOrderLineId()], items, sel, now, currency)
		if le.Eligible {
			total += le.RefundEstimate.Refund.AmountMinor
		}
		resp.Lines = append(resp.Lines, le)
	}
	resp.RefundEstimateTotal = money.New(total, currency)
	return resp
}

// decision is the outcome of the rules for one line.
type decision struct {
	reason     returnsv1.Reason
	rule       string
	returnable int32     // units that can be returned; 0 unless the line passed every rule but quantity
	deadline   time.Time // end of the window, once the window was reached
}

func evaluateLine(p *Policy, order *canonicalv1.Order, line *canonicalv1.OrderLine, items map[string]*erpv1.Item,
	sel *returnsv1.LineSelection, now time.Time, currency string) *returnsv1.LineEligibility {
	le := &returnsv1.LineEligibility{OrderLineId: sel.GetOrderLineId(), RequestedQuantity: sel.GetQuantity()}
	var item *erpv1.Item
	if line != nil {
		le.Sku = line.GetSku()
		item = items[line.GetSku()]
	}
	d := decide(p, order, line, item, sel.GetQuantity(), now)
	le.Reason, le.PolicyRule, le.ReturnableQuantity = d.reason, d.rule, d.returnable
	if !d.deadline.IsZero() {
		le.ReturnDeadline = timestamppb.New(d.deadline)
	}
	le.Eligible = d.reason == returnsv1.Reason_REASON_UNSPECIFIED
	if !le.Eligible {
		le.RefundEstimate = &returnsv1.RefundEstimate{
			Gross: money.Zero(currency), RestockingFee: money.Zero(currency), Refund: money.Zero(currency),
		}
		return le
	}
	if le.RequestedQuantity == 0 {
		le.RequestedQuantity = d.returnable
	}
	le.Methods = p.methods(order.GetFulfillmentModel())
	le.RefundEstimate = estimate(p, category(item), line.GetUnitPrice().GetAmountMinor(), le.RequestedQuantity, currency)
	return le
}

func decide(p *Policy, order *canonicalv1.Order, line *canonicalv1.OrderLine, item *erpv1.Item, requested int32, now time.Time) decision {
	no := func(r returnsv1.Reason, rule string) decision { return decision{reason: r, rule: rule} }
	switch {
	case line == nil:
		return no(returnsv1.Reason_REASON_UNKNOWN_LINE, RuleUnknownLine)
	case item == nil:
		return no(returnsv1.Reason_REASON_NON_RETURNABLE_CATEGORY, RuleUnknownSKU)
	case item.GetFinalSale() && !p.FinalSale.Returnable:
		return no(returnsv1.Reason_REASON_FINAL_SALE, RuleFinalSale)
	case p.nonReturnable(category(item)):
		return no(returnsv1.Reason_REASON_NON_RETURNABLE_CATEGORY, RuleNonReturnable)
	case !item.GetReturnable():
		return no(returnsv1.Reason_REASON_NON_RETURNABLE_CATEGORY, RuleItemNotReturnable)
	}

	quantity := max(line.GetQuantity(), 0)
	fulfilled := min(max(line.GetFulfilledQuantity(), 0), quantity)
	refunded, returned := max(line.GetRefundedQuantity(), 0), max(line.GetReturnedQuantity(), 0)
	used := max(refunded, returned)
	switch {
	case used > 0 && used >= quantity && refunded >= returned:
		// A unit both returned and refunded is, finally, refunded.
		return no(returnsv1.Reason_REASON_ALREADY_REFUNDED, RuleAlreadyRefunded)
	case used > 0 && used >= quantity:
		return no(returnsv1.Reason_REASON_ALREADY_RETURNED, RuleAlreadyReturned)
	case fulfilled-used <= 0:
		return no(returnsv1.Reason_REASON_NOT_DELIVERED, RuleNotFulfilled)
	}
	delivered := deliveredAt(order, line)
	if delivered.IsZero() {
		return no(returnsv1.Reason_REASON_NOT_DELIVERED, RuleNotDelivered)
	}

	days, rule := p.window(item, order.GetChannel())
	d := decision{rule: rule, deadline: deadline(delivered, days, p.location())}
	if now.After(d.deadline) {
		d.reason = returnsv1.Reason_REASON_OUTSIDE_WINDOW
		return d
	}
	d.returnable = fulfilled - used
	if requested > d.returnable {
		d.reason, d.rule = returnsv1.Reason_REASON_QUANTITY_EXCEEDS_PURCHASED, RuleQuantity
	}
	return d
}

// deliveredAt is when the line's units reached the customer: the line's own delivery, else the
// order's, else, for a purchase carried out of the store, the purchase itself.
func deliveredAt(order *canonicalv1.Order, line *canonicalv1.OrderLine) time.Time {
	switch {
	case line.GetDeliveredAt() != nil:
		return line.GetDeliveredAt().AsTime()
	case order.GetDeliveredAt() != nil:
		return order.GetDeliveredAt().AsTime()
	case order.GetFulfillmentModel() == canonicalv1.FulfillmentModel_FULFILLMENT_MODEL_IN_STORE_PURCHASE && order.GetCreatedAt() != nil:
		return order.GetCreatedAt().AsTime()
	}
	return time.Time{}
}

// deadline is the last instant of the calendar day, in loc, that is days after the day of
// delivery: delivered on 1 March with 30 days, returns can start until 31 March 23:59:59.999999999.
func deadline(delivered time.Time, days int, loc *time.Location) time.Time {
	y, m, d := delivered.In(loc).Date()
	return time.Date(y, m, d+days+1, 0, 0, 0, 0, loc).Add(-time.Nanosecond)
}

// window returns the line's window in days and the rule that set it. Precedence: the item's own
// window, the category's channel override, the category's window, the default.
func (p *Policy) window(item *erpv1.Item, channel canonicalv1.Channel) (int, string) {
	if d := item.GetReturnWindowDays(); d > 0 {
		return int(d), RuleItemWindow
	}
	cat := category(item)
	if c, ok := p.Categories[cat]; ok {
		if ch, ok := channelNames[channel]; ok {
			if d, ok := c.ChannelWindowDays[ch]; ok {
				return d, "categories." + cat + ".channel_window_days." + ch
			}
		}
		if c.WindowDays > 0 {
			return c.WindowDays, "categories." + cat + ".window_days"
		}
	}
	return p.DefaultWindowDays, "default_window_days"
}

func (p *Policy) nonReturnable(cat string) bool {
	for _, c := range p.NonReturnableCategories {
		if c == cat {
			return true
		}
	}
	return false
}

// methods lists the return methods for a fulfilment model; models the policy does not list,
// and unknown ones, get ship_to_home's.
func (p *Policy) methods(model canonicalv1.FulfillmentModel) []canonicalv1.ReturnMethod {
	names, ok := p.ReturnMethods[modelNames[model]]
	if !ok {
		names = p.ReturnMethods[modelShipToHome]
	}
	out := make([]canonicalv1.ReturnMethod, 0, len(names))
	for _, n := range names {
		if m, ok := methodValues[n]; ok {
			out = append(out, m)
		}
	}
	return out
}

// estimate computes the refund for units at unitPrice. The restocking fee is per unit:
// unit price × bps / 10000 rounded down (in the customer's favour), raised to the currency's
// minimum, never above the unit price. Per unit, so splitting a return never changes its total.
func estimate(p *Policy, cat string, unitPrice int64, units int32, currency string) *returnsv1.RefundEstimate {
	unitPrice = max(unitPrice, 0)
	var fee int64
	if c, ok := p.Categories[cat]; ok && unitPrice > 0 {
		// floor(price × bps / 10000) without overflowing int64 for any price.
		fee = unitPrice/maxFeeBps*c.RestockingFeeBps + unitPrice%maxFeeBps*c.RestockingFeeBps/maxFeeBps
		fee = min(max(fee, c.RestockingFeeMinMinor[currency]), unitPrice)
	}
	gross := unitPrice * int64(units)
	fee *= int64(units)
	return &returnsv1.RefundEstimate{
		Gross:         money.New(gross, currency),
		RestockingFee: money.New(fee, currency),
		Refund:        money.New(gross-fee, currency),
	}
}

// category is the item's policy category, normalised the way the policy spells categories.
func category(item *erpv1.Item) string {
	return strings.ToLower(strings.TrimSpace(item.GetCategory()))
}

// orderCurrency is the currency every amount in an answer is expressed in.
func orderCurrency(order *canonicalv1.Order) string {
	if c := order.GetTotal().GetCurrencyCode(); c != "" {
		return strings.ToUpper(c)
	}
	for _, l := range order.GetLines() {
		if c := l.GetUnitPrice().GetCurrencyCode(); c != "" {
			return strings.ToUpper(c)
		}
	}
	return ""
}
