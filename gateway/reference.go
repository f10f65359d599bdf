package gateway

import (
	"encoding/json"
	"fmt"
	"html/template"
	"net/http"
	"slices"
	"strings"

	"github.com/gin-gonic/gin"

	"github.com/retailbridge/retailbridge/gateway/apidocs"
)

// The API reference is a human-readable page built once from the served OpenAPI document, so
// the page and the machine-readable contract never disagree. It needs no script and loads
// nothing from elsewhere.

type refParam struct{ Name, In, Type, Description string }

type refOp struct {
	Method, Path, Summary, Audience string
	Params                          []refParam
}

var referencePage = template.Must(template.New("ref").Parse(`<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>Retailbridge API reference</title>
<style>body{font:15px/1.5 system-ui,sans-serif;max-width:60rem;margin:2rem auto;padding:0 1rem;color:#222}
code{background:#f4f4f4;padding:0 .25rem}h2{margin-top:2rem;border-bottom:1px solid #ddd}
.op{margin:1rem 0;padding:.5rem 1rem;border-left:4px solid #4a7}.m{font-weight:bold;font-family:monospace}
table{border-collapse:collapse}td,th{padding:.15rem .6rem;text-align:left;border-bottom:1px solid #eee}</style></head>
<body><h1>Retailbridge API reference</h1>
<p>Machine-readable: <a href="/openapi.json">/openapi.json</a>. Errors are RFC 9457
<code>application/problem+json</code> with a stable <code>type</code> (<code>urn:retailbridge:problem:&lt;reason&gt;</code>).
Mutating routes need an <code>Idempotency-Key</code>; limited routes send <code>RateLimit-Policy</code> and
<code>RateLimit</code>. JSON uses proto field names; 64-bit integers (money in minor units) are strings.</p>
{{range $aud, $ops := .}}<h2>{{$aud}}</h2>{{range $ops}}
<div class="op"><span class="m">{{.Method}}</span> <code>{{.Path}}</code><p>{{.Summary}}</p>
{{if .Params}}<table><tr><th>parameter</th><th>in</th><th>type</th><th>description</th></tr>
{{range .Params}}<tr><td><code>{{.Name}}</code></td><td>{{.In}}</td><td>{{.Type}}</td><td>{{.Description}}</td></tr>{{end}}</table>{{end}}
</div>{{end}}{{end}}
<h2>Identity</h2><div class="op"><span class="m">POST</span> <code>/oauth/token</code><p>OAuth 2.0 client credentials for
partners (errors in the RFC 6749 §5.2 form).</p></div>
<div class="op"><span class="m">GET</span> <code>/.well-known/jwks.json</code><p>The keys Retailbridge signs its tokens with.</p></div>
</body></html>`))

// buildReference renders the reference page from the OpenAPI document.
func buildReference() ([]byte, error) {
	var doc struct {
		Paths map[string]map[string]struct {
			Summary    string `json:"summary"`
			Parameters []struct {
				Name        string `json:"name"`
				In          string `json:"in"`
				Type        string `json:"type"`
				Description string `json:"description"`
			} `json:"parameters"`
		} `json:"paths"`
	}
	if err := json.Unmarshal(apidocs.OpenAPI, &doc); err != nil {
		return nil, fmt.Errorf("reference: %w", err)
	}
	byAudience := map[string][]refOp{}
	for path, methods := range doc.Paths {
		aud := "other"
		if parts := strings.Split(strings.TrimPrefix(path, "/"), "/"); len(parts) > 1 {
			aud = parts[1]
		}
		for m, op := range methods {
			o := refOp{Method: strings.ToUpper(m), Path: path, Summary: op.Summary, Audience: aud}
			for _, p := range op.Parameters {
				if p.In == "body" {
					p.Type = "JSON"
				}
				o.Params = append(o.Params, refParam{Name: p.Name, In: p.In, Type: p.Type, Description: p.Description})
			}
			byAudience[aud] = append(byAudience[aud], o)
		}
	}
	for _, ops := range byAudience {
		slices.SortFunc(ops, func(a, b refOp) int { return strings.Compare(a.Path+a.Method, b.Path+b.Method) })
	}
	var b strings.Builder
	if err := referencePage.Execute(&b, byAudience); err != nil {
		return nil, err
	}
	return []byte(b.String()), nil
}

func (g *Gateway) reference(page []byte) gin.HandlerFunc {
	return func(c *gin.Context) {
		c.Header("Content-Security-Policy", "default-src 'none'; style-src 'unsafe-inline'; frame-ancestors 'none'")
		c.Data(http.StatusOK, "text/html; charset=utf-8", page)
	}
}
