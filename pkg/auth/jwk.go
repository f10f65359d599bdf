package auth

import (
	"crypto"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/elliptic"
	"crypto/rsa"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"math/big"
	"slices"
)

// JWK is one JSON Web Key (RFC 7517) as Retailbridge publishes and reads it: public OKP
// (Ed25519), EC (P-256, P-384, P-521) and RSA keys only.
type JWK struct {
	Kty string `json:"kty"`
	Kid string `json:"kid,omitempty"`
	Use string `json:"use,omitempty"`
	Alg string `json:"alg,omitempty"`
	Crv string `json:"crv,omitempty"`
	X   string `json:"x,omitempty"`
	Y   string `json:"y,omitempty"`
	N   string `json:"n,omitempty"`
	E   string `json:"e,omitempty"`
	// D is read only to refuse sets that leak private keys.
	D string `json:"d,omitempty"`
}

// JWKS is a JSON Web Key Set.
type JWKS struct {
	Keys []JWK `json:"keys"`
}

// PublicKey is a verification key with the one algorithm it may verify, when its source
// pinned one (the JWK "alg" member).
type PublicKey struct {
	Key crypto.PublicKey
	// Alg, when set, is the only algorithm the key verifies.
	Alg string
}

// Ed25519JWK is the published form of an Ed25519 verification key.
func Ed25519JWK(kid string, pub ed25519.PublicKey) JWK {
	return JWK{Kty: "OKP", Crv: "Ed25519", X: base64.RawURLEncoding.EncodeToString(pub), Kid: kid, Use: "sig", Alg: "EdDSA"}
}

// maxJWKSBytes bounds a key set read from a file or URL.
const maxJWKSBytes = 1 << 20

// ParseJWKS reads a key set into verification keys by kid. Keys without a kid, encryption keys
// and keys of unknown types are skipped (a token must name its key); a private key, a
// malformed key or a duplicate kid fails the whole set, so a broken publication never replaces
// a good one.
func ParseJWKS(b []byte) (map[string]PublicKey, error) {
	if len(b) > maxJWKSBytes {
		return nil, fmt.Errorf("jwks: larger than %d bytes", maxJWKSBytes)
	}
	var set JWKS
	if err := json.Unmarshal(b, &set); err != nil {
		return nil, fmt.Errorf("jwks: %w", err)
	}
	keys := map[string]PublicKey{}
	for i, k := range set.Keys {
		if k.D != "" {
			return nil, fmt.Errorf("jwks: key %d (%q) holds private key material", i, k.Kid)
		}
		if k.Kid == "" || (k.Use != "" && k.Use != "sig") {
			continue
		}
		pub, err := k.PublicKey()
		if errors.Is(err, errUnsupportedKey) {
			continue
		}
		if err != nil {
			return nil, fmt.Errorf("jwks: key %q: %w", k.Kid, err)
		}
		if _, dup := keys[k.Kid]; dup {
			return nil, fmt.Errorf("jwks: kid %q appears twice", k.Kid)
		}
		if k.Alg != "" && !algFitsKey(k.Alg, pub) {
			return nil, fmt.Errorf("jwks: key %q: alg %s does not fit a %s key", k.Kid, k.Alg, k.Kty)
		}
		keys[k.Kid] = PublicKey{Key: pub, Alg: k.Alg}
	}
	return keys, nil
}

var errUnsupportedKey = errors.New("unsupported key type")

// PublicKey decodes the key.
func (k JWK) PublicKey() (crypto.PublicKey, error) {
	dec := func(s, name string) ([]byte, error) {
		b, err := base64.RawURLEncoding.Strict().DecodeString(s)
		if err != nil || len(b) == 0 {
			return nil, fmt.Errorf("member %q is not base64url", name)
		}
		return b, nil
	}
	switch k.Kty {
	case "OKP":
		if k.Crv != "Ed25519" {
			return nil, errUnsupportedKey
		}
		x, err := dec(k.X, "x")
		if err != nil {
			return nil, err
		}
		if len(x) != ed25519.PublicKeySize {
			return nil, errors.New("an Ed25519 key is 32 bytes")
		}
		return ed25519.PublicKey(x), nil
	case "EC":
		curve := map[string]elliptic.Curve{"P-256": elliptic.P256(), "P-384": elliptic.P384(), "P-521": elliptic.P521()}[k.Crv]
		if curve == nil {
			return nil, errUnsupportedKey
		}
		x, err := dec(k.X, "x")
		if err != nil {
			return nil, err
		}
		y, err := dec(k.Y, "y")
		if err != nil {
			return nil, err
		}
		size := (curve.Params().BitSize + 7) / 8
		if len(x) != size || len(y) != size {
			return nil, fmt.Errorf("%s coordinates are %d bytes", k.Crv, size)
		}
		// ParseUncompressedPublicKey checks the point is on the curve.
		return ecdsa.ParseUncompressedPublicKey(curve, slices.Concat([]byte{4}, x, y))
	case "RSA":
		n, err := dec(k.N, "n")
		if err != nil {
			return nil, err
		}
		e, err := dec(k.E, "e")
		if err != nil {
			return nil, err
		}
		if len(n)*8 < 2048 {
			return nil, errors.New("RSA keys shorter than 2048 bits are refused")
		}
		if len(e) > 4 {
			return nil, errors.New("RSA exponent too large")
		}
		exp := int(new(big.Int).SetBytes(e).Int64())
		if exp < 3 || exp%2 == 0 {
			return nil, errors.New("RSA exponent is invalid")
		}
		return &rsa.PublicKey{N: new(big.Int).SetBytes(n), E: exp}, nil
	}
	return nil, errUnsupportedKey
}

// Algorithms Retailbridge verifies. HMAC and none are absent on purpose: every issuer is
// verified with public keys, so a symmetric algorithm could only be an attack.
var publicKeyAlgorithms = []string{"EdDSA", "ES256", "ES384", "ES512", "RS256", "RS384", "RS512", "PS256", "PS384", "PS512"}

// algFitsKey reports whether alg verifies with key's type (and curve), so a token can never
// choose how its key is interpreted.
func algFitsKey(alg string, key crypto.PublicKey) bool {
	switch k := key.(type) {
	case ed25519.PublicKey:
		return alg == "EdDSA"
	case *ecdsa.PublicKey:
		want := map[string]elliptic.Curve{"ES256": elliptic.P256(), "ES384": elliptic.P384(), "ES512": elliptic.P521()}[alg]
		return want != nil && k.Curve == want
	case *rsa.PublicKey:
		switch alg {
		case "RS256", "RS384", "RS512", "PS256", "PS384", "PS512":
			return k.N.BitLen() >= 2048
		}
	}
	return false
}
