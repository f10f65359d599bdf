package stack

import (
	"context"
	"fmt"

	"google.golang.org/grpc"

	"github.com/retailbridge/retailbridge/pkg/grpcx"
	"github.com/retailbridge/retailbridge/pkg/telemetry"
	"github.com/retailbridge/retailbridge/services/process/orders"

	inventoryv1 "github.com/retailbridge/retailbridge/pkg/gen/retailbridge/process/inventory/v1"
	commercev1 "github.com/retailbridge/retailbridge/pkg/gen/retailbridge/system/commerce/v1"
	erpv1 "github.com/retailbridge/retailbridge/pkg/gen/retailbridge/system/erp/v1"
	omsv1 "github.com/retailbridge/retailbridge/pkg/gen/retailbridge/system/oms/v1"
	paymentsv1 "github.com/retailbridge/retailbridge/pkg/gen/retailbridge/system/payments/v1"
	wmsv1 "github.com/retailbridge/retailbridge/pkg/gen/retailbridge/system/wms/v1"
)

// orderWorkflowSystems are the services the order workflow calls.
var orderWorkflowSystems = []Component{Commerce, ERP, OMS, WMS, Payments, Inventory}

// startOrderWorkflow builds the order workflow (the orders service's write side) over its
// database and starts it; it returns the workflow, to be served beside the reads, and the
// probes of its health.
func (s *Stack) startOrderWorkflow() (*orders.Workflow, []grpcx.Probe, error) {
	conns := map[Component]*grpc.ClientConn{}
	for _, c := range orderWorkflowSystems {
		var err error
		if conns[c], err = s.dial(c); err != nil {
			return nil, nil, err
		}
	}
	db, err := s.database(s.ctx, "orders")
	if err != nil {
		return nil, nil, err
	}
	js, err := s.jetStream()
	if err != nil {
		return nil, nil, err
	}
	tenants, err := s.tenantDirectory()
	if err != nil {
		return nil, nil, err
	}
	var business *telemetry.Business
	if s.Metrics != nil {
		business = s.Metrics.Business
	}
	var wf *orders.Workflow
	// NewWorkflow migrates the database: a database that went away since it was opened is waited for.
	err = s.waitFor("orders database migrations", func(context.Context) (err error) {
		wf, err = orders.NewWorkflow(orders.WorkflowConfig{WarehouseLocation: s.opts.Config.OrderWarehouse, AckSLA: s.opts.Config.OrderAckSLA,
			ERPStatusPoll: s.opts.Config.OrderERPPoll},
			orders.WorkflowDeps{DB: db, JetStream: js, Business: business, Logger: s.logger.With("service", "orders", "part", "workflow"), Now: s.opts.Now,
				Commerce: commercev1.NewCommerceServiceClient(conns[Commerce]), ERP: erpv1.NewErpServiceClient(conns[ERP]),
				OMS: omsv1.NewOmsServiceClient(conns[OMS]), WMS: wmsv1.NewWmsServiceClient(conns[WMS]),
				Payments:  paymentsv1.NewPaymentsServiceClient(conns[Payments]),
				Inventory: inventoryv1.NewInventoryServiceClient(conns[Inventory]), Tenants: tenants})
		return err
	})
	if err != nil {
		return nil, nil, err
	}
	s.wg.Go(func() {
		if err := wf.Run(s.ctx); err != nil {
			s.fail(fmt.Errorf("order workflow: %w", err))
		}
	})
	return wf, []grpcx.Probe{dbProbe(db)}, nil
}

// startSettlement builds the settler over the orders database and runs it every
// RB_SETTLEMENT_INTERVAL; it returns the API that serves its results to support.
func (s *Stack) startSettlement() (*orders.SettlementAPI, error) {
	conn, err := s.dial(Payments)
	if err != nil {
		return nil, err
	}
	erpConn, err := s.dial(ERP)
	if err != nil {
		return nil, err
	}
	db, err := s.database(s.ctx, "orders")
	if err != nil {
		return nil, err
	}
	cfg := s.opts.Config
	bp, fixed, err := cfg.SettlementFees()
	if err != nil {
		return nil, err
	}
	var settler *orders.Settler
	err = s.waitFor("orders database migrations", func(context.Context) (err error) {
		settler, err = orders.NewSettler(db, orders.PaymentsPayouts{Client: paymentsv1.NewPaymentsServiceClient(conn)},
			orders.ERPCash{Client: erpv1.NewErpServiceClient(erpConn)},
			orders.SettlementConfig{Fees: orders.FeeSchedule{BasisPoints: bp, Fixed: fixed},
				PayoutGrace: cfg.SettlementGrace, Lookback: cfg.SettlementLookback,
				Log: s.logger.With("service", "orders", "part", "settlement")}, s.opts.Now, s.Metrics.Registry)
		return err
	})
	if err != nil {
		return nil, err
	}
	settler.Serve(s.ctx) // runs support triggers work on the stack's context, not the request's
	log := s.logger.With("service", "orders", "part", "settlement")
	s.wg.Go(func() {
		err := settler.Loop(s.ctx, cfg.SettlementInterval, func(run orders.SettlementRun, err error) {
			if err != nil && s.ctx.Err() == nil {
				log.Warn("settlement run failed; retried at the next interval", "err", err)
				return
			}
			log.Info("settlement run", "payouts", run.Payouts, "lines", run.Lines, "new_mismatches", run.NewMismatches)
		})
		if err != nil {
			s.fail(fmt.Errorf("settlement: %w", err))
		}
	})
	return &orders.SettlementAPI{Settler: settler}, nil
}
