package orders

import (
	"context"
	"strconv"

	"google.golang.org/protobuf/types/known/durationpb"

	"github.com/retailbridge/retailbridge/pkg/errs"
	"github.com/retailbridge/retailbridge/pkg/workflow"

	inventoryv1 "github.com/retailbridge/retailbridge/pkg/gen/retailbridge/process/inventory/v1"
)

// reserveStep reserves every allocated unit in the inventory process and commits it, one
// reservation per allocation, each with its own deterministic key. An inventory process that
// cannot reserve (its Reserve not deployed: Unimplemented) holds the order in
// awaiting_inventory; nothing is sent to the warehouse without a reservation.
func reserveStep(sys systems, cfg WorkflowConfig) stepFunc {
	return func(ctx context.Context, r workflow.Run, d *orderData) (string, error) {
		o, err := d.order()
		if err != nil {
			return "", err
		}
		if len(d.Allocations) == 0 {
			if err := d.allocate(cfg.WarehouseLocation); err != nil {
				return "", err
			}
		}
		for i, a := range d.Allocations {
			if i < len(d.Reservations) && d.Reservations[i].Committed {
				continue
			}
			if i >= len(d.Reservations) {
				resp, err := sys.inventory.Reserve(ctx, &inventoryv1.ReserveRequest{OrderId: d.OrderID, Sku: a.SKU, Quantity: int64(a.Quantity),
					IdempotencyKey: d.attemptKey(r.Key) + ":" + strconv.Itoa(i), LocationId: a.Location, Channel: o.GetSource(), Ttl: durationpb.New(cfg.ReservationTTL)})
				if why := cannotServe(err); why != "" {
					return d.lostRace(ctx, sys, r, cfg, a, why) // another order took the units (reroute.go)
				}
				if held, err := holdOn(err, d, "the inventory process cannot reserve"); held || err != nil {
					return StateAwaitingInventory, err
				}
				d.Reservations = append(d.Reservations, reservation{LineID: a.LineID, Location: resp.GetLocationId(), ID: resp.GetReservationId()})
			}
			_, err := sys.inventory.Commit(ctx, &inventoryv1.CommitRequest{ReservationId: d.Reservations[i].ID})
			if held, err := holdOn(err, d, "the inventory process cannot commit"); held || err != nil {
				return StateAwaitingInventory, err
			}
			d.Reservations[i].Committed = true
		}
		d.Reasons = nil
		return StateSending, nil
	}
}

// reserveCompensation releases the order's reservations.
func reserveCompensation(sys systems) compFunc {
	return func(ctx context.Context, _ workflow.Run, d *orderData) error {
		if len(d.Shipments) > 0 {
			return nil
		}
		for _, res := range d.Reservations {
			_, err := sys.inventory.Release(ctx, &inventoryv1.ReleaseRequest{ReservationId: res.ID})
			if err := asError(err); err != nil && errs.KindOf(err) != errs.NotFound {
				return err
			}
		}
		return nil
	}
}
