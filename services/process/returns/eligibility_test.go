package returns

import (
	"strings"
	"testing"
	"time"
	_ "time/tzdata" // the time zone cases must not depend on the machine's zoneinfo

	"github.com/google/go-cmp/cmp"
	"google.golang.org/protobuf/testing/protocmp"
	"google.golang.org/protobuf/types/known/timestamppb"

	"github.com/retailbridge/retailbridge/pkg/money"

	canonicalv1 "github.com/retailbridge/retailbridge/pkg/gen/retailbridge/canonical/v1"
	returnsv1 "github.com/retailbridge/retailbridge/pkg/gen/retailbridge/process/returns/v1"
	erpv1 "github.com/retailbridge/retailbridge/pkg/gen/retailbridge/system/erp/v1"
)

// testPolicyYAML is the policy the engine tests run against; it is spelled out here rather than
// read from configs/ so that the business can change the shipped policy without breaking tests.
const testPolicyYAML = `
version: test
time_zone: UTC
default_window_days: 30
final_sale: {returnable: false}
non_returnable_categories: [beauty, gift_card]
categories:
  apparel:
    window_days: 30
    channel_window_days: {point_of_sale: 14}
  electronics:
    window_days: 15
    restocking_fee_bps: 1500
    restocking_fee_min_minor: {USD: 500}
  home:
    restocking_fee_bps: 1000
return_methods:
  ship_to_home: [mail]
  pick_up_in_store: [mail, in_store]
  ship_from_store: [mail, in_store]
`

// testPolicy parses testPolicyYAML with replacements applied (old, new, …).
func testPolicy(t testing.TB, replacements ...string) *Policy {
	t.Helper()
	doc := strings.NewReplacer(replacements...).Replace(testPolicyYAML)
	p, err := ParsePolicy([]byte(doc))
	if err != nil {
		t.Fatalf("test policy: %v", err)
	}
	return p
}

// testItems is the ERP catalogue the engine tests see. ZZZ-404 is absent: unknown to the ERP.
var testItems = map[string]*erpv1.Item{
	"APP-1":     {Sku: "APP-1", Category: "apparel", Returnable: true},
	"APP-FS":    {Sku: "APP-FS", Category: "apparel", Returnable: true, FinalSale: true},
	"BTY-1":     {Sku: "BTY-1", Category: "beauty", Returnable: true},
	"BTY-FS":    {Sku: "BTY-FS", Category: "Beauty", Returnable: false, FinalSale: true},
	"GFT-1":     {Sku: "GFT-1", Category: "gift_card", Returnable: false},
	"HOM-1":     {Sku: "HOM-1", Category: "home", Returnable: true},
	"HOM-NR":    {Sku: "HOM-NR", Category: "home", Returnable: false},
	"ELC-1":     {Sku: "ELC-1", Category: "electronics", Returnable: true},
	"ELC-WATCH": {Sku: "ELC-WATCH", Category: "electronics", Returnable: true, ReturnWindowDays: 14},
	"TOY-1":     {Sku: "TOY-1", Category: "toys", Returnable: true},
}

var (
	delivered = time.Date(2026, 3, 1, 15, 0, 0, 0, time.UTC)
	// endOfMarch31 is the deadline of a 30-day window for a delivery on 1 March (UTC).
	endOfMarch31 = time.Date(2026, 3, 31, 23, 59, 59, 999999999, time.UTC)
	inWindow     = delivered.Add(10 * 24 * time.Hour)
	newYork      = mustLocation("America/New_York")
)

func mustLocation(name string) *time.Location {
	loc, err := time.LoadLocation(name)
	if err != nil {
		panic(err)
	}
	return loc
}

func day(month time.Month, d int) time.Time {
	return time.Date(2026, month, d, 23, 59, 59, 999999999, time.UTC)
}

// testOrder is a delivered web order shipped to home in USD; edit adjusts it per case.
func testOrder(lines []*canonicalv1.OrderLine, edit ...func(*canonicalv1.Order)) *canonicalv1.Order {
	o := &canonicalv1.Order{
		Id:                "5100001",
		Customer:          &canonicalv1.CustomerRef{Id: "7000001"},
		Channel:           canonicalv1.Channel_CHANNEL_WEB,
		FulfillmentModel:  canonicalv1.FulfillmentModel_FULFILLMENT_MODEL_SHIP_TO_HOME,
		FulfillmentStatus: canonicalv1.FulfillmentStatus_FULFILLMENT_STATUS_FULFILLED,
		Lines:             lines,
		Total:             money.New(0, "USD"),
		CreatedAt:         timestamppb.New(delivered.Add(-72 * time.Hour)),
		DeliveredAt:       timestamppb.New(delivered),
	}
	for _, e := range edit {
		e(o)
	}
	return o
}

// line is a fully fulfilled line; edit adjusts it.
func line(id, sku string, qty int32, unitPrice int64, edit ...func(*canonicalv1.OrderLine)) *canonicalv1.OrderLine {
	l := &canonicalv1.OrderLine{Id: id, Sku: sku, Quantity: qty, UnitPrice: money.New(unitPrice, "USD"), FulfilledQuantity: qty}
	for _, e := range edit {
		e(l)
	}
	return l
}

func sel(id string, qty int32) *returnsv1.LineSelection {
	return &returnsv1.LineSelection{OrderLineId: id, Quantity: qty}
}

var (
	mail        = []canonicalv1.ReturnMethod{canonicalv1.ReturnMethod_RETURN_METHOD_MAIL}
	mailInStore = []canonicalv1.ReturnMethod{canonicalv1.ReturnMethod_RETURN_METHOD_MAIL, canonicalv1.ReturnMethod_RETURN_METHOD_IN_STORE}
)

func estimateOf(gross, fee int64, currency string) *returnsv1.RefundEstimate {
	return &returnsv1.RefundEstimate{
		Gross: money.New(gross, currency), RestockingFee: money.New(fee, currency), Refund: money.New(gross-fee, currency),
	}
}

// yes is an eligible line in USD.
func yes(id, sku string, requested, returnable int32, deadline time.Time, rule string, methods []canonicalv1.ReturnMethod, gross, fee int64) *returnsv1.LineEligibility {
	return &returnsv1.LineEligibility{
		OrderLineId: id, Sku: sku, RequestedQuantity: requested, ReturnableQuantity: returnable, Eligible: true,
		ReturnDeadline: timestamppb.New(deadline), Methods: methods, RefundEstimate: estimateOf(gross, fee, "USD"),
		PolicyRule: rule,
	}
}

// no is an ineligible line in USD, refused before its window was looked at.
func no(id, sku string, requested int32, reason returnsv1.Reason, rule string) *returnsv1.LineEligibility {
	return &returnsv1.LineEligibility{
		OrderLineId: id, Sku: sku, RequestedQuantity: requested, Reason: reason, PolicyRule: rule,
		RefundEstimate: estimateOf(0, 0, "USD"),
	}
}

// late is a line refused because its window closed at deadline.
func late(id, sku string, requested int32, deadline time.Time, rule string) *returnsv1.LineEligibility {
	le := no(id, sku, requested, returnsv1.Reason_REASON_OUTSIDE_WINDOW, rule)
	le.ReturnDeadline = timestamppb.New(deadline)
	return le
}

// tooMany is a line refused because more units were asked for than can be returned.
func tooMany(id, sku string, requested, returnable int32, deadline time.Time) *returnsv1.LineEligibility {
	le := no(id, sku, requested, returnsv1.Reason_REASON_QUANTITY_EXCEEDS_PURCHASED, RuleQuantity)
	le.ReturnableQuantity = returnable
	le.ReturnDeadline = timestamppb.New(deadline)
	return le
}

func answer(total int64, lines ...*returnsv1.LineEligibility) *returnsv1.CheckEligibilityResponse {
	return &returnsv1.CheckEligibilityResponse{OrderId: "5100001", Lines: lines, RefundEstimateTotal: money.New(total, "USD")}
}

func TestEvaluate(t *testing.T) {
	t.Parallel()
	const apparelWindow = "categories.apparel.window_days"
	notDelivered := func(o *canonicalv1.Order) { o.DeliveredAt = nil }
	tests := []struct {
		name   string
		policy *Policy // nil: testPolicy
		order  *canonicalv1.Order
		lines  []*returnsv1.LineSelection
		now    time.Time
		want   *returnsv1.CheckEligibilityResponse
	}{
		{
			name:  "empty selection checks every line for every returnable unit",
			order: testOrder([]*canonicalv1.OrderLine{line("L1", "APP-1", 1, 2500), line("L2", "APP-1", 2, 1000)}),
			now:   inWindow,
			want: answer(4500,
				yes("L1", "APP-1", 1, 1, endOfMarch31, apparelWindow, mail, 2500, 0),
				yes("L2", "APP-1", 2, 2, endOfMarch31, apparelWindow, mail, 2000, 0)),
		},
		{
			name:  "last second of the last day of the window is inside",
			order: testOrder([]*canonicalv1.OrderLine{line("L1", "APP-1", 1, 2500)}),
			now:   time.Date(2026, 3, 31, 23, 59, 59, 0, time.UTC),
			want:  answer(2500, yes("L1", "APP-1", 1, 1, endOfMarch31, apparelWindow, mail, 2500, 0)),
		},
		{
			name:  "last instant of the window is inside",
			order: testOrder([]*canonicalv1.OrderLine{line("L1", "APP-1", 1, 2500)}),
			now:   endOfMarch31,
			want:  answer(2500, yes("L1", "APP-1", 1, 1, endOfMarch31, apparelWindow, mail, 2500, 0)),
		},
		{
			name:  "first second after the window is outside",
			order: testOrder([]*canonicalv1.OrderLine{line("L1", "APP-1", 1, 2500)}),
			now:   time.Date(2026, 4, 1, 0, 0, 0, 0, time.UTC),
			want:  answer(0, late("L1", "APP-1", 0, endOfMarch31, apparelWindow)),
		},
		{
			// 03:00 UTC on 2 March is 22:00 on 1 March in New York: the window counts from 1 March
			// and closes at midnight New York time (EDT by then), 04:00 UTC.
			name:   "time zone: an evening delivery in New York counts from the New York date",
			policy: testPolicy(t, "time_zone: UTC", "time_zone: America/New_York"),
			order: testOrder([]*canonicalv1.OrderLine{line("L1", "APP-1", 1, 2500)}, func(o *canonicalv1.Order) {
				o.DeliveredAt = timestamppb.New(time.Date(2026, 3, 2, 3, 0, 0, 0, time.UTC))
			}),
			now:  time.Date(2026, 4, 1, 4, 0, 0, 0, time.UTC),
			want: answer(0, late("L1", "APP-1", 0, time.Date(2026, 3, 31, 23, 59, 59, 999999999, newYork), apparelWindow)),
		},
		{
			name: "time zone: the same delivery counted in UTC is still inside",
			order: testOrder([]*canonicalv1.OrderLine{line("L1", "APP-1", 1, 2500)}, func(o *canonicalv1.Order) {
				o.DeliveredAt = timestamppb.New(time.Date(2026, 3, 2, 3, 0, 0, 0, time.UTC))
			}),
			now:  time.Date(2026, 4, 1, 4, 0, 0, 0, time.UTC),
			want: answer(2500, yes("L1", "APP-1", 1, 1, day(time.April, 1), apparelWindow, mail, 2500, 0)),
		},
		{
			name:  "unknown line",
			order: testOrder([]*canonicalv1.OrderLine{line("L1", "APP-1", 1, 2500)}),
			lines: []*returnsv1.LineSelection{sel("L9", 1)},
			now:   inWindow,
			want:  answer(0, no("L9", "", 1, returnsv1.Reason_REASON_UNKNOWN_LINE, RuleUnknownLine)),
		},
		{
			name:  "SKU unknown to the ERP is not returnable",
			order: testOrder([]*canonicalv1.OrderLine{line("L1", "ZZZ-404", 1, 2500)}),
			now:   inWindow,
			want:  answer(0, no("L1", "ZZZ-404", 0, returnsv1.Reason_REASON_NON_RETURNABLE_CATEGORY, RuleUnknownSKU)),
		},
		{
			name:  "final sale",
			order: testOrder([]*canonicalv1.OrderLine{line("L1", "APP-FS", 1, 2500)}),
			now:   inWindow,
			want:  answer(0, no("L1", "APP-FS", 0, returnsv1.Reason_REASON_FINAL_SALE, RuleFinalSale)),
		},
		{
			name:   "final sale returnable when the policy says so",
			policy: testPolicy(t, "final_sale: {returnable: false}", "final_sale: {returnable: true}"),
			order:  testOrder([]*canonicalv1.OrderLine{line("L1", "APP-FS", 1, 2500)}),
			now:    inWindow,
			want:   answer(2500, yes("L1", "APP-FS", 1, 1, endOfMarch31, apparelWindow, mail, 2500, 0)),
		},
		{
			name:  "non-returnable category even when the item says returnable",
			order: testOrder([]*canonicalv1.OrderLine{line("L1", "BTY-1", 1, 2500)}),
			now:   inWindow,
			want:  answer(0, no("L1", "BTY-1", 0, returnsv1.Reason_REASON_NON_RETURNABLE_CATEGORY, RuleNonReturnable)),
		},
		{
			name:  "item the ERP marks not returnable",
			order: testOrder([]*canonicalv1.OrderLine{line("L1", "HOM-NR", 1, 2500)}),
			now:   inWindow,
			want:  answer(0, no("L1", "HOM-NR", 0, returnsv1.Reason_REASON_NON_RETURNABLE_CATEGORY, RuleItemNotReturnable)),
		},
		{
			name:  "final sale comes before a non-returnable category",
			order: testOrder([]*canonicalv1.OrderLine{line("L1", "BTY-FS", 1, 2500)}),
			now:   inWindow,
			want:  answer(0, no("L1", "BTY-FS", 0, returnsv1.Reason_REASON_FINAL_SALE, RuleFinalSale)),
		},
		{
			name: "not delivered: nothing fulfilled",
			order: testOrder([]*canonicalv1.OrderLine{line("L1", "APP-1", 2, 2500, func(l *canonicalv1.OrderLine) {
				l.FulfilledQuantity = 0
			})}, notDelivered),
			now:  inWindow,
			want: answer(0, no("L1", "APP-1", 0, returnsv1.Reason_REASON_NOT_DELIVERED, RuleNotFulfilled)),
		},
		{
			name:  "not delivered: shipped but no delivery date",
			order: testOrder([]*canonicalv1.OrderLine{line("L1", "APP-1", 1, 2500)}, notDelivered),
			lines: []*returnsv1.LineSelection{sel("L1", 1)},
			now:   inWindow,
			want:  answer(0, no("L1", "APP-1", 1, returnsv1.Reason_REASON_NOT_DELIVERED, RuleNotDelivered)),
		},
		{
			name: "already refunded",
			order: testOrder([]*canonicalv1.OrderLine{line("L1", "APP-1", 1, 2500, func(l *canonicalv1.OrderLine) {
				l.RefundedQuantity = 1
			})}),
			now:  inWindow,
			want: answer(0, no("L1", "APP-1", 0, returnsv1.Reason_REASON_ALREADY_REFUNDED, RuleAlreadyRefunded)),
		},
		{
			name: "already returned",
			order: testOrder([]*canonicalv1.OrderLine{line("L1", "APP-1", 2, 2500, func(l *canonicalv1.OrderLine) {
				l.ReturnedQuantity = 2
			})}),
			now:  inWindow,
			want: answer(0, no("L1", "APP-1", 0, returnsv1.Reason_REASON_ALREADY_RETURNED, RuleAlreadyReturned)),
		},
		{
			name: "returned and refunded units are counted once",
			order: testOrder([]*canonicalv1.OrderLine{line("L1", "APP-1", 2, 2500, func(l *canonicalv1.OrderLine) {
				l.ReturnedQuantity, l.RefundedQuantity = 1, 1
			})}),
			now:  inWindow,
			want: answer(2500, yes("L1", "APP-1", 1, 1, endOfMarch31, apparelWindow, mail, 2500, 0)),
		},
		{
			name: "refunded before shipping is already refunded, not undelivered",
			order: testOrder([]*canonicalv1.OrderLine{line("L1", "APP-1", 1, 2500, func(l *canonicalv1.OrderLine) {
				l.FulfilledQuantity, l.RefundedQuantity = 0, 1
			})}, notDelivered),
			now:  inWindow,
			want: answer(0, no("L1", "APP-1", 0, returnsv1.Reason_REASON_ALREADY_REFUNDED, RuleAlreadyRefunded)),
		},
		{
			name: "already returned comes before outside window",
			order: testOrder([]*canonicalv1.OrderLine{line("L1", "APP-1", 1, 2500, func(l *canonicalv1.OrderLine) {
				l.ReturnedQuantity = 1
			})}),
			now:  time.Date(2026, 9, 1, 0, 0, 0, 0, time.UTC),
			want: answer(0, no("L1", "APP-1", 0, returnsv1.Reason_REASON_ALREADY_RETURNED, RuleAlreadyReturned)),
		},
		{
			name: "returnable 2 of 3, asking for 3 exceeds",
			order: testOrder([]*canonicalv1.OrderLine{line("L1", "APP-1", 3, 2500, func(l *canonicalv1.OrderLine) {
				l.RefundedQuantity = 1
			})}),
			lines: []*returnsv1.LineSelection{sel("L1", 3)},
			now:   inWindow,
			want:  answer(0, tooMany("L1", "APP-1", 3, 2, endOfMarch31)),
		},
		{
			name: "returnable 2 of 3, asking for 2",
			order: testOrder([]*canonicalv1.OrderLine{line("L1", "APP-1", 3, 2500, func(l *canonicalv1.OrderLine) {
				l.RefundedQuantity = 1
			})}),
			lines: []*returnsv1.LineSelection{sel("L1", 2)},
			now:   inWindow,
			want:  answer(5000, yes("L1", "APP-1", 2, 2, endOfMarch31, apparelWindow, mail, 5000, 0)),
		},
		{
			name: "quantity 0 means every returnable unit",
			order: testOrder([]*canonicalv1.OrderLine{line("L1", "APP-1", 3, 2500, func(l *canonicalv1.OrderLine) {
				l.RefundedQuantity = 1
			})}),
			lines: []*returnsv1.LineSelection{sel("L1", 0)},
			now:   inWindow,
			want:  answer(5000, yes("L1", "APP-1", 2, 2, endOfMarch31, apparelWindow, mail, 5000, 0)),
		},
		{
			name: "partially fulfilled line returns the delivered units by the line's delivery date",
			order: testOrder([]*canonicalv1.OrderLine{line("L1", "APP-1", 3, 2500, func(l *canonicalv1.OrderLine) {
				l.FulfilledQuantity, l.DeliveredAt = 2, timestamppb.New(delivered)
			})}, notDelivered),
			now:  inWindow,
			want: answer(5000, yes("L1", "APP-1", 2, 2, endOfMarch31, apparelWindow, mail, 5000, 0)),
		},
		{
			name: "partially fulfilled line, asking for the undelivered unit too",
			order: testOrder([]*canonicalv1.OrderLine{line("L1", "APP-1", 3, 2500, func(l *canonicalv1.OrderLine) {
				l.FulfilledQuantity, l.DeliveredAt = 2, timestamppb.New(delivered)
			})}, notDelivered),
			lines: []*returnsv1.LineSelection{sel("L1", 3)},
			now:   inWindow,
			want:  answer(0, tooMany("L1", "APP-1", 3, 2, endOfMarch31)),
		},
		{
			name: "partially fulfilled line whose delivered unit came back",
			order: testOrder([]*canonicalv1.OrderLine{line("L1", "APP-1", 2, 2500, func(l *canonicalv1.OrderLine) {
				l.FulfilledQuantity, l.ReturnedQuantity, l.DeliveredAt = 1, 1, timestamppb.New(delivered)
			})}, notDelivered),
			now:  inWindow,
			want: answer(0, no("L1", "APP-1", 0, returnsv1.Reason_REASON_NOT_DELIVERED, RuleNotFulfilled)),
		},
		{
			name: "the line's delivery date wins over the order's",
			order: testOrder([]*canonicalv1.OrderLine{line("L1", "APP-1", 1, 2500, func(l *canonicalv1.OrderLine) {
				l.DeliveredAt = timestamppb.New(delivered.Add(-20 * 24 * time.Hour))
			})}),
			now:  day(time.March, 25),
			want: answer(0, late("L1", "APP-1", 0, day(time.March, 11), apparelWindow)),
		},
		{
			name: "mixed eligible and ineligible lines total only the eligible ones",
			order: testOrder([]*canonicalv1.OrderLine{
				line("L1", "APP-1", 1, 2500), line("L2", "APP-FS", 1, 1900), line("L3", "GFT-1", 1, 5000), line("L4", "HOM-1", 2, 1000),
			}),
			lines: []*returnsv1.LineSelection{sel("L1", 1), sel("L2", 1), sel("L3", 1), sel("L4", 0)},
			now:   inWindow,
			want: answer(2500+1800,
				yes("L1", "APP-1", 1, 1, endOfMarch31, apparelWindow, mail, 2500, 0),
				no("L2", "APP-FS", 1, returnsv1.Reason_REASON_FINAL_SALE, RuleFinalSale),
				no("L3", "GFT-1", 1, returnsv1.Reason_REASON_NON_RETURNABLE_CATEGORY, RuleNonReturnable),
				yes("L4", "HOM-1", 2, 2, endOfMarch31, "default_window_days", mail, 2000, 200)),
		},
		{
			name:  "restocking fee rounds down in the customer's favour",
			order: testOrder([]*canonicalv1.OrderLine{line("L1", "ELC-1", 1, 9999)}),
			now:   inWindow,
			// 15% of 99.99 is 14.9985: the fee is 14.99.
			want: answer(8500, yes("L1", "ELC-1", 1, 1, day(time.March, 16), "categories.electronics.window_days", mail, 9999, 1499)),
		},
		{
			name:  "restocking fee is rounded per unit",
			order: testOrder([]*canonicalv1.OrderLine{line("L1", "ELC-1", 2, 4006)}),
			now:   inWindow,
			// 15% of 40.06 is 6.009, so 6.00 per unit; 12.01 rounded on the line would cost more.
			want: answer(8012-1200, yes("L1", "ELC-1", 2, 2, day(time.March, 16), "categories.electronics.window_days", mail, 8012, 1200)),
		},
		{
			name:  "restocking fee minimum",
			order: testOrder([]*canonicalv1.OrderLine{line("L1", "ELC-1", 1, 2000)}),
			now:   inWindow,
			want:  answer(1500, yes("L1", "ELC-1", 1, 1, day(time.March, 16), "categories.electronics.window_days", mail, 2000, 500)),
		},
		{
			name:  "restocking fee never exceeds the price",
			order: testOrder([]*canonicalv1.OrderLine{line("L1", "ELC-1", 2, 300)}),
			now:   inWindow,
			want:  answer(0, yes("L1", "ELC-1", 2, 2, day(time.March, 16), "categories.electronics.window_days", mail, 600, 600)),
		},
		{
			name: "restocking fee minimum applies only in its currency; money is in the order's currency",
			order: testOrder([]*canonicalv1.OrderLine{line("L1", "ELC-1", 1, 2000, func(l *canonicalv1.OrderLine) {
				l.UnitPrice = money.New(2000, "EUR")
			}), line("L2", "APP-FS", 1, 1000)}, func(o *canonicalv1.Order) { o.Total = money.New(3000, "EUR") }),
			now: inWindow,
			want: &returnsv1.CheckEligibilityResponse{
				OrderId: "5100001",
				Lines: []*returnsv1.LineEligibility{{
					OrderLineId: "L1", Sku: "ELC-1", RequestedQuantity: 1, ReturnableQuantity: 1, Eligible: true,
					ReturnDeadline: timestamppb.New(day(time.March, 16)), Methods: mail,
					RefundEstimate: estimateOf(2000, 300, "EUR"), PolicyRule: "categories.electronics.window_days",
				}, {
					OrderLineId: "L2", Sku: "APP-FS", Reason: returnsv1.Reason_REASON_FINAL_SALE, PolicyRule: RuleFinalSale,
					RefundEstimate: estimateOf(0, 0, "EUR"),
				}},
				RefundEstimateTotal: money.New(1700, "EUR"),
			},
		},
		{
			name: "channel override shortens the category window",
			order: testOrder([]*canonicalv1.OrderLine{line("L1", "APP-1", 1, 2500)}, func(o *canonicalv1.Order) {
				o.Channel = canonicalv1.Channel_CHANNEL_POINT_OF_SALE
			}),
			now:  time.Date(2026, 3, 16, 0, 0, 0, 0, time.UTC),
			want: answer(0, late("L1", "APP-1", 0, day(time.March, 15), "categories.apparel.channel_window_days.point_of_sale")),
		},
		{
			name: "channel override applies to its channel only",
			order: testOrder([]*canonicalv1.OrderLine{line("L1", "APP-1", 1, 2500)}, func(o *canonicalv1.Order) {
				o.Channel = canonicalv1.Channel_CHANNEL_MOBILE_APP
			}),
			now:  time.Date(2026, 3, 16, 0, 0, 0, 0, time.UTC),
			want: answer(2500, yes("L1", "APP-1", 1, 1, endOfMarch31, apparelWindow, mail, 2500, 0)),
		},
		{
			name:  "item window overrides the category window",
			order: testOrder([]*canonicalv1.OrderLine{line("L1", "ELC-WATCH", 1, 20000), line("L2", "ELC-1", 1, 20000)}),
			now:   time.Date(2026, 3, 16, 0, 0, 0, 0, time.UTC),
			want: answer(17000,
				late("L1", "ELC-WATCH", 0, day(time.March, 15), RuleItemWindow),
				yes("L2", "ELC-1", 1, 1, day(time.March, 16), "categories.electronics.window_days", mail, 20000, 3000)),
		},
		{
			name:  "category unknown to the policy gets the default window",
			order: testOrder([]*canonicalv1.OrderLine{line("L1", "TOY-1", 1, 2500)}),
			now:   inWindow,
			want:  answer(2500, yes("L1", "TOY-1", 1, 1, endOfMarch31, "default_window_days", mail, 2500, 0)),
		},
		{
			name: "pick up in store can come back by mail or to a store",
			order: testOrder([]*canonicalv1.OrderLine{line("L1", "APP-1", 1, 2500)}, func(o *canonicalv1.Order) {
				o.FulfillmentModel = canonicalv1.FulfillmentModel_FULFILLMENT_MODEL_PICK_UP_IN_STORE
			}),
			now:  inWindow,
			want: answer(2500, yes("L1", "APP-1", 1, 1, endOfMarch31, apparelWindow, mailInStore, 2500, 0)),
		},
		{
			name: "unknown fulfilment model gets ship to home's methods",
			order: testOrder([]*canonicalv1.OrderLine{line("L1", "APP-1", 1, 2500)}, func(o *canonicalv1.Order) {
				o.FulfillmentModel = canonicalv1.FulfillmentModel_FULFILLMENT_MODEL_UNSPECIFIED
			}),
			now:  inWindow,
			want: answer(2500, yes("L1", "APP-1", 1, 1, endOfMarch31, apparelWindow, mail, 2500, 0)),
		},
		{
			name: "in-store purchase counts from the purchase when there is no delivery date",
			order: testOrder([]*canonicalv1.OrderLine{line("L1", "APP-1", 1, 2500)}, notDelivered, func(o *canonicalv1.Order) {
				o.FulfillmentModel = canonicalv1.FulfillmentModel_FULFILLMENT_MODEL_IN_STORE_PURCHASE
				o.Channel = canonicalv1.Channel_CHANNEL_POINT_OF_SALE
				o.CreatedAt = timestamppb.New(delivered)
			}),
			now:  inWindow,
			want: answer(2500, yes("L1", "APP-1", 1, 1, day(time.March, 15), "categories.apparel.channel_window_days.point_of_sale", mail, 2500, 0)),
		},
		{
			name:  "order without lines",
			order: testOrder(nil),
			now:   inWindow,
			want:  answer(0),
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			p := tt.policy
			if p == nil {
				p = testPolicy(t)
			}
			got := Evaluate(p, tt.order, testItems, tt.lines, tt.now)
			if diff := cmp.Diff(tt.want, got, protocmp.Transform()); diff != "" {
				t.Errorf("Evaluate (-want +got):\n%s", diff)
			}
		})
	}
}

func TestEvaluateFeeDoesNotOverflow(t *testing.T) {
	t.Parallel()
	const price = int64(1) << 60
	got := estimate(testPolicy(t), "electronics", price, 1, "USD")
	if want := price / 10000 * 1500; got.RestockingFee.AmountMinor < want || got.RestockingFee.AmountMinor >= price {
		t.Errorf("fee on %d = %d, want about %d", price, got.RestockingFee.AmountMinor, want)
	}
}
