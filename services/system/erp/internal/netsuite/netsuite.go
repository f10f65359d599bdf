// Package netsuite is the ERP connector for NetSuite's REST record service. It signs every
// request with token-based authentication, fans item lookups out by external id without ever
// exceeding its share of the account's concurrency limit, absorbs the limit's 429 refusals with
// jittered backoff, and stays away during announced maintenance windows, sending one probe when a
// window should have ended. Writes (sales orders, return authorisations, item receipts, credit
// memos, inventory adjustments) go through NetSuite's async service with an idempotency key
// derived from the caller's, so a repeated call resolves the earlier job instead of writing twice.
package netsuite

import (
	"bytes"
	"cmp"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/url"
	"strings"
	"sync/atomic"
	"time"

	"golang.org/x/sync/errgroup"

	"github.com/retailbridge/retailbridge/pkg/errs"
	erpv1 "github.com/retailbridge/retailbridge/pkg/gen/retailbridge/system/erp/v1"
	"github.com/retailbridge/retailbridge/pkg/governor"
	"github.com/retailbridge/retailbridge/pkg/vendorhttp"
)

// DefaultMaxConcurrency leaves room under NetSuite's base limit of 15 for the account's other
// integrations, which share it.
const DefaultMaxConcurrency = 10

// Config is how to reach one NetSuite account.
type Config struct {
	// BaseURL is the account's REST domain; https://<account>.suitetalk.api.netsuite.com when empty.
	BaseURL string
	// Account is the account id (for example 1234567_SB1), sent as the OAuth realm.
	Account string
	// ConsumerKey and ConsumerSecret identify the integration record.
	ConsumerKey, ConsumerSecret string
	// TokenID and TokenSecret identify the access token.
	TokenID, TokenSecret string
	// Currency is the ISO 4217 currency of base prices; USD when empty.
	Currency string
	// MaxConcurrency caps this connector's requests in flight, REST and SOAP together;
	// DefaultMaxConcurrency when zero.
	MaxConcurrency int
	// ItemLookup is how GetItems reads items: LookupREST (one record request per SKU, the
	// default) or LookupSOAP (SuiteTalk getList, many SKUs per request).
	ItemLookup string
	// SuiteQLPageSize is how many rows the sales order status poll asks per SuiteQL page
	// (1-1000, NetSuite's largest); 1000 when zero.
	SuiteQLPageSize int
}

// Client is the connector. It is safe for concurrent use; the concurrency cap holds across calls.
type Client struct {
	base     *url.URL
	http     *http.Client
	sign     signer
	currency string
	fanOut   int
	slots    *governor.Slots
	backoff  vendorhttp.Backoff
	poll     vendorhttp.Backoff // between looks at a pending async job
	now      func() time.Time
	log      *slog.Logger
	window   *window

	soapItems bool
	pageSize  int // rows per SuiteQL page of the status poll

	retries atomic.Int64
	repeats atomic.Int64
}

// New returns a connector that sends requests through hc, the caller's traced client.
func New(cfg Config, hc *http.Client, log *slog.Logger, now func() time.Time) (*Client, error) {
	if cfg.BaseURL == "" {
		cfg.BaseURL = DefaultBaseURL(cfg.Account)
	}
	base, err := url.Parse(cfg.BaseURL)
	if err != nil || (base.Scheme != "http" && base.Scheme != "https") || base.Host == "" {
		return nil, fmt.Errorf("netsuite: base URL %q is not an absolute http(s) URL", cfg.BaseURL)
	}
	if hc == nil {
		return nil, errors.New("netsuite: an HTTP client is required")
	}
	if cfg.Currency == "" {
		cfg.Currency = "USD"
	}
	if cfg.MaxConcurrency <= 0 {
		cfg.MaxConcurrency = DefaultMaxConcurrency
	}
	if cfg.ItemLookup != "" && cfg.ItemLookup != LookupREST && cfg.ItemLookup != LookupSOAP {
		return nil, fmt.Errorf("netsuite: item lookup %q is not %q or %q", cfg.ItemLookup, LookupREST, LookupSOAP)
	}
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	if now == nil {
		now = time.Now
	}
	return &Client{
		base: base,
		http: hc,
		sign: signer{
			realm: cfg.Account, consumerKey: cfg.ConsumerKey, consumerSecret: cfg.ConsumerSecret,
			tokenID: cfg.TokenID, tokenSecret: cfg.TokenSecret, now: now, nonce: randomNonce,
		},
		currency: strings.ToUpper(cfg.Currency),
		fanOut:   cfg.MaxConcurrency,
		slots:    governor.NewSlots(cfg.MaxConcurrency),
		backoff:  vendorhttp.Backoff{First: 25 * time.Millisecond, Cap: time.Second, Attempts: 10},
		poll:     vendorhttp.Backoff{First: 20 * time.Millisecond, Cap: 500 * time.Millisecond},
		now:      now,
		log:      log.With("vendor", "netsuite"),
		window:   &window{Window: vendorhttp.Window{Now: now, Log: log.With("vendor", "netsuite")}},

		soapItems: cfg.ItemLookup == LookupSOAP,
		pageSize:  cmp.Or(min(max(cfg.SuiteQLPageSize, 0), suiteQLPageSize), suiteQLPageSize),
	}, nil
}

// DefaultBaseURL is the REST domain of account: lower case, "_" as "-".
func DefaultBaseURL(account string) string {
	return "https://" + strings.ReplaceAll(strings.ToLower(account), "_", "-") + ".suitetalk.api.netsuite.com"
}

// GetItems reads items by SKU (the item's external id), one record lookup per SKU, at most
// MaxConcurrency at a time. SKUs NetSuite does not know come back in missing. The first failure
// cancels the lookups still running.
func (c *Client) GetItems(ctx context.Context, skus []string) (found []*erpv1.Item, missing []string, err error) {
	if err := c.window.closed(); err != nil {
		return nil, nil, err
	}
	if c.soapItems {
		items, err := c.getItemsSOAP(ctx, skus)
		if err != nil {
			return nil, nil, err
		}
		return splitFound(skus, items)
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
	if err := ctx.Err(); err != nil { // the loop may have stopped early without a lookup failing
		return nil, nil, toErr(err)
	}
	return splitFound(skus, items)
}

// splitFound separates the items read (items[i] for skus[i]) from the SKUs with none.
func splitFound(skus []string, items []*erpv1.Item) (found []*erpv1.Item, missing []string, err error) {
	for i, it := range items {
		if it == nil {
			missing = append(missing, skus[i])
			continue
		}
		found = append(found, it)
	}
	return found, missing, nil
}

// Ready reports whether NetSuite answers this connector's signed requests.
func (c *Client) Ready(ctx context.Context) error {
	if err := c.window.closed(); err != nil {
		return err
	}
	var page collection
	return c.get(ctx, c.recordURL("inventoryItem", url.Values{"limit": {"1"}}), &page, typeInventoryItem)
}

// Retries is how many requests were repeated after the account's concurrency limit refused them.
func (c *Client) Retries() int64 { return c.retries.Load() }

// Repeats is how many writes NetSuite recognised by their idempotency key as repeats of an
// earlier job, which the connector then resolved instead of writing again.
func (c *Client) Repeats() int64 { return c.repeats.Load() }

func (c *Client) getItem(ctx context.Context, sku string) (*erpv1.Item, error) {
	var rec inventoryItem
	err := c.get(ctx, c.recordURL(typeInventoryItem+"/eid:"+url.PathEscape(sku), nil), &rec, typeInventoryItem)
	if errs.KindOf(err) == errs.NotFound {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	it, err := toItem(rec, c.currency)
	if err != nil {
		return nil, toErr(badPayload(err))
	}
	return it, nil
}

// recordURL is the REST record service URL of path (already escaped).
func (c *Client) recordURL(path string, query url.Values) *url.URL {
	u := c.base.JoinPath("services/rest/record/v1", path)
	u.RawQuery = query.Encode()
	return u
}

// request is one call to NetSuite.
type request struct {
	method string
	url    *url.URL
	body   []byte
	header http.Header
	// record is the record type the call addresses, so that "no such record" says which.
	record string
	// soapAction and soapBody make the call a SuiteTalk SOAP operation (see soap.go).
	soapAction string
	soapBody   any
}

// answer is NetSuite's 2xx answer to a request.
type answer struct {
	status int
	header http.Header
	body   []byte
}

// get fetches u into out; record names the record type u addresses.
func (c *Client) get(ctx context.Context, u *url.URL, out any, record string) error {
	ans, err := c.call(ctx, request{method: http.MethodGet, url: u, record: record})
	if err != nil {
		return err
	}
	dec := json.NewDecoder(bytes.NewReader(ans.body))
	dec.UseNumber()
	if err := dec.Decode(out); err != nil {
		return toErr(badPayload(err))
	}
	return nil
}

// call sends req. Refusals by the account's concurrency limit are retried with capped, jittered
// exponential backoff while the context's deadline leaves time; every other failure is returned
// at once, classified. Repeating a write is safe: a refused request was never executed, and
// writes carry an idempotency key.
func (c *Client) call(ctx context.Context, req request) (*answer, error) {
	for attempt := 1; ; attempt++ {
		ans, err := c.do(ctx, req)
		var ve *vendorError
		if !errors.As(err, &ve) || ve.status != http.StatusTooManyRequests || attempt == c.backoff.Attempts {
			return ans, toErr(err)
		}
		wait := max(c.backoff.Delay(attempt), ve.retryAfter) // NetSuite sends no Retry-After with 429 today
		if !vendorhttp.Fits(ctx, wait) {
			return nil, toErr(err)
		}
		c.retries.Add(1)
		c.log.DebugContext(ctx, "netsuite concurrency limit hit; backing off", "attempt", attempt, "wait", wait)
		if err := vendorhttp.Sleep(ctx, wait); err != nil {
			return nil, toErr(err)
		}
	}
}

// maxBody bounds what is read of one answer.
const maxBody = 4 << 20

// do sends one signed request while holding one of the connector's concurrency slots, unless an
// announced maintenance window says not to.
func (c *Client) do(ctx context.Context, r request) (*answer, error) {
	if err := c.slots.Acquire(ctx); err != nil {
		return nil, err
	}
	defer c.slots.Release()
	probe, err := c.window.admit(ctx)
	if err != nil {
		return nil, err
	}
	exchange := c.exchange
	if r.soapAction != "" {
		exchange = c.exchangeSOAP
	}
	ans, maintenance, err := exchange(ctx, r)
	// Only a proper answer says the account is serving again; a proxy's 5xx or a dropped
	// connection says nothing either way, and lets the next request probe.
	var ve *vendorError
	serving := err == nil || errors.As(err, &ve) && ve.status < 500
	c.window.settle(ctx, probe, maintenance, serving)
	return ans, err
}

// exchange is one HTTP round trip. It reports an announced maintenance window's Retry-After.
func (c *Client) exchange(ctx context.Context, r request) (*answer, time.Duration, error) {
	var body io.Reader
	if r.body != nil {
		body = bytes.NewReader(r.body)
	}
	req, err := http.NewRequestWithContext(ctx, r.method, r.url.String(), body)
	if err != nil {
		return nil, 0, err
	}
	for k, vs := range r.header {
		req.Header[k] = vs
	}
	req.Header.Set("Accept", "application/json")
	c.sign.sign(req)
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
		ve := newVendorError(resp, data)
		ve.record = r.record
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
