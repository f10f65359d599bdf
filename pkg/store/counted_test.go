package store_test

import (
	"context"
	"sync"
	"testing"

	"github.com/retailbridge/retailbridge/pkg/store"
	"github.com/retailbridge/retailbridge/pkg/store/storetest"
)

// Whoever sees a transaction's effects sees it counted by DB.Commits: a test that waits for a
// state a transaction wrote and then reads the counters (the workflow runner's "one write
// transaction per step") must not race the counting. With the group commit the members used to
// count themselves after waking from the shared COMMIT, so a reader could see their rows first.
func TestCommitsCountWhatIsVisible(t *testing.T) {
	t.Parallel()
	for _, d := range storetest.Dialects {
		t.Run(d.String(), func(t *testing.T) {
			t.Parallel()
			ctx := context.Background()
			db := storetest.Open(t, d, store.Options{})
			if _, err := db.Exec(ctx, `CREATE TABLE counted (id INTEGER PRIMARY KEY)`); err != nil {
				t.Fatal(err)
			}
			tx0, _ := db.Commits()
			const writers, each = 8, 40
			var wg sync.WaitGroup
			for w := range writers {
				wg.Go(func() {
					for i := range each {
						if err := db.InTx(ctx, func(tx *store.Tx) error {
							_, err := tx.Exec(ctx, `INSERT INTO counted (id) VALUES ($1)`, w*each+i)
							return err
						}); err != nil {
							t.Error(err)
							return
						}
					}
				})
			}
			done := make(chan struct{})
			go func() { wg.Wait(); close(done) }()
			for reads := 0; ; reads++ {
				var rows uint64
				if err := db.QueryRow(ctx, `SELECT COUNT(*) FROM counted`).Scan(&rows); err != nil {
					t.Error(err)
					break
				}
				if txs, _ := db.Commits(); rows > txs-tx0 {
					t.Errorf("read %d: %d rows visible, %d transactions counted", reads, rows, txs-tx0)
					break
				}
				select {
				case <-done:
				default:
					continue
				}
				break
			}
			<-done
			if txs, _ := db.Commits(); txs-tx0 != writers*each {
				t.Errorf("%d transactions counted, want %d", txs-tx0, writers*each)
			}
		})
	}
}
