package netsuite

import (
	"encoding/json"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/retailbridge/retailbridge/pkg/money"
	"github.com/retailbridge/retailbridge/services/sandbox/demo"
	"github.com/retailbridge/retailbridge/services/sandbox/state"
)

// Record types of the transactions the sandbox keeps, as NetSuite's REST record service names them.
const (
	TypeSalesOrder          = "salesOrder"
	TypeReturnAuthorization = "returnAuthorization"
	TypeItemReceipt         = "itemReceipt"
	TypeCreditMemo          = "creditMemo"
	TypeInventoryAdjustment = "inventoryAdjustment"
	TypeItemFulfillment     = "itemFulfillment"
	TypeInvoice             = "invoice"
)

// The sandbox's account books everything in one currency, as the demo catalogue is priced.
const currency = "USD"

// status is a transaction status: NetSuite's one-letter code and the text its UI shows.
type status struct{ code, text string }

// Sales order and return authorisation statuses (VENDORS.md; codes as NetSuite's orderStatus uses them).
var (
	soPendingFulfillment = status{"B", "Pending Fulfillment"}
	soBilled             = status{"G", "Billed"}

	raPendingApproval      = status{"A", "Pending Approval"}
	raPendingReceipt       = status{"B", "Pending Receipt"}
	raCancelled            = status{"C", "Cancelled"}
	raPartiallyReceived    = status{"D", "Partially Received"}
	raPendingRefundPartial = status{"E", "Pending Refund/Partially Received"}
	raPendingRefund        = status{"F", "Pending Refund"}
	raRefunded             = status{"G", "Refunded"}
	raClosed               = status{"H", "Closed"}

	cmOpen = status{"A", "Open"}
)

// ledger holds every transaction record and asynchronous job of the account. One mutex guards it
// all: writes are rare next to reads, and one lock makes "same idempotency key, one record" hold
// under any interleaving.
type ledger struct {
	items []demo.Item // the catalogue, read only

	mu sync.Mutex

	nextID  int // internal ids are shared by every transaction type, as in NetSuite
	numbers map[string]int

	salesOrders  map[string]*salesOrder
	soByExternal map[string]*salesOrder
	rmas         map[string]*returnAuthorization
	receipts     map[string]*itemReceipt
	memos        map[string]*creditMemo
	adjustments  map[string]*inventoryAdjustment

	// opening is the stores' opening on-hand (demo.StoreStock); planted is what tests set on top
	// (SetOnHand). See suiteql.go.
	opening []demo.StoreBalance
	planted map[balanceKey]int64

	jobs     map[string]*job
	jobOrder []string // job ids, oldest first
	byKey    map[string]*job
	nextJob  int

	// journal is every executed write, in order, and state where it is kept (nil: nowhere);
	// see world.
	journal []writeState
	state   *state.File

	created map[string]int64
	repeats int64

	cash cashBook // customer payments, deposits and invoices (cash.go)
}

type line struct {
	number   int // the line number on its record
	itemID   string
	sku      string
	quantity int
	rate     int64 // minor units
}

type salesOrder struct {
	id, tranID, externalID string
	entity                 string // the customer's external id
	status                 status
	created                time.Time
	modified               time.Time // lastModifiedDate: the last write that changed it
	lines                  []soLine
}

type soLine struct {
	line
	orderLineID string // the storefront's line id, custcol_rb_order_line_id
	taxCode     string // the line's taxCode, as the caller enriched it
	fulfilled   int    // units shipped (item fulfilments)
	closed      bool
}

type returnAuthorization struct {
	id, tranID, externalID string
	createdFrom            *salesOrder
	pendingApproval        bool
	memo                   string
	created                time.Time
	lines                  []*raLine
}

type raLine struct {
	line
	orderLine        int // the sales order line returned
	received         int
	credited         int
	closed           bool
	returnReason     string
	storefrontLineID string
}

type itemReceipt struct {
	id, tranID  string
	createdFrom *returnAuthorization
	location    string
	created     time.Time
	lines       []receiptLine
}

type receiptLine struct {
	line
	orderLine int
	restock   bool
	location  string
	condition string
}

type creditMemo struct {
	id, tranID  string
	createdFrom *returnAuthorization
	created     time.Time
	lines       []memoLine
	total       int64
}

type memoLine struct {
	line
	orderLine int
	amount    int64
	restock   bool
}

type inventoryAdjustment struct {
	id, tranID  string
	externalID  string
	location    string
	memo        string
	disposition string
	value       *int64
	created     time.Time
	lines       []adjustmentLine
}

type adjustmentLine struct {
	itemID, sku string
	location    string
	adjustQtyBy int
}

// newLedger books one sales order per demo order, with the storefront order id as its external
// id: the account is where the shop's orders were synchronised to.
func newLedger(ds *demo.Dataset) *ledger {
	l := &ledger{
		items:  ds.Items,
		nextID: 20001, numbers: map[string]int{},
		salesOrders: map[string]*salesOrder{}, soByExternal: map[string]*salesOrder{},
		rmas: map[string]*returnAuthorization{}, receipts: map[string]*itemReceipt{},
		memos: map[string]*creditMemo{}, adjustments: map[string]*inventoryAdjustment{},
		jobs: map[string]*job{}, byKey: map[string]*job{}, nextJob: 101,
		created: map[string]int64{}, cash: newCashBook(),
		opening: Locations.Stock(ds.StoreStock()), planted: map[balanceKey]int64{},
	}
	items := make(map[string]demo.Item, len(ds.Items))
	for _, it := range ds.Items {
		items[it.SKU] = it
	}
	// Oldest first, so document numbers grow with order dates.
	for i := len(ds.Orders) - 1; i >= 0; i-- {
		o := ds.Orders[i]
		so := &salesOrder{externalID: o.ID, entity: o.CustomerID, status: soPendingFulfillment,
			created: o.CreatedAt, modified: o.CreatedAt}
		if o.FulfillmentStatus == "FULFILLED" {
			so.status = soBilled
		}
		for j, ln := range o.Lines {
			so.lines = append(so.lines, soLine{
				line:        line{number: j + 1, itemID: items[ln.SKU].ERPID, sku: ln.SKU, quantity: ln.Quantity, rate: ln.UnitPriceMinor},
				orderLineID: ln.ID,
			})
		}
		so.id, so.tranID = l.newIDs(TypeSalesOrder)
		l.salesOrders[so.id] = so
		l.soByExternal[so.externalID] = so
	}
	return l
}

// documentPrefix starts each type's document numbers (tranId).
var documentPrefix = map[string]string{
	TypeSalesOrder: "SO", TypeReturnAuthorization: "RMA", TypeItemReceipt: "IR", TypeCreditMemo: "CM",
	TypeInventoryAdjustment: "ADJ", TypeItemFulfillment: "IF", TypeInvoice: "INV",
	TypeCustomerPayment: "PYMT", TypeDeposit: "DEP",
}

// newIDs allocates an internal id and the next document number of recordType; the caller holds mu.
func (l *ledger) newIDs(recordType string) (id, tranID string) {
	id = strconv.Itoa(l.nextID)
	l.nextID++
	l.numbers[recordType]++
	return id, documentPrefix[recordType] + strconv.Itoa(1000+l.numbers[recordType])
}

// status derives an RMA's status from its lines, as NetSuite does after each receipt and credit.
func (ra *returnAuthorization) status() status {
	if ra.pendingApproval {
		return raPendingApproval
	}
	var qty, received, credited, open int
	for _, ln := range ra.lines {
		qty += ln.quantity
		received += ln.received
		credited += ln.credited
		if !ln.closed {
			open++
		}
	}
	switch {
	case credited >= qty:
		return raRefunded
	case open == 0:
		return raClosed
	case received == 0:
		return raPendingReceipt
	case received >= qty:
		return raPendingRefund
	case credited < received:
		return raPendingRefundPartial
	}
	return raPartiallyReceived
}

// Rendering: the JSON NetSuite's REST record service returns for each record.

// sublist is a sublist expanded with expandSubResources=true, or only linked without it.
type sublist struct {
	Links        []link `json:"links"`
	Items        []any  `json:"items,omitempty"`
	Count        *int   `json:"count,omitempty"`
	HasMore      *bool  `json:"hasMore,omitempty"`
	Offset       *int   `json:"offset,omitempty"`
	TotalResults *int   `json:"totalResults,omitempty"`
}

func newSublist(self string, expand bool, items []any) sublist {
	s := sublist{Links: []link{{Rel: "self", Href: self}}}
	if expand {
		n, more, zero := len(items), false, 0
		s.Items, s.Count, s.HasMore, s.Offset, s.TotalResults = items, &n, &more, &zero, &n
		if s.Items == nil {
			s.Items = []any{}
		}
	}
	return s
}

type transactionDoc struct {
	Links            []link       `json:"links"`
	ID               string       `json:"id"`
	TranID           string       `json:"tranId"`
	ExternalID       string       `json:"externalId,omitempty"`
	TranDate         string       `json:"tranDate"`
	CreatedDate      string       `json:"createdDate"`
	LastModifiedDate string       `json:"lastModifiedDate"`
	Currency         ref          `json:"currency"`
	Entity           *ref         `json:"entity,omitempty"`
	CreatedFrom      *ref         `json:"createdFrom,omitempty"`
	Status           *ref         `json:"status,omitempty"`
	OrderStatus      *ref         `json:"orderStatus,omitempty"`
	Location         *ref         `json:"location,omitempty"`
	AdjLocation      *ref         `json:"adjLocation,omitempty"`
	Memo             string       `json:"memo,omitempty"`
	Total            *json.Number `json:"total,omitempty"`
	Disposition      string       `json:"custbody_rb_disposition,omitempty"`
	Value            *json.Number `json:"custbody_rb_value,omitempty"`
	Item             *sublist     `json:"item,omitempty"`
	Inventory        *sublist     `json:"inventory,omitempty"`
}

type lineDoc struct {
	Line             int          `json:"line"`
	OrderLine        int          `json:"orderLine,omitempty"`
	Item             ref          `json:"item"`
	Quantity         int          `json:"quantity"`
	Rate             *json.Number `json:"rate,omitempty"`
	Amount           *json.Number `json:"amount,omitempty"`
	QuantityReceived *int         `json:"quantityReceived,omitempty"`
	QuantityBilled   *int         `json:"quantityBilled,omitempty"`
	// QuantityFulfilled is a sales order line's shipped units (item fulfilments).
	QuantityFulfilled *int   `json:"quantityFulfilled,omitempty"`
	TaxCode           *ref   `json:"taxCode,omitempty"`
	IsClosed          *bool  `json:"isClosed,omitempty"`
	ItemReceive       *bool  `json:"itemReceive,omitempty"`
	Restock           *bool  `json:"restock,omitempty"`
	Location          *ref   `json:"location,omitempty"`
	Condition         string `json:"custcol_rb_condition,omitempty"`
	ReturnReason      string `json:"custcol_rb_return_reason,omitempty"`
	OrderLineID       string `json:"custcol_rb_order_line_id,omitempty"`
}

type adjustmentLineDoc struct {
	Line        int  `json:"line"`
	Item        ref  `json:"item"`
	Location    *ref `json:"location,omitempty"`
	AdjustQtyBy int  `json:"adjustQtyBy"`
}

func decimal(minor int64) *json.Number {
	n := json.Number(money.FormatDecimal(minor, currency))
	return &n
}

func ptr[T any](v T) *T { return &v }

func date(t time.Time) string  { return t.UTC().Format("2006-01-02") }
func stamp(t time.Time) string { return t.UTC().Truncate(time.Second).Format(time.RFC3339) }

func statusRef(s status) *ref { return &ref{ID: s.code, RefName: s.text} }

func itemRef(l line) ref { return ref{ID: l.itemID, RefName: l.sku} }

// render returns the record of recordType with id as NetSuite serves it; false when there is none.
// The caller holds mu.
func (l *ledger) render(s *Sandbox, r *http.Request, recordType, id string, expand bool) (any, bool) {
	self := s.selfURL(r, recordPath+recordType+"/"+id, nil)
	doc := transactionDoc{Links: []link{{Rel: "self", Href: self}}, ID: id, Currency: ref{ID: "1", RefName: currency}}
	items := func(lines []any) *sublist {
		sl := newSublist(self+"/item", expand, lines)
		return &sl
	}
	dated := func(t time.Time) {
		doc.TranDate, doc.CreatedDate, doc.LastModifiedDate = date(t), stamp(t), stamp(t)
	}
	switch recordType {
	case TypeSalesOrder:
		so, ok := l.salesOrders[id]
		if !ok {
			return nil, false
		}
		doc.TranID, doc.ExternalID = so.tranID, so.externalID
		doc.Entity = &ref{ID: so.entity, RefName: "Customer " + so.entity}
		doc.Status, doc.OrderStatus = statusRef(so.status), statusRef(so.status)
		dated(so.created)
		doc.LastModifiedDate = stamp(so.modified)
		var lines []any
		for _, ln := range so.lines {
			lines = append(lines, soLineDoc(ln))
		}
		doc.Item = items(lines)
	case TypeReturnAuthorization:
		ra, ok := l.rmas[id]
		if !ok {
			return nil, false
		}
		st := ra.status()
		doc.TranID, doc.ExternalID, doc.Memo = ra.tranID, ra.externalID, ra.memo
		doc.Entity = &ref{ID: ra.createdFrom.entity, RefName: "Customer " + ra.createdFrom.entity}
		doc.CreatedFrom = &ref{ID: ra.createdFrom.id, RefName: "Sales Order #" + ra.createdFrom.tranID}
		doc.Status, doc.OrderStatus = statusRef(st), statusRef(st)
		dated(ra.created)
		var total int64
		var lines []any
		for _, ln := range ra.lines {
			total += ln.rate * int64(ln.quantity)
			lines = append(lines, lineDoc{Line: ln.number, OrderLine: ln.orderLine, Item: itemRef(ln.line),
				Quantity: ln.quantity, Rate: decimal(ln.rate), Amount: decimal(ln.rate * int64(ln.quantity)),
				QuantityReceived: ptr(ln.received), QuantityBilled: ptr(ln.credited), IsClosed: ptr(ln.closed),
				ReturnReason: ln.returnReason, OrderLineID: ln.storefrontLineID})
		}
		doc.Total = decimal(total)
		doc.Item = items(lines)
	case TypeItemReceipt:
		ir, ok := l.receipts[id]
		if !ok {
			return nil, false
		}
		doc.TranID = ir.tranID
		doc.Entity = &ref{ID: ir.createdFrom.createdFrom.entity}
		doc.CreatedFrom = &ref{ID: ir.createdFrom.id, RefName: "Return Authorization #" + ir.createdFrom.tranID}
		doc.Location = &ref{ID: ir.location}
		dated(ir.created)
		var lines []any
		for i, ln := range ir.lines {
			lines = append(lines, lineDoc{Line: i + 1, OrderLine: ln.orderLine, Item: itemRef(ln.line), Quantity: ln.quantity,
				ItemReceive: ptr(true), Restock: ptr(ln.restock), Location: &ref{ID: ln.location}, Condition: ln.condition})
		}
		doc.Item = items(lines)
	case TypeCreditMemo:
		cm, ok := l.memos[id]
		if !ok {
			return nil, false
		}
		doc.TranID = cm.tranID
		doc.Entity = &ref{ID: cm.createdFrom.createdFrom.entity}
		doc.CreatedFrom = &ref{ID: cm.createdFrom.id, RefName: "Return Authorization #" + cm.createdFrom.tranID}
		doc.Status = statusRef(cmOpen)
		doc.Total = decimal(cm.total)
		dated(cm.created)
		var lines []any
		for i, ln := range cm.lines {
			lines = append(lines, lineDoc{Line: i + 1, OrderLine: ln.orderLine, Item: itemRef(ln.line), Quantity: ln.quantity,
				Rate: decimal(ln.rate), Amount: decimal(ln.amount), Restock: ptr(ln.restock)})
		}
		doc.Item = items(lines)
	case TypeInventoryAdjustment:
		adj, ok := l.adjustments[id]
		if !ok {
			return nil, false
		}
		doc.TranID, doc.ExternalID, doc.Memo, doc.Disposition = adj.tranID, adj.externalID, adj.memo, adj.disposition
		doc.AdjLocation = &ref{ID: adj.location}
		if adj.value != nil {
			doc.Value = decimal(*adj.value)
		}
		dated(adj.created)
		var lines []any
		for i, ln := range adj.lines {
			lines = append(lines, adjustmentLineDoc{Line: i + 1, Item: ref{ID: ln.itemID, RefName: ln.sku},
				Location: &ref{ID: ln.location}, AdjustQtyBy: ln.adjustQtyBy})
		}
		sl := newSublist(self+"/inventory", expand, lines)
		doc.Inventory = &sl
	default:
		return l.renderCash(s, r, recordType, id, expand)
	}
	return doc, true
}

// lookup resolves id (an internal id, or eid:<external id>) of recordType to an internal id.
// The caller holds mu.
func (l *ledger) lookup(recordType, id string) (string, bool) {
	ext, isExt := strings.CutPrefix(id, "eid:")
	switch recordType {
	case TypeSalesOrder:
		if isExt {
			so, ok := l.soByExternal[ext]
			if !ok {
				return "", false
			}
			return so.id, true
		}
		_, ok := l.salesOrders[id]
		return id, ok
	case TypeReturnAuthorization:
		if isExt {
			for _, ra := range l.rmas {
				if ra.externalID != "" && ra.externalID == ext {
					return ra.id, true
				}
			}
			return "", false
		}
		_, ok := l.rmas[id]
		return id, ok
	case TypeItemReceipt:
		_, ok := l.receipts[id]
		return id, ok && !isExt
	case TypeCreditMemo:
		_, ok := l.memos[id]
		return id, ok && !isExt
	case TypeInventoryAdjustment:
		if isExt {
			for _, adj := range l.adjustments {
				if adj.externalID != "" && adj.externalID == ext {
					return adj.id, true
				}
			}
			return "", false
		}
		_, ok := l.adjustments[id]
		return id, ok
	}
	return l.lookupCash(recordType, id)
}

// soLineDoc renders a sales order line, with what was fulfilled of it and its tax code.
func soLineDoc(ln soLine) lineDoc {
	doc := lineDoc{Line: ln.number, Item: itemRef(ln.line), Quantity: ln.quantity,
		Rate: decimal(ln.rate), Amount: decimal(ln.rate * int64(ln.quantity)), OrderLineID: ln.orderLineID,
		QuantityFulfilled: ptr(ln.fulfilled), IsClosed: ptr(ln.closed)}
	if ln.taxCode != "" {
		doc.TaxCode = &ref{ID: ln.taxCode}
	}
	return doc
}
