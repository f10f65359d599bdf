// Package warehouse is the WMS connector for a 3PL's REST API: advance notices of inbound
// returns and their receipts and inspections, shipping orders, and stock positions per location
// and state, authenticated with a bearer API key. It verifies the warehouse's timestamped webhook
// signatures (X-Warehouse-Signature) and normalises the webhooks into canonical events with
// deterministic ids.
package warehouse

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
	"time"

	"github.com/retailbridge/retailbridge/pkg/errs"
	"github.com/retailbridge/retailbridge/pkg/vendorhttp"
)

// DefaultSignatureTolerance is how old a webhook signature may be.
const DefaultSignatureTolerance = 5 * time.Minute

// Config is how to reach one warehouse.
type Config struct {
	// BaseURL is the API origin.
	BaseURL string
	// APIKey is sent as a bearer token.
	APIKey string
	// WebhookSecret verifies X-Warehouse-Signature.
	WebhookSecret string
	// PreviousWebhookSecret is accepted too while the secret is rotated; empty otherwise.
	PreviousWebhookSecret string
	// SignatureTolerance is how old a signature may be (DefaultSignatureTolerance when zero).
	SignatureTolerance time.Duration
}

// Client is the connector. It is safe for concurrent use.
type Client struct {
	base      *url.URL
	http      *http.Client
	key       string
	secrets   [][]byte
	tolerance time.Duration
	now       func() time.Time
	log       *slog.Logger
}

// New returns a connector that sends requests through hc, the caller's traced client.
func New(cfg Config, hc *http.Client, log *slog.Logger, now func() time.Time) (*Client, error) {
	base, err := url.Parse(cfg.BaseURL)
	if err != nil || (base.Scheme != "http" && base.Scheme != "https") || base.Host == "" {
		return nil, fmt.Errorf("warehouse: base URL %q is not an absolute http(s) URL", cfg.BaseURL)
	}
	if hc == nil {
		return nil, errors.New("warehouse: an HTTP client is required")
	}
	if cfg.WebhookSecret == "" {
		return nil, errors.New("warehouse: a webhook secret is required")
	}
	if cfg.SignatureTolerance <= 0 {
		cfg.SignatureTolerance = DefaultSignatureTolerance
	}
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	if now == nil {
		now = time.Now
	}
	c := &Client{base: base, http: hc, key: cfg.APIKey, tolerance: cfg.SignatureTolerance, now: now,
		log: log.With("vendor", "warehouse"), secrets: [][]byte{[]byte(cfg.WebhookSecret)}}
	if cfg.PreviousWebhookSecret != "" {
		c.secrets = append(c.secrets, []byte(cfg.PreviousWebhookSecret))
	}
	return c, nil
}

// Ready reports whether the warehouse answers this connector's authenticated requests.
func (c *Client) Ready(ctx context.Context) error {
	var page inventoryPage
	return c.call(ctx, http.MethodGet, "v1/inventory", url.Values{"page_size": {"1"}}, "", nil, &page)
}

// maxBody bounds what is read of one answer.
const maxBody = 4 << 20

// call sends one request and decodes a 2xx answer into out; failures come back classified.
// Every call is safe to repeat (creates are deduplicated by reference), so the caller's retries
// need no care here.
func (c *Client) call(ctx context.Context, method, path string, q url.Values, key string, in, out any) error {
	var rd io.Reader
	if in != nil {
		b, err := json.Marshal(in)
		if err != nil {
			return errs.Wrap(err, errs.Internal, "request_encode_failed", "")
		}
		rd = bytes.NewReader(b)
	}
	u := c.base.JoinPath(path)
	u.RawQuery = q.Encode()
	req, err := http.NewRequestWithContext(ctx, method, u.String(), rd)
	if err != nil {
		return toErr(err)
	}
	req.Header.Set("Accept", "application/json")
	req.Header.Set("Authorization", "Bearer "+c.key)
	if in != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	if key != "" {
		req.Header.Set("Idempotency-Key", key)
	}
	resp, err := c.http.Do(req)
	if err != nil {
		return toErr(err)
	}
	defer resp.Body.Close()
	raw, err := vendorhttp.ReadBody(resp.Body, maxBody)
	if err != nil && !errors.Is(err, vendorhttp.ErrTooLarge) {
		return toErr(err)
	}
	if resp.StatusCode < 200 || resp.StatusCode > 299 {
		return toErr(newVendorError(resp, raw, c.now()))
	}
	if err != nil {
		return toErr(badPayload(err))
	}
	if err := json.Unmarshal(raw, out); err != nil {
		return toErr(badPayload(err))
	}
	return nil
}
