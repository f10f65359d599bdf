package orders

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"golang.org/x/sync/errgroup"
	"google.golang.org/protobuf/types/known/anypb"
	"google.golang.org/protobuf/types/known/timestamppb"

	"github.com/retailbridge/retailbridge/pkg/errs"
	"github.com/retailbridge/retailbridge/pkg/events"
	"github.com/retailbridge/retailbridge/pkg/governor"
	"github.com/retailbridge/retailbridge/pkg/store"
	"github.com/retailbridge/retailbridge/pkg/vendorhttp"
	"github.com/retailbridge/retailbridge/pkg/workflow"

	canonicalv1 "github.com/retailbridge/retailbridge/pkg/gen/retailbridge/canonical/v1"
	erpv1 "github.com/retailbridge/retailbridge/pkg/gen/retailbridge/system/erp/v1"
)

// Following the ERP sales order (Pending Fulfillment → … → Billed). The ERP kind's changes are
// polled through the ERP system API (NetSuite: SuiteQL on transaction.lastmodifieddate;
// Business Central: $filter on lastModifiedDateTime, and the invoices posted since) from a
// watermark kept in the orders database. Business Central deletes a sales order once it is
// posted fully shipped and invoiced, and a user may delete one, which no listing shows: the
// poll also names the sales orders it follows (order_erp_follow: seen open, no final status
// yet), and the ERP reports those gone as Billed (an invoice records them) or Deleted (closed:
// an order still being fulfilled goes to the erp_status_conflict queue with the reason); each change becomes an EVENT_TYPE_ERP_SALES_ORDER_UPDATED event written to the
// outbox in the same transaction that moves the watermark, with an id derived from the sales
// order, its modification time and status, so a repeated poll publishes nothing twice.
// Business Central's webhook notifications publish the same event type. The workflow's
// consumer turns each into a signal: the order's timeline records the ERP status, and a
// status that contradicts the workflow (the ERP closed or cancelled an order the workflow is
// still fulfilling) holds the order in the erp_status_conflict queue for support.

// Names of the ERP status follower.
const (
	SignalERPStatus        = "erp_status"
	StateERPConflict       = "erp_status_conflict" // held: the ERP contradicts the workflow (queue "erp_status_conflict")
	QueueERPStatusConflict = "erp_status_conflict"
	erpStatusWatermark     = "erp-sales-orders"
	erpStatusConsumer      = "orders-workflow-from-erp"
	// DefaultERPStatusPoll is how often the ERP's sales order changes are polled.
	DefaultERPStatusPoll = time.Minute
	erpStatusOverlap     = 2 * time.Minute // clock skew between the ERP and us
	erpStatusBilled      = "Billed"        // final: nothing more happens to the sales order
	maxFollowed          = 500             // sales orders one poll follows (the ERP service's bound)
)

// erpStatus is SignalERPStatus's payload.
type erpStatus struct {
	SalesOrderID string `json:"sales_order_id"`
	Status       string `json:"status"`
	Closed       bool   `json:"closed"`
	ModifiedUS   int64  `json:"modified_us"`
}

// runERPStatus adds the poller and the consumer of ERP events to g.
func (w *Workflow) runERPStatus(ctx context.Context, g *errgroup.Group) error {
	if _, err := events.EnsureStream(ctx, w.js, "erp", events.StreamOptions{}); err != nil {
		return err
	}
	cons, err := events.NewConsumer(w.db, w.js, events.ConsumerConfig{Name: erpStatusConsumer, Stream: events.StreamName("erp"),
		Subjects: []string{events.DomainSubjects("erp")}, Logger: w.log, Now: w.now}, events.HandlerFunc(w.handleERPEvent))
	if err != nil {
		return err
	}
	g.Go(func() error { return cons.Run(ctx) })
	g.Go(func() error { return w.pollERPLoop(ctx) })
	return nil
}

// pollERPLoop polls every ERPStatusPoll until ctx ends; a failed poll is retried next time.
func (w *Workflow) pollERPLoop(ctx context.Context) error {
	t := time.NewTicker(w.cfg.ERPStatusPoll)
	defer t.Stop()
	for {
		if _, err := w.PollERPStatus(ctx); err != nil && ctx.Err() == nil {
			w.log.WarnContext(ctx, "ERP sales order poll failed; retried next interval", "err", err)
		}
		select {
		case <-ctx.Done():
			return nil
		case <-t.C:
		}
	}
}

// PollERPStatus reads the sales orders the ERP changed since the watermark (less an overlap),
// and what became of the sales orders it follows (order_erp_follow), and writes one event per
// change to the outbox, moving the watermark and the follow list in the same transaction. It
// returns how many changes it read.
func (w *Workflow) PollERPStatus(ctx context.Context) (int, error) {
	st := &orderStore{db: w.db, now: w.now}
	wm, ok, err := st.watermark(ctx, erpStatusWatermark)
	if err != nil {
		return 0, err
	}
	since := w.now().Add(-erpStatusOverlap)
	if ok {
		since = wm.Add(-erpStatusOverlap)
	}
	followed, err := w.followedSalesOrders(ctx)
	if err != nil {
		return 0, err
	}
	req := &erpv1.ListSalesOrderChangesRequest{ModifiedSince: timestamppb.New(since)}
	for id := range followed {
		req.FollowedSalesOrderIds = append(req.FollowedSalesOrderIds, id)
	}
	slices.Sort(req.FollowedSalesOrderIds)
	resp, err := w.sys.erp.ListSalesOrderChanges(governor.WithPriority(ctx, governor.Bulk), req)
	if err != nil {
		return 0, asError(err)
	}
	newest := since.Add(erpStatusOverlap)
	err = w.db.InTx(ctx, func(tx *store.Tx) error {
		for _, c := range resp.GetChanges() {
			if c.GetOrderId() == "" {
				c.OrderId = followed[c.GetSalesOrderId()] // a deleted order's change names only the sales order
			}
			if c.GetOrderId() == "" {
				continue // not a storefront order's
			}
			ev := salesOrderEvent(c)
			// The overlap lists a change again: its event is in the outbox already (or was, and
			// published: the broker's duplicate window and the consumer's inbox absorb a copy).
			var one int
			switch err := tx.QueryRow(ctx, `SELECT 1 FROM rb_outbox WHERE event_id = $1`, ev.GetId()).Scan(&one); {
			case err == nil:
				continue
			case !errors.Is(err, sql.ErrNoRows):
				return err
			}
			if err := w.outbox.Add(ctx, tx, ev); err != nil {
				return err
			}
			if err := follow(ctx, tx, c, w.now()); err != nil {
				return err
			}
			// A deletion is dated when it was found, not by the ERP: it says nothing of how far
			// the ERP's listing reached.
			if at := c.GetModifiedAt().AsTime(); at.After(newest) && !c.GetDeleted() {
				newest = at
			}
		}
		if err := markChecked(ctx, tx, req.GetFollowedSalesOrderIds(), w.now()); err != nil {
			return err
		}
		_, err := tx.Exec(ctx, `INSERT INTO order_store_watermarks (name, watermark_us, polled_us) VALUES ($1, $2, $3)
			ON CONFLICT (name) DO UPDATE SET polled_us = excluded.polled_us,
				watermark_us = CASE WHEN order_store_watermarks.watermark_us < excluded.watermark_us
					THEN excluded.watermark_us ELSE order_store_watermarks.watermark_us END`,
			erpStatusWatermark, newest.UnixMicro(), w.now().UnixMicro())
		return err
	})
	return len(resp.GetChanges()), err
}

// followedSalesOrders is the sales orders the poll follows, least recently checked first, at
// most maxFollowed: sales order id → storefront order id.
func (w *Workflow) followedSalesOrders(ctx context.Context) (map[string]string, error) {
	rows, err := w.db.Query(ctx, `SELECT sales_order_id, order_id FROM order_erp_follow
		ORDER BY checked_us, sales_order_id LIMIT $1`, maxFollowed)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	out := map[string]string{}
	for rows.Next() {
		var so, order string
		if err := rows.Scan(&so, &order); err != nil {
			return nil, err
		}
		out[so] = order
	}
	return out, rows.Err()
}

// markChecked moves the followed sales orders to the back of the follow list, in one statement.
func markChecked(ctx context.Context, tx *store.Tx, ids []string, now time.Time) error {
	if len(ids) == 0 {
		return nil
	}
	args := []any{now.UnixMicro()}
	marks := make([]string, len(ids))
	for i, id := range ids {
		args = append(args, id)
		marks[i] = fmt.Sprintf("$%d", i+2)
	}
	_, err := tx.Exec(ctx, `UPDATE order_erp_follow SET checked_us = $1 WHERE sales_order_id IN (`+strings.Join(marks, ", ")+`)`, args...)
	return err
}

// follow keeps the follow list: a sales order with a final status (Billed, closed, deleted)
// leaves it; one seen open joins it.
func follow(ctx context.Context, tx *store.Tx, c *erpv1.SalesOrderChange, now time.Time) error {
	if c.GetClosed() || c.GetDeleted() || c.GetStatus() == erpStatusBilled {
		_, err := tx.Exec(ctx, `DELETE FROM order_erp_follow WHERE sales_order_id = $1`, c.GetSalesOrderId())
		return err
	}
	_, err := tx.Exec(ctx, `INSERT INTO order_erp_follow (sales_order_id, order_id, checked_us) VALUES ($1, $2, $3)
		ON CONFLICT (sales_order_id) DO NOTHING`, c.GetSalesOrderId(), c.GetOrderId(), now.UnixMicro())
	return err
}

// salesOrderEvent is the event of one sales order change; its id is the change's.
func salesOrderEvent(c *erpv1.SalesOrderChange) *canonicalv1.Event {
	at := c.GetModifiedAt().AsTime()
	data, _ := anypb.New(&canonicalv1.Order{Id: c.GetOrderId(), ErpStatus: c.GetStatus(), ErpClosed: c.GetClosed(), UpdatedAt: c.GetModifiedAt()})
	return &canonicalv1.Event{Id: vendorhttp.EventID("erp", "salesOrder", c.GetSalesOrderId(), at.UTC().Format(time.RFC3339Nano), c.GetStatus()),
		Source: "retailbridge/process/orders", Type: events.TypeName(canonicalv1.EventType_EVENT_TYPE_ERP_SALES_ORDER_UPDATED),
		Time: timestamppb.New(at), Subject: "sales_order/" + c.GetSalesOrderId(), Data: data, SpecVersion: 1,
		References: &canonicalv1.EventReferences{OrderId: c.GetOrderId(), SystemRecordId: c.GetSalesOrderId()}}
}

// handleERPEvent signals the order a sales order change is about.
func (w *Workflow) handleERPEvent(ctx context.Context, tx *store.Tx, ev *canonicalv1.Event) error {
	if events.TypeOf(ev.GetType()) != canonicalv1.EventType_EVENT_TYPE_ERP_SALES_ORDER_UPDATED {
		return nil
	}
	msg, err := ev.GetData().UnmarshalNew()
	if err != nil {
		return errs.Wrap(err, errs.Invalid, "event_payload_unreadable", "the event payload is not a canonical message")
	}
	o, ok := msg.(*canonicalv1.Order)
	if !ok || o.GetId() == "" || o.GetErpStatus() == "" {
		return nil // a change that says no status (an older producer's) tells the workflow nothing
	}
	payload, err := json.Marshal(erpStatus{SalesOrderID: ev.GetReferences().GetSystemRecordId(), Status: o.GetErpStatus(),
		Closed: o.GetErpClosed(), ModifiedUS: o.GetUpdatedAt().AsTime().UnixMicro()})
	if err != nil {
		return err
	}
	_, err = w.engine.Signal(ctx, tx, o.GetId(), SignalERPStatus, payload)
	if errs.KindOf(err) == errs.NotFound || workflow.ErrNotFound(err) {
		return nil // an order this workflow never accepted
	}
	return err
}

// followUpSignals adds the ERP status signal to every state and the conflict queue's actions.
func (b builder) followUpSignals(m map[string]map[string]workflow.SignalHandler) {
	for state, hs := range m {
		if state != StateCancelled && state != StateCompleted && state != "*" {
			continue
		}
		hs[SignalERPStatus] = b.onERPStatus
	}
	m[StateFailed] = map[string]workflow.SignalHandler{SignalERPStatus: b.onERPStatus}
	m[StateERPConflict] = map[string]workflow.SignalHandler{SignalRelease: b.onConflictRelease, SignalERPStatus: b.onERPStatus,
		TimerHoldRetry: func(context.Context, workflow.Instance, []byte) (workflow.Result, error) {
			return workflow.Result{}, nil
		}}
}

// contradicted: states in which an ERP that closed the order contradicts the workflow (the
// order is still to be fulfilled); before booking there is no sales order, after shipment
// or cancellation a closed order is expected.
var contradicted = map[string]bool{StateReserving: true, StateAwaitingInventory: true, StateSending: true,
	StateAwaitingAck: true, StateAwaitingShipment: true}

// onERPStatus records the ERP status on the timeline; a closed ERP order the workflow is still
// fulfilling holds the order for support.
func (b builder) onERPStatus(_ context.Context, i workflow.Instance, payload []byte) (workflow.Result, error) {
	d, err := decode(i.Data)
	if err != nil {
		return workflow.Result{}, err
	}
	var st erpStatus
	if err := json.Unmarshal(payload, &st); err != nil {
		return workflow.Result{}, errs.Wrap(err, errs.Invalid, "erp_status_unreadable", "the ERP status is not readable")
	}
	if st.ModifiedUS < d.ERPStatusAt || (st.ModifiedUS == d.ERPStatusAt && st.Status == d.ERPStatus) {
		return workflow.Result{}, nil // older or the same: already on the timeline
	}
	d.ERPStatus, d.ERPStatusAt = st.Status, st.ModifiedUS
	note := fmt.Sprintf("ERP sales order %s is %s", st.SalesOrderID, st.Status)
	if !st.Closed || !contradicted[i.State] {
		return workflow.Result{Data: d, Note: note}, nil
	}
	d.ConflictFrom = i.State
	d.Reasons = []string{fmt.Sprintf("the ERP %s sales order %s while the order is %s", strings.ToLower(st.Status), st.SalesOrderID, i.State)}
	return workflow.Result{Next: StateERPConflict, Data: d, Note: note + ": contradicts the workflow; held for support",
		Events: []*canonicalv1.Event{stateEvent(d, StateERPConflict, b.now())}}, nil
}

// onConflictRelease is support's decision on an order the ERP contradicted: cancel it (with
// its compensations, the warehouse first), or carry on where it was (the ERP was reopened).
func (b builder) onConflictRelease(_ context.Context, i workflow.Instance, payload []byte) (workflow.Result, error) {
	d, err := decode(i.Data)
	if err != nil {
		return workflow.Result{}, err
	}
	var rel release
	if err := json.Unmarshal(payload, &rel); err != nil {
		return workflow.Result{}, errs.Wrap(err, errs.Invalid, "invalid_release", "the release is not readable")
	}
	from := d.ConflictFrom
	d.ConflictFrom, d.Reasons = "", nil
	if rel.Resolution == "cancel" {
		return b.cancelOrder(from, d, "cancelled by support after the ERP closed the order: "+rel.Note), nil
	}
	res := b.enter(d, resumeState(d, from))
	res.Note = fmt.Sprintf("released by support (%s): %s", rel.Resolution, rel.Note)
	return res, nil
}
