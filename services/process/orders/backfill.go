package orders

import (
	"context"
	"database/sql"
	"errors"
	"time"

	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/types/known/timestamppb"

	"github.com/retailbridge/retailbridge/pkg/errs"

	commercev1 "github.com/retailbridge/retailbridge/pkg/gen/retailbridge/system/commerce/v1"
)

// The whole-shop backfill (RB_ORDER_BACKFILL) reads the platform's bulk export of every order
// (Shopify: a bulk operation whose JSONL result lists each order's id and updated_at) instead of
// paging the orders search, which costs the shop's query budget per page. Like the repair poll it
// reads in full only what the store lacks (applyChanges). It is resumable: the export's id and
// the next page are kept in order_store_backfill after each page, so a restart follows the same
// export from where it stopped; a failed or expired export is forgotten and the next poll starts
// another. It runs as bulk work (PollOnce marks its context), behind customer-facing calls in the
// commerce governor.

const (
	backfillName = "commerce-orders"
	// backfillPageSize is how many exported orders one page applies between progress marks.
	backfillPageSize = 500
	// backfillPollEvery is how often a running export is looked at.
	backfillPollEvery = time.Second
)

// errNoExport says the commerce platform cannot export (the backfill pages the search instead).
var errNoExport = errors.New("the commerce platform cannot export orders")

// backfill runs (or resumes) the export sweep of the whole shop into res.
func (s *Service) backfill(ctx context.Context, res *PollResult) error {
	id, token, err := s.backfillProgress(ctx)
	if err != nil {
		return err
	}
	if id == "" {
		started, err := s.commerce.ExportOrderChanges(ctx, &commercev1.ExportOrderChangesRequest{UpdatedSince: timestamppb.New(time.Unix(0, 0))})
		if status.Code(err) == codes.Unimplemented {
			return errNoExport
		}
		if err != nil {
			return err
		}
		id = started.GetExportId()
		if err := s.saveBackfill(ctx, id, "", *res); err != nil {
			return err
		}
	}
	for {
		page, err := s.exportPage(ctx, id, token)
		if err != nil {
			return err
		}
		if err := s.applyChanges(ctx, page.GetOrders(), res); err != nil {
			return err
		}
		token = page.GetNextPageToken()
		if token == "" {
			return s.endBackfill(ctx)
		}
		if err := s.saveBackfill(ctx, id, token, *res); err != nil {
			return err
		}
	}
}

// exportPage waits until the export is complete and returns its page at token. A failed export
// is forgotten, so the next poll starts another.
func (s *Service) exportPage(ctx context.Context, id, token string) (*commercev1.ExportOrderChangesResponse, error) {
	t := time.NewTicker(backfillPollEvery)
	defer t.Stop()
	for {
		page, err := s.commerce.ExportOrderChanges(ctx, &commercev1.ExportOrderChangesRequest{ExportId: id,
			PageSize: backfillPageSize, PageToken: token})
		if status.Code(err) == codes.NotFound {
			return nil, errors.Join(err, s.endBackfill(ctx))
		}
		if err != nil {
			return nil, err
		}
		switch page.GetStatus() {
		case commercev1.OrderExportStatus_ORDER_EXPORT_STATUS_COMPLETED:
			return page, nil
		case commercev1.OrderExportStatus_ORDER_EXPORT_STATUS_FAILED:
			return nil, errors.Join(errs.E(errs.Unavailable, "order_export_failed", "the platform's order export failed; a new one starts at the next poll"),
				s.endBackfill(ctx))
		}
		select {
		case <-ctx.Done():
			return nil, ctx.Err()
		case <-t.C:
		}
	}
}

// backfillProgress reads the export in progress, if any.
func (s *Service) backfillProgress(ctx context.Context) (id, token string, err error) {
	err = s.db.QueryRow(ctx, `SELECT export_id, next_token FROM order_store_backfill WHERE name = $1`, backfillName).Scan(&id, &token)
	if errors.Is(err, sql.ErrNoRows) {
		return "", "", nil
	}
	return id, token, err
}

// saveBackfill records the export and the page to apply next.
func (s *Service) saveBackfill(ctx context.Context, id, token string, res PollResult) error {
	now := s.now().UnixMicro()
	_, err := s.db.Exec(ctx, `INSERT INTO order_store_backfill (name, export_id, next_token, seen, watermark_us, started_us, updated_us)
		VALUES ($1, $2, $3, $4, $5, $6, $6) ON CONFLICT (name) DO UPDATE SET export_id = excluded.export_id,
		next_token = excluded.next_token, seen = order_store_backfill.seen + excluded.seen, watermark_us = excluded.watermark_us,
		updated_us = excluded.updated_us`, backfillName, id, token, res.Seen, res.Watermark.UnixMicro(), now)
	return err
}

// endBackfill forgets the export: the sweep is complete (the caller marks it) or must start over.
func (s *Service) endBackfill(ctx context.Context) error {
	_, err := s.db.Exec(ctx, `DELETE FROM order_store_backfill WHERE name = $1`, backfillName)
	return err
}
