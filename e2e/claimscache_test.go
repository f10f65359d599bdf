package e2e

import (
	"net/http"
	"testing"
	"time"

	"github.com/retailbridge/retailbridge/pkg/testkit"
	"github.com/retailbridge/retailbridge/services/sandbox/demo"
)

// Eligibility serves the units claimed by returns in progress from a cache (pkg/store Cached)
// instead of a query per check: every write in the process that touches the claims drops it. A
// warm check right after a return is created sees its units gone, and right after the return is
// cancelled sees them back: the cache never answers from before a completed write.
func TestEligibilityFollowsClaimsThroughTheCache(t *testing.T) {
	t.Parallel()
	h := newStack(t)
	tok := h.token(t, demo.DemoCustomerID)
	o := h.Demo.Scenario(demo.ScenarioMultipleQuantity)
	line := o.Lines[0]
	returnable := func(step string) int {
		t.Helper()
		resp := h.do(t, http.MethodPost, "/v1/storefront/returns/eligibility", tok, eligibility(o.ID))
		if resp.Status != http.StatusOK {
			t.Fatalf("%s: eligibility %d %s", step, resp.Status, resp.Body)
		}
		var got struct {
			Lines []struct {
				OrderLineID        string `json:"order_line_id"`
				ReturnableQuantity int    `json:"returnable_quantity"`
			} `json:"lines"`
		}
		resp.JSON(t, &got)
		for _, l := range got.Lines {
			if l.OrderLineID == line.ID {
				return l.ReturnableQuantity
			}
		}
		t.Fatalf("%s: line %s not in the answer %s", step, line.ID, resp.Body)
		return 0
	}
	before := returnable("before")
	if before < 2 {
		t.Fatalf("line %s has %d returnable units; the scenario needs at least 2", line.ID, before)
	}
	returnable("warm") // the claims of this order are now cached
	created := h.do(t, http.MethodPost, "/v1/storefront/returns", tok, createReturn(o.ID, line.ID, 1), "Idempotency-Key", "claims-cache-1")
	if created.Status != http.StatusOK {
		t.Fatalf("create: %d %s", created.Status, created.Body)
	}
	if got := returnable("after create"); got != before-1 {
		t.Errorf("after a return of 1 unit: %d returnable, want %d (a check answered from before the return)", got, before-1)
	}
	var r returnJSON
	created.JSON(t, &r)
	cancel := h.do(t, http.MethodPost, "/v1/storefront/returns/"+r.Return.ID+":cancel", tok, map[string]string{"note": "changed my mind"},
		"Idempotency-Key", "claims-cache-2")
	if cancel.Status != http.StatusOK {
		t.Fatalf("cancel: %d %s", cancel.Status, cancel.Body)
	}
	// A cancellation may compensate (RMA, platform return) before the return is cancelled: the
	// units come back once it is, and never from a stale cache that no write refreshes.
	testkit.Eventually(t, 60*time.Second, "the cancelled return's units back in eligibility", func() bool {
		return returnable("after cancel") == before
	})
}
