package audit

import (
	"context"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/retailbridge/retailbridge/pkg/store"
	"github.com/retailbridge/retailbridge/pkg/store/storetest"
)

func openLog(t testing.TB, url string) (*Log, *store.DB) {
	t.Helper()
	db := storetest.OpenURL(t, url, store.Options{})
	l, err := Open(context.Background(), db, nil)
	if err != nil {
		t.Fatal(err)
	}
	return l, db
}

// TestConcurrentAppendsKeepOneChain: two gateways (two handles on one database) appending at
// once leave one unbroken chain with every entry in it.
func TestConcurrentAppendsKeepOneChain(t *testing.T) {
	t.Parallel()
	for _, d := range storetest.Dialects {
		t.Run(d.String(), func(t *testing.T) {
			t.Parallel()
			url := storetest.URL(t, d)
			g1, _ := openLog(t, url)
			g2, _ := openLog(t, url)
			const perWriter = 40
			var wg sync.WaitGroup
			for w, l := range []*Log{g1, g2, g1, g2} {
				wg.Go(func() {
					for i := range perWriter {
						if _, err := l.Append(context.Background(), Entry{Actor: fmt.Sprintf("support:agent-%d", w), Action: "POST /x",
							Outcome: 200, Origin: "127.0.0.1", CorrelationID: fmt.Sprintf("r-%d-%d", w, i)}); err != nil {
							t.Error(err)
							return
						}
					}
				})
			}
			wg.Wait()
			r, err := g2.Verify(context.Background())
			if err != nil {
				t.Fatal(err)
			}
			if r.Broken != nil || r.Entries != 4*perWriter {
				t.Errorf("verify = %+v, want %d entries and no broken link", r, 4*perWriter)
			}
		})
	}
}

// TestVerifyFindsTheFirstBrokenLink tampers with the table the way someone with the database
// owner's rights could (triggers off) and checks Verify names the first entry affected.
func TestVerifyFindsTheFirstBrokenLink(t *testing.T) {
	t.Parallel()
	for _, d := range storetest.Dialects {
		t.Run(d.String(), func(t *testing.T) {
			t.Parallel()
			tests := []struct {
				name    string
				tamper  []string
				seq     int64
				because string
			}{
				{"altered outcome", []string{`UPDATE rb_audit_log SET outcome = 403 WHERE seq = 4`}, 4, "altered"},
				{"altered actor and rehashed", []string{`UPDATE rb_audit_log SET actor = 'support:someone-else',
					hash = '` + strings.Repeat("a", 64) + `' WHERE seq = 3`}, 3, "altered"},
				{"deleted entry", []string{`DELETE FROM rb_audit_log WHERE seq = 5`}, 6, "missing"},
				{"swapped prev_hash", []string{`UPDATE rb_audit_log SET prev_hash = '` + Genesis + `' WHERE seq = 2`}, 2, "prev_hash"},
			}
			for _, tt := range tests {
				t.Run(tt.name, func(t *testing.T) {
					t.Parallel()
					l, db := openLog(t, storetest.URL(t, d))
					for i := range 8 {
						if _, err := l.Append(context.Background(), Entry{Actor: "support:agent-1", Action: "POST /v1/support/returns/r:cancel",
							Outcome: 200, CorrelationID: fmt.Sprint(i)}); err != nil {
							t.Fatal(err)
						}
					}
					if r, err := l.Verify(context.Background()); err != nil || r.Broken != nil || r.Entries != 8 {
						t.Fatalf("before tampering: %+v, %v", r, err)
					}
					if _, err := db.Exec(context.Background(), tt.tamper[0]); err == nil {
						t.Fatal("the append-only table accepted a change")
					}
					withoutTriggers(t, db, tt.tamper...)
					r, err := l.Verify(context.Background())
					if err != nil {
						t.Fatal(err)
					}
					if r.Broken == nil || r.Broken.Seq != tt.seq || !strings.Contains(r.Broken.Reason, tt.because) {
						t.Errorf("verify = %+v, want entry %d broken (%s)", r.Broken, tt.seq, tt.because)
					}
				})
			}
		})
	}
}

// withoutTriggers runs statements with the append-only triggers out of the way.
func withoutTriggers(t testing.TB, db *store.DB, stmts ...string) {
	t.Helper()
	ctx := context.Background()
	err := db.InTx(ctx, func(tx *store.Tx) error {
		pre := []string{`DROP TRIGGER rb_audit_log_no_update`, `DROP TRIGGER rb_audit_log_no_delete`}
		if tx.Dialect() == store.Postgres {
			pre = []string{`ALTER TABLE rb_audit_log DISABLE TRIGGER rb_audit_log_append_only`}
		}
		for _, s := range append(pre, stmts...) {
			if _, err := tx.Exec(ctx, s); err != nil {
				return fmt.Errorf("%s: %w", s, err)
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
}

func TestQueryFilters(t *testing.T) {
	t.Parallel()
	now := time.Date(2026, 12, 1, 12, 0, 0, 0, time.UTC)
	l, _ := openLog(t, storetest.URL(t, store.SQLite))
	ctx := context.Background()
	for i, e := range []Entry{
		{Actor: "support:a", Action: "POST /v1/support/returns", Outcome: 200},
		{Actor: "partner:c1", Tenant: "acme", Action: "POST /v1/partner/returns", Outcome: 201},
		{Actor: "support:b", Action: "POST /v1/support/returns/r1:cancel", Outcome: 200},
		{Actor: "partner:c1", Tenant: "acme", Action: "POST /v1/partner/returns/r2:cancel", Outcome: 404},
		{Actor: "support:a", Action: "POST /v1/support/returns/r1:cancel", Outcome: 409},
	} {
		e.At = now.Add(time.Duration(i) * time.Hour)
		if _, err := l.Append(ctx, e); err != nil {
			t.Fatal(err)
		}
	}
	seqs := func(f Filter) []int64 {
		es, err := l.Query(ctx, f)
		if err != nil {
			t.Fatal(err)
		}
		var out []int64
		for _, e := range es {
			out = append(out, e.Seq)
		}
		return out
	}
	for name, tc := range map[string]struct {
		f    Filter
		want string
	}{
		"all, newest first":   {Filter{}, "[5 4 3 2 1]"},
		"actor":               {Filter{Actor: "support:a"}, "[5 1]"},
		"tenant":              {Filter{Tenant: "acme"}, "[4 2]"},
		"action":              {Filter{Action: "POST /v1/support/returns/r1:cancel"}, "[5 3]"},
		"time range":          {Filter{Since: now.Add(time.Hour), Until: now.Add(3 * time.Hour)}, "[3 2]"},
		"page":                {Filter{Limit: 2}, "[5 4]"},
		"next page":           {Filter{Limit: 2, Before: 4}, "[3 2]"},
		"actor and tenant":    {Filter{Actor: "partner:c1", Tenant: "acme", Before: 4}, "[2]"},
		"nothing":             {Filter{Actor: "nobody"}, "[]"},
		"since after the end": {Filter{Since: now.Add(10 * time.Hour)}, "[]"},
	} {
		if got := fmt.Sprint(seqs(tc.f)); got != tc.want {
			t.Errorf("%s: got %s, want %s", name, got, tc.want)
		}
	}
}
