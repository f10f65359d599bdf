package auth

import (
	"context"
	"errors"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/golang-jwt/jwt/v5"
)

// cheapArgon2 keeps tests fast; the format and the checks are the same as in production.
var cheapArgon2 = Argon2Params{MemoryKiB: 64, Time: 1, Threads: 1}

func newTestClients(t testing.TB, path string) *Clients {
	t.Helper()
	c, err := NewClients(OpenClientFile(path), ClientsOptions{Argon2: cheapArgon2})
	if err != nil {
		t.Fatal(err)
	}
	return c
}

func TestClientsCreateAuthenticateRevoke(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "clients.json")
	cli := newTestClients(t, path)
	gw := newTestClients(t, path)
	nc, err := cli.Create(ctx, "acme", []string{"orders:read returns:write", "orders:read"}, "ACME ERP")
	if err != nil {
		t.Fatal(err)
	}
	if strings.Join(nc.Scopes, " ") != "orders:read returns:write" {
		t.Errorf("scopes = %v", nc.Scopes)
	}
	raw, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if strings.Contains(string(raw), nc.Secret) || !strings.Contains(string(raw), "$argon2id$") {
		t.Error("the client file holds the secret or no argon2id hash")
	}
	if st, _ := os.Stat(path); st.Mode().Perm() != 0o600 {
		t.Errorf("client file mode %v, want 0600", st.Mode().Perm())
	}

	if _, err := gw.Authenticate(ctx, nc.ID, nc.Secret); err != nil {
		t.Fatalf("the right secret: %v", err)
	}
	for name, p := range map[string]Principal{
		"within the grant": {Subject: nc.ID, Tenant: "acme", Scopes: []string{"orders:read"}},
		"another tenant":   {Subject: nc.ID, Tenant: "globex"},
		"a scope beyond":   {Subject: nc.ID, Tenant: "acme", Scopes: []string{"operator"}},
		"unknown client":   {Subject: "rbc_000000000000000000000000", Tenant: "acme"},
	} {
		if err := gw.Admit(ctx, p); (err == nil) != (name == "within the grant") {
			t.Errorf("Admit %s: %v", name, err)
		}
	}
	for name, tc := range map[string][2]string{
		"wrong secret":     {nc.ID, nc.Secret + "x"},
		"empty secret":     {nc.ID, ""},
		"unknown client":   {"rbc_000000000000000000000000", nc.Secret},
		"malformed id":     {"../clients.json", nc.Secret},
		"secret as id":     {nc.Secret, nc.Secret},
		"prefix of secret": {nc.ID, nc.Secret[:10]},
	} {
		if _, err := gw.Authenticate(ctx, tc[0], tc[1]); !errors.Is(err, ErrBadClient) {
			t.Errorf("%s: err = %v, want ErrBadClient", name, err)
		}
	}

	if err := cli.Revoke(ctx, nc.ID); err != nil {
		t.Fatal(err)
	}
	if err := gw.Admit(ctx, Principal{Subject: nc.ID, Tenant: "acme"}); !errors.Is(err, ErrClientRevoked) {
		t.Errorf("Admit after revocation by another instance: %v", err)
	}
	if _, err := gw.Authenticate(ctx, nc.ID, nc.Secret); !errors.Is(err, ErrClientRevoked) {
		t.Errorf("Authenticate a revoked client: %v", err)
	}
	if _, err := gw.Authenticate(ctx, nc.ID, "wrong"); !errors.Is(err, ErrBadClient) {
		t.Errorf("a wrong secret for a revoked client must not reveal the revocation: %v", err)
	}
	list, err := gw.List(ctx)
	if err != nil || len(list) != 1 || list[0].Revoked == nil {
		t.Errorf("List = %+v, %v", list, err)
	}
}

func TestClientsRefuseBadInput(t *testing.T) {
	t.Parallel()
	c := newTestClients(t, filepath.Join(t.TempDir(), "clients.json"))
	for name, tc := range map[string]struct {
		tenant string
		scopes []string
	}{
		"no tenant":        {"", []string{"a"}},
		"tenant with path": {"../x", []string{"a"}},
		"no scopes":        {"acme", nil},
		"quote in scope":   {"acme", []string{`a"b`}},
	} {
		if _, err := c.Create(context.Background(), tc.tenant, tc.scopes, ""); err == nil {
			t.Errorf("%s: accepted", name)
		}
	}
}

func TestSecretHashRefusesTamperedCosts(t *testing.T) {
	t.Parallel()
	h := newSecretHasher(cheapArgon2, 1)
	for _, enc := range []string{
		"$argon2id$v=19$m=99999999,t=1,p=1$c2FsdHNhbHQ$" + strings.Repeat("A", 43),
		"$argon2i$v=19$m=64,t=1,p=1$c2FsdHNhbHQ$" + strings.Repeat("A", 43),
		"plaintext",
	} {
		if ok, err := h.check(context.Background(), "x", enc); ok || err == nil {
			t.Errorf("%q: ok=%v err=%v", enc, ok, err)
		}
	}
}

func newTestAuthority(t testing.TB, now func() time.Time) *Authority {
	t.Helper()
	dir := t.TempDir()
	cfg := DevConfig("rb-test", "sf", filepath.Join(dir, "keys"), filepath.Join(dir, "clients.json"))
	a, err := NewAuthority(cfg, AuthorityDeps{Bootstrap: filepath.Join(dir, "keys", "first.pem"), Argon2: cheapArgon2, Now: now})
	if err != nil {
		t.Fatal(err)
	}
	return a
}

func TestClientCredentials(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	a := newTestAuthority(t, nil)
	nc, err := a.Clients.Create(ctx, "acme", []string{"orders:read", "returns:write"}, "")
	if err != nil {
		t.Fatal(err)
	}
	tok, err := a.Tokens.ClientCredentials(ctx, nc.ID, nc.Secret, "orders:read")
	if err != nil {
		t.Fatal(err)
	}
	if tok.TokenType != "Bearer" || tok.ExpiresIn != 900 || tok.Scope != "orders:read" {
		t.Errorf("token response %+v", tok)
	}
	p, err := a.Verifier.Verify(tok.AccessToken)
	if err != nil {
		t.Fatal(err)
	}
	if p.Audience != Partner || p.Tenant != "acme" || p.Subject != nc.ID || !p.HasScope("orders:read") || p.HasScope("returns:write") {
		t.Errorf("principal = %+v", p)
	}
	parsed, _, err := jwt.NewParser().ParseUnverified(tok.AccessToken, &Claims{})
	if err != nil {
		t.Fatal(err)
	}
	c := parsed.Claims.(*Claims)
	if parsed.Header["typ"] != "at+jwt" || c.ID == "" || c.ClientID != nc.ID || c.Audience[0] != "retailbridge-partner" {
		t.Errorf("header %v claims %+v", parsed.Header, c)
	}
	all, err := a.Tokens.ClientCredentials(ctx, nc.ID, nc.Secret, "")
	if err != nil || all.Scope != "orders:read returns:write" {
		t.Errorf("default scope = %q, %v", all.Scope, err)
	}

	oauthCode := func(err error) (string, int) {
		var e *OAuthError
		if !errors.As(err, &e) {
			return "", 0
		}
		return e.Code, e.Status
	}
	if code, st := oauthCode(func() error {
		_, err := a.Tokens.ClientCredentials(ctx, nc.ID, nc.Secret, "orders:read admin")
		return err
	}()); code != ErrInvalidScope || st != http.StatusBadRequest {
		t.Errorf("scope beyond the client's: %s %d", code, st)
	}
	if code, st := oauthCode(func() error {
		_, err := a.Tokens.ClientCredentials(ctx, nc.ID, "nope", "")
		return err
	}()); code != ErrInvalidClient || st != http.StatusUnauthorized {
		t.Errorf("wrong secret: %s %d", code, st)
	}

	// Revocation refuses new tokens and the one already held, cached or not.
	if err := a.Clients.Revoke(ctx, nc.ID); err != nil {
		t.Fatal(err)
	}
	if code, _ := oauthCode(func() error {
		_, err := a.Tokens.ClientCredentials(ctx, nc.ID, nc.Secret, "")
		return err
	}()); code != ErrInvalidGrant {
		t.Errorf("revoked client: %s", code)
	}
	if _, err := a.Verifier.Verify(tok.AccessToken); err == nil {
		t.Error("a revoked client's cached token was accepted")
	}
	if _, err := a.Verifier.Verify(all.AccessToken); err == nil {
		t.Error("a revoked client's token was accepted")
	}
}
