package gateway

import (
	"net/http"
	"slices"
	"strings"
	"sync"

	"github.com/getkin/kin-openapi/openapi3"
	"github.com/getkin/kin-openapi/routers"
)

// passedChecks remembers requests the document allowed, so the same request again (a storefront
// asking about the same order, the same page of a listing) skips the schema walk: kin-openapi's
// request validation was a tenth of a warm eligibility check's CPU. The check is a pure function
// of what the key holds — the operation, its path, query, header and cookie parameters, the media
// type and the body (defaults are never written into the request) — so a remembered request
// answers exactly as a new check would. Only allowed requests are kept (a refusal is checked
// every time, to name its fields), only small bodies, and at most passedChecksMax of them.
type passedChecks struct {
	mu   sync.Mutex
	seen map[string]struct{}
}

const (
	passedChecksMax     = 10_000
	passedChecksMaxBody = 1 << 10
)

// key is the request as the check sees it, or "" when it is not to be remembered.
func (p *passedChecks) key(r *http.Request, route *routers.Route, params map[string]string, body []byte) string {
	if len(body) > passedChecksMaxBody {
		return ""
	}
	var b strings.Builder
	b.Grow(128 + len(body))
	sep := func(s string) { b.WriteString(s); b.WriteByte(0) }
	sep(route.Method)
	sep(route.Path)
	names := make([]string, 0, len(params))
	for k := range params {
		names = append(names, k)
	}
	slices.Sort(names)
	for _, k := range names {
		sep(k)
		sep(params[k])
	}
	sep(r.URL.RawQuery)
	sep(r.Header.Get("Content-Type"))
	for _, ref := range route.Operation.Parameters {
		if ref == nil || ref.Value == nil {
			return "" // not a shape this key knows how to cover
		}
		switch par := ref.Value; par.In {
		case openapi3.ParameterInHeader:
			sep(par.Name)
			for _, v := range r.Header.Values(par.Name) {
				sep(v)
			}
		case openapi3.ParameterInCookie:
			return "" // no operation has one; never guess
		}
	}
	b.WriteByte(1)
	b.Write(body)
	return b.String()
}

func (p *passedChecks) has(key string) bool {
	if key == "" {
		return false
	}
	p.mu.Lock()
	_, ok := p.seen[key]
	p.mu.Unlock()
	return ok
}

func (p *passedChecks) add(key string) {
	if key == "" {
		return
	}
	p.mu.Lock()
	if p.seen == nil || len(p.seen) >= passedChecksMax {
		p.seen = make(map[string]struct{}, 1024) // start over rather than grow
	}
	p.seen[key] = struct{}{}
	p.mu.Unlock()
}
