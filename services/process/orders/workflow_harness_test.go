package orders

import (
	"context"
	"net"
	"runtime"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/nats-io/nats.go/jetstream"
	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials/insecure"
	"google.golang.org/grpc/test/bufconn"
	"google.golang.org/protobuf/encoding/protojson"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/types/known/anypb"
	"google.golang.org/protobuf/types/known/timestamppb"

	"github.com/retailbridge/retailbridge/pkg/auth"
	"github.com/retailbridge/retailbridge/pkg/events"
	"github.com/retailbridge/retailbridge/pkg/events/eventstest"
	"github.com/retailbridge/retailbridge/pkg/store"
	"github.com/retailbridge/retailbridge/pkg/store/storetest"

	canonicalv1 "github.com/retailbridge/retailbridge/pkg/gen/retailbridge/canonical/v1"
	inventoryv1 "github.com/retailbridge/retailbridge/pkg/gen/retailbridge/process/inventory/v1"
	ordersv1 "github.com/retailbridge/retailbridge/pkg/gen/retailbridge/process/orders/v1"
	commercev1 "github.com/retailbridge/retailbridge/pkg/gen/retailbridge/system/commerce/v1"
	erpv1 "github.com/retailbridge/retailbridge/pkg/gen/retailbridge/system/erp/v1"
	omsv1 "github.com/retailbridge/retailbridge/pkg/gen/retailbridge/system/oms/v1"
	paymentsv1 "github.com/retailbridge/retailbridge/pkg/gen/retailbridge/system/payments/v1"
	wmsv1 "github.com/retailbridge/retailbridge/pkg/gen/retailbridge/system/wms/v1"
)

const wfWarehouse = "dc-east"

// wfCrash names the system RPC after whose successful answer the step's runner dies (once),
// before it records the answer: the crash at a step boundary of EV-5.
type wfCrash struct {
	mu     sync.Mutex
	method string
	fired  bool
	kills  int
}

func (c *wfCrash) arm(method string) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.method, c.fired = method, false
}

func (c *wfCrash) take(method string) bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.method != "" && strings.HasSuffix(method, "/"+c.method) {
		c.method, c.fired = "", true
		c.kills++
		return true
	}
	return false
}

func (c *wfCrash) crashed() bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	f := c.fired
	c.fired = false
	return f
}

// wfHarness is a database (SQLite or PostgreSQL), an embedded NATS JetStream, the in-memory
// system APIs over gRPC and a test clock; each workflow() is a fresh process over them.
type wfHarness struct {
	db    *store.DB
	js    jetstream.JetStream
	sys   *wfSystems
	clock *clock
	conn  *grpc.ClientConn
	crash *wfCrash
}

func newWFHarness(t *testing.T, d store.Dialect) *wfHarness {
	t.Helper()
	h := &wfHarness{db: storetest.Open(t, d, store.Options{}), sys: newWFSystems(), crash: &wfCrash{},
		clock: &clock{t: time.Date(2026, 12, 7, 9, 0, 0, 0, time.UTC)}}
	_, h.js = eventstest.Start(t).Connect(t)
	lis := bufconn.Listen(1 << 20)
	srv := grpc.NewServer()
	h.sys.register(srv)
	go func() { _ = srv.Serve(lis) }()
	t.Cleanup(srv.Stop)
	crash := func(ctx context.Context, method string, req, reply any, cc *grpc.ClientConn, invoker grpc.UnaryInvoker, opts ...grpc.CallOption) error {
		err := invoker(ctx, method, req, reply, cc, opts...)
		if err == nil && h.crash.take(method) {
			runtime.Goexit() // the process dies with the vendor's answer in hand, unrecorded
		}
		return err
	}
	conn, err := grpc.NewClient("passthrough:///bufconn",
		grpc.WithContextDialer(func(ctx context.Context, _ string) (net.Conn, error) { return lis.DialContext(ctx) }),
		grpc.WithTransportCredentials(insecure.NewCredentials()), grpc.WithChainUnaryInterceptor(crash))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = conn.Close() })
	h.conn = conn
	return h
}

// workflow is a new process's workflow over the harness.
func (h *wfHarness) workflow(t testing.TB) *Workflow {
	t.Helper()
	w, err := NewWorkflow(WorkflowConfig{WarehouseLocation: wfWarehouse, AckSLA: time.Hour, HoldRetry: 24 * time.Hour}, WorkflowDeps{
		DB: h.db, JetStream: h.js, Commerce: commercev1.NewCommerceServiceClient(h.conn), ERP: erpv1.NewErpServiceClient(h.conn),
		OMS: omsv1.NewOmsServiceClient(h.conn), WMS: wmsv1.NewWmsServiceClient(h.conn), Payments: paymentsv1.NewPaymentsServiceClient(h.conn),
		Inventory: inventoryv1.NewInventoryServiceClient(h.conn), Now: h.clock.Now,
	})
	if err != nil {
		t.Fatal(err)
	}
	return w
}

// drive runs due steps until nothing is due; a runner that died mid-step is replaced by a new
// process once its lease has run out.
func (h *wfHarness) drive(t testing.TB, w *Workflow) *Workflow {
	t.Helper()
	for range 100 {
		done := make(chan int, 1)
		exited := make(chan struct{})
		go func() {
			defer close(exited)
			n, err := w.RunOnce(context.Background())
			if err != nil {
				t.Error(err)
			}
			done <- n
		}()
		<-exited
		if h.crash.crashed() {
			h.clock.Advance(time.Minute)
			w = h.workflow(t)
			continue
		}
		if <-done == 0 {
			return w
		}
	}
	t.Fatal("the workflow never went quiet")
	return w
}

// deliver hands a commerce order event to the workflow as its consumer would.
func (h *wfHarness) deliver(t testing.TB, w *Workflow, typ canonicalv1.EventType, o *canonicalv1.Order) {
	t.Helper()
	if err := h.db.InTx(context.Background(), func(tx *store.Tx) error {
		return w.handleCommerceEvent(context.Background(), tx, wfEvent(t, typ, o))
	}); err != nil {
		t.Fatal(err)
	}
}

func wfEvent(t testing.TB, typ canonicalv1.EventType, m proto.Message) *canonicalv1.Event {
	t.Helper()
	data, err := anypb.New(m)
	if err != nil {
		t.Fatal(err)
	}
	return &canonicalv1.Event{Source: "test", Type: events.TypeName(typ), Data: data, Time: timestamppb.Now()}
}

// ship signals a shipment of every allocated unit of the order's i-th shipping order.
func (h *wfHarness) ship(t testing.TB, w *Workflow, o *canonicalv1.Order, signal string) {
	t.Helper()
	s := &canonicalv1.Shipment{Id: shipmentID(o.GetId(), 0), OrderId: o.GetId(), Carrier: "UPS", TrackingNumber: "1Z" + o.GetId(),
		FromLocationId: wfWarehouse}
	for _, l := range o.GetLines() {
		s.Lines = append(s.Lines, &canonicalv1.ShipmentLine{Sku: l.GetSku(), OrderLineId: l.GetId(), Quantity: l.GetQuantity()})
	}
	b, _ := protojson.Marshal(s)
	if _, err := w.Signal(context.Background(), o.GetId(), signal, b); err != nil {
		t.Fatal(err)
	}
}

func (h *wfHarness) state(t testing.TB, w *Workflow, id string) (string, *orderData) {
	t.Helper()
	inst, _, err := w.State(context.Background(), id)
	if err != nil {
		t.Fatal(err)
	}
	d, err := decode(inst.Data)
	if err != nil {
		t.Fatal(err)
	}
	return inst.State, d
}

func (h *wfHarness) wantState(t testing.TB, w *Workflow, id, want string) *orderData {
	t.Helper()
	got, d := h.state(t, w, id)
	if got != want {
		_, hist, _ := w.State(context.Background(), id)
		for _, e := range hist {
			t.Logf("  %s %s %s %s %s", e.State, e.Kind, e.Description, e.System, e.Outcome)
		}
		t.Fatalf("order %s is %s, want %s", id, got, want)
	}
	return d
}

// putTax sets a tax code as support does.
func (h *wfHarness) putTax(t testing.TB, w *Workflow, jurisdiction, category, code string) {
	t.Helper()
	if _, err := w.PutTaxCode(wfAgent(), &ordersv1.PutTaxCodeRequest{Jurisdiction: jurisdiction, Category: category, TaxCode: code}); err != nil {
		t.Fatal(err)
	}
}

func wfAgent() context.Context {
	return auth.WithPrincipal(context.Background(), auth.Principal{Audience: auth.Support, Subject: "agent-7",
		Scopes: []string{ScopeSupportRead, ScopeSupportWrite}})
}

// wfOrder is a paid ship-to-home order to California with the given SKUs, one unit each.
func wfOrder(id string, skus ...string) *canonicalv1.Order {
	o := &canonicalv1.Order{Id: id, Name: "#" + id, Customer: &canonicalv1.CustomerRef{Id: "7000001"}, Source: "web",
		FulfillmentModel: canonicalv1.FulfillmentModel_FULFILLMENT_MODEL_SHIP_TO_HOME,
		FinancialStatus:  canonicalv1.FinancialStatus_FINANCIAL_STATUS_PAID, PaymentReference: "pi_" + id,
		Total:           &canonicalv1.Money{CurrencyCode: "USD", AmountMinor: 2500},
		ShippingAddress: &canonicalv1.Address{Name: "Ada", Lines: []string{"1 Main St"}, City: "Fresno", Region: "CA", CountryCode: "US"}}
	for i, sku := range skus {
		o.Lines = append(o.Lines, &canonicalv1.OrderLine{Id: id + "-L" + string(rune('1'+i)), Sku: sku, Quantity: 1,
			UnitPrice: &canonicalv1.Money{CurrencyCode: "USD", AmountMinor: 2500}})
	}
	return o
}

// stateOrEmpty is the order's state, or "" before it is accepted.
func (h *wfHarness) stateOrEmpty(w *Workflow, id string) (string, error) {
	inst, _, err := w.State(context.Background(), id)
	return inst.State, err
}

// consumed counts the events a consumer took in (its inbox rows).
func (h *wfHarness) consumed(t testing.TB, consumer string) int {
	t.Helper()
	var n int
	if err := h.db.QueryRow(context.Background(), `SELECT COUNT(*) FROM rb_inbox WHERE consumer = $1`, consumer).Scan(&n); err != nil {
		t.Fatal(err)
	}
	return n
}
