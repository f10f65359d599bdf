package returns

import (
	"context"
	"testing"
	"time"

	"github.com/retailbridge/retailbridge/pkg/events"
	"github.com/retailbridge/retailbridge/pkg/store"
	"github.com/retailbridge/retailbridge/pkg/store/storetest"
	"github.com/retailbridge/retailbridge/pkg/workflow"
)

// TestMigrationsOnEveryEngine applies the returns schema on SQLite and PostgreSQL and checks what
// the tenancy migration promises: a request key is unique per requester (not per customer), and
// returns list by tenant.
func TestMigrationsOnEveryEngine(t *testing.T) {
	t.Parallel()
	for _, d := range storetest.Dialects {
		t.Run(d.String(), func(t *testing.T) {
			t.Parallel()
			ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
			defer cancel()
			db := storetest.Open(t, d, store.Options{})
			for _, m := range []func(context.Context, *store.DB) error{events.Migrate, workflow.Migrate, migrate} {
				if err := m(ctx, db); err != nil {
					t.Fatalf("migrate: %v", err)
				}
			}
			ins := func(id, customer, key, requester, tenant string) error {
				return db.InTx(ctx, func(tx *store.Tx) error {
					_, err := tx.Exec(ctx, `INSERT INTO returns (id, order_id, customer_id, request_key, requested_by, tenant, created_at) VALUES ($1, $2, $3, $4, $5, $6, $7)`,
						id, "o1", customer, key, requester, tenant, time.Now().UTC())
					return err
				})
			}
			if err := ins("r1", "c1", "k", "storefront:c1", ""); err != nil {
				t.Fatal(err)
			}
			// The same key from a partner client for the same customer's order is another request.
			if err := ins("r2", "c1", "k", "partner:rbc_1", "acme"); err != nil {
				t.Errorf("a partner's key collided with the customer's: %v", err)
			}
			if err := ins("r3", "c1", "k", "partner:rbc_1", "acme"); !store.IsUniqueViolation(err) {
				t.Errorf("the same requester and key twice: %v, want a unique violation", err)
			}
			var n int
			if err := db.QueryRow(ctx, `SELECT COUNT(*) FROM returns WHERE tenant = $1`, "acme").Scan(&n); err != nil || n != 1 {
				t.Errorf("acme's returns: %d, %v", n, err)
			}
		})
	}
}
