package gateway

import (
	"bytes"
	"compress/gzip"
	"encoding/json"
	"fmt"
	"html/template"
	"maps"
	"net/http"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/gin-gonic/gin"

	"github.com/retailbridge/retailbridge/configs"
	"github.com/retailbridge/retailbridge/gateway/apidocs"
	"github.com/retailbridge/retailbridge/gateway/redoc"
)

// The plain API reference (/docs/plain) is a human-readable page built once from the served
// OpenAPI 3.1 document, so the page and the machine-readable contract never disagree. It needs no
// script and loads nothing from elsewhere.

// refText is a description split into plain, `code` and **strong** runs: the document's
// descriptions use that much CommonMark, and the template escapes each run.
type refText []refRun

type refRun struct {
	Text         string
	Code, Strong bool
}

type refParam struct {
	Name, In, Type string
	Required       bool
	Description    refText
}

// refSecurity is one way to authorise an operation: a security scheme and the scopes it needs.
type refSecurity struct {
	Scheme string
	Scopes []string
}

type refOp struct {
	Method, Path, Summary string
	Description           refText
	// Security lists the alternatives; empty means no credentials.
	Security    []refSecurity
	Idempotent  bool // a required Idempotency-Key header
	Params      []refParam
	RequestBody string // media types of the body, if any
	// RequestSchema and Responses name the shapes the Schemas section describes.
	RequestSchema refType
	Responses     []refResponse
}

type refTag struct {
	Name        string
	Description refText
	Ops         []refOp
}

type refPage struct {
	Title, Version string
	Intro          []refText
	Tags           []refTag
	Schemas        []refSchema
}

var referencePage = template.Must(template.New("ref").Parse(`{{define "text"}}{{range .}}{{if .Code}}<code>{{.Text}}</code>{{else if .Strong}}<strong>{{.Text}}</strong>{{else}}{{.Text}}{{end}}{{end}}{{end}}` +
	`{{define "type"}}{{if .Ref}}<a href="#s-{{.Ref}}"><code>{{.Ref}}</code></a>{{else}}{{.Text}}{{end}}{{.Suffix}}{{end}}` +
	`{{define "enum"}}{{if .}} One of {{range $i, $v := .}}{{if $i}}, {{end}}<code>{{$v}}</code>{{end}}.{{end}}{{end}}<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>{{.Title}} reference</title>
<style>body{font:15px/1.5 system-ui,sans-serif;max-width:60rem;margin:2rem auto;padding:0 1rem;color:#222}
code{background:#f4f4f4;padding:0 .25rem}h2{margin-top:2rem;border-bottom:1px solid #ddd}
.op{margin:1rem 0;padding:.5rem 1rem;border-left:4px solid #4a7}.m{font-weight:bold;font-family:monospace}
.meta{color:#555;font-size:90%}.idem{color:#a50}.d{white-space:pre-line}
table{border-collapse:collapse}td,th{padding:.15rem .6rem;text-align:left;border-bottom:1px solid #eee}</style></head>
<body><h1>{{.Title}} reference <small>{{.Version}}</small></h1>
<p>Machine-readable: <a href="/openapi.json">/openapi.json</a> (OpenAPI 3.1).</p>
{{range .Intro}}<p>{{template "text" .}}</p>
{{end}}{{range .Tags}}<h2>{{.Name}}</h2>{{if .Description}}<p>{{template "text" .Description}}</p>{{end}}{{range .Ops}}
<div class="op"><span class="m">{{.Method}}</span> <code>{{.Path}}</code><p>{{.Summary}}</p>{{if .Description}}<p>{{template "text" .Description}}</p>{{end}}
<p class="meta">Auth: {{if .Security}}{{range $i, $s := .Security}}{{if $i}} or {{end}}{{if $s.Scheme}}<code>{{$s.Scheme}}</code>{{if $s.Scopes}} with scope{{if gt (len $s.Scopes) 1}}s{{end}} {{range $j, $sc := $s.Scopes}}{{if $j}}, {{end}}<code>{{$sc}}</code>{{end}}{{end}}{{else}}no credentials{{end}}{{end}}{{else}}none{{end}}.
{{if .Idempotent}}<span class="idem">Idempotency-Key required.</span>{{end}}{{if .RequestBody}} Body: <code>{{.RequestBody}}</code>.{{end}}</p>
{{if .Params}}<table><tr><th>parameter</th><th>in</th><th>type</th><th>required</th><th>description</th></tr>
{{range .Params}}<tr><td><code>{{.Name}}</code></td><td>{{.In}}</td><td>{{.Type}}</td><td>{{if .Required}}yes{{end}}</td><td>{{template "text" .Description}}</td></tr>{{end}}</table>{{end}}
{{if or .RequestSchema.Ref .RequestSchema.Text}}<p class="meta">Request body: {{template "type" .RequestSchema}}</p>{{end}}
{{if .Responses}}<p class="meta">Responses: {{range $i, $r := .Responses}}{{if $i}} · {{end}}<code>{{$r.Status}}</code> {{if or $r.Schema.Ref $r.Schema.Text}}{{template "type" $r.Schema}}{{else}}{{$r.Description}}{{end}}{{end}}</p>{{end}}
</div>{{end}}{{end}}
{{if .Schemas}}<h2 id="schemas">Schemas</h2>{{range .Schemas}}
<h3 id="s-{{.Name}}"><code>{{.Name}}</code></h3>{{if .Description}}<p class="d">{{template "text" .Description}}</p>{{end}}{{if not .Props}}<p class="meta">{{template "type" .Type}}.{{template "enum" .Enum}}</p>{{end}}
{{if .Props}}<table><tr><th>field</th><th>type</th><th>required</th><th>description</th></tr>
{{range .Props}}<tr><td><code>{{.Name}}</code></td><td>{{template "type" .Type}}</td><td>{{if .Required}}yes{{end}}</td><td>{{template "text" .Description}}{{template "enum" .Enum}}</td></tr>{{end}}</table>{{end}}{{end}}{{end}}
</body></html>`))

// loadAPIDocs prepares what the gateway serves about its API: the deprecations, the OpenAPI
// document with those operations marked, and the reference page rendered from it.
func (g *Gateway) loadAPIDocs(now func() time.Time) error {
	file := g.cfg.Deprecations
	if file == nil {
		file = configs.Deprecations
	}
	ds, err := ParseDeprecations(file, apidocs.OpenAPI, now())
	if err != nil {
		return err
	}
	if g.openapi, err = markDeprecated(apidocs.OpenAPI, ds); err != nil {
		return err
	}
	g.deprecations = newDeprecations(ds, now)
	g.referencePage, err = buildReference(g.openapi)
	return err
}

// buildReference renders the reference page from an OpenAPI document.
func buildReference(doc []byte) ([]byte, error) {
	page, err := referenceModel(doc)
	if err != nil {
		return nil, err
	}
	var b strings.Builder
	if err := referencePage.Execute(&b, page); err != nil {
		return nil, fmt.Errorf("reference: %w", err)
	}
	return []byte(b.String()), nil
}

// The parts of an OpenAPI 3.1 document the page shows.
type (
	oasDoc struct {
		Info struct {
			Title       string `json:"title"`
			Version     string `json:"version"`
			Description string `json:"description"`
		} `json:"info"`
		Tags       []struct{ Name, Description string }  `json:"tags"`
		Paths      map[string]map[string]json.RawMessage `json:"paths"`
		Components oasComponents                         `json:"components"`
	}
	oasComponents struct {
		Parameters map[string]oasParam    `json:"parameters"`
		Schemas    map[string]*oasSchema  `json:"schemas"`
		Responses  map[string]oasResponse `json:"responses"`
	}
	oasOp struct {
		Summary     string                `json:"summary"`
		Description string                `json:"description"`
		Tags        []string              `json:"tags"`
		Parameters  []oasParam            `json:"parameters"`
		Security    []map[string][]string `json:"security"`
		RequestBody *struct {
			Content map[string]oasMedia `json:"content"`
		} `json:"requestBody"`
		Responses map[string]oasResponse `json:"responses"`
	}
	oasParam struct {
		Ref         string     `json:"$ref"`
		Name        string     `json:"name"`
		In          string     `json:"in"`
		Description string     `json:"description"`
		Required    bool       `json:"required"`
		Schema      *oasSchema `json:"schema"`
	}
	oasSchema struct {
		Ref                  string                `json:"$ref"`
		Type                 json.RawMessage       `json:"type"` // a name, or in 3.1 a list of names
		Format               string                `json:"format"`
		Description          string                `json:"description"`
		Enum                 []any                 `json:"enum"`
		Items                *oasSchema            `json:"items"`
		Properties           map[string]*oasSchema `json:"properties"`
		Required             []string              `json:"required"`
		AdditionalProperties json.RawMessage       `json:"additionalProperties"`
		AllOf                []*oasSchema          `json:"allOf"`
	}
)

// httpMethods are the operation keys of a path item, in the order the page lists them.
var httpMethods = []string{"get", "put", "post", "delete", "options", "head", "patch", "trace"}

// referenceModel reads the page's content from an OpenAPI 3.1 document: operations grouped by
// their first tag, in the document's tag order, each with its scopes and whether it needs an
// Idempotency-Key.
func referenceModel(doc []byte) (refPage, error) {
	var d oasDoc
	if err := json.Unmarshal(doc, &d); err != nil {
		return refPage{}, fmt.Errorf("reference: %w", err)
	}
	page := refPage{Title: d.Info.Title, Version: d.Info.Version}
	for _, para := range strings.Split(d.Info.Description, "\n\n") {
		if strings.TrimSpace(para) != "" {
			page.Intro = append(page.Intro, parseRefText(para))
		}
	}
	byTag := map[string]*refTag{}
	for _, t := range d.Tags {
		page.Tags = append(page.Tags, refTag{Name: t.Name, Description: parseRefText(t.Description)})
	}
	for i := range page.Tags {
		byTag[page.Tags[i].Name] = &page.Tags[i]
	}
	var untagged []refOp
	for path, item := range d.Paths {
		for _, m := range httpMethods {
			raw, ok := item[m]
			if !ok {
				continue
			}
			var op oasOp
			if err := json.Unmarshal(raw, &op); err != nil {
				return refPage{}, fmt.Errorf("reference: %s %s: %w", strings.ToUpper(m), path, err)
			}
			o, err := refOperation(m, path, op, d.Components)
			if err != nil {
				return refPage{}, err
			}
			if len(op.Tags) > 0 && byTag[op.Tags[0]] != nil {
				t := byTag[op.Tags[0]]
				t.Ops = append(t.Ops, o)
			} else {
				untagged = append(untagged, o)
			}
		}
	}
	if len(untagged) > 0 {
		page.Tags = append(page.Tags, refTag{Name: "Other", Ops: untagged})
	}
	for i := range page.Tags {
		slices.SortFunc(page.Tags[i].Ops, func(a, b refOp) int {
			if c := strings.Compare(a.Path, b.Path); c != 0 {
				return c
			}
			return slices.Index(httpMethods, strings.ToLower(a.Method)) - slices.Index(httpMethods, strings.ToLower(b.Method))
		})
	}
	page.Tags = slices.DeleteFunc(page.Tags, func(t refTag) bool { return len(t.Ops) == 0 })
	page.Schemas = refSchemas(d.Components.Schemas)
	return page, nil
}

func refOperation(method, path string, op oasOp, shared oasComponents) (refOp, error) {
	o := refOp{Method: strings.ToUpper(method), Path: path, Summary: op.Summary, Description: parseRefText(op.Description)}
	for _, req := range op.Security {
		if len(req) == 0 {
			o.Security = append(o.Security, refSecurity{}) // an alternative without credentials
			continue
		}
		for _, scheme := range slices.Sorted(maps.Keys(req)) {
			o.Security = append(o.Security, refSecurity{Scheme: scheme, Scopes: req[scheme]})
		}
	}
	for _, p := range op.Parameters {
		if p.Ref != "" {
			name, ok := strings.CutPrefix(p.Ref, "#/components/parameters/")
			sp, found := shared.Parameters[name]
			if !ok || !found {
				return refOp{}, fmt.Errorf("reference: %s %s: unresolvable parameter %s", o.Method, path, p.Ref)
			}
			p = sp
		}
		if p.In == "header" && strings.EqualFold(p.Name, "Idempotency-Key") && p.Required {
			o.Idempotent = true
		}
		o.Params = append(o.Params, refParam{Name: p.Name, In: p.In, Type: schemaType(p.Schema), Required: p.Required,
			Description: parseRefText(p.Description)})
	}
	if op.RequestBody != nil {
		o.RequestBody = strings.Join(slices.Sorted(maps.Keys(op.RequestBody.Content)), ", ")
		o.RequestSchema = requestSchema(op.RequestBody.Content)
	}
	var err error
	if o.Responses, err = refResponses(op.Responses, shared.Responses); err != nil {
		return refOp{}, fmt.Errorf("reference: %s %s: %w", o.Method, path, err)
	}
	return o, nil
}

// schemaType names a parameter's type for people: string, integer, string[].
func schemaType(s *oasSchema) string {
	if s == nil {
		return ""
	}
	if s.Ref != "" {
		return strings.TrimPrefix(s.Ref, "#/components/schemas/")
	}
	var one string
	var many []string
	switch {
	case json.Unmarshal(s.Type, &one) == nil:
	case json.Unmarshal(s.Type, &many) == nil:
		one = strings.Join(many, " | ")
	}
	if one == "array" {
		return schemaType(s.Items) + "[]"
	}
	return one
}

// parseRefText splits s into runs at backticks (code) and, outside code, at ** (strong).
func parseRefText(s string) refText {
	var t refText
	for i, part := range strings.Split(s, "`") {
		if i%2 == 1 {
			t = append(t, refRun{Text: part, Code: true})
			continue
		}
		for j, sub := range strings.Split(part, "**") {
			if sub != "" {
				t = append(t, refRun{Text: sub, Strong: j%2 == 1})
			}
		}
	}
	return t
}

// The reference at /docs is Redoc, embedded (gateway/redoc), rendering /openapi.json in the
// browser: every field of every request and response, enums, examples and security. Nothing is
// loaded from another origin, so the reference works offline and behind a strict proxy.
// /docs/plain is the server-rendered reference above, for clients without scripts.
const (
	docsPath  = "/docs"
	plainPath = "/docs/plain"
	// redocPath names the bundle's version, so browsers may keep it for good.
	redocPath = "/docs/assets/redoc-" + redoc.Version + ".standalone.js"
)

// docsCSP allows the page its own script, Redoc's injected styles and blob: search worker, and
// requests to this origin only (the OpenAPI document); nothing from any other origin.
const docsCSP = "default-src 'none'; script-src 'self'; style-src 'self' 'unsafe-inline'; img-src 'self' data:; " +
	"font-src 'self' data:; connect-src 'self'; worker-src blob:; base-uri 'none'; form-action 'none'; frame-ancestors 'none'"

var docsPage = []byte(`<!doctype html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">
<title>Retailbridge API reference</title><style>body{margin:0}</style></head>
<body><noscript><p>This reference needs JavaScript. Read the <a href="` + plainPath + `">plain reference</a>
or the <a href="/openapi.json">OpenAPI 3.1 document</a>.</p></noscript>
<redoc spec-url="/openapi.json" path-in-middle-panel="true" required-props-first="true" sort-enums-alphabetically="false"></redoc>
<script src="` + redocPath + `"></script>
</body></html>
`)

// referenceRoutes serves the API reference.
func (g *Gateway) referenceRoutes(r gin.IRoutes) {
	r.GET(docsPath, func(c *gin.Context) {
		c.Header("Content-Security-Policy", docsCSP)
		c.Data(http.StatusOK, "text/html; charset=utf-8", docsPage)
	})
	r.GET(redocPath, redocAsset())
	r.GET(plainPath, g.reference(g.referencePage))
}

// redocAsset serves the bundle, gzip-compressed (330 KB of its 1.1 MB) to clients that
// accept it; it is compressed once, on first use, so gateways that nobody reads docs from pay
// nothing at startup.
func redocAsset() gin.HandlerFunc {
	var once sync.Once
	var gz []byte
	return func(c *gin.Context) {
		c.Header("Cache-Control", "public, max-age=31536000, immutable")
		c.Header("Vary", "Accept-Encoding")
		if !acceptsGzip(c.GetHeader("Accept-Encoding")) {
			c.Data(http.StatusOK, "text/javascript; charset=utf-8", redoc.Standalone)
			return
		}
		once.Do(func() {
			var b bytes.Buffer
			w, _ := gzip.NewWriterLevel(&b, gzip.BestCompression)
			_, _ = w.Write(redoc.Standalone)
			_ = w.Close()
			gz = b.Bytes()
		})
		c.Header("Content-Encoding", "gzip")
		c.Data(http.StatusOK, "text/javascript; charset=utf-8", gz)
	}
}

// acceptsGzip reads an Accept-Encoding header: gzip listed without q=0.
func acceptsGzip(h string) bool {
	for _, part := range strings.Split(h, ",") {
		name, params, _ := strings.Cut(strings.TrimSpace(part), ";")
		if !strings.EqualFold(strings.TrimSpace(name), "gzip") {
			continue
		}
		q := strings.ReplaceAll(strings.TrimSpace(params), " ", "")
		return q != "q=0" && q != "q=0.0" && q != "q=0.00" && q != "q=0.000"
	}
	return false
}

func (g *Gateway) reference(page []byte) gin.HandlerFunc {
	return func(c *gin.Context) {
		c.Header("Content-Security-Policy", "default-src 'none'; style-src 'unsafe-inline'; frame-ancestors 'none'")
		c.Data(http.StatusOK, "text/html; charset=utf-8", page)
	}
}
