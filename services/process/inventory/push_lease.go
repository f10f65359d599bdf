package inventory

import (
	"context"
	"time"

	"github.com/retailbridge/retailbridge/pkg/store"
)

// Push ownership: every replica reads the ledger and knows which positions are unpushed, but
// only the replica holding a position's lease (push|<location>|<sku>) calls the storefront for
// it. The owner renews all its leases in one statement every third of the lease; another replica
// keeps the position dirty and, every half lease, either sees that the owner's push covered its
// lines (and forgets them) or finds the lease lapsed and takes the position over. A replica
// that dies stops renewing: its positions move to the others one lease later, and nothing it
// left unpushed is lost, since the others hold the same dirty lines.

// pushLeases is one replica's push leases.
type pushLeases struct {
	db      *store.DB
	owner   string
	ttl     time.Duration
	held    map[pushKey]bool
	renewed time.Time
	// retry is when this replica may next try a position another replica owns.
	retry map[pushKey]time.Time
}

func newPushLeases(db *store.DB, owner string, ttl time.Duration) *pushLeases {
	return &pushLeases{db: db, owner: owner, ttl: ttl, held: map[pushKey]bool{}, retry: map[pushKey]time.Time{}}
}

func pushLeaseName(k pushKey) string { return "push|" + k.location + "|" + k.sku }

// renew extends the held leases once a third of the lease has passed since the last renewal,
// dropping any another replica took over.
func (l *pushLeases) renew(ctx context.Context, now time.Time) error {
	if len(l.held) == 0 || now.Sub(l.renewed) < l.ttl/3 {
		return nil
	}
	names, err := renewLeases(ctx, l.db, l.owner, now, l.ttl)
	if err != nil {
		return err
	}
	for k := range l.held {
		if !names[pushLeaseName(k)] {
			delete(l.held, k)
		}
	}
	l.renewed = now
	return nil
}

// release gives the leases up when the pusher stops cleanly.
func (l *pushLeases) release() {
	if len(l.held) == 0 {
		return
	}
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
	defer cancel()
	_ = releaseLeases(ctx, l.db, l.owner)
}

// owns reports whether this replica may push k now: it holds k's lease, or takes it because it
// is free or lapsed. A position another replica owns stays dirty here, and is dropped once that
// replica's push covers its lines.
func (p *pusher) owns(ctx context.Context, k pushKey, d *dirty, now time.Time) (bool, error) {
	l := p.leases
	if l.held[k] {
		return true, nil
	}
	if now.Before(l.retry[k]) {
		return false, nil
	}
	ok, err := takeLease(ctx, l.db, pushLeaseName(k), l.owner, now, l.ttl)
	if err != nil {
		return false, err
	}
	if ok {
		delete(l.retry, k)
		l.held[k] = true
		if l.renewed.IsZero() {
			l.renewed = now
		}
		return true, nil
	}
	l.retry[k] = now.Add(l.ttl / 2)
	var pushedSeq int64
	err = l.db.QueryRow(ctx, `SELECT pushed_seq FROM inventory_push_state WHERE sku = $1 AND location_id = $2`,
		k.sku, k.location).Scan(&pushedSeq)
	if err != nil && !isNoRows(err) {
		return false, err
	}
	if pushedSeq >= d.seq {
		delete(p.dirty, k) // the owner pushed a figure covering these lines
		delete(l.retry, k)
	}
	return false, nil
}
