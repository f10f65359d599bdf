package fluent

import (
	"encoding/json"
	"net/http"
	"strings"
)

// The Batch API as Fluent's inventory feed uses it: a job, then batches of INVENTORY upserts in
// it; each entity replaces a location's on-hand quantity of a SKU. Fluent processes batches
// asynchronously; the sandbox applies a batch when it is posted, so the next order is sourced
// from the figures loaded before it.

// serveJob creates a job (POST /api/v4.1/job).
func (s *Sandbox) serveJob(w http.ResponseWriter, r *http.Request) {
	var job struct {
		Name       string `json:"name"`
		RetailerID any    `json:"retailerId"`
	}
	if err := json.NewDecoder(r.Body).Decode(&job); err != nil || job.Name == "" {
		writeJSON(w, http.StatusBadRequest, map[string]any{"message": "a job needs a name and a retailerId"})
		return
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	id := s.newRef("J")
	if s.jobs == nil {
		s.jobs = map[string]bool{}
	}
	s.jobs[id] = true
	writeJSON(w, http.StatusOK, map[string]any{"id": id})
}

// serveBatch applies a batch of INVENTORY upserts (POST /api/v4.1/job/{id}/batch).
func (s *Sandbox) serveBatch(w http.ResponseWriter, r *http.Request, jobID string) {
	var batch struct {
		Action     string `json:"action"`
		EntityType string `json:"entityType"`
		Entities   []struct {
			LocationRef string `json:"locationRef"`
			SkuRef      string `json:"skuRef"`
			Qty         *int64 `json:"qty"`
		} `json:"entities"`
	}
	if err := json.NewDecoder(r.Body).Decode(&batch); err != nil || batch.Action != "UPSERT" || batch.EntityType != "INVENTORY" {
		writeJSON(w, http.StatusBadRequest, map[string]any{"message": "the sandbox takes UPSERT batches of INVENTORY"})
		return
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if !s.jobs[jobID] {
		writeJSON(w, http.StatusNotFound, map[string]any{"message": "no job " + jobID})
		return
	}
	for _, e := range batch.Entities {
		if e.LocationRef == "" || e.SkuRef == "" || e.Qty == nil {
			writeJSON(w, http.StatusBadRequest, map[string]any{"message": "each entity needs locationRef, skuRef and qty"})
			return
		}
	}
	for _, e := range batch.Entities {
		if s.onHand[e.LocationRef] == nil {
			s.onHand[e.LocationRef] = map[string]int64{}
		}
		s.onHand[e.LocationRef][e.SkuRef] = *e.Qty
	}
	s.inventoryUpdates += len(batch.Entities)
	writeJSON(w, http.StatusOK, map[string]any{"id": s.newRef("B")})
}

// batchPath returns the job id of /api/v4.1/job/{id}/batch.
func batchPath(path string) (string, bool) {
	rest, ok := strings.CutPrefix(path, "/api/v4.1/job/")
	if !ok {
		return "", false
	}
	id, ok := strings.CutSuffix(rest, "/batch")
	return id, ok && id != "" && !strings.Contains(id, "/")
}
