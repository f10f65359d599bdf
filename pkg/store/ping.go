package store

import "context"

// Ping checks that the database answers. On SQLite it asks the read-only pool, so a long write
// transaction holding the one writer connection does not read as an outage.
func (db *DB) Ping(ctx context.Context) error {
	return db.read.PingContext(ctx)
}
