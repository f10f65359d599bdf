// Package businesscentral is the ERP connector for Dynamics 365 Business Central's OData v4 API
// (v2.0: companies, items, customers, salesOrders, salesCreditMemos, subscriptions, $batch) and
// the Retailbridge returns extension's API pages (api/retailbridge/returns/v1.0: item return
// policies, sales return orders, their receipts and item journal adjustments), which v2.0 does
// not expose. It authenticates with OAuth 2.0 client credentials (the token cached until shortly
// before it expires, fetched again after a 401), fans item lookups out within its share of the
// environment's limits, absorbs 429s with the Retry-After Business Central sends, stays away
// during announced maintenance windows, updates with If-Match and re-reads on 412, and makes
// creates idempotent without vendor support: Business Central has no idempotency key, so every
// create carries a deterministic external document number derived from the caller's key and
// request, looked up before the create.
package businesscentral

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"golang.org/x/oauth2"
	"golang.org/x/oauth2/clientcredentials"
	"golang.org/x/sync/errgroup"

	erpv1 "github.com/retailbridge/retailbridge/pkg/gen/retailbridge/system/erp/v1"
	"github.com/retailbridge/retailbridge/pkg/governor"
	"github.com/retailbridge/retailbridge/pkg/vendorhttp"
)

// Defaults.
const (
	// DefaultBaseURL is Business Central online's API host.
	DefaultBaseURL = "https://api.businesscentral.dynamics.com"
	// Scope is the app permission every Business Central API token is requested for.
	Scope = "https://api.businesscentral.dynamics.com/.default"
	// DefaultMaxConcurrency caps requests in flight; Business Central online serves 100 at once
	// per user, shared with the environment's other integrations.
	DefaultMaxConcurrency = 10
)

// Config is how to reach one Business Central company.
type Config struct {
	// BaseURL is the API host; DefaultBaseURL when empty.
	BaseURL string
	// TokenURL is the Microsoft Entra token endpoint;
	// https://login.microsoftonline.com/{TenantID}/oauth2/v2.0/token when empty.
	TokenURL string
	// TenantID, Environment and CompanyID name the company: /v2.0/{tenant}/{environment}/api/…/companies({id}).
	TenantID, Environment, CompanyID string
	// ClientID and ClientSecret are the app registration's credentials.
	ClientID, ClientSecret string
	// Currency is the company's local currency (ISO 4217); USD when empty.
	Currency string
	// MaxConcurrency caps this connector's requests in flight; DefaultMaxConcurrency when zero.
	MaxConcurrency int
	// ClientState is the webhook subscriptions' shared secret, checked on every notification.
	ClientState string
}

// DefaultTokenURL is the token endpoint of tenant.
func DefaultTokenURL(tenant string) string {
	return "https://login.microsoftonline.com/" + url.PathEscape(tenant) + "/oauth2/v2.0/token"
}

// Client is the connector. It is safe for concurrent use.
type Client struct {
	root     *url.URL // …/v2.0/{tenant}/{environment}/api/
	company  string
	http     *http.Client
	oauth    clientcredentials.Config
	currency string
	fanOut   int
	slots    *governor.Slots
	backoff  vendorhttp.Backoff
	now      func() time.Time
	log      *slog.Logger
	window   *vendorhttp.Window
	keys     keyLocks
	state    string // webhook clientState

	tokMu sync.Mutex
	tok   *oauth2.Token

	retries, conflicts, repeats atomic.Int64
}

// New returns a connector sending requests through hc, the caller's traced (and governed) client.
func New(cfg Config, hc *http.Client, log *slog.Logger, now func() time.Time) (*Client, error) {
	if cfg.BaseURL == "" {
		cfg.BaseURL = DefaultBaseURL
	}
	base, err := url.Parse(cfg.BaseURL)
	if err != nil || (base.Scheme != "http" && base.Scheme != "https") || base.Host == "" {
		return nil, fmt.Errorf("businesscentral: base URL %q is not an absolute http(s) URL", cfg.BaseURL)
	}
	if cfg.TenantID == "" || cfg.Environment == "" || cfg.CompanyID == "" || cfg.ClientID == "" || cfg.ClientSecret == "" {
		return nil, errors.New("businesscentral: tenant, environment, company, client id and client secret are required")
	}
	if hc == nil {
		return nil, errors.New("businesscentral: an HTTP client is required")
	}
	if cfg.TokenURL == "" {
		cfg.TokenURL = DefaultTokenURL(cfg.TenantID)
	}
	if cfg.Currency == "" {
		cfg.Currency = "USD"
	}
	if cfg.MaxConcurrency <= 0 {
		cfg.MaxConcurrency = DefaultMaxConcurrency
	}
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	if now == nil {
		now = time.Now
	}
	log = log.With("vendor", "businesscentral")
	return &Client{
		root:    base.JoinPath("v2.0", cfg.TenantID, cfg.Environment, "api"),
		company: cfg.CompanyID,
		http:    hc,
		oauth: clientcredentials.Config{ClientID: cfg.ClientID, ClientSecret: cfg.ClientSecret, TokenURL: cfg.TokenURL,
			Scopes: []string{Scope}, AuthStyle: oauth2.AuthStyleInParams},
		currency: strings.ToUpper(cfg.Currency),
		fanOut:   cfg.MaxConcurrency,
		slots:    governor.NewSlots(cfg.MaxConcurrency),
		backoff:  vendorhttp.Backoff{First: 25 * time.Millisecond, Cap: time.Second, Attempts: 10},
		now:      now,
		log:      log,
		window:   &vendorhttp.Window{Now: now, Log: log},
		keys:     newKeyLocks(),
		state:    cfg.ClientState,
	}, nil
}

// Retries is how many requests were repeated after a 429.
func (c *Client) Retries() int64 { return c.retries.Load() }

// Conflicts is how many updates met a 412 and were made again on a fresh read.
func (c *Client) Conflicts() int64 { return c.conflicts.Load() }

// Repeats is how many creates found the record an earlier attempt with the same key wrote.
func (c *Client) Repeats() int64 { return c.repeats.Load() }

// Entity set roots: the standard API and the returns extension's pages.
const (
	groupV2      = "v2.0"
	groupReturns = "retailbridge/returns/v1.0"
)

// entityURL is …/api/{group}/companies({company})/{path}?{query}.
func (c *Client) entityURL(group, path string, query url.Values) *url.URL {
	u := c.root.JoinPath(group, "companies("+c.company+")")
	u.Path += "/" + path
	u.RawQuery = strings.ReplaceAll(query.Encode(), "+", "%20")
	return u
}

// filterEq is an OData $filter comparing a string field.
func filterEq(field, value string) url.Values {
	return url.Values{"$filter": {field + " eq " + literal(value)}}
}

// literal is an OData string literal.
func literal(v string) string { return "'" + strings.ReplaceAll(v, "'", "''") + "'" }

// GetItems reads items by SKU (the item number), one lookup per SKU, at most MaxConcurrency at a
// time, from the returns extension's item page, which carries the return-policy fields. The first
// failure cancels the lookups still running.
func (c *Client) GetItems(ctx context.Context, skus []string) (found []*erpv1.Item, missing []string, err error) {
	if err := c.closed(); err != nil {
		return nil, nil, err
	}
	items := make([]*erpv1.Item, len(skus))
	g, gctx := errgroup.WithContext(ctx)
	g.SetLimit(c.fanOut)
	for i, sku := range skus {
		if gctx.Err() != nil {
			break
		}
		g.Go(func() error {
			it, err := c.getItem(gctx, sku)
			items[i] = it
			return err
		})
	}
	if err := g.Wait(); err != nil {
		return nil, nil, err
	}
	if err := ctx.Err(); err != nil {
		return nil, nil, toErr(err)
	}
	for i, it := range items {
		if it == nil {
			missing = append(missing, skus[i])
			continue
		}
		found = append(found, it)
	}
	return found, missing, nil
}

func (c *Client) getItem(ctx context.Context, sku string) (*erpv1.Item, error) {
	var page collection[returnItem]
	if err := c.get(ctx, c.entityURL(groupReturns, "returnItems", filterEq("number", sku)), &page, "item"); err != nil {
		return nil, err
	}
	if len(page.Value) == 0 {
		return nil, nil
	}
	it, err := page.Value[0].item(c.currency)
	if err != nil {
		return nil, toErr(badPayload(err))
	}
	return it, nil
}

// Ready reports whether Business Central answers this connector's authenticated requests.
func (c *Client) Ready(ctx context.Context) error {
	if err := c.closed(); err != nil {
		return err
	}
	var v json.RawMessage
	return c.get(ctx, c.root.JoinPath(groupV2, "companies("+c.company+")"), &v, "company")
}

// closed is the maintenance error while an announced window lasts.
func (c *Client) closed() error {
	if left := c.window.Left(); left > 0 {
		return maintenanceErr(left)
	}
	return nil
}

// request is one call to Business Central.
type request struct {
	method  string
	url     *url.URL
	body    any
	ifMatch string
	header  map[string]string
	// entity names what the call addresses, so that "no such record" says which.
	entity string
}

// answer is a 2xx answer.
type answer struct {
	status int
	header http.Header
	body   []byte
}

func (c *Client) get(ctx context.Context, u *url.URL, out any, entity string) error {
	ans, err := c.call(ctx, request{method: http.MethodGet, url: u, entity: entity})
	if err != nil {
		return err
	}
	return decodeInto(ans.body, out)
}

func decodeInto(body []byte, out any) error {
	dec := json.NewDecoder(bytes.NewReader(body))
	dec.UseNumber()
	if err := dec.Decode(out); err != nil {
		return toErr(badPayload(err))
	}
	return nil
}

// call sends req. A 429 (the request window or the concurrency limit) is retried after the
// Retry-After Business Central sent, or a jittered backoff when it sent none, while the deadline
// leaves time; a 401 is retried once with a fresh token. Every other failure is returned at once,
// classified. Repeating is safe: a refused request was never executed.
func (c *Client) call(ctx context.Context, req request) (*answer, error) {
	fresh := false
	for attempt := 1; ; attempt++ {
		ans, err := c.do(ctx, req)
		var ve *vendorError
		if !errors.As(err, &ve) {
			return ans, toErr(err)
		}
		if ve.status == http.StatusUnauthorized && !fresh {
			fresh = true
			c.dropToken()
			continue
		}
		if ve.status != http.StatusTooManyRequests || attempt >= c.backoff.Attempts {
			return nil, toErr(err)
		}
		wait := max(c.backoff.Delay(attempt), ve.retryAfter)
		if !vendorhttp.Fits(ctx, wait) {
			return nil, toErr(err)
		}
		c.retries.Add(1)
		c.log.DebugContext(ctx, "business central refused the request (429); waiting", "attempt", attempt, "wait", wait)
		if err := vendorhttp.Sleep(ctx, wait); err != nil {
			return nil, toErr(err)
		}
	}
}

// maxBody bounds what is read of one answer.
const maxBody = 4 << 20

// do sends one request while holding one of the connector's slots, unless an announced
// maintenance window says not to.
func (c *Client) do(ctx context.Context, r request) (*answer, error) {
	if err := c.slots.Acquire(ctx); err != nil {
		return nil, err
	}
	defer c.slots.Release()
	probe, wait, err := c.window.Admit(ctx)
	if err != nil {
		return nil, err
	}
	if wait > 0 {
		return nil, maintenanceErr(wait)
	}
	ans, maintenance, err := c.exchange(ctx, r)
	// Only a proper answer says the service is back; a proxy's 5xx or a dropped connection says
	// nothing either way, and lets the next request probe.
	var ve *vendorError
	serving := err == nil || errors.As(err, &ve) && ve.status < 500
	c.window.Settle(ctx, probe, maintenance, serving)
	return ans, err
}

// exchange is one HTTP round trip. It reports an announced maintenance window's Retry-After.
func (c *Client) exchange(ctx context.Context, r request) (*answer, time.Duration, error) {
	tok, err := c.token(ctx)
	if err != nil {
		return nil, 0, err
	}
	var body io.Reader
	if r.body != nil {
		b, err := json.Marshal(r.body)
		if err != nil {
			return nil, 0, err
		}
		body = bytes.NewReader(b)
	}
	req, err := http.NewRequestWithContext(ctx, r.method, r.url.String(), body)
	if err != nil {
		return nil, 0, err
	}
	req.Header.Set("Accept", "application/json")
	req.Header.Set("Authorization", "Bearer "+tok)
	if r.body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	if r.ifMatch != "" {
		req.Header.Set("If-Match", r.ifMatch)
	}
	for k, v := range r.header {
		req.Header.Set(k, v)
	}
	resp, err := c.http.Do(req)
	if err != nil {
		return nil, 0, err
	}
	defer resp.Body.Close()
	data, err := vendorhttp.ReadBody(resp.Body, maxBody)
	if err != nil && !errors.Is(err, vendorhttp.ErrTooLarge) {
		return nil, 0, err
	}
	if resp.StatusCode < 200 || resp.StatusCode > 299 {
		ve := newVendorError(resp.StatusCode, resp.Header, data, c.now())
		ve.entity = r.entity
		if ve.status == http.StatusServiceUnavailable && ve.retryAfter > 0 {
			return nil, ve.retryAfter, ve
		}
		return nil, 0, ve
	}
	if err != nil {
		return nil, 0, badPayload(err)
	}
	return &answer{status: resp.StatusCode, header: resp.Header, body: data}, 0, nil
}

// token returns a cached access token, fetching one (with ctx's deadline, through the same
// client) when there is none or it is about to expire.
func (c *Client) token(ctx context.Context) (string, error) {
	c.tokMu.Lock()
	defer c.tokMu.Unlock()
	if c.tok.Valid() { // Valid allows for a few seconds of clock skew before expiry
		return c.tok.AccessToken, nil
	}
	tok, err := c.oauth.Token(context.WithValue(ctx, oauth2.HTTPClient, c.http))
	if err != nil {
		var re *oauth2.RetrieveError
		if errors.As(err, &re) && re.Response != nil {
			return "", &vendorError{status: re.Response.StatusCode, code: re.ErrorCode, detail: re.ErrorDescription, auth: true}
		}
		return "", err
	}
	c.tok = tok
	return tok.AccessToken, nil
}

func (c *Client) dropToken() {
	c.tokMu.Lock()
	c.tok = nil
	c.tokMu.Unlock()
}
