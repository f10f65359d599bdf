package orders

import (
	"context"
	"errors"
	"time"

	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/types/known/timestamppb"

	"github.com/retailbridge/retailbridge/pkg/governor"

	canonicalv1 "github.com/retailbridge/retailbridge/pkg/gen/retailbridge/canonical/v1"
	commercev1 "github.com/retailbridge/retailbridge/pkg/gen/retailbridge/system/commerce/v1"
)

// Rows of order_store_watermarks: the repair poller's watermark, the mark of a completed sweep
// of the whole shop (Backfill), and, per listing, the mark that the listing was read whole once.
const (
	pollWatermark = "commerce-orders"
	sweptMark     = "commerce-orders-swept"
	listingPrefix = "listing:"
)

// PollResult is what one repair poll did.
type PollResult struct {
	// Seen is how many changed orders the platform listed.
	Seen int
	// Read is how many of them were read in full: not held, held older, or held only as a
	// webhook delivered them.
	Read int
	// Applied is how many of them changed the store: versions whose webhook had not (yet)
	// arrived.
	Applied int
	// Watermark is the platform updated_at the store has now read every change up to.
	Watermark time.Time
	// Started is how many orders the poll found whose orders/create never arrived, and
	// published it for (their workflows start from it, as from the webhook's).
	Started int

	// since is the listing's lower bound: an unknown order created after it is new (zero in a
	// sweep of the whole shop, which starts no workflows).
	since time.Time
}

// pollLoop runs PollOnce every PollInterval until ctx ends. The first poll runs at once: with no
// watermark yet it sweeps the whole shop when Backfill is set, after which every listing is
// served from the store alone; otherwise it starts from now, and each listing is read whole from
// the platform once (fillListing). A vendor that cannot list changes stops the loop; the store then relies on
// webhooks and read-through.
func (s *Service) pollLoop(ctx context.Context) error {
	t := time.NewTicker(s.scfg.PollInterval)
	defer t.Stop()
	for {
		_, err := s.PollOnce(ctx)
		switch {
		case status.Code(err) == codes.Unimplemented:
			s.log.WarnContext(ctx, "the commerce platform cannot list changed orders; the order store relies on webhooks", "err", err)
			<-ctx.Done()
			return nil
		case err != nil && ctx.Err() == nil:
			s.log.WarnContext(ctx, "order store repair poll failed; retried next interval", "err", err)
		}
		select {
		case <-ctx.Done():
			return nil
		case <-t.C:
		}
	}
}

// PollOnce lists every order changed since the watermark less PollOverlap, oldest change first,
// as ids and updated_at (a page costs the platform 2 + page size points), and reads in full only
// what the store lacks (applyChanges): a version the store already holds verified is confirmed
// (as_of), a newer one repairs a missed or late webhook. The watermark moves to the newest updated_at read, only after every page is applied,
// so a poll cut short is repeated rather than skipped.
func (s *Service) PollOnce(ctx context.Context) (PollResult, error) {
	wm, _, err := s.store.watermark(ctx, pollWatermark)
	if err != nil {
		return PollResult{}, err
	}
	// Repair polls are bulk work: the commerce governor serves customer-facing calls first.
	ctx = governor.WithPriority(ctx, governor.Bulk)
	sweep := wm.IsZero() && s.scfg.Backfill
	since := s.now().Add(-s.scfg.PollOverlap) // no watermark yet: changes from now on
	switch {
	case sweep:
		since = time.Unix(0, 0).UTC() // the whole shop
	case !wm.IsZero():
		since = wm.Add(-s.scfg.PollOverlap)
	}
	res := PollResult{Watermark: wm}
	if !sweep {
		res.since = since // a sweep reads the shop's history: none of it is a new order
	}
	if wm.IsZero() && !sweep {
		// The first poll without Backfill only starts the watermark: what changed before now is
		// read per listing and per unknown order.
		res.Watermark = since
		return res, s.saveWatermark(ctx, res.Watermark, false)
	}
	err = errNoExport
	if sweep {
		err = s.backfill(ctx, &res) // the platform's bulk export of the whole shop (backfill.go)
	}
	switch {
	case err == nil:
		return res, s.finishPoll(ctx, &res, sweep)
	case !errors.Is(err, errNoExport):
		return res, err
	}
	token := ""
	for {
		page, err := s.commerce.ListOrderChanges(ctx, &commercev1.ListOrderChangesRequest{
			UpdatedSince: timestamppb.New(since), PageSize: int32(s.scfg.PollPageSize), PageToken: token, ChangesOnly: true})
		if err != nil {
			return res, err
		}
		if err := s.applyChanges(ctx, page.GetOrders(), &res); err != nil {
			return res, err
		}
		if token = page.GetNextPageToken(); token == "" {
			break
		}
	}
	return res, s.finishPoll(ctx, &res, sweep)
}

// finishPoll moves the watermark once every change listed was applied.
func (s *Service) finishPoll(ctx context.Context, res *PollResult, sweep bool) error {
	if res.Watermark.IsZero() {
		res.Watermark = s.now() // an empty shop: swept, nothing to read
	}
	if err := s.saveWatermark(ctx, res.Watermark, sweep); err != nil {
		return err
	}
	if res.Applied > 0 {
		s.log.InfoContext(ctx, "order store repaired changes the webhooks had not brought", "applied", res.Applied, "seen", res.Seen)
	}
	return nil
}

// applyChanges handles one page of changes (ids and updated_at): a version the store holds and
// has read from the platform is confirmed; an order it does not hold, holds older, or holds only
// as a webhook delivered it (updated_at ties within a second) is read in full and applied.
func (s *Service) applyChanges(ctx context.Context, changes []*canonicalv1.Order, res *PollResult) error {
	ids := make([]string, len(changes))
	for i, c := range changes {
		ids[i] = c.GetId()
	}
	held, err := s.store.held(ctx, ids)
	if err != nil {
		return err
	}
	for _, c := range changes {
		at := c.GetUpdatedAt().AsTime()
		res.Seen++
		if at.After(res.Watermark) {
			res.Watermark = at
		}
		if h, ok := held[c.GetId()]; ok && !h.updatedAt.Before(at) && (h.verified || h.updatedAt.After(at)) {
			if err := s.store.confirm(ctx, c.GetId(), at); err != nil {
				return err
			}
			if err := s.startUnfed(ctx, c.GetId(), res); err != nil { // poller_create.go
				return err
			}
			continue
		}
		if err := s.pollRead(ctx, c.GetId(), res); err != nil {
			return err
		}
	}
	return nil
}

// pollRead reads one changed order in full and applies it as a version seen by the poll.
func (s *Service) pollRead(ctx context.Context, id string, res *PollResult) error {
	resp, err := s.commerce.GetOrder(ctx, &commercev1.GetOrderRequest{OrderId: id})
	if status.Code(err) == codes.NotFound {
		return nil // deleted since the listing
	}
	if err != nil {
		return err
	}
	o := resp.GetOrder()
	res.Read++
	v, err := s.pollVersion(ctx, o, res)
	if err != nil {
		return err
	}
	changed, err := s.store.put(ctx, v)
	if err != nil {
		return err
	}
	s.metrics.versions.WithLabelValues(viaPoll, appliedLabel(changed)).Inc()
	if changed {
		res.Applied++
		s.orders.Invalidate(o.GetId())
	}
	return nil
}

// saveWatermark stores the watermark (and the mark of a completed sweep) and remembers it.
func (s *Service) saveWatermark(ctx context.Context, wm time.Time, sweep bool) error {
	if err := s.store.setWatermark(ctx, pollWatermark, wm); err != nil {
		return err
	}
	if sweep {
		if err := s.store.setWatermark(ctx, sweptMark, wm); err != nil {
			return err
		}
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if wm.After(s.wm) {
		s.wm = wm
	}
	s.swept = s.swept || sweep
	return nil
}
