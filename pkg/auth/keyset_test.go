package auth

import (
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"encoding/base64"
	"encoding/json"
	"math/big"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

func ecJWK(t testing.TB, kid string, k *ecdsa.PrivateKey) JWK {
	t.Helper()
	b, err := k.PublicKey.Bytes()
	if err != nil {
		t.Fatal(err)
	}
	size := (k.Curve.Params().BitSize + 7) / 8
	enc := base64.RawURLEncoding.EncodeToString
	return JWK{Kty: "EC", Kid: kid, Crv: k.Curve.Params().Name, X: enc(b[1 : 1+size]), Y: enc(b[1+size:]), Use: "sig"}
}

func rsaJWK(kid string, k *rsa.PrivateKey) JWK {
	enc := base64.RawURLEncoding.EncodeToString
	return JWK{Kty: "RSA", Kid: kid, N: enc(k.N.Bytes()), E: enc(big.NewInt(int64(k.E)).Bytes()), Alg: "RS256"}
}

func mustJSON(t testing.TB, v any) []byte {
	t.Helper()
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func TestParseJWKS(t *testing.T) {
	t.Parallel()
	pub, _, _ := ed25519.GenerateKey(rand.Reader)
	ec, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	rk, _ := rsa.GenerateKey(rand.Reader, 2048)
	small, _ := rsa.GenerateKey(rand.Reader, 1024)
	ed := Ed25519JWK("ed", pub)
	good := []JWK{ed, ecJWK(t, "ec", ec), rsaJWK("rsa", rk), {Kty: "oct", Kid: "sym"}, {Kty: "OKP", Crv: "X25519", Kid: "x", X: ed.X},
		func() JWK { k := Ed25519JWK("enc", pub); k.Use = "enc"; return k }(), func() JWK { k := Ed25519JWK("", pub); return k }()}
	keys, err := ParseJWKS(mustJSON(t, JWKS{Keys: good}))
	if err != nil {
		t.Fatal(err)
	}
	if len(keys) != 3 || keys["ed"].Alg != "EdDSA" || keys["rsa"].Alg != "RS256" {
		t.Errorf("keys = %v; want ed, ec and rsa only (symmetric, X25519, encryption and kid-less keys skipped)", keys)
	}
	tests := []struct {
		name string
		keys []JWK
	}{
		{"private key", []JWK{func() JWK { k := ed; k.D = "AAAA"; return k }()}},
		{"duplicate kid", []JWK{ed, ed}},
		{"alg does not fit the key", []JWK{func() JWK { k := ed; k.Alg = "HS256"; return k }()}},
		{"short RSA", []JWK{rsaJWK("small", small)}},
		{"EC point off the curve", []JWK{func() JWK { k := ecJWK(t, "ec", ec); k.Y = k.X; return k }()}},
		{"bad base64", []JWK{func() JWK { k := ed; k.X = "!!"; return k }()}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			if _, err := ParseJWKS(mustJSON(t, JWKS{Keys: tt.keys})); err == nil {
				t.Error("accepted")
			}
		})
	}
}

func TestRemoteJWKSRefreshesOnUnknownKidAtMostOncePerInterval(t *testing.T) {
	t.Parallel()
	pub1, _, _ := ed25519.GenerateKey(rand.Reader)
	pub2, _, _ := ed25519.GenerateKey(rand.Reader)
	var mu sync.Mutex
	set := JWKS{Keys: []JWK{Ed25519JWK("k1", pub1)}}
	var fetches atomic.Int32
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		fetches.Add(1)
		mu.Lock()
		defer mu.Unlock()
		_ = json.NewEncoder(w).Encode(set)
	}))
	t.Cleanup(srv.Close)
	now := time.Unix(1_800_000_000, 0)
	var clockMu sync.Mutex
	clock := func() time.Time { clockMu.Lock(); defer clockMu.Unlock(); return now }
	r, err := NewRemoteJWKS(srv.URL, RemoteJWKSOptions{MinInterval: 30 * time.Second, Now: clock})
	if err != nil {
		t.Fatal(err)
	}
	if _, ok := r.Key("k1"); !ok || fetches.Load() != 1 {
		t.Fatalf("startup fetch: k1 known %v, fetches %d", ok, fetches.Load())
	}
	mu.Lock()
	set.Keys = append(set.Keys, Ed25519JWK("k2", pub2))
	mu.Unlock()
	// Within the minimum interval, unknown kids cause no fetch at all, however many arrive.
	for range 100 {
		if r.Missed("k2") {
			t.Fatal("refreshed within the minimum interval")
		}
	}
	if fetches.Load() != 1 {
		t.Fatalf("fetches = %d, want 1", fetches.Load())
	}
	clockMu.Lock()
	now = now.Add(31 * time.Second)
	clockMu.Unlock()
	var wg sync.WaitGroup
	for range 20 {
		wg.Go(func() { r.Missed("k2") })
	}
	wg.Wait()
	if _, ok := r.Key("k2"); !ok {
		t.Error("a rotated-in key is unknown after a refresh")
	}
	if fetches.Load() != 2 {
		t.Errorf("fetches = %d, want 2: concurrent misses share one fetch", fetches.Load())
	}
}

func TestRemoteJWKSKeepsKeysWhenTheSourceFails(t *testing.T) {
	t.Parallel()
	pub, _, _ := ed25519.GenerateKey(rand.Reader)
	var fail atomic.Bool
	var redirectTarget atomic.Int32
	target := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		redirectTarget.Add(1)
		_ = json.NewEncoder(w).Encode(JWKS{})
	}))
	t.Cleanup(target.Close)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if fail.Load() {
			http.Redirect(w, r, target.URL, http.StatusFound)
			return
		}
		_ = json.NewEncoder(w).Encode(JWKS{Keys: []JWK{Ed25519JWK("k1", pub)}})
	}))
	t.Cleanup(srv.Close)
	r, err := NewRemoteJWKS(srv.URL, RemoteJWKSOptions{MinInterval: time.Nanosecond})
	if err != nil {
		t.Fatal(err)
	}
	fail.Store(true)
	r.Missed("other")
	if _, ok := r.Key("k1"); !ok {
		t.Error("a failed refresh dropped the keys")
	}
	if redirectTarget.Load() != 0 {
		t.Error("a redirect was followed")
	}
}

func TestRemoteJWKSRequiresHTTPS(t *testing.T) {
	t.Parallel()
	for _, u := range []string{"http://idp.example.com/jwks", "ftp://127.0.0.1/x", "/relative"} {
		if _, err := NewRemoteJWKS(u, RemoteJWKSOptions{}); err == nil {
			t.Errorf("%s accepted", u)
		}
	}
}

func TestJWKSFileReloadsWhenChanged(t *testing.T) {
	t.Parallel()
	pub1, _, _ := ed25519.GenerateKey(rand.Reader)
	pub2, _, _ := ed25519.GenerateKey(rand.Reader)
	path := filepath.Join(t.TempDir(), "jwks.json")
	write := func(keys ...JWK) {
		if err := writeFileAtomic(path, mustJSON(t, JWKS{Keys: keys})); err != nil {
			t.Fatal(err)
		}
	}
	write(Ed25519JWK("k1", pub1))
	f, err := NewJWKSFile(path, time.Hour, time.Nanosecond, nil, nil)
	if err != nil {
		t.Fatal(err)
	}
	write(Ed25519JWK("k2", pub2))
	if !f.Missed("k2") {
		t.Fatal("the changed file was not re-read")
	}
	if _, ok := f.Key("k2"); !ok {
		t.Error("k2 unknown after reload")
	}
	if err := os.WriteFile(path, []byte(strings.Repeat("x", 10)), 0o600); err != nil {
		t.Fatal(err)
	}
	f.Missed("k3")
	if _, ok := f.Key("k2"); !ok {
		t.Error("a broken file replaced the good keys")
	}
}
