package e2e

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/getkin/kin-openapi/openapi3"
	"github.com/getkin/kin-openapi/openapi3filter"
	"github.com/getkin/kin-openapi/routers"

	"github.com/retailbridge/retailbridge/internal/openapi"
)

// The whole suite's figures: every gateway response any test received, checked against the
// served document, and how many of them broke it.
var contractFigures struct {
	validated, violations, unrouted, transport atomic.Int64
}

func TestMain(m *testing.M) {
	code := m.Run()
	fmt.Printf("contract: %d gateway responses validated against /openapi.json, %d violations; %d were answers to routes the document does not have (checked as problems); %d refusals by net/http before any handler ran (not checked)\n",
		contractFigures.validated.Load(), contractFigures.violations.Load(), contractFigures.unrouted.Load(), contractFigures.transport.Load())
	os.Exit(code)
}

// served is the document a gateway serves at /openapi.json, loaded once per distinct document
// (a stack with its own deprecations serves its own).
var served sync.Map // string(document) → func() (*contractDoc, error)

func loadServed(b []byte) (*contractDoc, error) {
	once, _ := served.LoadOrStore(string(b), sync.OnceValues(func() (*contractDoc, error) {
		doc, err := openapi.LoadDocument(context.Background(), b)
		if err != nil {
			return nil, err
		}
		r, err := openapi.NewRouter(doc)
		if err != nil {
			return nil, err
		}
		return &contractDoc{doc: doc, router: r}, nil
	}))
	return once.(func() (*contractDoc, error))()
}

type contractDoc struct {
	doc    *openapi3.T
	router *openapi.Router
}

// notAPI reports the gateway's pages that are not part of the API the document describes: the
// document itself, its rendering for people (/docs and its assets), and the Prometheus scrape.
func notAPI(path string) bool {
	return path == "/openapi.json" || path == "/metrics" || path == "/docs" || strings.HasPrefix(path, "/docs/")
}

// contractClient is the harness's HTTP client: every response from the gateway at base is
// validated against the served document before the test sees it, so a response that drifts
// from the contract fails the test that received it.
func contractClient(t testing.TB, base string) *http.Client {
	t.Helper()
	resp, err := http.Get(base + "/openapi.json")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil || resp.StatusCode != http.StatusOK {
		t.Fatalf("GET /openapi.json: %d %v", resp.StatusCode, err)
	}
	c, err := loadServed(b)
	if err != nil {
		t.Fatal(err)
	}
	return &http.Client{Timeout: 15 * time.Second, Transport: &contractTransport{t: t, base: base, doc: c, next: http.DefaultTransport}}
}

type contractTransport struct {
	t    testing.TB
	base string
	doc  *contractDoc
	next http.RoundTripper
}

func (c *contractTransport) RoundTrip(req *http.Request) (*http.Response, error) {
	resp, err := c.next.RoundTrip(req)
	// A CORS preflight is HTTP machinery the document does not describe.
	if err != nil || !strings.HasPrefix(req.URL.String(), c.base) || notAPI(req.URL.Path) || req.Method == http.MethodOptions {
		return resp, err
	}
	body, err := io.ReadAll(resp.Body)
	_ = resp.Body.Close()
	resp.Body = io.NopCloser(bytes.NewReader(body))
	if err != nil {
		return resp, err
	}
	if fromTransport(resp) {
		contractFigures.transport.Add(1)
		return resp, nil
	}
	contractFigures.validated.Add(1)
	if verr := c.doc.check(req, resp, body); verr != nil {
		contractFigures.violations.Add(1)
		c.t.Errorf("contract: %s %s → %d breaks /openapi.json: %v\nbody: %.400s", req.Method, req.URL.Path, resp.StatusCode, verr, body)
	}
	return resp, nil
}

// fromTransport reports a refusal Go's HTTP server writes itself before any handler runs (431
// for oversized headers, 400 for a malformed request line, 408): plain text, and without the
// X-Request-Id every answer of the gateway's handler carries. It is below the API, like a TCP
// reset, and no document describes it.
func fromTransport(resp *http.Response) bool {
	switch resp.StatusCode {
	case http.StatusBadRequest, http.StatusRequestTimeout, http.StatusRequestHeaderFieldsTooLarge:
		return resp.Header.Get("X-Request-Id") == "" && strings.HasPrefix(resp.Header.Get("Content-Type"), "text/plain")
	}
	return false
}

// check validates one response. A route the document lacks may only answer 404 or 405 with a
// problem document; a documented route's status must be listed (2xx explicitly, errors at least
// under `default`), and its headers and body must match the schema for that status.
func (d *contractDoc) check(req *http.Request, resp *http.Response, body []byte) error {
	route, params, err := d.router.FindRoute(req)
	if err != nil {
		contractFigures.unrouted.Add(1)
		var re *routers.RouteError
		if !errors.As(err, &re) {
			return err
		}
		if resp.StatusCode != http.StatusNotFound && resp.StatusCode != http.StatusMethodNotAllowed {
			return fmt.Errorf("the document has no operation for it (%s), yet it answered %d", re.Reason, resp.StatusCode)
		}
		return d.problemOnly(resp, body)
	}
	if resp.StatusCode < 300 && route.Operation.Responses.Value(fmt.Sprint(resp.StatusCode)) == nil {
		return fmt.Errorf("status %d is not documented for %s %s", resp.StatusCode, route.Method, route.Path)
	}
	in := &openapi3filter.ResponseValidationInput{
		RequestValidationInput: &openapi3filter.RequestValidationInput{Request: req, PathParams: params, Route: route},
		Status:                 resp.StatusCode,
		Header:                 resp.Header,
		Options:                &openapi3filter.Options{IncludeResponseStatus: true, MultiError: true},
	}
	in.SetBodyBytes(body)
	return openapi3filter.ValidateResponse(context.Background(), in)
}

// problemOnly checks a response to an undocumented route against the Problem schema.
func (d *contractDoc) problemOnly(resp *http.Response, body []byte) error {
	if ct := resp.Header.Get("Content-Type"); ct != "application/problem+json" {
		return fmt.Errorf("an unrouted answer must be application/problem+json, got %q", ct)
	}
	var v any
	if err := json.Unmarshal(body, &v); err != nil {
		return err
	}
	return d.doc.Components.Schemas["Problem"].Value.VisitJSON(v)
}
