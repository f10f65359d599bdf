package netsuite

import (
	"encoding/json"
	"net/http"
)

// errorBody is NetSuite's REST error document.
type errorBody struct {
	Type    string        `json:"type"`
	Title   string        `json:"title"`
	Status  int           `json:"status"`
	Details []errorDetail `json:"o:errorDetails"`
}

type errorDetail struct {
	Detail string `json:"detail"`
	Code   string `json:"o:errorCode"`
}

// errorTypes are the "type" links NetSuite sends, one per status.
var errorTypes = map[int]string{
	http.StatusBadRequest:         "https://www.w3.org/Protocols/rfc2616/rfc2616-sec10.html#sec10.4.1",
	http.StatusUnauthorized:       "https://www.w3.org/Protocols/rfc2616/rfc2616-sec10.html#sec10.4.2",
	http.StatusNotFound:           "https://www.w3.org/Protocols/rfc2616/rfc2616-sec10.html#sec10.4.5",
	http.StatusMethodNotAllowed:   "https://www.w3.org/Protocols/rfc2616/rfc2616-sec10.html#sec10.4.6",
	http.StatusTooManyRequests:    "https://tools.ietf.org/html/rfc6585#section-4",
	http.StatusServiceUnavailable: "https://www.w3.org/Protocols/rfc2616/rfc2616-sec10.html#sec10.5.4",
}

func writeError(w http.ResponseWriter, status int, code, detail string) {
	writeJSON(w, status, "error", errorBody{
		Type:    errorTypes[status],
		Title:   http.StatusText(status),
		Status:  status,
		Details: []errorDetail{{Detail: detail, Code: code}},
	})
}

// writeJSON sends v with NetSuite's media type; kind is singular, collection or error.
func writeJSON(w http.ResponseWriter, status int, kind string, v any) {
	w.Header().Set("Content-Type", "application/vnd.oracle.resource+json; type="+kind+"; charset=UTF-8")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(v)
}
