package businesscentral

import (
	"encoding/base64"
	"fmt"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/retailbridge/retailbridge/services/sandbox/demo"
	"github.com/retailbridge/retailbridge/services/sandbox/state"
)

// Entity sets the sandbox serves. The first four are API v2.0's; the rest are the Retailbridge
// returns extension's API pages (api/retailbridge/returns/v1.0), for what v2.0 lacks: item
// return policies, sales return orders, their receipts and item journal adjustments.
const (
	SetItems                = "items"
	SetCustomers            = "customers"
	SetSalesOrders          = "salesOrders"
	SetSalesCreditMemos     = "salesCreditMemos"
	SetReturnItems          = "returnItems"
	SetReturnOrders         = "returnOrders"
	SetReturnReceipts       = "returnReceipts"
	SetInventoryAdjustments = "inventoryAdjustments"
	// SetItemLedgerEntries is the analytics API's (api/microsoft/analytics/v1.0) item ledger.
	SetItemLedgerEntries = "itemLedgerEntries"
)

// Return order statuses.
const (
	RMAOpen              = "Open"
	RMAPartiallyReceived = "Partially Received"
	RMAReceived          = "Received"
	RMACredited          = "Credited"
	RMAClosed            = "Closed"
)

// line is one document line. Amounts are in minor units.
type line struct {
	Sequence         int    `json:"sequence"`
	ItemNumber       string `json:"itemNumber"`
	Quantity         int64  `json:"quantity"`
	UnitPrice        int64  `json:"unitPrice,omitempty"`
	Discount         int64  `json:"discount,omitempty"`
	Received         int64  `json:"received,omitempty"`
	Shipped          int64  `json:"shipped,omitempty"`
	Invoiced         int64  `json:"invoiced,omitempty"`
	Restock          bool   `json:"restock,omitempty"`
	Condition        string `json:"condition,omitempty"`
	ReturnReasonCode string `json:"returnReasonCode,omitempty"`
}

func (l line) amount() int64 { return l.Quantity*l.UnitPrice - l.Discount }

// doc is one document of any entity set.
type doc struct {
	Set       string `json:"set"`
	ID        string `json:"id"`
	Number    string `json:"number"`
	External  string `json:"external,omitempty"`
	Customer  string `json:"customer,omitempty"`
	Reference string `json:"reference,omitempty"`
	Parent    string `json:"parent,omitempty"` // a return order's sales order; a receipt's return order
	Status    string `json:"status,omitempty"`
	Currency  string `json:"currency,omitempty"`
	Location  string `json:"location,omitempty"`
	Reason    string `json:"reason,omitempty"`
	Lines     []line `json:"lines,omitempty"`
	// Cash documents (cash.go): a payment's amount, a deposit's total and fees, its payments.
	Amount   int64     `json:"amount,omitempty"`
	Fee      int64     `json:"fee,omitempty"`
	Payments []string  `json:"payments,omitempty"`
	Version  int       `json:"version"`
	Created  time.Time `json:"created"`
	Modified time.Time `json:"modified"`
}

func (d *doc) etag() string {
	return `W/"` + base64.StdEncoding.EncodeToString([]byte(fmt.Sprintf("%d;%s;%d;", len(d.ID), d.ID, d.Version))) + `"`
}

func (d *doc) total() int64 {
	var t int64
	for _, l := range d.Lines {
		t += l.amount()
	}
	return t
}

// rmaStatus derives a return order's status from what was received, unless it was credited or closed.
func (d *doc) rmaStatus() string {
	if d.Status == RMACredited || d.Status == RMAClosed {
		return d.Status
	}
	var want, got int64
	for _, l := range d.Lines {
		want += l.Quantity
		got += l.Received
	}
	switch {
	case got == 0:
		return RMAOpen
	case got < want:
		return RMAPartiallyReceived
	}
	return RMAReceived
}

// customer is one customer card.
type customer struct {
	ID, Number, Name, Email string
}

// kept is what the state file holds.
type kept struct {
	Docs          []*doc                   `json:"docs"`
	Next          map[string]int           `json:"next"`
	Created       map[string]int64         `json:"created"`
	Customers     []customer               `json:"customers,omitempty"`
	Subscriptions map[string]*subscription `json:"subscriptions"`
}

// ledger is the company's data. Every method ending in Locked needs mu held.
type ledger struct {
	mu    sync.Mutex
	now   func() time.Time
	file  *state.File
	items []demo.Item
	asOf  time.Time

	itemBySKU map[string]int
	customers map[string]*customer
	docs      map[string]*doc // by id
	order     []*doc          // creation order
	next      map[string]int
	created   map[string]int64
	subs      map[string]*subscription

	// opening is the stores' opening on-hand (demo.StoreStock); planted are item journal lines
	// tests post on top (SetOnHand), in memory only. See itemledger.go.
	opening []demo.StoreBalance
	planted []plantedEntry

	conflicts, batches int64
}

func newLedger(ds *demo.Dataset, now func() time.Time, f *state.File) (*ledger, error) {
	l := &ledger{now: now, file: f, items: ds.Items, asOf: ds.Now.UTC().Truncate(time.Second), opening: Locations.Stock(ds.StoreStock()),
		itemBySKU: map[string]int{}, customers: map[string]*customer{}, docs: map[string]*doc{},
		next: map[string]int{}, created: map[string]int64{}, subs: map[string]*subscription{}}
	for i, it := range ds.Items {
		l.itemBySKU[it.SKU] = i
	}
	for _, c := range ds.Customers {
		l.customers[c.ID] = &customer{ID: guid(0xc, len(l.customers)+1), Number: c.ID, Name: c.FirstName + " " + c.LastName, Email: c.Email}
	}
	// The storefront's orders were synchronised before: one sales order each, oldest first.
	for i := len(ds.Orders) - 1; i >= 0; i-- {
		o := ds.Orders[i]
		d := &doc{Set: SetSalesOrders, External: o.ID, Customer: o.CustomerID, Status: "Open", Currency: "USD",
			Created: o.CreatedAt.UTC(), Modified: o.CreatedAt.UTC()}
		if o.FulfillmentStatus == "FULFILLED" {
			d.Status = "Released"
		}
		for j, ln := range o.Lines {
			d.Lines = append(d.Lines, line{Sequence: 10000 * (j + 1), ItemNumber: ln.SKU, Quantity: int64(ln.Quantity), UnitPrice: ln.UnitPriceMinor})
		}
		l.addLocked(d, false)
	}
	var k kept
	found, err := f.Load(&k)
	if err != nil {
		return nil, err
	}
	if found {
		l.restore(k)
	}
	// Written at once, so a data directory shows the company from the start.
	if err := l.persistLocked(); err != nil {
		return nil, err
	}
	return l, nil
}

func (l *ledger) restore(k kept) {
	for _, d := range k.Docs {
		if _, ok := l.docs[d.ID]; !ok {
			l.order = append(l.order, d)
		} else {
			l.order[slices.IndexFunc(l.order, func(o *doc) bool { return o.ID == d.ID })] = d
		}
		l.docs[d.ID] = d
	}
	for s, n := range k.Next {
		l.next[s] = n
	}
	for s, n := range k.Created {
		l.created[s] = n
	}
	for _, c := range k.Customers {
		l.customers[c.Number] = &c
	}
	for id, s := range k.Subscriptions {
		l.subs[id] = s
	}
}

// snapshotLocked is what is persisted and what a transactional batch rolls back to.
func (l *ledger) snapshotLocked() kept {
	k := kept{Next: map[string]int{}, Created: map[string]int64{}, Subscriptions: map[string]*subscription{}}
	for _, d := range l.order {
		c := *d
		c.Lines = slices.Clone(d.Lines)
		k.Docs = append(k.Docs, &c)
	}
	for s, n := range l.next {
		k.Next[s] = n
	}
	for s, n := range l.created {
		k.Created[s] = n
	}
	for _, c := range l.customers {
		k.Customers = append(k.Customers, *c)
	}
	slices.SortFunc(k.Customers, func(a, b customer) int { return strings.Compare(a.Number, b.Number) })
	for id, s := range l.subs {
		c := *s
		k.Subscriptions[id] = &c
	}
	return k
}

// rollbackLocked restores a snapshot taken by snapshotLocked.
func (l *ledger) rollbackLocked(k kept) {
	l.docs, l.order, l.next, l.created = map[string]*doc{}, nil, map[string]int{}, map[string]int64{}
	l.subs = map[string]*subscription{}
	l.restore(k)
}

func (l *ledger) persistLocked() error { return l.file.Save(l.snapshotLocked()) }

// numberPrefix starts each entity set's document numbers, as Business Central's number series do.
var numberPrefix = map[string]string{
	SetSalesOrders: "S-ORD", SetSalesCreditMemos: "S-CR", SetReturnOrders: "S-RO", SetReturnReceipts: "S-RCPT",
	SetInventoryAdjustments: "ADJ", SetOrderShipments: "S-SHPT", SetOrderInvoices: "S-INV",
	SetCustomerPayments: "PMT", SetBankDeposits: "DEP",
}

var setCode = map[string]int{SetSalesOrders: 1, SetSalesCreditMemos: 2, SetReturnOrders: 3, SetReturnReceipts: 4, SetInventoryAdjustments: 5,
	SetOrderShipments: 6, SetOrderInvoices: 7, SetCustomerPayments: 8, SetBankDeposits: 9}

// guid is a deterministic id in Business Central's GUID format.
func guid(kind, n int) string { return fmt.Sprintf("%08x-0000-4000-8000-%012x", kind, n) }

// addLocked gives d an id and a number and keeps it; counted says a client's write created it.
func (l *ledger) addLocked(d *doc, counted bool) {
	l.next[d.Set]++
	n := l.next[d.Set]
	d.ID = guid(setCode[d.Set], n)
	d.Number = fmt.Sprintf("%s%06d", numberPrefix[d.Set], 100000+n)
	d.Version = 1
	if d.Created.IsZero() {
		d.Created = l.now().UTC().Truncate(time.Millisecond)
		d.Modified = d.Created
	}
	l.docs[d.ID] = d
	l.order = append(l.order, d)
	if counted {
		l.created[d.Set]++
	}
}

func (l *ledger) touchLocked(d *doc) {
	d.Version++
	d.Modified = l.now().UTC().Truncate(time.Millisecond)
}

func (l *ledger) counters() (map[string]int64, int64, int64) {
	l.mu.Lock()
	defer l.mu.Unlock()
	created := make(map[string]int64, len(l.created))
	for k, v := range l.created {
		created[k] = v
	}
	return created, l.conflicts, l.batches
}

// ReturnOrderStatus is the status of the return order with id; false when there is none.
func (s *Sandbox) ReturnOrderStatus(id string) (string, bool) {
	s.ledger.mu.Lock()
	defer s.ledger.mu.Unlock()
	d, ok := s.ledger.docs[id]
	if !ok || d.Set != SetReturnOrders {
		return "", false
	}
	return d.rmaStatus(), true
}

// SalesOrderID is the id of the sales order booked for a storefront order (posted ones too).
func (s *Sandbox) SalesOrderID(orderID string) (string, bool) {
	s.ledger.mu.Lock()
	defer s.ledger.mu.Unlock()
	for _, d := range s.ledger.order {
		if (d.Set == SetSalesOrders || d.Set == setPostedOrders) && d.External == orderID {
			return d.ID, true
		}
	}
	return "", false
}

// DeleteSalesOrderAsUser deletes the open sales order of a storefront order as a user in
// Business Central would (no invoice records it), kept in the state file; false when there is
// none.
func (s *Sandbox) DeleteSalesOrderAsUser(orderID string) bool {
	l := s.ledger
	l.mu.Lock()
	defer l.mu.Unlock()
	for _, d := range l.order {
		if d.Set == SetSalesOrders && d.External == orderID {
			if rep := l.deleteLocked(SetSalesOrders, d.ID, "*"); rep.status >= 300 {
				return false
			}
			return l.persistLocked() == nil
		}
	}
	return false
}

// Touch changes the document with id as a user in Business Central would (a new version and
// modification time), so that an ETag read before no longer matches; false when there is none.
func (s *Sandbox) Touch(id string) bool {
	s.ledger.mu.Lock()
	d, ok := s.ledger.docs[id]
	if ok {
		s.ledger.touchLocked(d)
	}
	s.ledger.mu.Unlock()
	if ok {
		s.subs.changed(d.Set, d.ID, "updated")
	}
	return ok
}
