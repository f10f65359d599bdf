// Package loop is the returns platform connector for Loop's REST API: returns, labels and their
// tracking, authenticated with an API key in X-Authorization. It absorbs Loop's per-key rate limit
// (429 with Retry-After) while the caller's deadline allows, and verifies and normalises Loop's
// webhooks (X-Loop-Signature) into canonical events with deterministic ids.
package loop

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
	"strconv"
	"sync/atomic"
	"time"

	"github.com/retailbridge/retailbridge/pkg/errs"
	canonicalv1 "github.com/retailbridge/retailbridge/pkg/gen/retailbridge/canonical/v1"
	returnsplatformv1 "github.com/retailbridge/retailbridge/pkg/gen/retailbridge/system/returnsplatform/v1"
	"github.com/retailbridge/retailbridge/pkg/vendorhttp"
)

// DefaultBaseURL is Loop's API origin.
const DefaultBaseURL = "https://api.loopreturns.com"

// Config is how to reach one Loop account.
type Config struct {
	// BaseURL is the API origin; DefaultBaseURL when empty.
	BaseURL string
	// APIKey is sent in X-Authorization.
	APIKey string
	// WebhookSecret verifies X-Loop-Signature.
	WebhookSecret string
	// PreviousWebhookSecret is accepted too while the secret is rotated; empty otherwise.
	PreviousWebhookSecret string
}

// Client is the connector. It is safe for concurrent use.
type Client struct {
	base    *url.URL
	http    *http.Client
	key     string
	secrets [][]byte
	backoff vendorhttp.Backoff
	now     func() time.Time
	log     *slog.Logger

	retries atomic.Int64
}

// New returns a connector that sends requests through hc, the caller's traced client.
func New(cfg Config, hc *http.Client, log *slog.Logger, now func() time.Time) (*Client, error) {
	if cfg.BaseURL == "" {
		cfg.BaseURL = DefaultBaseURL
	}
	base, err := url.Parse(cfg.BaseURL)
	if err != nil || (base.Scheme != "http" && base.Scheme != "https") || base.Host == "" {
		return nil, fmt.Errorf("loop: base URL %q is not an absolute http(s) URL", cfg.BaseURL)
	}
	if hc == nil {
		return nil, errors.New("loop: an HTTP client is required")
	}
	if cfg.WebhookSecret == "" {
		return nil, errors.New("loop: a webhook secret is required")
	}
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	if now == nil {
		now = time.Now
	}
	c := &Client{
		base: base, http: hc, key: cfg.APIKey, now: now, log: log.With("vendor", "loop"),
		secrets: [][]byte{[]byte(cfg.WebhookSecret)},
		backoff: vendorhttp.Backoff{First: 100 * time.Millisecond, Cap: 5 * time.Second, Attempts: 5},
	}
	if cfg.PreviousWebhookSecret != "" {
		c.secrets = append(c.secrets, []byte(cfg.PreviousWebhookSecret))
	}
	return c, nil
}

// CreateReturn registers ret. A repeat with the same idempotency key gets the first answer's id.
func (c *Client) CreateReturn(ctx context.Context, ret *canonicalv1.Return, idempotencyKey string) (string, error) {
	var doc returnDoc
	if err := c.call(ctx, http.MethodPost, "api/v1/returns", nil, idempotencyKey, toCreateReturn(ret), &doc); err != nil {
		return "", err
	}
	return string(doc.ID), nil
}

// GetReturn reads the return's state and its latest label as a parcel (none without a label).
func (c *Client) GetReturn(ctx context.Context, platformReturnID string) (*returnsplatformv1.GetReturnResponse, error) {
	var doc returnDoc
	q := url.Values{"return_id": {platformReturnID}}
	if err := c.call(ctx, http.MethodGet, "api/v1/warehouse/return/details", q, "", nil, &doc); err != nil {
		return nil, err
	}
	resp := &returnsplatformv1.GetReturnResponse{State: doc.State, Reference: doc.ExternalID}
	if doc.Label != nil {
		s, err := toShipment(&doc, doc.Label)
		if err != nil {
			return nil, toErr(badPayload(err))
		}
		resp.Shipment = s
	}
	return resp, nil
}

// CreateLabel buys the return's label. A repeat with the same idempotency key gets the same label.
func (c *Client) CreateLabel(ctx context.Context, platformReturnID, idempotencyKey string) (*returnsplatformv1.CreateLabelResponse, error) {
	var l labelDoc
	path := "api/v1/returns/" + url.PathEscape(platformReturnID) + "/label"
	if err := c.call(ctx, http.MethodPost, path, nil, idempotencyKey, nil, &l); err != nil {
		return nil, err
	}
	return &returnsplatformv1.CreateLabelResponse{LabelId: string(l.ID), TrackingNumber: l.TrackingNumber, LabelUrl: l.LabelURL}, nil
}

// VoidLabel voids an unused label; voiding it again succeeds.
func (c *Client) VoidLabel(ctx context.Context, labelID string) error {
	return c.call(ctx, http.MethodPost, "api/v1/labels/"+url.PathEscape(labelID)+"/void", nil, "", nil, nil)
}

// CloseReturn closes the return; closing it again succeeds.
func (c *Client) CloseReturn(ctx context.Context, platformReturnID string) error {
	return c.call(ctx, http.MethodPost, "api/v1/warehouse/return/"+url.PathEscape(platformReturnID)+"/close", nil, "", nil, nil)
}

// Ready reports whether Loop answers this connector's authenticated requests.
func (c *Client) Ready(ctx context.Context) error {
	now := c.now().UTC().Format(time.RFC3339)
	var page struct {
		Returns []json.RawMessage `json:"returns"`
	}
	return c.call(ctx, http.MethodGet, "api/v1/warehouse/return/list", url.Values{"from": {now}, "to": {now}}, "", nil, &page)
}

// Retries is how many requests were repeated after Loop's rate limit refused them.
func (c *Client) Retries() int64 { return c.retries.Load() }

// call sends one request, repeating it while Loop's rate limit refuses it and the deadline leaves
// time for the wait. Every call is safe to repeat: creates carry an idempotency key, and voiding
// and closing are no-ops the second time. Failures come back classified.
func (c *Client) call(ctx context.Context, method, path string, q url.Values, key string, in, out any) error {
	var body []byte
	if in != nil {
		var err error
		if body, err = json.Marshal(in); err != nil {
			return errs.Wrap(err, errs.Internal, "request_encode_failed", "")
		}
	}
	u := c.base.JoinPath(path)
	u.RawQuery = q.Encode()
	for attempt := 1; ; attempt++ {
		err := c.do(ctx, method, u, key, body, out)
		var ve *vendorError
		if !errors.As(err, &ve) || ve.status != http.StatusTooManyRequests || attempt == c.backoff.Attempts {
			return toErr(err)
		}
		wait := max(c.backoff.Delay(attempt), ve.retryAfter)
		if !vendorhttp.Fits(ctx, wait) {
			return toErr(err)
		}
		c.retries.Add(1)
		c.log.DebugContext(ctx, "loop rate limit hit; backing off", "attempt", attempt, "wait", wait)
		if err := vendorhttp.Sleep(ctx, wait); err != nil {
			return toErr(err)
		}
	}
}

// maxBody bounds what is read of one answer.
const maxBody = 4 << 20

func (c *Client) do(ctx context.Context, method string, u *url.URL, key string, body []byte, out any) error {
	var rd io.Reader
	if body != nil {
		rd = bytes.NewReader(body)
	}
	req, err := http.NewRequestWithContext(ctx, method, u.String(), rd)
	if err != nil {
		return err
	}
	req.Header.Set("Accept", "application/json")
	req.Header.Set("X-Authorization", c.key)
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	if key != "" {
		req.Header.Set("Idempotency-Key", key)
	}
	resp, err := c.http.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	raw, err := vendorhttp.ReadBody(resp.Body, maxBody)
	if err != nil && !errors.Is(err, vendorhttp.ErrTooLarge) {
		return err
	}
	if resp.StatusCode < 200 || resp.StatusCode > 299 {
		return newVendorError(resp, raw, c.now())
	}
	if err != nil {
		return badPayload(err)
	}
	if out == nil {
		return nil
	}
	if err := json.Unmarshal(raw, out); err != nil {
		return badPayload(err)
	}
	return nil
}

// flexID is an id Loop writes as a number in some payloads and as a string in others.
type flexID string

func (f *flexID) UnmarshalJSON(b []byte) error {
	if len(b) > 0 && b[0] == '"' {
		var s string
		if err := json.Unmarshal(b, &s); err != nil {
			return err
		}
		*f = flexID(s)
		return nil
	}
	if string(b) == "null" {
		*f = ""
		return nil
	}
	if _, err := strconv.ParseInt(string(b), 10, 64); err != nil {
		return fmt.Errorf("loop: id %s is neither a string nor an integer", b)
	}
	*f = flexID(b)
	return nil
}
