package auth

import (
	"crypto/aes"
	"crypto/cipher"
	"crypto/rand"
	"encoding/base64"
	"errors"
	"fmt"
	"strings"
)

// KeySealer protects private signing keys at rest in the shared identity store: AES-256-GCM
// under the key-encryption key from RB_KEY_ENCRYPTION_KEY, with the kid as associated data so
// a sealed key copied onto another row does not open. Without a key-encryption key, keys are
// stored unencrypted (marked "plain:"), which is the development default: the database then
// deserves the protection a key file would.
type KeySealer struct {
	aead cipher.AEAD
}

// Sealed value prefixes.
const (
	sealedPlain  = "plain:"
	sealedAESGCM = "aesgcm1:"
)

// ErrNoKeyEncryptionKey means the store holds encrypted keys and no key-encryption key is set.
var ErrNoKeyEncryptionKey = errors.New("auth: the signing keys in the identity store are encrypted: set RB_KEY_ENCRYPTION_KEY to the key they were sealed with")

// NewKeySealer returns a sealer for kek, the base64 (standard or URL alphabet, padded or not)
// of 32 random bytes; an empty kek stores keys unencrypted.
func NewKeySealer(kek string) (*KeySealer, error) {
	if kek == "" {
		return &KeySealer{}, nil
	}
	var raw []byte
	var err error
	for _, enc := range []*base64.Encoding{base64.StdEncoding, base64.RawStdEncoding, base64.URLEncoding, base64.RawURLEncoding} {
		if raw, err = enc.DecodeString(strings.TrimSpace(kek)); err == nil {
			break
		}
	}
	if err != nil || len(raw) != 32 {
		return nil, errors.New("auth: RB_KEY_ENCRYPTION_KEY must be the base64 of 32 random bytes (openssl rand -base64 32)")
	}
	block, err := aes.NewCipher(raw)
	if err != nil {
		return nil, err
	}
	aead, err := cipher.NewGCM(block)
	if err != nil {
		return nil, err
	}
	return &KeySealer{aead: aead}, nil
}

// Encrypts reports whether keys are sealed with a key-encryption key.
func (s *KeySealer) Encrypts() bool { return s != nil && s.aead != nil }

// Seal protects der, the PKCS#8 form of kid's private key.
func (s *KeySealer) Seal(kid string, der []byte) (string, error) {
	if !s.Encrypts() {
		return sealedPlain + base64.RawURLEncoding.EncodeToString(der), nil
	}
	nonce := make([]byte, s.aead.NonceSize())
	if _, err := rand.Read(nonce); err != nil {
		return "", err
	}
	ct := s.aead.Seal(nonce, nonce, der, []byte(kid))
	return sealedAESGCM + base64.RawURLEncoding.EncodeToString(ct), nil
}

// Open returns the PKCS#8 key sealed in v for kid.
func (s *KeySealer) Open(kid, v string) ([]byte, error) {
	switch {
	case strings.HasPrefix(v, sealedPlain):
		return base64.RawURLEncoding.DecodeString(strings.TrimPrefix(v, sealedPlain))
	case strings.HasPrefix(v, sealedAESGCM):
		if !s.Encrypts() {
			return nil, ErrNoKeyEncryptionKey
		}
		b, err := base64.RawURLEncoding.DecodeString(strings.TrimPrefix(v, sealedAESGCM))
		if err != nil || len(b) < s.aead.NonceSize() {
			return nil, errors.New("auth: malformed sealed key")
		}
		der, err := s.aead.Open(nil, b[:s.aead.NonceSize()], b[s.aead.NonceSize():], []byte(kid))
		if err != nil {
			return nil, fmt.Errorf("auth: key %s does not open with RB_KEY_ENCRYPTION_KEY (another key sealed it, or the row was altered)", kid)
		}
		return der, nil
	}
	return nil, errors.New("auth: unknown sealed key format")
}
