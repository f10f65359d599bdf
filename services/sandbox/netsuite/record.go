package netsuite

import (
	"net/http"
	"strings"
)

// route dispatches the REST record service and the async service.
func (s *Sandbox) route(w http.ResponseWriter, r *http.Request) {
	if rest, ok := strings.CutPrefix(r.URL.Path, asyncPath); ok {
		s.serveJob(w, r, rest)
		return
	}
	if r.URL.Path == suiteQLPath {
		s.serveSuiteQL(w, r)
		return
	}
	rest, ok := strings.CutPrefix(r.URL.Path, recordPath)
	if !ok {
		writeError(w, http.StatusNotFound, "INVALID_URL", "The requested URL is not a REST record service resource.")
		return
	}
	parts := strings.Split(rest, "/")
	recordType := parts[0]
	if recordType == "inventoryItem" {
		id, hasID := strings.CutPrefix(rest, "inventoryItem/")
		s.routeItems(w, r, id, hasID)
		return
	}
	if _, ok := documentPrefix[recordType]; !ok {
		writeError(w, http.StatusBadRequest, "INVALID_RCRD_TYPE",
			"The record type "+recordType+" is invalid or not emulated by the sandbox.")
		return
	}
	switch {
	case r.Method == http.MethodGet && len(parts) == 2:
		s.getRecord(w, r, recordType, parts[1])
	case r.Method == http.MethodGet && len(parts) == 1:
		s.listRecords(w, r, recordType)
	case r.Method == http.MethodPost && len(parts) == 1:
		s.serveWrite(w, r, write{method: r.Method, recordType: recordType})
	case r.Method == http.MethodPost && len(parts) == 4 && parts[2] == "!transform":
		s.serveWrite(w, r, write{method: r.Method, recordType: recordType, id: parts[1], transform: parts[3]})
	case r.Method == http.MethodPatch && len(parts) == 2:
		s.serveWrite(w, r, write{method: r.Method, recordType: recordType, id: parts[1]})
	default:
		writeError(w, http.StatusMethodNotAllowed, "METHOD_NOT_ALLOWED",
			"The sandbox does not emulate "+r.Method+" "+r.URL.Path+".")
	}
}

// getRecord serves one transaction, by internal id or eid:<external id>; sublists are expanded
// with expandSubResources=true, as in NetSuite.
func (s *Sandbox) getRecord(w http.ResponseWriter, r *http.Request, recordType, id string) {
	expand := strings.EqualFold(r.URL.Query().Get("expandSubResources"), "true")
	l := s.ledger
	l.mu.Lock()
	doc, ok := func() (any, bool) {
		internal, ok := l.lookup(recordType, id)
		if !ok {
			return nil, false
		}
		return l.render(s, r, recordType, internal, expand)
	}()
	l.mu.Unlock()
	if !ok {
		writeError(w, http.StatusNotFound, "NONEXISTENT_ID", "The record instance does not exist. Provide a valid record instance ID.")
		return
	}
	writeJSON(w, http.StatusOK, "singular", doc)
}
