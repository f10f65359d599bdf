package orders

// The order workflow (the write side of order-to-cash): every order the commerce platform
// creates runs through validation, enrichment, routing, the ERP sales order, reservation,
// the warehouse, shipment, fulfilment, item fulfilment, invoice and capture, as durable steps
// of pkg/workflow. One file per step (step_*.go); the state machine and its invariants are in
// workflow_machine.go; events and support actions in workflow_events.go and workflow_api.go.

import (
	"context"
	"embed"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"time"

	"github.com/nats-io/nats.go/jetstream"

	"github.com/retailbridge/retailbridge/pkg/errs"
	"github.com/retailbridge/retailbridge/pkg/events"
	"github.com/retailbridge/retailbridge/pkg/store"
	"github.com/retailbridge/retailbridge/pkg/telemetry"
	"github.com/retailbridge/retailbridge/pkg/tenancy"
	"github.com/retailbridge/retailbridge/pkg/workflow"

	inventoryv1 "github.com/retailbridge/retailbridge/pkg/gen/retailbridge/process/inventory/v1"
	ordersv1 "github.com/retailbridge/retailbridge/pkg/gen/retailbridge/process/orders/v1"
	commercev1 "github.com/retailbridge/retailbridge/pkg/gen/retailbridge/system/commerce/v1"
	erpv1 "github.com/retailbridge/retailbridge/pkg/gen/retailbridge/system/erp/v1"
	omsv1 "github.com/retailbridge/retailbridge/pkg/gen/retailbridge/system/oms/v1"
	paymentsv1 "github.com/retailbridge/retailbridge/pkg/gen/retailbridge/system/payments/v1"
	wmsv1 "github.com/retailbridge/retailbridge/pkg/gen/retailbridge/system/wms/v1"
)

//go:embed migrations/*.sql
var workflowMigrations embed.FS

// WorkflowKind is the pkg/workflow kind of an order.
const WorkflowKind = "order"

// Defaults of WorkflowConfig fields left zero.
const (
	DefaultAckSLA            = 4 * time.Hour
	DefaultHoldRetry         = 15 * time.Minute
	DefaultReservationTTL    = 72 * time.Hour
	DefaultExceptionPageSize = 100
)

// WorkflowConfig configures the order workflow.
type WorkflowConfig struct {
	// WarehouseLocation is the location orders ship from when the OMS does not route them
	// (ship-to-home orders routed straight to the ERP); required. A deployment fact.
	WarehouseLocation string
	// AckSLA is how long the warehouse has to acknowledge a shipping order before the order is
	// escalated (once; the order is never sent again). Default 4h.
	AckSLA time.Duration
	// HoldRetry is how often an order held on something outside Retailbridge (tax master data,
	// the inventory process's reservations) is tried again on its own. Default 15m.
	HoldRetry time.Duration
	// ReservationTTL is how long the inventory process holds an order's reservation before it is
	// committed. Default 72h.
	ReservationTTL time.Duration
	// ERPStatusPoll is how often the ERP's sales order changes are read (step_erp_status.go).
	// Default 1m.
	ERPStatusPoll time.Duration
	// MaxReroutes is how often an order whose allocated location ran out before its
	// reservation is routed again before it waits in awaiting_stock (reroute.go). Default 3.
	MaxReroutes int
}

func (c WorkflowConfig) withDefaults() WorkflowConfig {
	if c.AckSLA == 0 {
		c.AckSLA = DefaultAckSLA
	}
	if c.HoldRetry == 0 {
		c.HoldRetry = DefaultHoldRetry
	}
	if c.ReservationTTL == 0 {
		c.ReservationTTL = DefaultReservationTTL
	}
	if c.ERPStatusPoll == 0 {
		c.ERPStatusPoll = DefaultERPStatusPoll
	}
	if c.MaxReroutes == 0 {
		c.MaxReroutes = DefaultMaxReroutes
	}
	return c
}

// Validate names every bad field at once.
func (c WorkflowConfig) Validate() error {
	var bad []string
	if l := c.WarehouseLocation; l == "" || strings.TrimSpace(l) != l || len(l) > maxIDLength {
		bad = append(bad, "WarehouseLocation: required, without surrounding spaces, at most 256 characters")
	}
	for name, d := range map[string]time.Duration{"AckSLA": c.AckSLA, "HoldRetry": c.HoldRetry, "ReservationTTL": c.ReservationTTL, "ERPStatusPoll": c.ERPStatusPoll} {
		if d < 0 {
			bad = append(bad, name+": must not be negative")
		}
	}
	if c.MaxReroutes < 0 {
		bad = append(bad, "MaxReroutes: must not be negative")
	}
	if len(bad) > 0 {
		return fmt.Errorf("order workflow config: %s", strings.Join(bad, "; "))
	}
	return nil
}

// WorkflowDeps are the workflow's collaborators; every client is required.
type WorkflowDeps struct {
	// DB holds workflow state, the tax configuration, the outbox and the inbox; migrated by
	// NewWorkflow. It may be the order store's database.
	DB        *store.DB
	JetStream jetstream.JetStream
	Commerce  commercev1.CommerceServiceClient
	ERP       erpv1.ErpServiceClient
	OMS       omsv1.OmsServiceClient
	WMS       wmsv1.WmsServiceClient
	Payments  paymentsv1.PaymentsServiceClient
	Inventory inventoryv1.InventoryServiceClient
	Logger    *slog.Logger
	Now       func() time.Time
	// Business receives the order processing latency; nil records none.
	Business *telemetry.Business
	// Tenants maps partner sources to tenants, for routing the order's system calls (nil:
	// routed by channel only).
	Tenants *tenancy.Directory
}

// systems are the clients the steps call.
type systems struct {
	commerce  commercev1.CommerceServiceClient
	erp       erpv1.ErpServiceClient
	oms       omsv1.OmsServiceClient
	wms       wmsv1.WmsServiceClient
	payments  paymentsv1.PaymentsServiceClient
	inventory inventoryv1.InventoryServiceClient
}

// Workflow runs the order workflow and serves ordersv1.OrderWorkflowServiceServer.
type Workflow struct {
	ordersv1.UnimplementedOrderWorkflowServiceServer

	cfg    WorkflowConfig
	db     *store.DB
	js     jetstream.JetStream
	outbox *events.Outbox
	engine *workflow.Engine
	taxes  *taxTable
	sys    systems
	log    *slog.Logger
	now    func() time.Time
}

// NewWorkflow migrates deps.DB and returns the workflow; Run drives it.
func NewWorkflow(cfg WorkflowConfig, deps WorkflowDeps) (*Workflow, error) {
	cfg = cfg.withDefaults()
	err := cfg.Validate()
	var missing []string
	for name, ok := range map[string]bool{"DB": deps.DB != nil, "JetStream": deps.JetStream != nil, "Commerce": deps.Commerce != nil,
		"ERP": deps.ERP != nil, "OMS": deps.OMS != nil, "WMS": deps.WMS != nil, "Payments": deps.Payments != nil, "Inventory": deps.Inventory != nil} {
		if !ok {
			missing = append(missing, name)
		}
	}
	if len(missing) > 0 {
		err = errors.Join(err, fmt.Errorf("order workflow deps: %s required", strings.Join(missing, ", ")))
	}
	if err != nil {
		return nil, err
	}
	if deps.Logger == nil {
		deps.Logger = slog.New(slog.DiscardHandler)
	}
	if deps.Now == nil {
		deps.Now = time.Now
	}
	ctx := context.Background()
	for _, m := range []func(context.Context, *store.DB) error{events.Migrate, workflow.Migrate,
		func(ctx context.Context, db *store.DB) error { return db.Migrate(ctx, "orders", workflowMigrations) }} {
		if err := m(ctx, deps.DB); err != nil {
			return nil, fmt.Errorf("order workflow: migrate: %w", err)
		}
	}
	w := &Workflow{cfg: cfg, db: deps.DB, js: deps.JetStream, outbox: events.NewOutbox(deps.Now), log: deps.Logger, now: deps.Now,
		taxes: &taxTable{db: deps.DB, now: deps.Now}}
	sys := systems{commerce: deps.Commerce, erp: deps.ERP, oms: deps.OMS, wms: deps.WMS, payments: deps.Payments, inventory: deps.Inventory}
	w.sys = sys
	opts := workflow.Options{Now: deps.Now, Logger: deps.Logger, Lease: 30 * time.Second}
	if deps.Business != nil {
		opts.Observer = orderKPIs{m: deps.Business}
	}
	w.engine = workflow.New(deps.DB, w.outbox, opts,
		orderDefinition(sys, w.taxes, cfg, deps.Now, deps.Tenants))
	return w, nil
}

// RunOnce runs due steps and timers once (tests drive time with it).
func (w *Workflow) RunOnce(ctx context.Context) (int, error) { return w.engine.RunOnce(ctx) }

// State reads an order's workflow and its history (tests and operators).
func (w *Workflow) State(ctx context.Context, orderID string) (workflow.Instance, []workflow.Entry, error) {
	return w.engine.Get(ctx, orderID)
}

// Signal delivers a signal to an order's workflow in its own transaction.
func (w *Workflow) Signal(ctx context.Context, orderID, signal string, payload []byte) (bool, error) {
	var applied bool
	err := w.db.InTx(ctx, func(tx *store.Tx) error {
		var err error
		applied, err = w.engine.Signal(ctx, tx, orderID, signal, payload)
		return err
	})
	return applied, err
}

// asError turns a system API's status into an errs error (retryable kinds stay retryable).
func asError(err error) error {
	if err == nil {
		return nil
	}
	return errs.FromError(err)
}
