package fluent

import (
	"context"
	"net/http"

	omsv1 "github.com/retailbridge/retailbridge/pkg/gen/retailbridge/system/oms/v1"
)

// SetAvailability loads figures as Fluent's inventory feed does: a Batch API job (POST
// /api/v4.1/job) and one batch of INVENTORY upserts in it (POST /api/v4.1/job/{id}/batch), each
// entity a location's on-hand quantity of a SKU. Fluent sources from its own inventory positions
// and calls nothing outside during sourcing, so the figures are loaded before the order is
// created. The job is named after the key; a repeat sets the same absolute figures again.
func (c *Client) SetAvailability(ctx context.Context, figures []*omsv1.LocationAvailability, key string) (string, error) {
	var job struct {
		ID string `json:"id"`
	}
	if err := c.call(ctx, http.MethodPost, "/api/v4.1/job", map[string]any{"name": "retailbridge-availability-" + key,
		"retailerId": c.cfg.RetailerID}, &job); err != nil {
		return "", err
	}
	entities := make([]map[string]any, len(figures))
	for i, f := range figures {
		entities[i] = map[string]any{"locationRef": f.GetLocationId(), "skuRef": f.GetSku(), "qty": f.GetAvailable(),
			"correctedQty": 0, "retailerId": c.cfg.RetailerID}
	}
	var batch struct {
		ID string `json:"id"`
	}
	if err := c.call(ctx, http.MethodPost, "/api/v4.1/job/"+job.ID+"/batch", map[string]any{"action": "UPSERT",
		"entityType": "INVENTORY", "entities": entities}, &batch); err != nil {
		return "", err
	}
	return batch.ID, nil
}
