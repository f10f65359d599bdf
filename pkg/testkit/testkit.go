// Package testkit holds what Retailbridge's tests share: the real infrastructure the test
// scripts start (Redis), a clustered JetStream bus run in-process, and HTTP helpers for driving
// the gateway like a client does.
package testkit

import (
	"bytes"
	"encoding/json"
	"io"
	"net/http"
	"os"
	"testing"
)

// RedisURL returns the URL of the real Redis server started by scripts/with-redis.sh
// (make test). Tests never fake Redis; without one they fail and say how to get one.
func RedisURL(t testing.TB) string {
	t.Helper()
	u := os.Getenv("RB_TEST_REDIS_URL")
	if u == "" {
		t.Fatal("RB_TEST_REDIS_URL is not set: run the tests with `make test` (it starts a real redis-server)")
	}
	return u
}

// Response is a captured HTTP response.
type Response struct {
	Status int
	Header http.Header
	Body   []byte
}

// JSON decodes the body into v, failing the test on malformed JSON or a server error (5xx): a
// test reading an answer's fields must not read them from a problem document.
func (r Response) JSON(t testing.TB, v any) {
	t.Helper()
	if r.Status >= 500 {
		t.Fatalf("want an answer to decode, got %d: %s", r.Status, r.Body)
	}
	if err := json.Unmarshal(r.Body, v); err != nil {
		t.Fatalf("decode %d response %q: %v", r.Status, r.Body, err)
	}
}

// Problem is an RFC 9457 problem document as the gateway writes it.
type Problem struct {
	Type      string `json:"type"`
	Title     string `json:"title"`
	Status    int    `json:"status"`
	Detail    string `json:"detail"`
	Reason    string `json:"reason"`
	RequestID string `json:"request_id"`
	Instance  string `json:"instance"`
	Retryable bool   `json:"retryable"`
	Errors    []struct {
		Field       string `json:"field"`
		Description string `json:"description"`
	} `json:"errors"`
}

// Problem decodes the body as a problem document, failing unless it is application/problem+json.
func (r Response) Problem(t testing.TB) Problem {
	t.Helper()
	if ct := r.Header.Get("Content-Type"); ct != "application/problem+json" {
		t.Fatalf("content type = %q, want application/problem+json (status %d, body %s)", ct, r.Status, r.Body)
	}
	var p Problem
	if err := json.Unmarshal(r.Body, &p); err != nil {
		t.Fatalf("decode %d problem %q: %v", r.Status, r.Body, err)
	}
	if p.Status != r.Status || p.Type == "" || p.Title == "" {
		t.Fatalf("problem %+v does not match status %d", p, r.Status)
	}
	return p
}

// Do sends a request with an optional bearer token and body (a string is sent raw, anything
// else as JSON) and captures the response.
func Do(t testing.TB, c *http.Client, method, url, token string, body any, headers ...string) Response {
	t.Helper()
	var rd io.Reader
	switch b := body.(type) {
	case nil:
	case string:
		rd = bytes.NewBufferString(b)
	case []byte:
		rd = bytes.NewReader(b)
	default:
		raw, err := json.Marshal(b)
		if err != nil {
			t.Fatal(err)
		}
		rd = bytes.NewReader(raw)
	}
	req, err := http.NewRequest(method, url, rd)
	if err != nil {
		t.Fatal(err)
	}
	if rd != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	for i := 0; i+1 < len(headers); i += 2 {
		req.Header.Set(headers[i], headers[i+1])
	}
	resp, err := c.Do(req)
	if err != nil {
		t.Fatalf("%s %s: %v", method, url, err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return Response{Status: resp.StatusCode, Header: resp.Header, Body: b}
}
