package shopify

import (
	"context"
	"slices"
	"sync"

	canonicalv1 "github.com/retailbridge/retailbridge/pkg/gen/retailbridge/canonical/v1"
)

// From API version 2026-04 a return line's reason is an entry of the shop's return reason library
// (returnReasonDefinitionId); the ReturnReason enum is deprecated. Entries are identified by
// stable handles, but Shopify publishes no complete list of them, so each canonical reason names
// the handles it may go by, in order of preference, and the connector asks the shop which exist.
// A reason none of whose handles the shop has is sent without a definition (Shopify records no
// reason; the line's note still says it) rather than failing the return.
var reasonHandles = map[canonicalv1.ReturnReason][]string{
	canonicalv1.ReturnReason_RETURN_REASON_NOT_AS_DESCRIBED: {"not-as-described", "item-not-as-described"},
	canonicalv1.ReturnReason_RETURN_REASON_DEFECTIVE:        {"defective", "damaged-or-defective", "damaged", "quality"},
	canonicalv1.ReturnReason_RETURN_REASON_WRONG_ITEM:       {"wrong-item", "received-wrong-item"},
	canonicalv1.ReturnReason_RETURN_REASON_CHANGED_MIND:     {"changed-mind", "unwanted", "no-longer-needed"},
	// Shopify splits size into too small and too large; the note says which.
	canonicalv1.ReturnReason_RETURN_REASON_SIZE_OR_FIT: {"other"},
	canonicalv1.ReturnReason_RETURN_REASON_OTHER:       {"other"},
}

// allReasonHandles is every handle reasonHandles names, sorted: one lookup asks for all of them.
func allReasonHandles() []string {
	var out []string
	for _, hs := range reasonHandles {
		out = append(out, hs...)
	}
	slices.Sort(out)
	return slices.Compact(out)
}

func returnReasonsVars() map[string]any {
	h := allReasonHandles()
	return map[string]any{"handles": h, "first": len(h)}
}

// returnReasonsOp reads the library entries with the given handles: 2 + first points.
var returnReasonsOp = operation{
	name: "ReturnReasons",
	cost: func(vars map[string]any) float64 {
		n, _ := vars["first"].(int)
		return float64(2 + n)
	},
	query: `query ReturnReasons($handles: [String!]!, $first: Int!) {
  returnReasonDefinitions(first: $first, handles: $handles) {
    nodes { id handle deleted }
  }
}`,
}

// reasonLibrary caches the shop's answer: handles are stable across API versions.
type reasonLibrary struct {
	mu  sync.Mutex
	ids map[string]string // handle → definition id; nil until a lookup succeeded
}

// reasonDefinitionID is the library entry for r, or "" when the shop has none of its handles.
func (c *Connector) reasonDefinitionID(ctx context.Context, r canonicalv1.ReturnReason) (string, error) {
	c.reasons.mu.Lock()
	defer c.reasons.mu.Unlock()
	if c.reasons.ids == nil {
		var data struct {
			ReturnReasonDefinitions struct {
				Nodes []struct {
					ID      string `json:"id"`
					Handle  string `json:"handle"`
					Deleted bool   `json:"deleted"`
				} `json:"nodes"`
			} `json:"returnReasonDefinitions"`
		}
		if err := c.do(ctx, returnReasonsOp, returnReasonsVars(), &data); err != nil {
			return "", err
		}
		ids := map[string]string{}
		for _, n := range data.ReturnReasonDefinitions.Nodes {
			if !n.Deleted { // deleted reasons stay valid but are not to be used for new returns
				ids[n.Handle] = n.ID
			}
		}
		c.reasons.ids = ids
	}
	for _, h := range reasonHandles[r] {
		if id, ok := c.reasons.ids[h]; ok {
			return id, nil
		}
	}
	if r != canonicalv1.ReturnReason_RETURN_REASON_UNSPECIFIED {
		c.log.WarnContext(ctx, "the shop's return reason library has none of the reason's handles; sending no reason",
			"reason", r.String(), "handles", reasonHandles[r])
	}
	return "", nil
}
