package shopify

import (
	"fmt"
	"hash/fnv"
	"strconv"
	"sync"
	"time"

	"github.com/retailbridge/retailbridge/services/sandbox/demo"
	"github.com/retailbridge/retailbridge/services/sandbox/recent"
)

// MailingAddress is the shipping address the sandbox serves for an order, in Shopify's field names.
type MailingAddress struct {
	Name         string
	Address1     string
	Address2     string // empty when the address has no second line
	City         string
	Province     string
	ProvinceCode string
	Zip          string
	Country      string
	CountryCode  string // ISO 3166-1 alpha-2
	Phone        string // E.164
}

// store is the demo dataset seen as a Shopify shop: every order with the fulfilments, fulfilment
// orders, refunds and returns its after-sale history implies, changed from then on by mutations.
// mu guards every mutable field: a query executes under the read lock, a mutation under the
// write lock, so each answer is one consistent snapshot.
type store struct {
	mu sync.RWMutex

	orders    []*order // newest first, as the dataset holds them
	byID      map[string]*order
	warehouse *location
	stores    map[string]*location // by demo store code

	now        func() time.Time
	seed       uint64                     // the dataset's seed, for orders shop activity builds
	nextID     int64                      // ids of objects mutations create
	returns    map[string]*orderReturn    // every return, by id
	idempotent *recent.Map[idempotentRun] // @idempotent keys and what they did, the latest Options.IdempotencyKeys

	itemsBySKU       map[string]*inventoryItem
	itemsByID        map[string]*inventoryItem
	levels           map[inventoryKey]int // available, by item and location
	inventoryChanges int
}

type location struct {
	id   string // numeric
	name string
}

type order struct {
	src             demo.Order
	customer        *demo.Customer
	financialStatus string // src's, until refunds change it
	sourceName      string
	updatedAt       time.Time
	address         *MailingAddress
	lines           []*lineItem
	fulfills        []*fulfillment
	fOrders         []*fulfillmentOrder
	refunds         []*refund
	returns         []*orderReturn
	placed          bool       // by shop activity (PlaceOrder), not derived from the dataset
	touched         bool       // changed by shop activity (kept in the state file)
	cancelledAt     *time.Time // by CancelOrder
}

type lineItem struct {
	id        string
	sku       string
	title     string
	quantity  int
	current   int
	fulfilled int
	refunded  int
	unitMinor int64
	currency  string
	// giftCard and noShipping: Shopify's LineItem.isGiftCard, and requiresShipping false.
	giftCard   bool
	noShipping bool
}

type fulfillment struct {
	id            string
	name          string
	status        string
	displayStatus string
	createdAt     time.Time
	inTransitAt   *time.Time
	deliveredAt   *time.Time
	location      *location
	lines         []*fulfillmentLineItem
	tracking      []*trackingInfo // fulfillmentCreate's trackingInfo
}

type fulfillmentLineItem struct {
	id       string
	line     *lineItem
	quantity int
}

type fulfillmentOrder struct {
	order      *order // its line items are the order's lines still to ship
	id         string
	status     string
	methodType string
	createdAt  time.Time
	updatedAt  time.Time
	location   *location
}

type refund struct {
	id           string
	createdAt    time.Time
	currency     string
	note         string
	lines        []*refundLineItem
	transactions []*transaction // nil for refunds the dataset implies: those refunded the lines' value
}

// transaction is a refund's money movement, as refundCreate recorded it.
type transaction struct {
	id      string
	kind    string
	gateway string
	amount  int64
	created time.Time
}

type refundLineItem struct {
	id          string
	line        *lineItem
	quantity    int
	restockType string
}

type orderReturn struct {
	id        string
	name      string
	status    string
	createdAt time.Time
	closedAt  *time.Time
	order     *order
	lines     []*returnLineItem
}

type returnLineItem struct {
	id         string
	fli        *fulfillmentLineItem
	quantity   int
	reason     string
	reasonNote string
}

// Sandbox-wide numeric id ranges for objects the demo dataset has no ids for.
const (
	warehouseLocationID = 61000001
	firstStoreLocation  = 61000101
	// firstCreatedID numbers what mutations create (returns, refunds and their lines), clear of
	// the ids derived from demo order ids.
	firstCreatedID = 9_100_000_001
)

// addressBook is where demo customers live; each customer gets one entry, chosen by the seed.
var addressBook = []addressTemplate{
	{Street: "Mercer Street", City: "New York", Province: "New York", ProvinceCode: "NY", Zip: "10012"},
	{Street: "Valencia Street", City: "San Francisco", Province: "California", ProvinceCode: "CA", Zip: "94110"},
	{Street: "Wabash Avenue", City: "Chicago", Province: "Illinois", ProvinceCode: "IL", Zip: "60605"},
	{Street: "Pike Street", City: "Seattle", Province: "Washington", ProvinceCode: "WA", Zip: "98101"},
	{Street: "Congress Avenue", City: "Austin", Province: "Texas", ProvinceCode: "TX", Zip: "78701"},
	{Street: "Newbury Street", City: "Boston", Province: "Massachusetts", ProvinceCode: "MA", Zip: "02116"},
	{Street: "Larimer Street", City: "Denver", Province: "Colorado", ProvinceCode: "CO", Zip: "80202"},
	{Street: "Peachtree Street", City: "Atlanta", Province: "Georgia", ProvinceCode: "GA", Zip: "30303"},
}

type addressTemplate struct{ Street, City, Province, ProvinceCode, Zip string }

// newStore derives the shop from the dataset. seed picks addresses, mobile platforms and which
// orders carry declined or cancelled returns, so one seed always gives the same shop.
func newStore(ds *demo.Dataset, seed uint64, now func() time.Time, keys int) *store {
	st := &store{
		byID:       make(map[string]*order, len(ds.Orders)),
		warehouse:  &location{id: strconv.Itoa(warehouseLocationID), name: "Main warehouse"},
		stores:     make(map[string]*location, len(demo.Stores)),
		now:        now,
		seed:       seed,
		nextID:     firstCreatedID,
		returns:    map[string]*orderReturn{},
		idempotent: recent.New[idempotentRun](keys),
		itemsBySKU: map[string]*inventoryItem{},
		itemsByID:  map[string]*inventoryItem{},
		levels:     map[inventoryKey]int{},
	}
	for i, code := range demo.Stores {
		st.stores[code] = &location{id: strconv.Itoa(firstStoreLocation + i), name: code}
	}
	// Every catalogue item is a variant on sale, with its inventory item.
	for _, it := range ds.Items {
		st.item(it.SKU, true)
	}
	customers := make(map[string]*demo.Customer, len(ds.Customers))
	for i := range ds.Customers {
		customers[ds.Customers[i].ID] = &ds.Customers[i]
	}
	forced := forcedReturns(ds)
	for _, src := range ds.Orders {
		o := st.build(src, customers[src.CustomerID], ds.Now, seed, forced[src.ID])
		st.orders = append(st.orders, o)
		for _, l := range o.lines {
			st.item(l.sku, true) // every SKU the shop sold has an inventory item
		}
		st.byID[src.ID] = o
		for _, r := range o.returns {
			st.returns[r.id] = r
		}
	}
	return st
}

// extraReturn is a return that does not count (declined or cancelled), added so connectors
// have to tell countable returns apart.
type extraReturn string

const (
	noExtra       extraReturn = ""
	extraDeclined extraReturn = "DECLINED"
	extraCanceled extraReturn = "CANCELED"
)

// forcedReturns pins uncounted returns on two scenario orders, so every seed exercises them.
func forcedReturns(ds *demo.Dataset) map[string]extraReturn {
	m := map[string]extraReturn{}
	if id := scenarioID(ds, demo.ScenarioAlreadyReturned); id != "" {
		m[id] = extraCanceled
	}
	if id := scenarioID(ds, demo.ScenarioMultipleQuantity); id != "" {
		m[id] = extraDeclined
	}
	return m
}

// scenarioID is the order id of a named scenario, or "" for a dataset built without scenarios.
func scenarioID(ds *demo.Dataset, name string) (id string) {
	defer func() {
		if recover() != nil {
			id = ""
		}
	}()
	return ds.Scenario(name).ID
}

func (st *store) build(src demo.Order, c *demo.Customer, now time.Time, seed uint64, extra extraReturn) *order {
	h := hash(seed, src.ID)
	o := &order{src: src, customer: c, sourceName: sourceName(src, h), financialStatus: src.FinancialStatus}
	for _, l := range src.Lines {
		o.lines = append(o.lines, &lineItem{
			id: l.ID, sku: l.SKU, title: l.Title, quantity: l.Quantity, current: l.Quantity - l.Refunded,
			fulfilled: l.Fulfilled, refunded: l.Refunded, unitMinor: l.UnitPriceMinor, currency: src.Currency,
			giftCard: l.GiftCard, noShipping: l.NoShipping || l.GiftCard,
		})
	}
	pickup := src.FulfillmentModel == demo.PickUpInStore
	loc := st.warehouse
	if pickup {
		if l, ok := st.stores[src.PickupLocationID]; ok {
			loc = l
		}
	}
	if src.FulfillmentModel == demo.ShipToHome && c != nil {
		a := addressFor(c, seed)
		o.address = &a
	}

	// One fulfilment order per order, closed once everything left.
	fo := &fulfillmentOrder{order: o, id: src.ID + "1", status: "OPEN", methodType: "SHIPPING", createdAt: src.CreatedAt,
		updatedAt: src.CreatedAt, location: loc}
	if pickup {
		fo.methodType = "PICK_UP"
	}
	if src.FulfillmentStatus == "FULFILLED" {
		fo.status = "CLOSED"
	}

	// One fulfilment carries every shipped unit.
	if src.ShippedAt != nil {
		f := &fulfillment{id: src.ID + "1", name: src.Name + "-F1", status: "SUCCESS", createdAt: *src.ShippedAt,
			deliveredAt: src.DeliveredAt, location: loc}
		switch {
		case pickup && src.DeliveredAt != nil:
			f.displayStatus = "PICKED_UP"
		case pickup:
			f.displayStatus = "READY_FOR_PICKUP"
		case src.DeliveredAt != nil:
			f.displayStatus = "DELIVERED"
		default:
			f.displayStatus = "IN_TRANSIT"
		}
		if !pickup {
			shipped := *src.ShippedAt
			f.inTransitAt = &shipped
		}
		for i, l := range o.lines {
			if l.fulfilled > 0 {
				f.lines = append(f.lines, &fulfillmentLineItem{id: fmt.Sprintf("%s%02d", f.id, i+1), line: l, quantity: l.fulfilled})
			}
		}
		o.fulfills = append(o.fulfills, f)
		fo.updatedAt = *src.ShippedAt
	}
	o.fOrders = append(o.fOrders, fo)

	// After-sale events happen a day after the order reached the customer (or left, or was placed).
	base := src.CreatedAt
	if src.ShippedAt != nil {
		base = *src.ShippedAt
	}
	if src.DeliveredAt != nil {
		base = *src.DeliveredAt
	}
	at := func(d time.Duration) time.Time {
		t := base.Add(d)
		if t.After(now) {
			t = now
		}
		return t
	}

	var refunded []*refundLineItem
	for i, l := range o.lines {
		if l.refunded > 0 {
			refunded = append(refunded, &refundLineItem{id: fmt.Sprintf("%s1%02d", src.ID, i+1), line: l,
				quantity: l.refunded, restockType: "NO_RESTOCK"})
		}
	}
	if len(refunded) > 0 {
		o.refunds = append(o.refunds, &refund{id: src.ID + "1", createdAt: at(24 * time.Hour), currency: src.Currency, lines: refunded})
	}

	fliOf := func(line *lineItem) *fulfillmentLineItem {
		for _, f := range o.fulfills {
			for _, fli := range f.lines {
				if fli.line == line {
					return fli
				}
			}
		}
		return nil
	}
	returnOf := func(n int, status string, created time.Duration, lines map[int]int) *orderReturn {
		r := &orderReturn{id: fmt.Sprintf("%s%d", src.ID, n), name: fmt.Sprintf("%s-R%d", src.Name, n), status: status,
			createdAt: at(created), order: o}
		if status == "CLOSED" {
			closed := at(created + 48*time.Hour)
			r.closedAt = &closed
		}
		for i, l := range o.lines {
			q := lines[i]
			if q == 0 {
				continue
			}
			if fli := fliOf(l); fli != nil {
				r.lines = append(r.lines, &returnLineItem{id: fmt.Sprintf("%s%02d", r.id, i+1), fli: fli, quantity: q, reason: "UNKNOWN"})
			}
		}
		return r
	}
	returned := map[int]int{}
	for i, l := range src.Lines {
		if l.Returned > 0 {
			returned[i] = l.Returned
		}
	}
	delivered := src.DeliveredAt != nil && len(o.fulfills) > 0
	if extra == noExtra && delivered {
		// Some other delivered orders get an uncounted return too, chosen by the seed.
		switch {
		case len(returned) > 0 && h%4 == 0:
			extra = extraCanceled
		case len(returned) == 0 && len(refunded) == 0 && h%6 == 1:
			extra = extraDeclined
		}
	}
	n := 0
	if extra != noExtra && delivered {
		n++
		o.returns = append(o.returns, returnOf(n, string(extra), 12*time.Hour, map[int]int{0: 1}))
	}
	if len(returned) > 0 {
		status := "OPEN" // closed two days after it was opened
		if !base.Add(72 * time.Hour).After(now) {
			status = "CLOSED"
		}
		n++
		o.returns = append(o.returns, returnOf(n, status, 24*time.Hour, returned))
	}

	o.updatedAt = src.CreatedAt
	later := func(t *time.Time) {
		if t != nil && t.After(o.updatedAt) {
			o.updatedAt = *t
		}
	}
	later(src.ShippedAt)
	later(src.DeliveredAt)
	for _, r := range o.refunds {
		later(&r.createdAt)
	}
	for _, r := range o.returns {
		later(&r.createdAt)
		later(r.closedAt)
	}
	return o
}

// sourceName is Shopify's name for the sales channel: "web" for the online store, "iphone" or
// "android" for the mobile app (picked per order by the seed), the channel app's handle for
// orders from a partner's channel.
func sourceName(o demo.Order, h uint64) string {
	if o.Source != "" {
		return o.Source // a partner's channel app
	}
	if o.Channel == demo.ChannelMobile {
		if h%2 == 0 {
			return "iphone"
		}
		return "android"
	}
	return "web"
}

func addressFor(c *demo.Customer, seed uint64) MailingAddress {
	h := hash(seed, "address:"+c.ID)
	t := addressBook[h%uint64(len(addressBook))]
	a := MailingAddress{
		Name:         c.FirstName + " " + c.LastName,
		Address1:     fmt.Sprintf("%d %s", 10+(h>>8)%890, t.Street),
		City:         t.City,
		Province:     t.Province,
		ProvinceCode: t.ProvinceCode,
		Zip:          t.Zip,
		Country:      "United States",
		CountryCode:  "US",
		Phone:        fmt.Sprintf("+1555%07d", (h>>20)%10000000),
	}
	if (h>>16)%3 == 0 {
		a.Address2 = fmt.Sprintf("Apt %d", 1+(h>>24)%40)
	}
	return a
}

func hash(seed uint64, s string) uint64 {
	f := fnv.New64a()
	var b [8]byte
	for i := range b {
		b[i] = byte(seed >> (8 * i))
	}
	_, _ = f.Write(b[:])
	_, _ = f.Write([]byte(s))
	return f.Sum64()
}
