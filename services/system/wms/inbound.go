package wms

import (
	"context"
	"time"

	canonicalv1 "github.com/retailbridge/retailbridge/pkg/gen/retailbridge/canonical/v1"
	"github.com/retailbridge/retailbridge/services/system/wms/internal/edi3pl"
)

// filePoller is a connector whose vendor sends files instead of webhooks.
type filePoller interface {
	Poll(ctx context.Context, publish edi3pl.Publish) (edi3pl.PollStats, error)
}

// InboundStats counts what polling the vendor's files did.
type InboundStats struct {
	Polls, Failures                                     int64
	Processed, Duplicates, Quarantined, Events, AckSent int64
}

// PollsFiles reports whether the vendor sends files to poll (RunInbound has work to do).
func (s *Service) PollsFiles() bool {
	_, ok := s.conn.(filePoller)
	return ok
}

// PollInbound reads the vendor's inbound folder once: its interchanges' events go through the
// same intake as webhooks (published once per interchange control number within the delivery
// memory's horizon, with Nats-Msg-Id = event id).
func (s *Service) PollInbound(ctx context.Context) (edi3pl.PollStats, error) {
	p, ok := s.conn.(filePoller)
	if !ok {
		return edi3pl.PollStats{}, nil
	}
	return p.Poll(ctx, func(ctx context.Context, deliveryID string, evs []*canonicalv1.Event) error {
		_, err := s.deliveries.Accept(ctx, deliveryID, evs)
		return err
	})
}

// RunInbound polls the vendor's files every poll interval until ctx ends; a vendor without
// files returns at once. A failed poll is logged and retried at the next tick: the files stay
// where they are until they are processed.
func (s *Service) RunInbound(ctx context.Context) {
	if !s.PollsFiles() {
		return
	}
	t := time.NewTicker(s.poll)
	defer t.Stop()
	for {
		st, err := s.PollInbound(ctx)
		s.countInbound(st, err)
		if err != nil && ctx.Err() == nil {
			s.log.WarnContext(ctx, "wms: polling the vendor's files failed", "err", err)
		}
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
	}
}

func (s *Service) countInbound(st edi3pl.PollStats, err error) {
	s.inboundMu.Lock()
	defer s.inboundMu.Unlock()
	s.inbound.Polls++
	if err != nil {
		s.inbound.Failures++
	}
	s.inbound.Processed += int64(st.Processed)
	s.inbound.Duplicates += int64(st.Duplicates)
	s.inbound.Quarantined += int64(st.Quarantined)
	s.inbound.Events += int64(st.Events)
	s.inbound.AckSent += int64(st.Acks)
}

// InboundStats returns the polling counters.
func (s *Service) InboundStats() InboundStats {
	s.inboundMu.Lock()
	defer s.inboundMu.Unlock()
	return s.inbound
}
