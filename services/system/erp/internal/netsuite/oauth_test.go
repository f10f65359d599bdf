package netsuite

import (
	"crypto/sha1"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
)

func mustURL(tb testing.TB, s string) *url.URL {
	tb.Helper()
	u, err := url.Parse(s)
	if err != nil {
		tb.Fatalf("url.Parse(%q): %v", s, err)
	}
	return u
}

// TestBaseStringRFC5849 is the worked example of RFC 5849 section 3.4.1.1, with a query string
// holding encoded and repeated parameters and a form body.
func TestBaseStringRFC5849(t *testing.T) {
	t.Parallel()
	u := mustURL(t, "http://example.com/request?b5=%3D%253D&a3=a&c%40=&a2=r%20b")
	form, err := url.ParseQuery("c2&a3=2+q")
	if err != nil {
		t.Fatal(err)
	}
	oauth := [][2]string{
		{"oauth_consumer_key", "9djdj82h48djs9d2"},
		{"oauth_token", "kkk9d7dh3k39sjv7"},
		{"oauth_signature_method", "HMAC-SHA1"},
		{"oauth_timestamp", "137131201"},
		{"oauth_nonce", "7d8f3e4a"},
	}
	want := "POST&http%3A%2F%2Fexample.com%2Frequest&a2%3Dr%2520b%26a3%3D2%2520q" +
		"%26a3%3Da%26b5%3D%253D%25253D%26c%2540%3D%26c2%3D%26oauth_consumer_" +
		"key%3D9djdj82h48djs9d2%26oauth_nonce%3D7d8f3e4a%26oauth_signature_m" +
		"ethod%3DHMAC-SHA1%26oauth_timestamp%3D137131201%26oauth_token%3Dkkk" +
		"9d7dh3k39sjv7"
	if got := baseString("POST", u, oauth, form); got != want {
		t.Errorf("baseString mismatch (-want +got):\n%s", cmp.Diff(want, got))
	}
}

// TestSignatureOAuthCoreExample is the published HMAC-SHA1 example of OAuth Core 1.0 appendix
// A.5, the protocol RFC 5849 standardises: the signing key and MAC are the same for SHA-256.
func TestSignatureOAuthCoreExample(t *testing.T) {
	t.Parallel()
	u := mustURL(t, "http://photos.example.net/photos?file=vacation.jpg&size=original")
	base := baseString("GET", u, [][2]string{
		{"oauth_consumer_key", "dpf43f3p2l4k3l03"},
		{"oauth_token", "nnch734d00sl2jdk"},
		{"oauth_signature_method", "HMAC-SHA1"},
		{"oauth_timestamp", "1191242096"},
		{"oauth_nonce", "kllo9940pd9333jh"},
		{"oauth_version", "1.0"},
	}, nil)
	if got, want := signature(sha1.New, "kd94hf93k423kf44", "pfkkdhi9sl3r4s00", base), "tR3+Ty81lMeYAr/Fid0kMTYa/WM="; got != want {
		t.Errorf("signature = %q; want %q", got, want)
	}
}

// TestSignNetSuiteRequest checks a whole NetSuite header against a vector computed independently
// (Python's urllib.parse.quote and hmac, not this code).
func TestSignNetSuiteRequest(t *testing.T) {
	t.Parallel()
	req, err := http.NewRequest(http.MethodGet, "https://1234567-sb1.suitetalk.api.netsuite.com:443"+
		"/services/rest/record/v1/inventoryItem/eid:APP-001?expandSubResources=true&fields=itemId%2CbasePrice", nil)
	if err != nil {
		t.Fatal(err)
	}
	s := signer{
		realm: "1234567_SB1", consumerKey: "ck-71cc02b7", consumerSecret: "cs-7278da58",
		tokenID: "tk-89e08d97", tokenSecret: "ts-060cd9ab",
		now:   func() time.Time { return time.Unix(1439829974, 0) },
		nonce: func() string { return "6obMKq0tmY8ylVOdEkA1" },
	}
	s.sign(req)
	want := `OAuth realm="1234567_SB1", oauth_consumer_key="ck-71cc02b7", oauth_token="tk-89e08d97", ` +
		`oauth_signature_method="HMAC-SHA256", oauth_timestamp="1439829974", oauth_nonce="6obMKq0tmY8ylVOdEkA1", ` +
		`oauth_version="1.0", oauth_signature="VPl3%2FUr63htNuQIhKkM%2Bnqua27LlCFoG4mKRMDG8H5E%3D"`
	if diff := cmp.Diff(want, req.Header.Get("Authorization")); diff != "" {
		t.Errorf("Authorization mismatch (-want +got):\n%s", diff)
	}
}

func TestSignUsesFreshNonces(t *testing.T) {
	t.Parallel()
	s := signer{realm: "A", now: time.Now, nonce: randomNonce}
	seen := map[string]bool{}
	for range 50 {
		req, _ := http.NewRequest(http.MethodGet, "https://a.example/x", nil)
		s.sign(req)
		h := req.Header.Get("Authorization")
		_, rest, _ := strings.Cut(h, `oauth_nonce="`)
		nonce, _, _ := strings.Cut(rest, `"`)
		if len(nonce) < 6 || len(nonce) > 64 || seen[nonce] {
			t.Fatalf("nonce %q: want 6..64 characters, never repeated", nonce)
		}
		seen[nonce] = true
	}
}

func TestPercentEncode(t *testing.T) {
	t.Parallel()
	for in, want := range map[string]string{
		"abcABC123-._~": "abcABC123-._~",
		"a b+c":         "a%20b%2Bc",
		"=%3D":          "%3D%253D",
		"é":             "%C3%A9",
		"eid:SKU/1":     "eid%3ASKU%2F1",
	} {
		if got := percentEncode(in); got != want {
			t.Errorf("percentEncode(%q) = %q; want %q", in, got, want)
		}
	}
}

func TestBaseURI(t *testing.T) {
	t.Parallel()
	for in, want := range map[string]string{
		"HTTP://Example.COM:80/r/v1/Item": "http://example.com/r/v1/Item",
		"https://example.com:443/a":       "https://example.com/a",
		"https://example.com:8443/a?x=1":  "https://example.com:8443/a",
		"http://[::1]:80/a":               "http://[::1]/a",
		"http://127.0.0.1:5555/a/eid:B-1": "http://127.0.0.1:5555/a/eid:B-1",
	} {
		if got := baseURI(mustURL(t, in)); got != want {
			t.Errorf("baseURI(%q) = %q; want %q", in, got, want)
		}
	}
}
