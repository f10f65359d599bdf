package inventory

import (
	"context"
	"time"

	"github.com/retailbridge/retailbridge/pkg/store"
)

// Leases (inventory_leases) let one replica at a time own a piece of background work: the
// storefront push of one SKU × location, a reconciliation run, an item master refresh. A lease is
// taken when it is free or expired, renewed by its owner while it works, and released when the
// owner stops cleanly; a replica that dies simply stops renewing, and another takes the lease
// over once it expires.

// takeLease takes or renews the lease name for owner until now+ttl and reports whether owner
// holds it.
func takeLease(ctx context.Context, db *store.DB, name, owner string, now time.Time, ttl time.Duration) (bool, error) {
	res, err := db.Exec(ctx, `INSERT INTO inventory_leases (name, owner, expires_at) VALUES ($1, $2, $3)
		ON CONFLICT (name) DO UPDATE SET owner = excluded.owner, expires_at = excluded.expires_at
		WHERE inventory_leases.owner = excluded.owner OR inventory_leases.expires_at < $4`,
		name, owner, now.Add(ttl).UTC(), now.UTC())
	if err != nil {
		return false, err
	}
	n, err := res.RowsAffected()
	return n == 1, err
}

// renewLeases extends every lease owner still holds until now+ttl and returns their names; a
// lease another replica took over after it expired is no longer among them.
func renewLeases(ctx context.Context, db *store.DB, owner string, now time.Time, ttl time.Duration) (map[string]bool, error) {
	rows, err := db.Query(ctx, `UPDATE inventory_leases SET expires_at = $1 WHERE owner = $2 RETURNING name`,
		now.Add(ttl).UTC(), owner)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	held := map[string]bool{}
	for rows.Next() {
		var name string
		if err := rows.Scan(&name); err != nil {
			return nil, err
		}
		held[name] = true
	}
	return held, rows.Err()
}

// releaseLeases gives up every lease owner holds (a clean stop), so others need not wait for
// them to expire.
func releaseLeases(ctx context.Context, db *store.DB, owner string) error {
	_, err := db.Exec(ctx, `DELETE FROM inventory_leases WHERE owner = $1`, owner)
	return err
}

// withLease runs fn while owner holds the lease name (taken for ttl), and reports whether it ran:
// another replica holding it means someone else does the work this time.
func withLease(ctx context.Context, db *store.DB, name, owner string, now time.Time, ttl time.Duration, fn func() error) (bool, error) {
	ok, err := takeLease(ctx, db, name, owner, now, ttl)
	if err != nil || !ok {
		return false, err
	}
	return true, fn()
}
