package netsuite

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"errors"
	"net"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"
)

// maxClockSkew is how far an OAuth timestamp may be from the sandbox clock, either way.
const maxClockSkew = 5 * time.Minute

// authenticate checks the request's OAuth 1.0 token-based authentication (RFC 5849 with
// NetSuite's HMAC-SHA256 and realm = account id). It returns why the request is refused, or "".
// The verifier is written independently of the connector's signer so that a bug in one is not
// cancelled out by the same bug in the other.
func (s *Sandbox) authenticate(r *http.Request) string {
	realm, params, err := parseAuthorization(r.Header.Get("Authorization"))
	switch {
	case err != nil:
		return "malformed_header"
	case !strings.EqualFold(realm, s.opts.Account):
		return "wrong_realm"
	case params["oauth_signature_method"] != "HMAC-SHA256":
		return "unsupported_signature_method"
	case params["oauth_version"] != "" && params["oauth_version"] != "1.0":
		return "unsupported_version"
	case params["oauth_consumer_key"] != s.opts.ConsumerKey:
		return "unknown_consumer_key"
	case params["oauth_token"] != s.opts.TokenID:
		return "unknown_token"
	case params["oauth_nonce"] == "" || params["oauth_signature"] == "":
		return "missing_parameter"
	}
	ts, err := strconv.ParseInt(params["oauth_timestamp"], 10, 64)
	if err != nil {
		return "bad_timestamp"
	}
	now := s.opts.Now()
	if d := now.Sub(time.Unix(ts, 0)); d > maxClockSkew || d < -maxClockSkew {
		return "stale_timestamp"
	}
	base, err := signatureBaseString(r, params)
	if err != nil {
		return "malformed_request"
	}
	mac := hmac.New(sha256.New, []byte(percentEncode(s.opts.ConsumerSecret)+"&"+percentEncode(s.opts.TokenSecret)))
	mac.Write([]byte(base))
	want := mac.Sum(nil)
	got, err := base64.StdEncoding.DecodeString(params["oauth_signature"])
	if err != nil || !hmac.Equal(got, want) {
		return "bad_signature"
	}
	// Only a correctly signed request uses up its nonce; others cannot burn a client's nonces.
	return s.nonces.check(params["oauth_nonce"], time.Unix(ts, 0), now)
}

// parseAuthorization splits an `OAuth realm="…", oauth_…="…"` header (RFC 5849 section 3.5.1).
func parseAuthorization(h string) (realm string, params map[string]string, err error) {
	scheme, rest, ok := strings.Cut(strings.TrimSpace(h), " ")
	if !ok || !strings.EqualFold(scheme, "OAuth") {
		return "", nil, errors.New("not an OAuth authorization")
	}
	params = map[string]string{}
	for part := range strings.SplitSeq(rest, ",") {
		part = strings.TrimSpace(part)
		if part == "" {
			continue
		}
		k, v, ok := strings.Cut(part, "=")
		k, v = strings.TrimSpace(k), strings.TrimSpace(v)
		if !ok || len(v) < 2 || v[0] != '"' || v[len(v)-1] != '"' {
			return "", nil, errors.New("malformed parameter " + k)
		}
		v, err := url.PathUnescape(v[1 : len(v)-1])
		if err != nil {
			return "", nil, err
		}
		if k == "realm" {
			realm = v
			continue
		}
		if _, dup := params[k]; dup {
			return "", nil, errors.New("repeated parameter " + k)
		}
		params[k] = v
	}
	return realm, params, nil
}

// signatureBaseString builds RFC 5849 section 3.4.1's base string from the request as received:
// method, base string URI, and the query, form body and OAuth parameters except the signature.
func signatureBaseString(r *http.Request, oauth map[string]string) (string, error) {
	scheme := "http"
	if r.TLS != nil {
		scheme = "https"
	}
	host := strings.ToLower(r.Host)
	if h, port, err := net.SplitHostPort(host); err == nil &&
		(scheme == "http" && port == "80" || scheme == "https" && port == "443") {
		host = h
		if strings.Contains(h, ":") {
			host = "[" + h + "]"
		}
	}
	var pairs [][2]string
	add := func(vals url.Values) {
		for k, vs := range vals {
			for _, v := range vs {
				pairs = append(pairs, [2]string{percentEncode(k), percentEncode(v)})
			}
		}
	}
	query, err := url.ParseQuery(r.URL.RawQuery)
	if err != nil {
		return "", err
	}
	add(query)
	if r.Body != nil && strings.HasPrefix(r.Header.Get("Content-Type"), "application/x-www-form-urlencoded") {
		if err := r.ParseForm(); err != nil {
			return "", err
		}
		add(r.PostForm)
	}
	for k, v := range oauth {
		if k != "oauth_signature" {
			pairs = append(pairs, [2]string{percentEncode(k), percentEncode(v)})
		}
	}
	slices.SortFunc(pairs, func(a, b [2]string) int {
		if c := strings.Compare(a[0], b[0]); c != 0 {
			return c
		}
		return strings.Compare(a[1], b[1])
	})
	var norm strings.Builder
	for i, p := range pairs {
		if i > 0 {
			norm.WriteByte('&')
		}
		norm.WriteString(p[0] + "=" + p[1])
	}
	uri := scheme + "://" + host + r.URL.EscapedPath()
	return strings.ToUpper(r.Method) + "&" + percentEncode(uri) + "&" + percentEncode(norm.String()), nil
}

// percentEncode is RFC 5849 section 3.6: everything but ALPHA, DIGIT, "-", ".", "_", "~" as %XX.
func percentEncode(s string) string {
	const hex = "0123456789ABCDEF"
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		c := s[i]
		if 'A' <= c && c <= 'Z' || 'a' <= c && c <= 'z' || '0' <= c && c <= '9' ||
			c == '-' || c == '.' || c == '_' || c == '~' {
			b.WriteByte(c)
			continue
		}
		b.WriteByte('%')
		b.WriteByte(hex[c>>4])
		b.WriteByte(hex[c&15])
	}
	return b.String()
}

// maxNoncesPerGeneration bounds what the nonce cache holds (two generations of at most this many;
// about 15 MB together). Unbounded, a sandbox under sustained load kept every nonce of ten
// minutes: 1.7 GB after 1.3 M requests.
const maxNoncesPerGeneration = 100_000

// nonceCache remembers nonces for at least window, long enough to outlive any timestamp the
// skew check accepts. Two generations swap instead of a sweep per request.
//
// A replay repeats the signed request, timestamp included, so a nonce need only be kept until
// its timestamp leaves the accepted skew. A generation that fills up is rotated early, which
// forgets the generation before it sooner than window; to stay replay-proof the cache then
// refuses every timestamp at or before the newest one it forgot (floor). Under a load that fills
// a generation, the sandbox narrows how old a timestamp it accepts instead of growing.
type nonceCache struct {
	window time.Duration
	// max is the generation size; maxNoncesPerGeneration when zero.
	max int

	mu        sync.Mutex
	since     time.Time
	cur, prev map[string]struct{}
	// curLast and prevLast are the newest timestamps recorded in each generation; floor is the
	// newest timestamp among the nonces forgotten so far.
	curLast, prevLast, floor time.Time
}

// use records nonce and reports whether it was fresh (its timestamp taken as now).
func (c *nonceCache) use(nonce string, now time.Time) bool { return c.check(nonce, now, now) == "" }

// check records nonce, sent with timestamp ts, and returns why it is refused ("" when fresh).
func (c *nonceCache) check(nonce string, ts, now time.Time) string {
	c.mu.Lock()
	defer c.mu.Unlock()
	limit := c.max
	if limit <= 0 {
		limit = maxNoncesPerGeneration
	}
	if elapsed := now.Sub(c.since); c.cur == nil || elapsed >= c.window || len(c.cur) >= limit {
		if c.prev != nil && c.prevLast.After(c.floor) {
			c.floor = c.prevLast
		}
		c.prev, c.prevLast, c.cur, c.curLast, c.since = c.cur, c.curLast, map[string]struct{}{}, time.Time{}, now
		if elapsed >= 2*c.window {
			c.prev = nil // the previous generation is older than any acceptable timestamp
		}
	}
	if !c.floor.IsZero() && !ts.After(c.floor) {
		return "stale_timestamp" // a request with it may be among the nonces already forgotten
	}
	if _, seen := c.cur[nonce]; seen {
		return "replayed_nonce"
	}
	if _, seen := c.prev[nonce]; seen {
		return "replayed_nonce"
	}
	c.cur[nonce] = struct{}{}
	if ts.After(c.curLast) {
		c.curLast = ts
	}
	return ""
}
