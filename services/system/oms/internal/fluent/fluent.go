// Package fluent is the OMS connector to Fluent Commerce's Order Management: an OAuth2
// password-grant token from /oauth/token, orders created and read through the GraphQL API
// (/graphql: createOrder, orders, order, inventoryPositions), and cancellation through the
// Event API (/api/v4.1/event/async, event CancelOrder). Fluent's orchestration splits an order
// into fulfilments, one per sourcing location; those are the allocation.
package fluent

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"time"

	"github.com/retailbridge/retailbridge/pkg/errs"
	"github.com/retailbridge/retailbridge/pkg/vendorhttp"
)

// Config is how to reach one Fluent account.
type Config struct {
	BaseURL                                    string
	ClientID, ClientSecret, Username, Password string
	RetailerID                                 string
}

// Client speaks Fluent's wire protocol.
type Client struct {
	cfg  Config
	http *http.Client
	now  func() time.Time

	mu      sync.Mutex
	token   string
	expires time.Time
}

// New returns a client; nothing is called until the first request.
func New(cfg Config, hc *http.Client, now func() time.Time) *Client {
	return &Client{cfg: cfg, http: hc, now: now}
}

// tokenResponse is /oauth/token's answer.
type tokenResponse struct {
	AccessToken string `json:"access_token"`
	TokenType   string `json:"token_type"`
	ExpiresIn   int64  `json:"expires_in"`
	Scope       string `json:"scope"`
}

// bearer returns a valid access token, fetching one (form-encoded password grant, as Fluent
// recommends over the query string) when there is none or it expires within a minute.
func (c *Client) bearer(ctx context.Context) (string, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.token != "" && c.now().Add(time.Minute).Before(c.expires) {
		return c.token, nil
	}
	form := url.Values{"username": {c.cfg.Username}, "password": {c.cfg.Password}, "scope": {"api"},
		"client_id": {c.cfg.ClientID}, "client_secret": {c.cfg.ClientSecret}, "grant_type": {"password"}}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, strings.TrimRight(c.cfg.BaseURL, "/")+"/oauth/token", strings.NewReader(form.Encode()))
	if err != nil {
		return "", errs.Wrap(err, errs.Internal, "request_build_failed", "")
	}
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	var tok tokenResponse
	if err := c.do(req, &tok); err != nil {
		return "", err
	}
	if tok.AccessToken == "" {
		return "", errs.E(errs.Unavailable, "oms_token_missing", "the OMS issued no access token")
	}
	c.token, c.expires = tok.AccessToken, c.now().Add(time.Duration(tok.ExpiresIn)*time.Second)
	return c.token, nil
}

// forget drops a token the OMS refused.
func (c *Client) forget() {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.token = ""
}

// call sends an authenticated JSON request, once more with a new token if the first is refused.
func (c *Client) call(ctx context.Context, method, path string, body, out any) error {
	raw, err := json.Marshal(body)
	if err != nil {
		return errs.Wrap(err, errs.Internal, "encode_failed", "")
	}
	for attempt := 0; ; attempt++ {
		tok, err := c.bearer(ctx)
		if err != nil {
			return err
		}
		req, err := http.NewRequestWithContext(ctx, method, strings.TrimRight(c.cfg.BaseURL, "/")+path, bytes.NewReader(raw))
		if err != nil {
			return errs.Wrap(err, errs.Internal, "request_build_failed", "")
		}
		req.Header.Set("Authorization", "Bearer "+tok)
		req.Header.Set("Content-Type", "application/json")
		err = c.do(req, out)
		if errs.KindOf(err) == errs.Unauthenticated && attempt == 0 {
			c.forget()
			continue
		}
		return err
	}
}

// do sends req and decodes a 2xx answer into out; anything else is classified.
func (c *Client) do(req *http.Request, out any) error {
	resp, err := c.http.Do(req)
	if err != nil {
		return errs.Wrap(err, errs.Unavailable, "oms_unreachable", "the OMS did not answer")
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(io.LimitReader(resp.Body, 4<<20))
	if err != nil {
		return errs.Wrap(err, errs.Unavailable, "oms_unreachable", "the OMS answer was cut off")
	}
	if resp.StatusCode/100 != 2 {
		return classify(resp.StatusCode, vendorhttp.ParseRetryAfter(resp.Header.Get("Retry-After"), c.now()), body)
	}
	if out == nil || len(body) == 0 {
		return nil
	}
	if err := json.Unmarshal(body, out); err != nil {
		return errs.Wrap(err, errs.Unavailable, "oms_answer_unreadable", "the OMS answer is not JSON")
	}
	return nil
}

// classify maps a Fluent HTTP failure to an error kind: the one place vendor errors are read.
func classify(status int, retryAfter time.Duration, body []byte) error {
	msg := fmt.Sprintf("Fluent answered %d: %.200s", status, body)
	switch {
	case status == http.StatusUnauthorized:
		return errs.E(errs.Unauthenticated, "oms_unauthorized", msg)
	case status == http.StatusForbidden:
		return errs.E(errs.PermissionDenied, "oms_forbidden", msg)
	case status == http.StatusNotFound:
		return errs.E(errs.NotFound, "oms_not_found", msg)
	case status == http.StatusTooManyRequests:
		return errs.E(errs.ResourceExhausted, "vendor_throttled", msg).WithRetryAfter(retryAfter)
	case status >= 500:
		return errs.E(errs.Unavailable, "oms_unavailable", msg)
	}
	return errs.E(errs.FailedPrecondition, "oms_rejected", msg)
}

// gqlError is one entry of a GraphQL answer's errors.
type gqlError struct {
	Message string `json:"message"`
}

// graphql runs a query or mutation; GraphQL errors (HTTP 200 with errors[]) are refusals.
func (c *Client) graphql(ctx context.Context, query string, vars map[string]any, data any) error {
	var out struct {
		Data   json.RawMessage `json:"data"`
		Errors []gqlError      `json:"errors"`
	}
	if err := c.call(ctx, http.MethodPost, "/graphql", map[string]any{"query": query, "variables": vars}, &out); err != nil {
		return err
	}
	if len(out.Errors) > 0 {
		return errs.E(errs.FailedPrecondition, "oms_rejected", "Fluent refused the request: "+out.Errors[0].Message)
	}
	if err := json.Unmarshal(out.Data, data); err != nil {
		return errs.Wrap(err, errs.Unavailable, "oms_answer_unreadable", "the OMS answer has no data")
	}
	return nil
}
