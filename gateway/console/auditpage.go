package console

import (
	"net/http"
	"strings"

	"github.com/retailbridge/retailbridge/pkg/audit"
)

type auditData struct {
	Actor   string
	Entries []audit.Entry
}

// auditPage lists the newest audit entries, optionally of one actor ("support:ann").
func (c *Console) auditPage(r *http.Request, _ *session) (string, any, error) {
	actor := strings.TrimSpace(r.URL.Query().Get("actor"))
	entries, err := c.deps.Audit.Query(r.Context(), audit.Filter{Actor: actor, Limit: 200})
	if err != nil {
		return "", nil, err
	}
	return "audit", auditData{Actor: actor, Entries: entries}, nil
}
