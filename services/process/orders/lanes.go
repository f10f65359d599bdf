package orders

// Priority lanes of order work (pkg/workflow lane.go, pkg/governor). Customer-facing work — a new
// storefront order, a cancellation the customer asked for, a support agent's release of one
// held order — runs in the interactive lane; work no customer waits on — a bulk release of every
// order a tax code fixed, the re-drive of what an ERP outage parked — in the bulk lane. The
// runner takes due interactive steps first and each step carries its lane to the ERP, OMS and
// warehouse governors, which serve interactive calls first within their concurrency and rate
// budgets. The order store's repair poll and backfill read the platform as bulk (poller.go,
// backfill.go). The same lanes serve any workflow on pkg/workflow (returns too).

import (
	"context"

	"github.com/retailbridge/retailbridge/pkg/governor"
	"github.com/retailbridge/retailbridge/pkg/workflow"
)

// The lane of each kind of order work that does not simply inherit its caller's (a new order
// accepted from the storefront's webhook starts in the default, interactive lane).
const (
	// A cancellation the storefront reports (the customer's, or the merchant's on their behalf).
	laneCustomerCancel = workflow.LaneInteractive
	// A support agent's release, resolution or cancellation of one held order.
	laneSupportRelease = workflow.LaneInteractive
	// Every order a tax code fixed, released at once.
	laneBulkRelease = workflow.LaneBulk
)

// supportReleaseLane is the lane of a release from support: interactive for one order an agent
// resolves, bulk when the caller marks its work bulk (the console's bulk resolution of a filtered
// queue sends rb-priority: bulk).
func supportReleaseLane(ctx context.Context) workflow.Lane {
	if governor.PriorityOf(ctx) == governor.Bulk {
		return laneBulkRelease
	}
	return laneSupportRelease
}
