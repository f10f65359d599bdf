package auth

import (
	"context"
	"crypto/rand"
	"encoding/base64"
	"errors"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/retailbridge/retailbridge/pkg/store"
	"github.com/retailbridge/retailbridge/pkg/store/storetest"

	"github.com/retailbridge/retailbridge/pkg/testkit"
)

// gatewayOn is one gateway's identity over the shared database at url, running its refresh
// loop until the test ends, as a gateway process does.
func gatewayOn(t testing.TB, url string, kek string, legacyDir string) *Authority {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	db := storetest.OpenURL(t, url, store.Options{})
	sealer, err := NewKeySealer(kek)
	if err != nil {
		t.Fatal(err)
	}
	cfg := DevConfig("rb-test", "sf", filepath.Join(legacyDir, "keys"), filepath.Join(legacyDir, "clients.json"))
	cfg.Local.KeyPoll = 50 * time.Millisecond
	st, err := OpenIdentityStore(ctx, db, IdentityStoreOptions{Sealer: sealer, Poll: cfg.Local.KeyPoll})
	if err != nil {
		t.Fatal(err)
	}
	a, err := NewAuthority(cfg, AuthorityDeps{Store: st, Argon2: cheapArgon2})
	if err != nil {
		t.Fatal(err)
	}
	done := make(chan struct{})
	go func() { a.Run(ctx); close(done) }()
	t.Cleanup(func() { cancel(); <-done })
	return a
}

// waitFor polls cond until it holds, failing after a deadline far above the store's poll bound.
func waitFor(t testing.TB, what string, cond func() bool) {
	t.Helper()
	testkit.Eventually(t, 10*time.Second, what, cond)
}

// TestGatewaysShareTheIdentityStore: two gateways on one database sign with one key, verify each
// other's tokens and partner clients, and a rotation, retirement or revocation made through one
// reaches the other within the poll bound.
func TestGatewaysShareTheIdentityStore(t *testing.T) {
	t.Parallel()
	for _, d := range storetest.Dialects {
		t.Run(d.String(), func(t *testing.T) {
			t.Parallel()
			ctx := context.Background()
			url := storetest.URL(t, d)
			g1 := gatewayOn(t, url, "", t.TempDir())
			g2 := gatewayOn(t, url, "", t.TempDir())
			k1, err := g1.Keyring.Signing()
			if err != nil {
				t.Fatal(err)
			}
			if k2, _ := g2.Keyring.Signing(); k2.ID != k1.ID {
				t.Fatalf("gateways sign with %s and %s: two gateways made two first keys", k1.ID, k2.ID)
			}
			tok, err := g1.Tokens.Mint(Support, "agent-1", "", []string{"support:read"}, time.Hour)
			if err != nil {
				t.Fatal(err)
			}
			if _, err := g2.Verifier.Verify(tok); err != nil {
				t.Fatalf("gateway 2 refused gateway 1's token: %v", err)
			}

			// A rotation through gateway 1: gateway 2 verifies the new key's tokens and signs
			// with it too; the old key's token still verifies (overlap).
			rotated, err := g1.Keyring.Rotate()
			if err != nil {
				t.Fatal(err)
			}
			fresh, err := g1.Tokens.Mint(Support, "agent-1", "", []string{"support:read"}, time.Hour)
			if err != nil {
				t.Fatal(err)
			}
			if _, err := g2.Verifier.Verify(fresh); err != nil {
				t.Fatalf("gateway 2 refused a token of the key rotated in at gateway 1: %v", err)
			}
			waitFor(t, "gateway 2 signs with the rotated key", func() bool { k, _ := g2.Keyring.Signing(); return k.ID == rotated.ID })
			if _, err := g2.Verifier.Verify(tok); err != nil {
				t.Fatalf("the old key's token was refused before its key was retired: %v", err)
			}

			// Retiring the old key at gateway 1 refuses its tokens at gateway 2.
			if err := g1.Keyring.Retire(k1.ID); err != nil {
				t.Fatal(err)
			}
			waitFor(t, "gateway 2 refuses the retired key's token", func() bool { _, err := g2.Verifier.Verify(tok); return err != nil })
			if _, err := g2.Verifier.Verify(fresh); err != nil {
				t.Errorf("the current key's token was refused: %v", err)
			}
			if err := g2.Keyring.Retire(rotated.ID); err == nil {
				t.Error("retired the only usable key")
			}

			// A partner client created at gateway 1 gets a token at gateway 2; revoking it at
			// gateway 2 refuses its token at gateway 1.
			nc, err := g1.Clients.Create(ctx, "acme", []string{"orders:read"}, "ACME")
			if err != nil {
				t.Fatal(err)
			}
			at, err := g2.Tokens.ClientCredentials(ctx, nc.ID, nc.Secret, "")
			if err != nil {
				t.Fatalf("gateway 2 refused a client created at gateway 1: %v", err)
			}
			if _, err := g1.Verifier.Verify(at.AccessToken); err != nil {
				t.Fatalf("gateway 1 refused gateway 2's partner token: %v", err)
			}
			if err := g2.Clients.Revoke(ctx, nc.ID); err != nil {
				t.Fatal(err)
			}
			waitFor(t, "gateway 1 refuses the revoked client's token", func() bool { _, err := g1.Verifier.Verify(at.AccessToken); return err != nil })
			if _, err := g1.Tokens.ClientCredentials(ctx, nc.ID, nc.Secret, ""); err == nil {
				t.Error("gateway 1 issued a token to a revoked client")
			}
		})
	}
}

// TestIdentityStoreImportsLegacyFilesOnce: a data directory from before the store keeps its
// key and clients, and a key retired in the store is not brought back by its old file.
func TestIdentityStoreImportsLegacyFilesOnce(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	legacy := t.TempDir()
	oldKeys, err := OpenKeyring(filepath.Join(legacy, "keys"), KeyringOptions{Bootstrap: filepath.Join(legacy, "keys", "storefront.pem")})
	if err != nil {
		t.Fatal(err)
	}
	oldKey, _ := oldKeys.Signing()
	oldClients := newTestClients(t, filepath.Join(legacy, "clients.json"))
	nc, err := oldClients.Create(ctx, "acme", []string{"orders:read"}, "")
	if err != nil {
		t.Fatal(err)
	}
	url := storetest.URL(t, store.SQLite)
	g := gatewayOn(t, url, "", legacy)
	if k, _ := g.Keyring.Signing(); k.ID != oldKey.ID {
		t.Fatalf("signing key %s, want the imported %s", k.ID, oldKey.ID)
	}
	if _, err := g.Clients.Authenticate(ctx, nc.ID, nc.Secret); err != nil {
		t.Fatalf("an imported client does not authenticate: %v", err)
	}
	if _, err := g.Keyring.Rotate(); err != nil {
		t.Fatal(err)
	}
	if err := g.Keyring.Retire(oldKey.ID); err != nil {
		t.Fatal(err)
	}
	again := gatewayOn(t, url, "", legacy) // a restart reads the same files
	if _, ok := again.Keyring.Key(oldKey.ID); ok {
		t.Error("restarting brought a retired key back from its old file")
	}
	if n := len(again.Keyring.Keys()); n != 2 {
		t.Errorf("%d keys after a restart, want 2", n)
	}
}

// TestSigningKeysAreSealedAtRest: with RB_KEY_ENCRYPTION_KEY the private key never appears in
// the database; another key-encryption key, or none, cannot open it.
func TestSigningKeysAreSealedAtRest(t *testing.T) {
	t.Parallel()
	kek := func() string {
		b := make([]byte, 32)
		_, _ = rand.Read(b)
		return base64.StdEncoding.EncodeToString(b)
	}
	url := storetest.URL(t, store.SQLite)
	key := kek()
	g := gatewayOn(t, url, key, t.TempDir())
	sk, err := g.Keyring.Signing()
	if err != nil {
		t.Fatal(err)
	}
	db := storetest.OpenURL(t, url, store.Options{})
	var sealed string
	if err := db.QueryRow(context.Background(), `SELECT private_key FROM rb_identity_keys WHERE kid = $1`, sk.ID).Scan(&sealed); err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(sealed, sealedAESGCM) || strings.Contains(sealed, base64.RawURLEncoding.EncodeToString(sk.Private.Seed())) {
		t.Fatalf("stored private key %.20q… is not sealed", sealed)
	}
	for name, other := range map[string]string{"no key-encryption key": "", "another key-encryption key": kek()} {
		sealer, _ := NewKeySealer(other)
		st, err := OpenIdentityStore(context.Background(), db, IdentityStoreOptions{Sealer: sealer})
		if err != nil {
			t.Fatal(err)
		}
		if _, err := NewStoreKeyring(st, KeyringOptions{}); err == nil {
			t.Errorf("%s opened the sealed keys", name)
		} else if other == "" && !errors.Is(err, ErrNoKeyEncryptionKey) {
			t.Errorf("%s: %v, want ErrNoKeyEncryptionKey", name, err)
		}
	}
	// A key stored unencrypted is sealed once a key-encryption key is configured.
	plainURL := storetest.URL(t, store.SQLite)
	plain := gatewayOn(t, plainURL, "", t.TempDir())
	pk, _ := plain.Keyring.Signing()
	sealedNow := gatewayOn(t, plainURL, key, t.TempDir())
	if k, _ := sealedNow.Keyring.Signing(); k.ID != pk.ID {
		t.Errorf("after configuring a key-encryption key the signing key is %s, want %s", k.ID, pk.ID)
	}
	pdb := storetest.OpenURL(t, plainURL, store.Options{})
	if err := pdb.QueryRow(context.Background(), `SELECT private_key FROM rb_identity_keys WHERE kid = $1`, pk.ID).Scan(&sealed); err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(sealed, sealedAESGCM) {
		t.Errorf("an unencrypted key was not sealed when a key-encryption key was configured: %.12q…", sealed)
	}
	if _, err := NewKeySealer("c2hvcnQ="); err == nil {
		t.Error("a 5-byte key-encryption key was accepted")
	}
}
