package config

import (
	"strings"
	"testing"
)

// The console's OpenID Connect settings are all-or-nothing, and every bad one is named.
func TestConsoleSettings(t *testing.T) {
	t.Parallel()
	good := map[string]string{"RB_CONSOLE_OIDC_ISSUER": "https://id.example.com", "RB_CONSOLE_OIDC_CLIENT_ID": "console",
		"RB_CONSOLE_OIDC_REDIRECT_URL": "https://ops.example.com/console/callback"}
	c, err := Load(env(good))
	if err != nil || c.Console.OIDCScopesClaim != "retailbridge_scopes" || c.Console.SessionTTL.String() != "8h0m0s" {
		t.Fatalf("good settings: %+v %v", c.Console, err)
	}
	if c, err := Load(env(nil)); err != nil || c.Console.OIDCIssuer != "" {
		t.Fatalf("no OIDC: %+v %v", c.Console, err)
	}
	_, err = Load(env(map[string]string{"RB_CONSOLE_OIDC_ISSUER": "id.example.com", "RB_CONSOLE_SESSION_TTL": "10s"}))
	if err == nil {
		t.Fatal("bad console settings accepted")
	}
	for _, field := range []string{"RB_CONSOLE_OIDC_ISSUER", "RB_CONSOLE_OIDC_REDIRECT_URL", "RB_CONSOLE_OIDC_CLIENT_ID", "RB_CONSOLE_SESSION_TTL"} {
		if !strings.Contains(err.Error(), field) {
			t.Errorf("error does not name %s:\n%v", field, err)
		}
	}
}
