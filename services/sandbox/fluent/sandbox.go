// Package fluent is a sandbox of Fluent Commerce's Order Management as the OMS connector uses
// it: the OAuth2 password grant (/oauth/token), the GraphQL API (/graphql: createOrder, orders
// by ref, order with its fulfilments, inventoryPositions) and the Event API
// (/api/v4.1/event/async, CancelOrder), and the Batch API's inventory upserts (/api/v4.1/job,
// inventory.go) through which its positions are loaded. Creating an order runs a sourcing rule the way a Fluent
// workflow would: the whole order from one location when one can fill it (the pick-up store
// first for click & collect), otherwise split line by line across locations; a line no location
// can fill gets a REJECTED fulfilment. Allocated units leave the location's on-hand positions
// and a cancellation puts them back. It is a sandbox of the wire protocol and of that sourcing
// rule, not of Fluent's configurable workflows.
package fluent

import (
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"net/http"
	"sort"
	"strconv"
	"strings"
	"sync"

	"github.com/retailbridge/retailbridge/services/sandbox/demo"
)

// Development credentials the sandbox accepts when Options leave them empty.
const (
	DevClientID     = "fluent-api"
	DevClientSecret = "dev-fluent-secret"
	DevUsername     = "retailbridge"
	DevPassword     = "dev-fluent-password"
	DevRetailerID   = "1"
)

// DefaultLocations are the locations the sandbox sources from: the warehouse's sites and the
// demo stores, under the ledger's ids (the ids every other sandbox and the inventory process use,
// so an allocation names a location the inventory process knows).
var DefaultLocations = append([]string{"dc-east", "dc-west"}, demo.Stores...)

// Options configure the sandbox.
type Options struct {
	ClientID, ClientSecret, Username, Password string
	// Locations stocked with the demo catalogue (DefaultLocations when empty).
	Locations []string
	// Seed makes the stocked quantities reproducible.
	Seed uint64
}

// Sandbox is the emulated Fluent account.
type Sandbox struct {
	opts Options

	mu       sync.Mutex
	tokens   map[string]bool
	orders   map[string]*order // by id
	byRef    map[string]*order
	onHand   map[string]map[string]int64 // location → SKU → units
	nextID   int
	created  int
	cancels  int
	refusals int
	jobs     map[string]bool // Batch API jobs

	inventoryUpdates int
}

type order struct {
	id, ref, typ, status, pickup string
	items                        []item
	fulfilments                  []*fulfilment
}

type item struct {
	ref, sku string
	qty      int64
}

type fulfilment struct {
	ref, status, location string
	lines                 map[string]int64 // order item ref → units
	skus                  map[string]int64
}

// New returns a sandbox stocked from ds (every location holds every item but gift cards).
func New(ds *demo.Dataset, opts Options) *Sandbox {
	def := func(v *string, d string) {
		if *v == "" {
			*v = d
		}
	}
	def(&opts.ClientID, DevClientID)
	def(&opts.ClientSecret, DevClientSecret)
	def(&opts.Username, DevUsername)
	def(&opts.Password, DevPassword)
	if len(opts.Locations) == 0 {
		opts.Locations = DefaultLocations
	}
	s := &Sandbox{opts: opts, tokens: map[string]bool{}, orders: map[string]*order{}, byRef: map[string]*order{},
		onHand: map[string]map[string]int64{}, nextID: 1000}
	rng := rand.New(rand.NewPCG(opts.Seed, 7))
	for _, loc := range opts.Locations {
		s.onHand[loc] = map[string]int64{}
		if ds == nil {
			continue
		}
		for _, it := range ds.Items {
			if it.Category != "gift_card" {
				s.onHand[loc][it.SKU] = rng.Int64N(40)
			}
		}
	}
	return s
}

// SetOnHand sets a position (tests and the dev console).
func (s *Sandbox) SetOnHand(location, sku string, units int64) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.onHand[location] == nil {
		s.onHand[location] = map[string]int64{}
	}
	s.onHand[location][sku] = units
}

// Stats are the sandbox's counters.
type Stats struct {
	OrdersCreated, Cancellations, RefusedCreates int
	// InventoryUpdates counts positions set through the Batch API.
	InventoryUpdates int
}

// Stats returns the counters.
func (s *Sandbox) Stats() Stats {
	s.mu.Lock()
	defer s.mu.Unlock()
	return Stats{OrdersCreated: s.created, Cancellations: s.cancels, RefusedCreates: s.refusals, InventoryUpdates: s.inventoryUpdates}
}

// ServeHTTP serves the API.
func (s *Sandbox) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	switch {
	case r.Method == http.MethodPost && r.URL.Path == "/oauth/token":
		s.serveToken(w, r)
	case !s.authorized(r):
		writeJSON(w, http.StatusUnauthorized, map[string]any{"error": "invalid_token", "error_description": "Invalid access token"})
	case r.Method == http.MethodPost && r.URL.Path == "/graphql":
		s.serveGraphQL(w, r)
	case r.Method == http.MethodPost && r.URL.Path == "/api/v4.1/event/async":
		s.serveEvent(w, r)
	case r.Method == http.MethodPost && r.URL.Path == "/api/v4.1/job":
		s.serveJob(w, r)
	case r.Method == http.MethodPost && strings.HasSuffix(r.URL.Path, "/batch"):
		if id, ok := batchPath(r.URL.Path); ok {
			s.serveBatch(w, r, id)
			return
		}
		writeJSON(w, http.StatusNotFound, map[string]any{"message": "not found: " + r.Method + " " + r.URL.Path})
	default:
		writeJSON(w, http.StatusNotFound, map[string]any{"message": "not found: " + r.Method + " " + r.URL.Path})
	}
}

// serveToken is the password grant; form-encoded (recommended) or in the query string.
func (s *Sandbox) serveToken(w http.ResponseWriter, r *http.Request) {
	if err := r.ParseForm(); err != nil {
		writeJSON(w, http.StatusBadRequest, map[string]any{"error": "invalid_request"})
		return
	}
	f := r.Form
	if f.Get("grant_type") != "password" || f.Get("client_id") != s.opts.ClientID || f.Get("client_secret") != s.opts.ClientSecret ||
		f.Get("username") != s.opts.Username || f.Get("password") != s.opts.Password {
		writeJSON(w, http.StatusUnauthorized, map[string]any{"error": "invalid_grant", "error_description": "Bad credentials"})
		return
	}
	s.mu.Lock()
	s.nextID++
	tok := fmt.Sprintf("tok-%d-%d", s.nextID, rand.Int64())
	s.tokens[tok] = true
	s.mu.Unlock()
	writeJSON(w, http.StatusOK, map[string]any{"access_token": tok, "token_type": "bearer", "expires_in": 86399, "scope": "api",
		"Retailer_id": DevRetailerID})
}

func (s *Sandbox) authorized(r *http.Request) bool {
	tok, ok := strings.CutPrefix(r.Header.Get("Authorization"), "Bearer ")
	s.mu.Lock()
	defer s.mu.Unlock()
	return ok && s.tokens[tok]
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(v)
}

// gqlRequest is a GraphQL POST body.
type gqlRequest struct {
	Query     string          `json:"query"`
	Variables json.RawMessage `json:"variables"`
}

func (s *Sandbox) serveGraphQL(w http.ResponseWriter, r *http.Request) {
	var req gqlRequest
	if err := json.NewDecoder(r.Body).Decode(&req); err != nil {
		writeJSON(w, http.StatusBadRequest, map[string]any{"errors": []map[string]any{{"message": "body is not JSON"}}})
		return
	}
	var data any
	var err error
	switch q := req.Query; {
	case strings.Contains(q, "createOrder("):
		data, err = s.createOrder(req.Variables)
	case strings.Contains(q, "orders("):
		data, err = s.ordersByRef(req.Variables)
	case strings.Contains(q, "order("):
		data, err = s.orderByID(req.Variables)
	case strings.Contains(q, "inventoryPositions("):
		data, err = s.positions(req.Variables)
	default:
		err = fmt.Errorf("the sandbox does not emulate this operation")
	}
	if err != nil {
		writeJSON(w, http.StatusOK, map[string]any{"data": nil, "errors": []map[string]any{{"message": err.Error()}}})
		return
	}
	writeJSON(w, http.StatusOK, map[string]any{"data": data})
}

// sortedLocations lists locations by name, for deterministic sourcing.
func (s *Sandbox) sortedLocations() []string {
	locs := make([]string, 0, len(s.onHand))
	for l := range s.onHand {
		locs = append(locs, l)
	}
	sort.Strings(locs)
	return locs
}

func (s *Sandbox) newRef(prefix string) string {
	s.nextID++
	return prefix + strconv.Itoa(s.nextID)
}
