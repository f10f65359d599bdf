package netsuite

import (
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"hash"
	"net"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"time"
)

// signer signs requests with NetSuite token-based authentication: OAuth 1.0 (RFC 5849) with
// HMAC-SHA256 and the account id as realm. No OAuth 1.0 module is vetted for this repository and
// the algorithm is short, so it is written out here and tested against published vectors.
type signer struct {
	realm          string
	consumerKey    string
	consumerSecret string
	tokenID        string
	tokenSecret    string
	now            func() time.Time
	nonce          func() string
}

// sign sets the Authorization header of req. Every attempt needs a fresh signature: NetSuite
// refuses a nonce it has seen and a timestamp more than a few minutes old.
func (s signer) sign(req *http.Request) {
	params := [][2]string{
		{"oauth_consumer_key", s.consumerKey},
		{"oauth_token", s.tokenID},
		{"oauth_signature_method", "HMAC-SHA256"},
		{"oauth_timestamp", strconv.FormatInt(s.now().Unix(), 10)},
		{"oauth_nonce", s.nonce()},
		{"oauth_version", "1.0"},
	}
	base := baseString(req.Method, req.URL, params, nil)
	sig := signature(sha256.New, s.consumerSecret, s.tokenSecret, base)

	var h strings.Builder
	h.WriteString(`OAuth realm="` + percentEncode(s.realm) + `"`)
	for _, p := range append(params, [2]string{"oauth_signature", sig}) {
		h.WriteString(`, ` + p[0] + `="` + percentEncode(p[1]) + `"`)
	}
	req.Header.Set("Authorization", h.String())
}

// baseString is the signature base string of RFC 5849 section 3.4.1: the method, the base string
// URI, and every query, form and protocol parameter, encoded, sorted and joined.
func baseString(method string, u *url.URL, oauth [][2]string, form url.Values) string {
	var pairs [][2]string
	add := func(k, v string) { pairs = append(pairs, [2]string{percentEncode(k), percentEncode(v)}) }
	query, _ := url.ParseQuery(u.RawQuery) // what cannot be parsed cannot be sent either
	for _, vals := range []url.Values{query, form} {
		for k, vs := range vals {
			for _, v := range vs {
				add(k, v)
			}
		}
	}
	for _, p := range oauth {
		add(p[0], p[1])
	}
	slices.SortFunc(pairs, func(a, b [2]string) int {
		if c := strings.Compare(a[0], b[0]); c != 0 {
			return c
		}
		return strings.Compare(a[1], b[1])
	})
	joined := make([]string, len(pairs))
	for i, p := range pairs {
		joined[i] = p[0] + "=" + p[1]
	}
	return strings.ToUpper(method) + "&" + percentEncode(baseURI(u)) + "&" + percentEncode(strings.Join(joined, "&"))
}

// baseURI is scheme://host/path in lower case, without a default port (RFC 5849 section 3.4.1.2).
func baseURI(u *url.URL) string {
	scheme, host := strings.ToLower(u.Scheme), strings.ToLower(u.Host)
	if h, port, err := net.SplitHostPort(host); err == nil &&
		(scheme == "http" && port == "80" || scheme == "https" && port == "443") {
		host = h
		if strings.Contains(h, ":") {
			host = "[" + h + "]"
		}
	}
	return scheme + "://" + host + u.EscapedPath()
}

// signature is base64(HMAC(consumerSecret&tokenSecret, base)); NetSuite uses SHA-256.
func signature(h func() hash.Hash, consumerSecret, tokenSecret, base string) string {
	mac := hmac.New(h, []byte(percentEncode(consumerSecret)+"&"+percentEncode(tokenSecret)))
	mac.Write([]byte(base))
	return base64.StdEncoding.EncodeToString(mac.Sum(nil))
}

// percentEncode is RFC 5849 section 3.6: everything but unreserved characters as %XX.
func percentEncode(s string) string {
	const hex = "0123456789ABCDEF"
	b := make([]byte, 0, len(s))
	for i := 0; i < len(s); i++ {
		switch c := s[i]; {
		case 'A' <= c && c <= 'Z', 'a' <= c && c <= 'z', '0' <= c && c <= '9', c == '-', c == '.', c == '_', c == '~':
			b = append(b, c)
		default:
			b = append(b, '%', hex[c>>4], hex[c&15])
		}
	}
	return string(b)
}

// randomNonce is 26 random base32 characters (NetSuite accepts 6 to 64 alphanumerics).
func randomNonce() string { return rand.Text() }
