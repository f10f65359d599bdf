package auth

import (
	"os"
	"path/filepath"
	"testing"
	"time"
)

func openTestKeyring(t testing.TB, dir string, o KeyringOptions) *Keyring {
	t.Helper()
	k, err := OpenKeyring(dir, o)
	if err != nil {
		t.Fatal(err)
	}
	return k
}

func jwksKids(set JWKS) []string {
	var kids []string
	for _, k := range set.Keys {
		kids = append(kids, k.Kid)
	}
	return kids
}

func TestKeyringRotateAndRetire(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	now := time.Unix(1_800_000_000, 0)
	clock := func() time.Time { return now }
	gw := openTestKeyring(t, dir, KeyringOptions{Bootstrap: filepath.Join(dir, "storefront.pem"), Now: clock})
	first, err := gw.Signing()
	if err != nil {
		t.Fatal(err)
	}
	if first.ID != Thumbprint(first.Public()) {
		t.Errorf("kid %q is not the RFC 7638 thumbprint", first.ID)
	}
	if st, err := os.Stat(filepath.Join(dir, "storefront.pem")); err != nil || st.Mode().Perm() != 0o600 {
		t.Fatalf("bootstrap key file: %v, mode %v", err, st.Mode())
	}

	// Another process (the CLI) rotates.
	cli := openTestKeyring(t, dir, KeyringOptions{Now: clock})
	second, err := cli.Rotate()
	if err != nil {
		t.Fatal(err)
	}
	if _, ok := gw.Key(second.ID); ok {
		t.Fatal("the gateway knew the new key before reloading")
	}
	if !gw.Missed(second.ID) {
		t.Fatal("an unknown kid did not trigger a reload")
	}
	if _, ok := gw.Key(second.ID); !ok {
		t.Fatal("the rotated key is not published after a reload")
	}
	if k, _ := gw.Signing(); k.ID != second.ID {
		t.Errorf("signing kid = %s, want the new key %s", k.ID, second.ID)
	}
	if got := jwksKids(gw.JWKS()); len(got) != 2 || got[0] != second.ID || got[1] != first.ID {
		t.Errorf("JWKS kids = %v, want [new old]", got)
	}
	for _, k := range gw.JWKS().Keys {
		if k.Kty != "OKP" || k.Crv != "Ed25519" || k.Use != "sig" || k.Alg != "EdDSA" || k.D != "" {
			t.Errorf("published key %+v", k)
		}
	}

	if err := cli.Retire(first.ID); err != nil {
		t.Fatal(err)
	}
	if err := gw.Reload(); err != nil {
		t.Fatal(err)
	}
	if _, ok := gw.Key(first.ID); ok {
		t.Error("a retired key still verifies")
	}
	if got := jwksKids(gw.JWKS()); len(got) != 1 || got[0] != second.ID {
		t.Errorf("JWKS after retiring = %v", got)
	}
	if _, err := os.Stat(filepath.Join(dir, "storefront.pem")); !os.IsNotExist(err) {
		t.Errorf("the retired private key still exists: %v", err)
	}
	if err := cli.Retire(second.ID); err == nil {
		t.Error("retired the only usable key")
	}
	if err := cli.Retire("../../etc/passwd"); err == nil {
		t.Error("retired an unknown kid")
	}
	keys := gw.Keys()
	if len(keys) != 2 || keys[1].Retired.IsZero() || keys[1].Published() {
		t.Errorf("keys = %+v", keys)
	}
}

func TestKeyringAgeLimit(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	now := time.Unix(1_800_000_000, 0)
	clock := func() time.Time { return now }
	k := openTestKeyring(t, dir, KeyringOptions{MaxAge: 24 * time.Hour, Bootstrap: filepath.Join(dir, "first.pem"), Now: clock})
	old, _ := k.Signing()
	now = now.Add(48 * time.Hour)
	if err := k.Reload(); err != nil {
		t.Fatal(err)
	}
	if _, ok := k.Key(old.ID); !ok {
		t.Fatal("the only key expired by age: nothing could sign")
	}
	fresh, err := k.Rotate()
	if err != nil {
		t.Fatal(err)
	}
	if _, ok := k.Key(old.ID); ok {
		t.Error("a superseded key past the age limit still verifies")
	}
	if _, ok := k.Key(fresh.ID); !ok {
		t.Error("the new key does not verify")
	}
}

func TestKeyringWithoutBootstrapStaysEmpty(t *testing.T) {
	t.Parallel()
	k := openTestKeyring(t, t.TempDir(), KeyringOptions{})
	if _, err := k.Signing(); err != ErrNoSigningKey {
		t.Errorf("Signing on an empty keyring: %v", err)
	}
	if len(k.JWKS().Keys) != 0 {
		t.Error("an empty keyring published keys")
	}
}
