// Package shopify emulates the Shopify Admin GraphQL API over the demo dataset: versioned
// endpoints, access-token auth, real GraphQL (parsed, validated and executed against a subset of
// Shopify's schema with Shopify's type and field names) and Shopify's cost-based leaky-bucket
// throttling, reported in extensions.cost on every answer. Mutations (returnCreate, returnClose,
// refundCreate with @idempotent, mandatory from 2026-04) change the shop, and the shop announces
// the changes as signed REST-shaped webhooks (orders/updated, refunds/create) to a configured
// URL, with knobs to deliver them several times, late, out of order or not at all. The fault
// knobs of package faults sit in front, so tests can make it slow, flaky or unreachable.
package shopify

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"mime"
	"net/http"
	"slices"
	"sync/atomic"
	"time"

	"github.com/graph-gophers/graphql-go"
	"github.com/vektah/gqlparser/v2"
	"github.com/vektah/gqlparser/v2/ast"
	"github.com/vektah/gqlparser/v2/validator"

	"github.com/retailbridge/retailbridge/services/sandbox/demo"
	"github.com/retailbridge/retailbridge/services/sandbox/faults"
	"github.com/retailbridge/retailbridge/services/sandbox/shopify/adminschema"
	"github.com/retailbridge/retailbridge/services/sandbox/state"
)

// Defaults for Options.
const (
	DefaultAccessToken = "shpat_retailbridge_sandbox"
	DefaultBucketSize  = 1000 // points
	DefaultRestoreRate = 100  // points per second (Shopify's Standard plan)
)

// DefaultAPIVersions are the versions served when Options.APIVersions is empty.
var DefaultAPIVersions = []string{"2026-01", "2026-04", "2026-07", "2026-10"}

// Options configure a Sandbox. The zero value serves the defaults.
type Options struct {
	// AccessToken is the X-Shopify-Access-Token every request must carry (DefaultAccessToken).
	AccessToken string
	// APIVersions are the served versions; others answer 404 (DefaultAPIVersions).
	APIVersions []string
	// BucketSize is the leaky bucket's capacity in points (DefaultBucketSize).
	BucketSize float64
	// RestoreRate is how many points the bucket regains per second (DefaultRestoreRate).
	RestoreRate float64
	// Now is the clock the bucket restores by (time.Now).
	Now func() time.Time
	// Seed drives the fault knobs' randomness and the shop details the dataset does not hold
	// (addresses, mobile platforms, uncounted returns).
	Seed uint64
	// Webhooks is the shop's webhook subscription (none when its URL is empty).
	Webhooks WebhookConfig
	// WebhookClient delivers webhooks (a client with a 5s timeout when nil).
	WebhookClient *http.Client
	// Warm names API versions whose Shopify schema New parses at once, in the background (the
	// client's version), so the first request does not wait for it. Others are parsed on first use.
	Warm []string
	// StateDir keeps what mutations changed (refunds, returns, @idempotent keys, the id counter)
	// in StateDir/shopify.json across restarts; empty keeps it in memory only. The dataset must
	// be the one the state was kept for (demo.Open). Use Open with it.
	StateDir string
	// BulkDelay is how long a bulk operation reports itself RUNNING before its result can be
	// read (bulk.go); zero completes it at once.
	BulkDelay time.Duration
	// IdempotencyKeys is how many @idempotent keys are remembered, the oldest forgotten first
	// (DefaultIdempotencyKeys when zero or negative).
	IdempotencyKeys int
}

// DefaultIdempotencyKeys bounds the @idempotent keys the shop remembers. Shopify keeps a key for
// about a day; a sandbox doing so under a sustained load (every inventory push carries a fresh
// key) grows without bound, so past this many the oldest are forgotten, and a repeat of one
// executes again, as it would at Shopify after its retention.
const DefaultIdempotencyKeys = 10_000

func (o Options) withDefaults() Options {
	if o.IdempotencyKeys <= 0 {
		o.IdempotencyKeys = DefaultIdempotencyKeys
	}
	if o.AccessToken == "" {
		o.AccessToken = DefaultAccessToken
	}
	if len(o.APIVersions) == 0 {
		o.APIVersions = DefaultAPIVersions
	}
	if o.BucketSize <= 0 {
		o.BucketSize = DefaultBucketSize
	}
	if o.RestoreRate <= 0 {
		o.RestoreRate = DefaultRestoreRate
	}
	if o.Now == nil {
		o.Now = time.Now
	}
	return o
}

// Stats count what the sandbox answered.
type Stats struct {
	// Queries is how many queries were executed.
	Queries int64
	// Mutations is how many mutation requests were executed, replays of an idempotency key
	// included.
	Mutations int64
	// Throttled is how many requests were answered THROTTLED.
	Throttled int64
	// MaxCostExceeded is how many queries were refused for costing more than 1000 points.
	MaxCostExceeded int64
	// Unauthorized is how many requests carried a wrong or missing access token.
	Unauthorized int64
	// PointsSpent is the sum of the executed queries' actual costs.
	PointsSpent int64
}

// Sandbox is an emulated Shopify shop. It is safe for concurrent use.
type Sandbox struct {
	opts    Options
	store   *store
	exec    *graphql.Schema
	schema  *ast.Schema
	bucket  *bucket
	faults  *faults.Faults
	hooks   *webhooks
	bulk    *bulkOps
	handler http.Handler
	state   *state.File // nil: nothing is kept across restarts

	queries, mutations, throttled, maxCost, unauthorized, points atomic.Int64
}

// New builds a sandbox serving ds. It panics when opts.StateDir is set and the state cannot be
// read; Open returns that error instead.
func New(ds *demo.Dataset, opts Options) *Sandbox {
	s, err := Open(ds, opts)
	if err != nil {
		panic(err)
	}
	return s
}

// Open is New for a shop that keeps what mutations changed in opts.StateDir: the shop a previous
// run left there is restored on top of ds.
func Open(ds *demo.Dataset, opts Options) (*Sandbox, error) {
	opts = opts.withDefaults()
	s := &Sandbox{opts: opts, store: newStore(ds, opts.Seed, opts.Now, opts.IdempotencyKeys), faults: faults.New(opts.Seed)}
	s.bucket = newBucket(opts.BucketSize, opts.RestoreRate, opts.Now)
	s.hooks = newWebhooks(opts.Webhooks, opts.WebhookClient, opts.APIVersions, opts.Seed)
	// Both parsers must accept the schema; a failure is a bug in schemaSDL, caught by any test.
	s.bulk = &bulkOps{delay: opts.BulkDelay, now: opts.Now}
	s.exec = graphql.MustParseSchema(schemaSDL, &rootResolver{st: s.store, bulk: s.bulk}, graphql.UseStringDescriptions())
	s.bulk.exec = s.exec
	s.schema = gqlparser.MustLoadSchema(&ast.Source{Name: "shopify.graphql", Input: schemaSDL})

	for _, v := range opts.Warm {
		go adminschema.Load(v) //nolint:errcheck // a version without a schema answers 404 when asked
	}
	mux := http.NewServeMux()
	mux.HandleFunc("POST /admin/api/{version}/graphql.json", s.serveGraphQL)
	mux.HandleFunc("GET /_bulk/{file}", s.bulk.serveFile)
	s.handler = s.faults.Middleware(mux)
	f, err := state.Open(opts.StateDir, "shopify")
	if err != nil {
		return nil, err
	}
	owed, err := s.load(f)
	if err != nil {
		return nil, err
	}
	s.state = f
	s.hooks.onSettled = func() { _ = s.commit() } // a failed save keeps the delivery owed on disk: delivered again, not lost
	s.hooks.resume(owed)                          // still owed in the file saved next, until the receiver takes them
	s.store.mu.Lock()
	err = s.persistLocked()
	s.store.mu.Unlock()
	if err != nil {
		return nil, err
	}
	return s, nil
}

// Close abandons the webhook copies under way; the deliveries they owed stay in the state file,
// and a shop opened on it delivers them. The sandbox keeps serving requests.
func (s *Sandbox) Close() { s.hooks.close() }

// ServeHTTP serves the Admin API, the fault control endpoint /_sandbox/faults and the webhook
// control endpoint /_sandbox/webhooks.
func (s *Sandbox) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if r.URL.Path == "/_sandbox/webhooks" {
		s.hooks.serveControl(w, r)
		return
	}
	s.handler.ServeHTTP(w, r)
}

// SetWebhooks replaces the webhook subscription; an empty URL stops deliveries.
func (s *Sandbox) SetWebhooks(cfg WebhookConfig) { s.hooks.set(cfg) }

// SetWebhookURL points the subscription at url, keeping its secret and topics; "" stops deliveries.
func (s *Sandbox) SetWebhookURL(url string) { s.hooks.setURL(url) }

// SetWebhookFaults changes how deliveries misbehave.
func (s *Sandbox) SetWebhookFaults(f WebhookFaults) { s.hooks.setFaults(f) }

// WebhookStats counts deliveries.
func (s *Sandbox) WebhookStats() WebhookStats { return s.hooks.stats() }

// DrainWebhooks waits until every delivery scheduled so far has been made or given up on.
func (s *Sandbox) DrainWebhooks(ctx context.Context) error { return s.hooks.drain(ctx) }

// Faults returns the fault knobs in front of the API.
func (s *Sandbox) Faults() *faults.Faults { return s.faults }

// SetThrottle changes the bucket's size and restore rate and fills it.
func (s *Sandbox) SetThrottle(bucketSize, restoreRate float64) {
	s.bucket.reset(bucketSize, restoreRate)
}

// Stats returns the counters.
func (s *Sandbox) Stats() Stats {
	return Stats{
		Queries: s.queries.Load(), Mutations: s.mutations.Load(), Throttled: s.throttled.Load(), MaxCostExceeded: s.maxCost.Load(),
		Unauthorized: s.unauthorized.Load(), PointsSpent: s.points.Load(),
	}
}

// ShippingAddress is the address the sandbox serves for an order; false for pick-up orders and
// unknown ids. The dataset holds no addresses, so tests read expectations here.
func (s *Sandbox) ShippingAddress(orderID string) (MailingAddress, bool) {
	s.store.mu.RLock()
	defer s.store.mu.RUnlock()
	o, ok := s.store.byID[orderID]
	if !ok || o.address == nil {
		return MailingAddress{}, false
	}
	return *o.address, true
}

// FulfilledUnits is how many units of each of an order's lines are fulfilled, by line item id,
// and how many fulfilments the order has; false for unknown ids.
func (s *Sandbox) FulfilledUnits(orderID string) (map[string]int, int, bool) {
	s.store.mu.RLock()
	defer s.store.mu.RUnlock()
	o, ok := s.store.byID[orderID]
	if !ok {
		return nil, 0, false
	}
	out := make(map[string]int, len(o.lines))
	for _, l := range o.lines {
		out[l.id] = l.fulfilled
	}
	return out, len(o.fulfills), true
}

// LocationID is the numeric Shopify location id of a demo store (demo.Stores); the location's
// name is the store code.
func (s *Sandbox) LocationID(store string) (string, bool) {
	l, ok := s.store.stores[store]
	if !ok {
		return "", false
	}
	return l.id, true
}

// UpdatedAt is the order's updatedAt: its latest shipment, delivery, refund or return event.
func (s *Sandbox) UpdatedAt(orderID string) (time.Time, bool) {
	s.store.mu.RLock()
	defer s.store.mu.RUnlock()
	o, ok := s.store.byID[orderID]
	if !ok {
		return time.Time{}, false
	}
	return o.updatedAt, true
}

// SourceName returns the sales channel an order reports (sourceName): the seed picks "iphone"
// or "android" for mobile orders, so conformance tests ask.
func (s *Sandbox) SourceName(orderID string) (string, bool) {
	s.store.mu.RLock()
	defer s.store.mu.RUnlock()
	o, ok := s.store.byID[orderID]
	if !ok {
		return "", false
	}
	return o.sourceName, true
}

// graphQLRequest is the POST body.
type graphQLRequest struct {
	Query         string         `json:"query"`
	Variables     map[string]any `json:"variables"`
	OperationName string         `json:"operationName"`
}

type queryCost struct {
	RequestedQueryCost int            `json:"requestedQueryCost"`
	ActualQueryCost    *int           `json:"actualQueryCost"`
	ThrottleStatus     throttleStatus `json:"throttleStatus"`
}

type responseExtensions struct {
	Cost queryCost `json:"cost"`
}

type graphQLResponse struct {
	Errors     any                 `json:"errors,omitempty"`
	Data       json.RawMessage     `json:"data,omitempty"`
	Extensions *responseExtensions `json:"extensions,omitempty"`
}

type gqlError struct {
	Message    string         `json:"message"`
	Extensions map[string]any `json:"extensions,omitempty"`
}

const rateLimitDocs = "https://shopify.dev/api/usage/rate-limits"

func (s *Sandbox) serveGraphQL(w http.ResponseWriter, r *http.Request) {
	if !slices.Contains(s.opts.APIVersions, r.PathValue("version")) {
		writeJSON(w, http.StatusNotFound, map[string]string{"errors": "Not Found"})
		return
	}
	if r.Header.Get("X-Shopify-Access-Token") != s.opts.AccessToken {
		s.unauthorized.Add(1)
		writeJSON(w, http.StatusUnauthorized, map[string]string{
			"errors": "[API] Invalid API key or access token (unrecognized login or wrong password)"})
		return
	}
	req, err := readRequest(r)
	if err != nil || req.Query == "" {
		writeJSON(w, http.StatusBadRequest, map[string]any{
			"errors": map[string]string{"query": "Required parameter missing or invalid"}})
		return
	}
	noCost := func() *responseExtensions {
		zero := 0
		return &responseExtensions{Cost: queryCost{ActualQueryCost: &zero, ThrottleStatus: s.bucket.status()}}
	}

	if refusedByShopify(w, r.PathValue("version"), req, noCost) {
		return
	}
	doc, gerrs := gqlparser.LoadQueryWithRules(s.schema, req.Query, nil)
	if len(gerrs) > 0 {
		writeJSON(w, http.StatusOK, graphQLResponse{Errors: unsupported(gerrs), Extensions: noCost()})
		return
	}
	op, msg := pickOperation(doc, req.OperationName)
	if op == nil {
		writeJSON(w, http.StatusOK, graphQLResponse{Errors: []gqlError{{Message: msg}}, Extensions: noCost()})
		return
	}
	vars, verr := validator.VariableValues(s.schema, op, req.Variables)
	if verr != nil {
		writeJSON(w, http.StatusOK, graphQLResponse{Errors: []error{verr}, Extensions: noCost()})
		return
	}
	mutation := op.Operation == ast.Mutation
	var requested int
	c := &call{keys: map[string]string{}}
	if mutation {
		fields := collectFields(s.schema, op.SelectionSet, s.schema.Mutation)
		requested = mutationCost * len(fields)
		for _, f := range fields {
			if d := f.field.Directives.ForName("idempotent"); d != nil {
				c.keys[f.field.Name], _ = d.ArgumentMap(vars)["key"].(string)
			}
			if mutationsRequiringKey[f.field.Name] && c.keys[f.field.Name] == "" && r.PathValue("version") >= idempotencyRequiredFrom {
				writeJSON(w, http.StatusOK, graphQLResponse{Errors: []gqlError{{
					Message:    f.field.Name + " requires an idempotency key from API version " + idempotencyRequiredFrom + ": add @idempotent(key: ...).",
					Extensions: map[string]any{"code": "BAD_REQUEST"}}}, Extensions: noCost()})
				return
			}
		}
	} else if requested, err = requestedCost(s.schema, op, vars); err != nil {
		writeJSON(w, http.StatusOK, graphQLResponse{Errors: []gqlError{{Message: err.Error(),
			Extensions: map[string]any{"code": "BAD_REQUEST"}}}, Extensions: noCost()})
		return
	}
	if requested > maxQueryCost {
		s.maxCost.Add(1)
		writeJSON(w, http.StatusOK, graphQLResponse{Errors: []gqlError{{
			Message: fmt.Sprintf("Query cost is %d, which exceeds the single query max cost limit (%d).\n\n"+
				"See %s for more information on how the\ncost of a query is calculated.\n\n"+
				"To query larger amounts of data with fewer limits, bulk operations should be used instead.\n"+
				"See https://shopify.dev/api/usage/bulk-operations/queries for usage details.\n",
				requested, maxQueryCost, rateLimitDocs),
			Extensions: map[string]any{"code": "MAX_COST_EXCEEDED", "cost": requested, "maxCost": maxQueryCost,
				"documentation": rateLimitDocs},
		}}, Extensions: &responseExtensions{Cost: queryCost{RequestedQueryCost: requested, ThrottleStatus: s.bucket.status()}}})
		return
	}
	status, ok := s.bucket.take(float64(requested))
	if !ok {
		s.throttled.Add(1)
		writeJSON(w, http.StatusOK, graphQLResponse{
			Errors: []gqlError{{Message: "Throttled", Extensions: map[string]any{
				"code": "THROTTLED", "documentation": rateLimitDocs}}},
			Extensions: &responseExtensions{Cost: queryCost{RequestedQueryCost: requested, ThrottleStatus: status}},
		})
		return
	}

	ctx := withBase(withCall(r.Context(), c), r)
	var res *graphql.Response
	if mutation {
		s.store.mu.Lock()
		res = s.exec.Exec(ctx, req.Query, op.Name, req.Variables)
		s.store.mu.Unlock()
		out := s.hooks.record(c.outbox)    // owed before the commit, so a restart delivers them
		if err := s.commit(); err != nil { // before anyone hears of the change, so a restart cannot forget it
			writeJSON(w, http.StatusInternalServerError, map[string]string{"errors": "Internal Server Error"})
			return
		}
		s.mutations.Add(1)
		s.hooks.start(out) // after the commit, as Shopify announces only what happened
	} else {
		s.store.mu.RLock()
		res = s.exec.Exec(ctx, req.Query, op.Name, req.Variables)
		s.store.mu.RUnlock()
		s.queries.Add(1)
	}
	actual := requested
	if !mutation {
		actual = min(actualCost(s.schema, op, res.Data), requested)
	}
	status = s.bucket.give(float64(requested - actual))
	s.points.Add(int64(actual))

	out := graphQLResponse{Data: res.Data, Extensions: &responseExtensions{Cost: queryCost{
		RequestedQueryCost: requested, ActualQueryCost: &actual, ThrottleStatus: status}}}
	if len(res.Errors) > 0 {
		out.Errors = res.Errors
	}
	writeJSON(w, http.StatusOK, out)
}

func readRequest(r *http.Request) (graphQLRequest, error) {
	var req graphQLRequest
	body, err := io.ReadAll(io.LimitReader(r.Body, 1<<20))
	if err != nil {
		return req, err
	}
	ct, _, _ := mime.ParseMediaType(r.Header.Get("Content-Type"))
	if ct == "application/graphql" {
		req.Query = string(body)
		return req, nil
	}
	err = json.Unmarshal(body, &req)
	return req, err
}

func pickOperation(doc *ast.QueryDocument, name string) (*ast.OperationDefinition, string) {
	var op *ast.OperationDefinition
	switch {
	case name != "":
		op = doc.Operations.ForName(name)
		if op == nil {
			return nil, fmt.Sprintf("No operation named %q", name)
		}
	case len(doc.Operations) == 1:
		op = doc.Operations[0]
	default:
		return nil, "An operation name is required"
	}
	if op.Operation != ast.Query && op.Operation != ast.Mutation {
		return nil, "The sandbox serves queries and mutations only"
	}
	return op, ""
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	b, err := json.Marshal(v)
	if err != nil {
		status, b = http.StatusInternalServerError, []byte(`{"errors":"Internal error"}`)
	}
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	w.WriteHeader(status)
	_, _ = w.Write(b)
}
