// Package shopify is the commerce connector for Shopify's Admin GraphQL API. It reads orders with
// their fulfilments, refunds and returns and maps them to the canonical model; opens and closes
// returns and records refunds (refundCreate with @idempotent, so a repeat never refunds twice);
// verifies and normalises the shop's webhooks; and it obeys Shopify's cost-based rate limit: a
// local model of the leaky bucket makes callers wait for points (or fail fast when their deadline
// is too close) instead of drawing THROTTLED answers. Mutations are charged like queries.
package shopify

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"log/slog"
	"net/http"
	"strings"
	"sync"
	"time"

	"golang.org/x/sync/errgroup"

	"github.com/retailbridge/retailbridge/pkg/errs"
	canonicalv1 "github.com/retailbridge/retailbridge/pkg/gen/retailbridge/canonical/v1"
	"github.com/retailbridge/retailbridge/pkg/vendorhttp"
)

// Config locates the shop.
type Config struct {
	// BaseURL is the shop's origin, for example https://example.myshopify.com.
	BaseURL string
	// APIVersion is the Admin API version, for example "2026-01".
	APIVersion string
	// AccessToken is the Admin API access token.
	AccessToken string
	// WebhookSecret is the app's client secret, which signs the shop's webhooks.
	WebhookSecret string
}

// Deps are the connector's collaborators.
type Deps struct {
	// HTTPClient sends the requests; the caller's client carries tracing and connection limits.
	HTTPClient *http.Client
	// Logger receives vendor failure detail, which never reaches callers.
	Logger *slog.Logger
	// Now is the clock of the rate-limit model (time.Now).
	Now func() time.Time
}

// Connector talks to one shop. It is safe for concurrent use; concurrent callers share one
// rate-limit model and queue on it.
type Connector struct {
	endpoint      string
	token         string
	webhookSecret []byte
	client        *http.Client
	log           *slog.Logger
	budget        *budget
	reasons       reasonLibrary
	items         sync.Map // SKU → inventory item id
	bulk          bulkResult
}

const (
	// maxAttempts bounds how often one call is sent after THROTTLED answers.
	maxAttempts = 4
	// listConcurrency bounds the order reads one ListOrders page runs at once; the budget
	// queues them anyway, this only limits goroutines and connections.
	listConcurrency  = 4
	maxResponseBytes = 8 << 20
)

// PinnedAPIVersion is the Admin API version the connector's documents are written and tested
// against (Shopify's published schema of it is vendored, and every document is validated against
// it and every later vendored version).
const PinnedAPIVersion = "2026-07"

// New returns a connector for cfg; cfg is validated by the service's config.
func New(cfg Config, deps Deps) *Connector {
	if deps.HTTPClient == nil {
		deps.HTTPClient = http.DefaultClient
	}
	if deps.Logger == nil {
		deps.Logger = slog.New(slog.DiscardHandler)
	}
	if deps.Now == nil {
		deps.Now = time.Now
	}
	return &Connector{
		endpoint:      strings.TrimRight(cfg.BaseURL, "/") + "/admin/api/" + cfg.APIVersion + "/graphql.json",
		token:         cfg.AccessToken,
		webhookSecret: []byte(cfg.WebhookSecret),
		client:        deps.HTTPClient,
		log:           deps.Logger.With("vendor", "shopify"),
		budget:        newBudget(deps.Now),
	}
}

// GetOrder reads one order.
func (c *Connector) GetOrder(ctx context.Context, id string) (*canonicalv1.Order, error) {
	if !isNumeric(id) {
		return nil, toError(ctx, failure{notFound: true}) // Shopify order ids are numeric
	}
	size := regularOrder
	for {
		var data struct {
			Order *order `json:"order"`
		}
		if err := c.do(ctx, getOrderOp, size.vars(id), &data); err != nil {
			return nil, err
		}
		if data.Order == nil {
			return nil, toError(ctx, failure{notFound: true})
		}
		o, err := toCanonicalOrder(data.Order)
		if errors.As(err, new(errTooLarge)) && size == regularOrder {
			size = largeOrder // rare: pay for the bigger read only when needed
			continue
		}
		if err != nil {
			return nil, c.fail(ctx, getOrderOp, failure{status: http.StatusOK, cause: err})
		}
		return o, nil
	}
}

// pageToken is the opaque ListOrders cursor: Shopify's cursor, bound to the search it pages.
type pageToken struct {
	Query string `json:"q"`
	After string `json:"a"`
}

func encodePageToken(t pageToken) string {
	b, _ := json.Marshal(t)
	return base64.RawURLEncoding.EncodeToString(b)
}

func decodePageToken(s, query string) (pageToken, error) {
	var t pageToken
	b, err := base64.RawURLEncoding.DecodeString(s)
	if err == nil {
		err = json.Unmarshal(b, &t)
	}
	if err != nil || t.Query != query || t.After == "" {
		return t, errs.E(errs.Invalid, "invalid_page_token", "the page token is not valid for this listing").
			WithFields(errs.FieldViolation{Field: "page_token", Description: "not a token from a previous page of this listing"})
	}
	return t, nil
}

// searchQuery is a listing in Shopify's search syntax: `customer_id:7 (source_name:"a" OR
// source_name:"b")` (terms side by side must all match). ok is false when nothing can match: a
// customer id that is not a Shopify id.
func searchQuery(customerID string, sources []string) (string, bool) {
	var terms []string
	if customerID != "" {
		if !isNumeric(customerID) {
			return "", false
		}
		terms = append(terms, "customer_id:"+customerID)
	}
	var alts []string
	for _, src := range sources {
		alts = append(alts, `source_name:"`+src+`"`)
	}
	switch len(alts) {
	case 0:
	case 1:
		terms = append(terms, alts[0])
	default:
		terms = append(terms, "("+strings.Join(alts, " OR ")+")")
	}
	return strings.Join(terms, " "), len(terms) > 0
}

// ListOrders lists a customer's orders, a sales channel's, or both, newest first. It pages
// through order ids and reads each order in full, because a page of full orders costs more than
// Shopify allows per query.
func (c *Connector) ListOrders(ctx context.Context, customerID string, sources []string, pageSize int, token string) ([]*canonicalv1.Order, string, error) {
	query, ok := searchQuery(customerID, sources)
	vars := map[string]any{"first": pageSize, "query": query}
	if token != "" {
		t, err := decodePageToken(token, query)
		if err != nil {
			return nil, "", err
		}
		vars["after"] = t.After
	}
	if !ok {
		return nil, "", nil // no such Shopify customer; also keeps the search query well-formed
	}
	var data struct {
		Orders struct {
			Nodes []struct {
				ID string `json:"id"`
			} `json:"nodes"`
			PageInfo pageInfo `json:"pageInfo"`
		} `json:"orders"`
	}
	if err := c.do(ctx, listOrdersOp, vars, &data); err != nil {
		return nil, "", err
	}

	orders := make([]*canonicalv1.Order, len(data.Orders.Nodes))
	g, gctx := errgroup.WithContext(ctx)
	g.SetLimit(listConcurrency)
	for i, n := range data.Orders.Nodes {
		id, err := numericID(n.ID)
		if err != nil {
			return nil, "", c.fail(ctx, listOrdersOp, failure{status: http.StatusOK, cause: err})
		}
		g.Go(func() error {
			o, err := c.GetOrder(gctx, id)
			if errs.KindOf(err) == errs.NotFound {
				return nil // deleted since the listing: skip it
			}
			orders[i] = o
			return err
		})
	}
	if err := g.Wait(); err != nil {
		return nil, "", err
	}
	out := orders[:0]
	for _, o := range orders {
		if o != nil {
			out = append(out, o)
		}
	}
	next := ""
	if pi := data.Orders.PageInfo; pi.HasNextPage && pi.EndCursor != nil {
		next = encodePageToken(pageToken{Query: query, After: *pi.EndCursor})
	}
	return out, next, nil
}

// Ready checks that the shop answers and accepts our token.
func (c *Connector) Ready(ctx context.Context) error {
	var data struct {
		Shop struct {
			ID string `json:"id"`
		} `json:"shop"`
	}
	return c.do(ctx, readyOp, nil, &data)
}

// envelope is a GraphQL answer.
type envelope struct {
	Data       json.RawMessage `json:"data"`
	Errors     json.RawMessage `json:"errors"`
	Extensions struct {
		Cost *struct {
			RequestedQueryCost float64  `json:"requestedQueryCost"`
			ActualQueryCost    *float64 `json:"actualQueryCost"`
			ThrottleStatus     struct {
				MaximumAvailable   float64 `json:"maximumAvailable"`
				CurrentlyAvailable float64 `json:"currentlyAvailable"`
				RestoreRate        float64 `json:"restoreRate"`
			} `json:"throttleStatus"`
		} `json:"cost"`
	} `json:"extensions"`
}

func (e *envelope) cost() *cost {
	if e == nil || e.Extensions.Cost == nil {
		return nil
	}
	k := e.Extensions.Cost
	return &cost{requested: k.RequestedQueryCost, actual: k.ActualQueryCost, max: k.ThrottleStatus.MaximumAvailable,
		avail: k.ThrottleStatus.CurrentlyAvailable, rate: k.ThrottleStatus.RestoreRate}
}

func (e *envelope) errors() []gqlError {
	var list []gqlError
	if len(e.Errors) > 0 && e.Errors[0] == '[' {
		_ = json.Unmarshal(e.Errors, &list)
	}
	return list
}

// throttleWait is how long Shopify's bucket needs to hold the query that was throttled.
func (e *envelope) throttleWait() time.Duration {
	c := e.cost()
	if c == nil || c.rate <= 0 {
		return 0
	}
	return seconds((c.requested - c.avail) / c.rate)
}

// do sends op, waiting for rate-limit budget first and retrying THROTTLED answers while the
// deadline allows, and decodes data into out.
func (c *Connector) do(ctx context.Context, op operation, vars map[string]any, out any) error {
	key := op.key(vars)
	for attempt := 1; ; attempt++ {
		t, err := c.budget.acquire(ctx, key, op.cost(vars))
		if err != nil {
			return c.fail(ctx, op, failure{cause: err})
		}
		env, f := c.post(ctx, op, vars)
		c.budget.settle(t, env.cost())
		if f != nil {
			return c.fail(ctx, op, *f)
		}
		gerrs := env.errors()
		if len(gerrs) > 0 && gerrs[0].Extensions.Code == "THROTTLED" {
			// Someone else shares the bucket, or the model drifted: it is now corrected, so
			// the next acquire waits the right time (or fails fast).
			c.log.DebugContext(ctx, "shopify throttled a query", "op", op.name, "attempt", attempt)
			if attempt < maxAttempts {
				continue
			}
			return c.fail(ctx, op, failure{status: http.StatusOK, gql: gerrs, retryAfter: env.throttleWait()})
		}
		if len(gerrs) > 0 {
			return c.fail(ctx, op, failure{status: http.StatusOK, gql: gerrs})
		}
		if err := json.Unmarshal(env.Data, out); err != nil {
			return c.fail(ctx, op, failure{status: http.StatusOK, cause: err})
		}
		return nil
	}
}

// post sends one request. It returns the decoded envelope of a 200 answer, or a failure.
func (c *Connector) post(ctx context.Context, op operation, vars map[string]any) (*envelope, *failure) {
	body, err := json.Marshal(struct {
		Query         string         `json:"query"`
		OperationName string         `json:"operationName"`
		Variables     map[string]any `json:"variables,omitempty"`
	}{op.query, op.name, vars})
	if err != nil {
		return nil, &failure{status: http.StatusOK, cause: err}
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, c.endpoint, bytes.NewReader(body))
	if err != nil {
		return nil, &failure{status: http.StatusOK, cause: err}
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Accept", "application/json")
	req.Header.Set("X-Shopify-Access-Token", c.token)
	resp, err := c.client.Do(req)
	if err != nil {
		return nil, &failure{cause: err}
	}
	defer resp.Body.Close()
	data, err := vendorhttp.ReadBody(resp.Body, maxResponseBytes)
	if err != nil && !errors.Is(err, vendorhttp.ErrTooLarge) {
		return nil, &failure{cause: err}
	}
	if resp.StatusCode != http.StatusOK {
		return nil, &failure{status: resp.StatusCode, header: resp.Header, body: vendorhttp.Excerpt(data)}
	}
	if err != nil {
		return nil, &failure{status: http.StatusOK, cause: err, body: vendorhttp.Excerpt(data)}
	}
	var env envelope
	if err := json.Unmarshal(data, &env); err != nil {
		return nil, &failure{status: http.StatusOK, cause: err, body: vendorhttp.Excerpt(data)}
	}
	return &env, nil
}

// fail classifies f and logs the detail the caller will not see.
func (c *Connector) fail(ctx context.Context, op operation, f failure) error {
	e := toError(ctx, f)
	level := slog.LevelWarn
	if e.Kind == errs.Canceled || e.Kind == errs.NotFound {
		level = slog.LevelDebug
	}
	c.log.Log(ctx, level, "shopify call failed", "op", op.name, "reason", e.Reason, "status", f.status, "error", cause(f))
	return e
}
