// Package demo generates the deterministic demo dataset every vendor sandbox serves: a catalogue
// of items (NetSuite), customers and orders (Shopify). The same seed and clock always give the same
// data, so tests can name scenarios and `retailbridge dev` always shows the same shop.
package demo

import (
	"fmt"
	"math/rand/v2"
	"slices"
	"time"
)

// Item is a catalogue item with the return-policy attributes the ERP holds.
type Item struct {
	SKU        string
	ERPID      string
	Title      string
	Category   string // apparel, footwear, accessories, electronics, home, beauty, gift_card
	PriceMinor int64
	Returnable bool
	FinalSale  bool
	WindowDays int // 0: the category's window applies
}

// Customer is a storefront customer.
type Customer struct {
	ID        string // numeric Shopify customer id; the storefront token's subject
	Email     string
	FirstName string
	LastName  string
}

// Line is one order line with its after-sale history.
type Line struct {
	ID             string // numeric Shopify line item id
	SKU            string
	Title          string
	Quantity       int
	UnitPriceMinor int64
	Fulfilled      int
	Refunded       int
	Returned       int
	// GiftCard: the line sells a gift card (Shopify issues it; no stock, nothing ships).
	GiftCard bool
	// NoShipping: the line needs no shipping (a digital good or a service).
	NoShipping bool
}

// Fulfilment models and channels, spelled as the canonical model's snake_case names.
const (
	ShipToHome    = "ship_to_home"
	PickUpInStore = "pick_up_in_store"

	ChannelWeb         = "web"
	ChannelMobile      = "mobile_app"
	ChannelMarketplace = "marketplace"
)

// Partner sales channels: orders placed through a partner's channel app carry its source name
// (configs/tenants.yaml maps them to the partner tenants acme and globex).
const (
	SourceAcme   = "acme-marketplace"
	SourceGlobex = "globex-b2b"
)

// Order is a storefront order. Statuses use Shopify's enum spellings.
type Order struct {
	ID                string // numeric Shopify order id
	Name              string // "#1001"
	CustomerID        string
	Channel           string
	Source            string // a partner channel's source name; empty for the retailer's own channels
	FulfillmentModel  string
	PickupLocationID  string
	FinancialStatus   string // PAID, PARTIALLY_REFUNDED, REFUNDED
	FulfillmentStatus string // UNFULFILLED, FULFILLED
	Currency          string
	CreatedAt         time.Time
	ShippedAt         *time.Time
	DeliveredAt       *time.Time
	Lines             []Line
}

// CardGateway is the payment gateway that took the demo orders' payments, as the commerce
// platform names it on their transactions.
const CardGateway = "stripe"

// PaymentIntentID is the card gateway's payment intent that paid the order: the Stripe sandbox
// serves it, and the Shopify sandbox reports it as the order's sale transaction's paymentId.
func (o Order) PaymentIntentID() string { return "pi_" + o.ID }

// TotalMinor is the order total.
func (o Order) TotalMinor() int64 {
	var t int64
	for _, l := range o.Lines {
		t += l.UnitPriceMinor * int64(l.Quantity)
	}
	return t
}

// Dataset is the generated demo data.
type Dataset struct {
	Now       time.Time
	Items     []Item
	Customers []Customer
	Orders    []Order // newest first

	itemBySKU map[string]int
	orderByID map[string]int
	scenarios map[string]string
}

// DemoCustomerID is the customer whose orders cover every return scenario.
const DemoCustomerID = "7000001"

// Scenario names, each an order of DemoCustomerID built to exercise one eligibility rule.
const (
	ScenarioEligible         = "eligible_ship_to_home"
	ScenarioPickUpInStore    = "pick_up_in_store"
	ScenarioFinalSale        = "final_sale"
	ScenarioNonReturnable    = "non_returnable_category"
	ScenarioOutsideWindow    = "outside_window"
	ScenarioLastDayOfWindow  = "last_day_of_window"
	ScenarioNotDelivered     = "not_delivered"
	ScenarioUnfulfilled      = "unfulfilled"
	ScenarioAlreadyReturned  = "already_returned"
	ScenarioAlreadyRefunded  = "already_refunded"
	ScenarioPartialRefund    = "partially_refunded"
	ScenarioMixed            = "mixed_lines"
	ScenarioRestockingFee    = "restocking_fee"
	ScenarioMultipleQuantity = "multiple_quantity"
)

// Item returns the item with sku.
func (d *Dataset) Item(sku string) (Item, bool) {
	i, ok := d.itemBySKU[sku]
	if !ok {
		return Item{}, false
	}
	return d.Items[i], true
}

// Order returns the order with id.
func (d *Dataset) Order(id string) (Order, bool) {
	i, ok := d.orderByID[id]
	if !ok {
		return Order{}, false
	}
	return d.Orders[i], true
}

// Scenario returns the order built for a named scenario.
func (d *Dataset) Scenario(name string) Order {
	o, ok := d.Order(d.scenarios[name])
	if !ok {
		panic("demo: unknown scenario " + name)
	}
	return o
}

// OrdersFrom returns the orders placed through a partner source, newest first.
func (d *Dataset) OrdersFrom(source string) []Order {
	var out []Order
	for _, o := range d.Orders {
		if o.Source == source {
			out = append(out, o)
		}
	}
	return out
}

// OrdersOf returns a customer's orders, newest first.
func (d *Dataset) OrdersOf(customerID string) []Order {
	var out []Order
	for _, o := range d.Orders {
		if o.CustomerID == customerID {
			out = append(out, o)
		}
	}
	return out
}

type category struct {
	name       string
	returnable bool
	minPrice   int64
	maxPrice   int64
	nouns      []string
}

var categories = []category{
	{"apparel", true, 1500, 12000, []string{"T-Shirt", "Hoodie", "Jacket", "Jeans", "Dress", "Sweater"}},
	{"footwear", true, 4000, 18000, []string{"Sneaker", "Boot", "Sandal", "Loafer"}},
	{"accessories", true, 1000, 9000, []string{"Belt", "Scarf", "Cap", "Tote Bag", "Wallet"}},
	{"electronics", true, 2500, 39900, []string{"Headphones", "Speaker", "Smartwatch", "Charger"}},
	{"home", true, 1200, 15000, []string{"Candle", "Throw Blanket", "Mug Set", "Lamp"}},
	{"beauty", false, 800, 6000, []string{"Lipstick", "Serum", "Fragrance", "Moisturiser"}},
	{"gift_card", false, 2500, 10000, []string{"Gift Card"}},
}

var colours = []string{"Black", "Navy", "Olive", "Sand", "Rust", "Ivory", "Slate", "Berry"}
var firstNames = []string{"Ada", "Grace", "Alan", "Edsger", "Barbara", "Ken", "Margaret", "Linus",
	"Radia", "Donald", "Frances", "John", "Leslie", "Niklaus", "Shafi", "Tim"}
var lastNames = []string{"Lovelace", "Hopper", "Turing", "Dijkstra", "Liskov", "Thompson",
	"Hamilton", "Torvalds", "Perlman", "Knuth", "Allen", "Backus", "Lamport", "Wirth"}

// Stores are pick-up locations.
var Stores = []string{"store-nyc-soho", "store-sf-union-square", "store-chi-loop"}

// Generate builds the dataset for seed with dates relative to now.
func Generate(seed uint64, now time.Time, customers, orders int) *Dataset {
	r := rand.New(rand.NewPCG(seed, seed^0x9e3779b97f4a7c15))
	d := &Dataset{Now: now, itemBySKU: map[string]int{}, orderByID: map[string]int{}, scenarios: map[string]string{}}

	// Catalogue: every category, several products, a few final-sale and custom-window items.
	for ci, c := range categories {
		for ni, noun := range c.nouns {
			for v := 0; v < 2; v++ {
				n := len(d.Items)
				it := Item{
					SKU:        fmt.Sprintf("%s-%03d", skuPrefix(c.name), ci*100+ni*10+v),
					ERPID:      fmt.Sprintf("%d", 3000+n),
					Title:      colours[(ni+v+ci)%len(colours)] + " " + noun,
					Category:   c.name,
					PriceMinor: roundPrice(c.minPrice + r.Int64N(c.maxPrice-c.minPrice)),
					Returnable: c.returnable,
				}
				if c.returnable && v == 1 && ni%2 == 0 {
					it.FinalSale = true // clearance variant
				}
				if c.name == "electronics" && ni == 2 {
					it.WindowDays = 14 // smartwatches: shorter item-specific window
				}
				d.itemBySKU[it.SKU] = n
				d.Items = append(d.Items, it)
			}
		}
	}

	for i := 0; i < customers; i++ {
		fn, ln := firstNames[i%len(firstNames)], lastNames[(i/len(firstNames)+i)%len(lastNames)]
		d.Customers = append(d.Customers, Customer{
			ID:        fmt.Sprintf("%d", 7000001+i),
			Email:     fmt.Sprintf("%s.%s.%d@example.com", lower(fn), lower(ln), i+1),
			FirstName: fn, LastName: ln,
		})
	}

	b := &builder{d: d, r: r, now: now}
	b.scenarios()
	for len(d.Orders) < orders {
		b.random(d.Customers[r.IntN(len(d.Customers))].ID)
	}
	slices.SortStableFunc(d.Orders, func(a, b Order) int { return b.CreatedAt.Compare(a.CreatedAt) })
	for i, o := range d.Orders {
		d.orderByID[o.ID] = i
	}
	return d
}

type builder struct {
	d   *Dataset
	r   *rand.Rand
	now time.Time
	seq int
}

func (b *builder) pick(pred func(Item) bool) Item {
	var c []Item
	for _, it := range b.d.Items {
		if pred(it) {
			c = append(c, it)
		}
	}
	return c[b.r.IntN(len(c))]
}

func plainReturnable(it Item) bool {
	return it.Returnable && !it.FinalSale && it.WindowDays == 0 && it.Category != "electronics"
}

// order appends an order; delivered < 0 means not delivered.
func (b *builder) order(customer, model string, createdDaysAgo, deliveredDaysAgo float64, items []Item, qty []int) *Order {
	b.seq++
	id := fmt.Sprintf("%d", 5100000+b.seq)
	o := Order{
		ID:                id,
		Name:              fmt.Sprintf("#%d", 1000+b.seq),
		CustomerID:        customer,
		Channel:           []string{ChannelWeb, ChannelMobile}[b.seq%2],
		FulfillmentModel:  model,
		FinancialStatus:   "PAID",
		FulfillmentStatus: "UNFULFILLED",
		Currency:          "USD",
		CreatedAt:         b.now.Add(-days(createdDaysAgo)).Truncate(time.Second),
	}
	if model == PickUpInStore {
		o.PickupLocationID = Stores[b.seq%len(Stores)]
	}
	for i, it := range items {
		o.Lines = append(o.Lines, Line{
			ID: fmt.Sprintf("%d%02d", 5100000+b.seq, i+1), SKU: it.SKU, Title: it.Title,
			Quantity: qty[i], UnitPriceMinor: it.PriceMinor, GiftCard: it.Category == "gift_card",
		})
	}
	if deliveredDaysAgo >= 0 {
		shipped := b.now.Add(-days(deliveredDaysAgo + 2)).Truncate(time.Second)
		if shipped.Before(o.CreatedAt) {
			shipped = o.CreatedAt
		}
		delivered := b.now.Add(-days(deliveredDaysAgo)).Truncate(time.Second)
		o.ShippedAt, o.DeliveredAt = &shipped, &delivered
		o.FulfillmentStatus = "FULFILLED"
		for i := range o.Lines {
			o.Lines[i].Fulfilled = o.Lines[i].Quantity
		}
	}
	b.d.Orders = append(b.d.Orders, o)
	return &b.d.Orders[len(b.d.Orders)-1]
}

func (b *builder) scenario(name string, o *Order) { b.d.scenarios[name] = o.ID }

func (b *builder) scenarios() {
	c := DemoCustomerID
	any := func(it Item) bool { return plainReturnable(it) }
	b.scenario(ScenarioEligible, b.order(c, ShipToHome, 12, 8, []Item{b.pick(any), b.pick(any)}, []int{1, 2}))
	b.scenario(ScenarioPickUpInStore, b.order(c, PickUpInStore, 6, 5, []Item{b.pick(any)}, []int{1}))
	b.scenario(ScenarioFinalSale, b.order(c, ShipToHome, 10, 7, []Item{b.pick(func(it Item) bool { return it.FinalSale })}, []int{1}))
	b.scenario(ScenarioNonReturnable, b.order(c, ShipToHome, 9, 6, []Item{b.pick(func(it Item) bool { return it.Category == "beauty" })}, []int{1}))
	b.scenario(ScenarioOutsideWindow, b.order(c, ShipToHome, 70, 64, []Item{b.pick(any)}, []int{1}))
	b.scenario(ScenarioLastDayOfWindow, b.order(c, ShipToHome, 34, 30, []Item{b.pick(any)}, []int{1}))
	// Shipped, not delivered yet.
	nd := b.order(c, ShipToHome, 3, -1, []Item{b.pick(any)}, []int{1})
	shipped := b.now.Add(-days(1)).Truncate(time.Second)
	nd.ShippedAt, nd.FulfillmentStatus, nd.Lines[0].Fulfilled = &shipped, "FULFILLED", 1
	b.scenario(ScenarioNotDelivered, nd)
	b.scenario(ScenarioUnfulfilled, b.order(c, ShipToHome, 1, -1, []Item{b.pick(any)}, []int{2}))
	ar := b.order(c, ShipToHome, 20, 15, []Item{b.pick(any)}, []int{1})
	ar.Lines[0].Returned = 1
	b.scenario(ScenarioAlreadyReturned, ar)
	rf := b.order(c, ShipToHome, 18, 14, []Item{b.pick(any)}, []int{1})
	rf.Lines[0].Refunded, rf.FinancialStatus = 1, "REFUNDED"
	b.scenario(ScenarioAlreadyRefunded, rf)
	pr := b.order(c, ShipToHome, 16, 11, []Item{b.pick(any), b.pick(any)}, []int{3, 1})
	pr.Lines[0].Refunded, pr.FinancialStatus = 1, "PARTIALLY_REFUNDED"
	b.scenario(ScenarioPartialRefund, pr)
	b.scenario(ScenarioMixed, b.order(c, ShipToHome, 11, 9, []Item{
		b.pick(any), b.pick(func(it Item) bool { return it.FinalSale }),
		b.pick(func(it Item) bool { return it.Category == "gift_card" })}, []int{1, 1, 1}))
	b.scenario(ScenarioRestockingFee, b.order(c, ShipToHome, 8, 4, []Item{
		b.pick(func(it Item) bool { return it.Category == "electronics" && it.WindowDays == 0 && !it.FinalSale })}, []int{1}))
	b.scenario(ScenarioMultipleQuantity, b.order(c, ShipToHome, 7, 3, []Item{b.pick(any)}, []int{4}))
}

// random appends one order with realistic variety: channels, pick-up, ages, refunds, returns.
func (b *builder) random(customer string) {
	model := ShipToHome
	if b.r.IntN(100) < 15 {
		model = PickUpInStore
	}
	n := 1 + b.r.IntN(4)
	items, qty := make([]Item, n), make([]int, n)
	for i := range items {
		items[i] = b.d.Items[b.r.IntN(len(b.d.Items))]
		qty[i] = 1 + b.r.IntN(2)
	}
	created := 0.5 + b.r.Float64()*120
	delivered := created - 2 - b.r.Float64()*4
	if delivered < 0 || b.r.IntN(100) < 5 {
		delivered = -1
	}
	o := b.order(customer, model, created, delivered, items, qty)
	// One in eight shipped orders comes through the acme marketplace, one in eight from globex's
	// wholesale portal (by sequence, so the random stream and every other order stay as they were).
	if model == ShipToHome {
		switch b.seq % 8 {
		case 3:
			o.Channel, o.Source = ChannelMarketplace, SourceAcme
		case 6:
			o.Channel, o.Source = ChannelMarketplace, SourceGlobex
		}
	}
	if delivered < 0 {
		return
	}
	switch p := b.r.IntN(100); {
	case p < 8:
		o.Lines[0].Refunded = 1
		o.FinancialStatus = "PARTIALLY_REFUNDED"
		if len(o.Lines) == 1 && o.Lines[0].Quantity == 1 {
			o.FinancialStatus = "REFUNDED"
		}
	case p < 11:
		for i := range o.Lines {
			o.Lines[i].Refunded = o.Lines[i].Quantity
		}
		o.FinancialStatus = "REFUNDED"
	case p < 16:
		o.Lines[len(o.Lines)-1].Returned = 1
	}
}

func days(n float64) time.Duration { return time.Duration(n * 24 * float64(time.Hour)) }

func roundPrice(p int64) int64 { return p/100*100 + 99 - 100 } // prices end in .99

func skuPrefix(cat string) string {
	switch cat {
	case "gift_card":
		return "GFT"
	case "electronics":
		return "ELC"
	case "footwear":
		return "FTW"
	case "accessories":
		return "ACC"
	case "beauty":
		return "BTY"
	case "home":
		return "HOM"
	}
	return "APP"
}

func lower(s string) string {
	b := []byte(s)
	for i, c := range b {
		if c >= 'A' && c <= 'Z' {
			b[i] = c + 32
		}
	}
	return string(b)
}
