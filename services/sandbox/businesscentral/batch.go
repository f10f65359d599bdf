package businesscentral

import (
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"strings"
)

// MaxBatchOperations is how many operations one $batch request may carry.
const MaxBatchOperations = 100

type batchRequest struct {
	Requests []struct {
		ID      string            `json:"id"`
		Method  string            `json:"method"`
		URL     string            `json:"url"`
		Headers map[string]string `json:"headers"`
		Body    json.RawMessage   `json:"body"`
	} `json:"requests"`
}

type batchResponse struct {
	ID      string            `json:"id"`
	Status  int               `json:"status"`
	Headers map[string]string `json:"headers,omitempty"`
	Body    any               `json:"body,omitempty"`
}

// batch serves an OData JSON $batch. With "Isolation: snapshot" the operations run in one
// transaction: the first failing one rolls back every change the batch made and the rest are
// not run. Without it each operation stands on its own.
func (s *Sandbox) batch(r *http.Request, body []byte) reply {
	var b batchRequest
	if decode(body, &b) != nil || len(b.Requests) == 0 {
		return fail(http.StatusBadRequest, "BadRequest_InvalidRequestBody", "The batch request body is not valid.")
	}
	if len(b.Requests) > MaxBatchOperations {
		return fail(http.StatusBadRequest, "BadRequest_BatchRequestTooLarge",
			fmt.Sprintf("The batch contains %d operations; at most %d are allowed.", len(b.Requests), MaxBatchOperations))
	}
	atomic := strings.EqualFold(r.Header.Get("Isolation"), "snapshot")
	l := s.ledger
	l.mu.Lock()
	l.batches++
	before := l.snapshotLocked()
	var out []batchResponse
	var changes []*change
	failed := false
	for _, op := range b.Requests {
		if failed && atomic {
			out = append(out, batchResponse{ID: op.ID, Status: http.StatusFailedDependency,
				Body: map[string]any{"error": map[string]string{"code": "BadRequest_FailedDependency", "message": "An earlier operation failed."}}})
			continue
		}
		rest, q, ok := s.batchTarget(op.URL)
		rep := fail(http.StatusNotFound, "BadRequest_NotFound", "No HTTP resource was found that matches the request URI.")
		if ok {
			rep = s.dispatchLocked(strings.ToUpper(op.Method), rest, q, op.Headers["If-Match"], op.Body)
		}
		resp := batchResponse{ID: op.ID, Status: rep.status, Body: rep.body}
		if rep.etag != "" {
			resp.Headers = map[string]string{"ETag": rep.etag}
		}
		out = append(out, resp)
		if rep.status >= 400 {
			failed = true
		} else if rep.changed != nil {
			changes = append(changes, rep.changed)
		}
	}
	if failed && atomic {
		l.rollbackLocked(before)
		changes = nil
	}
	err := l.persistLocked()
	l.mu.Unlock()
	if err != nil {
		return fail(http.StatusInternalServerError, "Internal_ServerError", err.Error())
	}
	for _, c := range changes {
		s.subs.changed(c.set, c.id, c.kind)
	}
	return reply{status: http.StatusOK, body: map[string]any{"responses": out}}
}

// batchTarget reads an operation's URL: absolute, or relative to the API root.
func (s *Sandbox) batchTarget(raw string) (string, url.Values, bool) {
	u, err := url.Parse(raw)
	if err != nil {
		return "", nil, false
	}
	p := u.Path
	switch {
	case strings.HasPrefix(p, s.APIRoot()):
		p = strings.TrimPrefix(p, s.APIRoot())
	case strings.HasPrefix(p, "companies("), strings.HasPrefix(p, "/companies("):
		p = "v2.0/" + strings.TrimPrefix(p, "/")
	}
	return p, u.Query(), true
}
